/*
 * fuzz_forward.c — libFuzzer target for the inline forward parser
 * (forward.c): a block found names an address with an @, a subject of
 * one line, and a body inside the input; it aborts otherwise. Built by
 * tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/forward.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	struct forward f;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (forward_find(in, &f)) {
		if (f.from_addr == NULL || strchr(f.from_addr, '@') == NULL ||
		    (f.subject && strpbrk(f.subject, "\n")) ||
		    f.body < in || f.body > in + strlen(in))
			abort();
		forward_clear(&f);
	}
	free(in);
	return 0;
}
