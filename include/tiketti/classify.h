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

struct classify_result {
	enum classify_kind	 kind;
	/* Why it is automatic ("auto-submitted", "precedence", "list-id",
	 * "dsn", "mdn", "null-sender", "robot-sender", …); static or NULL. */
	const char		*reason;
	const struct conf_agent	*agent;	/* with KIND_AGENT */
};

/* "customer", "agent", "auto" or "bounce"; static. */
const char *classify_kind_str(enum classify_kind k);

/*
 * Classifies m. envelope_from is the SMTP MAIL FROM ("" for the null
 * sender, NULL when unknown, as for a file on the command line).
 */
void classify_message(const struct tk_conf *c, const struct tk_msg *m,
    const char *envelope_from, struct classify_result *r);

/* 1 when the local part names a robot: mailer-daemon, postmaster, noreply … */
int classify_robot_address(const char *addr);

#endif
