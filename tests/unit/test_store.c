/* Unit tests for store.c and ticket.c on an in-memory database. */
#include "tk_test.h"
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

	(void)state;
	assert_int_equal(store_open(":memory:", 1, 0, &s), TK_OK);
	assert_int_equal(store_begin(s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	assert_int_equal(t.id, 1);
	assert_int_equal(store_participant_add(s, 1, "a@x.fi"), TK_OK);
	assert_int_equal(store_participant_add(s, 1, "a@x.fi"), TK_OK);
	assert_int_equal(store_participant_is(s, 1, "a@x.fi", &yes), TK_OK);
	assert_true(yes);
	assert_int_equal(store_participant_is(s, 1, "b@x.fi", &yes), TK_OK);
	assert_false(yes);
	assert_int_equal(ticket_set(s, 1, "status", "solved", "me", 200,
	    &changed, err, sizeof(err)), TK_OK);
	assert_true(changed);
	assert_int_equal(ticket_set(s, 1, "status", "solved", "me", 200,
	    &changed, err, sizeof(err)), TK_OK);
	assert_false(changed);
	assert_int_equal(ticket_set(s, 1, "status", "done", "me", 200,
	    &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(ticket_set(s, 1, "subject'; DROP TABLE x", "v", "me",
	    200, &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(ticket_set(s, 9, "status", "open", "me", 200,
	    &changed, err, sizeof(err)), TK_EPERM);
	assert_int_equal(store_commit(s), TK_OK);
	assert_int_equal(store_ticket_get(s, 1, &t, &found), TK_OK);
	assert_true(found);
	assert_string_equal(t.status, "solved");
	assert_int_equal(t.status_at, 200);
	assert_string_equal(t.priority, "normal");
	store_ticket_clear(&t);
	store_close(s);
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
	int found;

	(void)state;
	assert_int_equal(store_open(":memory:", 1, 0, &s), TK_OK);
	assert_int_equal(store_ticket_insert(s, &t), TK_OK);
	m.ticket = t.id;
	assert_int_equal(store_message_insert(s, &m, &row), TK_OK);
	assert_int_equal(store_message_find(s, "k1", &found, &row, &ticket), TK_OK);
	assert_true(found);
	assert_int_equal(ticket, t.id);
	assert_int_equal(store_message_find(s, "k2", &found, &row, &ticket), TK_OK);
	assert_false(found);
	/* The dedupe key is unique: a second insert is refused. */
	assert_int_equal(store_message_insert(s, &m, &row), TK_EPERM);
	assert_int_equal(store_ticket_by_message_id(s, "m1@x", &ticket), TK_OK);
	assert_int_equal(ticket, t.id);
	assert_int_equal(store_ticket_by_message_id(s, "zz@x", &ticket), TK_OK);
	assert_int_equal(ticket, 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tickets),
		cmocka_unit_test(t_messages),
		cmocka_unit_test(t_open_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
