/* tk_test.h — what every cmocka unit test includes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

/*
 * A fresh, empty database for a test: SQLite in memory, or, when
 * tests/pg.sh runs the test with TIKETTI_TEST_PG set (the URL of a
 * scratch cluster, up to the database name), a new PostgreSQL database
 * made with createdb. The string is static: use it before the next call.
 */
static inline const char *
tk_test_db(void)
{
	static char url[512];
	static int n;
	const char *pg = getenv("TIKETTI_TEST_PG");
	const char *mk = getenv("TIKETTI_TEST_PG_CREATEDB");
	char cmd[1024];

	if (pg == NULL || *pg == '\0')
		return ":memory:";
	snprintf(url, sizeof(url), "%st%ld_%d", pg, (long)getpid(), ++n);
	snprintf(cmd, sizeof(cmd), "%s t%ld_%d", mk ? mk : "createdb",
	    (long)getpid(), n);
	if (system(cmd) != 0) {
		fprintf(stderr, "tk_test_db: %s failed\n", cmd);
		abort();
	}
	return url;
}
