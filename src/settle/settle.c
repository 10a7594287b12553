/* settle.c: one claim through the layers of the version in force, as
 * policy-format.md "Computation" says: resolve each layer's values for the
 * claim, integrate its band rates over the accumulated base, limit by the
 * pool's cap room, round once half up, never pay more than the base.
 * Money is fen, rates basis points; the integral is exact in fen x bp. */
#include "sanbao/settle.h"

#include <limits.h>
#include <string.h>

#include "policy/policy_int.h"

typedef __int128 wide; /* fen x bp sums: exact, no overflow */

/* A layer's values resolved for one claim. */
/* The scalar fields come first: resolve_layer clears them up to `from`
 * and leaves the band arrays, which are filled as far as nbands. */
typedef struct resolved {
	sb_fen deductible, repeat;
	bool has_repeat, skip, penalty_matched;
	uint8_t mode;
	sb_fen cap; /* -1: none */
	uint16_t nbands;
	uint32_t applied_adjust; /* bit i: adjust entry i applied (first 32) */
	sb_fen from[64];
	int64_t rate[64];
} resolved;

static sb_status resolve_bands(const sb_band *b, uint16_t n, const sb_claimctx *x,
			       resolved *r, sb_diag *d)
{
	sb_status st;
	for (uint16_t i = 0; i < n; i++) {
		if ((st = sb_val_resolve(&b[i].from, x, "band from", &r->from[i], d)) ||
		    (st = sb_val_resolve(&b[i].rate, x, "band rate", &r->rate[i], d)))
			return st;
		if (i && r->from[i] <= r->from[i - 1])
			return sb_diag_set(d, SB_EINPUT, b[i].from.src.file, b[i].from.src.line,
					   b[i].from.src.column,
					   "band from values must be increasing for this claim, but "
					   "band %u starts at or below band %u", i + 1, i);
	}
	r->nbands = n;
	return SB_OK;
}

/* Resolves a layer for the claim; with_penalty = 0 leaves out the adjust
 * entries marked penalty (what the layer would pay without them). */
static sb_status resolve_layer(const sb_layer *l, const sb_claimctx *x, int with_penalty,
			       resolved *r, sb_diag *d)
{
	sb_status st;
	memset(r, 0, offsetof(resolved, from));
	r->mode = l->mode;
	if ((st = sb_val_resolve(&l->deductible, x, "deductible", &r->deductible, d)) ||
	    (st = sb_val_resolve(&l->cap, x, "cap", &r->cap, d)))
		return st;
	if (l->repeat.kind != SB_VAL_UNSET) {
		if ((st = sb_val_resolve(&l->repeat, x, "repeat", &r->repeat, d)))
			return st;
		r->has_repeat = true;
	}
	if ((st = resolve_bands(l->bands, l->nbands, x, r, d)))
		return st;
	for (uint16_t i = 0; i < l->nadjust; i++) {
		const sb_adjust *a = &l->adjust[i];
		if (!sb_cond_holds(&a->when, x))
			continue;
		if (a->has & SB_A_PENALTY) {
			r->penalty_matched = true;
			if (!with_penalty)
				continue;
		}
		if (i < 32)
			r->applied_adjust |= 1u << i;
		if ((a->has & SB_A_DEDUCTIBLE) &&
		    (st = sb_val_resolve(&a->deductible, x, "deductible", &r->deductible, d)))
			return st;
		if (a->has & SB_A_FACTOR) {
			/* The factor scales the deductible in force: the first
			 * claim's and, when set, the repeat one's. */
			r->deductible = sb_div_round(r->deductible * a->factor_bp, 10000);
			if (r->has_repeat)
				r->repeat = sb_div_round(r->repeat * a->factor_bp, 10000);
		}
		if (a->has & SB_A_REPEAT) {
			if ((st = sb_val_resolve(&a->repeat, x, "repeat", &r->repeat, d)))
				return st;
			r->has_repeat = true;
		}
		if (a->has & SB_A_RATE) {
			if ((st = sb_val_resolve(&a->rate, x, "rate", &r->rate[0], d)))
				return st;
			r->from[0] = 0;
			r->nbands = 1;
		}
		if ((a->has & SB_A_BANDS) && (st = resolve_bands(a->bands, a->nbands, x, r, d)))
			return st;
		if (a->has & SB_A_MODE)
			r->mode = a->mode;
		if (a->has & SB_A_DELTA)
			for (uint16_t b = 0; b < r->nbands; b++) {
				int64_t v = r->rate[b] + a->delta_bp;
				r->rate[b] = v < 0 ? 0 : v > 10000 ? 10000 : v;
			}
		if ((a->has & SB_A_CAP) && (st = sb_val_resolve(&a->cap, x, "cap", &r->cap, d)))
			return st;
		if (a->has & SB_A_SKIP)
			r->skip = true;
	}
	return SB_OK;
}

static void put_fen(FILE *f, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	fputs(buf, f);
}

static void put_rate(FILE *f, int64_t bp)
{
	char buf[32];
	sb_bp_format(bp, buf);
	fputs(buf, f);
}

/* Exact fen x bp with half-up rounding of a ten-thousandth of a fen. */
static void put_raw(FILE *f, wide raw)
{
	sb_fen whole = (sb_fen)(raw / 10000);
	int frac = (int)(raw % 10000);
	put_fen(f, whole);
	fprintf(f, "%04d", frac);
}

/* The payment of a resolved layer on base B, given the accumulated base
 * C0, this layer's claim count this year and the room left under its cap. */
static sb_fen compute(const sb_layer *l, const resolved *r, sb_fen B, sb_fen C0,
		      uint32_t count, sb_fen pool_paid, FILE *ex)
{
	sb_fen D = r->deductible;
	bool repeat = l->scope == SB_SCOPE_VISIT && count >= 1 && r->has_repeat;
	if (repeat)
		D = r->repeat;
	sb_fen C1 = C0 + B;
	if (ex) {
		fprintf(ex, "    deductible D = ");
		put_fen(ex, D);
		fprintf(ex, repeat ? " (repeat: claim %u this policy year)\n" :
				     " (claim %u this policy year)\n", count + 1);
		fprintf(ex, "    accumulated C0 = ");
		put_fen(ex, C0);
		fprintf(ex, " -> C1 = ");
		put_fen(ex, C1);
		fprintf(ex, " (scope %s, mode %s)\n", l->scope == SB_SCOPE_YEAR ? "year" : "visit",
			r->mode == SB_MODE_ABOVE ? "above_deductible" : "cumulative");
	}
	wide raw = 0;
	for (uint16_t i = 0; i < r->nbands; i++) {
		sb_fen t = r->mode == SB_MODE_ABOVE ? r->from[i] + D :
			   r->from[i] > D ? r->from[i] : D;
		sb_fen next = SB_FEN_MAX * 4;
		if (i + 1 < r->nbands)
			next = r->mode == SB_MODE_ABOVE ? r->from[i + 1] + D :
			       r->from[i + 1] > D ? r->from[i + 1] : D;
		sb_fen lo = t > C0 ? t : C0, hi = next < C1 ? next : C1;
		if (hi <= lo)
			continue;
		wide part = (wide)(hi - lo) * r->rate[i];
		raw += part;
		if (ex) {
			fprintf(ex, "    band from ");
			put_fen(ex, r->from[i]);
			fprintf(ex, " (x >= ");
			put_fen(ex, t);
			fprintf(ex, "): ");
			put_fen(ex, lo);
			fprintf(ex, " .. ");
			put_fen(ex, hi);
			fprintf(ex, " = ");
			put_fen(ex, hi - lo);
			fprintf(ex, " x ");
			put_rate(ex, r->rate[i]);
			fprintf(ex, " = ");
			put_raw(ex, part);
			fputc('\n', ex);
		}
	}
	if (ex && raw == 0)
		fprintf(ex, "    no band is crossed between C0 and C1 above the deductible\n");
	if (r->cap >= 0) {
		sb_fen room = r->cap - pool_paid;
		if (room < 0)
			room = 0;
		if (ex) {
			fprintf(ex, "    cap ");
			put_fen(ex, r->cap);
			fprintf(ex, " (its pool has paid ");
			put_fen(ex, pool_paid);
			fprintf(ex, "; room ");
			put_fen(ex, room);
			fprintf(ex, ")\n");
		}
		if (raw > (wide)room * 10000) {
			raw = (wide)room * 10000;
			if (ex)
				fprintf(ex, "    limited by the cap\n");
		}
	} else if (ex) {
		fprintf(ex, "    cap none\n");
	}
	sb_fen pay = (sb_fen)((raw + 5000) / 10000);
	if (ex) {
		fprintf(ex, "    raw ");
		put_raw(ex, raw);
		fprintf(ex, " rounded half up to ");
		put_fen(ex, pay);
		fputc('\n', ex);
	}
	if (pay > B) {
		pay = B;
		if (ex) {
			fprintf(ex, "    limited to the base ");
			put_fen(ex, B);
			fputc('\n', ex);
		}
	}
	return pay;
}

int sb_settle_identity(const sb_policy *pol, const sb_person *p, sb_date date, uint64_t *holds)
{
	uint64_t mask = 0;
	for (uint16_t i = 0; i < p->nidents; i++) {
		const sb_ident *id = &p->idents[i];
		if (id->sym >= 0 && id->sym < 63 && id->from <= date && date <= id->to)
			mask |= (uint64_t)1 << (id->sym + 1);
	}
	if (holds)
		*holds = mask;
	for (uint16_t i = 0; i < pol->nidentities; i++)
		if (mask & ((uint64_t)1 << (pol->identities[i] + 1)))
			return pol->identities[i];
	return -1;
}

sb_status sb_claim_check(const sb_claim *c, sb_diag *d)
{
	const char *neg = c->total < 0 ? "total" : c->in_scope < 0 ? "in_scope" :
			  c->pre_selfpay < 0 ? "pre_selfpay" : c->over_limit < 0 ? "over_limit" : NULL;
	if (neg)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: %s is negative", c->id, neg);
	if (c->total > SB_FEN_MAX)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: total is too large", c->id);
	if (c->in_scope + c->pre_selfpay + c->over_limit > c->total) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		sb_money_format(c->in_scope + c->pre_selfpay + c->over_limit, a);
		sb_money_format(c->total, b);
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "claim %s: in_scope + pre_selfpay + over_limit = %s exceed the "
				   "total %s", c->id, a, b);
	}
	for (uint8_t i = 0; i < c->npaid; i++)
		if (c->paid[i].fen < 0)
			return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: a paid amount is negative",
					   c->id);
	return SB_OK;
}

static int acc_layer(sb_acc *a, int sym)
{
	for (int i = 0; i < a->nlayers; i++)
		if (a->layer[i].sym == sym)
			return i;
	int i = a->nlayers++;
	a->layer[i].sym = sym;
	a->layer[i].count = 0;
	a->layer[i].base = 0;
	return i;
}

static int acc_pool(sb_acc *a, int sym)
{
	for (int i = 0; i < a->npools; i++)
		if (a->pool[i].sym == sym)
			return i;
	int i = a->npools++;
	a->pool[i].sym = sym;
	a->pool[i].paid = 0;
	return i;
}

static const char *ident_name(const sb_policyset *set, int sym)
{
	return sym < 0 ? "none" : sb_policyset_symbol_name(set, SB_SYM_IDENTITY, sym);
}

static void explain_head(const sb_policyset *set, const sb_policy *pol, const sb_version *v,
			 const sb_person *p, const sb_claim *c, const sb_claimctx *x, FILE *ex)
{
	char date[11], from[11], masked[SB_ID_LEN + 1];
	sb_date_format(c->date, date);
	sb_date_format(v->from, from);
	sb_id_mask(p->id, strlen(p->id), masked);
	fprintf(ex, "claim %s  person %s  %s  %s %s %s %s\n", c->id, masked, date,
		sb_visit_names[c->visit], c->level_name && *c->level_name ? c->level_name : "-",
		sb_place_names[c->place], sb_filing_names[c->filing]);
	fprintf(ex, "  policy %s %s (%s), version from %s%s%s, policy year %d\n", pol->region,
		pol->name, pol->path, from, *v->source ? ", source: " : "", v->source, x->year);
	fprintf(ex, "  scheme %s, identity applied: %s, age %d\n", sb_scheme_names[x->scheme],
		ident_name(set, x->identity), x->age);
	fprintf(ex, "  total ");
	put_fen(ex, c->total);
	fprintf(ex, " = in_scope ");
	put_fen(ex, c->in_scope);
	fprintf(ex, " + pre_selfpay ");
	put_fen(ex, c->pre_selfpay);
	fprintf(ex, " + over_limit ");
	put_fen(ex, c->over_limit);
	fprintf(ex, " + out_of_scope ");
	put_fen(ex, c->total - c->in_scope - c->pre_selfpay - c->over_limit);
	fputc('\n', ex);
}

/* The version in force and the claim's context, or a refusal. */
static sb_status claim_context(const sb_policy *pol, const sb_person *p, const sb_claim *c,
			       const sb_version **vout, sb_claimctx *x, sb_diag *d)
{
	const sb_version *v = sb_policy_version_at(pol, c->date);
	if (!v) {
		char date[11], first[11];
		sb_date_format(c->date, date);
		sb_date_format(pol->versions[0].from, first);
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "claim %s: no version of region %s's policy is in force on %s "
				   "(the first starts %s)", c->id, pol->region, date, first);
	}
	*x = (sb_claimctx){
		.scheme = p->scheme, .employment = p->employment, .visit = c->visit,
		.place = c->place, .filing = c->filing, .tier = p->tier, .level = c->level,
		.age = p->birth == SB_BIRTH_UNKNOWN ? -1 : sb_age_years(p->birth, c->date),
		.year = sb_version_policy_year(v, c->date),
		.level_name = c->level_name, .policy = pol,
	};
	x->identity = sb_settle_identity(pol, p, c->date, &x->holds);
	*vout = v;
	return SB_OK;
}

/* Monitoring: which of the version's rules hold, and their thresholds. */
static void eval_rules(const sb_version *v, const sb_claimctx *x, sb_result *r)
{
	r->nrules = (uint8_t)v->nrules;
	r->rules_held = 0;
	for (uint16_t i = 0; i < v->nrules && i < 16; i++) {
		sb_diag quiet;
		/* A threshold matters only where its rule holds: resolve it
		 * there alone (0 elsewhere, never read). */
		r->rule_threshold[i] = 0;
		if (!sb_cond_holds(&v->rules[i].when, x))
			continue;
		r->rules_held |= (uint16_t)(1u << i);
		if (sb_val_resolve(&v->rules[i].threshold, x, "threshold", &r->rule_threshold[i],
				   &quiet))
			r->rule_threshold[i] = -1;
	}
}

sb_status sb_settle_context(const sb_policy *pol, const sb_person *p, const sb_claim *c,
			    sb_result *r, sb_diag *d)
{
	const sb_version *v;
	sb_claimctx x;
	memset(r, 0, sizeof *r);
	sb_status st = claim_context(pol, p, c, &v, &x, d);
	if (st)
		return st;
	r->version = v;
	r->identity = x.identity;
	r->year = x.year;
	r->age = x.age;
	eval_rules(v, &x, r);
	return SB_OK;
}

sb_status sb_settle_rule_threshold(const sb_policy *pol, const sb_person *p, const sb_claim *c,
				   int rule, sb_diag *d)
{
	const sb_version *v;
	sb_claimctx x;
	sb_fen t;
	sb_status st = claim_context(pol, p, c, &v, &x, d);
	if (st || rule < 0 || rule >= v->nrules)
		return st;
	char what[96];
	snprintf(what, sizeof what, "the threshold of monitoring rule %s", v->rules[rule].id);
	return sb_val_resolve(&v->rules[rule].threshold, &x, what, &t, d);
}

sb_status sb_settle_claim(const sb_policyset *set, const sb_policy *pol, const sb_person *p,
			  const sb_claim *c, sb_acc *acc, sb_result *r, FILE *ex, sb_diag *d)
{
	sb_status st = sb_claim_check(c, d);
	if (st)
		return st;
	const sb_version *v;
	sb_claimctx x;
	if ((st = claim_context(pol, p, c, &v, &x, d)))
		return st;

	sb_acc a = *acc;
	if (a.policy != pol || a.year != x.year) {
		a.policy = pol;
		a.year = x.year;
		a.nlayers = a.npools = 0;
	}
	for (uint8_t i = 0; i < c->npaid; i++) {
		bool found = false;
		for (uint16_t j = 0; j < v->nlayers && !found; j++)
			found = v->layers[j].sym == c->paid[i].layer;
		if (!found)
			return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
					   "claim %s: paid names layer %s, which is not in the version "
					   "in force", c->id,
					   sb_policyset_symbol_name(set, SB_SYM_LAYER, c->paid[i].layer));
	}
	if (ex)
		explain_head(set, pol, v, p, c, &x, ex);

	/* The result is large (room for every layer) and this is per claim:
	 * clear only what this version uses. */
	memset(r->layer, 0, v->nlayers * sizeof r->layer[0]);
	r->version = v;
	r->identity = x.identity;
	r->year = x.year;
	r->age = x.age;
	r->nlayers = (uint8_t)v->nlayers;
	r->nrules = 0;
	r->rules_held = 0;
	sb_fen rem_in = c->in_scope, rem_pre = c->pre_selfpay, pen_sum = 0, fund = 0;
	for (uint16_t i = 0; i < v->nlayers; i++) {
		const sb_layer *l = &v->layers[i];
		sb_layer_result *lr = &r->layer[i];
		lr->sym = l->sym;
		const sb_paid *given = NULL;
		for (uint8_t j = 0; j < c->npaid; j++)
			if (c->paid[j].layer == l->sym)
				given = &c->paid[j];
		if (ex)
			fprintf(ex, "  layer %s %s%s%s%s\n", l->id, l->name, *l->fund_code ? " [" : "",
				l->fund_code, *l->fund_code ? "]" : "");
		if (!sb_cond_holds(&l->when, &x)) {
			if (given)
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, whose "
						   "conditions (when) do not hold for this claim", c->id, l->id);
			if (ex)
				fprintf(ex, "    conditions (when) do not hold: not applied\n");
			continue;
		}
		resolved full, bare;
		if ((st = resolve_layer(l, &x, 1, &full, d)))
			return st;
		if (full.penalty_matched && (st = resolve_layer(l, &x, 0, &bare, d)))
			return st;
		if (ex && full.applied_adjust) {
			fprintf(ex, "    adjust applied:");
			for (uint16_t j = 0; j < l->nadjust && j < 32; j++)
				if (full.applied_adjust >> j & 1)
					fprintf(ex, " #%u%s (line %d)", j + 1,
						l->adjust[j].has & SB_A_PENALTY ? " penalty" : "",
						l->adjust[j].src.line);
			fputc('\n', ex);
		}
		sb_fen B = rem_in + (l->base == SB_BASE_WITH_PRE_SELFPAY ? rem_pre : 0);
		if (l->exclude_penalty)
			B = B > pen_sum ? B - pen_sum : 0;
		int li = acc_layer(&a, l->sym), pi = acc_pool(&a, l->pool);
		sb_fen C0 = l->scope == SB_SCOPE_YEAR ? a.layer[li].base : 0;
		uint32_t count = a.layer[li].count;
		sb_fen pool_paid = a.pool[pi].paid;
		if (full.skip) {
			if (given)
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, which an "
						   "adjust entry skips for this claim", c->id, l->id);
			if (full.penalty_matched && !bare.skip) {
				if (ex)
					fprintf(ex, "    skipped by a penalty entry; without it:\n");
				lr->penalty = compute(l, &bare, B, C0, count, pool_paid, ex);
				pen_sum += lr->penalty;
			} else if (ex) {
				fprintf(ex, "    skipped by an adjust entry: not applied\n");
			}
			/* A skipped layer does not settle the claim: nothing accumulates. */
			continue;
		}
		lr->applied = true;
		lr->base = B;
		if (ex) {
			fprintf(ex, "    base B = ");
			put_fen(ex, B);
			fprintf(ex, " (%s%s)\n", l->base == SB_BASE_WITH_PRE_SELFPAY ?
				"in-scope and pre-selfpay left" : "in-scope left",
				l->exclude_penalty ? ", less earlier layers' penalties" : "");
		}
		if (given) {
			if (given->fen > B) {
				char g[SB_MONEY_BUF], b[SB_MONEY_BUF];
				sb_money_format(given->fen, g);
				sb_money_format(B, b);
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid %s for layer %s exceeds the base %s "
						   "that is left for it", c->id, g, l->id, b);
			}
			lr->given = true;
			lr->pay = given->fen;
			if (ex)
				fprintf(ex, "    paid elsewhere (given on the claim)\n");
		} else {
			lr->pay = compute(l, &full, B, C0, count, pool_paid, ex);
			if (full.penalty_matched) {
				FILE *quiet = NULL;
				sb_fen without = bare.skip ? 0 :
						 compute(l, &bare, B, C0, count, pool_paid, quiet);
				lr->penalty = without > lr->pay ? without - lr->pay : 0;
				pen_sum += lr->penalty;
				if (ex) {
					fprintf(ex, "    penalty: ");
					put_fen(ex, without);
					fprintf(ex, " without penalty entries - ");
					put_fen(ex, lr->pay);
					fprintf(ex, " = ");
					put_fen(ex, lr->penalty);
					fputc('\n', ex);
				}
			}
		}
		a.layer[li].base += B;
		a.layer[li].count++;
		a.pool[pi].paid += lr->pay;
		sb_fen from_in = lr->pay < rem_in ? lr->pay : rem_in;
		rem_in -= from_in;
		rem_pre -= lr->pay - from_in;
		fund += lr->pay;
		if (ex) {
			fprintf(ex, "    pays ");
			put_fen(ex, lr->pay);
			fprintf(ex, "; in-scope left ");
			put_fen(ex, rem_in);
			fputc('\n', ex);
		}
	}
	r->fund = fund;
	r->oop = c->total - fund;
	r->oop_in_scope = rem_in;
	eval_rules(v, &x, r);
	if (ex) {
		fprintf(ex, "  fund ");
		put_fen(ex, r->fund);
		fprintf(ex, "  oop ");
		put_fen(ex, r->oop);
		fprintf(ex, "  oop_in_scope ");
		put_fen(ex, r->oop_in_scope);
		fputc('\n', ex);
	}
	*acc = a;
	return SB_OK;
}
