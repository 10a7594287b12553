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

/* The batch's progress bar on stderr when it is a terminal (cmd_settle.c):
 * an sb_batch_progress_fn, arg unused. */
struct sb_batch_progress;
void sb_cli_progress(void *arg, const struct sb_batch_progress *p);
/* Raises the soft limit of open files towards the hard one: the batch
 * needs two per partition (cmd_settle.c). */
void sb_cli_raise_nofile(void);

#endif
