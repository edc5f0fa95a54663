/*
 * NAME
 *	lookup.c — a lookup's URL and the fields in its JSON answer.
 * DESCRIPTION
 *	The URL is a template whose placeholders are URL-encoded, so an
 *	address or a field a customer chose cannot add a parameter or a
 *	path. The answer is parsed with jansson (size-capped before it
 *	gets here) and each mapping's path is walked key by key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tiketti/buf.h"
#include "tiketti/lookup.h"
#include "tiketti/str.h"

void
lookup_url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			buf_addc(b, (char)c);
		else
			buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

/* Walks tmpl; with b NULL only checks. NULL, or what is wrong. */
static const char *
expand(const char *tmpl, const char *address, const struct store_field *f,
    size_t nf, struct buf *b)
{
	const char *p = tmpl;

	while (*p) {
		const char *open = strstr(p, "{{"), *close;
		char *name;

		if (open == NULL) {
			if (b)
				buf_addstr(b, p);
			break;
		}
		if (b)
			buf_add(b, p, (size_t)(open - p));
		if ((close = strstr(open + 2, "}}")) == NULL)
			return "an unclosed {{";
		name = xstrndup(open + 2, (size_t)(close - open - 2));
		str_trim(name);
		if (strcmp(name, "customer.address") == 0) {
			if (b)
				lookup_url_encode(b, address ? address : "");
		} else if (strncmp(name, "ticket.fields.", 14) == 0 &&
		    name[14]) {
			for (size_t i = 0; b && i < nf; i++)
				if (strcasecmp(f[i].name, name + 14) == 0) {
					lookup_url_encode(b, f[i].value);
					break;
				}
		} else {
			free(name);
			return "unknown name in {{ }} (customer.address, "
			    "ticket.fields.NAME)";
		}
		free(name);
		p = close + 2;
	}
	return NULL;
}

const char *
lookup_url_check(const char *tmpl)
{
	return expand(tmpl, NULL, NULL, 0, NULL);
}

char *
lookup_url(const char *tmpl, const char *address,
    const struct store_field *fields, size_t nfields, char *err,
    size_t errlen)
{
	struct buf b;
	const char *why;
	char *url;

	buf_init(&b, 8192);
	if ((why = expand(tmpl, address, fields, nfields, &b)) != NULL) {
		snprintf(err, errlen, "%s", why);
		buf_free(&b);
		return NULL;
	}
	url = buf_release(&b);
	buf_free(&b);
	return url ? url : xstrdup("");
}

/* The value at path in v, or NULL. */
static json_t *
walk(json_t *v, const char *path)
{
	const char *p = path;

	while (v && *p) {
		if (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || i < 0 ||
			    !json_is_array(v))
				return NULL;
			v = json_array_get(v, (size_t)i);
			p = end + 1;
		} else {
			size_t n = strcspn(p, ".[");
			char *key;

			if (n == 0 || !json_is_object(v))
				return NULL;
			key = xstrndup(p, n);
			v = json_object_get(v, key);
			free(key);
			p += n;
		}
		if (*p == '.')
			p++;
	}
	return v;
}

int
lookup_json(const char *json, size_t len, const char *const *paths, size_t n,
    char **values, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	for (size_t i = 0; i < n; i++)
		values[i] = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON (%d:%d: %s)", je.line,
		    je.column, je.text);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = walk(root, paths[i]);
		char num[64];
		const char *s = NULL;

		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			s = num;
		} else if (json_is_real(v)) {
			snprintf(num, sizeof(num), "%.15g", json_real_value(v));
			s = num;
		} else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		if (s)
			values[i] = xstrdup(s);
	}
	json_decref(root);
	return 0;
}

int
lookup_answer(const struct conf_lookup *l, const char *json, size_t len,
    struct lookup_value **out, size_t *n, char *err, size_t errlen)
{
	const char **paths = xcalloc(l->nmaps ? l->nmaps : 1, sizeof(*paths));
	char **values = xcalloc(l->nmaps ? l->nmaps : 1, sizeof(*values));
	int rv;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < l->nmaps; i++)
		paths[i] = l->maps[i].path;
	if ((rv = lookup_json(json, len, paths, l->nmaps, values, err,
	    errlen)) == 0) {
		for (size_t i = 0; i < l->nmaps; i++) {
			if (values[i] == NULL)
				continue;
			*out = xreallocarray(*out, *n + 1, sizeof(**out));
			(*out)[*n].field = l->maps[i].field;
			(*out)[(*n)++].value = values[i];
		}
	}
	free(paths);
	free(values);
	return rv;
}

void
lookup_values_free(struct lookup_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].value);
	free(v);
}
