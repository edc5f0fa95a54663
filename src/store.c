/*
 * NAME
 *	store.c — the SQLite store.
 * DESCRIPTION
 *	The only module that includes SQLite and the only place SQL is
 *	written. Owns the schema (PRAGMA user_version, forward migrations),
 *	the connection settings (WAL, busy timeout, foreign keys, synchronous
 *	FULL so a commit is on disk before a front end acknowledges mail), a
 *	cache of prepared statements, and a VFS that writes a commit's WAL
 *	frames in one system call instead of two each. A handle is one
 *	connection and must be used by one thread at a time; open one per
 *	thread. All values go through sqlite3_bind_*.
 * DIAGNOSTICS
 *	Functions return enum tk_status: SQLITE_BUSY/LOCKED past the busy
 *	timeout, SQLITE_FULL and I/O errors are TK_ETEMP (the sender retries);
 *	the text stays in the handle for store_errmsg(). A failed write to the
 *	WAL shows at the commit.
 */
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sqlite3.h>

#include "tiketti/buf.h"
#include "tiketti/store.h"

#define SCHEMA_VERSION 7

static const char schema_v1[] =
"CREATE TABLE tickets ("
"  id INTEGER PRIMARY KEY,"
"  subject TEXT NOT NULL,"
"  status TEXT NOT NULL DEFAULT 'new',"
"  priority TEXT NOT NULL DEFAULT 'normal',"
"  category TEXT,"
"  requester TEXT,"
"  requester_name TEXT,"
"  assignee TEXT,"
"  mailbox TEXT,"
"  parent INTEGER REFERENCES tickets(id),"
"  created_at INTEGER NOT NULL,"
"  updated_at INTEGER NOT NULL,"
"  status_at INTEGER NOT NULL);"
"CREATE INDEX tickets_status ON tickets(status, status_at);"
"CREATE INDEX tickets_requester ON tickets(requester);"
"CREATE TABLE participants ("
"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
"  address TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, address)) WITHOUT ROWID;"
"CREATE TABLE messages ("
"  id INTEGER PRIMARY KEY,"
"  ticket_id INTEGER REFERENCES tickets(id),"
"  dedupe_key TEXT NOT NULL UNIQUE,"
"  message_id TEXT,"
"  direction TEXT NOT NULL,"
"  kind TEXT NOT NULL,"
"  from_addr TEXT,"
"  from_name TEXT,"
"  subject TEXT,"
"  date INTEGER,"
"  received_at INTEGER NOT NULL,"
"  mailbox TEXT,"
"  flags INTEGER NOT NULL DEFAULT 0,"
"  body TEXT,"
"  sha256 TEXT NOT NULL);"
"CREATE INDEX messages_mid ON messages(message_id);"
"CREATE INDEX messages_ticket ON messages(ticket_id);"
"CREATE TABLE raw_messages ("
"  message INTEGER PRIMARY KEY REFERENCES messages(id),"
"  raw BLOB NOT NULL);"
"CREATE TABLE attachments ("
"  message INTEGER NOT NULL REFERENCES messages(id),"
"  name TEXT, type TEXT, size INTEGER, sha256 TEXT);"
"CREATE INDEX attachments_message ON attachments(message);"
"CREATE TABLE events ("
"  id INTEGER PRIMARY KEY,"
"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
"  at INTEGER NOT NULL,"
"  type TEXT NOT NULL,"
"  actor TEXT, old TEXT, new TEXT,"
"  message INTEGER REFERENCES messages(id));"
"CREATE INDEX events_ticket ON events(ticket_id, id);"
"CREATE INDEX events_type_at ON events(type, at);"
"CREATE TABLE tags ("
"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
"  tag TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, tag)) WITHOUT ROWID;";

/* Rules, templates and the outbox (issue 3). */
static const char schema_v2[] =
"ALTER TABLE tickets ADD COLUMN last_customer_at INTEGER;"
"ALTER TABLE tickets ADD COLUMN lang TEXT;"
"CREATE INDEX tickets_created ON tickets(created_at);"
"CREATE INDEX tickets_customer ON tickets(last_customer_at);"
"CREATE INDEX tickets_assignee ON tickets(assignee, status);"
"CREATE INDEX events_type_new ON events(type, new, id);"
"CREATE TABLE outbox ("
"  id INTEGER PRIMARY KEY,"
"  ticket_id INTEGER REFERENCES tickets(id),"
"  kind TEXT NOT NULL,"
"  to_addr TEXT NOT NULL,"
"  subject TEXT,"
"  headers TEXT,"
"  body TEXT,"
"  rule TEXT,"
"  message INTEGER REFERENCES messages(id),"
"  dedupe TEXT UNIQUE,"
"  state TEXT NOT NULL DEFAULT 'queued',"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  next_at INTEGER NOT NULL,"
"  last_error TEXT,"
"  created_at INTEGER NOT NULL,"
"  sent_at INTEGER);"
"CREATE INDEX outbox_due ON outbox(state, next_at);"
"CREATE INDEX outbox_ticket ON outbox(ticket_id);"
"CREATE TABLE rule_fired ("
"  rule TEXT NOT NULL,"
"  ticket_id INTEGER NOT NULL,"
"  occurrence INTEGER NOT NULL,"
"  at INTEGER NOT NULL,"
"  PRIMARY KEY (rule, ticket_id, occurrence)) WITHOUT ROWID;"
"CREATE TABLE rule_horizon ("
"  rule TEXT PRIMARY KEY,"
"  upto INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * Sending (issue 4): the mail as built (a messages row, so replies to it
 * thread), the claim a sender holds while a row is on the wire, the
 * addresses that bounced our mail, and the skill a ticket was routed by.
 */
static const char schema_v3[] =
"ALTER TABLE tickets ADD COLUMN skill TEXT;"
"ALTER TABLE outbox ADD COLUMN out_message INTEGER REFERENCES messages(id);"
"ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;"
"ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;"
"CREATE INDEX outbox_to ON outbox(to_addr COLLATE NOCASE, kind, created_at);"
"CREATE INDEX outbox_out ON outbox(out_message);"
"CREATE INDEX events_csat ON events(ticket_id, type, id);"
"CREATE TABLE bounced ("
"  address TEXT PRIMARY KEY COLLATE NOCASE,"
"  at INTEGER NOT NULL,"
"  ticket_id INTEGER) WITHOUT ROWID;";

/*
 * The IMAP poller (issue 6): per account and folder the UIDVALIDITY, the
 * highest UID ingested (advanced in the message's own transaction) and
 * the highest UID whose `after` action (seen, move, delete) was done;
 * and the messages it skipped (over the size limit, unfetchable).
 */
static const char schema_v4[] =
"CREATE TABLE imap_state ("
"  account TEXT NOT NULL,"
"  folder TEXT NOT NULL,"
"  uidvalidity INTEGER NOT NULL,"
"  last_uid INTEGER NOT NULL,"
"  acted_uid INTEGER NOT NULL,"
"  PRIMARY KEY (account, folder)) WITHOUT ROWID;"
"CREATE TABLE imap_skipped ("
"  account TEXT NOT NULL,"
"  folder TEXT NOT NULL,"
"  uidvalidity INTEGER NOT NULL,"
"  uid INTEGER NOT NULL,"
"  size INTEGER NOT NULL,"
"  reason TEXT NOT NULL,"
"  at INTEGER NOT NULL,"
"  PRIMARY KEY (account, folder, uidvalidity, uid)) WITHOUT ROWID;";

/*
 * Reports (issue 7): the events of a type in a period with what the
 * aggregates read, so a report over millions of events reads the index
 * alone; it takes over from events(type, at).
 */
static const char schema_v5[] =
"CREATE INDEX events_type_at_cover ON events(type, at, ticket_id, old, new);"
"DROP INDEX events_type_at;";

/*
 * Trust (issue 21): the statuses an outbox row was queued under (a
 * survey while solved, a reminder while pending); the sender cancels it
 * when the ticket has left them since.
 */
static const char schema_v6[] =
"ALTER TABLE outbox ADD COLUMN while_status TEXT;";

/*
 * Fidelity (issue 22): what a message added, without its quote (NULL for
 * messages stored before: their text stands in).
 */
static const char schema_v7[] =
"ALTER TABLE messages ADD COLUMN new_text TEXT;";

enum stmt_id {
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
	Q_MSG_FIND, Q_TICKET_BY_MID, Q_MSG_INSERT, Q_RAW_INSERT, Q_ATT_INSERT,
	Q_TICKET_GET, Q_TICKET_INSERT,
	Q_SET_STATUS, Q_SET_PRIORITY, Q_SET_CATEGORY, Q_SET_ASSIGNEE,
	Q_TICKET_TOUCH, Q_PART_ADD, Q_PART_IS, Q_TAG_ADD, Q_EVENT_ADD,
	Q_TICKET_LIST, Q_TICKET_LIST_STATUS, Q_TICKET_MESSAGES,
	Q_MSG_ATTACHMENTS, Q_MSG_RAW,
	Q_TICKET_EVENTS, Q_COUNT_MESSAGES,
	Q_TAG_REMOVE, Q_TICKET_CUSTOMER, Q_OUTBOX_ADD, Q_OUTBOX_LIST,
	Q_AGENT_OPEN, Q_AGENT_LAST, Q_RULE_FIRE, Q_HORIZON_GET, Q_HORIZON_SET,
	Q_DUE_STATUS, Q_DUE_CREATED, Q_DUE_CUSTOMER,
	Q_SET_SKILL, Q_OUTBOX_CLAIM, Q_OUTBOX_GET, Q_OUTBOX_DONE,
	Q_OUTBOX_STALE_FAIL, Q_OUTBOX_STALE_REQUEUE, Q_OUTBOX_RECENT,
	Q_OUTBOX_FIND_ID, Q_OUTBOX_FIND_MID, Q_BOUNCE_ADD, Q_BOUNCE_LAST,
	Q_LAST_IN_MID, Q_OUTBOX_LINK, Q_OUTBOX_PENDING,
	Q_CUSTOMER_WROTE, Q_IMAP_GET, Q_IMAP_SET, Q_IMAP_SKIP, Q_IMAP_SKIPPED,
	Q_REP_BACKLOG, Q_REP_OLDEST, Q_REP_CREATED, Q_REP_STATUS,
	Q_REP_TIMES_FILL, Q_REP_TIMES_COUNT, Q_REP_FRT_ROWS, Q_REP_RES_ROWS,
	Q_REP_FLOW, Q_REP_CSAT, Q_REP_AUTOREPLY,
	Q__COUNT
};

#define TICKET_COLS \
	"t.id, t.subject, t.status, t.priority, t.category, t.requester," \
	" t.requester_name, t.assignee, t.mailbox, t.parent, t.created_at," \
	" t.updated_at, t.status_at," \
	" (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)," \
	" (SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags g" \
	"   WHERE g.ticket_id = t.id ORDER BY tag))," \
	" t.last_customer_at, t.lang, t.skill," \
	" (SELECT new FROM events e WHERE e.ticket_id = t.id" \
	"   AND e.type = 'csat' ORDER BY e.id DESC LIMIT 1)"

#define OUTBOX_COLS \
	"o.id, coalesce(o.ticket_id, 0), o.kind, o.to_addr, o.subject," \
	" o.headers, o.body, o.rule, o.state, o.attempts, o.next_at," \
	" o.last_error, o.created_at, coalesce(o.sent_at, 0)," \
	" coalesce(o.out_message, 0), o.while_status," \
	" (SELECT status FROM tickets t WHERE t.id = o.ticket_id)"

#define REP_MAILBOX "(?3 IS NULL OR t.mailbox = ?3)"
/* Events of the mailbox's tickets, without a join when there is none. */
#define REP_EV_MAILBOX "(?3 IS NULL OR e.ticket_id IN" \
	" (SELECT id FROM tickets WHERE mailbox = ?3))"
#define REP_DAY "date(q * 900, 'unixepoch', 'localtime')"
#define REP_SOLVED "(e.new = 'solved' OR (e.new = 'closed' AND" \
	" coalesce(e.old, '') NOT IN ('solved', 'closed')))"
#define REP_REOPEN "(e.old IN ('solved', 'closed') AND" \
	" e.new NOT IN ('solved', 'closed'))"

static const char *const stmt_sql[Q__COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT msg",
	[Q_RELEASE] = "RELEASE msg",
	[Q_ROLLBACK_TO] = "ROLLBACK TO msg",
	[Q_MSG_FIND] = "SELECT id, coalesce(ticket_id, 0) FROM messages"
	    " WHERE dedupe_key = ?1",
	/* The first holder of a Message-ID keeps it: a later message that
	 * reuses it threads nothing to itself. */
	[Q_TICKET_BY_MID] = "SELECT ticket_id FROM messages"
	    " WHERE message_id = ?1 AND ticket_id IS NOT NULL"
	    " ORDER BY id LIMIT 1",
	[Q_MSG_INSERT] = "INSERT INTO messages (ticket_id, dedupe_key,"
	    " message_id, direction, kind, from_addr, from_name, subject, date,"
	    " received_at, mailbox, flags, body, sha256, new_text) VALUES (?1,"
	    " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[Q_RAW_INSERT] = "INSERT INTO raw_messages (message, raw)"
	    " VALUES (?1, ?2)",
	[Q_ATT_INSERT] = "INSERT INTO attachments (message, name, type, size,"
	    " sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_TICKET_GET] = "SELECT " TICKET_COLS " FROM tickets t WHERE t.id = ?1",
	[Q_TICKET_INSERT] = "INSERT INTO tickets (subject, status, priority,"
	    " requester, requester_name, mailbox, parent, created_at,"
	    " updated_at, status_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?8, ?8)",
	[Q_SET_STATUS] = "UPDATE tickets SET status = ?2, status_at = ?3,"
	    " updated_at = ?3 WHERE id = ?1",
	[Q_SET_PRIORITY] = "UPDATE tickets SET priority = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_SET_CATEGORY] = "UPDATE tickets SET category = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_SET_ASSIGNEE] = "UPDATE tickets SET assignee = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_TICKET_TOUCH] = "UPDATE tickets SET updated_at = ?2 WHERE id = ?1",
	[Q_PART_ADD] = "INSERT OR IGNORE INTO participants (ticket_id, address)"
	    " VALUES (?1, ?2)",
	[Q_PART_IS] = "SELECT 1 FROM participants WHERE ticket_id = ?1"
	    " AND address = ?2",
	[Q_TAG_ADD] = "INSERT OR IGNORE INTO tags (ticket_id, tag)"
	    " VALUES (?1, ?2)",
	[Q_EVENT_ADD] = "INSERT INTO events (ticket_id, at, type, actor, old,"
	    " new, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_TICKET_LIST] = "SELECT " TICKET_COLS " FROM tickets t ORDER BY t.id",
	[Q_TICKET_LIST_STATUS] = "SELECT " TICKET_COLS " FROM tickets t"
	    " WHERE t.status = ?1 ORDER BY t.id",
	[Q_TICKET_MESSAGES] = "SELECT message_id, from_addr, direction, kind,"
	    " subject, coalesce(date, received_at), flags, id, body,"
	    " coalesce(new_text, body) FROM messages"
	    " WHERE ticket_id = ?1 ORDER BY id",
	/* In MIME order: the order they were stored in. */
	[Q_MSG_ATTACHMENTS] = "SELECT name, type, size, sha256 FROM attachments"
	    " WHERE message = ?1 ORDER BY rowid",
	[Q_MSG_RAW] = "SELECT raw FROM raw_messages WHERE message = ?1",
	[Q_TICKET_EVENTS] = "SELECT at, type, actor, old, new FROM events"
	    " WHERE ticket_id = ?1 ORDER BY id",
	[Q_COUNT_MESSAGES] = "SELECT count(*), coalesce(sum(flags != 0), 0)"
	    " FROM messages",
	[Q_TAG_REMOVE] = "DELETE FROM tags WHERE ticket_id = ?1 AND tag = ?2",
	[Q_TICKET_CUSTOMER] = "UPDATE tickets SET last_customer_at = ?2,"
	    " lang = coalesce(?3, lang) WHERE id = ?1",
	[Q_OUTBOX_ADD] = "INSERT OR IGNORE INTO outbox (ticket_id, kind,"
	    " to_addr, subject, headers, body, rule, message, dedupe,"
	    " next_at, created_at, out_message, while_status) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)",
	[Q_OUTBOX_LIST] = "SELECT " OUTBOX_COLS ", NULL, NULL FROM outbox o"
	    " WHERE ?1 IS NULL OR o.state = ?1 ORDER BY o.id",
	/* Open = not yet solved: what an agent still has to work on. */
	[Q_AGENT_OPEN] = "SELECT count(*) FROM tickets WHERE assignee = ?1"
	    " AND status IN ('new', 'open', 'pending')",
	[Q_AGENT_LAST] = "SELECT coalesce(max(id), 0) FROM events"
	    " WHERE type = 'assignee' AND new = ?1",
	[Q_RULE_FIRE] = "INSERT OR IGNORE INTO rule_fired (rule, ticket_id,"
	    " occurrence, at) VALUES (?1, ?2, ?3, ?4)",
	[Q_HORIZON_GET] = "SELECT upto FROM rule_horizon WHERE rule = ?1",
	[Q_HORIZON_SET] = "INSERT INTO rule_horizon (rule, upto) VALUES (?1, ?2)"
	    " ON CONFLICT (rule) DO UPDATE SET upto = excluded.upto",
	/* Range scans on an index each: only what came due since last time. */
	[Q_DUE_STATUS] = "SELECT id, status_at FROM tickets WHERE status = ?1"
	    " AND status_at > ?2 AND status_at <= ?3 ORDER BY status_at, id",
	[Q_DUE_CREATED] = "SELECT id, created_at FROM tickets"
	    " WHERE created_at > ?2 AND created_at <= ?3"
	    " AND (?1 IS NULL OR status = ?1) ORDER BY created_at, id",
	[Q_DUE_CUSTOMER] = "SELECT id, last_customer_at FROM tickets"
	    " WHERE last_customer_at > ?2 AND last_customer_at <= ?3"
	    " AND (?1 IS NULL OR status = ?1) ORDER BY last_customer_at, id",
	[Q_SET_SKILL] = "UPDATE tickets SET skill = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	/* One statement: two senders never claim the same row. */
	[Q_OUTBOX_CLAIM] = "UPDATE outbox SET state = 'sending',"
	    " claimed_at = ?1, attempts = attempts + 1 WHERE id = (SELECT id"
	    " FROM outbox WHERE state = 'queued' AND (?3 OR next_at <= ?1)"
	    " AND id > ?2 AND (?4 OR kind = 'webhook') ORDER BY id LIMIT 1)"
	    " RETURNING id",
	[Q_OUTBOX_GET] = "SELECT " OUTBOX_COLS ", m.from_addr, r.raw"
	    " FROM outbox o LEFT JOIN messages m ON m.id = o.out_message"
	    " LEFT JOIN raw_messages r ON r.message = o.out_message"
	    " WHERE o.id = ?1",
	[Q_OUTBOX_DONE] = "UPDATE outbox SET state = ?2, next_at = ?3,"
	    " last_error = ?4, claimed_at = NULL, sent_at = CASE WHEN ?2 ="
	    " 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1",
	/* A sender that died mid-row: once more, but never a third time. */
	[Q_OUTBOX_STALE_FAIL] = "UPDATE outbox SET state = 'failed',"
	    " claimed_at = NULL, last_error = 'interrupted twice while"
	    " sending; not tried again' WHERE state = 'sending'"
	    " AND claimed_at < ?1 AND interrupted",
	[Q_OUTBOX_STALE_REQUEUE] = "UPDATE outbox SET state = 'queued',"
	    " claimed_at = NULL, interrupted = 1, next_at = ?2,"
	    " last_error = 'interrupted while sending; it may go out twice'"
	    " WHERE state = 'sending' AND claimed_at < ?1",
	[Q_OUTBOX_RECENT] = "SELECT count(*) FROM outbox"
	    " WHERE to_addr = ?1 COLLATE NOCASE AND kind = ?2"
	    " AND created_at > ?3",
	[Q_OUTBOX_FIND_ID] = "SELECT id, coalesce(ticket_id, 0), to_addr"
	    " FROM outbox WHERE id = ?1",
	[Q_OUTBOX_FIND_MID] = "SELECT o.id, coalesce(o.ticket_id, 0),"
	    " o.to_addr FROM messages m JOIN outbox o ON o.out_message = m.id"
	    " WHERE m.message_id = ?1 AND m.direction = 'out'"
	    " ORDER BY o.id DESC LIMIT 1",
	[Q_BOUNCE_ADD] = "INSERT INTO bounced (address, at, ticket_id)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (address) DO UPDATE"
	    " SET at = excluded.at, ticket_id = excluded.ticket_id",
	[Q_BOUNCE_LAST] = "SELECT at FROM bounced WHERE address = ?1",
	[Q_OUTBOX_PENDING] = "SELECT EXISTS (SELECT 1 FROM outbox"
	    " WHERE state IN ('queued', 'sending'))",
	[Q_OUTBOX_LINK] = "UPDATE outbox SET out_message = ?2 WHERE id = ?1",
	[Q_LAST_IN_MID] = "SELECT message_id FROM messages"
	    " WHERE ticket_id = ?1 AND direction = 'in'"
	    " AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
	/*
	 * Reports: ?1 since, ?2 until (a half-open period), ?3 the mailbox
	 * (NULL: all). Each is one indexed aggregate; days are local, taken
	 * from quarter-hour groups so that the time zone is worked out once
	 * a group, not once a row.
	 */
	[Q_REP_BACKLOG] = "SELECT status, priority, coalesce(assignee, ''),"
	    " count(*) FROM tickets t WHERE status IN ('new', 'open', 'pending')"
	    " AND " REP_MAILBOX " GROUP BY 1, 2, 3",
	[Q_REP_OLDEST] = "SELECT id, created_at, subject FROM tickets t"
	    " WHERE status IN ('new', 'open', 'pending') AND " REP_MAILBOX
	    " ORDER BY created_at, id LIMIT 1",
	[Q_REP_CREATED] = "SELECT " REP_DAY ", mb, cat, sum(n) FROM"
	    " (SELECT created_at / 900 AS q, coalesce(mailbox, '') AS mb,"
	    "  coalesce(category, '') AS cat, count(*) AS n FROM tickets t"
	    "  WHERE created_at >= ?1 AND created_at < ?2 AND " REP_MAILBOX
	    "  GROUP BY 1, 2, 3) GROUP BY 1, 2, 3",
	/* Solved: into solved, or into closed from an unsolved status.
	 * Reopened: out of solved or closed. */
	[Q_REP_STATUS] = "SELECT " REP_DAY ", mb, cat, sum(s), sum(r) FROM"
	    " (SELECT e.at / 900 AS q, coalesce(t.mailbox, '') AS mb,"
	    "  coalesce(t.category, '') AS cat, sum(" REP_SOLVED ") AS s,"
	    "  sum(" REP_REOPEN ") AS r FROM events e"
	    "  JOIN tickets t ON t.id = e.ticket_id WHERE e.type = 'status'"
	    "  AND e.at >= ?1 AND e.at < ?2 AND " REP_MAILBOX
	    "  GROUP BY 1, 2, 3) GROUP BY 1, 2, 3",
	/*
	 * Response times, in three steps on a temporary table: per ticket
	 * created in the period, the first response (an agent's mail out,
	 * or a reply an agent queued; autoreplies are neither) and the
	 * first solve, with who did them; how many there are per
	 * dimension; then each metric's rows in order of time, which
	 * report.c reads once to find every group's ranks.
	 */
	[Q_REP_TIMES_FILL] = "INSERT INTO temp.rep_times"
	    " SELECT f.at - b.c, coalesce(f.actor, ''), r.at - b.c,"
	    "  coalesce(r.actor, ''), b.mb, b.cat FROM"
	    " (SELECT t.created_at AS c, coalesce(t.mailbox, '') AS mb,"
	    "  coalesce(t.category, '') AS cat,"
	    "  (SELECT min(id) FROM (SELECT e.id FROM events e"
	    "   WHERE e.ticket_id = t.id AND e.type = 'message'"
	    "   AND e.new = 'agent' AND EXISTS (SELECT 1 FROM messages m"
	    "    WHERE m.id = e.message AND m.direction = 'out')"
	    "   UNION ALL SELECT e.id FROM events e WHERE e.ticket_id = t.id"
	    "   AND e.type = 'queued' AND e.old = 'reply')) AS fr,"
	    "  (SELECT e.id FROM events e WHERE e.ticket_id = t.id AND"
	    "   e.type = 'status' AND e.new IN ('solved', 'closed')"
	    "   ORDER BY e.id LIMIT 1) AS rs"
	    " FROM tickets t WHERE t.created_at >= ?1 AND t.created_at < ?2"
	    " AND " REP_MAILBOX ") b"
	    " LEFT JOIN events f ON f.id = b.fr LEFT JOIN events r ON r.id = b.rs"
	    " WHERE f.id IS NOT NULL OR r.id IS NOT NULL",
	/* The finest groups, in one sort; report.c adds them up. */
	[Q_REP_TIMES_COUNT] = "SELECT frt IS NOT NULL, res IS NOT NULL, mb,"
	    " cat, fa, ra, count(*) FROM temp.rep_times GROUP BY 1, 2, 3, 4, 5, 6",
	[Q_REP_FRT_ROWS] = "SELECT frt, mb, cat, fa FROM temp.rep_times"
	    " WHERE frt IS NOT NULL ORDER BY frt",
	[Q_REP_RES_ROWS] = "SELECT res, mb, cat, ra FROM temp.rep_times"
	    " WHERE res IS NOT NULL ORDER BY res",
	/* One row: tickets created, their customers and the customers with
	 * more than one; tickets solved and reopened (distinct) and
	 * follow-ups opened, in the period. */
	[Q_REP_FLOW] = "SELECT c.n, c.customers, c.repeat, s.solved,"
	    " s.reopened, f.n FROM"
	    " (SELECT sum(n) AS n, count(requester) AS customers,"
	    "  coalesce(sum(n > 1 AND requester IS NOT NULL), 0) AS repeat"
	    "  FROM (SELECT requester, count(*) AS n FROM tickets t"
	    "  WHERE created_at >= ?1 AND created_at < ?2 AND " REP_MAILBOX
	    "  GROUP BY requester)) c,"
	    " (SELECT count(DISTINCT CASE WHEN " REP_SOLVED " THEN e.ticket_id"
	    "  END) AS solved, count(DISTINCT CASE WHEN " REP_REOPEN
	    "  THEN e.ticket_id END) AS reopened FROM events e"
	    "  WHERE e.type = 'status' AND e.at >= ?1 AND e.at < ?2"
	    "  AND " REP_EV_MAILBOX ") s,"
	    " (SELECT count(*) AS n FROM events e WHERE e.type = 'followup'"
	    "  AND e.at >= ?1 AND e.at < ?2"
	    "  AND e.new = CAST(e.ticket_id AS TEXT) AND " REP_EV_MAILBOX ") f",
	[Q_REP_CSAT] = "SELECT 'sent', '', count(*) FROM outbox o"
	    " JOIN tickets t ON t.id = o.ticket_id WHERE o.state = 'sent'"
	    " AND o.kind = 'csat' AND o.sent_at >= ?1 AND o.sent_at < ?2"
	    " AND " REP_MAILBOX
	    " UNION ALL SELECT 'rating', e.new, count(*) FROM events e"
	    " WHERE e.type = 'csat' AND e.at >= ?1 AND e.at < ?2"
	    " AND " REP_EV_MAILBOX " GROUP BY e.new",
	[Q_REP_AUTOREPLY] = "SELECT 'sent', '', count(*) FROM outbox o"
	    " JOIN tickets t ON t.id = o.ticket_id WHERE o.state = 'sent'"
	    " AND o.kind = 'autoreply' AND o.sent_at >= ?1 AND o.sent_at < ?2"
	    " AND " REP_MAILBOX
	    " UNION ALL SELECT 'suppressed', e.new, count(*) FROM events e"
	    " WHERE e.type = 'autoreply_suppressed' AND e.old = 'autoreply'"
	    " AND e.at >= ?1 AND e.at < ?2 AND " REP_EV_MAILBOX " GROUP BY e.new",
	[Q_CUSTOMER_WROTE] = "SELECT EXISTS (SELECT 1 FROM messages"
	    " WHERE ticket_id = ?1 AND direction = 'in' AND kind = 'customer'"
	    " AND from_addr = ?2 COLLATE NOCASE)",
	[Q_IMAP_GET] = "SELECT uidvalidity, last_uid, acted_uid FROM imap_state"
	    " WHERE account = ?1 AND folder = ?2",
	[Q_IMAP_SET] = "INSERT INTO imap_state (account, folder, uidvalidity,"
	    " last_uid, acted_uid) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (account, folder) DO UPDATE"
	    " SET uidvalidity = excluded.uidvalidity,"
	    " last_uid = excluded.last_uid, acted_uid = excluded.acted_uid",
	[Q_IMAP_SKIP] = "INSERT OR REPLACE INTO imap_skipped (account, folder,"
	    " uidvalidity, uid, size, reason, at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_IMAP_SKIPPED] = "SELECT uid FROM imap_skipped WHERE account = ?1"
	    " AND folder = ?2 AND uidvalidity = ?3 AND uid BETWEEN ?4 AND ?5"
	    " ORDER BY uid",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[Q__COUNT];
	char		*errmsg;
	int		 threaded;	/* STORE_THREADED */
	int		 writing;	/* holds writer_lock */
};

/* The turn of STORE_THREADED handles at a write transaction. */
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

static void
writer_done(struct store *s)
{
	if (s->writing) {
		s->writing = 0;
		pthread_mutex_unlock(&writer_lock);
	}
}

static void
seterr(struct store *s, const char *what)
{
	free(s->errmsg);
	s->errmsg = xasprintf("%s: %s", what,
	    s->db ? sqlite3_errmsg(s->db) : "no database");
}

static enum tk_status
status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return TK_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return TK_ETEMP;
	case SQLITE_CONSTRAINT:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
	case SQLITE_PERM:
		return TK_EPERM;
	case SQLITE_TOOBIG:
		return TK_ELIMIT;
	default:
		return TK_EIO;
	}
}

/* Returns the reset, unbound cached statement for id. */
static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	if (s->stmt[id] == NULL &&
	    sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	    &s->stmt[id], NULL) != SQLITE_OK) {
		seterr(s, "prepare");
		return NULL;
	}
	return s->stmt[id];
}

static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no rows; resets it. */
static enum tk_status
run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	enum tk_status ts = status_of(rc);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		seterr(s, what);
	done(st);
	return ts;
}

static enum tk_status
exec_plain(struct store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		seterr(s, what);
		return status_of(sqlite3_errcode(s->db));
	}
	return TK_OK;
}

static int
user_version(struct store *s)
{
	sqlite3_stmt *st;
	int version = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

static enum tk_status
migrate(struct store *s)
{
	enum tk_status ts;
	int version;

	/* The common case takes no write lock. */
	if (user_version(s) == SCHEMA_VERSION)
		return TK_OK;
	if ((ts = exec_plain(s, "BEGIN IMMEDIATE", "begin")) != TK_OK)
		return ts;
	/* Read again under the lock: another process may have migrated. */
	if ((version = user_version(s)) < 0) {
		seterr(s, "user_version");
		ts = TK_EIO;
		goto fail;
	}
	if (version > SCHEMA_VERSION) {
		free(s->errmsg);
		s->errmsg = xasprintf("database schema %d is newer than this "
		    "tiketti (%d)", version, SCHEMA_VERSION);
		ts = TK_EPERM;
		goto fail;
	}
	if (version < 1 && (ts = exec_plain(s, schema_v1, "schema")) != TK_OK)
		goto fail;
	/* Forward migrations: one block per version. */
	if (version < 2 && (ts = exec_plain(s, schema_v2, "schema 2")) != TK_OK)
		goto fail;
	if (version < 3 && (ts = exec_plain(s, schema_v3, "schema 3")) != TK_OK)
		goto fail;
	if (version < 4 && (ts = exec_plain(s, schema_v4, "schema 4")) != TK_OK)
		goto fail;
	if (version < 5 && (ts = exec_plain(s, schema_v5, "schema 5")) != TK_OK)
		goto fail;
	if (version < 6 && (ts = exec_plain(s, schema_v6, "schema 6")) != TK_OK)
		goto fail;
	if (version < 7 && (ts = exec_plain(s, schema_v7, "schema 7")) != TK_OK)
		goto fail;
	if ((ts = exec_plain(s, "PRAGMA user_version = 7", "user_version")) !=
	    TK_OK)
		goto fail;
	return exec_plain(s, "COMMIT", "commit");
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ts != TK_OK ? ts : TK_EIO;
}

/*
 * The WAL's writes, gathered. SQLite writes each WAL frame as two
 * write()s, its 24-byte header and then the page: some thirty system
 * calls for a message's commit. A WAL file opened through this VFS (the
 * default one, with xOpen wrapped) keeps consecutive writes in a buffer
 * of about a message's frames and gives them to the file as one write
 * when SQLite syncs it, reads it, asks its size, truncates it or closes
 * it, or when a write is not the next byte or the buffer is full. Every
 * commit syncs the WAL (synchronous = FULL, set by store_open for every
 * connection that writes), and SQLite makes a commit visible to other
 * connections only after that sync, so no reader sees a frame still in
 * the buffer. A write error comes back from the sync instead, and fails
 * the commit. A transaction too big for the page cache writes frames
 * before its commit; when it is rolled back instead, what of them is
 * still in the buffer is dropped (wal_forget, the connection's rollback
 * hook, and at close): written later, it would land over frames another
 * connection has committed since. (Rolled back to a savepoint and then
 * committed, the transaction writes page 1 at least, which sends the
 * buffer ahead of it while the write lock is still held.) Other files
 * are the default VFS's own.
 */
#define WAL_BUF	(124 * 1024)	/* the unix VFS writes < 128 KiB a call */

struct walfile {
	sqlite3_file	 base;		/* pMethods = &wal_io */
	char		*buf;
	size_t		 len;
	sqlite3_int64	 off;		/* of buf[0] in the file */
	/* the default VFS's file follows, szOsFile bytes */
};

static sqlite3_vfs *vfs_default;
static sqlite3_vfs vfs_wal;
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;

static sqlite3_file *
wal_real(sqlite3_file *f)
{
	return (sqlite3_file *)((struct walfile *)f + 1);
}

static int
wal_flush(sqlite3_file *f)
{
	struct walfile *w = (struct walfile *)f;
	sqlite3_file *r = wal_real(f);
	int rc = SQLITE_OK;

	if (w->len > 0)
		rc = r->pMethods->xWrite(r, w->buf, (int)w->len, w->off);
	w->len = 0;
	return rc;
}

static int
wal_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct walfile *w = (struct walfile *)f;
	sqlite3_file *r = wal_real(f);
	int rc;

	if (w->len > 0 && (off != w->off + (sqlite3_int64)w->len ||
	    w->len + (size_t)n > WAL_BUF) && (rc = wal_flush(f)) != SQLITE_OK)
		return rc;
	if (w->buf == NULL && n <= WAL_BUF)
		w->buf = malloc(WAL_BUF);
	if (w->buf == NULL || n > WAL_BUF)
		return r->pMethods->xWrite(r, p, n, off);
	if (w->len == 0)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)n);
	w->len += (size_t)n;
	return SQLITE_OK;
}

/* A commit leaves the buffer empty: what is left at close was rolled back. */
static int
wal_close(sqlite3_file *f)
{
	sqlite3_file *r = wal_real(f);

	free(((struct walfile *)f)->buf);
	return r->pMethods->xClose(r);
}

static int
wal_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	sqlite3_file *r = wal_real(f);
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : r->pMethods->xRead(r, p, n, off);
}

static int
wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = wal_real(f);
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : r->pMethods->xTruncate(r, size);
}

static int
wal_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = wal_real(f);
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : r->pMethods->xSync(r, flags);
}

static int
wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = wal_real(f);
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : r->pMethods->xFileSize(r, size);
}

static int
wal_lock(sqlite3_file *f, int lock)
{
	return wal_real(f)->pMethods->xLock(wal_real(f), lock);
}

static int
wal_unlock(sqlite3_file *f, int lock)
{
	return wal_real(f)->pMethods->xUnlock(wal_real(f), lock);
}

static int
wal_reserved(sqlite3_file *f, int *out)
{
	return wal_real(f)->pMethods->xCheckReservedLock(wal_real(f), out);
}

static int
wal_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = wal_real(f);
	int rc = wal_flush(f);

	return rc != SQLITE_OK ? rc : r->pMethods->xFileControl(r, op, arg);
}

static int
wal_sector(sqlite3_file *f)
{
	return wal_real(f)->pMethods->xSectorSize(wal_real(f));
}

static int
wal_device(sqlite3_file *f)
{
	return wal_real(f)->pMethods->xDeviceCharacteristics(wal_real(f));
}

/* Version 1: SQLite maps no shared memory and fetches no pages of a WAL. */
static const sqlite3_io_methods wal_io = {
	1, wal_close, wal_read, wal_write, wal_truncate, wal_sync, wal_size,
	wal_lock, wal_unlock, wal_reserved, wal_control, wal_sector,
	wal_device, NULL, NULL, NULL, NULL, NULL, NULL
};

static int
wal_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f,
    int flags, int *outflags)
{
	struct walfile *w = (struct walfile *)f;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return vfs_default->xOpen(vfs_default, name, f, flags,
		    outflags);
	memset(w, 0, sizeof(*w));
	rc = vfs_default->xOpen(vfs_default, name, wal_real(f), flags,
	    outflags);
	if (rc == SQLITE_OK)
		w->base.pMethods = &wal_io;
	return rc;
}

/* The rollback hook: the rolled-back transaction's frames, dropped. */
static void
wal_forget(void *db)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &f) == SQLITE_OK && f != NULL && f->pMethods == &wal_io)
		((struct walfile *)f)->len = 0;
}

/* The default VFS with xOpen wrapped; its other methods are its own. */
static void
vfs_register(void)
{
	vfs_default = sqlite3_vfs_find(NULL);
	vfs_wal = *vfs_default;
	vfs_wal.zName = "tiketti";
	vfs_wal.szOsFile = (int)sizeof(struct walfile) + vfs_default->szOsFile;
	vfs_wal.pNext = NULL;
	vfs_wal.xOpen = wal_open;
	sqlite3_vfs_register(&vfs_wal, 0);
}

enum tk_status
store_open(const char *path, long long busy_timeout, int flags,
    struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int oflags = (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	enum tk_status ts;

	*out = s;
	s->threaded = (flags & STORE_THREADED) != 0;
	pthread_once(&vfs_once, vfs_register);
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX,
	    vfs_wal.zName) != SQLITE_OK) {
		seterr(s, path);
		return status_of(s->db ? sqlite3_errcode(s->db) : SQLITE_CANTOPEN);
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, (int)(busy_timeout * 1000));
	sqlite3_rollback_hook(s->db, wal_forget, s->db);
	if (flags & STORE_READONLY)
		return exec_plain(s, "PRAGMA foreign_keys = ON", "pragma");
	/* temp_store: a batch's savepoint journals (a message's pages,
	 * some hundred KiB) in memory, not a temporary file made and
	 * unlinked for each message. The read-only connections (reports,
	 * with their big sorts) keep temporary files. */
	if ((ts = exec_plain(s, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;", "pragma")) != TK_OK)
		return ts;
	return migrate(s);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	writer_done(s);
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->errmsg);
	free(s);
}

const char *
store_path(const struct store *s)
{
	const char *p = s->db ? sqlite3_db_filename(s->db, "main") : NULL;

	return p ? p : "";
}

const char *
store_errmsg(const struct store *s)
{
	return s && s->errmsg ? s->errmsg : "no error";
}

static enum tk_status
simple(struct store *s, enum stmt_id id, const char *what)
{
	sqlite3_stmt *st = stmt(s, id);

	return st ? run(s, st, what) : TK_EIO;
}

enum tk_status
store_begin(struct store *s)
{
	enum tk_status ts;

	if (s->threaded && !s->writing) {
		pthread_mutex_lock(&writer_lock);
		s->writing = 1;
	}
	if ((ts = simple(s, Q_BEGIN, "begin")) != TK_OK)
		writer_done(s);
	return ts;
}

/* A commit that fails rolls back: the transaction always ends here. */
enum tk_status
store_commit(struct store *s)
{
	enum tk_status ts = simple(s, Q_COMMIT, "commit");

	if (ts != TK_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	writer_done(s);
	return ts;
}

enum tk_status store_savepoint(struct store *s) { return simple(s, Q_SAVEPOINT, "savepoint"); }
enum tk_status store_release(struct store *s) { return simple(s, Q_RELEASE, "release"); }

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		simple(s, Q_ROLLBACK, "rollback");
	writer_done(s);
}

void
store_rollback_savepoint(struct store *s)
{
	simple(s, Q_ROLLBACK_TO, "rollback to");
	simple(s, Q_RELEASE, "release");
}

enum tk_status
store_message_find(struct store *s, const char *key, int *found,
    int64_t *row, int64_t *ticket)
{
	sqlite3_stmt *st = stmt(s, Q_MSG_FIND);
	int rc;

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found) {
		*row = sqlite3_column_int64(st, 0);
		*ticket = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		seterr(s, "find message");
	done(st);
	return status_of(rc);
}

enum tk_status
store_ticket_by_message_id(struct store *s, const char *mid, int64_t *ticket)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_BY_MID);
	int rc;

	*ticket = 0;
	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, mid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ticket = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		seterr(s, "find message-id");
	done(st);
	return status_of(rc);
}

static void
bind_id(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

enum tk_status
store_message_insert(struct store *s, const struct store_message *m,
    int64_t *row)
{
	sqlite3_stmt *st = stmt(s, Q_MSG_INSERT);
	enum tk_status ts;

	if (st == NULL)
		return TK_EIO;
	bind_id(st, 1, m->ticket);
	bind_text(st, 2, m->dedupe_key);
	bind_text(st, 3, m->message_id);
	bind_text(st, 4, m->direction);
	bind_text(st, 5, m->kind);
	bind_text(st, 6, m->from_addr);
	bind_text(st, 7, m->from_name);
	bind_text(st, 8, m->subject);
	bind_id(st, 9, m->date);
	sqlite3_bind_int64(st, 10, m->received_at);
	bind_text(st, 11, m->mailbox);
	sqlite3_bind_int(st, 12, m->flags);
	bind_text(st, 13, m->body);
	bind_text(st, 14, m->sha256);
	bind_text(st, 15, m->new_text);
	if ((ts = run(s, st, "insert message")) != TK_OK)
		return ts;
	*row = sqlite3_last_insert_rowid(s->db);
	if ((st = stmt(s, Q_RAW_INSERT)) == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, *row);
	sqlite3_bind_blob64(st, 2, m->raw ? m->raw : "", m->rawlen, SQLITE_STATIC);
	return run(s, st, "insert raw message");
}

enum tk_status
store_attachment_add(struct store *s, int64_t msgrow, const char *name,
    const char *type, int64_t size, const char *sha256)
{
	sqlite3_stmt *st = stmt(s, Q_ATT_INSERT);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, msgrow);
	bind_text(st, 2, name);
	bind_text(st, 3, type);
	sqlite3_bind_int64(st, 4, size);
	bind_text(st, 5, sha256);
	return run(s, st, "insert attachment");
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? xstrdup((const char *)v) : NULL;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Fills t from a row of TICKET_COLS; strings are copies. */
static void
ticket_from_row(sqlite3_stmt *st, struct store_ticket *t)
{
	t->id = sqlite3_column_int64(st, 0);
	t->subject = col_dup(st, 1);
	t->status = col_dup(st, 2);
	t->priority = col_dup(st, 3);
	t->category = col_dup(st, 4);
	t->requester = col_dup(st, 5);
	t->requester_name = col_dup(st, 6);
	t->assignee = col_dup(st, 7);
	t->mailbox = col_dup(st, 8);
	t->parent = sqlite3_column_int64(st, 9);
	t->created_at = sqlite3_column_int64(st, 10);
	t->updated_at = sqlite3_column_int64(st, 11);
	t->status_at = sqlite3_column_int64(st, 12);
	t->nmessages = sqlite3_column_int64(st, 13);
	t->tags = col_dup(st, 14);
	t->last_customer_at = sqlite3_column_int64(st, 15);
	t->lang = col_dup(st, 16);
	t->skill = col_dup(st, 17);
	t->csat = sqlite3_column_int(st, 18);
}

void
store_ticket_clear(struct store_ticket *t)
{
	free(t->subject);
	free(t->status);
	free(t->priority);
	free(t->category);
	free(t->requester);
	free(t->requester_name);
	free(t->assignee);
	free(t->mailbox);
	free(t->tags);
	free(t->lang);
	free(t->skill);
	memset(t, 0, sizeof(*t));
}

enum tk_status
store_ticket_get(struct store *s, int64_t id, struct store_ticket *t,
    int *found)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_GET);
	int rc;

	memset(t, 0, sizeof(*t));
	*found = 0;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ticket_from_row(st, t);
		*found = 1;
	} else if (rc != SQLITE_DONE)
		seterr(s, "get ticket");
	done(st);
	return status_of(rc);
}

enum tk_status
store_ticket_insert(struct store *s, struct store_ticket *t)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_INSERT);
	enum tk_status ts;

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, t->subject ? t->subject : "");
	bind_text(st, 2, t->status ? t->status : "new");
	bind_text(st, 3, t->priority ? t->priority : "normal");
	bind_text(st, 4, t->requester);
	bind_text(st, 5, t->requester_name);
	bind_text(st, 6, t->mailbox);
	bind_id(st, 7, t->parent);
	sqlite3_bind_int64(st, 8, t->created_at);
	if ((ts = run(s, st, "insert ticket")) == TK_OK)
		t->id = sqlite3_last_insert_rowid(s->db);
	return ts;
}

enum tk_status
store_ticket_set(struct store *s, int64_t id, const char *field,
    const char *value, int64_t now)
{
	static const struct { const char *name; enum stmt_id q; } fields[] = {
		{ "status", Q_SET_STATUS }, { "priority", Q_SET_PRIORITY },
		{ "category", Q_SET_CATEGORY }, { "assignee", Q_SET_ASSIGNEE },
		{ "skill", Q_SET_SKILL },
	};
	sqlite3_stmt *st = NULL;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, field) == 0)
			st = stmt(s, fields[i].q);
	if (st == NULL) {
		free(s->errmsg);
		s->errmsg = xasprintf("no ticket field \"%s\"", field);
		return TK_EPERM;
	}
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, value);
	sqlite3_bind_int64(st, 3, now);
	return run(s, st, "update ticket");
}

enum tk_status
store_ticket_touch(struct store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_TOUCH);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return run(s, st, "touch ticket");
}

static enum tk_status
id_text(struct store *s, enum stmt_id q, int64_t id, const char *v,
    const char *what)
{
	sqlite3_stmt *st = stmt(s, q);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, v);
	return run(s, st, what);
}

enum tk_status
store_participant_add(struct store *s, int64_t ticket, const char *addr)
{
	return id_text(s, Q_PART_ADD, ticket, addr, "add participant");
}

enum tk_status
store_tag_add(struct store *s, int64_t ticket, const char *tag)
{
	return id_text(s, Q_TAG_ADD, ticket, tag, "add tag");
}

enum tk_status
store_participant_is(struct store *s, int64_t ticket, const char *addr,
    int *yes)
{
	sqlite3_stmt *st = stmt(s, Q_PART_IS);
	int rc;

	*yes = 0;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	bind_text(st, 2, addr);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		seterr(s, "participant");
	done(st);
	return status_of(rc);
}

enum tk_status
store_event_add(struct store *s, int64_t ticket, int64_t at, const char *type,
    const char *actor, const char *old, const char *new_, int64_t msgrow)
{
	sqlite3_stmt *st = stmt(s, Q_EVENT_ADD);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, type);
	bind_text(st, 4, actor);
	bind_text(st, 5, old);
	bind_text(st, 6, new_);
	bind_id(st, 7, msgrow);
	return run(s, st, "add event");
}

/* Steps a query to its end; each row goes to row(st, fn, arg). */
static enum tk_status
each(struct store *s, sqlite3_stmt *st, const char *what,
    int (*row)(sqlite3_stmt *, void *, void *), void *fn, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, fn, arg))
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		seterr(s, what);
	done(st);
	return status_of(rc);
}

static int
ticket_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_ticket *, void *) =
	    (int (*)(const struct store_ticket *, void *))fn;
	struct store_ticket t;
	int rv;

	ticket_from_row(st, &t);
	rv = cb(&t, arg);
	store_ticket_clear(&t);
	return rv;
}

enum tk_status
store_ticket_list(struct store *s, const char *status,
    int (*fn)(const struct store_ticket *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, status ? Q_TICKET_LIST_STATUS : Q_TICKET_LIST);

	if (st == NULL)
		return TK_EIO;
	if (status)
		bind_text(st, 1, status);
	return each(s, st, "list tickets", ticket_row, (void *)fn, arg);
}

static int
msg_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_msginfo *, void *) =
	    (int (*)(const struct store_msginfo *, void *))fn;
	struct store_msginfo m = {
		.message_id = col(st, 0), .from_addr = col(st, 1),
		.direction = col(st, 2), .kind = col(st, 3),
		.subject = col(st, 4), .date = sqlite3_column_int64(st, 5),
		.flags = sqlite3_column_int(st, 6),
		.id = sqlite3_column_int64(st, 7), .text = col(st, 8),
		.new_text = col(st, 9),
	};

	return cb(&m, arg);
}

static int
att_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_attachment *, void *) =
	    (int (*)(const struct store_attachment *, void *))fn;
	struct store_attachment a = {
		.name = col(st, 0), .type = col(st, 1),
		.size = sqlite3_column_int64(st, 2), .sha256 = col(st, 3),
	};

	return cb(&a, arg);
}

enum tk_status
store_message_attachments(struct store *s, int64_t message,
    int (*fn)(const struct store_attachment *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_MSG_ATTACHMENTS);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, message);
	return each(s, st, "list attachments", att_row, (void *)fn, arg);
}

enum tk_status
store_message_raw(struct store *s, int64_t message, struct buf *out,
    int *found)
{
	sqlite3_stmt *st = stmt(s, Q_MSG_RAW);
	int rc;

	*found = 0;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, message);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = 1;
		if (buf_add(out, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) != TK_OK) {
			done(st);
			free(s->errmsg);
			s->errmsg = xstrdup("raw message over the buffer's cap");
			return TK_ELIMIT;
		}
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		seterr(s, "read raw message");
	done(st);
	return status_of(rc);
}

enum tk_status
store_ticket_messages(struct store *s, int64_t ticket,
    int (*fn)(const struct store_msginfo *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_MESSAGES);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	return each(s, st, "list messages", msg_row, (void *)fn, arg);
}

static int
event_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_event *, void *) =
	    (int (*)(const struct store_event *, void *))fn;
	struct store_event e = {
		.at = sqlite3_column_int64(st, 0), .type = col(st, 1),
		.actor = col(st, 2), .old = col(st, 3), .new_ = col(st, 4),
	};

	return cb(&e, arg);
}

enum tk_status
store_ticket_events(struct store *s, int64_t ticket,
    int (*fn)(const struct store_event *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_EVENTS);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	return each(s, st, "list events", event_row, (void *)fn, arg);
}

enum tk_status
store_count_messages(struct store *s, int64_t *all, int64_t *flagged)
{
	sqlite3_stmt *st = stmt(s, Q_COUNT_MESSAGES);
	int rc;

	if (st == NULL)
		return TK_EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*all = sqlite3_column_int64(st, 0);
		*flagged = sqlite3_column_int64(st, 1);
	} else
		seterr(s, "count");
	done(st);
	return status_of(rc);
}

enum tk_status
store_tag_remove(struct store *s, int64_t ticket, const char *tag)
{
	return id_text(s, Q_TAG_REMOVE, ticket, tag, "remove tag");
}

enum tk_status
store_ticket_customer(struct store *s, int64_t ticket, int64_t at,
    const char *lang)
{
	sqlite3_stmt *st = stmt(s, Q_TICKET_CUSTOMER);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, lang);
	return run(s, st, "customer time");
}

enum tk_status
store_outbox_add(struct store *s, const struct store_outbox *o, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_ADD);
	enum tk_status ts;

	*id = 0;
	if (st == NULL)
		return TK_EIO;
	bind_id(st, 1, o->ticket);
	bind_text(st, 2, o->kind);
	bind_text(st, 3, o->to);
	bind_text(st, 4, o->subject);
	bind_text(st, 5, o->headers);
	bind_text(st, 6, o->body);
	bind_text(st, 7, o->rule);
	bind_id(st, 8, o->message);
	bind_text(st, 9, o->dedupe);
	sqlite3_bind_int64(st, 10, o->created_at);
	bind_id(st, 11, o->out_message);
	bind_text(st, 12, o->while_status);
	if ((ts = run(s, st, "queue outbox")) == TK_OK &&
	    sqlite3_changes(s->db) > 0)
		*id = sqlite3_last_insert_rowid(s->db);
	return ts;
}

static int
outbox_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_outbox *, void *) =
	    (int (*)(const struct store_outbox *, void *))fn;
	struct store_outbox o = {
		.id = sqlite3_column_int64(st, 0),
		.ticket = sqlite3_column_int64(st, 1),
		.kind = col(st, 2), .to = col(st, 3), .subject = col(st, 4),
		.headers = col(st, 5), .body = col(st, 6), .rule = col(st, 7),
		.state = col(st, 8), .attempts = sqlite3_column_int64(st, 9),
		.next_at = sqlite3_column_int64(st, 10),
		.last_error = col(st, 11),
		.created_at = sqlite3_column_int64(st, 12),
		.sent_at = sqlite3_column_int64(st, 13),
		.out_message = sqlite3_column_int64(st, 14),
		.while_status = col(st, 15),
		.ticket_status = col(st, 16),
		.from = col(st, 17),
		.raw = sqlite3_column_blob(st, 18),
		.rawlen = (size_t)sqlite3_column_bytes(st, 18),
	};

	return cb(&o, arg);
}

enum tk_status
store_outbox_list(struct store *s, const char *state,
    int (*fn)(const struct store_outbox *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_LIST);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, state);
	return each(s, st, "list outbox", outbox_row, (void *)fn, arg);
}

/* One integer from a query bound to one text value. */
/* Steps a bound statement for one integer (its first column), resets it. */
static enum tk_status
step_int(struct store *s, sqlite3_stmt *st, int64_t *out, int *found,
    const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		if (found)
			*found = 1;
	} else if (rc != SQLITE_DONE)
		seterr(s, what);
	done(st);
	return status_of(rc);
}

static enum tk_status
int_by_text(struct store *s, enum stmt_id q, const char *v, int64_t *out,
    int *found, const char *what)
{
	sqlite3_stmt *st = stmt(s, q);

	*out = 0;
	if (found)
		*found = 0;
	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, v);
	return step_int(s, st, out, found, what);
}

enum tk_status
store_agent_load(struct store *s, const char *agent, int64_t *open,
    int64_t *last_assigned)
{
	enum tk_status ts;

	if ((ts = int_by_text(s, Q_AGENT_OPEN, agent, open, NULL,
	    "agent load")) != TK_OK)
		return ts;
	return int_by_text(s, Q_AGENT_LAST, agent, last_assigned, NULL,
	    "agent load");
}

enum tk_status
store_rule_fire(struct store *s, const char *rule, int64_t ticket,
    int64_t occurrence, int64_t now, int *fresh)
{
	sqlite3_stmt *st = stmt(s, Q_RULE_FIRE);
	enum tk_status ts;

	*fresh = 0;
	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, rule);
	sqlite3_bind_int64(st, 2, ticket);
	sqlite3_bind_int64(st, 3, occurrence);
	sqlite3_bind_int64(st, 4, now);
	if ((ts = run(s, st, "rule fired")) == TK_OK)
		*fresh = sqlite3_changes(s->db) > 0;
	return ts;
}

enum tk_status
store_horizon_get(struct store *s, const char *rule, int64_t *upto,
    int *found)
{
	return int_by_text(s, Q_HORIZON_GET, rule, upto, found, "horizon");
}

enum tk_status
store_horizon_set(struct store *s, const char *rule, int64_t upto)
{
	sqlite3_stmt *st = stmt(s, Q_HORIZON_SET);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, rule);
	sqlite3_bind_int64(st, 2, upto);
	return run(s, st, "horizon");
}

static int
due_row(sqlite3_stmt *st, void *fn, void *arg)
{
	int (*cb)(int64_t, int64_t, void *) = (int (*)(int64_t, int64_t,
	    void *))fn;

	return cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), arg);
}

enum tk_status
store_tickets_due(struct store *s, enum store_since since, const char *status,
    int64_t after, int64_t upto, int (*fn)(int64_t, int64_t, void *),
    void *arg)
{
	static const enum stmt_id q[] = {
		[STORE_SINCE_STATUS] = Q_DUE_STATUS,
		[STORE_SINCE_CREATED] = Q_DUE_CREATED,
		[STORE_SINCE_CUSTOMER] = Q_DUE_CUSTOMER,
	};
	sqlite3_stmt *st = stmt(s, q[since]);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, status);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, upto);
	return each(s, st, "due tickets", due_row, (void *)fn, arg);
}

enum tk_status
store_outbox_recover(struct store *s, int64_t stale_before, int64_t now,
    int64_t *requeued, int64_t *failed)
{
	sqlite3_stmt *st;
	enum tk_status ts;

	*requeued = *failed = 0;
	if ((st = stmt(s, Q_OUTBOX_STALE_FAIL)) == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, stale_before);
	if ((ts = run(s, st, "recover outbox")) != TK_OK)
		return ts;
	*failed = sqlite3_changes(s->db);
	if ((st = stmt(s, Q_OUTBOX_STALE_REQUEUE)) == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, stale_before);
	sqlite3_bind_int64(st, 2, now);
	if ((ts = run(s, st, "recover outbox")) == TK_OK)
		*requeued = sqlite3_changes(s->db);
	return ts;
}

enum tk_status
store_outbox_claim(struct store *s, int64_t now, int64_t after, int force,
    int mail, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_CLAIM);
	int rc;

	*id = 0;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, force != 0);
	sqlite3_bind_int(st, 4, mail != 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);	/* finish the UPDATE */
	}
	if (rc != SQLITE_DONE)
		seterr(s, "claim outbox row");
	done(st);
	return status_of(rc);
}

enum tk_status
store_outbox_get(struct store *s, int64_t id,
    int (*fn)(const struct store_outbox *, void *), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_GET);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	return each(s, st, "get outbox row", outbox_row, (void *)fn, arg);
}

enum tk_status
store_outbox_done(struct store *s, int64_t id, const char *state,
    int64_t next_at, const char *error, int64_t now)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_DONE);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, state);
	sqlite3_bind_int64(st, 3, next_at);
	bind_text(st, 4, error);
	sqlite3_bind_int64(st, 5, now);
	return run(s, st, "mark outbox row");
}

enum tk_status
store_outbox_recent(struct store *s, const char *to, const char *kind,
    int64_t since, int64_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_RECENT);
	int rc;

	*n = 0;
	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, to);
	bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, since);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		seterr(s, "count recent mail");
	done(st);
	return status_of(rc);
}

enum tk_status
store_outbox_find(struct store *s, int64_t id, const char *mid, int64_t *row,
    int64_t *ticket, char **to)
{
	sqlite3_stmt *st = stmt(s, mid ? Q_OUTBOX_FIND_MID : Q_OUTBOX_FIND_ID);
	int rc;

	*row = *ticket = 0;
	*to = NULL;
	if (st == NULL)
		return TK_EIO;
	if (mid)
		bind_text(st, 1, mid);
	else
		sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*row = sqlite3_column_int64(st, 0);
		*ticket = sqlite3_column_int64(st, 1);
		*to = col_dup(st, 2);
	} else if (rc != SQLITE_DONE)
		seterr(s, "find outbox row");
	done(st);
	return status_of(rc);
}

enum tk_status
store_bounce_add(struct store *s, const char *addr, int64_t at,
    int64_t ticket)
{
	sqlite3_stmt *st = stmt(s, Q_BOUNCE_ADD);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, addr);
	sqlite3_bind_int64(st, 2, at);
	bind_id(st, 3, ticket);
	return run(s, st, "record bounce");
}

enum tk_status
store_bounce_last(struct store *s, const char *addr, int64_t *at)
{
	return int_by_text(s, Q_BOUNCE_LAST, addr, at, NULL, "bounce");
}

enum tk_status
store_ticket_last_mid(struct store *s, int64_t ticket, char **mid)
{
	sqlite3_stmt *st = stmt(s, Q_LAST_IN_MID);
	int rc;

	*mid = NULL;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*mid = col_dup(st, 0);
	else if (rc != SQLITE_DONE)
		seterr(s, "last message-id");
	done(st);
	return status_of(rc);
}

enum tk_status
store_outbox_link(struct store *s, int64_t id, int64_t msgrow)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_LINK);

	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, msgrow);
	return run(s, st, "link outbox mail");
}

enum tk_status
store_customer_wrote(struct store *s, int64_t ticket, const char *addr,
    int *yes)
{
	sqlite3_stmt *st = stmt(s, Q_CUSTOMER_WROTE);
	int64_t v = 0;
	enum tk_status ts;

	*yes = 0;
	if (st == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, ticket);
	bind_text(st, 2, addr);
	ts = step_int(s, st, &v, NULL, "customer mail");
	*yes = v != 0;
	return ts;
}

enum tk_status
store_outbox_pending(struct store *s, int *yes)
{
	sqlite3_stmt *st = stmt(s, Q_OUTBOX_PENDING);
	int64_t v = 0;
	enum tk_status ts;

	*yes = 0;
	if (st == NULL)
		return TK_EIO;
	ts = step_int(s, st, &v, NULL, "outbox pending");
	*yes = v != 0;
	return ts;
}

enum tk_status
store_imap_get(struct store *s, const char *account, const char *folder,
    struct store_imap *state)
{
	sqlite3_stmt *st = stmt(s, Q_IMAP_GET);
	int rc;

	memset(state, 0, sizeof(*state));
	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, account);
	bind_text(st, 2, folder);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		state->uidvalidity = sqlite3_column_int64(st, 0);
		state->last_uid = sqlite3_column_int64(st, 1);
		state->acted_uid = sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE)
		seterr(s, "imap state");
	done(st);
	return status_of(rc);
}

enum tk_status
store_imap_set(struct store *s, const char *account, const char *folder,
    const struct store_imap *state)
{
	sqlite3_stmt *st = stmt(s, Q_IMAP_SET);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, account);
	bind_text(st, 2, folder);
	sqlite3_bind_int64(st, 3, state->uidvalidity);
	sqlite3_bind_int64(st, 4, state->last_uid);
	sqlite3_bind_int64(st, 5, state->acted_uid);
	return run(s, st, "imap state");
}

enum tk_status
store_imap_skip(struct store *s, const char *account, const char *folder,
    int64_t uidvalidity, int64_t uid, int64_t size, const char *reason,
    int64_t at)
{
	sqlite3_stmt *st = stmt(s, Q_IMAP_SKIP);

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, account);
	bind_text(st, 2, folder);
	sqlite3_bind_int64(st, 3, uidvalidity);
	sqlite3_bind_int64(st, 4, uid);
	sqlite3_bind_int64(st, 5, size);
	bind_text(st, 6, reason);
	sqlite3_bind_int64(st, 7, at);
	return run(s, st, "imap skipped");
}

enum tk_status
store_imap_skipped(struct store *s, const char *account, const char *folder,
    int64_t uidvalidity, int64_t from, int64_t to,
    int (*fn)(int64_t uid, void *arg), void *arg)
{
	sqlite3_stmt *st = stmt(s, Q_IMAP_SKIPPED);
	int rc;

	if (st == NULL)
		return TK_EIO;
	bind_text(st, 1, account);
	bind_text(st, 2, folder);
	sqlite3_bind_int64(st, 3, uidvalidity);
	sqlite3_bind_int64(st, 4, from);
	sqlite3_bind_int64(st, 5, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(st, 0), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE)
		seterr(s, "imap skipped");
	done(st);
	return status_of(rc);
}

enum tk_status
store_report(struct store *s, enum store_report_q q, int64_t since,
    int64_t until, const char *mailbox,
    int (*fn)(const struct store_row *row, void *arg), void *arg)
{
	static const enum stmt_id ids[] = {
		[STORE_REP_BACKLOG] = Q_REP_BACKLOG,
		[STORE_REP_OLDEST] = Q_REP_OLDEST,
		[STORE_REP_CREATED] = Q_REP_CREATED,
		[STORE_REP_STATUS] = Q_REP_STATUS,
		[STORE_REP_TIMES_FILL] = Q_REP_TIMES_FILL,
		[STORE_REP_TIMES_COUNT] = Q_REP_TIMES_COUNT,
		[STORE_REP_FRT_ROWS] = Q_REP_FRT_ROWS,
		[STORE_REP_RES_ROWS] = Q_REP_RES_ROWS,
		[STORE_REP_FLOW] = Q_REP_FLOW,
		[STORE_REP_CSAT] = Q_REP_CSAT,
		[STORE_REP_AUTOREPLY] = Q_REP_AUTOREPLY,
	};
	sqlite3_stmt *st;
	struct store_row row;
	enum tk_status ts;
	int rc;

	/* The times' table lives as long as the connection, emptied first. */
	if (q == STORE_REP_TIMES_FILL && (ts = exec_plain(s, "CREATE TEMP TABLE"
	    " IF NOT EXISTS rep_times (frt INTEGER, fa TEXT, res INTEGER,"
	    " ra TEXT, mb TEXT, cat TEXT); DELETE FROM temp.rep_times",
	    "report")) != TK_OK)
		return ts;
	if ((st = stmt(s, ids[q])) == NULL)
		return TK_EIO;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	bind_text(st, 3, mailbox);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.n = sqlite3_column_count(st);
		if (row.n > STORE_ROW_MAX)
			row.n = STORE_ROW_MAX;
		for (int i = 0; i < row.n; i++) {
			row.null[i] = sqlite3_column_type(st, i) == SQLITE_NULL;
			row.text[i] = row.null[i] ? "" : col(st, i);
			row.num[i] = sqlite3_column_int64(st, i);
		}
		if (fn && fn(&row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		seterr(s, "report");
	done(st);
	return status_of(rc);
}
