/*
 * NAME
 *	thread.c — which ticket a message belongs to.
 * DESCRIPTION
 *	Decides threading from the parsed message and lookups in the store;
 *	never writes. The subject is read only for our own ticket tag: a
 *	subject alone never threads. Pure functions and store reads only;
 *	thread-safe with one store handle per thread.
 * DIAGNOSTICS
 *	thread_find() returns the store's status; the text is in the store.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/str.h"
#include "tiketti/thread.h"
#include "tiketti/token.h"

const char *
thread_how_str(enum thread_how how)
{
	switch (how) {
	case THREAD_TAG: return "tag";
	case THREAD_IN_REPLY_TO: return "in-reply-to";
	case THREAD_REFERENCES: return "references";
	case THREAD_DSN: return "dsn";
	case THREAD_CSAT: return "csat";
	case THREAD_VERP: return "verp";
	case THREAD_TOKEN: return "token";
	case THREAD_AGENT: return "agent";
	default: return "new";
	}
}

/* Parses "[PREFIX #N]" at p; returns the length matched or 0. */
static size_t
tag_at(const char *p, const char *prefix, int64_t *id)
{
	const char *q = p;
	size_t plen = strlen(prefix);
	long long v = 0;

	if (*q++ != '[')
		return 0;
	while (*q == ' ')
		q++;
	if (strncasecmp(q, prefix, plen) != 0)
		return 0;
	q += plen;
	while (*q == ' ')
		q++;
	if (*q++ != '#' || !isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q)) {
		if (v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*q++ - '0');
	}
	while (*q == ' ')
		q++;
	if (*q++ != ']' || v <= 0)
		return 0;
	*id = v;
	return (size_t)(q - p);
}

int
thread_subject_tag(const char *subject, const char *prefix, int64_t *id)
{
	for (const char *p = strchr(subject, '['); p; p = strchr(p + 1, '['))
		if (tag_at(p, prefix, id))
			return 1;
	return 0;
}

/*
 * Reply and forward prefixes seen in the wild: English, German, Nordic,
 * Finnish, Dutch, French, Italian, Spanish, Polish, Czech, Russian,
 * Ukrainian and others. Compared case-insensitively (ASCII) or exactly.
 */
static const char *const reply_prefixes[] = {
	"re", "fwd", "fw", "aw", "wg", "sv", "vs", "vl", "vb", "antw", "doorst",
	"tr", "rif", "r", "i", "rv", "enc", "odp", "pd", "pf", "fs", "ynt",
	"yml", "továbbítás", "vá", "atb", "továbbítva",
	"отв", "отвт", "ответ", "пересл", "переслать", "фв",
	"відп", "відповідь", "пер", "переслано",
	"回复", "转发", "答复", "回覆",
};

/* Returns the length of one prefix ("Re:", "RE[2]:", "Re :") at p, or 0. */
static size_t
prefix_at(const char *p)
{
	for (size_t i = 0; i < sizeof(reply_prefixes) / sizeof(reply_prefixes[0]);
	    i++) {
		const char *w = reply_prefixes[i];
		size_t n = strlen(w);
		const char *q = p + n;

		if (strncasecmp(p, w, n) != 0) {
			/* Cyrillic capitals: compare the lower-cased word. */
			char low[64];
			size_t k;

			if ((unsigned char)*p < 0x80 || n >= sizeof(low) ||
			    strnlen(p, n) < n)
				continue;
			memcpy(low, p, n);
			low[n] = '\0';
			for (k = 0; k + 1 < n; k++) {
				unsigned char a = (unsigned char)low[k],
				    b = (unsigned char)low[k + 1];

				/* U+0410..U+042F -> U+0430..U+044F */
				if (a == 0xd0 && b >= 0x90 && b <= 0x9f)
					low[k + 1] = (char)(b + 0x20);
				else if (a == 0xd0 && b >= 0xa0 && b <= 0xaf) {
					low[k] = (char)0xd1;
					low[k + 1] = (char)(b - 0x20);
				} else if (a == 0xd0 && b == 0x86) { /* І -> і */
					low[k] = (char)0xd1;
					low[k + 1] = (char)0x96;
				}
			}
			if (strncmp(low, w, n) != 0)
				continue;
		}
		if (*q == '[') {	/* "Re[2]:" */
			q++;
			while (isdigit((unsigned char)*q))
				q++;
			if (*q++ != ']')
				continue;
		}
		while (*q == ' ')
			q++;
		if (*q == ':')
			return (size_t)(q + 1 - p);
		if (strncmp(q, "\xef\xbc\x9a", 3) == 0)	/* full-width colon */
			return (size_t)(q + 3 - p);
	}
	return 0;
}

char *
thread_subject_strip(const char *subject, const char *prefix)
{
	const char *p = subject;
	char *out;
	int64_t id;

	for (;;) {
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		if ((n = prefix_at(p)) == 0 && (n = tag_at(p, prefix, &id)) == 0)
			break;
		p += n;
	}
	out = xstrdup(p);
	/* A tag later in the subject ("Re: Help [Ticket #4]") goes too. */
	for (char *t = strchr(out, '['); t; t = strchr(t + 1, '[')) {
		size_t n = tag_at(t, prefix, &id);

		if (n) {
			memmove(t, t + n, strlen(t + n) + 1);
			break;
		}
	}
	return str_trim(out);
}

/*
 * Threads r to the ticket of a stored Message-ID, unless that is the ticket
 * a tag was refused for: the sender may not reach it another way either.
 */
static enum tk_status
by_message_id(struct store *s, const char *mid, enum thread_how how,
    struct thread_result *r)
{
	enum tk_status ts;
	int64_t id;

	if ((ts = store_ticket_by_message_id(s, mid, &id)) == TK_OK && id &&
	    id != r->refused) {
		r->ticket = id;
		r->how = how;
	}
	return ts;
}

static void
token_consider(const struct tk_conf *c, const char *addr, struct token *best,
    struct thread_result *r)
{
	struct token t;

	if (addr == NULL)
		return;
	token_parse(c, addr, &t);
	if (t.kind == TOKEN_FORGED)
		r->forged = 1;
	else if (t.kind != TOKEN_NONE &&
	    (best->kind == TOKEN_NONE || best->kind == TOKEN_THREAD))
		*best = t;	/* a survey or VERP address names more */
}

/*
 * The best signed token among the envelope recipients, To, Cc and the
 * recipient headers a delivery agent adds (the poller has no envelope).
 */
static void
token_find(const struct tk_conf *c, const struct tk_msg *m,
    const char *const *rcpts, size_t nrcpts, struct token *best,
    struct thread_result *r)
{
	static const char *const hdrs[] = { "Delivered-To", "X-Original-To" };

	memset(best, 0, sizeof(*best));
	for (size_t i = 0; rcpts && i < nrcpts; i++)
		token_consider(c, rcpts[i], best, r);
	for (size_t i = 0; i < m->nto; i++)
		token_consider(c, m->to[i].addr, best, r);
	for (size_t i = 0; i < m->ncc; i++)
		token_consider(c, m->cc[i].addr, best, r);
	for (size_t i = 0; i < m->nheaders; i++)
		for (size_t k = 0; k < sizeof(hdrs) / sizeof(hdrs[0]); k++)
			if (strcasecmp(m->headers[i].name, hdrs[k]) == 0) {
				char *a = str_lower(str_trim(xstrdup(
				    m->headers[i].value)));
				size_t n = strlen(a);

				if (n > 2 && a[0] == '<' && a[n - 1] == '>') {
					a[n - 1] = '\0';
					memmove(a, a + 1, n - 1);
				}
				token_consider(c, a, best, r);
				free(a);
			}
}

static enum tk_status
ticket_exists(struct store *s, int64_t id, int *found)
{
	struct store_ticket t;
	enum tk_status ts = store_ticket_get(s, id, &t, found);

	store_ticket_clear(&t);
	return ts;
}

enum tk_status
thread_find(struct store *s, const struct tk_conf *c, const struct tk_msg *m,
    const char *sender, int trusted, const char *const *rcpts, size_t nrcpts,
    struct thread_result *r)
{
	enum tk_status ts = TK_OK;
	struct token tok;
	int64_t id = 0;
	int found;

	memset(r, 0, sizeof(*r));
	token_find(c, m, rcpts, nrcpts, &tok, r);
	if (tok.kind == TOKEN_CSAT) {
		if ((ts = ticket_exists(s, tok.id, &found)) != TK_OK)
			return ts;
		if (found) {
			r->ticket = tok.id;
			r->how = THREAD_CSAT;
			r->rating = tok.n;
			return TK_OK;
		}
	} else if (tok.kind == TOKEN_AGENT) {
		/* Only a proven agent answers through an agent's address;
		 * anyone else's mail to it threads as if it were not there. */
		if ((ts = ticket_exists(s, tok.id, &found)) != TK_OK)
			return ts;
		if (found && trusted) {
			r->ticket = tok.id;
			r->how = THREAD_AGENT;
			memcpy(r->agent, tok.agent, sizeof(r->agent));
			return TK_OK;
		}
		if (found)
			r->agent_refused = tok.id;
	} else if (tok.kind == TOKEN_BOUNCE) {
		int64_t row, ticket;
		char *to;

		if ((ts = store_outbox_find(s, tok.id, NULL, &row, &ticket,
		    &to, NULL)) != TK_OK)
			return ts;
		free(to);
		if (row && ticket) {
			r->ticket = ticket;
			r->how = THREAD_VERP;
			r->outbox = row;
			return TK_OK;
		}
	}
	/* A thread beats a tag: a reply to a known message goes where that
	 * message is, whatever tags its Subject has picked up. */
	if (m->in_reply_to &&
	    ((ts = by_message_id(s, m->in_reply_to, THREAD_IN_REPLY_TO, r)) !=
	    TK_OK || r->ticket))
		return ts;
	for (size_t i = m->nreferences; i-- > 0;)
		if ((ts = by_message_id(s, m->references[i], THREAD_REFERENCES,
		    r)) != TK_OK || r->ticket)
			return ts;
	/* The first tag the sender may use: a participant's, or anyone's
	 * that is trusted. The first refused one is remembered. */
	for (const char *p = m->subject; (p = strchr(p, '[')) != NULL; p++) {
		int yes = 0;

		if (tag_at(p, c->ticket_prefix, &id) == 0)
			continue;
		if ((ts = ticket_exists(s, id, &found)) != TK_OK)
			return ts;
		if (!found)
			continue;
		if (!trusted && c->tag_trust != CONF_TAG_ANY &&
		    (sender == NULL || (ts = store_participant_is(s, id,
		    sender, &yes)) != TK_OK || !yes)) {
			if (ts != TK_OK)
				return ts;
			if (r->refused == 0)
				r->refused = id;
			continue;
		}
		r->ticket = id;
		r->how = THREAD_TAG;
		r->refused = 0;
		return TK_OK;
	}
	/* A signed Reply-To: proof of having had our mail, like a tag
	 * from a participant. */
	if (tok.kind == TOKEN_THREAD && tok.id != r->refused) {
		if ((ts = ticket_exists(s, tok.id, &found)) != TK_OK)
			return ts;
		if (found) {
			r->ticket = tok.id;
			r->how = THREAD_TOKEN;
			return TK_OK;
		}
	}
	if (m->orig_message_id)
		return by_message_id(s, m->orig_message_id, THREAD_DSN, r);
	return TK_OK;
}
