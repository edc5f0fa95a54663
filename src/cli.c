/*
 * NAME
 *	cli.c — main(): global options and the subcommands.
 * DESCRIPTION
 *	tiketti [-c FILE] [--db DATABASE] [-v] COMMAND ...  One job per command;
 *	each reads the configuration, opens the store and calls the module
 *	that does the work (ingest, store queries for the ticket CLI). The
 *	only place that maps a tk_status to an exit code and that prints.
 * DIAGNOSTICS
 *	Exit codes from sysexits(3): 0, 64 usage, 65 data (message over the
 *	size limit), 66 no input, 74 I/O, 75 temporary (retry), 77 refused
 *	(poll: certificate, login, password file), 78 configuration.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tiketti/automate.h"
#include "tiketti/buf.h"
#include "tiketti/calendar.h"
#include "tiketti/check.h"
#include "tiketti/clocks.h"
#include "tiketti/conf.h"
#include "tiketti/deliver.h"
#include "tiketti/imap.h"
#include "tiketti/ingest.h"
#include "tiketti/json.h"
#include "tiketti/log.h"
#include "tiketti/milter.h"
#include "tiketti/mime.h"
#include "tiketti/oauth.h"
#include "tiketti/quote.h"
#include "tiketti/report.h"
#include "tiketti/rules.h"
#include "tiketti/sla.h"
#include "tiketti/store.h"
#include "tiketti/str.h"
#include "tiketti/ticket.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/tiketti/tiketti.conf"
/*
 * Messages a bulk import commits at a time, each in a savepoint of its
 * own. PostgreSQL keeps 64 subtransactions of a transaction in shared
 * memory; past that, every other session's snapshot overflows to
 * pg_subtrans lookups: four importers side by side lost 30% of their
 * rate.
 */
#define BATCH_MESSAGES	64

struct ctx {
	struct tk_conf	*conf;
	const char	*dbpath;
	struct store	*store;
	struct ruleset	*rules;
	struct sla	*sla;		/* the rules' policies, or NULL */
};

const char *
tk_status_str(enum tk_status st)
{
	switch (st) {
	case TK_OK: return "ok";
	case TK_ETEMP: return "temporary failure";
	case TK_EPERM: return "refused";
	case TK_EPARSE: return "parse error";
	case TK_ELIMIT: return "over a limit";
	default: return "I/O error";
	}
}

int
tk_status_exit(enum tk_status st)
{
	switch (st) {
	case TK_OK: return EX_OK;
	case TK_ETEMP: return EX_TEMPFAIL;
	case TK_EPERM: return EX_NOPERM;
	case TK_EPARSE: return EX_DATAERR;
	case TK_ELIMIT: return EX_DATAERR;
	default: return EX_IOERR;
	}
}

/*
 * The pipe transport: `tiketti ingest` with the message on standard
 * input. pipe(8) bounces the mail on any exit code but 75 (and 0), so a
 * fault that is not the message's own (a configuration typo, a database
 * that will not open, is read-only or corrupt, even a bad command line
 * in master.cf) must exit 75: the mail stays queued until it is fixed.
 * Only a message refused on its own merits (over message_size_limit:
 * EX_DATAERR) bounces.
 */
static int pipe_mode;

static int
pipe_exit(int code)
{
	if (!pipe_mode || code == EX_OK || code == EX_DATAERR ||
	    code == EX_TEMPFAIL)
		return code;
	fprintf(stderr, "tiketti: exit %d is not the message's fault: exit "
	    "75 so that the mail stays queued\n", code);
	return EX_TEMPFAIL;
}

/*
 * 1 when argv (from "ingest") reads one message from standard input: no
 * --maildir or --mbox, and "-" or no operand at all; or, with standard
 * input not a terminal, no operand that is an existing file (a word
 * after a mistyped option in master.cf is no file to read).
 */
static int
ingest_from_stdin(int argc, char **argv)
{
	int operands = 0, dash = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--maildir", 9) == 0 ||
		    strncmp(a, "--mbox", 6) == 0)
			return 0;
		/* An option's argument is no file name. */
		if (strcmp(a, "-f") == 0 || strcmp(a, "-r") == 0 ||
		    strcmp(a, "-m") == 0 || strcmp(a, "--sender") == 0 ||
		    strcmp(a, "--recipient") == 0 ||
		    strcmp(a, "--mailbox") == 0) {
			i++;
			continue;
		}
		if (strcmp(a, "-") == 0)
			dash = 1;
		else if (a[0] != '-') {
			operands++;
			files += access(a, F_OK) == 0;
		}
	}
	return dash || operands == 0 || (!isatty(STDIN_FILENO) && files == 0);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: tiketti [-c FILE] [--db DATABASE] [-v] COMMAND ...\n"
	    "commands:\n"
	    "  ingest [--sender ADDR] [--recipient ADDR]... [--mailbox ADDR]\n"
	    "         [--no-rules]\n"
	    "         [FILE...|-] [--maildir DIR] [--mbox FILE]\n"
	    "  ticket list [--status S] [--format text|json]\n"
	    "  ticket show ID [--format text|json]\n"
	    "  ticket set ID status|priority|category|assignee VALUE\n"
	    "  ticket set ID field NAME VALUE\n"
	    "  ticket merge SRC DST\n"
	    "  ticket unmerge SRC\n"
	    "  ticket split ID MESSAGE\n"
	    "  queue [--format text|json]\n"
	    "  agent list [--format text|json]\n"
	    "  agent set NAME away [--until TIME] | back\n"
	    "  message raw ID\n"
	    "  message attachment ID N [-o FILE]\n"
	    "  rules check [PATH...]\n"
	    "  rules test [--event create|customer-reply|agent-reply] MAIL\n"
	    "  rules explain TICKET\n"
	    "  poll [--account NAME] [--idle]\n"
	    "  report [--since DATE] [--until DATE] [--mailbox ADDR]\n"
	    "         [--format text|csv|json|html] [--replay POLICY-FILE]\n"
	    "         [--by field:NAME]\n"
	    "         [-o FILE]\n"
	    "  tick [--dry-run [--at TIME]]\n"
	    "  calendar check FILE...\n"
	    "  calendar due FILE START DURATION\n"
	    "  flush [-f]\n"
	    "  milter [-d] [-p unix:PATH|inet:PORT@HOST]\n"
	    "  outbox list [--state queued|sending|sent|failed|bounced|\n"
	    "              cancelled]\n"
	    "              [--format text|json]\n"
	    "  db migrate\n"
	    "  db copy SRC DST\n"
	    "  oauth login ACCOUNT\n"
	    "  check [-w tick=5m,poll=15m,outbox=1] [-c ...] [--milter]\n"
	    "  block list | add ADDRESS | remove ADDRESS\n"
	    "  purge --spam --older-than DURATION\n"
	    "  forget ADDRESS\n"
	    "  export ADDRESS [-o FILE]\n"
	    "  config\n");
	exit(pipe_exit(EX_USAGE));
}

static void
open_store(struct ctx *x, int readonly)
{
	const char *path = x->dbpath ? x->dbpath : x->conf->database;
	enum tk_status ts;

	ts = store_open(path, x->conf->busy_timeout,
	    readonly ? STORE_READONLY : 0, &x->store);
	if (ts != TK_OK) {
		char *shown = store_describe(path);

		fatalx(ts == TK_ETEMP ? EX_TEMPFAIL : EX_CANTCREAT,
		    "database %s: %s%s", shown, store_errmsg(x->store),
		    ts == TK_ETEMP ? " (try again later)" : "");
	}
}

/*
 * Loads rules_dir. A broken set is reported line by line; the caller
 * decides what that means for its job.
 */
static enum tk_status
load_rules(struct ctx *x)
{
	struct buf err;
	enum tk_status ts;

	/* The default directory may well not exist; one set by hand should. */
	if (access(x->conf->rules_dir, F_OK) == -1 &&
	    strcmp(x->conf->rules_dir, SYSCONFDIR "/tiketti/rules") != 0)
		log_warn("rules_dir %s; running without rules",
		    x->conf->rules_dir);
	buf_init(&err, 0);
	ts = rules_load(x->conf->rules_dir, x->conf, &x->rules, &err);
	if (ts != TK_OK)
		fputs(err.data ? err.data : "", stderr);
	buf_free(&err);
	return ts;
}

/*
 * The service promises: the rules' policies and the calendars they name
 * (the rules first). A calendar that does not load is reported line by
 * line, and the command goes on without promises, saying so (must: it
 * exits instead); -1 then.
 */
static int
load_sla(struct ctx *x, int must)
{
	const struct sla_policy *p;
	struct buf err;
	size_t n;

	if (x->rules == NULL && load_rules(x) != TK_OK) {
		if (must)
			fatalx(EX_CONFIG, "rules in %s do not load",
			    x->conf->rules_dir);
		log_warnx("rules in %s do not load: no service promises",
		    x->conf->rules_dir);
		return -1;
	}
	p = rules_policies(x->rules, &n);
	buf_init(&err, 0);
	if (sla_new(p, n, x->conf->calendars_dir, x->conf->sla_policy, &x->sla,
	    &err) != TK_OK) {
		fputs(err.data ? err.data : "", stderr);
		buf_free(&err);
		if (must)
			fatalx(EX_CONFIG, "a calendar does not load: fix it and "
			    "check with `tiketti calendar check`");
		log_warnx("a calendar does not load: no service promises");
		return -1;
	}
	buf_free(&err);
	return 0;
}

/* ---- ingest ---- */

struct ingest_run {
	struct ctx		*x;
	struct ingest		*ig;
	struct ingest_envelope	 env;
	int			 batch;		/* in a bulk transaction */
	long			 n, created, threaded, dups, flagged, refused;
	long			 history;	/* older than history_age */
	time_t			 last_progress;
	time_t			 started;
	int64_t			 batch_ms;	/* when the batch began */
	enum tk_status		 worst;
};

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
progress(struct ingest_run *r, int final)
{
	time_t now = time(NULL);

	if (!final && now - r->last_progress < 2)
		return;
	r->last_progress = now;
	fprintf(stderr, "tiketti: %s%ld messages: %ld new tickets, %ld threaded, "
	    "%ld duplicates, %ld flagged, %ld refused, %ld history (nothing "
	    "sent)\n", final ? "ingested " : "", r->n, r->created, r->threaded,
	    r->dups, r->flagged, r->refused, r->history);
}

/* Ingests one message; returns non-zero to stop (a transient failure). */
static int
ingest_one(const char *raw, size_t len, const char *name, struct ingest_run *r)
{
	struct ingest_result res;
	enum tk_status ts;

	ts = ingest_message(r->ig, raw, len, &r->env, &res);
	if (ts == TK_ETEMP) {
		log_warnx("%s: %s (try again later)", name,
		    ingest_errmsg(r->ig));
		r->worst = TK_ETEMP;
		return 1;
	}
	if (ts != TK_OK) {
		log_warnx("%s: %s", name, ingest_errmsg(r->ig));
		r->refused++;
		if (r->worst == TK_OK)
			r->worst = ts;
		return 0;
	}
	r->n++;
	if (res.duplicate)
		r->dups++;
	else if (res.created)
		r->created++;
	else
		r->threaded++;
	if (res.flags & (MIME_UNPARSED | MIME_NOHEADERS | MIME_MID_REUSED))
		r->flagged++;
	if (res.history && !res.duplicate)
		r->history++;
	if (res.forged)
		log_warnx("%s: ignored an address token with a bad signature "
		    "(ticket %lld)", name, (long long)res.ticket);
	if (res.unverified[0])
		log_warnx("%s: agent_unverified: From: an agent, taken as her "
		    "sender's mail (ticket %lld): %s", name,
		    (long long)res.ticket, res.unverified);
	if (log_getverbose())
		log_debug("%s: ticket %lld%s%s%s", name, (long long)res.ticket,
		    res.status[0] ? " " : "", res.status,
		    res.duplicate ? " (duplicate)" : "");
	/*
	 * Bulk runs commit every BATCH_MESSAGES messages, to bound the lost
	 * work, and at least every second: the milter and the poller wait
	 * for the write lock meanwhile (busy_timeout), and live mail must
	 * not.
	 */
	if (r->batch && (r->n % BATCH_MESSAGES == 0 ||
	    monotonic_ms() - r->batch_ms >= 1000)) {
		if (ingest_batch_commit(r->ig) != TK_OK ||
		    ingest_batch_begin(r->ig) != TK_OK) {
			log_warnx("%s: %s", name, ingest_errmsg(r->ig));
			r->worst = TK_ETEMP;
			r->batch = 0;
			return 1;
		}
		r->batch_ms = monotonic_ms();
	}
	if (r->batch)
		progress(r, 0);
	return 0;
}

/* Ingests one file; file_time is its delivery time for a bulk import. */
static int
ingest_file(const char *path, struct ingest_run *r, int64_t file_time)
{
	struct stat st;
	struct buf b;
	int fd, rv;
	enum tk_status ts;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		if (r->worst == TK_OK)
			r->worst = TK_EIO;
		return errno == ENOENT ? 0 : 1;
	}
	buf_init(&b, (size_t)r->x->conf->message_size_limit + 1);
	/* A file says its size: one over the limit is not read at all. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > r->x->conf->message_size_limit)
		ts = TK_ELIMIT;
	else
		ts = buf_read_fd(&b, fd);
	if (fd != STDIN_FILENO)
		close(fd);
	if (ts == TK_ELIMIT) {
		log_warnx("%s: message is over message_size_limit (%lld bytes)",
		    path, r->x->conf->message_size_limit);
		r->refused++;
		if (r->worst == TK_OK)
			r->worst = TK_ELIMIT;
		buf_free(&b);
		return 0;
	}
	if (ts != TK_OK) {
		log_warn("%s", path);
		if (r->worst == TK_OK)
			r->worst = TK_EIO;
		buf_free(&b);
		return 0;
	}
	r->env.file_time = file_time;
	rv = ingest_one(b.data ? b.data : "", b.len, path, r);
	buf_free(&b);
	return rv;
}

/* A maildir file and what orders it: when it was delivered. */
struct mdfile {
	char		*path;
	int64_t		 at;		/* the name's time, else the mtime */
	int64_t		 ns;		/* the mtime's nanoseconds */
	int64_t		 date;		/* Date:, read only to break a tie */
};

/*
 * The delivery time a maildir name starts with ("1767607200.M1P100.host"),
 * or 0 when the name is no such name.
 */
static int64_t
name_time(const char *name)
{
	long long v = 0;
	const char *p = name;

	while (*p >= '0' && *p <= '9' && v < 100000000000LL)
		v = v * 10 + (*p++ - '0');
	return *p == '.' && v >= 100000000LL ? (int64_t)v : 0;
}

static int
md_cmp(const void *a, const void *b)
{
	const struct mdfile *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The Date: of a file, for files delivered in the same instant. */
static int64_t
file_date(const struct tk_conf *c, const char *path)
{
	struct buf b;
	struct tk_msg *m;
	int64_t d = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	buf_init(&b, (size_t)c->message_size_limit + 1);
	if (buf_read_fd(&b, fd) == TK_OK && b.data) {
		m = ingest_parse(c, b.data, b.len);
		d = m->date;
		mime_free(m);
	}
	close(fd);
	buf_free(&b);
	return d;
}

/*
 * Reads DIR/new and DIR/cur in delivery order, both folders as one: the
 * time a maildir name starts with, else the file's time, then Date:
 * (a reply filed in cur/ is not read before its original in new/).
 */
static int
ingest_maildir(const char *dir, struct ingest_run *r)
{
	static const char *const subs[] = { "cur", "new" };
	struct mdfile *f = NULL;
	size_t n = 0;
	int rv = 0, seen = 0;

	for (size_t k = 0; k < 2; k++) {
		char *path = xasprintf("%s/%s", dir, subs[k]);
		DIR *d = opendir(path);
		struct dirent *de;

		if (d == NULL) {
			free(path);
			continue;
		}
		seen = 1;
		while ((de = readdir(d)) != NULL) {
			struct stat st;
			struct mdfile *e;

			if (de->d_name[0] == '.')
				continue;
			f = xreallocarray(f, n + 1, sizeof(*f));
			e = &f[n++];
			memset(e, 0, sizeof(*e));
			e->path = xasprintf("%s/%s", path, de->d_name);
			e->at = name_time(de->d_name);
			if (stat(e->path, &st) == 0) {
				if (e->at == 0)
					e->at = (int64_t)st.st_mtim.tv_sec;
				e->ns = (int64_t)st.st_mtim.tv_nsec;
			}
		}
		closedir(d);
		free(path);
	}
	if (!seen) {
		log_warnx("%s: not a maildir (no cur/ or new/)", dir);
		return -1;
	}
	if (n > 1)
		qsort(f, n, sizeof(*f), md_cmp);
	/* Delivered in the same instant: Date: says which came first. */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && f[j].at == f[i].at && f[j].ns == f[i].ns;
		    j++)
			;
		if (j - i > 1) {
			for (size_t k = i; k < j; k++)
				f[k].date = file_date(r->x->conf, f[k].path);
			qsort(f + i, j - i, sizeof(*f), md_cmp);
		}
	}
	for (size_t i = 0; i < n && rv == 0; i++)
		rv = ingest_file(f[i].path, r, f[i].at);
	for (size_t i = 0; i < n; i++)
		free(f[i].path);
	free(f);
	return rv;
}

static int
mbox_cb(const char *raw, size_t len, void *arg)
{
	return ingest_one(raw, len, "mbox message", arg);
}

static int
ingest_mbox(const char *path, struct ingest_run *r)
{
	struct stat st;
	void *map;
	int fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		log_warn("%s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		log_warn("%s: mmap", path);
		return -1;
	}
	rv = mime_mbox_split(map, (size_t)st.st_size, mbox_cb, r);
	munmap(map, (size_t)st.st_size);
	return rv;
}

/* ---- sending ---- */

/*
 * Sends what is due after a job committed. Mail waiting for an smtp_url
 * is no news here (`tiketti flush` and `outbox list` say so); other
 * trouble is logged and left for the next run: the job itself is done.
 */
static void
flush_after(struct ctx *x)
{
	struct deliver_stats st;
	enum tk_status ts;
	char err[512];

	ts = deliver_flush(x->conf, x->store, 0, &st, err, sizeof(err));
	if (ts == TK_EPERM && x->conf->smtp_url == NULL)
		log_debug("flush: %s", err);
	else if (ts != TK_OK)
		log_warnx("flush: %s", err);
}

static int
cmd_flush(struct ctx *x, int argc, char **argv)
{
	struct deliver_stats st;
	enum tk_status ts;
	char err[512];
	int force = 0;

	if (argc == 2 && strcmp(argv[1], "-f") == 0)
		force = 1;
	else if (argc != 1)
		usage();
	open_store(x, 0);
	ts = deliver_flush(x->conf, x->store, force, &st, err, sizeof(err));
	printf("outbox: %lld sent, %lld deferred, %lld failed, %lld "
	    "cancelled\n", (long long)st.sent, (long long)st.deferred,
	    (long long)st.failed, (long long)st.cancelled);
	if (ts == TK_EPERM)
		fatalx(EX_CONFIG, "%s", err);
	if (ts != TK_OK)
		fatalx(tk_status_exit(ts), "%s", err);
	return EX_OK;
}

static int
cmd_ingest(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "maildir", required_argument, NULL, 'M' },
		{ "mbox", required_argument, NULL, 'b' },
		{ "sender", required_argument, NULL, 'f' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "mailbox", required_argument, NULL, 'm' },
		{ "no-rules", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct ingest_run r = { .x = x };
	int rules = 1;
	const char **rcpts = NULL;
	char **maildirs = NULL, **mboxes = NULL;
	size_t nmaildirs = 0, nmboxes = 0;
	int ch, rv = 0, bulk;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:r:m:", opts, NULL)) != -1) {
		switch (ch) {
		case 'M':
			maildirs = xreallocarray(maildirs, nmaildirs + 1,
			    sizeof(*maildirs));
			maildirs[nmaildirs++] = optarg;
			break;
		case 'b':
			mboxes = xreallocarray(mboxes, nmboxes + 1,
			    sizeof(*mboxes));
			mboxes[nmboxes++] = optarg;
			break;
		case 'f':
			r.env.mail_from = str_lower(optarg);
			break;
		case 'r':
			rcpts = xreallocarray(rcpts, r.env.nrcpts + 1,
			    sizeof(*rcpts));
			rcpts[r.env.nrcpts++] = str_lower(optarg);
			break;
		case 'm':
			r.env.mailbox = str_lower(optarg);
			break;
		case 'n':
			rules = 0;
			break;
		default:
			usage();
		}
	}
	r.env.rcpts = rcpts;
	argc -= optind;
	argv += optind;
	/* Without its rules a mail would miss its autoreply or routing:
	 * leave it with the sender (75) until the rules are fixed. */
	if (rules && load_rules(x) != TK_OK)
		fatalx(EX_TEMPFAIL, "rules in %s do not load; mail left for "
		    "retry", x->conf->rules_dir);
	open_store(x, 0);
	r.ig = ingest_new(x->conf, x->store);
	ingest_set_rules(r.ig, x->rules);
	if (rules)
		(void)load_sla(x, 0);	/* without: no time left in mail */
	ingest_set_sla(r.ig, x->sla);
	r.started = r.last_progress = time(NULL);
	bulk = nmaildirs || nmboxes;
	/* An import: each message at its own time, old ones as history. */
	r.env.stamp = bulk;
	/* Only the debug log names it. */
	r.env.no_status = bulk && !log_getverbose();
	if (bulk) {
		if (ingest_batch_begin(r.ig) != TK_OK) {
			log_warnx("%s", ingest_errmsg(r.ig));
			r.worst = TK_ETEMP;
			goto out;
		}
		r.batch = 1;
		r.batch_ms = monotonic_ms();
	}
	if (argc == 0 && !bulk)
		rv = ingest_file("-", &r, 0);
	for (int i = 0; i < argc && rv == 0; i++)
		rv = ingest_file(argv[i], &r, 0);
	for (size_t i = 0; i < nmaildirs && rv == 0; i++)
		if ((rv = ingest_maildir(maildirs[i], &r)) < 0 &&
		    r.worst == TK_OK)
			r.worst = TK_EIO;
	for (size_t i = 0; i < nmboxes && rv == 0; i++)
		if ((rv = ingest_mbox(mboxes[i], &r)) < 0 && r.worst == TK_OK)
			r.worst = TK_EIO;
	if (r.batch && ingest_batch_commit(r.ig) != TK_OK) {
		log_warnx("commit: %s", ingest_errmsg(r.ig));
		r.worst = TK_ETEMP;
	}
	if (bulk || argc > 1)
		progress(&r, 1);
	if (r.n > r.dups)
		flush_after(x);
out:
	ingest_free(r.ig);
	free(rcpts);
	free(maildirs);
	free(mboxes);
	if (r.worst == TK_EIO)
		return pipe_exit(EX_NOINPUT);
	return pipe_exit(tk_status_exit(r.worst));
}

/* ---- poll ---- */

static volatile sig_atomic_t poll_stop;

static void
poll_on_signal(int sig)
{
	(void)sig;
	poll_stop = 1;
}

static void
poll_flush(void *arg)
{
	flush_after(arg);
}

/* How much an exit code says: a refusal, then I/O, then "try again". */
static int
poll_rank(int code)
{
	return code == EX_NOPERM ? 3 : code == EX_IOERR ? 2 :
	    code == EX_TEMPFAIL ? 1 : 0;
}

static int
cmd_poll(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "idle", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct imap_opts io = { .stop = &poll_stop, .after_pass = poll_flush,
	    .arg = x };
	const char *name = NULL;
	struct ingest *ig;
	int ch, rv = EX_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'a')
			name = optarg;
		else if (ch == 'i')
			io.idle = 1;
		else
			usage();
	}
	if (optind != argc)
		usage();
	if (x->conf->naccounts == 0)
		fatalx(EX_CONFIG, "no [account NAME] section in %s: nothing to "
		    "poll", x->conf->path ? x->conf->path : "the configuration");
	if (name && conf_account_by_name(x->conf, name) == NULL)
		fatalx(EX_CONFIG, "no [account %s] in %s", name,
		    x->conf->path ? x->conf->path : "the configuration");
	if (io.idle && name == NULL && x->conf->naccounts > 1)
		fatalx(EX_USAGE, "--idle watches one account: name it with "
		    "--account");
	/* Mail stays on the server until the rules load. */
	if (load_rules(x) != TK_OK)
		fatalx(EX_TEMPFAIL, "rules in %s do not load; mail left on the "
		    "server", x->conf->rules_dir);
	if (io.idle) {
		struct sigaction sa = { .sa_handler = poll_on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	open_store(x, 0);
	ig = ingest_new(x->conf, x->store);
	ingest_set_rules(ig, x->rules);
	(void)load_sla(x, 0);
	ingest_set_sla(ig, x->sla);
	for (size_t i = 0; i < x->conf->naccounts && !poll_stop; i++) {
		const struct conf_account *a = &x->conf->accounts[i];
		struct imap_stats st;
		enum tk_status ts;
		char err[1024];

		if (name && strcmp(name, a->name) != 0)
			continue;
		ts = imap_poll(x->conf, a, x->store, ig, &io, &st, err,
		    sizeof(err));
		if (ts != TK_OK)
			log_warnx("%s%s", err, ts == TK_ETEMP ?
			    " (try again later)" : "");
		if (st.fetched || st.skipped)
			log_info("account %s: %ld fetched, %ld new, %ld "
			    "already in, %ld left in the folder", a->name,
			    st.fetched, st.ingested, st.duplicates, st.skipped);
		if (poll_rank(tk_status_exit(ts)) > poll_rank(rv))
			rv = tk_status_exit(ts);
		/* For tiketti check: how this account's last poll went. */
		if (!st.busy && !io.idle) {
			char *hn = xasprintf("poll:%s", a->name);

			if (store_health_set(x->store, hn, (int64_t)time(NULL),
			    ts == TK_OK, ts == TK_OK ? NULL : err) != TK_OK)
				log_warnx("account %s: %s", a->name,
				    store_errmsg(x->store));
			free(hn);
		}
	}
	ingest_free(ig);
	return rv;
}

/* ---- db ---- */

static void
copy_progress(const char *table, int64_t rows, void *arg)
{
	(void)arg;
	log_info("%s: %lld rows", table, (long long)rows);
}

/*
 * db migrate: brings the database to this tiketti's schema (every command
 * does on open; this says so and does nothing else). db copy SRC DST:
 * the whole store into an empty one, between backends.
 */
static int
cmd_db(struct ctx *x, int argc, char **argv)
{
	struct store *src = NULL, *dst = NULL;
	enum tk_status ts;
	int version;

	if (argc == 2 && strcmp(argv[1], "migrate") == 0) {
		open_store(x, 0);
		version = store_schema_version(x->store);
		printf("%s: schema %d\n", store_path(x->store), version);
		return version == STORE_SCHEMA_VERSION ? EX_OK : EX_SOFTWARE;
	}
	if (argc != 4 || strcmp(argv[1], "copy") != 0)
		usage();
	if ((ts = store_open(argv[2], x->conf->busy_timeout, STORE_READONLY,
	    &src)) != TK_OK) {
		log_warnx("%s: %s", argv[2], store_errmsg(src));
		store_close(src);
		return tk_status_exit(ts);
	}
	if ((ts = store_open(argv[3], x->conf->busy_timeout, 0, &dst)) !=
	    TK_OK) {
		log_warnx("%s: %s", argv[3], store_errmsg(dst));
		store_close(src);
		store_close(dst);
		return tk_status_exit(ts);
	}
	ts = store_copy(src, dst, copy_progress, NULL);
	if (ts != TK_OK)
		log_warnx("copy %s to %s: %s", argv[2], argv[3],
		    store_errmsg(dst));
	else
		log_info("copied %s to %s", argv[2], argv[3]);
	store_close(src);
	store_close(dst);
	return tk_status_exit(ts);
}

/* ---- report ---- */

/*
 * YYYY-MM-DD as local midnight, plus days; @SECONDS as it is. Returns
 * -1 when it is neither.
 */
static int64_t
report_date(const char *s, int days)
{
	struct tm tm = { 0 };
	long long n;
	char *end;

	if (s[0] == '@')
		return str_to_ll(s + 1, 0, INT64_MAX / 2, &n) == TK_OK ? n : -1;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* Writes FILE.tmp and renames it, so a reader never sees half a page. */
static void
write_out(const char *path, const struct buf *b)
{
	char *tmp;
	FILE *fp;

	if (path == NULL || strcmp(path, "-") == 0) {
		fwrite(b->data ? b->data : "", 1, b->len, stdout);
		return;
	}
	tmp = xasprintf("%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL)
		fatal(EX_CANTCREAT, "%s", tmp);
	if (fwrite(b->data ? b->data : "", 1, b->len, fp) != b->len ||
	    fclose(fp) == EOF) {
		unlink(tmp);
		fatal(EX_IOERR, "%s", tmp);
	}
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		fatal(EX_CANTCREAT, "%s", path);
	}
	free(tmp);
}

static int
cmd_report(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "mailbox", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "replay", required_argument, NULL, 'r' },
		{ "by", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const formats[] = { "text", "csv", "json", "html" };
	struct ruleset *replay_rules = NULL;
	struct sla *replay = NULL;
	struct report_opts o = { .now = (int64_t)time(NULL) };
	const char *since = NULL, *until = NULL, *path = NULL;
	struct buf out;
	enum tk_status ts;
	char err[512], today[16];
	struct tm tm;
	time_t now = (time_t)o.now;
	int ch, found = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'm':
			o.mailbox = str_lower(optarg);
			break;
		case 'f':
			found = 0;
			for (size_t i = 0; i < 4; i++)
				if (strcmp(optarg, formats[i]) == 0) {
					o.format = (enum report_format)i;
					found = 1;
				}
			if (!found)
				usage();
			break;
		case 'o':
			path = optarg;
			break;
		case 'r':
			o.replay_file = optarg;
			break;
		case 'b':
			/* field:NAME, a field of tiketti.conf */
			if (strncmp(optarg, "field:", 6) != 0)
				fatalx(EX_USAGE, "--by %s: want field:NAME",
				    optarg);
			o.by_field = str_lower(optarg + 6);
			if (conf_field_by_name(x->conf, o.by_field) == NULL)
				fatalx(EX_USAGE, "--by %s: no [field %s] in %s",
				    optarg, o.by_field, x->conf->path ?
				    x->conf->path : "tiketti.conf");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	load_sla(x, o.replay_file != NULL);
	if (o.replay_file) {
		/* "What if we had promised this": the file's policies (and
		 * its calendars) count every ticket of the period. */
		const struct sla_policy *p;
		struct buf rerr;
		size_t n;

		buf_init(&rerr, 0);
		if (rules_load(o.replay_file, NULL, &replay_rules, &rerr) !=
		    TK_OK || (p = rules_policies(replay_rules, &n), n == 0) ||
		    sla_new(p, n, x->conf->calendars_dir, NULL, &replay, &rerr) !=
		    TK_OK) {
			fputs(rerr.data ? rerr.data : "", stderr);
			fatalx(EX_DATAERR, "--replay %s: no policy to replay",
			    o.replay_file);
		}
		buf_free(&rerr);
	}
	o.sla = x->sla;
	o.replay = replay;
	/* Both dates are days included; by default the last 30 days. */
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	o.until = report_date(until ? until : today, until && until[0] == '@' ?
	    0 : 1);
	if (o.until < 0)
		fatalx(EX_USAGE, "--until %s: want YYYY-MM-DD or @SECONDS",
		    until);
	if (since)
		o.since = report_date(since, 0);
	else
		o.since = report_date(until ? until : today, -29);
	if (o.since < 0)
		fatalx(EX_USAGE, "--since %s: want YYYY-MM-DD or @SECONDS",
		    since);
	if (o.since >= o.until)
		fatalx(EX_USAGE, "the period is empty: --since is not before "
		    "--until");
	open_store(x, 1);
	buf_init(&out, 0);
	if ((ts = report_write(x->conf, x->store, &o, &out, err,
	    sizeof(err))) != TK_OK)
		fatalx(tk_status_exit(ts), "report: %s", err);
	write_out(path, &out);
	buf_free(&out);
	sla_free(replay);
	rules_free(replay_rules);
	return EX_OK;
}

/* ---- ticket ---- */

/* --format, and a --status/--state filter when opt is not NULL. */
static const char *
format_arg(int *argc, char **argv, const char *opt, const char **status)
{
	const char *format = "text";
	int out = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < *argc)
			format = argv[++i];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else if (opt && strcmp(argv[i], opt) == 0 && i + 1 < *argc)
			*status = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			usage();
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		usage();
	return format;
}

/* The common fields of a ticket object; messages is written by the caller. */
static void
ticket_json_fields(struct json *j, const struct store_ticket *t)
{
	json_key_int(j, "id", t->id);
	json_key_str(j, "subject", t->subject);
	json_key_str(j, "status", t->status);
	json_key_str(j, "priority", t->priority);
	json_key_str(j, "category", t->category);
	json_key_str(j, "requester", t->requester);
	json_key_str(j, "assignee", t->assignee);
	json_key_str(j, "mailbox", t->mailbox);
	json_key_str(j, "skill", t->skill);
	json_key(j, "csat");
	if (t->csat)
		json_int(j, t->csat);
	else
		json_null(j);
	json_key(j, "parent");
	if (t->parent)
		json_int(j, t->parent);
	else
		json_null(j);
	json_key(j, "tags");
	json_arr_open(j);
	if (t->tags) {
		char *tags = xstrdup(t->tags), *p = tags, *comma;

		for (; p; p = comma) {
			if ((comma = strchr(p, ',')))
				*comma++ = '\0';
			json_str(j, p);
		}
		free(tags);
	}
	json_arr_close(j);
	json_key(j, "created");
	{
		char ts[32];

		str_time(t->created_at, ts, sizeof(ts));
		json_str(j, ts);
	}
}

struct list_out {
	int		 json;
	struct json	 j;
	struct buf	 b;
	struct store	*store;		/* ticket show: for attachments */
	enum tk_status	 ts;		/* ... and how reading them went */
	int64_t		 now;		/* queue: ages from it */
	struct queue_due *due;		/* queue: by ticket, in order */
	size_t		 ndue;
	const struct sla *sla;
};

static int
list_row(const struct store_ticket *t, void *arg)
{
	struct list_out *o = arg;

	if (o->json) {
		json_obj_open(&o->j);
		ticket_json_fields(&o->j, t);
		json_key(&o->j, "messages");
		json_int(&o->j, t->nmessages);
		json_obj_close(&o->j);
		return 0;
	}
	{
		char subj[45];
		size_t n = 0, cols = 0;

		/* Cut the subject at 40 columns, not inside a character. */
		for (const char *p = t->subject; *p && n < sizeof(subj) - 4; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80) {
				if (cols == 40)
					break;
				cols++;
			}
			subj[n++] = *p;
		}
		subj[n] = '\0';
		buf_printf(&o->b, "%6lld  %-7s  %-6s  %-30.30s  %4lld  %s\n",
		    (long long)t->id, t->status, t->priority,
		    t->requester ? t->requester : "-", (long long)t->nmessages,
		    subj);
	}
	return 0;
}

static void
flush_out(struct buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, stdout);
	buf_reset(b);
}

/* Starts a list: a JSON array, or a text table under its header line,
 * printed with the widths of the rows. */
static void __attribute__((format(printf, 3, 4)))
list_begin(struct list_out *o, const char *format, const char *header, ...)
{
	va_list ap;
	char line[256];

	memset(o, 0, sizeof(*o));
	buf_init(&o->b, 0);
	o->json = strcmp(format, "json") == 0;
	json_init(&o->j, &o->b, 1);
	if (o->json) {
		json_arr_open(&o->j);
		return;
	}
	va_start(ap, header);
	vsnprintf(line, sizeof(line), header, ap);
	va_end(ap);
	buf_addstr(&o->b, line);
}

/* Ends a list filled by a store query that returned ts, and prints it. */
static void
list_end(struct list_out *o, struct ctx *x, enum tk_status ts)
{
	if (o->json) {
		json_arr_close(&o->j);
		buf_addc(&o->b, '\n');
	}
	if (ts != TK_OK) {
		buf_free(&o->b);
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	}
	flush_out(&o->b);
	buf_free(&o->b);
}

static int
ticket_list(struct ctx *x, int argc, char **argv)
{
	struct list_out o;
	const char *status = NULL;
	const char *format = format_arg(&argc, argv, "--status", &status);
	enum tk_status ts;

	if (argc != 0)
		usage();
	if (status && !ticket_status_valid(status))
		fatalx(EX_USAGE, "bad status \"%s\"", status);
	open_store(x, 0);
	list_begin(&o, format, "%6s  %-7s  %-6s  %-30s  %4s  %s\n", "ID",
	    "STATUS", "PRIO", "REQUESTER", "MSGS", "SUBJECT");
	ts = store_ticket_list(x->store, status, list_row, &o);
	list_end(&o, x, ts);
	return EX_OK;
}

/* An age as "12m", "3h05m" or "2d07h": short enough for `watch`. */
static void
age_str(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 3600)
		snprintf(out, len, "%lldm", (long long)(secs / 60));
	else if (secs < 86400)
		snprintf(out, len, "%lldh%02lldm", (long long)(secs / 3600),
		    (long long)(secs % 3600 / 60));
	else
		snprintf(out, len, "%lldd%02lldh", (long long)(secs / 86400),
		    (long long)(secs % 86400 / 3600));
}

/* A ticket's clock due first, for the queue. */
struct queue_due {
	int64_t			 ticket, due;
	enum sla_target		 target;
	const struct sla_policy	*policy;
};

static int
queue_clocks(int64_t ticket, const struct sla_policy *p,
    const struct sla_clock *c, size_t n, void *arg)
{
	struct list_out *o = arg;
	const struct sla_clock *near = clocks_nearest(c, n);

	if (near == NULL || near->due == CALENDAR_NEVER)
		return 0;
	o->due = xreallocarray(o->due, o->ndue + 1, sizeof(*o->due));
	o->due[o->ndue++] = (struct queue_due){ ticket, near->due,
	    near->target, p };
	return 0;
}

static const struct queue_due *
queue_due_find(const struct list_out *o, int64_t ticket)
{
	size_t lo = 0, hi = o->ndue;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->due[mid].ticket == ticket)
			return &o->due[mid];
		if (o->due[mid].ticket < ticket)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
queue_row(const struct store_ticket *t, void *arg)
{
	struct list_out *o = arg;
	const struct queue_due *d = queue_due_find(o, t->id);
	int64_t age = o->now - t->created_at;
	char a[24], due[24] = "-", iso[32];

	if (!o->json) {
		age_str(age, a, sizeof(a));
		if (d) {
			/* Wall-clock time to the due instant; "!" past it. */
			age_str(d->due > o->now ? d->due - o->now :
			    o->now - d->due, due + 1, sizeof(due) - 1);
			due[0] = d->due > o->now ? ' ' : '!';
		}
		buf_printf(&o->b, "%6lld  %-7s  %8s  %-6s  %-6s  %-12.12s  "
		    "%-12.12s  %s\n", (long long)t->id, a, due, t->priority,
		    t->status, t->skill ? t->skill : "-",
		    t->assignee ? t->assignee : "-", t->subject);
		return 0;
	}
	json_obj_open(&o->j);
	json_key_int(&o->j, "id", t->id);
	json_key_str(&o->j, "subject", t->subject);
	json_key_str(&o->j, "status", t->status);
	json_key_int(&o->j, "age", age < 0 ? 0 : age);
	json_key_str(&o->j, "priority", t->priority);
	json_key_str(&o->j, "skill", t->skill);
	json_key_str(&o->j, "assignee", t->assignee);
	json_key_str(&o->j, "requester", t->requester);
	json_key(&o->j, "due");
	if (d) {
		json_obj_open(&o->j);
		json_key_str(&o->j, "target", sla_target_name(d->target));
		json_key_int(&o->j, "due", d->due);
		calendar_iso(sla_calendar(o->sla, d->policy), d->due, iso);
		json_key_str(&o->j, "due_iso", iso);
		json_key(&o->j, "breached");
		json_bool(&o->j, d->due < o->now);
		json_obj_close(&o->j);
	} else
		json_null(&o->j);
	json_obj_close(&o->j);
	return 0;
}

/* The queue's clocks, read on their own connection. */
struct queue_dues {
	struct store		*s;
	struct list_out		*o;
	const struct sla	*sla;
	int64_t			 now;
	enum tk_status		 ts;
	char			 err[256];
};

static void *
queue_dues_run(void *arg)
{
	struct queue_dues *qd = arg;

	qd->ts = clocks_each(qd->s, qd->sla, NULL, STORE_STEPS_WAITING, 0, 0,
	    NULL, qd->now, queue_clocks, qd->o);
	if (qd->ts != TK_OK)
		snprintf(qd->err, sizeof(qd->err), "%s", store_errmsg(qd->s));
	return NULL;
}

/* The queue's rows, kept until the due times are in. */
struct queue_rows {
	struct store_ticket	*v;
	size_t			 n;
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int
queue_keep(const struct store_ticket *t, void *arg)
{
	struct queue_rows *r = arg;
	struct store_ticket *c;

	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	c = &r->v[r->n++];
	memset(c, 0, sizeof(*c));
	c->id = t->id;
	c->created_at = t->created_at;
	c->subject = dup_or_null(t->subject);
	c->status = dup_or_null(t->status);
	c->priority = dup_or_null(t->priority);
	c->skill = dup_or_null(t->skill);
	c->assignee = dup_or_null(t->assignee);
	c->requester = dup_or_null(t->requester);
	return 0;
}

/* queue [--format text|json]: what waits, as a supervisor watches it. */
static int
cmd_queue(struct ctx *x, int argc, char **argv)
{
	struct list_out o;
	const char *format;
	enum tk_status ts;

	argc--;
	argv++;
	format = format_arg(&argc, argv, NULL, NULL);
	if (argc != 0)
		usage();
	load_sla(x, 0);
	open_store(x, 1);
	list_begin(&o, format, "%6s  %-7s  %8s  %-6s  %-6s  %-12s  %-12s  %s\n",
	    "ID", "AGE", "DUE", "PRIO", "STATUS", "SKILL", "ASSIGNEE",
	    "SUBJECT");
	o.now = (int64_t)time(NULL);
	o.sla = x->sla;
	if (!sla_active(x->sla)) {
		ts = store_queue(x->store, queue_row, &o);
		list_end(&o, x, ts);
		return EX_OK;
	}
	/*
	 * The waiting tickets' clocks (one read of their events) on a
	 * second connection in a thread, while this one reads the queue;
	 * the rows are written once both are in. One connection when a
	 * second does not open.
	 */
	{
		struct queue_dues qd = { .o = &o, .sla = x->sla, .now = o.now };
		struct queue_rows rows = { 0 };
		pthread_t tid;
		int threaded = 0;

		if (store_open(store_path(x->store), x->conf->busy_timeout,
		    STORE_READONLY, &qd.s) == TK_OK)
			threaded = pthread_create(&tid, NULL, queue_dues_run,
			    &qd) == 0;
		if (!threaded) {
			store_close(qd.s);
			qd.s = x->store;
			queue_dues_run(&qd);
		}
		ts = store_queue(x->store, queue_keep, &rows);
		if (threaded) {
			pthread_join(tid, NULL);
			store_close(qd.s);
		}
		if (ts == TK_OK && qd.ts != TK_OK) {
			fatalx(tk_status_exit(qd.ts), "due times: %s", qd.err);
		}
		for (size_t i = 0; i < rows.n; i++) {
			queue_row(&rows.v[i], &o);
			store_ticket_clear(&rows.v[i]);
		}
		free(rows.v);
	}
	free(o.due);
	list_end(&o, x, ts);
	return EX_OK;
}

static int
show_att(const struct store_attachment *a, void *arg)
{
	struct list_out *o = arg;

	if (!o->json) {
		buf_printf(&o->b, "      attachment: %s (%lld bytes, %s)\n",
		    a->name ? a->name : "(no name)", (long long)a->size, a->type);
		return 0;
	}
	json_obj_open(&o->j);
	json_key(&o->j, "name");
	json_str(&o->j, a->name);
	json_key(&o->j, "type");
	json_str(&o->j, a->type);
	json_key_int(&o->j, "size", a->size);
	json_key(&o->j, "sha256");
	json_str(&o->j, a->sha256);
	json_obj_close(&o->j);
	return 0;
}

/*
 * A message of the conversation: in text its header line, what it
 * added (new_text) and its attachments; in JSON all of it, the whole
 * text too.
 */
static int
show_msg(const struct store_msginfo *m, void *arg)
{
	struct list_out *o = arg;
	char ts[32];

	str_time(m->date, ts, sizeof(ts));
	if (!o->json) {
		const char *p = m->new_text ? m->new_text : "";

		buf_printf(&o->b, "  [%lld] %s  %-3s  %-8s  %s  %s\n",
		    (long long)m->id, ts, m->direction, m->kind,
		    m->from_addr ? m->from_addr : "<>",
		    m->subject ? m->subject : "");
		while (*p) {
			size_t n = strcspn(p, "\n");

			buf_printf(&o->b, "      | %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		if (o->ts == TK_OK)
			o->ts = store_message_attachments(o->store, m->id,
			    show_att, o);
		return 0;
	}
	json_obj_open(&o->j);
	json_key_int(&o->j, "id", m->id);
	json_key(&o->j, "message_id");
	json_str(&o->j, m->message_id);
	json_key(&o->j, "from");
	json_str(&o->j, m->from_addr);
	json_key(&o->j, "direction");
	json_str(&o->j, m->direction);
	json_key(&o->j, "kind");
	json_str(&o->j, m->kind);
	json_key(&o->j, "subject");
	json_str(&o->j, m->subject);
	json_key(&o->j, "date");
	json_str(&o->j, ts);
	json_key(&o->j, "flagged");
	json_bool(&o->j, m->flags & (MIME_UNPARSED | MIME_NOHEADERS |
	    MIME_MID_REUSED));
	json_key(&o->j, "text");
	json_str(&o->j, m->text ? m->text : "");
	json_key(&o->j, "new_text");
	json_str(&o->j, m->new_text ? m->new_text : "");
	json_key(&o->j, "attachments");
	json_arr_open(&o->j);
	if (o->ts == TK_OK)
		o->ts = store_message_attachments(o->store, m->id, show_att, o);
	json_arr_close(&o->j);
	json_obj_close(&o->j);
	return 0;
}

static int
show_event(const struct store_event *e, void *arg)
{
	struct list_out *o = arg;
	char ts[32];

	str_time(e->at, ts, sizeof(ts));
	if (!o->json) {
		buf_printf(&o->b, "  %s  %-12s %s -> %s  (%s)\n", ts, e->type,
		    e->old ? e->old : "-", e->new_ ? e->new_ : "-",
		    e->actor ? e->actor : "system");
		return 0;
	}
	json_obj_open(&o->j);
	json_key(&o->j, "at");
	json_str(&o->j, ts);
	json_key(&o->j, "type");
	json_str(&o->j, e->type);
	json_key(&o->j, "actor");
	json_str(&o->j, e->actor);
	json_key(&o->j, "old");
	json_str(&o->j, e->old);
	json_key(&o->j, "new");
	json_str(&o->j, e->new_);
	json_obj_close(&o->j);
	return 0;
}

struct show_sla {
	struct ctx	*x;
	struct list_out	*o;
	int		 seen;
};

/* A ticket's service promise: its policy and clocks, in JSON or text. */
static int
show_clocks(int64_t ticket, const struct sla_policy *p,
    const struct sla_clock *c, size_t n, void *arg)
{
	struct show_sla *ss = arg;
	struct list_out *o = ss->o;

	(void)ticket;
	if (p == NULL)
		return 0;
	ss->seen = 1;
	if (!o->json) {
		buf_printf(&o->b, "Service promise: %s (calendar %s)\n", p->name,
		    p->calendar ? p->calendar : "none: around the clock");
		for (size_t i = 0; i < n; i++) {
			buf_addstr(&o->b, "  ");
			sla_clock_text(ss->x->sla, p, &c[i], &o->b);
		}
		return 0;
	}
	json_obj_open(&o->j);
	json_key_str(&o->j, "policy", p->name);
	json_key_str(&o->j, "calendar", p->calendar);
	json_key(&o->j, "clocks");
	json_arr_open(&o->j);
	for (size_t i = 0; i < n; i++)
		sla_clock_json(ss->x->sla, p, &c[i], &o->j);
	json_arr_close(&o->j);
	json_obj_close(&o->j);
	return 0;
}

static int64_t
ticket_id_arg(const char *s)
{
	long long id;

	if (*s == '#')
		s++;
	if (str_to_ll(s, 1, INT64_MAX, &id) != TK_OK)
		fatalx(EX_USAGE, "bad ticket id \"%s\"", s);
	return id;
}

/* What ticket show and export say of a ticket before its messages. */
static void
ticket_json_head(struct json *j, struct ctx *x, const struct store_ticket *t)
{
	char day[32];

	ticket_json_fields(j, t);
	json_key(j, "erased");
	if (t->erased_at) {
		str_time(t->erased_at, day, sizeof(day));
		json_str(j, day);
	} else
		json_null(j);
	json_key(j, "merged_into");
	if (t->merged_into)
		json_int(j, t->merged_into);
	else
		json_null(j);
	json_key(j, "fields");
	ticket_fields_json(j, x->conf, t);
}

static int
ticket_show(struct ctx *x, int argc, char **argv)
{
	const char *format = format_arg(&argc, argv, NULL, NULL);
	struct store_brief *others = NULL;
	size_t nothers = 0;
	struct store_ticket t;
	struct list_out o;
	enum tk_status ts;
	int64_t id;
	int found;

	if (argc != 1)
		usage();
	id = ticket_id_arg(argv[0]);
	load_sla(x, 0);
	open_store(x, 0);
	if ((ts = store_ticket_get(x->store, id, &t, &found)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (!found)
		fatalx(EX_NOINPUT, "no ticket %lld", (long long)id);
	memset(&o, 0, sizeof(o));
	buf_init(&o.b, 0);
	o.json = strcmp(format, "json") == 0;
	o.store = x->store;
	json_init(&o.j, &o.b, 1);
	if (o.json) {
		json_obj_open(&o.j);
		ticket_json_head(&o.j, x, &t);
		json_key(&o.j, "messages");
		json_arr_open(&o.j);
	} else {
		char ts2[32];

		str_time(t.created_at, ts2, sizeof(ts2));
		buf_printf(&o.b, "Ticket:    #%lld\nSubject:   %s\nStatus:    %s\n"
		    "Priority:  %s\nCategory:  %s\nRequester: %s\nAssignee:  %s\n"
		    "Mailbox:   %s\nCreated:   %s\n", (long long)t.id, t.subject,
		    t.status, t.priority, t.category ? t.category : "-",
		    t.requester ? t.requester : "-",
		    t.assignee ? t.assignee : "-", t.mailbox ? t.mailbox : "-",
		    ts2);
		if (t.parent)
			buf_printf(&o.b, "Parent:    #%lld\n", (long long)t.parent);
		if (t.tags)
			buf_printf(&o.b, "Tags:      %s\n", t.tags);
		if (t.skill)
			buf_printf(&o.b, "Skill:     %s\n", t.skill);
		for (size_t i = 0; i < t.nfields; i++)
			buf_printf(&o.b, "%s%s = %s\n", i ? "           " :
			    "Fields:    ", t.fields[i].name, t.fields[i].value);
		if (t.csat)
			buf_printf(&o.b, "CSAT:      %d\n", t.csat);
		if (t.erased_at) {
			str_time(t.erased_at, ts2, sizeof(ts2));
			buf_printf(&o.b, "Erased:    %s\n", ts2);
		}
		if (t.merged_into)
			buf_printf(&o.b, "Merged:    into #%lld\n",
			    (long long)t.merged_into);
	}
	/* The customer's history, for whoever answers him. */
	if (t.requester && (ts = store_customer_tickets(x->store, t.requester,
	    id, 20, &others, &nothers)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (!o.json) {
		if (nothers)
			buf_addstr(&o.b, "Customer's other tickets:\n");
		for (size_t i = 0; i < nothers; i++) {
			char day[32];

			str_time(others[i].created_at, day, sizeof(day));
			buf_printf(&o.b, "  #%lld  %-7s  %.10s  %s\n",
			    (long long)others[i].id, others[i].status, day,
			    others[i].subject ? others[i].subject : "");
		}
		buf_addstr(&o.b, "Messages:\n");
	}
	ts = store_ticket_messages(x->store, id, show_msg, &o);
	if (ts == TK_OK)
		ts = o.ts;
	if (o.json) {
		json_arr_close(&o.j);
		json_key(&o.j, "events");
		json_arr_open(&o.j);
	} else
		buf_addstr(&o.b, "Events:\n");
	if (ts == TK_OK)
		ts = store_ticket_events(x->store, id, show_event, &o);
	if (o.json) {
		json_arr_close(&o.j);
		json_key(&o.j, "sla");
	}
	{
		/* Due times now, from the events (sla.h). */
		struct show_sla ss = { x, &o, 0 };

		if (ts == TK_OK && x->sla)
			ts = clocks_each(x->store, x->sla, NULL,
			    STORE_STEPS_TICKET, id, 0, NULL, (int64_t)time(NULL),
			    show_clocks, &ss);
		if (o.json && !ss.seen)
			json_null(&o.j);
	}
	if (o.json) {
		json_key(&o.j, "customer_tickets");
		json_arr_open(&o.j);
		for (size_t i = 0; i < nothers; i++) {
			char day[32];

			str_time(others[i].created_at, day, sizeof(day));
			json_obj_open(&o.j);
			json_key_int(&o.j, "id", others[i].id);
			json_key_str(&o.j, "subject", others[i].subject);
			json_key_str(&o.j, "status", others[i].status);
			json_key_str(&o.j, "created", day);
			json_obj_close(&o.j);
		}
		json_arr_close(&o.j);
		json_obj_close(&o.j);
		buf_addc(&o.b, '\n');
	}
	store_briefs_free(others, nothers);
	store_ticket_clear(&t);
	if (ts != TK_OK) {
		buf_free(&o.b);
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	}
	flush_out(&o.b);
	buf_free(&o.b);
	return EX_OK;
}

static int
ticket_set_cmd(struct ctx *x, int argc, char **argv)
{
	struct automate *a;
	enum tk_status ts;
	int64_t id;
	int changed;

	/* set ID field NAME VALUE, or set ID FIELD VALUE */
	if (argc != 3 && !(argc == 4 && strcmp(argv[1], "field") == 0))
		usage();
	id = ticket_id_arg(argv[0]);
	if (load_rules(x) != TK_OK)
		fatalx(EX_CONFIG, "rules in %s do not load", x->conf->rules_dir);
	open_store(x, 0);
	if ((ts = store_begin(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	/* Through the rules: solving a ticket by hand sends its survey. */
	a = automate_new(x->conf, x->store, x->rules);
	changed = 1;
	if (argc == 4)
		ts = automate_set_field(a, id, str_lower(argv[2]), argv[3],
		    "admin", (int64_t)time(NULL));
	else
		ts = automate_set(a, id, argv[1], argv[2], "admin",
		    NULL, (int64_t)time(NULL), &changed);
	if (ts != TK_OK) {
		store_rollback(x->store);
		fatalx(ts == TK_EPERM ? EX_USAGE : tk_status_exit(ts), "%s",
		    automate_errmsg(a));
	}
	automate_free(a);
	if ((ts = store_commit(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (!changed)
		fprintf(stderr, "tiketti: ticket %lld: %s unchanged\n",
		    (long long)id, argv[1]);
	else
		flush_after(x);
	return EX_OK;
}

/* ticket merge SRC DST, ticket unmerge SRC: one transaction each. */
static int
ticket_merge_cmd(struct ctx *x, int argc, char **argv, int merge)
{
	enum tk_status ts;
	char err[256];
	int64_t src, dst = 0, now = (int64_t)time(NULL);

	if (argc != (merge ? 2 : 1))
		usage();
	src = ticket_id_arg(argv[0]);
	if (merge)
		dst = ticket_id_arg(argv[1]);
	open_store(x, 0);
	if ((ts = store_begin(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	ts = merge ? ticket_merge(x->store, src, dst, "admin", now, err,
	    sizeof(err)) : ticket_unmerge(x->store, src, "admin", now, err,
	    sizeof(err));
	if (ts == TK_OK)
		ts = store_commit(x->store);
	if (ts != TK_OK) {
		store_rollback(x->store);
		fatalx(ts == TK_EPERM ? EX_USAGE : tk_status_exit(ts), "%s",
		    ts == TK_EPERM ? err : store_errmsg(x->store));
	}
	return EX_OK;
}

/* ticket split ID MESSAGE: prints the new ticket's number. */
static int
ticket_split_cmd(struct ctx *x, int argc, char **argv)
{
	enum tk_status ts;
	int64_t id, out;
	char err[256];

	if (argc != 2)
		usage();
	id = ticket_id_arg(argv[0]);
	open_store(x, 0);
	if ((ts = store_begin(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	ts = ticket_split(x->store, x->conf, id, argv[1], "admin",
	    (int64_t)time(NULL), &out, err, sizeof(err));
	if (ts == TK_OK)
		ts = store_commit(x->store);
	if (ts != TK_OK) {
		store_rollback(x->store);
		fatalx(ts == TK_EPERM ? EX_USAGE : tk_status_exit(ts), "%s",
		    ts == TK_EPERM ? err : store_errmsg(x->store));
	}
	printf("%lld\n", (long long)out);
	return EX_OK;
}

static int
cmd_ticket(struct ctx *x, int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0)
		return ticket_list(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "show") == 0)
		return ticket_show(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "set") == 0)
		return ticket_set_cmd(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "split") == 0)
		return ticket_split_cmd(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "merge") == 0 || strcmp(argv[1], "unmerge") == 0)
		return ticket_merge_cmd(x, argc - 2, argv + 2,
		    argv[1][0] == 'm');
	usage();
}

/* ---- agent ---- */

/* One agent's row of `agent list`. */
static enum tk_status
agent_row(struct list_out *o, struct automate *a, struct store *s,
    const struct conf_agent *ag, int64_t now)
{
	char until_s[32] = "", skills[256] = "";
	int64_t until, open, last;
	enum tk_status ts;
	int away;

	if ((ts = automate_agent_away(a, ag, now, &away, &until)) != TK_OK ||
	    (ts = store_agent_load(s, ag->name, &open, &last)) != TK_OK)
		return ts;
	if (until)
		str_time(until, until_s, sizeof(until_s));
	if (!o->json) {
		for (size_t i = 0; i < ag->nskills; i++)
			snprintf(skills + strlen(skills), sizeof(skills) -
			    strlen(skills), "%s%s", i ? "," : "",
			    ag->skills[i]);
		buf_printf(&o->b, "%-12s  %-28s  %-16s  %-24s  %4lld  %s\n",
		    ag->name, ag->naddresses ? ag->addresses[0] : "-",
		    skills[0] ? skills : "-", !away ? "no" : until ? until_s :
		    "yes", (long long)open, ag->deputy ? ag->deputy : "-");
		return TK_OK;
	}
	json_obj_open(&o->j);
	json_key_str(&o->j, "name", ag->name);
	json_key_str(&o->j, "address", ag->naddresses ? ag->addresses[0] :
	    NULL);
	json_key(&o->j, "skills");
	json_arr_open(&o->j);
	for (size_t i = 0; i < ag->nskills; i++)
		json_str(&o->j, ag->skills[i]);
	json_arr_close(&o->j);
	json_key(&o->j, "away");
	json_bool(&o->j, away);
	json_key_str(&o->j, "away_until", until ? until_s : NULL);
	json_key_int(&o->j, "open", open);
	json_key_int(&o->j, "max_open", ag->max_open);
	json_key_str(&o->j, "deputy", ag->deputy);
	json_obj_close(&o->j);
	return TK_OK;
}

static int
agent_list(struct ctx *x, int argc, char **argv)
{
	const char *format = format_arg(&argc, argv, NULL, NULL);
	int64_t now = (int64_t)time(NULL);
	enum tk_status ts = TK_OK;
	struct automate *a;
	struct list_out o;

	if (argc != 0)
		usage();
	open_store(x, 1);
	a = automate_new(x->conf, x->store, NULL);
	list_begin(&o, format, "%-12s  %-28s  %-16s  %-24s  %4s  %s\n", "NAME",
	    "ADDRESS", "SKILLS", "AWAY", "OPEN", "DEPUTY");
	for (size_t i = 0; ts == TK_OK && i < x->conf->nagents; i++)
		ts = agent_row(&o, a, x->store, &x->conf->agents[i], now);
	automate_free(a);
	list_end(&o, x, ts);
	return EX_OK;
}

/* agent set NAME away [--until TIME] | back */
static int
agent_set(struct ctx *x, int argc, char **argv)
{
	const struct conf_agent *ag;
	int64_t now = (int64_t)time(NULL), until = 0;
	struct automate *a;
	enum tk_status ts;
	int away;

	if (argc == 4 && strcmp(argv[2], "--until") == 0) {
		if (str_to_time(argv[3], now, &until) != TK_OK || until <= now)
			fatalx(EX_USAGE, "--until %s: want a time to come: "
			    "YYYY-MM-DD, \"YYYY-MM-DD HH:MM\", @SECONDS or "
			    "a duration (3d, 12h)", argv[3]);
		argc = 2;
	}
	if (argc != 2 || (strcmp(argv[1], "away") != 0 &&
	    strcmp(argv[1], "back") != 0) ||
	    (until && strcmp(argv[1], "back") == 0))
		usage();
	if ((ag = conf_agent_by_name(x->conf, argv[0])) == NULL)
		fatalx(EX_USAGE, "no agent \"%s\" (want the name of an [agent "
		    "NAME] section)", argv[0]);
	away = strcmp(argv[1], "away") == 0;
	open_store(x, 0);
	if ((ts = store_begin(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	a = automate_new(x->conf, x->store, NULL);
	if ((ts = automate_agent_set(a, ag, away, until, now, "admin")) !=
	    TK_OK) {
		store_rollback(x->store);
		fatalx(tk_status_exit(ts), "%s", automate_errmsg(a));
	}
	automate_free(a);
	if ((ts = store_commit(x->store)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (ag->away)
		log_warnx("%s has available = no in the configuration: she "
		    "stays out of routing", ag->name);
	return EX_OK;
}

static int
cmd_agent(struct ctx *x, int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0)
		return agent_list(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "set") == 0 && argc >= 4)
		return agent_set(x, argc - 2, argv + 2);
	usage();
}

/* ---- rules ---- */

static int
rules_check_cmd(struct ctx *x, int argc, char **argv)
{
	struct ruleset *rs = rules_new();
	struct buf err;
	enum tk_status ts = TK_OK, pts;
	size_t n;

	buf_init(&err, 0);
	if (argc == 0)
		ts = rules_add_path(rs, x->conf->rules_dir, x->conf, &err);
	for (int i = 0; i < argc; i++)
		if ((pts = rules_add_path(rs, argv[i], x->conf, &err)) != TK_OK)
			ts = pts;
	if (ts == TK_OK)
		ts = automate_check(rs, x->conf, &err);
	fputs(err.data ? err.data : "", stdout);
	n = rules_count(rs);
	rules_free(rs);
	buf_free(&err);
	if (ts != TK_OK)
		return 1;
	printf("%zu rules and macros, no errors (%s)\n", n,
	    argc ? "as given" : x->conf->rules_dir);
	return 0;
}

struct dry_run {
	const struct ruleset	*rules;
	struct store_ticket	*view;
	struct rules_input	*in;
	const char		*last;	/* the rule printed last */
	int			 fired;
	int			 depth;
};

static enum tk_status
dry_apply(const struct rules_origin *o, const struct rules_action *a,
    void *arg)
{
	struct dry_run *d = arg;
	struct buf b;

	if (d->last != o->name) {
		printf("%*s  rule \"%s\" (%s:%d) fires:\n", d->depth * 2, "",
		    o->name, o->file, o->line);
		d->last = o->name;
		d->fired++;
	}
	buf_init(&b, 0);
	rules_action_format(a, &b);
	printf("%*s      %s\n", d->depth * 2, "", b.data);
	buf_free(&b);
	rules_ticket_apply(d->view, a);
	if (a->kind == ACT_SET && strcmp(a->field, "status") == 0 &&
	    d->depth < 8) {
		const char *last = d->last;

		printf("%*s  on status %s:\n", d->depth * 2 + 4, "", a->arg);
		d->depth++;
		rules_run(d->rules, RULES_STATUS, a->arg, d->in,
		    dry_apply, d);
		d->depth--;
		d->last = last;
	}
	return TK_OK;
}

/* A text under a title, each line indented, at most 20 lines. */
static void
print_indented(const char *title, const char *text)
{
	int n = 0;

	printf("%s:\n", title);
	for (const char *p = text; *p && n < 20; n++) {
		size_t len = strcspn(p, "\n");

		printf("  | %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	if (n == 20)
		printf("  | ...\n");
}

static int
rules_test_cmd(struct ctx *x, int argc, char **argv)
{
	static const struct { const char *name; enum rules_event ev; } evs[] = {
		{ "create", RULES_CREATE },
		{ "customer-reply", RULES_CUSTOMER_REPLY },
		{ "agent-reply", RULES_AGENT_REPLY },
	};
	const char *evname = "create";
	struct store_ticket view;
	struct classify_result cls;
	struct rules_input in;
	struct dry_run d = { 0 };
	struct buf raw;
	struct tk_msg *m;
	char *new_text;
	size_t e;
	int fd;

	if (argc >= 2 && strcmp(argv[0], "--event") == 0) {
		evname = argv[1];
		argc -= 2;
		argv += 2;
	}
	for (e = 0; e < sizeof(evs) / sizeof(evs[0]); e++)
		if (strcmp(evs[e].name, evname) == 0)
			break;
	if (argc != 1 || e == sizeof(evs) / sizeof(evs[0]))
		usage();
	if (load_rules(x) != TK_OK)
		fatalx(EX_CONFIG, "rules in %s do not load",
		    x->conf->rules_dir);
	if ((fd = strcmp(argv[0], "-") == 0 ? dup(0) :
	    open(argv[0], O_RDONLY | O_CLOEXEC)) == -1)
		fatal(EX_NOINPUT, "%s", argv[0]);
	buf_init(&raw, (size_t)x->conf->message_size_limit);
	if (buf_read_fd(&raw, fd) != TK_OK)
		fatalx(EX_DATAERR, "%s: unreadable or over message_size_limit",
		    argv[0]);
	close(fd);
	m = mime_parse(raw.data ? raw.data : "", raw.len,
	    (const char *const *)x->conf->fallback_charsets);
	ingest_preview(x->conf, m, NULL, &view, &cls);
	printf("mail from %s (%s%s%s), ticket would be \"%s\"\n",
	    m->from.addr ? m->from.addr : "(nobody)", classify_kind_str(cls.kind),
	    cls.reason ? ": " : "", cls.reason ? cls.reason : "", view.subject);
	new_text = quote_strip(m->body);
	print_indented("text (body)", m->body);
	print_indented("new text, without the quote (body :new)", new_text);
	printf("on %s:\n", evname);
	memset(&in, 0, sizeof(in));
	in.msg = m;
	in.new_text = new_text;
	in.ticket = &view;
	in.now = view.created_at;
	d.view = &view;
	d.in = &in;
	d.rules = x->rules;
	rules_run(x->rules, evs[e].ev, NULL, &in, dry_apply, &d);
	if (d.fired == 0)
		printf("  no rule fires\n");
	rules_input_clear(&in);
	store_ticket_clear(&view);
	mime_free(m);
	free(new_text);
	buf_free(&raw);
	return EX_OK;
}

/* ---- message ---- */

/*
 * message raw ID: the message exactly as it was ingested.
 * message attachment ID N [-o FILE]: its attachment N, decoded, in the
 * order of `ticket show`'s JSON.
 */
static int
cmd_message(struct ctx *x, int argc, char **argv)
{
	const char *out = NULL;
	struct buf raw, att;
	enum tk_status ts;
	long long id, n = 0;
	int found, attachment;

	if (argc >= 5 && strcmp(argv[argc - 2], "-o") == 0) {
		out = argv[argc - 1];
		argc -= 2;
	}
	attachment = argc == 4 && strcmp(argv[1], "attachment") == 0;
	if (!(argc == 3 && strcmp(argv[1], "raw") == 0) && !attachment)
		usage();
	if (str_to_ll(argv[2], 1, INT64_MAX, &id) != TK_OK)
		fatalx(EX_USAGE, "bad message id \"%s\" (the id in ticket "
		    "show's JSON)", argv[2]);
	if (attachment && str_to_ll(argv[3], 1, INT32_MAX, &n) != TK_OK)
		fatalx(EX_USAGE, "bad attachment number \"%s\" (from 1)",
		    argv[3]);
	open_store(x, 1);
	buf_init(&raw, 0);
	if ((ts = store_message_raw(x->store, id, &raw, &found)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (!found)
		fatalx(EX_NOINPUT, "no message %lld", id);
	if (!attachment) {
		write_out(out, &raw);
		buf_free(&raw);
		return EX_OK;
	}
	buf_init(&att, 0);
	if (mime_attachment(raw.data ? raw.data : "", raw.len,
	    (const char *const *)x->conf->fallback_charsets, (size_t)n, &att) !=
	    TK_OK)
		fatalx(EX_NOINPUT, "message %lld has no attachment %lld", id, n);
	write_out(out, &att);
	buf_free(&att);
	buf_free(&raw);
	return EX_OK;
}

static void
explain_verdict(const struct rules_verdict *v, void *arg)
{
	(void)arg;
	if (v->fired)
		printf("  fired      \"%s\" (%s:%d)\n", v->rule, v->file,
		    v->line);
	else
		printf("  %-10s \"%s\" (%s:%d): %s\n", v->listens ?
		    "not fired" : "not on it", v->rule, v->file, v->line,
		    v->why ? v->why : "");
}

struct explain {
	struct ctx		*x;
	struct store_ticket	 view;	/* as it is, its status as it was */
	int			 created;
	enum tk_status		 ts;
	struct store_event	*ev;	/* the ticket's events, copied */
	size_t			 nev;
};

static int
explain_collect(const struct store_event *e, void *arg)
{
	struct explain *xp = arg;
	struct store_event *c;

	xp->ev = xreallocarray(xp->ev, xp->nev + 1, sizeof(*xp->ev));
	c = &xp->ev[xp->nev++];
	*c = *e;
	c->type = xstrdup(e->type);
	c->actor = e->actor ? xstrdup(e->actor) : NULL;
	c->old = e->old ? xstrdup(e->old) : NULL;
	c->new_ = e->new_ ? xstrdup(e->new_) : NULL;
	return 0;
}

/* One of the ticket's events, as the rules saw it. */
static void
explain_event(struct explain *xp, const struct store_event *e)
{
	struct ctx *x = xp->x;
	struct rules_input in;
	struct tk_msg *m = NULL;
	struct buf raw;
	enum rules_event ev;
	const char *status = NULL;
	char when[32], *new_text = NULL;
	int found = 0;

	str_time(e->at, when, sizeof(when));
	if (strcmp(e->type, "message") == 0 && e->new_ &&
	    strcmp(e->new_, "customer") == 0) {
		ev = xp->created ? RULES_CUSTOMER_REPLY : RULES_CREATE;
		printf("%s, %s (message %lld):\n", xp->created ? "customer "
		    "reply" : "create", when, (long long)e->message);
		xp->created = 1;
	} else if (strcmp(e->type, "message") == 0 && e->new_ &&
	    strcmp(e->new_, "agent") == 0) {
		ev = RULES_AGENT_REPLY;
		printf("agent reply, %s (message %lld):\n", when,
		    (long long)e->message);
	} else if (strcmp(e->type, "status") == 0 && e->new_) {
		ev = RULES_STATUS;
		status = e->new_;
		free(xp->view.status);
		xp->view.status = xstrdup(e->new_);
		printf("status %s, %s:\n", e->new_, when);
	} else if ((strcmp(e->type, "sla_warning") == 0 ||
	    strcmp(e->type, "sla_breach") == 0) && e->old) {
		ev = e->type[4] == 'w' ? RULES_SLA_WARNING : RULES_SLA_BREACH;
		status = e->old;
		printf("%s %s, %s:\n", e->type, e->old, when);
	} else
		return;
	memset(&in, 0, sizeof(in));
	buf_init(&raw, (size_t)x->conf->message_size_limit);
	if (e->message && xp->ts == TK_OK && (xp->ts = store_message_raw(
	    x->store, e->message, &raw, &found)) == TK_OK && found) {
		m = mime_parse(raw.data ? raw.data : "", raw.len,
		    (const char *const *)x->conf->fallback_charsets);
		new_text = quote_strip(m->body);
	}
	in.msg = m;
	in.new_text = new_text;
	in.ticket = &xp->view;
	in.now = e->at;
	rules_explain(x->rules, ev, status, &in, explain_verdict, NULL);
	rules_input_clear(&in);
	mime_free(m);
	free(new_text);
	buf_free(&raw);
}

struct fired {
	char	**rule;
	int64_t	 *at;
	size_t	  n;
};

static int
explain_fired(const char *rule, int64_t occurrence, int64_t at, void *arg)
{
	struct fired *f = arg;

	(void)occurrence;
	f->rule = xreallocarray(f->rule, f->n + 1, sizeof(*f->rule));
	f->at = xreallocarray(f->at, f->n + 1, sizeof(*f->at));
	f->rule[f->n] = xstrdup(rule);
	f->at[f->n++] = at;
	return 0;
}

/*
 * tiketti rules explain TICKET: for each of the ticket's events, every
 * rule and whether it fired, and why not; then the time rules.
 */
static int
rules_explain_cmd(struct ctx *x, int argc, char **argv)
{
	struct explain xp = { .x = x };
	struct fired fired = { 0 };
	enum tk_status ts;
	int64_t id;
	int found;

	if (argc != 1)
		usage();
	id = ticket_id_arg(argv[0]);
	if (load_rules(x) != TK_OK)
		fatalx(EX_CONFIG, "rules in %s do not load",
		    x->conf->rules_dir);
	open_store(x, 1);
	if ((ts = store_ticket_get(x->store, id, &xp.view, &found)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	if (!found)
		fatalx(EX_NOINPUT, "no ticket %lld", (long long)id);
	printf("ticket %lld: %s (the rules see it as it is now, its status "
	    "as it was)\n", (long long)id, xp.view.subject);
	free(xp.view.status);
	xp.view.status = xstrdup("new");
	if ((ts = store_ticket_events(x->store, id, explain_collect, &xp)) !=
	    TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	for (size_t i = 0; i < xp.nev && xp.ts == TK_OK; i++)
		explain_event(&xp, &xp.ev[i]);
	/* Time rules: the times each fired on it, else not yet. */
	if (xp.ts == TK_OK)
		xp.ts = store_fired_of(x->store, id, explain_fired, &fired);
	printf("time rules:\n");
	for (size_t i = 0; i < rules_ntimers(x->rules); i++) {
		const struct rules_timer *tm = rules_timer(x->rules, i);
		char d[32], when[32];
		int any = 0;

		for (size_t k = 0; k < fired.n; k++)
			if (strcmp(fired.rule[k], tm->rule) == 0) {
				str_time(fired.at[k], when, sizeof(when));
				printf("  fired      \"%s\" at %s\n", tm->rule,
				    when);
				any = 1;
			}
		str_duration(tm->after, d, sizeof(d));
		if (!any)
			printf("  not fired  \"%s\": not due (after %s%s%s)\n",
			    tm->rule, d, tm->status ? " in " : "",
			    tm->status ? tm->status : "");
	}
	for (size_t k = 0; k < fired.n; k++)
		free(fired.rule[k]);
	free(fired.rule);
	free(fired.at);
	for (size_t i = 0; i < xp.nev; i++) {
		free((char *)xp.ev[i].type);
		free((char *)xp.ev[i].actor);
		free((char *)xp.ev[i].old);
		free((char *)xp.ev[i].new_);
	}
	free(xp.ev);
	store_ticket_clear(&xp.view);
	if (xp.ts != TK_OK)
		fatalx(tk_status_exit(xp.ts), "%s", store_errmsg(x->store));
	return EX_OK;
}

static int
cmd_rules(struct ctx *x, int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "check") == 0)
		return rules_check_cmd(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "test") == 0)
		return rules_test_cmd(x, argc - 2, argv + 2);
	if (strcmp(argv[1], "explain") == 0)
		return rules_explain_cmd(x, argc - 2, argv + 2);
	usage();
}

static int
dry_event(int64_t ticket, const struct store_event *e, void *arg)
{
	(void)arg;
	/* A queued mail is told as the outbox row below. */
	if (strcmp(e->type, "queued") == 0)
		return 0;
	printf("ticket %lld: %s %s -> %s (%s)\n", (long long)ticket, e->type,
	    e->old ? e->old : "-", e->new_ ? e->new_ : "-",
	    e->actor ? e->actor : "system");
	return 0;
}

static int
dry_outbox(const struct store_outbox *o, void *arg)
{
	(void)arg;
	printf("ticket %lld: would send %s to %s: %s (rule %s)\n",
	    (long long)o->ticket, o->kind, o->to, o->subject ? o->subject : "",
	    o->rule ? o->rule : "-");
	return 0;
}

static int
cmd_tick(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct automate_dry dry = { dry_event, dry_outbox, NULL };
	struct automate_stats st;
	struct automate *a;
	enum tk_status ts;
	int64_t erased, now = (int64_t)time(NULL);
	int calendar_broken, ch, dry_run = 0, at_given = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			dry_run = 1;
		else if (ch == 'a' && str_to_time(optarg, now, &now) == TK_OK)
			at_given = 1;
		else if (ch == 'a')
			fatalx(EX_USAGE, "--at %s: want YYYY-MM-DD[ HH:MM], "
			    "@SECONDS or a duration from now (3d)", optarg);
		else
			usage();
	}
	if (optind != argc || (at_given && !dry_run))
		usage();
	if (load_rules(x) != TK_OK)
		fatalx(EX_CONFIG, "rules in %s do not load", x->conf->rules_dir);
	/* A broken calendar stops the promises' events, not the time
	 * rules; the exit says it (cron mails the admin). */
	calendar_broken = load_sla(x, 0) == -1;
	open_store(x, 0);
	a = automate_new(x->conf, x->store, x->rules);
	automate_set_sla(a, x->sla);
	if (dry_run) {
		char when[32];

		str_time(now, when, sizeof(when));
		printf("tick at %s, a dry run: nothing is changed or sent\n",
		    when);
		fflush(stdout);
		ts = automate_tick_dry(a, now, &dry, &st);
	} else
		ts = automate_tick(a, now, &st);
	if (ts != TK_OK) {
		log_warnx("tick: %s", automate_errmsg(a));
		automate_free(a);
		return tk_status_exit(ts);
	}
	automate_free(a);
	if (dry_run) {
		printf("%lld time-rule occurrences would fire, %lld tickets "
		    "close, %lld be rerouted, %lld service-promise events\n",
		    (long long)st.fired, (long long)st.closed,
		    (long long)st.rerouted, (long long)st.sla);
		return calendar_broken ? EX_CONFIG : EX_OK;
	}
	/* Retention: closed tickets past it lose their people's data. */
	if ((ts = ticket_retention(x->store, x->conf, now, &erased)) != TK_OK) {
		log_warnx("tick: retention: %s", store_errmsg(x->store));
		return tk_status_exit(ts);
	}
	if (erased)
		log_info("tick: %lld closed tickets past retention erased",
		    (long long)erased);
	/* For tiketti check: when the last tick ran to its end. */
	if (store_health_set(x->store, "tick", (int64_t)time(NULL), 1, NULL) !=
	    TK_OK)
		log_warnx("tick: %s", store_errmsg(x->store));
	log_debug("tick: %lld time rules fired, %lld tickets closed, %lld "
	    "rerouted, %lld sla events", (long long)st.fired,
	    (long long)st.closed, (long long)st.rerouted, (long long)st.sla);
	flush_after(x);	/* also the retries that came due */
	return calendar_broken ? EX_CONFIG : EX_OK;
}

static int
outbox_row(const struct store_outbox *o, void *arg)
{
	struct list_out *out = arg;
	struct json *j = &out->j;

	if (!out->json) {
		buf_printf(&out->b, "%6lld  %6lld  %-9s  %-7s  %3lld  %-30.30s  "
		    "%s%s%s\n", (long long)o->id, (long long)o->ticket, o->kind,
		    o->state, (long long)o->attempts, o->to,
		    o->subject ? o->subject : "", o->last_error ? "  # " : "",
		    o->last_error ? o->last_error : "");
		return 0;
	}
	json_obj_open(j);
	json_key_int(j, "id", o->id);
	json_key_int(j, "ticket", o->ticket);
	json_key_str(j, "kind", o->kind);
	json_key_str(j, "to", o->to);
	json_key_str(j, "subject", o->subject);
	json_key_str(j, "state", o->state);
	json_key_int(j, "attempts", o->attempts);
	json_key_str(j, "last_error", o->last_error);
	json_key_str(j, "rule", o->rule);
	json_key_int(j, "created_at", o->created_at);
	json_obj_close(j);
	return 0;
}

static int
cmd_outbox(struct ctx *x, int argc, char **argv)
{
	struct list_out o;
	const char *state = NULL, *format;
	enum tk_status ts;

	if (argc < 2 || strcmp(argv[1], "list") != 0)
		usage();
	argc -= 2;
	argv += 2;
	format = format_arg(&argc, argv, "--state", &state);
	if (argc != 0)
		usage();
	open_store(x, 0);
	list_begin(&o, format, "%6s  %6s  %-9s  %-7s  %3s  %-30s  %s\n", "ID",
	    "TICKET", "KIND", "STATE", "TRY", "TO", "SUBJECT");
	ts = store_outbox_list(x->store, state, outbox_row, &o);
	list_end(&o, x, ts);
	return EX_OK;
}

/*
 * calendar check FILE...: each file's errors, or what it holds.
 * calendar due FILE START DURATION: when DURATION of business time after
 * START ends (for an admin checking a calendar, and for the tests).
 */
static int
cmd_calendar(struct ctx *x, int argc, char **argv)
{
	struct calendar *c;
	struct buf err;
	int rv = EX_OK;

	(void)x;
	if (argc >= 3 && strcmp(argv[1], "check") == 0) {
		for (int i = 2; i < argc; i++) {
			buf_init(&err, 0);
			if (calendar_load(argv[i], &c, &err) != TK_OK) {
				fputs(err.data ? err.data : "", stderr);
				rv = EX_DATAERR;
			} else {
				printf("%s: ok: zone %s, %lld business hours a "
				    "week, %zu holidays\n", argv[i],
				    calendar_zone(c),
				    (long long)calendar_week_seconds(c) / 3600,
				    calendar_nholidays(c));
				calendar_free(c);
			}
			buf_free(&err);
		}
		return rv;
	}
	if (argc == 5 && strcmp(argv[1], "due") == 0) {
		long long secs;
		int64_t start, due;
		char iso[32];

		if (str_to_time(argv[3], (int64_t)time(NULL), &start) != TK_OK)
			fatalx(EX_USAGE, "bad START \"%s\" (YYYY-MM-DD HH:MM, "
			    "@SECONDS)", argv[3]);
		if (str_to_duration(argv[4], 0, &secs) != TK_OK)
			fatalx(EX_USAGE, "bad DURATION \"%s\" (4h, 30m)",
			    argv[4]);
		buf_init(&err, 0);
		if (calendar_load(argv[2], &c, &err) != TK_OK) {
			fputs(err.data ? err.data : "", stderr);
			buf_free(&err);
			return EX_DATAERR;
		}
		buf_free(&err);
		if ((due = calendar_add(c, start, secs)) == CALENDAR_NEVER)
			printf("never\n");
		else {
			calendar_iso(c, due, iso);
			printf("%s %lld\n", iso, (long long)due);
		}
		calendar_free(c);
		return EX_OK;
	}
	usage();
}

/*
 * Thresholds of -w or -c: "tick=5m,poll=15m,outbox=1" into slot (0:
 * warning, 1: critical) of c's check_* pairs. 0, or -1 for a bad one.
 */
static int
check_limits(struct tk_conf *c, int slot, const char *spec)
{
	char *copy = xstrdup(spec), *item, *save = NULL;
	int rv = 0;

	for (item = strtok_r(copy, ", ", &save); item && rv == 0;
	    item = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(item, '=');
		long long v, *pair;
		int counts;

		if (eq == NULL) {
			rv = -1;
			break;
		}
		*eq = '\0';
		counts = strcmp(item, "outbox") == 0;
		if (counts)
			pair = c->check_outbox;
		else if (strcmp(item, "tick") == 0)
			pair = c->check_tick;
		else if (strcmp(item, "poll") == 0)
			pair = c->check_poll;
		else {
			rv = -1;
			break;
		}
		if ((counts ? str_to_ll(eq + 1, 0, INT64_MAX, &v) :
		    str_to_duration(eq + 1, 0, &v)) != TK_OK)
			rv = -1;
		else
			pair[slot] = v;
	}
	free(copy);
	return rv;
}

/* tiketti check [-w LIMITS] [-c LIMITS] [--milter]: the plugin. */
static int
cmd_check(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "warning", required_argument, NULL, 'w' },
		{ "critical", required_argument, NULL, 'c' },
		{ "milter", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct buf out;
	enum check_state st;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "w:c:", opts, NULL)) != -1) {
		if (ch == 'm')
			x->conf->check_milter = 1;
		else if ((ch != 'w' && ch != 'c') || check_limits(x->conf,
		    ch == 'c', optarg) != 0) {
			printf("TIKETTI UNKNOWN - bad option (want -w|-c "
			    "tick=DURATION,poll=DURATION,outbox=N, --milter)\n");
			return CHECK_UNKNOWN;
		}
	}
	if (optind != argc) {
		printf("TIKETTI UNKNOWN - usage: tiketti check [-w LIMITS] "
		    "[-c LIMITS] [--milter]\n");
		return CHECK_UNKNOWN;
	}
	if (x->dbpath) {
		free(x->conf->database);
		x->conf->database = xstrdup(x->dbpath);
	}
	buf_init(&out, 0);
	st = check_run(x->conf, &out);
	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	return st;
}

static void
oauth_show(const struct oauth_prompt *p, void *arg)
{
	const char *account = arg;

	printf("To let tiketti read account %s, sign in as the mailbox's user "
	    "within %ld minutes:\n\n    %s\n\nand enter the code\n\n    "
	    "%s\n\n", account, (p->expires_in + 59) / 60, p->uri,
	    p->user_code);
	if (p->uri_complete)
		printf("(or open %s)\n\n", p->uri_complete);
	printf("Waiting for the sign-in...\n");
	fflush(stdout);
}

/* tiketti oauth login ACCOUNT: the device authorization grant. */
static int
cmd_oauth(struct ctx *x, int argc, char **argv)
{
	const struct conf_account *a;
	enum tk_status ts;
	char err[512];

	if (argc != 3 || strcmp(argv[1], "login") != 0)
		usage();
	if ((a = conf_account_by_name(x->conf, argv[2])) == NULL)
		fatalx(EX_USAGE, "no [account %s] in %s", argv[2],
		    x->conf->path ? x->conf->path : "the configuration");
	if (a->auth != CONF_AUTH_OAUTH2)
		fatalx(EX_USAGE, "account %s: auth is not oauth2", a->name);
	open_store(x, 0);	/* the schema, before the sign-in */
	if ((ts = oauth_login(x->conf, a, oauth_show, (void *)a->name, err,
	    sizeof(err))) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", err);
	printf("Signed in: account %s has its grant.\n", a->name);
	log_info("oauth login: account %s has a new grant", a->name);
	return EX_OK;
}

static int
block_row(const char *address, int64_t at, const char *actor, void *arg)
{
	char when[32];

	(void)arg;
	str_time(at, when, sizeof(when));
	printf("%-40s %s  %s\n", address, when, actor ? actor : "-");
	return 0;
}

static char *who_runs(void);
static const char *address_arg(const char *);

/* tiketti block list | add ADDRESS | remove ADDRESS */
static int
cmd_block(struct ctx *x, int argc, char **argv)
{
	enum tk_status ts;
	char *who;
	int add;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		open_store(x, 1);
		if ((ts = store_block_list(x->store, block_row, NULL)) != TK_OK)
			fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
		return EX_OK;
	}
	if (argc != 3 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "remove") != 0))
		usage();
	add = argv[1][0] == 'a';
	address_arg(argv[2]);
	if (add && conf_agent_by_address(x->conf, argv[2]))
		fatalx(EX_USAGE, "%s is an agent's address", argv[2]);
	open_store(x, 0);
	who = who_runs();
	if ((ts = store_begin(x->store)) != TK_OK ||
	    (ts = store_block(x->store, argv[2], add, (int64_t)time(NULL),
	    who)) != TK_OK || (ts = store_commit(x->store)) != TK_OK) {
		store_rollback(x->store);
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	}
	free(who);
	return EX_OK;
}

/* tiketti purge --spam --older-than DURATION */
static int
cmd_purge(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spam", no_argument, NULL, 's' },
		{ "older-than", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t *ids = NULL, before;
	long long age = -1;
	enum tk_status ts;
	size_t n = 0;
	int ch, spam = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			spam = 1;
		else if (ch == 'o' && str_to_duration(optarg, 1, &age) == TK_OK)
			;
		else
			usage();
	}
	if (!spam || age < 0 || optind != argc)
		usage();
	before = (int64_t)time(NULL) - age;
	open_store(x, 0);
	/* A ticket a transaction: a long purge holds no lock for long. */
	if ((ts = store_spam_tickets(x->store, before, &ids, &n)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	for (size_t i = 0; i < n; i++)
		if ((ts = store_begin(x->store)) != TK_OK ||
		    (ts = store_ticket_purge(x->store, ids[i])) != TK_OK ||
		    (ts = store_commit(x->store)) != TK_OK) {
			store_rollback(x->store);
			fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
		}
	if ((ts = store_begin(x->store)) != TK_OK ||
	    (ts = store_purge_loose_spam(x->store, before)) != TK_OK ||
	    (ts = store_commit(x->store)) != TK_OK) {
		store_rollback(x->store);
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	}
	printf("%zu spam tickets purged\n", n);
	free(ids);
	return EX_OK;
}

/* Who runs a command, for the events that record it: the login. */
static char *
who_runs(void)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u == NULL || *u == '\0')
		u = (pw = getpwuid(getuid())) ? pw->pw_name : NULL;
	return u ? xasprintf("cli:%s", u) : xasprintf("cli:uid %ld",
	    (long)getuid());
}

static const char *
address_arg(const char *s)
{
	if (strchr(s, '@') == NULL || strpbrk(s, " \t\r\n<>,;\"") != NULL ||
	    strlen(s) > 254)
		fatalx(EX_USAGE, "\"%s\" is no mail address", s);
	return s;
}

/* tiketti forget ADDRESS: a data subject's erasure (GDPR art. 17). */
static int
cmd_forget(struct ctx *x, int argc, char **argv)
{
	const struct conf_agent *ag;
	enum tk_status ts;
	int64_t n;
	char *who;

	if (argc != 2)
		usage();
	address_arg(argv[1]);
	/* Every ticket an agent answered would go: forget is for the
	 * people who write in. */
	if ((ag = conf_agent_by_address(x->conf, argv[1])) != NULL)
		fatalx(EX_USAGE, "%s is agent %s's address: forget erases a "
		    "customer's data", argv[1], ag->name);
	if (conf_mailbox(x->conf, argv[1]) != NULL)
		fatalx(EX_USAGE, "%s is a shared address", argv[1]);
	open_store(x, 0);
	who = who_runs();
	if ((ts = ticket_forget(x->store, x->conf, argv[1], who, (int64_t)time(NULL),
	    &n)) != TK_OK)
		fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
	/* The log names who and how much, never whom. */
	log_info("forget by %s: %lld tickets erased", who, (long long)n);
	printf("%lld tickets erased\n", (long long)n);
	free(who);
	return EX_OK;
}

static int
export_outbox(const struct store_outbox *ob, void *arg)
{
	struct list_out *o = arg;
	char day[32];

	json_obj_open(&o->j);
	json_key_int(&o->j, "id", ob->id);
	json_key(&o->j, "ticket");
	if (ob->ticket)
		json_int(&o->j, ob->ticket);
	else
		json_null(&o->j);
	json_key_str(&o->j, "kind", ob->kind);
	json_key_str(&o->j, "subject", ob->subject);
	json_key_str(&o->j, "state", ob->state);
	str_time(ob->created_at, day, sizeof(day));
	json_key_str(&o->j, "created", day);
	json_key(&o->j, "sent");
	if (ob->sent_at) {
		str_time(ob->sent_at, day, sizeof(day));
		json_str(&o->j, day);
	} else
		json_null(&o->j);
	json_obj_close(&o->j);
	return 0;
}

/*
 * tiketti export ADDRESS [-o FILE]: everything held of an address as one
 * JSON document (a data subject's access request, GDPR art. 15).
 */
static int
cmd_export(struct ctx *x, int argc, char **argv)
{
	const char *path = NULL, *addr;
	struct list_out o;
	int64_t *ids = NULL, bounced = 0, now = (int64_t)time(NULL);
	size_t n = 0;
	enum tk_status ts;
	char day[32], *who;

	if (argc == 4 && strcmp(argv[2], "-o") == 0)
		path = argv[3];
	else if (argc != 2)
		usage();
	addr = address_arg(argv[1]);
	open_store(x, 0);
	memset(&o, 0, sizeof(o));
	buf_init(&o.b, 0);
	o.json = 1;
	o.store = x->store;
	json_init(&o.j, &o.b, 1);
	who = who_runs();
	/* One snapshot, and the record of who asked for it. */
	if ((ts = store_begin(x->store)) != TK_OK ||
	    (ts = store_tickets_of(x->store, addr, &ids, &n)) != TK_OK)
		goto fail;
	json_obj_open(&o.j);
	json_key_str(&o.j, "address", addr);
	str_time(now, day, sizeof(day));
	json_key_str(&o.j, "exported", day);
	json_key(&o.j, "tickets");
	json_arr_open(&o.j);
	for (size_t i = 0; i < n && ts == TK_OK; i++) {
		struct store_ticket t;
		int found;

		if ((ts = store_ticket_get(x->store, ids[i], &t, &found)) !=
		    TK_OK || !found)
			continue;
		json_obj_open(&o.j);
		ticket_json_head(&o.j, x, &t);
		json_key(&o.j, "messages");
		json_arr_open(&o.j);
		ts = store_ticket_messages(x->store, ids[i], show_msg, &o);
		json_arr_close(&o.j);
		json_key(&o.j, "events");
		json_arr_open(&o.j);
		if (ts == TK_OK && (ts = o.ts) == TK_OK)
			ts = store_ticket_events(x->store, ids[i], show_event,
			    &o);
		json_arr_close(&o.j);
		json_obj_close(&o.j);
		store_ticket_clear(&t);
		if (ts == TK_OK)
			ts = store_event_add(x->store, ids[i], now, "exported",
			    who, NULL, NULL, 0);
	}
	json_arr_close(&o.j);
	json_key(&o.j, "outbox");
	json_arr_open(&o.j);
	if (ts == TK_OK)
		ts = store_outbox_to(x->store, addr, export_outbox, &o);
	json_arr_close(&o.j);
	json_key(&o.j, "bounced");
	if (ts == TK_OK && (ts = store_bounce_last(x->store, addr, &bounced)) ==
	    TK_OK && bounced) {
		str_time(bounced, day, sizeof(day));
		json_str(&o.j, day);
	} else
		json_null(&o.j);
	json_obj_close(&o.j);
	buf_addc(&o.b, '\n');
	if (ts != TK_OK || (ts = store_commit(x->store)) != TK_OK)
		goto fail;
	log_info("export by %s: %zu tickets", who, n);
	free(ids);
	free(who);
	if (path) {
		umask(077);	/* personal data: for its owner only */
		write_out(path, &o.b);
	} else
		flush_out(&o.b);
	buf_free(&o.b);
	return EX_OK;
fail:
	store_rollback(x->store);
	fatalx(tk_status_exit(ts), "%s", store_errmsg(x->store));
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx x = { 0 };
	const char *confpath = NULL;
	struct buf err;
	enum tk_status ts;
	int ch, rv;

	log_init(1, LOG_MAIL);
	/* UTF-8 character classes for the rules' :regex. */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		setlocale(LC_CTYPE, "");
	/* Stop at the command: its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'D':
			x.dbpath = optarg;
			break;
		case 'v':
			log_setverbose(1);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "ingest") == 0 && ingest_from_stdin(argc, argv)) {
		pipe_mode = 1;
		log_set_exit_map(pipe_exit);
	}
	buf_init(&err, 0);
	if (confpath == NULL && (confpath = getenv("TIKETTI_CONF")) != NULL &&
	    *confpath == '\0')
		confpath = NULL;	/* set empty: the default */
	ts = conf_load(confpath ? confpath : DEFAULT_CONF, confpath != NULL,
	    &x.conf, &err);
	if (ts != TK_OK && strcmp(argv[0], "check") == 0) {
		/* A monitoring plugin says UNKNOWN on its first line. */
		printf("TIKETTI UNKNOWN - configuration not loaded\n%s",
		    err.data ? err.data : "");
		exit(CHECK_UNKNOWN);
	}
	if (ts != TK_OK) {
		fputs(err.data ? err.data : "", stderr);
		fatalx(EX_CONFIG, "configuration not loaded");
	}
	buf_free(&err);

	if (strcmp(argv[0], "ingest") == 0)
		rv = cmd_ingest(&x, argc, argv);
	else if (strcmp(argv[0], "ticket") == 0)
		rv = cmd_ticket(&x, argc, argv);
	else if (strcmp(argv[0], "agent") == 0)
		rv = cmd_agent(&x, argc, argv);
	else if (strcmp(argv[0], "queue") == 0)
		rv = cmd_queue(&x, argc, argv);
	else if (strcmp(argv[0], "rules") == 0)
		rv = cmd_rules(&x, argc, argv);
	else if (strcmp(argv[0], "tick") == 0)
		rv = cmd_tick(&x, argc, argv);
	else if (strcmp(argv[0], "calendar") == 0)
		rv = cmd_calendar(&x, argc, argv);
	else if (strcmp(argv[0], "poll") == 0)
		rv = cmd_poll(&x, argc, argv);
	else if (strcmp(argv[0], "report") == 0)
		rv = cmd_report(&x, argc, argv);
	else if (strcmp(argv[0], "message") == 0)
		rv = cmd_message(&x, argc, argv);
	else if (strcmp(argv[0], "outbox") == 0)
		rv = cmd_outbox(&x, argc, argv);
	else if (strcmp(argv[0], "flush") == 0)
		rv = cmd_flush(&x, argc, argv);
	else if (strcmp(argv[0], "db") == 0)
		rv = cmd_db(&x, argc, argv);
	else if (strcmp(argv[0], "oauth") == 0)
		rv = cmd_oauth(&x, argc, argv);
	else if (strcmp(argv[0], "check") == 0)
		rv = cmd_check(&x, argc, argv);
	else if (strcmp(argv[0], "block") == 0)
		rv = cmd_block(&x, argc, argv);
	else if (strcmp(argv[0], "purge") == 0)
		rv = cmd_purge(&x, argc, argv);
	else if (strcmp(argv[0], "forget") == 0)
		rv = cmd_forget(&x, argc, argv);
	else if (strcmp(argv[0], "export") == 0)
		rv = cmd_export(&x, argc, argv);
	else if (strcmp(argv[0], "milter") == 0) {
		const char *sock = NULL;
		int fg = 0, c2;

		optind = 1;
		while ((c2 = getopt(argc, argv, "dp:")) != -1) {
			if (c2 == 'd')
				fg = 1;
			else if (c2 == 'p')
				sock = optarg;
			else
				usage();
		}
		if (optind != argc)
			usage();
		rv = milter_main(confpath ? confpath : DEFAULT_CONF,
		    confpath != NULL, sock, fg);
	}
	else if (strcmp(argv[0], "config") == 0) {
		if (argc != 1)
			usage();
		conf_print(x.conf, stdout);
		rv = EX_OK;
	} else
		usage();
	store_close(x.store);
	sla_free(x.sla);
	rules_free(x.rules);
	conf_free(x.conf);
	return rv;
}
