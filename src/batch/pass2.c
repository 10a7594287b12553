/* pass2.c: finds duplicate claim ids in the id partitions, then settles the
 * claim partitions in parallel: each is sorted by person, date and claim id
 * and run through sb_settle_claim; rows are formatted into a buffer per
 * partition and written in partition order, so the output does not depend
 * on the number of threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/sort.h"
#include "batch/monitor_batch.h"
#include "batch/pass_int.h"
#include "sanbao/explain.h"

sb_status sb_pass_take_rejects(sb_rejects *into, sb_rejects *from)
{
	if (!from->n) {
		sb_rejects_release(from);
		return SB_OK;
	}
	if (into->n + from->n > into->cap) {
		size_t cap = into->n + from->n + 64;
		sb_reject *v = sb_realloc(into->v, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		into->v = v;
		into->cap = cap;
	}
	memcpy(into->v + into->n, from->v, from->n * sizeof *from->v);
	into->n += from->n;
	sb_free(from->v);
	memset(from, 0, sizeof *from);
	return SB_OK;
}

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

static sb_status read_all(int fd, int64_t size, char **out, sb_diag *d)
{
	char *buf = sb_malloc((size_t)size + 8);
	if (!buf)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_status st = read_into(fd, size, buf, d);
	if (st) {
		sb_free(buf);
		return st;
	}
	*out = buf;
	return SB_OK;
}

/* ---- duplicates -------------------------------------------------------- */

typedef struct idref {
	uint64_t line;
	uint64_t hash;
	const char *id;
	uint32_t len;
} idref;

static int cmp_dup(const void *a, const void *b)
{
	const sb_dup *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

static bool same_id(const idref *x, const idref *y)
{
	return x->hash == y->hash && x->len == y->len && !memcmp(x->id, y->id, x->len);
}

typedef struct dupwork {
	sb_batch *b;
	atomic_int *next;
	sb_dup *v;
	size_t n, cap;
	sb_status st;
	sb_diag d;
} dupwork;

/* One id partition: a hash table of ids keeps, per id, the record with the
 * lowest line; every other record of that id is a duplicate of it. */
static sb_status dups_in(dupwork *w, int p)
{
	sb_batch *b = w->b;
	int64_t size = atomic_load(&b->id_size[p]);
	if (!size)
		return SB_OK;
	char *buf = NULL;
	sb_status st = read_all(b->id_fd[p], size, &buf, &w->d);
	if (st)
		return st;
	size_t count = 0;
	for (int64_t off = 0; off < size;
	     off += (int64_t)((9 + (size_t)(unsigned char)buf[off + 8] + 7) & ~(size_t)7))
		count++;
	size_t cap = 16;
	while (cap < count * 2)
		cap *= 2;
	idref *refs = sb_malloc((count + 1) * sizeof *refs);
	uint32_t *table = sb_calloc(cap, sizeof *table);
	if (!refs || !table) {
		st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	size_t i = 0;
	for (int64_t off = 0; off < size; i++) {
		uint64_t packed;
		memcpy(&packed, buf + off, 8);
		idref *r = &refs[i];
		r->line = sb_pass_line(b, packed);
		r->len = (unsigned char)buf[off + 8];
		r->id = buf + off + 9;
		uint64_t h = 1469598103934665603ULL;
		for (uint32_t k = 0; k < r->len; k++)
			h = (h ^ (unsigned char)r->id[k]) * 1099511628211ULL;
		r->hash = sb_batch_hash(h);
		off += (int64_t)((9 + (size_t)r->len + 7) & ~(size_t)7);
		size_t slot = r->hash & (cap - 1);
		for (;; slot = (slot + 1) & (cap - 1)) {
			uint32_t v = table[slot];
			if (!v) {
				table[slot] = (uint32_t)i + 1;
				break;
			}
			if (same_id(&refs[v - 1], r)) {
				if (r->line < refs[v - 1].line)
					table[slot] = (uint32_t)i + 1;
				break;
			}
		}
	}
	for (i = 0; i < count && !st; i++) {
		size_t slot = refs[i].hash & (cap - 1);
		while (!same_id(&refs[table[slot] - 1], &refs[i]))
			slot = (slot + 1) & (cap - 1);
		const idref *first = &refs[table[slot] - 1];
		if (first == &refs[i])
			continue;
		if (w->n == w->cap) {
			size_t nc = w->cap ? w->cap * 2 : 64;
			sb_dup *nv = sb_realloc(w->v, nc * sizeof *nv);
			if (!nv) {
				st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			w->v = nv;
			w->cap = nc;
		}
		w->v[w->n].line = refs[i].line;
		w->v[w->n].first = first->line;
		w->n++;
	}
out:
	sb_free(table);
	sb_free(refs);
	sb_free(buf);
	return st;
}

static void *run_dups(void *arg)
{
	dupwork *w = arg;
	for (;;) {
		int p = atomic_fetch_add(w->next, 1);
		if (p >= w->b->partitions || w->st)
			break;
		w->st = dups_in(w, p);
	}
	return NULL;
}

sb_status sb_pass_dups(sb_batch *b, sb_dup **dups, size_t *ndups, sb_diag *d)
{
	atomic_int next = 0;
	dupwork *w = sb_calloc((size_t)b->threads, sizeof *w);
	pthread_t *tid = sb_calloc((size_t)b->threads, sizeof *tid);
	sb_status st = w && tid ? SB_OK : sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; !st && i < b->threads; i++) {
		w[i].b = b;
		w[i].next = &next;
		if (pthread_create(&tid[i], NULL, run_dups, &w[i]))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
	}
	size_t n = 0;
	for (int i = 0; tid && i < b->threads; i++) {
		if (tid[i])
			pthread_join(tid[i], NULL);
		if (!st && w[i].st) {
			st = w[i].st;
			*d = w[i].d;
		}
		n += w[i].n;
	}
	sb_dup *v = NULL;
	if (!st && n && !(v = sb_malloc(n * sizeof *v)))
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	size_t k = 0;
	for (int i = 0; w && i < b->threads; i++) {
		if (v && w[i].n)
			memcpy(v + k, w[i].v, w[i].n * sizeof *v);
		k += w[i].n;
		sb_free(w[i].v);
	}
	sb_free(w);
	sb_free(tid);
	if (st) {
		sb_free(v);
		return st;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_dup);
	*dups = v;
	*ndups = n;
	return SB_OK;
}

/* ---- settlement --------------------------------------------------------- */

static void ob_text(sb_obuf *o, const char *s)
{
	sb_obuf_bytes(o, s, strlen(s));
}

/* One partition's output, one buffer per file. */
enum { OUT_SETTLE, OUT_WARN, OUT_NEAR, OUT_N };

typedef struct run2 {
	sb_batch *b;
	const sb_dup *dups;
	size_t ndups;
	FILE *out[OUT_N];
	int max_rules; /* the most monitoring rules of any version */
	atomic_int next;
	pthread_mutex_t lock;
	int next_write;
	sb_obuf (*slots)[OUT_N];
	bool *ready;
	sb_status st;
	sb_diag d;
} run2;

/* Dates as text through a small direct-mapped cache: a province-year
 * touches a few hundred distinct days. */
typedef struct datecache {
	sb_date date[1024];
	char text[1024][10];
} datecache;

typedef struct w2 {
	run2 *run;
	sb_pass2_result res;
	sb_monb_stats mon;
	sb_mon_event *ev;
	size_t nev, cap_ev;
	sb_fen *thr; /* the events' thresholds */
	size_t nthr, cap_thr;
	char *buf; /* the partition being settled */
	size_t bufcap;
	datecache dates;
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

static sb_status reject_rec(w2 *w, const sb_crec *r, const char *reason)
{
	w->res.rejected++;
	w->res.rejected_total += r->total;
	return sb_rejects_add(&w->res.rejects, 2, r->line, sb_crec_id(r), r->idlen, reason, true,
			      r->total);
}

/* Row formatting writes through a cursor into space reserved once per
 * row: the hot path of the output. */
static char *put_str(char *q, const char *s)
{
	size_t n = strlen(s);
	memcpy(q, s, n);
	return q + n;
}


static char *put_date(char *q, datecache *dc, sb_date d)
{
	size_t k = (size_t)d & 1023;
	if (dc->date[k] != d) {
		char buf[11];
		sb_date_format(d, buf);
		memcpy(dc->text[k], buf, 10);
		dc->date[k] = d;
	}
	memcpy(q, dc->text[k], 10);
	return q + 10;
}

static void write_row(const sb_batch *b, sb_obuf *o, const sb_crec *r, const sb_person *p,
		      const sb_result *res, sb_fen *cols, datecache *dc)
{
	const sb_policyset *set = b->set;
	/* Claim ids and unknown levels may need quoting: those go through
	 * sb_obuf_field; everything else has a known bound. */
	sb_obuf_field(o, sb_crec_id(r), r->idlen);
	if (r->level < 0 && r->levlen) {
		char head[64];
		char *q = head;
		*q++ = ',';
		q = put_str(q, p->id);
		*q++ = ',';
		memcpy(q, p->region, 6);
		q += 6;
		*q++ = ',';
		q = put_date(q, dc, r->date);
		*q++ = ',';
		sb_obuf_bytes(o, head, (size_t)(q - head));
		ob_text(o, sb_visit_names[r->visit]);
		sb_obuf_bytes(o, ",", 1);
		sb_obuf_field(o, sb_crec_id(r) + r->idlen, r->levlen);
	}
	const char *level = r->level >= 0 ? sb_policyset_symbol_name(set, SB_SYM_LEVEL, r->level) : "";
	const char *ident = res->identity < 0 ? "none" :
			    sb_policyset_symbol_name(set, SB_SYM_IDENTITY, res->identity);
	/* Fixed columns, two names and the amounts (at most 24 bytes each). */
	size_t need = 128 + strlen(level) + strlen(ident) + ((size_t)b->nlayers + 5) * 24;
	if (o->n + need > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 20;
		while (cap < o->n + need)
			cap *= 2;
		char *np = o->failed ? NULL : sb_realloc(o->p, cap);
		if (!np) {
			o->failed = true;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	char *q = o->p + o->n;
	if (!(r->level < 0 && r->levlen)) {
		*q++ = ',';
		q = put_str(q, p->id);
		*q++ = ',';
		memcpy(q, p->region, 6);
		q += 6;
		*q++ = ',';
		q = put_date(q, dc, r->date);
		*q++ = ',';
		q = put_str(q, sb_visit_names[r->visit]);
		*q++ = ',';
		q = put_str(q, level);
	}
	*q++ = ',';
	q = put_str(q, sb_place_names[r->place]);
	*q++ = ',';
	q = put_str(q, ident);
	*q++ = ',';
	q = put_date(q, dc, res->version->from);
	*q++ = ',';
	q = sb_fen_put(q, r->total);
	*q++ = ',';
	q = sb_fen_put(q, r->in_scope);
	for (int i = 0; i < b->nlayers; i++)
		cols[i] = 0;
	for (uint8_t i = 0; i < res->nlayers; i++)
		cols[res->layer[i].sym] = res->layer[i].pay;
	const int *order;
	sb_policyset_layer_order(set, &order);
	for (int i = 0; i < b->nlayers; i++) {
		*q++ = ',';
		q = sb_fen_put(q, cols[order[i]]);
	}
	*q++ = ',';
	q = sb_fen_put(q, res->fund);
	*q++ = ',';
	q = sb_fen_put(q, res->oop);
	*q++ = ',';
	q = sb_fen_put(q, res->oop_in_scope);
	*q++ = ',';
	q = put_str(q, sb_filing_names[r->filing]);
	*q++ = '\n';
	o->n = (size_t)(q - o->p);
}

/* One settled claim into a sum (the totals, or its region's). */
static void add_claim(sb_region_sum *g, const sb_crec *r, const sb_result *res)
{
	g->claims++;
	g->total += r->total;
	g->in_scope += r->in_scope;
	g->fund += res->fund;
	g->oop += res->oop;
	g->oop_in_scope += res->oop_in_scope;
	for (uint8_t i = 0; i < res->nlayers; i++) {
		const sb_layer_result *lr = &res->layer[i];
		g->layer[lr->sym].claims += lr->pay != 0;
		g->layer[lr->sym].paid += lr->pay;
		g->layer[lr->sym].penalty += lr->penalty;
	}
}

static void account(w2 *w, const sb_bperson *bp, const sb_crec *r, const sb_result *res)
{
	sb_pass2_result *s = &w->res;
	add_claim(&s->all, r, res);
	add_claim(&s->regions[bp->policy], r, res);
	sb_fen sum = 0;
	for (uint8_t i = 0; i < res->nlayers; i++) {
		sum += res->layer[i].pay;
		if (res->layer[i].pay < 0 || res->layer[i].pay > res->layer[i].base)
			s->identities_ok = false;
	}
	if (sum != res->fund || res->fund + res->oop != r->total)
		s->identities_ok = false;
}

/* Room for a partition's events and their thresholds, reserved before
 * settling it so that neither moves (events point into the pool). */
static sb_status reserve_events(w2 *w, size_t count)
{
	size_t nthr = count * (size_t)w->run->max_rules + 1;
	if (count > w->cap_ev) {
		sb_free(w->ev);
		w->cap_ev = 0;
		if (!(w->ev = sb_malloc(count * sizeof *w->ev)))
			return SB_ENOMEM;
		w->cap_ev = count;
	}
	if (nthr > w->cap_thr) {
		sb_free(w->thr);
		w->cap_thr = 0;
		if (!(w->thr = sb_malloc(nthr * sizeof *w->thr)))
			return SB_ENOMEM;
		w->cap_thr = nthr;
	}
	w->nev = w->nthr = 0;
	return SB_OK;
}

/* Keeps what the monitor needs of a settled claim. */
static sb_status add_event(w2 *w, const sb_batch *b, const sb_crec *r, const sb_result *res)
{
	if (w->nev == w->cap_ev || w->nthr + res->nrules > w->cap_thr)
		return SB_ENOMEM; /* reserve_events sized both for the partition */
	const sb_bperson *bp = &b->persons[r->person];
	sb_mon_event *e = &w->ev[w->nev++];
	e->person = r->person;
	e->household = bp->household;
	e->members = bp->household ? b->hh_members[bp->household - 1] : 1;
	e->claim_id = sb_crec_id(r);
	e->claim_idlen = r->idlen;
	e->date = r->date;
	e->year = res->year;
	e->identity = res->identity;
	e->region = bp->region;
	e->version = res->version;
	e->oop = res->oop;
	e->oop_in_scope = res->oop_in_scope;
	e->rules_held = res->rules_held;
	memcpy(w->thr + w->nthr, res->rule_threshold, res->nrules * sizeof *w->thr);
	e->threshold = w->thr + w->nthr;
	w->nthr += res->nrules;
	return SB_OK;
}

/* Sorts records by person, date, then claim id: a radix sort on
 * (person, day), then insertion sort of the short runs that share both
 * (the same person on the same day) by id and line. */
static sb_status sort_recs(sb_crec **recs, size_t n)
{
	sb_keyed *a = sb_malloc((n + 1) * sizeof *a), *tmp = sb_malloc((n + 1) * sizeof *tmp);
	if (!a || !tmp) {
		sb_free(a);
		sb_free(tmp);
		return SB_ENOMEM;
	}
	/* Days counted from the partition's first: a year of claims needs 9
	 * bits, not the 17 of an absolute date, and every pass saved is one
	 * sweep over the partition. */
	sb_date lo = INT32_MAX, hi = INT32_MIN;
	for (size_t i = 0; i < n; i++) {
		lo = recs[i]->date < lo ? recs[i]->date : lo;
		hi = recs[i]->date > hi ? recs[i]->date : hi;
	}
	unsigned bits = n ? sb_bits_for((uint64_t)((int64_t)hi - lo)) : 0;
	for (size_t i = 0; i < n; i++) {
		a[i].key = (uint64_t)recs[i]->person << bits | (uint64_t)((int64_t)recs[i]->date - lo);
		a[i].p = recs[i];
	}
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
	sb_free(a);
	sb_free(tmp);
	return SB_OK;
}

static sb_status settle_partition(w2 *w, int part, sb_obuf *outs)
{
	sb_obuf *o = &outs[OUT_SETTLE];
	w->nev = 0;
	run2 *run = w->run;
	sb_batch *b = run->b;
	int64_t size = atomic_load(&b->part_size[part]);
	if (!size)
		return SB_OK;
	/* One read buffer per thread, kept across partitions: fresh memory
	 * for every partition costs a page fault per page. */
	if ((size_t)size + 8 > w->bufcap) {
		sb_free(w->buf);
		w->bufcap = (size_t)size + (size_t)size / 4 + 8;
		if (!(w->buf = sb_malloc(w->bufcap))) {
			w->bufcap = 0;
			return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		}
	}
	char *buf = w->buf;
	sb_status st = read_into(b->part_fd[part], size, buf, &w->d);
	if (st)
		return st;
	size_t count = 0;
	for (int64_t off = 0; off < size; off += (int64_t)sb_crec_size((sb_crec *)(buf + off)))
		count++;
	sb_crec **recs = sb_malloc((count + 1) * sizeof *recs);
	sb_fen *cols = sb_malloc(((size_t)b->nlayers + 1) * sizeof *cols);
	if (!recs || !cols) {
		sb_free(recs);
		sb_free(cols);
		return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	size_t i = 0;
	for (int64_t off = 0; off < size; i++) {
		recs[i] = (sb_crec *)(buf + off);
		recs[i]->line = sb_pass_line(b, recs[i]->line);
		off += (int64_t)sb_crec_size(recs[i]);
	}
	if ((b->cfg->monitor && reserve_events(w, count)) || sort_recs(recs, count)) {
		sb_free(recs);
		sb_free(cols);
		return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	/* Rows are about 200 bytes: size the output once. */
	o->p = sb_malloc(count * 200 + 4096);
	o->cap = o->p ? count * 200 + 4096 : 0;
	sb_person person;
	sb_acc acc;
	sb_acc_init(&acc);
	uint32_t current = UINT32_MAX;
	const sb_policy *pol = NULL;
	char id[72], level[48], reason[1100];
	for (i = 0; i < count && !st; i++) {
		const sb_crec *r = recs[i];
		/* Sorted order jumps around the partition: fetch ahead. */
		if (i + 4 < count)
			__builtin_prefetch(recs[i + 4]);
		if (run->ndups) {
			const sb_dup *dup = find_dup(run, r->line);
			if (dup) {
				snprintf(reason, sizeof reason,
					 "duplicate claim id: the same id is first at line %llu",
					 (unsigned long long)dup->first);
				st = reject_rec(w, r, reason);
				continue;
			}
		}
		const sb_bperson *bp = &b->persons[r->person];
		if (r->person != current) {
			current = r->person;
			sb_batch_person(b, current, &person);
			sb_acc_reset(&acc);
			pol = sb_policyset_at(b->set, bp->policy);
		}
		sb_claim c;
		memset(&c, 0, sizeof c);
		memcpy(id, sb_crec_id(r), r->idlen);
		id[r->idlen] = '\0';
		c.id = id;
		c.date = r->date;
		c.visit = r->visit;
		c.place = r->place;
		c.filing = r->filing;
		c.level = r->level;
		if (r->level >= 0) {
			c.level_name = sb_policyset_symbol_name(b->set, SB_SYM_LEVEL, r->level);
		} else {
			memcpy(level, sb_crec_id(r) + r->idlen, r->levlen);
			level[r->levlen] = '\0';
			c.level_name = level;
		}
		c.total = r->total;
		c.in_scope = r->in_scope;
		c.pre_selfpay = r->pre_selfpay;
		c.over_limit = r->over_limit;
		const sb_crec_paid *paid = (const sb_crec_paid *)(r + 1);
		c.npaid = r->npaid;
		for (uint8_t k = 0; k < r->npaid; k++) {
			c.paid[k].layer = paid[k].layer;
			c.paid[k].fen = paid[k].fen;
		}
		bool explain = b->cfg->explain_id && !strcmp(b->cfg->explain_id, id);
		if (explain)
			w->res.explained = true;
		sb_result res;
		sb_diag d;
		sb_diag_clear(&d);
		if (b->cfg->monitor_only) {
			/* Already settled: only the context the rules need. */
			if (sb_settle_context(pol, &person, &c, &res, &d)) {
				sb_diag_format(&d, reason, sizeof reason);
				st = reject_rec(w, r, reason);
				continue;
			}
			res.oop = r->total;
			res.oop_in_scope = r->in_scope;
			w->res.all.claims++;
			if ((st = add_event(w, b, r, &res)))
				sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			continue;
		}
		/* The explained claim's trace (about 125 KB) is rendered to cfg->explain. */
		sb_trace *trace = NULL;
		if (explain && !(trace = sb_malloc(sizeof *trace))) {
			st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		sb_status sst = sb_settle_claim(b->set, pol, &person, &c, &acc, &res, trace, &d);
		if (trace) {
			if (sst != SB_ENOMEM)
				sb_explain_text(b->cfg->explain, b->set, trace);
			sb_free(trace);
		}
		if (sst) {
			if (d.code == SB_ENOMEM) {
				st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			sb_diag_format(&d, reason, sizeof reason);
			st = reject_rec(w, r, reason);
			continue;
		}
		write_row(b, o, r, &person, &res, cols, &w->dates);
		account(w, bp, r, &res);
		if (b->cfg->monitor && (st = add_event(w, b, r, &res)))
			sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	/* The events point into buf: monitor before it is freed. */
	if (!st && b->cfg->monitor &&
	    (st = sb_monb_partition(b, w->ev, (size_t)w->nev, &outs[OUT_WARN],
				    &outs[OUT_NEAR], &w->mon)))
		sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (o->failed && !st)
		st = sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (st == SB_ENOMEM && !w->d.message[0])
		sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_acc_release(&acc);
	sb_free(cols);
	sb_free(recs);
	return st;
}

static sb_status commit(run2 *run, int part, sb_obuf *outs)
{
	sb_status st = SB_OK;
	pthread_mutex_lock(&run->lock);
	memcpy(run->slots[part], outs, sizeof run->slots[part]);
	run->ready[part] = true;
	while (run->next_write < run->b->partitions && run->ready[run->next_write]) {
		for (int k = 0; k < OUT_N; k++) {
			sb_obuf *s = &run->slots[run->next_write][k];
			if (run->out[k] && s->n && fwrite(s->p, 1, s->n, run->out[k]) != s->n &&
			    !run->st)
				run->st = st = sb_diag_set(&run->d, SB_EIO, NULL, 0, 0,
							   "cannot write an output file: %s",
							   strerror(errno));
			sb_obuf_release(s);
		}
		run->next_write++;
	}
	pthread_mutex_unlock(&run->lock);
	return st;
}

static void *run_w2(void *arg)
{
	w2 *w = arg;
	run2 *run = w->run;
	for (;;) {
		int part = atomic_fetch_add(&run->next, 1);
		if (part >= run->b->partitions || w->st)
			break;
		sb_obuf outs[OUT_N];
		memset(outs, 0, sizeof outs);
		w->st = settle_partition(w, part, outs);
		sb_status st = commit(run, part, outs);
		if (!w->st)
			w->st = st;
		atomic_fetch_add(&run->b->parts_done, 1);
		if (w->st)
			break;
	}
	return NULL;
}

static sb_status result_init(sb_pass2_result *r, const sb_batch *b)
{
	memset(r, 0, sizeof *r);
	r->identities_ok = true;
	size_t np = sb_policyset_count(b->set), nl = (size_t)b->nlayers + 1;
	r->regions = sb_calloc(np + 1, sizeof *r->regions);
	r->all.layer = sb_calloc(nl, sizeof *r->all.layer);
	if (!r->regions || !r->all.layer)
		return SB_ENOMEM;
	for (size_t i = 0; i < np; i++)
		if (!(r->regions[i].layer = sb_calloc(nl, sizeof *r->regions[i].layer)))
			return SB_ENOMEM;
	return SB_OK;
}

static void merge_sum(sb_region_sum *a, const sb_region_sum *x, int nlayers)
{
	a->claims += x->claims;
	a->total += x->total;
	a->in_scope += x->in_scope;
	a->fund += x->fund;
	a->oop += x->oop;
	a->oop_in_scope += x->oop_in_scope;
	for (int l = 0; l < nlayers; l++) {
		a->layer[l].claims += x->layer[l].claims;
		a->layer[l].paid += x->layer[l].paid;
		a->layer[l].penalty += x->layer[l].penalty;
	}
}

static void result_merge(sb_pass2_result *into, const sb_pass2_result *w, const sb_batch *b)
{
	into->rejected += w->rejected;
	into->rejected_total += w->rejected_total;
	into->explained |= w->explained;
	into->identities_ok &= w->identities_ok;
	merge_sum(&into->all, &w->all, b->nlayers);
	for (size_t g = 0; g < sb_policyset_count(b->set); g++)
		merge_sum(&into->regions[g], &w->regions[g], b->nlayers);
}

void sb_pass2_release(sb_pass2_result *r, const sb_batch *b)
{
	sb_monb_stats_release(&r->mon);
	if (r->regions)
		for (size_t i = 0; i < sb_policyset_count(b->set); i++)
			sb_free(r->regions[i].layer);
	sb_free(r->regions);
	sb_free(r->all.layer);
	sb_rejects_release(&r->rejects);
	memset(r, 0, sizeof *r);
}

static FILE *open_out(const sb_batch *b, const char *name, sb_diag *d)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", b->cfg->out_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	return f;
}

sb_status sb_pass2(sb_batch *b, const sb_dup *dups, size_t ndups, sb_pass2_result *res,
		   sb_diag *d)
{
	run2 run;
	memset(&run, 0, sizeof run);
	run.b = b;
	run.dups = dups;
	run.ndups = ndups;
	for (size_t i = 0; i < sb_policyset_count(b->set); i++) {
		const sb_policy *pol = sb_policyset_at(b->set, i);
		for (uint16_t v = 0; v < pol->nversions; v++)
			if (pol->versions[v].nrules > run.max_rules)
				run.max_rules = pol->versions[v].nrules;
	}
	sb_status st = SB_OK;
	static const char *const names[OUT_N] = {"settlements.csv", "warnings.csv",
						 "approaching.csv"};
	for (int k = 0; k < OUT_N && !st; k++) {
		if ((k != OUT_SETTLE && !b->cfg->monitor) || (k == OUT_SETTLE && b->cfg->monitor_only))
			continue;
		if (!(run.out[k] = open_out(b, names[k], d)))
			st = SB_EIO;
	}
	if (st) {
		for (int k = 0; k < OUT_N; k++)
			if (run.out[k])
				fclose(run.out[k]);
		return st;
	}
	pthread_mutex_init(&run.lock, NULL);
	/* Header: the fixed columns, one per layer id, then the totals. */
	FILE *out = run.out[OUT_SETTLE];
	if (out) {
		fputs("id,person,region,date,visit,level,place,identity,version,total,in_scope", out);
		const int *order;
		sb_policyset_layer_order(b->set, &order);
		for (int i = 0; i < b->nlayers; i++)
			fprintf(out, ",%s", sb_policyset_symbol_name(b->set, SB_SYM_LAYER, order[i]));
		fputs(",fund,oop,oop_in_scope,filing\n", out);
	}
	if (b->cfg->monitor) {
		fputs(sb_monb_header, run.out[OUT_WARN]);
		fputs(sb_monb_header, run.out[OUT_NEAR]);
	}

	run.slots = sb_calloc((size_t)b->partitions, sizeof *run.slots);
	run.ready = sb_calloc((size_t)b->partitions, sizeof *run.ready);
	w2 *w = sb_calloc((size_t)b->threads, sizeof *w);
	pthread_t *tid = sb_calloc((size_t)b->threads, sizeof *tid);
	if (!run.slots || !run.ready || !w || !tid || result_init(res, b) ||
	    (b->cfg->monitor && sb_monb_stats_init(&res->mon, b)))
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; !st && i < b->threads; i++) {
		w[i].run = &run;
		for (size_t k = 0; k < 1024; k++)
			w[i].dates.date[k] = INT32_MIN; /* no day cached yet */
		if (result_init(&w[i].res, b) || (b->cfg->monitor && sb_monb_stats_init(&w[i].mon, b)))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
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
		if (!st)
			result_merge(res, &w[i].res, b);
		if (!st && (st = sb_pass_take_rejects(&res->rejects, &w[i].res.rejects)))
			sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		if (!st && b->cfg->monitor && (st = sb_monb_stats_merge(&res->mon, &w[i].mon)))
			sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		sb_pass2_release(&w[i].res, b);
		sb_monb_stats_release(&w[i].mon);
		sb_free(w[i].ev);
		sb_free(w[i].thr);
		sb_free(w[i].buf);
	}
	if (!st && run.st) {
		st = run.st;
		*d = run.d;
	}
	for (int i = 0; run.slots && i < b->partitions; i++)
		for (int k = 0; k < OUT_N; k++)
			sb_obuf_release(&run.slots[i][k]);
	sb_free(run.slots);
	sb_free(run.ready);
	sb_free(w);
	sb_free(tid);
	for (int k = 0; k < OUT_N; k++)
		if (run.out[k] && fclose(run.out[k]) && !st)
			st = sb_diag_set(d, SB_EIO, names[k], 0, 0, "cannot write: %s", strerror(errno));
	pthread_mutex_destroy(&run.lock);
	return st;
}
