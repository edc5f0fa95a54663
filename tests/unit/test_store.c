/* Unit tests for store.c and ticket.c, on an in-memory database (and on
 * a file where the WAL is what is tested). */
#include "tk_test.h"
#include <stdio.h>
#include <unistd.h>
#include "tiketti/str.h"
#include "tiketti/store.h"
#include "tiketti/ticket.h"

static void
t_tickets(void **state)
{
	struct store *s;
	struct store_ticket t = { .subject = (char *)"Hei", .requester =
	    (char *)"a@x.fi", .created_at = 100 };
	char err[256];
	int found, changed, yes;
	struct tk_conf *conf;
	struct buf e;

	(void)state;
	buf_init(&e, 0);
	assert_int_equal(conf_load(NULL, 0, &conf, &e), TK_OK);
	buf_free(&e);
	assert_int_equal(store_open(tk_test_db(), 1, 0, &s), TK_OK);
	assert_int_equal(store_prepare_all(s), TK_OK);
	assert_int_equal(store_begin(s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	assert_int_equal(t.id, 1);
	assert_int_equal(store_participant_add(s, 1, "a@x.fi"), TK_OK);
	assert_int_equal(store_participant_add(s, 1, "a@x.fi"), TK_OK);
	assert_int_equal(store_participant_is(s, 1, "a@x.fi", &yes), TK_OK);
	assert_true(yes);
	assert_int_equal(store_participant_is(s, 1, "b@x.fi", &yes), TK_OK);
	assert_false(yes);
	assert_int_equal(ticket_set(s, conf, 1, "status", "solved", "me", 200,
	    &changed, err, sizeof(err)), TK_OK);
	assert_true(changed);
	assert_int_equal(ticket_set(s, conf, 1, "status", "solved", "me", 200,
	    &changed, err, sizeof(err)), TK_OK);
	assert_false(changed);
	assert_int_equal(ticket_set(s, conf, 1, "status", "done", "me", 200,
	    &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(ticket_set(s, conf, 1, "subject'; DROP TABLE x", "v", "me",
	    200, &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(ticket_set(s, conf, 9, "status", "open", "me", 200,
	    &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(store_commit(s), TK_OK);
	assert_int_equal(store_ticket_get(s, 1, &t, &found), TK_OK);
	assert_true(found);
	assert_string_equal(t.status, "solved");
	assert_int_equal(t.status_at, 200);
	assert_string_equal(t.priority, "normal");
	store_ticket_clear(&t);
	store_close(s);
	conf_free(conf);
}

static void
t_messages(void **state)
{
	struct store *s;
	struct store_ticket t = { .subject = (char *)"x", .created_at = 1 };
	struct store_message m = { .dedupe_key = "k1", .message_id = "m1@x",
	    .direction = "in", .kind = "customer", .received_at = 5,
	    .sha256 = "00", .raw = "raw", .rawlen = 3 };
	int64_t row, ticket;
	int found, blocked;

	(void)state;
	assert_int_equal(store_open(tk_test_db(), 1, 0, &s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	m.ticket = t.id;
	assert_int_equal(store_message_insert(s, &m, &row), TK_OK);
	assert_int_equal(store_message_find(s, "k1", NULL, &found, &row,
	    &ticket, &blocked), TK_OK);
	assert_true(found);
	assert_false(blocked);
	assert_int_equal(ticket, t.id);
	assert_int_equal(store_block(s, "b@x.fi", 1, 5, "me"), TK_OK);
	assert_int_equal(store_message_find(s, "k2", "B@x.fi", &found, &row,
	    &ticket, &blocked), TK_OK);
	assert_false(found);
	assert_true(blocked);
	assert_int_equal(store_message_find(s, "k1", "c@x.fi", &found, &row,
	    &ticket, &blocked), TK_OK);
	assert_true(found);
	assert_false(blocked);
	/* The dedupe key is unique: a second insert is refused. */
	assert_int_equal(store_message_insert(s, &m, &row), TK_EPERM);
	assert_int_equal(store_ticket_by_message_id(s, "m1@x", &ticket), TK_OK);
	assert_int_equal(ticket, t.id);
	assert_int_equal(store_ticket_by_message_id(s, "zz@x", &ticket), TK_OK);
	assert_int_equal(ticket, 0);
	/* Another message with a Message-ID a ticket's message holds gets
	 * held_flags; one with a Message-ID of its own does not. */
	m.dedupe_key = "k3";
	m.flags = 1;
	m.held_flags = 256;
	assert_int_equal(store_message_insert(s, &m, &row), TK_OK);
	assert_int_equal(m.flags, 257);
	m.dedupe_key = "k4";
	m.message_id = "m2@x";
	m.flags = 1;
	assert_int_equal(store_message_insert(s, &m, &row), TK_OK);
	assert_int_equal(m.flags, 1);
	store_close(s);
}

/*
 * A write whose failure may be reported later (PostgreSQL sends it with
 * the next statement): the transaction fails by its commit at the
 * latest, nothing of it stays, a rollback forgets it, and the next
 * transaction goes on.
 */
static void
t_later_failure(void **state)
{
	struct store *s;
	struct store_ticket t = { .subject = (char *)"x", .created_at = 1 };
	char status[16], *err;
	enum tk_status ts;

	(void)state;
	assert_int_equal(store_open(tk_test_db(), 1, 0, &s), TK_OK);
	assert_int_equal(store_begin(s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	/* An event of a ticket there is not: the foreign key refuses it. */
	if ((ts = store_event_add(s, t.id + 99, 1, "created", NULL, NULL,
	    "new", 0)) == TK_OK)
		ts = store_commit(s);
	else
		store_rollback(s);
	assert_int_equal(ts, TK_EPERM);
	/* The server's words: SQLite's in capitals. */
	err = str_lower(xstrdup(store_errmsg(s)));
	assert_non_null(strstr(err, "foreign key"));
	free(err);
	assert_int_equal(store_ticket_status(s, t.id, status, sizeof(status)),
	    TK_OK);
	assert_string_equal(status, "");
	assert_int_equal(store_begin(s), TK_OK);
	(void)store_event_add(s, t.id + 99, 1, "created", NULL, NULL, "new", 0);
	store_rollback(s);
	assert_int_equal(store_begin(s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	assert_int_equal(store_event_add(s, t.id, 1, "created", NULL, NULL,
	    "new", 0), TK_OK);
	assert_int_equal(store_commit(s), TK_OK);
	assert_int_equal(store_ticket_status(s, t.id, status, sizeof(status)),
	    TK_OK);
	assert_string_equal(status, "new");
	store_close(s);
}

static void
t_open_fails(void **state)
{
	struct store *s;

	(void)state;
	assert_int_not_equal(store_open("/nonexistent/dir/x.db", 1, 0, &s), TK_OK);
	assert_non_null(strstr(store_errmsg(s), "/nonexistent/dir/x.db"));
	store_close(s);
	store_close(NULL);
}

/*
 * A transaction too big for the page cache (SQLite's default, 2000 KiB)
 * writes WAL frames before its commit; rolled back, it leaves them.
 * Another connection then commits over the same place in the WAL, and
 * the first one writes again: what the rolled-back transaction had
 * written must not land over that commit. Nor when the transaction
 * was rolled back to a savepoint and then committed with nothing else
 * changed (SQLite then writes page 1 alone). The message's size sets how
 * far into the WAL the rolled-back frames reach; the kept tickets' pages
 * reach further.
 */
#define NKEPT	3000

static void
rollback_then_commit(size_t big, int savepoint)
{
	char dir[] = "/tmp/tk_store_XXXXXX", path[64], subject[256];
	static const char *const files[] = { "", "-wal", "-shm" };
	struct store *a, *b, *c;
	struct store_ticket t = { .subject = (char *)"lost", .created_at = 1 };
	struct store_ticket kept = { .created_at = 2 };
	struct store_ticket after = { .subject = (char *)"after",
	    .created_at = 3 };
	struct store_message m = { .dedupe_key = "big", .message_id = "big@x",
	    .direction = "in", .kind = "customer", .received_at = 5,
	    .sha256 = "00", .rawlen = big };
	char *raw = malloc(big);
	int64_t row, all, flagged, first = 0;
	int found;

	assert_non_null(raw);
	for (size_t i = 0; i < big; i++)
		raw[i] = (char)('a' + (i * 7919) % 26);
	m.raw = raw;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	/* Made and closed: no WAL, every page in the database file. */
	assert_int_equal(store_open(path, 5, 0, &a), TK_OK);
	store_close(a);
	assert_int_equal(store_open(path, 5, 0, &a), TK_OK);
	assert_int_equal(store_open(path, 5, 0, &b), TK_OK);

	/* Rolled back whole, or to a savepoint and the rest committed. */
	assert_int_equal(store_begin(a), TK_OK);
	if (savepoint)
		assert_int_equal(store_savepoint(a), TK_OK);
	assert_int_equal(store_ticket_insert(a, &t), TK_OK);
	m.ticket = t.id;
	assert_int_equal(store_message_insert(a, &m, &row), TK_OK);
	if (savepoint) {
		store_rollback_savepoint(a);
		assert_int_equal(store_commit(a), TK_OK);
	} else
		store_rollback(a);

	assert_int_equal(store_begin(b), TK_OK);
	for (int i = 0; i < NKEPT; i++) {
		snprintf(subject, sizeof(subject), "kept %d %0200d", i, i);
		kept.subject = subject;
		assert_int_equal(store_ticket_insert(b, &kept), TK_OK);
		if (i == 0)
			first = kept.id;
	}
	assert_int_equal(store_commit(b), TK_OK);

	assert_int_equal(store_begin(a), TK_OK);
	assert_int_equal(store_ticket_insert(a, &after), TK_OK);
	assert_int_equal(store_commit(a), TK_OK);
	store_close(a);
	store_close(b);

	assert_int_equal(store_open(path, 5, STORE_READONLY, &c), TK_OK);
	for (int i = 0; i < NKEPT; i++) {
		snprintf(subject, sizeof(subject), "kept %d %0200d", i, i);
		assert_int_equal(store_ticket_get(c, first + i, &t, &found),
		    TK_OK);
		assert_true(found);
		assert_string_equal(t.subject, subject);
		store_ticket_clear(&t);
	}
	assert_int_equal(store_ticket_get(c, after.id, &t, &found), TK_OK);
	assert_true(found);
	assert_string_equal(t.subject, "after");
	store_ticket_clear(&t);
	assert_int_equal(store_count_messages(c, &all, &flagged), TK_OK);
	assert_int_equal(all, 0);
	store_close(c);

	free(raw);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/t.db%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
t_rollback_wal(void **state)
{
	(void)state;
	for (int savepoint = 0; savepoint < 2; savepoint++) {
		rollback_then_commit(2100 * 1000, savepoint);
		rollback_then_commit(2200 * 1000, savepoint);
		rollback_then_commit(2400 * 1000, savepoint);
	}
}

/*
 * PostgreSQL: a password written in the connection string is refused
 * before anything connects; a server that is not there is "try later".
 */
static void
t_pg_open(void **state)
{
	struct store *s;

	(void)state;
	assert_int_equal(store_open("postgresql://tk:secret@127.0.0.1:1/x", 1,
	    0, &s), TK_EPERM);
	assert_non_null(strstr(store_errmsg(s), "passfile"));
	assert_null(strstr(store_errmsg(s), "secret"));
	store_close(s);
	assert_int_equal(store_open("postgresql:host=127.0.0.1 port=1 "
	    "dbname=x password=secret", 1, 0, &s), TK_EPERM);
	store_close(s);
	assert_int_equal(store_open("postgresql:host=127.0.0.1 port=1 "
	    "dbname=x connect_timeout=2", 1, 0, &s), TK_ETEMP);
	assert_non_null(strstr(store_errmsg(s), "127.0.0.1"));
	store_close(s);
	assert_int_equal(store_open("postgresql:host=127.0.0.1 nonsense", 1,
	    0, &s), TK_EPARSE);
	store_close(s);
}

/* A setting shown in a message never shows a password. */
static void
t_describe(void **state)
{
	static const char *const cases[][2] = {
		{ "postgresql://tk:s3cret@db1,db2/x?sslmode=verify-full",
		  "postgresql://tk:***@db1,db2/x?sslmode=verify-full" },
		{ "postgresql:host=db1 password=s3cret dbname=x",
		  "postgresql:host=db1 password=*** dbname=x" },
		{ "postgresql:password = 's3 \\'cret' dbname=x",
		  "postgresql:password=*** dbname=x" },
		{ "postgresql://tk@db1/x", "postgresql://tk@db1/x" },
		{ "/var/lib/tiketti/t.db", "/var/lib/tiketti/t.db" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = store_describe(cases[i][0]);

		assert_string_equal(d, cases[i][1]);
		free(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tickets),
		cmocka_unit_test(t_messages),
		cmocka_unit_test(t_later_failure),
		cmocka_unit_test(t_open_fails),
		cmocka_unit_test(t_rollback_wal),
		cmocka_unit_test(t_pg_open),
		cmocka_unit_test(t_describe),
	};
	/* The backend-neutral tests, on the PostgreSQL of tests/pg.sh. */
	const struct CMUnitTest pg[] = {
		cmocka_unit_test(t_tickets),
		cmocka_unit_test(t_messages),
		cmocka_unit_test(t_later_failure),
		cmocka_unit_test(t_pg_open),
	};
	const char *url = getenv("TIKETTI_TEST_PG");

	if (url && *url)
		return cmocka_run_group_tests(pg, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
