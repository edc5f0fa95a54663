/* Unit tests for forward.c: the header blocks of forwarding mail
 * programs in four languages, their senders and dates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tk_test.h"
#include "tiketti/forward.h"

static int64_t
local(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_isdst = -1 };

	return (int64_t)mktime(&tm);
}

static void
finds(const char *text, const char *addr, const char *name,
    const char *subject, int64_t date, const char *body)
{
	struct forward f;

	if (!forward_find(text, &f))
		fail_msg("no forward found in:\n%s", text);
	if (strcmp(f.from_addr, addr) != 0)
		fail_msg("from %s, want %s", f.from_addr, addr);
	if ((name == NULL) != (f.from_name == NULL) ||
	    (name && strcmp(name, f.from_name) != 0))
		fail_msg("name %s, want %s", f.from_name ? f.from_name : "(none)",
		    name ? name : "(none)");
	if ((subject == NULL) != (f.subject == NULL) ||
	    (subject && strcmp(subject, f.subject) != 0))
		fail_msg("subject %s, want %s", f.subject ? f.subject : "(none)",
		    subject ? subject : "(none)");
	if (f.date != date)
		fail_msg("date %lld, want %lld", (long long)f.date,
		    (long long)date);
	if (strncmp(f.body, body, strlen(body)) != 0)
		fail_msg("body \"%.40s\", want \"%s\"", f.body, body);
	forward_clear(&f);
}

static void
t_outlook(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Helsinki", 1);
	tzset();
	finds("#fwd\nTämä tuli minulle.\n\n________________________________\n"
	    "Lähettäjä: Virtanen, Anna <anna.virtanen@asiakas.example>\n"
	    "Lähetetty: tiistai 1. joulukuuta 2026 9.05\n"
	    "Vastaanottaja: Maria <maria@yritys.example>\n"
	    "Aihe: Laskuvirhe\n\nHei, laskussa on virhe.\n",
	    "anna.virtanen@asiakas.example", "Virtanen, Anna", "Laskuvirhe",
	    local(2026, 12, 1, 9, 5), "Hei, laskussa");
	finds("-----Original Message-----\nFrom: Anna Virtanen [mailto:Anna@Asiakas.example]\n"
	    "Sent: Tuesday, December 1, 2026 9:05 PM\nTo: Support\n"
	    "Subject: Invoice\n\nHello.\n", "anna@asiakas.example",
	    "Anna Virtanen", "Invoice", local(2026, 12, 1, 21, 5), "Hello.");
	finds("Från: Anna <anna@asiakas.example>\nSkickat: den 1 december 2026 09:05\n"
	    "Till: support@yritys.example\nÄmne: Faktura\n\nHej.\n",
	    "anna@asiakas.example", "Anna", "Faktura", local(2026, 12, 1, 9, 5),
	    "Hej.");
	finds("Von: Anna <anna@asiakas.example>\nGesendet: Dienstag, 1. Dezember 2026 09:05\n"
	    "An: support@yritys.example\nBetreff: Rechnung\n\nHallo.\n",
	    "anna@asiakas.example", "Anna", "Rechnung", local(2026, 12, 1, 9, 5),
	    "Hallo.");
	/* *bold* keys (from HTML), and a long To: that wrapped */
	finds("*From:* Anna <anna@asiakas.example>\n*Sent:* 1.12.2026 9.05\n"
	    "*To:* a@x.example; b@x.example;\nc@x.example\n*Subject:* Re: X\n\nText\n",
	    "anna@asiakas.example", "Anna", "Re: X", local(2026, 12, 1, 9, 5),
	    "Text");
}

static void
t_gmail_thunderbird(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Helsinki", 1);
	tzset();
	finds("---------- Forwarded message ---------\nFrom: Anna <anna@asiakas.example>\n"
	    "Date: Tue, Dec 1, 2026 at 9:05 AM\nSubject: Order\nTo: <tuki@yritys.example>\n\n"
	    "Where is it?\n", "anna@asiakas.example", "Anna", "Order",
	    local(2026, 12, 1, 9, 5), "Where is it?");
	finds("-------- Forwarded Message --------\nSubject: Order\n"
	    "Date: Tue, 1 Dec 2026 09:05:00 +0200\nFrom: anna@asiakas.example\n"
	    "To: tuki@yritys.example\n\nWhere?\n", "anna@asiakas.example", NULL,
	    "Order", local(2026, 12, 1, 9, 5), "Where?");
	finds("-------- Weitergeleitete Nachricht --------\nBetreff: Bestellung\n"
	    "Datum: Tue, 1 Dec 2026 07:05:00 +0000\nVon: \"Anna\" <anna@asiakas.example>\n\n"
	    "Wo?\n", "anna@asiakas.example", "Anna", "Bestellung",
	    local(2026, 12, 1, 9, 5), "Wo?");
}

static void
t_none(void **state)
{
	struct forward f;

	(void)state;
	assert_int_equal(forward_find("Hello.\nFrom: me\n", &f), 0);
	assert_int_equal(forward_find("From: nobody\nSubject: x\n\nno address\n",
	    &f), 0);
	assert_int_equal(forward_find("", &f), 0);
	/* a date no program writes: the block still counts, undated */
	assert_int_equal(forward_find("From: a@b.example\nDate: someday\n\nx\n",
	    &f), 1);
	assert_int_equal(f.date, 0);
	forward_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_outlook),
		cmocka_unit_test(t_gmail_thunderbird),
		cmocka_unit_test(t_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
