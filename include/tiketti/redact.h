/*
 * redact.h — payment card numbers, Finnish personal identity codes
 * (henkilötunnus) and IBANs found in text and masked. Knows nothing of
 * mail or SQL.
 */
#ifndef TIKETTI_REDACT_H
#define TIKETTI_REDACT_H

#include <stddef.h>

enum redact_kind {
	REDACT_CARDS	= 1 << 0,	/* 13-19 digits, Luhn, known IIN */
	REDACT_HETU	= 1 << 1,	/* DDMMYYCZZZQ, mod-31 check */
	REDACT_IBAN	= 1 << 2,	/* CCkk BBAN, mod-97 check */
};

/* How many of each were masked. */
struct redact_count {
	unsigned	cards;
	unsigned	hetu;
	unsigned	iban;
};

/*
 * Reads "cards, hetu, iban" (any of them, comma or space separated;
 * "none" or "" for none) into *kinds. -1 with a message in err for an
 * unknown word.
 */
int redact_parse(const char *spec, int *kinds, char *err, size_t errlen);

/*
 * Text with what kinds asks for masked: a card as its first 6 and last
 * 4 digits (411111******1111), a HETU as its date, century sign and
 * **** (131052-****), an IBAN as its first 4 and last 4 characters.
 * A number that fails its check is left alone. Spaces, dashes,
 * no-break spaces, quoted-printable soft line breaks and, when html,
 * tags and &nbsp; may sit between the groups of a number; the tags
 * inside a masked number follow its mask, so markup stays balanced.
 * NULL when nothing was found; else a new NUL-terminated string the
 * caller frees, and the counts added to *n (which may be NULL).
 */
char *redact_text(const char *text, size_t len, int kinds, int html,
    struct redact_count *n);

/* The counts as "cards=1 hetu=2" (only those not 0) in out. */
void redact_count_str(const struct redact_count *n, char *out, size_t len);

#endif
