/* placeholder replaced below */
int sb_cmd_report(int argc, char **argv);
int sb_cmd_report(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 2;
}
