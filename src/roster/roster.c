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
#include "policy/ydoc.h"
#include "io/outfile.h"
#include "roster/roster_int.h"

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

/* ---- identity names ------------------------------------------------------- */

/* The compiled model keeps identity ids only; the names (低保对象, ...)
 * that a clerk reads are taken from the `identities` lists of the policy
 * files themselves, the first file that names an id winning. */
static void load_identity_names(sb_roster *r)
{
	for (int s = 0; s < SB_MAX_MASK_SYMS; s++) {
		const char *id = s < sb_policyset_symbol_count(r->set, SB_SYM_IDENTITY) ?
					 sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, s) :
					 NULL;
		snprintf(r->names[s], sizeof r->names[s], "%s", id ? id : "");
	}
	uint64_t named = 0;

	for (size_t i = 0; i < sb_policyset_count(r->set); i++) {
		const sb_policy *p = sb_policyset_at(r->set, i);

		for (uint16_t j = 0; j < p->nidentities; j++) {
			uint64_t bit = (uint64_t)1 << (p->identities[j] + 1);
			size_t used = strlen(r->declared_list);

			if (!(r->declared & bit))
				snprintf(r->declared_list + used, sizeof r->declared_list - used,
					 "%s%s", used ? ", " : "", p->identity_names[j]);
			r->declared |= bit;
		}
		sb_ydoc *doc;
		sb_diag ignore;

		/* The set has already read the file: a failure here only
		 * costs the names, never the check. */
		if (sb_ydoc_load(sb_policy_path(p), &doc, &ignore))
			continue;
		sb_ynode list = sb_ynode_get(sb_ydoc_root(doc), "identities");

		for (size_t k = 0; list.n && sb_ynode_is_seq(list) && k < sb_ynode_len(list); k++) {
			sb_ynode item = sb_ynode_item(list, k);
			size_t idn, nn;
			const char *id = sb_ynode_text(sb_ynode_get(item, "id"), &idn);
			const char *name = sb_ynode_text(sb_ynode_get(item, "name"), &nn);

			if (!id || !name || !nn)
				continue;
			int sym = sb_policyset_symbol(r->set, SB_SYM_IDENTITY, id, idn);

			if (sym < 0 || sym >= SB_MAX_MASK_SYMS || (named >> sym & 1))
				continue;
			named |= (uint64_t)1 << sym;
			snprintf(r->names[sym], sizeof r->names[sym], "%.*s", (int)nn, name);
		}
		sb_ydoc_free(doc);
	}
}

/* ---- persons.csv ---------------------------------------------------------- */

static int scheme_of(sb_csv_field f)
{
	if ((f.n == 8 && !memcmp(f.p, "employee", 8)) || (f.n == 3 && !memcmp(f.p, "310", 3)))
		return SB_RSCHEME_EMPLOYEE;
	if ((f.n == 8 && !memcmp(f.p, "resident", 8)) || (f.n == 3 && !memcmp(f.p, "390", 3)))
		return SB_RSCHEME_RESIDENT;
	return SB_RSCHEME_OTHER;
}

static const char *const scheme_words[] = { "employee", "resident", "unknown scheme" };

static sb_status missing_column(const sb_csv *c, const char *what, sb_diag *d)
{
	return sb_diag_set(d, SB_ESYNTAX, sb_csv_name(c), 1, 0,
			   "the header has no %s column", what);
}

static sb_status read_persons(sb_roster *r, sb_diag *d)
{
	static const char *const id_names[] = { "id", "certno", "psn_no", NULL };
	static const char *const scheme_names[] = { "scheme", "insutype", NULL };
	static const char *const region_names[] = { "region", "insuplc_admdvs", NULL };
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->persons_path, &c, d);

	if (st)
		return st;
	int ci = sb_csv_find(c, id_names), cs = sb_csv_find(c, scheme_names),
	    cr = sb_csv_find(c, region_names);

	if (ci < 0) {
		st = missing_column(c, "id (or certno, psn_no)", d);
		sb_csv_free(c);
		return st;
	}
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
		sb_csv_field id = sb_csv_get(c, (size_t)ci);
		uint64_t key;
		int pseudo;

		/* A person whose ID cannot be read cannot be matched either;
		 * settle rejects such rows, so here they are only counted. */
		if (k < 0 || sb_person_key(id.p, id.n, &key, &pseudo, NULL, NULL)) {
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
		sb_csv_field reg = cr >= 0 ? sb_csv_get(c, (size_t)cr) : (sb_csv_field){ "", 0 };

		p->key = key;
		p->pseudo = (uint8_t)pseudo;
		p->line = (uint32_t)sb_csv_line(c);
		p->region = sb_roster_region_code(reg.p, reg.n);
		p->scheme = (uint8_t)(cs >= 0 ? scheme_of(sb_csv_get(c, (size_t)cs)) :
						SB_RSCHEME_OTHER);
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
		f = col[i] >= 0 ? sb_csv_get(c, (size_t)col[i]) : (sb_csv_field){ "", 0 };
		sb_out_char(o, ',');
		sb_out_field(o, f.p, f.n < 64 ? f.n : 64);
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

/* Appends "; " and a formatted sentence part to a reason buffer. */
static void reason_add(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reason_add(char *buf, size_t n, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used && used + 2 < n) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	if (used >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, n - used, fmt, ap);
	va_end(ap);
}

static void write_not_enrolled(sb_roster *r, sb_out *o, const sb_rident *x)
{
	char who[19], reason[512], from[12], to[12];

	sb_roster_person_text(r, x->key, x->pseudo, who);
	sb_date_format(x->from, from);
	if (x->to != INT32_MAX)
		sb_date_format(x->to, to);
	const char *id = sb_policyset_symbol_name(r->set, SB_SYM_IDENTITY, x->sym);
	const char *name = r->names[x->sym];

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
	static const char *const person_names[] = { "person", "certno", "psn_no", NULL };
	static const char *const identity_names[] = { "identity", "psn_idet_type", NULL };
	static const char *const from_names[] = { "from", "begntime", NULL };
	static const char *const to_names[] = { "to", "endtime", NULL };
	/* Not in data-format.md: a roster that carries its 行政区划 gets its
	 * findings counted by region; persons not enrolled have no other. */
	static const char *const region_names[] = { "region", "admdvs", NULL };
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
	int col[5] = { sb_csv_find(c, person_names), sb_csv_find(c, identity_names),
		       sb_csv_find(c, from_names), sb_csv_find(c, to_names),
		       sb_csv_find(c, region_names) };

	if (col[0] < 0 || col[1] < 0 || col[2] < 0) {
		st = missing_column(c, col[0] < 0 ? "person (or certno, psn_no)" :
				       col[1] < 0 ? "identity (or psn_idet_type)" :
						    "from (or begntime)", d);
		goto done;
	}
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
		sb_csv_field reg = col[4] >= 0 ? sb_csv_get(c, (size_t)col[4]) :
						 (sb_csv_field){ "", 0 };
		uint32_t region = sb_roster_region_code(reg.p, reg.n);
		char reason[768] = "";
		int kind = -1;

		if (k < 0) {
			char msg[1400];

			/* The line is in its own column; the place inside it helps. */
			bad.file[0] = '\0';
			snprintf(reason, sizeof reason,
				 "the row is not well-formed CSV (%s): fix the quoting or the "
				 "number of fields", sb_diag_format(&bad, msg, sizeof msg));
			kind = ERR_RECORD;
		}
		sb_csv_field fp = sb_csv_get(c, (size_t)col[0]), fi = sb_csv_get(c, (size_t)col[1]),
			     ff = sb_csv_get(c, (size_t)col[2]),
			     ft = col[3] >= 0 ? sb_csv_get(c, (size_t)col[3]) : (sb_csv_field){ "", 0 };
		sb_rident x = { .region = region, .to = INT32_MAX, .sym = -1 };
		const char *why;
		int pseudo = 0;

		if (kind < 0 && !fp.n) {
			reason_add(reason, sizeof reason, "the person ID is empty");
			kind = ERR_ID;
		} else if (kind < 0 && sb_person_key(fp.p, fp.n, &x.key, &pseudo, NULL, &why)) {
			reason_add(reason, sizeof reason,
				   "the person ID %s: correct it from the identity card (or the "
				   "pseudonymised file)", why);
			kind = ERR_ID;
		}
		x.pseudo = (uint8_t)pseudo;
		const sb_rperson *holder = kind < 0 ? sb_roster_find_person(r, x.key, pseudo) : NULL;

		/* Without a region column, a row is counted in the region where
		 * its holder is enrolled; one not enrolled has none to go by. */
		if (region == SB_ROSTER_NO_REGION && holder)
			region = holder->region;
		x.region = region;
		if (kind != ERR_RECORD) {
			int sym = sb_policyset_symbol(r->set, SB_SYM_IDENTITY, fi.p, fi.n);

			if (sym < 0 || sym >= SB_MAX_MASK_SYMS || !(r->declared >> (sym + 1) & 1)) {
				reason_add(reason, sizeof reason,
					   "identity \"%.*s\" is not declared by any policy: use one of "
					   "%s, or declare it in the policy",
					   (int)(fi.n < 40 ? fi.n : 40), fi.p,
					   r->declared_list[0] ? r->declared_list : "(none declared)");
				if (kind < 0)
					kind = ERR_IDENTITY;
			}
			x.sym = (int16_t)sym;
			int date_bad = 0;

			if (!ff.n) {
				reason_add(reason, sizeof reason,
					   "from is empty: give the first day held (YYYY-MM-DD)");
				date_bad = 1;
			} else if (sb_date_parse(ff.p, ff.n, 1, &x.from, &why)) {
				reason_add(reason, sizeof reason,
					   "from \"%.*s\" %s: write the first day held as YYYY-MM-DD",
					   (int)(ff.n < 40 ? ff.n : 40), ff.p, why);
				date_bad = 1;
			}
			if (ft.n && sb_date_parse(ft.p, ft.n, 1, &x.to, &why)) {
				reason_add(reason, sizeof reason,
					   "to \"%.*s\" %s: write the last day held as YYYY-MM-DD, "
					   "or leave it empty while still held",
					   (int)(ft.n < 40 ? ft.n : 40), ft.p, why);
				date_bad = 1;
			} else if (!date_bad && x.to < x.from) {
				char a[12], b[12];

				sb_date_format(x.from, a);
				sb_date_format(x.to, b);
				reason_add(reason, sizeof reason,
					   "it ends (to %s) before it starts (from %s): check both dates",
					   b, a);
				date_bad = 1;
			}
			if (date_bad && kind < 0)
				kind = ERR_DATE;
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

static void json_str(sb_out *o, const char *s)
{
	sb_out_char(o, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			sb_out_char(o, '\\');
			sb_out_char(o, (char)ch);
		} else if (ch < 0x20) {
			char buf[8];

			snprintf(buf, sizeof buf, "\\u%04x", ch);
			sb_out_str(o, buf);
		} else {
			sb_out_char(o, (char)ch);
		}
	}
	sb_out_char(o, '"');
}

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
	json_str(o, cfg->policies_dir);
	sb_out_str(o, ", \"persons\": ");
	json_str(o, cfg->persons_path);
	sb_out_str(o, ", \"identities\": ");
	json_str(o, cfg->identities_path);
	sb_out_str(o, ", \"settlements\": ");
	json_str(o, cfg->settlements_path ? cfg->settlements_path : "");
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
		json_str(o, code);
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
	if (!st)
		st = sb_policyset_load_dir(r->set, cfg->policies_dir, d);
	if (!st) {
		load_identity_names(r);
		st = read_persons(r, d);
	}
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
