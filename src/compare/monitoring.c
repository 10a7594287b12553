/* monitoring.c: compare.json's "monitoring" of each scenario and of each
 * reform's difference from the baseline, from the monitor sink's counts
 * (monitor/monitor_sink.h). A scenario's counts are in the terms of its
 * own policy set (its rule, identity and region names, as `settle
 * --monitor` with its policies writes them in monitor.json); a difference
 * is reform - baseline over the names of both sets, a name one set lacks
 * counting 0 there. */
#include <string.h>

#include "base/arena.h"
#include "compare/compare_int.h"
#include "monitor/monitor_sink.h"

/* Names of one dimension (rules, regions or identities), the union over
 * the tables; at most as many as their symbols or policies. */
typedef struct names {
	const char **v;
	size_t n;
} names;

static void names_add(names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], name))
			return;
	ns->v[ns->n++] = name;
}

enum { DIM_RULE, DIM_REGION, DIM_IDENTITY };

static size_t dim_size(const sb_monitor_table *t, int dim)
{
	return dim == DIM_RULE ? t->nrules : dim == DIM_REGION ? t->npolicies : t->nidentities;
}

/* The name of index i of a dimension (identity 0: "none"). */
static const char *dim_name(const sb_monitor_table *t, int dim, size_t i)
{
	if (dim == DIM_RULE)
		return sb_policyset_symbol_name(t->set, SB_SYM_RULE, (int)i);
	if (dim == DIM_REGION)
		return sb_policy_region(sb_policyset_at(t->set, i));
	return i ? sb_policyset_symbol_name(t->set, SB_SYM_IDENTITY, (int)i - 1) : "none";
}

/* The index of a name in the table's dimension, or -1. */
static long index_of(const sb_monitor_table *t, int dim, const char *name)
{
	for (size_t i = 0; i < dim_size(t, dim); i++)
		if (!strcmp(dim_name(t, dim, i), name))
			return (long)i;
	return -1;
}

static sb_status names_of(const sb_monitor_table *const *tabs, int ntabs, int dim, names *ns)
{
	size_t cap = 1;
	for (int k = 0; k < ntabs; k++)
		cap += dim_size(tabs[k], dim);
	if (!(ns->v = sb_calloc(cap, sizeof *ns->v)))
		return SB_ENOMEM;
	ns->n = 0;
	for (int k = 0; k < ntabs; k++)
		for (size_t i = 0; i < dim_size(tabs[k], dim); i++)
			names_add(ns, dim_name(tabs[k], dim, i));
	return SB_OK;
}

/* Warnings (out[0]) and approaching (out[1]) of a rule, in one region or
 * all (NULL), of one identity or all (NULL): 0 when the table lacks a
 * name. */
static void count(const sb_monitor_table *t, const char *rule, const char *region,
		  const char *identity, long long out[2])
{
	out[0] = out[1] = 0;
	long r = index_of(t, DIM_RULE, rule);
	long g = region ? index_of(t, DIM_REGION, region) : 0;
	long id = identity ? index_of(t, DIM_IDENTITY, identity) : 0;
	if (r < 0 || g < 0 || id < 0)
		return;
	size_t g_lo = region ? (size_t)g : 0, g_hi = region ? (size_t)g + 1 : t->npolicies;
	size_t i_lo = identity ? (size_t)id : 0, i_hi = identity ? (size_t)id + 1 : t->nidentities;
	for (size_t p = g_lo; p < g_hi; p++)
		for (size_t i = i_lo; i < i_hi; i++) {
			const long long *c = t->cell + ((p * t->nidentities + i) * t->nrules +
							(size_t)r) * 2;
			out[0] += c[0];
			out[1] += c[1];
		}
}

/* {"rule": {"warnings": w, "approaching": a}, ...} of tk, minus t0's. */
static void rules_json(FILE *f, const names *rules, const sb_monitor_table *tk,
		       const sb_monitor_table *t0, const char *region, const char *identity)
{
	fputs("{", f);
	for (size_t r = 0; r < rules->n; r++) {
		long long a[2], b[2] = {0, 0};
		count(tk, rules->v[r], region, identity, a);
		if (t0)
			count(t0, rules->v[r], region, identity, b);
		fprintf(f, "%s", r ? ", " : "");
		sb_compare_jstr(f, rules->v[r]);
		fprintf(f, ": {\"warnings\": %lld, \"approaching\": %lld}", a[0] - b[0], a[1] - b[1]);
	}
	fputs("}", f);
}

sb_status sb_compare_monitoring_json(FILE *f, const sb_sink *monitor, int k, bool diff)
{
	sb_monitor_table tk, t0;
	if (!monitor || !sb_monitor_sink_table(monitor, k, &tk) ||
	    !sb_monitor_sink_table(monitor, 0, &t0)) {
		fputs("null", f);
		return SB_OK;
	}
	const sb_monitor_table *tabs[2] = {diff ? &t0 : &tk, &tk};
	int ntabs = diff ? 2 : 1;
	const sb_monitor_table *base = diff ? &t0 : NULL;
	names dims[3] = {{0}};
	sb_status st = SB_OK;
	for (int dim = 0; dim < 3 && !st; dim++)
		st = names_of(tabs, ntabs, dim, &dims[dim]);
	if (!st) {
		sb_monitor_counts a = tk.total, b = base ? base->total : (sb_monitor_counts){0};
		fprintf(f, "{\"warnings\": %lld, \"approaching\": %lld, "
			   "\"claims_whose_threshold_could_not_be_resolved\": %lld,\n"
			   "       \"by_rule\": ",
			a.warnings - b.warnings, a.approaching - b.approaching,
			a.unresolved - b.unresolved);
		rules_json(f, &dims[DIM_RULE], &tk, base, NULL, NULL);
		fputs(",\n       \"by_region\": [", f);
		for (size_t g = 0; g < dims[DIM_REGION].n; g++) {
			fprintf(f, "%s\n        {\"region\": ", g ? "," : "");
			sb_compare_jstr(f, dims[DIM_REGION].v[g]);
			fputs(", \"rules\": ", f);
			rules_json(f, &dims[DIM_RULE], &tk, base, dims[DIM_REGION].v[g], NULL);
			fputs("}", f);
		}
		fputs("],\n       \"by_identity\": [", f);
		for (size_t i = 0; i < dims[DIM_IDENTITY].n; i++) {
			fprintf(f, "%s\n        {\"identity\": ", i ? "," : "");
			sb_compare_jstr(f, dims[DIM_IDENTITY].v[i]);
			fputs(", \"rules\": ", f);
			rules_json(f, &dims[DIM_RULE], &tk, base, NULL, dims[DIM_IDENTITY].v[i]);
			fputs("}", f);
		}
		fputs("]}", f);
	}
	for (int dim = 0; dim < 3; dim++)
		sb_free(dims[dim].v);
	return st;
}
