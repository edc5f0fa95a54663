/*
 * ticket.h — validated changes to a ticket's fields, each one an event.
 */
#ifndef TIKETTI_TICKET_H
#define TIKETTI_TICKET_H

#include <stdint.h>

#include "tiketti/conf.h"
#include "tiketti/json.h"
#include "tiketti/store.h"

/* 1 when value is a status (new|open|pending|solved|closed|spam). */
int ticket_status_valid(const char *value);
/* 1 when value is a priority (low|normal|high|urgent). */
int ticket_priority_valid(const char *value);

/*
 * Sets field (status, priority, category or assignee) of ticket id to
 * value ("" or NULL clears category and assignee) inside the caller's
 * transaction and records an event {type = field, old, new} by actor.
 * An assignee must be a configured agent (stored by her configured
 * name), a category one of c's categories (or, with none configured, 1
 * to 64 printable characters). Nothing happens when the value is
 * unchanged (*changed = 0). TK_EPERM for an unknown field, a bad value
 * or no such ticket; the text is in errbuf.
 */
enum tk_status ticket_set(struct store *s, const struct tk_conf *c,
    int64_t id, const char *field, const char *value, const char *actor,
    int64_t now, int *changed, char *errbuf, size_t errlen);

/*
 * Writes a ticket's fields as a JSON object by name: a number field as
 * a number, the others (and one no longer declared) as strings.
 */
void ticket_fields_json(struct json *j, const struct tk_conf *c,
    const struct store_ticket *t);

/*
 * A mail of kind (an outbox row's) that did not reach its recipient
 * (refused with a 5xx, or bounced to its VERP address), inside the
 * caller's transaction: a reply, survey or reminder to the customer
 * reopens the ticket (status open; one that is new or open stays so) and
 * an autoreply only flags it; either way the ticket is tagged
 * "undelivered", so an agent sees the customer did not get it. Mail to
 * agents and webhooks change nothing.
 */
enum tk_status ticket_undelivered(struct store *s, const struct tk_conf *c,
    int64_t ticket, const char *kind, int64_t now);

/*
 * Merges ticket src into dst inside the caller's transaction (see
 * store_ticket_merge): refused (TK_EPERM, why in errbuf) for the same
 * ticket, one that does not exist, one merged already, or dst merged
 * into src's chain. Events "merge" on both (src: old its status, new
 * dst; dst: old src) by actor. Later mail for src goes to dst.
 */
enum tk_status ticket_merge(struct store *s, int64_t src, int64_t dst,
    const char *actor, int64_t now, char *errbuf, size_t errlen);
/*
 * Splits a message of ticket id (which: its number in `ticket show`, or
 * its Message-ID) and the messages that answer it (In-Reply-To and
 * References, however deep) into a new ticket of the same requester and
 * mailbox, inside the caller's transaction; *out is its number. Events
 * "split" on both. TK_EPERM (why in errbuf) for no such message, or all
 * of the ticket's.
 */
enum tk_status ticket_split(struct store *s, const struct tk_conf *c,
    int64_t id, const char *which, const char *actor, int64_t now,
    int64_t *out, char *errbuf, size_t errlen);
/* Undoes src's merge: everything back, its status as before; events
 * "unmerge" on both. TK_EPERM when src is not merged. */
enum tk_status ticket_unmerge(struct store *s, int64_t src, const char *actor,
    int64_t now, char *errbuf, size_t errlen);

/*
 * Erases the closed tickets past their mailbox's retention (conf.h
 * conf_retention) as store_ticket_erase does, one transaction each, by
 * actor "retention"; *erased counts them. An erased ticket's requester
 * is "erased:" and 16 hex digits of HMAC-SHA256(secret, address): the
 * same person stays one customer in reports, and only who holds secret
 * and guesses the address can link the two. Its own transactions: call it
 * holding none.
 */
enum tk_status ticket_retention(struct store *s, const struct tk_conf *c,
    int64_t now, int64_t *erased);

/*
 * Erases everything held of address (a data subject's request): every
 * ticket she is the requester, a participant or a sender of, her outbox
 * rows, bounce record and cached lookups; in one transaction, the
 * events naming who ran it. A ticket someone else asked in keeps its
 * requester. *erased counts the tickets.
 */
enum tk_status ticket_forget(struct store *s, const struct tk_conf *c,
    const char *address, const char *who, int64_t now, int64_t *erased);

#endif
