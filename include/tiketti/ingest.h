/*
 * ingest.h — the one pipeline every front end hands raw mail to.
 */
#ifndef TIKETTI_INGEST_H
#define TIKETTI_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/automate.h"
#include "tiketti/classify.h"
#include "tiketti/mime.h"
#include "tiketti/redact.h"
#include "tiketti/conf.h"
#include "tiketti/rules.h"
#include "tiketti/store.h"
#include "tiketti/thread.h"

struct ingest;

struct ingest_envelope {
	const char		*mail_from;	/* "" = null sender, NULL = unknown */
	const char *const	*rcpts;		/* envelope recipients, or NULL */
	size_t			 nrcpts;
	const char		*mailbox;	/* shared address, when known */
	int			 threaded_only;	/* store it only if it joins a
						 * ticket (an agent's mail the
						 * milter sees going out) */
	struct classify_proof	 proof;		/* what proves an agent's mail */
	/* A bulk import: the message is stamped with its own time (Date:,
	 * within its Received: times; else file_time, the maildir name's
	 * or file's time), and one older than history_age is history:
	 * recorded, rules run, nothing sent. */
	int			 stamp;
	int64_t			 file_time;
	/* Lookups done for it before the transaction (ingest_prefetch);
	 * NULL: ingest_message does them when it holds no transaction. */
	const struct automate_lookups *lookups;
	/* What redaction masked in it (ingest_redact), or NULL. */
	const struct redact_count *redacted;
	/* The message an agent forwarded in: stamped with its own time,
	 * never history. */
	int			 forwarded;
	/* The caller does not read the result's status: not asked for
	 * (a round trip fewer on a shared store). */
	int			 no_status;
};

struct ingest_result {
	int64_t			 ticket;
	int64_t			 message;	/* row in messages */
	int			 duplicate;	/* already stored: nothing changed */
	int			 created;	/* a new ticket was opened */
	enum classify_kind	 kind;
	enum thread_how		 how;
	int			 flags;		/* enum mime_flags */
	int			 forged;	/* a forged token was ignored */
	int			 skipped;	/* nothing stored: threaded_only and
						 * it did not, or an agent's
						 * own #away or #back */
	char			 status[16];	/* the ticket's status afterwards
						 * (empty with no_status) */
	/* From: an agent, not proven hers: why (else empty). The mail was
	 * taken as her sender's; the front end logs this. */
	char			 unverified[256];
	int			 commands;	/* a proven agent's command lines
						 * ran (they lead its text) */
	int64_t			 at;		/* the time it was stamped with */
	int			 history;	/* older than history_age */
	int			 masked;	/* redact wrote the raw message
						 * again (ingest_message) */
	int			 spam;		/* a blocked sender's: stored as
						 * spam, no ticket */
};

/* c and s are borrowed and must outlive the handle. */
struct ingest *ingest_new(const struct tk_conf *c, struct store *s);
void ingest_free(struct ingest *ig);
/* The rules to run (NULL: none); borrowed, may be swapped between
 * messages (a reload keeps the old set until the new one loads). */
void ingest_set_rules(struct ingest *ig, const struct ruleset *rules);
/*
 * The lookups the rules would ask for this message, done now, before any
 * transaction (s: for the cache, or NULL): for a front end that parses
 * on its own (the milter), to put in the envelope it hands ingest.
 */
void ingest_prefetch(const struct tk_conf *c, const struct ruleset *rules,
    struct store *s, const struct tk_msg *m, const struct ingest_envelope *env,
    struct automate_lookups *out);
/* The same for raw bytes, parsed here and the cache read on ig's store;
 * call it outside a batch (the poller does, before each batch). */
void ingest_lookups(struct ingest *ig, const char *raw, size_t len,
    const struct ingest_envelope *env, struct automate_lookups *out);
/*
 * With redact on (tiketti.conf), masks card numbers and identity codes
 * in a parsed message before anything stores it: when its text, subject
 * or a text attachment holds one, the raw message is written again with
 * them masked (out->whole; *raw and *len then point into it) and *m is
 * parsed again from it; what is left in the text is masked there too.
 * Counts go to *n. Free out with mime_edited_free() in every case.
 */
void ingest_redact(const struct tk_conf *c, struct tk_msg **m,
    const char **raw, size_t *len, struct mime_edited *out,
    struct redact_count *n);
/* The service promises an assignment mail tells the time left of. */
void ingest_set_sla(struct ingest *ig, const struct sla *sla);
/* The text of the last error; borrowed. */
const char *ingest_errmsg(const struct ingest *ig);

/*
 * Runs the pipeline on one message: parse, dedupe, classify, thread, state
 * change and events, all in one transaction (or one savepoint inside a
 * batch). TK_ELIMIT past message_size_limit (nothing stored), TK_ETEMP
 * when the database is busy or full (nothing stored; retry later).
 */
enum tk_status ingest_message(struct ingest *ig, const char *raw, size_t len,
    const struct ingest_envelope *env, struct ingest_result *res);

/*
 * The two halves of ingest_message() for callers that parse in parallel
 * and write in one transaction (the milter's group commit): the parse,
 * which takes no lock (free it with mime_free()), and the rest, which
 * may run inside ingest_batch_begin()/ingest_batch_commit(). No size
 * check: the caller has made it.
 */
struct tk_msg *ingest_parse(const struct tk_conf *c, const char *raw,
    size_t len);
enum tk_status ingest_parsed(struct ingest *ig, const struct tk_msg *m,
    const char *raw, size_t len, const struct ingest_envelope *env,
    struct ingest_result *res);

/*
 * What a new ticket for m would look like, touching no database (for
 * `rules test`): view is filled (clear it with store_ticket_clear()) and
 * the mail classified.
 */
void ingest_preview(const struct tk_conf *c, const struct tk_msg *m,
    const struct ingest_envelope *env, struct store_ticket *view,
    struct classify_result *cls);

/*
 * Bulk import: messages between begin and commit share one transaction,
 * each in its own savepoint, so a crash loses the batch, never half a
 * message.
 */
enum tk_status ingest_batch_begin(struct ingest *ig);
enum tk_status ingest_batch_commit(struct ingest *ig);
/* Drops the batch (after a failed commit there is nothing to drop). */
void ingest_batch_rollback(struct ingest *ig);

#endif
