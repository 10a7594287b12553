/* settle_int.h: what settle.c, acc.c and verify.c share. */
#ifndef SANBAO_SETTLE_INT_H
#define SANBAO_SETTLE_INT_H

#include "policy/policy_int.h"
#include "sanbao/settle.h"

/* Index of the entry of (region, year, kind, id) in a, or -1. Searched
 * from the end, where the current year's entries are. */
static inline int sb_acc_index(const sb_acc *a, uint32_t region, int32_t year, uint32_t kind,
			       uint64_t id)
{
	for (uint32_t i = a->n; i-- > 0;) {
		const sb_acc_entry *e = &a->e[i];
		if (e->id == id && e->year == year && e->region == region && e->kind == kind)
			return (int)i;
	}
	return -1;
}
/* The index of that entry, appended (zero) when absent: SB_ELIMIT at
 * SB_ACC_MAX entries, SB_ENOMEM when a cannot grow (both with d set). */
SB_MUST_USE sb_status sb_acc_slot(sb_acc *a, uint32_t region, int32_t year, uint32_t kind,
				  uint64_t id, int *out, sb_diag *d);

/* A region code ("110105") as a number. */
static inline uint32_t sb_region_number(const char *code)
{
	uint32_t v = 0;
	for (int i = 0; i < 6 && code[i] >= '0' && code[i] <= '9'; i++)
		v = v * 10 + (uint32_t)(code[i] - '0');
	return v;
}

#endif
