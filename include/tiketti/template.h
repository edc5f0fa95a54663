/*
 * template.h — mail templates: templates_dir/NAME[.LANG].txt.
 *
 * A template is a header block, a blank line and a body, with
 * placeholders {{ticket.id}}, {{ticket.subject}}, {{ticket.status}},
 * {{ticket.priority}}, {{ticket.category}}, {{ticket.tag}},
 * {{customer.name}}, {{customer.address}} and {{agent.name}}; in a survey
 * also {{csat.N}} (the mailto: link rating N, 1-5), {{csat.web.N}} (the
 * csat_url link, or empty) and {{csat.links}} (a list of them all).
 * NAME[.LANG].html beside the text is its HTML alternative (a body only).
 */
#ifndef TIKETTI_TEMPLATE_H
#define TIKETTI_TEMPLATE_H

#include "tiketti/buf.h"
#include "tiketti/store.h"
#include "tiketti/tk.h"

#define TEMPLATE_MAX_FILE	(256 * 1024)

struct template_vars {
	const struct store_ticket	*ticket;
	const char			*prefix;	/* ticket_prefix */
	const char			*agent;		/* agent name, or NULL */
	const char			*csat[5];	/* mailto: links, or NULL */
	const char			*csat_web[5];	/* web links, or NULL */
	const char			*text;		/* the mail's text, or NULL */
	const char			*new_text;	/* ... without its quote */
	/* The customer's other tickets, a line each, or NULL. */
	const char			*history;
	/* The service promise's running clocks, a line each, or NULL. */
	const char			*due;
};

struct template_out {
	char	*file;		/* the variant used */
	char	*subject;	/* UTF-8, one line, or NULL */
	char	*headers;	/* other headers, "Name: value\n", each value
				 * one line and RFC 2047-encoded */
	char	*body;
	char	*html;		/* the HTML alternative, or NULL */
};

/*
 * Renders NAME in dir in the first language of langs (a Content-Language
 * or Accept-Language value; NULL: none) that has a variant, else the
 * default NAME.txt. TK_EPERM when there is no such template, TK_EPARSE
 * when it is broken; the reason is appended to err.
 */
enum tk_status template_render(const char *dir, const char *name,
    const char *langs, const struct template_vars *v,
    struct template_out *out, struct buf *err);
void template_out_clear(struct template_out *out);

/* Checks every variant of NAME in dir; errors as "FILE:LINE:COL: msg". */
enum tk_status template_check(const char *dir, const char *name,
    struct buf *err);

#endif
