/* test_policy_v2.c: policy format 2 through the core, without the batch or
 * the case runner. The format-2 region of tests/golden/v2 settles a stay
 * that reaches every construct of one chain (a disease list, a by_stay
 * deductible, a cap that is a share of a statistic, the part above the
 * cap point, a month cap, a lump); the trace's JSON names each of them and
 * is well formed; sb_settle_verify holds claim after claim; the new
 * accumulator kinds survive sb_acc_encode / sb_acc_decode; and a v1 file
 * that uses a format-2 key is refused with its place. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/load_int.h"
#include "policy/ydoc.h"
#include "sanbao/explain.h"
#include "sanbao/settle.h"

/* Braces and brackets balance outside strings, and nothing follows. */
static void assert_json_shape(const char *s)
{
	int depth = 0;
	bool in_str = false;
	for (const char *p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			assert_true(--depth >= 0);
	}
	assert_false(in_str);
	assert_int_equal(depth, 0);
}

static sb_trace trace;

static void test_v2_chain(void **state)
{
	(void)state;
	const char *src = getenv("SB_SOURCE_DIR");
	if (src)
		assert_int_equal(chdir(src), 0);
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, "tests/golden/v2/policies", &d))
		fail_msg("%s", d.message);
	const sb_policy *pol = sb_policyset_find(set, "991021");
	assert_non_null(pol);
	sb_person p;
	memset(&p, 0, sizeof p);
	memcpy(p.id, "991021198001010015", 19);
	memcpy(p.region, "991021", 7);
	p.birth = sb_date_from_ymd(1980, 1, 1);
	p.scheme = 0;
	p.employment = SB_EMP_UNKNOWN;
	p.tier = -1;
	p.enrolled_from = SB_DATE_NONE;
	sb_claim c;
	memset(&c, 0, sizeof c);
	c.id = "V01";
	c.date = sb_date_from_ymd(2024, 2, 1);
	c.level = sb_policyset_symbol(set, SB_SYM_LEVEL, "tertiary", 8);
	c.level_name = "tertiary";
	c.total = 12000000;
	c.in_scope = 10000000;
	c.pre_selfpay = 1000000;
	c.diagnosis = "C34.901";
	sb_acc acc, before, back;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	sb_acc_init(&back);
	sb_result r;
	assert_int_equal(sb_settle_claim(set, pol, &p, &c, &acc, &r, &trace, &d), SB_OK);
	assert_int_equal(sb_settle_verify(&c, &r, &before, &acc, &d), SB_OK);
	/* As tests/golden/v2/README.md computes: basic 60000, large 27483.33,
	 * assistance 4000 (month cap), lump 2000. */
	assert_int_equal(r.layer[0].pay, 6000000);
	assert_int_equal(r.layer[1].pay, 2748333);
	assert_int_equal(r.layer[2].pay, 400000);
	assert_int_equal(r.layer[3].pay, 0);
	assert_int_equal(r.layer[4].pay, 200000);
	assert_true(r.layer[0].exhausted);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	sb_explain_json(f, set, &trace);
	fclose(f);
	assert_json_shape(buf);
	static const char *const keys[] = {"\"base_above_cap_of\": \"basic\"", "\"cap_point\": \"67666.67\"",
					   "\"above_cap\": \"32333.33\"", "\"cap_month\": \"4000.00\"",
					   "\"cap_month_limited\": true", "\"lump_triggered\": true",
					   "\"after_capped\": \"assistance\"", "\"after_blocked\": true",
					   "\"base_parts\": [{\"part\": \"in_scope\""};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (!strstr(buf, keys[i]))
			fail_msg("the JSON lacks %s:\n%s", keys[i], buf);
	free(buf);

	/* A second stay the same month: the month's room is 0, the lump was
	 * paid, the basic cap is used up so large pays above the deductible. */
	assert_int_equal(sb_acc_copy(&before, &acc), SB_OK);
	c.id = "V02";
	c.date = sb_date_from_ymd(2024, 2, 20);
	c.total = 1000000;
	c.in_scope = 800000;
	c.pre_selfpay = 100000;
	c.diagnosis = NULL;
	assert_int_equal(sb_settle_claim(set, pol, &p, &c, &acc, &r, NULL, &d), SB_OK);
	assert_int_equal(sb_settle_verify(&c, &r, &before, &acc, &d), SB_OK);
	assert_int_equal(r.layer[1].pay, 637500);
	assert_int_equal(r.layer[2].pay, 0);
	assert_int_equal(r.layer[4].pay, 0);

	/* The month and deductible entries encode and decode like the others. */
	size_t len = sb_acc_encoded_size(&acc), got;
	uint8_t *enc = malloc(len);
	assert_int_equal(sb_acc_encode(&acc, enc, len, &got, &d), SB_OK);
	assert_int_equal(sb_acc_decode(&back, enc, got, &d), SB_OK);
	assert_int_equal(back.n, acc.n);
	assert_memory_equal(back.e, acc.e, acc.n * sizeof *acc.e);
	bool month = false;
	for (uint32_t i = 0; i < acc.n; i++)
		month |= acc.e[i].kind == SB_ACC_MONTH && acc.e[i].year == 202402;
	assert_true(month);
	/* Tampering with the month entry is caught by sb_settle_verify. */
	for (uint32_t i = 0; i < acc.n; i++)
		if (acc.e[i].kind == SB_ACC_MONTH)
			acc.e[i].amount += 1;
	assert_int_equal(sb_settle_verify(&c, &r, &before, &acc, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "this month"));
	free(enc);
	sb_acc_release(&acc);
	sb_acc_release(&before);
	sb_acc_release(&back);
	sb_policyset_free(set);
}

static void test_v1_refuses_v2_keys(void **state)
{
	(void)state;
	static const char text[] = "sanbao: 1\n"
				   "region: {code: \"991099\"}\n"
				   "versions:\n"
				   "  - from: 2024-01-01\n"
				   "    layers:\n"
				   "      - {id: basic, rate: 0.7, caps: {claim: 100}}\n";
	sb_ydoc *doc;
	sb_diag d;
	assert_int_equal(sb_ydoc_load_mem("v1.yaml", text, sizeof text - 1, &doc, &d), SB_OK);
	sb_policyset *set;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	assert_int_equal(sb_policyset_load_node(set, sb_ydoc_root(doc), NULL, &d), SB_EPOLICY);
	char msg[1400];
	sb_diag_format(&d, msg, sizeof msg);
	assert_non_null(strstr(msg, "v1.yaml:6:"));
	assert_non_null(strstr(msg, "caps is format 2"));
	sb_policyset_free(set);
	sb_ydoc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_chain),
		cmocka_unit_test(test_v1_refuses_v2_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
