/*
 * lookup.h — asking another system (a CRM) about a ticket's customer:
 * the request's URL from a [lookup NAME] template, and the JSON answer
 * read into ticket fields. The only user of jansson (lookup_json reads
 * any JSON answer); it knows nothing of mail or SQL (the request itself
 * is deliver_fetch's).
 */
#ifndef TIKETTI_LOOKUP_H
#define TIKETTI_LOOKUP_H

#include <stddef.h>

#include "tiketti/buf.h"
#include "tiketti/conf.h"
#include "tiketti/store.h"

#define LOOKUP_MAX_ANSWER	(1 << 20)	/* bytes of an answer */

/*
 * The URL of a lookup for the customer at address with those fields:
 * {{customer.address}}, {{ticket.fields.NAME}} (empty when not set)
 * URL-encoded in the template. NULL (why in err) for another name.
 */
char *lookup_url(const char *tmpl, const char *address,
    const struct store_field *fields, size_t nfields, char *err,
    size_t errlen);
/* Adds s to b percent-encoded (RFC 3986: all but unreserved). */
void lookup_url_encode(struct buf *b, const char *s);
/* Checks a template's names: NULL, or what is wrong. */
const char *lookup_url_check(const char *tmpl);

struct lookup_value {
	const char	*field;		/* the map's, borrowed */
	char		*value;
};

/*
 * Reads each field.NAME = PATH of l from a JSON answer: a string, or a
 * number or boolean as text; a path that leads nowhere, to null, an
 * object or an array sets nothing. PATH is keys and [N] indexes:
 * "customer.tier", "data[0].id". -1 (why in err) when the answer is
 * not JSON.
 */
int lookup_answer(const struct conf_lookup *l, const char *json, size_t len,
    struct lookup_value **out, size_t *n, char *err, size_t errlen);
void lookup_values_free(struct lookup_value *v, size_t n);
/*
 * The values at paths (as above) in a JSON document, each a new string
 * or NULL: for any JSON answer (an OAuth endpoint's too). -1 (why in
 * err) when it is not JSON.
 */
int lookup_json(const char *json, size_t len, const char *const *paths,
    size_t n, char **values, char *err, size_t errlen);

#endif
