/*
 * ticket.h — validated changes to a ticket's fields, each one an event.
 */
#ifndef TIKETTI_TICKET_H
#define TIKETTI_TICKET_H

#include <stdint.h>

#include "tiketti/conf.h"
#include "tiketti/json.h"
#include "tiketti/store.h"

/* 1 when value is a status (new|open|pending|solved|closed). */
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

#endif
