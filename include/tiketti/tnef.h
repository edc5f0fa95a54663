/*
 * tnef.h — Outlook's winmail.dat (TNEF) opened (libytnef).
 */
#ifndef TIKETTI_TNEF_H
#define TIKETTI_TNEF_H

#include <stddef.h>

#include "tiketti/tk.h"

/*
 * Reads a TNEF stream: fn is called with each attached file, in order
 * (its long file name, else its short one, else NULL; its bytes); fn
 * returning non-zero stops. *body (may be NULL) gets the message's plain
 * text body as it is in the stream (8-bit, in *charset: "UTF-16LE" for a
 * Unicode body, else the stream's code page as "CP1252" and the like;
 * both caller frees, NULL when there is none). TK_EPARSE when data is no
 * TNEF stream.
 */
enum tk_status tnef_read(const void *data, size_t len,
    int (*fn)(const char *name, const void *bytes, size_t n, void *arg),
    void *arg, char **body, size_t *bodylen, char **charset);

#endif
