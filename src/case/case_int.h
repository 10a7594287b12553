/* case_int.h: a case being run, shared by the settlement half (case.c) and
 * the monitoring expectations (monitor checks). */
#ifndef SANBAO_CASE_INT_H
#define SANBAO_CASE_INT_H

#include <stdio.h>

#include "base/arena.h"
#include "policy/ydoc.h"
#include "sanbao/settle.h"

typedef struct sb_case_person {
	sb_person p;
	const char *household; /* "" when none */
	sb_fen income;         /* -1 when not given */
} sb_case_person;

typedef struct sb_case_claim {
	sb_claim c;
	int person; /* index into persons */
	int unit;   /* the household's first member in persons (the person when none) */
	bool settled;
	const char *broken; /* what sb_settle_verify found, or NULL */
	sb_ynode node;
	sb_result r;
} sb_case_claim;

typedef struct sb_case {
	sb_arena arena;
	sb_policyset *set;
	bool set_ok;
	size_t npersons, nclaims;
	sb_case_person *persons;
	sb_case_claim *claims; /* sorted by person, date, id once read; by household
				* (unit), date, id when the policy keeps household
				* accumulators */
} sb_case;

/* Checks a case's `monitor:` expectations against its settled claims;
 * prints each difference to out. */
bool sb_case_check_monitor(sb_case *k, sb_ynode monitor, FILE *out);

#endif
