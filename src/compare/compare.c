/* compare.c: the compare sink (see compare.h). Each thread sums its own
 * claims by scenario into fixed tables (each claim once into its region x
 * scheme x visit x identity cell, folded into the tables by region, scheme,
 * visit and identity at merge; layer; fund code) and records each person's
 * out-of-pocket spending per policy year and scenario; after the threads
 * the sums are merged, and end() derives the households, the SDG 3.8.2
 * counts (once per scenario and year), the winners and losers, the
 * disparity measures, and writes compare.json and persons_changed.csv. */
#include "compare/compare.h"
#include "compare/compare_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sort.h"
#include "io/outfile.h"
#include "policy/policy_int.h"
#include "sanbao/explain.h"

#define MAX_YEARS 16

typedef struct agg {
	long long claims;
	sb_fen total, in_scope, fund, oop;
} agg;

typedef struct paid {
	long long claims; /* claims it paid something on */
	sb_fen paid;
} paid;

typedef struct verfund {
	const sb_version *v;
	size_t off; /* into fund_of: the fund index of each of v's layers */
} verfund;

typedef struct thr {
	agg *aggs;   /* nscen x naggs: by region, scheme, visit, identity, all */
	agg *fine;   /* nscen x nfine: by region x scheme x visit x identity, each
		      * claim summed once; folded into aggs at merge */
	paid *lay;   /* nscen x nlay */
	paid *fund;  /* nscen x nfund */
	long long *rejected;
	bool overflow;
	/* person-years: key (person << 32 | year) then nscen oop sums */
	int64_t *py;
	size_t npy, cap;
	/* funds_of's last answer per scenario, cached (a claim is settled
	 * under every scenario in turn, each with its own versions) */
	const sb_version **last_v; /* nscen */
	const int **last_fo;       /* nscen */
	size_t cur_start; /* the current person's first record */
	uint32_t cur_person;
	bool has_cur;
} thr;

typedef struct cmp {
	const sb_sink_env *env;
	int nscen;
	const sb_policyset *const *sets;
	size_t npol, nid, nlay, nfund;
	size_t o_region, o_scheme, o_visit, o_ident, o_all, naggs;
	size_t nfine; /* npol x 2 x SB_VISIT_N x nid */
	const char **fund_code; /* nfund */
	verfund *vf;
	size_t nvf;
	int *fund_of;
	size_t *to0; /* scenario k's policy index j -> scenario 0's: to0[k * maxpol + j] */
	size_t maxpol;
	char *explained; /* the baseline's trace of cfg->explain_id as JSON (malloc) */
	const sb_sink *monitor; /* the run's monitor sink, or NULL (sb_compare_sink_monitor) */
	thr sum; /* merged */
} cmp;

static size_t stride(const cmp *c)
{
	return 1 + (size_t)c->nscen;
}

/* ---- begin: the tables' sizes and the fund codes ------------------------- */

static int cmp_vf(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const verfund *)a)->v, y = (uintptr_t)((const verfund *)b)->v;
	return x < y ? -1 : x > y;
}

static int fund_index(cmp *c, const char *code)
{
	for (size_t i = 0; i < c->nfund; i++)
		if (!strcmp(c->fund_code[i], code))
			return (int)i;
	c->fund_code[c->nfund] = code;
	return (int)c->nfund++;
}

static sb_status index_funds(cmp *c)
{
	size_t nv = 0, nl = 0;
	for (int k = 0; k < c->nscen; k++)
		for (size_t i = 0; i < sb_policyset_count(c->sets[k]); i++) {
			const sb_policy *p = sb_policyset_at(c->sets[k], i);
			nv += p->nversions;
			for (uint16_t v = 0; v < p->nversions; v++)
				nl += p->versions[v].nlayers;
		}
	c->vf = sb_calloc(nv + 1, sizeof *c->vf);
	c->fund_of = sb_calloc(nl + 1, sizeof *c->fund_of);
	c->fund_code = sb_calloc(nl + 1, sizeof *c->fund_code);
	if (!c->vf || !c->fund_of || !c->fund_code)
		return SB_ENOMEM;
	size_t off = 0;
	for (int k = 0; k < c->nscen; k++)
		for (size_t i = 0; i < sb_policyset_count(c->sets[k]); i++) {
			const sb_policy *p = sb_policyset_at(c->sets[k], i);
			for (uint16_t v = 0; v < p->nversions; v++) {
				const sb_version *ver = &p->versions[v];
				c->vf[c->nvf++] = (verfund){.v = ver, .off = off};
				for (uint16_t l = 0; l < ver->nlayers; l++) {
					const char *code = ver->layers[l].fund_code;
					c->fund_of[off++] = fund_index(c, code && *code ? code : "-");
				}
			}
		}
	qsort(c->vf, c->nvf, sizeof *c->vf, cmp_vf);
	return SB_OK;
}

static const int *funds_of(const cmp *c, const sb_version *v)
{
	verfund key = {.v = v};
	const verfund *hit = bsearch(&key, c->vf, c->nvf, sizeof *c->vf, cmp_vf);
	return hit ? c->fund_of + hit->off : NULL;
}

static sb_status thr_init(const cmp *c, thr *t)
{
	size_t n = (size_t)c->nscen;
	t->aggs = sb_calloc(n * c->naggs, sizeof *t->aggs);
	t->fine = sb_calloc(n * c->nfine + 1, sizeof *t->fine);
	t->lay = sb_calloc(n * c->nlay + 1, sizeof *t->lay);
	t->fund = sb_calloc(n * c->nfund + 1, sizeof *t->fund);
	t->rejected = sb_calloc(n, sizeof *t->rejected);
	t->last_v = sb_calloc(n, sizeof *t->last_v);
	t->last_fo = sb_calloc(n, sizeof *t->last_fo);
	return t->aggs && t->fine && t->lay && t->fund && t->rejected && t->last_v && t->last_fo
		       ? SB_OK
		       : SB_ENOMEM;
}

static void thr_release(thr *t)
{
	sb_free(t->aggs);
	sb_free(t->fine);
	sb_free(t->lay);
	sb_free(t->fund);
	sb_free(t->rejected);
	sb_free(t->py);
	sb_free(t->last_v);
	sb_free(t->last_fo);
	memset(t, 0, sizeof *t);
}

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	cmp *c = self;
	c->env = env;
	c->nscen = env->nscenarios;
	c->sets = env->sets;
	c->npol = sb_policyset_count(env->sets[0]);
	int nid = 0, nlay = 0;
	for (int k = 0; k < c->nscen; k++) {
		int a = sb_policyset_symbol_count(env->sets[k], SB_SYM_IDENTITY);
		int b = sb_policyset_symbol_count(env->sets[k], SB_SYM_LAYER);
		nid = a > nid ? a : nid;
		nlay = b > nlay ? b : nlay;
	}
	c->nid = (size_t)nid + 1; /* index 0: none */
	c->nlay = (size_t)nlay;
	c->o_region = 0;
	c->o_scheme = c->npol;
	c->o_visit = c->o_scheme + 2;
	c->o_ident = c->o_visit + SB_VISIT_N;
	c->o_all = c->o_ident + c->nid;
	c->naggs = c->o_all + 1;
	c->nfine = (c->npol ? c->npol : 1) * 2 * SB_VISIT_N * c->nid;
	if (index_funds(c) || thr_init(c, &c->sum))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	/* Persons are enrolled by scenario 0's regions: each claim's region
	 * is one of them, under whichever scenario it was settled. */
	for (int k = 0; k < c->nscen; k++)
		if (sb_policyset_count(env->sets[k]) > c->maxpol)
			c->maxpol = sb_policyset_count(env->sets[k]);
	if (!(c->to0 = sb_calloc((size_t)c->nscen * c->maxpol + 1, sizeof *c->to0)))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int k = 0; k < c->nscen; k++)
		for (size_t j = 0; j < sb_policyset_count(env->sets[k]); j++) {
			const sb_policy *q = sb_policyset_find(env->sets[0],
								sb_policy_region(sb_policyset_at(env->sets[k], j)));
			size_t at = c->npol;
			for (size_t i = 0; q && i < c->npol; i++)
				if (sb_policyset_at(env->sets[0], i) == q)
					at = i;
			c->to0[(size_t)k * c->maxpol + j] = at;
		}
	return SB_OK;
}

static sb_status thread_new(void *self, void **out, sb_diag *d)
{
	thr *t = sb_calloc(1, sizeof *t);
	if (!t || thr_init(self, t)) {
		if (t)
			thr_release(t);
		sb_free(t);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	*out = t;
	return SB_OK;
}

static void thread_free(void *self, void *p)
{
	(void)self;
	thr_release(p);
	sb_free(p);
}

/* ---- claims -------------------------------------------------------------- */

static bool agg_add(agg *a, const sb_claim *cl, const sb_result *r)
{
	a->claims++;
	return sb_fen_add(&a->total, cl->total) && sb_fen_add(&a->in_scope, cl->in_scope) &&
	       sb_fen_add(&a->fund, r->fund) && sb_fen_add(&a->oop, r->oop);
}

/* The person-year record of the claim's person and year, made when new. */
static int64_t *person_year(const cmp *c, thr *t, uint32_t person, int year)
{
	size_t st = stride(c);
	if (!t->has_cur || t->cur_person != person) {
		t->cur_start = t->npy;
		t->cur_person = person;
		t->has_cur = true;
	}
	int64_t key = (int64_t)(((uint64_t)person << 32) | (uint32_t)year);
	for (size_t i = t->cur_start; i < t->npy; i++)
		if (t->py[i * st] == key)
			return &t->py[i * st];
	if (t->npy == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		/* realloc: a large block grows by remapping its pages, not by
		 * copying them into fresh ones */
		int64_t *p = sb_realloc(t->py, cap * st * sizeof *p);
		if (!p)
			return NULL;
		t->py = p;
		t->cap = cap;
	}
	int64_t *rec = &t->py[t->npy++ * st];
	memset(rec, 0, st * sizeof *rec);
	rec[0] = key;
	return rec;
}

static sb_status claim(void *self, void *thrp, const sb_settled *s, sb_diag *d)
{
	cmp *c = self;
	thr *t = thrp;
	const sb_result *r = s->res;
	const sb_claim *cl = s->claim;
	size_t pol = c->to0[(size_t)s->scenario * c->maxpol + s->policy_index];
	if (pol >= c->npol) /* not a region of the baseline: cannot happen */
		pol = 0;
	size_t ident = r->identity >= 0 && (size_t)r->identity + 1 < c->nid ? (size_t)r->identity + 1
									      : 0;
	size_t cell = ((pol * 2 + (s->person->scheme ? 1 : 0)) * SB_VISIT_N +
		       (cl->visit < SB_VISIT_N ? cl->visit : 0)) *
			      c->nid +
		      ident;
	bool ok = agg_add(&t->fine[(size_t)s->scenario * c->nfine + cell], cl, r);
	paid *lay = t->lay + (size_t)s->scenario * c->nlay;
	paid *fund = t->fund + (size_t)s->scenario * c->nfund;
	if (t->last_v[s->scenario] != r->version) {
		t->last_v[s->scenario] = r->version;
		t->last_fo[s->scenario] = funds_of(c, r->version);
	}
	const int *fo = t->last_fo[s->scenario];
	for (uint8_t i = 0; i < r->nlayers; i++) {
		const sb_layer_result *lr = &r->layer[i];
		if (!lr->pay) /* most layers pay nothing on a claim: nothing to add */
			continue;
		if (lr->sym >= 0 && (size_t)lr->sym < c->nlay) {
			lay[lr->sym].claims++;
			ok = ok && sb_fen_add(&lay[lr->sym].paid, lr->pay);
		}
		if (fo) {
			fund[fo[i]].claims++;
			ok = ok && sb_fen_add(&fund[fo[i]].paid, lr->pay);
		}
	}
	if (s->trace && !s->scenario && !c->explained) {
		/* The one claim to explain: one thread, once; read after the join. */
		size_t len = 0;
		FILE *mf = open_memstream(&c->explained, &len);
		if (!mf)
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		sb_explain_json(mf, s->set, s->trace);
		if (fclose(mf)) {
			free(c->explained);
			c->explained = NULL;
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		}
	}
	int64_t *rec = person_year(c, t, s->person_index, r->year);
	if (!rec)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	ok = ok && sb_fen_add(&rec[1 + s->scenario], r->oop);
	if (!ok)
		t->overflow = true;
	return SB_OK;
}

static sb_status reject(void *self, void *thrp, const sb_rejected *r, sb_diag *d)
{
	(void)d;
	cmp *c = self;
	thr *t = thrp;
	for (int k = 0; k < c->nscen; k++)
		if (r->scenario < 0 || r->scenario == k)
			t->rejected[k]++;
	return SB_OK;
}

static bool agg_merge(agg *a, const agg *x)
{
	a->claims += x->claims;
	return sb_fen_add(&a->total, x->total) && sb_fen_add(&a->in_scope, x->in_scope) &&
	       sb_fen_add(&a->fund, x->fund) && sb_fen_add(&a->oop, x->oop);
}

static sb_status merge(void *self, void *thrp, sb_diag *d)
{
	cmp *c = self;
	thr *t = thrp, *m = &c->sum;
	size_t n = (size_t)c->nscen;
	bool ok = !t->overflow;
	/* The thread's cells into its tables by region, scheme, visit,
	 * identity and all (money is never negative: a sum overflows here
	 * exactly when it would have claim by claim) */
	for (size_t k = 0; k < n; k++) {
		agg *a = t->aggs + k * c->naggs;
		const agg *f = t->fine + k * c->nfine;
		for (size_t cell = 0; cell < c->nfine; cell++) {
			if (!f[cell].claims)
				continue;
			size_t ident = cell % c->nid, rest = cell / c->nid;
			size_t visit = rest % SB_VISIT_N, ps = rest / SB_VISIT_N;
			ok = agg_merge(&a[c->o_all], &f[cell]) && ok;
			ok = agg_merge(&a[c->o_region + ps / 2], &f[cell]) && ok;
			ok = agg_merge(&a[c->o_scheme + ps % 2], &f[cell]) && ok;
			ok = agg_merge(&a[c->o_visit + visit], &f[cell]) && ok;
			ok = agg_merge(&a[c->o_ident + ident], &f[cell]) && ok;
		}
	}
	for (size_t i = 0; i < n * c->naggs; i++)
		ok = agg_merge(&m->aggs[i], &t->aggs[i]) && ok;
	for (size_t i = 0; i < n * c->nlay; i++) {
		m->lay[i].claims += t->lay[i].claims;
		ok = sb_fen_add(&m->lay[i].paid, t->lay[i].paid) && ok;
	}
	for (size_t i = 0; i < n * c->nfund; i++) {
		m->fund[i].claims += t->fund[i].claims;
		ok = sb_fen_add(&m->fund[i].paid, t->fund[i].paid) && ok;
	}
	for (size_t k = 0; k < n; k++)
		m->rejected[k] += t->rejected[k];
	if (!ok)
		m->overflow = true;
	if (t->npy) {
		size_t st = stride(c);
		if (!m->npy) { /* the first thread's records: taken over, not copied */
			sb_free(m->py);
			m->py = t->py;
			m->npy = t->npy;
			m->cap = t->cap;
			t->py = NULL;
			t->npy = t->cap = 0;
			return SB_OK;
		}
		if (m->npy + t->npy > m->cap) {
			int64_t *p = sb_realloc(m->py, (m->npy + t->npy) * st * sizeof *p);
			if (!p)
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			m->py = p;
			m->cap = m->npy + t->npy;
		}
		memcpy(m->py + m->npy * st, t->py, t->npy * st * sizeof *m->py);
		m->npy += t->npy;
	}
	return SB_OK;
}

/* ---- end: the population and its units --------------------------------- */

typedef struct fp {
	long long households, people, over10_h, over10_p, over25_h, over25_p, poor_h, poor_p;
} fp;

typedef struct bands {
	long long n[SB_BANDS];
	long long unknown; /* no income: no band */
	sb_fen change;     /* sum of the changes (reform - baseline) */
} bands;

typedef struct pop {
	size_t np, nh, nu; /* persons, households, units = households + persons */
	sb_sink_person *per;
	uint32_t *members;   /* per unit: members */
	sb_fen *income;      /* per unit: income, -1 unknown */
	size_t *upolicy;     /* per unit: its first member's region (policy index) */
	uint8_t *pdecile;    /* per person: 1..10, 0 unknown income */
	uint8_t *udecile;    /* per unit */
	long long *region_persons; /* per policy of scenario 0 */
	int years[MAX_YEARS];
	int nyears;
	long long years_dropped; /* person-years beyond MAX_YEARS */
	sb_fen *uoop; /* (year * nu + unit) * nscen + k */
	sb_fen *poop; /* (year * np + person) * nscen + k */
	uint8_t *has; /* year * np + person: the person has claims that year */
	int *uident;  /* year * nu + unit: identity symbol + 1 */
	int *pident;  /* year * np + person */
	struct fp *fpc; /* ((k * nyears + y) * (npol + 1)): all, then by region */
	size_t *unit;   /* per person: its unit (household - 1, or nh + person) */
} pop;

static size_t unit_of(const pop *p, uint32_t person)
{
	return p->unit[person];
}


/* Deciles of income per member, of persons or of units: ranked by income
 * per member in fen (ties by index: the radix sort is stable), equal
 * tenths of those with an income. */
static sb_status deciles(const pop *p, bool units, uint8_t *out)
{
	size_t n = units ? p->nu : p->np;
	sb_keyed *a = sb_malloc((n + 1) * sizeof *a), *tmp = sb_malloc((n + 1) * sizeof *tmp);
	if (!a || !tmp) {
		sb_free(a);
		sb_free(tmp);
		return SB_ENOMEM;
	}
	size_t m = 0;
	memset(out, 0, n);
	for (size_t i = 0; i < n; i++) {
		size_t u = units ? i : unit_of(p, (uint32_t)i);
		if (!p->members[u] || p->income[u] < 0)
			continue;
		a[m].key = (uint64_t)(p->income[u] / p->members[u]);
		a[m++].p = out + i; /* where its decile goes */
	}
	const sb_keyed *r = sb_radix_sort(a, tmp, m);
	for (size_t j = 0; j < m; j++)
		out[(const uint8_t *)r[j].p - out] = (uint8_t)(j * 10 / m + 1);
	sb_free(a);
	sb_free(tmp);
	return SB_OK;
}

/* The identity of members mem[0..n) in the year [from, to]. */
static int identity_in(const cmp *c, const pop *p, const uint32_t *mem, size_t n, sb_date from,
		       sb_date to)
{
	const sb_policy *pol = sb_policyset_at(c->sets[0], p->per[mem[0]].policy);
	int best = -1, best_rank = 1 << 30;
	for (size_t m = 0; m < n; m++) {
		const sb_sink_person *q = &p->per[mem[m]];
		for (uint16_t k = 0; k < q->nidents; k++) {
			const sb_ident *id = &q->idents[k];
			if (id->to < from || id->from > to)
				continue;
			for (uint16_t r = 0; r < pol->nidentities; r++)
				if (pol->identities[r] == id->sym && (int)r < best_rank) {
					best_rank = r;
					best = id->sym;
				}
		}
	}
	return best;
}

static void pop_release(pop *p)
{
	sb_free(p->per);
	sb_free(p->members);
	sb_free(p->income);
	sb_free(p->upolicy);
	sb_free(p->pdecile);
	sb_free(p->udecile);
	sb_free(p->region_persons);
	sb_free(p->uoop);
	sb_free(p->poop);
	sb_free(p->has);
	sb_free(p->uident);
	sb_free(p->pident);
	sb_free(p->fpc);
	sb_free(p->unit);
}

static int year_index(const pop *p, int year)
{
	for (int y = 0; y < p->nyears; y++)
		if (p->years[y] == year)
			return y;
	return -1;
}

static sb_status pop_build(cmp *c, pop *p)
{
	const sb_sink_people *pp = c->env->people;
	thr *m = &c->sum;
	size_t st = stride(c), ns = (size_t)c->nscen;
	p->np = pp->npersons;
	p->nh = pp->nhouseholds;
	p->nu = p->nh + p->np;
	p->per = sb_calloc(p->np + 1, sizeof *p->per);
	p->members = sb_calloc(p->nu + 1, sizeof *p->members);
	p->income = sb_malloc((p->nu + 1) * sizeof *p->income);
	p->upolicy = sb_calloc(p->nu + 1, sizeof *p->upolicy);
	p->pdecile = sb_calloc(p->np + 1, 1);
	p->udecile = sb_calloc(p->nu + 1, 1);
	p->region_persons = sb_calloc(c->npol + 1, sizeof *p->region_persons);
	p->unit = sb_malloc((p->np + 1) * sizeof *p->unit);
	if (!p->per || !p->members || !p->income || !p->upolicy || !p->pdecile || !p->udecile ||
	    !p->region_persons || !p->unit)
		return SB_ENOMEM;
	for (size_t u = 0; u < p->nu; u++)
		p->income[u] = -1;
	for (size_t i = 0; i < p->np; i++) {
		pp->person(pp->ctx, (uint32_t)i, &p->per[i]);
		p->unit[i] = p->per[i].household ? p->per[i].household - 1 : p->nh + i;
		size_t u = p->unit[i];
		if (!p->members[u])
			p->upolicy[u] = p->per[i].policy;
		p->members[u]++;
		if (p->income[u] < 0) /* the first value its members give */
			p->income[u] = p->per[i].income;
		if (p->per[i].policy < c->npol)
			p->region_persons[p->per[i].policy]++;
	}
	if (deciles(p, false, p->pdecile) || deciles(p, true, p->udecile))
		return SB_ENOMEM;
	/* The policy years: the MAX_YEARS earliest (a person-year record of a
	 * later one is counted in years_dropped). */
	int seen[256];
	int nseen = 0;
	for (size_t i = 0; i < m->npy; i++) {
		int year = (int)(int32_t)(uint32_t)((uint64_t)m->py[i * st] & 0xffffffffu);
		int k = 0;
		while (k < nseen && seen[k] != year)
			k++;
		if (k == nseen && nseen < 256)
			seen[nseen++] = year;
	}
	for (int i = 1; i < nseen; i++) /* a handful: insertion sort */
		for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
			int t = seen[j];
			seen[j] = seen[j - 1];
			seen[j - 1] = t;
		}
	p->nyears = nseen < MAX_YEARS ? nseen : MAX_YEARS;
	memcpy(p->years, seen, (size_t)p->nyears * sizeof *seen);
	size_t ny = (size_t)p->nyears;
	p->uoop = sb_calloc(ny * p->nu * ns + 1, sizeof *p->uoop);
	p->poop = sb_calloc(ny * p->np * ns + 1, sizeof *p->poop);
	p->has = sb_calloc(ny * p->np + 1, 1);
	p->uident = sb_calloc(ny * p->nu + 1, sizeof *p->uident);
	p->pident = sb_calloc(ny * p->np + 1, sizeof *p->pident);
	uint32_t *off = sb_calloc(p->nh + 2, sizeof *off);
	uint32_t *list = sb_malloc((p->np + 1) * sizeof *list);
	sb_status rc = SB_OK;
	if (!p->uoop || !p->poop || !p->has || !p->uident || !p->pident || !off || !list) {
		rc = SB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m->npy; i++) {
		const int64_t *rec = &m->py[i * st];
		uint32_t person = (uint32_t)((uint64_t)rec[0] >> 32);
		/* The records are in partition order, their persons scattered:
		 * fetch the tables' lines of records ahead of time. */
		if (i + 16 < m->npy) {
			uint32_t ahead = (uint32_t)((uint64_t)m->py[(i + 16) * st] >> 32);
			if (ahead < p->np)
				__builtin_prefetch(&p->unit[ahead]);
		}
		if (i + 8 < m->npy) {
			uint32_t ahead = (uint32_t)((uint64_t)m->py[(i + 8) * st] >> 32);
			if (ahead < p->np) {
				__builtin_prefetch(&p->poop[(size_t)ahead * ns], 1);
				__builtin_prefetch(&p->has[ahead], 1);
				__builtin_prefetch(&p->uoop[p->unit[ahead] * ns], 1);
			}
		}
		int y = year_index(p, (int)(int32_t)(uint32_t)((uint64_t)rec[0] & 0xffffffffu));
		if (y < 0 || person >= p->np) {
			p->years_dropped++;
			continue;
		}
		/* One record per person and year: a person's claims are all in
		 * one partition, settled by one thread. */
		p->has[(size_t)y * p->np + person] = 1;
		memcpy(&p->poop[((size_t)y * p->np + person) * ns], rec + 1, ns * sizeof *rec);
		sb_fen *u = &p->uoop[((size_t)y * p->nu + unit_of(p, person)) * ns];
		for (size_t k = 0; k < ns; k++)
			if (!sb_fen_add(&u[k], rec[1 + k])) {
				rc = SB_ELIMIT;
				goto out;
			}
	}
	/* Members of each household, by counting sort, for their identity. */
	for (size_t i = 0; i < p->np; i++)
		if (p->per[i].household)
			off[p->per[i].household]++;
	for (size_t h = 1; h <= p->nh + 1; h++)
		off[h] += off[h - 1];
	for (size_t i = p->np; i-- > 0;)
		if (p->per[i].household)
			list[--off[p->per[i].household]] = (uint32_t)i;
	for (size_t y = 0; y < ny; y++) {
		sb_date from = sb_date_from_ymd(p->years[y], 1, 1),
			to = sb_date_from_ymd(p->years[y], 12, 31);
		for (size_t i = 0; i < p->np; i++) {
			uint32_t one = (uint32_t)i;
			p->pident[y * p->np + i] = identity_in(c, p, &one, 1, from, to) + 1;
			if (!p->per[i].household)
				p->uident[y * p->nu + p->nh + i] = p->pident[y * p->np + i];
		}
		for (size_t h = 0; h < p->nh; h++) {
			size_t nm = off[h + 2] - off[h + 1];
			if (nm)
				p->uident[y * p->nu + h] =
					identity_in(c, p, list + off[h + 1], nm, from, to) + 1;
		}
	}
out:
	sb_free(off);
	sb_free(list);
	return rc;
}

/* ---- compare.json ---------------------------------------------------------- */

/* Closes a file of a run that fails already (the batch removes it). */
static void finish_quietly(sb_outdir *o, FILE *f)
{
	sb_diag dd;
	if (sb_outdir_finish(o, f, &dd))
		return;
}

void sb_compare_jstr(FILE *f, const char *p)
{
	fputc('"', f);
	for (; p && *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void jmoney(FILE *f, const char *name, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	fprintf(f, "\"%s\": %s", name, buf);
}

static double ratio(sb_fen a, sb_fen b)
{
	return b ? (double)a / (double)b : 0.0;
}

static double lratio(long long a, long long b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* An aggregate, or (base not NULL) its difference from base's. */
static void jagg(FILE *f, const agg *x, const agg *base)
{
	agg z = {0};
	const agg *b = base ? base : &z;
	fprintf(f, "\"claims\": %lld, ", x->claims - b->claims);
	jmoney(f, "total", x->total - b->total);
	fputs(", ", f);
	jmoney(f, "in_scope", x->in_scope - b->in_scope);
	fputs(", ", f);
	jmoney(f, "fund", x->fund - b->fund);
	fputs(", ", f);
	jmoney(f, "oop", x->oop - b->oop);
	double er = ratio(x->fund, x->total), ir = ratio(x->fund, x->in_scope);
	if (base) {
		er -= ratio(b->fund, b->total);
		ir -= ratio(b->fund, b->in_scope);
	}
	fprintf(f, ", \"effective_rate\": %.6f, \"in_scope_rate\": %.6f", er, ir);
}

static const char *layer_name(const cmp *c, int sym)
{
	for (int k = 0; k < c->nscen; k++)
		if (sym < sb_policyset_symbol_count(c->sets[k], SB_SYM_LAYER))
			return sb_policyset_symbol_name(c->sets[k], SB_SYM_LAYER, sym);
	return "?";
}

static const char *identity_name(const cmp *c, size_t i)
{
	if (!i)
		return "none";
	for (int k = 0; k < c->nscen; k++)
		if ((int)i - 1 < sb_policyset_symbol_count(c->sets[k], SB_SYM_IDENTITY))
			return sb_policyset_symbol_name(c->sets[k], SB_SYM_IDENTITY, (int)i - 1);
	return "?";
}

static void jpaid(FILE *f, const paid *x, const paid *b)
{
	fprintf(f, "\"claims_paid\": %lld, ", x->claims - (b ? b->claims : 0));
	jmoney(f, "paid", x->paid - (b ? b->paid : 0));
}

static void fp_add(fp *c, long long members, bool over10, bool over25, bool poor)
{
	c->households++;
	c->people += members;
	c->over10_h += over10;
	c->over10_p += over10 ? members : 0;
	c->over25_h += over25;
	c->over25_p += over25 ? members : 0;
	c->poor_h += poor;
	c->poor_p += poor ? members : 0;
}

static void jfp(FILE *f, const fp *x, const fp *b, bool poverty)
{
	fp z = {0};
	if (!b)
		b = &z;
	bool diff = b != &z;
	fprintf(f, "\"households_with_income\": %lld, \"people\": %lld", x->households,
		x->people);
	const char *names[] = {"oop_over_10pct", "oop_over_25pct", "impoverished"};
	long long xh[] = {x->over10_h, x->over25_h, x->poor_h},
		  xp[] = {x->over10_p, x->over25_p, x->poor_p},
		  bh[] = {b->over10_h, b->over25_h, b->poor_h},
		  bp[] = {b->over10_p, b->over25_p, b->poor_p};
	for (int i = 0; i < (poverty ? 3 : 2); i++) {
		double hs = lratio(xh[i], x->households), ps = lratio(xp[i], x->people);
		if (diff) {
			hs -= lratio(bh[i], b->households);
			ps -= lratio(bp[i], b->people);
		}
		fprintf(f, ", \"%s\": {\"households\": %lld, \"people\": %lld, "
			   "\"household_share\": %.6f, \"people_share\": %.6f}",
			names[i], xh[i] - bh[i], xp[i] - bp[i], hs, ps);
	}
}

/* Every scenario's SDG 3.8.2 counts for every year, all and by region, in
 * one pass over the units per year (p->fpc). */
static sb_status fp_build(const cmp *c, pop *p)
{
	sb_fen line = c->env->cfg->poverty_line;
	size_t ns = (size_t)c->nscen, ny = (size_t)p->nyears, nr = c->npol + 1;
	if (!(p->fpc = sb_calloc(ns * ny * nr + 1, sizeof *p->fpc)))
		return SB_ENOMEM;
	for (size_t y = 0; y < ny; y++)
		for (size_t u = 0; u < p->nu; u++) {
			if (!p->members[u] || p->income[u] < 0)
				continue;
			const sb_fen *uo = &p->uoop[(y * p->nu + u) * ns];
			__int128 inc = p->income[u];
			__int128 pl = (__int128)line * p->members[u];
			for (size_t k = 0; k < ns; k++) {
				__int128 oop = uo[k];
				bool over10 = oop * 100 > inc * 10, over25 = oop * 100 > inc * 25;
				bool poor = line > 0 && inc >= pl && inc - oop < pl;
				fp *at = &p->fpc[(k * ny + y) * nr];
				fp_add(at, p->members[u], over10, over25, poor);
				if (p->upolicy[u] < c->npol)
					fp_add(&at[1 + p->upolicy[u]], p->members[u], over10, over25,
					       poor);
			}
		}
	return SB_OK;
}

/* Scenario k's SDG 3.8.2 counts for year y: all, then by region. */
static void fp_count(const cmp *c, const pop *p, int k, size_t y, fp *all, fp *byreg)
{
	size_t nr = c->npol + 1;
	const fp *at = &p->fpc[((size_t)k * (size_t)p->nyears + y) * nr];
	*all = at[0];
	memcpy(byreg, at + 1, c->npol * sizeof *byreg);
}

/* A region is listed when it has persons or claims (a parent policy such
 * as the province file has neither). */
static bool region_shown(const cmp *c, const pop *p, size_t g)
{
	if (p->region_persons[g])
		return true;
	for (int k = 0; k < c->nscen; k++)
		if (c->sum.aggs[(size_t)k * c->naggs + c->o_region + g].claims)
			return true;
	return false;
}

static const char *const band_names[SB_BANDS] = {"gain_more_than_5pct", "gain_less_than_5pct",
						  "no_change", "lose_less_than_5pct",
						  "lose_more_than_5pct"};

/* A change in band `band` (-1: no income) into b. */
static void band_put(bands *b, int band, sb_fen change, bool *overflow)
{
	if (band < 0)
		b->unknown++;
	else
		b->n[band]++;
	if (!sb_fen_add(&b->change, change))
		*overflow = true;
}

static int band_of(sb_fen change, sb_fen income)
{
	return income < 0 ? -1 : sb_compare_band(change, income);
}

static void band_add(bands *b, sb_fen change, sb_fen income, bool *overflow)
{
	band_put(b, band_of(change, income), change, overflow);
}

static void jbands(FILE *f, const bands *b)
{
	long long total = b->unknown;
	fputs("{", f);
	for (int i = 0; i < SB_BANDS; i++) {
		fprintf(f, "\"%s\": %lld, ", band_names[i], b->n[i]);
		total += b->n[i];
	}
	fprintf(f, "\"income_unknown\": %lld, \"total\": %lld, ", b->unknown, total);
	jmoney(f, "change", b->change);
	fputs("}", f);
}

/* Winners and losers of reform k in year y, of persons (units false) or
 * households: all, by decile, by region, by identity. */
static sb_status jwinners(FILE *f, const cmp *c, const pop *p, int k,
			  size_t y, bool units)
{
	size_t n = units ? p->nu : p->np, ns = (size_t)c->nscen;
	bands all, dec[11];
	memset(&all, 0, sizeof all);
	memset(dec, 0, sizeof dec);
	bands *reg = sb_calloc(c->npol + 1, sizeof *reg);
	bands *idn = sb_calloc(c->nid + 1, sizeof *idn);
	if (!reg || !idn) {
		sb_free(reg);
		sb_free(idn);
		return SB_ENOMEM;
	}
	bool overflow = false;
	for (size_t i = 0; i < n; i++) {
		sb_fen change, income;
		size_t pol, id, dc;
		if (units) {
			if (!p->members[i])
				continue;
			const sb_fen *o = &p->uoop[(y * p->nu + i) * ns];
			change = o[k] - o[0];
			income = p->income[i];
			pol = p->upolicy[i];
			id = (size_t)p->uident[y * p->nu + i];
			dc = p->udecile[i];
		} else {
			const sb_fen *o = &p->poop[(y * p->np + i) * ns];
			change = o[k] - o[0];
			income = p->income[unit_of(p, (uint32_t)i)];
			pol = p->per[i].policy;
			id = (size_t)p->pident[y * p->np + i];
			dc = p->pdecile[i];
		}
		int band = band_of(change, income); /* once, into each of its tables */
		band_put(&all, band, change, &overflow);
		band_put(&dec[dc], band, change, &overflow);
		if (pol < c->npol)
			band_put(&reg[pol], band, change, &overflow);
		if (id < c->nid)
			band_put(&idn[id], band, change, &overflow);
	}
	fprintf(f, "{\"year\": %d, \"all\": ", p->years[y]);
	jbands(f, &all);
	fputs(",\n        \"by_decile\": [", f);
	for (int d = 1; d <= 10; d++) {
		fprintf(f, "%s{\"decile\": %d, \"bands\": ", d > 1 ? ", " : "", d);
		jbands(f, &dec[d]);
		fputs("}", f);
	}
	fputs("],\n        \"by_region\": [", f);
	for (size_t g = 0, shown = 0; g < c->npol; g++) {
		if (!region_shown(c, p, g))
			continue;
		fprintf(f, "%s{\"region\": \"%s\", \"bands\": ", shown++ ? ", " : "",
			sb_policy_region(sb_policyset_at(c->sets[0], g)));
		jbands(f, &reg[g]);
		fputs("}", f);
	}
	fputs("],\n        \"by_identity\": [", f);
	bool first = true;
	for (size_t i = 0; i < c->nid; i++) {
		long long t = idn[i].unknown;
		for (int b = 0; b < SB_BANDS; b++)
			t += idn[i].n[b];
		if (!t)
			continue;
		fprintf(f, "%s{\"identity\": ", first ? "" : ", ");
		sb_compare_jstr(f, identity_name(c, i));
		fputs(", \"bands\": ", f);
		jbands(f, &idn[i]);
		fputs("}", f);
		first = false;
	}
	fputs("]}", f);
	sb_free(reg);
	sb_free(idn);
	return overflow ? SB_ELIMIT : SB_OK;
}

/* Scenario k's disparity over the pooling regions, grouped by prefecture
 * (the first 4 digits of the region code). */
static void disparity_of(const cmp *c, const pop *p, int k, sb_disparity *per_person,
			 sb_disparity *rate)
{
	size_t n = c->npol;
	double *y1 = sb_calloc(n + 1, sizeof *y1), *y2 = sb_calloc(n + 1, sizeof *y2),
	       *w1 = sb_calloc(n + 1, sizeof *w1), *w2 = sb_calloc(n + 1, sizeof *w2);
	int *grp = sb_calloc(n + 1, sizeof *grp);
	memset(per_person, 0, sizeof *per_person);
	memset(rate, 0, sizeof *rate);
	if (y1 && y2 && w1 && w2 && grp) {
		const agg *a = c->sum.aggs + (size_t)k * c->naggs + c->o_region;
		for (size_t g = 0; g < n; g++) {
			const char *code = sb_policy_region(sb_policyset_at(c->sets[0], g));
			grp[g] = (int)(strtol(code, NULL, 10) / 100);
			double persons = (double)p->region_persons[g];
			w1[g] = persons;
			y1[g] = persons > 0 ? (double)a[g].fund / 100.0 / persons : 0;
			w2[g] = a[g].total > 0 ? persons : 0;
			y2[g] = ratio(a[g].fund, a[g].total);
		}
		sb_compare_disparity(y1, w1, grp, n, per_person);
		sb_compare_disparity(y2, w2, grp, n, rate);
	}
	sb_free(y1);
	sb_free(y2);
	sb_free(w1);
	sb_free(w2);
	sb_free(grp);
}

static void jdisp(FILE *f, const sb_disparity *x)
{
	fprintf(f, "{\"regions\": %zu, \"mean\": %.6f, \"gini\": %.6f, \"theil\": %.6f, "
		   "\"theil_between\": %.6f, \"theil_within\": %.6f, \"cv\": %.6f, "
		   "\"min\": %.6f, \"max\": %.6f, \"max_min\": ",
		x->units, x->mean, x->gini, x->theil, x->theil_between, x->theil_within, x->cv,
		x->min, x->max);
	if (x->has_max_min)
		fprintf(f, "%.6f}", x->max_min);
	else
		fputs("null}", f);
}

static void jdisp_change(FILE *f, const sb_disparity *a, const sb_disparity *b)
{
	fprintf(f, "{\"gini\": %.6f, \"theil\": %.6f, \"theil_between\": %.6f, "
		   "\"theil_within\": %.6f, \"cv\": %.6f, \"max_min\": ",
		a->gini - b->gini, a->theil - b->theil, a->theil_between - b->theil_between,
		a->theil_within - b->theil_within, a->cv - b->cv);
	if (a->has_max_min && b->has_max_min)
		fprintf(f, "%.6f}", a->max_min - b->max_min);
	else
		fputs("null}", f);
}

static const char *const scheme_names[] = {"employee", "resident"};

/* Rows are the same in every scenario's tables (and their differences):
 * a layer or identity is listed when some scenario has it. */
static bool layer_used(const cmp *c, size_t sym)
{
	for (int k = 0; k < c->nscen; k++) {
		const paid *x = &c->sum.lay[(size_t)k * c->nlay + sym];
		if (x->claims || x->paid)
			return true;
	}
	return false;
}

static bool ident_used(const cmp *c, size_t i)
{
	for (int k = 0; k < c->nscen; k++)
		if (c->sum.aggs[(size_t)k * c->naggs + c->o_ident + i].claims)
			return true;
	return false;
}

/* One scenario's tables (base < 0), or reform k's differences from the
 * baseline. */
static sb_status jscenario(FILE *f, const cmp *c, const pop *p, int k, bool diff)
{
	const thr *m = &c->sum;
	const agg *a = m->aggs + (size_t)k * c->naggs, *b0 = m->aggs;
	const agg *b = diff ? b0 : NULL;
	size_t ns = (size_t)c->nscen;
	(void)ns;
	fprintf(f, "    {\"scenario\": %d, \"policies\": ", k);
	sb_compare_jstr(f, c->env->dirs[k]);
	fprintf(f, ", \"rejected\": %lld,\n     \"money\": {", diff ? m->rejected[k] - m->rejected[0]
							      : m->rejected[k]);
	jagg(f, &a[c->o_all], b ? &b[c->o_all] : NULL);
	fputs("},\n     \"by_layer\": [", f);
	const int *order;
	size_t nl = sb_policyset_layer_order(c->sets[0], &order);
	bool *seen = sb_calloc(c->nlay + 1, 1);
	if (!seen)
		return SB_ENOMEM;
	size_t nout = 0;
	const paid *lay = m->lay + (size_t)k * c->nlay;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < (pass ? c->nlay : nl); i++) {
			size_t sym = pass ? i : (size_t)order[i];
			if (sym >= c->nlay || seen[sym])
				continue;
			seen[sym] = true;
			if (pass && !layer_used(c, sym))
				continue; /* a symbol no layer pays under in any scenario */
			fprintf(f, "%s\n       {\"layer\": ", nout++ ? "," : "");
			sb_compare_jstr(f, layer_name(c, (int)sym));
			fputs(", ", f);
			jpaid(f, &lay[sym], diff ? &m->lay[sym] : NULL);
			fputs("}", f);
		}
	sb_free(seen);
	fputs("],\n     \"by_fund_code\": [", f);
	const paid *fund = m->fund + (size_t)k * c->nfund;
	for (size_t i = 0; i < c->nfund; i++) {
		fprintf(f, "%s\n       {\"fund_code\": ", i ? "," : "");
		sb_compare_jstr(f, c->fund_code[i]);
		fputs(", ", f);
		jpaid(f, &fund[i], diff ? &m->fund[i] : NULL);
		fputs("}", f);
	}
	fputs("],\n     \"by_region\": [", f);
	for (size_t g = 0, n = 0; g < c->npol; g++) {
		if (!region_shown(c, p, g))
			continue;
		const sb_policy *pol = sb_policyset_at(c->sets[0], g);
		fprintf(f, "%s\n       {\"region\": \"%s\", \"name\": ", n++ ? "," : "",
			sb_policy_region(pol));
		sb_compare_jstr(f, sb_policy_name(pol));
		fprintf(f, ", \"persons\": %lld, ", p->region_persons[g]);
		jagg(f, &a[c->o_region + g], b ? &b[c->o_region + g] : NULL);
		double pp = p->region_persons[g] ? (double)a[c->o_region + g].fund / 100.0 /
							   (double)p->region_persons[g]
						 : 0;
		if (b && p->region_persons[g])
			pp -= (double)b[c->o_region + g].fund / 100.0 / (double)p->region_persons[g];
		fprintf(f, ", \"fund_per_person\": %.6f}", pp);
	}
	fputs("],\n     \"by_scheme\": [", f);
	for (size_t i = 0; i < 2; i++) {
		fprintf(f, "%s\n       {\"scheme\": \"%s\", ", i ? "," : "", scheme_names[i]);
		jagg(f, &a[c->o_scheme + i], b ? &b[c->o_scheme + i] : NULL);
		fputs("}", f);
	}
	fputs("],\n     \"by_visit\": [", f);
	for (size_t i = 0; i < SB_VISIT_N; i++) {
		fprintf(f, "%s\n       {\"visit\": \"%s\", ", i ? "," : "", sb_visit_names[i]);
		jagg(f, &a[c->o_visit + i], b ? &b[c->o_visit + i] : NULL);
		fputs("}", f);
	}
	fputs("],\n     \"by_identity\": [", f);
	bool first = true;
	for (size_t i = 0; i < c->nid; i++) {
		if (!ident_used(c, i))
			continue;
		fprintf(f, "%s\n       {\"identity\": ", first ? "" : ",");
		sb_compare_jstr(f, identity_name(c, i));
		fputs(", ", f);
		jagg(f, &a[c->o_ident + i], b ? &b[c->o_ident + i] : NULL);
		fputs("}", f);
		first = false;
	}
	bool poverty = c->env->cfg->poverty_line > 0;
	fputs("],\n     \"financial_protection\": [", f);
	fp *reg = sb_calloc(c->npol + 1, sizeof *reg), *reg0 = sb_calloc(c->npol + 1, sizeof *reg0);
	if (!reg || !reg0) {
		sb_free(reg);
		sb_free(reg0);
		return SB_ENOMEM;
	}
	for (size_t y = 0; y < (size_t)p->nyears; y++) {
		fp all, all0;
		fp_count(c, p, k, y, &all, reg);
		fp_count(c, p, 0, y, &all0, reg0);
		fprintf(f, "%s\n       {\"year\": %d, ", y ? "," : "", p->years[y]);
		jfp(f, &all, diff ? &all0 : NULL, poverty);
		fputs(",\n        \"by_region\": [", f);
		for (size_t g = 0, n = 0; g < c->npol; g++) {
			if (!region_shown(c, p, g))
				continue;
			fprintf(f, "%s{\"region\": \"%s\", ", n++ ? ", " : "",
				sb_policy_region(sb_policyset_at(c->sets[0], g)));
			jfp(f, &reg[g], diff ? &reg0[g] : NULL, poverty);
			fputs("}", f);
		}
		fputs("]}", f);
	}
	sb_free(reg);
	sb_free(reg0);
	fputs("],\n     \"disparity\": {\"groups\": \"prefecture (the first 4 digits of the "
	      "region code)\", ",
	      f);
	sb_disparity pp, rate, pp0, rate0;
	disparity_of(c, p, k, &pp, &rate);
	if (!diff) {
		fputs("\"fund_per_person\": ", f);
		jdisp(f, &pp);
		fputs(", \"effective_rate\": ", f);
		jdisp(f, &rate);
		fputs("}", f);
	} else {
		disparity_of(c, p, 0, &pp0, &rate0);
		fputs("\n       \"fund_per_person\": {\"before\": ", f);
		jdisp(f, &pp0);
		fputs(", \"after\": ", f);
		jdisp(f, &pp);
		fputs(", \"change\": ", f);
		jdisp_change(f, &pp, &pp0);
		fputs("},\n       \"effective_rate\": {\"before\": ", f);
		jdisp(f, &rate0);
		fputs(", \"after\": ", f);
		jdisp(f, &rate);
		fputs(", \"change\": ", f);
		jdisp_change(f, &rate, &rate0);
		fputs("}}", f);
		fputs(",\n     \"winners_losers\": {\"bands\": \"change in annual out-of-pocket "
		      "spending as a share of household income: gain more than 5%, gain less than "
		      "5%, no change (within 0.1%), lose less than 5%, lose more than 5%\",\n"
		      "      \"persons\": [",
		      f);
		sb_status st = SB_OK;
		for (size_t y = 0; y < (size_t)p->nyears && !st; y++) {
			fputs(y ? ",\n       " : "\n       ", f);
			st = jwinners(f, c, p, k, y, false);
		}
		fputs("],\n      \"households\": [", f);
		for (size_t y = 0; y < (size_t)p->nyears && !st; y++) {
			fputs(y ? ",\n       " : "\n       ", f);
			st = jwinners(f, c, p, k, y, true);
		}
		fputs("]}", f);
		if (st)
			return st;
	}
	fputs(",\n     \"monitoring\": ", f);
	sb_status st = sb_compare_monitoring_json(f, c->monitor, k, diff);
	fputs("}", f);
	return st;
}

static sb_status write_json(cmp *c, const pop *p, sb_diag *d)
{
	FILE *f = sb_outdir_create(c->env->out, "compare.json", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	fputs("{\n  \"format\": \"sanbao-compare 1\",\n  \"scenarios\": [", f);
	for (int k = 0; k < c->nscen; k++) {
		fprintf(f, "%s{\"scenario\": %d, \"role\": \"%s\", \"policies\": ", k ? ", " : "", k,
			k ? "reform" : "baseline");
		sb_compare_jstr(f, c->env->dirs[k]);
		fputs("}", f);
	}
	fprintf(f, "],\n  \"persons\": %zu, \"households\": %zu, \"poverty_line_per_person\": ",
		p->np, p->nh);
	if (c->env->cfg->poverty_line > 0) {
		char l[SB_MONEY_BUF];
		sb_money_format(c->env->cfg->poverty_line, l);
		fputs(l, f);
	} else {
		fputs("null", f);
	}
	fputs(",\n  \"years\": [", f);
	for (int y = 0; y < p->nyears; y++)
		fprintf(f, "%s%d", y ? ", " : "", p->years[y]);
	fprintf(f, "],\n  \"person_years_beyond_%d_years\": %lld,\n", MAX_YEARS, p->years_dropped);
	fputs("  \"monitoring\": \"warnings and approaching units of each scenario's monitoring "
	      "rules, as `sanbao settle --monitor` with its policies counts them: results[k]."
	      "monitoring, and differences[k].monitoring (reform - baseline) by rule, region and "
	      "identity\",\n",
	      f);
	fputs("  \"explained\": ", f);
	fputs(c->explained ? c->explained : "null", f);
	fputs(",\n  \"results\": [\n", f);
	sb_status st = SB_OK;
	for (int k = 0; k < c->nscen && !st; k++) {
		st = jscenario(f, c, p, k, false);
		fputs(k + 1 < c->nscen ? ",\n" : "\n", f);
	}
	fputs("  ],\n  \"differences\": [\n", f);
	for (int k = 1; k < c->nscen && !st; k++) {
		st = jscenario(f, c, p, k, true);
		fputs(k + 1 < c->nscen ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
	if (st) {
		finish_quietly(c->env->out, f);
		return sb_diag_set(d, st, NULL, 0, 0,
				   st == SB_ELIMIT ? "a sum of out-of-pocket changes does not fit "
						     "in 64 bits of fen"
						   : "out of memory");
	}
	return sb_outdir_finish(c->env->out, f, d);
}

static void put_yuan(FILE *f, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	fputs(buf, f);
}

/* compare.txt: the headline of each reform, as `sanbao compare` prints it. */
static sb_status write_headline(cmp *c, const pop *p, sb_diag *d)
{
	FILE *f = sb_outdir_create(c->env->out, "compare.txt", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	size_t ns = (size_t)c->nscen;
	fp *reg = sb_calloc(c->npol + 1, sizeof *reg);
	if (!reg) {
		finish_quietly(c->env->out, f);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	const agg *b = c->sum.aggs + c->o_all;
	sb_disparity pp0, rate0, pp, rate;
	disparity_of(c, p, 0, &pp0, &rate0);
	for (int k = 1; k < c->nscen; k++) {
		const agg *a = c->sum.aggs + (size_t)k * c->naggs + c->o_all;
		fprintf(f, "reform %d (%s):\n  cost: fund ", k, c->env->dirs[k]);
		put_yuan(f, a->fund - b->fund);
		fputs(" (", f);
		put_yuan(f, b->fund);
		fputs(" -> ", f);
		put_yuan(f, a->fund);
		fputs("), out of pocket ", f);
		put_yuan(f, a->oop - b->oop);
		fprintf(f, "; effective rate %.2f%% -> %.2f%%\n", 100 * ratio(b->fund, b->total),
			100 * ratio(a->fund, a->total));
		bands all;
		memset(&all, 0, sizeof all);
		bool overflow = false;
		for (size_t y = 0; y < (size_t)p->nyears; y++)
			for (size_t i = 0; i < p->np; i++)
				band_add(&all,
					 p->poop[(y * p->np + i) * ns + (size_t)k] -
						 p->poop[(y * p->np + i) * ns],
					 p->income[unit_of(p, (uint32_t)i)], &overflow);
		fprintf(f, "  persons (person-years): gain >5%% %lld, gain <5%% %lld, no change %lld, "
			   "lose <5%% %lld, lose >5%% %lld, no income %lld\n",
			all.n[0], all.n[1], all.n[2], all.n[3], all.n[4], all.unknown);
		for (size_t y = 0; y < (size_t)p->nyears; y++) {
			fp f0, f1;
			fp_count(c, p, 0, y, &f0, reg);
			fp_count(c, p, k, y, &f1, reg);
			fprintf(f, "  %d: households spending over 10%% of income %lld -> %lld, over 25%% "
				   "%lld -> %lld",
				p->years[y], f0.over10_h, f1.over10_h, f0.over25_h, f1.over25_h);
			if (c->env->cfg->poverty_line > 0)
				fprintf(f, ", impoverished %lld -> %lld", f0.poor_h, f1.poor_h);
			fputc('\n', f);
		}
		disparity_of(c, p, k, &pp, &rate);
		fprintf(f, "  regional disparity: effective rate Gini %.4f -> %.4f, Theil %.4f -> "
			   "%.4f; fund per person Gini %.4f -> %.4f\n",
			rate0.gini, rate.gini, rate0.theil, rate.theil, pp0.gini, pp.gini);
	}
	sb_free(reg);
	return sb_outdir_finish(c->env->out, f, d);
}

/* persons_changed.csv: every person-year whose out-of-pocket spending some
 * reform changes. */
static sb_status write_changed(cmp *c, const pop *p, sb_diag *d)
{
	FILE *f = sb_outdir_create(c->env->out, "persons_changed.csv", d);
	if (!f)
		return d->code ? d->code : SB_EIO;
	const sb_sink_people *pp = c->env->people;
	fputs("person,region,household,identity,decile,year,household_income,baseline_oop", f);
	for (int k = 1; k < c->nscen; k++)
		fprintf(f, ",reform_%d_oop,reform_%d_change", k, k);
	fputc('\n', f);
	char money[SB_MONEY_BUF];
	size_t ns = (size_t)c->nscen;
	for (size_t i = 0; i < p->np * (size_t)p->nyears; i++) {
		uint32_t person = (uint32_t)(i / (size_t)p->nyears);
		size_t y = i % (size_t)p->nyears;
		size_t at = y * p->np + person;
		if (!p->has[at])
			continue;
		const sb_fen *o = &p->poop[at * ns]; /* o[k]: scenario k */
		bool changed = false;
		for (int k = 1; k < c->nscen; k++)
			changed |= o[k] != o[0];
		int year = p->years[y];
		if (!changed)
			continue;
		char id[SB_ID_LEN + 1], shown[SB_ID_LEN + 1];
		pp->id_text(pp->ctx, person, id);
		if (c->env->cfg->show_ids)
			memcpy(shown, id, sizeof shown);
		else
			sb_id_mask(id, strlen(id), shown);
		const sb_sink_person *q = &p->per[person];
		size_t u = unit_of(p, person);
		fprintf(f, "%s,%s,%s,%s,", shown,
			q->policy < c->npol ? sb_policy_region(sb_policyset_at(c->sets[0], q->policy))
					    : "",
			q->household ? pp->household_name(pp->ctx, q->household) : "",
			identity_name(c, (size_t)p->pident[(size_t)y * p->np + person]));
		if (p->pdecile[person])
			fprintf(f, "%d", p->pdecile[person]);
		fprintf(f, ",%d,", year);
		if (p->income[u] >= 0) {
			sb_money_format(p->income[u], money);
			fputs(money, f);
		}
		sb_money_format(o[0], money);
		fprintf(f, ",%s", money);
		for (int k = 1; k < c->nscen; k++) {
			sb_money_format(o[k], money);
			fprintf(f, ",%s", money);
			sb_money_format(o[k] - o[0], money);
			fprintf(f, ",%s", money);
		}
		fputc('\n', f);
	}
	return sb_outdir_finish(c->env->out, f, d);
}

static sb_status end(void *self, sb_diag *d)
{
	cmp *c = self;
	if (c->sum.overflow)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "the money of the claims adds up to more than a 64-bit sum of "
				   "fen holds: nothing is compared; check the claims' amounts");
	pop p;
	memset(&p, 0, sizeof p);
	sb_status st = pop_build(c, &p);
	if (!st)
		st = fp_build(c, &p);
	if (st == SB_ELIMIT)
		st = sb_diag_set(d, st, NULL, 0, 0, "a household's out-of-pocket spending adds up "
				 "to more than a 64-bit sum of fen holds");
	else if (st)
		st = sb_diag_set(d, st, NULL, 0, 0, "out of memory");
	if (!st)
		st = write_json(c, &p, d);
	if (!st)
		st = write_changed(c, &p, d);
	if (!st)
		st = write_headline(c, &p, d);
	pop_release(&p);
	return st;
}

static void release(void *self)
{
	cmp *c = self;
	thr_release(&c->sum);
	sb_free(c->vf);
	sb_free(c->fund_of);
	sb_free(c->fund_code);
	sb_free(c->to0);
	free(c->explained);
	sb_free(c);
}

static const sb_sink_ops ops = {
	.name = "compare",
	.begin = begin,
	.thread_new = thread_new,
	.claim = claim,
	.reject = reject,
	.merge = merge,
	.thread_free = thread_free,
	.end = end,
	.release = release,
};

void sb_compare_sink_monitor(sb_sink *compare, const sb_sink *monitor)
{
	((cmp *)compare->self)->monitor = monitor;
}

sb_status sb_compare_sink_new(sb_sink *out)
{
	cmp *c = sb_calloc(1, sizeof *c);
	if (!c)
		return SB_ENOMEM;
	out->ops = &ops;
	out->self = c;
	return SB_OK;
}
