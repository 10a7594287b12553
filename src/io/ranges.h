/* ranges.h: a CSV file cut into byte ranges at line starts, one per
 * thread: the one splitter of every reader that reads a file on several
 * threads (persons.csv and claims.csv in the batch, the fund's persons and
 * settlements, the projection's settlements, the audit's extract). */
#ifndef SANBAO_IO_RANGES_H
#define SANBAO_IO_RANGES_H

#include <stdint.h>

#include "sanbao/base.h"

#define SB_RANGES_MAX 64 /* ranges at the most: bounds has SB_RANGES_MAX + 1 entries */

/* Cuts path into at most `want` (1 to SB_RANGES_MAX) byte ranges
 * [bounds[i], bounds[i+1]) at line starts after the header line, each of
 * at least min_bytes (fewer ranges when the file is small; one when it has
 * no header line in its first 64 KiB, from byte 0). *n gets the number of
 * ranges, *size the file's size; bounds has want + 1 entries. Ranges only
 * share out the work: readers join them in file order, so what they read
 * is the same for any number. */
SB_MUST_USE sb_status sb_io_ranges(const char *path, int want, int64_t min_bytes, int64_t *bounds,
				   int *n, int64_t *size, sb_diag *d);

#endif
