/* run.c: `sanbao code-texts` as a library call: reads the frame, the
 * documents and META.csv, codes every clause, and writes the clause list
 * and the paper's tables (孙菊等 2024, tables 2–6) as CSV and JSON, each
 * file through a temporary name renamed into place so that a failed run
 * never leaves half a table. With a gold file it also reports agreement.
 *
 * Counting follows the paper: the unit is the clause (条目); a clause with
 * several codes counts once in each; a group's count (供给型, 合理确定保障水平)
 * is the sum of its categories' counts; headings are not coded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "sanbao/csv.h"
#include "texts/texts_int.h"

#define TERMS_CAP 1024
#define MAX_STAGES 32
#define MAX_PROVINCES 64

typedef struct docinfo {
	sb_texts_doc *doc;
	const char *stage, *province, *issuer, *date;
	int si, pi; /* stage and province index */
} docinfo;

typedef struct run {
	const sb_texts_config *cfg;
	const sb_texts_frame *f;
	sb_arena a;
	docinfo *docs;
	size_t ndocs;
	const char *stages[MAX_STAGES];
	size_t nstages;
	const char *provinces[MAX_PROVINCES];
	size_t nprov;
	size_t ncat;
	long *by_stage; /* (nstages + 1) x ncat, the last row all stages */
	long *by_prov;  /* nprov x ncat */
	sb_diag *d;
} run;

/* ---- small helpers ---------------------------------------------------- */

static int name_eq(const char *doc, const char *p, size_t n)
{
	size_t dn = strlen(doc);
	if (dn == n && !memcmp(doc, p, n))
		return 1;
	/* "henan_2017_fupin_kaifa_tiaoli" names henan_2017_fupin_kaifa_tiaoli.txt */
	return dn == n + 4 && !memcmp(doc, p, n) && !strcmp(doc + n, ".txt");
}

static sb_status index_of(const char **arr, size_t *n, size_t max, const char *s, int *out)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(arr[i], s)) {
			*out = (int)i;
			return SB_OK;
		}
	if (*n == max)
		return SB_ELIMIT;
	arr[*n] = s;
	*out = (int)(*n)++;
	return SB_OK;
}

/* Writes count/total as a percent with two decimals ("55.38"). */
static void put_share(sb_out *o, long count, long total)
{
	if (total <= 0) {
		sb_out_str(o, "0.00");
		return;
	}
	int64_t h = sb_div_round((int64_t)count * 10000, total);
	char buf[32];
	snprintf(buf, sizeof buf, "%lld.%02lld", (long long)(h / 100), (long long)(h % 100));
	sb_out_str(o, buf);
}

static void put_field(sb_out *o, const char *s)
{
	sb_out_field(o, s, strlen(s));
}

/* Output files: opened under a temporary name, renamed by finish_file. */
typedef struct outfile {
	sb_out o;
	char path[1024], tmp[1100];
} outfile;

static sb_status open_file(run *r, outfile *f, const char *name)
{
	int w = snprintf(f->path, sizeof f->path, "%s/%s", r->cfg->out_dir, name);
	if (w < 0 || (size_t)w >= sizeof f->path)
		return sb_diag_set(r->d, SB_ELIMIT, r->cfg->out_dir, 0, 0, "output path too long");
	snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp", r->cfg->out_dir, name);
	return sb_out_open(&f->o, f->tmp, r->d);
}

static sb_status finish_file(run *r, outfile *f)
{
	sb_status st = sb_out_close(&f->o, f->tmp, r->d);
	if (st) {
		remove(f->tmp);
		return st;
	}
	if (rename(f->tmp, f->path)) {
		st = sb_diag_set(r->d, SB_EIO, f->path, 0, 0, "cannot rename %s into place: %s",
				 f->tmp, strerror(errno));
		remove(f->tmp);
	}
	return st;
}

static int coded(const sb_texts_clause *c)
{
	for (size_t i = 0; i < SB_TEXTS_MAX_CATEGORIES / 64; i++)
		if (c->codes.bits[i])
			return 1;
	return 0;
}

static const char *dim(const run *r, size_t i)
{
	return sb_texts_frame_dimension(r->f, i);
}

/* ---- META.csv --------------------------------------------------------- */

static sb_status read_meta(run *r)
{
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->meta_path, &c, r->d);
	if (st)
		return st;
	static const char *const n_doc[] = {"document", "file", NULL};
	static const char *const n_stage[] = {"stage", NULL};
	static const char *const n_prov[] = {"province", NULL};
	static const char *const n_iss[] = {"issuer", NULL};
	static const char *const n_date[] = {"date", NULL};
	int cd = sb_csv_find(c, n_doc), cs = sb_csv_find(c, n_stage), cp = sb_csv_find(c, n_prov);
	int ci = sb_csv_find(c, n_iss), cdt = sb_csv_find(c, n_date);
	if (cd < 0) {
		sb_csv_free(c);
		return sb_diag_set(r->d, SB_EINPUT, r->cfg->meta_path, 1, 1,
				   "META.csv needs a `document` column (and any of stage, province, "
				   "issuer, date)");
	}
	int k;
	while ((k = sb_csv_next(c, r->d)) != 0) {
		if (k < 0) {
			sb_csv_free(c);
			return k == -2 ? SB_EIO : SB_ESYNTAX;
		}
		sb_csv_field doc = sb_csv_get(c, (size_t)cd);
		docinfo *di = NULL;
		for (size_t i = 0; i < r->ndocs; i++)
			if (name_eq(r->docs[i].doc->name, doc.p, doc.n))
				di = &r->docs[i];
		if (!di)
			continue; /* a document not given on this run */
		const char **slots[4] = {&di->stage, &di->province, &di->issuer, &di->date};
		int cols[4] = {cs, cp, ci, cdt};
		for (int j = 0; j < 4; j++) {
			if (cols[j] < 0)
				continue;
			sb_csv_field v = sb_csv_get(c, (size_t)cols[j]);
			if (!v.n)
				continue;
			char *s = sb_arena_strndup(&r->a, v.p, v.n);
			if (!s) {
				sb_csv_free(c);
				return sb_diag_set(r->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			}
			*slots[j] = s;
		}
		/* A header without 发文机关 takes its issuers from META.csv. */
		if (di->issuer && !di->doc->nissuers) {
			st = sb_texts_split_issuers(&r->a, di->doc, di->issuer, strlen(di->issuer));
			if (st) {
				int line = (int)sb_csv_line(c);
				sb_csv_free(c);
				if (st == SB_ELIMIT)
					return sb_diag_set(r->d, st, r->cfg->meta_path, line, 1,
							   "more than %d issuers", SB_TEXTS_MAX_ISSUERS);
				return sb_diag_set(r->d, st, r->cfg->meta_path, line, 1, "out of memory");
			}
		}
		if (cdt >= 0 && !di->stage && di->date) {
			int y = atoi(di->date);
			di->doc->year = y > 1900 ? y : di->doc->year;
		}
	}
	sb_csv_free(c);
	return SB_OK;
}

/* ---- coding and counting --------------------------------------------- */

static sb_status code_all(run *r, sb_texts_totals *t)
{
	char terms[TERMS_CAP];
	for (size_t i = 0; i < r->ndocs; i++) {
		docinfo *di = &r->docs[i];
		sb_texts_doc *doc = di->doc;
		if (!di->stage)
			di->stage = sb_texts_frame_stage(r->f, doc->year);
		if (!di->stage)
			di->stage = "(no stage)";
		if (!di->province)
			di->province = "(unknown)";
		if (index_of(r->stages, &r->nstages, MAX_STAGES, di->stage, &di->si) ||
		    index_of(r->provinces, &r->nprov, MAX_PROVINCES, di->province, &di->pi))
			return sb_diag_set(r->d, SB_ELIMIT, r->cfg->meta_path, 0, 0,
					   "more than %d stages or %d provinces", MAX_STAGES,
					   MAX_PROVINCES);
		for (size_t k = 0; k < doc->nclauses; k++) {
			sb_texts_clause *c = &doc->clauses[k];
			if (c->heading) {
				c->terms = "";
				continue;
			}
			sb_texts_code(r->f, c->text, c->len, &c->codes, terms, sizeof terms);
			if (!(c->terms = sb_arena_strndup(&r->a, terms, strlen(terms))))
				return sb_diag_set(r->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			t->clauses++;
			t->coded += coded(c) ? 1 : 0;
		}
		t->unplaced += doc->nunplaced;
		t->converted += doc->converted;
	}
	/* The stages the frame names come first, in its order. */
	const char *order[MAX_STAGES];
	size_t no = 0;
	for (size_t s = 0; s < r->f->nstages; s++)
		for (size_t j = 0; j < r->nstages; j++)
			if (!strcmp(r->stages[j], r->f->stages[s].name))
				order[no++] = r->stages[j];
	for (size_t j = 0; j < r->nstages; j++) {
		size_t s = 0;
		while (s < no && strcmp(order[s], r->stages[j]))
			s++;
		if (s == no)
			order[no++] = r->stages[j];
	}
	memcpy(r->stages, order, no * sizeof *order);
	for (size_t i = 0; i < r->ndocs; i++)
		for (size_t j = 0; j < r->nstages; j++)
			if (!strcmp(r->stages[j], r->docs[i].stage))
				r->docs[i].si = (int)j;

	r->by_stage = sb_calloc((r->nstages + 1) * r->ncat, sizeof *r->by_stage);
	r->by_prov = sb_calloc((r->nprov ? r->nprov : 1) * r->ncat, sizeof *r->by_prov);
	if (!r->by_stage || !r->by_prov)
		return sb_diag_set(r->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	for (size_t i = 0; i < r->ndocs; i++) {
		const docinfo *di = &r->docs[i];
		for (size_t k = 0; k < di->doc->nclauses; k++) {
			const sb_texts_clause *c = &di->doc->clauses[k];
			for (size_t j = 0; j < r->ncat; j++)
				if (sb_texts_codes_has(&c->codes, j)) {
					r->by_stage[(size_t)di->si * r->ncat + j]++;
					r->by_stage[r->nstages * r->ncat + j]++;
					r->by_prov[(size_t)di->pi * r->ncat + j]++;
				}
		}
	}
	return SB_OK;
}

/* ---- clauses.csv, unplaced.csv, documents.csv ------------------------ */

/* At most max characters of s, newlines as spaces, into buf. */
static void excerpt(const char *s, size_t n, char *buf, size_t cap, size_t max)
{
	size_t o = 0, chars = 0, i = 0;
	while (i < n && chars < max) {
		size_t k = 1;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0xf0)
			k = 4;
		else if (c >= 0xe0)
			k = 3;
		else if (c >= 0xc0)
			k = 2;
		if (i + k > n || o + k + 4 >= cap)
			break;
		if (c == '\n')
			buf[o++] = ' ';
		else
			memcpy(buf + o, s + i, k), o += k;
		i += k;
		chars++;
	}
	if (i < n && o + 3 < cap)
		memcpy(buf + o, "…", 3), o += 3;
	buf[o] = '\0';
}

static void put_codes(const run *r, sb_out *o, const sb_texts_codes *codes)
{
	char buf[SB_TEXTS_MAX_CATEGORIES * 48];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t j = 0; j < r->ncat; j++)
		if (sb_texts_codes_has(codes, j)) {
			int w = snprintf(buf + n, sizeof buf - n, "%s%s", n ? ";" : "",
					 sb_texts_frame_id(r->f, j));
			if (w > 0 && (size_t)w < sizeof buf - n)
				n += (size_t)w;
		}
	sb_out_field(o, buf, n);
}

static sb_status write_clauses(run *r)
{
	outfile f;
	sb_status st = open_file(r, &f, "clauses.csv");
	if (st)
		return st;
	sb_out *o = &f.o;
	sb_out_str(o, "document,path,line,heading,excerpt,codes,terms\n");
	char ex[512];
	for (size_t i = 0; i < r->ndocs; i++) {
		const sb_texts_doc *doc = r->docs[i].doc;
		for (size_t k = 0; k < doc->nclauses; k++) {
			const sb_texts_clause *c = &doc->clauses[k];
			put_field(o, doc->name);
			sb_out_char(o, ',');
			put_field(o, c->path);
			sb_out_char(o, ',');
			sb_out_i64(o, c->line);
			sb_out_str(o, c->heading ? ",yes," : ",no,");
			excerpt(c->text, c->len, ex, sizeof ex, 60);
			put_field(o, ex);
			sb_out_char(o, ',');
			put_codes(r, o, &c->codes);
			sb_out_char(o, ',');
			put_field(o, c->terms ? c->terms : "");
			sb_out_char(o, '\n');
		}
	}
	if ((st = finish_file(r, &f)))
		return st;

	if ((st = open_file(r, &f, "unplaced.csv")))
		return st;
	sb_out_str(o, "document,line,text\n");
	for (size_t i = 0; i < r->ndocs; i++) {
		const sb_texts_doc *doc = r->docs[i].doc;
		for (size_t k = 0; k < doc->nunplaced; k++) {
			put_field(o, doc->name);
			sb_out_char(o, ',');
			sb_out_i64(o, doc->unplaced[k].line);
			sb_out_char(o, ',');
			sb_out_field(o, doc->unplaced[k].text, doc->unplaced[k].len);
			sb_out_char(o, '\n');
		}
	}
	return finish_file(r, &f);
}

/* The departments an issuer string names, as "医保;财政". */
static void issuer_departments(const run *r, const sb_texts_doc *doc, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	sb_texts_codes all;
	memset(&all, 0, sizeof all);
	for (size_t k = 0; k < doc->nissuers; k++) {
		sb_texts_codes c;
		sb_texts_departments(r->f, doc->issuers[k], strlen(doc->issuers[k]), &c);
		for (size_t w = 0; w < SB_TEXTS_MAX_CATEGORIES / 64; w++)
			all.bits[w] |= c.bits[w];
	}
	for (size_t j = 0; j < r->ncat; j++)
		if (sb_texts_codes_has(&all, j)) {
			int w = snprintf(buf + n, cap - n, "%s%s", n ? ";" : "",
					 sb_texts_frame_name(r->f, j));
			if (w > 0 && (size_t)w < cap - n)
				n += (size_t)w;
		}
}

static sb_status write_documents(run *r)
{
	outfile f;
	sb_status st = open_file(r, &f, "documents.csv");
	if (st)
		return st;
	sb_out *o = &f.o;
	sb_out_str(o, "document,title,stage,province,year,issuer,issuers,issuer_count,joint,"
		      "issuer_departments,clauses,coded,headings,unplaced_lines,converted_from_gbk\n");
	char buf[2048];
	for (size_t i = 0; i < r->ndocs; i++) {
		const docinfo *di = &r->docs[i];
		const sb_texts_doc *doc = di->doc;
		size_t nc = 0, ncoded = 0, nh = 0;
		for (size_t k = 0; k < doc->nclauses; k++) {
			nh += doc->clauses[k].heading;
			nc += !doc->clauses[k].heading;
			ncoded += coded(&doc->clauses[k]) ? 1u : 0u;
		}
		put_field(o, doc->name);
		sb_out_char(o, ',');
		put_field(o, doc->title);
		sb_out_char(o, ',');
		put_field(o, di->stage);
		sb_out_char(o, ',');
		put_field(o, di->province);
		sb_out_char(o, ',');
		sb_out_i64(o, doc->year);
		sb_out_char(o, ',');
		put_field(o, di->issuer ? di->issuer : doc->issuer);
		sb_out_char(o, ',');
		size_t n = 0;
		buf[0] = '\0';
		for (size_t k = 0; k < doc->nissuers; k++) {
			int w = snprintf(buf + n, sizeof buf - n, "%s%s", k ? ";" : "", doc->issuers[k]);
			if (w > 0 && (size_t)w < sizeof buf - n)
				n += (size_t)w;
		}
		put_field(o, buf);
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)doc->nissuers);
		sb_out_str(o, doc->nissuers > 1 ? ",yes," : ",no,");
		issuer_departments(r, doc, buf, sizeof buf);
		put_field(o, buf);
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)nc);
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)ncoded);
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)nh);
		sb_out_char(o, ',');
		sb_out_i64(o, (int64_t)doc->nunplaced);
		sb_out_str(o, doc->converted ? ",yes\n" : ",no\n");
	}
	return finish_file(r, &f);
}

/* ---- tables 2–4 and by province -------------------------------------- */

/* The distinct groups of a dimension, in frame order. */
static size_t groups_of(const run *r, const char *dimension, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t j = 0; j < r->ncat; j++) {
		if (strcmp(dim(r, j), dimension))
			continue;
		const char *g = sb_texts_frame_group(r->f, j);
		size_t k = 0;
		while (k < n && strcmp(out[k], g))
			k++;
		if (k == n && n < max)
			out[n++] = g;
	}
	return n;
}

static long group_count(const run *r, const long *row, const char *dimension, const char *g)
{
	long s = 0;
	for (size_t j = 0; j < r->ncat; j++)
		if (!strcmp(dim(r, j), dimension) && !strcmp(sb_texts_frame_group(r->f, j), g))
			s += row[j];
	return s;
}

static long dim_count(const run *r, const long *row, const char *dimension)
{
	long s = 0;
	for (size_t j = 0; j < r->ncat; j++)
		if (!strcmp(dim(r, j), dimension))
			s += row[j];
	return s;
}

/* Table 2 (goals), 3 (tools), 4 (coordination): a row per group and per
 * category, a count and share per stage, then all stages. A category's share
 * is within its group; a group's within the dimension. */
static sb_status write_stage_table(run *r, const char *file, const char *dimension)
{
	outfile f;
	sb_status st = open_file(r, &f, file);
	if (st)
		return st;
	sb_out *o = &f.o;
	sb_out_str(o, "group,category,id");
	for (size_t s = 0; s <= r->nstages; s++) {
		const char *name = s < r->nstages ? r->stages[s] : "all";
		sb_out_char(o, ',');
		sb_out_str(o, name);
		sb_out_str(o, " count,");
		sb_out_str(o, name);
		sb_out_str(o, " share%");
	}
	sb_out_char(o, '\n');
	const char *groups[SB_TEXTS_MAX_CATEGORIES];
	size_t ng = groups_of(r, dimension, groups, SB_TEXTS_MAX_CATEGORIES);
	for (size_t g = 0; g < ng; g++) {
		if (groups[g][0]) {
			put_field(o, groups[g]);
			sb_out_str(o, ",,");
			for (size_t s = 0; s <= r->nstages; s++) {
				const long *row = r->by_stage + s * r->ncat;
				long c = group_count(r, row, dimension, groups[g]);
				sb_out_char(o, ',');
				sb_out_i64(o, c);
				sb_out_char(o, ',');
				put_share(o, c, dim_count(r, row, dimension));
			}
			sb_out_char(o, '\n');
		}
		for (size_t j = 0; j < r->ncat; j++) {
			if (strcmp(dim(r, j), dimension) || strcmp(sb_texts_frame_group(r->f, j), groups[g]))
				continue;
			put_field(o, groups[g]);
			sb_out_char(o, ',');
			put_field(o, sb_texts_frame_name(r->f, j));
			sb_out_char(o, ',');
			put_field(o, sb_texts_frame_id(r->f, j));
			for (size_t s = 0; s <= r->nstages; s++) {
				const long *row = r->by_stage + s * r->ncat;
				sb_out_char(o, ',');
				sb_out_i64(o, row[j]);
				sb_out_char(o, ',');
				put_share(o, row[j], groups[g][0] ? group_count(r, row, dimension, groups[g])
								  : dim_count(r, row, dimension));
			}
			sb_out_char(o, '\n');
		}
	}
	return finish_file(r, &f);
}

static sb_status write_by_province(run *r)
{
	outfile f;
	sb_status st = open_file(r, &f, "by_province.csv");
	if (st)
		return st;
	sb_out *o = &f.o;
	sb_out_str(o, "dimension,group,category,id");
	for (size_t p = 0; p < r->nprov; p++) {
		sb_out_char(o, ',');
		put_field(o, r->provinces[p]);
	}
	sb_out_str(o, ",all\n");
	for (size_t j = 0; j < r->ncat; j++) {
		put_field(o, dim(r, j));
		sb_out_char(o, ',');
		put_field(o, sb_texts_frame_group(r->f, j));
		sb_out_char(o, ',');
		put_field(o, sb_texts_frame_name(r->f, j));
		sb_out_char(o, ',');
		put_field(o, sb_texts_frame_id(r->f, j));
		for (size_t p = 0; p < r->nprov; p++) {
			sb_out_char(o, ',');
			sb_out_i64(o, r->by_prov[p * r->ncat + j]);
		}
		sb_out_char(o, ',');
		sb_out_i64(o, r->by_stage[r->nstages * r->ncat + j]);
		sb_out_char(o, '\n');
	}
	return finish_file(r, &f);
}

/* ---- tables 5 and 6: tool × goal, coordination × goal ----------------- */

/* cross[s][row category][goal category]: clauses of stage s (nstages = all)
 * coded with both. */
static long *cross_counts(run *r, const char *rowdim)
{
	size_t nc = r->ncat;
	long *x = sb_calloc((r->nstages + 1) * nc * nc, sizeof *x);
	if (!x)
		return NULL;
	for (size_t i = 0; i < r->ndocs; i++) {
		const docinfo *di = &r->docs[i];
		for (size_t k = 0; k < di->doc->nclauses; k++) {
			const sb_texts_codes *c = &di->doc->clauses[k].codes;
			for (size_t a = 0; a < nc; a++) {
				if (!sb_texts_codes_has(c, a) || strcmp(dim(r, a), rowdim))
					continue;
				for (size_t b = 0; b < nc; b++) {
					if (!sb_texts_codes_has(c, b) || strcmp(dim(r, b), "goal"))
						continue;
					x[((size_t)di->si * nc + a) * nc + b]++;
					x[(r->nstages * nc + a) * nc + b]++;
				}
			}
		}
	}
	return x;
}

/* Rows: each group of rowdim and its categories; columns: each goal
 * category, count then the share of the column (among group rows for a
 * group, among the group's categories for a category), stage by stage. */
static sb_status write_cross(run *r, const char *file, const char *rowdim)
{
	long *x = cross_counts(r, rowdim);
	if (!x)
		return sb_diag_set(r->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	outfile f;
	sb_status st = open_file(r, &f, file);
	if (st) {
		sb_free(x);
		return st;
	}
	sb_out *o = &f.o;
	size_t nc = r->ncat;
	sb_out_str(o, "stage,group,category,id");
	for (size_t b = 0; b < nc; b++)
		if (!strcmp(dim(r, b), "goal")) {
			sb_out_char(o, ',');
			sb_out_str(o, sb_texts_frame_name(r->f, b));
			sb_out_str(o, " count,");
			sb_out_str(o, sb_texts_frame_name(r->f, b));
			sb_out_str(o, " share%");
		}
	sb_out_char(o, '\n');
	const char *groups[SB_TEXTS_MAX_CATEGORIES];
	size_t ng = groups_of(r, rowdim, groups, SB_TEXTS_MAX_CATEGORIES);
	for (size_t s = 0; s <= r->nstages; s++) {
		const long *xs = x + s * nc * nc;
		const char *sname = s < r->nstages ? r->stages[s] : "all";
		for (size_t g = 0; g < ng; g++) {
			for (int pass = 0; pass < 2; pass++) {
				for (size_t a = 0; a < (pass ? nc : 1); a++) {
					if (pass && (strcmp(dim(r, a), rowdim) ||
						     strcmp(sb_texts_frame_group(r->f, a), groups[g])))
						continue;
					if (!pass && !groups[g][0])
						continue;
					put_field(o, sname);
					sb_out_char(o, ',');
					put_field(o, groups[g]);
					sb_out_char(o, ',');
					if (pass) {
						put_field(o, sb_texts_frame_name(r->f, a));
						sb_out_char(o, ',');
						put_field(o, sb_texts_frame_id(r->f, a));
					} else {
						sb_out_char(o, ',');
					}
					for (size_t b = 0; b < nc; b++) {
						if (strcmp(dim(r, b), "goal"))
							continue;
						long v = 0, tot = 0;
						for (size_t a2 = 0; a2 < nc; a2++) {
							if (strcmp(dim(r, a2), rowdim))
								continue;
							int same = !strcmp(sb_texts_frame_group(r->f, a2),
									   groups[g]);
							long cell = xs[a2 * nc + b];
							if (pass) {
								if (a2 == a)
									v = cell;
								if (same)
									tot += cell;
							} else {
								if (same)
									v += cell;
								tot += cell;
							}
						}
						sb_out_char(o, ',');
						sb_out_i64(o, v);
						sb_out_char(o, ',');
						put_share(o, v, tot);
					}
					sb_out_char(o, '\n');
				}
			}
		}
	}
	sb_free(x);
	return finish_file(r, &f);
}

/* ---- departments named together -------------------------------------- */

static long *department_pairs(run *r)
{
	size_t nc = r->ncat;
	long *x = sb_calloc(nc * nc, sizeof *x);
	if (!x)
		return NULL;
	for (size_t i = 0; i < r->ndocs; i++) {
		const sb_texts_doc *doc = r->docs[i].doc;
		for (size_t k = 0; k < doc->nclauses; k++) {
			const sb_texts_codes *c = &doc->clauses[k].codes;
			for (size_t a = 0; a < nc; a++)
				if (sb_texts_codes_has(c, a) && !strcmp(dim(r, a), "department"))
					for (size_t b = 0; b < nc; b++)
						if (sb_texts_codes_has(c, b) &&
						    !strcmp(dim(r, b), "department"))
							x[a * nc + b]++;
		}
	}
	return x;
}

static sb_status write_departments(run *r, const long *x)
{
	outfile f;
	sb_status st = open_file(r, &f, "departments.csv");
	if (st)
		return st;
	sb_out *o = &f.o;
	size_t nc = r->ncat;
	sb_out_str(o, "department");
	for (size_t b = 0; b < nc; b++)
		if (!strcmp(dim(r, b), "department")) {
			sb_out_char(o, ',');
			put_field(o, sb_texts_frame_name(r->f, b));
		}
	sb_out_char(o, '\n');
	for (size_t a = 0; a < nc; a++) {
		if (strcmp(dim(r, a), "department"))
			continue;
		put_field(o, sb_texts_frame_name(r->f, a));
		for (size_t b = 0; b < nc; b++)
			if (!strcmp(dim(r, b), "department")) {
				sb_out_char(o, ',');
				sb_out_i64(o, x[a * nc + b]);
			}
		sb_out_char(o, '\n');
	}
	return finish_file(r, &f);
}

/* ---- tables.json ------------------------------------------------------ */

static void json_counts(run *r, sb_out *o, const long *rows, size_t stride, size_t j,
			const char *dimension, const char *group)
{
	sb_out_str(o, "{");
	for (size_t s = 0; s <= r->nstages; s++) {
		const long *row = rows + s * stride;
		long v = j == (size_t)-1 ? group_count(r, row, dimension, group) : row[j];
		long within = j == (size_t)-1 || !group[0] ? dim_count(r, row, dimension) :
							     group_count(r, row, dimension, group);
		long across = 0;
		for (size_t t = 0; t < r->nstages; t++) {
			const long *rt = rows + t * stride;
			across += j == (size_t)-1 ? group_count(r, rt, dimension, group) : rt[j];
		}
		if (s)
			sb_out_char(o, ',');
		sb_out_json_str(o, s < r->nstages ? r->stages[s] : "all");
		sb_out_str(o, ":{\"count\":");
		sb_out_i64(o, v);
		sb_out_str(o, ",\"share\":");
		put_share(o, v, within);
		sb_out_str(o, ",\"share_across_stages\":");
		put_share(o, v, across);
		sb_out_char(o, '}');
	}
	sb_out_char(o, '}');
}

static sb_status write_json(run *r, const sb_texts_totals *t, const long *pairs)
{
	outfile f;
	sb_status st = open_file(r, &f, "tables.json");
	if (st)
		return st;
	sb_out *o = &f.o;
	sb_out_str(o, "{\n  \"frame\": ");
	sb_out_json_str(o, r->f->name);
	sb_out_str(o, ",\n  \"documents\": ");
	sb_out_i64(o, (int64_t)t->documents);
	sb_out_str(o, ",\n  \"clauses\": ");
	sb_out_i64(o, (int64_t)t->clauses);
	sb_out_str(o, ",\n  \"coded_clauses\": ");
	sb_out_i64(o, (int64_t)t->coded);
	sb_out_str(o, ",\n  \"unplaced_lines\": ");
	sb_out_i64(o, (int64_t)t->unplaced);
	sb_out_str(o, ",\n  \"stages\": [");
	for (size_t s = 0; s < r->nstages; s++) {
		if (s)
			sb_out_char(o, ',');
		sb_out_json_str(o, r->stages[s]);
	}
	sb_out_str(o, "],\n  \"documents_by_stage\": {");
	for (size_t s = 0; s < r->nstages; s++) {
		long nd = 0, joint = 0;
		for (size_t i = 0; i < r->ndocs; i++)
			if ((size_t)r->docs[i].si == s) {
				nd++;
				joint += r->docs[i].doc->nissuers > 1;
			}
		if (s)
			sb_out_char(o, ',');
		sb_out_json_str(o, r->stages[s]);
		sb_out_str(o, ":{\"documents\":");
		sb_out_i64(o, nd);
		sb_out_str(o, ",\"jointly_issued\":");
		sb_out_i64(o, joint);
		sb_out_char(o, '}');
	}
	sb_out_str(o, "},\n  \"dimensions\": {");
	const char *dims[SB_TEXTS_MAX_CATEGORIES];
	size_t nd = 0;
	for (size_t j = 0; j < r->ncat; j++) {
		size_t k = 0;
		while (k < nd && strcmp(dims[k], dim(r, j)))
			k++;
		if (k == nd)
			dims[nd++] = dim(r, j);
	}
	for (size_t k = 0; k < nd; k++) {
		sb_out_str(o, k ? ",\n    " : "\n    ");
		sb_out_json_str(o, dims[k]);
		sb_out_str(o, ": {\"groups\": [");
		const char *groups[SB_TEXTS_MAX_CATEGORIES];
		size_t ng = groups_of(r, dims[k], groups, SB_TEXTS_MAX_CATEGORIES);
		int first = 1;
		for (size_t g = 0; g < ng; g++) {
			if (!groups[g][0])
				continue;
			sb_out_str(o, first ? "\n      {\"name\": " : ",\n      {\"name\": ");
			first = 0;
			sb_out_json_str(o, groups[g]);
			sb_out_str(o, ", \"by_stage\": ");
			json_counts(r, o, r->by_stage, r->ncat, (size_t)-1, dims[k], groups[g]);
			sb_out_char(o, '}');
		}
		sb_out_str(o, "],\n      \"categories\": [");
		first = 1;
		for (size_t j = 0; j < r->ncat; j++) {
			if (strcmp(dim(r, j), dims[k]))
				continue;
			sb_out_str(o, first ? "\n      {\"id\": " : ",\n      {\"id\": ");
			first = 0;
			sb_out_json_str(o, sb_texts_frame_id(r->f, j));
			sb_out_str(o, ", \"name\": ");
			sb_out_json_str(o, sb_texts_frame_name(r->f, j));
			sb_out_str(o, ", \"group\": ");
			sb_out_json_str(o, sb_texts_frame_group(r->f, j));
			sb_out_str(o, ", \"by_stage\": ");
			json_counts(r, o, r->by_stage, r->ncat, j, dims[k], sb_texts_frame_group(r->f, j));
			sb_out_str(o, ", \"by_province\": {");
			for (size_t p = 0; p < r->nprov; p++) {
				if (p)
					sb_out_char(o, ',');
				sb_out_json_str(o, r->provinces[p]);
				sb_out_char(o, ':');
				sb_out_i64(o, r->by_prov[p * r->ncat + j]);
			}
			sb_out_str(o, "}}");
		}
		sb_out_str(o, "]}");
	}
	sb_out_str(o, "\n  },\n  \"department_pairs\": [");
	int first = 1;
	for (size_t a = 0; a < r->ncat; a++)
		for (size_t b = a + 1; b < r->ncat; b++) {
			long v = pairs[a * r->ncat + b];
			if (!v)
				continue;
			sb_out_str(o, first ? "\n    {\"a\": " : ",\n    {\"a\": ");
			first = 0;
			sb_out_json_str(o, sb_texts_frame_name(r->f, a));
			sb_out_str(o, ", \"b\": ");
			sb_out_json_str(o, sb_texts_frame_name(r->f, b));
			sb_out_str(o, ", \"clauses\": ");
			sb_out_i64(o, v);
			sb_out_char(o, '}');
		}
	sb_out_str(o, "],\n  \"joint_issuance\": [");
	for (size_t i = 0; i < r->ndocs; i++) {
		const sb_texts_doc *doc = r->docs[i].doc;
		sb_out_str(o, i ? ",\n    {\"document\": " : "\n    {\"document\": ");
		sb_out_json_str(o, doc->name);
		sb_out_str(o, ", \"stage\": ");
		sb_out_json_str(o, r->docs[i].stage);
		sb_out_str(o, ", \"issuers\": [");
		for (size_t k = 0; k < doc->nissuers; k++) {
			if (k)
				sb_out_char(o, ',');
			sb_out_json_str(o, doc->issuers[k]);
		}
		sb_out_str(o, doc->nissuers > 1 ? "], \"joint\": true}" : "], \"joint\": false}");
	}
	sb_out_str(o, "\n  ]\n}\n");
	return finish_file(r, &f);
}

/* ---- agreement with a gold file -------------------------------------- */

typedef struct goldrow {
	const sb_texts_clause *clause;
	sb_texts_codes codes;
} goldrow;

static sb_status read_gold(run *r, goldrow **out, size_t *nout)
{
	const char *path = r->cfg->gold_path;
	sb_csv *c;
	sb_status st = sb_csv_open(path, &c, r->d);
	if (st)
		return st;
	static const char *const n_doc[] = {"document", NULL};
	static const char *const n_path[] = {"path", "clause", NULL};
	static const char *const n_codes[] = {"codes", NULL};
	int cd = sb_csv_find(c, n_doc), cp = sb_csv_find(c, n_path), cc = sb_csv_find(c, n_codes);
	if (cd < 0 || cp < 0 || cc < 0) {
		sb_csv_free(c);
		return sb_diag_set(r->d, SB_EINPUT, path, 1, 1,
				   "a gold file has the columns document, path, codes");
	}
	size_t cap = 0, n = 0;
	goldrow *rows = NULL;
	int k;
	while ((k = sb_csv_next(c, r->d)) != 0) {
		if (k < 0) {
			st = k == -2 ? SB_EIO : SB_ESYNTAX;
			goto out;
		}
		long line = sb_csv_line(c);
		sb_csv_field doc = sb_csv_get(c, (size_t)cd), cl = sb_csv_get(c, (size_t)cp);
		sb_csv_field codes = sb_csv_get(c, (size_t)cc);
		const sb_texts_doc *dd = NULL;
		for (size_t i = 0; i < r->ndocs; i++)
			if (name_eq(r->docs[i].doc->name, doc.p, doc.n))
				dd = r->docs[i].doc;
		if (!dd) {
			st = sb_diag_set(r->d, SB_EINPUT, path, (int)line, 1,
					 "document \"%.*s\" is not among the documents coded", (int)doc.n,
					 doc.p);
			goto out;
		}
		const sb_texts_clause *found = NULL;
		for (size_t i = 0; i < dd->nclauses; i++)
			if (strlen(dd->clauses[i].path) == cl.n && !memcmp(dd->clauses[i].path, cl.p, cl.n))
				found = &dd->clauses[i];
		if (!found || found->heading) {
			st = sb_diag_set(r->d, SB_EINPUT, path, (int)line, 1,
					 "%s has no clause \"%.*s\"%s: the paths are those of "
					 "clauses.csv",
					 dd->name, (int)cl.n, cl.p, found ? " (it is a heading)" : "");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (rows[i].clause == found) {
				st = sb_diag_set(r->d, SB_EINPUT, path, (int)line, 1,
						 "%s %s is coded twice in the gold file", dd->name,
						 found->path);
				goto out;
			}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			goldrow *nr = sb_realloc(rows, cap * sizeof *nr);
			if (!nr) {
				st = sb_diag_set(r->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				goto out;
			}
			rows = nr;
		}
		goldrow *g = &rows[n++];
		memset(g, 0, sizeof *g);
		g->clause = found;
		for (size_t i = 0; i < codes.n;) {
			size_t j = i;
			while (j < codes.n && codes.p[j] != ';')
				j++;
			size_t a = i, b = j;
			while (a < b && codes.p[a] == ' ')
				a++;
			while (b > a && codes.p[b - 1] == ' ')
				b--;
			if (b > a) {
				int id = sb_texts_frame_find(r->f, codes.p + a, b - a);
				if (id < 0) {
					st = sb_diag_set(r->d, SB_EINPUT, path, (int)line, 1,
							 "code \"%.*s\" is not a category of the frame",
							 (int)(b - a), codes.p + a);
					goto out;
				}
				g->codes.bits[id / 64] |= (uint64_t)1 << (id % 64);
			}
			i = j + 1;
		}
	}
out:
	sb_csv_free(c);
	if (st) {
		sb_free(rows);
		return st;
	}
	*out = rows;
	*nout = n;
	return SB_OK;
}

static void put_ratio(sb_out *o, long num, long den)
{
	char buf[32];
	if (den <= 0)
		snprintf(buf, sizeof buf, "-");
	else
		snprintf(buf, sizeof buf, "%.3f", (double)num / (double)den);
	sb_out_str(o, buf);
}

static sb_status agreement(run *r, sb_texts_totals *t)
{
	goldrow *rows = NULL;
	size_t n = 0;
	sb_status st = read_gold(r, &rows, &n);
	if (st)
		return st;
	t->gold_clauses = n;
	outfile f;
	if ((st = open_file(r, &f, "agreement.csv"))) {
		sb_free(rows);
		return st;
	}
	sb_out *o = &f.o;
	sb_out rep;
	sb_out_init_file(&rep, r->cfg->report ? r->cfg->report : stdout);
	sb_out_str(o, "id,category,gold,coder,both,precision,recall,kappa\n");
	char line[512];
	snprintf(line, sizeof line, "\nagreement with %s (%zu clauses; kappa over them, code present or absent):\n"
		 "%-28s %5s %5s %5s %9s %7s %6s\n", r->cfg->gold_path, n, "category", "gold", "coder",
		 "both", "precision", "recall", "kappa");
	sb_out_str(&rep, line);
	long stp = 0, sfp = 0, sfn = 0, stn = 0;
	for (size_t j = 0; j <= r->ncat; j++) {
		long tp = 0, fp = 0, fn = 0, tn = 0;
		if (j < r->ncat) {
			for (size_t i = 0; i < n; i++) {
				int g = sb_texts_codes_has(&rows[i].codes, j);
				int c = sb_texts_codes_has(&rows[i].clause->codes, j);
				tp += g && c, fp += !g && c, fn += g && !c, tn += !g && !c;
			}
			if (!tp && !fp && !fn)
				continue; /* neither rater used it on these clauses */
			stp += tp, sfp += fp, sfn += fn, stn += tn;
		} else {
			tp = stp, fp = sfp, fn = sfn, tn = stn;
		}
		const char *id = j < r->ncat ? sb_texts_frame_id(r->f, j) : "(all categories)";
		double kappa = sb_texts_kappa(tp, fp, fn, tn);
		if (kappa > -0.0005 && kappa < 0.0005)
			kappa = 0.0; /* no "-0.000" */
		put_field(o, id);
		sb_out_char(o, ',');
		put_field(o, j < r->ncat ? sb_texts_frame_name(r->f, j) : "");
		sb_out_char(o, ',');
		sb_out_i64(o, tp + fn);
		sb_out_char(o, ',');
		sb_out_i64(o, tp + fp);
		sb_out_char(o, ',');
		sb_out_i64(o, tp);
		sb_out_char(o, ',');
		put_ratio(o, tp, tp + fp);
		sb_out_char(o, ',');
		put_ratio(o, tp, tp + fn);
		snprintf(line, sizeof line, ",%.3f\n", kappa);
		sb_out_str(o, line);
		char pr[16], rc[16];
		if (tp + fp)
			snprintf(pr, sizeof pr, "%.3f", (double)tp / (double)(tp + fp));
		else
			snprintf(pr, sizeof pr, "-");
		if (tp + fn)
			snprintf(rc, sizeof rc, "%.3f", (double)tp / (double)(tp + fn));
		else
			snprintf(rc, sizeof rc, "-");
		snprintf(line, sizeof line, "%-28s %5ld %5ld %5ld %9s %7s %6.3f\n", id, tp + fn,
			 tp + fp, tp, pr, rc, kappa);
		sb_out_str(&rep, line);
	}
	sb_free(rows);
	sb_status rs = sb_out_close(&rep, "(report)", r->d);
	st = finish_file(r, &f);
	return st ? st : rs;
}

/* ---- the run ---------------------------------------------------------- */

sb_status sb_texts_run(const sb_texts_config *cfg, sb_texts_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	run r;
	memset(&r, 0, sizeof r);
	r.cfg = cfg;
	r.d = d;
	sb_arena_init(&r.a);
	sb_texts_frame *frame = NULL;
	long *pairs = NULL;
	sb_status st = sb_texts_frame_load(cfg->frame_path, &frame, d);
	if (st)
		goto done;
	r.f = frame;
	r.ncat = sb_texts_frame_ncategories(frame);
	if (!cfg->ndocs) {
		st = sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "no documents given");
		goto done;
	}
	r.docs = sb_arena_alloc(&r.a, cfg->ndocs * sizeof *r.docs);
	if (!r.docs) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < cfg->ndocs; i++) {
		if ((st = sb_texts_read(&r.a, cfg->docs[i], &r.docs[i].doc, d)))
			goto done;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(r.docs[k].doc->name, r.docs[i].doc->name)) {
				st = sb_diag_set(d, SB_EINPUT, cfg->docs[i], 0, 0,
						 "a second document named %s: documents are told apart "
						 "by file name", r.docs[i].doc->name);
				goto done;
			}
		r.ndocs++;
	}
	t->documents = r.ndocs;
	if (cfg->meta_path && (st = read_meta(&r)))
		goto done;
	if ((st = code_all(&r, t)))
		goto done;
	if (mkdir(cfg->out_dir, 0777) && errno != EEXIST) {
		st = sb_diag_set(d, SB_EIO, cfg->out_dir, 0, 0, "cannot create: %s", strerror(errno));
		goto done;
	}
	if (!(pairs = department_pairs(&r))) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto done;
	}
	if ((st = write_clauses(&r)) || (st = write_documents(&r)) ||
	    (st = write_stage_table(&r, "table2_goals.csv", "goal")) ||
	    (st = write_stage_table(&r, "table3_tools.csv", "tool")) ||
	    (st = write_stage_table(&r, "table4_coordination.csv", "coordination")) ||
	    (st = write_cross(&r, "table5_tool_goal.csv", "tool")) ||
	    (st = write_cross(&r, "table6_coordination_goal.csv", "coordination")) ||
	    (st = write_by_province(&r)) || (st = write_departments(&r, pairs)) ||
	    (st = write_json(&r, t, pairs)))
		goto done;
	if (cfg->gold_path)
		st = agreement(&r, t);
done:
	sb_free(pairs);
	sb_free(r.by_stage);
	sb_free(r.by_prov);
	sb_texts_frame_free(frame);
	sb_arena_release(&r.a);
	return st;
}
