/* report.h: `sanbao report`: one self-contained HTML file from the outputs
 * of settle (summary.json, monitor.json) and compare (compare.json).
 *
 * The page carries everything inline: its style sheet, the charting
 * library (Apache ECharts, from the pinned npm package), the page's script
 * and the inputs' JSON, so it opens offline. Each input is checked to be
 * JSON (a bad one is refused with file:line:column) and every
 * resident-ID-shaped token in it is masked before it goes into the page.
 * The file is written atomically (complete or absent).
 */
#ifndef SANBAO_REPORT_H
#define SANBAO_REPORT_H

#include <stddef.h>

#include "sanbao/base.h"

#define SB_REPORT_MAX_INPUTS 8

typedef struct sb_report_config {
	const char *in[SB_REPORT_MAX_INPUTS]; /* output folders of settle / compare */
	int nin;
	const char *out;    /* FILE.html */
	const char *assets; /* folder with app.js, style.css and
			     * node_modules/echarts/dist/echarts.min.js */
	const char *title;  /* optional */
} sb_report_config;

typedef struct sb_report_stats {
	int files;      /* JSON files put in the page */
	size_t bytes;   /* of the page */
	size_t masked;  /* ID-shaped tokens masked */
} sb_report_stats;

SB_MUST_USE sb_status sb_report_write(const sb_report_config *cfg, sb_report_stats *st,
				      sb_diag *d);

/* Checks that p[0..n) is one JSON value (RFC 8259); SB_EINPUT with
 * file:line:column and what was expected. */
SB_MUST_USE sb_status sb_report_json_check(const char *file, const char *p, size_t n,
					   sb_diag *d);

#endif
