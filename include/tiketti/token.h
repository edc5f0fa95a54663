/*
 * token.h — signed plus-address tokens: support+TOKEN@example.com.
 *
 *   t<ticket>-<mac>		Reply-To of our mail: a reply threads
 *   csat-<ticket>-<n>-<mac>	a survey answer, rating n (0: read it
 *				from the reply's first line)
 *   bounce-<row>-<mac>		the VERP return path of outbox row <row>
 *   a-<ticket>-<agent>-<mac>	Reply-To of an assignment mail: the
 *				agent's answer goes to the customer
 *
 * <mac> is the first 16 hex digits of HMAC-SHA256(secret, the rest).
 */
#ifndef TIKETTI_TOKEN_H
#define TIKETTI_TOKEN_H

#include <stdint.h>

#include "tiketti/conf.h"

enum token_kind {
	TOKEN_NONE = 0,		/* no token here */
	TOKEN_FORGED,		/* looks like one, but the signature is wrong */
	TOKEN_THREAD,
	TOKEN_CSAT,
	TOKEN_BOUNCE,
	TOKEN_AGENT,
};

#define TOKEN_AGENT_MAX	63	/* an agent name's length in a token */

struct token {
	enum token_kind	kind;
	int64_t		id;	/* ticket, or outbox row for TOKEN_BOUNCE */
	int		n;	/* TOKEN_CSAT: the rating, 0-5 */
	char		agent[TOKEN_AGENT_MAX + 1]; /* TOKEN_AGENT, lower case */
};

/* 1 when name can stand in a token: [a-z0-9._-], 1-63 long. */
int token_agent_ok(const char *name);

/* "PAYLOAD-MAC" for payload ("t12", "csat-12-5", "bounce-7",
 * "a-12-maria"); NULL
 * without a secret. Caller frees. */
char *token_sign(const struct tk_conf *c, const char *payload);

/* mailbox with "+PAYLOAD-MAC" in its local part; NULL without a secret. */
char *token_address(const struct tk_conf *c, const char *mailbox,
    const char *payload);

/*
 * Reads the token of s: an address (the token must be the +detail of one
 * of our shared addresses) or a bare token (a survey web link's).
 */
void token_parse(const struct tk_conf *c, const char *s, struct token *t);

#endif
