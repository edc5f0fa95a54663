/*
 * NAME
 *	sla.c — service promises: a ticket's clocks from its timeline.
 * DESCRIPTION
 *	sla_compute() walks a ticket's steps in order (created, customer
 *	mail, answers, status changes) and runs a clock per target of the
 *	policy in force: a clock counts business seconds of its calendar
 *	over the segments it runs, pauses while pending (next-response,
 *	resolution) and stops at an answer or a solve. Each segment knows
 *	its due time (calendar_add of what is left), so the moment a clock
 *	passed its warning or its due time is exact however late anyone
 *	looks. Nothing is stored: the store's events are the truth.
 */
#include <stdlib.h>
#include <string.h>

#include "tiketti/sla.h"
#include "tiketti/str.h"

static const char *const target_names[SLA__N] = {
	"first-response", "next-response", "resolution",
};

struct sla {
	const struct sla_policy	*pol;
	size_t			 npol;
	struct calendar		**cal;	/* one per policy (shared by name) */
	struct calendar		*always;
	const char		*dflt;
};

const char *
sla_target_name(enum sla_target t)
{
	return t < SLA__N ? target_names[t] : "?";
}

int
sla_target_parse(const char *s)
{
	for (int i = 0; i < SLA__N; i++)
		if (strcmp(s, target_names[i]) == 0)
			return i;
	return -1;
}

enum tk_status
sla_new(const struct sla_policy *policies, size_t n, const char *dir,
    const char *dflt, struct sla **out, struct buf *err)
{
	struct sla *s = xcalloc(1, sizeof(*s));
	int bad = 0;

	s->pol = policies;
	s->npol = n;
	s->dflt = dflt;
	s->always = calendar_always();
	s->cal = xcalloc(n ? n : 1, sizeof(*s->cal));
	for (size_t i = 0; i < n; i++) {
		const struct sla_policy *p = &policies[i];
		char *path;

		if (p->calendar == NULL) {
			s->cal[i] = s->always;
			continue;
		}
		for (size_t k = 0; k < i && s->cal[i] == NULL; k++)
			if (policies[k].calendar && strcmp(policies[k].calendar,
			    p->calendar) == 0)
				s->cal[i] = s->cal[k];
		if (s->cal[i] != NULL)
			continue;
		path = xasprintf("%s/%s.cal", dir, p->calendar);
		if (calendar_load(path, &s->cal[i], err) != TK_OK) {
			buf_printf(err, "%s:%d:%d: policy \"%s\": calendar "
			    "\"%s\" does not load\n", p->file, p->line, p->col,
			    p->name, p->calendar);
			bad = 1;
			s->cal[i] = s->always;	/* freed once, below */
		}
		free(path);
	}
	if (dflt != NULL && sla_policy_find(s, dflt) == NULL) {
		buf_printf(err, "sla_policy: no policy \"%s\" in the rule "
		    "files\n", dflt);
		bad = 1;
	}
	if (bad) {
		sla_free(s);
		*out = NULL;
		return TK_EPARSE;
	}
	*out = s;
	return TK_OK;
}

void
sla_free(struct sla *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->npol; i++) {
		int shared = s->cal[i] == s->always;

		for (size_t k = 0; k < i && !shared; k++)
			shared = s->cal[k] == s->cal[i];
		if (!shared)
			calendar_free(s->cal[i]);
	}
	calendar_free(s->always);
	free(s->cal);
	free(s);
}

int
sla_active(const struct sla *s)
{
	return s != NULL && s->npol > 0;
}

const struct sla_policy *
sla_policy_find(const struct sla *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->npol; i++)
		if (strcmp(s->pol[i].name, name) == 0)
			return &s->pol[i];
	return NULL;
}

struct calendar *
sla_calendar(const struct sla *s, const struct sla_policy *p)
{
	for (size_t i = 0; i < s->npol; i++)
		if (&s->pol[i] == p)
			return s->cal[i];
	return s->always;
}

/* ---- the clocks ---- */

struct run {
	struct calendar	*cal;
	int64_t		 target, warn;	/* business seconds */
	struct sla_clock c;
	int		 on;		/* a segment runs */
	int64_t		 seg;		/* since */
};

static void
seg_begin(struct run *r, int64_t t)
{
	if (r->on || r->c.stopped)
		return;
	r->on = 1;
	r->c.paused = 0;
	r->seg = t;
	r->c.due = calendar_add(r->cal, t, r->target - r->c.elapsed);
}

/* Ends the segment at t, noting the warning and due times it passed. */
static void
seg_end(struct run *r, int64_t t)
{
	if (!r->on)
		return;
	if (r->warn > 0 && !r->c.warned && r->c.elapsed < r->warn) {
		int64_t w = calendar_add(r->cal, r->seg, r->warn - r->c.elapsed);

		if (w < t)
			r->c.warned = w;
	}
	if (!r->c.breached && r->c.due < t)
		r->c.breached = r->c.due;
	r->c.elapsed += calendar_between(r->cal, r->seg, t);
	r->on = 0;
}

static void
pause_at(struct run *r, int64_t t)
{
	if (r->c.stopped || !r->on)
		return;
	seg_end(r, t);
	r->c.paused = 1;
	r->c.due = 0;
}

static void
stop_at(struct run *r, int64_t t)
{
	if (r->c.stopped)
		return;
	seg_end(r, t);
	r->c.paused = 0;
	r->c.stopped = t;
}

struct clocks {
	struct sla_clock	*v;
	size_t			 n;
};

static void
emit(struct clocks *cs, struct run *r, int64_t now)
{
	if (r->on)
		seg_end(r, now);
	cs->v = xreallocarray(cs->v, cs->n + 1, sizeof(*cs->v));
	cs->v[cs->n++] = r->c;
}

static void
run_init(struct run *r, const struct sla_policy *p, struct calendar *cal,
    enum sla_target t, int64_t at)
{
	memset(r, 0, sizeof(*r));
	r->cal = cal;
	r->target = p->target[t];
	r->warn = p->warn > 0 ? p->target[t] * p->warn / 100 : 0;
	r->c.target = t;
	r->c.start = at;
	r->c.paused = 1;	/* until a segment begins */
}

static int
done_status(const char *st)
{
	return strcmp(st, "solved") == 0 || strcmp(st, "closed") == 0;
}

void
sla_compute(const struct sla *s, const struct sla *override,
    const struct sla_step *steps, size_t n, int64_t now,
    const struct sla_policy **policy, struct sla_clock **clocks,
    size_t *nclocks)
{
	const struct sla *set = override ? override : s;
	const struct sla_policy *p = NULL;
	const char *name = s ? s->dflt : NULL, *status = "new";
	struct run first, next, res;
	int has_first = 0, has_next = 0, has_res = 0, answered = 0;
	int64_t waiting = 0;	/* the first unanswered customer mail */
	struct clocks cs = { NULL, 0 };
	struct calendar *cal;

	*clocks = NULL;
	*nclocks = 0;
	for (size_t i = 0; i < n; i++)
		if (steps[i].kind == SLA_POLICY && steps[i].value)
			name = steps[i].value;
	if (set != NULL && name != NULL) {
		p = sla_policy_find(set, name);
		if (p == NULL && override != NULL && override->npol > 0)
			p = &override->pol[0];
	} else if (override != NULL && override->npol > 0)
		p = &override->pol[0];
	*policy = p;
	if (p == NULL || n == 0)
		return;
	cal = sla_calendar(set, p);
	for (size_t i = 0; i < n; i++) {
		const struct sla_step *st = &steps[i];

		switch (st->kind) {
		case SLA_CREATED:
			if (has_first || has_res)
				break;
			if (p->target[SLA_FIRST]) {
				run_init(&first, p, cal, SLA_FIRST, st->at);
				seg_begin(&first, st->at);
				has_first = 1;
			}
			if (p->target[SLA_RESOLUTION]) {
				run_init(&res, p, cal, SLA_RESOLUTION, st->at);
				seg_begin(&res, st->at);
				has_res = 1;
			}
			break;
		case SLA_CUSTOMER:
			if (!answered || waiting)
				break;
			waiting = st->at;
			if (done_status(status) || !p->target[SLA_NEXT])
				break;
			if (has_next)
				emit(&cs, &next, now);
			run_init(&next, p, cal, SLA_NEXT, st->at);
			has_next = 1;
			if (strcmp(status, "pending") != 0)
				seg_begin(&next, st->at);
			break;
		case SLA_ANSWER:
			answered = 1;
			waiting = 0;
			if (has_first)
				stop_at(&first, st->at);
			if (has_next)
				stop_at(&next, st->at);
			break;
		case SLA_STATUS: {
			const char *v = st->value ? st->value : "";
			int reopen = done_status(status) && !done_status(v);

			status = v;
			if (done_status(v)) {
				if (has_first)
					stop_at(&first, st->at);
				if (has_next)
					stop_at(&next, st->at);
				if (has_res)
					stop_at(&res, st->at);
				break;
			}
			if (reopen && has_res && res.c.stopped) {
				res.c.stopped = 0;
				res.c.paused = 1;
			}
			if (reopen && waiting && p->target[SLA_NEXT] &&
			    (!has_next || next.c.stopped)) {
				if (has_next)
					emit(&cs, &next, now);
				run_init(&next, p, cal, SLA_NEXT, st->at);
				has_next = 1;
			}
			if (strcmp(v, "pending") == 0) {
				if (has_next)
					pause_at(&next, st->at);
				if (has_res)
					pause_at(&res, st->at);
			} else {
				if (has_next)
					seg_begin(&next, st->at);
				if (has_res)
					seg_begin(&res, st->at);
			}
			break;
		}
		case SLA_POLICY:
			break;
		}
	}
	if (has_first)
		emit(&cs, &first, now);
	if (has_next)
		emit(&cs, &next, now);
	if (has_res)
		emit(&cs, &res, now);
	*clocks = cs.v;
	*nclocks = cs.n;
}

const char *
sla_clock_state(const struct sla_clock *c)
{
	if (c->breached)
		return "breached";
	if (c->stopped)
		return "met";
	return c->paused ? "paused" : "running";
}

void
sla_format_secs(int64_t secs, struct buf *out)
{
	int64_t a = secs < 0 ? -secs : secs;

	if (secs < 0)
		buf_add(out, "-", 1);
	if (a >= 3600)
		buf_printf(out, "%lld h", (long long)(a / 3600));
	if (a % 3600 >= 60 || a < 60)
		buf_printf(out, "%s%lld min", a >= 3600 ? " " : "",
		    (long long)(a % 3600 / 60));
}

static int64_t
target_of(const struct sla_policy *p, const struct sla_clock *c)
{
	return p->target[c->target];
}

/* A moment in epoch seconds, or null for none (0, never). */
static void
json_key_time(struct json *j, const char *key, int64_t t)
{
	json_key(j, key);
	if (t && t != CALENDAR_NEVER)
		json_int(j, t);
	else
		json_null(j);
}

void
sla_clock_json(const struct sla *s, const struct sla_policy *p,
    const struct sla_clock *c, struct json *j)
{
	char iso[32];
	int64_t left = target_of(p, c) - c->elapsed;
	int due = c->due && c->due != CALENDAR_NEVER;

	json_obj_open(j);
	json_key_str(j, "target", sla_target_name(c->target));
	json_key_str(j, "state", sla_clock_state(c));
	json_key_int(j, "started", c->start);
	json_key_time(j, "due", c->due);
	if (due)
		calendar_iso(sla_calendar(s, p), c->due, iso);
	json_key_str(j, "due_iso", due ? iso : NULL);
	json_key_int(j, "target_seconds", target_of(p, c));
	json_key_int(j, "elapsed", c->elapsed);
	json_key_int(j, "left", left > 0 ? left : 0);
	json_key_time(j, "stopped", c->stopped);
	json_key_time(j, "warned", c->warned);
	json_key_time(j, "breached", c->breached);
	json_key(j, "met");
	json_bool(j, c->stopped && !c->breached);
	json_obj_close(j);
}

void
sla_clock_text(const struct sla *s, const struct sla_policy *p,
    const struct sla_clock *c, struct buf *out)
{
	struct calendar *cal = sla_calendar(s, p);
	char iso[32];
	int64_t left = target_of(p, c) - c->elapsed;

	buf_printf(out, "%s: %s", sla_target_name(c->target),
	    sla_clock_state(c));
	if (c->due && c->due != CALENDAR_NEVER) {
		calendar_iso(cal, c->due, iso);
		buf_printf(out, ", due %s", iso);
	}
	if (!c->stopped && !c->breached) {
		buf_add(out, ", ", 2);
		sla_format_secs(left > 0 ? left : 0, out);
		buf_add(out, " of business time left", 22);
	} else if (c->stopped) {
		calendar_iso(cal, c->stopped, iso);
		buf_printf(out, ", stopped %s after ", iso);
		sla_format_secs(c->elapsed, out);
	}
	buf_add(out, "\n", 1);
}
