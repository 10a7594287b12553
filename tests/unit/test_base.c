/* test_base.c: table-driven unit tests for src/base: status and diagnostics,
 * money and basis points, dates, and the resident identity number.
 * Each table row names itself so a failure says which row broke.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sanbao/base.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- status and diagnostics ------------------------------------------ */

static void test_strerror(void **state)
{
	(void)state;
	static const sb_status all[] = { SB_OK,     SB_ENOMEM,  SB_EIO,
					 SB_ESYNTAX, SB_EPOLICY, SB_EINPUT,
					 SB_ELIMIT, SB_ENOTFOUND };

	/* Every code has its own non-empty phrase, so logs can tell them
	 * apart. */
	for (size_t i = 0; i < LEN(all); i++) {
		const char *s = sb_strerror(all[i]);

		assert_non_null(s);
		assert_true(s[0] != '\0');
		for (size_t j = 0; j < i; j++)
			if (strcmp(s, sb_strerror(all[j])) == 0)
				fail_msg("codes %zu and %zu share \"%s\"", i, j,
					 s);
	}
	assert_string_equal(sb_strerror(SB_OK), "success");
	assert_string_equal(sb_strerror((sb_status)99), "unknown status");
}

static void test_diag_set_and_clear(void **state)
{
	(void)state;
	sb_diag d;

	memset(&d, 'z', sizeof(d));
	sb_diag_clear(&d);
	assert_int_equal(d.code, SB_OK);
	assert_int_equal(d.line, 0);
	assert_int_equal(d.column, 0);
	assert_string_equal(d.file, "");
	assert_string_equal(d.message, "");

	assert_int_equal(sb_diag_set(&d, SB_EPOLICY, "p.yaml", 12, 5,
				     "rate %s is above 1", "1.2"),
			 SB_EPOLICY);
	assert_int_equal(d.code, SB_EPOLICY);
	assert_int_equal(d.line, 12);
	assert_int_equal(d.column, 5);
	assert_string_equal(d.file, "p.yaml");
	assert_string_equal(d.message, "rate 1.2 is above 1");

	/* NULL file means "no place"; a NULL diagnostic is tolerated. */
	assert_int_equal(sb_diag_set(&d, SB_EINPUT, NULL, 0, 0, "x=%d", 7),
			 SB_EINPUT);
	assert_string_equal(d.file, "");
	assert_string_equal(d.message, "x=7");
	assert_int_equal(sb_diag_set(NULL, SB_EIO, "f", 1, 1, "m"), SB_EIO);
}

static void test_diag_truncation(void **state)
{
	(void)state;
	sb_diag d;
	char longfile[1000];
	char longmsg[2000];

	memset(longfile, 'f', sizeof(longfile) - 1);
	longfile[sizeof(longfile) - 1] = '\0';
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';

	sb_diag_set(&d, SB_ELIMIT, longfile, 1, 2, "%s", longmsg);
	assert_int_equal(strlen(d.file), sizeof(d.file) - 1);
	assert_int_equal(strlen(d.message), sizeof(d.message) - 1);
	assert_memory_equal(d.file, longfile, sizeof(d.file) - 1);

	/* Formatting into a small buffer truncates and terminates. */
	char small[8];

	memset(small, '#', sizeof(small));
	assert_ptr_equal(sb_diag_format(&d, small, sizeof(small)), small);
	assert_string_equal(small, "fffffff");

	/* A zero-sized buffer is left alone. */
	small[0] = '#';
	sb_diag_format(&d, small, 0);
	assert_int_equal(small[0], '#');

	/* Truncation in the middle of the place parts. */
	sb_diag_set(&d, SB_EINPUT, "ab", 1234, 5, "msg");
	sb_diag_format(&d, small, 6);
	assert_string_equal(small, "ab:12");
}

static void test_diag_format(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		int line, column;
		const char *msg;
		const char *want;
	} rows[] = {
		{ "p.yaml", 12, 5, "bad rate", "p.yaml:12:5: bad rate" },
		{ "p.yaml", 0, 0, "bad rate", "p.yaml: bad rate" },
		{ "p.yaml", 0, 7, "bad rate", "p.yaml: bad rate" },
		{ "p.yaml", 3, 0, "bad rate", "p.yaml:3: bad rate" },
		{ "", 0, 0, "bad rate", "bad rate" },
		{ NULL, 0, 0, "bad rate", "bad rate" },
		{ "", 4, 2, "bad rate", "4:2: bad rate" },
		{ "c.csv", 2, 9, "", "c.csv:2:9: invalid input" },
	};
	char buf[128];
	sb_diag d;

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_diag_set(&d, SB_EINPUT, rows[i].file, rows[i].line,
			    rows[i].column, "%s", rows[i].msg);
		sb_diag_format(&d, buf, sizeof(buf));
		if (strcmp(buf, rows[i].want) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, buf,
				 rows[i].want);
	}
}

/* ---- money ------------------------------------------------------------ */

static void test_money_parse_valid(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		sb_fen want;
	} rows[] = {
		{ "300", 30000 },
		{ "17126.42", 1712642 },
		{ "-0.5", -50 },
		{ "0", 0 },
		{ "-0", 0 },
		{ "0.05", 5 },
		{ "0.5", 50 },
		{ "1.5", 150 },
		{ "1.50", 150 },
		{ "-0.05", -5 },
		{ "007", 700 },
		{ "999999999999.99", SB_FEN_MAX - 1 },
		{ "1000000000000", SB_FEN_MAX },
		{ "1000000000000.00", SB_FEN_MAX },
		{ "-1000000000000", -SB_FEN_MAX },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_fen v = 12345;
		const char *why = NULL;
		sb_status st = sb_money_parse(rows[i].in, strlen(rows[i].in),
					      &v, &why);

		if (st != SB_OK || v != rows[i].want)
			fail_msg("\"%s\": status %d (%s), got %lld, want %lld",
				 rows[i].in, st, why ? why : "-", (long long)v,
				 (long long)rows[i].want);
	}

	/* The view ends at n, not at the NUL: "12.345" cut at 4 is "12.3". */
	sb_fen v = 0;
	const char *why = NULL;

	assert_int_equal(sb_money_parse("12.345", 4, &v, &why), SB_OK);
	assert_int_equal(v, 1230);
}

static void test_money_parse_invalid(void **state)
{
	(void)state;
	static const char not_yuan[] = "is not an amount in yuan";
	static const struct {
		const char *in;
		const char *why;
	} rows[] = {
		{ "1.234", "has more than 2 decimals" },
		{ "0.001", "has more than 2 decimals" },
		{ "-5.000", "has more than 2 decimals" },
		{ "1e5", not_yuan },
		{ "1.5e2", not_yuan },
		{ "1E5", not_yuan },
		{ "", "is empty" },
		{ "-", not_yuan },
		{ " 1", not_yuan },
		{ "1 ", not_yuan },
		{ "1,000", not_yuan },
		{ "+1", not_yuan },
		{ "1.", not_yuan },
		{ ".5", not_yuan },
		{ "-.5", not_yuan },
		{ "--1", not_yuan },
		{ "1.2.3", not_yuan },
		{ "0x10", not_yuan },
		{ "abc", not_yuan },
		{ "1-", not_yuan },
		{ "¥5", not_yuan },
		{ "1000000000000.01", "is too large" },
		{ "-1000000000000.01", "is too large" },
		{ "1000000000001", "is too large" },
		{ "99999999999999999999999999", "is too large" },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_fen v = 777;
		const char *why = NULL;
		sb_status st = sb_money_parse(rows[i].in, strlen(rows[i].in),
					      &v, &why);

		if (st != SB_EINPUT)
			fail_msg("\"%s\": accepted as %lld", rows[i].in,
				 (long long)v);
		if (!why || strcmp(why, rows[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", rows[i].in,
				 why ? why : "(null)", rows[i].why);
		/* A refused value leaves the output alone. */
		assert_int_equal(v, 777);
	}

	/* An embedded NUL inside the view is not a terminator. */
	sb_fen v = 0;
	const char *why = NULL;

	assert_int_equal(sb_money_parse("1\0" "5", 3, &v, &why), SB_EINPUT);
}

static void test_money_format(void **state)
{
	(void)state;
	static const struct {
		sb_fen v;
		const char *want;
	} rows[] = {
		{ 0, "0.00" },
		{ 5, "0.05" },
		{ -5, "-0.05" },
		{ 50, "0.50" },
		{ -50, "-0.50" },
		{ 100, "1.00" },
		{ 1712642, "17126.42" },
		{ -1712642, "-17126.42" },
		{ SB_FEN_MAX, "1000000000000.00" },
		{ INT64_MAX, "92233720368547758.07" },
		{ INT64_MIN, "-92233720368547758.08" },
	};
	char buf[SB_MONEY_BUF];

	for (size_t i = 0; i < LEN(rows); i++) {
		size_t len = sb_money_format(rows[i].v, buf);

		if (strcmp(buf, rows[i].want) != 0 ||
		    len != strlen(rows[i].want))
			fail_msg("%lld: got \"%s\" (%zu), want \"%s\"",
				 (long long)rows[i].v, buf, len, rows[i].want);
	}
}

static void check_money_round_trip(sb_fen v)
{
	char buf[SB_MONEY_BUF];
	size_t len = sb_money_format(v, buf);
	sb_fen back = v + 1;
	const char *why = NULL;

	if (sb_money_parse(buf, len, &back, &why) != SB_OK || back != v)
		fail_msg("%lld -> \"%s\" -> %lld (%s)", (long long)v, buf,
			 (long long)back, why ? why : "ok");
}

static void test_money_round_trip(void **state)
{
	(void)state;
	for (sb_fen v = -30000; v <= 30000; v++)
		check_money_round_trip(v);
	for (sb_fen v = 1; v < SB_FEN_MAX / 7; v = v * 7 + 3) {
		check_money_round_trip(v);
		check_money_round_trip(-v);
	}
	check_money_round_trip(SB_FEN_MAX);
	check_money_round_trip(-SB_FEN_MAX);
	check_money_round_trip(SB_FEN_MAX - 1);
}

/* ---- rounding ---------------------------------------------------------- */

static void test_div_round_table(void **state)
{
	(void)state;
	static const struct {
		int64_t num, den, want;
	} rows[] = {
		/* exactly half: up for positive, away from zero for negative */
		{ 5, 10, 1 },
		{ -5, 10, -1 },
		{ 15, 10, 2 },
		{ -15, 10, -2 },
		{ 25, 10, 3 },
		{ -25, 10, -3 },
		{ 1, 2, 1 },
		{ -1, 2, -1 },
		{ 3, 2, 2 },
		{ -3, 2, -2 },
		/* just below and above half */
		{ 4, 10, 0 },
		{ -4, 10, 0 },
		{ 6, 10, 1 },
		{ -6, 10, -1 },
		{ 14, 10, 1 },
		{ 16, 10, 2 },
		{ 49999, 100000, 0 },
		{ 50000, 100000, 1 },
		{ -49999, 100000, 0 },
		{ -50000, 100000, -1 },
		{ 1, 3, 0 },
		{ 2, 3, 1 },
		{ -2, 3, -1 },
		{ 0, 7, 0 },
		{ 7, 7, 1 },
		{ 42, 1, 42 },
		{ -42, 1, -42 },
		/* fen x basis points / 10000, the everyday case: 17126.42 yuan
		 * at 85% is 14557.457 yuan -> 14557.46 */
		{ 1712642LL * 8500, 10000, 1455746 },
		{ 12345LL * 5, 10000, 6 },  /* 6.1725 */
		{ 12350LL * 5, 10000, 6 },  /* 6.175 */
		{ 13000LL * 5, 10000, 7 },  /* 6.5 */
		/* large operands must not overflow */
		{ 4611686018427387903LL, 2, 2305843009213693952LL },
		{ -4611686018427387903LL, 2, -2305843009213693952LL },
		{ INT64_MAX, 2, 4611686018427387904LL },
		{ INT64_MIN + 1, 2, -4611686018427387904LL },
		{ INT64_MIN, 2, INT64_MIN / 2 },
		{ INT64_MAX, INT64_MAX, 1 },
		{ INT64_MAX / 2, INT64_MAX, 0 },
		{ INT64_MAX / 2 + 1, INT64_MAX, 1 },
		{ -(INT64_MAX / 2) - 1, INT64_MAX, -1 },
		{ SB_FEN_MAX * 10000, 10000, SB_FEN_MAX },
		/* den <= 0 breaks the contract; answered with 0, not a trap */
		{ 5, 0, 0 },
		{ 5, -2, 0 },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		int64_t got = sb_div_round(rows[i].num, rows[i].den);

		if (got != rows[i].want)
			fail_msg("%lld / %lld: got %lld, want %lld",
				 (long long)rows[i].num, (long long)rows[i].den,
				 (long long)got, (long long)rows[i].want);
	}
}

static void test_div_round_reference(void **state)
{
	(void)state;
	/* Reference: |num| / den rounded half up is (2|num| + den) / (2 den)
	 * in exact small-integer arithmetic, then the sign is put back. */
	for (int64_t den = 1; den <= 60; den++) {
		for (int64_t num = -2000; num <= 2000; num++) {
			int64_t mag = num < 0 ? -num : num;
			int64_t ref = (2 * mag + den) / (2 * den);

			if (num < 0)
				ref = -ref;
			if (sb_div_round(num, den) != ref)
				fail_msg("%lld / %lld: got %lld, want %lld",
					 (long long)num, (long long)den,
					 (long long)sb_div_round(num, den),
					 (long long)ref);
		}
	}
}

/* ---- basis points ------------------------------------------------------ */

static void test_bp_parse_valid(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int allow_percent;
		int64_t want;
	} rows[] = {
		{ "0.7", 0, 7000 },
		{ "0.7", 1, 7000 },
		{ "1", 0, 10000 },
		{ "0", 0, 0 },
		{ "-0", 0, 0 },
		{ "-0.2", 0, -2000 },
		{ "0.112", 0, 1120 },
		{ "0.0001", 0, 1 },
		{ "0.1234", 0, 1234 },
		{ "1.5", 0, 15000 }, /* no range check */
		{ "12", 0, 120000 },
		{ "-3.25", 0, -32500 },
		{ "70%", 1, 7000 },
		{ "11.2%", 1, 1120 },
		{ "-20%", 1, -2000 },
		{ "0.25%", 1, 25 },
		{ "0.05%", 1, 5 },
		{ "100%", 1, 10000 },
		{ "250%", 1, 25000 },
		{ "0%", 1, 0 },
		{ "70", 1, 700000 }, /* a bare number is still a decimal */
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		int64_t v = 999;
		const char *why = NULL;
		sb_status st = sb_bp_parse(rows[i].in, strlen(rows[i].in),
					   rows[i].allow_percent, &v, &why);

		if (st != SB_OK || v != rows[i].want)
			fail_msg("\"%s\" (percent %d): status %d (%s), got %lld, want %lld",
				 rows[i].in, rows[i].allow_percent, st,
				 why ? why : "-", (long long)v,
				 (long long)rows[i].want);
	}
}

static void test_bp_parse_invalid(void **state)
{
	(void)state;
	static const char nan_[] = "is not a number";
	static const struct {
		const char *in;
		int allow_percent;
		const char *why;
	} rows[] = {
		{ "0.12345", 0, "has more than 4 decimals" },
		{ "0.12345", 1, "has more than 4 decimals" },
		{ "12.345%", 1, "has more than 2 decimals" },
		{ "0.001%", 1, "has more than 2 decimals" },
		{ "70%", 0, "is a percent where a decimal is expected" },
		{ "", 0, "is empty" },
		{ "", 1, "is empty" },
		{ "%", 1, nan_ },
		{ "-%", 1, nan_ },
		{ "-", 0, nan_ },
		{ "abc", 0, nan_ },
		{ "1e3", 0, nan_ },
		{ "1e3%", 1, nan_ },
		{ " 1", 0, nan_ },
		{ "1 ", 0, nan_ },
		{ "+1", 0, nan_ },
		{ ".5", 0, nan_ },
		{ "1.", 0, nan_ },
		{ "70 %", 1, nan_ },
		{ "70%%", 1, nan_ },
		{ "%70", 1, nan_ },
		{ "--1", 0, nan_ },
		{ "0,7", 0, nan_ },
		{ "99999999999999999999", 0, "is too large" },
		{ "99999999999999999999%", 1, "is too large" },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		int64_t v = 999;
		const char *why = NULL;
		sb_status st = sb_bp_parse(rows[i].in, strlen(rows[i].in),
					   rows[i].allow_percent, &v, &why);

		if (st != SB_EINPUT)
			fail_msg("\"%s\" (percent %d): accepted as %lld",
				 rows[i].in, rows[i].allow_percent,
				 (long long)v);
		if (!why || strcmp(why, rows[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", rows[i].in,
				 why ? why : "(null)", rows[i].why);
		assert_int_equal(v, 999);
	}
}

static void test_bp_format(void **state)
{
	(void)state;
	static const struct {
		int64_t bp;
		const char *want;
	} rows[] = {
		{ 7000, "70%" },
		{ 1120, "11.2%" },
		{ 5, "0.05%" },
		{ -2000, "-20%" },
		{ -5, "-0.05%" },
		{ 0, "0%" },
		{ 25, "0.25%" },
		{ 10000, "100%" },
		{ 12345, "123.45%" },
		{ 8050, "80.5%" },
		{ 1, "0.01%" },
		{ INT64_MIN, "-92233720368547758.08%" },
	};
	char buf[SB_MONEY_BUF];

	for (size_t i = 0; i < LEN(rows); i++) {
		size_t len = sb_bp_format(rows[i].bp, buf);

		if (strcmp(buf, rows[i].want) != 0 ||
		    len != strlen(rows[i].want))
			fail_msg("%lld: got \"%s\" (%zu), want \"%s\"",
				 (long long)rows[i].bp, buf, len, rows[i].want);
	}

	/* Every whole basis point reads back as itself through a percent. */
	for (int64_t bp = -20000; bp <= 20000; bp++) {
		size_t len = sb_bp_format(bp, buf);
		int64_t back = bp + 1;
		const char *why = NULL;

		if (sb_bp_parse(buf, len, 1, &back, &why) != SB_OK ||
		    back != bp)
			fail_msg("%lld -> \"%s\" -> %lld (%s)", (long long)bp,
				 buf, (long long)back, why ? why : "ok");
	}
}

/* ---- dates -------------------------------------------------------------- */

static void test_date_known_days(void **state)
{
	(void)state;
	static const struct {
		int y, m, d;
		sb_date want;
	} rows[] = {
		{ 1970, 1, 1, 0 },
		{ 1969, 12, 31, -1 },
		{ 1970, 1, 2, 1 },
		{ 1900, 1, 1, -25567 },
		{ 2000, 2, 29, 11016 },
		{ 2000, 3, 1, 11017 },
		{ 2023, 10, 20, 19650 },
		{ 2199, 12, 31, 84005 },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_date got = sb_date_from_ymd(rows[i].y, rows[i].m, rows[i].d);
		int y = 0, m = 0, d = 0;

		if (got != rows[i].want)
			fail_msg("%04d-%02d-%02d: got %d, want %d", rows[i].y,
				 rows[i].m, rows[i].d, (int)got,
				 (int)rows[i].want);
		sb_date_ymd(rows[i].want, &y, &m, &d);
		assert_int_equal(y, rows[i].y);
		assert_int_equal(m, rows[i].m);
		assert_int_equal(d, rows[i].d);
	}
}

static void test_date_valid(void **state)
{
	(void)state;
	static const struct {
		int y, m, d, want;
	} rows[] = {
		{ 2000, 2, 29, 1 }, /* divisible by 400 */
		{ 1900, 2, 29, 0 }, /* divisible by 100 only */
		{ 2100, 2, 29, 0 },
		{ 2024, 2, 29, 1 }, /* divisible by 4 */
		{ 2023, 2, 29, 0 },
		{ 2023, 2, 28, 1 },
		{ 2024, 2, 30, 0 },
		{ 2023, 4, 30, 1 },
		{ 2023, 4, 31, 0 },
		{ 2023, 12, 31, 1 },
		{ 2023, 1, 31, 1 },
		{ 2023, 1, 32, 0 },
		{ 2023, 0, 10, 0 },
		{ 2023, 13, 1, 0 },
		{ 2023, 5, 0, 0 },
		{ 2023, 5, -1, 0 },
	};

	for (size_t i = 0; i < LEN(rows); i++)
		if (sb_date_valid(rows[i].y, rows[i].m, rows[i].d) !=
		    rows[i].want)
			fail_msg("%d-%d-%d: want valid=%d", rows[i].y,
				 rows[i].m, rows[i].d, rows[i].want);
}

static void test_date_every_day(void **state)
{
	(void)state;
	/* Walks the calendar 1900-2199 one real day at a time: day numbers
	 * must be consecutive, and ymd, format and parse must all agree. */
	sb_date expect = sb_date_from_ymd(1900, 1, 1);
	int count = 0;
	int leap_days = 0;

	for (int y = 1900; y <= 2199; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= 31; d++) {
				if (!sb_date_valid(y, m, d))
					continue;

				sb_date day = sb_date_from_ymd(y, m, d);
				int yy, mm, dd;
				char buf[11];
				sb_date back = -1;
				const char *why = NULL;

				if (day != expect)
					fail_msg("%d-%d-%d: got %d, want %d", y,
						 m, d, (int)day, (int)expect);
				sb_date_ymd(day, &yy, &mm, &dd);
				if (yy != y || mm != m || dd != d)
					fail_msg("%d -> %d-%d-%d, want %d-%d-%d",
						 (int)day, yy, mm, dd, y, m, d);
				assert_int_equal(sb_date_format(day, buf), 10);
				assert_int_equal(buf[10], '\0');
				if (sb_date_parse(buf, 10, 0, &back, &why) !=
					    SB_OK ||
				    back != day)
					fail_msg("\"%s\" -> %d (%s), want %d",
						 buf, (int)back,
						 why ? why : "ok", (int)day);
				if (m == 2 && d == 29)
					leap_days++;
				expect++;
				count++;
			}
		}
	}
	/* 300 years: 75 multiples of 4, less 1900 and 2100 (2000 stays). */
	assert_int_equal(leap_days, 73);
	assert_int_equal(count, 300 * 365 + 73);
	assert_int_equal(expect - 1, 84005);
}

static void test_date_parse(void **state)
{
	(void)state;
	static const char not_date[] = "is not a date (YYYY-MM-DD)";
	static const char not_day[] = "is not a date: no such day in the calendar";
	static const char range[] = "is outside the years 1900-2199";
	static const struct {
		const char *in;
		int allow_time;
		sb_date want;      /* when why is NULL */
		const char *why;
	} rows[] = {
		{ "2023-10-20", 0, 19650, NULL },
		{ "2023-10-20", 1, 19650, NULL },
		{ "2023-10-20 14:03:00", 1, 19650, NULL },
		{ "2023-10-20T14:03:00Z", 1, 19650, NULL },
		{ "2023-10-20T", 1, 19650, NULL },
		{ "1900-01-01", 0, -25567, NULL },
		{ "2199-12-31", 0, 84005, NULL },
		{ "2000-02-29", 0, 11016, NULL },
		{ "2024-02-29", 0, 19782, NULL },
		{ "2023-10-20 14:03:00", 0, 0, not_date },
		{ "2023-10-20 14:03", 1, 19650, NULL },
		{ "2023-10-20 14:03:00.250", 1, 19650, NULL },
		{ "2023-10-20T14:03:00+08:00", 1, 19650, NULL },
		{ "2023-10-20T14:03:00+0800", 1, 19650, NULL },
		{ "2023-02-03 garbage", 1, 0, not_date },
		{ "2023-02-03 ", 1, 0, not_date },
		{ "2023-02-03 24:00:00", 1, 0, not_date },
		{ "2023-02-03 14:03:00 x", 1, 0, not_date },
		{ "2023-02-03T14:03:00Zx", 1, 0, not_date },
		{ "2023-02-03 14:3", 1, 0, not_date },
		{ "2023-10-20X", 1, 0, not_date },
		{ "2023-10-201", 1, 0, not_date },
		{ "2023-10-20 ", 0, 0, not_date },
		{ "2023-1-5", 0, 0, not_date },
		{ "2023/01/05", 0, 0, not_date },
		{ "20231020", 0, 0, not_date },
		{ "2023-10-2", 0, 0, not_date },
		{ "2023-10-2a", 0, 0, not_date },
		{ " 2023-10-20", 0, 0, not_date },
		{ "-023-10-20", 0, 0, not_date },
		{ "2023-+1-20", 0, 0, not_date },
		{ "", 0, 0, "is empty" },
		{ "2023-02-29", 0, 0, not_day },
		{ "1900-02-29", 0, 0, not_day },
		{ "2024-02-30", 0, 0, not_day },
		{ "2023-13-01", 0, 0, not_day },
		{ "2023-00-10", 0, 0, not_day },
		{ "2023-04-31", 0, 0, not_day },
		{ "2023-04-00", 0, 0, not_day },
		{ "1899-12-31", 0, 0, range },
		{ "2200-01-01", 0, 0, range },
		{ "0000-01-01", 0, 0, range },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_date v = 4242;
		const char *why = NULL;
		sb_status st = sb_date_parse(rows[i].in, strlen(rows[i].in),
					     rows[i].allow_time, &v, &why);

		if (!rows[i].why) {
			if (st != SB_OK || v != rows[i].want)
				fail_msg("\"%s\": status %d (%s), got %d, want %d",
					 rows[i].in, st, why ? why : "-",
					 (int)v, (int)rows[i].want);
			continue;
		}
		if (st != SB_EINPUT)
			fail_msg("\"%s\" (time %d): accepted as %d",
				 rows[i].in, rows[i].allow_time, (int)v);
		if (!why || strcmp(why, rows[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", rows[i].in,
				 why ? why : "(null)", rows[i].why);
		assert_int_equal(v, 4242);
	}

	/* The view ends at n: the 11th character is not looked at. */
	sb_date v = 0;
	const char *why = NULL;

	assert_int_equal(sb_date_parse("2023-10-205", 10, 0, &v, &why), SB_OK);
	assert_int_equal(v, 19650);
}

static void test_date_format(void **state)
{
	(void)state;
	char buf[16];

	memset(buf, '#', sizeof(buf));
	assert_int_equal(sb_date_format(0, buf), 10);
	assert_string_equal(buf, "1970-01-01");
	assert_int_equal(buf[11], '#'); /* wrote exactly 11 bytes */
	sb_date_format(-25567, buf);
	assert_string_equal(buf, "1900-01-01");
	sb_date_format(19782, buf);
	assert_string_equal(buf, "2024-02-29");
	sb_date_format(sb_date_from_ymd(1, 1, 1), buf);
	assert_string_equal(buf, "0001-01-01");
	sb_date_format(sb_date_from_ymd(9999, 12, 31), buf);
	assert_string_equal(buf, "9999-12-31");
	/* Beyond four-digit years: a non-date, and still only 11 bytes. */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(sb_date_format(INT32_MAX, buf), 10);
	assert_string_equal(buf, "\?\?\?\?-\?\?-\?\?");
	assert_int_equal(buf[11], '#');
	sb_date_format(INT32_MIN, buf);
	assert_string_equal(buf, "\?\?\?\?-\?\?-\?\?");
}

static void test_age_years(void **state)
{
	(void)state;
	static const struct {
		int by, bm, bd, oy, om, od, want;
	} rows[] = {
		{ 2000, 5, 5, 2010, 5, 4, 9 },   /* day before birthday */
		{ 2000, 5, 5, 2010, 5, 5, 10 },  /* on the birthday */
		{ 2000, 5, 5, 2010, 5, 6, 10 },
		{ 2000, 5, 5, 2010, 4, 30, 9 },
		{ 2000, 5, 5, 2010, 12, 31, 10 },
		{ 2000, 5, 5, 2000, 5, 5, 0 },
		{ 2000, 5, 5, 2001, 1, 1, 0 },
		{ 2000, 2, 29, 2001, 2, 28, 0 }, /* leapling, common year */
		{ 2000, 2, 29, 2001, 3, 1, 1 },
		{ 2000, 2, 29, 2004, 2, 28, 3 }, /* leapling, leap year */
		{ 2000, 2, 29, 2004, 2, 29, 4 },
		{ 1949, 10, 1, 2021, 3, 1, 71 },
		{ 1949, 10, 1, 2021, 10, 1, 72 },
		{ 1999, 12, 31, 2000, 1, 1, 0 },
		{ 1999, 12, 31, 2059, 12, 31, 60 },
		{ 1999, 12, 31, 2059, 12, 30, 59 },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		int got = sb_age_years(
			sb_date_from_ymd(rows[i].by, rows[i].bm, rows[i].bd),
			sb_date_from_ymd(rows[i].oy, rows[i].om, rows[i].od));

		if (got != rows[i].want)
			fail_msg("born %d-%d-%d on %d-%d-%d: got %d, want %d",
				 rows[i].by, rows[i].bm, rows[i].bd, rows[i].oy,
				 rows[i].om, rows[i].od, got, rows[i].want);
	}
}

static void test_date_minus_year(void **state)
{
	(void)state;
	static const struct {
		int y, m, d, wy, wm, wd;
	} rows[] = {
		{ 2024, 2, 29, 2023, 2, 28 },
		{ 2000, 2, 29, 1999, 2, 28 },
		{ 2024, 3, 1, 2023, 3, 1 },
		{ 2025, 2, 28, 2024, 2, 28 },
		{ 2025, 3, 1, 2024, 3, 1 },
		{ 2023, 1, 1, 2022, 1, 1 },
		{ 2023, 12, 31, 2022, 12, 31 },
		{ 1901, 6, 15, 1900, 6, 15 },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_date got = sb_date_minus_year(
			sb_date_from_ymd(rows[i].y, rows[i].m, rows[i].d));
		sb_date want = sb_date_from_ymd(rows[i].wy, rows[i].wm,
						rows[i].wd);

		if (got != want)
			fail_msg("%d-%d-%d: got day %d, want %d", rows[i].y,
				 rows[i].m, rows[i].d, (int)got, (int)want);
	}
}

/* ---- resident identity number ----------------------------------------- */

static void test_id_valid(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		int y, m, d;
	} rows[] = {
		{ "11010519491231002X", 1949, 12, 31 },
		{ "110105194910010082", 1949, 10, 1 },
		{ "500112199003078760", 1990, 3, 7 },
		{ "41010219800202004X", 1980, 2, 2 },
		{ "32028119650512123X", 1965, 5, 12 },
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_date birth = -1;
		const char *why = NULL;
		sb_status st = sb_id_check(rows[i].id, strlen(rows[i].id),
					   &birth, &why);

		if (st != SB_OK)
			fail_msg("%s: refused: %s", rows[i].id,
				 why ? why : "(null)");
		assert_int_equal(birth, sb_date_from_ymd(rows[i].y, rows[i].m,
							 rows[i].d));
		assert_int_equal(sb_id_check_char(rows[i].id), rows[i].id[17]);
		/* A NULL birth pointer is allowed. */
		assert_int_equal(sb_id_check(rows[i].id, 18, NULL, &why),
				 SB_OK);
	}
}

static void test_id_invalid(void **state)
{
	(void)state;
	static const char check[] = "has a wrong check digit (18th character)";
	static const char birth[] = "has an impossible birth date";
	static const char len18[] = "is not 18 characters";
	static const struct {
		const char *id;
		const char *why;
	} rows[] = {
		{ "110105194910010083", check },
		{ "110105194910010080", check },
		{ "11010519491231002X" + 1, len18 },
		{ "1101051949100100821", len18 },
		{ "", len18 },
		{ "11010519491001008", len18 },
		{ "1101051949100100a2",
		  "has a non-digit among the first 17 characters" },
		{ "X10105194910010082",
		  "has a non-digit among the first 17 characters" },
		{ "11010519491231002x", "ends in a lowercase 'x' (write 'X')" },
		{ "11010519491231002Y",
		  "has an 18th character that is neither a digit nor 'X'" },
		{ "110105194902300082", birth }, /* 30 Feb */
		{ "110105190002290082", birth }, /* 1900 is not leap */
		{ "110105194913010082", birth }, /* month 13 */
		{ "110105194910000082", birth }, /* day 0 */
		{ "110105000001010082", birth }, /* year 0 */
		{ "110105179912310082", birth }, /* before 1800 */
	};

	for (size_t i = 0; i < LEN(rows); i++) {
		sb_date b = 4242;
		const char *why = NULL;
		sb_status st = sb_id_check(rows[i].id, strlen(rows[i].id), &b,
					   &why);

		if (st != SB_EINPUT)
			fail_msg("%s: accepted", rows[i].id);
		if (!why || strcmp(why, rows[i].why) != 0)
			fail_msg("%s: why \"%s\", want \"%s\"", rows[i].id,
				 why ? why : "(null)", rows[i].why);
		assert_int_equal(b, 4242);
	}

	/* The shared case matches on these words. */
	const char *why = NULL;

	assert_int_equal(sb_id_check("110105194910010083", 18, NULL, &why),
			 SB_EINPUT);
	assert_non_null(strstr(why, "check digit"));
}

static void test_id_every_wrong_check_char(void **state)
{
	(void)state;
	/* MOD 11-2 catches every single-character substitution: each of the
	 * 10 wrong final characters must be refused, and so must any change
	 * to one of the first 17 digits. */
	static const char *const ids[] = { "11010519491231002X",
					   "110105194910010082",
					   "500112199003078760",
					   "41010219800202004X",
					   "32028119650512123X" };
	static const char finals[] = "0123456789X";

	for (size_t i = 0; i < LEN(ids); i++) {
		char id[SB_ID_LEN + 1];
		const char *why;

		for (size_t f = 0; f < sizeof(finals) - 1; f++) {
			memcpy(id, ids[i], sizeof(id));
			if (finals[f] == id[17])
				continue;
			id[17] = finals[f];
			why = NULL;
			if (sb_id_check(id, 18, NULL, &why) != SB_EINPUT ||
			    !why || !strstr(why, "check digit"))
				fail_msg("%s: not refused for its check digit",
					 id);
		}
		for (size_t pos = 0; pos < 17; pos++) {
			for (char c = '0'; c <= '9'; c++) {
				memcpy(id, ids[i], sizeof(id));
				if (id[pos] == c)
					continue;
				id[pos] = c;
				if (sb_id_check(id, 18, NULL, &why) != SB_EINPUT)
					fail_msg("%s: accepted", id);
			}
		}
	}
}

static void test_id_check_char(void **state)
{
	(void)state;
	assert_int_equal(sb_id_check_char("11010519491231002"), 'X');
	assert_int_equal(sb_id_check_char("11010519491001008"), '2');
	assert_int_equal(sb_id_check_char("50011219900307876"), '0');
	/* Sum 0 -> '1'; a lone 1 in the last place weighs 2 -> 'X'. */
	assert_int_equal(sb_id_check_char("00000000000000000"), '1');
	assert_int_equal(sb_id_check_char("00000000000000001"), 'X');
	assert_int_equal(sb_id_check_char("0000000000000000a"), '?');
}

static void test_id_mask(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
		{ "110105194910010082", "110105********0082" },
		{ "11010519491231002X", "110105********002X" },
		{ "123456789", "*********" },
		{ "1234567890", "1234567890" },
		{ "12345678901", "123456*8901" },
		{ "1", "*" },
		{ "", "" },
	};
	char out[32];

	for (size_t i = 0; i < LEN(rows); i++) {
		size_t n = strlen(rows[i].in);

		memset(out, '#', sizeof(out));
		sb_id_mask(rows[i].in, n, out);
		if (strcmp(out, rows[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", rows[i].in,
				 out, rows[i].want);
		assert_int_equal(out[n + 1], '#'); /* n + 1 bytes written */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_diag_set_and_clear),
		cmocka_unit_test(test_diag_truncation),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_money_parse_valid),
		cmocka_unit_test(test_money_parse_invalid),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_money_round_trip),
		cmocka_unit_test(test_div_round_table),
		cmocka_unit_test(test_div_round_reference),
		cmocka_unit_test(test_bp_parse_valid),
		cmocka_unit_test(test_bp_parse_invalid),
		cmocka_unit_test(test_bp_format),
		cmocka_unit_test(test_date_known_days),
		cmocka_unit_test(test_date_valid),
		cmocka_unit_test(test_date_every_day),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_age_years),
		cmocka_unit_test(test_date_minus_year),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_id_invalid),
		cmocka_unit_test(test_id_every_wrong_check_char),
		cmocka_unit_test(test_id_check_char),
		cmocka_unit_test(test_id_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
