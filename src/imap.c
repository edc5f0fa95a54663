/*
 * NAME
 *	imap.c — the IMAP poller (`tiketti poll`).
 * DESCRIPTION
 *	The only module that includes libetpan and GnuTLS. For one [account]
 *	it takes a non-blocking lock, connects (imaps, STARTTLS or, when
 *	allowed, plain), verifies the server's certificate chain and host
 *	name itself before the password goes out (Debian's libetpan checks
 *	none), logs in and selects the folder. Then:
 *	  - the state (UIDVALIDITY, last UID ingested, last UID acted on) is
 *	    read; a new UIDVALIDITY starts again from UID 1 and ingest's
 *	    dedupe skips what is already in;
 *	  - `after` actions left over from a run that died between commit
 *	    and action are done first;
 *	  - UID and RFC822.SIZE of everything above the mark are fetched,
 *	    then BODY.PEEK[] in batches; a batch goes to ingest in one
 *	    transaction that also advances the mark, so a kill at any point
 *	    leaves either the batch and its mark or neither;
 *	  - after the commit the batch is marked \Seen, moved (MOVE, or
 *	    UIDPLUS copy + \Deleted + UID EXPUNGE) or deleted (\Deleted +
 *	    UID EXPUNGE of our own UIDs); never a bare EXPUNGE or CLOSE.
 *	A message over message_size_limit or one the server will not hand
 *	over is recorded (imap_skipped) with a log line and left where it
 *	is. With --idle the folder is watched with IDLE, re-issued every
 *	idle_interval, reconnecting with back-off.
 * DIAGNOSTICS
 *	Every log line names the account. Connection trouble, timeouts and a
 *	busy database are TK_ETEMP; a certificate, login, password file or
 *	folder problem is TK_EPERM with the reason in err.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "tiketti/imap.h"
#include "tiketti/log.h"
#include "tiketti/oauth.h"
#include "tiketti/str.h"

#define BATCH_MSGS	100		/* messages fetched at a time */
#define BATCH_BYTES	(16 << 20)	/* and at most about this much */
#define MAX_CHAIN	16
#define MAX_BACKOFF	300		/* seconds between reconnects */

struct newmsg {
	uint32_t	 uid;
	uint32_t	 size;
};

struct poller {
	const struct tk_conf		*conf;
	const struct conf_account	*acct;
	struct store			*store;
	struct ingest			*ig;
	const struct imap_opts		*opts;
	struct imap_stats		*st;
	mailimap			*imap;
	char				*password;
	struct store_imap		 state;
	int				 dropped;	/* a body FETCH lost the
							 * connection */
	char				*err;
	size_t				 errlen;
};

static int
stopped(const struct poller *p)
{
	return p->opts->stop && *p->opts->stop;
}

/* Fails with the server's words when it said any. */
static enum tk_status
fail(struct poller *p, enum tk_status ts, const char *what, int r)
{
	const char *why;

	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		why = "connection lost or timed out";
		break;
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		why = "cannot connect";
		break;
	case MAILIMAP_ERROR_SSL:
		why = "TLS handshake failed";
		break;
	case MAILIMAP_ERROR_PARSE:
		why = "connection lost, or an unreadable answer";
		break;
	default:
		why = p->imap && p->imap->imap_response ?
		    p->imap->imap_response : "refused by the server";
	}
	snprintf(p->err, p->errlen, "account %s: %s: %s", p->acct->name, what,
	    why);
	return ts;
}

/* The connection itself failed (rather than the server saying no). */
static int
transient(int r)
{
	return r == MAILIMAP_ERROR_STREAM ||
	    r == MAILIMAP_ERROR_CONNECTION_REFUSED ||
	    r == MAILIMAP_ERROR_SSL || r == MAILIMAP_ERROR_PARSE ||
	    r == MAILIMAP_ERROR_FATAL;
}

static enum tk_status
check(struct poller *p, const char *what, int r)
{
	if (r == MAILIMAP_NO_ERROR)
		return TK_OK;
	return fail(p, transient(r) ? TK_ETEMP : TK_EPERM, what, r);
}

/* ---- TLS ---- */

static void
tls_setup(struct mailstream_ssl_context *ctx, void *arg)
{
	unsigned char addr[16];
	char *host = arg;

	/* SNI carries names, not addresses. */
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)
		mailstream_ssl_set_server_name(ctx, host);
}

/*
 * The server's chain against ca_file or the system store, and its name
 * against host, before anything secret is sent.
 */
static enum tk_status
tls_verify(struct poller *p)
{
	const struct conf_account *a = p->acct;
	gnutls_x509_crt_t crts[MAX_CHAIN];
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_typed_vdata_st vdata[] = {
		{ .type = GNUTLS_DT_DNS_HOSTNAME,
		  .data = (unsigned char *)a->host },
		{ .type = GNUTLS_DT_KEY_PURPOSE_OID,
		  .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER },
	};
	enum tk_status ts = TK_EPERM;
	unsigned int n = 0, status = 0;
	carray *chain;
	int r;

	chain = mailstream_get_certificate_chain(p->imap->imap_stream);
	if (chain == NULL || carray_count(chain) == 0) {
		snprintf(p->err, p->errlen, "account %s: %s sent no "
		    "certificate; not logging in", a->name, a->host);
		goto out;
	}
	for (unsigned int i = 0; i < carray_count(chain) && n < MAX_CHAIN;
	    i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = { .data = (unsigned char *)der->str,
		    .size = (unsigned int)der->len };

		if (gnutls_x509_crt_init(&crts[n]) < 0)
			goto out;
		if (gnutls_x509_crt_import(crts[n], &d,
		    GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[n]);
			snprintf(p->err, p->errlen, "account %s: unreadable "
			    "certificate from %s", a->name, a->host);
			goto out;
		}
		n++;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		goto out;
	if (a->ca_file)
		r = gnutls_x509_trust_list_add_trust_file(tl, a->ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
	else
		r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (r <= 0) {
		snprintf(p->err, p->errlen, "account %s: no trusted "
		    "certificates in %s%s%s", a->name,
		    a->ca_file ? a->ca_file : "the system store",
		    r < 0 ? ": " : "", r < 0 ? gnutls_strerror(r) : "");
		goto out;
	}
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, n, vdata, 2, 0,
	    &status, NULL);
	if (r < 0 || status != 0) {
		gnutls_datum_t why = { 0 };

		if (r < 0 || gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &why, 0) < 0)
			snprintf(p->err, p->errlen, "account %s: certificate of "
			    "%s not verified: %s", a->name, a->host,
			    gnutls_strerror(r));
		else
			snprintf(p->err, p->errlen, "account %s: certificate of "
			    "%s (checked against %s) refused: %s; not logging "
			    "in", a->name, a->host,
			    a->ca_file ? a->ca_file : "the system store",
			    (char *)why.data);
		gnutls_free(why.data);
		goto out;
	}
	ts = TK_OK;
out:
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	while (n > 0)
		gnutls_x509_crt_deinit(crts[--n]);
	if (chain)
		mailstream_certificate_chain_free(chain);
	if (ts != TK_OK && p->err[0] == '\0')
		snprintf(p->err, p->errlen, "account %s: certificate check "
		    "failed", a->name);
	return ts;
}

/* ---- session ---- */

/*
 * AUTHENTICATE OAUTHBEARER (RFC 7628) with the token as the initial
 * response (SASL-IR); libetpan has no such call. A server that refuses
 * the token says why in a continuation (3.2.3), which the client answers
 * with ^A (base64 "AQ==") before the tagged NO comes.
 */
static int
oauthbearer(mailimap *imap, const struct conf_account *a, const char *token)
{
	struct mailimap_response *resp = NULL;
	gnutls_datum_t in, out = { NULL, 0 };
	struct buf user;
	const char *line;
	char *gs2, *cmd = NULL;
	int r, ok;

	/* RFC 5801 saslname: "," and "=" as =2C and =3D. */
	buf_init(&user, 0);
	for (const char *u = a->user; *u; u++)
		if (*u == ',' || *u == '=')
			buf_addstr(&user, *u == ',' ? "=2C" : "=3D");
		else
			buf_addc(&user, *u);
	gs2 = xasprintf("n,a=%s,\001host=%s\001port=%d\001auth=Bearer "
	    "%s\001\001", user.data ? user.data : "", a->host,
	    a->port ? a->port : a->tls == CONF_TLS_IMAPS ? 993 : 143, token);
	buf_free(&user);
	in.data = (unsigned char *)gs2;
	in.size = (unsigned)strlen(gs2);
	if (gnutls_base64_encode2(&in, &out) >= 0)
		cmd = xasprintf("AUTHENTICATE OAUTHBEARER %.*s\r\n",
		    (int)out.size, out.data);
	explicit_bzero(gs2, strlen(gs2));
	free(gs2);
	if (out.data) {
		explicit_bzero(out.data, out.size);
		gnutls_free(out.data);
	}
	if (cmd == NULL)
		return MAILIMAP_ERROR_MEMORY;
	r = mailimap_send_current_tag(imap);
	if (r == MAILIMAP_NO_ERROR && (mailstream_write(imap->imap_stream,
	    cmd, strlen(cmd)) < 0 || mailstream_flush(imap->imap_stream) == -1 ||
	    (line = mailimap_read_line(imap)) == NULL ||
	    (line[0] == '+' && (mailstream_write(imap->imap_stream, "AQ==\r\n",
	    6) < 0 || mailstream_flush(imap->imap_stream) == -1 ||
	    mailimap_read_line(imap) == NULL))))
		r = MAILIMAP_ERROR_STREAM;
	explicit_bzero(cmd, strlen(cmd));
	free(cmd);
	if (r != MAILIMAP_NO_ERROR ||
	    (r = mailimap_parse_response(imap, &resp)) != MAILIMAP_NO_ERROR)
		return r;
	ok = resp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type ==
	    MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(resp);
	if (!ok)
		return MAILIMAP_ERROR_LOGIN;
	imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return MAILIMAP_NO_ERROR;
}

/*
 * The OAuth 2.0 login (auth = oauth2): an access token from oauth.h,
 * presented by the mechanism the server offers: OAUTHBEARER (RFC 7628)
 * as an initial response where it offers SASL-IR, else XOAUTH2.
 */
static enum tk_status
sasl_oauth(struct poller *p)
{
	const struct conf_account *a = p->acct;
	struct mailimap_capability_data *cap = NULL;
	enum tk_status ts;
	const char *mech;
	char *token = NULL, *refused = NULL, what[300];
	int r;

	if ((ts = check(p, "CAPABILITY", mailimap_capability(p->imap,
	    &cap))) != TK_OK)
		return ts;
	mailimap_capability_data_free(cap);
	if (mailimap_has_authentication(p->imap, "OAUTHBEARER") &&
	    mailimap_has_extension(p->imap, "SASL-IR"))
		mech = "OAUTHBEARER";
	else if (mailimap_has_xoauth2(p->imap))
		mech = "XOAUTH2";
	else {
		snprintf(p->err, p->errlen, "account %s: %s offers neither "
		    "OAUTHBEARER (with SASL-IR) nor XOAUTH2", a->name, a->host);
		return TK_EPERM;
	}
	/* A token the server refuses (revoked early, say) is refreshed
	 * once: a grant that is gone says so then. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((ts = oauth_token(p->conf, a, refused, &token, p->err,
		    p->errlen)) != TK_OK)
			break;
		if (strcmp(mech, "OAUTHBEARER") == 0)
			r = oauthbearer(p->imap, a, token);
		else
			r = mailimap_oauth2_authenticate(p->imap, a->user, token);
		snprintf(what, sizeof(what), "%s login as %s", mech, a->user);
		ts = check(p, what, r);
		if (refused) {
			explicit_bzero(refused, strlen(refused));
			free(refused);
		}
		refused = token;
		token = NULL;
		if (ts != TK_EPERM)
			break;
	}
	if (ts == TK_EPERM && strstr(p->err, "oauth login") == NULL) {
		size_t n = strlen(p->err);

		snprintf(p->err + n, p->errlen - n, " (the access token was "
		    "refused: run `tiketti oauth login %s`)", a->name);
	}
	if (refused) {
		explicit_bzero(refused, strlen(refused));
		free(refused);
	}
	return ts;
}

static enum tk_status
session_open(struct poller *p)
{
	const struct conf_account *a = p->acct;
	uint16_t port = (uint16_t)(a->port ? a->port :
	    a->tls == CONF_TLS_IMAPS ? 993 : 143);
	struct mailimap_capability_data *cap = NULL;
	enum tk_status ts;
	char what[300];
	int r;

	p->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(p->imap, a->timeout);
	snprintf(what, sizeof(what), "connect to %s port %u", a->host,
	    (unsigned)port);
	if (a->tls == CONF_TLS_IMAPS)
		r = mailimap_ssl_connect_with_callback(p->imap, a->host, port,
		    tls_setup, a->host);
	else
		r = mailimap_socket_connect(p->imap, a->host, port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR)
		return fail(p, TK_ETEMP, what, r);
	if (a->tls == CONF_TLS_STARTTLS &&
	    (ts = check(p, "STARTTLS", mailimap_socket_starttls_with_callback(
	    p->imap, tls_setup, a->host))) != TK_OK)
		return ts;
	if (a->tls != CONF_TLS_NONE && (ts = tls_verify(p)) != TK_OK)
		return ts;
	if (a->auth == CONF_AUTH_OAUTH2) {
		if ((ts = sasl_oauth(p)) != TK_OK)
			return ts;
	} else {
		snprintf(what, sizeof(what), "login as %s", a->user);
		if ((ts = check(p, what, mailimap_login(p->imap, a->user,
		    p->password))) != TK_OK)
			return ts;
	}
	/* What the server offers once we are in. */
	if ((ts = check(p, "CAPABILITY", mailimap_capability(p->imap,
	    &cap))) != TK_OK)
		return ts;
	mailimap_capability_data_free(cap);
	if (a->after == CONF_AFTER_DELETE &&
	    !mailimap_has_extension(p->imap, "UIDPLUS")) {
		snprintf(p->err, p->errlen, "account %s: after = delete needs "
		    "UIDPLUS (UID EXPUNGE), which %s does not offer", a->name,
		    a->host);
		return TK_EPERM;
	}
	if (a->after == CONF_AFTER_MOVE &&
	    !mailimap_has_extension(p->imap, "MOVE") &&
	    !mailimap_has_extension(p->imap, "UIDPLUS")) {
		snprintf(p->err, p->errlen, "account %s: after = move needs "
		    "MOVE or UIDPLUS, which %s does not offer", a->name,
		    a->host);
		return TK_EPERM;
	}
	snprintf(what, sizeof(what), "select %s", a->folder);
	return check(p, what, mailimap_select(p->imap, a->folder));
}

/* LOGOUT only on a healthy connection: a dead one would wait out the
 * timeout. */
static void
session_close(struct poller *p, int healthy)
{
	if (p->imap == NULL)
		return;
	if (healthy && p->imap->imap_stream)
		mailimap_logout(p->imap);
	mailimap_free(p->imap);
	p->imap = NULL;
}

/* The state in a transaction of its own (outside a batch). */
static enum tk_status
state_save(struct poller *p)
{
	enum tk_status ts;

	if ((ts = store_begin(p->store)) == TK_OK &&
	    (ts = store_imap_set(p->store, p->acct->name, p->acct->folder,
	    &p->state)) == TK_OK)
		ts = store_commit(p->store);
	if (ts != TK_OK) {
		snprintf(p->err, p->errlen, "account %s: %s", p->acct->name,
		    store_errmsg(p->store));
		store_rollback(p->store);
	}
	return ts;
}

/* ---- after: seen, move, delete ---- */

static enum tk_status
add_flag(struct poller *p, struct mailimap_set *set, struct mailimap_flag *f)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sa;
	int r;

	mailimap_flag_list_add(fl, f);
	sa = mailimap_store_att_flags_new_add_flags_silent(fl);
	r = mailimap_uid_store(p->imap, set, sa);
	mailimap_store_att_flags_free(sa);
	return check(p, "UID STORE", r);
}

static enum tk_status
act(struct poller *p, struct mailimap_set *set)
{
	const struct conf_account *a = p->acct;
	enum tk_status ts;
	char what[300];

	switch (a->after) {
	case CONF_AFTER_KEEP:
		return TK_OK;
	case CONF_AFTER_SEEN:
		return add_flag(p, set, mailimap_flag_new_seen());
	case CONF_AFTER_MOVE:
		snprintf(what, sizeof(what), "move to %s", a->move_to);
		if (mailimap_has_extension(p->imap, "MOVE"))
			return check(p, what, mailimap_uid_move(p->imap, set,
			    a->move_to));
		if ((ts = check(p, what, mailimap_uid_copy(p->imap, set,
		    a->move_to))) != TK_OK)
			return ts;
		/* FALLTHROUGH */
	case CONF_AFTER_DELETE:
		if ((ts = add_flag(p, set, mailimap_flag_new_deleted())) !=
		    TK_OK)
			return ts;
		/* Our UIDs only: others' \Deleted mail stays. */
		return check(p, "UID EXPUNGE", mailimap_uid_expunge(p->imap,
		    set));
	}
	return TK_OK;
}

struct gaps {
	struct mailimap_set	*set;
	uint32_t		 next;	/* first UID not yet in the set */
};

static int
skip_gap(int64_t uid, void *arg)
{
	struct gaps *g = arg;

	if ((uint32_t)uid > g->next)
		mailimap_set_add_interval(g->set, g->next, (uint32_t)uid - 1);
	g->next = (uint32_t)uid + 1;
	return 0;
}

struct batch {
	const struct newmsg	*m;
	size_t			 n;
	const char		*body[BATCH_MSGS];
	size_t			 len[BATCH_MSGS];
	char			*why[BATCH_MSGS];	/* a refused fetch */
	int			 masked[BATCH_MSGS];	/* redact changed it */
	clist			*lists[BATCH_MSGS + 1];
	size_t			 nlists;
};

static void att_read(struct mailimap_msg_att *, uint32_t *, uint32_t *,
    const char **, size_t *);
static int fetch_bodies(struct poller *, struct mailimap_set *, clist **);

/*
 * redact_mailbox: the server's copy of one message in which redact
 * masked something is replaced by the masked copy (APPEND to the same
 * folder, then \Deleted and UID EXPUNGE of the original). The copy comes
 * back as a duplicate on the next run and gets the `after` action then.
 */
static enum tk_status
replace_one(struct poller *p, uint32_t uid, const char *body, size_t len)
{
	const struct conf_account *a = p->acct;
	struct mailimap_flag_list *fl;
	struct mailimap_set *set;
	struct mime_edited ed;
	struct redact_count n;
	struct tk_msg *m = ingest_parse(p->conf, body, len);
	enum tk_status ts;
	char what[64], counts[64];
	int r;

	ingest_redact(p->conf, &m, &body, &len, &ed, &n);
	mime_free(m);
	if (ed.whole.len == 0) {
		mime_edited_free(&ed);
		return TK_OK;
	}
	fl = mailimap_flag_list_new_empty();
	if (a->after == CONF_AFTER_SEEN)
		mailimap_flag_list_add(fl, mailimap_flag_new_seen());
	r = mailimap_append(p->imap, a->folder, fl, NULL, ed.whole.data,
	    ed.whole.len);
	mailimap_flag_list_free(fl);
	mime_edited_free(&ed);
	snprintf(what, sizeof(what), "APPEND of UID %u masked",
	    (unsigned)uid);
	if ((ts = check(p, what, r)) != TK_OK)
		return ts;
	set = mailimap_set_new_single(uid);
	if ((ts = add_flag(p, set, mailimap_flag_new_deleted())) == TK_OK)
		ts = check(p, "UID EXPUNGE", mailimap_uid_expunge(p->imap, set));
	mailimap_set_free(set);
	redact_count_str(&n, counts, sizeof(counts));
	if (ts == TK_OK)
		log_info("account %s: UID %u of %s replaced by its masked copy "
		    "(%s)", a->name, (unsigned)uid, a->folder, counts);
	return ts;
}

/*
 * Replaces what is in set and masked: the batch's bodies when it has
 * them, else (a run that died before) fetched again.
 */
static enum tk_status
replace_masked(struct poller *p, struct mailimap_set *set,
    const struct batch *b)
{
	enum tk_status ts = TK_OK;
	clist *list = NULL;
	int r;

	if (b) {
		for (size_t i = 0; i < b->n && ts == TK_OK; i++)
			if (b->masked[i] && b->body[i])
				ts = replace_one(p, b->m[i].uid, b->body[i],
				    b->len[i]);
		return ts;
	}
	if ((r = fetch_bodies(p, set, &list)) != MAILIMAP_NO_ERROR)
		return check(p, "UID FETCH BODY.PEEK[]", r);
	for (clistiter *it = clist_begin(list); it && ts == TK_OK;
	    it = clist_next(it)) {
		const char *body = NULL;
		size_t len = 0;
		uint32_t uid = 0, size = 0;

		att_read(clist_content(it), &uid, &size, &body, &len);
		if (uid && body)
			ts = replace_one(p, uid, body, len);
	}
	mailimap_fetch_list_free(list);
	return ts;
}

/*
 * Does the `after` action on everything ingested and not yet acted on
 * (acted_uid, last_uid], leaving the skipped messages where they are,
 * then records it done. With redact_mailbox the masked messages are
 * replaced first. UIDs that are gone already are no error.
 */
static enum tk_status
act_pending(struct poller *p, const struct batch *b)
{
	const struct conf_account *a = p->acct;
	struct store_imap *s = &p->state;
	struct gaps g;
	enum tk_status ts;

	if (s->acted_uid >= s->last_uid)
		return TK_OK;
	g.set = mailimap_set_new_empty();
	g.next = (uint32_t)s->acted_uid + 1;
	ts = store_imap_skipped(p->store, a->name, a->folder, s->uidvalidity,
	    s->acted_uid + 1, s->last_uid, skip_gap, &g);
	if (ts == TK_OK && g.next <= (uint32_t)s->last_uid)
		mailimap_set_add_interval(g.set, g.next, (uint32_t)s->last_uid);
	if (ts != TK_OK)
		snprintf(p->err, p->errlen, "account %s: %s", a->name,
		    store_errmsg(p->store));
	else if (clist_count(g.set->set_list) > 0) {
		if (a->redact_mailbox)
			ts = replace_masked(p, g.set, b);
		if (ts == TK_OK)
			ts = act(p, g.set);
	}
	mailimap_set_free(g.set);
	if (ts != TK_OK)
		return ts;
	s->acted_uid = s->last_uid;
	return state_save(p);
}

/* ---- fetching ---- */

/* The UID, size and body a FETCH response carries (those asked for). */
static void
att_read(struct mailimap_msg_att *ma, uint32_t *uid, uint32_t *size,
    const char **body, size_t *len)
{
	for (clistiter *it = clist_begin(ma->att_list); it;
	    it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *sa;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		sa = item->att_data.att_static;
		if (sa->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = sa->att_data.att_uid;
		else if (sa->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
			*size = sa->att_data.att_rfc822_size;
		else if (sa->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		    body) {
			*body = sa->att_data.att_body_section->sec_body_part;
			*len = sa->att_data.att_body_section->sec_length;
		}
	}
}

static int
newmsg_cmp(const void *x, const void *y)
{
	const struct newmsg *a = x, *b = y;

	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

/*
 * UID and size (0: not asked) of every message above the mark, in UID
 * order. "n:*"
 * also names the last message when none is above n: such UIDs at or
 * below the mark are dropped, as are any a server sends unasked.
 */
static enum tk_status
list_new(struct poller *p, struct newmsg **out, size_t *n, int sizes)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	clist *list = NULL;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	set = mailimap_set_new_interval((uint32_t)p->state.last_uid + 1, 0);
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid());
	if (sizes)
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_rfc822_size());
	r = mailimap_uid_fetch(p->imap, set, ft, &list);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		p->dropped = transient(r);
		return check(p, sizes ? "UID FETCH (UID RFC822.SIZE)" :
		    "UID FETCH (UID)", r);
	}
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		uint32_t uid = 0, size = 0;

		att_read(clist_content(it), &uid, &size, NULL, NULL);
		if (uid <= p->state.last_uid)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		(*out)[(*n)++] = (struct newmsg){ .uid = uid, .size = size };
	}
	mailimap_fetch_list_free(list);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), newmsg_cmp);
	return TK_OK;
}

static int
fetch_bodies(struct poller *p, struct mailimap_set *set, clist **list)
{
	struct mailimap_fetch_type *ft;
	int r;

	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(
	    mailimap_section_new(NULL)));
	*list = NULL;
	r = mailimap_uid_fetch(p->imap, set, ft, list);
	mailimap_fetch_type_free(ft);
	return r;
}

static void
batch_take(struct batch *b, clist *list)
{
	b->lists[b->nlists++] = list;
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct newmsg key = { 0 };
		const struct newmsg *hit;
		const char *body = NULL;
		size_t len = 0;
		uint32_t size = 0;

		att_read(clist_content(it), &key.uid, &size, &body, &len);
		hit = bsearch(&key, b->m, b->n, sizeof(*b->m), newmsg_cmp);
		if (hit && body) {
			b->body[hit - b->m] = body;
			b->len[hit - b->m] = len;
		}
	}
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nlists; i++)
		mailimap_fetch_list_free(b->lists[i]);
	for (size_t i = 0; i < b->n; i++)
		free(b->why[i]);
}

/*
 * BODY.PEEK[] of the batch (\Seen stays as it was). When the server
 * refuses the whole FETCH, each message is asked for alone so that one
 * bad message cannot hold the others back.
 */
static enum tk_status
batch_fetch(struct poller *p, struct batch *b)
{
	long long limit = p->conf->message_size_limit;
	struct mailimap_set *set = mailimap_set_new_empty();
	clist *list;
	int r, any = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->m[i].size <= limit) {
			mailimap_set_add_single(set, b->m[i].uid);
			any = 1;
		}
	r = any ? fetch_bodies(p, set, &list) : MAILIMAP_NO_ERROR;
	mailimap_set_free(set);
	if (any && r == MAILIMAP_NO_ERROR) {
		batch_take(b, list);
		return TK_OK;
	}
	if (!any)
		return TK_OK;
	if (transient(r)) {
		p->dropped = 1;
		return check(p, "UID FETCH BODY.PEEK[]", r);
	}
	for (size_t i = 0; i < b->n; i++) {
		if (b->m[i].size > limit)
			continue;
		set = mailimap_set_new_single(b->m[i].uid);
		r = fetch_bodies(p, set, &list);
		mailimap_set_free(set);
		if (r == MAILIMAP_NO_ERROR)
			batch_take(b, list);
		else if (transient(r)) {
			p->dropped = 1;
			return check(p, "UID FETCH BODY.PEEK[]", r);
		}
		else
			b->why[i] = xasprintf("the server refused to hand it "
			    "over: %s", p->imap->imap_response ?
			    p->imap->imap_response : "no reason given");
	}
	return TK_OK;
}

/* A message left in the folder, recorded in the batch's transaction. */
static enum tk_status
skip(struct poller *p, const struct newmsg *m, const char *why)
{
	const struct conf_account *a = p->acct;

	log_warnx("account %s: UID %u of %s (%u bytes) left in the folder: "
	    "%s", a->name, (unsigned)m->uid, a->folder, (unsigned)m->size,
	    why);
	p->st->skipped++;
	return store_imap_skip(p->store, a->name, a->folder,
	    p->state.uidvalidity, m->uid, m->size, why, (int64_t)time(NULL));
}

/*
 * One batch: fetched first, so no write lock is held over the network;
 * then ingested in one transaction that also moves the mark; then the
 * `after` action.
 */
static enum tk_status
batch_run(struct poller *p, const struct newmsg *m, size_t n)
{
	const struct conf_account *a = p->acct;
	struct ingest_envelope env = { .mailbox = a->mailbox };
	struct batch b = { .m = m, .n = n };
	struct store_imap before = p->state;
	struct automate_lookups *lk = NULL;
	struct ingest_result res;
	enum tk_status ts;
	char why[200];

	if ((ts = batch_fetch(p, &b)) != TK_OK)
		goto out;
	/* Lookups before the batch's transaction, never inside it. */
	lk = xcalloc(n ? n : 1, sizeof(*lk));
	for (size_t i = 0; i < n; i++)
		if (b.body[i] != NULL)
			ingest_lookups(p->ig, b.body[i], b.len[i], &env, &lk[i]);
	if ((ts = ingest_batch_begin(p->ig)) != TK_OK) {
		snprintf(p->err, p->errlen, "account %s: %s", a->name,
		    ingest_errmsg(p->ig));
		goto out;
	}
	/* b.body[i] is NULL when the server refused the message, or when
	 * it answered the FETCH with NO, which libetpan takes for a
	 * success as long as some data came back. */
	for (size_t i = 0; i < n && ts == TK_OK; i++) {
		if (m[i].size > p->conf->message_size_limit) {
			snprintf(why, sizeof(why), "over message_size_limit "
			    "(%lld)", p->conf->message_size_limit);
			ts = skip(p, &m[i], why);
		} else if (b.body[i] == NULL)
			ts = skip(p, &m[i], b.why[i] ? b.why[i] :
			    "the server sent no body");
		else {
			struct ingest_envelope e = env;

			e.lookups = &lk[i];
			p->st->fetched++;
			ts = ingest_message(p->ig, b.body[i], b.len[i], &e,
			    &res);
			b.masked[i] = ts == TK_OK && res.masked;
			if (ts == TK_ELIMIT) {
				snprintf(why, sizeof(why), "%s",
				    ingest_errmsg(p->ig));
				ts = skip(p, &m[i], why);
			} else if (ts != TK_OK)
				snprintf(p->err, p->errlen, "account %s: UID "
				    "%u: %s", a->name, (unsigned)m[i].uid,
				    ingest_errmsg(p->ig));
			else if (res.duplicate)
				p->st->duplicates++;
			else {
				if (res.unverified[0])
					log_warnx("account %s: UID %u: "
					    "agent_unverified: %s", a->name,
					    (unsigned)m[i].uid, res.unverified);
				p->st->ingested++;
				log_debug("account %s: UID %u -> ticket %lld",
				    a->name, (unsigned)m[i].uid,
				    (long long)res.ticket);
			}
		}
		p->state.last_uid = m[i].uid;
	}
	if (a->after == CONF_AFTER_KEEP)
		p->state.acted_uid = p->state.last_uid;
	if (ts == TK_OK && (ts = store_imap_set(p->store, a->name, a->folder,
	    &p->state)) != TK_OK)
		snprintf(p->err, p->errlen, "account %s: %s", a->name,
		    store_errmsg(p->store));
	if (ts == TK_OK && (ts = ingest_batch_commit(p->ig)) != TK_OK)
		snprintf(p->err, p->errlen, "account %s: commit: %s", a->name,
		    ingest_errmsg(p->ig));
	if (ts != TK_OK) {
		ingest_batch_rollback(p->ig);
		p->state = before;
		goto out;
	}
	ts = act_pending(p, &b);
out:
	for (size_t i = 0; lk && i < n; i++)
		automate_lookups_free(&lk[i]);
	free(lk);
	batch_free(&b);
	return ts;
}

/* Connects again after the server dropped us, to the same folder. */
static enum tk_status
reconnect(struct poller *p)
{
	enum tk_status ts;

	session_close(p, 0);
	p->dropped = 0;
	if ((ts = session_open(p)) != TK_OK)
		return ts;
	if (p->imap->imap_selection_info->sel_uidvalidity !=
	    (uint32_t)p->state.uidvalidity) {
		snprintf(p->err, p->errlen, "account %s: UIDVALIDITY of %s "
		    "changed while polling", p->acct->name, p->acct->folder);
		return TK_ETEMP;
	}
	return TK_OK;
}

/* A message the server drops the connection over: recorded, passed. */
static enum tk_status
poisoned(struct poller *p, const struct newmsg *m)
{
	enum tk_status ts;

	if ((ts = store_begin(p->store)) != TK_OK)
		goto fail;
	if ((ts = skip(p, m, "the server dropped the connection when asked "
	    "for it, twice")) != TK_OK)
		goto fail;
	p->state.last_uid = m->uid;
	if (p->acct->after == CONF_AFTER_KEEP)
		p->state.acted_uid = m->uid;
	if ((ts = store_imap_set(p->store, p->acct->name, p->acct->folder,
	    &p->state)) != TK_OK || (ts = store_commit(p->store)) != TK_OK)
		goto fail;
	return TK_OK;
fail:
	snprintf(p->err, p->errlen, "account %s: %s", p->acct->name,
	    store_errmsg(p->store));
	store_rollback(p->store);
	return ts;
}

/*
 * A batch whose FETCH lost the connection, again one message at a time
 * on a new connection: a message that loses it twice (Dovecot hangs up
 * on a file it cannot read) is left behind so it cannot block the
 * folder; a server that is really gone fails the reconnect instead.
 */
static enum tk_status
one_by_one(struct poller *p, const struct newmsg *m, size_t n)
{
	enum tk_status ts = TK_OK;

	for (size_t i = 0; i < n && !stopped(p); i++) {
		for (int tries = 0; ; tries++) {
			if (p->dropped && (ts = reconnect(p)) != TK_OK)
				return ts;
			if (tries == 2) {
				ts = poisoned(p, &m[i]);
				break;
			}
			if ((ts = batch_run(p, &m[i], 1)) != TK_ETEMP ||
			    !p->dropped)
				break;
		}
		if (ts != TK_OK)
			return ts;
	}
	return ts;
}

/* Everything above the mark, batch by batch. */
static enum tk_status
pass(struct poller *p)
{
	struct newmsg *m;
	enum tk_status ts;
	size_t n, i, k;

	/* A server that hangs up over a size it cannot read lists the
	 * UIDs alone; the messages then go one by one. */
	p->dropped = 0;
	if ((ts = list_new(p, &m, &n, 1)) == TK_ETEMP && p->dropped) {
		log_warnx("%s; listing the UIDs alone", p->err);
		if ((ts = reconnect(p)) == TK_OK)
			ts = list_new(p, &m, &n, 0);
	}
	if (ts != TK_OK)
		return ts;
	for (i = 0; i < n && ts == TK_OK && !stopped(p); i += k) {
		long long bytes = 0;

		for (k = 0; i + k < n && k < BATCH_MSGS && bytes < BATCH_BYTES;
		    k++)
			if (m[i + k].size <= p->conf->message_size_limit)
				bytes += m[i + k].size;
		p->dropped = 0;
		ts = batch_run(p, m + i, k);
		if (ts == TK_ETEMP && p->dropped) {
			log_warnx("%s; trying the batch one message at a time",
			    p->err);
			ts = one_by_one(p, m + i, k);
		}
	}
	free(m);
	return ts;
}

/* ---- copies in Sent ---- */

/* The Sent folder: sent_folder, else the one LIST marks \Sent (RFC
 * 6154), else "Sent". */
static char *
sent_folder(struct poller *p)
{
	clist *list = NULL;
	char *found = NULL;

	if (p->acct->sent_folder)
		return xstrdup(p->acct->sent_folder);
	if (mailimap_list(p->imap, "", "*", &list) == MAILIMAP_NO_ERROR) {
		for (clistiter *it = clist_begin(list); it && !found;
		    it = clist_next(it)) {
			struct mailimap_mailbox_list *mb = clist_content(it);

			if (mb->mb_flag == NULL)
				continue;
			for (clistiter *f = clist_begin(mb->mb_flag->mbf_oflags);
			    f && !found; f = clist_next(f)) {
				struct mailimap_mbx_list_oflag *of =
				    clist_content(f);

				if (of->of_type ==
				    MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT &&
				    of->of_flag_ext &&
				    strcasecmp(of->of_flag_ext, "Sent") == 0)
					found = xstrdup(mb->mb_name);
			}
		}
		mailimap_list_result_free(list);
	}
	return found ? found : xstrdup("Sent");
}

/* The Message-ID of raw mail (in its header), or NULL. */
static char *
raw_message_id(const char *raw, size_t len)
{
	for (size_t i = 0; i < len; ) {
		size_t e = i;

		while (e < len && raw[e] != '\n')
			e++;
		if (e == i || (e == i + 1 && raw[i] == '\r'))
			break;	/* the header's end */
		if (e - i > 11 && strncasecmp(raw + i, "Message-ID:", 11) == 0) {
			const char *lt = memchr(raw + i, '<', e - i);
			const char *gt = lt ? memchr(lt, '>', (size_t)(raw + e -
			    lt)) : NULL;

			if (lt && gt && gt > lt + 1)
				return xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		i = e + 1;
	}
	return NULL;
}

struct copy {
	struct buf	 raw;
	int64_t		 attempts;
	int64_t		 created_at;
};

static int
copy_get(const struct store_outbox *o, void *arg)
{
	struct copy *cp = arg;

	cp->attempts = o->attempts;
	cp->created_at = o->created_at;
	if (o->raw)
		buf_add(&cp->raw, o->raw, o->rawlen);
	return 1;
}

/* Whether folder (selected) holds a message with that Message-ID. */
static enum tk_status
sent_has(struct poller *p, const char *mid, int *has)
{
	struct mailimap_search_key *key;
	clist *result = NULL;
	int r;

	*has = 0;
	key = mailimap_search_key_new_header(xstrdup("Message-ID"),
	    xasprintf("<%s>", mid));
	r = mailimap_uid_search(p->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return check(p, "UID SEARCH in Sent", r);
	*has = clist_count(result) > 0;
	mailimap_search_result_free(result);
	return TK_OK;
}

/*
 * sent_copy: the mail tiketti sent for this account's mailbox (outbox
 * rows of kind sent_copy) appended to its Sent folder, \Seen. Exactly
 * once: a row is claimed, a copy already there (a run that died between
 * its APPEND and marking the row) is not appended again, and a failure
 * is retried with back-off until outbox_max_age. The folder selected
 * before is selected again.
 */
static enum tk_status
copies(struct poller *p)
{
	const struct conf_account *a = p->acct;
	struct mailimap_flag_list *fl;
	enum tk_status ts = TK_OK;
	int64_t after = 0, id, now = (int64_t)time(NULL);
	char *folder = NULL, what[300];
	int examined = 0;

	for (;;) {
		struct copy cp;
		char *mid, *why = NULL;
		int has = 0, r;

		if ((ts = store_copy_claim(p->store, a->name, now, after,
		    &id)) != TK_OK) {
			snprintf(p->err, p->errlen, "account %s: %s", a->name,
			    store_errmsg(p->store));
			break;
		}
		if (id == 0)
			break;
		after = id;
		memset(&cp, 0, sizeof(cp));
		buf_init(&cp.raw, 0);
		if ((ts = store_outbox_get(p->store, id, copy_get, &cp)) !=
		    TK_OK) {
			buf_free(&cp.raw);
			break;
		}
		if (folder == NULL) {
			folder = sent_folder(p);
			examined = mailimap_examine(p->imap, folder) ==
			    MAILIMAP_NO_ERROR;
		}
		mid = raw_message_id(cp.raw.data ? cp.raw.data : "", cp.raw.len);
		if (examined && mid && (ts = sent_has(p, mid, &has)) != TK_OK) {
			free(mid);
			buf_free(&cp.raw);
			break;
		}
		free(mid);
		if (!has) {
			fl = mailimap_flag_list_new_empty();
			mailimap_flag_list_add(fl, mailimap_flag_new_seen());
			r = cp.raw.len ? mailimap_append(p->imap, folder, fl, NULL,
			    cp.raw.data, cp.raw.len) : MAILIMAP_ERROR_APPEND;
			mailimap_flag_list_free(fl);
			if (r != MAILIMAP_NO_ERROR) {
				why = xasprintf("APPEND to %s: %s", folder,
				    p->imap->imap_response ?
				    p->imap->imap_response : "refused");
				if (transient(r))
					ts = TK_ETEMP;
			}
		}
		if (why == NULL)
			ts = store_outbox_done(p->store, id, "sent", 0, NULL, now);
		else {
			int64_t next, backoff = 60;

			for (int64_t k = 1; k < cp.attempts && backoff < 3600;
			    k++)
				backoff *= 2;
			next = now + (backoff < 3600 ? backoff : 3600);
			log_warnx("account %s: outbox row %lld: %s", a->name,
			    (long long)id, why);
			if (ts == TK_OK)
				ts = store_outbox_done(p->store, id, next >
				    cp.created_at + p->conf->outbox_max_age ?
				    "failed" : "queued", next, why, now);
			else
				(void)store_outbox_done(p->store, id, "queued",
				    next, why, now);
		}
		if (why == NULL && ts == TK_OK)
			log_info("account %s: outbox row %lld: a copy in %s%s",
			    a->name, (long long)id, folder, has ?
			    " (there already)" : "");
		free(why);
		buf_free(&cp.raw);
		if (ts != TK_OK)
			break;
	}
	/* The folder the poll reads, selected again. */
	if (folder) {
		snprintf(what, sizeof(what), "select %s", a->folder);
		if (ts == TK_OK)
			ts = check(p, what, mailimap_select(p->imap, a->folder));
	}
	free(folder);
	return ts;
}

/* Waits for news of the folder: IDLE until something arrives or
 * idle_interval passes (a NOOP poll where there is no IDLE). */
static enum tk_status
idle_wait(struct poller *p)
{
	int ms = p->acct->idle_interval * 1000;
	struct pollfd pfd = { .events = POLLIN };
	enum tk_status ts;

	if (!mailimap_has_idle(p->imap)) {
		poll(NULL, 0, ms);
		return check(p, "NOOP", mailimap_noop(p->imap));
	}
	if ((ts = check(p, "IDLE", mailimap_idle(p->imap))) != TK_OK)
		return ts;
	pfd.fd = mailimap_idle_get_fd(p->imap);
	poll(&pfd, 1, ms);	/* a signal (stop) ends it early too */
	return check(p, "IDLE (DONE)", mailimap_idle_done(p->imap));
}

static enum tk_status
session(struct poller *p)
{
	const struct conf_account *a = p->acct;
	enum tk_status ts;
	uint32_t uidvalidity;
	long before;

	if ((ts = session_open(p)) != TK_OK)
		return ts;
	uidvalidity = p->imap->imap_selection_info->sel_uidvalidity;
	if ((ts = store_imap_get(p->store, a->name, a->folder, &p->state)) !=
	    TK_OK) {
		snprintf(p->err, p->errlen, "account %s: %s", a->name,
		    store_errmsg(p->store));
		return ts;
	}
	if (p->state.uidvalidity != uidvalidity) {
		if (p->state.uidvalidity != 0)
			log_warnx("account %s: UIDVALIDITY of %s changed from "
			    "%lld to %u: reading the whole folder again "
			    "(mail already in is skipped)", a->name, a->folder,
			    (long long)p->state.uidvalidity,
			    (unsigned)uidvalidity);
		p->state = (struct store_imap){ .uidvalidity = uidvalidity };
		if ((ts = state_save(p)) != TK_OK)
			return ts;
	}
	/* A run that died between a commit and its action. */
	if ((ts = act_pending(p, NULL)) != TK_OK)
		return ts;
	if (p->opts->idle && mailimap_has_idle(p->imap))
		log_info("account %s: watching %s on %s", a->name, a->folder,
		    a->host);
	else if (p->opts->idle)
		log_info("account %s: watching %s on %s (no IDLE: NOOP every "
		    "%d s)", a->name, a->folder, a->host, a->idle_interval);
	for (;;) {
		before = p->st->ingested;
		ts = pass(p);
		if (p->st->ingested > before && p->opts->after_pass)
			p->opts->after_pass(p->opts->arg);
		if (ts == TK_OK && a->sent_copy)
			ts = copies(p);
		if (ts != TK_OK || !p->opts->idle || stopped(p))
			return ts;
		if ((ts = idle_wait(p)) != TK_OK || stopped(p))
			return ts;
	}
}

enum tk_status
imap_poll(const struct tk_conf *c, const struct conf_account *a,
    struct store *s, struct ingest *ig, const struct imap_opts *o,
    struct imap_stats *st, char *err, size_t errlen)
{
	struct poller p = { .conf = c, .acct = a, .store = s, .ig = ig,
	    .opts = o, .st = st, .err = err, .errlen = errlen };
	enum tk_status ts;
	int held, backoff = 1;
	char msg[512], *lock;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	/* One poll of an account at a time, on every host. */
	lock = xasprintf("poll-%s", a->name);
	ts = store_lock_try(s, lock, &held);
	free(lock);
	if (ts != TK_OK) {
		snprintf(err, errlen, "account %s: %s", a->name,
		    store_errmsg(s));
		return TK_ETEMP;
	}
	if (!held) {
		log_info("account %s: another poll of it is running; "
		    "skipped", a->name);
		st->busy = 1;
		return TK_OK;
	}
	if (a->auth == CONF_AUTH_OAUTH2)
		p.password = xstrdup("");	/* a token each session */
	else if ((ts = conf_read_secret("password_file", a->password_file,
	    &p.password, msg, sizeof(msg))) != TK_OK) {
		snprintf(err, errlen, "account %s: %s", a->name, msg);
		store_unlock(s);
		return ts;
	}
	for (;;) {
		time_t began = time(NULL);

		ts = session(&p);
		session_close(&p, ts == TK_OK);
		if (!o->idle || stopped(&p) || ts == TK_EPERM || ts == TK_EIO)
			break;
		if (time(NULL) - began > MAX_BACKOFF)
			backoff = 1;
		log_warnx("%s; connecting again in %d s", err, backoff);
		for (int i = 0; i < backoff && !stopped(&p); i++)
			sleep(1);
		if (stopped(&p))
			break;
		backoff = backoff * 2 > MAX_BACKOFF ? MAX_BACKOFF : backoff * 2;
		err[0] = '\0';
	}
	explicit_bzero(p.password, strlen(p.password));
	free(p.password);
	store_unlock(s);
	return stopped(&p) && ts == TK_ETEMP ? TK_OK : ts;
}
