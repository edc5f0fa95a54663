/*
 * ooo.h — the day an out-of-office text says its writer is back.
 */
#ifndef TIKETTI_OOO_H
#define TIKETTI_OOO_H

#include <stdint.h>

/*
 * Sets *until to the local midnight of the latest day text names that is
 * after now and within a year, and returns 1; 0 (and *until 0) when it
 * names none.
 */
int ooo_until(const char *text, int64_t now, int64_t *until);

#endif
