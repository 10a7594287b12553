/* cmd_gen.c: `sanbao gen`: a synthetic demo province (persons, identities,
 * a year of claims and the policies they settle under) for trying and
 * benchmarking the engine. Parses options; the work is sb_gen_run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sanbao/gen.h"

/* The data folder relative to the folder of the executable, as installed
 * ("../share/sanbao"); CMakeLists.txt sets it from GNUInstallDirs. */
#ifndef SB_BIN_TO_DATA
#define SB_BIN_TO_DATA "../share/sanbao"
#endif

static const char usage_text[] =
	"usage: sanbao gen --persons N --seed S [--year Y] --out DIR\n"
	"                  [--threads T] [--policies-src DIR] [--anomalies RATE]\n"
	"\n"
	"Writes a synthetic, reproducible population of the demo province (990000)\n"
	"and a year of its claims: DIR/persons.csv, identities.csv, claims.csv\n"
	"(data-format.md) and DIR/policies/ with the policy files they need.\n"
	"The same N, S and Y give the same bytes, whatever T.\n"
	"\n"
	"  --persons N        persons to make, 1 to 100000000\n"
	"  --seed S           any whole number 0 to 18446744073709551615\n"
	"  --year Y           the claims' year (default 2024)\n"
	"  --out DIR          output folder, created when missing\n"
	"  --threads T        worker threads (default 2)\n"
	"  --policies-src DIR where to copy policies from (default: the demo policies\n"
	"                     installed beside the program, " SB_BIN_TO_DATA "/policies/demo\n"
	"                     from its folder, or ../policies/demo from a build folder\n"
	"                     in the source tree)\n"
	"  --anomalies RATE   also write DIR/extract.csv, the claims as the platform paid\n"
	"                     them (settled, actual_<layer>, mdtrt_id, begin), with RATE of\n"
	"                     the persons (0 to 0.5, e.g. 0.001 or 0.1%) given one planted\n"
	"                     anomaly each, every kind `sanbao audit` detects at least once\n"
	"                     where the province has a person or facility it fits,\n"
	"                     and DIR/anomalies.csv, the key of what was planted; 0 writes\n"
	"                     the clean extract\n"
	"\n"
	"The figures the data is calibrated to are in docs/calibration.md.\n";

/* The bundled demo policies, found relative to the running executable
 * (no path is compiled in): <exe dir>/SB_BIN_TO_DATA/policies/demo when
 * installed, <exe dir>/../policies/demo when run from a build folder inside
 * the source tree. Writes the folder into buf and returns it, or NULL with
 * the places looked at in tried. */
static const char *default_policies(char *buf, size_t n, char *tried, size_t ntried)
{
	static const char *const rel[] = {SB_BIN_TO_DATA "/policies/demo", "../policies/demo"};
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (len <= 0) {
		snprintf(tried, ntried, "(the program's own path is unknown: /proc/self/exe)");
		return NULL;
	}
	exe[len] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	tried[0] = 0;
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		struct stat st;
		int w = snprintf(buf, n, "%s/%s", exe, rel[i]);

		if (w < 0 || (size_t)w >= n)
			continue;
		if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
			return buf;
		size_t used = strlen(tried);
		snprintf(tried + used, ntried - used, "%s%s", used ? ", " : "", buf);
	}
	return NULL;
}

/* A whole decimal number, nothing else: "1e6", "-1", " 5" and "" are
 * refused so a typo never becomes a different population. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;

		uint64_t digit = (uint64_t)(*s - '0');

		if (v > (max - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

/* "--name VALUE" or "--name=VALUE": returns the value and advances *i, or
 * NULL when argv[*i] is not this option. *missing is set when the option
 * has no value. */
static const char *option(int argc, char **argv, int *i, const char *name,
			  int *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int sb_cmd_gen(int argc, char **argv)
{
	sb_gen_config cfg;
	sb_gen_stats stats;
	sb_diag d;
	int have_persons = 0, have_seed = 0;
	const char *policies = NULL;

	sb_gen_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *v;
		int missing = 0;
		uint64_t n;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if ((v = option(argc, argv, &i, "--persons", &missing))) {
			if (parse_u64(v, SB_GEN_MAX_PERSONS, &n) || n == 0) {
				fprintf(stderr, "sanbao gen: --persons \"%s\" is not a number of persons "
						"from 1 to %llu\n",
					v, (unsigned long long)SB_GEN_MAX_PERSONS);
				return 2;
			}
			cfg.persons = n;
			have_persons = 1;
		} else if ((v = option(argc, argv, &i, "--seed", &missing))) {
			if (parse_u64(v, UINT64_MAX, &cfg.seed)) {
				fprintf(stderr, "sanbao gen: --seed \"%s\" is not a whole number "
						"from 0 to %llu\n",
					v, (unsigned long long)UINT64_MAX);
				return 2;
			}
			have_seed = 1;
		} else if ((v = option(argc, argv, &i, "--year", &missing))) {
			if (parse_u64(v, SB_GEN_YEAR_MAX, &n) || n < SB_GEN_YEAR_MIN) {
				fprintf(stderr, "sanbao gen: --year \"%s\" is not a year from %d to %d\n",
					v, SB_GEN_YEAR_MIN, SB_GEN_YEAR_MAX);
				return 2;
			}
			cfg.year = (int)n;
		} else if ((v = option(argc, argv, &i, "--threads", &missing))) {
			if (parse_u64(v, SB_GEN_MAX_THREADS, &n) || n == 0) {
				fprintf(stderr, "sanbao gen: --threads \"%s\" is not a number from 1 to %d\n",
					v, SB_GEN_MAX_THREADS);
				return 2;
			}
			cfg.threads = (int)n;
		} else if ((v = option(argc, argv, &i, "--out", &missing))) {
			cfg.out_dir = v;
		} else if ((v = option(argc, argv, &i, "--anomalies", &missing))) {
			int64_t bp = 0;
			const char *why = "is not a share";
			int bad = sb_bp_parse(v, strlen(v), 1, &bp, &why) != SB_OK;
			if (bad || bp < 0 || bp > SB_GEN_MAX_ANOMALIES) {
				fprintf(stderr, "sanbao gen: --anomalies \"%s\" %s: give a share of the "
						"persons from 0 to 0.5 with at most 4 decimals (0.001) or a "
						"percent (0.1%%)\n",
					v, bad ? why : "is out of range");
				return 2;
			}
			cfg.anomalies_bp = (int)bp;
		} else if ((v = option(argc, argv, &i, "--policies-src", &missing))) {
			policies = v;
		} else if (missing) {
			fprintf(stderr, "sanbao gen: %s needs a value\n", argv[i]);
			return 2;
		} else {
			fprintf(stderr, "sanbao gen: unknown option \"%s\"\n\n%s", argv[i],
				usage_text);
			return 2;
		}
	}
	if (!have_persons || !have_seed || !cfg.out_dir || !cfg.out_dir[0]) {
		fprintf(stderr, "sanbao gen: %s is required\n\n%s",
			!have_persons ? "--persons N" : !have_seed ? "--seed S" : "--out DIR",
			usage_text);
		return 2;
	}
	char found[4200], tried[8600];
	if (!policies && !(policies = default_policies(found, sizeof found, tried, sizeof tried))) {
		fprintf(stderr, "sanbao gen: the bundled demo policies are not where they are "
				"installed or built (looked in %s): give --policies-src DIR, e.g. "
				"the policies/demo folder of the source tree\n", tried);
		return 2;
	}
	cfg.policies_src = policies;

	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sb_diag_clear(&d);
	if (sb_gen_run(&cfg, &stats, &d) != SB_OK) {
		char buf[1400];

		fprintf(stderr, "sanbao gen: %s\n", sb_diag_format(&d, buf, sizeof buf));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("sanbao gen: %llu persons in %llu households, %llu identity rows, "
	       "%llu claims (%.1f MB) and %llu policy files in %s (%.2f s)\n",
	       (unsigned long long)stats.persons, (unsigned long long)stats.households,
	       (unsigned long long)stats.identities, (unsigned long long)stats.claims,
	       (double)stats.bytes / 1e6, (unsigned long long)stats.policy_files,
	       cfg.out_dir, secs);
	if (cfg.anomalies_bp >= 0) {
		uint64_t n = 0;
		for (int k = 0; k < SB_GEN_ANOMALY_KINDS; k++)
			n += stats.anomalies[k];
		printf("  extract.csv: %llu claims as paid (%llu rejected by settlement); "
		       "anomalies.csv: %llu planted",
		       (unsigned long long)stats.extract_rows,
		       (unsigned long long)stats.extract_rejected, (unsigned long long)n);
		for (int k = 0; n && k < SB_GEN_ANOMALY_KINDS; k++)
			printf("%s %s %llu", k ? "," : ":", sb_gen_anomaly_name(k),
			       (unsigned long long)stats.anomalies[k]);
		printf("\n");
	}
	return 0;
}
