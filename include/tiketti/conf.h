/*
 * conf.h — tiketti.conf: one parameter table, postconf-like syntax.
 */
#ifndef TIKETTI_CONF_H
#define TIKETTI_CONF_H

#include <stdio.h>

#include "tiketti/buf.h"
#include "tiketti/tk.h"

struct conf_agent {
	char	 *name;
	char	**addresses;	/* lower-cased */
	size_t	  naddresses;
	char	**skills;
	size_t	  nskills;
	int	  away;		/* available = no: route skips the agent */
	char	 *login;	/* SASL login; NULL: one of the addresses */
	char	 *lang;		/* her mail's language (templates), or NULL */
	char	 *deputy;	/* takes her new tickets while she is away */
	long long max_open;	/* routing gives her no more; 0: no cap */
};

struct conf_webhook {
	char	*name;
	char	*url;		/* http:// or https:// */
	char	*header;	/* "Name: value" sent along (a token), or NULL */
	char	**events;	/* what it hears of without a rule */
	size_t	  nevents;
};

/* A ticket field an admin declared: [field NAME] with type and values. */
enum conf_field_type { FIELD_TEXT, FIELD_NUMBER, FIELD_DATE, FIELD_ENUM };
struct conf_field {
	char			 *name;		/* lower case */
	enum conf_field_type	  type;
	char			**values;	/* FIELD_ENUM's */
	size_t			  nvalues;
};

/* [lookup NAME]: another system asked before routing (lookup.h). */
struct conf_lookup_map {
	char	*field;		/* a [field] */
	char	*path;		/* in the JSON answer: a.b[0].c */
};
struct conf_lookup {
	char			*name;
	char			*url;		/* a template */
	int			 post;		/* method = POST */
	char			*header;	/* "Name: value", or NULL */
	char			*token_file;	/* 0600: Authorization: Bearer */
	long long		 timeout;	/* seconds */
	long long		 cache;		/* seconds; 0: none */
	struct conf_lookup_map	*maps;
	size_t			 nmaps;
};

/* [mailbox ADDRESS]: what differs for one shared address. */
struct conf_mailbox {
	char		*address;	/* lower case */
	long long	 retention;	/* seconds; -1: the global one */
};

enum conf_imap_tls { CONF_TLS_IMAPS, CONF_TLS_STARTTLS, CONF_TLS_NONE };
enum conf_imap_after {
	CONF_AFTER_KEEP, CONF_AFTER_SEEN, CONF_AFTER_MOVE, CONF_AFTER_DELETE
};

/* How an account (and sending) logs in. */
enum conf_auth { CONF_AUTH_PASSWORD, CONF_AUTH_OAUTH2 };

/* An [account NAME] section: a mailbox `tiketti poll` reads over IMAP. */
struct conf_account {
	char			*name;
	char			*host;
	int			 port;		/* 0: 993 for imaps, else 143 */
	enum conf_imap_tls	 tls;
	int			 allow_plaintext;
	char			*user;
	char			*password_file;	/* refused when group/others
						 * can read it */
	char			*folder;	/* default INBOX */
	enum conf_imap_after	 after;
	char			*move_to;	/* after = move:FOLDER */
	char			*ca_file;	/* NULL: the system store */
	char			*mailbox;	/* the shared address, or NULL */
	int			 timeout;	/* seconds: connect, each command */
	int			 idle_interval;	/* seconds between IDLEs (--idle) */
	int			 redact_mailbox;	/* the masked copy replaces
						 * the server's (redact) */
	int			 sent_copy;	/* what tiketti sends for mailbox
						 * is appended to its Sent folder */
	char			*sent_folder;	/* or NULL: SPECIAL-USE \Sent,
						 * else "Sent" */
	/* auth = oauth2 (oauth.h): the grant's endpoints and client; the
	 * oauth_provider preset fills what is not set. */
	enum conf_auth		 auth;
	char			*oauth_provider;	/* microsoft|google */
	char			*oauth_tenant;	/* Microsoft's; "organizations" */
	char			*oauth_token_url;
	char			*oauth_device_url;	/* RFC 8628 */
	char			*oauth_client_id;
	char			*oauth_client_secret_file;	/* 0600, or NULL */
	char			*oauth_scope;
};

enum conf_tag_trust { CONF_TAG_PARTICIPANTS, CONF_TAG_ANY };

struct tk_conf {
	char		 *path;		/* the file read, or NULL */
	char		 *database;
	char		**mailboxes;	/* lower-cased */
	size_t		  nmailboxes;
	char		 *ticket_prefix;
	int		  tag_trust;	/* enum conf_tag_trust */
	long long	  followup_after;	/* seconds */
	char		**fallback_charsets;
	size_t		  nfallback_charsets;
	long long	  busy_timeout;		/* seconds */
	long long	  message_size_limit;	/* bytes */
	char		 *rules_dir;	/* relative: to the config file */
	char		 *templates_dir;
	char		 *calendars_dir;	/* NAME.cal files */
	char		 *sla_policy;	/* the policy of a ticket no rule put
					 * under one, or NULL */
	char		 *forward_subject;	/* in an agent's Subject: what
						 * she sends is a forward in */
	char		**form_senders;	/* web forms' robots (globs) */
	size_t		  nform_senders;
	char		 *form_requester_field;	/* the label of the person's
						 * address in a form, or NULL */
	long long	  close_after;	/* seconds a solved ticket waits */
	long long	  history_age;	/* seconds: older imports send nothing */
	/* Privacy (redact.h, ticket erasure). */
	char		 *redact_spec;	/* "cards, hetu, iban" as written */
	int		  redact;	/* enum redact_kind bits */
	long long	  retention;	/* seconds a closed ticket is kept
					 * whole; 0: for ever */
	/* tiketti check: warning and critical thresholds. */
	long long	  check_tick[2];	/* seconds since the last tick */
	long long	  check_poll[2];	/* ... an account's last poll */
	long long	  check_outbox[2];	/* outbox rows failing */
	int		  check_milter;	/* 1: the milter must answer */
	char		 *smtp_url;	/* smtp:// or smtps://, or NULL: mail waits */
	int		  smtp_starttls;	/* 1: STARTTLS required on smtp:// */
	char		 *smtp_user;	/* AUTH user, or NULL */
	char		 *smtp_password_file;	/* mode 0600, or NULL */
	char		 *smtp_ca_file;	/* trust these CAs instead, or NULL */
	int		  smtp_auth;	/* enum conf_auth */
	char		 *smtp_oauth_account;	/* whose grant sends (oauth2) */
	long long	  smtp_timeout;		/* seconds */
	long long	  webhook_timeout;	/* seconds */
	long long	  outbox_max_age;	/* seconds a row is retried */
	long long	  autoreply_limit;	/* per recipient per window */
	long long	  autoreply_window;	/* seconds */
	long long	  bounce_block;	/* seconds an address that bounced rests */
	char		 *secret;	/* HMAC key of CSAT, thread and VERP tokens */
	char		 *csat_url;	/* survey web page, or NULL */
	int		  assign_mail;	/* 1: an assigned agent gets the ticket */
	long long	  assign_history;	/* the customer's tickets it lists */
	long long	  attach_max;	/* bytes of files an assignment mail or
					 * an answer passed on carries */
	long long	  ooo_away;	/* an agent's out-of-office reply that
					 * names no day: away this long */
	long long	  reroute_after;	/* away this long: her unanswered
						 * tickets go to others; 0: never */
	char		 *milter_socket;	/* unix:PATH or inet:PORT@HOST */
	char		 *milter_user;	/* privileges after the bind, or NULL */
	char		 *milter_pid_file;	/* or NULL */
	long long	  milter_spool_threshold;	/* bytes kept in memory */
	int		  milter_tag_subject;	/* 1: [Ticket #N] into Subject */
	/* Who is an agent: proof beyond From (classify.c). */
	char		**trusted_relays;	/* CIDRs the milter trusts */
	size_t		  ntrusted_relays;
	char		 *trusted_authserv_id;	/* whose Authentication-Results */
	char		**categories;	/* allowed categories; none: any */
	size_t		  ncategories;
	struct conf_agent *agents;
	size_t		  nagents;
	struct conf_webhook *webhooks;
	size_t		  nwebhooks;
	struct conf_field *fields;
	size_t		  nfields;
	struct conf_lookup *lookups;
	size_t		  nlookups;
	struct conf_account *accounts;
	size_t		  naccounts;
	struct conf_mailbox *mailbox_conf;
	size_t		  nmailbox_conf;
};

/*
 * Reads path (NULL: defaults only). When must_exist is 0 a missing file
 * gives the defaults. Every error is appended to err as "file:line: msg\n"
 * and the result is TK_EPARSE; TK_EIO when the file cannot be read.
 * On TK_OK *out is set; caller frees with conf_free().
 */
enum tk_status conf_load(const char *path, int must_exist,
    struct tk_conf **out, struct buf *err);
void conf_free(struct tk_conf *c);

/* Prints every setting as "name = value" with its default as a comment. */
void conf_print(const struct tk_conf *c, FILE *fp);

/* Address lookups; addr compared case-insensitively. Borrowed results. */
const struct conf_agent *conf_agent_by_address(const struct tk_conf *c,
    const char *addr);
const struct conf_agent *conf_agent_by_name(const struct tk_conf *c,
    const char *name);
/* 1 when login (a SASL login, any case) is the agent's: its login, or
 * without one any of its addresses. */
int conf_agent_login_is(const struct conf_agent *a, const char *login);
/* 1 when the IP address (text, IPv4 or IPv6, "IPv6:" prefix allowed)
 * is in one of trusted_relays. */
int conf_trusted_relay(const struct tk_conf *c, const char *ip);
/* The configured spelling of category (any case), or NULL when
 * categories are configured and it is none of them; with none
 * configured, category itself when it is 1 to 64 printable characters. */
const char *conf_category(const struct tk_conf *c, const char *category);
const struct conf_field *conf_field_by_name(const struct tk_conf *c,
    const char *name);
const struct conf_lookup *conf_lookup_by_name(const struct tk_conf *c,
    const char *name);
/*
 * A value for the field, checked and in its one form (a number as
 * written without spaces, a date YYYY-MM-DD, an enum value as declared,
 * text on one line of at most 1000 bytes): *out is the caller's. NULL,
 * or what is wrong with it.
 */
const char *conf_field_value(const struct conf_field *f, const char *in,
    char **out);
const struct conf_webhook *conf_webhook_by_name(const struct tk_conf *c,
    const char *name);
/* 1 when the webhook asked for event ("ticket.assigned", ...). */
int conf_webhook_wants(const struct conf_webhook *w, const char *event);
const struct conf_account *conf_account_by_name(const struct tk_conf *c,
    const char *name);
/*
 * Reads the first line of a password file into *out (the caller frees
 * it), refusing one that group or others may read. what names the
 * setting in the message (TK_EPERM, with err filled).
 */
enum tk_status conf_read_secret(const char *what, const char *path,
    char **out, char *err, size_t errlen);
int conf_is_mailbox(const struct tk_conf *c, const char *addr);
/* "WARN, CRIT" (two counts, or two durations in seconds) into out;
 * -1 when it is not that or CRIT is below WARN. */
int conf_pair(const char *s, int counts, long long out[2]);
/* The retention of a shared address's tickets (its [mailbox] section's,
 * else retention), in seconds; 0: kept for ever. */
long long conf_retention(const struct tk_conf *c, const char *mailbox);
/* The configured shared address addr is (also as a plus-address), or NULL. */
const char *conf_mailbox(const struct tk_conf *c, const char *addr);

#endif
