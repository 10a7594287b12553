/* monitor_check.c: `monitor:` expectations of a case. */
#include "case/case_int.h"

bool sb_case_check_monitor(sb_case *k, sb_ynode monitor, FILE *out)
{
	(void)k;
	(void)monitor;
	fprintf(out, "    monitor expectations are not supported yet\n");
	return false;
}
