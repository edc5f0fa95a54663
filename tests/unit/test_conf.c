/* Unit tests for conf.c. */
#include <stdio.h>
#include <unistd.h>

#include "tk_test.h"
#include "tiketti/conf.h"

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/tk-conf-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
t_defaults(void **state)
{
	struct tk_conf *c;
	struct buf err;

	(void)state;
	buf_init(&err, 0);
	assert_int_equal(conf_load(NULL, 0, &c, &err), TK_OK);
	assert_string_equal(c->database, "tiketti.db");
	assert_string_equal(c->ticket_prefix, "Ticket");
	assert_int_equal(c->followup_after, 28 * 86400);
	assert_int_equal(c->tag_trust, CONF_TAG_PARTICIPANTS);
	assert_int_equal(c->nfallback_charsets, 4);
	assert_string_equal(c->fallback_charsets[1], "windows-1252");
	/* GMime reads the list up to a NULL: it must be there. */
	assert_null(c->fallback_charsets[c->nfallback_charsets]);
	conf_free(c);
	/* A missing file that need not exist gives the defaults. */
	assert_int_equal(conf_load("/nonexistent/tiketti.conf", 0, &c, &err),
	    TK_OK);
	conf_free(c);
	assert_int_equal(conf_load("/nonexistent/tiketti.conf", 1, &c, &err),
	    TK_EIO);
	buf_free(&err);
}

static void
t_values(void **state)
{
	char *p = write_tmp("# comment\nmailboxes = Support@X.fi, info@x.fi\n"
	    "tag_trust = any\nfollowup_after = 7\n[agent maria]\n"
	    "address = Maria@X.fi\nskills = a, b\n");
	struct tk_conf *c;
	struct buf err;

	(void)state;
	buf_init(&err, 0);
	assert_int_equal(conf_load(p, 1, &c, &err), TK_OK);
	assert_int_equal(c->nmailboxes, 2);
	assert_true(conf_is_mailbox(c, "SUPPORT@x.fi"));
	assert_false(conf_is_mailbox(c, "other@x.fi"));
	assert_int_equal(c->tag_trust, CONF_TAG_ANY);
	assert_int_equal(c->followup_after, 7 * 86400);
	assert_non_null(conf_agent_by_address(c, "maria@x.fi"));
	assert_string_equal(conf_agent_by_address(c, "maria@x.fi")->name, "maria");
	assert_int_equal(conf_agent_by_name(c, "maria")->nskills, 2);
	conf_free(c);
	buf_free(&err);
	unlink(p);
	free(p);
}

static void
t_errors(void **state)
{
	char *p = write_tmp("bogus = 1\ntag_trust = maybe\nno equals here\n"
	    "[agent x]\ncolour = red\n");
	struct tk_conf *c = NULL;
	struct buf err;
	char want[256];

	(void)state;
	buf_init(&err, 0);
	assert_int_equal(conf_load(p, 1, &c, &err), TK_EPARSE);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:1: unknown parameter \"bogus\"\n", p);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s:2: bad value \"tag_trust\"\n", p);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s:3: expected", p);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s:5: unknown agent parameter", p);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s: agent \"x\" has no address", p);
	assert_non_null(strstr(err.data, want));
	buf_free(&err);
	unlink(p);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
