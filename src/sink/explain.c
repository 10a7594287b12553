/* explain.c: the --explain sink: notes that the claim was found and, when
 * it is refused, says why (the core writes the settlement's steps). */
#include "sink/explain.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"

typedef struct explain {
	const sb_batch_config *cfg;
	atomic_bool found;
} explain;

static bool is_it(const explain *x, const char *id, size_t n)
{
	return x->cfg->explain_id && strlen(x->cfg->explain_id) == n &&
	       !memcmp(x->cfg->explain_id, id, n);
}

static sb_status begin(void *self, const sb_sink_env *env, sb_diag *d)
{
	(void)d;
	((explain *)self)->cfg = env->cfg;
	return SB_OK;
}

static sb_status claim(void *self, void *thr, const sb_settled *s, sb_diag *d)
{
	(void)thr, (void)d;
	if (!s->scenario && is_it(self, s->claim_id, s->claim_idlen))
		atomic_store(&((explain *)self)->found, true);
	return SB_OK;
}

static sb_status reject(void *self, void *thr, const sb_rejected *r, sb_diag *d)
{
	(void)thr, (void)d;
	explain *x = self;
	if (r->scenario || !is_it(x, r->claim_id, r->claim_idlen))
		return SB_OK; /* duplicates (scenario -1) are not explained */
	atomic_store(&x->found, true);
	if (x->cfg->explain)
		fprintf(x->cfg->explain, "  refused: %s\n", r->reason);
	return SB_OK;
}

static void release(void *self)
{
	sb_free(self);
}

static const sb_sink_ops ops = {
	.name = "explain", .begin = begin, .claim = claim, .reject = reject, .release = release,
};

sb_status sb_explain_sink_new(sb_sink *out)
{
	if (!(out->self = sb_calloc(1, sizeof(explain))))
		return SB_ENOMEM;
	out->ops = &ops;
	return SB_OK;
}

bool sb_explain_sink_found(const sb_sink *s)
{
	return atomic_load(&((explain *)s->self)->found);
}
