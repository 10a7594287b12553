/* eval.c: what a compiled policy means for one claim: whether a condition
 * holds, what a level map or income share comes to, and which policy year
 * a date falls in. */
#include <string.h>

#include "policy/policy_int.h"

static bool bit(uint64_t mask, int i)
{
	return i >= 0 && i < 64 && (mask >> i) & 1;
}

bool sb_cond_holds(const sb_cond *c, const sb_claimctx *x)
{
	if (!c->keys)
		return true;
	if ((c->keys & SB_C_SCHEME) && !bit(c->scheme, x->scheme))
		return false;
	if ((c->keys & SB_C_EMPLOYMENT) &&
	    (x->employment == SB_EMP_UNKNOWN || !bit(c->employment, x->employment)))
		return false;
	if ((c->keys & SB_C_VISIT) && !bit(c->visit, x->visit))
		return false;
	if ((c->keys & SB_C_PLACE) && !bit(c->place, x->place))
		return false;
	if ((c->keys & SB_C_FILING) && !bit(c->filing, x->filing))
		return false;
	if ((c->keys & SB_C_TIER) && !bit(c->tier, x->tier))
		return false;
	if ((c->keys & SB_C_LEVEL) && !bit(c->level, x->level))
		return false;
	if ((c->keys & SB_C_IDENTITY) && !bit(c->identity, x->identity + 1))
		return false;
	if ((c->keys & SB_C_HOLDS) && !(c->holds & x->holds))
		return false;
	if ((c->keys & SB_C_AGE) && (x->age < c->age_min || x->age > c->age_max))
		return false;
	if ((c->keys & SB_C_DISEASE) && !sb_disease_matches(x->policy, c->disease, x->diagnosis))
		return false;
	return true;
}

bool sb_disease_matches(const sb_policy *p, uint64_t lists, const char *dx)
{
	if (!dx || !*dx)
		return false;
	size_t n = strlen(dx);
	for (uint16_t i = 0; i < p->ndiseases; i++) {
		if (!(lists >> i & 1))
			continue;
		const sb_disease *ds = &p->diseases[i];
		for (uint16_t j = 0; j < ds->ncodes; j++) {
			size_t len = ds->lens[j];
			if (ds->prefix[j] ? n >= len && !memcmp(dx, ds->codes[j], len) :
					    n == len && !memcmp(dx, ds->codes[j], len))
				return true;
		}
	}
	return false;
}

int sb_version_policy_year(const sb_version *v, sb_date date)
{
	int y, m, d;
	sb_date_ymd(date, &y, &m, &d);
	if (m < v->year_start_month || (m == v->year_start_month && d < v->year_start_day))
		return y - 1;
	return y;
}

sb_date sb_version_year_start(const sb_version *v, int year)
{
	return sb_date_from_ymd(year, v->year_start_month, v->year_start_day);
}

static sb_status resolve_share(const sb_val *v, const sb_claimctx *x, const char *what,
			       int64_t *out, sb_diag *d)
{
	const sb_policy *p = x->policy;
	int year = x->year - 1;
	for (size_t i = 0; i < p->nincome; i++) {
		const sb_income *inc = &p->income[i];
		if (inc->year != year)
			continue;
		if (!inc->has[v->income_kind])
			break;
		int64_t fen = sb_div_round(inc->fen[v->income_kind] * v->v, 10000);
		if (v->has_min && fen < v->min)
			fen = v->min;
		if (v->has_max && fen > v->max)
			fen = v->max;
		*out = fen;
		return SB_OK;
	}
	return sb_diag_set(d, SB_EINPUT, v->src.file, v->src.line, v->src.column,
			   "%s is a share of %d %s income, but region %s's policy has no income "
			   "for %d (%s): add it under income:",
			   what, year, sb_income_kind_names[v->income_kind], p->region, year,
			   sb_income_kind_names[v->income_kind]);
}

static int64_t bound(const sb_val *v, int64_t fen)
{
	if (v->has_min && fen < v->min)
		fen = v->min;
	if (v->has_max && fen > v->max)
		fen = v->max;
	return fen;
}

static sb_status resolve_of(const sb_val *v, const sb_claimctx *x, const char *what,
			    int64_t *out, sb_diag *d)
{
	int64_t of;
	if (v->of == SB_OF_STAT) {
		const sb_stat *s = &x->policy->stats[v->stat];
		int year = x->year - 1 + v->stat_year;
		uint16_t i = 0;
		while (i < s->nyears && s->years[i] != year)
			i++;
		if (i == s->nyears)
			return sb_diag_set(d, SB_EINPUT, v->src.file, v->src.line, v->src.column,
					   "%s is a share of statistic %s of %d, but region %s's policy "
					   "gives none for %d: add it under statistics: %s:",
					   what, s->id, year, x->policy->region, year, s->id);
		of = s->fen[i];
	} else if (v->of == SB_OF_CAP) {
		if (x->cap < 0)
			return sb_diag_set(d, SB_EINPUT, v->src.file, v->src.line, v->src.column,
					   "%s is a share of the layer's annual cap, but the layer has "
					   "no cap for this claim", what);
		of = x->cap;
	} else {
		of = x->parts ? x->parts[v->of] : 0;
	}
	*out = bound(v, sb_div_round(of * v->v, 10000));
	return SB_OK;
}

sb_status sb_val_resolve(const sb_val *v, const sb_claimctx *x, const char *what,
			 int64_t *out, sb_diag *d)
{
	switch (v->kind) {
	case SB_VAL_OF:
		return resolve_of(v, x, what, out, d);
	case SB_VAL_BY_STAY: {
		uint32_t k = x->claim_no ? x->claim_no - 1 : 0;
		const sb_val *item = &v->items[k < v->nitems ? k : v->nitems - 1u];
		if (!v->ofv) {
			*out = v->has_min || v->has_max ? bound(v, item->v) : item->v;
			return SB_OK;
		}
		int64_t of;
		sb_status st = sb_val_resolve(v->ofv, x, what, &of, d);
		if (st)
			return st;
		*out = bound(v, sb_div_round(of * item->v, 10000));
		return SB_OK;
	}
	case SB_VAL_FEN:
	case SB_VAL_BP:
		*out = v->v;
		return SB_OK;
	case SB_VAL_NONE:
		*out = -1;
		return SB_OK;
	case SB_VAL_SHARE:
		return resolve_share(v, x, what, out, d);
	case SB_VAL_LEVELS: {
		const sb_val *other = NULL;
		for (size_t i = 0; i < v->nlev; i++) {
			if (v->lev[i].level == -1)
				other = &v->lev[i].val;
			else if (v->lev[i].level == x->level && x->level >= 0)
				return sb_val_resolve(&v->lev[i].val, x, what, out, d);
		}
		if (other)
			return sb_val_resolve(other, x, what, out, d);
		return sb_diag_set(d, SB_EINPUT, v->src.file, v->src.line, v->src.column,
				   "no value for level \"%s\" in %s, and no \"other\" to fall back on",
				   x->level_name && *x->level_name ? x->level_name : "(none given)",
				   what);
	}
	default:
		*out = 0;
		return SB_OK;
	}
}
