/*
 * NAME
 *	store_pg.c — the PostgreSQL backend of the store.
 * DESCRIPTION
 *	The only module that includes libpq. The target is a libpq
 *	connection URI (postgresql://user@host:port/db?...) or
 *	"postgresql:" followed by a keyword/value conninfo; libpq does the
 *	rest: several hosts with target_session_attrs=read-write, TLS with
 *	sslmode=verify-full, the password from a passfile. A password
 *	written in the target itself is refused: the configuration is not
 *	a secret's place.
 *
 *	Statements are prepared once per connection (named q1, q2, ...),
 *	their ?N parameters turned into $N, every value sent as text but
 *	blobs (binary). A write transaction takes a transaction-scoped
 *	advisory lock first, so writers on every host take turns as SQLite's
 *	do on one; a shared one takes it shared, beside others, and claims
 *	what it touches by more such locks on keys; readers never wait.
 *	The session's time zone is the process's, so that a report's local
 *	days are the same as on SQLite. The schema version is the one row
 *	of tiketti_schema.
 *
 *	A write whose result nobody reads at once (later) is not sent on its
 *	own: it is queued in libpq's pipeline, and the next statement that
 *	is waited for goes behind it, one round trip for all (a sync). The
 *	server runs nothing after a failure until that sync, so a queued
 *	write's failure is reported by the statement that waited; a rollback
 *	waits for what was queued before it and forgets its failures. Only
 *	inside a transaction is anything queued.
 *
 *	A connection found broken when a transaction begins is reset once
 *	(its statements prepared again); a failure inside a transaction is
 *	TK_ETEMP and the caller's retry begins on the fresh connection.
 * DIAGNOSTICS
 *	Lost connections (SQLSTATE class 08 or none), serialisation
 *	failures and deadlocks (40001, 40P01), a lock or statement timeout,
 *	a server shutting down, out of resources (53) and a read-only
 *	server (25006, a standby after failover) are TK_ETEMP; integrity
 *	violations (23) TK_EPERM; program limits (54) TK_ELIMIT; the rest
 *	TK_EIO. The server's text stays in the connection.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tiketti/buf.h"
#include "store_db.h"

#define PG_MAXP		32	/* parameters a statement may have */
#define PG_QUEUE	64	/* writes queued at most: their results are
				   read before the server's buffer fills */
#define BYTEA_OID	17
#define WRITER_LOCK	"7602161133"	/* the whole store's advisory lock */

struct pg {
	struct db	 base;
	PGconn		*conn;
	enum tk_status	 status;	/* of the last failure */
	int		 retry;		/* and whether to try again */
	char		*err;
	int64_t		 changes;
	char		*lock;		/* store_lock_try's name, or NULL */
	int		 queued;	/* sent in the pipeline, results unread */
	struct db_stmt	*claim[2];	/* pg_claim's, trying and waiting */
	unsigned	 gen;		/* bumped by a reset */
	unsigned	 nstmt;
	long long	 lock_timeout;
	int		 readonly;	/* reports: big sorts in memory */
};

struct pg_stmt {
	struct db_stmt	 base;
	struct pg	*pg;
	char		*sql;		/* with $N */
	char		 name[16];
	unsigned	 gen;		/* prepared on this connection; 0 = not */
	int		 rollback;	/* ROLLBACK or ROLLBACK TO */
	int		 nparams;
	Oid		 types[PG_MAXP];	/* 0: the server infers it */
	const char	*val[PG_MAXP];
	int		 len[PG_MAXP];
	int		 fmt[PG_MAXP];
	char		 num[PG_MAXP][24];
	PGresult	*res;
	int		 row, nrows;
	unsigned char	*blob;		/* a bytea value, unescaped */
};

/* pg_claim runs a statement of its own, as the store's are. */
static struct db_stmt *pg_prepare(struct db *, const char *);
static enum db_rc pg_step(struct db_stmt *);
static void pg_bind_text(struct db_stmt *, int, const char *);
static int64_t pg_integer(struct db_stmt *, int);
static void pg_reset(struct db_stmt *);
static void pg_finalize(struct db_stmt *);

static enum tk_status
status_of_state(const char *state)
{
	if (state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "25006") == 0)
		return TK_ETEMP;
	if (strncmp(state, "23", 2) == 0)
		return TK_EPERM;
	if (strncmp(state, "54", 2) == 0)
		return TK_ELIMIT;
	return TK_EIO;
}

static void
set_err(struct pg *p, const char *text, enum tk_status ts)
{
	size_t n;

	free(p->err);
	p->err = xstrdup(text && *text ? text : "unknown PostgreSQL error");
	p->retry = 0;
	/* libpq's messages end in a newline. */
	n = strlen(p->err);
	while (n > 0 && (p->err[n - 1] == '\n' || p->err[n - 1] == ' '))
		p->err[--n] = '\0';
	p->status = ts;
}

/* Keeps a failed result's error; a lost connection is TK_ETEMP. */
static enum tk_status
fail_res(struct pg *p, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	enum tk_status ts = status_of_state(state);
	int lost = PQstatus(p->conn) == CONNECTION_BAD;

	if (lost)
		ts = TK_ETEMP;
	set_err(p, res && PQresultErrorMessage(res)[0] ?
	    PQresultErrorMessage(res) : PQerrorMessage(p->conn), ts);
	p->retry = lost || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strncmp(state, "57P", 3) == 0;
	return ts;
}

static int
res_ok(PGresult *res)
{
	ExecStatusType e = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return e == PGRES_COMMAND_OK || e == PGRES_TUPLES_OK;
}

/* libpq could not queue or sync: the connection is gone, and the queue. */
static enum tk_status
pipe_lost(struct pg *p)
{
	set_err(p, PQerrorMessage(p->conn), TK_ETEMP);
	p->retry = 1;
	p->queued = 0;
	return TK_ETEMP;
}

/* Before a statement is sent in the pipeline. */
static int
pipe_on(struct pg *p)
{
	if (PQpipelineStatus(p->conn) == PQ_PIPELINE_OFF &&
	    !PQenterPipelineMode(p->conn)) {
		pipe_lost(p);
		return 0;
	}
	return 1;
}

/* After a statement was sent (sent: libpq took it). */
static int
pipe_sent(struct pg *p, int sent)
{
	if (!sent) {
		pipe_lost(p);
		return 0;
	}
	p->queued++;
	return 1;
}

/*
 * The round trip: a sync, then each queued statement's result, the
 * first failure kept (the server ran nothing after it). With last, the
 * result of the one queued last, when all went well, for the caller to
 * clear. The pipeline ends: synchronous calls may follow.
 */
static enum tk_status
drain(struct pg *p, PGresult **last)
{
	enum tk_status ts = TK_OK;
	int n = p->queued, synced;
	PGresult *r;

	if (last)
		*last = NULL;
	if (n == 0)
		return TK_OK;
	if (!PQpipelineSync(p->conn))
		return pipe_lost(p);
	for (int i = 0; i < n; i++) {
		if ((r = PQgetResult(p->conn)) == NULL)
			return pipe_lost(p);
		/* One statement, one result, then the NULL that ends it. */
		for (PGresult *more; (more = PQgetResult(p->conn)) != NULL; )
			PQclear(more);
		if (ts == TK_OK && !res_ok(r))
			ts = fail_res(p, r);
		if (last && i == n - 1 && ts == TK_OK)
			*last = r;
		else
			PQclear(r);
	}
	r = PQgetResult(p->conn);
	synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
	PQclear(r);
	if (!synced || !PQexitPipelineMode(p->conn)) {
		if (last) {
			PQclear(*last);
			*last = NULL;
		}
		return pipe_lost(p);
	}
	p->queued = 0;
	return ts;
}

/* A rollback: what failed before it, it undoes. */
static int
is_rollback(const char *sql)
{
	return strncmp(sql, "ROLLBACK", 8) == 0;
}

static enum tk_status
pg_exec(struct db *d, const char *sql)
{
	struct pg *p = (struct pg *)d;
	PGresult *res;
	enum tk_status ts = drain(p, NULL);

	/* A text of several statements cannot go in the pipeline: what
	 * was queued goes first. */
	if (ts != TK_OK && !is_rollback(sql))
		return ts;
	res = PQexec(p->conn, sql);
	ts = TK_OK;
	if (!res_ok(res))
		ts = fail_res(p, res);
	PQclear(res);
	return ts;
}

/* The result of a query with one text parameter, behind what is
 * queued; NULL on failure. */
static PGresult *
params1(struct pg *p, const char *sql, const char *v)
{
	PGresult *res;

	if (!pipe_on(p) || !pipe_sent(p, PQsendQueryParams(p->conn, sql, 1,
	    NULL, &v, NULL, NULL, 0)) || drain(p, &res) != TK_OK)
		return NULL;
	return res;
}

/* One text parameter, no rows wanted. */
static enum tk_status
exec1(struct pg *p, const char *sql, const char *v)
{
	PGresult *res = params1(p, sql, v);

	PQclear(res);
	return res ? TK_OK : p->status;
}

/*
 * The process's time zone by name, as PostgreSQL knows zones: TZ
 * (without a leading colon or the zoneinfo directory), else where
 * /etc/localtime points, else /etc/timezone, else UTC.
 */
static char *
local_zone(void)
{
	const char *tz = getenv("TZ");
	const char *z;
	char link[512];
	ssize_t n;
	FILE *f;

	if (tz && *tz) {
		if (*tz == ':')
			tz++;
		if ((z = strstr(tz, "zoneinfo/")) != NULL)
			tz = z + 9;
		return xstrdup(tz);
	}
	if ((n = readlink("/etc/localtime", link, sizeof(link) - 1)) > 0) {
		link[n] = '\0';
		if ((z = strstr(link, "zoneinfo/")) != NULL)
			return xstrdup(z + 9);
	}
	if ((f = fopen("/etc/timezone", "r")) != NULL) {
		char line[128];

		if (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, " \t\r\n")] = '\0';
			if (line[0]) {
				fclose(f);
				return xstrdup(line);
			}
		}
		fclose(f);
	}
	return xstrdup("UTC");
}

/* The server's notices (NOTICE, WARNING) are not errors: not printed. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What every connection (and every reset one) is set to. */
static enum tk_status
session_setup(struct pg *p)
{
	char *zone = local_zone();
	char timeout[32];
	enum tk_status ts;

	PQsetNoticeProcessor(p->conn, quiet, NULL);
	if (PQsetClientEncoding(p->conn, "UTF8") != 0) {
		set_err(p, PQerrorMessage(p->conn), TK_EIO);
		free(zone);
		return TK_EIO;
	}
	ts = exec1(p, "SELECT set_config('TimeZone', $1, false)", zone);
	free(zone);
	if (ts != TK_OK)
		return ts;
	/* Compiling a report's plans took longer than running them. */
	if ((ts = pg_exec(&p->base, "SET jit = off")) != TK_OK)
		return ts;
	snprintf(timeout, sizeof(timeout), "%llds", p->lock_timeout);
	/* A reader's connection is not made read-only: a report fills a
	 * temporary table, which a read-only transaction may not. Its
	 * sorts and hashes (a report's) get memory instead of disk. */
	if ((ts = exec1(p, "SELECT set_config('lock_timeout', $1, false)",
	    timeout)) != TK_OK || !p->readonly)
		return ts;
	return pg_exec(&p->base, "SET work_mem = '64MB'");
}

/* The target as libpq takes it: a URI as it is, else the conninfo. */
static const char *
conninfo_of(const char *target)
{
	if (strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0)
		return target;
	return target + strlen("postgresql:");
}

static enum tk_status
pg_open(const char *target, long long busy_timeout, int readonly,
    struct db **out, char **err)
{
	struct pg *p = xcalloc(1, sizeof(*p));
	const char *info = conninfo_of(target);
	const char *keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { info, "tiketti", NULL };
	PQconninfoOption *opts;
	char *perr = NULL;

	p->base.ops = &store_pg_ops;
	p->gen = 1;
	p->lock_timeout = busy_timeout > 0 ? busy_timeout : 1;
	p->readonly = readonly;
	*out = &p->base;
	if ((opts = PQconninfoParse(info, &perr)) == NULL) {
		*err = xasprintf("database: %s", perr ? perr :
		    "not a PostgreSQL connection string");
		PQfreemem(perr);
		return TK_EPARSE;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) {
			PQconninfoFree(opts);
			*err = xstrdup("database: a password in the connection "
			    "string; keep it in a passfile readable only by its "
			    "owner (passfile= or PGPASSFILE)");
			return TK_EPERM;
		}
	PQconninfoFree(opts);
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		set_err(p, p->conn ? PQerrorMessage(p->conn) :
		    "out of memory", TK_ETEMP);
		return TK_ETEMP;
	}
	return session_setup(p);
}

/*
 * A named lock on every host: a session-level advisory lock on the
 * name's hash. The server drops it with the session (a process that
 * dies, a connection that is lost).
 */
static enum tk_status
pg_lock_try(struct db *d, const char *name, int *held)
{
	struct pg *p = (struct pg *)d;
	char *key;
	PGresult *res;
	enum tk_status ts = TK_OK;

	*held = 0;
	if (p->lock) {
		set_err(p, "a lock is already held on this connection", TK_EIO);
		return TK_EIO;
	}
	key = xasprintf("tiketti.%s", name);
	res = params1(p, "SELECT pg_try_advisory_lock("
	    "hashtextextended($1, 0))", key);
	if (res == NULL)
		ts = p->status;
	else if (PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		*held = 1;
		p->lock = key;
		key = NULL;
	}
	PQclear(res);
	free(key);
	return ts;
}

static void
pg_unlock(struct db *d)
{
	struct pg *p = (struct pg *)d;

	if (p->lock == NULL)
		return;
	PQclear(params1(p, "SELECT pg_advisory_unlock("
	    "hashtextextended($1, 0))", p->lock));
	free(p->lock);
	p->lock = NULL;
}

static void
pg_close(struct db *d)
{
	struct pg *p = (struct pg *)d;

	free(p->lock);
	pg_finalize(p->claim[0]);
	pg_finalize(p->claim[1]);
	PQfinish(p->conn);
	free(p->err);
	free(p);
}

static const char *
pg_errmsg(struct db *d)
{
	struct pg *p = (struct pg *)d;

	return p->err ? p->err : "no error";
}

static enum tk_status
pg_status(struct db *d)
{
	return ((struct pg *)d)->status;
}

static int
pg_retryable(struct db *d)
{
	return ((struct pg *)d)->retry;
}

static int
pg_in_transaction(struct db *d)
{
	struct pg *p = (struct pg *)d;

	return p->queued > 0 || PQtransactionStatus(p->conn) != PQTRANS_IDLE;
}

static enum tk_status
pg_begin(struct db *d, int shared)
{
	struct pg *p = (struct pg *)d;
	enum tk_status ts;

	if (PQstatus(p->conn) == CONNECTION_BAD) {
		PQreset(p->conn);
		if (PQstatus(p->conn) != CONNECTION_OK) {
			set_err(p, PQerrorMessage(p->conn), TK_ETEMP);
			return TK_ETEMP;
		}
		p->gen++;
		if ((ts = session_setup(p)) != TK_OK)
			return ts;
	}
	/* One round trip for both. */
	if ((ts = pg_exec(d, shared ?
	    "BEGIN; SELECT pg_advisory_xact_lock_shared(" WRITER_LOCK ")" :
	    "BEGIN; SELECT pg_advisory_xact_lock(" WRITER_LOCK ")")) != TK_OK &&
	    pg_in_transaction(d))
		pg_exec(d, "ROLLBACK");
	return ts;
}

/*
 * The keys' transaction-scoped advisory locks, in the keys' order (the
 * function scan's), so that two waiting writers cannot each hold what
 * the other wants. Without waiting, all are tried (some may be taken):
 * the caller ends its transaction anyway when one was not.
 */
static enum tk_status
pg_claim(struct db *d, const int64_t *keys, size_t n, int wait, int *held)
{
	struct pg *p = (struct pg *)d;
	struct db_stmt *st;
	struct buf b;
	enum db_rc rc;

	*held = 1;
	if (n == 0)
		return TK_OK;
	wait = wait != 0;
	/* Prepared once: a message's claim is not planned again. */
	if ((st = p->claim[wait]) == NULL)
		st = p->claim[wait] = pg_prepare(d, wait ?
		    "SELECT count(pg_advisory_xact_lock(k))::int8"
		    " FROM unnest(?1::int8[]) AS k" :
		    "SELECT bool_and(pg_try_advisory_xact_lock(k))"
		    " FROM unnest(?1::int8[]) AS k");
	if (st == NULL)
		return p->status;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%lld", i ? "," : "{", (long long)keys[i]);
	buf_addc(&b, '}');
	pg_bind_text(st, 1, b.data);
	if ((rc = pg_step(st)) == DB_ROW)
		*held = wait || pg_integer(st, 0) == 1;
	pg_reset(st);
	buf_free(&b);
	if (rc == DB_ROW)
		return TK_OK;
	if (rc == DB_DONE)
		set_err(p, "advisory locks: no answer", TK_EIO);
	return p->status;
}

/* One integer from a query without parameters; -1 on error. */
static int
query_int(struct pg *p, const char *sql)
{
	PGresult *res;
	int v = -1;

	if (drain(p, NULL) != TK_OK)
		return -1;
	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fail_res(p, res);
	PQclear(res);
	return v;
}

static int
pg_version_get(struct db *d)
{
	struct pg *p = (struct pg *)d;
	/* A scan of the catalog, not to_regclass(): its cache may not yet
	 * know a table another session made while we waited for the lock. */
	int exists = query_int(p, "SELECT count(*) FROM pg_catalog.pg_tables"
	    " WHERE tablename = 'tiketti_schema'"
	    " AND schemaname = current_schema()");

	if (exists <= 0)
		return exists;
	return query_int(p, "SELECT coalesce(max(version), 0)"
	    " FROM tiketti_schema");
}

static enum tk_status
pg_version_set(struct db *d, int version)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS tiketti_schema"
	    " (version INTEGER NOT NULL); DELETE FROM tiketti_schema;"
	    " INSERT INTO tiketti_schema VALUES (%d)", version);
	return pg_exec(d, sql);
}

static int64_t
pg_changes(struct db *d)
{
	return ((struct pg *)d)->changes;
}

/*
 * ?N becomes $N; returns the highest N, or -1 past PG_MAXP. A number
 * the text skips (the backlog reads only the mailbox, ?3) is given a
 * type, text, since the server has nothing to infer it from.
 */
#define TEXT_OID	25

static int
convert(const char *sql, char **out, Oid *types)
{
	struct buf b;
	int maxp = 0;

	buf_init(&b, 0);
	for (const char *q = sql; *q; q++) {
		if (*q == '?' && isdigit((unsigned char)q[1])) {
			long n = strtol(q + 1, NULL, 10);

			if (n > maxp)
				maxp = n > PG_MAXP ? PG_MAXP + 1 : (int)n;
			if (n >= 1 && n <= PG_MAXP)
				types[n - 1] = 1;	/* used */
			buf_addc(&b, '$');
			continue;
		}
		buf_addc(&b, *q);
	}
	*out = buf_release(&b);
	if (maxp > PG_MAXP)
		return -1;
	for (int i = 0; i < maxp; i++)
		types[i] = types[i] ? 0 : TEXT_OID;
	return maxp;
}

static struct db_stmt *
pg_prepare(struct db *d, const char *sql)
{
	struct pg *p = (struct pg *)d;
	struct pg_stmt *s = xcalloc(1, sizeof(*s));

	s->base.ops = &store_pg_ops;
	s->pg = p;
	if ((s->nparams = convert(sql, &s->sql, s->types)) < 0) {
		set_err(p, "a statement with too many parameters", TK_EIO);
		free(s->sql);
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "q%u", ++p->nstmt);
	s->rollback = is_rollback(sql);
	return &s->base;
}

#define PS(x)	((struct pg_stmt *)(x))

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = PS(st);

	PQclear(s->res);
	s->res = NULL;
	PQfreemem(s->blob);
	s->blob = NULL;
	s->row = s->nrows = 0;
	for (int i = 0; i < PG_MAXP; i++) {
		s->val[i] = NULL;
		s->len[i] = s->fmt[i] = 0;
	}
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = PS(st);

	if (s == NULL)
		return;
	pg_reset(st);
	/* The connection closes next, or goes on without a name in use:
	 * DEALLOCATE is not worth a round trip. */
	free(s->sql);
	free(s);
}

static int
slot(int i)
{
	return i >= 1 && i <= PG_MAXP ? i - 1 : -1;
}

static void
pg_bind_null(struct db_stmt *st, int i)
{
	int k = slot(i);

	if (k >= 0) {
		PS(st)->val[k] = NULL;
		PS(st)->fmt[k] = 0;
	}
}

static void
pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = PS(st);
	int k = slot(i);

	if (k >= 0) {
		snprintf(s->num[k], sizeof(s->num[k]), "%lld", (long long)v);
		s->val[k] = s->num[k];
		s->fmt[k] = 0;
	}
}

static void
pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	int k = slot(i);

	if (k >= 0) {
		PS(st)->val[k] = v;
		PS(st)->fmt[k] = 0;
	}
}

static void
pg_bind_blob(struct db_stmt *st, int i, const void *b, size_t n)
{
	struct pg_stmt *s = PS(st);
	int k = slot(i);

	if (k >= 0) {
		s->val[k] = b ? b : "";
		s->len[k] = (int)n;
		s->fmt[k] = 1;
	}
}

/* Prepares the statement on this connection, once. */
static enum tk_status
prepared(struct pg_stmt *s)
{
	struct pg *p = s->pg;
	PGresult *r;
	enum tk_status ts;

	if (s->gen == p->gen)
		return TK_OK;
	if ((ts = drain(p, NULL)) != TK_OK)
		return ts;
	r = PQprepare(p->conn, s->name, s->sql, s->nparams, s->types);
	ts = res_ok(r) ? TK_OK : fail_res(p, r);
	PQclear(r);
	if (ts == TK_OK)
		s->gen = p->gen;
	return ts;
}

/* Queues the statement's run in the pipeline. */
static int
send_stmt(struct pg_stmt *s)
{
	struct pg *p = s->pg;

	return pipe_on(p) && pipe_sent(p, PQsendQueryPrepared(p->conn,
	    s->name, s->nparams, s->val, s->len, s->fmt, 0));
}

static enum db_rc
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = PS(st);
	struct pg *p = s->pg;

	if (s->res == NULL) {
		/* What failed before a rollback, the rollback undoes. */
		if (s->rollback)
			drain(p, NULL);
		if (prepared(s) != TK_OK)
			return DB_ERROR;
		if (!send_stmt(s) || drain(p, &s->res) != TK_OK)
			return DB_ERROR;
		p->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		s->nrows = PQntuples(s->res);
		s->row = -1;
	}
	if (s->row + 1 >= s->nrows) {
		s->row = s->nrows;
		return DB_DONE;
	}
	s->row++;
	PQfreemem(s->blob);
	s->blob = NULL;
	return DB_ROW;
}

/*
 * A write whose result nobody reads: queued, sent with the next
 * statement waited for. Outside a transaction nothing may wait after
 * it: it runs at once.
 */
static enum db_rc
pg_later(struct db_stmt *st)
{
	struct pg_stmt *s = PS(st);
	struct pg *p = s->pg;

	if (p->queued == 0 &&
	    PQtransactionStatus(p->conn) != PQTRANS_INTRANS)
		return pg_step(st);
	if (prepared(s) != TK_OK || !send_stmt(s) ||
	    (p->queued >= PG_QUEUE && drain(p, NULL) != TK_OK))
		return DB_ERROR;
	return DB_DONE;
}

static int
live(struct pg_stmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 &&
	    i < PQnfields(s->res);
}

static int
pg_columns(struct db_stmt *st)
{
	return PS(st)->res ? PQnfields(PS(st)->res) : 0;
}

static int
pg_is_null(struct db_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);

	return !live(s, i) || PQgetisnull(s->res, s->row, i);
}

static const char *
pg_text(struct db_stmt *st, int i)
{
	struct pg_stmt *s = PS(st);

	return pg_is_null(st, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

/* Integers, and booleans as 1 and 0; numeric sums are whole. */
static int64_t
pg_integer(struct db_stmt *st, int i)
{
	const char *v = pg_text(st, i);

	if (v == NULL)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	return strtoll(v, NULL, 10);
}

static const void *
pg_blob(struct db_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = PS(st);

	*n = 0;
	if (pg_is_null(st, i))
		return NULL;
	if (PQftype(s->res, i) != BYTEA_OID) {
		*n = (size_t)PQgetlength(s->res, s->row, i);
		return PQgetvalue(s->res, s->row, i);
	}
	PQfreemem(s->blob);
	s->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res,
	    s->row, i), n);
	return s->blob;
}

const struct db_ops store_pg_ops = {
	.dialect = DB_PG,
	.open = pg_open, .close = pg_close, .errmsg = pg_errmsg,
	.status = pg_status, .retryable = pg_retryable, .exec = pg_exec,
	.begin = pg_begin, .claim = pg_claim,
	.in_transaction = pg_in_transaction, .version_get = pg_version_get,
	.version_set = pg_version_set, .changes = pg_changes,
	.lock_try = pg_lock_try, .unlock = pg_unlock,
	.prepare = pg_prepare, .finalize = pg_finalize,
	.bind_null = pg_bind_null, .bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text, .bind_blob = pg_bind_blob,
	.step = pg_step, .later = pg_later, .reset = pg_reset,
	.columns = pg_columns,
	.is_null = pg_is_null, .int64 = pg_integer, .text = pg_text,
	.blob = pg_blob,
};
