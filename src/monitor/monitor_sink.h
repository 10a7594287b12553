/* monitor_sink.h: the policies' monitoring rules as a sink of the batch.
 * Partitions are keyed by household, so a partition holds every claim of
 * its households and the monitor runs on it alone, in the same pass as
 * settlement. Claims come in (person, date, claim id) order, so the sink
 * keeps only the current person's claims that a rule holds for: when the
 * next person starts it runs the person rules on them, and the household
 * rules too when the person is a unit of one (no household, or a household
 * of one member); a larger household's claims are kept, one run per
 * member, until the partition ends, then merged into date order and run.
 * The rows come out as sb_monitor_run orders them (person rules' hits,
 * then household rules' by household). The sink turns the hits into
 * warnings.csv / approaching.csv rows (in partition order), counts them by
 * region, identity and rule, and sums each unit's out-of-pocket spending by
 * year as the claims pass, for the financial-protection measures of
 * monitor.json (one pass over the persons at the end), all of scenario 0
 * (the baseline). When the batch settles several policy sets it also runs the
 * rules over each reform's settled claims and counts their warnings and
 * approaching units the same way (no rows, no spending by unit): what
 * `settle --monitor` with that scenario's policies would count. */
#ifndef SANBAO_MONITOR_SINK_H
#define SANBAO_MONITOR_SINK_H

#include <stdbool.h>
#include <stdio.h>

#include "sink/sink.h"

SB_MUST_USE sb_status sb_monitor_sink_new(sb_sink *out);

typedef struct sb_monitor_counts {
	long long warnings, approaching, unresolved;
} sb_monitor_counts;

/* Scenario 0's totals. */
sb_monitor_counts sb_monitor_sink_counts(const sb_sink *s);

/* One scenario's counts, in the terms of its own policy set: cell[((policy
 * * nidentities + identity + 1) * nrules + rule) * 2 + near] is the number
 * of warnings (near 0) or approaching units (near 1) of the rule with that
 * symbol, for hits in the region of that policy index, of that identity
 * symbol (-1: none). Borrowed from the sink, valid after its end until it
 * is released. */
typedef struct sb_monitor_table {
	const sb_policyset *set;
	size_t npolicies, nidentities, nrules; /* nidentities counts "none" */
	sb_monitor_counts total;
	const long long *cell;
} sb_monitor_table;

/* The scenarios the sink counts (those of the batch). */
int sb_monitor_sink_scenarios(const sb_sink *s);
/* false when there is no such scenario. */
bool sb_monitor_sink_table(const sb_sink *s, int scenario, sb_monitor_table *out);

/* Writes the "monitor" JSON object (counts by region, identity and rule;
 * financial protection) to f, at the given indent: SB_ENOMEM (nothing
 * usable written) when an allocation fails. */
SB_MUST_USE sb_status sb_monitor_sink_json(const sb_sink *s, FILE *f, const char *indent,
					   sb_diag *d);

#endif
