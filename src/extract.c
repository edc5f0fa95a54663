/*
 * NAME
 *	extract.c — a form's values from its text.
 * DESCRIPTION
 *	Web forms mail what was filled in as "Label: value" lines or as an
 *	HTML table, which the HTML converter turns into "Label<TAB>value"
 *	lines. extract_key() finds the first line whose label is the key;
 *	extract_regex() the first match of an admin's pattern.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/extract.h"
#include "tiketti/buf.h"
#include "tiketti/str.h"

/* Trimmed, control characters as spaces, at most EXTRACT_MAX bytes. */
static char *
value(const char *p, size_t n)
{
	char *v;

	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n > EXTRACT_MAX) {
		n = EXTRACT_MAX;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;	/* not inside a character */
	}
	if (n == 0)
		return NULL;
	v = xstrndup(p, n);
	for (char *q = v; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	return v;
}

/* Skips decoration around a label: spaces, '*', '_' (markdown bold). */
static const char *
undecorate(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '*' || *p == '_' || *p == '\t'))
		p++;
	return p;
}

/*
 * Whether line [p, end) starts with key as its label; *rest is what
 * follows the separator (":", "=" or a TAB).
 */
static int
label(const char *p, const char *end, const char *key, size_t klen,
    const char **rest)
{
	p = undecorate(p, end);
	if ((size_t)(end - p) < klen || strncasecmp(p, key, klen) != 0)
		return 0;
	p += klen;
	if (p < end && *p == '\t') {	/* a table row */
		*rest = p + 1;
		return 1;
	}
	while (p < end && (*p == ' ' || *p == '*' || *p == '_'))
		p++;
	if (p < end && (*p == ':' || *p == '=')) {
		p++;
		while (p < end && (*p == '*' || *p == '_'))
			p++;
		*rest = p;
		return 1;
	}
	return 0;
}

char *
extract_key(const char *text, const char *key)
{
	const char *p = text;
	size_t klen;

	while (*key == ' ')
		key++;
	if ((klen = strlen(key)) == 0)
		return NULL;
	while (*p) {
		const char *end = p + strcspn(p, "\n"), *rest;
		char *v;

		if (label(p, end, key, klen, &rest)) {
			if ((v = value(rest, (size_t)(end - rest))) != NULL)
				return v;
			/* "Key:" alone: the value is on the next line with
			 * any text (a form that puts it below). */
			for (p = *end ? end + 1 : end; *p; ) {
				const char *e = p + strcspn(p, "\n");

				if ((v = value(p, (size_t)(e - p))) != NULL)
					return v;
				p = *e ? e + 1 : e;
			}
			return NULL;
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

char *
extract_regex(const regex_t *re, const char *text)
{
	regmatch_t m[2];

	if (regexec(re, text, 2, m, 0) != 0)
		return NULL;
	if (re->re_nsub >= 1 && m[1].rm_so >= 0)
		return value(text + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
	return value(text + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
}
