/*
 * buf.h — allocation helpers and a capped growable byte buffer.
 */
#ifndef TIKETTI_BUF_H
#define TIKETTI_BUF_H

#include <stddef.h>

#include "tiketti/tk.h"

/* Allocators that abort on out-of-memory (a process we cannot trust). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
/* xstrndup copies at most n bytes and always terminates. */
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A byte buffer that always keeps a terminating NUL after len bytes and
 * refuses to grow past cap (0 = no cap) with TK_ELIMIT.
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 size;
	size_t	 cap;
};

void buf_init(struct buf *b, size_t cap);
enum tk_status buf_add(struct buf *b, const void *p, size_t n);
enum tk_status buf_addstr(struct buf *b, const char *s);
enum tk_status buf_addc(struct buf *b, char c);
enum tk_status buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_release(struct buf *b);
void buf_free(struct buf *b);

/* Reads a whole file or stream into b; TK_ELIMIT past b's cap. */
enum tk_status buf_read_fd(struct buf *b, int fd);

#endif
