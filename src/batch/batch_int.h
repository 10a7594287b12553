/* batch_int.h: the batch's shared state: the person table (the one thing
 * that grows with persons), the spilled claim record, the reject list and
 * the run context that the passes share. */
#ifndef SANBAO_BATCH_INT_H
#define SANBAO_BATCH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "batch/rejects.h"
#include "policy/policy_int.h"
#include "sanbao/batch.h"
#include "sanbao/csv.h"
#include "sanbao/settle.h"
#include "sink/summary.h"

#define SB_NO_POLICY 0xffff

/* A claim id where the duplicate check finds it: its hash, its line
 * (chunk << 56 | line within the chunk in pass 1), its text. */
typedef struct sb_idref {
	uint64_t hash, line;
	const char *id;
	uint32_t len;
} sb_idref;

/* One enrolled person: 40 bytes, plus 8 in the hash index. */
typedef struct sb_bperson {
	uint64_t key;        /* the first 17 digits of the ID */
	uint32_t household;  /* 1-based index into the household names; 0: none */
	uint32_t ident_off;  /* first identity interval in ctx->idents */
	uint32_t line;       /* persons.csv line */
	uint32_t region;     /* region code as a number */
	sb_date birth;
	uint16_t policy;     /* index in the policy set, SB_NO_POLICY when none */
	uint8_t nidents, scheme, employment;
	int8_t tier;
	uint8_t pseudo;      /* key is a pseudonym's 64 bits, not ID digits */
	int64_t income;      /* household income per year in fen, -1 when not given */
	/* Enrolment facts (sb_person's; -1 / SB_DATE_NONE when not given). */
	int8_t continuous_years, claimless_years, uncovered_years;
	sb_date enrolled_from;
} sb_bperson;

/* An index slot keeps the key beside the person index, so a lookup costs
 * one cache miss, not two: it is the hottest lookup of pass 1. */
typedef struct sb_pslot {
	uint64_t key;
	uint32_t v;      /* person index + 1; 0: empty */
	uint32_t pseudo; /* keys of IDs and of pseudonyms are separate spaces */
} sb_pslot;

/* A claim as pass 1 leaves it for pass 2 (8-byte aligned, variable size:
 * paid entries, then the id, then an unknown level's text, then the
 * diagnosis). */
typedef struct sb_crec {
	uint32_t person;
	sb_date date;
	uint64_t line;  /* chunk << 56 | line within the chunk, until resolved */
	sb_fen total, in_scope, pre_selfpay, over_limit;
	int16_t level;
	uint8_t visit, place, filing, npaid, idlen, levlen;
	uint8_t dxlen; /* diagnosis, at most SB_CREC_DX_MAX bytes; 0: none */
} sb_crec;
#define SB_CREC_DX_MAX 20

typedef struct sb_crec_paid {
	int32_t layer; /* layer symbol, or class symbol when pad is SB_CREC_CLASS */
	int32_t pad;
	sb_fen fen;
} sb_crec_paid;
#define SB_CREC_CLASS 1 /* a paid slot that holds an item class's amount */

/* A row of a settlements.csv, as `sanbao monitor` reads it: what was
 * settled. It takes the place of the paid entries (npaid is
 * SB_CREC_SETTLED_SLOTS in that mode); the record's total and in_scope are
 * the row's total and in_scope. */
typedef struct sb_crec_settled {
	sb_fen oop, oop_in_scope;
	sb_date version;  /* first day of the version applied */
	int32_t identity; /* identity symbol applied, -1 for none */
	uint32_t region;  /* the row's region code */
	int32_t pad;
} sb_crec_settled;

#define SB_CREC_SETTLED_SLOTS ((uint8_t)(sizeof(sb_crec_settled) / sizeof(sb_crec_paid)))
_Static_assert(sizeof(sb_crec_settled) % sizeof(sb_crec_paid) == 0, "settled = paid slots");

static inline size_t sb_crec_size(const sb_crec *r)
{
	size_t n = sizeof *r + r->npaid * sizeof(sb_crec_paid) + r->idlen + r->levlen + r->dxlen;
	return (n + 7) & ~(size_t)7;
}
static inline const char *sb_crec_id(const sb_crec *r)
{
	return (const char *)(r + 1) + r->npaid * sizeof(sb_crec_paid);
}

/* A block of one partition's claim records kept in memory from pass 1 to
 * pass 2 instead of the partition's spill file (whole records, n bytes of
 * data). */
typedef struct sb_mblock {
	struct sb_mblock *next;
	size_t n;
	char data[]; /* at offset 16: 8-byte aligned, as records need */
} sb_mblock;

/* Rejected rows: batch/rejects.h. */

typedef struct sb_batch {
	const sb_batch_config *cfg;
	sb_policyset *set;
	int nlayers;          /* layer symbols */
	/* persons */
	sb_bperson *persons;
	size_t npersons, cappersons;
	sb_pslot *index;      /* open addressing on the packed ID */
	size_t index_mask;
	char **households;    /* household names, heap */
	size_t nhouseholds, caphouseholds;
	uint64_t *hh_index;   /* the households' index (people.c) */
	uint32_t *hh_members;  /* enrolled persons per household */
	size_t hh_mask;
	sb_ident *idents;
	size_t nidents;
	sb_rejects rejects;   /* persons and identities rows */
	long long person_rows, identity_rows;
	/* claims */
	int threads, partitions;
	char tmp[4096];
	int *part_fd;
	_Atomic int64_t *part_size;
	/* Claims partitioned in memory while they fit: each partition's
	 * blocks (pushed by every reader at once), mem_used the bytes they
	 * hold (in whole blocks), at most mem_budget; past it, blocks go to
	 * the partition's spill file as before. A partition may have both. */
	sb_mblock *_Atomic *mem;
	int64_t mem_budget;
	_Atomic int64_t mem_used;
	/* The regions (huge pages) the blocks and pass 1's buffers are cut
	 * from: sb_batch_region. */
	struct sb_region { void *p; size_t n; } *regions;
	size_t nregions, capregions;
	pthread_mutex_t region_lock;
	bool region_lock_ok;
	/* Claim ids seen by pass 1: 32 bits of each id's hash, open
	 * addressing, filled by every reader thread at once (batch/dups.c).
	 * An id whose bits are there already is a candidate duplicate;
	 * candidates are settled exactly by sb_pass_dups. */
	_Atomic uint32_t *idset;
	size_t idset_mask;
	uint64_t *cand;        /* the candidates' full hashes, from every reader */
	size_t ncand;
	/* The rejected rows' ids (no partition has them), spilled as
	 * records of line (8 bytes), length (1), id, padded to 8 bytes. */
	int rid_fd;
	_Atomic int64_t rid_size;
	uint64_t *chunk_base;  /* first line of each chunk */
	sb_date date_lo, date_hi; /* the first and last date of the spilled claims
				   * (lo > hi: none) */
	int nchunks;
	atomic_llong bytes_done;
	long long file_bytes;
	atomic_int parts_done;
	struct sb_outdir *out;  /* the output folder: io/outfile.h */
	struct sb_progress_state *progress;
} sb_batch;

uint64_t sb_batch_hash(uint64_t x);
/* Reports progress when the run has a callback and its interval has
 * passed; cheap enough to call every few thousand rows from any thread. */
void sb_batch_tick(sb_batch *b);
/* Person index for a resident ID or pseudonym (already checked), or -1. */
long sb_batch_find_person(const sb_batch *b, const char *id, size_t n);
/* Packs an ID's first 17 digits. */
uint64_t sb_batch_id_key(const char *id);
/* The person's ID or pseudonym, 18 characters and NUL. */
void sb_batch_id_text(const sb_bperson *p, char out[SB_ID_LEN + 1]);
int sb_batch_partition_of(const sb_batch *b, uint32_t person);

/* persons.csv in b->threads byte ranges read in parallel (the first
 * listing of a person wins, as when read in one piece), then
 * identities.csv. */
SB_MUST_USE sb_status sb_batch_load_people(sb_batch *b, sb_diag *d);
void sb_batch_release_people(sb_batch *b);
/* A region code as its 6 digits (no NUL). */
static inline void sb_region_text(uint32_t region, char out[6])
{
	for (int i = 5; i >= 0; i--) {
		out[i] = (char)('0' + region % 10);
		region /= 10;
	}
}

/* Forgets the memory blocks of partition p (all when p < 0): their memory
 * is the regions'. */
void sb_batch_free_blocks(sb_batch *b, int p);
/* A new region of n bytes (huge pages where the system gives them), from
 * any thread; freed by sb_batch_free_regions. NULL when out of memory. */
#define SB_REGION_BYTES ((size_t)32 << 20)
char *sb_batch_region(sb_batch *b, size_t n);
void sb_batch_free_regions(sb_batch *b);

/* Fills a settlement person from the table. */
void sb_batch_person(const sb_batch *b, uint32_t i, sb_person *p);

#endif
