/* cmd_test.c: `sanbao test PATH...`: runs case files and folders and ends
 * with the line "N passed, N failed". */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/case.h"

int sb_cmd_test(int argc, char **argv)
{
	bool verbose = false;
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-v") || !strcmp(argv[first], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[first], "--help")) {
			printf("usage: sanbao test [-v] PATH...\n"
			       "Runs every case (case-format.md) in the files and folders given.\n"
			       "-v shows each case's details even when it passes.\n");
			return 0;
		} else {
			fprintf(stderr, "sanbao test: unknown option %s\n", argv[first]);
			return 2;
		}
	}
	if (first == argc) {
		fprintf(stderr, "usage: sanbao test [-v] PATH...\n");
		return 2;
	}
	sb_case_stats stats;
	if (sb_case_run_paths(argv + first, argc - first, stdout, verbose, &stats)) {
		fprintf(stderr, "sanbao test: out of memory\n");
		return 1;
	}
	printf("%d passed, %d failed\n", stats.passed, stats.failed);
	/* Nothing run is no pass: a wrong folder must not look green. */
	if (!stats.passed && !stats.failed) {
		fprintf(stderr, "sanbao test: no cases found in the paths given (case files are "
				"*.yaml without a top-level sanbao: key%s)\n",
			stats.skipped_files ? "; only policy files were met" : "");
		return 1;
	}
	return stats.failed ? 1 : 0;
}
