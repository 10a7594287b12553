/* cmd_monitor.c: `sanbao monitor`: the policies' monitoring rules (因病返贫
 * 致贫风险监测) over claims already settled, read from settlements.csv. The
 * same engine as `sanbao settle --monitor`, so the findings are the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/batch.h"

static const char usage_text[] =
	"usage: sanbao monitor --policies DIR --persons F [--identities F] --settlements F\n"
	"                      --out DIR [--poverty-line YUAN] [--show-ids] [--threads N]\n"
	"                      [--tmp DIR] [--policy-root DIR] [--quiet]\n"
	"Runs the monitoring rules of each region's policy over settled claims and writes\n"
	"warnings.csv (units whose spending crossed a threshold, on the date it crossed),\n"
	"approaching.csv (units at 80%% or more that have not crossed), monitor.json\n"
	"(counts by region, identity and rule; SDG 3.8.2 financial protection when\n"
	"persons.csv gives household income) and rejects.csv into --out.\n"
	"Resident IDs are masked in the outputs unless --show-ids. --policy-root DIR sets\n"
	"the folder tree `extends` may reach (default: the parent of --policies).\n";

int sb_cmd_monitor(int argc, char **argv)
{
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.monitor = cfg.monitor_only = true;
	cfg.progress = sb_cli_progress;
	sb_cli_batch b = { .cmd = "monitor",
			   .claims_flag = "--settlements",
			   .accepts = SB_CLI_POLICY_ROOT | SB_CLI_POVERTY | SB_CLI_SHOW_IDS,
			   .cfg = &cfg };
	int status;
	if (!sb_cli_batch_parse(&b, argc, argv, NULL, NULL, usage_text, &status))
		return status;
	sb_batch_totals t;
	memset(&t, 0, sizeof t);
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	sb_status st = sb_batch_settle(&cfg, &t, &d);
	if (st)
		return sb_cli_batch_failed("monitor", st, &d);
	if (t.unresolved)
		fprintf(stderr,
			"sanbao monitor: warning: thresholds of %lld claims could not be "
			"resolved (no income for the year before their policy year): those claims "
			"were not monitored; add the income to the policies\n",
			t.unresolved);
	if (b.quiet)
		return 0;
	printf("sanbao monitor: %lld settled claims read, %lld monitored, %lld rejected "
	       "(%.2f s)\n",
	       t.claim_rows, t.settled, t.rejected, t.seconds);
	printf("  %lld warnings (%s/warnings.csv), %lld approaching 80%% of a threshold "
	       "(%s/approaching.csv)\n  summary: %s/monitor.json\n",
	       t.warnings, cfg.out_dir, t.approaching, cfg.out_dir, cfg.out_dir);
	return 0;
}
