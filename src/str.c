/*
 * NAME
 *	str.c — small string helpers that know nothing about mail.
 * DESCRIPTION
 *	Pure functions without shared state; thread-safe.
 * DIAGNOSTICS
 *	Parsers return TK_EPARSE on malformed input.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiketti/buf.h"
#include "tiketti/str.h"

char *
str_lower(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

char *
str_trim(char *s)
{
	char *p = s, *e;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (p != s)
		memmove(s, p, strlen(p) + 1);
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

char *
str_oneline(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = ' ';
	return s;
}

int
str_has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

enum tk_status
str_to_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return TK_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return TK_EPARSE;
	*out = v;
	return TK_OK;
}

enum tk_status
str_to_duration(const char *s, int unit_days, long long *out)
{
	char *end;
	long long v, mul;

	if (s == NULL || !isdigit((unsigned char)*s))
		return TK_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0)
		return TK_EPARSE;
	switch (*end) {
	case '\0': mul = unit_days ? 86400 : 1; break;
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 7 * 86400; break;
	default: return TK_EPARSE;
	}
	if (*end != '\0' && end[1] != '\0')
		return TK_EPARSE;
	if (v > INT64_MAX / mul)
		return TK_EPARSE;
	*out = v * mul;
	return TK_OK;
}

void
str_duration(long long secs, char *out, size_t outlen)
{
	if (secs != 0 && secs % 86400 == 0)
		snprintf(out, outlen, "%lldd", secs / 86400);
	else if (secs != 0 && secs % 3600 == 0)
		snprintf(out, outlen, "%lldh", secs / 3600);
	else if (secs != 0 && secs % 60 == 0)
		snprintf(out, outlen, "%lldm", secs / 60);
	else
		snprintf(out, outlen, "%llds", secs);
}

/* The length of the valid UTF-8 sequence at s[i] (no overlongs, no
 * surrogates), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t i, size_t len)
{
	unsigned c = s[i], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 1; cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2; cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3; cp = c & 0x07;
	} else
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i + k] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

int
str_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_seq(s, i, len)) == 0)
			return 0;
	return 1;
}

char *
str_utf8_repair(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	char *out = xmalloc(len * 3 + 1), *o = out;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_seq(s, i, len)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(o, str + i, n);
			o += n;
		}
	*o = '\0';
	return out;
}

void
str_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* The lower-case code point for the scripts mail here is written in:
 * Latin (with Latin-1 and Extended-A), Greek and Cyrillic. */
static uint32_t
fold_cp(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) ||
	    (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) ||
	    (c >= 0x410 && c <= 0x42f))
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177) ||
	    (c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf)) &&
	    c % 2 == 0)
		return c + 1;
	if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) &&
	    c % 2 == 1)
		return c + 1;
	return c;
}

/*
 * Every code point fold_cp() changes keeps its UTF-8 length, so this
 * works in place; bytes that are not valid two-byte sequences are left
 * alone.
 */
char *
str_fold(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		uint32_t c, l;

		if (*p < 0x80) {
			if (*p >= 'A' && *p <= 'Z')
				*p += 32;
			p++;
			continue;
		}
		if ((p[0] & 0xe0) != 0xc0 || (p[1] & 0xc0) != 0x80) {
			p++;
			continue;
		}
		c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		l = fold_cp(c);
		if (l != c && l < 0x800) {
			p[0] = (unsigned char)(0xc0 | l >> 6);
			p[1] = (unsigned char)(0x80 | (l & 0x3f));
		}
		p += 2;
	}
	return s;
}

/* Bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t
utf8_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * Shell-style glob: '*' any run, '?' one UTF-8 character, '\' quotes the
 * next one. Iterative with one backtrack point, so linear-ish and no
 * recursion on hostile patterns.
 */
int
str_glob(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			resume = s;
			continue;
		}
		if (*pat == '?') {
			pat++;
			s += utf8_len(s);
			continue;
		}
		if (*pat == '\\' && pat[1])
			pat++;
		if (*pat && *pat == *s) {
			pat++;
			s++;
			continue;
		}
		if (star == NULL)
			return 0;
		pat = star;
		s = resume += utf8_len(resume);
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

enum tk_status
str_to_time(const char *s, int64_t now, int64_t *out)
{
	static const char *const forms[] = {
		"%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
	};
	long long v;
	size_t n = strlen(s);

	if (s[0] == '@') {
		if (str_to_ll(s + 1, 0, INT64_MAX / 2, &v) != TK_OK)
			return TK_EPARSE;
		*out = v;
		return TK_OK;
	}
	/* A duration needs its unit: "2026" is no time. */
	if (n > 1 && strchr("smhdw", s[n - 1]) && isdigit((unsigned char)s[0])) {
		if (str_to_duration(s, 0, &v) != TK_OK)
			return TK_EPARSE;
		*out = now + v;
		return TK_OK;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, forms[i], &tm);

		if (end == NULL || *end != '\0')
			continue;
		tm.tm_isdst = -1;
		*out = (int64_t)mktime(&tm);
		return TK_OK;
	}
	return TK_EPARSE;
}
