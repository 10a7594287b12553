/* test_project.c: the projection's pieces (src/project): the generator's
 * stream pinned against an independent implementation of splitmix64 and
 * xoshiro256**, the statutory retirement schedule of the 2024 decision at
 * its turning points, the shipped life table, and every allocation of a
 * run failing in turn. */
/* clang-format off: cmocka needs these first, in this order */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "project/project_int.h"
#include "sanbao/project.h"

static void test_rng_stream(void **state)
{
	(void)state;
	sb_project_rng r;
	sb_project_rng_seed(&r, 0);
	/* splitmix64's first output from 0 is the published 0xe220a8397b1dcdaf */
	assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
	assert_true(r.s[3] == 0xf88bb8a8724c81ecULL);
	/* xoshiro256**'s first three outputs, computed by a separate Python
	 * implementation of the reference code */
	assert_true(sb_project_rng_next(&r) == 0x99ec5f36cb75f2b4ULL);
	assert_true(sb_project_rng_next(&r) == 0xbf6e1f784956452aULL);
	assert_true(sb_project_rng_next(&r) == 0x1a5f849d4933e6e0ULL);
}

static void test_rng_normal(void **state)
{
	(void)state;
	sb_project_rng r;
	sb_project_rng_seed(&r, 12345);
	double sum = 0, sq = 0;
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = sb_project_rng_uniform(&r);
		assert_true(u > 0 && u < 1);
		double z = sb_project_rng_normal(&r);
		sum += z;
		sq += z * z;
	}
	double mean = sum / n, var = sq / n - mean * mean;
	assert_true(fabs(mean) < 0.01);
	assert_true(fabs(var - 1) < 0.02);
}

static const pj_retire_group men = { 60, 1965 * 12, 4, 36 }, cadre = { 55, 1970 * 12, 4, 36 },
			     worker = { 50, 1975 * 12, 2, 60 }, men_old = { 60, 1965 * 12, 0, 0 };

static void test_retirement(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		const pj_retire_group *g;
		int birth, year;
		double share;
	} rows[] = {
		{ "men born 1964 all reached 60 in 2024", &men, 1964, 2024, 1.0 },
		{ "men born 1965: none in 2024", &men, 1965, 2024, 0.0 },
		/* born Jan-Apr 1965: 60 and 1 month (Feb-May 2025); May-Aug: 2
		 * months (Jul-Oct); Sep: 3 months (Dec 2025); Oct-Dec in 2026 */
		{ "men born 1965: 9 months of births retire in 2025", &men, 1965, 2025, 9.0 / 12 },
		{ "men born 1965: all by 2026", &men, 1965, 2026, 1.0 },
		{ "men born 1977: 63, in 2040 and not before", &men, 1977, 2039, 0.0 },
		{ "men born 1977 reach 63 in 2040", &men, 1977, 2040, 1.0 },
		{ "without the raise, men born 1965 retire in 2025", &men_old, 1965, 2025, 1.0 },
		{ "women cadres born 1969: 55 in 2024", &cadre, 1969, 2024, 1.0 },
		{ "women cadres born 1970: none in 2024", &cadre, 1970, 2024, 0.0 },
		/* women workers born Jan-Apr 1984: 50 and 55-56 months, Aug-Dec
		 * 2038; from May 1984 in 2039; Nov-Dec 1984 the full 60 months */
		{ "women workers born 1984: 4 months of births by 2038", &worker, 1984, 2038,
		  4.0 / 12 },
		{ "women workers born 1984: all by 2039", &worker, 1984, 2039, 1.0 },
		{ "women workers born 1985: 55, in 2040", &worker, 1985, 2039, 0.0 },
		{ "women workers born 1974: 50 in 2024", &worker, 1974, 2024, 1.0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		double got = pj_retire_share(rows[i].g, rows[i].birth, rows[i].year);
		if (fabs(got - rows[i].share) > 1e-12)
			fail_msg("%s: share %.4f, expected %.4f", rows[i].what, got, rows[i].share);
	}
}

static void test_lifetable(void **state)
{
	(void)state;
	const char *src = getenv("SB_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof path, "%s/scenarios/projection/life-table-census2000.csv",
		 src ? src : ".");
	pj_lifetable lt;
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(pj_lifetable_load(path, &lt, &d), SB_OK);
	/* 0-4: male 5.25 per 1000; 100+: female 375.24 per 1000 */
	assert_true(fabs(lt.q[0][0] - (1 - exp(-0.00525))) < 1e-15);
	assert_true(fabs(lt.q[0][4] - (1 - exp(-0.00525))) < 1e-15);
	assert_true(fabs(lt.q[1][100] - (1 - exp(-0.37524))) < 1e-15);
	assert_true(fabs(lt.q[0][62] - (1 - exp(-0.01792))) < 1e-15);
	for (int a = 1; a < PJ_AGES; a++)
		assert_true(lt.q[0][a] > 0 && lt.q[0][a] < 1);
}

/* ---- every allocation failing in turn ------------------------------------ */

static char fx[256];

static void put(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", fx, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* An ID of region 990100 born on `birth` (YYYYMMDD) with sequence seq. */
static void make_id(char out[19], const char *birth, int seq)
{
	snprintf(out, 19, "990100%s%03d", birth, seq);
	out[17] = sb_id_check_char(out);
	out[18] = '\0';
}

static sb_status project_once(sb_diag *d)
{
	const char *src = getenv("SB_SOURCE_DIR");
	char policies[600], persons[300], settlements[300], scen[300], out[300];
	snprintf(policies, sizeof policies, "%s/policies/demo", src ? src : ".");
	snprintf(persons, sizeof persons, "%s/persons.csv", fx);
	snprintf(settlements, sizeof settlements, "%s/settlements.csv", fx);
	snprintf(scen, sizeof scen, "%s/s.yaml", fx);
	snprintf(out, sizeof out, "%s/out", fx);
	sb_project_config cfg = {
		.policies_dir = policies,
		.persons_path = persons,
		.settlements_path = settlements,
		.scenario_paths = { scen },
		.nscenarios = 1,
		.out_dir = out,
		.years = 5,
		.runs = 20,
		.seed = 3,
	};
	sb_project_totals t;
	return sb_project_run(&cfg, &t, d);
}

static void test_project_oom(void **state)
{
	(void)state;
	snprintf(fx, sizeof fx, "/tmp/sanbao-test-project-XXXXXX");
	assert_non_null(mkdtemp(fx));
	char a[19], b[19], c[19], text[1024];
	make_id(a, "19500101", 11);
	make_id(b, "19800101", 22);
	make_id(c, "19900101", 32);
	snprintf(text, sizeof text,
		 "id,scheme,region,household,employment,tier,income\n"
		 "%s,resident,990100,,,,\n%s,employee,990100,,active,,\n%s,employee,990100,,retired,,\n",
		 a, b, c);
	put("persons.csv", text);
	snprintf(text, sizeof text,
		 "id,person,region,date,visit,basic_res,basic_emp,assistance\n"
		 "C1,%s,990100,2024-03-01,inpatient,1000.00,,50.00\n"
		 "C2,%s,990100,2024-04-01,outpatient,,200.00,\n",
		 a, c);
	put("settlements.csv", text);
	snprintf(text, sizeof text,
		 "projection: 1\nname: s\nlife_table: %s/scenarios/projection/life-table-census2000.csv\n"
		 "cost_growth: 5%%\nrevenue_growth: 4%%\nrevenue: {kind: policy}\n"
		 "opening_months: {employee: 12, resident: 6}\n"
		 "monte_carlo: {cost_growth_sd: 2%%, utilisation_sd: 3%%}\n",
		 getenv("SB_SOURCE_DIR") ? getenv("SB_SOURCE_DIR") : ".");
	put("s.yaml", text);
	long n;
	for (n = 0;; n++) {
		sb_diag d;
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = project_once(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK) {
			if (st != SB_ENOMEM)
				fail_msg("allocation %ld failing gave status %d: %s", n, st,
					 d.message);
			if (!d.message[0])
				fail_msg("allocation %ld failing gave no message", n);
		}
		if (st == SB_OK && made <= n)
			break;
		if (n > 200000)
			fail_msg("too many allocations");
	}
	assert_true(n > 10);
	print_message("project: %ld allocations failed in turn\n", n);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_stream),  cmocka_unit_test(test_rng_normal),
		cmocka_unit_test(test_retirement),  cmocka_unit_test(test_lifetable),
		cmocka_unit_test(test_project_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
