/* people.c: one reader and one validation of a persons.csv row and of an
 * identities.csv row, for every consumer (settle, monitor, roster). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"
#include "sanbao/io.h"
#include "sanbao/settle.h"

static sb_csv_field cell(const sb_csv *c, int col)
{
	sb_csv_field f = {"", 0};
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

static bool six_digits(sb_csv_field f)
{
	bool ok = f.n == 6;
	for (size_t i = 0; ok && i < 6; i++)
		ok = f.p[i] >= '0' && f.p[i] <= '9';
	return ok;
}

const char *sb_person_row_read(const sb_csv *c, const int *col, sb_person_row *row, char *why,
			       size_t cap)
{
	char shown[SB_IO_SHOWN];
	const char *w;
	memset(row, 0, sizeof *row);
	row->employment = SB_EMP_UNKNOWN;
	sb_csv_field f = cell(c, col[SB_PCOL_ID]);
	if (sb_person_key(f.p, f.n, &row->key, &row->pseudo, &row->birth, &w)) {
		snprintf(why, cap, "resident ID %s", w);
		return why;
	}
	f = cell(c, col[SB_PCOL_SCHEME]);
	int s = sb_name_index(sb_scheme_names, f.p, f.n);
	if (s < 0 && f.n == 3 && !memcmp(f.p, "310", 3))
		s = SB_SCHEME_EMPLOYEE;
	if (s < 0 && f.n == 3 && !memcmp(f.p, "390", 3))
		s = SB_SCHEME_RESIDENT;
	if (s < 0) {
		snprintf(why, cap, "scheme \"%s\" is not employee, resident, 310 or 390",
			 sb_io_shown(f.p, f.n, shown));
		return why;
	}
	row->scheme = (uint8_t)s;
	f = cell(c, col[SB_PCOL_REGION]);
	if (!six_digits(f)) {
		snprintf(why, cap, "region \"%s\" is not a 6-digit region code",
			 sb_io_shown(f.p, f.n, shown));
		return why;
	}
	memcpy(row->region, f.p, 6);
	f = cell(c, col[SB_PCOL_EMPLOYMENT]);
	if (f.n) {
		int e = sb_name_index(sb_employment_names, f.p, f.n);
		if (e < 0) {
			snprintf(why, cap, "employment \"%s\" is not active or retired",
				 sb_io_shown(f.p, f.n, shown));
			return why;
		}
		row->employment = (uint8_t)e;
	}
	f = cell(c, col[SB_PCOL_INCOME]);
	if (f.n) {
		if (sb_money_parse(f.p, f.n, &row->income, &w) || row->income < 0) {
			snprintf(why, cap, "income \"%s\" is not an amount in yuan >= 0",
				 sb_io_shown(f.p, f.n, shown));
			return why;
		}
		row->has_income = true;
	}
	row->household = cell(c, col[SB_PCOL_HOUSEHOLD]);
	row->tier = cell(c, col[SB_PCOL_TIER]);
	/* Enrolment facts: whole years 0-99, a date. */
	static const struct { int col; const char *name; } years[] = {
		{SB_PCOL_CONTINUOUS, "continuous_years"}, {SB_PCOL_CLAIMLESS, "claimless_years"},
		{SB_PCOL_UNCOVERED, "uncovered_years"}};
	int16_t *yv[] = {&row->continuous_years, &row->claimless_years, &row->uncovered_years};
	for (size_t i = 0; i < 3; i++) {
		*yv[i] = -1;
		f = cell(c, col[years[i].col]);
		if (!f.n)
			continue;
		int v = 0;
		for (size_t k = 0; k < f.n && v >= 0; k++)
			v = f.p[k] >= '0' && f.p[k] <= '9' && f.n <= 2 ? v * 10 + (f.p[k] - '0') : -1;
		if (v < 0) {
			snprintf(why, cap, "%s \"%s\" is not a whole number of years from 0 to 99",
				 years[i].name, sb_io_shown(f.p, f.n, shown));
			return why;
		}
		*yv[i] = (int16_t)v;
	}
	f = cell(c, col[SB_PCOL_WAGE_BASE]);
	if (f.n) {
		if (sb_money_parse(f.p, f.n, &row->wage_base, &w) || row->wage_base < 0) {
			snprintf(why, cap,
				 "wage_base \"%s\" is not an amount in yuan >= 0 (the monthly 缴费基数)",
				 sb_io_shown(f.p, f.n, shown));
			return why;
		}
		row->has_wage_base = true;
	}
	row->residence = SB_RESIDENCE_UNKNOWN;
	f = cell(c, col[SB_PCOL_RESIDENCE]);
	if (f.n) {
		static const char *const res[] = {"urban", "rural", NULL};
		int r = sb_name_index(res, f.p, f.n);
		if (r < 0 && f.n == 1 && (f.p[0] == '1' || f.p[0] == '2'))
			r = f.p[0] - '1';
		if (r < 0) {
			snprintf(why, cap, "residence \"%s\" is not urban, rural, 1 or 2",
				 sb_io_shown(f.p, f.n, shown));
			return why;
		}
		row->residence = (uint8_t)r;
	}
	row->enrolled_from = SB_DATE_NONE;
	f = cell(c, col[SB_PCOL_ENROLLED_FROM]);
	if (f.n && sb_date_parse(f.p, f.n, 0, &row->enrolled_from, &w)) {
		snprintf(why, cap, "enrolled_from \"%s\" %s", sb_io_shown(f.p, f.n, shown), w);
		return why;
	}
	return NULL;
}

/* Appends "; " and a formatted sentence part to a reason buffer. */
static void reason_add(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reason_add(char *buf, size_t n, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used && used + 2 < n) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, n - used, fmt, ap);
	va_end(ap);
}

/* "dibao, tekun, ..." for the identities some policy declares. */
static void declared_list(const sb_policyset *set, char *buf, size_t n)
{
	size_t used = 0;
	uint64_t seen = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t j = 0; j < p->nidentities; j++) {
			int sym = p->identities[j];
			if (sym < 0 || sym >= SB_MAX_MASK_SYMS || (seen >> sym & 1))
				continue;
			seen |= (uint64_t)1 << sym;
			int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
					 p->identity_names[j]);
			if (k < 0 || (size_t)k >= n - used)
				return;
			used += (size_t)k;
		}
	}
}

int sb_identity_row_read(const sb_csv *c, const int *col, const sb_policyset *set,
			 sb_identity_row *row, char *reason, size_t cap)
{
	char shown[SB_IO_SHOWN];
	const char *why;
	int kind = SB_IROW_OK;
	memset(row, 0, sizeof *row);
	row->to = INT32_MAX;
	row->sym = -1;
	reason[0] = '\0';
	sb_csv_field fp = cell(c, col[SB_ICOL_PERSON]), fi = cell(c, col[SB_ICOL_IDENTITY]),
		     ff = cell(c, col[SB_ICOL_FROM]), ft = cell(c, col[SB_ICOL_TO]);
	if (!fp.n) {
		reason_add(reason, cap, "the person ID is empty");
		kind = SB_IROW_ID;
	} else if (sb_person_key(fp.p, fp.n, &row->key, &row->pseudo, NULL, &why)) {
		reason_add(reason, cap,
			   "the person ID %s: correct it from the identity card (or the "
			   "pseudonymised file)", why);
		kind = SB_IROW_ID;
	}
	int sym = sb_policyset_symbol(set, SB_SYM_IDENTITY, fi.p, fi.n);
	if (sym < 0 || sym >= SB_MAX_MASK_SYMS || !sb_policyset_identity_declared(set, sym)) {
		char list[512];
		declared_list(set, list, sizeof list);
		reason_add(reason, cap,
			   "identity \"%s\" is not declared by any policy: use one of %s, or "
			   "declare it in the policy",
			   sb_io_shown(fi.p, fi.n, shown), list[0] ? list : "(none declared)");
		if (kind < 0)
			kind = SB_IROW_IDENTITY;
		sym = -1;
	}
	row->sym = sym;
	bool date_bad = false;
	if (!ff.n) {
		reason_add(reason, cap, "from is empty: give the first day held (YYYY-MM-DD)");
		date_bad = true;
	} else if (sb_date_parse(ff.p, ff.n, 1, &row->from, &why)) {
		reason_add(reason, cap, "from \"%s\" %s: write the first day held as YYYY-MM-DD",
			   sb_io_shown(ff.p, ff.n, shown), why);
		date_bad = true;
	}
	if (ft.n && sb_date_parse(ft.p, ft.n, 1, &row->to, &why)) {
		reason_add(reason, cap,
			   "to \"%s\" %s: write the last day held as YYYY-MM-DD, or leave it "
			   "empty while still held",
			   sb_io_shown(ft.p, ft.n, shown), why);
		date_bad = true;
	} else if (!date_bad && row->to < row->from) {
		char a[12], b[12];
		sb_date_format(row->from, a);
		sb_date_format(row->to, b);
		reason_add(reason, cap, "it ends (to %s) before it starts (from %s): check both dates",
			   b, a);
		date_bad = true;
	}
	if (date_bad && kind < 0)
		kind = SB_IROW_DATE;
	return kind;
}
