/*
 * classify.h — customer, agent, automatic or bounce.
 */
#ifndef TIKETTI_CLASSIFY_H
#define TIKETTI_CLASSIFY_H

#include "tiketti/conf.h"
#include "tiketti/mime.h"

enum classify_kind {
	KIND_CUSTOMER = 0,
	KIND_AGENT,
	KIND_AUTO,
	KIND_BOUNCE,
};

/*
 * What the front end knows of how the mail was submitted: what can prove
 * that an agent sent it. The milter has the SMTP session (smtp = 1): the
 * SASL login Postfix names ({auth_authen}) and the client's address.
 * Everything else (pipe, poll, files) has only the message's headers:
 * the Authentication-Results of trusted_authserv_id.
 */
struct classify_proof {
	int		 smtp;
	const char	*auth_login;	/* NULL: not authenticated */
	const char	*client_addr;	/* NULL: unknown */
};

struct classify_result {
	enum classify_kind	 kind;
	/* Why it is automatic ("auto-submitted", "precedence", "list-id",
	 * "dsn", "mdn", "null-sender", "robot-sender", …); static or NULL. */
	const char		*reason;
	const struct conf_agent	*agent;	/* with KIND_AGENT: proven */
	/* From: is an agent's but nothing proves she sent it: the mail is
	 * her sender's, as a customer's, and this says why. */
	const struct conf_agent	*claimed;
	char			 unverified[256];
	/* With KIND_AUTO: an agent's own out-of-office reply, proven hers
	 * as her mail would be. */
	const struct conf_agent	*away_agent;
};

/* "customer", "agent", "auto" or "bounce"; static. */
const char *classify_kind_str(enum classify_kind k);

/*
 * Classifies m. envelope_from is the SMTP MAIL FROM ("" for the null
 * sender, NULL when unknown, as for a file on the command line). Mail
 * whose From: is an agent's is KIND_AGENT only when proof (may be NULL:
 * headers only) shows she sent it: a SASL login that is hers, or a
 * trusted relay, in the milter; elsewhere a dkim=pass aligned with the
 * From: domain or dmarc=pass in the topmost Authentication-Results of
 * trusted_authserv_id. Otherwise it is KIND_CUSTOMER with r->claimed
 * and r->unverified set.
 */
void classify_message(const struct tk_conf *c, const struct tk_msg *m,
    const char *envelope_from, const struct classify_proof *proof,
    struct classify_result *r);

/*
 * 1 when a bounce says our mail failed for good: a delivery report with
 * a recipient "Action: failed" and a 5.x.x Status, or (no report) text
 * with a 5xx reply, a 5.x.x status or the words of one. A delay notice
 * (Action: delayed, 4.4.1, "will be retried") never is.
 */
int classify_bounce_permanent(const struct tk_msg *m);

/* 1 when the local part names a robot: mailer-daemon, postmaster, noreply … */
int classify_robot_address(const char *addr);

#endif
