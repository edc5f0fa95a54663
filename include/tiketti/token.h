/*
 * token.h — signed plus-address tokens: support+TOKEN@example.com.
 *
 *   t<ticket>-<mac>		Reply-To of our mail: a reply threads
 *   csat-<ticket>-<n>-<mac>	a survey answer, rating n (0: read it
 *				from the reply's first line)
 *   bounce-<row>-<mac>		the VERP return path of outbox row <row>
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
};

struct token {
	enum token_kind	kind;
	int64_t		id;	/* ticket, or outbox row for TOKEN_BOUNCE */
	int		n;	/* TOKEN_CSAT: the rating, 0-5 */
};

/* "PAYLOAD-MAC" for payload ("t12", "csat-12-5", "bounce-7"); NULL
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
