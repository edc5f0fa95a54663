/*
 * NAME
 *	conf.c — tiketti.conf: one parameter table, postconf-like syntax.
 * DESCRIPTION
 *	Owns struct tk_conf. The file is "key = value" lines, '#' comments,
 *	and "[agent NAME]" sections. Every main parameter is one row of
 *	conf_params, so defaults, bounds and `tiketti config` come from the
 *	same place; defaults go through the same parser as file values.
 *	A loaded tk_conf is read-only and may be shared between threads.
 * DIAGNOSTICS
 *	conf_load() appends "file:line: message" lines to the caller's buffer
 *	and reports every error in the file, not just the first.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tiketti/conf.h"
#include "tiketti/lookup.h"
#include "tiketti/redact.h"
#include "tiketti/str.h"

enum param_type {
	P_STR,		/* a non-empty string */
	P_OPT,		/* a string, or empty for none (NULL) */
	P_LIST, P_LIST_LC, P_DAYS, P_SECS,
	P_SIZE,		/* a number of bytes */
	P_INT,		/* a plain number */
	P_ENUM,
	P_RETAIN,	/* Nd, Nw, Nm (months), Ny; 0: for ever */
	P_PAIR_SECS,	/* "WARN, CRIT" durations (tiketti check) */
	P_PAIR_INT,	/* "WARN, CRIT" counts */
};

struct param {
	const char	*name;
	enum param_type	 type;
	const char	*def;
	size_t		 off;		/* into struct tk_conf */
	size_t		 cnt_off;	/* list count, for P_LIST* */
	long long	 min, max;
	const char	*const *enums;	/* P_ENUM values, index stored */
};

static const char *const tag_trust_values[] = { "participants", "any", NULL };
static const char *const yes_no[] = { "no", "yes", NULL };
static const char *const auth_values[] = { "password", "oauth2", NULL };

#define OFF(f) offsetof(struct tk_conf, f)
static const struct param conf_params[] = {
	{ "database", P_STR, "tiketti.db", OFF(database), 0, 0, 0, NULL },
	{ "mailboxes", P_LIST_LC, "", OFF(mailboxes), OFF(nmailboxes), 0, 0,
	    NULL },
	{ "ticket_prefix", P_STR, "Ticket", OFF(ticket_prefix), 0, 0, 0, NULL },
	{ "tag_trust", P_ENUM, "participants", OFF(tag_trust), 0, 0, 0,
	    tag_trust_values },
	{ "followup_after", P_DAYS, "28d", OFF(followup_after), 0, 0,
	    3650LL * 86400, NULL },
	{ "fallback_charsets", P_LIST_LC,
	    "utf-8, windows-1252, windows-1251, iso-8859-15",
	    OFF(fallback_charsets), OFF(nfallback_charsets), 0, 0, NULL },
	{ "busy_timeout", P_SECS, "30s", OFF(busy_timeout), 0, 0, 3600, NULL },
	{ "message_size_limit", P_SIZE, "52428800", OFF(message_size_limit), 0,
	    1024, 1LL << 34, NULL },
	{ "rules_dir", P_STR, SYSCONFDIR "/tiketti/rules", OFF(rules_dir), 0,
	    0, 0, NULL },
	{ "templates_dir", P_STR, SYSCONFDIR "/tiketti/templates",
	    OFF(templates_dir), 0, 0, 0, NULL },
	{ "calendars_dir", P_STR, SYSCONFDIR "/tiketti/calendars",
	    OFF(calendars_dir), 0, 0, 0, NULL },
	{ "sla_policy", P_OPT, "", OFF(sla_policy), 0, 0, 0, NULL },
	{ "forward_subject", P_OPT, "", OFF(forward_subject), 0, 0, 0, NULL },
	{ "form_senders", P_LIST_LC, "", OFF(form_senders), OFF(nform_senders),
	    0, 0, NULL },
	{ "form_requester_field", P_OPT, "", OFF(form_requester_field), 0, 0,
	    0, NULL },
	{ "close_after", P_DAYS, "4d", OFF(close_after), 0, 60,
	    3650LL * 86400, NULL },
	{ "history_age", P_DAYS, "1d", OFF(history_age), 0, 0,
	    36500LL * 86400, NULL },
	/* Privacy. */
	{ "redact", P_OPT, "", OFF(redact_spec), 0, 0, 0, NULL },
	/* tiketti check: warning and critical thresholds. */
	{ "check_tick", P_PAIR_SECS, "5m, 15m", OFF(check_tick[0]),
	    OFF(check_tick[1]), 0, 0, NULL },
	{ "check_poll", P_PAIR_SECS, "15m, 1h", OFF(check_poll[0]),
	    OFF(check_poll[1]), 0, 0, NULL },
	{ "check_outbox", P_PAIR_INT, "1, 10", OFF(check_outbox[0]),
	    OFF(check_outbox[1]), 0, 0, NULL },
	{ "check_milter", P_ENUM, "no", OFF(check_milter), 0, 0, 0, yes_no },
	{ "retention", P_RETAIN, "0", OFF(retention), 0, 0, 0, NULL },
	/* Sending (deliver.c) and mail manners (automate.c). */
	{ "smtp_url", P_OPT, "", OFF(smtp_url), 0, 0, 0, NULL },
	{ "smtp_starttls", P_ENUM, "yes", OFF(smtp_starttls), 0, 0, 0, yes_no },
	{ "smtp_user", P_OPT, "", OFF(smtp_user), 0, 0, 0, NULL },
	{ "smtp_password_file", P_OPT, "", OFF(smtp_password_file), 0, 0, 0,
	    NULL },
	{ "smtp_ca_file", P_OPT, "", OFF(smtp_ca_file), 0, 0, 0, NULL },
	{ "smtp_auth", P_ENUM, "password", OFF(smtp_auth), 0, 0, 0,
	    auth_values },
	{ "smtp_oauth_account", P_OPT, "", OFF(smtp_oauth_account), 0, 0, 0,
	    NULL },
	{ "smtp_timeout", P_SECS, "60s", OFF(smtp_timeout), 0, 1, 3600, NULL },
	{ "webhook_timeout", P_SECS, "10s", OFF(webhook_timeout), 0, 1, 600,
	    NULL },
	{ "outbox_max_age", P_DAYS, "2d", OFF(outbox_max_age), 0, 60,
	    365LL * 86400, NULL },
	{ "autoreply_limit", P_INT, "3", OFF(autoreply_limit), 0, 0, 1000000,
	    NULL },
	{ "autoreply_window", P_SECS, "24h", OFF(autoreply_window), 0, 60,
	    365LL * 86400, NULL },
	{ "bounce_block", P_DAYS, "60d", OFF(bounce_block), 0, 0,
	    3650LL * 86400, NULL },
	{ "secret", P_OPT, "", OFF(secret), 0, 0, 0, NULL },
	{ "assign_mail", P_ENUM, "yes", OFF(assign_mail), 0, 0, 0, yes_no },
	{ "assign_history", P_INT, "5", OFF(assign_history), 0, 0, 100, NULL },
	{ "attach_max", P_SIZE, "10485760", OFF(attach_max), 0, 0, 1LL << 30,
	    NULL },
	{ "ooo_away", P_SECS, "1d", OFF(ooo_away), 0, 3600, 365LL * 86400,
	    NULL },
	{ "reroute_after", P_SECS, "2h", OFF(reroute_after), 0, 0,
	    30LL * 86400, NULL },
	{ "csat_url", P_OPT, "", OFF(csat_url), 0, 0, 0, NULL },
	/* The milter (milter.c). */
	{ "milter_socket", P_STR, "inet:8891@127.0.0.1",
	    OFF(milter_socket), 0, 0, 0, NULL },
	{ "milter_user", P_OPT, "tiketti", OFF(milter_user), 0, 0, 0, NULL },
	{ "milter_pid_file", P_OPT, "/run/tiketti/milter.pid",
	    OFF(milter_pid_file), 0, 0, 0, NULL },
	{ "milter_spool_threshold", P_SIZE, "1048576",
	    OFF(milter_spool_threshold), 0, 4096, 1LL << 34, NULL },
	{ "milter_tag_subject", P_ENUM, "yes", OFF(milter_tag_subject), 0, 0, 0,
	    yes_no },
	/* Agent authentication (classify.c) and command values (ticket.c). */
	{ "trusted_relays", P_LIST, "", OFF(trusted_relays),
	    OFF(ntrusted_relays), 0, 0, NULL },
	{ "trusted_authserv_id", P_OPT, "", OFF(trusted_authserv_id), 0, 0, 0,
	    NULL },
	{ "categories", P_LIST, "", OFF(categories), OFF(ncategories), 0, 0,
	    NULL },
};
#define NPARAMS (sizeof(conf_params) / sizeof(conf_params[0]))

static void
list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Splits on commas and white space; empty items are dropped. The array is
 * always NULL-terminated (GMime takes the charset list that way).
 */
static char **
list_parse(const char *s, size_t *n, int lower)
{
	char **v = NULL;
	size_t cnt = 0;
	const char *p = s;

	while (*p) {
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		v = xreallocarray(v, cnt + 1, sizeof(*v));
		v[cnt] = xstrndup(p, len);
		if (lower)
			str_lower(v[cnt]);
		cnt++;
		p += len;
	}
	v = xreallocarray(v, cnt + 1, sizeof(*v));
	v[cnt] = NULL;
	*n = cnt;
	return v;
}

/*
 * A retention: "0" (for ever), or a number of days (d), weeks (w),
 * months (m, a twelfth of 365.25 days: 24m is two years) or years (y).
 */
static int
retention_parse(const char *s, long long *out)
{
	static const struct { char unit; long long secs; } units[] = {
		{ 'd', 86400 }, { 'w', 7 * 86400 }, { 'm', 2629800 },
		{ 'y', 31557600 },
	};
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || errno || n < 0 || n > 1000 * 12)
		return -1;
	if (*end == '\0' && n == 0) {
		*out = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (end[0] == units[i].unit && end[1] == '\0') {
			*out = n * units[i].secs;
			return 0;
		}
	return -1;
}

int
conf_pair(const char *s, int counts, long long out[2])
{
	char *copy = xstrdup(s), *comma = strchr(copy, ',');
	int rv = -1;

	if (comma) {
		*comma = '\0';
		str_trim(copy);
		str_trim(comma + 1);
		if ((counts ? str_to_ll(copy, 0, INT64_MAX, &out[0]) :
		    str_to_duration(copy, 0, &out[0])) == TK_OK &&
		    (counts ? str_to_ll(comma + 1, 0, INT64_MAX, &out[1]) :
		    str_to_duration(comma + 1, 0, &out[1])) == TK_OK &&
		    out[1] >= out[0])
			rv = 0;
	}
	free(copy);
	return rv;
}

/* Sets one parameter from text; returns an error message or NULL. */
static const char *
param_set(struct tk_conf *c, const struct param *p, const char *val)
{
	char *base = (char *)c;
	long long v;

	switch (p->type) {
	case P_STR:
	case P_OPT: {
		char **dst = (char **)(void *)(base + p->off);

		if (*val == '\0' && p->type == P_STR)
			return "empty value";
		free(*dst);
		*dst = *val ? xstrdup(val) : NULL;
		return NULL;
	}
	case P_LIST:
	case P_LIST_LC: {
		char ***dst = (char ***)(void *)(base + p->off);
		size_t *cnt = (size_t *)(void *)(base + p->cnt_off);

		list_free(*dst, *cnt);
		*dst = list_parse(val, cnt, p->type == P_LIST_LC);
		return NULL;
	}
	case P_DAYS:
	case P_SECS:
		if (str_to_duration(val, p->type == P_DAYS, &v) != TK_OK)
			return "bad duration (want N, Ns, Nm, Nh, Nd or Nw)";
		break;
	case P_PAIR_SECS:
	case P_PAIR_INT: {
		long long pair[2];

		if (conf_pair(val, p->type == P_PAIR_INT, pair) != 0)
			return p->type == P_PAIR_INT ? "bad thresholds (want "
			    "WARN, CRIT: two numbers, the second not below "
			    "the first)" : "bad thresholds (want WARN, CRIT: "
			    "two durations, the second not below the first)";
		*(long long *)(void *)(base + p->off) = pair[0];
		*(long long *)(void *)(base + p->cnt_off) = pair[1];
		return NULL;
	}
	case P_RETAIN:
		if (retention_parse(val, &v) != 0)
			return "bad retention (want 0, Nd, Nw, Nm for months or "
			    "Ny)";
		break;
	case P_SIZE:
	case P_INT:
		if (str_to_ll(val, 0, INT64_MAX, &v) != TK_OK)
			return p->type == P_SIZE ?
			    "bad size (want a number of bytes)" :
			    "bad number";
		break;
	case P_ENUM:
		for (int i = 0; p->enums[i]; i++)
			if (strcasecmp(p->enums[i], val) == 0) {
				*(int *)(void *)(base + p->off) = i;
				return NULL;
			}
		return "bad value";
	}
	if (v < p->min || (p->max && v > p->max))
		return "value out of range";
	*(long long *)(void *)(base + p->off) = v;
	return NULL;
}

static const struct param *
param_find(const char *name)
{
	for (size_t i = 0; i < NPARAMS; i++)
		if (strcmp(conf_params[i].name, name) == 0)
			return &conf_params[i];
	return NULL;
}

static struct conf_agent *
agent_add(struct tk_conf *c, const char *name)
{
	struct conf_agent *a;

	c->agents = xreallocarray(c->agents, c->nagents + 1, sizeof(*c->agents));
	a = &c->agents[c->nagents++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	return a;
}

static const char *
agent_set(struct conf_agent *a, const char *key, const char *val)
{
	if (strcmp(key, "available") == 0) {
		if (strcasecmp(val, "yes") == 0)
			a->away = 0;
		else if (strcasecmp(val, "no") == 0)
			a->away = 1;
		else
			return "bad value (want yes or no)";
		return NULL;
	}
	if (strcmp(key, "address") == 0) {
		list_free(a->addresses, a->naddresses);
		a->addresses = list_parse(val, &a->naddresses, 1);
		return a->naddresses ? NULL : "empty value";
	}
	if (strcmp(key, "skills") == 0) {
		list_free(a->skills, a->nskills);
		a->skills = list_parse(val, &a->nskills, 1);
		return NULL;
	}
	if (strcmp(key, "deputy") == 0) {
		if (*val == '\0' || strcspn(val, " \t,") != strlen(val))
			return "bad deputy (want one agent's name)";
		free(a->deputy);
		a->deputy = xstrdup(val);
		return NULL;
	}
	if (strcmp(key, "max_open") == 0) {
		if (str_to_ll(val, 0, 1000000, &a->max_open) != TK_OK)
			return "bad max_open (want 0 to 1000000; 0: no cap)";
		return NULL;
	}
	if (strcmp(key, "lang") == 0) {
		if (*val == '\0' || strspn(val, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != strlen(val))
			return "bad lang (want a language tag: fi, en, sv-FI)";
		free(a->lang);
		a->lang = xstrdup(val);
		return NULL;
	}
	if (strcmp(key, "login") == 0) {
		if (*val == '\0' || strcspn(val, " \t,") != strlen(val))
			return "bad login (want one SASL login name)";
		free(a->login);
		a->login = xstrdup(val);
		return NULL;
	}
	return "unknown agent parameter";
}

static struct conf_mailbox *
mailbox_add(struct tk_conf *c, const char *address)
{
	struct conf_mailbox *m;

	c->mailbox_conf = xreallocarray(c->mailbox_conf, c->nmailbox_conf + 1,
	    sizeof(*c->mailbox_conf));
	m = &c->mailbox_conf[c->nmailbox_conf++];
	m->address = str_lower(xstrdup(address));
	m->retention = -1;
	return m;
}

static const char *
mailbox_set(struct conf_mailbox *m, const char *key, const char *val)
{
	if (strcmp(key, "retention") == 0)
		return retention_parse(val, &m->retention) ? "bad retention "
		    "(want 0, Nd, Nw, Nm for months or Ny)" : NULL;
	return "unknown mailbox parameter";
}

static const struct conf_mailbox *
mailbox_conf(const struct tk_conf *c, const char *address)
{
	for (size_t i = 0; address && i < c->nmailbox_conf; i++)
		if (strcasecmp(c->mailbox_conf[i].address, address) == 0)
			return &c->mailbox_conf[i];
	return NULL;
}

long long
conf_retention(const struct tk_conf *c, const char *mailbox)
{
	const struct conf_mailbox *m = mailbox_conf(c, mailbox);

	return m && m->retention >= 0 ? m->retention : c->retention;
}

static struct conf_field *
field_add(struct tk_conf *c, const char *name)
{
	struct conf_field *f;

	c->fields = xreallocarray(c->fields, c->nfields + 1, sizeof(*c->fields));
	f = &c->fields[c->nfields++];
	memset(f, 0, sizeof(*f));
	f->name = str_lower(xstrdup(name));
	return f;
}

static const char *
field_set(struct conf_field *f, const char *key, const char *val)
{
	static const char *const types[] = { "text", "number", "date", "enum",
	    NULL };

	if (strcmp(key, "type") == 0) {
		for (int i = 0; types[i]; i++)
			if (strcasecmp(types[i], val) == 0) {
				f->type = (enum conf_field_type)i;
				return NULL;
			}
		return "bad type (want text, number, date or enum)";
	}
	if (strcmp(key, "values") == 0) {
		list_free(f->values, f->nvalues);
		f->values = list_parse(val, &f->nvalues, 0);
		return f->nvalues ? NULL : "empty value";
	}
	return "unknown field parameter (type, values)";
}

const struct conf_field *
conf_field_by_name(const struct tk_conf *c, const char *name)
{
	for (size_t i = 0; name && i < c->nfields; i++)
		if (strcasecmp(c->fields[i].name, name) == 0)
			return &c->fields[i];
	return NULL;
}

const char *
conf_field_value(const struct conf_field *f, const char *in, char **out)
{
	char *v = str_trim(xstrdup(in));

	*out = NULL;
	switch (f->type) {
	case FIELD_NUMBER: {
		char *end;

		errno = 0;
		(void)strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno == ERANGE ||
		    strpbrk(v, "xXpPnN") != NULL) {
			free(v);
			return "not a number";
		}
		break;
	}
	case FIELD_DATE: {
		int y, m, d;
		char x;
		struct tm tm = { 0 };

		if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d,
		    &x) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
			free(v);
			return "not a date YYYY-MM-DD";
		}
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		tm.tm_hour = 12;
		if (timegm(&tm) == -1 || tm.tm_mday != d) {
			free(v);
			return "not a date YYYY-MM-DD";
		}
		break;
	}
	case FIELD_ENUM:
		for (size_t i = 0; i < f->nvalues; i++)
			if (strcasecmp(f->values[i], v) == 0) {
				free(v);
				*out = xstrdup(f->values[i]);
				return NULL;
			}
		free(v);
		return "not one of the field's values";
	case FIELD_TEXT:
		str_oneline(v);
		if (strlen(v) > 1000) {
			free(v);
			return "longer than 1000 bytes";
		}
		break;
	}
	*out = v;
	return NULL;
}

static struct conf_lookup *
lookup_add(struct tk_conf *c, const char *name)
{
	struct conf_lookup *l;

	c->lookups = xreallocarray(c->lookups, c->nlookups + 1,
	    sizeof(*c->lookups));
	l = &c->lookups[c->nlookups++];
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(name);
	l->timeout = 2;
	return l;
}

static const char *
lookup_set(struct conf_lookup *l, const char *key, const char *val)
{
	long long v;

	if (strcmp(key, "url") == 0) {
		if (strncmp(val, "http://", 7) != 0 &&
		    strncmp(val, "https://", 8) != 0)
			return "bad url (want http:// or https://)";
		free(l->url);
		l->url = xstrdup(val);
	} else if (strcmp(key, "method") == 0) {
		if (strcasecmp(val, "GET") != 0 && strcasecmp(val, "POST") != 0)
			return "bad method (want GET or POST)";
		l->post = strcasecmp(val, "POST") == 0;
	} else if (strcmp(key, "header") == 0) {
		const char *colon = strchr(val, ':');

		if (colon == NULL || colon == val || strpbrk(val, "\r\n"))
			return "bad header (want Name: value)";
		free(l->header);
		l->header = xstrdup(val);
	} else if (strcmp(key, "token_file") == 0) {
		free(l->token_file);
		l->token_file = xstrdup(val);
	} else if (strcmp(key, "timeout") == 0) {
		if (str_to_duration(val, 0, &v) != TK_OK || v < 1 || v > 60)
			return "bad timeout (1s to 60s)";
		l->timeout = v;
	} else if (strcmp(key, "cache") == 0) {
		if (str_to_duration(val, 0, &v) != TK_OK || v < 0 ||
		    v > 30LL * 86400)
			return "bad cache (a duration up to 30d; 0: none)";
		l->cache = v;
	} else if (strncmp(key, "field.", 6) == 0 && key[6]) {
		if (*val == '\0' || strlen(val) > 256)
			return "bad path (want a.b[0].c)";
		l->maps = xreallocarray(l->maps, l->nmaps + 1,
		    sizeof(*l->maps));
		l->maps[l->nmaps].field = str_lower(xstrdup(key + 6));
		l->maps[l->nmaps++].path = xstrdup(val);
	} else
		return "unknown lookup parameter (url, method, header, "
		    "token_file, timeout, cache, field.NAME)";
	return NULL;
}

const struct conf_lookup *
conf_lookup_by_name(const struct tk_conf *c, const char *name)
{
	for (size_t i = 0; name && i < c->nlookups; i++)
		if (strcmp(c->lookups[i].name, name) == 0)
			return &c->lookups[i];
	return NULL;
}

static struct conf_webhook *
webhook_add(struct tk_conf *c, const char *name)
{
	struct conf_webhook *w;

	c->webhooks = xreallocarray(c->webhooks, c->nwebhooks + 1,
	    sizeof(*c->webhooks));
	w = &c->webhooks[c->nwebhooks++];
	memset(w, 0, sizeof(*w));
	w->name = xstrdup(name);
	return w;
}

static const char *
webhook_set(struct conf_webhook *w, const char *key, const char *val)
{
	char **dst;

	if (strcmp(key, "url") == 0) {
		if (strncmp(val, "http://", 7) != 0 &&
		    strncmp(val, "https://", 8) != 0)
			return "bad url (want http:// or https://)";
		dst = &w->url;
	} else if (strcmp(key, "events") == 0) {
		static const char *const known[] = { "ticket.assigned",
		    "agent.away", "agent.back", "sla.warning", "sla.breach",
		    NULL };

		list_free(w->events, w->nevents);
		w->events = list_parse(val, &w->nevents, 1);
		for (size_t i = 0; i < w->nevents; i++) {
			size_t k = 0;

			while (known[k] && strcmp(known[k], w->events[i]) != 0)
				k++;
			if (known[k] == NULL)
				return "bad events (want ticket.assigned, "
				    "agent.away, agent.back, sla.warning, "
				    "sla.breach)";
		}
		return NULL;
	} else if (strcmp(key, "header") == 0) {
		const char *colon = strchr(val, ':');

		if (colon == NULL || colon == val ||
		    strcspn(val, " \t") < (size_t)(colon - val))
			return "bad header (want \"Name: value\")";
		dst = &w->header;
	} else
		return "unknown webhook parameter";
	free(*dst);
	*dst = xstrdup(val);
	return NULL;
}

static struct conf_account *
account_add(struct tk_conf *c, const char *name)
{
	struct conf_account *a;

	c->accounts = xreallocarray(c->accounts, c->naccounts + 1,
	    sizeof(*c->accounts));
	a = &c->accounts[c->naccounts++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->folder = xstrdup("INBOX");
	a->timeout = 60;
	a->idle_interval = 300;
	return a;
}

static const char *
account_set(struct conf_account *a, const char *key, const char *val)
{
	char **dst = NULL;

	if (strcmp(key, "port") == 0) {
		long long n;

		if (str_to_ll(val, 1, 65535, &n) != TK_OK)
			return "bad port (want 1 to 65535)";
		a->port = (int)n;
		return NULL;
	}
	if (strcmp(key, "timeout") == 0 || strcmp(key, "idle_interval") == 0) {
		long long n;

		if (str_to_ll(val, 1, 86400, &n) != TK_OK)
			return "bad number of seconds (want 1 to 86400)";
		*(key[0] == 't' ? &a->timeout : &a->idle_interval) = (int)n;
		return NULL;
	}
	if (strcmp(key, "tls") == 0) {
		if (strcmp(val, "imaps") == 0)
			a->tls = CONF_TLS_IMAPS;
		else if (strcmp(val, "starttls") == 0)
			a->tls = CONF_TLS_STARTTLS;
		else if (strcmp(val, "none") == 0)
			a->tls = CONF_TLS_NONE;
		else
			return "bad tls (want imaps, starttls or none)";
		return NULL;
	}
	if (strcmp(key, "allow_plaintext") == 0 ||
	    strcmp(key, "redact_mailbox") == 0 ||
	    strcmp(key, "sent_copy") == 0) {
		if (strcasecmp(val, "yes") != 0 && strcasecmp(val, "no") != 0)
			return "bad value (want yes or no)";
		*(key[0] == 'a' ? &a->allow_plaintext : key[0] == 'r' ?
		    &a->redact_mailbox : &a->sent_copy) =
		    strcasecmp(val, "yes") == 0;
		return NULL;
	}
	if (strcmp(key, "after") == 0) {
		free(a->move_to);
		a->move_to = NULL;
		if (strcmp(val, "keep") == 0)
			a->after = CONF_AFTER_KEEP;
		else if (strcmp(val, "seen") == 0)
			a->after = CONF_AFTER_SEEN;
		else if (strcmp(val, "delete") == 0)
			a->after = CONF_AFTER_DELETE;
		else if (strncmp(val, "move:", 5) == 0 && val[5] != '\0') {
			a->after = CONF_AFTER_MOVE;
			a->move_to = xstrdup(val + 5);
		} else
			return "bad after (want keep, seen, move:FOLDER or "
			    "delete)";
		return NULL;
	}
	if (strcmp(key, "auth") == 0) {
		if (strcmp(val, "password") == 0)
			a->auth = CONF_AUTH_PASSWORD;
		else if (strcmp(val, "oauth2") == 0)
			a->auth = CONF_AUTH_OAUTH2;
		else
			return "bad auth (want password or oauth2)";
		return NULL;
	}
	if (strcmp(key, "oauth_provider") == 0 && strcmp(val, "microsoft") != 0 &&
	    strcmp(val, "google") != 0)
		return "bad oauth_provider (want microsoft or google)";
	if (strcmp(key, "oauth_provider") == 0)
		dst = &a->oauth_provider;
	else if (strcmp(key, "oauth_tenant") == 0)
		dst = &a->oauth_tenant;
	else if (strcmp(key, "oauth_token_url") == 0)
		dst = &a->oauth_token_url;
	else if (strcmp(key, "oauth_device_url") == 0)
		dst = &a->oauth_device_url;
	else if (strcmp(key, "oauth_client_id") == 0)
		dst = &a->oauth_client_id;
	else if (strcmp(key, "oauth_client_secret_file") == 0)
		dst = &a->oauth_client_secret_file;
	else if (strcmp(key, "oauth_scope") == 0)
		dst = &a->oauth_scope;
	else if (strcmp(key, "sent_folder") == 0)
		dst = &a->sent_folder;
	else if (strcmp(key, "host") == 0)
		dst = &a->host;
	else if (strcmp(key, "user") == 0)
		dst = &a->user;
	else if (strcmp(key, "password_file") == 0)
		dst = &a->password_file;
	else if (strcmp(key, "folder") == 0)
		dst = &a->folder;
	else if (strcmp(key, "ca_file") == 0)
		dst = &a->ca_file;
	else if (strcmp(key, "mailbox") == 0)
		dst = &a->mailbox;
	else
		return "unknown account parameter";
	if (*val == '\0')
		return "empty value";
	free(*dst);
	*dst = xstrdup(val);
	if (dst == &a->mailbox)
		str_lower(*dst);
	return NULL;
}

/* What an account lacks or has wrong, reported after the whole file. */
/*
 * oauth_provider's endpoints and scope where the account sets none:
 * Microsoft 365 (IMAP and SMTP of Exchange Online, a refresh token) or
 * Google (the whole of Gmail).
 */
static void
account_presets(struct conf_account *a)
{
	const char *tenant = a->oauth_tenant ? a->oauth_tenant :
	    "organizations";

	if (a->oauth_provider == NULL)
		return;
	if (strcmp(a->oauth_provider, "microsoft") == 0) {
		if (a->oauth_token_url == NULL)
			a->oauth_token_url = xasprintf("https://login."
			    "microsoftonline.com/%s/oauth2/v2.0/token", tenant);
		if (a->oauth_device_url == NULL)
			a->oauth_device_url = xasprintf("https://login."
			    "microsoftonline.com/%s/oauth2/v2.0/devicecode",
			    tenant);
		if (a->oauth_scope == NULL)
			a->oauth_scope = xstrdup("https://outlook.office.com/"
			    "IMAP.AccessAsUser.All https://outlook.office.com/"
			    "SMTP.Send offline_access");
	} else {
		if (a->oauth_token_url == NULL)
			a->oauth_token_url = xstrdup(
			    "https://oauth2.googleapis.com/token");
		if (a->oauth_device_url == NULL)
			a->oauth_device_url = xstrdup(
			    "https://oauth2.googleapis.com/device/code");
		if (a->oauth_scope == NULL)
			a->oauth_scope = xstrdup("https://mail.google.com/");
	}
}

static void
account_check(const struct tk_conf *c, const struct conf_account *a,
    const char *file, struct buf *err)
{
	if (a->host == NULL)
		buf_printf(err, "%s: account \"%s\" has no host\n", file,
		    a->name);
	if (a->auth == CONF_AUTH_PASSWORD &&
	    (a->user == NULL || a->password_file == NULL))
		buf_printf(err, "%s: account \"%s\" needs user and "
		    "password_file\n", file, a->name);
	if (a->auth == CONF_AUTH_OAUTH2 && (a->user == NULL ||
	    a->oauth_client_id == NULL || a->oauth_token_url == NULL))
		buf_printf(err, "%s: account \"%s\": auth = oauth2 needs user, "
		    "oauth_client_id and oauth_token_url (or oauth_provider)\n",
		    file, a->name);
	{
		const char *u[] = { a->oauth_token_url, a->oauth_device_url };

		for (size_t i = 0; i < 2; i++)
			if (u[i] && strncmp(u[i], "https://", 8) != 0 &&
			    strncmp(u[i], "http://127.0.0.1", 16) != 0 &&
			    strncmp(u[i], "http://localhost", 16) != 0)
				buf_printf(err, "%s: account \"%s\": %s must "
				    "be https:// (plain http only on loopback)\n",
				    file, a->name, u[i]);
	}
	if (a->tls == CONF_TLS_NONE && !a->allow_plaintext)
		buf_printf(err, "%s: account \"%s\": tls = none sends the "
		    "password in clear (set allow_plaintext = yes to allow it)\n",
		    file, a->name);
	if (a->mailbox && !conf_is_mailbox(c, a->mailbox))
		buf_printf(err, "%s: account \"%s\": mailbox %s is not among "
		    "mailboxes\n", file, a->name, a->mailbox);
	if (a->sent_copy && a->mailbox == NULL)
		buf_printf(err, "%s: account \"%s\": sent_copy needs mailbox "
		    "(whose mail goes to its Sent folder)\n", file, a->name);
	if (a->redact_mailbox && c->redact == 0)
		buf_printf(err, "%s: account \"%s\": redact_mailbox needs "
		    "redact\n", file, a->name);
}

/*
 * An address or network ("192.0.2.1", "10.0.0.0/8", "2001:db8::/32") into
 * n (may be NULL): the family's bytes and the prefix length. -1 when it
 * is neither.
 */
struct cidr {
	int		family;
	unsigned char	addr[16];
	int		bits;
};

static int
cidr_parse(const char *text, struct cidr *n)
{
	struct cidr tmp;
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	long long bits;

	if (n == NULL)
		n = &tmp;
	if (strncasecmp(text, "IPv6:", 5) == 0) {
		text += 5;
		len -= 5;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->family = AF_INET, n->bits = 32;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->family = AF_INET6, n->bits = 128;
	else
		return -1;
	if (slash) {
		if (str_to_ll(slash + 1, 0, n->bits, &bits) != TK_OK)
			return -1;
		n->bits = (int)bits;
	}
	return 0;
}

int
conf_trusted_relay(const struct tk_conf *c, const char *ip)
{
	struct cidr a, net;

	if (ip == NULL || cidr_parse(ip, &a) < 0 || a.bits != (a.family ==
	    AF_INET ? 32 : 128))
		return 0;
	for (size_t i = 0; i < c->ntrusted_relays; i++) {
		int b, whole;

		if (cidr_parse(c->trusted_relays[i], &net) < 0 ||
		    net.family != a.family)
			continue;
		b = net.bits;
		whole = b / 8;
		if (memcmp(a.addr, net.addr, (size_t)whole) == 0 && (b % 8 == 0 ||
		    ((a.addr[whole] ^ net.addr[whole]) &
		    (0xff00 >> (b % 8))) == 0))
			return 1;
	}
	return 0;
}

static void
errf(struct buf *err, const char *file, int line, const char *msg,
    const char *what)
{
	buf_printf(err, "%s:%d: %s", file, line, msg);
	if (what)
		buf_printf(err, " \"%s\"", what);
	buf_addc(err, '\n');
}

static void
conf_parse(struct tk_conf *c, const char *file, char *text, struct buf *err)
{
	struct conf_agent *agent = NULL;
	struct conf_webhook *hook = NULL;
	struct conf_account *acct = NULL;
	struct conf_field *field = NULL;
	struct conf_lookup *look = NULL;
	struct conf_mailbox *mbox = NULL;
	int in_section = 0, lineno = 0;
	char *line = text, *next;

	for (; line && *line; line = next) {
		char *eq, *key, *val;
		const char *msg;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* A '#' starts a comment only at the start of a line. */
		str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']'), *sp;

			if (end == NULL || end[1] != '\0') {
				errf(err, file, lineno, "bad section header", NULL);
				continue;
			}
			*end = '\0';
			sp = line + 1 + strcspn(line + 1, " \t");
			if (*sp)
				*sp++ = '\0';
			str_trim(sp);
			in_section = 1;
			agent = NULL;
			hook = NULL;
			acct = NULL;
			field = NULL;
			look = NULL;
			mbox = NULL;
			if (strcmp(line + 1, "agent") != 0 &&
			    strcmp(line + 1, "webhook") != 0 &&
			    strcmp(line + 1, "account") != 0 &&
			    strcmp(line + 1, "field") != 0 &&
			    strcmp(line + 1, "lookup") != 0 &&
			    strcmp(line + 1, "mailbox") != 0)
				errf(err, file, lineno, "unknown section type",
				    line + 1);
			else if (*sp == '\0')
				errf(err, file, lineno, "section needs a name",
				    line + 1);
			else if (strcmp(line + 1, "mailbox") == 0) {
				if (mailbox_conf(c, sp))
					errf(err, file, lineno,
					    "duplicate mailbox", sp);
				else
					mbox = mailbox_add(c, sp);
			} else if (strcmp(line + 1, "lookup") == 0) {
				if (conf_lookup_by_name(c, sp))
					errf(err, file, lineno,
					    "duplicate lookup", sp);
				else
					look = lookup_add(c, sp);
			} else if (strcmp(line + 1, "field") == 0) {
				if (conf_field_by_name(c, sp))
					errf(err, file, lineno,
					    "duplicate field", sp);
				else if (strspn(sp, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
				    strlen(sp))
					errf(err, file, lineno, "a field's name "
					    "is letters, digits, '_' and '-'", sp);
				else
					field = field_add(c, sp);
			} else if (strcmp(line + 1, "account") == 0) {
				if (conf_account_by_name(c, sp))
					errf(err, file, lineno,
					    "duplicate account", sp);
				else
					acct = account_add(c, sp);
			} else if (strcmp(line + 1, "webhook") == 0) {
				if (conf_webhook_by_name(c, sp))
					errf(err, file, lineno,
					    "duplicate webhook", sp);
				else
					hook = webhook_add(c, sp);
			} else if (conf_agent_by_name(c, sp))
				errf(err, file, lineno, "duplicate agent", sp);
			else
				agent = agent_add(c, sp);
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			errf(err, file, lineno, "expected \"key = value\"", NULL);
			continue;
		}
		*eq = '\0';
		key = str_trim(line);
		val = str_trim(eq + 1);
		if (in_section) {
			if (agent && (msg = agent_set(agent, key, val)))
				errf(err, file, lineno, msg, key);
			if (hook && (msg = webhook_set(hook, key, val)))
				errf(err, file, lineno, msg, key);
			if (acct && (msg = account_set(acct, key, val)))
				errf(err, file, lineno, msg, key);
			if (field && (msg = field_set(field, key, val)))
				errf(err, file, lineno, msg, key);
			if (look && (msg = lookup_set(look, key, val)))
				errf(err, file, lineno, msg, key);
			if (mbox && (msg = mailbox_set(mbox, key, val)))
				errf(err, file, lineno, msg, key);
			continue;
		}
		{
			const struct param *p = param_find(key);

			if (p == NULL)
				errf(err, file, lineno, "unknown parameter", key);
			else if ((msg = param_set(c, p, val)))
				errf(err, file, lineno, msg, key);
		}
	}
	for (size_t i = 0; i < c->nagents; i++)
		if (c->agents[i].naddresses == 0)
			buf_printf(err, "%s: agent \"%s\" has no address\n",
			    file, c->agents[i].name);
	for (size_t i = 0; i < c->nwebhooks; i++)
		if (c->webhooks[i].url == NULL)
			buf_printf(err, "%s: webhook \"%s\" has no url\n",
			    file, c->webhooks[i].name);
	{
		char why[128];

		if (redact_parse(c->redact_spec, &c->redact, why,
		    sizeof(why)) != 0)
			buf_printf(err, "%s: redact: %s\n", file, why);
	}
	for (size_t i = 0; i < c->naccounts; i++) {
		account_presets(&c->accounts[i]);
		account_check(c, &c->accounts[i], file, err);
	}
	if (c->smtp_auth == CONF_AUTH_OAUTH2) {
		const struct conf_account *a = c->smtp_oauth_account ?
		    conf_account_by_name(c, c->smtp_oauth_account) : NULL;

		if (a == NULL || a->auth != CONF_AUTH_OAUTH2)
			buf_printf(err, "%s: smtp_auth = oauth2 needs "
			    "smtp_oauth_account, an [account] with auth = "
			    "oauth2 whose grant sends\n", file);
	}
	for (size_t i = 0; i < c->nlookups; i++) {
		const struct conf_lookup *l = &c->lookups[i];

		const char *why;

		if (l->url == NULL)
			buf_printf(err, "%s: lookup \"%s\" has no url\n", file,
			    l->name);
		else if ((why = lookup_url_check(l->url)) != NULL)
			buf_printf(err, "%s: lookup \"%s\": url: %s\n", file,
			    l->name, why);
		for (size_t k = 0; k < l->nmaps; k++)
			if (conf_field_by_name(c, l->maps[k].field) == NULL)
				buf_printf(err, "%s: lookup \"%s\": no [field "
				    "%s] for field.%s\n", file, l->name,
				    l->maps[k].field, l->maps[k].field);
	}
	for (size_t i = 0; i < c->nfields; i++)
		if ((c->fields[i].type == FIELD_ENUM) != (c->fields[i].nvalues > 0))
			buf_printf(err, "%s: field \"%s\": values go with type "
			    "= enum, and an enum needs them\n", file,
			    c->fields[i].name);
	for (size_t i = 0; i < c->nagents; i++) {
		const char *dep = c->agents[i].deputy;

		if (dep && (conf_agent_by_name(c, dep) == NULL ||
		    strcasecmp(dep, c->agents[i].name) == 0))
			buf_printf(err, "%s: agent \"%s\": deputy \"%s\" is no "
			    "other [agent NAME]\n", file, c->agents[i].name, dep);
	}
	for (size_t i = 0; i < c->ntrusted_relays; i++)
		if (cidr_parse(c->trusted_relays[i], NULL) < 0)
			buf_printf(err, "%s: trusted_relays: bad address or "
			    "network \"%s\" (want e.g. 192.0.2.10, 10.1.0.0/16 "
			    "or 2001:db8::/32)\n", file, c->trusted_relays[i]);
	if (c->smtp_url && strncmp(c->smtp_url, "smtp://", 7) != 0 &&
	    strncmp(c->smtp_url, "smtps://", 8) != 0)
		buf_printf(err, "%s: bad smtp_url \"%s\" (want smtp://HOST:PORT "
		    "or smtps://HOST:PORT)\n", file, c->smtp_url);
	if (c->smtp_password_file && c->smtp_user == NULL)
		buf_printf(err, "%s: smtp_password_file needs smtp_user\n", file);
	if (c->csat_url && strncmp(c->csat_url, "http://", 7) != 0 &&
	    strncmp(c->csat_url, "https://", 8) != 0)
		buf_printf(err, "%s: bad csat_url \"%s\" (want http:// or "
		    "https://)\n", file, c->csat_url);
	if (c->secret && strlen(c->secret) < 16)
		buf_printf(err, "%s: secret is too short (want 16 characters "
		    "or more, e.g. from `openssl rand -hex 32`)\n", file);
}

/* A relative directory is taken from the configuration file's own. */
static void
path_relative_to(char **dir, const char *conffile)
{
	const char *slash = strrchr(conffile, '/');
	char *abs;

	if (**dir == '/' || slash == NULL)
		return;
	abs = xasprintf("%.*s/%s", (int)(slash - conffile), conffile, *dir);
	free(*dir);
	*dir = abs;
}

enum tk_status
conf_load(const char *path, int must_exist, struct tk_conf **out,
    struct buf *err)
{
	struct tk_conf *c = xcalloc(1, sizeof(*c));
	size_t errlen = err->len;
	struct buf text;
	int fd;

	for (size_t i = 0; i < NPARAMS; i++)
		if (param_set(c, &conf_params[i], conf_params[i].def))
			abort();	/* a default that does not parse: a bug */
	if (path == NULL)
		goto done;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !must_exist)
			goto done;
		buf_printf(err, "%s: %s\n", path, strerror(errno));
		conf_free(c);
		return TK_EIO;
	}
	buf_init(&text, 1 << 20);
	if (buf_read_fd(&text, fd) != TK_OK) {
		buf_printf(err, "%s: cannot read (or larger than 1 MiB)\n", path);
		close(fd);
		buf_free(&text);
		conf_free(c);
		return TK_EIO;
	}
	close(fd);
	c->path = xstrdup(path);
	if (text.data)
		conf_parse(c, path, text.data, err);
	buf_free(&text);
	path_relative_to(&c->rules_dir, path);
	path_relative_to(&c->templates_dir, path);
	path_relative_to(&c->calendars_dir, path);
	if (err->len != errlen) {
		conf_free(c);
		return TK_EPARSE;
	}
done:
	*out = c;
	return TK_OK;
}

void
conf_free(struct tk_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NPARAMS; i++) {
		const struct param *p = &conf_params[i];
		char *base = (char *)c;

		if (p->type == P_STR || p->type == P_OPT)
			free(*(char **)(void *)(base + p->off));
		else if (p->type == P_LIST || p->type == P_LIST_LC)
			list_free(*(char ***)(void *)(base + p->off),
			    *(size_t *)(void *)(base + p->cnt_off));
	}
	for (size_t i = 0; i < c->nagents; i++) {
		free(c->agents[i].name);
		free(c->agents[i].login);
		free(c->agents[i].lang);
		free(c->agents[i].deputy);
		list_free(c->agents[i].addresses, c->agents[i].naddresses);
		list_free(c->agents[i].skills, c->agents[i].nskills);
	}
	free(c->agents);
	for (size_t i = 0; i < c->nwebhooks; i++) {
		free(c->webhooks[i].name);
		free(c->webhooks[i].url);
		free(c->webhooks[i].header);
		list_free(c->webhooks[i].events, c->webhooks[i].nevents);
	}
	free(c->webhooks);
	for (size_t i = 0; i < c->nfields; i++) {
		free(c->fields[i].name);
		list_free(c->fields[i].values, c->fields[i].nvalues);
	}
	free(c->fields);
	for (size_t i = 0; i < c->nlookups; i++) {
		struct conf_lookup *l = &c->lookups[i];

		free(l->name);
		free(l->url);
		free(l->header);
		free(l->token_file);
		for (size_t k = 0; k < l->nmaps; k++) {
			free(l->maps[k].field);
			free(l->maps[k].path);
		}
		free(l->maps);
	}
	free(c->lookups);
	for (size_t i = 0; i < c->nmailbox_conf; i++)
		free(c->mailbox_conf[i].address);
	free(c->mailbox_conf);
	for (size_t i = 0; i < c->naccounts; i++) {
		struct conf_account *a = &c->accounts[i];

		free(a->name);
		free(a->host);
		free(a->user);
		free(a->password_file);
		free(a->folder);
		free(a->move_to);
		free(a->ca_file);
		free(a->mailbox);
		free(a->oauth_provider);
		free(a->oauth_tenant);
		free(a->oauth_token_url);
		free(a->oauth_device_url);
		free(a->oauth_client_id);
		free(a->oauth_client_secret_file);
		free(a->oauth_scope);
		free(a->sent_folder);
	}
	free(c->accounts);
	free(c->path);
	free(c);
}

static void
param_format(const struct tk_conf *c, const struct param *p, struct buf *b)
{
	const char *base = (const char *)c;

	switch (p->type) {
	case P_STR:
	case P_OPT: {
		const char *v = *(char *const *)(const void *)(base + p->off);

		/* A secret is not for the screen. */
		if (v && strcmp(p->name, "secret") == 0)
			v = "(hidden)";
		buf_addstr(b, v ? v : "");
		break;
	}
	case P_LIST:
	case P_LIST_LC: {
		char *const *v = *(char **const *)(const void *)(base + p->off);
		size_t n = *(const size_t *)(const void *)(base + p->cnt_off);

		for (size_t i = 0; i < n; i++)
			buf_printf(b, "%s%s", i ? ", " : "", v[i]);
		break;
	}
	case P_DAYS:
	case P_SECS: {
		char d[32];

		str_duration(*(const long long *)(const void *)(base + p->off),
		    d, sizeof(d));
		buf_addstr(b, d);
		break;
	}
	case P_PAIR_SECS:
	case P_PAIR_INT:
		for (int i = 0; i < 2; i++) {
			long long v = *(const long long *)(const void *)(base +
			    (i ? p->cnt_off : p->off));
			char d[32];

			if (p->type == P_PAIR_SECS)
				str_duration(v, d, sizeof(d));
			else
				snprintf(d, sizeof(d), "%lld", v);
			buf_printf(b, "%s%s", i ? ", " : "", d);
		}
		break;
	case P_RETAIN: {
		long long v = *(const long long *)(const void *)(base + p->off);

		if (v % 86400)
			buf_printf(b, "%lldd", v / 86400 + 1);
		else
			buf_printf(b, "%lldd", v / 86400);
		break;
	}
	case P_SIZE:
	case P_INT:
		buf_printf(b, "%lld",
		    *(const long long *)(const void *)(base + p->off));
		break;
	case P_ENUM:
		buf_addstr(b, p->enums[*(const int *)(const void *)(base + p->off)]);
		break;
	}
}

void
conf_print(const struct tk_conf *c, FILE *fp)
{
	struct tk_conf *d;
	struct buf e, v, dv;

	buf_init(&e, 0);
	conf_load(NULL, 0, &d, &e);
	buf_free(&e);
	fprintf(fp, "# configuration file: %s\n", c->path ? c->path :
	    "(none; built-in defaults)");
	buf_init(&v, 0);
	buf_init(&dv, 0);
	for (size_t i = 0; i < NPARAMS; i++) {
		buf_reset(&v);
		buf_reset(&dv);
		param_format(c, &conf_params[i], &v);
		param_format(d, &conf_params[i], &dv);
		fprintf(fp, "%s = %s\t# default: %s\n", conf_params[i].name,
		    v.data ? v.data : "", dv.data ? dv.data : "");
	}
	buf_free(&v);
	buf_free(&dv);
	conf_free(d);
	for (size_t i = 0; i < c->nagents; i++) {
		const struct conf_agent *a = &c->agents[i];

		fprintf(fp, "\n[agent %s]\naddress =", a->name);
		for (size_t k = 0; k < a->naddresses; k++)
			fprintf(fp, "%s %s", k ? "," : "", a->addresses[k]);
		fprintf(fp, "\nskills =");
		for (size_t k = 0; k < a->nskills; k++)
			fprintf(fp, "%s %s", k ? "," : "", a->skills[k]);
		fprintf(fp, "\navailable = %s\n", a->away ? "no" : "yes");
		fprintf(fp, "login = %s\n", a->login ? a->login :
		    "(any of the addresses)");
		fprintf(fp, "lang = %s\n", a->lang ? a->lang :
		    "(the default templates)");
		fprintf(fp, "deputy = %s\n", a->deputy ? a->deputy : "(none)");
		fprintf(fp, "max_open = %lld\n", a->max_open);
	}
	for (size_t i = 0; i < c->nwebhooks; i++) {
		const struct conf_webhook *w = &c->webhooks[i];

		fprintf(fp, "\n[webhook %s]\nurl = %s\n", w->name, w->url);
		if (w->header)
			fprintf(fp, "header = %.*s: (hidden)\n",
			    (int)strcspn(w->header, ":"), w->header);
		fprintf(fp, "events =");
		for (size_t k = 0; k < w->nevents; k++)
			fprintf(fp, "%s %s", k ? "," : "", w->events[k]);
		fprintf(fp, "\n");
	}
	for (size_t i = 0; i < c->nfields; i++) {
		static const char *const types[] = { "text", "number", "date",
		    "enum" };
		const struct conf_field *f = &c->fields[i];

		fprintf(fp, "\n[field %s]\ntype = %s\n", f->name, types[f->type]);
		if (f->nvalues) {
			fprintf(fp, "values =");
			for (size_t k = 0; k < f->nvalues; k++)
				fprintf(fp, "%s %s", k ? "," : "", f->values[k]);
			fprintf(fp, "\n");
		}
	}
	for (size_t i = 0; i < c->nmailbox_conf; i++) {
		const struct conf_mailbox *m = &c->mailbox_conf[i];

		fprintf(fp, "\n[mailbox %s]\n", m->address);
		if (m->retention >= 0)
			fprintf(fp, "retention = %lldd\n",
			    (m->retention + 86399) / 86400);
	}
	for (size_t i = 0; i < c->naccounts; i++) {
		static const char *const tls[] = { "imaps", "starttls", "none" };
		static const char *const after[] = { "keep", "seen", "move:",
		    "delete" };
		const struct conf_account *a = &c->accounts[i];

		fprintf(fp, "\n[account %s]\nhost = %s\nport = %d\ntls = %s\n"
		    "allow_plaintext = %s\nuser = %s\npassword_file = %s\n"
		    "folder = %s\nafter = %s%s\nca_file = %s\nmailbox = %s\n"
		    "timeout = %d\nidle_interval = %d\nredact_mailbox = %s\n"
		    "sent_copy = %s\nsent_folder = %s\nauth = %s\n",
		    a->name, a->host, a->port ? a->port :
		    a->tls == CONF_TLS_IMAPS ? 993 : 143, tls[a->tls],
		    a->allow_plaintext ? "yes" : "no", a->user,
		    a->password_file ? a->password_file : "", a->folder,
		    after[a->after],
		    a->move_to ? a->move_to : "", a->ca_file ? a->ca_file : "",
		    a->mailbox ? a->mailbox : "", a->timeout, a->idle_interval,
		    a->redact_mailbox ? "yes" : "no", a->sent_copy ? "yes" : "no",
		    a->sent_folder ? a->sent_folder : "", auth_values[a->auth]);
		if (a->auth == CONF_AUTH_OAUTH2)
			fprintf(fp, "oauth_token_url = %s\noauth_device_url = %s\n"
			    "oauth_client_id = %s\noauth_client_secret_file = %s\n"
			    "oauth_scope = %s\n", a->oauth_token_url,
			    a->oauth_device_url ? a->oauth_device_url : "",
			    a->oauth_client_id, a->oauth_client_secret_file ?
			    a->oauth_client_secret_file : "", a->oauth_scope ?
			    a->oauth_scope : "");
	}
}

const struct conf_account *
conf_account_by_name(const struct tk_conf *c, const char *name)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

int
conf_webhook_wants(const struct conf_webhook *w, const char *event)
{
	for (size_t i = 0; i < w->nevents; i++)
		if (strcmp(w->events[i], event) == 0)
			return 1;
	return 0;
}

const struct conf_webhook *
conf_webhook_by_name(const struct tk_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nwebhooks; i++)
		if (strcmp(c->webhooks[i].name, name) == 0)
			return &c->webhooks[i];
	return NULL;
}

const struct conf_agent *
conf_agent_by_address(const struct tk_conf *c, const char *addr)
{
	for (size_t i = 0; i < c->nagents; i++)
		for (size_t k = 0; k < c->agents[i].naddresses; k++)
			if (strcasecmp(c->agents[i].addresses[k], addr) == 0)
				return &c->agents[i];
	return NULL;
}

int
conf_agent_login_is(const struct conf_agent *a, const char *login)
{
	if (login == NULL || *login == '\0')
		return 0;
	if (a->login)
		return strcasecmp(a->login, login) == 0;
	for (size_t k = 0; k < a->naddresses; k++)
		if (strcasecmp(a->addresses[k], login) == 0)
			return 1;
	return 0;
}

const char *
conf_category(const struct tk_conf *c, const char *category)
{
	size_t n = 0;

	if (category == NULL)
		return NULL;
	for (size_t i = 0; i < c->ncategories; i++)
		if (strcasecmp(c->categories[i], category) == 0)
			return c->categories[i];
	if (c->ncategories)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)category; *p;
	    p++, n++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return n >= 1 && n <= 64 ? category : NULL;
}

const struct conf_agent *
conf_agent_by_name(const struct tk_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nagents; i++)
		if (strcasecmp(c->agents[i].name, name) == 0)
			return &c->agents[i];
	return NULL;
}

/*
 * The configured shared address addr is, also as a plus-address
 * ("support+csat-1-5-…@example.com" is support@example.com), or NULL.
 */
const char *
conf_mailbox(const struct tk_conf *c, const char *addr)
{
	const char *plus = strchr(addr, '+'), *at = strrchr(addr, '@');

	for (size_t i = 0; i < c->nmailboxes; i++) {
		const char *mb = c->mailboxes[i], *mat = strrchr(mb, '@');

		if (strcasecmp(mb, addr) == 0)
			return mb;
		if (plus && at && mat && plus < at &&
		    (size_t)(plus - addr) == (size_t)(mat - mb) &&
		    strncasecmp(mb, addr, (size_t)(plus - addr)) == 0 &&
		    strcasecmp(mat, at) == 0)
			return mb;
	}
	return NULL;
}

int
conf_is_mailbox(const struct tk_conf *c, const char *addr)
{
	return conf_mailbox(c, addr) != NULL;
}

enum tk_status
conf_read_secret(const char *what, const char *path, char **out, char *err,
    size_t errlen)
{
	struct stat sb;
	struct buf b;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		if (fd != -1)
			close(fd);
		return TK_EPERM;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s %s is mode %03o: group or others may "
		    "read it (chmod 600)", what, path,
		    (unsigned)(sb.st_mode & 0777));
		close(fd);
		return TK_EPERM;
	}
	buf_init(&b, 4096);
	if (buf_read_fd(&b, fd) != TK_OK || b.len == 0) {
		snprintf(err, errlen, "%s %s: empty or unreadable", what, path);
		close(fd);
		buf_free(&b);
		return TK_EPERM;
	}
	close(fd);
	b.data[strcspn(b.data, "\r\n")] = '\0';
	*out = buf_release(&b);
	return TK_OK;
}
