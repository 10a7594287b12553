/* policy.h: loading pooling-region policy files (policy-format.md, version 1)
 * into a validated, merged, dated model that settlement reads.
 *
 * A policy set owns every policy loaded into it, their parents, and the
 * symbol tables (levels, identities, tiers, layer and pool ids) that claims
 * and persons are resolved against. Loading is all or nothing: a file that
 * breaks the format is refused as a whole with file:line:column.
 */
#ifndef SANBAO_POLICY_H
#define SANBAO_POLICY_H

#include "sanbao/base.h"

/* Limits of the policy model that the loader enforces (with file:line). */
#define SB_MAX_LAYERS 32 /* layers in one version */
#define SB_MAX_BANDS 64  /* bands of one layer or adjust entry */
#define SB_MAX_ADJUST 64 /* adjust entries of one layer */

typedef struct sb_policyset sb_policyset;
typedef struct sb_policy sb_policy;
typedef struct sb_version sb_version;

/* Symbol kinds: the policy's own words that claims and persons refer to. */
typedef enum sb_symkind {
	SB_SYM_LEVEL,
	SB_SYM_IDENTITY,
	SB_SYM_TIER,
	SB_SYM_LAYER,
	SB_SYM_POOL,
	SB_SYM_RULE, /* monitoring rule ids */
	SB_SYM_CLASS, /* item classes (format 2) */
	SB_SYM_KINDS
} sb_symkind;

/* Freed by the caller with sb_policyset_free. */
SB_MUST_USE sb_status sb_policyset_new(sb_policyset **out);
void sb_policyset_free(sb_policyset *set);

/* Loads one policy file (and, through `extends`, its parents). On success
 * *out (when not NULL) is the file's policy, owned by the set. Loading the
 * same file twice returns the policy already loaded. A second file for a
 * region that already has one is an error. */
SB_MUST_USE sb_status sb_policyset_load_file(sb_policyset *set, const char *path,
					     const sb_policy **out, sb_diag *d);
/* `extends` may name only a file inside the policy folder tree: by default
 * the folder of the file given to sb_policyset_load_file (the folder given
 * to sb_policyset_load_dir; an inline policy's document folder), or, once
 * this is called, dir and everything below it. Parents are also refused
 * when they are not regular files, and a parent that is not a policy has
 * none of its text echoed in the error. */
SB_MUST_USE sb_status sb_policyset_set_root(sb_policyset *set, const char *dir,
					    sb_diag *d);
/* Loads every `*.yaml` file of dir, in name order. */
SB_MUST_USE sb_status sb_policyset_load_dir(sb_policyset *set, const char *dir,
					    sb_diag *d);

/* The policy of a 6-digit region code, or NULL. */
const sb_policy *sb_policyset_find(const sb_policyset *set, const char *code);
size_t sb_policyset_count(const sb_policyset *set);
const sb_policy *sb_policyset_at(const sb_policyset *set, size_t i);

/* Symbol id of a word (>= 0), or -1 when no loaded policy uses it. */
int sb_policyset_symbol(const sb_policyset *set, sb_symkind kind, const char *p,
			size_t n);
const char *sb_policyset_symbol_name(const sb_policyset *set, sb_symkind kind,
				     int id);
int sb_policyset_symbol_count(const sb_policyset *set, sb_symkind kind);

/* 1 when some loaded policy's `identities` list declares identity sym. */
int sb_policyset_identity_declared(const sb_policyset *set, int sym);
/* The name a clerk reads for identity sym (低保对象): the `name` of the
 * first policy in load order whose `identities` list gives it one; NULL
 * when none does. */
const char *sb_policyset_identity_label(const sb_policyset *set, int sym);

/* Layer ids in the order they first appear across the loaded policies (the
 * column order of settlements.csv). Returns the count; ids[i] are symbols. */
size_t sb_policyset_layer_order(const sb_policyset *set, const int **ids);

/* The 64-bit key of a layer or pool id (FNV-1a of its text): what
 * accumulators are keyed by. The loader refuses a set in which two distinct
 * ids of one kind have the same key. */
uint64_t sb_id_key(const char *p, size_t n);

const char *sb_policy_region(const sb_policy *p); /* "500112" */
const char *sb_policy_name(const sb_policy *p);   /* may be "" */
const char *sb_policy_path(const sb_policy *p);
/* The version in force on date, or NULL. */
const sb_version *sb_policy_version_at(const sb_policy *p, sb_date date);

/* Writes a readable summary of what the policy does, version by version, to
 * f: layers, conditions, deductibles, rates, bands, caps, adjustments,
 * monitoring rules. */
void sb_policy_describe(const sb_policyset *set, const sb_policy *p, void *file);

#endif
