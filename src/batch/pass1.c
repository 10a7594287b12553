/* pass1.c: claims.csv into binary records spilled to partition files, one
 * byte range of the file per thread. A row that cannot be read is rejected
 * here with its reason; each claim id's hash goes into the shared id set
 * (batch/dups.c), which names the candidate duplicates. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "batch/batch_int.h"
#include "batch/pass_int.h"
#include "io/ranges.h"
#include "sanbao/io.h"
#include "sanbao/settle.h"

#define PART_BUF (64u << 10)

/* The claim columns pass 1 reads, in the order of sb_claims_columns, then
 * what was settled, read from a settlements.csv only (`sanbao monitor`). */
enum { C_ID = SB_CCOL_ID, C_PERSON = SB_CCOL_PERSON, C_DATE = SB_CCOL_DATE,
       C_VISIT = SB_CCOL_VISIT, C_LEVEL = SB_CCOL_LEVEL, C_PLACE = SB_CCOL_PLACE,
       C_CARE = SB_CCOL_CARE, C_FILING = SB_CCOL_FILING, C_TOTAL = SB_CCOL_TOTAL,
       C_IN_SCOPE = SB_CCOL_IN_SCOPE, C_PRE = SB_CCOL_PRE, C_OVER = SB_CCOL_OVER,
       C_OUT = SB_CCOL_OUT, C_IDENTITY, C_VERSION, C_REGION, C_OOP, C_OOP_IN_SCOPE, C_DX, C_N };
_Static_assert(C_N <= sizeof ((sb_claim_cols *)0)->col / sizeof(int), "claim columns");

/* settlements.csv as `sanbao monitor` reads it: the claim, and what was
 * settled (region, version and identity applied, oop, oop_in_scope). */
static const int monitor_cols[C_N] = {
	SB_SCOL_ID, SB_SCOL_PERSON, SB_SCOL_DATE, SB_SCOL_VISIT, SB_SCOL_LEVEL, SB_SCOL_PLACE,
	SB_SCOL_CARE, SB_SCOL_FILING, SB_SCOL_TOTAL, SB_SCOL_IN_SCOPE, -1, -1, -1,
	SB_SCOL_IDENTITY, SB_SCOL_VERSION, SB_SCOL_REGION, SB_SCOL_OOP, SB_SCOL_OOP_IN_SCOPE, -1,
};

static sb_status sb_pass1_columns(sb_batch *b, const sb_csv *c, sb_claim_cols *cols, sb_diag *d)
{
	int all[(int)SB_CCOL_N > (int)SB_SCOL_N ? (int)SB_CCOL_N : (int)SB_SCOL_N];
	sb_status st;
	if (b->cfg->monitor_only) {
		if ((st = sb_io_map(c, "settlements.csv", sb_settlements_columns, SB_SCOL_N, true, all,
				    d)))
			return st;
		for (int i = 0; i < C_N; i++)
			cols->col[i] = monitor_cols[i] < 0 ? -1 : all[monitor_cols[i]];
		/* What was settled is read, never recomputed: every such column
		 * must be there. */
		for (int i = C_TOTAL; i < C_N; i++)
			if (monitor_cols[i] >= 0 && cols->col[i] < 0)
				return sb_diag_set(d, SB_EINPUT, b->cfg->claims_path, 1, 1,
						   "settlements.csv has no column %s",
						   sb_settlements_columns[monitor_cols[i]].name);
	} else {
		if ((st = sb_io_map(c, "claims.csv", sb_claims_columns, SB_CCOL_N, true, all, d)))
			return st;
		for (int i = 0; i < C_N; i++)
			cols->col[i] = i <= C_OUT ? all[i] : -1;
		cols->col[C_DX] = all[SB_CCOL_DIAGNOSIS];
	}
	/* Where a claim was treated decides which layers and rates apply:
	 * without place or care_region every claim would be settled as
	 * local, so the file is refused (docs/data-format.md). */
	if (cols->col[C_PLACE] < 0 && cols->col[C_CARE] < 0)
		return sb_diag_set(d, SB_ESYNTAX, sb_csv_name(c), 1, 0,
				   "%s has neither a place nor a care_region (or mdtrtarea_admvs) "
				   "column: say where each claim was treated",
				   b->cfg->monitor_only ? "settlements.csv" : "claims.csv");
	cols->npaid = 0;
	for (size_t i = 0; i < sb_csv_ncols(c) && !b->cfg->monitor_only; i++) {
		sb_csv_field h = sb_csv_header(c, i);
		if (h.n <= 5 || memcmp(h.p, "paid_", 5))
			continue;
		for (int k = 0; k < cols->npaid; k++) {
			sb_csv_field g = sb_csv_header(c, (size_t)cols->paid_col[k]);
			if (g.n == h.n && !memcmp(g.p, h.p, h.n))
				return sb_diag_set(d, SB_ESYNTAX, sb_csv_name(c), 1, 0,
						   "claims.csv names the column %.*s twice: field %d "
						   "and field %zu: keep one",
						   (int)(h.n < 40 ? h.n : 40), h.p,
						   cols->paid_col[k] + 1, i + 1);
		}
		if (cols->npaid == SB_MAX_PAID)
			return sb_diag_set(d, SB_ELIMIT, b->cfg->claims_path, 1, 1,
					   "at most %d paid_<layer> columns", SB_MAX_PAID);
		cols->paid_col[cols->npaid] = (int)i;
		cols->paid_layer[cols->npaid] =
			sb_policyset_symbol(b->set, SB_SYM_LAYER, h.p + 5, h.n - 5);
		cols->npaid++;
	}
	cols->nclass = 0;
	for (size_t i = 0; i < sb_csv_ncols(c) && !b->cfg->monitor_only; i++) {
		sb_csv_field h = sb_csv_header(c, i);
		if (h.n <= 6 || memcmp(h.p, "class_", 6))
			continue;
		for (int k = 0; k < cols->nclass; k++) {
			sb_csv_field g = sb_csv_header(c, (size_t)cols->class_col[k]);
			if (g.n == h.n && !memcmp(g.p, h.p, h.n))
				return sb_diag_set(d, SB_ESYNTAX, sb_csv_name(c), 1, 0,
						   "claims.csv names the column %.*s twice: field %d "
						   "and field %zu: keep one",
						   (int)(h.n < 40 ? h.n : 40), h.p,
						   cols->class_col[k] + 1, i + 1);
		}
		if (cols->nclass == SB_MAX_CLASSES)
			return sb_diag_set(d, SB_ELIMIT, b->cfg->claims_path, 1, 1,
					   "at most %d class_<name> columns", SB_MAX_CLASSES);
		cols->class_col[cols->nclass] = (int)i;
		cols->class_sym[cols->nclass] =
			sb_policyset_symbol(b->set, SB_SYM_CLASS, h.p + 6, h.n - 6);
		cols->nclass++;
	}
	cols->ncols = sb_csv_ncols(c);
	return SB_OK;
}

/* The words of an enumerated column seen last (visit, place, filing) and
 * what they name: a column holds a handful of words, and the general
 * lookup measures every name on every row. */
typedef struct enum_memo {
	int n;
	struct {
		char text[24];
		uint8_t len;
		int8_t v;
	} e[8];
} enum_memo;
enum { M_VISIT, M_PLACE, M_FILING, M_N };

/* A thread's share of pass 1. */
typedef struct worker {
	sb_batch *b;
	const sb_claim_cols *cols;
	int chunk;
	int64_t start, end;
	char **pbuf;
	size_t *plen;
	uint64_t *cand; /* hashes of ids whose bits the id set had already */
	size_t ncand, capcand;
	char *ridbuf;   /* ids of rejected rows, until spilled */
	size_t ridlen;
	sb_rejects rejects;
	long long rows, rejected;
	sb_fen rejected_total;
	bool overflow; /* rejected_total would not fit in 64 bits */
	long long rejected_unreadable;
	long lines;
	char *region;             /* where the next buffer is cut (new_buffer) */
	size_t region_left;
	sb_date date_lo, date_hi; /* of the records spilled */
	bool multiline;
	sb_status st;
	sb_diag d;
	int nlevels;
	struct { char text[32]; size_t n; int sym; } levels[8];
	enum_memo memo[M_N];
} worker;

static sb_status spill(int fd, _Atomic int64_t *size, const char *buf, size_t n, sb_diag *d)
{
	int64_t off = atomic_fetch_add(size, (int64_t)n);
	while (n) {
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot write the spill folder: %s",
					   strerror(errno));
		}
		buf += w;
		off += w;
		n -= (size_t)w;
	}
	return SB_OK;
}

/* A partition buffer of the worker: the data of a memory block, cut from
 * the worker's region of huge pages (b->regions): pass 2 visits the
 * records in sorted order, all over the blocks, and 4 KiB pages would
 * miss the TLB on nearly every record. Freed with the regions. */
#define BLOCK_BYTES ((sizeof(sb_mblock) + PART_BUF + 63) & ~(size_t)63)
static char *new_buffer(worker *w)
{
	if (w->region_left < BLOCK_BYTES) {
		char *r = sb_batch_region(w->b, SB_REGION_BYTES);
		if (!r)
			return NULL;
		w->region = r;
		w->region_left = SB_REGION_BYTES;
	}
	sb_mblock *k = (sb_mblock *)(void *)w->region;
	w->region += BLOCK_BYTES;
	w->region_left -= BLOCK_BYTES;
	return k->data;
}

static sb_mblock *block_of(char *buf)
{
	return (sb_mblock *)(void *)(buf - offsetof(sb_mblock, data));
}

/* Partition p's buffer, full (or the last of the range), to the
 * partition's blocks in memory while they fit the budget, else to its
 * spill file. With last, no new buffer is taken. */
static sb_status hand_over(worker *w, int p, bool last)
{
	sb_batch *b = w->b;
	if (atomic_fetch_add(&b->mem_used, (int64_t)PART_BUF) + (int64_t)PART_BUF <=
	    b->mem_budget) {
		char *next = last ? NULL : new_buffer(w);
		if (last || next) {
			sb_mblock *k = block_of(w->pbuf[p]);
			k->n = w->plen[p];
			k->next = atomic_load(&b->mem[p]);
			while (!atomic_compare_exchange_weak(&b->mem[p], &k->next, k))
				;
			w->pbuf[p] = next;
			w->plen[p] = 0;
			return SB_OK;
		}
	}
	atomic_fetch_sub(&b->mem_used, (int64_t)PART_BUF);
	sb_status st = spill(b->part_fd[p], &b->part_size[p], w->pbuf[p], w->plen[p], &w->d);
	w->plen[p] = 0;
	return st;
}

static sb_status put(worker *w, int p, const void *rec, size_t n)
{
	char **buf = w->pbuf;
	size_t *len = w->plen;
	if (len[p] + n > PART_BUF) {
		sb_status st = hand_over(w, p, false);
		if (st)
			return st;
	}
	memcpy(buf[p] + len[p], rec, n);
	len[p] += n;
	return SB_OK;
}

static sb_csv_field get(const sb_csv *c, int col)
{
	sb_csv_field f = {"", 0};
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

/* A cell as a reason may show it: cut, ID-shaped values masked. */
typedef struct shown_text {
	char s[SB_IO_SHOWN];
} shown_text;

static shown_text shown(sb_csv_field f)
{
	shown_text t;
	sb_io_shown(f.p, f.n, t.s);
	return t;
}

/* A level's symbol, through a memo of the last words seen: a province
 * has a handful of levels, and every claim names one. */
static int level_symbol(worker *w, sb_csv_field f)
{
	for (int i = 0; i < w->nlevels; i++)
		if (w->levels[i].n == f.n && !memcmp(w->levels[i].text, f.p, f.n))
			return w->levels[i].sym;
	int sym = sb_policyset_symbol(w->b->set, SB_SYM_LEVEL, f.p, f.n);
	if (f.n <= sizeof w->levels[0].text) {
		int k = w->nlevels < 8 ? w->nlevels++ : (int)(f.n % 8);
		memcpy(w->levels[k].text, f.p, f.n);
		w->levels[k].n = f.n;
		w->levels[k].sym = sym;
	}
	return sym;
}

/* Reads one amount column; *set says whether it was present. Returns a
 * reason or NULL. */
static const char *amount(const sb_csv *c, int col, const char *name, bool required,
			  sb_fen *out, char *why, size_t cap)
{
	sb_csv_field f = get(c, col);
	const char *w;
	*out = 0;
	if (!f.n) {
		if (!required)
			return NULL;
		snprintf(why, cap, "%s is empty", name);
		return why;
	}
	if (sb_money_parse(f.p, f.n, out, &w)) {
		snprintf(why, cap, "%s \"%s\" %s", name, shown(f).s, w);
		return why;
	}
	if (*out < 0) {
		snprintf(why, cap, "%s \"%s\" is negative", name, shown(f).s);
		return why;
	}
	return NULL;
}

static int enum_of(sb_csv_field f, const char *const *names, const char *const *codes)
{
	int i = sb_name_index(names, f.p, f.n);
	if (i < 0 && codes)
		i = sb_name_index(codes, f.p, f.n);
	return i;
}

/* enum_of through the memo of its column. */
static int enum_memo_of(enum_memo *m, sb_csv_field f, const char *const *names,
			const char *const *codes)
{
	for (int i = 0; i < m->n; i++)
		if (m->e[i].len == f.n && !memcmp(m->e[i].text, f.p, f.n))
			return m->e[i].v;
	int v = enum_of(f, names, codes);
	if (f.n <= sizeof m->e[0].text && m->n < 8 && v < 128) {
		memcpy(m->e[m->n].text, f.p, f.n);
		m->e[m->n].len = (uint8_t)f.n;
		m->e[m->n].v = (int8_t)v;
		m->n++;
	}
	return v;
}

/* What a parsed row still needs from the person table. The lookups are
 * done a batch of rows at a time, after prefetching: the table is far
 * larger than the caches and each probe would otherwise wait for memory. */
typedef struct pending {
	uint64_t key;
	size_t slot;   /* where the key's probe starts */
	int pseudo;
	bool has_care; /* place comes from care_region and the person's region */
	char care[6];
	bool total_ok;
	sb_fen total;
	uint64_t line;
	uint64_t idhash; /* the claim id's */
	long person;
} pending;

#define BATCH 16

/* What a settlements.csv row says was settled, into the record's settled
 * entry (`sanbao monitor`). Returns NULL or a reason. */
static const char *settled_cols(worker *w, const sb_csv *c, sb_crec *rec, char *why, size_t cap)
{
	const sb_claim_cols *cols = w->cols;
	sb_crec_settled st;
	memset(&st, 0, sizeof st);
	const char *r;
	if ((r = amount(c, cols->col[C_IN_SCOPE], "in_scope", true, &rec->in_scope, why, cap)) ||
	    (r = amount(c, cols->col[C_OOP], "oop", true, &st.oop, why, cap)) ||
	    (r = amount(c, cols->col[C_OOP_IN_SCOPE], "oop_in_scope", true, &st.oop_in_scope, why,
			cap)))
		return r;
	sb_csv_field f = get(c, cols->col[C_IDENTITY]);
	st.identity = f.n == 4 && !memcmp(f.p, "none", 4) ? -1 :
		      sb_policyset_symbol(w->b->set, SB_SYM_IDENTITY, f.p, f.n);
	if (st.identity < 0 && !(f.n == 4 && !memcmp(f.p, "none", 4))) {
		snprintf(why, cap, "identity \"%s\" is none of the loaded policies' identities",
			 shown(f).s);
		return why;
	}
	f = get(c, cols->col[C_VERSION]);
	if (sb_date_parse(f.p, f.n, 1, &st.version, &r)) {
		snprintf(why, cap, "version \"%s\" is not a date (YYYY-MM-DD)", shown(f).s);
		return why;
	}
	f = get(c, cols->col[C_REGION]);
	bool digits = f.n == 6;
	for (size_t i = 0; digits && i < 6; i++) {
		digits = f.p[i] >= '0' && f.p[i] <= '9';
		st.region = st.region * 10 + (uint32_t)(f.p[i] - '0');
	}
	if (!digits) {
		snprintf(why, cap, "region \"%s\" is not a 6-digit region code", shown(f).s);
		return why;
	}
	memcpy(rec + 1, &st, sizeof st);
	rec->npaid = SB_CREC_SETTLED_SLOTS;
	return NULL;
}

/* Parses the current row into rec (a buffer of at least 1 KiB). Returns
 * NULL or a reason; *total_ok tells whether *total was read. */
static const char *parse_row(worker *w, const sb_csv *c, sb_crec *rec, char *why, size_t cap,
			     bool *total_ok, sb_fen *total, pending *pd)
{
	const sb_claim_cols *cols = w->cols;
	sb_batch *b = w->b;
	memset(rec, 0, sizeof *rec);
	*total_ok = false;
	bool mon = b->cfg->monitor_only;
	const char *r = amount(c, cols->col[C_TOTAL], "total", true, &rec->total, why, cap);
	if (!r) {
		*total_ok = true;
		*total = rec->total;
	}
	sb_csv_field id = get(c, cols->col[C_ID]);
	if (!id.n)
		return "claim id is empty";
	if (id.n > 64)
		return "claim id is longer than 64 characters";
	/* " E" and "E" would be two claims to the duplicate check but one to
	 * a clerk: an id with blanks around it is refused, not trimmed. */
	if (id.p[0] == ' ' || id.p[0] == '\t' || id.p[id.n - 1] == ' ' || id.p[id.n - 1] == '\t')
		return "claim id has a leading or trailing blank";
	sb_csv_field pf = get(c, cols->col[C_PERSON]);
	const char *w2;
	pd->has_care = false;
	if (sb_person_key(pf.p, pf.n, &pd->key, &pd->pseudo, NULL, &w2)) {
		snprintf(why, cap, "resident ID %s", w2);
		return why;
	}
	sb_csv_field f = get(c, cols->col[C_DATE]);
	if (sb_date_parse(f.p, f.n, 1, &rec->date, &w2)) {
		snprintf(why, cap, "date \"%s\" %s", shown(f).s, w2);
		return why;
	}
	f = get(c, cols->col[C_VISIT]);
	int v = enum_memo_of(&w->memo[M_VISIT], f, sb_visit_names, sb_visit_codes);
	if (v < 0) {
		snprintf(why, cap, "visit \"%s\" is not inpatient, chronic_outpatient, outpatient, "
			 "pharmacy (or 21, 14, 11, 41)", shown(f).s);
		return why;
	}
	rec->visit = (uint8_t)v;
	f = get(c, cols->col[C_LEVEL]);
	rec->level = -1;
	if (f.n) {
		rec->level = (int16_t)level_symbol(w, f);
		if (rec->level < 0)
			rec->levlen = (uint8_t)(f.n < 40 ? f.n : 40);
	}
	/* The diagnosis is kept for disease lists (policy format 2): an
	 * ICD-10 code is short; a longer cell matches no list. */
	f = get(c, cols->col[C_DX]);
	if (f.n && f.n <= SB_CREC_DX_MAX)
		rec->dxlen = (uint8_t)f.n;
	f = get(c, cols->col[C_PLACE]);
	if (f.n) {
		v = enum_memo_of(&w->memo[M_PLACE], f, sb_place_names, NULL);
		if (v < 0) {
			snprintf(why, cap, "place \"%s\" is not local, in_province or cross_province",
				 shown(f).s);
			return why;
		}
		rec->place = (uint8_t)v;
	} else if ((f = get(c, cols->col[C_CARE])).n) {
		bool digits = f.n == 6;
		for (size_t i = 0; digits && i < 6; i++)
			digits = f.p[i] >= '0' && f.p[i] <= '9';
		if (!digits) {
			snprintf(why, cap, "care_region \"%s\" is not a 6-digit region code",
				 shown(f).s);
			return why;
		}
		memcpy(pd->care, f.p, 6);
		pd->has_care = true;
	} else {
		/* Neither says where the claim was treated: never assume local. */
		return cols->col[C_PLACE] < 0 ? "care_region is empty: give the region of care" :
		       cols->col[C_CARE] < 0 ? "place is empty: give local, in_province or "
					       "cross_province" :
					       "place and care_region are both empty: give one";
	}
	f = get(c, cols->col[C_FILING]);
	if (f.n) {
		v = enum_memo_of(&w->memo[M_FILING], f, sb_filing_names, NULL);
		if (v < 0) {
			snprintf(why, cap, "filing \"%s\" is not filed, referral, emergency, unfiled "
				 "or long_term", shown(f).s);
			return why;
		}
		rec->filing = (uint8_t)v;
	}
	if (r)
		return r;
	if (mon && (r = settled_cols(w, c, rec, why, cap)))
		return r;
	sb_fen out_of_scope;
	if (mon)
		goto tail;
	if ((r = amount(c, cols->col[C_IN_SCOPE], "in_scope", true, &rec->in_scope, why, cap)) ||
	    (r = amount(c, cols->col[C_PRE], "pre_selfpay", false, &rec->pre_selfpay, why, cap)) ||
	    (r = amount(c, cols->col[C_OVER], "over_limit", false, &rec->over_limit, why, cap)) ||
	    (r = amount(c, cols->col[C_OUT], "out_of_scope", false, &out_of_scope, why, cap)))
		return r;
	/* The parts within the total: settle's own check, so that a claim is
	 * refused here for the reason settling it would give. Its messages
	 * name the claim, which rejects.csv has in a column of its own. */
	sb_claim cl = {.id = "", .total = rec->total, .in_scope = rec->in_scope,
		       .pre_selfpay = rec->pre_selfpay, .over_limit = rec->over_limit};
	sb_diag cd;
	if (sb_claim_check(&cl, &cd)) {
		const char *m = cd.message;
		if (!strncmp(m, "claim : ", 8))
			m += 8;
		snprintf(why, cap, "%s", m);
		return why;
	}
	sb_fen parts = rec->in_scope + rec->pre_selfpay + rec->over_limit;
	char a[SB_MONEY_BUF], t[SB_MONEY_BUF];
	if (get(c, cols->col[C_OUT]).n && parts + out_of_scope != rec->total) {
		sb_money_format(parts + out_of_scope, a);
		sb_money_format(rec->total, t);
		snprintf(why, cap, "the four parts add up to %s, not the total %s", a, t);
		return why;
	}
	sb_crec_paid *paid = (sb_crec_paid *)(rec + 1);
	for (int i = 0; i < cols->npaid; i++) {
		f = get(c, cols->paid_col[i]);
		if (!f.n)
			continue;
		sb_csv_field h = sb_csv_header(c, (size_t)cols->paid_col[i]);
		if (cols->paid_layer[i] < 0) {
			snprintf(why, cap, "%s names no layer of the loaded policies", shown(h).s);
			return why;
		}
		sb_fen fen;
		if ((r = amount(c, cols->paid_col[i], "paid", true, &fen, why, cap)))
			return r;
		paid[rec->npaid].layer = cols->paid_layer[i];
		paid[rec->npaid].pad = 0;
		paid[rec->npaid].fen = fen;
		rec->npaid++;
	}
	/* Item classes ride in the paid slots, marked by pad (pass 2 tells
	 * them apart); their sum within in_scope is settle's check. */
	for (int i = 0; i < cols->nclass; i++) {
		f = get(c, cols->class_col[i]);
		if (!f.n)
			continue;
		sb_csv_field h = sb_csv_header(c, (size_t)cols->class_col[i]);
		if (cols->class_sym[i] < 0) {
			snprintf(why, cap, "%s names no item class of the loaded policies", shown(h).s);
			return why;
		}
		sb_fen fen;
		if ((r = amount(c, cols->class_col[i], "class amount", true, &fen, why, cap)))
			return r;
		paid[rec->npaid].layer = cols->class_sym[i];
		paid[rec->npaid].pad = SB_CREC_CLASS;
		paid[rec->npaid].fen = fen;
		rec->npaid++;
	}
tail:;
	sb_crec_paid *paid_end = (sb_crec_paid *)(rec + 1) + rec->npaid;
	rec->idlen = (uint8_t)id.n;
	char *tail = (char *)paid_end;
	memcpy(tail, id.p, id.n);
	if (rec->levlen) {
		/* Kept only to name an unknown level: an ID-shaped word (a
		 * shifted column) is kept masked. */
		char lv[SB_IO_SHOWN];
		sb_io_shown(get(c, cols->col[C_LEVEL]).p, rec->levlen, lv);
		memcpy(tail + id.n, lv, rec->levlen);
	}
	if (rec->dxlen)
		memcpy(tail + id.n + rec->levlen, get(c, cols->col[C_DX]).p, rec->dxlen);
	size_t size = sb_crec_size(rec);
	memset(tail + id.n + rec->levlen + rec->dxlen, 0,
	       size - sizeof *rec - rec->npaid * sizeof *paid_end - id.n - rec->levlen - rec->dxlen);
	return NULL;
}

static sb_status reject_row(worker *w, uint64_t line, const char *id, size_t idlen,
			    const char *reason, bool total_ok, sb_fen total)
{
	w->rejected++;
	/* A claim id that is a resident ID (a shifted column) is masked:
	 * rejects.csv never holds a whole one. */
	char masked[SB_ID_LEN + 1];
	if (idlen == SB_ID_LEN && !sb_id_check(id, idlen, NULL, NULL) && !w->b->cfg->show_ids) {
		sb_id_mask(id, idlen, masked);
		id = masked;
	}
	if (total_ok)
		w->overflow |= !sb_fen_add(&w->rejected_total, total);
	else
		w->rejected_unreadable++;
	return sb_rejects_add(&w->rejects, 2, line, id, idlen, reason, total_ok, total);
}

/* A claim id into the id set (batch/dups.c); a candidate duplicate when
 * its bits are there already. */
static sb_status note_id(worker *w, uint64_t h)
{
	if (!sb_pass_idset_add(w->b, h))
		return SB_OK;
	if (w->ncand == w->capcand) {
		size_t cap = w->capcand ? w->capcand * 2 : 64;
		uint64_t *v = sb_realloc(w->cand, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		w->cand = v;
		w->capcand = cap;
	}
	w->cand[w->ncand++] = h;
	return SB_OK;
}

/* The id of a rejected row: every row with a readable id counts for the
 * duplicate check, settled or rejected, so that "first at line N" means
 * the first row of the file with that id whatever became of it. No
 * partition holds a rejected row, so its line and id go to the spill of
 * rejected ids (read back only when there are candidates). */
static sb_status note_rejected_id(worker *w, uint64_t line, const char *id, size_t n)
{
	sb_batch *b = w->b;
	_Alignas(8) char rec[96];
	memcpy(rec, &line, 8);
	rec[8] = (char)n;
	memcpy(rec + 9, id, n);
	size_t len = (9 + n + 7) & ~(size_t)7;
	memset(rec + 9 + n, 0, len - 9 - n);
	if (!w->ridbuf && !(w->ridbuf = sb_malloc(PART_BUF)))
		return SB_ENOMEM;
	if (w->ridlen + len > PART_BUF) {
		sb_status st = spill(b->rid_fd, &b->rid_size, w->ridbuf, w->ridlen, &w->d);
		if (st)
			return st;
		w->ridlen = 0;
	}
	memcpy(w->ridbuf + w->ridlen, rec, len);
	w->ridlen += len;
	return note_id(w, sb_claim_id_hash(id, n));
}

/* Resolves the persons of a batch of parsed rows and spills them. */
static sb_status flush_batch(worker *w, char (*recs)[2048], pending *pd, int n)
{
	sb_batch *b = w->b;
	for (int i = 0; i < n; i++) {
		pd[i].person = -1;
		for (size_t h = pd[i].slot;; h = (h + 1) & b->index_mask) {
			const sb_pslot *s = &b->index[h];
			if (!s->v)
				break;
			if (s->key == pd[i].key && s->pseudo == (uint32_t)pd[i].pseudo) {
				pd[i].person = (long)s->v - 1;
				__builtin_prefetch(&b->persons[pd[i].person]);
				break;
			}
		}
	}
	sb_status st = SB_OK;
	for (int i = 0; i < n && !st; i++) {
		sb_crec *cr = (sb_crec *)recs[i];
		if (pd[i].person < 0) {
			st = reject_row(w, pd[i].line, sb_crec_id(cr), cr->idlen,
					"unknown person: not enrolled in persons.csv (or rejected there)",
					true, cr->total);
			if (!st)
				st = note_rejected_id(w, pd[i].line, sb_crec_id(cr), cr->idlen);
			continue;
		}
		cr->person = (uint32_t)pd[i].person;
		const sb_bperson *bp = &b->persons[cr->person];
		if (pd[i].has_care) {
			char own[6];
			sb_region_text(bp->region, own);
			cr->place = !memcmp(own, pd[i].care, 6) ? SB_PLACE_LOCAL :
				    !memcmp(own, pd[i].care, 2) ? SB_PLACE_IN_PROVINCE :
								  SB_PLACE_CROSS_PROVINCE;
		}
		cr->line = pd[i].line;
		if ((st = put(w, sb_batch_partition_of(b, cr->person), cr, sb_crec_size(cr))))
			break;
		w->date_lo = cr->date < w->date_lo ? cr->date : w->date_lo;
		w->date_hi = cr->date > w->date_hi ? cr->date : w->date_hi;
		st = note_id(w, pd[i].idhash);
	}
	return st;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	sb_batch *b = w->b;
	sb_csv *c = NULL;
	sb_diag_clear(&w->d);
	w->st = w->b->nchunks == 1 ? sb_csv_open(b->cfg->claims_path, &c, &w->d) :
		sb_csv_open_range(b->cfg->claims_path, w->cols->ncols, w->start, w->end, &c, &w->d);
	if (w->st)
		return NULL;
	_Alignas(8) char recs[BATCH][2048];
	pending pd[BATCH];
	int nb = 0;
	char why[1100];
	int r;
	long long since = 0;
	int64_t last_pos = w->start;
	while ((r = sb_csv_next(c, &w->d)) != 0) {
		if (r == -2) {
			w->st = w->d.code;
			break;
		}
		if (sb_csv_multiline(c) && b->nchunks > 1) {
			w->multiline = true;
			break;
		}
		uint64_t line = (uint64_t)w->chunk << 56 | (uint64_t)sb_csv_line(c);
		w->rows++;
		if (++since == 4096) {
			int64_t pos = sb_csv_offset(c);
			atomic_fetch_add(&b->bytes_done, pos - last_pos);
			sb_batch_tick(b);
			last_pos = pos;
			since = 0;
		}
		pending *p = &pd[nb];
		p->total_ok = false;
		p->total = 0;
		const char *reason;
		if (r < 0) {
			snprintf(why, sizeof why, "malformed CSV record: %s", w->d.message);
			reason = why;
		} else {
			reason = parse_row(w, c, (sb_crec *)recs[nb], why, sizeof why, &p->total_ok,
					   &p->total, p);
		}
		if (reason) {
			sb_csv_field id = r < 0 ? sb_io_record_id(c, w->cols->col[C_ID]) :
						  get(c, w->cols->col[C_ID]);
			if ((w->st = reject_row(w, line, id.p, id.n, reason, p->total_ok, p->total)))
				break;
			if (id.n && id.n <= 64 && (w->st = note_rejected_id(w, line, id.p, id.n)))
				break;
			continue;
		}
		p->line = line;
		p->slot = sb_batch_hash(p->key) & b->index_mask;
		__builtin_prefetch(&b->index[p->slot]);
		const sb_crec *cr = (const sb_crec *)recs[nb];
		p->idhash = sb_claim_id_hash(sb_crec_id(cr), cr->idlen);
		__builtin_prefetch((const void *)&b->idset[p->idhash & b->idset_mask]);
		if (++nb == BATCH) {
			if ((w->st = flush_batch(w, recs, pd, nb)))
				break;
			nb = 0;
		}
	}
	if (!w->st && nb)
		w->st = flush_batch(w, recs, pd, nb);
	if (!w->st) {
		atomic_fetch_add(&b->bytes_done, sb_csv_offset(c) - last_pos);
		w->lines = sb_csv_lines(c);
		for (int p = 0; p < b->partitions && !w->st; p++) {
			if (w->plen[p])
				w->st = hand_over(w, p, true);
		}
		if (!w->st && w->ridlen)
			w->st = spill(b->rid_fd, &b->rid_size, w->ridbuf, w->ridlen, &w->d);
	}
	if (w->st == SB_ENOMEM)
		sb_diag_set(&w->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_csv_free(c);
	return NULL;
}

static sb_status reset_spill(sb_batch *b, int64_t size, sb_diag *d)
{
	for (int p = 0; p < b->partitions; p++) {
		if (ftruncate(b->part_fd[p], 0))
			return sb_diag_set(d, SB_EIO, b->tmp, 0, 0, "cannot reset spill files: %s",
					   strerror(errno));
		atomic_store(&b->part_size[p], 0);
	}
	sb_batch_free_blocks(b, -1);
	sb_batch_free_regions(b);
	atomic_store(&b->mem_used, 0);
	if (ftruncate(b->rid_fd, 0))
		return sb_diag_set(d, SB_EIO, b->tmp, 0, 0, "cannot reset spill files: %s",
				   strerror(errno));
	atomic_store(&b->rid_size, 0);
	return sb_pass_idset_init(b, size, d);
}

sb_status sb_pass1(sb_batch *b, sb_pass1_result *res, sb_diag *d)
{
	sb_csv *hc;
	sb_status st = sb_csv_open(b->cfg->claims_path, &hc, d);
	if (st)
		return st;
	st = sb_pass1_columns(b, hc, &res->cols, d);
	sb_csv_free(hc);
	if (st)
		return st;
	int64_t bounds[65], size;
	int nchunks;
	if ((st = sb_io_ranges(b->cfg->claims_path, b->threads > 64 ? 64 : b->threads,
				  (int64_t)1 << 20, bounds, &nchunks, &size, d)) ||
	    (st = sb_pass_idset_init(b, size, d)))
		return st;
	b->file_bytes = size;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt && (st = reset_spill(b, size, d)))
			return st;
		b->nchunks = nchunks;
		worker *w = sb_calloc((size_t)nchunks, sizeof *w);
		pthread_t *tid = sb_calloc((size_t)nchunks, sizeof *tid);
		if (!w || !tid) {
			sb_free(w);
			sb_free(tid);
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		}
		for (int i = 0; i < nchunks; i++) {
			w[i].b = b;
			sb_rejects_init(&w[i].rejects, b->tmp);
			w[i].cols = &res->cols;
			w[i].chunk = i;
			w[i].start = bounds[i];
			w[i].end = bounds[i + 1];
			w[i].date_lo = INT32_MAX;
			w[i].date_hi = INT32_MIN;
			w[i].pbuf = sb_calloc((size_t)b->partitions, sizeof(char *));
			w[i].plen = sb_calloc((size_t)b->partitions, sizeof(size_t));
			if (!w[i].pbuf || !w[i].plen)
				st = SB_ENOMEM;
			for (int p = 0; !st && p < b->partitions; p++)
				if (!(w[i].pbuf[p] = new_buffer(&w[i])))
					st = SB_ENOMEM;
		}
		for (int i = 0; !st && i < nchunks; i++)
			if (pthread_create(&tid[i], NULL, run_worker, &w[i]))
				st = SB_ENOMEM;
		for (int i = 0; i < nchunks; i++)
			if (tid[i])
				pthread_join(tid[i], NULL);
		bool multiline = false;
		for (int i = 0; i < nchunks; i++) {
			multiline |= w[i].multiline;
			if (!st && w[i].st) {
				st = w[i].st;
				*d = w[i].d;
			}
		}
		if (st == SB_ENOMEM && !d->message[0])
			sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		sb_free(b->chunk_base);
		b->chunk_base = sb_calloc((size_t)nchunks, sizeof *b->chunk_base);
		if (!b->chunk_base && !st)
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		res->rows = res->rejected = res->rejected_unreadable = 0;
		res->rejected_total = 0;
		b->date_lo = INT32_MAX;
		b->date_hi = INT32_MIN;
		for (int i = 0; i < nchunks; i++) {
			b->date_lo = w[i].date_lo < b->date_lo ? w[i].date_lo : b->date_lo;
			b->date_hi = w[i].date_hi > b->date_hi ? w[i].date_hi : b->date_hi;
		}
		/* Chunk 0 was read with its header (one line, base 1) or, cut
		 * into ranges, from the start of the body, which is line 2;
		 * chunk i starts where chunk i-1's lines end. */
		for (int i = 0; !st && i < nchunks; i++) {
			b->chunk_base[i] = i ? b->chunk_base[i - 1] + (uint64_t)w[i - 1].lines :
					   nchunks > 1 ? 2 : 1;
			res->rows += w[i].rows;
			res->rejected += w[i].rejected;
			if (w[i].overflow || !sb_fen_add(&res->rejected_total, w[i].rejected_total))
				st = sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
						 "the totals of the rejected claims add up to more than a "
						 "64-bit sum of fen holds");
			res->rejected_unreadable += w[i].rejected_unreadable;
		}
		/* The candidate duplicates of every chunk, for sb_pass_dups. */
		size_t ncand = 0;
		for (int i = 0; i < nchunks; i++)
			ncand += w[i].ncand;
		sb_free(b->cand);
		b->cand = NULL;
		b->ncand = 0;
		if (!st && ncand && !(b->cand = sb_malloc(ncand * sizeof *b->cand)))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		for (int i = 0; i < nchunks; i++) {
			if (b->cand && w[i].ncand)
				memcpy(b->cand + b->ncand, w[i].cand, w[i].ncand * sizeof *b->cand);
			b->ncand += b->cand ? w[i].ncand : 0;
			sb_free(w[i].cand);
			sb_free(w[i].ridbuf);
			sb_free(w[i].pbuf);
			sb_free(w[i].plen);
			if (!st && !multiline) {
				/* chunk << 56 | line within it, to the file's line */
				sb_rejects_offset_lines(&w[i].rejects,
							sb_pass_line(b, (uint64_t)i << 56) -
								((uint64_t)i << 56));
				if ((st = sb_pass_take_rejects(&res->rejects, &w[i].rejects)))
					sb_diag_set(d, st, NULL, 0, 0, "out of memory");
			}
			sb_rejects_release(&w[i].rejects);
		}
		sb_free(w);
		sb_free(tid);
		if (st || !multiline)
			return st;
		nchunks = 1; /* a quoted field spans lines: read the file in one piece */
		atomic_store(&b->bytes_done, 0);
	}
	return st;
}
