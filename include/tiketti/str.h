/*
 * str.h — small string helpers that know nothing about mail.
 */
#ifndef TIKETTI_STR_H
#define TIKETTI_STR_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/tk.h"

/* Lower-cases ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Trims ASCII white space at both ends in place; returns s. */
char *str_trim(char *s);
/* Replaces every CR, LF and other C0 control (but TAB) with a space. */
char *str_oneline(char *s);
/* ASCII case-insensitive prefix test. */
int str_has_prefix_ci(const char *s, const char *prefix);
/* Parses a base-10 integer in [min, max]; TK_EPARSE otherwise. */
enum tk_status str_to_ll(const char *s, long long min, long long max,
    long long *out);
/*
 * Parses a duration "N", "Ns", "Nm", "Nh", "Nd" or "Nw" into seconds
 * (a bare number is days when unit_days, else seconds).
 */
enum tk_status str_to_duration(const char *s, int unit_days, long long *out);
/*
 * A point in time: "YYYY-MM-DD" (local midnight), "YYYY-MM-DD HH:MM" or
 * with a T (local), "@SECONDS", or a duration with its unit ("3d",
 * "12h") from now. TK_EPARSE otherwise.
 */
enum tk_status str_to_time(const char *s, int64_t now, int64_t *out);
/* Formats seconds as the shortest exact "Nd", "Nh", "Nm" or "Ns". */
void str_duration(long long secs, char *out, size_t outlen);
/* Checks that s is valid UTF-8 (no overlongs, no surrogates). */
int str_utf8_valid(const char *s, size_t len);
/* A copy of len bytes of s with each byte that is not valid UTF-8 as
 * U+FFFD; caller frees. */
char *str_utf8_repair(const char *s, size_t len);
/* Formats a UNIX time as RFC 3339 UTC ("2026-11-22T09:00:00Z"). */
/* Lower-cases ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic in
 * place (every such change keeps the UTF-8 length); returns s. */
char *str_fold(char *s);
/* 1 when s matches the glob pat ('*', '?', '\\' quoting). */
int str_glob(const char *pat, const char *s);
void str_time(int64_t t, char *out, size_t outlen);

#endif
