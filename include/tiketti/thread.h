/*
 * thread.h — which ticket a message belongs to.
 */
#ifndef TIKETTI_THREAD_H
#define TIKETTI_THREAD_H

#include <stdint.h>

#include "tiketti/conf.h"
#include "tiketti/mime.h"
#include "tiketti/store.h"
#include "tiketti/token.h"

enum thread_how {
	THREAD_NEW = 0,		/* nothing matched: a new ticket */
	THREAD_TAG,		/* [PREFIX #N] in the Subject */
	THREAD_IN_REPLY_TO,
	THREAD_REFERENCES,
	THREAD_DSN,		/* a bounce: the Message-ID of the mail it returns */
	THREAD_CSAT,		/* to a signed survey address */
	THREAD_VERP,		/* to the signed return path of an outbox row */
	THREAD_TOKEN,		/* to the signed Reply-To of our mail */
	THREAD_AGENT,		/* a proven agent's, to the signed Reply-To
				 * of an assignment mail */
};

struct thread_result {
	int64_t		 ticket;	/* 0 with THREAD_NEW */
	enum thread_how	 how;
	int64_t		 refused;	/* a tagged ticket the sender may not join */
	int		 rating;	/* THREAD_CSAT: 1-5, 0 = read the text */
	int64_t		 outbox;	/* THREAD_VERP: the row */
	int		 forged;	/* a token with a bad signature was seen */
	/* THREAD_AGENT: the agent the address names (the sender may be
	 * another proven agent); or, with agent_refused, the ticket of an
	 * agent's address the sender may not use. */
	char		 agent[TOKEN_AGENT_MAX + 1];
	int64_t		 agent_refused;
};

/* "tag", "in-reply-to", "references", "dsn", "csat", "verp", "token",
 * "agent" or "new"; static. */
const char *thread_how_str(enum thread_how how);

/*
 * Finds "[PREFIX #N]" (prefix compared case-insensitively) in subject;
 * returns 1 and sets *id, or 0.
 */
int thread_subject_tag(const char *subject, const char *prefix, int64_t *id);

/*
 * Returns a copy of subject (caller frees) without leading reply and
 * forward prefixes (Re, Fwd, AW, SV, VS, Odp, Отв, Відп, …, also "Re[2]:")
 * and without our own "[PREFIX #N]" tag, for display.
 */
char *thread_subject_strip(const char *subject, const char *prefix);

/*
 * Threads m from sender (lower-cased address, may be NULL), sent to the
 * envelope recipients rcpts (may be NULL), in this order: a signed survey
 * or VERP address among the recipients, In-Reply-To, References newest
 * first (our own stored outgoing Message-IDs are among the stored ones),
 * a tag in the Subject, a signed Reply-To token among the recipients,
 * the original Message-ID a delivery report returns, otherwise new. A
 * thread beats a tag. A tag counts only from a sender who is a
 * participant of its ticket (unless tag_trust = any) or trusted (a
 * proven agent); of several tags the first that counts wins, and when
 * none does the first refused is in .refused (THREAD_NEW then).
 */
enum tk_status thread_find(struct store *s, const struct tk_conf *c,
    const struct tk_msg *m, const char *sender, int trusted,
    const char *const *rcpts, size_t nrcpts, struct thread_result *r);

#endif
