/* test_fund.c: the funding rules as compiled by the policy loader and read
 * through include/sanbao/fund.h: entries by year and their key-by-key
 * inheritance, a person's contributions (tiers, subsidies by identity
 * priority, wage-base bounds, retirees), months of payment rounded half up
 * (deficits too) and the warning band they fall in, and every allocation
 * of a funding load failing in turn without a leak. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/fund.h"
#include "sanbao/policy.h"

static sb_policyset *load(const char *dir)
{
	const char *src = getenv("SB_SOURCE_DIR");
	if (src)
		assert_int_equal(chdir(src), 0);
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, dir, &d))
		fail_msg("%s: %s", dir, d.message);
	return set;
}

static int sym(const sb_policyset *set, sb_symkind k, const char *w)
{
	return sb_policyset_symbol(set, k, w, strlen(w));
}

static void test_entries_and_inheritance(void **state)
{
	(void)state;
	sb_policyset *set = load("tests/fixtures/fund/policies");
	const sb_funding *p = sb_policy_funding(sb_policyset_find(set, "980000"), 2024);
	const sb_funding *a = sb_policy_funding(sb_policyset_find(set, "980100"), 2024);
	const sb_funding *b = sb_policy_funding(sb_policyset_find(set, "980200"), 2024);
	assert_non_null(p);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(sb_policy_funding(sb_policyset_find(set, "980200"), 2023));
	assert_int_equal(p->subsidy, 67000);
	assert_int_equal(a->subsidy, 67000);
	/* 980200 replaced the subsidy only: the tiers, rates and the rest stay */
	assert_int_equal(b->subsidy, 70000);
	assert_int_equal(b->ntiers, 2);
	assert_int_equal(b->employer_bp, 800);
	assert_int_equal(b->nsubsidies, 3);
	assert_true(b->adjustment.present);
	assert_int_equal(b->adjustment.pay_up_bp, 1000);
	assert_int_equal(b->adjustment.emergency_below, 300);
	/* subsidies in the identities' priority order, whatever the map's */
	assert_int_equal(b->subsidies[0].identity, sym(set, SB_SYM_IDENTITY, "tekun"));
	assert_int_equal(b->subsidies[0].kind, SB_SUBSIDY_FULL);
	assert_int_equal(b->subsidies[1].kind, SB_SUBSIDY_SHARE);
	assert_int_equal(b->subsidies[1].value, 5000);
	assert_int_equal(b->subsidies[2].kind, SB_SUBSIDY_AMOUNT);
	assert_int_equal(b->subsidies[2].value, 10000);
	sb_policyset_free(set);

	/* The demo: two dated entries, the 2024 one laid over 2023's. */
	set = load("policies/demo");
	const sb_policy *dp = sb_policyset_find(set, "990300");
	const sb_funding *f23 = sb_policy_funding(dp, 2023), *f24 = sb_policy_funding(dp, 2024);
	assert_int_equal(f23->tiers[0].individual, 38000);
	assert_int_equal(f23->subsidy, 64000);
	assert_int_equal(f24->tiers[0].individual, 40000);
	assert_int_equal(f24->subsidy, 67000);
	assert_int_equal(f24->employer_bp, f23->employer_bp);
	assert_int_equal(f24->nbands, 4);
	assert_int_equal(sb_policy_funding_count(dp), 2);
	sb_policyset_free(set);
}

static void test_contributions(void **state)
{
	(void)state;
	sb_policyset *set = load("tests/fixtures/fund/policies");
	const sb_funding *f = sb_policy_funding(sb_policyset_find(set, "980100"), 2024);
	int student = sym(set, SB_SYM_TIER, "student");
	uint64_t tekun = 1ULL << (sym(set, SB_SYM_IDENTITY, "tekun") + 1);
	uint64_t dibao = 1ULL << (sym(set, SB_SYM_IDENTITY, "dibao") + 1);
	uint64_t mon = 1ULL << (sym(set, SB_SYM_IDENTITY, "monitored") + 1);
	const char *why;
	sb_contrib c;
	static const struct {
		sb_fund_person p;
		sb_fen individual, assistance, paid, subsidy, employer, pool, account;
	} rows[] = {
		/* resident: tier, other, subsidies by priority */
		{{1, 0xff, -2, false, 0, 0}, 40000, 0, 40000, 67000, 0, 107000, 0},
		{{1, 0xff, -2, false, 0, 0}, 40000, 0, 40000, 67000, 0, 107000, 0},
		{{1, 0xff, -1, false, 0, 0}, 40000, 0, 40000, 67000, 0, 107000, 0},
		/* employee: below base_min, above base_max, default, retired */
		{{0, 0, -1, true, 300000, 0}, 96000, 0, 96000, 0, 384000, 384000, 96000},
		{{0, 0, -1, true, 2500000, 0}, 480000, 0, 480000, 0, 1920000, 1920000, 480000},
		{{0, 0xff, -1, false, 0, 0}, 144000, 0, 144000, 0, 576000, 576000, 144000},
		{{0, 1, -1, true, 800000, 0}, 0, 0, 0, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		sb_fund_person p = rows[i].p;
		if (i == 0)
			p.tier = -1;
		if (i == 1)
			p.tier = sym(set, SB_SYM_TIER, "nosuch"); /* not a tier: other */
		assert_int_equal(sb_funding_contrib(f, &p, &c, &why), SB_OK);
		assert_int_equal(c.individual, rows[i].individual);
		assert_int_equal(c.assistance, rows[i].assistance);
		assert_int_equal(c.paid, rows[i].paid);
		assert_int_equal(c.subsidy, rows[i].subsidy);
		assert_int_equal(c.employer, rows[i].employer);
		assert_int_equal(c.pool, rows[i].pool);
		assert_int_equal(c.account, rows[i].account);
	}
	sb_fund_person p = {1, 0xff, student, false, 0, 0};
	assert_int_equal(sb_funding_contrib(f, &p, &c, &why), SB_OK);
	assert_int_equal(c.individual, 30000);
	/* 特困 and 低保 both held: 特困's full subsidy (priority), not 低保's half */
	p.held = dibao | tekun;
	assert_int_equal(sb_funding_contrib(f, &p, &c, &why), SB_OK);
	assert_int_equal(c.assistance, 30000);
	assert_int_equal(c.paid, 0);
	assert_int_equal(c.assist_identity, sym(set, SB_SYM_IDENTITY, "tekun"));
	p.held = dibao;
	assert_int_equal(sb_funding_contrib(f, &p, &c, &why), SB_OK);
	assert_int_equal(c.assistance, 15000);
	/* 定额 100 of a 300 premium; never more than the premium */
	p.held = mon;
	assert_int_equal(sb_funding_contrib(f, &p, &c, &why), SB_OK);
	assert_int_equal(c.assistance, 10000);
	assert_int_equal(c.pool, 30000 + 67000);
	sb_policyset_free(set);
}

static void test_months_and_bands(void **state)
{
	(void)state;
	int64_t m;
	assert_false(sb_fund_months(100, 0, &m));
	assert_true(sb_fund_months(2460000, 1500000, &m));
	assert_int_equal(m, 1968);
	assert_true(sb_fund_months(-239000, 650000, &m)); /* -4.4123 */
	assert_int_equal(m, -441);
	assert_true(sb_fund_months(1, 2400, &m)); /* 0.5 hundredths: half up */
	assert_int_equal(m, 1);
	assert_true(sb_fund_months(-1, 2400, &m)); /* half away from zero */
	assert_int_equal(m, -1);
	assert_true(sb_fund_months(INT64_MAX / 2, 1, &m)); /* clamped, no overflow */
	assert_int_equal(m, INT64_MAX);
	sb_policyset *set = load("tests/fixtures/fund/policies");
	const sb_funding *f = sb_policy_funding(sb_policyset_find(set, "980100"), 2024);
	assert_int_equal(sb_funding_band(f, true, -441), 0);
	assert_int_equal(sb_funding_band(f, true, 299), 0);
	assert_int_equal(sb_funding_band(f, true, 300), 1);
	assert_int_equal(sb_funding_band(f, true, 1499), 2);
	assert_int_equal(sb_funding_band(f, true, 1500), 3);
	assert_int_equal(sb_funding_band(f, false, 0), 3);
	assert_int_equal(sb_funding_band(NULL, true, 0), -1);
	sb_policyset_free(set);
}

/* Every allocation of loading the fixture's funding fails in turn: a clean
 * error each time, and no leak (ASan). */
static void test_allocation_failures(void **state)
{
	(void)state;
	const char *src = getenv("SB_SOURCE_DIR");
	if (src)
		assert_int_equal(chdir(src), 0);
	sb_alloc_fail_after(-1);
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	assert_int_equal(sb_policyset_load_dir(set, "tests/fixtures/fund/policies", &d), SB_OK);
	sb_policyset_free(set);
	long total = sb_alloc_fail_after(-1);
	for (long n = 0; n < total + 2; n++) {
		sb_alloc_fail_after(n);
		sb_status st = sb_policyset_new(&set);
		if (st == SB_OK) {
			st = sb_policyset_load_dir(set, "tests/fixtures/fund/policies", &d);
			sb_policyset_free(set);
		}
		sb_alloc_fail_after(-1);
		assert_true(st == SB_OK || st == SB_ENOMEM || st == SB_EIO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_and_inheritance),
		cmocka_unit_test(test_contributions),
		cmocka_unit_test(test_months_and_bands),
		cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
