/* fund_int.h: what the parts of `sanbao fund` share: the run (inputs read
 * into persons, identities and per-region sums), the accounts of each
 * region, scheme and year, the adjustment fund and the indicators. */
#ifndef SANBAO_FUND_INT_H
#define SANBAO_FUND_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "io/outfile.h"
#include "policy/policy_int.h"
#include "sanbao/csv.h"
#include "sanbao/fund.h"

#define FUND_NY SB_FUND_MAX_YEARS
#define FUND_NID 64 /* identity symbols (SB_MAX_MASK_SYMS) */

/* Groups of the benefit-to-contribution ratios (resident scheme). */
enum { FG_URBAN, FG_RURAL, FG_RES_UNKNOWN, FG_Q1, FG_Q2, FG_Q3, FG_Q4, FG_Q5, FG_NO_INCOME, FG_N };
extern const char *const sb_fund_group_names[]; /* urban, rural, residence_unknown, q1 ... */

typedef struct fperson {
	uint64_t key;
	uint8_t pseudo, scheme, employment, residence;
	int8_t quintile; /* 0..4, -1 without income */
	uint16_t region; /* index in run.regions */
	int16_t tier;    /* symbol, -1 */
	bool has_wage, has_income;
	sb_fen wage_base;
	sb_fen income;      /* household income as given */
	sb_fen income_pc;   /* per household member */
	uint32_t household; /* index in run households, UINT32_MAX none */
	uint32_t line;
	uint32_t id_first, id_n; /* its rows in run.ids */
} fperson;

/* A person as the settlement rows need it, in persons.csv's order (settle
 * writes a person's rows together and the persons in that order, so the
 * next row's person is found a few places on, not by a search). */
typedef struct fseq {
	uint64_t key;
	uint32_t index; /* in run.persons */
	uint16_t region;
	uint8_t flags;  /* scheme in bits 0-1, pseudo in bit 7 */
	uint8_t groups; /* ratio groups (resident): residence in bits 0-3, income in 4-7 */
} fseq;

typedef struct fident {
	uint64_t key;
	uint8_t pseudo;
	int16_t sym;
	uint32_t region; /* the row's region code as a number, 0 when not given */
	sb_date from, to;
} fident;

/* One fund's account of a region for a year. */
typedef struct facct {
	long long persons, retirees, no_base, claims;
	sb_fen individual; /* paid by the persons themselves */
	sb_fen assisted;   /* premiums paid by medical assistance (resident) */
	sb_fen subsidy;    /* fiscal subsidy (resident); assistance: its budget */
	sb_fen employer;
	sb_fen account;  /* credited to individual accounts (employee), not the fund's */
	sb_fen revenue;  /* credited to the fund */
	sb_fen spending; /* its layers' payments (assistance: plus the premiums it paid) */
	sb_fen opening, closing_before, closing;
	bool has_months_before, has_months;
	int64_t months_before, months;
	/* the adjustment fund (pooled funds only) */
	bool adjusted;
	sb_fen paid_up, deduction, gap, normal, emergency, advance, settlement, received;
	int64_t score; /* bp (10000 = 100 points) */
} facct;

/* A ratio group's sums (resident scheme). */
typedef struct fgroup {
	long long persons;
	sb_fen premium;    /* individual contributions (whoever paid them) */
	sb_fen paid;       /* paid by the persons themselves */
	sb_fen subsidy;    /* fiscal subsidy */
	sb_fen benefit;    /* resident pooled-fund payments to them */
	sb_fen assistance; /* assistance-fund layer payments to them */
} fgroup;

typedef struct fregion {
	char code[7];
	const sb_policy *pol;
	long long insured[FUND_NY];
	facct acct[FUND_NY][SB_FUND_SCHEMES];
	bool has_opening[SB_FUND_SCHEMES];
	sb_fen opening[SB_FUND_SCHEMES];
	/* settlements by scheme of the person: rows, total, in_scope, pooled
	 * payments (the scheme's fund), all payments, oop */
	long long rows[FUND_NY][2];
	sb_fen total[FUND_NY][2], in_scope[FUND_NY][2], pooled[FUND_NY][2];
	/* premiums paid by assistance, by identity symbol */
	long long prem_n[FUND_NY][FUND_NID];
	sb_fen prem[FUND_NY][FUND_NID];
	/* coverage of the roster: persons holding the identity in the year,
	 * and of them enrolled; [FUND_NID] is any identity */
	long long roster[FUND_NY][FUND_NID + 1], enrolled[FUND_NY][FUND_NID + 1];
	fgroup groups[FUND_NY][FG_N];
	/* indicator inputs */
	sb_fen assisted_oop[FUND_NY], assisted_income[FUND_NY];
	long long hh_income[FUND_NY], hh_catastrophic[FUND_NY];
	long long warnings[FUND_NY];
	/* adjustment-input rows, by year and scheme */
	bool has_score[FUND_NY][2], has_deduction[FUND_NY][2], has_advance[FUND_NY][2];
	int64_t score[FUND_NY][2];
	sb_fen deduction[FUND_NY][2], advance[FUND_NY][2];
} fregion;

/* The province-level adjustment fund of a year. */
typedef struct fadjust {
	bool present;
	const sb_funding *f; /* the province's funding that year */
	sb_fen opening, paid_up, available, normal, emergency, closing;
	sb_fen advance, settlement;
	long long units;
	/* months across the taking-part funds, before and after */
	double mean_before, mean_after, sd_before, sd_after;
	int64_t min_before, max_before, min_after, max_after;
	long long n_months;
} fadjust;

/* A settlements.csv column that is a layer. */
typedef struct flayer {
	size_t col;
	const char *id;
	uint64_t key;
	const char *fund_code; /* as the first policy naming it writes it, "" */
} flayer;

#define FUND_NIND 15

typedef struct fund_run {
	const sb_fund_config *cfg;
	sb_fund_totals *t;
	sb_policyset *set;
	char province[7];
	const sb_policy *province_pol;
	size_t nregions;
	fregion *regions; /* sorted by code */
	size_t npersons;
	fperson *persons; /* sorted by (key, pseudo) */
	fseq *seq;        /* the same persons in persons.csv's order */
	uint32_t *seq_of; /* each of r->persons' place in seq */
	uint32_t *seq_hh; /* each of seq's household, UINT32_MAX none */
	size_t nids;
	fident *ids;         /* sorted by (key, pseudo, from) */
	uint32_t *id_person; /* at each person's first row of ids: its place in persons, UINT32_MAX none */
	uint32_t nhouseholds;
	uint32_t *hh_members;
	sb_fen *hh_income; /* household income as given on its first member */
	size_t nlayers, settlement_cols;
	flayer *layers;
	sb_fen *layer_paid;      /* [region][year][layer] */
	long long *layer_claims; /* same */
	int nyears;
	int years[FUND_NY];   /* by slot, in the order first seen */
	int yorder[FUND_NY];  /* the slots by year */
	sb_fen *oop[FUND_NY]; /* per person (as r->seq), lazily */
	fadjust adjust[FUND_NY];
	sb_fen adj_opening; /* balances.csv's row for the province */
	bool has_adj_opening;
	/* indicators [region][year][indicator], has, rank */
	double *ind;
	bool *ind_has;
	int *ind_rank;
} fund_run;

static inline size_t fund_layer_index(const fund_run *r, size_t region, int y, size_t l)
{
	return (region * FUND_NY + (size_t)y) * r->nlayers + l;
}

/* read.c; settlements.c: sb_fund_read_settlements */
SB_MUST_USE sb_status sb_fund_read_persons(fund_run *r, sb_diag *d);
/* identities.csv read and sorted (no use of the persons: it may run
 * beside sb_fund_read_persons), then linked to the persons. */
SB_MUST_USE sb_status sb_fund_read_identities(fund_run *r, sb_diag *d);
SB_MUST_USE sb_status sb_fund_link_identities(fund_run *r, sb_diag *d);
SB_MUST_USE sb_status sb_fund_read_settlements(fund_run *r, sb_diag *d);
SB_MUST_USE sb_status sb_fund_read_balances(fund_run *r, sb_diag *d);
SB_MUST_USE sb_status sb_fund_read_adjustment(fund_run *r, sb_diag *d);
SB_MUST_USE sb_status sb_fund_read_warnings(fund_run *r, sb_diag *d);
fregion *sb_fund_region(fund_run *r, const char *code);
fperson *sb_fund_find_person(fund_run *r, uint64_t key, int pseudo);
/* The same for keys asked in increasing order: *at (0 at first) is where
 * the last search ended. */
fperson *sb_fund_find_person_from(fund_run *r, uint64_t key, int pseudo, size_t *at);
/* The slot of a policy year (added in the order first seen; r->yorder by
 * year); SB_ELIMIT at c's line past FUND_NY years. Not thread-safe. */
SB_MUST_USE sb_status sb_fund_add_year(fund_run *r, int year, int *slot, const sb_csv *c,
				       sb_diag *d);
int sb_fund_year_index(const fund_run *r, int year);
/* Identity bits (sym + 1) a person holds on some day of [start, end). */
uint64_t sb_fund_held(const fund_run *r, const fperson *p, sb_date start, sb_date end);

/* Runs fn(args + i * size) for i in [0, n) on n threads (n at most
 * SB_RANGES_MAX), the first on the calling one; SB_ENOMEM when a thread
 * cannot start (those started are joined). */
SB_MUST_USE sb_status sb_fund_threads(int n, void *(*fn)(void *), void *args, size_t size,
				      sb_diag *d);

/* accounts.c */
SB_MUST_USE sb_status sb_fund_accounts(fund_run *r, sb_diag *d);
/* The first and last-plus-one day of policy year y of region g. */
void sb_fund_year_span(const fregion *g, int year, sb_date *start, sb_date *end);

/* adjust.c */
SB_MUST_USE sb_status sb_fund_adjust(fund_run *r, int y, sb_diag *d);

/* indicators.c */
typedef struct fund_indicator {
	const char *id, *name, *unit;
	int direction; /* 1 higher is better, -1 lower, 0 closest to 1 */
} fund_indicator;
extern const fund_indicator sb_fund_indicators[FUND_NIND];
SB_MUST_USE sb_status sb_fund_compute_indicators(fund_run *r, sb_diag *d);

/* write.c */
SB_MUST_USE sb_status sb_fund_write(fund_run *r, sb_outdir *od, sb_diag *d);

#endif
