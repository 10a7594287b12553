/* cmd_report.c: `sanbao report`: one self-contained HTML file with tables
 * and charts from the outputs of settle, compare, roster and code-texts. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "report/report.h"

static const char usage_text[] =
	"usage: sanbao report --in DIR [--in DIR ...] --out FILE.html [--title TEXT]\n"
	"                     [--assets DIR]\n"
	"Writes one HTML file that opens offline (style, charts and data inlined) from\n"
	"the --out folders of `sanbao settle` (summary.json, monitor.json) and\n"
	"`sanbao compare` (compare.json), `sanbao roster` (roster_summary.json),\n"
	"`sanbao fund` (fund.json: accounts, the adjustment fund, indicators) and\n"
	"`sanbao code-texts` (tables.json, table5/table6 CSVs); each folder's kind is\n"
	"told by the files it holds: money by layer and region, effective rates by\n"
	"region, warnings, SDG 3.8.2 shares, the reform's cost by region, winners and\n"
	"losers by income decile, regional disparity with Lorenz curves; roster findings\n"
	"by region; policy texts' goals, tools and coordination by stage, tool shares by\n"
	"stage, the tool x goal and coordination x goal cross-tables. Resident IDs are\n"
	"masked. The file is replaced only when complete.\n"
	"  --assets DIR   app.js, style.css and node_modules/echarts (default: the report/\n"
	"                 folder beside the build folder, or $SANBAO_REPORT_ASSETS)\n";

/* report/ of the source tree the program was built in (<repo>/build/sanbao). */
static void default_assets(char *out, size_t n)
{
	const char *env = getenv("SANBAO_REPORT_ASSETS");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0) {
		snprintf(out, n, "report");
		return;
	}
	exe[k] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof probe, "%s/../report/app.js", exe);
	int w = !access(probe, R_OK) ? snprintf(out, n, "%s/../report", exe)
				     : snprintf(out, n, "%s/../share/sanbao/report", exe);
	if (w < 0 || (size_t)w >= n)
		snprintf(out, n, "report");
}

int sb_cmd_report(int argc, char **argv)
{
	sb_report_config cfg;
	memset(&cfg, 0, sizeof cfg);
	char assets[PATH_MAX];
	for (int i = 1; i < argc; i += 2) { /* every option takes a value */
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--in") && v) {
			if (cfg.nin == SB_REPORT_MAX_INPUTS) {
				fprintf(stderr, "sanbao report: at most %d --in folders\n",
					SB_REPORT_MAX_INPUTS);
				return 2;
			}
			cfg.in[cfg.nin++] = v;
		} else if (!strcmp(a, "--out") && v) {
			cfg.out = v;
		} else if (!strcmp(a, "--assets") && v) {
			cfg.assets = v;
		} else if (!strcmp(a, "--title") && v) {
			cfg.title = v;
		} else {
			fprintf(stderr, "sanbao report: unknown or incomplete option %s\n\n%s", a,
				usage_text);
			return 2;
		}
	}
	if (!cfg.nin || !cfg.out) {
		fprintf(stderr, "sanbao report: %s is required\n\n%s", cfg.nin ? "--out" : "--in",
			usage_text);
		return 2;
	}
	if (!cfg.assets) {
		default_assets(assets, sizeof assets);
		cfg.assets = assets;
	}
	sb_report_stats st;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_report_write(&cfg, &st, &d)) {
		char msg[1400];
		fprintf(stderr, "sanbao report: %s\n", sb_diag_format(&d, msg, sizeof msg));
		return 1;
	}
	printf("sanbao report: %s (%d input files, %zu bytes)\n", cfg.out, st.files, st.bytes);
	return 0;
}
