/* test_audit.c: the audit's pieces on their own: SM3 against the standard's
 * example, the Merkle root of a small file computed here independently of
 * evidence.c, a changed row named by the check, and every allocation of a
 * rule-file load and of a whole audit run failing in turn (SB_ENOMEM with a
 * message, nothing leaked under ASan, the same findings when it succeeds). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "base/arena.h"

static char src[PATH_MAX];

static void sm3(const void *a, size_t na, const void *b, size_t nb, const void *c, size_t nc,
		unsigned char out[32])
{
	unsigned int len;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	EVP_MD *md = EVP_MD_fetch(NULL, "SM3", NULL);
	assert_true(x && md && EVP_DigestInit_ex(x, md, NULL));
	assert_true(EVP_DigestUpdate(x, a, na) && EVP_DigestUpdate(x, b, nb) &&
		    EVP_DigestUpdate(x, c, nc) && EVP_DigestFinal_ex(x, out, &len));
	EVP_MD_free(md);
	EVP_MD_CTX_free(x);
}

static void test_sm3_standard(void **state)
{
	(void)state;
	unsigned char h[32];
	char hex[65];
	sb_diag d;
	/* GB/T 32905-2016, example 1: SM3("abc"). */
	assert_int_equal(sb_audit_sm3(-1, "abc", 3, NULL, 0, h, &d), SB_OK);
	sb_audit_hex(h, 32, hex);
	assert_string_equal(hex, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

static char dir[PATH_MAX];

static void put(const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_merkle(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sb-test-audit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("a.csv", "h\r\n1\n2\n");
	static const char *const outs[] = {"a.csv", NULL};
	char root[65], hex[65];
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_audit_evidence_write(dir, outs, NULL, root, &d), SB_OK);
	/* By hand: leaves SM3(00 || row) (the CR LF is not the row's), the
	 * odd third leaf goes up unpaired, then the one output's leaf. */
	unsigned char l[3][32], n01[32], fr[32], top[32], t0 = 0, t1 = 1, t2 = 2;
	sm3(&t0, 1, "h", 1, "", 0, l[0]);
	sm3(&t0, 1, "1", 1, "", 0, l[1]);
	sm3(&t0, 1, "2", 1, "", 0, l[2]);
	sm3(&t1, 1, l[0], 32, l[1], 32, n01);
	sm3(&t1, 1, n01, 32, l[2], 32, fr);
	sm3(&t2, 1, "a.csv", 6, fr, 32, top); /* the name with its NUL */
	sb_audit_hex(top, 32, hex);
	assert_string_equal(root, hex);
	assert_int_equal(sb_audit_evidence_verify(dir, root, NULL, &d), SB_OK);
	put("a.csv", "h\n1\n3\n");
	assert_int_equal(sb_audit_evidence_verify(dir, NULL, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "a.csv row 3 was changed"));
	put("a.csv", "h\n2\n");
	assert_int_equal(sb_audit_evidence_verify(dir, NULL, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "a.csv row 2 was removed"));
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Runs job with the n-th allocation failing, n = 0, 1, ..., until a run
 * makes fewer allocations than n. */
static long fail_each(sb_status (*job)(sb_diag *d))
{
	long n;
	for (n = 0;; n++) {
		sb_diag d;
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = job(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK) {
			if (st != SB_ENOMEM)
				fail_msg("allocation %ld failing gave status %d: %s", n, st, d.message);
			if (!d.message[0])
				fail_msg("allocation %ld failing gave no message", n);
		}
		if (st == SB_OK && made <= n)
			break;
		if (n > 200000)
			fail_msg("too many allocations");
	}
	return n;
}

static sb_status load_rules(sb_diag *d)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/rules/default.yaml", src);
	sb_audit_rules r;
	sb_status st = sb_audit_rules_load(p, &r, d);
	if (!st && (r.rule[SB_AUDIT_SPLIT_STAY].days != 15 || r.ncodes[SB_AUDIT_HIFP] != 2))
		st = sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "default.yaml read wrong");
	sb_audit_rules_release(&r);
	return st;
}

static void test_rules_oom(void **state)
{
	(void)state;
	assert_true(fail_each(load_rules) >= 3);
}

/* The extract's rows as the sink finds them: by the batch's line, and by
 * id when the line holds another row (the nearest row of the id, the
 * earlier of two as near); the amounts as read, in a row's 32 bytes or
 * behind its texts (an empty cell, two amounts not 0, one too large to
 * lie inline); the texts. */
static sb_fen cell(const sb_audit_extract *x, const sb_audit_row *r, int col)
{
	sb_audit_cells c;
	sb_audit_row_cells(x, r, &c);
	if (!(c.cols >> col & 1))
		return -1;
	if (!(c.nonzero >> col & 1))
		return 0;
	return sb_audit_cell_amount(&c, __builtin_popcountll(c.nonzero & ((1ULL << col) - 1)));
}

static const sb_audit_row *found(const sb_audit_extract *x, const char *id, uint64_t line)
{
	sb_audit_ref ref;
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_audit_extract_find(x, id, strlen(id), line, &ref, &d), SB_OK);
	return ref.row;
}

static void test_extract_rows(void **state)
{
	(void)state;
	char path[] = "/tmp/sb-test-extract-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char csv[] =
		"id,person,date,visit,level,facility,mdtrt_id,begin,diagnosis,total,in_scope,"
		"hifp_pay,maf_pay\n"
		"A,990900198001010011,2024-03-10,inpatient,secondary,H1,M1,2024-03-01,K35.8,"
		"10.00,10.00,1.00,0.00\n"
		"B,990900198001010011,2024-03-11,outpatient,secondary,H2,,,,10.00,10.00,2.00,\n"
		"A,990900198001010029,2024-03-12,outpatient,secondary,H1,M3,,,10.00,10.00,3.00,"
		"4.00\n"
		"\n"
		"C,990900198001010029,2024-03-13,outpatient,secondary,,,,,"
		"900000.00,900000.00,700000.00,0.00";
	assert_int_equal(write(fd, csv, sizeof csv - 1), (ssize_t)(sizeof csv - 1));
	close(fd);
	sb_audit_extract x;
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_audit_extract_read(path, 1, &x, &d), SB_OK);
	assert_int_equal(x.rows_read, 4);
	const sb_audit_row *a2 = found(&x, "A", 2), *b3 = found(&x, "B", 3), *a4 = found(&x, "A", 4),
			   *c6 = found(&x, "C", 6);
	assert_non_null(a2);
	assert_non_null(b3);
	assert_non_null(a4);
	assert_non_null(c6); /* the last line, without a line feed */
	assert_int_equal(cell(&x, a2, SB_AUDIT_HIFP), 100);
	assert_int_equal(cell(&x, a2, SB_AUDIT_MAF), 0);
	assert_int_equal(cell(&x, a2, SB_AUDIT_OTH), -1);
	assert_false(a2->flags & SB_AUDIT_ROW_WIDE);
	assert_int_equal(cell(&x, b3, SB_AUDIT_HIFP), 200);
	assert_int_equal(cell(&x, b3, SB_AUDIT_MAF), -1); /* empty: wide */
	assert_true(b3->flags & SB_AUDIT_ROW_WIDE);
	assert_int_equal(cell(&x, a4, SB_AUDIT_HIFP), 300);
	assert_int_equal(cell(&x, a4, SB_AUDIT_MAF), 400); /* two amounts: wide */
	assert_int_equal(cell(&x, c6, SB_AUDIT_HIFP), 70000000); /* too large: wide */
	assert_int_equal(cell(&x, c6, SB_AUDIT_MAF), 0);
	assert_string_equal(sb_audit_row_person(a2), "990900********0011");
	assert_string_equal(sb_audit_row_mdtrt(a2), "M1");
	assert_string_equal(sb_audit_row_diagnosis(a2), "K35.8");
	assert_string_equal(sb_audit_row_person(a4), "990900********0029");
	assert_string_equal(sb_audit_row_mdtrt(a4), "M3");
	assert_string_equal(sb_audit_row_mdtrt(b3), "");
	assert_int_equal(a2->begin, a2->begin);
	assert_true(a2->begin != INT32_MIN && b3->begin == INT32_MIN);
	assert_int_equal(a2->fac, a4->fac);
	assert_true(a2->fac && b3->fac && a2->fac != b3->fac && !c6->fac);
	/* by id, when the line holds another row or none */
	assert_ptr_equal(found(&x, "A", 3), a2); /* 2 and 4, as near: the earlier */
	assert_ptr_equal(found(&x, "A", 5), a4); /* 2 and 4: 4 is nearer */
	assert_ptr_equal(found(&x, "A", 100), a4);
	assert_ptr_equal(found(&x, "A", 1), a2);
	assert_ptr_equal(found(&x, "B", 6), b3);
	assert_ptr_equal(found(&x, "C", 2), c6);
	assert_null(found(&x, "D", 2));
	assert_null(found(&x, "", 5)); /* a blank line */
	sb_audit_extract_release(&x);
	unlink(path);
}

static char expected[PATH_MAX + 64];

static sb_status run_fixture(sb_diag *d)
{
	char pol[PATH_MAX + 64], per[PATH_MAX + 64], ids[PATH_MAX + 64], cl[PATH_MAX + 64],
		rules[PATH_MAX + 64];
	snprintf(pol, sizeof pol, "%s/tests/fixtures/audit/policies", src);
	snprintf(per, sizeof per, "%s/tests/fixtures/audit/persons.csv", src);
	snprintf(ids, sizeof ids, "%s/tests/fixtures/audit/identities.csv", src);
	snprintf(cl, sizeof cl, "%s/tests/fixtures/audit/claims.csv", src);
	snprintf(rules, sizeof rules, "%s/rules/default.yaml", src);
	sb_audit_config cfg = {.policies_dir = pol, .persons_path = per, .identities_path = ids,
			       .claims_path = cl, .out_dir = dir, .rules_path = rules,
			       .threads = 1};
	sb_audit_totals t;
	sb_status st = sb_audit_run(&cfg, &t, d);
	if (st)
		return st;
	/* A run that succeeds has every finding. */
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "cmp -s %s %s/findings.csv", expected, dir);
	if (system(cmd))
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "findings differ from the fixture's");
	return SB_OK;
}

static void test_run_oom(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sb-test-audit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(expected, sizeof expected, "%s/tests/fixtures/audit/expected-findings.csv", src);
	assert_true(fail_each(run_fixture) > 100);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const char *s = getenv("SB_SOURCE_DIR");
	snprintf(src, sizeof src, "%s", s ? s : ".");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm3_standard),
		cmocka_unit_test(test_merkle),
		cmocka_unit_test(test_rules_oom),
		cmocka_unit_test(test_extract_rows),
		cmocka_unit_test(test_run_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
