/*
 * NAME
 *	check.c — `tiketti check`, a monitoring plugin.
 * DESCRIPTION
 *	Each check adds a finding: its state and one line. The database is
 *	opened read-only, so one whose schema is not this tiketti's is a
 *	finding too. The rule files are loaded as the milter would load
 *	them, the templates they name checked, the calendars of their
 *	promises read. The outbox, the last tick, each account's last poll
 *	and each OAuth grant's last refresh come from the store (the health
 *	table tick, poll and oauth.c write). The milter is asked nothing but
 *	to accept a connection on its socket.
 * DIAGNOSTICS
 *	The first line follows the plugins' convention, "TIKETTI STATE -
 *	summary | perfdata"; the exit code is the state.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include "tiketti/automate.h"
#include "tiketti/check.h"
#include "tiketti/rules.h"
#include "tiketti/sla.h"
#include "tiketti/store.h"
#include "tiketti/str.h"

#define PROBE_MS	5000	/* the milter has this long to accept */

static const char *const state_names[] = { "OK", "WARNING", "CRITICAL",
    "UNKNOWN" };

struct findings {
	enum check_state worst;
	struct buf	 lines;		/* "STATE: text" each */
	struct buf	 perf;
	char		 first[1024];	/* the worst finding's text */
	int		 problems;
	int		 checks;
};

/* How bad a state is: CRITICAL over UNKNOWN over WARNING over OK. */
static int
rank(enum check_state st)
{
	static const int r[] = { 0, 1, 3, 2 };

	return r[st];
}

static void __attribute__((format(printf, 3, 4)))
finding(struct findings *f, enum check_state st, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* One line each, whatever a detail carried. */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '|')
			*p = ' ';
	f->checks++;
	if (st != CHECK_OK)
		f->problems++;
	if (rank(st) > rank(f->worst) || (st != CHECK_OK && f->first[0] ==
	    '\0')) {
		if (rank(st) > rank(f->worst))
			f->worst = st;
		snprintf(f->first, sizeof(f->first), "%s", text);
	}
	buf_printf(&f->lines, "%s: %s\n", state_names[st], text);
}

static void
perf(struct findings *f, const char *label, long long value,
    const char *unit, const long long *lim)
{
	buf_printf(&f->perf, "%s%s=%lld%s", f->perf.len ? " " : "", label,
	    value, unit);
	if (lim)
		buf_printf(&f->perf, ";%lld;%lld", lim[0], lim[1]);
}

static enum check_state
against(long long value, const long long lim[2])
{
	return value >= lim[1] ? CHECK_CRITICAL : value >= lim[0] ?
	    CHECK_WARNING : CHECK_OK;
}

/* Whether something accepts a connection on a milter socket spec. */
static int
probe(const char *spec, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	const char *at;
	char port[16];
	int fd = -1, ok = 0, e;
	socklen_t len = sizeof(e);

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		const char *path = strchr(spec, ':') + 1;

		if (strlen(path) >= sizeof(un.sun_path)) {
			snprintf(why, whylen, "socket path too long");
			return 0;
		}
		memcpy(un.sun_path, path, strlen(path) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
			ok = 1;
		else
			snprintf(why, whylen, "%s", strerror(errno));
		if (fd != -1)
			close(fd);
		return ok;
	}
	if ((strncmp(spec, "inet:", 5) != 0 && strncmp(spec, "inet6:", 6)) ||
	    (at = strchr(spec, '@')) == NULL) {
		snprintf(why, whylen, "not unix:PATH or inet:PORT@HOST");
		return 0;
	}
	snprintf(port, sizeof(port), "%.*s", (int)(at - strchr(spec, ':') - 1),
	    strchr(spec, ':') + 1);
	if ((e = getaddrinfo(at + 1, port, &hints, &ai)) != 0) {
		snprintf(why, whylen, "%s", gai_strerror(e));
		return 0;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		ok = 1;
	else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, PROBE_MS) == 1 && getsockopt(fd, SOL_SOCKET,
		    SO_ERROR, &e, &len) == 0 && e == 0)
			ok = 1;
		else
			snprintf(why, whylen, "%s", e ? strerror(e) :
			    "no answer");
	} else
		snprintf(why, whylen, "%s", strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return ok;
}

/* The rule files, the templates they name, their calendars. */
static void
check_files(const struct tk_conf *c, struct findings *f)
{
	struct ruleset *rs = rules_new();
	const struct sla_policy *p;
	struct sla *sla = NULL;
	struct buf err;
	size_t n;
	int bad = 0;

	buf_init(&err, 0);
	if (rules_add_path(rs, c->rules_dir, c, &err) != TK_OK ||
	    automate_check(rs, c, &err) != TK_OK)
		bad = 1;
	if (!bad) {
		p = rules_policies(rs, &n);
		if (sla_new(p, n, c->calendars_dir, c->sla_policy, &sla, &err) !=
		    TK_OK)
			bad = 2;
		sla_free(sla);
	}
	if (bad) {
		char *line = err.data, *nl;

		for (; line && *line; line = nl ? nl + 1 : NULL) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl = '\0';
			if (*line)
				finding(f, CHECK_CRITICAL, "%s %s",
				    bad == 1 ? "rules:" : "calendar:", line);
		}
		if (err.len == 0)
			finding(f, CHECK_CRITICAL, "rules in %s do not load",
			    c->rules_dir);
	} else
		finding(f, CHECK_OK, "%zu rules and macros load from %s, their "
		    "templates and calendars too", rules_count(rs),
		    c->rules_dir);
	rules_free(rs);
	buf_free(&err);
}

/* A detail without the "account NAME: " its finding says already. */
static const char *
unprefixed(const char *detail, const char *account)
{
	size_t n = strlen(account);

	if (detail == NULL)
		return "no reason recorded";
	if (account[0] && strncmp(detail, "account ", 8) == 0 &&
	    strncmp(detail + 8, account, n) == 0 &&
	    strncmp(detail + 8 + n, ": ", 2) == 0)
		return detail + 10 + n;
	return detail;
}

/* The last run of a job: never, failed, or how long ago. */
static void
check_job(struct findings *f, struct store *s, const char *name,
    const char *account, const char *what, const long long lim[2],
    const char *label, int64_t now)
{
	struct store_health h;
	int found;

	if (store_health_get(s, name, &h, &found) != TK_OK) {
		finding(f, CHECK_UNKNOWN, "%s: %s", what, store_errmsg(s));
		return;
	}
	if (!found)
		finding(f, CHECK_WARNING, "%s has never run", what);
	else if (!h.ok)
		finding(f, CHECK_CRITICAL, "%s failed: %s", what,
		    unprefixed(h.detail, account));
	else {
		char d[32];

		/* In whole minutes past two (a tick is a minute's job). */
		str_duration((long long)(now - h.at >= 120 ? now - h.at -
		    (now - h.at) % 60 : now - h.at), d, sizeof(d));
		finding(f, against(now - h.at, lim), "%s ran %s ago", what, d);
		perf(f, label, (long long)(now - h.at), "s", lim);
	}
	free(h.detail);
}

static void
check_store(const struct tk_conf *c, struct findings *f, struct store *s)
{
	int64_t now = (int64_t)time(NULL), failing, stale;
	char name[300], what[300], label[300];

	if (store_outbox_health(s, now, c->outbox_max_age, &failing, &stale) !=
	    TK_OK)
		finding(f, CHECK_UNKNOWN, "outbox: %s", store_errmsg(s));
	else {
		if (stale)
			finding(f, CHECK_CRITICAL, "outbox: %lld rows queued "
			    "longer than outbox_max_age", (long long)stale);
		finding(f, against(failing, c->check_outbox), "outbox: %lld "
		    "rows failing (retried, or failed within a day)",
		    (long long)failing);
		perf(f, "outbox_failing", failing, "", c->check_outbox);
		perf(f, "outbox_stale", stale, "", NULL);
	}
	check_job(f, s, "tick", "", "tick", c->check_tick, "tick_age", now);
	for (size_t i = 0; i < c->naccounts; i++) {
		const struct conf_account *a = &c->accounts[i];

		snprintf(name, sizeof(name), "poll:%s", a->name);
		snprintf(what, sizeof(what), "account %s: poll", a->name);
		snprintf(label, sizeof(label), "poll_age_%s", a->name);
		check_job(f, s, name, a->name, what, c->check_poll, label,
		    now);
		if (a->auth == CONF_AUTH_OAUTH2) {
			struct store_grant g;
			struct store_health h;
			int found, hfound = 0;

			if (store_grant_get(s, a->name, &g, &found) != TK_OK) {
				finding(f, CHECK_UNKNOWN, "account %s: %s",
				    a->name, store_errmsg(s));
				continue;
			}
			store_grant_clear(&g);
			snprintf(name, sizeof(name), "oauth:%s", a->name);
			if (found && store_health_get(s, name, &h, &hfound) !=
			    TK_OK)
				hfound = 0;
			if (!found)
				finding(f, CHECK_CRITICAL, "account %s: no OAuth "
				    "grant: run `tiketti oauth login %s`",
				    a->name, a->name);
			else if (hfound && !h.ok)
				finding(f, CHECK_CRITICAL, "account %s: %s",
				    a->name, unprefixed(h.detail, a->name));
			else
				finding(f, CHECK_OK, "account %s: OAuth grant "
				    "in force", a->name);
			if (hfound)
				free(h.detail);
		}
	}
}

enum check_state
check_run(const struct tk_conf *c, struct buf *out)
{
	struct findings f = { 0 };
	struct store *s = NULL;
	char why[256];

	buf_init(&f.lines, 0);
	buf_init(&f.perf, 0);
	if (store_open(c->database, c->busy_timeout, STORE_READONLY, &s) !=
	    TK_OK) {
		char *shown = store_describe(c->database);

		finding(&f, CHECK_CRITICAL, "database %s: %s", shown,
		    s ? store_errmsg(s) : "cannot open");
		free(shown);
	} else {
		finding(&f, CHECK_OK, "database at schema %d",
		    store_schema_version(s));
		check_store(c, &f, s);
	}
	store_close(s);
	check_files(c, &f);
	if (c->check_milter) {
		if (probe(c->milter_socket, why, sizeof(why)))
			finding(&f, CHECK_OK, "milter answers on %s",
			    c->milter_socket);
		else
			finding(&f, CHECK_CRITICAL, "milter on %s: %s",
			    c->milter_socket, why);
	}
	if (f.problems == 0)
		buf_printf(out, "TIKETTI OK - %d checks passed", f.checks);
	else
		buf_printf(out, "TIKETTI %s - %s%s", state_names[f.worst],
		    f.first, f.problems > 1 ? " (and more)" : "");
	buf_printf(out, " | %s\n", f.perf.data ? f.perf.data : "");
	buf_add(out, f.lines.data ? f.lines.data : "", f.lines.len);
	buf_free(&f.lines);
	buf_free(&f.perf);
	return f.worst;
}
