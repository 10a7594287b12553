/* frame.c: the coding frame as data. A YAML file lists stages (by year)
 * and categories, each in a dimension (goal, tool, coordination,
 * department) and a group (合理确定保障水平, 供给型 …), with terms that code a
 * clause when they occur in it; a term may require a co-term or exclude
 * one. All strings go into one Aho–Corasick automaton, so coding a clause
 * is one pass over its bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "policy/ydoc.h"
#include "texts/texts_int.h"

static char *dup_text(sb_ynode n)
{
	size_t len;
	const char *s = sb_ynode_text(n, &len);
	if (!s)
		return NULL;
	char *p = sb_malloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void sb_texts_frame_free(sb_texts_frame *f)
{
	if (!f)
		return;
	sb_free(f->name);
	for (size_t i = 0; i < f->ncats; i++) {
		sb_texts_category *c = &f->cats[i];
		sb_free(c->id);
		sb_free(c->name);
		sb_free(c->dimension);
		sb_free(c->group);
		for (size_t k = 0; k < c->nterms; k++) {
			sb_free(c->terms[k].requires);
			sb_free(c->terms[k].excludes);
		}
		sb_free(c->terms);
	}
	for (size_t i = 0; i < f->nstrs; i++)
		sb_free(f->strs[i]);
	sb_free(f->strs);
	sb_free(f->strlens);
	for (size_t i = 0; i < f->nstages; i++)
		sb_free(f->stages[i].name);
	sb_ac_free(f->ac);
	sb_free(f);
}

/* The index of string s in the frame, added when new. -1 out of memory,
 * -2 over the limit. */
static int intern(sb_texts_frame *f, const char *s, size_t n)
{
	for (size_t i = 0; i < f->nstrs; i++)
		if (f->strlens[i] == n && !memcmp(f->strs[i], s, n))
			return (int)i;
	if (f->nstrs == SB_TEXTS_MAX_TERMS)
		return -2;
	if (f->nstrs == f->capstrs) {
		size_t cap = f->capstrs ? f->capstrs * 2 : 256;
		char **ns = sb_realloc(f->strs, cap * sizeof *ns);
		if (!ns)
			return -1;
		f->strs = ns;
		size_t *nl = sb_realloc(f->strlens, cap * sizeof *nl);
		if (!nl)
			return -1;
		f->strlens = nl;
		f->capstrs = cap;
	}
	char *p = sb_malloc(n + 1);
	if (!p)
		return -1;
	memcpy(p, s, n);
	p[n] = '\0';
	f->strs[f->nstrs] = p;
	f->strlens[f->nstrs] = n;
	return (int)f->nstrs++;
}

static sb_status intern_node(sb_texts_frame *f, sb_ynode n, const char *what, int *out,
			     sb_diag *d)
{
	size_t len;
	const char *s = sb_ynode_text(n, &len);
	if (!s || !len)
		return sb_ynode_error(d, SB_EPOLICY, n, "%s must be a non-empty string", what);
	int k = intern(f, s, len);
	if (k == -1)
		return sb_ynode_error(d, SB_ENOMEM, n, "out of memory");
	if (k == -2)
		return sb_ynode_error(d, SB_ELIMIT, n, "more than %d distinct terms in the frame",
				      SB_TEXTS_MAX_TERMS);
	*out = k;
	return SB_OK;
}

static sb_status string_list(sb_texts_frame *f, sb_ynode n, const char *what, int **out,
			     size_t *count, sb_diag *d)
{
	if (sb_ynode_is_scalar(n)) {
		*out = sb_malloc(sizeof **out);
		if (!*out)
			return sb_ynode_error(d, SB_ENOMEM, n, "out of memory");
		*count = 1;
		return intern_node(f, n, what, *out, d);
	}
	if (!sb_ynode_is_seq(n))
		return sb_ynode_error(d, SB_EPOLICY, n, "%s must be a term or a list of terms", what);
	size_t len = sb_ynode_len(n);
	*out = sb_calloc(len ? len : 1, sizeof **out);
	if (!*out)
		return sb_ynode_error(d, SB_ENOMEM, n, "out of memory");
	*count = len;
	for (size_t i = 0; i < len; i++) {
		sb_status st = intern_node(f, sb_ynode_item(n, i), what, &(*out)[i], d);
		if (st)
			return st;
	}
	return SB_OK;
}

static sb_status load_term(sb_texts_frame *f, sb_ynode n, sb_texts_term *t, sb_diag *d)
{
	static const char *const keys[] = {"term", "requires", "excludes", "note", NULL};
	if (sb_ynode_is_scalar(n))
		return intern_node(f, n, "a term", &t->str, d);
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "a term is a string or a mapping {term: T, requires: [..], "
				      "excludes: [..]}");
	sb_status st = sb_ynode_check_keys(n, "term", keys, d);
	if (st)
		return st;
	sb_ynode term = sb_ynode_get(n, "term");
	if (!term.n)
		return sb_ynode_error(d, SB_EPOLICY, n, "a term with conditions needs `term:`");
	if ((st = intern_node(f, term, "term", &t->str, d)))
		return st;
	sb_ynode req = sb_ynode_get(n, "requires"), exc = sb_ynode_get(n, "excludes");
	if (!req.n && !exc.n)
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "a term written as a mapping needs `requires:` or `excludes:` "
				      "(else write the bare term)");
	if (req.n && (st = string_list(f, req, "requires", &t->requires, &t->nrequires, d)))
		return st;
	if (exc.n && (st = string_list(f, exc, "excludes", &t->excludes, &t->nexcludes, d)))
		return st;
	return SB_OK;
}

static sb_status required_text(sb_ynode map, const char *key, const char *what, char **out,
			       sb_diag *d)
{
	sb_ynode v = sb_ynode_get(map, key);
	size_t len;
	if (!v.n || !sb_ynode_text(v, &len) || !len)
		return sb_ynode_error(d, SB_EPOLICY, v.n ? v : map, "%s needs `%s:` (a string)", what,
				      key);
	*out = dup_text(v);
	return *out ? SB_OK : sb_ynode_error(d, SB_ENOMEM, v, "out of memory");
}

static sb_status load_category(sb_texts_frame *f, sb_ynode n, sb_diag *d)
{
	static const char *const keys[] = {"id", "name", "dimension", "group", "source",
					   "note", "terms", "min_departments", NULL};
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n, "a category is a mapping with id, name, "
							"dimension, terms");
	sb_status st = sb_ynode_check_keys(n, "category", keys, d);
	if (st)
		return st;
	if (f->ncats == SB_TEXTS_MAX_CATEGORIES)
		return sb_ynode_error(d, SB_ELIMIT, n, "more than %d categories",
				      SB_TEXTS_MAX_CATEGORIES);
	sb_texts_category *c = &f->cats[f->ncats++];
	if ((st = required_text(n, "id", "a category", &c->id, d)) ||
	    (st = required_text(n, "name", "a category", &c->name, d)) ||
	    (st = required_text(n, "dimension", "a category", &c->dimension, d)))
		return st;
	for (const char *p = c->id; *p; p++)
		if (*p == ';' || *p == ',' || *p == ' ' || *p == '"')
			return sb_ynode_error(d, SB_EPOLICY, sb_ynode_get(n, "id"),
					      "category id \"%s\" holds '%c': ids are written into "
					      "CSV lists, use letters, digits, '.', '_' or '-'",
					      c->id, *p);
	for (size_t i = 0; i + 1 < f->ncats; i++)
		if (!strcmp(f->cats[i].id, c->id))
			return sb_ynode_error(d, SB_EPOLICY, sb_ynode_get(n, "id"),
					      "category id \"%s\" appears twice", c->id);
	sb_ynode g = sb_ynode_get(n, "group");
	if (g.n) {
		if (!sb_ynode_is_scalar(g))
			return sb_ynode_error(d, SB_EPOLICY, g, "group must be a string");
		if (!(c->group = dup_text(g)))
			return sb_ynode_error(d, SB_ENOMEM, g, "out of memory");
	}
	sb_ynode md = sb_ynode_get(n, "min_departments");
	if (md.n) {
		size_t len;
		const char *s = sb_ynode_text(md, &len);
		if (!s || len != 1 || s[0] < '1' || s[0] > '9')
			return sb_ynode_error(d, SB_EPOLICY, md,
					      "min_departments must be a whole number from 1 to 9");
		c->min_departments = s[0] - '0';
	}
	sb_ynode terms = sb_ynode_get(n, "terms");
	if (!terms.n) {
		if (!c->min_departments)
			return sb_ynode_error(d, SB_EPOLICY, n,
					      "category \"%s\" needs `terms:` (or min_departments)",
					      c->id);
		return SB_OK;
	}
	if (!sb_ynode_is_seq(terms) || !sb_ynode_len(terms))
		return sb_ynode_error(d, SB_EPOLICY, terms, "terms must be a non-empty list");
	size_t len = sb_ynode_len(terms);
	c->terms = sb_calloc(len, sizeof *c->terms);
	if (!c->terms)
		return sb_ynode_error(d, SB_ENOMEM, terms, "out of memory");
	for (size_t i = 0; i < len; i++) {
		c->nterms = i + 1;
		if ((st = load_term(f, sb_ynode_item(terms, i), &c->terms[i], d)))
			return st;
	}
	return SB_OK;
}

static sb_status load_stage(sb_texts_frame *f, sb_ynode n, sb_diag *d)
{
	static const char *const keys[] = {"name", "from", "until", NULL};
	sb_status st;
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n, "a stage is {name: N, from: YEAR, until: YEAR}");
	if ((st = sb_ynode_check_keys(n, "stage", keys, d)))
		return st;
	if (f->nstages == sizeof f->stages / sizeof f->stages[0])
		return sb_ynode_error(d, SB_ELIMIT, n, "more than 16 stages");
	sb_texts_stage *s = &f->stages[f->nstages++];
	if ((st = required_text(n, "name", "a stage", &s->name, d)))
		return st;
	const char *k[2] = {"from", "until"};
	int *v[2] = {&s->from, &s->until};
	for (int i = 0; i < 2; i++) {
		sb_ynode y = sb_ynode_get(n, k[i]);
		if (!y.n)
			continue;
		size_t len;
		const char *t = sb_ynode_text(y, &len);
		char tmp[8];
		if (!t || len != 4 || !memcpy(tmp, t, 4) || (tmp[4] = '\0', atoi(tmp) < 1900))
			return sb_ynode_error(d, SB_EPOLICY, y, "%s must be a year such as 2021", k[i]);
		*v[i] = atoi(tmp);
	}
	return SB_OK;
}

static sb_status load_root(sb_texts_frame *f, sb_ydoc *doc, sb_diag *d)
{
	static const char *const keys[] = {"frame", "title", "source", "note", "stages",
					   "categories", NULL};
	sb_ynode root = sb_ydoc_root(doc);
	sb_status st;
	if (!sb_ynode_is_map(root))
		return sb_ynode_error(d, SB_EPOLICY, root, "a frame is a mapping with `frame:`, "
							   "`stages:` and `categories:`");
	if ((st = sb_ynode_check_keys(root, "frame", keys, d)))
		return st;
	if ((st = required_text(root, "frame", "the frame", &f->name, d)))
		return st;
	sb_ynode stages = sb_ynode_get(root, "stages");
	if (stages.n) {
		if (!sb_ynode_is_seq(stages))
			return sb_ynode_error(d, SB_EPOLICY, stages, "stages must be a list");
		for (size_t i = 0; i < sb_ynode_len(stages); i++)
			if ((st = load_stage(f, sb_ynode_item(stages, i), d)))
				return st;
	}
	sb_ynode cats = sb_ynode_get(root, "categories");
	if (!cats.n || !sb_ynode_is_seq(cats) || !sb_ynode_len(cats))
		return sb_ynode_error(d, SB_EPOLICY, cats.n ? cats : root,
				      "the frame needs `categories:`, a non-empty list");
	for (size_t i = 0; i < sb_ynode_len(cats); i++)
		if ((st = load_category(f, sb_ynode_item(cats, i), d)))
			return st;
	f->ac = sb_ac_new();
	if (!f->ac)
		return sb_diag_set(d, SB_ENOMEM, doc->path, 0, 0, "out of memory");
	for (size_t i = 0; i < f->nstrs; i++) {
		st = sb_ac_add(f->ac, f->strs[i], f->strlens[i], (int)i);
		if (st == SB_ELIMIT)
			return sb_diag_set(d, st, doc->path, 0, 0,
					   "the terms make more than %d automaton states",
					   SB_AC_MAX_STATES);
		if (st)
			return sb_diag_set(d, st, doc->path, 0, 0, "out of memory");
	}
	if ((st = sb_ac_build(f->ac)))
		return sb_diag_set(d, st, doc->path, 0, 0, "out of memory");
	return SB_OK;
}

static sb_status finish(sb_ydoc *doc, sb_texts_frame **out, sb_diag *d)
{
	sb_texts_frame *f = sb_calloc(1, sizeof *f);
	if (!f) {
		sb_diag_set(d, SB_ENOMEM, doc->path, 0, 0, "out of memory");
		sb_ydoc_free(doc);
		return SB_ENOMEM;
	}
	sb_status st = load_root(f, doc, d);
	sb_ydoc_free(doc);
	if (st) {
		sb_texts_frame_free(f);
		return st;
	}
	*out = f;
	return SB_OK;
}

sb_status sb_texts_frame_load(const char *path, sb_texts_frame **out, sb_diag *d)
{
	sb_ydoc *doc;
	*out = NULL;
	sb_status st = sb_ydoc_load(path, &doc, d);
	return st ? st : finish(doc, out, d);
}

sb_status sb_texts_frame_load_mem(const char *name, const char *buf, size_t n,
				  sb_texts_frame **out, sb_diag *d)
{
	sb_ydoc *doc;
	*out = NULL;
	sb_status st = sb_ydoc_load_mem(name, buf, n, &doc, d);
	return st ? st : finish(doc, out, d);
}

size_t sb_texts_frame_ncategories(const sb_texts_frame *f)
{
	return f->ncats;
}

int sb_texts_frame_find(const sb_texts_frame *f, const char *id, size_t n)
{
	for (size_t i = 0; i < f->ncats; i++)
		if (strlen(f->cats[i].id) == n && !memcmp(f->cats[i].id, id, n))
			return (int)i;
	return -1;
}

const char *sb_texts_frame_id(const sb_texts_frame *f, size_t i)
{
	return f->cats[i].id;
}
const char *sb_texts_frame_name(const sb_texts_frame *f, size_t i)
{
	return f->cats[i].name;
}
const char *sb_texts_frame_dimension(const sb_texts_frame *f, size_t i)
{
	return f->cats[i].dimension;
}
const char *sb_texts_frame_group(const sb_texts_frame *f, size_t i)
{
	return f->cats[i].group ? f->cats[i].group : "";
}

const char *sb_texts_frame_stage(const sb_texts_frame *f, int year)
{
	if (!year)
		return NULL;
	for (size_t i = 0; i < f->nstages; i++) {
		const sb_texts_stage *s = &f->stages[i];
		if ((!s->from || year >= s->from) && (!s->until || year <= s->until))
			return s->name;
	}
	return NULL;
}

/* ---- coding ----------------------------------------------------------- */

typedef struct seen_set {
	unsigned char on[SB_TEXTS_MAX_TERMS];
} seen_set;

static void on_hit(void *ctx, int id, size_t end)
{
	(void)end;
	((seen_set *)ctx)->on[id] = 1;
}

static int any_of(const seen_set *s, const int *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->on[ids[i]])
			return 1;
	return 0;
}

/* The first term of c that holds in the clause, or -1. */
static int term_holds(const sb_texts_category *c, const seen_set *s, size_t k)
{
	const sb_texts_term *t = &c->terms[k];
	if (!s->on[t->str])
		return 0;
	if (t->nrequires && !any_of(s, t->requires, t->nrequires))
		return 0;
	if (t->nexcludes && any_of(s, t->excludes, t->nexcludes))
		return 0;
	return 1;
}

static int is_department(const sb_texts_category *c)
{
	return !strcmp(c->dimension, "department");
}

static void put_term(char *terms, size_t cap, size_t *len, const char *s, size_t n)
{
	if (!terms || !cap)
		return;
	/* once each: the same term may decide two categories */
	for (const char *p = terms; p < terms + *len;) {
		const char *e = memchr(p, ';', (size_t)(terms + *len - p));
		size_t l = e ? (size_t)(e - p) : (size_t)(terms + *len - p);
		if (l == n && !memcmp(p, s, n))
			return;
		p += l + 1;
	}
	size_t need = (*len ? 1 : 0) + n;
	if (*len + need + 1 > cap)
		return;
	if (*len)
		terms[(*len)++] = ';';
	memcpy(terms + *len, s, n);
	*len += n;
	terms[*len] = '\0';
}

static size_t code(const sb_texts_frame *f, const char *text, size_t n, sb_texts_codes *codes,
		   char *terms, size_t cap, int departments_only)
{
	seen_set set;
	seen_set *s = &set;
	memset(s, 0, sizeof *s);
	memset(codes, 0, sizeof *codes);
	if (terms && cap)
		terms[0] = '\0';
	sb_ac_scan(f->ac, text, n, on_hit, s);
	size_t ncodes = 0, tl = 0;
	int ndep = 0;
	/* departments first: min_departments counts them */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->ncats; i++) {
			const sb_texts_category *c = &f->cats[i];
			if (is_department(c) != (pass == 0))
				continue;
			if (departments_only && pass)
				continue;
			int hit = c->nterms ? 0 : 1;
			size_t saved = tl; /* a vetoed category leaves no terms */
			for (size_t k = 0; k < c->nterms; k++)
				if (term_holds(c, s, k)) {
					hit = 1;
					put_term(terms, cap, &tl, f->strs[c->terms[k].str],
						 f->strlens[c->terms[k].str]);
				}
			if (c->min_departments && ndep < c->min_departments)
				hit = 0;
			if (!hit && terms && cap) {
				tl = saved;
				terms[tl] = '\0';
			}
			if (hit) {
				codes->bits[i / 64] |= (uint64_t)1 << (i % 64);
				ncodes++;
				if (pass == 0)
					ndep++;
			}
		}
	}
	return ncodes;
}

size_t sb_texts_code(const sb_texts_frame *f, const char *text, size_t n, sb_texts_codes *codes,
		     char *terms, size_t cap)
{
	return code(f, text, n, codes, terms, cap, 0);
}

void sb_texts_departments(const sb_texts_frame *f, const char *text, size_t n,
			  sb_texts_codes *out)
{
	(void)code(f, text, n, out, NULL, 0, 1);
}

double sb_texts_kappa(long tp, long fp, long fn, long tn)
{
	double n = (double)(tp + fp + fn + tn);
	if (n <= 0)
		return 0;
	double po = (double)(tp + tn) / n;
	double yes_a = (double)(tp + fp) / n, yes_b = (double)(tp + fn) / n;
	double pe = yes_a * yes_b + (1 - yes_a) * (1 - yes_b);
	if (pe >= 1.0)
		return po >= 1.0 ? 1.0 : 0.0;
	return (po - pe) / (1 - pe);
}
