/*
 * NAME
 *	forward.c — the message a forward carries in its text.
 * DESCRIPTION
 *	Mail programs forward inline by writing the original's headers as
 *	text above its body: Outlook "From: / Sent: / To: / Subject:" (in
 *	Finnish "Lähettäjä: / Lähetetty: / Vastaanottaja: / Aihe:", in
 *	Swedish "Från: / Skickat: / Till: / Ämne:", in German "Von: /
 *	Gesendet: / An: / Betreff:"), Gmail after "---------- Forwarded
 *	message ---------", Thunderbird after "-------- Forwarded Message
 *	--------" with Subject and Date first. forward_find() takes the
 *	first run of such lines that names a sender and a subject or a
 *	date, reads the sender's address, the subject and the date, and
 *	points at the text below.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tiketti/buf.h"
#include "tiketti/forward.h"
#include "tiketti/str.h"

enum key { K_NONE, K_FROM, K_DATE, K_TO, K_SUBJECT };

static const struct {
	const char	*word;	/* lower case */
	enum key	 key;
} keys[] = {
	{ "from", K_FROM }, { "lähettäjä", K_FROM }, { "från", K_FROM },
	{ "von", K_FROM }, { "avsändare", K_FROM },
	{ "date", K_DATE }, { "sent", K_DATE }, { "lähetetty", K_DATE },
	{ "päiväys", K_DATE }, { "päivämäärä", K_DATE }, { "skickat", K_DATE },
	{ "datum", K_DATE }, { "gesendet", K_DATE },
	{ "to", K_TO }, { "vastaanottaja", K_TO }, { "till", K_TO },
	{ "an", K_TO }, { "cc", K_TO }, { "kopio", K_TO }, { "kopia", K_TO },
	{ "subject", K_SUBJECT }, { "aihe", K_SUBJECT }, { "ämne", K_SUBJECT },
	{ "betreff", K_SUBJECT },
};

/* ASCII and the Nordic capitals in lower case, into out (NUL-ended). */
static void
fold(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0xc3 && i + 1 < n && o + 2 < outlen &&
		    ((unsigned char)s[i + 1] == 0x84 ||
		    (unsigned char)s[i + 1] == 0x96 ||
		    (unsigned char)s[i + 1] == 0x85)) {
			out[o++] = (char)c;
			out[o++] = (char)((unsigned char)s[++i] + 0x20);
		} else
			out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
}

/*
 * A line "Key: value" with a key of ours (quote marks, spaces and bold
 * stars around it allowed): the key, and the value's start and length.
 */
static enum key
header_line(const char *p, size_t n, const char **val, size_t *vlen)
{
	const char *e = p + n, *k, *colon;
	char word[32];

	while (p < e && (*p == '>' || *p == ' ' || *p == '\t'))
		p++;
	while (p < e && *p == '*')
		p++;
	k = p;
	while (p < e && (isalpha((unsigned char)*p) ||
	    (unsigned char)*p >= 0x80))
		p++;
	if (p == k || p - k >= (long)sizeof(word))
		return K_NONE;
	colon = p;
	while (colon < e && *colon == '*')
		colon++;
	if (colon >= e || *colon != ':')
		return K_NONE;
	fold(k, (size_t)(p - k), word, sizeof(word));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(word, keys[i].word) == 0) {
			p = colon + 1;
			while (p < e && (*p == '*' || *p == ' ' || *p == '\t'))
				p++;
			while (e > p && (e[-1] == '\r' || e[-1] == ' ' ||
			    e[-1] == '*'))
				e--;
			*val = p;
			*vlen = (size_t)(e - p);
			return keys[i].key;
		}
	return K_NONE;
}

/* The sender's name and address from "Name <a@b>", "a@b", "Name
 * [mailto:a@b]" or "Name (a@b)". */
static int
sender(const char *v, size_t n, struct forward *f)
{
	char *s = xstrndup(v, n), *a, *end, *name = NULL;

	if ((a = strstr(s, "mailto:")) != NULL) {
		name = xstrndup(s, (size_t)(a - s));
		a += 7;
	} else if ((a = strchr(s, '<')) != NULL) {
		name = xstrndup(s, (size_t)(a - s));
		a++;
	} else if ((a = strchr(s, '(')) != NULL && strchr(a, '@')) {
		name = xstrndup(s, (size_t)(a - s));
		a++;
	} else
		a = s;
	a += strspn(a, " \t\"'[");
	end = a + strcspn(a, " \t>)]\"',;");
	*end = '\0';
	if (strchr(a, '@') == NULL || a[0] == '@' || end[-1] == '@' ||
	    strlen(a) > 254) {
		free(name);
		free(s);
		return 0;
	}
	f->from_addr = str_lower(xstrdup(a));
	if (name) {
		str_trim(name);
		name[strcspn(name, "[")] = '\0';
		str_trim(name);
		for (char *q = name; *q; q++)
			if (*q == '"')
				*q = ' ';
		str_trim(name);
		if (*name && strcasecmp(name, f->from_addr) != 0)
			f->from_name = xstrdup(name);
	}
	free(name);
	free(s);
	return 1;
}

/* Month 1-12 of a month's name (or its start) in the four languages. */
static int
month(const char *w)
{
	static const char *const stems[][12] = {
		{ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
		  "oct", "nov", "dec" },
		{ "tammi", "helmi", "maalis", "huhti", "touko", "kesä", "heinä",
		  "elo", "syys", "loka", "marras", "joulu" },
		{ "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep",
		  "okt", "nov", "dec" },
		{ "jan", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep",
		  "okt", "nov", "dez" },
	};

	for (int l = 0; l < 4; l++)
		for (int m = 0; m < 12; m++)
			if (strncmp(w, stems[l][m], strlen(stems[l][m])) == 0)
				return m + 1;
	return 0;
}

/* A date as the mail programs write it, local unless a zone is given. */
static int64_t
when(const char *v, size_t n)
{
	char buf[128], *tok, *save = NULL;
	int day = 0, mon = 0, year = 0, hh = -1, mm = 0, ss = 0, pm = -1;
	int zone = 0, zoned = 0;
	struct tm tm;

	fold(v, n < sizeof(buf) ? n : sizeof(buf) - 1, buf, sizeof(buf));
	for (tok = strtok_r(buf, " ,\t", &save); tok;
	    tok = strtok_r(NULL, " ,\t", &save)) {
		int a, b, c;
		char x;

		if (sscanf(tok, "%d.%d.%d%c", &a, &b, &c, &x) >= 3 && c > 1900) {
			day = a;
			mon = b;
			year = c;
		} else if (sscanf(tok, "%d-%d-%d", &a, &b, &c) == 3 && a > 1900) {
			year = a;
			mon = b;
			day = c;
		} else if (sscanf(tok, "%d/%d/%d", &a, &b, &c) == 3 && c > 1900) {
			mon = a;	/* Outlook's US m/d/yyyy */
			day = b;
			year = c;
		} else if ((tok[0] == '+' || tok[0] == '-') &&
		    strspn(tok + 1, "0123456789") == 4 && tok[5] == '\0') {
			a = (int)strtol(tok + 1, NULL, 10);
			zone = (tok[0] == '-' ? -1 : 1) * ((a / 100) * 3600 +
			    (a % 100) * 60);
			zoned = 1;
		} else if (strcmp(tok, "gmt") == 0 || strcmp(tok, "utc") == 0)
			zoned = 1;
		else if (strcmp(tok, "am") == 0 || strcmp(tok, "a.m.") == 0)
			pm = 0;
		else if (strcmp(tok, "pm") == 0 || strcmp(tok, "p.m.") == 0)
			pm = 1;
		else if ((sscanf(tok, "%d:%d:%d", &a, &b, &c) == 3 ||
		    sscanf(tok, "%d:%d", &a, &b) == 2 ||
		    (year && sscanf(tok, "%d.%d", &a, &b) == 2 &&
		    strlen(strchr(tok, '.') + 1) == 2)) && a < 24 && b < 60) {
			hh = a;
			mm = b;
			ss = strchr(tok, ':') && strchr(strchr(tok, ':') + 1,
			    ':') ? c : 0;
			if (strlen(tok) > 2 && (strstr(tok, "pm") != NULL))
				pm = 1;
			else if (strlen(tok) > 2 && strstr(tok, "am") != NULL)
				pm = 0;
		} else if (isdigit((unsigned char)tok[0])) {
			a = (int)strtol(tok, NULL, 10);
			if (a > 1900 && a < 2200)
				year = a;
			else if (a >= 1 && a <= 31 && day == 0)
				day = a;
		} else if (mon == 0 && isalpha((unsigned char)tok[0]) &&
		    strlen(tok) >= 3)
			mon = month(tok);
	}
	if (day < 1 || day > 31 || mon < 1 || mon > 12 || year == 0)
		return 0;
	if (hh < 0)
		hh = 0;
	if (pm == 1 && hh < 12)
		hh += 12;
	else if (pm == 0 && hh == 12)
		hh = 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	tm.tm_isdst = -1;
	if (zoned)
		return (int64_t)timegm(&tm) - zone;
	return (int64_t)mktime(&tm);
}

int
forward_find(const char *text, struct forward *f)
{
	const char *p = text;

	memset(f, 0, sizeof(*f));
	while (*p) {
		const char *line = p, *q = p, *val = NULL, *fromv = NULL,
		    *subjv = NULL, *datev = NULL;
		size_t n = strcspn(p, "\n"), vlen = 0, fromn = 0, subjn = 0,
		    daten = 0;
		int lines = 0, skipped = 0;
		enum key k;

		if (header_line(line, n, &val, &vlen) == K_NONE) {
			p += n + (p[n] == '\n');
			continue;
		}
		/* A run of header lines; one wrapped line (a long To:) may
		 * sit inside it. */
		for (;;) {
			size_t ln = strcspn(q, "\n");

			if ((k = header_line(q, ln, &val, &vlen)) == K_NONE) {
				const char *nx = q + ln + (q[ln] == '\n');
				size_t nn = strcspn(nx, "\n");
				const char *v2;
				size_t l2;

				if (skipped || ln == 0 || *nx == '\0' ||
				    header_line(nx, nn, &v2, &l2) == K_NONE)
					break;
				skipped = 1;
			} else if (k == K_FROM && fromv == NULL) {
				fromv = val;
				fromn = vlen;
			} else if (k == K_SUBJECT && subjv == NULL) {
				subjv = val;
				subjn = vlen;
			} else if (k == K_DATE && datev == NULL) {
				datev = val;
				daten = vlen;
			}
			lines++;
			q += ln + (q[ln] == '\n');
			if (*q == '\0' || lines > 12)
				break;
		}
		if (fromv && (subjv || datev) && sender(fromv, fromn, f)) {
			if (subjv)
				f->subject = xstrndup(subjv, subjn <
				    FORWARD_MAX_VALUE ? subjn :
				    FORWARD_MAX_VALUE);
			if (datev)
				f->date = when(datev, daten);
			/* The text begins after the blank line, if one. */
			while (*q == '\r' || *q == '\n' || *q == ' ')
				q++;
			f->body = q;
			return 1;
		}
		p += n + (p[n] == '\n');
	}
	return 0;
}

void
forward_clear(struct forward *f)
{
	free(f->from_name);
	free(f->from_addr);
	free(f->subject);
	memset(f, 0, sizeof(*f));
}
