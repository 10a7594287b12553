/* sort.h: a stable radix sort of (64-bit key, pointer) pairs, for the
 * batch's large sorts (claims by person and day, events by household and
 * day), where a comparison sort through pointers misses the cache on every
 * comparison. Callers break ties between equal keys themselves. */
#ifndef SANBAO_SORT_H
#define SANBAO_SORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_keyed {
	uint64_t key;
	const void *p;
} sb_keyed;

/* Sorts a[0..n) by key, stably, 12 bits a pass and only as many passes as
 * the largest key needs; tmp is scratch of n entries. Returns whichever of
 * a and tmp holds the result. */
sb_keyed *sb_radix_sort(sb_keyed *a, sb_keyed *tmp, size_t n);

/* Bits needed for values 0..max: keys packed as (major << bits | minor)
 * with minor in 0..max keep the radix sort to as few passes as possible. */
unsigned sb_bits_for(uint64_t max);

#endif
