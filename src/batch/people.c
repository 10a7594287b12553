/* people.c: persons.csv and identities.csv into the batch's person table:
 * one 40-byte record per person behind an open-addressing index on the
 * packed ID, identity intervals in one array sorted by person. A bad row is
 * rejected with its line and reason; the rest load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "batch/batch_int.h"
#include "batch/dist.h"
#include "io/ranges.h"
#include "sanbao/io.h"

uint64_t sb_batch_hash(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t sb_batch_id_key(const char *id)
{
	uint64_t k = 0;
	for (int i = 0; i < 17; i++)
		k = k * 10 + (uint64_t)(id[i] - '0');
	return k;
}

void sb_batch_id_text(const sb_bperson *p, char out[SB_ID_LEN + 1])
{
	sb_person_key_text(p->key, p->pseudo, out);
}

long sb_batch_find_person(const sb_batch *b, const char *id, size_t n)
{
	if (n != SB_ID_LEN || !b->index)
		return -1;
	uint64_t key;
	int pseudo = 0;
	if (id[0] == 'P') {
		const char *why;
		if (sb_person_key(id, n, &key, &pseudo, NULL, &why))
			return -1;
	} else {
		for (int i = 0; i < 17; i++)
			if (id[i] < '0' || id[i] > '9')
				return -1;
		key = sb_batch_id_key(id);
	}
	for (size_t h = sb_batch_hash(key) & b->index_mask;; h = (h + 1) & b->index_mask) {
		const sb_pslot *s = &b->index[h];
		if (!s->v)
			return -1;
		if (s->key == key && s->pseudo == (uint32_t)pseudo)
			return (long)(s->v - 1);
	}
}

int sb_batch_partition_of(const sb_batch *b, uint32_t person)
{
	const sb_bperson *p = &b->persons[person];
	uint64_t h = p->household ? sb_batch_hash((uint64_t)p->household << 32) :
				    sb_batch_hash(p->key);
	return (int)(h % (uint64_t)b->partitions);
}

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_status grow_index(sb_batch *b)
{
	size_t cap = b->index ? (b->index_mask + 1) * 2 : 1024;
	sb_pslot *idx = sb_huge_alloc(cap * sizeof *idx);
	if (!idx)
		return SB_ENOMEM;
	for (size_t i = 0; i < b->npersons; i++) {
		size_t h = sb_batch_hash(b->persons[i].key) & (cap - 1);
		while (idx[h].v)
			h = (h + 1) & (cap - 1);
		idx[h].key = b->persons[i].key;
		idx[h].pseudo = b->persons[i].pseudo;
		idx[h].v = (uint32_t)(i + 1);
	}
	if (b->index)
		sb_huge_free(b->index, (b->index_mask + 1) * sizeof *b->index);
	b->index = idx;
	b->index_mask = cap - 1;
	return SB_OK;
}

/* Household names in first-seen order behind an open-addressing index:
 * one per reader thread for its byte range, then the run's, built from the
 * threads' in file order so that a household's number is the one a reader
 * of the whole file gives it. */
typedef struct hhtab {
	char **names;    /* heap */
	uint64_t *hash;  /* FNV-1a of each name */
	size_t n, cap;
	/* The upper 32 bits of the name's hash beside its index + 1 (0:
	 * empty): a probe past another name costs no look at its hash or
	 * text, which lie elsewhere in memory. */
	uint64_t *index;
	size_t mask;
} hhtab;

static inline uint64_t hh_slot(uint64_t hv, size_t i)
{
	return (hv >> 32) << 32 | (uint64_t)(i + 1);
}

static uint64_t hh_hash(const char *p, size_t n)
{
	uint64_t hv = 1469598103934665603ULL;
	for (size_t j = 0; j < n; j++)
		hv = (hv ^ (unsigned char)p[j]) * 1099511628211ULL;
	return hv;
}

static void hhtab_release(hhtab *t)
{
	for (size_t i = 0; t->names && i < t->n; i++)
		sb_free(t->names[i]);
	sb_free(t->names);
	sb_free(t->hash);
	sb_free(t->index);
	memset(t, 0, sizeof *t);
}

/* The 1-based number of the name p[0..n) with hash hv, added when new: a
 * copy of it, or `own` (a heap copy the table then owns) when given. 0 on
 * OOM (own is then still the caller's). */
static uint32_t hhtab_get(hhtab *t, const char *p, size_t n, uint64_t hv, char *own)
{
	if (t->n * 2 >= (t->index ? t->mask + 1 : 0)) {
		size_t cap = t->index ? (t->mask + 1) * 2 : 1024;
		uint64_t *idx = sb_calloc(cap, sizeof *idx);
		if (!idx)
			return 0;
		for (size_t i = 0; i < t->n; i++) {
			size_t h = sb_batch_hash(t->hash[i]) & (cap - 1);
			while (idx[h])
				h = (h + 1) & (cap - 1);
			idx[h] = hh_slot(t->hash[i], i);
		}
		sb_free(t->index);
		t->index = idx;
		t->mask = cap - 1;
	}
	size_t h = sb_batch_hash(hv) & t->mask;
	for (; t->index[h]; h = (h + 1) & t->mask) {
		if (t->index[h] >> 32 != hv >> 32)
			continue;
		uint32_t k = (uint32_t)t->index[h] - 1;
		const char *s = t->names[k];
		if (t->hash[k] == hv && !strncmp(s, p, n) && s[n] == '\0')
			return k + 1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **v = sb_realloc(t->names, cap * sizeof *v);
		if (!v)
			return 0;
		t->names = v;
		uint64_t *hs = sb_realloc(t->hash, cap * sizeof *hs);
		if (!hs)
			return 0;
		t->hash = hs;
		t->cap = cap;
	}
	char *s = own;
	if (!s) {
		if (!(s = sb_malloc(n + 1)))
			return 0;
		memcpy(s, p, n);
		s[n] = '\0';
	}
	t->names[t->n] = s;
	t->hash[t->n] = hv;
	t->index[h] = hh_slot(hv, t->n);
	t->n++;
	return (uint32_t)t->n;
}

static sb_csv_field field(const sb_csv *c, int col)
{
	sb_csv_field f = {"", 0};
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

static sb_status reject_in(sb_rejects *into, bool show_ids, int file, long line,
			   sb_csv_field id, bool mask, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static sb_status reject_in(sb_rejects *into, bool show_ids, int file, long line,
			   sb_csv_field id, bool mask, const char *fmt, ...)
{
	char reason[512], masked[80];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	size_t n = id.n < 64 ? id.n : 64;
	if (mask && !show_ids) {
		sb_id_mask(id.p, n, masked);
		return sb_rejects_add(into, file, (uint64_t)line, masked, n, reason, false, 0);
	}
	return sb_rejects_add(into, file, (uint64_t)line, id.p, n, reason, false, 0);
}

#define reject(b, ...) reject_in(&(b)->rejects, (b)->cfg->show_ids, __VA_ARGS__)

/* Sizes the table and index for the rows a file of `bytes` likely holds
 * (at least 40 bytes a row), so that loading does not grow them step by
 * step: each step copies or rehashes everything so far. */
static sb_status presize(sb_batch *b, long long bytes)
{
	size_t rows = (size_t)(bytes / 40) + 1024;
	b->persons = sb_malloc(rows * sizeof *b->persons);
	if (!b->persons)
		return SB_ENOMEM;
	b->cappersons = rows;
	/* The row estimate is generous (short rows), so a load of up to
	 * two thirds of it keeps the real load near a half; every slot of
	 * the index is touched, so it is resident whatever its size. */
	size_t cap = 1024;
	while (cap < rows * 3 / 2)
		cap *= 2;
	b->index = sb_huge_alloc(cap * sizeof *b->index);
	if (!b->index)
		return SB_ENOMEM;
	b->index_mask = cap - 1;
	return SB_OK;
}

#define PERSON_BATCH 16

/* Finds or inserts each person in one probe; a person listed twice is
 * rejected at its own line, the first listing kept. */
static sb_status insert_persons(sb_batch *b, const sb_bperson *batch, int n)
{
	if ((b->npersons + (size_t)n) * 2 > b->index_mask && grow_index(b))
		return SB_ENOMEM;
	if (b->npersons + (size_t)n > b->cappersons) {
		size_t cap = b->cappersons ? b->cappersons * 2 : 4096;
		sb_bperson *v = sb_realloc(b->persons, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		b->persons = v;
		b->cappersons = cap;
	}
	for (int i = 0; i < n; i++) {
		const sb_bperson *p = &batch[i];
		size_t h = sb_batch_hash(p->key) & b->index_mask;
		while (b->index[h].v && (b->index[h].key != p->key || b->index[h].pseudo != p->pseudo))
			h = (h + 1) & b->index_mask;
		if (b->index[h].v) {
			char text[SB_ID_LEN + 1];
			sb_batch_id_text(p, text);
			sb_csv_field id = {text, SB_ID_LEN};
			sb_status st = reject(b, 0, p->line, id, true,
					      "person is listed twice in persons.csv (first at line %llu)",
					      (unsigned long long)sb_dist_line(
						      b->cfg, 0, b->persons[b->index[h].v - 1].line));
			if (st)
				return st;
			continue;
		}
		b->persons[b->npersons++] = *p;
		b->index[h].key = p->key;
		b->index[h].pseudo = p->pseudo;
		b->index[h].v = (uint32_t)b->npersons;
	}
	return SB_OK;
}

/* One thread's byte range of persons.csv: its rows checked and turned
 * into records (line within the range, household numbered within the
 * range), its rejects. Which listing of a person comes first is decided
 * when the ranges are joined, in file order. */
typedef struct pchunk {
	sb_batch *b;
	const int *col;
	size_t ncols;
	int64_t start, end;
	bool whole;          /* one range: the file read with its header */
	sb_bperson *v;
	size_t n, cap;
	hhtab hh;
	sb_rejects rejects;
	long long rows;
	long lines;
	bool multiline;
	sb_status st;
	sb_diag d;
} pchunk;

static sb_status chunk_rows(pchunk *k)
{
	sb_batch *b = k->b;
	const int *col = k->col;
	sb_csv *c;
	sb_status st = k->whole ? sb_csv_open(b->cfg->persons_path, &c, &k->d) :
		       sb_csv_open_range(b->cfg->persons_path, k->ncols, k->start, k->end, &c, &k->d);
	if (st)
		return st;
	bool show = b->cfg->show_ids;
	int r;
	uint32_t last_hh = 0;
	char why[512];
	while ((r = sb_csv_next(c, &k->d)) != 0) {
		if (r == -2) {
			st = k->d.code;
			break;
		}
		if (!k->whole && sb_csv_multiline(c)) {
			k->multiline = true;
			break;
		}
		long line = sb_csv_line(c);
		k->rows++;
		if (r < 0) {
			char msg[900];
			snprintf(msg, sizeof msg, "%s", k->d.message);
			if ((st = reject_in(&k->rejects, show, 0, line,
					    sb_io_record_id(c, col[SB_PCOL_ID]), true,
					    "malformed CSV record: %s", msg)))
				break;
			continue;
		}
		sb_csv_field id = field(c, col[SB_PCOL_ID]);
		sb_person_row row;
		const char *reason = sb_person_row_read(c, col, &row, why, sizeof why);
		const sb_policy *pol = reason ? NULL : sb_policyset_find(b->set, row.region);
		if (!reason && !pol) {
			snprintf(why, sizeof why,
				 "region %s has no policy: add %s.yaml to the policy folder",
				 row.region, row.region);
			reason = why;
		}
		if (reason) {
			if ((st = reject_in(&k->rejects, show, 0, line, id, true, "%s", reason)))
				break;
			continue;
		}
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4096;
			sb_bperson *v = sb_realloc(k->v, cap * sizeof *v);
			if (!v) {
				st = SB_ENOMEM;
				break;
			}
			k->v = v;
			k->cap = cap;
		}
		sb_bperson *p = &k->v[k->n];
		memset(p, 0, sizeof *p);
		p->key = row.key;
		p->pseudo = (uint8_t)row.pseudo;
		p->birth = row.pseudo ? SB_BIRTH_UNKNOWN : row.birth;
		p->line = (uint32_t)line;
		p->tier = -1;
		p->income = row.has_income ? row.income : -1;
		p->employment = row.employment;
		p->scheme = row.scheme;
		for (int i = 0; i < 6; i++) /* six digits, checked by the row reader */
			p->region = p->region * 10 + (uint32_t)(row.region[i] - '0');
		p->continuous_years = (int8_t)row.continuous_years;
		p->claimless_years = (int8_t)row.claimless_years;
		p->uncovered_years = (int8_t)row.uncovered_years;
		p->enrolled_from = row.enrolled_from;
		for (size_t i = 0; i < sb_policyset_count(b->set); i++)
			if (sb_policyset_at(b->set, i) == pol)
				p->policy = (uint16_t)i;
		sb_csv_field f = row.tier;
		if (f.n)
			p->tier = (int8_t)sb_policyset_symbol(b->set, SB_SYM_TIER, f.p, f.n);
		f = row.household;
		if (f.n && last_hh && f.n == strlen(k->hh.names[last_hh - 1]) &&
		    !memcmp(f.p, k->hh.names[last_hh - 1], f.n)) {
			p->household = last_hh; /* members usually come one after another */
		} else if (f.n && !(p->household = hhtab_get(&k->hh, f.p, f.n,
							      hh_hash(f.p, f.n), NULL))) {
			st = SB_ENOMEM;
			break;
		}
		last_hh = p->household;
		k->n++;
	}
	if (!st)
		k->lines = sb_csv_lines(c);
	sb_csv_free(c);
	return st;
}

static void *run_chunk(void *arg)
{
	pchunk *k = arg;
	sb_diag_clear(&k->d);
	k->st = chunk_rows(k);
	if (k->st == SB_ENOMEM)
		sb_diag_set(&k->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	return NULL;
}

/* Inserts persons v[0..n) in batches, prefetching each batch's slots while
 * inserting the one before (the index is far larger than the caches). */
static sb_status insert_all(sb_batch *b, const sb_bperson *v, size_t n)
{
	sb_status st = SB_OK;
	for (size_t j = 0; !st && j < n; j += PERSON_BATCH) {
		size_t m = n - j < PERSON_BATCH ? n - j : PERSON_BATCH;
		for (size_t q = j + PERSON_BATCH; q < j + PERSON_BATCH + m && q < n; q++)
			__builtin_prefetch(&b->index[sb_batch_hash(v[q].key) & b->index_mask]);
		st = insert_persons(b, v + j, (int)m);
	}
	return st;
}

/* One range's share of the parallel insert: its persons copied to their
 * place in the table (persons[off..off+n)), each claiming an empty slot by
 * compare-and-swap on its v. A slot taken is compared through the person
 * it names (its key is written by its owner after the swap, and read by
 * no one until the threads are joined). A key found twice stops it: the
 * table is then rebuilt in file order on one thread. */
typedef struct pinsert {
	sb_batch *b;
	const sb_bperson *v;
	size_t n, off;
	atomic_bool *twice;
} pinsert;

static void *run_insert(void *arg)
{
	pinsert *t = arg;
	sb_batch *b = t->b;
	memcpy(b->persons + t->off, t->v, t->n * sizeof *t->v);
	for (size_t j = 0; j < t->n; j++) {
		if (j + PERSON_BATCH < t->n)
			__builtin_prefetch(
				&b->index[sb_batch_hash(t->v[j + PERSON_BATCH].key) & b->index_mask]);
		const sb_bperson *p = &t->v[j];
		uint32_t mine = (uint32_t)(t->off + j + 1);
		for (size_t h = sb_batch_hash(p->key) & b->index_mask;; h = (h + 1) & b->index_mask) {
			sb_pslot *s = &b->index[h];
			uint32_t v = __atomic_load_n(&s->v, __ATOMIC_ACQUIRE);
			if (!v && __atomic_compare_exchange_n(&s->v, &v, mine, false, __ATOMIC_ACQ_REL,
							      __ATOMIC_ACQUIRE)) {
				s->key = p->key;
				s->pseudo = p->pseudo;
				break;
			}
			const sb_bperson *o = &b->persons[v - 1];
			if (o->key == p->key && o->pseudo == p->pseudo) {
				atomic_store(t->twice, true);
				return NULL;
			}
		}
		if ((j & 4095) == 0 && atomic_load_explicit(t->twice, memory_order_relaxed))
			return NULL;
	}
	return NULL;
}

/* Joins the ranges in file order: each range's households numbered in the
 * run's table (first seen first), its lines made the file's, its rejects
 * taken; then its persons inserted (a later listing rejected), by every
 * range's thread at once when no person is listed twice. */
static sb_status join_chunks(sb_batch *b, pchunk *k, int n, sb_diag *d)
{
	hhtab run;
	memset(&run, 0, sizeof run);
	sb_status st = SB_OK;
	uint32_t *map = NULL;
	uint64_t base = n > 1 ? 2 : 1; /* a range reader counts from 1 at its start */
	size_t total = 0;
	for (int i = 0; i < n && !st; i++) {
		pchunk *c = &k[i];
		sb_free(map);
		if (!(map = sb_malloc((c->hh.n + 1) * sizeof *map))) {
			st = SB_ENOMEM;
			break;
		}
		map[0] = 0;
		if (!i) {
			/* The first range's households are the run's first ones,
			 * in the same order: its table becomes the run's. */
			run = c->hh;
			memset(&c->hh, 0, sizeof c->hh);
			for (size_t j = 0; j < run.n; j++)
				map[j + 1] = (uint32_t)(j + 1);
		}
		for (size_t j = 0; i && j < c->hh.n; j++) {
			char *name = c->hh.names[j];
			if (!(map[j + 1] = hhtab_get(&run, name, strlen(name), c->hh.hash[j], name))) {
				st = SB_ENOMEM;
				break;
			}
			if (run.names[map[j + 1] - 1] == name)
				c->hh.names[j] = NULL; /* new: the run's table owns it now */
		}
		for (size_t j = 0; !st && j < c->n; j++) {
			c->v[j].household = map[c->v[j].household];
			c->v[j].line = (uint32_t)(base + c->v[j].line - 1);
		}
		if (!st) {
			sb_rejects_offset_lines(&c->rejects, base - 1);
			st = sb_pass_take_rejects(&b->rejects, &c->rejects);
		}
		b->person_rows += c->rows;
		base += (uint64_t)c->lines;
		total += c->n;
	}
	sb_free(map);
	b->households = run.names;
	b->nhouseholds = run.n;
	b->caphouseholds = run.cap;
	b->hh_index = run.index;
	b->hh_mask = run.mask;
	sb_free(run.hash);
	if (!st && n == 1)
		st = insert_all(b, k[0].v, k[0].n);
	else if (!st) {
		/* Room for every person, and an index at most half full. */
		if (total > b->cappersons) {
			sb_bperson *v = sb_realloc(b->persons, total * sizeof *v);
			if (!v)
				st = SB_ENOMEM;
			else {
				b->persons = v;
				b->cappersons = total;
			}
		}
		while (!st && total * 2 > b->index_mask)
			st = grow_index(b);
		atomic_bool twice = false;
		pinsert *t = st ? NULL : sb_calloc((size_t)n, sizeof *t);
		pthread_t *tid = t ? sb_calloc((size_t)n, sizeof *tid) : NULL;
		bool *started = tid ? sb_calloc((size_t)n, sizeof *started) : NULL;
		if (!st && !started)
			st = SB_ENOMEM;
		size_t off = 0;
		for (int i = 0; !st && i < n; off += k[i].n, i++)
			t[i] = (pinsert){b, k[i].v, k[i].n, off, &twice};
		for (int i = 0; !st && i + 1 < n; i++)
			started[i] = !pthread_create(&tid[i], NULL, run_insert, &t[i]);
		if (!st)
			run_insert(&t[n - 1]);
		for (int i = 0; !st && i + 1 < n; i++) {
			if (started[i])
				pthread_join(tid[i], NULL);
			else
				run_insert(&t[i]);
		}
		sb_free(t);
		sb_free(tid);
		sb_free(started);
		if (!st && !atomic_load(&twice)) {
			b->npersons = total;
		} else if (!st) {
			/* A person listed twice: the index again, on one thread in
			 * file order, so that the first listing is kept and every
			 * later one rejected at its line, as a whole-file reader
			 * does. */
			memset(b->index, 0, (b->index_mask + 1) * sizeof *b->index);
			for (int i = 0; !st && i < n; i++)
				st = insert_all(b, k[i].v, k[i].n);
		}
	}
	if (st == SB_ENOMEM)
		oom(d);
	return st;
}

static sb_status load_persons(sb_batch *b, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(b->cfg->persons_path, &c, d);
	if (st)
		return st;
	int col[SB_PCOL_N];
	st = sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, d);
	size_t ncols = sb_csv_ncols(c);
	sb_csv_free(c);
	if (st)
		return st;
	int want = b->threads > 0 ? b->threads : 1, n;
	int64_t bounds[65], size;
	if (want > 64)
		want = 64;
	if ((st = sb_io_ranges(b->cfg->persons_path, want, (int64_t)256 << 10, bounds, &n,
				  &size, d)))
		return st;
	if (presize(b, (long long)size))
		return oom(d);
	for (int attempt = 0; attempt < 2; attempt++) {
		pchunk *k = sb_calloc((size_t)n, sizeof *k);
		pthread_t *tid = sb_calloc((size_t)n, sizeof *tid);
		bool *started = sb_calloc((size_t)n, sizeof *started);
		if (!k || !tid || !started) {
			sb_free(k);
			sb_free(tid);
			sb_free(started);
			return oom(d);
		}
		for (int i = 0; i < n; i++) {
			k[i].b = b;
			k[i].col = col;
			k[i].ncols = ncols;
			k[i].start = bounds[i];
			k[i].end = bounds[i + 1];
			k[i].whole = n == 1;
			sb_rejects_init(&k[i].rejects, b->tmp);
		}
		/* The last range is read on this thread. */
		for (int i = 0; i + 1 < n; i++)
			started[i] = !pthread_create(&tid[i], NULL, run_chunk, &k[i]);
		run_chunk(&k[n - 1]);
		for (int i = 0; i + 1 < n; i++) {
			if (started[i])
				pthread_join(tid[i], NULL);
			else
				run_chunk(&k[i]);
		}
		bool multiline = false;
		for (int i = 0; i < n; i++) {
			multiline |= k[i].multiline;
			if (!st && k[i].st) {
				st = k[i].st;
				*d = k[i].d;
			}
		}
		if (!st && !multiline)
			st = join_chunks(b, k, n, d);
		for (int i = 0; i < n; i++) {
			sb_free(k[i].v);
			hhtab_release(&k[i].hh);
			sb_rejects_release(&k[i].rejects);
		}
		sb_free(k);
		sb_free(tid);
		sb_free(started);
		if (st || !multiline)
			return st;
		/* A quoted field spans lines: read the file in one piece. */
		n = 1;
		bounds[1] = size;
	}
	return st;
}

typedef struct ident_row {
	uint32_t person;
	uint32_t line;
	sb_ident ident;
} ident_row;

static int cmp_ident_rows(const void *a, const void *b)
{
	const ident_row *x = a, *y = b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->ident.from != y->ident.from)
		return x->ident.from < y->ident.from ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static sb_status load_identities(sb_batch *b, sb_diag *d)
{
	sb_csv *c;
	int col[SB_ICOL_N];
	sb_status st = sb_io_open_mapped(b->cfg->identities_path, "identities.csv",
					 sb_identities_columns, SB_ICOL_N, true, col, &c, d);
	if (st)
		return st;
	ident_row *rows = NULL;
	size_t n = 0, cap = 0;
	int r;
	char why[1024];
	while ((r = sb_csv_next(c, d)) != 0) {
		if (r == -2) {
			st = d->code;
			break;
		}
		long line = sb_csv_line(c);
		b->identity_rows++;
		if (r < 0) {
			char msg[900];
			snprintf(msg, sizeof msg, "%s", d->message);
			if ((st = reject(b, 1, line, sb_io_record_id(c, col[SB_ICOL_PERSON]), true,
					 "malformed CSV record: %s", msg)))
				break;
			continue;
		}
		sb_csv_field id = field(c, col[SB_ICOL_PERSON]);
		sb_identity_row ir;
		if (sb_identity_row_read(c, col, b->set, &ir, why, sizeof why) != SB_IROW_OK) {
			if ((st = reject(b, 1, line, id, true, "%s", why)))
				break;
			continue;
		}
		long person = sb_batch_find_person(b, id.p, id.n);
		if (person < 0) {
			if ((st = reject(b, 1, line, id, true,
					 "unknown person: not enrolled in persons.csv (or rejected there)")))
				break;
			continue;
		}
		ident_row row;
		row.person = (uint32_t)person;
		row.line = (uint32_t)line;
		row.ident.sym = ir.sym;
		row.ident.from = ir.from;
		row.ident.to = ir.to;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ident_row *v = sb_realloc(rows, cap * sizeof *v);
			if (!v) {
				st = SB_ENOMEM;
				break;
			}
			rows = v;
		}
		rows[n++] = row;
	}
	sb_csv_free(c);
	if (!st && n) {
		qsort(rows, n, sizeof *rows, cmp_ident_rows);
		b->idents = sb_malloc(n * sizeof *b->idents);
		if (!b->idents)
			st = SB_ENOMEM;
	}
	for (size_t i = 0; !st && i < n; i++) {
		sb_bperson *p = &b->persons[rows[i].person];
		if (p->nidents == SB_MAX_PERSON_IDENTITIES) {
			sb_csv_field none = {"", 0};
			char masked[SB_ID_LEN + 1];
			sb_batch_id_text(p, masked);
			sb_csv_field idf = {masked, SB_ID_LEN};
			(void)none;
			st = reject(b, 1, rows[i].line, idf, true,
				    "more than %d identity intervals for one person",
				    SB_MAX_PERSON_IDENTITIES);
			continue;
		}
		if (!p->nidents)
			p->ident_off = (uint32_t)b->nidents;
		b->idents[b->nidents++] = rows[i].ident;
		p->nidents++;
	}
	sb_free(rows);
	if (st == SB_ENOMEM)
		oom(d);
	return st;
}

sb_status sb_batch_load_people(sb_batch *b, sb_diag *d)
{
	sb_status st = load_persons(b, d);
	if (!st) {
		b->hh_members = sb_calloc(b->nhouseholds + 1, sizeof *b->hh_members);
		if (!b->hh_members)
			return oom(d);
		for (size_t i = 0; i < b->npersons; i++)
			if (b->persons[i].household)
				b->hh_members[b->persons[i].household - 1]++;
	}
	if (!st && b->cfg->identities_path)
		st = load_identities(b, d);
	return st;
}

void sb_batch_release_people(sb_batch *b)
{
	sb_free(b->persons);
	if (b->index)
		sb_huge_free(b->index, (b->index_mask + 1) * sizeof *b->index);
	for (size_t i = 0; i < b->nhouseholds; i++)
		sb_free(b->households[i]);
	sb_free(b->households);
	sb_free(b->hh_index);
	sb_free(b->hh_members);
	sb_free(b->idents);
	sb_rejects_release(&b->rejects);
}

void sb_batch_person(const sb_batch *b, uint32_t i, sb_person *p)
{
	const sb_bperson *bp = &b->persons[i];
	sb_batch_id_text(bp, p->id);
	sb_region_text(bp->region, p->region);
	p->region[6] = '\0';
	p->birth = bp->birth;
	p->scheme = bp->scheme;
	p->employment = bp->employment;
	p->tier = bp->tier;
	p->nidents = bp->nidents;
	p->continuous_years = bp->continuous_years;
	p->claimless_years = bp->claimless_years;
	p->uncovered_years = bp->uncovered_years;
	p->enrolled_from = bp->enrolled_from;
	if (bp->nidents) /* idents is NULL when identities.csv has no rows */
		memcpy(p->idents, b->idents + bp->ident_off, bp->nidents * sizeof *p->idents);
}
