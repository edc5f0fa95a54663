/*
 * NAME
 *	oauth.c — OAuth 2.0 grants: the device flow and token refresh.
 * DESCRIPTION
 *	A grant is an account's refresh token with the access token last
 *	issued from it and when that expires (the store's oauth_grants).
 *	oauth_login() makes one by the device authorization grant (RFC
 *	8628); oauth_token() hands out the access token, refreshing it
 *	(RFC 6749 section 6) when it is about to expire. Refreshing takes
 *	the store's lock "oauth-ACCOUNT" on a handle of its own, so that one
 *	process on one host refreshes at a time while the others wait and
 *	read what it saved; no transaction is open while an endpoint is
 *	asked. A rotated refresh token is committed before the new access
 *	token is handed out.
 * DIAGNOSTICS
 *	Tokens and secrets never reach a log or an error text: errors name
 *	the account, the endpoint's error code and the fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tiketti/buf.h"
#include "tiketti/deliver.h"
#include "tiketti/lookup.h"
#include "tiketti/oauth.h"
#include "tiketti/store.h"

#define OAUTH_TIMEOUT	30	/* seconds an endpoint may take */
#define OAUTH_ANSWER	(64 << 10)	/* bytes of an answer */
#define LOCK_WAIT_MS	30000	/* waiting for another's refresh */

/* A form field, percent-encoded, to a POST body. */
static void
form(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (b->len)
		buf_addc(b, '&');
	buf_addstr(b, key);
	buf_addc(b, '=');
	lookup_url_encode(b, value);
}

/* The client's part of every request: its id, and its secret if any. */
static enum tk_status
client(const struct conf_account *a, struct buf *b, char *err, size_t errlen)
{
	char *secret = NULL, msg[200];
	enum tk_status ts;

	form(b, "client_id", a->oauth_client_id);
	if (a->oauth_client_secret_file == NULL)
		return TK_OK;
	if ((ts = conf_read_secret("oauth_client_secret_file",
	    a->oauth_client_secret_file, &secret, msg, sizeof(msg))) != TK_OK) {
		snprintf(err, errlen, "account %s: %s", a->name, msg);
		return ts;
	}
	form(b, "client_secret", secret);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return TK_OK;
}

/* An endpoint's answer, the fields asked for read from its JSON. */
struct answer {
	long	 status;	/* HTTP */
	char	*v[8];
};

static void
answer_free(struct answer *an)
{
	for (size_t i = 0; i < sizeof(an->v) / sizeof(an->v[0]); i++) {
		if (an->v[i])
			explicit_bzero(an->v[i], strlen(an->v[i]));
		free(an->v[i]);
	}
}

/*
 * POSTs body to url and reads paths from the answer. TK_OK with any
 * status that came with JSON (an OAuth error is a 400 with a body);
 * TK_ETEMP when none came or it was no JSON.
 */
static enum tk_status
post(const struct conf_account *a, const char *url, struct buf *body,
    const char *const *paths, size_t n, struct answer *an, char *err,
    size_t errlen)
{
	struct deliver_request req = { 0 };
	struct buf out;
	char why[200];
	enum tk_status ts = TK_OK;

	memset(an, 0, sizeof(*an));
	buf_init(&out, OAUTH_ANSWER);
	req.method = "POST";
	req.url = url;
	req.body = body->data ? body->data : "";
	req.timeout = OAUTH_TIMEOUT;
	deliver_fetch(&req, &out, why, sizeof(why));
	an->status = req.status;
	if (req.status == 0 || lookup_json(out.data ? out.data : "", out.len,
	    paths, n, an->v, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "account %s: %s: %s", a->name, url,
		    req.status ? "not a JSON answer" : why);
		ts = TK_ETEMP;
	}
	if (out.data)
		explicit_bzero(out.data, out.len);
	buf_free(&out);
	if (body->data)
		explicit_bzero(body->data, body->len);
	return ts;
}

/* A store handle of oauth's own. */
static enum tk_status
open_store(const struct tk_conf *c, const struct conf_account *a,
    struct store **s, char *err, size_t errlen)
{
	enum tk_status ts = store_open(c->database, c->busy_timeout, 0, s);

	if (ts != TK_OK) {
		snprintf(err, errlen, "account %s: %s", a->name,
		    *s ? store_errmsg(*s) : "cannot open the database");
		store_close(*s);
		*s = NULL;
	}
	return ts;
}

static enum tk_status
save(struct store *s, const struct conf_account *a,
    const struct store_grant *g, char *err, size_t errlen)
{
	enum tk_status ts;

	if ((ts = store_begin(s)) == TK_OK &&
	    (ts = store_grant_put(s, a->name, g)) == TK_OK &&
	    (ts = store_commit(s)) == TK_OK)
		return TK_OK;
	snprintf(err, errlen, "account %s: saving the grant: %s", a->name,
	    store_errmsg(s));
	store_rollback(s);
	return ts;
}

/* For tiketti check: how the grant's last refresh or login went. */
static void
health(struct store *s, const struct conf_account *a, int ok,
    const char *detail)
{
	char *name = xasprintf("oauth:%s", a->name);

	(void)store_health_set(s, name, (int64_t)time(NULL), ok, detail);
	free(name);
}

/* The fix for a grant that is gone. */
static enum tk_status
refused(const struct conf_account *a, const char *what, const char *code,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "account %s: %s (%s): run `tiketti oauth login "
	    "%s`", a->name, what, code ? code : "no reason given", a->name);
	return TK_EPERM;
}

/*
 * A new access token from g's refresh token, saved with the rotated
 * refresh token (if the server sent one) before g is updated.
 */
static enum tk_status
refresh(struct store *s, const struct conf_account *a, struct store_grant *g,
    char *err, size_t errlen)
{
	static const char *const paths[] = { "access_token", "expires_in",
	    "refresh_token", "error" };
	struct store_grant now = { 0 };
	struct answer an;
	struct buf body;
	enum tk_status ts;
	long long ttl;

	if (g->refresh_token == NULL)
		return refused(a, "no refresh token", NULL, err, errlen);
	buf_init(&body, 0);
	form(&body, "grant_type", "refresh_token");
	form(&body, "refresh_token", g->refresh_token);
	if (a->oauth_scope)
		form(&body, "scope", a->oauth_scope);
	if ((ts = client(a, &body, err, errlen)) == TK_OK)
		ts = post(a, a->oauth_token_url, &body, paths, 4, &an, err,
		    errlen);
	buf_free(&body);
	if (ts != TK_OK)
		return ts;
	if (an.status >= 500) {
		snprintf(err, errlen, "account %s: token endpoint: HTTP %ld",
		    a->name, an.status);
		ts = TK_ETEMP;
	} else if (an.status != 200 || an.v[0] == NULL)
		ts = refused(a, "the OAuth grant was refused", an.v[3], err,
		    errlen);
	if (ts == TK_EPERM)
		health(s, a, 0, err);
	if (ts == TK_OK) {
		ttl = an.v[1] ? strtoll(an.v[1], NULL, 10) : 3600;
		now.access_token = an.v[0];
		now.refresh_token = an.v[2] ? an.v[2] : g->refresh_token;
		now.updated_at = (int64_t)time(NULL);
		now.expires_at = now.updated_at + (ttl > 0 ? ttl : 3600);
		/* The rotated refresh token is in the store before the
		 * access token goes anywhere. */
		if ((ts = save(s, a, &now, err, errlen)) == TK_OK) {
			health(s, a, 1, NULL);
			store_grant_clear(g);
			g->access_token = xstrdup(now.access_token);
			g->refresh_token = xstrdup(now.refresh_token);
			g->expires_at = now.expires_at;
			g->updated_at = now.updated_at;
		}
	}
	answer_free(&an);
	return ts;
}

/*
 * A token to use: not the one refused, and not about to expire (within
 * OAUTH_MARGIN, or a quarter of its life when that is shorter).
 */
static int
fresh(const struct store_grant *g, int found, const char *refused_token)
{
	int64_t life = g->expires_at - g->updated_at;
	int64_t margin = life / 4 < OAUTH_MARGIN ? life / 4 : OAUTH_MARGIN;

	return found && g->access_token &&
	    g->expires_at > (int64_t)time(NULL) + margin &&
	    (refused_token == NULL || strcmp(g->access_token,
	    refused_token) != 0);
}

enum tk_status
oauth_token(const struct tk_conf *c, const struct conf_account *a,
    const char *refused_token, char **token, char *err, size_t errlen)
{
	struct store *s = NULL;
	struct store_grant g;
	enum tk_status ts;
	char *lock;
	int found = 0, held = 0;

	*token = NULL;
	if ((ts = open_store(c, a, &s, err, errlen)) != TK_OK)
		return ts;
	lock = xasprintf("oauth-%s", a->name);
	if ((ts = store_grant_get(s, a->name, &g, &found)) != TK_OK)
		goto storefail;
	/* Another process may be refreshing it: wait, then take its. */
	for (int waited = 0; !fresh(&g, found, refused_token); waited += 100) {
		if ((ts = store_lock_try(s, lock, &held)) != TK_OK)
			goto storefail;
		if (held || waited >= LOCK_WAIT_MS)
			break;
		usleep(100 * 1000);
		store_grant_clear(&g);
		if ((ts = store_grant_get(s, a->name, &g, &found)) != TK_OK)
			goto storefail;
	}
	if (!found) {
		ts = refused(a, "no OAuth grant", "never logged in", err, errlen);
		goto done;
	}
	if (!fresh(&g, found, refused_token)) {
		if (!held) {
			snprintf(err, errlen, "account %s: another process "
			    "has been refreshing its token for %d s", a->name,
			    LOCK_WAIT_MS / 1000);
			ts = TK_ETEMP;
			goto done;
		}
		/* Read again under the lock: the last holder may have. */
		store_grant_clear(&g);
		if ((ts = store_grant_get(s, a->name, &g, &found)) != TK_OK)
			goto storefail;
		if (!fresh(&g, found, refused_token) && (ts = refresh(s, a, &g, err,
		    errlen)) != TK_OK)
			goto done;
	}
	*token = xstrdup(g.access_token);
	goto done;
storefail:
	snprintf(err, errlen, "account %s: %s", a->name, store_errmsg(s));
done:
	if (held)
		store_unlock(s);
	store_grant_clear(&g);
	store_close(s);
	free(lock);
	return ts;
}

enum tk_status
oauth_login(const struct tk_conf *c, const struct conf_account *a,
    void (*show)(const struct oauth_prompt *, void *), void *arg,
    char *err, size_t errlen)
{
	static const char *const dpaths[] = { "device_code", "user_code",
	    "verification_uri", "verification_url", "verification_uri_complete",
	    "expires_in", "interval", "error" };
	static const char *const tpaths[] = { "access_token", "expires_in",
	    "refresh_token", "error", "error_description" };
	struct oauth_prompt pr = { 0 };
	struct answer dev, tok;
	struct buf body;
	struct store *s = NULL;
	enum tk_status ts;
	time_t until;
	long interval;

	if (a->oauth_device_url == NULL) {
		snprintf(err, errlen, "account %s: no oauth_device_url (or "
		    "oauth_provider)", a->name);
		return TK_EPERM;
	}
	buf_init(&body, 0);
	if (a->oauth_scope)
		form(&body, "scope", a->oauth_scope);
	if ((ts = client(a, &body, err, errlen)) == TK_OK)
		ts = post(a, a->oauth_device_url, &body, dpaths, 8, &dev, err,
		    errlen);
	buf_free(&body);
	if (ts != TK_OK)
		return ts;
	if (dev.status != 200 || dev.v[0] == NULL || dev.v[1] == NULL ||
	    (dev.v[2] == NULL && dev.v[3] == NULL)) {
		snprintf(err, errlen, "account %s: device authorization "
		    "refused (%s)", a->name, dev.v[7] ? dev.v[7] : "no code");
		answer_free(&dev);
		return TK_EPERM;
	}
	/* What the server says goes to a terminal: no control characters. */
	for (size_t i = 1; i < 5; i++)
		for (char *q = dev.v[i]; q && *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
	pr.user_code = dev.v[1];
	pr.uri = dev.v[2] ? dev.v[2] : dev.v[3];	/* Google says _url */
	pr.uri_complete = dev.v[4];
	pr.expires_in = dev.v[5] ? strtol(dev.v[5], NULL, 10) : 900;
	interval = dev.v[6] ? strtol(dev.v[6], NULL, 10) : 5;
	if (interval < 1)
		interval = 1;
	show(&pr, arg);
	until = time(NULL) + (pr.expires_in > 0 ? pr.expires_in : 900);
	for (;;) {
		sleep((unsigned)interval);
		buf_init(&body, 0);
		form(&body, "grant_type",
		    "urn:ietf:params:oauth:grant-type:device_code");
		form(&body, "device_code", dev.v[0]);
		if ((ts = client(a, &body, err, errlen)) == TK_OK)
			ts = post(a, a->oauth_token_url, &body, tpaths, 5, &tok,
			    err, errlen);
		buf_free(&body);
		if (ts != TK_OK)
			break;
		if (tok.status == 200 && tok.v[0]) {
			struct store_grant g = { 0 };
			long long ttl = tok.v[1] ? strtoll(tok.v[1], NULL, 10) :
			    3600;

			g.access_token = tok.v[0];
			g.refresh_token = tok.v[2];
			g.updated_at = (int64_t)time(NULL);
			g.expires_at = g.updated_at + (ttl > 0 ? ttl : 3600);
			if ((ts = open_store(c, a, &s, err, errlen)) == TK_OK) {
				if ((ts = save(s, a, &g, err, errlen)) == TK_OK)
					health(s, a, 1, NULL);
				store_close(s);
			}
			answer_free(&tok);
			break;
		}
		/* RFC 8628 3.5: wait on, slower after slow_down. */
		if (tok.v[3] && strcmp(tok.v[3], "slow_down") == 0)
			interval += 5;
		else if (tok.v[3] == NULL ||
		    strcmp(tok.v[3], "authorization_pending") != 0) {
			const char *e = tok.v[3] ? tok.v[3] : "no reason given";

			snprintf(err, errlen, "account %s: %s", a->name,
			    strcmp(e, "expired_token") == 0 ? "the code "
			    "expired before it was entered: run the login "
			    "again" : strcmp(e, "access_denied") == 0 ?
			    "the sign-in was declined (access_denied)" : e);
			ts = TK_EPERM;
		}
		answer_free(&tok);
		if (ts != TK_OK)
			break;
		if (time(NULL) + interval > until) {
			snprintf(err, errlen, "account %s: the code expired "
			    "before it was entered: run the login again",
			    a->name);
			ts = TK_EPERM;
			break;
		}
	}
	answer_free(&dev);
	return ts;
}
