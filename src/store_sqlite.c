/*
 * NAME
 *	store_sqlite.c — the SQLite backend of the store.
 * DESCRIPTION
 *	The only module that includes SQLite. One database file on one
 *	host: WAL, a busy timeout, foreign keys, synchronous FULL so a
 *	commit is on disk before a front end acknowledges mail, statements
 *	prepared once per connection, and a VFS that writes a commit's WAL
 *	frames in one system call instead of two each. A write transaction
 *	is BEGIN IMMEDIATE: it takes the database's one write lock first,
 *	so what it reads stays true until it commits. The schema version
 *	is PRAGMA user_version.
 * DIAGNOSTICS
 *	SQLITE_BUSY/LOCKED past the busy timeout, SQLITE_FULL and I/O
 *	errors are TK_ETEMP (the sender retries); a constraint is TK_EPERM.
 *	A failed write to the WAL shows at the commit.
 */
#include <sys/file.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sqlite3.h>

#include "tiketti/buf.h"
#include "store_db.h"

struct sq {
	struct db	 base;
	sqlite3		*db;
	int		 rc;		/* of the last failed call */
	char		*err;
	int		 lockfd;	/* store_lock_try's file, or -1 */
};

struct sq_stmt {
	struct db_stmt	 base;
	struct sq	*sq;
	sqlite3_stmt	*st;
};

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

/* Keeps the connection's error; returns what it means. */
static enum tk_status
fail(struct sq *q, int rc)
{
	q->rc = rc;
	free(q->err);
	q->err = xstrdup(q->db ? sqlite3_errmsg(q->db) : "no database");
	return status_of(rc);
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

static enum tk_status
sq_exec(struct db *d, const char *sql)
{
	struct sq *q = (struct sq *)d;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TK_OK : fail(q, sqlite3_errcode(q->db));
}

static enum tk_status
sq_open(const char *path, long long busy_timeout, int readonly,
    struct db **out, char **err)
{
	struct sq *q = xcalloc(1, sizeof(*q));
	int oflags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	enum tk_status ts;
	int rc;

	(void)err;
	q->base.ops = &store_sqlite_ops;
	q->lockfd = -1;
	*out = &q->base;
	pthread_once(&vfs_once, vfs_register);
	if ((rc = sqlite3_open_v2(path, &q->db, oflags | SQLITE_OPEN_NOMUTEX,
	    vfs_wal.zName)) != SQLITE_OK)
		return fail(q, q->db ? sqlite3_errcode(q->db) : rc);
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, (int)(busy_timeout * 1000));
	sqlite3_rollback_hook(q->db, wal_forget, q->db);
	if (readonly)
		return sq_exec(&q->base, "PRAGMA foreign_keys = ON");
	/* temp_store: a batch's savepoint journals (a message's pages,
	 * some hundred KiB) in memory, not a temporary file made and
	 * unlinked for each message. The read-only connections (reports,
	 * with their big sorts) keep temporary files. */
	if ((ts = sq_exec(&q->base, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;")) != TK_OK)
		return ts;
	return TK_OK;
}

/*
 * A named lock on one host: flock on DB.NAME.lock beside the database
 * (NAME made file-safe), which every process that opens the database
 * sees; the kernel drops it when the process dies.
 */
static enum tk_status
sq_lock_try(struct db *d, const char *name, int *held)
{
	struct sq *q = (struct sq *)d;
	const char *db = sqlite3_db_filename(q->db, "main");
	char *path, *safe;
	int fd;

	*held = 0;
	if (q->lockfd != -1) {
		free(q->err);
		q->err = xstrdup("a lock is already held on this connection");
		q->rc = SQLITE_MISUSE;
		return TK_EIO;
	}
	safe = xstrdup(name);
	for (char *c = safe; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			*c = '_';
	path = xasprintf("%s.%s.lock", db && *db ? db : "tiketti", safe);
	free(safe);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		if (fd != -1)
			close(fd);
		if (e == EWOULDBLOCK) {
			free(path);
			return TK_OK;
		}
		free(q->err);
		q->err = xasprintf("lock %s: %s", path, strerror(e));
		q->rc = SQLITE_CANTOPEN;
		free(path);
		return TK_ETEMP;
	}
	free(path);
	q->lockfd = fd;
	*held = 1;
	return TK_OK;
}

static void
sq_unlock(struct db *d)
{
	struct sq *q = (struct sq *)d;

	if (q->lockfd != -1)
		close(q->lockfd);
	q->lockfd = -1;
}

static void
sq_close(struct db *d)
{
	struct sq *q = (struct sq *)d;

	sq_unlock(d);
	sqlite3_close(q->db);
	free(q->err);
	free(q);
}

static const char *
sq_errmsg(struct db *d)
{
	struct sq *q = (struct sq *)d;

	return q->err ? q->err : "no error";
}

static enum tk_status
sq_status(struct db *d)
{
	return status_of(((struct sq *)d)->rc);
}

/* Busy is waited out for busy_timeout before it is an error. */
static int
sq_retryable(struct db *d)
{
	(void)d;
	return 0;
}

/* One writer at a time, shared or not: the file lock sees to it. */
static enum tk_status
sq_begin(struct db *d, int shared)
{
	(void)shared;
	return sq_exec(d, "BEGIN IMMEDIATE");
}

static enum tk_status
sq_claim(struct db *d, const int64_t *keys, size_t n, int wait, int *held)
{
	(void)d, (void)keys, (void)n, (void)wait;
	*held = 1;
	return TK_OK;
}

static int
sq_in_transaction(struct db *d)
{
	return !sqlite3_get_autocommit(((struct sq *)d)->db);
}

static int
sq_version_get(struct db *d)
{
	struct sq *q = (struct sq *)d;
	sqlite3_stmt *st;
	int version = -1, rc;

	if ((rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st,
	    NULL)) == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	else
		fail(q, rc);
	sqlite3_finalize(st);
	return version;
}

static enum tk_status
sq_version_set(struct db *d, int version)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return sq_exec(d, sql);
}

static int64_t
sq_changes(struct db *d)
{
	return sqlite3_changes(((struct sq *)d)->db);
}

static struct db_stmt *
sq_prepare(struct db *d, const char *sql)
{
	struct sq *q = (struct sq *)d;
	sqlite3_stmt *st;
	struct sq_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL)) != SQLITE_OK) {
		fail(q, rc);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_sqlite_ops;
	s->sq = q;
	s->st = st;
	return &s->base;
}

#define ST(x)	(((struct sq_stmt *)(x))->st)

static void
sq_finalize(struct db_stmt *s)
{
	if (s) {
		sqlite3_finalize(ST(s));
		free(s);
	}
}

static void sq_bind_null(struct db_stmt *s, int i) { sqlite3_bind_null(ST(s), i); }
static void sq_bind_int64(struct db_stmt *s, int i, int64_t v) { sqlite3_bind_int64(ST(s), i, v); }

static void
sq_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(ST(s), i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(ST(s), i);
}

static void
sq_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(ST(s), i, p ? p : "", n, SQLITE_STATIC);
}

static enum db_rc
sq_step(struct db_stmt *s)
{
	int rc = sqlite3_step(ST(s));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	fail(((struct sq_stmt *)s)->sq, rc);
	return DB_ERROR;
}

static void
sq_reset(struct db_stmt *s)
{
	sqlite3_reset(ST(s));
	sqlite3_clear_bindings(ST(s));
}

static int sq_columns(struct db_stmt *s) { return sqlite3_column_count(ST(s)); }
static int sq_is_null(struct db_stmt *s, int i) { return sqlite3_column_type(ST(s), i) == SQLITE_NULL; }
static int64_t sq_int64(struct db_stmt *s, int i) { return sqlite3_column_int64(ST(s), i); }
static const char *sq_text(struct db_stmt *s, int i) { return (const char *)sqlite3_column_text(ST(s), i); }

static const void *
sq_blob(struct db_stmt *s, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(ST(s), i);

	*n = (size_t)sqlite3_column_bytes(ST(s), i);
	return p;
}

const struct db_ops store_sqlite_ops = {
	.dialect = DB_SQLITE,
	.open = sq_open, .close = sq_close, .errmsg = sq_errmsg,
	.status = sq_status, .retryable = sq_retryable, .exec = sq_exec,
	.begin = sq_begin, .claim = sq_claim,
	.in_transaction = sq_in_transaction, .version_get = sq_version_get,
	.version_set = sq_version_set, .changes = sq_changes,
	.lock_try = sq_lock_try, .unlock = sq_unlock,
	.prepare = sq_prepare, .finalize = sq_finalize,
	.bind_null = sq_bind_null, .bind_int64 = sq_bind_int64,
	.bind_text = sq_bind_text, .bind_blob = sq_bind_blob,
	.step = sq_step, .later = sq_step, .reset = sq_reset, .columns = sq_columns,
	.is_null = sq_is_null, .int64 = sq_int64, .text = sq_text,
	.blob = sq_blob,
};
