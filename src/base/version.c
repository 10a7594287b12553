/* version.c: the library's version at run time (sanbao/version.h). */
#include "sanbao/version.h"

const char *sb_version_string(void)
{
	return SB_VERSION_STRING;
}
