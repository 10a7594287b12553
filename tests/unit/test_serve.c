/* test_serve.c: the service's request parser, table-driven: envelopes and
 * settlement inputs that are accepted (with the amounts read to the fen,
 * JSON numbers and strings alike) and refused (with the field named), the
 * canonical input hash (key order and spacing do not matter; the infno
 * does), and the audit chain over an in-memory store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "serve/serve_int.h"

static const char *env(const char *input)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "{\"infno\":\"2207\",\"msgid\":\"m1\",\"fixmedins_code\":\"H1\","
				   "\"input\":%s}", input);
	return buf;
}

static void test_amounts(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		sb_fen fen; /* -1: refused */
	} cases[] = {
		{"{\"a\":\"17126.42\"}", 1712642}, {"{\"a\":17126.42}", 1712642},
		{"{\"a\":0.1}", 10},               {"{\"a\":300}", 30000},
		{"{\"a\":\"300\"}", 30000},        {"{\"a\":0.07}", 7},
		{"{\"a\":12.345}", -1},            {"{\"a\":\"12.345\"}", -1},
		{"{\"a\":-1}", -1},                {"{\"a\":\"-0.01\"}", -1},
		{"{\"a\":true}", -1},              {"{\"a\":\"1e3\"}", -1},
		{"{\"a\":1e300}", -1},             {"{\"a\":100000000.01}", -1},
		{"{\"a\":12.3400001}", -1},        {"{\"a\":\" 1\"}", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *o = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		sb_fen v = -7;
		char err[256] = "";
		bool ok = sb_serve_money(o, "a", true, &v, NULL, err, sizeof err);
		if (cases[i].fen < 0) {
			if (ok)
				fail_msg("%s accepted as %lld", cases[i].json, (long long)v);
			assert_non_null(strstr(err, "field a"));
		} else {
			if (!ok)
				fail_msg("%s refused: %s", cases[i].json, err);
			assert_int_equal(v, cases[i].fen);
		}
		json_decref(o);
	}
}

static void test_envelope(void **state)
{
	(void)state;
	static const struct {
		const char *body, *path, *field; /* field NULL: accepted */
	} cases[] = {
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\",\"input\":{}}", "2207", NULL},
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\",\"input\":{}}", "2206", "infno"},
		{"{\"infno\":\"22\",\"msgid\":\"m\",\"fixmedins_code\":\"H\",\"input\":{}}", NULL, "infno"},
		{"{\"infno\":\"2207\",\"fixmedins_code\":\"H\",\"input\":{}}", NULL, "msgid"},
		{"{\"infno\":\"2207\",\"msgid\":\"\",\"fixmedins_code\":\"H\",\"input\":{}}", NULL, "msgid"},
		{"{\"infno\":\"2207\",\"msgid\":\"a\\u0001\",\"fixmedins_code\":\"H\",\"input\":{}}", NULL,
		 "msgid"},
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"input\":{}}", NULL, "fixmedins_code"},
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\"}", NULL, "input"},
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\",\"input\":3}", NULL, "input"},
		{"{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\",\"mdtrtarea_admvs\":\"12\","
		 "\"input\":{}}", NULL, "mdtrtarea_admvs"},
		{"[1]", NULL, "object"},
		{"{\"infno\":", NULL, "not JSON"},
		{"{\"infno\":\"2207\",\"infno\":\"2207\"}", NULL, "not JSON"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sb_serve_req r;
		char err[512];
		int st = sb_serve_req_parse(cases[i].body, strlen(cases[i].body), cases[i].path, &r,
					    err, sizeof err);
		if (cases[i].field) {
			assert_int_equal(st, 400);
			if (!strstr(err, cases[i].field))
				fail_msg("case %zu: \"%s\" does not name %s", i, err, cases[i].field);
		} else {
			assert_int_equal(st, 0);
		}
		sb_serve_req_release(&r);
	}
}

static void test_hash(void **state)
{
	(void)state;
	const char *a = "{\"infno\":\"2207\",\"msgid\":\"m\",\"fixmedins_code\":\"H\","
			"\"input\":{\"x\":1,\"y\":\"2\"}}";
	const char *b = "{ \"input\" : { \"y\" : \"2\", \"x\" : 1 }, \"msgid\":\"m\", \"infno\":\"2207\","
			" \"fixmedins_code\":\"H\", \"opter\":\"someone\"}";
	const char *c = "{\"infno\":\"2208\",\"msgid\":\"m\",\"fixmedins_code\":\"H\","
			"\"input\":{\"x\":1,\"y\":\"2\"}}";
	sb_serve_req ra, rb, rc;
	char err[256];
	assert_int_equal(sb_serve_req_parse(a, strlen(a), NULL, &ra, err, sizeof err), 0);
	assert_int_equal(sb_serve_req_parse(b, strlen(b), NULL, &rb, err, sizeof err), 0);
	assert_int_equal(sb_serve_req_parse(c, strlen(c), NULL, &rc, err, sizeof err), 0);
	assert_string_equal(ra.input_hash, rb.input_hash);
	assert_string_not_equal(ra.input_hash, rc.input_hash);
	sb_serve_req_release(&ra);
	sb_serve_req_release(&rb);
	sb_serve_req_release(&rc);
}

static void test_setl_input(void **state)
{
	(void)state;
	static const struct {
		const char *input, *field;
	} cases[] = {
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"setl_time\":\"2024-01-01 10:00:00\",\"medfee_sumamt\":193.26,\"inscp_scp_amt\":\"169.12\","
		 "\"preselfpay_amt\":4.61,\"overlmt_selfpay\":5.68,\"fulamt_ownpay_amt\":13.85}", NULL},
		{"{\"psn_no\":\"990267193603094821\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"medfee_sumamt\":1,\"inscp_scp_amt\":1}", "psn_no"},
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"12\","
		 "\"medfee_sumamt\":1,\"inscp_scp_amt\":1}", "med_type"},
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"medfee_sumamt\":1,\"inscp_scp_amt\":2}", "inscp_scp_amt"},
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"medfee_sumamt\":3,\"inscp_scp_amt\":1,\"fulamt_ownpay_amt\":1}", "fulamt_ownpay_amt"},
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"setl_time\":\"2024-02-30\",\"medfee_sumamt\":1,\"inscp_scp_amt\":1}", "setl_time"},
		{"{\"psn_no\":\"990267193603094822\",\"med_type\":\"11\","
		 "\"medfee_sumamt\":1,\"inscp_scp_amt\":1}", "mdtrt_id"},
		{"{\"psn_no\":\"990267193603094822\",\"mdtrt_id\":\"v\",\"med_type\":\"11\","
		 "\"medfee_sumamt\":1,\"inscp_scp_amt\":1,\"filing\":\"x\"}", "filing"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sb_serve_req r;
		char err[512];
		const char *b = env(cases[i].input);
		assert_int_equal(sb_serve_req_parse(b, strlen(b), NULL, &r, err, sizeof err), 0);
		sb_serve_setl s;
		bool ok = sb_serve_setl_parse(r.input, 19700, &s, err, sizeof err);
		if (cases[i].field) {
			assert_false(ok);
			if (!strstr(err, cases[i].field))
				fail_msg("case %zu: \"%s\" does not name %s", i, err, cases[i].field);
		} else {
			if (!ok)
				fail_msg("case %zu refused: %s", i, err);
			assert_int_equal(s.total, 19326);
			assert_int_equal(s.in_scope, 16912);
			assert_int_equal(s.out, 1385);
			assert_int_equal(s.date, sb_date_from_ymd(2024, 1, 1));
		}
		sb_serve_req_release(&r);
	}
}

static void test_chain(void **state)
{
	(void)state;
	sqlite3 *db;
	sb_diag d;
	assert_int_equal(sb_serve_store_open(":memory:", true, &db, &d), SB_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sb_serve_audit(db, "t", "2207", "m", "op", "req", 3, "resp", 4), 0);
	long len, bad;
	char why[512];
	assert_int_equal(sb_serve_audit_verify(db, &len, &bad, why, sizeof why), 0);
	assert_int_equal(len, 5);
	assert_int_equal(bad, 0);
	assert_int_equal(sqlite3_exec(db, "UPDATE audit SET msgid='x' WHERE seq=3", NULL, NULL, NULL), 0);
	assert_int_equal(sb_serve_audit_verify(db, &len, &bad, why, sizeof why), 0);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(why, "record 3"));
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amounts),     cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_hash),        cmocka_unit_test(test_setl_input),
		cmocka_unit_test(test_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
