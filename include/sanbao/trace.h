/* trace.h: one claim's settlement, step by step, as data.
 *
 * sb_settle_claim fills an sb_trace when given one: the claim's head (the
 * policy and version in force, the policy year, scheme, identity applied,
 * age, the split of the total), then for each layer of the version what
 * was resolved and computed (conditions, adjust entries applied, a skip,
 * base B, deductible D and why, C0 and C1, each band segment crossed, cap
 * and pool room, raw and rounded payment, penalty), the totals, and on a
 * refusal the reason. Renderers (src/explain/, sanbao/explain.h) turn it
 * into the `--explain` text or JSON; nothing in the core prints.
 *
 * Storage is bounded: SB_MAX_LAYERS layers of at most SB_MAX_BANDS band
 * segments and SB_MAX_ADJUST adjust entries each (the loader's limits), about
 * 125 KB: allocate one and reuse it. Strings are borrowed from the claim,
 * the policy set and static tables: render the trace while they live.
 */
#ifndef SANBAO_TRACE_H
#define SANBAO_TRACE_H

#include <stdbool.h>

#include "sanbao/policy.h"

typedef struct sb_trace_class sb_trace_class;

/* One band segment crossed: [lo, hi) of the accumulated base lies in the
 * band that starts at `threshold` (its `from`, moved by the deductible). */
typedef struct sb_trace_band {
	sb_fen from;      /* the band's from as resolved */
	sb_fen threshold; /* t: from + D (above_deductible) or max(from, D) */
	sb_fen lo, hi;
	int64_t rate;     /* basis points */
	int64_t part;     /* (hi - lo) x rate, exact in fen x bp */
} sb_trace_band;

/* One run of the layer formula on base B. */
typedef struct sb_trace_calc {
	sb_fen deductible;   /* D */
	bool repeat;         /* D is the repeat deductible */
	uint32_t claim_no;   /* this claim's number in the policy year for the layer */
	sb_fen c0, c1;       /* accumulated base before and after */
	const char *scope;   /* "visit" or "year" */
	const char *mode;    /* "above_deductible" or "cumulative" */
	uint16_t nbands;     /* segments crossed */
	sb_trace_band band[SB_MAX_BANDS];
	int64_t banded;      /* sum of the parts, fen x bp, before the cap */
	bool capped;         /* the layer has a cap for this claim */
	sb_fen cap, pool_paid, room; /* room = max(0, cap - pool_paid) */
	bool cap_limited;    /* banded was above room: raw = room */
	int64_t raw;         /* fen x bp after the cap */
	sb_fen rounded;      /* raw rounded half up to the fen */
	bool base_limited;   /* rounded was above B: pays B */
	sb_fen pay;
	/* Format 2 (all false / 0 for a v1 layer). */
	bool deduct_year;      /* D = deduct_standard - deduct_charged, >= 0 */
	sb_fen deduct_standard, deduct_charged, deducted;
	bool has_floor, floor_raised;
	sb_fen floor;
	bool has_cap_claim, cap_claim_limited;
	sb_fen cap_claim;
	bool has_cap_month, cap_month_limited;
	sb_fen cap_month, month_paid, month_room;
	bool lump;             /* pays lump_amount once a year when B > lump_above */
	bool lump_triggered, lump_paid_before;
	sb_fen lump_amount, lump_above;
	bool has_cap_point;    /* a later layer's base starts at the cap point */
	sb_fen cap_point, above_cap; /* accumulated-base point; C1 - point (>= 0) */
} sb_trace_calc;

typedef struct sb_trace_adjust {
	uint16_t index; /* 1-based, as in the policy's list */
	bool penalty;
	int line;       /* where the entry is written */
} sb_trace_adjust;

enum { SB_TRACE_SKIP_NONE, SB_TRACE_SKIP_ADJUST, SB_TRACE_SKIP_PENALTY };

typedef struct sb_trace_layer {
	int sym;
	const char *id, *name, *fund_code;
	bool when_held;      /* false: not applied (nothing below holds) */
	bool resolved;       /* its values resolved for the claim */
	uint16_t nadjust;
	sb_trace_adjust adjust[SB_MAX_ADJUST]; /* the entries applied */
	uint8_t skipped;     /* SB_TRACE_SKIP_*: by an adjust entry, or by a
			      * penalty entry (calc: what it would pay without) */
	bool has_base;
	sb_fen base;         /* B */
	bool base_with_pre_selfpay, less_penalties;
	bool given;          /* paid elsewhere: the claim's `paid` names it */
	sb_fen given_amount;
	bool computed;       /* calc holds the formula's run */
	sb_trace_calc calc;
	bool has_penalty;    /* a penalty entry matched (not skipped) */
	sb_fen without_penalty, penalty;
	bool paid;           /* pay and in_scope_left hold */
	sb_fen pay, in_scope_left;
	bool refused;        /* the claim was refused at this layer */
	/* Format 2. */
	bool v2;             /* the fields below hold */
	int after;           /* index of the layer whose cap must be used up, -1 */
	bool after_blocked;  /* not applied: that cap is not used up */
	int above;           /* index of the layer whose cap point starts the base, -1 */
	sb_fen part_left[4]; /* in_scope, pre_selfpay, over_limit, out_of_scope left */
	int64_t part_bp[4];  /* the base's share of each */
	bool has_pay_first;
	int64_t pay_first_bp;
	sb_fen base_before, pay_first; /* B = base_before - pay_first */
	uint8_t nclasses;    /* item classes of the layer (format 2) */
	struct sb_trace_class {
		int sym;         /* class symbol */
		sb_fen amount, pay_first; /* its part of the base; paid first */
		int64_t rate;    /* its own flat rate (bp), -1: the layer's bands */
		int64_t part;    /* (amount - pay_first) x rate, fen x bp */
	} cls[8];
	bool in_waiting;     /* not applied: the claim is in the waiting period */
	sb_fen cap_raise;    /* continuity: added to the annual cap */
	int64_t rate_raise;  /* continuity: added to the rates (bp) */
} sb_trace_layer;

typedef struct sb_trace {
	/* The head: filled once the claim has a version in force and its
	 * `paid` names layers of it. */
	bool has_head;
	const char *claim_id;
	char person[SB_ID_LEN + 1]; /* masked */
	sb_date date;
	const char *visit, *level, *place, *filing; /* level "-" when none */
	char region[7];
	const char *policy_name, *policy_path;
	sb_date version_from;
	int version_index;   /* 0-based position in the policy's versions */
	const char *source;  /* the version's source, may be "" */
	int year;            /* policy year */
	const char *scheme;
	int identity;        /* identity symbol applied, -1 for none */
	int age;             /* -1 when unknown */
	sb_fen total, in_scope, pre_selfpay, over_limit, out_of_scope;
	uint16_t nlayers;    /* layers reached, in the version's order */
	sb_trace_layer layer[SB_MAX_LAYERS];
	bool settled;        /* the totals hold */
	sb_fen fund, oop, oop_in_scope;
	sb_date waiting_until; /* format 2: first day the funds pay after a late
				* enrolment; 0 when no waiting period applies */
	bool refused;
	sb_status code;
	char reason[1300];   /* sb_diag_format of the refusal */
} sb_trace;

#endif
