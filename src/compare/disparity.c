/* disparity.c: inequality across regions (see compare.h): weighted Gini,
 * Theil T with its between- and within-group parts, coefficient of
 * variation, max/min; and the winners-and-losers band of a change. */
#include <math.h>
#include <string.h>

#include "base/arena.h"
#include "compare/compare.h"

int sb_compare_band(sb_fen change, sb_fen income)
{
	__int128 c = change, inc = income < 0 ? 0 : income;
	__int128 a = c < 0 ? -c : c;
	if (a * 1000 <= inc)
		return SB_BAND_NO_CHANGE;
	bool more = a * 100 > inc * 5;
	if (c < 0)
		return more ? SB_BAND_GAIN_MORE : SB_BAND_GAIN_LESS;
	return more ? SB_BAND_LOSE_MORE : SB_BAND_LOSE_LESS;
}

/* y ln(y / mu) summed with weights, for the units of group g (all when g
 * is NULL), divided by their weighted total. */
static double theil_of(const double *y, const double *w, const int *group, size_t n,
		       const int *g)
{
	double W = 0, Y = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i] > 0 && (!g || group[i] == *g)) {
			W += w[i];
			Y += w[i] * y[i];
		}
	if (W <= 0 || Y <= 0)
		return 0;
	double mu = Y / W, t = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i] > 0 && y[i] > 0 && (!g || group[i] == *g))
			t += w[i] * y[i] / Y * log(y[i] / mu);
	return t;
}

void sb_compare_disparity(const double *y, const double *w, const int *group, size_t n,
			  sb_disparity *out)
{
	memset(out, 0, sizeof *out);
	double W = 0, Y = 0;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!(w[i] > 0))
			continue;
		out->units++;
		W += w[i];
		Y += w[i] * y[i];
		if (first || y[i] < out->min)
			out->min = y[i];
		if (first || y[i] > out->max)
			out->max = y[i];
		first = false;
	}
	if (W <= 0 || Y <= 0)
		return;
	out->defined = true;
	double mu = Y / W;
	out->mean = mu;
	double gsum = 0, var = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(w[i] > 0))
			continue;
		var += w[i] * (y[i] - mu) * (y[i] - mu);
		for (size_t j = 0; j < n; j++)
			if (w[j] > 0)
				gsum += w[i] * w[j] * fabs(y[i] - y[j]);
	}
	out->gini = gsum / (2 * W * W * mu);
	out->cv = sqrt(var / W) / mu;
	out->has_max_min = out->min > 0;
	out->max_min = out->has_max_min ? out->max / out->min : 0;
	out->theil = theil_of(y, w, group, n, NULL);
	if (!group) {
		out->theil_within = out->theil;
		return;
	}
	/* Each group once, at its first unit. */
	double between = 0, within = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(w[i] > 0))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = w[j] > 0 && group[j] == group[i];
		if (seen)
			continue;
		double Wg = 0, Yg = 0;
		for (size_t j = i; j < n; j++)
			if (w[j] > 0 && group[j] == group[i]) {
				Wg += w[j];
				Yg += w[j] * y[j];
			}
		if (Yg <= 0)
			continue;
		between += Yg / Y * log(Yg / Wg / mu);
		within += Yg / Y * theil_of(y, w, group, n, &group[i]);
	}
	out->theil_between = between;
	out->theil_within = within;
}
