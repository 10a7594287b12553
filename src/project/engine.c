/* engine.c: the projection of one fund (a region's scheme): the insured
 * population carried forward by single year of age and sex, its spending
 * and revenue year by year, the balance in fen, and the Monte Carlo over
 * cost growth and utilisation shocks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "project/project_int.h"

const int pj_percentiles[PJ_NPCT] = { 5, 25, 50, 75, 95 };

/* ---- the generator: xoshiro256** (Blackman & Vigna 2018) seeded by
 * splitmix64 (Steele, Lea & Flood 2014), as in their reference code ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sb_project_rng_seed(sb_project_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sb_project_rng_next(sb_project_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double sb_project_rng_uniform(sb_project_rng *r)
{
	/* 53 random bits, shifted off zero: (k + 0.5) / 2^53 */
	return ((double)(sb_project_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double sb_project_rng_normal(sb_project_rng *r)
{
	double u1 = sb_project_rng_uniform(r), u2 = sb_project_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- one fund's deterministic path -------------------------------------- */

double pj_months(sb_fen balance, sb_fen spending)
{
	return spending > 0 ? 12.0 * (double)balance / (double)spending : 0.0;
}

static int band_of(int age)
{
	int b = age / 5;
	return b < PJ_BANDS ? b : PJ_BANDS - 1;
}

/* Revenue per contributor in the base year, in yuan: the one place that
 * says what a contributor pays. Contributors are active employees (retirees
 * pay nothing, 社会保险法 第二十七条) and every enrolled resident. */
static double revenue_per_contributor(const pj_scenario *s, const pj_fund *f, double contributors0)
{
	switch (s->revenue) {
	case PJ_REV_PER_PERSON:
		return s->revenue_per_person[f->scheme];
	case PJ_REV_RATIO:
		return contributors0 > 0 ?
			       s->revenue_ratio[f->scheme] * ((double)f->base_spending / 100.0) /
				       contributors0 :
			       0.0;
	case PJ_REV_POLICY:
		/* the policy's own rules (sanbao/fund.h) priced every person
		 * of the base year; per contributor, it grows as the scenario says */
		return contributors0 > 0 ? ((double)f->policy_revenue / 100.0) / contributors0 :
					   0.0;
	}
	return 0.0;
}

/* Year t's insured: people, contributors, retirees, and their spending at
 * base-year prices by visit type into spend[v * stride]. */
static void tally(const pj_fund *f, double pop[PJ_CLASSES][2][PJ_AGES], double *people,
		  double *contributors, double *retirees, double *spend, size_t stride)
{
	double n = 0, c = 0, r = 0, sp[PJ_VISITS] = { 0 };
	for (int k = 0; k < PJ_CLASSES; k++)
		for (int x = 0; x < 2; x++)
			for (int a = 0; a < PJ_AGES; a++) {
				double v = pop[k][x][a];
				if (v == 0)
					continue;
				n += v;
				if (k == PJ_RETIRED)
					r += v;
				else
					c += v;
				for (int k2 = 0; k2 < PJ_VISITS; k2++)
					sp[k2] += v * f->spend_band[k2][band_of(a)];
			}
	*people = n;
	*contributors = f->scheme == 0 ? c : n;
	*retirees = r;
	for (int k2 = 0; k2 < PJ_VISITS; k2++)
		spend[(size_t)k2 * stride] = sp[k2];
}

/* One year on: deaths, ageing, retirements in `year`, entrants. */
static void step(const pj_scenario *s, int scheme, int year, double pop[PJ_CLASSES][2][PJ_AGES])
{
	double next[PJ_CLASSES][2][PJ_AGES];
	memset(next, 0, sizeof next);
	double active = 0, all = 0;
	for (int k = 0; k < PJ_CLASSES; k++)
		for (int x = 0; x < 2; x++)
			for (int a = 0; a < PJ_AGES; a++) {
				double v = pop[k][x][a];
				all += v;
				if (k != PJ_RETIRED)
					active += v;
				double q = s->life.q[x][a] * s->mortality_scale;
				if (q > 1)
					q = 1;
				int to = a + 1 < PJ_AGES ? a + 1 : a;
				next[k][x][to] += v * (1.0 - q);
			}
	if (scheme == 0) {
		/* Age a at the end of `year` is birth year year - a; the share of
		 * a cohort that retires this year is the increase of the share
		 * that has reached the age, over those not yet retired. */
		for (int a = 30; a < PJ_AGES; a++) {
			int birth = year - a;
			for (int k = PJ_ACTIVE; k <= PJ_CADRE; k++)
				for (int x = 0; x < 2; x++) {
					if (k == PJ_CADRE && x == 0)
						continue;
					const pj_retire_group *g = x == 0 ? &s->retire.men :
								   k == PJ_CADRE ?
									    &s->retire.women_cadre :
									    &s->retire.women_worker;
					double now = pj_retire_share(g, birth, year);
					double before = pj_retire_share(g, birth, year - 1);
					double f = before < 1 ? (now - before) / (1 - before) : 1;
					double moved = next[k][x][a] * f;
					next[k][x][a] -= moved;
					next[PJ_RETIRED][x][a] += moved;
				}
		}
	}
	double base = scheme == 0 ? active : all;
	double n = base * s->entrants_per_1000[scheme] / 1000.0;
	int age = s->entrant_age[scheme];
	double men = n * s->entrant_male_share, women = n - men;
	next[PJ_ACTIVE][0][age] += men;
	if (scheme == 0) {
		next[PJ_CADRE][1][age] += women * s->retire.women_cadre_share;
		next[PJ_ACTIVE][1][age] += women * (1 - s->retire.women_cadre_share);
	} else {
		next[PJ_ACTIVE][1][age] += women;
	}
	memcpy(pop, next, sizeof next);
}

void pj_path_release(pj_path *p)
{
	sb_free(p->population);
	sb_free(p->revenue);
	sb_free(p->mc_balance);
	sb_free(p->mc_spending);
	sb_free(p->mc_months);
	sb_free(p->mc_exhausted);
	memset(p, 0, sizeof *p);
}

sb_status pj_path_run(const pj_scenario *s, const pj_fund *f, int base_year, int years, pj_path *p,
		      sb_diag *d)
{
	memset(p, 0, sizeof *p);
	size_t n = (size_t)years + 1;
	p->population = sb_calloc((4 + PJ_VISITS) * n, sizeof(double));
	p->revenue = sb_calloc(4 * n, sizeof(sb_fen));
	if (!p->population || !p->revenue) {
		pj_path_release(p);
		return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
	}
	p->contributors = p->population + n;
	p->retirees = p->population + 2 * n;
	p->rev_pop = p->population + 3 * n;
	p->spend_pop = p->population + 4 * n;
	p->spending = p->revenue + n;
	p->interest = p->revenue + 2 * n;
	p->balance = p->revenue + 3 * n;

	double pop[PJ_CLASSES][2][PJ_AGES];
	memcpy(pop, f->pop0, sizeof pop);
	if (f->scheme == 0) {
		/* persons.csv does not say which statutory age an active woman
		 * has; the scenario's cadre share does, among the women of a
		 * cohort not yet retired under either age. */
		double c = s->retire.women_cadre_share;
		for (int a = 0; a < PJ_AGES; a++) {
			int birth = base_year - a;
			double rc = pj_retire_share(&s->retire.women_cadre, birth, base_year);
			double rw = pj_retire_share(&s->retire.women_worker, birth, base_year);
			double den = c * (1 - rc) + (1 - c) * (1 - rw);
			double share = den > 0 ? c * (1 - rc) / den : 1.0;
			double v = pop[PJ_ACTIVE][1][a];
			pop[PJ_CADRE][1][a] = v * share;
			pop[PJ_ACTIVE][1][a] = v - v * share;
		}
	}
	for (int t = 0; t <= years; t++) {
		if (t > 0 && !s->constant_population)
			step(s, f->scheme, base_year + t, pop);
		tally(f, pop, &p->population[t], &p->contributors[t], &p->retirees[t],
		      &p->spend_pop[t], n);
	}
	/* The settled year's spending is what the settlements paid; the
	 * profile reproduces it (spend_band is scaled so), so year 0 uses the
	 * fen as settled. */
	p->rev_per_contributor = revenue_per_contributor(s, f, p->contributors[0]);
	for (int t = 0; t <= years; t++)
		p->rev_pop[t] = p->contributors[t] * p->rev_per_contributor;
	p->spending[0] = f->base_spending;
	p->revenue[0] = pj_fen(p->rev_pop[0]);
	p->opening = f->has_opening ? f->opening :
				      pj_fen(s->opening_months[f->scheme] / 12.0 *
					     (double)f->base_spending / 100.0);
	p->balance[0] = p->opening;
	for (int t = 1; t <= years; t++) {
		double gr = pow(1 + s->revenue_growth, t), sp = 0;
		for (int v = 0; v < PJ_VISITS; v++)
			sp += p->spend_pop[(size_t)v * n + (size_t)t] *
			      pow(1 + s->visit_growth[v], t);
		p->spending[t] = pj_fen(sp);
		p->revenue[t] = pj_fen(p->rev_pop[t] * gr);
		p->interest[t] = pj_fen((double)p->balance[t - 1] / 100.0 * s->interest);
		p->balance[t] = p->balance[t - 1] + p->interest[t] + p->revenue[t] - p->spending[t];
		if (!p->first_deficit_year && p->revenue[t] < p->spending[t])
			p->first_deficit_year = base_year + t;
		if (!p->exhaustion_year && p->balance[t] < 0)
			p->exhaustion_year = base_year + t;
	}
	return SB_OK;
}

/* ---- the Monte Carlo ----------------------------------------------------- */

static int cmp_fen(const void *a, const void *b)
{
	sb_fen x = *(const sb_fen *)a, y = *(const sb_fen *)b;
	return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p% of the runs at or
 * below it. */
static size_t rank_of(int pct, size_t runs)
{
	size_t k = ((size_t)pct * runs + 99) / 100;
	return k ? k - 1 : 0;
}

sb_status pj_montecarlo(const pj_scenario *s, pj_path *paths, size_t nfunds, int base_year,
			int years, int runs, uint64_t seed, sb_diag *d)
{
	(void)base_year;
	size_t n = (size_t)years + 1, R = (size_t)runs;
	/* per fund, year and run: balance, spending, months; per fund and run:
	 * the exhaustion year's index (0 none) */
	sb_fen *bal = sb_calloc(nfunds * n * R, sizeof *bal);
	sb_fen *spd = sb_calloc(nfunds * n * R, sizeof *spd);
	double *mon = sb_calloc(nfunds * n * R, sizeof *mon);
	int *ex = sb_calloc(nfunds * R, sizeof *ex);
	double *growth = sb_calloc(n * PJ_VISITS, sizeof *growth); /* [visit * n + t] */
	sb_status st = SB_OK;
	if (!bal || !spd || !mon || !ex || !growth) {
		st = sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
		goto out;
	}
	for (size_t f = 0; f < nfunds; f++) {
		pj_path *p = &paths[f];
		p->mc_balance = sb_calloc(n, sizeof *p->mc_balance);
		p->mc_spending = sb_calloc(n, sizeof *p->mc_spending);
		p->mc_months = sb_calloc(n, sizeof *p->mc_months);
		p->mc_exhausted = sb_calloc(n, sizeof *p->mc_exhausted);
		if (!p->mc_balance || !p->mc_spending || !p->mc_months || !p->mc_exhausted) {
			st = sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
			goto out;
		}
	}
	for (size_t r = 0; r < R; r++) {
		/* Run r has its own stream, so that a run's draws do not depend
		 * on how many runs come before it: seed and run through one
		 * splitmix64 step each. */
		uint64_t x = seed;
		uint64_t k0 = splitmix64(&x);
		sb_project_rng rng;
		sb_project_rng_seed(&rng, k0 ^ ((uint64_t)r * 0xd1b54a32d192ed03ULL));
		/* the province's cost growth, year by year: one shock a year,
		 * added to every visit type's growth */
		for (int v = 0; v < PJ_VISITS; v++)
			growth[(size_t)v * n] = 1.0;
		for (size_t t = 1; t < n; t++) {
			double z = s->cost_growth_sd * sb_project_rng_normal(&rng);
			for (int v = 0; v < PJ_VISITS; v++) {
				double g = s->visit_growth[v] + z;
				if (g < -0.9)
					g = -0.9;
				growth[(size_t)v * n + t] = growth[(size_t)v * n + t - 1] * (1 + g);
			}
		}
		double us = s->utilisation_sd;
		for (size_t f = 0; f < nfunds; f++) {
			pj_path *p = &paths[f];
			sb_fen b = p->opening;
			size_t at = (f * R + r) * n;
			bal[at] = b;
			spd[at] = p->spending[0];
			mon[at] = pj_months(b, p->spending[0]);
			for (size_t t = 1; t < n; t++) {
				double u = us > 0 ? exp(us * sb_project_rng_normal(&rng) -
							us * us / 2) :
						    1.0;
				double raw = 0;
				for (int v = 0; v < PJ_VISITS; v++)
					raw += p->spend_pop[(size_t)v * n + t] *
					       growth[(size_t)v * n + t];
				sb_fen sp = pj_fen(raw * u);
				sb_fen in = pj_fen((double)b / 100.0 * s->interest);
				b += in + p->revenue[t] - sp;
				bal[at + t] = b;
				spd[at + t] = sp;
				mon[at + t] = pj_months(b, sp);
				if (!ex[f * R + r] && b < 0)
					ex[f * R + r] = (int)t;
			}
		}
	}
	sb_fen *colf = sb_calloc(R, sizeof *colf);
	double *cold = sb_calloc(R, sizeof *cold);
	if (!colf || !cold) {
		sb_free(colf);
		sb_free(cold);
		st = sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
		goto out;
	}
	for (size_t f = 0; f < nfunds; f++) {
		pj_path *p = &paths[f];
		size_t ever = 0;
		for (size_t r = 0; r < R; r++)
			ever += ex[f * R + r] != 0;
		p->mc_exhausted_ever = (double)ever / (double)R;
		for (size_t t = 0; t < n; t++) {
			size_t by = 0;
			for (size_t r = 0; r < R; r++) {
				int e = ex[f * R + r];
				by += e && (size_t)e <= t;
			}
			p->mc_exhausted[t] = (double)by / (double)R;
			for (int m = 0; m < 3; m++) {
				for (size_t r = 0; r < R; r++) {
					size_t at = (f * R + r) * n + t;
					if (m == 0)
						colf[r] = bal[at];
					else if (m == 1)
						colf[r] = spd[at];
					else
						cold[r] = mon[at];
				}
				if (m < 2)
					qsort(colf, R, sizeof *colf, cmp_fen);
				else
					qsort(cold, R, sizeof *cold, cmp_dbl);
				for (int q = 0; q < PJ_NPCT; q++) {
					size_t k = rank_of(pj_percentiles[q], R);
					if (m == 0)
						p->mc_balance[t][q] = colf[k];
					else if (m == 1)
						p->mc_spending[t][q] = colf[k];
					else
						p->mc_months[t][q] = cold[k];
				}
			}
		}
	}
	sb_free(colf);
	sb_free(cold);
out:
	sb_free(bal);
	sb_free(spd);
	sb_free(mon);
	sb_free(ex);
	sb_free(growth);
	return st;
}
