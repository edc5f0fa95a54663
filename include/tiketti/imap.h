/*
 * imap.h — the IMAP poller: mail of an [account] handed to ingest.
 */
#ifndef TIKETTI_IMAP_H
#define TIKETTI_IMAP_H

#include <signal.h>

#include "tiketti/conf.h"
#include "tiketti/ingest.h"
#include "tiketti/store.h"

struct imap_stats {
	long	 fetched;	/* messages fetched from the server */
	long	 ingested;	/* of which new to the database */
	long	 duplicates;	/* of which already in (a rescan, a copy) */
	long	 skipped;	/* left in the folder: too big, unfetchable */
	int	 busy;		/* another poll held the account: not run */
};

struct imap_opts {
	int			 idle;		/* stay connected (IMAP IDLE) */
	volatile sig_atomic_t	*stop;		/* set by a signal: leave */
	/* Called after a pass that stored new mail (to send what the
	 * rules queued), or NULL. */
	void			(*after_pass)(void *arg);
	void			*arg;
};

/*
 * Polls one account once (or, with o->idle, until *o->stop): new mail of
 * its folder goes through ig in batches, the account's UID mark advancing
 * in each batch's transaction; then the `after` action. Returns TK_OK
 * (also when another run held the lock: st->busy), TK_ETEMP (connection,
 * timeout, database busy: run again later), TK_EPERM (certificate, login,
 * password file, folder: the configuration needs a look) or TK_EIO;
 * err then says what happened.
 */
enum tk_status imap_poll(const struct tk_conf *c, const struct conf_account *a,
    struct store *s, struct ingest *ig, const struct imap_opts *o,
    struct imap_stats *st, char *err, size_t errlen);

#endif
