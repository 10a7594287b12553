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

/* Sorted through a small index (key, pseudo and line are the order), then
 * moved once: cheaper than sorting the wide rows themselves. */
typedef struct sort_item {
	uint64_t key;
	uint32_t pseudo_line; /* pseudo in the top bit, line below */
	uint32_t index;
} sort_item;

/* LSD radix sort on the 16-bit digits of pseudo_line (low, then high) and
 * then of key: each pass stable, so equal keys keep the order of the
 * passes before. Six passes over n items, no comparisons. */
static sb_status radix_sort(sort_item *v, size_t n, sb_diag *d)
{
	sort_item *tmp = sb_malloc(n * sizeof *tmp);
	size_t *count = sb_malloc(65536 * sizeof *count);
	if (!tmp || !count) {
		sb_free(tmp);
		sb_free(count);
		return oom(d);
	}
	for (int pass = 0; pass < 6; pass++) {
		int shift = pass < 2 ? pass * 16 : (pass - 2) * 16;
		memset(count, 0, 65536 * sizeof *count);
		for (size_t i = 0; i < n; i++) {
			uint64_t x = pass < 2 ? v[i].pseudo_line : v[i].key;
			count[(x >> shift) & 0xffff]++;
		}
		size_t sum = 0;
		for (size_t k = 0; k < 65536; k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t x = pass < 2 ? v[i].pseudo_line : v[i].key;
			tmp[count[(x >> shift) & 0xffff]++] = v[i];
		}
		memcpy(v, tmp, n * sizeof *v);
	}
	sb_free(tmp);
	sb_free(count);
	return SB_OK;
}

static sb_status sort_persons(fund_run *r, sb_diag *d)
{
	size_t n = r->npersons;
	sort_item *ix = sb_malloc(n * sizeof *ix);
	fperson *out = sb_malloc(n * sizeof *out);
	if (!ix || !out) {
		sb_free(ix);
		sb_free(out);
		return oom(d);
	}
	for (size_t i = 0; i < n; i++)
		ix[i] = (sort_item){ r->persons[i].key,
				     (uint32_t)r->persons[i].pseudo << 31 |
					     (r->persons[i].line & 0x7fffffffu),
				     (uint32_t)i };
	sb_status st = radix_sort(ix, n, d);
	if (st) {
		sb_free(ix);
		sb_free(out);
		return st;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = r->persons[ix[i].index];
	sb_free(ix);
	sb_free(r->persons);
	r->persons = out;
	return SB_OK;
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

/* Households by the 64-bit hash of their id (an open-addressed table):
 * two ids with one hash would be taken for one household, which at a
 * 2^-64 chance per pair of a province's ids is left at that. */
typedef struct hhtab {
	uint64_t *hash;
	uint32_t *index;
	size_t cap;
} hhtab;

static sb_status hh_find(fund_run *r, hhtab *t, uint64_t hv, sb_fen income, uint32_t *out,
			 sb_diag *d)
{
	if (t->cap == 0 || (size_t)r->nhouseholds * 2 >= t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint64_t *h = sb_calloc(cap, sizeof *h);
		uint32_t *ix = sb_calloc(cap, sizeof *ix);
		uint32_t *m = sb_realloc(r->hh_members, cap / 2 * sizeof *m);
		sb_fen *inc = m ? sb_realloc(r->hh_income, cap / 2 * sizeof *inc) : NULL;
		if (m)
			r->hh_members = m;
		if (inc)
			r->hh_income = inc;
		if (!h || !ix || !m || !inc) {
			sb_free(h);
			sb_free(ix);
			return oom(d);
		}
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->hash[i])
				continue;
			size_t k = t->hash[i] & (cap - 1);
			while (h[k])
				k = (k + 1) & (cap - 1);
			h[k] = t->hash[i];
			ix[k] = t->index[i];
		}
		sb_free(t->hash);
		sb_free(t->index);
		t->hash = h;
		t->index = ix;
		t->cap = cap;
	}
	size_t k = hv & (t->cap - 1);
	while (t->hash[k] && t->hash[k] != hv)
		k = (k + 1) & (t->cap - 1);
	if (!t->hash[k]) {
		t->hash[k] = hv;
		t->index[k] = r->nhouseholds;
		r->hh_members[r->nhouseholds] = 0;
		r->hh_income[r->nhouseholds] = income;
		r->nhouseholds++;
	}
	*out = t->index[k];
	r->hh_members[*out]++;
	return SB_OK;
}

typedef struct rank_item {
	sb_fen income;
	uint64_t key;
	uint32_t pseudo, index;
} rank_item;

static int cmp_income(const void *a, const void *b)
{
	const rank_item *x = a, *y = b;
	if (x->income != y->income)
		return x->income < y->income ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->pseudo > y->pseudo) - (x->pseudo < y->pseudo);
}

/* Income quintiles of the resident scheme, province-wide, by income per
 * household member (ties by person key, so the cut is deterministic). */
static sb_status quintiles(fund_run *r, sb_diag *d)
{
	size_t n = 0;
	for (size_t i = 0; i < r->npersons; i++)
		n += r->persons[i].scheme == SB_FUND_RESIDENT && r->persons[i].has_income;
	if (!n)
		return SB_OK;
	rank_item *ix = sb_malloc(n * sizeof *ix);
	if (!ix)
		return oom(d);
	size_t k = 0;
	for (size_t i = 0; i < r->npersons; i++) {
		const fperson *p = &r->persons[i];
		if (p->scheme == SB_FUND_RESIDENT && p->has_income)
			ix[k++] = (rank_item){ p->income_pc, p->key, p->pseudo, (uint32_t)i };
	}
	qsort(ix, n, sizeof *ix, cmp_income);
	for (size_t j = 0; j < n; j++)
		r->persons[ix[j].index].quintile = (int8_t)(j * 5 / n);
	sb_free(ix);
	return SB_OK;
}

/* One thread's share of persons.csv: its rows in line order, lines
 * counted from its share's start (fixed once every share is read). */
typedef struct pworker {
	fund_run *r;
	const int *col;
	size_t ncols;
	int64_t start, end;
	bool whole;
	fperson *v;
	size_t n, cap;
	uint64_t *hh; /* each row's household hash, 0 none */
	long long rejected;
	long lines;
	sb_status st;
	sb_diag d;
} pworker;

static void *persons_worker(void *arg)
{
	pworker *w = arg;
	fund_run *r = w->r;
	sb_csv *c = NULL;
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
		/* The rows settle refuses are left out, and counted. */
		if (k < 0 || sb_person_row_read(c, w->col, &row, why, sizeof why) ||
		    !(g = sb_fund_region(r, row.region))) {
			w->rejected++;
			continue;
		}
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 4096;
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
	}
	if (c)
		w->lines = sb_csv_lines(c);
	sb_csv_free(c);
	return NULL;
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
	/* The shares one after another, in line order; households numbered
	 * as they first appear. */
	hhtab hh = { NULL, NULL, 0 };
	if (!st && !(r->persons = sb_malloc((total ? total : 1) * sizeof *r->persons)))
		st = oom(d);
	long base = 2;
	for (int i = 0; !st && i < nw; i++) {
		for (size_t k = 0; !st && k < w[i].n; k++) {
			fperson *p = &r->persons[r->npersons++];
			*p = w[i].v[k];
			if (!w[i].whole)
				p->line = (uint32_t)(base + p->line - 1);
			if (w[i].hh[k])
				st = hh_find(r, &hh, w[i].hh[k], p->income, &p->household, d);
		}
		base += w[i].lines;
	}
	sb_free(hh.hash);
	sb_free(hh.index);
	for (int i = 0; w && i < nw; i++) {
		sb_free(w[i].v);
		sb_free(w[i].hh);
	}
	sb_free(w);
	sb_free(tid);
	sb_free(started);
	if (st)
		return st;
	r->t->persons = (long long)r->npersons;
	if (r->npersons > 1 && (st = sort_persons(r, d)))
		return st;
	for (size_t i = 1; i < r->npersons; i++)
		if (r->persons[i].key == r->persons[i - 1].key &&
		    r->persons[i].pseudo == r->persons[i - 1].pseudo)
			return sb_diag_set(
				d, SB_EINPUT, r->cfg->persons_path, (int)r->persons[i].line, 0,
				"the person of line %u is listed again: fund counts each "
				"person's contributions once; keep one row (`sanbao roster` "
				"lists the duplicates)",
				(unsigned)r->persons[i - 1].line);
	for (size_t i = 0; i < r->npersons; i++) {
		fperson *p = &r->persons[i];
		if (p->household != UINT32_MAX && p->has_income && r->hh_members[p->household])
			p->income_pc = sb_div_round(p->income, r->hh_members[p->household]);
	}
	return quintiles(r, d);
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
	sb_status st = sb_csv_open(r->cfg->identities_path, &c, d);
	if (st)
		return st;
	int col[SB_ICOL_N];
	if ((st = sb_io_map(c, "identities.csv", sb_identities_columns, SB_ICOL_N, true, col, d))) {
		sb_csv_free(c);
		return st;
	}
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
	/* each person's rows */
	for (size_t i = 0; i < r->nids;) {
		size_t j = i;
		while (j < r->nids && r->ids[j].key == r->ids[i].key &&
		       r->ids[j].pseudo == r->ids[i].pseudo)
			j++;
		fperson *p = sb_fund_find_person(r, r->ids[i].key, r->ids[i].pseudo);
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

sb_status sb_fund_read_balances(fund_run *r, sb_diag *d)
{
	if (!r->cfg->balances_path)
		return SB_OK;
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->balances_path, &c, d);
	if (st)
		return st;
	int col[SB_BCOL_N];
	if ((st = sb_io_map(c, "balances.csv", sb_balances_columns, SB_BCOL_N, true, col, d))) {
		sb_csv_free(c);
		return st;
	}
	int cr = col[SB_BCOL_REGION], cs = col[SB_BCOL_SCHEME], cb = col[SB_BCOL_BALANCE];
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
		sb_csv_field fr = cell(c, cr), fs = cell(c, cs), fb = cell(c, cb);
		char code[7] = "", shown[SB_IO_SHOWN];
		if (fr.n == 6) {
			memcpy(code, fr.p, 6);
			code[6] = '\0';
		}
		int sch = sb_name_index(sb_fund_scheme_names, fs.p, fs.n);
		bool adj = fs.n == 10 && !memcmp(fs.p, "adjustment", 10);
		fregion *g = code[0] ? sb_fund_region(r, code) : NULL;
		sb_fen v;
		const char *why;
		if (adj ? strcmp(code, r->province) : !g) {
			st = sb_diag_set(
				d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
				"region \"%s\" is not a pooling region of --policies%s",
				sb_io_shown(fr.p, fr.n, shown),
				adj ? " (the adjustment fund's row is the province's code)" : "");
			break;
		}
		if (sch < 0 && !adj) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "scheme \"%s\" is not employee, resident, assistance or "
					 "adjustment",
					 sb_io_shown(fs.p, fs.n, shown));
			break;
		}
		if (sb_money_parse(fb.p, fb.n, &v, &why)) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "balance \"%s\" %s: write yuan with at most 2 decimals",
					 sb_io_shown(fb.p, fb.n, shown), why);
			break;
		}
		bool *has = adj ? &r->has_adj_opening : &g->has_opening[sch];
		if (*has) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "a second opening balance for %s %.*s: give one row each",
					 adj ? r->province : g->code, (int)fs.n, fs.p);
			break;
		}
		if (adj) {
			r->adj_opening = v;
			*has = true;
		} else {
			g->opening[sch] = v;
			*has = true;
		}
	}
	sb_csv_free(c);
	return st;
}

/* ---- the adjustment input: scores, deductions, advances ------------------------------- */

sb_status sb_fund_read_adjustment(fund_run *r, sb_diag *d)
{
	if (!r->cfg->adjustment_path)
		return SB_OK;
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->adjustment_path, &c, d);
	if (st)
		return st;
	int col[SB_ACOL_N];
	if ((st = sb_io_map(c, "the adjustment input", sb_adjustment_columns, SB_ACOL_N, true, col,
			    d))) {
		sb_csv_free(c);
		return st;
	}
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
	sb_status st = sb_csv_open(r->cfg->warnings_path, &c, d);
	if (st)
		return st;
	int col[SB_WCOL_N];
	if ((st = sb_io_map(c, "warnings.csv", sb_warnings_columns, SB_WCOL_N, true, col, d))) {
		sb_csv_free(c);
		return st;
	}
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
