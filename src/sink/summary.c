/* summary.c: the summary sink (see summary.h). Each thread sums its own
 * claims; the sums are merged after the threads. */
#include "sink/summary.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "io/outfile.h"
#include "sanbao/csv.h"

typedef struct summary {
	int n;        /* scenarios */
	sb_sums *sum; /* merged, one per scenario */
	const sb_policyset *const *sets;
	const char *const *dirs;
	const char *out_dir;
	sb_outdir *out; /* the run's output folder (borrowed) */
} summary;

void sb_sums_release(sb_sums *s)
{
	if (s->regions)
		for (size_t i = 0; i < s->nregions; i++)
			sb_free(s->regions[i].layer);
	sb_free(s->regions);
	sb_free(s->all.layer);
	memset(s, 0, sizeof *s);
}

static void release_all(sb_sums *v, int n)
{
	for (int i = 0; v && i < n; i++)
		sb_sums_release(&v[i]);
	sb_free(v);
}

/* Bounded by the loaded policies: one region sum per policy and one layer
 * sum per layer symbol. */
static sb_status sums_new(const summary *s, sb_sums **out)
{
	sb_sums *v = sb_calloc((size_t)s->n, sizeof *v);
	if (!v)
		return SB_ENOMEM;
	for (int k = 0; k < s->n; k++) {
		const sb_sums *tmpl = &s->sum[k];
		sb_sums *x = &v[k];
		x->identities_ok = true;
		x->nlayers = tmpl->nlayers;
		x->nregions = tmpl->nregions;
		size_t nl = (size_t)x->nlayers + 1;
		x->regions = sb_calloc(x->nregions + 1, sizeof *x->regions);
		x->all.layer = sb_calloc(nl, sizeof *x->all.layer);
		if (!x->regions || !x->all.layer) {
			release_all(v, s->n);
			return SB_ENOMEM;
		}
		for (size_t i = 0; i < x->nregions; i++)
			if (!(x->regions[i].layer = sb_calloc(nl, sizeof *x->regions[i].layer))) {
				release_all(v, s->n);
				return SB_ENOMEM;
			}
	}
	*out = v;
	return SB_OK;
}

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	summary *s = self;
	s->n = env->nscenarios;
	s->sets = env->sets;
	s->dirs = env->dirs;
	s->out_dir = env->cfg->out_dir;
	s->out = env->out;
	sb_sums *t = sb_calloc((size_t)s->n, sizeof *t);
	if (!t)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int k = 0; k < s->n; k++) {
		t[k].nlayers = sb_policyset_symbol_count(env->sets[k], SB_SYM_LAYER);
		t[k].nregions = sb_policyset_count(env->sets[k]);
	}
	s->sum = t; /* the template sums_new copies the sizes from */
	sb_sums *v;
	sb_status st = sums_new(s, &v);
	sb_free(t);
	s->sum = st ? NULL : v;
	return st ? sb_diag_set(d, st, NULL, 0, 0, "out of memory") : SB_OK;
}

static sb_status thread_new(void *self, void **thr, sb_diag *d)
{
	sb_sums *v;
	if (sums_new(self, &v))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	*thr = v;
	return SB_OK;
}

static void thread_free(void *self, void *thr)
{
	release_all(thr, ((summary *)self)->n);
}

/* One settled claim into a sum (the totals, or its region's). */
static bool add_claim(sb_region_sum *g, const sb_claim *c, const sb_result *res)
{
	bool ok = sb_fen_add(&g->total, c->total) && sb_fen_add(&g->in_scope, c->in_scope) &&
		  sb_fen_add(&g->fund, res->fund) && sb_fen_add(&g->oop, res->oop) &&
		  sb_fen_add(&g->oop_in_scope, res->oop_in_scope);
	g->claims++;
	for (uint8_t i = 0; i < res->nlayers; i++) {
		const sb_layer_result *lr = &res->layer[i];
		/* Most layers of a claim pay nothing and charge no penalty:
		 * adding two zeros changes no sum and cannot overflow. */
		if (!lr->pay && !lr->penalty)
			continue;
		g->layer[lr->sym].claims += lr->pay != 0;
		ok = ok && sb_fen_add(&g->layer[lr->sym].paid, lr->pay) &&
		     sb_fen_add(&g->layer[lr->sym].penalty, lr->penalty);
	}
	return ok;
}

static sb_status claim(void *self, void *thr, const sb_settled *s, sb_diag *d)
{
	(void)self;
	(void)d;
	sb_sums *x = &((sb_sums *)thr)[s->scenario];
	const sb_result *res = s->res;
	if (!add_claim(&x->all, s->claim, res) ||
	    !add_claim(&x->regions[s->policy_index], s->claim, res))
		x->overflow = true;
	/* What summary.json reports as the reconciliation of each claim: every
	 * layer within its base, and the layers adding up to fund (summed
	 * here, not taken from the settlement's running sum). The full set of
	 * invariants (sb_settle_verify: cap room, in-scope use, accumulators)
	 * runs in the case runner, the fuzz target and test_batch, where its
	 * cost (about 5% of a batch) is not paid on every production run. */
	sb_fen sum = 0;
	for (uint8_t i = 0; i < res->nlayers; i++) {
		if (!sb_fen_add(&sum, res->layer[i].pay))
			x->overflow = true;
		if (res->layer[i].pay < 0 || res->layer[i].pay > res->layer[i].base)
			x->identities_ok = false;
	}
	if (sum != res->fund)
		x->identities_ok = false;
	return SB_OK;
}

static sb_status reject(void *self, void *thr, const sb_rejected *r, sb_diag *d)
{
	(void)d;
	summary *s = self;
	sb_sums *v = thr;
	for (int k = 0; k < s->n; k++) {
		if (r->scenario >= 0 && r->scenario != k)
			continue;
		v[k].rejected++;
		if (!sb_fen_add(&v[k].rejected_total, r->total))
			v[k].overflow = true;
	}
	return SB_OK;
}

static bool merge_sum(sb_region_sum *a, const sb_region_sum *x, int nlayers)
{
	a->claims += x->claims;
	bool ok = sb_fen_add(&a->total, x->total) && sb_fen_add(&a->in_scope, x->in_scope) &&
		  sb_fen_add(&a->fund, x->fund) && sb_fen_add(&a->oop, x->oop) &&
		  sb_fen_add(&a->oop_in_scope, x->oop_in_scope);
	for (int l = 0; l < nlayers; l++) {
		a->layer[l].claims += x->layer[l].claims;
		ok = ok && sb_fen_add(&a->layer[l].paid, x->layer[l].paid) &&
		     sb_fen_add(&a->layer[l].penalty, x->layer[l].penalty);
	}
	return ok;
}

static sb_status merge(void *self, void *thr, sb_diag *d)
{
	(void)d;
	summary *s = self;
	const sb_sums *v = thr;
	for (int k = 0; k < s->n; k++) {
		sb_sums *a = &s->sum[k];
		const sb_sums *x = &v[k];
		a->rejected += x->rejected;
		a->identities_ok &= x->identities_ok;
		if (x->overflow || !sb_fen_add(&a->rejected_total, x->rejected_total) ||
		    !merge_sum(&a->all, &x->all, a->nlayers))
			a->overflow = true;
		for (size_t g = 0; g < a->nregions; g++)
			if (!merge_sum(&a->regions[g], &x->regions[g], a->nlayers))
				a->overflow = true;
	}
	return SB_OK;
}

static void json_money(FILE *f, const char *name, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	fprintf(f, "\"%s\": %s", name, buf);
}

static void json_sum(FILE *f, const sb_region_sum *g)
{
	fprintf(f, "\"claims\": %lld, ", g->claims);
	json_money(f, "total", g->total);
	fputs(", ", f);
	json_money(f, "in_scope", g->in_scope);
	fputs(", ", f);
	json_money(f, "fund", g->fund);
	fputs(", ", f);
	json_money(f, "oop", g->oop);
	fputs(", ", f);
	json_money(f, "oop_in_scope", g->oop_in_scope);
}

/* Scenario k > 0's sums: out_dir/scenario-<k>-summary.json (scenario 0's
 * are the batch's summary.json). */
static sb_status write_scenario(const summary *s, int k, sb_diag *d)
{
	char name[64];
	snprintf(name, sizeof name, "scenario-%d-summary.json", k);
	FILE *f = sb_outdir_create(s->out, name, d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	const sb_sums *x = &s->sum[k];
	const sb_policyset *set = s->sets[k];
	fprintf(f, "{\n  \"scenario\": %d, \"policies\": ", k);
	sb_json_str(f, s->dirs[k]);
	fprintf(f, ",\n  \"rejected_while_settling\": %lld, ", x->rejected);
	json_money(f, "rejected_total", x->rejected_total);
	fputs(",\n  \"money\": {", f);
	json_sum(f, &x->all);
	fputs(",\n    \"layers\": {", f);
	const int *order;
	size_t nl = sb_policyset_layer_order(set, &order);
	for (size_t i = 0; i < nl; i++) {
		const sb_layer_sum *l = &x->all.layer[order[i]];
		fprintf(f, "%s\n      ", i ? "," : "");
		sb_json_str(f, sb_policyset_symbol_name(set, SB_SYM_LAYER, order[i]));
		fprintf(f, ": {\"claims_paid\": %lld, ", l->claims);
		json_money(f, "paid", l->paid);
		fputs(", ", f);
		json_money(f, "penalty", l->penalty);
		fputs("}", f);
	}
	fputs("\n    }},\n  \"regions\": [", f);
	for (size_t g = 0; g < x->nregions; g++) {
		fprintf(f, "%s\n    {\"region\": \"%s\", ", g ? "," : "",
			sb_policy_region(sb_policyset_at(set, g)));
		json_sum(f, &x->regions[g]);
		fputs("}", f);
	}
	fputs("\n  ]\n}\n", f);
	return sb_outdir_finish(s->out, f, d);
}

static sb_status end(void *self, sb_diag *d)
{
	summary *s = self;
	for (int k = 0; k < s->n; k++)
		if (s->sum[k].overflow)
			return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
					   "the money of the claims adds up to more than a 64-bit sum of "
					   "fen holds (92,233,720,368,547,758.07 yuan)%s: nothing is "
					   "reported; check the claims' amounts", k ? " in a scenario" : "");
	sb_status st = SB_OK;
	for (int k = 1; k < s->n && !st; k++)
		st = write_scenario(s, k, d);
	return st;
}

static void release(void *self)
{
	summary *s = self;
	release_all(s->sum, s->n);
	sb_free(s);
}

static const sb_sink_ops ops = {
	.name = "summary",
	.begin = begin,
	.thread_new = thread_new,
	.claim = claim,
	.reject = reject,
	.merge = merge,
	.thread_free = thread_free,
	.end = end,
	.release = release,
};

sb_status sb_summary_sink_new(sb_sink *out)
{
	summary *s = sb_calloc(1, sizeof *s);
	if (!s)
		return SB_ENOMEM;
	out->ops = &ops;
	out->self = s;
	return SB_OK;
}

sb_sums *sb_summary_sink_sums(const sb_sink *s, int scenario)
{
	return &((summary *)s->self)->sum[scenario];
}
