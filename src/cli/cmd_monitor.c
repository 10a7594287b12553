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
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help")) {
			printf(usage_text);
			return 0;
		}
		if (!strcmp(a, "--show-ids")) {
			cfg.show_ids = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "sanbao monitor: unknown or incomplete option %s\n\n", a);
			fprintf(stderr, usage_text);
			return 2;
		}
		if (!strcmp(a, "--policies"))
			cfg.policies_dir = v;
		else if (!strcmp(a, "--policy-root"))
			cfg.policy_root = v;
		else if (!strcmp(a, "--persons"))
			cfg.persons_path = v;
		else if (!strcmp(a, "--identities"))
			cfg.identities_path = v;
		else if (!strcmp(a, "--settlements"))
			cfg.claims_path = v;
		else if (!strcmp(a, "--out"))
			cfg.out_dir = v;
		else if (!strcmp(a, "--threads"))
			cfg.threads = atoi(v) > 0 && atoi(v) <= 64 ? atoi(v) : -1;
		else if (!strcmp(a, "--poverty-line")) {
			const char *why;
			if (sb_money_parse(v, strlen(v), &cfg.poverty_line, &why) || cfg.poverty_line < 0) {
				fprintf(stderr, "sanbao monitor: --poverty-line takes yuan per person per year\n");
				return 2;
			}
		} else {
			fprintf(stderr, "sanbao monitor: unknown option %s\n\n", a);
			fprintf(stderr, usage_text);
			return 2;
		}
		i++;
	}
	if (cfg.threads < 0) {
		fprintf(stderr, "sanbao monitor: --threads takes a number from 1 to 64\n");
		return 2;
	}
	const char *missing = !cfg.policies_dir ? "--policies" : !cfg.persons_path ? "--persons" :
			      !cfg.claims_path ? "--settlements" : !cfg.out_dir ? "--out" : NULL;
	if (missing) {
		fprintf(stderr, "sanbao monitor: %s is required\n\n", missing);
		fprintf(stderr, usage_text);
		return 2;
	}
	sb_batch_totals t;
	memset(&t, 0, sizeof t);
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	if (sb_batch_settle(&cfg, &t, &d)) {
		char msg[1400];
		fprintf(stderr, "sanbao monitor: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	if (t.unresolved)
		fprintf(stderr, "sanbao monitor: warning: thresholds of %lld claims could not be "
				"resolved (no income for the year before their policy year): those claims "
				"were not monitored; add the income to the policies\n", t.unresolved);
	printf("sanbao monitor: %lld settled claims read, %lld monitored, %lld rejected "
	       "(%.2f s)\n", t.claim_rows, t.settled, t.rejected, t.seconds);
	printf("  %lld warnings (%s/warnings.csv), %lld approaching 80%% of a threshold "
	       "(%s/approaching.csv)\n  summary: %s/monitor.json\n", t.warnings, cfg.out_dir,
	       t.approaching, cfg.out_dir, cfg.out_dir);
	return 0;
}
