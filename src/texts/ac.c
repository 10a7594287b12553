/* ac.c: an Aho–Corasick automaton over bytes, for matching a frame's
 * hundreds of terms against each clause in one pass. Written here because
 * Debian packages no maintained C library for it (`apt-cache search aho`
 * offers Python's and Rust's only); bytes rather than code points suffice
 * because UTF-8 is self-synchronising: a pattern that starts with a lead
 * byte can only match at a character boundary.
 *
 * The automaton is a full DFA (256 transitions per state), built once per
 * frame; a frame's few thousand states cost a few megabytes. */
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "texts/texts_int.h"

typedef struct ac_out {
	int id;
	int next; /* next output of the same state, -1 at the end */
} ac_out;

struct sb_ac {
	int32_t *delta; /* nstates x 256; during adds, 0 = no edge */
	int32_t *fail;
	int32_t *out;   /* first output index per state, -1 when none */
	int32_t *dict;  /* nearest state on the failure chain with output, -1 */
	size_t nstates, capstates;
	ac_out *outs;
	size_t nouts, capouts;
	int built;
};

static int grow_states(sb_ac *ac)
{
	if (ac->nstates < ac->capstates)
		return 0;
	size_t cap = ac->capstates ? ac->capstates * 2 : 256;
	if (cap > SB_AC_MAX_STATES)
		cap = SB_AC_MAX_STATES;
	if (ac->nstates >= cap)
		return -2;
	int32_t *d = sb_realloc(ac->delta, cap * 256 * sizeof *d);
	if (!d)
		return -1;
	ac->delta = d;
	int32_t *o = sb_realloc(ac->out, cap * sizeof *o);
	if (!o)
		return -1;
	ac->out = o;
	ac->capstates = cap;
	return 0;
}

static int32_t new_state(sb_ac *ac)
{
	int32_t s = (int32_t)ac->nstates++;
	memset(ac->delta + (size_t)s * 256, 0, 256 * sizeof *ac->delta);
	ac->out[s] = -1;
	return s;
}

sb_ac *sb_ac_new(void)
{
	sb_ac *ac = sb_calloc(1, sizeof *ac);
	if (!ac)
		return NULL;
	if (grow_states(ac)) {
		sb_ac_free(ac);
		return NULL;
	}
	new_state(ac);
	return ac;
}

void sb_ac_free(sb_ac *ac)
{
	if (!ac)
		return;
	sb_free(ac->delta);
	sb_free(ac->fail);
	sb_free(ac->out);
	sb_free(ac->dict);
	sb_free(ac->outs);
	sb_free(ac);
}

sb_status sb_ac_add(sb_ac *ac, const char *p, size_t n, int id)
{
	if (ac->built || n == 0)
		return SB_EINPUT;
	int32_t s = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int32_t t = ac->delta[(size_t)s * 256 + c];
		if (!t) {
			int g = grow_states(ac);
			if (g)
				return g == -2 ? SB_ELIMIT : SB_ENOMEM;
			t = new_state(ac);
			ac->delta[(size_t)s * 256 + c] = t;
		}
		s = t;
	}
	if (ac->nouts == ac->capouts) {
		size_t cap = ac->capouts ? ac->capouts * 2 : 64;
		ac_out *o = sb_realloc(ac->outs, cap * sizeof *o);
		if (!o)
			return SB_ENOMEM;
		ac->outs = o;
		ac->capouts = cap;
	}
	/* Appended at the end of the state's list so ids keep their order. */
	int k = (int)ac->nouts++;
	ac->outs[k].id = id;
	ac->outs[k].next = -1;
	if (ac->out[s] < 0) {
		ac->out[s] = k;
	} else {
		int j = ac->out[s];
		while (ac->outs[j].next >= 0)
			j = ac->outs[j].next;
		ac->outs[j].next = k;
	}
	return SB_OK;
}

sb_status sb_ac_build(sb_ac *ac)
{
	if (ac->built)
		return SB_OK;
	size_t ns = ac->nstates;
	int32_t *queue = sb_malloc(ns * sizeof *queue);
	ac->fail = sb_calloc(ns, sizeof *ac->fail);
	ac->dict = sb_malloc(ns * sizeof *ac->dict);
	if (!queue || !ac->fail || !ac->dict) {
		sb_free(queue);
		return SB_ENOMEM;
	}
	size_t head = 0, tail = 0;
	ac->dict[0] = -1;
	for (int c = 0; c < 256; c++) {
		int32_t t = ac->delta[c];
		if (t) {
			ac->fail[t] = 0;
			ac->dict[t] = -1;
			queue[tail++] = t;
		}
	}
	/* Breadth first, so a state's failure target is complete before it is
	 * used; a missing edge becomes the failure target's edge. */
	while (head < tail) {
		int32_t s = queue[head++];
		int32_t *row = ac->delta + (size_t)s * 256;
		const int32_t *frow = ac->delta + (size_t)ac->fail[s] * 256;
		for (int c = 0; c < 256; c++) {
			int32_t t = row[c];
			if (t) {
				int32_t f = frow[c];
				ac->fail[t] = f;
				ac->dict[t] = ac->out[f] >= 0 ? f : ac->dict[f];
				queue[tail++] = t;
			} else {
				row[c] = frow[c];
			}
		}
	}
	sb_free(queue);
	ac->built = 1;
	return SB_OK;
}

void sb_ac_scan(const sb_ac *ac, const char *text, size_t n,
		void (*hit)(void *ctx, int id, size_t end), void *ctx)
{
	if (!ac->built)
		return;
	int32_t s = 0;
	for (size_t i = 0; i < n; i++) {
		s = ac->delta[(size_t)s * 256 + (unsigned char)text[i]];
		for (int32_t t = ac->out[s] >= 0 ? s : ac->dict[s]; t >= 0; t = ac->dict[t])
			for (int k = ac->out[t]; k >= 0; k = ac->outs[k].next)
				hit(ctx, ac->outs[k].id, i + 1);
	}
}
