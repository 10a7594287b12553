/* test_household.c: household layers through the core, without the batch
 * or the case runner. Two members of one household settle on accumulators
 * of their own and one household set (sb_settle_claim_household), as
 * tests/golden/v2-household/README.md computes; sb_settle_verify_household
 * holds claim after claim and catches a tampered household entry; a
 * refused claim leaves both sets as they were; the household kinds encode
 * and decode; the trace's JSON names the household cap; a lone person (sb_settle_claim) is a household of one; and
 * the set says it keeps household accumulators, with the place of the
 * layer a per-person consumer refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy_int.h"
#include "sanbao/explain.h"
#include "sanbao/settle.h"

static sb_trace trace;

static void person(sb_person *p, const char *id)
{
	memset(p, 0, sizeof *p);
	memcpy(p->id, id, SB_ID_LEN + 1);
	memcpy(p->region, "991031", 7);
	p->birth = sb_date_from_ymd(1980, 1, 1);
	p->scheme = 1;
	p->employment = SB_EMP_UNKNOWN;
	p->tier = -1;
	p->continuous_years = p->claimless_years = p->uncovered_years = -1;
	p->enrolled_from = SB_DATE_NONE;
}

static void claim(sb_claim *c, const char *id, int y, int m, int d, sb_fen in_scope)
{
	memset(c, 0, sizeof *c);
	c->id = id;
	c->date = sb_date_from_ymd(y, m, d);
	c->level = -1;
	c->level_name = "";
	c->total = c->in_scope = in_scope;
}

/* Settles c for p on (acc, hacc), verifies it against copies taken before,
 * and returns the family layer's payment. */
static sb_fen settle(const sb_policyset *set, const sb_policy *pol, const sb_person *p,
		     const sb_claim *c, sb_acc *acc, sb_acc *hacc, sb_result *r)
{
	sb_acc before, hbefore;
	sb_acc_init(&before);
	sb_acc_init(&hbefore);
	assert_int_equal(sb_acc_copy(&before, acc), SB_OK);
	assert_int_equal(sb_acc_copy(&hbefore, hacc), SB_OK);
	sb_diag d;
	if (sb_settle_claim_household(set, pol, p, c, acc, hacc, r, NULL, &d))
		fail_msg("%s", d.message);
	if (sb_settle_verify_household(c, r, &before, acc, &hbefore, hacc, &d))
		fail_msg("%s", d.message);
	sb_acc_release(&before);
	sb_acc_release(&hbefore);
	return r->layer[1].pay;
}

static void test_members(void **state)
{
	(void)state;
	const char *src = getenv("SB_SOURCE_DIR");
	if (src)
		assert_int_equal(chdir(src), 0);
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, "tests/golden/v2-household/policies", &d))
		fail_msg("%s", d.message);
	const sb_policy *pol = sb_policyset_find(set, "991031");
	assert_non_null(pol);
	assert_true(sb_policyset_has_household(set));
	assert_int_equal(sb_policyset_refuse_household(set, "the test", &d), SB_EPOLICY);
	char msg[1400];
	sb_diag_format(&d, msg, sizeof msg);
	assert_non_null(strstr(msg, "991031.yaml:12:9: layer family"));
	assert_non_null(strstr(msg, "which the test cannot settle"));

	sb_person a, b;
	person(&a, "991031198001010018");
	person(&b, "991031198201010012");
	sb_acc acc_a, acc_b, hacc;
	sb_acc_init(&acc_a);
	sb_acc_init(&acc_b);
	sb_acc_init(&hacc);
	sb_result r;
	sb_claim c;
	claim(&c, "a1", 2024, 2, 1, 4000000);
	assert_int_equal(settle(set, pol, &a, &c, &acc_a, &hacc, &r), 600000);
	claim(&c, "a2", 2024, 3, 1, 2000000);
	assert_int_equal(settle(set, pol, &a, &c, &acc_a, &hacc, &r), 300000);
	claim(&c, "b1", 2024, 3, 1, 3000000);
	assert_int_equal(settle(set, pol, &b, &c, &acc_b, &hacc, &r), 600000); /* 40% band */
	claim(&c, "b2", 2024, 6, 1, 30000000);
	assert_int_equal(settle(set, pol, &b, &c, &acc_b, &hacc, &r), 7450000);
	claim(&c, "a3", 2024, 9, 1, 20000000);
	assert_int_equal(settle(set, pol, &a, &c, &acc_a, &hacc, &r), 5000000);
	assert_int_equal(r.layer[1].cap_household, 15000000);
	assert_int_equal(r.layer[1].room_household, 6050000);

	/* A refusal (paid above the family layer's base) changes nothing. */
	sb_acc keep_a, keep_h;
	sb_acc_init(&keep_a);
	sb_acc_init(&keep_h);
	assert_int_equal(sb_acc_copy(&keep_a, &acc_a), SB_OK);
	assert_int_equal(sb_acc_copy(&keep_h, &hacc), SB_OK);
	claim(&c, "a9", 2024, 10, 1, 6000000);
	c.npaid = 1;
	c.paid[0].layer = sb_policyset_symbol(set, SB_SYM_LAYER, "family", 6);
	c.paid[0].fen = 9000000;
	assert_int_equal(sb_settle_claim_household(set, pol, &a, &c, &acc_a, &hacc, &r, NULL, &d),
			 SB_EINPUT);
	assert_int_equal(acc_a.n, keep_a.n);
	assert_int_equal(hacc.n, keep_h.n);
	assert_memory_equal(acc_a.e, keep_a.e, acc_a.n * sizeof *acc_a.e);
	assert_memory_equal(hacc.e, keep_h.e, hacc.n * sizeof *hacc.e);

	/* b3: the household's room is 10500; its cap used up opens second.
	 * The trace says so, in the JSON the service and compare carry. */
	claim(&c, "b3", 2024, 11, 1, 6000000);
	sb_acc tb, th;
	sb_acc_init(&tb);
	sb_acc_init(&th);
	assert_int_equal(sb_acc_copy(&tb, &acc_b), SB_OK);
	assert_int_equal(sb_acc_copy(&th, &hacc), SB_OK);
	assert_int_equal(sb_settle_claim_household(set, pol, &b, &c, &tb, &th, &r, &trace, &d),
			 SB_OK);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	sb_explain_json(f, set, &trace);
	fclose(f);
	static const char *const keys[] = {"\"scope\": \"household\"", "\"c0\": \"295000.00\"",
					   "\"cap_household\": \"150000.00\"",
					   "\"household_paid\": \"139500.00\"",
					   "\"household_room\": \"10500.00\"",
					   "\"cap_household_limited\": true"};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		if (!strstr(buf, keys[k]))
			fail_msg("the JSON lacks %s:\n%s", keys[k], buf);
	free(buf);
	sb_acc_release(&tb);
	sb_acc_release(&th);
	assert_int_equal(settle(set, pol, &b, &c, &acc_b, &hacc, &r), 1050000);
	assert_true(r.layer[1].exhausted);
	assert_int_equal(r.layer[2].pay, 195000);

	/* The household's entries are of the household kinds only, and they
	 * encode and decode like the others. */
	bool layer = false, pool = false;
	for (uint32_t i = 0; i < hacc.n; i++) {
		assert_true(hacc.e[i].kind == SB_ACC_HH_LAYER || hacc.e[i].kind == SB_ACC_HH_POOL);
		layer |= hacc.e[i].kind == SB_ACC_HH_LAYER && hacc.e[i].amount == 32500000;
		pool |= hacc.e[i].kind == SB_ACC_HH_POOL && hacc.e[i].amount == 15000000;
	}
	assert_true(layer && pool);
	for (uint32_t i = 0; i < acc_a.n; i++)
		assert_true(acc_a.e[i].kind < SB_ACC_HH_LAYER);
	size_t len = sb_acc_encoded_size(&hacc), got;
	uint8_t *enc = malloc(len);
	sb_acc back;
	sb_acc_init(&back);
	assert_int_equal(sb_acc_encode(&hacc, enc, len, &got, &d), SB_OK);
	assert_int_equal(sb_acc_decode(&back, enc, got, &d), SB_OK);
	assert_int_equal(back.n, hacc.n);
	assert_memory_equal(back.e, hacc.e, hacc.n * sizeof *hacc.e);
	free(enc);

	/* Tampering with the household's accumulated base is caught. */
	sb_acc hb;
	sb_acc_init(&hb);
	assert_int_equal(sb_acc_copy(&hb, &hacc), SB_OK);
	claim(&c, "a4", 2024, 12, 1, 1000000);
	assert_int_equal(sb_acc_copy(&keep_a, &acc_a), SB_OK);
	assert_int_equal(sb_settle_claim_household(set, pol, &a, &c, &acc_a, &hacc, &r, NULL, &d),
			 SB_OK);
	for (uint32_t i = 0; i < hacc.n; i++)
		if (hacc.e[i].kind == SB_ACC_HH_LAYER)
			hacc.e[i].amount += 1;
	assert_int_equal(sb_settle_verify_household(&c, &r, &keep_a, &acc_a, &hb, &hacc, &d),
			 SB_EINPUT);
	assert_non_null(strstr(d.message, "household's accumulated base"));

	/* A lone person: sb_settle_claim keeps the household's entries in the
	 * person's own set, and pays as a household of one. */
	sb_acc lone, lb;
	sb_acc_init(&lone);
	sb_acc_init(&lb);
	claim(&c, "c1", 2024, 5, 1, 4000000);
	assert_int_equal(sb_settle_claim(set, pol, &b, &c, &lone, &r, NULL, &d), SB_OK);
	assert_int_equal(r.layer[1].pay, 600000);
	assert_int_equal(sb_settle_verify(&c, &r, &lb, &lone, &d), SB_OK);
	assert_non_null(sb_acc_find(&lone, 991031, 2024, SB_ACC_HH_LAYER,
				    sb_id_key("family", 6)));

	sb_acc_release(&acc_a);
	sb_acc_release(&acc_b);
	sb_acc_release(&hacc);
	sb_acc_release(&keep_a);
	sb_acc_release(&keep_h);
	sb_acc_release(&back);
	sb_acc_release(&hb);
	sb_acc_release(&lone);
	sb_acc_release(&lb);
	sb_policyset_free(set);
}

/* A format-2 set without household layers says so: the batch's order and
 * the service stay as they were. */
static void test_none(void **state)
{
	(void)state;
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, "tests/golden/v2/policies", &d))
		fail_msg("%s", d.message);
	assert_false(sb_policyset_has_household(set));
	assert_int_equal(sb_policyset_refuse_household(set, "the test", &d), SB_OK);
	sb_policyset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
