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
	return true;
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

sb_status sb_val_resolve(const sb_val *v, const sb_claimctx *x, const char *what,
			 int64_t *out, sb_diag *d)
{
	switch (v->kind) {
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
