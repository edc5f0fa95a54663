/*
 * calendar.h — business hours: when a service promise's clock runs.
 *
 * A calendar is a time zone, opening spans per weekday in that zone, and
 * holidays (dates, ranges, iCalendar files read with libical). It answers
 * "when are N business seconds after T" and "how many business seconds
 * between A and B", in UTC epoch seconds, whatever the process's zone.
 * It knows nothing of mail or SQL; the syntax is in tiketti-calendar(5).
 * Thread-safe: a calendar may be shared by threads.
 */
#ifndef TIKETTI_CALENDAR_H
#define TIKETTI_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/tk.h"

#define CALENDAR_NEVER	INT64_MAX	/* no business time within 50 years */

struct calendar;

/*
 * Reads a calendar file; an `include` is read from the file's directory.
 * Every error is appended to err as "FILE:LINE:COL: message\n" and gives
 * TK_EPARSE (*out NULL); TK_EPERM when the file cannot be read.
 */
enum tk_status calendar_load(const char *path, struct calendar **out,
    struct buf *err);
/* The same for text in memory; includes are refused when dir is NULL. */
enum tk_status calendar_parse(const char *name, const char *text, size_t len,
    const char *dir, struct calendar **out, struct buf *err);
/* An iCalendar file's all-day events as holidays, alone (for fuzzing):
 * the number of days, or -1 with err set. */
long calendar_ics_days(const char *name, const char *text, size_t len,
    struct buf *err);
/* Open around the clock, in UTC: a policy without a calendar. */
struct calendar *calendar_always(void);
void calendar_free(struct calendar *c);

/* The moment secs business seconds after t (t itself when secs <= 0);
 * CALENDAR_NEVER when the calendar is never open. */
int64_t calendar_add(struct calendar *c, int64_t t, int64_t secs);
/* Business seconds in [a, b); 0 when b <= a. */
int64_t calendar_between(struct calendar *c, int64_t a, int64_t b);

/* Its zone's name ("UTC" when none was given); borrowed. */
const char *calendar_zone(const struct calendar *c);
/* t as ISO 8601 in the calendar's zone, with its offset:
 * "2026-12-04T15:30:00+02:00" (26 bytes with the NUL). */
void calendar_iso(struct calendar *c, int64_t t, char out[32]);
/* Opening seconds in a week without holidays; holidays listed. */
int64_t calendar_week_seconds(const struct calendar *c);
size_t calendar_nholidays(const struct calendar *c);

#endif
