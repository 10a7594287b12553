/* case.c: reads cases (a policy, persons, claims, expectations), settles
 * them through the engine and compares, to the fen. Every settled claim is
 * also checked against the identities that must always hold: fund + oop =
 * total, 0 <= pay <= base for every layer. */
#include "sanbao/case.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "case/case_int.h"
#include "policy/load_int.h"
#include "sanbao/settle.h"

static const char *const case_keys[] = {"name", "source", "policy", "policy_file", "persons",
					"claims", "expect", "expect_error", "monitor", NULL};
static const char *const person_keys[] = {"id", "scheme", "region", "household", "employment",
					  "tier", "identities", "income", "continuous_years",
					  "claimless_years", "uncovered_years", "enrolled_from", NULL};
static const char *const ident_keys[] = {"identity", "from", "to", NULL};
static const char *const claim_keys[] = {"id", "person", "date", "visit", "level", "place",
					 "filing", "total", "in_scope", "pre_selfpay",
					 "over_limit", "paid", "care_region", "facility",
					 "diagnosis", "classes", NULL};

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_status text(sb_arena *a, sb_ynode n, const char *what, const char **out, sb_diag *d)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (!t || !len)
		return sb_ynode_error(d, SB_EINPUT, n, "%s must be non-empty text", what);
	if (!(*out = sb_arena_strndup(a, t, len)))
		return oom(d);
	return SB_OK;
}

static sb_status read_person(sb_case *k, sb_ynode n, sb_case_person *cp, sb_diag *d)
{
	sb_status st = sb_ynode_check_keys(n, "a person", person_keys, d);
	if (st)
		return st;
	sb_person *p = &cp->p;
	memset(cp, 0, sizeof *cp);
	p->tier = -1;
	p->employment = SB_EMP_UNKNOWN;
	sb_ynode v = sb_ynode_get(n, "id");
	size_t len;
	const char *t = sb_ynode_text(v, &len);
	const char *why = "is missing";
	if (!t || sb_id_check(t, len, &p->birth, &why))
		return sb_ynode_error(d, SB_EINPUT, v.n ? v : n, "person id \"%.*s\" %s",
				      (int)(t ? len : 0), t ? t : "", why);
	memcpy(p->id, t, SB_ID_LEN);
	if (!(v = sb_ynode_get(n, "scheme")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "a person needs scheme: employee or resident");
	if ((st = sb_compile_enum(v, "scheme", sb_scheme_names, &p->scheme, d)))
		return st;
	v = sb_ynode_get(n, "region");
	t = sb_ynode_text(v, &len);
	if (!t || len != 6)
		return sb_ynode_error(d, SB_EINPUT, v.n ? v : n,
				      "a person needs region: the 6-digit code of the pooling region");
	memcpy(p->region, t, 6);
	if ((v = sb_ynode_get(n, "employment")).n &&
	    (st = sb_compile_enum(v, "employment", sb_employment_names, &p->employment, d)))
		return st;
	if ((v = sb_ynode_get(n, "tier")).n) {
		t = sb_ynode_text(v, &len);
		p->tier = t ? sb_policyset_symbol(k->set, SB_SYM_TIER, t, len) : -1;
	}
	cp->household = "";
	if ((v = sb_ynode_get(n, "household")).n && (st = text(&k->arena, v, "household", &cp->household, d)))
		return st;
	cp->income = -1;
	if ((v = sb_ynode_get(n, "income")).n && (st = sb_ynode_money(v, "income", &cp->income, d)))
		return st;
	static const char *const years[] = {"continuous_years", "claimless_years", "uncovered_years"};
	int16_t *yv[] = {&p->continuous_years, &p->claimless_years, &p->uncovered_years};
	for (size_t i = 0; i < 3; i++) {
		*yv[i] = -1;
		int64_t bp;
		const char *bad;
		if (!(v = sb_ynode_get(n, years[i])).n)
			continue;
		t = sb_ynode_text(v, &len);
		if (!t || sb_bp_parse(t, len, 0, &bp, &bad) || bp % 10000 || bp < 0 || bp > 990000)
			return sb_ynode_error(d, SB_EINPUT, v, "%s must be a whole number of years from 0 "
					      "to 99", years[i]);
		*yv[i] = (int16_t)(bp / 10000);
	}
	p->enrolled_from = SB_DATE_NONE;
	if ((v = sb_ynode_get(n, "enrolled_from")).n &&
	    (st = sb_ynode_date(v, "enrolled_from", &p->enrolled_from, d)))
		return st;
	sb_ynode ids = sb_ynode_get(n, "identities");
	if (!ids.n)
		return SB_OK;
	if (!sb_ynode_is_seq(ids))
		return sb_ynode_error(d, SB_EINPUT, ids,
				      "identities must be a list of {identity, from, to}");
	if (sb_ynode_len(ids) > SB_MAX_PERSON_IDENTITIES)
		return sb_ynode_error(d, SB_ELIMIT, ids, "at most %d identity intervals per person",
				      SB_MAX_PERSON_IDENTITIES);
	for (size_t i = 0; i < sb_ynode_len(ids); i++) {
		sb_ynode item = sb_ynode_item(ids, i);
		sb_ident *id = &p->idents[p->nidents];
		if ((st = sb_ynode_check_keys(item, "an identity interval", ident_keys, d)))
			return st;
		v = sb_ynode_get(item, "identity");
		t = sb_ynode_text(v, &len);
		if (!t)
			return sb_ynode_error(d, SB_EINPUT, item, "an identity interval needs identity");
		id->sym = sb_policyset_symbol(k->set, SB_SYM_IDENTITY, t, len);
		if (!(v = sb_ynode_get(item, "from")).n)
			return sb_ynode_error(d, SB_EINPUT, item, "an identity interval needs from");
		if ((st = sb_ynode_date(v, "from", &id->from, d)))
			return st;
		id->to = INT32_MAX;
		if ((v = sb_ynode_get(item, "to")).n && !sb_ynode_eq(v, "") &&
		    (st = sb_ynode_date(v, "to", &id->to, d)))
			return st;
		if (id->to < id->from)
			return sb_ynode_error(d, SB_EINPUT, item, "identity interval ends before it starts");
		p->nidents++;
	}
	return SB_OK;
}

static sb_status claim_money(sb_ynode n, const char *what, sb_fen *out, sb_diag *d)
{
	sb_status st = sb_ynode_money(n, what, out, d);
	if (st)
		d->code = SB_EINPUT;
	return st;
}

static sb_status read_claim(sb_case *k, sb_ynode n, sb_case_claim *cc, sb_diag *d)
{
	sb_status st = sb_ynode_check_keys(n, "a claim", claim_keys, d);
	if (st)
		return st;
	sb_claim *c = &cc->c;
	memset(cc, 0, sizeof *cc);
	cc->node = n;
	sb_ynode v;
	if (!(v = sb_ynode_get(n, "id")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "a claim needs an id");
	if ((st = text(&k->arena, v, "claim id", &c->id, d)))
		return st;
	for (size_t i = 0; i < k->nclaims; i++)
		if (!strcmp(k->claims[i].c.id, c->id))
			return sb_ynode_error(d, SB_EINPUT, v, "duplicate claim id \"%s\"", c->id);
	v = sb_ynode_get(n, "person");
	size_t len;
	const char *t = sb_ynode_text(v, &len);
	cc->person = -1;
	for (size_t i = 0; t && i < k->npersons; i++)
		if (len == SB_ID_LEN && !memcmp(k->persons[i].p.id, t, len))
			cc->person = (int)i;
	if (cc->person < 0)
		return sb_ynode_error(d, SB_EINPUT, v.n ? v : n,
				      "claim %s is for unknown person \"%.*s\": list them under persons",
				      c->id, (int)(t ? len : 0), t ? t : "");
	if (!(v = sb_ynode_get(n, "date")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "claim %s needs a date", c->id);
	if ((st = sb_ynode_date(v, "date", &c->date, d)))
		return st;
	if (!(v = sb_ynode_get(n, "visit")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "claim %s needs visit: %s", c->id,
				      "inpatient, chronic_outpatient, outpatient or pharmacy");
	t = sb_ynode_text(v, &len);
	int code = t ? sb_name_index(sb_visit_codes, t, len) : -1;
	if (code >= 0)
		c->visit = (uint8_t)code;
	else if ((st = sb_compile_enum(v, "visit type", sb_visit_names, &c->visit, d)))
		return st;
	c->level = -1;
	c->level_name = "";
	if ((v = sb_ynode_get(n, "level")).n) {
		if ((st = text(&k->arena, v, "level", &c->level_name, d)))
			return st;
		c->level = sb_policyset_symbol(k->set, SB_SYM_LEVEL, c->level_name,
					       strlen(c->level_name));
	}
	if ((v = sb_ynode_get(n, "place")).n &&
	    (st = sb_compile_enum(v, "place", sb_place_names, &c->place, d)))
		return st;
	if ((v = sb_ynode_get(n, "filing")).n &&
	    (st = sb_compile_enum(v, "filing", sb_filing_names, &c->filing, d)))
		return st;
	if (!(v = sb_ynode_get(n, "total")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "claim %s needs total", c->id);
	if ((st = claim_money(v, "total", &c->total, d)))
		return st;
	if (!(v = sb_ynode_get(n, "in_scope")).n)
		return sb_ynode_error(d, SB_EINPUT, n, "claim %s needs in_scope", c->id);
	if ((st = claim_money(v, "in_scope", &c->in_scope, d)))
		return st;
	if ((v = sb_ynode_get(n, "pre_selfpay")).n && (st = claim_money(v, "pre_selfpay", &c->pre_selfpay, d)))
		return st;
	if ((v = sb_ynode_get(n, "over_limit")).n && (st = claim_money(v, "over_limit", &c->over_limit, d)))
		return st;
	if ((v = sb_ynode_get(n, "diagnosis")).n && (st = text(&k->arena, v, "diagnosis", &c->diagnosis, d)))
		return st;
	sb_ynode cls = sb_ynode_get(n, "classes");
	if (cls.n) {
		if (!sb_ynode_is_map(cls) || sb_ynode_len(cls) > SB_MAX_CLASSES)
			return sb_ynode_error(d, SB_EINPUT, cls,
					      "classes must map at most %d item classes to in-scope amounts",
					      SB_MAX_CLASSES);
		for (size_t i = 0; i < sb_ynode_len(cls); i++) {
			sb_ynode key = sb_ynode_key(cls, i);
			t = sb_ynode_text(key, &len);
			int sym = t ? sb_policyset_symbol(k->set, SB_SYM_CLASS, t, len) : -1;
			if (sym < 0)
				return sb_ynode_error(d, SB_EINPUT, key,
						      "classes names \"%.*s\", which no layer of the policy "
						      "names under classes", (int)(t ? len : 0), t ? t : "");
			c->classes[c->nclasses].sym = sym;
			if ((st = claim_money(sb_ynode_value(cls, i), "class amount",
					      &c->classes[c->nclasses].fen, d)))
				return st;
			c->nclasses++;
		}
	}
	sb_ynode paid = sb_ynode_get(n, "paid");
	if (paid.n) {
		if (!sb_ynode_is_map(paid) || sb_ynode_len(paid) > SB_MAX_PAID)
			return sb_ynode_error(d, SB_EINPUT, paid,
					      "paid must map layer ids to amounts already paid");
		for (size_t i = 0; i < sb_ynode_len(paid); i++) {
			sb_ynode key = sb_ynode_key(paid, i);
			t = sb_ynode_text(key, &len);
			int sym = t ? sb_policyset_symbol(k->set, SB_SYM_LAYER, t, len) : -1;
			if (sym < 0)
				return sb_ynode_error(d, SB_EINPUT, key,
						      "paid names \"%.*s\", which is not a layer of the policy",
						      (int)(t ? len : 0), t ? t : "");
			c->paid[c->npaid].layer = sym;
			if ((st = claim_money(sb_ynode_value(paid, i), "paid", &c->paid[c->npaid].fen, d)))
				return st;
			c->npaid++;
		}
	}
	/* The engine's one check of a claim's amounts, placed at the claim. */
	if ((st = sb_claim_check(c, d))) {
		char msg[sizeof d->message];
		snprintf(msg, sizeof msg, "%s", d->message);
		return sb_ynode_error(d, st, n, "%s", msg);
	}
	return SB_OK;
}

static int cmp_claims(const void *a, const void *b)
{
	const sb_case_claim *x = a, *y = b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->c.date != y->c.date)
		return x->c.date < y->c.date ? -1 : 1;
	return strcmp(x->c.id, y->c.id);
}

static sb_status settle_claims(sb_case *k, sb_acc *acc, sb_acc *before, sb_diag *d);

/* Reads and settles a case; the first error stops it and stays in d. */
static sb_status run_case(sb_case *k, sb_ynode root, sb_diag *d)
{
	sb_status st;
	sb_ynode pol = sb_ynode_get(root, "policy"), pfile = sb_ynode_get(root, "policy_file");
	if (pol.n && pfile.n)
		return sb_ynode_error(d, SB_EINPUT, pfile, "give policy or policy_file, not both");
	if (pol.n) {
		st = sb_policyset_load_node(k->set, pol, NULL, d);
	} else if (pfile.n) {
		size_t len;
		const char *t = sb_ynode_text(pfile, &len);
		char path[PATH_MAX];
		if (!t)
			return sb_ynode_error(d, SB_EINPUT, pfile, "policy_file must be a path");
		if (t[0] == '/')
			snprintf(path, sizeof path, "%.*s", (int)len, t);
		else
			snprintf(path, sizeof path, "%s%.*s", root.doc->dir, (int)len, t);
		st = sb_policyset_load_file(k->set, path, NULL, d);
	} else {
		return sb_ynode_error(d, SB_EINPUT, root, "a case needs policy or policy_file");
	}
	if (st)
		return st;

	sb_ynode persons = sb_ynode_get(root, "persons"), claims = sb_ynode_get(root, "claims");
	if (!sb_ynode_is_seq(persons) || !sb_ynode_is_seq(claims))
		return sb_ynode_error(d, SB_EINPUT, root, "a case needs persons and claims lists");
	k->persons = sb_arena_alloc(&k->arena, (sb_ynode_len(persons) + 1) * sizeof *k->persons);
	k->claims = sb_arena_alloc(&k->arena, (sb_ynode_len(claims) + 1) * sizeof *k->claims);
	if (!k->persons || !k->claims)
		return oom(d);
	for (size_t i = 0; i < sb_ynode_len(persons); i++) {
		if ((st = read_person(k, sb_ynode_item(persons, i), &k->persons[i], d)))
			return st;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(k->persons[j].p.id, k->persons[i].p.id, SB_ID_LEN))
				return sb_ynode_error(d, SB_EINPUT, sb_ynode_item(persons, i),
						      "duplicate person %.*s: it is listed as person %zu "
						      "already; list each person once",
						      SB_ID_LEN, k->persons[i].p.id, j + 1);
		k->npersons++;
	}
	for (size_t i = 0; i < sb_ynode_len(claims); i++) {
		if ((st = read_claim(k, sb_ynode_item(claims, i), &k->claims[i], d)))
			return st;
		k->nclaims++;
	}
	qsort(k->claims, k->nclaims, sizeof *k->claims, cmp_claims);
	sb_acc acc, before;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	st = settle_claims(k, &acc, &before, d);
	sb_acc_release(&acc);
	sb_acc_release(&before);
	return st;
}

/* Settles the case's claims in order, each checked by sb_settle_verify
 * against the accumulators before and after it. */
static sb_status settle_claims(sb_case *k, sb_acc *acc, sb_acc *before, sb_diag *d)
{
	sb_status st;
	int last = -1;
	for (size_t i = 0; i < k->nclaims; i++) {
		sb_case_claim *cc = &k->claims[i];
		const sb_person *p = &k->persons[cc->person].p;
		const sb_policy *pp = sb_policyset_find(k->set, p->region);
		if (!pp)
			return sb_ynode_error(d, SB_EINPUT, cc->node,
					      "person's region %s has no policy in this case", p->region);
		if (cc->person != last) {
			sb_acc_reset(acc);
			last = cc->person;
		}
		if (sb_acc_copy(before, acc))
			return oom(d);
		if ((st = sb_settle_claim(k->set, pp, p, &cc->c, acc, &cc->r, NULL, d))) {
			if (!d->file[0]) {
				/* Point at the claim when the engine had no place of its own. */
				char msg[sizeof d->message];
				snprintf(msg, sizeof msg, "%s", d->message);
				sb_ynode_error(d, st, cc->node, "%s", msg);
			}
			return st;
		}
		cc->settled = true;
		sb_diag vd;
		if (sb_settle_verify(&cc->c, &cc->r, before, acc, &vd) &&
		    !(cc->broken = sb_arena_strndup(&k->arena, vd.message, strlen(vd.message))))
			return oom(d);
		/* A rule that holds but whose threshold cannot be computed would
		 * miss warnings silently: a case refuses it like a layer. */
		for (int r = 0; r < cc->r.nrules && r < 16; r++)
			if ((cc->r.rules_held >> r & 1) && cc->r.rule_threshold[r] < 0 &&
			    (st = sb_settle_rule_threshold(pp, p, &cc->c, r, d)))
				return st;
	}
	return SB_OK;
}

static void put_split(const sb_case *k, const sb_case_claim *cc, FILE *out)
{
	char buf[SB_MONEY_BUF];
	fprintf(out, "      actual:");
	for (uint8_t i = 0; i < cc->r.nlayers; i++) {
		sb_money_format(cc->r.layer[i].pay, buf);
		fprintf(out, " %s %s", sb_policyset_symbol_name(k->set, SB_SYM_LAYER, cc->r.layer[i].sym),
			buf);
	}
	sb_money_format(cc->r.fund, buf);
	fprintf(out, " | fund %s", buf);
	sb_money_format(cc->r.oop, buf);
	fprintf(out, " oop %s", buf);
	sb_money_format(cc->r.oop_in_scope, buf);
	fprintf(out, " oop_in_scope %s\n", buf);
}

/* What sb_settle_verify found broken in the settled claims. */
static bool check_identities(const sb_case *k, FILE *out)
{
	bool ok = true;
	for (size_t i = 0; i < k->nclaims; i++)
		if (k->claims[i].broken) {
			fprintf(out, "    %s\n", k->claims[i].broken);
			ok = false;
		}
	return ok;
}

/* Compares `expect`; prints each difference. */
static bool check_expect(sb_case *k, sb_ynode expect, FILE *out)
{
	bool ok = true;
	if (!sb_ynode_is_map(expect)) {
		fprintf(out, "    expect must map claim ids to {layer: amount, ...}\n");
		return false;
	}
	for (size_t i = 0; i < sb_ynode_len(expect); i++) {
		size_t len;
		const char *id = sb_ynode_text(sb_ynode_key(expect, i), &len);
		sb_ynode want = sb_ynode_value(expect, i);
		const sb_case_claim *cc = NULL;
		for (size_t j = 0; id && j < k->nclaims && !cc; j++)
			if (strlen(k->claims[j].c.id) == len && !memcmp(k->claims[j].c.id, id, len))
				cc = &k->claims[j];
		if (!cc) {
			fprintf(out, "    expect names claim \"%.*s\", which the case does not have\n",
				(int)len, id ? id : "");
			ok = false;
			continue;
		}
		if (!sb_ynode_is_map(want)) {
			fprintf(out, "    expect for claim %s must be a map\n", cc->c.id);
			ok = false;
			continue;
		}
		bool claim_ok = true;
		for (size_t j = 0; j < sb_ynode_len(want); j++) {
			size_t kl;
			const char *key = sb_ynode_text(sb_ynode_key(want, j), &kl);
			sb_fen exp, got = 0;
			sb_diag d;
			char kbuf[64];
			snprintf(kbuf, sizeof kbuf, "%.*s", (int)(kl < 60 ? kl : 60), key ? key : "");
			if (sb_ynode_money(sb_ynode_value(want, j), kbuf, &exp, &d)) {
				char m[1024];
				fprintf(out, "    %s\n", sb_diag_format(&d, m, sizeof m));
				ok = claim_ok = false;
				continue;
			}
			if (!strcmp(kbuf, "fund")) {
				got = cc->r.fund;
			} else if (!strcmp(kbuf, "oop")) {
				got = cc->r.oop;
			} else if (!strcmp(kbuf, "oop_in_scope")) {
				got = cc->r.oop_in_scope;
			} else {
				int sym = sb_policyset_symbol(k->set, SB_SYM_LAYER, kbuf, strlen(kbuf));
				if (sym < 0) {
					fprintf(out, "    claim %s: expect names \"%s\": not a layer id, fund, "
						"oop or oop_in_scope\n", cc->c.id, kbuf);
					ok = claim_ok = false;
					continue;
				}
				for (uint8_t l = 0; l < cc->r.nlayers; l++)
					if (cc->r.layer[l].sym == sym)
						got = cc->r.layer[l].pay;
			}
			if (got != exp) {
				char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
				sb_money_format(exp, a);
				sb_money_format(got, b);
				fprintf(out, "    claim %s: %s expected %s, got %s\n", cc->c.id, kbuf, a, b);
				ok = claim_ok = false;
			}
		}
		if (!claim_ok)
			put_split(k, cc, out);
	}
	return ok;
}

static void case_release(sb_case *k)
{
	sb_policyset_free(k->set);
	sb_arena_release(&k->arena);
}

/* Runs one case node; prints its line; returns 1 passed, 0 failed, -1 OOM. */
static int run_one(sb_ynode root, const char *file, size_t index, FILE *out, bool verbose)
{
	sb_case k;
	memset(&k, 0, sizeof k);
	sb_arena_init(&k.arena);
	char name[256] = "";
	char where[PATH_MAX + 32];
	snprintf(where, sizeof where, "%s%s", file, "");
	if (index)
		snprintf(where, sizeof where, "%s #%zu", file, index);
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_ynode_check_keys(root, "a case", case_keys, &d);
	sb_ynode nm = sb_ynode_get(root, "name");
	size_t len;
	const char *t = sb_ynode_text(nm, &len);
	snprintf(name, sizeof name, "%.*s", t ? (int)(len < 200 ? len : 200) : 0, t ? t : "");
	if (!st && sb_policyset_new(&k.set))
		st = oom(&d);
	if (!st) {
		k.set_ok = true;
		st = run_case(&k, root, &d);
	}
	if (st == SB_ENOMEM) {
		case_release(&k);
		return -1;
	}
	bool pass;
	char msg[1400];
	sb_ynode experr = sb_ynode_get(root, "expect_error");
	sb_ynode expect = sb_ynode_get(root, "expect");
	sb_ynode monitor = sb_ynode_get(root, "monitor");
	if (experr.n) {
		const char *words = sb_ynode_text(experr, &len);
		char w[256];
		snprintf(w, sizeof w, "%.*s", words ? (int)(len < 250 ? len : 250) : 0, words ? words : "");
		pass = st != SB_OK && *w && strstr(d.message, w);
		fprintf(out, "%s %s (%s)\n", pass ? "ok  " : "FAIL", name, where);
		if (!pass && st)
			fprintf(out, "    expected an error containing \"%s\", got: %s\n", w,
				sb_diag_format(&d, msg, sizeof msg));
		else if (!pass)
			fprintf(out, "    expected an error containing \"%s\", but the case settled\n", w);
		else if (verbose)
			fprintf(out, "    refused as expected: %s\n", sb_diag_format(&d, msg, sizeof msg));
	} else if (st) {
		pass = false;
		fprintf(out, "FAIL %s (%s)\n    %s\n", name, where, sb_diag_format(&d, msg, sizeof msg));
	} else {
		fprintf(out, "%s", "");
		long pos = ftell(out);
		(void)pos;
		char *buf = NULL;
		size_t blen = 0;
		FILE *detail = open_memstream(&buf, &blen);
		if (!detail) {
			case_release(&k);
			return -1;
		}
		pass = check_identities(&k, detail);
		if (expect.n)
			pass = check_expect(&k, expect, detail) && pass;
		else if (!monitor.n) {
			fprintf(detail, "    a case needs expect, expect_error or monitor\n");
			pass = false;
		}
		if (monitor.n)
			pass = sb_case_check_monitor(&k, monitor, detail) && pass;
		fclose(detail);
		fprintf(out, "%s %s (%s)\n", pass ? "ok  " : "FAIL", name, where);
		if (!pass || verbose)
			fputs(buf, out);
		free(buf);
	}
	case_release(&k);
	return pass ? 1 : 0;
}

static sb_status run_file(const char *path, FILE *out, bool verbose, bool walking,
			  sb_case_stats *stats)
{
	sb_ydoc *doc;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_ydoc_load(path, &doc, &d)) {
		char msg[1400];
		fprintf(out, "FAIL %s\n    %s\n", path, sb_diag_format(&d, msg, sizeof msg));
		stats->failed++;
		return d.code == SB_ENOMEM ? SB_ENOMEM : SB_OK;
	}
	sb_ynode root = sb_ydoc_root(doc);
	int r = 1;
	if (sb_ynode_is_map(root) && sb_ynode_get(root, "sanbao").n && walking) {
		stats->skipped_files++;
	} else if (sb_ynode_is_seq(root)) {
		for (size_t i = 0; i < sb_ynode_len(root) && r >= 0; i++) {
			r = run_one(sb_ynode_item(root, i), path, i + 1, out, verbose);
			if (r > 0)
				stats->passed++;
			else if (!r)
				stats->failed++;
		}
	} else {
		r = run_one(root, path, 0, out, verbose);
		if (r > 0)
			stats->passed++;
		else if (!r)
			stats->failed++;
	}
	sb_ydoc_free(doc);
	return r < 0 ? SB_ENOMEM : SB_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static sb_status run_path(const char *path, FILE *out, bool verbose, bool walking,
			  sb_case_stats *stats)
{
	struct stat sbuf;
	if (stat(path, &sbuf)) {
		fprintf(out, "FAIL %s\n    cannot open: no such file or folder\n", path);
		stats->failed++;
		return SB_OK;
	}
	if (!S_ISDIR(sbuf.st_mode)) {
		size_t n = strlen(path);
		if (walking && (n < 5 || strcmp(path + n - 5, ".yaml")))
			return SB_OK;
		return run_file(path, out, verbose, walking, stats);
	}
	DIR *dh = opendir(path);
	if (!dh) {
		fprintf(out, "FAIL %s\n    cannot open folder\n", path);
		stats->failed++;
		return SB_OK;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	sb_status st = SB_OK;
	struct dirent *e;
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = sb_realloc(names, cap * sizeof *p);
			if (!p) {
				st = SB_ENOMEM;
				break;
			}
			names = p;
		}
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[n] = sb_malloc(len))) {
			st = SB_ENOMEM;
			break;
		}
		snprintf(names[n++], len, "%s/%s", path, e->d_name);
	}
	closedir(dh);
	if (!st && n)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && !st; i++)
		st = run_path(names[i], out, verbose, true, stats);
	for (size_t i = 0; i < n; i++)
		sb_free(names[i]);
	sb_free(names);
	return st;
}

sb_status sb_case_run_paths(char *const *paths, int n, FILE *out, bool verbose,
			    sb_case_stats *stats)
{
	memset(stats, 0, sizeof *stats);
	for (int i = 0; i < n; i++) {
		sb_status st = run_path(paths[i], out, verbose, false, stats);
		if (st)
			return st;
	}
	return SB_OK;
}
