/* audit_int.h: what the audit's files share: the extract's audit columns
 * read by claims.csv line (extract.c), the run's context that the batch
 * hands to the audit sink (audit.c, audit_sink.c), and SM3 (evidence.c). */
#ifndef SANBAO_AUDIT_INT_H
#define SANBAO_AUDIT_INT_H

#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "sanbao/audit.h"
#include "sanbao/policy.h"

#define SB_AUDIT_MAX_ACTUAL 32 /* actual_<layer> columns in one extract */
#define SB_AUDIT_MAX_PARTS 8   /* threads reading the extract */

#define SB_AUDIT_NCOLS (SB_AUDIT_NFUNDS + SB_AUDIT_MAX_ACTUAL) /* paid columns */
#define SB_AUDIT_BLOCK_SHIFT 18                                /* rows per block: 2^18, 8 MiB */
/* sb_audit_row.flags */
#define SB_AUDIT_ROW_USED (1u << 31)  /* a row starts on this line */
#define SB_AUDIT_ROW_MDTRT (1u << 30) /* the row has a visit id */
#define SB_AUDIT_ROW_WIDE (1u << 29)  /* its amounts are behind cold */
#define SB_AUDIT_ROW_HASH ((1u << 29) - 1)
/* sb_audit_row.cells when not wide: 0, or the one nonzero amount (below
 * 2^26 fen) and its column + 1 above it */
#define SB_AUDIT_CELL_BITS 26

/* One extract row as the audit's sink reads it: 32 bytes (a province's
 * rows are touched at random, so every byte of them costs), stored at its
 * line's place in its range's blocks (so the sink finds it from the
 * batch's line alone, and fetches it ahead). Paid columns are numbered as
 * read: col < SB_AUDIT_NFUNDS is a fund column (hifp_pay ...), else
 * actual_<layer> column col - SB_AUDIT_NFUNDS. The common row has an
 * amount in every paid column of the extract and at most one not 0,
 * below 671,088.64 yuan: it lies in `cells`. Any other is wide: behind
 * `cold`, the columns with an amount (uint64_t, bit col), those not 0
 * (uint64_t), and their amounts in column order (sb_fen each); all
 * unaligned. */
typedef struct sb_audit_row {
	uint64_t idhash; /* sb_audit_idhash of the claim id */
	/* [wide: the amounts, as above] then the person masked (sb_id_mask),
	 * the visit id and the diagnosis, each NUL-terminated ("" when not
	 * given); owned by the extract */
	const char *cold;
	sb_date begin;  /* admission date; INT32_MIN when not given */
	uint32_t fac;   /* the range's facility number + 1; 0: not given */
	uint32_t flags; /* the flags above | 29 bits of the visit id's hash */
	uint32_t cells;
} sb_audit_row;
_Static_assert(sizeof(sb_audit_row) == 32, "an extract row is 32 bytes");

/* A row's amounts, decoded (sb_audit_row_cells). */
typedef struct sb_audit_cells {
	uint64_t cols;       /* bit col: the column has an amount */
	uint64_t nonzero;    /* bit col: that amount is not 0 */
	const char *amounts; /* the nonzero amounts (wide rows), else NULL */
	sb_fen one;          /* else the one nonzero amount */
} sb_audit_cells;

/* One byte range of the extract as read by one thread. */
typedef struct sb_audit_part {
	uint64_t base;      /* the file's line before the range's first */
	uint64_t lines;     /* physical lines in the range */
	sb_audit_row **blk; /* rows by line - base - 1, 2^SB_AUDIT_BLOCK_SHIFT a block */
	size_t nblk;
	uint32_t *facmap; /* the range's facility number -> the extract's */
	size_t nfac;
	sb_arena facs; /* the facility codes: together, so they stay cached */
	char **chunk;  /* the cold texts (sb_huge_alloc, of chunksize bytes) */
	size_t *chunksize, nchunk;
} sb_audit_part;

typedef struct sb_audit_fallback sb_audit_fallback;

typedef struct sb_audit_extract {
	int nactual;                          /* actual_<layer> columns */
	char actual[SB_AUDIT_MAX_ACTUAL][48]; /* their layer ids */
	bool has_fund[SB_AUDIT_NFUNDS];       /* the fund column is present */
	uint64_t allcols;                     /* bit col: the extract has paid column col */
	long long rows_read;
	sb_audit_part part[SB_AUDIT_MAX_PARTS];
	int nparts;
	const char **fac; /* facility codes, one copy each (owned by the parts) */
	size_t nfac;
	/* rows by id, built at the first claim whose line holds another row
	 * (never, when the batch counts lines as the extract's reader does) */
	sb_audit_fallback *fallback;
} sb_audit_extract;

/* A row found, with the range that holds it. */
typedef struct sb_audit_ref {
	const sb_audit_row *row; /* NULL: the claim is not in the extract */
	uint32_t fac;            /* the extract's facility index + 1; 0: not given */
} sb_audit_ref;

/* Reads the audit's columns of every well-formed row of path (sanbao/io.h's
 * claims table; actual_<layer> by prefix). A bad cell is an error at
 * file:line (the field named); a row the CSV reader cannot split is left
 * to the batch, which rejects it. Files of 4 MB or more are read in byte
 * ranges by up to threads threads (0: one per core). */
SB_MUST_USE sb_status sb_audit_extract_read(const char *path, int threads, sb_audit_extract *x,
					    sb_diag *d);
void sb_audit_extract_release(sb_audit_extract *x);
/* Where the row of claims.csv line `line` is kept (NULL when no range
 * holds the line), for a prefetch: reads only the ranges' small tables. */
const sb_audit_row *sb_audit_extract_slot(const sb_audit_extract *x, uint64_t line);
/* The row of a claim id into *out (out->row NULL when none). An id on
 * several rows (a duplicate id, which the batch rejects) gives the row
 * nearest to line, the earlier of two as near. Rows are found by id rather
 * than by line alone so that a line the batch counts differently never
 * pairs a claim with another claim's payments. Safe on several threads;
 * fails only when out of memory. */
SB_MUST_USE sb_status sb_audit_extract_find(const sb_audit_extract *x, const char *id, size_t n,
					    uint64_t line, sb_audit_ref *out, sb_diag *d);

/* The amounts of row r of extract x. */
static inline void sb_audit_row_cells(const sb_audit_extract *x, const sb_audit_row *r,
				      sb_audit_cells *c)
{
	if (r->flags & SB_AUDIT_ROW_WIDE) {
		memcpy(&c->cols, r->cold, sizeof c->cols);
		memcpy(&c->nonzero, r->cold + sizeof c->cols, sizeof c->nonzero);
		c->amounts = r->cold + 2 * sizeof(uint64_t);
		c->one = 0;
		return;
	}
	c->cols = x->allcols;
	c->amounts = NULL;
	c->nonzero = r->cells ? 1ULL << ((r->cells >> SB_AUDIT_CELL_BITS) - 1) : 0;
	c->one = (sb_fen)(r->cells & ((1u << SB_AUDIT_CELL_BITS) - 1));
}

/* The k-th nonzero amount of c (k below the popcount of c->nonzero). */
static inline sb_fen sb_audit_cell_amount(const sb_audit_cells *c, int k)
{
	if (!c->amounts)
		return c->one;
	sb_fen v;
	memcpy(&v, c->amounts + (size_t)k * sizeof v, sizeof v);
	return v;
}

/* The row's person, masked (owned by the extract). */
static inline const char *sb_audit_row_person(const sb_audit_row *r)
{
	if (!(r->flags & SB_AUDIT_ROW_WIDE))
		return r->cold;
	uint64_t nonzero;
	memcpy(&nonzero, r->cold + sizeof(uint64_t), sizeof nonzero);
	return r->cold + (2 + (size_t)__builtin_popcountll(nonzero)) * sizeof(uint64_t);
}

/* The row's visit id, "" when not given. */
static inline const char *sb_audit_row_mdtrt(const sb_audit_row *r)
{
	const char *p = sb_audit_row_person(r);
	return p + strlen(p) + 1;
}

/* The row's diagnosis, "" when not given. */
static inline const char *sb_audit_row_diagnosis(const sb_audit_row *r)
{
	const char *p = sb_audit_row_mdtrt(r);
	return p + strlen(p) + 1;
}

/* A 64-bit hash of a claim id (or a facility code, a visit id), eight
 * bytes at a time: an extract's read hashes three texts a row, and a byte
 * at a time (FNV) waits on a multiply per byte. Only compared in memory,
 * never stored. */
static inline uint64_t sb_audit_idhash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n) { /* the last 1 to 7 bytes, never read past */
		uint64_t w = 0;
		if (n & 4) {
			uint32_t v;
			memcpy(&v, p, 4);
			w = v;
			p += 4;
		}
		if (n & 2) {
			uint16_t v;
			memcpy(&v, p, 2);
			w = w << 16 | v;
			p += 2;
		}
		if (n & 1)
			w = w << 8 | (unsigned char)*p;
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 32;
	}
	h *= 0xff51afd7ed558ccdULL;
	return h ^ h >> 29;
}

/* The extract read on a thread of its own while the batch reads persons
 * and claims (audit.c). */
typedef struct sb_audit_reader sb_audit_reader;

/* What the batch carries to the audit sink (sb_batch_config.audit). */
typedef struct sb_audit_ctx {
	const sb_audit_rules *rules;
	const sb_audit_extract *extract; /* complete once sb_audit_ready says so */
	sb_audit_totals *totals;         /* filled at the sink's end */
	sb_audit_reader *reader;         /* NULL: the extract was read before the batch */
} sb_audit_ctx;

/* Waits for the extract's read (once, on one thread: the sink's begin):
 * its status, with the reason in d. */
SB_MUST_USE sb_status sb_audit_ready(const sb_audit_ctx *ctx, sb_diag *d);

/* SM3 of p[0..n) (OpenSSL EVP), prefixed by one tag byte when tag >= 0. */
SB_MUST_USE sb_status sb_audit_sm3(int tag, const void *p, size_t n, const void *p2, size_t n2,
				   unsigned char out[32], sb_diag *d);
void sb_audit_hex(const unsigned char *h, size_t n, char *out);

#endif
