/* settle.h: one claim through the payer chain, exactly to the fen.
 *
 * The caller holds a person's accumulators (sb_acc) and feeds that
 * person's claims in order of date, then claim id; everything else comes
 * from the policy set. A claim that cannot be settled (a level the policy
 * has no value for, an amount paid elsewhere above the layer's base, no
 * version in force) is refused with a reason and changes no accumulator.
 */
#ifndef SANBAO_SETTLE_H
#define SANBAO_SETTLE_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/policy.h"

#define SB_SETTLE_MAX_LAYERS 32
#define SB_MAX_PERSON_IDENTITIES 16
#define SB_MAX_PAID 8

/* One identity interval from the civil-affairs roster. */
typedef struct sb_ident {
	int sym;      /* identity symbol, or -1 when no policy knows the word */
	sb_date from;
	sb_date to;   /* inclusive; INT32_MAX when still held */
} sb_ident;

/* The birth date of a person known only by a pseudonym: age conditions
 * never hold for them. */
#define SB_BIRTH_UNKNOWN INT32_MIN

/* A person as settlement needs them (strings are borrowed). */
typedef struct sb_person {
	char id[SB_ID_LEN + 1];
	char region[7];
	sb_date birth;
	uint8_t scheme;     /* 0 employee, 1 resident */
	uint8_t employment; /* 0 active, 1 retired, 0xff unknown */
	int tier;           /* tier symbol or -1 */
	uint16_t nidents;
	sb_ident idents[SB_MAX_PERSON_IDENTITIES];
} sb_person;

typedef struct sb_paid {
	int layer; /* layer symbol */
	sb_fen fen;
} sb_paid;

typedef struct sb_claim {
	const char *id;
	sb_date date;
	uint8_t visit, place, filing;
	int level;          /* level symbol or -1 */
	const char *level_name;
	sb_fen total, in_scope, pre_selfpay, over_limit;
	uint8_t npaid;
	sb_paid paid[SB_MAX_PAID];
} sb_claim;

/* Per person and policy year: what each layer has accumulated and what
 * each pool has paid. Zero-initialise before a person's first claim. */
typedef struct sb_acc {
	const sb_policy *policy;
	int year;
	uint8_t nlayers, npools;
	struct { int sym; uint32_t count; sb_fen base; } layer[SB_SETTLE_MAX_LAYERS];
	struct { int sym; sb_fen paid; } pool[SB_SETTLE_MAX_LAYERS];
} sb_acc;

typedef struct sb_layer_result {
	int sym;        /* layer symbol */
	bool applied;   /* its conditions held (and no adjust skipped it) */
	bool given;     /* amount came from the claim's `paid` */
	sb_fen base;    /* B */
	sb_fen pay;
	sb_fen penalty;
} sb_layer_result;

typedef struct sb_result {
	const sb_version *version;
	int identity;   /* applied identity symbol, -1 for none */
	int year;       /* policy year */
	int age;
	uint8_t nlayers;
	sb_layer_result layer[SB_SETTLE_MAX_LAYERS]; /* in the version's order */
	sb_fen fund, oop, oop_in_scope;
	/* Monitoring: bit i when rule i of the version holds for the claim,
	 * and rule i's threshold for it (-1 when it cannot be resolved, e.g.
	 * no income for the year), before any household multiple. */
	uint8_t nrules;
	uint16_t rules_held;
	sb_fen rule_threshold[16];
} sb_result;

/* Checks a claim's amounts on their own: none negative, the parts within
 * the total. SB_EINPUT with the reason in d. */
SB_MUST_USE sb_status sb_claim_check(const sb_claim *c, sb_diag *d);

/* Settles c for person p (whose region's policy is pol) on top of acc.
 * On success fills r and advances acc; on SB_EINPUT leaves acc as it was.
 * When explain is not NULL, writes the step-by-step settlement to it. */
SB_MUST_USE sb_status sb_settle_claim(const sb_policyset *set, const sb_policy *pol,
				      const sb_person *p, const sb_claim *c, sb_acc *acc,
				      sb_result *r, FILE *explain, sb_diag *d);

/* What monitoring needs of a claim without settling it: the version in
 * force, identity, policy year, age and rules (r's layers stay empty). */
SB_MUST_USE sb_status sb_settle_context(const sb_policy *pol, const sb_person *p,
					const sb_claim *c, sb_result *r, sb_diag *d);

/* Why rule i of the claim's version has no threshold for it (the error
 * path of a result whose rule_threshold[i] is -1): SB_EINPUT with the
 * reason in d, or SB_OK when it does resolve. */
SB_MUST_USE sb_status sb_settle_rule_threshold(const sb_policy *pol, const sb_person *p,
					       const sb_claim *c, int rule, sb_diag *d);

/* The identity applied on a date (first held in the policy's priority
 * order, or -1) and the bit mask of identities held (bit sym + 1). */
int sb_settle_identity(const sb_policy *pol, const sb_person *p, sb_date date,
		       uint64_t *holds);

#endif
