/* rejects.h: the batch's rejected rows, in bounded memory.
 *
 * Rejects are kept in a buffer of at most SB_REJECT_RUN_BYTES; a full
 * buffer is sorted by (file, line) and spilled as one run to an unlinked
 * temporary file in `dir` (the batch's --tmp or --out folder; $TMPDIR or
 * /tmp when dir is NULL). sb_rejects_each visits every reject in (file,
 * line) order by a k-way merge of the runs, at most SB_REJECT_FANIN at a
 * time (more runs are first merged into longer ones), so memory is a
 * constant per run merged, whatever the number of rejects. Rejects of one
 * (file, line) come out in the order they were added.
 *
 * A zeroed sb_rejects is empty and valid. Not thread-safe: one per thread,
 * gathered with sb_pass_take_rejects.
 */
#ifndef SANBAO_BATCH_REJECTS_H
#define SANBAO_BATCH_REJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sanbao/base.h"

#define SB_REJECT_RUN_BYTES ((size_t)1 << 20)
#define SB_REJECT_FANIN 64
#define SB_REJECT_ID_MAX 64      /* longer ids are cut */
#define SB_REJECT_REASON_MAX 4096 /* longer reasons are cut */

/* One rejected row as sb_rejects_each shows it: id and reason are not
 * NUL-terminated and live until the callback returns. */
typedef struct sb_reject {
	uint8_t file;    /* 0 persons, 1 identities, 2 claims */
	bool has_total;
	uint64_t line;
	sb_fen total;
	const char *id;  /* may be empty */
	size_t idlen;
	const char *reason;
	size_t reasonlen;
} sb_reject;

typedef struct sb_reject_run {
	int fd;          /* index into fds */
	int64_t off, bytes;
	uint64_t delta;  /* added to every line of the run */
} sb_reject_run;

typedef struct sb_rejects {
	const char *dir;        /* spill folder (see above) */
	size_t run_bytes;       /* 0: SB_REJECT_RUN_BYTES (tests use less) */
	char *buf;              /* records not spilled yet */
	size_t len, cap, nbuf;
	int *fds;               /* the spill files holding runs */
	int64_t *fd_size;
	size_t nfds;
	int own;                /* fds index + 1 of the file this object appends to */
	sb_reject_run *runs;
	size_t nruns, capruns;
	size_t n;               /* rejects in all */
	long long count[3];     /* by file */
	int err;                /* errno of a failed spill */
} sb_rejects;

/* Sets the spill folder of a (zeroed or empty) sb_rejects. */
void sb_rejects_init(sb_rejects *r, const char *dir);
SB_MUST_USE sb_status sb_rejects_add(sb_rejects *r, int file, uint64_t line, const char *id,
				     size_t idlen, const char *reason, bool has_total,
				     sb_fen total);
/* Adds delta (mod 2^64) to the line of every reject added so far: pass 1
 * records a chunk's lines relative to the chunk and resolves them once the
 * chunks' first lines are known. The order within r must not change by it
 * (all its lines share one chunk). */
void sb_rejects_offset_lines(sb_rejects *r, uint64_t delta);
/* Calls fn on every reject in (file, line) order; stops at fn's first
 * error. SB_EIO with d set when a spill file could not be written (by
 * sb_rejects_add, which then kept the rejects in memory) or read back. */
SB_MUST_USE sb_status sb_rejects_each(sb_rejects *r,
				      sb_status (*fn)(void *arg, const sb_reject *x), void *arg,
				      sb_diag *d);
void sb_rejects_release(sb_rejects *r);
/* Copies s[0..n) to out (n bytes, no NUL) with every resident-ID-shaped
 * token masked as sb_id_mask does (110105********0025): 17 digits and a
 * digit or X/x, with no digit just before or after. The last line of
 * defence of human-facing text (rejects.csv) against a reason that echoes a
 * field holding an ID. Returns the number of tokens masked. */
size_t sb_mask_id_tokens(const char *s, size_t n, char *out);
/* Moves every reject of from into into; from is left empty. */
SB_MUST_USE sb_status sb_pass_take_rejects(sb_rejects *into, sb_rejects *from);

#endif
