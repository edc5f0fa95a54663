/*
 * NAME
 *	ingest.c — the one pipeline every front end hands raw mail to.
 * DESCRIPTION
 *	raw bytes -> parse (mime) -> dedupe -> classify -> thread -> state
 *	change -> events, all inside one transaction (or one savepoint of a
 *	bulk batch), so a crash never leaves half a message. The milter, the
 *	IMAP poller and `tiketti ingest` all call ingest_message(); none of
 *	them parses, threads or writes SQL. A handle is used by one thread at
 *	a time (it owns no connection: the caller's store handle is per
 *	thread).
 * DIAGNOSTICS
 *	Returns enum tk_status; the text is kept for ingest_errmsg(). Nothing
 *	is logged here: the front end that decides logs once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiketti/buf.h"
#include "tiketti/ingest.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/ticket.h"

struct ingest {
	const struct tk_conf	*conf;
	struct store		*store;
	int			 in_batch;
	char			 err[512];
};

struct ingest *
ingest_new(const struct tk_conf *c, struct store *s)
{
	struct ingest *ig = xcalloc(1, sizeof(*ig));

	ig->conf = c;
	ig->store = s;
	return ig;
}

void
ingest_free(struct ingest *ig)
{
	free(ig);
}

const char *
ingest_errmsg(const struct ingest *ig)
{
	return ig->err[0] ? ig->err : "no error";
}

static enum tk_status
store_fail(struct ingest *ig, enum tk_status ts)
{
	snprintf(ig->err, sizeof(ig->err), "%s", store_errmsg(ig->store));
	return ts;
}

enum tk_status
ingest_batch_begin(struct ingest *ig)
{
	enum tk_status ts = store_begin(ig->store);

	if (ts != TK_OK)
		return store_fail(ig, ts);
	ig->in_batch = 1;
	return TK_OK;
}

enum tk_status
ingest_batch_commit(struct ingest *ig)
{
	enum tk_status ts;

	if (!ig->in_batch)
		return TK_OK;
	ig->in_batch = 0;
	if ((ts = store_commit(ig->store)) != TK_OK) {
		store_fail(ig, ts);
		store_rollback(ig->store);
	}
	return ts;
}

/*
 * The dedupe key: Message-ID plus the hash of the body, so a relay that
 * adds Received: lines does not make a second copy while a different mail
 * reusing a Message-ID still gets in. Without a Message-ID the sender,
 * date and subject stand in for it.
 */
static char *
dedupe_key(const struct tk_msg *m)
{
	char h[TK_SHA256_HEX];
	char *key, *ident;

	if (m->message_id)
		return xasprintf("mid:%s:%s", m->message_id, m->body_sha256);
	if (m->flags & MIME_NOHEADERS)
		return xasprintf("raw:%s", m->sha256);
	ident = xasprintf("%s\n%lld\n%s\n%s", m->from.addr ? m->from.addr : "",
	    (long long)m->date, m->subject, m->body_sha256);
	mime_sha256(ident, strlen(ident), h);
	key = xasprintf("noid:%s", h);
	free(ident);
	return key;
}

/* The shared address the mail came in on, or NULL. */
static const char *
find_mailbox(const struct tk_conf *c, const struct tk_msg *m,
    const struct ingest_envelope *env)
{
	if (env && env->mailbox)
		return env->mailbox;
	for (size_t i = 0; env && i < env->nrcpts; i++)
		if (conf_is_mailbox(c, env->rcpts[i]))
			return env->rcpts[i];
	for (size_t i = 0; i < m->nto; i++)
		if (m->to[i].addr && conf_is_mailbox(c, m->to[i].addr))
			return m->to[i].addr;
	for (size_t i = 0; i < m->ncc; i++)
		if (m->cc[i].addr && conf_is_mailbox(c, m->cc[i].addr))
			return m->cc[i].addr;
	return NULL;
}

/* Someone outside: neither a shared address nor an agent. */
static int
is_outsider(const struct tk_conf *c, const char *addr)
{
	return addr && !conf_is_mailbox(c, addr) &&
	    conf_agent_by_address(c, addr) == NULL;
}

/* The customer an agent's new mail is addressed to. */
static const struct mime_addr *
agent_counterpart(const struct tk_conf *c, const struct tk_msg *m)
{
	for (size_t i = 0; i < m->nto; i++)
		if (is_outsider(c, m->to[i].addr))
			return &m->to[i];
	return NULL;
}

static enum tk_status
add_participants(struct ingest *ig, int64_t ticket, const struct tk_msg *m,
    enum classify_kind kind)
{
	const struct tk_conf *c = ig->conf;
	enum tk_status ts = TK_OK;

	if (kind != KIND_CUSTOMER && kind != KIND_AGENT)
		return TK_OK;
	if (kind == KIND_CUSTOMER && m->from.addr)
		ts = store_participant_add(ig->store, ticket, m->from.addr);
	for (size_t i = 0; ts == TK_OK && i < m->nto; i++)
		if (is_outsider(c, m->to[i].addr))
			ts = store_participant_add(ig->store, ticket,
			    m->to[i].addr);
	for (size_t i = 0; ts == TK_OK && i < m->ncc; i++)
		if (is_outsider(c, m->cc[i].addr))
			ts = store_participant_add(ig->store, ticket,
			    m->cc[i].addr);
	return ts;
}

static enum tk_status
new_ticket(struct ingest *ig, const struct tk_msg *m, const char *mailbox,
    enum classify_kind kind, int64_t parent, int64_t now, int64_t *id)
{
	struct store_ticket t = { 0 };
	const struct mime_addr *who = &m->from;
	enum tk_status ts;
	char *subject = thread_subject_strip(m->subject, ig->conf->ticket_prefix);

	if (kind == KIND_AGENT && agent_counterpart(ig->conf, m))
		who = agent_counterpart(ig->conf, m);
	t.subject = *subject ? subject : (char *)"(no subject)";
	t.status = (char *)"new";
	t.priority = (char *)"normal";
	t.requester = who->addr;
	t.requester_name = who->name;
	t.mailbox = (char *)mailbox;
	t.parent = parent;
	t.created_at = now;
	ts = store_ticket_insert(ig->store, &t);
	free(subject);
	if (ts != TK_OK)
		return ts;
	*id = t.id;
	if ((ts = store_event_add(ig->store, t.id, now, "created", who->addr,
	    NULL, "new", 0)) != TK_OK)
		return ts;
	if (who != &m->from && who->addr)
		ts = store_participant_add(ig->store, t.id, who->addr);
	return ts;
}

static enum tk_status
set_status(struct ingest *ig, int64_t ticket, const char *status,
    const char *actor, int64_t now)
{
	int changed;

	return ticket_set(ig->store, ticket, "status", status, actor, now,
	    &changed, ig->err, sizeof(ig->err));
}

/*
 * Command lines an agent's mail may start with ("#solve", "#pending",
 * "#close", "#open", "#priority P", "#category C", "#assign NAME"). They
 * are read only from configured agents, only up to the first line that
 * is not a command, and each change is an event by that agent. An
 * unknown command or a bad value is recorded as a "command_error" event
 * and the rest still apply: a typo must not lose the mail.
 */
static enum tk_status
agent_commands(struct ingest *ig, int64_t ticket, const struct tk_msg *m,
    const char *actor, int64_t now)
{
	static const struct { const char *cmd; const char *field;
	    const char *value; } cmds[] = {
		{ "solve", "status", "solved" }, { "pending", "status", "pending" },
		{ "close", "status", "closed" }, { "open", "status", "open" },
		{ "priority", "priority", NULL }, { "category", "category", NULL },
		{ "assign", "assignee", NULL },
	};
	const char *p = m->body;
	enum tk_status ts = TK_OK;

	while (ts == TK_OK && *p) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len), *word, *arg;
		size_t i;
		int changed;

		p += len + (p[len] == '\n');
		str_trim(line);
		if (*line == '\0') {
			free(line);
			continue;
		}
		if (*line != '#') {
			free(line);
			break;
		}
		word = line + 1;
		arg = word + strcspn(word, " \t");
		if (*arg)
			*arg++ = '\0';
		str_trim(arg);
		str_lower(word);
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(cmds[i].cmd, word) == 0)
				break;
		if (i == sizeof(cmds) / sizeof(cmds[0]) ||
		    (cmds[i].value == NULL && *arg == '\0'))
			ts = store_event_add(ig->store, ticket, now,
			    "command_error", actor, NULL, word, 0);
		else {
			const char *v = cmds[i].value ? cmds[i].value : arg;
			char err[256];

			if (strcmp(cmds[i].field, "priority") == 0)
				str_lower(arg);
			ts = ticket_set(ig->store, ticket, cmds[i].field, v, actor,
			    now, &changed, err, sizeof(err));
			if (ts == TK_EPERM)	/* a bad value: note it, go on */
				ts = store_event_add(ig->store, ticket, now,
				    "command_error", actor, NULL, word, 0);
		}
		free(line);
	}
	return ts;
}

/*
 * Records on both tickets that one led to the other: the event's old is
 * the earlier ticket, new the one just opened.
 */
static enum tk_status
link_events(struct ingest *ig, const char *type, int64_t from, int64_t to,
    const char *actor, int64_t now)
{
	char ids[2][24];
	enum tk_status ts;

	snprintf(ids[0], sizeof(ids[0]), "%lld", (long long)from);
	snprintf(ids[1], sizeof(ids[1]), "%lld", (long long)to);
	if ((ts = store_event_add(ig->store, from, now, type, actor, ids[0],
	    ids[1], 0)) != TK_OK)
		return ts;
	return store_event_add(ig->store, to, now, type, actor, ids[0], ids[1], 0);
}

/* Everything after parsing, inside the transaction or savepoint. */
static enum tk_status
pipeline(struct ingest *ig, const struct tk_msg *m, const char *raw,
    size_t len, const struct ingest_envelope *env, struct ingest_result *res)
{
	const struct tk_conf *c = ig->conf;
	struct store *s = ig->store;
	struct classify_result cls;
	struct thread_result thr;
	struct store_ticket t = { 0 };
	struct store_message sm = { 0 };
	const char *mailbox, *actor = m->from.addr;
	int64_t now = (int64_t)time(NULL), row, ticket;
	enum tk_status ts;
	char *key = dedupe_key(m);
	int found;

	if ((ts = store_message_find(s, key, &found, &row, &ticket)) != TK_OK)
		goto fail;
	if (found) {
		res->duplicate = 1;
		res->message = row;
		res->ticket = ticket;
		goto status;
	}
	classify_message(c, m, env ? env->mail_from : NULL, &cls);
	res->kind = cls.kind;
	mailbox = find_mailbox(c, m, env);
	if ((ts = thread_find(s, c, m, m->from.addr, cls.kind == KIND_AGENT,
	    &thr)) != TK_OK)
		goto fail;
	res->how = thr.how;
	ticket = thr.ticket;

	if (ticket) {
		int f;

		if ((ts = store_ticket_get(s, ticket, &t, &f)) != TK_OK)
			goto fail;
		if (cls.kind == KIND_CUSTOMER && strcmp(t.status, "closed") == 0 &&
		    now - t.status_at > c->followup_after) {
			/* Long closed: a follow-up ticket linked to the old. */
			int64_t old = ticket;

			if ((ts = new_ticket(ig, m, mailbox, cls.kind, old, now,
			    &ticket)) != TK_OK ||
			    (ts = link_events(ig, "followup", old, ticket, actor,
			    now)) != TK_OK)
				goto fail;
			res->created = 1;
		} else if (cls.kind == KIND_CUSTOMER &&
		    (strcmp(t.status, "pending") == 0 ||
		    strcmp(t.status, "solved") == 0 ||
		    strcmp(t.status, "closed") == 0)) {
			if ((ts = set_status(ig, ticket, "open", actor, now)) !=
			    TK_OK)
				goto fail;
		} else if (cls.kind == KIND_AGENT &&
		    strcmp(t.status, "new") == 0) {
			if ((ts = set_status(ig, ticket, "open", actor, now)) !=
			    TK_OK)
				goto fail;
		}
	} else {
		if ((ts = new_ticket(ig, m, mailbox, cls.kind, 0, now,
		    &ticket)) != TK_OK)
			goto fail;
		res->created = 1;
		if (thr.refused && (ts = link_events(ig, "tag_refused",
		    thr.refused, ticket, actor, now)) != TK_OK)
			goto fail;
	}

	sm.ticket = ticket;
	sm.dedupe_key = key;
	sm.message_id = m->message_id;
	sm.direction = cls.kind == KIND_AGENT && agent_counterpart(c, m) ?
	    "out" : "in";
	sm.kind = classify_kind_str(cls.kind);
	sm.from_addr = m->from.addr;
	sm.from_name = m->from.name;
	sm.subject = m->subject;
	sm.date = m->date;
	sm.received_at = now;
	sm.mailbox = mailbox;
	sm.flags = m->flags;
	sm.body = m->body;
	sm.sha256 = m->sha256;
	sm.raw = raw;
	sm.rawlen = len;
	if ((ts = store_message_insert(s, &sm, &row)) != TK_OK)
		goto fail;
	res->message = row;
	for (size_t i = 0; i < m->natt; i++)
		if ((ts = store_attachment_add(s, row, m->att[i].name,
		    m->att[i].type, (int64_t)m->att[i].size, m->att[i].sha256)) !=
		    TK_OK)
			goto fail;
	if ((ts = store_event_add(s, ticket, now, "message", actor,
	    cls.reason, sm.kind, row)) != TK_OK ||
	    (cls.kind == KIND_AGENT && thr.ticket &&
	    (ts = agent_commands(ig, ticket, m, actor, now)) != TK_OK) ||
	    (ts = add_participants(ig, ticket, m, cls.kind)) != TK_OK ||
	    (ts = store_ticket_touch(s, ticket, now)) != TK_OK)
		goto fail;
	res->ticket = ticket;
status:
	store_ticket_clear(&t);
	if (res->ticket) {
		if ((ts = store_ticket_get(s, res->ticket, &t, &found)) != TK_OK)
			goto fail;
		if (found)
			snprintf(res->status, sizeof(res->status), "%s", t.status);
	}
	store_ticket_clear(&t);
	free(key);
	return TK_OK;
fail:
	if (ig->err[0] == '\0')
		store_fail(ig, ts);
	store_ticket_clear(&t);
	free(key);
	return ts;
}

enum tk_status
ingest_message(struct ingest *ig, const char *raw, size_t len,
    const struct ingest_envelope *env, struct ingest_result *res)
{
	struct tk_msg *m;
	enum tk_status ts;

	memset(res, 0, sizeof(*res));
	ig->err[0] = '\0';
	if ((long long)len > ig->conf->message_size_limit) {
		snprintf(ig->err, sizeof(ig->err), "message of %zu bytes is over "
		    "message_size_limit (%lld)", len,
		    ig->conf->message_size_limit);
		return TK_ELIMIT;
	}
	/* Parse before taking the write lock: it is the slow part. */
	m = mime_parse(raw, len,
	    (const char *const *)ig->conf->fallback_charsets);
	res->flags = m->flags;
	ts = ig->in_batch ? store_savepoint(ig->store) : store_begin(ig->store);
	if (ts != TK_OK) {
		store_fail(ig, ts);
		goto done;
	}
	ts = pipeline(ig, m, raw, len, env, res);
	if (ig->in_batch) {
		if (ts != TK_OK)
			store_rollback_savepoint(ig->store);
		else if ((ts = store_release(ig->store)) != TK_OK)
			store_fail(ig, ts);
	} else if (ts != TK_OK)
		store_rollback(ig->store);
	else if ((ts = store_commit(ig->store)) != TK_OK) {
		store_fail(ig, ts);
		store_rollback(ig->store);
	}
done:
	mime_free(m);
	return ts;
}
