/* pass2.c: settles the claim partitions in parallel (duplicate claim ids
 * are found before, by batch/dups.c): each is sorted by person, date and
 * claim id and each claim is run through sb_settle_claim under every
 * scenario's policy set; every settled or rejected claim goes to the sinks
 * (src/sink/sink.h), whose per-partition output is committed in partition
 * order, so the output does not depend on the number of threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_sink.h"
#include "base/arena.h"
#include "base/sort.h"
#include "batch/pass_int.h"
#include "compare/compare.h"
#include "monitor/monitor_sink.h"
#include "sink/explain.h"
#include "sink/settlements.h"
#include "sink/summary.h"
#include "sanbao/explain.h"

#include "io/outfile.h"

static sb_status read_into(int fd, int64_t size, char *buf, sb_diag *d)
{
	int64_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, (size_t)(size - got), (off_t)got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot read a spill file back: %s",
					   n ? strerror(errno) : "short read");
		}
		got += n;
	}
	return SB_OK;
}

/* ---- settlement --------------------------------------------------------- */

typedef struct run2 {
	sb_batch *b;
	const sb_dup *dups;
	size_t ndups;
	int nscen;
	const sb_policyset **sets;  /* [nscen]; sets[0] is b->set */
	sb_policyset **owned;       /* sets[1..] loaded here */
	const sb_policy **polmap;   /* [nscen][npol]: scenario s's policy for policy i of set 0 */
	size_t *polidx;             /* its index in the scenario's set */
	size_t npol;                /* policies of set 0 */
	const char **dirs;          /* [nscen]: their policy folders */
	sb_sink *sinks;
	int nsinks;
	sb_sink_env env;
	sb_sink_people people;
	atomic_int next;
	pthread_mutex_t lock;
	int next_write;
	bool writing;               /* a thread is committing (with the lock released) */
	void **slots;               /* [partitions][nsinks]: pieces waiting for their turn
				     * (fixed size; a piece is one partition's output) */
	bool *ready;
	bool hh[SB_MAX_SCENARIOS];  /* scenario s keeps household accumulators */
	bool any_hh;
	sb_status st;
	sb_diag d;
} run2;

typedef struct w2 {
	run2 *run;
	void **thr;     /* each sink's thread state */
	sb_acc *acc;    /* the current person's accumulators, one per scenario */
	sb_trace *trace; /* the explained claim's steps (about 125 KB: made when needed) */
	sb_rejects rejects;
	char *buf;      /* the partition being settled */
	size_t bufcap;
	sb_crec **recs; /* its records, in settlement order */
	sb_keyed *keys, *ktmp; /* their sort keys, and the sort's scratch */
	size_t capkeys;
	sb_hh_pass hh;  /* what the household pass kept per claim (household.c) */
	sb_acc hacc;    /* a claim's household accumulators, from its note */
	sb_status st;
	sb_diag d;
} w2;

static int cmp_rec(const void *a, const void *b)
{
	const sb_crec *x = *(const sb_crec *const *)a, *y = *(const sb_crec *const *)b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
	int c = memcmp(sb_crec_id(x), sb_crec_id(y), n);
	if (c)
		return c;
	if (x->idlen != y->idlen)
		return x->idlen < y->idlen ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static const sb_dup *find_dup(const run2 *r, uint64_t line)
{
	size_t lo = 0, hi = r->ndups;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->dups[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->ndups && r->dups[lo].line == line ? &r->dups[lo] : NULL;
}

/* A claim not settled under scenario s (-1: under any, a duplicate). The
 * batch's rejects.csv lists scenario 0's. */
static sb_status reject_rec(w2 *w, const sb_crec *r, int s, const char *reason,
			    const sb_trace *trace)
{
	run2 *run = w->run;
	sb_rejected x = {s, r->line, sb_crec_id(r), r->idlen, reason, r->total, trace};
	sb_status st = SB_OK;
	if (s <= 0 && (st = sb_rejects_add(&w->rejects, 2, r->line, sb_crec_id(r), r->idlen, reason,
					     true, r->total)))
		return sb_diag_set(&w->d, st, NULL, 0, 0, "out of memory");
	for (int k = 0; k < run->nsinks && !st; k++)
		if (run->sinks[k].ops->reject)
			st = run->sinks[k].ops->reject(run->sinks[k].self, w->thr[k], &x, &w->d);
	return st;
}

static sb_status emit(w2 *w, const sb_settled *x)
{
	run2 *run = w->run;
	sb_status st = SB_OK;
	for (int k = 0; k < run->nsinks && !st; k++)
		if (run->sinks[k].ops->claim)
			st = run->sinks[k].ops->claim(run->sinks[k].self, w->thr[k], x, &w->d);
	return st;
}

/* The one call into the settlement core, with the person's accumulators
 * for scenario s: they start empty with each person. Record i of a
 * household with several members settles on its household's accumulators
 * as the household pass noted them. */
static sb_status settle_one(w2 *w, int s, bool new_person, size_t i, const sb_policy *pol,
			    const sb_person *p, const sb_claim *c, sb_result *res,
			    sb_trace *trace, sb_diag *d)
{
	sb_acc *acc = &w->acc[s];
	if (new_person)
		sb_acc_reset(acc);
	sb_status st;
	if (w->run->hh[s] && sb_hh_pass_take(&w->hh, i, s, res, d, &st)) {
		/* The trace borrowed the household pass's claim: point it at
		 * this one's text, as sb_settle_claim would. */
		if (trace) {
			trace->claim_id = c->id;
			if (trace->has_head)
				trace->level = c->level_name && *c->level_name ? c->level_name : "-";
		}
		return st;
	}
	if (w->run->hh[s] && sb_hh_pass_load(&w->hh, i, s, &w->hacc, &st))
		return st ? sb_diag_set(d, st, NULL, 0, 0, "out of memory") :
			    sb_settle_claim_household(w->run->sets[s], pol, p, c, acc, &w->hacc, res,
						      trace, d);
	return sb_settle_claim(w->run->sets[s], pol, p, c, acc, res, trace, d);
}

/* The claim of a record (borrowing the buffers: id of 72 bytes, level of
 * 48, dx of SB_CREC_DX_MAX + 1); with amounts, also its pre_selfpay,
 * over_limit, paid and class amounts (not in monitor-only records). */
static void rec_claim(const sb_batch *b, const sb_crec *r, bool amounts, sb_claim *c, char *id,
		      char *level, char *dx)
{
	memset(c, 0, sizeof *c);
	memcpy(id, sb_crec_id(r), r->idlen);
	id[r->idlen] = '\0';
	c->id = id;
	c->date = r->date;
	c->visit = r->visit;
	c->place = r->place;
	c->filing = r->filing;
	c->level = r->level;
	if (r->level >= 0) {
		c->level_name = sb_policyset_symbol_name(b->set, SB_SYM_LEVEL, r->level);
	} else {
		memcpy(level, sb_crec_id(r) + r->idlen, r->levlen);
		level[r->levlen] = '\0';
		c->level_name = level;
	}
	c->total = r->total;
	c->in_scope = r->in_scope;
	memcpy(dx, sb_crec_id(r) + r->idlen + r->levlen, r->dxlen);
	dx[r->dxlen] = '\0';
	c->diagnosis = dx;
	if (!amounts)
		return;
	c->pre_selfpay = r->pre_selfpay;
	c->over_limit = r->over_limit;
	const sb_crec_paid *paid = (const sb_crec_paid *)(r + 1);
	for (uint8_t k = 0; k < r->npaid; k++) {
		if (paid[k].pad == SB_CREC_CLASS) {
			c->classes[c->nclasses].sym = paid[k].layer;
			c->classes[c->nclasses++].fen = paid[k].fen;
		} else {
			c->paid[c->npaid].layer = paid[k].layer;
			c->paid[c->npaid++].fen = paid[k].fen;
		}
	}
}

/* A level set 0 does not know may be one of scenario s's: the claim as
 * scenario s reads it (in *other when it differs). */
static const sb_claim *scenario_claim(const run2 *run, int s, const sb_crec *r,
				      const sb_claim *c, const char *level, sb_claim *other)
{
	if (!s || r->level >= 0 || !r->levlen)
		return c;
	*other = *c;
	other->level = sb_policyset_symbol(run->sets[s], SB_SYM_LEVEL, level, r->levlen);
	return other;
}

/* The household pass's settlement of record i (household.c): what the
 * settlement pass will settle, the same way, for the accumulators only. */
typedef struct hh_ctx {
	w2 *w;
	sb_crec *const *recs;
} hh_ctx;

static sb_status hh_settle(void *ctx, size_t i, int s, const sb_person *person, sb_acc *acc,
			   sb_acc *hacc, sb_result *res, sb_diag *d, bool *settled)
{
	hh_ctx *x = ctx;
	w2 *w = x->w;
	const run2 *run = w->run;
	const sb_batch *b = run->b;
	const sb_crec *r = x->recs[i];
	if (run->ndups && find_dup(run, r->line))
		return SB_OK; /* rejected, never settled */
	const sb_bperson *bp = &b->persons[r->person];
	const sb_policy *pol = run->polmap[(size_t)s * run->npol + bp->policy];
	if (!pol)
		return SB_OK;
	char id[72], level[48], dx[SB_CREC_DX_MAX + 1];
	sb_claim c, other;
	rec_claim(b, r, true, &c, id, level, dx);
	/* The explained claim's trace: the settlement pass hands it on. */
	sb_trace *trace = NULL;
	if (!s && b->cfg->explain_id && !strcmp(b->cfg->explain_id, id)) {
		if (!w->trace && !(w->trace = sb_malloc(sizeof *w->trace)))
			return SB_ENOMEM;
		trace = w->trace;
	}
	*settled = true;
	return sb_settle_claim_household(run->sets[s], pol, person,
					 scenario_claim(run, s, r, &c, level, &other), acc, hacc, res,
					 trace, d);
}

/* Sorts the records keyed in a[0..n) (tmp: scratch of n) into recs by
 * person, date, then claim id: a radix sort on (person, day), then
 * insertion sort of the short runs that share both (the same person on
 * the same day) by id and line. */
static void sort_recs(sb_keyed *a, sb_keyed *tmp, size_t n, sb_crec **recs)
{
	sb_keyed *s = sb_radix_sort(a, tmp, n);
	for (size_t i = 0; i < n; i++) {
		recs[i] = (sb_crec *)s[i].p;
		for (size_t j = i; j > 0 && s[j - 1].key == s[j].key &&
				   cmp_rec(&recs[j - 1], &recs[j]) > 0; j--) {
			sb_crec *t = recs[j];
			recs[j] = recs[j - 1];
			recs[j - 1] = t;
		}
	}
}

/* Room for n records' pointers and keys in w. */
static bool reserve_keys(w2 *w, size_t n)
{
	if (n <= w->capkeys)
		return true;
	size_t cap = n + n / 4 + 16;
	sb_free(w->recs);
	sb_free(w->keys);
	sb_free(w->ktmp);
	w->recs = sb_malloc(cap * sizeof *w->recs);
	w->keys = sb_malloc(cap * sizeof *w->keys);
	w->ktmp = sb_malloc(cap * sizeof *w->ktmp);
	w->capkeys = w->recs && w->keys && w->ktmp ? cap : 0;
	return w->capkeys != 0;
}

/* One walk over a partition's bytes: each record's line made the file's
 * and its sort key made, keyed by person and day counted from pass 1's
 * first date (b->date_lo: a year of claims needs 9 bits, not the 17 of
 * an absolute date, and every radix pass saved is one sweep over the
 * partition). Returns the records' count, or SIZE_MAX when a date lies
 * outside pass 1's range (never: then the caller keys them again). */
static size_t key_recs(w2 *w, char *buf, int64_t size, size_t at, unsigned bits)
{
	const sb_batch *b = w->run->b;
	sb_date lo = b->date_lo, hi = b->date_hi;
	size_t n = at;
	for (int64_t off = 0; off < size; n++) {
		sb_crec *r = (sb_crec *)(buf + off);
		off += (int64_t)sb_crec_size(r);
		r->line = sb_pass_line(b, r->line);
		if (r->date < lo || r->date > hi)
			return SIZE_MAX;
		w->keys[n].key = (uint64_t)r->person << bits | (uint64_t)((int64_t)r->date - lo);
		w->keys[n].p = r;
	}
	return n;
}

/* The policy index (in set 0) of a region code, or -1. */
static long region_policy(const run2 *run, uint32_t region)
{
	char code[7];
	sb_region_text(region, code);
	code[6] = '\0';
	for (size_t i = 0; i < run->npol; i++)
		if (!strcmp(sb_policy_region(sb_policyset_at(run->sets[0], i)), code))
			return (long)i;
	return -1;
}

/* The priority of an identity in a policy (0 first), or -1 when the policy
 * does not rank it. */
static int identity_rank(const sb_policy *pol, int sym)
{
	for (uint16_t r = 0; r < pol->nidentities; r++)
		if (pol->identities[r] == sym)
			return r;
	return -1;
}

/* The person as settlement saw them: the identity settlements.csv says was
 * applied is held, and no identity of higher priority (the roster may have
 * changed since), so the one applied now is the one applied then; the
 * roster's other identities stay, for conditions on identities held. */
static void as_settled(const sb_policy *pol, int applied, sb_person *p)
{
	int top = applied < 0 ? -1 : identity_rank(pol, applied);
	uint16_t n = 0;
	for (uint16_t k = 0; k < p->nidents; k++) {
		int rank = p->idents[k].sym < 0 ? -1 : identity_rank(pol, p->idents[k].sym);
		bool above = rank >= 0 && (applied < 0 || rank <= top);
		if (!above && n < SB_MAX_PERSON_IDENTITIES - 1)
			p->idents[n++] = p->idents[k];
	}
	if (applied >= 0) {
		p->idents[n].sym = applied;
		p->idents[n].from = INT32_MIN;
		p->idents[n].to = INT32_MAX;
		n++;
	}
	p->nidents = n;
}

/* `sanbao monitor`: the claim was settled already (settlements.csv says
 * under which region, version and identity); only the context the rules
 * need is computed, for the identity that was applied. */
static sb_status monitor_settled(w2 *w, const sb_crec *r, const sb_person *person,
				 const sb_claim *c, sb_settled *x, char *reason, size_t cap)
{
	run2 *run = w->run;
	const sb_crec_settled *set = (const sb_crec_settled *)(r + 1);
	long g = region_policy(run, set->region);
	if (g < 0) {
		char code[7];
		sb_region_text(set->region, code);
		code[6] = '\0';
		snprintf(reason, cap, "region %s has no policy among the loaded ones", code);
		return reject_rec(w, r, 0, reason, NULL);
	}
	const sb_policy *pol = sb_policyset_at(run->sets[0], (size_t)g);
	sb_person p = *person;
	as_settled(pol, set->identity, &p);
	sb_result res;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_settle_context(pol, &p, c, &res, &d)) {
		sb_diag_format(&d, reason, cap);
		return reject_rec(w, r, 0, reason, NULL);
	}
	if (res.version->from != set->version) {
		char a[11], v[11];
		sb_date_format(set->version, a);
		sb_date_format(res.version->from, v);
		snprintf(reason, cap, "settled under version %s, but the version of region %s in "
			 "force on the claim's date is %s: settle it again", a,
			 sb_policy_region(pol), v);
		return reject_rec(w, r, 0, reason, NULL);
	}
	res.identity = set->identity;
	res.oop = set->oop;
	res.oop_in_scope = set->oop_in_scope;
	x->set = run->sets[0];
	x->policy = pol;
	x->policy_index = (size_t)g;
	x->region = set->region;
	x->res = &res;
	return emit(w, x);
}

static sb_status settle_partition(w2 *w, int part, void **pieces)
{
	run2 *run = w->run;
	sb_batch *b = run->b;
	int64_t size = atomic_load(&b->part_size[part]);
	size_t inmem = 0;
	for (const sb_mblock *k = b->mem ? atomic_load(&b->mem[part]) : NULL; k; k = k->next)
		inmem += k->n;
	if (!size && !inmem)
		return SB_OK; /* no pieces: nothing to commit */
	/* One read buffer per thread, kept across partitions: fresh memory
	 * for every partition costs a page fault per page. Bounded by the
	 * largest partition (a share of claims.csv). */
	if ((size_t)size + 8 > w->bufcap) {
		if (w->buf)
			sb_huge_free(w->buf, w->bufcap);
		w->bufcap = (size_t)size + (size_t)size / 4 + 8;
		/* In huge pages where the system gives them: settling visits
		 * the records in sorted order, all over the buffer, and 4 KiB
		 * pages would miss the TLB on nearly every record. */
		if (!(w->buf = sb_huge_alloc(w->bufcap))) {
			w->bufcap = 0;
			return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		}
	}
	char *buf = w->buf;
	sb_status st = size ? read_into(b->part_fd[part], size, buf, &w->d) : SB_OK;
	if (st)
		return st;
	/* A record is at least its header and one byte of id, rounded up to
	 * 8: that bounds the count before it is known. */
	if (!reserve_keys(w, ((size_t)size + inmem) / (sizeof(sb_crec) + 8) + 1))
		return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	unsigned bits = b->date_hi >= b->date_lo ?
				sb_bits_for((uint64_t)((int64_t)b->date_hi - b->date_lo)) : 0;
	/* The spilled records, then those kept in memory: the sort's order
	 * is total (its last key is the line), so where a record was kept
	 * makes no difference to the output. */
	size_t count = key_recs(w, buf, size, 0, bits);
	for (sb_mblock *k = b->mem ? atomic_load(&b->mem[part]) : NULL; k && count != SIZE_MAX;
	     k = k->next)
		count = key_recs(w, k->data, (int64_t)k->n, count, bits);
	if (count == SIZE_MAX)
		return sb_diag_set(&w->d, SB_EIO, NULL, 0, 0,
				   "a spilled claim's date lies outside the dates read");
	sb_crec **recs = w->recs;
	sort_recs(w->keys, w->ktmp, count, recs);
	for (int k = 0; k < run->nsinks && !st; k++)
		if (run->sinks[k].ops->partition)
			st = run->sinks[k].ops->partition(run->sinks[k].self, w->thr[k], part, count,
							  &w->d);
	hh_ctx hx = {w, recs};
	if (!st && run->any_hh)
		st = sb_hh_pass_run(&w->hh, b, recs, count, run->nscen, run->sets, run->hh,
				    hh_settle, &hx, &w->d);
	sb_person person;
	uint32_t current = UINT32_MAX;
	char id[72], level[48], dx[SB_CREC_DX_MAX + 1], reason[1100];
	const sb_bperson *bp = NULL;
	uint32_t members = 1; /* the person's household's enrolled members */
	bool new_person = false;
	for (size_t i = 0; i < count && !st; i++) {
		const sb_crec *r = recs[i];
		/* Sorted order jumps around the partition: fetch the record 16
		 * ahead (both its cache lines: the id lies past the first) and
		 * the person of the record 8 ahead (fetched by now). */
		if (i + 16 < count) {
			__builtin_prefetch(recs[i + 16]);
			__builtin_prefetch((const char *)recs[i + 16] + 64);
		}
		if (i + 8 < count)
			__builtin_prefetch(&b->persons[recs[i + 8]->person]);
		/* and the household size of the person 4 ahead, whose record
		 * came 4 records ago */
		if (i + 4 < count) {
			uint32_t hh = b->persons[recs[i + 4]->person].household;
			if (hh)
				__builtin_prefetch(&b->hh_members[hh - 1]);
		}
		if (run->ndups) {
			const sb_dup *dup = find_dup(run, r->line);
			if (dup) {
				snprintf(reason, sizeof reason,
					 "duplicate claim id: the same id is first at line %llu",
					 (unsigned long long)dup->first);
				st = reject_rec(w, r, -1, reason, NULL);
				continue;
			}
		}
		if (r->person != current) {
			current = r->person;
			bp = &b->persons[current];
			sb_batch_person(b, current, &person);
			members = bp->household ? b->hh_members[bp->household - 1] : 1;
			new_person = true;
		}
		sb_claim c;
		rec_claim(b, r, !b->cfg->monitor_only, &c, id, level, dx);
		sb_settled x = {.line = r->line, .claim_id = sb_crec_id(r), .claim_idlen = r->idlen,
				.claim = &c, .person = &person, .person_index = r->person,
				.household = bp->household, .region = bp->region,
				.members = members};
		if (b->cfg->monitor_only) {
			st = monitor_settled(w, r, &person, &c, &x, reason, sizeof reason);
			continue;
		}
		bool explain = b->cfg->explain_id && !strcmp(b->cfg->explain_id, id);
		for (int s = 0; s < run->nscen && !st; s++) {
			const sb_policy *pol = run->polmap[(size_t)s * run->npol + bp->policy];
			if (!pol) {
				char code[7];
				sb_region_text(bp->region, code);
				code[6] = '\0';
				snprintf(reason, sizeof reason, "region %s has no policy in %s", code,
					 run->dirs[s]);
				st = reject_rec(w, r, s, reason, NULL);
				continue;
			}
			sb_trace *trace = NULL;
			if (explain && !s) {
				if (!w->trace && !(w->trace = sb_malloc(sizeof *w->trace))) {
					st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
					break;
				}
				trace = w->trace;
			}
			sb_result res;
			sb_diag d;
			sb_diag_clear(&d);
			sb_claim other;
			const sb_claim *cs = scenario_claim(run, s, r, &c, level, &other);
			x.claim = cs;
			if (settle_one(w, s, new_person, i, pol, &person, cs, &res, trace, &d)) {
				if (d.code == SB_ENOMEM) {
					st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
					break;
				}
				sb_diag_format(&d, reason, sizeof reason);
				st = reject_rec(w, r, s, reason, trace);
				continue;
			}
			x.trace = trace;
			x.scenario = s;
			x.set = run->sets[s];
			x.policy = pol;
			x.policy_index = run->polidx[(size_t)s * run->npol + bp->policy];
			x.res = &res;
			st = emit(w, &x);
		}
		new_person = false;
	}
	/* Sinks keep claim ids that point into buf: end the partition before
	 * buf is reused. */
	for (int k = 0; k < run->nsinks && !st; k++)
		if (run->sinks[k].ops->partition_end)
			st = run->sinks[k].ops->partition_end(run->sinks[k].self, w->thr[k], part,
							      &pieces[k], &w->d);
	if (st && !w->d.message[0])
		sb_diag_set(&w->d, st, NULL, 0, 0, st == SB_ENOMEM ? "out of memory" : "a sink failed");
	sb_batch_free_blocks(b, part);
	return st;
}

static void discard(run2 *run, void **pieces)
{
	for (int k = 0; k < run->nsinks; k++) {
		if (pieces[k] && run->sinks[k].ops->discard)
			run->sinks[k].ops->discard(run->sinks[k].self, pieces[k]);
		pieces[k] = NULL;
	}
}

/* Hands the partition's pieces over and commits every partition whose turn
 * has come, in partition order. The lock guards the slots and the turn,
 * not the writing: one thread at a time is the writer (run->writing), and
 * it writes with the lock released, so a thread that finishes a partition
 * meanwhile leaves its pieces in their slot and goes on settling; the
 * writer finds them ready when it takes the lock again. */
static sb_status commit(run2 *run, int part, void **pieces)
{
	sb_status st = SB_OK;
	int ns = run->nsinks;
	pthread_mutex_lock(&run->lock);
	void **slot = run->slots + (size_t)part * (size_t)ns;
	memcpy(slot, pieces, (size_t)ns * sizeof *slot);
	run->ready[part] = true;
	if (run->writing) {
		pthread_mutex_unlock(&run->lock);
		return SB_OK;
	}
	run->writing = true;
	while (run->next_write < run->b->partitions && run->ready[run->next_write]) {
		int turn = run->next_write++;
		void **s = run->slots + (size_t)turn * (size_t)ns;
		bool failed = run->st != SB_OK;
		pthread_mutex_unlock(&run->lock);
		sb_status cs = SB_OK;
		sb_diag cd;
		sb_diag_clear(&cd);
		for (int k = 0; k < ns; k++) {
			if (!s[k])
				continue;
			if (failed || cs)
				run->sinks[k].ops->discard(run->sinks[k].self, s[k]);
			else
				cs = run->sinks[k].ops->commit(run->sinks[k].self, turn, s[k], &cd);
			s[k] = NULL;
		}
		pthread_mutex_lock(&run->lock);
		if (cs && !run->st) {
			run->st = st = cs;
			run->d = cd;
		}
	}
	run->writing = false;
	pthread_mutex_unlock(&run->lock);
	return st;
}

static void *run_w2(void *arg)
{
	w2 *w = arg;
	run2 *run = w->run;
	void **pieces = sb_calloc((size_t)run->nsinks + 1, sizeof *pieces);
	if (!pieces) {
		w->st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	for (;;) {
		int part = atomic_fetch_add(&run->next, 1);
		if (part >= run->b->partitions || w->st)
			break;
		w->st = settle_partition(w, part, pieces);
		if (w->st) {
			discard(run, pieces);
			break;
		}
		sb_status st = commit(run, part, pieces);
		if (st) {
			w->st = st;
			w->d = run->d; /* set once, by the failed write */
		}
		atomic_fetch_add(&run->b->parts_done, 1);
		sb_batch_tick(run->b);
		if (w->st)
			break;
	}
	sb_free(pieces);
	return NULL;
}

/* ---- the population, as sinks see it ------------------------------------ */

static void view_person(const void *ctx, uint32_t i, sb_sink_person *out)
{
	const sb_batch *b = ctx;
	const sb_bperson *p = &b->persons[i];
	out->household = p->household;
	out->policy = p->policy;
	out->income = p->income;
	out->nidents = p->nidents;
	out->idents = p->nidents ? b->idents + p->ident_off : NULL;
}

static void view_id(const void *ctx, uint32_t i, char out[SB_ID_LEN + 1])
{
	const sb_batch *b = ctx;
	sb_batch_id_text(&b->persons[i], out);
}

static const char *view_household(const void *ctx, uint32_t h)
{
	const sb_batch *b = ctx;
	return b->households[h - 1];
}

/* ---- scenarios ---------------------------------------------------------- */

/* Loads the scenarios' policy sets. Each starts with set 0's symbols, in
 * set 0's order, so that the symbols pass 1 resolved (levels, identities,
 * tiers, layers of paid columns) mean the same in every set. */
static sb_status load_scenarios(run2 *run, sb_diag *d)
{
	const sb_batch_config *cfg = run->b->cfg;
	int n = 1 + (cfg->monitor_only ? 0 : cfg->nscenario_dirs);
	if (n > SB_MAX_SCENARIOS)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0, "at most %d policy sets in one run",
				   SB_MAX_SCENARIOS);
	run->nscen = n;
	run->npol = sb_policyset_count(run->b->set);
	run->sets = sb_calloc((size_t)n, sizeof *run->sets);
	run->owned = sb_calloc((size_t)n, sizeof *run->owned);
	run->dirs = sb_calloc((size_t)n, sizeof *run->dirs);
	run->polmap = sb_calloc((size_t)n * run->npol + 1, sizeof *run->polmap);
	run->polidx = sb_calloc((size_t)n * run->npol + 1, sizeof *run->polidx);
	if (!run->sets || !run->owned || !run->dirs || !run->polmap || !run->polidx)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	run->sets[0] = run->b->set;
	run->dirs[0] = cfg->policies_dir;
	for (int s = 1; s < n; s++) {
		const char *dir = cfg->scenario_dirs[s - 1];
		run->dirs[s] = dir;
		sb_policyset *set;
		if (sb_policyset_new(&set))
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		run->owned[s] = set;
		run->sets[s] = set;
		for (int k = 0; k < SB_SYM_KINDS; k++)
			for (int i = 0; i < sb_policyset_symbol_count(run->b->set, (sb_symkind)k); i++) {
				const char *name = sb_policyset_symbol_name(run->b->set, (sb_symkind)k, i);
				if (sb_policyset_intern(set, (sb_symkind)k, name, strlen(name)) != i)
					return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			}
		sb_status st = cfg->policy_root ? sb_policyset_set_root(set, cfg->policy_root, d) :
						  SB_OK;
		if (!st)
			st = sb_policyset_load_dir(set, dir, d);
		if (st)
			return st;
	}
	for (int s = 0; s < n; s++)
		for (size_t i = 0; i < run->npol; i++) {
			const char *code = sb_policy_region(sb_policyset_at(run->b->set, i));
			for (size_t j = 0; j < sb_policyset_count(run->sets[s]); j++)
				if (!strcmp(sb_policy_region(sb_policyset_at(run->sets[s], j)), code)) {
					run->polmap[(size_t)s * run->npol + i] =
						sb_policyset_at(run->sets[s], j);
					run->polidx[(size_t)s * run->npol + i] = j;
				}
		}
	for (int s = 0; s < n; s++) {
		run->hh[s] = !cfg->monitor_only && sb_policyset_has_household(run->sets[s]);
		run->any_hh = run->any_hh || run->hh[s];
		/* The audit replays a person's claims alone (audit_sink.c). */
		sb_status st;
		if (run->hh[s] && cfg->audit &&
		    (st = sb_policyset_refuse_household(run->sets[s], "sanbao audit", d)))
			return st;
	}
	return SB_OK;
}

/* The sinks of this run, in the order they see each claim. A new
 * downstream analysis is one more entry here. */
static sb_status sinks_for(run2 *run)
{
	const sb_batch_config *cfg = run->b->cfg;
	sb_status (*make[6])(sb_sink *); /* one entry per sink below */
	int n = 0;
	make[n++] = sb_summary_sink_new;
	if (!cfg->monitor_only && !cfg->no_settlements)
		make[n++] = sb_settlements_sink_new;
	if (cfg->explain_id)
		make[n++] = sb_explain_sink_new;
	if (cfg->monitor)
		make[n++] = sb_monitor_sink_new;
	if (cfg->audit)
		make[n++] = sb_audit_sink_new;
	if (cfg->compare && !cfg->monitor_only)
		make[n++] = sb_compare_sink_new;
	if (!(run->sinks = sb_calloc((size_t)n, sizeof *run->sinks)))
		return SB_ENOMEM;
	for (; run->nsinks < n; run->nsinks++)
		if (make[run->nsinks](&run->sinks[run->nsinks]))
			return SB_ENOMEM;
	/* compare reads every scenario's monitoring counts, merged before any
	 * sink ends. */
	const sb_sink *mon = NULL;
	for (int k = 0; k < n; k++)
		if (!strcmp(run->sinks[k].ops->name, "monitor"))
			mon = &run->sinks[k];
	for (int k = 0; mon && k < n; k++)
		if (!strcmp(run->sinks[k].ops->name, "compare"))
			sb_compare_sink_monitor(&run->sinks[k], mon);
	return SB_OK;
}

static const sb_sink *sink_named(const run2 *run, const char *name)
{
	for (int k = 0; k < run->nsinks; k++)
		if (!strcmp(run->sinks[k].ops->name, name))
			return &run->sinks[k];
	return NULL;
}

void sb_pass2_release(sb_pass2_result *r, const sb_batch *b)
{
	if (r->regions)
		for (size_t i = 0; i < sb_policyset_count(b->set); i++)
			sb_free(r->regions[i].layer);
	sb_free(r->regions);
	sb_free(r->all.layer);
	sb_rejects_release(&r->rejects);
	if (r->monitor.ops)
		r->monitor.ops->release(r->monitor.self);
	memset(r, 0, sizeof *r);
}

sb_status sb_pass2_monitor_json(const sb_pass2_result *r, FILE *f, const char *indent,
				sb_diag *d)
{
	return sb_monitor_sink_json(&r->monitor, f, indent, d);
}

/* Scenario 0's sums and the monitor sink move into the result. */
static void take_results(run2 *run, sb_pass2_result *res)
{
	sb_sums *s0 = sb_summary_sink_sums(sink_named(run, "summary"), 0);
	res->all = s0->all;
	res->regions = s0->regions;
	res->identities_ok = s0->identities_ok;
	res->rejected = s0->rejected;
	res->rejected_total = s0->rejected_total;
	memset(&s0->all, 0, sizeof s0->all);
	s0->regions = NULL;
	const sb_sink *ex = sink_named(run, "explain");
	res->explained = ex && sb_explain_sink_found(ex);
	for (int k = 0; k < run->nsinks; k++)
		if (!strcmp(run->sinks[k].ops->name, "monitor")) {
			res->monitor = run->sinks[k];
			sb_monitor_counts c = sb_monitor_sink_counts(&res->monitor);
			res->mon.warnings = c.warnings;
			res->mon.approaching = c.approaching;
			res->mon.unresolved = c.unresolved;
			run->sinks[k].ops = NULL;
		}
}

sb_status sb_pass2(sb_batch *b, const sb_dup *dups, size_t ndups, sb_pass2_result *res,
		   sb_diag *d)
{
	run2 run;
	memset(&run, 0, sizeof run);
	memset(res, 0, sizeof *res);
	sb_rejects_init(&res->rejects, b->tmp);
	run.b = b;
	run.dups = dups;
	run.ndups = ndups;
	pthread_mutex_init(&run.lock, NULL);
	w2 *w = NULL;
	pthread_t *tid = NULL;
	sb_status st = load_scenarios(&run, d);
	if (!st && sinks_for(&run))
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (st)
		goto out;
	run.people = (sb_sink_people){.ctx = b, .npersons = b->npersons,
				      .nhouseholds = b->nhouseholds, .person = view_person,
				      .id_text = view_id, .household_name = view_household};
	run.env.cfg = b->cfg;
	run.env.nscenarios = run.nscen;
	run.env.sets = run.sets;
	run.env.dirs = run.dirs;
	run.env.threads = b->threads;
	run.env.partitions = b->partitions;
	run.env.people = &run.people;
	run.env.monitor_only = b->cfg->monitor_only;
	run.env.out = b->out;
	for (int k = 0; k < run.nsinks && !st; k++)
		if (run.sinks[k].ops->begin)
			st = run.sinks[k].ops->begin(run.sinks[k].self, &run.env, d);
	if (st)
		goto out;

	run.slots = sb_calloc((size_t)b->partitions * (size_t)run.nsinks + 1, sizeof *run.slots);
	run.ready = sb_calloc((size_t)b->partitions, sizeof *run.ready);
	w = sb_calloc((size_t)b->threads, sizeof *w);
	tid = sb_calloc((size_t)b->threads, sizeof *tid);
	if (!run.slots || !run.ready || !w || !tid)
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; !st && i < b->threads; i++) {
		w[i].run = &run;
		sb_hh_pass_init(&w[i].hh);
		sb_rejects_init(&w[i].rejects, b->tmp);
		w[i].thr = sb_calloc((size_t)run.nsinks + 1, sizeof *w[i].thr);
		w[i].acc = sb_calloc((size_t)run.nscen, sizeof *w[i].acc);
		if (!w[i].thr || !w[i].acc) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		for (int k = 0; k < run.nsinks && !st; k++)
			if (run.sinks[k].ops->thread_new)
				st = run.sinks[k].ops->thread_new(run.sinks[k].self, &w[i].thr[k], d);
	}
	for (int i = 0; !st && i < b->threads; i++)
		if (pthread_create(&tid[i], NULL, run_w2, &w[i]))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
	for (int i = 0; tid && i < b->threads; i++)
		if (tid[i])
			pthread_join(tid[i], NULL);
	for (int i = 0; w && i < b->threads; i++) {
		if (!st && w[i].st) {
			st = w[i].st;
			*d = w[i].d;
		}
		if (!st && (st = sb_pass_take_rejects(&res->rejects, &w[i].rejects)))
			sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		for (int k = 0; w[i].thr && k < run.nsinks; k++) {
			if (!st && w[i].thr[k] && run.sinks[k].ops->merge)
				st = run.sinks[k].ops->merge(run.sinks[k].self, w[i].thr[k], d);
			if (w[i].thr[k] && run.sinks[k].ops->thread_free)
				run.sinks[k].ops->thread_free(run.sinks[k].self, w[i].thr[k]);
		}
		sb_rejects_release(&w[i].rejects);
		sb_free(w[i].thr);
		for (int k = 0; w[i].acc && k < run.nscen; k++)
			sb_acc_release(&w[i].acc[k]);
		sb_free(w[i].acc);
		sb_hh_pass_release(&w[i].hh);
		sb_acc_release(&w[i].hacc);
		sb_free(w[i].trace);
		if (w[i].buf)
			sb_huge_free(w[i].buf, w[i].bufcap);
		sb_free(w[i].recs);
		sb_free(w[i].keys);
		sb_free(w[i].ktmp);
	}
	if (!st && run.st) {
		st = run.st;
		*d = run.d;
	}
	for (int k = 0; k < run.nsinks && !st; k++)
		if (run.sinks[k].ops->end)
			st = run.sinks[k].ops->end(run.sinks[k].self, d);
	if (!st)
		take_results(&run, res);
out:
	for (size_t i = 0; run.slots && i < (size_t)b->partitions * (size_t)run.nsinks; i++) {
		int k = (int)(i % (size_t)run.nsinks);
		if (run.slots[i] && run.sinks[k].ops)
			run.sinks[k].ops->discard(run.sinks[k].self, run.slots[i]);
	}
	for (int k = 0; k < run.nsinks; k++)
		if (run.sinks[k].ops)
			run.sinks[k].ops->release(run.sinks[k].self);
	sb_free(run.sinks);
	sb_free(run.slots);
	sb_free(run.ready);
	sb_free(w);
	sb_free(tid);
	for (int s = 1; run.owned && s < run.nscen; s++)
		sb_policyset_free(run.owned[s]);
	sb_free(run.owned);
	sb_free(run.sets);
	sb_free(run.dirs);
	sb_free(run.polmap);
	sb_free(run.polidx);
	pthread_mutex_destroy(&run.lock);
	if (st)
		sb_pass2_release(res, b);
	return st;
}
