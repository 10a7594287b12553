/* adjust.c: the province's adjustment fund (省级调剂金) for one policy
 * year, over the pooled funds that take part (README "The provincial
 * adjustment fund"): pay-up (上解), normal allocation (正常调剂) of a share
 * of each fund's recognised gap, optionally weighted by its score,
 * emergency allocation (紧急调剂) up to a number of months of payment,
 * advances (预拨) and their year-end settlement (清算). Every amount is
 * integer fen; when requests exceed what the fund holds they are scaled
 * down (rounded down to the fen), so the fund never goes below zero and
 * Σ paid up + opening = Σ allocated + closing holds exactly. */
#include <math.h>
#include <string.h>

#include "fund/fund_int.h"

static sb_fen scale(sb_fen v, sb_fen num, sb_fen den)
{
	return den > 0 ? (sb_fen)((__int128)v * num / den) : 0;
}

static void dispersion(fadjust *a, fund_run *r, int y, bool after)
{
	double sum = 0, sq = 0;
	long long n = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			facct *x = &r->regions[i].acct[y][s];
			bool has = after ? x->has_months : x->has_months_before;
			int64_t m = after ? x->months : x->months_before;
			if (!x->adjusted || !has)
				continue;
			n++;
			sum += (double)m / 100;
			sq += (double)m / 100 * ((double)m / 100);
			lo = m < lo ? m : lo;
			hi = m > hi ? m : hi;
		}
	double mean = n ? sum / (double)n : 0;
	double var = n ? sq / (double)n - mean * mean : 0;
	double sd = var > 0 ? sqrt(var) : 0;
	if (after) {
		a->mean_after = mean;
		a->sd_after = sd;
		a->min_after = n ? lo : 0;
		a->max_after = n ? hi : 0;
	} else {
		a->mean_before = mean;
		a->sd_before = sd;
		a->min_before = n ? lo : 0;
		a->max_before = n ? hi : 0;
		a->n_months = n;
	}
}

/* Months (hundredths) of spending as an amount, rounded up to the fen. */
static sb_fen months_amount(int64_t months, sb_fen spending)
{
	__int128 num = (__int128)months * spending;
	return (sb_fen)((num + 1199) / 1200);
}

sb_status sb_fund_adjust(fund_run *r, int y, sb_diag *d)
{
	(void)d;
	fadjust *a = &r->adjust[y];
	int year = r->years[y];
	const sb_funding *f = r->province_pol ? sb_policy_funding(r->province_pol, year) : NULL;
	int k = 0;
	while (r->yorder[k] != y)
		k++;
	int prev = k ? r->yorder[k - 1] : -1;
	/* The opening balance: balances.csv's row for the first year, then the
	 * previous year's closing. */
	sb_fen opening = prev >= 0 ? r->adjust[prev].closing : r->adj_opening;
	a->f = f;
	a->opening = opening;
	a->closing = opening;
	a->present = f && f->adjustment.present;
	if (prev < 0)
		r->t->adj_opening = opening;
	r->t->adj_closing = opening;
	if (!a->present)
		return SB_OK;
	const sb_adjustment *p = &f->adjustment;
	sb_fen paid = 0, req_n = 0;
	/* 1. pay-up and the normal request of each fund */
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			fregion *g = &r->regions[i];
			facct *x = &g->acct[y][s];
			if (!(p->schemes >> s & 1) || (!x->persons && !x->spending))
				continue;
			x->adjusted = true;
			a->units++;
			x->paid_up = sb_div_round(x->revenue * p->pay_up_bp, 10000);
			paid += x->paid_up;
			sb_fen gap = x->spending - (x->revenue - x->paid_up);
			x->gap = gap > 0 ? gap : 0;
			x->deduction = g->has_deduction[y][s] ? g->deduction[y][s] : 0;
			sb_fen recognised = x->gap > x->deduction ? x->gap - x->deduction : 0;
			x->score = g->has_score[y][s] ? g->score[y][s] : 10000;
			int64_t w = p->weighted ? x->score : 10000;
			x->normal = (sb_fen)(((__int128)recognised * p->normal_bp * w + 50000000) /
					     100000000);
			req_n += x->normal;
		}
	a->paid_up = paid;
	a->available = opening + paid;
	sb_fen avail = a->available > 0 ? a->available : 0;
	/* 2. normal allocation, scaled down to what the fund holds */
	sb_fen got_n = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			facct *x = &r->regions[i].acct[y][s];
			if (!x->adjusted)
				continue;
			if (req_n > avail)
				x->normal = scale(x->normal, avail, req_n);
			got_n += x->normal;
		}
	a->normal = got_n;
	/* 3. emergency allocation: up to `to` months for a fund below `below` */
	sb_fen left = avail - got_n, req_e = 0, got_e = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			facct *x = &r->regions[i].acct[y][s];
			x->emergency = 0;
			if (!x->adjusted || !p->has_emergency || x->spending <= 0)
				continue;
			sb_fen bal = x->closing_before - x->paid_up + x->normal;
			int64_t m;
			if (sb_fund_months(bal, x->spending, &m) && m < p->emergency_below) {
				sb_fen need = months_amount(p->emergency_to, x->spending) - bal;
				x->emergency = need > 0 ? need : 0;
				req_e += x->emergency;
			}
		}
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			facct *x = &r->regions[i].acct[y][s];
			if (!x->adjusted)
				continue;
			if (req_e > left)
				x->emergency = scale(x->emergency, left, req_e);
			got_e += x->emergency;
			x->received = x->normal + x->emergency;
			/* 4. advance (预拨) and the year-end settlement (清算) */
			fregion *g = &r->regions[i];
			if (g->has_advance[y][s])
				x->advance = g->advance[y][s];
			else
				x->advance = prev >= 0 ? sb_div_round(g->acct[prev][s].received *
									      p->advance_bp,
								      10000) :
							 0;
			x->settlement = x->received - x->advance;
			a->advance += x->advance;
			a->settlement += x->settlement;
		}
	a->emergency = got_e;
	a->closing = a->available - got_n - got_e;
	for (size_t i = 0; i < r->nregions; i++)
		for (int s = 0; s < 2; s++) {
			facct *x = &r->regions[i].acct[y][s];
			if (!x->adjusted)
				continue;
			x->closing = x->closing_before - x->paid_up + x->received;
			x->has_months = sb_fund_months(x->closing, x->spending, &x->months);
		}
	dispersion(a, r, y, false);
	dispersion(a, r, y, true);
	r->t->adj_paid_up += paid;
	r->t->adj_allocated += got_n + got_e;
	r->t->adj_closing = a->closing;
	return SB_OK;
}
