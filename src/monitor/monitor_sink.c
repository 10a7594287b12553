/* monitor_sink.c: monitoring as a sink of the batch (see monitor_sink.h). */
#include "monitor/monitor_sink.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sort.h"
#include "batch/dist.h"
#include "io/outfile.h"
#include "monitor/monitor_int.h"
#include "sink/obuf.h"

/* Out-of-pocket of one unit (household index, or the number of households
 * + person) in a year. */
typedef struct mon_hh {
	uint32_t unit;
	int32_t year;
	sb_fen oop;
} mon_hh;

#define NO_UNIT UINT32_MAX

/* Counts and per-unit spending, per thread and merged. The cells are
 * bounded by the policies; hh holds one entry per unit and policy year
 * with claims, so it grows with the claims (like the settlements) and is
 * bounded by MAX_HH entries. It is kept in chunks of HH_CHUNK entries,
 * never moved: no copy as it grows, and a thread's chunks join the run's
 * as they are. */
#define MAX_HH ((size_t)1 << 31)
#define HH_CHUNK 16384

typedef struct hh_chunk {
	size_t n;
	mon_hh v[HH_CHUNK];
} hh_chunk;

typedef struct mon_stats {
	long long *cell; /* [policy][identity + 1][rule][warning, approaching] */
	long long warnings, approaching, unresolved;
	hh_chunk **hh;
	size_t nchunks, capchunks, nhh;
} mon_stats;

typedef struct region_ix {
	uint32_t region;
	size_t policy;
} region_ix;

/* A scenario's policy set as the monitor counts by it. */
typedef struct mon_scen {
	const sb_policyset *set;
	size_t npol, nident, nrules;
	int max_rules; /* the most monitoring rules of any version */
	region_ix *regions;
} mon_scen;

typedef struct monitor {
	const sb_batch_config *cfg;
	int nscen;
	mon_scen sc[SB_MAX_SCENARIOS]; /* sc[0]: the baseline, whose rows are written */
	sb_sink_people pv; /* copied: the JSON is written after the run */
	const sb_sink_people *people;
	FILE *warn, *near;
	char warn_path[PATH_MAX], near_path[PATH_MAX];
	sb_outdir *out; /* the run's output folder (borrowed) */
	uint32_t nh;    /* households: units are numbered households first */
	mon_stats s[SB_MAX_SCENARIOS]; /* hh: scenario 0's only */
} monitor;

/* A thread's state for one scenario. Claims come person by person (in
 * person, date, claim id order); a person's events are kept until the
 * next person starts, when the person's rules run on them and their
 * out-of-pocket goes into the financial-protection sums. A household
 * rule's events are run at once for a unit of one (a person without a
 * household, or a household of one member); for a larger household they
 * are kept, as one run per member, until the partition ends, when the
 * household's runs are merged into date order. The events and their
 * thresholds are reserved when the partition starts, for as many events
 * as it has records, so that neither moves: events point into the pool. */
typedef struct mrun {
	uint32_t household, start, len;
} mrun;

typedef struct mscen {
	sb_mon_event *ev;
	size_t nev, cap_ev;
	sb_fen *thr;
	size_t nthr, cap_thr;
	size_t pstart, pthr;  /* the current person's first event, first threshold */
	uint32_t cur;         /* the current person; UINT32_MAX: none yet */
	bool any_person, any_hh; /* a person / household rule held on one of theirs */
	const sb_version *mver; /* the version whose rule masks are mperson, mhh */
	uint16_t mperson, mhh;
	mrun *runs;
	size_t nrun, caprun;
	sb_mon_out po, ho;    /* hits of person rules; of household rules */
	size_t nho_sorted;    /* ho.warn / ho.near already in unit order */
	mon_hh fp;            /* scenario 0: the out-of-pocket of the current unit and year */
	mon_stats s;
} mscen;

typedef struct mthr {
	mscen sc[SB_MAX_SCENARIOS];
	sb_obuf out[2]; /* scenario 0's warnings, approaching */
	const sb_mon_event **ptr, **tmp; /* a unit's events in order; scratch */
	size_t capptr;
	sb_keyed *ka, *kb; /* the runs sorted by household */
	size_t capk;
} mthr;

static const char header[] = "rule,rule_name,unit_type,unit,person,region,identity,date,"
			     "policy_year,measure,threshold,ratio\n";

static sb_status stats_init(const mon_scen *sc, mon_stats *s)
{
	memset(s, 0, sizeof *s);
	s->cell = sb_calloc(sc->npol * sc->nident * (sc->nrules ? sc->nrules : 1) * 2 + 1,
			    sizeof *s->cell);
	return s->cell ? SB_OK : SB_ENOMEM;
}

static void stats_release(mon_stats *s)
{
	sb_free(s->cell);
	for (size_t i = 0; i < s->nchunks; i++)
		sb_free(s->hh[i]);
	sb_free(s->hh);
	memset(s, 0, sizeof *s);
}

static long long *cell(const mon_scen *sc, const mon_stats *s, size_t pol, int identity,
		       int rule, int near)
{
	size_t id = (size_t)(identity + 1);
	return &s->cell[((pol * sc->nident + id) * sc->nrules + (size_t)rule) * 2 + (size_t)near];
}

/* Room for n more chunk pointers. */
static sb_status chunk_room(mon_stats *s, size_t n)
{
	if (s->nchunks + n <= s->capchunks)
		return SB_OK;
	size_t cap = s->capchunks ? s->capchunks * 2 : 16;
	while (cap < s->nchunks + n)
		cap *= 2;
	hh_chunk **v = sb_realloc(s->hh, cap * sizeof *v);
	if (!v)
		return SB_ENOMEM;
	s->hh = v;
	s->capchunks = cap;
	return SB_OK;
}

/* Appends one unit-year. */
static sb_status hh_push(mon_stats *s, const mon_hh *h)
{
	if (s->nhh >= MAX_HH)
		return SB_ELIMIT;
	hh_chunk *c = s->nchunks ? s->hh[s->nchunks - 1] : NULL;
	if (!c || c->n == HH_CHUNK) {
		if (chunk_room(s, 1) || !(c = sb_malloc(sizeof *c)))
			return SB_ENOMEM;
		c->n = 0;
		s->hh[s->nchunks++] = c;
	}
	c->v[c->n++] = *h;
	s->nhh++;
	return SB_OK;
}

static sb_status fail(sb_status st, sb_diag *d)
{
	return st == SB_ELIMIT ? sb_diag_set(d, st, NULL, 0, 0,
					     "more than %zu household-years with claims", MAX_HH) :
				 sb_diag_set(d, st, NULL, 0, 0, "out of memory");
}

/* The policy index of a region code (the hit's) in the scenario's set; 0
 * when unknown. */
static size_t policy_of(const mon_scen *sc, uint32_t region)
{
	size_t lo = 0, hi = sc->npol;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sc->regions[mid].region < region)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sc->npol && sc->regions[lo].region == region ? sc->regions[lo].policy : 0;
}

static int cmp_region(const void *a, const void *b)
{
	const region_ix *x = a, *y = b;
	return x->region < y->region ? -1 : x->region > y->region;
}

static sb_status scen_init(mon_scen *sc, const sb_policyset *set)
{
	sc->set = set;
	sc->npol = sb_policyset_count(set);
	sc->nident = (size_t)sb_policyset_symbol_count(set, SB_SYM_IDENTITY) + 1;
	sc->nrules = (size_t)sb_policyset_symbol_count(set, SB_SYM_RULE);
	if (!(sc->regions = sb_calloc(sc->npol + 1, sizeof *sc->regions)))
		return SB_ENOMEM;
	for (size_t i = 0; i < sc->npol; i++) {
		const sb_policy *pol = sb_policyset_at(set, i);
		sc->regions[i].region = (uint32_t)strtoul(sb_policy_region(pol), NULL, 10);
		sc->regions[i].policy = i;
		for (uint16_t v = 0; v < pol->nversions; v++)
			if (pol->versions[v].nrules > sc->max_rules)
				sc->max_rules = pol->versions[v].nrules;
	}
	qsort(sc->regions, sc->npol, sizeof *sc->regions, cmp_region);
	return SB_OK;
}

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	monitor *m = self;
	m->cfg = env->cfg;
	m->nscen = env->nscenarios < SB_MAX_SCENARIOS ? env->nscenarios : SB_MAX_SCENARIOS;
	m->pv = *env->people;
	m->people = &m->pv;
	for (int k = 0; k < m->nscen; k++)
		if (scen_init(&m->sc[k], env->sets[k]) || stats_init(&m->sc[k], &m->s[k]))
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	const char *dir = env->cfg->out_dir;
	snprintf(m->warn_path, sizeof m->warn_path, "%s/warnings.csv", dir);
	snprintf(m->near_path, sizeof m->near_path, "%s/approaching.csv", dir);
	m->out = env->out;
	/* Units (households, then persons) are numbered in 32 bits. */
	if (env->people->nhouseholds + env->people->npersons >= NO_UNIT)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "more than %u households and persons to monitor in one run",
				   NO_UNIT - 1);
	m->nh = (uint32_t)env->people->nhouseholds;
	if (!(m->warn = sb_outdir_create(m->out, "warnings.csv", d)) ||
	    !(m->near = sb_outdir_create(m->out, "approaching.csv", d)))
		return d->code ? d->code : SB_EIO;
	fputs(header, m->warn);
	fputs(header, m->near);
	return SB_OK;
}

static void ob_text(sb_obuf *o, const char *s)
{
	sb_obuf_bytes(o, s, strlen(s));
}

static void put_hit(const monitor *m, sb_obuf *o, const sb_mon_hit *h)
{
	char id[SB_ID_LEN + 1], shown[SB_ID_LEN + 1], buf[48];
	m->people->id_text(m->people->ctx, h->person, id);
	if (m->cfg->show_ids)
		memcpy(shown, id, sizeof id);
	else
		sb_id_mask(id, SB_ID_LEN, shown);
	ob_text(o, h->rule->id);
	sb_obuf_bytes(o, ",", 1);
	sb_obuf_field(o, h->rule->name, strlen(h->rule->name));
	sb_obuf_bytes(o, ",", 1);
	ob_text(o, h->household ? "household," : "person,");
	if (h->household) {
		const char *name = m->people->household_name(m->people->ctx, h->unit);
		sb_obuf_field(o, name, strlen(name));
	} else {
		ob_text(o, shown);
	}
	sb_obuf_bytes(o, ",", 1);
	ob_text(o, shown);
	snprintf(buf, sizeof buf, ",%06u,", h->region % 1000000u);
	ob_text(o, buf);
	ob_text(o, h->identity < 0 ? "none" :
		   sb_policyset_symbol_name(m->sc->set, SB_SYM_IDENTITY, h->identity));
	sb_obuf_bytes(o, ",", 1);
	sb_date_format(h->date, buf);
	ob_text(o, buf);
	snprintf(buf, sizeof buf, ",%d,", h->year);
	ob_text(o, buf);
	sb_obuf_fen(o, h->measure);
	sb_obuf_bytes(o, ",", 1);
	sb_obuf_fen(o, h->threshold);
	int64_t r = sb_monitor_ratio_bp(h->measure, h->threshold);
	if (r == INT64_MAX)
		snprintf(buf, sizeof buf, ",inf\n");
	else
		snprintf(buf, sizeof buf, ",%lld.%04lld\n", (long long)(r / 10000), (long long)(r % 10000));
	ob_text(o, buf);
}

static void thread_free(void *self, void *p)
{
	(void)self;
	mthr *t = p;
	if (!t)
		return;
	for (int k = 0; k < SB_MAX_SCENARIOS; k++) {
		sb_free(t->sc[k].ev);
		sb_free(t->sc[k].thr);
		sb_free(t->sc[k].runs);
		sb_mon_out_release(&t->sc[k].po);
		sb_mon_out_release(&t->sc[k].ho);
		stats_release(&t->sc[k].s);
	}
	sb_obuf_release(&t->out[0]);
	sb_obuf_release(&t->out[1]);
	sb_free(t->ptr);
	sb_free(t->tmp);
	sb_free(t->ka);
	sb_free(t->kb);
	sb_free(t);
}

static sb_status thread_new(void *self, void **out, sb_diag *d)
{
	monitor *m = self;
	mthr *t = sb_calloc(1, sizeof *t);
	for (int k = 0; t && k < m->nscen; k++)
		if (stats_init(&m->sc[k], &t->sc[k].s)) {
			thread_free(self, t);
			t = NULL;
		}
	if (!t)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	*out = t;
	return SB_OK;
}

static sb_status partition(void *self, void *p, int part, size_t count, sb_diag *d)
{
	(void)part;
	monitor *m = self;
	mthr *th = p;
	for (int k = 0; k < m->nscen; k++) {
		mscen *t = &th->sc[k];
		/* A quarter more than asked: partitions differ a little in
		 * size, and a new buffer is fresh pages to touch. */
		size_t nthr = count * (size_t)m->sc[k].max_rules + 1;
		if (count > t->cap_ev) {
			sb_free(t->ev);
			t->cap_ev = 0;
			size_t cap = count + count / 4;
			if (!(t->ev = sb_malloc(cap * sizeof *t->ev)))
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			t->cap_ev = cap;
		}
		if (nthr > t->cap_thr) {
			sb_free(t->thr);
			t->cap_thr = 0;
			size_t cap = nthr + nthr / 4;
			if (!(t->thr = sb_malloc(cap * sizeof *t->thr)))
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			t->cap_thr = cap;
		}
		t->nev = t->nthr = t->pstart = t->pthr = 0;
		t->cur = UINT32_MAX;
		t->nrun = 0;
		t->fp.unit = NO_UNIT;
		t->po.nwarn = t->po.nnear = t->ho.nwarn = t->ho.nnear = 0;
		t->po.unresolved = t->ho.unresolved = 0;
	}
	memset(th->out, 0, sizeof th->out);
	return SB_OK;
}

/* Room for n event pointers (and n / 2 + 1 of scratch). */
static sb_status ptr_room(mthr *th, size_t n)
{
	if (n <= th->capptr)
		return SB_OK;
	size_t cap = th->capptr ? th->capptr : 256;
	while (cap < n)
		cap *= 2;
	sb_free(th->ptr);
	sb_free(th->tmp);
	th->ptr = sb_malloc(cap * sizeof *th->ptr);
	th->tmp = sb_malloc((cap / 2 + 1) * sizeof *th->tmp);
	th->capptr = th->ptr && th->tmp ? cap : 0;
	return th->capptr ? SB_OK : SB_ENOMEM;
}

/* Which of a version's rules are person rules, which household rules. */
static void rule_masks(mscen *t, const sb_version *v)
{
	t->mver = v;
	t->mperson = t->mhh = 0;
	for (uint16_t i = 0; i < v->nrules && i < 16; i++) {
		if (v->rules[i].unit == SB_UNIT_HOUSEHOLD)
			t->mhh |= (uint16_t)(1u << i);
		else
			t->mperson |= (uint16_t)(1u << i);
	}
}

static sb_status fp_overflow(sb_diag *d)
{
	return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
			   "a household's out-of-pocket spending in a year adds up "
			   "to more than a 64-bit sum of fen holds");
}

/* The current unit and year's out-of-pocket into the thread's list. */
static sb_status fp_flush(mscen *t, sb_diag *d)
{
	if (t->fp.unit == NO_UNIT)
		return SB_OK;
	sb_status st = hh_push(&t->s, &t->fp);
	if (st)
		return fail(st, d);
	t->fp.unit = NO_UNIT;
	return SB_OK;
}

/* The current person's claims are all in (those a rule holds for): their
 * person rules run, and their household rules' events run (a unit of one)
 * or kept for the partition's end. */
static sb_status person_end(mthr *th, int k, sb_diag *d)
{
	mscen *t = &th->sc[k];
	sb_mon_event *ev = t->ev + t->pstart;
	size_t n = t->nev - t->pstart;
	sb_status st = SB_OK;
	if (!n)
		return SB_OK;
	bool single = !ev->household || ev->members <= 1;
	if (t->any_person || (t->any_hh && single)) {
		if (ptr_room(th, n))
			return fail(SB_ENOMEM, d);
		for (size_t i = 0; i < n; i++)
			th->ptr[i] = &ev[i];
		if (t->any_person &&
		    (st = sb_monitor_unit(th->ptr, n, false, false, ev->person, &t->po)))
			return fail(st, d);
		/* A unit of one: its claims are in the order of the household's. */
		if (t->any_hh && single &&
		    (st = sb_monitor_unit(th->ptr, n, true, ev->household != 0,
					  ev->household ? ev->household : ev->person, &t->ho)))
			return fail(st, d);
	}
	if (!t->any_hh || single) {
		t->nev = t->pstart;
		t->nthr = t->pthr;
		return SB_OK;
	}
	/* Keep only the events a household rule holds for: the others count
	 * for nothing in a household's sums. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (t->mver != ev[i].version)
			rule_masks(t, ev[i].version);
		if (!(ev[i].rules_held & t->mhh))
			continue;
		if (kept != i)
			ev[kept] = ev[i];
		kept++;
	}
	if (t->nrun == t->caprun) {
		size_t cap = t->caprun ? t->caprun * 2 : 1024;
		mrun *v = sb_realloc(t->runs, cap * sizeof *v);
		if (!v)
			return fail(SB_ENOMEM, d);
		t->runs = v;
		t->caprun = cap;
	}
	t->runs[t->nrun++] = (mrun){ev->household, (uint32_t)t->pstart, (uint32_t)kept};
	t->nev = t->pstart + kept;
	return SB_OK;
}

/* (person, date, claim id): the order the batch hands claims over in. */
static int event_order(const sb_mon_event *x, const sb_mon_event *y)
{
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	uint32_t n = x->claim_idlen < y->claim_idlen ? x->claim_idlen : y->claim_idlen;
	int c = memcmp(x->claim_id, y->claim_id, n);
	if (c)
		return c;
	return x->claim_idlen < y->claim_idlen ? -1 : x->claim_idlen > y->claim_idlen;
}

static sb_status out_of_order(const sb_settled *s, sb_diag *d)
{
	return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
			   "claim %.*s reached the monitor out of (person, date, claim id) order",
			   (int)s->claim_idlen, s->claim_id);
}

/* Keeps what the monitor needs of a settled claim, by scenario. */
static sb_status claim(void *self, void *p, const sb_settled *s, sb_diag *d)
{
	monitor *m = self;
	int k = s->scenario;
	if (k >= m->nscen)
		return SB_OK;
	mthr *th = p;
	mscen *t = &th->sc[k];
	const sb_result *res = s->res;
	sb_status st;
	if (s->person_index != t->cur) {
		if (t->cur != UINT32_MAX && s->person_index < t->cur)
			return out_of_order(s, d);
		if (t->cur != UINT32_MAX && (st = person_end(th, k, d)))
			return st;
		t->cur = s->person_index;
		t->pstart = t->nev;
		t->pthr = t->nthr;
		t->any_person = t->any_hh = false;
	}
	if (k == 0) {
		/* Out-of-pocket by unit and policy year, for the financial-
		 * protection measures (summed by unit when the run ends): a
		 * unit's claims come together and by date. */
		uint32_t unit = s->household ? s->household - 1 : m->nh + s->person_index;
		if (unit != t->fp.unit || res->year != t->fp.year) {
			if ((st = fp_flush(t, d)))
				return st;
			t->fp = (mon_hh){unit, res->year, 0};
		}
		if (!sb_fen_add(&t->fp.oop, res->oop))
			return fp_overflow(d);
	}
	/* A claim no rule holds for counts in no sum. */
	if (!res->rules_held)
		return SB_OK;
	if (t->nev == t->cap_ev || t->nthr + res->nrules > t->cap_thr)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0,
				   "out of memory"); /* partition sized both for the partition */
	sb_mon_event *e = &t->ev[t->nev];
	e->person = s->person_index;
	e->household = s->household;
	e->members = s->members;
	e->claim_id = s->claim_id;
	e->claim_idlen = s->claim_idlen;
	e->date = s->claim->date;
	e->year = res->year;
	e->identity = res->identity;
	e->region = s->region;
	e->version = res->version;
	e->oop = res->oop;
	e->oop_in_scope = res->oop_in_scope;
	e->rules_held = res->rules_held;
	/* Each person's claims are run when the next person starts: they must
	 * come in the order sink.h promises. */
	if (t->nev > t->pstart && event_order(e - 1, e) > 0)
		return out_of_order(s, d);
	sb_fen *thr = t->thr + t->nthr;
	for (uint8_t r = 0; r < res->nrules; r++)
		thr[r] = res->rule_threshold[r];
	e->threshold = thr;
	t->nthr += res->nrules;
	t->nev++;
	if (t->mver != e->version)
		rule_masks(t, e->version);
	t->any_person |= (e->rules_held & t->mperson) != 0;
	t->any_hh |= (e->rules_held & t->mhh) != 0;
	return SB_OK;
}

/* Hits of household rules in the order sb_monitor_run gives them: by unit
 * (households by number, then persons without one), each unit's in the
 * order they came (units of one came person by person, larger households
 * at the partition's end). */
typedef struct hit_ref {
	uint64_t key;
	size_t seq;
} hit_ref;

static int cmp_hit_ref(const void *a, const void *b)
{
	const hit_ref *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static sb_status order_hits(sb_mon_hit *h, size_t n)
{
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++) {
		uint64_t a = h[i - 1].household ? h[i - 1].unit : ((uint64_t)1 << 32) + h[i - 1].unit;
		uint64_t b = h[i].household ? h[i].unit : ((uint64_t)1 << 32) + h[i].unit;
		sorted = a <= b;
	}
	if (sorted)
		return SB_OK;
	hit_ref *r = sb_malloc(n * sizeof *r);
	sb_mon_hit *c = sb_malloc(n * sizeof *c);
	if (!r || !c) {
		sb_free(r);
		sb_free(c);
		return SB_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		r[i] = (hit_ref){h[i].household ? h[i].unit : ((uint64_t)1 << 32) + h[i].unit, i};
	qsort(r, n, sizeof *r, cmp_hit_ref);
	memcpy(c, h, n * sizeof *c);
	for (size_t i = 0; i < n; i++)
		h[i] = c[r[i].seq];
	sb_free(r);
	sb_free(c);
	return SB_OK;
}

/* The partition's larger households: their members' runs of events,
 * gathered by household (in the order of their numbers), merged into date
 * order and run. */
static sb_status run_households(mthr *th, mscen *t)
{
	size_t n = t->nrun;
	if (!n)
		return SB_OK;
	/* Members listed one after another (the usual persons.csv) leave the
	 * runs in household order already. */
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = t->runs[i - 1].household <= t->runs[i].household;
	if (n + 1 > th->capk) {
		sb_free(th->ka);
		sb_free(th->kb);
		th->ka = sb_malloc((n + 1) * sizeof *th->ka);
		th->kb = sb_malloc((n + 1) * sizeof *th->kb);
		th->capk = th->ka && th->kb ? n + 1 : 0;
		if (!th->capk)
			return SB_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		th->ka[i].key = t->runs[i].household;
		th->ka[i].p = &t->runs[i];
	}
	const sb_keyed *k = sorted ? th->ka : sb_radix_sort(th->ka, th->kb, n);
	sb_status st = SB_OK;
	for (size_t i = 0; i < n && !st;) {
		size_t j = i, len = 0;
		for (; j < n && k[j].key == k[i].key; j++)
			len += ((const mrun *)k[j].p)->len;
		if (len && !(st = ptr_room(th, len))) {
			size_t at = 0;
			for (size_t r = i; r < j; r++) {
				const mrun *run = k[r].p;
				for (uint32_t e = 0; e < run->len; e++)
					th->ptr[at++] = &t->ev[run->start + e];
			}
			if (j - i > 1)
				sb_monitor_order_household(th->ptr, len, th->tmp);
			st = sb_monitor_unit(th->ptr, len, true, true, (uint32_t)k[i].key, &t->ho);
		}
		i = j;
	}
	return st;
}

/* Counts a partition's hits of one scenario by policy, identity and rule. */
static void count_hits(const mon_scen *sc, mon_stats *s, const sb_mon_out *o)
{
	for (size_t i = 0; i < o->nwarn; i++) {
		const sb_mon_hit *h = &o->warn[i];
		(*cell(sc, s, policy_of(sc, h->region), h->identity, h->rule->sym, 0))++;
	}
	for (size_t i = 0; i < o->nnear; i++) {
		const sb_mon_hit *h = &o->near[i];
		(*cell(sc, s, policy_of(sc, h->region), h->identity, h->rule->sym, 1))++;
	}
	s->warnings += (long long)o->nwarn;
	s->approaching += (long long)o->nnear;
	s->unresolved += o->unresolved;
}

/* The partition is done: its last person, its larger households, then the
 * rows (scenario 0: warnings of person rules then of household rules, and
 * the same for approaching) and every scenario's counts. */
static sb_status partition_end(void *self, void *p, int part, void **piece, sb_diag *d)
{
	(void)part;
	monitor *m = self;
	mthr *th = p;
	sb_status st = SB_OK;
	for (int k = 0; k < m->nscen && !st; k++) {
		mscen *t = &th->sc[k];
		if (t->cur != UINT32_MAX && (st = person_end(th, k, d)))
			break;
		t->cur = UINT32_MAX;
		if (k == 0 && (st = fp_flush(t, d)))
			break;
		if ((st = run_households(th, t)) || (st = order_hits(t->ho.warn, t->ho.nwarn)) ||
		    (st = order_hits(t->ho.near, t->ho.nnear))) {
			st = fail(st, d);
			break;
		}
		count_hits(&m->sc[k], &t->s, &t->po);
		count_hits(&m->sc[k], &t->s, &t->ho);
		if (k == 0) {
			for (size_t i = 0; i < t->po.nwarn; i++)
				put_hit(m, &th->out[0], &t->po.warn[i]);
			for (size_t i = 0; i < t->ho.nwarn; i++)
				put_hit(m, &th->out[0], &t->ho.warn[i]);
			for (size_t i = 0; i < t->po.nnear; i++)
				put_hit(m, &th->out[1], &t->po.near[i]);
			for (size_t i = 0; i < t->ho.nnear; i++)
				put_hit(m, &th->out[1], &t->ho.near[i]);
		}
		t->nev = t->nthr = t->nrun = 0;
		t->po.nwarn = t->po.nnear = t->ho.nwarn = t->ho.nnear = 0;
		t->po.unresolved = t->ho.unresolved = 0;
	}
	sb_obuf *v = NULL;
	if (!st && (th->out[0].failed || th->out[1].failed))
		st = fail(SB_ENOMEM, d);
	if (!st && !(v = sb_malloc(2 * sizeof *v)))
		st = fail(SB_ENOMEM, d);
	if (st) {
		sb_obuf_release(&th->out[0]);
		sb_obuf_release(&th->out[1]);
		return st;
	}
	memcpy(v, th->out, 2 * sizeof *v);
	memset(th->out, 0, sizeof th->out);
	*piece = v;
	return SB_OK;
}

static void discard(void *self, void *piece)
{
	(void)self;
	sb_obuf *v = piece;
	if (!v)
		return;
	sb_obuf_release(&v[0]);
	sb_obuf_release(&v[1]);
	sb_free(v);
}

static sb_status commit(void *self, int part, void *piece, sb_diag *d)
{
	(void)part;
	monitor *m = self;
	sb_obuf *v = piece;
	sb_status st = SB_OK;
	if (v[0].n)
		st = sb_outdir_write(m->out, m->warn, v[0].p, v[0].n, d);
	if (!st && v[1].n)
		st = sb_outdir_write(m->out, m->near, v[1].p, v[1].n, d);
	discard(self, piece);
	return st;
}

static sb_status merge(void *self, void *p, sb_diag *d)
{
	monitor *m = self;
	for (int k = 0; k < m->nscen; k++) {
		mon_stats *into = &m->s[k], *from = &((mthr *)p)->sc[k].s;
		const mon_scen *sc = &m->sc[k];
		size_t cells = sc->npol * sc->nident * sc->nrules * 2;
		for (size_t i = 0; i < cells; i++)
			into->cell[i] += from->cell[i];
		into->warnings += from->warnings;
		into->approaching += from->approaching;
		into->unresolved += from->unresolved;
		if (from->nchunks) { /* the thread's chunks join the run's */
			if (into->nhh + from->nhh > MAX_HH)
				return fail(SB_ELIMIT, d);
			if (chunk_room(into, from->nchunks))
				return fail(SB_ENOMEM, d);
			memcpy(into->hh + into->nchunks, from->hh, from->nchunks * sizeof *from->hh);
			into->nchunks += from->nchunks;
			into->nhh += from->nhh;
			from->nchunks = from->nhh = 0;
		}
	}
	return SB_OK;
}

static sb_status end(void *self, sb_diag *d)
{
	monitor *m = self;
	sb_status st = SB_OK;
	if ((st = sb_outdir_finish(m->out, m->warn, d)) == SB_OK)
		st = sb_outdir_finish(m->out, m->near, d);
	m->warn = m->near = NULL;
	return st;
}

static void release(void *self)
{
	monitor *m = self;
	/* Unfinished streams belong to the output folder. */
	for (int k = 0; k < SB_MAX_SCENARIOS; k++) {
		stats_release(&m->s[k]);
		sb_free(m->sc[k].regions);
	}
	sb_free(m);
}

sb_monitor_counts sb_monitor_sink_counts(const sb_sink *s)
{
	const monitor *m = s->self;
	sb_monitor_counts c = {m->s->warnings, m->s->approaching, m->s->unresolved};
	return c;
}

int sb_monitor_sink_scenarios(const sb_sink *s)
{
	return ((const monitor *)s->self)->nscen;
}

bool sb_monitor_sink_table(const sb_sink *s, int scenario, sb_monitor_table *out)
{
	const monitor *m = s->self;
	memset(out, 0, sizeof *out);
	if (scenario < 0 || scenario >= m->nscen)
		return false;
	const mon_scen *sc = &m->sc[scenario];
	const mon_stats *st = &m->s[scenario];
	out->set = sc->set;
	out->npolicies = sc->npol;
	out->nidentities = sc->nident;
	out->nrules = sc->nrules;
	out->total = (sb_monitor_counts){st->warnings, st->approaching, st->unresolved};
	out->cell = st->cell;
	return true;
}

/* ---- the summary ----------------------------------------------------------- */

typedef struct fp_count {
	long long households, people, over10_h, over10_p, over25_h, over25_p, poor_h, poor_p;
} fp_count;
_Static_assert(sizeof(fp_count) == 8 * sizeof(long long), "summed as 8 counts (--mpi)");

static void fp_add(fp_count *c, long long members, bool over10, bool over25, bool poor)
{
	c->households++;
	c->people += members;
	if (over10) {
		c->over10_h++;
		c->over10_p += members;
	}
	if (over25) {
		c->over25_h++;
		c->over25_p += members;
	}
	if (poor) {
		c->poor_h++;
		c->poor_p += members;
	}
}

static double share(long long a, long long b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void fp_json(FILE *f, const fp_count *c, bool poverty)
{
	fprintf(f, "\"households_with_income\": %lld, \"people\": %lld, "
		   "\"oop_over_10pct\": {\"households\": %lld, \"people\": %lld, "
		   "\"household_share\": %.4f, \"people_share\": %.4f}, "
		   "\"oop_over_25pct\": {\"households\": %lld, \"people\": %lld, "
		   "\"household_share\": %.4f, \"people_share\": %.4f}",
		c->households, c->people, c->over10_h, c->over10_p, share(c->over10_h, c->households),
		share(c->over10_p, c->people), c->over25_h, c->over25_p,
		share(c->over25_h, c->households), share(c->over25_p, c->people));
	if (poverty)
		fprintf(f, ", \"impoverished\": {\"households\": %lld, \"people\": %lld}", c->poor_h,
			c->poor_p);
}

/* SDG 3.8.2: households whose out-of-pocket spending exceeds 10% and 25%
 * of their income (or consumption, as persons.csv gives it), and those
 * whom it pushes below the poverty line. Units are households (persons
 * without one stand alone); a household's income is the first value its
 * members give. */
#define FP_MAX_YEARS 16

static void fp_json_year(FILE *f, const monitor *m, int year, const fp_count *all,
			 const fp_count *byreg, size_t npol, const fp_count *byid, size_t nid,
			 bool poverty, const char *ind, bool first_year)
{
	fprintf(f, "%s\n%s  {\"year\": %d, ", first_year ? "" : ",", ind, year);
	fp_json(f, all, poverty);
	if (poverty) {
		char l[SB_MONEY_BUF];
		sb_money_format(m->cfg->poverty_line, l);
		fprintf(f, ", \"poverty_line_per_person\": %s", l);
	}
	fprintf(f, ",\n%s   \"by_region\": [", ind);
	int first = 1;
	for (size_t g = 0; g < npol; g++) {
		if (!byreg[g].households)
			continue;
		fprintf(f, "%s\n%s    {\"region\": \"%s\", ", first ? "" : ",", ind,
			sb_policy_region(sb_policyset_at(m->sc->set, g)));
		fp_json(f, &byreg[g], poverty);
		fputs("}", f);
		first = 0;
	}
	fprintf(f, "],\n%s   \"by_identity\": [", ind);
	first = 1;
	for (size_t k = 0; k < nid; k++) {
		if (!byid[k].households)
			continue;
		fprintf(f, "%s\n%s    {\"identity\": \"%s\", ", first ? "" : ",", ind,
			k ? sb_policyset_symbol_name(m->sc->set, SB_SYM_IDENTITY, (int)k - 1) : "none");
		fp_json(f, &byid[k], poverty);
		fputs("}", f);
		first = 0;
	}
	fputs("]}", f);
}

/* A unit's counts in each year, into the cell of its year, region and
 * identity: its out-of-pocket against its income and, with a poverty line,
 * the line for its members. */
static void fp_unit(const monitor *mo, int nyears, const sb_fen *oop_at, size_t stride,
		    size_t u, sb_fen income, long long nm, size_t policy, const int *ident,
		    fp_count *cells)
{
	size_t npol = mo->sc->npol, nid = mo->sc->nident;
	sb_fen poverty_line = mo->cfg->poverty_line;
	bool poverty = poverty_line > 0;
	for (int y = 0; y < nyears; y++) {
		/* 128-bit products: no amount can make these wrap. */
		__int128 oop = oop_at[(size_t)y * stride + u], inc = income;
		bool over10 = oop * 100 > inc * 10, over25 = oop * 100 > inc * 25;
		__int128 line = (__int128)poverty_line * (__int128)nm;
		bool poor = poverty && inc >= line && inc - oop < line;
		fp_add(&cells[((size_t)y * (npol + 1) + policy) * (nid + 1) + (size_t)(ident[y] + 1)],
		       nm, over10, over25, poor);
	}
}

static void fp_sum(fp_count *into, const fp_count *c)
{
	long long *a = (long long *)into;
	const long long *b = (const long long *)c;
	for (int i = 0; i < 8; i++)
		a[i] += b[i];
}

#define NO_RANK UINT16_MAX

/* Lowers rank[y] to the rank, in pol, of each of the person's identities
 * held at some time in calendar year y ([from[y], to[y]]). */
static void fp_ranks(const sb_policy *pol, const sb_sink_person *p, int nyears,
		     const sb_date *from, const sb_date *to, uint16_t *rank, size_t stride)
{
	for (uint16_t k = 0; k < p->nidents; k++) {
		const sb_ident *id = &p->idents[k];
		uint16_t r = 0;
		while (r < pol->nidentities && pol->identities[r] != id->sym)
			r++;
		if (r == pol->nidentities)
			continue;
		for (int y = 0; y < nyears; y++)
			if (!(id->to < from[y] || id->from > to[y]) && r < rank[(size_t)y * stride])
				rank[(size_t)y * stride] = r;
	}
}

/* SDG 3.8.2: households whose out-of-pocket spending exceeds 10% and 25%
 * of their income (or consumption, as persons.csv gives it), and those
 * whom it pushes below the poverty line. Units are households (persons
 * without one stand alone); a household's income is the first value its
 * members give (in persons.csv's order), its region its first member's,
 * its identity in a year the highest-priority one (by that region's
 * policy) any member held at some time in the calendar year. One pass
 * over the persons gathers each household's; persons without one are
 * counted on the way. */
static sb_status financial_protection(FILE *f, const monitor *mo, const char *ind)
{
	const mon_stats *s = mo->s;
	const sb_sink_people *pp = mo->people;
	int years[FP_MAX_YEARS];
	int nyears = 0;
	for (size_t c = 0; c < s->nchunks; c++)
		for (size_t i = 0; i < s->hh[c]->n && nyears < FP_MAX_YEARS; i++) {
			int k = 0;
			while (k < nyears && years[k] != s->hh[c]->v[i].year)
				k++;
			if (k == nyears)
				years[nyears++] = s->hh[c]->v[i].year;
		}
	for (int i = 1; i < nyears; i++) /* a handful: insertion sort */
		for (int j = i; j > 0 && years[j - 1] > years[j]; j--) {
			int t = years[j];
			years[j] = years[j - 1];
			years[j - 1] = t;
		}
	/* --mpi: every rank's years (batch/dist.h). */
	const sb_batch_dist *dist = mo->cfg->dist;
	if (dist && dist->years && dist->years(dist->arg, years, &nyears, FP_MAX_YEARS, NULL))
		return SB_ENOMEM;
	size_t nh = pp->nhouseholds, np = pp->npersons;
	size_t npol = mo->sc->npol, nid = mo->sc->nident;
	uint32_t *nm = sb_calloc(nh + 1, sizeof *nm);
	uint32_t *policy = sb_malloc((nh + 1) * sizeof *policy);
	sb_fen *income = sb_malloc((nh + 1) * sizeof *income);
	uint16_t *rank = sb_malloc(((size_t)nyears * nh + 1) * sizeof *rank);
	fp_count *all = sb_calloc((size_t)nyears + 1, sizeof *all);
	fp_count *byreg = sb_calloc((size_t)nyears * (npol + 1) + 1, sizeof *byreg);
	fp_count *byid = sb_calloc((size_t)nyears * (nid + 1) + 1, sizeof *byid);
	/* By year, region and identity: all, byreg and byid are its sums. */
	fp_count *cells = sb_calloc((size_t)nyears * (npol + 1) * (nid + 1) + 1, sizeof *cells);
	/* Out-of-pocket by year and unit (households, then persons): the sums
	 * scattered by index, no sort needed. */
	sb_fen *oop_at = sb_calloc((size_t)nyears * (nh + np) + 1, sizeof *oop_at);
	sb_date from[FP_MAX_YEARS], to[FP_MAX_YEARS];
	sb_status st = SB_OK;
	if (!nm || !policy || !income || !rank || !all || !byreg || !byid || !cells || !oop_at) {
		st = SB_ENOMEM;
		goto out;
	}
	for (int y = 0; y < nyears; y++) {
		from[y] = sb_date_from_ymd(years[y], 1, 1);
		to[y] = sb_date_from_ymd(years[y], 12, 31);
	}
	for (size_t c = 0; c < s->nchunks; c++)
		for (size_t i = 0; i < s->hh[c]->n; i++) {
			const mon_hh *h = &s->hh[c]->v[i];
			int y = 0;
			while (y < nyears && years[y] != h->year)
				y++;
			if (y == nyears)
				continue; /* beyond FP_MAX_YEARS */
			if (!sb_fen_add(&oop_at[(size_t)y * (nh + np) + h->unit], h->oop)) {
				st = SB_ELIMIT;
				goto out;
			}
		}
	for (size_t i = 0; i < (size_t)nyears * nh; i++)
		rank[i] = NO_RANK;
	int ident[FP_MAX_YEARS];
	for (size_t i = 0; i < np; i++) {
		sb_sink_person p;
		pp->person(pp->ctx, (uint32_t)i, &p);
		if (p.household) {
			size_t h = p.household - 1;
			if (!nm[h]++) {
				policy[h] = (uint32_t)p.policy;
				income[h] = p.income;
			} else if (income[h] < 0) {
				income[h] = p.income;
			}
			if (p.nidents)
				fp_ranks(sb_policyset_at(mo->sc->set, policy[h]), &p, nyears, from, to,
					 rank + h, nh);
			continue;
		}
		if (p.income < 0)
			continue;
		const sb_policy *pol = sb_policyset_at(mo->sc->set, p.policy);
		uint16_t own[FP_MAX_YEARS];
		for (int y = 0; y < nyears; y++)
			own[y] = NO_RANK;
		fp_ranks(pol, &p, nyears, from, to, own, 1);
		for (int y = 0; y < nyears; y++)
			ident[y] = own[y] == NO_RANK ? -1 : pol->identities[own[y]];
		fp_unit(mo, nyears, oop_at, nh + np, nh + i, p.income, 1, p.policy, ident, cells);
	}
	for (size_t h = 0; h < nh; h++) {
		if (!nm[h] || income[h] < 0)
			continue;
		const sb_policy *pol = sb_policyset_at(mo->sc->set, policy[h]);
		for (int y = 0; y < nyears; y++) {
			uint16_t r = rank[(size_t)y * nh + h];
			ident[y] = r == NO_RANK ? -1 : pol->identities[r];
		}
		fp_unit(mo, nyears, oop_at, nh + np, h, income[h], nm[h], policy[h], ident, cells);
	}
	for (int y = 0; y < nyears; y++)
		for (size_t g = 0; g <= npol; g++)
			for (size_t k = 0; k <= nid; k++) {
				const fp_count *c = &cells[((size_t)y * (npol + 1) + g) * (nid + 1) + k];
				fp_sum(&all[y], c);
				fp_sum(&byreg[(size_t)y * (npol + 1) + g], c);
				fp_sum(&byid[(size_t)y * (nid + 1) + k], c);
			}
	bool poverty = mo->cfg->poverty_line > 0;
	/* --mpi: the counts of every rank's households. */
	if (dist && dist->sum &&
	    (dist->sum(dist->arg, (long long *)all, (size_t)nyears * 8, NULL) ||
	     dist->sum(dist->arg, (long long *)byreg, (size_t)nyears * (npol + 1) * 8, NULL) ||
	     dist->sum(dist->arg, (long long *)byid, (size_t)nyears * (nid + 1) * 8, NULL))) {
		st = SB_ENOMEM;
		goto out;
	}
	fputs("[", f);
	for (int y = 0; y < nyears; y++)
		fp_json_year(f, mo, years[y], &all[y], &byreg[(size_t)y * (npol + 1)], npol,
			     &byid[(size_t)y * (nid + 1)], nid, poverty, ind, y == 0);
	fprintf(f, "\n%s]", ind);
out:
	sb_free(nm);
	sb_free(policy);
	sb_free(income);
	sb_free(rank);
	sb_free(all);
	sb_free(byreg);
	sb_free(byid);
	sb_free(cells);
	sb_free(oop_at);
	return st;
}

static void rule_counts(FILE *f, const monitor *m, size_t pol_lo, size_t pol_hi, int id_lo,
			int id_hi)
{
	fputs("{", f);
	for (size_t r = 0; r < m->sc->nrules; r++) {
		long long w = 0, n = 0;
		for (size_t g = pol_lo; g < pol_hi; g++)
			for (int k = id_lo; k < id_hi; k++) {
				w += *cell(m->sc, m->s, g, k, (int)r, 0);
				n += *cell(m->sc, m->s, g, k, (int)r, 1);
			}
		fprintf(f, "%s\"%s\": {\"warnings\": %lld, \"approaching\": %lld}", r ? ", " : "",
			sb_policyset_symbol_name(m->sc->set, SB_SYM_RULE, (int)r), w, n);
	}
	fputs("}", f);
}

sb_status sb_monitor_sink_json(const sb_sink *sink, FILE *f, const char *ind, sb_diag *d)
{
	const monitor *m = sink->self;
	const mon_stats *s = m->s;
	int nid = (int)m->sc->nident - 1;
	/* --mpi: the counts of every rank (batch/dist.h), summed in place. */
	const sb_batch_dist *dist = m->cfg->dist;
	if (dist && dist->sum) {
		mon_stats *w = ((monitor *)sink->self)->s;
		long long tot[3] = {w->warnings, w->approaching, w->unresolved};
		size_t ncell = m->sc->npol * m->sc->nident * (m->sc->nrules ? m->sc->nrules : 1) * 2;
		if (dist->sum(dist->arg, tot, 3, d) || dist->sum(dist->arg, w->cell, ncell, d))
			return d->code ? d->code : SB_ENOMEM;
		w->warnings = tot[0];
		w->approaching = tot[1];
		w->unresolved = tot[2];
	}
	fprintf(f, "{\n%s  \"warnings\": %lld, \"approaching\": %lld, "
		   "\"claims_whose_threshold_could_not_be_resolved\": %lld,\n%s  \"by_rule\": ",
		ind, s->warnings, s->approaching, s->unresolved, ind);
	rule_counts(f, m, 0, m->sc->npol, -1, nid);
	fprintf(f, ",\n%s  \"by_region\": [", ind);
	for (size_t g = 0; g < m->sc->npol; g++) {
		fprintf(f, "%s\n%s    {\"region\": \"%s\", \"rules\": ", g ? "," : "", ind,
			sb_policy_region(sb_policyset_at(m->sc->set, g)));
		rule_counts(f, m, g, g + 1, -1, nid);
		fputs("}", f);
	}
	fprintf(f, "],\n%s  \"by_identity\": [", ind);
	for (int k = -1; k < nid; k++) {
		fprintf(f, "%s\n%s    {\"identity\": \"%s\", \"rules\": ", k >= 0 ? "," : "", ind,
			k < 0 ? "none" : sb_policyset_symbol_name(m->sc->set, SB_SYM_IDENTITY, k));
		rule_counts(f, m, 0, m->sc->npol, k, k + 1);
		fputs("}", f);
	}
	fprintf(f, "],\n%s  \"financial_protection\": ", ind);
	sb_status st = financial_protection(f, m, ind);
	if (st == SB_ELIMIT)
		return sb_diag_set(d, st, NULL, 0, 0, "a household's out-of-pocket spending adds "
				   "up to more than a 64-bit sum of fen holds");
	if (st)
		return sb_diag_set(d, st, NULL, 0, 0, "out of memory");
	fprintf(f, "\n%s}", ind);
	return SB_OK;
}

static const sb_sink_ops ops = {
	.name = "monitor",
	.begin = begin,
	.thread_new = thread_new,
	.partition = partition,
	.claim = claim,
	.partition_end = partition_end,
	.commit = commit,
	.discard = discard,
	.merge = merge,
	.thread_free = thread_free,
	.end = end,
	.release = release,
};

sb_status sb_monitor_sink_new(sb_sink *out)
{
	monitor *m = sb_calloc(1, sizeof *m);
	if (!m)
		return SB_ENOMEM;
	out->ops = &ops;
	out->self = m;
	return SB_OK;
}
