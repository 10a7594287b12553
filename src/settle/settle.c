/* settle.c: one claim through the layers of the version in force, as
 * policy-format.md "Computation" says: resolve each layer's values for the
 * claim, integrate its band rates over the accumulated base, limit by the
 * pool's cap room, round once half up, never pay more than the base.
 * Money is fen, rates basis points; the integral is exact in fen x bp.
 * Accumulators (acc.c) are updated in place as layers pay, with an undo
 * log so that a refused claim leaves them as they were; each step goes to
 * the optional sb_trace, never to a stream. */
#include "sanbao/settle.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "settle/settle_int.h"

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
	uint64_t applied_adjust; /* bit i: adjust entry i applied */
	sb_fen from[SB_MAX_BANDS];
	int64_t rate[SB_MAX_BANDS];
	/* Format 2 (set for layers with v2 only): -1 when absent. */
	int64_t pay_first;
	sb_fen cap_claim, cap_month, floor, lump, lump_above;
	sb_fen cap_raise; /* continuity: added to the annual cap */
	int64_t rate_raise; /* continuity: added to every band's rate (bp) */
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
static sb_status resolve_v2(const sb_layer *l, sb_claimctx *x, resolved *r, sb_diag *d);
static sb_status resolve_opt(const sb_val *v, const sb_claimctx *x, const char *what,
			     int64_t *out, sb_diag *d);

static sb_status resolve_layer(const sb_layer *l, sb_claimctx *x, int with_penalty,
			       resolved *r, sb_diag *d)
{
	sb_status st;
	const sb_val *floor_adj = NULL;
	memset(r, 0, offsetof(resolved, from));
	r->mode = l->mode;
	if (l->v2)
		r->pay_first = -1;
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
		if (i < SB_MAX_ADJUST) /* the loader allows no more */
			r->applied_adjust |= (uint64_t)1 << i;
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
		if ((a->has & SB_A_PAY_FIRST) &&
		    (st = sb_val_resolve(&a->pay_first, x, "pay_first", &r->pay_first, d)))
			return st;
		if (a->has & SB_A_FLOOR)
			floor_adj = &a->floor;
	}
	if (!l->v2)
		return SB_OK;
	if ((st = resolve_v2(l, x, r, d)))
		return st;
	/* floor from adjust replaces the layer's own (none: no floor). */
	return floor_adj ? resolve_opt(floor_adj, x, "floor", &r->floor, d) : SB_OK;
}

static sb_status resolve_opt(const sb_val *v, const sb_claimctx *x, const char *what,
			     int64_t *out, sb_diag *d)
{
	if (v->kind == SB_VAL_UNSET) {
		*out = -1;
		return SB_OK;
	}
	return sb_val_resolve(v, x, what, out, d);
}

/* continuity: the annual cap and the rates raised for the person's years
 * of continuous enrolment beyond after_years and claimless years, each
 * raise bounded (cap_max reads the cap before the raise). */
static sb_status continuity(const sb_layer *l, sb_claimctx *x, resolved *r, sb_diag *d)
{
	const sb_person *p = x->person;
	int64_t years = p && p->continuous_years > l->cont_after ?
				p->continuous_years - l->cont_after : 0;
	int64_t claimless = p && p->claimless_years > 0 ? p->claimless_years : 0;
	sb_status st;
	if (r->cap >= 0 && (years || claimless)) {
		sb_fen per = 0, perc = 0, max = -1;
		x->cap = r->cap;
		if ((st = resolve_opt(&l->cont_cap_year, x, "continuity.cap_per_year", &per, d)) ||
		    (st = resolve_opt(&l->cont_cap_claimless, x, "continuity.cap_per_claimless_year",
				      &perc, d)) ||
		    (st = resolve_opt(&l->cont_cap_max, x, "continuity.cap_max", &max, d)))
			return st;
		sb_fen raise = (per > 0 ? per * years : 0) + (perc > 0 ? perc * claimless : 0);
		if (max >= 0 && raise > max)
			raise = max;
		r->cap_raise = raise;
		r->cap += raise;
	}
	if (l->cont_rate_year && years) {
		int64_t raise = l->cont_rate_year * years;
		if (l->cont_rate_max >= 0 && raise > l->cont_rate_max)
			raise = l->cont_rate_max;
		r->rate_raise = raise;
		for (uint16_t b = 0; b < r->nbands; b++)
			r->rate[b] = r->rate[b] + raise > 10000 ? 10000 : r->rate[b] + raise;
	}
	return SB_OK;
}

/* The format-2 values, after adjust (a share of the cap reads the cap in
 * force). pay_first from adjust replaces the layer's own. */
static sb_status resolve_v2(const sb_layer *l, sb_claimctx *x, resolved *r, sb_diag *d)
{
	sb_status st;
	r->cap_raise = r->rate_raise = 0;
	if (l->has_continuity && (st = continuity(l, x, r, d)))
		return st;
	x->cap = r->cap;
	int64_t pf = -1;
	if ((st = resolve_opt(&l->pay_first, x, "pay_first", &pf, d)) ||
	    (st = resolve_opt(&l->cap_claim, x, "caps.claim", &r->cap_claim, d)) ||
	    (st = resolve_opt(&l->cap_month, x, "caps.month", &r->cap_month, d)) ||
	    (st = resolve_opt(&l->floor, x, "floor", &r->floor, d)) ||
	    (st = resolve_opt(&l->lump, x, "lump amount", &r->lump, d)) ||
	    (st = resolve_opt(&l->lump_above, x, "lump above", &r->lump_above, d)))
		return st;
	if (r->pay_first < 0)
		r->pay_first = pf;
	return SB_OK;
}

/* What a format-2 layer's computation reads beyond v1's. */
typedef struct v2in {
	sb_fen month_paid;     /* the pool's payments this calendar month */
	sb_fen charged;        /* deductible_per: year: charged this policy year */
	sb_fen above_cap;      /* out: C1 - cap point, when the layer's point is used */
	sb_fen deducted;       /* out: deductible absorbed (deductible_per: year) */
	/* classes: the part of B the bands run on, and the classes' flat
	 * payments (fen x bp). Without classes: B and 0. */
	sb_fen banded;
	wide flat;
} v2in;

/* classes: B split by the claim's item classes (in the layer's order; the
 * rest is the default class). Each class pays its pay_first share; a class
 * with its own rate leaves the bands and pays that rate flat. Returns B
 * less what the person pays first; pf is the default class's pay_first. */
static sb_fen split_classes(const sb_layer *l, const sb_claim *c, sb_fen B, int64_t pf,
			    v2in *in, sb_trace_layer *tl)
{
	sb_fen left = B, first = 0, off = 0;
	in->flat = 0;
	if (tl)
		tl->nclasses = 0;
	for (uint8_t i = 0; i < l->nclasses; i++) {
		const struct sb_layer_class *lc = &l->classes[i];
		sb_fen a = 0;
		for (uint8_t j = 0; j < c->nclasses; j++)
			if (c->classes[j].sym == lc->sym)
				a += c->classes[j].fen;
		sb_fen b = a < left ? a : left;
		left -= b;
		sb_fen p = lc->pay_first >= 0 ? sb_div_round(b * lc->pay_first, 10000) : 0;
		first += p;
		wide part = 0;
		if (lc->rate >= 0) {
			off += b - p;
			part = (wide)(b - p) * lc->rate;
			in->flat += part;
		}
		if (tl)
			tl->cls[tl->nclasses++] = (sb_trace_class){
				.sym = lc->sym, .amount = b, .pay_first = p, .rate = lc->rate,
				.part = (int64_t)part,
			};
	}
	sb_fen p = pf >= 0 ? sb_div_round(left * pf, 10000) : 0;
	first += p;
	in->banded = B - first - off;
	return B - first;
}

/* The v1 computation extended: the deductible charged once a year, the
 * lump, the floor, the claim and month caps and the cap point. */
static sb_fen compute_v2(const sb_layer *l, const resolved *r, sb_fen B, sb_fen C0,
			 uint32_t count, sb_fen pool_paid, v2in *in, sb_fen *room_out,
			 sb_trace_calc *t)
{
	sb_fen D = r->deductible;
	bool repeat = l->scope == SB_SCOPE_VISIT && count >= 1 && r->has_repeat;
	if (repeat)
		D = r->repeat;
	sb_fen standard = D;
	if (l->deduct_year)
		D = D > in->charged ? D - in->charged : 0;
	sb_fen Bb = in->banded; /* what the bands run on (B less flat classes) */
	in->deducted = l->deduct_year ? (Bb < D ? Bb : D) : 0;
	sb_fen C1 = C0 + Bb;
	if (t) {
		memset(&t->deduct_year, 0, sizeof *t - offsetof(sb_trace_calc, deduct_year));
		t->deductible = D;
		t->repeat = repeat;
		t->claim_no = count + 1;
		t->c0 = C0;
		t->c1 = C1;
		t->scope = l->scope == SB_SCOPE_YEAR ? "year" : "visit";
		t->mode = r->mode == SB_MODE_ABOVE ? "above_deductible" : "cumulative";
		t->nbands = 0;
		t->deduct_year = l->deduct_year;
		t->deduct_standard = standard;
		t->deduct_charged = in->charged;
		t->deducted = in->deducted;
	}
	/* The tightest room: the annual cap's, the claim cap, the month's. */
	sb_fen room = -1, eff = -1;
	if (r->cap >= 0) {
		room = r->cap > pool_paid ? r->cap - pool_paid : 0;
		eff = room;
	}
	sb_fen mroom = -1;
	if (r->cap_month >= 0) {
		mroom = r->cap_month > in->month_paid ? r->cap_month - in->month_paid : 0;
		if (eff < 0 || mroom < eff)
			eff = mroom;
	}
	if (r->cap_claim >= 0 && (eff < 0 || r->cap_claim < eff))
		eff = r->cap_claim;
	wide raw = in->flat;
	sb_fen point = -1;
	if (l->has_lump) {
		bool trig = B > r->lump_above, before = pool_paid > 0;
		if (trig && !before)
			raw = (wide)r->lump * 10000;
		if (t) {
			t->lump = true;
			t->lump_amount = r->lump;
			t->lump_above = r->lump_above;
			t->lump_triggered = trig;
			t->lump_paid_before = before;
		}
	}
	for (uint16_t i = 0; i < r->nbands; i++) {
		sb_fen th = r->mode == SB_MODE_ABOVE ? r->from[i] + D :
			    r->from[i] > D ? r->from[i] : D;
		sb_fen next = SB_FEN_MAX * 4;
		if (i + 1 < r->nbands)
			next = r->mode == SB_MODE_ABOVE ? r->from[i + 1] + D :
			       r->from[i + 1] > D ? r->from[i + 1] : D;
		sb_fen lo = th > C0 ? th : C0, hi = next < C1 ? next : C1;
		if (hi <= lo)
			continue;
		wide part = (wide)(hi - lo) * r->rate[i];
		/* The cap point: where the integral reaches the tightest room. */
		if (l->cap_point_used && point < 0 && eff >= 0 && r->rate[i] > 0 &&
		    raw + part >= (wide)eff * 10000) {
			wide need = (wide)eff * 10000 - raw;
			point = lo + (sb_fen)((need * 2 + r->rate[i]) / (2 * r->rate[i]));
			if (point > hi)
				point = hi;
		}
		raw += part;
		if (t)
			t->band[t->nbands++] = (sb_trace_band){
				.from = r->from[i], .threshold = th, .lo = lo, .hi = hi,
				.rate = r->rate[i], .part = (int64_t)part,
			};
	}
	in->above_cap = point >= 0 ? C1 - point : 0;
	if (t) {
		t->banded = (int64_t)raw;
		t->capped = r->cap >= 0;
		t->cap_limited = false;
		t->has_cap_point = l->cap_point_used;
		t->cap_point = point;
		t->above_cap = in->above_cap;
	}
	if (r->floor >= 0 && raw < (wide)r->floor * 10000) {
		raw = (wide)r->floor * 10000;
		if (t)
			t->floor_raised = true;
	}
	if (t && r->floor >= 0) {
		t->has_floor = true;
		t->floor = r->floor;
	}
	*room_out = room;
	if (room >= 0) {
		if (t) {
			t->cap = r->cap;
			t->pool_paid = pool_paid;
			t->room = room;
		}
		if (raw > (wide)room * 10000) {
			raw = (wide)room * 10000;
			if (t)
				t->cap_limited = true;
		}
	}
	if (mroom >= 0) {
		if (t) {
			t->has_cap_month = true;
			t->cap_month = r->cap_month;
			t->month_paid = in->month_paid;
			t->month_room = mroom;
		}
		if (raw > (wide)mroom * 10000) {
			raw = (wide)mroom * 10000;
			if (t)
				t->cap_month_limited = true;
		}
	}
	if (r->cap_claim >= 0) {
		if (t) {
			t->has_cap_claim = true;
			t->cap_claim = r->cap_claim;
		}
		if (raw > (wide)r->cap_claim * 10000) {
			raw = (wide)r->cap_claim * 10000;
			if (t)
				t->cap_claim_limited = true;
		}
	}
	sb_fen pay = (sb_fen)((raw + 5000) / 10000);
	if (t) {
		t->raw = (int64_t)raw;
		t->rounded = pay;
		t->base_limited = pay > B;
	}
	if (pay > B)
		pay = B;
	if (t)
		t->pay = pay;
	return pay;
}

/* The payment of a resolved layer on base B, given the accumulated base
 * C0, this layer's claim count this year and what its pool has paid. When
 * t is not NULL it receives every step. */
static sb_fen compute(const sb_layer *l, const resolved *r, sb_fen B, sb_fen C0,
		      uint32_t count, sb_fen pool_paid, sb_fen *room_out, sb_trace_calc *t)
{
	sb_fen D = r->deductible;
	bool repeat = l->scope == SB_SCOPE_VISIT && count >= 1 && r->has_repeat;
	if (repeat)
		D = r->repeat;
	sb_fen C1 = C0 + B;
	if (t) {
		t->deductible = D;
		t->repeat = repeat;
		t->claim_no = count + 1;
		t->c0 = C0;
		t->c1 = C1;
		t->scope = l->scope == SB_SCOPE_YEAR ? "year" : "visit";
		t->mode = r->mode == SB_MODE_ABOVE ? "above_deductible" : "cumulative";
		t->nbands = 0;
	}
	wide raw = 0;
	for (uint16_t i = 0; i < r->nbands; i++) {
		sb_fen th = r->mode == SB_MODE_ABOVE ? r->from[i] + D :
			    r->from[i] > D ? r->from[i] : D;
		sb_fen next = SB_FEN_MAX * 4;
		if (i + 1 < r->nbands)
			next = r->mode == SB_MODE_ABOVE ? r->from[i + 1] + D :
			       r->from[i + 1] > D ? r->from[i + 1] : D;
		sb_fen lo = th > C0 ? th : C0, hi = next < C1 ? next : C1;
		if (hi <= lo)
			continue;
		wide part = (wide)(hi - lo) * r->rate[i];
		raw += part;
		if (t)
			t->band[t->nbands++] = (sb_trace_band){
				.from = r->from[i], .threshold = th, .lo = lo, .hi = hi,
				.rate = r->rate[i], .part = (int64_t)part,
			};
	}
	if (t) {
		t->banded = (int64_t)raw;
		t->capped = r->cap >= 0;
		t->cap_limited = false;
	}
	*room_out = -1;
	if (r->cap >= 0) {
		sb_fen room = r->cap - pool_paid;
		if (room < 0)
			room = 0;
		*room_out = room;
		if (t) {
			t->cap = r->cap;
			t->pool_paid = pool_paid;
			t->room = room;
		}
		if (raw > (wide)room * 10000) {
			raw = (wide)room * 10000;
			if (t)
				t->cap_limited = true;
		}
	}
	sb_fen pay = (sb_fen)((raw + 5000) / 10000);
	if (t) {
		t->raw = (int64_t)raw;
		t->rounded = pay;
		t->base_limited = pay > B;
	}
	if (pay > B)
		pay = B;
	if (t)
		t->pay = pay;
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

/* Item classes (format 2): parts of in_scope. */
static sb_status check_classes(const sb_claim *c, sb_diag *d)
{
	if (c->nclasses > SB_MAX_CLASSES)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: more than %d item classes",
				   c->id, SB_MAX_CLASSES);
	sb_fen classes = 0;
	for (uint8_t i = 0; i < c->nclasses; i++) {
		if (c->classes[i].fen < 0 || c->classes[i].fen > c->in_scope - classes)
			return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
					   "claim %s: the item classes' amounts are negative or add up "
					   "to more than in_scope (they are parts of it)", c->id);
		classes += c->classes[i].fen;
	}
	return SB_OK;
}

sb_status sb_claim_check(const sb_claim *c, sb_diag *d)
{
	sb_status st;
	const char *neg = c->total < 0 ? "total" : c->in_scope < 0 ? "in_scope" :
			  c->pre_selfpay < 0 ? "pre_selfpay" : c->over_limit < 0 ? "over_limit" : NULL;
	if (neg)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: %s is negative", c->id, neg);
	if (c->total > SB_CLAIM_MAX) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		sb_money_format(c->total, a);
		sb_money_format(SB_CLAIM_MAX, b);
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "claim %s: total %s is above the plausible limit for one claim "
				   "(%s)", c->id, a, b);
	}
	/* Each part is at most SB_FEN_MAX (the money reader's limit): the sum
	 * cannot overflow, but check in steps all the same. */
	if (c->in_scope > c->total || c->pre_selfpay > c->total - c->in_scope ||
	    c->over_limit > c->total - c->in_scope - c->pre_selfpay) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		sb_fen sum = c->in_scope > SB_FEN_MAX || c->pre_selfpay > SB_FEN_MAX ||
					     c->over_limit > SB_FEN_MAX ?
				     SB_FEN_MAX : c->in_scope + c->pre_selfpay + c->over_limit;
		sb_money_format(sum, a);
		sb_money_format(c->total, b);
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "claim %s: in_scope + pre_selfpay + over_limit = %s exceed the "
				   "total %s", c->id, a, b);
	}
	if (c->nclasses && (st = check_classes(c, d)))
		return st;
	if (c->npaid > SB_MAX_PAID)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: more than %d paid amounts",
				   c->id, SB_MAX_PAID);
	for (uint8_t i = 0; i < c->npaid; i++)
		if (c->paid[i].fen < 0)
			return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s: a paid amount is negative",
					   c->id);
	return SB_OK;
}

static void trace_head(const sb_policy *pol, const sb_version *v, const sb_person *p,
		       const sb_claim *c, const sb_claimctx *x, sb_trace *t)
{
	t->has_head = true;
	t->claim_id = c->id;
	sb_id_mask(p->id, strlen(p->id), t->person);
	t->date = c->date;
	t->visit = sb_visit_names[c->visit];
	t->level = c->level_name && *c->level_name ? c->level_name : "-";
	t->place = sb_place_names[c->place];
	t->filing = sb_filing_names[c->filing];
	memcpy(t->region, pol->region, sizeof t->region);
	t->policy_name = pol->name;
	t->policy_path = pol->path;
	t->version_from = v->from;
	t->version_index = v->index;
	t->source = v->source;
	t->year = x->year;
	t->scheme = sb_scheme_names[x->scheme];
	t->identity = x->identity;
	t->age = x->age;
	t->total = c->total;
	t->in_scope = c->in_scope;
	t->pre_selfpay = c->pre_selfpay;
	t->over_limit = c->over_limit;
	t->out_of_scope = c->total - c->in_scope - c->pre_selfpay - c->over_limit;
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
	/* Field by field: a compound literal would clear the struct first. */
	x->scheme = p->scheme;
	x->employment = p->employment;
	x->visit = c->visit;
	x->place = c->place;
	x->filing = c->filing;
	x->tier = p->tier;
	x->level = c->level;
	x->age = p->birth == SB_BIRTH_UNKNOWN ? -1 : sb_age_years(p->birth, c->date);
	x->year = sb_version_policy_year(v, c->date);
	x->level_name = c->level_name;
	x->policy = pol;
	x->claim_no = 0;
	x->cap = -1;
	x->parts = NULL;
	x->diagnosis = c->diagnosis;
	x->person = p;
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

/* The accumulator changes of one claim, undone when it is refused. */
typedef struct undo {
	uint32_t n0;  /* entries before the claim: later ones are new */
	uint16_t n;
	struct { uint32_t i; uint32_t count; sb_fen amount; } old[4 * SB_MAX_LAYERS];
} undo;

/* Notes an entry's values before a change. An entry may be noted twice
 * (two layers of one pool): undo_all restores in reverse order. */
static void undo_note(undo *u, const sb_acc *a, int i)
{
	if ((uint32_t)i >= u->n0)
		return;
	u->old[u->n].i = (uint32_t)i;
	u->old[u->n].count = a->e[i].count;
	u->old[u->n].amount = a->e[i].amount;
	u->n++;
}

static void undo_all(const undo *u, sb_acc *a)
{
	for (uint16_t k = u->n; k-- > 0;) {
		a->e[u->old[k].i].count = u->old[k].count;
		a->e[u->old[k].i].amount = u->old[k].amount;
	}
	a->n = u->n0;
}

/* Adds amount (and one claim when count) to entry i, or to a new entry
 * when i < 0; refuses a sum beyond SB_FEN_MAX. */
static sb_status acc_add(sb_acc *a, undo *u, int i, uint32_t region, int year, uint32_t kind,
			 uint64_t id, sb_fen amount, bool count, const char *what,
			 const char *name, sb_diag *d)
{
	sb_status st;
	if (i < 0 && (st = sb_acc_slot(a, region, year, kind, id, &i, d)))
		return st;
	if (a->e[i].amount > SB_FEN_MAX - amount)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "the %s of %s would exceed the largest amount accepted", what, name);
	undo_note(u, a, i);
	a->e[i].amount += amount;
	if (count)
		a->e[i].count++;
	return SB_OK;
}

static sb_status settle(const sb_policyset *set, const sb_policy *pol, const sb_person *p,
			const sb_claim *c, sb_acc *a, undo *u, sb_result *r, sb_trace *t,
			sb_diag *d)
{
	sb_status st = sb_claim_check(c, d);
	if (st)
		return st;
	const sb_version *v;
	sb_claimctx x;
	if ((st = claim_context(pol, p, c, &v, &x, d)))
		return st;
	uint32_t region = sb_region_number(pol->region);
	int year = x.year;
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
	if (t)
		trace_head(pol, v, p, c, &x, t);

	/* The result is large (room for every layer) and this is per claim:
	 * clear only what this version uses. */
	memset(r->layer, 0, v->nlayers * sizeof r->layer[0]);
	r->version = v;
	r->region = region;
	r->identity = x.identity;
	r->year = x.year;
	r->age = x.age;
	r->nlayers = (uint8_t)v->nlayers;
	r->nrules = 0;
	r->rules_held = 0;
	sb_fen rem_in = c->in_scope, rem_pre = c->pre_selfpay, pen_sum = 0, fund = 0;
	/* Format 2: the out-of-pocket parts left, the claim's own amounts (what
	 * {share, of} reads) and each layer's part above its cap point. */
	sb_fen rem_over = 0, rem_out = 0, parts[SB_OF_CAP];
	sb_fen above_cap[SB_MAX_LAYERS];
	if (v->v2) {
		rem_over = c->over_limit;
		rem_out = c->total - c->in_scope - c->pre_selfpay - c->over_limit;
		parts[SB_OF_TOTAL] = c->total;
		parts[SB_OF_IN_SCOPE] = c->in_scope;
		parts[SB_OF_PRE_SELFPAY] = c->pre_selfpay;
		parts[SB_OF_OVER_LIMIT] = c->over_limit;
		parts[SB_OF_OUT_OF_SCOPE] = rem_out;
		x.parts = parts;
	}
	int month = 0;
	/* Format 2: the waiting period after a late enrolment. */
	uint64_t waiting = 0;
	if (v->has_waiting && p->enrolled_from != SB_DATE_NONE) {
		int yy, mm, dd;
		sb_date_ymd(p->enrolled_from, &yy, &mm, &dd);
		int months = v->wait_months + v->wait_per_year *
				 (p->uncovered_years > 0 ? p->uncovered_years : 0);
		mm += months;
		yy += (mm - 1) / 12;
		mm = (mm - 1) % 12 + 1;
		while (dd > 28 && !sb_date_valid(yy, mm, dd))
			dd--;
		sb_date until = sb_date_from_ymd(yy, mm, dd);
		if (c->date < until)
			waiting = v->wait_layers;
		if (t)
			t->waiting_until = until;
	}
	const sb_layer *l = v->layers;
	sb_layer_result *lr = r->layer;
	for (uint16_t i = 0; i < v->nlayers; i++, l++, lr++) {
		lr->sym = l->sym;
		lr->cap = lr->room = -1;
		const sb_paid *given = NULL;
		for (uint8_t j = 0; j < c->npaid; j++)
			if (c->paid[j].layer == l->sym)
				given = &c->paid[j];
		sb_trace_layer *tl = NULL;
		if (t) {
			tl = &t->layer[t->nlayers++];
			memset(tl, 0, offsetof(sb_trace_layer, calc));
			tl->computed = tl->has_penalty = tl->paid = tl->refused = false;
			tl->v2 = tl->after_blocked = tl->has_pay_first = tl->in_waiting = false;
			tl->cap_raise = tl->rate_raise = 0;
			tl->nclasses = 0;
			tl->sym = l->sym;
			tl->id = l->id;
			tl->name = l->name;
			tl->fund_code = l->fund_code;
		}
		if (!sb_cond_holds(&l->when, &x)) {
			if (given) {
				if (tl)
					tl->refused = true;
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, whose "
						   "conditions (when) do not hold for this claim", c->id, l->id);
			}
			continue;
		}
		if (l->v2 && tl) {
			tl->v2 = true;
			tl->after = l->after;
			tl->above = l->above;
			tl->part_left[0] = rem_in;
			tl->part_left[1] = rem_pre;
			tl->part_left[2] = rem_over;
			tl->part_left[3] = rem_out;
			memcpy(tl->part_bp, l->part_bp, sizeof tl->part_bp);
		}
		if (waiting && (waiting >> i & 1)) {
			if (tl)
				tl->in_waiting = true;
			if (given) {
				if (tl)
					tl->refused = true;
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, which pays "
						   "nothing in the person's waiting period", c->id, l->id);
			}
			continue;
		}
		if (l->v2 && l->after >= 0 && !r->layer[l->after].exhausted) {
			if (tl)
				tl->after_blocked = true;
			if (given) {
				if (tl)
					tl->refused = true;
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, which opens "
						   "only once the cap of %s is used up", c->id, l->id,
						   v->layers[l->after].id);
			}
			continue;
		}
		if (tl)
			tl->when_held = true;
		/* Entries found now stay at their index: new ones are appended. */
		int li = sb_acc_index(a, region, year, SB_ACC_LAYER, l->key);
		int pi = sb_acc_index(a, region, year, SB_ACC_POOL, l->pool_key);
		uint32_t count = li < 0 ? 0 : a->e[li].count;
		x.claim_no = count + 1; /* by_stay */
		resolved full, bare;
		if ((st = resolve_layer(l, &x, 1, &full, d)))
			goto refused;
		if (full.penalty_matched && (st = resolve_layer(l, &x, 0, &bare, d)))
			goto refused;
		if (tl) {
			tl->resolved = true;
			if (l->has_continuity) {
				tl->cap_raise = full.cap_raise;
				tl->rate_raise = full.rate_raise;
			}
			for (uint16_t j = 0; j < l->nadjust && j < SB_MAX_ADJUST; j++)
				if (full.applied_adjust >> j & 1)
					tl->adjust[tl->nadjust++] = (sb_trace_adjust){
						.index = (uint16_t)(j + 1),
						.penalty = (l->adjust[j].has & SB_A_PENALTY) != 0,
						.line = l->adjust[j].src.line,
					};
		}
		sb_fen B;
		if (!l->v2) {
			B = rem_in + (l->base == SB_BASE_WITH_PRE_SELFPAY ? rem_pre : 0);
		} else {
			sb_fen left[SB_PART_N] = {rem_in, rem_pre, rem_over, rem_out}, avail = 0;
			B = 0;
			for (int k = 0; k < SB_PART_N; k++)
				if (l->part_bp[k]) {
					avail += left[k];
					B += l->above < 0 ? sb_div_round(left[k] * l->part_bp[k], 10000) : 0;
				}
			if (l->above >= 0) {
				/* Set when that layer computed its payment on this claim. */
				const sb_layer_result *e = &r->layer[l->above];
				sb_fen above = e->applied && !e->given ? above_cap[l->above] : 0;
				B = above < avail ? above : avail;
			}
		}
		if (l->exclude_penalty)
			B = B > pen_sum ? B - pen_sum : 0;
		sb_fen B_bare = B;
		v2in in, bin;
		if (l->v2) {
			if (tl)
				tl->base_before = B;
			sb_fen B0 = B;
			if (l->nclasses) {
				B = split_classes(l, c, B0, full.pay_first, &in, tl);
				if (full.penalty_matched)
					B_bare = split_classes(l, c, B0, bare.pay_first, &bin, NULL);
			} else {
				if (full.pay_first >= 0)
					B -= sb_div_round(B * full.pay_first, 10000);
				if (full.penalty_matched && bare.pay_first >= 0)
					B_bare -= sb_div_round(B_bare * bare.pay_first, 10000);
				in.banded = B;
				in.flat = 0;
				bin.banded = B_bare;
				bin.flat = 0;
			}
			if (tl && (full.pay_first >= 0 || B != B0)) {
				tl->has_pay_first = true;
				tl->pay_first_bp = full.pay_first;
				tl->pay_first = B0 - B;
			}
		}
		sb_fen C0 = li < 0 || l->scope != SB_SCOPE_YEAR ? 0 : a->e[li].amount;
		sb_fen pool_paid = pi < 0 ? 0 : a->e[pi].amount;
		sb_fen room;
		int mi = -1, di = -1;
		if (l->v2) {
			in.month_paid = in.charged = in.above_cap = in.deducted = 0;
			if (l->cap_month.kind != SB_VAL_UNSET) {
				if (!month) {
					int yy, mm, dd;
					sb_date_ymd(c->date, &yy, &mm, &dd);
					month = yy * 100 + mm;
				}
				mi = sb_acc_index(a, region, month, SB_ACC_MONTH, l->pool_key);
				in.month_paid = mi < 0 ? 0 : a->e[mi].amount;
			}
			if (l->deduct_year) {
				di = sb_acc_index(a, region, year, SB_ACC_DEDUCT, l->key);
				in.charged = di < 0 ? 0 : a->e[di].amount;
			}
		}
		if (full.skip) {
			if (given) {
				if (tl)
					tl->refused = true;
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid gives an amount for layer %s, which an "
						   "adjust entry skips for this claim", c->id, l->id);
			}
			if (full.penalty_matched && !bare.skip) {
				if (tl) {
					tl->skipped = SB_TRACE_SKIP_PENALTY;
					tl->computed = true;
					tl->base = B_bare;
				}
				if (l->v2) {
					bin.month_paid = in.month_paid;
					bin.charged = in.charged;
					lr->penalty = compute_v2(l, &bare, B_bare, C0, count, pool_paid,
								 &bin, &room, tl ? &tl->calc : NULL);
				} else {
					lr->penalty = compute(l, &bare, B_bare, C0, count, pool_paid,
							      &room, tl ? &tl->calc : NULL);
				}
				pen_sum += lr->penalty;
			} else if (tl) {
				tl->skipped = SB_TRACE_SKIP_ADJUST;
			}
			/* A skipped layer does not settle the claim: nothing accumulates. */
			continue;
		}
		lr->applied = true;
		lr->base = B;
		if (tl) {
			tl->has_base = true;
			tl->base = B;
			tl->base_with_pre_selfpay = l->base == SB_BASE_WITH_PRE_SELFPAY;
			tl->less_penalties = l->exclude_penalty;
		}
		if (given) {
			if (tl) {
				tl->given = true;
				tl->given_amount = given->fen;
			}
			if (given->fen > B) {
				char g[SB_MONEY_BUF], b[SB_MONEY_BUF];
				sb_money_format(given->fen, g);
				sb_money_format(B, b);
				if (tl)
					tl->refused = true;
				return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
						   "claim %s: paid %s for layer %s exceeds the base %s "
						   "that is left for it", c->id, g, l->id, b);
			}
			lr->given = true;
			lr->pay = given->fen;
			room = full.cap < 0 ? -1 : full.cap > pool_paid ? full.cap - pool_paid : 0;
		} else {
			if (tl)
				tl->computed = true;
			lr->pay = l->v2 ? compute_v2(l, &full, B, C0, count, pool_paid, &in, &room,
						     tl ? &tl->calc : NULL) :
					  compute(l, &full, B, C0, count, pool_paid, &room,
						  tl ? &tl->calc : NULL);
			if (room >= 0) {
				lr->cap = full.cap;
				lr->room = room;
			}
			if (l->cap_point_used)
				above_cap[i] = in.above_cap;
			if (full.penalty_matched) {
				sb_fen without = 0;
				if (bare.skip) {
					without = 0;
				} else if (l->v2) {
					bin.month_paid = in.month_paid;
					bin.charged = in.charged;
					without = compute_v2(l, &bare, B_bare, C0, count, pool_paid, &bin,
							     &room, NULL);
				} else {
					without = compute(l, &bare, B_bare, C0, count, pool_paid, &room,
							  NULL);
				}
				lr->penalty = without > lr->pay ? without - lr->pay : 0;
				pen_sum += lr->penalty;
				if (tl) {
					tl->has_penalty = true;
					tl->without_penalty = without;
					tl->penalty = lr->penalty;
				}
			}
		}
		if (l->v2)
			lr->exhausted = full.cap >= 0 &&
					lr->pay >= (full.cap > pool_paid ? full.cap - pool_paid : 0);
		if ((st = acc_add(a, u, li, region, year, SB_ACC_LAYER, l->key, B, true,
				  "accumulated base", l->id, d)) ||
		    (st = acc_add(a, u, pi, region, year, SB_ACC_POOL, l->pool_key, lr->pay, false,
				  "payments of the pool", l->id, d)))
			goto refused;
		if (!l->v2) {
			sb_fen from_in = lr->pay < rem_in ? lr->pay : rem_in;
			lr->from_in_scope = from_in;
			lr->from_pre_selfpay = lr->pay - from_in;
			rem_in -= from_in;
			rem_pre -= lr->pay - from_in;
		} else {
			if ((l->cap_month.kind != SB_VAL_UNSET &&
			     (st = acc_add(a, u, mi, region, month, SB_ACC_MONTH, l->pool_key, lr->pay,
					   false, "month's payments of the pool", l->id, d))) ||
			    (l->deduct_year && !given &&
			     (st = acc_add(a, u, di, region, year, SB_ACC_DEDUCT, l->key, in.deducted,
					   false, "deductible charged", l->id, d))))
				goto refused;
			lr->deducted = l->deduct_year && !given ? in.deducted : 0;
			sb_fen *rem[SB_PART_N] = {&rem_in, &rem_pre, &rem_over, &rem_out};
			sb_fen *from[SB_PART_N] = {&lr->from_in_scope, &lr->from_pre_selfpay,
						   &lr->from_over_limit, &lr->from_out_of_scope};
			sb_fen left = lr->pay;
			for (int k = 0; k < SB_PART_N && left; k++) {
				if (!l->part_bp[k])
					continue;
				sb_fen take = left < *rem[k] ? left : *rem[k];
				*from[k] = take;
				*rem[k] -= take;
				left -= take;
			}
		}
		fund += lr->pay;
		if (tl) {
			tl->paid = true;
			tl->pay = lr->pay;
			tl->in_scope_left = rem_in;
		}
		continue;
refused:
		if (tl)
			tl->refused = true;
		return st;
	}
	r->fund = fund;
	r->oop = c->total - fund;
	r->oop_in_scope = rem_in;
	eval_rules(v, &x, r);
	if (t) {
		t->settled = true;
		t->fund = r->fund;
		t->oop = r->oop;
		t->oop_in_scope = r->oop_in_scope;
	}
	return SB_OK;
}

sb_status sb_settle_claim(const sb_policyset *set, const sb_policy *pol, const sb_person *p,
			  const sb_claim *c, sb_acc *acc, sb_result *r, sb_trace *t, sb_diag *d)
{
	undo u;
	u.n0 = acc->n;
	u.n = 0;
	if (t) {
		t->has_head = t->settled = t->refused = false;
		t->waiting_until = 0;
		t->claim_id = c->id;
		t->nlayers = 0;
		t->code = SB_OK;
		t->reason[0] = '\0';
	}
	sb_status st = settle(set, pol, p, c, acc, &u, r, t, d);
	if (st) {
		undo_all(&u, acc);
		if (t) {
			t->refused = true;
			t->code = st;
			sb_diag_format(d, t->reason, sizeof t->reason);
		}
	}
	return st;
}
