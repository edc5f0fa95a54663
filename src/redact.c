/*
 * NAME
 *	redact.c — card numbers, personal identity codes and IBANs masked.
 * DESCRIPTION
 *	One pass over the text. At a digit that starts a word, a Finnish
 *	personal identity code (henkilötunnus: DDMMYY, century sign, an
 *	individual number and a mod-31 check character) is tried first;
 *	else the run of digit groups there (separated by a space, a dash, a
 *	no-break space, and in HTML by tags and &nbsp;; a quoted-printable
 *	soft line break anywhere) is searched for 13 to 19 digits of whole
 *	groups that pass the Luhn check and begin as a card network's
 *	numbers do. At a capital that starts a word, an IBAN (mod-97).
 *	Nothing else is touched: an order number that fails its check stays.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/redact.h"

#define RUN_MAX		64	/* digits of one run looked at */
#define TAG_MAX		200	/* bytes of a tag stepped over */
#define IBAN_MIN	15
#define IBAN_MAX	34

/* A run of digit groups: where each digit is, where each group starts. */
struct run {
	char		 dig[RUN_MAX];
	size_t		 pos[RUN_MAX];	/* byte offset of each digit */
	unsigned	 group[RUN_MAX + 1];	/* first digit of each group */
	size_t		 ngroup;
	size_t		 n;
};

static int
word_start(const char *t, size_t i)
{
	return i == 0 || !isalnum((unsigned char)t[i - 1]);
}

/* The byte after one thing that may sit inside a number at i, or i. */
static size_t
ignorable(const char *t, size_t len, size_t i, int html)
{
	if (t[i] == '=' && i + 1 < len && t[i + 1] == '\n')
		return i + 2;
	if (t[i] == '=' && i + 2 < len && t[i + 1] == '\r' && t[i + 2] == '\n')
		return i + 3;
	if (!html)
		return i;
	if (t[i] == '<' && i + 1 < len && (isalpha((unsigned char)t[i + 1]) ||
	    t[i + 1] == '/')) {
		for (size_t j = i + 1; j < len && j < i + TAG_MAX; j++) {
			if (t[j] == '<')
				break;
			if (t[j] == '>')
				return j + 1;
		}
	}
	return i;
}

/* The bytes of one separator at i: space, dash, no-break space. */
static size_t
separator(const char *t, size_t len, size_t i, int html)
{
	if (t[i] == ' ' || t[i] == '-')
		return 1;
	if ((unsigned char)t[i] == 0xc2 && i + 1 < len &&
	    (unsigned char)t[i + 1] == 0xa0)
		return 2;
	if (html && t[i] == '&') {
		static const char *const ents[] = { "&nbsp;", "&#160;",
		    "&#xa0;" };

		for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
			if (len - i >= strlen(ents[k]) &&
			    strncasecmp(t + i, ents[k], strlen(ents[k])) == 0)
				return strlen(ents[k]);
	}
	return 0;
}

static size_t
skip_ignorable(const char *t, size_t len, size_t i, int html)
{
	size_t j;

	while (i < len && (j = ignorable(t, len, i, html)) != i)
		i = j;
	return i;
}

/*
 * Where the next group of the number starts after the digit before i,
 * or 0 when the number ends at i.
 */
static size_t
gap(const char *t, size_t len, size_t i, int html)
{
	size_t j = skip_ignorable(t, len, i, html), s;

	if (j < len && (s = separator(t, len, j, html)) > 0)
		j = skip_ignorable(t, len, j + s, html);
	if (j > i && j < len && isdigit((unsigned char)t[j]))
		return j;
	return 0;
}

/* Collects the run at i; returns the byte after its last digit. */
static size_t
run_collect(const char *t, size_t len, size_t i, int html, struct run *r)
{
	size_t next;

	r->n = r->ngroup = 0;
	for (;;) {
		if (r->n < RUN_MAX)
			r->group[r->ngroup++] = (unsigned)r->n;
		for (; i < len && isdigit((unsigned char)t[i]); i++) {
			if (r->n < RUN_MAX) {
				r->dig[r->n] = t[i];
				r->pos[r->n++] = i;
			}
		}
		if ((next = gap(t, len, i, html)) == 0)
			break;
		i = next;
	}
	/* A group that runs into a letter is part of a word, as is the
	 * group the limit cut. */
	if (r->ngroup > 0 && ((i < len && isalpha((unsigned char)t[i])) ||
	    r->n == RUN_MAX))
		r->n = r->group[--r->ngroup];
	r->group[r->ngroup] = (unsigned)r->n;
	return i;
}

static int
luhn(const char *d, size_t n)
{
	int sum = 0;

	for (size_t k = 0; k < n; k++) {
		int v = d[n - 1 - k] - '0';

		if (k & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* Whether n digits begin as a card network's numbers of that length do. */
static int
iin(const char *d, size_t n)
{
	int p2 = (d[0] - '0') * 10 + (d[1] - '0');
	int p3 = p2 * 10 + (d[2] - '0');
	int p4 = p3 * 10 + (d[3] - '0');

	switch (d[0]) {
	case '2':	/* Mastercard 2221-2720, Mir 2200-2204 */
		return (p4 >= 2221 && p4 <= 2720 && n == 16) ||
		    (p4 >= 2200 && p4 <= 2204 && n >= 16);
	case '3':	/* Amex, Diners, JCB */
		if (p2 == 34 || p2 == 37)
			return n == 15;
		if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 ||
		    p2 == 39)
			return n >= 14;
		return p4 >= 3528 && p4 <= 3589 && n >= 16;
	case '4':	/* Visa */
		return n == 13 || n == 16 || n == 19;
	case '5':	/* Mastercard 51-55, Maestro 50, 56-59 */
		if (p2 >= 51 && p2 <= 55)
			return n == 16;
		return p2 == 50 || p2 >= 56;
	case '6':	/* Maestro, Discover, UnionPay, RuPay */
		return 1;
	default:
		return 0;
	}
}

static int
card(const char *d, size_t n)
{
	return n >= 13 && n <= 19 && iin(d, n) && luhn(d, n);
}

/* Copies the tags inside [a, b) of t to out: markup stays balanced. */
static void
keep_tags(const char *t, size_t a, size_t b, struct buf *out)
{
	for (size_t i = a; i < b; i++) {
		size_t j = ignorable(t, b, i, 1);

		if (j != i && t[i] == '<') {
			buf_add(out, t + i, j - i);
			i = j - 1;
		}
	}
}

struct out {
	const char	*t;
	size_t		 copied;	/* bytes of t already in b */
	int		 html;
	struct buf	 b;
};

static void
replace(struct out *o, size_t a, size_t b, const char *mask)
{
	if (o->b.data == NULL)
		buf_init(&o->b, 0);
	buf_add(&o->b, o->t + o->copied, a - o->copied);
	buf_addstr(&o->b, mask);
	if (o->html)
		keep_tags(o->t, a, b, &o->b);
	o->copied = b;
}

/* The cards in the run, masked and counted in *count; returns the byte
 * after the last (0: none). */
static size_t
run_cards(struct out *o, const struct run *r, unsigned *count)
{
	size_t end = 0;

	for (size_t gs = 0; gs < r->ngroup; gs++) {
		size_t best = 0, a = r->group[gs];

		for (size_t ge = gs + 1; ge <= r->ngroup; ge++) {
			size_t n = r->group[ge] - a;

			if (n > 19)
				break;
			if (card(r->dig + a, n))
				best = ge;
		}
		if (best) {
			size_t n = r->group[best] - a;
			char mask[20];

			memcpy(mask, r->dig + a, 6);
			memset(mask + 6, '*', n - 10);
			memcpy(mask + n - 4, r->dig + a + n - 4, 4);
			mask[n] = '\0';
			end = r->pos[a + n - 1] + 1;
			replace(o, r->pos[a], end, mask);
			(*count)++;
			gs = best - 1;
		}
	}
	return end;
}

/* The length of a valid HETU at i, or 0. */
static size_t
hetu(const char *t, size_t len, size_t i)
{
	static const char check[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	const char *p = t + i;
	int day, mon, year, century;
	long num;
	char c;

	if (len - i < 11)
		return 0;
	for (int k = 0; k < 6; k++)
		if (!isdigit((unsigned char)p[k]))
			return 0;
	for (int k = 7; k < 10; k++)
		if (!isdigit((unsigned char)p[k]))
			return 0;
	if (len - i > 11 && isalnum((unsigned char)p[11]))
		return 0;
	switch (p[6]) {
	case '+':
		century = 1800;
		break;
	case '-': case 'U': case 'V': case 'W': case 'X': case 'Y':
		century = 1900;
		break;
	case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
		century = 2000;
		break;
	default:
		return 0;
	}
	day = (p[0] - '0') * 10 + (p[1] - '0');
	mon = (p[2] - '0') * 10 + (p[3] - '0');
	year = century + (p[4] - '0') * 10 + (p[5] - '0');
	if (mon < 1 || mon > 12 || day < 1)
		return 0;
	if (day > mdays[mon - 1] + (mon == 2 && year % 4 == 0 &&
	    (year % 100 != 0 || year % 400 == 0)))
		return 0;
	num = strtol((char[]){ p[0], p[1], p[2], p[3], p[4], p[5], p[7], p[8],
	    p[9], '\0' }, NULL, 10);
	if (num % 1000 < 2)	/* individual numbers are 002-999 */
		return 0;
	c = (char)toupper((unsigned char)p[10]);
	return c == check[num % 31] ? 11 : 0;
}

/* The length of a valid IBAN at i (its spaces included), or 0. */
static size_t
iban(struct out *o, size_t len, size_t i)
{
	const char *t = o->t;
	char ch[IBAN_MAX];
	size_t pos[IBAN_MAX], n = 0, j = i, ends[IBAN_MAX + 1], nends = 0;

	if (len - i < IBAN_MIN || !isupper((unsigned char)t[i]) ||
	    !isupper((unsigned char)t[i + 1]) ||
	    !isdigit((unsigned char)t[i + 2]) ||
	    !isdigit((unsigned char)t[i + 3]))
		return 0;
	for (;;) {
		while (j < len && n < IBAN_MAX && (isdigit((unsigned char)t[j]) ||
		    isupper((unsigned char)t[j]))) {
			pos[n] = j;
			ch[n++] = t[j++];
		}
		if (j < len && isalnum((unsigned char)t[j]))
			break;	/* into a word: this group is not ours */
		ends[nends++] = n;
		if (n < IBAN_MAX && j + 1 < len && t[j] == ' ' &&
		    (isdigit((unsigned char)t[j + 1]) ||
		    isupper((unsigned char)t[j + 1])))
			j++;
		else
			break;
	}
	while (nends > 0) {
		size_t m = ends[--nends];
		unsigned rem = 0;
		char mask[IBAN_MAX + 1];

		if (m < IBAN_MIN)
			break;
		for (size_t k = 0; k < m; k++) {
			char c = ch[(k + 4) % m];

			if (isdigit((unsigned char)c))
				rem = (rem * 10 + (unsigned)(c - '0')) % 97;
			else
				rem = (rem * 100 + (unsigned)(c - 'A' + 10)) %
				    97;
		}
		if (rem != 1)
			continue;
		memcpy(mask, ch, 4);
		memset(mask + 4, '*', m - 8);
		memcpy(mask + m - 4, ch + m - 4, 4);
		mask[m] = '\0';
		replace(o, i, pos[m - 1] + 1, mask);
		return pos[m - 1] + 1 - i;
	}
	return 0;
}

char *
redact_text(const char *text, size_t len, int kinds, int html,
    struct redact_count *n)
{
	struct out o = { text, 0, html, { 0 } };
	struct redact_count none;
	struct run r;

	if (n == NULL) {
		memset(&none, 0, sizeof(none));
		n = &none;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		size_t k;

		if (!word_start(text, i) || (!isdigit(c) && !isupper(c)))
			continue;
		if (isupper(c)) {
			if ((kinds & REDACT_IBAN) && (k = iban(&o, len, i)) > 0) {
				n->iban++;
				i += k - 1;
			}
			continue;
		}
		if ((kinds & REDACT_HETU) && (k = hetu(text, len, i)) > 0) {
			char mask[12];

			snprintf(mask, sizeof(mask), "%.6s%c****", text + i,
			    text[i + 6]);
			replace(&o, i, i + k, mask);
			n->hetu++;
			i += k - 1;
			continue;
		}
		if (!(kinds & REDACT_CARDS))
			continue;
		run_collect(text, len, i, html, &r);
		if ((k = run_cards(&o, &r, &n->cards)) > 0) {
			i = k - 1;
		} else if (r.ngroup > 0) {
			/* The next group is looked at on its own. */
			i = r.pos[r.group[1] - 1];
		} else {
			while (i + 1 < len && isdigit((unsigned char)text[i + 1]))
				i++;
		}
	}
	if (o.b.data == NULL)
		return NULL;
	buf_add(&o.b, text + o.copied, len - o.copied);
	return buf_release(&o.b);
}

int
redact_parse(const char *spec, int *kinds, char *err, size_t errlen)
{
	char word[16];
	size_t n;

	*kinds = 0;
	while (spec && *spec) {
		spec += strspn(spec, ", \t");
		if ((n = strcspn(spec, ", \t")) == 0)
			break;
		snprintf(word, sizeof(word), "%.*s", (int)n, spec);
		if (strcasecmp(word, "cards") == 0 ||
		    strcasecmp(word, "card") == 0)
			*kinds |= REDACT_CARDS;
		else if (strcasecmp(word, "hetu") == 0)
			*kinds |= REDACT_HETU;
		else if (strcasecmp(word, "iban") == 0)
			*kinds |= REDACT_IBAN;
		else if (strcasecmp(word, "none") != 0) {
			snprintf(err, errlen, "unknown kind \"%.*s\" (want "
			    "cards, hetu, iban or none)", (int)n, spec);
			return -1;
		}
		spec += n;
	}
	return 0;
}

void
redact_count_str(const struct redact_count *n, char *out, size_t len)
{
	const char *sep = "";
	int w;

	*out = '\0';
	if (n->cards && (w = snprintf(out, len, "cards=%u", n->cards)) > 0) {
		sep = " ";
		out += w;
		len -= (size_t)w < len ? (size_t)w : len;
	}
	if (n->hetu && len > 0 &&
	    (w = snprintf(out, len, "%shetu=%u", sep, n->hetu)) > 0) {
		sep = " ";
		out += w;
		len -= (size_t)w < len ? (size_t)w : len;
	}
	if (n->iban && len > 0)
		snprintf(out, len, "%siban=%u", sep, n->iban);
}
