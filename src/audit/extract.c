/* extract.c: the audit's columns of a claims extract: what each fund or
 * layer actually paid (hifp_pay ..., actual_<layer>), the admission date,
 * the visit id, the facility and the diagnosis, kept at their claims.csv
 * line's place (32 bytes a row, audit_int.h) so that the audit sink finds
 * them from the line of the claim the batch settled. The
 * column names are sanbao/io.h's one table; actual_<layer> is a family by
 * prefix, like settle's paid_<layer> (which means something else: paid
 * elsewhere, given to settlement). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "io/ranges.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"

/* Every row by (id hash, line), for the claims whose line holds no row of
 * their id. */
typedef struct fb_entry {
	uint64_t idhash, line;
	const sb_audit_row *row;
	uint32_t fac;
} fb_entry;

struct sb_audit_fallback {
	pthread_mutex_t lock;
	_Atomic bool built;
	fb_entry *v;
	size_t n;
};

#define BLOCK_ROWS ((size_t)1 << SB_AUDIT_BLOCK_SHIFT)
#define BLOCK_BYTES (BLOCK_ROWS * sizeof(sb_audit_row))
#define CHUNK_BYTES ((size_t)8 << 20) /* huge pages: a fault per 2 MiB, not per 4 KiB */

/* One byte range of the extract, read by one thread into its own blocks of
 * rows, facility table and texts (x->out, kept by the extract); nothing is
 * copied when the ranges are joined. */
typedef struct part {
	/* what to read */
	const char *path;
	size_t ncols;
	int64_t start, end;
	const int *col, *actual_col;
	int nactual;
	uint64_t allcols;
	const char (*actual_name)[56];
	/* what was read; lines are counted from 1 at start */
	sb_audit_part *out;
	size_t blkcap, chunkcap;
	char *cur; /* the free end of the last chunk */
	size_t left;
	long long rows_read;
	long lines, lastline;
	sb_status st;
	sb_diag d;
	/* facilities, one copy each (a few thousand in a province), numbered
	 * in the order first seen */
	const char **fac; /* by number */
	uint64_t *fach;   /* by number: hash */
	struct facslot {  /* the hash table: one cache line a probe */
		uint64_t hash;
		uint32_t len, num; /* num: number + 1, 0 empty */
	} * facn;
	size_t nfac, faccap, facmask;
} part;

static sb_status bad(const sb_csv *c, const char *col, sb_csv_field f, const char *why, sb_diag *d)
{
	char shown[SB_IO_SHOWN];
	return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			   "%s \"%s\" %s: write yuan with at most 2 decimals, 0 or more, or "
			   "leave it empty",
			   col, sb_io_shown(f.p, f.n, shown), why);
}

/* n bytes of cold text in x's chunks (NULL: out of memory). */
static char *cold(part *x, size_t n)
{
	if (n > x->left) {
		if (x->out->nchunk == x->chunkcap) {
			size_t nc = x->chunkcap ? x->chunkcap * 2 : 64;
			char **v = sb_realloc(x->out->chunk, nc * sizeof *v);
			if (v)
				x->out->chunk = v;
			size_t *sz = v ? sb_realloc(x->out->chunksize, nc * sizeof *sz) : NULL;
			if (!sz)
				return NULL;
			x->out->chunksize = sz;
			x->chunkcap = nc;
		}
		size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
		char *c = sb_huge_alloc(size);
		if (!c)
			return NULL;
		x->out->chunk[x->out->nchunk] = c;
		x->out->chunksize[x->out->nchunk++] = size;
		x->cur = c;
		x->left = size;
	}
	char *p = x->cur;
	x->cur += n;
	x->left -= n;
	return p;
}

static size_t fac_slot(uint64_t h, size_t mask)
{
	return (size_t)(h ^ h >> 29) & mask;
}

/* The range's number + 1 of a facility code (0 when not given), *err set
 * when out of memory. */
static uint32_t facility(part *x, sb_csv_field f, bool *err)
{
	if (!f.n)
		return 0;
	uint64_t h = sb_audit_idhash(f.p, f.n);
	if (x->facn) {
		for (size_t i = fac_slot(h, x->facmask); x->facn[i].num; i = (i + 1) & x->facmask) {
			const struct facslot *e = &x->facn[i];
			if (e->hash == h && e->len == f.n && !memcmp(x->fac[e->num - 1], f.p, f.n))
				return e->num;
		}
	}
	if (x->nfac == UINT32_MAX - 1 || f.n > UINT32_MAX) {
		*err = true;
		return 0;
	}
	if (x->nfac == x->faccap) {
		size_t nc = x->faccap ? x->faccap * 2 : 512;
		const char **nf = sb_realloc(x->fac, nc * sizeof *nf);
		if (nf)
			x->fac = nf;
		uint64_t *nh = nf ? sb_realloc(x->fach, nc * sizeof *nh) : NULL;
		if (nh)
			x->fach = nh;
		struct facslot *nt = nh ? sb_calloc(nc * 2, sizeof *nt) : NULL;
		if (!nt) {
			*err = true;
			return 0;
		}
		for (size_t i = 0; x->facn && i <= x->facmask; i++) {
			if (!x->facn[i].num)
				continue;
			size_t j = fac_slot(x->facn[i].hash, nc * 2 - 1);
			while (nt[j].num)
				j = (j + 1) & (nc * 2 - 1);
			nt[j] = x->facn[i];
		}
		sb_free(x->facn);
		x->facn = nt;
		x->faccap = nc;
		x->facmask = nc * 2 - 1;
	}
	char *copy = sb_arena_strndup(&x->out->facs, f.p, f.n);
	if (!copy) {
		*err = true;
		return 0;
	}
	size_t i = fac_slot(h, x->facmask);
	while (x->facn[i].num)
		i = (i + 1) & x->facmask;
	x->fac[x->nfac] = copy;
	x->fach[x->nfac] = h;
	x->facn[i] = (struct facslot){ h, (uint32_t)f.n, (uint32_t)++x->nfac };
	return (uint32_t)x->nfac;
}

/* A block of rows at a 2 MiB boundary, so that every page of it can be a
 * huge one: the sink reads rows at random, and a 4 KiB page there is a
 * TLB miss. */
static sb_audit_row *block_new(void)
{
	const size_t align = (size_t)2 << 20;
	char *p = sb_huge_alloc(BLOCK_BYTES + align);
	if (!p)
		return NULL;
	uintptr_t u = (uintptr_t)p, a = (u + align - 1) & ~(uintptr_t)(align - 1);
	size_t head = (size_t)(a - u);
	if (head)
		sb_huge_free(p, head);
	sb_huge_free((char *)a + BLOCK_BYTES, align - head);
	return (sb_audit_row *)a;
}

/* The place of the row on the range's line `line` (from 1), its block
 * mapped when new (NULL: out of memory). */
static sb_audit_row *row_at(part *x, long line)
{
	size_t i = (size_t)(line - 1), b = i >> SB_AUDIT_BLOCK_SHIFT;
	sb_audit_part *o = x->out;
	if (b >= o->nblk) {
		if (b >= x->blkcap) {
			size_t nc = x->blkcap ? x->blkcap * 2 : 16;
			while (nc <= b)
				nc *= 2;
			sb_audit_row **v = sb_realloc(o->blk, nc * sizeof *v);
			if (!v)
				return NULL;
			o->blk = v;
			x->blkcap = nc;
		}
		while (o->nblk <= b)
			o->blk[o->nblk++] = NULL;
	}
	if (!o->blk[b] && !(o->blk[b] = block_new()))
		return NULL;
	return &o->blk[b][i & (BLOCK_ROWS - 1)];
}

/* One amount cell into the row being read: its column's bit, and the
 * amount in amounts[] when not 0. */
static sb_status money_cell(const sb_csv *c, int idx, int col, const char *name, uint64_t *cols,
			    uint64_t *nonzero, sb_fen *amounts, int *namounts, sb_diag *d)
{
	if (idx < 0)
		return SB_OK;
	sb_csv_field f = sb_csv_get(c, (size_t)idx);
	if (!f.n)
		return SB_OK;
	*cols |= 1ULL << col;
	if (f.n == 4 && !memcmp(f.p, "0.00", 4)) /* most cells of an extract */
		return SB_OK;
	sb_fen fen;
	const char *why = NULL;
	if (sb_money_parse(f.p, f.n, &fen, &why))
		return bad(c, name, f, why ? why : "is not an amount", d);
	if (fen < 0)
		return bad(c, name, f, "is negative", d);
	if (fen) {
		*nonzero |= 1ULL << col;
		amounts[(*namounts)++] = fen;
	}
	return SB_OK;
}

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

/* Reads the rows of part x's range. */
static sb_status read_part(part *x, sb_diag *d)
{
	sb_csv *c = NULL;
	sb_status st = sb_csv_open_range(x->path, x->ncols, x->start, x->end, &c, d);
	if (st)
		return st;
	const int *col = x->col;
	for (;;) {
		sb_diag rd;
		sb_diag_clear(&rd);
		int r = sb_csv_next(c, &rd);
		if (r == 0)
			break;
		if (r == -2) {
			*d = rd;
			st = SB_EIO;
			goto out;
		}
		if (r < 0)
			continue; /* the batch rejects it */
		x->rows_read++;
		if (x->rows_read >= UINT32_MAX - 1) {
			st = sb_diag_set(d, SB_ELIMIT, x->path, (int)sb_csv_line(c), 0,
					 "an extract holds at most %u claims", UINT32_MAX - 2);
			goto out;
		}
		long line = sb_csv_line(c);
		sb_audit_row row;
		memset(&row, 0, sizeof row);
		row.flags = SB_AUDIT_ROW_USED;
		row.begin = INT32_MIN;
		sb_csv_field idf = sb_csv_get(c, (size_t)col[SB_CCOL_ID]);
		row.idhash = sb_audit_idhash(idf.p, idf.n);
		sb_csv_field pf = sb_csv_get(c, (size_t)col[SB_CCOL_PERSON]);
		sb_csv_field mf = { "", 0 }, xf = { "", 0 }, f;
		if (col[SB_CCOL_FACILITY] >= 0) {
			bool err = false;
			row.fac = facility(x, sb_csv_get(c, (size_t)col[SB_CCOL_FACILITY]), &err);
			if (err) {
				st = oom(d);
				goto out;
			}
		}
		if (col[SB_CCOL_MDTRT] >= 0 && (mf = sb_csv_get(c, (size_t)col[SB_CCOL_MDTRT])).n) {
			row.flags |= SB_AUDIT_ROW_MDTRT |
				     ((uint32_t)sb_audit_idhash(mf.p, mf.n) & SB_AUDIT_ROW_HASH);
		}
		if (col[SB_CCOL_DIAGNOSIS] >= 0)
			xf = sb_csv_get(c, (size_t)col[SB_CCOL_DIAGNOSIS]);
		if (col[SB_CCOL_BEGIN] >= 0 && (f = sb_csv_get(c, (size_t)col[SB_CCOL_BEGIN])).n) {
			const char *why = NULL;
			char shown[SB_IO_SHOWN];
			if (sb_date_parse(f.p, f.n, 1, &row.begin, &why)) {
				st = sb_diag_set(d, SB_EINPUT, x->path, (int)line, 0,
						 "begin \"%s\" is not a date (%s): write YYYY-MM-DD "
						 "or leave it empty",
						 sb_io_shown(f.p, f.n, shown),
						 why ? why : "not YYYY-MM-DD");
				goto out;
			}
			sb_csv_field df = sb_csv_get(c, (size_t)col[SB_CCOL_DATE]);
			sb_date date;
			if (!sb_date_parse(df.p, df.n, 1, &date, &why) && row.begin > date) {
				st = sb_diag_set(d, SB_EINPUT, x->path, (int)line, 0,
						 "begin \"%s\" is after the settlement date: an "
						 "admission comes before its settlement",
						 sb_io_shown(f.p, f.n, shown));
				goto out;
			}
		}
		sb_fen amounts[SB_AUDIT_NCOLS];
		uint64_t cols = 0, nonzero = 0;
		int na = 0;
		for (int k = 0; k < SB_AUDIT_NFUNDS && !st; k++)
			st = money_cell(c, col[SB_CCOL_HIFP + k], k, sb_audit_fund_column(k), &cols,
					&nonzero, amounts, &na, d);
		for (int k = 0; k < x->nactual && !st; k++)
			st = money_cell(c, x->actual_col[k], SB_AUDIT_NFUNDS + k, x->actual_name[k],
					&cols, &nonzero, amounts, &na, d);
		if (st)
			goto out;
		size_t head = 0;
		if (cols == x->allcols && na <= 1 &&
		    (!na || amounts[0] < ((sb_fen)1 << SB_AUDIT_CELL_BITS))) {
			if (na)
				row.cells = (uint32_t)(__builtin_ctzll(nonzero) + 1)
						    << SB_AUDIT_CELL_BITS |
					    (uint32_t)amounts[0];
		} else {
			row.flags |= SB_AUDIT_ROW_WIDE;
			head = (2 + (size_t)na) * sizeof(uint64_t);
		}
		char *p = cold(x, head + pf.n + 1 + mf.n + 1 + xf.n + 1);
		sb_audit_row *slot = p ? row_at(x, line) : NULL;
		if (!slot) {
			st = oom(d);
			goto out;
		}
		row.cold = p;
		if (head) {
			memcpy(p, &cols, sizeof cols);
			memcpy(p + sizeof cols, &nonzero, sizeof nonzero);
			memcpy(p + 2 * sizeof cols, amounts, (size_t)na * sizeof(sb_fen));
			p += head;
		}
		sb_id_mask(pf.p, pf.n, p);
		p += pf.n + 1;
		memcpy(p, mf.p, mf.n);
		p[mf.n] = '\0';
		p += mf.n + 1;
		memcpy(p, xf.p, xf.n);
		p[xf.n] = '\0';
		*slot = row;
		x->lastline = line;
	}
	/* a last line without a line feed is a line too */
	x->lines = sb_csv_lines(c) > x->lastline ? sb_csv_lines(c) : x->lastline;
out:
	sb_csv_free(c);
	return st;
}

static void *part_run(void *arg)
{
	part *x = arg;
	sb_diag_clear(&x->d);
	x->st = read_part(x, &x->d);
	return NULL;
}

/* Numbers the ranges' facilities across the extract, one copy each, in the
 * order first seen in the file. */
static sb_status join_facilities(sb_audit_extract *x, part *parts, int np, sb_diag *d)
{
	size_t total = 0;
	for (int k = 0; k < np; k++)
		total += parts[k].nfac;
	size_t cap = 16;
	while (cap < total * 2)
		cap *= 2;
	uint32_t *tab = sb_calloc(cap, sizeof *tab);
	uint64_t *hash = sb_malloc((total ? total : 1) * sizeof *hash);
	x->fac = sb_malloc((total ? total : 1) * sizeof *x->fac);
	if (!tab || !hash || !x->fac) {
		sb_free(tab);
		sb_free(hash);
		return oom(d);
	}
	sb_status st = SB_OK;
	for (int k = 0; k < np && !st; k++) {
		part *p = &parts[k];
		if (!(p->out->facmap = sb_malloc((p->nfac ? p->nfac : 1) * sizeof(uint32_t)))) {
			st = oom(d);
			break;
		}
		p->out->nfac = p->nfac;
		for (size_t i = 0; i < p->nfac; i++) {
			uint64_t h = p->fach[i];
			size_t s = fac_slot(h, cap - 1);
			for (; tab[s]; s = (s + 1) & (cap - 1))
				if (hash[tab[s] - 1] == h && !strcmp(x->fac[tab[s] - 1], p->fac[i]))
					break;
			if (!tab[s]) {
				hash[x->nfac] = h;
				x->fac[x->nfac++] = p->fac[i];
				tab[s] = (uint32_t)x->nfac;
			}
			p->out->facmap[i] = tab[s] - 1;
		}
	}
	sb_free(tab);
	sb_free(hash);
	return st;
}

sb_status sb_audit_extract_read(const char *path, int threads, sb_audit_extract *x, sb_diag *d)
{
	memset(x, 0, sizeof *x);
	sb_csv *c = NULL;
	part parts[SB_AUDIT_MAX_PARTS];
	memset(parts, 0, sizeof parts);
	int np = 0;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	int col[SB_CCOL_N];
	if ((st = sb_io_map(c, "claims.csv", sb_claims_columns, SB_CCOL_N, false, col, d)))
		goto out;
	int actual_col[SB_AUDIT_MAX_ACTUAL];
	char actual_name[SB_AUDIT_MAX_ACTUAL][56]; /* "actual_<id>" for messages */
	for (size_t i = 0; i < sb_csv_ncols(c); i++) {
		sb_csv_field h = sb_csv_header(c, i);
		while (h.n && (*h.p == ' ' || *h.p == '\t'))
			h.p++, h.n--;
		while (h.n && (h.p[h.n - 1] == ' ' || h.p[h.n - 1] == '\t'))
			h.n--;
		if (h.n <= 7 || strncasecmp(h.p, "actual_", 7))
			continue;
		if (x->nactual == SB_AUDIT_MAX_ACTUAL || h.n - 7 >= sizeof x->actual[0]) {
			st = sb_diag_set(
				d, SB_ESYNTAX, path, 1, 0,
				x->nactual == SB_AUDIT_MAX_ACTUAL ?
					"claims.csv has more than %d actual_<layer> columns" :
					"claims.csv column %d: a layer id is at most 46 characters",
				x->nactual == SB_AUDIT_MAX_ACTUAL ? SB_AUDIT_MAX_ACTUAL :
								    (int)i + 1);
			goto out;
		}
		for (int k = 0; k < x->nactual; k++)
			if (strlen(x->actual[k]) == h.n - 7 &&
			    !memcmp(x->actual[k], h.p + 7, h.n - 7)) {
				st = sb_diag_set(d, SB_ESYNTAX, path, 1, 0,
						 "claims.csv names the column actual_%s twice: "
						 "keep one",
						 x->actual[k]);
				goto out;
			}
		memcpy(x->actual[x->nactual], h.p + 7, h.n - 7);
		x->actual[x->nactual][h.n - 7] = '\0';
		snprintf(actual_name[x->nactual], sizeof actual_name[0], "actual_%s",
			 x->actual[x->nactual]);
		actual_col[x->nactual++] = (int)i;
	}
	for (int k = 0; k < SB_AUDIT_NFUNDS; k++)
		if ((x->has_fund[k] = col[SB_CCOL_HIFP + k] >= 0))
			x->allcols |= 1ULL << k;
	for (int k = 0; k < x->nactual; k++)
		x->allcols |= 1ULL << (SB_AUDIT_NFUNDS + k);

	/* The rows after the header, in up to SB_AUDIT_MAX_PARTS ranges cut at
	 * line starts, one thread each (the audit's own pass over the extract
	 * runs before the batch, so it would otherwise run alone). */
	int64_t body = sb_csv_offset(c), size = body;
	size_t ncols = sb_csv_ncols(c);
	if (threads < 1) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n < 1 ? 1 : (int)n;
	}
	/* small files (under 4 MiB) in one range: a thread costs more than it
	 * saves; one range too when the splitter's header is not the reader's */
	int want = threads > SB_AUDIT_MAX_PARTS ? SB_AUDIT_MAX_PARTS : threads;
	int64_t bounds[SB_RANGES_MAX + 1];
	if ((st = sb_io_ranges(path, want, ((int64_t)4 << 20) / want, bounds, &np, &size, d))) {
		np = 0;
		goto out;
	}
	if (bounds[0] != body) {
		np = 1;
		bounds[0] = body;
		bounds[1] = size;
	}
	for (int k = 0; k < np; k++)
		parts[k] = (part){ .path = path,
				   .ncols = ncols,
				   .start = bounds[k],
				   .end = bounds[k + 1],
				   .col = col,
				   .actual_col = actual_col,
				   .nactual = x->nactual,
				   .allcols = x->allcols,
				   .actual_name = (const char(*)[56])actual_name,
				   .out = &x->part[k] };
	x->nparts = np;
	pthread_t tid[SB_AUDIT_MAX_PARTS];
	bool started[SB_AUDIT_MAX_PARTS] = { false };
	for (int k = 1; k < np; k++)
		started[k] = !pthread_create(&tid[k], NULL, part_run, &parts[k]);
	part_run(&parts[0]);
	for (int k = 1; k < np; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		else
			part_run(&parts[k]);
	}
	/* Join in file order; lines become the file's (the header is line 1). */
	uint64_t base = 1;
	for (int k = 0; k < np; k++) {
		if (parts[k].st) {
			*d = parts[k].d;
			if (d->line > 0)
				d->line += (int)base;
			st = parts[k].st;
			goto out;
		}
		x->part[k].base = base;
		x->part[k].lines = (uint64_t)parts[k].lines;
		base += (uint64_t)parts[k].lines;
		x->rows_read += parts[k].rows_read;
	}
	if (x->rows_read >= UINT32_MAX - 1) {
		st = sb_diag_set(d, SB_ELIMIT, path, 0, 0, "an extract holds at most %u claims",
				 UINT32_MAX - 2);
		goto out;
	}
	if ((st = join_facilities(x, parts, np, d)))
		goto out;
	if (!(x->fallback = sb_calloc(1, sizeof *x->fallback))) {
		st = oom(d);
		goto out;
	}
	pthread_mutex_init(&x->fallback->lock, NULL);
out:
	for (int k = 0; k < np; k++) {
		sb_free(parts[k].fac);
		sb_free(parts[k].facn);
		sb_free(parts[k].fach);
	}
	sb_csv_free(c);
	return st;
}

/* ---- finding a claim's row ---------------------------------------------- */

static uint32_t row_fac(const sb_audit_part *p, const sb_audit_row *r)
{
	return r->fac ? p->facmap[r->fac - 1] + 1 : 0;
}

static int cmp_fb(const void *a, const void *b)
{
	const fb_entry *x = a, *y = b;
	if (x->idhash != y->idhash)
		return x->idhash < y->idhash ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static sb_status fallback_build(sb_audit_fallback *f, const sb_audit_extract *x)
{
	size_t n = 0;
	for (int k = 0; k < x->nparts; k++)
		for (size_t b = 0; b < x->part[k].nblk; b++)
			for (size_t i = 0; x->part[k].blk[b] && i < BLOCK_ROWS; i++)
				n += (x->part[k].blk[b][i].flags & SB_AUDIT_ROW_USED) != 0;
	if (!(f->v = sb_malloc((n ? n : 1) * sizeof *f->v)))
		return SB_ENOMEM;
	for (int k = 0; k < x->nparts; k++) {
		const sb_audit_part *p = &x->part[k];
		for (size_t b = 0; b < p->nblk; b++)
			for (size_t i = 0; p->blk[b] && i < BLOCK_ROWS; i++) {
				const sb_audit_row *r = &p->blk[b][i];
				if (!(r->flags & SB_AUDIT_ROW_USED))
					continue;
				f->v[f->n++] =
					(fb_entry){ r->idhash,
						    p->base + 1 + (b << SB_AUDIT_BLOCK_SHIFT) + i,
						    r, row_fac(p, r) };
			}
	}
	if (f->n)
		qsort(f->v, f->n, sizeof *f->v, cmp_fb);
	return SB_OK;
}

static const sb_audit_part *part_of(const sb_audit_extract *x, uint64_t line)
{
	for (int k = 0; k < x->nparts; k++)
		if (line > x->part[k].base && line <= x->part[k].base + x->part[k].lines)
			return &x->part[k];
	return NULL;
}

const sb_audit_row *sb_audit_extract_slot(const sb_audit_extract *x, uint64_t line)
{
	const sb_audit_part *p = part_of(x, line);
	if (!p)
		return NULL;
	size_t i = (size_t)(line - p->base - 1), b = i >> SB_AUDIT_BLOCK_SHIFT;
	return b < p->nblk && p->blk[b] ? &p->blk[b][i & (BLOCK_ROWS - 1)] : NULL;
}

sb_status sb_audit_extract_find(const sb_audit_extract *x, const char *id, size_t n, uint64_t line,
				sb_audit_ref *out, sb_diag *d)
{
	uint64_t h = sb_audit_idhash(id, n);
	out->row = NULL;
	out->fac = 0;
	/* The row at the batch's line is the claim itself when its id
	 * matches: no search. */
	const sb_audit_part *p = part_of(x, line);
	if (p) {
		size_t i = (size_t)(line - p->base - 1), b = i >> SB_AUDIT_BLOCK_SHIFT;
		const sb_audit_row *r =
			b < p->nblk && p->blk[b] ? &p->blk[b][i & (BLOCK_ROWS - 1)] : NULL;
		if (r && (r->flags & SB_AUDIT_ROW_USED) && r->idhash == h) {
			out->row = r;
			out->fac = row_fac(p, r);
			return SB_OK;
		}
	}
	sb_audit_fallback *f = x->fallback;
	if (!f)
		return SB_OK; /* no rows */
	if (!atomic_load_explicit(&f->built, memory_order_acquire)) {
		pthread_mutex_lock(&f->lock);
		sb_status st = SB_OK;
		if (!atomic_load_explicit(&f->built, memory_order_relaxed)) {
			st = fallback_build(f, x);
			if (!st)
				atomic_store_explicit(&f->built, true, memory_order_release);
		}
		pthread_mutex_unlock(&f->lock);
		if (st)
			return oom(d);
	}
	/* The first entry of the id at or after line, and the one before. */
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->v[mid].idhash < h || (f->v[mid].idhash == h && f->v[mid].line < line))
			lo = mid + 1;
		else
			hi = mid;
	}
	const fb_entry *best = NULL;
	if (lo > 0 && f->v[lo - 1].idhash == h)
		best = &f->v[lo - 1];
	if (lo < f->n && f->v[lo].idhash == h &&
	    (!best || f->v[lo].line - line < line - best->line))
		best = &f->v[lo];
	if (best) {
		out->row = best->row;
		out->fac = best->fac;
	}
	return SB_OK;
}

void sb_audit_extract_release(sb_audit_extract *x)
{
	if (x->fallback) {
		pthread_mutex_destroy(&x->fallback->lock);
		sb_free(x->fallback->v);
		sb_free(x->fallback);
	}
	for (int k = 0; k < x->nparts; k++) {
		sb_audit_part *p = &x->part[k];
		for (size_t b = 0; b < p->nblk; b++)
			sb_huge_free(p->blk[b], BLOCK_BYTES);
		sb_free(p->blk);
		for (size_t i = 0; i < p->nchunk; i++)
			sb_huge_free(p->chunk[i], p->chunksize[i]);
		sb_free(p->chunk);
		sb_free(p->chunksize);
		sb_free(p->facmap);
		sb_arena_release(&p->facs);
	}
	sb_free(x->fac);
	memset(x, 0, sizeof *x);
}
