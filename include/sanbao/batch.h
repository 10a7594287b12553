/* batch.h: settling a province-year of claims from CSV (data-format.md).
 *
 * Persons and their identities are held in memory (memory grows with
 * persons). Claims are streamed: parsed in parallel into binary records
 * that are spilled to partition files by household, then each partition is
 * sorted by person, date and claim id and settled, in parallel, with the
 * output written in partition order so that it is the same, byte for byte,
 * for any thread count. Claims need not be sorted; the claims file may be
 * larger than memory.
 */
#ifndef SANBAO_BATCH_H
#define SANBAO_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/base.h"

#define SB_MAX_SCENARIOS 16

/* Progress, for a caller that shows it (the library draws nothing). */
typedef enum sb_batch_stage {
	SB_BATCH_LOADING,  /* policies, persons, identities */
	SB_BATCH_READING,  /* claims read and spilled; done/total in bytes */
	SB_BATCH_SETTLING, /* partitions settled and written; done/total in partitions */
	SB_BATCH_WRITING,  /* rejects, summaries, committing the outputs */
	SB_BATCH_DONE      /* the last call, whether the run succeeded or not */
} sb_batch_stage;

typedef struct sb_batch_progress {
	sb_batch_stage stage;
	double seconds;        /* since the run started */
	long long done, total; /* of the stage (0 and 0 when it has no measure) */
} sb_batch_progress;

/* Called once when each stage starts, and about every progress_interval
 * seconds while claims are read and settled: from the library's worker
 * threads, one call at a time. It must return quickly. */
typedef void sb_batch_progress_fn(void *arg, const sb_batch_progress *p);

typedef struct sb_batch_config {
	const char *policies_dir;    /* scenario 0, the baseline */
	/* The folder tree that `extends` may reach (every scenario's); NULL: the
	 * parent of each policy folder (docs/policy-format.md). */
	const char *policy_root;
	/* More policy folders to settle the same claims under, in the same pass
	 * (scenarios 1..n, at most SB_MAX_SCENARIOS in all). Each has its own
	 * accumulators; scenario k's settlements and sums go to
	 * out_dir/scenario-<k>-settlements.csv and scenario-<k>-summary.json. Monitoring and
	 * rejects.csv are scenario 0's; persons are enrolled by scenario 0's
	 * regions, and a claim whose region has no policy in a scenario is
	 * rejected there. */
	const char *const *scenario_dirs;
	int nscenario_dirs;
	const char *persons_path;
	const char *identities_path; /* optional */
	const char *claims_path;
	const char *out_dir;
	const char *tmp_dir;         /* spill folder; default out_dir */
	int threads;                 /* 0: one per core */
	size_t partition_bytes;      /* target CSV bytes per partition; 0: default */
	const char *explain_id;      /* settle this claim step by step to explain */
	FILE *explain;
	sb_batch_progress_fn *progress; /* optional */
	void *progress_arg;
	double progress_interval;    /* seconds; 0: 0.25 */
	bool monitor;                /* also run the policies' monitoring rules */
	bool monitor_only;           /* claims_path is a settlements.csv: monitor it,
				      * settle nothing (`sanbao monitor`) */
	bool show_ids;               /* write resident IDs unmasked in warnings */
	sb_fen poverty_line;         /* impoverishing-spending line, yuan/person/yr; 0 off */
	/* `sanbao audit` (sanbao/audit.h): the run's rules and extract, for
	 * the audit sink; NULL otherwise. */
	const struct sb_audit_ctx *audit;
	bool compare;                /* also compare the scenarios: compare.json and
				      * persons_changed.csv (`sanbao compare`) */
	bool no_settlements;         /* write no settlements.csv (nor the scenarios') */
	/* `sanbao settle --mpi` (src/mpi): one rank's share of a distributed
	 * run (src/batch/dist.h); NULL otherwise. */
	const struct sb_batch_dist *dist;
} sb_batch_config;

typedef struct sb_batch_totals {
	long long claim_rows, settled, rejected;
	long long person_rows, persons_rejected;
	long long identity_rows, identities_rejected;
	sb_fen total, fund, oop;
	sb_fen rejected_total;        /* totals of rejected rows that had one */
	long long rejected_unreadable; /* rejected rows whose total was unreadable */
	int threads, partitions;
	double seconds;
	double stage[4];              /* policies+persons, read claims, duplicates, settle */
	bool explained;               /* explain_id was found */
	long long warnings, approaching; /* with monitor */
	long long unresolved;         /* claims whose rule threshold could not be resolved */
	int nlayers;                  /* layers in settlements.csv order (first 64) */
	char layer_id[64][48];
	sb_fen layer_paid[64];
	long long layer_claims[64];   /* claims the layer paid something on */
} sb_batch_totals;

/* Runs the batch: writes settlements.csv, rejects.csv and summary.json (and,
 * with monitor, warnings.csv, approaching.csv and monitor.json) under
 * out_dir. Bad rows are rejected, never fatal; a bad policy or an unreadable
 * file is.
 *
 * The outputs are complete or absent: written under temporary names and
 * renamed when the whole run has succeeded, summary.json (monitor.json for
 * monitor_only) last; a run without monitor removes the monitoring files of
 * an earlier run. out_dir is locked while the run writes: a second run into
 * it fails ("another sanbao run is writing to DIR"). An input that is one
 * of the outputs (claims named out_dir/settlements.csv) is refused, and so
 * is monitor_only into a folder that holds a settlement (summary.json),
 * whose rejects.csv it would replace. The batch needs about two file
 * descriptors per partition (at most 256 partitions): it never raises
 * RLIMIT_NOFILE itself and says so when the limit is too low. */
SB_MUST_USE sb_status sb_batch_settle(const sb_batch_config *cfg, sb_batch_totals *t,
				      sb_diag *d);

#endif
