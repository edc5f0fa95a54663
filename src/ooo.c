/*
 * NAME
 *	ooo.c — the day an out-of-office text says its writer is back.
 * DESCRIPTION
 *	Reads the dates an absence note names — 2026-12-24, 24.12.2026,
 *	24.12.26, 24.12. (the next such day), "December 24, 2026",
 *	"24 December", "Dec 24", "24. joulukuuta" — and takes the latest of
 *	them that is still to come, within a year: "away from 20.12. until
 *	7.1." is back on 7.1. Slashed dates are left alone (24/12 or 12/24
 *	depends on who wrote it). The result is that day's local midnight.
 *	Pure: knows nothing of mail; thread-safe.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tiketti/ooo.h"

#define YEAR_SECS	(366LL * 86400)

static const char *const months_en[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
};
/* Finnish, as dates write them ("24. joulukuuta"). */
static const char *const months_fi[] = {
	"tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta",
	"kesäkuuta", "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta",
	"marraskuuta", "joulukuuta",
};

/* Local midnight of y-m-d; -1 when that day does not exist. */
static int64_t
midnight(int y, int m, int d)
{
	struct tm tm = { 0 };
	time_t t;

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;	/* whatever the clock change, the same day */
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 || tm.tm_mday != d ||
	    tm.tm_mon != m - 1)
		return -1;	/* 31.2. rolled over */
	tm.tm_hour = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* The year of now's local date. */
static int
this_year(int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;

	return localtime_r(&t, &tm) ? tm.tm_year + 1900 : 1970;
}

/* A day without a year: the next one from now (this year or the next). */
static int64_t
next_day(int64_t now, int m, int d)
{
	int y = this_year(now);
	int64_t t = midnight(y, m, d);

	if (t >= 0 && t + 86400 <= now)
		t = midnight(y + 1, m, d);
	return t;
}

/* Reads 1 to max digits at *p; -1 when there are none or more. */
static int
digits(const char **p, int max)
{
	const char *s = *p;
	int v = 0, n = 0;

	while (isdigit((unsigned char)*s) && n <= max) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || n > max)
		return -1;
	*p = s;
	return v;
}

/* The month a word at p names (1-12, *len its length), or 0. */
static int
month_word(const char *p, size_t *len)
{
	for (int i = 0; i < 12; i++) {
		size_t n = strlen(months_fi[i]);

		if (strncasecmp(p, months_fi[i], n) == 0) {
			*len = n;
			return i + 1;
		}
	}
	for (int i = 0; i < 12; i++) {
		size_t n = strlen(months_en[i]);

		if (strncasecmp(p, months_en[i], n) == 0) {
			*len = n;
			return i + 1;
		}
		/* "Dec", "Dec." but not "Decimal" */
		if (strncasecmp(p, months_en[i], 3) == 0 &&
		    !isalpha((unsigned char)p[3])) {
			*len = 3 + (p[3] == '.');
			return i + 1;
		}
	}
	return 0;
}

/* Skips spaces and, when comma, one comma. */
static const char *
gap(const char *p, int comma)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (comma && *p == ',')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A year at *p (4 digits) after a gap; 0 when there is none. */
static int
year_after(const char **p)
{
	const char *s = gap(*p, 1);
	int y;

	if (!isdigit((unsigned char)*s) || (y = digits(&s, 4)) < 1970 ||
	    isdigit((unsigned char)*s))
		return 0;
	*p = s;
	return y;
}

/*
 * The date at p (a digit or a letter), its local midnight or -1; *end
 * after it.
 */
static int64_t
date_at(const char *p, int64_t now, const char **end)
{
	const char *s = p;
	size_t mlen;
	int a, b, c, m;

	*end = p + 1;
	if (isalpha((unsigned char)*p)) {
		/* December 24[,] [2026] */
		if ((m = month_word(p, &mlen)) == 0)
			return -1;
		s = gap(p + mlen, 0);
		if ((a = digits(&s, 2)) < 1)
			return -1;
		if (*s == '.' || strncasecmp(s, "st", 2) == 0 ||
		    strncasecmp(s, "nd", 2) == 0 || strncasecmp(s, "rd", 2) == 0 ||
		    strncasecmp(s, "th", 2) == 0)
			s += *s == '.' ? 1 : 2;
		*end = s;
		if ((c = year_after(end)))
			return midnight(c, m, a);
		return next_day(now, m, a);
	}
	if ((a = digits(&s, 4)) < 0)
		return -1;
	if (a >= 1970 && *s == '-') {
		/* 2026-12-24 */
		s++;
		if ((b = digits(&s, 2)) < 1 || *s++ != '-' ||
		    (c = digits(&s, 2)) < 1)
			return -1;
		*end = s;
		return midnight(a, b, c);
	}
	if (a > 31)
		return -1;
	if (*s == '.' && isdigit((unsigned char)s[1])) {
		/* 24.12.2026, 24.12.26, 24.12. */
		s++;
		if ((b = digits(&s, 2)) < 1 || *s != '.')
			return -1;
		s++;
		*end = s;
		if (isdigit((unsigned char)*s)) {
			if ((c = digits(&s, 4)) < 0)
				return -1;
			*end = s;
			return midnight(c < 100 ? 2000 + c : c, b, a);
		}
		return next_day(now, b, a);
	}
	/* 24 December [2026], 24. joulukuuta [2026] */
	if (*s == '.')
		s++;
	s = gap(s, 0);
	if ((m = month_word(s, &mlen)) == 0)
		return -1;
	*end = s + mlen;
	if ((c = year_after(end)))
		return midnight(c, m, a);
	return next_day(now, m, a);
}

int
ooo_until(const char *text, int64_t now, int64_t *until)
{
	int64_t best = 0;

	for (const char *p = text; p && *p;) {
		const char *end;
		int64_t t;

		/* A date starts a word. */
		if (!isalnum((unsigned char)*p) || (p > text &&
		    isalnum((unsigned char)p[-1]))) {
			p++;
			continue;
		}
		t = date_at(p, now, &end);
		if (t > now && t - now <= YEAR_SECS && t > best)
			best = t;
		p = end > p ? end : p + 1;
	}
	*until = best;
	return best > 0;
}
