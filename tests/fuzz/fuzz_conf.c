/*
 * fuzz_conf.c — libFuzzer target for the configuration parser: the input
 * is a tiketti.conf. It loads or reports errors; a loaded one prints.
 * Built and run by tests/fuzz.sh.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tiketti/conf.h"

static char path[300];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/tiketti-fuzz-conf.XXXXXX",
	    tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_conf *c = NULL;
	struct buf err;
	FILE *null;
	int fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	buf_init(&err, 0);
	if (conf_load(path, 1, &c, &err) == TK_OK) {
		if ((null = fopen("/dev/null", "w")) != NULL) {
			conf_print(c, null);
			fclose(null);
		}
		conf_free(c);
	}
	buf_free(&err);
	return 0;
}
