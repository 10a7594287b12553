/* required.c: which identities a layer's `when` requires, the one test of
 * eligibility shared by roster's stale-assistance check (roster/stale.c)
 * and audit's assistance_ineligible rule (audit/audit_sink.c). */
#include "policy/policy_int.h"

void sb_layer_required(const sb_layer *l, uint64_t *ident, uint64_t *holds)
{
	*ident = 0;
	*holds = 0;
	if ((l->when.keys & SB_C_IDENTITY) && !(l->when.identity & 1))
		*ident = l->when.identity;
	if (l->when.keys & SB_C_HOLDS)
		*holds = l->when.holds & ~(uint64_t)1;
}

bool sb_layer_eligible(const sb_layer *l, uint64_t held)
{
	uint64_t ident, holds;
	sb_layer_required(l, &ident, &holds);
	return (!ident || (ident & held)) && (!holds || (holds & held));
}
