/*
 * authres.h — what a trusted server's Authentication-Results say (RFC 8601).
 */
#ifndef TIKETTI_AUTHRES_H
#define TIKETTI_AUTHRES_H

#include <stddef.h>

#include "tiketti/mime.h"

enum authres_verdict {
	AUTHRES_NONE = 0,	/* the server vouches for nothing here */
	AUTHRES_PASS,		/* dkim=pass aligned, or dmarc=pass */
	AUTHRES_FAIL,		/* dkim or dmarc failed for the domain */
};

/*
 * One result of an Authentication-Results value: "dkim=pass
 * header.d=example.com" gives method "dkim", result "pass" and the
 * property "header.d" = "example.com". Lower-cased, comments removed.
 */
struct authres_result {
	char	*method;
	char	*result;
	char	*header_d;	/* header.d, or the domain of header.i */
	char	*header_from;	/* header.from */
};

struct authres {
	char			*authserv_id;	/* lower case */
	struct authres_result	*res;
	size_t			 nres;
};

/*
 * Parses one header value. Returns 0 and fills ar (free it with
 * authres_clear()), or -1 when it has no authserv-id at all. Results it
 * cannot read are skipped; "none" gives no results.
 */
int authres_parse(const char *value, struct authres *ar);
void authres_clear(struct authres *ar);

/*
 * What the server authserv_id says about mail From: domain, reading the
 * headers top down: only its topmost Authentication-Results count (from
 * the first with its id to the next Received:, below which they were
 * there before it saw the mail, and may be forged). A dkim or dmarc
 * failure for the domain there beats any pass. Relaxed alignment: a
 * dkim=pass whose header.d is the domain or a parent of it (with a dot),
 * or dmarc=pass with header.from the domain. why (static or in whybuf)
 * says what was found, for the log and the event.
 */
enum authres_verdict authres_verdict(const struct mime_header *h, size_t n,
    const char *authserv_id, const char *domain, char *whybuf,
    size_t whylen);

#endif
