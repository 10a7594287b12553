/* monitor_sink.h: the policies' monitoring rules as a sink of the batch.
 * Partitions are keyed by household, so a partition holds every claim of
 * its households and the monitor runs on it alone, in the same pass as
 * settlement. The sink turns the hits into warnings.csv / approaching.csv
 * rows (in partition order), counts them by region, identity and rule, and
 * collects each household's out-of-pocket spending by year for the
 * financial-protection measures of monitor.json. It monitors scenario 0. */
#ifndef SANBAO_MONITOR_SINK_H
#define SANBAO_MONITOR_SINK_H

#include <stdio.h>

#include "sink/sink.h"

SB_MUST_USE sb_status sb_monitor_sink_new(sb_sink *out);

typedef struct sb_monitor_counts {
	long long warnings, approaching, unresolved;
} sb_monitor_counts;

sb_monitor_counts sb_monitor_sink_counts(const sb_sink *s);

/* Writes the "monitor" JSON object (counts by region, identity and rule;
 * financial protection) to f, at the given indent: SB_ENOMEM (nothing
 * usable written) when an allocation fails. */
SB_MUST_USE sb_status sb_monitor_sink_json(const sb_sink *s, FILE *f, const char *indent,
					   sb_diag *d);

#endif
