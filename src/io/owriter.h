/* owriter.h: one output file written by a thread of its own, in the order
 * its pieces are handed over, so that the threads that format the pieces
 * never wait for the disk.
 *
 * Where the file system allows it, the file is written with O_DIRECT: the
 * pieces are copied into one aligned block buffer (8 MiB) and written from
 * it, so the kernel neither copies them into fresh page-cache pages nor
 * keeps dirty pages for the final fsync to wait for (on the bench's
 * province that copy was a fifth of the run's CPU time). The last partial
 * block goes through the page cache. Elsewhere (tmpfs refuses O_DIRECT, or
 * SANBAO_DIRECT_IO=0 in the environment of `sanbao settle`) the pieces
 * are written as they are, with pwrite. The bytes of the file are the same
 * either way. */
#ifndef SANBAO_IO_OWRITER_H
#define SANBAO_IO_OWRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "io/outfile.h"

typedef struct sb_owriter sb_owriter;

/* Called on the writer's thread when a piece has been written, or will
 * never be (after an error, or sb_owriter_free): the piece's memory goes
 * back to its owner. */
typedef void (*sb_owriter_done_fn)(void *ctx, void *piece);

/* Takes over the stream f of od (sb_outdir_take): what was written to f
 * stays, and from now on f's bytes come only through *out. direct asks for
 * O_DIRECT (taken when the file system allows it). At most `queued`
 * pieces wait besides the one being written (sb_owriter_put blocks past
 * that): that bounds the memory the pieces hold. *out is freed by
 * sb_owriter_finish or sb_owriter_free; f is still finished with
 * sb_outdir_finish, after them. */
SB_MUST_USE sb_status sb_owriter_new(sb_outdir *od, FILE *f, bool direct, int queued,
				     sb_owriter_done_fn done, void *ctx, sb_owriter **out,
				     sb_diag *d);
/* Queues the n bytes at p, which stay valid until done(ctx, piece). On
 * the first write error so far it returns that error (named like
 * sb_outdir_write's: "cannot write: ..." on the file's path) and hands
 * the piece to done at once. */
SB_MUST_USE sb_status sb_owriter_put(sb_owriter *w, const void *p, size_t n, void *piece,
				     sb_diag *d);
/* Waits for every queued piece, writes the last block, stops the thread
 * and frees w: the first write error, if any. */
SB_MUST_USE sb_status sb_owriter_finish(sb_owriter *w, sb_diag *d);
/* Stops the thread (pieces not yet written are handed to done unwritten)
 * and frees w; NULL is fine. */
void sb_owriter_free(sb_owriter *w);
/* Whether the file is being written with O_DIRECT. */
bool sb_owriter_direct(const sb_owriter *w);

#endif
