/* audit_int.h: what the audit's files share: the extract's audit columns
 * read by claims.csv line (extract.c), the run's context that the batch
 * hands to the audit sink (audit.c, audit_sink.c), and SM3 (evidence.c). */
#ifndef SANBAO_AUDIT_INT_H
#define SANBAO_AUDIT_INT_H

#include <stdint.h>

#include "base/arena.h"
#include "sanbao/audit.h"
#include "sanbao/policy.h"

#define SB_AUDIT_MAX_ACTUAL 32 /* actual_<layer> columns in one extract */
#define SB_AUDIT_MAX_PARTS 8   /* threads reading the extract */

/* A cell of what was paid: col < SB_AUDIT_NFUNDS is a fund column
 * (hifp_pay ...), else actual_<layer> column col - SB_AUDIT_NFUNDS. */
typedef struct __attribute__((packed)) sb_audit_cell {
	uint8_t col;
	sb_fen fen;
} sb_audit_cell; /* 9 bytes: an extract has about ten per claim */

/* One extract row as the audit reads it (the batch reads the rest). */
typedef struct sb_audit_row {
	uint64_t line;         /* claims.csv line */
	uint64_t idhash;       /* sb_audit_idhash of the claim id */
	uint64_t fachash;      /* ... of the facility (0 when not given) */
	uint64_t mdtrthash;    /* ... of the visit id (0 when not given) */
	const char *person;    /* masked (sb_id_mask), 18 characters (arena) */
	const char *facility;  /* "" when not given (arena; one copy per code
				* in each range read, so equal codes are often
				* the same pointer) */
	const char *mdtrt;     /* visit id, "" when not given */
	const char *diagnosis; /* "" when not given */
	sb_date begin;         /* admission date; INT32_MIN when not given */
	uint32_t first;        /* cells[first .. first + ncells) */
	uint8_t ncells;
} sb_audit_row;

typedef struct sb_audit_extract {
	sb_arena arena;
	sb_audit_row *rows;
	size_t nrows, cap;
	sb_audit_cell *cells;
	size_t ncells, cellcap;
	int nactual;                          /* actual_<layer> columns */
	char actual[SB_AUDIT_MAX_ACTUAL][48]; /* their layer ids */
	bool has_fund[SB_AUDIT_NFUNDS];       /* the fund column is present */
	uint32_t *table;                      /* by idhash: row index + 1, 0 empty */
	size_t mask;
	long long rows_read;
	sb_arena parts[SB_AUDIT_MAX_PARTS]; /* the strings of each range read */
	int nparts;
} sb_audit_extract;

/* Reads the audit's columns of every well-formed row of path (sanbao/io.h's
 * claims table; actual_<layer> by prefix). A bad cell is an error at
 * file:line (the field named); a row the CSV reader cannot split is left
 * to the batch, which rejects it. Files of 4 MB or more are read in byte
 * ranges by up to threads threads (0: one per core). */
SB_MUST_USE sb_status sb_audit_extract_read(const char *path, int threads, sb_audit_extract *x,
					    sb_diag *d);
void sb_audit_extract_release(sb_audit_extract *x);
/* The row of a claim id, or NULL. An id on several rows (a duplicate id,
 * which the batch rejects) gives the row nearest to line. Rows are found by
 * id rather than by line alone so that a line the batch counts differently
 * (its chunked reader) never pairs a claim with another claim's payments. */
const sb_audit_row *sb_audit_extract_find(const sb_audit_extract *x, const char *id, size_t n,
					  uint64_t line);

/* FNV-1a of a claim id. */
static inline uint64_t sb_audit_idhash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* What the batch carries to the audit sink (sb_batch_config.audit). */
typedef struct sb_audit_ctx {
	const sb_audit_rules *rules;
	const sb_audit_extract *extract;
	sb_audit_totals *totals; /* filled at the sink's end */
} sb_audit_ctx;

/* SM3 of p[0..n) (OpenSSL EVP), prefixed by one tag byte when tag >= 0. */
SB_MUST_USE sb_status sb_audit_sm3(int tag, const void *p, size_t n, const void *p2, size_t n2,
				   unsigned char out[32], sb_diag *d);
void sb_audit_hex(const unsigned char *h, size_t n, char *out);

#endif
