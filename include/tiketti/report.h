/*
 * report.h — `tiketti report`: figures a team lead reads, from the events.
 */
#ifndef TIKETTI_REPORT_H
#define TIKETTI_REPORT_H

#include <stdint.h>

#include "tiketti/buf.h"
#include "tiketti/conf.h"
#include "tiketti/sla.h"
#include "tiketti/store.h"

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON, REPORT_HTML };

struct report_opts {
	int64_t			 since;		/* the period [since, until) */
	int64_t			 until;
	int64_t			 now;		/* for the backlog's ages */
	const char		*mailbox;	/* NULL: every mailbox */
	enum report_format	 format;
	/* The service promises (NULL: none) and, for --replay, the
	 * policies to count as if they had been in force. */
	const struct sla	*sla;
	const struct sla	*replay;
	const char		*replay_file;
	/* --by field:NAME: the field's values broken down, or NULL. */
	const char		*by_field;
};

/*
 * Computes the report with indexed aggregates in the store (nothing per
 * ticket is held here) and writes it to out in o->format. TK_ETEMP when
 * the database is busy; err says what failed.
 */
enum tk_status report_write(const struct tk_conf *c, struct store *s,
    const struct report_opts *o, struct buf *out, char *err, size_t errlen);

#endif
