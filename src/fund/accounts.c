/* accounts.c: the accounts of each region, fund and year: every enrolled
 * person's contributions under the funding in force (sb_funding_contrib),
 * the premiums medical assistance paid, the assistance fund's budget, the
 * balances year by year with the adjustment fund between them, coverage of
 * the roster's groups, and the sums the indicators read. Spending was
 * summed from the settlements (read.c); here it must still add up to
 * them, to the fen. */
#include <stdio.h>
#include <string.h>

#include "fund/fund_int.h"
#include "io/ranges.h"
#include "sanbao/io.h"

const char *const sb_fund_group_names[] = { "urban", "rural", "residence_unknown", "q1", "q2", "q3",
					    "q4",    "q5",    "income_unknown",    NULL };

static sb_status overflow(sb_diag *d)
{
	return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
			   "the contributions add up to more than a 64-bit sum of fen");
}

void sb_fund_year_span(const fregion *g, int year, sb_date *start, sb_date *end)
{
	const sb_version *v = sb_policy_version_at(g->pol, sb_date_from_ymd(year, 1, 1));
	const sb_version *w = sb_policy_version_at(g->pol, sb_date_from_ymd(year + 1, 1, 1));
	*start = v ? sb_version_year_start(v, year) : sb_date_from_ymd(year, 1, 1);
	*end = w ? sb_version_year_start(w, year + 1) : sb_date_from_ymd(year + 1, 1, 1);
}

/* One thread's share of the persons' contributions (a range of r->persons),
 * summed by region; merged in the persons' order. */
typedef struct ctally {
	long long insured, persons[SB_FUND_SCHEMES], retirees[SB_FUND_SCHEMES],
		no_base[SB_FUND_SCHEMES];
	sb_fen individual[SB_FUND_SCHEMES], assisted[SB_FUND_SCHEMES], subsidy[SB_FUND_SCHEMES],
		employer[SB_FUND_SCHEMES], account[SB_FUND_SCHEMES], revenue[SB_FUND_SCHEMES];
	long long prem_n[FUND_NID];
	sb_fen prem[FUND_NID], assist_spending;
	fgroup groups[FG_N];
	sb_fen assisted_oop, assisted_income;
} ctally;

typedef struct cpart {
	fund_run *r;
	int y;
	const sb_date *start, *end;
	const sb_funding *const *fund;
	size_t lo, hi;
	ctally *t; /* [r->nregions] */
	sb_status st;
	sb_diag d;
} cpart;

static void *contrib_part(void *arg)
{
	cpart *w = arg;
	fund_run *r = w->r;
	int y = w->y, year = r->years[y];
	sb_diag *d = &w->d;
	sb_diag_clear(d);
	for (size_t i = w->lo; i < w->hi; i++) {
		fperson *p = &r->persons[i];
		fregion *g = &r->regions[p->region];
		const sb_funding *f = w->fund[p->region];
		/* the out-of-pocket sums are in the file's order: fetched ahead */
		if (r->oop[y] && i + 16 < w->hi)
			__builtin_prefetch(&r->oop[y][r->seq_of[i + 16]]);
		if (!f) {
			w->st = sb_diag_set(
				d, SB_EPOLICY, sb_policy_path(g->pol), 0, 0,
				"region %s has no funding in force for policy year %d: add a "
				"`funding` entry (docs/policy-format.md, Funding)",
				g->code, year);
			return NULL;
		}
		uint64_t held =
			p->id_n ? sb_fund_held(r, p, w->start[p->region], w->end[p->region]) : 0;
		sb_fund_person fp = { p->scheme,   p->employment, p->tier,
				      p->has_wage, p->wage_base,  held };
		sb_contrib c;
		const char *why;
		if (sb_funding_contrib(f, &fp, &c, &why)) {
			w->st = sb_diag_set(d, SB_EPOLICY, sb_policy_path(g->pol), 0, 0,
					    "region %s, policy year %d: %s (persons.csv line %u)",
					    g->code, year, why, (unsigned)p->line);
			return NULL;
		}
		ctally *t = &w->t[p->region];
		int s = p->scheme;
		t->insured++;
		t->persons[s]++;
		t->retirees[s] += p->scheme == SB_FUND_EMPLOYEE && p->employment == 1;
		t->no_base[s] += c.no_base;
		if (!sb_fen_add(&t->individual[s], c.paid) ||
		    !sb_fen_add(&t->assisted[s], c.assistance) ||
		    !sb_fen_add(&t->subsidy[s], c.subsidy) ||
		    !sb_fen_add(&t->employer[s], c.employer) ||
		    !sb_fen_add(&t->account[s], c.account) || !sb_fen_add(&t->revenue[s], c.pool)) {
			w->st = overflow(d);
			return NULL;
		}
		if (c.assistance) {
			int k = c.assist_identity;
			t->prem_n[k]++;
			t->prem[k] += c.assistance;
			t->assist_spending += c.assistance;
		}
		if (p->scheme == SB_FUND_RESIDENT) {
			int grp[2] = { p->residence == SB_RESIDENCE_URBAN ? FG_URBAN :
				       p->residence == SB_RESIDENCE_RURAL ? FG_RURAL :
									    FG_RES_UNKNOWN,
				       p->quintile >= 0 ? FG_Q1 + p->quintile : FG_NO_INCOME };
			for (int k = 0; k < 2; k++) {
				fgroup *x = &t->groups[grp[k]];
				x->persons++;
				x->premium += c.individual;
				x->paid += c.paid;
				x->subsidy += c.subsidy;
			}
		}
		/* out-of-pocket share of income of the roster's groups */
		if (held && p->has_income) {
			t->assisted_oop += r->oop[y] ? r->oop[y][r->seq_of[i]] : 0;
			t->assisted_income += p->income_pc;
		}
	}
	return NULL;
}

/* Every enrolled person's contributions under the funding in force, on
 * up to --threads threads over ranges of the persons (the first error in
 * the persons' order is the one told). */
static sb_status contributions(fund_run *r, int y, sb_diag *d)
{
	int year = r->years[y];
	sb_date start[SB_FUND_MAX_REGIONS], end[SB_FUND_MAX_REGIONS];
	const sb_funding *fund[SB_FUND_MAX_REGIONS];
	for (size_t i = 0; i < r->nregions; i++) {
		fregion *g = &r->regions[i];
		sb_fund_year_span(g, year, &start[i], &end[i]);
		fund[i] = sb_policy_funding(g->pol, year);
	}
	size_t per = (size_t)1 << 14, n = r->npersons / per + 1; /* persons a thread at least */
	int nw = r->cfg->threads > 1 ? r->cfg->threads : 1;
	if (nw > SB_RANGES_MAX)
		nw = SB_RANGES_MAX;
	if ((size_t)nw > n)
		nw = (int)n;
	cpart *w = sb_calloc((size_t)nw, sizeof *w);
	ctally *tally = sb_calloc((size_t)nw * (r->nregions ? r->nregions : 1), sizeof *tally);
	if (!w || !tally) {
		sb_free(w);
		sb_free(tally);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	for (int i = 0; i < nw; i++)
		w[i] = (cpart){ r,
				y,
				start,
				end,
				fund,
				r->npersons * (size_t)i / (size_t)nw,
				r->npersons * (size_t)(i + 1) / (size_t)nw,
				&tally[(size_t)i * r->nregions],
				SB_OK,
				{ 0 } };
	sb_status st = sb_fund_threads(nw, contrib_part, w, sizeof *w, d);
	for (int i = 0; !st && i < nw; i++)
		if (w[i].st) {
			st = w[i].st;
			*d = w[i].d;
		}
	for (int i = 0; !st && i < nw; i++)
		for (size_t k = 0; !st && k < r->nregions; k++) {
			const ctally *t = &w[i].t[k];
			fregion *g = &r->regions[k];
			g->insured[y] += t->insured;
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				facct *a = &g->acct[y][s];
				a->persons += t->persons[s];
				a->retirees += t->retirees[s];
				a->no_base += t->no_base[s];
				if (!sb_fen_add(&a->individual, t->individual[s]) ||
				    !sb_fen_add(&a->assisted, t->assisted[s]) ||
				    !sb_fen_add(&a->subsidy, t->subsidy[s]) ||
				    !sb_fen_add(&a->employer, t->employer[s]) ||
				    !sb_fen_add(&a->account, t->account[s]) ||
				    !sb_fen_add(&a->revenue, t->revenue[s]))
					st = overflow(d);
			}
			for (int s = 0; s < FUND_NID; s++) {
				g->prem_n[y][s] += t->prem_n[s];
				g->prem[y][s] += t->prem[s];
			}
			g->acct[y][SB_FUND_ASSISTANCE].spending += t->assist_spending;
			for (int s = 0; s < FG_N; s++) {
				fgroup *x = &g->groups[y][s];
				x->persons += t->groups[s].persons;
				x->premium += t->groups[s].premium;
				x->paid += t->groups[s].paid;
				x->subsidy += t->groups[s].subsidy;
			}
			g->assisted_oop[y] += t->assisted_oop;
			g->assisted_income[y] += t->assisted_income;
		}
	sb_free(w);
	sb_free(tally);
	if (st)
		return st;
	/* the assistance fund's revenue */
	for (size_t i = 0; i < r->nregions; i++) {
		fregion *g = &r->regions[i];
		facct *a = &g->acct[y][SB_FUND_ASSISTANCE];
		const sb_funding *f = fund[i];
		a->persons = g->insured[y];
		if (f && f->has_budget)
			a->subsidy = f->budget_per_insured ? f->budget * g->insured[y] : f->budget;
		a->revenue = a->subsidy;
	}
	return SB_OK;
}

/* Households whose out-of-pocket payments in the year exceed 25% of their
 * income (SDG 3.8.2's higher threshold, on income as persons.csv gives
 * it), by the region of their first member in key order. The persons are
 * walked in the file's order, as the households are numbered. */
static sb_status households(fund_run *r, int y, sb_diag *d)
{
	if (!r->nhouseholds)
		return SB_OK;
	sb_fen *oop = sb_calloc(r->nhouseholds, sizeof *oop);
	uint16_t *region = sb_calloc(r->nhouseholds, sizeof *region);
	uint32_t *first = sb_malloc(r->nhouseholds * sizeof *first); /* in key order */
	if (!oop || !region || !first) {
		sb_free(oop);
		sb_free(region);
		sb_free(first);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	for (uint32_t h = 0; h < r->nhouseholds; h++)
		first[h] = UINT32_MAX;
	for (size_t k = 0; k < r->npersons; k++) {
		uint32_t h = r->seq_hh[k];
		if (h == UINT32_MAX)
			continue;
		if (r->seq[k].index < first[h]) {
			first[h] = r->seq[k].index;
			region[h] = r->seq[k].region;
		}
		oop[h] += r->oop[y] ? r->oop[y][k] : 0;
	}
	for (uint32_t h = 0; h < r->nhouseholds; h++) {
		if (first[h] == UINT32_MAX || r->hh_income[h] <= 0)
			continue;
		fregion *g = &r->regions[region[h]];
		g->hh_income[y]++;
		g->hh_catastrophic[y] += oop[h] * 4 > r->hh_income[h];
	}
	sb_free(oop);
	sb_free(region);
	sb_free(first);
	return SB_OK;
}

/* Coverage of the roster: each person holding an identity on some day of
 * the year, counted once per identity and once under "any", in the region
 * the roster row names, else the person's region of enrolment. */
static void coverage(fund_run *r, int y)
{
	int year = r->years[y];
	sb_date start[SB_FUND_MAX_REGIONS], end[SB_FUND_MAX_REGIONS];
	for (size_t i = 0; i < r->nregions; i++)
		sb_fund_year_span(&r->regions[i], year, &start[i], &end[i]);
	uint32_t last_code = 0;
	fregion *last = NULL;
	for (size_t i = 0; i < r->nids;) {
		size_t j = i;
		while (j < r->nids && r->ids[j].key == r->ids[i].key &&
		       r->ids[j].pseudo == r->ids[i].pseudo)
			j++;
		/* the persons of the next rows fetched ahead */
		if (j + 16 < r->nids && r->id_person[j + 16] != UINT32_MAX)
			__builtin_prefetch(&r->persons[r->id_person[j + 16]]);
		const fident *x = &r->ids[i];
		fperson *p = r->id_person[i] != UINT32_MAX ? &r->persons[r->id_person[i]] : NULL;
		fregion *g = NULL;
		if (x->region && x->region == last_code) {
			g = last;
		} else if (x->region) {
			char code[8];
			snprintf(code, sizeof code, "%06u", (unsigned)(x->region % 1000000));
			g = sb_fund_region(r, code);
			last_code = x->region;
			last = g;
		}
		if (!g && p)
			g = &r->regions[p->region];
		if (g) {
			size_t gi = (size_t)(g - r->regions);
			sb_date start_g = start[gi], end_g = end[gi];
			uint64_t held = 0;
			for (size_t k = i; k < j; k++)
				if (r->ids[k].from < end_g && r->ids[k].to >= start_g)
					held |= (uint64_t)1 << r->ids[k].sym;
			for (int s = 0; s < FUND_NID; s++)
				if (held >> s & 1) {
					g->roster[y][s]++;
					g->enrolled[y][s] += p != NULL;
				}
			if (held) {
				g->roster[y][FUND_NID]++;
				g->enrolled[y][FUND_NID] += p != NULL;
			}
		}
		i = j;
	}
}

static void months_of(facct *a, bool after)
{
	sb_fen bal = after ? a->closing : a->closing_before;
	sb_fen spend = a->spending;
	int64_t m = 0;
	bool has = sb_fund_months(bal, spend, &m);
	if (after) {
		a->has_months = has;
		a->months = m;
	} else {
		a->has_months_before = has;
		a->months_before = m;
	}
}

sb_status sb_fund_accounts(fund_run *r, sb_diag *d)
{
	sb_status st;
	for (int k = 0; k < r->nyears; k++) {
		int y = r->yorder[k];
		if ((st = contributions(r, y, d)) || (st = households(r, y, d)))
			return st;
		coverage(r, y);
		for (size_t i = 0; i < r->nregions; i++) {
			fregion *g = &r->regions[i];
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				facct *a = &g->acct[y][s];
				a->opening =
					k ? g->acct[r->yorder[k - 1]][s].closing : g->opening[s];
				a->closing_before = a->opening + a->revenue - a->spending;
				a->closing = a->closing_before;
				months_of(a, false);
			}
		}
		if ((st = sb_fund_adjust(r, y, d)))
			return st;
		for (size_t i = 0; i < r->nregions; i++)
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				facct *a = &r->regions[i].acct[y][s];
				if (a->adjusted)
					a->closing = a->closing_before - a->paid_up + a->received;
				months_of(a, true);
			}
	}
	/* Spending is the settlements' money, to the fen: every layer payment
	 * lands in exactly one fund's account. */
	sb_fen spent = 0, revenue = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int y = 0; y < r->nyears; y++) {
			fregion *g = &r->regions[i];
			sb_fen prem = 0;
			for (int s = 0; s < FUND_NID; s++)
				prem += g->prem[y][s];
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				spent += g->acct[y][s].spending;
				revenue += g->acct[y][s].revenue;
			}
			spent -= prem; /* the premiums are a transfer, not a claim's payment */
		}
	r->t->spending = spent;
	r->t->revenue = revenue;
	if (spent != r->t->settled) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		sb_money_format(spent, a);
		sb_money_format(r->t->settled, b);
		return sb_diag_set(d, SB_ELIMIT, r->cfg->settlements_path, 0, 0,
				   "internal error: the accounts' spending %s is not the "
				   "settlements' fund %s",
				   a, b);
	}
	return SB_OK;
}
