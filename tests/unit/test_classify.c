/* Unit tests for classify.c. */
#include "tk_test.h"
#include "tiketti/classify.h"

static struct tk_conf *conf;

static int
setup(void **state)
{
	struct buf err;

	(void)state;
	buf_init(&err, 0);
	conf_load(NULL, 0, &conf, &err);
	buf_free(&err);
	conf->agents = calloc(1, sizeof(*conf->agents));
	conf->agents[0].name = strdup("maria");
	conf->agents[0].addresses = calloc(1, sizeof(char *));
	conf->agents[0].addresses[0] = strdup("maria@us.fi");
	conf->agents[0].naddresses = 1;
	conf->nagents = 1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conf_free(conf);
	return 0;
}

static enum classify_kind
kind_of(const char *text, const char *env_from, const char **reason)
{
	struct tk_msg *m = mime_parse(text, strlen(text), NULL);
	struct classify_result r;

	classify_message(conf, m, env_from, &r);
	mime_free(m);
	if (reason)
		*reason = r.reason;
	return r.kind;
}

static void
t_kinds(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(kind_of("From: a@x.fi\nSubject: hi\n\nx\n", NULL, NULL),
	    KIND_CUSTOMER);
	assert_int_equal(kind_of("From: Maria@US.fi\nSubject: hi\n\nx\n", NULL,
	    NULL), KIND_AGENT);
	assert_int_equal(kind_of("From: a@x.fi\nAuto-Submitted: auto-replied\n\nx\n",
	    NULL, &why), KIND_AUTO);
	assert_string_equal(why, "auto-submitted");
	assert_int_equal(kind_of("From: a@x.fi\nAuto-Submitted: no\n\nx\n", NULL,
	    NULL), KIND_CUSTOMER);
	assert_int_equal(kind_of("From: a@x.fi\nPrecedence: bulk\n\nx\n", NULL,
	    &why), KIND_AUTO);
	assert_string_equal(why, "precedence");
	assert_int_equal(kind_of("From: a@x.fi\nList-Id: <l.x.fi>\n\nx\n", NULL,
	    &why), KIND_AUTO);
	assert_string_equal(why, "list");
	assert_int_equal(kind_of("From: a@x.fi\nX-Autoreply: yes\n\nx\n", NULL,
	    NULL), KIND_AUTO);
	assert_int_equal(kind_of("From: noreply@x.fi\n\nx\n", NULL, &why),
	    KIND_AUTO);
	assert_string_equal(why, "robot-sender");
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Automatic reply: x\n\nx\n",
	    NULL, &why), KIND_AUTO);
	assert_string_equal(why, "out-of-office");
	assert_int_equal(kind_of("From: a@x.fi\n\nx\n", "", &why), KIND_AUTO);
	assert_string_equal(why, "null-sender");
	assert_int_equal(kind_of("From: a@x.fi\nReturn-Path: <>\n\nx\n", NULL,
	    &why), KIND_AUTO);
}

static void
t_bounces(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(kind_of("From: MAILER-DAEMON@x.fi\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=B\n\n--B\n\nx\n--B--\n", NULL, &why), KIND_BOUNCE);
	assert_string_equal(why, "dsn");
	assert_int_equal(kind_of("From: MAILER-DAEMON@x.fi\n"
	    "Subject: failure notice\n\nx\n", NULL, NULL), KIND_BOUNCE);
	assert_int_equal(kind_of("From: a@x.fi\n"
	    "Content-Type: multipart/report; report-type=disposition-notification; "
	    "boundary=B\n\n--B\n\nx\n--B--\n", NULL, &why), KIND_AUTO);
	assert_string_equal(why, "mdn");
}

static void
t_robots(void **state)
{
	(void)state;
	assert_true(classify_robot_address("MAILER-DAEMON@x.fi"));
	assert_true(classify_robot_address("no-reply@x.fi"));
	assert_true(classify_robot_address("bounces+123@x.fi"));
	assert_true(classify_robot_address(""));
	assert_false(classify_robot_address("norah@x.fi"));
	assert_false(classify_robot_address("postmistress@x.fi"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_kinds),
		cmocka_unit_test(t_bounces),
		cmocka_unit_test(t_robots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
