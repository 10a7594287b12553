/* monitor_batch.h: monitoring inside the batch passes (see monitor_batch.c). */
#ifndef SANBAO_MONITOR_BATCH_H
#define SANBAO_MONITOR_BATCH_H

#include "batch/batch_int.h"
#include "batch/obuf.h"
#include "monitor/monitor_int.h"

/* Out-of-pocket of one unit (household + 1, or 2^32 + person) in a year. */
typedef struct sb_monb_hh {
	uint64_t unit;
	int year;
	sb_fen oop;
} sb_monb_hh;

typedef struct sb_monb_stats {
	size_t npol, nident, nrules;
	long long *cell; /* [policy][identity + 1][rule][warning, approaching] */
	long long warnings, approaching, unresolved;
	sb_monb_hh *hh;
	size_t nhh, caphh;
} sb_monb_stats;

extern const char sb_monb_header[];

SB_MUST_USE sb_status sb_monb_stats_init(sb_monb_stats *s, const sb_batch *b);
void sb_monb_stats_release(sb_monb_stats *s);
SB_MUST_USE sb_status sb_monb_stats_merge(sb_monb_stats *into, sb_monb_stats *from);
long long *sb_monb_cell(const sb_monb_stats *s, size_t pol, int identity, int rule, int near);

/* Runs the monitor over one partition's events and appends its rows. */
SB_MUST_USE sb_status sb_monb_partition(const sb_batch *b, const sb_mon_event *ev, size_t n,
					sb_obuf *warn, sb_obuf *near, sb_monb_stats *s);

/* Writes the "monitor" JSON object (counts by region, identity and rule;
 * financial protection) to f, at the given indent. */
void sb_monb_json(FILE *f, const sb_batch *b, sb_monb_stats *s, const char *indent);

#endif
