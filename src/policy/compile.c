/* compile.c: turns one merged YAML layer, adjust list or monitoring rule
 * into the compiled model, checking every value against the policy format
 * and naming the place and what is allowed when one is wrong. */
#include "policy/load_int.h"

#include <stdio.h>
#include <string.h>

const char *const sb_scheme_names[] = {"employee", "resident", NULL};
const char *const sb_employment_names[] = {"active", "retired", NULL};
const char *const sb_visit_names[] = {"inpatient", "chronic_outpatient", "outpatient",
				      "pharmacy", NULL};
const char *const sb_visit_codes[] = {"21", "14", "11", "41", NULL};
const char *const sb_place_names[] = {"local", "in_province", "cross_province", NULL};
const char *const sb_filing_names[] = {"filed", "referral", "emergency", "unfiled",
				       "long_term", NULL};
const char *const sb_income_kind_names[] = {"all", "urban", "rural", NULL};
const char *const sb_of_names[] = {"total", "in_scope", "pre_selfpay", "over_limit",
				   "out_of_scope", "cap", NULL};
const char *const sb_part_names[] = {"in_scope", "pre_selfpay", "over_limit", "out_of_scope",
				     NULL};

int sb_name_index(const char *const *names, const char *p, size_t n)
{
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && !memcmp(names[i], p, n))
			return i;
	return -1;
}

static void join_names(const char *const *names, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; names[i]; i++) {
		int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= cap - used)
			return;
		used += (size_t)w;
	}
}

sb_src sb_ynode_src(sb_ynode n)
{
	sb_src s = {n.doc ? n.doc->path : "", n.n ? (int)n.n->start_mark.line + 1 : 0,
		    n.n ? (int)n.n->start_mark.column + 1 : 0};
	return s;
}

bool sb_is_word(const char *p, size_t n)
{
	if (!n || !(p[0] >= 'a' && p[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	return true;
}

/* An enumerated scalar: its index in names, or an error listing them. */
sb_status sb_compile_enum(sb_ynode n, const char *what, const char *const *names,
			  uint8_t *out, sb_diag *d)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	int i = t ? sb_name_index(names, t, len) : -1;
	if (i < 0) {
		char list[256];
		join_names(names, list, sizeof list);
		if (!t)
			return sb_ynode_error(d, SB_EPOLICY, n, "%s must be one word: one of %s",
					      what, list);
		return sb_ynode_error(d, SB_EPOLICY, n, "\"%.*s\" is not a %s: allowed are %s",
				      (int)(len > 60 ? 60 : len), t, what, list);
	}
	*out = (uint8_t)i;
	return SB_OK;
}

/* ---- values ------------------------------------------------------------ */

static sb_status scalar_val(sb_comp *c, sb_ynode n, const char *what, int is_rate,
			    sb_val *v)
{
	(void)c;
	if (is_rate) {
		v->kind = SB_VAL_BP;
		return sb_ynode_bp(n, what, 0, 10000, &v->v, c->d);
	}
	v->kind = SB_VAL_FEN;
	return sb_ynode_money(n, what, &v->v, c->d);
}

static sb_status share_val(sb_comp *c, sb_ynode n, const char *what, sb_val *v)
{
	static const char *const keys[] = {"income_share", "kind", "min", "max", NULL};
	sb_status st = sb_ynode_check_keys(n, "an income share", keys, c->d);
	if (st)
		return st;
	v->kind = SB_VAL_SHARE;
	st = sb_ynode_bp(sb_ynode_get(n, "income_share"), "income_share", 0, 1000000, &v->v, c->d);
	if (st)
		return st;
	sb_ynode k = sb_ynode_get(n, "kind");
	if (k.n && (st = sb_compile_enum(k, "income kind", sb_income_kind_names,
					 &v->income_kind, c->d)))
		return st;
	sb_ynode mn = sb_ynode_get(n, "min"), mx = sb_ynode_get(n, "max");
	if (mn.n) {
		if ((st = sb_ynode_money(mn, "min", &v->min, c->d)))
			return st;
		v->has_min = true;
	}
	if (mx.n) {
		if ((st = sb_ynode_money(mx, "max", &v->max, c->d)))
			return st;
		v->has_max = true;
	}
	if (v->has_min && v->has_max && v->min > v->max)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s: min is above max", what);
	return SB_OK;
}

static sb_status need_v2(sb_comp *c, sb_ynode n, const char *what)
{
	if (c->format >= 2)
		return SB_OK;
	return sb_ynode_error(c->d, SB_EPOLICY, n,
			      "%s is format 2: write `sanbao: 2` at the top of the policy file", what);
}

static sb_status bounds(sb_comp *c, sb_ynode n, const char *what, sb_val *v)
{
	sb_status st;
	sb_ynode mn = sb_ynode_get(n, "min"), mx = sb_ynode_get(n, "max");
	if (mn.n) {
		if ((st = sb_ynode_money(mn, "min", &v->min, c->d)))
			return st;
		v->has_min = true;
	}
	if (mx.n) {
		if ((st = sb_ynode_money(mx, "max", &v->max, c->d)))
			return st;
		v->has_max = true;
	}
	if (v->has_min && v->has_max && v->min > v->max)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s: min is above max", what);
	return SB_OK;
}

/* {share: r, of: what, year: previous|current, min, max} */
static sb_status of_val(sb_comp *c, sb_ynode n, const char *what, sb_val *v)
{
	static const char *const keys[] = {"share", "of", "year", "min", "max", NULL};
	static const char *const years[] = {"previous", "current", NULL};
	sb_status st = sb_ynode_check_keys(n, "a share {share, of}", keys, c->d);
	if (st || (st = need_v2(c, n, "{share, of}")))
		return st;
	v->kind = SB_VAL_OF;
	if ((st = sb_ynode_bp(sb_ynode_get(n, "share"), "share", 0, 1000000, &v->v, c->d)))
		return st;
	sb_ynode of = sb_ynode_get(n, "of");
	size_t len;
	const char *t = sb_ynode_text(of, &len);
	int i = t ? sb_name_index(sb_of_names, t, len) : -1;
	if (i >= 0) {
		v->of = (uint8_t)i;
	} else {
		for (uint16_t k = 0; t && c->pol && k < c->pol->nstats && i < 0; k++)
			if (strlen(c->pol->stats[k].id) == len && !memcmp(c->pol->stats[k].id, t, len)) {
				i = k;
				v->of = SB_OF_STAT;
				v->stat = k;
			}
		if (i < 0) {
			char list[512];
			size_t used = 0;
			list[0] = '\0';
			for (uint16_t k = 0; c->pol && k < c->pol->nstats; k++) {
				int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : " ",
						 c->pol->stats[k].id);
				if (w < 0 || (size_t)w >= sizeof list - used)
					break;
				used += (size_t)w;
			}
			return sb_ynode_error(c->d, SB_EPOLICY, of.n ? of : n,
					      "%s: of must be total, in_scope, pre_selfpay, over_limit, "
					      "out_of_scope, cap or a statistic the policy declares under "
					      "statistics:%s", what, used ? list : " (it declares none)");
		}
	}
	sb_ynode y = sb_ynode_get(n, "year");
	if (y.n) {
		if (v->of != SB_OF_STAT)
			return sb_ynode_error(c->d, SB_EPOLICY, y,
					      "year applies only to a share of a statistic");
		if ((st = sb_compile_enum(y, "statistic year", years, &v->stat_year, c->d)))
			return st;
	}
	return bounds(c, n, what, v);
}

/* {by_stay: [v1, v2, ...], of: amount, min, max} */
static sb_status by_stay_val(sb_comp *c, sb_ynode n, const char *what, int flags, sb_val *v)
{
	static const char *const keys[] = {"by_stay", "of", "min", "max", NULL};
	sb_status st = sb_ynode_check_keys(n, "a schedule {by_stay}", keys, c->d);
	if (st || (st = need_v2(c, n, "by_stay")))
		return st;
	sb_ynode list = sb_ynode_get(n, "by_stay"), of = sb_ynode_get(n, "of");
	if (!sb_ynode_is_seq(list) || !sb_ynode_len(list) || sb_ynode_len(list) > SB_MAX_BANDS)
		return sb_ynode_error(c->d, SB_EPOLICY, list,
				      "by_stay must be a list of 1 to %d values: for the 1st, 2nd, "
				      "... claim of the policy year (the last repeats)", SB_MAX_BANDS);
	if (of.n && (flags & SB_V_RATE))
		return sb_ynode_error(c->d, SB_EPOLICY, of, "%s: a schedule of rates takes no of", what);
	v->kind = SB_VAL_BY_STAY;
	v->nitems = (uint16_t)sb_ynode_len(list);
	v->items = sb_arena_alloc(c->arena, v->nitems * sizeof *v->items);
	if (!v->items)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (of.n) {
		if (!(v->ofv = sb_arena_alloc(c->arena, sizeof *v->ofv)))
			return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		if ((st = sb_compile_val(c, of, what, 0, v->ofv)))
			return st;
		if (v->ofv->kind == SB_VAL_BY_STAY)
			return sb_ynode_error(c->d, SB_EPOLICY, of, "%s: of cannot be a schedule", what);
	}
	for (uint16_t i = 0; i < v->nitems; i++) {
		sb_ynode item = sb_ynode_item(list, i);
		if (!sb_ynode_is_scalar(item))
			return sb_ynode_error(c->d, SB_EPOLICY, item,
					      "%s: a by_stay item must be %s", what,
					      of.n || (flags & SB_V_RATE) ? "a rate (0.75 or \"75%\")" :
					      "an amount in yuan");
		if ((st = scalar_val(c, item, what, of.n || (flags & SB_V_RATE), &v->items[i])))
			return st;
		v->items[i].src = sb_ynode_src(item);
	}
	if ((sb_ynode_get(n, "min").n || sb_ynode_get(n, "max").n) && (flags & SB_V_RATE))
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s: min and max bound amounts, not rates",
				      what);
	return bounds(c, n, what, v);
}

sb_status sb_compile_val(sb_comp *c, sb_ynode n, const char *what, int flags, sb_val *v)
{
	int is_rate = flags & SB_V_RATE;
	memset(v, 0, sizeof *v);
	v->src = sb_ynode_src(n);
	if (sb_ynode_is_scalar(n)) {
		if ((flags & SB_V_NONE) && sb_ynode_eq(n, "none")) {
			v->kind = SB_VAL_NONE;
			return SB_OK;
		}
		return scalar_val(c, n, what, is_rate, v);
	}
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "%s must be %s, or a map by facility level", what,
				      is_rate ? "a rate (0.7 or \"70%\")" :
				      "an amount in yuan or {income_share: ...}");
	if (!is_rate && sb_ynode_get(n, "income_share").n)
		return share_val(c, n, what, v);
	if (sb_ynode_get(n, "by_stay").n)
		return by_stay_val(c, n, what, flags, v);
	if (!is_rate && sb_ynode_get(n, "share").n)
		return of_val(c, n, what, v);

	/* A map keyed by facility level, `other` as the fallback. */
	size_t len = sb_ynode_len(n);
	if (!len)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s: an empty level map", what);
	v->kind = SB_VAL_LEVELS;
	v->nlev = (uint16_t)len;
	v->lev = sb_arena_alloc(c->arena, len * sizeof *v->lev);
	if (!v->lev)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i), val = sb_ynode_value(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		if (!kt || !sb_is_word(kt, kl))
			return sb_ynode_error(c->d, SB_EPOLICY, k,
					      "%s: a facility level must be a word such as primary, "
					      "secondary, tertiary or other", what);
		for (size_t j = 0; j < i; j++) {
			size_t jl;
			const char *jt = sb_ynode_text(sb_ynode_key(n, j), &jl);
			if (jt && jl == kl && !memcmp(jt, kt, kl))
				return sb_ynode_error(c->d, SB_EPOLICY, k, "duplicate level \"%.*s\"",
						      (int)kl, kt);
		}
		if (kl == 5 && !memcmp(kt, "other", 5)) {
			v->lev[i].level = -1;
		} else {
			v->lev[i].level = sb_policyset_intern(c->set, SB_SYM_LEVEL, kt, kl);
			if (v->lev[i].level == SB_SYM_OOM)
				return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			if (v->lev[i].level < 0)
				return sb_ynode_error(c->d, SB_ELIMIT, k,
						      "too many facility levels (at most %d)",
						      SB_MAX_MASK_SYMS);
		}
		sb_status st;
		sb_val *sub = &v->lev[i].val;
		sub->src = sb_ynode_src(val);
		if (sb_ynode_is_scalar(val)) {
			if ((flags & SB_V_NONE) && sb_ynode_eq(val, "none")) {
				sub->kind = SB_VAL_NONE;
				continue;
			}
			st = scalar_val(c, val, what, is_rate, sub);
		} else if (!is_rate && sb_ynode_is_map(val) && sb_ynode_get(val, "income_share").n) {
			st = share_val(c, val, what, sub);
		} else if (!is_rate && sb_ynode_is_map(val) && sb_ynode_get(val, "share").n) {
			st = of_val(c, val, what, sub);
		} else {
			st = sb_ynode_error(c->d, SB_EPOLICY, val,
					    "%s for level \"%.*s\" must be %s", what, (int)kl, kt,
					    is_rate ? "a rate" : "an amount or an income share");
		}
		if (st)
			return st;
	}
	return SB_OK;
}

/* ---- conditions --------------------------------------------------------- */

static const char *const cond_keys[] = {"scheme", "tier", "employment", "visit", "level",
					"place", "filing", "identity", "holds", "age", "disease",
					NULL};

/* Calls one item of a scalar-or-list condition value. */
typedef sb_status (*cond_item_fn)(sb_comp *c, sb_ynode item, sb_cond *cond, void *arg);

static sb_status each_item(sb_comp *c, sb_ynode v, const char *key, sb_cond *cond,
			   cond_item_fn fn, void *arg)
{
	if (sb_ynode_is_scalar(v))
		return fn(c, v, cond, arg);
	if (!sb_ynode_is_seq(v) || !sb_ynode_len(v))
		return sb_ynode_error(c->d, SB_EPOLICY, v,
				      "condition %s must be one value or a non-empty list", key);
	for (size_t i = 0; i < sb_ynode_len(v); i++) {
		sb_ynode item = sb_ynode_item(v, i);
		if (!sb_ynode_is_scalar(item))
			return sb_ynode_error(c->d, SB_EPOLICY, item,
					      "condition %s: a list item must be one value", key);
		sb_status st = fn(c, item, cond, arg);
		if (st)
			return st;
	}
	return SB_OK;
}

struct enum_arg {
	const char *what;
	const char *const *names;
	const char *const *codes; /* also accepted (NHSA codes), or NULL */
	uint8_t *mask;
};

static sb_status enum_item(sb_comp *c, sb_ynode item, sb_cond *cond, void *arg)
{
	(void)cond;
	struct enum_arg *a = arg;
	uint8_t i;
	size_t len;
	const char *t = sb_ynode_text(item, &len);
	int code = a->codes ? sb_name_index(a->codes, t, len) : -1;
	if (code >= 0) {
		*a->mask |= (uint8_t)(1u << code);
		return SB_OK;
	}
	sb_status st = sb_compile_enum(item, a->what, a->names, &i, c->d);
	if (!st)
		*a->mask |= (uint8_t)(1u << i);
	return st;
}

static sb_status sym_item(sb_comp *c, sb_ynode item, sb_cond *cond, void *arg)
{
	(void)cond;
	uint64_t *mask = ((void **)arg)[0];
	const sb_symkind *kind = ((void **)arg)[1];
	size_t len;
	const char *t = sb_ynode_text(item, &len);
	if (!len)
		return sb_ynode_error(c->d, SB_EPOLICY, item, "an empty value in a condition");
	int sym = sb_policyset_intern(c->set, *kind, t, len);
	if (sym == SB_SYM_OOM)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (sym < 0)
		return sb_ynode_error(c->d, SB_ELIMIT, item, "too many distinct %s values (at most %d)",
				      *kind == SB_SYM_LEVEL ? "level" : "tier", SB_MAX_MASK_SYMS);
	*mask |= (uint64_t)1 << sym;
	return SB_OK;
}

/* identity: declared ids or `none`; holds: declared ids. */
static sb_status identity_item(sb_comp *c, sb_ynode item, sb_cond *cond, void *arg)
{
	int is_holds = *(int *)arg;
	size_t len;
	const char *t = sb_ynode_text(item, &len);
	if (!is_holds && len == 4 && !memcmp(t, "none", 4)) {
		cond->identity |= 1;
		return SB_OK;
	}
	for (size_t i = 0; i < c->nidentities; i++) {
		if (strlen(c->identity_names[i]) == len && !memcmp(c->identity_names[i], t, len)) {
			uint64_t bit = (uint64_t)1 << (c->identities[i] + 1);
			if (is_holds)
				cond->holds |= bit;
			else
				cond->identity |= bit;
			return SB_OK;
		}
	}
	char list[512];
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < c->nidentities; i++) {
		int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
				 c->identity_names[i]);
		if (w < 0 || (size_t)w >= sizeof list - used)
			break;
		used += (size_t)w;
	}
	return sb_ynode_error(c->d, SB_EPOLICY, item,
			      "unknown identity \"%.*s\": the policy's `identities` declare %s%s",
			      (int)len, t, c->nidentities ? list : "none",
			      is_holds ? "" : " (or write none)");
}

static sb_status parse_age(sb_comp *c, sb_ynode v, sb_cond *cond)
{
	int64_t lim[2];
	if (!sb_ynode_is_seq(v) || sb_ynode_len(v) != 2)
		return sb_ynode_error(c->d, SB_EPOLICY, v,
				      "age must be [min, max] in whole years, e.g. [0, 14]");
	for (size_t i = 0; i < 2; i++) {
		sb_ynode item = sb_ynode_item(v, i);
		size_t len;
		const char *t = sb_ynode_text(item, &len);
		const char *why;
		if (!t || sb_bp_parse(t, len, 0, &lim[i], &why) || lim[i] % 10000 ||
		    lim[i] < 0 || lim[i] > 150 * 10000)
			return sb_ynode_error(c->d, SB_EPOLICY, item,
					      "age must be [min, max] in whole years from 0 to 150");
		lim[i] /= 10000;
	}
	if (lim[0] > lim[1])
		return sb_ynode_error(c->d, SB_EPOLICY, v, "age must be [min, max] with min <= max");
	cond->age_min = (int)lim[0];
	cond->age_max = (int)lim[1];
	return SB_OK;
}

/* disease: a list the policy declares under diseases: */
static sb_status disease_item(sb_comp *c, sb_ynode item, sb_cond *cond, void *arg)
{
	(void)arg;
	size_t len;
	const char *t = sb_ynode_text(item, &len);
	for (uint16_t i = 0; t && c->pol && i < c->pol->ndiseases; i++)
		if (strlen(c->pol->diseases[i].id) == len && !memcmp(c->pol->diseases[i].id, t, len)) {
			cond->disease |= (uint64_t)1 << i;
			return SB_OK;
		}
	char list[512];
	size_t used = 0;
	list[0] = '\0';
	for (uint16_t i = 0; c->pol && i < c->pol->ndiseases; i++) {
		int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
				 c->pol->diseases[i].id);
		if (w < 0 || (size_t)w >= sizeof list - used)
			break;
		used += (size_t)w;
	}
	return sb_ynode_error(c->d, SB_EPOLICY, item,
			      "unknown disease list \"%.*s\": the policy's `diseases` declare %s",
			      (int)(t ? len : 0), t ? t : "", used ? list : "none");
}

sb_status sb_compile_cond(sb_comp *c, sb_ynode n, sb_cond *cond)
{
	memset(cond, 0, sizeof *cond);
	sb_status st = sb_ynode_check_keys(n, "a condition (when)", cond_keys, c->d);
	if (st)
		return st;
	for (size_t i = 0; i < sb_ynode_len(n); i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t kl;
		const char *key = sb_ynode_text(k, &kl);
		int ki = sb_name_index(cond_keys, key, kl);
		struct enum_arg ea = {NULL, NULL, NULL, NULL};
		sb_symkind kind;
		void *symarg[2] = {NULL, &kind};
		int holds;
		switch (ki) {
		case 0:
			ea = (struct enum_arg){"scheme", sb_scheme_names, NULL, &cond->scheme};
			break;
		case 2:
			ea = (struct enum_arg){"employment", sb_employment_names, NULL, &cond->employment};
			break;
		case 3:
			ea = (struct enum_arg){"visit type", sb_visit_names, sb_visit_codes, &cond->visit};
			break;
		case 5:
			ea = (struct enum_arg){"place", sb_place_names, NULL, &cond->place};
			break;
		case 6:
			ea = (struct enum_arg){"filing", sb_filing_names, NULL, &cond->filing};
			break;
		default:
			break;
		}
		if (ea.names) {
			st = each_item(c, v, key, cond, enum_item, &ea);
		} else if (ki == 1 || ki == 4) {
			kind = ki == 1 ? SB_SYM_TIER : SB_SYM_LEVEL;
			symarg[0] = ki == 1 ? &cond->tier : &cond->level;
			st = each_item(c, v, key, cond, sym_item, symarg);
		} else if (ki == 7 || ki == 8) {
			holds = ki == 8;
			st = each_item(c, v, key, cond, identity_item, &holds);
		} else if (ki == 10) {
			if (!(st = need_v2(c, k, "the condition disease")))
				st = each_item(c, v, key, cond, disease_item, NULL);
		} else {
			st = parse_age(c, v, cond);
		}
		if (st)
			return st;
		cond->keys |= 1u << ki;
	}
	return SB_OK;
}

/* ---- bands, adjust, layers ----------------------------------------------- */

static sb_status compile_bands(sb_comp *c, sb_ynode n, sb_band **out, uint16_t *nout)
{
	if (!sb_ynode_is_seq(n) || !sb_ynode_len(n))
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "bands must be a non-empty list of {from: amount, rate: rate}");
	size_t len = sb_ynode_len(n);
	if (len > SB_MAX_BANDS)
		return sb_ynode_error(c->d, SB_ELIMIT, n, "at most %d bands", SB_MAX_BANDS);
	sb_band *b = sb_arena_alloc(c->arena, len * sizeof *b);
	if (!b)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	static const char *const keys[] = {"from", "rate", NULL};
	for (size_t i = 0; i < len; i++) {
		sb_ynode item = sb_ynode_item(n, i);
		sb_status st = sb_ynode_check_keys(item, "a band", keys, c->d);
		if (st)
			return st;
		sb_ynode from = sb_ynode_get(item, "from"), rate = sb_ynode_get(item, "rate");
		if (!from.n || !rate.n)
			return sb_ynode_error(c->d, SB_EPOLICY, item, "a band needs both from and rate");
		if ((st = sb_compile_val(c, from, "band from", 0, &b[i].from)) ||
		    (st = sb_compile_val(c, rate, "band rate", SB_V_RATE, &b[i].rate)))
			return st;
		if (i && b[i].from.kind == SB_VAL_FEN && b[i - 1].from.kind == SB_VAL_FEN &&
		    b[i].from.v <= b[i - 1].from.v)
			return sb_ynode_error(c->d, SB_EPOLICY, from,
					      "band from values must be in increasing order: "
					      "each band starts above the one before it");
	}
	*out = b;
	*nout = (uint16_t)len;
	return SB_OK;
}

static const char *const adjust_keys[] = {"when", "deductible", "deductible_factor", "repeat",
					  "rate", "bands", "mode", "rate_delta", "cap", "skip",
					  "penalty", "pay_first", "floor", NULL};
static const char *const mode_names[] = {"above_deductible", "cumulative", NULL};

static sb_status compile_adjust(sb_comp *c, sb_ynode n, const sb_layer *layer,
				sb_adjust *a)
{
	sb_status st = sb_ynode_check_keys(n, "an adjust entry", adjust_keys, c->d);
	if (st)
		return st;
	a->src = sb_ynode_src(n);
	sb_ynode v;
	if ((v = sb_ynode_get(n, "when")).n && (st = sb_compile_cond(c, v, &a->when)))
		return st;
	if ((v = sb_ynode_get(n, "deductible")).n) {
		if ((st = sb_compile_val(c, v, "deductible", 0, &a->deductible)))
			return st;
		a->has |= SB_A_DEDUCTIBLE;
	}
	if ((v = sb_ynode_get(n, "deductible_factor")).n) {
		if ((st = sb_ynode_bp(v, "deductible_factor", 0, 1000000, &a->factor_bp, c->d)))
			return st;
		a->has |= SB_A_FACTOR;
	}
	if ((v = sb_ynode_get(n, "repeat")).n) {
		if (layer->scope == SB_SCOPE_YEAR)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "repeat applies only to a layer with scope: visit");
		if ((st = sb_compile_val(c, v, "repeat", 0, &a->repeat)))
			return st;
		a->has |= SB_A_REPEAT;
	}
	if ((v = sb_ynode_get(n, "rate")).n) {
		if ((st = sb_compile_val(c, v, "rate", SB_V_RATE, &a->rate)))
			return st;
		a->has |= SB_A_RATE;
	}
	if ((v = sb_ynode_get(n, "bands")).n) {
		if (a->has & SB_A_RATE)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "an adjust entry has both rate and bands: give one");
		if ((st = compile_bands(c, v, &a->bands, &a->nbands)))
			return st;
		a->has |= SB_A_BANDS;
	}
	if ((v = sb_ynode_get(n, "mode")).n) {
		if ((st = sb_compile_enum(v, "mode", mode_names, &a->mode, c->d)))
			return st;
		a->has |= SB_A_MODE;
	}
	if ((v = sb_ynode_get(n, "rate_delta")).n) {
		if ((st = sb_ynode_bp(v, "rate_delta", -10000, 10000, &a->delta_bp, c->d)))
			return st;
		a->has |= SB_A_DELTA;
	}
	if ((v = sb_ynode_get(n, "cap")).n) {
		if ((st = sb_compile_val(c, v, "cap", SB_V_NONE, &a->cap)))
			return st;
		a->has |= SB_A_CAP;
	}
	if ((v = sb_ynode_get(n, "pay_first")).n) {
		if ((st = need_v2(c, v, "pay_first")) ||
		    (st = sb_compile_val(c, v, "pay_first", SB_V_RATE, &a->pay_first)))
			return st;
		a->has |= SB_A_PAY_FIRST;
	}
	if ((v = sb_ynode_get(n, "floor")).n) {
		if ((st = need_v2(c, v, "floor")) ||
		    (st = sb_compile_val(c, v, "floor", SB_V_NONE, &a->floor)))
			return st;
		a->has |= SB_A_FLOOR;
	}
	bool flag;
	if ((v = sb_ynode_get(n, "skip")).n) {
		if ((st = sb_ynode_bool(v, "skip", &flag, c->d)))
			return st;
		if (flag)
			a->has |= SB_A_SKIP;
	}
	if ((v = sb_ynode_get(n, "penalty")).n) {
		if ((st = sb_ynode_bool(v, "penalty", &flag, c->d)))
			return st;
		if (flag)
			a->has |= SB_A_PENALTY;
	}
	if (!(a->has & ~(uint32_t)SB_A_PENALTY))
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "an adjust entry changes nothing: give at least one of "
				      "deductible, deductible_factor, repeat, rate, bands, mode, "
				      "rate_delta, cap, skip, pay_first, floor");
	return SB_OK;
}

static const char *const base_names[] = {"in_scope", "in_scope_and_pre_selfpay", NULL};
static const char *const scope_names[] = {"visit", "year", NULL};

static sb_status word_text(sb_comp *c, sb_ynode n, const char *what, const char **out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (!t)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s must be text", what);
	if (!(*out = sb_arena_strndup(c->arena, t, len)))
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	return SB_OK;
}

/* An earlier layer of the version by id: its index, or an error. */
static sb_status earlier_layer(sb_comp *c, sb_ynode n, const char *what, const sb_layer *l,
			       int16_t *out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	for (size_t i = 0; t && i < c->nlayers; i++)
		if (strlen(c->layers[i].id) == len && !memcmp(c->layers[i].id, t, len)) {
			*out = (int16_t)i;
			return SB_OK;
		}
	return sb_ynode_error(c->d, SB_EPOLICY, n,
			      "layer %s: %s names \"%.*s\", which is not a layer listed before it "
			      "in this version", l->id, what, (int)(t ? len : 0), t ? t : "");
}

/* base: {above_cap_of: layer} or {in_scope: share, pre_selfpay: share,
 * over_limit: share, out_of_scope: share} */
static sb_status compile_base(sb_comp *c, sb_ynode n, sb_layer *l)
{
	static const char *const keys[] = {"in_scope", "pre_selfpay", "over_limit", "out_of_scope",
					   "above_cap_of", NULL};
	sb_status st = sb_ynode_check_keys(n, "a base", keys, c->d);
	if (st)
		return st;
	l->v2 = true;
	sb_ynode above = sb_ynode_get(n, "above_cap_of");
	if (above.n) {
		if (sb_ynode_len(n) != 1)
			return sb_ynode_error(c->d, SB_EPOLICY, n,
					      "base {above_cap_of: layer} takes no other parts: it is the "
					      "part of that layer's base above its cap point");
		if ((st = earlier_layer(c, above, "above_cap_of", l, &l->above)))
			return st;
		sb_layer *e = &c->layers[l->above];
		if (e->cap.kind == SB_VAL_NONE && e->cap_claim.kind == SB_VAL_UNSET)
			return sb_ynode_error(c->d, SB_EPOLICY, above,
					      "layer %s: above_cap_of names %s, which has no cap", l->id,
					      e->id);
		if (e->has_lump)
			return sb_ynode_error(c->d, SB_EPOLICY, above,
					      "layer %s: above_cap_of names %s, which pays a lump", l->id,
					      e->id);
		e->cap_point_used = true;
		e->v2 = true;
		memcpy(l->part_bp, e->part_bp, sizeof l->part_bp);
		return SB_OK;
	}
	if (!sb_ynode_len(n))
		return sb_ynode_error(c->d, SB_EPOLICY, n, "a base map names at least one part");
	for (int i = 0; i < SB_PART_N; i++) {
		sb_ynode v = sb_ynode_get(n, sb_part_names[i]);
		if (v.n && (st = sb_ynode_bp(v, sb_part_names[i], 0, 10000, &l->part_bp[i], c->d)))
			return st;
	}
	return SB_OK;
}

/* Whole years 0-99. */
static sb_status years_val(sb_comp *c, sb_ynode n, const char *what, int16_t *out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	int64_t bp;
	const char *why;
	if (!t || sb_bp_parse(t, len, 0, &bp, &why) || bp % 10000 || bp < 0 || bp > 990000)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s must be whole years from 0 to 99", what);
	*out = (int16_t)(bp / 10000);
	return SB_OK;
}

/* continuity: {after_years, cap_per_year, cap_per_claimless_year, cap_max,
 *              rate_per_year, rate_max} */
static sb_status compile_continuity(sb_comp *c, sb_ynode n, sb_layer *l)
{
	static const char *const keys[] = {"after_years", "cap_per_year", "cap_per_claimless_year",
					   "cap_max", "rate_per_year", "rate_max", NULL};
	sb_status st = sb_ynode_check_keys(n, "continuity", keys, c->d);
	if (st)
		return st;
	sb_ynode v;
	l->has_continuity = true;
	l->cont_cap_year.kind = l->cont_cap_claimless.kind = l->cont_cap_max.kind = SB_VAL_UNSET;
	l->cont_rate_max = -1;
	if ((v = sb_ynode_get(n, "after_years")).n &&
	    (st = years_val(c, v, "continuity.after_years", &l->cont_after)))
		return st;
	if ((v = sb_ynode_get(n, "cap_per_year")).n &&
	    (st = sb_compile_val(c, v, "continuity.cap_per_year", 0, &l->cont_cap_year)))
		return st;
	if ((v = sb_ynode_get(n, "cap_per_claimless_year")).n &&
	    (st = sb_compile_val(c, v, "continuity.cap_per_claimless_year", 0,
				 &l->cont_cap_claimless)))
		return st;
	if ((v = sb_ynode_get(n, "cap_max")).n &&
	    (st = sb_compile_val(c, v, "continuity.cap_max", 0, &l->cont_cap_max)))
		return st;
	if ((v = sb_ynode_get(n, "rate_per_year")).n &&
	    (st = sb_ynode_bp(v, "continuity.rate_per_year", 0, 10000, &l->cont_rate_year, c->d)))
		return st;
	if ((v = sb_ynode_get(n, "rate_max")).n &&
	    (st = sb_ynode_bp(v, "continuity.rate_max", 0, 10000, &l->cont_rate_max, c->d)))
		return st;
	if (l->cont_cap_year.kind == SB_VAL_UNSET && l->cont_cap_claimless.kind == SB_VAL_UNSET &&
	    !l->cont_rate_year)
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "continuity raises nothing: give cap_per_year, "
				      "cap_per_claimless_year or rate_per_year");
	return SB_OK;
}

/* classes: {implant: {rate: 0.5}, relaxed: {pay_first: 0.3}} */
static sb_status compile_classes(sb_comp *c, sb_ynode n, sb_layer *l)
{
	static const char *const keys[] = {"rate", "pay_first", NULL};
	if (!sb_ynode_is_map(n) || !sb_ynode_len(n) || sb_ynode_len(n) > 8)
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "classes must map 1 to 8 item classes to {rate, pay_first}, e.g. "
				      "{implant: {rate: 0.5}, relaxed: {pay_first: 0.3}}");
	if (l->scope != SB_SCOPE_VISIT || l->has_lump)
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "classes apply to a layer with scope: visit and a rate or bands");
	for (size_t i = 0; i < sb_ynode_len(n); i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		if (!kt || !sb_is_word(kt, kl))
			return sb_ynode_error(c->d, SB_EPOLICY, k,
					      "an item class must be a word of a-z, 0-9 and _, e.g. implant");
		sb_status st = sb_ynode_check_keys(v, "an item class", keys, c->d);
		if (st)
			return st;
		struct sb_layer_class *cl = &l->classes[i];
		cl->sym = sb_policyset_intern(c->set, SB_SYM_CLASS, kt, kl);
		if (cl->sym < 0)
			return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		cl->rate = cl->pay_first = -1;
		sb_ynode r = sb_ynode_get(v, "rate"), pf = sb_ynode_get(v, "pay_first");
		if (!r.n && !pf.n)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "item class %.*s needs rate or pay_first", (int)kl, kt);
		if (r.n && (st = sb_ynode_bp(r, "rate", 0, 10000, &cl->rate, c->d)))
			return st;
		if (pf.n && (st = sb_ynode_bp(pf, "pay_first", 0, 10000, &cl->pay_first, c->d)))
			return st;
	}
	l->nclasses = (uint8_t)sb_ynode_len(n);
	return SB_OK;
}

/* waiting: {months: 3, per_uncovered_year: 1, layers: [ids]} (a version key) */
sb_status sb_compile_waiting(sb_comp *c, sb_ynode n, sb_version *ver)
{
	static const char *const keys[] = {"months", "per_uncovered_year", "layers", NULL};
	sb_status st = sb_ynode_check_keys(n, "waiting", keys, c->d);
	if (st || (st = need_v2(c, n, "waiting")))
		return st;
	sb_ynode v;
	ver->has_waiting = true;
	if (!(v = sb_ynode_get(n, "months")).n)
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "waiting needs months: the waiting period after a late "
				      "enrolment, e.g. {months: 3, per_uncovered_year: 1}");
	if ((st = years_val(c, v, "waiting.months", &ver->wait_months)))
		return st;
	if ((v = sb_ynode_get(n, "per_uncovered_year")).n &&
	    (st = years_val(c, v, "waiting.per_uncovered_year", &ver->wait_per_year)))
		return st;
	v = sb_ynode_get(n, "layers");
	if (!v.n) {
		ver->wait_layers = ver->nlayers >= 64 ? ~(uint64_t)0 :
				   ((uint64_t)1 << ver->nlayers) - 1;
		return SB_OK;
	}
	if (!sb_ynode_is_seq(v) || !sb_ynode_len(v))
		return sb_ynode_error(c->d, SB_EPOLICY, v,
				      "waiting.layers must be a non-empty list of layer ids");
	for (size_t i = 0; i < sb_ynode_len(v); i++) {
		sb_ynode item = sb_ynode_item(v, i);
		size_t len;
		const char *t = sb_ynode_text(item, &len);
		uint16_t j = 0;
		while (t && j < ver->nlayers &&
		       !(strlen(ver->layers[j].id) == len && !memcmp(ver->layers[j].id, t, len)))
			j++;
		if (!t || j == ver->nlayers)
			return sb_ynode_error(c->d, SB_EPOLICY, item,
					      "waiting.layers names \"%.*s\", which is not a layer of "
					      "this version", (int)(t ? len : 0), t ? t : "");
		ver->wait_layers |= (uint64_t)1 << j;
	}
	return SB_OK;
}

static sb_status compile_layer_v2(sb_comp *c, const sb_rawlayer *raw, sb_layer *l)
{
	static const char *const per_names[] = {"claim", "year", NULL};
	sb_status st;
	sb_ynode v;
	l->pay_first.kind = l->cap_claim.kind = l->cap_month.kind = l->floor.kind =
		l->lump.kind = l->lump_above.kind = SB_VAL_UNSET;
	for (int k = SB_LK_PAY_FIRST; k < SB_LK_N; k++)
		if (raw->keys[k].n && (st = need_v2(c, raw->keys[k], sb_layer_keys[k])))
			return st;
	if ((v = raw->keys[SB_LK_PAY_FIRST]).n &&
	    (st = sb_compile_val(c, v, "pay_first", SB_V_RATE, &l->pay_first)))
		return st;
	if ((v = raw->keys[SB_LK_DEDUCTIBLE_PER]).n) {
		uint8_t per;
		if ((st = sb_compile_enum(v, "deductible_per", per_names, &per, c->d)))
			return st;
		if (per && (l->scope != SB_SCOPE_VISIT || l->mode != SB_MODE_ABOVE))
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "deductible_per: year applies to a layer with scope: visit "
					      "and mode: above_deductible (a per-stay deductible charged "
					      "once a year at the highest level used)");
		l->deduct_year = per == 1;
	}
	if ((v = raw->keys[SB_LK_CAPS]).n) {
		static const char *const keys[] = {"claim", "month", "year", NULL};
		if ((st = sb_ynode_check_keys(v, "caps", keys, c->d)))
			return st;
		sb_ynode k;
		if ((k = sb_ynode_get(v, "year")).n) {
			if (raw->keys[SB_LK_CAP].n)
				return sb_ynode_error(c->d, SB_EPOLICY, k,
						      "layer %s has cap and caps.year: give one", l->id);
			if ((st = sb_compile_val(c, k, "caps.year", SB_V_NONE, &l->cap)))
				return st;
		}
		if ((k = sb_ynode_get(v, "claim")).n &&
		    (st = sb_compile_val(c, k, "caps.claim", 0, &l->cap_claim)))
			return st;
		if ((k = sb_ynode_get(v, "month")).n &&
		    (st = sb_compile_val(c, k, "caps.month", 0, &l->cap_month)))
			return st;
		if (!sb_ynode_len(v))
			return sb_ynode_error(c->d, SB_EPOLICY, v, "caps names none of claim, month, year");
	}
	if (l->cap.kind == SB_VAL_OF && l->cap.of == SB_OF_CAP)
		return sb_ynode_error(c->d, SB_EPOLICY, raw->keys[SB_LK_CAP].n ? raw->keys[SB_LK_CAP] :
				      raw->keys[SB_LK_CAPS], "the annual cap cannot be a share of itself");
	if ((v = raw->keys[SB_LK_FLOOR]).n && (st = sb_compile_val(c, v, "floor", 0, &l->floor)))
		return st;
	if ((v = raw->keys[SB_LK_LUMP]).n) {
		static const char *const keys[] = {"amount", "above", NULL};
		if ((st = sb_ynode_check_keys(v, "a lump", keys, c->d)))
			return st;
		sb_ynode a = sb_ynode_get(v, "amount"), b = sb_ynode_get(v, "above");
		if (!a.n)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "a lump needs amount: what is paid once a policy year");
		if ((st = sb_compile_val(c, a, "lump amount", 0, &l->lump)))
			return st;
		l->lump_above.kind = SB_VAL_FEN;
		if (b.n && (st = sb_compile_val(c, b, "lump above", 0, &l->lump_above)))
			return st;
		l->has_lump = true;
		if (l->floor.kind != SB_VAL_UNSET || l->pay_first.kind != SB_VAL_UNSET ||
		    raw->keys[SB_LK_DEDUCTIBLE].n)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "layer %s pays a lump: it takes no deductible, pay_first or "
					      "floor (lump.above is its trigger)", l->id);
	}
	if ((v = raw->keys[SB_LK_AFTER]).n) {
		static const char *const keys[] = {"capped", NULL};
		sb_ynode k = sb_ynode_get(v, "capped");
		if ((st = sb_ynode_check_keys(v, "after", keys, c->d)))
			return st;
		if (!k.n)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "after needs capped: the earlier layer whose annual cap "
					      "must be used up");
		if ((st = earlier_layer(c, k, "after.capped", l, &l->after)))
			return st;
		c->layers[l->after].v2 = true; /* it notes whether its cap is used up */
		if (c->layers[l->after].cap.kind == SB_VAL_NONE)
			return sb_ynode_error(c->d, SB_EPOLICY, k,
					      "layer %s: after.capped names %s, which has no annual cap",
					      l->id, c->layers[l->after].id);
	}
	if ((v = raw->keys[SB_LK_CONTINUITY]).n && (st = compile_continuity(c, v, l)))
		return st;
	if ((v = raw->keys[SB_LK_CLASSES]).n && (st = compile_classes(c, v, l)))
		return st;
	for (int k = SB_LK_PAY_FIRST; k < SB_LK_N; k++)
		if (raw->keys[k].n)
			l->v2 = true;
	if (l->deductible.kind == SB_VAL_BY_STAY || l->deductible.kind == SB_VAL_OF ||
	    l->cap.kind == SB_VAL_OF)
		l->v2 = true;
	return SB_OK;
}

uint64_t sb_id_key(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* The key of symbol sym of kind; refuses (at n) an id whose key another
 * id of the same kind in the set already has. */
static sb_status id_key(sb_comp *c, sb_ynode n, sb_symkind kind, int sym, uint64_t *out)
{
	const char *name = sb_policyset_symbol_name(c->set, kind, sym);
	uint64_t key = sb_id_key(name, strlen(name));
	int count = sb_policyset_symbol_count(c->set, kind);
	for (int i = 0; i < count; i++) {
		const char *other = sb_policyset_symbol_name(c->set, kind, i);
		if (i != sym && sb_id_key(other, strlen(other)) == key)
			return sb_ynode_error(c->d, SB_EPOLICY, n,
					      "%s id \"%s\" has the same 64-bit key as \"%s\": "
					      "accumulators could not tell them apart; rename one",
					      kind == SB_SYM_POOL ? "pool" : "layer", name, other);
	}
	*out = key;
	return SB_OK;
}

sb_status sb_compile_layer(sb_comp *c, const sb_rawlayer *raw, sb_layer *l)
{
	sb_status st;
	sb_ynode v;
	memset(l, 0, sizeof *l);
	l->src = sb_ynode_src(raw->node);
	l->id = raw->id;
	l->sym = sb_policyset_intern(c->set, SB_SYM_LAYER, raw->id, strlen(raw->id));
	if (l->sym < 0)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if ((st = id_key(c, raw->node, SB_SYM_LAYER, l->sym, &l->key)))
		return st;
	l->name = l->fund_code = "";
	if ((v = raw->keys[SB_LK_NAME]).n && (st = word_text(c, v, "name", &l->name)))
		return st;
	if ((v = raw->keys[SB_LK_FUND_CODE]).n && (st = word_text(c, v, "fund_code", &l->fund_code)))
		return st;
	if ((v = raw->keys[SB_LK_WHEN]).n && (st = sb_compile_cond(c, v, &l->when)))
		return st;
	l->above = l->after = -1;
	if ((v = raw->keys[SB_LK_BASE]).n && sb_ynode_is_map(v)) {
		if ((st = need_v2(c, v, "a base map")) || (st = compile_base(c, v, l)))
			return st;
	} else if (v.n && (st = sb_compile_enum(v, "base", base_names, &l->base, c->d))) {
		return st;
	}
	if (l->above < 0 && !l->v2) {
		l->part_bp[SB_PART_IN_SCOPE] = 10000;
		if (l->base == SB_BASE_WITH_PRE_SELFPAY)
			l->part_bp[SB_PART_PRE_SELFPAY] = 10000;
	}
	if ((v = raw->keys[SB_LK_EXCLUDE_PENALTY]).n &&
	    (st = sb_ynode_bool(v, "exclude_penalty", &l->exclude_penalty, c->d)))
		return st;
	if ((v = raw->keys[SB_LK_SCOPE]).n && (st = sb_compile_enum(v, "scope", scope_names, &l->scope, c->d)))
		return st;
	if ((v = raw->keys[SB_LK_MODE]).n && (st = sb_compile_enum(v, "mode", mode_names, &l->mode, c->d)))
		return st;
	l->deductible.kind = SB_VAL_FEN;
	l->deductible.src = l->src;
	if ((v = raw->keys[SB_LK_DEDUCTIBLE]).n &&
	    (st = sb_compile_val(c, v, "deductible", 0, &l->deductible)))
		return st;
	if ((v = raw->keys[SB_LK_REPEAT]).n) {
		if (l->scope == SB_SCOPE_YEAR)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "repeat applies only to a layer with scope: visit "
					      "(a per-claim deductible for the 2nd and later claims)");
		if ((st = sb_compile_val(c, v, "repeat", 0, &l->repeat)))
			return st;
	}
	l->cap.kind = SB_VAL_NONE;
	if ((v = raw->keys[SB_LK_CAP]).n && (st = sb_compile_val(c, v, "cap", SB_V_NONE, &l->cap)))
		return st;
	sb_ynode rate = raw->keys[SB_LK_RATE], bands = raw->keys[SB_LK_BANDS];
	if (rate.n && bands.n)
		return sb_ynode_error(c->d, SB_EPOLICY, bands,
				      "layer %s has both rate and bands: give one (rate is a "
				      "single band from 0)", l->id);
	if (raw->keys[SB_LK_LUMP].n) {
		if (rate.n || bands.n)
			return sb_ynode_error(c->d, SB_EPOLICY, rate.n ? rate : bands,
					      "layer %s pays a lump: it takes no rate or bands", l->id);
	} else if (!rate.n && !bands.n) {
		return sb_ynode_error(c->d, SB_EPOLICY, raw->node,
				      "layer %s needs rate or bands (or, format 2, lump)", l->id);
	}
	if (!rate.n && !bands.n) {
		l->nbands = 0;
	} else if (rate.n) {
		l->bands = sb_arena_alloc(c->arena, sizeof *l->bands);
		if (!l->bands)
			return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		l->nbands = 1;
		l->bands[0].from.kind = SB_VAL_FEN;
		if ((st = sb_compile_val(c, rate, "rate", SB_V_RATE, &l->bands[0].rate)))
			return st;
	} else if ((st = compile_bands(c, bands, &l->bands, &l->nbands))) {
		return st;
	}
	l->pool = -1;
	if ((v = raw->keys[SB_LK_POOL]).n) {
		size_t len;
		const char *t = sb_ynode_text(v, &len);
		if (!t || !sb_is_word(t, len))
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "pool must be a word of a-z, 0-9 and _ starting with a letter");
		l->pool = sb_policyset_intern(c->set, SB_SYM_POOL, t, len);
	} else {
		l->pool = sb_policyset_intern(c->set, SB_SYM_POOL, l->id, strlen(l->id));
	}
	if (l->pool < 0)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if ((st = id_key(c, raw->keys[SB_LK_POOL].n ? raw->keys[SB_LK_POOL] : raw->node,
			 SB_SYM_POOL, l->pool, &l->pool_key)))
		return st;
	if ((v = raw->keys[SB_LK_ADJUST]).n) {
		if (!sb_ynode_is_seq(v))
			return sb_ynode_error(c->d, SB_EPOLICY, v, "adjust must be a list of entries");
		size_t len = sb_ynode_len(v);
		if (len > SB_MAX_ADJUST)
			return sb_ynode_error(c->d, SB_ELIMIT, v, "at most %d adjust entries in a layer",
					      SB_MAX_ADJUST);
		l->adjust = sb_arena_alloc(c->arena, (len ? len : 1) * sizeof *l->adjust);
		if (!l->adjust)
			return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		l->nadjust = (uint16_t)len;
		for (size_t i = 0; i < len; i++)
			if ((st = compile_adjust(c, sb_ynode_item(v, i), l, &l->adjust[i])))
				return st;
	}
	if ((st = compile_layer_v2(c, raw, l)))
		return st;
	for (uint16_t i = 0; i < l->nadjust; i++)
		if (l->adjust[i].has & (SB_A_PAY_FIRST | SB_A_FLOOR))
			l->v2 = true;
	return SB_OK;
}

/* ---- monitoring rules ------------------------------------------------------ */

static const char *const rule_keys[] = {"id", "name", "when", "measure", "window", "unit",
					"threshold", "per_household", NULL};
static const char *const measure_names[] = {"oop", "oop_in_scope", NULL};
static const char *const window_names[] = {"year", "12m", NULL};
static const char *const unit_names[] = {"person", "household", NULL};

sb_status sb_compile_rules(sb_comp *c, sb_ynode n, sb_rule **out, uint16_t *nout)
{
	if (!sb_ynode_is_seq(n))
		return sb_ynode_error(c->d, SB_EPOLICY, n, "monitoring must be a list of rules");
	size_t len = sb_ynode_len(n);
	if (len > SB_MAX_RULES)
		return sb_ynode_error(c->d, SB_ELIMIT, n, "at most %d monitoring rules in a version",
				      SB_MAX_RULES);
	sb_rule *r = sb_arena_alloc(c->arena, (len ? len : 1) * sizeof *r);
	if (!r)
		return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (size_t i = 0; i < len; i++) {
		sb_ynode item = sb_ynode_item(n, i), v;
		sb_status st = sb_ynode_check_keys(item, "a monitoring rule", rule_keys, c->d);
		if (st)
			return st;
		r[i].src = sb_ynode_src(item);
		v = sb_ynode_get(item, "id");
		size_t il;
		const char *it = sb_ynode_text(v, &il);
		if (!v.n || !it || !sb_is_word(it, il))
			return sb_ynode_error(c->d, SB_EPOLICY, v.n ? v : item,
					      "a monitoring rule needs an id: a word of a-z, 0-9 and _");
		for (size_t j = 0; j < i; j++)
			if (strlen(r[j].id) == il && !memcmp(r[j].id, it, il))
				return sb_ynode_error(c->d, SB_EPOLICY, v,
						      "duplicate monitoring rule id \"%.*s\"", (int)il, it);
		if ((st = word_text(c, v, "id", &r[i].id)))
			return st;
		if ((r[i].sym = sb_policyset_intern(c->set, SB_SYM_RULE, it, il)) < 0)
			return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		r[i].name = "";
		if ((v = sb_ynode_get(item, "name")).n && (st = word_text(c, v, "name", &r[i].name)))
			return st;
		if ((v = sb_ynode_get(item, "when")).n && (st = sb_compile_cond(c, v, &r[i].when)))
			return st;
		if ((v = sb_ynode_get(item, "measure")).n &&
		    (st = sb_compile_enum(v, "measure", measure_names, &r[i].measure, c->d)))
			return st;
		if ((v = sb_ynode_get(item, "window")).n &&
		    (st = sb_compile_enum(v, "window", window_names, &r[i].window, c->d)))
			return st;
		if ((v = sb_ynode_get(item, "unit")).n &&
		    (st = sb_compile_enum(v, "unit", unit_names, &r[i].unit, c->d)))
			return st;
		if ((v = sb_ynode_get(item, "per_household")).n &&
		    (st = sb_ynode_bool(v, "per_household", &r[i].per_household, c->d)))
			return st;
		if (!(v = sb_ynode_get(item, "threshold")).n)
			return sb_ynode_error(c->d, SB_EPOLICY, item,
					      "monitoring rule %s needs a threshold (an amount or "
					      "{income_share: ...})", r[i].id);
		if ((st = sb_compile_val(c, v, "threshold", 0, &r[i].threshold)))
			return st;
	}
	*out = r;
	*nout = (uint16_t)len;
	return SB_OK;
}

/* ---- identity names ---------------------------------------------------------------- */

int sb_policyset_identity_declared(const sb_policyset *set, int sym)
{
	for (size_t i = 0; sym >= 0 && i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t j = 0; j < p->nidentities; j++)
			if (p->identities[j] == sym)
				return 1;
	}
	return 0;
}

const char *sb_policyset_identity_label(const sb_policyset *set, int sym)
{
	for (size_t i = 0; sym >= 0 && i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t j = 0; j < p->nidentities; j++)
			if (p->identities[j] == sym && p->identity_labels[j])
				return p->identity_labels[j];
	}
	return NULL;
}
