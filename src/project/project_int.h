/* project_int.h: the projection's pieces shared between its files: the
 * scenario (scenario.c), the life table (lifetable.c), the retirement
 * schedule (retire.c), the engine (engine.c) and the outputs (output.c). */
#ifndef SANBAO_PROJECT_INT_H
#define SANBAO_PROJECT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sanbao/base.h"
#include "sanbao/project.h"

#define PJ_AGES 101  /* single years 0..99 and the open group 100+ */
#define PJ_BANDS 18  /* spending bands 0-4, 5-9, ..., 85+ */
#define PJ_VISITS 4  /* the format's visit types, in sb_visit_names' order */
#define PJ_SCHEMES 2 /* 0 employee, 1 resident */
#define PJ_NAME 64

/* ---- the life table ---------------------------------------------------- */

typedef struct pj_lifetable {
	double q[2][PJ_AGES]; /* [sex 0 male, 1 female][age]: probability of dying within the year */
	char source[256];
} pj_lifetable;

/* Reads a CSV of age_from,age_to,male,female (death rates per 1000, m) and
 * turns each group's rate into a one-year probability q = 1 - exp(-m/1000)
 * for every age of the group; the last group is open (its age_to empty).
 * SB_EINPUT at file:line for a malformed row, a gap or an overlap. */
SB_MUST_USE sb_status pj_lifetable_load(const char *path, pj_lifetable *lt, sb_diag *d);

/* ---- the retirement schedule ------------------------------------------- */

/* One group's statutory age: `age` years for those born before `from`
 * (year*12 + month-1), then one month later per `per` months of birth,
 * at most `max` months (全国人大常委会 2024-09-13 决定: men 60 from 1965-01
 * one per 4 up to 36; women cadres 55 from 1970-01 one per 4 up to 36;
 * women workers 50 from 1975-01 one per 2 up to 60). per = 0: no raise. */
typedef struct pj_retire_group {
	int age, from, per, max;
} pj_retire_group;

typedef struct pj_retire {
	pj_retire_group men, women_cadre, women_worker;
	double women_cadre_share; /* of active women employees */
} pj_retire;

/* The share of a birth year's cohort (births spread evenly over its 12
 * months) of group g that has reached its retirement age by the end of
 * calendar year `year`. */
double pj_retire_share(const pj_retire_group *g, int birth_year, int year);

/* ---- the scenario ------------------------------------------------------ */

typedef enum { PJ_REV_PER_PERSON, PJ_REV_RATIO, PJ_REV_POLICY } pj_revenue_kind;

typedef struct pj_scenario {
	char name[PJ_NAME];
	char path[512];
	char description[512];
	char source[512];
	bool constant_population; /* no deaths, entrants or retirements */
	pj_lifetable life;
	double mortality_scale;         /* multiplies every q */
	double cost_growth;             /* spending per person, per year */
	double visit_growth[PJ_VISITS]; /* cost_growth, or cost_growth_by_visit's */
	bool visit_growth_given[PJ_VISITS];
	double revenue_growth; /* revenue per contributor, per year */
	double interest;       /* on the opening balance of each year */
	/* entrants per 1000 of the scheme's insured (employees: active) per year */
	double entrants_per_1000[PJ_SCHEMES];
	int entrant_age[PJ_SCHEMES];
	double entrant_male_share;
	pj_retire retire;
	pj_revenue_kind revenue;
	double revenue_per_person[PJ_SCHEMES]; /* yuan per contributor, base year */
	double revenue_ratio[PJ_SCHEMES];      /* base-year revenue / base-year spending */
	double opening_months[PJ_SCHEMES];     /* opening balance in months of base spending */
	/* Monte Carlo: yearly cost growth ~ N(cost_growth, sd); a utilisation
	 * factor per region and year, lognormal with mean 1 */
	double cost_growth_sd, utilisation_sd;
} pj_scenario;

/* Reads and validates a scenario file (strict keys; see
 * scenarios/projection/README.md). Errors at file:line:column. */
SB_MUST_USE sb_status pj_scenario_load(const char *path, pj_scenario *s, sb_diag *d);

/* ---- one fund: a region's scheme ---------------------------------------- */

enum { PJ_ACTIVE, PJ_CADRE, PJ_RETIRED, PJ_CLASSES }; /* PJ_CADRE: active women 55 group */

typedef struct pj_fund {
	char region[7];
	int scheme;
	double pop0[PJ_CLASSES][2][PJ_AGES];    /* the base year's insured */
	double spend_band[PJ_VISITS][PJ_BANDS]; /* yuan per person-year of the base year */
	sb_fen base_spending;                   /* the settled year's insurance-fund payments */
	sb_fen by_visit[PJ_VISITS];
	long persons, claims;
	/* The base year's contributions to the pooled fund under the region's
	 * funding rules (sb_funding_contrib's pool), and how many of the
	 * fund's persons the rules could not price (no funding, no tier). */
	sb_fen policy_revenue;
	long policy_unpriced;
	char policy_why[160];
	/* balances.csv's opening balance, else the scenario's opening_months */
	bool has_opening;
	sb_fen opening;
} pj_fund;

/* A fund's path under one scenario. Arrays have years + 1 entries, [0] the
 * base year. */
typedef struct pj_path {
	double *population, *contributors, *retirees;
	double *spend_pop; /* [visit * (years + 1) + t]: year t's population at base-year prices */
	double *rev_pop;   /* revenue of year t's contributors at base-year rates */
	double rev_per_contributor; /* yuan, base year */
	sb_fen opening;
	/* deterministic results */
	sb_fen *revenue, *spending, *interest, *balance;
	int first_deficit_year, exhaustion_year; /* 0: none within the horizon */
	/* Monte Carlo: per year, percentiles of balance (fen), months and
	 * spending (fen), and the share of runs exhausted by that year */
	sb_fen (*mc_balance)[5], (*mc_spending)[5];
	double (*mc_months)[5];
	double *mc_exhausted;
	double mc_exhausted_ever;
} pj_path;

#define PJ_NPCT 5
extern const int pj_percentiles[PJ_NPCT]; /* 5 25 50 75 95 */

/* Carries the fund's population forward and computes the deterministic
 * path; allocates p's arrays (pj_path_release). */
SB_MUST_USE sb_status pj_path_run(const pj_scenario *s, const pj_fund *f, int base_year, int years,
				  pj_path *p, sb_diag *d);
/* The Monte Carlo over every fund of one scenario at once (one cost-growth
 * path per run for the province, a utilisation factor per fund). */
SB_MUST_USE sb_status pj_montecarlo(const pj_scenario *s, pj_path *paths, size_t nfunds,
				    int base_year, int years, int runs, uint64_t seed, sb_diag *d);
void pj_path_release(pj_path *p);

/* 12 x balance / spending, 0 when there is no spending. */
double pj_months(sb_fen balance, sb_fen spending);

/* ---- rounding ---------------------------------------------------------- */

/* Yuan in double to fen, half away from zero; SB_FEN_MAX-bounded. */
sb_fen pj_fen(double yuan);

#endif
