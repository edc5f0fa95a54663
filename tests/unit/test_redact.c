/* Unit tests for redact.c: what is masked, what is left alone. */
#include <stdlib.h>
#include <string.h>

#include "tk_test.h"
#include "tiketti/redact.h"

static void
masks(const char *in, int kinds, int html, const char *want,
    unsigned cards, unsigned hetu, unsigned iban)
{
	struct redact_count n = { 0, 0, 0 };
	char *got = redact_text(in, strlen(in), kinds, html, &n);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("\"%s\": masked as \"%s\", want untouched", in,
			    got);
		free(got);
		return;
	}
	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", in,
		    got ? got : "(untouched)", want);
	if (n.cards != cards || n.hetu != hetu || n.iban != iban)
		fail_msg("\"%s\": counted %u/%u/%u, want %u/%u/%u", in, n.cards,
		    n.hetu, n.iban, cards, hetu, iban);
	free(got);
}

#define ALL (REDACT_CARDS | REDACT_HETU | REDACT_IBAN)

static void
t_cards(void **state)
{
	(void)state;
	masks("card 4111111111111111 thanks", ALL, 0,
	    "card 411111******1111 thanks", 1, 0, 0);
	masks("4111 1111 1111 1111", ALL, 0, "411111******1111", 1, 0, 0);
	masks("4111-1111-1111-1111.", ALL, 0, "411111******1111.", 1, 0, 0);
	/* Amex 4-6-5, Mastercard 2-series, a no-break space */
	masks("3782 822463 10005", ALL, 0, "378282*****0005", 1, 0, 0);
	masks("2221\xc2\xa0" "0000\xc2\xa0" "0000\xc2\xa0" "0009", ALL, 0,
	    "222100******0009", 1, 0, 0);
	/* with the CVC and an order number around it */
	masks("Order 12345678 card 5555 5555 5555 4444 123", ALL, 0,
	    "Order 12345678 card 555555******4444 123", 1, 0, 0);
	masks("4111111111111111 and 5500 0000 0000 0004", ALL, 0,
	    "411111******1111 and 550000******0004", 2, 0, 0);
	/* a quoted-printable soft line break inside */
	masks("4111 1111 11=\r\n11 1111", ALL, 0, "411111******1111", 1, 0, 0);
	/* HTML: tags and &nbsp; between the groups; the tags follow */
	masks("<p>4111 <b>1111</b> 1111&nbsp;1111</p>", ALL, 1,
	    "<p>411111******1111<b></b></p>", 1, 0, 0);
	/* left alone: Luhn fails, no network, too long, inside a word */
	masks("order 1234 5678 9012 3456", ALL, 0, NULL, 0, 0, 0);
	masks("4111 1111 1111 1112", ALL, 0, NULL, 0, 0, 0);
	masks("ref 0000000000000000", ALL, 0, NULL, 0, 0, 0);
	masks("41111111111111111111111", ALL, 0, NULL, 0, 0, 0);
	masks("X4111111111111111 4111111111111111Y", ALL, 0, NULL, 0, 0, 0);
	masks("tel. +358 40 123 4567, 2026-12-03", ALL, 0, NULL, 0, 0, 0);
	/* not asked for */
	masks("4111111111111111", REDACT_HETU, 0, NULL, 0, 0, 0);
}

static void
t_hetu(void **state)
{
	(void)state;
	masks("hetu 131052-308T.", ALL, 0, "hetu 131052-****.", 0, 1, 0);
	masks("010594Y9021", ALL, 0, "010594Y****", 0, 1, 0);
	masks("lapsi 020304A123U ok", ALL, 0, NULL, 0, 0, 0); /* bad check */
	masks("131052-308t", ALL, 0, "131052-****", 0, 1, 0);
	masks("310252-308T", ALL, 0, NULL, 0, 0, 0);	/* no 31 Feb */
	masks("131052-308TX", ALL, 0, NULL, 0, 0, 0);	/* in a word */
	masks("131052*308T", ALL, 0, NULL, 0, 0, 0);	/* no such sign */
	masks("131052-308T", REDACT_CARDS, 0, NULL, 0, 0, 0);
}

static void
t_iban(void **state)
{
	(void)state;
	masks("tili FI21 1234 5600 0007 85 kiitos", ALL, 0,
	    "tili FI21**********0785 kiitos", 0, 0, 1);
	masks("GB82WEST12345698765432", ALL, 0, "GB82**************5432",
	    0, 0, 1);
	masks("FI21 1234 5600 0007 86", ALL, 0, NULL, 0, 0, 0);	/* mod-97 */
	masks("FI21 1234 5600 0007 85", REDACT_CARDS | REDACT_HETU, 0, NULL,
	    0, 0, 0);
}

static void
t_parse(void **state)
{
	char err[128];
	int k;

	(void)state;
	assert_int_equal(redact_parse("cards, hetu", &k, err, sizeof(err)), 0);
	assert_int_equal(k, REDACT_CARDS | REDACT_HETU);
	assert_int_equal(redact_parse("cards hetu,iban", &k, err, sizeof(err)),
	    0);
	assert_int_equal(k, ALL);
	assert_int_equal(redact_parse("none", &k, err, sizeof(err)), 0);
	assert_int_equal(k, 0);
	assert_int_equal(redact_parse("cards, ssn", &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"ssn\""));
}

static void
t_count_str(void **state)
{
	struct redact_count n = { 2, 0, 1 };
	char s[64];

	(void)state;
	redact_count_str(&n, s, sizeof(s));
	assert_string_equal(s, "cards=2 iban=1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cards),
		cmocka_unit_test(t_hetu),
		cmocka_unit_test(t_iban),
		cmocka_unit_test(t_parse),
		cmocka_unit_test(t_count_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
