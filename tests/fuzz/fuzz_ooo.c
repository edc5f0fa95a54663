/*
 * fuzz_ooo.c — libFuzzer target for the absence-note date reader (ooo.c)
 * and str_to_time: the input is a note's text. A day found is after now
 * and within a year (it aborts otherwise). Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/ooo.h"
#include "tiketti/str.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int64_t now = 1796205600;	/* 2026-12-02 10:00 UTC */
	char *text = malloc(size + 1);
	int64_t until, t;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ooo_until(text, now, &until) &&
	    (until <= now || until - now > 366LL * 86400))
		abort();
	(void)str_to_time(text, now, &t);
	free(text);
	return 0;
}
