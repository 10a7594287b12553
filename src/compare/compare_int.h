/* compare_int.h: what the compare sink's files share. */
#ifndef SANBAO_COMPARE_INT_H
#define SANBAO_COMPARE_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "compare/compare.h"

/* A JSON string (quotes and escapes). */
void sb_compare_jstr(FILE *f, const char *p);

/* Scenario k's "monitoring" object (diff: reform k - baseline) from the
 * monitor sink's counts, or null without a monitor sink: SB_ENOMEM when an
 * allocation fails (the object is then incomplete). */
SB_MUST_USE sb_status sb_compare_monitoring_json(FILE *f, const sb_sink *monitor, int k,
						 bool diff);

#endif
