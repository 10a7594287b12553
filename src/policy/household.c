/* household.c: which policies keep accumulators over a household (format
 * 2: a layer with scope: household or caps.household), for the consumers
 * that must settle a household's members together (the batch, the case
 * runner) and for those that keep accumulators per person only and must
 * refuse such a policy rather than settle it wrong (the service). */
#include "policy/policy_int.h"

/* The first layer of the set that keeps household accumulators, or NULL. */
static const sb_layer *first_household(const sb_policyset *set, const sb_policy **pol)
{
	for (size_t i = 0; i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t v = 0; v < p->nversions; v++)
			for (uint16_t k = 0; k < p->versions[v].nlayers; k++)
				if (p->versions[v].layers[k].household) {
					*pol = p;
					return &p->versions[v].layers[k];
				}
	}
	return NULL;
}

bool sb_policyset_has_household(const sb_policyset *set)
{
	const sb_policy *p;
	return first_household(set, &p) != NULL;
}

sb_status sb_policyset_refuse_household(const sb_policyset *set, const char *who, sb_diag *d)
{
	const sb_policy *p;
	const sb_layer *l = first_household(set, &p);
	if (!l)
		return SB_OK;
	return sb_diag_set(d, SB_EPOLICY, l->src.file, l->src.line, l->src.column,
			   "layer %s of region %s accumulates over the household (scope: household "
			   "or caps.household), which %s cannot settle: it keeps accumulators per "
			   "person, so the household's other members would be left out; settle "
			   "these claims with `sanbao settle`",
			   l->id, p->region, who);
}
