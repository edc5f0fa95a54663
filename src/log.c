/*
 * NAME
 *	log.c — logging to stderr or syslog.
 * DESCRIPTION
 *	Owns the process-wide log destination, set once by log_init() before
 *	any thread starts; afterwards it is read-only and thread-safe (each
 *	line is written with one stdio or syslog call).
 * DIAGNOSTICS
 *	None; logging never fails visibly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "tiketti/log.h"
#include "tiketti/tk.h"

static int log_foreground = 1;
static int log_verbose;
static int (*log_exit_map)(int);

void
log_init(int foreground, int facility)
{
	log_foreground = foreground;
	if (!foreground)
		openlog("tiketti", LOG_PID | LOG_NDELAY, facility);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void
vlog(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char line[4096];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_foreground) {
		if (errstr)
			fprintf(stderr, "tiketti: %s: %s\n", line, errstr);
		else
			fprintf(stderr, "tiketti: %s\n", line);
	} else {
		if (errstr)
			syslog(pri, "%s: %s", line, errstr);
		else
			syslog(pri, "%s", line);
	}
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_WARNING, e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "panic", fmt, ap);
	va_end(ap);
	abort();
}

void
fatal(int code, const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_CRIT, e, fmt, ap);
	va_end(ap);
	exit(log_exit_map ? log_exit_map(code) : code);
}

void
log_set_exit_map(int (*map)(int))
{
	log_exit_map = map;
}

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(log_exit_map ? log_exit_map(code) : code);
}
