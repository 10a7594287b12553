/* pass_int.h: what the batch passes hand each other: the internal API of
 * `sanbao settle` (batch/batch.c drives it; a driver of its own, such as an
 * MPI one, calls the same steps). One run, in order:
 *
 *   1. sb_batch_load_people(b)   persons.csv in b->threads byte ranges
 *      (batch/people.c; the first listing of a person wins, a later one is
 *      rejected at its line), then identities.csv: b->persons[0..npersons)
 *      in file order, b->index (packed ID -> person), households numbered in
 *      first-seen order (b->households, b->hh_members). The partition of a
 *      person is sb_batch_partition_of(b, person): by household (so a
 *      household's claims settle together), else by the ID.
 *   2. sb_pass1(b, &p1)          claims.csv in byte ranges
 *      (sb_io_ranges, one per thread): each row parsed, checked, joined
 *      to its person and kept as an sb_crec (batch_int.h) in its
 *      partition's memory blocks (b->mem[p]) while they fit b->mem_budget,
 *      past it spilled to the partition's file (b->part_fd[p],
 *      b->part_size[p]); b->date_lo/hi the dates seen; rows that cannot
 *      be settled go to p1.rejects with their line. Every readable claim id
 *      goes into the id set (b->idset: 32 bits of its hash), which names
 *      candidate duplicates (b->cand); a rejected row's id is kept in
 *      b->rid_fd. A record's line is chunk << 56 | line within the chunk
 *      until sb_pass_line turns it into the file's line (b->chunk_base).
 *      A quoted line feed anywhere makes pass 1 read the file again in one
 *      piece (the same results).
 *   3. sb_pass_dups(b, &dups)    the exact duplicates among the candidates
 *      (batch/dups.c), sorted by line, each naming its first line; nothing
 *      read when there is no candidate. Frees the id set.
 *   4. sb_pass2(b, dups, &p2)    the partitions settled in parallel
 *      (batch/pass2.c): each read back (file, then blocks), sorted by
 *      person, date, claim id
 *      (then line), settled under each scenario through sb_settle_claim with
 *      the person's accumulators, handed to the sinks (sink/sink.h); the
 *      sinks' pieces are committed in partition order by one writer at a
 *      time, so every output is byte-identical for any thread count.
 *   5. sb_pass2_release, sb_batch_release_people.
 *
 * What makes the outputs independent of the threads, for a driver that
 * splits the work otherwise: a person's number is its rank in persons.csv
 * among the accepted rows, a household's its first-seen rank; a claim's
 * partition follows from its person; within a partition the order is the
 * sort above; partitions are written in their number's order; line numbers
 * are the file's. Duplicates are decided over every row with a readable id
 * (settled or rejected): the lowest line is the first.
 *
 * Threads: b->threads readers in steps 1-3, b->threads settlers in step 4;
 * each step joins its threads before the next starts. */
#ifndef SANBAO_PASS_INT_H
#define SANBAO_PASS_INT_H

#include "batch/batch_int.h"
#include "sink/sink.h"

typedef struct sb_claim_cols {
	int col[19]; /* by the C_* columns of pass1.c */
	int npaid;
	int paid_col[SB_MAX_PAID];
	int paid_layer[SB_MAX_PAID];
	int nclass; /* class_<name> columns (format-2 item classes) */
	int class_col[SB_MAX_CLASSES];
	int class_sym[SB_MAX_CLASSES];
	size_t ncols;
} sb_claim_cols;

typedef struct sb_pass1_result {
	sb_claim_cols cols;
	long long rows, rejected, rejected_unreadable;
	sb_fen rejected_total;
	sb_rejects rejects;
} sb_pass1_result;

/* A later row with an id already seen, and the line of the first. */
typedef struct sb_dup {
	uint64_t line, first;
} sb_dup;

typedef struct sb_pass2_result {
	sb_region_sum all;      /* every settled claim of scenario 0; all.claims = settled */
	sb_region_sum *regions; /* by policy index */
	long long rejected, rejected_unreadable;
	sb_fen rejected_total;
	sb_rejects rejects;     /* scenario 0's (and duplicates) */
	bool explained;
	bool identities_ok;     /* fund + oop = total and pay <= base on every claim */
	struct {
		long long warnings, approaching, unresolved;
	} mon;                  /* with cfg->monitor */
	sb_sink monitor;        /* with cfg->monitor: the monitor sink, for its JSON */
} sb_pass2_result;

/* The absolute claims.csv line of a (chunk << 56 | line) pair. */
static inline uint64_t sb_pass_line(const sb_batch *b, uint64_t packed)
{
	uint64_t chunk = packed >> 56, rel = packed & ((1ULL << 56) - 1);
	return b->chunk_base[chunk] + rel - 1;
}

/* The household pass (household.c): a partition's claims of households
 * with several members settled in household order (household, date,
 * claim id, line) under each scenario whose set keeps household
 * accumulators; what the settlement pass takes of it: each claim's result
 * (or refusal), or, when keeping them all would take more than
 * SB_HH_RESULTS_MAX bytes, the household's accumulators before the claim. */
#define SB_HH_RESULTS_MAX ((uint64_t)256 << 20)
typedef struct sb_hh_slot {
	uint32_t note, nnote; /* the household's entries before the claim, in e */
	uint64_t res;         /* offset of the kept result in res */
} sb_hh_slot;
typedef struct sb_hh_pass {
	int nscen;
	bool keep;            /* results are kept (else notes) */
	size_t n;             /* records of the partition */
	sb_hh_slot *off;      /* [n][nscen], all ones: nothing kept */
	sb_acc_entry *e;      /* the notes' entries */
	size_t ne, cape;
	uint8_t *res;         /* the kept results */
	size_t nres, capres;
	struct sb_hh_member { uint32_t person; sb_person p; sb_acc acc; } *members;
	size_t nmembers, capmembers; /* the household's members */
	sb_acc hacc;          /* the household's accumulators */
} sb_hh_pass;
/* Settles record i of the partition under scenario s for its person p on
 * the person's acc and the household's hacc into r (a refusal's reason in d), with
 * *settled false when the settlement pass does not settle the record
 * (a duplicate, no policy); returns the claim's status (SB_ENOMEM stops
 * the pass). */
typedef sb_status (*sb_hh_settle_fn)(void *ctx, size_t i, int s, const sb_person *p,
				     sb_acc *acc, sb_acc *hacc, sb_result *r, sb_diag *d,
				     bool *settled);
void sb_hh_pass_init(sb_hh_pass *hp);
void sb_hh_pass_release(sb_hh_pass *hp);
/* recs[0..n) in the settlement pass's order; scen[s]: scenario s's set
 * sets[s] keeps household accumulators. */
SB_MUST_USE sb_status sb_hh_pass_run(sb_hh_pass *hp, const sb_batch *b, sb_crec *const *recs,
				     size_t n, int nscen, const sb_policyset *const *sets,
				     const bool *scen, sb_hh_settle_fn fn, void *ctx, sb_diag *d);
/* Record i's kept result under scenario s into r (a refusal's reason into
 * d), its status in *st: false when none is kept. */
bool sb_hh_pass_take(const sb_hh_pass *hp, size_t i, int s, sb_result *r, sb_diag *d,
		     sb_status *st);
/* Copies record i's note under scenario s into out: false when it has
 * none (results are kept, or the person is a household of one: settle
 * on their own accumulators). *st is SB_ENOMEM when the copy failed. */
bool sb_hh_pass_load(const sb_hh_pass *hp, size_t i, int s, sb_acc *out, sb_status *st);

SB_MUST_USE sb_status sb_pass_take_rejects(sb_rejects *into, sb_rejects *from);
SB_MUST_USE sb_status sb_pass1(sb_batch *b, sb_pass1_result *res, sb_diag *d);
/* A claim id's 64-bit hash. */
static inline uint64_t sb_claim_id_hash(const char *id, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t k = 0; k < n; k++)
		h = (h ^ (unsigned char)id[k]) * 1099511628211ULL;
	return sb_batch_hash(h);
}

/* The id set of pass 1 (b->idset), sized for the claims a file of `bytes`
 * can hold; released with the spill. */
SB_MUST_USE sb_status sb_pass_idset_init(sb_batch *b, int64_t bytes, sb_diag *d);
void sb_pass_idset_release(sb_batch *b);
/* Adds an id's hash to the set from any thread; true when its 32 bits are
 * there already (a candidate duplicate, or rarely another id). */
bool sb_pass_idset_add(sb_batch *b, uint64_t h);
/* The duplicates among the candidates of pass 1, exactly (ids compared
 * byte for byte), by reading the claim partitions back; none and no
 * reading when pass 1 found no candidate. Sorted by line. */
SB_MUST_USE sb_status sb_pass_dups(sb_batch *b, sb_dup **dups, size_t *ndups, sb_diag *d);
/* Settles the partitions under each scenario's policies and hands every
 * settled and rejected claim to the sinks (src/sink/sink.h): the
 * settlements.csv writer, the summary sums, the explanation and, with
 * monitor, the monitor (warnings.csv, approaching.csv). */
SB_MUST_USE sb_status sb_pass2(sb_batch *b, const sb_dup *dups, size_t ndups,
			       sb_pass2_result *res, sb_diag *d);
void sb_pass2_release(sb_pass2_result *r, const sb_batch *b);
/* The monitor's JSON object (monitor.json, and "monitor" in summary.json). */
SB_MUST_USE sb_status sb_pass2_monitor_json(const sb_pass2_result *r, FILE *f,
					    const char *indent, sb_diag *d);

#endif
