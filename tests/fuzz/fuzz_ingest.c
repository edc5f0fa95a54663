/*
 * fuzz_ingest.c — libFuzzer target for the whole ingest pipeline: parse,
 * dedupe, classify, thread, state and rules, on an in-memory database.
 * Whatever the bytes, ingest_message() must store the mail (TK_OK) or
 * refuse it past message_size_limit (TK_ELIMIT): anything else would be
 * mail lost, and aborts. Built and run by tests/fuzz.sh.
 */
#include <locale.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/ingest.h"
#include "tiketti/log.h"

static struct tk_conf *conf;
static struct ruleset *rules;
static struct store *store;
static struct ingest *ig;
static unsigned long runs;

static const char rules_text[] =
    "rule \"vip\" { on create if header :from :contains \"vip\" then {"
    " set priority \"high\"; tag \"vip\"; } }\n"
    "rule \"complaint\" { on create if anyof (header :subject :contains"
    " \"reklamaatio\", body :regex \"[Cc]omplain(t|ed)\") then"
    " set category \"complaint\"; }\n"
    "rule \"again\" { on customer reply if status :is \"solved\" then"
    " tag \"reopened\"; }\n"
    "rule \"cmd\" { on agent reply then note \"seen\"; }\n";

/* A fresh database now and then, so memory does not grow without end. */
static void
reopen(void)
{
	if (ig)
		ingest_free(ig);
	store_close(store);
	if (store_open(":memory:", 5, 0, &store) != TK_OK)
		abort();
	ig = ingest_new(conf, store);
	ingest_set_rules(ig, rules);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct buf err;

	(void)argc;
	(void)argv;
	setlocale(LC_CTYPE, "C.UTF-8");
	log_init(1, 0);
	buf_init(&err, 0);
	if (conf_load(NULL, 0, &conf, &err) != TK_OK)
		abort();
	rules = rules_new();
	if (rules_add_text(rules, "fuzz.rules", rules_text,
	    sizeof(rules_text) - 1, conf, &err) != TK_OK) {
		fprintf(stderr, "%s", err.data ? err.data : "rules?\n");
		abort();
	}
	buf_free(&err);
	reopen();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpt[] = { "support@example.com" };
	struct ingest_envelope env = { .mail_from = "x@example.net",
	    .rcpts = rcpt, .nrcpts = 1 };
	struct ingest_result res;
	enum tk_status ts;

	if (++runs % 2000 == 0)
		reopen();
	/* Half the inputs with an envelope, half as from a maildir. */
	ts = ingest_message(ig, (const char *)data, size,
	    size % 2 ? &env : NULL, &res);
	if (ts != TK_OK && ts != TK_ELIMIT)
		abort();
	return 0;
}
