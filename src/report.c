/*
 * NAME
 *	report.c — `tiketti report`: backlog, volume, response times,
 *	reopens, repeat contacts, CSAT and autoreplies.
 * DESCRIPTION
 *	Every figure comes from one aggregate query of the store over the
 *	event history (store_report()), never from per-ticket rows here:
 *	what is held in memory is the aggregates (a row per day, mailbox and
 *	category; a row per dimension of the response times). The same
 *	figures are then written as text, CSV (one fact a row: section,
 *	dimension, key, day, metric, value), JSON or one self-contained HTML
 *	page with inline CSS and SVG charts drawn here.
 *	Times are seconds; medians and p90 use the nearest rank. The
 *	response times run on a second read-only connection in a thread of
 *	their own while the other sections run on the caller's.
 * DIAGNOSTICS
 *	report_write() returns the store's status, with its message in err.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiketti/json.h"
#include "tiketti/log.h"
#include "tiketti/clocks.h"
#include "tiketti/report.h"
#include "tiketti/str.h"

#define NBUCKETS 6
static const char *const bucket_label[NBUCKETS] = {
	"<1h", "1-4h", "4-8h", "8-24h", "1-3d", ">3d"
};
static const char *const metric_name[2] = { "first_response", "resolution" };
static const char *const dim_name[4] = { "all", "mailbox", "category",
    "agent" };

struct count {
	char	*key;
	int64_t	 n;
};

struct counts {
	struct count	*v;
	size_t		 n;
};

struct vol {
	char	 day[16];
	char	*mailbox;
	char	*category;
	int64_t	 created, solved, reopened;
};

struct timing {
	int	 metric;	/* index into metric_name */
	int	 dim;		/* index into dim_name */
	char	*key;
	int64_t	 n, median, p90, max;
	int64_t	 seen;		/* rows read so far, in order of time */
};

struct report {
	const struct tk_conf		*conf;
	const struct report_opts	*o;
	int64_t				 open_total;
	struct counts			 by_status, by_priority, by_assignee;
	int64_t				 oldest_id, oldest_at;
	char				*oldest_subject;
	struct vol			*vol;
	size_t				 nvol;
	char				(*days)[16];	/* the period's days */
	size_t				 ndays;
	struct timing			*times;
	size_t				 ntimes;
	int64_t				 hist[NBUCKETS];
	int64_t				 created, customers, repeat, solved;
	int64_t				 reopened, followups;
	int64_t				 csat_sent, csat_n, csat_sum;
	int64_t				 csat_dist[5];
	int64_t				 auto_sent;
	struct counts			 suppressed;
	/* Service promises: per target met, breached, still running;
	 * business seconds to first response and to resolution. */
	int				 sla_on;
	int64_t				 sla_met[SLA__N], sla_breached[SLA__N];
	int64_t				 sla_running[SLA__N];
	int64_t				*sla_secs[2];
	size_t				 sla_n[2];
	/* --by field:NAME: per value, tickets created, solved, open. */
	struct by_value {
		char	*value;		/* NULL: without the field */
		int64_t	 created, solved, open;
	}				*by;
	size_t				 nby;
};

static int
on_by_field(const struct store_row *r, void *arg)
{
	struct report *rp = arg;
	struct by_value *b;

	rp->by = xreallocarray(rp->by, rp->nby + 1, sizeof(*rp->by));
	b = &rp->by[rp->nby++];
	b->value = r->null[0] ? NULL : xstrdup(r->text[0]);
	b->created = r->num[1];
	b->solved = r->num[2];
	b->open = r->num[3];
	return 0;
}

/* The service promises' section of each format (below). */
static void json_sla(struct json *j, const struct report *rp);
static void csv_sla(struct buf *out, const struct report *rp);
static void text_sla(struct buf *out, const struct report *rp);
static void html_sla(struct buf *out, const struct report *rp);

static void
counts_add(struct counts *c, const char *key, int64_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0) {
			c->v[i].n += n;
			return;
		}
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = (struct count){ .key = xstrdup(key), .n = n };
}

static int
count_cmp(const void *x, const void *y)
{
	const struct count *a = x, *b = y;

	return a->n != b->n ? (a->n < b->n ? 1 : -1) : strcmp(a->key, b->key);
}

static void
counts_sort(struct counts *c)
{
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), count_cmp);
}

static void
counts_free(struct counts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].key);
	free(c->v);
}

static int64_t
counts_total(const struct counts *c)
{
	int64_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].n;
	return n;
}

/* ---- collecting ---- */

static int
on_backlog(const struct store_row *r, void *arg)
{
	struct report *rp = arg;

	counts_add(&rp->by_status, r->text[0], r->num[3]);
	counts_add(&rp->by_priority, r->text[1], r->num[3]);
	counts_add(&rp->by_assignee, r->text[2], r->num[3]);
	rp->open_total += r->num[3];
	return 0;
}

static int
on_oldest(const struct store_row *r, void *arg)
{
	struct report *rp = arg;

	rp->oldest_id = r->num[0];
	rp->oldest_at = r->num[1];
	rp->oldest_subject = xstrdup(r->text[2]);
	return 0;
}

static struct vol *
vol_row(struct report *rp, const struct store_row *r)
{
	struct vol *v;

	for (size_t i = 0; i < rp->nvol; i++) {
		v = &rp->vol[i];
		if (strcmp(v->day, r->text[0]) == 0 &&
		    strcmp(v->mailbox, r->text[1]) == 0 &&
		    strcmp(v->category, r->text[2]) == 0)
			return v;
	}
	rp->vol = xreallocarray(rp->vol, rp->nvol + 1, sizeof(*rp->vol));
	v = &rp->vol[rp->nvol++];
	memset(v, 0, sizeof(*v));
	snprintf(v->day, sizeof(v->day), "%s", r->text[0]);
	v->mailbox = xstrdup(r->text[1]);
	v->category = xstrdup(r->text[2]);
	return v;
}

static int
on_created(const struct store_row *r, void *arg)
{
	vol_row(arg, r)->created += r->num[3];
	return 0;
}

static int
on_status(const struct store_row *r, void *arg)
{
	struct vol *v = vol_row(arg, r);

	v->solved += r->num[3];
	v->reopened += r->num[4];
	return 0;
}

static int
vol_cmp(const void *x, const void *y)
{
	const struct vol *a = x, *b = y;
	int d;

	if ((d = strcmp(a->day, b->day)) != 0 ||
	    (d = strcmp(a->mailbox, b->mailbox)) != 0)
		return d;
	return strcmp(a->category, b->category);
}

static int
timing_cmp(const void *x, const void *y)
{
	const struct timing *a = x, *b = y;

	if (a->metric != b->metric)
		return a->metric - b->metric;
	if (a->dim != b->dim)
		return a->dim - b->dim;
	return strcmp(a->key, b->key);
}

static void
times_add(struct report *rp, int metric, int dim, const char *key, int64_t n)
{
	for (size_t i = 0; i < rp->ntimes; i++) {
		struct timing *t = &rp->times[i];

		if (t->metric == metric && t->dim == dim &&
		    strcmp(t->key, key) == 0) {
			t->n += n;
			return;
		}
	}
	rp->times = xreallocarray(rp->times, rp->ntimes + 1,
	    sizeof(*rp->times));
	rp->times[rp->ntimes++] = (struct timing){ .metric = metric,
	    .dim = dim, .key = xstrdup(key), .n = n };
}

/* A count of the finest group, added to each of its dimensions. */
static int
on_times_count(const struct store_row *r, void *arg)
{
	struct report *rp = arg;

	for (int m = 0; m < 2; m++) {
		if (!r->num[m])
			continue;
		times_add(rp, m, 0, "", r->num[6]);
		times_add(rp, m, 1, r->text[2], r->num[6]);
		times_add(rp, m, 2, r->text[3], r->num[6]);
		times_add(rp, m, 3, r->text[4 + m], r->num[6]);
	}
	return 0;
}

/*
 * One row of a metric, in order of time: for each group it belongs to
 * (all, its mailbox, category and who), the nearest ranks of the median
 * and p90 pick the row whose time they are; the last row is the max.
 */
static int
on_times_row(const struct store_row *r, void *arg, int metric)
{
	struct report *rp = arg;
	int64_t x = r->num[0];

	for (int d = 0; d < 4; d++) {
		struct timing key = { .metric = metric, .dim = d,
		    .key = (char *)(d ? r->text[d] : "") }, *t;

		t = bsearch(&key, rp->times, rp->ntimes, sizeof(*rp->times),
		    timing_cmp);
		if (t == NULL)
			continue;
		t->seen++;
		if (t->seen == (t->n + 1) / 2)
			t->median = x;
		if (t->seen == (9 * t->n + 9) / 10)
			t->p90 = x;
		t->max = x;
	}
	if (metric == 0)
		rp->hist[x < 3600 ? 0 : x < 14400 ? 1 : x < 28800 ? 2 :
		    x < 86400 ? 3 : x < 259200 ? 4 : 5]++;
	return 0;
}

static int
on_frt_row(const struct store_row *r, void *arg)
{
	return on_times_row(r, arg, 0);
}

static int
on_res_row(const struct store_row *r, void *arg)
{
	return on_times_row(r, arg, 1);
}

/* Agents by name rather than address, once the ranks are found. */
static void
times_finish(struct report *rp)
{
	for (size_t i = 0; i < rp->ntimes; i++) {
		struct timing *t = &rp->times[i];
		const struct conf_agent *ag;

		if (t->dim == 3 &&
		    (ag = conf_agent_by_address(rp->conf, t->key)) != NULL) {
			free(t->key);
			t->key = xstrdup(ag->name);
		}
	}
	if (rp->ntimes > 1)
		qsort(rp->times, rp->ntimes, sizeof(*rp->times), timing_cmp);
}

static int
on_flow(const struct store_row *r, void *arg)
{
	struct report *rp = arg;

	rp->created = r->num[0];
	rp->customers = r->num[1];
	rp->repeat = r->num[2];
	rp->solved = r->num[3];
	rp->reopened = r->num[4];
	rp->followups = r->num[5];
	return 0;
}

static int
on_csat(const struct store_row *r, void *arg)
{
	struct report *rp = arg;
	long long rating;

	if (strcmp(r->text[0], "sent") == 0)
		rp->csat_sent += r->num[2];
	else if (str_to_ll(r->text[1], 1, 5, &rating) == TK_OK) {
		rp->csat_dist[rating - 1] += r->num[2];
		rp->csat_n += r->num[2];
		rp->csat_sum += rating * r->num[2];
	}
	return 0;
}

static int
on_autoreply(const struct store_row *r, void *arg)
{
	struct report *rp = arg;

	if (strcmp(r->text[0], "sent") == 0)
		rp->auto_sent += r->num[2];
	else
		counts_add(&rp->suppressed, r->text[1], r->num[2]);
	return 0;
}

/* Every local day of the period, for the charts (at most a year's). */
static void
period_days(struct report *rp)
{
	time_t t = (time_t)rp->o->since;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return;
	tm.tm_hour = 12;	/* noon: DST never skips a day */
	tm.tm_min = tm.tm_sec = 0;
	for (;;) {
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1 || t - 12 * 3600 >= rp->o->until ||
		    rp->ndays >= 400)
			break;
		rp->days = xreallocarray(rp->days, rp->ndays + 1,
		    sizeof(*rp->days));
		strftime(rp->days[rp->ndays++], sizeof(*rp->days), "%Y-%m-%d",
		    &tm);
		tm.tm_mday++;
	}
}

static void
report_free(struct report *rp)
{
	counts_free(&rp->by_status);
	counts_free(&rp->by_priority);
	counts_free(&rp->by_assignee);
	counts_free(&rp->suppressed);
	free(rp->oldest_subject);
	for (size_t i = 0; i < rp->nvol; i++) {
		free(rp->vol[i].mailbox);
		free(rp->vol[i].category);
	}
	free(rp->vol);
	for (size_t i = 0; i < rp->ntimes; i++)
		free(rp->times[i].key);
	free(rp->times);
	free(rp->days);
	free(rp->sla_secs[0]);
	free(rp->sla_secs[1]);
	for (size_t i = 0; i < rp->nby; i++)
		free(rp->by[i].value);
	free(rp->by);
}

/* ---- small helpers for every format ---- */

/* The totals of a day over mailboxes and categories. */
static void
day_totals(const struct report *rp, const char *day, int64_t out[3])
{
	out[0] = out[1] = out[2] = 0;
	for (size_t i = 0; i < rp->nvol; i++)
		if (strcmp(rp->vol[i].day, day) == 0) {
			out[0] += rp->vol[i].created;
			out[1] += rp->vol[i].solved;
			out[2] += rp->vol[i].reopened;
		}
}

/* "2d 4h", "3h 05m", "12m", "40s". */
static void
span(int64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%lldd %lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, len, "%lldh %02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, len, "%lldm", (long long)(s / 60));
	else
		snprintf(out, len, "%llds", (long long)s);
}

static void
day_of(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
}

/* A ratio, or -1 when the denominator is 0. */
static double
ratio(int64_t a, int64_t b)
{
	return b ? (double)a / (double)b : -1;
}

static const char *
label(const char *key, const char *none)
{
	return key[0] ? key : none;
}

/* ---- JSON ---- */

static void
json_counts(struct json *j, const char *name, const struct counts *c)
{
	json_key(j, name);
	json_obj_open(j);
	for (size_t i = 0; i < c->n; i++) {
		json_key_int(j, c->v[i].key, c->v[i].n);
	}
	json_obj_close(j);
}

static void
json_ratio(struct json *j, const char *name, double v)
{
	json_key(j, name);
	if (v < 0)
		json_null(j);
	else
		json_real(j, v);
}

static void
json_stats(struct json *j, const struct timing *t)
{
	json_obj_open(j);
	json_key_int(j, "n", t->n);
	json_key_int(j, "median", t->median);
	json_key_int(j, "p90", t->p90);
	json_key_int(j, "max", t->max);
	json_obj_close(j);
}

static void
json_times(struct json *j, const struct report *rp, int metric)
{
	static const char *const by[4] = { "all", "by_mailbox", "by_category",
	    "by_agent" };

	json_key(j, metric_name[metric]);
	json_obj_open(j);
	for (int d = 0; d < 4; d++) {
		int any = 0;

		json_key(j, by[d]);
		if (d > 0)
			json_obj_open(j);
		for (size_t i = 0; i < rp->ntimes; i++) {
			const struct timing *t = &rp->times[i];

			if (t->metric != metric || t->dim != d)
				continue;
			if (d > 0)
				json_key(j, t->key);
			json_stats(j, t);
			any = 1;
		}
		if (d == 0 && !any)
			json_null(j);
		if (d > 0)
			json_obj_close(j);
	}
	if (metric == 0) {
		json_key(j, "histogram");
		json_arr_open(j);
		for (int b = 0; b < NBUCKETS; b++) {
			json_obj_open(j);
			json_key_str(j, "bucket", bucket_label[b]);
			json_key_int(j, "count", rp->hist[b]);
			json_obj_close(j);
		}
		json_arr_close(j);
	}
	json_obj_close(j);
}

static void
write_json(const struct report *rp, struct buf *out)
{
	const struct report_opts *o = rp->o;
	struct json j;
	char d[32];

	json_init(&j, out, 1);
	json_obj_open(&j);
	json_key(&j, "period");
	json_obj_open(&j);
	json_key_int(&j, "since", o->since);
	json_key_int(&j, "until", o->until);
	json_key(&j, "mailbox");
	if (o->mailbox)
		json_str(&j, o->mailbox);
	else
		json_null(&j);
	json_obj_close(&j);
	json_key_int(&j, "generated_at", o->now);

	json_key(&j, "backlog");
	json_obj_open(&j);
	json_key_int(&j, "open", rp->open_total);
	json_counts(&j, "by_status", &rp->by_status);
	json_counts(&j, "by_priority", &rp->by_priority);
	json_counts(&j, "by_assignee", &rp->by_assignee);
	json_key(&j, "oldest");
	if (rp->oldest_id) {
		json_obj_open(&j);
		json_key_int(&j, "id", rp->oldest_id);
		json_key_int(&j, "created_at", rp->oldest_at);
		json_key_int(&j, "age", o->now - rp->oldest_at);
		json_key_str(&j, "subject", rp->oldest_subject);
		json_obj_close(&j);
	} else
		json_null(&j);
	json_obj_close(&j);

	json_key(&j, "volume_by_day");
	json_arr_open(&j);
	for (size_t i = 0; i < rp->ndays; i++) {
		int64_t t[3];

		day_totals(rp, rp->days[i], t);
		json_obj_open(&j);
		json_key_str(&j, "day", rp->days[i]);
		json_key_int(&j, "created", t[0]);
		json_key_int(&j, "solved", t[1]);
		json_key_int(&j, "reopened", t[2]);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "volume");
	json_arr_open(&j);
	for (size_t i = 0; i < rp->nvol; i++) {
		const struct vol *v = &rp->vol[i];

		json_obj_open(&j);
		json_key_str(&j, "day", v->day);
		json_key_str(&j, "mailbox", v->mailbox);
		json_key_str(&j, "category", v->category);
		json_key_int(&j, "created", v->created);
		json_key_int(&j, "solved", v->solved);
		json_key_int(&j, "reopened", v->reopened);
		json_obj_close(&j);
	}
	json_arr_close(&j);

	json_times(&j, rp, 0);
	json_times(&j, rp, 1);

	json_key(&j, "reopens");
	json_obj_open(&j);
	json_key_int(&j, "solved", rp->solved);
	json_key_int(&j, "reopened", rp->reopened);
	json_ratio(&j, "rate", ratio(rp->reopened, rp->solved));
	json_key_int(&j, "followups", rp->followups);
	json_obj_close(&j);

	json_key(&j, "customers");
	json_obj_open(&j);
	json_key_int(&j, "tickets", rp->created);
	json_key_int(&j, "customers", rp->customers);
	json_key_int(&j, "repeat_customers", rp->repeat);
	json_ratio(&j, "tickets_per_customer", ratio(rp->created,
	    rp->customers));
	json_obj_close(&j);

	json_key(&j, "csat");
	json_obj_open(&j);
	json_key_int(&j, "sent", rp->csat_sent);
	json_key_int(&j, "answers", rp->csat_n);
	json_ratio(&j, "response_rate", ratio(rp->csat_n, rp->csat_sent));
	json_ratio(&j, "average", ratio(rp->csat_sum, rp->csat_n));
	json_key(&j, "distribution");
	json_obj_open(&j);
	for (int i = 0; i < 5; i++) {
		snprintf(d, sizeof(d), "%d", i + 1);
		json_key_int(&j, d, rp->csat_dist[i]);
	}
	json_obj_close(&j);
	json_obj_close(&j);

	json_key(&j, "autoreplies");
	json_obj_open(&j);
	json_key_int(&j, "sent", rp->auto_sent);
	json_key_int(&j, "suppressed", counts_total(&rp->suppressed));
	json_counts(&j, "suppressed_by_reason", &rp->suppressed);
	json_obj_close(&j);
	json_sla(&j, rp);
	if (o->by_field) {
		json_key(&j, "by_field");
		json_obj_open(&j);
		json_key_str(&j, "field", o->by_field);
		json_key(&j, "values");
		json_arr_open(&j);
		for (size_t i = 0; i < rp->nby; i++) {
			json_obj_open(&j);
			json_key_str(&j, "value", rp->by[i].value);
			json_key_int(&j, "created", rp->by[i].created);
			json_key_int(&j, "solved", rp->by[i].solved);
			json_key_int(&j, "open", rp->by[i].open);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_obj_close(&j);
	buf_addc(out, '\n');
}

/* ---- CSV (RFC 4180) ---- */

/*
 * One cell. A cell a spreadsheet would take for a formula (it starts with
 * =, +, -, @, TAB or CR: a category "=HYPERLINK(...)" an agent typed)
 * is made inert the way OWASP says: a ' before it, the cell quoted.
 */
static void
csv_field(struct buf *out, const char *s)
{
	int formula = *s && strchr("=+-@\t\r", *s) != NULL;

	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		buf_addstr(out, s);
		return;
	}
	buf_addc(out, '"');
	if (formula)
		buf_addc(out, '\'');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(out, '"');
		buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

static void
csv_row(struct buf *out, const char *section, const char *dim,
    const char *key, const char *day, const char *metric, const char *value)
{
	const char *f[] = { section, dim, key, day, metric, value };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (i)
			buf_addc(out, ',');
		csv_field(out, f[i]);
	}
	buf_addstr(out, "\r\n");
}

static void
csv_int(struct buf *out, const char *section, const char *dim,
    const char *key, const char *day, const char *metric, int64_t v)
{
	char n[32];

	snprintf(n, sizeof(n), "%lld", (long long)v);
	csv_row(out, section, dim, key, day, metric, n);
}

static void
csv_ratio(struct buf *out, const char *section, const char *metric, double v)
{
	char n[32] = "";

	if (v >= 0)
		snprintf(n, sizeof(n), "%.4f", v);
	csv_row(out, section, "", "", "", metric, n);
}

static void
csv_counts(struct buf *out, const char *section, const char *dim,
    const char *metric, const struct counts *c)
{
	for (size_t i = 0; i < c->n; i++)
		csv_int(out, section, dim, c->v[i].key, "", metric, c->v[i].n);
}

static void
write_csv(const struct report *rp, struct buf *out)
{
	char k[16];

	buf_addstr(out, "section,dimension,key,day,metric,value\r\n");
	csv_int(out, "backlog", "", "", "", "open", rp->open_total);
	csv_counts(out, "backlog", "status", "open", &rp->by_status);
	csv_counts(out, "backlog", "priority", "open", &rp->by_priority);
	csv_counts(out, "backlog", "assignee", "open", &rp->by_assignee);
	if (rp->oldest_id) {
		csv_int(out, "backlog", "oldest", "", "", "id", rp->oldest_id);
		csv_int(out, "backlog", "oldest", "", "", "age",
		    rp->o->now - rp->oldest_at);
	}
	for (size_t i = 0; i < rp->nvol; i++) {
		const struct vol *v = &rp->vol[i];
		char key[512];

		snprintf(key, sizeof(key), "%s/%s", v->mailbox, v->category);
		csv_int(out, "volume", "mailbox/category", key, v->day,
		    "created", v->created);
		csv_int(out, "volume", "mailbox/category", key, v->day,
		    "solved", v->solved);
		csv_int(out, "volume", "mailbox/category", key, v->day,
		    "reopened", v->reopened);
	}
	for (size_t i = 0; i < rp->ntimes; i++) {
		const struct timing *t = &rp->times[i];
		const char *m = metric_name[t->metric], *d = dim_name[t->dim];

		csv_int(out, m, d, t->key, "", "n", t->n);
		csv_int(out, m, d, t->key, "", "median", t->median);
		csv_int(out, m, d, t->key, "", "p90", t->p90);
		csv_int(out, m, d, t->key, "", "max", t->max);
	}
	for (int b = 0; b < NBUCKETS; b++)
		csv_int(out, "first_response", "histogram", bucket_label[b], "",
		    "count", rp->hist[b]);
	csv_int(out, "reopens", "", "", "", "solved", rp->solved);
	csv_int(out, "reopens", "", "", "", "reopened", rp->reopened);
	csv_ratio(out, "reopens", "rate", ratio(rp->reopened, rp->solved));
	csv_int(out, "reopens", "", "", "", "followups", rp->followups);
	csv_int(out, "customers", "", "", "", "tickets", rp->created);
	csv_int(out, "customers", "", "", "", "customers", rp->customers);
	csv_int(out, "customers", "", "", "", "repeat_customers", rp->repeat);
	csv_ratio(out, "customers", "tickets_per_customer",
	    ratio(rp->created, rp->customers));
	csv_int(out, "csat", "", "", "", "sent", rp->csat_sent);
	csv_int(out, "csat", "", "", "", "answers", rp->csat_n);
	csv_ratio(out, "csat", "response_rate", ratio(rp->csat_n,
	    rp->csat_sent));
	csv_ratio(out, "csat", "average", ratio(rp->csat_sum, rp->csat_n));
	for (int i = 0; i < 5; i++) {
		snprintf(k, sizeof(k), "%d", i + 1);
		csv_int(out, "csat", "rating", k, "", "answers",
		    rp->csat_dist[i]);
	}
	csv_int(out, "autoreplies", "", "", "", "sent", rp->auto_sent);
	csv_int(out, "autoreplies", "", "", "", "suppressed",
	    counts_total(&rp->suppressed));
	csv_counts(out, "autoreplies", "reason", "suppressed", &rp->suppressed);
	csv_sla(out, rp);
	for (size_t i = 0; i < rp->nby; i++) {
		const char *v = rp->by[i].value ? rp->by[i].value : "";

		csv_int(out, "by_field", rp->o->by_field, v, "", "created",
		    rp->by[i].created);
		csv_int(out, "by_field", rp->o->by_field, v, "", "solved",
		    rp->by[i].solved);
		csv_int(out, "by_field", rp->o->by_field, v, "", "open",
		    rp->by[i].open);
	}
}

/* ---- text ---- */

static void
text_times(const struct report *rp, struct buf *out, int metric)
{
	char a[32], b[32], c[32];

	buf_printf(out, "\n%s (tickets created in the period)\n",
	    metric == 0 ? "First response" : "Resolution");
	buf_printf(out, "  %-10s %-32s %6s %10s %10s %10s\n", "by", "",
	    "n", "median", "p90", "max");
	for (size_t i = 0; i < rp->ntimes; i++) {
		const struct timing *t = &rp->times[i];

		if (t->metric != metric)
			continue;
		span(t->median, a, sizeof(a));
		span(t->p90, b, sizeof(b));
		span(t->max, c, sizeof(c));
		buf_printf(out, "  %-10s %-32.32s %6lld %10s %10s %10s\n",
		    dim_name[t->dim], t->dim == 0 ? "" :
		    label(t->key, "(none)"), (long long)t->n, a, b, c);
	}
}

static void
text_counts(struct buf *out, const char *title, const struct counts *c,
    const char *none)
{
	buf_printf(out, "  %s:", title);
	for (size_t i = 0; i < c->n; i++)
		buf_printf(out, "%s %s %lld", i ? "," : "",
		    label(c->v[i].key, none), (long long)c->v[i].n);
	buf_addstr(out, c->n ? "\n" : " none\n");
}

static void
text_rate(struct buf *out, double v)
{
	if (v < 0)
		buf_addstr(out, "-");
	else
		buf_printf(out, "%.1f%%", v * 100);
}

static void
write_text(const struct report *rp, struct buf *out)
{
	const struct report_opts *o = rp->o;
	char s[32], u[32], age[32];

	day_of(o->since, s, sizeof(s));
	day_of(o->until - 1, u, sizeof(u));
	buf_printf(out, "tiketti report %s .. %s%s%s\n", s, u,
	    o->mailbox ? ", mailbox " : "", o->mailbox ? o->mailbox : "");
	buf_printf(out, "\nBacklog now: %lld open\n",
	    (long long)rp->open_total);
	text_counts(out, "by status", &rp->by_status, "(none)");
	text_counts(out, "by priority", &rp->by_priority, "(none)");
	text_counts(out, "by assignee", &rp->by_assignee, "(unassigned)");
	if (rp->oldest_id) {
		span(o->now - rp->oldest_at, age, sizeof(age));
		buf_printf(out, "  oldest: #%lld, %s old: %s\n",
		    (long long)rp->oldest_id, age, rp->oldest_subject);
	}
	buf_printf(out, "\nVolume per day\n  %-10s %8s %8s %8s\n", "day",
	    "created", "solved", "reopened");
	for (size_t i = 0; i < rp->ndays; i++) {
		int64_t t[3];

		day_totals(rp, rp->days[i], t);
		if (t[0] || t[1] || t[2])
			buf_printf(out, "  %-10s %8lld %8lld %8lld\n",
			    rp->days[i], (long long)t[0], (long long)t[1],
			    (long long)t[2]);
	}
	text_times(rp, out, 0);
	text_times(rp, out, 1);
	buf_printf(out, "\nReopens: %lld of %lld solved tickets (",
	    (long long)rp->reopened, (long long)rp->solved);
	text_rate(out, ratio(rp->reopened, rp->solved));
	buf_printf(out, "); %lld follow-ups opened on closed tickets\n",
	    (long long)rp->followups);
	buf_printf(out, "Customers: %lld tickets from %lld customers, "
	    "%lld of them more than once\n", (long long)rp->created,
	    (long long)rp->customers, (long long)rp->repeat);
	buf_printf(out, "\nCSAT: %lld surveys sent, %lld answers (",
	    (long long)rp->csat_sent, (long long)rp->csat_n);
	text_rate(out, ratio(rp->csat_n, rp->csat_sent));
	if (rp->csat_n)
		buf_printf(out, "), average %.2f\n  ",
		    ratio(rp->csat_sum, rp->csat_n));
	else
		buf_addstr(out, ")\n  ");
	for (int i = 0; i < 5; i++)
		buf_printf(out, "%s%d: %lld", i ? ", " : "", i + 1,
		    (long long)rp->csat_dist[i]);
	buf_printf(out, "\n\nAutoreplies: %lld sent, %lld suppressed\n",
	    (long long)rp->auto_sent, (long long)counts_total(&rp->suppressed));
	if (rp->suppressed.n)
		text_counts(out, "suppressed", &rp->suppressed, "(none)");
	text_sla(out, rp);
	if (o->by_field) {
		buf_printf(out, "\nBy field %s (tickets created in the period)\n"
		    "  %-32s %8s %8s %8s\n", o->by_field, "value", "created",
		    "solved", "open");
		for (size_t i = 0; i < rp->nby; i++)
			buf_printf(out, "  %-32.32s %8lld %8lld %8lld\n",
			    label(rp->by[i].value ? rp->by[i].value : "",
			    "(none)"), (long long)rp->by[i].created,
			    (long long)rp->by[i].solved,
			    (long long)rp->by[i].open);
	}
}

/* ---- HTML ---- */

static void
html_str(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_addstr(out, "&lt;"); break;
		case '>': buf_addstr(out, "&gt;"); break;
		case '&': buf_addstr(out, "&amp;"); break;
		case '"': buf_addstr(out, "&quot;"); break;
		case '\'': buf_addstr(out, "&#39;"); break;
		default: buf_addc(out, *s);
		}
	}
}

struct series {
	const char	*name;
	const char	*color;
	const int64_t	*v;
};

/*
 * A bar chart: one group of bars per label, one bar per series, a scale
 * of four lines and a legend when there is more than one series.
 */
static void
svg_bars(struct buf *out, const char *id, const char *title,
    const char *const *labels, size_t n, const struct series *s, size_t ns)
{
	const int W = 760, H = 260, L = 48, R = 12, T = 28, B = 44;
	double gw, bw;
	int64_t max = 1;
	size_t every;

	for (size_t k = 0; k < ns; k++)
		for (size_t i = 0; i < n; i++)
			if (s[k].v[i] > max)
				max = s[k].v[i];
	max = (max + 3) / 4 * 4;	/* whole numbers on the four lines */
	gw = n ? (double)(W - L - R) / (double)n : 0;
	bw = gw * 0.8 / (double)(ns ? ns : 1);
	every = n > 16 ? (n + 15) / 16 : 1;
	buf_printf(out, "<svg id=\"%s\" class=\"chart\" role=\"img\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\"><title>", id, W, H, W, H);
	html_str(out, title);
	buf_printf(out, "</title><text x=\"%d\" y=\"18\" class=\"ct\">", L);
	html_str(out, title);
	buf_addstr(out, "</text>");
	for (int g = 0; g <= 4; g++) {
		double y = T + (H - T - B) * (1 - g / 4.0);

		buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
		    "y2=\"%.1f\" class=\"grid\"/><text x=\"%d\" y=\"%.1f\" "
		    "class=\"ax\" text-anchor=\"end\">%lld</text>", L, W - R, y,
		    y, L - 6, y + 4, (long long)(max / 4 * g));
	}
	for (size_t i = 0; i < n; i++) {
		double x0 = L + gw * (double)i + gw * 0.1;

		for (size_t k = 0; k < ns; k++) {
			double h = (double)(H - T - B) * (double)s[k].v[i] /
			    (double)max;

			buf_printf(out, "<rect class=\"bar\" x=\"%.1f\" "
			    "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"><title>", x0 + bw * (double)k,
			    (double)(H - B) - h, bw > 1 ? bw - 1 : bw, h,
			    s[k].color);
			html_str(out, labels[i]);
			buf_printf(out, " %s: %lld</title></rect>", s[k].name,
			    (long long)s[k].v[i]);
		}
		if (i % every == 0) {
			buf_printf(out, "<text x=\"%.1f\" y=\"%d\" class=\"ax\" "
			    "text-anchor=\"middle\">", x0 + gw * 0.4, H - B + 16);
			html_str(out, labels[i]);
			buf_addstr(out, "</text>");
		}
	}
	for (size_t k = 0; ns > 1 && k < ns; k++) {
		int x = W - R - 110 * (int)(ns - k);

		buf_printf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" "
		    "height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" "
		    "class=\"ax\">%s</text>", x, H - 18, s[k].color, x + 14,
		    H - 9, s[k].name);
	}
	buf_addstr(out, "</svg>\n");
}

static void
html_counts_table(struct buf *out, const char *id, const char *caption,
    const char *head, const struct counts *c, const char *none)
{
	buf_printf(out, "<table id=\"%s\"><caption>%s</caption><tr><th>%s"
	    "</th><th>tickets</th></tr>", id, caption, head);
	for (size_t i = 0; i < c->n; i++) {
		buf_addstr(out, "<tr><td>");
		html_str(out, label(c->v[i].key, none));
		buf_printf(out, "</td><td class=\"n\">%lld</td></tr>",
		    (long long)c->v[i].n);
	}
	buf_addstr(out, "</table>\n");
}

static void
html_times_table(const struct report *rp, struct buf *out, int metric)
{
	char a[32], b[32], c[32];

	buf_printf(out, "<table id=\"table-%s\"><caption>%s (tickets "
	    "created in the period)</caption><tr><th>by</th><th></th>"
	    "<th>n</th><th>median</th><th>p90</th><th>max</th></tr>",
	    metric_name[metric], metric == 0 ? "First response" :
	    "Resolution");
	for (size_t i = 0; i < rp->ntimes; i++) {
		const struct timing *t = &rp->times[i];

		if (t->metric != metric)
			continue;
		span(t->median, a, sizeof(a));
		span(t->p90, b, sizeof(b));
		span(t->max, c, sizeof(c));
		buf_printf(out, "<tr><td>%s</td><td>", dim_name[t->dim]);
		if (t->dim)
			html_str(out, label(t->key, "(none)"));
		buf_printf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">"
		    "%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		    "</tr>", (long long)t->n, a, b, c);
	}
	buf_addstr(out, "</table>\n");
}

static void
html_kv(struct buf *out, const char *k, const char *v)
{
	buf_printf(out, "<tr><th>%s</th><td class=\"n\">%s</td></tr>", k, v);
}

static void
html_kv_int(struct buf *out, const char *k, int64_t v)
{
	char n[32];

	snprintf(n, sizeof(n), "%lld", (long long)v);
	html_kv(out, k, n);
}

static void
html_kv_rate(struct buf *out, const char *k, double v, int percent)
{
	char n[32] = "-";

	if (v >= 0 && percent)
		snprintf(n, sizeof(n), "%.1f%%", v * 100);
	else if (v >= 0)
		snprintf(n, sizeof(n), "%.2f", v);
	html_kv(out, k, n);
}

static void
write_html(const struct report *rp, struct buf *out)
{
	const struct report_opts *o = rp->o;
	const char **labels;
	int64_t *v, *v2, *v3;
	size_t nmax;
	char s[32], u[32], age[32];

	nmax = rp->ndays;
	if (nmax < NBUCKETS)
		nmax = NBUCKETS;
	if (nmax < rp->by_status.n)
		nmax = rp->by_status.n;
	labels = xcalloc(nmax + 1, sizeof(*labels));
	v = xcalloc(nmax + 1, sizeof(*v));
	v2 = xcalloc(nmax + 1, sizeof(*v2));
	v3 = xcalloc(nmax + 1, sizeof(*v3));
	day_of(o->since, s, sizeof(s));
	day_of(o->until - 1, u, sizeof(u));
	buf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>tiketti report</title><style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;"
	    "max-width:820px}\n"
	    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;"
	    "margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
	    "table{border-collapse:collapse;margin:8px 0 16px;min-width:360px}"
	    "\ncaption{text-align:left;font-weight:600;padding:4px 0}\n"
	    "th,td{padding:3px 10px;border-bottom:1px solid #eee;"
	    "text-align:left}\ntd.n{text-align:right;"
	    "font-variant-numeric:tabular-nums}\n"
	    ".chart{display:block;margin:8px 0;max-width:100%;height:auto}\n"
	    ".chart .grid{stroke:#e4e4e4}.chart .ax{font-size:11px;"
	    "fill:#555}.chart .ct{font-size:13px;font-weight:600;fill:#222}\n"
	    ".muted{color:#777}\n</style></head><body>\n<h1>tiketti report</h1>"
	    "<p class=\"muted\">");
	buf_printf(out, "%s &ndash; %s", s, u);
	if (o->mailbox) {
		buf_addstr(out, ", mailbox ");
		html_str(out, o->mailbox);
	}
	buf_addstr(out, "</p>\n");

	/* Backlog */
	buf_printf(out, "<h2>Backlog now: %lld open</h2>\n",
	    (long long)rp->open_total);
	for (size_t i = 0; i < rp->by_status.n; i++) {
		labels[i] = rp->by_status.v[i].key;
		v[i] = rp->by_status.v[i].n;
	}
	svg_bars(out, "chart-backlog", "Open tickets by status", labels,
	    rp->by_status.n, (struct series[]){ { "open", "#4e79a7", v } }, 1);
	html_counts_table(out, "table-backlog-status", "By status", "status",
	    &rp->by_status, "(none)");
	html_counts_table(out, "table-backlog-priority", "By priority",
	    "priority", &rp->by_priority, "(none)");
	html_counts_table(out, "table-backlog-assignee", "By assignee",
	    "assignee", &rp->by_assignee, "(unassigned)");
	if (rp->oldest_id) {
		span(o->now - rp->oldest_at, age, sizeof(age));
		buf_printf(out, "<p id=\"oldest\">Oldest open ticket: #%lld, "
		    "%s old: ", (long long)rp->oldest_id, age);
		html_str(out, rp->oldest_subject);
		buf_addstr(out, "</p>\n");
	}

	/* Volume */
	buf_addstr(out, "<h2>Volume</h2>\n");
	for (size_t i = 0; i < rp->ndays; i++) {
		int64_t t[3];

		day_totals(rp, rp->days[i], t);
		labels[i] = rp->days[i] + 5;	/* MM-DD */
		v[i] = t[0];
		v2[i] = t[1];
		v3[i] = t[2];
	}
	svg_bars(out, "chart-volume", "Tickets per day", labels, rp->ndays,
	    (struct series[]){ { "created", "#4e79a7", v },
	    { "solved", "#59a14f", v2 }, { "reopened", "#e15759", v3 } }, 3);
	buf_addstr(out, "<table id=\"table-volume\"><caption>Per day, mailbox "
	    "and category</caption><tr><th>day</th><th>mailbox</th>"
	    "<th>category</th><th>created</th><th>solved</th>"
	    "<th>reopened</th></tr>");
	for (size_t i = 0; i < rp->nvol; i++) {
		const struct vol *vl = &rp->vol[i];

		buf_printf(out, "<tr><td>%s</td><td>", vl->day);
		html_str(out, label(vl->mailbox, "(none)"));
		buf_addstr(out, "</td><td>");
		html_str(out, label(vl->category, "(none)"));
		buf_printf(out, "</td><td class=\"n\">%lld</td><td class=\"n\">"
		    "%lld</td><td class=\"n\">%lld</td></tr>",
		    (long long)vl->created, (long long)vl->solved,
		    (long long)vl->reopened);
	}
	buf_addstr(out, "</table>\n");

	/* Response times */
	buf_addstr(out, "<h2>Response times</h2>\n");
	for (int b = 0; b < NBUCKETS; b++) {
		labels[b] = bucket_label[b];
		v[b] = rp->hist[b];
	}
	svg_bars(out, "chart-response", "First response time", labels,
	    NBUCKETS, (struct series[]){ { "tickets", "#f28e2b", v } }, 1);
	html_times_table(rp, out, 0);
	html_times_table(rp, out, 1);

	/* Reopens and customers */
	buf_addstr(out, "<h2>Reopens and repeat contacts</h2>\n"
	    "<table id=\"table-reopens\">");
	html_kv_int(out, "solved", rp->solved);
	html_kv_int(out, "reopened", rp->reopened);
	html_kv_rate(out, "reopen rate", ratio(rp->reopened, rp->solved), 1);
	html_kv_int(out, "follow-ups on closed tickets", rp->followups);
	html_kv_int(out, "tickets created", rp->created);
	html_kv_int(out, "customers", rp->customers);
	html_kv_int(out, "customers with more than one", rp->repeat);
	html_kv_rate(out, "tickets per customer", ratio(rp->created,
	    rp->customers), 0);
	buf_addstr(out, "</table>\n");

	/* CSAT */
	buf_addstr(out, "<h2>Customer satisfaction</h2>\n");
	for (int i = 0; i < 5; i++) {
		static const char *const r[5] = { "1", "2", "3", "4", "5" };

		labels[i] = r[i];
		v[i] = rp->csat_dist[i];
	}
	svg_bars(out, "chart-csat", "Survey answers by rating", labels, 5,
	    (struct series[]){ { "answers", "#76b7b2", v } }, 1);
	buf_addstr(out, "<table id=\"table-csat\">");
	html_kv_int(out, "surveys sent", rp->csat_sent);
	html_kv_int(out, "answers", rp->csat_n);
	html_kv_rate(out, "response rate", ratio(rp->csat_n, rp->csat_sent),
	    1);
	html_kv_rate(out, "average (1-5)", ratio(rp->csat_sum, rp->csat_n), 0);
	buf_addstr(out, "</table>\n");

	/* Autoreplies */
	buf_addstr(out, "<h2>Autoreplies</h2>\n<table id=\"table-autoreplies\">");
	html_kv_int(out, "sent", rp->auto_sent);
	html_kv_int(out, "suppressed", counts_total(&rp->suppressed));
	for (size_t i = 0; i < rp->suppressed.n; i++) {
		buf_addstr(out, "<tr><th>&nbsp;&nbsp;");
		html_str(out, rp->suppressed.v[i].key);
		buf_printf(out, "</th><td class=\"n\">%lld</td></tr>",
		    (long long)rp->suppressed.v[i].n);
	}
	buf_addstr(out, "</table>\n");
	html_sla(out, rp);
	if (o->by_field) {
		buf_addstr(out, "<h2>By field ");
		html_str(out, o->by_field);
		buf_addstr(out, "</h2>\n<table id=\"table-by-field\"><tr><th>"
		    "value</th><th>created</th><th>solved</th><th>open</th>"
		    "</tr>");
		for (size_t i = 0; i < rp->nby; i++) {
			buf_addstr(out, "<tr><th>");
			html_str(out, rp->by[i].value ? rp->by[i].value :
			    "(none)");
			buf_printf(out, "</th><td class=\"n\">%lld</td><td "
			    "class=\"n\">%lld</td><td class=\"n\">%lld</td>"
			    "</tr>", (long long)rp->by[i].created,
			    (long long)rp->by[i].solved,
			    (long long)rp->by[i].open);
		}
		buf_addstr(out, "</table>\n");
	}
	buf_addstr(out, "</body></html>\n");
	free(labels);
	free(v);
	free(v2);
	free(v3);
}

/* ---- service promises ---- */

static int
on_clocks(int64_t ticket, const struct sla_policy *p,
    const struct sla_clock *c, size_t n, void *arg)
{
	struct report *rp = arg;

	(void)ticket;
	(void)p;
	for (size_t i = 0; i < n; i++) {
		enum sla_target t = c[i].target;
		int m = t == SLA_FIRST ? 0 : t == SLA_RESOLUTION ? 1 : -1;

		if (c[i].breached)
			rp->sla_breached[t]++;
		else if (c[i].stopped)
			rp->sla_met[t]++;
		else
			rp->sla_running[t]++;
		if (m >= 0 && c[i].stopped) {
			rp->sla_secs[m] = xreallocarray(rp->sla_secs[m],
			    rp->sla_n[m] + 1, sizeof(int64_t));
			rp->sla_secs[m][rp->sla_n[m]++] = c[i].elapsed;
		}
	}
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest rank of q percent (as the response times above). */
static int64_t
rank(const int64_t *v, size_t n, int q)
{
	size_t k = (q * n + 99) / 100;

	return n == 0 ? 0 : v[k ? k - 1 : 0];
}

static void
sla_stats(const struct report *rp, int m, struct timing *t)
{
	memset(t, 0, sizeof(*t));
	t->n = (int64_t)rp->sla_n[m];
	t->median = rank(rp->sla_secs[m], rp->sla_n[m], 50);
	t->p90 = rank(rp->sla_secs[m], rp->sla_n[m], 90);
	t->max = rp->sla_n[m] ? rp->sla_secs[m][rp->sla_n[m] - 1] : 0;
}

/* The breached share of the clocks that ended or broke; -1: none. */
static double
breach_rate(const struct report *rp, int t)
{
	return ratio(rp->sla_breached[t], rp->sla_breached[t] + rp->sla_met[t]);
}

static enum tk_status
sla_read(struct report *rp, struct store *s)
{
	const struct report_opts *o = rp->o;
	enum tk_status ts;

	if (!sla_active(o->sla) && !sla_active(o->replay))
		return TK_OK;
	rp->sla_on = 1;
	ts = clocks_each(s, o->sla, o->replay, STORE_STEPS_CREATED, o->since,
	    o->until, o->mailbox, o->now, on_clocks, rp);
	for (int m = 0; m < 2; m++)
		if (rp->sla_n[m] > 1)
			qsort(rp->sla_secs[m], rp->sla_n[m], sizeof(int64_t),
			    cmp_i64);
	return ts;
}

static void
json_sla(struct json *j, const struct report *rp)
{
	struct timing t;

	json_key(j, "sla");
	if (!rp->sla_on) {
		json_null(j);
		return;
	}
	json_obj_open(j);
	json_key(j, "replay");
	json_str(j, rp->o->replay_file);
	json_key(j, "targets");
	json_obj_open(j);
	for (int i = 0; i < SLA__N; i++) {
		json_key(j, sla_target_name(i));
		json_obj_open(j);
		json_key_int(j, "met", rp->sla_met[i]);
		json_key_int(j, "breached", rp->sla_breached[i]);
		json_key_int(j, "running", rp->sla_running[i]);
		json_ratio(j, "breach_rate", breach_rate(rp, i));
		json_obj_close(j);
	}
	json_obj_close(j);
	for (int m = 0; m < 2; m++) {
		json_key(j, m == 0 ? "business_first_response" :
		    "business_resolution");
		sla_stats(rp, m, &t);
		json_stats(j, &t);
	}
	json_obj_close(j);
}

static void
csv_sla(struct buf *out, const struct report *rp)
{
	struct timing t;

	if (!rp->sla_on)
		return;
	for (int i = 0; i < SLA__N; i++) {
		const char *k = sla_target_name(i);
		char n[32] = "";
		double r = breach_rate(rp, i);

		csv_int(out, "sla", "target", k, "", "met", rp->sla_met[i]);
		csv_int(out, "sla", "target", k, "", "breached",
		    rp->sla_breached[i]);
		csv_int(out, "sla", "target", k, "", "running",
		    rp->sla_running[i]);
		if (r >= 0)
			snprintf(n, sizeof(n), "%.4f", r);
		csv_row(out, "sla", "target", k, "", "breach_rate", n);
	}
	for (int m = 0; m < 2; m++) {
		const char *k = m == 0 ? "first_response" : "resolution";

		sla_stats(rp, m, &t);
		csv_int(out, "sla", "business_time", k, "", "n", t.n);
		csv_int(out, "sla", "business_time", k, "", "median", t.median);
		csv_int(out, "sla", "business_time", k, "", "p90", t.p90);
		csv_int(out, "sla", "business_time", k, "", "max", t.max);
	}
}

static void
text_sla(struct buf *out, const struct report *rp)
{
	struct timing t;
	char a[32], b[32];

	if (!rp->sla_on)
		return;
	buf_printf(out, "\nService promises (tickets created in the period)%s%s"
	    "\n  %-16s %8s %8s %8s  %s\n", rp->o->replay_file ?
	    ", replayed under " : "", rp->o->replay_file ?
	    rp->o->replay_file : "", "target", "met", "breached", "running",
	    "breach rate");
	for (int i = 0; i < SLA__N; i++) {
		buf_printf(out, "  %-16s %8lld %8lld %8lld  ", sla_target_name(i),
		    (long long)rp->sla_met[i], (long long)rp->sla_breached[i],
		    (long long)rp->sla_running[i]);
		text_rate(out, breach_rate(rp, i));
		buf_addc(out, '\n');
	}
	buf_printf(out, "  in business time %-8s %6s %10s %10s\n", "", "n",
	    "median", "p90");
	for (int m = 0; m < 2; m++) {
		sla_stats(rp, m, &t);
		span(t.median, a, sizeof(a));
		span(t.p90, b, sizeof(b));
		buf_printf(out, "  %-25s %6lld %10s %10s\n", m == 0 ?
		    "to first response" : "to resolution", (long long)t.n, a, b);
	}
}

static void
html_sla(struct buf *out, const struct report *rp)
{
	struct timing t;
	char a[32];

	if (!rp->sla_on)
		return;
	buf_addstr(out, "<h2>Service promises</h2>\n");
	if (rp->o->replay_file) {
		buf_addstr(out, "<p>Replayed under ");
		html_str(out, rp->o->replay_file);
		buf_addstr(out, "</p>\n");
	}
	buf_addstr(out, "<table id=\"table-sla\"><tr><th>target</th>"
	    "<th>met</th><th>breached</th><th>running</th>"
	    "<th>breach rate</th></tr>");
	for (int i = 0; i < SLA__N; i++) {
		double r = breach_rate(rp, i);

		buf_printf(out, "<tr><th>%s</th><td class=\"n\">%lld</td>"
		    "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
		    "<td class=\"n\">", sla_target_name(i),
		    (long long)rp->sla_met[i], (long long)rp->sla_breached[i],
		    (long long)rp->sla_running[i]);
		if (r >= 0)
			buf_printf(out, "%.1f%%", r * 100);
		else
			buf_addstr(out, "-");
		buf_addstr(out, "</td></tr>");
	}
	buf_addstr(out, "</table>\n<table id=\"table-sla-times\"><tr><th>in "
	    "business time</th><th>n</th><th>median</th><th>p90</th></tr>");
	for (int m = 0; m < 2; m++) {
		sla_stats(rp, m, &t);
		buf_printf(out, "<tr><th>%s</th><td class=\"n\">%lld</td>",
		    m == 0 ? "to first response" : "to resolution",
		    (long long)t.n);
		span(t.median, a, sizeof(a));
		buf_printf(out, "<td class=\"n\">%s</td>", a);
		span(t.p90, a, sizeof(a));
		buf_printf(out, "<td class=\"n\">%s</td></tr>", a);
	}
	buf_addstr(out, "</table>\n");
}

struct step {
	enum store_report_q	 q;
	int			(*fn)(const struct store_row *, void *);
};

/* The response times read one temporary table in three steps... */
static const struct step times_steps[] = {
	{ STORE_REP_TIMES_FILL, NULL },
	{ STORE_REP_TIMES_COUNT, on_times_count },
	{ STORE_REP_FRT_ROWS, on_frt_row },
	{ STORE_REP_RES_ROWS, on_res_row },
};
/* ...while a second connection does the rest (different fields). */
static const struct step other_steps[] = {
	{ STORE_REP_BACKLOG, on_backlog },
	{ STORE_REP_OLDEST, on_oldest },
	{ STORE_REP_CREATED, on_created },
	{ STORE_REP_STATUS, on_status },
	{ STORE_REP_FLOW, on_flow },
	{ STORE_REP_CSAT, on_csat },
	{ STORE_REP_AUTOREPLY, on_autoreply },
	{ STORE_REP_BY_FIELD, on_by_field },
};

struct chain {
	struct report		*rp;
	struct store		*s;
	const struct step	*steps;
	size_t			 n;
	enum tk_status		 ts;
	char			 err[512];
};

static void *
chain_run(void *arg)
{
	struct chain *ch = arg;
	struct report *rp = ch->rp;
	const struct report_opts *o = rp->o;

	for (size_t i = 0; i < ch->n && ch->ts == TK_OK; i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ch->steps[i].q == STORE_REP_BY_FIELD && o->by_field == NULL)
			continue;
		if ((ch->ts = store_report(ch->s, ch->steps[i].q, o->since,
		    o->until, o->mailbox, o->by_field, ch->steps[i].fn,
		    rp)) != TK_OK) {
			snprintf(ch->err, sizeof(ch->err), "%s",
			    store_errmsg(ch->s));
			break;
		}
		/* The groups in bsearch order before their rows come. */
		if (ch->steps[i].q == STORE_REP_TIMES_COUNT && rp->ntimes > 1)
			qsort(rp->times, rp->ntimes, sizeof(*rp->times),
			    timing_cmp);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_debug("report: query %d in %.3f s", (int)ch->steps[i].q,
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	return NULL;
}

enum tk_status
report_write(const struct tk_conf *c, struct store *s,
    const struct report_opts *o, struct buf *out, char *err, size_t errlen)
{
	struct report rp = { .conf = c, .o = o };
	struct chain times = { .rp = &rp, .steps = times_steps,
	    .n = sizeof(times_steps) / sizeof(times_steps[0]) };
	struct chain other = { .rp = &rp, .s = s, .steps = other_steps,
	    .n = sizeof(other_steps) / sizeof(other_steps[0]) };
	struct store *s2 = NULL;
	pthread_t tid;
	int threaded = 0;

	/* Two connections, two cores; one when a second will not open. */
	if (store_open(store_path(s), c->busy_timeout, STORE_READONLY, &s2) ==
	    TK_OK) {
		times.s = s2;
		threaded = pthread_create(&tid, NULL, chain_run, &times) == 0;
	} else
		log_debug("report: one connection: %s", store_errmsg(s2));
	if (!threaded)
		times.s = s;
	chain_run(&other);
	if (threaded)
		pthread_join(tid, NULL);
	else if (other.ts == TK_OK)
		chain_run(&times);
	store_close(s2);
	if (other.ts != TK_OK || times.ts != TK_OK) {
		snprintf(err, errlen, "%s", other.ts != TK_OK ? other.err :
		    times.err);
		report_free(&rp);
		return other.ts != TK_OK ? other.ts : times.ts;
	}
	counts_sort(&rp.by_status);
	counts_sort(&rp.by_priority);
	counts_sort(&rp.by_assignee);
	counts_sort(&rp.suppressed);
	if (rp.nvol > 1)
		qsort(rp.vol, rp.nvol, sizeof(*rp.vol), vol_cmp);
	times_finish(&rp);
	period_days(&rp);
	if (sla_read(&rp, s) != TK_OK) {
		snprintf(err, errlen, "%s", store_errmsg(s));
		report_free(&rp);
		return TK_EIO;
	}
	switch (o->format) {
	case REPORT_JSON:
		write_json(&rp, out);
		break;
	case REPORT_CSV:
		write_csv(&rp, out);
		break;
	case REPORT_HTML:
		write_html(&rp, out);
		break;
	default:
		write_text(&rp, out);
	}
	report_free(&rp);
	return TK_OK;
}
