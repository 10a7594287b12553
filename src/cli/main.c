/* main.c: the `sanbao` command line: a table of subcommands and their
 * one-line help. The state of a run lives in each subcommand, not here. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sanbao/version.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{"test", sb_cmd_test, "test PATH...                run case files (folders are searched)"},
	{"settle", sb_cmd_settle, "settle --policies DIR --persons F [--identities F] --claims F --out DIR"},
	{"check-policy", sb_cmd_check_policy, "check-policy FILE...        validate policies and summarise them"},
	{"compare", sb_cmd_compare, "compare --baseline DIR --reform DIR... --persons F --claims F --out DIR   reforms"},
	{"report", sb_cmd_report, "report --in DIR [--in DIR...] --out FILE.html   an HTML report with charts"},
	{"project", sb_cmd_project, "project --policies DIR --persons F --settlements F --scenario F --out DIR [--runs N --seed S]   fund projection"},
	{"monitor", sb_cmd_monitor, "monitor --policies DIR --persons F --settlements F --out DIR   warnings"},
	{"gen", sb_cmd_gen, "gen --persons N --seed S [--year Y] --out DIR   synthetic province"},
	{"roster", sb_cmd_roster, "roster --policies DIR --persons F --identities F [--settlements F] --out DIR"},
	{"fund", sb_cmd_fund, "fund --policies DIR --persons F --settlements F --out DIR   fund accounts, 调剂金, indicators"},
	{"code-texts", sb_cmd_code_texts, "code-texts --frame F.yaml [--meta M.csv] [--gold G.csv] --out DIR DOC...   code policy texts"},
	{"serve", sb_cmd_serve, "serve --policies DIR --db F --facilities F --tokens F [--listen A]   online settlement"},
	{"export", sb_cmd_export, "export --db F --out DIR     the service's store as CSV"},
	{"verify-log", sb_cmd_verify_log, "verify-log --db F           check the service's audit chain"},
	{"audit", sb_cmd_audit, "audit --policies DIR --persons F [--identities F] --claims F --out DIR [--rules F]"},
	{"verify-evidence", sb_cmd_verify_evidence, "verify-evidence DIR [--root HEX]   check outputs against evidence.txt"},
	{"pseudonymize", sb_cmd_pseudonymize, "pseudonymize --key FILE [--hash sm3|sha256] IN.csv OUT.csv   keyed IDs"},
};

static void usage(FILE *f)
{
	fprintf(f, "sanbao: one-stop settlement of medical claims through the payer chain\n"
		   "(基本医保 → 大病保险 → 医疗救助 → …)\n\nusage:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  sanbao %s\n", commands[i].usage);
	fprintf(f, "  sanbao --version            print the version\n");
	fprintf(f, "\nRun `sanbao COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		printf("sanbao %s\n", sb_version_string());
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "sanbao: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
