/*
 * sla.h — service promises: clocks over business-hours calendars.
 *
 * A policy (a `policy` block of the rule files) names a calendar and
 * targets in business time. A ticket's clocks are computed from its
 * timeline (the events the store keeps, in order), never from stored
 * counters: change a calendar or a policy and the next computation gives
 * the new answer. Nothing here knows of mail or SQL.
 *
 *	first-response	from the ticket's creation to the first answer
 *	next-response	from each customer mail after an answer to the next
 *	resolution	from creation to solved; pending and solved pause
 *			it, reopening resumes it, closed ends it
 *
 * Pending pauses next-response and resolution; solving or closing stops
 * every running clock.
 */
#ifndef TIKETTI_SLA_H
#define TIKETTI_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/calendar.h"
#include "tiketti/json.h"
#include "tiketti/tk.h"

enum sla_target { SLA_FIRST, SLA_NEXT, SLA_RESOLUTION, SLA__N };

struct sla_policy {
	char		*name;
	char		*calendar;		/* NULL: around the clock, UTC */
	int64_t		 target[SLA__N];	/* business seconds; 0: none */
	int		 warn;			/* percent; 0: no warning */
	const char	*file;			/* where it was written */
	int		 line, col;
};

/* "first-response", ...; and back (-1 when unknown). */
const char *sla_target_name(enum sla_target t);
int sla_target_parse(const char *s);

/* A step of a ticket's life, in the order it happened. */
enum sla_step_kind {
	SLA_CREATED,	/* the ticket was opened */
	SLA_CUSTOMER,	/* a mail from the customer */
	SLA_ANSWER,	/* an answer to the customer (an agent's, a reply) */
	SLA_STATUS,	/* value: the new status */
	SLA_POLICY,	/* value: the policy a rule put it under */
};
struct sla_step {
	int64_t			 at;
	enum sla_step_kind	 kind;
	const char		*value;
};

/* One occurrence of a target's clock. */
struct sla_clock {
	enum sla_target	 target;
	int64_t		 start;		/* when it started: its identity */
	int64_t		 due;		/* 0 while paused */
	int64_t		 elapsed;	/* business seconds, to stop or now */
	int64_t		 stopped;	/* when it stopped; 0: still runs */
	int		 paused;
	int64_t		 warned;	/* when warn% was passed, or 0 */
	int64_t		 breached;	/* when the due time was passed, or 0 */
};

/* The policies and their calendars, loaded once. */
struct sla;

/*
 * Loads the calendars the policies name from dir (NAME.cal). Errors go
 * to err as "FILE:LINE:COL: message" lines (a policy naming a calendar
 * that does not load, at the policy). policies are borrowed and must
 * outlive the set; dflt (the configured default policy, or NULL) must
 * be among them.
 */
enum tk_status sla_new(const struct sla_policy *policies, size_t n,
    const char *dir, const char *dflt, struct sla **out, struct buf *err);
void sla_free(struct sla *s);
/* Whether any policy is defined (else nothing needs computing). */
int sla_active(const struct sla *s);
const struct sla_policy *sla_policy_find(const struct sla *s,
    const char *name);
/* The calendar of a policy (around the clock without one); borrowed. */
struct calendar *sla_calendar(const struct sla *s,
    const struct sla_policy *p);

/*
 * A ticket's clocks at now from its steps (in order). *policy is the
 * policy in force (the last SLA_POLICY step's, else the default; NULL:
 * none, and no clocks). The caller frees *clocks. With override (not
 * NULL), that set's policy of the same name, or its first, is used
 * instead: `report --replay`.
 */
void sla_compute(const struct sla *s, const struct sla *override,
    const struct sla_step *steps, size_t n, int64_t now,
    const struct sla_policy **policy, struct sla_clock **clocks,
    size_t *nclocks);

/* Writes a clock as a JSON object, or adds it as a line of text. */
void sla_clock_json(const struct sla *s, const struct sla_policy *p,
    const struct sla_clock *c, struct json *j);
void sla_clock_text(const struct sla *s, const struct sla_policy *p,
    const struct sla_clock *c, struct buf *out);
/* "running", "paused", "met" or "breached". */
const char *sla_clock_state(const struct sla_clock *c);
/* "3 h 20 min" of business time. */
void sla_format_secs(int64_t secs, struct buf *out);

#endif
