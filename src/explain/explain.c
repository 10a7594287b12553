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

static void text_calc(FILE *f, const sb_trace_calc *c, sb_fen base)
{
	fprintf(f, "    deductible D = ");
	put_fen(f, c->deductible);
	fprintf(f, c->repeat ? " (repeat: claim %u this policy year)\n" :
			       " (claim %u this policy year)\n", c->claim_no);
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

static void text_layer(FILE *f, const sb_trace_layer *l)
{
	fprintf(f, "  layer %s %s%s%s%s\n", l->id, l->name, *l->fund_code ? " [" : "",
		l->fund_code, *l->fund_code ? "]" : "");
	if (!l->when_held) {
		if (!l->refused)
			fprintf(f, "    conditions (when) do not hold: not applied\n");
		return;
	}
	if (!l->resolved)
		return;
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
			text_calc(f, &l->calc, l->base);
		} else if (l->skipped == SB_TRACE_SKIP_ADJUST) {
			fprintf(f, "    skipped by an adjust entry: not applied\n");
		}
		return;
	}
	fprintf(f, "    base B = ");
	put_fen(f, l->base);
	fprintf(f, " (%s%s)\n", l->base_with_pre_selfpay ? "in-scope and pre-selfpay left" :
							   "in-scope left",
		l->less_penalties ? ", less earlier layers' penalties" : "");
	if (l->given) {
		if (l->refused)
			return;
		fprintf(f, "    paid elsewhere (given on the claim)\n");
	} else if (l->computed) {
		text_calc(f, &l->calc, l->base);
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
			text_layer(f, &t->layer[i]);
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

static void json_calc(FILE *f, const sb_trace_calc *c)
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
		json_calc(f, &l->calc);
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
