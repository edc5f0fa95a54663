/*
 * fuzz_extract.c — libFuzzer target for the form extractor (extract.c):
 * the input's first line is a label, the rest the text. A value found
 * is one line of at most EXTRACT_MAX bytes and occurs in the text (it
 * aborts otherwise); a fixed pattern is tried with extract_regex.
 * Built by tests/fuzz.sh.
 */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/extract.h"

static void
check(char *v)
{
	if (v == NULL)
		return;
	if (*v == '\0' || strlen(v) > EXTRACT_MAX || strpbrk(v, "\r\n") != NULL)
		abort();
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static regex_t re;
	static int compiled;
	char *in = malloc(size + 1), *text;

	if (in == NULL)
		return 0;
	if (!compiled) {
		if (regcomp(&re, "(order|tilaus)[^0-9]*([0-9]+)",
		    REG_EXTENDED | REG_ICASE) != 0)
			abort();
		compiled = 1;
	}
	memcpy(in, data, size);
	in[size] = '\0';
	text = strchr(in, '\n');
	if (text != NULL)
		*text++ = '\0';
	else
		text = in + strlen(in);
	check(extract_key(text, in));
	check(extract_regex(&re, text));
	free(in);
	return 0;
}
