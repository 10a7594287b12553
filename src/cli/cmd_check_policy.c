/* cmd_check_policy.c: `sanbao check-policy FILE...`: loads policy files (or
 * folders of them), refuses a bad one with file:line:column, and prints what
 * each policy does so it can be checked against the document it cites. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sanbao/policy.h"

int sb_cmd_check_policy(int argc, char **argv)
{
	bool quiet = false;
	int first = 1;
	const char *root = NULL;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-q") || !strcmp(argv[first], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[first], "--policy-root") && first + 1 < argc) {
			root = argv[++first];
		} else if (!strcmp(argv[first], "--help")) {
			printf("usage: sanbao check-policy [-q] [--policy-root DIR] FILE|DIR...\n"
			       "Validates policy files and prints a summary of each: layers,\n"
			       "conditions, deductibles, rates, bands, caps, adjustments, by version.\n"
			       "-q prints only errors and the count of valid policies.\n"
			       "--policy-root DIR: the folder tree `extends` may reach (default:\n"
			       "the parent of each FILE's or DIR's folder).\n");
			return 0;
		} else {
			fprintf(stderr, "sanbao check-policy: unknown option %s\n", argv[first]);
			return 2;
		}
	}
	if (first == argc) {
		fprintf(stderr, "usage: sanbao check-policy [-q] FILE|DIR...\n");
		return 2;
	}
	int bad = 0, good = 0;
	for (int i = first; i < argc; i++) {
		sb_policyset *set;
		if (sb_policyset_new(&set)) {
			fprintf(stderr, "sanbao: out of memory\n");
			return 1;
		}
		struct stat st;
		sb_diag d;
		sb_diag_clear(&d);
		sb_status rc = root ? sb_policyset_set_root(set, root, &d) : SB_OK;
		if (!rc)
			rc = !stat(argv[i], &st) && S_ISDIR(st.st_mode) ?
				     sb_policyset_load_dir(set, argv[i], &d) :
				     sb_policyset_load_file(set, argv[i], NULL, &d);
		if (rc) {
			char msg[1400];
			fprintf(stderr, "%s\n", sb_diag_format(&d, msg, sizeof msg));
			bad++;
		} else {
			for (size_t j = 0; j < sb_policyset_count(set); j++) {
				if (!quiet) {
					sb_policy_describe(set, sb_policyset_at(set, j), stdout);
					putchar('\n');
				}
				good++;
			}
		}
		sb_policyset_free(set);
	}
	printf("%d polic%s valid, %d file%s refused\n", good, good == 1 ? "y" : "ies", bad,
	       bad == 1 ? "" : "s");
	return bad ? 1 : 0;
}
