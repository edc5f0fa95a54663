/*
 * fuzz_cut.c — libFuzzer target for taking an agent's command lines out
 * of a message's text (mime_cut_text with automate_commands_len, the
 * milter's cut, and its HTML walk): the input is a whole message. A cut
 * body must be given back with CRLF line ends only (it aborts on a bare
 * LF). Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/automate.h"
#include "tiketti/mime.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	char *ctype, *cte;

	buf_init(&out, 0);
	if (mime_cut_text((const char *)data, size, automate_commands_len,
	    &out, &ctype, &cte) == TK_OK) {
		for (size_t i = 0; i < out.len; i++)
			if (out.data[i] == '\n' && (i == 0 ||
			    out.data[i - 1] != '\r'))
				abort();
		free(ctype);
		free(cte);
	}
	buf_free(&out);
	return 0;
}
