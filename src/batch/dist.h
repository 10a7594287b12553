/* dist.h: the hooks a distributed run (src/mpi: `sanbao settle --mpi`)
 * sets in sb_batch_config.dist so that one rank's batch over its share of
 * the inputs writes what the whole run would: the inputs' names as the
 * user gave them, the global line of each local row, the duplicate claim
 * ids found across ranks, and the run's sums reduced across ranks before
 * summary.json is written. NULL in every other run. */
#ifndef SANBAO_BATCH_DIST_H
#define SANBAO_BATCH_DIST_H

#include "batch/pass_int.h"

/* The person and identity counts of summary.json. */
typedef struct sb_batch_counts {
	long long person_rows, enrolled, persons_rejected;
	long long identity_rows, identities_loaded, identities_rejected;
} sb_batch_counts;

typedef struct sb_batch_dist {
	/* The inputs as named by the user (rejects.csv, summary.json). */
	const char *persons_path, *identities_path, *claims_path;
	/* lines[f][i]: the global line of local data row i (local line i + 2)
	 * of persons (0), identities (1), claims (2); NULL: lines are global. */
	const uint64_t *lines[3];
	size_t nlines[3];
	/* The duplicate claim ids of this rank's rows, found across ranks:
	 * local line, global line of the first; sorted by line. They replace
	 * the batch's own duplicate check. */
	const sb_dup *dups;
	size_t ndups;
	/* Called after pass 2, before the totals and summary.json: replaces
	 * the counts and sums with the run's (every rank calls it). extra
	 * (cap bytes) gets more members for summary.json's "run" object
	 * (`"mpi": {...}`), or stays empty. */
	sb_status (*reduce)(void *arg, const sb_batch *b, sb_batch_counts *c, sb_pass1_result *p1,
			    sb_pass2_result *p2, const double stage[4], char *extra, size_t cap,
			    sb_diag *d);
	/* The monitor's (src/monitor/monitor_sink.c) reduction, before it
	 * renders monitor.json: sums v[0..n) across ranks in place; replaces
	 * years[0..*n) (sorted) by the sorted union of every rank's, at most
	 * cap. */
	sb_status (*sum)(void *arg, long long *v, size_t n, sb_diag *d);
	sb_status (*years)(void *arg, int *years, int *n, int cap, sb_diag *d);
	void *arg;
} sb_batch_dist;

/* A local line as the run's outputs name it. */
static inline uint64_t sb_dist_line(const sb_batch_config *cfg, int file, uint64_t line)
{
	const sb_batch_dist *x = cfg->dist;
	if (!x || file < 0 || file > 2 || !x->lines[file] || line < 2 ||
	    line - 2 >= x->nlines[file])
		return line;
	return x->lines[file][line - 2];
}

#endif
