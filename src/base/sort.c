/* sort.c: LSD radix sort of keyed pointers (see sort.h). */
#include "base/sort.h"

#include <string.h>

unsigned sb_bits_for(uint64_t max)
{
	unsigned bits = 0;
	while (bits < 64 && (max >> bits))
		bits++;
	return bits;
}

sb_keyed *sb_radix_sort(sb_keyed *a, sb_keyed *tmp, size_t n)
{
	uint64_t maxkey = 0;
	for (size_t i = 0; i < n; i++)
		if (a[i].key > maxkey)
			maxkey = a[i].key;
	size_t count[1 << 12];
	for (unsigned shift = 0; shift < 64 && (maxkey >> shift); shift += 12) {
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++)
			count[a[i].key >> shift & 0xfff]++;
		size_t sum = 0;
		for (size_t k = 0; k < (1 << 12); k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[a[i].key >> shift & 0xfff]++] = a[i];
		sb_keyed *t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}
