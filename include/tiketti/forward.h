/*
 * forward.h — the message a forward carries in its text: the header
 * block mail programs put above it (Outlook's From:/Sent:/To:/Subject:,
 * Gmail's "---------- Forwarded message ---------", Thunderbird's, in
 * English, Finnish, Swedish and German) and the text below it. Knows
 * nothing of MIME or SQL.
 */
#ifndef TIKETTI_FORWARD_H
#define TIKETTI_FORWARD_H

#include <stdint.h>

#define FORWARD_MAX_VALUE	998	/* bytes of a header value kept */

struct forward {
	char		*from_name;	/* or NULL */
	char		*from_addr;	/* lower case */
	char		*subject;	/* or NULL */
	int64_t		 date;		/* UNIX time; 0: none read */
	const char	*body;		/* the forwarded text, in the input */
};

/*
 * Finds the first forwarded header block in text: lines "Key: value"
 * (keys in any of the four languages, optionally *bold*) with a sender
 * and a subject or a date among them. Its date is read in the forms those
 * programs write (RFC 5322, "Tuesday, December 1, 2026 9:05 AM", "ti 1.
 * jouluk. 2026 klo 9.05", "1. Dezember 2026 09:05", ...), in local time
 * unless it names a zone. 1 with *f filled (free with forward_clear()),
 * 0 when there is none or its sender has no address.
 */
int forward_find(const char *text, struct forward *f);
void forward_clear(struct forward *f);

#endif
