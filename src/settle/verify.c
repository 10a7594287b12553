/* verify.c: what must hold of a settled claim, recomputed from the claim,
 * the result and the accumulators before and after, not from the
 * settlement's own running sums. `oop = total - fund` holds by construction
 * and is not checked here. */
#include <string.h>

#include "settle/settle_int.h"

static sb_status broken(sb_diag *d, const sb_claim *c, const char *layer, const char *what)
{
	return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "claim %s%s%s: invariant broken: %s", c->id,
			   layer ? ", layer " : "", layer ? layer : "", what);
}

/* The amount of an entry, 0 when absent (as settlement reads it). */
static sb_fen amount_of(const sb_acc *a, uint32_t region, int32_t year, uint32_t kind,
			uint64_t id, uint32_t *count)
{
	const sb_acc_entry *e = sb_acc_find(a, region, year, kind, id);
	if (count)
		*count = e ? e->count : 0;
	return e ? e->amount : 0;
}

sb_status sb_settle_verify(const sb_claim *c, const sb_result *r, const sb_acc *before,
			   const sb_acc *after, sb_diag *d)
{
	const sb_version *v = r->version;
	if (!v || r->nlayers != v->nlayers)
		return broken(d, c, NULL, "the result does not have one entry per layer of its version");
	sb_fen sum = 0, from_in = 0, from_pre = 0, from_over = 0, from_out = 0;
	sb_fen out_of_scope = c->total - c->in_scope - c->pre_selfpay - c->over_limit;
	for (uint8_t i = 0; i < r->nlayers; i++) {
		const sb_layer_result *lr = &r->layer[i];
		const sb_layer *l = &v->layers[i];
		if (lr->sym != l->sym)
			return broken(d, c, l->id, "the result's layers are not in the version's order");
		if (!lr->applied && (lr->pay || lr->base || lr->given))
			return broken(d, c, l->id, "a layer that did not apply has a base or a payment");
		if (lr->pay < 0 || lr->pay > lr->base)
			return broken(d, c, l->id, "pays less than 0 or more than its base");
		if (lr->from_in_scope < 0 || lr->from_pre_selfpay < 0 || lr->from_over_limit < 0 ||
		    lr->from_out_of_scope < 0 ||
		    lr->from_in_scope + lr->from_pre_selfpay + lr->from_over_limit +
				    lr->from_out_of_scope != lr->pay)
			return broken(d, c, l->id,
				      "its payment is not what it drew from the claim's parts");
		/* A layer draws on the parts its base names, in order: a part
		 * only once the parts before it are used up. */
		const sb_fen drawn[SB_PART_N] = {lr->from_in_scope, lr->from_pre_selfpay,
						 lr->from_over_limit, lr->from_out_of_scope};
		const sb_fen left[SB_PART_N] = {c->in_scope - from_in - lr->from_in_scope,
						c->pre_selfpay - from_pre - lr->from_pre_selfpay,
						c->over_limit - from_over - lr->from_over_limit,
						out_of_scope - from_out - lr->from_out_of_scope};
		const int64_t *named = l->part_bp;
		for (int k = 0; k < SB_PART_N; k++) {
			if (!drawn[k])
				continue;
			if (!named[k])
				return broken(d, c, l->id, "draws on a part of the claim its base does not name");
			for (int q = 0; q < k; q++)
				if (named[q] && left[q])
					return broken(d, c, l->id,
						      k == SB_PART_PRE_SELFPAY && q == SB_PART_IN_SCOPE ?
						      "draws on pre_selfpay while in_scope is left" :
						      "draws on a later part of its base while an earlier one "
						      "is left");
		}
		if (lr->penalty < 0)
			return broken(d, c, l->id, "a negative penalty");
		if (lr->room >= 0 || lr->cap >= 0) {
			if (lr->room < 0 || lr->cap < 0)
				return broken(d, c, l->id, "cap room is negative");
			if (!lr->given && lr->pay > lr->room)
				return broken(d, c, l->id, "pays more than its cap's room");
			if (before) {
				/* room = cap less what the pool paid before this layer:
				 * before the claim, plus earlier layers of the same pool. */
				sb_fen paid = amount_of(before, r->region, r->year, SB_ACC_POOL,
							l->pool_key, NULL);
				for (uint8_t j = 0; j < i; j++)
					if (v->layers[j].pool_key == l->pool_key)
						paid += r->layer[j].pay;
				sb_fen room = lr->cap > paid ? lr->cap - paid : 0;
				if (room != lr->room)
					return broken(d, c, l->id,
						      "cap room is not the cap less what its pool paid");
			}
		}
		sum += lr->pay;
		from_in += lr->from_in_scope;
		from_pre += lr->from_pre_selfpay;
		from_over += lr->from_over_limit;
		from_out += lr->from_out_of_scope;
	}
	if (sum != r->fund)
		return broken(d, c, NULL, "the layers do not sum to fund");
	if (from_in > c->in_scope || from_pre > c->pre_selfpay || from_over > c->over_limit ||
	    from_out > out_of_scope)
		return broken(d, c, NULL, "the layers drew more than a part of the claim holds");
	if (r->oop_in_scope != c->in_scope - from_in)
		return broken(d, c, NULL,
			      "oop_in_scope is not in_scope less what the layers drew from it");
	if (r->oop < r->oop_in_scope)
		return broken(d, c, NULL, "oop is below oop_in_scope");
	if (!before || !after)
		return SB_OK;

	/* Every entry after is the one before plus this claim's layers. */
	int yy, mm, dd;
	sb_date_ymd(c->date, &yy, &mm, &dd);
	const int32_t month = yy * 100 + mm;
	for (uint8_t i = 0; i < r->nlayers; i++) {
		const sb_layer *l = &v->layers[i];
		uint32_t n0, n1;
		sb_fen b0 = amount_of(before, r->region, r->year, SB_ACC_LAYER, l->key, &n0);
		sb_fen b1 = amount_of(after, r->region, r->year, SB_ACC_LAYER, l->key, &n1);
		bool applied = r->layer[i].applied;
		if (b1 != b0 + (applied ? r->layer[i].base : 0) || n1 != n0 + (applied ? 1u : 0u))
			return broken(d, c, l->id,
				      "its accumulated base or count did not advance by this claim");
		sb_fen pool = 0;
		bool first = true;
		for (uint8_t j = 0; j < r->nlayers; j++)
			if (v->layers[j].pool_key == l->pool_key) {
				pool += r->layer[j].pay;
				if (j < i)
					first = false;
			}
		if (l->deduct_year) {
			sb_fen d0 = amount_of(before, r->region, r->year, SB_ACC_DEDUCT, l->key, NULL);
			sb_fen d1 = amount_of(after, r->region, r->year, SB_ACC_DEDUCT, l->key, NULL);
			if (d1 != d0 + r->layer[i].deducted || r->layer[i].deducted > r->layer[i].base)
				return broken(d, c, l->id,
					      "the deductible it charged this year did not advance by "
					      "what this claim absorbed");
		}
		if (l->cap_month.kind != SB_VAL_UNSET) {
			/* The month entry: what the pool's month-capped layers paid. */
			sb_fen mpool = 0;
			bool mfirst = true;
			for (uint8_t j = 0; j < r->nlayers; j++)
				if (v->layers[j].pool_key == l->pool_key &&
				    v->layers[j].cap_month.kind != SB_VAL_UNSET) {
					mpool += r->layer[j].pay;
					if (j < i)
						mfirst = false;
				}
			sb_fen m0 = amount_of(before, r->region, month, SB_ACC_MONTH, l->pool_key, NULL);
			sb_fen m1 = amount_of(after, r->region, month, SB_ACC_MONTH, l->pool_key, NULL);
			if (mfirst && m1 != m0 + mpool)
				return broken(d, c, l->id,
					      "its pool's payments this month did not advance by this claim");
		}
		if (!first)
			continue;
		sb_fen p0 = amount_of(before, r->region, r->year, SB_ACC_POOL, l->pool_key, NULL);
		sb_fen p1 = amount_of(after, r->region, r->year, SB_ACC_POOL, l->pool_key, NULL);
		if (p1 != p0 + pool)
			return broken(d, c, l->id, "its pool's payments did not advance by this claim");
	}
	for (uint32_t k = 0; k < after->n; k++) {
		const sb_acc_entry *e = &after->e[k];
		bool touched = false;
		if (e->region == r->region &&
		    e->year == (e->kind == SB_ACC_MONTH ? month : r->year))
			for (uint8_t i = 0; i < r->nlayers && !touched; i++) {
				const sb_layer *l = &v->layers[i];
				touched = e->kind == SB_ACC_LAYER ? e->id == l->key :
					  e->kind == SB_ACC_POOL ? e->id == l->pool_key :
					  e->kind == SB_ACC_MONTH ?
						  e->id == l->pool_key && l->cap_month.kind != SB_VAL_UNSET :
						  e->id == l->key && l->deduct_year;
			}
		if (touched)
			continue;
		const sb_acc_entry *b = sb_acc_find(before, e->region, e->year, e->kind, e->id);
		if (b ? b->amount != e->amount || b->count != e->count : e->amount || e->count)
			return broken(d, c, NULL, "an accumulator this claim does not touch changed");
	}
	for (uint32_t k = 0; k < before->n; k++) {
		const sb_acc_entry *e = &before->e[k];
		if (!sb_acc_find(after, e->region, e->year, e->kind, e->id))
			return broken(d, c, NULL, "an accumulator was lost");
	}
	return SB_OK;
}
