/* read.c: the inputs of `sanbao fund`: persons.csv and identities.csv
 * through the one row reader (src/io/people.c), settlements.csv from
 * `sanbao settle` (summed in settlements.c), and the optional
 * balances.csv, adjustment input and warnings.csv. A row that
 * settle would refuse (a bad person row) is counted and left out, as
 * settle leaves it out; anything else that is wrong stops the run with
 * its file and line, so that no account is silently short. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fund/fund_int.h"
#include "io/ranges.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_csv_field cell(const sb_csv *c, int col)
{
	sb_csv_field f = { "", 0 };
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

/* ---- regions and years --------------------------------------------------- */

fregion *sb_fund_region(fund_run *r, const char *code)
{
	size_t lo = 0, hi = r->nregions;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->regions[mid].code, code);
		if (!c)
			return &r->regions[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Regions are the loaded policies other than the province's: known before
 * any row is read, so their table never moves. */
static sb_status make_regions(fund_run *r, sb_diag *d)
{
	size_t n = sb_policyset_count(r->set);
	r->regions = sb_calloc(n ? n : 1, sizeof *r->regions);
	if (!r->regions)
		return oom(d);
	for (size_t i = 0; i < n; i++) {
		const sb_policy *p = sb_policyset_at(r->set, i);
		const char *code = sb_policy_region(p);
		if (!strcmp(code + 2, "0000"))
			continue;
		if (r->nregions == SB_FUND_MAX_REGIONS)
			return sb_diag_set(d, SB_ELIMIT, r->cfg->policies_dir, 0, 0,
					   "more than %d pooling regions in one run",
					   SB_FUND_MAX_REGIONS);
		fregion *g = &r->regions[r->nregions++];
		memcpy(g->code, code, 7);
		g->pol = p;
	}
	/* insertion sort by code: a few hundred at most */
	for (size_t i = 1; i < r->nregions; i++)
		for (size_t j = i; j > 0 && strcmp(r->regions[j - 1].code, r->regions[j].code) > 0;
		     j--) {
			fregion tmp = r->regions[j];
			r->regions[j] = r->regions[j - 1];
			r->regions[j - 1] = tmp;
		}
	return SB_OK;
}

int sb_fund_year_index(const fund_run *r, int year)
{
	for (int i = 0; i < r->nyears; i++)
		if (r->years[i] == year)
			return i;
	return -1;
}

/* A year's slot in the per-year tables, in the order years are first
 * seen; r->yorder lists the slots by year. */
sb_status sb_fund_add_year(fund_run *r, int year, int *slot, const sb_csv *c, sb_diag *d)
{
	if ((*slot = sb_fund_year_index(r, year)) >= 0)
		return SB_OK;
	if (r->nyears == FUND_NY)
		return sb_diag_set(
			d, SB_ELIMIT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			"settlements of more than %d policy years: run fund on fewer years",
			FUND_NY);
	*slot = r->nyears;
	r->years[r->nyears] = year;
	int i = r->nyears++;
	r->yorder[i] = *slot;
	while (i > 0 && r->years[r->yorder[i - 1]] > year) {
		r->yorder[i] = r->yorder[i - 1];
		r->yorder[i - 1] = *slot;
		i--;
	}
	return SB_OK;
}

/* ---- persons.csv ------------------------------------------------------------ */

/* ---- sorting: LSD radix sorts, each pass stable ----------------------------------- */

/* An item to sort: its key and its place before the sort. */
typedef struct sort_item {
	uint64_t key;
	uint32_t index;
	uint32_t pseudo;
} sort_item;

/* Sorts v[0..n) by key, stably, on 16-bit digits (a digit that is the
 * same in every key is skipped: no pass); tmp holds n items. Returns
 * the array holding the result (v or tmp). */
static sort_item *radix_sort(sort_item *v, sort_item *tmp, size_t n, size_t *count)
{
	uint64_t all_or = 0, all_and = ~(uint64_t)0;
	for (size_t i = 0; i < n; i++) {
		all_or |= v[i].key;
		all_and &= v[i].key;
	}
	for (int shift = 0; shift < 64; shift += 16) {
		if (!(((all_or ^ all_and) >> shift) & 0xffff))
			continue;
		memset(count, 0, 65536 * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[(v[i].key >> shift) & 0xffff]++;
		size_t sum = 0;
		for (size_t k = 0; k < 65536; k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(v[i].key >> shift) & 0xffff]++] = v[i];
		sort_item *x = v;
		v = tmp;
		tmp = x;
	}
	return v;
}

/* Sorts v[0..n) (in line order) by (key, pseudo) and so by (key, pseudo,
 * line): pseudonyms after IDs of the same key, stably, then by key. */
static sort_item *sort_by_key(sort_item *v, sort_item *tmp, size_t n, size_t *count)
{
	size_t npseudo = 0;
	for (size_t i = 0; i < n; i++)
		npseudo += v[i].pseudo != 0;
	if (npseudo) {
		size_t a = 0, b = n - npseudo;
		for (size_t i = 0; i < n; i++)
			tmp[v[i].pseudo ? b++ : a++] = v[i];
		sort_item *x = v;
		v = tmp;
		tmp = x;
	}
	return radix_sort(v, tmp, n, count);
}

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* Households by the 64-bit hash of their id (an open-addressed table),
 * numbered as they first appear, with their members and the income given
 * on their first member: two ids with one hash would be taken for one
 * household, which at a 2^-64 chance per pair of a province's ids is left
 * at that. */
typedef struct hhset {
	uint64_t *slot_hash;
	uint32_t *slot_index;
	size_t cap;
	uint32_t n;
	uint64_t *hash; /* [n]: each household's hash */
	uint32_t *members;
	sb_fen *income;
} hhset;

static void hh_release(hhset *t)
{
	sb_free(t->slot_hash);
	sb_free(t->slot_index);
	sb_free(t->hash);
	sb_free(t->members);
	sb_free(t->income);
	memset(t, 0, sizeof *t);
}

/* The table grown to cap slots (a power of two); false when out of memory. */
static bool hh_grow(hhset *t, size_t cap)
{
	uint64_t *h = sb_calloc(cap, sizeof *h);
	uint32_t *ix = sb_calloc(cap, sizeof *ix);
	uint64_t *hs = sb_realloc(t->hash, cap / 2 * sizeof *hs);
	if (hs)
		t->hash = hs;
	uint32_t *m = hs ? sb_realloc(t->members, cap / 2 * sizeof *m) : NULL;
	if (m)
		t->members = m;
	sb_fen *inc = m ? sb_realloc(t->income, cap / 2 * sizeof *inc) : NULL;
	if (inc)
		t->income = inc;
	if (!h || !ix || !inc) {
		sb_free(h);
		sb_free(ix);
		return false;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot_hash[i])
			continue;
		size_t k = t->slot_hash[i] & (cap - 1);
		while (h[k])
			k = (k + 1) & (cap - 1);
		h[k] = t->slot_hash[i];
		ix[k] = t->slot_index[i];
	}
	sb_free(t->slot_hash);
	sb_free(t->slot_index);
	t->slot_hash = h;
	t->slot_index = ix;
	t->cap = cap;
	return true;
}

/* The number of household hv (added with income when new), its members
 * counted up by `members`; false when out of memory. */
static bool hh_add(hhset *t, uint64_t hv, sb_fen income, uint32_t members, uint32_t *out)
{
	if ((t->cap == 0 || (size_t)t->n * 2 >= t->cap) && !hh_grow(t, t->cap ? t->cap * 2 : 1024))
		return false;
	size_t k = hv & (t->cap - 1);
	while (t->slot_hash[k] && t->slot_hash[k] != hv)
		k = (k + 1) & (t->cap - 1);
	if (!t->slot_hash[k]) {
		t->slot_hash[k] = hv;
		t->slot_index[k] = t->n;
		t->hash[t->n] = hv;
		t->members[t->n] = 0;
		t->income[t->n] = income;
		t->n++;
	}
	*out = t->slot_index[k];
	t->members[*out] += members;
	return true;
}

/* One thread's share of persons.csv: its rows in line order, lines
 * counted from its share's start (fixed once every share is read), its
 * households numbered as they first appear in the share, and the order of
 * its rows by (key, pseudo, line). */
typedef struct pworker {
	fund_run *r;
	const int *col;
	size_t ncols;
	int64_t start, end;
	bool whole;
	fperson *v;
	size_t n, cap;
	uint64_t *hh; /* each row's household hash, 0 none */
	hhset hs;
	sort_item *items, *spare; /* the sort's two buffers */
	sort_item *sorted;        /* one of them: the rows by key */
	long long rejected;
	long lines;
	sb_status st;
	sb_diag d;
} pworker;

static void persons_worker_sort(pworker *w)
{
	size_t n = w->n ? w->n : 1;
	size_t *count = sb_malloc(65536 * sizeof *count);
	w->items = sb_malloc(n * sizeof *w->items);
	w->spare = sb_malloc(n * sizeof *w->spare);
	if (!count || !w->items || !w->spare) {
		sb_free(count);
		w->st = oom(&w->d);
		return;
	}
	/* room for a household per row: no growing on the way */
	size_t cap = 1024;
	while (cap < 2 * n + 2)
		cap *= 2;
	if (!hh_grow(&w->hs, cap)) {
		sb_free(count);
		w->st = oom(&w->d);
		return;
	}
	uint32_t hno = UINT32_MAX;
	for (size_t i = 0; i < w->n; i++) {
		if (!w->hh[i]) {
			hno = UINT32_MAX;
		} else if (i && w->hh[i] == w->hh[i - 1]) {
			w->hs.members[hno]++; /* a household's members mostly come together */
		} else if (!hh_add(&w->hs, w->hh[i], w->v[i].income, 1, &hno)) {
			sb_free(count);
			w->st = oom(&w->d);
			return;
		}
		w->v[i].household = hno; /* the share's number, until the merge */
		w->items[i] = (sort_item){ w->v[i].key, (uint32_t)i, w->v[i].pseudo };
	}
	w->sorted = sort_by_key(w->items, w->spare, w->n, count);
	sb_free(count);
	/* what the merge does not read, freed now */
	sb_free(w->sorted == w->items ? w->spare : w->items);
	if (w->sorted == w->items)
		w->spare = NULL;
	else
		w->items = NULL;
	sb_free(w->hh);
	w->hh = NULL;
}

static void *persons_worker(void *arg)
{
	pworker *w = arg;
	fund_run *r = w->r;
	sb_csv *c = NULL;
	fregion *last = NULL;
	sb_diag_clear(&w->d);
	w->st = w->whole ? sb_csv_open(r->cfg->persons_path, &c, &w->d) :
			   sb_csv_open_range(r->cfg->persons_path, w->ncols, w->start, w->end, &c,
					     &w->d);
	while (!w->st) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k == -2) {
			w->d = bad;
			w->st = bad.code ? bad.code : SB_EIO;
			break;
		}
		sb_person_row row;
		char why[512];
		fregion *g = NULL;
		/* The rows settle refuses are left out, and counted (the last
		 * row's region first: neighbours mostly share it). */
		if (k < 0 || sb_person_row_read(c, w->col, &row, why, sizeof why) ||
		    !(g = last && !memcmp(last->code, row.region, 7) ?
				  last :
				  sb_fund_region(r, row.region))) {
			w->rejected++;
			continue;
		}
		if (w->n == w->cap) {
			/* first room for the share's rows at 40 bytes a row (a
			 * persons row is longer), so that the table is not moved
			 * while it grows */
			size_t cap = w->cap ? w->cap * 2 : (size_t)(w->end - w->start) / 40 + 4096;
			fperson *v = sb_realloc(w->v, cap * sizeof *v);
			uint64_t *h = v ? sb_realloc(w->hh, cap * sizeof *h) : NULL;
			if (v)
				w->v = v;
			if (h)
				w->hh = h;
			if (!v || !h) {
				w->st = oom(&w->d);
				break;
			}
			w->cap = cap;
		}
		fperson *p = &w->v[w->n];
		memset(p, 0, sizeof *p);
		p->key = row.key;
		p->pseudo = (uint8_t)row.pseudo;
		p->scheme = row.scheme;
		p->employment = row.employment;
		p->residence = row.residence;
		p->region = (uint16_t)(g - r->regions);
		p->tier = row.tier.n ? (int16_t)sb_policyset_symbol(r->set, SB_SYM_TIER, row.tier.p,
								    row.tier.n) :
				       -1;
		p->has_wage = row.has_wage_base;
		p->wage_base = row.wage_base;
		p->has_income = row.has_income;
		p->income = row.income;
		p->income_pc = row.income;
		p->quintile = -1;
		p->household = UINT32_MAX;
		p->line = (uint32_t)sb_csv_line(c);
		w->hh[w->n] = row.household.n ? fnv(row.household.p, row.household.n) : 0;
		w->n++;
		last = g;
	}
	if (c)
		w->lines = sb_csv_lines(c);
	sb_csv_free(c);
	if (!w->st)
		persons_worker_sort(w);
	return NULL;
}

/* ---- the shares merged, on several threads ------------------------------------------ */

sb_status sb_fund_threads(int n, void *(*fn)(void *), void *args, size_t size, sb_diag *d)
{
	pthread_t tid[SB_RANGES_MAX];
	int started = 0;
	sb_status st = SB_OK;
	for (int i = 1; i < n && i < SB_RANGES_MAX; i++) {
		if (pthread_create(&tid[i], NULL, fn, (char *)args + (size_t)i * size)) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
			break;
		}
		started = i;
	}
	if (!st)
		fn(args);
	for (int i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	return st;
}

static bool item_before(const sort_item *a, const sort_item *b)
{
	return a->key < b->key || (a->key == b->key && a->pseudo < b->pseudo);
}

static int cmp_items(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	return item_before(x, y) ? -1 : item_before(y, x) ? 1 : 0;
}

/* By key, then by place (index). */
static bool place_before(const sort_item *a, const sort_item *b)
{
	return a->key < b->key || (a->key == b->key && a->index < b->index);
}

static int cmp_places(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	return place_before(x, y) ? -1 : place_before(y, x) ? 1 : 0;
}

/* The first of v[0..n) not before x. */
static size_t lower_bound(const sort_item *v, size_t n, const sort_item *x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (item_before(&v[mid], x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A share's household: its number in the file and its members there. */
typedef struct hhmap {
	uint32_t number, members;
} hhmap;

/* How many items on each share's rows are fetched ahead in the merge. */
#define MERGE_AHEAD 16

/* One thread's part of the merge: the keys from one splitter to the
 * next, of every share, into r->persons from `out` on. */
typedef struct mpart {
	fund_run *r;
	const pworker *w;
	int nw;
	const size_t *first; /* each share's first place in the file's order */
	const long *base;    /* each share's first line */
	hhmap *const *map;   /* each share's households */
	size_t lo[SB_RANGES_MAX], hi[SB_RANGES_MAX];
	size_t out, n;
	size_t dup; /* the first place whose person is the one before, SIZE_MAX none */
	/* residents with an income, in key order: the income (as an order of
	 * unsigned keys) and their place in r->persons */
	sort_item *inc;
	size_t ninc;
	uint64_t inc_lo, inc_hi;
	bool oom;
} mpart;

/* An income as an unsigned key of the same order. */
static uint64_t income_key(sb_fen v)
{
	return (uint64_t)v ^ ((uint64_t)1 << 63);
}

static void *merge_part(void *arg)
{
	mpart *m = arg;
	fund_run *r = m->r;
	size_t at[SB_RANGES_MAX];
	for (int i = 0; i < m->nw; i++)
		at[i] = m->lo[i];
	m->dup = SIZE_MAX;
	m->inc_lo = UINT64_MAX;
	if (!(m->inc = sb_malloc((m->n ? m->n : 1) * sizeof *m->inc))) {
		m->oom = true;
		return NULL;
	}
	for (size_t o = m->out, end = m->out + m->n; o < end; o++) {
		int s = -1;
		const sort_item *best = NULL;
		for (int i = 0; i < m->nw; i++)
			if (at[i] < m->hi[i] &&
			    (!best || item_before(&m->w[i].sorted[at[i]], best))) {
				best = &m->w[i].sorted[at[i]];
				s = i;
			}
		at[s]++;
		const pworker *ws = &m->w[s];
		if (at[s] + MERGE_AHEAD < m->hi[s])
			__builtin_prefetch(&ws->v[ws->sorted[at[s] + MERGE_AHEAD].index]);
		uint32_t k = best->index;
		fperson *p = &r->persons[o];
		*p = ws->v[k];
		if (!ws->whole)
			p->line = (uint32_t)(m->base[s] + p->line - 1);
		if (p->household != UINT32_MAX) {
			hhmap h = m->map[s][p->household];
			p->household = h.number;
			if (p->has_income && h.members)
				p->income_pc = sb_div_round(p->income, h.members);
		}
		r->seq_of[o] = (uint32_t)(m->first[s] + k);
		if (o > m->out && m->dup == SIZE_MAX && p->key == p[-1].key &&
		    p->pseudo == p[-1].pseudo)
			m->dup = o;
		if (p->scheme == SB_FUND_RESIDENT && p->has_income) {
			uint64_t x = income_key(p->income_pc);
			m->inc[m->ninc++] = (sort_item){ x, (uint32_t)o, 0 };
			m->inc_lo = x < m->inc_lo ? x : m->inc_lo;
			m->inc_hi = x > m->inc_hi ? x : m->inc_hi;
		}
	}
	return NULL;
}

/* Income quintiles of the resident scheme, province-wide, by income per
 * household member, ties by person key: the person of rank j (from 0, of
 * n) is in quintile j * 5 / n. Found as the four persons where a quintile
 * starts (through a histogram of the incomes, then a sort of the few
 * buckets they are in), so that each person's quintile is a comparison
 * with them. */
typedef struct qcuts {
	int n;
	sort_item at[4]; /* income key and place of the first person of quintiles 1..n */
} qcuts;

static sb_status quintile_cuts(const mpart *m, int nparts, qcuts *q, sb_diag *d)
{
	size_t n = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	q->n = 0;
	for (int t = 0; t < nparts; t++) {
		n += m[t].ninc;
		if (m[t].ninc) {
			lo = m[t].inc_lo < lo ? m[t].inc_lo : lo;
			hi = m[t].inc_hi > hi ? m[t].inc_hi : hi;
		}
	}
	if (!n)
		return SB_OK;
	int shift = 0;
	while (((hi - lo) >> shift) >= 65536)
		shift++;
	size_t *count = sb_calloc(65536, sizeof *count);
	if (!count)
		return oom(d);
	for (int t = 0; t < nparts; t++)
		for (size_t i = 0; i < m[t].ninc; i++)
			count[(m[t].inc[i].key - lo) >> shift]++;
	size_t rank[4], bucket[4], before[4];
	int nc = 0;
	for (int c = 1; c <= 4; c++) {
		size_t j = ((size_t)c * n + 4) / 5; /* the first rank with j * 5 / n >= c */
		if (j < n)
			rank[nc++] = j;
	}
	size_t cum = 0, collected = 0;
	int c = 0;
	for (size_t b = 0; b < 65536 && c < nc; b++) {
		bool cut = false;
		while (c < nc && rank[c] < cum + count[b]) {
			bucket[c] = b;
			before[c] = collected + (rank[c] - cum);
			cut = true;
			c++;
		}
		if (cut)
			collected += count[b];
		cum += count[b];
	}
	sort_item *v = sb_malloc((collected ? collected : 1) * sizeof *v);
	if (!v) {
		sb_free(count);
		return oom(d);
	}
	size_t k = 0;
	for (int t = 0; t < nparts; t++)
		for (size_t i = 0; i < m[t].ninc; i++) {
			size_t b = (m[t].inc[i].key - lo) >> shift;
			for (int x = 0; x < nc; x++)
				if (bucket[x] == b) {
					v[k++] = m[t].inc[i];
					break;
				}
		}
	qsort(v, k, sizeof *v, cmp_places); /* ties by place: the key order */
	for (int x = 0; x < nc; x++)
		q->at[x] = v[before[x]];
	q->n = nc;
	sb_free(v);
	sb_free(count);
	return SB_OK;
}

/* One thread's part of the last pass: each person's quintile and its
 * entries in r->seq and r->seq_hh. */
typedef struct fpart {
	fund_run *r;
	const qcuts *q;
	size_t lo, hi;
} fpart;

static void *finish_part(void *arg)
{
	fpart *f = arg;
	fund_run *r = f->r;
	for (size_t i = f->lo; i < f->hi; i++) {
		fperson *p = &r->persons[i];
		if (p->scheme == SB_FUND_RESIDENT && p->has_income) {
			sort_item x = { income_key(p->income_pc), (uint32_t)i, 0 };
			int qn = 0;
			for (int c = 0; c < f->q->n; c++)
				qn += !place_before(&x, &f->q->at[c]);
			p->quintile = (int8_t)qn;
		}
		int res = p->residence == SB_RESIDENCE_URBAN ? FG_URBAN :
			  p->residence == SB_RESIDENCE_RURAL ? FG_RURAL :
							       FG_RES_UNKNOWN;
		int inc = p->quintile >= 0 ? FG_Q1 + p->quintile : FG_NO_INCOME;
		r->seq[r->seq_of[i]] = (fseq){ p->key, (uint32_t)i, p->region,
					       (uint8_t)(p->scheme | (p->pseudo ? 0x80 : 0)),
					       (uint8_t)(res | inc << 4) };
		r->seq_hh[r->seq_of[i]] = p->household;
	}
	return NULL;
}

/* The shares' sorted rows merged into r->persons by (key, pseudo, line),
 * on nw threads, each from one splitter key to the next (samples of every
 * share's keys); the households numbered across the shares as they first
 * appear in the file (those of the first share as they are); r->seq_of
 * each person's place in the file's order; a person listed twice refused;
 * then the quintiles and r->seq. */
static sb_status merge_persons(fund_run *r, pworker *w, int nw, size_t total, sb_diag *d)
{
	enum { SAMPLES = 64 };
	hhset hs = w[0].hs;
	uint32_t n0 = hs.n;
	memset(&w[0].hs, 0, sizeof w[0].hs);
	for (int i = 1; i < nw; i++) { /* their lists are merged, not their tables */
		sb_free(w[i].hs.slot_hash);
		sb_free(w[i].hs.slot_index);
		w[i].hs.slot_hash = NULL;
		w[i].hs.slot_index = NULL;
		w[i].hs.cap = 0;
	}
	hhmap **map = sb_calloc((size_t)nw, sizeof *map);
	size_t *first = sb_calloc((size_t)nw, sizeof *first);
	long *base = sb_calloc((size_t)nw, sizeof *base);
	mpart *m = sb_calloc((size_t)nw, sizeof *m);
	fpart *f = sb_calloc((size_t)nw, sizeof *f);
	sort_item *sample = sb_malloc((size_t)nw * SAMPLES * sizeof *sample);
	r->persons = sb_malloc((total ? total : 1) * sizeof *r->persons);
	r->seq_of = sb_malloc((total ? total : 1) * sizeof *r->seq_of);
	sb_status st = map && first && base && m && f && sample && r->persons && r->seq_of ? SB_OK :
											     oom(d);
	long line = 2;
	size_t place = 0, ns = 0;
	for (int i = 0; !st && i < nw; i++) {
		base[i] = line;
		first[i] = place;
		line += w[i].lines;
		place += w[i].n;
		uint32_t nh = i ? w[i].hs.n : n0;
		if (!(map[i] = sb_malloc((nh ? nh : 1) * sizeof *map[i]))) {
			st = oom(d);
			break;
		}
		if (i == 0) /* hs is the first share's */
			for (uint32_t k = 0; k < nh; k++)
				map[0][k].number = k;
		for (uint32_t k = 0; !st && k < w[i].hs.n; k++)
			if (!hh_add(&hs, w[i].hs.hash[k], w[i].hs.income[k], w[i].hs.members[k],
				    &map[i][k].number))
				st = oom(d);
		for (size_t j = 0; w[i].n && j < SAMPLES; j++)
			sample[ns++] = w[i].sorted[j * w[i].n / SAMPLES];
	}
	for (int i = 0; !st && i < nw; i++) {
		uint32_t nh = i ? w[i].hs.n : n0;
		for (uint32_t k = 0; k < nh; k++)
			map[i][k].members = hs.members[map[i][k].number];
	}
	if (!st) {
		r->nhouseholds = hs.n;
		r->hh_members = hs.members;
		r->hh_income = hs.income;
		hs.members = NULL;
		hs.income = NULL;
		qsort(sample, ns, sizeof *sample, cmp_items);
		size_t out = 0;
		for (int t = 0; t < nw; t++) {
			mpart *x = &m[t];
			x->r = r;
			x->w = w;
			x->nw = nw;
			x->first = first;
			x->base = base;
			x->map = map;
			x->out = out;
			for (int i = 0; i < nw; i++) {
				x->lo[i] = t ? m[t - 1].hi[i] : 0;
				x->hi[i] = t == nw - 1 ? w[i].n :
							 lower_bound(w[i].sorted, w[i].n,
								     &sample[(size_t)(t + 1) * ns /
									     (size_t)nw]);
				x->n += x->hi[i] - x->lo[i];
			}
			out += x->n;
		}
		r->npersons = total;
		st = sb_fund_threads(nw, merge_part, m, sizeof *m, d);
	}
	/* the shares' rows are in r->persons now */
	for (int i = 0; i < nw; i++) {
		sb_free(w[i].v);
		sb_free(w[i].items);
		sb_free(w[i].spare);
		w[i].v = NULL;
		w[i].items = w[i].spare = w[i].sorted = NULL;
	}
	size_t dup = SIZE_MAX;
	for (int t = 0; !st && t < nw; t++) {
		if (m[t].oom)
			st = oom(d);
		if (m[t].dup < dup)
			dup = m[t].dup;
		size_t o = m[t].out;
		if (m[t].n && o > 0 && o < dup && r->persons[o].key == r->persons[o - 1].key &&
		    r->persons[o].pseudo == r->persons[o - 1].pseudo)
			dup = o;
	}
	if (!st && dup != SIZE_MAX)
		st = sb_diag_set(d, SB_EINPUT, r->cfg->persons_path, (int)r->persons[dup].line, 0,
				 "the person of line %u is listed again: fund counts each "
				 "person's contributions once; keep one row (`sanbao roster` "
				 "lists the duplicates)",
				 (unsigned)r->persons[dup - 1].line);
	qcuts q;
	if (!st)
		st = quintile_cuts(m, nw, &q, d);
	if (!st) {
		r->seq = sb_malloc((total ? total : 1) * sizeof *r->seq);
		r->seq_hh = sb_malloc((total ? total : 1) * sizeof *r->seq_hh);
		if (!r->seq || !r->seq_hh)
			st = oom(d);
	}
	for (int t = 0; !st && t < nw; t++)
		f[t] = (fpart){ r, &q, total * (size_t)t / (size_t)nw,
				total * (size_t)(t + 1) / (size_t)nw };
	if (!st)
		st = sb_fund_threads(nw, finish_part, f, sizeof *f, d);
	hh_release(&hs);
	for (int i = 0; map && i < nw; i++)
		sb_free(map[i]);
	for (int t = 0; m && t < nw; t++)
		sb_free(m[t].inc);
	sb_free(map);
	sb_free(first);
	sb_free(base);
	sb_free(m);
	sb_free(f);
	sb_free(sample);
	return st;
}

sb_status sb_fund_read_persons(fund_run *r, sb_diag *d)
{
	sb_status st = make_regions(r, d);
	if (st)
		return st;
	sb_csv *c;
	if ((st = sb_csv_open(r->cfg->persons_path, &c, d)))
		return st;
	int col[SB_PCOL_N];
	st = sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, d);
	size_t ncols = sb_csv_ncols(c);
	sb_csv_free(c);
	if (st)
		return st;
	/* one share per thread, at least a MiB each */
	int64_t bounds[SB_RANGES_MAX + 1], size;
	int nw;
	if ((st = sb_io_ranges(r->cfg->persons_path, r->cfg->threads > 0 ? r->cfg->threads : 1,
			       (int64_t)1 << 20, bounds, &nw, &size, d)))
		return st;
	pworker *w = sb_calloc((size_t)nw, sizeof *w);
	pthread_t *tid = sb_calloc((size_t)nw, sizeof *tid);
	bool *started = sb_calloc((size_t)nw, sizeof *started);
	if (!w || !tid || !started)
		st = oom(d);
	for (int i = 0; !st && i < nw; i++) {
		w[i].r = r;
		w[i].col = col;
		w[i].ncols = ncols;
		w[i].whole = nw == 1;
		w[i].start = bounds[i];
		w[i].end = bounds[i + 1];
	}
	for (int i = 0; !st && i < nw; i++) {
		if (nw == 1) {
			persons_worker(&w[0]);
			break;
		}
		if (pthread_create(&tid[i], NULL, persons_worker, &w[i]))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
		else
			started[i] = true;
	}
	for (int i = 0; i < nw; i++)
		if (started && started[i])
			pthread_join(tid[i], NULL);
	size_t total = 0;
	for (int i = 0; !st && i < nw; i++) {
		if (w[i].st) {
			st = w[i].st;
			*d = w[i].d;
		}
		total += w[i].n;
		r->t->persons_rejected += w[i].rejected;
	}
	if (!st && total > UINT32_MAX - 1)
		st = sb_diag_set(d, SB_ELIMIT, r->cfg->persons_path, 0, 0,
				 "more than %u persons in one run", UINT32_MAX - 1);
	if (!st)
		st = merge_persons(r, w, nw, total, d);
	for (int i = 0; w && i < nw; i++) {
		sb_free(w[i].v);
		sb_free(w[i].hh);
		sb_free(w[i].items);
		sb_free(w[i].spare);
		hh_release(&w[i].hs);
	}
	sb_free(w);
	sb_free(tid);
	sb_free(started);
	if (st)
		return st;
	r->t->persons = (long long)r->npersons;
	return SB_OK;
}

fperson *sb_fund_find_person(fund_run *r, uint64_t key, int pseudo)
{
	size_t lo = 0, hi = r->npersons;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		fperson *p = &r->persons[mid];
		if (p->key == key && p->pseudo == pseudo)
			return p;
		if (p->key < key || (p->key == key && p->pseudo < pseudo))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool person_before(const fperson *p, uint64_t key, int pseudo)
{
	return p->key < key || (p->key == key && p->pseudo < pseudo);
}

fperson *sb_fund_find_person_from(fund_run *r, uint64_t key, int pseudo, size_t *at)
{
	size_t n = r->npersons, lo = *at, hi = lo, step = 1;
	/* galloping: everything up to hi is before the key, then the search
	 * between the last such place and the first not before */
	while (hi < n && person_before(&r->persons[hi], key, pseudo)) {
		lo = hi + 1;
		hi += step;
		step *= 2;
	}
	if (hi > n)
		hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (person_before(&r->persons[mid], key, pseudo))
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < n && r->persons[lo].key == key && r->persons[lo].pseudo == pseudo ?
		       &r->persons[lo] :
		       NULL;
}

/* ---- identities.csv ------------------------------------------------------------ */

static int cmp_ident(const void *a, const void *b)
{
	const fident *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->pseudo != y->pseudo)
		return x->pseudo < y->pseudo ? -1 : 1;
	return (x->from > y->from) - (x->from < y->from);
}

sb_status sb_fund_read_identities(fund_run *r, sb_diag *d)
{
	if (!r->cfg->identities_path)
		return SB_OK;
	sb_csv *c;
	int col[SB_ICOL_N];
	sb_status st = sb_io_open_mapped(r->cfg->identities_path, "identities.csv",
					 sb_identities_columns, SB_ICOL_N, true, col, &c, d);
	if (st)
		return st;
	size_t cap = 0;
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k == -2) {
			*d = bad;
			st = bad.code ? bad.code : SB_EIO;
			break;
		}
		r->t->identities++;
		sb_identity_row row;
		char why[1024];
		if (k < 0 ||
		    sb_identity_row_read(c, col, r->set, &row, why, sizeof why) != SB_IROW_OK) {
			r->t->identities_rejected++;
			continue;
		}
		if (r->nids == cap) {
			cap = cap ? cap * 2 : 1024;
			fident *v = sb_realloc(r->ids, cap * sizeof *v);
			if (!v) {
				st = oom(d);
				break;
			}
			r->ids = v;
		}
		fident *x = &r->ids[r->nids++];
		x->key = row.key;
		x->pseudo = (uint8_t)row.pseudo;
		x->sym = (int16_t)row.sym;
		x->from = row.from;
		x->to = row.to;
		x->region = 0;
		sb_csv_field fr = cell(c, col[SB_ICOL_REGION]);
		if (fr.n == 6) {
			uint32_t v = 0;
			bool ok = true;
			for (size_t i = 0; i < 6; i++) {
				ok = ok && fr.p[i] >= '0' && fr.p[i] <= '9';
				v = v * 10 + (uint32_t)(fr.p[i] - '0');
			}
			x->region = ok ? v : 0;
		}
	}
	sb_csv_free(c);
	if (st)
		return st;
	if (r->nids)
		qsort(r->ids, r->nids, sizeof *r->ids, cmp_ident);
	return SB_OK;
}

sb_status sb_fund_link_identities(fund_run *r, sb_diag *d)
{
	size_t at = 0;
	if (!(r->id_person = sb_malloc((r->nids ? r->nids : 1) * sizeof *r->id_person)))
		return oom(d);
	for (size_t i = 0; i < r->nids;) {
		size_t j = i;
		while (j < r->nids && r->ids[j].key == r->ids[i].key &&
		       r->ids[j].pseudo == r->ids[i].pseudo)
			j++;
		fperson *p = sb_fund_find_person_from(r, r->ids[i].key, r->ids[i].pseudo, &at);
		r->id_person[i] = p ? (uint32_t)(p - r->persons) : UINT32_MAX;
		if (p) {
			p->id_first = (uint32_t)i;
			p->id_n = (uint32_t)(j - i);
		}
		i = j;
	}
	return SB_OK;
}

uint64_t sb_fund_held(const fund_run *r, const fperson *p, sb_date start, sb_date end)
{
	uint64_t held = 0;
	for (uint32_t i = 0; i < p->id_n; i++) {
		const fident *x = &r->ids[p->id_first + i];
		if (x->from < end && x->to >= start)
			held |= (uint64_t)1 << (x->sym + 1);
	}
	return held;
}

/* ---- balances.csv: opening balances ------------------------------------------------ */

static bool known_region(void *ctx, const char *code, bool adjustment)
{
	fund_run *r = ctx;
	return adjustment ? !strcmp(code, r->province) : sb_fund_region(r, code) != NULL;
}

sb_status sb_fund_read_balances(fund_run *r, sb_diag *d)
{
	if (!r->cfg->balances_path)
		return SB_OK;
	sb_fund_balance *b;
	size_t n;
	sb_status st =
		sb_fund_read_balances_file(r->cfg->balances_path, known_region, r, &b, &n, d);
	for (size_t i = 0; !st && i < n; i++) {
		if (b[i].scheme == SB_FUND_ADJUSTMENT) {
			r->adj_opening = b[i].balance;
			r->has_adj_opening = true;
		} else {
			fregion *g = sb_fund_region(r, b[i].region);
			g->opening[b[i].scheme] = b[i].balance;
			g->has_opening[b[i].scheme] = true;
		}
	}
	sb_free(b);
	return st;
}

/* ---- the adjustment input: scores, deductions, advances ------------------------------- */

sb_status sb_fund_read_adjustment(fund_run *r, sb_diag *d)
{
	if (!r->cfg->adjustment_path)
		return SB_OK;
	sb_csv *c;
	int col[SB_ACOL_N];
	sb_status st = sb_io_open_mapped(r->cfg->adjustment_path, "the adjustment input",
					 sb_adjustment_columns, SB_ACOL_N, true, col, &c, d);
	if (st)
		return st;
	int cr = col[SB_ACOL_REGION], cs = col[SB_ACOL_SCHEME], cy = col[SB_ACOL_YEAR],
	    csc = col[SB_ACOL_SCORE], cd = col[SB_ACOL_DEDUCTION], ca = col[SB_ACOL_ADVANCE];
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k < 0) {
			*d = bad;
			st = bad.code ? bad.code : SB_EINPUT;
			break;
		}
		sb_csv_field fr = cell(c, cr), fs = cell(c, cs), fy = cell(c, cy);
		char code[7] = "", shown[SB_IO_SHOWN];
		if (fr.n == 6) {
			memcpy(code, fr.p, 6);
			code[6] = '\0';
		}
		fregion *g = code[0] ? sb_fund_region(r, code) : NULL;
		int sch = sb_name_index(sb_scheme_names, fs.p, fs.n);
		int year = 0;
		for (size_t i = 0; i < fy.n && fy.n == 4; i++)
			year = fy.p[i] >= '0' && fy.p[i] <= '9' ? year * 10 + fy.p[i] - '0' :
								  -99999;
		int y = fy.n == 4 ? sb_fund_year_index(r, year) : -1;
		if (!g || sch < 0 || y < 0) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "%s \"%s\" is not %s",
					 !g      ? "region" :
					 sch < 0 ? "scheme" :
						   "year",
					 !g      ? sb_io_shown(fr.p, fr.n, shown) :
					 sch < 0 ? sb_io_shown(fs.p, fs.n, shown) :
						   sb_io_shown(fy.p, fy.n, shown),
					 !g      ? "a pooling region of --policies" :
					 sch < 0 ? "employee or resident" :
						   "a policy year of the settlements");
			break;
		}
		if (g->has_score[y][sch] || g->has_deduction[y][sch] || g->has_advance[y][sch]) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "a second row for %s %s %d: give one row each", g->code,
					 sb_scheme_names[sch], year);
			break;
		}
		sb_csv_field f = cell(c, csc);
		const char *why;
		if (f.n) {
			int64_t bp;
			if (sb_bp_parse(f.p, f.n, 0, &bp, &why) || bp < 0 || bp > 1000000) {
				st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c),
						 0, "score \"%s\" is not a score from 0 to 100",
						 sb_io_shown(f.p, f.n, shown));
				break;
			}
			g->score[y][sch] = bp / 100; /* points -> bp of 100 points */
			g->has_score[y][sch] = true;
		}
		struct {
			int col;
			const char *name;
			bool *has;
			sb_fen *v;
		} am[] = { { cd, "deduction", &g->has_deduction[y][sch], &g->deduction[y][sch] },
			   { ca, "advance", &g->has_advance[y][sch], &g->advance[y][sch] } };
		for (size_t i = 0; i < 2 && !st; i++) {
			f = cell(c, am[i].col);
			if (!f.n)
				continue;
			if (sb_money_parse(f.p, f.n, am[i].v, &why) || *am[i].v < 0)
				st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c),
						 0, "%s \"%s\" is not an amount in yuan >= 0",
						 am[i].name, sb_io_shown(f.p, f.n, shown));
			*am[i].has = true;
		}
		if (st)
			break;
	}
	sb_csv_free(c);
	return st;
}

/* ---- warnings.csv of `sanbao settle --monitor` ------------------------------------------ */

sb_status sb_fund_read_warnings(fund_run *r, sb_diag *d)
{
	if (!r->cfg->warnings_path)
		return SB_OK;
	sb_csv *c;
	int col[SB_WCOL_N];
	sb_status st = sb_io_open_mapped(r->cfg->warnings_path, "warnings.csv", sb_warnings_columns,
					 SB_WCOL_N, true, col, &c, d);
	if (st)
		return st;
	int cr = col[SB_WCOL_REGION], cy = col[SB_WCOL_YEAR];
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k < 0) {
			*d = bad;
			st = bad.code ? bad.code : SB_EINPUT;
			break;
		}
		sb_csv_field fr = cell(c, cr), fy = cell(c, cy);
		char code[7] = "";
		if (fr.n == 6) {
			memcpy(code, fr.p, 6);
			code[6] = '\0';
		}
		fregion *g = code[0] ? sb_fund_region(r, code) : NULL;
		int year = 0;
		for (size_t i = 0; i < fy.n && fy.n == 4; i++)
			year = fy.p[i] >= '0' && fy.p[i] <= '9' ? year * 10 + fy.p[i] - '0' :
								  -99999;
		int y = sb_fund_year_index(r, year);
		if (g && y >= 0)
			g->warnings[y]++;
	}
	sb_csv_free(c);
	return st;
}
