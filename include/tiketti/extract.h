/*
 * extract.h — values from a form's text: "Key: value" lines and table
 * rows (html.c makes a row "Key<TAB>value"), or a regular expression.
 * Knows nothing of mail or SQL.
 */
#ifndef TIKETTI_EXTRACT_H
#define TIKETTI_EXTRACT_H

#include <regex.h>

#define EXTRACT_MAX	1000	/* bytes of a value */

/*
 * The value of key in text: the first line "Key: value", "Key = value",
 * "Key<TAB>value" (a table row), or "Key:" with the value on the next
 * non-empty line. The key is compared case-blind and may be decorated
 * ("**Key**:", "Key *:"). The value is trimmed, one line, at most
 * EXTRACT_MAX bytes (cut at a character). NULL when there is none;
 * the caller frees.
 */
char *extract_key(const char *text, const char *key);
/* The first match of re in text: its first group when it has one, else
 * the whole match; trimmed and cut as above. NULL when none. */
char *extract_regex(const regex_t *re, const char *text);

#endif
