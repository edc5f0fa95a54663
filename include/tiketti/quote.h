/*
 * quote.h — what a reply added: its text without the mail it quotes.
 */
#ifndef TIKETTI_QUOTE_H
#define TIKETTI_QUOTE_H

/*
 * The new text of a message's text (caller frees): without ">"-quoted
 * lines and the line that introduces them ("On ... wrote:", "... kirjoitti:",
 * "... skrev:", "Am ... schrieb ...:", "... написал(а):", "... написав:"),
 * without an Outlook header block ("From:/Sent:/To:/Subject:" and its
 * Finnish, Swedish, German, Russian and Ukrainian forms, or "-----Original
 * Message-----") and everything after it, with the "____" line above it,
 * and without a signature after "-- ". When nothing would be left, the
 * whole text.
 */
char *quote_strip(const char *text);

#endif
