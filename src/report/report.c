/* report.c: the HTML report (see report.h). The page is a template: the
 * style sheet, ECharts, the inputs' JSON (as application/json scripts) and
 * the page's script that builds the tables and charts from them. */
#include "report/report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/csv.h"
#include "batch/rejects.h"
#include "io/outfile.h"

/* ---- a JSON syntax check with the place of the first error -------------- */

typedef struct jp {
	const char *p, *s, *e;
	const char *file;
	int depth;
} jp;

static sb_status jerr(jp *j, sb_diag *d, const char *what)
{
	int line = 1, col = 1;
	for (const char *q = j->s; q < j->p; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*q & 0xc0) != 0x80) {
			col++;
		}
	}
	return sb_diag_set(d, SB_EINPUT, j->file, line, col, "not JSON: expected %s%s", what,
			   j->p >= j->e ? " (the file ends here)" : "");
}

static void ws(jp *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static sb_status jvalue(jp *j, sb_diag *d);

static sb_status jstring(jp *j, sb_diag *d)
{
	j->p++; /* the opening quote */
	while (j->p < j->e && *j->p != '"') {
		unsigned char ch = (unsigned char)*j->p;
		if (ch < 0x20)
			return jerr(j, d, "a character of a string (a control character must be escaped)");
		if (ch == '\\') {
			j->p++;
			if (j->p >= j->e || !strchr("\"\\/bfnrtu", *j->p))
				return jerr(j, d, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
			if (*j->p == 'u')
				for (int k = 0; k < 4; k++) {
					j->p++;
					if (j->p >= j->e || !strchr("0123456789abcdefABCDEF", *j->p))
						return jerr(j, d, "4 hex digits after \\u");
				}
		}
		j->p++;
	}
	if (j->p >= j->e)
		return jerr(j, d, "the closing quote of a string");
	j->p++;
	return SB_OK;
}

static bool digit(const jp *j)
{
	return j->p < j->e && *j->p >= '0' && *j->p <= '9';
}

static sb_status jnumber(jp *j, sb_diag *d)
{
	if (*j->p == '-')
		j->p++;
	if (!digit(j))
		return jerr(j, d, "a digit");
	if (*j->p == '0')
		j->p++;
	else
		while (digit(j))
			j->p++;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (!digit(j))
			return jerr(j, d, "a digit after the decimal point");
		while (digit(j))
			j->p++;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digit(j))
			return jerr(j, d, "a digit of the exponent");
		while (digit(j))
			j->p++;
	}
	return SB_OK;
}

static sb_status jword(jp *j, const char *w, sb_diag *d)
{
	size_t n = strlen(w);
	if ((size_t)(j->e - j->p) < n || memcmp(j->p, w, n))
		return jerr(j, d, "a value (an object, array, string, number, true, false or null)");
	j->p += n;
	return SB_OK;
}

static sb_status jvalue(jp *j, sb_diag *d)
{
	ws(j);
	if (j->p >= j->e)
		return jerr(j, d, "a value");
	if (++j->depth > 200)
		return jerr(j, d, "less nesting (at most 200 levels)");
	sb_status st = SB_OK;
	char ch = *j->p;
	if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		j->p++;
		ws(j);
		if (j->p < j->e && *j->p == close) {
			j->p++;
		} else {
			for (;;) {
				ws(j);
				if (close == '}') {
					if (j->p >= j->e || *j->p != '"')
						return jerr(j, d, "a member name in quotes");
					if ((st = jstring(j, d)))
						return st;
					ws(j);
					if (j->p >= j->e || *j->p != ':')
						return jerr(j, d, "':' after the member name");
					j->p++;
				}
				if ((st = jvalue(j, d)))
					return st;
				ws(j);
				if (j->p < j->e && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->e && *j->p == close) {
					j->p++;
					break;
				}
				return jerr(j, d, close == '}' ? "',' or '}'" : "',' or ']'");
			}
		}
	} else if (ch == '"') {
		st = jstring(j, d);
	} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
		st = jnumber(j, d);
	} else if (ch == 't') {
		st = jword(j, "true", d);
	} else if (ch == 'f') {
		st = jword(j, "false", d);
	} else {
		st = jword(j, "null", d);
	}
	j->depth--;
	return st;
}

sb_status sb_report_json_check(const char *file, const char *p, size_t n, sb_diag *d)
{
	jp j = {.p = p, .s = p, .e = p + n, .file = file};
	sb_status st = jvalue(&j, d);
	if (st)
		return st;
	ws(&j);
	if (j.p != j.e)
		return jerr(&j, d, "the end of the file after the value");
	return SB_OK;
}

/* ---- the page ----------------------------------------------------------- */

static sb_status slurp(const char *path, char **out, size_t *len, bool *missing, sb_diag *d)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	*len = 0;
	if (missing)
		*missing = false;
	if (!f) {
		if (errno == ENOENT && missing) {
			*missing = true;
			return SB_OK;
		}
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = sb_malloc(cap);
	if (!buf) {
		fclose(f);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	for (;;) {
		if (n == cap) {
			if (cap > ((size_t)1 << 32)) {
				sb_free(buf);
				fclose(f);
				return sb_diag_set(d, SB_ELIMIT, path, 0, 0, "larger than 4 GB");
			}
			char *nb = sb_malloc(cap * 2);
			if (!nb) {
				sb_free(buf);
				fclose(f);
				return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			}
			memcpy(nb, buf, n);
			sb_free(buf);
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	bool err = ferror(f);
	fclose(f);
	if (err) {
		sb_free(buf);
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read");
	}
	*out = buf;
	*len = n;
	return SB_OK;
}

typedef struct page {
	sb_outfile *f;
	sb_diag *d;
	sb_status st;
} page;

static void put(page *pg, const char *p, size_t n)
{
	if (!pg->st && n)
		pg->st = sb_outfile_write(pg->f, p, n, pg->d);
}

static void puts_(page *pg, const char *s)
{
	put(pg, s, strlen(s));
}

/* Text inside a <script> element: "</" would end it early, so it is
 * written "<\/" (the same string in JavaScript and in JSON). */
static void put_script_text(page *pg, const char *p, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '<' && p[i + 1] == '/') {
			put(pg, p + from, i + 1 - from);
			puts_(pg, "\\");
			from = i + 1;
		}
	put(pg, p + from, n - from);
}

static void put_html_text(page *pg, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': puts_(pg, "&lt;"); break;
		case '>': puts_(pg, "&gt;"); break;
		case '&': puts_(pg, "&amp;"); break;
		case '"': puts_(pg, "&quot;"); break;
		default: put(pg, s, 1);
		}
	}
}

static sb_status asset(const sb_report_config *cfg, const char *name, char **out, size_t *len,
		       sb_diag *d)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", cfg->assets, name);
	bool missing;
	sb_status st = slurp(path, out, len, &missing, d);
	if (!st && missing)
		return sb_diag_set(d, SB_EIO, path, 0, 0,
				   "missing: the report's assets are installed by `make report-deps` "
				   "(npm ci in report/); or give --assets DIR");
	return st;
}

/* What an output folder may hold: the file, the kind the page knows it by,
 * and whether it is a CSV (put in the page as JSON, see csv_to_json). A
 * folder's kind is told by the files it holds: settle (summary.json,
 * monitor.json), compare (compare.json), roster (roster_summary.json),
 * code-texts (tables.json with the cross-tables of table5/table6), project
 * (projection.json), fund (fund.json). */
static const struct {
	const char *file, *kind;
	bool csv;
	int beside; /* a CSV goes only beside this kind's JSON */
} kinds[] = {
	{"summary.json", "summary", false, 0},
	{"monitor.json", "monitor", false, 0},
	{"compare.json", "compare", false, 0},
	{"roster_summary.json", "roster", false, 0},
	{"tables.json", "texts", false, 0},
	{"table5_tool_goal.csv", "tool_goal", true, 4},
	{"table6_coordination_goal.csv", "coordination_goal", true, 4},
	{"audit.json", "audit", false, 0},
	{"findings.csv", "findings", true, 7},
	{"projection.json", "projection", false, 0},
	{"fund.json", "fund", false, 0},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])
#define KIND_AUDIT 7 /* an audit folder: its summary.json (the recomputation) is not shown */
/* findings.csv: the rows of the largest amounts at risk, with their row
 * numbers in the file ("index"), so the page shows the top findings of any
 * audit without carrying all of them. */
#define FINDINGS_TOP 50

typedef struct buf {
	char *p;
	size_t n, cap;
	bool oom;
} buf;

static void bput(buf *b, const char *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *np = sb_malloc(cap);
		if (!np) {
			b->oom = true;
			return;
		}
		if (b->n)
			memcpy(np, b->p, b->n);
		sb_free(b->p);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void bputs(buf *b, const char *s)
{
	bput(b, s, strlen(s));
}

/* A JSON string of p[0..n) (UTF-8, checked by the CSV reader). */
static void bstring(buf *b, const char *p, size_t n)
{
	bputs(b, "\"");
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		bput(b, p + from, i - from);
		char esc[8];
		if (ch == '"' || ch == '\\')
			snprintf(esc, sizeof esc, "\\%c", ch);
		else
			snprintf(esc, sizeof esc, "\\u%04x", ch);
		bputs(b, esc);
		from = i + 1;
	}
	bput(b, p + from, n - from);
	bputs(b, "\"");
}

/* A CSV table as JSON: {"file": NAME, "header": [...], "rows": [[...], ...]},
 * every field a string as written (the page reads the numbers). A malformed
 * record is an error with its place: the report shows the table whole or
 * not at all. *missing when the file is absent. */
typedef struct toprow {
	sb_fen risk;
	size_t index, from, n; /* the row's JSON text in rows */
} toprow;

static int cmp_top(const void *a, const void *b)
{
	const toprow *x = a, *y = b;
	if (x->risk != y->risk)
		return x->risk > y->risk ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static sb_status csv_to_json(const char *path, const char *name, char **out, size_t *len,
			     bool *missing, sb_diag *d);

/* findings.csv as csv_to_json's shape, only the FINDINGS_TOP rows of the
 * largest at_risk (ties in file order), largest first, with "index" (their
 * 0-based row numbers in the file) and "rows_total". */
static sb_status findings_to_json(const char *path, const char *name, char **out, size_t *len,
				  bool *missing, sb_diag *d)
{
	*out = NULL;
	*len = 0;
	*missing = false;
	if (access(path, F_OK) && errno == ENOENT) {
		*missing = true;
		return SB_OK;
	}
	sb_csv *c = NULL;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	static const char *const risk_col[] = {"at_risk", NULL};
	int rc = sb_csv_find(c, risk_col);
	buf b = {0}, rows = {0};
	toprow *v = NULL;
	size_t nv = 0, cap = 0;
	bputs(&b, "{\"file\": ");
	bstring(&b, name, strlen(name));
	bputs(&b, ", \"header\": [");
	for (size_t i = 0; i < sb_csv_ncols(c); i++) {
		sb_csv_field f = sb_csv_header(c, i);
		if (i)
			bputs(&b, ", ");
		bstring(&b, f.p, f.n);
	}
	int r;
	while ((r = sb_csv_next(c, d)) == 1) {
		if (nv == cap) {
			size_t nc = cap ? cap * 2 : 256;
			toprow *w = sb_realloc(v, nc * sizeof *w);
			if (!w) {
				rows.oom = true;
				break;
			}
			v = w;
			cap = nc;
		}
		toprow *t = &v[nv];
		t->index = nv++;
		t->risk = 0;
		if (rc >= 0) {
			sb_csv_field f = sb_csv_get(c, (size_t)rc);
			const char *why;
			if (sb_money_parse(f.p, f.n, &t->risk, &why))
				t->risk = 0;
		}
		t->from = rows.n;
		bputs(&rows, "[");
		for (size_t i = 0; i < sb_csv_nfields(c); i++) {
			sb_csv_field f = sb_csv_get(c, i);
			if (i)
				bputs(&rows, ", ");
			bstring(&rows, f.p, f.n);
		}
		bputs(&rows, "]");
		t->n = rows.n - t->from;
	}
	sb_csv_free(c);
	if (r < 0) {
		sb_free(b.p);
		sb_free(rows.p);
		sb_free(v);
		return r == -1 ? SB_EINPUT : SB_EIO; /* d names the place */
	}
	if (nv)
		qsort(v, nv, sizeof *v, cmp_top);
	size_t keep = nv < FINDINGS_TOP ? nv : FINDINGS_TOP;
	bputs(&b, "],\n \"rows_total\": ");
	char num[32];
	snprintf(num, sizeof num, "%zu", nv);
	bputs(&b, num);
	bputs(&b, ",\n \"index\": [");
	for (size_t i = 0; i < keep; i++) {
		snprintf(num, sizeof num, "%s%zu", i ? ", " : "", v[i].index);
		bputs(&b, num);
	}
	bputs(&b, "],\n \"rows\": [");
	for (size_t i = 0; i < keep; i++) {
		bputs(&b, i ? ",\n  " : "\n  ");
		if (!rows.oom)
			bput(&b, rows.p + v[i].from, v[i].n);
	}
	bputs(&b, "]}\n");
	sb_free(rows.p);
	sb_free(v);
	if (b.oom || rows.oom) {
		sb_free(b.p);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	*out = b.p;
	*len = b.n;
	return SB_OK;
}

static sb_status csv_to_json(const char *path, const char *name, char **out, size_t *len,
			     bool *missing, sb_diag *d)
{
	*out = NULL;
	*len = 0;
	*missing = false;
	if (access(path, F_OK) && errno == ENOENT) {
		*missing = true;
		return SB_OK;
	}
	sb_csv *c = NULL;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	buf b = {0};
	bputs(&b, "{\"file\": ");
	bstring(&b, name, strlen(name));
	bputs(&b, ", \"header\": [");
	for (size_t i = 0; i < sb_csv_ncols(c); i++) {
		sb_csv_field f = sb_csv_header(c, i);
		if (i)
			bputs(&b, ", ");
		bstring(&b, f.p, f.n);
	}
	bputs(&b, "],\n \"rows\": [");
	int r, k = 0;
	while ((r = sb_csv_next(c, d)) == 1) {
		bputs(&b, k++ ? ",\n  [" : "\n  [");
		for (size_t i = 0; i < sb_csv_nfields(c); i++) {
			sb_csv_field f = sb_csv_get(c, i);
			if (i)
				bputs(&b, ", ");
			bstring(&b, f.p, f.n);
		}
		bputs(&b, "]");
	}
	sb_csv_free(c);
	if (r < 0) {
		sb_free(b.p);
		return r == -1 ? SB_EINPUT : SB_EIO; /* d names the place */
	}
	bputs(&b, "]}\n");
	if (b.oom) {
		sb_free(b.p);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	*out = b.p;
	*len = b.n;
	return SB_OK;
}

sb_status sb_report_write(const sb_report_config *cfg, sb_report_stats *stats, sb_diag *d)
{
	memset(stats, 0, sizeof *stats);
	char *data[SB_REPORT_MAX_INPUTS][NKINDS];
	size_t len[SB_REPORT_MAX_INPUTS][NKINDS];
	memset(data, 0, sizeof data);
	memset(len, 0, sizeof len);
	char *css = NULL, *js = NULL, *ec = NULL;
	size_t ncss = 0, njs = 0, nec = 0;
	sb_status st = SB_OK;
	sb_outfile *f = NULL;
	for (int i = 0; i < cfg->nin && !st; i++) {
		int found = 0;
		char apath[PATH_MAX];
		snprintf(apath, sizeof apath, "%s/%s", cfg->in[i], kinds[KIND_AUDIT].file);
		bool audit_folder = !access(apath, F_OK);
		for (size_t k = 0; k < NKINDS && !st; k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/%s", cfg->in[i], kinds[k].file);
			bool missing;
			if (audit_folder && k < KIND_AUDIT)
				continue; /* the audit's recomputation is not a settlement to report */
			if (kinds[k].csv) {
				/* a CSV only beside its JSON (the cross-tables beside
				 * tables.json, findings.csv beside audit.json) */
				if (!data[i][kinds[k].beside])
					continue;
				if ((st = (!strcmp(kinds[k].kind, "findings") ? findings_to_json : csv_to_json)(
					     path, kinds[k].file, &data[i][k], &len[i][k], &missing, d)) ||
				    missing)
					continue;
			} else {
				if ((st = slurp(path, &data[i][k], &len[i][k], &missing, d)) ||
				    missing)
					continue;
				if ((st = sb_report_json_check(path, data[i][k], len[i][k], d)))
					break;
			}
			/* No resident ID reaches the page. */
			char *masked = sb_malloc(len[i][k] + 1);
			if (!masked) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			stats->masked += sb_mask_id_tokens(data[i][k], len[i][k], masked);
			sb_free(data[i][k]);
			data[i][k] = masked;
			found++;
			stats->files++;
		}
		if (!st && !found)
			st = sb_diag_set(d, SB_EINPUT, cfg->in[i], 0, 0,
					 "holds none of summary.json, monitor.json, compare.json, "
					 "roster_summary.json, fund.json, tables.json, audit.json, "
					 "projection.json: give the --out folder of `sanbao settle`, "
					 "`compare`, `roster`, `fund`, `code-texts`, `audit` or `project`");
	}
	if (!st)
		st = asset(cfg, "style.css", &css, &ncss, d);
	if (!st)
		st = asset(cfg, "app.js", &js, &njs, d);
	if (!st)
		st = asset(cfg, "node_modules/echarts/dist/echarts.min.js", &ec, &nec, d);
	char dir[PATH_MAX];
	const char *slash = strrchr(cfg->out, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - cfg->out), cfg->out);
	else
		snprintf(dir, sizeof dir, ".");
	if (!st)
		st = sb_outfile_open(*dir ? dir : "/", slash ? slash + 1 : cfg->out, &f, d);
	if (st)
		goto out;
	page pg = {.f = f, .d = d};
	const char *title = cfg->title ? cfg->title : "sanbao 报告 · report";
	puts_(&pg, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<meta name=\"generator\" content=\"sanbao report\">\n<title>");
	put_html_text(&pg, title);
	puts_(&pg, "</title>\n<style>\n");
	put_script_text(&pg, css, ncss);
	puts_(&pg, "</style>\n</head>\n<body>\n<header><h1>");
	put_html_text(&pg, title);
	puts_(&pg, "</h1><p class=\"sources\">");
	for (int i = 0; i < cfg->nin; i++) {
		puts_(&pg, i ? " · " : "来源 sources: ");
		put_html_text(&pg, cfg->in[i]);
	}
	puts_(&pg, "</p></header>\n<main id=\"report\"><noscript>这份报告需要 JavaScript · "
		   "this report needs JavaScript</noscript></main>\n");
	for (int i = 0; i < cfg->nin; i++)
		for (size_t k = 0; k < NKINDS; k++) {
			if (!data[i][k])
				continue;
			char head[160];
			snprintf(head, sizeof head,
				 "<script type=\"application/json\" class=\"sb-data\" data-kind=\"%s\" "
				 "data-input=\"%d\">",
				 kinds[k].kind, i);
			puts_(&pg, head);
			put_script_text(&pg, data[i][k], len[i][k]);
			puts_(&pg, "</script>\n");
		}
	puts_(&pg, "<script>\n");
	put_script_text(&pg, ec, nec);
	puts_(&pg, "\n</script>\n<script>\n");
	put_script_text(&pg, js, njs);
	puts_(&pg, "\n</script>\n</body>\n</html>\n");
	st = pg.st;
	if (!st) {
		long pos = ftell(sb_outfile_stream(f));
		stats->bytes = pos > 0 ? (size_t)pos : 0;
		st = sb_outfile_commit(f, d);
	} else {
		sb_outfile_abort(f);
	}
	f = NULL;
out:
	for (int i = 0; i < SB_REPORT_MAX_INPUTS; i++)
		for (size_t k = 0; k < NKINDS; k++)
			sb_free(data[i][k]);
	sb_free(css);
	sb_free(js);
	sb_free(ec);
	return st;
}
