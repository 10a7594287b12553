/* explain.c: the --explain sink: renders the explained claim's trace (the
 * core records the steps as data; sanbao/explain.h renders them) and notes
 * that the claim was found. */
#include "sink/explain.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "sanbao/explain.h"

typedef struct explain {
	const sb_batch_config *cfg;
	const sb_policyset *set; /* scenario 0's */
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
	((explain *)self)->set = env->sets[0];
	return SB_OK;
}

static sb_status claim(void *self, void *thr, const sb_settled *s, sb_diag *d)
{
	(void)thr, (void)d;
	explain *x = self;
	if (s->scenario || !is_it(x, s->claim_id, s->claim_idlen))
		return SB_OK;
	atomic_store(&x->found, true);
	if (x->cfg->explain && s->trace)
		sb_explain_text(x->cfg->explain, s->set, s->trace);
	return SB_OK;
}

static sb_status reject(void *self, void *thr, const sb_rejected *r, sb_diag *d)
{
	(void)thr, (void)d;
	explain *x = self;
	if (r->scenario || !is_it(x, r->claim_id, r->claim_idlen))
		return SB_OK; /* duplicates (scenario -1) are not explained */
	atomic_store(&x->found, true);
	if (!x->cfg->explain)
		return SB_OK;
	if (r->trace) /* it ends with the refusal */
		sb_explain_text(x->cfg->explain, x->set, r->trace);
	else
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
