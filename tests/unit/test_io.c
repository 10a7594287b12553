/* test_io.c: the input vocabulary (sanbao/io.h): header mapping with its
 * refusal of a column named twice, the cell text reasons may show, the id
 * of a malformed record, and the one persons/identities row reader; the
 * one amount formatter and identity names kept in the policy model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanbao/io.h"

static const char *source_dir(void)
{
	const char *s = getenv("SB_SOURCE_DIR");
	return s ? s : ".";
}

static sb_csv *open_text(const char *text)
{
	sb_csv *c = NULL;
	sb_diag d;
	if (sb_csv_open_mem("t.csv", text, strlen(text), &c, &d))
		fail_msg("%s", d.message);
	return c;
}

/* Maps text's header over the claims table; returns the status, d set. */
static sb_status map_claims(const char *text, int *col, sb_diag *d)
{
	sb_csv *c = open_text(text);
	sb_status st = sb_io_map(c, "claims.csv", sb_claims_columns, SB_CCOL_N, true, col, d);
	sb_csv_free(c);
	return st;
}

static void test_map_names_and_aliases(void **state)
{
	(void)state;
	int col[SB_CCOL_N];
	sb_diag d;
	assert_int_equal(map_claims("setl_id, PSN_NO ,setl_time,med_type,care_region,MEDFEE_SUMAMT,"
				    "inscp_scp_amt,other\n",
				    col, &d),
			 SB_OK);
	assert_int_equal(col[SB_CCOL_ID], 0);
	assert_int_equal(col[SB_CCOL_PERSON], 1);
	assert_int_equal(col[SB_CCOL_DATE], 2);
	assert_int_equal(col[SB_CCOL_VISIT], 3);
	assert_int_equal(col[SB_CCOL_CARE], 4);
	assert_int_equal(col[SB_CCOL_TOTAL], 5);
	assert_int_equal(col[SB_CCOL_IN_SCOPE], 6);
	assert_int_equal(col[SB_CCOL_PLACE], -1);
	assert_int_equal(col[SB_CCOL_PRE], -1);

	/* A required column missing: named with its aliases. */
	assert_int_equal(map_claims("id,person,date,visit,in_scope\n", col, &d), SB_ESYNTAX);
	assert_string_equal(d.message, "claims.csv has no column total (or medfee_sumamt)");
	assert_int_equal(d.line, 1);
	assert_string_equal(d.file, "t.csv");
}

/* Issue 14 item 9: one column named twice, under any spelling. */
static void test_map_refuses_duplicates(void **state)
{
	(void)state;
	static const struct {
		const char *header, *message;
	} rows[] = {
		{"id,person,date,visit,total,in_scope,total\n",
		 "claims.csv names the column total twice: field 5 \"total\" and field 7 \"total\": "
		 "keep one"},
		{"id,person,date,visit,total,in_scope,TOTAL\n",
		 "claims.csv names the column total twice: field 5 \"total\" and field 7 \"TOTAL\": "
		 "keep one"},
		{"id,person,date,visit,medfee_sumamt,in_scope, total\n",
		 "claims.csv names the column total twice: field 5 \"medfee_sumamt\" and field 7 "
		 "\" total\": keep one"},
		{"certno,id,date,visit,total,in_scope,psn_no\n",
		 "claims.csv names the column person twice: field 1 \"certno\" and field 7 "
		 "\"psn_no\": keep one"},
		/* An optional column too. */
		{"id,person,date,visit,total,in_scope,place,Place\n",
		 "claims.csv names the column place twice: field 7 \"place\" and field 8 \"Place\": "
		 "keep one"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int col[SB_CCOL_N];
		sb_diag d;
		if (map_claims(rows[i].header, col, &d) != SB_ESYNTAX)
			fail_msg("accepted: %s", rows[i].header);
		if (strcmp(d.message, rows[i].message))
			fail_msg("%s: \"%s\"", rows[i].header, d.message);
	}
	/* Even without the required check, and in the persons table. */
	sb_csv *c = open_text("id,certno,scheme,region\n");
	int col[SB_PCOL_N];
	sb_diag d;
	assert_int_equal(sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, false, col, &d),
			 SB_ESYNTAX);
	assert_non_null(strstr(d.message, "names the column id twice"));
	sb_csv_free(c);
}

static void test_person_columns(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int want;
	} rows[] = {
		{"person", SB_IO_PERSON}, {" CERTNO", SB_IO_PERSON}, {"psn_no", SB_IO_PERSON},
		{"id", SB_IO_MAYBE_PERSON}, {"ID ", SB_IO_MAYBE_PERSON}, {"setl_id", 0},
		{"persons", 0}, {"", 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		sb_csv_field f = {rows[i].name, strlen(rows[i].name)};
		if (sb_io_person_column(f) != rows[i].want)
			fail_msg("\"%s\": %d", rows[i].name, sb_io_person_column(f));
	}
}

static void test_shown_masks_ids(void **state)
{
	(void)state;
	char out[SB_IO_SHOWN];
	assert_string_equal(sb_io_shown("12345.678", 9, out), "12345.678");
	assert_string_equal(sb_io_shown("990100196103220076", 18, out), "990100********0076");
	assert_string_equal(sb_io_shown("99010019700707021X", 18, out), "990100********021X");
	assert_string_equal(sb_io_shown("x 990100196103220076 y", 22, out),
			    "x 990100********0076 y");
	/* 14 digits are an amount or a code, not an ID. */
	assert_string_equal(sb_io_shown("12345678901234", 14, out), "12345678901234");
	/* Cut at 40 bytes. */
	const char *longer = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(strlen(sb_io_shown(longer, strlen(longer), out)), 40);
}

/* Issue 14 item 11: a malformed record keeps its readable id. */
static void test_record_id_of_malformed(void **state)
{
	(void)state;
	sb_csv *c = open_text("a,id,b\n1,E7,3,4\nx,E8,\"un\"terminated\n\"q,E9\",z,\n");
	sb_diag d;
	assert_int_equal(sb_csv_next(c, &d), -1); /* one field too many */
	sb_csv_field f = sb_io_record_id(c, 1);
	assert_int_equal(f.n, 2);
	assert_memory_equal(f.p, "E7", 2);
	assert_int_equal(sb_csv_next(c, &d), -1); /* text after a closing quote */
	f = sb_io_record_id(c, 1);
	assert_int_equal(f.n, 2);
	assert_memory_equal(f.p, "E8", 2);
	/* A quote before the id: its place cannot be trusted. */
	int r = sb_csv_next(c, &d);
	if (r < 0)
		assert_int_equal(sb_io_record_id(c, 1).n, 0);
	assert_int_equal(sb_io_record_id(c, -1).n, 0);
	sb_csv_free(c);
}

static const char *person_reason(const char *row, sb_person_row *pr)
{
	static char why[512];
	char text[512];
	snprintf(text, sizeof text, "id,scheme,region,household,employment,tier,income\n%s\n", row);
	sb_csv *c = open_text(text);
	int col[SB_PCOL_N];
	sb_diag d;
	assert_int_equal(sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, &d),
			 SB_OK);
	assert_int_equal(sb_csv_next(c, &d), 1);
	const char *r = sb_person_row_read(c, col, pr, why, sizeof why);
	if (r && r != why)
		snprintf(why, sizeof why, "%s", r);
	sb_csv_free(c);
	return r ? why : NULL;
}

static void test_person_rows(void **state)
{
	(void)state;
	sb_person_row p;
	assert_null(person_reason("990100196103220076,310,990100,H1,retired,t2,3000.50", &p));
	assert_int_equal(p.scheme, 0);
	assert_int_equal(p.employment, 1);
	assert_string_equal(p.region, "990100");
	assert_true(p.has_income);
	assert_int_equal(p.income, 300050);
	assert_int_equal(p.pseudo, 0);
	assert_int_equal(p.birth, sb_date_from_ymd(1961, 3, 22));
	assert_int_equal(p.household.n, 2);
	assert_int_equal(p.tier.n, 2);
	assert_null(person_reason("PS0123456789abcdef,resident,990100,,,,", &p));
	assert_int_equal(p.pseudo, 1);
	assert_int_equal(p.scheme, 1);
	assert_int_equal(p.employment, 0xff);
	assert_false(p.has_income);

	static const struct {
		const char *row, *reason;
	} bad[] = {
		{"990100196103220077,resident,990100,,,,", "resident ID has a wrong check digit"},
		{"990100196103220076,farmer,990100,,,,",
		 "scheme \"farmer\" is not employee, resident, 310 or 390"},
		{"990100196103220076,,990100,,,,", "scheme \"\" is not employee"},
		{"990100196103220076,resident,99010,,,,",
		 "region \"99010\" is not a 6-digit region code"},
		/* A shifted column: the ID in the region cell is masked. */
		{"990100196103220076,resident,990100196103220076,,,,",
		 "region \"990100********0076\" is not a 6-digit region code"},
		{"990100196103220076,resident,990100,,idle,,", "employment \"idle\" is not active"},
		{"990100196103220076,resident,990100,,,,-1", "income \"-1\" is not an amount"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *r = person_reason(bad[i].row, &p);
		if (!r || !strstr(r, bad[i].reason))
			fail_msg("%s: %s (want %s)", bad[i].row, r ? r : "accepted", bad[i].reason);
	}
}

static sb_policyset *demo_policies(void)
{
	sb_policyset *set;
	char dir[4200];
	sb_diag d;
	snprintf(dir, sizeof dir, "%s/policies/demo", source_dir());
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, dir, &d))
		fail_msg("%s", d.message);
	return set;
}

static int identity_kind(const sb_policyset *set, const char *row, sb_identity_row *ir,
			 char *reason, size_t cap)
{
	char text[512];
	snprintf(text, sizeof text, "psn_no,psn_idet_type,begntime,endtime\n%s\n", row);
	sb_csv *c = open_text(text);
	int col[SB_ICOL_N];
	sb_diag d;
	assert_int_equal(sb_io_map(c, "identities.csv", sb_identities_columns, SB_ICOL_N, true, col,
				   &d),
			 SB_OK);
	assert_int_equal(sb_csv_next(c, &d), 1);
	int k = sb_identity_row_read(c, col, set, ir, reason, cap);
	sb_csv_free(c);
	return k;
}

static void test_identity_rows(void **state)
{
	(void)state;
	sb_policyset *set = demo_policies();
	sb_identity_row ir;
	char reason[1024];
	assert_int_equal(identity_kind(set, "990100196103220076,dibao,2023-01-01 08:00:00,", &ir,
				       reason, sizeof reason),
			 SB_IROW_OK);
	assert_int_equal(ir.sym, sb_policyset_symbol(set, SB_SYM_IDENTITY, "dibao", 5));
	assert_int_equal(ir.from, sb_date_from_ymd(2023, 1, 1));
	assert_int_equal(ir.to, INT32_MAX);

	static const struct {
		const char *row;
		int kind;
		const char *reason;
	} bad[] = {
		{",dibao,2023-01-01,", SB_IROW_ID, "the person ID is empty"},
		{"990100196103220077,dibao,2023-01-01,", SB_IROW_ID, "wrong check digit"},
		{"990100196103220076,veteran,2023-01-01,", SB_IROW_IDENTITY,
		 "identity \"veteran\" is not declared by any policy: use one of "},
		{"990100196103220076,dibao,1899-12-31,", SB_IROW_DATE,
		 "from \"1899-12-31\" is outside the years 1900-2199"},
		{"990100196103220076,dibao,2023-02-03 garbage,", SB_IROW_DATE,
		 "from \"2023-02-03 garbage\" is not a date"},
		{"990100196103220076,dibao,2023-05-01,2023-01-31", SB_IROW_DATE,
		 "it ends (to 2023-01-31) before it starts (from 2023-05-01)"},
		/* Every problem is told, the first decides the kind. */
		{"990100196103220077,veteran,,", SB_IROW_ID,
		 "wrong check digit (18th character): correct it from the identity card (or the "
		 "pseudonymised file); identity \"veteran\" is not declared"},
		/* A shifted column: the ID in the identity cell is masked. */
		{"990100196103220076,990100196103220076,2023-01-01,", SB_IROW_IDENTITY,
		 "identity \"990100********0076\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int k = identity_kind(set, bad[i].row, &ir, reason, sizeof reason);
		if (k != bad[i].kind || !strstr(reason, bad[i].reason))
			fail_msg("%s: kind %d, \"%s\" (want %d, %s)", bad[i].row, k, reason,
				 bad[i].kind, bad[i].reason);
		assert_null(strstr(reason, "990100196103220076"));
	}
	sb_policyset_free(set);
}

/* Identity names (低保对象) come from the policy model, not a re-read of
 * the YAML. */
static void test_identity_labels(void **state)
{
	(void)state;
	sb_policyset *set = demo_policies();
	int dibao = sb_policyset_symbol(set, SB_SYM_IDENTITY, "dibao", 5);
	assert_true(dibao >= 0);
	assert_true(sb_policyset_identity_declared(set, dibao));
	assert_string_equal(sb_policyset_identity_label(set, dibao), "低保对象");
	assert_false(sb_policyset_identity_declared(set, -1));
	assert_null(sb_policyset_identity_label(set, -1));
	sb_policyset_free(set);
}

/* The one formatter: sb_money_format and sb_fen_put agree everywhere. */
static void test_one_formatter(void **state)
{
	(void)state;
	static const struct {
		sb_fen v;
		const char *text;
	} rows[] = {
		{0, "0.00"}, {5, "0.05"}, {-5, "-0.05"}, {100, "1.00"}, {1712642, "17126.42"},
		{-1712642, "-17126.42"}, {99, "0.99"}, {1000, "10.00"}, {123456789, "1234567.89"},
		{SB_FEN_MAX, "1000000000000.00"}, {INT64_MAX, "92233720368547758.07"},
		{INT64_MIN, "-92233720368547758.08"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		size_t n = sb_money_format(rows[i].v, a);
		assert_string_equal(a, rows[i].text);
		assert_int_equal(n, strlen(rows[i].text));
		char *e = sb_fen_put(b, rows[i].v);
		*e = '\0';
		assert_string_equal(b, rows[i].text);
	}
	/* Every value around the digit-pair boundaries. */
	for (sb_fen v = -100000; v <= 100000; v += 7) {
		char a[SB_MONEY_BUF], want[SB_MONEY_BUF];
		sb_fen m = v < 0 ? -v : v;
		snprintf(want, sizeof want, "%s%lld.%02lld", v < 0 ? "-" : "", (long long)(m / 100),
			 (long long)(m % 100));
		sb_money_format(v, a);
		if (strcmp(a, want))
			fail_msg("%lld: %s, want %s", (long long)v, a, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_names_and_aliases),
		cmocka_unit_test(test_map_refuses_duplicates),
		cmocka_unit_test(test_person_columns),
		cmocka_unit_test(test_shown_masks_ids),
		cmocka_unit_test(test_record_id_of_malformed),
		cmocka_unit_test(test_person_rows),
		cmocka_unit_test(test_identity_rows),
		cmocka_unit_test(test_identity_labels),
		cmocka_unit_test(test_one_formatter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
