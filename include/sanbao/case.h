/* case.h: the case runner of case-format.md: small settlement stories with
 * their expected results, run by `sanbao test`. */
#ifndef SANBAO_CASE_H
#define SANBAO_CASE_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/base.h"

typedef struct sb_case_stats {
	int passed;
	int failed;
	int skipped_files; /* policy files met while walking folders */
} sb_case_stats;

/* Runs every case in the files and folders given (folders recursively, in
 * name order, `*.yaml`; a YAML file that is a policy, with a top-level
 * `sanbao:` key, is passed over). Writes one line per case to out, and for
 * a failure the case, the claim, the expected and the actual split. A file
 * that cannot be read counts as one failed case. Never fails itself except
 * for lack of memory. */
SB_MUST_USE sb_status sb_case_run_paths(char *const *paths, int n, FILE *out,
					bool verbose, sb_case_stats *stats);

#endif
