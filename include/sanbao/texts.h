/* texts.h: policy documents as data. Reads Chinese official documents
 * (UTF-8, or GBK converted through iconv), splits them into clauses by their
 * numbering (一、 （一） 1. （1） 第X章 第X节 第X条), codes each clause with a
 * frame of categories (goals, tools, coordination, departments) read from
 * YAML, and counts the codes by stage and province the way 孙菊等 (2024)
 * report them. `sanbao code-texts` is the command over sb_texts_run.
 *
 * Ownership: documents and clauses live in the caller's arena; the frame is
 * a heap object freed with sb_texts_frame_free.
 */
#ifndef SANBAO_TEXTS_H
#define SANBAO_TEXTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sanbao/base.h"

/* Named limits; each is checked and reported as SB_ELIMIT. */
#define SB_TEXTS_MAX_FILE (16u << 20)    /* bytes in one document */
#define SB_TEXTS_MAX_DEPTH 8             /* nesting of numbered items */
#define SB_TEXTS_MAX_CATEGORIES 256      /* categories in a frame */
#define SB_TEXTS_MAX_TERMS 8192          /* distinct strings in a frame */
#define SB_TEXTS_MAX_ISSUERS 16          /* issuers parsed from a header */
#define SB_TEXTS_PATH_MAX 128            /* bytes in a clause path */

typedef struct sb_arena sb_arena;
typedef struct sb_texts_frame sb_texts_frame;

/* A set of category indexes into the frame, one bit each. */
typedef struct sb_texts_codes {
	uint64_t bits[SB_TEXTS_MAX_CATEGORIES / 64];
} sb_texts_codes;

static inline bool sb_texts_codes_has(const sb_texts_codes *c, size_t i)
{
	return (c->bits[i / 64] >> (i % 64)) & 1u;
}

/* One clause (条目): a numbered item with the unnumbered lines after it. */
typedef struct sb_texts_clause {
	char path[SB_TEXTS_PATH_MAX]; /* "三.(二).1", "第二章.第十条" */
	const char *text;             /* the item's lines joined by '\n' (arena) */
	size_t len;
	int line;     /* 1-based line of the numbered line in the file */
	int depth;    /* 1 for top-level items */
	bool heading; /* a title with children and no text of its own */
	sb_texts_codes codes;
	const char *terms; /* matched terms "医疗救助;资助参保" (arena), after coding */
} sb_texts_clause;

/* A line of the body that belongs to no numbered item (text before the
 * first item). */
typedef struct sb_texts_unplaced {
	int line;
	const char *text; /* arena */
	size_t len;
} sb_texts_unplaced;

typedef struct sb_texts_doc {
	const char *name;   /* the file's base name (arena) */
	const char *title;  /* 标题 from the header, "" when absent */
	const char *issuer; /* 发文机关 / 制定机关 as written, "" when absent */
	const char *number; /* 文号 */
	const char *date;   /* 日期 as written */
	int year;           /* first year in 日期, 0 when none */
	const char *issuers[SB_TEXTS_MAX_ISSUERS]; /* the issuer split into organs */
	size_t nissuers;
	bool has_header;    /* a `----` line was found */
	bool converted;     /* the file was GBK and was converted */
	sb_texts_clause *clauses;
	size_t nclauses;
	sb_texts_unplaced *unplaced;
	size_t nunplaced;
} sb_texts_doc;

/* Makes buf[0..n) UTF-8: valid UTF-8 (a BOM dropped) is returned as is;
 * otherwise the bytes are converted from GBK (GB18030) through iconv and
 * *converted set; bytes that are neither are SB_EINPUT at the first invalid
 * byte's line and column. The result is borrowed (buf) or arena-owned. */
SB_MUST_USE sb_status sb_texts_to_utf8(sb_arena *a, const char *name, const char *buf,
				       size_t n, const char **out, size_t *outn,
				       bool *converted, sb_diag *d);

/* Splits a UTF-8 document into header and clauses. `name` is used in
 * diagnostics and as the document's name. Everything is arena-owned. */
SB_MUST_USE sb_status sb_texts_split(sb_arena *a, const char *name, const char *buf,
				     size_t n, sb_texts_doc **out, sb_diag *d);

/* Reads a document file: sb_texts_to_utf8 then sb_texts_split. */
SB_MUST_USE sb_status sb_texts_read(sb_arena *a, const char *path, sb_texts_doc **out,
				    sb_diag *d);

/* Parses a Chinese numeral ("十", "二十八", "一百零一", "九十九") or Arabic
 * digits (half- or full-width) at p[0..n); the whole view must be the number.
 * Returns 0 when it is none. */
long sb_texts_numeral(const char *p, size_t n);

/* ---- the frame -------------------------------------------------------- */

/* Loads a frame (frames/poverty-governance.yaml is the paper's). Freed by
 * the caller with sb_texts_frame_free. */
SB_MUST_USE sb_status sb_texts_frame_load(const char *path, sb_texts_frame **out,
					  sb_diag *d);
SB_MUST_USE sb_status sb_texts_frame_load_mem(const char *name, const char *buf, size_t n,
					      sb_texts_frame **out, sb_diag *d);
void sb_texts_frame_free(sb_texts_frame *f);

size_t sb_texts_frame_ncategories(const sb_texts_frame *f);
/* The index of a category id ("goal.affordable"), or -1. */
int sb_texts_frame_find(const sb_texts_frame *f, const char *id, size_t n);
/* A category's id, display name, dimension and group (borrowed). */
const char *sb_texts_frame_id(const sb_texts_frame *f, size_t i);
const char *sb_texts_frame_name(const sb_texts_frame *f, size_t i);
const char *sb_texts_frame_dimension(const sb_texts_frame *f, size_t i);
const char *sb_texts_frame_group(const sb_texts_frame *f, size_t i);
/* The stage for a year by the frame's stage rule (NULL when none fits). */
const char *sb_texts_frame_stage(const sb_texts_frame *f, int year);

/* Codes text[0..n) with the frame: sets *codes and, when terms is not NULL,
 * the matched terms that decided a code, ';'-separated, into terms[0..cap)
 * (truncated at a term boundary). Returns the number of codes. */
size_t sb_texts_code(const sb_texts_frame *f, const char *text, size_t n,
		     sb_texts_codes *codes, char *terms, size_t cap);

/* Departments (categories of the dimension "department") matched in
 * text[0..n), as codes. */
void sb_texts_departments(const sb_texts_frame *f, const char *text, size_t n,
			  sb_texts_codes *out);

/* ---- agreement -------------------------------------------------------- */

/* Cohen's kappa for one binary code over N = tp+fp+fn+tn clauses:
 * (po - pe) / (1 - pe). When pe == 1 (both raters constant) it is 1 if they
 * agree everywhere, else 0. */
double sb_texts_kappa(long tp, long fp, long fn, long tn);

/* ---- the whole run ---------------------------------------------------- */

typedef struct sb_texts_config {
	const char *frame_path;
	const char *meta_path; /* NULL: stage from the date, province unknown */
	const char *gold_path; /* NULL: no agreement report */
	const char *out_dir;
	const char *const *docs;
	size_t ndocs;
	FILE *report; /* the summary and agreement table go here (stdout) */
} sb_texts_config;

typedef struct sb_texts_totals {
	size_t documents, clauses, coded, unplaced, converted;
	size_t gold_clauses; /* clauses in the gold file that were compared */
} sb_texts_totals;

/* Reads, splits and codes every document, writes clauses.csv, unplaced.csv,
 * documents.csv, the tables (table2_goals.csv … table6_coordination_goal.csv,
 * by_province.csv, departments.csv) and tables.json into out_dir, each
 * through a temporary name renamed into place; with a gold file, also
 * agreement.csv and the agreement table on cfg->report. */
SB_MUST_USE sb_status sb_texts_run(const sb_texts_config *cfg, sb_texts_totals *t,
				   sb_diag *d);

#endif
