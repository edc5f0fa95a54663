/*
 * NAME
 *	mime.c — parses mail with GMime into plain structs.
 * DESCRIPTION
 *	The only module that includes GMime (and GLib). It turns raw bytes
 *	into struct tk_msg: decoded UTF-8 headers (with the configured
 *	fallback charsets for undeclared 8-bit text), the text body from
 *	its inline text parts (HTML converted by html.c), attachments with
 *	their SHA-256,
 *	and the hashes used for dedupe. GMime is initialised once per process
 *	(pthread_once); each call uses its own parser and is thread-safe.
 *	It also builds the mail tiketti sends (mime_build: MIME, RFC 2047
 *	headers, a text part and an optional HTML alternative) and lends
 *	GLib's HMAC and Message-ID generator to the token module.
 * DIAGNOSTICS
 *	mime_parse() never fails: mail GMime cannot read is returned with
 *	MIME_UNPARSED set so the caller can still store the raw bytes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "tiketti/buf.h"
#include "tiketti/charset.h"
#include "tiketti/html.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/tnef.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void
mime_init_once(void)
{
	g_mime_init();
}

void
mime_sha256(const void *data, size_t len, char out[TK_SHA256_HEX])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(ck, data, (gssize)len);
	memcpy(out, g_checksum_get_string(ck), TK_SHA256_HEX - 1);
	out[TK_SHA256_HEX - 1] = '\0';
	g_checksum_free(ck);
}

/*
 * The body's hash for dedupe: line ends and trailing white space at its
 * end do not count, so the milter's copy (CRLF) and the mailbox's copy of
 * the same mail (LF, maybe a newline more) are one message.
 */
static void
body_sha256(const char *body, size_t len, char out[TK_SHA256_HEX])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	const char *p = body, *end, *cr;

	while (len > 0 && strchr(" \t\r\n", body[len - 1]))
		len--;
	end = body + len;
	/* Each run up to a CR that ends a line, without the CR. */
	for (const char *q = p; q < end &&
	    (cr = memchr(q, '\r', (size_t)(end - q))) != NULL; q = cr + 1)
		if (cr + 1 < end && cr[1] == '\n') {
			g_checksum_update(ck, (const guchar *)p,
			    (gssize)(cr - p));
			p = cr + 1;
		}
	g_checksum_update(ck, (const guchar *)p, (gssize)(end - p));
	memcpy(out, g_checksum_get_string(ck), TK_SHA256_HEX - 1);
	out[TK_SHA256_HEX - 1] = '\0';
	g_checksum_free(ck);
}

/*
 * A header value safe to write: CR, LF and other controls become spaces
 * (a value can never start a header of its own) and non-ASCII text is
 * RFC 2047-encoded as UTF-8. Invalid UTF-8 is repaired first.
 */
char *
mime_header_encode(const char *text)
{
	char *clean = xstrdup(text), *enc, *out;
	int ascii = 1;

	for (unsigned char *p = (unsigned char *)clean; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		if (*p >= 0x80)
			ascii = 0;
	}
	if (ascii)
		return clean;
	pthread_once(&mime_once, mime_init_once);
	if (!g_utf8_validate(clean, -1, NULL)) {
		char *fixed = g_utf8_make_valid(clean, -1);

		free(clean);
		clean = xstrdup(fixed);
		g_free(fixed);
	}
	enc = g_mime_utils_header_encode_text(NULL, clean, "utf-8");
	out = xstrdup(enc ? enc : "");
	g_free(enc);
	free(clean);
	/* GMime folds long values; keep one line, the sender folds. */
	for (char *p = out; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return out;
}

/*
 * Wraps caller-owned bytes in a GMime stream without copying them. The
 * GByteArray shell is freed by stream_free() without its segment.
 */
static GMimeStream *
stream_wrap(const char *data, size_t len, GByteArray **shell)
{
	GMimeStream *s;

	*shell = g_byte_array_new();
	(*shell)->data = (guint8 *)(uintptr_t)data;
	(*shell)->len = (guint)len;
	s = g_mime_stream_mem_new_with_byte_array(*shell);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	return s;
}

static void
stream_free(GMimeStream *s, GByteArray *shell)
{
	g_object_unref(s);
	shell->data = NULL;
	shell->len = 0;
	g_byte_array_free(shell, TRUE);
}

/* Returns a malloc'd copy that is valid UTF-8, one line, capped. */
static char *
text_dup(struct tk_msg *m, const char *s, size_t cap, int oneline)
{
	size_t len;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (!g_utf8_validate(s, (gssize)len, NULL)) {
		gchar *v = g_utf8_make_valid(s, (gssize)len);

		m->flags |= MIME_BADUTF8;
		out = text_dup(m, v, cap, oneline);
		g_free(v);
		return out;
	}
	if (len > cap) {
		m->flags |= MIME_TRUNCATED;
		len = cap;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	out = xstrndup(s, len);
	return oneline ? str_trim(str_oneline(out)) : out;
}

static void
addr_list(struct tk_msg *m, InternetAddressList *list, struct mime_addr **v,
    size_t *n)
{
	int count;

	if (list == NULL)
		return;
	count = internet_address_list_length(list);
	for (int i = 0; i < count && *n < 1000; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		struct mime_addr *a;

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			addr_list(m, internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(ia)), v, n);
			continue;
		}
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		a = &(*v)[(*n)++];
		a->name = text_dup(m, internet_address_get_name(ia), 998, 1);
		if (a->name && *a->name == '\0') {
			free(a->name);
			a->name = NULL;
		}
		a->addr = text_dup(m, internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(ia)), TK_MAX_ADDR, 1);
		if (a->addr)
			str_lower(a->addr);
		if (a->addr && (*a->addr == '\0' || strchr(a->addr, '@') == NULL)) {
			free(a->addr);
			a->addr = NULL;
		}
	}
}

static void
refs_parse(struct tk_msg *m, GMimeParserOptions *opts, const char *text,
    char ***v, size_t *n)
{
	GMimeReferences *refs;
	int count;

	if (text == NULL)
		return;
	refs = g_mime_references_parse(opts, text);
	if (refs == NULL)
		return;
	count = g_mime_references_length(refs);
	/* Keep the newest 100: threading reads them newest first. */
	for (int i = count > 100 ? count - 100 : 0; i < count; i++) {
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = text_dup(m,
		    g_mime_references_get_message_id(refs, i), 998, 1);
	}
	g_mime_references_free(refs);
}

/* ---- RFC 2047 encoded words, every one of them ---- */

/* The bytes one encoded word stands for, added to out; 0, or -1 when p is
 * no encoded word. *end is set past it, *cs to its charset (caller
 * frees). */
static int
ew_word(const char *p, const char **end, char **cs, struct buf *out)
{
	const char *q, *t, *e;
	char enc;

	if (p[0] != '=' || p[1] != '?')
		return -1;
	q = p + 2;
	t = q + strcspn(q, "?* \t\r\n");
	if (t == q || (*t != '?' && *t != '*'))
		return -1;
	e = strchr(t, '?');	/* after the charset (and language) */
	if (e == NULL || (e[1] != 'B' && e[1] != 'b' && e[1] != 'Q' &&
	    e[1] != 'q') || e[2] != '?')
		return -1;
	enc = (char)(e[1] | 0x20);
	e += 3;
	for (q = e; *q && !(q[0] == '?' && q[1] == '='); q++)
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			return -1;
	if (*q == '\0')
		return -1;
	*cs = xstrndup(p + 2, (size_t)(t - (p + 2)));
	*end = q + 2;
	if (enc == 'b') {
		/* Each word alone: its padding ends it, not the run. A word
		 * padded wrong ("VEVTVA=") is padded right first. */
		gsize n = 0, len = 0;
		gint state = 0;
		guint save = 0;
		gchar *in = g_malloc((gsize)(q - e) + 4);
		guchar *dec;

		for (const char *c = e; c < q; c++)
			if (*c != '=')
				in[len++] = *c;
		if (len % 4 == 1)
			len--;
		while (len % 4)
			in[len++] = '=';
		dec = g_malloc(len * 3 / 4 + 3);
		n = g_base64_decode_step(in, len, dec, &state, &save);
		buf_add(out, dec, n);
		g_free(dec);
		g_free(in);
	} else
		for (const char *c = e; c < q; c++) {
			if (*c == '_')
				buf_addc(out, ' ');
			else if (*c == '=' && c + 2 < q &&
			    g_ascii_isxdigit(c[1]) && g_ascii_isxdigit(c[2])) {
				buf_addc(out, (char)(g_ascii_xdigit_value(c[1]) * 16 +
				    g_ascii_xdigit_value(c[2])));
				c += 2;
			} else
				buf_addc(out, *c);
		}
	return 0;
}

/*
 * Decoded text into a value: as it is in unstructured text; in a
 * structured one escaped inside quotes, else as a quoted string.
 */
static void
ew_emit(struct buf *out, const char *t, int quote, int inq)
{
	if (!quote) {
		buf_addstr(out, t);
		return;
	}
	if (!inq)
		buf_addc(out, '"');
	for (; *t; t++) {
		if (*t == '\r' || *t == '\n')
			continue;
		if (*t == '"' || *t == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *t);
	}
	if (!inq)
		buf_addc(out, '"');
}

/*
 * A header value with its encoded words decoded (RFC 2047): the words of
 * a run (only white space between them) are joined, their bytes
 * converted together when they share a charset (a character split
 * between two words stays whole). Unstructured text (quote = 0) comes
 * out as it reads; in a structured value (quote = 1: addresses,
 * parameters) a run becomes a quoted string, or quoted-string content
 * inside quotes, so what it decodes to cannot change the structure.
 * Other 8-bit text is read with the fallback charsets. Caller frees.
 */
static char *
ew_decode(const char *raw, int quote, const char *const *fallbacks)
{
	struct buf out, bytes, plain;
	char *cs = NULL;
	int inq = 0;
	const char *p = raw;

	buf_init(&out, MIME_MAX_FIELD);
	buf_init(&bytes, MIME_MAX_FIELD);
	buf_init(&plain, MIME_MAX_FIELD);
	while (*p) {
		const char *end, *ws;
		char *wcs = NULL;

		if (p[0] != '=' || p[1] != '?' ||
		    ew_word(p, &end, &wcs, &bytes) < 0) {
			/* plain text: folded line ends go, quotes are seen */
			if (*p == '\r' || *p == '\n') {
				p++;
				continue;
			}
			if (quote && *p == '"' && (p == raw || p[-1] != '\\'))
				inq = !inq;
			buf_addc(&plain, *p++);
			continue;
		}
		if (plain.len) {
			char *t = charset_decode(NULL, plain.data, plain.len,
			    fallbacks, NULL);

			buf_addstr(&out, t);
			free(t);
			buf_reset(&plain);
		}
		cs = wcs;
		p = end;
		/* The rest of the run: words with only white space between,
		 * one charset converted at a time. */
		for (;;) {
			struct buf more;
			char *next = NULL;

			ws = p + strspn(p, " \t\r\n");
			buf_init(&more, MIME_MAX_FIELD);
			if (ws[0] != '=' || ws[1] != '?' ||
			    ew_word(ws, &end, &next, &more) < 0) {
				buf_free(&more);
				break;
			}
			if (strcasecmp(next, cs) != 0) {
				char *t = charset_decode(cs, bytes.data ?
				    bytes.data : "", bytes.len, fallbacks, NULL);

				buf_reset(&bytes);
				ew_emit(&out, t, quote, inq);
				free(t);
				free(cs);
				cs = next;
			} else
				free(next);
			buf_add(&bytes, more.data ? more.data : "", more.len);
			buf_free(&more);
			p = end;
		}
		{
			char *t = charset_decode(cs, bytes.data ? bytes.data : "",
			    bytes.len, fallbacks, NULL);

			ew_emit(&out, t, quote, inq);
			free(t);
		}
		buf_reset(&bytes);
		free(cs);
		cs = NULL;
	}
	if (plain.len) {
		char *t = charset_decode(NULL, plain.data, plain.len, fallbacks,
		    NULL);

		buf_addstr(&out, t);
		free(t);
	}
	buf_free(&bytes);
	buf_free(&plain);
	return buf_release(&out);
}

/* The raw value of obj's first header called name, or NULL; borrowed. */
static const char *
raw_header(GMimeObject *obj, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, name) : NULL;

	return h ? g_mime_header_get_raw_value(h) : NULL;
}

/*
 * A part's file name (caller frees; NULL: none). GMime's own, unless the
 * raw parameter holds encoded words (not RFC 2231's, which GMime reads
 * well): then they are decoded here, each one, and the parameter read
 * from that.
 */
static char *
part_filename(GMimeObject *obj, GMimeParserOptions *opts,
    const char *const *fallbacks)
{
	const char *cd = raw_header(obj, "Content-Disposition");
	const char *ct = raw_header(obj, "Content-Type");
	const char *name = g_mime_part_get_filename(GMIME_PART(obj));
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);
	char *out = NULL, *fixed;

	/* Where GMime took it from: the disposition's filename, else the
	 * type's name. */
	if (d && g_mime_content_disposition_get_parameter(d, "filename")) {
		if (cd && strstr(cd, "=?")) {
			fixed = ew_decode(cd, 1, fallbacks);
			if ((d = g_mime_content_disposition_parse(opts,
			    fixed)) != NULL) {
				if ((name = g_mime_content_disposition_get_parameter(
				    d, "filename")) != NULL)
					out = xstrdup(name);
				g_object_unref(d);
			}
			free(fixed);
		}
	} else if (ct && strstr(ct, "=?")) {
		GMimeContentType *t;

		fixed = ew_decode(ct, 1, fallbacks);
		if ((t = g_mime_content_type_parse(opts, fixed)) != NULL) {
			if ((name = g_mime_content_type_get_parameter(t,
			    "name")) != NULL)
				out = xstrdup(name);
			g_object_unref(t);
		}
		free(fixed);
	}
	if (out == NULL && (name = g_mime_part_get_filename(GMIME_PART(obj))))
		out = xstrdup(name);
	return out;
}

struct walk {
	struct tk_msg		*m;
	GMimeParserOptions	*opts;
	const char *const	*fallbacks;	/* for undeclared 8-bit text */
	struct buf		 text;		/* the inline text parts, joined */
	char			*tnef_text;	/* winmail.dat's body */
	int			 parts;
	int			 is_report;
	size_t			 want;		/* mime_attachment: which one */
	struct buf		*grab;		/* ... and its bytes */
	const struct mime_scan	*scan;		/* mime_parse_scan's look */
};

/* The scan's look at one text; counted in m->scan_hits. */
static void
scan_text(struct walk *w, const char *text, size_t len)
{
	if (w->scan && text && w->scan->fn(text, len, w->scan->arg))
		w->m->scan_hits++;
}

static void
scan_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct walk *w = data;
	char *t;

	(void)parent;
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(part));
		const char *subject;

		if (inner == NULL)
			return;
		subject = g_mime_message_get_subject(inner);
		scan_text(w, subject, subject ? strlen(subject) : 0);
		g_mime_message_foreach(inner, scan_part, w);
		return;
	}
	if (!GMIME_IS_TEXT_PART(part))
		return;
	if ((t = g_mime_text_part_get_text(GMIME_TEXT_PART(part))) != NULL) {
		scan_text(w, t, strlen(t));
		g_free(t);
	}
}

/* One attachment: its name, type, size and hash; its bytes when it is
 * the one mime_attachment() asked for. */
static void
att_bytes(struct walk *w, const char *name, const char *type,
    const void *data, size_t len)
{
	struct tk_msg *m = w->m;
	struct mime_attachment *a;

	if (m->natt >= MIME_MAX_PARTS) {
		m->flags |= MIME_TRUNCATED;
		return;
	}
	if (w->grab && m->natt + 1 == w->want)
		buf_add(w->grab, data, len);
	/* A text attachment's bytes (an attached message's parts are
	 * looked at one by one, in walk_obj). */
	if (strncasecmp(type, "text/", 5) == 0)
		scan_text(w, data, len);
	m->att = xreallocarray(m->att, m->natt + 1, sizeof(*m->att));
	a = &m->att[m->natt++];
	a->name = text_dup(m, name, 998, 1);
	a->type = xstrdup(type);
	str_lower(a->type);
	a->size = len;
	mime_sha256(data, len, a->sha256);
}

static void
att_add(struct walk *w, const char *name, const char *type, GMimeStream *data)
{
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(data));

	att_bytes(w, name, type, ba->len ? ba->data : (const guint8 *)"",
	    ba->len);
}

/* Each file of a TNEF stream is an attachment of its own. */
static int
tnef_file(const char *name, const void *bytes, size_t n, void *arg)
{
	att_bytes(arg, name, "application/octet-stream", bytes, n);
	return 0;
}

/*
 * Outlook's winmail.dat: its files are the message's attachments, its
 * text the message's when it has no other (kept in w->tnef_text); 0
 * when it is no TNEF stream (it stays one attachment then).
 */
static int
tnef_part(struct walk *w, GByteArray *ba)
{
	char *body = NULL, *cs = NULL;
	size_t blen = 0;

	if (tnef_read(ba->data, ba->len, tnef_file, w, &body, &blen, &cs) !=
	    TK_OK)
		return 0;
	if (body && blen && w->tnef_text == NULL) {
		int bad;

		w->tnef_text = charset_decode(cs, body, blen, w->fallbacks,
		    &bad);
		if (bad)
			w->m->flags |= MIME_BADUTF8;
	}
	free(body);
	free(cs);
	return 1;
}

/* The Message-ID of the mail a DSN returns, from its headers part. */
static void
dsn_original(struct walk *w, GMimeObject *part)
{
	GMimeMessage *orig = NULL;

	if (w->m->orig_message_id)
		return;
	if (GMIME_IS_MESSAGE_PART(part)) {
		orig = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		if (orig && g_mime_message_get_message_id(orig))
			w->m->orig_message_id = text_dup(w->m,
			    g_mime_message_get_message_id(orig), 998, 1);
	} else if (GMIME_IS_PART(part)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part));
		GMimeStream *s = g_mime_stream_mem_new();
		GMimeParser *p;

		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, s);
		g_mime_stream_reset(s);
		p = g_mime_parser_new_with_stream(s);
		orig = g_mime_parser_construct_message(p, w->opts);
		if (orig && g_mime_message_get_message_id(orig))
			w->m->orig_message_id = text_dup(w->m,
			    g_mime_message_get_message_id(orig), 998, 1);
		if (orig)
			g_object_unref(orig);
		g_object_unref(p);
		g_object_unref(s);
	}
}

/*
 * Reads the per-recipient fields of a message/delivery-status part
 * (blocks of "Name: value" lines): failed when a recipient has
 * Action: failed with a 5.x.x Status, else delayed when one has
 * Action: delayed.
 */
static int
dsn_scan(const char *text, size_t len)
{
	int failed = 0, delayed = 0, action = 0, perm = 0;
	const char *p = text, *end;

	if (text == NULL || len == 0)
		return MIME_DSN_OTHER;
	end = text + len;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *v;

		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n == 0) {	/* a block ends */
			failed |= action == 'f' && perm;
			delayed |= action == 'd';
			action = perm = 0;
		} else if (n > 7 && strncasecmp(p, "action:", 7) == 0) {
			for (v = p + 7; *v == ' ' || *v == '\t'; v++)
				;
			action = (v < p + n) ? (*v | 0x20) : 0;
			if (action != 'f' && action != 'd')
				action = 'o';
		} else if (n > 7 && strncasecmp(p, "status:", 7) == 0) {
			for (v = p + 7; *v == ' ' || *v == '\t'; v++)
				;
			perm = v < p + n && *v == '5';
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	failed |= action == 'f' && perm;
	delayed |= action == 'd';
	return failed ? MIME_DSN_FAILED : delayed ? MIME_DSN_DELAYED :
	    MIME_DSN_OTHER;
}

static void
dsn_part(struct walk *w, GMimeObject *part)
{
	GMimeStream *s = g_mime_stream_mem_new();
	GByteArray *ba;

	if (GMIME_IS_PART(part)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part));

		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, s);
	} else if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *in = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(part));

		if (in)
			g_mime_object_write_to_stream(GMIME_OBJECT(in), NULL, s);
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	if (w->m->dsn != MIME_DSN_FAILED) {
		int d = dsn_scan((const char *)ba->data, ba->len);

		if (w->m->dsn == MIME_DSN_NONE || d < w->m->dsn)
			w->m->dsn = d;
	}
	g_object_unref(s);
}

/*
 * A text part's content as UTF-8 (caller frees): the transfer encoding
 * undone, then its charset (a WHATWG label), or when it declares none or
 * a wrong one the first fallback charset that fits; line ends as LF.
 */
static char *
part_text(struct walk *w, GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	GMimeStream *s = g_mime_stream_mem_new();
	GByteArray *ba;
	char *text, *o;
	int bad;

	if (dw)
		g_mime_data_wrapper_write_to_stream(dw, s);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	text = charset_decode(ct ? g_mime_content_type_get_parameter(ct,
	    "charset") : NULL, ba->len ? (const char *)ba->data : "", ba->len,
	    w->fallbacks, &bad);
	if (bad)
		w->m->flags |= MIME_BADUTF8;
	g_object_unref(s);
	/* CRLF (and a lone CR) as LF. */
	o = text;
	for (const char *p = text; *p; p++) {
		if (*p == '\r')
			*o++ = '\n', p += p[1] == '\n';
		else
			*o++ = *p;
	}
	*o = '\0';
	return text;
}

/* Adds a text part's text to the message's, a new line between. */
static void
text_add(struct walk *w, const char *t)
{
	if (w->text.len && w->text.data[w->text.len - 1] != '\n')
		buf_addc(&w->text, '\n');
	if (buf_addstr(&w->text, t) != TK_OK)
		w->m->flags |= MIME_TRUNCATED;
}

static int
blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/*
 * A part that is text to read, not an attachment: inline, no name. A
 * part with no Content-Type at all is text/plain (RFC 2045).
 */
static int
inline_text(GMimeObject *obj, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (!GMIME_IS_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)) ||
	    g_mime_part_get_filename(GMIME_PART(obj)) != NULL)
		return 0;
	if (raw_header(obj, "Content-Type") == NULL)
		return strcmp(subtype, "plain") == 0;
	return ct && g_mime_content_type_is_type(ct, "text", subtype);
}

/* 1 when obj is, or (a multipart) holds, an inline text/html part. */
static int
holds_html(GMimeObject *obj)
{
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			if (holds_html(g_mime_multipart_get_part(mp, i)))
				return 1;
		return 0;
	}
	return inline_text(obj, "html");
}

static void walk_obj(struct walk *w, GMimeObject *obj, int text_ok);

/*
 * multipart/alternative: the text is the first text/plain that has any,
 * else the HTML (maybe inside multipart/related), else the last part;
 * the others give their attachments only.
 */
static void
walk_alternative(struct walk *w, GMimeMultipart *mp, int text_ok)
{
	int n = g_mime_multipart_get_count(mp), pick = -1, html = -1;

	for (int i = 0; i < n && text_ok && pick < 0; i++) {
		GMimeObject *c = g_mime_multipart_get_part(mp, i);

		if (inline_text(c, "plain")) {
			char *t = part_text(w, GMIME_PART(c));

			if (!blank(t)) {
				text_add(w, t);
				pick = i;
			}
			free(t);
		} else if (html < 0 && holds_html(c))
			html = i;
	}
	if (pick >= 0) {	/* its text is in; no part gives more */
		for (int i = 0; i < n; i++)
			walk_obj(w, g_mime_multipart_get_part(mp, i), 0);
		return;
	}
	pick = html >= 0 ? html : n - 1;
	for (int i = 0; i < n; i++)
		walk_obj(w, g_mime_multipart_get_part(mp, i),
		    text_ok && i == pick);
}

/*
 * One MIME object, in order: every inline text part (text/plain, and
 * text/html as text) adds to the text when text_ok; whatever is not text
 * is an attachment; a delivery report's parts are read for what it says.
 */
static void
walk_obj(struct walk *w, GMimeObject *obj, int text_ok)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	const char *t = type ? type : "application/octet-stream";

	if (++w->parts > MIME_MAX_PARTS) {
		w->m->flags |= MIME_TRUNCATED;
		goto done;
	}
	if (strcasecmp(t, "message/delivery-status") == 0 ||
	    strcasecmp(t, "message/global-delivery-status") == 0)
		dsn_part(w, obj);
	if (w->is_report && (strcasecmp(t, "message/rfc822") == 0 ||
	    strcasecmp(t, "text/rfc822-headers") == 0 ||
	    strcasecmp(t, "message/rfc822-headers") == 0))
		dsn_original(w, obj);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		if (ct && g_mime_content_type_is_type(ct, "multipart",
		    "alternative"))
			walk_alternative(w, mp, text_ok);
		else
			for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
				walk_obj(w, g_mime_multipart_get_part(mp, i),
				    text_ok);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));
		GMimeStream *s = g_mime_stream_mem_new();

		if (inner)
			g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, s);
		if (w->scan)
			scan_part(NULL, obj, w);
		att_add(w, inner ? g_mime_message_get_subject(inner) : NULL,
		    "message/rfc822", s);
		g_object_unref(s);
	} else if (GMIME_IS_PART(obj)) {
		GMimePart *mp = GMIME_PART(obj);
		int is_text = GMIME_IS_TEXT_PART(obj) &&
		    !g_mime_part_is_attachment(mp);

		if (inline_text(obj, "plain") || inline_text(obj, "html")) {
			if (text_ok) {
				char *s = part_text(w, mp);

				if (inline_text(obj, "html")) {
					struct buf h;

					buf_init(&h, MIME_MAX_BODY);
					if (html_to_text(s, strlen(s), &h) != TK_OK)
						w->m->flags |= MIME_TRUNCATED;
					text_add(w, h.data ? h.data : "");
					buf_free(&h);
				} else
					text_add(w, s);
				free(s);
			}
		} else if (!is_text || g_mime_part_get_filename(mp)) {
			GMimeDataWrapper *dw = g_mime_part_get_content(mp);
			GMimeStream *s = g_mime_stream_mem_new();
			char *name = part_filename(obj, w->opts, w->fallbacks);

			if (dw)
				g_mime_data_wrapper_write_to_stream(dw, s);
			if (!((strcasecmp(t, "application/ms-tnef") == 0 ||
			    (name && strcasecmp(name, "winmail.dat") == 0)) &&
			    tnef_part(w, g_mime_stream_mem_get_byte_array(
			    GMIME_STREAM_MEM(s)))))
				att_add(w, name, t, s);
			free(name);
			g_object_unref(s);
		}
	}
done:
	g_free(type);
}

static void
headers_copy(struct tk_msg *m, GMimeObject *obj)
{
	GMimeHeaderList *hl = obj ? g_mime_object_get_header_list(obj) : NULL;
	int count = hl ? g_mime_header_list_get_count(hl) : 0;

	if (m->nheaders + (size_t)count > MIME_MAX_HEADERS) {
		m->flags |= MIME_TRUNCATED;
		count = (int)(MIME_MAX_HEADERS - m->nheaders);
	}
	m->headers = xreallocarray(m->headers, m->nheaders + (size_t)count + 1,
	    sizeof(*m->headers));
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *v = g_mime_header_get_value(h);

		m->headers[m->nheaders].name = text_dup(m,
		    g_mime_header_get_name(h), 998, 1);
		m->headers[m->nheaders].value = text_dup(m, v ? v : "",
		    MIME_MAX_VALUE, 1);
		m->nheaders++;
	}
	memset(&m->headers[m->nheaders], 0, sizeof(*m->headers));
}

/* The time after a Received: header's last ';', or 0. */
static int64_t
received_time(GMimeHeader *h)
{
	const char *v = g_mime_header_get_value(h), *semi;
	GDateTime *dt;
	int64_t t;

	if (v == NULL || (semi = strrchr(v, ';')) == NULL ||
	    (dt = g_mime_utils_header_decode_date(semi + 1)) == NULL)
		return 0;
	t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t > 0 ? t : 0;
}

/*
 * When the mail was really on its way, whatever its Date: says: the
 * times of its bottom Received: header (the first hop) and its top one
 * (the last), each MTA writing its own above the others.
 */
static void
received_times(struct tk_msg *m, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int count = hl ? g_mime_header_list_get_count(hl) : 0, top = -1,
	    bottom = -1;
	int64_t a, b;

	for (int i = 0; i < count && i < MIME_MAX_HEADERS; i++)
		if (strcasecmp(g_mime_header_get_name(
		    g_mime_header_list_get_header_at(hl, i)), "Received") == 0) {
			if (top < 0)
				top = i;
			bottom = i;
		}
	if (top < 0)
		return;
	a = received_time(g_mime_header_list_get_header_at(hl, bottom));
	b = received_time(g_mime_header_list_get_header_at(hl, top));
	/* Either may be unreadable, or the two out of order. */
	m->received_first = a && b ? (a < b ? a : b) : (a ? a : b);
	m->received_last = a > b ? a : b;
}

/*
 * An address header's addresses; with encoded words in it, each one is
 * decoded here (as a quoted string) before GMime reads the addresses.
 */
static void
addr_header(struct tk_msg *m, GMimeMessage *msg, GMimeParserOptions *opts,
    const char *const *fallbacks, const char *name, GMimeAddressType type,
    struct mime_addr **v, size_t *n)
{
	const char *raw = raw_header(GMIME_OBJECT(msg), name);
	InternetAddressList *list;
	char *fixed;

	if (raw == NULL || strstr(raw, "=?") == NULL) {
		addr_list(m, g_mime_message_get_addresses(msg, type), v, n);
		return;
	}
	fixed = ew_decode(raw, 1, fallbacks);
	list = internet_address_list_parse(opts, fixed);
	addr_list(m, list, v, n);
	if (list)
		g_object_unref(list);
	free(fixed);
}

/* The first address of a header (From, Reply-To) into *out. */
static void
first_addr(struct tk_msg *m, GMimeMessage *msg, GMimeParserOptions *opts,
    const char *const *fallbacks, const char *name, GMimeAddressType type,
    struct mime_addr *out)
{
	struct mime_addr *v = NULL;
	size_t n = 0;

	addr_header(m, msg, opts, fallbacks, name, type, &v, &n);
	if (n > 0) {
		*out = v[0];
		for (size_t i = 1; i < n; i++) {
			free(v[i].name);
			free(v[i].addr);
		}
	}
	free(v);
}

static void
message_fill(struct tk_msg *m, GMimeMessage *msg, GMimeParserOptions *opts,
    const char *const *fallbacks, size_t want, struct buf *grab,
    const struct mime_scan *scan)
{
	const char *raw;
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	GDateTime *date = g_mime_message_get_date(msg);
	struct walk w = { .m = m, .opts = opts, .fallbacks = fallbacks,
	    .want = want, .grab = grab, .scan = scan };

	/* GMime keeps the Content-* headers on the top part: rules want
	 * them with the rest. */
	headers_copy(m, GMIME_OBJECT(msg));
	headers_copy(m, top);
	m->message_id = text_dup(m, g_mime_message_get_message_id(msg), 998, 1);
	if (m->message_id && *m->message_id == '\0') {
		free(m->message_id);
		m->message_id = NULL;
	}
	{
		char **irt = NULL;
		size_t n = 0;

		refs_parse(m, opts, mime_header_get(m, "In-Reply-To"), &irt, &n);
		if (n > 0)
			m->in_reply_to = xstrdup(irt[n - 1]);
		for (size_t i = 0; i < n; i++)
			free(irt[i]);
		free(irt);
	}
	refs_parse(m, opts, mime_header_get(m, "References"), &m->references,
	    &m->nreferences);
	free(m->subject);
	/* GMime drops what follows a padded base64 word when it joins two:
	 * encoded words are decoded here, every one. */
	if ((raw = raw_header(GMIME_OBJECT(msg), "Subject")) && strstr(raw,
	    "=?")) {
		char *s = ew_decode(raw, 0, fallbacks);

		m->subject = text_dup(m, s, MIME_MAX_VALUE, 1);
		free(s);
	} else
		m->subject = text_dup(m, g_mime_message_get_subject(msg),
		    MIME_MAX_VALUE, 1);
	if (m->subject == NULL)
		m->subject = xstrdup("");
	first_addr(m, msg, opts, fallbacks, "From", GMIME_ADDRESS_TYPE_FROM,
	    &m->from);
	first_addr(m, msg, opts, fallbacks, "Reply-To",
	    GMIME_ADDRESS_TYPE_REPLY_TO, &m->reply_to);
	addr_header(m, msg, opts, fallbacks, "To", GMIME_ADDRESS_TYPE_TO, &m->to,
	    &m->nto);
	addr_header(m, msg, opts, fallbacks, "Cc", GMIME_ADDRESS_TYPE_CC, &m->cc,
	    &m->ncc);
	if (date)
		m->date = g_date_time_to_unix(date);
	received_times(m, GMIME_OBJECT(msg));
	if (top) {
		GMimeContentType *ct = g_mime_object_get_content_type(top);

		if (ct) {
			char *t = g_mime_content_type_get_mime_type(ct);
			const char *rt = g_mime_content_type_get_parameter(ct,
			    "report-type");

			m->content_type = str_lower(xstrdup(t));
			g_free(t);
			if (rt)
				m->report_type = str_lower(text_dup(m, rt, 100, 1));
		}
		w.is_report = m->content_type &&
		    strcmp(m->content_type, "multipart/report") == 0;
	}
	buf_init(&w.text, MIME_MAX_BODY);
	if (top)
		walk_obj(&w, top, 1);
	if (w.text.len == 0 && w.tnef_text)	/* Outlook's text, only there */
		text_add(&w, w.tnef_text);
	if (w.text.len) {
		free(m->body);
		m->body = text_dup(m, w.text.data, MIME_MAX_BODY, 0);
	}
	free(w.tnef_text);
	buf_free(&w.text);
	if (m->from.addr == NULL && m->message_id == NULL && m->date == 0 &&
	    *m->subject == '\0')
		m->flags |= MIME_NOHEADERS;
}

/* Where the header field starting at i ends (after its last line). */
static size_t
field_end(const char *raw, size_t i, size_t hlen)
{
	const char *nl;

	for (;;) {
		if ((nl = memchr(raw + i, '\n', hlen - i)) == NULL)
			return hlen;
		i = (size_t)(nl - raw) + 1;
		if (i >= hlen || (raw[i] != ' ' && raw[i] != '\t'))
			return i;
	}
}

/*
 * A copy of raw with every header field longer than MIME_MAX_FIELD cut
 * there, or NULL when none is: GMime need not read a 50 MB header to keep
 * its first MIME_MAX_VALUE bytes (the stored raw message stays whole).
 */
static char *
clip_fields(const char *raw, size_t hlen, size_t len, size_t *outlen)
{
	struct buf b;
	size_t i, e;

	for (i = 0; i < hlen && field_end(raw, i, hlen) - i <= MIME_MAX_FIELD;
	    i = field_end(raw, i, hlen))
		;
	if (i >= hlen)
		return NULL;
	buf_init(&b, 0);
	for (i = 0; i < hlen; i = e) {
		e = field_end(raw, i, hlen);
		if (e - i > MIME_MAX_FIELD) {
			buf_add(&b, raw + i, MIME_MAX_FIELD);
			buf_addc(&b, '\n');
		} else
			buf_add(&b, raw + i, e - i);
	}
	buf_add(&b, raw + hlen, len - hlen);
	*outlen = b.len;
	return buf_release(&b);
}

/* GMime's parser options as tiketti reads mail: leniently. */
static GMimeParserOptions *
parser_options(const char *const *fallback_charsets)
{
	GMimeParserOptions *opts = g_mime_parser_options_new();

	g_mime_parser_options_set_rfc2047_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts,
	    GMIME_RFC_COMPLIANCE_LOOSE);
	if (fallback_charsets && fallback_charsets[0])
		g_mime_parser_options_set_fallback_charsets(opts,
		    (const char **)(uintptr_t)fallback_charsets);
	return opts;
}

/* mime_parse(), and the bytes of attachment want (from 1) into grab. */
static struct tk_msg *
parse_grab(const char *raw, size_t len, const char *const *fallback_charsets,
    size_t want, struct buf *grab, const struct mime_scan *scan)
{
	struct tk_msg *m = xcalloc(1, sizeof(*m));
	GMimeParserOptions *opts;
	GMimeParser *parser;
	GMimeMessage *msg;
	GMimeStream *stream;
	GByteArray *shell;
	const char *body;
	char *clipped;
	size_t clen;

	pthread_once(&mime_once, mime_init_once);
	m->subject = xstrdup("");
	m->body = xstrdup("");
	body = mime_rehash(m, raw, len);
	if ((clipped = clip_fields(raw, body == raw ? len : (size_t)(body - raw),
	    len, &clen)) != NULL) {
		m->flags |= MIME_TRUNCATED;
		raw = clipped;
		len = clen;
	}

	opts = parser_options(fallback_charsets);
	stream = stream_wrap(raw, len, &shell);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	if (msg == NULL) {
		m->flags |= MIME_UNPARSED | MIME_NOHEADERS;
		m->headers = xcalloc(1, sizeof(*m->headers));
	} else {
		message_fill(m, msg, opts, fallback_charsets, want, grab,
		    scan);
		g_object_unref(msg);
	}
	/* No header at all and no text found: the bytes are the text. */
	if (((m->flags & MIME_UNPARSED) || m->nheaders == 0) &&
	    *m->body == '\0' && len > 0) {
		char *t = charset_decode(NULL, raw, len, fallback_charsets, NULL);

		free(m->body);
		m->body = text_dup(m, t, MIME_MAX_BODY, 0);
		free(t);
	}
	g_object_unref(parser);
	stream_free(stream, shell);
	g_mime_parser_options_free(opts);
	free(clipped);
	return m;
}

const char *
mime_rehash(struct tk_msg *m, const char *raw, size_t len)
{
	const char *body = raw;

	mime_sha256(raw, len, m->sha256);
	/* The body hash skips the header, which relays rewrite. */
	for (size_t i = 0; i + 1 < len; i++) {
		if (raw[i] == '\n' && (raw[i + 1] == '\n' ||
		    (raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n'))) {
			body = raw + i + 1;
			break;
		}
	}
	body_sha256(body, len - (size_t)(body - raw), m->body_sha256);
	return body;
}

struct tk_msg *
mime_parse(const char *raw, size_t len, const char *const *fallback_charsets)
{
	return parse_grab(raw, len, fallback_charsets, 0, NULL, NULL);
}

struct tk_msg *
mime_parse_scan(const char *raw, size_t len,
    const char *const *fallback_charsets, const struct mime_scan *scan)
{
	return parse_grab(raw, len, fallback_charsets, 0, NULL, scan);
}

enum tk_status
mime_attachment(const char *raw, size_t len,
    const char *const *fallback_charsets, size_t n, struct buf *out)
{
	struct tk_msg *m = parse_grab(raw, len, fallback_charsets, n, out,
	    NULL);
	enum tk_status ts = n >= 1 && n <= m->natt ? TK_OK : TK_EPERM;

	mime_free(m);
	return ts;
}

/* ---- rewriting a message's text (the milter's cut, redaction) ---- */

struct edit {
	const struct mime_edit	*e;
	int			 changed;
	int			 inner;	/* inside an attached message */
};

/*
 * Whether GMime can write the Content-Type's parameters again: its
 * RFC 2231 folding never ends (and eats all memory) for a parameter
 * name longer than a line (found by fuzzing; tests/fuzz/regress/cut).
 * No real mail has one.
 */
static int
params_encodable(GMimeContentType *ct)
{
	GMimeParamList *pl = g_mime_content_type_get_parameters(ct);
	int n = pl ? g_mime_param_list_length(pl) : 0;

	for (int i = 0; i < n; i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(pl, i);
		const char *name = p ? g_mime_param_get_name(p) : NULL;

		if (name && strlen(name) > 40)
			return 0;
	}
	return 1;
}

static void edit_part(GMimeObject *parent, GMimeObject *part, gpointer data);

static void
edit_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct edit *ed = data;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	GMimeContentEncoding enc;
	char *text, *now;
	int html, att;

	(void)parent;
	if (GMIME_IS_MESSAGE_PART(part) && ed->e->all_text) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(part));

		if (inner) {
			ed->inner++;
			g_mime_message_foreach(inner, edit_part, ed);
			ed->inner--;
		}
		return;
	}
	if (!GMIME_IS_TEXT_PART(part) || ct == NULL)
		return;
	html = g_mime_content_type_is_type(ct, "text", "html");
	att = ed->inner || g_mime_part_is_attachment(GMIME_PART(part));
	if (!ed->e->all_text && (att ||
	    (!html && !g_mime_content_type_is_type(ct, "text", "plain"))))
		return;
	if (!params_encodable(ct))
		return;	/* left as it came */
	if ((text = g_mime_text_part_get_text(GMIME_TEXT_PART(part))) == NULL)
		return;
	now = ed->e->fn(text, (html ? MIME_EDIT_HTML : 0) |
	    (att ? MIME_EDIT_ATTACHMENT : 0), ed->e->arg);
	g_free(text);
	if (now == NULL)
		return;
	enc = g_mime_part_get_content_encoding(GMIME_PART(part));
	/* New content, in the charset that fits it (the Content-Type
	 * parameter follows); the transfer encoding stays unless 7-bit
	 * cannot carry it. */
	g_mime_text_part_set_text(GMIME_TEXT_PART(part), now);
	if (enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	    enc == GMIME_CONTENT_ENCODING_7BIT)
		enc = g_mime_part_get_best_content_encoding(GMIME_PART(part),
		    GMIME_ENCODING_CONSTRAINT_7BIT);
	g_mime_part_set_content_encoding(GMIME_PART(part), enc);
	free(now);
	ed->changed = 1;
}

/* A header of obj as a copy, or NULL. */
static char *
header_dup(GMimeObject *obj, const char *name)
{
	const char *v = g_mime_object_get_header(obj, name);

	return v ? xstrdup(v) : NULL;
}

/* Stores in *slot the new value when it differs from old; frees old. */
static void
header_changed(char *old, char *now, char **slot)
{
	*slot = NULL;
	if (now && (old == NULL || strcmp(old, now) != 0))
		*slot = now;
	else
		free(now);
	free(old);
}

/* The unstructured headers an edit of the subject sees (Outlook copies
 * the subject into Thread-Topic). */
static void
edit_subject(GMimeMessage *msg, struct edit *ed, struct mime_edited *out)
{
	static const char *const names[] = { "Subject", "Thread-Topic" };

	for (size_t i = 0; i < 2; i++) {
		const char *v = g_mime_object_get_header(GMIME_OBJECT(msg),
		    names[i]);
		char *now;

		if (v == NULL || (now = ed->e->fn(v, 0, ed->e->arg)) == NULL)
			continue;
		if (i == 0) {
			g_mime_message_set_subject(msg, now, "utf-8");
			out->subject = mime_header_encode(now);
		} else {
			g_mime_object_set_header(GMIME_OBJECT(msg), names[i],
			    now, "utf-8");
			out->topic = mime_header_encode(now);
		}
		free(now);
		ed->changed = 1;
	}
}

enum tk_status
mime_edit(const char *raw, size_t len, const struct mime_edit *e,
    struct mime_edited *out)
{
	struct edit ed = { e, 0, 0 };
	GMimeParserOptions *opts;
	GMimeFormatOptions *fo;
	GMimeParser *parser;
	GMimeMessage *msg;
	GMimeStream *stream, *mem;
	GMimeObject *top;
	GByteArray *shell, *ba;
	char *old_ct = NULL, *old_cte = NULL;
	enum tk_status ts = TK_EPARSE;

	memset(out, 0, sizeof(*out));
	buf_init(&out->whole, 0);
	pthread_once(&mime_once, mime_init_once);
	opts = parser_options(NULL);
	stream = stream_wrap(raw, len, &shell);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, opts);
	if (msg == NULL || (top = g_mime_message_get_mime_part(msg)) == NULL)
		goto done;
	old_ct = header_dup(top, "Content-Type");
	old_cte = header_dup(top, "Content-Transfer-Encoding");
	g_mime_message_foreach(msg, edit_part, &ed);
	if (e->subject)
		edit_subject(msg, &ed, out);
	if (!ed.changed) {
		free(old_ct);
		free(old_cte);
		ts = TK_EPERM;
		goto done;
	}
	if (!GMIME_IS_MULTIPART(top)) {
		header_changed(old_ct, header_dup(top, "Content-Type"),
		    &out->ctype);
		header_changed(old_cte, header_dup(top,
		    "Content-Transfer-Encoding"), &out->cte);
	} else {
		free(old_ct);
		free(old_cte);
	}
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	mem = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	/* CRLF throughout, whatever a part's writer did. */
	for (guint i = 0; i < ba->len; i++) {
		if (ba->data[i] == '\n' && (i == 0 || ba->data[i - 1] != '\r'))
			buf_addc(&out->whole, '\r');
		buf_addc(&out->whole, (char)ba->data[i]);
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	/* The body: after the blank line that ends the header. */
	out->body = out->whole.len;
	for (size_t i = 0; i + 3 < out->whole.len; i++)
		if (memcmp(out->whole.data + i, "\r\n\r\n", 4) == 0) {
			out->body = i + 4;
			break;
		}
	ts = TK_OK;
done:
	if (msg)
		g_object_unref(msg);
	g_object_unref(parser);
	stream_free(stream, shell);
	g_mime_parser_options_free(opts);
	return ts;
}

void
mime_edited_free(struct mime_edited *out)
{
	buf_free(&out->whole);
	free(out->ctype);
	free(out->cte);
	free(out->subject);
	free(out->topic);
	memset(out, 0, sizeof(*out));
}

/* The milter's cut: the lead of each text, of HTML its readable text. */
static char *
cut_fn(const char *text, int part, void *arg)
{
	size_t (*const *lead)(const char *) = arg;
	size_t n;

	if (part & MIME_EDIT_HTML)
		return html_cut_lead(text, strlen(text), *lead);
	n = (*lead)(text);
	return n > 0 ? xstrdup(text + n) : NULL;
}

enum tk_status
mime_cut_text(const char *raw, size_t len, size_t (*lead)(const char *text),
    struct buf *out, char **ctype, char **cte)
{
	struct mime_edit e = { cut_fn, &lead, 0, 0 };
	struct mime_edited ed;
	enum tk_status ts;

	*ctype = *cte = NULL;
	if ((ts = mime_edit(raw, len, &e, &ed)) == TK_OK) {
		buf_add(out, ed.whole.data + ed.body, ed.whole.len - ed.body);
		*ctype = ed.ctype;
		*cte = ed.cte;
		ed.ctype = ed.cte = NULL;
	}
	mime_edited_free(&ed);
	return ts;
}

static void
addr_free(struct mime_addr *a)
{
	free(a->name);
	free(a->addr);
}

void
mime_free(struct tk_msg *m)
{
	if (m == NULL)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	for (size_t i = 0; i < m->nreferences; i++)
		free(m->references[i]);
	free(m->references);
	free(m->subject);
	addr_free(&m->from);
	addr_free(&m->reply_to);
	free(m->form_robot);
	for (size_t i = 0; i < m->nto; i++)
		addr_free(&m->to[i]);
	free(m->to);
	for (size_t i = 0; i < m->ncc; i++)
		addr_free(&m->cc[i]);
	free(m->cc);
	free(m->content_type);
	free(m->report_type);
	free(m->orig_message_id);
	free(m->body);
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	for (size_t i = 0; i < m->natt; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
	}
	free(m->att);
	free(m);
}

const char *
mime_header_get(const struct tk_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

int
mime_mbox_split(const char *data, size_t len,
    int (*fn)(const char *raw, size_t len, void *arg), void *arg)
{
	GMimeParser *parser;
	GMimeStream *stream;
	GByteArray *shell;
	int rv = 0;

	pthread_once(&mime_once, mime_init_once);
	stream = stream_wrap(data, len, &shell);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
	while (rv == 0 && !g_mime_parser_eos(parser)) {
		GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
		gint64 begin, end;

		if (msg == NULL)
			break;
		begin = g_mime_parser_get_headers_begin(parser);
		end = g_mime_parser_tell(parser);
		g_object_unref(msg);
		if (begin < 0 || end < begin || (size_t)end > len)
			break;
		rv = fn(data + begin, (size_t)(end - begin), arg);
	}
	g_object_unref(parser);
	stream_free(stream, shell);
	return rv;
}

/* Controls (CR, LF, …) become spaces: a value never ends its header. */
static char *
one_line(const char *s)
{
	char *v = xstrdup(s ? s : "");

	for (unsigned char *p = (unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (!g_utf8_validate(v, -1, NULL)) {
		char *fixed = g_utf8_make_valid(v, -1);

		free(v);
		v = xstrdup(fixed);
		g_free(fixed);
	}
	return v;
}

static void
add_mailbox(GMimeMessage *msg, GMimeAddressType type, const char *name,
    const char *addr)
{
	char *n = name && *name ? one_line(name) : NULL;
	char *a = one_line(addr);

	g_mime_message_add_mailbox(msg, type, n, a);
	free(n);
	free(a);
}

/* A UTF-8 text part (set_text would pick another charset for us). */
static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
	GMimePart *p = (GMimePart *)tp;
	GMimeDataWrapper *dw;
	GMimeStream *mem;
	char *valid = NULL;

	if (!g_utf8_validate(text, -1, NULL))
		text = valid = g_utf8_make_valid(text, -1);
	mem = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	dw = g_mime_data_wrapper_new_with_stream(mem,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p, dw);
	g_object_unref(dw);
	g_object_unref(mem);
	g_mime_text_part_set_charset(tp, "utf-8");
	g_mime_part_set_content_encoding(p, g_mime_part_get_best_content_encoding(
	    p, GMIME_ENCODING_CONSTRAINT_7BIT));
	g_free(valid);
	return (GMimeObject *)tp;
}

/* A file as a base64 part, its name and type as given (type checked). */
static GMimeObject *
file_part(const struct mime_draft_att *a)
{
	const char *type = a->type ? a->type : "application/octet-stream";
	const char *slash = strchr(type, '/');
	char *major, *minor;
	GMimePart *p;
	GMimeDataWrapper *dw;
	GMimeStream *mem;

	/* A type that is no "x/y" of token characters is sent as bytes. */
	if (slash == NULL || slash == type || slash[1] == '\0' ||
	    strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789!#$&-^_.+/") !=
	    strlen(type) || strchr(slash + 1, '/'))
		type = "application/octet-stream", slash = type + 11;
	major = xstrndup(type, (size_t)(slash - type));
	minor = xstrdup(slash + 1);
	p = g_mime_part_new_with_type(major, minor);
	free(major);
	free(minor);
	mem = g_mime_stream_mem_new_with_buffer(a->data, a->len);
	dw = g_mime_data_wrapper_new_with_stream(mem,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p, dw);
	g_object_unref(dw);
	g_object_unref(mem);
	g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition((GMimeObject *)p, "attachment");
	if (a->name && g_utf8_validate(a->name, -1, NULL))
		g_mime_part_set_filename(p, a->name);
	return (GMimeObject *)p;
}

void
mime_build(const struct mime_draft *d, struct buf *out)
{
	GMimeFormatOptions *fo;
	GMimeMessage *msg;
	GMimeObject *body;
	GDateTime *date;
	struct buf refs;
	char *subject, *text;
	const char *h, *eol;

	pthread_once(&mime_once, mime_init_once);
	msg = g_mime_message_new(TRUE);
	add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, d->from_name, d->from);
	add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, d->to_name, d->to);
	if (d->reply_to)
		add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, d->reply_to);
	subject = one_line(d->subject);
	g_mime_message_set_subject(msg, subject, "utf-8");
	free(subject);
	date = g_date_time_new_from_unix_local(d->date);
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);
	g_mime_message_set_message_id(msg, d->message_id);
	buf_init(&refs, 0);
	if (d->in_reply_to) {
		buf_printf(&refs, "<%s>", d->in_reply_to);
		g_mime_object_set_header((GMimeObject *)msg, "In-Reply-To",
		    refs.data, NULL);
		buf_reset(&refs);
	}
	for (size_t i = 0; i < d->nreferences; i++)
		buf_printf(&refs, "%s<%s>", i ? " " : "", d->references[i]);
	if (refs.len)
		g_mime_object_set_header((GMimeObject *)msg, "References",
		    refs.data, NULL);
	buf_free(&refs);
	/* Extra header lines, already one line and encoded each. */
	for (h = d->headers; h && *h; h = *eol ? eol + 1 : eol) {
		const char *colon = strchr(h, ':');
		char *name, *value;

		eol = h + strcspn(h, "\n");
		if (colon == NULL || colon > eol || colon == h)
			continue;
		name = xstrndup(h, (size_t)(colon - h));
		colon++;
		while (*colon == ' ')
			colon++;
		value = xstrndup(colon, (size_t)(eol - colon));
		g_mime_object_append_header((GMimeObject *)msg, name, value, NULL);
		free(name);
		free(value);
	}
	body = text_part("plain", d->text ? d->text : "");
	if (d->html) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype(
		    "alternative");
		GMimeObject *html = text_part("html", d->html);

		g_mime_multipart_add(alt, body);
		g_mime_multipart_add(alt, html);
		g_object_unref(body);
		g_object_unref(html);
		body = (GMimeObject *)alt;
	}
	if (d->natt) {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype(
		    "mixed");

		g_mime_multipart_add(mixed, body);
		g_object_unref(body);
		for (size_t i = 0; i < d->natt; i++) {
			GMimeObject *f = file_part(&d->att[i]);

			g_mime_multipart_add(mixed, f);
			g_object_unref(f);
		}
		body = (GMimeObject *)mixed;
	}
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	text = g_mime_object_to_string((GMimeObject *)msg, fo);
	buf_addstr(out, text);
	g_free(text);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
}

char *
mime_message_id(const char *domain)
{
	char *id, *out;

	pthread_once(&mime_once, mime_init_once);
	id = g_mime_utils_generate_message_id(domain);
	out = xstrdup(id);
	g_free(id);
	return out;
}

void
mime_hmac(const char *key, const char *data, char out[TK_SHA256_HEX])
{
	gchar *hex = g_compute_hmac_for_string(G_CHECKSUM_SHA256,
	    (const guchar *)key, strlen(key), data, -1);

	memcpy(out, hex, TK_SHA256_HEX - 1);
	out[TK_SHA256_HEX - 1] = '\0';
	g_free(hex);
}
