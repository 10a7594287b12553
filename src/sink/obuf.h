/* obuf.h: a growable output buffer for one partition's rows, formatted by
 * hand (no printf on the hot path) and written out in partition order. */
#ifndef SANBAO_OBUF_H
#define SANBAO_OBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "sanbao/base.h"

/* A partition's output is bounded by its input (a partition is a share of
 * claims.csv) and, whatever the input, by this limit: past it the buffer
 * fails (failed = true) and the run fails with SB_ENOMEM. */
#define SB_OBUF_MAX ((size_t)8 << 30)

typedef struct sb_obuf {
	char *p;
	size_t n, cap;
	bool failed; /* an allocation failed; the buffer is incomplete */
} sb_obuf;

/* Amounts are written with sb_fen_put (sanbao/base.h). */
/* Room for more bytes at o->p + o->n; false (and o->failed) when none. */
bool sb_obuf_reserve(sb_obuf *o, size_t more);
void sb_obuf_bytes(sb_obuf *o, const char *s, size_t n);
void sb_obuf_fen(sb_obuf *o, sb_fen v);
/* A CSV field, quoted when it holds a comma, quote, CR or LF. */
void sb_obuf_field(sb_obuf *o, const char *s, size_t n);
void sb_obuf_release(sb_obuf *o);

#endif
