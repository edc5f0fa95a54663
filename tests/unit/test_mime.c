/* Unit tests for mime.c. */
#include <stdio.h>

#include "tk_test.h"
#include "tiketti/mime.h"

static const char *const charsets[] = { "utf-8", "windows-1252", NULL };

static struct tk_msg *
parse(const char *s)
{
	return mime_parse(s, strlen(s), charsets);
}

static void
t_headers(void **state)
{
	struct tk_msg *m = parse(
	    "From: =?iso-8859-1?q?J=F6rg?= <Jorg@Example.DE>\n"
	    "To: a@x.fi, Group: b@x.fi, c@x.fi;\n"
	    "Subject: =?utf-8?b?w4RpdGk=?= and\n more\n"
	    "Message-ID: <id1@x>\n"
	    "In-Reply-To: <p1@x> (comment)\n"
	    "References: <r1@x>\n <r2@x>\n"
	    "Date: Mon, 05 Jan 2026 10:00:00 +0000\n\nbody\n");

	(void)state;
	assert_int_equal(m->flags, 0);
	assert_string_equal(m->from.addr, "jorg@example.de");
	assert_string_equal(m->from.name, "J\xc3\xb6rg");
	assert_int_equal(m->nto, 3);
	assert_string_equal(m->to[2].addr, "c@x.fi");
	assert_string_equal(m->subject, "\xc3\x84iti and more");
	assert_string_equal(m->message_id, "id1@x");
	assert_string_equal(m->in_reply_to, "p1@x");
	assert_int_equal(m->nreferences, 2);
	assert_string_equal(m->references[1], "r2@x");
	assert_int_equal(m->date, 1767607200);
	assert_string_equal(m->body, "body\n");
	mime_free(m);
}

static void
t_fallback_charset(void **state)
{
	/* Undeclared 8-bit windows-1252 in a header. */
	struct tk_msg *m = parse("From: a@x.fi\nSubject: Hyv\xe4\xe4 p\xe4iv\xe4\n\nx\n");

	(void)state;
	assert_string_equal(m->subject, "Hyv\xc3\xa4\xc3\xa4 p\xc3\xa4iv\xc3\xa4");
	mime_free(m);
}

static void
t_html_and_attachment(void **state)
{
	struct tk_msg *m = parse(
	    "From: a@x.fi\nSubject: s\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=B\n\n"
	    "--B\nContent-Type: text/html; charset=utf-8\n\n"
	    "<p>Hello&nbsp;<b>there</b></p><style>x{}</style>&#228;\n"
	    "--B\nContent-Type: application/pdf; name=\"lasku.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"lasku.pdf\"\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8=\n--B--\n");

	(void)state;
	assert_non_null(strstr(m->body, "Hello there"));
	assert_null(strstr(m->body, "x{}"));
	assert_non_null(strstr(m->body, "\xc3\xa4"));
	assert_int_equal(m->natt, 1);
	assert_string_equal(m->att[0].name, "lasku.pdf");
	assert_string_equal(m->att[0].type, "application/pdf");
	assert_int_equal(m->att[0].size, 5);
	/* sha256("hello") */
	assert_string_equal(m->att[0].sha256,
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	mime_free(m);
}

/* The text is every inline text part, in order (issue 22, 3 and 4). */
static void
t_text_parts(void **state)
{
	struct tk_msg *m;

	(void)state;
	/* an empty text/plain alternative loses to the HTML */
	m = parse("Content-Type: multipart/alternative; boundary=A\n\n--A\n"
	    "Content-Type: text/plain\n\n \r\n\t\n--A\nContent-Type: text/html\n\n"
	    "<p>Hello <b>you</b></p>\n--A--\n");
	assert_non_null(strstr(m->body, "Hello you"));
	mime_free(m);
	/* a text/plain with text wins, wherever it is */
	m = parse("Content-Type: multipart/alternative; boundary=A\n\n--A\n"
	    "Content-Type: text/html\n\n<p>rich</p>\n--A\n"
	    "Content-Type: text/plain\n\nplain\n--A--\n");
	assert_string_equal(m->body, "plain");
	mime_free(m);
	/* Apple Mail: text, an inline image, text, an inline PDF, text */
	m = parse("Content-Type: multipart/mixed; boundary=M\n\n"
	    "--M\nContent-Type: text/plain; charset=utf-8\n\nEnsin.\n"
	    "--M\nContent-Type: image/png; name=a.png\nContent-Disposition: "
	    "inline; filename=a.png\nContent-Transfer-Encoding: base64\n\n"
	    "iVBORw0KGgo=\n"
	    "--M\nContent-Type: text/plain; charset=utf-8\n\nSitten.\n"
	    "--M\nContent-Type: application/pdf; name=b.pdf\n"
	    "Content-Disposition: inline; filename=b.pdf\n\n%PDF-1.4\n"
	    "--M\nContent-Type: text/plain; charset=utf-8\n\nLopuksi.\n--M--\n");
	assert_string_equal(m->body, "Ensin.\nSitten.\nLopuksi.");
	assert_int_equal(m->natt, 2);
	assert_string_equal(m->att[0].name, "a.png");
	assert_string_equal(m->att[1].name, "b.pdf");
	mime_free(m);
}

/* HTML as text, by libxml2 (issue 22, 2). */
static void
t_html(void **state)
{
	struct tk_msg *m = parse("Content-Type: text/html; charset=utf-8\n\n"
	    "<html><head><title>T</title><style>p { color: red }</style>"
	    "</head><body><p>&uuml;ber &szlig; &Psi; &oacute; &#228;</p>"
	    "<ul><li>yksi</li><li>kaksi <a href=\"https://x.example/a\">linkki"
	    "</a></li></ul><table><tr><th>Tilausnumero</th><td>4711</td></tr>"
	    "</table><div>rivi<br>vaihtuu<br><br>kappale</div>"
	    "<script>alert(1)</script>"
	    "</body></html>\n");

	(void)state;
	assert_string_equal(m->body, "\xc3\xbc" "ber \xc3\x9f \xce\xa8 "
	    "\xc3\xb3 \xc3\xa4\n\n- yksi\n- kaksi linkki "
	    "<https://x.example/a>\n\nTilausnumero\t4711\n\nrivi\nvaihtuu\n\n"
	    "kappale\n");
	mime_free(m);
}

/* Charsets: undeclared 8-bit text, WHATWG labels, ISO-2022-JP (5, 6). */
static void
t_body_charsets(void **state)
{
	struct tk_msg *m;

	(void)state;
	m = parse("Content-Type: text/plain\n\nCaf\xe9 au lait\n");
	assert_string_equal(m->body, "Caf\xc3\xa9 au lait\n");
	assert_int_equal(m->flags & MIME_BADUTF8, 0);
	mime_free(m);
	m = parse("Content-Type: text/plain\n\nCaf\xc3\xa9\n");
	assert_string_equal(m->body, "Caf\xc3\xa9\n");
	mime_free(m);
	m = parse("Content-Type: text/plain; charset=ks_c_5601-1987\n\n"
	    "\xb0\xa1\n");
	assert_string_equal(m->body, "\xea\xb0\x80\n");	/* U+AC00 */
	mime_free(m);
	m = parse("Content-Type: text/plain; charset=x-mac-cyrillic\n\n"
	    "\x80\x81\n");
	assert_string_equal(m->body, "\xd0\x90\xd0\x91\n");
	mime_free(m);
	m = parse("Content-Type: text/plain; charset=\"iso-8859-8-i\"\n\n"
	    "\xf9\xec\xe5\xed\n");
	assert_string_equal(m->body, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\n");
	mime_free(m);
	/* NEC row 13 (circled one, (kabu)) and the text after it */
	m = parse("Content-Type: text/plain; charset=iso-2022-jp\n\n"
	    "\x1b$B-!-j$\"\x1b(B ok\n");
	assert_string_equal(m->body, "\xe2\x91\xa0\xe3\x88\xb1\xe3\x81\x82 ok\n");
	mime_free(m);
	/* a wrong declaration falls back too */
	m = parse("Content-Type: text/plain; charset=utf-8\n\nh\xe4n\n");
	assert_string_equal(m->body, "h\xc3\xa4n\n");
	mime_free(m);
}

/* Every encoded word counts, a padded one too (issue 22, 1). */
static void
t_encoded_words(void **state)
{
	struct tk_msg *m = parse(
	    "From: =?UTF-8?B?YWJjIA==?= =?UTF-8?B?ZGVm?= <m@x.fi>\n"
	    "To: \"Quoted, Name\" <q@x.fi>, =?iso-8859-1?q?J=F6rg_=22the=22?="
	    " <j@x.fi>\n"
	    "Subject: =?UTF-8?B?YWJjIA==?= =?UTF-8?B?ZGVm?= and =?utf-8?q?=C3?="
	    "\n =?utf-8?q?=A4?= x\n"
	    "Content-Type: multipart/mixed; boundary=B\n\n--B\n"
	    "Content-Type: text/plain\n\nx\n--B\n"
	    "Content-Type: application/pdf\nContent-Disposition: attachment; "
	    "filename=\"=?UTF-8?B?YWJjIA==?= =?UTF-8?B?ZGVm?=.pdf\"\n\nx\n--B\n"
	    "Content-Type: application/pdf; name=\"=?UTF-8?B?w6RiYyA=?= "
	    "=?UTF-8?B?ZGVm?=.pdf\"\n\nx\n--B\n"
	    "Content-Type: application/pdf\nContent-Disposition: attachment; "
	    "filename*=utf-8''%C3%A4%20b.pdf\n\nx\n--B--\n");

	(void)state;
	assert_string_equal(m->subject, "abc def and \xc3\xa4 x");
	assert_string_equal(m->from.name, "abc def");
	assert_int_equal(m->nto, 2);
	assert_string_equal(m->to[0].name, "Quoted, Name");
	assert_string_equal(m->to[1].name, "J\xc3\xb6rg \"the\"");
	assert_string_equal(m->to[1].addr, "j@x.fi");
	assert_int_equal(m->natt, 3);
	assert_string_equal(m->att[0].name, "abc def.pdf");
	assert_string_equal(m->att[1].name, "\xc3\xa4" "bc def.pdf");
	assert_string_equal(m->att[2].name, "\xc3\xa4 b.pdf");
	mime_free(m);
}

/* Outlook's winmail.dat: its files are the attachments (issue 22, 7). */
static void
t_tnef(void **state)
{
	const char *src = getenv("SRCDIR");
	char *path = xasprintf("%s/tests/corpus/mimekit-tnef/two-files.tnef",
	    src ? src : ".");
	const char *head = "From: a@x.fi\nSubject: t\nContent-Type: "
	    "multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
	    "see\n--B\nContent-Type: application/ms-tnef; name=winmail.dat\n"
	    "Content-Transfer-Encoding: binary\n\n";
	struct tk_msg *m;
	struct buf b;
	FILE *fp;
	char data[8192];
	size_t n;

	(void)state;
	assert_non_null(fp = fopen(path, "rb"));
	n = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	buf_init(&b, 0);
	buf_addstr(&b, head);
	buf_add(&b, data, n);
	buf_addstr(&b, "\n--B--\n");
	m = mime_parse(b.data, b.len, charsets);
	assert_int_equal(m->natt, 2);
	assert_string_equal(m->att[0].name, "AUTHORS");
	assert_string_equal(m->att[1].name, "README");
	assert_string_equal(m->body, "see");
	mime_free(m);
	buf_free(&b);
	free(path);
}

static void
t_dsn(void **state)
{
	struct tk_msg *m = parse(
	    "From: MAILER-DAEMON@x.fi\nSubject: Undelivered\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
	    "--B\nContent-Type: text/plain\n\nfailed\n"
	    "--B\nContent-Type: message/delivery-status\n\nAction: failed\n\n"
	    "--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: <orig@us>\n\n--B--\n");

	(void)state;
	assert_string_equal(m->content_type, "multipart/report");
	assert_string_equal(m->report_type, "delivery-status");
	assert_string_equal(m->orig_message_id, "orig@us");
	mime_free(m);
}

static void
t_garbage(void **state)
{
	static const char bin[] = "\x00\x01\x02\xff\xfe binary";
	struct tk_msg *m = mime_parse(bin, sizeof(bin) - 1, NULL);
	struct tk_msg *e = mime_parse("", 0, NULL);

	(void)state;
	assert_true(m->flags & (MIME_NOHEADERS | MIME_UNPARSED));
	assert_non_null(m->subject);
	assert_non_null(m->body);
	assert_true(e->flags & (MIME_NOHEADERS | MIME_UNPARSED));
	mime_free(m);
	mime_free(e);
	mime_free(NULL);
}

static void
t_hashes(void **state)
{
	struct tk_msg *a = parse("Received: x\nFrom: a@x.fi\n\nsame\n");
	struct tk_msg *b = parse("From: a@x.fi\n\nsame\n");

	(void)state;
	assert_string_not_equal(a->sha256, b->sha256);
	assert_string_equal(a->body_sha256, b->body_sha256);
	mime_free(a);
	mime_free(b);
}

static int
count_cb(const char *raw, size_t len, void *arg)
{
	(void)raw;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
t_mbox(void **state)
{
	static const char box[] =
	    "From a@x Mon Jan  5 10:00:00 2026\nFrom: a@x\nSubject: 1\n\none\n\n"
	    "From b@x Mon Jan  5 10:00:00 2026\nFrom: b@x\nSubject: 2\n\ntwo\n";
	int n = 0;

	(void)state;
	assert_int_equal(mime_mbox_split(box, sizeof(box) - 1, count_cb, &n), 0);
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_headers),
		cmocka_unit_test(t_fallback_charset),
		cmocka_unit_test(t_html_and_attachment),
		cmocka_unit_test(t_encoded_words),
		cmocka_unit_test(t_text_parts),
		cmocka_unit_test(t_html),
		cmocka_unit_test(t_body_charsets),
		cmocka_unit_test(t_tnef),
		cmocka_unit_test(t_dsn),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_hashes),
		cmocka_unit_test(t_mbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
