/*
 * check.h — tiketti's health as a monitoring plugin sees it (Nagios,
 * Icinga, Zabbix): the database and its schema, the rule, template and
 * calendar files, the outbox, the milter's socket, the last tick and
 * poll of each account, the OAuth grants.
 */
#ifndef TIKETTI_CHECK_H
#define TIKETTI_CHECK_H

#include "tiketti/buf.h"
#include "tiketti/conf.h"

/* The plugin's states, which are its exit codes too. */
enum check_state {
	CHECK_OK = 0, CHECK_WARNING = 1, CHECK_CRITICAL = 2, CHECK_UNKNOWN = 3
};

/*
 * Runs every check with c's thresholds (check_tick, check_poll,
 * check_outbox, check_milter) and writes the plugin's output to out:
 * "TIKETTI OK - summary | perfdata", then a line per finding. Opens the
 * database read-only and changes nothing. Returns the worst state.
 */
enum check_state check_run(const struct tk_conf *c, struct buf *out);

#endif
