/*
 * fuzz_html.c — libFuzzer target for the HTML converter (html.c): the
 * input is HTML, made text and cut as the milter cuts an agent's command
 * lines. The text must be valid UTF-8 (it aborts otherwise). Built by
 * tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/automate.h"
#include "tiketti/html.h"
#include "tiketti/str.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	char *cut;

	buf_init(&out, 1 << 20);
	(void)html_to_text((const char *)data, size, &out);
	if (out.len && !str_utf8_valid(out.data, out.len))
		abort();
	buf_free(&out);
	cut = html_cut_lead((const char *)data, size, automate_commands_len);
	free(cut);
	return 0;
}
