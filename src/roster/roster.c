/* roster.c: `sanbao roster`: the civil-affairs roster against enrolment.
 * Reads persons.csv into a sorted table (duplicates fall out as runs), then
 * streams identities.csv (漏保 and unusable rows), then settlements.csv
 * (stale.c), and writes one CSV per finding plus a summary by region. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "io/outfile.h"
#include "roster/roster_int.h"
#include "sanbao/io.h"

/* ---- small shared helpers ------------------------------------------------- */

uint32_t sb_roster_region_code(const char *p, size_t n)
{
	if (n != 6)
		return SB_ROSTER_NO_REGION;
	uint32_t v = 0;

	for (size_t i = 0; i < 6; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SB_ROSTER_NO_REGION;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	return v;
}

sb_rregion *sb_roster_region(sb_roster *r, uint32_t code)
{
	/* Rows usually come grouped by region, and a province has a few
	 * hundred at most: the last hit, then a scan, is enough. */
	if (r->last_region < r->nregions && r->regions[r->last_region].code == code)
		return &r->regions[r->last_region];
	for (size_t i = 0; i < r->nregions; i++) {
		if (r->regions[i].code == code) {
			r->last_region = i;
			return &r->regions[i];
		}
	}
	if (r->nregions == r->capregions) {
		size_t cap = r->capregions ? r->capregions * 2 : 32;
		sb_rregion *v = sb_realloc(r->regions, cap * sizeof *v);

		if (!v)
			return NULL;
		r->regions = v;
		r->capregions = cap;
	}
	sb_rregion *x = &r->regions[r->nregions];

	memset(x, 0, sizeof *x);
	x->code = code;
	r->last_region = r->nregions++;
	return x;
}

void sb_roster_person_text(const sb_roster *r, uint64_t key, int pseudo, char out[19])
{
	char full[19];

	sb_person_key_text(key, pseudo, full);
	if (r->cfg->show_ids)
		memcpy(out, full, sizeof full);
	else
		sb_id_mask(full, SB_ID_LEN, out);
}

/* Shown text of a value that is not a valid ID: masked like an ID unless
 * show_ids, cut to fit out (n bytes). */
static void raw_person_text(const sb_roster *r, sb_csv_field f, char *out, size_t n)
{
	size_t k = f.n < n - 1 ? f.n : n - 1;

	if (r->cfg->show_ids) {
		memcpy(out, f.p, k);
		out[k] = '\0';
	} else {
		sb_id_mask(f.p, k, out);
	}
}

static int cmp_key(uint8_t pa, uint64_t ka, uint8_t pb, uint64_t kb)
{
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return 0;
}

static int cmp_person(const void *a, const void *b)
{
	const sb_rperson *x = a, *y = b;
	int c = cmp_key(x->pseudo, x->key, y->pseudo, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int cmp_ident(const void *a, const void *b)
{
	const sb_rident *x = a, *y = b;
	int c = cmp_key(x->pseudo, x->key, y->pseudo, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

const sb_rperson *sb_roster_find_person(const sb_roster *r, uint64_t key, int pseudo)
{
	size_t lo = 0, hi = r->npersons;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const sb_rperson *p = &r->persons[mid];

		if (cmp_key(p->pseudo, p->key, (uint8_t)pseudo, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->npersons && r->persons[lo].key == key && r->persons[lo].pseudo == pseudo)
		return &r->persons[lo];
	return NULL;
}

size_t sb_roster_first_ident(const sb_roster *r, uint64_t key, int pseudo)
{
	size_t lo = 0, hi = r->nidents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const sb_rident *p = &r->idents[mid];

		if (cmp_key(p->pseudo, p->key, (uint8_t)pseudo, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->nidents && r->idents[lo].key == key && r->idents[lo].pseudo == pseudo)
		return lo;
	return r->nidents;
}

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
}

static sb_status open_out(const sb_roster *r, const char *name, sb_out **o, char *path,
			  size_t pathn, sb_diag *d)
{
	snprintf(path, pathn, "%s/%s", r->cfg->out_dir, name);
	*o = sb_malloc(sizeof **o);
	if (!*o)
		return oom(d);
	/* Under a temporary name until the run commits (io/outfile.h). */
	FILE *f = sb_outdir_create(r->out, name, d);

	if (!f) {
		sb_free(*o);
		*o = NULL;
		return d->code;
	}
	sb_out_init_file(*o, f);
	return SB_OK;
}

static sb_status close_out(sb_out *o, const char *path, sb_diag *d)
{
	if (!o)
		return SB_OK;
	sb_status st = sb_out_close(o, path, d);

	sb_free(o);
	return st;
}

static void out_sep_str(sb_out *o, const char *s)
{
	sb_out_char(o, ',');
	sb_out_field(o, s, strlen(s));
}

static void out_date(sb_out *o, sb_date v)
{
	char buf[12];

	if (v == INT32_MAX)
		return;
	sb_out_bytes(o, buf, sb_date_format(v, buf));
}

static void out_region(sb_out *o, uint32_t code)
{
	if (code != SB_ROSTER_NO_REGION) {
		char buf[12];

		snprintf(buf, sizeof buf, "%06u", (unsigned)code);
		sb_out_str(o, buf);
	}
}

static void region_text(uint32_t code, char *buf, size_t n)
{
	if (code == SB_ROSTER_NO_REGION)
		snprintf(buf, n, "unknown");
	else
		snprintf(buf, n, "%06u", (unsigned)code);
}

/* ---- persons.csv ---------------------------------------------------------- */

static const char *const scheme_words[] = { "employee", "resident", "unknown scheme" };

static sb_status read_persons(sb_roster *r, sb_diag *d)
{
	sb_csv *c;
	int col[SB_PCOL_N];
	sb_status st = sb_io_open_mapped(r->cfg->persons_path, "persons.csv", sb_persons_columns,
					 SB_PCOL_N, true, col, &c, d);
	if (st)
		return st;
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
		r->t->person_rows++;
		sb_person_row row;
		char why[512];

		/* A row settle rejects is no enrolment: the same reader and
		 * rules decide, and here such rows are only counted. */
		if (k < 0 || sb_person_row_read(c, col, &row, why, sizeof why)) {
			r->t->persons_invalid++;
			continue;
		}
		if (r->npersons == r->cappersons) {
			size_t cap = r->cappersons ? r->cappersons * 2 : 1024;
			sb_rperson *v = sb_realloc(r->persons, cap * sizeof *v);

			if (!v) {
				st = oom(d);
				break;
			}
			r->persons = v;
			r->cappersons = cap;
		}
		sb_rperson *p = &r->persons[r->npersons++];

		p->key = row.key;
		p->pseudo = (uint8_t)row.pseudo;
		p->line = (uint32_t)sb_csv_line(c);
		p->region = sb_roster_region_code(row.region, 6);
		p->scheme = row.scheme == SB_SCHEME_EMPLOYEE ? SB_RSCHEME_EMPLOYEE :
							       SB_RSCHEME_RESIDENT;
		sb_rregion *x = sb_roster_region(r, p->region);

		if (!x) {
			st = oom(d);
			break;
		}
		x->persons++;
	}
	sb_csv_free(c);
	if (!st && r->npersons)
		qsort(r->persons, r->npersons, sizeof *r->persons, cmp_person);
	return st;
}

/* ---- duplicates.csv ------------------------------------------------------- */

/* qsort has no context argument; the groups hold the first row's line
 * next to its index so that they sort on their own. */
typedef struct dup_group {
	uint32_t line;
	size_t start, n;
} dup_group;

static int cmp_group(const void *a, const void *b)
{
	const dup_group *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

static void write_duplicate(sb_roster *r, sb_out *o, const dup_group *g)
{
	const sb_rperson *v = &r->persons[g->start];
	int regions = 0, schemes = 0;

	for (size_t i = 1; i < g->n; i++) {
		regions |= v[i].region != v[0].region;
		schemes |= v[i].scheme != v[0].scheme;
	}
	const char *kind = regions ? "regions" : schemes ? "schemes" : "repeated";

	if (regions)
		r->dup_regions++;
	else if (schemes)
		r->dup_schemes++;
	else
		r->dup_repeated++;
	r->t->duplicates++;
	r->t->duplicate_rows += (long long)g->n;

	char who[19], buf[64];

	sb_roster_person_text(r, v[0].key, v[0].pseudo, who);
	sb_out_field(o, who, strlen(who));
	out_sep_str(o, kind);
	sb_out_char(o, ',');
	sb_out_i64(o, (int64_t)g->n);
	for (int col = 0; col < 3; col++) {
		sb_out_char(o, ',');
		for (size_t i = 0; i < g->n; i++) {
			if (i)
				sb_out_char(o, ';');
			if (col == 0)
				sb_out_i64(o, v[i].line);
			else if (col == 1)
				out_region(o, v[i].region);
			else
				sb_out_str(o, scheme_words[v[i].scheme]);
		}
	}
	/* "enrolled twice: in 990100 (resident, line 12) and 990200
	 * (employee, line 80)": everything a clerk needs to find both rows. */
	sb_out_str(o, ",\"");
	if (g->n == 2)
		sb_out_str(o, "enrolled twice: in ");
	else {
		snprintf(buf, sizeof buf, "enrolled %zu times: in ", g->n);
		sb_out_str(o, buf);
	}
	for (size_t i = 0; i < g->n; i++) {
		char reg[12];

		if (i)
			sb_out_str(o, i + 1 == g->n ? " and " : ", ");
		region_text(v[i].region, reg, sizeof reg);
		snprintf(buf, sizeof buf, "%s (%s, line %u)", reg, scheme_words[v[i].scheme],
			 (unsigned)v[i].line);
		sb_out_str(o, buf);
	}
	sb_out_str(o, regions ? ": keep the enrolment in the region of residence and end the other"
			      : schemes ? ": one person belongs to one scheme; end the other enrolment"
					: ": the same enrolment is listed more than once; remove the copy");
	sb_out_str(o, "\"\n");
}

static sb_status write_duplicates(sb_roster *r, sb_diag *d)
{
	char path[4200];
	sb_out *o;
	sb_status st = open_out(r, "duplicates.csv", &o, path, sizeof path, d);

	if (st)
		return st;
	sb_out_str(o, "person,kind,rows,lines,regions,schemes,reason\n");
	dup_group *g = NULL;
	size_t ng = 0, capg = 0;

	for (size_t i = 0; i < r->npersons;) {
		size_t j = i + 1;

		while (j < r->npersons && r->persons[j].key == r->persons[i].key &&
		       r->persons[j].pseudo == r->persons[i].pseudo)
			j++;
		if (j - i > 1) {
			if (ng == capg) {
				size_t cap = capg ? capg * 2 : 64;
				dup_group *v = sb_realloc(g, cap * sizeof *v);

				if (!v) {
					sb_free(g);
					(void)close_out(o, path, d);
					return oom(d);
				}
				g = v;
				capg = cap;
			}
			g[ng++] = (dup_group){ r->persons[i].line, i, j - i };
		}
		i = j;
	}
	if (ng)
		qsort(g, ng, sizeof *g, cmp_group);
	for (size_t k = 0; k < ng; k++) {
		write_duplicate(r, o, &g[k]);
		/* A person enrolled in two regions is a finding of both. */
		for (size_t i = 0; i < g[k].n; i++) {
			uint32_t code = r->persons[g[k].start + i].region;
			int seen = 0;

			for (size_t j = 0; j < i; j++)
				seen |= r->persons[g[k].start + j].region == code;
			sb_rregion *x = seen ? NULL : sb_roster_region(r, code);

			if (!seen && !x) {
				sb_free(g);
				(void)close_out(o, path, d);
				return oom(d);
			}
			if (x)
				x->duplicates++;
		}
	}
	sb_free(g);
	return close_out(o, path, d);
}

/* ---- identities.csv ------------------------------------------------------- */

enum { ERR_ID, ERR_DATE, ERR_IDENTITY, ERR_RECORD };
static const char *const err_kinds[] = { "id", "date", "identity", "record" };

/* One unusable roster row: its own fields echoed (IDs masked), the kind of
 * its first problem and every problem in one sentence. */
static void write_error(sb_roster *r, sb_out *o, const sb_csv *c, const int *col, int kind,
			const char *reason, uint32_t region)
{
	char who[72];
	sb_csv_field f = col[0] >= 0 ? sb_csv_get(c, (size_t)col[0]) : (sb_csv_field){ "", 0 };

	raw_person_text(r, f, who, sizeof who);
	sb_out_i64(o, sb_csv_line(c));
	out_sep_str(o, who);
	for (int i = 1; i < 4; i++) {
		char cell[64];
		size_t n;

		f = col[i] >= 0 ? sb_csv_get(c, (size_t)col[i]) : (sb_csv_field){ "", 0 };
		n = f.n < 64 ? f.n : 64;
		memcpy(cell, f.p, n);
		/* A shifted column may carry an ID into another cell. */
		if (!r->cfg->show_ids)
			sb_io_mask_ids(cell, n);
		sb_out_char(o, ',');
		sb_out_field(o, cell, n);
	}
	sb_out_char(o, ',');
	out_region(o, region);
	out_sep_str(o, err_kinds[kind]);
	out_sep_str(o, reason);
	sb_out_char(o, '\n');
	r->t->roster_errors++;
	long long *count[] = { &r->err_id, &r->err_date, &r->err_identity, &r->err_record };

	(*count[kind])++;
}

static void write_not_enrolled(sb_roster *r, sb_out *o, const sb_rident *x)
{
	char who[19], reason[512], from[12], to[12];

	sb_roster_person_text(r, x->key, x->pseudo, who);
	sb_date_format(x->from, from);
	if (x->to != INT32_MAX)
		sb_date_format(x->to, to);
	const char *id = sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, x->sym);
	const char *name = sb_policyset_identity_label(r->set, x->sym);

	if (!name)
		name = id;

	snprintf(reason, sizeof reason,
		 "%s (%s) from %s%s%s is not enrolled (not in persons.csv): "
		 "enrol with a subsidised premium (资助参保)",
		 name, id, from, x->to != INT32_MAX ? " to " : "", x->to != INT32_MAX ? to : "");
	sb_out_i64(o, x->line);
	out_sep_str(o, who);
	out_sep_str(o, id);
	sb_out_char(o, ',');
	out_date(o, x->from);
	sb_out_char(o, ',');
	out_date(o, x->to);
	sb_out_char(o, ',');
	out_region(o, x->region);
	out_sep_str(o, reason);
	sb_out_char(o, '\n');
}

static sb_status read_identities(sb_roster *r, sb_diag *d)
{
	char pe[4200], pn[4200];
	sb_out *oe = NULL, *on = NULL;
	sb_csv *c = NULL;
	sb_status st;

	if ((st = open_out(r, "roster_errors.csv", &oe, pe, sizeof pe, d)) ||
	    (st = open_out(r, "not_enrolled.csv", &on, pn, sizeof pn, d)) ||
	    (st = sb_csv_open(r->cfg->identities_path, &c, d)))
		goto done;
	sb_out_str(oe, "line,person,identity,from,to,region,kind,reason\n");
	sb_out_str(on, "line,person,identity,from,to,region,reason\n");
	int col[SB_ICOL_N];

	if ((st = sb_io_map(c, "identities.csv", sb_identities_columns, SB_ICOL_N, true, col, d)))
		goto done;
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
		r->t->identity_rows++;
		sb_csv_field reg = col[SB_ICOL_REGION] >= 0 ?
					   sb_csv_get(c, (size_t)col[SB_ICOL_REGION]) :
					   (sb_csv_field){ "", 0 };
		uint32_t region = sb_roster_region_code(reg.p, reg.n);
		char reason[1400] = "";
		int kind = -1;
		sb_identity_row ir;

		if (k < 0) {
			char msg[1400];

			/* The line is in its own column; the place inside it helps. */
			bad.file[0] = '\0';
			snprintf(reason, sizeof reason,
				 "the row is not well-formed CSV (%s): fix the quoting or the "
				 "number of fields", sb_diag_format(&bad, msg, sizeof msg));
			kind = ERR_RECORD;
		} else {
			int ik = sb_identity_row_read(c, col, r->set, &ir, reason, sizeof reason);

			kind = ik == SB_IROW_ID ? ERR_ID : ik == SB_IROW_DATE ? ERR_DATE :
			       ik == SB_IROW_IDENTITY ? ERR_IDENTITY : -1;
		}
		sb_rident x = { .region = region, .to = INT32_MAX, .sym = -1 };

		if (k >= 0 && kind != ERR_ID) {
			x.key = ir.key;
			x.pseudo = (uint8_t)ir.pseudo;
		}
		const sb_rperson *holder = k >= 0 && kind != ERR_ID ?
						   sb_roster_find_person(r, x.key, x.pseudo) :
						   NULL;

		/* Without a region column, a row is counted in the region where
		 * its holder is enrolled; one not enrolled has none to go by. */
		if (region == SB_ROSTER_NO_REGION && holder)
			region = holder->region;
		x.region = region;
		if (kind < 0) {
			x.sym = (int16_t)ir.sym;
			x.from = ir.from;
			x.to = ir.to;
		}
		if (kind >= 0) {
			write_error(r, oe, c, col, kind, reason, region);
			sb_rregion *rr = sb_roster_region(r, region);

			if (!rr) {
				st = oom(d);
				break;
			}
			rr->errors++;
			continue;
		}
		x.line = (uint32_t)sb_csv_line(c);
		if (r->nidents == r->capidents) {
			size_t cap = r->capidents ? r->capidents * 2 : 1024;
			sb_rident *v = sb_realloc(r->idents, cap * sizeof *v);

			if (!v) {
				st = oom(d);
				break;
			}
			r->idents = v;
			r->capidents = cap;
		}
		r->idents[r->nidents++] = x;
		if (!holder) {
			sb_rregion *rr = sb_roster_region(r, region);

			if (!rr) {
				st = oom(d);
				break;
			}
			rr->not_enrolled++;
			r->t->not_enrolled++;
			write_not_enrolled(r, on, &x);
		}
	}
	if (!st && r->nidents)
		qsort(r->idents, r->nidents, sizeof *r->idents, cmp_ident);
done:
	sb_csv_free(c);
	sb_diag cd;

	sb_diag_clear(&cd);
	sb_status s1 = close_out(oe, pe, &cd);
	sb_status s2 = close_out(on, pn, &cd);

	if (!st && (s1 || s2)) {
		*d = cd;
		st = s1 ? s1 : s2;
	}
	return st;
}

/* ---- roster_summary.json -------------------------------------------------- */

static void json_num(sb_out *o, const char *key, long long v, int last)
{
	sb_out_char(o, '"');
	sb_out_str(o, key);
	sb_out_str(o, "\": ");
	sb_out_i64(o, v);
	sb_out_str(o, last ? "" : ", ");
}

static int cmp_region(const void *a, const void *b)
{
	const sb_rregion *x = a, *y = b;

	return (x->code > y->code) - (x->code < y->code);
}

static sb_status write_summary(sb_roster *r, sb_diag *d)
{
	char path[4200];
	sb_out *o;
	sb_status st = open_out(r, "roster_summary.json", &o, path, sizeof path, d);

	if (st)
		return st;
	const sb_roster_totals *t = r->t;
	const sb_roster_config *cfg = r->cfg;

	sb_out_str(o, "{\n  \"inputs\": {\"policies\": ");
	sb_out_json_str(o, cfg->policies_dir);
	sb_out_str(o, ", \"persons\": ");
	sb_out_json_str(o, cfg->persons_path);
	sb_out_str(o, ", \"identities\": ");
	sb_out_json_str(o, cfg->identities_path);
	sb_out_str(o, ", \"settlements\": ");
	sb_out_json_str(o, cfg->settlements_path ? cfg->settlements_path : "");
	sb_out_str(o, "},\n  \"rows\": {");
	json_num(o, "persons", t->person_rows, 0);
	json_num(o, "persons_invalid", t->persons_invalid, 0);
	json_num(o, "identities", t->identity_rows, 0);
	json_num(o, "settlements", t->settlement_rows, 0);
	json_num(o, "settlements_unchecked", t->settlements_unchecked, 1);
	sb_out_str(o, "},\n  \"findings\": {\n    \"not_enrolled\": {");
	json_num(o, "rows", t->not_enrolled, 1);
	sb_out_str(o, "},\n    \"stale_assistance\": {");
	json_num(o, "rows", t->stale, 0);
	json_num(o, "claims", r->stale_claims, 0);
	sb_out_str(o, "\"amount\": ");
	sb_out_fen(o, t->stale_amount);
	sb_out_str(o, "},\n    \"duplicates\": {");
	json_num(o, "persons", t->duplicates, 0);
	json_num(o, "rows", t->duplicate_rows, 0);
	json_num(o, "across_regions", r->dup_regions, 0);
	json_num(o, "across_schemes", r->dup_schemes, 0);
	json_num(o, "repeated", r->dup_repeated, 1);
	sb_out_str(o, "},\n    \"roster_errors\": {");
	json_num(o, "rows", t->roster_errors, 0);
	json_num(o, "id", r->err_id, 0);
	json_num(o, "date", r->err_date, 0);
	json_num(o, "identity", r->err_identity, 0);
	json_num(o, "record", r->err_record, 1);
	sb_out_str(o, "}\n  },\n  \"by_region\": {");
	if (r->nregions)
		qsort(r->regions, r->nregions, sizeof *r->regions, cmp_region);
	r->last_region = 0;
	for (size_t i = 0; i < r->nregions; i++) {
		const sb_rregion *x = &r->regions[i];
		char code[12];

		region_text(x->code, code, sizeof code);
		sb_out_str(o, i ? ",\n    " : "\n    ");
		sb_out_json_str(o, code);
		sb_out_str(o, ": {");
		json_num(o, "persons", x->persons, 0);
		json_num(o, "settlements", x->settlements, 0);
		json_num(o, "not_enrolled", x->not_enrolled, 0);
		json_num(o, "stale_assistance", x->stale, 0);
		json_num(o, "stale_claims", x->stale_claims, 0);
		sb_out_str(o, "\"stale_amount\": ");
		sb_out_fen(o, x->stale_amount);
		sb_out_str(o, ", ");
		json_num(o, "duplicates", x->duplicates, 0);
		json_num(o, "roster_errors", x->errors, 1);
		sb_out_char(o, '}');
	}
	sb_out_str(o, r->nregions ? "\n  }\n}\n" : "}\n}\n");
	return close_out(o, path, d);
}

/* ---- the run -------------------------------------------------------------- */

static sb_status write_stale(sb_roster *r, sb_diag *d)
{
	char path[4200];
	sb_out *o;
	sb_status st = open_out(r, "stale_assistance.csv", &o, path, sizeof path, d);

	if (st)
		return st;
	sb_out_str(o, "claim,person,region,date,layer,amount,reason\n");
	if (r->cfg->settlements_path)
		st = sb_roster_stale(r, o, d);
	sb_diag cd;

	sb_diag_clear(&cd);
	sb_status cs = close_out(o, path, &cd);

	if (!st && cs) {
		*d = cd;
		st = cs;
	}
	return st;
}

sb_status sb_roster_check(const sb_roster_config *cfg, sb_roster_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	const char *missing = !cfg->policies_dir ? "the policy folder" :
			      !cfg->persons_path ? "persons.csv" :
			      !cfg->identities_path ? "identities.csv" :
			      !cfg->out_dir ? "the output folder" : NULL;

	if (missing)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "the roster check needs %s", missing);
	sb_roster *r = sb_calloc(1, sizeof *r);

	if (!r)
		return oom(d);
	r->cfg = cfg;
	r->t = t;
	static const char *const outputs[] = { "duplicates.csv", "roster_errors.csv",
					       "not_enrolled.csv", "stale_assistance.csv",
					       "roster_summary.json", NULL };
	sb_status st = sb_outdir_open(cfg->out_dir, &r->out, d);

	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the persons file",
					 cfg->persons_path, d);
	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the identities file",
					 cfg->identities_path, d);
	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the settlements file",
					 cfg->settlements_path, d);
	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "a file of the policy folder",
					 cfg->policies_dir, d);
	if (!st)
		st = sb_policyset_new(&r->set);
	if (st == SB_ENOMEM)
		(void)oom(d);
	if (!st && cfg->policy_root)
		st = sb_policyset_set_root(r->set, cfg->policy_root, d);
	if (!st)
		st = sb_policyset_load_dir(r->set, cfg->policies_dir, d);
	if (!st)
		st = read_persons(r, d);
	if (!st)
		st = write_duplicates(r, d);
	if (!st)
		st = read_identities(r, d);
	if (!st)
		st = write_stale(r, d);
	if (!st)
		st = write_summary(r, d);
	if (!st) /* roster_summary.json, the last written, renamed last */
		st = sb_outdir_commit(r->out, NULL, d);
	sb_outdir_close(r->out);
	sb_policyset_free(r->set);
	sb_free(r->persons);
	sb_free(r->idents);
	sb_free(r->regions);
	sb_free(r);
	return st;
}
