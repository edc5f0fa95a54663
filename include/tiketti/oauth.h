/*
 * oauth.h — an account's OAuth 2.0 grant: made once by the device
 * authorization grant (RFC 8628, `tiketti oauth login`), then access
 * tokens refreshed from it for IMAP and SMTP. The endpoints are asked
 * through deliver_fetch and their answers read with lookup_json; grants
 * live in the store. Knows nothing of IMAP or SMTP.
 */
#ifndef TIKETTI_OAUTH_H
#define TIKETTI_OAUTH_H

#include <stddef.h>

#include "tiketti/conf.h"
#include "tiketti/tk.h"

#define OAUTH_MARGIN	60	/* seconds: a token this close to expiry (or
				 * a quarter of its life) is refreshed first */

/*
 * An access token for account a (auth = oauth2) in *token (the caller
 * wipes and frees it): the stored one while it has OAUTH_MARGIN seconds
 * left and is not refused_token (one the server just refused, or NULL),
 * else a new one from the refresh token. One process refreshes an
 * account at a time, on any host (a lock of the store's, taken without
 * holding a transaction); the others wait for it and take its token. A
 * rotated refresh token is committed before the access token is used.
 * TK_EPERM when there is no grant or the provider refused it (revoked,
 * expired): err names the account and `tiketti oauth login ACCOUNT`.
 * TK_ETEMP when the endpoint or the store could not be reached.
 */
enum tk_status oauth_token(const struct tk_conf *c,
    const struct conf_account *a, const char *refused_token, char **token,
    char *err, size_t errlen);

/* What `tiketti oauth login` shows the admin: where to go, the code. */
struct oauth_prompt {
	const char	*uri;		/* verification_uri */
	const char	*uri_complete;	/* with the code in it, or NULL */
	const char	*user_code;
	long		 expires_in;	/* seconds */
};

/*
 * The device authorization grant for a: asks oauth_device_url for a
 * code, calls show with it, then polls the token endpoint at the
 * interval the server asks for (slower after slow_down, again after
 * authorization_pending) until the admin has signed in, and stores the
 * grant. TK_EPERM with err for access_denied, expired_token and other
 * refusals; TK_ETEMP when an endpoint cannot be reached.
 */
enum tk_status oauth_login(const struct tk_conf *c,
    const struct conf_account *a,
    void (*show)(const struct oauth_prompt *, void *), void *arg,
    char *err, size_t errlen);

#endif
