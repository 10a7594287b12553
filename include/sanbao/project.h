/* project.h: `sanbao project`, the projection of each pooling region's
 * funds over N years (issue 11, item 4).
 *
 * The insured population of a settled year (persons.csv) is carried
 * forward by single year of age and sex: survival from a life table
 * shipped as data, new entrants, employees retiring at the statutory age
 * (with the 2025 gradual raise). Spending per person by scheme, visit type
 * and age band comes from the settled year (settlements.csv), cost and
 * revenue growth from a scenario file (YAML). Each year gives revenue,
 * spending, the balance, months of payment, the first deficit year and the
 * exhaustion year; `runs` > 0 adds a Monte Carlo over cost growth and
 * utilisation shocks (percentiles per year, probability of exhaustion by
 * year), the same bytes for a seed.
 *
 * Money is integer fen: each year's revenue, spending and interest are
 * computed in double from the population and the rates and rounded half
 * away from zero to the fen once per year, region and scheme; the balance
 * is the integer sum of those.
 */
#ifndef SANBAO_PROJECT_H
#define SANBAO_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "sanbao/base.h"

#define SB_PROJECT_MAX_SCENARIOS 8
#define SB_PROJECT_MAX_YEARS 100
#define SB_PROJECT_MAX_RUNS 100000
#define SB_PROJECT_MAX_THREADS 8

typedef struct sb_project_config {
	const char *policies_dir;     /* required: layers' fund codes (and contributions) */
	const char *policy_root;      /* may be NULL */
	const char *persons_path;     /* required */
	const char *settlements_path; /* required: settle's settlements.csv */
	const char *balances_path;    /* NULL: opening_months; else balances.csv's openings */
	const char *scenario_paths[SB_PROJECT_MAX_SCENARIOS];
	int nscenarios;      /* at least 1 */
	const char *out_dir; /* required */
	int base_year;       /* 0: the latest year of the settlements */
	int years;           /* 0: 30 */
	int runs;            /* 0: no Monte Carlo */
	uint64_t seed;
	int threads; /* settlements.csv read by this many threads (0, 1: one) */
} sb_project_config;

typedef struct sb_project_totals {
	long persons_rows, persons_used, persons_skipped; /* skipped: invalid or no birth date */
	long settlement_rows, settlement_used, settlement_skipped;
	int balances_used;                              /* funds opened from balances.csv */
	int base_year, years, runs, nscenarios, nfunds; /* funds: region x scheme */
	sb_fen base_spending, base_revenue;             /* of the first scenario */
	int first_deficit_year,
		exhaustion_year; /* earliest over the first scenario's funds; 0 none */
	double seconds_read;     /* reading persons and settlements */
	double seconds_mc;       /* time spent in the Monte Carlo */
} sb_project_totals;

/* Runs the projection and writes projection.csv and projection.json
 * (committed together, projection.json last) into cfg->out_dir. A bad
 * scenario file is SB_EPOLICY or SB_ESYNTAX at its file:line:column; a bad
 * life table at its file:line. */
SB_MUST_USE sb_status sb_project_run(const sb_project_config *cfg, sb_project_totals *t,
				     sb_diag *d);

/* The projection's pseudo-random generator, public so that its stream can
 * be pinned by a test: xoshiro256** seeded by splitmix64. */
typedef struct sb_project_rng {
	uint64_t s[4];
} sb_project_rng;

void sb_project_rng_seed(sb_project_rng *r, uint64_t seed);
uint64_t sb_project_rng_next(sb_project_rng *r);
/* A uniform double in (0, 1) and a standard normal (Box-Muller, one value
 * per call: the second is dropped so that the stream has no state beyond s). */
double sb_project_rng_uniform(sb_project_rng *r);
double sb_project_rng_normal(sb_project_rng *r);

#endif
