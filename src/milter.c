/*
 * NAME
 *	milter.c — tiketti as a Postfix milter (libmilter).
 * DESCRIPTION
 *	The only module that includes libmilter. It collects a message for
 *	a shared address (envelope recipient among `mailboxes`), or an
 *	agent's mail that may answer a ticket, and hands the raw bytes and
 *	the envelope to the ingest pipeline at end-of-message; other mail is
 *	accepted untouched at DATA, before Postfix sends its header. The
 *	message is kept in memory up to milter_spool_threshold, then in an
 *	unlinked temporary file.
 *	It adds X-Tiketti-Ticket and X-Tiketti-Status (never to an agent's
 *	mail for a customer) and, with milter_tag_subject, the ticket tag
 *	to the Subject (in place of a tag that was refused); it removes
 *	any X-Tiketti-* header a sender wrote. What proves an agent is the
 *	SASL login and the client's address Postfix gives at MAIL FROM
 *	({auth_authen}, {client_addr}); a proven agent's command lines are
 *	cut from the body that leaves (smfi_replacebody).
 *
 *	Failure semantics: every internal error (database busy past its
 *	timeout, disk full, a spool that cannot be written) answers
 *	SMFIS_TEMPFAIL, so the mail stays in Postfix's queue and nothing is
 *	half-written; a message over message_size_limit is refused with
 *	552. ingest is idempotent, so a message Postfix hands over again
 *	after a timeout changes nothing the second time. The commit is
 *	durable (synchronous = FULL) before the answer.
 *
 *	Threads: libmilter calls back on its worker threads (Debian
 *	builds it with its worker pool: a connection's commands may each
 *	run on a different thread, so everything about a connection is
 *	in its private data). The thread at end of message parses it,
 *	then queues it for the group commit: whichever thread finds no
 *	leader writes everything queued, on the one writer connection,
 *	in one transaction with a savepoint per message, and wakes the
 *	others once the commit is on disk. The configuration and rules
 *	are shared read-only and swapped under a lock on SIGHUP (the old
 *	ones stay when the new ones do not load). A sender thread runs
 *	deliver_flush() after messages and every 30 seconds, with its
 *	own store handle. Postfix is asked to skip the stages we do not
 *	use and not to wait for a reply to MAIL, RCPT and each header
 *	and body chunk: three round trips a message (negotiation, DATA,
 *	end of message), not a dozen.
 * DIAGNOSTICS
 *	Logs to syslog (LOG_MAIL) with the Postfix queue id on every line,
 *	or to stderr with -d.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "tiketti/automate.h"
#include "tiketti/buf.h"
#include "tiketti/deliver.h"
#include "tiketti/ingest.h"
#include "tiketti/log.h"
#include "tiketti/milter.h"
#include "tiketti/mime.h"
#include "tiketti/str.h"

/* What a reload swaps: one configuration and its rules. */
struct generation {
	struct tk_conf	*conf;
	struct ruleset	*rules;
	struct sla	*sla;
	int		 refs;
};

/* A generation's database handles: the group commit's writer. */
struct worker {
	struct generation	*gen;
	struct store		*store;
	struct ingest		*ingest;
};

/* Per SMTP connection (libmilter's private data). */
struct mctx {
	char		 *from;		/* envelope sender, lower case */
	char		**rcpts;
	size_t		  nrcpts;
	int		  ours;		/* a recipient is a shared address */
	int		  agent;	/* the sender is an agent */
	int		  outsider;	/* a recipient is neither a shared
					 * address nor an agent: a customer */
	char		 *auth_login;	/* {auth_authen}: the SASL login */
	char		 *client_addr;	/* {client_addr} */
	char		**xhdrs;	/* X-Tiketti-* the sender wrote, */
	int		 *xidx;		/* ... and each one's index among
					 * headers of its name */
	size_t		  nxhdrs;
	char		 *subject;	/* the Subject as received, raw */
	struct buf	  mem;		/* the message, while small */
	int		  spool;	/* the message, once big; or -1 */
	size_t		  size;
	int		  in_body;	/* the blank line after the header is
					 * kept */
	int		  receiving;	/* counted in `receiving' */
	int		  too_big;
	sfsistat	  failed;	/* a spool error, told at eom */
	struct generation *gen;		/* configuration and rules, held
					 * from MAIL FROM to the end */
	unsigned long	  nr;		/* the stages Postfix waits for no
					 * reply to (SMFIP_NR_*, negotiated) */
	char		  qid[32];
};

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct generation *current;
static const char *conf_path;
static int conf_must_exist;

/*
 * Group commit: a message waits in the queue, and whichever thread finds
 * no leader writes everything queued in one transaction (a savepoint per
 * message) and one fsync, then wakes the others. Under load this turns
 * one fsync per message into one per batch. The leader first waits up to
 * COMMIT_DELAY_US while other messages of ours are still coming in or
 * being parsed (`receiving'), so that they join its batch: fewer commits,
 * each writing the pages that messages share once. A message alone is
 * written at once.
 */
struct job {
	struct tk_msg			*m;
	const char			*raw;
	size_t				 len;
	const struct ingest_envelope	*env;
	struct ingest_result		*res;
	enum tk_status			 ts;
	char				 err[256];
	int				 done;
	struct job			*next;
};

#define GROUP_MAX	64
#define COMMIT_DELAY_US	2000
static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t group_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t gather_cond;	/* on CLOCK_MONOTONIC */
static int receiving, gathering;
static struct job *group_head, **group_tail = &group_head;
static int group_leader;

static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t send_cond = PTHREAD_COND_INITIALIZER;
static int send_wanted, stopping;

static void
gen_put(struct generation *g)
{
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&gen_lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&gen_lock);
	if (last) {
		sla_free(g->sla);
		rules_free(g->rules);
		conf_free(g->conf);
		free(g);
	}
}

static struct generation *
gen_get(void)
{
	struct generation *g;

	pthread_mutex_lock(&gen_lock);
	g = current;
	g->refs++;
	pthread_mutex_unlock(&gen_lock);
	return g;
}

/* Loads the configuration and rules; NULL (logged) when either fails. */
static struct generation *
gen_load(void)
{
	struct generation *g = xcalloc(1, sizeof(*g));
	struct buf err;

	buf_init(&err, 0);
	if (conf_load(conf_path, conf_must_exist, &g->conf, &err) != TK_OK) {
		log_warnx("configuration not loaded:\n%s", err.data ? err.data :
		    "");
		goto fail;
	}
	if (rules_load(g->conf->rules_dir, g->conf, &g->rules, &err) != TK_OK) {
		log_warnx("rules in %s not loaded:\n%s", g->conf->rules_dir,
		    err.data ? err.data : "");
		goto fail;
	}
	{
		size_t n;
		const struct sla_policy *p = rules_policies(g->rules, &n);

		if (sla_new(p, n, g->conf->calendars_dir, g->conf->sla_policy,
		    &g->sla, &err) != TK_OK) {
			log_warnx("calendars in %s not loaded:\n%s",
			    g->conf->calendars_dir, err.data ? err.data : "");
			goto fail;
		}
	}
	buf_free(&err);
	g->refs = 1;
	return g;
fail:
	buf_free(&err);
	sla_free(g->sla);
	rules_free(g->rules);
	conf_free(g->conf);
	free(g);
	return NULL;
}

static void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	ingest_free(w->ingest);
	store_close(w->store);
	gen_put(w->gen);
	free(w);
}

/*
 * The group leader's handles (one connection, so its page cache stays
 * warm), of the current generation; NULL when the database does not open.
 */
static struct worker *writer;

static struct worker *
writer_get(void)
{
	struct generation *g = gen_get();
	enum tk_status ts;
	char *shown;

	if (writer && writer->gen == g) {
		gen_put(g);
		return writer;
	}
	if (writer)	/* a reload since: start afresh */
		worker_free(writer);
	writer = xcalloc(1, sizeof(*writer));
	writer->gen = g;
	ts = store_open(g->conf->database, g->conf->busy_timeout,
	    STORE_THREADED, &writer->store);
	if (ts == TK_OK) {
		writer->ingest = ingest_new(g->conf, writer->store);
		ingest_set_rules(writer->ingest, g->rules);
		ingest_set_sla(writer->ingest, g->sla);
		return writer;
	}
	shown = store_describe(g->conf->database);
	log_warnx("database %s: %s", shown, store_errmsg(writer->store));
	free(shown);
	worker_free(writer);
	writer = NULL;
	return NULL;
}

/* The message is no longer on its way to the group commit. */
static void
receiving_done(struct mctx *c)
{
	if (!c->receiving)
		return;
	c->receiving = 0;
	pthread_mutex_lock(&group_lock);
	receiving--;
	if (gathering)
		pthread_cond_signal(&gather_cond);
	pthread_mutex_unlock(&group_lock);
}

static void
message_reset(struct mctx *c)
{
	free(c->from);
	for (size_t i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	free(c->subject);
	free(c->auth_login);
	free(c->client_addr);
	for (size_t i = 0; i < c->nxhdrs; i++)
		free(c->xhdrs[i]);
	free(c->xhdrs);
	free(c->xidx);
	buf_free(&c->mem);
	receiving_done(c);
	gen_put(c->gen);
	unsigned long nr = c->nr;

	if (c->spool != -1)
		close(c->spool);
	memset(c, 0, sizeof(*c));
	c->nr = nr;
	c->spool = -1;
	buf_init(&c->mem, 0);
}

/* "<Addr@X>" as a plain lower-case address. */
static char *
addr_arg(const char *a)
{
	size_t n;

	while (*a == ' ' || *a == '<')
		a++;
	n = strcspn(a, "> ");
	return str_lower(xstrndup(a, n));
}

static void
set_qid(SMFICTX *ctx, struct mctx *c)
{
	const char *q = smfi_getsymval(ctx, "i");

	if (q && c->qid[0] == '\0')
		snprintf(c->qid, sizeof(c->qid), "%s", q);
}

/* The connection's state, made by the first callback. */
static struct mctx *
mctx_get(SMFICTX *ctx)
{
	struct mctx *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->spool = -1;
		buf_init(&c->mem, 0);
		smfi_setpriv(ctx, c);
	}
	return c;
}

/*
 * The state of the message under way. Its generation is taken at MAIL
 * FROM; a client that skips MAIL FROM (not Postfix) gets one here.
 */
static struct mctx *
message_get(SMFICTX *ctx)
{
	struct mctx *c = mctx_get(ctx);

	if (c->gen == NULL)
		c->gen = gen_get();
	return c;
}

/*
 * Round trips are most of a milter's cost, on both sides. Ask Postfix to
 * skip what we do not look at (connect, HELO, unknown commands), to wait
 * for no answer to MAIL, RCPT and each header and body chunk (we never
 * refuse there: a spool error is told at eom), each only when Postfix
 * offers it. Whether the mail is ours is known at DATA: mail that is not
 * is accepted there, before its header is sent, and end-of-header is
 * skipped; an MTA without the DATA stage gets that answer at
 * end-of-header instead. (Asking for fewer macros with smfi_setsymlist
 * saves nothing: Postfix sends a macro packet per event all the same.)
 */
static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO |
	    SMFIP_NOUNKNOWN | ((f1 & SMFIP_NODATA) ? SMFIP_NOEOH : 0);
	const unsigned long noreply = SMFIP_NR_MAIL | SMFIP_NR_RCPT |
	    SMFIP_NR_HDR | SMFIP_NR_BODY;
	struct mctx *c = mctx_get(ctx);

	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY |
	    SMFIF_SETSYMLIST);
	*pf1 = f1 & (skip | noreply);
	c->nr = *pf1 & noreply;
	*pf2 = *pf3 = 0;
	/* What proves an agent: the SASL login and the client's address,
	 * at MAIL FROM (milter_mail_macros has {auth_authen} by default;
	 * {client_addr} only when we ask). */
	if ((*pf0 & SMFIF_SETSYMLIST) && smfi_setsymlist(ctx, SMFIM_ENVFROM,
	    "i {auth_authen} {client_addr}") != MI_SUCCESS)
		log_warnx("could not ask for the {auth_authen} and "
		    "{client_addr} macros");
	return SMFIS_CONTINUE;
}

/* rv, or no reply when Postfix waits for none at this stage. */
static sfsistat
answer(const struct mctx *c, unsigned long stage, sfsistat rv)
{
	return (c->nr & stage) ? SMFIS_NOREPLY : rv;
}

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	struct mctx *c = mctx_get(ctx);
	const char *v;

	message_reset(c);
	c->gen = gen_get();
	c->from = addr_arg(argv[0] ? argv[0] : "");
	c->agent = conf_agent_by_address(c->gen->conf, c->from) != NULL;
	if ((v = smfi_getsymval(ctx, "{auth_authen}")) != NULL && *v)
		c->auth_login = xstrdup(v);
	if ((v = smfi_getsymval(ctx, "{client_addr}")) != NULL && *v)
		c->client_addr = xstrdup(v);
	set_qid(ctx, c);
	return answer(c, SMFIP_NR_MAIL, SMFIS_CONTINUE);
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mctx *c = message_get(ctx);
	char *r = addr_arg(argv[0] ? argv[0] : "");

	if (conf_is_mailbox(c->gen->conf, r))
		c->ours = 1;
	else if (conf_agent_by_address(c->gen->conf, r) == NULL)
		c->outsider = 1;
	c->rcpts = xreallocarray(c->rcpts, c->nrcpts + 1, sizeof(*c->rcpts));
	c->rcpts[c->nrcpts++] = r;
	return answer(c, SMFIP_NR_RCPT, SMFIS_CONTINUE);
}

/* Appends to the message, moving it to a spool file past the threshold. */
static int
keep(struct mctx *c, const void *p, size_t n, long long threshold,
    long long limit)
{
	if (c->too_big || (long long)(c->size + n) > limit) {
		c->too_big = 1;
		return 0;
	}
	c->size += n;
	if (c->spool == -1 && (long long)c->size > threshold) {
		char path[] = "/tmp/tiketti-milter-XXXXXX";

		if ((c->spool = mkstemp(path)) == -1)
			return -1;
		unlink(path);
		if (write(c->spool, c->mem.data, c->mem.len) !=
		    (ssize_t)c->mem.len)
			return -1;
		buf_free(&c->mem);
	}
	if (c->spool != -1)
		return write(c->spool, p, n) == (ssize_t)n ? 0 : -1;
	return buf_add(&c->mem, p, n) == TK_OK ? 0 : -1;
}

/*
 * keep() with the message's limits. A spool that fails tempfails, at
 * end-of-message when Postfix waits for no header and body replies.
 */
static sfsistat
keep_chunk(struct mctx *c, const void *p, size_t n, unsigned long stage)
{
	const struct tk_conf *conf = c->gen->conf;

	if (c->failed == SMFIS_CONTINUE && keep(c, p, n,
	    conf->milter_spool_threshold, conf->message_size_limit) < 0) {
		log_warn("%s: spool", c->qid);
		c->failed = SMFIS_TEMPFAIL;
	}
	return answer(c, stage, c->failed);
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	struct mctx *c = message_get(ctx);
	char *line;
	sfsistat rv;

	/* Not for a shared address and not from an agent: not ours. */
	if (!c->ours && !c->agent)
		return answer(c, SMFIP_NR_HDR, SMFIS_CONTINUE);
	set_qid(ctx, c);
	if (strcasecmp(name, "Subject") == 0 && c->subject == NULL)
		c->subject = xstrdup(value);
	if (strncasecmp(name, "X-Tiketti-", 10) == 0) {
		/* Ours to write: what a sender wrote goes at end of message,
		 * by its index among the headers of its name. */
		int idx = 1;

		for (size_t i = 0; i < c->nxhdrs; i++)
			if (strcasecmp(c->xhdrs[i], name) == 0)
				idx++;
		c->xhdrs = xreallocarray(c->xhdrs, c->nxhdrs + 1,
		    sizeof(*c->xhdrs));
		c->xidx = xreallocarray(c->xidx, c->nxhdrs + 1,
		    sizeof(*c->xidx));
		c->xhdrs[c->nxhdrs] = xstrdup(name);
		c->xidx[c->nxhdrs++] = idx;
	}
	line = xasprintf("%s: %s\r\n", name, value);
	rv = keep_chunk(c, line, strlen(line), SMFIP_NR_HDR);
	free(line);
	return rv;
}

/* Not for a shared address and not from an agent: accepted untouched. */
static sfsistat
on_data(SMFICTX *ctx)
{
	struct mctx *c = message_get(ctx);

	if (!c->ours && !c->agent)
		return SMFIS_ACCEPT;
	pthread_mutex_lock(&group_lock);
	receiving++;
	pthread_mutex_unlock(&group_lock);
	c->receiving = 1;
	return SMFIS_CONTINUE;
}

/* The blank line between header and body, once. */
static void
end_of_header(struct mctx *c)
{
	if (!c->in_body) {
		c->in_body = 1;
		(void)keep_chunk(c, "\r\n", 2, 0);
	}
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	struct mctx *c = message_get(ctx);

	if (!c->ours && !c->agent)
		return SMFIS_ACCEPT;
	end_of_header(c);
	return c->failed;
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mctx *c = message_get(ctx);

	end_of_header(c);
	return keep_chunk(c, chunk, len, SMFIP_NR_BODY);
}

/*
 * The Subject with the ticket's tag and no other ticket's (a tag that was
 * refused, or copied from another ticket, would mislead whoever reads the
 * shared mailbox), or NULL when it is right as it is.
 */
static char *
tagged_subject(const struct tk_conf *conf, const char *subject, int64_t id)
{
	char *tag = xasprintf("[%s #%lld]", conf->ticket_prefix, (long long)id);
	char *s, *enc, *p;
	int64_t other;
	int changed = 0;

	s = xstrdup(subject ? subject : "");
	for (p = strchr(s, '['); p; p = strchr(p, '[')) {
		char *end = strchr(p, ']');

		if (end && thread_subject_tag(p, conf->ticket_prefix, &other) &&
		    other != id && (size_t)(end - p) < 40) {
			/* "[Tuki #1] " goes with the space after it. */
			end += end[1] == ' ' ? 2 : 1;
			memmove(p, end, strlen(end) + 1);
			changed = 1;
		} else
			p++;
	}
	if (strstr(s, tag) == NULL) {
		/* The raw value may hold encoded words: append, one line. */
		str_trim(s);
		enc = mime_header_encode(s);
		free(s);
		s = xasprintf("%s%s%s", enc, *enc ? " " : "", tag);
		free(enc);
		changed = 1;
	}
	free(tag);
	if (!changed) {
		free(s);
		return NULL;
	}
	return str_trim(s);
}

/*
 * A proven agent's command lines (#solve, #note …) are for us: the
 * customer gets her mail without them. The body is cut with the
 * transfer encodings kept, and the top-level type header follows when a
 * single part's charset had to change.
 */
static void
cut_commands(SMFICTX *ctx, struct mctx *c, const char *raw, size_t len)
{
	struct buf body;
	char *ctype, *cte;
	enum tk_status ts;

	buf_init(&body, 0);
	ts = mime_cut_text(raw, len, automate_commands_len, &body, &ctype,
	    &cte);
	if (ts == TK_OK) {
		if (smfi_replacebody(ctx, (unsigned char *)body.data,
		    (int)body.len) != MI_SUCCESS ||
		    (ctype && smfi_chgheader(ctx, "Content-Type", 1, ctype) !=
		    MI_SUCCESS) ||
		    (cte && smfi_chgheader(ctx, "Content-Transfer-Encoding", 1,
		    cte) != MI_SUCCESS))
			log_warnx("%s: could not take the command lines out of "
			    "the body", c->qid);
		else
			log_info("%s: command lines taken out of the body",
			    c->qid);
	} else if (ts == TK_EPARSE)
		log_warnx("%s: command lines left in the body: unreadable "
		    "MIME", c->qid);
	free(ctype);
	free(cte);
	buf_free(&body);
}

/*
 * With redact on, the shared mailbox gets the mail as tiketti stored it:
 * the body with card numbers and identity codes masked, and the
 * Subject, Thread-Topic and top-level type headers that changed with it.
 * Returns 1 when the masked Subject (now c->subject) waits for the
 * ticket's tag to be set with it.
 */
static int
replace_masked(SMFICTX *ctx, struct mctx *c, const struct tk_conf *conf,
    const struct mime_edited *ed)
{
	if (ed->body < ed->whole.len && smfi_replacebody(ctx,
	    (unsigned char *)ed->whole.data + ed->body,
	    (int)(ed->whole.len - ed->body)) != MI_SUCCESS)
		log_warnx("%s: could not replace the body with the masked one",
		    c->qid);
	if ((ed->ctype && smfi_chgheader(ctx, "Content-Type", 1, ed->ctype) !=
	    MI_SUCCESS) || (ed->cte && smfi_chgheader(ctx,
	    "Content-Transfer-Encoding", 1, ed->cte) != MI_SUCCESS) ||
	    (ed->topic && smfi_chgheader(ctx, "Thread-Topic", 1, ed->topic) !=
	    MI_SUCCESS) || (ed->subject && !conf->milter_tag_subject &&
	    smfi_chgheader(ctx, "Subject", 1, ed->subject) != MI_SUCCESS))
		log_warnx("%s: could not change a header with the masked body",
		    c->qid);
	if (ed->subject == NULL || !conf->milter_tag_subject)
		return 0;
	free(c->subject);
	c->subject = xstrdup(ed->subject);
	return 1;
}

/* The leader's part: the jobs taken off the queue, in one transaction. */
static void
group_write(struct job *batch)
{
	struct worker *w = writer_get();
	enum tk_status ts;

	if (w == NULL) {
		for (struct job *j = batch; j; j = j->next) {
			j->ts = TK_ETEMP;
			snprintf(j->err, sizeof(j->err), "cannot open the "
			    "database");
		}
		return;
	}
	if ((ts = ingest_batch_begin(w->ingest)) == TK_OK) {
		for (struct job *j = batch; j; j = j->next) {
			j->ts = ingest_parsed(w->ingest, j->m, j->raw, j->len,
			    j->env, j->res);
			if (j->ts != TK_OK)
				snprintf(j->err, sizeof(j->err), "%s",
				    ingest_errmsg(w->ingest));
		}
		ts = ingest_batch_commit(w->ingest);
	}
	/* Nothing is accepted unless its commit reached the disk. */
	if (ts != TK_OK) {
		for (struct job *j = batch; j; j = j->next) {
			j->ts = ts;
			snprintf(j->err, sizeof(j->err), "%s",
			    ingest_errmsg(w->ingest));
		}
	}
}

/* The leader's wait for the messages still coming (group_lock held). */
static void
gather(void)
{
	struct timespec until;

	if (receiving == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += COMMIT_DELAY_US * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	gathering = 1;
	while (receiving > 0 && pthread_cond_timedwait(&gather_cond,
	    &group_lock, &until) == 0)
		;
	gathering = 0;
}

/* Writes job (with others waiting, as one group); returns its status. */
static enum tk_status
group_commit(struct job *job)
{
	pthread_mutex_lock(&group_lock);
	*group_tail = job;
	group_tail = &job->next;
	while (!job->done) {
		struct job *batch, **end;
		size_t n = 0;

		if (group_leader) {
			pthread_cond_wait(&group_cond, &group_lock);
			continue;
		}
		group_leader = 1;
		gather();
		batch = group_head;
		for (end = &group_head; *end && n < GROUP_MAX; n++)
			end = &(*end)->next;
		group_head = *end;
		*end = NULL;
		if (group_head == NULL)
			group_tail = &group_head;
		pthread_mutex_unlock(&group_lock);
		group_write(batch);
		pthread_mutex_lock(&group_lock);
		for (struct job *j = batch, *next; j; j = next) {
			next = j->next;
			j->done = 1;
		}
		group_leader = 0;
		pthread_cond_broadcast(&group_cond);
	}
	pthread_mutex_unlock(&group_lock);
	return job->ts;
}

/* The message through the pipeline, then the headers Postfix adds. */
static sfsistat
eom_ingest(SMFICTX *ctx, struct mctx *c, const struct tk_conf *conf,
    const struct timespec *t0)
{
	struct ingest_envelope env = { 0 };
	struct automate_lookups lookups = { 0 };
	struct ingest_result res;
	struct job job = { 0 };
	struct mime_edited masked;
	struct redact_count redacted;
	enum tk_status ts;
	const char *raw;
	size_t len = c->size;
	int masked_subject = 0;
	void *map = NULL;
	char num[32], *subj, counts[64];
	struct timespec t1;

	if (c->spool != -1) {
		map = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, c->spool, 0);
		if (map == MAP_FAILED) {
			log_warn("%s: mmap spool", c->qid);
			return SMFIS_TEMPFAIL;
		}
		raw = map;
	} else
		raw = c->mem.data ? c->mem.data : "";
	env.mail_from = c->from;
	env.rcpts = (const char *const *)c->rcpts;
	env.nrcpts = c->nrcpts;
	env.threaded_only = !c->ours;	/* an agent's mail out */
	env.proof.smtp = 1;
	env.proof.auth_login = c->auth_login;
	env.proof.client_addr = c->client_addr;
	job.m = ingest_parse(conf, raw, c->size);	/* in parallel */
	ingest_redact(conf, &job.m, &raw, &len, &masked, &redacted);
	env.redacted = &redacted;
	receiving_done(c);
	/* Lookups too, before the group's transaction: the cache read on
	 * a connection of this message's own. */
	if (conf->nlookups && rules_use_lookup(c->gen->rules)) {
		struct store *rs = NULL;

		if (store_open(conf->database, conf->busy_timeout,
		    STORE_READONLY, &rs) != TK_OK) {
			store_close(rs);
			rs = NULL;
		}
		ingest_prefetch(conf, c->gen->rules, rs, job.m, &env, &lookups);
		store_close(rs);
		env.lookups = &lookups;
	}
	job.raw = raw;
	job.len = len;
	job.env = &env;
	job.res = &res;
	ts = group_commit(&job);
	automate_lookups_free(&lookups);
	if (ts == TK_OK && res.kind == KIND_AGENT &&
	    automate_commands_len(job.m->body) > 0)
		cut_commands(ctx, c, raw, len);
	else if (ts == TK_OK && masked.whole.len > 0 && c->ours)
		masked_subject = replace_masked(ctx, c, conf, &masked);
	mime_free(job.m);
	redact_count_str(&redacted, counts, sizeof(counts));
	if (ts == TK_OK && counts[0])
		log_info("%s: masked %s", c->qid, counts);
	mime_edited_free(&masked);
	if (map)
		munmap(map, c->size);
	if (ts != TK_OK) {
		log_warnx("%s: tempfail: %s", c->qid, job.err);
		return SMFIS_TEMPFAIL;
	}
	if (res.unverified[0])
		log_warnx("%s: agent_unverified: From: an agent, taken as her "
		    "sender's mail: %s", c->qid, res.unverified);
	/* X-Tiketti-* are ours: whatever a sender wrote goes. */
	for (size_t i = c->nxhdrs; i-- > 0;)
		if (smfi_chgheader(ctx, c->xhdrs[i], c->xidx[i], NULL) !=
		    MI_SUCCESS)
			log_warnx("%s: could not remove %s", c->qid,
			    c->xhdrs[i]);
	if (res.skipped)
		return SMFIS_ACCEPT;
	snprintf(num, sizeof(num), "%lld", (long long)res.ticket);
	/* Our headers are for the shared mailbox, not for a customer an
	 * agent writes to. */
	if ((res.kind != KIND_AGENT || !c->outsider) &&
	    (smfi_addheader(ctx, "X-Tiketti-Ticket", num) != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Tiketti-Status", res.status) != MI_SUCCESS))
		log_warnx("%s: could not add headers", c->qid);
	if (conf->milter_tag_subject && c->ours) {
		/* The masked Subject (replace_masked) is set here, tagged. */
		if ((subj = tagged_subject(conf, c->subject, res.ticket)) ==
		    NULL && masked_subject)
			subj = xstrdup(c->subject);
		if (subj && smfi_chgheader(ctx, "Subject", 1, subj) !=
		    MI_SUCCESS)
			log_warnx("%s: could not tag the Subject", c->qid);
		free(subj);
	}
	/* The sender is woken once, not for every message of a busy second. */
	pthread_mutex_lock(&send_lock);
	if (!send_wanted) {
		send_wanted = 1;
		pthread_cond_signal(&send_cond);
	}
	pthread_mutex_unlock(&send_lock);
	/* The time Postfix waited for us at end of message (bench/milter.sh). */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("%s: ticket %lld %s (%s%s) in %.1f ms", c->qid,
	    (long long)res.ticket, res.status, res.duplicate ? "duplicate" :
	    res.created ? "new" : thread_how_str(res.how),
	    res.forged ? ", forged token ignored" : "",
	    (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6);
	return SMFIS_CONTINUE;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	struct mctx *c = message_get(ctx);
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	set_qid(ctx, c);
	end_of_header(c);
	if (c->failed != SMFIS_CONTINUE || c->too_big)
		receiving_done(c);	/* not for the group commit */
	if (c->failed != SMFIS_CONTINUE)
		return c->failed;
	if (c->too_big) {
		smfi_setreply(ctx, "552", "5.3.4",
		    "Message too big for the ticket system");
		log_warnx("%s: refused: over message_size_limit", c->qid);
		return SMFIS_REJECT;
	}
	return eom_ingest(ctx, c, c->gen->conf, &t0);
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	struct mctx *c = smfi_getpriv(ctx);

	if (c)
		message_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	struct mctx *c = smfi_getpriv(ctx);

	if (c) {
		message_reset(c);
		buf_free(&c->mem);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

/* Sends the outbox after messages and every 30 seconds. */
static void *
sender(void *arg)
{
	struct store *s = NULL;
	struct generation *g = NULL;

	(void)arg;
	for (;;) {
		struct deliver_stats st;
		struct timespec until;
		char err[512];
		enum tk_status ts;

		pthread_mutex_lock(&send_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 30;
		while (!send_wanted && !stopping &&
		    pthread_cond_timedwait(&send_cond, &send_lock, &until) == 0)
			;
		send_wanted = 0;
		if (stopping) {
			pthread_mutex_unlock(&send_lock);
			break;
		}
		pthread_mutex_unlock(&send_lock);
		{
			struct generation *now = gen_get();

			if (now == g && s != NULL)
				gen_put(now);
			else {	/* first run, or reloaded */
				store_close(s);
				gen_put(g);
				g = now;
				s = NULL;
				if (store_open(g->conf->database,
				    g->conf->busy_timeout, STORE_THREADED, &s) !=
				    TK_OK) {
					log_warnx("sender: %s", store_errmsg(s));
					store_close(s);
					s = NULL;
					continue;
				}
			}
		}
		ts = deliver_flush(g->conf, s, 0, &st, err, sizeof(err));
		if (ts != TK_OK && !(ts == TK_EPERM && g->conf->smtp_url == NULL))
			log_warnx("sender: %s", err);
		/* At most one flush a second: a busy minute is one batch. */
		pthread_mutex_lock(&send_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!stopping &&
		    pthread_cond_timedwait(&send_cond, &send_lock, &until) == 0)
			;
		pthread_mutex_unlock(&send_lock);
	}
	store_close(s);
	gen_put(g);
	return NULL;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "tiketti",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY |
	    SMFIF_SETSYMLIST,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_data = on_data,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
};

/* SIGHUP: a new generation, unless it does not load. */
static void *
reloader(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;) {
		struct generation *g, *old;

		if (sigwait(set, &sig) != 0 || sig != SIGHUP)
			continue;
		if ((g = gen_load()) == NULL) {
			log_warnx("reload failed: keeping the configuration, "
			    "rules and calendars in force");
			continue;
		}
		pthread_mutex_lock(&gen_lock);
		old = current;
		current = g;
		pthread_mutex_unlock(&gen_lock);
		gen_put(old);
		log_info("reloaded the configuration and rules");
	}
	return NULL;
}

static void
drop_privileges(const char *user, const char *socket)
{
	struct passwd *pw;
	const char *path = NULL;

	if (user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx(78, "milter_user %s: no such user", user);
	/* A unix socket (mode 0770) belongs to the user and its group: add
	 * postfix to the group to let it connect. */
	if (strncmp(socket, "unix:", 5) == 0)
		path = socket + 5;
	else if (strncmp(socket, "local:", 6) == 0)
		path = socket + 6;
	else if (socket[0] == '/')
		path = socket;
	if (path && chown(path, pw->pw_uid, pw->pw_gid) == -1)
		fatal(71, "chown %s", path);
	if (setgroups(0, NULL) == -1 || initgroups(pw->pw_name, pw->pw_gid) ==
	    -1 || setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		fatal(71, "dropping privileges to %s", user);
	if (setuid(0) != -1)
		fatalx(71, "privileges to %s not dropped", user);
}

int
milter_main(const char *config, int must_exist, const char *socket,
    int foreground)
{
	static sigset_t hup;
	pthread_t send_thread, hup_thread;
	pthread_condattr_t ca;
	FILE *fp;
	int rv;

	conf_path = config;
	conf_must_exist = must_exist;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gather_cond, &ca);
	pthread_condattr_destroy(&ca);
	log_init(foreground, LOG_MAIL);
	if ((current = gen_load()) == NULL)
		return 78;
	if (socket == NULL)
		socket = current->conf->milter_socket;
	/* SIGHUP is ours (the reloader waits for it); libmilter's signal
	 * thread takes SIGTERM and SIGINT and finishes what is in flight. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
	/* An MTA that hangs up mid-reply must not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (strncmp(socket, "unix:", 5) == 0 || strncmp(socket, "local:", 6) ==
	    0 || socket[0] == '/')
		(void)umask(007);
	/* Body chunks of 64 KiB and more (past libmilter's 65535 default). */
	smfi_setmaxdatasize(256 * 1024);
	if (smfi_setconn((char *)socket) == MI_FAILURE ||
	    smfi_register(milter_desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		log_warnx("cannot listen on %s", socket);
		return 71;
	}
	if (!foreground && daemon(0, 0) == -1)
		fatal(71, "daemon");
	if (current->conf->milter_pid_file &&
	    (fp = fopen(current->conf->milter_pid_file, "w")) != NULL) {
		fprintf(fp, "%ld\n", (long)getpid());
		fclose(fp);
	}
	drop_privileges(current->conf->milter_user, socket);
	pthread_create(&hup_thread, NULL, reloader, &hup);
	pthread_create(&send_thread, NULL, sender, NULL);
	log_info("listening on %s", socket);
	rv = smfi_main();
	pthread_mutex_lock(&send_lock);
	stopping = 1;
	pthread_cond_signal(&send_cond);
	pthread_mutex_unlock(&send_lock);
	pthread_join(send_thread, NULL);
	worker_free(writer);
	if (current->conf->milter_pid_file)
		unlink(current->conf->milter_pid_file);
	log_info("stopped");
	return rv == MI_SUCCESS ? 0 : 70;
}
