/*
 * rules_int.h — shared between rules_lex.c, rules_parse.c and rules.c
 * only: the token stream and the parsed tree. Not a public interface.
 */
#ifndef TIKETTI_RULES_INT_H
#define TIKETTI_RULES_INT_H

#include <regex.h>

#include "tiketti/rules.h"

#define RULES_MAX_FILE		(4 << 20)	/* bytes of one rule file */
#define RULES_MAX_STRING	65536		/* bytes of one string */
#define RULES_MAX_DEPTH		32		/* nesting of allof/anyof/not */

/* ---- lexer ---- */

enum tok_type {
	T_EOF, T_WORD, T_TAG, T_STRING, T_LBRACE, T_RBRACE, T_LPAREN,
	T_RPAREN, T_LBRACKET, T_RBRACKET, T_COMMA, T_SEMI, T_ERROR,
};

struct token {
	enum tok_type	 type;
	char		*text;	/* WORD, TAG (without ':', lower case), STRING */
	int		 line, col;
};

struct lexer {
	const char	*file;
	const char	*p, *end;
	int		 line, col;
	char		 errmsg[160];	/* with T_ERROR */
};

void rules_lex_init(struct lexer *lx, const char *file, const char *text,
    size_t len);
/* Fills tok; tok->text is malloc'ed (caller frees) or NULL. */
void rules_lex_next(struct lexer *lx, struct token *tok);

/* ---- tree ---- */

enum test_kind {
	TEST_TRUE, TEST_FALSE, TEST_NOT, TEST_ALLOF, TEST_ANYOF, TEST_HEADER,
	TEST_ADDRESS, TEST_ENVELOPE, TEST_BODY, TEST_ATTACHMENT, TEST_EXISTS,
	TEST_STATUS, TEST_PRIORITY, TEST_CATEGORY, TEST_ASSIGNEE,
	TEST_MAILBOX, TEST_TAG, TEST_AGE, TEST_HISTORY, TEST_FIELD,
};

enum match {
	M_IS, M_CONTAINS, M_MATCHES, M_REGEX, M_OVER, M_UNDER, M_WITHIN
};
enum addr_part { AP_ALL, AP_LOCALPART, AP_DOMAIN };

struct test {
	enum test_kind	 kind;
	enum match	 match;
	enum addr_part	 part;
	int		 casesens;	/* :case */
	int		 which;		/* envelope 0 from 1 to; attachment
					 * 0 name 1 type */
	char		**names;	/* header names, lower case */
	size_t		 nnames;
	char		**values;	/* folded unless casesens or regex */
	size_t		 nvalues;
	regex_t		*re;		/* with M_REGEX, one per value */
	size_t		 nre;		/* compiled so far */
	long long	 secs;		/* age, history :within; history
					 * :over/:under: a count */
	struct test	**kids;
	size_t		 nkids;
};

struct rule {
	char		*name;
	char		*file;
	int		 line;
	int		 macro;
	unsigned	 events;	/* enum rules_event bits */
	char		**statuses;	/* for RULES_STATUS */
	size_t		 nstatuses;
	unsigned	 sla_warning;	/* targets (1 << enum sla_target) */
	unsigned	 sla_breach;
	struct rules_timer timer;	/* with RULES_TIME */
	struct test	*test;		/* NULL: always */
	struct rules_action *acts;
	size_t		 nacts;
};

struct ruleset {
	struct rule	*rules;
	size_t		 nrules;
	size_t		*timers;	/* indexes of time rules */
	size_t		 ntimers;
	char		**files;	/* file names the rules point into */
	size_t		 nfiles;
	int		 history;	/* a rule tests history */
	struct sla_policy *policies;
	size_t		 npolicies;
};

/* Parses one file's text into rs; appends "file:line:col: msg" lines to
 * err. Returns the number of errors. */
int rules_parse(struct ruleset *rs, const char *file, const char *text,
    size_t len, const struct tk_conf *conf, struct buf *err);
void rules_test_free(struct test *t);

#endif
