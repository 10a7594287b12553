/* obuf.c: the partition output buffer. */
#include "sink/obuf.h"

#include <string.h>

#include "base/arena.h"

bool sb_obuf_reserve(sb_obuf *o, size_t more)
{
	if (o->failed)
		return false;
	if (o->n + more <= o->cap)
		return true;
	if (more > SB_OBUF_MAX || o->n + more > SB_OBUF_MAX) {
		o->failed = true;
		return false;
	}
	size_t cap = o->cap ? o->cap * 2 : (size_t)1 << 20;
	while (cap < o->n + more)
		cap *= 2;
	char *p = sb_realloc(o->p, cap);
	if (!p) {
		o->failed = true;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

void sb_obuf_bytes(sb_obuf *o, const char *s, size_t n)
{
	if (!sb_obuf_reserve(o, n))
		return;
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

void sb_obuf_fen(sb_obuf *o, sb_fen v)
{
	char buf[32];
	sb_obuf_bytes(o, buf, (size_t)(sb_fen_put(buf, v) - buf));
}

/* The bytes that make a CSV field need quotes. */
static const unsigned char needs_quote[256] = {['\n'] = 1, ['\r'] = 1, ['"'] = 1, [','] = 1};

void sb_obuf_field(sb_obuf *o, const char *s, size_t n)
{
	unsigned quote = 0;
	for (size_t i = 0; i < n; i++)
		quote |= needs_quote[(unsigned char)s[i]];
	if (!quote) {
		sb_obuf_bytes(o, s, n);
		return;
	}
	sb_obuf_bytes(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			sb_obuf_bytes(o, "\"", 1);
		sb_obuf_bytes(o, s + i, 1);
	}
	sb_obuf_bytes(o, "\"", 1);
}

void sb_obuf_release(sb_obuf *o)
{
	sb_free(o->p);
	memset(o, 0, sizeof *o);
}
