/*
 * NAME
 *	json.c — a small streaming JSON writer.
 * DESCRIPTION
 *	Writes into a caller's struct buf; keeps only comma state per nesting
 *	level. No shared state; thread-safe.
 * DIAGNOSTICS
 *	Nesting past JSON_MAXDEPTH is a bug and panics.
 */
#include <stdio.h>
#include <string.h>

#include "tiketti/json.h"
#include "tiketti/log.h"

void
json_init(struct json *j, struct buf *out, int pretty)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = 1;
	j->pretty = pretty;
}

static void
indent(struct json *j)
{
	if (!j->pretty)
		return;
	buf_addc(j->out, '\n');
	for (int i = 0; i < j->depth; i++)
		buf_addstr(j->out, "  ");
}

/* Called before every value or key: writes the separating comma. */
static void
sep(struct json *j)
{
	if (j->first[j->depth] == 2) {	/* right after a key */
		j->first[j->depth] = 0;
		return;
	}
	if (!j->first[j->depth])
		buf_addc(j->out, ',');
	j->first[j->depth] = 0;
	if (j->depth > 0)
		indent(j);
}

static void
open(struct json *j, char c)
{
	sep(j);
	buf_addc(j->out, c);
	if (++j->depth >= JSON_MAXDEPTH)
		log_panic("json nesting too deep");
	j->first[j->depth] = 1;
}

static void
close_(struct json *j, char c)
{
	int empty = j->first[j->depth];

	j->depth--;
	if (!empty)
		indent(j);
	buf_addc(j->out, c);
}

void json_obj_open(struct json *j) { open(j, '{'); }
void json_obj_close(struct json *j) { close_(j, '}'); }
void json_arr_open(struct json *j) { open(j, '['); }
void json_arr_close(struct json *j) { close_(j, ']'); }

void
json_key(struct json *j, const char *key)
{
	sep(j);
	json_escape(j->out, key);
	buf_addstr(j->out, j->pretty ? ": " : ":");
	j->first[j->depth] = 2;
}

void
json_escape(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	buf_addc(b, '"');
	while (*s) {
		unsigned c = *s;

		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			s++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': buf_addstr(b, "\\n"); break;
			case '\r': buf_addstr(b, "\\r"); break;
			case '\t': buf_addstr(b, "\\t"); break;
			default: buf_printf(b, "\\u%04x", c); break;
			}
			s++;
		} else if (c < 0x80) {
			buf_addc(b, (char)c);
			s++;
		} else {
			size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ?
			    3 : (c & 0xf8) == 0xf0 ? 4 : 0;
			size_t k;

			for (k = 1; n && k < n; k++)
				if ((s[k] & 0xc0) != 0x80)
					break;
			if (n == 0 || k < n) {
				buf_addstr(b, "\xef\xbf\xbd");
				s++;
			} else {
				buf_add(b, s, n);
				s += n;
			}
		}
	}
	buf_addc(b, '"');
}

void
json_str(struct json *j, const char *s)
{
	sep(j);
	if (s == NULL)
		buf_addstr(j->out, "null");
	else
		json_escape(j->out, s);
}

void
json_int(struct json *j, int64_t v)
{
	sep(j);
	buf_printf(j->out, "%lld", (long long)v);
}

void
json_real(struct json *j, double v)
{
	char n[64];
	size_t len;

	/* Four decimals, without trailing zeros: 0.25, 4.5, 1. */
	snprintf(n, sizeof(n), "%.4f", v);
	len = strlen(n);
	while (len > 1 && n[len - 1] == '0')
		n[--len] = '\0';
	if (len > 1 && n[len - 1] == '.')
		n[--len] = '\0';
	sep(j);
	buf_addstr(j->out, n);
}

void
json_null(struct json *j)
{
	sep(j);
	buf_addstr(j->out, "null");
}

void
json_bool(struct json *j, int v)
{
	sep(j);
	buf_addstr(j->out, v ? "true" : "false");
}

void
json_key_str(struct json *j, const char *key, const char *value)
{
	json_key(j, key);
	json_str(j, value);
}

void
json_key_int(struct json *j, const char *key, int64_t value)
{
	json_key(j, key);
	json_int(j, value);
}
