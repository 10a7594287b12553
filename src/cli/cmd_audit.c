/* cmd_audit.c: `sanbao audit` (re-adjudicates an extract of paid claims
 * and writes findings with their evidence) and `sanbao verify-evidence`
 * (checks a folder's outputs against its evidence.txt). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sanbao/audit.h"

#ifndef SB_BIN_TO_DATA
#define SB_BIN_TO_DATA "../share/sanbao"
#endif

static const char usage_text[] =
	"usage: sanbao audit --policies DIR --persons F [--identities F] --claims F --out DIR\n"
	"                    [--rules FILE] [--threads N] [--tmp DIR] [--partition-mb N] [--quiet]\n"
	"Settles every claim of an extract again, in date order as settle does, and\n"
	"compares what each fund or layer paid (hifp_pay, hifmi_pay, hifob_pay, maf_pay,\n"
	"oth_pay, actual_<layer>) with what the policy gives; finds duplicates, split\n"
	"and overlapping stays and assistance without an identity. Writes findings.csv,\n"
	"traces.json, audit.json, the recomputation (settlements.csv, rejects.csv,\n"
	"summary.json) and evidence.txt (an SM3 Merkle tree over them; check it with\n"
	"`sanbao verify-evidence DIR`).\n"
	"  --rules FILE   the rule file (default: the bundled rules/default.yaml)\n"
	"  --threads N    worker threads (default: one per core)\n"
	"  --tmp DIR      folder for spill files (default: --out)\n"
	"  --partition-mb N  claims CSV megabytes per partition (default 32)\n";

static const char verify_usage[] =
	"usage: sanbao verify-evidence DIR [--root HEX]\n"
	"Recomputes the SM3 Merkle tree of DIR/evidence.txt and checks every output row\n"
	"and input it lists; names the first row changed, added or removed. With --root,\n"
	"the evidence must also match that published root.\n";

/* The bundled rule file, relative to the executable as `gen` finds the
 * demo policies: installed, or in the source tree beside a build folder. */
static const char *default_rules(char *buf, size_t n)
{
	static const char *const rel[] = { SB_BIN_TO_DATA "/rules/default.yaml",
					   "../rules/default.yaml" };
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return NULL;
	exe[len] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		struct stat st;
		int w = snprintf(buf, n, "%s/%s", exe, rel[i]);
		char real[PATH_MAX];
		if (w > 0 && (size_t)w < n && !stat(buf, &st) && S_ISREG(st.st_mode)) {
			if (realpath(buf, real) && strlen(real) < n)
				memcpy(buf, real, strlen(real) + 1);
			return buf;
		}
	}
	return NULL;
}

static void put_money(const char *label, sb_fen v)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	printf("  %-24s %14s\n", label, buf);
}

/* audit's own option: --rules FILE. */
static int audit_opt(void *arg, int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--rules") || *i + 1 >= argc)
		return 0;
	*(const char **)arg = argv[++*i];
	return 1;
}

int sb_cmd_audit(int argc, char **argv)
{
	sb_batch_config in;
	memset(&in, 0, sizeof in);
	in.progress = sb_cli_progress;
	sb_audit_config cfg;
	memset(&cfg, 0, sizeof cfg);
	sb_cli_batch b = { .cmd = "audit", .accepts = SB_CLI_PARTITION, .cfg = &in };
	int status;
	if (!sb_cli_batch_parse(&b, argc, argv, audit_opt, &cfg.rules_path, usage_text, &status))
		return status;
	cfg.policies_dir = in.policies_dir;
	cfg.persons_path = in.persons_path;
	cfg.identities_path = in.identities_path;
	cfg.claims_path = in.claims_path;
	cfg.out_dir = in.out_dir;
	cfg.tmp_dir = in.tmp_dir;
	cfg.threads = in.threads;
	cfg.partition_bytes = in.partition_bytes;
	cfg.progress = in.progress;
	bool quiet = b.quiet;
	char rules[4200];
	if (!cfg.rules_path && !(cfg.rules_path = default_rules(rules, sizeof rules))) {
		fprintf(stderr, "sanbao audit: the bundled rules/default.yaml was not found beside "
				"the program: give --rules FILE\n");
		return 2;
	}
	sb_audit_totals t;
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	sb_status st = sb_audit_run(&cfg, &t, &d);
	if (st)
		return sb_cli_batch_failed("audit", st, &d);
	if (quiet)
		return 0;
	long long n = 0;
	for (int r = 0; r < SB_AUDIT_NRULES; r++)
		n += t.findings[r];
	printf("sanbao audit: %lld claims settled again, %lld rejected; %lld findings "
	       "(%d threads, %.2f s)\n",
	       t.batch.settled, t.batch.rejected, n, t.batch.threads, t.batch.seconds);
	for (int r = 0; r < SB_AUDIT_NRULES; r++) {
		char label[64];
		snprintf(label, sizeof label, "%s (%lld)", sb_audit_rule_name((sb_audit_rule_id)r),
			 t.findings[r]);
		put_money(label, t.at_risk[r]);
	}
	if (t.unaudited)
		printf("  %lld settled claims carry no paid amount to compare\n", t.unaudited);
	printf("  outputs: %s/findings.csv, audit.json, traces.json, evidence.txt\n", cfg.out_dir);
	printf("  evidence root (SM3): %s\n", t.root);
	return 0;
}

int sb_cmd_verify_evidence(int argc, char **argv)
{
	const char *dir = NULL, *root = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			fputs(verify_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			root = argv[++i];
		} else if (argv[i][0] != '-' && !dir) {
			dir = argv[i];
		} else {
			fprintf(stderr,
				"sanbao verify-evidence: unknown or extra argument %s\n\n%s",
				argv[i], verify_usage);
			return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "sanbao verify-evidence: give the output folder\n\n%s",
			verify_usage);
		return 2;
	}
	sb_diag d;
	sb_diag_clear(&d);
	printf("sanbao verify-evidence: %s/evidence.txt\n", dir);
	if (sb_audit_evidence_verify(dir, root, stdout, &d)) {
		char msg[1400];
		fflush(stdout);
		fprintf(stderr, "sanbao verify-evidence: %s\n",
			sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	printf("  every row and input listed is as the evidence says\n");
	return 0;
}
