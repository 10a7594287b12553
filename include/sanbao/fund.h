/* fund.h: the money side of a pooling region (policy-format.md "Funding"):
 * who pays in (resident premiums by tier, the fiscal subsidy, employer and
 * employee shares of the wage base, premiums that medical assistance pays
 * for its groups), the warning bands of months of payment, and the
 * province's adjustment fund (省级调剂金). The rules are compiled by the
 * policy loader (src/policy/funding.c) from the policy file's `funding`
 * list; `sanbao fund`
 * (src/fund/) and `sanbao project` read them through this header.
 *
 * The structs below are plain values owned by the policy set (read-only,
 * valid until sb_policyset_free). Every amount is integer fen, every rate
 * basis points, every month count hundredths of a month.
 */
#ifndef SANBAO_FUND_H
#define SANBAO_FUND_H

#include <stdbool.h>
#include <stdint.h>

#include "sanbao/base.h"
#include "sanbao/policy.h"

/* Limits the loader enforces, with file:line. */
#define SB_FUND_MAX_TIERS 32     /* entries of a resident `individual` tier map */
#define SB_FUND_MAX_SUBSIDIES 62 /* identities with a premium subsidy */
#define SB_FUND_MAX_BANDS 8      /* warning bands */
#define SB_FUND_MAX_LAYERS 32    /* layers paid by the assistance fund (SB_MAX_LAYERS) */

/* Schemes as the fund counts them: the two pooled funds and the
 * medical-assistance fund (医疗救助基金). Values 0 and 1 are the person's
 * scheme (persons.csv). */
enum { SB_FUND_EMPLOYEE = 0, SB_FUND_RESIDENT = 1, SB_FUND_ASSISTANCE = 2, SB_FUND_SCHEMES = 3 };
extern const char *const sb_fund_scheme_names[]; /* "employee", "resident", "assistance" */

/* How medical assistance pays a resident's premium (资助参保). */
enum sb_subsidy_kind {
	SB_SUBSIDY_FULL = 1,   /* 全额资助: the whole individual contribution */
	SB_SUBSIDY_AMOUNT = 2, /* 定额资助: value fen, at most the contribution */
	SB_SUBSIDY_SHARE = 3   /* value bp of the contribution, rounded half up */
};

typedef struct sb_fund_subsidy {
	int identity; /* identity symbol */
	uint8_t kind; /* enum sb_subsidy_kind */
	int64_t value;
} sb_fund_subsidy;

typedef struct sb_fund_tier {
	int tier; /* tier symbol; -1 is `other` */
	sb_fen individual;
} sb_fund_tier;

/* A warning band: months of payment from `from` (hundredths) up to the next
 * band's from. Months below the first band's from fall in the first band. */
typedef struct sb_fund_band {
	int64_t from;
	const char *id;   /* a word: shortage, low, normal, excess ... */
	const char *name; /* may be "" */
} sb_fund_band;

/* The provincial adjustment fund (省级调剂金), in the province's file. */
typedef struct sb_adjustment {
	bool present;
	const char *source; /* "" when not given */
	uint8_t schemes;    /* bit SB_FUND_EMPLOYEE / SB_FUND_RESIDENT: funds that take part */
	int64_t pay_up_bp;  /* 上解: share of each fund's revenue */
	int64_t normal_bp;  /* 正常调剂: share of the year's recognised gap */
	bool weighted;      /* ... times the region's performance score / 100 */
	bool has_emergency; /* 紧急调剂 */
	int64_t emergency_below, emergency_to; /* months (hundredths) */
	int64_t advance_bp; /* 预拨: share of the unit's previous-year allocation */
} sb_adjustment;

typedef struct sb_funding {
	sb_date from;       /* in force from this day until the next entry's from */
	const char *source; /* "" when not given */
	/* Resident scheme: the individual contribution (个人缴费) by tier and
	 * the fiscal subsidy (财政补助), per enrolled resident and year. */
	bool has_resident;
	uint16_t ntiers;
	sb_fund_tier tiers[SB_FUND_MAX_TIERS];
	sb_fen subsidy;
	/* Employee scheme: rates of the yearly wage base (12 x the monthly
	 * 缴费基数, bounded by base_min/base_max, base_default when the person
	 * has none); the shares of each credited to the pooled fund (the rest
	 * goes to individual accounts). Retirees pay nothing (社会保险法 第二十七条). */
	bool has_employee;
	int64_t employer_bp, employee_bp;
	int64_t employer_to_pool_bp, employee_to_pool_bp;
	bool has_base_min, has_base_max, has_base_default;
	sb_fen base_min, base_max, base_default; /* monthly */
	/* Medical assistance: its layers (sb_id_key of their ids), its yearly
	 * budget (an amount, or per insured person of the region) and the
	 * premium subsidies in the policy's identity priority order. */
	uint16_t nassist_layers;
	uint64_t assist_layers[SB_FUND_MAX_LAYERS];
	bool has_budget, budget_per_insured;
	sb_fen budget;
	uint16_t nsubsidies;
	sb_fund_subsidy subsidies[SB_FUND_MAX_SUBSIDIES];
	uint16_t nbands;
	sb_fund_band bands[SB_FUND_MAX_BANDS];
	sb_adjustment adjustment;
} sb_funding;

/* The funding in force for policy year `year`: the entry in force on the
 * year's first day (the year_start of the version in force on 1 January).
 * NULL when the policy and its parents have none. */
const sb_funding *sb_policy_funding(const sb_policy *p, int year);
/* The policy's entries (its own laid over its parent's), by from. */
size_t sb_policy_funding_count(const sb_policy *p);
const sb_funding *sb_policy_funding_entry(const sb_policy *p, size_t i);

/* What one person brings in for one policy year. */
typedef struct sb_fund_person {
	uint8_t scheme;     /* 0 employee, 1 resident */
	uint8_t employment; /* 0 active, 1 retired, 0xff not given (counts as active) */
	int tier;           /* tier symbol, or -1 (none: the map's `other`) */
	bool has_wage_base;
	sb_fen wage_base; /* monthly 缴费基数 */
	uint64_t held;    /* identity bits (sym + 1) held on some day of the year */
} sb_fund_person;

typedef struct sb_contrib {
	sb_fen individual;   /* the person's own premium or share, before assistance */
	sb_fen assistance;   /* the part of it medical assistance pays (资助参保) */
	int assist_identity; /* identity symbol of that subsidy, -1 */
	sb_fen paid;         /* individual - assistance: what the person paid */
	sb_fen subsidy;      /* fiscal subsidy (resident) */
	sb_fen employer;     /* employer contribution (employee) */
	sb_fen pool;         /* credited to the pooled fund */
	sb_fen account;      /* credited to individual accounts (employee) */
	bool no_base;        /* an active employee without a wage base and no base_default */
} sb_contrib;

/* A person's contributions for a year under f. SB_EINPUT with *why (a
 * static sentence) when f has no rules for the person's scheme or a tier
 * map has no entry for the tier and no `other`. */
SB_MUST_USE sb_status sb_funding_contrib(const sb_funding *f, const sb_fund_person *p,
					 sb_contrib *out, const char **why);

/* Months of payment, hundredths: balance x 12 / spending, rounded half up.
 * false when spending <= 0 (months are not defined). */
bool sb_fund_months(sb_fen balance, sb_fen spending, int64_t *months);
/* The band index of months (has_months false: the last band), or -1 when
 * f has no bands. */
int sb_funding_band(const sb_funding *f, bool has_months, int64_t months);

/* ---- balances.csv: opening cumulative balances ------------------------- */

/* One row of balances.csv (docs/data-format.md): a region's opening
 * cumulative balance (累计结余) of one fund, scheme SB_FUND_EMPLOYEE,
 * SB_FUND_RESIDENT or SB_FUND_ASSISTANCE, or of the province's adjustment
 * fund, scheme SB_FUND_ADJUSTMENT, on the province's row. */
#define SB_FUND_ADJUSTMENT SB_FUND_SCHEMES
typedef struct sb_fund_balance {
	char region[7];
	int scheme;
	sb_fen balance;
	int line;
} sb_fund_balance;

/* Reads balances.csv (`region,scheme,balance`, through the one column
 * table): a row's region must be one known(ctx, code, adjustment) accepts
 * (the adjustment fund's row: the province's code), its scheme employee,
 * resident, assistance or adjustment, its balance yuan with at most 2
 * decimals, and each fund has one row. Errors at path:line. *rows is
 * allocated (sb_free), in the file's order. Shared by `sanbao fund` and
 * `sanbao project`. */
SB_MUST_USE sb_status sb_fund_read_balances_file(
	const char *path, bool (*known)(void *ctx, const char *code, bool adjustment), void *ctx,
	sb_fund_balance **rows, size_t *n, sb_diag *d);

/* ---- sanbao fund: the accounts of a settled year ------------------------ */

#define SB_FUND_MAX_YEARS 8     /* policy years in one run */
#define SB_FUND_MAX_REGIONS 512 /* pooling regions in one run */

typedef struct sb_fund_config {
	const char *policies_dir;     /* required */
	const char *policy_root;      /* NULL: the default (policy.h) */
	const char *persons_path;     /* required */
	const char *identities_path;  /* NULL: no identities (no subsidies, no coverage) */
	const char *settlements_path; /* required: settlements.csv of `sanbao settle` */
	const char *balances_path;    /* NULL: opening balances 0 */
	const char *adjustment_path;  /* NULL: no scores, deductions or given advances */
	const char *warnings_path;    /* NULL: warnings per 10,000 not computed */
	const char *out_dir;          /* required */
	int threads;                  /* readers of settlements.csv; 0 or 1: one */
} sb_fund_config;

/* What a run did; money in fen. */
typedef struct sb_fund_totals {
	long long persons, persons_rejected, identities, identities_rejected, settlements;
	long long regions;
	int nyears;
	int years[SB_FUND_MAX_YEARS];
	sb_fen revenue;  /* credited to the pooled and assistance funds */
	sb_fen spending; /* their spending: every layer payment of the settlements */
	sb_fen settled;  /* the settlements' own sum of the fund column */
	sb_fen adj_opening, adj_paid_up, adj_allocated, adj_closing;
} sb_fund_totals;

/* Reads the inputs and writes into out_dir (README "sanbao fund"):
 * accounts.csv, spending.csv, premiums.csv, coverage.csv, ratios.csv,
 * adjustment.csv, indicators.csv and fund.json (the marker, last). Bad
 * input is an error naming file:line (nothing is written then). */
SB_MUST_USE sb_status sb_fund_run(const sb_fund_config *cfg, sb_fund_totals *t, sb_diag *d);

#endif
