/*
 * clocks.h — tickets' service-promise clocks from the store: reads their
 * lives (store_steps) and hands each to sla_compute().
 */
#ifndef TIKETTI_CLOCKS_H
#define TIKETTI_CLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "tiketti/sla.h"
#include "tiketti/store.h"

/* One ticket's clocks; policy NULL (and no clocks) when under none. */
typedef int (*clocks_fn)(int64_t ticket, const struct sla_policy *policy,
    const struct sla_clock *clocks, size_t n, void *arg);

/*
 * Computes the clocks at now of the tickets store_steps(which, a, b,
 * mailbox) reads, under override's policies when not NULL (report
 * --replay); fn returns non-zero to stop. Nothing is read when no
 * policy is defined.
 */
enum tk_status clocks_each(struct store *st, const struct sla *sla,
    const struct sla *override, enum store_steps which, int64_t a, int64_t b,
    const char *mailbox, int64_t now, clocks_fn fn, void *arg);

/* The clock of a list due first (running, not paused), or NULL. */
const struct sla_clock *clocks_nearest(const struct sla_clock *c, size_t n);

#endif
