/* balances.c: balances.csv, the opening cumulative balances of the funds
 * (sanbao/fund.h), read for `sanbao fund` (read.c) and `sanbao project`
 * (src/project/project.c): region, scheme (employee, resident, assistance,
 * or adjustment on the province's row) and balance, one row per fund. */
#include <string.h>

#include "policy/policy_int.h"
#include "sanbao/csv.h"
#include "sanbao/fund.h"
#include "sanbao/io.h"

static sb_csv_field cell(const sb_csv *c, int col)
{
	sb_csv_field f = { "", 0 };
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

sb_status sb_fund_read_balances_file(const char *path,
				     bool (*known)(void *ctx, const char *code, bool adjustment),
				     void *ctx, sb_fund_balance **rows, size_t *n, sb_diag *d)
{
	*rows = NULL;
	*n = 0;
	sb_csv *c;
	int col[SB_BCOL_N];
	sb_status st = sb_io_open_mapped(path, "balances.csv", sb_balances_columns, SB_BCOL_N, true,
					 col, &c, d);
	if (st)
		return st;
	int cr = col[SB_BCOL_REGION], cs = col[SB_BCOL_SCHEME], cb = col[SB_BCOL_BALANCE];
	size_t cap = 0;
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
		sb_fen v;
		const char *why;
		if (!code[0] || !known(ctx, code, adj)) {
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
		int scheme = adj ? SB_FUND_ADJUSTMENT : sch;
		bool again = false;
		for (size_t i = 0; i < *n && !again; i++)
			again = (*rows)[i].scheme == scheme && !strcmp((*rows)[i].region, code);
		if (again) {
			st = sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
					 "a second opening balance for %s %.*s: give one row each",
					 code, (int)fs.n, fs.p);
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			sb_fund_balance *x = sb_realloc(*rows, cap * sizeof *x);
			if (!x) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			*rows = x;
		}
		sb_fund_balance *b = &(*rows)[(*n)++];
		memcpy(b->region, code, sizeof b->region);
		b->scheme = scheme;
		b->balance = v;
		b->line = (int)sb_csv_line(c);
	}
	sb_csv_free(c);
	if (st) {
		sb_free(*rows);
		*rows = NULL;
		*n = 0;
	}
	return st;
}
