/*
 * NAME
 *	automate.c — applying what the rules decide.
 * DESCRIPTION
 *	The rules module decides; this one acts, inside the caller's
 *	transaction: field changes (each an event; a status change runs the
 *	rules listening to it, up to AUTOMATE_MAX_DEPTH deep), tags, notes,
 *	routing to the least loaded available agent with a skill, agent
 *	commands from mail, time rules for `tiketti tick`, and one outbox row
 *	per mail or webhook. Nothing leaves from here: delivery reads the
 *	outbox after commit. A row's dedupe key (rule, ticket, occurrence)
 *	keeps a rule from queueing the same thing twice; time rules are
 *	marked fired in the same transaction as their effects. Autoreplies
 *	and surveys never go to automatic mail, to our own addresses or to
 *	robot addresses; each refusal is an "autoreply_suppressed" event.
 *	One handle per thread (it uses the caller's store handle).
 * DIAGNOSTICS
 *	Store failures are returned with the text in automate_errmsg().
 *	Problems that must not lose mail (a template gone missing since
 *	`rules check`, a route with nobody available, an unknown command)
 *	become events on the ticket instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tiketti/automate.h"
#include "tiketti/buf.h"
#include "tiketti/classify.h"
#include "tiketti/clocks.h"
#include "tiketti/deliver.h"
#include "tiketti/extract.h"
#include "tiketti/log.h"
#include "tiketti/lookup.h"
#include "tiketti/json.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/template.h"
#include "tiketti/ticket.h"
#include "tiketti/token.h"

#define AUTOMATE_MAX_DEPTH	8	/* status rules setting statuses */

struct automate {
	const struct tk_conf	*conf;
	struct store		*store;
	const struct ruleset	*rules;
	const struct sla	*sla;
	int			 depth;
	int			 history;	/* the run at hand is on history:
						 * whatever it sets off, nothing
						 * is sent */
	/* tick --dry-run: what each of tick's transactions did goes to
	 * it, then the transaction is rolled back. */
	const struct automate_dry *dry;
	int64_t			 dry_events, dry_outbox;	/* ids before */
	char			 err[512];
};

/* One rule run on one ticket. */
struct apply {
	struct automate			*a;
	int64_t				 ticket;
	struct store_ticket		 view;
	const struct automate_mail	*mail;
	const char			*event;		/* for webhooks */
	const char			*occurrence;	/* for dedupe keys */
	const char			*actor;		/* macros: the agent */
	int64_t				 now;
	const char			*doer;		/* of the action at hand */
	/* The status the event was about (a status change, a time rule's
	 * "in STATUS"): mail it queues goes only while the ticket stays so. */
	const char			*while_status;
	int				 history;	/* send nothing */
	/* Its mail answers the customer's (an assignment, an agent's
	 * answer relayed), not the mail that set it off. */
	int				 thread_customer;
	int64_t				*history_at;	/* input_init's */
	const struct mime_draft_att	*att;	/* files its mail carries */
	size_t				 natt;
};

/* The while_status of a row queued in status ("solved" also holds once
 * close_after has closed the ticket); static, or NULL. */
static const char *
while_for(const char *status)
{
	if (status == NULL)
		return NULL;
	if (strcmp(status, "solved") == 0 || strcmp(status, "closed") == 0)
		return "solved,closed";
	return status;
}

struct automate *
automate_new(const struct tk_conf *c, struct store *s,
    const struct ruleset *rules)
{
	struct automate *a = xcalloc(1, sizeof(*a));

	a->conf = c;
	a->store = s;
	a->rules = rules;
	return a;
}

void
automate_free(struct automate *a)
{
	free(a);
}

void
automate_set_rules(struct automate *a, const struct ruleset *rules)
{
	a->rules = rules;
}

const struct ruleset *
automate_rules(const struct automate *a)
{
	return a->rules;
}

void
automate_set_sla(struct automate *a, const struct sla *sla)
{
	a->sla = sla;
}

const char *
automate_errmsg(const struct automate *a)
{
	return a->err[0] ? a->err : "no error";
}

static enum tk_status
store_fail(struct automate *a, enum tk_status ts)
{
	if (ts != TK_OK)
		snprintf(a->err, sizeof(a->err), "%s", store_errmsg(a->store));
	return ts;
}

/* An event on the ticket; none without one (an agent's own news). */
static enum tk_status
event(struct automate *a, int64_t ticket, int64_t now, const char *type,
    const char *actor, const char *old, const char *new_)
{
	if (ticket == 0)
		return TK_OK;
	return store_fail(a, store_event_add(a->store, ticket, now, type, actor,
	    old, new_, 0));
}

static enum tk_status
view_load(struct apply *ap)
{
	int found;

	store_ticket_clear(&ap->view);
	return store_fail(ap->a, store_ticket_get(ap->a->store, ap->ticket,
	    &ap->view, &found));
}

static enum tk_status run_event(struct automate *a, enum rules_event ev,
    const char *status, int64_t ticket, const struct automate_mail *mail,
    const char *occurrence, int64_t now);
static enum tk_status hooks(struct apply *ap, const char *body);
static enum tk_status assigned(struct automate *a, int64_t ticket,
    const char *agent, const char *actor, const struct automate_mail *mail,
    int64_t now);

enum tk_status
automate_set(struct automate *a, int64_t ticket, const char *field,
    const char *value, const char *actor, const struct automate_mail *mail,
    int64_t now, int *changed)
{
	enum tk_status ts;
	char occ[96];

	a->err[0] = '\0';
	ts = ticket_set(a->store, a->conf, ticket, field, value, actor, now,
	    changed, a->err, sizeof(a->err));
	if (ts != TK_OK || !*changed)
		return ts;
	if (strcmp(field, "assignee") == 0)
		return value && *value ? assigned(a, ticket, value, actor,
		    mail, now) : TK_OK;
	if (strcmp(field, "status") != 0)
		return ts;
	if (a->depth >= AUTOMATE_MAX_DEPTH)
		return event(a, ticket, now, "rule_loop", actor, NULL, value);
	snprintf(occ, sizeof(occ), "%lld/%s", (long long)now, value);
	a->depth++;
	ts = run_event(a, RULES_STATUS, value, ticket, mail, occ, now);
	a->depth--;
	return ts;
}

/* ---- outbox ---- */

/* An X-Auto-Response-Suppress value that asks for no autoreply. */
static int
suppress_asked(const struct automate_mail *mail)
{
	static const char *const words[] = { "all", "autoreply", "oof" };
	const char *v;

	if (mail == NULL || mail->msg == NULL ||
	    (v = mime_header_get(mail->msg, "X-Auto-Response-Suppress")) == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(v, words[i]))
			return 1;
	return 0;
}

/* An X-Loop header that names one of our shared addresses. */
static int
our_loop(const struct tk_conf *c, const struct automate_mail *mail)
{
	const struct tk_msg *m = mail ? mail->msg : NULL;

	for (size_t i = 0; m && i < m->nheaders; i++) {
		const char *p = m->headers[i].value;

		if (strcasecmp(m->headers[i].name, "X-Loop") != 0)
			continue;
		while (*(p += strspn(p, " \t,<>")) != '\0') {
			size_t n = strcspn(p, " \t,<>");
			char *w = xstrndup(p, n);
			int hit = conf_is_mailbox(c, w);

			free(w);
			if (hit)
				return 1;
			p += n;
		}
	}
	return 0;
}

/*
 * Why an autoreply or survey must not go to this address, or NULL (with
 * TK_OK); the store's failure otherwise. RFC 3834 and what bites in
 * practice: automatic mail, our own addresses, robots, an address that
 * bounced our mail lately, and more than autoreply_limit autoreplies to
 * one address per autoreply_window, whatever the ticket.
 */
static enum tk_status
suppress_reason(const struct apply *ap, const char *kind, const char *to,
    const char **why)
{
	const struct tk_conf *c = ap->a->conf;
	enum tk_status ts;
	int64_t at, n;

	*why = NULL;
	if (to == NULL)
		*why = "no-address";
	else if (ap->mail && ap->mail->robot)
		*why = ap->mail->robot;
	else if (suppress_asked(ap->mail))
		*why = "suppress-header";
	else if (our_loop(c, ap->mail))
		*why = "x-loop";
	else if (conf_is_mailbox(c, to) || conf_agent_by_address(c, to))
		*why = "own-address";
	else if (classify_robot_address(to))
		*why = "robot-address";
	if (*why)
		return TK_OK;
	if ((ts = store_fail(ap->a, store_bounce_last(ap->a->store, to, &at))) !=
	    TK_OK)
		return ts;
	if (at && ap->now - at < c->bounce_block) {
		*why = "bounce-block";
		return TK_OK;
	}
	/* No survey for a ticket its requester never wrote to in person
	 * (an order robot's mail, say). */
	if (strcmp(kind, "csat") == 0 && ap->ticket) {
		int wrote;

		if ((ts = store_fail(ap->a, store_customer_wrote(ap->a->store,
		    ap->ticket, to, &wrote))) != TK_OK)
			return ts;
		if (!wrote)
			*why = "no-customer-mail";
		return TK_OK;
	}
	if (strcmp(kind, "autoreply") != 0)
		return TK_OK;
	if ((ts = store_fail(ap->a, store_outbox_recent(ap->a->store, to, kind,
	    ap->now - c->autoreply_window, &n))) != TK_OK)
		return ts;
	if (n >= c->autoreply_limit)
		*why = "rate-limit";
	return TK_OK;
}

static char *
dedupe_key(const struct apply *ap, const struct rules_origin *o,
    const char *kind, const char *what)
{
	if (strcmp(kind, "csat") == 0)	/* one survey per ticket */
		return xasprintf("csat:%lld", (long long)ap->ticket);
	return xasprintf("%s:%s:%s:%lld:%s", kind, o->name, what ? what : "",
	    (long long)ap->ticket, ap->occurrence);
}

/* Inserts the row; *id is 0 when its dedupe key was queued before. */
static enum tk_status
queue(struct apply *ap, const struct rules_origin *o, struct store_outbox *ob,
    const char *what, int64_t *id)
{
	char *key = dedupe_key(ap, o, ob->kind, what);
	int64_t wall = (int64_t)time(NULL);
	enum tk_status ts;

	ob->ticket = ap->ticket;
	ob->rule = o->name;
	/* A webhook reports what happened: it goes whatever came after. */
	ob->while_status = strcmp(ob->kind, "csat") == 0 ? "solved,closed" :
	    strcmp(ob->kind, "webhook") == 0 ? NULL : ap->while_status;
	ob->message = ap->mail ? ap->mail->row : 0;
	ob->dedupe = key;
	/* Queued now, whenever the mail that set it off was written. */
	ob->created_at = ap->now > wall ? ap->now : wall;
	ts = store_fail(ap->a, store_outbox_add(ap->a->store, ob, id));
	free(key);
	if (ts == TK_OK && *id)
		ts = event(ap->a, ap->ticket, ap->now, "queued", ap->doer,
		    ob->kind, what ? what : ob->to);
	return ts;
}

/* The subject with the ticket's tag in it, so the answer threads. */
static char *
tagged_subject(const struct apply *ap, const char *subject)
{
	char *tag = xasprintf("[%s #%lld]", ap->a->conf->ticket_prefix,
	    (long long)ap->ticket);
	char *s;

	if (subject == NULL)
		s = xasprintf("Re: %s %s", ap->view.subject, tag);
	else if (strstr(subject, tag) == NULL)
		s = xasprintf("%s %s", subject, tag);
	else
		s = xstrdup(subject);
	free(tag);
	return s;
}

/* The shared address the ticket's mail goes out from, or NULL. */
static const char *
from_address(const struct apply *ap)
{
	const struct tk_conf *c = ap->a->conf;

	if (ap->view.mailbox)
		return ap->view.mailbox;
	return c->nmailboxes ? c->mailboxes[0] : NULL;
}

/* Headers RFC 3834 asks of mail no person wrote at that moment. */
static const char *
kind_headers(const char *kind)
{
	if (strcmp(kind, "autoreply") == 0 || strcmp(kind, "csat") == 0)
		return "Auto-Submitted: auto-replied\n"
		    "X-Auto-Response-Suppress: All\n";
	if (strcmp(kind, "notify") == 0)
		return "Auto-Submitted: auto-generated\n"
		    "X-Auto-Response-Suppress: All\n";
	return "";	/* a reply an agent chose to send */
}

/*
 * Builds the mail of an outbox row and stores it as an outgoing message
 * of the ticket (its Message-ID threads the answers), linked to the row.
 */
static enum tk_status
build_mail(struct apply *ap, int64_t id, const char *kind, const char *to,
    const char *to_name, const char *agent, const char *subject,
    struct template_out *out)
{
	struct automate *a = ap->a;
	const struct tk_msg *m = ap->mail ? ap->mail->msg : NULL;
	const char *from = from_address(ap);
	struct mime_draft d = { 0 };
	struct store_message sm = { 0 };
	char payload[96], sha[TK_SHA256_HEX], *mid, *last = NULL, *hdrs;
	char **refs = NULL, **cmids = NULL, *ctext = NULL;
	size_t ncmids = 0;
	struct buf raw;
	enum tk_status ts;
	int64_t row;

	mid = mime_message_id(strrchr(from, '@') + 1);
	if (strcmp(kind, "csat") == 0)	/* a plain reply to a survey rates */
		snprintf(payload, sizeof(payload), "csat-%lld-0",
		    (long long)ap->ticket);
	else if (strcmp(kind, "assign") == 0 && token_agent_ok(agent))
		/* Her answer to it goes to the customer through us. */
		snprintf(payload, sizeof(payload), "a-%lld-%s",
		    (long long)ap->ticket, agent);
	else
		snprintf(payload, sizeof(payload), "t%lld",
		    (long long)ap->ticket);
	d.reply_to = token_address(a->conf, from, payload);
	d.from = from;
	d.to = to;
	d.to_name = to_name;
	d.subject = subject;
	d.message_id = mid;
	d.date = ap->now;
	d.text = out->body;
	d.html = out->html;
	d.att = ap->att;
	d.natt = ap->natt;
	if (ap->thread_customer) {
		if ((ts = store_fail(a, store_customer_mail(a->store,
		    ap->ticket, 20, &cmids, &ncmids, &ctext, NULL))) != TK_OK)
			goto done;
		if (ncmids) {
			d.in_reply_to = cmids[ncmids - 1];
			d.references = (const char *const *)cmids;
			d.nreferences = ncmids;
		}
	} else if (m && m->message_id) {
		refs = xreallocarray(NULL, m->nreferences + 1, sizeof(*refs));
		for (size_t i = 0; i < m->nreferences; i++)
			refs[i] = m->references[i];
		refs[m->nreferences] = m->message_id;
		d.in_reply_to = m->message_id;
		d.references = (const char *const *)refs;
		d.nreferences = m->nreferences + 1;
	} else if (ap->ticket && (ts = store_fail(a, store_ticket_last_mid(
	    a->store, ap->ticket, &last))) != TK_OK)
		goto done;
	else if (last) {
		d.in_reply_to = last;
		d.references = (const char *const *)&last;
		d.nreferences = 1;
	}
	hdrs = xasprintf("%s%sX-Tiketti-Ticket: %lld\n", kind_headers(kind),
	    out->headers ? out->headers : "", (long long)ap->ticket);
	d.headers = hdrs;
	buf_init(&raw, 0);
	mime_build(&d, &raw);
	free(hdrs);
	mime_sha256(raw.data, raw.len, sha);
	sm.ticket = ap->ticket;
	sm.dedupe_key = mid;
	sm.message_id = mid;
	sm.direction = "out";
	sm.kind = kind;
	sm.from_addr = from;
	sm.subject = subject;
	sm.date = ap->now;
	sm.received_at = ap->now;
	sm.mailbox = from;
	sm.body = out->body;
	sm.sha256 = sha;
	sm.raw = raw.data;
	sm.rawlen = raw.len;
	if ((ts = store_fail(a, store_message_insert(a->store, &sm, &row))) ==
	    TK_OK)
		ts = store_fail(a, store_outbox_link(a->store, id, row));
	buf_free(&raw);
done:
	for (size_t i = 0; i < ncmids; i++)
		free(cmids[i]);
	free(cmids);
	free(ctext);
	free(refs);
	free(last);
	free((char *)d.reply_to);
	free(mid);
	return ts;
}

/* The survey's links: mailto: a signed address per rating, and the web
 * page's with the same token when csat_url is set. */
static void
csat_links(struct apply *ap, const char *from, struct template_vars *v)
{
	const struct tk_conf *c = ap->a->conf;

	for (int i = 0; i < 5; i++) {
		char payload[48], *addr, *tok;

		snprintf(payload, sizeof(payload), "csat-%lld-%d",
		    (long long)ap->ticket, i + 1);
		if ((addr = token_address(c, from, payload)) == NULL)
			continue;
		v->csat[i] = xasprintf("mailto:%s", addr);
		free(addr);
		if (c->csat_url && (tok = token_sign(c, payload)) != NULL) {
			v->csat_web[i] = xasprintf("%s%ctoken=%s", c->csat_url,
			    strchr(c->csat_url, '?') ? '&' : '?', tok);
			free(tok);
		}
	}
}

/* The files of a stored message, for a mail of ours to carry. */
struct files {
	struct mime_draft_att	*att;
	struct buf		*data;
	size_t			 n;
	int64_t			 total;
	struct buf		 left;	/* those over attach_max, a line each */
	/* gathering */
	struct store_attachment	*meta;
	size_t			 nmeta;
};

static int
file_meta(const struct store_attachment *sa, void *arg)
{
	struct files *f = arg;
	struct store_attachment *m;

	f->meta = xreallocarray(f->meta, f->nmeta + 1, sizeof(*f->meta));
	m = &f->meta[f->nmeta++];
	m->name = sa->name ? xstrdup(sa->name) : NULL;
	m->type = sa->type ? xstrdup(sa->type) : NULL;
	m->size = sa->size;
	return 0;
}

static void
files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		buf_free(&f->data[i]);
	for (size_t i = 0; i < f->nmeta; i++) {
		free((char *)f->meta[i].name);
		free((char *)f->meta[i].type);
	}
	free(f->att);
	free(f->data);
	free(f->meta);
	buf_free(&f->left);
	memset(f, 0, sizeof(*f));
}

/*
 * Message row's attachments, decoded from its raw mail, up to attach_max
 * bytes in all; the others are named in f->left.
 */
static enum tk_status
files_of(struct automate *a, int64_t row, struct files *f)
{
	struct buf raw;
	enum tk_status ts;
	int found;

	memset(f, 0, sizeof(*f));
	buf_init(&f->left, 0);
	if (row == 0)
		return TK_OK;
	if ((ts = store_fail(a, store_message_attachments(a->store, row,
	    file_meta, f))) != TK_OK || f->nmeta == 0)
		return ts;
	buf_init(&raw, 0);
	if ((ts = store_fail(a, store_message_raw(a->store, row, &raw,
	    &found))) != TK_OK) {
		buf_free(&raw);
		return ts;
	}
	f->att = xreallocarray(NULL, f->nmeta, sizeof(*f->att));
	f->data = xreallocarray(NULL, f->nmeta, sizeof(*f->data));
	for (size_t i = 0; i < f->nmeta; i++) {
		const struct store_attachment *m = &f->meta[i];
		struct buf *d = &f->data[f->n];

		if (f->total + m->size > a->conf->attach_max) {
			buf_printf(&f->left, "%s (%lld bytes)\n", m->name ?
			    m->name : "(no name)", (long long)m->size);
			continue;
		}
		buf_init(d, 0);
		if (mime_attachment(raw.data ? raw.data : "", raw.len,
		    (const char *const *)a->conf->fallback_charsets, i + 1, d) !=
		    TK_OK) {
			buf_free(d);
			continue;
		}
		f->att[f->n].name = m->name;
		f->att[f->n].type = m->type;
		f->att[f->n].data = d->data ? d->data : "";
		f->att[f->n].len = d->len;
		f->total += (int64_t)d->len;
		f->n++;
	}
	buf_free(&raw);
	return TK_OK;
}

/*
 * Queues rendered mail (out is consumed): the outbox row and, when the
 * row is new, the mail itself stored on the ticket.
 */
static enum tk_status
queue_out(struct apply *ap, const struct rules_origin *o, const char *kind,
    const char *what, const char *to, const char *to_name, const char *agent,
    struct template_out *out)
{
	struct store_outbox ob = { 0 };
	char *subject = tagged_subject(ap, out->subject);
	enum tk_status ts;
	int64_t id;

	ob.kind = kind;
	ob.to = to;
	ob.subject = subject;
	ob.headers = out->headers;
	ob.body = out->body;
	if ((ts = queue(ap, o, &ob, what, &id)) == TK_OK && id)
		ts = build_mail(ap, id, kind, to, to_name, agent, subject, out);
	free(subject);
	template_out_clear(out);
	return ts;
}

/* Mail to an agent rather than to the customer. */
static int
to_agent(const char *kind)
{
	return strcmp(kind, "notify") == 0 || strcmp(kind, "assign") == 0;
}

/*
 * The assignment mail's context: the customer's other tickets, a line
 * each, newest first (NULL when none), and the text her newest mail
 * added.
 */
static enum tk_status
assign_context(struct apply *ap, char **history, char **new_text,
    int64_t *newest)
{
	struct automate *a = ap->a;
	struct store_brief *b = NULL;
	size_t n = 0, nmids;
	char **mids;
	enum tk_status ts;
	struct buf h;

	*history = NULL;
	if ((ts = store_fail(a, store_customer_mail(a->store, ap->ticket, 0,
	    &mids, &nmids, new_text, newest))) != TK_OK)
		return ts;
	if (ap->view.requester == NULL || a->conf->assign_history == 0)
		return TK_OK;
	if ((ts = store_fail(a, store_customer_tickets(a->store,
	    ap->view.requester, ap->ticket, (size_t)a->conf->assign_history,
	    &b, &n))) != TK_OK)
		return ts;
	buf_init(&h, 0);
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)b[i].created_at;
		struct tm tm;
		char day[16];

		strftime(day, sizeof(day), "%Y-%m-%d", localtime_r(&t, &tm));
		buf_printf(&h, "[%s #%lld] %s (%s, %s)\n",
		    a->conf->ticket_prefix, (long long)b[i].id,
		    b[i].subject ? b[i].subject : "", b[i].status, day);
	}
	store_briefs_free(b, n);
	*history = n ? buf_release(&h) : NULL;
	buf_free(&h);
	return TK_OK;
}

static int
due_lines(int64_t ticket, const struct sla_policy *p,
    const struct sla_clock *c, size_t n, void *arg)
{
	struct automate *a = ((void **)arg)[0];
	struct buf *b = ((void **)arg)[1];

	(void)ticket;
	for (size_t i = 0; p && i < n; i++)
		if (!c[i].stopped)
			sla_clock_text(a->sla, p, &c[i], b);
	return 0;
}

/* The ticket's running clocks, a line each, or NULL: time left. */
static enum tk_status
assign_due(struct apply *ap, char **due)
{
	struct buf b;
	void *arg[2] = { ap->a, &b };
	enum tk_status ts;

	*due = NULL;
	buf_init(&b, 0);
	ts = store_fail(ap->a, clocks_each(ap->a->store, ap->a->sla, NULL,
	    STORE_STEPS_TICKET, ap->ticket, 0, NULL, ap->now, due_lines, arg));
	if (ts == TK_OK && b.len)
		*due = buf_release(&b);
	buf_free(&b);
	return ts;
}

static enum tk_status
queue_mail(struct apply *ap, const struct rules_origin *o, const char *kind,
    const char *tmpl, const char *to, const char *agent)
{
	const struct tk_conf *c = ap->a->conf;
	int assign = strcmp(kind, "assign") == 0;
	struct template_vars v = { .ticket = &ap->view,
	    .prefix = c->ticket_prefix, .agent = agent,
	    .text = ap->mail && ap->mail->msg ? ap->mail->msg->body : NULL,
	    .new_text = ap->mail ? ap->mail->new_text : NULL };
	struct template_out out = { 0 };
	const char *why = NULL, *from = from_address(ap), *lang = ap->view.lang;
	char *history = NULL, *ctext = NULL, *due = NULL;
	struct files files = { 0 };
	int64_t newest = 0;
	enum tk_status ts;
	struct buf err;

	/* Old mail imported is history: what it sets off is recorded,
	 * never sent (an agent's #macro of last year mails nobody). */
	if (ap->history)
		return event(ap->a, ap->ticket, ap->now, "autoreply_suppressed",
		    ap->doer, kind, "history");
	/* Spam is answered by nobody. */
	if (!to_agent(kind) && ap->view.status &&
	    strcmp(ap->view.status, "spam") == 0)
		return event(ap->a, ap->ticket, ap->now, "autoreply_suppressed",
		    ap->doer, kind, "spam");
	/* Mail to the customer, a rule's reply too, minds its manners;
	 * a notification or an assignment goes to an agent. */
	if (!to_agent(kind) &&
	    (ts = suppress_reason(ap, kind, to, &why)) != TK_OK)
		return ts;
	if (why == NULL && to == NULL)
		why = "no-address";
	if (why)
		return event(ap->a, ap->ticket, ap->now, "autoreply_suppressed",
		    ap->doer, kind, why);
	if (from == NULL || strchr(from, '@') == NULL)
		return event(ap->a, ap->ticket, ap->now, "outbox_error",
		    ap->doer, kind, "no shared address to send from "
		    "(mailboxes in tiketti.conf)");
	if (strcmp(kind, "csat") == 0) {
		if (c->secret == NULL)
			return event(ap->a, ap->ticket, ap->now, "outbox_error",
			    ap->doer, kind, "a survey needs `secret` in "
			    "tiketti.conf to sign its links");
		csat_links(ap, from, &v);
	}
	/* What the customer wrote this time, whatever set it off. */
	if (assign) {
		if ((ts = assign_context(ap, &history, &ctext, &newest)) !=
		    TK_OK || (ts = files_of(ap->a, newest, &files)) != TK_OK ||
		    (ts = assign_due(ap, &due)) != TK_OK) {
			free(history);
			free(ctext);
			free(due);
			files_free(&files);
			return ts;
		}
		v.history = history;
		v.new_text = v.text = ctext;
		v.due = due;
	}
	/* An agent reads her own language, a customer his. */
	if (to_agent(kind)) {
		const struct conf_agent *ag = conf_agent_by_name(c, agent);

		lang = ag ? ag->lang : NULL;
	}
	buf_init(&err, 4096);
	ts = template_render(c->templates_dir, tmpl, lang, &v, &out, &err);
	for (int i = 0; i < 5; i++) {
		free((char *)v.csat[i]);
		free((char *)v.csat_web[i]);
	}
	if (ts == TK_EPERM && to_agent(kind)) {
		/* They work without a template of their own. */
		buf_reset(&err);
		out.body = assign ? xasprintf("Ticket #%lld is yours: %s\n"
		    "Status %s, priority %s.\n%s\n%s\n%s%s",
		    (long long)ap->ticket, ap->view.subject, ap->view.status,
		    ap->view.priority, due ? due : "", ctext ? ctext : "",
		    history ? "\nThe customer's other tickets:\n" : "",
		    history ? history : "") :
		    xasprintf("Rule \"%s\" asks you to look at ticket "
		    "#%lld: %s\nStatus %s, priority %s.\n", o->name,
		    (long long)ap->ticket, ap->view.subject, ap->view.status,
		    ap->view.priority);
		ts = TK_OK;
	}
	free(history);
	free(ctext);
	free(due);
	if (ts != TK_OK) {
		char *line = xstrndup(err.data ? err.data : "template error",
		    strcspn(err.data ? err.data : "", "\n"));

		buf_free(&err);
		files_free(&files);
		ts = event(ap->a, ap->ticket, ap->now, "template_error", ap->doer,
		    tmpl, line);
		free(line);
		return ts;
	}
	buf_free(&err);
	/* The customer's files go along; what is over attach_max is named. */
	if (files.left.len) {
		char *body = xasprintf("%s\nNot attached (over attach_max):\n%s",
		    out.body ? out.body : "", files.left.data);

		free(out.body);
		out.body = body;
	}
	ap->att = files.att;
	ap->natt = files.n;
	ts = queue_out(ap, o, kind, tmpl, to, to_agent(kind) ? agent :
	    ap->view.requester_name, agent, &out);
	ap->att = NULL;
	ap->natt = 0;
	files_free(&files);
	return ts;
}

static const char *
agent_address(const struct tk_conf *c, const char *name)
{
	const struct conf_agent *ag = conf_agent_by_name(c, name);

	return ag && ag->naddresses ? ag->addresses[0] : NULL;
}

/* 1 when actor (an address, "rule:NAME" or "admin") is the agent's. */
static int
is_agent(const struct conf_agent *ag, const char *actor)
{
	for (size_t i = 0; actor && i < ag->naddresses; i++)
		if (strcasecmp(ag->addresses[i], actor) == 0)
			return 1;
	return 0;
}

/*
 * A ticket given to an agent: the webhooks that hear of it, and the
 * assignment mail (the ticket, what the customer wrote, his other
 * tickets) to her unless she took it herself, Reply-To her signed
 * address of the shared mailbox.
 */
static enum tk_status
assigned(struct automate *a, int64_t ticket, const char *agent,
    const char *actor, const struct automate_mail *mail, int64_t now)
{
	static const struct rules_origin o = { .name = "assign" };
	const struct conf_agent *ag = conf_agent_by_name(a->conf, agent);
	char occ[128];
	struct apply ap = { .a = a, .ticket = ticket, .mail = mail,
	    .event = "assign", .occurrence = occ, .now = now, .doer = actor,
	    .history = a->history || (mail && mail->history),
	    .thread_customer = 1 };
	enum tk_status ts;

	if (ag == NULL)
		return TK_OK;
	snprintf(occ, sizeof(occ), "%lld/%s", (long long)now, ag->name);
	if ((ts = view_load(&ap)) != TK_OK)
		goto out;
	ap.event = "ticket.assigned";
	if ((ts = hooks(&ap, NULL)) != TK_OK)
		goto out;
	ap.event = "assign";
	if (a->conf->assign_mail && !is_agent(ag, actor))
		ts = queue_mail(&ap, &o, "assign", "assign",
		    agent_address(a->conf, ag->name), ag->name);
out:
	store_ticket_clear(&ap.view);
	return ts;
}

enum tk_status
automate_relay(struct automate *a, int64_t ticket, const char *agent,
    const char *text, const struct automate_mail *mail, int64_t now)
{
	static const struct rules_origin o = { .name = "relay" };
	char occ[32];
	struct apply ap = { .a = a, .ticket = ticket, .mail = mail,
	    .event = "relay", .occurrence = occ, .now = now, .doer = agent,
	    .history = a->history || (mail && mail->history),
	    .thread_customer = 1 };
	struct template_out out = { 0 };
	struct files files = { 0 };
	const char *to, *from, *why = NULL;
	enum tk_status ts;

	a->err[0] = '\0';
	buf_init(&files.left, 0);
	snprintf(occ, sizeof(occ), "%lld", (long long)(mail ? mail->row : 0));
	if ((ts = view_load(&ap)) != TK_OK)
		goto out;
	to = ap.view.requester;
	from = from_address(&ap);
	if (ap.history)
		why = "history";
	else if (to == NULL)
		why = "no-address";
	else if (conf_is_mailbox(a->conf, to) ||
	    conf_agent_by_address(a->conf, to))
		why = "own-address";
	if (why) {
		ts = event(a, ticket, now, "autoreply_suppressed", agent,
		    "reply", why);
		goto out;
	}
	if (from == NULL || strchr(from, '@') == NULL) {
		ts = event(a, ticket, now, "outbox_error", agent, "reply",
		    "no shared address to send from (mailboxes in "
		    "tiketti.conf)");
		goto out;
	}
	/* Her files go to the customer; those over attach_max do not. */
	if ((ts = files_of(a, mail ? mail->row : 0, &files)) != TK_OK)
		goto out;
	if (files.left.len && (ts = event(a, ticket, now, "attachment_dropped",
	    agent, "reply", files.left.data)) != TK_OK)
		goto out;
	out.body = xstrdup(text);
	ap.att = files.att;
	ap.natt = files.n;
	ts = queue_out(&ap, &o, "reply", "relay", to, ap.view.requester_name,
	    NULL, &out);
out:
	files_free(&files);
	store_ticket_clear(&ap.view);
	return ts;
}

/*
 * The webhook's JSON body (documented in tiketti.8): the event, the rule,
 * and the ticket with what another queue needs to route it.
 */
static void
webhook_body(const struct apply *ap, const struct rules_origin *o,
    struct buf *body)
{
	const struct store_ticket *t = &ap->view;
	struct json j;
	char *tag;

	json_init(&j, body, 0);
	json_obj_open(&j);
	json_key_str(&j, "event", ap->event);
	json_key_str(&j, "rule", o->name[0] ? o->name : NULL);
	json_key_int(&j, "at", ap->now);
	json_key(&j, "ticket");
	json_obj_open(&j);
	json_key_int(&j, "id", t->id);
	tag = xasprintf("[%s #%lld]", ap->a->conf->ticket_prefix,
	    (long long)t->id);
	json_key_str(&j, "tag", tag);
	free(tag);
	json_key_str(&j, "subject", t->subject);
	json_key_str(&j, "status", t->status);
	json_key_str(&j, "priority", t->priority);
	json_key_str(&j, "category", t->category);
	json_key_str(&j, "requester", t->requester);
	json_key_str(&j, "requester_name", t->requester_name);
	json_key_str(&j, "assignee", t->assignee);
	json_key_str(&j, "skill", t->skill);
	json_key_str(&j, "mailbox", t->mailbox);
	json_key(&j, "tags");
	json_arr_open(&j);
	for (const char *p = t->tags; p && *p;) {
		size_t n = strcspn(p, ",");
		char *one = xstrndup(p, n);

		json_str(&j, one);
		free(one);
		p += n + (p[n] == ',');
	}
	json_arr_close(&j);
	json_key_int(&j, "created_at", t->created_at);
	json_key(&j, "fields");
	ticket_fields_json(&j, ap->a->conf, t);
	json_obj_close(&j);
	json_obj_close(&j);
}

static enum tk_status
queue_webhook(struct apply *ap, const struct rules_origin *o, const char *name)
{
	struct store_outbox ob = { 0 };
	struct buf body;
	enum tk_status ts;
	int64_t id;

	if (conf_webhook_by_name(ap->a->conf, name) == NULL)
		return event(ap->a, ap->ticket, ap->now, "webhook_error",
		    ap->doer, name, "no such webhook");
	if (ap->history)
		return event(ap->a, ap->ticket, ap->now, "autoreply_suppressed",
		    ap->doer, "webhook", "history");
	buf_init(&body, 0);
	webhook_body(ap, o, &body);
	/* The URL and token are looked up when it is sent: a fixed URL
	 * or a new token in tiketti.conf applies to what is queued. */
	ob.kind = "webhook";
	ob.to = name;
	ob.subject = ap->event;
	ob.body = body.data;
	ts = queue(ap, o, &ob, name, &id);
	buf_free(&body);
	return ts;
}

/*
 * A system event to every webhook that asked for it (events = in its
 * section), whatever the rules say: one row each, once per occurrence.
 * body NULL: the ticket's, as a rule's webhook sends it.
 */
static enum tk_status
hooks(struct apply *ap, const char *body)
{
	static const struct rules_origin o = { .name = "" };
	const struct tk_conf *c = ap->a->conf;
	enum tk_status ts = TK_OK;
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; ts == TK_OK && i < c->nwebhooks; i++) {
		struct store_outbox ob = { 0 };
		int64_t id;

		if (!conf_webhook_wants(&c->webhooks[i], ap->event) ||
		    ap->history)
			continue;
		if (body == NULL && b.len == 0)
			webhook_body(ap, &o, &b);
		ob.kind = "webhook";
		ob.to = c->webhooks[i].name;
		ob.subject = ap->event;
		ob.body = body ? body : b.data;
		ts = queue(ap, &o, &ob, c->webhooks[i].name, &id);
	}
	buf_free(&b);
	return ts;
}

/* ---- routing ---- */

static int
has_skill(const struct conf_agent *ag, const char *skill)
{
	for (size_t i = 0; i < ag->nskills; i++)
		if (strcasecmp(ag->skills[i], skill) == 0)
			return 1;
	return 0;
}

enum tk_status
automate_agent_away(struct automate *a, const struct conf_agent *ag,
    int64_t now, int *away, int64_t *until)
{
	struct store_agent_state as;
	enum tk_status ts;

	*away = ag->away;
	*until = 0;
	if (*away)
		return TK_OK;
	if ((ts = store_fail(a, store_agent_state_get(a->store, ag->name,
	    &as))) != TK_OK)
		return ts;
	*away = as.away && (as.until == 0 || as.until > now);
	if (*away)
		*until = as.until;
	free(as.why);
	return TK_OK;
}

/*
 * Whether ag may take one more ticket now: not away and under her
 * max_open. *open is her open tickets, *last her last assignment's
 * event (for round robin).
 */
static enum tk_status
agent_free(struct automate *a, const struct conf_agent *ag, int64_t now,
    int *ok, int64_t *open, int64_t *last)
{
	enum tk_status ts;
	int64_t until;
	int away;

	*ok = 0;
	if ((ts = automate_agent_away(a, ag, now, &away, &until)) != TK_OK ||
	    away)
		return ts;
	if ((ts = store_fail(a, store_agent_load(a->store, ag->name, open,
	    last))) != TK_OK)
		return ts;
	*ok = ag->max_open == 0 || *open < ag->max_open;
	return TK_OK;
}

/*
 * The agent who takes a ticket meant for ag: herself, or while she is
 * away (or full) her deputy; NULL when neither may take it.
 */
static enum tk_status
stand_in(struct automate *a, const struct conf_agent *ag, int64_t now,
    const struct conf_agent **who, int64_t *open, int64_t *last)
{
	enum tk_status ts;
	int ok;

	*who = NULL;
	if ((ts = agent_free(a, ag, now, &ok, open, last)) != TK_OK || ok) {
		*who = ok ? ag : NULL;
		return ts;
	}
	if (ag->deputy == NULL ||
	    (ag = conf_agent_by_name(a->conf, ag->deputy)) == NULL)
		return TK_OK;
	if ((ts = agent_free(a, ag, now, &ok, open, last)) == TK_OK && ok)
		*who = ag;
	return ts;
}

/*
 * The agent with the skill (or her deputy while she is away) who may
 * take one more and has the fewest open tickets; among equals the one
 * whose last assignment is oldest (round robin), then the first in the
 * configuration. NULL when nobody may: the ticket waits unassigned.
 */
static enum tk_status
route_pick(struct automate *a, const char *skill, int64_t now,
    const char **who)
{
	int64_t best_open = 0, best_last = 0;

	*who = NULL;
	for (size_t i = 0; i < a->conf->nagents; i++) {
		const struct conf_agent *ag = &a->conf->agents[i], *in;
		int64_t open, last;
		enum tk_status ts;

		if (!has_skill(ag, skill))
			continue;
		if ((ts = stand_in(a, ag, now, &in, &open, &last)) != TK_OK)
			return ts;
		if (in && (*who == NULL || open < best_open ||
		    (open == best_open && last < best_last))) {
			*who = in->name;
			best_open = open;
			best_last = last;
		}
	}
	return TK_OK;
}

/* ---- lookups ---- */

/* The lookup done for this mail before the transaction, or NULL. */
static const struct automate_lookup *
prefetched(const struct apply *ap, const char *name)
{
	const struct automate_lookups *l = ap->mail ? ap->mail->lookups : NULL;

	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->v[i].conf->name, name) == 0)
			return &l->v[i];
	return NULL;
}

/*
 * lookup NAME inside the transaction: the answer fetched before it set
 * as fields (written to the cache when new), or a lookup_failed event
 * naming the lookup and why ("crm: timeout"); the ticket is made either
 * way.
 */
static enum tk_status
lookup_apply(struct apply *ap, const char *name, const char *actor)
{
	struct automate *a = ap->a;
	const struct automate_lookup *lk = prefetched(ap, name);
	const struct conf_lookup *l = conf_lookup_by_name(a->conf, name);
	struct lookup_value *v = NULL;
	enum tk_status ts = TK_OK;
	char why[800], err[200];
	size_t n = 0;

	if (l == NULL || lk == NULL || lk->error != NULL) {
		snprintf(why, sizeof(why), "%s: %s", name, lk && lk->error ?
		    lk->error : ap->mail == NULL ? "lookups run for mail only" :
		    "not asked before the transaction (its rule did not hold "
		    "on the mail alone)");
		return event(a, ap->ticket, ap->now, "lookup_failed", actor,
		    name, why);
	}
	if (lookup_answer(l, lk->answer, strlen(lk->answer), &v, &n, err,
	    sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "%s: %s", name, err);
		return event(a, ap->ticket, ap->now, "lookup_failed", actor,
		    name, why);
	}
	if (!lk->cached && l->cache > 0)
		ts = store_fail(a, store_lookup_put(a->store, name, lk->url,
		    lk->at, lk->answer));
	for (size_t i = 0; ts == TK_OK && i < n; i++) {
		ts = automate_set_field(a, ap->ticket, v[i].field, v[i].value,
		    actor, ap->now);
		if (ts == TK_EPERM) {	/* a value its field refuses */
			snprintf(why, sizeof(why), "%s: %s", name, a->err);
			ts = event(a, ap->ticket, ap->now, "lookup_failed",
			    actor, name, why);
		}
	}
	lookup_values_free(v, n);
	if (ts == TK_OK)
		ts = event(a, ap->ticket, ap->now, "lookup", actor, name,
		    lk->cached ? "cached" : "asked");
	return ts == TK_OK ? view_load(ap) : ts;
}

struct prefetch {
	const struct tk_conf	*conf;
	struct store		*store;
	const struct tk_msg	*msg;
	struct store_ticket	*view;
	int64_t			 now;
	struct automate_lookups	*out;
};

/* One lookup, unless done already for this mail: its result. */
static const struct automate_lookup *
prefetch_one(struct prefetch *pf, const struct conf_lookup *l)
{
	struct automate_lookup *lk;
	char err[200], *token = NULL, *hdrv[2];
	struct deliver_request req = { 0 };
	size_t nh = 0;
	struct buf b;

	for (size_t i = 0; i < pf->out->n; i++)
		if (pf->out->v[i].conf == l)
			return &pf->out->v[i];
	pf->out->v = xreallocarray(pf->out->v, pf->out->n + 1,
	    sizeof(*pf->out->v));
	lk = &pf->out->v[pf->out->n++];
	memset(lk, 0, sizeof(*lk));
	lk->conf = l;
	lk->at = pf->now;
	if ((lk->url = lookup_url(l->url, pf->view->requester, pf->view->fields,
	    pf->view->nfields, err, sizeof(err))) == NULL) {
		lk->error = xstrdup(err);
		return lk;
	}
	if (pf->store && l->cache > 0 && store_lookup_get(pf->store, l->name,
	    lk->url, pf->now - l->cache, &lk->answer) == TK_OK &&
	    lk->answer) {
		lk->cached = 1;
		return lk;
	}
	if (l->token_file && conf_read_secret("token_file", l->token_file,
	    &token, err, sizeof(err)) != TK_OK) {
		lk->error = xstrdup(err);
		return lk;
	}
	if (token)
		hdrv[nh++] = xasprintf("Authorization: Bearer %s", token);
	if (l->header)
		hdrv[nh++] = xstrdup(l->header);
	buf_init(&b, LOOKUP_MAX_ANSWER);
	req.method = l->post ? "POST" : "GET";
	req.url = lk->url;
	req.headers = (const char *const *)hdrv;
	req.nheaders = nh;
	req.timeout = (long)l->timeout;
	if (deliver_fetch(&req, &b, err, sizeof(err)) == TK_OK)
		lk->answer = xstrndup(b.data ? b.data : "", b.len);
	else
		lk->error = xstrdup(err);
	/* Never the token in a log: only the lookup's name and why. */
	if (lk->error)
		log_warnx("lookup %s: %s", l->name, lk->error);
	buf_free(&b);
	for (size_t i = 0; i < nh; i++)
		free(hdrv[i]);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return lk;
}

/* The preview's rules: fields mirrored, lookups done. */
static enum tk_status
prefetch_action(const struct rules_origin *o, const struct rules_action *ac,
    void *arg)
{
	struct prefetch *pf = arg;
	const struct conf_lookup *l;
	char *v;

	(void)o;
	if (ac->kind == ACT_LOOKUP && (l = conf_lookup_by_name(pf->conf,
	    ac->arg)) != NULL) {
		const struct automate_lookup *lk = prefetch_one(pf, l);
		struct lookup_value *vals = NULL;
		size_t n = 0;
		char err[200];

		/* Later rules (and lookups) see what it answered. */
		if (lk->answer && lookup_answer(l, lk->answer,
		    strlen(lk->answer), &vals, &n, err, sizeof(err)) == 0)
			for (size_t i = 0; i < n; i++)
				rules_ticket_field(pf->view, vals[i].field,
				    vals[i].value);
		lookup_values_free(vals, n);
	} else if (ac->kind == ACT_EXTRACT && (v = ac->re ?
	    extract_regex(ac->re, pf->msg->body) :
	    extract_key(pf->msg->body, ac->arg)) != NULL) {
		rules_ticket_field(pf->view, ac->field, v);
		free(v);
	} else
		rules_ticket_apply(pf->view, ac);
	return TK_OK;
}

void
automate_prefetch(const struct tk_conf *c, const struct ruleset *rules,
    struct store *s, const struct tk_msg *m, struct store_ticket *view,
    int64_t now, struct automate_lookups *out)
{
	static const enum rules_event evs[] = { RULES_CREATE,
	    RULES_CUSTOMER_REPLY };
	struct prefetch pf = { c, s, m, view, now, out };

	memset(out, 0, sizeof(*out));
	if (c->nlookups == 0 || !rules_use_lookup(rules))
		return;
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		struct rules_input in = { .msg = m, .new_text = m->body,
		    .ticket = view, .now = now };

		(void)rules_run(rules, evs[i], NULL, &in, prefetch_action, &pf);
		rules_input_clear(&in);
	}
}

void
automate_lookups_free(struct automate_lookups *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].url);
		free(l->v[i].answer);
		free(l->v[i].error);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- applying one action ---- */

/*
 * extract field NAME from LABEL / regex RE: the value in the text of the
 * mail at hand (none: nothing happens) set as the field; a value the
 * field's type refuses is an extract_failed event.
 */
static enum tk_status
extract_field(struct apply *ap, const struct rules_action *ac,
    const char *actor)
{
	struct automate *a = ap->a;
	const char *text = ap->mail && ap->mail->msg ? ap->mail->msg->body :
	    NULL;
	char *v;
	enum tk_status ts;

	if (text == NULL || (v = ac->re ? extract_regex(ac->re, text) :
	    extract_key(text, ac->arg)) == NULL)
		return TK_OK;
	ts = automate_set_field(a, ap->ticket, ac->field, v, actor, ap->now);
	if (ts == TK_EPERM)
		ts = event(a, ap->ticket, ap->now, "extract_failed", actor,
		    ac->field, a->err);
	else if (ts == TK_OK)	/* later rules test it as stored */
		ts = view_load(ap);
	free(v);
	return ts;
}

static enum tk_status
apply_action(const struct rules_origin *o, const struct rules_action *ac,
    void *arg)
{
	struct apply *ap = arg;
	struct automate *a = ap->a;
	char actor_buf[160];
	const char *actor = actor_buf, *who;
	enum tk_status ts = TK_OK;
	int changed;

	if (o->macro && ap->actor)
		actor = ap->actor;
	else
		snprintf(actor_buf, sizeof(actor_buf), "rule:%s", o->name);
	ap->doer = actor;
	switch (ac->kind) {
	case ACT_SET:
		ts = automate_set(a, ap->ticket, ac->field, ac->arg, actor,
		    ap->mail, ap->now, &changed);
		break;
	case ACT_ASSIGN: {
		/* Hers, or her deputy's while she is away. */
		const struct conf_agent *ag = conf_agent_by_name(a->conf,
		    ac->arg), *in = NULL;
		int64_t open, last;

		if (ag && (ts = stand_in(a, ag, ap->now, &in, &open, &last)) !=
		    TK_OK)
			break;
		if (ag && in == NULL)
			ts = event(a, ap->ticket, ap->now, "route_failed", actor,
			    ac->arg, "away or full, and no deputy free");
		else
			ts = automate_set(a, ap->ticket, "assignee", in ?
			    in->name : ac->arg, actor, ap->mail, ap->now,
			    &changed);
		break;
	}
	case ACT_ROUTE:
		if ((ts = route_pick(a, ac->arg, ap->now, &who)) != TK_OK)
			break;
		/* The skill stays on the ticket: a webhook hands it on to
		 * a queue that routes by skill. */
		if ((ts = store_fail(a, store_ticket_set(a->store, ap->ticket,
		    "skill", ac->arg, ap->now))) != TK_OK)
			break;
		if (who == NULL)
			ts = event(a, ap->ticket, ap->now, "route_failed", actor,
			    NULL, ac->arg);
		else
			ts = automate_set(a, ap->ticket, "assignee", who, actor,
			    ap->mail, ap->now, &changed);
		break;
	case ACT_TAG:
	case ACT_UNTAG:
		ts = store_fail(a, ac->kind == ACT_TAG ?
		    store_tag_add(a->store, ap->ticket, ac->arg) :
		    store_tag_remove(a->store, ap->ticket, ac->arg));
		if (ts == TK_OK)
			ts = event(a, ap->ticket, ap->now, ac->kind == ACT_TAG ?
			    "tag" : "untag", actor, NULL, ac->arg);
		break;
	case ACT_NOTE:
		ts = event(a, ap->ticket, ap->now, "note", actor, NULL, ac->arg);
		break;
	case ACT_AUTOREPLY:
		ts = queue_mail(ap, o, "autoreply", ac->arg, ap->view.requester,
		    NULL);
		break;
	case ACT_REPLY:
		ts = queue_mail(ap, o, "reply", ac->arg, ap->view.requester,
		    ap->view.assignee);
		break;
	case ACT_CSAT:
		ts = queue_mail(ap, o, "csat", "csat", ap->view.requester, NULL);
		break;
	case ACT_NOTIFY:
		ts = queue_mail(ap, o, "notify", "notify",
		    agent_address(a->conf, ac->arg), ac->arg);
		break;
	case ACT_WEBHOOK:
		ts = queue_webhook(ap, o, ac->arg);
		break;
	case ACT_FIELD:
		ts = automate_set_field(a, ap->ticket, ac->field, ac->arg, actor,
		    ap->now);
		if (ts == TK_EPERM)	/* a field gone from the config */
			ts = event(a, ap->ticket, ap->now, "command_error",
			    actor, ac->field, a->err);
		break;
	case ACT_EXTRACT:
		ts = extract_field(ap, ac, actor);
		break;
	case ACT_LOOKUP:
		ts = lookup_apply(ap, ac->arg, actor);
		break;
	case ACT_SLA:
		/* The policy in force is the last one set (sla.h). */
		ts = event(a, ap->ticket, ap->now, "sla", actor, NULL, ac->arg);
		break;
	case ACT_STOP:
		return TK_OK;
	}
	ap->doer = NULL;
	if (ts != TK_OK)
		return ts;
	/*
	 * The next rule tests the ticket as it is now: a status change may
	 * have run other rules, and route picked an assignee, so those
	 * reload it; the other changes are mirrored in the view.
	 */
	if ((ac->kind == ACT_SET && strcmp(ac->field, "status") == 0) ||
	    ac->kind == ACT_ROUTE || ac->kind == ACT_ASSIGN)
		return view_load(ap);
	rules_ticket_apply(&ap->view, ac);
	return TK_OK;
}

static const char *
event_name(enum rules_event ev)
{
	switch (ev) {
	case RULES_CREATE:
		return "create";
	case RULES_CUSTOMER_REPLY:
		return "customer_reply";
	case RULES_AGENT_REPLY:
		return "agent_reply";
	case RULES_STATUS:
		return "status";
	case RULES_SLA_WARNING:
		return "sla_warning";
	case RULES_SLA_BREACH:
		return "sla_breach";
	default:
		return "time";
	}
}

#define HISTORY_MAX	1000	/* the customer's tickets rules count */

/*
 * The rules' input from the apply: the mail and the ticket, and the
 * customer's other tickets when a rule tests them (ap->history_at, freed
 * by input_done).
 */
static enum tk_status
input_init(struct rules_input *in, struct apply *ap)
{
	struct store_brief *b = NULL;
	size_t n = 0;
	enum tk_status ts;

	memset(in, 0, sizeof(*in));
	ap->history_at = NULL;
	if (rules_use_history(ap->a->rules) && ap->view.requester) {
		if ((ts = store_fail(ap->a, store_customer_tickets(ap->a->store,
		    ap->view.requester, ap->ticket, HISTORY_MAX, &b, &n))) !=
		    TK_OK)
			return ts;
		ap->history_at = xreallocarray(NULL, n ? n : 1,
		    sizeof(*ap->history_at));
		for (size_t i = 0; i < n; i++)
			ap->history_at[i] = b[i].created_at;
		store_briefs_free(b, n);
		in->history = ap->history_at;
		in->nhistory = n;
	}
	if (ap->mail) {
		in->msg = ap->mail->msg;
		in->new_text = ap->mail->new_text;
		in->env_from = ap->mail->env_from;
		in->env_to = ap->mail->env_to;
		in->nenv_to = ap->mail->nenv_to;
	}
	in->ticket = &ap->view;
	in->now = ap->now;
	return TK_OK;
}

static void
input_done(struct rules_input *in, struct apply *ap)
{
	rules_input_clear(in);
	free(ap->history_at);
	ap->history_at = NULL;
}

static enum tk_status
run_event(struct automate *a, enum rules_event ev, const char *status,
    int64_t ticket, const struct automate_mail *mail, const char *occurrence,
    int64_t now)
{
	struct apply ap = { .a = a, .ticket = ticket, .mail = mail,
	    .event = event_name(ev), .occurrence = occurrence, .now = now,
	    .while_status = ev == RULES_STATUS ? while_for(status) : NULL,
	    .history = a->history || (mail && mail->history) };
	struct rules_input in;
	enum tk_status ts;

	if (rules_count(a->rules) == 0)
		return TK_OK;
	if ((ts = view_load(&ap)) == TK_OK) {
		if ((ts = input_init(&in, &ap)) == TK_OK)
			ts = rules_run(a->rules, ev, status, &in, apply_action,
			    &ap);
		input_done(&in, &ap);
	}
	store_ticket_clear(&ap.view);
	return ts;
}

enum tk_status
automate_event(struct automate *a, enum rules_event ev, int64_t ticket,
    const struct automate_mail *mail, int64_t now)
{
	char occ[32];

	a->err[0] = '\0';
	snprintf(occ, sizeof(occ), "m%lld", mail ? (long long)mail->row :
	    (long long)now);
	return run_event(a, ev, NULL, ticket, mail, occ, now);
}

/* ---- fields ---- */

enum tk_status
automate_set_field(struct automate *a, int64_t ticket, const char *name,
    const char *value, const char *actor, int64_t now)
{
	const struct conf_field *f = conf_field_by_name(a->conf, name);
	const char *why;
	char *norm = NULL;
	enum tk_status ts;

	a->err[0] = '\0';
	if (f == NULL) {
		snprintf(a->err, sizeof(a->err), "no field \"%s\" ([field %s] "
		    "in tiketti.conf)", name, name);
		return TK_EPERM;
	}
	if (*value && (why = conf_field_value(f, value, &norm)) != NULL) {
		snprintf(a->err, sizeof(a->err), "field %s: %s: \"%s\"",
		    f->name, why, value);
		return TK_EPERM;
	}
	/* An empty value clears the field. */
	if ((ts = store_fail(a, store_field_set(a->store, ticket, f->name,
	    norm))) == TK_OK)
		ts = event(a, ticket, now, "field", actor, f->name, norm);
	free(norm);
	return ts;
}

/* ---- agent commands ---- */

static int
is_command_line(const char *p, size_t len)
{
	return len >= 2 && p[0] == '#' && ((p[1] >= 'a' && p[1] <= 'z') ||
	    (p[1] >= 'A' && p[1] <= 'Z'));
}

size_t
automate_commands_len(const char *body)
{
	const char *p = body, *end = body;

	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *s = p;

		while (s < p + len && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s < p + len && !is_command_line(s, (size_t)(p + len - s)))
			break;
		p += len + (p[len] == '\n');
		if (s < p)	/* a command or a blank line */
			end = p;
	}
	return (size_t)(end - body);
}

static const struct {
	const char	*cmd;
	const char	*field;		/* NULL: handled on its own */
	const char	*value;		/* NULL: the argument */
} commands[] = {
	{ "solve", "status", "solved" }, { "pending", "status", "pending" },
	{ "close", "status", "closed" }, { "open", "status", "open" },
	{ "priority", "priority", NULL }, { "category", "category", NULL },
	{ "assign", "assignee", NULL }, { "tag", NULL, NULL },
	{ "note", NULL, NULL }, { "macro", NULL, NULL },
	{ "field", NULL, NULL }, { "merge", NULL, NULL },
	{ "spam", NULL, "" }, { "fwd", NULL, "" },
};

/*
 * #away [UNTIL] and #back: the sender's availability (UNTIL as
 * str_to_time reads it; none: until #back). An event on the ticket when
 * there is one.
 */
static enum tk_status
availability(struct automate *a, int64_t ticket, const char *word,
    const char *arg, const char *actor, int64_t now)
{
	const struct conf_agent *ag = conf_agent_by_address(a->conf, actor);
	int away = strcmp(word, "away") == 0;
	int64_t until = 0;
	enum tk_status ts;
	char when[32] = "";

	if (ag == NULL || (away && *arg && (str_to_time(arg, now, &until) !=
	    TK_OK || until <= now)))
		return ticket ? event(a, ticket, now, "command_error", actor,
		    arg, word) : TK_OK;
	if ((ts = automate_agent_set(a, ag, away, until, now, "command")) !=
	    TK_OK || ticket == 0)
		return ts;
	if (until)
		snprintf(when, sizeof(when), "%lld", (long long)until);
	return event(a, ticket, now, away ? "agent_away" : "agent_back",
	    actor, ag->name, until ? when : NULL);
}

enum tk_status
automate_agent_set(struct automate *a, const struct conf_agent *ag, int away,
    int64_t until, int64_t now, const char *why)
{
	char occ[96];
	struct apply ap = { .a = a, .event = away ? "agent.away" :
	    "agent.back", .occurrence = occ, .now = now, .doer = ag->name,
	    .history = a->history };
	enum tk_status ts;
	struct json j;
	struct buf b;

	if ((ts = store_fail(a, store_agent_state_set(a->store, ag->name, away,
	    away ? until : 0, now, why))) != TK_OK)
		return ts;
	snprintf(occ, sizeof(occ), "%s/%lld/%lld", ag->name, (long long)now,
	    (long long)until);
	buf_init(&b, 0);
	json_init(&j, &b, 0);
	json_obj_open(&j);
	json_key_str(&j, "event", ap.event);
	json_key_int(&j, "at", now);
	json_key(&j, "agent");
	json_obj_open(&j);
	json_key_str(&j, "name", ag->name);
	json_key_str(&j, "address", ag->naddresses ? ag->addresses[0] : NULL);
	json_key(&j, "away_until");
	if (away && until)
		json_int(&j, until);
	else
		json_null(&j);
	json_key_str(&j, "why", why);
	json_obj_close(&j);
	json_obj_close(&j);
	ts = hooks(&ap, b.data);
	buf_free(&b);
	return ts;
}

size_t
automate_availability_len(const char *body)
{
	size_t len = automate_commands_len(body), n = 0;
	const char *p = body;

	while (p < body + len) {
		size_t l = strcspn(p, "\n");
		const char *w = p + strspn(p, " \t\r");

		if (*w == '#') {
			if (!str_has_prefix_ci(w, "#away") &&
			    !str_has_prefix_ci(w, "#back"))
				return 0;
			n++;
		}
		p += l + (p[l] == '\n');
	}
	return n ? len : 0;
}

static enum tk_status
command_one(struct automate *a, int64_t ticket, char *word, char *arg,
    const char *actor, const struct automate_mail *mail, int64_t now)
{
	size_t i, n = sizeof(commands) / sizeof(commands[0]);
	enum tk_status ts;
	int changed;

	if (strcmp(word, "away") == 0 || strcmp(word, "back") == 0)
		return availability(a, ticket, word, arg, actor, now);
	if (ticket == 0)	/* a mail of hers to us: nothing else applies */
		return TK_OK;
	for (i = 0; i < n; i++)
		if (strcmp(commands[i].cmd, word) == 0)
			break;
	if (i == n || (commands[i].value == NULL && *arg == '\0'))
		return event(a, ticket, now, "command_error", actor, NULL, word);
	if (commands[i].field) {
		if (strcmp(commands[i].field, "priority") == 0)
			str_lower(arg);
		ts = automate_set(a, ticket, commands[i].field,
		    commands[i].value ? commands[i].value : arg, actor, mail,
		    now, &changed);
		if (ts == TK_EPERM)	/* a bad value: note it, go on */
			ts = event(a, ticket, now, "command_error", actor, arg,
			    word);
		return ts;
	}
	if (strcmp(word, "note") == 0)
		return event(a, ticket, now, "note", actor, NULL, arg);
	if (strcmp(word, "fwd") == 0)	/* ingest found no message in it */
		return event(a, ticket, now, "command_error", actor,
		    "no forwarded message in it", word);
	if (strcmp(word, "spam") == 0) {
		/* #spam: the ticket is spam, its sender blocked. */
		struct store_ticket t;
		int found;

		if ((ts = store_fail(a, store_ticket_get(a->store, ticket, &t,
		    &found))) != TK_OK || !found)
			return ts;
		if (t.requester && (ts = store_fail(a, store_block(a->store,
		    t.requester, 1, now, actor))) == TK_OK)
			ts = event(a, ticket, now, "blocked", actor, NULL,
			    t.requester);
		store_ticket_clear(&t);
		if (ts == TK_OK)
			ts = automate_set(a, ticket, "status", "spam", actor, mail,
			    now, &changed);
		return ts;
	}
	if (strcmp(word, "merge") == 0) {
		/* #merge DST: this ticket into that one. */
		char err[256];
		long long dst;

		if (str_to_ll(arg[0] == '#' ? arg + 1 : arg, 1, INT64_MAX,
		    &dst) != TK_OK || (ts = ticket_merge(a->store, ticket,
		    (int64_t)dst, actor, now, err, sizeof(err))) == TK_EPERM)
			return event(a, ticket, now, "command_error", actor, arg,
			    word);
		return store_fail(a, ts);
	}
	if (strcmp(word, "field") == 0) {
		/* #field NAME VALUE */
		char *val = arg + strcspn(arg, " \t");

		if (*val)
			*val++ = '\0';
		ts = automate_set_field(a, ticket, str_lower(arg), val, actor,
		    now);
		if (ts == TK_EPERM)
			ts = event(a, ticket, now, "command_error", actor, arg,
			    word);
		return ts;
	}
	if (strcmp(word, "tag") == 0) {
		str_fold(arg);
		arg[strcspn(arg, ", \t")] = '\0';
		if ((ts = store_fail(a, store_tag_add(a->store, ticket, arg))) !=
		    TK_OK)
			return ts;
		return event(a, ticket, now, "tag", actor, NULL, arg);
	}
	/* #macro NAME */
	{
		char occ[32];
		struct apply ap = { .a = a, .ticket = ticket, .mail = mail,
		    .event = "macro", .occurrence = occ, .actor = actor,
		    .now = now, .history = a->history ||
		    (mail && mail->history) };
		struct rules_input in;

		snprintf(occ, sizeof(occ), "m%lld", mail ? (long long)mail->row :
		    (long long)now);
		if ((ts = view_load(&ap)) == TK_OK) {
			if ((ts = input_init(&in, &ap)) == TK_OK)
				ts = rules_run_macro(a->rules, arg, &in,
				    apply_action, &ap);
			input_done(&in, &ap);
		}
		store_ticket_clear(&ap.view);
		if (ts == TK_EPERM)
			ts = event(a, ticket, now, "command_error", actor, arg,
			    word);
		return ts == TK_OK ? event(a, ticket, now, "macro", actor,
		    NULL, arg) : ts;
	}
}

/*
 * Command lines an agent's mail may start with. Read only from
 * configured agents (the caller checks), only up to the first line that
 * is not a command; an unknown command or a bad value is recorded as a
 * "command_error" event and the rest still apply: a typo must not lose
 * the mail.
 */
enum tk_status
automate_commands(struct automate *a, int64_t ticket, const char *body,
    size_t len, const char *actor, const struct automate_mail *mail,
    int64_t now)
{
	char *block = xstrndup(body, len), *line = block, *next;
	enum tk_status ts = TK_OK;

	a->err[0] = '\0';
	for (; ts == TK_OK && line && *line; line = next) {
		char *word, *arg;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		str_trim(line);
		if (*line != '#')
			continue;
		word = line + 1;
		arg = word + strcspn(word, " \t");
		if (*arg)
			*arg++ = '\0';
		str_trim(arg);
		str_lower(word);
		ts = command_one(a, ticket, word, arg, actor, mail, now);
	}
	free(block);
	return ts;
}

/* ---- time ---- */

struct due {
	int64_t	*id;
	int64_t	*at;
	size_t	 n;
};

static int
due_add(int64_t id, int64_t at, void *arg)
{
	struct due *d = arg;

	d->id = xreallocarray(d->id, d->n + 1, sizeof(*d->id));
	d->at = xreallocarray(d->at, d->n + 1, sizeof(*d->at));
	d->id[d->n] = id;
	d->at[d->n++] = at;
	return 0;
}

/* The built-in "close solved tickets after close_after". */
static const struct rules_action close_action = {
	ACT_SET, "status", "closed", NULL, "close_after", 0, 0,
};

/*
 * The end of one of tick's transactions: its commit, or in a dry run
 * what it did (the events and outbox rows it added) told, and its
 * rollback.
 */
static enum tk_status
tick_end(struct automate *a)
{
	enum tk_status ts;

	if (a->dry == NULL)
		return store_fail(a, store_commit(a->store));
	ts = store_fail(a, store_added_since(a->store, a->dry_events,
	    a->dry_outbox, a->dry->event, a->dry->outbox, a->dry->arg));
	store_rollback(a->store);
	return ts;
}

/*
 * One time rule (timer NULL: close_after) over the tickets that came due
 * since its horizon, in one transaction: mark fired, act, move the
 * horizon. A second tick sees the horizon and the marks and does
 * nothing twice.
 */
static enum tk_status
tick_one(struct automate *a, size_t idx, const struct rules_timer *tm,
    int64_t now, int64_t *fired)
{
	struct rules_timer close = { "close_after", a->conf->close_after,
	    STORE_SINCE_STATUS, "solved" };
	struct due d = { 0 };
	struct store *s = a->store;
	int64_t lo, hi;
	enum tk_status ts;
	int found;

	if (tm == NULL)
		tm = &close;
	/*
	 * Up to the previous second: a ticket written after this transaction
	 * (ingest reads the clock inside its own) may still carry this one.
	 */
	hi = now - tm->after - 1;
	if ((ts = store_fail(a, store_begin(s))) != TK_OK)
		return ts;
	if ((ts = store_fail(a, store_horizon_get(s, tm->rule, &lo, &found))) !=
	    TK_OK)
		goto fail;
	if (!found)
		lo = -1;	/* a new rule looks at every ticket once */
	if (hi > lo && (ts = store_fail(a, store_tickets_due(s, tm->since,
	    tm->status, lo, hi, due_add, &d))) != TK_OK)
		goto fail;
	for (size_t i = 0; i < d.n; i++) {
		struct rules_origin o = { tm->rule, "close_after", 0, 0 };
		char occ[32];
		struct apply ap = { .a = a, .ticket = d.id[i], .event = "time",
		    .occurrence = occ, .now = now,
		    .while_status = while_for(tm->status) };
		struct rules_input in;
		int fresh;

		snprintf(occ, sizeof(occ), "t%lld", (long long)d.at[i]);
		if ((ts = store_fail(a, store_rule_fire(s, tm->rule, d.id[i],
		    d.at[i], now, &fresh))) != TK_OK)
			goto fail;
		if (!fresh)
			continue;
		(*fired)++;
		/*
		 * The rule's first run (a new rule, a new or imported
		 * database) fires on every ticket once, but what came due
		 * longer than history_age ago is history (tickets from an
		 * old mailbox): recorded, nothing sent by it or what it sets
		 * off. A later run only sees what came due since the last,
		 * and sends it however late cron was.
		 */
		a->history = ap.history = !found && a->conf->history_age > 0 &&
		    now - (d.at[i] + tm->after) > a->conf->history_age;
		if ((ts = view_load(&ap)) == TK_OK) {
			if (tm == &close)
				ts = apply_action(&o, &close_action, &ap);
			else {
				if ((ts = input_init(&in, &ap)) == TK_OK)
					ts = rules_run_timer(a->rules, idx,
					    &in, apply_action, &ap);
				input_done(&in, &ap);
			}
		}
		store_ticket_clear(&ap.view);
		a->history = 0;
		if (ts != TK_OK)
			goto fail;
	}
	if (hi > lo && (ts = store_fail(a, store_horizon_set(s, tm->rule, hi))) !=
	    TK_OK)
		goto fail;
	free(d.id);
	free(d.at);
	return tick_end(a);
fail:
	free(d.id);
	free(d.at);
	store_rollback(s);
	return ts;
}

struct waiting {
	int64_t	*id;
	char	**skill;
	size_t	 n;
};

static int
waiting_add(int64_t id, const char *skill, void *arg)
{
	struct waiting *w = arg;

	w->id = xreallocarray(w->id, w->n + 1, sizeof(*w->id));
	w->skill = xreallocarray(w->skill, w->n + 1, sizeof(*w->skill));
	w->id[w->n] = id;
	w->skill[w->n++] = xstrdup(skill);
	return 0;
}

/*
 * One agent away since `since`: her tickets still waiting for her answer
 * go to her deputy, or to whoever routing picks by their skill; each
 * ticket once per absence (a rule_fired key), an event either way.
 */
static enum tk_status
reroute_agent(struct automate *a, const struct conf_agent *ag, int64_t since,
    int64_t now, int64_t *moved)
{
	struct waiting w = { 0 };
	enum tk_status ts;
	char rule[96];

	snprintf(rule, sizeof(rule), "reroute:%s", ag->name);
	if ((ts = store_fail(a, store_agent_waiting(a->store, ag->name,
	    waiting_add, &w))) != TK_OK)
		goto out;
	for (size_t i = 0; ts == TK_OK && i < w.n; i++) {
		const struct conf_agent *in = NULL, *dep;
		const char *who = NULL;
		int64_t open, last;
		int fresh, changed, ok;

		if ((ts = store_fail(a, store_rule_fire(a->store, rule, w.id[i],
		    since, now, &fresh))) != TK_OK || !fresh)
			continue;
		if (ag->deputy && (dep = conf_agent_by_name(a->conf,
		    ag->deputy)) && (ts = agent_free(a, dep, now, &ok, &open,
		    &last)) == TK_OK && ok)
			in = dep;
		if (ts == TK_OK && in == NULL && *w.skill[i])
			ts = route_pick(a, w.skill[i], now, &who);
		if (ts != TK_OK)
			break;
		if (in)
			who = in->name;
		if (who == NULL || strcmp(who, ag->name) == 0) {
			ts = event(a, w.id[i], now, "route_failed", "reroute",
			    ag->name, "away, and no deputy or other agent "
			    "free");
			continue;
		}
		if ((ts = event(a, w.id[i], now, "rerouted", "reroute",
		    ag->name, who)) == TK_OK &&
		    (ts = automate_set(a, w.id[i], "assignee", who, "reroute",
		    NULL, now, &changed)) == TK_OK)
			(*moved)++;
	}
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.skill[i]);
	free(w.skill);
	free(w.id);
	return ts;
}

/* Every agent away longer than reroute_after, in one transaction. */
static enum tk_status
reroute(struct automate *a, int64_t now, int64_t *moved)
{
	enum tk_status ts;

	if (a->conf->reroute_after == 0 || a->conf->nagents == 0)
		return TK_OK;
	if ((ts = store_fail(a, store_begin(a->store))) != TK_OK)
		return ts;
	for (size_t i = 0; ts == TK_OK && i < a->conf->nagents; i++) {
		const struct conf_agent *ag = &a->conf->agents[i];
		struct store_agent_state as;
		int64_t until;
		int away;

		if ((ts = automate_agent_away(a, ag, now, &away, &until)) !=
		    TK_OK || !away)
			continue;
		if ((ts = store_fail(a, store_agent_state_get(a->store,
		    ag->name, &as))) != TK_OK)
			break;
		free(as.why);
		/* available = no counts from the start of time */
		if (!ag->away && now - as.since < a->conf->reroute_after)
			continue;
		ts = reroute_agent(a, ag, ag->away ? 0 : as.since, now, moved);
	}
	if (ts != TK_OK) {
		store_rollback(a->store);
		return ts;
	}
	return tick_end(a);
}

/* ---- service promises ---- */

struct sla_due {
	int64_t		 ticket, start, at, due;
	enum sla_target	 target;
	int		 breach;
	const struct sla_policy *policy;
};

struct sla_dues {
	struct sla_due	*v;
	size_t		 n;
};

static int
sla_collect(int64_t ticket, const struct sla_policy *p,
    const struct sla_clock *c, size_t n, void *arg)
{
	struct sla_dues *d = arg;

	for (size_t i = 0; i < n; i++) {
		/* What a clock passed while it ran; a stopped one is history
		 * the reports count. */
		if (c[i].stopped)
			continue;
		for (int breach = 0; breach < 2; breach++) {
			int64_t at = breach ? c[i].breached : c[i].warned;

			if (at == 0)
				continue;
			d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
			d->v[d->n++] = (struct sla_due){ ticket, c[i].start, at,
			    c[i].breached ? c[i].breached : c[i].due,
			    c[i].target, breach, p };
		}
	}
	return 0;
}

/* One warning or breach: marked, an event, its rules and webhooks. */
static enum tk_status
sla_fire(struct automate *a, const struct sla_due *d, int64_t now,
    int *fresh)
{
	const char *tname = sla_target_name(d->target);
	char rule[64], occ[96], iso[32];
	struct apply ap = { .a = a, .ticket = d->ticket, .occurrence = occ,
	    .now = now, .event = d->breach ? "sla.breach" : "sla.warning" };
	enum tk_status ts;

	snprintf(rule, sizeof(rule), "sla:%s:%s", d->breach ? "breach" :
	    "warning", tname);
	if ((ts = store_fail(a, store_rule_fire(a->store, rule, d->ticket,
	    d->start, now, fresh))) != TK_OK || !*fresh)
		return ts;
	snprintf(occ, sizeof(occ), "%s/%lld", rule, (long long)d->start);
	if (d->due > 0 && d->due != CALENDAR_NEVER)
		calendar_iso(sla_calendar(a->sla, d->policy), d->due, iso);
	else
		snprintf(iso, sizeof(iso), "paused");
	/* Long past (a first tick over an old database): recorded, nothing
	 * sent, as time rules do. */
	a->history = ap.history = a->conf->history_age > 0 &&
	    now - d->at > a->conf->history_age;
	if ((ts = event(a, d->ticket, now, d->breach ? "sla_breach" :
	    "sla_warning", "sla", tname, iso)) == TK_OK &&
	    (ts = view_load(&ap)) == TK_OK && (ts = hooks(&ap, NULL)) == TK_OK)
		ts = run_event(a, d->breach ? RULES_SLA_BREACH :
		    RULES_SLA_WARNING, tname, d->ticket, NULL, occ, now);
	store_ticket_clear(&ap.view);
	a->history = 0;
	return ts;
}

static enum tk_status
sla_tick(struct automate *a, int64_t now, int64_t *fired)
{
	struct sla_dues d = { NULL, 0 };
	enum tk_status ts;

	if (!sla_active(a->sla))
		return TK_OK;
	/* The clocks are read before the write transaction: they only
	 * say what already happened. */
	if ((ts = store_fail(a, clocks_each(a->store, a->sla, NULL,
	    STORE_STEPS_OPEN, 0, 0, NULL, now, sla_collect, &d))) != TK_OK ||
	    d.n == 0)
		goto out;
	if ((ts = store_fail(a, store_begin(a->store))) != TK_OK)
		goto out;
	for (size_t i = 0; ts == TK_OK && i < d.n; i++) {
		int fresh = 0;

		if ((ts = sla_fire(a, &d.v[i], now, &fresh)) == TK_OK && fresh)
			(*fired)++;
	}
	if (ts != TK_OK)
		store_rollback(a->store);
	else
		ts = tick_end(a);
out:
	free(d.v);
	return ts;
}

enum tk_status
automate_tick_dry(struct automate *a, int64_t now,
    const struct automate_dry *dry, struct automate_stats *st)
{
	enum tk_status ts;

	if ((ts = store_fail(a, store_added_marks(a->store, &a->dry_events,
	    &a->dry_outbox))) != TK_OK)
		return ts;
	a->dry = dry;
	ts = automate_tick(a, now, st);
	a->dry = NULL;
	return ts;
}

enum tk_status
automate_tick(struct automate *a, int64_t now, struct automate_stats *st)
{
	size_t n = rules_ntimers(a->rules);
	enum tk_status ts;

	a->err[0] = '\0';
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++)
		if ((ts = tick_one(a, i, rules_timer(a->rules, i), now,
		    &st->fired)) != TK_OK)
			return ts;
	if ((ts = tick_one(a, 0, NULL, now, &st->closed)) != TK_OK)
		return ts;
	if ((ts = reroute(a, now, &st->rerouted)) != TK_OK)
		return ts;
	return sla_tick(a, now, &st->sla);
}

/* ---- checks ---- */

struct check {
	const struct tk_conf	*conf;
	struct buf		*err;
	char			**seen;
	size_t			  nseen;
	int			  bad;
};

static void
check_template(struct check *ck, const struct rules_action *ac,
    const char *name, int optional)
{
	struct buf e;
	enum tk_status ts;

	for (size_t i = 0; i < ck->nseen; i++)
		if (strcmp(ck->seen[i], name) == 0)
			return;
	ck->seen = xreallocarray(ck->seen, ck->nseen + 1, sizeof(*ck->seen));
	ck->seen[ck->nseen++] = xstrdup(name);
	buf_init(&e, 0);
	ts = template_check(ck->conf->templates_dir, name, &e);
	if (ts == TK_EPERM && !optional) {
		buf_printf(ck->err, "%s:%d:%d: no template \"%s\" in %s\n",
		    ac->file, ac->line, ac->col, name, ck->conf->templates_dir);
		ck->bad = 1;
	} else if (ts != TK_OK && ts != TK_EPERM) {
		/* The template's own errors, then the rule that uses it. */
		buf_add(ck->err, e.data, e.len);
		buf_printf(ck->err, "%s:%d:%d: template \"%s\" used here\n",
		    ac->file, ac->line, ac->col, name);
		ck->bad = 1;
	}
	buf_free(&e);
}

static void
check_action(const struct rules_action *ac, void *arg)
{
	struct check *ck = arg;

	if (ac->kind == ACT_AUTOREPLY || ac->kind == ACT_REPLY)
		check_template(ck, ac, ac->arg, 0);
	else if (ac->kind == ACT_CSAT) {
		check_template(ck, ac, "csat", 0);
		if (ck->conf->secret == NULL) {
			buf_printf(ck->err, "%s:%d:%d: csat needs `secret` in "
			    "tiketti.conf to sign its links\n", ac->file,
			    ac->line, ac->col);
			ck->bad++;
		}
	}
	else if (ac->kind == ACT_NOTIFY)
		check_template(ck, ac, "notify", 1);
}

enum tk_status
automate_check(const struct ruleset *rs, const struct tk_conf *c,
    struct buf *err)
{
	struct check ck = { c, err, NULL, 0, 0 };

	rules_each_action(rs, check_action, &ck);
	for (size_t i = 0; i < ck.nseen; i++)
		free(ck.seen[i]);
	free(ck.seen);
	return ck.bad ? TK_EPARSE : TK_OK;
}
