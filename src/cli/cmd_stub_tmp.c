#include "cli/cli.h"
int sb_cmd_settle(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int sb_cmd_check_policy(int argc, char **argv) { (void)argc; (void)argv; return 1; }
