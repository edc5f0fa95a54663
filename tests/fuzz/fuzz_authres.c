/*
 * fuzz_authres.c — libFuzzer target for the Authentication-Results
 * parser and verdict (authres.c): the input is a header block, one
 * "Name: value" a line; every line is parsed as a value too, and the
 * block's verdict is asked for a trusted server and a domain. A verdict
 * of pass must have some Authentication-Results line that says pass, in
 * any case (it aborts otherwise). Built by tests/fuzz.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/authres.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_header h[64];
	char *text = malloc(size + 1), *line, *next, why[256];
	size_t n = 0;
	int passes = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line && n < 64; line = next) {
		char *colon;
		struct authres ar;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (authres_parse(line, &ar) == 0)
			authres_clear(&ar);
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n].value = colon + 1;
		if (strcasecmp(line, "Authentication-Results") == 0 &&
		    strcasestr(colon + 1, "pass"))
			passes = 1;
		n++;
	}
	if (authres_verdict(h, n, "mx.example.com", "example.com", why,
	    sizeof(why)) == AUTHRES_PASS && !passes)
		abort();
	free(text);
	return 0;
}
