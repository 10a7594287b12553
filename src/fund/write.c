/* write.c: the outputs of `sanbao fund`, CSV for spreadsheets and fund.json
 * (the same numbers, for `sanbao report`), written through the run's
 * output folder so that they appear together or not at all. Amounts are
 * yuan with two decimals (sb_fen_put), months with two, ratios with four. */
#include <stdio.h>
#include <string.h>

#include "fund/fund_int.h"
#include "sanbao/csv.h"

static void fen(FILE *f, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	char *e = sb_fen_put(buf, v);
	fwrite(buf, 1, (size_t)(e - buf), f);
}

static void months(FILE *f, bool has, int64_t m, bool json)
{
	if (!has) {
		fputs(json ? "null" : "", f);
		return;
	}
	fen(f, m); /* hundredths, like fen */
}

static const sb_fund_band *band_of(const fregion *g, int year, bool has, int64_t m)
{
	const sb_funding *f = sb_policy_funding(g->pol, year);
	int b = sb_funding_band(f, has, m);
	return b >= 0 ? &f->bands[b] : NULL;
}

static void jstr(FILE *f, const char *s)
{
	sb_json_str(f, s ? s : "");
}

static void jband(FILE *f, const sb_fund_band *b)
{
	if (b)
		jstr(f, b->id);
	else
		fputs("null", f);
}

static const char *identity_name(const fund_run *r, int sym)
{
	return sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, sym);
}

/* ---- CSV ----------------------------------------------------------------------- */

static sb_status write_accounts(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "accounts.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,fund,persons,retirees,no_wage_base,claims,individual,assisted,subsidy,"
	      "employer,to_accounts,revenue,spending,opening,year_balance,closing_before,"
	      "months_before,band_before,paid_up,received,closing,months,band\n",
	      f);
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				const fregion *g = &r->regions[i];
				int y = r->yorder[k];
				const facct *a = &g->acct[y][s];
				fprintf(f, "%s,%d,%s,%lld,%lld,%lld,%lld,", g->code, r->years[y],
					sb_fund_scheme_names[s], a->persons, a->retirees,
					a->no_base, a->claims);
				sb_fen v[] = {
					a->individual,    a->assisted, a->subsidy,
					a->employer,      a->account,  a->revenue,
					a->spending,      a->opening,  a->revenue - a->spending,
					a->closing_before
				};
				for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) {
					fen(f, v[j]);
					fputc(',', f);
				}
				const sb_fund_band *b0 =
					band_of(g, r->years[y], a->has_months_before,
						a->months_before);
				const sb_fund_band *b1 =
					band_of(g, r->years[y], a->has_months, a->months);
				months(f, a->has_months_before, a->months_before, false);
				fprintf(f, ",%s,", b0 ? b0->id : "");
				fen(f, a->paid_up);
				fputc(',', f);
				fen(f, a->received);
				fputc(',', f);
				fen(f, a->closing);
				fputc(',', f);
				months(f, a->has_months, a->months, false);
				fprintf(f, ",%s\n", b1 ? b1->id : "");
			}
	return sb_outdir_finish(od, f, d);
}

static bool layer_is_assist(const fregion *g, int year, uint64_t key)
{
	const sb_funding *f = sb_policy_funding(g->pol, year);
	for (uint16_t i = 0; f && i < f->nassist_layers; i++)
		if (f->assist_layers[i] == key)
			return true;
	return false;
}

static sb_status write_spending(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "spending.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,layer,fund_code,fund,claims,paid\n", f);
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (size_t l = 0; l < r->nlayers; l++) {
				int y = r->yorder[k];
				size_t li = fund_layer_index(r, i, y, l);
				if (!r->layer_claims[li])
					continue;
				const fregion *g = &r->regions[i];
				fprintf(f, "%s,%d,%s,%s,%s,%lld,", g->code, r->years[y],
					r->layers[l].id, r->layers[l].fund_code,
					layer_is_assist(g, r->years[y], r->layers[l].key) ?
						"assistance" :
						"pooled",
					r->layer_claims[li]);
				fen(f, r->layer_paid[li]);
				fputc('\n', f);
			}
	return sb_outdir_finish(od, f, d);
}

static sb_status write_premiums(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "premiums.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,identity,persons,amount\n", f);
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s < FUND_NID; s++) {
				const fregion *g = &r->regions[i];
				int y = r->yorder[k];
				if (!g->prem_n[y][s])
					continue;
				fprintf(f, "%s,%d,%s,%lld,", g->code, r->years[y],
					identity_name(r, s), g->prem_n[y][s]);
				fen(f, g->prem[y][s]);
				fputc('\n', f);
			}
	return sb_outdir_finish(od, f, d);
}

static sb_status write_coverage(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "coverage.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,identity,roster,enrolled,share\n", f);
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s <= FUND_NID; s++) {
				const fregion *g = &r->regions[i];
				int y = r->yorder[k];
				if (!g->roster[y][s])
					continue;
				fprintf(f, "%s,%d,%s,%lld,%lld,%.4f\n", g->code, r->years[y],
					s == FUND_NID ? "any" : identity_name(r, s),
					g->roster[y][s], g->enrolled[y][s],
					(double)g->enrolled[y][s] / (double)g->roster[y][s]);
			}
	return sb_outdir_finish(od, f, d);
}

static void ratio_cell(FILE *f, sb_fen num, sb_fen den, bool json)
{
	if (den)
		fprintf(f, "%.4f", (double)num / (double)den);
	else if (json)
		fputs("null", f);
}

/* The province's sums of a group, then each region's. */
static void group_sum(const fund_run *r, int y, int grp, fgroup *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < r->nregions; i++) {
		const fgroup *x = &r->regions[i].groups[y][grp];
		out->persons += x->persons;
		out->premium += x->premium;
		out->paid += x->paid;
		out->subsidy += x->subsidy;
		out->benefit += x->benefit;
		out->assistance += x->assistance;
	}
}

static sb_status write_ratios(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "ratios.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,group,persons,premium,paid,subsidy,benefit,assistance,"
	      "benefit_per_premium,benefit_per_contribution\n",
	      f);
	for (size_t i = 0; i <= r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int grp = 0; grp < FG_N; grp++) {
				int y = r->yorder[k];
				fgroup x;
				if (i == 0)
					group_sum(r, y, grp, &x);
				else
					x = r->regions[i - 1].groups[y][grp];
				if (!x.persons && !x.benefit)
					continue;
				fprintf(f, "%s,%d,%s,%lld,", i ? r->regions[i - 1].code : "all",
					r->years[y], sb_fund_group_names[grp], x.persons);
				sb_fen v[] = { x.premium, x.paid, x.subsidy, x.benefit,
					       x.assistance };
				for (size_t j = 0; j < 5; j++) {
					fen(f, v[j]);
					fputc(',', f);
				}
				ratio_cell(f, x.benefit, x.premium, false);
				fputc(',', f);
				ratio_cell(f, x.benefit, x.premium + x.subsidy, false);
				fputc('\n', f);
			}
	return sb_outdir_finish(od, f, d);
}

static sb_status write_adjustment(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "adjustment.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("year,region,fund,revenue,spending,paid_up,gap,deduction,score,normal,emergency,"
	      "received,advance,settlement,closing_before,closing,months_before,months\n",
	      f);
	for (int k = 0; k < r->nyears; k++) {
		int y = r->yorder[k];
		for (size_t i = 0; i < r->nregions; i++)
			for (int s = 0; s < 2; s++) {
				const facct *a = &r->regions[i].acct[y][s];
				if (!a->adjusted)
					continue;
				fprintf(f, "%d,%s,%s,", r->years[y], r->regions[i].code,
					sb_fund_scheme_names[s]);
				sb_fen v[] = { a->revenue, a->spending, a->paid_up, a->gap,
					       a->deduction };
				for (size_t j = 0; j < 5; j++) {
					fen(f, v[j]);
					fputc(',', f);
				}
				fen(f, a->score); /* bp of 100 points: hundredths of a point */
				fputc(',', f);
				sb_fen w[] = { a->normal,  a->emergency,  a->received,
					       a->advance, a->settlement, a->closing_before,
					       a->closing };
				for (size_t j = 0; j < 7; j++) {
					fen(f, w[j]);
					fputc(',', f);
				}
				months(f, a->has_months_before, a->months_before, false);
				fputc(',', f);
				months(f, a->has_months, a->months, false);
				fputc('\n', f);
			}
	}
	return sb_outdir_finish(od, f, d);
}

static void ind_value(FILE *f, const fund_run *r, size_t g, int y, int k, bool json)
{
	size_t i = (g * FUND_NY + (size_t)y) * FUND_NIND + (size_t)k;
	if (r->ind_has[i])
		fprintf(f, "%.4f", r->ind[i]);
	else if (json)
		fputs("null", f);
}

static void ind_rank(FILE *f, const fund_run *r, size_t g, int y, int k, bool json)
{
	size_t i = (g * FUND_NY + (size_t)y) * FUND_NIND + (size_t)k;
	if (r->ind_has[i])
		fprintf(f, "%d", r->ind_rank[i]);
	else if (json)
		fputs("null", f);
}

static const char *direction(int dir)
{
	return dir > 0 ? "higher" : dir < 0 ? "lower" : "closest_to_1";
}

static sb_status write_indicators(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "indicators.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("region,year,indicator,value,rank,better\n", f);
	for (size_t g = 0; g < r->nregions; g++)
		for (int k = 0; k < r->nyears; k++)
			for (int i = 0; i < FUND_NIND; i++) {
				int y = r->yorder[k];
				fprintf(f, "%s,%d,%s,", r->regions[g].code, r->years[y],
					sb_fund_indicators[i].id);
				ind_value(f, r, g, y, i, false);
				fputc(',', f);
				ind_rank(f, r, g, y, i, false);
				fprintf(f, ",%s\n", direction(sb_fund_indicators[i].direction));
			}
	return sb_outdir_finish(od, f, d);
}

/* ---- fund.json ---------------------------------------------------------------------- */

static void jfen(FILE *f, const char *name, sb_fen v)
{
	fprintf(f, "\"%s\": ", name);
	fen(f, v);
}

static void json_account(FILE *f, const fund_run *r, const fregion *g, int y, int s)
{
	const facct *a = &g->acct[y][s];
	fprintf(f,
		"{\"region\": \"%s\", \"year\": %d, \"fund\": \"%s\", \"persons\": %lld, "
		"\"retirees\": %lld, \"no_wage_base\": %lld, \"claims\": %lld, ",
		g->code, r->years[y], sb_fund_scheme_names[s], a->persons, a->retirees, a->no_base,
		a->claims);
	const char *names[] = { "individual",   "assisted",       "subsidy",  "employer",
				"to_accounts",  "revenue",        "spending", "opening",
				"year_balance", "closing_before", "paid_up",  "received",
				"closing" };
	sb_fen v[] = { a->individual,     a->assisted, a->subsidy,
		       a->employer,       a->account,  a->revenue,
		       a->spending,       a->opening,  a->revenue - a->spending,
		       a->closing_before, a->paid_up,  a->received,
		       a->closing };
	for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) {
		jfen(f, names[j], v[j]);
		fputs(", ", f);
	}
	fputs("\"months_before\": ", f);
	months(f, a->has_months_before, a->months_before, true);
	fputs(", \"band_before\": ", f);
	jband(f, band_of(g, r->years[y], a->has_months_before, a->months_before));
	fputs(", \"months\": ", f);
	months(f, a->has_months, a->months, true);
	fputs(", \"band\": ", f);
	jband(f, band_of(g, r->years[y], a->has_months, a->months));
	fputs("}", f);
}

static void json_dispersion(FILE *f, double mean, double sd, int64_t lo, int64_t hi)
{
	fprintf(f, "{\"mean\": %.2f, \"sd\": %.2f, \"min\": ", mean, sd);
	fen(f, lo);
	fputs(", \"max\": ", f);
	fen(f, hi);
	fputs(", \"range\": ", f);
	fen(f, hi - lo);
	fputs("}", f);
}

static void json_adjustment(FILE *f, const fund_run *r)
{
	fputs("  \"adjustment\": [", f);
	for (int k = 0; k < r->nyears; k++) {
		int y = r->yorder[k];
		const fadjust *a = &r->adjust[y];
		fprintf(f, "%s\n    {\"year\": %d, \"present\": %s", k ? "," : "", r->years[y],
			a->present ? "true" : "false");
		if (a->present) {
			const sb_adjustment *p = &a->f->adjustment;
			fputs(", \"source\": ", f);
			jstr(f, p->source);
			fprintf(f,
				", \"pay_up_rate\": %.4f, \"normal_share\": %.4f, "
				"\"weighted\": %s, ",
				(double)p->pay_up_bp / 10000, (double)p->normal_bp / 10000,
				p->weighted ? "true" : "false");
		} else {
			fputs(", ", f);
		}
		jfen(f, "opening", a->opening);
		fputs(", ", f);
		jfen(f, "paid_up", a->paid_up);
		fputs(", ", f);
		jfen(f, "available", a->available);
		fputs(", ", f);
		jfen(f, "normal", a->normal);
		fputs(", ", f);
		jfen(f, "emergency", a->emergency);
		fputs(", ", f);
		jfen(f, "allocated", a->normal + a->emergency);
		fputs(", ", f);
		jfen(f, "closing", a->closing);
		fputs(", ", f);
		jfen(f, "advance", a->advance);
		fputs(", ", f);
		jfen(f, "settlement", a->settlement);
		fprintf(f, ", \"conserved\": %s, \"funds_taking_part\": %lld",
			a->opening + a->paid_up == a->normal + a->emergency + a->closing ? "true" :
											   "false",
			a->units);
		fputs(",\n     \"months_before\": ", f);
		json_dispersion(f, a->mean_before, a->sd_before, a->min_before, a->max_before);
		fputs(",\n     \"months_after\": ", f);
		json_dispersion(f, a->mean_after, a->sd_after, a->min_after, a->max_after);
		fputs(",\n     \"funds\": [", f);
		int n = 0;
		for (size_t i = 0; i < r->nregions; i++)
			for (int s = 0; s < 2; s++) {
				const facct *x = &r->regions[i].acct[y][s];
				if (!x->adjusted)
					continue;
				fprintf(f, "%s\n      {\"region\": \"%s\", \"fund\": \"%s\", ",
					n++ ? "," : "", r->regions[i].code,
					sb_fund_scheme_names[s]);
				const char *names[] = { "revenue",    "spending",       "paid_up",
							"gap",        "deduction",      "normal",
							"emergency",  "received",       "advance",
							"settlement", "closing_before", "closing" };
				sb_fen v[] = { x->revenue,    x->spending,       x->paid_up,
					       x->gap,        x->deduction,      x->normal,
					       x->emergency,  x->received,       x->advance,
					       x->settlement, x->closing_before, x->closing };
				for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) {
					jfen(f, names[j], v[j]);
					fputs(", ", f);
				}
				fputs("\"score\": ", f);
				fen(f, x->score);
				fputs(", \"months_before\": ", f);
				months(f, x->has_months_before, x->months_before, true);
				fputs(", \"months\": ", f);
				months(f, x->has_months, x->months, true);
				fputs("}", f);
			}
		fputs("]}", f);
	}
	fputs("\n  ],\n", f);
}

static sb_status write_json(fund_run *r, sb_outdir *od, sb_diag *d)
{
	FILE *f = sb_outdir_create(od, "fund.json", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	const sb_fund_config *c = r->cfg;
	const sb_fund_totals *t = r->t;
	fputs("{\n  \"inputs\": {\"policies\": ", f);
	jstr(f, c->policies_dir);
	fputs(", \"persons\": ", f);
	jstr(f, c->persons_path);
	fputs(", \"identities\": ", f);
	jstr(f, c->identities_path);
	fputs(", \"settlements\": ", f);
	jstr(f, c->settlements_path);
	fputs(", \"balances\": ", f);
	jstr(f, c->balances_path);
	fputs(", \"adjustment\": ", f);
	jstr(f, c->adjustment_path);
	fputs(", \"warnings\": ", f);
	jstr(f, c->warnings_path);
	fprintf(f, "},\n  \"province\": \"%s\",\n  \"years\": [", r->province);
	for (int k = 0; k < r->nyears; k++)
		fprintf(f, "%s%d", k ? ", " : "", r->years[r->yorder[k]]);
	fprintf(f,
		"],\n  \"counts\": {\"persons\": %lld, \"persons_rejected\": %lld, "
		"\"identities\": %lld, \"identities_rejected\": %lld, \"settlements\": %lld},\n",
		t->persons, t->persons_rejected, t->identities, t->identities_rejected,
		t->settlements);
	fputs("  \"money\": {", f);
	jfen(f, "revenue", t->revenue);
	fputs(", ", f);
	jfen(f, "spending", t->spending);
	fputs(", ", f);
	jfen(f, "settled", t->settled);
	fprintf(f, ", \"reconciled\": %s},\n", t->spending == t->settled ? "true" : "false");
	fputs("  \"regions\": [", f);
	for (size_t i = 0; i < r->nregions; i++) {
		fprintf(f, "%s{\"region\": \"%s\", \"name\": ", i ? ", " : "", r->regions[i].code);
		jstr(f, sb_policy_name(r->regions[i].pol));
		fputs("}", f);
	}
	fputs("],\n  \"accounts\": [", f);
	int n = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s < SB_FUND_SCHEMES; s++) {
				fputs(n++ ? ",\n    " : "\n    ", f);
				json_account(f, r, &r->regions[i], r->yorder[k], s);
			}
	fputs("\n  ],\n  \"spending\": [", f);
	n = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (size_t l = 0; l < r->nlayers; l++) {
				int y = r->yorder[k];
				size_t li = fund_layer_index(r, i, y, l);
				if (!r->layer_claims[li])
					continue;
				const fregion *g = &r->regions[i];
				fprintf(f, "%s{\"region\": \"%s\", \"year\": %d, \"layer\": ",
					n++ ? ",\n    " : "\n    ", g->code, r->years[y]);
				jstr(f, r->layers[l].id);
				fputs(", \"fund_code\": ", f);
				jstr(f, r->layers[l].fund_code);
				fprintf(f, ", \"fund\": \"%s\", \"claims\": %lld, ",
					layer_is_assist(g, r->years[y], r->layers[l].key) ?
						"assistance" :
						"pooled",
					r->layer_claims[li]);
				jfen(f, "paid", r->layer_paid[li]);
				fputs("}", f);
			}
	fputs("\n  ],\n  \"premiums\": [", f);
	n = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s < FUND_NID; s++) {
				const fregion *g = &r->regions[i];
				int y = r->yorder[k];
				if (!g->prem_n[y][s])
					continue;
				fprintf(f, "%s{\"region\": \"%s\", \"year\": %d, \"identity\": ",
					n++ ? ",\n    " : "\n    ", g->code, r->years[y]);
				jstr(f, identity_name(r, s));
				fprintf(f, ", \"persons\": %lld, ", g->prem_n[y][s]);
				jfen(f, "amount", g->prem[y][s]);
				fputs("}", f);
			}
	fputs("\n  ],\n  \"coverage\": [", f);
	n = 0;
	for (size_t i = 0; i < r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int s = 0; s <= FUND_NID; s++) {
				const fregion *g = &r->regions[i];
				int y = r->yorder[k];
				if (!g->roster[y][s])
					continue;
				fprintf(f, "%s{\"region\": \"%s\", \"year\": %d, \"identity\": ",
					n++ ? ",\n    " : "\n    ", g->code, r->years[y]);
				jstr(f, s == FUND_NID ? "any" : identity_name(r, s));
				fprintf(f,
					", \"roster\": %lld, \"enrolled\": %lld, \"share\": %.4f}",
					g->roster[y][s], g->enrolled[y][s],
					(double)g->enrolled[y][s] / (double)g->roster[y][s]);
			}
	fputs("\n  ],\n  \"ratios\": [", f);
	n = 0;
	for (size_t i = 0; i <= r->nregions; i++)
		for (int k = 0; k < r->nyears; k++)
			for (int grp = 0; grp < FG_N; grp++) {
				int y = r->yorder[k];
				fgroup x;
				if (i == 0)
					group_sum(r, y, grp, &x);
				else
					x = r->regions[i - 1].groups[y][grp];
				if (!x.persons && !x.benefit)
					continue;
				fprintf(f,
					"%s{\"region\": \"%s\", \"year\": %d, \"group\": \"%s\", "
					"\"persons\": %lld, ",
					n++ ? ",\n    " : "\n    ",
					i ? r->regions[i - 1].code : "all", r->years[y],
					sb_fund_group_names[grp], x.persons);
				const char *names[] = { "premium", "paid", "subsidy", "benefit",
							"assistance" };
				sb_fen v[] = { x.premium, x.paid, x.subsidy, x.benefit,
					       x.assistance };
				for (size_t j = 0; j < 5; j++) {
					jfen(f, names[j], v[j]);
					fputs(", ", f);
				}
				fputs("\"benefit_per_premium\": ", f);
				ratio_cell(f, x.benefit, x.premium, true);
				fputs(", \"benefit_per_contribution\": ", f);
				ratio_cell(f, x.benefit, x.premium + x.subsidy, true);
				fputs("}", f);
			}
	fputs("\n  ],\n", f);
	json_adjustment(f, r);
	fputs("  \"indicators\": {\"defs\": [", f);
	for (int i = 0; i < FUND_NIND; i++) {
		fprintf(f, "%s\n    {\"id\": \"%s\", \"name\": ", i ? "," : "",
			sb_fund_indicators[i].id);
		jstr(f, sb_fund_indicators[i].name);
		fprintf(f, ", \"unit\": \"%s\", \"better\": \"%s\"}", sb_fund_indicators[i].unit,
			direction(sb_fund_indicators[i].direction));
	}
	fputs("],\n    \"rows\": [", f);
	n = 0;
	for (size_t g = 0; g < r->nregions; g++)
		for (int k = 0; k < r->nyears; k++) {
			int y = r->yorder[k];
			fprintf(f, "%s{\"region\": \"%s\", \"year\": %d, \"values\": {",
				n++ ? ",\n      " : "\n      ", r->regions[g].code, r->years[y]);
			for (int i = 0; i < FUND_NIND; i++) {
				fprintf(f, "%s\"%s\": ", i ? ", " : "", sb_fund_indicators[i].id);
				ind_value(f, r, g, y, i, true);
			}
			fputs("}, \"ranks\": {", f);
			for (int i = 0; i < FUND_NIND; i++) {
				fprintf(f, "%s\"%s\": ", i ? ", " : "", sb_fund_indicators[i].id);
				ind_rank(f, r, g, y, i, true);
			}
			fputs("}}", f);
		}
	fputs("\n  ]}\n}\n", f);
	return sb_outdir_finish(od, f, d);
}

sb_status sb_fund_write(fund_run *r, sb_outdir *od, sb_diag *d)
{
	sb_status st;
	if ((st = write_accounts(r, od, d)) || (st = write_spending(r, od, d)) ||
	    (st = write_premiums(r, od, d)) || (st = write_coverage(r, od, d)) ||
	    (st = write_ratios(r, od, d)) || (st = write_adjustment(r, od, d)) ||
	    (st = write_indicators(r, od, d)) || (st = write_json(r, od, d)))
		return st;
	return sb_outdir_commit(od, NULL, d);
}
