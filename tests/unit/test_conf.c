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

static void
t_accounts(void **state)
{
	char *p = write_tmp("mailboxes = tuki@x.fi\n[account tuki]\n"
	    "host = imap.x.fi\nuser = tuki\npassword_file = /etc/pw\n"
	    "after = move:Done\nmailbox = Tuki@X.fi\n"
	    "[account old]\nhost = h\nuser = u\npassword_file = /p\n"
	    "tls = starttls\nport = 10143\nafter = seen\n");
	char *q = write_tmp("mailboxes = tuki@x.fi\n[account a]\nhost = h\n"
	    "tls = none\nafter = move:\nport = 0\nmailbox = other@x.fi\n"
	    "colour = red\n");
	const struct conf_account *a;
	struct tk_conf *c;
	struct buf err;
	char want[256];

	(void)state;
	buf_init(&err, 0);
	assert_int_equal(conf_load(p, 1, &c, &err), TK_OK);
	assert_int_equal(c->naccounts, 2);
	a = conf_account_by_name(c, "tuki");
	assert_non_null(a);
	assert_string_equal(a->folder, "INBOX");
	assert_int_equal(a->tls, CONF_TLS_IMAPS);
	assert_int_equal(a->port, 0);
	assert_int_equal(a->after, CONF_AFTER_MOVE);
	assert_string_equal(a->move_to, "Done");
	assert_string_equal(a->mailbox, "tuki@x.fi");
	a = conf_account_by_name(c, "old");
	assert_int_equal(a->tls, CONF_TLS_STARTTLS);
	assert_int_equal(a->port, 10143);
	assert_int_equal(a->after, CONF_AFTER_SEEN);
	assert_null(conf_account_by_name(c, "nope"));
	conf_free(c);

	assert_int_equal(conf_load(q, 1, &c, &err), TK_EPARSE);
	snprintf(want, sizeof(want), "%s:5: bad after", q);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s:6: bad port", q);
	assert_non_null(strstr(err.data, want));
	snprintf(want, sizeof(want), "%s:8: unknown account parameter", q);
	assert_non_null(strstr(err.data, want));
	assert_non_null(strstr(err.data, "needs user and password_file"));
	assert_non_null(strstr(err.data, "allow_plaintext = yes"));
	assert_non_null(strstr(err.data, "other@x.fi is not among mailboxes"));
	buf_free(&err);
	unlink(p);
	unlink(q);
	free(p);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_accounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
