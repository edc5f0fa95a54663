/*
 * log.h — logging to stderr or syslog(LOG_MAIL), OpenSMTPD style.
 */
#ifndef TIKETTI_LOG_H
#define TIKETTI_LOG_H

#include <stdarg.h>

/* foreground: log to stderr; otherwise syslog with the given facility. */
void log_init(int foreground, int facility);
/* 0 = warnings and info, 1 = also debug (-v). */
void log_setverbose(int verbose);
int log_getverbose(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken invariant: logs and aborts. */
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Start-up cannot go on: only from main and start-up code. */
void fatal(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void fatalx(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* The exit code fatal() and fatalx() use is map(code) (NULL: code). */
void log_set_exit_map(int (*map)(int));

#endif
