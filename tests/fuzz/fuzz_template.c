/*
 * fuzz_template.c — libFuzzer target for the template renderer: the
 * input is a template file, rendered with a ticket whose fields carry
 * CR, LF and non-ASCII. Whatever renders must keep the promise of
 * template.h: a one-line Subject and header values, so no data reaches
 * a header of its own (it aborts otherwise). Built by tests/fuzz.sh.
 */
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiketti/template.h"

static char dir[256];
static char path[300];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	setlocale(LC_CTYPE, "C.UTF-8");
	snprintf(dir, sizeof(dir), "%s/tiketti-fuzz-tmpl.XXXXXX",
	    tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/t.txt", dir);
	return 0;
}

static void
one_line(const char *s)
{
	if (s && strpbrk(s, "\r\n"))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_ticket t = {
		.id = 42, .subject = "Order\r\nBcc: victim@example.org",
		.status = "open", .priority = "high",
		.category = "complaint\nX-Evil: 1",
		.requester = "anna@example.com",
		.requester_name = "Anna \"Ä\"\r\nBcc: x@y",
		.assignee = "maria", .mailbox = "support@example.com",
		.tags = "vip,a\nb", .lang = "fi",
	};
	struct template_vars v = { .ticket = &t, .prefix = "Tuki",
	    .agent = "Maria\nBcc: z@z", .csat = { "mailto:a", "mailto:b",
	    "mailto:c", "mailto:d", "mailto:e" } };
	struct template_out out = { 0 };
	struct buf err;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	buf_init(&err, 0);
	if (template_render(dir, "t", "fi, en", &v, &out, &err) == TK_OK) {
		one_line(out.subject);
		/* Each header line is "Name: value" with nothing after its
		 * newline but the next header. */
		for (const char *h = out.headers; h && *h; ) {
			const char *nl = strchr(h, '\n');
			const char *colon = strchr(h, ':');

			if (nl == NULL || colon == NULL || colon > nl ||
			    memchr(h, '\r', (size_t)(nl - h)))
				abort();
			h = nl + 1;
		}
	}
	template_out_clear(&out);
	buf_free(&err);
	return 0;
}
