/*
 * NAME
 *	clocks.c — service-promise clocks of tickets in the store.
 * DESCRIPTION
 *	Reads tickets' steps (one query, tickets one after another), and
 *	computes each ticket's clocks when its last step has come.
 */
#include <stdlib.h>

#include "tiketti/clocks.h"
#include "tiketti/str.h"

struct acc {
	const struct sla	*sla, *override;
	int64_t			 now, ticket;
	struct sla_step		*v;
	size_t			 n;
	clocks_fn		 fn;
	void			*arg;
	int			 stop;
};

static void
flush(struct acc *a)
{
	const struct sla_policy *p;
	struct sla_clock *c;
	size_t n;

	if (a->n == 0)
		return;
	sla_compute(a->sla, a->override, a->v, a->n, a->now, &p, &c, &n);
	if (!a->stop)
		a->stop = a->fn(a->ticket, p, c, n, a->arg);
	free(c);
	for (size_t i = 0; i < a->n; i++)
		free((char *)a->v[i].value);
	a->n = 0;
}

static int
step(int64_t ticket, const struct sla_step *sp, void *arg)
{
	struct acc *a = arg;

	if (ticket != a->ticket)
		flush(a);
	a->ticket = ticket;
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	a->v[a->n] = *sp;
	a->v[a->n++].value = sp->value ? xstrdup(sp->value) : NULL;
	return a->stop;
}

enum tk_status
clocks_each(struct store *st, const struct sla *sla,
    const struct sla *override, enum store_steps which, int64_t a, int64_t b,
    const char *mailbox, int64_t now, clocks_fn fn, void *arg)
{
	struct acc acc = { sla, override, now, 0, NULL, 0, fn, arg, 0 };
	enum tk_status ts;

	if (!sla_active(sla) && !sla_active(override))
		return TK_OK;
	ts = store_steps(st, which, a, b, mailbox, step, &acc);
	flush(&acc);
	free(acc.v);
	return ts;
}

const struct sla_clock *
clocks_nearest(const struct sla_clock *c, size_t n)
{
	const struct sla_clock *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (!c[i].stopped && !c[i].paused && c[i].due &&
		    (best == NULL || c[i].due < best->due))
			best = &c[i];
	return best;
}
