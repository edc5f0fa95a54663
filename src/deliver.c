/*
 * NAME
 *	deliver.c — sends the outbox with libcurl.
 * DESCRIPTION
 *	The only module that includes libcurl. Rows were queued inside the
 *	transaction that decided them; this runs after the commit. Each row
 *	is claimed with one UPDATE (so the milter's sender thread and a cron
 *	`tiketti flush` never both send it), sent, then marked:
 *	  mail      SMTP to smtp_url (smtps://, or smtp:// with STARTTLS
 *	            required unless smtp_starttls = no; AUTH with the
 *	            password of smtp_password_file, which must be mode 0600,
 *	            or with smtp_auth = oauth2 the access token of
 *	            smtp_oauth_account's grant from oauth.h, which in turn
 *	            asks its endpoints through deliver_fetch).
 *	            The envelope sender is a signed VERP address of the row
 *	            (support+bounce-ROW-MAC@), so a bounce names its row.
 *	  webhook   a JSON POST to the [webhook NAME] url, with its header.
 *	A 2xx (HTTP) or a completed SMTP transaction marks the row sent. An
 *	SMTP 5xx or HTTP 4xx fails it at once; SMTP 4xx, HTTP 5xx/408/429,
 *	TLS, login and connection errors defer it with exponential back-off
 *	(1 minute doubling to 1 hour) until outbox_max_age, then fail it. A
 *	sender killed between sending and marking leaves the row claimed;
 *	after DELIVER_LEASE seconds it is queued once more (it may go out
 *	twice) and never a third time. Certificates are verified (system
 *	store, or smtp_ca_file). One handle per connection is reused, so a
 *	flush sends many mails over one SMTP session. Thread-safe with one
 *	store handle per thread.
 * DIAGNOSTICS
 *	Every row's outcome is logged with its id, recipient and the server's
 *	last reply; a failed row gets a "send_failed" event on its ticket.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tiketti/buf.h"
#include "tiketti/deliver.h"
#include "tiketti/log.h"
#include "tiketti/oauth.h"
#include "tiketti/str.h"
#include "tiketti/ticket.h"
#include "tiketti/token.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

enum outcome { SENT, DEFER, FAIL, CANCEL };

/* A claimed row, copied out of the store. */
struct row {
	int64_t	 id;
	int64_t	 ticket;
	int64_t	 attempts;
	int64_t	 created_at;
	char	*kind;
	char	*to;
	char	*from;
	char	*body;		/* a webhook's JSON */
	char	*subject;
	int64_t	 out_message;	/* the mail's messages row */
	struct buf raw;		/* the mail */
	char	*stale;		/* why it is no longer to be sent, or NULL */
};

struct sender {
	const struct tk_conf	*conf;
	struct store		*store;
	CURL			*smtp;
	CURL			*http;
	char			*password;
	char			*bearer;	/* smtp_auth = oauth2's token */
	const char		*bearer_user;
	char			 curlerr[CURL_ERROR_SIZE];
	char			 reply[256];	/* the server's telling line */
	int			 first_line;	/* HTTP: keep the status line */
	size_t			 sent;		/* bytes of raw uploaded */
	const struct row	*row;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * Keeps what the server said for the log and last_error: an HTTP status
 * line, or the first SMTP error reply (else the last reply).
 */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct sender *sn = arg;
	size_t n = size;

	(void)h;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	if (sn->reply[0] && (sn->first_line || sn->reply[0] == '4' ||
	    sn->reply[0] == '5'))
		return 0;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (n == 0)
		return 0;
	if (n >= sizeof(sn->reply))
		n = sizeof(sn->reply) - 1;
	memcpy(sn->reply, data, n);
	sn->reply[n] = '\0';
	for (char *p = sn->reply; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return 0;
}

static size_t
on_read(char *out, size_t size, size_t nmemb, void *arg)
{
	struct sender *sn = arg;
	const struct buf *raw = &sn->row->raw;
	size_t n = size * nmemb, left = raw->len - sn->sent;

	if (n > left)
		n = left;
	memcpy(out, raw->data + sn->sent, n);
	sn->sent += n;
	return n;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;	/* a webhook's answer body is not kept */
}

static void
common_opts(struct sender *sn, CURL *h, long timeout)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sn->curlerr);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);	/* for on_debug */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, sn);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
}

static CURL *
smtp_handle(struct sender *sn)
{
	const struct tk_conf *c = sn->conf;
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	common_opts(sn, h, (long)c->smtp_timeout);
	curl_easy_setopt(h, CURLOPT_URL, c->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (strncmp(c->smtp_url, "smtp://", 7) == 0 && c->smtp_starttls)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (c->smtp_ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->smtp_ca_file);
	if (sn->bearer) {
		/* OAUTHBEARER or XOAUTH2, as the server offers. */
		curl_easy_setopt(h, CURLOPT_USERNAME, sn->bearer_user);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, sn->bearer);
	} else if (c->smtp_user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, c->smtp_user);
		if (sn->password)
			curl_easy_setopt(h, CURLOPT_PASSWORD, sn->password);
	}
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, sn);
	return h;
}

/* Failures a postmaster fixes in tiketti.conf or on the server. */
static int
config_error(CURLcode rc)
{
	return rc == CURLE_LOGIN_DENIED || rc == CURLE_AUTH_ERROR ||
	    rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_CONNECT_ERROR ||
	    rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE;
}

static enum outcome
send_mail(struct sender *sn, const struct row *r, char *why, size_t whylen)
{
	const struct tk_conf *c = sn->conf;
	struct curl_slist *rcpt = NULL;
	char payload[48], *verp, *from, *to;
	CURLcode rc;
	long code = 0;

	if (r->raw.len == 0 || r->from == NULL) {
		snprintf(why, whylen, "no mail was built for this row");
		return FAIL;
	}
	if (sn->smtp == NULL && (sn->smtp = smtp_handle(sn)) == NULL) {
		snprintf(why, whylen, "cannot make a curl handle");
		return DEFER;
	}
	snprintf(payload, sizeof(payload), "bounce-%lld", (long long)r->id);
	verp = token_address(c, r->from, payload);
	from = xasprintf("<%s>", verp ? verp : r->from);
	to = xasprintf("<%s>", r->to);
	rcpt = curl_slist_append(rcpt, to);
	curl_easy_setopt(sn->smtp, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(sn->smtp, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(sn->smtp, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)r->raw.len);
	sn->row = r;
	sn->sent = 0;
	rc = curl_easy_perform(sn->smtp);
	curl_easy_getinfo(sn->smtp, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(sn->smtp, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	free(to);
	free(from);
	free(verp);
	if (rc == CURLE_OK)
		return SENT;
	snprintf(why, whylen, "%s%s%s", sn->curlerr[0] ? sn->curlerr :
	    curl_easy_strerror(rc), sn->reply[0] ? ": " : "", sn->reply);
	/* The connection may be in any state now: start afresh. */
	curl_easy_cleanup(sn->smtp);
	sn->smtp = NULL;
	/* A 5xx refuses this mail for good, unless it is about our login
	 * or TLS: that is ours to fix, and the mail waits meanwhile. */
	if (code >= 500 && code < 600 && !config_error(rc))
		return FAIL;
	return DEFER;
}

static enum outcome
send_webhook(struct sender *sn, const struct row *r, char *why, size_t whylen)
{
	const struct conf_webhook *w = conf_webhook_by_name(sn->conf, r->to);
	struct curl_slist *hdrs = NULL;
	char line[64];
	CURLcode rc;
	long code = 0;

	if (w == NULL) {
		snprintf(why, whylen, "no [webhook %s] in tiketti.conf", r->to);
		return FAIL;
	}
	if (sn->http == NULL) {
		if ((sn->http = curl_easy_init()) == NULL) {
			snprintf(why, whylen, "cannot make a curl handle");
			return DEFER;
		}
		common_opts(sn, sn->http, (long)sn->conf->webhook_timeout);
		curl_easy_setopt(sn->http, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(sn->http, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(sn->http, CURLOPT_USERAGENT,
		    "tiketti/" PACKAGE_VERSION);
		curl_easy_setopt(sn->http, CURLOPT_WRITEFUNCTION, on_write);
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	/* The row id lets a receiver drop a repeat after a lost answer. */
	snprintf(line, sizeof(line), "X-Tiketti-Delivery: %lld",
	    (long long)r->id);
	hdrs = curl_slist_append(hdrs, line);
	if (w->header)
		hdrs = curl_slist_append(hdrs, w->header);
	curl_easy_setopt(sn->http, CURLOPT_URL, w->url);
	curl_easy_setopt(sn->http, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(sn->http, CURLOPT_POSTFIELDS, r->body ? r->body : "{}");
	rc = curl_easy_perform(sn->http);
	curl_easy_getinfo(sn->http, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(sn->http, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", sn->curlerr[0] ? sn->curlerr :
		    curl_easy_strerror(rc));
		return DEFER;
	}
	if (code >= 200 && code < 300)
		return SENT;
	snprintf(why, whylen, "HTTP %ld%s%s", code, sn->reply[0] ? ": " : "",
	    sn->reply);
	if (code == 408 || code == 429 || code >= 500)
		return DEFER;
	return FAIL;	/* 4xx, and redirects, which are not followed */
}

/* ---- lookups ---- */

struct fetch {
	struct buf	*out;
	int		 over;	/* the answer passed the buffer's cap */
};

static size_t
on_fetch(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;

	if (buf_add(f->out, data, size * nmemb) != TK_OK) {
		f->over = 1;
		return 0;	/* stops the transfer */
	}
	return size * nmemb;
}

enum tk_status
deliver_fetch(struct deliver_request *r, struct buf *out, char *err,
    size_t errlen)
{
	struct fetch f = { out, 0 };
	struct curl_slist *hdrs = NULL;
	char curlerr[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	long code = 0;
	CURL *h;

	pthread_once(&curl_once, curl_init_once);
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot make a curl handle");
		return TK_ETEMP;
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, r->timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, r->timeout);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tiketti/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	if (strcmp(r->method, "POST") == 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	for (size_t i = 0; i < r->nheaders; i++)
		hdrs = curl_slist_append(hdrs, r->headers[i]);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_fetch);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	r->status = code;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (f.over)
		snprintf(err, errlen, "answer over %zu bytes", out->cap);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, errlen, "timeout");
	else if (rc != CURLE_OK)
		snprintf(err, errlen, "%s", curlerr[0] ? curlerr :
		    curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		snprintf(err, errlen, "HTTP %ld", code);
	else
		return TK_OK;
	return TK_ETEMP;
}

/* 1 when status is an item of the comma-separated list. */
static int
status_in(const char *status, const char *list)
{
	size_t n = status ? strlen(status) : 0;

	for (const char *p = list; n && *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, status, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static int
copy_row(const struct store_outbox *o, void *arg)
{
	struct row *r = arg;

	r->id = o->id;
	r->ticket = o->ticket;
	r->attempts = o->attempts;
	r->created_at = o->created_at;
	r->kind = xstrdup(o->kind);
	r->to = xstrdup(o->to);
	r->from = o->from ? xstrdup(o->from) : NULL;
	r->body = o->body ? xstrdup(o->body) : NULL;
	r->subject = o->subject ? xstrdup(o->subject) : NULL;
	r->out_message = o->out_message;
	if (o->raw)
		buf_add(&r->raw, o->raw, o->rawlen);
	/* Queued before a rule or an agent called it spam. */
	if (o->ticket_status && strcmp(o->ticket_status, "spam") == 0 &&
	    strcmp(o->kind, "webhook") != 0 && strcmp(o->kind, "sent_copy") != 0)
		r->stale = xstrdup("not sent: the ticket is spam");
	else if (o->while_status && !status_in(o->ticket_status,
	    o->while_status))
		r->stale = xasprintf("not sent: queued while the ticket was "
		    "%s, it is %s now", o->while_status, o->ticket_status ?
		    o->ticket_status : "gone");
	return 1;
}

static void
row_clear(struct row *r)
{
	free(r->kind);
	free(r->to);
	free(r->from);
	free(r->body);
	free(r->subject);
	free(r->stale);
	buf_free(&r->raw);
	memset(r, 0, sizeof(*r));
}

/*
 * A mail sent for a mailbox whose account has sent_copy: a row of kind
 * sent_copy for the poller to append the same mail to its Sent folder,
 * in the transaction that marks this one sent (once: its dedupe key).
 */
static enum tk_status
sent_copy(struct sender *sn, const struct row *r, int64_t now)
{
	const struct tk_conf *c = sn->conf;
	const struct conf_account *a = NULL;
	struct store_outbox o = { 0 };
	struct store_ticket t;
	enum tk_status ts;
	char key[64];
	int64_t id;
	int found;

	if (strcmp(r->kind, "webhook") == 0 || r->ticket == 0 ||
	    r->out_message == 0)
		return TK_OK;
	if ((ts = store_ticket_get(sn->store, r->ticket, &t, &found)) != TK_OK
	    || !found)
		return ts;
	for (size_t i = 0; t.mailbox && i < c->naccounts && a == NULL; i++)
		if (c->accounts[i].sent_copy && c->accounts[i].mailbox &&
		    strcasecmp(c->accounts[i].mailbox, t.mailbox) == 0)
			a = &c->accounts[i];
	store_ticket_clear(&t);
	if (a == NULL)
		return TK_OK;
	snprintf(key, sizeof(key), "sent_copy:%lld", (long long)r->id);
	o.ticket = r->ticket;
	o.kind = "sent_copy";
	o.to = a->name;
	o.subject = r->subject;
	o.rule = r->kind;
	o.dedupe = key;
	o.created_at = now;
	o.out_message = r->out_message;
	return store_outbox_add(sn->store, &o, &id);
}

/* Marks the row and, when it failed, tells its ticket; one transaction. */
static enum tk_status
mark(struct sender *sn, const struct row *r, enum outcome oc, const char *why,
    int64_t now)
{
	const struct tk_conf *c = sn->conf;
	struct store *s = sn->store;
	int64_t backoff = 60, next = now;
	enum tk_status ts;
	char *gave_up = NULL;

	for (int64_t i = 1; i < r->attempts && backoff < 3600; i++)
		backoff *= 2;
	if (backoff > 3600)
		backoff = 3600;
	if (oc == DEFER) {
		next = now + backoff;
		if (next > r->created_at + c->outbox_max_age) {
			char d[32];

			str_duration(c->outbox_max_age, d, sizeof(d));
			oc = FAIL;
			why = gave_up = xasprintf("gave up after %lld attempts "
			    "in %s: %s", (long long)r->attempts, d, why);
		}
	}
	if ((ts = store_begin(s)) != TK_OK)
		goto done;
	ts = store_outbox_done(s, r->id, oc == SENT ? "sent" : oc == DEFER ?
	    "queued" : oc == CANCEL ? "cancelled" : "failed", next,
	    oc == SENT ? NULL : why, now);
	if (ts == TK_OK && oc == SENT)
		ts = sent_copy(sn, r, now);
	if (ts == TK_OK && (oc == FAIL || oc == CANCEL) && r->ticket)
		ts = store_event_add(s, r->ticket, now, oc == FAIL ?
		    "send_failed" : "send_cancelled", "deliver", r->kind, why, 0);
	/* Refused for good, or given up on: an agent is to see that the
	 * customer did not get it. */
	if (ts == TK_OK && oc == FAIL && r->ticket)
		ts = ticket_undelivered(s, c, r->ticket, r->kind, now);
	if (ts == TK_OK)
		ts = store_commit(s);
	if (ts != TK_OK)
		store_rollback(s);
done:
	free(gave_up);
	return ts;
}

enum tk_status
deliver_flush(const struct tk_conf *c, struct store *s, int force,
    struct deliver_stats *st, char *err, size_t errlen)
{
	struct sender sn = { .conf = c, .store = s };
	enum tk_status ts, mailts = TK_OK;
	int64_t now = (int64_t)time(NULL), after = 0, id, failed;
	int mail_ok = 1, pending;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	if ((ts = store_outbox_pending(s, &pending)) != TK_OK) {
		snprintf(err, errlen, "%s", store_errmsg(s));
		return ts;
	}
	if (!pending)
		return TK_OK;
	pthread_once(&curl_once, curl_init_once);
	if (c->smtp_url == NULL) {
		snprintf(err, errlen, "no smtp_url in tiketti.conf: mail stays "
		    "queued");
		mail_ok = 0;
		mailts = TK_EPERM;
	} else if (c->smtp_auth == CONF_AUTH_OAUTH2) {
		/* The account's grant sends (its token asked for before any
		 * row is claimed: no transaction waits on it). */
		const struct conf_account *a = conf_account_by_name(c,
		    c->smtp_oauth_account);

		sn.bearer_user = c->smtp_user ? c->smtp_user : a->user;
		if ((mailts = oauth_token(c, a, NULL, &sn.bearer, err,
		    errlen)) != TK_OK)
			mail_ok = 0;
	} else if (c->smtp_password_file && (mailts = conf_read_secret(
	    "smtp_password_file", c->smtp_password_file, &sn.password, err,
	    errlen)) != TK_OK)
		mail_ok = 0;
	if ((ts = store_outbox_recover(s, now - DELIVER_LEASE, now,
	    &st->recovered, &failed)) != TK_OK)
		goto done;
	if (st->recovered || failed)
		log_warnx("outbox: %lld row(s) a sender left mid-way queued "
		    "again, %lld failed (interrupted twice)",
		    (long long)st->recovered, (long long)failed);
	st->failed += failed;
	for (;;) {
		struct row r = { 0 };
		enum outcome oc;
		char why[1024] = "";	/* curl's error and the reply */

		if ((ts = store_outbox_claim(s, now, after, force, mail_ok,
		    &id)) != TK_OK || id == 0)
			break;
		after = id;
		buf_init(&r.raw, 0);
		if ((ts = store_outbox_get(s, id, copy_row, &r)) != TK_OK) {
			row_clear(&r);
			break;
		}
		sn.curlerr[0] = sn.reply[0] = '\0';
		sn.first_line = strcmp(r.kind, "webhook") == 0;
		/* The condition it was queued under, checked again now: a
		 * survey for a ticket the customer has reopened since is
		 * not sent. */
		if (r.stale) {
			snprintf(why, sizeof(why), "%s", r.stale);
			oc = CANCEL;
		} else
			oc = sn.first_line ?
			    send_webhook(&sn, &r, why, sizeof(why)) :
			    send_mail(&sn, &r, why, sizeof(why));
		if (oc == CANCEL)
			log_debug("outbox %lld: %s to %s: cancelled: %s",
			    (long long)r.id, r.kind, r.to, why);
		else if (oc == SENT)	/* cron mails whatever a job prints */
			log_debug("outbox %lld: %s to %s: sent", (long long)r.id,
			    r.kind, r.to);
		else
			log_warnx("outbox %lld: %s to %s: %s (attempt %lld): %s",
			    (long long)r.id, r.kind, r.to, oc == DEFER ?
			    "deferred" : "failed", (long long)r.attempts, why);
		ts = mark(&sn, &r, oc, why, (int64_t)time(NULL));
		row_clear(&r);
		if (ts != TK_OK)
			break;
		if (oc == SENT)
			st->sent++;
		else if (oc == CANCEL)
			st->cancelled++;
		else if (oc == DEFER)
			st->deferred++;
		else
			st->failed++;
	}
done:
	if (sn.smtp)
		curl_easy_cleanup(sn.smtp);
	if (sn.http)
		curl_easy_cleanup(sn.http);
	if (sn.bearer) {
		explicit_bzero(sn.bearer, strlen(sn.bearer));
		free(sn.bearer);
	}
	if (sn.password) {
		explicit_bzero(sn.password, strlen(sn.password));
		free(sn.password);
	}
	if (ts != TK_OK) {
		snprintf(err, errlen, "%s", store_errmsg(s));
		return ts;
	}
	return mailts;
}
