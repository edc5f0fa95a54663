/*
 * store.h — the store, on SQLite or PostgreSQL; every SQL statement of
 * tiketti is behind it, and nothing here says which backend runs.
 */
#ifndef TIKETTI_STORE_H
#define TIKETTI_STORE_H

#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/tk.h"

struct store;

/* A ticket field's value (tiketti.conf [field NAME]). */
struct store_field {
	char	*name;
	char	*value;
};

struct store_ticket {
	int64_t	 id;
	char	*subject;
	char	*status;
	char	*priority;
	char	*category;	/* or NULL */
	char	*requester;	/* address, or NULL */
	char	*requester_name;
	char	*assignee;	/* or NULL */
	char	*mailbox;	/* shared address it came in on, or NULL */
	int64_t	 parent;	/* 0 = none */
	int64_t	 created_at;
	int64_t	 updated_at;
	int64_t	 status_at;	/* when status last changed */
	int64_t	 nmessages;
	char	*tags;		/* comma-separated, sorted, or NULL */
	int64_t	 last_customer_at;	/* 0 = never */
	char	*lang;		/* the customer's language list, or NULL */
	char	*skill;		/* the skill it was routed by, or NULL */
	int	 csat;		/* the last survey rating 1-5, 0 = none */
	int64_t	 erased_at;	/* its people's data erased then; 0: not */
	int64_t	 merged_into;	/* the ticket it was merged into; 0: none */
	struct store_field *fields;	/* by name (store_ticket_get only) */
	size_t	 nfields;
};

/* A mail or webhook waiting to leave (rules queue, deliver sends). */
struct store_outbox {
	int64_t		 id;
	int64_t		 ticket;
	const char	*kind;		/* autoreply|reply|csat|notify|webhook */
	const char	*to;		/* address, or the webhook's URL */
	const char	*subject;	/* UTF-8, one line */
	const char	*headers;	/* "Name: encoded value\n" lines */
	const char	*body;		/* text, or JSON for a webhook */
	const char	*rule;		/* which rule queued it */
	int64_t		 message;	/* the mail it answers, or 0 */
	const char	*dedupe;	/* a second row with this key is dropped */
	const char	*state;		/* queued|sending|sent|failed|bounced|
					 * cancelled */
	int64_t		 attempts;
	int64_t		 next_at;
	const char	*last_error;
	int64_t		 created_at;
	int64_t		 sent_at;	/* 0 = not yet */
	int64_t		 out_message;	/* the mail as built (messages row) */
	/* Send only while the ticket's status is one of these ("solved,
	 * closed"), or NULL: always. */
	const char	*while_status;
	const char	*ticket_status;	/* the ticket's status now (read) */
	const char	*from;		/* that mail's From address */
	const void	*raw;		/* and its bytes (store_outbox_get) */
	size_t		 rawlen;
};

/* What a time rule counts from. */
enum store_since {
	STORE_SINCE_STATUS,	/* the last status change */
	STORE_SINCE_CREATED,
	STORE_SINCE_CUSTOMER,	/* the customer's last mail */
};

struct store_message {
	int64_t		 ticket;	/* 0 = none */
	const char	*dedupe_key;
	const char	*message_id;
	const char	*direction;	/* "in" | "out" */
	const char	*kind;		/* customer|agent|auto|bounce|csat|system */
	const char	*from_addr;
	const char	*from_name;
	const char	*subject;
	int64_t		 date;
	int64_t		 received_at;
	const char	*mailbox;
	int		 flags;		/* as stored, after the insert */
	int		 held_flags;	/* added to flags when a message in a
					   ticket has the Message-ID already */
	const char	*body;
	const char	*new_text;	/* body without its quote, or NULL */
	const char	*sha256;
	const char	*raw;
	size_t		 rawlen;
};

struct store_msginfo {
	int64_t		 id;		/* the message's number: stable */
	const char	*message_id;
	const char	*from_addr;
	const char	*direction;
	const char	*kind;
	const char	*subject;
	int64_t		 date;
	int		 flags;
	const char	*text;		/* the whole decoded text */
	const char	*new_text;	/* what it added (text when not known) */
};

struct store_attachment {
	const char	*name;		/* or NULL */
	const char	*type;
	int64_t		 size;
	const char	*sha256;
};

struct store_event {
	int64_t		 at;
	const char	*type;
	const char	*actor;
	const char	*old;
	const char	*new_;
	int64_t		 message;	/* the mail it came with, or 0 */
};

enum store_open_flags {
	STORE_READONLY	= 1 << 0,
	/*
	 * Other threads of this process write to the same database: their
	 * write transactions take turns on one mutex rather than on
	 * SQLite's busy handler, which sleeps up to 100 ms at a time.
	 */
	STORE_THREADED	= 1 << 1,
};

/*
 * Opens (creating and migrating when needed) the database at path (a file
 * for SQLite; postgresql://... or postgresql:CONNINFO for PostgreSQL) with
 * a busy timeout in seconds. On failure *out still holds a handle for
 * store_errmsg(); close it with store_close().
 */
enum tk_status store_open(const char *path, long long busy_timeout, int flags,
    struct store **out);
void store_close(struct store *s);
/*
 * A database setting as it may be shown: a password written in it (which
 * store_open refuses) as ***. The caller frees it.
 */
char *store_describe(const char *target);
/*
 * Whether the last failure was one a new transaction may not meet again:
 * a lost connection (the next store_begin() connects again), a
 * serialisation failure or a deadlock. Such a transaction is worth doing
 * once more, whole; a busy SQLite was already waited out.
 */
int store_retryable(const struct store *s);
/*
 * Takes a lock named NAME that every process sharing the store sees, on
 * any host, without waiting: *held is 0 when another holds it. On SQLite
 * it is a file lock beside the database (DB.NAME.lock), on PostgreSQL an
 * advisory lock; either ends with the process, or at store_unlock() or
 * store_close(). One at a time per handle.
 */
enum tk_status store_lock_try(struct store *s, const char *name, int *held);
void store_unlock(struct store *s);
/*
 * Copies the whole of src into dst, which must be empty (TK_EPERM
 * otherwise), table by table, a transaction every 1000 rows; ids, times
 * and raw mail are kept as they are. progress (or NULL) hears of each
 * table when it is done. An error's text is in dst's handle.
 */
enum tk_status store_copy(struct store *src, struct store *dst,
    void (*progress)(const char *table, int64_t rows, void *arg), void *arg);
/* The schema version the database is at; -1 on error. */
int store_schema_version(struct store *s);
/* The schema version this tiketti writes. */
#define STORE_SCHEMA_VERSION	14
/*
 * Prepares every statement of the store on this connection: a dialect's
 * mistake shows here rather than on the first mail that needs it.
 */
enum tk_status store_prepare_all(struct store *s);
/* The database the handle was opened on, as given; borrowed. */
const char *store_path(const struct store *s);
/* The text of the last error on this handle; borrowed. */
const char *store_errmsg(const struct store *s);

/*
 * A write transaction, one at a time on the whole store: BEGIN IMMEDIATE
 * on SQLite, an advisory lock on PostgreSQL, so two writers queue
 * instead of failing half-way.
 */
enum tk_status store_begin(struct store *s);
/*
 * A write transaction that may run beside others begun so on a shared
 * store (PostgreSQL), never beside store_begin's: ingest's. Before it
 * reads what another such writer may write it claims it by name with
 * store_claim. On SQLite it is store_begin.
 */
enum tk_status store_begin_shared(struct store *s);
/*
 * Takes the transaction's locks on the names in keys (any order; taken
 * sorted, so two waiting writers never hold what the other wants). They
 * are held to the transaction's end. Without wait, *held is 0 when
 * another transaction holds one: end this one before waiting, lest two
 * batches each hold what the other wants. Always held on SQLite.
 */
enum tk_status store_claim(struct store *s, const char *const *keys,
    size_t n, int wait, int *held);
enum tk_status store_commit(struct store *s);
void store_rollback(struct store *s);
/* Nested all-or-nothing steps inside a transaction (bulk batches). */
enum tk_status store_savepoint(struct store *s);
enum tk_status store_release(struct store *s);
void store_rollback_savepoint(struct store *s);

/* Sets *found and, when found, *row and *ticket of a known message;
 * *blocked when sender (NULL: none) is blocked: one question, one
 * round trip. */
enum tk_status store_message_find(struct store *s, const char *dedupe_key,
    const char *sender, int *found, int64_t *row, int64_t *ticket,
    int *blocked);
/* The ticket of the first stored message with that Message-ID, or 0. */
enum tk_status store_ticket_by_message_id(struct store *s, const char *mid,
    int64_t *ticket);
enum tk_status store_message_insert(struct store *s,
    struct store_message *m, int64_t *row);
enum tk_status store_attachment_add(struct store *s, int64_t msgrow,
    const char *name, const char *type, int64_t size, const char *sha256);

/* Fills t (caller clears with store_ticket_clear); *found 0 if none. */
enum tk_status store_ticket_get(struct store *s, int64_t id,
    struct store_ticket *t, int *found);
void store_ticket_clear(struct store_ticket *t);
/* Only its status, "" if there is no such ticket. */
enum tk_status store_ticket_status(struct store *s, int64_t id,
    char *status, size_t size);
/* Inserts a ticket from t's subject, status, priority, requester,
 * requester_name, mailbox, parent and created_at; sets t->id. */
enum tk_status store_ticket_insert(struct store *s, struct store_ticket *t);
/* field is one of status, priority, category, assignee, skill; NULL
 * clears. */
enum tk_status store_ticket_set(struct store *s, int64_t id,
    const char *field, const char *value, int64_t now);
enum tk_status store_ticket_touch(struct store *s, int64_t id, int64_t now);
/* Sets a ticket's field (value NULL: removes it). */
enum tk_status store_field_set(struct store *s, int64_t ticket,
    const char *name, const char *value);
/* A lookup's answer for url cached at or after since (*answer NULL:
 * none; the caller frees it); and the cache written. */
enum tk_status store_lookup_get(struct store *s, const char *name,
    const char *url, int64_t since, char **answer);
enum tk_status store_lookup_put(struct store *s, const char *name,
    const char *url, int64_t at, const char *answer);
/* The value of a field in a ticket view, or NULL. */
const char *store_ticket_field(const struct store_ticket *t,
    const char *name);

enum tk_status store_participant_add(struct store *s, int64_t ticket,
    const char *addr);
enum tk_status store_participant_is(struct store *s, int64_t ticket,
    const char *addr, int *yes);
enum tk_status store_tag_add(struct store *s, int64_t ticket, const char *tag);

enum tk_status store_event_add(struct store *s, int64_t ticket, int64_t at,
    const char *type, const char *actor, const char *old, const char *new_,
    int64_t msgrow);

/* Callbacks get borrowed data valid during the call; non-zero stops. */
/* The waiting tickets (new, open): unassigned first, then by priority
 * (urgent first), then the oldest. */
enum tk_status store_queue(struct store *s,
    int (*fn)(const struct store_ticket *, void *), void *arg);
enum tk_status store_ticket_list(struct store *s, const char *status,
    int (*fn)(const struct store_ticket *, void *), void *arg);
enum tk_status store_ticket_messages(struct store *s, int64_t ticket,
    int (*fn)(const struct store_msginfo *, void *), void *arg);
/* A message's attachments in MIME order. */
enum tk_status store_message_attachments(struct store *s, int64_t message,
    int (*fn)(const struct store_attachment *, void *), void *arg);
/* Adds the message's raw bytes, as ingested, to out (*found = 0: no such
 * message); TK_ELIMIT past out's cap. */
enum tk_status store_message_raw(struct store *s, int64_t message,
    struct buf *out, int *found);
enum tk_status store_ticket_events(struct store *s, int64_t ticket,
    int (*fn)(const struct store_event *, void *), void *arg);

enum tk_status store_tag_remove(struct store *s, int64_t ticket,
    const char *tag);
/*
 * Privacy. Erases what a ticket holds of people, inside the caller's
 * transaction: its subject, requester, participants and field values;
 * its messages' text, subjects, raw mail and customers' addresses and
 * names; attachment names; its outbox rows' addresses and text (queued
 * ones cancelled); its bounce records; customers as the actors of its
 * events and the values of events that may hold what they wrote. The
 * rows, times, statuses, kinds and agents stay, so reports count the
 * same; the requester becomes pseudonym (or NULL), so that a report
 * still counts one customer once. Adds an "erased" event (actor, why).
 */
enum tk_status store_ticket_erase(struct store *s, int64_t ticket,
    int64_t now, const char *pseudonym, const char *actor, const char *why);
/* Closed tickets not erased whose status changed before `before`, by
 * id: fn(id, mailbox (or NULL), closed at, arg); non-zero stops. */
enum tk_status store_retention_due(struct store *s, int64_t before,
    int (*fn)(int64_t, const char *, int64_t, void *), void *arg);
/* The tickets address is the requester, a participant or a sender of,
 * ascending; caller frees *ids. */
enum tk_status store_tickets_of(struct store *s, const char *address,
    int64_t **ids, size_t *n);
/* Outbox rows to address made anonymous (queued ones cancelled), its
 * bounce record and the cached lookups whose URL names it removed. */
enum tk_status store_forget_address(struct store *s, const char *address);
/* The outbox rows to address, oldest first (the subject and state):
 * fn(row, arg) with ticket, kind, subject, state, created_at, sent_at
 * filled. */
enum tk_status store_outbox_to(struct store *s, const char *address,
    int (*fn)(const struct store_outbox *, void *), void *arg);

/* An account's OAuth 2.0 grant (oauth.h). */
struct store_grant {
	char	*refresh_token;	/* or NULL */
	char	*access_token;	/* or NULL */
	int64_t	 expires_at;	/* of the access token */
	int64_t	 updated_at;
};
enum tk_status store_grant_get(struct store *s, const char *account,
    struct store_grant *g, int *found);
/* Saves it (a statement of its own: commits at once outside a
 * transaction). */
enum tk_status store_grant_put(struct store *s, const char *account,
    const struct store_grant *g);
/* Frees its strings, wiped first. */
void store_grant_clear(struct store_grant *g);

/*
 * Merges src into dst inside the caller's transaction: src's messages
 * and events move to dst (each remembering src), its participants are
 * added to dst's, and src is closed with merged_into = dst.
 * store_ticket_unmerge() moves back what came from src, takes away the
 * participants it added, and gives src status and merged_into NULL.
 */
enum tk_status store_ticket_merge(struct store *s, int64_t src, int64_t dst,
    int64_t now);
enum tk_status store_ticket_unmerge(struct store *s, int64_t src,
    int64_t dst, const char *status, int64_t now);
/* The block list (#spam, tiketti block): add (1) or remove (0); who is
 * on it, store_message_find says. */
enum tk_status store_block(struct store *s, const char *address, int add,
    int64_t at, const char *actor);
enum tk_status store_block_list(struct store *s,
    int (*fn)(const char *address, int64_t at, const char *actor, void *),
    void *arg);
/* Deletes a ticket and everything of it (purge --spam), inside the
 * caller's transaction. */
enum tk_status store_ticket_purge(struct store *s, int64_t ticket);
/* Deletes the spam kept without a ticket received before `before`. */
enum tk_status store_purge_loose_spam(struct store *s, int64_t before);
/* Spam tickets whose status changed before `before`; caller frees. */
enum tk_status store_spam_tickets(struct store *s, int64_t before,
    int64_t **ids, size_t *n);
/* A message, with its "message" event, to another ticket (split). */
enum tk_status store_message_move(struct store *s, int64_t message,
    int64_t ticket);
/* Ticket from's participants added to ticket to's. */
enum tk_status store_participants_copy(struct store *s, int64_t from,
    int64_t to);
/* The ticket mail for *ticket goes to: the end of its merges. */
enum tk_status store_ticket_follow(struct store *s, int64_t *ticket);
/*
 * Claims the next queued Sent copy (kind sent_copy) of account after id
 * after, as store_outbox_claim does (its mail from store_outbox_get);
 * *id 0 when none.
 */
enum tk_status store_copy_claim(struct store *s, const char *account,
    int64_t now, int64_t after, int64_t *id);
/* The time rules that fired on a ticket: fn(rule, occurrence, when). */
enum tk_status store_fired_of(struct store *s, int64_t ticket,
    int (*fn)(const char *rule, int64_t occurrence, int64_t at, void *),
    void *arg);
/* The last event and outbox ids (0: none), and what was added after
 * them: for tick --dry-run, inside the transaction it rolls back. */
enum tk_status store_added_marks(struct store *s, int64_t *events,
    int64_t *outbox);
enum tk_status store_added_since(struct store *s, int64_t events,
    int64_t outbox, int (*efn)(int64_t, const struct store_event *, void *),
    int (*ofn)(const struct store_outbox *, void *), void *arg);

/* How a job went when it last ran ("tick", "poll:ACCOUNT",
 * "oauth:ACCOUNT"), for tiketti check. */
struct store_health {
	int64_t	 at;
	int	 ok;
	char	*detail;	/* what went wrong, or NULL */
};
/* Records it, in a transaction of its own (call it holding none). */
enum tk_status store_health_set(struct store *s, const char *name,
    int64_t at, int ok, const char *detail);
/* The caller frees h->detail. */
enum tk_status store_health_get(struct store *s, const char *name,
    struct store_health *h, int *found);
/* Outbox rows failing (retried, or failed within a day) and stale
 * (queued longer than max_age seconds). */
enum tk_status store_outbox_health(struct store *s, int64_t now,
    int64_t max_age, int64_t *failing, int64_t *stale);

/* Records a customer mail's time and, when not NULL, their languages. */
enum tk_status store_ticket_customer(struct store *s, int64_t ticket,
    int64_t at, const char *lang);

/* Queues a row and sets *id; 0 when a row with that dedupe key exists. */
enum tk_status store_outbox_add(struct store *s, const struct store_outbox *o,
    int64_t *id);
/* Links a row to the mail built for it (a messages row). */
enum tk_status store_outbox_link(struct store *s, int64_t id, int64_t msgrow);
/* state NULL: every row, oldest first. */
enum tk_status store_outbox_list(struct store *s, const char *state,
    int (*fn)(const struct store_outbox *, void *), void *arg);

/*
 * Delivery. A sender that died holding rows claimed before stale_before
 * gets them requeued once (they may go out twice) and failed after that.
 */
enum tk_status store_outbox_recover(struct store *s, int64_t stale_before,
    int64_t now, int64_t *requeued, int64_t *failed);
/* Whether any row waits to be sent (queued, or claimed by a sender);
 * a read, so a flush with nothing to do takes no write lock. */
enum tk_status store_outbox_pending(struct store *s, int *yes);
/* Claims the next queued row after id `after` that is due (all with
 * force; webhooks only without mail); *id 0 when none is left. */
enum tk_status store_outbox_claim(struct store *s, int64_t now, int64_t after,
    int force, int mail, int64_t *id);
/* One row with its built mail (raw, from). */
enum tk_status store_outbox_get(struct store *s, int64_t id,
    int (*fn)(const struct store_outbox *, void *), void *arg);
/* state queued (retry at next_at), sent, failed or bounced. */
enum tk_status store_outbox_done(struct store *s, int64_t id,
    const char *state, int64_t next_at, const char *error, int64_t now);
/* Rows of kind to that address queued after since (the rate limit). */
enum tk_status store_outbox_recent(struct store *s, const char *to,
    const char *kind, int64_t since, int64_t *n);
/* The row with that id, or (mid not NULL) whose mail has that Message-ID;
 * *row 0 when none. *to and *kind (kind may be NULL) are the caller's to
 * free. */
enum tk_status store_outbox_find(struct store *s, int64_t id, const char *mid,
    int64_t *row, int64_t *ticket, char **to, char **kind);
/* Addresses that bounced our mail, and when they last did (0 = never). */
enum tk_status store_bounce_add(struct store *s, const char *addr, int64_t at,
    int64_t ticket);
enum tk_status store_bounce_last(struct store *s, const char *addr,
    int64_t *at);
/* Whether addr sent the ticket mail a person wrote (not automatic). */
enum tk_status store_customer_wrote(struct store *s, int64_t ticket,
    const char *addr, int *yes);
/* The Message-ID of the ticket's newest incoming mail, or NULL; freed by
 * the caller. */
/*
 * The customer's mail on a ticket: the Message-IDs of the newest max
 * (oldest first, for References; each freed, and the array), the text
 * the newest added (new_text; NULL when there is none) and, when newest
 * is not NULL, its row (0: none).
 */
enum tk_status store_customer_mail(struct store *s, int64_t ticket,
    size_t max, char ***mids, size_t *n, char **new_text, int64_t *newest);
/* An agent's availability as set by mail or by the CLI. */
struct store_agent_state {
	int	 away;
	int64_t	 until;		/* away until then; 0: until she is back */
	int64_t	 since;		/* 0: never set */
	char	*why;		/* "command", "admin", "ooo", or NULL */
};
enum tk_status store_agent_state_set(struct store *s, const char *name,
    int away, int64_t until, int64_t now, const char *why);
/* Fills as (zeroed when never set); free as->why. */
enum tk_status store_agent_state_get(struct store *s, const char *name,
    struct store_agent_state *as);
/*
 * The agent's new and open tickets whose customer she has not answered
 * since his last mail: fn(ticket, skill or "", arg); non-zero stops.
 */
enum tk_status store_agent_waiting(struct store *s, const char *agent,
    int (*fn)(int64_t ticket, const char *skill, void *), void *arg);
/* A ticket in a list: the customer's other tickets. */
struct store_brief {
	int64_t	 id;
	char	*subject;
	char	*status;
	int64_t	 created_at;
};
/* The newest max tickets addr asked for but except, newest first. */
enum tk_status store_customer_tickets(struct store *s, const char *addr,
    int64_t except, size_t max, struct store_brief **out, size_t *n);
void store_briefs_free(struct store_brief *b, size_t n);
enum tk_status store_ticket_last_mid(struct store *s, int64_t ticket,
    char **mid);

/* Tickets an agent has open, and the event row of their last assignment
 * (0 = never): route's "fewest open, then longest since" order. */
enum tk_status store_agent_load(struct store *s, const char *agent,
    int64_t *open, int64_t *last_assigned);

/* Marks (rule, ticket, occurrence) fired; *fresh 0 when it already was. */
enum tk_status store_rule_fire(struct store *s, const char *rule,
    int64_t ticket, int64_t occurrence, int64_t now, int *fresh);
/* How far a time rule has looked: tickets due at or before upto. */
enum tk_status store_horizon_get(struct store *s, const char *rule,
    int64_t *upto, int *found);
enum tk_status store_horizon_set(struct store *s, const char *rule,
    int64_t upto);
/* Tickets whose since-time lies in (after, upto], in status (NULL: any;
 * required for STORE_SINCE_STATUS); fn gets the id and that time. */
enum tk_status store_tickets_due(struct store *s, enum store_since since,
    const char *status, int64_t after, int64_t upto,
    int (*fn)(int64_t id, int64_t at, void *arg), void *arg);

/* Where the IMAP poller is in an account's folder (all 0: never polled). */
struct store_imap {
	int64_t	 uidvalidity;
	int64_t	 last_uid;	/* highest UID ingested or skipped */
	int64_t	 acted_uid;	/* highest UID whose `after` action is done */
};
enum tk_status store_imap_get(struct store *s, const char *account,
    const char *folder, struct store_imap *state);
enum tk_status store_imap_set(struct store *s, const char *account,
    const char *folder, const struct store_imap *state);
/* Records a message the poller left in the folder, and why. */
enum tk_status store_imap_skip(struct store *s, const char *account,
    const char *folder, int64_t uidvalidity, int64_t uid, int64_t size,
    const char *reason, int64_t at);
/* The skipped UIDs in [from, to], in order; fn returns non-zero to stop. */
enum tk_status store_imap_skipped(struct store *s, const char *account,
    const char *folder, int64_t uidvalidity, int64_t from, int64_t to,
    int (*fn)(int64_t uid, void *arg), void *arg);

/* The aggregates of `tiketti report` (the SQL in store.c says what each
 * row holds); rows come in no promised order unless said. */
enum store_report_q {
	STORE_REP_BACKLOG,	/* status, priority, assignee, open tickets */
	STORE_REP_OLDEST,	/* id, created_at, subject (0 or 1 row) */
	STORE_REP_CREATED,	/* day, mailbox, category, created */
	STORE_REP_STATUS,	/* day, mailbox, category, solved, reopened */
	STORE_REP_TIMES_FILL,	/* no rows: per ticket created, the first
				 * response and solve (the next three) */
	STORE_REP_TIMES_COUNT,	/* has a first response, has a solve,
				 * mailbox, category, who responded, who
				 * solved, n */
	STORE_REP_FRT_ROWS,	/* seconds, mailbox, category, who: in order */
	STORE_REP_RES_ROWS,	/* the same for resolution */
	STORE_REP_FLOW,		/* created, customers, repeat customers,
				 * solved, reopened, follow-ups (1 row) */
	STORE_REP_CSAT,		/* 'sent'|'rating', rating, count */
	STORE_REP_AUTOREPLY,	/* 'sent'|'suppressed', reason, count */
	STORE_REP_BY_FIELD,	/* the field's value (NULL: none), created,
				 * solved or closed, open: most first */
};
#define STORE_ROW_MAX 8
struct store_row {
	int		 n;
	const char	*text[STORE_ROW_MAX];	/* "" for NULL */
	int64_t		 num[STORE_ROW_MAX];
	int		 null[STORE_ROW_MAX];
};
/* Runs one report aggregate over [since, until) and mailbox (NULL: all),
 * field naming the field of STORE_REP_BY_FIELD; fn returns non-zero to
 * stop. */
enum tk_status store_report(struct store *s, enum store_report_q q,
    int64_t since, int64_t until, const char *mailbox, const char *field,
    int (*fn)(const struct store_row *row, void *arg), void *arg);

/*
 * Tickets' lives for their service promises (sla.h): fn gets each
 * ticket's steps in order, tickets one after another. STORE_STEPS_TICKET:
 * ticket a; _OPEN: the tickets new, open or pending; _WAITING: new or
 * open (the queue's); _CREATED: those created in [a, b) in mailbox
 * (NULL: all).
 */
enum store_steps {
	STORE_STEPS_TICKET, STORE_STEPS_OPEN, STORE_STEPS_WAITING,
	STORE_STEPS_CREATED,
};
struct sla_step;
enum tk_status store_steps(struct store *s, enum store_steps which,
    int64_t a, int64_t b, const char *mailbox,
    int (*fn)(int64_t ticket, const struct sla_step *, void *), void *arg);

/* Counts for tests and progress: messages stored, flagged unparsed. */
enum tk_status store_count_messages(struct store *s, int64_t *all,
    int64_t *flagged);

#endif
