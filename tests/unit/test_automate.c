/* Unit tests for automate.c: every action and event through ingest on an
 * in-memory database, routing, suppression, loops and time rules. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tk_test.h"
#include "tiketti/automate.h"
#include "tiketti/ingest.h"

static struct tk_conf *conf;
static struct store *st;
static struct ingest *ig;
static struct ruleset *rs;
static char confpath[] = "/tmp/tiketti-automate-XXXXXX";

static int
setup(void **state)
{
	const char *src = getenv("SRCDIR");
	struct buf err;
	FILE *fp;
	int fd;

	(void)state;
	if ((fd = mkstemp(confpath)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(fp, "mailboxes = tuki@yritys.example\nticket_prefix = Tuki\n"
	    "secret = unit-test-secret-0123456789\n"
	    "trusted_authserv_id = mx.yritys.example\n"
	    "templates_dir = %s/tests/rules/templates\n"
	    "[agent maria]\naddress = maria@yritys.example\n"
	    "skills = complaints\n"
	    "[agent antti]\naddress = antti@yritys.example\n"
	    "skills = complaints\n"
	    "[agent liisa]\naddress = liisa@yritys.example\n"
	    "skills = complaints, nightshift\navailable = no\n"
	    "[webhook crm]\nurl = http://127.0.0.1:9/hook\n", src ? src : ".");
	fclose(fp);
	buf_init(&err, 0);
	if (conf_load(confpath, 1, &conf, &err) != TK_OK) {
		print_message("%s", err.data);
		return -1;
	}
	buf_free(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	conf_free(conf);
	unlink(confpath);
	return 0;
}

/* A fresh database with these rules for each test. */
static void
fresh(const char *rules)
{
	struct buf err;

	ingest_free(ig);
	store_close(st);
	rules_free(rs);
	assert_int_equal(store_open(tk_test_db(), 1, 0, &st), TK_OK);
	rs = rules_new();
	buf_init(&err, 0);
	if (rules_add_text(rs, "t.rules", rules, strlen(rules), conf, &err) !=
	    TK_OK)
		fail_msg("rules: %s", err.data);
	buf_free(&err);
	ig = ingest_new(conf, st);
	ingest_set_rules(ig, rs);
}

static int
done_db(void **state)
{
	(void)state;
	ingest_free(ig);
	store_close(st);
	rules_free(rs);
	ig = NULL;
	st = NULL;
	rs = NULL;
	return 0;
}

static int64_t
in(const char *text)
{
	struct ingest_result r;

	if (ingest_message(ig, text, strlen(text), NULL, &r) != TK_OK)
		fail_msg("ingest: %s", ingest_errmsg(ig));
	return r.ticket;
}

static int
ev_row(const struct store_event *e, void *arg)
{
	buf_printf(arg, "%s:%s:%s:%s\n", e->type, e->actor ? e->actor : "-",
	    e->old ? e->old : "-", e->new_ ? e->new_ : "-");
	return 0;
}

/* Every event of a ticket as "type:actor:old:new" lines; caller frees. */
static char *
events(int64_t ticket)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(store_ticket_events(st, ticket, ev_row, &b), TK_OK);
	return buf_release(&b);
}

static int
ob_row(const struct store_outbox *o, void *arg)
{
	buf_printf(arg, "%lld:%s:%s:%s|%s\n", (long long)o->ticket, o->kind,
	    o->to, o->subject ? o->subject : "-", o->body ? o->body : "-");
	return 0;
}

static char *
outbox(void)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(store_outbox_list(st, NULL, ob_row, &b), TK_OK);
	return buf_release(&b);
}

static struct store_ticket
ticket(int64_t id)
{
	struct store_ticket t;
	int found;

	assert_int_equal(store_ticket_get(st, id, &t, &found), TK_OK);
	assert_true(found);
	return t;
}

/* The trusted server's word that the mail is from its From: domain. */
#define PROVEN "Authentication-Results: mx.yritys.example; " \
	"dkim=pass header.d=yritys.example\n"

#define CUSTOMER(n, subj, extra) \
	"From: Asiakas " #n " <c" #n "@asiakas.example>\n" \
	"To: tuki@yritys.example\nSubject: " subj "\n" \
	"Message-ID: <c" #n "@asiakas.example>\n" extra "\nhello\n"

static void
t_actions(void **state)
{
	struct store_ticket t;
	char *ev, *ob;

	(void)state;
	fresh("rule \"all\" { on create then {\n"
	    "  set priority high; set category \"Refund\"; tag \"a\";\n"
	    "  tag \"b\"; untag \"a\"; note \"hello there\"; notify \"maria\";\n"
	    "  webhook \"crm\"; autoreply \"ack\"; reply \"ack\"; assign antti;\n"
	    "  reply \"gone\";\n"
	    "  stop; tag \"never\"; } }\n"
	    "rule \"later\" { on create then tag \"never\"; }\n");
	assert_int_equal(in(CUSTOMER(1, "Apua", "")), 1);
	t = ticket(1);
	assert_string_equal(t.priority, "high");
	assert_string_equal(t.category, "Refund");
	assert_string_equal(t.tags, "b");
	assert_string_equal(t.assignee, "antti");
	store_ticket_clear(&t);
	ev = events(1);
	assert_non_null(strstr(ev, "priority:rule:all:normal:high\n"));
	assert_non_null(strstr(ev, "tag:rule:all:-:a\n"));
	assert_non_null(strstr(ev, "untag:rule:all:-:a\n"));
	assert_non_null(strstr(ev, "note:rule:all:-:hello there\n"));
	assert_non_null(strstr(ev, "queued:rule:all:webhook:crm\n"));
	assert_null(strstr(ev, "never"));	/* stop ends all rules */
	/* a template removed since `rules check`: an event, mail kept */
	assert_non_null(strstr(ev, "template_error:rule:all:gone:"));
	free(ev);
	ob = outbox();
	/* notify: to the agent, the built-in text (no notify template) */
	assert_non_null(strstr(ob, "1:notify:maria@yritys.example:Re: Apua "
	    "[Tuki #1]|Rule \"all\" asks you"));
	assert_non_null(strstr(ob, "1:webhook:crm:create|"
	    "{\"event\":\"create\",\"rule\":\"all\""));
	assert_non_null(strstr(ob, "\"priority\":\"high\""));
	/* the template, with the values of the ticket as it is then */
	assert_non_null(strstr(ob, "1:autoreply:c1@asiakas.example:Thanks "
	    "Asiakas 1 [Tuki #1]|Ticket [Tuki #1].\n"));
	assert_non_null(strstr(ob, "1:reply:c1@asiakas.example:Thanks"));
	free(ob);
}

static void
t_route(void **state)
{
	static const char *const want[] = { "maria", "antti", "maria", "antti" };
	(void)state;
	fresh("rule \"r\" { on create if header :subject :contains \"rekla\" "
	    "then route skill \"complaints\"; }\n"
	    "rule \"n\" { on create if header :subject :contains \"yö\" "
	    "then route skill nightshift; }\n");
	/* fewest open tickets first; among equals the one assigned longest
	 * ago; liisa is away and never gets one */
	for (int i = 0; i < 4; i++) {
		struct store_ticket t;
		char *m = xasprintf("From: c%d@asiakas.example\nTo: "
		    "tuki@yritys.example\nSubject: Reklamaatio %d\nMessage-ID: "
		    "<r%d@x>\n\nx\n", i, i, i);

		assert_int_equal(in(m), i + 1);
		t = ticket(i + 1);
		assert_string_equal(t.assignee, want[i]);
		store_ticket_clear(&t);
		free(m);
	}
	/* nobody available: an event, no assignee, the mail is in */
	{
		struct store_ticket t;
		char *ev;

		assert_int_equal(in("From: y@asiakas.example\nTo: "
		    "tuki@yritys.example\nSubject: yö\nMessage-ID: <y@x>\n\nx\n"),
		    5);
		t = ticket(5);
		assert_null(t.assignee);
		store_ticket_clear(&t);
		ev = events(5);
		assert_non_null(strstr(ev, "route_failed:rule:n:-:nightshift\n"));
		free(ev);
	}
}

/* The last ":autoreply:" in s: one row means first == last. */
static const char *
strrstr_autoreply(const char *s)
{
	const char *p, *last = NULL;

	for (p = s; (p = strstr(p, ":autoreply:")) != NULL; p++)
		last = p;
	return last;
}

static void
t_suppress(void **state)
{
	char *ev, *ob;

	(void)state;
	fresh("rule \"ack\" { on create then autoreply \"ack\"; }\n");
	in(CUSTOMER(1, "Out of office", "Auto-Submitted: auto-replied\n"));
	in("From: noreply@shop.example\nTo: tuki@yritys.example\n"
	    "Subject: Order\nMessage-ID: <n1@x>\n\nx\n");
	in("From: tuki@yritys.example\nTo: tuki@yritys.example\n"
	    "Subject: Loop\nMessage-ID: <l1@x>\n\nx\n");
	in("From: c4@asiakas.example\nTo: tuki@yritys.example\n"
	    "Subject: List\nList-Id: <l.example>\nMessage-ID: <l2@x>\n\nx\n");
	in(CUSTOMER(5, "Real", ""));
	ev = events(1);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "auto-submitted\n"));
	free(ev);
	ev = events(2);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"));
	free(ev);
	ev = events(3);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"));
	free(ev);
	ev = events(4);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "list"));
	free(ev);
	ob = outbox();
	/* only the real customer gets one */
	assert_non_null(strstr(ob, "5:autoreply:c5@asiakas.example:"));
	assert_non_null(strstr(ob, ":autoreply:"));
	assert_ptr_equal(strstr(ob, ":autoreply:"), strrstr_autoreply(ob));
	free(ob);
}

/* The manners beyond classify: asked-for silence, bounces, the rate. */
static void
t_manners(void **state)
{
	char *ev;
	int64_t n;

	(void)state;
	fresh("rule \"ack\" { on create then autoreply \"ack\"; }\n");
	in(CUSTOMER(1, "Apua", "X-Auto-Response-Suppress: OOF, AutoReply\n"));
	ev = events(1);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "suppress-header\n"));
	free(ev);
	/* an address that bounced our mail rests for bounce_block */
	assert_int_equal(store_bounce_add(st, "c2@asiakas.example",
	    (int64_t)time(NULL) - 86400, 0), TK_OK);
	in(CUSTOMER(2, "Apua", ""));
	ev = events(2);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "bounce-block\n"));
	free(ev);
	/* three autoreplies per address per day, whatever the ticket */
	for (int i = 0; i < 5; i++) {
		char *m = xasprintf("From: c3@asiakas.example\nTo: "
		    "tuki@yritys.example\nSubject: asia %d\nMessage-ID: "
		    "<c3-%d@x>\n\nx\n", i, i);

		in(m);
		free(m);
	}
	assert_int_equal(store_outbox_recent(st, "C3@asiakas.example",
	    "autoreply", 0, &n), TK_OK);
	assert_int_equal(n, 3);
	ev = events(7);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "rate-limit\n"));
	free(ev);
	/* X-Loop naming one of our addresses: our own mail come back */
	in(CUSTOMER(8, "Apua", "X-Loop: <Tuki@yritys.example>\n"));
	ev = events(8);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:ack:autoreply:"
	    "x-loop\n"));
	free(ev);
}

/* A rule's reply minds the same manners as an autoreply. */
static void
t_reply_manners(void **state)
{
	char *ev, *ob;

	(void)state;
	fresh("rule \"answer\" { on create then reply \"ack\"; }\n");
	in("From: MAILER-DAEMON@mx.asiakas.example\nTo: tuki@yritys.example\n"
	    "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <b@x>\n"
	    "\nThis is a permanent error.\n");
	in("From: c2@asiakas.example\nTo: tuki@yritys.example\n"
	    "Subject: Automatic reply: Apua\nMessage-ID: <o@x>\n\nLomalla.\n");
	in(CUSTOMER(3, "Apua", "X-Loop: tuki@yritys.example\n"));
	in(CUSTOMER(4, "Apua", ""));
	ev = events(1);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:answer:reply:"));
	free(ev);
	ev = events(2);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:answer:reply:"
	    "out-of-office\n"));
	free(ev);
	ev = events(3);
	assert_non_null(strstr(ev, "autoreply_suppressed:rule:answer:reply:"
	    "x-loop\n"));
	free(ev);
	ob = outbox();
	assert_non_null(strstr(ob, "4:reply:c4@asiakas.example:"));
	assert_null(strstr(ob, "1:reply:"));
	assert_null(strstr(ob, "2:reply:"));
	assert_null(strstr(ob, "3:reply:"));
	free(ob);
}

static void
t_status_csat_loop(void **state)
{
	struct automate *a;
	int changed;
	char *ob, *ev;

	(void)state;
	fresh("rule \"s\" { on status solved then csat; }\n"
	    "rule \"ping\" { on status pending then set status open; }\n"
	    "rule \"pong\" { on status open if tag :is \"loop\" then "
	    "set status pending; }\n"
	    "rule \"r\" { on customer reply then tag \"replied\"; }\n");
	in(CUSTOMER(1, "Apua", ""));
	a = automate_new(conf, st, rs);
	assert_int_equal(store_begin(st), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "solved", "admin", NULL,
	    1000, &changed), TK_OK);
	assert_true(changed);
	assert_int_equal(automate_set(a, 1, "status", "open", "admin", NULL,
	    1001, &changed), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "solved", "admin", NULL,
	    1002, &changed), TK_OK);
	assert_int_equal(automate_set(a, 1, "priority", "asap", "admin", NULL,
	    1003, &changed), TK_EPERM);
	assert_int_equal(store_commit(st), TK_OK);
	ob = outbox();
	assert_non_null(strstr(ob, "1:csat:c1@asiakas.example:How did we do? "
	    "[Tuki #1]|Rate us from 1 to 5, Asiakas 1."));
	free(ob);
	/* two rules setting each other's status stop by themselves */
	assert_int_equal(store_begin(st), TK_OK);
	assert_int_equal(store_tag_add(st, 1, "loop"), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "pending", "admin", NULL,
	    1004, &changed), TK_OK);
	assert_int_equal(store_commit(st), TK_OK);
	ev = events(1);
	assert_non_null(strstr(ev, "rule_loop:rule:"));
	free(ev);
	/* a customer reply runs "on customer reply" */
	in("From: c1@asiakas.example\nTo: tuki@yritys.example\nSubject: Re: "
	    "[Tuki #1] Apua\nMessage-ID: <c1b@x>\n\nmore\n");
	ev = events(1);
	assert_non_null(strstr(ev, "tag:rule:r:-:replied\n"));
	free(ev);
	automate_free(a);
}

static void
t_csat_once(void **state)
{
	struct automate *a;
	int changed;
	char *ob, *p;
	int n = 0;

	(void)state;
	fresh("rule \"s\" { on status solved then { csat; autoreply \"ack\"; } }\n");
	in(CUSTOMER(1, "Apua", ""));
	a = automate_new(conf, st, rs);
	assert_int_equal(store_begin(st), TK_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(automate_set(a, 1, "status", "solved", "admin",
		    NULL, 2000 + 10 * i, &changed), TK_OK);
		assert_int_equal(automate_set(a, 1, "status", "open", "admin",
		    NULL, 2001 + 10 * i, &changed), TK_OK);
	}
	assert_int_equal(store_commit(st), TK_OK);
	ob = outbox();
	for (p = ob; (p = strstr(p, ":csat:")) != NULL; p++)
		n++;
	assert_int_equal(n, 1);	/* one survey per ticket */
	for (n = 0, p = ob; (p = strstr(p, ":autoreply:")) != NULL; p++)
		n++;
	assert_int_equal(n, 3);	/* an autoreply per occurrence */
	free(ob);
	automate_free(a);
}

static void
t_agent_commands(void **state)
{
	struct store_ticket t;
	char *ev;

	(void)state;
	fresh("macro \"refund-done\" { set category \"refund\"; "
	    "set status solved; }\n"
	    "rule \"ar\" { on agent reply then tag \"answered\"; }\n");
	in(CUSTOMER(1, "Apua", ""));
	in(PROVEN "From: maria@yritys.example\nTo: c1@asiakas.example\n"
	    "Subject: Re: [Tuki #1] Apua\nMessage-ID: <m1@x>\n\n"
	    "#tag Tärkeä\n  #note called the customer  \n#macro Refund-Done\n"
	    "#bogus\n#priority asap\n#assign mallory\n#assign antti\n"
	    "#category x\x01y\n\nHello!\n#solve\n");
	t = ticket(1);
	assert_string_equal(t.tags, "answered,tärkeä");
	assert_string_equal(t.category, "refund");
	assert_string_equal(t.status, "solved");
	assert_string_equal(t.assignee, "antti");
	store_ticket_clear(&t);
	ev = events(1);
	assert_non_null(strstr(ev, "note:maria@yritys.example:-:called the "
	    "customer\n"));
	assert_non_null(strstr(ev, "macro:maria@yritys.example:-:Refund-Done\n"));
	assert_non_null(strstr(ev, "category:maria@yritys.example:-:refund\n"));
	assert_non_null(strstr(ev, "command_error:maria@yritys.example:-:bogus\n"));
	assert_non_null(strstr(ev, "command_error:maria@yritys.example:asap:"
	    "priority\n"));
	/* Only configured agents, only sane values. */
	assert_non_null(strstr(ev, "command_error:maria@yritys.example:mallory:"
	    "assign\n"));
	assert_non_null(strstr(ev, "command_error:maria@yritys.example:x\x01y:"
	    "category\n"));
	assert_null(strstr(ev, "assignee:maria@yritys.example:-:mallory"));
	free(ev);
	/* commands stop at the first line of text */
	assert_int_equal(automate_commands_len("#solve\n\nHello\n#close\n"), 8);
	assert_int_equal(automate_commands_len("Hello\n#solve\n"), 0);
	assert_int_equal(automate_commands_len(" #tag x\r\n#note y"), 16);
	assert_int_equal(automate_commands_len("# not a command\n"), 0);
}

/*
 * From: an agent is not enough: without proof the mail is its sender's,
 * runs no command, sends nothing and says why on the ticket.
 */
static void
t_agent_unverified(void **state)
{
	struct store_ticket t;
	char *ev, *ob;

	(void)state;
	fresh("macro \"refund-done\" { reply \"ack\"; set status solved; }\n"
	    "rule \"ar\" { on agent reply then tag \"answered\"; }\n");
	in(CUSTOMER(1, "Apua", ""));
	/* A stranger writes as Maria, with the ticket's tag. */
	assert_int_equal(in("From: Maria <maria@yritys.example>\n"
	    "To: tuki@yritys.example\nSubject: [Tuki #1] Apua\n"
	    "Message-ID: <f1@x>\n\n#assign mallory\n#close\n"
	    "#macro refund-done\n\nok\n"), 2);
	/* ... or with a proof from a server nobody trusts, or one that
	 * failed, or a pass written below the trusted server's Received. */
	assert_int_equal(in("Authentication-Results: mx.evil.example; "
	    "dkim=pass header.d=yritys.example\nFrom: maria@yritys.example\n"
	    "To: tuki@yritys.example\nSubject: Re: Apua\n"
	    "In-Reply-To: <c1@asiakas.example>\nMessage-ID: <f2@x>\n\n"
	    "#close\n"), 1);
	assert_int_equal(in("Authentication-Results: mx.yritys.example; "
	    "dkim=pass header.d=yritys.example; dmarc=fail "
	    "header.from=yritys.example\nFrom: maria@yritys.example\n"
	    "To: tuki@yritys.example\nSubject: Re: Apua\n"
	    "In-Reply-To: <c1@asiakas.example>\nMessage-ID: <f3@x>\n\n"
	    "#close\n"), 1);
	assert_int_equal(in("Received: by mx.yritys.example; "
	    "Tue, 6 Jan 2026 10:00:00 +0000\n"
	    "Authentication-Results: mx.yritys.example; none\n"
	    "Received: from evil.example by relay.example\n"
	    "Authentication-Results: mx.yritys.example; dkim=pass "
	    "header.d=yritys.example\nFrom: maria@yritys.example\n"
	    "To: tuki@yritys.example\nSubject: Re: Apua\n"
	    "In-Reply-To: <c1@asiakas.example>\nMessage-ID: <f4@x>\n\n"
	    "#close\n"), 1);
	t = ticket(1);
	assert_string_equal(t.status, "new");	/* nothing closed it */
	assert_null(t.assignee);
	assert_null(t.tags);
	store_ticket_clear(&t);
	t = ticket(2);
	assert_string_equal(t.status, "new");
	assert_string_equal(t.requester, "maria@yritys.example");
	store_ticket_clear(&t);
	ev = events(2);
	assert_non_null(strstr(ev, "agent_unverified:maria@yritys.example:maria:"
	    "no Authentication-Results from mx.yritys.example\n"));
	assert_null(strstr(ev, "macro:"));
	assert_null(strstr(ev, "command_error"));
	free(ev);
	ev = events(1);
	assert_non_null(strstr(ev, "agent_unverified:maria@yritys.example:maria:"
	    "no Authentication-Results from mx.yritys.example\n"));
	assert_non_null(strstr(ev, "agent_unverified:maria@yritys.example:maria:"
	    "mx.yritys.example says dmarc=fail header.from=yritys.example\n"));
	assert_non_null(strstr(ev, "agent_unverified:maria@yritys.example:maria:"
	    "mx.yritys.example gives no dkim=pass or dmarc=pass for "
	    "yritys.example\n"));
	assert_null(strstr(ev, "status:maria@yritys.example:open:closed"));
	free(ev);
	ob = outbox();
	assert_string_equal(ob, "");
	free(ob);
}

static void
t_tick(void **state)
{
	struct automate *a;
	struct automate_stats sts;
	int64_t now;
	int changed;
	struct store_ticket t;
	char *ev;

	(void)state;
	fresh("rule \"p\" { on after 2d in pending then note \"nudge\"; }\n"
	    "rule \"c\" { on after 1h since created then tag \"hour\"; }\n"
	    "rule \"u\" { on after 3d since customer in open "
	    "then note \"quiet\"; }\n");
	in(CUSTOMER(1, "One", ""));
	in(CUSTOMER(2, "Two", ""));
	in(CUSTOMER(3, "Three", ""));
	/* Taken after the tickets are made (created_at is the clock then):
	 * on a slow machine the second may turn while they are. */
	now = (int64_t)time(NULL);
	a = automate_new(conf, st, rs);
	assert_int_equal(store_begin(st), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "pending", "admin", NULL,
	    now, &changed), TK_OK);
	assert_int_equal(automate_set(a, 2, "status", "open", "admin", NULL,
	    now, &changed), TK_OK);
	assert_int_equal(automate_set(a, 3, "status", "solved", "admin", NULL,
	    now, &changed), TK_OK);
	assert_int_equal(store_commit(st), TK_OK);
	/* after an hour: the three "since created" */
	assert_int_equal(automate_tick(a, now + 3600 + 1, &sts), TK_OK);
	assert_int_equal(sts.fired, 3);
	assert_int_equal(sts.closed, 0);
	assert_int_equal(automate_tick(a, now + 3600 + 2, &sts), TK_OK);
	assert_int_equal(sts.fired, 0);
	/* after 4 days: pending nudge, quiet open ticket, solved closed */
	assert_int_equal(automate_tick(a, now + 4 * 86400 + 1, &sts), TK_OK);
	assert_int_equal(sts.fired, 2);
	assert_int_equal(sts.closed, 1);
	assert_int_equal(automate_tick(a, now + 9 * 86400, &sts), TK_OK);
	assert_int_equal(sts.fired + sts.closed, 0);
	t = ticket(3);
	assert_string_equal(t.status, "closed");
	store_ticket_clear(&t);
	ev = events(1);
	assert_non_null(strstr(ev, "note:rule:p:-:nudge\n"));
	assert_non_null(strstr(ev, "tag:rule:c:-:hour\n"));
	free(ev);
	ev = events(2);
	assert_non_null(strstr(ev, "note:rule:u:-:quiet\n"));
	free(ev);
	/* a ticket back in pending is a new occurrence */
	assert_int_equal(store_begin(st), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "open", "admin", NULL,
	    now + 9 * 86400 + 1, &changed), TK_OK);
	assert_int_equal(automate_set(a, 1, "status", "pending", "admin", NULL,
	    now + 9 * 86400 + 2, &changed), TK_OK);
	assert_int_equal(store_commit(st), TK_OK);
	assert_int_equal(automate_tick(a, now + 12 * 86400, &sts), TK_OK);
	assert_int_equal(sts.fired, 1);
	automate_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(t_actions, done_db),
		cmocka_unit_test_teardown(t_route, done_db),
		cmocka_unit_test_teardown(t_suppress, done_db),
		cmocka_unit_test_teardown(t_manners, done_db),
		cmocka_unit_test_teardown(t_status_csat_loop, done_db),
		cmocka_unit_test_teardown(t_csat_once, done_db),
		cmocka_unit_test_teardown(t_agent_commands, done_db),
		cmocka_unit_test_teardown(t_agent_unverified, done_db),
		cmocka_unit_test_teardown(t_reply_manners, done_db),
		cmocka_unit_test_teardown(t_tick, done_db),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
