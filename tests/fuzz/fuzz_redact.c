/*
 * fuzz_redact.c — libFuzzer target for the detector (redact.c): the
 * input as plain text and as HTML, every kind asked for. A masked text
 * is never longer than the input (a mask and the tags it kept take no
 * more room than the number did) and something was counted; it aborts
 * otherwise. Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/redact.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int html = 0; html < 2; html++) {
		struct redact_count n = { 0, 0, 0 };
		char *out = redact_text((const char *)data, size,
		    REDACT_CARDS | REDACT_HETU | REDACT_IBAN, html, &n);

		if (out == NULL)
			continue;
		if (strlen(out) > size || n.cards + n.hetu + n.iban == 0)
			abort();
		free(out);
	}
	return 0;
}
