/* test_fastpaths.c: the fast paths of the row readers and writers agree
 * with the general ones they stand in front of: sb_person_key's one-pass
 * resident ID (against sb_id_check, on valid IDs and on every kind of
 * fault: each position replaced, impossible and out-of-range birth dates,
 * wrong and lowercase check characters), sb_money_parse's digits.dd path
 * (against the general scanner's results on the same values spelled
 * another way), sb_person_key_text against the digits and
 * sb_id_check_char, sb_fen_put against snprintf, sb_date_format round
 * trips, and sb_date_ymd (unsigned arithmetic) against its inverse
 * sb_date_from_ymd over the whole range of day numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanbao/base.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An 18-character ID-like string: region, a birth date near or out of the
 * accepted range (sometimes impossible), a sequence and mostly the right
 * check character. */
static void make_id(char out[19])
{
	int y = 1790 + (int)(next() % 430), m = (int)(next() % 14), d = (int)(next() % 33);
	if (next() % 4) { /* mostly plausible dates */
		m = 1 + (int)(next() % 12);
		d = 1 + (int)(next() % 31);
	}
	snprintf(out, 19, "%06u%04d%02d%02d%03u", (unsigned)(next() % 1000000), y, m, d,
		 (unsigned)(next() % 1000));
	out[17] = sb_id_check_char(out);
	switch (next() % 8) {
	case 0:
		out[17] = "0123456789Xx?"[next() % 13];
		break;
	case 1:
		out[next() % 18] = "0123456789xXP -a"[next() % 16];
		break;
	default:
		break;
	}
	out[18] = '\0';
}

static void person_key_equals_id_check(void **state)
{
	(void)state;
	long ok = 0, bad = 0;
	for (int i = 0; i < 400000; i++) {
		char id[19];
		make_id(id);
		if (id[0] == 'P')
			continue; /* a pseudonym's prefix: the key's own branch */
		uint64_t key = 0;
		int pseudo = -1;
		sb_date b1 = -1, b2 = -2;
		const char *w1 = NULL, *w2 = NULL;
		sb_status s1 = sb_person_key(id, 18, &key, &pseudo, &b1, &w1);
		sb_status s2 = sb_id_check(id, 18, &b2, &w2);
		if (s1 != s2)
			fail_msg("%s: sb_person_key %d, sb_id_check %d", id, s1, s2);
		if (s1 == SB_OK) {
			uint64_t want = 0;
			for (int k = 0; k < 17; k++)
				want = want * 10 + (uint64_t)(id[k] - '0');
			assert_int_equal(key, want);
			assert_int_equal(pseudo, 0);
			assert_int_equal(b1, b2);
			ok++;
		} else {
			assert_non_null(w1);
			assert_string_equal(w1, w2);
			bad++;
		}
	}
	/* Both kinds were tried in numbers. */
	assert_true(ok > 100000);
	assert_true(bad > 50000);
	/* And without a birth wanted. */
	uint64_t key;
	int pseudo;
	assert_int_equal(sb_person_key("11010519491231002X", 18, &key, &pseudo, NULL, NULL), SB_OK);
	assert_int_equal(key, 11010519491231002ULL);
	assert_int_equal(sb_person_key("11010519491231002x", 18, &key, &pseudo, NULL, NULL),
			 SB_EINPUT);
}

/* The general scanner's value of v fen: spelled with leading zeros to 19
 * characters, past the fast path's 14. */
static sb_fen general(sb_fen v)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%016lld.%02lld", (long long)(v / 100), (long long)(v % 100));
	assert_true(strlen(buf) > 14);
	sb_fen got = -1;
	assert_int_equal(sb_money_parse(buf, strlen(buf), &got, NULL), SB_OK);
	return got;
}

static void money_fast_path_equals_general(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		int digits = 1 + (int)(next() % 13);
		sb_fen v = (sb_fen)(next() % 10000000000000ULL);
		for (int k = 13; k > digits; k--)
			v /= 10;
		char buf[40];
		char *end = sb_fen_put(buf, v);
		sb_fen got = -1;
		assert_int_equal(sb_money_parse(buf, (size_t)(end - buf), &got, NULL), SB_OK);
		assert_int_equal(got, v);
		assert_int_equal(general(v), v);
	}
	/* The edges of the fast path: 11 integer digits, leading zeros, and
	 * what it leaves to the scanner (with the scanner's answers). */
	static const struct {
		const char *s;
		sb_status st;
		sb_fen v;
	} cases[] = {
		{"99999999999.99", SB_OK, 9999999999999LL},
		{"099999999999.99", SB_OK, 9999999999999LL},
		{"0001.00", SB_OK, 100},
		{"0.00", SB_OK, 0},
		{"1.0a", SB_EINPUT, 0},
		{" 1.00", SB_EINPUT, 0},
		{"1.00 ", SB_EINPUT, 0},
		{"+1.00", SB_EINPUT, 0},
		{"1,000.00", SB_EINPUT, 0},
		{"..00", SB_EINPUT, 0},
		{"1..00", SB_EINPUT, 0},
		{"-1.00", SB_OK, -100},
		{"12.5", SB_OK, 1250},
		{"12", SB_OK, 1200},
		{".50", SB_EINPUT, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sb_fen got = 0;
		const char *why = NULL;
		sb_status st = sb_money_parse(cases[i].s, strlen(cases[i].s), &got, &why);
		if (st != cases[i].st)
			fail_msg("\"%s\": status %d, want %d", cases[i].s, st, cases[i].st);
		if (st == SB_OK)
			assert_int_equal(got, cases[i].v);
		else
			assert_non_null(why);
	}
}

/* A key back to its ID: the digits and sb_id_check_char's check. */
static void key_text_equals_digits(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		uint64_t key = next() % 100000000000000000ULL;
		if (i < 2)
			key = i ? 99999999999999999ULL : 0;
		char got[19], want[19];
		sb_person_key_text(key, 0, got);
		snprintf(want, sizeof want, "%017llu", (unsigned long long)key);
		want[17] = sb_id_check_char(want);
		want[18] = '\0';
		assert_string_equal(got, want);
	}
}

/* sb_fen_put against snprintf, negatives and the extremes included. */
static void fen_put_equals_printf(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		int64_t v = (int64_t)next();
		v >>= next() % 63;
		if (i < 4)
			v = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : i == 2 ? 0 : -1;
		uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		char want[48], got[48];
		snprintf(want, sizeof want, "%s%llu.%02llu", v < 0 ? "-" : "",
			 (unsigned long long)(mag / 100), (unsigned long long)(mag % 100));
		memset(got, 'Z', sizeof got);
		char *end = sb_fen_put(got, v);
		assert_int_equal((size_t)(end - got), strlen(want));
		assert_memory_equal(got, want, strlen(want));
		assert_int_equal(*end, 'Z'); /* nothing written past the end */
	}
	/* Every amount around the 32-bit fast path's range, exactly. */
	for (int64_t v = -20000; v < 10200000; v += v < 200000 || v > 9990000 ? 1 : 7) {
		char want[48], got[48];
		uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		snprintf(want, sizeof want, "%s%llu.%02llu", v < 0 ? "-" : "",
			 (unsigned long long)(mag / 100), (unsigned long long)(mag % 100));
		memset(got, 'Z', sizeof got);
		char *end = sb_fen_put(got, v);
		assert_int_equal((size_t)(end - got), strlen(want));
		assert_memory_equal(got, want, strlen(want));
		assert_int_equal(*end, 'Z');
	}
}

static void date_round_trip(void **state)
{
	(void)state;
	for (sb_date d = sb_date_from_ymd(1900, 1, 1); d <= sb_date_from_ymd(2199, 12, 31); d += 7) {
		char buf[11];
		assert_int_equal(sb_date_format(d, buf), 10);
		sb_date back = 0;
		assert_int_equal(sb_date_parse(buf, 10, 0, &back, NULL), SB_OK);
		assert_int_equal(back, d);
	}
}

/* y, m, d of a day number, and back: the same day, and a real date. */
static void ymd_back(int64_t z)
{
	int y, m, d;
	sb_date_ymd((sb_date)z, &y, &m, &d);
	assert_true(m >= 1 && m <= 12);
	assert_true(d >= 1 && d <= 31);
	assert_int_equal(sb_date_from_ymd(y, m, d), (sb_date)z);
}

static void date_ymd_inverse(void **state)
{
	(void)state;
	for (int64_t z = INT32_MIN; z <= INT32_MAX; z += 9973)
		ymd_back(z);
	ymd_back(INT32_MIN);
	ymd_back(INT32_MAX);
	ymd_back(-1);
	ymd_back(0);
	/* Every day of the years that settle: month ends, leap days. */
	for (int64_t z = sb_date_from_ymd(1799, 1, 1); z <= sb_date_from_ymd(2201, 1, 1); z++)
		ymd_back(z);
	int y, m, d;
	sb_date_ymd(sb_date_from_ymd(2024, 2, 29), &y, &m, &d);
	assert_true(y == 2024 && m == 2 && d == 29);
	sb_date_ymd(sb_date_from_ymd(1600, 3, 1), &y, &m, &d);
	assert_true(y == 1600 && m == 3 && d == 1);
	sb_date_ymd(sb_date_from_ymd(-4713, 11, 24), &y, &m, &d);
	assert_true(y == -4713 && m == 11 && d == 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(person_key_equals_id_check),
		cmocka_unit_test(money_fast_path_equals_general),
		cmocka_unit_test(key_text_equals_digits),
		cmocka_unit_test(fen_put_equals_printf),
		cmocka_unit_test(date_round_trip),
		cmocka_unit_test(date_ymd_inverse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
