/* policy_int.h: the compiled policy model, shared by the loader (policy/)
 * and its readers (settle/, monitor/, the CLI's describe). Values that
 * depend on the claim (level maps, income shares) stay symbolic here and
 * are resolved per claim by sb_val_resolve. */
#ifndef SANBAO_POLICY_INT_H
#define SANBAO_POLICY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "sanbao/policy.h"

#define SB_MAX_MASK_SYMS 63 /* levels, identities, tiers: bit masks */

enum sb_scheme { SB_SCHEME_EMPLOYEE, SB_SCHEME_RESIDENT, SB_SCHEME_N };
enum sb_employment { SB_EMP_ACTIVE, SB_EMP_RETIRED, SB_EMP_N, SB_EMP_UNKNOWN = 0xff };
enum sb_visit { SB_VISIT_INPATIENT, SB_VISIT_CHRONIC, SB_VISIT_OUTPATIENT,
		SB_VISIT_PHARMACY, SB_VISIT_N };
enum sb_place { SB_PLACE_LOCAL, SB_PLACE_IN_PROVINCE, SB_PLACE_CROSS_PROVINCE, SB_PLACE_N };
enum sb_filing { SB_FILING_FILED, SB_FILING_REFERRAL, SB_FILING_EMERGENCY,
		 SB_FILING_UNFILED, SB_FILING_LONG_TERM, SB_FILING_N };
enum sb_base { SB_BASE_IN_SCOPE, SB_BASE_WITH_PRE_SELFPAY };
/* SB_SCOPE_HOUSEHOLD (format 2): the accumulated base is the household's:
 * every member's claims this layer settled in the policy year. */
enum sb_scope { SB_SCOPE_VISIT, SB_SCOPE_YEAR, SB_SCOPE_HOUSEHOLD };
enum sb_mode { SB_MODE_ABOVE, SB_MODE_CUMULATIVE };
enum sb_income_kind { SB_INCOME_ALL, SB_INCOME_URBAN, SB_INCOME_RURAL, SB_INCOME_N };
enum sb_measure { SB_MEASURE_OOP, SB_MEASURE_OOP_IN_SCOPE };
enum sb_window { SB_WINDOW_YEAR, SB_WINDOW_12M };
enum sb_unit { SB_UNIT_PERSON, SB_UNIT_HOUSEHOLD };

/* Names of the enumerations above, index = value (NULL-terminated). */
extern const char *const sb_scheme_names[];
extern const char *const sb_employment_names[];
extern const char *const sb_visit_names[];
extern const char *const sb_visit_codes[]; /* NHSA med_type: "21", "14", ... */
extern const char *const sb_place_names[];
extern const char *const sb_filing_names[];
extern const char *const sb_income_kind_names[];
/* Index of p[0..n) in a NULL-terminated name list, or -1. */
int sb_name_index(const char *const *names, const char *p, size_t n);

/* Where a value was written, for messages raised at claim time. */
typedef struct sb_src {
	const char *file;
	int line;
	int column;
} sb_src;

enum sb_val_kind { SB_VAL_UNSET, SB_VAL_FEN, SB_VAL_BP, SB_VAL_SHARE, SB_VAL_LEVELS,
		   SB_VAL_NONE,
		   /* format 2 */
		   SB_VAL_OF,      /* {share: r, of: what}: r x a claim part, the layer's
				    * cap or a named statistic */
		   SB_VAL_BY_STAY  /* {by_stay: [v1, v2, ...]}: by the layer's claim
				    * number in the policy year (the last repeats) */
};

/* What {share, of} takes a share of. */
enum sb_of { SB_OF_TOTAL, SB_OF_IN_SCOPE, SB_OF_PRE_SELFPAY, SB_OF_OVER_LIMIT,
	     SB_OF_OUT_OF_SCOPE, SB_OF_CAP, SB_OF_STAT, SB_OF_N };
extern const char *const sb_of_names[]; /* SB_OF_TOTAL .. SB_OF_CAP */

typedef struct sb_levval sb_levval;

/* An amount (fen), a rate (bp), an income share, a level map, or `none`. */
typedef struct sb_val {
	uint8_t kind;
	uint8_t income_kind; /* SB_VAL_SHARE */
	bool has_min, has_max;
	uint16_t nlev;
	int64_t v; /* fen, bp, or the share in bp */
	int64_t min, max;
	sb_levval *lev; /* SB_VAL_LEVELS; level -1 is `other` */
	/* SB_VAL_OF: of (SB_OF_*), the statistic's index in the policy and
	 * the year (0: the year before the policy year, 1: the policy year).
	 * SB_VAL_BY_STAY: nitems items; with `of` (ofv) the items are rates of
	 * it. */
	uint8_t of, stat_year;
	uint16_t stat, nitems;
	struct sb_val *items, *ofv;
	sb_src src;
} sb_val;

struct sb_levval {
	int level;
	sb_val val;
};

/* Conditions: an absent key is 0 (any). Masks have bit i for value i. */
enum {
	SB_C_SCHEME = 1 << 0, SB_C_TIER = 1 << 1, SB_C_EMPLOYMENT = 1 << 2,
	SB_C_VISIT = 1 << 3, SB_C_LEVEL = 1 << 4, SB_C_PLACE = 1 << 5,
	SB_C_FILING = 1 << 6, SB_C_IDENTITY = 1 << 7, SB_C_HOLDS = 1 << 8,
	SB_C_AGE = 1 << 9, SB_C_DISEASE = 1 << 10
};

typedef struct sb_cond {
	uint32_t keys;
	uint8_t scheme, employment, visit, place, filing;
	uint64_t tier, level;
	uint64_t identity; /* bit 0: `none`; bit (sym + 1): identity sym */
	uint64_t holds;    /* bit (sym + 1) */
	int age_min, age_max;
	uint64_t disease; /* bit i: the policy's disease list i */
} sb_cond;

typedef struct sb_band {
	sb_val from;
	sb_val rate;
} sb_band;

enum {
	SB_A_DEDUCTIBLE = 1 << 0, SB_A_FACTOR = 1 << 1, SB_A_REPEAT = 1 << 2,
	SB_A_RATE = 1 << 3, SB_A_BANDS = 1 << 4, SB_A_MODE = 1 << 5,
	SB_A_DELTA = 1 << 6, SB_A_CAP = 1 << 7, SB_A_SKIP = 1 << 8,
	SB_A_PENALTY = 1 << 9, SB_A_PAY_FIRST = 1 << 10, SB_A_FLOOR = 1 << 11
};

typedef struct sb_adjust {
	sb_cond when;
	uint32_t has;
	uint8_t mode;
	int64_t factor_bp;
	int64_t delta_bp;
	sb_val deductible, repeat, rate, cap, pay_first, floor;
	sb_band *bands;
	uint16_t nbands;
	sb_src src;
} sb_adjust;

/* Parts of a claim a format-2 base draws on, in the order they are drawn. */
enum { SB_PART_IN_SCOPE, SB_PART_PRE_SELFPAY, SB_PART_OVER_LIMIT, SB_PART_OUT_OF_SCOPE,
       SB_PART_N };
extern const char *const sb_part_names[];

typedef struct sb_layer {
	int sym;  /* layer id symbol */
	int pool; /* pool symbol */
	/* sb_id_key of the layer id and of the pool id: what accumulators are
	 * keyed by (stable across loads, unlike the symbols). */
	uint64_t key, pool_key;
	const char *id, *name, *fund_code;
	sb_cond when;
	uint8_t base, scope, mode;
	bool exclude_penalty;
	sb_val deductible, repeat, cap; /* repeat: SB_VAL_UNSET when absent */
	sb_band *bands;
	uint16_t nbands;
	uint16_t nadjust;
	sb_adjust *adjust;
	/* Format 2. `v2` is set when any of them is used (the v1 path skips
	 * them all). part_bp: the share of each remaining part in the base
	 * (10000 = all of it; v1 bases are {in_scope} or {in_scope,
	 * pre_selfpay}). above: index of the earlier layer whose cap point
	 * the base starts at, -1. after: index of the earlier layer whose cap
	 * must be used up, -1. */
	bool v2, deduct_year, has_lump, cap_point_used;
	int16_t above, after;
	int64_t part_bp[SB_PART_N];
	sb_val pay_first, cap_claim, cap_month, floor, lump, lump_above; /* UNSET: absent */
	/* caps.household: the pool's payments to the household's members in
	 * the policy year (UNSET: absent). household: the layer reads or
	 * writes the household's accumulators (scope household or
	 * caps.household). */
	sb_val cap_household;
	bool household;
	/* continuity: raises for years of continuous enrolment beyond
	 * cont_after and for claimless years, bounded. */
	/* classes: per item class of the claim, its own rate (bp, -1: the
	 * layer's bands) and pay-first share (bp, -1: none). */
	uint8_t nclasses;
	struct sb_layer_class { int sym; int64_t rate, pay_first; } classes[8];
	bool has_continuity;
	int16_t cont_after;
	sb_val cont_cap_year, cont_cap_claimless, cont_cap_max; /* UNSET: absent */
	int64_t cont_rate_year, cont_rate_max;                   /* bp; -1 max: none */
	sb_src src;
} sb_layer;

#define SB_MAX_RULES 16 /* monitoring rules in one version */

typedef struct sb_rule {
	int sym; /* rule id symbol */
	const char *id, *name;
	sb_cond when;
	uint8_t measure, window, unit;
	bool per_household;
	sb_val threshold;
	sb_src src;
} sb_rule;

struct sb_version {
	sb_date from;
	sb_date until; /* first day no longer in force; INT32_MAX when open */
	int index;     /* position in the policy's list */
	const char *source;
	int year_start_month, year_start_day;
	uint16_t nlayers, nrules;
	sb_layer *layers;
	sb_rule *rules;
	/* Format 2 waiting period after late enrolment: months plus
	 * wait_per_year per uncovered year; wait_layers bit i: layer i waits. */
	bool v2; /* in a format-2 policy: claims may read format-2 values */
	bool has_waiting;
	int16_t wait_months, wait_per_year;
	uint64_t wait_layers;
};

typedef struct sb_income {
	int year;
	bool has[SB_INCOME_N];
	sb_fen fen[SB_INCOME_N];
} sb_income;

/* A named statistic (format 2): an amount per year. */
typedef struct sb_stat {
	const char *id, *name;
	uint16_t nyears;
	int *years;
	sb_fen *fen;
} sb_stat;

/* A named disease list (format 2): ICD-10 codes; a code ending in `*`
 * is a prefix. */
typedef struct sb_disease {
	const char *id, *name;
	uint16_t ncodes;
	const char **codes;
	uint16_t *lens;
	bool *prefix;
} sb_disease;
#define SB_MAX_DISEASES 64

struct sb_policy {
	char region[7];
	const char *name;
	const char *path;
	const sb_policy *parent;
	uint16_t nincome, nidentities, nversions;
	sb_income *income;
	int *identities; /* identity symbols in priority order */
	const char **identity_names;
	const char **identity_labels; /* the list's `name` (低保对象), or NULL */
	sb_version *versions;
	int format; /* 1 or 2: the highest of the file and its parents */
	uint16_t nstats, ndiseases;
	sb_stat *stats;
	sb_disease *diseases;
	/* `funding` (sanbao/fund.h), own laid over the parent's, by from. */
	uint16_t nfunding;
	const struct sb_funding *funding;
};

/* Everything a condition or value looks at on one claim. */
typedef struct sb_claimctx {
	uint8_t scheme, employment, visit, place, filing;
	int tier;      /* symbol or -1 */
	int level;     /* symbol or -1 */
	int identity;  /* applied identity symbol, or -1 for none */
	uint64_t holds; /* bit (sym + 1) per identity held on the date */
	int age;
	int year; /* policy year */
	const char *level_name; /* for messages */
	const sb_policy *policy;
	/* Format 2: what {share, of} and by_stay read. */
	uint32_t claim_no;      /* this claim's number for the layer (1-based) */
	sb_fen cap;             /* the layer's annual cap as resolved, -1 none */
	const sb_fen *parts;    /* total, in_scope, pre_selfpay, over_limit, out_of_scope */
	const char *diagnosis;  /* NULL or "" when none */
	const struct sb_person *person; /* enrolment facts (continuity) */
} sb_claimctx;

bool sb_cond_holds(const sb_cond *c, const sb_claimctx *x);
/* check-policy's lines for a policy's funding entries (funding.c), to a FILE. */
void sb_funding_describe(const sb_policyset *set, const sb_policy *p, void *file);
/* 1 when diagnosis dx is on one of the policy's disease lists in mask. */
bool sb_disease_matches(const sb_policy *p, uint64_t lists, const char *dx);

/* Resolves v for the claim: level maps by the claim's level (then `other`),
 * income shares from the policy's income of the year before the claim's
 * policy year. SB_EINPUT with a sentence in d when the claim cannot be
 * resolved (no level entry, no income). `what` names the value. */
SB_MUST_USE sb_status sb_val_resolve(const sb_val *v, const sb_claimctx *x,
				     const char *what, int64_t *out, sb_diag *d);

/* Policy year of date under a version (its year_start). */
int sb_version_policy_year(const sb_version *v, sb_date date);
/* First day of a policy year under a version. */
sb_date sb_version_year_start(const sb_version *v, int year);

/* The set's symbol table as the loader sees it. */
/* The symbol of a word, added when new: >= 0; SB_SYM_FULL when a kind
 * kept in bit masks has no room left; SB_SYM_OOM when out of memory. */
#define SB_SYM_FULL (-1)
#define SB_SYM_OOM (-2)
int sb_policyset_intern(sb_policyset *set, sb_symkind kind, const char *p, size_t n);
sb_arena *sb_policyset_arena(sb_policyset *set);

/* Loads an inline policy node (a case's `policy:`); relative `extends` are
 * resolved against the node's document folder. */
struct sb_ynode;
SB_MUST_USE sb_status sb_policyset_load_node(sb_policyset *set, struct sb_ynode node,
					     const sb_policy **out, sb_diag *d);

/* Identity bits (sym + 1) that a layer's own `when` requires, as two sets
 * that must each be met: `identity` (unless it allows `none`, which a
 * person holding nothing meets, so no roster entry is missing) and `holds`.
 * Adjust entries only change amounts, so they are not looked at. The one
 * eligibility test of roster's stale-assistance check and audit's
 * assistance_ineligible rule (required.c). */
void sb_layer_required(const sb_layer *l, uint64_t *ident, uint64_t *holds);
/* Whether a person holding `held` (bits sym + 1, as sb_settle_identity
 * gives) meets what sb_layer_required asks. */
bool sb_layer_eligible(const sb_layer *l, uint64_t held);

#endif
