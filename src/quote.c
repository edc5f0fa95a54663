/*
 * NAME
 *	quote.c — what a reply added: its text without the mail it quotes.
 * DESCRIPTION
 *	Reads a message's decoded text line by line and keeps what the
 *	writer wrote this time: ">"-quoted blocks and the attribution line
 *	mail programs write above them go, an Outlook header block (in
 *	English, Finnish, Swedish, German, Russian or Ukrainian) or an
 *	"Original Message" line ends the new text, as does a signature
 *	separator. Knows nothing of MIME or the store. Pure; thread-safe.
 * DIAGNOSTICS
 *	None: a text it cannot shorten comes back whole.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/quote.h"
#include "tiketti/str.h"

#define QUOTE_MAX_LINES	20000	/* lines looked at; the rest is kept */

struct line {
	const char	*p;
	size_t		 n;	/* without the line end */
};

/* The verbs of the attribution line, lower case. */
static const char *const wrote[] = {
	"wrote", "writes", "kirjoitti", "skrev", "schrieb", "написал",
	"написала", "написал(а)", "пишет", "написав", "написала", "пише",
	"a écrit", "scrisse", "escribió", "schreef", NULL
};

/* Outlook's header block: a language's From, Sent, To and Subject. */
static const char *const outlook[][4] = {
	{ "from:", "sent:", "to:", "subject:" },
	{ "lähettäjä:", "lähetetty:", "vastaanottaja:", "aihe:" },
	{ "från:", "skickat:", "till:", "ämne:" },
	{ "von:", "gesendet:", "an:", "betreff:" },
	{ "от:", "отправлено:", "кому:", "тема:" },
	{ "від:", "надіслано:", "кому:", "тема:" },
	{ "de :", "envoyé :", "à :", "objet :" },
};

/* "-----Original Message-----" and its translations. */
static const char *const original[] = {
	"original message", "alkuperäinen viesti", "ursprungligt meddelande",
	"ursprüngliche nachricht", "исходное сообщение",
	"початкове повідомлення", "message d'origine", NULL
};

/* A lower-cased copy of a line, trimmed (caller frees). */
static char *
fold(const struct line *l)
{
	char *s = xstrndup(l->p, l->n);

	return str_trim(str_fold(s));
}

static int
quoted(const struct line *l)
{
	size_t i = 0;

	while (i < l->n && (l->p[i] == ' ' || l->p[i] == '\t'))
		i++;
	return i < l->n && l->p[i] == '>';
}

static int
blank_line(const struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i] != ' ' && l->p[i] != '\t' && l->p[i] != '\r')
			return 0;
	return 1;
}

/* 1 when the line ends in ':' (white space aside). */
static int
ends_colon(const struct line *l)
{
	size_t n = l->n;

	while (n > 0 && (l->p[n - 1] == ' ' || l->p[n - 1] == '\t' ||
	    l->p[n - 1] == '\r'))
		n--;
	return n > 0 && l->p[n - 1] == ':';
}

/* 1 when the folded text is an attribution: it ends in ':' and names
 * one of the verbs as a word. */
static int
attribution(const char *s)
{
	size_t n = strlen(s);

	if (n < 6 || n > 400 || s[n - 1] != ':')
		return 0;
	for (int i = 0; wrote[i]; i++) {
		const char *w = strstr(s, wrote[i]);
		size_t wl = strlen(wrote[i]);

		for (; w; w = strstr(w + 1, wrote[i]))
			if ((w == s || w[-1] == ' ') &&
			    (w[wl] == ':' || w[wl] == ' ' || w[wl] == '\0'))
				return 1;
	}
	return 0;
}

/* The language of an Outlook "From:" line at l, or -1. */
static int
outlook_from(const struct line *l)
{
	char *s;
	int lang = -1;

	/* Its field name is a word or two: a colon early on. */
	if (memchr(l->p, ':', l->n < 24 ? l->n : 24) == NULL)
		return -1;
	s = fold(l);

	for (size_t k = 0; k < sizeof(outlook) / sizeof(outlook[0]); k++)
		if (strncmp(s, outlook[k][0], strlen(outlook[k][0])) == 0) {
			lang = (int)k;
			break;
		}
	free(s);
	return lang;
}

/* 1 when an Outlook header block starts at line i: a From line, then
 * within five lines two more of its language's fields. */
static int
outlook_block(const struct line *v, size_t n, size_t i)
{
	int lang = outlook_from(&v[i]), seen = 0;

	if (lang < 0)
		return 0;
	for (size_t k = i + 1; k < n && k <= i + 6; k++) {
		char *s;

		if (memchr(v[k].p, ':', v[k].n < 24 ? v[k].n : 24) == NULL)
			continue;
		s = fold(&v[k]);

		for (int f = 1; f < 4; f++)
			if (strncmp(s, outlook[lang][f], strlen(outlook[lang][f])) ==
			    0)
				seen++;
		free(s);
	}
	return seen >= 2;
}

/* "-----Original Message-----", "-- Alkuperäinen viesti --", ... */
static int
original_line(const struct line *l)
{
	char *s;
	int yes = 0;

	if (l->n < 10 || l->n > 120 || (l->p[0] != '-' && l->p[0] != '_' &&
	    l->p[0] != ' '))
		return 0;
	s = fold(l);
	for (int i = 0; original[i] && !yes; i++)
		yes = s[0] == '-' && strstr(s, original[i]) != NULL;
	free(s);
	return yes;
}

/* A line of underscores (Outlook's rule above its header block). */
static int
rule_line(const struct line *l)
{
	size_t i, u = 0;

	for (i = 0; i < l->n; i++)
		if (l->p[i] == '_')
			u++;
		else if (l->p[i] != ' ' && l->p[i] != '\t' && l->p[i] != '\r')
			return 0;
	return u >= 10;
}

char *
quote_strip(const char *text)
{
	struct line *v = NULL;
	size_t n = 0, end, i;
	struct buf out;
	char *res;
	int cut = 0;

	for (const char *p = text; *p && n < QUOTE_MAX_LINES;) {
		size_t len = strcspn(p, "\n");

		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].p = p;
		v[n].n = len;
		n++;
		p += len + (p[len] == '\n');
	}
	if (n == QUOTE_MAX_LINES) {	/* too long to look at: as it is */
		free(v);
		return xstrdup(text);
	}
	/* Where the new text ends: a header block, an original-message
	 * line, a signature. */
	for (end = 0; end < n; end++) {
		if ((v[end].n == 3 && strncmp(v[end].p, "-- ", 3) == 0) ||
		    (v[end].n == 4 && strncmp(v[end].p, "-- \r", 4) == 0) ||
		    original_line(&v[end]) || outlook_block(v, n, end))
			break;
	}
	if (end < n && end > 0 && rule_line(&v[end - 1]))
		end--;
	/* Quoted lines, and the attribution above a quote (or at the end,
	 * when what it introduces was cut), go. */
	buf_init(&out, 0);
	for (i = 0; i < end; i++) {
		size_t k;
		char *s;
		int attr;

		if (quoted(&v[i])) {
			cut = 1;
			continue;
		}
		/* An attribution ends in ':' on this line or the next. */
		if (!ends_colon(&v[i]) && (i + 1 >= end ||
		    !ends_colon(&v[i + 1]))) {
			buf_add(&out, v[i].p, v[i].n);
			buf_addc(&out, '\n');
			continue;
		}
		s = fold(&v[i]);
		attr = attribution(s);
		/* Gmail wraps a long one: "On ... Anna <" / "a@x> wrote:" */
		if (!attr && i + 1 < end && !quoted(&v[i + 1]) && *s) {
			char *next = fold(&v[i + 1]);
			char *two = xasprintf("%s %s", s, next);

			if (attribution(two) && strlen(next) < 120)
				attr = 2;
			free(next);
			free(two);
		}
		free(s);
		if (attr) {
			for (k = i + (size_t)attr; k < end && blank_line(&v[k]); k++)
				;
			if (k >= end || quoted(&v[k])) {
				i += (size_t)attr - 1;
				cut = 1;
				continue;
			}
		}
		buf_add(&out, v[i].p, v[i].n);
		buf_addc(&out, '\n');
	}
	free(v);
	res = str_trim(buf_release(&out));
	/* Nothing new, or nothing taken away: the text as it is. */
	if (*res == '\0' || (end == n && !cut)) {
		free(res);
		return xstrdup(text);
	}
	return res;
}
