/* summary.h: the summary sink: per scenario, the money of every settled
 * claim, in total and by region (policy), with per-layer sums: what
 * summary.json reports. Every sum is checked: one that would not fit in 64
 * bits makes the run fail, never a wrong total. Scenario 0's sums go into
 * the batch's summary.json; those of scenario k > 0 into
 * out_dir/scenario-<k>-summary.json (settled and rejected claims, money,
 * layers, regions; rows rejected while reading claims.csv are in the
 * batch's summary.json only). */
#ifndef SANBAO_SINK_SUMMARY_H
#define SANBAO_SINK_SUMMARY_H

#include "sink/sink.h"

typedef struct sb_layer_sum {
	long long claims; /* claims the layer paid something on */
	sb_fen paid;
	sb_fen penalty;
} sb_layer_sum;

typedef struct sb_region_sum {
	long long claims;
	sb_fen total, in_scope, fund, oop, oop_in_scope;
	sb_layer_sum *layer; /* by layer symbol */
} sb_region_sum;

/* One scenario's sums. */
typedef struct sb_sums {
	sb_region_sum all;      /* every settled claim; all.claims = settled */
	sb_region_sum *regions; /* by policy index */
	size_t nregions;
	int nlayers;            /* layer symbols of the scenario's set */
	long long rejected;     /* claims rejected in pass 2 (duplicates included) */
	sb_fen rejected_total;
	bool identities_ok;     /* fund + oop = total and 0 <= pay <= base on every claim */
	bool overflow;          /* a sum did not fit: the run fails */
} sb_sums;

SB_MUST_USE sb_status sb_summary_sink_new(sb_sink *out);
/* Scenario s's sums after end (borrowed from the sink). */
sb_sums *sb_summary_sink_sums(const sb_sink *s, int scenario);
/* Frees what sb_sums holds. */
void sb_sums_release(sb_sums *s);

#endif
