/*
 * NAME
 *	buf.c — allocation helpers and a capped growable byte buffer.
 * DESCRIPTION
 *	Everything that holds mail data grows through struct buf, which has a
 *	cap so hostile input cannot grow memory without bound. No shared
 *	state; thread-safe.
 * DIAGNOSTICS
 *	Out of memory aborts (via log_panic); a full buffer returns TK_ELIMIT;
 *	read errors return TK_EIO with errno set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiketti/buf.h"
#include "tiketti/log.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		log_panic("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		log_panic("out of memory allocating %zu*%zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *np;

	if (size && nmemb > SIZE_MAX / size)
		log_panic("allocation overflow: %zu*%zu", nmemb, size);
	np = realloc(p, (nmemb && size) ? nmemb * size : 1);
	if (np == NULL)
		log_panic("out of memory allocating %zu*%zu bytes", nmemb, size);
	return np;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	struct buf b;

	buf_init(&b, 0);
	va_start(ap, fmt);
	{
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(NULL, 0, fmt, aq);
		va_end(aq);
		if (n < 0)
			log_panic("xasprintf: bad format");
		b.data = xmalloc((size_t)n + 1);
		vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	}
	va_end(ap);
	return b.data;
}

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

static enum tk_status
buf_reserve(struct buf *b, size_t n)
{
	size_t need, nsize;

	if (n > SIZE_MAX - b->len - 1)
		return TK_ELIMIT;
	need = b->len + n + 1;
	if (b->cap && need - 1 > b->cap)
		return TK_ELIMIT;
	if (need <= b->size)
		return TK_OK;
	nsize = b->size ? b->size : 256;
	while (nsize < need)
		nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
	if (b->cap && nsize > b->cap + 1)
		nsize = b->cap + 1;
	b->data = xreallocarray(b->data, nsize, 1);
	b->size = nsize;
	return TK_OK;
}

enum tk_status
buf_add(struct buf *b, const void *p, size_t n)
{
	enum tk_status st;

	if ((st = buf_reserve(b, n)) != TK_OK)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return TK_OK;
}

enum tk_status
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum tk_status
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum tk_status
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, aq;
	enum tk_status st;
	int n;

	va_start(ap, fmt);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		va_end(ap);
		return TK_EIO;
	}
	if ((st = buf_reserve(b, (size_t)n)) == TK_OK) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		b->len += (size_t)n;
	}
	va_end(ap);
	return st;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
buf_release(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->size = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

enum tk_status
buf_read_fd(struct buf *b, int fd)
{
	char chunk[65536];
	ssize_t n;
	enum tk_status st;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return TK_OK;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return TK_EIO;
		}
		if ((st = buf_add(b, chunk, (size_t)n)) != TK_OK)
			return st;
	}
}
