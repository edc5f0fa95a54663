/* Unit tests for ooo.c (the day an absence note says) and str_to_time. */
#include <stdlib.h>
#include <time.h>

#include "tk_test.h"
#include "tiketti/ooo.h"
#include "tiketti/str.h"

/* 2026-12-02 10:00 local (the tests run with TZ=UTC). */
static int64_t
now_(void)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 2,
	    .tm_hour = 10, .tm_isdst = -1 };

	return (int64_t)mktime(&tm);
}

static int64_t
day(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
	    .tm_isdst = -1 };

	return (int64_t)mktime(&tm);
}

static void
back_on(const char *text, int64_t want)
{
	int64_t got;
	int found = ooo_until(text, now_(), &got);

	if (found != (want != 0) || got != want)
		fail_msg("ooo_until(\"%s\"): got %lld, want %lld", text,
		    (long long)got, (long long)want);
}

static void
t_forms(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	back_on("I am out of the office until 2026-12-24.", day(2026, 12, 24));
	back_on("Olen lomalla 24.12.2026 asti.", day(2026, 12, 24));
	back_on("Olen lomalla 24.12.26 asti.", day(2026, 12, 24));
	back_on("Palaan 7.1.", day(2027, 1, 7));
	back_on("Back on December 24, 2026.", day(2026, 12, 24));
	back_on("Back on Dec 24th", day(2026, 12, 24));
	back_on("away until 24 December", day(2026, 12, 24));
	back_on("Olen poissa 24. joulukuuta 2026 saakka.", day(2026, 12, 24));
	/* from ... until: the latest day to come */
	back_on("Lomalla 20.12. - 7.1.", day(2027, 1, 7));
	/* past days, far days and nonsense are no answer */
	back_on("I was away on 1.12.2026.", 0);
	back_on("See you in 2029-01-01.", 0);
	back_on("Call 040 123 4567, version 2.3.4, 31.2.2027", 0);
	back_on("Decimal 12 is no December", 0);
	back_on("", 0);
}

static void
t_str_to_time(void **state)
{
	int64_t t, now = now_();

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(str_to_time("2026-12-24", now, &t), TK_OK);
	assert_int_equal(t, day(2026, 12, 24));
	assert_int_equal(str_to_time("2026-12-24 08:30", now, &t), TK_OK);
	assert_int_equal(t, day(2026, 12, 24) + 8 * 3600 + 1800);
	assert_int_equal(str_to_time("2026-12-24T08:30", now, &t), TK_OK);
	assert_int_equal(str_to_time("3d", now, &t), TK_OK);
	assert_int_equal(t, now + 3 * 86400);
	assert_int_equal(str_to_time("@1800000000", now, &t), TK_OK);
	assert_int_equal(t, 1800000000);
	assert_int_equal(str_to_time("2026", now, &t), TK_EPARSE);
	assert_int_equal(str_to_time("tomorrow", now, &t), TK_EPARSE);
	assert_int_equal(str_to_time("2026-12-24 8", now, &t), TK_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_forms),
		cmocka_unit_test(t_str_to_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
