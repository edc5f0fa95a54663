/*
 * NAME
 *	milter.c — tiketti as a Postfix milter (libmilter).
 * DESCRIPTION
 *	The only module that includes libmilter. It collects a message for
 *	a shared address (envelope recipient among `mailboxes`), or an
 *	agent's mail that may answer a ticket, and hands the raw bytes and
 *	the envelope to ingest_message() at end-of-message; other mail is
 *	accepted untouched at end-of-header. The message is kept in memory
 *	up to milter_spool_threshold, then in an unlinked temporary file.
 *	It adds X-Tiketti-Ticket and X-Tiketti-Status and, with
 *	milter_tag_subject, the ticket tag to the Subject.
 *
 *	Failure semantics: every internal error (database busy past its
 *	timeout, disk full, a spool that cannot be written) answers
 *	SMFIS_TEMPFAIL, so the mail stays in Postfix's queue and nothing is
 *	half-written; a message over message_size_limit is refused with
 *	552. ingest is idempotent, so a message Postfix hands over again
 *	after a timeout changes nothing the second time. The commit is
 *	durable (synchronous = FULL) before the answer.
 *
 *	Threads: libmilter runs callbacks on its own worker threads; each
 *	keeps one store and one ingest handle (thread-specific data). The
 *	configuration and rules are shared read-only and swapped under a
 *	lock on SIGHUP (the old ones stay when the new ones do not load). A
 *	sender thread runs deliver_flush() after messages and every 30
 *	seconds, with its own store handle.
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
	int		 refs;
};

/* Per worker thread. */
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
	char		 *subject;	/* the Subject as received, raw */
	struct buf	  mem;		/* the message, while small */
	int		  spool;	/* the message, once big; or -1 */
	size_t		  size;
	int		  too_big;
	char		  qid[32];
};

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct generation *current;
static const char *conf_path;
static int conf_must_exist;
static pthread_key_t worker_key;

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
	buf_free(&err);
	g->refs = 1;
	return g;
fail:
	buf_free(&err);
	rules_free(g->rules);
	conf_free(g->conf);
	free(g);
	return NULL;
}

static void
worker_free(void *arg)
{
	struct worker *w = arg;

	ingest_free(w->ingest);
	store_close(w->store);
	gen_put(w->gen);
	free(w);
}

/* This thread's handles, for the current generation; NULL: tempfail. */
static struct worker *
worker_get(const char *qid)
{
	struct worker *w = pthread_getspecific(worker_key);
	struct generation *g = gen_get();
	enum tk_status ts;

	if (w && w->gen == g) {
		gen_put(g);
		return w;
	}
	if (w) {	/* a reload since: start afresh */
		pthread_setspecific(worker_key, NULL);
		worker_free(w);
	}
	w = xcalloc(1, sizeof(*w));
	w->gen = g;
	ts = store_open(g->conf->database, g->conf->busy_timeout, 0, &w->store);
	if (ts != TK_OK) {
		log_warnx("%s: database %s: %s", qid, g->conf->database,
		    store_errmsg(w->store));
		worker_free(w);
		return NULL;
	}
	w->ingest = ingest_new(g->conf, w->store);
	ingest_set_rules(w->ingest, g->rules);
	pthread_setspecific(worker_key, w);
	return w;
}

static void
message_reset(struct mctx *c)
{
	free(c->from);
	for (size_t i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	free(c->subject);
	buf_free(&c->mem);
	if (c->spool != -1)
		close(c->spool);
	memset(c, 0, sizeof(*c));
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

static sfsistat
on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	struct mctx *c = xcalloc(1, sizeof(*c));

	(void)host;
	(void)addr;
	c->spool = -1;
	buf_init(&c->mem, 0);
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	struct mctx *c = smfi_getpriv(ctx);
	struct generation *g = gen_get();

	message_reset(c);
	c->from = addr_arg(argv[0] ? argv[0] : "");
	c->agent = conf_agent_by_address(g->conf, c->from) != NULL;
	gen_put(g);
	set_qid(ctx, c);
	return SMFIS_CONTINUE;
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mctx *c = smfi_getpriv(ctx);
	struct generation *g = gen_get();
	char *r = addr_arg(argv[0] ? argv[0] : "");

	if (conf_is_mailbox(g->conf, r))
		c->ours = 1;
	gen_put(g);
	c->rcpts = xreallocarray(c->rcpts, c->nrcpts + 1, sizeof(*c->rcpts));
	c->rcpts[c->nrcpts++] = r;
	return SMFIS_CONTINUE;
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

/* keep() with the current limits; a spool that fails tempfails. */
static sfsistat
keep_chunk(struct mctx *c, const void *p, size_t n)
{
	struct generation *g = gen_get();
	int rv = keep(c, p, n, g->conf->milter_spool_threshold,
	    g->conf->message_size_limit);

	gen_put(g);
	if (rv < 0) {
		log_warn("%s: spool", c->qid);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	struct mctx *c = smfi_getpriv(ctx);
	char *line = xasprintf("%s: %s\r\n", name, value);
	sfsistat rv;

	set_qid(ctx, c);
	if (strcasecmp(name, "Subject") == 0 && c->subject == NULL)
		c->subject = xstrdup(value);
	rv = keep_chunk(c, line, strlen(line));
	free(line);
	return rv;
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	struct mctx *c = smfi_getpriv(ctx);

	/* Not for a shared address and not from an agent: not ours. */
	if (!c->ours && !c->agent)
		return SMFIS_ACCEPT;
	return keep_chunk(c, "\r\n", 2);
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return keep_chunk(smfi_getpriv(ctx), chunk, len);
}

/* The tagged Subject, or NULL when it has the tag already. */
static char *
tagged_subject(const struct tk_conf *conf, const char *subject, int64_t id)
{
	char *tag = xasprintf("[%s #%lld]", conf->ticket_prefix, (long long)id);
	char *s = NULL, *enc;

	if (subject == NULL || strstr(subject, tag) == NULL) {
		/* The raw value may hold encoded words: append, one line. */
		enc = mime_header_encode(subject ? subject : "");
		s = xasprintf("%s%s%s", enc, *enc ? " " : "", tag);
		free(enc);
	}
	free(tag);
	return s;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	struct mctx *c = smfi_getpriv(ctx);
	struct ingest_envelope env = { 0 };
	struct ingest_result res;
	struct worker *w;
	enum tk_status ts;
	const char *raw;
	void *map = NULL;
	char num[32], *subj;
	sfsistat rv = SMFIS_CONTINUE;

	set_qid(ctx, c);
	if (c->too_big) {
		smfi_setreply(ctx, "552", "5.3.4",
		    "Message too big for the ticket system");
		log_warnx("%s: refused: over message_size_limit", c->qid);
		return SMFIS_REJECT;
	}
	if ((w = worker_get(c->qid)) == NULL)
		return SMFIS_TEMPFAIL;
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
	ts = ingest_message(w->ingest, raw, c->size, &env, &res);
	if (map)
		munmap(map, c->size);
	if (ts == TK_ELIMIT) {
		smfi_setreply(ctx, "552", "5.3.4",
		    "Message too big for the ticket system");
		log_warnx("%s: refused: %s", c->qid, ingest_errmsg(w->ingest));
		return SMFIS_REJECT;
	}
	if (ts != TK_OK) {
		log_warnx("%s: tempfail: %s", c->qid, ingest_errmsg(w->ingest));
		return SMFIS_TEMPFAIL;
	}
	if (res.skipped)
		return SMFIS_ACCEPT;
	log_info("%s: ticket %lld %s (%s%s)", c->qid, (long long)res.ticket,
	    res.status, res.duplicate ? "duplicate" : res.created ? "new" :
	    thread_how_str(res.how), res.forged ? ", forged token ignored" : "");
	snprintf(num, sizeof(num), "%lld", (long long)res.ticket);
	if (smfi_addheader(ctx, "X-Tiketti-Ticket", num) != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Tiketti-Status", res.status) != MI_SUCCESS)
		log_warnx("%s: could not add headers", c->qid);
	if (w->gen->conf->milter_tag_subject && c->ours &&
	    (subj = tagged_subject(w->gen->conf, c->subject, res.ticket))) {
		if (smfi_chgheader(ctx, "Subject", 1, subj) != MI_SUCCESS)
			log_warnx("%s: could not tag the Subject", c->qid);
		free(subj);
	}
	pthread_mutex_lock(&send_lock);
	send_wanted = 1;
	pthread_cond_signal(&send_cond);
	pthread_mutex_unlock(&send_lock);
	return rv;
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
				    g->conf->busy_timeout, 0, &s) != TK_OK) {
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
	}
	store_close(s);
	gen_put(g);
	return NULL;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "tiketti",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_connect = on_connect,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
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
			log_warnx("reload failed: keeping the configuration and "
			    "rules in force");
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
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx(78, "milter_user %s: no such user", user);
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
	FILE *fp;
	int rv;

	conf_path = config;
	conf_must_exist = must_exist;
	log_init(foreground, LOG_MAIL);
	if ((current = gen_load()) == NULL)
		return 78;
	if (socket == NULL)
		socket = current->conf->milter_socket;
	pthread_key_create(&worker_key, worker_free);
	/* SIGHUP is ours (the reloader waits for it); libmilter's signal
	 * thread takes SIGTERM and SIGINT and finishes what is in flight. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
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
	drop_privileges(current->conf->milter_user);
	pthread_create(&hup_thread, NULL, reloader, &hup);
	pthread_create(&send_thread, NULL, sender, NULL);
	log_info("listening on %s", socket);
	rv = smfi_main();
	pthread_mutex_lock(&send_lock);
	stopping = 1;
	pthread_cond_signal(&send_cond);
	pthread_mutex_unlock(&send_lock);
	pthread_join(send_thread, NULL);
	if (current->conf->milter_pid_file)
		unlink(current->conf->milter_pid_file);
	log_info("stopped");
	return rv == MI_SUCCESS ? 0 : 70;
}
