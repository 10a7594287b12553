/* scenario.c: a projection scenario file (YAML, strict keys, every error at
 * file:line:column with what is allowed), read through the policy
 * loader's libyaml layer (policy/ydoc.h). The format is documented in
 * scenarios/projection/README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "policy/ydoc.h"
#include "project/project_int.h"

/* A number: a decimal ("6.39", "-0.5") or a percent ("12%", "8.5%"),
 * within [lo, hi]. */
static sb_status num(sb_ynode n, const char *what, double lo, double hi, double *out, sb_diag *d)
{
	size_t len = 0;
	const char *p = n.n ? sb_ynode_text(n, &len) : NULL;
	char buf[64];
	if (!p || !len || len >= sizeof buf)
		return sb_ynode_error(
			d, SB_EPOLICY, n,
			"%s must be a number: a decimal (0.085) or a percent (\"8.5%%\")", what);
	memcpy(buf, p, len);
	buf[len] = '\0';
	bool pct = buf[len - 1] == '%';
	if (pct)
		buf[--len] = '\0';
	size_t i = 0, digits = 0;
	if (buf[i] == '-')
		i++;
	while (buf[i] >= '0' && buf[i] <= '9')
		i++, digits++;
	if (buf[i] == '.') {
		i++;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++, digits++;
	}
	if (!digits || i != len)
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "%s \"%.*s\" is not a number: write a decimal (0.085) or a "
				      "percent (\"8.5%%\")",
				      what, (int)(pct ? len + 1 : len), p);
	double v = strtod(buf, NULL);
	if (pct)
		v /= 100.0;
	if (!(v >= lo && v <= hi))
		return sb_ynode_error(d, SB_EPOLICY, n, "%s %.*s is out of range: from %g to %g",
				      what, (int)(pct ? len + 1 : len), p, lo, hi);
	*out = v;
	return SB_OK;
}

static sb_status integer(sb_ynode n, const char *what, int lo, int hi, int *out, sb_diag *d)
{
	double v;
	sb_status st = num(n, what, lo, hi, &v, d);
	if (st)
		return st;
	if (v != floor(v))
		return sb_ynode_error(d, SB_EPOLICY, n, "%s must be a whole number", what);
	*out = (int)v;
	return SB_OK;
}

static sb_status text(sb_ynode n, const char *what, char *out, size_t cap, sb_diag *d)
{
	size_t len = 0;
	const char *p = n.n ? sb_ynode_text(n, &len) : NULL;
	if (!p)
		return sb_ynode_error(d, SB_EPOLICY, n, "%s must be text", what);
	if (len >= cap)
		return sb_ynode_error(d, SB_EPOLICY, n, "%s is longer than %zu bytes", what,
				      cap - 1);
	memcpy(out, p, len);
	out[len] = '\0';
	return SB_OK;
}

/* "1965-01": a birth month as year*12 + month-1. */
static sb_status month(sb_ynode n, const char *what, int *out, sb_diag *d)
{
	size_t len = 0;
	const char *p = n.n ? sb_ynode_text(n, &len) : NULL;
	int y, m;
	char tail;
	char buf[16];
	if (p && len < sizeof buf) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (len == 7 && sscanf(buf, "%4d-%2d%c", &y, &m, &tail) == 2 && m >= 1 && m <= 12 &&
		    y >= 1900 && y <= 2100) {
			*out = y * 12 + m - 1;
			return SB_OK;
		}
	}
	return sb_ynode_error(d, SB_EPOLICY, n, "%s must be a month written YYYY-MM (1965-01)",
			      what);
}

static const char *const scheme_names[PJ_SCHEMES] = { "employee", "resident" };

static sb_status by_scheme(sb_ynode n, const char *what, double lo, double hi, double *out,
			   sb_diag *d)
{
	static const char *const keys[] = { "employee", "resident", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "%s must be a mapping with employee and resident", what);
	sb_status st = sb_ynode_check_keys(n, what, keys, d);
	for (int k = 0; !st && k < PJ_SCHEMES; k++) {
		sb_ynode v = sb_ynode_get(n, scheme_names[k]);
		char w[96];
		snprintf(w, sizeof w, "%s.%s", what, scheme_names[k]);
		if (!v.n)
			return sb_ynode_error(d, SB_EPOLICY, n, "%s needs %s", what,
					      scheme_names[k]);
		st = num(v, w, lo, hi, &out[k], d);
	}
	return st;
}

static const pj_retire npc2024 = {
	.men = { 60, 1965 * 12, 4, 36 },
	.women_cadre = { 55, 1970 * 12, 4, 36 },
	.women_worker = { 50, 1975 * 12, 2, 60 },
	.women_cadre_share = 0.5,
};

static sb_status retire_group(sb_ynode n, const char *what, pj_retire_group *g, sb_diag *d)
{
	static const char *const keys[] = { "age", "from", "one_month_per", "max_months", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "%s must be a mapping: {age, from, one_month_per, max_months}",
				      what);
	sb_status st = sb_ynode_check_keys(n, what, keys, d);
	sb_ynode v;
	if (!st && (v = sb_ynode_get(n, "age")).n)
		st = integer(v, "retirement age", 40, 75, &g->age, d);
	if (!st && (v = sb_ynode_get(n, "from")).n)
		st = month(v, "from", &g->from, d);
	if (!st && (v = sb_ynode_get(n, "one_month_per")).n)
		st = integer(v, "one_month_per", 0, 24, &g->per, d);
	if (!st && (v = sb_ynode_get(n, "max_months")).n)
		st = integer(v, "max_months", 0, 180, &g->max, d);
	return st;
}

static sb_status retirement(sb_ynode n, pj_retire *r, sb_diag *d)
{
	static const char *const keys[] = { "rule",        "women_cadre_share", "men",
					    "women_cadre", "women_worker",      NULL };
	*r = npc2024;
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n, "retirement must be a mapping");
	sb_status st = sb_ynode_check_keys(n, "retirement", keys, d);
	sb_ynode v;
	if (!st && (v = sb_ynode_get(n, "rule")).n) {
		if (sb_ynode_eq(v, "npc2024")) {
			/* the default */
		} else if (sb_ynode_eq(v, "pre2025")) {
			r->men.per = r->women_cadre.per = r->women_worker.per = 0;
		} else {
			return sb_ynode_error(
				d, SB_EPOLICY, v,
				"retirement rule must be npc2024 (the 2025 gradual raise) "
				"or pre2025 (60, 55, 50 throughout)");
		}
	}
	if (!st && (v = sb_ynode_get(n, "women_cadre_share")).n)
		st = num(v, "women_cadre_share", 0, 1, &r->women_cadre_share, d);
	if (!st && (v = sb_ynode_get(n, "men")).n)
		st = retire_group(v, "retirement.men", &r->men, d);
	if (!st && (v = sb_ynode_get(n, "women_cadre")).n)
		st = retire_group(v, "retirement.women_cadre", &r->women_cadre, d);
	if (!st && (v = sb_ynode_get(n, "women_worker")).n)
		st = retire_group(v, "retirement.women_worker", &r->women_worker, d);
	return st;
}

static sb_status entrants(sb_ynode n, pj_scenario *s, sb_diag *d)
{
	static const char *const keys[] = { "employee", "resident", "male_share", NULL };
	static const char *const sub[] = { "per_1000", "age", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n, "entrants must be a mapping");
	sb_status st = sb_ynode_check_keys(n, "entrants", keys, d);
	sb_ynode v;
	for (int k = 0; !st && k < PJ_SCHEMES; k++) {
		if (!(v = sb_ynode_get(n, scheme_names[k])).n)
			continue;
		if (!sb_ynode_is_map(v))
			return sb_ynode_error(d, SB_EPOLICY, v,
					      "entrants.%s must be a mapping: {per_1000, age}",
					      scheme_names[k]);
		if ((st = sb_ynode_check_keys(v, "entrants", sub, d)))
			break;
		sb_ynode x;
		if ((x = sb_ynode_get(v, "per_1000")).n &&
		    (st = num(x, "per_1000", 0, 1000, &s->entrants_per_1000[k], d)))
			break;
		if ((x = sb_ynode_get(v, "age")).n &&
		    (st = integer(x, "entrant age", 0, 99, &s->entrant_age[k], d)))
			break;
	}
	if (!st && (v = sb_ynode_get(n, "male_share")).n)
		st = num(v, "male_share", 0, 1, &s->entrant_male_share, d);
	return st;
}

static sb_status revenue(sb_ynode n, pj_scenario *s, sb_diag *d)
{
	static const char *const keys[] = { "kind", "employee", "resident", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "revenue must be a mapping: {kind: policy}, or {kind: "
				      "per_person|ratio, employee, resident}");
	sb_status st = sb_ynode_check_keys(n, "revenue", keys, d);
	if (st)
		return st;
	sb_ynode k = sb_ynode_get(n, "kind");
	if (!k.n)
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "revenue needs a kind: policy, per_person or ratio");
	double *into;
	double hi;
	if (sb_ynode_eq(k, "policy")) {
		/* the contributions of each region's funding rules */
		s->revenue = PJ_REV_POLICY;
		if (sb_ynode_get(n, "employee").n || sb_ynode_get(n, "resident").n)
			return sb_ynode_error(
				d, SB_EPOLICY, n,
				"revenue kind policy takes its amounts from each "
				"region's funding rules: give no employee or resident");
		return SB_OK;
	}
	if (sb_ynode_eq(k, "per_person")) {
		s->revenue = PJ_REV_PER_PERSON;
		into = s->revenue_per_person;
		hi = 1e6;
	} else if (sb_ynode_eq(k, "ratio")) {
		s->revenue = PJ_REV_RATIO;
		into = s->revenue_ratio;
		hi = 10;
	} else {
		return sb_ynode_error(d, SB_EPOLICY, k,
				      "revenue kind must be policy (the region's funding rules), "
				      "per_person (yuan per contributor in the base year) or ratio "
				      "(base-year revenue over base-year spending)");
	}
	for (int i = 0; i < PJ_SCHEMES; i++) {
		sb_ynode v = sb_ynode_get(n, scheme_names[i]);
		char w[64];
		snprintf(w, sizeof w, "revenue.%s", scheme_names[i]);
		if (!v.n)
			return sb_ynode_error(d, SB_EPOLICY, n, "revenue needs %s",
					      scheme_names[i]);
		if ((st = num(v, w, 0, hi, &into[i], d)))
			return st;
	}
	return SB_OK;
}

static sb_status montecarlo(sb_ynode n, pj_scenario *s, sb_diag *d)
{
	static const char *const keys[] = { "cost_growth_sd", "utilisation_sd", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(
			d, SB_EPOLICY, n,
			"monte_carlo must be a mapping: {cost_growth_sd, utilisation_sd}");
	sb_status st = sb_ynode_check_keys(n, "monte_carlo", keys, d);
	sb_ynode v;
	if (!st && (v = sb_ynode_get(n, "cost_growth_sd")).n)
		st = num(v, "cost_growth_sd", 0, 0.5, &s->cost_growth_sd, d);
	if (!st && (v = sb_ynode_get(n, "utilisation_sd")).n)
		st = num(v, "utilisation_sd", 0, 1, &s->utilisation_sd, d);
	return st;
}

/* cost_growth_by_visit: {inpatient: "7%", pharmacy: "4%"}: the visit
 * types of the data format; the others grow at cost_growth. */
static sb_status visit_growth(sb_ynode n, pj_scenario *s, sb_diag *d)
{
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(
			d, SB_EPOLICY, n,
			"cost_growth_by_visit must be a mapping of visit types "
			"(inpatient, chronic_outpatient, outpatient, pharmacy) to rates");
	sb_status st = sb_ynode_check_keys(n, "cost_growth_by_visit", sb_visit_names, d);
	for (int v = 0; !st && v < PJ_VISITS; v++) {
		sb_ynode x = sb_ynode_get(n, sb_visit_names[v]);
		if (!x.n)
			continue;
		st = num(x, sb_visit_names[v], -0.5, 1, &s->visit_growth[v], d);
		s->visit_growth_given[v] = true;
	}
	return st;
}

static const char *const top_keys[] = { "projection",
					"name",
					"description",
					"source",
					"life_table",
					"mortality_scale",
					"population",
					"cost_growth",
					"revenue_growth",
					"interest",
					"entrants",
					"retirement",
					"revenue",
					"opening_months",
					"monte_carlo",
					"cost_growth_by_visit",
					NULL };

static sb_status load(sb_ydoc *doc, pj_scenario *s, sb_diag *d)
{
	sb_ynode root = sb_ydoc_root(doc), v;
	if (!root.n || !sb_ynode_is_map(root))
		return sb_ynode_error(d, SB_EPOLICY, root,
				      "a scenario file is a mapping that starts with projection: 1");
	sb_status st = sb_ynode_check_keys(root, "a scenario", top_keys, d);
	if (st)
		return st;
	v = sb_ynode_get(root, "projection");
	if (!v.n || !sb_ynode_eq(v, "1"))
		return sb_ynode_error(d, SB_EPOLICY, v.n ? v : root,
				      "a scenario file starts with projection: 1 (its format)");
	if (!(v = sb_ynode_get(root, "name")).n)
		return sb_ynode_error(d, SB_EPOLICY, root, "a scenario needs a name");
	if ((st = text(v, "name", s->name, sizeof s->name, d)))
		return st;
	for (const char *c = s->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '_'))
			return sb_ynode_error(
				d, SB_EPOLICY, v,
				"a scenario name is lower-case letters, digits, - and _");
	if ((v = sb_ynode_get(root, "description")).n &&
	    (st = text(v, "description", s->description, sizeof s->description, d)))
		return st;
	if ((v = sb_ynode_get(root, "source")).n &&
	    (st = text(v, "source", s->source, sizeof s->source, d)))
		return st;
	if ((v = sb_ynode_get(root, "population")).n) {
		if (sb_ynode_eq(v, "constant"))
			s->constant_population = true;
		else if (!sb_ynode_eq(v, "cohort"))
			return sb_ynode_error(d, SB_EPOLICY, v,
					      "population must be cohort (carried forward by age "
					      "and sex) or constant (the base year's, every year)");
	}
	if (!(v = sb_ynode_get(root, "life_table")).n) {
		if (!s->constant_population)
			return sb_ynode_error(d, SB_EPOLICY, root,
					      "a scenario needs a life_table (a CSV beside it, or "
					      "population: constant)");
	} else {
		char rel[512], path[1024];
		if ((st = text(v, "life_table", rel, sizeof rel, d)))
			return st;
		if (rel[0] == '/')
			snprintf(path, sizeof path, "%s", rel);
		else
			snprintf(path, sizeof path, "%s%s%s", doc->dir,
				 *doc->dir && doc->dir[strlen(doc->dir) - 1] != '/' ? "/" : "",
				 rel);
		if ((st = pj_lifetable_load(path, &s->life, d))) {
			if (st == SB_EIO) {
				char msg[sizeof d->message];
				snprintf(msg, sizeof msg, "%s", d->message);
				return sb_ynode_error(d, SB_EPOLICY, v, "life_table: %s", msg);
			}
			return st;
		}
	}
	struct {
		const char *key;
		double lo, hi, *into;
	} nums[] = {
		{ "mortality_scale", 0, 5, &s->mortality_scale },
		{ "cost_growth", -0.5, 1, &s->cost_growth },
		{ "revenue_growth", -0.5, 1, &s->revenue_growth },
		{ "interest", -0.1, 0.5, &s->interest },
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if ((v = sb_ynode_get(root, nums[i].key)).n &&
		    (st = num(v, nums[i].key, nums[i].lo, nums[i].hi, nums[i].into, d)))
			return st;
	if ((v = sb_ynode_get(root, "entrants")).n && (st = entrants(v, s, d)))
		return st;
	if ((v = sb_ynode_get(root, "retirement")).n && (st = retirement(v, &s->retire, d)))
		return st;
	if (!(v = sb_ynode_get(root, "revenue")).n)
		return sb_ynode_error(d, SB_EPOLICY, root,
				      "a scenario needs revenue: {kind: policy}, or {kind: "
				      "per_person|ratio, employee, resident}");
	if ((st = revenue(v, s, d)))
		return st;
	if ((v = sb_ynode_get(root, "opening_months")).n &&
	    (st = by_scheme(v, "opening_months", 0, 600, s->opening_months, d)))
		return st;
	if ((v = sb_ynode_get(root, "monte_carlo")).n && (st = montecarlo(v, s, d)))
		return st;
	if ((v = sb_ynode_get(root, "cost_growth_by_visit")).n && (st = visit_growth(v, s, d)))
		return st;
	for (int k = 0; k < PJ_VISITS; k++)
		if (!s->visit_growth_given[k])
			s->visit_growth[k] = s->cost_growth;
	return SB_OK;
}

sb_status pj_scenario_load(const char *path, pj_scenario *s, sb_diag *d)
{
	memset(s, 0, sizeof *s);
	s->mortality_scale = 1.0;
	s->entrant_male_share = 0.5;
	s->entrant_age[0] = 22;
	s->entrant_age[1] = 0;
	s->retire = npc2024;
	snprintf(s->path, sizeof s->path, "%s", path);
	sb_ydoc *doc;
	sb_status st = sb_ydoc_load(path, &doc, d);
	if (st)
		return st;
	st = load(doc, s, d);
	sb_ydoc_free(doc);
	return st;
}

sb_fen pj_fen(double yuan)
{
	double f = yuan * 100.0;
	if (!(f < (double)SB_FEN_MAX))
		return SB_FEN_MAX;
	if (!(f > -(double)SB_FEN_MAX))
		return -SB_FEN_MAX;
	return (sb_fen)llround(f);
}
