/*
 * NAME
 *	token.c — signed plus-address tokens.
 * DESCRIPTION
 *	Mail tiketti sends carries tokens in addresses of the shared mailbox:
 *	a Reply-To that threads even when the subject and references are
 *	gone, survey answer addresses with the rating in them, and a VERP
 *	return path naming the outbox row, so a bounce finds its ticket and
 *	its recipient. Each is signed with HMAC-SHA256 under the `secret` of
 *	tiketti.conf: a stranger cannot make one up or change the ticket or
 *	the rating in one. Pure; thread-safe.
 * DIAGNOSTICS
 *	None here; a forged token is reported as TOKEN_FORGED and the caller
 *	logs it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/token.h"

#define MAC_LEN	16

static void
mac_of(const struct tk_conf *c, const char *payload, size_t len,
    char mac[MAC_LEN + 1])
{
	char *p = str_lower(xstrndup(payload, len)); /* addresses get lowered */
	char h[TK_SHA256_HEX];

	mime_hmac(c->secret, p, h);
	memcpy(mac, h, MAC_LEN);
	mac[MAC_LEN] = '\0';
	free(p);
}

char *
token_sign(const struct tk_conf *c, const char *payload)
{
	char mac[MAC_LEN + 1];

	if (c->secret == NULL)
		return NULL;
	mac_of(c, payload, strlen(payload), mac);
	return xasprintf("%s-%s", payload, mac);
}

char *
token_address(const struct tk_conf *c, const char *mailbox,
    const char *payload)
{
	const char *at = strrchr(mailbox, '@');
	char *tok = token_sign(c, payload), *addr;

	if (tok == NULL || at == NULL) {
		free(tok);
		return NULL;
	}
	addr = xasprintf("%.*s+%s%s", (int)(at - mailbox), mailbox, tok, at);
	free(tok);
	return addr;
}

/* Reads a decimal number at *p; 0 when there is none. */
static int
number(const char **p, int64_t *v)
{
	const char *q = *p;

	*v = 0;
	if (!isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q)) {
		if (*v > (INT64_MAX - 9) / 10)
			return 0;
		*v = *v * 10 + (*q++ - '0');
	}
	*p = q;
	return 1;
}

int
token_agent_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TOKEN_AGENT_MAX)
		return 0;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !strchr("._-", *name))
			return 0;
	return 1;
}

/* Compares the MAC without stopping at the first difference. */
static int
mac_ok(const char *a, const char *b, size_t n)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(tolower((unsigned char)a[i]) ^ b[i]);
	return diff == 0;
}

void
token_parse(const struct tk_conf *c, const char *s, struct token *t)
{
	const char *tok = s, *end = s + strlen(s), *p, *dash;
	char mac[MAC_LEN + 1];
	enum token_kind kind;
	int64_t id, n = 0;

	memset(t, 0, sizeof(*t));
	if (strchr(s, '@')) {
		const char *plus = strchr(s, '+'), *at = strrchr(s, '@');

		if (plus == NULL || plus > at || !conf_is_mailbox(c, s))
			return;
		tok = plus + 1;
		end = at;
	}
	p = tok;
	if (end - p > 5 && strncasecmp(p, "csat-", 5) == 0) {
		kind = TOKEN_CSAT;
		p += 5;
	} else if (end - p > 7 && strncasecmp(p, "bounce-", 7) == 0) {
		kind = TOKEN_BOUNCE;
		p += 7;
	} else if (end - p > 2 && strncasecmp(p, "a-", 2) == 0) {
		kind = TOKEN_AGENT;
		p += 2;
	} else if (end - p > 1 && (*p == 't' || *p == 'T') &&
	    isdigit((unsigned char)p[1])) {
		kind = TOKEN_THREAD;
		p += 1;
	} else
		return;
	if (!number(&p, &id) || id <= 0)
		return;
	if (kind == TOKEN_CSAT &&
	    (*p++ != '-' || !number(&p, &n) || n > 5))
		return;
	if (kind == TOKEN_AGENT) {
		/* The name runs to the MAC, and may have dashes of its own. */
		const char *name = p + 1;
		size_t len;

		if (*p != '-' || end - name < MAC_LEN + 2)
			return;
		dash = end - MAC_LEN - 1;
		len = (size_t)(dash - name);
		if (len == 0 || len > TOKEN_AGENT_MAX)
			return;
		memcpy(t->agent, name, len);
		t->agent[len] = '\0';
		str_lower(t->agent);
		if (!token_agent_ok(t->agent)) {
			t->agent[0] = '\0';
			return;
		}
		p = dash;
	}
	dash = p;
	if (*dash != '-' || end - dash - 1 != MAC_LEN)
		return;
	t->kind = TOKEN_FORGED;
	if (c->secret == NULL)
		return;
	mac_of(c, tok, (size_t)(dash - tok), mac);
	if (!mac_ok(dash + 1, mac, MAC_LEN))
		return;
	t->kind = kind;
	t->id = id;
	t->n = (int)n;
}
