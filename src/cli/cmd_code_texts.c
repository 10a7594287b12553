/* cmd_code_texts.c: `sanbao code-texts`: codes policy documents clause by
 * clause with a frame (goals × tools × coordination) and writes the tables
 * of a policy-text study; see sb_texts_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "cli/cli.h"
#include "sanbao/texts.h"

static const char usage_text[] =
	"usage: sanbao code-texts --frame FRAME.yaml [--meta META.csv] [--gold GOLD.csv]\n"
	"                         --out DIR DOC.txt...\n"
	"Splits each document (UTF-8; GBK is converted) into clauses by its numbering\n"
	"(一、 （一） 1. （1） 第X章 第X节 第X条), codes every clause with the frame's\n"
	"categories and writes into --out:\n"
	"  clauses.csv                document, clause path (三.(二).1), excerpt, codes, terms\n"
	"  unplaced.csv               body lines outside any numbered item\n"
	"  documents.csv              header, issuers and joint issuance, stage, counts\n"
	"  table2_goals.csv           goals by stage (counts and shares)\n"
	"  table3_tools.csv           tool types and sub-tools by stage\n"
	"  table4_coordination.csv    coordination dimensions by stage\n"
	"  table5_tool_goal.csv       tool x goal\n"
	"  table6_coordination_goal.csv  coordination x goal\n"
	"  by_province.csv            every category by province\n"
	"  departments.csv            departments named together in a clause\n"
	"  tables.json                all of the above as numbers\n"
	"META.csv has the columns document, stage, province, issuer, date (any may be\n"
	"empty); without it the stage comes from the header's date by the frame's rule.\n"
	"--gold takes hand codes (document, path, codes) and prints precision, recall\n"
	"and Cohen's kappa per category (also agreement.csv).\n";

int sb_cmd_code_texts(int argc, char **argv)
{
	sb_texts_config cfg;
	memset(&cfg, 0, sizeof cfg);
	const char **docs = sb_calloc((size_t)argc + 1, sizeof *docs);
	if (!docs) {
		fputs("sanbao code-texts: out of memory\n", stderr);
		return 1;
	}
	size_t nd = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			sb_free(docs);
			return 0;
		}
		if (a[0] != '-' || !a[1]) {
			docs[nd++] = a;
			continue;
		}
		if (!strcmp(a, "--frame"))
			slot = &cfg.frame_path;
		else if (!strcmp(a, "--meta"))
			slot = &cfg.meta_path;
		else if (!strcmp(a, "--gold"))
			slot = &cfg.gold_path;
		else if (!strcmp(a, "--out"))
			slot = &cfg.out_dir;
		if (!slot || !v) {
			fprintf(stderr, "sanbao code-texts: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			sb_free(docs);
			return 2;
		}
		*slot = v;
		i++;
	}
	const char *missing = !cfg.frame_path ? "--frame" : !cfg.out_dir ? "--out" :
			      !nd ? "at least one document" : NULL;
	if (missing) {
		fprintf(stderr, "sanbao code-texts: %s is required\n\n%s", missing, usage_text);
		sb_free(docs);
		return 2;
	}
	cfg.docs = docs;
	cfg.ndocs = nd;
	cfg.report = stdout;
	sb_texts_totals t;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_texts_run(&cfg, &t, &d);
	sb_free(docs);
	if (st) {
		char msg[1400];
		fprintf(stderr, "sanbao code-texts: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	printf("code-texts: %zu documents, %zu clauses (%zu coded), %zu unplaced lines%s -> %s\n",
	       t.documents, t.clauses, t.coded, t.unplaced,
	       t.converted ? ", some converted from GBK" : "", cfg.out_dir);
	return 0;
}
