/* ydoc.h: a thin layer over libyaml's document API for the strict readers
 * (policies and cases): load a file with its name kept for diagnostics,
 * walk mappings and sequences, and report a node's place as file:line:col. */
#ifndef SANBAO_YDOC_H
#define SANBAO_YDOC_H

#include <stdbool.h>
#include <yaml.h>

#include "sanbao/base.h"

typedef struct sb_ydoc {
	yaml_document_t doc;
	char *path;    /* as given, for messages */
	char *dir;     /* folder of path, for relative references */
	int loaded;
} sb_ydoc;

/* A node together with the document it lives in. */
typedef struct sb_ynode {
	sb_ydoc *doc;
	yaml_node_t *n;
} sb_ynode;

/* Reads and parses path. A YAML syntax error is SB_ESYNTAX at its place.
 * The document is freed by the caller with sb_ydoc_free. */
SB_MUST_USE sb_status sb_ydoc_load(const char *path, sb_ydoc **out, sb_diag *d);
/* The same over a caller's buffer (copied by libyaml as it parses); `name`
 * stands for the path in messages and relative references. */
SB_MUST_USE sb_status sb_ydoc_load_mem(const char *name, const char *buf, size_t n,
				       sb_ydoc **out, sb_diag *d);
void sb_ydoc_free(sb_ydoc *doc);
sb_ynode sb_ydoc_root(sb_ydoc *doc);

bool sb_ynode_is_map(sb_ynode n);
bool sb_ynode_is_seq(sb_ynode n);
bool sb_ynode_is_scalar(sb_ynode n);
/* Scalar text and its length (NULL for non-scalars). */
const char *sb_ynode_text(sb_ynode n, size_t *len);
/* 1 when the scalar equals s exactly. */
bool sb_ynode_eq(sb_ynode n, const char *s);
/* Mapping entries and sequence items. */
size_t sb_ynode_len(sb_ynode n);
sb_ynode sb_ynode_key(sb_ynode map, size_t i);
sb_ynode sb_ynode_value(sb_ynode map, size_t i);
sb_ynode sb_ynode_item(sb_ynode seq, size_t i);
/* The value for a scalar key, or a node with n == NULL. */
sb_ynode sb_ynode_get(sb_ynode map, const char *key);

/* Sets d to code at the node's place with a formatted message; returns code. */
sb_status sb_ynode_error(sb_diag *d, sb_status code, sb_ynode n, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

/* Checks that a mapping's keys are scalars, unique and among `allowed`
 * (NULL-terminated). `what` names the mapping in the message ("layer"). */
SB_MUST_USE sb_status sb_ynode_check_keys(sb_ynode map, const char *what,
					  const char *const *allowed, sb_diag *d);

/* Typed scalar readers: each refuses a non-scalar or malformed value with
 * a sentence that says what is allowed. `what` names the field. */
SB_MUST_USE sb_status sb_ynode_money(sb_ynode n, const char *what, sb_fen *out,
				     sb_diag *d);
SB_MUST_USE sb_status sb_ynode_date(sb_ynode n, const char *what, sb_date *out,
				    sb_diag *d);
SB_MUST_USE sb_status sb_ynode_bool(sb_ynode n, const char *what, bool *out,
				    sb_diag *d);
/* A rate: a decimal (at most 4 decimals) or a percent string, in [lo, hi]
 * basis points. */
SB_MUST_USE sb_status sb_ynode_bp(sb_ynode n, const char *what, int64_t lo,
				  int64_t hi, int64_t *out, sb_diag *d);

#endif
