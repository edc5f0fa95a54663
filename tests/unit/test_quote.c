/* Unit tests for quote.c: the new text of replies in six languages. */
#include "tk_test.h"
#include "tiketti/buf.h"
#include "tiketti/quote.h"

static void
is_new(const char *text, const char *want)
{
	char *got = quote_strip(text);

	if (strcmp(got, want) != 0)
		fail_msg("quote_strip:\n%s\n--- got:\n%s\n--- want:\n%s", text,
		    got, want);
	free(got);
}

static void
t_attributions(void **state)
{
	(void)state;
	is_new("Thanks, that helped.\n\nOn Mon, 5 Jan 2026 at 10:00, Anna "
	    "<anna@x.fi> wrote:\n> Where is my order?\n> Anna\n",
	    "Thanks, that helped.");
	/* Gmail wraps the attribution */
	is_new("Kiitos!\n\nOn Mon, Jan 5, 2026 at 10:00 AM Anna Asiakas <\n"
	    "anna@asiakas.example> wrote:\n\n> Missä tilaus?\n", "Kiitos!");
	is_new("Ei vieläkään.\n\nma 5. tammik. 2026 klo 10.00 Anna "
	    "(anna@x.fi) kirjoitti:\n> Missä tilaus?\n", "Ei vieläkään.");
	is_new("Tack.\n\nDen 5 jan. 2026 kl. 10:00 skrev Anna <a@x.se>:\n"
	    "> Var är ordern?\n", "Tack.");
	is_new("Danke.\n\nAm 05.01.2026 um 10:00 schrieb Anna <a@x.de>:\n"
	    "> Wo ist die Bestellung?\n", "Danke.");
	is_new("Спасибо.\n\n5 января 2026 г., 10:00, Анна <a@x.ru> написал(а):"
	    "\n> Где заказ?\n", "Спасибо.");
	is_new("Дякую.\n\n05.01.2026 10:00 Анна написав:\n> Де замовлення?\n",
	    "Дякую.");
	/* interleaved: the quotes go, the answers stay */
	is_new("> First question?\nFirst answer.\n> Second?\nSecond answer.\n",
	    "First answer.\nSecond answer.");
	/* a complaint word only in the quote is gone with it */
	is_new("Ok, I see.\n\nOn Tue, Jan 6, 2026, Maria wrote:\n> reklamaatio\n",
	    "Ok, I see.");
}

static void
t_outlook(void **state)
{
	(void)state;
	is_new("See below.\n\n________________________________\nFrom: Anna "
	    "<a@x.fi>\nSent: Monday, January 5, 2026 10:00\nTo: Support\n"
	    "Subject: Order\n\nWhere is it?\n", "See below.");
	is_new("Katso alta.\n\nLähettäjä: Anna <a@x.fi>\nLähetetty: maanantai "
	    "5. tammikuuta 2026 10.00\nVastaanottaja: Tuki\nAihe: Tilaus\n\n"
	    "Missä?\n", "Katso alta.");
	is_new("Se nedan.\n\nFrån: Anna\nSkickat: den 5 januari 2026\nTill: "
	    "Support\nÄmne: Order\n\nVar?\n", "Se nedan.");
	is_new("Siehe unten.\n\nVon: Anna\nGesendet: Montag, 5. Januar 2026\n"
	    "An: Support\nBetreff: Bestellung\n\nWo?\n", "Siehe unten.");
	is_new("См. ниже.\n\nОт: Анна\nОтправлено: 5 января 2026 г.\nКому: "
	    "Поддержка\nТема: Заказ\n\nГде?\n", "См. ниже.");
	is_new("Див. нижче.\n\nВід: Анна\nНадіслано: 5 січня 2026 р.\nКому: "
	    "Підтримка\nТема: Замовлення\n\nДе?\n", "Див. нижче.");
	is_new("Ok.\n-----Original Message-----\nFrom: x\nold\n", "Ok.");
	/* one "From:" line alone is no header block */
	is_new("From: the manual, page 4.\nStill broken.\n",
	    "From: the manual, page 4.\nStill broken.\n");
}

static void
t_signature_and_nothing_left(void **state)
{
	(void)state;
	is_new("Kiitos!\n-- \nAnna Asiakas\n040 123 4567\n", "Kiitos!");
	/* nothing new at all: the whole text */
	is_new("> only a quote\n", "> only a quote\n");
	is_new("", "");
	/* nothing quoted: the text as it is */
	is_new("plain text\n", "plain text\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_attributions),
		cmocka_unit_test(t_outlook),
		cmocka_unit_test(t_signature_and_nothing_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
