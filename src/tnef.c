/*
 * NAME
 *	tnef.c — Outlook's winmail.dat (TNEF) opened (libytnef).
 * DESCRIPTION
 *	The only module that includes libytnef. It parses a TNEF stream in
 *	memory and hands out the files attached in it, with their long
 *	names (PR_ATTACH_LONG_FILENAME, 8-bit or Unicode) where Outlook
 *	gave one, and the message's plain text body with its charset.
 *	Embedded messages and OLE objects stay one file each. Thread-safe:
 *	each call has its own stream.
 * DIAGNOSTICS
 *	TK_EPARSE for data libytnef cannot read; nothing is logged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ytnef.h>

#include "tiketti/buf.h"
#include "tiketti/tnef.h"

/* A string property's bytes as a C string (caller frees), or NULL. */
static char *
prop_string(MAPIProps *p, unsigned id, int *unicode)
{
	variableLength *v;

	*unicode = 0;
	if ((v = MAPIFindProperty(p, PROP_TAG(PT_STRING8, id))) != MAPI_UNDEFINED &&
	    v != NULL && v->size > 0)
		return xstrndup((const char *)v->data, (size_t)v->size);
	if ((v = MAPIFindProperty(p, PROP_TAG(PT_UNICODE, id))) != MAPI_UNDEFINED &&
	    v != NULL && v->size > 1) {
		char *s = xmalloc((size_t)v->size + 2);

		memcpy(s, v->data, (size_t)v->size);
		s[v->size] = s[v->size + 1] = '\0';
		*unicode = 1;
		return s;
	}
	return NULL;
}

/* UTF-16LE (NUL-terminated by pairs) to ASCII-safe bytes: a file name
 * in Unicode becomes UTF-8. Caller frees. */
static char *
utf16_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;

	buf_init(&b, 4096);
	for (; p[0] || p[1]; p += 2) {
		unsigned cp = (unsigned)p[0] | (unsigned)p[1] << 8;

		if (cp >= 0xd800 && cp <= 0xdbff && (p[2] || p[3])) {
			unsigned lo = (unsigned)p[2] | (unsigned)p[3] << 8;

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 2;
			}
		}
		if (cp < 0x80)
			buf_addc(&b, (char)cp);
		else if (cp < 0x800) {
			buf_addc(&b, (char)(0xc0 | cp >> 6));
			buf_addc(&b, (char)(0x80 | (cp & 0x3f)));
		} else if (cp < 0x10000) {
			buf_addc(&b, (char)(0xe0 | cp >> 12));
			buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
			buf_addc(&b, (char)(0x80 | (cp & 0x3f)));
		} else {
			buf_addc(&b, (char)(0xf0 | cp >> 18));
			buf_addc(&b, (char)(0x80 | ((cp >> 12) & 0x3f)));
			buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
			buf_addc(&b, (char)(0x80 | (cp & 0x3f)));
		}
	}
	return buf_release(&b);
}

enum tk_status
tnef_read(const void *data, size_t len,
    int (*fn)(const char *name, const void *bytes, size_t n, void *arg),
    void *arg, char **body, size_t *bodylen, char **charset)
{
	TNEFStruct t;
	BYTE *copy;
	int unicode;

	if (body)
		*body = NULL;
	if (charset)
		*charset = NULL;
	if (bodylen)
		*bodylen = 0;
	if (len < 6 || len > 0x7fffffff)
		return TK_EPARSE;
	/* libytnef wants a writable buffer */
	copy = xmalloc(len);
	memcpy(copy, data, len);
	TNEFInitialize(&t);
	t.Debug = 0;
	if (TNEFParseMemory(copy, (long)len, &t) != 0) {
		TNEFFree(&t);
		free(copy);
		return TK_EPARSE;
	}
	for (Attachment *a = t.starting_attach.next; a; a = a->next) {
		char *name = prop_string(&a->MAPI, 0x3707, &unicode);	/* long */
		int stop;

		if (name && unicode) {
			char *u = utf16_name(name);

			free(name);
			name = u;
		}
		if (name == NULL && a->Title.size > 0)
			name = xstrndup((const char *)a->Title.data,
			    (size_t)a->Title.size);
		stop = a->FileData.size > 0 ? fn(name, a->FileData.data,
		    (size_t)a->FileData.size, arg) : 0;
		free(name);
		if (stop)
			break;
	}
	if (body) {
		char *b = prop_string(&t.MapiProperties, 0x1000, &unicode); /* PR_BODY */

		if (b) {
			*body = b;
			*bodylen = unicode ? 0 : strlen(b);
			if (unicode) {	/* up to the terminating NUL pair */
				size_t n = 0;

				while (b[n] || b[n + 1])
					n += 2;
				*bodylen = n;
			}
			if (charset)
				*charset = xstrdup(unicode ? "UTF-16LE" : "CP1252");
		} else if (t.body.size > 0) {
			*body = xstrndup((const char *)t.body.data,
			    (size_t)t.body.size);
			*bodylen = strlen(*body);
			if (charset)
				*charset = xstrdup("CP1252");
		}
		if (*body && charset && !unicode && t.CodePage.size >= 4) {
			unsigned cp = (unsigned)t.CodePage.data[0] |
			    (unsigned)t.CodePage.data[1] << 8;

			free(*charset);
			*charset = cp == 65001 ? xstrdup("UTF-8") :
			    xasprintf("CP%u", cp);
		}
	}
	TNEFFree(&t);
	free(copy);
	return TK_OK;
}
