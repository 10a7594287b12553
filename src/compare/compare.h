/* compare.h: reform comparison (`sanbao compare`).
 *
 * The compare sink sees every claim settled under the baseline (scenario 0)
 * and each reform (scenarios 1..n) in the batch's one pass and writes
 * compare.json and persons_changed.csv into the run's output folder:
 * per scenario and as differences from the baseline, fund paid by layer,
 * fund code, region, scheme, visit and identity; out-of-pocket; effective
 * (fund / total) and in-scope (fund / in_scope) rates; catastrophic and
 * impoverishing spending (SDG 3.8.2); winners and losers of each reform in
 * PolicyEngine's five bands by income decile, region and identity; and the
 * regional disparity of the per-person fund benefit and of the effective
 * rate. Money is summed in fen with every sum checked; shares and rates are
 * decimals computed from those integer sums.
 */
#ifndef SANBAO_COMPARE_H
#define SANBAO_COMPARE_H

#include <stddef.h>

#include "sink/sink.h"

/* The sink; the batch adds it when cfg->compare is set. */
SB_MUST_USE sb_status sb_compare_sink_new(sb_sink *out);

/* ---- regional disparity ---------------------------------------------------
 *
 * Over n units (regions) with values y[i] >= 0 and weights w[i] >= 0
 * (population), units of weight 0 left out:
 *   mean     mu = sum w y / sum w
 *   gini     sum_i sum_j w_i w_j |y_i - y_j| / (2 W^2 mu)
 *   theil    T = sum_i (w_i y_i / Y) ln(y_i / mu)   (0 ln 0 = 0)
 *            = between + within, with groups g (group[i]):
 *   between  sum_g (Y_g / Y) ln(mu_g / mu)
 *   within   sum_g (Y_g / Y) T_g
 *   cv       weighted standard deviation / mu
 *   max_min  max y / min y (has_max_min false when min y is 0)
 * With w = 1 these are pysal's Gini, Theil and TheilD. */
typedef struct sb_disparity {
	size_t units;
	double mean, gini, theil, theil_between, theil_within, cv, max_min;
	double min, max;
	bool has_max_min;
	bool defined; /* some unit has weight and the mean is above 0 */
} sb_disparity;

void sb_compare_disparity(const double *y, const double *w, const int *group, size_t n,
			  sb_disparity *out);

/* The band of an out-of-pocket change `change` (fen, reform - baseline;
 * negative: the person pays less) against an income (fen per year, >= 0),
 * PolicyEngine's five: 0 gains more than 5% of income, 1 gains less than
 * 5%, 2 no change (within 0.1%), 3 loses less than 5%, 4 loses more than 5%.
 * Exact integer comparisons. */
enum { SB_BAND_GAIN_MORE, SB_BAND_GAIN_LESS, SB_BAND_NO_CHANGE, SB_BAND_LOSE_LESS,
       SB_BAND_LOSE_MORE, SB_BANDS };
int sb_compare_band(sb_fen change, sb_fen income);

#endif
