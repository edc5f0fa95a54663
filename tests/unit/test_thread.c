/* Unit tests for thread.c's subject handling. */
#include "tk_test.h"
#include "tiketti/thread.h"

static void
t_tag(void **state)
{
	int64_t id = 0;

	(void)state;
	assert_true(thread_subject_tag("Re: [Ticket #123] x", "Ticket", &id));
	assert_int_equal(id, 123);
	assert_true(thread_subject_tag("[ticket#7]", "Ticket", &id));
	assert_int_equal(id, 7);
	assert_true(thread_subject_tag("x [ Tuki #42 ] y", "Tuki", &id));
	assert_int_equal(id, 42);
	assert_false(thread_subject_tag("[Ticket 123]", "Ticket", &id));
	assert_false(thread_subject_tag("[Other #123]", "Ticket", &id));
	assert_false(thread_subject_tag("[Ticket #0]", "Ticket", &id));
	assert_false(thread_subject_tag("[Ticket #99999999999999999999]", "Ticket", &id));
	assert_false(thread_subject_tag("#123", "Ticket", &id));
}

static void
t_strip(void **state)
{
	static const char *const cases[][2] = {
		{ "Re: Hello", "Hello" },
		{ "RE: re: Hello", "Hello" },
		{ "Fwd: FW: Hello", "Hello" },
		{ "AW: WG: Anfrage", "Anfrage" },
		{ "SV: Fr\xc3\xa5ga", "Fr\xc3\xa5ga" },
		{ "VS: VL: Vs: Kysymys", "Kysymys" },
		{ "Odp: Pytanie", "Pytanie" },
		{ "\xd0\x9e\xd1\x82\xd0\xb2: x", "x" },		/* Отв: */
		{ "\xd0\x9e\xd1\x82\xd0\xb2\xd1\x82: x", "x" },	/* Отвт: */
		{ "\xd0\x92\xd1\x96\xd0\xb4\xd0\xbf: x", "x" },	/* Відп: */
		{ "\xd0\x9f\xd0\xb5\xd1\x80\xd0\xb5\xd1\x81\xd0\xbb: x", "x" }, /* Пересл: */
		{ "Re[2]: Hello", "Hello" },
		{ "RE : Hello", "Hello" },
		{ "Re: [Ticket #5] Hello", "Hello" },
		{ "Hello [Ticket #5]", "Hello" },
		{ "Reply needed", "Reply needed" },
		{ "Re:", "" },
		{ "\xd0\x9e", "\xd0\x9e" },	/* shorter than any prefix */
		{ "Vastaus: ei etuliite", "Vastaus: ei etuliite" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = thread_subject_strip(cases[i][0], "Ticket");

		assert_string_equal(s, cases[i][1]);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tag),
		cmocka_unit_test(t_strip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
