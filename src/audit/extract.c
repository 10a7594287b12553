/* extract.c: the audit's columns of a claims extract: what each fund or
 * layer actually paid (hifp_pay ..., actual_<layer>), the admission date,
 * the visit id, the facility and the diagnosis, kept by claims.csv line so
 * that the audit sink finds them beside the claim the batch settled. The
 * column names are sanbao/io.h's one table; actual_<layer> is a family by
 * prefix, like settle's paid_<layer> (which means something else: paid
 * elsewhere, given to settlement). */
#include <string.h>
#include <strings.h>

#include "audit/audit_int.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static const char *text(sb_audit_extract *x, sb_csv_field f)
{
	if (!f.n)
		return "";
	return sb_arena_strndup(&x->arena, f.p, f.n);
}

static sb_status bad(const sb_csv *c, const char *col, sb_csv_field f, const char *why, sb_diag *d)
{
	char shown[SB_IO_SHOWN];
	return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			   "%s \"%s\" %s: write yuan with at most 2 decimals, 0 or more, or "
			   "leave it empty",
			   col, sb_io_shown(f.p, f.n, shown), why);
}

static sb_status add_cell(sb_audit_extract *x, uint8_t col, sb_fen fen, sb_diag *d)
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

static sb_status money_cell(sb_audit_extract *x, const sb_csv *c, int idx, uint8_t col,
			    const char *name, sb_diag *d)
{
	if (idx < 0)
		return SB_OK;
	sb_csv_field f = sb_csv_get(c, (size_t)idx);
	if (!f.n)
		return SB_OK;
	sb_fen fen;
	const char *why = NULL;
	if (sb_money_parse(f.p, f.n, &fen, &why))
		return bad(c, name, f, why ? why : "is not an amount", d);
	if (fen < 0)
		return bad(c, name, f, "is negative", d);
	return add_cell(x, col, fen, d);
}

sb_status sb_audit_extract_read(const char *path, sb_audit_extract *x, sb_diag *d)
{
	memset(x, 0, sizeof *x);
	sb_arena_init(&x->arena);
	sb_csv *c = NULL;
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
			st = sb_diag_set(d, SB_ELIMIT, path, (int)sb_csv_line(c), 0,
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
		char *mask = sb_arena_alloc(&x->arena, f.n + 1);
		if (!mask) {
			st = oom(d);
			goto out;
		}
		sb_id_mask(f.p, f.n, mask);
		row->person = mask;
		row->facility = col[SB_CCOL_FACILITY] < 0 ?
					"" :
					text(x, sb_csv_get(c, (size_t)col[SB_CCOL_FACILITY]));
		row->mdtrt = col[SB_CCOL_MDTRT] < 0 ?
				     "" :
				     text(x, sb_csv_get(c, (size_t)col[SB_CCOL_MDTRT]));
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
				st = sb_diag_set(d, SB_EINPUT, path, (int)row->line, 0,
						 "begin \"%s\" is not a date (%s): write YYYY-MM-DD "
						 "or leave it empty",
						 sb_io_shown(f.p, f.n, shown),
						 why ? why : "not YYYY-MM-DD");
				goto out;
			}
			sb_csv_field df = sb_csv_get(c, (size_t)col[SB_CCOL_DATE]);
			sb_date date;
			if (!sb_date_parse(df.p, df.n, 1, &date, &why) && row->begin > date) {
				st = sb_diag_set(d, SB_EINPUT, path, (int)row->line, 0,
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
			st = money_cell(x, c, actual_col[k], (uint8_t)(SB_AUDIT_NFUNDS + k),
					actual_name[k], d);
		if (st)
			goto out;
		row->ncells = (uint8_t)(x->ncells - row->first);
		x->nrows++;
	}
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
	sb_csv_free(c);
	return st;
}

void sb_audit_extract_release(sb_audit_extract *x)
{
	sb_free(x->table);
	sb_free(x->rows);
	sb_free(x->cells);
	sb_arena_release(&x->arena);
	memset(x, 0, sizeof *x);
}

const sb_audit_row *sb_audit_extract_find(const sb_audit_extract *x, const char *id, size_t n,
					  uint64_t line)
{
	if (!x->table)
		return NULL;
	uint64_t h = sb_audit_idhash(id, n);
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
