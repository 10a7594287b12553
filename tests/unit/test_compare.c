/* test_compare.c: the disparity measures against published reference values
 * (pysal's `inequality` tests on its Mexico data: Gini, Theil and its
 * TheilD decomposition of 1940 per-capita GDP by the hanson98 regions) and
 * hand-computed weighted values; the winners-and-losers bands at their
 * edges; the compare sink end to end: a reform identical to the baseline
 * changes nothing and puts every person in "no change"; and the demo's
 * comparison with every allocation failing in turn fails cleanly (out of
 * memory, nothing leaked: ASan) or succeeds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "compare/compare.h"
#include "sanbao/batch.h"
#include "sanbao/gen.h"

/* pysal examples/mexico/mexico.csv: pcgdp1940 and hanson98 of the 32 states. */
static const double pcgdp1940[32] = {
	10384, 22361, 9573, 3758, 2934, 8578, 8537, 6909, 17816, 12132, 4359,
	2181, 4414, 5309, 3408, 3327, 6936, 4836, 9073, 1892, 3569, 11016,
	21965, 4372, 4840, 6399, 2459, 7508, 3605, 5203, 7990, 3734};
static const int hanson98[32] = {2, 1, 2, 5, 5, 1, 1, 3, 4, 2, 3, 5, 3, 3, 4, 3,
				 3, 2, 1, 5, 3, 3, 5, 2, 2, 1, 5, 1, 3, 3, 5, 2};

static void test_pysal_mexico(void **state)
{
	(void)state;
	double w[32];
	for (int i = 0; i < 32; i++)
		w[i] = 1;
	sb_disparity x;
	sb_compare_disparity(pcgdp1940, w, hanson98, 32, &x);
	assert_true(x.defined);
	/* inequality/tests/test_theil.py: Theil(y).T[0], TheilD(y, hanson98).bg[0] and
	 * .wg[0] (the TheilD docstring); giddy/inequality test_gini: Gini(y[:, 0]).g */
	assert_true(fabs(x.theil - 0.20894344) < 1e-7);
	assert_true(fabs(x.theil_between - 0.0345889) < 1e-7);
	assert_true(fabs(x.theil_within - 0.17435454) < 1e-7);
	assert_true(fabs(x.gini - 0.35372371173452849) < 1e-12);
	assert_int_equal(x.units, 32);
	assert_true(fabs(x.max_min - 22361.0 / 1892.0) < 1e-12);
	/* test_theil.py: y = 0,0,0,10,10,10 in two regions: T = between = ln 2 */
	const double y2[6] = {0, 0, 0, 10, 10, 10};
	const int g2[6] = {0, 0, 0, 1, 1, 1};
	sb_compare_disparity(y2, w, g2, 6, &x);
	assert_true(fabs(x.theil - 0.6931471805599453) < 1e-12);
	assert_true(fabs(x.theil_between - 0.6931471805599453) < 1e-12);
	assert_true(fabs(x.theil_within) < 1e-12);
	assert_false(x.has_max_min); /* min is 0 */
}

/* By hand: y = 1 (weight 3) and 3 (weight 1): mean 6/4 = 1.5; Gini
 * 2*3*1*|1-3| / (2 * 4^2 * 1.5) = 12/48 = 0.25; variance (3*0.25 + 2.25)/4
 * = 0.75, CV sqrt(0.75)/1.5; Theil (3/6) ln(1/1.5) + (3/6) ln(3/1.5);
 * a weight is a number of identical units: the same as 1, 1, 1, 3. */
static void test_weighted_by_hand(void **state)
{
	(void)state;
	const double y[2] = {1, 3}, w[2] = {3, 1};
	const int g[2] = {7, 9};
	sb_disparity x, r;
	sb_compare_disparity(y, w, g, 2, &x);
	assert_true(fabs(x.mean - 1.5) < 1e-15);
	assert_true(fabs(x.gini - 0.25) < 1e-15);
	assert_true(fabs(x.cv - sqrt(0.75) / 1.5) < 1e-15);
	double t = 0.5 * log(1 / 1.5) + 0.5 * log(3 / 1.5);
	assert_true(fabs(x.theil - t) < 1e-15);
	assert_true(fabs(x.theil_between - t) < 1e-15); /* one unit per group */
	assert_true(fabs(x.max_min - 3) < 1e-15);
	const double y4[4] = {1, 1, 1, 3}, w4[4] = {1, 1, 1, 1};
	sb_compare_disparity(y4, w4, NULL, 4, &r);
	assert_true(fabs(r.gini - x.gini) < 1e-15);
	assert_true(fabs(r.theil - x.theil) < 1e-15);
	assert_true(fabs(r.cv - x.cv) < 1e-15);
	/* A unit of weight 0 is left out; nothing at all is undefined. */
	const double y3[3] = {1, 3, 1000}, w3[3] = {3, 1, 0};
	sb_compare_disparity(y3, w3, NULL, 3, &r);
	assert_true(fabs(r.gini - 0.25) < 1e-15);
	assert_int_equal(r.units, 2);
	sb_compare_disparity(y3, (const double[3]){0, 0, 0}, NULL, 3, &r);
	assert_false(r.defined);
}

static void test_bands_at_their_edges(void **state)
{
	(void)state;
	/* income 1000.00 yuan: 0.1% is 1.00, 5% is 50.00 */
	assert_int_equal(sb_compare_band(0, 100000), SB_BAND_NO_CHANGE);
	assert_int_equal(sb_compare_band(100, 100000), SB_BAND_NO_CHANGE);
	assert_int_equal(sb_compare_band(-100, 100000), SB_BAND_NO_CHANGE);
	assert_int_equal(sb_compare_band(101, 100000), SB_BAND_LOSE_LESS);
	assert_int_equal(sb_compare_band(-101, 100000), SB_BAND_GAIN_LESS);
	assert_int_equal(sb_compare_band(5000, 100000), SB_BAND_LOSE_LESS);
	assert_int_equal(sb_compare_band(-5000, 100000), SB_BAND_GAIN_LESS);
	assert_int_equal(sb_compare_band(5001, 100000), SB_BAND_LOSE_MORE);
	assert_int_equal(sb_compare_band(-5001, 100000), SB_BAND_GAIN_MORE);
	/* no income: any change is more than 5% of it */
	assert_int_equal(sb_compare_band(0, 0), SB_BAND_NO_CHANGE);
	assert_int_equal(sb_compare_band(1, 0), SB_BAND_LOSE_MORE);
	assert_int_equal(sb_compare_band(-1, 0), SB_BAND_GAIN_MORE);
	/* no wrap at the extremes */
	assert_int_equal(sb_compare_band(INT64_MAX, INT64_MAX), SB_BAND_LOSE_MORE);
	assert_int_equal(sb_compare_band(INT64_MIN + 1, INT64_MAX), SB_BAND_GAIN_MORE);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The number after the first `key` following `after` in text. */
static long long number_after(const char *text, const char *after, const char *key)
{
	const char *p = strstr(text, after);
	assert_non_null(p);
	p = strstr(p, key);
	assert_non_null(p);
	return strtoll(p + strlen(key), NULL, 10);
}

static void test_identical_reform_changes_nothing(void **state)
{
	(void)state;
	char dir[] = "/tmp/sanbao-test-compare-XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *src = getenv("SB_SOURCE_DIR");
	char pol_src[PATH_MAX], pol[PATH_MAX], persons[PATH_MAX], idents[PATH_MAX], claims[PATH_MAX],
		out[PATH_MAX], path[PATH_MAX + 32], cmd[PATH_MAX * 2];
	snprintf(pol_src, sizeof pol_src, "%s/policies/demo", src ? src : ".");
	sb_gen_config g;
	sb_gen_stats gs;
	sb_diag d;
	sb_gen_config_init(&g);
	g.persons = 800;
	g.seed = 3;
	g.year = 2024;
	g.threads = 2;
	g.out_dir = dir;
	g.policies_src = pol_src;
	assert_int_equal(sb_gen_run(&g, &gs, &d), SB_OK);
	snprintf(pol, sizeof pol, "%s/policies", dir);
	snprintf(persons, sizeof persons, "%s/persons.csv", dir);
	snprintf(idents, sizeof idents, "%s/identities.csv", dir);
	snprintf(claims, sizeof claims, "%s/claims.csv", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	const char *reform[] = {pol};
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.scenario_dirs = reform;
	cfg.nscenario_dirs = 1;
	cfg.persons_path = persons;
	cfg.identities_path = idents;
	cfg.claims_path = claims;
	cfg.out_dir = out;
	cfg.threads = 2;
	cfg.compare = true;
	sb_batch_totals t;
	assert_int_equal(sb_batch_settle(&cfg, &t, &d), SB_OK);
	snprintf(path, sizeof path, "%s/compare.json", out);
	char *json = slurp(path);
	const char *diff = strstr(json, "\"differences\"");
	assert_non_null(diff);
	assert_non_null(strstr(diff, "\"fund\": 0.00"));
	assert_non_null(strstr(diff, "\"oop\": 0.00"));
	assert_int_equal(number_after(diff, "\"persons\": [", "\"no_change\": "), 800);
	assert_int_equal(number_after(diff, "\"persons\": [", "\"total\": "), 800);
	assert_int_equal(number_after(json, "\"results\"", "\"claims\": "), t.settled);
	free(json);
	snprintf(path, sizeof path, "%s/persons_changed.csv", out);
	char *changed = slurp(path);
	char *nl = strchr(changed, '\n'); /* the header, and no row */
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	free(changed);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static char fault_out[PATH_MAX];

static sb_status compare_demo(sb_diag *d)
{
	const char *src = getenv("SB_SOURCE_DIR");
	char base[PATH_MAX], reform[PATH_MAX], persons[PATH_MAX], idents[PATH_MAX],
		claims[PATH_MAX];
	snprintf(base, sizeof base, "%s/policies/demo", src ? src : ".");
	snprintf(reform, sizeof reform, "%s/policies/reforms/tilt", src ? src : ".");
	snprintf(persons, sizeof persons, "%s/data/demo/persons.csv", src ? src : ".");
	snprintf(idents, sizeof idents, "%s/data/demo/identities.csv", src ? src : ".");
	snprintf(claims, sizeof claims, "%s/data/demo/claims.csv", src ? src : ".");
	const char *reforms[] = {reform};
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = base;
	cfg.scenario_dirs = reforms;
	cfg.nscenario_dirs = 1;
	cfg.persons_path = persons;
	cfg.identities_path = idents;
	cfg.claims_path = claims;
	cfg.out_dir = fault_out;
	cfg.threads = 1;
	cfg.compare = true;
	cfg.no_settlements = true;
	cfg.poverty_line = 230000;
	sb_batch_totals t;
	return sb_batch_settle(&cfg, &t, d);
}

static void test_compare_out_of_memory(void **state)
{
	(void)state;
	/* On tmpfs when there is one: a run fsyncs its outputs. */
	char dir[64];
	snprintf(dir, sizeof dir, "%s/sanbao-test-compare-oom-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	assert_non_null(mkdtemp(dir));
	snprintf(fault_out, sizeof fault_out, "%s/out", dir);
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(compare_demo(&d), SB_OK);
	long n;
	long runs = 0;
	for (n = 0;; n++) {
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = compare_demo(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK) {
			if (st != SB_ENOMEM)
				fail_msg("allocation %ld failing gave status %d: %s", n, st, d.message);
			if (!d.message[0])
				fail_msg("allocation %ld failing gave no message", n);
		}
		runs++;
		if (st == SB_OK && made <= n)
			break;
		assert_true(n < 100000);
	}
	assert_true(runs > 50);
	print_message("compare: %ld runs, allocation 0..%ld failing in turn\n", runs, n - 1);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pysal_mexico),
		cmocka_unit_test(test_weighted_by_hand),
		cmocka_unit_test(test_bands_at_their_edges),
		cmocka_unit_test(test_identical_reform_changes_nothing),
		cmocka_unit_test(test_compare_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
