/*
 * NAME
 *	calendar.c — business hours in a time zone, with holidays.
 * DESCRIPTION
 *	A calendar file (tiketti-calendar(5)) gives a zone, opening spans
 *	per weekday in that zone and holidays (dates, ranges, iCalendar
 *	files). Questions are answered over a table of opening intervals in
 *	UTC, one a span and day, built a year at a time as they are asked
 *	for, with running sums: "N business seconds after T" and "business
 *	seconds between A and B" are a binary search each. Local days
 *	become UTC instants through libical's zones (the system's tzdata),
 *	never through the process's TZ, so the process may run in UTC and
 *	the calendar in Europe/Helsinki. The only user of libical.
 * DIAGNOSTICS
 *	Parse errors are "FILE:LINE:COL: message" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libical/ical.h>

#include "tiketti/calendar.h"
#include "tiketti/str.h"

#define CAL_MAX_FILE	(1 << 20)	/* bytes of a .cal or .ics file */
#define CAL_MAX_DAYS	20000		/* holiday days from all sources */
#define CAL_MAX_SPANS	16		/* spans of one weekday */
#define CAL_YEAR_MIN	1970		/* the table covers these years */
#define CAL_YEAR_MAX	2200
#define CAL_LOOKAHEAD	50		/* years calendar_add searches */

struct span {
	int	 from, to;	/* minutes of the day, to up to 1440 */
};

struct calendar {
	char		*zone_name;
	icaltimezone	*zone;		/* NULL: UTC */
	int		 always;	/* open around the clock */
	struct span	 week[7][CAL_MAX_SPANS];	/* Monday first */
	int		 nweek[7];
	int64_t		*holidays;	/* local days since 1970-01-01, sorted */
	size_t		 nholidays;
	/* The table: intervals [s, e) over local years [y0, y1). */
	pthread_mutex_t	 lock;
	int		 y0, y1;
	int64_t		 lo, hi;	/* UTC of y0's first and y1's first day */
	int64_t		*s, *e, *cum;	/* cum: business seconds before */
	size_t		 n, cap;
};

/* libical's zones and parser keep global state: one caller at a time. */
static pthread_mutex_t ical_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- days ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int
valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (y < CAL_YEAR_MIN || y >= CAL_YEAR_MAX || m < 1 || m > 12 ||
	    d < 1 || d > mdays[m - 1])
		return 0;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0));
}

/* The UTC instant of a local day's minute (1440: the next midnight). */
static int64_t
local_to_utc(const struct calendar *c, int64_t day, int minute)
{
	struct icaltimetype tt = icaltime_null_time();
	int y, m, d;

	if (c->zone == NULL)
		return day * 86400 + minute * 60;
	if (minute == 1440) {
		day++;
		minute = 0;
	}
	civil_from_days(day, &y, &m, &d);
	tt.year = y;
	tt.month = m;
	tt.day = d;
	tt.hour = minute / 60;
	tt.minute = minute % 60;
	tt.zone = c->zone;
	return (int64_t)icaltime_as_timet_with_zone(tt, c->zone);
}

static int
is_holiday(const struct calendar *c, int64_t day)
{
	size_t lo = 0, hi = c->nholidays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->holidays[mid] == day)
			return 1;
		if (c->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ---- the table ---- */

static void
push(int64_t **s, int64_t **e, size_t *n, size_t *cap, int64_t a, int64_t b)
{
	if (b <= a)
		return;
	if (*n > 0 && (*e)[*n - 1] >= a) {	/* 16:00-24:00, 00:00-08:00 */
		if (b > (*e)[*n - 1])
			(*e)[*n - 1] = b;
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*s = xreallocarray(*s, *cap, sizeof(**s));
		*e = xreallocarray(*e, *cap, sizeof(**e));
	}
	(*s)[*n] = a;
	(*e)[(*n)++] = b;
}

/* The intervals of local years [ya, yb), appended to s/e. */
static void
build_years(struct calendar *c, int ya, int yb, int64_t **s, int64_t **e,
    size_t *n, size_t *cap)
{
	int64_t d0 = days_from_civil(ya, 1, 1), d1 = days_from_civil(yb, 1, 1);

	pthread_mutex_lock(&ical_lock);
	for (int64_t day = d0; day < d1; day++) {
		int wd = (int)((day % 7 + 7 + 3) % 7);	/* 1970-01-01: Thu */

		if (c->nweek[wd] == 0 || is_holiday(c, day))
			continue;
		for (int i = 0; i < c->nweek[wd]; i++)
			push(s, e, n, cap,
			    local_to_utc(c, day, c->week[wd][i].from),
			    local_to_utc(c, day, c->week[wd][i].to));
	}
	pthread_mutex_unlock(&ical_lock);
}

static void
recount(struct calendar *c)
{
	int64_t sum = 0;

	c->cum = xreallocarray(c->cum, c->cap ? c->cap : 1, sizeof(*c->cum));
	for (size_t i = 0; i < c->n; i++) {
		c->cum[i] = sum;
		sum += c->e[i] - c->s[i];
	}
}

/* Extends the table (locked) until it covers t, within the years it may
 * cover; 0 when t is outside them. */
static int
cover(struct calendar *c, int64_t t)
{
	int changed = 0;

	if (c->y0 == 0) {
		/* Start with t's UTC year and its neighbours. */
		int y, m, d;

		civil_from_days(t / 86400 - (t < 0 && t % 86400), &y, &m, &d);
		if (y < CAL_YEAR_MIN + 1)
			y = CAL_YEAR_MIN + 1;
		if (y > CAL_YEAR_MAX - 2)
			y = CAL_YEAR_MAX - 2;
		c->y0 = c->y1 = y - 1;
	}
	while (c->y1 == c->y0 || (t >= c->hi && c->y1 < CAL_YEAR_MAX)) {
		/* A year more at the end. */
		build_years(c, c->y1, c->y1 + 1, &c->s, &c->e, &c->n, &c->cap);
		c->y1++;
		changed = 1;
	}
	while (t < c->lo && c->y0 > CAL_YEAR_MIN) {
		int64_t *s = NULL, *e = NULL;
		size_t n = 0, cap = 0;

		build_years(c, c->y0 - 1, c->y0, &s, &e, &n, &cap);
		for (size_t i = 0; i < c->n; i++)
			push(&s, &e, &n, &cap, c->s[i], c->e[i]);
		free(c->s);
		free(c->e);
		c->s = s;
		c->e = e;
		c->n = n;
		c->cap = cap;
		c->y0--;
		changed = 1;
	}
	if (changed) {
		pthread_mutex_lock(&ical_lock);
		c->lo = local_to_utc(c, days_from_civil(c->y0, 1, 1), 0);
		c->hi = local_to_utc(c, days_from_civil(c->y1, 1, 1), 0);
		pthread_mutex_unlock(&ical_lock);
		recount(c);
	}
	return t >= c->lo && t < c->hi;
}

/* The index of the last interval starting at or before t, or -1. */
static long
find(const struct calendar *c, int64_t t)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->s[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* Business seconds from the table's start to t (locked, covered). */
static int64_t
cum_at(const struct calendar *c, int64_t t)
{
	long i = find(c, t);

	if (i < 0)
		return 0;
	return c->cum[i] + (t < c->e[i] ? t : c->e[i]) - c->s[i];
}

static int64_t
clamp_t(const struct calendar *c, int64_t t)
{
	return t < c->lo ? c->lo : t >= c->hi ? c->hi - 1 : t;
}

int64_t
calendar_add(struct calendar *c, int64_t t, int64_t secs)
{
	int64_t target, end, r = CALENDAR_NEVER;
	size_t lo, hi;

	if (secs <= 0)
		return t;
	if (c->always)
		return t > INT64_MAX - secs ? CALENDAR_NEVER : t + secs;
	pthread_mutex_lock(&c->lock);
	cover(c, t);
	target = cum_at(c, clamp_t(c, t)) + secs;
	end = t;
	for (int years = 0; years <= CAL_LOOKAHEAD; years++) {
		/* The first interval whose running sum reaches target. */
		lo = 0;
		hi = c->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (c->cum[mid] + c->e[mid] - c->s[mid] < target)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->n) {
			r = c->s[lo] + (target - c->cum[lo]);
			break;
		}
		if (c->y1 >= CAL_YEAR_MAX)
			break;
		end = c->hi;
		cover(c, end);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int64_t
calendar_between(struct calendar *c, int64_t a, int64_t b)
{
	int64_t r;

	if (b <= a)
		return 0;
	if (c->always)
		return b - a;
	pthread_mutex_lock(&c->lock);
	cover(c, a);
	cover(c, b);
	r = cum_at(c, clamp_t(c, b)) - cum_at(c, clamp_t(c, a));
	pthread_mutex_unlock(&c->lock);
	return r;
}

const char *
calendar_zone(const struct calendar *c)
{
	return c->zone_name;
}

void
calendar_iso(struct calendar *c, int64_t t, char out[32])
{
	int off = 0, y, mo, d;
	int64_t lt, day, sec;

	if (c->zone != NULL) {
		struct icaltimetype tt;
		int dst;

		pthread_mutex_lock(&ical_lock);
		tt = icaltime_from_timet_with_zone((time_t)t, 0, c->zone);
		off = icaltimezone_get_utc_offset(c->zone, &tt, &dst);
		pthread_mutex_unlock(&ical_lock);
	}
	lt = t + off;
	day = lt / 86400 - (lt < 0 && lt % 86400 != 0);
	sec = lt - day * 86400;
	civil_from_days(day, &y, &mo, &d);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d,
	    (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
	    off < 0 ? '-' : '+', abs(off) / 3600, abs(off) / 60 % 60);
}

int64_t
calendar_week_seconds(const struct calendar *c)
{
	int64_t sum = 0;

	if (c->always)
		return 7 * 86400;
	for (int w = 0; w < 7; w++)
		for (int i = 0; i < c->nweek[w]; i++)
			sum += (c->week[w][i].to - c->week[w][i].from) * 60;
	return sum;
}

size_t
calendar_nholidays(const struct calendar *c)
{
	return c->nholidays;
}

static struct calendar *
cal_new(void)
{
	struct calendar *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->zone_name = xstrdup("UTC");
	return c;
}

struct calendar *
calendar_always(void)
{
	struct calendar *c = cal_new();

	c->always = 1;
	return c;
}

void
calendar_free(struct calendar *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->zone_name);
	free(c->holidays);
	free(c->s);
	free(c->e);
	free(c->cum);
	free(c);
}

/* ---- holidays ---- */

static int
add_days(struct calendar *c, int64_t from, int64_t to)
{
	for (int64_t d = from; d <= to; d++) {
		if (c->nholidays >= CAL_MAX_DAYS)
			return -1;
		c->holidays = xreallocarray(c->holidays, c->nholidays + 1,
		    sizeof(*c->holidays));
		c->holidays[c->nholidays++] = d;
	}
	return 0;
}

static int
cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The days an all-day event covers, from its start date on. */
static int
ics_event(struct calendar *c, icalcomponent *ev, const char **why)
{
	struct icaltimetype st = icalcomponent_get_dtstart(ev);
	struct icaltimetype en = icalcomponent_get_dtend(ev);
	icalproperty *rp;
	int64_t d0, len = 1;

	if (icaltime_is_null_time(st) || !valid_date(st.year, st.month,
	    st.day)) {
		*why = "an event without a valid DTSTART";
		return -1;
	}
	d0 = days_from_civil(st.year, (unsigned)st.month, (unsigned)st.day);
	if (!icaltime_is_null_time(en) && valid_date(en.year, en.month,
	    en.day)) {
		len = days_from_civil(en.year, (unsigned)en.month,
		    (unsigned)en.day) - d0;
		if (!en.is_date)	/* a timed event ends on its day */
			len++;
		if (len < 1)
			len = 1;
		if (len > 366) {
			*why = "an event longer than a year";
			return -1;
		}
	}
	if ((rp = icalcomponent_get_first_property(ev,
	    ICAL_RRULE_PROPERTY)) == NULL) {
		if (add_days(c, d0, d0 + len - 1) == -1)
			goto many;
		return 0;
	}
	{
		struct icalrecurrencetype rule = icalproperty_get_rrule(rp);
		icalrecur_iterator *it = icalrecur_iterator_new(rule, st);
		struct icaltimetype o;

		if (it == NULL) {
			*why = "an RRULE libical cannot expand";
			return -1;
		}
		while (!icaltime_is_null_time(o = icalrecur_iterator_next(it))) {
			int64_t d;

			if (o.year >= CAL_YEAR_MAX || !valid_date(o.year,
			    o.month, o.day))
				break;
			d = days_from_civil(o.year, (unsigned)o.month,
			    (unsigned)o.day);
			if (add_days(c, d, d + len - 1) == -1) {
				icalrecur_iterator_free(it);
				goto many;
			}
		}
		icalrecur_iterator_free(it);
	}
	return 0;
many:
	*why = "more than 20000 holiday days";
	return -1;
}

/* Adds an iCalendar text's events; on error, a message in err. */
static int
ics_read(struct calendar *c, const char *name, const char *text,
    struct buf *err)
{
	icalcomponent *top, *cal, *ev;
	const char *why = NULL;
	int bad = 0;

	pthread_mutex_lock(&ical_lock);
	icalerror_set_errors_are_fatal(0);
	top = icalparser_parse_string(text);
	cal = top;
	if (top != NULL && icalcomponent_isa(top) != ICAL_VCALENDAR_COMPONENT)
		cal = NULL;
	if (cal == NULL) {
		buf_printf(err, "%s:1:1: not an iCalendar file (no "
		    "BEGIN:VCALENDAR)\n", name);
		bad = 1;
		goto out;
	}
	for (ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	    ev != NULL && !bad;
	    ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
		icalproperty *p = icalcomponent_get_first_property(ev,
		    ICAL_XLICERROR_PROPERTY);

		if (p != NULL) {
			const char *m = icalproperty_get_xlicerror(p);

			buf_printf(err, "%s:1:1: %s\n", name, m ? m :
			    "an event libical could not read");
			bad = 1;
		} else if (ics_event(c, ev, &why) == -1) {
			const char *summ = icalcomponent_get_summary(ev);

			buf_printf(err, "%s:1:1: %s%s%s%s\n", name, why,
			    summ ? " (\"" : "", summ ? summ : "",
			    summ ? "\")" : "");
			bad = 1;
		}
	}
out:
	if (top != NULL)
		icalcomponent_free(top);
	pthread_mutex_unlock(&ical_lock);
	return bad ? -1 : 0;
}

long
calendar_ics_days(const char *name, const char *text, size_t len,
    struct buf *err)
{
	struct calendar *c = cal_new();
	char *z = xstrndup(text, len);
	long n = -1;

	if (strlen(z) == len && ics_read(c, name, z, err) == 0)
		n = (long)c->nholidays;
	else if (strlen(z) != len)
		buf_printf(err, "%s:1:1: a NUL byte\n", name);
	free(z);
	calendar_free(c);
	return n;
}

/* ---- the file ---- */

static char *
read_file(const char *path, size_t *len, const char **why)
{
	struct buf b;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return NULL;
	}
	buf_init(&b, CAL_MAX_FILE);
	if (buf_read_fd(&b, fd) != TK_OK) {
		close(fd);
		buf_free(&b);
		*why = "unreadable, or larger than 1 MB";
		return NULL;
	}
	close(fd);
	*len = b.len;
	if (b.data == NULL)
		return xstrdup("");
	buf_add(&b, "", 1);
	return b.data;
}

struct line {
	const char	*name;
	const char	*p, *start;	/* at hand, the line's first byte */
	int		 lineno;
	struct buf	*err;
	int		 bad;
};

static void
lerr(struct line *l, const char *at, const char *msg, const char *arg)
{
	buf_printf(l->err, "%s:%d:%d: %s%s%s%s\n", l->name, l->lineno,
	    (int)(at - l->start) + 1, msg, arg ? " \"" : "", arg ? arg : "",
	    arg ? "\"" : "");
	l->bad++;
}

static void
skip_ws(struct line *l)
{
	while (*l->p == ' ' || *l->p == '\t')
		l->p++;
}

/* The next word (letters, digits, - . / _ + : ,) as a new string. */
static char *
word(struct line *l)
{
	const char *b;

	skip_ws(l);
	b = l->p;
	while (*l->p && *l->p != ' ' && *l->p != '\t' && *l->p != '#' &&
	    *l->p != ',')
		l->p++;
	return b == l->p ? NULL : xstrndup(b, (size_t)(l->p - b));
}

static int
parse_hm(const char *s, int *min)
{
	int h, m;
	char c;

	if (sscanf(s, "%2d:%2d%c", &h, &m, &c) != 2 || strlen(s) != 5 ||
	    h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static int
parse_date(const char *s, int64_t *day)
{
	int y, m, d;
	char c;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &c) != 3 ||
	    !valid_date(y, m, d))
		return -1;
	*day = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

/* An IANA zone name: no way out of the zoneinfo directory. */
static int
zone_ok(const char *z)
{
	if (*z == '/' || strstr(z, "..") != NULL || strlen(z) > 64)
		return 0;
	for (; *z; z++)
		if (!((*z >= 'a' && *z <= 'z') || (*z >= 'A' && *z <= 'Z') ||
		    (*z >= '0' && *z <= '9') || strchr("/_+-", *z)))
			return 0;
	return 1;
}

static const char *const wdays[] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
};

static int
wday(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && strncasecmp(s, wdays[i], 3) == 0)
			return i;
	return -1;
}

/* "mon", "mon-fri": the days' bits. */
static unsigned
day_set(const char *w)
{
	const char *dash = strchr(w, '-');
	int a, b;
	unsigned bits = 0;

	if (dash == NULL)
		return (a = wday(w, strlen(w))) < 0 ? 0 : 1u << a;
	if ((a = wday(w, (size_t)(dash - w))) < 0 ||
	    (b = wday(dash + 1, strlen(dash + 1))) < 0)
		return 0;
	for (int i = a;; i = (i + 1) % 7) {
		bits |= 1u << i;
		if (i == b)
			break;
	}
	return bits;
}

static void
add_span(struct calendar *c, struct line *l, const char *at, unsigned days,
    int from, int to)
{
	for (int w = 0; w < 7; w++) {
		int n;

		if (!(days & (1u << w)))
			continue;
		if ((n = c->nweek[w]) == CAL_MAX_SPANS) {
			lerr(l, at, "more than 16 spans on one day", NULL);
			return;
		}
		/* Kept in order; an overlap is a mistake worth saying. */
		for (int i = 0; i < n; i++)
			if (from < c->week[w][i].to && c->week[w][i].from < to) {
				lerr(l, at, "overlaps another span of", wdays[w]);
				return;
			}
		while (n > 0 && c->week[w][n - 1].from > from) {
			c->week[w][n] = c->week[w][n - 1];
			n--;
		}
		c->week[w][n].from = from;
		c->week[w][n].to = to;
		c->nweek[w]++;
	}
}

static void
do_hours(struct calendar *c, struct line *l, const char *dayw,
    const char *at)
{
	unsigned days = day_set(dayw);

	if (days == 0) {
		lerr(l, at, "unknown keyword or day", dayw);
		l->p += strlen(l->p);	/* one error a line */
		return;
	}
	skip_ws(l);
	if (strncmp(l->p, "closed", 6) == 0) {
		l->p += 6;
		return;
	}
	for (;;) {
		const char *sat;
		char *w, *dash;
		int from, to;

		skip_ws(l);
		sat = l->p;
		if ((w = word(l)) == NULL) {
			lerr(l, sat, "a span HH:MM-HH:MM expected", NULL);
			return;
		}
		if ((dash = strchr(w, '-')) == NULL) {
			lerr(l, sat, "a span HH:MM-HH:MM expected, not", w);
			free(w);
			return;
		}
		*dash = '\0';
		if (parse_hm(w, &from) == -1 || parse_hm(dash + 1, &to) == -1)
			lerr(l, sat, "not a time of day (00:00 to 24:00)", NULL);
		else if (to <= from)
			lerr(l, sat, "a span must end after it starts", NULL);
		else
			add_span(c, l, sat, days, from, to);
		free(w);
		skip_ws(l);
		if (*l->p != ',')
			return;
		l->p++;
	}
}

static void
do_holiday(struct calendar *c, struct line *l)
{
	const char *at;
	char *a, *b = NULL, *dots;
	int64_t d0, d1;

	skip_ws(l);
	at = l->p;
	if ((a = word(l)) == NULL) {
		lerr(l, at, "a date YYYY-MM-DD expected", NULL);
		return;
	}
	skip_ws(l);
	if (strncmp(l->p, "..", 2) == 0) {
		l->p += 2;
		skip_ws(l);
		if ((b = word(l)) == NULL)
			lerr(l, l->p, "a date expected after \"..\"", NULL);
	} else if ((dots = strstr(a, "..")) != NULL) {
		b = xstrdup(dots + 2);
		*dots = '\0';
	}
	if (parse_date(a, &d0) == -1)
		lerr(l, at, "not a date YYYY-MM-DD (1970 to 2199)", a);
	else if (b != NULL && parse_date(b, &d1) == -1)
		lerr(l, at, "not a date YYYY-MM-DD (1970 to 2199)", b);
	else if (b != NULL && (d1 < d0 || d1 - d0 > 366))
		lerr(l, at, "a range must end after it starts, within a year",
		    NULL);
	else if (add_days(c, d0, b ? d1 : d0) == -1)
		lerr(l, at, "more than 20000 holiday days", NULL);
	free(a);
	free(b);
}

static void
do_include(struct calendar *c, struct line *l, const char *dir)
{
	const char *at, *why;
	char *w, *path, *text;
	size_t len, n;

	skip_ws(l);
	at = l->p;
	if ((w = word(l)) == NULL) {
		lerr(l, at, "a file name expected", NULL);
		return;
	}
	n = strlen(w);
	if (dir == NULL)
		lerr(l, at, "include is not allowed here", NULL);
	else if (n < 5 || strcasecmp(w + n - 4, ".ics") != 0)
		lerr(l, at, "include reads iCalendar files (NAME.ics)", w);
	else if (strchr(w, '/') != NULL)
		lerr(l, at, "an included file is named without a directory "
		    "(it is read from the calendar's)", w);
	else {
		path = xasprintf("%s/%s", dir, w);
		if ((text = read_file(path, &len, &why)) == NULL) {
			char *m = xasprintf("cannot read %s: %s", path, why);

			lerr(l, at, m, NULL);
			free(m);
		}
		else {
			if (strlen(text) != len)
				buf_printf(l->err, "%s:1:1: a NUL byte\n",
				    path);
			if (strlen(text) != len || ics_read(c, path, text,
			    l->err) == -1) {
				l->bad++;
				lerr(l, at, "included here", NULL);
			}
			free(text);
		}
		free(path);
	}
	free(w);
}

enum tk_status
calendar_parse(const char *name, const char *text, size_t len,
    const char *dir, struct calendar **out, struct buf *err)
{
	struct calendar *c = cal_new();
	struct line l = { .name = name, .err = err };
	const char *p = text, *end = text + len;
	int zone_seen = 0;

	*out = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *ln = xstrndup(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		const char *kat;
		char *kw;

		l.lineno++;
		l.p = l.start = ln;
		p = nl ? nl + 1 : end;
		if (memchr(ln, '\r', strlen(ln)) != NULL)
			*strchr(ln, '\r') = '\0';
		skip_ws(&l);
		kat = l.p;
		if (*l.p == '\0' || *l.p == '#' ||
		    (kw = word(&l)) == NULL) {
			free(ln);
			continue;
		}
		if (strcmp(kw, "timezone") == 0) {
			const char *zat;
			char *z;

			skip_ws(&l);
			zat = l.p;
			if (zone_seen++)
				lerr(&l, kat, "a second timezone", NULL);
			else if ((z = word(&l)) == NULL)
				lerr(&l, zat, "a zone name expected "
				    "(Europe/Helsinki)", NULL);
			else {
				icaltimezone *zz = NULL;

				if (strcmp(z, "UTC") != 0 && zone_ok(z)) {
					pthread_mutex_lock(&ical_lock);
					zz = icaltimezone_get_builtin_timezone(z);
					pthread_mutex_unlock(&ical_lock);
				}
				if (zz == NULL && strcmp(z, "UTC") != 0)
					lerr(&l, zat, "unknown time zone", z);
				else if (c->n > 0 || c->nholidays > 0 ||
				    calendar_week_seconds(c) > 0)
					lerr(&l, kat, "timezone comes first",
					    NULL);
				c->zone = zz;
				free(c->zone_name);
				c->zone_name = z;
			}
		} else if (strcmp(kw, "holiday") == 0)
			do_holiday(c, &l);
		else if (strcmp(kw, "include") == 0)
			do_include(c, &l, dir);
		else
			do_hours(c, &l, kw, kat);
		free(kw);
		skip_ws(&l);
		if (*l.p != '\0' && *l.p != '#')
			lerr(&l, l.p, "unexpected text at the end of the line",
			    NULL);
		free(ln);
	}
	if (l.bad) {
		calendar_free(c);
		return TK_EPARSE;
	}
	if (c->nholidays > 0) {
		size_t n = 1;

		qsort(c->holidays, c->nholidays, sizeof(*c->holidays), cmp_day);
		for (size_t i = 1; i < c->nholidays; i++)
			if (c->holidays[i] != c->holidays[n - 1])
				c->holidays[n++] = c->holidays[i];
		c->nholidays = n;
	}
	*out = c;
	return TK_OK;
}

enum tk_status
calendar_load(const char *path, struct calendar **out, struct buf *err)
{
	const char *why, *slash;
	char *text, *dir;
	size_t len;
	enum tk_status ts;

	*out = NULL;
	if ((text = read_file(path, &len, &why)) == NULL) {
		buf_printf(err, "%s:0:0: %s\n", path, why);
		return TK_EPERM;
	}
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	if (strlen(text) != len) {
		buf_printf(err, "%s:1:1: a NUL byte: not a calendar file\n",
		    path);
		ts = TK_EPARSE;
	} else
		ts = calendar_parse(path, text, len, dir, out, err);
	free(dir);
	free(text);
	return ts;
}
