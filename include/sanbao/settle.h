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

#include "sanbao/policy.h"
#include "sanbao/trace.h"

#define SB_MAX_PERSON_IDENTITIES 16
#define SB_MAX_PAID 8
#define SB_MAX_CLASSES 8 /* item classes on one claim, and on one layer */

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
	/* Enrolment facts (policy format 2, continuity and waiting): -1 when
	 * not known. continuous_years: completed years of continuous
	 * enrolment before the claim's policy year; claimless_years: years
	 * without reimbursement that count for a cap raise; uncovered_years:
	 * years without cover before a late enrolment on enrolled_from. */
	int16_t continuous_years, claimless_years, uncovered_years;
	sb_date enrolled_from; /* SB_DATE_NONE when not known */
} sb_person;
#define SB_DATE_NONE INT32_MIN

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
	const char *diagnosis; /* main diagnosis (ICD-10), NULL or "" when none */
	/* Format 2: in-scope amounts by item class (each part of in_scope). */
	uint8_t nclasses;
	struct { int sym; sb_fen fen; } classes[SB_MAX_CLASSES];
} sb_claim;

/* ---- accumulators --------------------------------------------------------
 *
 * What a person has accumulated, keyed by what it means: the pooling region
 * (its 6-digit code as a number), the policy year, the kind (a layer's
 * accumulated base and claim count, or a pool's payments) and the layer or
 * pool id as the policy writes it (its sb_id_key). No pointer to a policy and
 * no load-order symbol: the entries stay valid across policy reloads and can
 * be stored (sb_acc_encode / sb_acc_decode). Years are kept side by side, so
 * a late claim of an earlier year finds that year's sums.
 *
 * The entries grow as needed (one allocation, kept by sb_acc_reset) up to
 * SB_ACC_MAX; a claim that would need more is refused with SB_ELIMIT and the
 * limit, never written past an array. A claim of a version with at most
 * SB_MAX_LAYERS layers adds at most 4 x SB_MAX_LAYERS entries (a layer, its
 * pool and, format 2, its month and deductible entries).
 */
#define SB_ACC_MAX 4096

enum { SB_ACC_LAYER = 0, SB_ACC_POOL = 1,
       /* format 2: a pool's payments in one calendar month (year = YYYYMM),
	* a layer's deductible charged in the policy year (deductible_per:
	* year). Count 0. */
       SB_ACC_MONTH = 2, SB_ACC_DEDUCT = 3 };

typedef struct sb_acc_entry {
	uint64_t id;     /* sb_id_key of the layer or pool id */
	uint32_t region; /* pooling region code, e.g. 110105 */
	int32_t year;    /* policy year */
	uint32_t kind;   /* SB_ACC_LAYER or SB_ACC_POOL */
	uint32_t count;  /* layer: claims it settled in the year; pool: 0 */
	sb_fen amount;   /* layer: accumulated base; pool: amount paid */
} sb_acc_entry;

typedef struct sb_acc {
	sb_acc_entry *e; /* e[0..n) */
	uint32_t n, cap;
} sb_acc;

/* A zeroed sb_acc is an initialised one. */
void sb_acc_init(sb_acc *a);
/* A new person: forget every entry, keep the memory. */
void sb_acc_reset(sb_acc *a);
void sb_acc_release(sb_acc *a);
/* dst becomes a copy of src (dst initialised; its memory reused).
 * SB_ENOMEM leaves dst as it was. */
SB_MUST_USE sb_status sb_acc_copy(sb_acc *dst, const sb_acc *src);
/* The entry of (region, year, kind, id), or NULL. */
const sb_acc_entry *sb_acc_find(const sb_acc *a, uint32_t region, int32_t year, uint32_t kind,
				uint64_t id);

/* The byte encoding, version 1, little-endian:
 *   "SBAC", u16 version (1), u16 0, u32 n,
 *   n x { u64 id, u32 region, i32 year, u8 kind, u32 count, i64 amount },
 *   u32 FNV-1a checksum of everything before it.
 * sb_acc_encoded_size is the exact length. */
#define SB_ACC_ENCODING 1
size_t sb_acc_encoded_size(const sb_acc *a);
/* Writes the encoding into buf (cap bytes); SB_ELIMIT when it does not fit.
 * *len gets the length written. */
SB_MUST_USE sb_status sb_acc_encode(const sb_acc *a, uint8_t *buf, size_t cap, size_t *len,
				    sb_diag *d);
/* Replaces a's entries with the encoded ones. A short, long or damaged
 * buffer, another version, an unknown kind, a negative or too large amount
 * or a key given twice is SB_EINPUT with the reason, and a stays as it was. */
SB_MUST_USE sb_status sb_acc_decode(sb_acc *a, const uint8_t *buf, size_t len, sb_diag *d);

/* ---- results ------------------------------------------------------------- */

typedef struct sb_layer_result {
	int sym;        /* layer symbol */
	bool applied;   /* its conditions held (and no adjust skipped it) */
	bool given;     /* amount came from the claim's `paid` */
	sb_fen base;    /* B */
	sb_fen pay;
	sb_fen penalty;
	/* Where pay came from: the in-scope amount left, then pre_selfpay. */
	sb_fen from_in_scope, from_pre_selfpay;
	/* The cap resolved for the claim and the room its pool had left before
	 * this layer paid; -1 for both when uncapped (or not applied). */
	sb_fen cap, room;
	/* Format 2: what it drew from the out-of-pocket parts; the deductible
	 * charged once a year (deductible_per: year) that this claim absorbed;
	 * whether its annual cap is used up once it has paid. */
	sb_fen from_over_limit, from_out_of_scope;
	sb_fen deducted;
	bool exhausted;
} sb_layer_result;

typedef struct sb_result {
	const sb_version *version;
	uint32_t region; /* pooling region code of the policy */
	int identity;   /* applied identity symbol, -1 for none */
	int year;       /* policy year */
	int age;
	uint8_t nlayers;
	sb_layer_result layer[SB_MAX_LAYERS]; /* in the version's order */
	sb_fen fund, oop, oop_in_scope;
	/* Monitoring: bit i when rule i of the version holds for the claim,
	 * and rule i's threshold for it (-1 when it cannot be resolved, e.g.
	 * no income for the year), before any household multiple. */
	uint8_t nrules;
	uint16_t rules_held;
	sb_fen rule_threshold[16];
} sb_result;

/* The largest total accepted for one claim: 100,000,000 yuan. */
#define SB_CLAIM_MAX ((sb_fen)10000000000LL)

/* Checks a claim's amounts on their own: none negative, the total within
 * SB_CLAIM_MAX, the parts within the total. The one such check: every
 * reader of claims calls it. SB_EINPUT with the reason in d. */
SB_MUST_USE sb_status sb_claim_check(const sb_claim *c, sb_diag *d);

/* Settles c for person p (whose region's policy is pol) on top of acc.
 * On success fills r and advances acc; on a refusal (SB_EINPUT, or SB_ELIMIT
 * when acc is full; SB_ENOMEM when it cannot grow) leaves acc as it was.
 * When trace is not NULL it receives every step (see trace.h), and on a
 * refusal the reason. */
SB_MUST_USE sb_status sb_settle_claim(const sb_policyset *set, const sb_policy *pol,
				      const sb_person *p, const sb_claim *c, sb_acc *acc,
				      sb_result *r, sb_trace *trace, sb_diag *d);

/* Checks a settled claim against what must hold, computed independently
 * of the settlement's own arithmetic: each layer pays 0 .. its base, takes
 * its payment from in_scope and pre_selfpay as they were left, the layers
 * sum to fund, oop_in_scope is in_scope less what the layers drew from it,
 * oop is at least oop_in_scope, no capped layer pays beyond its pool's room
 * (room = cap less what the pool paid before, never negative), and, when
 * before and after are given, the accumulators advanced by exactly each
 * applied layer's base and count and each pool's payments, and nothing else
 * changed. SB_EINPUT with the first broken rule in d. */
SB_MUST_USE sb_status sb_settle_verify(const sb_claim *c, const sb_result *r,
				       const sb_acc *before, const sb_acc *after, sb_diag *d);

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
