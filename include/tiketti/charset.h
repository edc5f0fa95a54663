/*
 * charset.h — text in any charset a mail declares, to UTF-8.
 */
#ifndef TIKETTI_CHARSET_H
#define TIKETTI_CHARSET_H

#include <stddef.h>

/*
 * The iconv name for a charset label as mail programs write it, by the
 * WHATWG Encoding Standard's label list ("ks_c_5601-1987" is CP949,
 * "iso-8859-1" and "us-ascii" windows-1252, "x-mac-cyrillic"
 * MAC-CYRILLIC, "iso-8859-8-i" ISO-8859-8, "iso-2022-jp" ISO-2022-JP,
 * decoded as Windows does); the label itself when the list does not
 * have it, NULL for NULL. Static or label.
 */
const char *charset_name(const char *label);

/*
 * len bytes of text to UTF-8 (caller frees). label is the declared
 * charset (NULL: none). When there is none, or the bytes are not that
 * charset, the first of fallbacks (NULL-terminated, may be NULL) that
 * decodes every byte is used. Whatever is left undecodable becomes
 * U+FFFD and the text after it is kept; *repaired (may be NULL) is then
 * 1. ISO-2022-JP is read as Windows' CP50220 does: with the NEC row 13
 * characters (①, Ⅰ, ㈱) and the IBM extensions.
 */
char *charset_decode(const char *label, const char *bytes, size_t len,
    const char *const *fallbacks, int *repaired);

#endif
