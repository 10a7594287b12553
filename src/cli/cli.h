/* cli.h: the subcommands of the `sanbao` program. Each lives in
 * src/cli/cmd_<name>.c and returns the process exit status. */
#ifndef SANBAO_CLI_H
#define SANBAO_CLI_H

int sb_cmd_test(int argc, char **argv);
int sb_cmd_settle(int argc, char **argv);
int sb_cmd_check_policy(int argc, char **argv);
int sb_cmd_gen(int argc, char **argv);
int sb_cmd_roster(int argc, char **argv);
int sb_cmd_pseudonymize(int argc, char **argv);
int sb_cmd_monitor(int argc, char **argv);
int sb_cmd_code_texts(int argc, char **argv);

#endif
