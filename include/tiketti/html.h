/*
 * html.h — HTML mail as readable text (libxml2's HTML parser).
 */
#ifndef TIKETTI_HTML_H
#define TIKETTI_HTML_H

#include <stddef.h>

#include "tiketti/buf.h"
#include "tiketti/tk.h"

#define HTML_MAX_INPUT	(8 << 20)	/* bytes of HTML read */
#define HTML_MAX_NODES	200000		/* elements and text nodes walked */

/*
 * Appends the readable text of UTF-8 HTML to out: every named and
 * numeric entity decoded; script, style and head dropped; block elements
 * and <br> as line breaks; list items as "- " lines; a link as "text
 * <url>" when the two differ; a table row by row, its cells separated by
 * a tab. TK_ELIMIT when the input or its nodes were over the limits
 * (what was read is in out), else TK_OK.
 */
enum tk_status html_to_text(const char *html, size_t len, struct buf *out);

/*
 * The HTML without the text of the first lead(text) bytes of its readable
 * text (as html_to_text gives it): the text nodes there are emptied, the
 * markup stays. NULL when lead cuts nothing or the HTML is over the
 * limits; caller frees.
 */
char *html_cut_lead(const char *html, size_t len,
    size_t (*lead)(const char *text));

#endif
