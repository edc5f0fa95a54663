/* Unit tests for token.c (signed plus-addresses) and mime_build(). */
#include <unistd.h>

#include "tk_test.h"
#include "tiketti/buf.h"
#include "tiketti/str.h"
#include "tiketti/mime.h"
#include "tiketti/token.h"

static struct tk_conf *
conf_with(const char *text)
{
	char path[] = "/tmp/tiketti-token-XXXXXX";
	struct tk_conf *c;
	struct buf err;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	buf_init(&err, 0);
	assert_int_equal(conf_load(path, 1, &c, &err), TK_OK);
	buf_free(&err);
	unlink(path);
	return c;
}

static void
t_roundtrip(void **state)
{
	struct tk_conf *c = conf_with("mailboxes = tuki@yritys.example\n"
	    "secret = token-test-secret-0123456789\n");
	struct token t;
	char *a;

	(void)state;
	a = token_address(c, "tuki@yritys.example", "csat-12-4");
	assert_non_null(a);
	assert_int_equal(strncmp(a, "tuki+csat-12-4-", 15), 0);
	assert_string_equal(strchr(a, '@'), "@yritys.example");
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_CSAT);
	assert_int_equal(t.id, 12);
	assert_int_equal(t.n, 4);
	/* addresses are lowered on the way in: still valid */
	str_lower(a);
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_CSAT);
	/* the rating changed: forged */
	a[13] = '5';
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	free(a);
	/* the ticket changed: forged */
	a = token_address(c, "tuki@yritys.example", "t7");
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_THREAD);
	assert_int_equal(t.id, 7);
	a[6] = '8';
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	free(a);
	a = token_address(c, "tuki@yritys.example", "bounce-99");
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_BOUNCE);
	assert_int_equal(t.id, 99);
	/* the same token at someone else's address means nothing */
	memcpy(a, "muut", 4);
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	free(a);
	/* a bare token, as a survey web page gets it */
	a = token_sign(c, "csat-3-5");
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_CSAT);
	assert_int_equal(t.n, 5);
	free(a);
	/* plain plus-addresses and malformed tokens are no tokens */
	token_parse(c, "tuki+sales@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	token_parse(c, "tuki+csat-1-9-0123456789abcdef@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	token_parse(c, "tuki+csat-1-2-0123456789abcdef@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	token_parse(c, "tuki@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	conf_free(c);
}

/* An agent's address: a name with dashes of its own, and what forges. */
static void
t_agent(void **state)
{
	struct tk_conf *c = conf_with("mailboxes = tuki@yritys.example\n"
	    "secret = token-test-secret-0123456789\n");
	struct token t;
	char *a, *b;

	(void)state;
	a = token_address(c, "tuki@yritys.example", "a-12-Anna-Liisa");
	assert_non_null(a);
	assert_int_equal(strncmp(a, "tuki+a-12-Anna-Liisa-", 21), 0);
	token_parse(c, a, &t);
	assert_int_equal(t.kind, TOKEN_AGENT);
	assert_int_equal(t.id, 12);
	assert_string_equal(t.agent, "anna-liisa");
	/* another agent's name, or another ticket: forged */
	b = xstrdup(a);
	memcpy(b + 10, "mari", 4);
	token_parse(c, b, &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	memcpy(b, a, strlen(a));
	b[7] = '3';
	token_parse(c, b, &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	/* no name, or a name a token cannot hold */
	token_parse(c, "tuki+a-12--0123456789abcdef@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	token_parse(c, "tuki+a-12-x!y-0123456789abcdef@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_NONE);
	assert_true(token_agent_ok("maria.k_2-b"));
	assert_false(token_agent_ok("maria k"));
	assert_false(token_agent_ok(""));
	free(a);
	free(b);
	conf_free(c);
}

static void
t_no_secret(void **state)
{
	struct tk_conf *c = conf_with("mailboxes = tuki@yritys.example\n");
	struct token t;

	(void)state;
	assert_null(token_address(c, "tuki@yritys.example", "t1"));
	assert_null(token_sign(c, "t1"));
	/* nothing was signed, so nothing verifies */
	token_parse(c, "tuki+t1-0123456789abcdef@yritys.example", &t);
	assert_int_equal(t.kind, TOKEN_FORGED);
	conf_free(c);
}

static void
t_build(void **state)
{
	static const char *const refs[] = { "a@x", "b@x" };
	struct mime_draft d = {
		.from = "tuki@yritys.example",
		.to = "matti@asiakas.example",
		.to_name = "Matti M\xc3\xa4kel\xc3\xa4\r\nBcc: victim@x.example",
		.reply_to = "tuki+t1-0123456789abcdef@yritys.example",
		.subject = "K\xc3\xa4ytt\xc3\xb6ongelma\r\nBcc: x@y [Tuki #1]",
		.message_id = "out1@yritys.example",
		.in_reply_to = "b@x",
		.references = refs, .nreferences = 2,
		.headers = "Auto-Submitted: auto-replied\nX-Tiketti-Ticket: 1\n",
		.text = "Hei Matti,\nkiitos.\n",
		.html = "<p>Hei</p>\n",
		.date = 1795340000,
	};
	struct buf out;
	struct tk_msg *m;

	(void)state;
	buf_init(&out, 0);
	mime_build(&d, &out);
	/* CRLF line ends, nothing but ASCII in the header, no Bcc */
	assert_non_null(strstr(out.data, "\r\nSubject: =?"));
	assert_null(strstr(out.data, "\nBcc:"));
	assert_null(strstr(out.data, "\n\n"));
	assert_non_null(strstr(out.data, "\r\nAuto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(out.data, "\r\nIn-Reply-To: <b@x>\r\n"));
	assert_non_null(strstr(out.data, "multipart/alternative"));
	for (const char *p = out.data; *p && strncmp(p, "\r\n\r\n", 4); p++)
		assert_true((unsigned char)*p < 0x80);
	/* and it reads back as what was meant */
	m = mime_parse(out.data, out.len, NULL);
	assert_string_equal(m->message_id, "out1@yritys.example");
	assert_string_equal(m->in_reply_to, "b@x");
	assert_int_equal(m->nreferences, 2);
	assert_string_equal(m->subject,
	    "K\xc3\xa4ytt\xc3\xb6ongelma  Bcc: x@y [Tuki #1]");
	assert_string_equal(m->to[0].addr, "matti@asiakas.example");
	assert_non_null(strstr(m->body, "Hei Matti,"));
	assert_string_equal(mime_header_get(m, "X-Tiketti-Ticket"), "1");
	assert_null(mime_header_get(m, "Bcc"));
	mime_free(m);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_roundtrip),
		cmocka_unit_test(t_agent),
		cmocka_unit_test(t_no_secret),
		cmocka_unit_test(t_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
