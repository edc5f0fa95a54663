/*
 * NAME
 *	store.c — the store: every SQL statement of tiketti, on SQLite or
 *	PostgreSQL.
 * DESCRIPTION
 *	The only place SQL is written. The statement table is one list of
 *	meanings; where the dialects differ, each has its own text
 *	(stmt_sqlite, stmt_pg), else the common one (stmt_sql) serves both.
 *	Owns the schema of both (versions with the same numbers, forward
 *	migrations) and a cache of prepared statements per handle. The
 *	backends (store_sqlite.c, store_pg.c, behind store_db.h) own the
 *	connection. A database path is SQLite; postgresql:// or postgres://
 *	(a libpq URI) or postgresql: followed by a conninfo is PostgreSQL.
 *	A handle is one connection and must be used by one thread at a time;
 *	open one per thread. All values go through bound parameters.
 * DIAGNOSTICS
 *	Functions return enum tk_status: a busy or unreachable database,
 *	a full disk and I/O errors are TK_ETEMP (the sender retries); the
 *	text stays in the handle for store_errmsg().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include "store_db.h"

#include "tiketti/buf.h"
#include "tiketti/sla.h"
#include "tiketti/store.h"

#define SCHEMA_VERSION STORE_SCHEMA_VERSION

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

/*
 * Agents (issue 24): who is away, since when and until when (NULL: until
 * she is back), and why ("command", "admin", "ooo").
 */
static const char schema_v8[] =
"CREATE TABLE agent_state ("
"  name TEXT PRIMARY KEY,"
"  away INTEGER NOT NULL,"
"  until_at INTEGER,"
"  since INTEGER NOT NULL,"
"  why TEXT) WITHOUT ROWID;";
static const char schema_v9[] =
"CREATE TABLE fields ("
"  ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
"  name TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, name)) WITHOUT ROWID;"
"CREATE INDEX fields_name ON fields(name, value);"
"CREATE TABLE lookup_cache ("
"  name TEXT NOT NULL,"
"  url TEXT NOT NULL,"
"  at INTEGER NOT NULL,"
"  answer TEXT NOT NULL,"
"  PRIMARY KEY (name, url)) WITHOUT ROWID;";
static const char schema_pg_v9[] =
"CREATE TABLE fields ("
"  ticket_id BIGINT NOT NULL REFERENCES tickets(id),"
"  name TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, name));"
"CREATE INDEX fields_name ON fields(name, value);"
"CREATE TABLE lookup_cache ("
"  name TEXT NOT NULL,"
"  url TEXT NOT NULL,"
"  at BIGINT NOT NULL,"
"  answer TEXT NOT NULL,"
"  PRIMARY KEY (name, url));";
/*
 * Privacy (issue 27): when a ticket's personal data was erased
 * (retention, tiketti forget); NULL while it is whole.
 */
static const char schema_v10[] =
"ALTER TABLE tickets ADD COLUMN erased_at INTEGER;";
static const char schema_pg_v10[] =
"ALTER TABLE tickets ADD COLUMN erased_at BIGINT;";
/*
 * OAuth 2.0 (issue 28): an account's grant, the refresh token and the
 * access token last issued with when it expires.
 */
static const char schema_v11[] =
"CREATE TABLE oauth_grants ("
"  account TEXT PRIMARY KEY,"
"  refresh_token TEXT,"
"  access_token TEXT,"
"  expires_at INTEGER NOT NULL DEFAULT 0,"
"  updated_at INTEGER NOT NULL) WITHOUT ROWID;";
static const char schema_pg_v11[] =
"CREATE TABLE oauth_grants ("
"  account TEXT PRIMARY KEY,"
"  refresh_token TEXT,"
"  access_token TEXT,"
"  expires_at BIGINT NOT NULL DEFAULT 0,"
"  updated_at BIGINT NOT NULL);";
/*
 * Operations (issue 30): when tick, each account's poll and each OAuth
 * grant last ran or refreshed, and whether it went well.
 */
static const char schema_v12[] =
"CREATE TABLE health ("
"  name TEXT PRIMARY KEY,"
"  at INTEGER NOT NULL,"
"  ok INTEGER NOT NULL,"
"  detail TEXT) WITHOUT ROWID;";
static const char schema_pg_v12[] =
"CREATE TABLE health ("
"  name TEXT PRIMARY KEY,"
"  at BIGINT NOT NULL,"
"  ok INTEGER NOT NULL,"
"  detail TEXT);";
/*
 * Merge (issue 29): the ticket a merged one went into; and for each
 * message, event and participant moved into it, the ticket it came
 * from, so that an unmerge puts it back.
 */
static const char schema_v13[] =
"ALTER TABLE tickets ADD COLUMN merged_into INTEGER;"
"ALTER TABLE messages ADD COLUMN merged_from INTEGER;"
"ALTER TABLE events ADD COLUMN merged_from INTEGER;"
"ALTER TABLE participants ADD COLUMN merged_from INTEGER;";
static const char schema_pg_v13[] =
"ALTER TABLE tickets ADD COLUMN merged_into BIGINT;"
"ALTER TABLE messages ADD COLUMN merged_from BIGINT;"
"ALTER TABLE events ADD COLUMN merged_from BIGINT;"
"ALTER TABLE participants ADD COLUMN merged_from BIGINT;";
/* Spam (issue 29): senders whose mail is spam from now on. */
static const char schema_v14[] =
"CREATE TABLE blocked ("
"  address TEXT PRIMARY KEY COLLATE NOCASE,"
"  at INTEGER NOT NULL,"
"  actor TEXT) WITHOUT ROWID;";
static const char schema_pg_v14[] =
"CREATE TABLE blocked ("
"  address TEXT PRIMARY KEY,"
"  at BIGINT NOT NULL,"
"  actor TEXT);";
static const char schema_pg_v8[] =
"CREATE TABLE agent_state ("
"  name TEXT PRIMARY KEY,"
"  away INTEGER NOT NULL,"
"  until_at BIGINT,"
"  since BIGINT NOT NULL,"
"  why TEXT);";

/*
 * PostgreSQL starts at version 7, the SQLite schema above in one block;
 * later versions are migrations on both with the same numbers. Integers
 * are BIGINT (times in seconds, ids), raw mail BYTEA, and addresses that
 * compare case-blind are indexed by lower().
 */
static const char schema_pg_v7[] =
"CREATE TABLE tickets ("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  subject TEXT NOT NULL,"
"  status TEXT NOT NULL DEFAULT 'new',"
"  priority TEXT NOT NULL DEFAULT 'normal',"
"  category TEXT,"
"  requester TEXT,"
"  requester_name TEXT,"
"  assignee TEXT,"
"  mailbox TEXT,"
"  parent BIGINT REFERENCES tickets(id),"
"  created_at BIGINT NOT NULL,"
"  updated_at BIGINT NOT NULL,"
"  status_at BIGINT NOT NULL,"
"  last_customer_at BIGINT,"
"  lang TEXT,"
"  skill TEXT);"
"CREATE INDEX tickets_status ON tickets(status, status_at);"
"CREATE INDEX tickets_requester ON tickets(requester);"
"CREATE INDEX tickets_created ON tickets(created_at);"
"CREATE INDEX tickets_customer ON tickets(last_customer_at);"
"CREATE INDEX tickets_assignee ON tickets(assignee, status);"
"CREATE TABLE participants ("
"  ticket_id BIGINT NOT NULL REFERENCES tickets(id),"
"  address TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, address));"
"CREATE TABLE messages ("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  ticket_id BIGINT REFERENCES tickets(id),"
"  dedupe_key TEXT NOT NULL UNIQUE,"
"  message_id TEXT,"
"  direction TEXT NOT NULL,"
"  kind TEXT NOT NULL,"
"  from_addr TEXT,"
"  from_name TEXT,"
"  subject TEXT,"
"  date BIGINT,"
"  received_at BIGINT NOT NULL,"
"  mailbox TEXT,"
"  flags INTEGER NOT NULL DEFAULT 0,"
"  body TEXT,"
"  sha256 TEXT NOT NULL,"
"  new_text TEXT);"
"CREATE INDEX messages_mid ON messages(message_id);"
"CREATE INDEX messages_ticket ON messages(ticket_id);"
"CREATE TABLE raw_messages ("
"  message BIGINT PRIMARY KEY REFERENCES messages(id),"
"  raw BYTEA NOT NULL);"
"CREATE TABLE attachments ("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  message BIGINT NOT NULL REFERENCES messages(id),"
"  name TEXT, type TEXT, size BIGINT, sha256 TEXT);"
"CREATE INDEX attachments_message ON attachments(message);"
"CREATE TABLE events ("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  ticket_id BIGINT NOT NULL REFERENCES tickets(id),"
"  at BIGINT NOT NULL,"
"  type TEXT NOT NULL,"
"  actor TEXT, old TEXT, new TEXT,"
"  message BIGINT REFERENCES messages(id));"
"CREATE INDEX events_ticket ON events(ticket_id, id);"
"CREATE INDEX events_type_new ON events(type, new, id);"
"CREATE INDEX events_csat ON events(ticket_id, type, id);"
"CREATE INDEX events_type_at_cover ON events(type, at)"
"  INCLUDE (ticket_id, old, new);"
"CREATE TABLE tags ("
"  ticket_id BIGINT NOT NULL REFERENCES tickets(id),"
"  tag TEXT NOT NULL,"
"  PRIMARY KEY (ticket_id, tag));"
"CREATE TABLE outbox ("
"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
"  ticket_id BIGINT REFERENCES tickets(id),"
"  kind TEXT NOT NULL,"
"  to_addr TEXT NOT NULL,"
"  subject TEXT,"
"  headers TEXT,"
"  body TEXT,"
"  rule TEXT,"
"  message BIGINT REFERENCES messages(id),"
"  dedupe TEXT UNIQUE,"
"  state TEXT NOT NULL DEFAULT 'queued',"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  next_at BIGINT NOT NULL,"
"  last_error TEXT,"
"  created_at BIGINT NOT NULL,"
"  sent_at BIGINT,"
"  out_message BIGINT REFERENCES messages(id),"
"  claimed_at BIGINT,"
"  interrupted INTEGER NOT NULL DEFAULT 0,"
"  while_status TEXT);"
"CREATE INDEX outbox_due ON outbox(state, next_at);"
"CREATE INDEX outbox_ticket ON outbox(ticket_id);"
"CREATE INDEX outbox_to ON outbox(lower(to_addr), kind, created_at);"
"CREATE INDEX outbox_out ON outbox(out_message);"
"CREATE TABLE rule_fired ("
"  rule TEXT NOT NULL,"
"  ticket_id BIGINT NOT NULL,"
"  occurrence BIGINT NOT NULL,"
"  at BIGINT NOT NULL,"
"  PRIMARY KEY (rule, ticket_id, occurrence));"
"CREATE TABLE rule_horizon ("
"  rule TEXT PRIMARY KEY,"
"  upto BIGINT NOT NULL);"
"CREATE TABLE bounced ("
"  address TEXT PRIMARY KEY,"
"  at BIGINT NOT NULL,"
"  ticket_id BIGINT);"
"CREATE TABLE imap_state ("
"  account TEXT NOT NULL,"
"  folder TEXT NOT NULL,"
"  uidvalidity BIGINT NOT NULL,"
"  last_uid BIGINT NOT NULL,"
"  acted_uid BIGINT NOT NULL,"
"  PRIMARY KEY (account, folder));"
"CREATE TABLE imap_skipped ("
"  account TEXT NOT NULL,"
"  folder TEXT NOT NULL,"
"  uidvalidity BIGINT NOT NULL,"
"  uid BIGINT NOT NULL,"
"  size BIGINT NOT NULL,"
"  reason TEXT NOT NULL,"
"  at BIGINT NOT NULL,"
"  PRIMARY KEY (account, folder, uidvalidity, uid));";

/* A block that brings the schema to its version. */
struct migration {
	int		 version;
	const char	*what;
	const char	*sql;
};

static const struct migration migrations_sqlite[] = {
	{ 1, "schema", schema_v1 }, { 2, "schema 2", schema_v2 },
	{ 3, "schema 3", schema_v3 }, { 4, "schema 4", schema_v4 },
	{ 5, "schema 5", schema_v5 }, { 6, "schema 6", schema_v6 },
	{ 7, "schema 7", schema_v7 }, { 8, "schema 8", schema_v8 },
	{ 9, "schema 9", schema_v9 }, { 10, "schema 10", schema_v10 },
	{ 11, "schema 11", schema_v11 }, { 12, "schema 12", schema_v12 },
	{ 13, "schema 13", schema_v13 }, { 14, "schema 14", schema_v14 },
	{ 0, NULL, NULL },
};

static const struct migration migrations_pg[] = {
	{ 7, "schema", schema_pg_v7 }, { 8, "schema 8", schema_pg_v8 },
	{ 9, "schema 9", schema_pg_v9 }, { 10, "schema 10", schema_pg_v10 },
	{ 11, "schema 11", schema_pg_v11 }, { 12, "schema 12", schema_pg_v12 },
	{ 13, "schema 13", schema_pg_v13 }, { 14, "schema 14", schema_pg_v14 },
	{ 0, NULL, NULL },
};

enum stmt_id {
	Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
	Q_MSG_FIND, Q_TICKET_BY_MID, Q_MSG_INSERT, Q_RAW_INSERT, Q_ATT_INSERT,
	Q_TICKET_GET, Q_TICKET_STATUS, Q_TICKET_INSERT,
	Q_SET_STATUS, Q_SET_PRIORITY, Q_SET_CATEGORY, Q_SET_ASSIGNEE,
	Q_TICKET_TOUCH, Q_PART_ADD, Q_PART_IS, Q_TAG_ADD, Q_EVENT_ADD,
	Q_TICKET_LIST, Q_TICKET_LIST_STATUS, Q_QUEUE, Q_TICKET_MESSAGES,
	Q_MSG_ATTACHMENTS, Q_MSG_RAW,
	Q_TICKET_EVENTS, Q_COUNT_MESSAGES,
	Q_TAG_REMOVE, Q_TICKET_CUSTOMER, Q_OUTBOX_ADD, Q_OUTBOX_LIST,
	Q_AGENT_OPEN, Q_AGENT_LAST, Q_RULE_FIRE, Q_HORIZON_GET, Q_HORIZON_SET,
	Q_DUE_STATUS, Q_DUE_CREATED, Q_DUE_CUSTOMER,
	Q_SET_SKILL, Q_OUTBOX_CLAIM, Q_OUTBOX_GET, Q_OUTBOX_DONE,
	Q_OUTBOX_STALE_FAIL, Q_OUTBOX_STALE_REQUEUE, Q_OUTBOX_RECENT,
	Q_OUTBOX_FIND_ID, Q_OUTBOX_FIND_MID, Q_BOUNCE_ADD, Q_BOUNCE_LAST,
	Q_LAST_IN_MID, Q_OUTBOX_LINK, Q_OUTBOX_PENDING,
	Q_CUSTOMER_MAIL, Q_CUSTOMER_TICKETS, Q_AGENT_STATE_SET,
	Q_AGENT_STATE_GET, Q_AGENT_WAITING,
	Q_CUSTOMER_WROTE, Q_STORE_EMPTY, Q_IMAP_GET, Q_IMAP_SET, Q_IMAP_SKIP, Q_IMAP_SKIPPED,
	Q_REP_BACKLOG, Q_REP_OLDEST, Q_REP_CREATED, Q_REP_STATUS,
	Q_REP_TIMES_FILL, Q_REP_TIMES_COUNT, Q_REP_FRT_ROWS, Q_REP_RES_ROWS,
	Q_REP_FLOW, Q_REP_CSAT, Q_REP_AUTOREPLY,
	Q_STEPS_TICKET, Q_STEPS_OPEN, Q_STEPS_WAITING, Q_STEPS_CREATED,
	Q_FIELD_SET, Q_FIELD_DEL, Q_FIELDS_GET, Q_REP_BY_FIELD,
	Q_LOOKUP_GET, Q_LOOKUP_PUT,
	Q_ERASE_ACTORS, Q_ERASE_VALUES, Q_ERASE_MESSAGES, Q_ERASE_RAW,
	Q_ERASE_ATTACHMENTS, Q_ERASE_FIELDS, Q_ERASE_PARTICIPANTS,
	Q_ERASE_OUTBOX, Q_ERASE_BOUNCED, Q_ERASE_TICKET,
	Q_RETENTION_DUE, Q_TICKETS_OF, Q_FORGET_OUTBOX, Q_FORGET_BOUNCED,
	Q_FORGET_LOOKUPS, Q_OUTBOX_TO, Q_GRANT_GET, Q_GRANT_PUT,
	Q_HEALTH_SET, Q_HEALTH_GET, Q_OUTBOX_HEALTH,
	Q_ADDED_MARKS, Q_EVENTS_AFTER, Q_OUTBOX_AFTER, Q_FIRED_OF,
	Q_COPY_CLAIM,
	Q_MERGE_MESSAGES, Q_MERGE_EVENTS, Q_MERGE_PARTS, Q_MERGE_TICKET,
	Q_UNMERGE_MESSAGES, Q_UNMERGE_EVENTS, Q_UNMERGE_PARTS, Q_UNMERGE_TICKET,
	Q_MERGED_INTO, Q_BLOCK_ADD, Q_BLOCK_DEL, Q_BLOCK_LIST,
	Q_PURGE_SPAM_TICKETS,
	Q_PURGE_PARENT, Q_PURGE_ATT, Q_PURGE_RAW, Q_PURGE_OUTBOX,
	Q_PURGE_OUTBOX_MSG, Q_PURGE_OUTBOX_OUT, Q_PURGE_EVENTS,
	Q_PURGE_EVENTS_MSG, Q_PURGE_MESSAGES, Q_PURGE_PARTS, Q_PURGE_TAGS,
	Q_PURGE_FIELDS, Q_PURGE_FIRED, Q_PURGE_BOUNCED, Q_PURGE_TICKET,
	Q_PURGE_LOOSE_ATT, Q_PURGE_LOOSE_RAW, Q_PURGE_LOOSE,
	Q_MOVE_MESSAGE, Q_MOVE_MESSAGE_EVENTS, Q_COPY_PARTS,
	Q__COUNT
};

/* With the dialect's aggregate that joins text (group_concat, string_agg). */
#define TICKET_COLS(join) \
	"t.id, t.subject, t.status, t.priority, t.category, t.requester," \
	" t.requester_name, t.assignee, t.mailbox, t.parent, t.created_at," \
	" t.updated_at, t.status_at," \
	" (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)," \
	" (SELECT " join "(tag, ',') FROM (SELECT tag FROM tags g" \
	"   WHERE g.ticket_id = t.id ORDER BY tag) AS g)," \
	" t.last_customer_at, t.lang, t.skill," \
	" (SELECT new FROM events e WHERE e.ticket_id = t.id" \
	"   AND e.type = 'csat' ORDER BY e.id DESC LIMIT 1)," \
	" coalesce(t.erased_at, 0), coalesce(t.merged_into, 0)"

#define OUTBOX_COLS \
	"o.id, coalesce(o.ticket_id, 0), o.kind, o.to_addr, o.subject," \
	" o.headers, o.body, o.rule, o.state, o.attempts, o.next_at," \
	" o.last_error, o.created_at, coalesce(o.sent_at, 0)," \
	" coalesce(o.out_message, 0), o.while_status," \
	" (SELECT status FROM tickets t WHERE t.id = o.ticket_id)"

/* A merged ticket counts in the one it went into; spam counts nowhere. */
#define REP_MAILBOX "(CAST(?3 AS TEXT) IS NULL OR t.mailbox = ?3)" \
	" AND t.merged_into IS NULL AND t.status <> 'spam'"
/* Events of the mailbox's tickets, without a join when there is none. */
#define REP_EV_MAILBOX "(CAST(?3 AS TEXT) IS NULL OR e.ticket_id IN" \
	" (SELECT id FROM tickets WHERE mailbox = ?3))"
/* The local day of a quarter hour q: the process's zone on SQLite, the
 * session's (set to the process's at connect) on PostgreSQL. */
#define REP_DAY_SQLITE "date(q * 900, 'unixepoch', 'localtime')"
#define REP_DAY_PG "to_char(to_timestamp(q * 900), 'YYYY-MM-DD')"
#define REP_SOLVED "(e.new = 'solved' OR (e.new = 'closed' AND" \
	" coalesce(e.old, '') NOT IN ('solved', 'closed')))"
#define REP_REOPEN "(e.old IN ('solved', 'closed') AND" \
	" e.new NOT IN ('solved', 'closed'))"
/* The response times' table lives as long as the connection. */
#define REP_TIMES_TABLE "CREATE TEMP TABLE IF NOT EXISTS rep_times" \
	" (frt BIGINT, fa TEXT, res BIGINT, ra TEXT, mb TEXT, cat TEXT)"
#define ONE_IF(cond) "CASE WHEN " cond " THEN 1 ELSE 0 END"
/*
 * A ticket's life for its service promises (sla.h), oldest first: the
 * kind as enum sla_step_kind, and the new status or policy. An answer
 * is what the reports count as one: an agent's mail that went out, or
 * a reply queued to the customer.
 */
#define STEPS_SQL(which) "SELECT e.ticket_id, e.at," \
	" CASE WHEN e.type = 'created' THEN 0" \
	"  WHEN e.type = 'message' AND e.new = 'customer' THEN 1" \
	"  WHEN e.type IN ('message', 'queued') THEN 2" \
	"  WHEN e.type = 'status' THEN 3 ELSE 4 END," \
	" CASE WHEN e.type IN ('status', 'sla') THEN e.new END" \
	" FROM events e WHERE e.ticket_id IN (" which ")" \
	" AND (e.type IN ('created', 'status', 'sla')" \
	"  OR (e.type = 'queued' AND e.old = 'reply')" \
	"  OR (e.type = 'message' AND (e.new = 'customer' OR (e.new = 'agent'" \
	"   AND EXISTS (SELECT 1 FROM messages m WHERE m.id = e.message" \
	"    AND m.direction = 'out')))))" \
	" ORDER BY e.ticket_id, e.id"

static const char *const stmt_sql[Q__COUNT] = {
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT msg",
	[Q_RELEASE] = "RELEASE msg",
	[Q_ROLLBACK_TO] = "ROLLBACK TO msg",
	/* One row: the message, if any, and whether ?2 is blocked. */
	[Q_MSG_FIND] = "SELECT m.id, coalesce(m.ticket_id, 0), EXISTS (SELECT 1"
	    " FROM blocked WHERE address = lower(?2)) FROM (SELECT 1) AS one"
	    " LEFT JOIN messages m ON m.dedupe_key = ?1",
	/* The first holder of a Message-ID keeps it: a later message that
	 * reuses it threads nothing to itself. */
	[Q_TICKET_BY_MID] = "SELECT ticket_id FROM messages"
	    " WHERE message_id = ?1 AND ticket_id IS NOT NULL"
	    " ORDER BY id LIMIT 1",
	/* ?16: flags added when the Message-ID has a holder already. */
	[Q_MSG_INSERT] = "INSERT INTO messages (ticket_id, dedupe_key,"
	    " message_id, direction, kind, from_addr, from_name, subject, date,"
	    " received_at, mailbox, flags, body, sha256, new_text) VALUES (?1,"
	    " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 | CASE WHEN EXISTS"
	    " (SELECT 1 FROM messages WHERE message_id = ?3 AND ticket_id IS"
	    " NOT NULL) THEN ?16 ELSE 0 END, ?13, ?14, ?15) RETURNING id, flags",
	[Q_RAW_INSERT] = "INSERT INTO raw_messages (message, raw)"
	    " VALUES (?1, ?2)",
	[Q_ATT_INSERT] = "INSERT INTO attachments (message, name, type, size,"
	    " sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_TICKET_INSERT] = "INSERT INTO tickets (subject, status, priority,"
	    " requester, requester_name, mailbox, parent, created_at,"
	    " updated_at, status_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?8, ?8) RETURNING id",
	[Q_SET_STATUS] = "UPDATE tickets SET status = ?2, status_at = ?3,"
	    " updated_at = ?3 WHERE id = ?1",
	[Q_SET_PRIORITY] = "UPDATE tickets SET priority = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_SET_CATEGORY] = "UPDATE tickets SET category = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_SET_ASSIGNEE] = "UPDATE tickets SET assignee = ?2, updated_at = ?3"
	    " WHERE id = ?1",
	[Q_TICKET_TOUCH] = "UPDATE tickets SET updated_at = ?2 WHERE id = ?1",
	[Q_TICKET_STATUS] = "SELECT status FROM tickets WHERE id = ?1",
	[Q_PART_ADD] = "INSERT INTO participants (ticket_id, address)"
	    " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[Q_PART_IS] = "SELECT 1 FROM participants WHERE ticket_id = ?1"
	    " AND address = ?2",
	[Q_TAG_ADD] = "INSERT INTO tags (ticket_id, tag)"
	    " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[Q_EVENT_ADD] = "INSERT INTO events (ticket_id, at, type, actor, old,"
	    " new, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_TICKET_MESSAGES] = "SELECT message_id, from_addr, direction, kind,"
	    " subject, coalesce(date, received_at), flags, id, body,"
	    " coalesce(new_text, body) FROM messages"
	    " WHERE ticket_id = ?1 ORDER BY id",
	[Q_MSG_RAW] = "SELECT raw FROM raw_messages WHERE message = ?1",
	[Q_FIELD_SET] = "INSERT INTO fields (ticket_id, name, value)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (ticket_id, name)"
	    " DO UPDATE SET value = excluded.value",
	[Q_FIELD_DEL] = "DELETE FROM fields WHERE ticket_id = ?1 AND name = ?2",
	[Q_LOOKUP_GET] = "SELECT answer FROM lookup_cache WHERE name = ?1"
	    " AND url = ?2 AND at >= ?3",
	[Q_LOOKUP_PUT] = "INSERT INTO lookup_cache (name, url, at, answer)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name, url)"
	    " DO UPDATE SET at = excluded.at, answer = excluded.answer",
	[Q_FIELDS_GET] = "SELECT name, value FROM fields WHERE ticket_id = ?1"
	    " ORDER BY name",
	/*
	 * Erasure of a ticket (?1) keeps what reports count: the rows,
	 * times, statuses, kinds, agents. A customer is an address that no
	 * agent's message of the ticket came from.
	 */
	[Q_ERASE_ACTORS] = "UPDATE events SET actor = NULL WHERE ticket_id = ?1"
	    " AND actor LIKE '%@%' AND actor NOT IN (SELECT from_addr FROM"
	    " messages WHERE ticket_id = ?1 AND kind = 'agent'"
	    " AND from_addr IS NOT NULL)",
	[Q_ERASE_VALUES] = "UPDATE events SET old = NULL, new = NULL"
	    " WHERE ticket_id = ?1 AND type NOT IN ('created', 'message',"
	    " 'status', 'priority', 'category', 'assignee', 'assign', 'skill',"
	    " 'queued', 'sla', 'sla_warning', 'sla_breach', 'csat', 'tag',"
	    " 'autoreply_suppressed', 'redacted', 'erased', 'reroute',"
	    " 'rerouted')",
	[Q_ERASE_MESSAGES] = "UPDATE messages SET"
	    " from_addr = CASE WHEN kind = 'agent' THEN from_addr END,"
	    " from_name = CASE WHEN kind = 'agent' THEN from_name END,"
	    " subject = NULL, body = NULL, new_text = NULL WHERE ticket_id = ?1",
	[Q_ERASE_RAW] = "DELETE FROM raw_messages WHERE message IN"
	    " (SELECT id FROM messages WHERE ticket_id = ?1)",
	[Q_ERASE_ATTACHMENTS] = "UPDATE attachments SET name = NULL,"
	    " sha256 = NULL WHERE message IN"
	    " (SELECT id FROM messages WHERE ticket_id = ?1)",
	[Q_ERASE_FIELDS] = "DELETE FROM fields WHERE ticket_id = ?1",
	[Q_ERASE_PARTICIPANTS] = "DELETE FROM participants WHERE ticket_id = ?1",
	[Q_ERASE_OUTBOX] = "UPDATE outbox SET"
	    " to_addr = CASE WHEN kind = 'webhook' THEN to_addr ELSE '' END,"
	    " subject = NULL, headers = NULL, body = NULL, last_error = NULL,"
	    " state = CASE WHEN state IN ('queued', 'sending') THEN 'cancelled'"
	    " ELSE state END WHERE ticket_id = ?1",
	[Q_ERASE_BOUNCED] = "DELETE FROM bounced WHERE ticket_id = ?1",
	[Q_ERASE_TICKET] = "UPDATE tickets SET subject = '', requester = ?3,"
	    " requester_name = NULL, erased_at = ?2 WHERE id = ?1",
	[Q_RETENTION_DUE] = "SELECT id, mailbox, status_at FROM tickets"
	    " WHERE status = 'closed' AND status_at < ?1 AND erased_at IS NULL"
	    " ORDER BY id",
	[Q_TICKETS_OF] = "SELECT id FROM tickets WHERE lower(requester) ="
	    " lower(?1) UNION SELECT ticket_id FROM participants"
	    " WHERE lower(address) = lower(?1) UNION SELECT ticket_id"
	    " FROM messages WHERE lower(from_addr) = lower(?1)"
	    " AND ticket_id IS NOT NULL ORDER BY 1",
	[Q_FORGET_OUTBOX] = "UPDATE outbox SET to_addr = '', subject = NULL,"
	    " headers = NULL, body = NULL, last_error = NULL,"
	    " state = CASE WHEN state IN ('queued', 'sending') THEN 'cancelled'"
	    " ELSE state END WHERE lower(to_addr) = lower(?1)",
	[Q_FORGET_BOUNCED] = "DELETE FROM bounced WHERE lower(address) ="
	    " lower(?1)",
	[Q_FORGET_LOOKUPS] = "DELETE FROM lookup_cache WHERE"
	    " lower(url) LIKE ?1 OR lower(url) LIKE ?2",
	/* Merge ?1 into ?2 (at ?3); unmerge ?1 out of ?2. */
	[Q_MERGE_MESSAGES] = "UPDATE messages SET ticket_id = ?2,"
	    " merged_from = ?1 WHERE ticket_id = ?1",
	[Q_MERGE_EVENTS] = "UPDATE events SET ticket_id = ?2, merged_from = ?1"
	    " WHERE ticket_id = ?1",
	[Q_MERGE_PARTS] = "INSERT INTO participants (ticket_id, address,"
	    " merged_from) SELECT ?2, address, ?1 FROM participants"
	    " WHERE ticket_id = ?1 ON CONFLICT (ticket_id, address) DO NOTHING",
	[Q_MERGE_TICKET] = "UPDATE tickets SET merged_into = ?2,"
	    " status = 'closed', status_at = ?3, updated_at = ?3 WHERE id = ?1",
	[Q_UNMERGE_MESSAGES] = "UPDATE messages SET ticket_id = ?1,"
	    " merged_from = NULL WHERE ticket_id = ?2 AND merged_from = ?1",
	[Q_UNMERGE_EVENTS] = "UPDATE events SET ticket_id = ?1,"
	    " merged_from = NULL WHERE ticket_id = ?2 AND merged_from = ?1",
	[Q_UNMERGE_PARTS] = "DELETE FROM participants WHERE ticket_id = ?2"
	    " AND merged_from = ?1",
	[Q_UNMERGE_TICKET] = "UPDATE tickets SET merged_into = NULL,"
	    " status = ?2, status_at = ?3, updated_at = ?3 WHERE id = ?1",
	/* Block list: PostgreSQL keeps its addresses in lower case. */
	[Q_BLOCK_ADD] = "INSERT INTO blocked (address, at, actor)"
	    " VALUES (lower(?1), ?2, ?3) ON CONFLICT (address) DO NOTHING",
	[Q_BLOCK_DEL] = "DELETE FROM blocked WHERE address = lower(?1)",
	[Q_BLOCK_LIST] = "SELECT address, at, actor FROM blocked ORDER BY address",
	/* Spam tickets whose status is older than ?1. */
	[Q_PURGE_SPAM_TICKETS] = "SELECT id FROM tickets WHERE status = 'spam'"
	    " AND status_at < ?1 ORDER BY id",
	/* A ticket deleted whole (purge --spam), ?1: nothing refers to it or
	 * its messages after. */
#define OF_TICKET "(SELECT id FROM messages WHERE ticket_id = ?1)"
	[Q_PURGE_PARENT] = "UPDATE tickets SET parent = NULL WHERE parent = ?1",
	[Q_PURGE_ATT] = "DELETE FROM attachments WHERE message IN " OF_TICKET,
	[Q_PURGE_RAW] = "DELETE FROM raw_messages WHERE message IN " OF_TICKET,
	[Q_PURGE_OUTBOX] = "DELETE FROM outbox WHERE ticket_id = ?1",
	[Q_PURGE_OUTBOX_MSG] = "UPDATE outbox SET message = NULL"
	    " WHERE message IN " OF_TICKET,
	[Q_PURGE_OUTBOX_OUT] = "UPDATE outbox SET out_message = NULL"
	    " WHERE out_message IN " OF_TICKET,
	[Q_PURGE_EVENTS] = "DELETE FROM events WHERE ticket_id = ?1",
	[Q_PURGE_EVENTS_MSG] = "UPDATE events SET message = NULL"
	    " WHERE message IN " OF_TICKET,
	[Q_PURGE_MESSAGES] = "DELETE FROM messages WHERE ticket_id = ?1",
	[Q_PURGE_PARTS] = "DELETE FROM participants WHERE ticket_id = ?1",
	[Q_PURGE_TAGS] = "DELETE FROM tags WHERE ticket_id = ?1",
	[Q_PURGE_FIELDS] = "DELETE FROM fields WHERE ticket_id = ?1",
	[Q_PURGE_FIRED] = "DELETE FROM rule_fired WHERE ticket_id = ?1",
	[Q_PURGE_BOUNCED] = "DELETE FROM bounced WHERE ticket_id = ?1",
	[Q_PURGE_TICKET] = "DELETE FROM tickets WHERE id = ?1",
	/* A blocked sender's mail kept without a ticket, before ?1. */
#define LOOSE_SPAM "(SELECT id FROM messages WHERE ticket_id IS NULL" \
	" AND kind = 'spam' AND received_at < ?1)"
	[Q_PURGE_LOOSE_ATT] = "DELETE FROM attachments WHERE message IN "
	    LOOSE_SPAM,
	[Q_PURGE_LOOSE_RAW] = "DELETE FROM raw_messages WHERE message IN "
	    LOOSE_SPAM,
	[Q_PURGE_LOOSE] = "DELETE FROM messages WHERE ticket_id IS NULL"
	    " AND kind = 'spam' AND received_at < ?1",
	/* Split: message ?1 to ticket ?2, with its message events. */
	[Q_MOVE_MESSAGE] = "UPDATE messages SET ticket_id = ?2 WHERE id = ?1",
	[Q_MOVE_MESSAGE_EVENTS] = "UPDATE events SET ticket_id = ?2"
	    " WHERE message = ?1 AND type = 'message'",
	[Q_COPY_PARTS] = "INSERT INTO participants (ticket_id, address)"
	    " SELECT ?2, address FROM participants WHERE ticket_id = ?1"
	    " ON CONFLICT (ticket_id, address) DO NOTHING",
	[Q_MERGED_INTO] = "SELECT coalesce(merged_into, 0) FROM tickets"
	    " WHERE id = ?1",
	[Q_FIRED_OF] = "SELECT rule, occurrence, at FROM rule_fired"
	    " WHERE ticket_id = ?1 ORDER BY at, rule",
	[Q_ADDED_MARKS] = "SELECT (SELECT coalesce(max(id), 0) FROM events),"
	    " (SELECT coalesce(max(id), 0) FROM outbox)",
	[Q_EVENTS_AFTER] = "SELECT ticket_id, at, type, actor, old, new"
	    " FROM events WHERE id > ?1 ORDER BY id",
	[Q_OUTBOX_AFTER] = "SELECT " OUTBOX_COLS ", NULL, NULL FROM outbox o"
	    " WHERE o.id > ?1 ORDER BY o.id",
	[Q_HEALTH_SET] = "INSERT INTO health (name, at, ok, detail)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET"
	    " at = excluded.at, ok = excluded.ok, detail = excluded.detail",
	[Q_HEALTH_GET] = "SELECT at, ok, detail FROM health WHERE name = ?1",
	/* Failing: being retried, or given up on within the last day;
	 * stale: queued since before ?2. */
	[Q_OUTBOX_HEALTH] = "SELECT"
	    " (SELECT count(*) FROM outbox WHERE (state = 'queued'"
	    "  AND attempts > 0) OR (state = 'failed' AND created_at > ?1)),"
	    " (SELECT count(*) FROM outbox WHERE state = 'queued'"
	    "  AND created_at < ?2)",
	[Q_GRANT_GET] = "SELECT refresh_token, access_token, expires_at,"
	    " updated_at FROM oauth_grants WHERE account = ?1",
	[Q_GRANT_PUT] = "INSERT INTO oauth_grants (account, refresh_token,"
	    " access_token, expires_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (account) DO UPDATE SET"
	    " refresh_token = excluded.refresh_token,"
	    " access_token = excluded.access_token,"
	    " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
	[Q_OUTBOX_TO] = "SELECT id, coalesce(ticket_id, 0), kind, subject,"
	    " state, created_at, coalesce(sent_at, 0) FROM outbox"
	    " WHERE lower(to_addr) = lower(?1) ORDER BY id",
	[Q_REP_BY_FIELD] = "SELECT f.value, count(*),"
	    " coalesce(sum(" ONE_IF("t.status IN ('solved', 'closed')") "), 0),"
	    " coalesce(sum(" ONE_IF("t.status IN ('new', 'open', 'pending')")
	    "), 0) FROM tickets t LEFT JOIN fields f ON f.ticket_id = t.id"
	    " AND f.name = ?4 WHERE t.created_at >= ?1 AND t.created_at < ?2"
	    " AND " REP_MAILBOX " GROUP BY f.value"
	    " ORDER BY 2 DESC, coalesce(f.value, '')",
	[Q_STEPS_TICKET] = STEPS_SQL("?1"),
	[Q_STEPS_OPEN] = STEPS_SQL("SELECT id FROM tickets WHERE status IN"
	    " ('new', 'open', 'pending')"),
	[Q_STEPS_WAITING] = STEPS_SQL("SELECT id FROM tickets WHERE status IN"
	    " ('new', 'open')"),
	[Q_STEPS_CREATED] = STEPS_SQL("SELECT id FROM tickets t WHERE"
	    " t.created_at >= ?1 AND t.created_at < ?2 AND " REP_MAILBOX),
	[Q_TICKET_EVENTS] = "SELECT at, type, actor, old, new,"
	    " coalesce(message, 0) FROM events WHERE ticket_id = ?1 ORDER BY id",
	[Q_COUNT_MESSAGES] = "SELECT count(*), coalesce(sum("
	    ONE_IF("flags <> 0") "), 0) FROM messages",
	[Q_TAG_REMOVE] = "DELETE FROM tags WHERE ticket_id = ?1 AND tag = ?2",
	[Q_TICKET_CUSTOMER] = "UPDATE tickets SET last_customer_at = ?2,"
	    " lang = coalesce(?3, lang) WHERE id = ?1",
	[Q_OUTBOX_ADD] = "INSERT INTO outbox (ticket_id, kind,"
	    " to_addr, subject, headers, body, rule, message, dedupe,"
	    " next_at, created_at, out_message, while_status) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)"
	    " ON CONFLICT DO NOTHING RETURNING id",
	[Q_OUTBOX_LIST] = "SELECT " OUTBOX_COLS ", NULL, NULL FROM outbox o"
	    " WHERE CAST(?1 AS TEXT) IS NULL OR o.state = ?1 ORDER BY o.id",
	/* Open = not yet solved: what an agent still has to work on. */
	[Q_AGENT_OPEN] = "SELECT count(*) FROM tickets WHERE assignee = ?1"
	    " AND status IN ('new', 'open', 'pending')",
	[Q_AGENT_LAST] = "SELECT coalesce(max(id), 0) FROM events"
	    " WHERE type = 'assignee' AND new = ?1",
	[Q_RULE_FIRE] = "INSERT INTO rule_fired (rule, ticket_id,"
	    " occurrence, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_HORIZON_GET] = "SELECT upto FROM rule_horizon WHERE rule = ?1",
	[Q_HORIZON_SET] = "INSERT INTO rule_horizon (rule, upto) VALUES (?1, ?2)"
	    " ON CONFLICT (rule) DO UPDATE SET upto = excluded.upto",
	/* Range scans on an index each: only what came due since last time. */
	[Q_DUE_STATUS] = "SELECT id, status_at FROM tickets WHERE status = ?1"
	    " AND status_at > ?2 AND status_at <= ?3 ORDER BY status_at, id",
	[Q_DUE_CREATED] = "SELECT id, created_at FROM tickets"
	    " WHERE created_at > ?2 AND created_at <= ?3"
	    " AND (CAST(?1 AS TEXT) IS NULL OR status = ?1)"
	    " ORDER BY created_at, id",
	[Q_DUE_CUSTOMER] = "SELECT id, last_customer_at FROM tickets"
	    " WHERE last_customer_at > ?2 AND last_customer_at <= ?3"
	    " AND (CAST(?1 AS TEXT) IS NULL OR status = ?1)"
	    " ORDER BY last_customer_at, id",
	[Q_SET_SKILL] = "UPDATE tickets SET skill = ?2, updated_at = ?3"
	    " WHERE id = ?1",
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
	    " AND claimed_at < ?1 AND interrupted <> 0",
	[Q_OUTBOX_STALE_REQUEUE] = "UPDATE outbox SET state = 'queued',"
	    " claimed_at = NULL, interrupted = 1, next_at = ?2,"
	    " last_error = 'interrupted while sending; it may go out twice'"
	    " WHERE state = 'sending' AND claimed_at < ?1",
	[Q_OUTBOX_FIND_ID] = "SELECT id, coalesce(ticket_id, 0), to_addr, kind"
	    " FROM outbox WHERE id = ?1",
	[Q_OUTBOX_FIND_MID] = "SELECT o.id, coalesce(o.ticket_id, 0),"
	    " o.to_addr, o.kind FROM messages m"
	    " JOIN outbox o ON o.out_message = m.id"
	    " WHERE m.message_id = ?1 AND m.direction = 'out'"
	    " ORDER BY o.id DESC LIMIT 1",
	[Q_OUTBOX_PENDING] = "SELECT EXISTS (SELECT 1 FROM outbox"
	    " WHERE state IN ('queued', 'sending'))",
	[Q_OUTBOX_LINK] = "UPDATE outbox SET out_message = ?2 WHERE id = ?1",
	[Q_AGENT_STATE_SET] = "INSERT INTO agent_state (name, away, until_at,"
	    " since, why) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name)"
	    " DO UPDATE SET away = excluded.away, until_at = excluded.until_at,"
	    " since = excluded.since, why = excluded.why",
	[Q_AGENT_STATE_GET] = "SELECT away, coalesce(until_at, 0), since, why"
	    " FROM agent_state WHERE name = ?1",
	/* An agent's waiting tickets whose customer has no answer of hers
	 * since his last mail. */
	[Q_AGENT_WAITING] = "SELECT t.id, coalesce(t.skill, '') FROM tickets t"
	    " WHERE t.assignee = ?1 AND t.status IN ('new', 'open')"
	    " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id"
	    "  AND m.direction = 'out' AND m.kind = 'agent'"
	    "  AND m.id > coalesce((SELECT max(c.id) FROM messages c"
	    "   WHERE c.ticket_id = t.id AND c.kind = 'customer'), 0))"
	    " ORDER BY t.id",
	/* The customer's mail on a ticket, newest first. */
	[Q_CUSTOMER_MAIL] = "SELECT message_id, new_text, id FROM messages"
	    " WHERE ticket_id = ?1 AND direction = 'in' AND kind = 'customer'"
	    " ORDER BY id DESC LIMIT ?2",
	[Q_CUSTOMER_TICKETS] = "SELECT id, subject, status, created_at"
	    " FROM tickets WHERE requester = ?1 AND id <> ?2"
	    " ORDER BY id DESC LIMIT ?3",
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
	/*
	 * Response times, in three steps on a temporary table: per ticket
	 * created in the period, the first response (an agent's mail out,
	 * or a reply an agent queued; autoreplies are neither) and the
	 * first solve, with who did them; how many there are per
	 * dimension; then each metric's rows in order of time, which
	 * report.c reads once to find every group's ranks.
	 */
	/* The finest groups, in one sort; report.c adds them up. */
	[Q_REP_TIMES_COUNT] = "SELECT frt IS NOT NULL, res IS NOT NULL, mb,"
	    " cat, fa, ra, count(*) FROM rep_times GROUP BY 1, 2, 3, 4, 5, 6",
	[Q_REP_FRT_ROWS] = "SELECT frt, mb, cat, fa FROM rep_times"
	    " WHERE frt IS NOT NULL ORDER BY frt",
	[Q_REP_RES_ROWS] = "SELECT res, mb, cat, ra FROM rep_times"
	    " WHERE res IS NOT NULL ORDER BY res",
	/* One row: tickets created, their customers and the customers with
	 * more than one; tickets solved and reopened (distinct) and
	 * follow-ups opened, in the period. */
	[Q_REP_FLOW] = "SELECT c.n, c.customers, c.repeat, s.solved,"
	    " s.reopened, f.n FROM"
	    " (SELECT sum(n) AS n, count(requester) AS customers,"
	    "  coalesce(sum(" ONE_IF("n > 1 AND requester IS NOT NULL") "), 0)"
	    "  AS repeat"
	    "  FROM (SELECT requester, count(*) AS n FROM tickets t"
	    "  WHERE created_at >= ?1 AND created_at < ?2 AND " REP_MAILBOX
	    "  GROUP BY requester) AS r) c,"
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
	[Q_STORE_EMPTY] = "SELECT NOT EXISTS (SELECT 1 FROM tickets)"
	    " AND NOT EXISTS (SELECT 1 FROM messages)",
	[Q_IMAP_GET] = "SELECT uidvalidity, last_uid, acted_uid FROM imap_state"
	    " WHERE account = ?1 AND folder = ?2",
	[Q_IMAP_SET] = "INSERT INTO imap_state (account, folder, uidvalidity,"
	    " last_uid, acted_uid) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (account, folder) DO UPDATE"
	    " SET uidvalidity = excluded.uidvalidity,"
	    " last_uid = excluded.last_uid, acted_uid = excluded.acted_uid",
	[Q_IMAP_SKIP] = "INSERT INTO imap_skipped (account, folder,"
	    " uidvalidity, uid, size, reason, at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE"
	    " SET size = excluded.size, reason = excluded.reason,"
	    " at = excluded.at",
	[Q_IMAP_SKIPPED] = "SELECT uid FROM imap_skipped WHERE account = ?1"
	    " AND folder = ?2 AND uidvalidity = ?3 AND uid BETWEEN ?4 AND ?5"
	    " ORDER BY uid",
};

/*
 * What the dialects say differently. A statement not here is the common
 * text above.
 */
#define Q_TICKET_GET_SQL(join) "SELECT " TICKET_COLS(join) \
	" FROM tickets t WHERE t.id = ?1"
#define Q_TICKET_LIST_SQL(join) "SELECT " TICKET_COLS(join) \
	" FROM tickets t ORDER BY t.id"
#define Q_TICKET_LIST_STATUS_SQL(join) "SELECT " TICKET_COLS(join) \
	" FROM tickets t WHERE t.status = ?1 ORDER BY t.id"
/* The waiting tickets: unassigned first, then the most urgent, oldest. */
#define Q_QUEUE_SQL(join) "SELECT " TICKET_COLS(join) \
	" FROM tickets t WHERE t.status IN ('new', 'open') ORDER BY" \
	" CASE WHEN t.assignee IS NULL THEN 0 ELSE 1 END," \
	" CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1" \
	" WHEN 'normal' THEN 2 ELSE 3 END, t.created_at, t.id"
/* One statement: two senders never claim the same row. */
#define Q_OUTBOX_CLAIM_SQL(lock) "UPDATE outbox SET state = 'sending'," \
	" claimed_at = ?1, attempts = attempts + 1 WHERE id = (SELECT id" \
	" FROM outbox WHERE state = 'queued' AND (?3 <> 0 OR next_at <= ?1)" \
	" AND id > ?2 AND (?4 <> 0 OR kind = 'webhook')" \
	" AND kind <> 'sent_copy' ORDER BY id LIMIT 1" \
	lock ") RETURNING id"
/* A copy for an account's Sent folder (the poller appends it). */
#define Q_COPY_CLAIM_SQL(lock) "UPDATE outbox SET state = 'sending'," \
	" claimed_at = ?1, attempts = attempts + 1 WHERE id = (SELECT id" \
	" FROM outbox WHERE state = 'queued' AND kind = 'sent_copy'" \
	" AND to_addr = ?2 AND next_at <= ?1 AND id > ?3 ORDER BY id LIMIT 1" \
	lock ") RETURNING id"
#define Q_REP_CREATED_SQL(day) "SELECT " day ", mb, cat, sum(n) FROM" \
	" (SELECT created_at / 900 AS q, coalesce(mailbox, '') AS mb," \
	"  coalesce(category, '') AS cat, count(*) AS n FROM tickets t" \
	"  WHERE created_at >= ?1 AND created_at < ?2 AND " REP_MAILBOX \
	"  GROUP BY 1, 2, 3) AS g GROUP BY 1, 2, 3"
/* Solved: into solved, or into closed from an unsolved status.
 * Reopened: out of solved or closed. */
#define Q_REP_STATUS_SQL(day) "SELECT " day ", mb, cat, sum(s), sum(r) FROM" \
	" (SELECT e.at / 900 AS q, coalesce(t.mailbox, '') AS mb," \
	"  coalesce(t.category, '') AS cat, sum(" ONE_IF(REP_SOLVED) ") AS s," \
	"  sum(" ONE_IF(REP_REOPEN) ") AS r FROM events e" \
	"  JOIN tickets t ON t.id = e.ticket_id WHERE e.type = 'status'" \
	"  AND e.at >= ?1 AND e.at < ?2 AND " REP_MAILBOX \
	"  GROUP BY 1, 2, 3) AS g GROUP BY 1, 2, 3"

/* Case-blind address statements, with the dialect's way to compare. */
#define Q_MSG_ATTACHMENTS_SQL(order) "SELECT name, type, size, sha256" \
	" FROM attachments WHERE message = ?1 ORDER BY " order
#define Q_OUTBOX_RECENT_SQL(eq) "SELECT count(*) FROM outbox WHERE " eq \
	" AND kind = ?2 AND created_at > ?3"
#define Q_CUSTOMER_WROTE_SQL(eq) "SELECT EXISTS (SELECT 1 FROM messages" \
	" WHERE ticket_id = ?1 AND direction = 'in' AND kind = 'customer'" \
	" AND " eq ")"
#define Q_BOUNCE_ADD_SQL(addr) "INSERT INTO bounced (address, at," \
	" ticket_id) VALUES (" addr ", ?2, ?3) ON CONFLICT (address) DO UPDATE" \
	" SET at = excluded.at, ticket_id = excluded.ticket_id"
#define Q_BOUNCE_LAST_SQL(addr) "SELECT at FROM bounced WHERE address = " addr

/* Addresses compare case-blind by COLLATE NOCASE (bounced.address has it). */
#define NOCASE_SQLITE(col, p) col " = " p " COLLATE NOCASE"
static const char *const stmt_sqlite[Q__COUNT] = {
	[Q_TICKET_GET] = Q_TICKET_GET_SQL("group_concat"),
	[Q_TICKET_LIST] = Q_TICKET_LIST_SQL("group_concat"),
	[Q_TICKET_LIST_STATUS] = Q_TICKET_LIST_STATUS_SQL("group_concat"),
	[Q_QUEUE] = Q_QUEUE_SQL("group_concat"),
	/* In MIME order: the order they were stored in. */
	[Q_MSG_ATTACHMENTS] = Q_MSG_ATTACHMENTS_SQL("rowid"),
	/* SQLite has one writer at a time: the claim needs no row lock. */
	[Q_OUTBOX_CLAIM] = Q_OUTBOX_CLAIM_SQL(""),
	[Q_COPY_CLAIM] = Q_COPY_CLAIM_SQL(""),
	[Q_OUTBOX_RECENT] = Q_OUTBOX_RECENT_SQL(NOCASE_SQLITE("to_addr", "?1")),
	[Q_CUSTOMER_WROTE] = Q_CUSTOMER_WROTE_SQL(NOCASE_SQLITE("from_addr",
	    "?2")),
	[Q_BOUNCE_ADD] = Q_BOUNCE_ADD_SQL("?1"),
	[Q_BOUNCE_LAST] = Q_BOUNCE_LAST_SQL("?1"),
	/* Per ticket, the first of each by correlated subqueries on the
	 * indexes. */
	[Q_REP_TIMES_FILL] = "INSERT INTO rep_times"
	    " SELECT f.at - b.c, coalesce(f.actor, ''), r.at - b.c,"
	    "  coalesce(r.actor, ''), b.mb, b.cat FROM"
	    " (SELECT t.created_at AS c, coalesce(t.mailbox, '') AS mb,"
	    "  coalesce(t.category, '') AS cat,"
	    "  (SELECT min(id) FROM (SELECT e.id FROM events e"
	    "   WHERE e.ticket_id = t.id AND e.type = 'message'"
	    "   AND e.new = 'agent' AND EXISTS (SELECT 1 FROM messages m"
	    "    WHERE m.id = e.message AND m.direction = 'out')"
	    "   UNION ALL SELECT e.id FROM events e WHERE e.ticket_id = t.id"
	    "   AND e.type = 'queued' AND e.old = 'reply') AS x) AS fr,"
	    "  (SELECT e.id FROM events e WHERE e.ticket_id = t.id AND"
	    "   e.type = 'status' AND e.new IN ('solved', 'closed')"
	    "   ORDER BY e.id LIMIT 1) AS rs"
	    " FROM tickets t WHERE t.created_at >= ?1 AND t.created_at < ?2"
	    " AND " REP_MAILBOX ") b"
	    " LEFT JOIN events f ON f.id = b.fr LEFT JOIN events r ON r.id = b.rs"
	    " WHERE f.id IS NOT NULL OR r.id IS NOT NULL",
	[Q_REP_CREATED] = Q_REP_CREATED_SQL(REP_DAY_SQLITE),
	[Q_REP_STATUS] = Q_REP_STATUS_SQL(REP_DAY_SQLITE),
};

/* Through lower(), which the indexes hold; bounced.address is lower case. */
#define NOCASE_PG(col, p) "lower(" col ") = lower(" p ")"
static const char *const stmt_pg[Q__COUNT] = {
	[Q_TICKET_GET] = Q_TICKET_GET_SQL("string_agg"),
	[Q_TICKET_LIST] = Q_TICKET_LIST_SQL("string_agg"),
	[Q_TICKET_LIST_STATUS] = Q_TICKET_LIST_STATUS_SQL("string_agg"),
	[Q_QUEUE] = Q_QUEUE_SQL("string_agg"),
	[Q_MSG_ATTACHMENTS] = Q_MSG_ATTACHMENTS_SQL("id"),
	/* Senders on several hosts: a row another holds is passed over. */
	[Q_OUTBOX_CLAIM] = Q_OUTBOX_CLAIM_SQL(" FOR UPDATE SKIP LOCKED"),
	[Q_COPY_CLAIM] = Q_COPY_CLAIM_SQL(" FOR UPDATE SKIP LOCKED"),
	[Q_OUTBOX_RECENT] = Q_OUTBOX_RECENT_SQL(NOCASE_PG("to_addr", "?1")),
	[Q_CUSTOMER_WROTE] = Q_CUSTOMER_WROTE_SQL(NOCASE_PG("from_addr", "?2")),
	[Q_BOUNCE_ADD] = Q_BOUNCE_ADD_SQL("lower(?1)"),
	[Q_BOUNCE_LAST] = Q_BOUNCE_LAST_SQL("lower(?1)"),
	/* The same in set-wise steps: PostgreSQL's hash joins are faster
	 * than a subquery per ticket. Each ticket's first event of a kind
	 * comes whole from the events already picked (DISTINCT ON), not by
	 * its id from all the events again. */
	[Q_REP_TIMES_FILL] = "INSERT INTO rep_times WITH"
	    " b AS (SELECT t.id, t.created_at AS c,"
	    "  coalesce(t.mailbox, '') AS mb, coalesce(t.category, '') AS cat"
	    "  FROM tickets t WHERE t.created_at >= ?1 AND t.created_at < ?2"
	    "  AND " REP_MAILBOX "),"
	    " fr AS (SELECT DISTINCT ON (e.ticket_id) e.ticket_id, e.at,"
	    "  e.actor FROM b JOIN events e ON e.ticket_id = b.id"
	    "  WHERE (e.type = 'message' AND e.new = 'agent' AND EXISTS"
	    "  (SELECT 1 FROM messages m WHERE m.id = e.message AND"
	    "  m.direction = 'out')) OR (e.type = 'queued' AND e.old = 'reply')"
	    "  ORDER BY e.ticket_id, e.id),"
	    " rs AS (SELECT DISTINCT ON (e.ticket_id) e.ticket_id, e.at,"
	    "  e.actor FROM b JOIN events e ON e.ticket_id = b.id"
	    "  WHERE e.type = 'status' AND e.new IN ('solved', 'closed')"
	    "  ORDER BY e.ticket_id, e.id)"
	    " SELECT f.at - b.c, coalesce(f.actor, ''), r.at - b.c,"
	    "  coalesce(r.actor, ''), b.mb, b.cat FROM b"
	    " LEFT JOIN fr f ON f.ticket_id = b.id"
	    " LEFT JOIN rs r ON r.ticket_id = b.id"
	    " WHERE f.ticket_id IS NOT NULL OR r.ticket_id IS NOT NULL",
	[Q_REP_CREATED] = Q_REP_CREATED_SQL(REP_DAY_PG),
	[Q_REP_STATUS] = Q_REP_STATUS_SQL(REP_DAY_PG),
};

struct store {
	struct db	*db;		/* NULL when it did not open */
	const char *const *own;		/* the dialect's own texts */
	struct db_stmt	*stmt[Q__COUNT];
	char		*target;	/* as given to store_open */
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
	    s->db ? s->db->ops->errmsg(s->db) : "no database");
}

/* What a step's outcome means to the caller. */
static enum tk_status
rc_status(struct store *s, enum db_rc rc)
{
	return rc == DB_ERROR ? s->db->ops->status(s->db) : TK_OK;
}

/* Returns the reset, unbound cached statement for id. */
static struct db_stmt *
stmt(struct store *s, enum stmt_id id)
{
	const char *sql = s->own[id] ? s->own[id] : stmt_sql[id];

	if (s->stmt[id] == NULL &&
	    (s->stmt[id] = s->db->ops->prepare(s->db, sql)) == NULL)
		seterr(s, "prepare");
	return s->stmt[id];
}

/* What a statement without rows came to; resets it. */
static enum tk_status
ran(struct store *s, struct db_stmt *st, enum db_rc rc, const char *what)
{
	if (rc == DB_ERROR)
		seterr(s, what);
	db_reset(st);
	return rc_status(s, rc);
}

/* Steps a statement that returns no rows; resets it. */
static enum tk_status
run(struct store *s, struct db_stmt *st, const char *what)
{
	return ran(s, st, db_step(st), what);
}

/*
 * run() for a write inside a transaction whose outcome nobody reads at
 * once: PostgreSQL sends it with the next statement (one round trip for
 * both), which reports its failure, by the commit at the latest.
 */
static enum tk_status
run_later(struct store *s, struct db_stmt *st, const char *what)
{
	return ran(s, st, st->ops->later(st), what);
}

/* Steps a statement whose first row's first column is an id (RETURNING). */
static enum tk_status
run_id(struct store *s, struct db_stmt *st, const char *what, int64_t *id)
{
	enum db_rc rc = db_step(st);

	*id = 0;
	if (rc == DB_ROW)
		*id = db_int64(st, 0);
	else if (rc == DB_ERROR)
		seterr(s, what);
	db_reset(st);
	return rc_status(s, rc);
}

static enum tk_status
exec_plain(struct store *s, const char *sql, const char *what)
{
	enum tk_status ts = s->db->ops->exec(s->db, sql);

	if (ts != TK_OK)
		seterr(s, what);
	return ts;
}

static void
rollback_quietly(struct store *s)
{
	if (s->db->ops->in_transaction(s->db))
		s->db->ops->exec(s->db, "ROLLBACK");
}

/*
 * TK_OK when this tiketti can use a database at that schema version: not
 * a newer one, nor an older one unless it is about to migrate it.
 */
static enum tk_status
schema_usable(struct store *s, int version, int migrating)
{
	free(s->errmsg);
	s->errmsg = NULL;
	if (version < 0) {
		seterr(s, "schema version");
		return TK_EIO;
	}
	if (version > SCHEMA_VERSION)
		s->errmsg = xasprintf("database schema %d is newer than this "
		    "tiketti (%d)", version, SCHEMA_VERSION);
	else if (version < SCHEMA_VERSION && !migrating)
		s->errmsg = xasprintf("database schema %d is older than this "
		    "tiketti (%d): run tiketti db migrate on it first",
		    version, SCHEMA_VERSION);
	return s->errmsg ? TK_EPERM : TK_OK;
}

static enum tk_status
migrate(struct store *s)
{
	const struct migration *m = s->db->ops->dialect == DB_PG ?
	    migrations_pg : migrations_sqlite;
	enum tk_status ts;
	int version;

	/* The common case takes no write lock. */
	if (s->db->ops->version_get(s->db) == SCHEMA_VERSION)
		return TK_OK;
	if ((ts = s->db->ops->begin(s->db, 0)) != TK_OK) {
		seterr(s, "begin");
		return ts;
	}
	/* Read again under the lock: another process may have migrated. */
	version = s->db->ops->version_get(s->db);
	if ((ts = schema_usable(s, version, 1)) != TK_OK)
		goto fail;
	if (version == SCHEMA_VERSION)		/* another did it meanwhile */
		return exec_plain(s, "COMMIT", "commit");
	/* Forward migrations: each block brings the schema to its version. */
	for (; m->sql != NULL; m++) {
		if (version >= m->version)
			continue;
		if ((ts = exec_plain(s, m->sql, m->what)) != TK_OK)
			goto fail;
	}
	if ((ts = s->db->ops->version_set(s->db, SCHEMA_VERSION)) != TK_OK) {
		seterr(s, "schema version");
		goto fail;
	}
	return exec_plain(s, "COMMIT", "commit");
fail:
	rollback_quietly(s);
	return ts != TK_OK ? ts : TK_EIO;
}

char *
store_describe(const char *target)
{
	const char *at, *scheme, *colon, *pw;

	/* postgresql://user:SECRET@host... */
	if ((scheme = strstr(target, "://")) != NULL &&
	    (at = strchr(scheme + 3, '@')) != NULL &&
	    (colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3))) !=
	    NULL)
		return xasprintf("%.*s:***%s", (int)(colon - target), target,
		    at);
	/* postgresql:... password=SECRET ... */
	if ((pw = strstr(target, "password")) != NULL) {
		const char *end = pw + 8;

		while (*end == ' ' || *end == '=')
			end++;
		if (*end == '\'') {		/* 'quoted, \' escaped' */
			for (end++; *end && *end != '\''; end++)
				if (*end == '\\' && end[1])
					end++;
			if (*end)
				end++;
		} else
			while (*end && *end != ' ')
				end++;
		return xasprintf("%.*spassword=***%s", (int)(pw - target),
		    target, end);
	}
	return xstrdup(target);
}

/* postgresql://… or postgres://… (a URI), postgresql:conninfo. */
static int
is_postgresql(const char *target)
{
	return strncmp(target, "postgresql:", 11) == 0 ||
	    strncmp(target, "postgres://", 11) == 0;
}

enum tk_status
store_open(const char *target, long long busy_timeout, int flags,
    struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	const struct db_ops *ops = is_postgresql(target) ? &store_pg_ops :
	    &store_sqlite_ops;
	char *err = NULL;
	enum tk_status ts;

	*out = s;
	s->threaded = (flags & STORE_THREADED) != 0;
	s->target = xstrdup(target);
	s->own = ops->dialect == DB_PG ? stmt_pg : stmt_sqlite;
	ts = ops->open(target, busy_timeout, (flags & STORE_READONLY) != 0,
	    &s->db, &err);
	if (ts != TK_OK) {
		free(s->errmsg);
		char *shown = store_describe(target);

		s->errmsg = err ? xstrdup(err) : xasprintf("%s: %s", shown,
		    s->db ? s->db->ops->errmsg(s->db) : "cannot open");
		free(shown);
		free(err);
		return ts;
	}
	/* Reads only: the schema must be the one this tiketti knows. */
	if (flags & STORE_READONLY)
		return schema_usable(s, s->db->ops->version_get(s->db), 0);
	return migrate(s);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	writer_done(s);
	if (s->db) {
		for (int i = 0; i < Q__COUNT; i++)
			if (s->stmt[i])
				s->db->ops->finalize(s->stmt[i]);
		s->db->ops->close(s->db);
	}
	free(s->target);
	free(s->errmsg);
	free(s);
}

enum tk_status
store_lock_try(struct store *s, const char *name, int *held)
{
	enum tk_status ts = s->db->ops->lock_try(s->db, name, held);

	if (ts != TK_OK)
		seterr(s, "lock");
	return ts;
}

int
store_retryable(const struct store *s)
{
	return s->db && s->db->ops->retryable(s->db);
}

void
store_unlock(struct store *s)
{
	s->db->ops->unlock(s->db);
}

/*
 * The whole store, table by table in the order their references need,
 * each in the order of its key: what `tiketti db copy` moves between
 * backends. The columns are the same on both; attachments keep their
 * order (rowid, id) and get new ids. The blob column is raw mail.
 */
static const struct copy_table {
	const char	*name;
	const char	*cols;
	const char	*order;		/* NULL: the dialect's row order */
	int		 blob;		/* column index of a blob, or -1 */
	const char	*pg_values;	/* PostgreSQL's VALUES, if not plain */
} copy_tables[] = {
	{ "tickets", "id, subject, status, priority, category, requester,"
	    " requester_name, assignee, mailbox, parent, created_at,"
	    " updated_at, status_at, last_customer_at, lang, skill, erased_at,"
	    " merged_into", "id",
	    -1, NULL },
	{ "participants", "ticket_id, address, merged_from",
	    "ticket_id, address", -1, NULL },
	{ "messages", "id, ticket_id, dedupe_key, message_id, direction,"
	    " kind, from_addr, from_name, subject, date, received_at, mailbox,"
	    " flags, body, sha256, new_text, merged_from", "id", -1, NULL },
	{ "raw_messages", "message, raw", "message", 1, NULL },
	{ "attachments", "message, name, type, size, sha256", NULL, -1, NULL },
	{ "events", "id, ticket_id, at, type, actor, old, new, message,"
	    " merged_from", "id", -1, NULL },
	{ "tags", "ticket_id, tag", "ticket_id, tag", -1, NULL },
	{ "outbox", "id, ticket_id, kind, to_addr, subject, headers, body,"
	    " rule, message, dedupe, state, attempts, next_at, last_error,"
	    " created_at, sent_at, out_message, claimed_at, interrupted,"
	    " while_status", "id", -1, NULL },
	{ "rule_fired", "rule, ticket_id, occurrence, at",
	    "rule, ticket_id, occurrence", -1, NULL },
	{ "rule_horizon", "rule, upto", "rule", -1, NULL },
	{ "agent_state", "name, away, until_at, since, why", "name", -1, NULL },
	{ "fields", "ticket_id, name, value", "ticket_id, name", -1, NULL },
	{ "lookup_cache", "name, url, at, answer", "name, url", -1, NULL },
	{ "oauth_grants", "account, refresh_token, access_token, expires_at,"
	    " updated_at", "account", -1, NULL },
	{ "health", "name, at, ok, detail", "name", -1, NULL },
	{ "blocked", "address, at, actor", "address", -1, NULL },
	/* PostgreSQL keeps bounced addresses in lower case. */
	{ "bounced", "address, at, ticket_id", "address", -1,
	    "lower(?1), ?2, ?3" },
	{ "imap_state", "account, folder, uidvalidity, last_uid, acted_uid",
	    "account, folder", -1, NULL },
	{ "imap_skipped", "account, folder, uidvalidity, uid, size, reason,"
	    " at", "account, folder, uidvalidity, uid", -1, NULL },
};

/* After rows came with their ids, PostgreSQL's identities go on after them. */
static const char copy_pg_after[] =
"SELECT setval(pg_get_serial_sequence('tickets', 'id'),"
"  (SELECT coalesce(max(id), 0) + 1 FROM tickets), false);"
"SELECT setval(pg_get_serial_sequence('messages', 'id'),"
"  (SELECT coalesce(max(id), 0) + 1 FROM messages), false);"
"SELECT setval(pg_get_serial_sequence('events', 'id'),"
"  (SELECT coalesce(max(id), 0) + 1 FROM events), false);"
"SELECT setval(pg_get_serial_sequence('outbox', 'id'),"
"  (SELECT coalesce(max(id), 0) + 1 FROM outbox), false);";

#define COPY_BATCH	1000	/* rows a transaction */

/* The number of columns of a list "a, b, c". */
static int
ncols(const char *cols)
{
	int n = 1;

	for (const char *c = cols; *c; c++)
		n += *c == ',';
	return n;
}

/* Copies one table; *rows gets how many. */
static enum tk_status
copy_one(struct store *src, struct store *dst, const struct copy_table *t,
    int64_t *rows)
{
	int n = ncols(t->cols), pending = 0;
	struct db_stmt *rd, *wr;
	struct buf sql;
	enum tk_status ts = TK_OK;
	enum db_rc rc;

	*rows = 0;
	buf_init(&sql, 0);
	buf_printf(&sql, "SELECT %s FROM %s ORDER BY %s", t->cols, t->name,
	    t->order ? t->order :
	    src->db->ops->dialect == DB_PG ? "id" : "rowid");
	rd = src->db->ops->prepare(src->db, sql.data);
	buf_reset(&sql);
	buf_printf(&sql, "INSERT INTO %s (%s) VALUES (", t->name, t->cols);
	if (t->pg_values && dst->db->ops->dialect == DB_PG)
		buf_addstr(&sql, t->pg_values);
	else
		for (int i = 1; i <= n; i++)
			buf_printf(&sql, "%s?%d", i > 1 ? ", " : "", i);
	buf_addc(&sql, ')');
	wr = dst->db->ops->prepare(dst->db, sql.data);
	buf_free(&sql);
	if (rd == NULL || wr == NULL) {
		seterr(rd == NULL ? src : dst, t->name);
		ts = TK_EIO;
		goto out;
	}
	while ((rc = db_step(rd)) == DB_ROW) {
		if (pending == 0 && (ts = store_begin(dst)) != TK_OK)
			goto out;
		for (int i = 0; i < n; i++) {
			if (db_is_null(rd, i))
				db_bind_null(wr, i + 1);
			else if (i == t->blob) {
				size_t len;
				const void *p = db_blob(rd, i, &len);

				db_bind_blob(wr, i + 1, p, len);
			} else
				db_bind_text(wr, i + 1, db_text(rd, i));
		}
		if ((ts = run_later(dst, wr, t->name)) != TK_OK) {
			store_rollback(dst);
			goto out;
		}
		(*rows)++;
		if (++pending == COPY_BATCH) {
			pending = 0;
			if ((ts = store_commit(dst)) != TK_OK)
				goto out;
		}
	}
	if (rc == DB_ERROR) {
		seterr(src, t->name);
		ts = rc_status(src, rc);
		if (pending)
			store_rollback(dst);
		goto out;
	}
	if (pending)
		ts = store_commit(dst);
out:
	if (rd)
		src->db->ops->finalize(rd);
	if (wr)
		dst->db->ops->finalize(wr);
	return ts;
}

enum tk_status
store_copy(struct store *src, struct store *dst,
    void (*progress)(const char *table, int64_t rows, void *arg), void *arg)
{
	struct db_stmt *st = stmt(dst, Q_STORE_EMPTY);
	enum tk_status ts;
	enum db_rc rc;
	int64_t n;
	int empty;

	if (st == NULL)
		return TK_EIO;
	if ((rc = db_step(st)) == DB_ERROR)
		seterr(dst, "target");
	empty = rc == DB_ROW && db_int64(st, 0) != 0;
	db_reset(st);
	if (rc == DB_ERROR)
		return rc_status(dst, rc);
	if (!empty) {
		free(dst->errmsg);
		dst->errmsg = xstrdup("the target database is not empty");
		return TK_EPERM;
	}
	/* One snapshot of the source for every table. */
	if ((ts = exec_plain(src, src->db->ops->dialect == DB_PG ?
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
	    "begin")) != TK_OK)
		return ts;
	for (size_t i = 0; i < sizeof(copy_tables) / sizeof(copy_tables[0]);
	    i++) {
		if ((ts = copy_one(src, dst, &copy_tables[i], &n)) != TK_OK) {
			/* The error is told in dst, whichever side it was. */
			if (src->errmsg) {
				free(dst->errmsg);
				dst->errmsg = xasprintf("%s", src->errmsg);
			}
			break;
		}
		if (progress)
			progress(copy_tables[i].name, n, arg);
	}
	rollback_quietly(src);		/* it only read */
	if (ts == TK_OK && dst->db->ops->dialect == DB_PG)
		ts = exec_plain(dst, copy_pg_after, "identities");
	return ts;
}

int
store_schema_version(struct store *s)
{
	return s->db->ops->version_get(s->db);
}

enum tk_status
store_prepare_all(struct store *s)
{
	enum tk_status ts;

	/* The report's times table must exist for its statements. */
	if ((ts = exec_plain(s, REP_TIMES_TABLE, "report")) != TK_OK)
		return ts;
	for (int i = 0; i < Q__COUNT; i++)
		if (stmt(s, (enum stmt_id)i) == NULL) {
			char *e = s->errmsg;

			s->errmsg = xasprintf("statement %d: %s", i, e);
			free(e);
			return s->db->ops->status(s->db);
		}
	return TK_OK;
}

const char *
store_path(const struct store *s)
{
	return s->target;
}

const char *
store_errmsg(const struct store *s)
{
	return s && s->errmsg ? s->errmsg : "no error";
}

static enum tk_status
simple(struct store *s, enum stmt_id id, const char *what)
{
	struct db_stmt *st = stmt(s, id);

	return st ? run(s, st, what) : TK_EIO;
}

static enum tk_status
begin(struct store *s, int shared)
{
	enum tk_status ts;

	if (s->threaded && !s->writing) {
		pthread_mutex_lock(&writer_lock);
		s->writing = 1;
	}
	if ((ts = s->db->ops->begin(s->db, shared)) != TK_OK) {
		seterr(s, "begin");
		writer_done(s);
	}
	return ts;
}

enum tk_status store_begin(struct store *s) { return begin(s, 0); }
enum tk_status store_begin_shared(struct store *s) { return begin(s, 1); }

static int
key_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* A key's 64-bit FNV-1a hash, in a space of tiketti's own. */
static int64_t
key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = "tiketti.claim:"; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (int64_t)h;
}

enum tk_status
store_claim(struct store *s, const char *const *keys, size_t n, int wait,
    int *held)
{
	int64_t *h = xreallocarray(NULL, n ? n : 1, sizeof(*h));
	size_t m = 0;
	enum tk_status ts;

	for (size_t i = 0; i < n; i++)
		h[i] = key_hash(keys[i]);
	qsort(h, n, sizeof(*h), key_cmp);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || h[m - 1] != h[i])
			h[m++] = h[i];
	if ((ts = s->db->ops->claim(s->db, h, m, wait, held)) != TK_OK)
		seterr(s, "claim");
	free(h);
	return ts;
}

/* A commit that fails rolls back: the transaction always ends here. */
enum tk_status
store_commit(struct store *s)
{
	enum tk_status ts = simple(s, Q_COMMIT, "commit");

	if (ts != TK_OK)
		rollback_quietly(s);
	writer_done(s);
	return ts;
}

enum tk_status
store_savepoint(struct store *s)
{
	struct db_stmt *st = stmt(s, Q_SAVEPOINT);

	return st ? run_later(s, st, "savepoint") : TK_EIO;
}

enum tk_status store_release(struct store *s) { return simple(s, Q_RELEASE, "release"); }

void
store_rollback(struct store *s)
{
	if (s->db->ops->in_transaction(s->db))
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
store_message_find(struct store *s, const char *key, const char *sender,
    int *found, int64_t *row, int64_t *ticket, int *blocked)
{
	struct db_stmt *st = stmt(s, Q_MSG_FIND);
	enum db_rc rc;

	*found = *blocked = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, sender);
	if ((rc = db_step(st)) == DB_ROW) {
		*found = !db_is_null(st, 0);
		*row = db_int64(st, 0);
		*ticket = db_int64(st, 1);
		*blocked = db_int64(st, 2) != 0;
	} else
		seterr(s, "find message");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_ticket_by_message_id(struct store *s, const char *mid, int64_t *ticket)
{
	struct db_stmt *st = stmt(s, Q_TICKET_BY_MID);
	enum db_rc rc;

	*ticket = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, mid);
	rc = db_step(st);
	if (rc == DB_ROW)
		*ticket = db_int64(st, 0);
	else if (rc != DB_DONE)
		seterr(s, "find message-id");
	db_reset(st);
	return rc_status(s, rc);
}

static void
bind_id(struct db_stmt *st, int i, int64_t v)
{
	if (v)
		db_bind_int64(st, i, v);
	else
		db_bind_null(st, i);
}

enum tk_status
store_message_insert(struct store *s, struct store_message *m, int64_t *row)
{
	struct db_stmt *st = stmt(s, Q_MSG_INSERT);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	bind_id(st, 1, m->ticket);
	db_bind_text(st, 2, m->dedupe_key);
	db_bind_text(st, 3, m->message_id);
	db_bind_text(st, 4, m->direction);
	db_bind_text(st, 5, m->kind);
	db_bind_text(st, 6, m->from_addr);
	db_bind_text(st, 7, m->from_name);
	db_bind_text(st, 8, m->subject);
	bind_id(st, 9, m->date);
	db_bind_int64(st, 10, m->received_at);
	db_bind_text(st, 11, m->mailbox);
	db_bind_int64(st, 12, m->flags);
	db_bind_text(st, 13, m->body);
	db_bind_text(st, 14, m->sha256);
	db_bind_text(st, 15, m->new_text);
	db_bind_int64(st, 16, m->held_flags);
	*row = 0;
	if ((rc = db_step(st)) == DB_ROW) {
		*row = db_int64(st, 0);
		m->flags = (int)db_int64(st, 1);
	} else
		seterr(s, "insert message");
	db_reset(st);
	if (rc != DB_ROW)
		return rc == DB_ERROR ? rc_status(s, rc) : TK_EIO;
	if ((st = stmt(s, Q_RAW_INSERT)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, *row);
	db_bind_blob(st, 2, m->raw, m->rawlen);
	return run_later(s, st, "insert raw message");
}

enum tk_status
store_attachment_add(struct store *s, int64_t msgrow, const char *name,
    const char *type, int64_t size, const char *sha256)
{
	struct db_stmt *st = stmt(s, Q_ATT_INSERT);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, msgrow);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, type);
	db_bind_int64(st, 4, size);
	db_bind_text(st, 5, sha256);
	return run_later(s, st, "insert attachment");
}

static char *
col_dup(struct db_stmt *st, int i)
{
	const char *v = db_text(st, i);

	return v ? xstrdup(v) : NULL;
}

static const char *
col(struct db_stmt *st, int i)
{
	return db_text(st, i);
}

/* Fills t from a row of TICKET_COLS; strings are copies. */
static void
ticket_from_row(struct db_stmt *st, struct store_ticket *t)
{
	memset(t, 0, sizeof(*t));
	t->id = db_int64(st, 0);
	t->subject = col_dup(st, 1);
	t->status = col_dup(st, 2);
	t->priority = col_dup(st, 3);
	t->category = col_dup(st, 4);
	t->requester = col_dup(st, 5);
	t->requester_name = col_dup(st, 6);
	t->assignee = col_dup(st, 7);
	t->mailbox = col_dup(st, 8);
	t->parent = db_int64(st, 9);
	t->created_at = db_int64(st, 10);
	t->updated_at = db_int64(st, 11);
	t->status_at = db_int64(st, 12);
	t->nmessages = db_int64(st, 13);
	t->tags = col_dup(st, 14);
	t->last_customer_at = db_int64(st, 15);
	t->lang = col_dup(st, 16);
	t->skill = col_dup(st, 17);
	t->csat = (int)db_int64(st, 18);
	t->erased_at = db_int64(st, 19);
	t->merged_into = db_int64(st, 20);
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
	for (size_t i = 0; i < t->nfields; i++) {
		free(t->fields[i].name);
		free(t->fields[i].value);
	}
	free(t->fields);
	memset(t, 0, sizeof(*t));
}

enum tk_status
store_lookup_get(struct store *s, const char *name, const char *url,
    int64_t since, char **answer)
{
	struct db_stmt *st = stmt(s, Q_LOOKUP_GET);
	enum db_rc rc;

	*answer = NULL;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, url);
	db_bind_int64(st, 3, since);
	if ((rc = db_step(st)) == DB_ROW)
		*answer = xstrdup(db_text(st, 0) ? db_text(st, 0) : "");
	else if (rc != DB_DONE)
		seterr(s, "read the lookup cache");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_lookup_put(struct store *s, const char *name, const char *url,
    int64_t at, const char *answer)
{
	struct db_stmt *st = stmt(s, Q_LOOKUP_PUT);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, url);
	db_bind_int64(st, 3, at);
	db_bind_text(st, 4, answer);
	if ((rc = db_step(st)) != DB_DONE)
		seterr(s, "write the lookup cache");
	db_reset(st);
	return rc_status(s, rc);
}

const char *
store_ticket_field(const struct store_ticket *t, const char *name)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0)
			return t->fields[i].value;
	return NULL;
}

enum tk_status
store_field_set(struct store *s, int64_t ticket, const char *name,
    const char *value)
{
	struct db_stmt *st = stmt(s, value ? Q_FIELD_SET : Q_FIELD_DEL);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_text(st, 2, name);
	if (value)
		db_bind_text(st, 3, value);
	if ((rc = db_step(st)) != DB_DONE)
		seterr(s, "set a field");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_ticket_get(struct store *s, int64_t id, struct store_ticket *t,
    int *found)
{
	struct db_stmt *st = stmt(s, Q_TICKET_GET);
	enum db_rc rc;

	memset(t, 0, sizeof(*t));
	*found = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		ticket_from_row(st, t);
		*found = 1;
	} else if (rc != DB_DONE)
		seterr(s, "get ticket");
	db_reset(st);
	if (rc != DB_ROW || (st = stmt(s, Q_FIELDS_GET)) == NULL)
		return rc == DB_ROW ? TK_EIO : rc_status(s, rc);
	/* Its fields, by name. */
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == DB_ROW) {
		t->fields = xreallocarray(t->fields, t->nfields + 1,
		    sizeof(*t->fields));
		t->fields[t->nfields].name = xstrdup(db_text(st, 0));
		t->fields[t->nfields++].value = xstrdup(db_text(st, 1));
	}
	if (rc != DB_DONE)
		seterr(s, "get a ticket's fields");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_ticket_status(struct store *s, int64_t id, char *status, size_t size)
{
	struct db_stmt *st = stmt(s, Q_TICKET_STATUS);
	enum db_rc rc;

	if (size)
		status[0] = '\0';
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == DB_ROW)
		snprintf(status, size, "%s", col(st, 0));
	else if (rc != DB_DONE)
		seterr(s, "get a ticket's status");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_ticket_insert(struct store *s, struct store_ticket *t)
{
	struct db_stmt *st = stmt(s, Q_TICKET_INSERT);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, t->subject ? t->subject : "");
	db_bind_text(st, 2, t->status ? t->status : "new");
	db_bind_text(st, 3, t->priority ? t->priority : "normal");
	db_bind_text(st, 4, t->requester);
	db_bind_text(st, 5, t->requester_name);
	db_bind_text(st, 6, t->mailbox);
	bind_id(st, 7, t->parent);
	db_bind_int64(st, 8, t->created_at);
	return run_id(s, st, "insert ticket", &t->id);
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
	struct db_stmt *st = NULL;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, field) == 0)
			st = stmt(s, fields[i].q);
	if (st == NULL) {
		free(s->errmsg);
		s->errmsg = xasprintf("no ticket field \"%s\"", field);
		return TK_EPERM;
	}
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, value);
	db_bind_int64(st, 3, now);
	return run(s, st, "update ticket");
}

enum tk_status
store_ticket_touch(struct store *s, int64_t id, int64_t now)
{
	struct db_stmt *st = stmt(s, Q_TICKET_TOUCH);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, now);
	return run_later(s, st, "touch ticket");
}

static enum tk_status
id_text(struct store *s, enum stmt_id q, int64_t id, const char *v,
    const char *what)
{
	struct db_stmt *st = stmt(s, q);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, v);
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
	struct db_stmt *st = stmt(s, Q_PART_IS);
	enum db_rc rc;

	*yes = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_text(st, 2, addr);
	rc = db_step(st);
	*yes = rc == DB_ROW;
	if (rc != DB_ROW && rc != DB_DONE)
		seterr(s, "participant");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_event_add(struct store *s, int64_t ticket, int64_t at, const char *type,
    const char *actor, const char *old, const char *new_, int64_t msgrow)
{
	struct db_stmt *st = stmt(s, Q_EVENT_ADD);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_int64(st, 2, at);
	db_bind_text(st, 3, type);
	db_bind_text(st, 4, actor);
	db_bind_text(st, 5, old);
	db_bind_text(st, 6, new_);
	bind_id(st, 7, msgrow);
	return run_later(s, st, "add event");
}

/* Steps a query to its end; each row goes to row(st, fn, arg). */
static enum tk_status
each(struct store *s, struct db_stmt *st, const char *what,
    int (*row)(struct db_stmt *, void *, void *), void *fn, void *arg)
{
	enum db_rc rc;

	while ((rc = db_step(st)) == DB_ROW)
		if (row(st, fn, arg))
			break;
	if (rc != DB_ROW && rc != DB_DONE)
		seterr(s, what);
	db_reset(st);
	return rc_status(s, rc);
}

static int
ticket_row(struct db_stmt *st, void *fn, void *arg)
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
	struct db_stmt *st = stmt(s, status ? Q_TICKET_LIST_STATUS : Q_TICKET_LIST);

	if (st == NULL)
		return TK_EIO;
	if (status)
		db_bind_text(st, 1, status);
	return each(s, st, "list tickets", ticket_row, (void *)fn, arg);
}

enum tk_status
store_queue(struct store *s, int (*fn)(const struct store_ticket *, void *),
    void *arg)
{
	struct db_stmt *st = stmt(s, Q_QUEUE);

	if (st == NULL)
		return TK_EIO;
	return each(s, st, "queue", ticket_row, (void *)fn, arg);
}

static int
msg_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_msginfo *, void *) =
	    (int (*)(const struct store_msginfo *, void *))fn;
	struct store_msginfo m = {
		.message_id = col(st, 0), .from_addr = col(st, 1),
		.direction = col(st, 2), .kind = col(st, 3),
		.subject = col(st, 4), .date = db_int64(st, 5),
		.flags = (int)db_int64(st, 6),
		.id = db_int64(st, 7), .text = col(st, 8),
		.new_text = col(st, 9),
	};

	return cb(&m, arg);
}

static int
att_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_attachment *, void *) =
	    (int (*)(const struct store_attachment *, void *))fn;
	struct store_attachment a = {
		.name = col(st, 0), .type = col(st, 1),
		.size = db_int64(st, 2), .sha256 = col(st, 3),
	};

	return cb(&a, arg);
}

enum tk_status
store_message_attachments(struct store *s, int64_t message,
    int (*fn)(const struct store_attachment *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_MSG_ATTACHMENTS);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, message);
	return each(s, st, "list attachments", att_row, (void *)fn, arg);
}

enum tk_status
store_message_raw(struct store *s, int64_t message, struct buf *out,
    int *found)
{
	struct db_stmt *st = stmt(s, Q_MSG_RAW);
	enum db_rc rc;

	*found = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, message);
	if ((rc = db_step(st)) == DB_ROW) {
		size_t n;
		const void *p = db_blob(st, 0, &n);

		*found = 1;
		if (buf_add(out, p, n) != TK_OK) {
			db_reset(st);
			free(s->errmsg);
			s->errmsg = xstrdup("raw message over the buffer's cap");
			return TK_ELIMIT;
		}
		rc = DB_DONE;
	}
	if (rc != DB_DONE)
		seterr(s, "read raw message");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_ticket_messages(struct store *s, int64_t ticket,
    int (*fn)(const struct store_msginfo *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_TICKET_MESSAGES);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	return each(s, st, "list messages", msg_row, (void *)fn, arg);
}

static int
event_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_event *, void *) =
	    (int (*)(const struct store_event *, void *))fn;
	struct store_event e = {
		.at = db_int64(st, 0), .type = col(st, 1),
		.actor = col(st, 2), .old = col(st, 3), .new_ = col(st, 4),
		.message = db_int64(st, 5),
	};

	return cb(&e, arg);
}

enum tk_status
store_ticket_events(struct store *s, int64_t ticket,
    int (*fn)(const struct store_event *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_TICKET_EVENTS);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	return each(s, st, "list events", event_row, (void *)fn, arg);
}

static int
step_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(int64_t, const struct sla_step *, void *) =
	    (int (*)(int64_t, const struct sla_step *, void *))fn;
	struct sla_step sp = {
		.at = db_int64(st, 1),
		.kind = (enum sla_step_kind)db_int64(st, 2),
		.value = db_text(st, 3),
	};

	return cb(db_int64(st, 0), &sp, arg);
}

enum tk_status
store_steps(struct store *s, enum store_steps which, int64_t a, int64_t b,
    const char *mailbox,
    int (*fn)(int64_t ticket, const struct sla_step *, void *), void *arg)
{
	static const enum stmt_id q[] = {
		[STORE_STEPS_TICKET] = Q_STEPS_TICKET,
		[STORE_STEPS_OPEN] = Q_STEPS_OPEN,
		[STORE_STEPS_WAITING] = Q_STEPS_WAITING,
		[STORE_STEPS_CREATED] = Q_STEPS_CREATED,
	};
	struct db_stmt *st = stmt(s, q[which]);

	if (st == NULL)
		return TK_EIO;
	if (which == STORE_STEPS_TICKET)
		db_bind_int64(st, 1, a);
	else if (which == STORE_STEPS_CREATED) {
		db_bind_int64(st, 1, a);
		db_bind_int64(st, 2, b);
		db_bind_text(st, 3, mailbox);
	}
	return each(s, st, "read a ticket's life", step_row, (void *)fn, arg);
}

enum tk_status
store_count_messages(struct store *s, int64_t *all, int64_t *flagged)
{
	struct db_stmt *st = stmt(s, Q_COUNT_MESSAGES);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	rc = db_step(st);
	if (rc == DB_ROW) {
		*all = db_int64(st, 0);
		*flagged = db_int64(st, 1);
	} else
		seterr(s, "count");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_tag_remove(struct store *s, int64_t ticket, const char *tag)
{
	return id_text(s, Q_TAG_REMOVE, ticket, tag, "remove tag");
}

enum tk_status
store_ticket_erase(struct store *s, int64_t ticket, int64_t now,
    const char *pseudonym, const char *actor, const char *why)
{
	/* In this order: customers are told from agents by the messages,
	 * before these lose their senders. */
	static const enum stmt_id steps[] = { Q_ERASE_ACTORS, Q_ERASE_VALUES,
	    Q_ERASE_MESSAGES, Q_ERASE_RAW, Q_ERASE_ATTACHMENTS, Q_ERASE_FIELDS,
	    Q_ERASE_PARTICIPANTS, Q_ERASE_OUTBOX, Q_ERASE_BOUNCED };
	struct db_stmt *st;
	enum tk_status ts;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((st = stmt(s, steps[i])) == NULL)
			return TK_EIO;
		db_bind_int64(st, 1, ticket);
		if ((ts = run(s, st, "erase")) != TK_OK)
			return ts;
	}
	if ((st = stmt(s, Q_ERASE_TICKET)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_int64(st, 2, now);
	db_bind_text(st, 3, pseudonym);
	if ((ts = run(s, st, "erase ticket")) != TK_OK)
		return ts;
	return store_event_add(s, ticket, now, "erased", actor, NULL, why, 0);
}

enum tk_status
store_retention_due(struct store *s, int64_t before,
    int (*fn)(int64_t, const char *, int64_t, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_RETENTION_DUE);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, before);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(db_int64(st, 0), col(st, 1), db_int64(st, 2), arg)) {
			rc = DB_DONE;
			break;
		}
	if (rc != DB_DONE)
		seterr(s, "tickets past retention");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_tickets_of(struct store *s, const char *address, int64_t **ids,
    size_t *n)
{
	struct db_stmt *st = stmt(s, Q_TICKETS_OF);
	enum db_rc rc;

	*ids = NULL;
	*n = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, address);
	while ((rc = db_step(st)) == DB_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = db_int64(st, 0);
	}
	if (rc != DB_DONE)
		seterr(s, "an address's tickets");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_forget_address(struct store *s, const char *address)
{
	struct db_stmt *st;
	enum tk_status ts;
	char *plain, *encoded, *at;

	if ((st = stmt(s, Q_FORGET_OUTBOX)) == NULL)
		return TK_EIO;
	db_bind_text(st, 1, address);
	if ((ts = run(s, st, "forget outbox")) != TK_OK)
		return ts;
	if ((st = stmt(s, Q_FORGET_BOUNCED)) == NULL)
		return TK_EIO;
	db_bind_text(st, 1, address);
	if ((ts = run(s, st, "forget bounce")) != TK_OK)
		return ts;
	if ((st = stmt(s, Q_FORGET_LOOKUPS)) == NULL)
		return TK_EIO;
	/* In a URL as it is and with its @ encoded; LIKE's own characters
	 * in an address (_ and %) match more, never less. */
	plain = xasprintf("%%%s%%", address);
	for (char *p = plain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	at = strchr(plain, '@');
	encoded = at ? xasprintf("%.*s%%40%s", (int)(at - plain), plain,
	    at + 1) : xstrdup(plain);
	db_bind_text(st, 1, plain);
	db_bind_text(st, 2, encoded);
	ts = run(s, st, "forget lookups");
	free(plain);
	free(encoded);
	return ts;
}

enum tk_status
store_outbox_to(struct store *s, const char *address,
    int (*fn)(const struct store_outbox *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_TO);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, address);
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_outbox o = { 0 };

		o.id = db_int64(st, 0);
		o.ticket = db_int64(st, 1);
		o.kind = col(st, 2);
		o.to = address;
		o.subject = col(st, 3);
		o.state = col(st, 4);
		o.created_at = db_int64(st, 5);
		o.sent_at = db_int64(st, 6);
		if (fn(&o, arg)) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		seterr(s, "an address's outbox");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_grant_get(struct store *s, const char *account, struct store_grant *g,
    int *found)
{
	struct db_stmt *st = stmt(s, Q_GRANT_GET);
	enum db_rc rc;

	memset(g, 0, sizeof(*g));
	*found = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	if ((rc = db_step(st)) == DB_ROW) {
		*found = 1;
		g->refresh_token = col_dup(st, 0);
		g->access_token = col_dup(st, 1);
		g->expires_at = db_int64(st, 2);
		g->updated_at = db_int64(st, 3);
	} else if (rc != DB_DONE)
		seterr(s, "oauth grant");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_grant_put(struct store *s, const char *account,
    const struct store_grant *g)
{
	struct db_stmt *st = stmt(s, Q_GRANT_PUT);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	db_bind_text(st, 2, g->refresh_token);
	db_bind_text(st, 3, g->access_token);
	db_bind_int64(st, 4, g->expires_at);
	db_bind_int64(st, 5, g->updated_at);
	return run(s, st, "save oauth grant");
}

static enum tk_status each(struct store *, struct db_stmt *, const char *,
    int (*)(struct db_stmt *, void *, void *), void *, void *);
static int outbox_row(struct db_stmt *, void *, void *);

/* Runs the statements with ?1 src, ?2 dst, ?3 now (what a step binds). */
static enum tk_status
merge_steps(struct store *s, const enum stmt_id *q, size_t n, int64_t src,
    int64_t dst)
{
	enum tk_status ts;

	for (size_t i = 0; i < n; i++) {
		struct db_stmt *st = stmt(s, q[i]);

		if (st == NULL)
			return TK_EIO;
		db_bind_int64(st, 1, src);
		db_bind_int64(st, 2, dst);
		if ((ts = run(s, st, "merge")) != TK_OK)
			return ts;
	}
	return TK_OK;
}

enum tk_status
store_ticket_merge(struct store *s, int64_t src, int64_t dst, int64_t now)
{
	static const enum stmt_id q[] = { Q_MERGE_MESSAGES, Q_MERGE_EVENTS,
	    Q_MERGE_PARTS };
	struct db_stmt *st;
	enum tk_status ts;

	if ((ts = merge_steps(s, q, 3, src, dst)) != TK_OK)
		return ts;
	if ((st = stmt(s, Q_MERGE_TICKET)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, src);
	db_bind_int64(st, 2, dst);
	db_bind_int64(st, 3, now);
	return run(s, st, "merge ticket");
}

enum tk_status
store_ticket_unmerge(struct store *s, int64_t src, int64_t dst,
    const char *status, int64_t now)
{
	static const enum stmt_id q[] = { Q_UNMERGE_MESSAGES, Q_UNMERGE_EVENTS,
	    Q_UNMERGE_PARTS };
	struct db_stmt *st;
	enum tk_status ts;

	if ((ts = merge_steps(s, q, 3, src, dst)) != TK_OK)
		return ts;
	if ((st = stmt(s, Q_UNMERGE_TICKET)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, src);
	db_bind_text(st, 2, status);
	db_bind_int64(st, 3, now);
	return run(s, st, "unmerge ticket");
}

enum tk_status
store_message_move(struct store *s, int64_t message, int64_t ticket)
{
	static const enum stmt_id q[] = { Q_MOVE_MESSAGE,
	    Q_MOVE_MESSAGE_EVENTS };

	return merge_steps(s, q, 2, message, ticket);
}

enum tk_status
store_participants_copy(struct store *s, int64_t from, int64_t to)
{
	static const enum stmt_id q[] = { Q_COPY_PARTS };

	return merge_steps(s, q, 1, from, to);
}

enum tk_status
store_ticket_follow(struct store *s, int64_t *ticket)
{
	/* A chain of merges, never a loop: ticket_merge refuses one. */
	for (int hops = 0; *ticket && hops < 32; hops++) {
		struct db_stmt *st = stmt(s, Q_MERGED_INTO);
		int64_t into = 0;
		enum db_rc rc;

		if (st == NULL)
			return TK_EIO;
		db_bind_int64(st, 1, *ticket);
		if ((rc = db_step(st)) == DB_ROW)
			into = db_int64(st, 0);
		else if (rc != DB_DONE)
			seterr(s, "merged into");
		db_reset(st);
		if (rc == DB_ERROR)
			return rc_status(s, rc);
		if (into == 0)
			break;
		*ticket = into;
	}
	return TK_OK;
}

static enum tk_status int_by_text(struct store *, enum stmt_id, const char *,
    int64_t *, int *, const char *);

enum tk_status
store_block(struct store *s, const char *address, int add, int64_t at,
    const char *actor)
{
	struct db_stmt *st = stmt(s, add ? Q_BLOCK_ADD : Q_BLOCK_DEL);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, address);
	if (add) {
		db_bind_int64(st, 2, at);
		db_bind_text(st, 3, actor);
	}
	return run(s, st, add ? "block" : "unblock");
}

enum tk_status
store_block_list(struct store *s,
    int (*fn)(const char *address, int64_t at, const char *actor, void *),
    void *arg)
{
	struct db_stmt *st = stmt(s, Q_BLOCK_LIST);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(col(st, 0), db_int64(st, 1), col(st, 2), arg)) {
			rc = DB_DONE;
			break;
		}
	if (rc != DB_DONE)
		seterr(s, "block list");
	db_reset(st);
	return rc_status(s, rc);
}

/* Runs each statement of q with ?1 bound to v. */
static enum tk_status
steps_with(struct store *s, const enum stmt_id *q, size_t n, int64_t v,
    const char *what)
{
	enum tk_status ts;

	for (size_t i = 0; i < n; i++) {
		struct db_stmt *st = stmt(s, q[i]);

		if (st == NULL)
			return TK_EIO;
		db_bind_int64(st, 1, v);
		if ((ts = run(s, st, what)) != TK_OK)
			return ts;
	}
	return TK_OK;
}

enum tk_status
store_ticket_purge(struct store *s, int64_t ticket)
{
	/* In this order: what refers to a row goes before it. */
	static const enum stmt_id q[] = { Q_PURGE_PARENT, Q_PURGE_ATT,
	    Q_PURGE_RAW, Q_PURGE_OUTBOX, Q_PURGE_OUTBOX_MSG, Q_PURGE_OUTBOX_OUT,
	    Q_PURGE_EVENTS, Q_PURGE_EVENTS_MSG, Q_PURGE_MESSAGES,
	    Q_PURGE_PARTS, Q_PURGE_TAGS, Q_PURGE_FIELDS, Q_PURGE_FIRED,
	    Q_PURGE_BOUNCED, Q_PURGE_TICKET };

	return steps_with(s, q, sizeof(q) / sizeof(q[0]), ticket, "purge");
}

enum tk_status
store_purge_loose_spam(struct store *s, int64_t before)
{
	static const enum stmt_id q[] = { Q_PURGE_LOOSE_ATT, Q_PURGE_LOOSE_RAW,
	    Q_PURGE_LOOSE };

	return steps_with(s, q, 3, before, "purge spam");
}

enum tk_status
store_spam_tickets(struct store *s, int64_t before, int64_t **ids, size_t *n)
{
	struct db_stmt *st = stmt(s, Q_PURGE_SPAM_TICKETS);
	enum db_rc rc;

	*ids = NULL;
	*n = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, before);
	while ((rc = db_step(st)) == DB_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = db_int64(st, 0);
	}
	if (rc != DB_DONE)
		seterr(s, "spam tickets");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_copy_claim(struct store *s, const char *account, int64_t now,
    int64_t after, int64_t *id)
{
	struct db_stmt *st = stmt(s, Q_COPY_CLAIM);
	enum db_rc rc;

	*id = 0;
	if (st == NULL)
		return TK_EIO;

	db_bind_int64(st, 1, now);
	db_bind_text(st, 2, account);
	db_bind_int64(st, 3, after);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*id = db_int64(st, 0);
		rc = db_step(st);	/* finish the UPDATE */
	}
	if (rc != DB_DONE)
		seterr(s, "claim a Sent copy");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_fired_of(struct store *s, int64_t ticket,
    int (*fn)(const char *rule, int64_t occurrence, int64_t at, void *),
    void *arg)
{
	struct db_stmt *st = stmt(s, Q_FIRED_OF);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(col(st, 0), db_int64(st, 1), db_int64(st, 2), arg)) {
			rc = DB_DONE;
			break;
		}
	if (rc != DB_DONE)
		seterr(s, "fired rules");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_added_marks(struct store *s, int64_t *events, int64_t *outbox)
{
	struct db_stmt *st = stmt(s, Q_ADDED_MARKS);
	enum db_rc rc;

	*events = *outbox = 0;
	if (st == NULL)
		return TK_EIO;
	if ((rc = db_step(st)) == DB_ROW) {
		*events = db_int64(st, 0);
		*outbox = db_int64(st, 1);
	} else if (rc != DB_DONE)
		seterr(s, "marks");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_added_since(struct store *s, int64_t events, int64_t outbox,
    int (*efn)(int64_t, const struct store_event *, void *),
    int (*ofn)(const struct store_outbox *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_EVENTS_AFTER);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, events);
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_event e = { .at = db_int64(st, 1),
		    .type = col(st, 2), .actor = col(st, 3), .old = col(st, 4),
		    .new_ = col(st, 5) };

		if (efn(db_int64(st, 0), &e, arg)) {
			rc = DB_DONE;
			break;
		}
	}
	db_reset(st);
	if (rc == DB_ERROR) {
		seterr(s, "events added");
		return rc_status(s, rc);
	}
	if ((st = stmt(s, Q_OUTBOX_AFTER)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, outbox);
	return each(s, st, "outbox added", outbox_row, (void *)ofn, arg);
}

enum tk_status
store_health_set(struct store *s, const char *name, int64_t at, int ok,
    const char *detail)
{
	struct db_stmt *st = stmt(s, Q_HEALTH_SET);
	enum tk_status ts;

	if (st == NULL)
		return TK_EIO;
	if ((ts = store_begin(s)) != TK_OK)
		return ts;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, at);
	db_bind_int64(st, 3, ok);
	db_bind_text(st, 4, detail);
	if ((ts = run(s, st, "health")) == TK_OK &&
	    (ts = store_commit(s)) == TK_OK)
		return TK_OK;
	store_rollback(s);
	return ts;
}

enum tk_status
store_health_get(struct store *s, const char *name, struct store_health *h,
    int *found)
{
	struct db_stmt *st = stmt(s, Q_HEALTH_GET);
	enum db_rc rc;

	memset(h, 0, sizeof(*h));
	*found = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, name);
	if ((rc = db_step(st)) == DB_ROW) {
		*found = 1;
		h->at = db_int64(st, 0);
		h->ok = (int)db_int64(st, 1);
		h->detail = col_dup(st, 2);
	} else if (rc != DB_DONE)
		seterr(s, "health");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_outbox_health(struct store *s, int64_t now, int64_t max_age,
    int64_t *failing, int64_t *stale)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_HEALTH);
	enum db_rc rc;

	*failing = *stale = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, now - 86400);
	db_bind_int64(st, 2, now - max_age);
	if ((rc = db_step(st)) == DB_ROW) {
		*failing = db_int64(st, 0);
		*stale = db_int64(st, 1);
	} else if (rc != DB_DONE)
		seterr(s, "outbox health");
	db_reset(st);
	return rc_status(s, rc);
}

void
store_grant_clear(struct store_grant *g)
{
	if (g->refresh_token)
		explicit_bzero(g->refresh_token, strlen(g->refresh_token));
	if (g->access_token)
		explicit_bzero(g->access_token, strlen(g->access_token));
	free(g->refresh_token);
	free(g->access_token);
	memset(g, 0, sizeof(*g));
}

enum tk_status
store_ticket_customer(struct store *s, int64_t ticket, int64_t at,
    const char *lang)
{
	struct db_stmt *st = stmt(s, Q_TICKET_CUSTOMER);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_int64(st, 2, at);
	db_bind_text(st, 3, lang);
	return run(s, st, "customer time");
}

enum tk_status
store_outbox_add(struct store *s, const struct store_outbox *o, int64_t *id)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_ADD);

	*id = 0;
	if (st == NULL)
		return TK_EIO;
	bind_id(st, 1, o->ticket);
	db_bind_text(st, 2, o->kind);
	db_bind_text(st, 3, o->to);
	db_bind_text(st, 4, o->subject);
	db_bind_text(st, 5, o->headers);
	db_bind_text(st, 6, o->body);
	db_bind_text(st, 7, o->rule);
	bind_id(st, 8, o->message);
	db_bind_text(st, 9, o->dedupe);
	db_bind_int64(st, 10, o->created_at);
	bind_id(st, 11, o->out_message);
	db_bind_text(st, 12, o->while_status);
	return run_id(s, st, "queue outbox", id);
}

static int
outbox_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(const struct store_outbox *, void *) =
	    (int (*)(const struct store_outbox *, void *))fn;
	struct store_outbox o = {
		.id = db_int64(st, 0),
		.ticket = db_int64(st, 1),
		.kind = col(st, 2), .to = col(st, 3), .subject = col(st, 4),
		.headers = col(st, 5), .body = col(st, 6), .rule = col(st, 7),
		.state = col(st, 8), .attempts = db_int64(st, 9),
		.next_at = db_int64(st, 10),
		.last_error = col(st, 11),
		.created_at = db_int64(st, 12),
		.sent_at = db_int64(st, 13),
		.out_message = db_int64(st, 14),
		.while_status = col(st, 15),
		.ticket_status = col(st, 16),
		.from = col(st, 17),
	};

	o.raw = db_blob(st, 18, &o.rawlen);
	return cb(&o, arg);
}

enum tk_status
store_outbox_list(struct store *s, const char *state,
    int (*fn)(const struct store_outbox *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_LIST);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, state);
	return each(s, st, "list outbox", outbox_row, (void *)fn, arg);
}

/* One integer from a query bound to one text value. */
/* Steps a bound statement for one integer (its first column), resets it. */
static enum tk_status
step_int(struct store *s, struct db_stmt *st, int64_t *out, int *found,
    const char *what)
{
	int rc = db_step(st);

	if (rc == DB_ROW) {
		*out = db_int64(st, 0);
		if (found)
			*found = 1;
	} else if (rc != DB_DONE)
		seterr(s, what);
	db_reset(st);
	return rc_status(s, rc);
}

static enum tk_status
int_by_text(struct store *s, enum stmt_id q, const char *v, int64_t *out,
    int *found, const char *what)
{
	struct db_stmt *st = stmt(s, q);

	*out = 0;
	if (found)
		*found = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, v);
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
	struct db_stmt *st = stmt(s, Q_RULE_FIRE);
	enum tk_status ts;

	*fresh = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, rule);
	db_bind_int64(st, 2, ticket);
	db_bind_int64(st, 3, occurrence);
	db_bind_int64(st, 4, now);
	if ((ts = run(s, st, "rule fired")) == TK_OK)
		*fresh = s->db->ops->changes(s->db) > 0;
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
	struct db_stmt *st = stmt(s, Q_HORIZON_SET);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, rule);
	db_bind_int64(st, 2, upto);
	return run(s, st, "horizon");
}

static int
due_row(struct db_stmt *st, void *fn, void *arg)
{
	int (*cb)(int64_t, int64_t, void *) = (int (*)(int64_t, int64_t,
	    void *))fn;

	return cb(db_int64(st, 0), db_int64(st, 1), arg);
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
	struct db_stmt *st = stmt(s, q[since]);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, status);
	db_bind_int64(st, 2, after);
	db_bind_int64(st, 3, upto);
	return each(s, st, "due tickets", due_row, (void *)fn, arg);
}

enum tk_status
store_outbox_recover(struct store *s, int64_t stale_before, int64_t now,
    int64_t *requeued, int64_t *failed)
{
	struct db_stmt *st;
	enum tk_status ts;

	*requeued = *failed = 0;
	if ((st = stmt(s, Q_OUTBOX_STALE_FAIL)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, stale_before);
	if ((ts = run(s, st, "recover outbox")) != TK_OK)
		return ts;
	*failed = s->db->ops->changes(s->db);
	if ((st = stmt(s, Q_OUTBOX_STALE_REQUEUE)) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, stale_before);
	db_bind_int64(st, 2, now);
	if ((ts = run(s, st, "recover outbox")) == TK_OK)
		*requeued = s->db->ops->changes(s->db);
	return ts;
}

enum tk_status
store_outbox_claim(struct store *s, int64_t now, int64_t after, int force,
    int mail, int64_t *id)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_CLAIM);
	enum db_rc rc;

	*id = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, after);
	db_bind_int64(st, 3, force != 0);
	db_bind_int64(st, 4, mail != 0);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*id = db_int64(st, 0);
		rc = db_step(st);	/* finish the UPDATE */
	}
	if (rc != DB_DONE)
		seterr(s, "claim outbox row");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_outbox_get(struct store *s, int64_t id,
    int (*fn)(const struct store_outbox *, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_GET);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	return each(s, st, "get outbox row", outbox_row, (void *)fn, arg);
}

enum tk_status
store_outbox_done(struct store *s, int64_t id, const char *state,
    int64_t next_at, const char *error, int64_t now)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_DONE);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, state);
	db_bind_int64(st, 3, next_at);
	db_bind_text(st, 4, error);
	db_bind_int64(st, 5, now);
	return run(s, st, "mark outbox row");
}

enum tk_status
store_outbox_recent(struct store *s, const char *to, const char *kind,
    int64_t since, int64_t *n)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_RECENT);
	enum db_rc rc;

	*n = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, to);
	db_bind_text(st, 2, kind);
	db_bind_int64(st, 3, since);
	if ((rc = db_step(st)) == DB_ROW)
		*n = db_int64(st, 0);
	else
		seterr(s, "count recent mail");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_outbox_find(struct store *s, int64_t id, const char *mid, int64_t *row,
    int64_t *ticket, char **to, char **kind)
{
	struct db_stmt *st = stmt(s, mid ? Q_OUTBOX_FIND_MID : Q_OUTBOX_FIND_ID);
	enum db_rc rc;

	*row = *ticket = 0;
	*to = NULL;
	if (kind)
		*kind = NULL;
	if (st == NULL)
		return TK_EIO;
	if (mid)
		db_bind_text(st, 1, mid);
	else
		db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == DB_ROW) {
		*row = db_int64(st, 0);
		*ticket = db_int64(st, 1);
		*to = col_dup(st, 2);
		if (kind)
			*kind = col_dup(st, 3);
	} else if (rc != DB_DONE)
		seterr(s, "find outbox row");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_bounce_add(struct store *s, const char *addr, int64_t at,
    int64_t ticket)
{
	struct db_stmt *st = stmt(s, Q_BOUNCE_ADD);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, addr);
	db_bind_int64(st, 2, at);
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
	struct db_stmt *st = stmt(s, Q_LAST_IN_MID);
	enum db_rc rc;

	*mid = NULL;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	if ((rc = db_step(st)) == DB_ROW)
		*mid = col_dup(st, 0);
	else if (rc != DB_DONE)
		seterr(s, "last message-id");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_agent_state_set(struct store *s, const char *name, int away,
    int64_t until, int64_t now, const char *why)
{
	struct db_stmt *st = stmt(s, Q_AGENT_STATE_SET);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, away);
	if (until > 0)
		db_bind_int64(st, 3, until);
	else
		db_bind_null(st, 3);
	db_bind_int64(st, 4, now);
	db_bind_text(st, 5, why);
	return run(s, st, "agent state");
}

enum tk_status
store_agent_state_get(struct store *s, const char *name,
    struct store_agent_state *as)
{
	struct db_stmt *st = stmt(s, Q_AGENT_STATE_GET);
	enum db_rc rc;

	memset(as, 0, sizeof(*as));
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, name);
	if ((rc = db_step(st)) == DB_ROW) {
		as->away = (int)db_int64(st, 0);
		as->until = db_int64(st, 1);
		as->since = db_int64(st, 2);
		as->why = col_dup(st, 3);
	} else if (rc != DB_DONE)
		seterr(s, "agent state");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_agent_waiting(struct store *s, const char *agent,
    int (*fn)(int64_t ticket, const char *skill, void *), void *arg)
{
	struct db_stmt *st = stmt(s, Q_AGENT_WAITING);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, agent);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(db_int64(st, 0), col(st, 1), arg) != 0)
			break;
	if (rc == DB_ERROR)
		seterr(s, "agent's waiting tickets");
	db_reset(st);
	return rc == DB_ERROR ? rc_status(s, rc) : TK_OK;
}

enum tk_status
store_customer_mail(struct store *s, int64_t ticket, size_t max, char ***mids,
    size_t *n, char **new_text, int64_t *newest)
{
	struct db_stmt *st = stmt(s, Q_CUSTOMER_MAIL);
	enum db_rc rc;

	*mids = NULL;
	*n = 0;
	*new_text = NULL;
	if (newest)
		*newest = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_int64(st, 2, (int64_t)(max ? max : 1));
	while ((rc = db_step(st)) == DB_ROW) {
		if (newest && *newest == 0)
			*newest = db_int64(st, 2);
		if (*new_text == NULL && !db_is_null(st, 1))
			*new_text = col_dup(st, 1);
		if (db_is_null(st, 0) || max == 0)
			continue;
		*mids = xreallocarray(*mids, *n + 1, sizeof(**mids));
		(*mids)[(*n)++] = col_dup(st, 0);
	}
	if (rc != DB_DONE)
		seterr(s, "customer mail");
	db_reset(st);
	/* Oldest first, as References lists them. */
	for (size_t i = 0; i < *n / 2; i++) {
		char *t = (*mids)[i];

		(*mids)[i] = (*mids)[*n - 1 - i];
		(*mids)[*n - 1 - i] = t;
	}
	return rc_status(s, rc);
}

enum tk_status
store_customer_tickets(struct store *s, const char *addr, int64_t except,
    size_t max, struct store_brief **out, size_t *n)
{
	struct db_stmt *st = stmt(s, Q_CUSTOMER_TICKETS);
	enum db_rc rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, addr);
	db_bind_int64(st, 2, except);
	db_bind_int64(st, 3, (int64_t)max);
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_brief *b;

		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		b = &(*out)[(*n)++];
		b->id = db_int64(st, 0);
		b->subject = col_dup(st, 1);
		b->status = col_dup(st, 2);
		b->created_at = db_int64(st, 3);
	}
	if (rc != DB_DONE)
		seterr(s, "customer's tickets");
	db_reset(st);
	return rc_status(s, rc);
}

void
store_briefs_free(struct store_brief *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].subject);
		free(b[i].status);
	}
	free(b);
}

enum tk_status
store_outbox_link(struct store *s, int64_t id, int64_t msgrow)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_LINK);

	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, msgrow);
	return run(s, st, "link outbox mail");
}

enum tk_status
store_customer_wrote(struct store *s, int64_t ticket, const char *addr,
    int *yes)
{
	struct db_stmt *st = stmt(s, Q_CUSTOMER_WROTE);
	int64_t v = 0;
	enum tk_status ts;

	*yes = 0;
	if (st == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, ticket);
	db_bind_text(st, 2, addr);
	ts = step_int(s, st, &v, NULL, "customer mail");
	*yes = v != 0;
	return ts;
}

enum tk_status
store_outbox_pending(struct store *s, int *yes)
{
	struct db_stmt *st = stmt(s, Q_OUTBOX_PENDING);
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
	struct db_stmt *st = stmt(s, Q_IMAP_GET);
	enum db_rc rc;

	memset(state, 0, sizeof(*state));
	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	db_bind_text(st, 2, folder);
	if ((rc = db_step(st)) == DB_ROW) {
		state->uidvalidity = db_int64(st, 0);
		state->last_uid = db_int64(st, 1);
		state->acted_uid = db_int64(st, 2);
	} else if (rc != DB_DONE)
		seterr(s, "imap state");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_imap_set(struct store *s, const char *account, const char *folder,
    const struct store_imap *state)
{
	struct db_stmt *st = stmt(s, Q_IMAP_SET);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, state->uidvalidity);
	db_bind_int64(st, 4, state->last_uid);
	db_bind_int64(st, 5, state->acted_uid);
	return run(s, st, "imap state");
}

enum tk_status
store_imap_skip(struct store *s, const char *account, const char *folder,
    int64_t uidvalidity, int64_t uid, int64_t size, const char *reason,
    int64_t at)
{
	struct db_stmt *st = stmt(s, Q_IMAP_SKIP);

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, uidvalidity);
	db_bind_int64(st, 4, uid);
	db_bind_int64(st, 5, size);
	db_bind_text(st, 6, reason);
	db_bind_int64(st, 7, at);
	return run(s, st, "imap skipped");
}

enum tk_status
store_imap_skipped(struct store *s, const char *account, const char *folder,
    int64_t uidvalidity, int64_t from, int64_t to,
    int (*fn)(int64_t uid, void *arg), void *arg)
{
	struct db_stmt *st = stmt(s, Q_IMAP_SKIPPED);
	enum db_rc rc;

	if (st == NULL)
		return TK_EIO;
	db_bind_text(st, 1, account);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, uidvalidity);
	db_bind_int64(st, 4, from);
	db_bind_int64(st, 5, to);
	while ((rc = db_step(st)) == DB_ROW)
		if (fn(db_int64(st, 0), arg) != 0) {
			rc = DB_DONE;
			break;
		}
	if (rc != DB_DONE)
		seterr(s, "imap skipped");
	db_reset(st);
	return rc_status(s, rc);
}

enum tk_status
store_report(struct store *s, enum store_report_q q, int64_t since,
    int64_t until, const char *mailbox, const char *field,
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
		[STORE_REP_BY_FIELD] = Q_REP_BY_FIELD,
	};
	struct db_stmt *st;
	struct store_row row;
	enum tk_status ts;
	enum db_rc rc;

	/* The times' table lives as long as the connection, emptied first. */
	if (q == STORE_REP_TIMES_FILL && (ts = exec_plain(s, REP_TIMES_TABLE
	    "; DELETE FROM rep_times", "report")) != TK_OK)
		return ts;
	if ((st = stmt(s, ids[q])) == NULL)
		return TK_EIO;
	db_bind_int64(st, 1, since);
	db_bind_int64(st, 2, until);
	db_bind_text(st, 3, mailbox);
	if (q == STORE_REP_BY_FIELD)
		db_bind_text(st, 4, field);
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&row, 0, sizeof(row));
		row.n = db_columns(st);
		if (row.n > STORE_ROW_MAX)
			row.n = STORE_ROW_MAX;
		for (int i = 0; i < row.n; i++) {
			row.null[i] = db_is_null(st, i);
			row.text[i] = row.null[i] ? "" : col(st, i);
			row.num[i] = db_int64(st, i);
		}
		if (fn && fn(&row, arg) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (rc != DB_DONE)
		seterr(s, "report");
	db_reset(st);
	return rc_status(s, rc);
}
