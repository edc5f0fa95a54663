/*
 * mime.h — parsed mail as plain structs; the only face of GMime.
 */
#ifndef TIKETTI_MIME_H
#define TIKETTI_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/tk.h"

#define MIME_MAX_HEADERS	1000	/* headers kept for rules; the rest stay in raw */
#define MIME_MAX_VALUE		16384	/* bytes of one decoded header kept */
#define MIME_MAX_FIELD		(256 << 10)	/* bytes of one header GMime sees */
#define MIME_MAX_BODY		(1 << 20)	/* bytes of body text kept */
#define MIME_MAX_PARTS		10000	/* MIME parts walked */

struct mime_addr {
	char	*name;		/* display name, UTF-8, or NULL */
	char	*addr;		/* lower-cased addr-spec, or NULL */
};

struct mime_header {
	char	*name;
	char	*value;		/* decoded, unfolded UTF-8, one line */
};

struct mime_attachment {
	char	*name;		/* UTF-8 file name, or NULL */
	char	*type;		/* "type/subtype", lower case */
	size_t	 size;		/* decoded bytes */
	char	 sha256[TK_SHA256_HEX];
};

enum mime_flags {
	MIME_UNPARSED	= 1 << 0,	/* GMime could not make a message of it */
	MIME_NOHEADERS	= 1 << 1,	/* no From, Date, Subject or Message-ID */
	MIME_TRUNCATED	= 1 << 2,	/* some limit cut headers, parts or text */
	MIME_BADUTF8	= 1 << 3,	/* text had to be repaired to be UTF-8 */
	/* Set by ingest, stored with the message: */
	MIME_MID_REUSED	= 1 << 8,	/* a different message had its
					 * Message-ID first (it keeps it) */
};

/* What a delivery status report (RFC 3464) says of its recipients. */
enum mime_dsn {
	MIME_DSN_NONE = 0,	/* no message/delivery-status part */
	MIME_DSN_FAILED,	/* a recipient: Action: failed, Status: 5.x.x */
	MIME_DSN_DELAYED,	/* none failed for good; one is delayed */
	MIME_DSN_OTHER,		/* delivered, relayed, expanded, unreadable */
};

struct tk_msg {
	int			 flags;		/* enum mime_flags */
	char			*message_id;	/* without <>, or NULL */
	char			*in_reply_to;	/* first msg-id, or NULL */
	char			**references;	/* oldest first */
	size_t			 nreferences;
	char			*subject;	/* UTF-8, one line, never NULL */
	struct mime_addr	 from;
	struct mime_addr	 reply_to;	/* its first address, or none */
	/* A web form's robot when from was taken from the form (ingest
	 * does, for form_senders), or NULL. */
	char			*form_robot;
	struct mime_addr	*to;
	size_t			 nto;
	struct mime_addr	*cc;
	size_t			 ncc;
	int64_t			 date;		/* Date: as UNIX time, or 0 */
	int64_t			 received_first;	/* the earliest and the */
	int64_t			 received_last;	/* latest Received: time, or 0 */
	char			*content_type;	/* top level, "type/subtype" */
	char			*report_type;	/* multipart/report parameter */
	char			*orig_message_id; /* from a DSN's returned part */
	int			 dsn;		/* enum mime_dsn: what a delivery
						 * report's recipients say */
	char			*body;		/* UTF-8 text, never NULL */
	struct mime_header	*headers;
	size_t			 nheaders;
	struct mime_attachment	*att;
	size_t			 natt;
	size_t			 scan_hits;	/* mime_parse_scan: the texts
						 * its look said yes to */
	char			 sha256[TK_SHA256_HEX];	/* of the raw bytes */
	char			 body_sha256[TK_SHA256_HEX]; /* of the bytes after the
						 * header, CRLF as LF, without
						 * trailing white space */
};

/*
 * Parses raw bytes. Never fails: what GMime cannot read is flagged in
 * msg->flags and the fields stay empty. fallback_charsets (NULL-terminated,
 * may be NULL) decode undeclared 8-bit text. Caller frees with mime_free().
 */
struct tk_msg *mime_parse(const char *raw, size_t len,
    const char *const *fallback_charsets);
void mime_free(struct tk_msg *m);

/*
 * A look at the text mime_parse leaves out of msg->body: fn gets each
 * text attachment's decoded bytes (in their own charset) and the
 * decoded UTF-8 text and subject of every attached message's parts.
 */
struct mime_scan {
	int	(*fn)(const char *text, size_t len, void *arg);
	void	*arg;
};
/* Sets m's hashes (sha256, body_sha256) to those of raw, the message
 * written again; returns where raw's body begins (raw: no header end). */
const char *mime_rehash(struct tk_msg *m, const char *raw, size_t len);
/* mime_parse, and scan's look; msg->scan_hits counts its yeses. */
struct tk_msg *mime_parse_scan(const char *raw, size_t len,
    const char *const *fallback_charsets, const struct mime_scan *scan);

/*
 * Adds the decoded bytes of attachment n (from 1, in the order of
 * msg->att: MIME order, a winmail.dat's files in its place) of raw to
 * out. TK_EPERM when there is no such attachment; out's cap applies.
 */
enum tk_status mime_attachment(const char *raw, size_t len,
    const char *const *fallback_charsets, size_t n, struct buf *out);

/* First header of that name (case-insensitive); borrowed, or NULL. */
const char *mime_header_get(const struct tk_msg *m, const char *name);

/* SHA-256 of data as lower-case hex. */
/* A header value that cannot add a header: controls (CR, LF) become
 * spaces, non-ASCII is RFC 2047-encoded. Caller frees. */
char *mime_header_encode(const char *utf8);

void mime_sha256(const void *data, size_t len, char out[TK_SHA256_HEX]);

/*
 * Splits an mbox into messages with GMime's mbox parser and calls fn with
 * each message's raw bytes (From_ line excluded). Stops when fn returns
 * non-zero and returns that value; 0 after the last message.
 */
int mime_mbox_split(const char *data, size_t len,
    int (*fn)(const char *raw, size_t len, void *arg), void *arg);

/*
 * The body of raw for smfi_replacebody, CRLF line ends, with the first
 * lead(text) bytes of the text of every inline text/plain and text/html
 * part cut (of HTML its readable text: the markup stays), each part in
 * its transfer encoding (7-bit becomes quoted-printable when it must).
 * When raw is one text part whose Content-Type (charset) or
 * Content-Transfer-Encoding changes with it, the new values are in
 * *ctype and *cte (caller frees; else NULL). TK_OK with the body added
 * to out; TK_EPERM when lead cuts nothing; TK_EPARSE when GMime cannot
 * read the message.
 */
enum tk_status mime_cut_text(const char *raw, size_t len,
    size_t (*lead)(const char *text), struct buf *out, char **ctype,
    char **cte);

/*
 * A rewrite of a message's text. fn gets the decoded UTF-8 text of each
 * part it covers, what part it is (enum mime_edit_part bits: a text/html
 * part comes markup and all) and returns the new text (malloc'd) or
 * NULL to leave it. Covered: inline text/plain and text/html parts;
 * with all_text every text/ part, attachments and those of attached
 * messages too; with subject the Subject and Thread-Topic.
 */
enum mime_edit_part {
	MIME_EDIT_HTML		= 1 << 0,
	MIME_EDIT_ATTACHMENT	= 1 << 1,	/* or in an attached message */
};

struct mime_edit {
	char	*(*fn)(const char *text, int part, void *arg);
	void	*arg;
	int	 all_text;
	int	 subject;
};

struct mime_edited {
	struct buf	 whole;		/* the message again, CRLF line ends */
	size_t		 body;		/* where its body begins in whole */
	/* Top-level headers that changed, encoded, or NULL: */
	char		*ctype;		/* Content-Type (one part's charset) */
	char		*cte;		/* Content-Transfer-Encoding */
	char		*subject;
	char		*topic;		/* Thread-Topic */
};

/*
 * Rewrites raw as e says, each part in its transfer encoding (7-bit
 * becomes quoted-printable when it must). TK_OK with *out filled;
 * TK_EPERM when nothing changed; TK_EPARSE when GMime cannot read the
 * message. Free *out with mime_edited_free() in every case.
 */
enum tk_status mime_edit(const char *raw, size_t len,
    const struct mime_edit *e, struct mime_edited *out);
void mime_edited_free(struct mime_edited *out);

/* A mail to build and send. Strings are UTF-8; NULL where optional. */
/* A file a built mail carries. */
struct mime_draft_att {
	const char	*name;		/* UTF-8, or NULL */
	const char	*type;		/* "type/subtype"; NULL: bytes */
	const void	*data;
	size_t		 len;
};

struct mime_draft {
	const char		*from;
	const char		*from_name;
	const char		*to;
	const char		*to_name;
	const char		*reply_to;
	const char		*subject;
	const char		*message_id;	/* without <> */
	const char		*in_reply_to;	/* without <> */
	const char *const	*references;	/* oldest first, without <> */
	size_t			 nreferences;
	const char		*headers;	/* "Name: value\n", encoded */
	const char		*text;
	const char		*html;		/* an HTML alternative */
	int64_t			 date;
	const struct mime_draft_att *att;	/* attached after the text */
	size_t			 natt;
};

/*
 * Builds the mail with CRLF line ends into out: RFC 2047 where needed,
 * UTF-8 text/plain (and multipart/alternative with the HTML), in a
 * multipart/mixed with the files (base64) when there are any. Controls
 * in names, subject and header values become spaces.
 */
void mime_build(const struct mime_draft *d, struct buf *out);

/* A fresh Message-ID (without <>) in domain; caller frees. */
char *mime_message_id(const char *domain);

/* HMAC-SHA256 of data under key, as lower-case hex. */
void mime_hmac(const char *key, const char *data, char out[TK_SHA256_HEX]);

#endif
