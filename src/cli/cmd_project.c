/* cmd_project.c: `sanbao project`: the funds of every region projected
 * over N years under one or several scenarios, with a Monte Carlo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/project.h"

static const char usage_text[] =
	"usage: sanbao project --policies DIR --persons F --settlements F --scenario F.yaml\n"
	"                      [--scenario F.yaml ...] --out DIR [--years N] [--base-year Y]\n"
	"                      [--runs N --seed S] [--balances F] [--threads N]\n"
	"                      [--policy-root DIR]\n"
	"Projects each pooling region's funds (employee and resident) year by year from\n"
	"the settled base year (by default the latest year of settlements.csv): the\n"
	"insured of persons.csv carried forward by age and sex (the scenario's life\n"
	"table, entrants, retirement at the statutory age with the 2025 raise), spending\n"
	"per person by scheme, visit type and age band from the insurance funds'\n"
	"payments in settlements.csv, cost and revenue growth from the scenario. Writes\n"
	"into --out:\n"
	"  projection.csv   scenario, region, scheme, year, percentile (deterministic, or\n"
	"                   p5..p95 of the Monte Carlo): population, revenue, spending,\n"
	"                   interest, balance, months of payment, share exhausted\n"
	"  projection.json  the same with each fund's first deficit and exhaustion year\n"
	"  --years N        the horizon, default 30 (at most 100)\n"
	"  --runs N         Monte Carlo runs over cost growth and utilisation (0: none)\n"
	"  --seed S         the Monte Carlo's seed (xoshiro256**): same seed, same bytes\n"
	"  --threads N      read settlements.csv with N threads (default 1; same bytes)\n"
	"  --balances F     balances.csv (region,scheme,balance; `sanbao fund` reads it\n"
	"                   too): the opening balance of the funds it names, instead of\n"
	"                   the scenario's opening_months of base-year spending\n"
	"Scenario files: scenarios/projection/README.md.\n";

static int number(const char *v, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

int sb_cmd_project(int argc, char **argv)
{
	sb_project_config cfg;
	memset(&cfg, 0, sizeof cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;
		long long n;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (v &&
		    (!strcmp(a, "--years") || !strcmp(a, "--runs") || !strcmp(a, "--base-year") ||
		     !strcmp(a, "--seed") || !strcmp(a, "--threads"))) {
			long long hi = !strcmp(a, "--threads") ? SB_PROJECT_MAX_THREADS :
				       !strcmp(a, "--years")   ? SB_PROJECT_MAX_YEARS :
				       !strcmp(a, "--runs")    ? SB_PROJECT_MAX_RUNS :
				       !strcmp(a, "--seed")    ? 9223372036854775807LL :
								 2200;
			long long lo = !strcmp(a, "--base-year") ?
					       1990 :
					       !strcmp(a, "--years") || !strcmp(a, "--threads");
			if (number(v, lo, hi, &n)) {
				fprintf(stderr,
					"sanbao project: %s must be a whole number from %lld to %lld\n",
					a, lo, hi);
				return 2;
			}
			if (!strcmp(a, "--years"))
				cfg.years = (int)n;
			else if (!strcmp(a, "--runs"))
				cfg.runs = (int)n;
			else if (!strcmp(a, "--seed"))
				cfg.seed = (uint64_t)n;
			else if (!strcmp(a, "--threads"))
				cfg.threads = (int)n;
			else
				cfg.base_year = (int)n;
			i++;
			continue;
		}
		if (!strcmp(a, "--scenario") && v) {
			if (cfg.nscenarios == SB_PROJECT_MAX_SCENARIOS) {
				fprintf(stderr, "sanbao project: at most %d scenarios\n",
					SB_PROJECT_MAX_SCENARIOS);
				return 2;
			}
			cfg.scenario_paths[cfg.nscenarios++] = v;
			i++;
			continue;
		}
		if (!strcmp(a, "--policies"))
			slot = &cfg.policies_dir;
		else if (!strcmp(a, "--policy-root"))
			slot = &cfg.policy_root;
		else if (!strcmp(a, "--persons"))
			slot = &cfg.persons_path;
		else if (!strcmp(a, "--settlements"))
			slot = &cfg.settlements_path;
		else if (!strcmp(a, "--balances"))
			slot = &cfg.balances_path;
		else if (!strcmp(a, "--out"))
			slot = &cfg.out_dir;
		if (!slot || !v) {
			fprintf(stderr, "sanbao project: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			return 2;
		}
		*slot = v;
		i++;
	}
	const char *missing = !cfg.policies_dir     ? "--policies" :
			      !cfg.persons_path     ? "--persons" :
			      !cfg.settlements_path ? "--settlements" :
			      !cfg.nscenarios       ? "--scenario" :
			      !cfg.out_dir          ? "--out" :
						      NULL;
	if (missing) {
		fprintf(stderr, "sanbao project: %s is required\n\n%s", missing, usage_text);
		return 2;
	}
	sb_project_totals t;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_project_run(&cfg, &t, &d)) {
		char buf[1400];
		fprintf(stderr, "sanbao project: %s\n", sb_diag_format(&d, buf, sizeof buf));
		return 1;
	}
	char a[32], b[32];
	sb_money_format(t.base_spending, a);
	sb_money_format(t.base_revenue, b);
	printf("sanbao project: base year %d, %d funds (region x scheme), %d years, %d scenario%s",
	       t.base_year, t.nfunds, t.years, t.nscenarios, t.nscenarios == 1 ? "" : "s");
	if (t.runs)
		printf(", %d Monte Carlo runs (%.3f s)", t.runs, t.seconds_mc);
	printf("; inputs read in %.3f s", t.seconds_read);
	printf("\n  persons: %ld rows, %ld projected, %ld skipped (invalid or no birth date)\n"
	       "  settlements: %ld rows, %ld of the base year used, %ld skipped\n"
	       "  first scenario: base-year spending %s, revenue %s; ",
	       t.persons_rows, t.persons_used, t.persons_skipped, t.settlement_rows,
	       t.settlement_used, t.settlement_skipped, a, b);
	if (t.first_deficit_year)
		printf("first deficit %d, ", t.first_deficit_year);
	else
		printf("no deficit, ");
	if (t.exhaustion_year)
		printf("first exhaustion %d\n", t.exhaustion_year);
	else
		printf("no fund exhausted within %d years\n", t.years);
	if (cfg.balances_path)
		printf("  opening balances of %d funds from %s (the others: opening_months)\n",
		       t.balances_used, cfg.balances_path);
	printf("  outputs: %s/projection.csv, projection.json\n", cfg.out_dir);
	return 0;
}
