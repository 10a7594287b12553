/* obuf.h: a growable output buffer for one partition's rows, formatted by
 * hand (no printf on the hot path) and written out in partition order. */
#ifndef SANBAO_OBUF_H
#define SANBAO_OBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "sanbao/base.h"

typedef struct sb_obuf {
	char *p;
	size_t n, cap;
	bool failed; /* an allocation failed; the buffer is incomplete */
} sb_obuf;

/* Amounts are written with sb_fen_put (sanbao/base.h). */
void sb_obuf_bytes(sb_obuf *o, const char *s, size_t n);
void sb_obuf_fen(sb_obuf *o, sb_fen v);
/* A CSV field, quoted when it holds a comma, quote, CR or LF. */
void sb_obuf_field(sb_obuf *o, const char *s, size_t n);
void sb_obuf_release(sb_obuf *o);

#endif
