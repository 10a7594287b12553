/* load.c: reads policy files into a policy set: the file layout, `extends`
 * (with cycle detection), version order, the overlay of a child's versions
 * on its parent's, and the set's symbol tables. Values inside layers and
 * rules are compiled by compile.c. */
#include "policy/load_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sb_layer_keys[] = {"id", "name", "fund_code", "when", "base",
				     "exclude_penalty", "scope", "deductible", "repeat",
				     "mode", "rate", "bands", "cap", "pool", "adjust",
				     "remove", "pay_first", "deductible_per", "caps", "floor",
				     "lump", "after", "continuity", "classes", NULL};
static const char *const version_keys[] = {"from", "source", "year_start", "layers",
					   "monitoring", "waiting", NULL};
static const char *const top_keys[] = {"sanbao", "region", "extends", "income",
				       "identities", "versions", "statistics", "diseases",
				       "funding", NULL};

typedef struct symtab {
	char **names;
	int n, cap;
} symtab;

typedef struct rawfile rawfile;
struct rawfile {
	char *key;     /* real path; NULL for an inline policy */
	sb_ydoc *doc;  /* owned by the set when key != NULL */
	rawfile *parent;
	sb_ynode income, identities; /* in force: own or inherited */
	sb_ynode stats, diseases;    /* format 2, likewise */
	sb_ynode funding;            /* own only: funding.c merges it over the parent's */
	size_t nown, neff;
	sb_rawversion *own, *eff;
	sb_policy *policy;
	int loading;
};

#define MAX_DEPTH 32

struct sb_policyset {
	sb_arena arena;
	symtab syms[SB_SYM_KINDS];
	rawfile **files;
	size_t nfiles, capfiles;
	sb_policy **policies;
	size_t npolicies, cappolicies;
	int *layer_order;
	int nlayer_order;
	const char *stack[MAX_DEPTH];
	int depth;
	/* Parents named by `extends` must lie in this folder tree (a real
	 * path ending in '/'): the folder of the file or folder being loaded,
	 * or the one sb_policyset_set_root fixed. */
	char root[PATH_MAX + 1];
	bool root_fixed;
};

/* ---- the set and its symbols ----------------------------------------------- */

sb_status sb_policyset_new(sb_policyset **out)
{
	*out = sb_calloc(1, sizeof **out);
	if (!*out)
		return SB_ENOMEM;
	sb_arena_init(&(*out)->arena);
	return SB_OK;
}

void sb_policyset_free(sb_policyset *set)
{
	if (!set)
		return;
	for (int k = 0; k < SB_SYM_KINDS; k++) {
		for (int i = 0; i < set->syms[k].n; i++)
			sb_free(set->syms[k].names[i]);
		sb_free(set->syms[k].names);
	}
	for (size_t i = 0; i < set->nfiles; i++)
		if (set->files[i]->key)
			sb_ydoc_free(set->files[i]->doc);
	sb_free(set->files);
	sb_free(set->policies);
	sb_free(set->layer_order);
	sb_arena_release(&set->arena);
	sb_free(set);
}

sb_arena *sb_policyset_arena(sb_policyset *set)
{
	return &set->arena;
}

int sb_policyset_symbol(const sb_policyset *set, sb_symkind kind, const char *p, size_t n)
{
	const symtab *t = &set->syms[kind];
	for (int i = 0; i < t->n; i++)
		if (!strncmp(t->names[i], p, n) && t->names[i][n] == '\0')
			return i;
	return -1;
}

int sb_policyset_intern(sb_policyset *set, sb_symkind kind, const char *p, size_t n)
{
	int found = sb_policyset_symbol(set, kind, p, n);
	if (found >= 0)
		return found;
	symtab *t = &set->syms[kind];
	int limit = kind == SB_SYM_IDENTITY ? SB_MAX_MASK_SYMS - 1 :
		    kind == SB_SYM_LEVEL || kind == SB_SYM_TIER ? SB_MAX_MASK_SYMS : INT_MAX;
	if (t->n >= limit)
		return -1;
	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **names = sb_realloc(t->names, (size_t)cap * sizeof *names);
		if (!names)
			return SB_SYM_OOM;
		t->names = names;
		t->cap = cap;
	}
	char *s = sb_malloc(n + 1);
	if (!s)
		return SB_SYM_OOM;
	memcpy(s, p, n);
	s[n] = '\0';
	if (kind == SB_SYM_LAYER) {
		int *order = sb_realloc(set->layer_order, (size_t)(t->n + 1) * sizeof *order);
		if (!order) {
			sb_free(s);
			return SB_SYM_OOM;
		}
		set->layer_order = order;
		order[set->nlayer_order++] = t->n;
	}
	t->names[t->n] = s;
	return t->n++;
}

const char *sb_policyset_symbol_name(const sb_policyset *set, sb_symkind kind, int id)
{
	if (id < 0 || id >= set->syms[kind].n)
		return "";
	return set->syms[kind].names[id];
}

int sb_policyset_symbol_count(const sb_policyset *set, sb_symkind kind)
{
	return set->syms[kind].n;
}

size_t sb_policyset_layer_order(const sb_policyset *set, const int **ids)
{
	*ids = set->layer_order;
	return (size_t)set->nlayer_order;
}

const sb_policy *sb_policyset_find(const sb_policyset *set, const char *code)
{
	for (size_t i = 0; i < set->npolicies; i++)
		if (!strcmp(set->policies[i]->region, code))
			return set->policies[i];
	return NULL;
}

size_t sb_policyset_count(const sb_policyset *set)
{
	return set->npolicies;
}

const sb_policy *sb_policyset_at(const sb_policyset *set, size_t i)
{
	return i < set->npolicies ? set->policies[i] : NULL;
}

const char *sb_policy_region(const sb_policy *p)
{
	return p->region;
}

const char *sb_policy_name(const sb_policy *p)
{
	return p->name;
}

const char *sb_policy_path(const sb_policy *p)
{
	return p->path;
}

const sb_version *sb_policy_version_at(const sb_policy *p, sb_date date)
{
	/* Versions are few; the last one whose from <= date is in force. */
	for (size_t i = p->nversions; i-- > 0;)
		if (p->versions[i].from <= date)
			return &p->versions[i];
	return NULL;
}

/* ---- raw versions ------------------------------------------------------------- */

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_status parse_layer(sb_policyset *set, sb_ynode n, sb_rawlayer *l, sb_diag *d)
{
	sb_status st = sb_ynode_check_keys(n, "a layer", sb_layer_keys, d);
	if (st)
		return st;
	memset(l, 0, sizeof *l);
	l->node = n;
	for (size_t i = 0; i < sb_ynode_len(n); i++) {
		size_t kl;
		const char *k = sb_ynode_text(sb_ynode_key(n, i), &kl);
		l->keys[sb_name_index(sb_layer_keys, k, kl)] = sb_ynode_value(n, i);
	}
	sb_ynode id = l->keys[SB_LK_ID];
	size_t len;
	const char *t = sb_ynode_text(id, &len);
	if (!id.n)
		return sb_ynode_error(d, SB_EPOLICY, n, "a layer needs an id");
	if (!t || !sb_is_word(t, len))
		return sb_ynode_error(d, SB_EPOLICY, id,
				      "layer id must be a word of a-z, 0-9 and _ starting with a "
				      "letter, e.g. basic or critical_2");
	if (!(l->id = sb_arena_strndup(&set->arena, t, len)))
		return oom(d);
	if (l->keys[SB_LK_REMOVE].n) {
		if ((st = sb_ynode_bool(l->keys[SB_LK_REMOVE], "remove", &l->remove, d)))
			return st;
		if (l->remove && sb_ynode_len(n) != 2)
			return sb_ynode_error(d, SB_EPOLICY, n,
					      "a layer with remove: true takes no other keys than id");
	}
	return SB_OK;
}

static sb_status parse_version(sb_policyset *set, sb_ynode n, sb_rawversion *v, sb_diag *d)
{
	sb_status st = sb_ynode_check_keys(n, "a version", version_keys, d);
	if (st)
		return st;
	memset(v, 0, sizeof *v);
	v->node = n;
	for (size_t i = 0; i < sb_ynode_len(n); i++) {
		size_t kl;
		const char *k = sb_ynode_text(sb_ynode_key(n, i), &kl);
		v->keys[sb_name_index(version_keys, k, kl)] = sb_ynode_value(n, i);
	}
	if (!v->keys[SB_VK_FROM].n)
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "a version needs from: the date it comes into force (YYYY-MM-DD)");
	if ((st = sb_ynode_date(v->keys[SB_VK_FROM], "from", &v->from, d)))
		return st;
	sb_ynode layers = v->keys[SB_VK_LAYERS];
	if (!layers.n)
		return SB_OK;
	if (!sb_ynode_is_seq(layers))
		return sb_ynode_error(d, SB_EPOLICY, layers, "layers must be a list of layers");
	v->nlayers = sb_ynode_len(layers);
	if (v->nlayers > SB_MAX_LAYERS)
		return sb_ynode_error(d, SB_ELIMIT, layers, "at most %d layers in a version",
				      SB_MAX_LAYERS);
	v->layers = sb_arena_alloc(&set->arena, (v->nlayers + 1) * sizeof *v->layers);
	if (!v->layers)
		return oom(d);
	for (size_t i = 0; i < v->nlayers; i++) {
		if ((st = parse_layer(set, sb_ynode_item(layers, i), &v->layers[i], d)))
			return st;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v->layers[j].id, v->layers[i].id))
				return sb_ynode_error(d, SB_EPOLICY, v->layers[i].keys[SB_LK_ID],
						      "duplicate layer id \"%s\" in this version: "
						      "each layer needs its own id", v->layers[i].id);
	}
	return SB_OK;
}

static const sb_rawversion *version_at(const sb_rawversion *v, size_t n, sb_date date)
{
	for (size_t i = n; i-- > 0;)
		if (v[i].from <= date)
			return &v[i];
	return NULL;
}

/* The child's version laid over the parent's: version keys replace, layers
 * merge by id (keys replace one by one; remove deletes; new ids append). */
static sb_status overlay(sb_policyset *set, const sb_rawversion *pv, const sb_rawversion *cv,
			 sb_date from, sb_rawversion *out, sb_diag *d)
{
	memset(out, 0, sizeof *out);
	out->from = from;
	const sb_rawversion *top = cv ? cv : pv;
	out->node = top->node;
	for (int k = 0; k < SB_VK_N; k++)
		out->keys[k] = cv && cv->keys[k].n ? cv->keys[k] : pv ? pv->keys[k] : cv->keys[k];
	size_t cap = (pv ? pv->nlayers : 0) + (cv ? cv->nlayers : 0) + 1;
	out->layers = sb_arena_alloc(&set->arena, cap * sizeof *out->layers);
	if (!out->layers)
		return oom(d);
	if (pv) {
		memcpy(out->layers, pv->layers, pv->nlayers * sizeof *out->layers);
		out->nlayers = pv->nlayers;
	}
	if (!cv)
		return SB_OK;
	for (size_t i = 0; i < cv->nlayers; i++) {
		const sb_rawlayer *cl = &cv->layers[i];
		size_t j = 0;
		while (j < out->nlayers && strcmp(out->layers[j].id, cl->id))
			j++;
		if (cl->remove) {
			if (j == out->nlayers)
				return sb_ynode_error(d, SB_EPOLICY, cl->node,
						      "layer %s has remove: true but there is nothing to "
						      "remove: the parent policy has no layer %s in force on "
						      "this version's date", cl->id, cl->id);
			memmove(&out->layers[j], &out->layers[j + 1],
				(out->nlayers - j - 1) * sizeof *out->layers);
			out->nlayers--;
		} else if (j < out->nlayers) {
			sb_rawlayer *m = &out->layers[j];
			for (int k = 0; k < SB_LK_N; k++)
				if (cl->keys[k].n)
					m->keys[k] = cl->keys[k];
			/* rate is one band: a child's rate replaces the parent's
			 * bands and a child's bands the parent's rate. */
			if (cl->keys[SB_LK_RATE].n && !cl->keys[SB_LK_BANDS].n)
				m->keys[SB_LK_BANDS].n = NULL;
			if (cl->keys[SB_LK_BANDS].n && !cl->keys[SB_LK_RATE].n)
				m->keys[SB_LK_RATE].n = NULL;
			m->node = cl->node;
		} else {
			out->layers[out->nlayers++] = *cl;
		}
	}
	if (out->nlayers > SB_MAX_LAYERS)
		return sb_ynode_error(d, SB_ELIMIT, cv->node, "at most %d layers in a version",
				      SB_MAX_LAYERS);
	return SB_OK;
}

static int cmp_date(const void *a, const void *b)
{
	sb_date x = *(const sb_date *)a, y = *(const sb_date *)b;
	return (x > y) - (x < y);
}

static sb_status merge_versions(sb_policyset *set, rawfile *f, sb_diag *d)
{
	if (!f->parent) {
		/* A file of its own still goes through overlay: it rejects remove. */
		f->eff = sb_arena_alloc(&set->arena, f->nown * sizeof *f->eff);
		if (!f->eff)
			return oom(d);
		for (size_t i = 0; i < f->nown; i++) {
			sb_status st = overlay(set, NULL, &f->own[i], f->own[i].from, &f->eff[i], d);
			if (st)
				return st;
		}
		f->neff = f->nown;
		return SB_OK;
	}
	rawfile *p = f->parent;
	size_t nb = p->neff + f->nown, k = 0;
	sb_date *breaks = sb_arena_alloc(&set->arena, (nb + 1) * sizeof *breaks);
	f->eff = sb_arena_alloc(&set->arena, (nb + 1) * sizeof *f->eff);
	if (!breaks || !f->eff)
		return oom(d);
	for (size_t i = 0; i < p->neff; i++)
		breaks[k++] = p->eff[i].from;
	for (size_t i = 0; i < f->nown; i++)
		breaks[k++] = f->own[i].from;
	qsort(breaks, nb, sizeof *breaks, cmp_date);
	f->neff = 0;
	for (size_t i = 0; i < nb; i++) {
		if (i && breaks[i] == breaks[i - 1])
			continue;
		const sb_rawversion *pv = version_at(p->eff, p->neff, breaks[i]);
		const sb_rawversion *cv = version_at(f->own, f->nown, breaks[i]);
		sb_status st = overlay(set, pv, cv, breaks[i], &f->eff[f->neff], d);
		if (st)
			return st;
		f->neff++;
	}
	return SB_OK;
}

/* ---- compiling a file ------------------------------------------------------------ */

static sb_status compile_identities(sb_policyset *set, rawfile *f, sb_policy *pol, sb_diag *d)
{
	sb_ynode n = f->identities;
	if (!n.n)
		return SB_OK;
	if (!sb_ynode_is_seq(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "identities must be a list of {id, name}, highest priority first");
	size_t len = sb_ynode_len(n);
	if (len > SB_MAX_MASK_SYMS - 1)
		return sb_ynode_error(d, SB_ELIMIT, n, "at most %d identities", SB_MAX_MASK_SYMS - 1);
	pol->identities = sb_arena_alloc(&set->arena, (len + 1) * sizeof *pol->identities);
	pol->identity_names = sb_arena_alloc(&set->arena, (len + 1) * sizeof *pol->identity_names);
	pol->identity_labels = sb_arena_alloc(&set->arena, (len + 1) * sizeof *pol->identity_labels);
	if (!pol->identities || !pol->identity_names || !pol->identity_labels)
		return oom(d);
	static const char *const keys[] = {"id", "name", NULL};
	for (size_t i = 0; i < len; i++) {
		sb_ynode item = sb_ynode_item(n, i);
		sb_status st = sb_ynode_check_keys(item, "an identity", keys, d);
		if (st)
			return st;
		sb_ynode id = sb_ynode_get(item, "id");
		size_t il;
		const char *t = sb_ynode_text(id, &il);
		if (!t || !sb_is_word(t, il) || (il == 4 && !memcmp(t, "none", 4)))
			return sb_ynode_error(d, SB_EPOLICY, id.n ? id : item,
					      "an identity needs an id: a word of a-z, 0-9 and _ "
					      "(not \"none\"), e.g. dibao");
		for (size_t j = 0; j < i; j++)
			if (strlen(pol->identity_names[j]) == il &&
			    !memcmp(pol->identity_names[j], t, il))
				return sb_ynode_error(d, SB_EPOLICY, id, "identity \"%.*s\" is listed twice",
						      (int)il, t);
		int sym = sb_policyset_intern(set, SB_SYM_IDENTITY, t, il);
		if (sym == SB_SYM_OOM)
			return oom(d);
		if (sym < 0)
			return sb_ynode_error(d, SB_ELIMIT, id, "too many identities across policies");
		pol->identities[i] = sym;
		pol->identity_names[i] = set->syms[SB_SYM_IDENTITY].names[sym];
		size_t nl;
		const char *label = sb_ynode_text(sb_ynode_get(item, "name"), &nl);
		pol->identity_labels[i] = label && nl ? sb_arena_strndup(&set->arena, label, nl) : NULL;
		if (label && nl && !pol->identity_labels[i])
			return oom(d);
	}
	pol->nidentities = (uint16_t)len;
	return SB_OK;
}

static sb_status compile_income(sb_policyset *set, rawfile *f, sb_policy *pol, sb_diag *d)
{
	sb_ynode n = f->income;
	if (!n.n)
		return SB_OK;
	if (!sb_ynode_is_map(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "income must map a year to {all, urban, rural} in yuan, "
				      "e.g. 2022: {all: 45509, rural: 19313}");
	size_t len = sb_ynode_len(n);
	pol->income = sb_arena_alloc(&set->arena, (len + 1) * sizeof *pol->income);
	if (!pol->income)
		return oom(d);
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t yl;
		const char *yt = sb_ynode_text(k, &yl);
		int year = 0;
		for (size_t j = 0; yt && j < yl && yl == 4; j++)
			year = yt[j] >= '0' && yt[j] <= '9' ? year * 10 + (yt[j] - '0') : -100000;
		if (!yt || yl != 4 || year < 1900 || year > 2199)
			return sb_ynode_error(d, SB_EPOLICY, k,
					      yt && yl == 4 && year >= 0 ?
						      "income year is outside the years 1900-2199" :
						      "income year must be 4 digits, e.g. 2022");
		for (size_t j = 0; j < i; j++)
			if (pol->income[j].year == year)
				return sb_ynode_error(d, SB_EPOLICY, k, "income for %d is given twice", year);
		sb_status st = sb_ynode_check_keys(v, "an income year", sb_income_kind_names, d);
		if (st)
			return st;
		sb_income *inc = &pol->income[i];
		inc->year = year;
		for (int kind = 0; kind < SB_INCOME_N; kind++) {
			sb_ynode a = sb_ynode_get(v, sb_income_kind_names[kind]);
			if (!a.n)
				continue;
			if ((st = sb_ynode_money(a, "income", &inc->fen[kind], d)))
				return st;
			inc->has[kind] = true;
		}
	}
	pol->nincome = (uint16_t)len;
	return SB_OK;
}

static int parse_year(const char *yt, size_t yl)
{
	int year = 0;
	for (size_t j = 0; yt && j < yl && yl == 4; j++)
		year = yt[j] >= '0' && yt[j] <= '9' ? year * 10 + (yt[j] - '0') : -100000;
	return yt && yl == 4 && year >= 1900 && year <= 2199 ? year : -1;
}

/* statistics: {id: {name: ..., 2023: amount, ...}} */
static sb_status compile_stats(sb_policyset *set, rawfile *f, sb_policy *pol, sb_diag *d)
{
	sb_ynode n = f->stats;
	if (!n.n)
		return SB_OK;
	if (!sb_ynode_is_map(n) || !sb_ynode_len(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "statistics must map a statistic id to {name: ..., YEAR: amount}, "
				      "e.g. avg_wage: {name: 在岗职工平均工资, 2023: 120000}");
	size_t len = sb_ynode_len(n);
	if (len > 64)
		return sb_ynode_error(d, SB_ELIMIT, n, "at most 64 statistics");
	if (!(pol->stats = sb_arena_alloc(&set->arena, len * sizeof *pol->stats)))
		return oom(d);
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		sb_stat *s = &pol->stats[i];
		if (!kt || !sb_is_word(kt, kl) || sb_name_index(sb_of_names, kt, kl) >= 0)
			return sb_ynode_error(d, SB_EPOLICY, k,
					      "a statistic id must be a word of a-z, 0-9 and _ other than "
					      "total, in_scope, pre_selfpay, over_limit, out_of_scope, cap");
		if (!(s->id = sb_arena_strndup(&set->arena, kt, kl)))
			return oom(d);
		s->name = "";
		if (!sb_ynode_is_map(v))
			return sb_ynode_error(d, SB_EPOLICY, v,
					      "statistic %s must be a map {name: ..., YEAR: amount}", s->id);
		size_t vl = sb_ynode_len(v);
		s->years = sb_arena_alloc(&set->arena, (vl + 1) * sizeof *s->years);
		s->fen = sb_arena_alloc(&set->arena, (vl + 1) * sizeof *s->fen);
		if (!s->years || !s->fen)
			return oom(d);
		for (size_t j = 0; j < vl; j++) {
			sb_ynode yk = sb_ynode_key(v, j), yv = sb_ynode_value(v, j);
			size_t yl;
			const char *yt = sb_ynode_text(yk, &yl);
			if (yt && yl == 4 && !memcmp(yt, "name", 4)) {
				size_t nl;
				const char *nt = sb_ynode_text(yv, &nl);
				if (!nt || !(s->name = sb_arena_strndup(&set->arena, nt, nl)))
					return nt ? oom(d) : sb_ynode_error(d, SB_EPOLICY, yv,
									    "a statistic's name must be text");
				continue;
			}
			int year = parse_year(yt, yl);
			if (year < 0)
				return sb_ynode_error(d, SB_EPOLICY, yk,
						      "statistic %s: a key is name or a year of 4 digits "
						      "(1900-2199), e.g. 2023", s->id);
			for (uint16_t m = 0; m < s->nyears; m++)
				if (s->years[m] == year)
					return sb_ynode_error(d, SB_EPOLICY, yk,
							      "statistic %s: %d is given twice", s->id, year);
			sb_status st = sb_ynode_money(yv, "statistic", &s->fen[s->nyears], d);
			if (st)
				return st;
			s->years[s->nyears++] = year;
		}
	}
	pol->nstats = (uint16_t)len;
	return SB_OK;
}

static bool icd_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == 'x';
}

/* diseases: {id: {name: ..., codes: [C34, "C50*", ...]}} */
static sb_status compile_diseases(sb_policyset *set, rawfile *f, sb_policy *pol, sb_diag *d)
{
	sb_ynode n = f->diseases;
	if (!n.n)
		return SB_OK;
	if (!sb_ynode_is_map(n) || !sb_ynode_len(n))
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "diseases must map a list id to {name: ..., codes: [ICD-10 codes; "
				      "a code ending in * is a prefix]}");
	size_t len = sb_ynode_len(n);
	if (len > SB_MAX_DISEASES)
		return sb_ynode_error(d, SB_ELIMIT, n, "at most %d disease lists", SB_MAX_DISEASES);
	if (!(pol->diseases = sb_arena_alloc(&set->arena, len * sizeof *pol->diseases)))
		return oom(d);
	static const char *const keys[] = {"name", "codes", NULL};
	for (size_t i = 0; i < len; i++) {
		sb_ynode k = sb_ynode_key(n, i), v = sb_ynode_value(n, i);
		size_t kl;
		const char *kt = sb_ynode_text(k, &kl);
		sb_disease *ds = &pol->diseases[i];
		if (!kt || !sb_is_word(kt, kl))
			return sb_ynode_error(d, SB_EPOLICY, k,
					      "a disease list id must be a word of a-z, 0-9 and _");
		if (!(ds->id = sb_arena_strndup(&set->arena, kt, kl)))
			return oom(d);
		sb_status st = sb_ynode_check_keys(v, "a disease list", keys, d);
		if (st)
			return st;
		ds->name = "";
		size_t nl;
		const char *nt = sb_ynode_text(sb_ynode_get(v, "name"), &nl);
		if (nt && !(ds->name = sb_arena_strndup(&set->arena, nt, nl)))
			return oom(d);
		sb_ynode codes = sb_ynode_get(v, "codes");
		if (!sb_ynode_is_seq(codes) || !sb_ynode_len(codes))
			return sb_ynode_error(d, SB_EPOLICY, codes.n ? codes : v,
					      "disease list %s needs codes: a non-empty list of ICD-10 "
					      "codes, e.g. [C34, \"C50*\", I21.0]", ds->id);
		size_t nc = sb_ynode_len(codes);
		ds->codes = sb_arena_alloc(&set->arena, nc * sizeof *ds->codes);
		ds->lens = sb_arena_alloc(&set->arena, nc * sizeof *ds->lens);
		ds->prefix = sb_arena_alloc(&set->arena, nc * sizeof *ds->prefix);
		if (!ds->codes || !ds->lens || !ds->prefix)
			return oom(d);
		for (size_t j = 0; j < nc; j++) {
			sb_ynode item = sb_ynode_item(codes, j);
			size_t cl;
			const char *ct = sb_ynode_text(item, &cl);
			bool pre = ct && cl && ct[cl - 1] == '*';
			size_t body = pre ? cl - 1 : cl;
			bool ok = ct && body >= 1 && body <= 16 && ct[0] >= 'A' && ct[0] <= 'Z';
			for (size_t m = 0; ok && m < body; m++)
				ok = icd_char(ct[m]);
			if (!ok)
				return sb_ynode_error(d, SB_EPOLICY, item,
						      "\"%.*s\" is not an ICD-10 code: write a capital "
						      "letter, digits and dots (C34.1), or a prefix ending "
						      "in * (\"C34*\")", (int)(ct ? (cl > 40 ? 40 : cl) : 0),
						      ct ? ct : "");
			if (!(ds->codes[j] = sb_arena_strndup(&set->arena, ct, body)))
				return oom(d);
			ds->lens[j] = (uint16_t)body;
			ds->prefix[j] = pre;
		}
		ds->ncodes = (uint16_t)nc;
	}
	pol->ndiseases = (uint16_t)len;
	return SB_OK;
}

static sb_status compile_year_start(sb_ynode n, sb_version *v, sb_diag *d)
{
	v->year_start_month = 1;
	v->year_start_day = 1;
	if (!n.n)
		return SB_OK;
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (t && len == 5 && t[2] == '-' && t[0] >= '0' && t[0] <= '1' && t[1] >= '0' &&
	    t[1] <= '9' && t[3] >= '0' && t[3] <= '3' && t[4] >= '0' && t[4] <= '9') {
		int m = (t[0] - '0') * 10 + (t[1] - '0'), day = (t[3] - '0') * 10 + (t[4] - '0');
		if (sb_date_valid(2023, m, day)) {
			v->year_start_month = m;
			v->year_start_day = day;
			return SB_OK;
		}
	}
	return sb_ynode_error(d, SB_EPOLICY, n,
			      "year_start must be MM-DD, a day that exists in every year, e.g. 07-01");
}

static sb_status compile_file(sb_policyset *set, rawfile *f, sb_policy *pol, sb_diag *d)
{
	sb_status st;
	if ((st = compile_identities(set, f, pol, d)) || (st = compile_income(set, f, pol, d)))
		return st;
	if ((st = compile_stats(set, f, pol, d)) || (st = compile_diseases(set, f, pol, d)))
		return st;
	sb_comp c = {set, &set->arena, d, pol->nidentities, pol->identities,
		     pol->identity_names, pol->format, pol, NULL, 0};
	pol->versions = sb_arena_alloc(&set->arena, (f->neff + 1) * sizeof *pol->versions);
	if (!pol->versions)
		return oom(d);
	for (size_t i = 0; i < f->neff; i++) {
		const sb_rawversion *rv = &f->eff[i];
		sb_version *v = &pol->versions[i];
		v->from = rv->from;
		v->until = i + 1 < f->neff ? f->eff[i + 1].from : INT32_MAX;
		v->index = (int)i;
		v->source = "";
		if (rv->keys[SB_VK_SOURCE].n) {
			size_t len;
			const char *t = sb_ynode_text(rv->keys[SB_VK_SOURCE], &len);
			if (!t)
				return sb_ynode_error(d, SB_EPOLICY, rv->keys[SB_VK_SOURCE],
						      "source must be text: a citation or a URL");
			if (!(v->source = sb_arena_strndup(&set->arena, t, len)))
				return oom(d);
		}
		if ((st = compile_year_start(rv->keys[SB_VK_YEAR_START], v, d)))
			return st;
		v->v2 = pol->format >= 2;
		v->layers = sb_arena_alloc(&set->arena, (rv->nlayers + 1) * sizeof *v->layers);
		if (!v->layers)
			return oom(d);
		v->nlayers = (uint16_t)rv->nlayers;
		c.layers = v->layers;
		for (size_t j = 0; j < rv->nlayers; j++) {
			c.nlayers = j;
			if ((st = sb_compile_layer(&c, &rv->layers[j], &v->layers[j])))
				return st;
		}
		if (rv->keys[SB_VK_WAITING].n &&
		    (st = sb_compile_waiting(&c, rv->keys[SB_VK_WAITING], v)))
			return st;
		if (rv->keys[SB_VK_MONITORING].n &&
		    (st = sb_compile_rules(&c, rv->keys[SB_VK_MONITORING], &v->rules, &v->nrules)))
			return st;
	}
	pol->nversions = (uint16_t)f->neff;
	return sb_compile_funding(&c, f->funding, pol);
}

/* ---- reading a file ----------------------------------------------------------------- */

static sb_status load_path(sb_policyset *set, const char *path, sb_ynode from,
			   rawfile **out, sb_diag *d);

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static sb_status register_policy(sb_policyset *set, sb_policy *pol, sb_ynode where, sb_diag *d)
{
	const sb_policy *other = sb_policyset_find(set, pol->region);
	if (other)
		return sb_ynode_error(d, SB_EPOLICY, where,
				      "region %s already has a policy (%s): one file per pooling region",
				      pol->region, other->path);
	if (set->npolicies == set->cappolicies) {
		size_t cap = set->cappolicies ? set->cappolicies * 2 : 16;
		sb_policy **p = sb_realloc(set->policies, cap * sizeof *p);
		if (!p)
			return oom(d);
		set->policies = p;
		set->cappolicies = cap;
	}
	set->policies[set->npolicies++] = pol;
	return SB_OK;
}

static sb_status parse_file(sb_policyset *set, rawfile *f, sb_ynode root, sb_diag *d)
{
	/* Before any key is named in a message: a file that is not a policy
	 * (a parent named by mistake, or by malice) has none of its text
	 * echoed. */
	sb_ynode ver = sb_ynode_is_map(root) ? sb_ynode_get(root, "sanbao") : (sb_ynode){NULL, NULL};
	if (!ver.n && !f->key) /* inline, in a case: its text is the case's */
		return sb_ynode_error(d, SB_EPOLICY, root,
				      "a policy file starts with `sanbao: 1`, the format version");
	if (!ver.n)
		return sb_diag_set(d, SB_EPOLICY, f->doc->path, 1, 1,
				   "not a policy file: a policy file is a mapping that starts with "
				   "`sanbao: 1`, the format version (none of its text is shown)");
	sb_status st = sb_ynode_check_keys(root, "a policy file", top_keys, d);
	if (st)
		return st;
	if (!sb_ynode_eq(ver, "1") && !sb_ynode_eq(ver, "2"))
		return sb_ynode_error(d, SB_EPOLICY, ver,
				      "format version is not supported: this engine reads sanbao: 1 "
				      "and sanbao: 2");
	int format = sb_ynode_eq(ver, "2") ? 2 : 1;
	if (format < 2 && (sb_ynode_get(root, "statistics").n || sb_ynode_get(root, "diseases").n))
		return sb_ynode_error(d, SB_EPOLICY,
				      sb_ynode_get(root, sb_ynode_get(root, "statistics").n ?
							 "statistics" : "diseases"),
				      "statistics and diseases are format 2: write `sanbao: 2` at "
				      "the top of the policy file");

	sb_policy *pol = sb_arena_alloc(&set->arena, sizeof *pol);
	if (!pol)
		return oom(d);
	pol->path = f->doc->path;
	pol->name = "";
	pol->format = format;
	sb_ynode region = sb_ynode_get(root, "region");
	static const char *const region_keys[] = {"code", "name", NULL};
	if (!region.n)
		return sb_ynode_error(d, SB_EPOLICY, root,
				      "a policy file needs region: {code: \"500112\", name: ...}");
	if ((st = sb_ynode_check_keys(region, "region", region_keys, d)))
		return st;
	sb_ynode code = sb_ynode_get(region, "code");
	size_t cl;
	const char *ct = sb_ynode_text(code, &cl);
	bool ok = ct && cl == 6;
	for (size_t i = 0; ok && i < cl; i++)
		ok = ct[i] >= '0' && ct[i] <= '9';
	if (!ok)
		return sb_ynode_error(d, SB_EPOLICY, code.n ? code : region,
				      "region code must be a 6-digit GB/T 2260 code, e.g. \"500112\"");
	memcpy(pol->region, ct, 6);
	sb_ynode name = sb_ynode_get(region, "name");
	if (name.n) {
		size_t nl;
		const char *nt = sb_ynode_text(name, &nl);
		if (!nt)
			return sb_ynode_error(d, SB_EPOLICY, name, "region name must be text");
		if (!(pol->name = sb_arena_strndup(&set->arena, nt, nl)))
			return oom(d);
	}

	sb_ynode ext = sb_ynode_get(root, "extends");
	if (ext.n) {
		size_t el;
		const char *et = sb_ynode_text(ext, &el);
		char path[PATH_MAX];
		if (!et || !el)
			return sb_ynode_error(d, SB_EPOLICY, ext,
					      "extends must be the path of the parent policy file");
		if (et[0] == '/')
			snprintf(path, sizeof path, "%.*s", (int)el, et);
		else
			snprintf(path, sizeof path, "%s%.*s", f->doc->dir, (int)el, et);
		if ((st = load_path(set, path, ext, &f->parent, d)))
			return st;
		pol->parent = f->parent->policy;
		if (pol->parent->format > pol->format)
			pol->format = pol->parent->format;
	}
	f->identities = sb_ynode_get(root, "identities");
	f->income = sb_ynode_get(root, "income");
	if (!f->identities.n && f->parent)
		f->identities = f->parent->identities;
	if (!f->income.n && f->parent)
		f->income = f->parent->income;
	f->funding = sb_ynode_get(root, "funding");
	f->stats = sb_ynode_get(root, "statistics");
	f->diseases = sb_ynode_get(root, "diseases");
	if (!f->stats.n && f->parent)
		f->stats = f->parent->stats;
	if (!f->diseases.n && f->parent)
		f->diseases = f->parent->diseases;

	sb_ynode versions = sb_ynode_get(root, "versions");
	if (!versions.n || !sb_ynode_is_seq(versions) || !sb_ynode_len(versions))
		return sb_ynode_error(d, SB_EPOLICY, versions.n ? versions : root,
				      "a policy needs versions: a non-empty list of {from, layers, ...}");
	f->nown = sb_ynode_len(versions);
	f->own = sb_arena_alloc(&set->arena, f->nown * sizeof *f->own);
	if (!f->own)
		return oom(d);
	for (size_t i = 0; i < f->nown; i++) {
		if ((st = parse_version(set, sb_ynode_item(versions, i), &f->own[i], d)))
			return st;
		if (i && f->own[i].from <= f->own[i - 1].from) {
			char a[11], b[11];
			sb_date_format(f->own[i].from, a);
			sb_date_format(f->own[i - 1].from, b);
			return sb_ynode_error(d, SB_EPOLICY, f->own[i].keys[SB_VK_FROM],
					      "version from %s is not after the previous version's from "
					      "%s: list versions in increasing order of from, each in "
					      "force until the next one starts", a, b);
		}
	}
	if ((st = merge_versions(set, f, d)) || (st = compile_file(set, f, pol, d)))
		return st;
	f->policy = pol;
	return register_policy(set, pol, code, d);
}

/* Sets the root to the folder of real (a real path), or to real itself
 * when it is a folder; with up, to that folder's parent. The default root
 * (no sb_policyset_set_root) is the parent of the policies' folder, so
 * that a region's file may extend a province file beside its folder, as
 * the format's own example does (`extends: ../500000.yaml`), while a path
 * anywhere else (`/etc/shadow`, `../../x`) is refused. */
static sb_status set_root_of(sb_policyset *set, const char *real, bool is_dir, bool up,
			     sb_diag *d)
{
	size_t n = strlen(real);
	for (int k = (is_dir ? 0 : 1) + (up ? 1 : 0); k > 0; k--) {
		while (n && real[n - 1] == '/')
			n--;
		while (n && real[n - 1] != '/')
			n--;
		while (n && real[n - 1] == '/')
			n--;
	}
	if (n + 2 > sizeof set->root)
		return sb_diag_set(d, SB_ELIMIT, real, 0, 0, "path is too long");
	memcpy(set->root, real, n);
	set->root[n] = '/';
	set->root[n + 1] = '\0';
	return SB_OK;
}

sb_status sb_policyset_set_root(sb_policyset *set, const char *dir, sb_diag *d)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return sb_diag_set(d, SB_EIO, dir, 0, 0, "cannot open the policy root: %s",
				   strerror(errno));
	sb_status st = set_root_of(set, strcmp(real, "/") ? real : "", true, false, d);
	if (!st)
		set->root_fixed = true;
	return st;
}

static sb_status add_file(sb_policyset *set, rawfile *f, sb_diag *d)
{
	if (set->nfiles == set->capfiles) {
		size_t cap = set->capfiles ? set->capfiles * 2 : 16;
		rawfile **p = sb_realloc(set->files, cap * sizeof *p);
		if (!p)
			return oom(d);
		set->files = p;
		set->capfiles = cap;
	}
	set->files[set->nfiles++] = f;
	return SB_OK;
}

/* Loads path (once per real path). `from` is the extends node that asked
 * for it, or a node-less value for a top-level load. */
static sb_status load_path(sb_policyset *set, const char *path, sb_ynode from,
			   rawfile **out, sb_diag *d)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		if (from.n)
			return sb_ynode_error(d, SB_EIO, from, "cannot open parent policy %s: %s", path,
					      strerror(errno));
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	}
	if (!from.n && !set->depth && !set->root_fixed && set_root_of(set, real, false, true, d))
		return d->code;
	if (from.n && strncmp(real, set->root, strlen(set->root)))
		return sb_ynode_error(d, SB_EPOLICY, from,
				      "parent policy %s is outside the policy folder %s: extends may "
				      "name only a file in the folder tree of the policies loaded (or under "
				      "--policy-root)",
				      path, set->root);
	for (size_t i = 0; i < set->nfiles; i++) {
		rawfile *f = set->files[i];
		if (!f->key || strcmp(f->key, real))
			continue;
		if (f->loading) {
			char chain[600];
			size_t used = 0;
			chain[0] = '\0';
			int start = 0;
			while (start < set->depth && strcmp(set->stack[start], real))
				start++;
			for (int s = start; s < set->depth; s++) {
				int w = snprintf(chain + used, sizeof chain - used, "%s -> ",
						 base_name(set->stack[s]));
				if (w < 0 || (size_t)w >= sizeof chain - used)
					break;
				used += (size_t)w;
			}
			return sb_ynode_error(d, SB_EPOLICY, from,
					      "extends cycle: %s%s: a policy cannot extend itself, "
					      "directly or through its parents", chain, base_name(real));
		}
		*out = f;
		return SB_OK;
	}
	if (set->depth == MAX_DEPTH)
		return sb_ynode_error(d, SB_ELIMIT, from, "extends chains are at most %d files deep",
				      MAX_DEPTH);
	rawfile *f = sb_arena_alloc(&set->arena, sizeof *f);
	if (!f || !(f->key = sb_arena_strndup(&set->arena, real, strlen(real))))
		return oom(d);
	sb_status st = sb_ydoc_load(path, &f->doc, d);
	if (st)
		return st;
	if ((st = add_file(set, f, d))) {
		sb_ydoc_free(f->doc);
		return st;
	}
	f->loading = 1;
	set->stack[set->depth++] = f->key;
	st = parse_file(set, f, sb_ydoc_root(f->doc), d);
	set->depth--;
	f->loading = 0;
	if (st)
		return st;
	*out = f;
	return SB_OK;
}

sb_status sb_policyset_load_file(sb_policyset *set, const char *path, const sb_policy **out,
				 sb_diag *d)
{
	rawfile *f;
	sb_ynode none = {NULL, NULL};
	sb_status st = load_path(set, path, none, &f, d);
	if (st)
		return st;
	if (out)
		*out = f->policy;
	return SB_OK;
}

sb_status sb_policyset_load_node(sb_policyset *set, sb_ynode node, const sb_policy **out,
				 sb_diag *d)
{
	rawfile *f = sb_arena_alloc(&set->arena, sizeof *f);
	if (!f)
		return oom(d);
	f->doc = node.doc;
	char real[PATH_MAX];
	if (!set->root_fixed && !set->depth) {
		/* An inline policy's parents lie in its document's folder tree. */
		if (!realpath(node.doc->dir[0] ? node.doc->dir : ".", real))
			return sb_diag_set(d, SB_EIO, node.doc->path, 0, 0, "cannot open its folder: %s",
					   strerror(errno));
		sb_status st = set_root_of(set, strcmp(real, "/") ? real : "", true, true, d);
		if (st)
			return st;
	}
	sb_status st = add_file(set, f, d);
	if (st)
		return st;
	if ((st = parse_file(set, f, node, d)))
		return st;
	if (out)
		*out = f->policy;
	return SB_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static sb_status load_dir_files(sb_policyset *set, const char *dir, sb_diag *d);

sb_status sb_policyset_load_dir(sb_policyset *set, const char *dir, sb_diag *d)
{
	char real[PATH_MAX];
	bool was_fixed = set->root_fixed;
	if (!was_fixed && realpath(dir, real)) {
		sb_status st = set_root_of(set, strcmp(real, "/") ? real : "", true, true, d);
		if (st)
			return st;
		set->root_fixed = true; /* the folder, even for a linked file in it */
	}
	sb_status st = load_dir_files(set, dir, d);
	set->root_fixed = was_fixed;
	return st;
}

static sb_status load_dir_files(sb_policyset *set, const char *dir, sb_diag *d)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return sb_diag_set(d, SB_EIO, dir, 0, 0, "cannot open policy folder: %s",
				   strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	sb_status st = SB_OK;
	struct dirent *e;
	while ((e = readdir(dh))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **p = sb_realloc(names, cap * sizeof *p);
			if (!p) {
				st = oom(d);
				break;
			}
			names = p;
		}
		if (!(names[n] = sb_malloc(strlen(dir) + len + 2))) {
			st = oom(d);
			break;
		}
		sprintf(names[n++], "%s/%s", dir, e->d_name);
	}
	closedir(dh);
	if (!st && !n)
		st = sb_diag_set(d, SB_ENOTFOUND, dir, 0, 0, "no *.yaml policy files in this folder");
	if (!st && n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; !st && i < n; i++)
		st = sb_policyset_load_file(set, names[i], NULL, d);
	for (size_t i = 0; i < n; i++)
		sb_free(names[i]);
	sb_free(names);
	return st;
}
