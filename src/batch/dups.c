/* dups.c: duplicate claim ids without a spill of their own. Pass 1 puts
 * 32 bits of the id's hash of every row with a readable id (settled or
 * rejected) into one open-addressing set shared by its reader threads (a
 * compare-and-swap per new id); an id whose bits are there already is a
 * candidate. With no candidate there is no duplicate
 * and nothing more to do. With candidates, the claim partitions are read
 * back (and the rejected rows' ids, kept by pass 1) and every record whose
 * full hash is a candidate's is compared byte for byte with the others of
 * that hash: the lowest line of an id is its
 * first, every other line a duplicate of it (a candidate that only shared
 * the bits of another id is no duplicate). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "batch/pass_int.h"

/* A claim row that pass 1 keeps holds a resident ID (18 characters), a
 * date (10), a visit, a total, an in_scope, a place or care_region and
 * their separators: more than 40 bytes. So a file of B bytes has fewer
 * than B / 40 such rows, and a set of 5/4 of that never fills. */
#define MIN_ROW 40
#define MAX_PROBES 256

sb_status sb_pass_idset_init(sb_batch *b, int64_t bytes, sb_diag *d)
{
	size_t rows = (size_t)(bytes > 0 ? bytes : 0) / MIN_ROW + 64, cap = 1024;
	while (cap < rows + rows / 4)
		cap *= 2;
	sb_pass_idset_release(b);
	if (!(b->idset = sb_huge_alloc(cap * sizeof *b->idset)))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	b->idset_mask = cap - 1;
	return SB_OK;
}

void sb_pass_idset_release(sb_batch *b)
{
	if (b->idset)
		sb_huge_free((void *)b->idset, (b->idset_mask + 1) * sizeof *b->idset);
	b->idset = NULL;
	b->idset_mask = 0;
	sb_free(b->cand);
	b->cand = NULL;
	b->ncand = 0;
}

bool sb_pass_idset_add(sb_batch *b, uint64_t h)
{
	uint32_t bits = (uint32_t)(h >> 32) | 1; /* 0 is an empty slot */
	size_t mask = b->idset_mask;
	/* Bounded probes: rows shorter than MIN_ROW (rejected ones can be)
	 * could fill the set; a run this long makes the id a candidate,
	 * settled exactly later, instead of a scan of the whole set. */
	size_t most = mask < MAX_PROBES ? mask : MAX_PROBES;
	for (size_t s = h & mask, probes = 0; probes <= most; s = (s + 1) & mask, probes++) {
		uint32_t v = atomic_load_explicit(&b->idset[s], memory_order_relaxed);
		if (!v && atomic_compare_exchange_strong_explicit(&b->idset[s], &v, bits,
								  memory_order_relaxed,
								  memory_order_relaxed))
			return false;
		if (v == bits)
			return true;
	}
	return true; /* a long run (a set filled by short rows): a candidate */
}

/* ---- the candidates, exactly ----------------------------------------- */

typedef sb_idref match; /* line: the file's; id: in an arena */

typedef struct dupwork {
	sb_batch *b;
	atomic_int *next;
	char *buf;
	size_t bufcap;
	match *m;
	size_t n, cap;
	sb_arena ids;
	sb_status st;
	sb_diag d;
} dupwork;

static bool is_candidate(const sb_batch *b, uint64_t h)
{
	size_t lo = 0, hi = b->ncand;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->cand[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->ncand && b->cand[lo] == h;
}

static sb_status read_part(dupwork *w, int p, int64_t size)
{
	if ((size_t)size > w->bufcap) {
		sb_free(w->buf);
		w->bufcap = (size_t)size + (size_t)size / 4;
		if (!(w->buf = sb_malloc(w->bufcap))) {
			w->bufcap = 0;
			return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		}
	}
	int64_t got = 0;
	while (got < size) {
		ssize_t n = pread(w->b->part_fd[p], w->buf + got, (size_t)(size - got), (off_t)got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return sb_diag_set(&w->d, SB_EIO, NULL, 0, 0,
					   "cannot read a spill file back: %s",
					   n ? strerror(errno) : "short read");
		}
		got += n;
	}
	return SB_OK;
}

/* The records of buf[0..size) whose id hash is a candidate's. */
static sb_status scan_bytes(dupwork *w, const char *buf, int64_t size)
{
	sb_batch *b = w->b;
	for (int64_t off = 0; off < size;) {
		const sb_crec *r = (const sb_crec *)(buf + off);
		off += (int64_t)sb_crec_size(r);
		uint64_t h = sb_claim_id_hash(sb_crec_id(r), r->idlen);
		if (!is_candidate(b, h))
			continue;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 64;
			match *v = sb_realloc(w->m, cap * sizeof *v);
			if (!v)
				return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			w->m = v;
			w->cap = cap;
		}
		char *id = sb_arena_alloc(&w->ids, r->idlen + 1u);
		if (!id)
			return sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		memcpy(id, sb_crec_id(r), r->idlen);
		w->m[w->n++] = (match){h, sb_pass_line(b, r->line), id, r->idlen};
	}
	return SB_OK;
}

/* The records of partition p whose id hash is a candidate's: in its
 * spill file and in its memory blocks. */
static sb_status scan_part(dupwork *w, int p)
{
	sb_batch *b = w->b;
	int64_t size = atomic_load(&b->part_size[p]);
	sb_status st = size ? read_part(w, p, size) : SB_OK;
	if (!st && size)
		st = scan_bytes(w, w->buf, size);
	for (const sb_mblock *k = b->mem ? atomic_load(&b->mem[p]) : NULL; k && !st; k = k->next)
		st = scan_bytes(w, k->data, (int64_t)k->n);
	return st;
}

static void *run_scan(void *arg)
{
	dupwork *w = arg;
	for (;;) {
		int p = atomic_fetch_add(w->next, 1);
		if (p >= w->b->partitions || w->st)
			break;
		w->st = scan_part(w, p);
	}
	return NULL;
}

/* One id's records together, first line first. */
static int cmp_match(const void *a, const void *b)
{
	const match *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	int c = memcmp(x->id, y->id, x->len);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_dup(const void *a, const void *b)
{
	const sb_dup *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

sb_status sb_pass_dups(sb_batch *b, sb_dup **dups, size_t *ndups, sb_diag *d)
{
	*dups = NULL;
	*ndups = 0;
	/* The set has done its work: its memory goes before pass 2's. */
	if (b->idset)
		sb_huge_free((void *)b->idset, (b->idset_mask + 1) * sizeof *b->idset);
	b->idset = NULL;
	b->idset_mask = 0;
	if (!b->ncand)
		return SB_OK;
	qsort(b->cand, b->ncand, sizeof *b->cand, cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < b->ncand; i++)
		if (!u || b->cand[u - 1] != b->cand[i])
			b->cand[u++] = b->cand[i];
	b->ncand = u;

	atomic_int next = 0;
	dupwork *w = sb_calloc((size_t)b->threads, sizeof *w);
	pthread_t *tid = sb_calloc((size_t)b->threads, sizeof *tid);
	sb_status st = w && tid ? SB_OK : sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (int i = 0; !st && i < b->threads; i++) {
		w[i].b = b;
		w[i].next = &next;
		sb_arena_init(&w[i].ids);
		if (pthread_create(&tid[i], NULL, run_scan, &w[i]))
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
	/* The rejected rows' ids of the candidates' hashes, too. */
	int64_t rsize = atomic_load(&b->rid_size);
	char *rbuf = NULL;
	match *rm = NULL;
	size_t nr = 0;
	if (!st && rsize) {
		if (!(rbuf = sb_malloc((size_t)rsize)) || !(rm = sb_malloc((size_t)rsize / 16 * sizeof *rm)))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		for (int64_t got = 0; !st && got < rsize;) {
			ssize_t r = pread(b->rid_fd, rbuf + got, (size_t)(rsize - got), (off_t)got);
			if (r <= 0 && !(r < 0 && errno == EINTR))
				st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot read a spill file back: %s",
						 r ? strerror(errno) : "short read");
			got += r > 0 ? r : 0;
		}
		for (int64_t off = 0; !st && off < rsize;) {
			uint64_t packed;
			memcpy(&packed, rbuf + off, 8);
			uint32_t len = (unsigned char)rbuf[off + 8];
			const char *id = rbuf + off + 9;
			off += (int64_t)((9 + (size_t)len + 7) & ~(size_t)7);
			uint64_t h = sb_claim_id_hash(id, len);
			if (is_candidate(b, h))
				rm[nr++] = (match){h, sb_pass_line(b, packed), id, len};
		}
	}
	n += nr;
	match *all = NULL;
	if (!st && !(all = sb_malloc((n + 1) * sizeof *all)))
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	size_t k = 0;
	for (int i = 0; !st && i < b->threads; i++) {
		if (w[i].n)
			memcpy(all + k, w[i].m, w[i].n * sizeof *all);
		k += w[i].n;
	}
	if (!st && nr)
		memcpy(all + k, rm, nr * sizeof *all);
	sb_dup *v = NULL;
	size_t nd = 0;
	if (!st && n) {
		qsort(all, n, sizeof *all, cmp_match);
		/* At most n - 1 duplicates. */
		if (!(v = sb_malloc(n * sizeof *v)))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		for (size_t i = 1, f = 0; !st && i < n; i++) {
			if (all[f].hash != all[i].hash || all[f].len != all[i].len ||
			    memcmp(all[f].id, all[i].id, all[i].len)) {
				f = i; /* another id: its first line */
				continue;
			}
			v[nd].line = all[i].line;
			v[nd].first = all[f].line;
			nd++;
		}
	}
	sb_free(all);
	sb_free(rm);
	sb_free(rbuf); /* after all: matches point into it */
	for (int i = 0; w && i < b->threads; i++) {
		sb_free(w[i].m);
		sb_free(w[i].buf);
		sb_arena_release(&w[i].ids);
	}
	sb_free(w);
	sb_free(tid);
	if (st) {
		sb_free(v);
		return st;
	}
	if (nd)
		qsort(v, nd, sizeof *v, cmp_dup);
	*dups = v;
	*ndups = nd;
	return SB_OK;
}
