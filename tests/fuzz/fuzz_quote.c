/*
 * fuzz_quote.c — libFuzzer target for the quote stripper (quote.c): the
 * input is a message's text. The new text never adds to it: it is no
 * longer than the text (it aborts otherwise). Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/quote.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *out;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	out = quote_strip(text);
	if (strlen(out) > strlen(text))
		abort();
	free(out);
	free(text);
	return 0;
}
