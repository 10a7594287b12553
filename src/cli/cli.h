/* cli.h: the subcommands of the `sanbao` program. Each lives in
 * src/cli/cmd_<name>.c and returns the process exit status. */
#ifndef SANBAO_CLI_H
#define SANBAO_CLI_H

int sb_cmd_test(int argc, char **argv);
int sb_cmd_settle(int argc, char **argv);
int sb_cmd_check_policy(int argc, char **argv);
int sb_cmd_gen(int argc, char **argv);
int sb_cmd_roster(int argc, char **argv);
int sb_cmd_fund(int argc, char **argv);
int sb_cmd_pseudonymize(int argc, char **argv);
int sb_cmd_monitor(int argc, char **argv);
int sb_cmd_code_texts(int argc, char **argv);
int sb_cmd_serve(int argc, char **argv);
int sb_cmd_export(int argc, char **argv);
int sb_cmd_verify_log(int argc, char **argv);
int sb_cmd_audit(int argc, char **argv);
int sb_cmd_verify_evidence(int argc, char **argv);
int sb_cmd_compare(int argc, char **argv);
int sb_cmd_report(int argc, char **argv);
int sb_cmd_project(int argc, char **argv);

/* The batch's progress bar on stderr when it is a terminal (cmd_settle.c):
 * an sb_batch_progress_fn, arg unused. */
struct sb_batch_progress;
void sb_cli_progress(void *arg, const struct sb_batch_progress *p);
/* Raises the soft limit of open files towards the hard one: the batch
 * needs two per partition (cmd_settle.c). */
void sb_cli_raise_nofile(void);

/* ---- the options the batch commands share (batch_args.c) ---------------
 *
 * settle, compare, monitor and audit read the same inputs into an
 * sb_batch_config: POLICIES_FLAG DIR (default --policies), --persons F,
 * --identities F, CLAIMS_FLAG F (default --claims), --out DIR, --tmp DIR,
 * --threads N (1 to 64) and --quiet; and, where `accepts` says so,
 * --policy-root DIR, --explain ID (printed to stdout), --partition-mb N,
 * --poverty-line YUAN and --show-ids. One parser, one set of messages. */
#include <stdbool.h>

#include "sanbao/base.h"

struct sb_batch_config;

enum {
	SB_CLI_POLICY_ROOT = 1u << 0,
	SB_CLI_EXPLAIN = 1u << 1,
	SB_CLI_PARTITION = 1u << 2,
	SB_CLI_POVERTY = 1u << 3,
	SB_CLI_SHOW_IDS = 1u << 4,
};

typedef struct sb_cli_batch {
	const char *cmd;           /* "settle": the messages' prefix */
	const char *policies_flag; /* NULL: "--policies" */
	const char *claims_flag;   /* NULL: "--claims" */
	unsigned accepts;          /* SB_CLI_* */
	struct sb_batch_config *cfg;
	bool quiet; /* --quiet was given (cfg->progress is then NULL) */
} sb_cli_batch;

/* A command's own options: takes argv[*i] (and advances *i past its value)
 * and returns 1, returns 0 when it is not one, -1 when its value is bad
 * (the message printed). */
typedef int sb_cli_extra_fn(void *arg, int argc, char **argv, int *i);

/* One shared option at argv[*i]: as an sb_cli_extra_fn. */
int sb_cli_batch_opt(sb_cli_batch *b, int argc, char **argv, int *i);
/* The whole command line: shared options, then extra's, then the required
 * ones checked. Returns true when the command should run; false with the
 * exit status in *status (0 after --help, 2 on a usage error, printed with
 * the usage text). */
bool sb_cli_batch_parse(sb_cli_batch *b, int argc, char **argv, sb_cli_extra_fn *extra, void *arg,
			const char *usage, int *status);
/* A failed run's message on stderr ("sanbao CMD: ..."); returns 1. */
int sb_cli_batch_failed(const char *cmd, sb_status st, sb_diag *d);

#endif
