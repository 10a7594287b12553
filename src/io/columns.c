/* columns.c: the column names of every input file, the header mapping
 * that refuses a column named twice, and the text of cells in reasons. */
#include <stdio.h>
#include <string.h>

#include "sanbao/io.h"

const sb_colspec sb_persons_columns[SB_PCOL_N] = {
	[SB_PCOL_ID] = { "id", { "certno", "psn_no", NULL }, true },
	[SB_PCOL_SCHEME] = { "scheme", { "insutype", NULL }, true },
	[SB_PCOL_REGION] = { "region", { "insuplc_admdvs", NULL }, true },
	[SB_PCOL_HOUSEHOLD] = { "household", { NULL }, false },
	[SB_PCOL_EMPLOYMENT] = { "employment", { NULL }, false },
	[SB_PCOL_TIER] = { "tier", { NULL }, false },
	[SB_PCOL_INCOME] = { "income", { NULL }, false },
	[SB_PCOL_CONTINUOUS] = { "continuous_years", { NULL }, false },
	[SB_PCOL_CLAIMLESS] = { "claimless_years", { NULL }, false },
	[SB_PCOL_ENROLLED_FROM] = { "enrolled_from", { NULL }, false },
	[SB_PCOL_UNCOVERED] = { "uncovered_years", { NULL }, false },
	/* The funding facts (sanbao fund). clct_base follows the platform's
	 * naming (clct = 征收); its person extract (1101) has no such field. */
	[SB_PCOL_WAGE_BASE] = { "wage_base", { "clct_base", NULL }, false },
	[SB_PCOL_RESIDENCE] = { "residence", { NULL }, false },
};

const sb_colspec sb_identities_columns[SB_ICOL_N] = {
	[SB_ICOL_PERSON] = { "person", { "certno", "psn_no", NULL }, true },
	[SB_ICOL_IDENTITY] = { "identity", { "psn_idet_type", NULL }, true },
	[SB_ICOL_FROM] = { "from", { "begntime", NULL }, true },
	[SB_ICOL_TO] = { "to", { "endtime", NULL }, false },
	/* Not in data-format.md: a roster that carries its 行政区划 gets its
	 * findings counted by region. */
	[SB_ICOL_REGION] = { "region", { "admdvs", NULL }, false },
};

const sb_colspec sb_balances_columns[SB_BCOL_N] = {
	[SB_BCOL_REGION] = { "region", { "admdvs", NULL }, true },
	[SB_BCOL_SCHEME] = { "scheme", { NULL }, true },
	[SB_BCOL_BALANCE] = { "balance", { NULL }, true },
};

const sb_colspec sb_adjustment_columns[SB_ACOL_N] = {
	[SB_ACOL_REGION] = { "region", { "admdvs", NULL }, true },
	[SB_ACOL_SCHEME] = { "scheme", { NULL }, true },
	[SB_ACOL_YEAR] = { "year", { NULL }, true },
	[SB_ACOL_SCORE] = { "score", { NULL }, false },
	[SB_ACOL_DEDUCTION] = { "deduction", { NULL }, false },
	[SB_ACOL_ADVANCE] = { "advance", { NULL }, false },
};

const sb_colspec sb_warnings_columns[SB_WCOL_N] = {
	[SB_WCOL_REGION] = { "region", { NULL }, true },
	[SB_WCOL_YEAR] = { "policy_year", { NULL }, true },
};

const sb_colspec sb_claims_columns[SB_CCOL_N] = {
	[SB_CCOL_ID] = { "id", { "setl_id", NULL }, true },
	[SB_CCOL_PERSON] = { "person", { "certno", "psn_no", NULL }, true },
	[SB_CCOL_DATE] = { "date", { "setl_time", NULL }, true },
	[SB_CCOL_VISIT] = { "visit", { "med_type", NULL }, true },
	[SB_CCOL_LEVEL] = { "level", { NULL }, false },
	[SB_CCOL_PLACE] = { "place", { NULL }, false },
	[SB_CCOL_CARE] = { "care_region", { "mdtrtarea_admvs", NULL }, false },
	[SB_CCOL_FILING] = { "filing", { NULL }, false },
	[SB_CCOL_TOTAL] = { "total", { "medfee_sumamt", NULL }, true },
	[SB_CCOL_IN_SCOPE] = { "in_scope", { "inscp_scp_amt", NULL }, true },
	[SB_CCOL_PRE] = { "pre_selfpay", { "preselfpay_amt", NULL }, false },
	[SB_CCOL_OVER] = { "over_limit", { "overlmt_selfpay", NULL }, false },
	[SB_CCOL_OUT] = { "out_of_scope", { "fulamt_ownpay_amt", NULL }, false },
	[SB_CCOL_FACILITY] = { "facility", { "fixmedins_code", NULL }, false },
	[SB_CCOL_DIAGNOSIS] = { "diagnosis", { NULL }, false },
	[SB_CCOL_BEGIN] = { "begin", { "begntime", NULL }, false },
	[SB_CCOL_MDTRT] = { "mdtrt_id", { NULL }, false },
	[SB_CCOL_HIFP] = { "hifp_pay", { NULL }, false },
	[SB_CCOL_HIFMI] = { "hifmi_pay", { NULL }, false },
	[SB_CCOL_HIFOB] = { "hifob_pay", { NULL }, false },
	[SB_CCOL_MAF] = { "maf_pay", { NULL }, false },
	[SB_CCOL_OTH] = { "oth_pay", { NULL }, false },
};

const sb_colspec sb_settlements_columns[SB_SCOL_N] = {
	[SB_SCOL_ID] = { "id", { "setl_id", NULL }, true },
	[SB_SCOL_PERSON] = { "person", { "certno", "psn_no", NULL }, true },
	[SB_SCOL_REGION] = { "region", { "insuplc_admdvs", NULL }, false },
	[SB_SCOL_DATE] = { "date", { "setl_time", NULL }, true },
	[SB_SCOL_VISIT] = { "visit", { "med_type", NULL }, true },
	[SB_SCOL_LEVEL] = { "level", { NULL }, false },
	[SB_SCOL_PLACE] = { "place", { NULL }, false },
	[SB_SCOL_CARE] = { "care_region", { NULL }, false },
	[SB_SCOL_FILING] = { "filing", { NULL }, false },
	[SB_SCOL_IDENTITY] = { "identity", { NULL }, false },
	[SB_SCOL_VERSION] = { "version", { NULL }, false },
	[SB_SCOL_TOTAL] = { "total", { NULL }, false },
	[SB_SCOL_IN_SCOPE] = { "in_scope", { NULL }, false },
	[SB_SCOL_FUND] = { "fund", { NULL }, false },
	[SB_SCOL_OOP] = { "oop", { NULL }, true },
	[SB_SCOL_OOP_IN_SCOPE] = { "oop_in_scope", { NULL }, true },
};

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static bool same(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (k != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)name[i]))
			return false;
	return true;
}

static bool names(const sb_colspec *s, const char *p, size_t n)
{
	if (same(p, n, s->name))
		return true;
	for (int i = 0; i < 4 && s->aliases[i]; i++)
		if (same(p, n, s->aliases[i]))
			return true;
	return false;
}

sb_status sb_io_missing(const sb_csv *c, const char *what, const sb_colspec *s, sb_diag *d)
{
	char alias[160] = "";
	size_t used = 0;
	for (int i = 0; i < 4 && s->aliases[i]; i++) {
		int k = snprintf(alias + used, sizeof alias - used, "%s%s", i ? ", " : " (or ",
				 s->aliases[i]);
		if (k < 0 || (size_t)k >= sizeof alias - used)
			break;
		used += (size_t)k;
	}
	if (used && used + 1 < sizeof alias)
		memcpy(alias + used, ")", 2);
	return sb_diag_set(d, SB_ESYNTAX, sb_csv_name(c), 1, 0, "%s has no column %s%s", what,
			   s->name, alias);
}

sb_status sb_io_map(const sb_csv *c, const char *what, const sb_colspec *spec, size_t n,
		    bool required, int *col, sb_diag *d)
{
	for (size_t k = 0; k < n; k++)
		col[k] = -1;
	size_t ncols = sb_csv_ncols(c);
	for (size_t i = 0; i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);
		const char *p = h.p;
		size_t hn = h.n;
		trim(&p, &hn);
		for (size_t k = 0; k < n; k++) {
			if (!names(&spec[k], p, hn))
				continue;
			if (col[k] >= 0) {
				sb_csv_field f = sb_csv_header(c, (size_t)col[k]);
				return sb_diag_set(
					d, SB_ESYNTAX, sb_csv_name(c), 1, 0,
					"%s names the column %s twice: field %d \"%.*s\" and "
					"field %zu \"%.*s\": keep one",
					what, spec[k].name, col[k] + 1, (int)(f.n < 40 ? f.n : 40),
					f.p, i + 1, (int)(h.n < 40 ? h.n : 40), h.p);
			}
			col[k] = (int)i;
			break;
		}
	}
	for (size_t k = 0; required && k < n; k++)
		if (spec[k].required && col[k] < 0)
			return sb_io_missing(c, what, &spec[k], d);
	return SB_OK;
}

sb_status sb_io_open_mapped(const char *path, const char *what, const sb_colspec *spec, size_t n,
			    bool required, int *col, sb_csv **out, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	if ((st = sb_io_map(c, what, spec, n, required, col, d))) {
		sb_csv_free(c);
		return st;
	}
	*out = c;
	return SB_OK;
}

int sb_io_person_column(sb_csv_field h)
{
	const char *p = h.p;
	size_t n = h.n;
	trim(&p, &n);
	if (names(&sb_identities_columns[SB_ICOL_PERSON], p, n) ||
	    names(&sb_claims_columns[SB_CCOL_PERSON], p, n) ||
	    names(&sb_settlements_columns[SB_SCOL_PERSON], p, n) ||
	    (names(&sb_persons_columns[SB_PCOL_ID], p, n) &&
	     !same(p, n, sb_persons_columns[SB_PCOL_ID].name)))
		return SB_IO_PERSON;
	return same(p, n, sb_persons_columns[SB_PCOL_ID].name) ? SB_IO_MAYBE_PERSON : 0;
}

void sb_io_mask_ids(char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] >= '0' && p[j] <= '9')
			j++;
		if (j < n && j > i && (p[j] == 'X' || p[j] == 'x'))
			j++;
		if (j - i >= 15)
			for (size_t m = i + 6; m + 4 < j; m++)
				p[m] = '*';
		i = j > i ? j : i + 1;
	}
}

const char *sb_io_shown(const char *p, size_t n, char out[SB_IO_SHOWN])
{
	size_t k = n < 40 ? n : 40;
	memcpy(out, p, k);
	out[k] = '\0';
	sb_io_mask_ids(out, k);
	return out;
}

sb_csv_field sb_io_record_id(const sb_csv *c, int col)
{
	sb_csv_field none = { "", 0 };
	if (col < 0)
		return none;
	if (sb_csv_nfields(c) > (size_t)col)
		return sb_csv_get(c, (size_t)col);
	sb_csv_field raw = sb_csv_raw(c);
	const char *p = raw.p, *end = raw.p + raw.n;
	for (int i = 0; i < col && p; i++) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		p = q ? q + 1 : NULL;
	}
	if (!p)
		return none;
	const char *q = memchr(p, ',', (size_t)(end - p));
	size_t n = (size_t)((q ? q : end) - p);
	/* Quotes before or inside it: the pieces cannot be trusted. */
	if (memchr(raw.p, '"', (size_t)(p - raw.p) + n))
		return none;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	return (sb_csv_field){ p, n > 64 ? 64 : n };
}
