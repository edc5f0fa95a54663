/*
 * NAME
 *	authres.c — what a trusted server's Authentication-Results say.
 * DESCRIPTION
 *	Parses Authentication-Results header values (RFC 8601: authserv-id,
 *	then "method=result ptype.property=value" results separated by
 *	semicolons, with comments anywhere) and decides whether a named
 *	server vouches for a From: domain by DKIM or DMARC. Knows nothing of
 *	agents or configuration: classify.c asks it. Pure; thread-safe.
 * DIAGNOSTICS
 *	authres_parse() returns -1 for a value without an authserv-id;
 *	results it cannot read are skipped. authres_verdict() says why in
 *	words.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/authres.h"
#include "tiketti/buf.h"
#include "tiketti/str.h"

#define AUTHRES_MAX_RESULTS	64
#define AUTHRES_MAX_DEPTH	16	/* nested comments read */

/* Skips white space and (possibly nested) comments. */
static void
cfws(const char **pp)
{
	const char *p = *pp;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			break;
		for (int depth = 0; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '(' && ++depth > AUTHRES_MAX_DEPTH)
				depth = AUTHRES_MAX_DEPTH;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
	*pp = p;
}

/*
 * A value: a quoted string, or a run of characters up to white space, a
 * semicolon, a comment or (when stop_eq) an equals sign. NULL when
 * there is none. Caller frees.
 */
static char *
value(const char **pp, int stop_eq)
{
	const char *p = *pp;
	int quoted = *p == '"';
	struct buf b;

	buf_init(&b, 1024);
	if (quoted) {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			buf_addc(&b, *p);
		}
		if (*p == '"')
			p++;
	} else
		while (*p && !strchr(" \t\r\n;()\"", *p) && !(stop_eq &&
		    (*p == '=' || *p == '/')))
			buf_addc(&b, *p++);
	*pp = p;
	if (b.len == 0 && !quoted) {
		buf_free(&b);
		return NULL;
	}
	return str_lower(b.data ? buf_release(&b) : xstrdup(""));
}

/* Skips to the next semicolon (or the end). */
static void
skip_result(const char **pp)
{
	const char *p = *pp;

	while (*p && *p != ';') {
		if (*p == '(')
			cfws(&p);
		else if (*p == '"')
			free(value(&p, 0));
		else
			p++;
	}
	*pp = p;
}

/* One "method[/version]=result property=value ..." at *pp. */
static int
result_parse(const char **pp, struct authres_result *r)
{
	const char *p = *pp;
	char *key;

	memset(r, 0, sizeof(*r));
	if ((r->method = value(&p, 1)) == NULL)
		goto bad;
	if (*p == '/') {	/* a method version */
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	cfws(&p);
	if (*p != '=')
		goto bad;
	p++;
	cfws(&p);
	if ((r->result = value(&p, 0)) == NULL)
		goto bad;
	for (;;) {
		cfws(&p);
		if (*p == '\0' || *p == ';')
			break;
		if ((key = value(&p, 1)) == NULL) {
			p++;	/* something unreadable: step over it */
			continue;
		}
		cfws(&p);
		if (*p == '=') {
			char *v;

			p++;
			cfws(&p);
			v = value(&p, 0);
			if (v && strcmp(key, "header.d") == 0 && !r->header_d)
				r->header_d = v;
			else if (v && strcmp(key, "header.i") == 0 &&
			    !r->header_d && strchr(v, '@')) {
				r->header_d = xstrdup(strchr(v, '@') + 1);
				free(v);
			} else if (v && strcmp(key, "header.from") == 0 &&
			    !r->header_from)
				r->header_from = v;
			else
				free(v);
		}
		free(key);
	}
	*pp = p;
	return 0;
bad:
	free(r->method);
	free(r->result);
	skip_result(&p);
	*pp = p;
	return -1;
}

int
authres_parse(const char *v, struct authres *ar)
{
	const char *p = v;

	memset(ar, 0, sizeof(*ar));
	cfws(&p);
	if ((ar->authserv_id = value(&p, 0)) == NULL ||
	    *ar->authserv_id == '\0') {
		free(ar->authserv_id);
		ar->authserv_id = NULL;
		return -1;
	}
	cfws(&p);
	while (isdigit((unsigned char)*p))	/* a version */
		p++;
	skip_result(&p);
	while (*p == ';') {
		struct authres_result r;
		const char *at;

		p++;
		cfws(&p);
		at = p;
		if (*p == '\0')
			break;
		if (result_parse(&p, &r) < 0)
			continue;
		if (strcmp(r.method, "none") == 0 ||
		    ar->nres >= AUTHRES_MAX_RESULTS) {
			free(r.method);
			free(r.result);
			free(r.header_d);
			free(r.header_from);
		} else {
			ar->res = xreallocarray(ar->res, ar->nres + 1,
			    sizeof(*ar->res));
			ar->res[ar->nres++] = r;
		}
		if (p == at)
			p++;	/* never loop in place */
		skip_result(&p);
	}
	return 0;
}

void
authres_clear(struct authres *ar)
{
	if (ar == NULL)
		return;
	for (size_t i = 0; i < ar->nres; i++) {
		free(ar->res[i].method);
		free(ar->res[i].result);
		free(ar->res[i].header_d);
		free(ar->res[i].header_from);
	}
	free(ar->res);
	free(ar->authserv_id);
	memset(ar, 0, sizeof(*ar));
}

/* d is domain or a parent of it (relaxed alignment, never a bare TLD). */
static int
aligned(const char *d, const char *domain)
{
	size_t dl = strlen(d), n = strlen(domain);

	if (strcasecmp(d, domain) == 0)
		return 1;
	return strchr(d, '.') && n > dl + 1 && domain[n - dl - 1] == '.' &&
	    strcasecmp(domain + n - dl, d) == 0;
}

enum authres_verdict
authres_verdict(const struct mime_header *h, size_t n, const char *id,
    const char *domain, char *why, size_t whylen)
{
	int seen = 0, pass = 0, fail = 0;

	snprintf(why, whylen, "no Authentication-Results from %s", id);
	for (size_t i = 0; i < n && !fail; i++) {
		struct authres ar;

		if (seen && strcasecmp(h[i].name, "Received") == 0)
			break;	/* below: there before the server saw it */
		if (strcasecmp(h[i].name, "Authentication-Results") != 0 ||
		    authres_parse(h[i].value, &ar) < 0)
			continue;
		if (strcasecmp(ar.authserv_id, id) != 0) {
			authres_clear(&ar);
			continue;
		}
		seen = 1;
		for (size_t k = 0; k < ar.nres && !fail; k++) {
			const struct authres_result *r = &ar.res[k];
			int is_pass = strcmp(r->result, "pass") == 0;
			int is_fail = strcmp(r->result, "fail") == 0;

			if (strcmp(r->method, "dkim") == 0 && r->header_d &&
			    aligned(r->header_d, domain) && (is_pass || is_fail)) {
				snprintf(why, whylen, "%s says dkim=%s "
				    "header.d=%s", id, r->result, r->header_d);
				fail = is_fail;
				pass |= is_pass;
			} else if (strcmp(r->method, "dmarc") == 0 &&
			    (is_pass || is_fail) && (r->header_from ?
			    strcasecmp(r->header_from, domain) == 0 : is_fail)) {
				snprintf(why, whylen, "%s says dmarc=%s "
				    "header.from=%s", id, r->result, domain);
				fail = is_fail;
				pass |= is_pass;
			}
		}
		authres_clear(&ar);
	}
	if (fail)
		return AUTHRES_FAIL;
	if (pass)
		return AUTHRES_PASS;
	if (seen)
		snprintf(why, whylen, "%s gives no dkim=pass or dmarc=pass for "
		    "%s", id, domain);
	return AUTHRES_NONE;
}
