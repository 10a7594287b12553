/* monitor_int.h: the monitoring rules of policy-format.md run over settled
 * claims ("events"): sums of a measure per person or household within a
 * policy year or a rolling 12 months, a warning when a sum first exceeds
 * its threshold in a policy year, and the units at 80% or more that have
 * not crossed. Callers (the case runner, the batch, `sanbao monitor`)
 * turn their claims into events and their hits into output. */
#ifndef SANBAO_MONITOR_INT_H
#define SANBAO_MONITOR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy_int.h"
#include "sanbao/settle.h"

/* One settled claim as the monitor sees it. Within a unit, events are taken
 * in order of date, then claim id, as settlement takes a person's claims. */
typedef struct sb_mon_event {
	uint32_t person;     /* the caller's person index */
	uint32_t household;  /* the caller's household index + 1; 0: none */
	uint32_t members;    /* enrolled members of the household (1 when none) */
	const char *claim_id; /* not NUL-terminated: claim_idlen bytes */
	uint32_t claim_idlen;
	sb_date date;
	int year;            /* policy year of the claim */
	int identity;        /* applied identity symbol or -1 */
	uint32_t region;     /* the person's region code */
	const sb_version *version;
	sb_fen oop, oop_in_scope;
	uint16_t rules_held;
	const sb_fen *threshold; /* one per rule of the version (borrowed) */
} sb_mon_event;

typedef struct sb_mon_hit {
	const sb_rule *rule;
	bool household;      /* the unit is a household (else a person) */
	uint32_t unit;       /* household index + 1, or person index */
	uint32_t person;     /* whose claim crossed (or came last) */
	uint32_t region;
	int identity;
	sb_date date;
	int year;
	sb_fen measure, threshold;
} sb_mon_hit;

typedef struct sb_mon_out {
	sb_mon_hit *warn, *near;
	size_t nwarn, nnear, capwarn, capnear;
	long long unresolved; /* claims whose threshold could not be resolved */
} sb_mon_out;

/* Runs every rule over the events (left in place; ordered through
 * pointers, and not at all for persons when they already come in person,
 * date, claim id order, as settlement produces them). Hits are appended to
 * out in (unit kind, unit, date) order. When by_household is not NULL it
 * receives the n events in household order (households, then persons
 * without one; by date, claim id), for callers that sum by household. */
SB_MUST_USE sb_status sb_monitor_run(const sb_mon_event *ev, size_t n,
				     const sb_mon_event **by_household, sb_mon_out *out);
void sb_mon_out_release(sb_mon_out *out);

/* The rules of one unit kind (household or person) over one unit's events
 * ev[0, n), in the order sb_monitor_run takes them (a person's: date,
 * claim id; a household's: sb_monitor_order_household's), as
 * sb_monitor_run runs each unit: unit is the household index + 1 when
 * unit_is_hh, else the person index. Hits are appended to out. */
SB_MUST_USE sb_status sb_monitor_unit(const sb_mon_event *const *ev, size_t n, bool household,
				      bool unit_is_hh, uint32_t unit, sb_mon_out *out);

/* Sorts one household's events ev[0, n) into the order sb_monitor_run
 * takes them (date, claim id, person), stably; tmp is scratch of n / 2 + 1. */
void sb_monitor_order_household(const sb_mon_event **ev, size_t n, const sb_mon_event **tmp);

/* The measure / threshold as a ratio in basis points (10000 = 100%). */
int64_t sb_monitor_ratio_bp(sb_fen measure, sb_fen threshold);

#endif
