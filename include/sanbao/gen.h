/* gen.h: a synthetic, reproducible population and one year of claims for
 * the bundled demo province (990000), written as persons.csv,
 * identities.csv and claims.csv (data-format.md) plus a policies/ folder.
 *
 * The output is a function of (persons, seed, year) alone: the thread count
 * changes how fast it is made, never a byte of it. The figures the model is
 * calibrated to, and the assumptions, are in docs/calibration.md.
 */
#ifndef SANBAO_GEN_H
#define SANBAO_GEN_H

#include <stdint.h>

#include "sanbao/base.h"

/* Resident IDs are made unique by construction (see make_id in
 * src/gen/gen_model.c), which holds up to about 120 million persons;
 * 100 million keeps a margin. */
#define SB_GEN_MAX_PERSONS 100000000ULL
/* Birth years reach 101 years back and sb_date covers 1900-2199. */
#define SB_GEN_YEAR_MIN 2001
#define SB_GEN_YEAR_MAX 2199
#define SB_GEN_MAX_THREADS 64

typedef struct sb_gen_config {
	uint64_t persons;         /* 1..SB_GEN_MAX_PERSONS */
	uint64_t seed;            /* any value */
	int year;                 /* the claims' calendar year */
	int threads;              /* 1..SB_GEN_MAX_THREADS; output is the same for any */
	const char *out_dir;      /* created when missing (parents too); borrowed */
	const char *policies_src; /* its *.yaml files are copied to out_dir/policies/;
				   * NULL copies nothing; borrowed */
	/* -1 (the default): no extract. 0 to SB_GEN_MAX_ANOMALIES: also write
	 * out_dir/extract.csv, the claims as paid (settled through the batch,
	 * actual_<layer> columns, mdtrt_id and begin), with this share of the
	 * persons, in basis points, given one planted anomaly each (every kind
	 * at least once when not 0 and the province has a person or facility
	 * it fits), and out_dir/anomalies.csv, the key of
	 * what was planted (src/gen/anomalies.c). Needs policies_src. */
	int anomalies_bp;
} sb_gen_config;

#define SB_GEN_MAX_ANOMALIES 5000 /* basis points: half the persons */
#define SB_GEN_ANOMALY_KINDS 9
/* The name of a planted kind (0 .. SB_GEN_ANOMALY_KINDS - 1), as the key
 * writes it: "duplicate (visit)", "split_stay", ... */
const char *sb_gen_anomaly_name(int kind);

/* What a run wrote: the data rows of each file (headers not counted). */
typedef struct sb_gen_stats {
	uint64_t persons;
	uint64_t households;
	uint64_t identities;
	uint64_t claims;
	uint64_t policy_files;
	uint64_t bytes; /* of the three CSV files together */
	uint64_t extract_rows, extract_rejected; /* with anomalies_bp >= 0 */
	uint64_t anomalies[SB_GEN_ANOMALY_KINDS]; /* planted, by kind */
} sb_gen_stats;

/* Defaults: year 2024, 2 threads, seed 1, no persons, no directories. */
void sb_gen_config_init(sb_gen_config *cfg);

/* Writes out_dir/persons.csv, identities.csv, claims.csv (overwriting them)
 * and, when policies_src is set, copies its *.yaml files (subfolders
 * included) to out_dir/policies/. A bad config is SB_EINPUT, a folder
 * without policy files SB_ENOTFOUND, a failed write SB_EIO naming the path.
 * stats may be NULL. On failure the files may be partly written. */
SB_MUST_USE sb_status sb_gen_run(const sb_gen_config *cfg, sb_gen_stats *stats,
				 sb_diag *d);

#endif
