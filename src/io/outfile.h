/* outfile.h: output files that are complete or absent.
 *
 * A run's outputs are written under hidden temporary names in the output
 * folder (".sanbao-tmp-<pid>-<n>-<name>") and renamed onto their names only
 * when the whole run has succeeded: a killed or failed run leaves the
 * previous outputs as they were, never a cut-off file beside an old
 * summary. Every write, the flush, fsync and close are checked; a failure
 * (a full disk: ENOSPC) is an error that names the file.
 *
 * sb_outdir is a run's output folder: created when missing and locked
 * (flock on DIR/.sanbao.lock) for as long as the run writes, so that a
 * second run into the same folder is refused, not interleaved. Its files
 * are committed together: the last file created is the run's marker
 * (summary.json, monitor.json, roster_summary.json). Commit removes the old
 * marker first, renames the other files, removes the stale outputs of the
 * same run kind, and renames the marker last: when the marker is present,
 * every output beside it is from the same complete run.
 *
 * Not thread-safe, except sb_outdir_write, which callers may use from
 * several threads on different files (or under their own lock).
 */
#ifndef SANBAO_IO_OUTFILE_H
#define SANBAO_IO_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "sanbao/base.h"

#define SB_OUTDIR_MAX_FILES 48 /* 6 outputs and 2 per scenario (SB_MAX_SCENARIOS 16) */

/* ---- one file ------------------------------------------------------- */

typedef struct sb_outfile sb_outfile;

/* Creates DIR/.sanbao-tmp-...-NAME, open for writing. */
SB_MUST_USE sb_status sb_outfile_open(const char *dir, const char *name, sb_outfile **out,
				      sb_diag *d);
/* The stream to write to (NULL once finished). */
FILE *sb_outfile_stream(const sb_outfile *f);
/* The final path, DIR/NAME. */
const char *sb_outfile_path(const sb_outfile *f);
/* fwrite with the error named: "cannot write DIR/NAME: No space left on device". */
SB_MUST_USE sb_status sb_outfile_write(sb_outfile *f, const void *p, size_t n, sb_diag *d);
/* Flushes, checks the stream's error flag, fsyncs and closes: the file is
 * complete under its temporary name. Idempotent. */
SB_MUST_USE sb_status sb_outfile_finish(sb_outfile *f, sb_diag *d);
/* Finishes when not yet finished, then renames onto DIR/NAME and frees f
 * (also on failure, after removing the temporary file). */
SB_MUST_USE sb_status sb_outfile_commit(sb_outfile *f, sb_diag *d);
/* Closes, removes the temporary file and frees f; NULL is fine. */
void sb_outfile_abort(sb_outfile *f);

/* ---- a run's output folder --------------------------------------------- */

typedef struct sb_outdir sb_outdir;

/* Creates dir (and missing parents), takes its lock and removes temporary
 * files that a killed run left. SB_EIO "another sanbao run is writing to
 * DIR" when the lock is held. */
SB_MUST_USE sb_status sb_outdir_open(const char *dir, sb_outdir **out, sb_diag *d);
const char *sb_outdir_path(const sb_outdir *od);
/* A new output file of the run, as a stream; NULL with d set on failure.
 * The stream belongs to od: finish it with sb_outdir_finish, never fclose. */
FILE *sb_outdir_create(sb_outdir *od, const char *name, sb_diag *d);
/* fwrite to one of od's streams, the error naming its file. */
SB_MUST_USE sb_status sb_outdir_write(sb_outdir *od, FILE *f, const void *p, size_t n,
				      sb_diag *d);
/* For a writer that writes one of od's streams itself (io/owriter.h): the
 * stream flushed, its file descriptor (borrowed: still closed by
 * sb_outdir_finish), its temporary path (where to open the file again, for
 * O_DIRECT), its final path (to name it in errors) and the bytes written
 * so far. The stream must not be written through again; finish it with
 * sb_outdir_finish as usual. */
SB_MUST_USE sb_status sb_outdir_take(sb_outdir *od, FILE *f, int *fd, const char **tmp,
				     const char **path, long long *written, sb_diag *d);
/* sb_outfile_finish on one of od's streams (NULL is fine). */
SB_MUST_USE sb_status sb_outdir_finish(sb_outdir *od, FILE *f, sb_diag *d);
/* Finishes every file and commits them together, the last created last
 * (see above); `stale` (NULL-terminated, may be NULL) are the names of the
 * run kind's outputs that this run did not write: removed when present. */
SB_MUST_USE sb_status sb_outdir_commit(sb_outdir *od, const char *const *stale, sb_diag *d);
/* Removes every file not committed, releases the lock and frees od; NULL
 * is fine. */
void sb_outdir_close(sb_outdir *od);

/* ---- inputs that are outputs ---------------------------------------------- */

/* SB_EINPUT when the input at `path` (a file, or a policy folder whose
 * *.yaml files are checked), described as `what` ("the claims file"), is the same file
 * (device and inode) as DIR/NAME for a name in `writes` or `removes`
 * (NULL-terminated; either may be NULL): the run would overwrite or remove
 * its own input. A missing path is not refused here. */
SB_MUST_USE sb_status sb_out_refuse_input(const char *dir, const char *const *writes,
					  const char *const *removes, const char *what,
					  const char *path, sb_diag *d);

#endif
