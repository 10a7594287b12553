/* describe.c: a readable account of a compiled policy, version by version,
 * for `sanbao check-policy`: what an analyst compares with the document a
 * policy file cites. */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

/* The policy being described: what statistic and disease names refer to. */
static _Thread_local const sb_policy *described;

static void put_bounds(FILE *f, const sb_val *v)
{
	char buf[SB_MONEY_BUF];
	if (v->has_min) {
		sb_money_format(v->min, buf);
		fprintf(f, ", at least %s", buf);
	}
	if (v->has_max) {
		sb_money_format(v->max, buf);
		fprintf(f, ", at most %s", buf);
	}
}

static void put_val(FILE *f, const sb_policyset *set, const sb_val *v, int is_rate)
{
	char buf[SB_MONEY_BUF];
	switch (v->kind) {
	case SB_VAL_OF:
		sb_bp_format(v->v, buf);
		if (v->of == SB_OF_STAT && described && v->stat < described->nstats)
			fprintf(f, "%s of statistic %s %s (%s)", buf, described->stats[v->stat].id,
				described->stats[v->stat].name,
				v->stat_year ? "the policy year's" : "the year before the policy year");
		else
			fprintf(f, "%s of the %s", buf,
				v->of == SB_OF_CAP ? "layer's annual cap" :
				v->of == SB_OF_TOTAL ? "claim's total" : sb_of_names[v->of]);
		put_bounds(f, v);
		break;
	case SB_VAL_BY_STAY:
		fputs("by stay in the policy year [", f);
		for (uint16_t i = 0; i < v->nitems; i++) {
			fputs(i ? ", " : "", f);
			put_val(f, set, &v->items[i], is_rate || v->ofv);
		}
		fputs("] (the last for every later stay)", f);
		if (v->ofv) {
			fputs(" of ", f);
			put_val(f, set, v->ofv, 0);
		}
		put_bounds(f, v);
		break;
	case SB_VAL_FEN:
		sb_money_format(v->v, buf);
		fputs(buf, f);
		break;
	case SB_VAL_BP:
		sb_bp_format(v->v, buf);
		fputs(buf, f);
		break;
	case SB_VAL_NONE:
		fputs("none", f);
		break;
	case SB_VAL_SHARE:
		sb_bp_format(v->v, buf);
		fprintf(f, "%s of last year's %s income", buf, sb_income_kind_names[v->income_kind]);
		if (v->has_min) {
			sb_money_format(v->min, buf);
			fprintf(f, ", at least %s", buf);
		}
		if (v->has_max) {
			sb_money_format(v->max, buf);
			fprintf(f, ", at most %s", buf);
		}
		break;
	case SB_VAL_LEVELS:
		fputc('{', f);
		for (uint16_t i = 0; i < v->nlev; i++) {
			fprintf(f, "%s%s: ", i ? ", " : "",
				v->lev[i].level < 0 ? "other" :
				sb_policyset_symbol_name(set, SB_SYM_LEVEL, v->lev[i].level));
			put_val(f, set, &v->lev[i].val, is_rate);
		}
		fputc('}', f);
		break;
	default:
		fputs("-", f);
	}
}

static void put_enum_mask(FILE *f, const char *key, unsigned mask, const char *const *names,
			  int *first)
{
	fprintf(f, "%s%s ", *first ? "" : "; ", key);
	*first = 0;
	int n = 0;
	for (int i = 0; names[i]; i++)
		if (mask >> i & 1)
			fprintf(f, "%s%s", n++ ? "|" : "", names[i]);
}

static void put_sym_mask(FILE *f, const sb_policyset *set, const char *key, uint64_t mask,
			 sb_symkind kind, int shift, int *first)
{
	fprintf(f, "%s%s ", *first ? "" : "; ", key);
	*first = 0;
	int n = 0;
	if (shift && (mask & 1))
		fprintf(f, "%snone", n++ ? "|" : "");
	for (int i = 0; i < 63; i++)
		if (mask >> (i + shift) & 1)
			fprintf(f, "%s%s", n++ ? "|" : "", sb_policyset_symbol_name(set, kind, i));
}

static void put_cond(FILE *f, const sb_policyset *set, const sb_cond *c)
{
	if (!c->keys) {
		fputs("always", f);
		return;
	}
	int first = 1;
	if (c->keys & SB_C_SCHEME)
		put_enum_mask(f, "scheme", c->scheme, sb_scheme_names, &first);
	if (c->keys & SB_C_TIER)
		put_sym_mask(f, set, "tier", c->tier, SB_SYM_TIER, 0, &first);
	if (c->keys & SB_C_EMPLOYMENT)
		put_enum_mask(f, "employment", c->employment, sb_employment_names, &first);
	if (c->keys & SB_C_VISIT)
		put_enum_mask(f, "visit", c->visit, sb_visit_names, &first);
	if (c->keys & SB_C_LEVEL)
		put_sym_mask(f, set, "level", c->level, SB_SYM_LEVEL, 0, &first);
	if (c->keys & SB_C_PLACE)
		put_enum_mask(f, "place", c->place, sb_place_names, &first);
	if (c->keys & SB_C_FILING)
		put_enum_mask(f, "filing", c->filing, sb_filing_names, &first);
	if (c->keys & SB_C_IDENTITY)
		put_sym_mask(f, set, "identity", c->identity, SB_SYM_IDENTITY, 1, &first);
	if (c->keys & SB_C_HOLDS)
		put_sym_mask(f, set, "holds", c->holds, SB_SYM_IDENTITY, 1, &first);
	if (c->keys & SB_C_AGE) {
		fprintf(f, "%sage %d-%d", first ? "" : "; ", c->age_min, c->age_max);
		first = 0;
	}
	if ((c->keys & SB_C_DISEASE) && described) {
		fprintf(f, "%sdisease ", first ? "" : "; ");
		int n = 0;
		for (uint16_t i = 0; i < described->ndiseases; i++)
			if (c->disease >> i & 1)
				fprintf(f, "%s%s", n++ ? "|" : "", described->diseases[i].id);
	}
}

static void put_bands(FILE *f, const sb_policyset *set, const sb_band *b, uint16_t n)
{
	if (n == 1 && b[0].from.kind == SB_VAL_FEN && b[0].from.v == 0) {
		fputs("rate ", f);
		put_val(f, set, &b[0].rate, 1);
		return;
	}
	fputs("bands", f);
	for (uint16_t i = 0; i < n; i++) {
		fputs(i ? ", from " : " from ", f);
		put_val(f, set, &b[i].from, 0);
		fputs(" at ", f);
		put_val(f, set, &b[i].rate, 1);
	}
}

static void put_adjust(FILE *f, const sb_policyset *set, const sb_adjust *a, int i)
{
	char buf[32];
	fprintf(f, "      adjust #%d when ", i + 1);
	put_cond(f, set, &a->when);
	fputs(":", f);
	if (a->has & SB_A_DEDUCTIBLE) {
		fputs(" deductible ", f);
		put_val(f, set, &a->deductible, 0);
	}
	if (a->has & SB_A_FACTOR) {
		sb_bp_format(a->factor_bp, buf);
		fprintf(f, " deductible x %s", buf);
	}
	if (a->has & SB_A_REPEAT) {
		fputs(" repeat ", f);
		put_val(f, set, &a->repeat, 0);
	}
	if (a->has & SB_A_RATE) {
		fputs(" rate ", f);
		put_val(f, set, &a->rate, 1);
	}
	if (a->has & SB_A_BANDS) {
		fputc(' ', f);
		put_bands(f, set, a->bands, a->nbands);
	}
	if (a->has & SB_A_MODE)
		fprintf(f, " mode %s", a->mode ? "cumulative" : "above_deductible");
	if (a->has & SB_A_DELTA) {
		/* Percentage points: "70%" less its sign reads "70". */
		size_t n = sb_bp_format(a->delta_bp, buf);
		if (n && buf[n - 1] == '%')
			buf[n - 1] = '\0';
		fprintf(f, " rate %s%s points", a->delta_bp >= 0 ? "+" : "", buf);
	}
	if (a->has & SB_A_CAP) {
		fputs(" cap ", f);
		put_val(f, set, &a->cap, 0);
	}
	if (a->has & SB_A_SKIP)
		fputs(" skip the layer", f);
	if (a->has & SB_A_PAY_FIRST) {
		fputs(" pay first ", f);
		put_val(f, set, &a->pay_first, 1);
	}
	if (a->has & SB_A_FLOOR) {
		fputs(" floor ", f);
		put_val(f, set, &a->floor, 0);
	}
	if (a->has & SB_A_PENALTY)
		fputs(" [penalty]", f);
	fputc('\n', f);
}

/* A format-2 base map (not one of v1's two words). */
static bool base_map(const sb_layer *l)
{
	if (l->above >= 0)
		return true;
	const int64_t *b = l->part_bp;
	return b[SB_PART_IN_SCOPE] != 10000 || b[SB_PART_OVER_LIMIT] || b[SB_PART_OUT_OF_SCOPE] ||
	       (b[SB_PART_PRE_SELFPAY] != 0 && b[SB_PART_PRE_SELFPAY] != 10000);
}

static void put_layer_v2(FILE *f, const sb_policyset *set, const sb_version *v,
			 const sb_layer *l)
{
	static const char *const parts[] = {"in-scope", "pre-selfpay", "over-limit",
					    "out-of-scope"};
	if (!base_map(l)) {
		/* v1's base word, said above */
	} else if (l->above >= 0) {
		fprintf(f, "       base: the part of layer %s's base above its cap point (where "
			"its payment reaches its cap)\n", v->layers[l->above].id);
	} else {
		fputs("       base:", f);
		int n = 0;
		char buf[32];
		for (int k = 0; k < SB_PART_N; k++)
			if (l->part_bp[k]) {
				sb_bp_format(l->part_bp[k], buf);
				fprintf(f, "%s %s of the %s left", n++ ? " +" : "", buf, parts[k]);
			}
		fputc('\n', f);
	}
	if (l->pay_first.kind != SB_VAL_UNSET) {
		fputs("       pay first ", f);
		put_val(f, set, &l->pay_first, 1);
		fputs(" of the base (the person's), before deductible and rate\n", f);
	}
	if (l->deduct_year)
		fputs("       deductible charged once a policy year at the highest level used "
		      "(a later stay pays only what is not yet charged)\n", f);
	if (l->cap_claim.kind != SB_VAL_UNSET) {
		fputs("       claim cap ", f);
		put_val(f, set, &l->cap_claim, 0);
		fputc('\n', f);
	}
	if (l->cap_month.kind != SB_VAL_UNSET) {
		fputs("       month cap ", f);
		put_val(f, set, &l->cap_month, 0);
		fputs(" a calendar month (the pool's payments)\n", f);
	}
	if (l->cap_household.kind != SB_VAL_UNSET) {
		fputs("       household cap ", f);
		put_val(f, set, &l->cap_household, 0);
		fputs(" a policy year (the pool's payments to the household's members)\n", f);
	}
	if (l->floor.kind != SB_VAL_UNSET) {
		fputs("       floor: pays at least ", f);
		put_val(f, set, &l->floor, 0);
		fputs(" (caps still apply)\n", f);
	}
	if (l->has_lump) {
		fputs("       lump ", f);
		put_val(f, set, &l->lump, 0);
		fputs(" once a policy year, when the base exceeds ", f);
		put_val(f, set, &l->lump_above, 0);
		fputc('\n', f);
	}
	if (l->after >= 0)
		fprintf(f, "       opens only once the annual cap of %s is used up%s\n",
			v->layers[l->after].id,
			v->layers[l->after].cap_household.kind != SB_VAL_UNSET ?
				" (its own or the household's)" : "");
	for (uint8_t i = 0; i < l->nclasses; i++) {
		char buf[32];
		fprintf(f, "       item class %s:",
			sb_policyset_symbol_name(set, SB_SYM_CLASS, l->classes[i].sym));
		if (l->classes[i].pay_first >= 0) {
			sb_bp_format(l->classes[i].pay_first, buf);
			fprintf(f, " the person pays %s first", buf);
		}
		if (l->classes[i].rate >= 0) {
			sb_bp_format(l->classes[i].rate, buf);
			fprintf(f, "%s paid at a flat %s, outside the deductible and bands",
				l->classes[i].pay_first >= 0 ? "; the rest" : "", buf);
		} else {
			fputs("; the rest at the layer's deductible and rates", f);
		}
		fputc('\n', f);
	}
	if (l->has_continuity) {
		fprintf(f, "       continuity: after %d years of continuous enrolment,", l->cont_after);
		if (l->cont_cap_year.kind != SB_VAL_UNSET) {
			fputs(" the annual cap rises by ", f);
			put_val(f, set, &l->cont_cap_year, 0);
			fputs(" per further year", f);
		}
		if (l->cont_cap_claimless.kind != SB_VAL_UNSET) {
			fputs("; by ", f);
			put_val(f, set, &l->cont_cap_claimless, 0);
			fputs(" per claimless year", f);
		}
		if (l->cont_cap_max.kind != SB_VAL_UNSET) {
			fputs("; the cap raise at most ", f);
			put_val(f, set, &l->cont_cap_max, 0);
		}
		if (l->cont_rate_year) {
			char buf[32];
			sb_bp_format(l->cont_rate_year, buf);
			fprintf(f, "; rates rise by %s per further year", buf);
			if (l->cont_rate_max >= 0) {
				sb_bp_format(l->cont_rate_max, buf);
				fprintf(f, ", at most %s", buf);
			}
		}
		fputc('\n', f);
	}
}

void sb_policy_describe(const sb_policyset *set, const sb_policy *p, void *file)
{
	FILE *f = file;
	described = p;
	fprintf(f, "region %s %s (%s)%s\n", p->region, p->name, p->path,
		p->format >= 2 ? ", format 2" : "");
	for (uint16_t i = 0; i < p->nstats; i++) {
		const sb_stat *s = &p->stats[i];
		char a[SB_MONEY_BUF];
		fprintf(f, "  statistic %s %s:", s->id, s->name);
		for (uint16_t j = 0; j < s->nyears; j++) {
			sb_money_format(s->fen[j], a);
			fprintf(f, " %d %s", s->years[j], a);
		}
		fputc('\n', f);
	}
	for (uint16_t i = 0; i < p->ndiseases; i++) {
		const sb_disease *ds = &p->diseases[i];
		fprintf(f, "  disease list %s %s:", ds->id, ds->name);
		for (uint16_t j = 0; j < ds->ncodes; j++)
			fprintf(f, " %s%s", ds->codes[j], ds->prefix[j] ? "*" : "");
		fputs(" (a code with * is a prefix; others match exactly)\n", f);
	}
	if (p->parent)
		fprintf(f, "  extends %s %s (%s)\n", p->parent->region, p->parent->name,
			p->parent->path);
	if (p->nidentities) {
		fputs("  identities by priority:", f);
		for (uint16_t i = 0; i < p->nidentities; i++)
			fprintf(f, " %d.%s", i + 1, p->identity_names[i]);
		fputc('\n', f);
	}
	for (uint16_t i = 0; i < p->nincome; i++) {
		char a[SB_MONEY_BUF];
		fprintf(f, "  income %d:", p->income[i].year);
		for (int k = 0; k < SB_INCOME_N; k++)
			if (p->income[i].has[k]) {
				sb_money_format(p->income[i].fen[k], a);
				fprintf(f, " %s %s", sb_income_kind_names[k], a);
			}
		fputc('\n', f);
	}
	sb_funding_describe(set, p, f);
	for (uint16_t vi = 0; vi < p->nversions; vi++) {
		const sb_version *v = &p->versions[vi];
		char from[11], until[11];
		sb_date_format(v->from, from);
		if (v->until == INT32_MAX)
			strcpy(until, "open");
		else
			sb_date_format(v->until - 1, until);
		fprintf(f, "  version %s .. %s", from, until);
		if (v->year_start_month != 1 || v->year_start_day != 1)
			fprintf(f, ", policy year starts %02d-%02d", v->year_start_month,
				v->year_start_day);
		fprintf(f, "\n    source: %s\n", *v->source ? v->source : "(none given)");
		if (v->has_waiting) {
			fprintf(f, "    waiting period after a late enrolment: %d months + %d per year "
				"without cover; no payment from", v->wait_months, v->wait_per_year);
			for (uint16_t li = 0; li < v->nlayers; li++)
				if (v->wait_layers >> li & 1)
					fprintf(f, " %s", v->layers[li].id);
			fputc('\n', f);
		}
		for (uint16_t li = 0; li < v->nlayers; li++) {
			const sb_layer *l = &v->layers[li];
			fprintf(f, "    %d. %s %s%s%s%s\n", li + 1, l->id, l->name,
				*l->fund_code ? " [fund " : "", l->fund_code, *l->fund_code ? "]" : "");
			fputs("       when ", f);
			put_cond(f, set, &l->when);
			fprintf(f, "\n       base %s%s, scope %s, mode %s\n",
				l->v2 && base_map(l) ? "(below)" :
				l->part_bp[SB_PART_PRE_SELFPAY] ? "in_scope_and_pre_selfpay" : "in_scope",
				l->exclude_penalty ? " less earlier penalties" : "",
				l->scope == SB_SCOPE_HOUSEHOLD ? "household" : l->scope ? "year" : "visit",
				l->mode ? "cumulative" : "above_deductible");
			if (l->scope == SB_SCOPE_HOUSEHOLD)
				fputs("       accumulates over the household: its members' bases on this "
				      "layer in the policy year, claims in order of date, then claim id\n",
				      f);
			fputs("       deductible ", f);
			put_val(f, set, &l->deductible, 0);
			if (l->repeat.kind != SB_VAL_UNSET) {
				fputs(", repeat ", f);
				put_val(f, set, &l->repeat, 0);
			}
			fputs("; ", f);
			if (l->nbands)
				put_bands(f, set, l->bands, l->nbands);
			else
				fputs("no rate (a lump)", f);
			fputs("; cap ", f);
			put_val(f, set, &l->cap, 0);
			const char *pool = sb_policyset_symbol_name(set, SB_SYM_POOL, l->pool);
			if (strcmp(pool, l->id))
				fprintf(f, " (pool %s)", pool);
			fputc('\n', f);
			if (l->v2)
				put_layer_v2(f, set, v, l);
			for (uint16_t ai = 0; ai < l->nadjust; ai++)
				put_adjust(f, set, &l->adjust[ai], ai);
		}
		for (uint16_t ri = 0; ri < v->nrules; ri++) {
			const sb_rule *r = &v->rules[ri];
			fprintf(f, "    monitor %s %s: %s of %s over %s above ", r->id, r->name,
				r->measure ? "oop_in_scope" : "oop", r->unit ? "household" : "person",
				r->window ? "12 months" : "the policy year");
			put_val(f, set, &r->threshold, 0);
			if (r->unit && !r->per_household)
				fputs(" per member", f);
			fputs(", when ", f);
			put_cond(f, set, &r->when);
			fputc('\n', f);
		}
	}
	described = NULL;
}
