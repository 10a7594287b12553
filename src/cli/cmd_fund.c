/* cmd_fund.c: `sanbao fund`: the money side of a settled year: accounts of
 * every region's pooled funds and assistance fund, the province's
 * adjustment fund, coverage, benefit ratios and indicators; prints the
 * totals, writes the tables to --out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sanbao/fund.h"

static const char usage_text[] =
	"usage: sanbao fund --policies DIR --persons F --settlements F --out DIR\n"
	"                   [--identities F] [--balances F] [--adjustment F] [--warnings F]\n"
	"                   [--threads N] [--policy-root DIR]\n"
	"The accounts of each pooling region, fund (employee, resident, assistance) and\n"
	"policy year: contributions under the policies' `funding` (docs/policy-format.md),\n"
	"spending from settlements.csv of `sanbao settle`, balances, months of payment\n"
	"and warning bands, with the province's adjustment fund (调剂金) between the\n"
	"years. Writes into --out:\n"
	"  accounts.csv     revenue, spending, balances and months by region, year, fund\n"
	"  spending.csv     payments by region, year and layer (fund code)\n"
	"  premiums.csv     premiums paid by medical assistance, by identity (资助参保)\n"
	"  coverage.csv     enrolled share of the roster's groups by region (identities.csv)\n"
	"  ratios.csv       benefit-to-contribution ratios, urban/rural and income quintiles\n"
	"  adjustment.csv   paid up, allocated (normal, emergency), advance and settlement\n"
	"  indicators.csv   the performance indicators with each region's rank\n"
	"  fund.json        all of it, for `sanbao report` (written last)\n"
	"  --identities F   the roster: premium subsidies and coverage\n"
	"  --balances F     opening balances: region,scheme,balance (scheme employee,\n"
	"                   resident, assistance; the province's code with adjustment)\n"
	"  --adjustment F   region,scheme,year with score (0-100), deduction (违规增支\n"
	"                   扣减, yuan) and advance (预拨 paid, yuan), any of them\n"
	"  --warnings F     warnings.csv of `sanbao settle --monitor` (warnings per 10,000)\n"
	"  --threads N      threads reading settlements.csv (default: the cores, at most\n"
	"                   16); the outputs are the same for any N\n";

int sb_cmd_fund(int argc, char **argv)
{
	sb_fund_config cfg;

	memset(&cfg, 0, sizeof cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--policies")) {
			slot = &cfg.policies_dir;
		} else if (!strcmp(a, "--policy-root")) {
			slot = &cfg.policy_root;
		} else if (!strcmp(a, "--persons")) {
			slot = &cfg.persons_path;
		} else if (!strcmp(a, "--identities")) {
			slot = &cfg.identities_path;
		} else if (!strcmp(a, "--settlements")) {
			slot = &cfg.settlements_path;
		} else if (!strcmp(a, "--balances")) {
			slot = &cfg.balances_path;
		} else if (!strcmp(a, "--adjustment")) {
			slot = &cfg.adjustment_path;
		} else if (!strcmp(a, "--warnings")) {
			slot = &cfg.warnings_path;
		} else if (!strcmp(a, "--out")) {
			slot = &cfg.out_dir;
		} else if (!strcmp(a, "--threads") && v) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end || n < 1 || n > 64) {
				fprintf(stderr,
					"sanbao fund: --threads %s is not a number from 1 to 64\n",
					v);
				return 2;
			}
			cfg.threads = (int)n;
			i++;
			continue;
		}
		if (!slot || !v) {
			fprintf(stderr, "sanbao fund: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			return 2;
		}
		*slot = v;
		i++;
	}
	const char *missing = !cfg.policies_dir     ? "--policies" :
			      !cfg.persons_path     ? "--persons" :
			      !cfg.settlements_path ? "--settlements" :
			      !cfg.out_dir          ? "--out" :
						      NULL;

	if (missing) {
		fprintf(stderr, "sanbao fund: %s is required\n\n%s", missing, usage_text);
		return 2;
	}
	if (!cfg.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg.threads = n < 1 ? 1 : n > 16 ? 16 : (int)n;
	}
	sb_fund_totals t;
	sb_diag d;

	sb_diag_clear(&d);
	if (sb_fund_run(&cfg, &t, &d)) {
		char msg[1400];

		fprintf(stderr, "sanbao fund: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	char rev[SB_MONEY_BUF], spend[SB_MONEY_BUF], up[SB_MONEY_BUF], alloc[SB_MONEY_BUF];

	sb_money_format(t.revenue, rev);
	sb_money_format(t.spending, spend);
	sb_money_format(t.adj_paid_up, up);
	sb_money_format(t.adj_allocated, alloc);
	printf("sanbao fund: %lld persons (%lld left out), %lld settlements, %lld regions, years",
	       t.persons, t.persons_rejected, t.settlements, t.regions);
	for (int k = 0; k < t.nyears; k++)
		printf(" %d", t.years[k]);
	printf("\n  revenue %s yuan, spending %s yuan (= the settlements' fund, to the fen)\n", rev,
	       spend);
	printf("  adjustment fund: paid up %s, allocated %s\n", up, alloc);
	printf("  accounts, adjustment and indicators: %s/ (fund.json for `sanbao report`)\n",
	       cfg.out_dir);
	return 0;
}
