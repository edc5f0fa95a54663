/*
 * NAME
 *	ticket.c — validated changes to a ticket's fields.
 * DESCRIPTION
 *	The one place a ticket's status, priority, category or assignee is
 *	changed: by ingest (reopen), agent commands, rules and the admin CLI.
 *	Every change is an event row with the old and new value, so history
 *	and reports come from events. Runs inside the caller's transaction;
 *	thread-safe with one store handle per thread.
 * DIAGNOSTICS
 *	Returns TK_EPERM with a message in errbuf for refused input; store
 *	failures as the store reports them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/thread.h"
#include "tiketti/ticket.h"

static const char *const statuses[] = {
	"new", "open", "pending", "solved", "closed", "spam", NULL
};
static const char *const priorities[] = {
	"low", "normal", "high", "urgent", NULL
};

static int
in_set(const char *const *set, const char *v)
{
	for (; v && *set; set++)
		if (strcmp(*set, v) == 0)
			return 1;
	return 0;
}

int
ticket_status_valid(const char *value)
{
	return in_set(statuses, value);
}

int
ticket_priority_valid(const char *value)
{
	return in_set(priorities, value);
}

static const char *
field_value(const struct store_ticket *t, const char *field)
{
	if (strcmp(field, "status") == 0)
		return t->status;
	if (strcmp(field, "priority") == 0)
		return t->priority;
	if (strcmp(field, "category") == 0)
		return t->category;
	return t->assignee;
}

enum tk_status
ticket_set(struct store *s, const struct tk_conf *c, int64_t id,
    const char *field, const char *value, const char *actor, int64_t now,
    int *changed, char *errbuf, size_t errlen)
{
	struct store_ticket t;
	const char *old;
	enum tk_status ts;
	int found;

	*changed = 0;
	if (value && *value == '\0')
		value = NULL;
	if (strcmp(field, "status") == 0 || strcmp(field, "priority") == 0) {
		int ok = strcmp(field, "status") == 0 ?
		    ticket_status_valid(value) : ticket_priority_valid(value);

		if (!ok) {
			snprintf(errbuf, errlen, "bad %s \"%s\" (want %s)", field,
			    value ? value : "", strcmp(field, "status") == 0 ?
			    "new, open, pending, solved, closed or spam" :
			    "low, normal, high or urgent");
			return TK_EPERM;
		}
	} else if (strcmp(field, "assignee") == 0 && value) {
		const struct conf_agent *a = conf_agent_by_name(c, value);

		if (a == NULL) {
			snprintf(errbuf, errlen, "no agent \"%.64s\" (want "
			    "the name of an [agent NAME] section)", value);
			return TK_EPERM;
		}
		value = a->name;
	} else if (strcmp(field, "category") == 0 && value) {
		const char *cat = conf_category(c, value);

		if (cat == NULL) {
			snprintf(errbuf, errlen, "bad category \"%.64s\" (want "
			    "%s)", value, c->ncategories ? "one of categories" :
			    "1 to 64 printable characters");
			return TK_EPERM;
		}
		value = cat;
	} else if (strcmp(field, "category") != 0 &&
	    strcmp(field, "assignee") != 0) {
		snprintf(errbuf, errlen, "unknown field \"%s\" (want status, "
		    "priority, category or assignee)", field);
		return TK_EPERM;
	}
	if ((ts = store_ticket_get(s, id, &t, &found)) != TK_OK) {
		snprintf(errbuf, errlen, "%s", store_errmsg(s));
		return ts;
	}
	if (!found) {
		snprintf(errbuf, errlen, "no ticket %lld", (long long)id);
		return TK_EPERM;
	}
	old = field_value(&t, field);
	if ((old == NULL && value == NULL) ||
	    (old && value && strcmp(old, value) == 0)) {
		store_ticket_clear(&t);
		return TK_OK;
	}
	if ((ts = store_ticket_set(s, id, field, value, now)) == TK_OK &&
	    (ts = store_event_add(s, id, now, field, actor, old, value, 0)) ==
	    TK_OK)
		*changed = 1;
	if (ts != TK_OK)
		snprintf(errbuf, errlen, "%s", store_errmsg(s));
	store_ticket_clear(&t);
	return ts;
}

void
ticket_fields_json(struct json *j, const struct tk_conf *c,
    const struct store_ticket *t)
{
	json_obj_open(j);
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = conf_field_by_name(c,
		    t->fields[i].name);

		json_key(j, t->fields[i].name);
		if (f && f->type == FIELD_NUMBER)
			json_real(j, strtod(t->fields[i].value, NULL));
		else
			json_str(j, t->fields[i].value);
	}
	json_obj_close(j);
}

enum tk_status
ticket_merge(struct store *s, int64_t src, int64_t dst, const char *actor,
    int64_t now, char *errbuf, size_t errlen)
{
	struct store_ticket a, b;
	enum tk_status ts;
	int64_t end = dst;
	char num[24];
	int fa = 0, fb = 0;

	if (src == dst) {
		snprintf(errbuf, errlen, "a ticket cannot be merged into itself");
		return TK_EPERM;
	}
	if ((ts = store_ticket_get(s, src, &a, &fa)) != TK_OK)
		goto store;
	if ((ts = store_ticket_get(s, dst, &b, &fb)) != TK_OK)
		goto store;
	if ((ts = store_ticket_follow(s, &end)) != TK_OK)
		goto store;
	if (!fa || !fb)
		snprintf(errbuf, errlen, "no ticket %lld", (long long)(fa ? dst :
		    src));
	else if (a.merged_into)
		snprintf(errbuf, errlen, "ticket %lld is merged into %lld "
		    "already", (long long)src, (long long)a.merged_into);
	else if (b.merged_into)
		snprintf(errbuf, errlen, "ticket %lld is merged into %lld: merge "
		    "into that one", (long long)dst, (long long)end);
	else {
		snprintf(num, sizeof(num), "%lld", (long long)dst);
		if ((ts = store_ticket_merge(s, src, dst, now)) != TK_OK ||
		    (ts = store_event_add(s, src, now, "merge", actor, a.status,
		    num, 0)) != TK_OK)
			goto store;
		snprintf(num, sizeof(num), "%lld", (long long)src);
		ts = store_event_add(s, dst, now, "merge", actor, num, NULL, 0);
		if (ts != TK_OK)
			goto store;
		goto done;
	}
	ts = TK_EPERM;
	goto done;
store:
	snprintf(errbuf, errlen, "%s", store_errmsg(s));
done:
	if (fa)
		store_ticket_clear(&a);
	if (fb)
		store_ticket_clear(&b);
	return ts;
}

struct merged_status {
	char	*status;
};

static int
merge_event(const struct store_event *e, void *arg)
{
	struct merged_status *m = arg;

	/* The last merge of src: the status it had then. */
	if (strcmp(e->type, "merge") == 0 && e->new_ && e->old) {
		free(m->status);
		m->status = xstrdup(e->old);
	}
	return 0;
}

enum tk_status
ticket_unmerge(struct store *s, int64_t src, const char *actor, int64_t now,
    char *errbuf, size_t errlen)
{
	struct merged_status m = { NULL };
	struct store_ticket t;
	enum tk_status ts;
	char num[24];
	int found;

	if ((ts = store_ticket_get(s, src, &t, &found)) != TK_OK) {
		snprintf(errbuf, errlen, "%s", store_errmsg(s));
		return ts;
	}
	if (!found || t.merged_into == 0) {
		snprintf(errbuf, errlen, found ? "ticket %lld is not merged" :
		    "no ticket %lld", (long long)src);
		if (found)
			store_ticket_clear(&t);
		return TK_EPERM;
	}
	if ((ts = store_ticket_events(s, src, merge_event, &m)) == TK_OK &&
	    (ts = store_ticket_unmerge(s, src, t.merged_into, m.status ?
	    m.status : "open", now)) == TK_OK) {
		snprintf(num, sizeof(num), "%lld", (long long)t.merged_into);
		ts = store_event_add(s, src, now, "unmerge", actor, num,
		    m.status ? m.status : "open", 0);
		snprintf(num, sizeof(num), "%lld", (long long)src);
		if (ts == TK_OK)
			ts = store_event_add(s, t.merged_into, now, "unmerge",
			    actor, num, NULL, 0);
	}
	if (ts != TK_OK)
		snprintf(errbuf, errlen, "%s", store_errmsg(s));
	free(m.status);
	store_ticket_clear(&t);
	return ts;
}

enum tk_status
ticket_undelivered(struct store *s, const struct tk_conf *c, int64_t ticket,
    const char *kind, int64_t now)
{
	struct store_ticket t;
	enum tk_status ts;
	char err[256];
	int found, changed;

	if (kind == NULL || (strcmp(kind, "reply") != 0 &&
	    strcmp(kind, "csat") != 0 && strcmp(kind, "autoreply") != 0))
		return TK_OK;
	if ((ts = store_tag_add(s, ticket, "undelivered")) != TK_OK ||
	    (ts = store_event_add(s, ticket, now, "tag", "deliver", NULL,
	    "undelivered", 0)) != TK_OK)
		return ts;
	if (strcmp(kind, "autoreply") == 0)
		return TK_OK;
	if ((ts = store_ticket_get(s, ticket, &t, &found)) != TK_OK || !found)
		return ts;
	if (strcmp(t.status, "new") != 0 && strcmp(t.status, "open") != 0)
		ts = ticket_set(s, c, ticket, "status", "open", "deliver", now,
		    &changed, err, sizeof(err));
	store_ticket_clear(&t);
	return ts == TK_EPERM ? TK_OK : ts;
}

/*
 * One ticket erased, its requester a pseudonym (ticket.h); for a
 * person's erasure (whom), a ticket someone else asked in keeps its
 * requester: only what may be hers goes.
 */
static enum tk_status
erase_one(struct store *s, const struct tk_conf *c, int64_t id, int64_t now,
    const char *whom, const char *actor, const char *why)
{
	struct store_ticket t;
	enum tk_status ts;
	char mac[TK_SHA256_HEX], *pseudo = NULL;
	int found;

	if ((ts = store_ticket_get(s, id, &t, &found)) != TK_OK)
		return ts;
	if (found && t.requester && strncmp(t.requester, "erased:", 7) != 0 &&
	    (whom == NULL || strcasecmp(t.requester, whom) == 0)) {
		mime_hmac(c->secret ? c->secret : "", str_lower(t.requester),
		    mac);
		pseudo = xasprintf("erased:%.16s", mac);
	} else if (found && t.requester)
		pseudo = xstrdup(t.requester);
	if (found)
		ts = store_ticket_erase(s, id, now, pseudo, actor, why);
	free(pseudo);
	store_ticket_clear(&t);
	return ts;
}

struct due {
	const struct tk_conf	*conf;
	int64_t			 now;
	int64_t			*ids;
	size_t			 n;
};

static int
due_one(int64_t id, const char *mailbox, int64_t closed_at, void *arg)
{
	struct due *d = arg;
	long long keep = conf_retention(d->conf, mailbox);

	if (keep > 0 && closed_at < d->now - keep) {
		d->ids = xreallocarray(d->ids, d->n + 1, sizeof(*d->ids));
		d->ids[d->n++] = id;
	}
	return 0;
}

enum tk_status
ticket_retention(struct store *s, const struct tk_conf *c, int64_t now,
    int64_t *erased)
{
	struct due d = { c, now, NULL, 0 };
	long long shortest = c->retention;
	enum tk_status ts;

	*erased = 0;
	for (size_t i = 0; i < c->nmailbox_conf; i++) {
		long long r = c->mailbox_conf[i].retention;

		if (r > 0 && (shortest == 0 || r < shortest))
			shortest = r;
	}
	if (shortest == 0)
		return TK_OK;	/* kept for ever */
	if ((ts = store_retention_due(s, now - shortest, due_one, &d)) !=
	    TK_OK)
		goto done;
	for (size_t i = 0; i < d.n; i++) {
		if ((ts = store_begin(s)) != TK_OK)
			break;
		if ((ts = erase_one(s, c, d.ids[i], now, NULL,
		    "retention", "retention")) != TK_OK || (ts = store_commit(s)) != TK_OK) {
			store_rollback(s);
			break;
		}
		(*erased)++;
	}
done:
	free(d.ids);
	return ts;
}

enum tk_status
ticket_forget(struct store *s, const struct tk_conf *c, const char *address,
    const char *who, int64_t now, int64_t *erased)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum tk_status ts;

	*erased = 0;
	if ((ts = store_begin(s)) != TK_OK)
		return ts;
	if ((ts = store_tickets_of(s, address, &ids, &n)) != TK_OK)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((ts = erase_one(s, c, ids[i], now, address, who,
		    "forget")) != TK_OK)
			goto fail;
	if ((ts = store_forget_address(s, address)) != TK_OK ||
	    (ts = store_commit(s)) != TK_OK)
		goto fail;
	*erased = (int64_t)n;
	free(ids);
	return TK_OK;
fail:
	store_rollback(s);
	free(ids);
	return ts;
}

/* The ticket's messages: their numbers, Message-IDs and what they
 * answer (read from their raw mail). */
struct split_msg {
	int64_t	  id;
	char	 *mid;
	char	 *subject;
	char	**answers;	/* In-Reply-To and References */
	size_t	  nanswers;
	int	  in;		/* goes to the new ticket */
};

struct split {
	struct split_msg	*v;
	size_t			 n;
};

static int
split_collect(const struct store_msginfo *m, void *arg)
{
	struct split *sp = arg;
	struct split_msg *x;

	sp->v = xreallocarray(sp->v, sp->n + 1, sizeof(*sp->v));
	x = &sp->v[sp->n++];
	memset(x, 0, sizeof(*x));
	x->id = m->id;
	x->mid = m->message_id ? xstrdup(m->message_id) : NULL;
	x->subject = xstrdup(m->subject ? m->subject : "");
	return 0;
}

static void
split_free(struct split *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->v[i].mid);
		free(sp->v[i].subject);
		for (size_t k = 0; k < sp->v[i].nanswers; k++)
			free(sp->v[i].answers[k]);
		free(sp->v[i].answers);
	}
	free(sp->v);
}

/* 1 when x answers a message already going to the new ticket. */
static int
answers_one_in(const struct split *sp, const struct split_msg *x)
{
	for (size_t k = 0; k < x->nanswers; k++)
		for (size_t i = 0; i < sp->n; i++)
			if (sp->v[i].in && sp->v[i].mid &&
			    strcmp(sp->v[i].mid, x->answers[k]) == 0)
				return 1;
	return 0;
}

enum tk_status
ticket_split(struct store *s, const struct tk_conf *c, int64_t id,
    const char *which, const char *actor, int64_t now, int64_t *out,
    char *errbuf, size_t errlen)
{
	struct split sp = { NULL, 0 };
	struct store_ticket t, nt = { 0 };
	struct split_msg *target = NULL;
	enum tk_status ts;
	size_t moving = 0;
	char num[24], *subject = NULL, *want;
	int found = 0, more;

	*out = 0;
	if ((ts = store_ticket_get(s, id, &t, &found)) != TK_OK ||
	    (found && (ts = store_ticket_messages(s, id, split_collect, &sp)) !=
	    TK_OK)) {
		snprintf(errbuf, errlen, "%s", store_errmsg(s));
		goto done;
	}
	if (!found) {
		snprintf(errbuf, errlen, "no ticket %lld", (long long)id);
		ts = TK_EPERM;
		goto done;
	}
	/* By number, or by Message-ID with or without its <>. */
	want = xstrdup(which + (which[0] == '<'));
	want[strcspn(want, ">")] = '\0';
	for (size_t i = 0; i < sp.n && target == NULL; i++) {
		char n[24];

		snprintf(n, sizeof(n), "%lld", (long long)sp.v[i].id);
		if (strcmp(n, which) == 0 || (sp.v[i].mid &&
		    strcmp(sp.v[i].mid, want) == 0))
			target = &sp.v[i];
	}
	free(want);
	if (target == NULL) {
		snprintf(errbuf, errlen, "ticket %lld has no message %s",
		    (long long)id, which);
		ts = TK_EPERM;
		goto done;
	}
	/* What each message answers, from its raw mail. */
	for (size_t i = 0; i < sp.n; i++) {
		struct buf raw;
		struct tk_msg *m;
		int rfound = 0;

		buf_init(&raw, (size_t)c->message_size_limit);
		if ((ts = store_message_raw(s, sp.v[i].id, &raw, &rfound)) ==
		    TK_ELIMIT)
			ts = TK_OK;
		if (ts != TK_OK) {
			buf_free(&raw);
			snprintf(errbuf, errlen, "%s", store_errmsg(s));
			goto done;
		}
		if (rfound) {
			m = mime_parse(raw.data ? raw.data : "", raw.len,
			    (const char *const *)c->fallback_charsets);
			sp.v[i].answers = xcalloc(m->nreferences + 1,
			    sizeof(char *));
			if (m->in_reply_to)
				sp.v[i].answers[sp.v[i].nanswers++] =
				    xstrdup(m->in_reply_to);
			for (size_t k = 0; k < m->nreferences; k++)
				sp.v[i].answers[sp.v[i].nanswers++] =
				    xstrdup(m->references[k]);
			mime_free(m);
		}
		buf_free(&raw);
	}
	/* The message and, however deep, what answers it. */
	target->in = 1;
	do {
		more = 0;
		for (size_t i = 0; i < sp.n; i++)
			if (!sp.v[i].in && answers_one_in(&sp, &sp.v[i]))
				sp.v[i].in = more = 1;
	} while (more);
	for (size_t i = 0; i < sp.n; i++)
		moving += sp.v[i].in;
	if (moving == sp.n) {
		snprintf(errbuf, errlen, "that is all of ticket %lld's mail: "
		    "nothing would be left", (long long)id);
		ts = TK_EPERM;
		goto done;
	}
	subject = thread_subject_strip(target->subject, c->ticket_prefix);
	nt.subject = *subject ? subject : (char *)"(no subject)";
	nt.status = (char *)"new";
	nt.priority = (char *)"normal";
	nt.requester = t.requester;
	nt.requester_name = t.requester_name;
	nt.mailbox = t.mailbox;
	nt.created_at = now;
	if ((ts = store_ticket_insert(s, &nt)) != TK_OK ||
	    (ts = store_event_add(s, nt.id, now, "created", actor, NULL, "new",
	    0)) != TK_OK ||
	    (ts = store_participants_copy(s, id, nt.id)) != TK_OK)
		goto storefail;
	for (size_t i = 0; i < sp.n; i++)
		if (sp.v[i].in && (ts = store_message_move(s, sp.v[i].id,
		    nt.id)) != TK_OK)
			goto storefail;
	snprintf(num, sizeof(num), "%lld", (long long)nt.id);
	if ((ts = store_event_add(s, id, now, "split", actor, NULL, num, 0)) !=
	    TK_OK)
		goto storefail;
	snprintf(num, sizeof(num), "%lld", (long long)id);
	if ((ts = store_event_add(s, nt.id, now, "split", actor, num, NULL, 0)) !=
	    TK_OK)
		goto storefail;
	*out = nt.id;
	goto done;
storefail:
	snprintf(errbuf, errlen, "%s", store_errmsg(s));
done:
	free(subject);
	if (found)
		store_ticket_clear(&t);
	split_free(&sp);
	return ts;
}
