/* explain.c: renders a settlement trace as the `--explain` text and as
 * JSON. Nothing here computes: every number is the trace's. */
#include "sanbao/explain.h"

#include <inttypes.h>
#include <string.h>

#include "sanbao/csv.h"

/* ---- text ---------------------------------------------------------------- */

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

/* Exact fen x bp: yuan with 6 decimals (the last 4 are ten-thousandths of
 * a fen). */
static void raw_text(int64_t raw, char *buf)
{
	size_t n = sb_money_format((sb_fen)(raw / 10000), buf);
	snprintf(buf + n, 8, "%04d", (int)(raw % 10000));
}

static void put_raw(FILE *f, int64_t raw)
{
	char buf[SB_MONEY_BUF + 8];
	raw_text(raw, buf);
	fputs(buf, f);
}

static const char *identity_name(const sb_policyset *set, int sym)
{
	const char *n = sym < 0 ? NULL : sb_policyset_symbol_name(set, SB_SYM_IDENTITY, sym);
	return n ? n : "none";
}

static void text_calc(FILE *f, const sb_trace_calc *c, sb_fen base, bool v2)
{
	if (v2 && c->lump) {
		fprintf(f, "    lump ");
		put_fen(f, c->lump_amount);
		fprintf(f, " once a policy year when B > ");
		put_fen(f, c->lump_above);
		fprintf(f, c->lump_paid_before ? ": already paid this policy year\n" :
			   c->lump_triggered ? ": triggered\n" : ": not triggered\n");
	}
	fprintf(f, "    deductible D = ");
	put_fen(f, c->deductible);
	fprintf(f, c->repeat ? " (repeat: claim %u this policy year)\n" :
			       " (claim %u this policy year)\n", c->claim_no);
	if (v2 && c->deduct_year) {
		fprintf(f, "    deductible once a year at the highest level: standard ");
		put_fen(f, c->deduct_standard);
		fprintf(f, " - charged this year ");
		put_fen(f, c->deduct_charged);
		fprintf(f, "; this claim absorbs ");
		put_fen(f, c->deducted);
		fputc('\n', f);
	}
	fprintf(f, "    accumulated C0 = ");
	put_fen(f, c->c0);
	fprintf(f, " -> C1 = ");
	put_fen(f, c->c1);
	fprintf(f, " (scope %s, mode %s)\n", c->scope, c->mode);
	for (uint16_t i = 0; i < c->nbands; i++) {
		const sb_trace_band *b = &c->band[i];
		fprintf(f, "    band from ");
		put_fen(f, b->from);
		fprintf(f, " (x >= ");
		put_fen(f, b->threshold);
		fprintf(f, "): ");
		put_fen(f, b->lo);
		fprintf(f, " .. ");
		put_fen(f, b->hi);
		fprintf(f, " = ");
		put_fen(f, b->hi - b->lo);
		fprintf(f, " x ");
		put_rate(f, b->rate);
		fprintf(f, " = ");
		put_raw(f, b->part);
		fputc('\n', f);
	}
	if (c->banded == 0)
		fprintf(f, "    no band is crossed between C0 and C1 above the deductible\n");
	if (c->capped) {
		fprintf(f, "    cap ");
		put_fen(f, c->cap);
		fprintf(f, " (its pool has paid ");
		put_fen(f, c->pool_paid);
		fprintf(f, "; room ");
		put_fen(f, c->room);
		fprintf(f, ")\n");
		if (c->cap_limited)
			fprintf(f, "    limited by the cap\n");
	} else {
		fprintf(f, "    cap none\n");
	}
	if (v2 && c->has_cap_point) {
		if (c->cap_point >= 0) {
			fprintf(f, "    cap point: the payment reaches the room at accumulated ");
			put_fen(f, c->cap_point);
			fprintf(f, "; above it ");
			put_fen(f, c->above_cap);
			fputc('\n', f);
		} else {
			fprintf(f, "    cap point: not reached on this claim (above it 0.00)\n");
		}
	}
	if (v2 && c->has_floor) {
		fprintf(f, "    floor ");
		put_fen(f, c->floor);
		fprintf(f, c->floor_raised ? ": raised to the floor\n" : ": not below it\n");
	}
	if (v2 && c->has_cap_month) {
		fprintf(f, "    month cap ");
		put_fen(f, c->cap_month);
		fprintf(f, " (paid this month ");
		put_fen(f, c->month_paid);
		fprintf(f, "; room ");
		put_fen(f, c->month_room);
		fprintf(f, c->cap_month_limited ? ") limited by it\n" : ")\n");
	}
	if (v2 && c->has_cap_claim) {
		fprintf(f, "    claim cap ");
		put_fen(f, c->cap_claim);
		fprintf(f, c->cap_claim_limited ? ": limited by it\n" : "\n");
	}
	fprintf(f, "    raw ");
	put_raw(f, c->raw);
	fprintf(f, " rounded half up to ");
	put_fen(f, c->rounded);
	fputc('\n', f);
	if (c->base_limited) {
		fprintf(f, "    limited to the base ");
		put_fen(f, base);
		fputc('\n', f);
	}
}

static const char *const part_words[] = {"in_scope", "pre_selfpay", "over_limit",
					 "out_of_scope"};

static void text_base_v2(FILE *f, const sb_policyset *set, const sb_trace *t,
			 const sb_trace_layer *l)
{
	fprintf(f, "    base: ");
	if (l->above >= 0 && l->above < t->nlayers) {
		fprintf(f, "the part of layer %s's base above its cap point", t->layer[l->above].id);
	} else {
		int n = 0;
		for (int k = 0; k < 4; k++) {
			if (!l->part_bp[k])
				continue;
			fprintf(f, "%s", n++ ? " + " : "");
			put_rate(f, l->part_bp[k]);
			fprintf(f, " of %s left ", part_words[k]);
			put_fen(f, l->part_left[k]);
		}
	}
	fprintf(f, " = ");
	put_fen(f, l->base_before);
	fputc('\n', f);
	for (uint8_t i = 0; i < l->nclasses; i++) {
		const sb_trace_class *k = &l->cls[i];
		fprintf(f, "    class %s: ", sb_policyset_symbol_name(set, SB_SYM_CLASS, k->sym));
		put_fen(f, k->amount);
		if (k->pay_first) {
			fprintf(f, ", pays first ");
			put_fen(f, k->pay_first);
		}
		if (k->rate >= 0) {
			fprintf(f, ", flat ");
			put_fen(f, k->amount - k->pay_first);
			fprintf(f, " x ");
			put_rate(f, k->rate);
			fprintf(f, " = ");
			put_raw(f, k->part);
		} else {
			fprintf(f, ", at the layer's rates");
		}
		fputc('\n', f);
	}
	if (l->has_pay_first) {
		fprintf(f, "    pay first ");
		if (l->pay_first_bp >= 0) {
			put_rate(f, l->pay_first_bp);
			fprintf(f, " of ");
			put_fen(f, l->base_before);
		} else {
			fprintf(f, "by item class");
		}
		fprintf(f, " = ");
		put_fen(f, l->pay_first);
		fprintf(f, " (the person's)\n");
	}
}

static void text_layer(FILE *f, const sb_policyset *set, const sb_trace *t,
		       const sb_trace_layer *l)
{
	fprintf(f, "  layer %s %s%s%s%s\n", l->id, l->name, *l->fund_code ? " [" : "",
		l->fund_code, *l->fund_code ? "]" : "");
	if (!l->when_held) {
		if (l->in_waiting) {
			char until[11];
			sb_date_format(t->waiting_until, until);
			fprintf(f, "    in the person's waiting period after a late enrolment (the funds "
				"pay from %s): not applied\n", until);
		} else if (l->v2 && l->after_blocked && l->after >= 0 && l->after < t->nlayers)
			fprintf(f, "    opens only once layer %s's annual cap is used up; it is not: "
				"not applied\n", t->layer[l->after].id);
		else if (!l->refused)
			fprintf(f, "    conditions (when) do not hold: not applied\n");
		return;
	}
	if (!l->resolved)
		return;
	if (l->cap_raise || l->rate_raise) {
		fprintf(f, "    continuity: cap raised by ");
		put_fen(f, l->cap_raise);
		fprintf(f, ", rates by ");
		put_rate(f, l->rate_raise);
		fprintf(f, " (years of continuous enrolment, claimless years)\n");
	}
	if (l->nadjust) {
		fprintf(f, "    adjust applied:");
		for (uint16_t j = 0; j < l->nadjust; j++)
			fprintf(f, " #%u%s (line %d)", l->adjust[j].index,
				l->adjust[j].penalty ? " penalty" : "", l->adjust[j].line);
		fputc('\n', f);
	}
	if (!l->has_base) {
		if (l->skipped == SB_TRACE_SKIP_PENALTY) {
			fprintf(f, "    skipped by a penalty entry; without it:\n");
			text_calc(f, &l->calc, l->base, l->v2);
		} else if (l->skipped == SB_TRACE_SKIP_ADJUST) {
			fprintf(f, "    skipped by an adjust entry: not applied\n");
		}
		return;
	}
	if (l->v2)
		text_base_v2(f, set, t, l);
	fprintf(f, "    base B = ");
	put_fen(f, l->base);
	if (l->v2)
		fprintf(f, "%s%s\n", l->less_penalties ? " (less earlier layers' penalties)" : "",
			l->has_pay_first ? " (after paying first)" : "");
	else
		fprintf(f, " (%s%s)\n", l->base_with_pre_selfpay ? "in-scope and pre-selfpay left" :
								   "in-scope left",
			l->less_penalties ? ", less earlier layers' penalties" : "");
	if (l->given) {
		if (l->refused)
			return;
		fprintf(f, "    paid elsewhere (given on the claim)\n");
	} else if (l->computed) {
		text_calc(f, &l->calc, l->base, l->v2);
		if (l->has_penalty) {
			fprintf(f, "    penalty: ");
			put_fen(f, l->without_penalty);
			fprintf(f, " without penalty entries - ");
			put_fen(f, l->calc.pay);
			fprintf(f, " = ");
			put_fen(f, l->penalty);
			fputc('\n', f);
		}
	}
	if (l->paid) {
		fprintf(f, "    pays ");
		put_fen(f, l->pay);
		fprintf(f, "; in-scope left ");
		put_fen(f, l->in_scope_left);
		fputc('\n', f);
	}
}

void sb_explain_text(FILE *f, const sb_policyset *set, const sb_trace *t)
{
	if (t->has_head) {
		char date[11], from[11];
		sb_date_format(t->date, date);
		sb_date_format(t->version_from, from);
		fprintf(f, "claim %s  person %s  %s  %s %s %s %s\n", t->claim_id, t->person, date,
			t->visit, t->level, t->place, t->filing);
		fprintf(f, "  policy %s %s (%s), version from %s%s%s, policy year %d\n", t->region,
			t->policy_name, t->policy_path, from, *t->source ? ", source: " : "",
			t->source, t->year);
		fprintf(f, "  scheme %s, identity applied: %s, age %d\n", t->scheme,
			identity_name(set, t->identity), t->age);
		fprintf(f, "  total ");
		put_fen(f, t->total);
		fprintf(f, " = in_scope ");
		put_fen(f, t->in_scope);
		fprintf(f, " + pre_selfpay ");
		put_fen(f, t->pre_selfpay);
		fprintf(f, " + over_limit ");
		put_fen(f, t->over_limit);
		fprintf(f, " + out_of_scope ");
		put_fen(f, t->out_of_scope);
		fputc('\n', f);
		for (uint16_t i = 0; i < t->nlayers; i++)
			text_layer(f, set, t, &t->layer[i]);
	}
	if (t->settled) {
		fprintf(f, "  fund ");
		put_fen(f, t->fund);
		fprintf(f, "  oop ");
		put_fen(f, t->oop);
		fprintf(f, "  oop_in_scope ");
		put_fen(f, t->oop_in_scope);
		fputc('\n', f);
	}
	if (t->refused)
		fprintf(f, "  refused: %s\n", t->reason);
}

/* ---- JSON ---------------------------------------------------------------- */

static void j_str(FILE *f, const char *s)
{
	if (s)
		sb_json_str(f, s);
	else
		fputs("null", f);
}

static void j_key(FILE *f, bool *first, const char *k)
{
	if (!*first)
		fputs(", ", f);
	*first = false;
	fprintf(f, "\"%s\": ", k);
}

static void j_kstr(FILE *f, bool *first, const char *k, const char *v)
{
	j_key(f, first, k);
	j_str(f, v);
}

static void j_kfen(FILE *f, bool *first, const char *k, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	j_kstr(f, first, k, buf);
}

static void j_kraw(FILE *f, bool *first, const char *k, int64_t raw)
{
	char buf[SB_MONEY_BUF + 8];
	raw_text(raw, buf);
	j_kstr(f, first, k, buf);
}

static void j_kint(FILE *f, bool *first, const char *k, int64_t v)
{
	j_key(f, first, k);
	fprintf(f, "%" PRId64, v);
}

static void j_kbool(FILE *f, bool *first, const char *k, bool v)
{
	j_key(f, first, k);
	fputs(v ? "true" : "false", f);
}

static void j_knull(FILE *f, bool *first, const char *k)
{
	j_key(f, first, k);
	fputs("null", f);
}

static void j_krate(FILE *f, bool *first, int64_t bp)
{
	char buf[32];
	j_kint(f, first, "rate_bp", bp);
	sb_bp_format(bp, buf);
	j_kstr(f, first, "rate", buf);
}

static void json_calc_v2(FILE *f, bool *first, const sb_trace_calc *c)
{
	bool vf = true;
	j_key(f, first, "v2");
	fputc('{', f);
	if (c->deduct_year) {
		j_kfen(f, &vf, "deductible_standard", c->deduct_standard);
		j_kfen(f, &vf, "deductible_charged_before", c->deduct_charged);
		j_kfen(f, &vf, "deductible_absorbed", c->deducted);
	}
	if (c->lump) {
		j_kfen(f, &vf, "lump", c->lump_amount);
		j_kfen(f, &vf, "lump_above", c->lump_above);
		j_kbool(f, &vf, "lump_triggered", c->lump_triggered);
		j_kbool(f, &vf, "lump_paid_before", c->lump_paid_before);
	}
	if (c->has_floor) {
		j_kfen(f, &vf, "floor", c->floor);
		j_kbool(f, &vf, "floor_raised", c->floor_raised);
	}
	if (c->has_cap_month) {
		j_kfen(f, &vf, "cap_month", c->cap_month);
		j_kfen(f, &vf, "month_paid", c->month_paid);
		j_kfen(f, &vf, "month_room", c->month_room);
		j_kbool(f, &vf, "cap_month_limited", c->cap_month_limited);
	}
	if (c->has_cap_claim) {
		j_kfen(f, &vf, "cap_claim", c->cap_claim);
		j_kbool(f, &vf, "cap_claim_limited", c->cap_claim_limited);
	}
	if (c->has_cap_point) {
		if (c->cap_point >= 0)
			j_kfen(f, &vf, "cap_point", c->cap_point);
		else
			j_knull(f, &vf, "cap_point");
		j_kfen(f, &vf, "above_cap", c->above_cap);
	}
	fputc('}', f);
}

static void json_calc(FILE *f, const sb_trace_calc *c, bool v2)
{
	bool first = true;
	fputc('{', f);
	j_kfen(f, &first, "deductible", c->deductible);
	j_kstr(f, &first, "deductible_applied", c->repeat ? "repeat" : "deductible");
	j_kint(f, &first, "claim_in_year", c->claim_no);
	j_kfen(f, &first, "c0", c->c0);
	j_kfen(f, &first, "c1", c->c1);
	j_kstr(f, &first, "scope", c->scope);
	j_kstr(f, &first, "mode", c->mode);
	j_key(f, &first, "bands");
	fputc('[', f);
	for (uint16_t i = 0; i < c->nbands; i++) {
		const sb_trace_band *b = &c->band[i];
		bool bf = true;
		fputs(i ? ", {" : "{", f);
		j_kfen(f, &bf, "from", b->from);
		j_kfen(f, &bf, "threshold", b->threshold);
		j_kfen(f, &bf, "lo", b->lo);
		j_kfen(f, &bf, "hi", b->hi);
		j_kfen(f, &bf, "amount", b->hi - b->lo);
		j_krate(f, &bf, b->rate);
		j_kraw(f, &bf, "part", b->part);
		fputc('}', f);
	}
	fputc(']', f);
	j_kraw(f, &first, "banded", c->banded);
	if (c->capped) {
		bool cf = true;
		j_key(f, &first, "cap");
		fputc('{', f);
		j_kfen(f, &cf, "amount", c->cap);
		j_kfen(f, &cf, "pool_paid", c->pool_paid);
		j_kfen(f, &cf, "room", c->room);
		j_kbool(f, &cf, "limited", c->cap_limited);
		fputc('}', f);
	} else {
		j_knull(f, &first, "cap");
	}
	j_kraw(f, &first, "raw", c->raw);
	j_kfen(f, &first, "rounded", c->rounded);
	j_kbool(f, &first, "limited_to_base", c->base_limited);
	j_kfen(f, &first, "pays", c->pay);
	if (v2)
		json_calc_v2(f, &first, c);
	fputc('}', f);
}

void sb_explain_json_layer(FILE *f, const sb_policyset *set, const sb_trace *t, unsigned i)
{
	(void)set;
	if (i >= t->nlayers) {
		fputs("null", f);
		return;
	}
	const sb_trace_layer *l = &t->layer[i];
	bool first = true;
	fputc('{', f);
	j_kstr(f, &first, "layer", l->id);
	j_kstr(f, &first, "name", l->name);
	j_kstr(f, &first, "fund_code", l->fund_code);
	j_kbool(f, &first, "when_held", l->when_held);
	j_kbool(f, &first, "applied", l->has_base && l->paid);
	j_key(f, &first, "adjust");
	fputc('[', f);
	for (uint16_t j = 0; j < l->nadjust; j++) {
		bool af = true;
		fputs(j ? ", {" : "{", f);
		j_kint(f, &af, "index", l->adjust[j].index);
		j_kbool(f, &af, "penalty", l->adjust[j].penalty);
		j_kint(f, &af, "line", l->adjust[j].line);
		fputc('}', f);
	}
	fputc(']', f);
	if (l->skipped)
		j_kstr(f, &first, "skipped", l->skipped == SB_TRACE_SKIP_PENALTY ? "penalty" : "adjust");
	else
		j_knull(f, &first, "skipped");
	if (l->has_base) {
		j_kfen(f, &first, "base", l->base);
		j_kstr(f, &first, "base_kind",
		       l->base_with_pre_selfpay ? "in_scope_and_pre_selfpay" : "in_scope");
		j_kbool(f, &first, "less_penalties", l->less_penalties);
	} else {
		j_knull(f, &first, "base");
	}
	if (l->given)
		j_kfen(f, &first, "given", l->given_amount);
	else
		j_knull(f, &first, "given");
	j_key(f, &first, l->skipped == SB_TRACE_SKIP_PENALTY ? "without_penalty_entries" : "calc");
	if (l->computed)
		json_calc(f, &l->calc, l->v2);
	else
		fputs("null", f);
	if (l->has_penalty || (l->skipped == SB_TRACE_SKIP_PENALTY && l->computed)) {
		/* A skip by a penalty entry takes all it would have paid. */
		bool pf = true, skip = !l->has_penalty;
		j_key(f, &first, "penalty");
		fputc('{', f);
		j_kfen(f, &pf, "without_penalty_entries", skip ? l->calc.pay : l->without_penalty);
		j_kfen(f, &pf, "pays", skip ? 0 : l->calc.pay);
		j_kfen(f, &pf, "penalty", skip ? l->calc.pay : l->penalty);
		fputc('}', f);
	} else {
		j_knull(f, &first, "penalty");
	}
	if (l->paid) {
		j_kfen(f, &first, "pays", l->pay);
		j_kfen(f, &first, "in_scope_left", l->in_scope_left);
		if (l->computed && l->calc.capped)
			j_kfen(f, &first, "cap_room_after", l->calc.room - l->pay);
		else
			j_knull(f, &first, "cap_room_after");
	} else {
		j_knull(f, &first, "pays");
	}
	j_kbool(f, &first, "refused", l->refused);
	if (l->in_waiting)
		j_kbool(f, &first, "in_waiting", true);
	if (l->v2) {
		/* Format 2: what the base is made of, pay first, after. */
		bool vf = true;
		j_key(f, &first, "v2");
		fputc('{', f);
		if (l->above >= 0 && l->above < t->nlayers) {
			j_kstr(f, &vf, "base_above_cap_of", t->layer[l->above].id);
		} else {
			j_key(f, &vf, "base_parts");
			fputc('[', f);
			int n = 0;
			for (int k = 0; k < 4; k++) {
				if (!l->part_bp[k])
					continue;
				bool bf = true;
				fputs(n++ ? ", {" : "{", f);
				j_kstr(f, &bf, "part", part_words[k]);
				j_krate(f, &bf, l->part_bp[k]);
				j_kfen(f, &bf, "left", l->part_left[k]);
				fputc('}', f);
			}
			fputc(']', f);
		}
		j_kfen(f, &vf, "base_before_pay_first", l->base_before);
		if (l->cap_raise || l->rate_raise) {
			j_kfen(f, &vf, "continuity_cap_raise", l->cap_raise);
			j_kint(f, &vf, "continuity_rate_raise_bp", l->rate_raise);
		}
		if (l->nclasses) {
			j_key(f, &vf, "classes");
			fputc('[', f);
			for (uint8_t k = 0; k < l->nclasses; k++) {
				const sb_trace_class *cl = &l->cls[k];
				bool cf = true;
				fputs(k ? ", {" : "{", f);
				j_kstr(f, &cf, "class", sb_policyset_symbol_name(set, SB_SYM_CLASS, cl->sym));
				j_kfen(f, &cf, "amount", cl->amount);
				j_kfen(f, &cf, "pay_first", cl->pay_first);
				if (cl->rate >= 0) {
					j_krate(f, &cf, cl->rate);
					j_kraw(f, &cf, "flat", cl->part);
				}
				fputc('}', f);
			}
			fputc(']', f);
		}
		if (l->has_pay_first) {
			j_key(f, &vf, "pay_first");
			fputc('{', f);
			bool pf = true;
			if (l->pay_first_bp >= 0)
				j_krate(f, &pf, l->pay_first_bp);
			j_kfen(f, &pf, "amount", l->pay_first);
			fputc('}', f);
		} else {
			j_knull(f, &vf, "pay_first");
		}
		if (l->after >= 0 && l->after < t->nlayers) {
			j_kstr(f, &vf, "after_capped", t->layer[l->after].id);
			j_kbool(f, &vf, "after_blocked", l->after_blocked);
		}
		fputc('}', f);
	}
	fputc('}', f);
}

void sb_explain_json(FILE *f, const sb_policyset *set, const sb_trace *t)
{
	bool first = true;
	char date[11];
	fputc('{', f);
	j_kstr(f, &first, "claim", t->claim_id);
	if (t->has_head) {
		j_kstr(f, &first, "person", t->person);
		sb_date_format(t->date, date);
		j_kstr(f, &first, "date", date);
		j_kstr(f, &first, "visit", t->visit);
		j_kstr(f, &first, "level", t->level);
		j_kstr(f, &first, "place", t->place);
		j_kstr(f, &first, "filing", t->filing);
		bool pf = true;
		j_key(f, &first, "policy");
		fputc('{', f);
		j_kstr(f, &pf, "region", t->region);
		j_kstr(f, &pf, "name", t->policy_name);
		j_kstr(f, &pf, "path", t->policy_path);
		sb_date_format(t->version_from, date);
		j_kstr(f, &pf, "version_from", date);
		j_kint(f, &pf, "version_index", t->version_index);
		j_kstr(f, &pf, "source", t->source);
		fputc('}', f);
		j_kint(f, &first, "policy_year", t->year);
		j_kstr(f, &first, "scheme", t->scheme);
		j_kstr(f, &first, "identity", identity_name(set, t->identity));
		if (t->age >= 0)
			j_kint(f, &first, "age", t->age);
		else
			j_knull(f, &first, "age");
		j_kfen(f, &first, "total", t->total);
		j_kfen(f, &first, "in_scope", t->in_scope);
		j_kfen(f, &first, "pre_selfpay", t->pre_selfpay);
		j_kfen(f, &first, "over_limit", t->over_limit);
		j_kfen(f, &first, "out_of_scope", t->out_of_scope);
		if (t->waiting_until) {
			sb_date_format(t->waiting_until, date);
			j_kstr(f, &first, "waiting_until", date);
		}
	}
	j_key(f, &first, "layers");
	fputc('[', f);
	for (uint16_t i = 0; i < t->nlayers; i++) {
		if (i)
			fputs(", ", f);
		sb_explain_json_layer(f, set, t, i);
	}
	fputc(']', f);
	if (t->settled) {
		j_kfen(f, &first, "fund", t->fund);
		j_kfen(f, &first, "oop", t->oop);
		j_kfen(f, &first, "oop_in_scope", t->oop_in_scope);
	} else {
		j_knull(f, &first, "fund");
		j_knull(f, &first, "oop");
		j_knull(f, &first, "oop_in_scope");
	}
	if (t->refused)
		j_kstr(f, &first, "refused", t->reason);
	else
		j_knull(f, &first, "refused");
	fputs("}\n", f);
}
