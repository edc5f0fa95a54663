/*
 * NAME
 *	charset.c — text in any charset a mail declares, to UTF-8.
 * DESCRIPTION
 *	Maps the charset labels mail programs write to what iconv(3)
 *	knows, by the WHATWG Encoding Standard (the list browsers agree on:
 *	"ks_c_5601-1987", "x-mac-cyrillic", "iso-8859-8-i" ...), and
 *	converts with iconv, trying the configured fallback charsets when
 *	the declared one is missing or wrong. ISO-2022-JP, which glibc
 *	reads only in its strict form, is turned into Windows' CP932 bytes
 *	here (as CP50220 does), so the NEC and IBM extensions common in
 *	Japanese mail decode. Knows nothing of mail. Thread-safe (an iconv
 *	descriptor per call).
 * DIAGNOSTICS
 *	None: every byte becomes text; undecodable bytes become U+FFFD and
 *	the caller is told.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tiketti/buf.h"
#include "tiketti/charset.h"
#include "tiketti/str.h"

/* WHATWG labels to iconv names; the encodings mail uses. */
static const struct { const char *label; const char *name; } labels[] = {
	{ "unicode-1-1-utf-8", "UTF-8" }, { "unicode11utf8", "UTF-8" },
	{ "unicode20utf8", "UTF-8" }, { "utf-8", "UTF-8" }, { "utf8", "UTF-8" },
	{ "x-unicode20utf8", "UTF-8" },
	{ "866", "IBM866" }, { "cp866", "IBM866" }, { "csibm866", "IBM866" },
	{ "ibm866", "IBM866" },
	{ "csisolatin2", "ISO-8859-2" }, { "iso-8859-2", "ISO-8859-2" },
	{ "iso-ir-101", "ISO-8859-2" }, { "iso8859-2", "ISO-8859-2" },
	{ "iso88592", "ISO-8859-2" }, { "iso_8859-2", "ISO-8859-2" },
	{ "iso_8859-2:1987", "ISO-8859-2" }, { "l2", "ISO-8859-2" },
	{ "latin2", "ISO-8859-2" },
	{ "csisolatin3", "ISO-8859-3" }, { "iso-8859-3", "ISO-8859-3" },
	{ "iso8859-3", "ISO-8859-3" }, { "latin3", "ISO-8859-3" },
	{ "csisolatin4", "ISO-8859-4" }, { "iso-8859-4", "ISO-8859-4" },
	{ "iso8859-4", "ISO-8859-4" }, { "latin4", "ISO-8859-4" },
	{ "csisolatincyrillic", "ISO-8859-5" }, { "cyrillic", "ISO-8859-5" },
	{ "iso-8859-5", "ISO-8859-5" }, { "iso8859-5", "ISO-8859-5" },
	{ "arabic", "ISO-8859-6" }, { "iso-8859-6", "ISO-8859-6" },
	{ "iso-8859-6-e", "ISO-8859-6" }, { "iso-8859-6-i", "ISO-8859-6" },
	{ "csisolatinarabic", "ISO-8859-6" }, { "iso8859-6", "ISO-8859-6" },
	{ "greek", "ISO-8859-7" }, { "greek8", "ISO-8859-7" },
	{ "iso-8859-7", "ISO-8859-7" }, { "iso8859-7", "ISO-8859-7" },
	{ "csisolatingreek", "ISO-8859-7" }, { "sun_eu_greek", "ISO-8859-7" },
	{ "hebrew", "ISO-8859-8" }, { "iso-8859-8", "ISO-8859-8" },
	{ "iso-8859-8-e", "ISO-8859-8" }, { "iso8859-8", "ISO-8859-8" },
	{ "visual", "ISO-8859-8" }, { "csisolatinhebrew", "ISO-8859-8" },
	{ "iso-8859-8-i", "ISO-8859-8" }, { "csiso88598i", "ISO-8859-8" },
	{ "logical", "ISO-8859-8" },
	{ "iso-8859-10", "ISO-8859-10" }, { "latin6", "ISO-8859-10" },
	{ "iso8859-10", "ISO-8859-10" }, { "csisolatin6", "ISO-8859-10" },
	{ "iso-8859-13", "ISO-8859-13" }, { "iso8859-13", "ISO-8859-13" },
	{ "iso-8859-14", "ISO-8859-14" }, { "iso8859-14", "ISO-8859-14" },
	{ "csisolatin9", "ISO-8859-15" }, { "iso-8859-15", "ISO-8859-15" },
	{ "iso8859-15", "ISO-8859-15" }, { "iso_8859-15", "ISO-8859-15" },
	{ "l9", "ISO-8859-15" }, { "latin9", "ISO-8859-15" },
	{ "iso-8859-16", "ISO-8859-16" },
	{ "cskoi8r", "KOI8-R" }, { "koi", "KOI8-R" }, { "koi8", "KOI8-R" },
	{ "koi8-r", "KOI8-R" }, { "koi8_r", "KOI8-R" },
	{ "koi8-ru", "KOI8-U" }, { "koi8-u", "KOI8-U" },
	{ "csmacintosh", "MACINTOSH" }, { "mac", "MACINTOSH" },
	{ "macintosh", "MACINTOSH" }, { "x-mac-roman", "MACINTOSH" },
	{ "x-mac-cyrillic", "MAC-CYRILLIC" }, { "x-mac-ukrainian", "MAC-CYRILLIC" },
	{ "dos-874", "CP874" }, { "iso-8859-11", "CP874" },
	{ "iso8859-11", "CP874" }, { "tis-620", "CP874" },
	{ "windows-874", "CP874" },
	{ "cp1250", "CP1250" }, { "windows-1250", "CP1250" },
	{ "x-cp1250", "CP1250" },
	{ "cp1251", "CP1251" }, { "windows-1251", "CP1251" },
	{ "x-cp1251", "CP1251" },
	{ "ansi_x3.4-1968", "CP1252" }, { "ascii", "CP1252" },
	{ "cp1252", "CP1252" }, { "cp819", "CP1252" },
	{ "csisolatin1", "CP1252" }, { "ibm819", "CP1252" },
	{ "iso-8859-1", "CP1252" }, { "iso-ir-100", "CP1252" },
	{ "iso8859-1", "CP1252" }, { "iso88591", "CP1252" },
	{ "iso_8859-1", "CP1252" }, { "iso_8859-1:1987", "CP1252" },
	{ "l1", "CP1252" }, { "latin1", "CP1252" }, { "us-ascii", "CP1252" },
	{ "windows-1252", "CP1252" }, { "x-cp1252", "CP1252" },
	{ "cp1253", "CP1253" }, { "windows-1253", "CP1253" },
	{ "cp1254", "CP1254" }, { "windows-1254", "CP1254" },
	{ "iso-8859-9", "CP1254" }, { "iso8859-9", "CP1254" },
	{ "latin5", "CP1254" }, { "l5", "CP1254" }, { "csisolatin5", "CP1254" },
	{ "cp1255", "CP1255" }, { "windows-1255", "CP1255" },
	{ "cp1256", "CP1256" }, { "windows-1256", "CP1256" },
	{ "cp1257", "CP1257" }, { "windows-1257", "CP1257" },
	{ "cp1258", "CP1258" }, { "windows-1258", "CP1258" },
	{ "chinese", "GB18030" }, { "csgb2312", "GB18030" },
	{ "csiso58gb231280", "GB18030" }, { "gb2312", "GB18030" },
	{ "gb_2312", "GB18030" }, { "gb_2312-80", "GB18030" },
	{ "gbk", "GB18030" }, { "iso-ir-58", "GB18030" }, { "x-gbk", "GB18030" },
	{ "gb18030", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "big5-hkscs", "BIG5-HKSCS" },
	{ "cn-big5", "BIG5-HKSCS" }, { "csbig5", "BIG5-HKSCS" },
	{ "x-x-big5", "BIG5-HKSCS" },
	{ "cseucpkdfmtjapanese", "EUC-JP-MS" }, { "euc-jp", "EUC-JP-MS" },
	{ "x-euc-jp", "EUC-JP-MS" },
	{ "csiso2022jp", "ISO-2022-JP" }, { "iso-2022-jp", "ISO-2022-JP" },
	{ "csshiftjis", "CP932" }, { "ms932", "CP932" }, { "ms_kanji", "CP932" },
	{ "shift-jis", "CP932" }, { "shift_jis", "CP932" }, { "sjis", "CP932" },
	{ "windows-31j", "CP932" }, { "x-sjis", "CP932" },
	{ "cseuckr", "CP949" }, { "csksc56011987", "CP949" },
	{ "euc-kr", "CP949" }, { "iso-ir-149", "CP949" }, { "korean", "CP949" },
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601-1989", "CP949" },
	{ "ksc5601", "CP949" }, { "ksc_5601", "CP949" },
	{ "windows-949", "CP949" },
	{ "unicodefffe", "UTF-16BE" }, { "utf-16be", "UTF-16BE" },
	{ "csunicode", "UTF-16LE" }, { "iso-10646-ucs-2", "UTF-16LE" },
	{ "ucs-2", "UTF-16LE" }, { "unicode", "UTF-16LE" },
	{ "unicodefeff", "UTF-16LE" }, { "utf-16", "UTF-16LE" },
	{ "utf-16le", "UTF-16LE" },
};

const char *
charset_name(const char *label)
{
	char buf[64];
	size_t n;

	if (label == NULL)
		return NULL;
	while (*label == ' ' || *label == '\t' || *label == '"')
		label++;
	n = strcspn(label, " \t\"");
	if (n == 0 || n >= sizeof(buf))
		return label;
	memcpy(buf, label, n);
	buf[n] = '\0';
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcasecmp(labels[i].label, buf) == 0)
			return labels[i].name;
	return label;
}

/*
 * ISO-2022-JP to CP932 bytes: ASCII and JIS-Roman as they are, half-width
 * katakana (ESC ( I, or SO/SI) as CP932's single bytes, JIS X 0208 pairs
 * (ESC $ @, ESC $ B; row 13 and rows 89-92 too) as Shift_JIS pairs.
 * What has no CP932 form (JIS X 0212) becomes '?' pairs that CP932 cannot
 * read back, and so U+FFFD.
 */
static void
iso2022jp_to_cp932(const unsigned char *s, size_t len, struct buf *out)
{
	enum { ASCII, KANA, JIS, JIS212 } mode = ASCII;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == 0x1b && i + 2 < len) {
			const unsigned char *e = s + i + 1;

			if (e[0] == '(' && (e[1] == 'B' || e[1] == 'J'))
				mode = ASCII, i += 2;
			else if (e[0] == '(' && e[1] == 'I')
				mode = KANA, i += 2;
			else if (e[0] == '$' && (e[1] == '@' || e[1] == 'B'))
				mode = JIS, i += 2;
			else if (e[0] == '$' && e[1] == '(' && i + 3 < len &&
			    e[2] == 'D')
				mode = JIS212, i += 3;
			else
				buf_addc(out, (char)c);
			continue;
		}
		if (c == 0x0e) {	/* SO: kana until SI */
			mode = KANA;
			continue;
		}
		if (c == 0x0f) {
			mode = ASCII;
			continue;
		}
		if (c < 0x21 || c > 0x7e || mode == ASCII) {
			buf_addc(out, (char)c);
			continue;
		}
		if (mode == KANA) {
			buf_addc(out, (char)(c + 0x80));
			continue;
		}
		if (i + 1 >= len || s[i + 1] < 0x21 || s[i + 1] > 0x7e) {
			buf_addc(out, (char)0xff);	/* half a pair */
			continue;
		}
		if (mode == JIS212) {
			buf_addc(out, (char)0xff);
			buf_addc(out, (char)0xff);
		} else {
			unsigned j1 = c, j2 = s[i + 1];

			buf_addc(out, (char)(((j1 + 1) >> 1) +
			    (j1 <= 0x5e ? 0x70 : 0xb0)));
			buf_addc(out, (char)(j2 + ((j1 & 1) ? (j2 >= 0x60 ?
			    0x20 : 0x1f) : 0x7e)));
		}
		i++;
	}
}

/*
 * Converts with iconv; with strict, 0 at the first undecodable byte
 * (nothing is kept), else each such byte becomes U+FFFD and *bad is set.
 * -1 when iconv does not know the charset.
 */
static int
convert(const char *name, const char *in, size_t len, int strict,
    struct buf *out, int *bad)
{
	iconv_t cd = iconv_open("UTF-8", name);
	char tmp[4096];

	if (cd == (iconv_t)-1)
		return -1;
	while (len > 0) {
		char *ip = (char *)(uintptr_t)in, *op = tmp;
		size_t il = len, ol = sizeof(tmp);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		buf_add(out, tmp, (size_t)(op - tmp));
		in = ip;
		len = il;
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (strict) {
			iconv_close(cd);
			return 0;
		}
		/* EILSEQ, or EINVAL at the end: one byte is lost, not the
		 * text after it. */
		buf_addstr(out, "\xef\xbf\xbd");
		*bad = 1;
		in++;
		len--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	{
		char *op = tmp;
		size_t ol = sizeof(tmp);

		iconv(cd, NULL, NULL, &op, &ol);	/* the final shift */
		buf_add(out, tmp, (size_t)(op - tmp));
	}
	iconv_close(cd);
	return 1;
}

/* Decodes as name; strict: only when every byte is name's. */
static char *
try_as(const char *name, const char *bytes, size_t len, int strict, int *bad)
{
	struct buf out, jis;
	int r;

	buf_init(&out, 0);
	if (strcasecmp(name, "ISO-2022-JP") == 0) {
		buf_init(&jis, 0);
		iso2022jp_to_cp932((const unsigned char *)bytes, len, &jis);
		r = convert("CP932", jis.data ? jis.data : "", jis.len, strict,
		    &out, bad);
		buf_free(&jis);
	} else if (strcasecmp(name, "UTF-8") == 0 && strict) {
		if (!str_utf8_valid(bytes, len)) {
			buf_free(&out);
			return NULL;
		}
		buf_add(&out, bytes, len);
		r = 1;
	} else
		r = convert(name, bytes, len, strict, &out, bad);
	if (r <= 0) {	/* unknown, or (strict) not this charset */
		buf_free(&out);
		return NULL;
	}
	/* A NUL would end the text where it stands: a space instead. */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\0')
			out.data[i] = ' ';
	return buf_release(&out);
}

char *
charset_decode(const char *label, const char *bytes, size_t len,
    const char *const *fallbacks, int *repaired)
{
	const char *name = charset_name(label);
	char *s;
	int bad = 0;

	if (repaired)
		*repaired = 0;
	/* Plain ASCII is itself in every charset mail uses but the UTF-16s
	 * (and ISO-2022-JP's escapes are ESC, a control). */
	if (name == NULL || strncasecmp(name, "UTF-16", 6) != 0) {
		size_t i;

		for (i = 0; i < len && (unsigned char)bytes[i] < 0x80 &&
		    bytes[i] != 0x1b && bytes[i] != '\0'; i++)
			;
		if (i == len)
			return xstrndup(bytes, len);
	}
	if (name && (s = try_as(name, bytes, len, 1, &bad)) != NULL)
		return s;
	for (size_t i = 0; fallbacks && fallbacks[i]; i++)
		if ((s = try_as(charset_name(fallbacks[i]), bytes, len, 1,
		    &bad)) != NULL)
			return s;
	/* Nothing fits every byte: the declared charset (or UTF-8) with
	 * what does not fit replaced, and the rest kept. */
	if ((name == NULL || (s = try_as(name, bytes, len, 0, &bad)) == NULL) &&
	    (s = try_as("UTF-8", bytes, len, 0, &bad)) == NULL) {
		struct buf out;

		buf_init(&out, 0);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)bytes[i] < 0x80 && bytes[i])
				buf_addc(&out, bytes[i]);
			else
				buf_addstr(&out, "\xef\xbf\xbd");
		s = buf_release(&out);
		bad = 1;
	}
	if (repaired)
		*repaired = bad;
	return s;
}
