/*
 * json.h — a small streaming JSON writer into a struct buf.
 */
#ifndef TIKETTI_JSON_H
#define TIKETTI_JSON_H

#include <stdint.h>

#include "tiketti/buf.h"

#define JSON_MAXDEPTH 16

struct json {
	struct buf	*out;
	int		 depth;
	int		 first[JSON_MAXDEPTH];
	int		 pretty;
};

void json_init(struct json *j, struct buf *out, int pretty);
void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
/* Emits "key": and leaves the writer expecting one value. */
void json_key(struct json *j, const char *key);
/* A NULL string is written as null. Invalid UTF-8 becomes U+FFFD. */
void json_str(struct json *j, const char *s);
void json_int(struct json *j, int64_t v);
/* A finite number, rounded to four decimals. */
void json_real(struct json *j, double v);
void json_null(struct json *j);
void json_bool(struct json *j, int v);
/* A key and its value in one call. */
void json_key_str(struct json *j, const char *key, const char *value);
void json_key_int(struct json *j, const char *key, int64_t value);
/* Escapes s as a JSON string (with quotes) into b. */
void json_escape(struct buf *b, const char *s);

#endif
