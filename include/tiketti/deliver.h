/*
 * deliver.h — sending the outbox: mail over SMTP, webhooks over HTTP.
 */
#ifndef TIKETTI_DELIVER_H
#define TIKETTI_DELIVER_H

#include <stdint.h>

#include "tiketti/conf.h"
#include "tiketti/store.h"

#define DELIVER_LEASE	600	/* seconds a claimed row may be on the wire */

struct deliver_stats {
	int64_t	sent;
	int64_t	deferred;	/* to be retried */
	int64_t	failed;
	int64_t	cancelled;	/* the ticket left the status it was
				 * queued under (a reopened survey) */
	int64_t	recovered;	/* rows a dead sender held, queued again */
};

/*
 * Sends the queued rows that are due (every queued row with force), each
 * claimed first so two senders never send one row, and marked sent,
 * deferred with back-off, or failed after. Call it after a commit, never
 * inside a transaction. TK_OK when every row was dealt with; TK_EPERM
 * when mail cannot go at all (no smtp_url, a password file others can
 * read) and stays queued: the reason is in err. TK_ETEMP when the
 * database failed.
 */
enum tk_status deliver_flush(const struct tk_conf *c, struct store *s,
    int force, struct deliver_stats *st, char *err, size_t errlen);

/* An HTTP request of a lookup or of an OAuth endpoint. */
struct deliver_request {
	const char		*method;	/* GET or POST */
	const char		*url;
	const char *const	*headers;	/* "Name: value" lines */
	size_t			 nheaders;
	const char		*body;		/* POST's, form-encoded; NULL:
						 * empty */
	long			 timeout;	/* seconds */
	long			 status;	/* set: the HTTP status, 0 when
						 * none came */
};

/*
 * Makes the request (the only other use of the network this module
 * makes), TLS verified, no redirects followed. The answer goes to out
 * (at most its cap: past it the transfer stops), whatever its status.
 * TK_OK with a 2xx status; else a short reason in err ("timeout",
 * "HTTP 503", "answer over 1048576 bytes", ...) and TK_ETEMP.
 */
enum tk_status deliver_fetch(struct deliver_request *r, struct buf *out,
    char *err, size_t errlen);

#endif
