/*
 * NAME
 *	rules_lex.c — tokens of the rule language.
 * DESCRIPTION
 *	Words (keywords, bare values like urgent or 7d), :tags, "strings"
 *	with \" and \\ escapes, and the punctuation { } ( ) [ ] , ;.
 *	Comments run from '#' to the end of the line or between slash-star
 *	and star-slash, as in Sieve. Columns count characters, not bytes, so
 *	an editor's column matches. No state beyond the lexer struct.
 * DIAGNOSTICS
 *	A T_ERROR token with the message in lx->errmsg and the position of
 *	the offending character.
 */
#include <stdio.h>
#include <string.h>

#include "rules_int.h"
#include "tiketti/buf.h"
#include "tiketti/str.h"

void
rules_lex_init(struct lexer *lx, const char *file, const char *text,
    size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = file;
	lx->p = text;
	lx->end = text + len;
	lx->line = 1;
	lx->col = 1;
}

static void
advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else if (((unsigned char)*lx->p & 0xc0) != 0x80)
		lx->col++;
	lx->p++;
}

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	    c == '@' || c == '+' || c == '/' || c == '%' || c >= 0x80;
}

static void
lex_error(struct lexer *lx, struct token *tok, const char *msg)
{
	snprintf(lx->errmsg, sizeof(lx->errmsg), "%s", msg);
	tok->type = T_ERROR;
}

/* Skips white space and comments; 0 on an unterminated comment. */
static int
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\f' || c == '\v')
			advance(lx);
		else if (c == '#')
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx);
		else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			advance(lx);
			advance(lx);
			while (lx->p < lx->end && !(*lx->p == '*' &&
			    lx->p + 1 < lx->end && lx->p[1] == '/'))
				advance(lx);
			if (lx->p >= lx->end)
				return 0;
			advance(lx);
			advance(lx);
		} else
			break;
	}
	return 1;
}

static void
lex_string(struct lexer *lx, struct token *tok)
{
	struct buf b;

	buf_init(&b, RULES_MAX_STRING);
	advance(lx);	/* the opening quote */
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			lex_error(lx, tok, "unterminated string");
			break;
		}
		if (*lx->p == '"') {
			advance(lx);
			tok->type = T_STRING;
			tok->text = buf_release(&b);
			if (tok->text == NULL)
				tok->text = xstrdup("");
			return;
		}
		if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
			advance(lx);
		if (*lx->p == '\0') {
			lex_error(lx, tok, "NUL byte in string");
			advance(lx);
			break;
		}
		if (buf_addc(&b, *lx->p) != TK_OK) {
			lex_error(lx, tok, "string too long");
			break;
		}
		advance(lx);
	}
	buf_free(&b);
}

void
rules_lex_next(struct lexer *lx, struct token *tok)
{
	static const char punct[] = "{}()[],;";
	static const enum tok_type ptype[] = { T_LBRACE, T_RBRACE, T_LPAREN,
	    T_RPAREN, T_LBRACKET, T_RBRACKET, T_COMMA, T_SEMI };
	const char *start, *pp;

	memset(tok, 0, sizeof(*tok));
	if (!skip_space(lx)) {
		tok->line = lx->line;
		tok->col = lx->col;
		lex_error(lx, tok, "unterminated comment");
		return;
	}
	tok->line = lx->line;
	tok->col = lx->col;
	if (lx->p >= lx->end) {
		tok->type = T_EOF;
		return;
	}
	if (*lx->p == '"') {
		lex_string(lx, tok);
		return;
	}
	if (*lx->p != '\0' && (pp = strchr(punct, *lx->p)) != NULL) {
		tok->type = ptype[pp - punct];
		advance(lx);
		return;
	}
	if (*lx->p == ':') {
		advance(lx);
		start = lx->p;
		while (lx->p < lx->end && is_word((unsigned char)*lx->p))
			advance(lx);
		if (lx->p == start) {
			lex_error(lx, tok, "expected a tag name after ':'");
			return;
		}
		tok->type = T_TAG;
		tok->text = str_lower(xstrndup(start,
		    (size_t)(lx->p - start)));
		return;
	}
	if (is_word((unsigned char)*lx->p)) {
		start = lx->p;
		while (lx->p < lx->end && is_word((unsigned char)*lx->p))
			advance(lx);
		tok->type = T_WORD;
		tok->text = xstrndup(start, (size_t)(lx->p - start));
		return;
	}
	{
		char msg[64];
		unsigned char c = (unsigned char)*lx->p;

		if (c >= 0x20 && c < 0x7f)
			snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
		else
			snprintf(msg, sizeof(msg),
			    "unexpected character (byte 0x%02x)", c);
		lex_error(lx, tok, msg);
		advance(lx);	/* so the parser's recovery moves on */
	}
}
