/*
 * tk.h — project-wide status codes and limits.
 */
#ifndef TIKETTI_TK_H
#define TIKETTI_TK_H

#include <stddef.h>
#include <stdint.h>

enum tk_status {
	TK_OK = 0,
	TK_ETEMP,	/* try again later: SQLITE_BUSY, disk full, timeout */
	TK_EPERM,	/* permanent: refused input or policy */
	TK_EPARSE,	/* unreadable rule file, config or MIME structure */
	TK_ELIMIT,	/* input over a configured limit */
	TK_EIO,		/* an I/O error that retrying will not cure */
};

/* Returns a static, human-readable name for a status. */
const char *tk_status_str(enum tk_status st);

/* Maps a status to a sysexits(3) code for command-line front ends. */
int tk_status_exit(enum tk_status st);

#define TK_MAX_ADDR	320	/* RFC 5321 path limit, rounded up */
#define TK_SHA256_HEX	65	/* 64 hex digits and a NUL */

#endif
