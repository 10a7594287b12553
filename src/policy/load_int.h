/* load_int.h: what the policy loader's two halves share: raw layers and
 * versions (YAML nodes merged across `extends`, not yet compiled) and the
 * compile context that turns them into the model of policy_int.h. */
#ifndef SANBAO_LOAD_INT_H
#define SANBAO_LOAD_INT_H

#include "policy/policy_int.h"
#include "policy/ydoc.h"

/* Layer keys, in the order of the format; a raw layer keeps one node per
 * key so that a child's keys replace its parent's one by one. */
enum {
	SB_LK_ID, SB_LK_NAME, SB_LK_FUND_CODE, SB_LK_WHEN, SB_LK_BASE,
	SB_LK_EXCLUDE_PENALTY, SB_LK_SCOPE, SB_LK_DEDUCTIBLE, SB_LK_REPEAT,
	SB_LK_MODE, SB_LK_RATE, SB_LK_BANDS, SB_LK_CAP, SB_LK_POOL, SB_LK_ADJUST,
	SB_LK_REMOVE,
	/* format 2 */
	SB_LK_PAY_FIRST, SB_LK_DEDUCTIBLE_PER, SB_LK_CAPS, SB_LK_FLOOR, SB_LK_LUMP,
	SB_LK_AFTER, SB_LK_CONTINUITY, SB_LK_CLASSES, SB_LK_N
};
extern const char *const sb_layer_keys[];

typedef struct sb_rawlayer {
	const char *id;
	sb_ynode node; /* the child-most mapping that mentions the layer */
	sb_ynode keys[SB_LK_N];
	bool remove;
} sb_rawlayer;

/* Version keys other than layers. */
enum { SB_VK_FROM, SB_VK_SOURCE, SB_VK_YEAR_START, SB_VK_LAYERS, SB_VK_MONITORING,
       SB_VK_WAITING, SB_VK_N };

typedef struct sb_rawversion {
	sb_date from;
	sb_ynode node;
	sb_ynode keys[SB_VK_N];
	size_t nlayers;
	sb_rawlayer *layers;
} sb_rawversion;

/* Compile context: where new symbols and memory go, the identities in
 * force for the file being compiled, and where errors are reported. */
typedef struct sb_comp {
	sb_policyset *set;
	sb_arena *arena;
	sb_diag *d;
	size_t nidentities;
	const int *identities;
	const char *const *identity_names;
	int format;          /* 1 or 2 */
	const sb_policy *pol; /* statistics and disease lists, compiled first */
	/* The layers of the version compiled so far (after, above_cap_of). */
	sb_layer *layers;
	size_t nlayers;
} sb_comp;

enum { SB_V_RATE = 1, SB_V_NONE = 2 };

sb_src sb_ynode_src(sb_ynode n);
bool sb_is_word(const char *p, size_t n);
SB_MUST_USE sb_status sb_compile_enum(sb_ynode n, const char *what,
				      const char *const *names, uint8_t *out, sb_diag *d);
SB_MUST_USE sb_status sb_compile_val(sb_comp *c, sb_ynode n, const char *what, int flags,
				     sb_val *v);
SB_MUST_USE sb_status sb_compile_cond(sb_comp *c, sb_ynode n, sb_cond *cond);
SB_MUST_USE sb_status sb_compile_layer(sb_comp *c, const sb_rawlayer *raw, sb_layer *l);
SB_MUST_USE sb_status sb_compile_waiting(sb_comp *c, sb_ynode n, sb_version *ver);
/* funding.c: the file's top-level `funding` list (n == NULL when it has
 * none) laid over the parent's (pol->parent), into pol->funding. The
 * policy's versions are compiled. */
SB_MUST_USE sb_status sb_compile_funding(sb_comp *c, sb_ynode n, sb_policy *pol);
SB_MUST_USE sb_status sb_compile_rules(sb_comp *c, sb_ynode n, sb_rule **out,
				       uint16_t *nout);

#endif
