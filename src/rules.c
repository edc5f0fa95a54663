/*
 * NAME
 *	rules.c — loading rule files and evaluating rules on a ticket.
 * DESCRIPTION
 *	rules_load() reads the *.rules files of rules_dir in name order through the
 *	parser; a set with any error is thrown away whole, so a daemon keeps
 *	its last good set. rules_run() walks the rules listening to an event
 *	and hands the actions of those whose test holds to a callback; it
 *	never touches the database or the network. Matching is on decoded
 *	UTF-8 and case-insensitive unless :case (folding covers Latin, Greek
 *	and Cyrillic; a :regex pattern is folded the same way, and its
 *	character classes follow the process's LC_CTYPE, C.UTF-8 in main()).
 *	Folded copies of headers and body are cached per input, so two
 *	hundred rules fold a body once. A loaded set is read-only and may be
 *	shared between threads; an input is per thread.
 * DIAGNOSTICS
 *	Load errors as "FILE:LINE:COL: message" lines in the caller's buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_int.h"
#include "tiketti/str.h"

struct ruleset *
rules_new(void)
{
	return xcalloc(1, sizeof(struct ruleset));
}

static void
index_timers(struct ruleset *rs)
{
	free(rs->timers);
	rs->timers = NULL;
	rs->ntimers = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].events & RULES_TIME) {
			rs->timers = xreallocarray(rs->timers, rs->ntimers + 1,
			    sizeof(*rs->timers));
			rs->timers[rs->ntimers++] = i;
		}
}

enum tk_status
rules_add_text(struct ruleset *rs, const char *name, const char *text,
    size_t len, const struct tk_conf *conf, struct buf *err)
{
	int nerr = rules_parse(rs, name, text, len, conf, err);

	index_timers(rs);
	return nerr ? TK_EPARSE : TK_OK;
}

static enum tk_status
add_file(struct ruleset *rs, const char *path, const struct tk_conf *conf,
    struct buf *err)
{
	struct buf text;
	enum tk_status ts;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_printf(err, "%s:0:0: %s\n", path, strerror(errno));
		return TK_EIO;
	}
	buf_init(&text, RULES_MAX_FILE);
	ts = buf_read_fd(&text, fd);
	close(fd);
	if (ts != TK_OK) {
		buf_printf(err, "%s:0:0: cannot read (or larger than %d MiB)\n",
		    path, RULES_MAX_FILE >> 20);
		buf_free(&text);
		return TK_EIO;
	}
	ts = rules_add_text(rs, path, text.data ? text.data : "", text.len,
	    conf, err);
	buf_free(&text);
	return ts;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_rules_file(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 6 && strcmp(name + len - 6, ".rules") == 0;
}

static enum tk_status
add_path(struct ruleset *rs, const char *path, const struct tk_conf *conf,
    struct buf *err)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	enum tk_status ts = TK_OK, fts;
	DIR *d;

	if (stat(path, &st) == -1 && errno == ENOENT)
		return TK_OK;	/* no rules directory: no rules */
	if (!S_ISDIR(st.st_mode))
		return add_file(rs, path, conf, err);
	if ((d = opendir(path)) == NULL) {
		buf_printf(err, "%s:0:0: %s\n", path, strerror(errno));
		return TK_EIO;
	}
	while ((de = readdir(d)) != NULL)
		if (is_rules_file(de->d_name)) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xasprintf("%s/%s", path, de->d_name);
		}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if ((fts = add_file(rs, names[i], conf, err)) != TK_OK &&
		    ts == TK_OK)
			ts = fts;
		free(names[i]);
	}
	free(names);
	return ts;
}

/* Every `sla` action, and sla_policy, name a policy of the set. */
static enum tk_status
check_policies(const struct ruleset *rs, const struct tk_conf *conf,
    struct buf *err)
{
	enum tk_status ts = TK_OK;
	size_t n;
	const struct sla_policy *pol = rules_policies(rs, &n);

	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t k = 0; k < rs->rules[i].nacts; k++) {
			const struct rules_action *a = &rs->rules[i].acts[k];
			size_t j;

			if (a->kind != ACT_SLA)
				continue;
			for (j = 0; j < n; j++)
				if (strcmp(pol[j].name, a->arg) == 0)
					break;
			if (j == n) {
				buf_printf(err, "%s:%d:%d: no policy \"%s\" in "
				    "the rule files\n", a->file, a->line,
				    a->col, a->arg);
				ts = TK_EPARSE;
			}
		}
	if (conf && conf->sla_policy) {
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(pol[j].name, conf->sla_policy) == 0)
				break;
		if (j == n) {
			buf_printf(err, "%s:0:0: sla_policy \"%s\" is no policy "
			    "of the rule files\n", conf->path ? conf->path :
			    "tiketti.conf", conf->sla_policy);
			ts = TK_EPARSE;
		}
	}
	return ts;
}

enum tk_status
rules_add_path(struct ruleset *rs, const char *path,
    const struct tk_conf *conf, struct buf *err)
{
	enum tk_status ts = add_path(rs, path, conf, err);

	if (ts == TK_OK)
		ts = check_policies(rs, conf, err);
	return ts;
}

const struct sla_policy *
rules_policies(const struct ruleset *rs, size_t *n)
{
	*n = rs ? rs->npolicies : 0;
	return rs ? rs->policies : NULL;
}

enum tk_status
rules_load(const char *path, const struct tk_conf *conf,
    struct ruleset **out, struct buf *err)
{
	struct ruleset *rs = rules_new();
	enum tk_status ts = rules_add_path(rs, path, conf, err);

	if (ts != TK_OK) {
		rules_free(rs);
		rs = NULL;
	}
	*out = rs;
	return ts;
}

int
rules_use_lookup(const struct ruleset *rs)
{
	for (size_t i = 0; rs && i < rs->nrules; i++)
		for (size_t k = 0; k < rs->rules[i].nacts; k++)
			if (rs->rules[i].acts[k].kind == ACT_LOOKUP)
				return 1;
	return 0;
}

int
rules_use_history(const struct ruleset *rs)
{
	return rs && rs->history;
}

size_t
rules_count(const struct ruleset *rs)
{
	return rs ? rs->nrules : 0;
}

size_t
rules_ntimers(const struct ruleset *rs)
{
	return rs ? rs->ntimers : 0;
}

const struct rules_timer *
rules_timer(const struct ruleset *rs, size_t i)
{
	return &rs->rules[rs->timers[i]].timer;
}

/* ---- matching ---- */

struct rules_cache {
	const char	**src;
	char		**folded;
	size_t		  n;
	char		**hnames;	/* the mail's header names, lower case */
	size_t		  nhnames;
};

void
rules_input_clear(struct rules_input *in)
{
	struct rules_cache *c = in->cache;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->folded[i]);
	for (size_t i = 0; i < c->nhnames; i++)
		free(c->hnames[i]);
	free(c->hnames);
	free(c->src);
	free(c->folded);
	free(c);
	in->cache = NULL;
}

static struct rules_cache *
cache(struct rules_input *in)
{
	if (in->cache == NULL)
		in->cache = xcalloc(1, sizeof(*in->cache));
	return in->cache;
}

/* The folded copy of s, made once per input. */
static const char *
folded(struct rules_input *in, const char *s)
{
	struct rules_cache *c = cache(in);

	for (size_t i = 0; i < c->n; i++)
		if (c->src[i] == s)
			return c->folded[i];
	c->src = xreallocarray(c->src, c->n + 1, sizeof(*c->src));
	c->folded = xreallocarray(c->folded, c->n + 1, sizeof(*c->folded));
	c->src[c->n] = s;
	c->folded[c->n] = str_fold(xstrdup(s));
	return c->folded[c->n++];
}

static int
value_match(const struct test *t, struct rules_input *in, const char *cand,
    int cacheable)
{
	char *tmp = NULL;
	const char *c = cand;
	int hit = 0;

	if (cand == NULL)
		return 0;
	if (!t->casesens)
		c = cacheable ? folded(in, cand) : (tmp = str_fold(xstrdup(cand)));
	for (size_t i = 0; !hit && i < t->nvalues; i++)
		switch (t->match) {
		case M_IS:
			hit = strcmp(c, t->values[i]) == 0;
			break;
		case M_CONTAINS:
			hit = strstr(c, t->values[i]) != NULL;
			break;
		case M_MATCHES:
			hit = str_glob(t->values[i], c);
			break;
		case M_REGEX:
			hit = regexec(&t->re[i], c, 0, NULL, 0) == 0;
			break;
		default:
			break;
		}
	free(tmp);
	return hit;
}

/* The header names lower-cased once per mail: tests compare with strcmp. */
static char **
header_names(struct rules_input *in)
{
	struct rules_cache *c = cache(in);
	const struct tk_msg *m = in->msg;

	if (c->hnames == NULL) {
		c->hnames = xcalloc(m->nheaders + 1, sizeof(*c->hnames));
		for (size_t i = 0; i < m->nheaders; i++)
			c->hnames[i] = str_lower(xstrdup(m->headers[i].name));
		c->nhnames = m->nheaders;
	}
	return c->hnames;
}

static int
header_test(const struct test *t, struct rules_input *in)
{
	const struct tk_msg *m = in->msg;
	char **names = header_names(in);

	for (size_t i = 0; i < m->nheaders; i++)
		for (size_t k = 0; k < t->nnames; k++)
			if (strcmp(names[i], t->names[k]) == 0 &&
			    (t->kind == TEST_EXISTS ||
			    value_match(t, in, m->headers[i].value, 1)))
				return 1;
	return 0;
}

static int
addr_match(const struct test *t, struct rules_input *in, const char *addr)
{
	const char *at;
	char *part;
	int hit;

	if (addr == NULL || t->part == AP_ALL)
		return value_match(t, in, addr, 1);
	at = strrchr(addr, '@');
	if (t->part == AP_LOCALPART)
		part = at ? xstrndup(addr, (size_t)(at - addr)) : xstrdup(addr);
	else
		part = xstrdup(at ? at + 1 : "");
	hit = value_match(t, in, part, 0);
	free(part);
	return hit;
}

static int
address_test(const struct test *t, struct rules_input *in)
{
	const struct tk_msg *m = in->msg;

	for (size_t k = 0; k < t->nnames; k++) {
		const struct mime_addr *v = &m->from;
		size_t n = 1;

		if (strcmp(t->names[k], "to") == 0) {
			v = m->to;
			n = m->nto;
		} else if (strcmp(t->names[k], "cc") == 0) {
			v = m->cc;
			n = m->ncc;
		}
		for (size_t i = 0; i < n; i++)
			if (addr_match(t, in, v[i].addr))
				return 1;
	}
	return 0;
}

/* Any tag of the comma-separated list matches. */
static int
tag_test(const struct test *t, struct rules_input *in, const char *tags)
{
	const char *p = tags;
	int hit = 0;

	while (p && *p && !hit) {
		size_t len = strcspn(p, ",");
		char *one = xstrndup(p, len);

		hit = value_match(t, in, one, 0);
		free(one);
		p += len + (p[len] == ',');
	}
	return hit;
}

static int
eval(const struct test *t, struct rules_input *in)
{
	const struct tk_msg *m = in->msg;
	const struct store_ticket *tk = in->ticket;

	switch (t->kind) {
	case TEST_TRUE:
		return 1;
	case TEST_FALSE:
		return 0;
	case TEST_NOT:
		return !eval(t->kids[0], in);
	case TEST_ALLOF:
		for (size_t i = 0; i < t->nkids; i++)
			if (!eval(t->kids[i], in))
				return 0;
		return 1;
	case TEST_ANYOF:
		for (size_t i = 0; i < t->nkids; i++)
			if (eval(t->kids[i], in))
				return 1;
		return 0;
	case TEST_HEADER:
	case TEST_EXISTS:
		return m && header_test(t, in);
	case TEST_ADDRESS:
		return m && address_test(t, in);
	case TEST_ENVELOPE:
		if (t->which == 0)
			return addr_match(t, in, in->env_from);
		for (size_t i = 0; i < in->nenv_to; i++)
			if (addr_match(t, in, in->env_to[i]))
				return 1;
		return 0;
	case TEST_BODY:
		/* :new, what this mail adds: not a word it only quotes */
		return m && value_match(t, in, t->which && in->new_text ?
		    in->new_text : m->body, 1);
	case TEST_ATTACHMENT:
		for (size_t i = 0; m && i < m->natt; i++)
			if (value_match(t, in, t->which ? m->att[i].type :
			    m->att[i].name, 0))
				return 1;
		return 0;
	case TEST_STATUS:
		return value_match(t, in, tk->status, 0);
	case TEST_PRIORITY:
		return value_match(t, in, tk->priority, 0);
	case TEST_CATEGORY:
		return value_match(t, in, tk->category, 0);
	case TEST_ASSIGNEE:
		return value_match(t, in, tk->assignee, 0);
	case TEST_MAILBOX:
		return value_match(t, in, tk->mailbox, 0);
	case TEST_TAG:
		return tag_test(t, in, tk->tags);
	case TEST_AGE:
		if (t->match == M_OVER)
			return in->now - tk->created_at > t->secs;
		return in->now - tk->created_at < t->secs;
	case TEST_FIELD:
		return value_match(t, in, store_ticket_field(tk, t->names[0]), 0);
	case TEST_HISTORY:
		if (t->match == M_WITHIN) {
			for (size_t i = 0; i < in->nhistory; i++)
				if (in->history[i] <= in->now &&
				    in->now - in->history[i] < t->secs)
					return 1;
			return 0;
		}
		if (t->match == M_OVER)
			return (long long)in->nhistory > t->secs;
		return (long long)in->nhistory < t->secs;
	}
	return 0;
}

/* ---- running ---- */

static enum tk_status
run_actions(const struct rule *r, rules_apply_fn fn, void *arg, int *stop)
{
	struct rules_origin o = { r->name, r->file, r->line, r->macro };
	enum tk_status ts;

	for (size_t i = 0; i < r->nacts; i++) {
		if ((ts = fn(&o, &r->acts[i], arg)) != TK_OK)
			return ts;
		if (r->acts[i].kind == ACT_STOP) {
			*stop = 1;
			break;
		}
	}
	return TK_OK;
}

static int
listens(const struct rule *r, enum rules_event ev, const char *status)
{
	/* time rules run through rules_run_timer() only */
	if (r->macro || ev == RULES_TIME || (r->events & ev) == 0)
		return 0;
	if (ev == RULES_SLA_WARNING || ev == RULES_SLA_BREACH) {
		int t = status ? sla_target_parse(status) : -1;

		return t >= 0 && ((ev == RULES_SLA_WARNING ? r->sla_warning :
		    r->sla_breach) & (1u << t));
	}
	if (ev != RULES_STATUS)
		return 1;
	for (size_t i = 0; status && i < r->nstatuses; i++)
		if (strcmp(r->statuses[i], status) == 0)
			return 1;
	return 0;
}

enum tk_status
rules_run(const struct ruleset *rs, enum rules_event ev, const char *status,
    struct rules_input *in, rules_apply_fn fn, void *arg)
{
	enum tk_status ts = TK_OK;
	int stop = 0;

	for (size_t i = 0; rs && ts == TK_OK && !stop && i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		if (listens(r, ev, status) && (r->test == NULL ||
		    eval(r->test, in)))
			ts = run_actions(r, fn, arg, &stop);
	}
	return ts;
}

/* ---- explaining ---- */

/* A test as rule files write it, near enough to find it there. */
static void
test_format(const struct test *t, struct buf *b)
{
	static const char *const kinds[] = { "true", "false", "not", "allof",
	    "anyof", "header", "address", "envelope", "body", "attachment",
	    "exists", "status", "priority", "category", "assignee", "mailbox",
	    "tag", "age", "history", "field" };
	static const char *const matches[] = { ":is", ":contains",
	    ":matches", ":regex", ":over", ":under", ":within" };

	buf_addstr(b, kinds[t->kind]);
	if (t->kind == TEST_NOT || t->kind == TEST_ALLOF ||
	    t->kind == TEST_ANYOF) {
		buf_addstr(b, t->kind == TEST_NOT ? " " : " (");
		for (size_t i = 0; i < t->nkids; i++) {
			if (i)
				buf_addstr(b, ", ");
			test_format(t->kids[i], b);
		}
		if (t->kind != TEST_NOT)
			buf_addc(b, ')');
		return;
	}
	if (t->kind == TEST_TRUE || t->kind == TEST_FALSE)
		return;
	for (size_t i = 0; i < t->nnames; i++)
		buf_printf(b, " \"%s\"", t->names[i]);
	if (t->kind == TEST_AGE || (t->kind == TEST_HISTORY &&
	    t->match == M_WITHIN))
		buf_printf(b, " %s %llds", matches[t->match], t->secs);
	else if (t->kind == TEST_HISTORY)
		buf_printf(b, " %s %lld", matches[t->match], t->secs);
	else if (t->kind != TEST_EXISTS && t->nvalues)
		buf_printf(b, " %s", matches[t->match]);
	for (size_t i = 0; i < t->nvalues; i++)
		buf_printf(b, " \"%s\"", t->values[i]);
}

/* Whether t holds; when not, *failed is its first test that failed
 * (in an allof, the first part that did). */
static int
eval_why(const struct test *t, struct rules_input *in,
    const struct test **failed)
{
	if (t->kind == TEST_ALLOF) {
		for (size_t i = 0; i < t->nkids; i++)
			if (!eval_why(t->kids[i], in, failed))
				return 0;
		return 1;
	}
	if (eval(t, in))
		return 1;
	*failed = t;
	return 0;
}

/* What the rule listens to, for "not on this event". */
static void
listens_format(const struct rule *r, struct buf *b)
{
	static const char *const evs[] = { "create", "customer reply",
	    "agent reply", "status", "after", "sla warning", "sla breach" };
	const char *sep = "on ";

	if (r->macro) {
		buf_addstr(b, "a macro, run by an agent's command");
		return;
	}
	for (int i = 0; i < 7; i++)
		if (r->events & (1u << i)) {
			buf_printf(b, "%s%s", sep, evs[i]);
			if ((1u << i) == RULES_TIME) {
				char d[32];

				str_duration(r->timer.after, d, sizeof(d));
				buf_printf(b, " %s%s%s (a time rule)", d,
				    r->timer.status ? " in " : "",
				    r->timer.status ? r->timer.status : "");
			}
			if ((1u << i) == RULES_STATUS)
				for (size_t k = 0; k < r->nstatuses; k++)
					buf_printf(b, "%s%s", k ? "|" : " ",
					    r->statuses[k]);
			sep = ", ";
		}
}

void
rules_explain(const struct ruleset *rs, enum rules_event ev,
    const char *status, struct rules_input *in,
    void (*fn)(const struct rules_verdict *, void *), void *arg)
{
	int stopped = 0;

	for (size_t i = 0; rs && i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct rules_verdict v = { r->name, r->file, r->line, 0, 0,
		    NULL };
		const struct test *failed = NULL;
		struct buf why;

		buf_init(&why, 0);
		if (!listens(r, ev, status))
			listens_format(r, &why);
		else if (stopped) {
			v.listens = 1;
			buf_addstr(&why, "an earlier rule said stop");
		}
		else if (r->test && !eval_why(r->test, in, &failed)) {
			v.listens = 1;
			test_format(failed, &why);
			buf_addstr(&why, " does not hold");
		} else {
			v.listens = v.fired = 1;
			/* What it does, the rules after it see. */
			for (size_t k = 0; k < r->nacts; k++) {
				rules_ticket_apply(in->ticket, &r->acts[k]);
				if (r->acts[k].kind == ACT_STOP)
					stopped = 1;
			}
		}
		v.why = why.data;
		fn(&v, arg);
		buf_free(&why);
	}
}

enum tk_status
rules_run_macro(const struct ruleset *rs, const char *name,
    struct rules_input *in, rules_apply_fn fn, void *arg)
{
	int stop = 0;

	(void)in;	/* macros have no tests (yet) */
	for (size_t i = 0; rs && i < rs->nrules; i++)
		if (rs->rules[i].macro && strcasecmp(rs->rules[i].name, name) == 0)
			return run_actions(&rs->rules[i], fn, arg, &stop);
	return TK_EPERM;
}

enum tk_status
rules_run_timer(const struct ruleset *rs, size_t i, struct rules_input *in,
    rules_apply_fn fn, void *arg)
{
	const struct rule *r = &rs->rules[rs->timers[i]];
	int stop = 0;

	if (r->test && !eval(r->test, in))
		return TK_OK;
	return run_actions(r, fn, arg, &stop);
}

void
rules_each_action(const struct ruleset *rs,
    void (*fn)(const struct rules_action *, void *), void *arg)
{
	for (size_t i = 0; rs && i < rs->nrules; i++)
		for (size_t k = 0; k < rs->rules[i].nacts; k++)
			fn(&rs->rules[i].acts[k], arg);
}

void
rules_action_format(const struct rules_action *a, struct buf *out)
{
	static const char *const words[] = {
		[ACT_SET] = "set", [ACT_TAG] = "tag", [ACT_UNTAG] = "untag",
		[ACT_ASSIGN] = "assign", [ACT_ROUTE] = "route skill",
		[ACT_AUTOREPLY] = "autoreply", [ACT_REPLY] = "reply",
		[ACT_CSAT] = "csat", [ACT_NOTE] = "note", [ACT_NOTIFY] = "notify",
		[ACT_WEBHOOK] = "webhook", [ACT_STOP] = "stop", [ACT_SLA] = "sla",
		[ACT_FIELD] = "set field", [ACT_EXTRACT] = "extract field",
		[ACT_LOOKUP] = "lookup",
	};

	buf_addstr(out, words[a->kind]);
	if (a->field)
		buf_printf(out, a->kind == ACT_FIELD || a->kind == ACT_EXTRACT ?
		    " \"%s\"" : " %s", a->field);
	if (a->kind == ACT_EXTRACT)
		buf_addstr(out, a->re ? " regex" : " from");
	if (a->arg)
		buf_printf(out, " \"%s\"", a->arg);
}

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* Adds or removes one tag of a sorted comma-separated list. */
static void
tags_edit(char **tags, const char *tag, int add)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = *tags;
	struct buf b;

	while (p && *p) {
		size_t len = strcspn(p, ",");

		if (strlen(tag) != len || strncmp(p, tag, len) != 0) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = xstrndup(p, len);
		}
		p += len + (p[len] == ',');
	}
	if (add) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(tag);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? "," : "", v[i]);
		free(v[i]);
	}
	free(v);
	free(*tags);
	*tags = n ? buf_release(&b) : NULL;
}

void
rules_ticket_apply(struct store_ticket *t, const struct rules_action *a)
{
	switch (a->kind) {
	case ACT_SET:
		if (strcmp(a->field, "status") == 0)
			replace(&t->status, a->arg);
		else if (strcmp(a->field, "priority") == 0)
			replace(&t->priority, a->arg);
		else
			replace(&t->category, a->arg);
		break;
	case ACT_ASSIGN:
		replace(&t->assignee, a->arg);
		break;
	case ACT_TAG:
	case ACT_UNTAG:
		tags_edit(&t->tags, a->arg, a->kind == ACT_TAG);
		break;
	case ACT_FIELD:
		rules_ticket_field(t, a->field, a->arg);
		break;
	default:
		break;
	}
}

void
rules_ticket_field(struct store_ticket *t, const char *name, const char *value)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].name, name) == 0) {
			replace(&t->fields[i].value, value);
			return;
		}
	t->fields = xreallocarray(t->fields, t->nfields + 1,
	    sizeof(*t->fields));
	t->fields[t->nfields].name = xstrdup(name);
	t->fields[t->nfields++].value = xstrdup(value);
}
