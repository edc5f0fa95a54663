/*
 * fuzz_rules.c — libFuzzer target for the rule language: the lexer and
 * parser on arbitrary bytes, and, when they load, the evaluator on a
 * fixed mail and ticket. Built and run by tests/fuzz.sh.
 */
#include <locale.h>
#include <stdint.h>
#include <string.h>

#include "tiketti/rules.h"

static struct tk_msg *msg;

static enum tk_status
count(const struct rules_origin *o, const struct rules_action *a, void *arg)
{
	struct buf *b = arg;

	(void)o;
	rules_action_format(a, b);
	return TK_OK;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char mail[] = "From: Anna <anna@x.example>\n"
	    "To: tuki@y.example\nSubject: Reklamaatio: скарга\n"
	    "Content-Language: fi\n\nkahvinkeitin on rikki\n";

	(void)argc;
	(void)argv;
	setlocale(LC_CTYPE, "C.UTF-8");
	msg = mime_parse(mail, sizeof(mail) - 1, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset *rs = rules_new();
	struct store_ticket t = { 0 };
	struct rules_input in = { 0 };
	struct buf err, out;
	static const enum rules_event evs[] = { RULES_CREATE,
	    RULES_CUSTOMER_REPLY, RULES_AGENT_REPLY, RULES_STATUS };

	buf_init(&err, 0);
	buf_init(&out, 0);
	if (rules_add_text(rs, "fuzz.rules", (const char *)data, size, NULL,
	    &err) == TK_OK) {
		t.id = 1;
		t.subject = "Reklamaatio";
		t.status = "open";
		t.priority = "normal";
		t.tags = "a,b";
		in.msg = msg;
		in.ticket = &t;
		in.now = 86400;
		for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
			rules_run(rs, evs[i], "solved", &in, count, &out);
		for (size_t i = 0; i < rules_ntimers(rs); i++)
			rules_run_timer(rs, i, &in, count, &out);
		rules_run_macro(rs, "m", &in, count, &out);
		rules_input_clear(&in);
	}
	rules_free(rs);
	buf_free(&err);
	buf_free(&out);
	return 0;
}
