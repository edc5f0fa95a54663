/*
 * store_db.h — the two backends under store.c: a connection, prepared
 * statements, their parameters and rows. Only store.c, store_sqlite.c and
 * store_pg.c include it; nothing above the store knows which backend runs.
 *
 * A backend fills a struct db_ops. Its connection and statement structs
 * begin with a struct db / struct db_stmt, whose ops point back at it.
 * Statement text is written with SQLite's numbered parameters (?1, ?2,
 * ...); the PostgreSQL backend turns them into $1, $2, ... when it
 * prepares a statement. Values bound are borrowed until the statement is
 * stepped the first time; a row's text and blobs are valid until the next
 * step or reset.
 */
#ifndef TIKETTI_STORE_DB_H
#define TIKETTI_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/tk.h"

enum db_dialect { DB_SQLITE, DB_PG };

enum db_rc { DB_DONE, DB_ROW, DB_ERROR };

struct db_ops;

struct db {
	const struct db_ops	*ops;
};

struct db_stmt {
	const struct db_ops	*ops;
};

struct db_ops {
	enum db_dialect	 dialect;
	/*
	 * Opens target (a file path, or a PostgreSQL conninfo) with a busy
	 * timeout in seconds. On failure *out may hold a connection with
	 * the error text, to be closed.
	 */
	enum tk_status	(*open)(const char *target, long long busy_timeout,
			    int readonly, struct db **out, char **err);
	void		(*close)(struct db *);
	/* The last error's text and what it means to the caller. */
	const char	*(*errmsg)(struct db *);
	enum tk_status	(*status)(struct db *);
	/* The last failure is one a new transaction may not meet again
	 * (a lost connection, a serialisation failure, a deadlock). */
	int		(*retryable)(struct db *);
	/* Runs statements without parameters or rows (a schema block). */
	enum tk_status	(*exec)(struct db *, const char *sql);
	/*
	 * A write transaction: one writer at a time on the whole store;
	 * with shared, one beside other shared ones, each claiming what it
	 * touches (claim), but never beside an exclusive one.
	 */
	enum tk_status	(*begin)(struct db *, int shared);
	/*
	 * Takes the transaction's locks on keys (sorted, distinct), waiting
	 * for them or not: *held is 0 when another transaction holds one.
	 * A backend with one writer at a time has nothing to take.
	 */
	enum tk_status	(*claim)(struct db *, const int64_t *keys, size_t n,
			    int wait, int *held);
	int		(*in_transaction)(struct db *);
	/* The schema version stored in the database; -1 on error. */
	int		(*version_get)(struct db *);
	enum tk_status	(*version_set)(struct db *, int version);
	/* Rows the last write statement changed. */
	int64_t		(*changes)(struct db *);
	/* The named lock of store_lock_try; one at a time per connection. */
	enum tk_status	(*lock_try)(struct db *, const char *name, int *held);
	void		(*unlock)(struct db *);

	struct db_stmt	*(*prepare)(struct db *, const char *sql);
	void		(*finalize)(struct db_stmt *);
	void		(*bind_null)(struct db_stmt *, int i);
	void		(*bind_int64)(struct db_stmt *, int i, int64_t v);
	void		(*bind_text)(struct db_stmt *, int i, const char *v);
	void		(*bind_blob)(struct db_stmt *, int i, const void *p,
			    size_t n);
	enum db_rc	(*step)(struct db_stmt *);
	/*
	 * Runs a write whose outcome nobody reads at once (no rows, no
	 * changes): a backend may send it with the next statement, which
	 * then reports its failure as its own (a commit at the latest).
	 */
	enum db_rc	(*later)(struct db_stmt *);
	/* Ends the statement's run and forgets its parameters. */
	void		(*reset)(struct db_stmt *);
	int		(*columns)(struct db_stmt *);
	int		(*is_null)(struct db_stmt *, int i);
	int64_t		(*int64)(struct db_stmt *, int i);
	const char	*(*text)(struct db_stmt *, int i);	/* NULL if null */
	const void	*(*blob)(struct db_stmt *, int i, size_t *n);
};

extern const struct db_ops store_sqlite_ops;
extern const struct db_ops store_pg_ops;

static inline void db_bind_null(struct db_stmt *st, int i) { st->ops->bind_null(st, i); }
static inline void db_bind_int64(struct db_stmt *st, int i, int64_t v) { st->ops->bind_int64(st, i, v); }
static inline void db_bind_text(struct db_stmt *st, int i, const char *v) { st->ops->bind_text(st, i, v); }
static inline void db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n) { st->ops->bind_blob(st, i, p, n); }
static inline enum db_rc db_step(struct db_stmt *st) { return st->ops->step(st); }
static inline void db_reset(struct db_stmt *st) { st->ops->reset(st); }
static inline int db_columns(struct db_stmt *st) { return st->ops->columns(st); }
static inline int db_is_null(struct db_stmt *st, int i) { return st->ops->is_null(st, i); }
static inline int64_t db_int64(struct db_stmt *st, int i) { return st->ops->int64(st, i); }
static inline const char *db_text(struct db_stmt *st, int i) { return st->ops->text(st, i); }
static inline const void *db_blob(struct db_stmt *st, int i, size_t *n) { return st->ops->blob(st, i, n); }

#endif
