/* cmd_settle.c: `sanbao settle`: a batch of CSV claims through the payer
 * chain; prints a short summary, writes the full outputs to --out. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mpi/mpi.h"
#include "sanbao/audit.h"
#include "sanbao/batch.h"
#include "sanbao/policy.h"

static const char usage_text[] =
	"usage: sanbao settle --policies DIR --persons F [--identities F] --claims F --out DIR\n"
	"                     [--threads N] [--explain CLAIM_ID] [--tmp DIR] [--monitor]\n"
	"                     [--poverty-line YUAN] [--show-ids] [--quiet] [--policy-root DIR]\n"
	"                     [--evidence] [--mpi]\n"
	"Settles every claim through the layers of its region's policy and writes\n"
	"settlements.csv, rejects.csv and summary.json into --out (with --monitor also\n"
	"warnings.csv, approaching.csv and monitor.json). They replace an earlier run's\n"
	"only when the run succeeds, summary.json last; --out is locked while it runs.\n"
	"  --threads N        worker threads (default: one per core)\n"
	"  --explain ID       print that claim's settlement step by step\n"
	"  --tmp DIR          folder for spill files (default: --out)\n"
	"  --partition-mb N   claims CSV megabytes per partition (default 32)\n"
	"  --policy-root DIR  the folder tree `extends` may reach (default: the parent\n"
	"                     of --policies)\n"
	"  --evidence         also write evidence.txt: an SM3 Merkle tree over the\n"
	"                     outputs' rows and the inputs (sanbao verify-evidence)\n"
	"  --mpi              one rank of an MPI job: mpirun -np N sanbao settle --mpi ...\n"
	"                     (settlements in --out/rank-NNNN/, docs/cluster.md)\n";

/* The bar as the batch used to draw it: from two seconds on, the stage's
 * share done, redrawn at each report; wiped when the claims are settled. */
static struct {
	int tty; /* 0 unknown, 1 yes, -1 no */
	bool drawn;
} bar;

void sb_cli_progress(void *arg, const struct sb_batch_progress *p)
{
	(void)arg;
	if (!bar.tty)
		bar.tty = isatty(2) ? 1 : -1;
	if (bar.tty < 0)
		return;
	if (p->stage != SB_BATCH_READING && p->stage != SB_BATCH_SETTLING) {
		if (bar.drawn)
			fprintf(stderr, "\r%60s\r", "");
		bar.drawn = false;
		return;
	}
	if (p->seconds < 2.0)
		return;
	double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
	if (frac > 1)
		frac = 1;
	char line[31];
	int fill = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		line[i] = i < fill ? '#' : '.';
	line[30] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%  %5.1fs ",
		p->stage == SB_BATCH_READING ? "reading claims " : "settling       ", line,
		(int)(frac * 100), p->seconds);
	bar.drawn = true;
}

void sb_cli_raise_nofile(void)
{
	struct rlimit rl;
	/* 256 partitions at most, a spill file each, and some to spare. */
	const rlim_t want = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* The English label pads; the Chinese term follows the amount, because
 * its characters are two columns wide on a terminal. */
static void put_money(const char *label, sb_fen v, const char *term)
{
	char buf[SB_MONEY_BUF];
	sb_money_format(v, buf);
	printf("  %-30s %16s%s%s\n", label, buf, *term ? "  " : "", term);
}

typedef struct settle_args {
	sb_batch_config cfg;
	bool evidence, mpi;
} settle_args;

/* settle's own options. */
static int settle_opt(void *arg, int argc, char **argv, int *i)
{
	(void)argc;
	settle_args *s = arg;
	if (!strcmp(argv[*i], "--monitor"))
		s->cfg.monitor = true;
	else if (!strcmp(argv[*i], "--evidence"))
		s->evidence = true;
	else if (!strcmp(argv[*i], "--mpi"))
		s->mpi = true;
	else
		return 0;
	return 1;
}

int sb_cmd_settle(int argc, char **argv)
{
	settle_args s;
	memset(&s, 0, sizeof s);
	sb_batch_config cfg;
	s.cfg.progress = sb_cli_progress;
	sb_cli_batch b = { .cmd = "settle",
			   .accepts = SB_CLI_POLICY_ROOT | SB_CLI_EXPLAIN | SB_CLI_PARTITION |
				      SB_CLI_POVERTY | SB_CLI_SHOW_IDS,
			   .cfg = &s.cfg };
	int status;
	if (!sb_cli_batch_parse(&b, argc, argv, settle_opt, &s, usage_text, &status))
		return status;
	cfg = s.cfg;
	bool quiet = b.quiet, evidence = s.evidence;
	sb_batch_totals t;
	memset(&t, 0, sizeof t);
	sb_diag d;
	sb_diag_clear(&d);
	sb_cli_raise_nofile();
	if (s.mpi && evidence) {
		fprintf(stderr, "sanbao settle: --evidence is not available with --mpi\n");
		return 2;
	}
	sb_status st = s.mpi ? sb_mpi_batch_settle(&cfg, &t, &d) : sb_batch_settle(&cfg, &t, &d);
	if (s.mpi && sb_mpi_rank() != 0)
		quiet = true; /* rank 0 speaks for the run */
	if (st)
		return sb_cli_batch_failed("settle", st, &d);
	char root[65] = "";
	if (evidence) {
		static const char *const plain[] = { "settlements.csv", "rejects.csv",
						     "summary.json", NULL };
		static const char *const monitored[] = { "settlements.csv",
							 "rejects.csv",
							 "summary.json",
							 "warnings.csv",
							 "approaching.csv",
							 "monitor.json",
							 NULL };
		const char *inputs[] = { cfg.persons_path, cfg.identities_path, cfg.claims_path };
		if ((st = sb_audit_evidence_run(cfg.out_dir, cfg.monitor ? monitored : plain,
						cfg.policies_dir, inputs, 3, root, &d)))
			return sb_cli_batch_failed("settle", st, &d);
	}
	if (cfg.explain_id && !t.explained)
		fprintf(stderr,
			"sanbao settle: claim %s was not settled (not in the input, or "
			"rejected: see rejects.csv)\n",
			cfg.explain_id);
	if (quiet)
		return 0;
	printf("sanbao settle: %lld claims read, %lld settled, %lld rejected "
	       "(%d threads, %.2f s)\n",
	       t.claim_rows, t.settled, t.rejected, t.threads, t.seconds);
	printf("  persons: %lld rows, %lld rejected; identities: %lld rows, %lld rejected\n",
	       t.person_rows, t.persons_rejected, t.identity_rows, t.identities_rejected);
	put_money("total cost", t.total, "医疗费总额");
	put_money("paid by funds", t.fund, "基金支付");
	for (int i = 0; i < t.nlayers; i++) {
		char label[80];
		snprintf(label, sizeof label, "  %s (%lld claims)", t.layer_id[i],
			 t.layer_claims[i]);
		put_money(label, t.layer_paid[i], "");
	}
	put_money("out of pocket", t.oop, "个人负担");
	if (s.mpi)
		printf("  outputs: %s/rank-*/settlements.csv (manifest.json), %s/rejects.csv, "
		       "%s/summary.json\n",
		       cfg.out_dir, cfg.out_dir, cfg.out_dir);
	else
		printf("  outputs: %s/settlements.csv, %s/rejects.csv, %s/summary.json\n",
		       cfg.out_dir, cfg.out_dir, cfg.out_dir);
	if (evidence)
		printf("  evidence: %s/evidence.txt, root (SM3) %s\n", cfg.out_dir, root);
	if (t.unresolved)
		fprintf(stderr,
			"sanbao settle: warning: monitoring thresholds of %lld claims could not "
			"be resolved (no income for the year before their policy year): those "
			"claims were not monitored; add the income to the policies\n",
			t.unresolved);
	if (cfg.monitor)
		printf("  monitoring: %lld warnings (warnings.csv), %lld approaching 80%% of a threshold "
		       "(approaching.csv), summary in monitor.json\n",
		       t.warnings, t.approaching);
	bool balanced = t.claim_rows == t.settled + t.rejected && t.fund + t.oop == t.total;
	printf("  reconciliation: rows %lld = %lld settled + %lld rejected; fund + oop = total: %s\n",
	       t.claim_rows, t.settled, t.rejected, balanced ? "yes" : "NO");
	return balanced ? 0 : 1;
}
