/* monitor_sink.c: monitoring as a sink of the batch (see monitor_sink.h). */
#include "monitor/monitor_sink.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "batch/dist.h"
#include "io/outfile.h"
#include "monitor/monitor_int.h"
#include "sink/obuf.h"

/* Out-of-pocket of one unit (household + 1, or 2^32 + person) in a year. */
typedef struct mon_hh {
	uint64_t unit;
	int year;
	sb_fen oop;
} mon_hh;

/* Counts and per-unit spending, per thread and merged. The cells are
 * bounded by the policies; hh holds one entry per unit and policy year
 * with claims, so it grows with the claims (like the settlements) and is
 * bounded by MAX_HH entries. */
#define MAX_HH ((size_t)1 << 31)

typedef struct mon_stats {
	long long *cell; /* [policy][identity + 1][rule][warning, approaching] */
	long long warnings, approaching, unresolved;
	mon_hh *hh;
	size_t nhh, caphh;
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
	mon_stats s[SB_MAX_SCENARIOS]; /* hh: scenario 0's only */
} monitor;

/* A thread: the partition's events and their thresholds (reserved when the
 * partition starts, for as many events as it has records, so that neither
 * moves: events point into the pool), its rows and its counts. */
typedef struct mscen {
	sb_mon_event *ev;
	size_t nev, cap_ev;
	sb_fen *thr;
	size_t nthr, cap_thr;
	mon_stats s;
} mscen;

typedef struct mthr {
	mscen sc[SB_MAX_SCENARIOS];
	sb_obuf out[2]; /* scenario 0's warnings, approaching */
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
	sb_free(s->hh);
	memset(s, 0, sizeof *s);
}

static long long *cell(const mon_scen *sc, const mon_stats *s, size_t pol, int identity,
		       int rule, int near)
{
	size_t id = (size_t)(identity + 1);
	return &s->cell[((pol * sc->nident + id) * sc->nrules + (size_t)rule) * 2 + (size_t)near];
}

static sb_status hh_room(mon_stats *s, size_t more)
{
	if (s->nhh + more <= s->caphh)
		return SB_OK;
	if (s->nhh + more > MAX_HH)
		return SB_ELIMIT;
	size_t cap = s->caphh ? s->caphh * 2 : 1024;
	while (cap < s->nhh + more)
		cap *= 2;
	mon_hh *v = sb_realloc(s->hh, cap * sizeof *v);
	if (!v)
		return SB_ENOMEM;
	s->hh = v;
	s->caphh = cap;
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
	if (!(m->warn = sb_outdir_create(m->out, "warnings.csv", d)) ||
	    !(m->near = sb_outdir_create(m->out, "approaching.csv", d)))
		return d->code ? d->code : SB_EIO;
	fputs(header, m->warn);
	fputs(header, m->near);
	return SB_OK;
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
		stats_release(&t->sc[k].s);
	}
	sb_obuf_release(&t->out[0]);
	sb_obuf_release(&t->out[1]);
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
		size_t nthr = count * (size_t)m->sc[k].max_rules + 1;
		if (count > t->cap_ev) {
			sb_free(t->ev);
			t->cap_ev = 0;
			if (!(t->ev = sb_malloc(count * sizeof *t->ev)))
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			t->cap_ev = count;
		}
		if (nthr > t->cap_thr) {
			sb_free(t->thr);
			t->cap_thr = 0;
			if (!(t->thr = sb_malloc(nthr * sizeof *t->thr)))
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			t->cap_thr = nthr;
		}
		t->nev = t->nthr = 0;
	}
	memset(th->out, 0, sizeof th->out);
	return SB_OK;
}

/* Keeps what the monitor needs of a settled claim, by scenario. */
static sb_status claim(void *self, void *p, const sb_settled *s, sb_diag *d)
{
	monitor *m = self;
	if (s->scenario >= m->nscen)
		return SB_OK;
	mscen *t = &((mthr *)p)->sc[s->scenario];
	const sb_result *res = s->res;
	if (t->nev == t->cap_ev || t->nthr + res->nrules > t->cap_thr)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0,
				   "out of memory"); /* partition sized both for the partition */
	sb_mon_event *e = &t->ev[t->nev++];
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
	memcpy(t->thr + t->nthr, res->rule_threshold, res->nrules * sizeof *t->thr);
	e->threshold = t->thr + t->nthr;
	t->nthr += res->nrules;
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

static uint64_t unit_key(const sb_mon_event *e)
{
	return e->household ? e->household : ((uint64_t)1 << 32) + e->person;
}

/* A reform's (scenario k > 0) partition: its counts only (no rows, no
 * spending by unit: compare sums those itself). */
static sb_status reform_end(const monitor *m, mscen *t, int k)
{
	const mon_scen *sc = &m->sc[k];
	sb_mon_out mo;
	memset(&mo, 0, sizeof mo);
	sb_status st = sb_monitor_run(t->ev, t->nev, NULL, &mo);
	for (size_t i = 0; !st && i < mo.nwarn; i++) {
		const sb_mon_hit *h = &mo.warn[i];
		(*cell(sc, &t->s, policy_of(sc, h->region), h->identity, h->rule->sym, 0))++;
	}
	for (size_t i = 0; !st && i < mo.nnear; i++) {
		const sb_mon_hit *h = &mo.near[i];
		(*cell(sc, &t->s, policy_of(sc, h->region), h->identity, h->rule->sym, 1))++;
	}
	if (!st) {
		t->s.warnings += (long long)mo.nwarn;
		t->s.approaching += (long long)mo.nnear;
		t->s.unresolved += mo.unresolved;
	}
	sb_mon_out_release(&mo);
	t->nev = t->nthr = 0;
	return st;
}

/* Runs the monitor over the partition's events: its rows, counts and the
 * out-of-pocket by unit and year. The events point into the partition's
 * buffer, which lives until the partition ends. */
static sb_status partition_end(void *self, void *p, int part, void **piece, sb_diag *d)
{
	(void)part;
	monitor *m = self;
	mthr *th = p;
	mscen *t = &th->sc[0];
	const mon_scen *sc = &m->sc[0];
	size_t n = t->nev;
	mon_stats *s = &t->s;
	sb_mon_out mo;
	memset(&mo, 0, sizeof mo);
	const sb_mon_event **hh = sb_malloc((n + 1) * sizeof *hh);
	sb_status st = hh ? sb_monitor_run(t->ev, n, hh, &mo) : SB_ENOMEM;
	for (size_t i = 0; !st && i < mo.nwarn; i++) {
		const sb_mon_hit *h = &mo.warn[i];
		put_hit(m, &th->out[0], h);
		(*cell(sc, s, policy_of(sc, h->region), h->identity, h->rule->sym, 0))++;
	}
	for (size_t i = 0; !st && i < mo.nnear; i++) {
		const sb_mon_hit *h = &mo.near[i];
		put_hit(m, &th->out[1], h);
		(*cell(sc, s, policy_of(sc, h->region), h->identity, h->rule->sym, 1))++;
	}
	if (!st) {
		s->warnings += (long long)mo.nwarn;
		s->approaching += (long long)mo.nnear;
		s->unresolved += mo.unresolved;
	}
	sb_mon_out_release(&mo);
	/* Out-of-pocket by unit and policy year, for the financial-protection
	 * measures: in household order a unit's claims are together and by
	 * date, so its years follow one another. */
	for (size_t i = 0; i < n && !st;) {
		mon_hh h = {unit_key(hh[i]), hh[i]->year, 0};
		size_t j = i;
		for (; j < n && unit_key(hh[j]) == h.unit && hh[j]->year == h.year; j++)
			if (!sb_fen_add(&h.oop, hh[j]->oop))
				st = SB_ELIMIT;
		if (st) {
			sb_free(hh);
			return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
					   "a household's out-of-pocket spending in a year adds up "
					   "to more than a 64-bit sum of fen holds");
		}
		if ((st = hh_room(s, 1)))
			break;
		s->hh[s->nhh++] = h;
		i = j;
	}
	sb_free(hh);
	t->nev = t->nthr = 0;
	for (int k = 1; k < m->nscen && !st; k++)
		st = reform_end(m, &th->sc[k], k);
	sb_obuf *v = NULL;
	if (!st && (th->out[0].failed || th->out[1].failed))
		st = SB_ENOMEM;
	if (!st && !(v = sb_malloc(2 * sizeof *v)))
		st = SB_ENOMEM;
	if (st) {
		sb_obuf_release(&th->out[0]);
		sb_obuf_release(&th->out[1]);
		return fail(st, d);
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
		if (from->nhh) {
			sb_status st = hh_room(into, from->nhh);
			if (st)
				return fail(st, d);
			memcpy(into->hh + into->nhh, from->hh, from->nhh * sizeof *from->hh);
			into->nhh += from->nhh;
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

/* The highest-priority identity any member held at some time in the
 * calendar year, by the first member's region policy; -1 for none. */
static int unit_identity(const monitor *mo, const uint32_t *members, size_t n, int year)
{
	const sb_sink_people *pp = mo->people;
	sb_sink_person p;
	pp->person(pp->ctx, members[0], &p);
	const sb_policy *pol = sb_policyset_at(mo->sc->set, p.policy);
	sb_date from = sb_date_from_ymd(year, 1, 1), to = sb_date_from_ymd(year, 12, 31);
	int best = -1, best_rank = 1 << 30;
	for (size_t m = 0; m < n; m++) {
		pp->person(pp->ctx, members[m], &p);
		for (uint16_t k = 0; k < p.nidents; k++) {
			const sb_ident *id = &p.idents[k];
			if (id->to < from || id->from > to)
				continue;
			for (uint16_t r = 0; r < pol->nidentities; r++)
				if (pol->identities[r] == id->sym && r < best_rank) {
					best_rank = r;
					best = id->sym;
				}
		}
	}
	return best;
}

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

/* SDG 3.8.2: households whose out-of-pocket spending exceeds 10% and 25%
 * of their income (or consumption, as persons.csv gives it), and those
 * whom it pushes below the poverty line. Units are households (persons
 * without one stand alone); a household's income is the first value its
 * members give. */
static sb_status financial_protection(FILE *f, const monitor *mo, const char *ind)
{
	const mon_stats *s = mo->s;
	const sb_sink_people *pp = mo->people;
	int years[FP_MAX_YEARS];
	int nyears = 0;
	for (size_t i = 0; i < s->nhh && nyears < FP_MAX_YEARS; i++) {
		int k = 0;
		while (k < nyears && years[k] != s->hh[i].year)
			k++;
		if (k == nyears)
			years[nyears++] = s->hh[i].year;
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
	uint32_t *off = sb_calloc(nh + 2, sizeof *off);
	uint32_t *list = sb_malloc((np + 1) * sizeof *list);
	sb_sink_person *per = sb_malloc((np + 1) * sizeof *per);
	fp_count *all = sb_calloc((size_t)nyears + 1, sizeof *all);
	fp_count *byreg = sb_calloc((size_t)nyears * (npol + 1) + 1, sizeof *byreg);
	fp_count *byid = sb_calloc((size_t)nyears * (nid + 1) + 1, sizeof *byid);
	/* Out-of-pocket by year and unit (households, then persons): the sums
	 * scattered by index, no sort needed. */
	sb_fen *oop_at = sb_calloc((size_t)nyears * (nh + np) + 1, sizeof *oop_at);
	sb_status st = SB_OK;
	if (!off || !list || !per || !all || !byreg || !byid || !oop_at) {
		st = SB_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < np; i++)
		pp->person(pp->ctx, (uint32_t)i, &per[i]);
	/* Members of each household, by counting sort. */
	for (size_t i = 0; i < np; i++)
		if (per[i].household)
			off[per[i].household]++;
	for (size_t h = 1; h <= nh + 1; h++)
		off[h] += off[h - 1];
	for (size_t i = np; i-- > 0;)
		if (per[i].household)
			list[--off[per[i].household]] = (uint32_t)i;
	for (size_t i = 0; i < s->nhh; i++) {
		int y = 0;
		while (y < nyears && years[y] != s->hh[i].year)
			y++;
		if (y == nyears)
			continue; /* beyond FP_MAX_YEARS */
		uint64_t unit = s->hh[i].unit;
		size_t u = unit >> 32 ? nh + (size_t)(unit & 0xffffffffu) : (size_t)unit - 1;
		if (!sb_fen_add(&oop_at[(size_t)y * (nh + np) + u], s->hh[i].oop)) {
			st = SB_ELIMIT;
			goto out;
		}
	}
	sb_fen poverty_line = mo->cfg->poverty_line;
	bool poverty = poverty_line > 0;
	for (size_t u = 0; u < nh + np; u++) {
		const uint32_t *mem;
		size_t nm;
		uint32_t single;
		if (u < nh) {
			mem = list + off[u + 1];
			nm = off[u + 2] - off[u + 1];
		} else {
			single = (uint32_t)(u - nh);
			if (per[single].household)
				continue;
			mem = &single;
			nm = 1;
		}
		if (!nm)
			continue;
		sb_fen income = -1;
		for (size_t m = 0; m < nm && income < 0; m++)
			income = per[mem[m]].income;
		if (income < 0)
			continue;
		for (int y = 0; y < nyears; y++) {
			/* 128-bit products: no amount can make these wrap. */
			__int128 oop = oop_at[(size_t)y * (nh + np) + u], inc = income;
			bool over10 = oop * 100 > inc * 10, over25 = oop * 100 > inc * 25;
			__int128 line = (__int128)poverty_line * (__int128)nm;
			bool poor = poverty && inc >= line && inc - oop < line;
			int ident = unit_identity(mo, mem, nm, years[y]);
			fp_add(&all[y], (long long)nm, over10, over25, poor);
			fp_add(&byreg[(size_t)y * (npol + 1) + per[mem[0]].policy], (long long)nm,
			       over10, over25, poor);
			fp_add(&byid[(size_t)y * (nid + 1) + (size_t)(ident + 1)], (long long)nm, over10,
			       over25, poor);
		}
	}
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
	sb_free(off);
	sb_free(list);
	sb_free(per);
	sb_free(all);
	sb_free(byreg);
	sb_free(byid);
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
