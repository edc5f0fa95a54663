/* Unit tests for the rule language: every test, match type and event,
 * evaluated on parsed mail and a ticket view, with no database. */
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "tk_test.h"
#include "tiketti/rules.h"
#include "tiketti/str.h"

static struct tk_conf *conf;

static int
setup(void **state)
{
	struct buf err;

	(void)state;
	/* as main() does: :regex character classes are UTF-8 */
	setlocale(LC_CTYPE, "C.UTF-8");
	buf_init(&err, 0);
	conf_load(NULL, 0, &conf, &err);
	buf_free(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conf_free(conf);
	return 0;
}

static const char mail[] =
    "From: =?utf-8?q?Ville_V=C3=A4h=C3=A4nen?= <Ville@Asiakas.Example>\n"
    "To: Tuki <tuki@yritys.example>, other@x.example\n"
    "Cc: boss@asiakas.example\n"
    "Subject: =?utf-8?b?0KHQutCw0YDQs9CwOiBrYWh2aW5rZWl0aW4=?=\n"
    "X-Priority: 1 (Highest)\n"
    "Message-ID: <v1@asiakas.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Keitin ON RIKKI. Tilaus 4711.\n"
    "--b\n"
    "Content-Type: application/pdf; name=kuitti.pdf\n"
    "Content-Disposition: attachment; filename=kuitti.pdf\n"
    "\n"
    "%PDF-1.4\n"
    "--b--\n";

struct collect {
	struct buf	out;
};

static enum tk_status
collect(const struct rules_origin *o, const struct rules_action *a, void *arg)
{
	struct collect *c = arg;

	buf_printf(&c->out, "%s%s:", c->out.len ? " " : "", o->name);
	rules_action_format(a, &c->out);
	return TK_OK;
}

/*
 * Loads text as rules, runs event ev on the mail above (or none) and a
 * ticket in status "open", and returns what fired as "name:action ..."
 * ("" for nothing, "ERR" when the rules do not parse). Caller frees.
 */
static char *
run(const char *text, enum rules_event ev, const char *status, int with_mail)
{
	struct ruleset *rs = rules_new();
	struct store_ticket t = { 0 };
	struct rules_input in = { 0 };
	struct collect c;
	struct tk_msg *m = with_mail ? mime_parse(mail, strlen(mail), NULL) :
	    NULL;
	const char *rcpt[] = { "tuki@yritys.example" };
	struct buf err;
	char *res;

	buf_init(&err, 0);
	buf_init(&c.out, 0);
	if (rules_add_text(rs, "t.rules", text, strlen(text), conf, &err) !=
	    TK_OK) {
		print_message("%s", err.data);
		res = xstrdup("ERR");
		goto out;
	}
	t.id = 7;
	t.subject = xstrdup("Скарга: kahvinkeitin");
	t.status = xstrdup("open");
	t.priority = xstrdup("high");
	t.category = xstrdup("Complaint");
	t.assignee = xstrdup("maria");
	t.mailbox = xstrdup("tuki@yritys.example");
	t.tags = xstrdup("kettle,vip");
	t.created_at = 1000;
	in.msg = m;
	in.env_from = "bounce@asiakas.example";
	in.env_to = rcpt;
	in.nenv_to = 1;
	in.ticket = &t;
	in.now = 1000 + 3 * 86400;
	assert_int_equal(rules_run(rs, ev, status, &in, collect, &c), TK_OK);
	res = buf_release(&c.out);
	rules_input_clear(&in);
	store_ticket_clear(&t);
out:
	buf_free(&c.out);
	buf_free(&err);
	rules_free(rs);
	mime_free(m);
	return res;
}

/* Asserts that a create rule with this test fires (want 1) or not. */
static void
check_test(const char *test, int want)
{
	char *text = xasprintf("rule \"r\" { on create if %s then stop; }", test);
	char *got = run(text, RULES_CREATE, NULL, 1);

	if (strcmp(got, want ? "r:stop" : "") != 0)
		fail_msg("test `%s`: got \"%s\", want %s", test, got,
		    want ? "fires" : "does not fire");
	free(got);
	free(text);
}

static void
t_header(void **state)
{
	(void)state;
	/* decoded UTF-8, case-insensitive (Cyrillic too) */
	check_test("header :subject :contains \"скарга\"", 1);
	check_test("header :subject :contains \"СКАРГА\"", 1);
	check_test("header :subject :is \"Скарга: kahvinkeitin\"", 1);
	check_test("header :subject :is \"скарга\"", 0);
	check_test("header :subject :matches \"Ск*keitin\"", 1);
	check_test("header :subject :matches \"?карга:*\"", 1);
	check_test("header :subject :matches \"карга*\"", 0);
	check_test("header :subject :regex \"^с.{4}а: kahvi\"", 1);
	check_test("header :subject :regex \"[0-9]+\"", 0);
	check_test("header :subject :case :contains \"скарга\"", 0);
	check_test("header :subject :case :contains \"Скарга\"", 1);
	/* Sieve order: names then values; several names and values */
	check_test("header :contains [\"x-priority\", \"x-msmail-priority\"] "
	    "[\"urgent\", \"highest\"]", 1);
	check_test("header :x-priority :is \"1 (highest)\"", 1);
	check_test("header :content-type :contains \"multipart\"", 1);
	check_test("header :x-nothing :contains \"\"", 0);
	check_test("exists \"X-Priority\"", 1);
	check_test("exists :x-spam-flag", 0);
}

static void
t_address(void **state)
{
	(void)state;
	check_test("address :from :is \"ville@asiakas.example\"", 1);
	check_test("address :from :is \"VILLE@ASIAKAS.EXAMPLE\"", 1);
	check_test("address :from :domain :is \"asiakas.example\"", 1);
	check_test("address :from :localpart :is \"ville\"", 1);
	check_test("address :from :localpart :is \"asiakas\"", 0);
	check_test("address :to :is \"other@x.example\"", 1);
	check_test("address :cc :domain :matches \"*.example\"", 1);
	check_test("address [\"to\", \"cc\"] :is \"boss@asiakas.example\"", 1);
	check_test("address :to :is \"boss@asiakas.example\"", 0);
	check_test("envelope :from :domain :is \"asiakas.example\"", 1);
	check_test("envelope :to :is \"tuki@yritys.example\"", 1);
	check_test("envelope :to :is \"other@x.example\"", 0);
}

static void
t_body_attachment(void **state)
{
	(void)state;
	check_test("body :contains \"on rikki\"", 1);
	check_test("body :contains [\"reklamaatio\", \"tilaus 4711\"]", 1);
	check_test("body :contains \"kuitti\"", 0);
	check_test("body :regex \"tilaus [0-9]{4}\"", 1);
	check_test("attachment :name :matches \"*.PDF\"", 1);
	check_test("attachment :is \"kuitti.pdf\"", 1);
	check_test("attachment :type :is \"application/pdf\"", 1);
	check_test("attachment :type :contains \"zip\"", 0);
}

static void
t_ticket_fields(void **state)
{
	(void)state;
	check_test("status :is \"open\"", 1);
	check_test("status :is [\"new\", \"pending\"]", 0);
	check_test("priority :is [\"high\", \"urgent\"]", 1);
	check_test("category :is \"complaint\"", 1);
	check_test("assignee :is \"maria\"", 1);
	check_test("mailbox :is \"tuki@yritys.example\"", 1);
	check_test("tag :is \"vip\"", 1);
	check_test("tags :matches \"ket*\"", 1);
	check_test("tag :is \"vi\"", 0);
	check_test("age :over 2d", 1);
	check_test("age :over 3d", 0);
	check_test("age :under 4d", 1);
	check_test("age :under 1h", 0);
}

static void
t_logic(void **state)
{
	(void)state;
	check_test("true", 1);
	check_test("false", 0);
	check_test("not false", 1);
	check_test("allof (true, status :is \"open\")", 1);
	check_test("allof (true, false)", 0);
	check_test("anyof (false, false, tag :is \"vip\")", 1);
	check_test("anyof (false, not true)", 0);
	check_test("not anyof (false, allof (true, not false))", 0);
}

static void
t_events(void **state)
{
	static const char rules[] =
	    "rule \"c\" { on create then stop; }\n"
	    "rule \"r\" { on customer reply then note \"x\"; }\n"
	    "rule \"r2\" { on reply then note \"y\"; }\n"
	    "rule \"a\" { on agent reply then tag \"a\"; }\n"
	    "rule \"s\" { on status [\"solved\", \"closed\"] then csat; }\n"
	    "rule \"both\" { on create on agent reply then untag \"b\"; }\n"
	    "rule \"t\" { on after 2d in pending then note \"late\"; }\n"
	    "macro \"m\" { set category \"refund\"; }\n";
	char *got;

	(void)state;
	got = run(rules, RULES_CREATE, NULL, 1);
	assert_string_equal(got, "c:stop");	/* stop ends the run */
	free(got);
	got = run(rules, RULES_CUSTOMER_REPLY, NULL, 1);
	assert_string_equal(got, "r:note \"x\" r2:note \"y\"");
	free(got);
	got = run(rules, RULES_AGENT_REPLY, NULL, 1);
	assert_string_equal(got, "a:tag \"a\" both:untag \"b\"");
	free(got);
	got = run(rules, RULES_STATUS, "closed", 0);
	assert_string_equal(got, "s:csat");
	free(got);
	got = run(rules, RULES_STATUS, "pending", 0);
	assert_string_equal(got, "");
	free(got);
	/* Time rules only run through the timer interface. */
	got = run(rules, RULES_TIME, NULL, 0);
	assert_string_equal(got, "");
	free(got);
}

static void
t_timers_macros(void **state)
{
	static const char rules[] =
	    "rule \"p\" { on after 7d in pending then autoreply \"reminder\"; }\n"
	    "rule \"c\" { on after 90m since created then stop; }\n"
	    "rule \"u\" { on after 2h since customer in open\n"
	    "    if priority :is \"high\" then note \"nudge\"; }\n"
	    "macro \"refund-done\" { set category \"refund\"; reply \"x\";\n"
	    "    set status solved; }\n";
	struct ruleset *rs = rules_new();
	const struct rules_timer *tm;
	struct store_ticket t = { 0 };
	struct rules_input in = { 0 };
	struct collect c;
	struct buf err;

	(void)state;
	buf_init(&err, 0);
	buf_init(&c.out, 0);
	assert_int_equal(rules_add_text(rs, "t.rules", rules, strlen(rules),
	    NULL, &err), TK_OK);
	assert_int_equal(rules_count(rs), 4);
	assert_int_equal(rules_ntimers(rs), 3);
	tm = rules_timer(rs, 0);
	assert_string_equal(tm->rule, "p");
	assert_int_equal(tm->after, 7 * 86400);
	assert_int_equal(tm->since, STORE_SINCE_STATUS);
	assert_string_equal(tm->status, "pending");
	tm = rules_timer(rs, 1);
	assert_int_equal(tm->after, 5400);
	assert_int_equal(tm->since, STORE_SINCE_CREATED);
	assert_null(tm->status);
	tm = rules_timer(rs, 2);
	assert_int_equal(tm->since, STORE_SINCE_CUSTOMER);
	assert_string_equal(tm->status, "open");
	t.status = xstrdup("open");
	t.priority = xstrdup("normal");
	in.ticket = &t;
	/* the timer's test still applies */
	assert_int_equal(rules_run_timer(rs, 2, &in, collect, &c), TK_OK);
	assert_int_equal(c.out.len, 0);
	free(t.priority);
	t.priority = xstrdup("high");
	assert_int_equal(rules_run_timer(rs, 2, &in, collect, &c), TK_OK);
	assert_string_equal(c.out.data, "u:note \"nudge\"");
	buf_reset(&c.out);
	assert_int_equal(rules_run_macro(rs, "Refund-Done", &in, collect, &c),
	    TK_OK);
	assert_string_equal(c.out.data, "refund-done:set category \"refund\" "
	    "refund-done:reply \"x\" refund-done:set status \"solved\"");
	assert_int_equal(rules_run_macro(rs, "nope", &in, collect, &c), TK_EPERM);
	/* macros do not run on events */
	buf_reset(&c.out);
	assert_int_equal(rules_run(rs, RULES_STATUS, "solved", &in, collect, &c),
	    TK_OK);
	assert_int_equal(c.out.len, 0);
	rules_input_clear(&in);
	store_ticket_clear(&t);
	buf_free(&c.out);
	buf_free(&err);
	rules_free(rs);
}

static void
t_view_apply(void **state)
{
	struct store_ticket t = { 0 };
	struct rules_action a = { 0 };

	(void)state;
	a.kind = ACT_TAG;
	a.arg = "vip";
	rules_ticket_apply(&t, &a);
	a.arg = "abc";
	rules_ticket_apply(&t, &a);
	rules_ticket_apply(&t, &a);
	assert_string_equal(t.tags, "abc,vip");
	a.kind = ACT_UNTAG;
	rules_ticket_apply(&t, &a);
	assert_string_equal(t.tags, "vip");
	a.arg = "vip";
	rules_ticket_apply(&t, &a);
	assert_null(t.tags);
	a.kind = ACT_SET;
	a.field = "priority";
	a.arg = "urgent";
	rules_ticket_apply(&t, &a);
	assert_string_equal(t.priority, "urgent");
	store_ticket_clear(&t);
}

/* A reload that fails leaves the caller with its previous set. */
static void
t_reload_keeps_old(void **state)
{
	struct ruleset *old = NULL, *new_ = (struct ruleset *)1;
	struct buf err;
	char dir[] = "/tmp/tiketti-rules-XXXXXX", *path;
	FILE *fp;
	char *got;

	(void)state;
	buf_init(&err, 0);
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/10.rules", dir);
	fp = fopen(path, "w");
	fputs("rule \"a\" { on create then stop; }\n", fp);
	fclose(fp);
	assert_int_equal(rules_load(dir, conf, &old, &err), TK_OK);
	assert_int_equal(rules_count(old), 1);
	fp = fopen(path, "w");
	fputs("rule \"a\" { on create then sett; }\n", fp);
	fclose(fp);
	assert_int_equal(rules_load(dir, conf, &new_, &err), TK_EPARSE);
	assert_null(new_);
	assert_non_null(strstr(err.data, "10.rules:1:27: unknown action \"sett\""));
	assert_int_equal(rules_count(old), 1);
	rules_free(old);
	unlink(path);
	rmdir(dir);
	free(path);
	buf_free(&err);
	got = run("rule \"x\" { on create then stop; ", RULES_CREATE, NULL, 0);
	assert_string_equal(got, "ERR");
	free(got);
}

static void
t_glob_fold(void **state)
{
	char s[] = "ÅÄÖ ABC ÆØ ПРИВІТ ΑΒΓ Ґ Ł";

	(void)state;
	assert_string_equal(str_fold(s), "åäö abc æø привіт αβγ ґ ł");
	assert_true(str_glob("*", ""));
	assert_true(str_glob("a*b*c", "axxbyyc"));
	assert_false(str_glob("a*b*c", "axxbyy"));
	assert_true(str_glob("\\*x", "*x"));
	assert_false(str_glob("\\*x", "ax"));
	assert_true(str_glob("?ä?", "äää"));
	/* many stars on a long text stay fast (no exponential backtrack) */
	{
		char *text = xmalloc(100001);

		memset(text, 'a', 100000);
		text[100000] = '\0';
		assert_false(str_glob("*a*a*a*a*a*a*a*a*b", text));
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_header),
		cmocka_unit_test(t_address),
		cmocka_unit_test(t_body_attachment),
		cmocka_unit_test(t_ticket_fields),
		cmocka_unit_test(t_logic),
		cmocka_unit_test(t_events),
		cmocka_unit_test(t_timers_macros),
		cmocka_unit_test(t_view_apply),
		cmocka_unit_test(t_reload_keeps_old),
		cmocka_unit_test(t_glob_fold),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
