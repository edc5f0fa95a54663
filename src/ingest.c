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
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tiketti/automate.h"
#include "tiketti/buf.h"
#include "tiketti/extract.h"
#include "tiketti/forward.h"
#include "tiketti/ingest.h"
#include "tiketti/mime.h"
#include "tiketti/ooo.h"
#include "tiketti/quote.h"
#include "tiketti/redact.h"
#include "tiketti/str.h"
#include "tiketti/ticket.h"

struct ingest {
	const struct tk_conf	*conf;
	struct store		*store;
	struct automate		*automate;
	int			 in_batch;
	int			 fresh;		/* the batch holds no claim yet */
	int			 broken;	/* a commit inside it failed */
	int			 blocked;	/* a claim would have waited */
	char			 err[512];
};

struct ingest *
ingest_new(const struct tk_conf *c, struct store *s)
{
	struct ingest *ig = xcalloc(1, sizeof(*ig));

	ig->conf = c;
	ig->store = s;
	ig->automate = automate_new(c, s, NULL);
	return ig;
}

void
ingest_set_rules(struct ingest *ig, const struct ruleset *rules)
{
	automate_set_rules(ig->automate, rules);
}

void
ingest_set_sla(struct ingest *ig, const struct sla *sla)
{
	automate_set_sla(ig->automate, sla);
}

void
ingest_free(struct ingest *ig)
{
	if (ig == NULL)
		return;
	automate_free(ig->automate);
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
	enum tk_status ts = store_begin_shared(ig->store);

	ig->broken = 0;
	if (ts != TK_OK)
		return store_fail(ig, ts);
	ig->in_batch = ig->fresh = 1;
	return TK_OK;
}

enum tk_status
ingest_batch_commit(struct ingest *ig)
{
	enum tk_status ts;

	if (ig->broken) {
		/* What came before the failed commit is lost: say so. */
		ig->broken = 0;
		return TK_ETEMP;
	}
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
 * Ends a batch early, to wait for a claim holding nothing: commits what
 * is done and begins anew. A failure breaks the batch: its caller hears
 * it from every later message and from ingest_batch_commit.
 */
static enum tk_status
batch_renew(struct ingest *ig)
{
	enum tk_status ts;

	if ((ts = store_commit(ig->store)) == TK_OK &&
	    (ts = store_begin_shared(ig->store)) == TK_OK) {
		ig->fresh = 1;
		return TK_OK;
	}
	store_fail(ig, ts);
	store_rollback(ig->store);
	ig->in_batch = 0;
	ig->broken = 1;
	return ts;
}

/*
 * Claims names for this message's transaction, so that writers sharing
 * the store (PostgreSQL) take turns on the same thread or ticket and on
 * nothing else. A batch that holds claims already does not wait (two
 * batches could each hold what the other wants): ig->blocked says the
 * message must be done again in a batch of its own.
 */
static enum tk_status
claim(struct ingest *ig, const char *const *keys, size_t n)
{
	int held;
	enum tk_status ts = store_claim(ig->store, keys, n,
	    !ig->in_batch || ig->fresh, &held);

	if (ts != TK_OK)
		return store_fail(ig, ts);
	if (!held) {
		ig->blocked = 1;
		return TK_ETEMP;
	}
	return TK_OK;
}

#define CLAIM_REFS	64	/* the newest References claimed */

/*
 * The message's own names and its thread's: its dedupe key and every
 * Message-ID it has or answers. A reply and the mail it answers share
 * one, so they never go in at once.
 */
static enum tk_status
claim_thread(struct ingest *ig, const struct tk_msg *m, const char *key)
{
	char *keys[3 + CLAIM_REFS];
	size_t n = 0, first = m->nreferences > CLAIM_REFS ?
	    m->nreferences - CLAIM_REFS : 0;
	enum tk_status ts;

	keys[n++] = xasprintf("dedupe:%s", key);
	if (m->message_id)
		keys[n++] = str_lower(xasprintf("mid:%s", m->message_id));
	if (m->in_reply_to)
		keys[n++] = str_lower(xasprintf("mid:%s", m->in_reply_to));
	for (size_t i = first; i < m->nreferences; i++)
		keys[n++] = str_lower(xasprintf("mid:%s", m->references[i]));
	ts = claim(ig, (const char *const *)keys, n);
	while (n > 0)
		free(keys[--n]);
	return ts;
}

/* The ticket's name: what two messages to one ticket both change. */
static enum tk_status
claim_ticket(struct ingest *ig, int64_t ticket)
{
	char key[32];
	const char *k = key;

	snprintf(key, sizeof(key), "ticket:%lld", (long long)ticket);
	return claim(ig, &k, 1);
}

void
ingest_batch_rollback(struct ingest *ig)
{
	if (ig->in_batch)
		store_rollback(ig->store);
	ig->in_batch = 0;
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
	const char *mb;

	if (env && env->mailbox)
		return env->mailbox;
	for (size_t i = 0; env && i < env->nrcpts; i++)
		if ((mb = conf_mailbox(c, env->rcpts[i])) != NULL)
			return mb;
	for (size_t i = 0; i < m->nto; i++)
		if (m->to[i].addr && (mb = conf_mailbox(c, m->to[i].addr)))
			return mb;
	for (size_t i = 0; i < m->ncc; i++)
		if (m->cc[i].addr && (mb = conf_mailbox(c, m->cc[i].addr)))
			return mb;
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
	/* Never an agent's or our own address: one that failed to prove
	 * itself must not become a participant by it. */
	if (kind == KIND_CUSTOMER && is_outsider(c, m->from.addr))
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

static enum tk_status
auto_fail(struct ingest *ig, enum tk_status ts)
{
	snprintf(ig->err, sizeof(ig->err), "%s", automate_errmsg(ig->automate));
	return ts;
}

/* The customer's languages for templates, or NULL. */
static const char *
languages(const struct tk_msg *m)
{
	const char *l = mime_header_get(m, "Content-Language");

	return l ? l : mime_header_get(m, "Accept-Language");
}

/*
 * After the message is stored: state change, agent commands and the
 * rules, which see the mail and the ticket as it is then.
 */
static enum tk_status
react(struct ingest *ig, const struct tk_msg *m, const struct ingest_envelope *env,
    const struct classify_result *cls, int64_t ticket, int64_t row,
    const char *old_status, size_t cmdlen, int created, int64_t now,
    int history, const char *new_text)
{
	struct automate *a = ig->automate;
	struct automate_mail mail = { m, env ? env->mail_from : NULL,
	    env ? env->rcpts : NULL, env ? env->nrcpts : 0, row,
	    cls->kind == KIND_AUTO || cls->kind == KIND_BOUNCE ?
	    (cls->reason ? cls->reason : "auto") : NULL, history, new_text,
	    env ? env->lookups : NULL };
	const char *actor = m->from.addr, *reopen = NULL;
	enum tk_status ts;
	int changed;

	if (cls->kind == KIND_CUSTOMER &&
	    (ts = store_ticket_customer(ig->store, ticket, now,
	    languages(m))) != TK_OK)
		return store_fail(ig, ts);
	if (!created && cls->kind == KIND_CUSTOMER && old_status &&
	    (strcmp(old_status, "pending") == 0 ||
	    strcmp(old_status, "solved") == 0 ||
	    strcmp(old_status, "closed") == 0))
		reopen = "open";
	else if (!created && cls->kind == KIND_AGENT && old_status &&
	    strcmp(old_status, "new") == 0)
		reopen = "open";
	if (reopen && (ts = automate_set(a, ticket, "status", reopen, actor,
	    &mail, now, &changed)) != TK_OK)
		return auto_fail(ig, ts);
	if (cmdlen && (ts = automate_commands(a, ticket, m->body, cmdlen,
	    actor, &mail, now)) != TK_OK)
		return auto_fail(ig, ts);
	if (created)
		ts = automate_event(a, RULES_CREATE, ticket, &mail, now);
	else if (cls->kind == KIND_CUSTOMER)
		ts = automate_event(a, RULES_CUSTOMER_REPLY, ticket, &mail, now);
	else if (cls->kind == KIND_AGENT)
		ts = automate_event(a, RULES_AGENT_REPLY, ticket, &mail, now);
	return ts == TK_OK ? TK_OK : auto_fail(ig, ts);
}

/*
 * The rating a reply to the survey gives on its first line, alone: a
 * figure 1-5 ("4", "4/5", "4."), or one of the words below in English,
 * Finnish, Swedish or German; 0 when the line is anything else (then
 * the mail is not a rating but a reply: "It is NOT solved, I have 2
 * days..." reopens the ticket). tiketti(8) lists the words.
 */
static int
rating_in(const char *text)
{
	static const struct { const char *word; int rating; } words[] = {
		{ "excellent", 5 }, { "erinomainen", 5 }, { "utmärkt", 5 },
		{ "ausgezeichnet", 5 }, { "good", 4 }, { "hyvä", 4 },
		{ "bra", 4 }, { "gut", 4 }, { "ok", 3 }, { "okay", 3 },
		{ "kohtalainen", 3 }, { "okej", 3 }, { "befriedigend", 3 },
		{ "poor", 2 }, { "huono", 2 }, { "dålig", 2 }, { "schlecht", 2 },
		{ "bad", 1 }, { "very bad", 1 }, { "surkea", 1 },
		{ "mycket dålig", 1 }, { "sehr schlecht", 1 },
	};
	const char *p = text + strspn(text, " \t\r\n");
	char line[64];
	size_t n = strcspn(p, "\r\n");

	if (n == 0 || n >= sizeof(line))
		return 0;
	memcpy(line, p, n);
	line[n] = '\0';
	str_fold(str_trim(line));
	n = strlen(line);
	while (n > 0 && strchr(".!", line[n - 1]))
		line[--n] = '\0';
	if (line[0] >= '1' && line[0] <= '5' && (line[1] == '\0' ||
	    strcmp(line + 1, "/5") == 0 || strcmp(line + 1, " / 5") == 0))
		return line[0] - '0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(line, words[i].word) == 0)
			return words[i].rating;
	return 0;
}

/* What the customer wrote above the quoted survey, at most 2000 bytes. */
static char *
answer_text(const char *body)
{
	struct buf b;
	const char *p = body;

	buf_init(&b, 2000);
	while (*p) {
		size_t n = strcspn(p, "\n");

		if (*p == '>' || (n >= 6 && (str_has_prefix_ci(p, "On ") ||
		    str_has_prefix_ci(p, "-----Original")) && n < 200 &&
		    memchr(p, ':', n) && p[n - 1 - (p[n - 1] == '\r')] == ':'))
			break;	/* the quote begins */
		if (buf_add(&b, p, n + (p[n] == '\n')) != TK_OK)
			break;
		p += n + (p[n] == '\n');
	}
	return str_trim(b.data ? buf_release(&b) : xstrdup(""));
}

/*
 * Records a survey answer: the rating (from the signed address a link
 * gave, else the text's) and whatever else was written.
 */
static enum tk_status
csat_answer(struct ingest *ig, int64_t ticket, const struct tk_msg *m,
    int rating, int64_t row, int64_t now)
{
	char *text = answer_text(m->body), num[4];
	enum tk_status ts = TK_OK;

	if (rating == 0)
		rating = rating_in(text);
	if (rating) {
		snprintf(num, sizeof(num), "%d", rating);
		ts = store_event_add(ig->store, ticket, now, "csat", m->from.addr,
		    NULL, num, row);
	}
	/* "5" alone says nothing more than the rating. */
	if (ts == TK_OK && *text && !(rating && strlen(text) <= 3))
		ts = store_event_add(ig->store, ticket, now, "csat_comment",
		    m->from.addr, NULL, text, row);
	free(text);
	return ts;
}

/*
 * A bounce of our own mail (found by its VERP return path or the
 * Message-ID it returns) that says it failed for good: the row is marked
 * bounced and the address rests for bounce_block days; the ticket is not
 * reopened. A delay notice, or an auto-reply sent to the VERP address,
 * changes nothing.
 */
static enum tk_status
bounce_note(struct ingest *ig, const struct tk_msg *m,
    const struct classify_result *cls, const struct thread_result *thr,
    int64_t ticket, int64_t msgrow, int64_t now)
{
	enum tk_status ts;
	int64_t row = 0, t;
	char *to = NULL, *kind = NULL;

	if (cls->kind != KIND_BOUNCE || (thr->how != THREAD_VERP &&
	    (thr->how != THREAD_DSN || m->orig_message_id == NULL)) ||
	    !classify_bounce_permanent(m))
		return TK_OK;
	if (thr->how == THREAD_VERP)
		ts = store_outbox_find(ig->store, thr->outbox, NULL, &row, &t,
		    &to, &kind);
	else
		ts = store_outbox_find(ig->store, 0, m->orig_message_id, &row,
		    &t, &to, &kind);
	if (ts == TK_OK && row && to) {
		if ((ts = store_bounce_add(ig->store, to, now, ticket)) == TK_OK)
			ts = store_outbox_done(ig->store, row, "bounced", 0,
			    m->subject, now);
		if (ts == TK_OK)
			ts = store_event_add(ig->store, ticket, now, "bounced",
			    m->from.addr, NULL, to, msgrow);
		/* The customer did not get it: an agent is to see that. */
		if (ts == TK_OK && t)
			ts = ticket_undelivered(ig->store, ig->conf, t, kind,
			    now);
	}
	free(to);
	free(kind);
	return ts;
}

/*
 * The time a message is recorded at: now, or for a bulk import its own
 * time, its Date: kept within its Received: times (not after the last,
 * nor a day before the first: a wrong clock or a forged Date moves
 * nothing far), else the file's time; never in the future. Sets
 * res->at and res->history (an import older than history_age).
 */
static int64_t
message_time(const struct tk_conf *c, const struct tk_msg *m,
    const struct ingest_envelope *env, struct ingest_result *res)
{
	int64_t wall = (int64_t)time(NULL), t;

	/* A forward's original: its own time, never history. */
	if (env && env->forwarded) {
		t = m->date;
		return res->at = t > 0 && t <= wall ? t : wall;
	}
	if (env == NULL || !env->stamp)
		return res->at = wall;
	t = m->date;
	if (m->received_last && (t <= 0 || t > m->received_last))
		t = m->received_last;
	if (m->received_first && t < m->received_first - 86400)
		t = m->received_first;
	if (t <= 0)
		t = env->file_time;
	if (t <= 0 || t > wall)
		t = wall;
	res->history = c->history_age > 0 && wall - t > c->history_age;
	return res->at = t;
}

/*
 * 1 when the ticket has been closed longer than followup_after at now: a
 * solved one counts as closed from close_after on, as tick would have
 * closed it (an imported history has had no tick).
 */
static int
long_closed(const struct tk_conf *c, const struct store_ticket *t,
    int64_t now)
{
	int64_t closed_at = t->status_at;

	if (strcmp(t->status, "solved") == 0)
		closed_at += c->close_after;
	else if (strcmp(t->status, "closed") != 0)
		return 0;
	return now > closed_at && now - closed_at > c->followup_after;
}

/*
 * A proven agent's mail to an agent's signed address: her answer goes to
 * the customer when the address is hers; another agent's use of it is
 * stored and said. Command lines alone send nothing.
 */
static enum tk_status
relay(struct ingest *ig, const struct tk_msg *m,
    const struct classify_result *cls, const struct thread_result *thr,
    int64_t ticket, int64_t row, int64_t now, int history, const char *text)
{
	struct automate_mail mail = { m, NULL, NULL, 0, row, NULL, history,
	    text, NULL };
	enum tk_status ts;

	if (strcasecmp(cls->agent->name, thr->agent) != 0) {
		char why[TOKEN_AGENT_MAX + 40];

		snprintf(why, sizeof(why), "the address is %s's", thr->agent);
		return store_fail(ig, store_event_add(ig->store, ticket, now,
		    "relay_refused", m->from.addr, cls->agent->name, why, row));
	}
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0')
		return TK_OK;
	ts = automate_relay(ig->automate, ticket, cls->agent->name, text, &mail,
	    now);
	return ts == TK_OK ? TK_OK : auto_fail(ig, ts);
}

/* Everything after parsing, inside the transaction or savepoint. */
/* One of form_senders: a web form's robot (form_person). */
static int
form_sender(const struct tk_conf *c, const char *addr)
{
	for (size_t i = 0; addr && i < c->nform_senders; i++)
		if (str_glob(c->form_senders[i], addr))
			return 1;
	return 0;
}

static enum tk_status pipeline(struct ingest *, const struct tk_msg *,
    const char *, size_t, const struct ingest_envelope *,
    struct ingest_result *);

/* An agent's #fwd among her command lines, or forward_subject in the
 * Subject. */
static int
forward_wanted(const struct tk_conf *c, const struct tk_msg *m)
{
	size_t len = automate_commands_len(m->body);
	const char *p = m->body;

	if (c->forward_subject && strcasestr(m->subject, c->forward_subject))
		return 1;
	while (p < m->body + len) {
		size_t n = strcspn(p, "\n");
		const char *w = p + strspn(p, " \t\r");

		if (strncasecmp(w, "#fwd", 4) == 0 && (w[4] == '\0' ||
		    isspace((unsigned char)w[4])))
			return 1;
		p += n + (p[n] == '\n');
	}
	return 0;
}

/*
 * The forwarded message as raw mail: an attached message/rfc822 as it
 * is, else one made of the header block and text of an inline forward
 * (forward.h). 0 with it in out; -1 when the mail carries none.
 */
static int
forward_original(const struct tk_conf *c, const struct tk_msg *m,
    const char *raw, size_t len, struct buf *out)
{
	const char *const *cs = (const char *const *)c->fallback_charsets;
	struct forward f;
	char date[64], sha[TK_SHA256_HEX], *name = NULL, *subj;
	struct tm tm;
	time_t t;

	for (size_t i = 0; i < m->natt; i++)
		if (m->att[i].type &&
		    strcmp(m->att[i].type, "message/rfc822") == 0 &&
		    mime_attachment(raw, len, cs, i + 1, out) == TK_OK &&
		    out->len > 0)
			return 0;
	buf_reset(out);
	if (!forward_find(m->body, &f))
		return -1;
	t = (time_t)(f.date ? f.date : m->date ? m->date : time(NULL));
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* The same forward makes the same message: dedupe holds. */
	mime_sha256(m->body, strlen(m->body), sha);
	if (f.from_name) {
		int plain = 1;

		for (const char *q = f.from_name; *q; q++)
			if ((unsigned char)*q >= 0x80 || strchr(",;:<>@\"()[]\\",
			    *q))
				plain = 0;
		name = plain ? xstrdup(f.from_name) :
		    mime_header_encode(f.from_name);
	}
	subj = mime_header_encode(f.subject ? f.subject : "");
	buf_printf(out, "From: %s%s<%s>\nDate: %s\nSubject: %s\n"
	    "Message-ID: <fwd-%.24s@tiketti.invalid>\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n%s\n", name ? name : "",
	    name ? " " : "", f.from_addr, date, subj, sha, f.body);
	free(name);
	free(subj);
	forward_clear(&f);
	return 0;
}

/*
 * The forwarded message through the pipeline as its sender's own mail
 * (her ticket, dated by it, her autoreply) to the shared address the
 * agent wrote to, in the agent's transaction; a "forwarded_in" event
 * names the agent.
 */
static enum tk_status
forward_in(struct ingest *ig, const struct tk_msg *m, struct buf *orig,
    const struct ingest_envelope *env, struct ingest_result *res)
{
	const struct tk_conf *c = ig->conf;
	struct ingest_envelope e = { 0 };
	struct mime_edited masked;
	struct redact_count redacted;
	const char *raw = orig->data ? orig->data : "";
	size_t len = orig->len;
	struct tk_msg *m2 = ingest_parse(c, raw, len);
	enum tk_status ts;

	ingest_redact(c, &m2, &raw, &len, &masked, &redacted);
	e.mail_from = m2->from.addr;
	e.rcpts = env ? env->rcpts : NULL;
	e.nrcpts = env ? env->nrcpts : 0;
	e.mailbox = find_mailbox(c, m, env);
	e.forwarded = 1;
	e.redacted = &redacted;
	ts = pipeline(ig, m2, raw, len, &e, res);
	if (ts == TK_OK && res->ticket && !res->duplicate)
		ts = store_fail(ig, store_event_add(ig->store, res->ticket,
		    res->at, "forwarded_in", m->from.addr, NULL,
		    m->from.addr, res->message));
	mime_free(m2);
	mime_edited_free(&masked);
	return ts;
}

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
	int64_t now = message_time(ig->conf, m, env, res), row, ticket;
	enum tk_status ts;
	char *key = dedupe_key(m), *new_text = NULL;
	size_t cmdlen = 0;
	int found, answer, blocked = 0;

	if ((ts = claim_thread(ig, m, key)) != TK_OK ||
	    (ts = store_message_find(s, key, m->from.addr, &found, &row,
	    &ticket, &blocked)) != TK_OK)
		goto fail;
	if (found) {
		res->duplicate = 1;
		res->message = row;
		res->ticket = ticket;
		goto status;
	}
	/* A form's envelope is its robot's, and says nothing of the
	 * person (form_person). */
	classify_message(c, m, env && !m->form_robot ? env->mail_from : NULL,
	    env ? &env->proof : NULL, &cls);
	/* A form's mail with no person in it is its robot's: stored, never
	 * answered. */
	if (m->form_robot == NULL && form_sender(c, m->from.addr)) {
		cls.kind = KIND_AUTO;
		cls.reason = "form-robot";
	}
	res->kind = cls.kind;
	/* An agent forwarding a customer's mail in: the customer's. */
	if (cls.kind == KIND_AGENT && !(env && env->forwarded) &&
	    forward_wanted(c, m)) {
		struct buf orig;

		buf_init(&orig, (size_t)c->message_size_limit);
		if (forward_original(c, m, raw, len, &orig) == 0) {
			free(key);
			ts = forward_in(ig, m, &orig, env, res);
			buf_free(&orig);
			return ts;
		}
		buf_free(&orig);
	}
	if (cls.claimed)
		snprintf(res->unverified, sizeof(res->unverified), "%s",
		    cls.unverified);
	/* An agent's own out-of-office reply: she is away until the day it
	 * names (or ooo_away); it never reaches a customer. */
	if (cls.away_agent && !res->history) {
		int64_t until;

		if (!ooo_until(m->body, now, &until))
			until = now + c->ooo_away;
		if ((ts = automate_agent_set(ig->automate, cls.away_agent, 1,
		    until, now, "ooo")) != TK_OK) {
			auto_fail(ig, ts);
			goto fail;
		}
	}
	mailbox = find_mailbox(c, m, env);
	if ((ts = thread_find(s, c, m, m->from.addr, cls.kind == KIND_AGENT,
	    env ? env->rcpts : NULL, env ? env->nrcpts : 0, &thr)) != TK_OK)
		goto fail;
	res->how = thr.how;
	res->forged = thr.forged;
	/* To the survey's address: a rating when a link gave one or the
	 * text is one; anything else is the customer writing again. */
	answer = thr.how == THREAD_CSAT && cls.kind == KIND_CUSTOMER;
	if (answer && thr.rating == 0) {
		char *text = answer_text(m->body);

		answer = rating_in(text) > 0;
		free(text);
	}
	ticket = thr.ticket;
	/* Mail for a ticket merged into another goes to that one. */
	if (ticket && (ts = store_fail(ig, store_ticket_follow(s, &ticket))) !=
	    TK_OK)
		goto fail;
	/* An agent's command lines are for us, not for the history. */
	if (cls.kind == KIND_AGENT && ticket)
		cmdlen = automate_commands_len(m->body);

	if (ticket) {
		/* Read after the claim: what the ticket is now. */
		if ((ts = claim_ticket(ig, ticket)) != TK_OK ||
		    (ts = store_ticket_get(s, ticket, &t, &found)) != TK_OK)
			goto fail;
		if (cls.kind == KIND_CUSTOMER && long_closed(c, &t, now)) {
			/* Long closed: a follow-up ticket linked to the old. */
			int64_t old = ticket;

			if ((ts = new_ticket(ig, m, mailbox, cls.kind, old, now,
			    &ticket)) != TK_OK ||
			    (ts = link_events(ig, "followup", old, ticket, actor,
			    now)) != TK_OK)
				goto fail;
			res->created = 1;
		}
	} else if (cls.away_agent)
		goto skip;	/* a ticket of its own would be noise */
	else if (cls.kind == KIND_AGENT &&
	    (cmdlen = automate_availability_len(m->body)) > 0) {
		/* Her own mail to us saying she is away or back: no
		 * ticket. An old one imported says nothing of today. */
		if (!res->history && (ts = automate_commands(ig->automate, 0,
		    m->body, cmdlen, actor, NULL, now)) != TK_OK) {
			auto_fail(ig, ts);
			goto fail;
		}
		goto skip;
	} else if (env && env->threaded_only)
		goto skip;	/* not ours: nothing is stored */
	else if (cls.kind != KIND_AGENT && blocked) {
		/* A blocked sender (#spam): kept as spam, nothing opened,
		 * nothing sent. */
		ticket = 0;
		res->spam = 1;
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
	/* Her answer to the customer, by us or by her own Cc. */
	sm.direction = cls.kind == KIND_AGENT && (agent_counterpart(c, m) ||
	    (thr.how == THREAD_AGENT &&
	    strcasecmp(cls.agent->name, thr.agent) == 0)) ? "out" : "in";
	sm.kind = res->spam ? "spam" : answer ? "csat" :
	    classify_kind_str(cls.kind);
	sm.from_addr = m->from.addr;
	sm.from_name = m->from.name;
	sm.subject = m->subject;
	sm.date = m->date;
	sm.received_at = now;
	sm.mailbox = mailbox;
	sm.flags = m->flags;
	/* Not a copy (dedupe said so) but its Message-ID is taken: stored
	 * and flagged; the first holder keeps the ID for threading. */
	sm.held_flags = MIME_MID_REUSED;
	sm.body = m->body + cmdlen;
	/* What this mail adds: for rules (body :new), templates, agents. */
	new_text = quote_strip(sm.body);
	sm.new_text = new_text;
	sm.sha256 = m->sha256;
	sm.raw = raw;
	sm.rawlen = len;
	if ((ts = store_message_insert(s, &sm, &row)) != TK_OK)
		goto fail;
	res->flags = sm.flags;
	res->message = row;
	if (res->spam) {
		store_ticket_clear(&t);
		free(key);
		free(new_text);
		return TK_OK;
	}
	for (size_t i = 0; i < m->natt; i++)
		if ((ts = store_attachment_add(s, row, m->att[i].name,
		    m->att[i].type, (int64_t)m->att[i].size, m->att[i].sha256)) !=
		    TK_OK)
			goto fail;
	if ((ts = store_event_add(s, ticket, now, "message", actor,
	    cls.reason, sm.kind, row)) != TK_OK ||
	    (ts = add_participants(ig, ticket, m, cls.kind)) != TK_OK ||
	    (!res->created && (ts = store_ticket_touch(s, ticket, now)) !=
	    TK_OK))
		goto fail;
	if (cls.claimed && (ts = store_event_add(s, ticket, now,
	    "agent_unverified", actor, cls.claimed->name, cls.unverified,
	    row)) != TK_OK)
		goto fail;
	if (env && env->redacted && (env->redacted->cards ||
	    env->redacted->hetu || env->redacted->iban)) {
		char counts[64];

		redact_count_str(env->redacted, counts, sizeof(counts));
		if ((ts = store_event_add(s, ticket, now, "redacted", NULL, NULL,
		    counts, row)) != TK_OK)
			goto fail;
	}
	if (m->form_robot && (ts = store_event_add(s, ticket, now, "form",
	    m->form_robot, m->form_robot, m->from.addr, row)) != TK_OK)
		goto fail;
	res->commands = cmdlen > 0;
	if (thr.forged && (ts = store_event_add(s, ticket, now, "token_forged",
	    actor, NULL, "a signed address with a bad signature was ignored",
	    row)) != TK_OK)
		goto fail;
	if (answer) {
		/* A survey answer: recorded, never reopening, no rules. */
		if ((ts = csat_answer(ig, ticket, m, thr.rating, row, now)) !=
		    TK_OK)
			goto fail;
	} else if ((ts = bounce_note(ig, m, &cls, &thr, ticket, row, now)) !=
	    TK_OK ||
	    (ts = react(ig, m, env, &cls, ticket, row, res->created ? NULL :
	    t.status, cmdlen, res->created, now, res->history, new_text)) !=
	    TK_OK ||
	    (thr.how == THREAD_AGENT && (ts = relay(ig, m, &cls, &thr, ticket,
	    row, now, res->history, new_text)) != TK_OK))
		goto fail;
	/* An agent's address used by someone nothing proves to be her. */
	if (thr.agent_refused && (ts = store_fail(ig, store_event_add(s,
	    thr.agent_refused, now, "relay_refused", actor, NULL,
	    "not proven to be an agent", row))) != TK_OK)
		goto fail;
	res->ticket = ticket;
status:
	store_ticket_clear(&t);
	if (res->ticket && !(env && env->no_status) &&
	    (ts = store_ticket_status(s, res->ticket, res->status,
	    sizeof(res->status))) != TK_OK)
		goto fail;
	free(key);
	free(new_text);
	return TK_OK;
skip:
	res->skipped = 1;
	store_ticket_clear(&t);
	free(key);
	return TK_OK;
fail:
	if (ig->err[0] == '\0')
		store_fail(ig, ts);
	store_ticket_clear(&t);
	free(key);
	free(new_text);
	return ts;
}

void
ingest_preview(const struct tk_conf *c, const struct tk_msg *m,
    const struct ingest_envelope *env, struct store_ticket *view,
    struct classify_result *cls)
{
	const struct mime_addr *who = &m->from;
	const char *mailbox;

	memset(view, 0, sizeof(*view));
	classify_message(c, m, env && !m->form_robot ? env->mail_from : NULL,
	    env ? &env->proof : NULL, cls);
	if (cls->kind == KIND_AGENT && agent_counterpart(c, m))
		who = agent_counterpart(c, m);
	view->subject = thread_subject_strip(m->subject, c->ticket_prefix);
	view->status = xstrdup("new");
	view->priority = xstrdup("normal");
	view->requester = who->addr ? xstrdup(who->addr) : NULL;
	view->requester_name = who->name ? xstrdup(who->name) : NULL;
	if ((mailbox = find_mailbox(c, m, env)) != NULL)
		view->mailbox = xstrdup(mailbox);
	if (languages(m))
		view->lang = xstrdup(languages(m));
	view->created_at = view->updated_at = view->status_at =
	    (int64_t)time(NULL);
}

/*
 * A web form's mail (From one of form_senders) is the person's who
 * filled the form in: the address under form_requester_field in its
 * text, else its Reply-To. From becomes the person, the robot is kept
 * in form_robot; without a person it stays the robot's.
 */
static void
form_person(const struct tk_conf *c, struct tk_msg *m)
{
	char *addr = NULL, *name = NULL;

	if (!form_sender(c, m->from.addr))
		return;
	if (c->form_requester_field &&
	    (addr = extract_key(m->body, c->form_requester_field)) != NULL &&
	    (strchr(addr, '@') == NULL || strpbrk(addr, " \t<>,;\"") != NULL ||
	    strlen(addr) > 254)) {
		free(addr);
		addr = NULL;
	}
	if (addr == NULL && m->reply_to.addr &&
	    strcasecmp(m->reply_to.addr, m->from.addr) != 0) {
		addr = xstrdup(m->reply_to.addr);
		name = m->reply_to.name ? xstrdup(m->reply_to.name) : NULL;
	}
	if (addr == NULL)
		return;
	m->form_robot = m->from.addr;
	free(m->from.name);
	m->from.addr = str_lower(addr);
	m->from.name = name;
}

void
ingest_prefetch(const struct tk_conf *c, const struct ruleset *rules,
    struct store *s, const struct tk_msg *m, const struct ingest_envelope *env,
    struct automate_lookups *out)
{
	struct classify_result cls;
	struct store_ticket view;

	memset(out, 0, sizeof(*out));
	if (c->nlookups == 0 || !rules_use_lookup(rules))
		return;
	ingest_preview(c, m, env, &view, &cls);
	/* A customer's mail: robots and agents are nobody to look up. */
	if (cls.kind == KIND_CUSTOMER)
		automate_prefetch(c, rules, s, m, &view, (int64_t)time(NULL),
		    out);
	store_ticket_clear(&view);
}

void
ingest_lookups(struct ingest *ig, const char *raw, size_t len,
    const struct ingest_envelope *env, struct automate_lookups *out)
{
	const struct ruleset *rules = automate_rules(ig->automate);
	struct tk_msg *m;

	memset(out, 0, sizeof(*out));
	if (ig->conf->nlookups == 0 || !rules_use_lookup(rules) ||
	    (long long)len > ig->conf->message_size_limit)
		return;
	m = ingest_parse(ig->conf, raw, len);
	ingest_prefetch(ig->conf, rules, ig->store, m, env, out);
	mime_free(m);
}

/* Whether redact would mask something in a text the body leaves out. */
static int
redact_look(const char *text, size_t len, void *arg)
{
	const struct tk_conf *c = arg;
	char *t = redact_text(text, len, c->redact, 0, NULL);
	int hit = t != NULL;

	free(t);
	return hit;
}

struct tk_msg *
ingest_parse(const struct tk_conf *c, const char *raw, size_t len)
{
	struct mime_scan look = { redact_look, (void *)(uintptr_t)c };
	struct tk_msg *m = mime_parse_scan(raw, len,
	    (const char *const *)c->fallback_charsets,
	    c->redact ? &look : NULL);

	form_person(c, m);
	return m;
}

struct redact_arg {
	const struct tk_conf	*conf;
	struct redact_count	 att;	/* found in attachments */
};

/* The masking redact_text does, as a rewrite of a message's text. */
static char *
redact_fn(const char *text, int part, void *arg)
{
	struct redact_arg *ra = arg;

	return redact_text(text, strlen(text), ra->conf->redact,
	    part & MIME_EDIT_HTML, part & MIME_EDIT_ATTACHMENT ? &ra->att :
	    NULL);
}

/* Masks what is left in one of the parsed strings; 1 when it did. */
static int
redact_field(const struct tk_conf *c, char **s, struct redact_count *n)
{
	char *now = redact_text(*s, strlen(*s), c->redact, 0, n);

	if (now == NULL)
		return 0;
	free(*s);
	*s = now;
	return 1;
}

void
ingest_redact(const struct tk_conf *c, struct tk_msg **mp, const char **raw,
    size_t *len, struct mime_edited *out, struct redact_count *n)
{
	struct redact_arg ra = { c, { 0, 0, 0 } };
	struct mime_edit e = { redact_fn, &ra, 1, 1 };
	struct tk_msg *m = *mp, *again;
	int edit = 0;

	memset(out, 0, sizeof(*out));
	memset(n, 0, sizeof(*n));
	if (c->redact == 0)
		return;
	/* What the agent will read, counted; text attachments and attached
	 * messages were looked at by the parse (redact_look). */
	edit = redact_field(c, &m->body, n) | redact_field(c, &m->subject, n);
	if (!edit && m->scan_hits == 0)
		return;
	if (mime_edit(*raw, *len, &e, out) != TK_OK) {
		/* Unreadable as MIME: its bytes are its text (unless a NUL
		 * says they are no text at all). */
		char *t = memchr(*raw, '\0', *len) ? NULL :
		    redact_text(*raw, *len, c->redact, 0, NULL);

		mime_edited_free(out);
		buf_init(&out->whole, 0);
		if (t == NULL)
			return;
		buf_addstr(&out->whole, t);
		free(t);
		if ((t = strstr(out->whole.data, "\r\n\r\n")) != NULL)
			out->body = (size_t)(t - out->whole.data) + 4;
		else if ((t = strstr(out->whole.data, "\n\n")) != NULL)
			out->body = (size_t)(t - out->whole.data) + 2;
		else
			out->body = out->whole.len;
		*raw = out->whole.data;
		*len = out->whole.len;
		return;
	}
	*raw = out->whole.data;
	*len = out->whole.len;
	if (ra.att.cards + ra.att.hetu + ra.att.iban > 0) {
		/* The attachments' hashes and sizes change with them. */
		again = ingest_parse(c, out->whole.data, out->whole.len);
		again->flags |= m->flags & (MIME_UNPARSED | MIME_NOHEADERS);
		mime_free(m);
		*mp = m = again;
		/* Whatever the rewrite could not reach (an entity inside a
		 * number) is masked in what is stored as text all the same. */
		redact_field(c, &m->body, NULL);
		redact_field(c, &m->subject, NULL);
	} else {
		/* Only the text and subject changed, masked above as the
		 * rewrite masked them: the parse stands, with the new
		 * hashes and the headers rules see masked too. */
		mime_rehash(m, out->whole.data, out->whole.len);
		for (size_t i = 0; i < m->nheaders; i++)
			redact_field(c, &m->headers[i].value, NULL);
	}
	/* The text read above, and the attachments' as the rewrite
	 * counted them (an inline part's HTML twin is not counted twice). */
	n->cards += ra.att.cards;
	n->hetu += ra.att.hetu;
	n->iban += ra.att.iban;
}

enum tk_status
ingest_parsed(struct ingest *ig, const struct tk_msg *m, const char *raw,
    size_t len, const struct ingest_envelope *env, struct ingest_result *res)
{
	enum tk_status ts;

	/*
	 * A message on its own is its own transaction: lost with the
	 * connection to a shared store (or a deadlock), it is done once more,
	 * whole, on a fresh one. A batch's caller starts the batch again.
	 */
	for (int again = !ig->in_batch; ; again = 0) {
		memset(res, 0, sizeof(*res));
		ig->err[0] = '\0';
		ig->blocked = 0;
		res->flags = m->flags;
		if (ig->broken) {
			snprintf(ig->err, sizeof(ig->err), "an earlier commit "
			    "of this batch failed");
			return TK_ETEMP;
		}
		ts = ig->in_batch ? store_savepoint(ig->store) :
		    store_begin_shared(ig->store);
		if (ts == TK_OK)
			ts = pipeline(ig, m, raw, len, env, res);
		else
			store_fail(ig, ts);
		if (ig->in_batch) {
			if (ts != TK_OK)
				store_rollback_savepoint(ig->store);
			else if ((ts = store_release(ig->store)) != TK_OK)
				store_fail(ig, ts);
			else
				ig->fresh = 0;
			/* Another batch holds its thread: this one ends
			 * here, and the message begins the next. */
			if (ig->blocked) {
				if ((ts = batch_renew(ig)) != TK_OK)
					return ts;
				continue;
			}
		} else if (ts != TK_OK)
			store_rollback(ig->store);
		else if ((ts = store_commit(ig->store)) != TK_OK) {
			store_fail(ig, ts);
			store_rollback(ig->store);
		}
		if (ts != TK_ETEMP || !again || !store_retryable(ig->store))
			return ts;
	}
}

enum tk_status
ingest_message(struct ingest *ig, const char *raw, size_t len,
    const struct ingest_envelope *env, struct ingest_result *res)
{
	struct ingest_envelope e = { 0 };
	struct mime_edited masked;
	struct redact_count redacted;
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
	/* Parse before taking the write lock: it is the slow part. So are
	 * lookups, never made inside a transaction (a batch's is open:
	 * an import asks nobody). */
	m = ingest_parse(ig->conf, raw, len);
	ingest_redact(ig->conf, &m, &raw, &len, &masked, &redacted);
	if (env)
		e = *env;
	e.redacted = &redacted;
	if (!ig->in_batch && env && env->lookups == NULL) {
		struct automate_lookups lk;

		ingest_prefetch(ig->conf, automate_rules(ig->automate),
		    ig->store, m, env, &lk);
		e.lookups = &lk;
		ts = ingest_parsed(ig, m, raw, len, &e, res);
		automate_lookups_free(&lk);
	} else
		ts = ingest_parsed(ig, m, raw, len, env ? &e : NULL, res);
	res->masked = masked.whole.len > 0;
	mime_free(m);
	mime_edited_free(&masked);
	return ts;
}
