/* cmd_compare.c: `sanbao compare`: the same claims settled under a baseline
 * and one or more reforms in one pass; compare.json, persons_changed.csv and
 * compare.txt (the headline, printed) beside each scenario's settlements. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/batch.h"

static const char usage_text[] =
	"usage: sanbao compare --baseline DIR --reform DIR [--reform DIR ...] --persons F\n"
	"                      [--identities F] --claims F --out DIR [--poverty-line YUAN]\n"
	"                      [--settlements] [--explain CLAIM_ID] [--threads N] [--tmp DIR]\n"
	"                      [--policy-root DIR] [--show-ids] [--quiet]\n"
	"Settles every claim under the baseline's policies and each reform's in one pass\n"
	"and writes into --out: compare.json (money by layer, fund code, region, scheme,\n"
	"visit and identity; effective and in-scope rates; catastrophic and impoverishing\n"
	"spending; winners and losers by income decile, region and identity; regional\n"
	"disparity), persons_changed.csv (IDs masked unless --show-ids), compare.txt (the\n"
	"headline printed here), summary.json and rejects.csv (the baseline's) and\n"
	"scenario-<k>-summary.json (reform k's).\n"
	"  --settlements        also write every scenario's settled claims: settlements.csv\n"
	"                       (the baseline's) and scenario-<k>-settlements.csv\n"
	"  --poverty-line YUAN  per person per year: households pushed below it count as\n"
	"                       impoverished by out-of-pocket spending\n"
	"  --explain ID         print that claim's baseline settlement step by step; its\n"
	"                       JSON goes into compare.json (\"explained\") for the report\n"
	"  --policy-root DIR    what `extends` may reach (default: each folder's parent)\n"
	"  --threads N          worker threads (default: one per core)\n"
	"  --tmp DIR            folder for spill files (default: --out)\n";

int sb_cmd_compare(int argc, char **argv)
{
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.progress = sb_cli_progress;
	cfg.compare = true;
	cfg.no_settlements = true;
	const char *reforms[SB_MAX_SCENARIOS];
	int nreforms = 0;
	bool quiet = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--baseline") && v) {
			cfg.policies_dir = v;
		} else if (!strcmp(a, "--reform") && v) {
			if (nreforms == SB_MAX_SCENARIOS - 1) {
				fprintf(stderr, "sanbao compare: at most %d reforms in one run\n",
					SB_MAX_SCENARIOS - 1);
				return 2;
			}
			reforms[nreforms++] = v;
		} else if (!strcmp(a, "--persons") && v) {
			cfg.persons_path = v;
		} else if (!strcmp(a, "--identities") && v) {
			cfg.identities_path = v;
		} else if (!strcmp(a, "--claims") && v) {
			cfg.claims_path = v;
		} else if (!strcmp(a, "--out") && v) {
			cfg.out_dir = v;
		} else if (!strcmp(a, "--policy-root") && v) {
			cfg.policy_root = v;
		} else if (!strcmp(a, "--explain") && v) {
			cfg.explain_id = v;
			cfg.explain = stdout;
		} else if (!strcmp(a, "--tmp") && v) {
			cfg.tmp_dir = v;
		} else if (!strcmp(a, "--threads") && v) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*end || n < 1 || n > 64) {
				fprintf(stderr, "sanbao compare: --threads takes a number from 1 to 64\n");
				return 2;
			}
			cfg.threads = (int)n;
		} else if (!strcmp(a, "--poverty-line") && v) {
			const char *why;
			if (sb_money_parse(v, strlen(v), &cfg.poverty_line, &why) ||
			    cfg.poverty_line < 0) {
				fprintf(stderr, "sanbao compare: --poverty-line takes yuan per person per "
						"year (e.g. 2300 or 2300.50), not \"%s\"\n", v);
				return 2;
			}
		} else {
			takes = false;
			if (!strcmp(a, "--settlements")) {
				cfg.no_settlements = false;
			} else if (!strcmp(a, "--show-ids")) {
				cfg.show_ids = true;
			} else if (!strcmp(a, "--quiet")) {
				quiet = true;
				cfg.progress = NULL;
			} else {
				fprintf(stderr, "sanbao compare: unknown or incomplete option %s\n\n%s", a,
					usage_text);
				return 2;
			}
		}
		if (takes)
			i++;
	}
	const char *missing = !cfg.policies_dir ? "--baseline" : !nreforms ? "--reform" :
			      !cfg.persons_path ? "--persons" : !cfg.claims_path ? "--claims" :
			      !cfg.out_dir ? "--out" : NULL;
	if (missing) {
		fprintf(stderr, "sanbao compare: %s is required\n\n%s", missing, usage_text);
		return 2;
	}
	cfg.scenario_dirs = reforms;
	cfg.nscenario_dirs = nreforms;
	sb_batch_totals t;
	memset(&t, 0, sizeof t);
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	sb_status st = sb_batch_settle(&cfg, &t, &d);
	if (st) {
		char msg[1400];
		if (d.code == SB_OK)
			sb_diag_set(&d, st, NULL, 0, 0, "the run failed: %s", sb_strerror(st));
		fprintf(stderr, "sanbao compare: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	if (cfg.explain_id && !t.explained)
		fprintf(stderr, "sanbao compare: claim %s was not settled (not in the input, or "
				"rejected: see rejects.csv)\n", cfg.explain_id);
	if (quiet)
		return 0;
	printf("sanbao compare: %lld claims read, %lld settled under the baseline, %lld rejected; "
	       "%d reform%s (%d threads, %.2f s)\n",
	       t.claim_rows, t.settled, t.rejected, nreforms, nreforms > 1 ? "s" : "", t.threads,
	       t.seconds);
	char path[4096];
	snprintf(path, sizeof path, "%s/compare.txt", cfg.out_dir);
	FILE *f = fopen(path, "r");
	if (f) {
		char line[1024];
		while (fgets(line, sizeof line, f))
			fputs(line, stdout);
		fclose(f);
	}
	printf("  outputs: %s/compare.json, %s/persons_changed.csv, %s/compare.txt\n", cfg.out_dir,
	       cfg.out_dir, cfg.out_dir);
	return 0;
}
