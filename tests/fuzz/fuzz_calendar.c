/*
 * fuzz_calendar.c — libFuzzer target for the calendar parser and its
 * iCalendar reader (calendar.c): the input is read as a calendar file
 * (includes refused) and as an .ics file. A calendar that loads must
 * keep its arithmetic: N business seconds after T are never before T,
 * and there are exactly N of them between (it aborts otherwise).
 * Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tiketti/calendar.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t at[] = { 1796635800, 1774571400, 1792737000 };
	static const int64_t secs[] = { 1, 3600, 4 * 3600, 16 * 3600 };
	struct calendar *c;
	struct buf err;

	buf_init(&err, 0);
	if (calendar_parse("fuzz.cal", (const char *)data, size, NULL, &c,
	    &err) == TK_OK) {
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			for (size_t k = 0; k < sizeof(secs) / sizeof(secs[0]);
			    k++) {
				int64_t due = calendar_add(c, at[i], secs[k]);
				char iso[32];

				if (due == CALENDAR_NEVER)
					continue;
				if (due < at[i] ||
				    calendar_between(c, at[i], due) != secs[k])
					abort();
				calendar_iso(c, due, iso);
			}
		calendar_free(c);
	}
	buf_reset(&err);
	(void)calendar_ics_days("fuzz.ics", (const char *)data, size, &err);
	buf_free(&err);
	return 0;
}
