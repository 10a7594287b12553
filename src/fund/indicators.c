/* indicators.c: the performance indicators of each region and year (README
 * "Indicators": each one's definition and direction), from the accounts,
 * and the rank of each region among those with a value (1 = best; equal
 * values share a rank). Ratios are reported, not paid: they are doubles
 * computed from integer fen sums. */
#include <math.h>
#include <string.h>

#include "fund/fund_int.h"

const fund_indicator sb_fund_indicators[FUND_NIND] = {
	{ "coverage", "救助对象参保率 enrolled share of the roster's groups", "share", 1 },
	{ "inscope_rate_employee", "职工 政策范围内报销比例 in-scope rate, employees", "share", 1 },
	{ "inscope_rate_resident", "居民 政策范围内报销比例 in-scope rate, residents", "share", 1 },
	{ "effective_rate_employee", "职工 实际报销比例 effective rate, employees", "share", 1 },
	{ "effective_rate_resident", "居民 实际报销比例 effective rate, residents", "share", 1 },
	{ "oop_income_assisted", "救助对象 自付占收入 OOP share of income, roster's groups",
	  "share", -1 },
	{ "catastrophic_share", "灾难性支出家庭占比 households with OOP > 25% of income", "share",
	  -1 },
	{ "warnings_per_10k", "预警 每万人 warnings per 10,000 insured", "per 10,000", -1 },
	{ "months_employee", "职工 累计结余可支付月数 months of payment, employees", "months", 1 },
	{ "months_resident", "居民 累计结余可支付月数 months of payment, residents", "months", 1 },
	{ "balance_rate", "当期结余率 year balance / revenue, pooled funds", "share", 1 },
	{ "assistance_use_rate", "救助资金使用率 assistance spending / budget", "share", 0 },
	{ "spending_per_insured", "人均基金支出 pooled spending per insured", "yuan", 1 },
	{ "rural_urban_benefit", "城乡受益比 rural / urban benefit per resident", "ratio", 0 },
	{ "q1_q5_benefit_ratio", "低收入/高收入 受益缴费比 Q1 / Q5 benefit per contribution",
	  "ratio", 1 },
};

static void set(fund_run *r, size_t g, int y, int k, bool has, double v)
{
	size_t i = ((size_t)g * FUND_NY + (size_t)y) * FUND_NIND + (size_t)k;
	r->ind_has[i] = has && isfinite(v);
	r->ind[i] = has ? v : 0;
}

static double div0(double a, double b, bool *has)
{
	*has = b != 0;
	return b != 0 ? a / b : 0;
}

static void compute(fund_run *r, size_t gi, int y)
{
	fregion *g = &r->regions[gi];
	bool h;
	double v;
	v = div0((double)g->enrolled[y][FUND_NID], (double)g->roster[y][FUND_NID], &h);
	set(r, gi, y, 0, h, v);
	for (int s = 0; s < 2; s++) {
		v = div0((double)g->pooled[y][s], (double)g->in_scope[y][s], &h);
		set(r, gi, y, 1 + (s == SB_FUND_RESIDENT), h, v);
		v = div0((double)g->pooled[y][s], (double)g->total[y][s], &h);
		set(r, gi, y, 3 + (s == SB_FUND_RESIDENT), h, v);
	}
	v = div0((double)g->assisted_oop[y], (double)g->assisted_income[y], &h);
	set(r, gi, y, 5, h, v);
	v = div0((double)g->hh_catastrophic[y], (double)g->hh_income[y], &h);
	set(r, gi, y, 6, h, v);
	v = div0((double)g->warnings[y] * 10000, (double)g->insured[y], &h);
	set(r, gi, y, 7, h && r->cfg->warnings_path, v);
	for (int s = 0; s < 2; s++) {
		const facct *a = &g->acct[y][s];
		set(r, gi, y, 8 + (s == SB_FUND_RESIDENT), a->has_months && a->persons,
		    (double)a->months / 100);
	}
	const facct *e = &g->acct[y][0], *res = &g->acct[y][1], *as = &g->acct[y][2];
	v = div0((double)(e->revenue + res->revenue - e->spending - res->spending),
		 (double)(e->revenue + res->revenue), &h);
	set(r, gi, y, 10, h, v);
	v = div0((double)as->spending, (double)as->revenue, &h);
	set(r, gi, y, 11, h, v);
	v = div0((double)(e->spending + res->spending) / 100, (double)g->insured[y], &h);
	set(r, gi, y, 12, h, v);
	const fgroup *gu = &g->groups[y][FG_URBAN], *gr = &g->groups[y][FG_RURAL];
	bool hu, hr;
	double bu = div0((double)gu->benefit, (double)gu->persons, &hu);
	double br = div0((double)gr->benefit, (double)gr->persons, &hr);
	v = div0(br, bu, &h);
	set(r, gi, y, 13, h && hu && hr, v);
	const fgroup *q1 = &g->groups[y][FG_Q1], *q5 = &g->groups[y][FG_Q5];
	bool h1, h5;
	double b1 = div0((double)q1->benefit, (double)q1->premium, &h1);
	double b5 = div0((double)q5->benefit, (double)q5->premium, &h5);
	v = div0(b1, b5, &h);
	set(r, gi, y, 14, h && h1 && h5, v);
}

static double badness(const fund_indicator *ind, double v)
{
	return ind->direction > 0 ? -v : ind->direction < 0 ? v : fabs(v - 1);
}

sb_status sb_fund_compute_indicators(fund_run *r, sb_diag *d)
{
	size_t n = (r->nregions ? r->nregions : 1) * FUND_NY * FUND_NIND;
	r->ind = sb_calloc(n, sizeof *r->ind);
	r->ind_has = sb_calloc(n, sizeof *r->ind_has);
	r->ind_rank = sb_calloc(n, sizeof *r->ind_rank);
	if (!r->ind || !r->ind_has || !r->ind_rank)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int y = 0; y < r->nyears; y++) {
		for (size_t g = 0; g < r->nregions; g++)
			compute(r, g, y);
		for (int k = 0; k < FUND_NIND; k++)
			for (size_t g = 0; g < r->nregions; g++) {
				size_t i = (g * FUND_NY + (size_t)y) * FUND_NIND + (size_t)k;
				if (!r->ind_has[i])
					continue;
				double mine = badness(&sb_fund_indicators[k], r->ind[i]);
				int rank = 1;
				for (size_t o = 0; o < r->nregions; o++) {
					size_t j =
						(o * FUND_NY + (size_t)y) * FUND_NIND + (size_t)k;
					/* values written with 4 decimals compare as written */
					if (r->ind_has[j] &&
					    round(badness(&sb_fund_indicators[k], r->ind[j]) *
						  10000) < round(mine * 10000))
						rank++;
				}
				r->ind_rank[i] = rank;
			}
	}
	return SB_OK;
}
