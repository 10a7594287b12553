/* test_settle.c: the band integral and rounding of sb_settle_claim, table
 * driven: one layer built from a YAML string, one or two claims, and the
 * payment expected to the fen. The boundaries are the point: an amount
 * exactly on a band's start, exactly on the deductible, a raw payment of
 * exactly half a fen, a cap that binds, a payment capped by its base. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/load_int.h"
#include "policy/ydoc.h"
#include "sanbao/settle.h"

struct row {
	const char *name;
	const char *layer;  /* the YAML of one layer */
	sb_fen in_scope[2]; /* one or two claims (0: none) */
	sb_fen want[2];
};

/* Bands: 0-100 at 50%, 100-300 at 80%, above 300 at 90% (yuan). */
#define BANDS "bands: [{from: 0, rate: 0.5}, {from: 100, rate: 0.8}, {from: 300, rate: 0.9}]"

static const struct row rows[] = {
	{"one rate, no deductible", "{id: l, rate: 0.7}", {10000, 0}, {7000, 0}},
	{"deductible taken off", "{id: l, deductible: 50, rate: 0.5}", {10000, 0}, {2500, 0}},
	{"exactly the deductible pays nothing", "{id: l, deductible: 100, rate: 0.9}",
	 {10000, 0}, {0, 0}},
	{"one fen above the deductible: 0.9 fen rounds up", "{id: l, deductible: 100, rate: 0.9}",
	 {10001, 0}, {1, 0}},
	{"half a fen rounds up", "{id: l, rate: 0.5}", {1, 0}, {1, 0}},
	{"just under half a fen rounds down", "{id: l, rate: 0.4999}", {1, 0}, {0, 0}},
	{"bands above_deductible, all three crossed", "{id: l, deductible: 0, " BANDS "}",
	 {40000, 0}, {5000 + 16000 + 9000, 0}},
	{"bands above_deductible start at from + deductible", "{id: l, deductible: 100, " BANDS "}",
	 {40000, 0}, {5000 + 16000 + 0, 0}},
	{"bands cumulative start at from, not below the deductible",
	 "{id: l, deductible: 150, mode: cumulative, " BANDS "}",
	 {40000, 0}, {0 + 12000 + 9000, 0}},
	{"amount ending exactly on a band start", "{id: l, " BANDS "}", {10000, 0}, {5000, 0}},
	{"scope year accumulates across claims", "{id: l, scope: year, deductible: 0, " BANDS "}",
	 {8000, 8000}, {4000, 1000 + 4800}},
	{"scope visit starts each claim from zero", "{id: l, " BANDS "}",
	 {8000, 8000}, {4000, 4000}},
	{"cap binds within a claim", "{id: l, rate: 0.8, cap: 50}", {10000, 0}, {5000, 0}},
	{"cap room shrinks on the second claim", "{id: l, rate: 0.8, cap: 100}",
	 {10000, 10000}, {8000, 2000}},
	{"repeat deductible on the second claim", "{id: l, deductible: 100, repeat: 20, rate: 0.5}",
	 {20000, 20000}, {5000, 9000}},
	{"rate 1 pays the whole base", "{id: l, rate: 1}", {12345, 0}, {12345, 0}},
	{"rate 0 pays nothing", "{id: l, rate: 0}", {12345, 0}, {0, 0}},
};

static sb_fen settle_one(const struct row *r, int which)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
		 "  - from: 2020-01-01\n    layers:\n      - %s\n", r->layer);
	sb_ydoc *doc;
	sb_diag d;
	sb_policyset *set;
	const sb_policy *pol;
	assert_int_equal(sb_ydoc_load_mem("row.yaml", yaml, strlen(yaml), &doc, &d), SB_OK);
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_node(set, sb_ydoc_root(doc), &pol, &d))
		fail_msg("%s: %s", r->name, d.message);
	sb_person p;
	memset(&p, 0, sizeof p);
	memcpy(p.id, "110105194910010082", 19);
	memcpy(p.region, "110105", 7);
	p.birth = sb_date_from_ymd(1949, 10, 1);
	p.tier = -1;
	p.employment = 0xff;
	sb_acc acc;
	sb_acc_init(&acc);
	sb_fen pay = -1;
	for (int i = 0; i <= which; i++) {
		sb_claim c;
		memset(&c, 0, sizeof c);
		c.id = i ? "b" : "a";
		c.date = sb_date_from_ymd(2021, 3 + i, 1);
		c.level = -1;
		c.level_name = "";
		c.total = c.in_scope = r->in_scope[i];
		sb_result res;
		if (sb_settle_claim(set, pol, &p, &c, &acc, &res, NULL, &d))
			fail_msg("%s: %s", r->name, d.message);
		assert_int_equal(res.fund + res.oop, c.total);
		assert_true(res.layer[0].pay <= res.layer[0].base);
		pay = res.layer[0].pay;
	}
	sb_acc_release(&acc);
	sb_policyset_free(set);
	sb_ydoc_free(doc);
	return pay;
}

static void test_band_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		for (int k = 0; k < 2; k++) {
			if (!rows[i].in_scope[k])
				continue;
			sb_fen got = settle_one(&rows[i], k);
			if (got != rows[i].want[k])
				fail_msg("%s, claim %d: want %lld fen, got %lld", rows[i].name, k + 1,
					 (long long)rows[i].want[k], (long long)got);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_band_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
