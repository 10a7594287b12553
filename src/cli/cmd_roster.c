/* cmd_roster.c: `sanbao roster`: the civil-affairs roster against enrolment
 * and settlements; prints the counts, writes the findings to --out. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/roster.h"

static const char usage_text[] =
	"usage: sanbao roster --policies DIR --persons F --identities F [--settlements F]\n"
	"                     --out DIR [--show-ids] [--policy-root DIR]\n"
	"Checks a civil-affairs roster (identities.csv) against enrolment (persons.csv)\n"
	"and, with --settlements, against settlements.csv from `sanbao settle`. Writes\n"
	"into --out:\n"
	"  not_enrolled.csv      roster rows whose holder is not enrolled (漏保): enrol\n"
	"                        with a subsidised premium (资助参保). persons.csv has no\n"
	"                        enrolment dates, so a holder counts as enrolled on the\n"
	"                        identity's dates when they are in persons.csv at all\n"
	"  stale_assistance.csv  payments by a layer that requires identities (医疗救助,\n"
	"                        倾斜救助, ...) on a date when the roster gives the person\n"
	"                        none of them, under the region's version then in force\n"
	"  duplicates.csv        persons enrolled more than once (two regions, two\n"
	"                        schemes, or the same row twice)\n"
	"  roster_errors.csv     roster rows with an invalid ID or pseudonym, an impossible\n"
	"                        date, or an identity no policy declares\n"
	"  roster_summary.json   counts and amounts by finding and by region\n"
	"The files may hold resident IDs or pseudonyms from `sanbao pseudonymize` made\n"
	"with one key. IDs are masked in every output (110105********0082).\n"
	"  --show-ids          print IDs and pseudonyms whole\n";

int sb_cmd_roster(int argc, char **argv)
{
	sb_roster_config cfg;

	memset(&cfg, 0, sizeof cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--show-ids")) {
			cfg.show_ids = true;
			continue;
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
		} else if (!strcmp(a, "--out")) {
			slot = &cfg.out_dir;
		}
		if (!slot || !v) {
			fprintf(stderr, "sanbao roster: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			return 2;
		}
		*slot = v;
		i++;
	}
	const char *missing = !cfg.policies_dir ? "--policies" : !cfg.persons_path ? "--persons" :
			      !cfg.identities_path ? "--identities" : !cfg.out_dir ? "--out" : NULL;

	if (missing) {
		fprintf(stderr, "sanbao roster: %s is required\n\n%s", missing, usage_text);
		return 2;
	}
	sb_roster_totals t;
	sb_diag d;

	sb_diag_clear(&d);
	if (sb_roster_check(&cfg, &t, &d)) {
		char msg[1400];

		fprintf(stderr, "sanbao roster: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	char amount[SB_MONEY_BUF];

	sb_money_format(t.stale_amount, amount);
	printf("sanbao roster: %lld persons rows (%lld without a usable ID), %lld roster rows",
	       t.person_rows, t.persons_invalid, t.identity_rows);
	if (cfg.settlements_path)
		printf(", %lld settlements (%lld could not be checked)", t.settlement_rows,
		       t.settlements_unchecked);
	printf("\n  not enrolled (漏保):           %8lld roster rows    -> %s/not_enrolled.csv\n",
	       t.not_enrolled, cfg.out_dir);
	if (cfg.settlements_path)
		printf("  assistance without identity: %8lld payments, %s yuan -> %s/stale_assistance.csv\n",
		       t.stale, amount, cfg.out_dir);
	else
		printf("  assistance without identity: not checked (no --settlements)\n");
	printf("  enrolled more than once:     %8lld persons (%lld rows) -> %s/duplicates.csv\n",
	       t.duplicates, t.duplicate_rows, cfg.out_dir);
	printf("  unusable roster rows:        %8lld rows           -> %s/roster_errors.csv\n",
	       t.roster_errors, cfg.out_dir);
	printf("  summary by region: %s/roster_summary.json\n", cfg.out_dir);
	return 0;
}
