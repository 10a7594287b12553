/* funding.c: a version's `funding` block (policy-format.md "Funding"):
 * contributions, the fiscal subsidy, premium subsidies by identity, the
 * assistance fund's layers and budget, warning bands of months of payment
 * and the province's adjustment fund; compiled into plain sb_funding
 * entries dated by `from` that `sanbao fund` and `sanbao project` read. A
 * file's entry is its parent's entry in force on the date with the file's
 * own entries up to that date laid over it, key by key.
 */
#include <stdio.h>
#include <string.h>

#include "policy/load_int.h"
#include "sanbao/fund.h"

const char *const sb_fund_scheme_names[] = { "employee", "resident", "assistance", NULL };

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

/* A word of a-z, 0-9 and _, copied into the arena. */
static sb_status word(sb_comp *c, sb_ynode n, const char *what, const char **out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (!t || !sb_is_word(t, len))
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "%s must be a word of a-z, 0-9 and _ starting with a letter",
				      what);
	if (!(*out = sb_arena_strndup(c->arena, t, len)))
		return oom(c->d);
	return SB_OK;
}

static sb_status text(sb_comp *c, sb_ynode n, const char *what, const char **out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (!t)
		return sb_ynode_error(c->d, SB_EPOLICY, n, "%s must be text", what);
	if (!(*out = sb_arena_strndup(c->arena, t, len)))
		return oom(c->d);
	return SB_OK;
}

/* Months of payment: a number >= 0 with at most 2 decimals, as hundredths. */
static sb_status months(sb_comp *c, sb_ynode n, const char *what, int64_t *out)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	const char *why = "is not a number";
	if (t && sb_money_parse(t, len, out, &why) == SB_OK && *out >= 0 && *out <= 120000)
		return SB_OK;
	return sb_ynode_error(c->d, SB_EPOLICY, n,
			      "%s must be months of payment from 0 to 1200 with at most 2 "
			      "decimals, e.g. 3 or 4.5",
			      what);
}

static sb_status need_map(sb_comp *c, sb_ynode n, const char *what, const char *example)
{
	if (sb_ynode_is_map(n))
		return SB_OK;
	return sb_ynode_error(c->d, SB_EPOLICY, n, "%s must be a mapping, e.g. %s", what, example);
}

/* ---- resident ------------------------------------------------------------ */

static sb_status individual(sb_comp *c, sb_ynode n, sb_funding *f)
{
	sb_status st;
	f->ntiers = 0;
	if (sb_ynode_is_scalar(n)) {
		f->tiers[0].tier = -1;
		if ((st = sb_ynode_money(n, "individual", &f->tiers[0].individual, c->d)))
			return st;
		f->ntiers = 1;
		return SB_OK;
	}
	if (!sb_ynode_is_map(n) || !sb_ynode_len(n))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"individual must be yuan a year (400) or a map from tier to yuan "
			"with `other` for everyone else, e.g. {student: 300, other: 400}");
	size_t len = sb_ynode_len(n);
	if (len > SB_FUND_MAX_TIERS)
		return sb_ynode_error(c->d, SB_ELIMIT, n, "at most %d tiers in individual",
				      SB_FUND_MAX_TIERS);
	bool other = false;
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		if (!kt || !sb_is_word(kt, kl))
			return sb_ynode_error(
				c->d, SB_EPOLICY, k,
				"a tier must be a word of a-z, 0-9 and _ (the policy's "
				"own word, as persons.csv's tier column writes it), or other");
		sb_fund_tier *t = &f->tiers[f->ntiers];
		if (kl == 5 && !memcmp(kt, "other", 5)) {
			t->tier = -1;
			other = true;
		} else {
			int sym = sb_policyset_intern(c->set, SB_SYM_TIER, kt, kl);
			if (sym == SB_SYM_OOM)
				return oom(c->d);
			if (sym < 0)
				return sb_ynode_error(c->d, SB_ELIMIT, k,
						      "too many tiers across policies (at most %d)",
						      SB_MAX_MASK_SYMS);
			t->tier = sym;
		}
		for (uint16_t j = 0; j < f->ntiers; j++)
			if (f->tiers[j].tier == t->tier)
				return sb_ynode_error(c->d, SB_EPOLICY, k,
						      "tier \"%.*s\" is given twice", (int)kl, kt);
		if ((st = sb_ynode_money(sb_ynode_value(n, i), "individual", &t->individual, c->d)))
			return st;
		f->ntiers++;
	}
	if (!other)
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"individual by tier needs `other`: the contribution of a resident "
			"whose tier is not listed or not given, e.g. {student: 300, other: 400}");
	return SB_OK;
}

static sb_status resident(sb_comp *c, sb_ynode n, sb_funding *f)
{
	static const char *const keys[] = { "individual", "subsidy", NULL };
	sb_status st;
	if ((st = need_map(c, n, "resident", "{individual: 400, subsidy: 670}")) ||
	    (st = sb_ynode_check_keys(n, "funding.resident", keys, c->d)))
		return st;
	sb_ynode v = sb_ynode_get(n, "individual");
	if (v.n && (st = individual(c, v, f)))
		return st;
	v = sb_ynode_get(n, "subsidy");
	if (v.n && (st = sb_ynode_money(v, "subsidy", &f->subsidy, c->d)))
		return st;
	f->has_resident = true;
	if (!f->ntiers)
		return sb_ynode_error(c->d, SB_EPOLICY, n,
				      "resident funding needs individual: the yearly individual "
				      "contribution (个人缴费), e.g. 400");
	return SB_OK;
}

/* ---- employee ------------------------------------------------------------ */

static sb_status employee(sb_comp *c, sb_ynode n, sb_funding *f)
{
	static const char *const keys[] = { "employer",         "employee", "employer_to_pool",
					    "employee_to_pool", "base_min", "base_max",
					    "base_default",     NULL };
	sb_status st;
	if ((st = need_map(c, n, "employee", "{employer: 0.08, employee: 0.02}")) ||
	    (st = sb_ynode_check_keys(n, "funding.employee", keys, c->d)))
		return st;
	bool had = f->has_employee;
	struct {
		const char *key;
		int64_t *bp;
	} rates[] = { { "employer", &f->employer_bp },
		      { "employee", &f->employee_bp },
		      { "employer_to_pool", &f->employer_to_pool_bp },
		      { "employee_to_pool", &f->employee_to_pool_bp } };
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		sb_ynode v = sb_ynode_get(n, rates[i].key);
		if (v.n && (st = sb_ynode_bp(v, rates[i].key, 0, 10000, rates[i].bp, c->d)))
			return st;
	}
	if (!had && (!sb_ynode_get(n, "employer").n || !sb_ynode_get(n, "employee").n))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"employee funding needs employer and employee: the shares of the "
			"wage base each pays, e.g. {employer: 0.08, employee: 0.02}");
	struct {
		const char *key;
		bool *has;
		sb_fen *fen;
	} bases[] = { { "base_min", &f->has_base_min, &f->base_min },
		      { "base_max", &f->has_base_max, &f->base_max },
		      { "base_default", &f->has_base_default, &f->base_default } };
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		sb_ynode v = sb_ynode_get(n, bases[i].key);
		if (!v.n)
			continue;
		if ((st = sb_ynode_money(v, bases[i].key, bases[i].fen, c->d)))
			return st;
		*bases[i].has = true;
	}
	if (f->has_base_min && f->has_base_max && f->base_min > f->base_max)
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"base_min is above base_max: the monthly wage base's floor must "
			"not exceed its ceiling");
	f->has_employee = true;
	return SB_OK;
}

/* ---- assistance ---------------------------------------------------------- */

static int identity_rank(const sb_comp *c, int sym)
{
	for (size_t i = 0; i < c->nidentities; i++)
		if (c->identities[i] == sym)
			return (int)i;
	return -1;
}

static sb_status subsidies(sb_comp *c, sb_ynode n, sb_funding *f)
{
	static const char *const keys[] = { "amount", "share", NULL };
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"subsidies must map an identity to full, {amount: A} or {share: r}, "
			"e.g. {tekun: full, dibao: {share: 0.7}}");
	size_t len = sb_ynode_len(n);
	if (len > SB_FUND_MAX_SUBSIDIES)
		return sb_ynode_error(c->d, SB_ELIMIT, n, "at most %d identities in subsidies",
				      SB_FUND_MAX_SUBSIDIES);
	sb_fund_subsidy tmp[SB_FUND_MAX_SUBSIDIES];
	int rank[SB_FUND_MAX_SUBSIDIES];
	sb_status st;
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		int sym = kt ? sb_policyset_symbol(c->set, SB_SYM_IDENTITY, kt, kl) : -1;
		int r = sym >= 0 ? identity_rank(c, sym) : -1;
		if (r < 0)
			return sb_ynode_error(
				c->d, SB_EPOLICY, k,
				"\"%.*s\" is not an identity of this policy: subsidies are "
				"keyed by the ids of its identities list",
				kt ? (int)(kl > 40 ? 40 : kl) : 0, kt ? kt : "");
		sb_fund_subsidy *s = &tmp[i];
		s->identity = sym;
		rank[i] = r;
		if (sb_ynode_eq(v, "full")) {
			s->kind = SB_SUBSIDY_FULL;
			s->value = 0;
		} else if (sb_ynode_is_map(v) && sb_ynode_len(v) == 1) {
			if ((st = sb_ynode_check_keys(v, "a premium subsidy", keys, c->d)))
				return st;
			sb_ynode a = sb_ynode_get(v, "amount");
			if (a.n) {
				s->kind = SB_SUBSIDY_AMOUNT;
				st = sb_ynode_money(a, "amount", &s->value, c->d);
			} else {
				s->kind = SB_SUBSIDY_SHARE;
				st = sb_ynode_bp(sb_ynode_get(v, "share"), "share", 0, 10000,
						 &s->value, c->d);
			}
			if (st)
				return st;
		} else {
			return sb_ynode_error(
				c->d, SB_EPOLICY, v,
				"a premium subsidy is full (全额资助), {amount: A} (定额, "
				"yuan a year) or {share: r} (a share of the individual "
				"contribution)");
		}
	}
	/* Priority order of the policy's identities: a person holding several
	 * gets the first one's subsidy. */
	f->nsubsidies = 0;
	for (size_t want = 0; want < c->nidentities; want++)
		for (size_t i = 0; i < len; i++)
			if ((size_t)rank[i] == want)
				f->subsidies[f->nsubsidies++] = tmp[i];
	return SB_OK;
}

static bool policy_layer(const sb_policy *pol, const char *p, size_t n)
{
	for (uint16_t v = 0; v < pol->nversions; v++)
		for (uint16_t i = 0; i < pol->versions[v].nlayers; i++) {
			const char *id = pol->versions[v].layers[i].id;
			if (strlen(id) == n && !memcmp(id, p, n))
				return true;
		}
	return false;
}

static sb_status assistance(sb_comp *c, sb_ynode n, const sb_policy *pol, sb_funding *f)
{
	static const char *const keys[] = { "layers", "budget", "subsidies", NULL };
	sb_status st;
	if ((st = need_map(c, n, "assistance",
			   "{layers: [assistance], subsidies: {tekun: full}}")) ||
	    (st = sb_ynode_check_keys(n, "funding.assistance", keys, c->d)))
		return st;
	sb_ynode v = sb_ynode_get(n, "layers");
	if (v.n) {
		if (!sb_ynode_is_seq(v))
			return sb_ynode_error(
				c->d, SB_EPOLICY, v,
				"layers must be a list of layer ids, e.g. [assistance, tilted]");
		size_t len = sb_ynode_len(v);
		if (len > SB_FUND_MAX_LAYERS)
			return sb_ynode_error(c->d, SB_ELIMIT, v, "at most %d layers",
					      SB_FUND_MAX_LAYERS);
		f->nassist_layers = 0;
		for (size_t i = 0; i < len; i++) {
			sb_ynode item = sb_ynode_item(v, i);
			size_t il;
			const char *it = sb_ynode_text(item, &il);
			if (!it || !policy_layer(pol, it, il))
				return sb_ynode_error(
					c->d, SB_EPOLICY, item,
					"\"%.*s\" is not a layer of this policy: assistance "
					"layers are ids of its versions' layers",
					it ? (int)(il > 40 ? 40 : il) : 0, it ? it : "");
			f->assist_layers[f->nassist_layers++] = sb_id_key(it, il);
		}
	}
	v = sb_ynode_get(n, "budget");
	if (v.n) {
		if (sb_ynode_is_map(v)) {
			static const char *const bkeys[] = { "per_insured", NULL };
			if ((st = sb_ynode_check_keys(v, "budget", bkeys, c->d)))
				return st;
			if (!sb_ynode_get(v, "per_insured").n)
				return sb_ynode_error(c->d, SB_EPOLICY, v,
						      "budget is yuan a year or {per_insured: A}");
			st = sb_ynode_money(sb_ynode_get(v, "per_insured"), "per_insured",
					    &f->budget, c->d);
			f->budget_per_insured = true;
		} else {
			st = sb_ynode_money(v, "budget", &f->budget, c->d);
			f->budget_per_insured = false;
		}
		if (st)
			return st;
		f->has_budget = true;
	}
	v = sb_ynode_get(n, "subsidies");
	if (v.n && (st = subsidies(c, v, f)))
		return st;
	return SB_OK;
}

/* ---- warning bands --------------------------------------------------------- */

static sb_status warning(sb_comp *c, sb_ynode n, sb_funding *f)
{
	static const char *const keys[] = { "from", "band", "name", NULL };
	if (!sb_ynode_is_seq(n) || !sb_ynode_len(n))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"warning must be a list of {from: months, band: word, name: text} "
			"in increasing from, the first from 0");
	size_t len = sb_ynode_len(n);
	if (len > SB_FUND_MAX_BANDS)
		return sb_ynode_error(c->d, SB_ELIMIT, n, "at most %d warning bands",
				      SB_FUND_MAX_BANDS);
	sb_status st;
	for (size_t i = 0; i < len; i++) {
		sb_ynode item = sb_ynode_item(n, i);
		sb_fund_band *b = &f->bands[i];
		if ((st = sb_ynode_check_keys(item, "a warning band", keys, c->d)))
			return st;
		sb_ynode from = sb_ynode_get(item, "from"), band = sb_ynode_get(item, "band");
		if (!from.n || !band.n)
			return sb_ynode_error(
				c->d, SB_EPOLICY, item,
				"a warning band needs from (months) and band (a word)");
		if ((st = months(c, from, "from", &b->from)) ||
		    (st = word(c, band, "band", &b->id)))
			return st;
		b->name = "";
		sb_ynode name = sb_ynode_get(item, "name");
		if (name.n && (st = text(c, name, "name", &b->name)))
			return st;
		if (i == 0 && b->from != 0)
			return sb_ynode_error(
				c->d, SB_EPOLICY, from,
				"the first warning band starts at from: 0 (months below it, "
				"and deficits, fall in it)");
		if (i && b->from <= f->bands[i - 1].from)
			return sb_ynode_error(c->d, SB_EPOLICY, from,
					      "warning bands must be in increasing from");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(f->bands[j].id, b->id))
				return sb_ynode_error(c->d, SB_EPOLICY, band,
						      "band \"%s\" is listed twice", b->id);
	}
	f->nbands = (uint16_t)len;
	return SB_OK;
}

/* ---- adjustment fund -------------------------------------------------------- */

static sb_status adjustment(sb_comp *c, sb_ynode n, sb_funding *f)
{
	static const char *const keys[] = { "source",    "schemes", "pay_up", "normal",
					    "emergency", "advance", NULL };
	sb_adjustment *a = &f->adjustment;
	sb_status st;
	if ((st = need_map(c, n, "adjustment", "{pay_up: 0.03, normal: {share: 0.5}}")) ||
	    (st = sb_ynode_check_keys(n, "funding.adjustment", keys, c->d)))
		return st;
	if (strcmp(c->pol->region + 2, "0000"))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"adjustment is the province's (省级调剂金): write it in the "
			"province's file (a region code ending in 0000), not in region %s",
			c->pol->region);
	if (!a->present) {
		a->schemes = 1u << SB_FUND_EMPLOYEE | 1u << SB_FUND_RESIDENT;
		a->source = "";
	}
	sb_ynode v = sb_ynode_get(n, "source");
	if (v.n && (st = text(c, v, "source", &a->source)))
		return st;
	v = sb_ynode_get(n, "schemes");
	if (v.n) {
		size_t len = sb_ynode_is_seq(v) ? sb_ynode_len(v) : 1;
		a->schemes = 0;
		for (size_t i = 0; i < len; i++) {
			uint8_t s;
			if ((st = sb_compile_enum(sb_ynode_is_seq(v) ? sb_ynode_item(v, i) : v,
						  "scheme", sb_scheme_names, &s, c->d)))
				return st;
			a->schemes |= (uint8_t)(1u << s);
		}
		if (!a->schemes)
			return sb_ynode_error(c->d, SB_EPOLICY, v,
					      "schemes needs at least one of employee, resident");
	}
	v = sb_ynode_get(n, "pay_up");
	if (v.n && (st = sb_ynode_bp(v, "pay_up", 0, 10000, &a->pay_up_bp, c->d)))
		return st;
	v = sb_ynode_get(n, "advance");
	if (v.n && (st = sb_ynode_bp(v, "advance", 0, 10000, &a->advance_bp, c->d)))
		return st;
	v = sb_ynode_get(n, "normal");
	if (v.n) {
		static const char *const nkeys[] = { "share", "weighted", NULL };
		if ((st = need_map(c, v, "normal", "{share: 0.5, weighted: true}")) ||
		    (st = sb_ynode_check_keys(v, "normal", nkeys, c->d)))
			return st;
		sb_ynode s = sb_ynode_get(v, "share"), w = sb_ynode_get(v, "weighted");
		if (!s.n)
			return sb_ynode_error(
				c->d, SB_EPOLICY, v,
				"normal needs share: the share of a fund's gap it covers");
		if ((st = sb_ynode_bp(s, "share", 0, 10000, &a->normal_bp, c->d)))
			return st;
		a->weighted = false;
		if (w.n && (st = sb_ynode_bool(w, "weighted", &a->weighted, c->d)))
			return st;
	}
	v = sb_ynode_get(n, "emergency");
	if (v.n) {
		static const char *const ekeys[] = { "below", "to", NULL };
		if ((st = need_map(c, v, "emergency", "{below: 3, to: 3}")) ||
		    (st = sb_ynode_check_keys(v, "emergency", ekeys, c->d)))
			return st;
		sb_ynode b = sb_ynode_get(v, "below"), t = sb_ynode_get(v, "to");
		if (!b.n)
			return sb_ynode_error(
				c->d, SB_EPOLICY, v,
				"emergency needs below: the months of payment under which "
				"a fund gets emergency allocation");
		if ((st = months(c, b, "below", &a->emergency_below)))
			return st;
		a->emergency_to = a->emergency_below;
		if (t.n && (st = months(c, t, "to", &a->emergency_to)))
			return st;
		if (a->emergency_to < a->emergency_below)
			return sb_ynode_error(
				c->d, SB_EPOLICY, t,
				"to must be at least below: emergency allocation brings a "
				"fund up to `to` months");
		a->has_emergency = true;
	}
	a->present = true;
	return SB_OK;
}

/* ---- the list ----------------------------------------------------------------- */

static const char *const entry_keys[] = { "from",       "source",  "resident",   "employee",
					  "assistance", "warning", "adjustment", NULL };

/* Lays one entry's keys over f. */
static sb_status apply(sb_comp *c, sb_ynode e, const sb_policy *pol, sb_funding *f)
{
	sb_status st;
	sb_ynode v = sb_ynode_get(e, "source");
	if (v.n && (st = text(c, v, "source", &f->source)))
		return st;
	if ((v = sb_ynode_get(e, "resident")).n && (st = resident(c, v, f)))
		return st;
	if ((v = sb_ynode_get(e, "employee")).n && (st = employee(c, v, f)))
		return st;
	if ((v = sb_ynode_get(e, "assistance")).n && (st = assistance(c, v, pol, f)))
		return st;
	if ((v = sb_ynode_get(e, "warning")).n && (st = warning(c, v, f)))
		return st;
	if ((v = sb_ynode_get(e, "adjustment")).n && (st = adjustment(c, v, f)))
		return st;
	return SB_OK;
}

static const sb_funding *funding_at(const sb_policy *p, sb_date date)
{
	const sb_funding *r = NULL;
	for (uint16_t i = 0; p && i < p->nfunding; i++)
		if (p->funding[i].from <= date)
			r = &p->funding[i];
	return r;
}

sb_status sb_compile_funding(sb_comp *c, sb_ynode n, sb_policy *pol)
{
	const sb_policy *up = pol->parent;
	size_t nown = n.n ? sb_ynode_len(n) : 0;
	sb_status st;
	if (n.n && (!sb_ynode_is_seq(n) || !nown))
		return sb_ynode_error(
			c->d, SB_EPOLICY, n,
			"funding must be a list of {from, resident, employee, assistance, "
			"warning, adjustment}, in increasing from");
	sb_date *own = sb_arena_alloc(c->arena, (nown + 1) * sizeof *own);
	size_t nup = up ? up->nfunding : 0;
	sb_date *breaks = sb_arena_alloc(c->arena, (nown + nup + 1) * sizeof *breaks);
	if (!own || !breaks)
		return oom(c->d);
	for (size_t i = 0; i < nown; i++) {
		sb_ynode e = sb_ynode_item(n, i);
		if ((st = need_map(c, e, "a funding entry",
				   "{from: 2024-01-01, resident: {...}}")) ||
		    (st = sb_ynode_check_keys(e, "a funding entry", entry_keys, c->d)))
			return st;
		sb_ynode from = sb_ynode_get(e, "from");
		if (!from.n)
			return sb_ynode_error(
				c->d, SB_EPOLICY, e,
				"a funding entry needs from: the date it comes into force "
				"(YYYY-MM-DD)");
		if ((st = sb_ynode_date(from, "from", &own[i], c->d)))
			return st;
		if (i && own[i] <= own[i - 1])
			return sb_ynode_error(c->d, SB_EPOLICY, from,
					      "funding entries must be in increasing from");
	}
	/* The dates at which the parent's or the file's own funding changes. */
	size_t nb = 0;
	for (size_t i = 0, j = 0; i < nown || j < nup;) {
		sb_date x = j < nup && (i == nown || up->funding[j].from <= own[i]) ?
				    up->funding[j++].from :
				    own[i++];
		if (!nb || breaks[nb - 1] != x)
			breaks[nb++] = x;
	}
	if (!nb)
		return SB_OK;
	sb_funding *out = sb_arena_alloc(c->arena, nb * sizeof *out);
	if (!out)
		return oom(c->d);
	for (size_t b = 0; b < nb; b++) {
		sb_funding *f = &out[b];
		const sb_funding *p = funding_at(up, breaks[b]);
		if (p) {
			*f = *p;
		} else {
			memset(f, 0, sizeof *f);
			f->source = "";
			f->employer_to_pool_bp = 10000;
		}
		f->from = breaks[b];
		/* The file's own entries up to the one in force, each over the last. */
		for (size_t i = 0; i < nown && own[i] <= breaks[b]; i++)
			if ((st = apply(c, sb_ynode_item(n, i), pol, f)))
				return st;
	}
	pol->funding = out;
	pol->nfunding = (uint16_t)nb;
	return SB_OK;
}

/* ---- readers -------------------------------------------------------------------- */

const sb_funding *sb_policy_funding(const sb_policy *p, int year)
{
	const sb_version *v = sb_policy_version_at(p, sb_date_from_ymd(year, 1, 1));
	sb_date start = v ? sb_version_year_start(v, year) : sb_date_from_ymd(year, 1, 1);
	return funding_at(p, start);
}

size_t sb_policy_funding_count(const sb_policy *p)
{
	return p->nfunding;
}

const sb_funding *sb_policy_funding_entry(const sb_policy *p, size_t i)
{
	return i < p->nfunding ? &p->funding[i] : NULL;
}

static sb_fen rate_of(sb_fen base, int64_t bp)
{
	return sb_div_round(base * bp, 10000);
}

sb_status sb_funding_contrib(const sb_funding *f, const sb_fund_person *p, sb_contrib *out,
			     const char **why)
{
	memset(out, 0, sizeof *out);
	out->assist_identity = -1;
	if (p->scheme == SB_FUND_RESIDENT) {
		if (!f->has_resident) {
			*why = "the policy's funding has no resident rules";
			return SB_EINPUT;
		}
		const sb_fund_tier *t = NULL;
		for (uint16_t i = 0; i < f->ntiers && !t; i++)
			if (p->tier >= 0 && f->tiers[i].tier == p->tier)
				t = &f->tiers[i];
		for (uint16_t i = 0; i < f->ntiers && !t; i++)
			if (f->tiers[i].tier < 0)
				t = &f->tiers[i];
		if (!t) {
			*why = "the resident contribution has no entry for the tier and no other";
			return SB_EINPUT;
		}
		out->individual = t->individual;
		for (uint16_t i = 0; i < f->nsubsidies; i++) {
			const sb_fund_subsidy *s = &f->subsidies[i];
			if (!(p->held >> (s->identity + 1) & 1))
				continue;
			sb_fen a = s->kind == SB_SUBSIDY_FULL ? out->individual :
				   s->kind == SB_SUBSIDY_AMOUNT ?
								s->value :
								rate_of(out->individual, s->value);
			out->assistance = a < out->individual ? a : out->individual;
			out->assist_identity = s->identity;
			break;
		}
		out->paid = out->individual - out->assistance;
		out->subsidy = f->subsidy;
		out->pool = out->individual + out->subsidy;
		return SB_OK;
	}
	if (!f->has_employee) {
		*why = "the policy's funding has no employee rules";
		return SB_EINPUT;
	}
	if (p->employment == 1) /* retired: 社会保险法 第二十七条 */
		return SB_OK;
	sb_fen base;
	if (p->has_wage_base)
		base = p->wage_base;
	else if (f->has_base_default)
		base = f->base_default;
	else {
		out->no_base = true;
		return SB_OK;
	}
	if (f->has_base_min && base < f->base_min)
		base = f->base_min;
	if (f->has_base_max && base > f->base_max)
		base = f->base_max;
	sb_fen year = base * 12;
	out->employer = rate_of(year, f->employer_bp);
	out->individual = rate_of(year, f->employee_bp);
	out->paid = out->individual;
	sb_fen er_pool = rate_of(out->employer, f->employer_to_pool_bp);
	sb_fen ee_pool = rate_of(out->individual, f->employee_to_pool_bp);
	out->pool = er_pool + ee_pool;
	out->account = out->employer + out->individual - out->pool;
	return SB_OK;
}

bool sb_fund_months(sb_fen balance, sb_fen spending, int64_t *m)
{
	if (spending <= 0)
		return false;
	__int128 num = (__int128)balance * 1200;
	__int128 q = num / spending, r = num % spending;
	if (r < 0)
		r = -r;
	if (2 * r >= spending)
		q += num < 0 ? -1 : 1;
	*m = q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (int64_t)q;
	return true;
}

int sb_funding_band(const sb_funding *f, bool has_months, int64_t m)
{
	if (!f || !f->nbands)
		return -1;
	if (!has_months)
		return f->nbands - 1;
	int b = 0;
	for (uint16_t i = 1; i < f->nbands; i++)
		if (m >= f->bands[i].from)
			b = i;
	return b;
}

/* ---- check-policy's summary --------------------------------------------------------- */

static void money_text(FILE *f, sb_fen v)
{
	char a[SB_MONEY_BUF];
	sb_money_format(v, a);
	fputs(a, f);
}

static void rate_text(FILE *f, int64_t bp)
{
	char a[32];
	sb_bp_format(bp, a);
	fputs(a, f);
}

static void months_text(FILE *f, int64_t m)
{
	char a[SB_MONEY_BUF];
	sb_money_format(m, a);
	size_t n = strlen(a);
	while (n > 1 && a[n - 1] == '0')
		a[--n] = '\0';
	if (n && a[n - 1] == '.')
		a[--n] = '\0';
	fputs(a, f);
}

void sb_funding_describe(const sb_policyset *set, const sb_policy *p, void *file)
{
	FILE *f = file;
	for (uint16_t i = 0; i < p->nfunding; i++) {
		const sb_funding *x = &p->funding[i];
		char from[11];
		sb_date_format(x->from, from);
		fprintf(f, "  funding from %s%s%s\n", from, *x->source ? ": " : "", x->source);
		if (x->has_resident) {
			fputs("    resident: individual", f);
			for (uint16_t t = 0; t < x->ntiers; t++) {
				fputs(t ? ", " : " ", f);
				if (x->ntiers > 1)
					fprintf(f, "%s ",
						x->tiers[t].tier < 0 ?
							"other" :
							sb_policyset_symbol_name(set, SB_SYM_TIER,
										 x->tiers[t].tier));
				money_text(f, x->tiers[t].individual);
			}
			fputs("; fiscal subsidy ", f);
			money_text(f, x->subsidy);
			fputs(" per resident\n", f);
		}
		if (x->has_employee) {
			fputs("    employee: employer ", f);
			rate_text(f, x->employer_bp);
			fputs(" and employee ", f);
			rate_text(f, x->employee_bp);
			fputs(" of 12 x the monthly wage base", f);
			if (x->has_base_min || x->has_base_max) {
				fputs(" (", f);
				if (x->has_base_min)
					money_text(f, x->base_min);
				fputs(" .. ", f);
				if (x->has_base_max)
					money_text(f, x->base_max);
				fputs(")", f);
			}
			if (x->has_base_default) {
				fputs(", default base ", f);
				money_text(f, x->base_default);
			}
			fputs("; to the pool: employer's ", f);
			rate_text(f, x->employer_to_pool_bp);
			fputs(", employee's ", f);
			rate_text(f, x->employee_to_pool_bp);
			fputs("; retirees pay nothing\n", f);
		}
		if (x->nassist_layers || x->has_budget || x->nsubsidies) {
			fprintf(f, "    assistance: %u layer(s)", (unsigned)x->nassist_layers);
			if (x->has_budget) {
				fputs(", budget ", f);
				money_text(f, x->budget);
				fputs(x->budget_per_insured ? " per insured" : "", f);
			}
			for (uint16_t k = 0; k < x->nsubsidies; k++) {
				const sb_fund_subsidy *sub = &x->subsidies[k];
				fprintf(f, "%s%s ", k ? ", " : "; premiums paid for ",
					sb_policyset_symbol_name(set, SB_SYM_IDENTITY,
								 sub->identity));
				if (sub->kind == SB_SUBSIDY_FULL)
					fputs("in full", f);
				else if (sub->kind == SB_SUBSIDY_AMOUNT)
					money_text(f, sub->value);
				else
					rate_text(f, sub->value);
			}
			fputc('\n', f);
		}
		if (x->nbands) {
			fputs("    warning bands (months of payment):", f);
			for (uint16_t b = 0; b < x->nbands; b++) {
				fprintf(f, " %s from ", x->bands[b].id);
				months_text(f, x->bands[b].from);
			}
			fputc('\n', f);
		}
		const sb_adjustment *a = &x->adjustment;
		if (a->present) {
			fputs("    adjustment fund: pay-up ", f);
			rate_text(f, a->pay_up_bp);
			fputs(" of revenue; normal ", f);
			rate_text(f, a->normal_bp);
			fputs(a->weighted ? " of the gap x score" : " of the gap", f);
			if (a->has_emergency) {
				fputs("; emergency below ", f);
				months_text(f, a->emergency_below);
				fputs(" months, to ", f);
				months_text(f, a->emergency_to);
			}
			fputs("; advance ", f);
			rate_text(f, a->advance_bp);
			fputs(" of last year's allocation\n", f);
		}
	}
}
