/*
 * automate.h — applying what the rules decide: field changes, routing,
 * notes, agent commands, time rules, and outbox rows for every mail or
 * webhook (sent later by the delivery module).
 */
#ifndef TIKETTI_AUTOMATE_H
#define TIKETTI_AUTOMATE_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/conf.h"
#include "tiketti/rules.h"
#include "tiketti/store.h"

/* A lookup's request made before the write transaction. */
struct automate_lookup {
	const struct conf_lookup *conf;
	char			*url;
	char			*answer;	/* the JSON, or NULL */
	char			*error;		/* why there is none, or NULL */
	int			 cached;	/* read from the cache */
	int64_t			 at;
};
struct automate_lookups {
	struct automate_lookup	*v;
	size_t			 n;
};

/* The mail an event comes from; NULL where there is none. */
struct automate_mail {
	const struct tk_msg	*msg;
	const char		*env_from;
	const char *const	*env_to;
	size_t			 nenv_to;
	int64_t			 row;	/* its row in messages */
	const char		*robot;	/* why it is automatic mail, or NULL */
	int			 history;	/* an old mail imported: nothing
						 * it sets off is sent */
	const char		*new_text;	/* its text without its quote */
	/* The lookups done for it before the transaction, or NULL. */
	const struct automate_lookups *lookups;
};

struct automate_stats {
	int64_t	fired;		/* time-rule occurrences run */
	int64_t	closed;		/* solved tickets closed after close_after */
	int64_t	rerouted;	/* tickets of an agent away past reroute_after */
	int64_t	sla;		/* sla warning and breach events written */
};

struct automate;

/* c and s are borrowed; rules may be NULL (no rules) and is borrowed. */
struct automate *automate_new(const struct tk_conf *c, struct store *s,
    const struct ruleset *rules);
void automate_free(struct automate *a);
void automate_set_rules(struct automate *a, const struct ruleset *rules);
/* The service promises tick watches (borrowed; NULL: none). */
void automate_set_sla(struct automate *a, const struct sla *sla);
/* The rules it runs; borrowed. */
const struct ruleset *automate_rules(const struct automate *a);
/* The text of the last error; borrowed. */
const char *automate_errmsg(const struct automate *a);

/*
 * All of these run inside the caller's transaction. Run the rules of an
 * event (RULES_CREATE, RULES_CUSTOMER_REPLY, RULES_AGENT_REPLY) on a
 * ticket.
 */
enum tk_status automate_event(struct automate *a, enum rules_event ev,
    int64_t ticket, const struct automate_mail *mail, int64_t now);

/*
 * Changes a field as ticket_set() does and, when the status changed,
 * runs the rules listening to that status. TK_EPERM for a bad value.
 */
enum tk_status automate_set(struct automate *a, int64_t ticket,
    const char *field, const char *value, const char *actor,
    const struct automate_mail *mail, int64_t now, int *changed);

/*
 * Sets a ticket field ([field NAME] of tiketti.conf) to value, checked
 * against its type ("" clears it): a `field` event (old: the name).
 * TK_EPERM for an unknown field or a bad value (automate_errmsg()).
 */
enum tk_status automate_set_field(struct automate *a, int64_t ticket,
    const char *name, const char *value, const char *actor, int64_t now);

/*
 * An agent's answer through her signed address: text (hers, without
 * her command lines and quote) to the ticket's customer, from the
 * shared address, answering the customer's mail.
 */
enum tk_status automate_relay(struct automate *a, int64_t ticket,
    const char *agent, const char *text, const struct automate_mail *mail,
    int64_t now);

/*
 * Whether the agent is away at now: available = no in tiketti.conf, or
 * away by #away or `agent set` until a time not yet come (*until; 0:
 * until she is back).
 */
enum tk_status automate_agent_away(struct automate *a,
    const struct conf_agent *ag, int64_t now, int *away, int64_t *until);
/* Sets her away (until 0: until she is back) or back; why: "command",
 * "admin", "ooo". */
enum tk_status automate_agent_set(struct automate *a,
    const struct conf_agent *ag, int away, int64_t until, int64_t now,
    const char *why);
/* The bytes of body's leading command lines when each is #away or
 * #back (a mail of hers to the shared address); else 0. */
size_t automate_availability_len(const char *body);

/* Bytes of body taken by leading agent command lines ("#solve", ...). */
size_t automate_commands_len(const char *body);
/* Applies the command lines in body[0..len) as actor on the ticket
 * (ticket 0: only #away and #back apply). */
enum tk_status automate_commands(struct automate *a, int64_t ticket,
    const char *body, size_t len, const char *actor,
    const struct automate_mail *mail, int64_t now);

/*
 * `tiketti tick`: every time rule and close_after, each in its own
 * transaction, each ticket and occurrence once however often or
 * concurrently it runs; then the service promises: an `sla_warning` or
 * `sla_breach` event, its rules and webhooks, once per ticket, target
 * and clock (computed before the write transaction begins).
 */
enum tk_status automate_tick(struct automate *a, int64_t now,
    struct automate_stats *st);

/* What a dry run of tick is told of each change it would make. */
struct automate_dry {
	int	(*event)(int64_t ticket, const struct store_event *e, void *);
	int	(*outbox)(const struct store_outbox *o, void *);
	void	*arg;
};
/*
 * automate_tick at now, each of its transactions rolled back once what
 * it did is told to dry: nothing changes. Each time rule runs as if the
 * ones before it had not (their changes are gone when it runs).
 */
enum tk_status automate_tick_dry(struct automate *a, int64_t now,
    const struct automate_dry *dry, struct automate_stats *st);

/*
 * Before the write transaction, holding no lock: runs the rules of
 * create and customer reply on view (a preview of the ticket the mail
 * would make, ingest_preview()) and does each lookup a rule that holds
 * asks for, once: the cache in s read (s NULL: none), else the HTTP
 * request within its timeout. What `lookup NAME` then takes inside the
 * transaction; free with automate_lookups_free.
 */
void automate_prefetch(const struct tk_conf *c, const struct ruleset *rules,
    struct store *s, const struct tk_msg *m, struct store_ticket *view,
    int64_t now, struct automate_lookups *out);
void automate_lookups_free(struct automate_lookups *l);

/* Checks that every template the rules name exists and parses. */
enum tk_status automate_check(const struct ruleset *rs,
    const struct tk_conf *c, struct buf *err);

#endif
