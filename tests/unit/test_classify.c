/* Unit tests for classify.c. */
#include "tk_test.h"
#include "tiketti/authres.h"
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

	classify_message(conf, m, env_from, NULL, &r);
	mime_free(m);
	if (reason)
		*reason = r.reason;
	return r.kind;
}

/* classify with proof; the reason it was not enough in why (or ""). */
static enum classify_kind
agent_of(const char *text, const struct classify_proof *p, char *why)
{
	struct tk_msg *m = mime_parse(text, strlen(text), NULL);
	struct classify_result r;

	classify_message(conf, m, "x@us.fi", p, &r);
	mime_free(m);
	strcpy(why, r.unverified);
	if (r.kind == KIND_AGENT)
		assert_ptr_equal(r.agent, &conf->agents[0]);
	return r.kind;
}

#define MARIA "From: Maria <maria@us.fi>\nSubject: hi\n\nx\n"

static void
t_agent_proof(void **state)
{
	struct classify_proof sasl = { 1, "Maria@US.fi", "192.0.2.7" };
	struct classify_proof other = { 1, "antti", "192.0.2.7" };
	struct classify_proof none = { 1, NULL, "192.0.2.7" };
	struct classify_proof relay = { 1, NULL, "10.1.2.3" };
	struct classify_proof relay6 = { 1, NULL, "IPv6:2001:db8::25" };
	char why[256];

	(void)state;
	free(conf->trusted_relays);	/* the empty list conf_load made */
	conf->trusted_relays = calloc(3, sizeof(char *));
	conf->trusted_relays[0] = strdup("10.1.0.0/16");
	conf->trusted_relays[1] = strdup("2001:db8::/33");
	conf->ntrusted_relays = 2;
	conf->trusted_authserv_id = strdup("mx.us.fi");
	/* The milter: her SASL login (default: her address), or a relay
	 * the admin trusts; nothing else. */
	assert_int_equal(agent_of(MARIA, &sasl, why), KIND_AGENT);
	assert_int_equal(agent_of(MARIA, &other, why), KIND_CUSTOMER);
	assert_string_equal(why, "SASL login \"antti\" is not maria's");
	assert_int_equal(agent_of(MARIA, &none, why), KIND_CUSTOMER);
	assert_string_equal(why, "no SASL login, and client 192.0.2.7 is not "
	    "in trusted_relays");
	assert_int_equal(agent_of(MARIA, &relay, why), KIND_AGENT);
	assert_int_equal(agent_of(MARIA, &relay6, why), KIND_AGENT);
	conf->agents[0].login = strdup("mkoski");
	assert_int_equal(agent_of(MARIA, &sasl, why), KIND_CUSTOMER);
	sasl.auth_login = "MKoski";
	assert_int_equal(agent_of(MARIA, &sasl, why), KIND_AGENT);
	/* A milter's Authentication-Results count for nothing there. */
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.d=us.fi\n" MARIA, &none, why), KIND_CUSTOMER);

	/* Pipe and poll: the topmost results of the trusted server. */
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi;\n"
	    "  dkim=pass (2048-bit key) header.d=us.fi header.s=x\n" MARIA,
	    NULL, why), KIND_AGENT);
	assert_int_equal(agent_of("Authentication-Results: MX.us.fi 1; "
	    "spf=pass smtp.mailfrom=us.fi; dmarc=pass (p=reject) "
	    "header.from=us.fi\n" MARIA, NULL, why), KIND_AGENT);
	/* a parent domain aligns (relaxed), a bare TLD never does */
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.i=@us.fi\nFrom: maria@us.fi\n\nx\n", NULL, why),
	    KIND_AGENT);
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.d=fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.d=other.fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	assert_string_equal(why, "mx.us.fi gives no dkim=pass or dmarc=pass "
	    "for us.fi");
	assert_int_equal(agent_of("Authentication-Results: mx.evil.fi; dkim=pass "
	    "header.d=us.fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	assert_string_equal(why, "no Authentication-Results from mx.us.fi");
	/* a fail there beats a pass */
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.d=us.fi; dmarc=fail header.from=us.fi\n" MARIA, NULL, why),
	    KIND_CUSTOMER);
	assert_string_equal(why, "mx.us.fi says dmarc=fail header.from=us.fi");
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=fail "
	    "header.d=us.fi\nAuthentication-Results: mx.us.fi; dkim=pass "
	    "header.d=us.fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	/* below the next Received: written before the server saw it */
	assert_int_equal(agent_of("Received: by mx.us.fi; Tue, 6 Jan 2026 "
	    "10:00:00 +0000\nAuthentication-Results: mx.us.fi; dkim=none\n"
	    "Received: from evil by relay\nAuthentication-Results: mx.us.fi; "
	    "dkim=pass header.d=us.fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	/* comments and quoted strings do not confuse it */
	assert_int_equal(agent_of("Authentication-Results: (x; dkim=pass) "
	    "mx.us.fi; dkim=pass (header.d=evil.fi; x) reason=\"a;b\" "
	    "header.d=\"us.fi\"\n" MARIA, NULL, why), KIND_AGENT);
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; none\n"
	    MARIA, NULL, why), KIND_CUSTOMER);
	free(conf->trusted_authserv_id);
	conf->trusted_authserv_id = NULL;
	assert_int_equal(agent_of("Authentication-Results: mx.us.fi; dkim=pass "
	    "header.d=us.fi\n" MARIA, NULL, why), KIND_CUSTOMER);
	assert_non_null(strstr(why, "trusted_authserv_id is not set"));
	free(conf->agents[0].login);
	conf->agents[0].login = NULL;
}

static void
t_authres_parse(void **state)
{
	struct authres ar;

	(void)state;
	assert_int_equal(authres_parse("", &ar), -1);
	assert_int_equal(authres_parse("(only a comment)", &ar), -1);
	assert_int_equal(authres_parse("mx.example; dkim=pass header.d=A.example "
	    "header.b=abc+/=; dkim/1 = fail header.i=x@b.example; bogus; "
	    "dmarc=pass header.from=c.example (p=none)", &ar), 0);
	assert_string_equal(ar.authserv_id, "mx.example");
	assert_int_equal(ar.nres, 3);
	assert_string_equal(ar.res[0].header_d, "a.example");
	assert_string_equal(ar.res[1].method, "dkim");
	assert_string_equal(ar.res[1].result, "fail");
	assert_string_equal(ar.res[1].header_d, "b.example");
	assert_string_equal(ar.res[2].header_from, "c.example");
	authres_clear(&ar);
	assert_int_equal(authres_parse("mx; ((((((((((((((((((((x", &ar), 0);
	authres_clear(&ar);
}

static void
t_kinds(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(kind_of("From: a@x.fi\nSubject: hi\n\nx\n", NULL, NULL),
	    KIND_CUSTOMER);
	/* From: an agent is no proof by itself. */
	assert_int_equal(kind_of("From: Maria@US.fi\nSubject: hi\n\nx\n", NULL,
	    NULL), KIND_CUSTOMER);
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
	/* "Auto:" alone is weak evidence: a customer may write it. */
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Auto: reklamaatio, "
	    "jarrut vinkuvat\n\nUuden autoni jarrut vinkuvat.\n", NULL, NULL),
	    KIND_CUSTOMER);
	assert_int_equal(kind_of("From: a@x.fi\nSubject: AutoReply: x\n\n"
	    "Hello\n", NULL, NULL), KIND_CUSTOMER);
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Auto: Kiitos\n\nOlen "
	    "lomalla 3.1. asti.\n", NULL, &why), KIND_AUTO);
	assert_string_equal(why, "out-of-office");
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Auto: x\n"
	    "X-Auto-Response-Suppress: OOF\n\nx\n", NULL, NULL), KIND_AUTO);
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Automaattinen vastaus: "
	    "x\n\nx\n", NULL, NULL), KIND_AUTO);
	assert_int_equal(kind_of("From: a@x.fi\nSubject: Automatic reply: x\n\nx\n",
	    NULL, &why), KIND_AUTO);
	assert_string_equal(why, "out-of-office");
	assert_int_equal(kind_of("From: a@x.fi\n\nx\n", "", &why), KIND_AUTO);
	assert_string_equal(why, "null-sender");
	assert_int_equal(kind_of("From: a@x.fi\nReturn-Path: <>\n\nx\n", NULL,
	    &why), KIND_AUTO);
}

static int
permanent(const char *text)
{
	struct tk_msg *m = mime_parse(text, strlen(text), NULL);
	int p = classify_bounce_permanent(m);

	mime_free(m);
	return p;
}

#define DSN(action, status) "From: MAILER-DAEMON@x.fi\nContent-Type: " \
	"multipart/report; report-type=delivery-status; boundary=B\n\n--B\n\n" \
	"x\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; " \
	"x.fi\n\nFinal-Recipient: rfc822; a@y.fi\nAction: " action "\n" \
	"Status: " status "\n\n--B--\n"

static void
t_bounces(void **state)
{
	const char *why;

	(void)state;
	/* Only a failure for good counts as a bounce of our mail. */
	assert_true(permanent(DSN("failed", "5.1.1")));
	assert_false(permanent(DSN("delayed", "4.4.1")));
	assert_false(permanent(DSN("failed", "4.4.7")));
	assert_false(permanent(DSN("relayed", "2.0.0")));
	assert_true(permanent("From: MAILER-DAEMON@x.fi\nSubject: failure notice"
	    "\n\nSorry. This is a permanent error.\n<a@y.fi>:\n"
	    "550 5.1.1 <a@y.fi>: Recipient address rejected\n"));
	assert_false(permanent("From: MAILER-DAEMON@x.fi\nSubject: Warning: "
	    "message delayed\n\nYour message has not yet been delivered. "
	    "It will be retried.\n"));
	assert_false(permanent("From: a@y.fi\nSubject: x\n\nnothing\n"));
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
		cmocka_unit_test(t_agent_proof),
		cmocka_unit_test(t_authres_parse),
		cmocka_unit_test(t_bounces),
		cmocka_unit_test(t_robots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
