/*
 * rules.h — the admins' rule files: load, check, evaluate.
 *
 * The language is described in tiketti-rules(5). :regex follows the
 * process's LC_CTYPE (main() sets C.UTF-8 so classes are characters). Rules only decide: the
 * evaluator hands each action of a rule that fires to a callback (the
 * automate module applies them; `rules test` prints them).
 */
#ifndef TIKETTI_RULES_H
#define TIKETTI_RULES_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/conf.h"
#include "tiketti/mime.h"
#include "tiketti/sla.h"
#include "tiketti/store.h"
#include "tiketti/tk.h"

enum rules_event {
	RULES_CREATE		= 1 << 0,	/* on create */
	RULES_CUSTOMER_REPLY	= 1 << 1,	/* on customer reply */
	RULES_AGENT_REPLY	= 1 << 2,	/* on agent reply */
	RULES_STATUS		= 1 << 3,	/* on status S */
	RULES_TIME		= 1 << 4,	/* on after N ... */
	RULES_SLA_WARNING	= 1 << 5,	/* on sla warning TARGET */
	RULES_SLA_BREACH	= 1 << 6,	/* on sla breach TARGET */
};

enum rules_act {
	ACT_SET, ACT_TAG, ACT_UNTAG, ACT_ASSIGN, ACT_ROUTE, ACT_AUTOREPLY,
	ACT_REPLY, ACT_CSAT, ACT_NOTE, ACT_NOTIFY, ACT_WEBHOOK, ACT_STOP,
	ACT_SLA, ACT_FIELD, ACT_EXTRACT, ACT_LOOKUP,
};

struct rules_action {
	enum rules_act	 kind;
	const char	*field;	/* ACT_SET: status, priority or category;
				 * ACT_FIELD, ACT_EXTRACT: the field's name */
	const char	*arg;	/* value, tag, agent, skill, template, text,
				 * webhook or policy name; NULL for csat
				 * and stop */
	regex_t		*re;	/* ACT_EXTRACT with regex (arg: its text),
				 * or NULL: arg is a label */
	const char	*file;
	int		 line, col;
};

/* Which rule an action comes from. */
struct rules_origin {
	const char	*name;
	const char	*file;
	int		 line;
	int		 macro;	/* 1: a macro run by an agent command */
};

/* A time rule: fires once per ticket and occurrence of its start time. */
struct rules_timer {
	const char	*rule;		/* the name: the key of "fired once" */
	long long	 after;		/* seconds */
	enum store_since since;
	const char	*status;	/* "in STATUS", or NULL = any */
};

struct rules_cache;

/* What tests look at. msg is NULL for time rules and status changes made
 * without a mail; header, body and envelope tests are then false. */
struct rules_input {
	const struct tk_msg	*msg;
	const char		*new_text;	/* msg's text without its quote
						 * (body :new), or NULL */
	const char		*env_from;
	const char *const	*env_to;
	size_t			 nenv_to;
	struct store_ticket	*ticket;	/* a view; actions update it */
	int64_t			 now;
	/* When the customer's other tickets were opened (history), if
	 * rules_use_history() says a rule asks; borrowed. */
	const int64_t		*history;
	size_t			 nhistory;
	struct rules_cache	*cache;		/* private; rules_input_clear() */
};

/* Non-TK_OK stops the run and is returned by rules_run(). */
typedef enum tk_status (*rules_apply_fn)(const struct rules_origin *,
    const struct rules_action *, void *arg);

struct ruleset;

struct ruleset *rules_new(void);
void rules_free(struct ruleset *rs);

/*
 * Adds the rules of path: a directory (its *.rules files in name order;
 * a missing directory holds no rules) or one file. conf, when not NULL,
 * lets the parser check agent, skill and webhook names. Every error is
 * appended to err as "FILE:LINE:COL: message\n"; TK_EPARSE then, and the
 * set must not be used.
 */
enum tk_status rules_add_path(struct ruleset *rs, const char *path,
    const struct tk_conf *conf, struct buf *err);
/* The same for text in memory (tests, fuzzing); name is the file name. */
enum tk_status rules_add_text(struct ruleset *rs, const char *name,
    const char *text, size_t len, const struct tk_conf *conf, struct buf *err);
/* rules_new() + rules_add_path(); on error *out is NULL. */
enum tk_status rules_load(const char *path, const struct tk_conf *conf,
    struct ruleset **out, struct buf *err);

/* Rules and macros loaded. */
size_t rules_count(const struct ruleset *rs);
/* 1 when a rule tests the customer's history (the caller fills it). */
int rules_use_history(const struct ruleset *rs);
/* 1 when a rule has a `lookup` action. */
int rules_use_lookup(const struct ruleset *rs);

/* The service-promise policies of the rule files, in order; borrowed. */
const struct sla_policy *rules_policies(const struct ruleset *rs, size_t *n);

/*
 * Runs every rule listening to ev, in order, whose test holds; status is
 * the new status for RULES_STATUS, the target's name ("first-response")
 * for RULES_SLA_WARNING and RULES_SLA_BREACH. "stop" ends the run after it is
 * passed to fn.
 */
enum tk_status rules_run(const struct ruleset *rs, enum rules_event ev,
    const char *status, struct rules_input *in, rules_apply_fn fn, void *arg);
/* What rules_explain says of one rule for one event. */
struct rules_verdict {
	const char	*rule;
	const char	*file;
	int		 line;
	int		 listens;	/* it runs on this event */
	int		 fired;		/* ... and its test held */
	const char	*why;		/* else: what it listens to, or the
					 * first test that failed as written,
					 * or that a rule before it stopped */
};
/*
 * Tells fn, for every rule and macro in order, whether it would fire on
 * ev as rules_run would (the actions of those that do are applied to
 * in->ticket for the rules after them, nothing else is done), and why
 * not. For `tiketti rules explain`.
 */
void rules_explain(const struct ruleset *rs, enum rules_event ev,
    const char *status, struct rules_input *in,
    void (*fn)(const struct rules_verdict *, void *), void *arg);
/* Runs the macro's actions; TK_EPERM when there is no such macro. */
enum tk_status rules_run_macro(const struct ruleset *rs, const char *name,
    struct rules_input *in, rules_apply_fn fn, void *arg);

size_t rules_ntimers(const struct ruleset *rs);
/* Borrowed; i < rules_ntimers(). */
const struct rules_timer *rules_timer(const struct ruleset *rs, size_t i);
/* Runs time rule i on one ticket: its test, then its actions. */
enum tk_status rules_run_timer(const struct ruleset *rs, size_t i,
    struct rules_input *in, rules_apply_fn fn, void *arg);

/* Every action of every rule and macro, for checks beyond the parser. */
void rules_each_action(const struct ruleset *rs,
    void (*fn)(const struct rules_action *, void *), void *arg);

/* "set priority urgent", as an admin would write it. */
void rules_action_format(const struct rules_action *a, struct buf *out);
/* Mirrors set, tag, untag, assign and set field on the ticket view. */
void rules_ticket_apply(struct store_ticket *t, const struct rules_action *a);
/* Sets a field's value on the ticket view. */
void rules_ticket_field(struct store_ticket *t, const char *name,
    const char *value);
/* Frees the cache a run left in the input. */
void rules_input_clear(struct rules_input *in);

#endif
