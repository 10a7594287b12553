/* extract.c: the audit's columns of a claims extract: what each fund or
 * layer actually paid (hifp_pay ..., actual_<layer>), the admission date,
 * the visit id, the facility and the diagnosis, kept by claims.csv line so
 * that the audit sink finds them beside the claim the batch settled. The
 * column names are sanbao/io.h's one table; actual_<layer> is a family by
 * prefix, like settle's paid_<layer> (which means something else: paid
 * elsewhere, given to settlement). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "io/ranges.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

/* One byte range of the extract, read by one thread into its own rows,
 * cells and arena; the ranges are joined in file order. */
typedef struct part {
	/* what to read */
	const char *path;
	size_t ncols;
	int64_t start, end;
	const int *col, *actual_col;
	int nactual;
	const char (*actual_name)[56];
	/* what was read; lines are counted from 1 at start */
	sb_arena *arena;
	sb_audit_row *rows;
	size_t nrows, cap;
	sb_audit_cell *cells;
	size_t ncells, cellcap;
	long long rows_read;
	long lines;
	sb_status st;
	sb_diag d;
	/* facilities, one copy each (a few thousand in a province), so that
	 * the rules compare them by pointer first */
	const char **fac;
	uint64_t *fach;
	size_t nfac, facmask;
} part;

static const char *text(part *x, sb_csv_field f)
{
	if (!f.n)
		return "";
	return sb_arena_strndup(x->arena, f.p, f.n);
}

static sb_status bad(const sb_csv *c, const char *col, sb_csv_field f, const char *why, sb_diag *d)
{
	char shown[SB_IO_SHOWN];
	return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			   "%s \"%s\" %s: write yuan with at most 2 decimals, 0 or more, or "
			   "leave it empty",
			   col, sb_io_shown(f.p, f.n, shown), why);
}

/* The one copy of a facility code in x (NULL: out of memory). */
static const char *facility(part *x, sb_csv_field f)
{
	if (!f.n)
		return "";
	uint64_t h = sb_audit_idhash(f.p, f.n);
	if (x->fac) {
		for (size_t i = (size_t)(h ^ h >> 29) & x->facmask; x->fac[i];
		     i = (i + 1) & x->facmask)
			if (x->fach[i] == h && !strncmp(x->fac[i], f.p, f.n) && !x->fac[i][f.n])
				return x->fac[i];
	}
	if ((x->nfac + 1) * 2 > x->facmask) {
		size_t cap = x->facmask ? (x->facmask + 1) * 2 : 1024;
		const char **nf = sb_calloc(cap, sizeof *nf);
		uint64_t *nh = sb_calloc(cap, sizeof *nh);
		if (!nf || !nh) {
			sb_free(nf);
			sb_free(nh);
			return NULL;
		}
		for (size_t i = 0; x->fac && i <= x->facmask; i++) {
			if (!x->fac[i])
				continue;
			size_t j = (size_t)(x->fach[i] ^ x->fach[i] >> 29) & (cap - 1);
			while (nf[j])
				j = (j + 1) & (cap - 1);
			nf[j] = x->fac[i];
			nh[j] = x->fach[i];
		}
		sb_free(x->fac);
		sb_free(x->fach);
		x->fac = nf;
		x->fach = nh;
		x->facmask = cap - 1;
	}
	const char *copy = sb_arena_strndup(x->arena, f.p, f.n);
	if (!copy)
		return NULL;
	size_t i = (size_t)(h ^ h >> 29) & x->facmask;
	while (x->fac[i])
		i = (i + 1) & x->facmask;
	x->fac[i] = copy;
	x->fach[i] = h;
	x->nfac++;
	return copy;
}

static sb_status add_cell(part *x, uint8_t col, sb_fen fen, sb_diag *d)
{
	if (x->ncells == x->cellcap) {
		size_t nc = x->cellcap ? x->cellcap * 2 : 1024;
		sb_audit_cell *v = sb_realloc(x->cells, nc * sizeof *v);
		if (!v)
			return oom(d);
		x->cells = v;
		x->cellcap = nc;
	}
	x->cells[x->ncells++] = (sb_audit_cell){ col, fen };
	return SB_OK;
}

static sb_status money_cell(part *x, const sb_csv *c, int idx, uint8_t col, const char *name,
			    sb_diag *d)
{
	if (idx < 0)
		return SB_OK;
	sb_csv_field f = sb_csv_get(c, (size_t)idx);
	if (!f.n)
		return SB_OK;
	sb_fen fen;
	const char *why = NULL;
	if (f.n == 4 && !memcmp(f.p, "0.00", 4)) /* most cells of an extract */
		return add_cell(x, col, 0, d);
	if (sb_money_parse(f.p, f.n, &fen, &why))
		return bad(c, name, f, why ? why : "is not an amount", d);
	if (fen < 0)
		return bad(c, name, f, "is negative", d);
	return add_cell(x, col, fen, d);
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
		if (x->nrows == UINT32_MAX - 1) {
			st = sb_diag_set(d, SB_ELIMIT, x->path, (int)sb_csv_line(c), 0,
					 "an extract holds at most %u claims", UINT32_MAX - 2);
			goto out;
		}
		if (x->nrows == x->cap) {
			size_t nc = x->cap ? x->cap * 2 : 1024;
			sb_audit_row *v = sb_realloc(x->rows, nc * sizeof *v);
			if (!v) {
				st = oom(d);
				goto out;
			}
			x->rows = v;
			x->cap = nc;
		}
		sb_audit_row *row = &x->rows[x->nrows];
		memset(row, 0, sizeof *row);
		row->line = (uint64_t)sb_csv_line(c);
		row->begin = INT32_MIN;
		sb_csv_field idf = sb_csv_get(c, (size_t)col[SB_CCOL_ID]);
		row->idhash = sb_audit_idhash(idf.p, idf.n);
		sb_csv_field f = sb_csv_get(c, (size_t)col[SB_CCOL_PERSON]);
		char *mask = sb_arena_alloc(x->arena, f.n + 1);
		if (!mask) {
			st = oom(d);
			goto out;
		}
		sb_id_mask(f.p, f.n, mask);
		row->person = mask;
		row->facility = col[SB_CCOL_FACILITY] < 0 ?
					"" :
					facility(x, sb_csv_get(c, (size_t)col[SB_CCOL_FACILITY]));
		row->mdtrt = col[SB_CCOL_MDTRT] < 0 ?
				     "" :
				     text(x, sb_csv_get(c, (size_t)col[SB_CCOL_MDTRT]));
		if (row->facility && row->facility[0])
			row->fachash = sb_audit_idhash(row->facility, strlen(row->facility));
		if (row->mdtrt && row->mdtrt[0])
			row->mdtrthash = sb_audit_idhash(row->mdtrt, strlen(row->mdtrt));
		row->diagnosis = col[SB_CCOL_DIAGNOSIS] < 0 ?
					 "" :
					 text(x, sb_csv_get(c, (size_t)col[SB_CCOL_DIAGNOSIS]));
		if (!row->facility || !row->mdtrt || !row->diagnosis) {
			st = oom(d);
			goto out;
		}
		if (col[SB_CCOL_BEGIN] >= 0 && (f = sb_csv_get(c, (size_t)col[SB_CCOL_BEGIN])).n) {
			const char *why = NULL;
			char shown[SB_IO_SHOWN];
			if (sb_date_parse(f.p, f.n, 1, &row->begin, &why)) {
				st = sb_diag_set(d, SB_EINPUT, x->path, (int)row->line, 0,
						 "begin \"%s\" is not a date (%s): write YYYY-MM-DD "
						 "or leave it empty",
						 sb_io_shown(f.p, f.n, shown),
						 why ? why : "not YYYY-MM-DD");
				goto out;
			}
			sb_csv_field df = sb_csv_get(c, (size_t)col[SB_CCOL_DATE]);
			sb_date date;
			if (!sb_date_parse(df.p, df.n, 1, &date, &why) && row->begin > date) {
				st = sb_diag_set(d, SB_EINPUT, x->path, (int)row->line, 0,
						 "begin \"%s\" is after the settlement date: an "
						 "admission comes before its settlement",
						 sb_io_shown(f.p, f.n, shown));
				goto out;
			}
		}
		row->first = (uint32_t)x->ncells;
		for (int k = 0; k < SB_AUDIT_NFUNDS && !st; k++)
			st = money_cell(x, c, col[SB_CCOL_HIFP + k], (uint8_t)k,
					sb_audit_fund_column(k), d);
		for (int k = 0; k < x->nactual && !st; k++)
			st = money_cell(x, c, x->actual_col[k], (uint8_t)(SB_AUDIT_NFUNDS + k),
					x->actual_name[k], d);
		if (st)
			goto out;
		row->ncells = (uint8_t)(x->ncells - row->first);
		x->nrows++;
	}
	x->lines = sb_csv_lines(c);
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

sb_status sb_audit_extract_read(const char *path, int threads, sb_audit_extract *x, sb_diag *d)
{
	memset(x, 0, sizeof *x);
	sb_arena_init(&x->arena);
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
		x->has_fund[k] = col[SB_CCOL_HIFP + k] >= 0;

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
	for (int k = 0; k < np; k++) {
		parts[k] = (part){ .path = path,
				   .ncols = ncols,
				   .start = bounds[k],
				   .end = bounds[k + 1],
				   .col = col,
				   .actual_col = actual_col,
				   .nactual = x->nactual,
				   .actual_name = (const char(*)[56])actual_name,
				   .arena = &x->parts[k] };
		sb_arena_init(&x->parts[k]);
	}
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
	long base = 1;
	size_t nrows = 0, ncells = 0;
	for (int k = 0; k < np; k++) {
		if (parts[k].st) {
			*d = parts[k].d;
			if (d->line > 0)
				d->line += (int)base;
			st = parts[k].st;
			goto out;
		}
		for (size_t i = 0; i < parts[k].nrows; i++)
			parts[k].rows[i].line += (uint64_t)base;
		base += parts[k].lines;
		nrows += parts[k].nrows;
		ncells += parts[k].ncells;
		x->rows_read += parts[k].rows_read;
	}
	if (nrows >= UINT32_MAX - 1) {
		st = sb_diag_set(d, SB_ELIMIT, path, 0, 0, "an extract holds at most %u claims",
				 UINT32_MAX - 2);
		goto out;
	}
	x->rows = sb_malloc((nrows ? nrows : 1) * sizeof *x->rows);
	x->cells = sb_malloc((ncells ? ncells : 1) * sizeof *x->cells);
	if (!x->rows || !x->cells) {
		st = oom(d);
		goto out;
	}
	for (int k = 0; k < np; k++) {
		for (size_t i = 0; i < parts[k].nrows; i++) {
			x->rows[x->nrows] = parts[k].rows[i];
			x->rows[x->nrows++].first += (uint32_t)x->ncells;
		}
		if (parts[k].ncells)
			memcpy(x->cells + x->ncells, parts[k].cells,
			       parts[k].ncells * sizeof *x->cells);
		x->ncells += parts[k].ncells;
	}
	x->cap = x->nrows;
	x->cellcap = x->ncells;
	size_t cap = 16;
	while (cap < x->nrows * 2)
		cap *= 2;
	if (!(x->table = sb_calloc(cap, sizeof *x->table))) {
		st = oom(d);
		goto out;
	}
	x->mask = cap - 1;
	for (size_t i = 0; i < x->nrows; i++) {
		uint64_t h = x->rows[i].idhash;
		size_t slot = (size_t)(h ^ h >> 29) & x->mask;
		while (x->table[slot])
			slot = (slot + 1) & x->mask;
		x->table[slot] = (uint32_t)i + 1;
	}
out:
	for (int k = 0; k < np; k++) {
		sb_free(parts[k].rows);
		sb_free(parts[k].cells);
		sb_free(parts[k].fac);
		sb_free(parts[k].fach);
	}
	sb_csv_free(c);
	return st;
}

void sb_audit_extract_release(sb_audit_extract *x)
{
	sb_free(x->table);
	sb_free(x->rows);
	sb_free(x->cells);
	for (int k = 0; k < x->nparts; k++)
		sb_arena_release(&x->parts[k]);
	sb_arena_release(&x->arena);
	memset(x, 0, sizeof *x);
}

const sb_audit_row *sb_audit_extract_find(const sb_audit_extract *x, const char *id, size_t n,
					  uint64_t line)
{
	if (!x->table)
		return NULL;
	uint64_t h = sb_audit_idhash(id, n);
	/* Rows are in file order: the row at the batch's line, found by its
	 * place (rows before it are at most one per line), is the claim itself
	 * when its id matches, with no hash probe (each a cache miss). */
	if (line >= 2 && x->nrows) {
		size_t lo = 0, hi = x->nrows;
		size_t k = line - 2 < x->nrows ? (size_t)(line - 2) : x->nrows - 1;
		if (x->rows[k].line != line) {
			while (lo < hi) { /* the first row at or after line */
				size_t mid = lo + (hi - lo) / 2;
				if (x->rows[mid].line < line)
					lo = mid + 1;
				else
					hi = mid;
			}
			k = lo;
		}
		if (k < x->nrows && x->rows[k].line == line && x->rows[k].idhash == h)
			return &x->rows[k];
	}
	const sb_audit_row *best = NULL;
	uint64_t bestd = UINT64_MAX;
	for (size_t slot = (size_t)(h ^ h >> 29) & x->mask; x->table[slot];
	     slot = (slot + 1) & x->mask) {
		const sb_audit_row *r = &x->rows[x->table[slot] - 1];
		if (r->idhash != h)
			continue;
		uint64_t dist = r->line > line ? r->line - line : line - r->line;
		if (dist < bestd) {
			best = r;
			bestd = dist;
		}
	}
	return best;
}
