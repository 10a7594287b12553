/* sink.c: what every sink may use of a settled claim. */
#include "sink/sink.h"

#include "policy/policy_int.h"

int sb_settled_pool(const sb_settled *s, int i)
{
	const sb_version *v = s->res->version;
	int sym = s->res->layer[i].sym;
	for (uint16_t k = 0; k < v->nlayers; k++)
		if (v->layers[k].sym == sym)
			return v->layers[k].pool;
	return -1;
}
