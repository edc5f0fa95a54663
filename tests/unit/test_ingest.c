/* Unit tests for ingest.c on an in-memory database. */
#include "tk_test.h"
#include "tiketti/ingest.h"

static struct tk_conf *conf;
static struct store *st;
static struct ingest *ig;

static int
setup(void **state)
{
	struct buf err;

	(void)state;
	buf_init(&err, 0);
	conf_load(NULL, 0, &conf, &err);
	buf_free(&err);
	if (store_open(tk_test_db(), 1, 0, &st) != TK_OK)
		return -1;
	ig = ingest_new(conf, st);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ingest_free(ig);
	store_close(st);
	conf_free(conf);
	return 0;
}

static enum tk_status
in(const char *text, struct ingest_result *r)
{
	return ingest_message(ig, text, strlen(text), NULL, r);
}

static void
t_pipeline(void **state)
{
	struct ingest_result r;

	(void)state;
	assert_int_equal(in("From: a@x.fi\nSubject: Apua\nMessage-ID: <1@x>\n\n"
	    "help\n", &r), TK_OK);
	assert_true(r.created);
	assert_int_equal(r.ticket, 1);
	assert_string_equal(r.status, "new");
	/* The same message again changes nothing. */
	assert_int_equal(in("From: a@x.fi\nSubject: Apua\nMessage-ID: <1@x>\n\n"
	    "help\n", &r), TK_OK);
	assert_true(r.duplicate);
	assert_int_equal(r.ticket, 1);
	/* ... nor does the milter's copy with CRLF line ends and our
	 * headers, nor the mailbox's with what delivery added. */
	assert_int_equal(in("X-Tiketti-Ticket: 1\r\nX-Tiketti-Status: new\r\n"
	    "From: a@x.fi\r\nSubject: Apua\r\nMessage-ID: <1@x>\r\n\r\n"
	    "help\r\n", &r), TK_OK);
	assert_true(r.duplicate);
	assert_int_equal(in("Return-Path: <a@x.fi>\nDelivered-To: "
	    "support@us.fi\nReceived: from mx by imap; Tue, 6 Jan 2026 "
	    "10:00:00 +0000\nX-Tiketti-Ticket: 1\nFrom: a@x.fi\n"
	    "Subject: Apua\nMessage-ID: <1@x>\n\nhelp\n\n", &r), TK_OK);
	assert_true(r.duplicate);
	/* A reply threads by In-Reply-To. */
	assert_int_equal(in("From: a@x.fi\nSubject: Re: Apua\nMessage-ID: <2@x>\n"
	    "In-Reply-To: <1@x>\n\nmore\n", &r), TK_OK);
	assert_false(r.created);
	assert_int_equal(r.how, THREAD_IN_REPLY_TO);
	assert_int_equal(r.ticket, 1);
	/* A tag from mail with no sender at all is a stranger's tag. */
	assert_int_equal(in("Subject: Re: [Ticket #1] Apua\nMessage-ID: <3@x>\n\n"
	    "x\n", &r), TK_OK);
	assert_true(r.created);
	assert_int_not_equal(r.ticket, 1);
}

/* A reused Message-ID steals no thread: the first holder keeps it. */
static void
t_mid_reused(void **state)
{
	struct ingest_result r;
	int64_t liisa;

	(void)state;
	assert_int_equal(in("From: liisa@x.fi\nSubject: Lasku\n"
	    "Message-ID: <same@x.fi>\n\nLaskussa on virhe.\n", &r), TK_OK);
	liisa = r.ticket;
	assert_int_equal(r.flags & MIME_MID_REUSED, 0);
	assert_int_equal(in("From: stranger@evil.example\nSubject: Hi\n"
	    "Message-ID: <same@x.fi>\n\nSomething else.\n", &r), TK_OK);
	assert_false(r.duplicate);
	assert_true(r.created);
	assert_int_not_equal(r.ticket, liisa);
	assert_int_equal(r.flags & MIME_MID_REUSED, MIME_MID_REUSED);
	assert_int_equal(in("From: liisa@x.fi\nSubject: Re: Lasku\n"
	    "Message-ID: <next@x.fi>\nIn-Reply-To: <same@x.fi>\n\nJa lisää.\n",
	    &r), TK_OK);
	assert_int_equal(r.ticket, liisa);
}

static void
t_limit(void **state)
{
	struct ingest_result r;
	long long old = conf->message_size_limit;

	(void)state;
	conf->message_size_limit = 10;
	assert_int_equal(in("From: a@x.fi\n\nthis is too long\n", &r), TK_ELIMIT);
	assert_non_null(strstr(ingest_errmsg(ig), "message_size_limit"));
	conf->message_size_limit = old;
}

static void
t_batch(void **state)
{
	struct ingest_result r;
	int64_t all, flagged;

	(void)state;
	assert_int_equal(store_count_messages(st, &all, &flagged), TK_OK);
	assert_int_equal(ingest_batch_begin(ig), TK_OK);
	assert_int_equal(in("From: b@x.fi\nMessage-ID: <b1@x>\n\n1\n", &r), TK_OK);
	assert_int_equal(in("From: b@x.fi\nMessage-ID: <b2@x>\n\n2\n", &r), TK_OK);
	assert_int_equal(ingest_batch_commit(ig), TK_OK);
	{
		int64_t n;

		assert_int_equal(store_count_messages(st, &n, &flagged), TK_OK);
		assert_int_equal(n, all + 2);
	}
}

/*
 * PostgreSQL restarted under a long-lived connection (a milter's, a
 * poller's): the next message finds the connection gone, and is stored,
 * once, on a fresh one. tests/pg.sh says how to restart the server.
 */
static void
t_reconnect(void **state)
{
	const char *restart = getenv("TIKETTI_TEST_PG_RESTART");
	struct ingest_result r;
	int64_t before, after, flagged;

	(void)state;
	assert_non_null(restart);
	assert_int_equal(in("From: r@x.fi\nMessage-ID: <r1@x>\n\n1\n", &r),
	    TK_OK);
	assert_int_equal(store_count_messages(st, &before, &flagged), TK_OK);
	assert_int_equal(system(restart), 0);
	assert_int_equal(in("From: r@x.fi\nMessage-ID: <r2@x>\n\n2\n", &r),
	    TK_OK);
	assert_true(r.created);
	assert_int_equal(store_count_messages(st, &after, &flagged), TK_OK);
	assert_int_equal(after, before + 1);
	assert_int_equal(in("From: r@x.fi\nMessage-ID: <r2@x>\n\n2\n", &r),
	    TK_OK);
	assert_true(r.duplicate);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_pipeline),
		cmocka_unit_test(t_mid_reused),
		cmocka_unit_test(t_limit),
		cmocka_unit_test(t_batch),
		cmocka_unit_test(t_reconnect),
	};
	const char *pg = getenv("TIKETTI_TEST_PG");
	size_t n = sizeof(tests) / sizeof(tests[0]);

	/* t_reconnect is PostgreSQL's: SQLite has no connection to lose. */
	if (pg == NULL || *pg == '\0')
		n--;
	return _cmocka_run_group_tests("tests", tests, n, setup, teardown);
}
