/* cmd_pseudonymize.c: `sanbao pseudonymize`: a copy of a CSV file with its
 * resident IDs replaced by keyed pseudonyms, so that two departments holding
 * one key can match records without exchanging IDs (可用不可见). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "sanbao/roster.h"

static const char usage_text[] =
	"usage: sanbao pseudonymize --key FILE [--hash sm3|sha256] [--columns a,b]\n"
	"                           [--show-ids] IN.csv OUT.csv\n"
	"Copies IN.csv to OUT.csv with every resident ID replaced by \"PS\" and 16 hex\n"
	"digits: the start of HMAC(key, ID), over SM3 (国密, default) or SHA-256. Both\n"
	"departments compute the same pseudonym with the same key file, so `sanbao\n"
	"roster` and `sanbao monitor` give the same findings on pseudonymised files.\n"
	"  --key FILE       the shared key: the file's bytes as they are, except that one\n"
	"                   line ending at the very end (LF or CR LF) is not part of it;\n"
	"                   at least 16 bytes (e.g. `head -c 32 /dev/urandom > shared.key`)\n"
	"  --hash H         sm3 (default) or sha256; both sides must use the same\n"
	"  --columns a,b    the ID columns (default: person, certno, psn_no, and id when\n"
	"                   any of its values is shaped like an ID: a claim id is left)\n"
	"  --show-ids       print invalid IDs whole in the report (masked by default)\n"
	"In an ID column, a value that is not a valid ID (a wrong check digit, a blank,\n"
	"a lower-case x, a digit short) is never written as it is: it becomes \"PSX\" and\n"
	"16 hex digits of its HMAC, which no reader takes for a person, and is listed\n"
	"on stderr with its line. Values shaped like IDs in other columns (e.g.\n"
	"guardian_certno, sfzh) are carried and warned of: name them with --columns.\n"
	"IN.csv must be a regular file (it is read twice).\n";

int sb_cmd_pseudonymize(int argc, char **argv)
{
	const char *key_path = NULL, *columns = NULL, *in = NULL, *out = NULL;
	sb_pseudo_hash hash = SB_PSEUDO_SM3;
	bool show_ids = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--show-ids")) {
			show_ids = true;
		} else if (!strcmp(a, "--key") && v) {
			key_path = v;
			i++;
		} else if (!strcmp(a, "--columns") && v) {
			columns = v;
			i++;
		} else if (!strcmp(a, "--hash") && v) {
			if (!strcmp(v, "sm3")) {
				hash = SB_PSEUDO_SM3;
			} else if (!strcmp(v, "sha256")) {
				hash = SB_PSEUDO_SHA256;
			} else {
				fprintf(stderr, "sanbao pseudonymize: --hash is sm3 or sha256, not \"%s\"\n",
					v);
				return 2;
			}
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "sanbao pseudonymize: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			return 2;
		} else if (!in) {
			in = a;
		} else if (!out) {
			out = a;
		} else {
			fprintf(stderr, "sanbao pseudonymize: one input and one output file, please\n\n%s",
				usage_text);
			return 2;
		}
	}
	if (!key_path || !in || !out) {
		fprintf(stderr, "sanbao pseudonymize: %s\n\n%s",
			!key_path ? "--key is required" : "IN.csv and OUT.csv are required",
			usage_text);
		return 2;
	}
	sb_diag d;
	sb_pseudonymizer *p;
	char msg[1400];

	sb_diag_clear(&d);
	if (sb_pseudonymizer_new_from_file(hash, key_path, &p, &d)) {
		fprintf(stderr, "sanbao pseudonymize: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sb_pseudo_stats st;
	sb_status rc = sb_pseudonymizer_file(p, in, out, columns, show_ids, stderr, &st, &d);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	sb_pseudonymizer_free(p);
	if (rc) {
		fprintf(stderr, "sanbao pseudonymize: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	if (!st.ncolumns)
		fprintf(stderr, "sanbao pseudonymize: %s has no ID column (person, certno, psn_no, "
				"or id holding resident IDs): the copy is unchanged; name them with "
				"--columns\n", in);
	if (st.shaped)
		fprintf(stderr, "sanbao pseudonymize: warning: %lld values shaped like resident IDs "
				"in column%s %s (first on line %ld) are carried as they are: if they "
				"are IDs, name the column%s with --columns (with the ID columns) to "
				"replace them\n",
			st.shaped, strchr(st.shaped_columns, ',') ? "s" : "", st.shaped_columns,
			st.shaped_line, strchr(st.shaped_columns, ',') ? "s" : "");
	printf("sanbao pseudonymize: %lld rows, %lld IDs replaced in [%s] (HMAC-%s, %.2f s), "
	       "%lld already pseudonyms, %lld invalid IDs replaced by PSX markers, %lld rows not "
	       "carried\n",
	       st.rows, st.replaced, st.columns, hash == SB_PSEUDO_SHA256 ? "SHA256" : "SM3", secs,
	       st.kept, st.invalid, st.dropped);
	return st.dropped ? 1 : 0;
}
