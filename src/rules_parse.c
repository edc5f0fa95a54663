/*
 * NAME
 *	rules_parse.c — the rule language's grammar (see tiketti-rules(5)).
 * DESCRIPTION
 *	Recursive descent over rules_lex.c's tokens with one token of look-
 *	ahead:
 *
 *	  file    = { rule | macro | policy }
 *	  rule    = "rule" STRING "{" event { event } [ "if" test ] [ "then" ]
 *	            ( "{" { action } "}" | action { action } ) "}"
 *	  macro   = "macro" STRING "{" { action } "}"
 *	  policy  = "policy" STRING "{" { setting ";" } "}"
 *	  setting = "calendar" STRING | TARGET DURATION | "warn" PERCENT
 *	  event   = "on" ( "create" | [ "customer" ] "reply" | "agent" "reply"
 *	            | "status" list | "after" DURATION [ "since" WHAT ]
 *	              [ "in" STATUS ] | "sla" ( "warning" | "breach" )
 *	              [ TARGET | list ] )
 *	  test    = "allof" "(" test { "," test } ")" | "anyof" (same)
 *	          | "not" test | "true" | "false" | NAME { :tag | list }
 *	  action  = WORD [ args ] ";"
 *
 *	Values are checked here, so a rule that loads cannot fail for a bad
 *	status, priority, agent, skill or webhook name at run time. After an
 *	error the parser skips to the end of that rule and goes on, so one
 *	run reports every broken rule.
 * DIAGNOSTICS
 *	"FILE:LINE:COL: message" lines appended to the caller's buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"
#include "tiketti/str.h"
#include "tiketti/ticket.h"

struct parser {
	struct lexer		 lx;
	struct token		 tok;
	int			 brace;	/* unclosed '{' before tok */
	struct ruleset		*rs;
	const struct tk_conf	*conf;
	struct buf		*err;
	const char		*file;	/* owned by rs->files */
	int			 nerr;
};

struct list {
	char	**v;
	size_t	  n;
	int	  line, col;
};

static void
list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
list_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

static void
next(struct parser *p)
{
	if (p->tok.type == T_LBRACE)
		p->brace++;
	else if (p->tok.type == T_RBRACE && p->brace > 0)
		p->brace--;
	free(p->tok.text);
	rules_lex_next(&p->lx, &p->tok);
}

static int __attribute__((format(printf, 4, 5)))
error_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(p->err, "%s:%d:%d: %s\n", p->file, line, col, msg);
	p->nerr++;
	return -1;
}

/* An error at the current token; a lexer error wins over fmt. */
static int __attribute__((format(printf, 2, 3)))
error(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (p->tok.type == T_ERROR)
		return error_at(p, p->tok.line, p->tok.col, "%s", p->lx.errmsg);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_at(p, p->tok.line, p->tok.col, "%s", msg);
}

/* What the current token is, for "expected X, found Y". */
static const char *
found(const struct parser *p)
{
	static const char *const names[] = {
		[T_EOF] = "end of file", [T_LBRACE] = "'{'",
		[T_RBRACE] = "'}'", [T_LPAREN] = "'('", [T_RPAREN] = "')'",
		[T_LBRACKET] = "'['", [T_RBRACKET] = "']'", [T_COMMA] = "','",
		[T_SEMI] = "';'", [T_STRING] = "a string", [T_TAG] = "a :tag",
		[T_ERROR] = "an error",
	};

	if (p->tok.type == T_WORD)
		return p->tok.text;
	return names[p->tok.type];
}

static int
is_kw(const struct parser *p, const char *kw)
{
	return p->tok.type == T_WORD && strcasecmp(p->tok.text, kw) == 0;
}

static int
expect(struct parser *p, enum tok_type type, const char *what)
{
	if (p->tok.type != type)
		return error(p, "expected %s, found %s", what, found(p));
	next(p);
	return 0;
}

/* A string or a bare word; *out is the caller's. */
static int
take_value(struct parser *p, const char *what, char **out)
{
	if (p->tok.type != T_STRING && p->tok.type != T_WORD)
		return error(p, "expected %s, found %s", what, found(p));
	*out = p->tok.text;
	p->tok.text = NULL;
	next(p);
	return 0;
}

/* A value or a [ "list", "of", "values" ]. */
static int
take_list(struct parser *p, struct list *l)
{
	char *v = NULL;

	l->line = p->tok.line;
	l->col = p->tok.col;
	if (p->tok.type != T_LBRACKET) {
		if (take_value(p, "a value", &v) < 0)
			return -1;
		list_push(&l->v, &l->n, v);
		return 0;
	}
	next(p);
	for (;;) {
		if (take_value(p, "a value in the list", &v) < 0)
			return -1;
		list_push(&l->v, &l->n, v);
		if (p->tok.type == T_RBRACKET)
			break;
		if (expect(p, T_COMMA, "',' or ']'") < 0)
			return -1;
	}
	next(p);
	return 0;
}

static int
duration(struct parser *p, long long *secs)
{
	char *v = NULL;
	size_t len;
	int line = p->tok.line, col = p->tok.col;

	if (take_value(p, "a duration (like 7d, 12h or 30m)", &v) < 0)
		return -1;
	len = strlen(v);
	if (len == 0 || v[len - 1] < 'a' || str_to_duration(v, 0, secs) !=
	    TK_OK || *secs <= 0) {
		error_at(p, line, col, "bad duration \"%s\" (want a number and "
		    "m, h, d or w, like 7d)", v);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

static int
status_value(struct parser *p, const char *v, int line, int col)
{
	if (ticket_status_valid(v))
		return 0;
	return error_at(p, line, col, "unknown status \"%s\" (want new, open, "
	    "pending, solved, closed or spam)", v);
}

/* ---- events ---- */

static int
parse_timer(struct parser *p, struct rule *r)
{
	struct rules_timer *tm = &r->timer;
	char *v = NULL;
	int line, col;

	if (duration(p, &tm->after) < 0)
		return -1;
	tm->since = STORE_SINCE_STATUS;
	if (is_kw(p, "since")) {
		next(p);
		if (is_kw(p, "created"))
			tm->since = STORE_SINCE_CREATED;
		else if (is_kw(p, "customer"))
			tm->since = STORE_SINCE_CUSTOMER;
		else if (!is_kw(p, "status"))
			return error(p, "expected created, customer or status "
			    "after \"since\", found %s", found(p));
		next(p);
	}
	if (is_kw(p, "in")) {
		next(p);
		line = p->tok.line;
		col = p->tok.col;
		if (take_value(p, "a status", &v) < 0)
			return -1;
		str_lower(v);
		tm->status = v;
		if (status_value(p, v, line, col) < 0)
			return -1;
	} else if (tm->since == STORE_SINCE_STATUS)
		return error(p, "expected \"in STATUS\" (as in after 7d in "
		    "pending), found %s", found(p));
	tm->rule = r->name;
	return 0;
}

static int is_action(const struct parser *p);

/* [ TARGET | [ TARGET, ... ] ]: which clocks; none named: all. */
static int
sla_targets(struct parser *p, unsigned *mask)
{
	struct list l = { 0 };

	if (p->tok.type != T_LBRACKET && !(p->tok.type == T_WORD &&
	    !is_kw(p, "then") && !is_kw(p, "if") && !is_kw(p, "on") &&
	    !is_action(p))) {
		*mask = (1u << SLA__N) - 1;
		return 0;
	}
	if (take_list(p, &l) < 0) {
		list_free(l.v, l.n);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		int t = sla_target_parse(l.v[i]);

		if (t < 0) {
			error_at(p, l.line, l.col, "unknown target \"%s\" (want "
			    "first-response, next-response or resolution)",
			    l.v[i]);
			list_free(l.v, l.n);
			return -1;
		}
		*mask |= 1u << t;
	}
	list_free(l.v, l.n);
	return 0;
}

static int
parse_event(struct parser *p, struct rule *r)
{
	int line = p->tok.line, col = p->tok.col;
	unsigned ev;

	if (is_kw(p, "create")) {
		ev = RULES_CREATE;
		next(p);
	} else if (is_kw(p, "reply") || is_kw(p, "customer") ||
	    is_kw(p, "agent")) {
		ev = is_kw(p, "agent") ? RULES_AGENT_REPLY : RULES_CUSTOMER_REPLY;
		if (!is_kw(p, "reply")) {
			next(p);
			if (!is_kw(p, "reply"))
				return error(p, "expected \"reply\", found %s",
				    found(p));
		}
		next(p);
	} else if (is_kw(p, "status")) {
		struct list l = { 0 };

		ev = RULES_STATUS;
		next(p);
		if (take_list(p, &l) < 0) {
			list_free(l.v, l.n);
			return -1;
		}
		for (size_t i = 0; i < l.n; i++) {
			str_lower(l.v[i]);
			if (status_value(p, l.v[i], l.line, l.col) < 0) {
				list_free(l.v, l.n);
				return -1;
			}
			list_push(&r->statuses, &r->nstatuses, l.v[i]);
		}
		free(l.v);
	} else if (is_kw(p, "after")) {
		ev = RULES_TIME;
		next(p);
		if ((r->events & RULES_TIME) == 0 && parse_timer(p, r) < 0)
			return -1;
	} else if (is_kw(p, "sla")) {
		next(p);
		if (is_kw(p, "warning"))
			ev = RULES_SLA_WARNING;
		else if (is_kw(p, "breach"))
			ev = RULES_SLA_BREACH;
		else
			return error(p, "expected warning or breach after "
			    "\"sla\", found %s", found(p));
		next(p);
		if (sla_targets(p, ev == RULES_SLA_WARNING ? &r->sla_warning :
		    &r->sla_breach) < 0)
			return -1;
	} else
		return error(p, "unknown event \"%s\" (want create, customer "
		    "reply, agent reply, status, after or sla)", found(p));
	if ((ev == RULES_TIME && r->events) || (r->events & RULES_TIME))
		return error_at(p, line, col, "a time rule (on after ...) "
		    "takes no other event");
	r->events |= ev;
	return 0;
}

/* ---- tests ---- */

static const struct { const char *name; enum test_kind kind; } test_names[] = {
	{ "header", TEST_HEADER }, { "address", TEST_ADDRESS },
	{ "envelope", TEST_ENVELOPE }, { "body", TEST_BODY },
	{ "attachment", TEST_ATTACHMENT }, { "exists", TEST_EXISTS },
	{ "status", TEST_STATUS }, { "priority", TEST_PRIORITY },
	{ "category", TEST_CATEGORY }, { "assignee", TEST_ASSIGNEE },
	{ "mailbox", TEST_MAILBOX }, { "tag", TEST_TAG }, { "tags", TEST_TAG },
	{ "age", TEST_AGE }, { "history", TEST_HISTORY },
	{ "field", TEST_FIELD },
};

static const struct { const char *name; enum match m; } match_tags[] = {
	{ "is", M_IS }, { "contains", M_CONTAINS }, { "matches", M_MATCHES },
	{ "regex", M_REGEX }, { "over", M_OVER }, { "under", M_UNDER },
	{ "within", M_WITHIN },
};

void
rules_test_free(struct test *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nkids; i++)
		rules_test_free(t->kids[i]);
	free(t->kids);
	for (size_t i = 0; i < t->nre; i++)
		regfree(&t->re[i]);
	free(t->re);
	list_free(t->names, t->nnames);
	list_free(t->values, t->nvalues);
	free(t);
}

/* Header-like tests take other :tags as the header (or part) name. */
static int
takes_names(enum test_kind k)
{
	return k == TEST_HEADER || k == TEST_ADDRESS || k == TEST_ENVELOPE ||
	    k == TEST_ATTACHMENT || k == TEST_EXISTS || k == TEST_FIELD;
}

static int
name_in(const struct test *t, const char *const *allowed)
{
	for (size_t i = 0; i < t->nnames; i++) {
		size_t k;

		for (k = 0; allowed[k]; k++)
			if (strcmp(t->names[i], allowed[k]) == 0)
				break;
		if (allowed[k] == NULL)
			return 0;
	}
	return 1;
}

/* Folds a regex except the letter after a backslash. */
static void
fold_pattern(char *re)
{
	char *p = re;

	while (*p) {
		size_t len = 0;
		char save;

		if (*p == '\\') {
			p += p[1] ? 2 : 1;
			continue;
		}
		while (p[len] && p[len] != '\\')
			len++;
		save = p[len];
		p[len] = '\0';
		str_fold(p);
		p[len] = save;
		p += len;
	}
}

#define REGEX_MAX_WEIGHT	20000	/* nodes */
#define REGEX_MAX_NULLABLE	256	/* nodes that may match nothing */

struct re_weight {
	size_t	w;	/* nodes */
	size_t	nw;	/* of which may match the empty string */
};

/* A group being read: its alternatives so far, and the one being read. */
struct re_group {
	struct re_weight acc;	/* all its alternatives */
	size_t	hard;		/* atoms of this alternative that cannot match
				 * the empty string */
	int	empty;		/* an earlier alternative may match nothing */
};

/* Appends an atom to the group's current alternative. */
static void
re_atom(struct re_group *g, struct re_weight *last, size_t w, size_t nw)
{
	last->w = w;
	last->nw = nw;
	g->acc.w += w;
	g->acc.nw += nw;
	if (nw < w)
		g->hard++;
}

/* Ends the group's current alternative (at | or at its end). */
static void
re_alternative(struct re_group *g)
{
	g->empty |= g->hard == 0;
	g->hard = 0;
}

/* Adds k copies of atom to the group; 0 past the limits. */
static int
re_copies(struct re_group *g, struct re_weight *atom, size_t k)
{
	if (k > REGEX_MAX_WEIGHT || (atom->w && k > REGEX_MAX_WEIGHT / atom->w))
		return 0;
	g->acc.w += atom->w * k;
	g->acc.nw += atom->nw * k;
	atom->w += atom->w * k;
	atom->nw += atom->nw * k;
	return g->acc.w <= REGEX_MAX_WEIGHT && g->acc.nw <= REGEX_MAX_NULLABLE;
}

/* The atom may now match nothing (after *, ? or {0,…}). */
static void
re_nullable(struct re_group *g, struct re_weight *atom)
{
	if (atom->nw < atom->w)
		g->hard--;
	g->acc.nw += atom->w - atom->nw;
	atom->nw = atom->w;
}

/*
 * Whether glibc's regcomp can compile re in bounded memory and time. It
 * copies an atom for every + and bound, copies the copies when bounds
 * nest, and its epsilon closures grow with the square of the nodes that
 * may match nothing: "a+++…", "((a?){99}){99}", "((a|){99}){99}" or
 * "((\b){99}){99}" take gigabytes or minutes. This estimates both counts,
 * an atom weighing 1, a group its contents and a node for each |, a
 * quantifier multiplying the atom before it. What may match nothing:
 * anchors (^, $, \b, \<, …) and back-references; an atom under *, ? or
 * {0,…}; a group with an alternative made only of such (or empty). A
 * loop (*, +, {n,}) around something that may match nothing, as in
 * "(a?)*" or "((\b|a)*){20}", is refused outright: its closures grow
 * exponentially with the copies, and "a*" says the same as "(a?)*".
 */
static int
regex_ok(const char *re)
{
	struct re_group stack[64], g = { { 0, 0 }, 0, 0 };
	struct re_weight last = { 0, 0 };
	size_t depth = 0;
	const char *p = re;

	while (*p) {
		long lo = 0, hi;
		int loop = 0;	/* a quantifier without bound, on last */
		int empty = last.w > 0 && last.nw == last.w;

		switch (*p) {
		case '(':
			if (depth == sizeof(stack) / sizeof(stack[0]))
				return 0;
			stack[depth++] = g;
			memset(&g, 0, sizeof(g));
			memset(&last, 0, sizeof(last));
			p++;
			continue;
		case ')': {
			struct re_weight grp = g.acc;

			re_alternative(&g);
			if (grp.w == 0)		/* "()" */
				grp.w = 1;
			if (g.empty)
				grp.nw = grp.w;
			if (depth)
				g = stack[--depth];
			re_atom(&g, &last, grp.w, grp.nw);
			p++;
			break;
		}
		case '|':
			re_alternative(&g);
			g.acc.w++;
			g.acc.nw++;
			memset(&last, 0, sizeof(last));
			p++;
			continue;
		case '?':
			re_nullable(&g, &last);
			p++;
			break;
		case '*':
			loop = 1;
			re_nullable(&g, &last);
			p++;
			break;
		case '+':
			loop = 1;
			p++;
			if (!re_copies(&g, &last, 1))
				return 0;
			break;
		case '{':
			p++;
			while (*p >= '0' && *p <= '9' && lo < 100000)
				lo = lo * 10 + (*p++ - '0');
			hi = lo;
			if (*p == ',') {
				p++;
				loop = *p == '}';
				hi = loop ? lo + 1 : 0;
				while (*p >= '0' && *p <= '9' && hi < 100000)
					hi = hi * 10 + (*p++ - '0');
			}
			if (*p == '}')
				p++;
			if (lo == 0)
				re_nullable(&g, &last);
			if (hi > 1 && !re_copies(&g, &last, (size_t)hi - 1))
				return 0;
			break;
		case '[':
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' ||
				    p[1] == '=')) {
					const char *e = strstr(p + 2, ":]");

					p = e ? e + 2 : p + 1;
				} else
					p++;
			}
			if (*p)
				p++;
			re_atom(&g, &last, 1, 0);
			break;
		case '^':
		case '$':
			p++;
			re_atom(&g, &last, 1, 1);
			break;
		case '\\': {
			int a = p[1] && strchr("bB<>`'123456789", p[1]) != NULL;

			re_atom(&g, &last, 1, a);
			p += p[1] ? 2 : 1;
			break;
		}
		default:
			p++;
			re_atom(&g, &last, 1, 0);
			break;
		}
		if (loop && empty)
			return 0;
		if (g.acc.w > REGEX_MAX_WEIGHT || g.acc.nw > REGEX_MAX_NULLABLE)
			return 0;
	}
	return 1;
}

/* Checks the arguments per test and prepares values for matching. */
static int
test_finish(struct parser *p, struct test *t, struct list *pos, size_t npos,
    int line, int col)
{
	static const char *const addr_names[] = { "from", "to", "cc", NULL };
	static const char *const env_names[] = { "from", "to", NULL };
	static const char *const att_names[] = { "name", "type", NULL };
	struct list *vals = npos ? &pos[npos - 1] : NULL;

	if (takes_names(t->kind) && npos == 2) {
		for (size_t i = 0; i < pos[0].n; i++)
			list_push(&t->names, &t->nnames, str_lower(pos[0].v[i]));
		free(pos[0].v);
		pos[0].v = NULL;
		pos[0].n = 0;
	} else if (npos == 2)
		return error_at(p, pos[1].line, pos[1].col, "too many arguments");
	if (t->kind == TEST_EXISTS) {
		if (npos == 1) {
			for (size_t i = 0; i < vals->n; i++)
				list_push(&t->names, &t->nnames,
				    str_lower(vals->v[i]));
			free(vals->v);
			vals->v = NULL;
			vals->n = 0;
		}
		if (t->nnames == 0)
			return error_at(p, line, col, "exists needs a header "
			    "name (as in exists \"X-Priority\")");
		return 0;
	}
	if (t->kind == TEST_FIELD) {
		if (t->nnames != 1 || npos != 2)
			return error_at(p, line, col, "field needs the field's "
			    "name and a value (field \"order\" :is \"4711\")");
		if (p->conf && conf_field_by_name(p->conf, t->names[0]) == NULL)
			return error_at(p, pos[0].line, pos[0].col, "unknown "
			    "field \"%s\" (no [field %s] in %s)", t->names[0],
			    t->names[0], p->conf->path ? p->conf->path :
			    "the configuration");
	}
	if (t->kind == TEST_BODY && t->nnames) {
		if (t->nnames != 1 || strcmp(t->names[0], "new") != 0)
			return error_at(p, line, col, "body takes :new (what "
			    "the mail adds, without its quote), not \":%s\"",
			    t->names[t->nnames - 1]);
		t->which = 1;
	} else if (t->nnames && !takes_names(t->kind))
		return error_at(p, line, col, "unknown tag \":%s\"", t->names[0]);
	if (t->kind == TEST_ADDRESS && !name_in(t, addr_names))
		return error_at(p, line, col, "address reads :from, :to and "
		    ":cc, not \"%s\"", t->names[0]);
	if (t->kind == TEST_ENVELOPE && (t->nnames != 1 ||
	    !name_in(t, env_names)))
		return error_at(p, line, col, "envelope needs one of :from or "
		    ":to");
	if (t->kind == TEST_ATTACHMENT && (t->nnames > 1 ||
	    !name_in(t, att_names)))
		return error_at(p, line, col, "attachment reads :name or :type");
	if ((t->kind == TEST_HEADER || t->kind == TEST_ADDRESS) &&
	    t->nnames == 0)
		return error_at(p, line, col, "which header? (as in header "
		    ":subject :contains \"x\")");
	if (t->kind == TEST_ENVELOPE)
		t->which = strcmp(t->names[0], "to") == 0;
	if (t->kind == TEST_ATTACHMENT)
		t->which = t->nnames && strcmp(t->names[0], "type") == 0;
	if (vals == NULL || vals->n == 0)
		return error_at(p, line, col, "missing the value to compare with");
	if (t->kind == TEST_AGE) {
		if (t->match != M_OVER && t->match != M_UNDER)
			return error_at(p, line, col, "age needs :over or :under");
		if (vals->n != 1 || str_to_duration(vals->v[0], 0, &t->secs) !=
		    TK_OK)
			return error_at(p, vals->line, vals->col, "bad duration "
			    "(want a number and m, h, d or w, like 7d)");
		return 0;
	}
	if (t->kind == TEST_HISTORY) {
		long long v;

		if (t->match == M_WITHIN) {
			if (vals->n != 1 || str_to_duration(vals->v[0], 0,
			    &t->secs) != TK_OK || t->secs <= 0)
				return error_at(p, vals->line, vals->col, "bad "
				    "duration (want a number and m, h, d or w, "
				    "like 14d)");
		} else if (t->match == M_OVER || t->match == M_UNDER) {
			if (vals->n != 1 || str_to_ll(vals->v[0], 0, 1000000,
			    &v) != TK_OK)
				return error_at(p, vals->line, vals->col, "bad "
				    "count (want a number of tickets, like 2)");
			t->secs = v;
		} else
			return error_at(p, line, col, "history needs :within "
			    "DURATION, :over N or :under N");
		p->rs->history = 1;
		return 0;
	}
	if (t->match == M_WITHIN)
		return error_at(p, line, col, ":within goes with history");
	if (t->match == M_OVER || t->match == M_UNDER)
		return error_at(p, line, col, ":over and :under go with age "
		    "and history");
	t->values = vals->v;
	t->nvalues = vals->n;
	vals->v = NULL;
	vals->n = 0;
	if (t->match == M_REGEX) {
		/* Case-insensitive regexes match folded text with a folded
		 * pattern: faster than REG_ICASE and the same folding as the
		 * other match types. An escaped letter (\\S, \\W) keeps its
		 * case, it is an operator. */
		if (!t->casesens)
			for (size_t i = 0; i < t->nvalues; i++)
				fold_pattern(t->values[i]);
		t->re = xcalloc(t->nvalues, sizeof(*t->re));
		for (; t->nre < t->nvalues; t->nre++) {
			int rc;

			if (!regex_ok(t->values[t->nre]))
				return error_at(p, pos[npos - 1].line,
				    pos[npos - 1].col, "regex \"%s\" is too "
				    "complex (nested or stacked repetitions, "
				    "or one of what may match nothing)",
				    t->values[t->nre]);
			rc = regcomp(&t->re[t->nre], t->values[t->nre],
			    REG_EXTENDED | REG_NOSUB);

			if (rc != 0) {
				char msg[128];

				regerror(rc, &t->re[t->nre], msg, sizeof(msg));
				return error_at(p, pos[npos - 1].line,
				    pos[npos - 1].col, "bad regex \"%s\": %s",
				    t->values[t->nre], msg);
			}
		}
	} else if (!t->casesens)
		for (size_t i = 0; i < t->nvalues; i++)
			str_fold(t->values[i]);
	return 0;
}

static struct test *parse_test(struct parser *p, int depth);


static struct test *
parse_group(struct parser *p, struct test *t, int depth)
{
	next(p);
	if (expect(p, T_LPAREN, "'('") < 0)
		goto fail;
	for (;;) {
		struct test *kid = parse_test(p, depth + 1);

		if (kid == NULL)
			goto fail;
		t->kids = xreallocarray(t->kids, t->nkids + 1, sizeof(*t->kids));
		t->kids[t->nkids++] = kid;
		if (p->tok.type == T_RPAREN)
			break;
		if (expect(p, T_COMMA, "',' or ')'") < 0)
			goto fail;
	}
	next(p);
	return t;
fail:
	rules_test_free(t);
	return NULL;
}

static struct test *
parse_test(struct parser *p, int depth)
{
	struct test *t;
	struct list pos[2] = { { 0 } };
	size_t npos = 0, i;
	int line = p->tok.line, col = p->tok.col, rc = 0;

	if (depth > RULES_MAX_DEPTH) {
		error(p, "tests nested too deep");
		return NULL;
	}
	if (p->tok.type != T_WORD) {
		error(p, "expected a test, found %s", found(p));
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	if (is_kw(p, "allof") || is_kw(p, "anyof")) {
		t->kind = is_kw(p, "allof") ? TEST_ALLOF : TEST_ANYOF;
		return parse_group(p, t, depth);
	}
	if (is_kw(p, "not")) {
		t->kind = TEST_NOT;
		next(p);
		t->kids = xcalloc(1, sizeof(*t->kids));
		if ((t->kids[0] = parse_test(p, depth + 1)) == NULL) {
			rules_test_free(t);
			return NULL;
		}
		t->nkids = 1;
		return t;
	}
	if (is_kw(p, "true") || is_kw(p, "false")) {
		t->kind = is_kw(p, "true") ? TEST_TRUE : TEST_FALSE;
		next(p);
		return t;
	}
	for (i = 0; i < sizeof(test_names) / sizeof(test_names[0]); i++)
		if (is_kw(p, test_names[i].name))
			break;
	if (i == sizeof(test_names) / sizeof(test_names[0])) {
		error(p, "unknown test \"%s\"", p->tok.text);
		free(t);
		return NULL;
	}
	t->kind = test_names[i].kind;
	next(p);
	while (rc == 0 && (p->tok.type == T_TAG || p->tok.type == T_STRING ||
	    p->tok.type == T_LBRACKET ||
	    (p->tok.type == T_WORD && !is_kw(p, "then")))) {
		if (p->tok.type != T_TAG) {
			if (npos == 2)
				rc = error(p, "too many arguments");
			else
				rc = take_list(p, &pos[npos++]);
			continue;
		}
		for (i = 0; i < sizeof(match_tags) / sizeof(match_tags[0]); i++)
			if (strcmp(p->tok.text, match_tags[i].name) == 0)
				break;
		if (i < sizeof(match_tags) / sizeof(match_tags[0]))
			t->match = match_tags[i].m;
		else if (strcmp(p->tok.text, "localpart") == 0)
			t->part = AP_LOCALPART;
		else if (strcmp(p->tok.text, "domain") == 0)
			t->part = AP_DOMAIN;
		else if (strcmp(p->tok.text, "all") == 0)
			t->part = AP_ALL;
		else if (strcmp(p->tok.text, "case") == 0)
			t->casesens = 1;
		else {
			list_push(&t->names, &t->nnames, p->tok.text);
			p->tok.text = NULL;
		}
		next(p);
	}
	if (t->part != AP_ALL && t->kind != TEST_ADDRESS &&
	    t->kind != TEST_ENVELOPE && rc == 0)
		rc = error_at(p, line, col, ":localpart and :domain go with "
		    "address and envelope");
	if (rc == 0)
		rc = test_finish(p, t, pos, npos, line, col);
	for (i = 0; i < 2; i++)
		list_free(pos[i].v, pos[i].n);
	if (rc < 0) {
		rules_test_free(t);
		return NULL;
	}
	return t;
}

/* ---- actions ---- */

static int
template_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	return 1;
}

static int
skill_known(const struct tk_conf *c, const char *skill)
{
	for (size_t i = 0; i < c->nagents; i++)
		for (size_t k = 0; k < c->agents[i].nskills; k++)
			if (strcasecmp(c->agents[i].skills[k], skill) == 0)
				return 1;
	return 0;
}

static const struct { const char *word; enum rules_act kind; int arg; }
action_names[] = {
	{ "set", ACT_SET, 1 }, { "tag", ACT_TAG, 1 }, { "untag", ACT_UNTAG, 1 },
	{ "assign", ACT_ASSIGN, 1 }, { "route", ACT_ROUTE, 1 },
	{ "autoreply", ACT_AUTOREPLY, 1 }, { "reply", ACT_REPLY, 1 },
	{ "csat", ACT_CSAT, 0 }, { "note", ACT_NOTE, 1 },
	{ "notify", ACT_NOTIFY, 1 }, { "webhook", ACT_WEBHOOK, 1 },
	{ "stop", ACT_STOP, 0 }, { "sla", ACT_SLA, 1 },
	{ "extract", ACT_EXTRACT, 1 }, { "lookup", ACT_LOOKUP, 1 },
};

/* Frees what an action owns; a->re, when set with a->arg, is compiled
 * (action_check frees it when it does not compile). */
static void
action_clear(struct rules_action *a)
{
	if (a->re && a->arg)
		regfree(a->re);
	free(a->re);
	if (a->kind == ACT_FIELD || a->kind == ACT_EXTRACT)
		free((char *)a->field);
	free((char *)a->arg);
}

static int
is_action(const struct parser *p)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]);
	    i++)
		if (is_kw(p, action_names[i].word))
			return 1;
	return 0;
}

/* Checks an action's argument; 0 or an error already reported. */
static int
action_check(struct parser *p, struct rules_action *a, int line, int col)
{
	const struct tk_conf *c = p->conf;
	char *arg = (char *)a->arg;

	switch (a->kind) {
	case ACT_SET:
		if (strcmp(a->field, "status") == 0) {
			str_lower(arg);
			return status_value(p, arg, line, col);
		}
		if (strcmp(a->field, "priority") == 0) {
			str_lower(arg);
			if (!ticket_priority_valid(arg))
				return error_at(p, line, col, "unknown priority "
				    "\"%s\" (want low, normal, high or urgent)",
				    arg);
		}
		if (strcmp(a->field, "category") == 0 && c &&
		    conf_category(c, arg) == NULL)
			return error_at(p, line, col, "category \"%s\" is not "
			    "one of categories in %s", arg, c->path ? c->path :
			    "the configuration");
		return 0;
	case ACT_TAG:
	case ACT_UNTAG:
		str_fold(str_trim(arg));
		if (*arg == '\0' || strpbrk(arg, ", \t") != NULL)
			return error_at(p, line, col, "a tag is one word "
			    "without commas");
		return 0;
	case ACT_ASSIGN:
	case ACT_NOTIFY:
		if (c && conf_agent_by_name(c, arg) == NULL)
			return error_at(p, line, col, "unknown agent \"%s\" (no "
			    "[agent %s] in %s)", arg, arg,
			    c->path ? c->path : "the configuration");
		return 0;
	case ACT_ROUTE:
		if (c && !skill_known(c, arg))
			return error_at(p, line, col, "no agent has the skill "
			    "\"%s\"", arg);
		return 0;
	case ACT_AUTOREPLY:
	case ACT_REPLY:
		if (!template_name_ok(arg))
			return error_at(p, line, col, "bad template name \"%s\" "
			    "(letters, digits, '-', '_' and '.')", arg);
		return 0;
	case ACT_WEBHOOK:
		if (c && conf_webhook_by_name(c, arg) == NULL)
			return error_at(p, line, col, "unknown webhook \"%s\" "
			    "(no [webhook %s] in %s)", arg, arg,
			    c->path ? c->path : "the configuration");
		return 0;
	case ACT_NOTE:
		str_oneline(arg);
		return 0;
	case ACT_LOOKUP:
		if (c && conf_lookup_by_name(c, arg) == NULL)
			return error_at(p, line, col, "unknown lookup \"%s\" (no "
			    "[lookup %s] in %s)", arg, arg,
			    c->path ? c->path : "the configuration");
		return 0;
	case ACT_EXTRACT:
		if (a->re) {
			int rc;

			if (!regex_ok(arg)) {
				free(a->re);
				a->re = NULL;
				return error_at(p, line, col, "regex \"%s\" is "
				    "too complex (nested or stacked "
				    "repetitions, or one of what may match "
				    "nothing)", arg);
			}
			if ((rc = regcomp(a->re, arg, REG_EXTENDED |
			    REG_ICASE)) != 0) {
				char msg[128];

				regerror(rc, a->re, msg, sizeof(msg));
				free(a->re);	/* not compiled: no regfree */
				a->re = NULL;
				return error_at(p, line, col, "bad regex \"%s\": "
				    "%s", arg, msg);
			}
		} else if (*arg == '\0')
			return error_at(p, line, col, "an empty label");
		return 0;
	case ACT_FIELD: {
		const struct conf_field *f = c ? conf_field_by_name(c,
		    a->field) : NULL;
		const char *why;
		char *norm;

		if (f == NULL)
			return 0;
		if ((why = conf_field_value(f, arg, &norm)) != NULL)
			return error_at(p, line, col, "field \"%s\": %s: \"%s\"",
			    a->field, why, arg);
		free(arg);
		a->arg = norm;
		return 0;
	}
	default:
		return 0;
	}
}

static int
parse_action(struct parser *p, struct rule *r)
{
	struct rules_action a = { 0 };
	char *arg = NULL;
	size_t i;
	int line, col;

	a.file = p->file;
	a.line = p->tok.line;
	a.col = p->tok.col;
	if (p->tok.type != T_WORD)
		return error(p, "expected an action, found %s", found(p));
	for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (is_kw(p, action_names[i].word))
			break;
	if (i == sizeof(action_names) / sizeof(action_names[0]))
		return error(p, "unknown action \"%s\"", p->tok.text);
	a.kind = action_names[i].kind;
	next(p);
	if ((a.kind == ACT_SET && is_kw(p, "field")) || a.kind == ACT_EXTRACT) {
		char *name = NULL;

		if (a.kind == ACT_EXTRACT && !is_kw(p, "field"))
			return error(p, "expected \"field\" (as in extract field "
			    "\"order\" from \"Order number\"), found %s",
			    found(p));
		if (a.kind == ACT_SET)
			a.kind = ACT_FIELD;
		next(p);
		line = p->tok.line;
		col = p->tok.col;
		if (take_value(p, "the field's name", &name) < 0)
			return -1;
		str_lower(name);
		a.field = name;
		if (p->conf && conf_field_by_name(p->conf, name) == NULL) {
			error_at(p, line, col, "unknown field \"%s\" (no "
			    "[field %s] in %s)", name, name,
			    p->conf->path ? p->conf->path : "the configuration");
			free(name);
			return -1;
		}
		if (a.kind == ACT_EXTRACT) {
			int re = is_kw(p, "regex");

			if (!re && !is_kw(p, "from")) {
				error(p, "expected from \"LABEL\" or regex "
				    "\"PATTERN\", found %s", found(p));
				free(name);
				return -1;
			}
			if (re)
				a.re = xcalloc(1, sizeof(*a.re));
			next(p);
		}
	} else if (a.kind == ACT_SET) {
		if (is_kw(p, "status"))
			a.field = "status";
		else if (is_kw(p, "priority"))
			a.field = "priority";
		else if (is_kw(p, "category"))
			a.field = "category";
		else
			return error(p, "set takes status, priority, category or "
			    "field, not %s", found(p));
		next(p);
	} else if (a.kind == ACT_ROUTE) {
		if (!is_kw(p, "skill"))
			return error(p, "expected \"skill\" (as in route skill "
			    "\"complaints\"), found %s", found(p));
		next(p);
	}
	line = p->tok.line;
	col = p->tok.col;
	if (action_names[i].arg && take_value(p, "a value", &arg) < 0) {
		action_clear(&a);	/* a field's name, a regex not built */
		return -1;
	}
	a.arg = arg;
	if (arg && action_check(p, &a, line, col) < 0) {
		action_clear(&a);
		return -1;
	}
	if (p->tok.type != T_SEMI) {
		action_clear(&a);
		return error(p, "expected ';' after the action, found %s",
		    found(p));
	}
	next(p);
	r->acts = xreallocarray(r->acts, r->nacts + 1, sizeof(*r->acts));
	r->acts[r->nacts++] = a;
	return 0;
}

static int
parse_actions(struct parser *p, struct rule *r)
{
	while (p->tok.type != T_RBRACE)
		if (parse_action(p, r) < 0)
			return -1;
	next(p);
	return 0;
}

/* ---- rules ---- */

static void
rule_clear(struct rule *r)
{
	free(r->name);
	list_free(r->statuses, r->nstatuses);
	free((char *)r->timer.status);
	rules_test_free(r->test);
	for (size_t i = 0; i < r->nacts; i++)
		action_clear(&r->acts[i]);
	free(r->acts);
	memset(r, 0, sizeof(*r));
}

static const struct rule *
rule_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

static int
parse_rule(struct parser *p, struct rule *r)
{
	const struct rule *dup;
	int line = p->tok.line, col;

	r->macro = is_kw(p, "macro");
	r->file = (char *)p->file;
	r->line = line;
	next(p);
	col = p->tok.col;
	if (p->tok.type != T_STRING || *p->tok.text == '\0')
		return error(p, "expected the %s's name in quotes, found %s",
		    r->macro ? "macro" : "rule", found(p));
	r->name = p->tok.text;
	p->tok.text = NULL;
	if ((dup = rule_find(p->rs, r->name)) != NULL)
		return error_at(p, line, col, "duplicate name \"%s\" (first at "
		    "%s:%d)", r->name, dup->file, dup->line);
	next(p);
	if (expect(p, T_LBRACE, "'{'") < 0)
		return -1;
	if (!r->macro) {
		while (is_kw(p, "on")) {
			next(p);
			if (parse_event(p, r) < 0)
				return -1;
		}
		if (r->events == 0)
			return error(p, "expected \"on EVENT\" (as in on create), "
			    "found %s", found(p));
		if (is_kw(p, "if")) {
			next(p);
			if ((r->test = parse_test(p, 0)) == NULL)
				return -1;
		}
		if (is_kw(p, "then"))
			next(p);
		else if (r->test)
			return error(p, "expected \"then\" after the test, found "
			    "%s", found(p));
	}
	if (p->tok.type == T_LBRACE && !r->macro) {
		next(p);
		if (parse_actions(p, r) < 0)
			return -1;
		if (expect(p, T_RBRACE, "'}' closing the rule") < 0)
			return -1;
	} else if (parse_actions(p, r) < 0)
		return -1;
	if (r->nacts == 0)
		return error_at(p, line, 1, "\"%s\" has no actions", r->name);
	return 0;
}

/* ---- policies ---- */

static const struct sla_policy *
policy_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->npolicies; i++)
		if (strcmp(rs->policies[i].name, name) == 0)
			return &rs->policies[i];
	return NULL;
}

static void
policy_clear(struct sla_policy *pol)
{
	free(pol->name);
	free(pol->calendar);
	memset(pol, 0, sizeof(*pol));
}

/* Business time: m or h (a business day is as long as its calendar's). */
static int
business_time(struct parser *p, int64_t *secs)
{
	int line = p->tok.line, col = p->tok.col;
	const char *t = p->tok.type == T_WORD ? p->tok.text : "";
	size_t len = strlen(t);
	long long v;

	if (len > 0 && (t[len - 1] == 'd' || t[len - 1] == 'w'))
		return error(p, "business time is counted in hours or minutes "
		    "(16h, not 2d: a business day is as long as its calendar "
		    "says)");
	if (duration(p, &v) < 0)
		return -1;
	if (v > 100000LL * 3600)
		return error_at(p, line, col, "more than 100000 hours");
	*secs = v;
	return 0;
}

static int
parse_policy(struct parser *p, struct sla_policy *pol)
{
	const struct sla_policy *dup;
	int line = p->tok.line, col;

	pol->file = p->file;
	pol->line = line;
	next(p);
	col = p->tok.col;
	pol->col = col;
	if (p->tok.type != T_STRING || *p->tok.text == '\0')
		return error(p, "expected the policy's name in quotes, found %s",
		    found(p));
	pol->name = p->tok.text;
	p->tok.text = NULL;
	if ((dup = policy_find(p->rs, pol->name)) != NULL)
		return error_at(p, line, col, "duplicate policy \"%s\" (first "
		    "at %s:%d)", pol->name, dup->file, dup->line);
	next(p);
	if (expect(p, T_LBRACE, "'{'") < 0)
		return -1;
	while (p->tok.type != T_RBRACE) {
		int t;

		if (is_kw(p, "calendar")) {
			int cl = p->tok.line, cc;

			next(p);
			cc = p->tok.col;
			free(pol->calendar);
			pol->calendar = NULL;
			if (take_value(p, "a calendar's name", &pol->calendar) < 0)
				return -1;
			if (!template_name_ok(pol->calendar) ||
			    strchr(pol->calendar, '.') != NULL)
				return error_at(p, cl, cc, "bad calendar name "
				    "\"%s\" (letters, digits, '-' and '_': "
				    "the file is NAME.cal in calendars_dir)",
				    pol->calendar);
		} else if (is_kw(p, "warn")) {
			char *v = NULL;
			long long pc;
			size_t n;

			next(p);
			if (take_value(p, "a percentage (80%)", &v) < 0)
				return -1;
			n = strlen(v);
			if (n < 2 || v[n - 1] != '%' || (v[n - 1] = '\0',
			    str_to_ll(v, 1, 99, &pc)) != TK_OK) {
				free(v);
				return error(p, "warn takes a percentage of "
				    "the target from 1%% to 99%%, like 80%%");
			}
			free(v);
			pol->warn = (int)pc;
		} else if (p->tok.type == T_WORD &&
		    (t = sla_target_parse(p->tok.text)) >= 0) {
			next(p);
			if (business_time(p, &pol->target[t]) < 0)
				return -1;
		} else
			return error(p, "expected calendar, first-response, "
			    "next-response, resolution or warn, found %s",
			    found(p));
		if (expect(p, T_SEMI, "';'") < 0)
			return -1;
	}
	next(p);
	if (!pol->target[SLA_FIRST] && !pol->target[SLA_NEXT] &&
	    !pol->target[SLA_RESOLUTION])
		return error_at(p, line, 1, "policy \"%s\" has no targets",
		    pol->name);
	return 0;
}

/* After an error: on to the end of the rule, or the next one. */
static void
recover(struct parser *p)
{
	while (p->tok.type != T_EOF) {
		/* "rule" at the start of a line starts over even when a
		 * broken string or brace left the count wrong. */
		if ((p->brace == 0 || p->tok.col == 1) &&
		    (is_kw(p, "rule") || is_kw(p, "macro") ||
		    is_kw(p, "policy"))) {
			p->brace = 0;
			return;
		}
		if (p->tok.type == T_RBRACE && p->brace <= 1) {
			next(p);
			if (p->brace == 0)
				return;
			continue;
		}
		next(p);
	}
}

static const char *
intern_file(struct ruleset *rs, const char *file)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		if (strcmp(rs->files[i], file) == 0)
			return rs->files[i];
	list_push(&rs->files, &rs->nfiles, xstrdup(file));
	return rs->files[rs->nfiles - 1];
}

int
rules_parse(struct ruleset *rs, const char *file, const char *text,
    size_t len, const struct tk_conf *conf, struct buf *err)
{
	struct parser p = { 0 };

	p.rs = rs;
	p.conf = conf;
	p.err = err;
	p.file = intern_file(rs, file);
	rules_lex_init(&p.lx, p.file, text, len);
	rules_lex_next(&p.lx, &p.tok);
	while (p.tok.type != T_EOF) {
		struct rule r = { 0 };

		if (is_kw(&p, "policy")) {
			struct sla_policy pol = { 0 };

			if (parse_policy(&p, &pol) < 0) {
				policy_clear(&pol);
				recover(&p);
				continue;
			}
			rs->policies = xreallocarray(rs->policies,
			    rs->npolicies + 1, sizeof(*rs->policies));
			rs->policies[rs->npolicies++] = pol;
			continue;
		}
		if (!is_kw(&p, "rule") && !is_kw(&p, "macro")) {
			error(&p, "expected \"rule\", \"macro\" or \"policy\", "
			    "found %s", found(&p));
			next(&p);
			recover(&p);
			continue;
		}
		if (parse_rule(&p, &r) < 0) {
			rule_clear(&r);
			recover(&p);
			continue;
		}
		rs->rules = xreallocarray(rs->rules, rs->nrules + 1,
		    sizeof(*rs->rules));
		rs->rules[rs->nrules++] = r;
	}
	free(p.tok.text);
	return p.nerr;
}

void
rules_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	free(rs->timers);
	for (size_t i = 0; i < rs->npolicies; i++)
		policy_clear(&rs->policies[i]);
	free(rs->policies);
	list_free(rs->files, rs->nfiles);
	free(rs);
}
