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

typedef struct compare_args {
	sb_batch_config cfg;
	const char *reforms[SB_MAX_SCENARIOS];
	int nreforms;
} compare_args;

/* compare's own options. */
static int compare_opt(void *arg, int argc, char **argv, int *i)
{
	compare_args *c = arg;
	if (!strcmp(argv[*i], "--settlements")) {
		c->cfg.no_settlements = false;
		return 1;
	}
	if (strcmp(argv[*i], "--reform") || *i + 1 >= argc)
		return 0;
	if (c->nreforms == SB_MAX_SCENARIOS - 1) {
		fprintf(stderr, "sanbao compare: at most %d reforms in one run\n",
			SB_MAX_SCENARIOS - 1);
		return -1;
	}
	c->reforms[c->nreforms++] = argv[++*i];
	return 1;
}

int sb_cmd_compare(int argc, char **argv)
{
	compare_args c;
	memset(&c, 0, sizeof c);
	sb_batch_config cfg;
	c.cfg.progress = sb_cli_progress;
	c.cfg.compare = true;
	c.cfg.monitor = true; /* each scenario's warnings in compare.json */
	c.cfg.no_settlements = true;
	sb_cli_batch b = { .cmd = "compare",
			   .policies_flag = "--baseline",
			   .accepts = SB_CLI_POLICY_ROOT | SB_CLI_EXPLAIN | SB_CLI_POVERTY |
				      SB_CLI_SHOW_IDS,
			   .cfg = &c.cfg };
	int status;
	if (!sb_cli_batch_parse(&b, argc, argv, compare_opt, &c, usage_text, &status))
		return status;
	if (!c.nreforms) {
		fprintf(stderr, "sanbao compare: --reform is required\n\n%s", usage_text);
		return 2;
	}
	cfg = c.cfg;
	const char **reforms = c.reforms;
	int nreforms = c.nreforms;
	bool quiet = b.quiet;
	cfg.scenario_dirs = reforms;
	cfg.nscenario_dirs = nreforms;
	sb_batch_totals t;
	memset(&t, 0, sizeof t);
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	sb_status st = sb_batch_settle(&cfg, &t, &d);
	if (st)
		return sb_cli_batch_failed("compare", st, &d);
	if (cfg.explain_id && !t.explained)
		fprintf(stderr,
			"sanbao compare: claim %s was not settled (not in the input, or "
			"rejected: see rejects.csv)\n",
			cfg.explain_id);
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
