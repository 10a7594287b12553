/* money.c: yuan text <-> integer fen, basis-point decimals and percents,
 * and the one rounding rule (half up, away from zero) used on every path
 * that ends in a payment. No floating point anywhere in this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sanbao/base.h"

/* Integer parts are capped well below what int64 can scale by 10^4, so a
 * huge rate is refused as "too large" instead of wrapping around. */
#define BP_INT_MAX ((uint64_t)100000000000000ULL)

/* The pieces of "-123.45": sign, integer value (saturated), and the
 * fraction digits as written. Shared by the money and basis-point parsers
 * so both refuse the same odd spellings. */
struct decimal {
	int neg;
	uint64_t ipart;    /* saturates at cap + 1 */
	uint64_t fpart;    /* first `fdigits` decimals, at most 18 of them */
	size_t fdigits;    /* decimals written, even past 18 */
};

static void set_why(const char **why, const char *s)
{
	if (why)
		*why = s;
}

/* Reads [-]digits[.digits] from all of p[0..n). Returns 0 and a why when
 * the text is not that shape; an over-long fraction is not an error here
 * because the callers name their own decimal limit. */
static int scan_decimal(const char *p, size_t n, uint64_t cap,
			struct decimal *dec, const char **why)
{
	size_t i = 0;

	memset(dec, 0, sizeof(*dec));
	if (n == 0) {
		set_why(why, "is empty");
		return 0;
	}
	if (p[0] == '-') {
		dec->neg = 1;
		i = 1;
	}

	size_t start = i;

	while (i < n && p[i] >= '0' && p[i] <= '9') {
		/* Keep scanning after saturation so that "1e5" beyond the cap
		 * is still reported as malformed, not as too large. */
		if (dec->ipart <= cap)
			dec->ipart = dec->ipart * 10 + (uint64_t)(p[i] - '0');
		i++;
	}
	/* ".5" and "-.5" are refused: a payment file that drops the leading
	 * zero is usually a column that was mangled on the way. */
	if (i == start)
		goto bad;
	if (i < n && p[i] == '.') {
		i++;
		size_t fstart = i;

		while (i < n && p[i] >= '0' && p[i] <= '9') {
			if (dec->fdigits < 18)
				dec->fpart = dec->fpart * 10 +
					     (uint64_t)(p[i] - '0');
			dec->fdigits++;
			i++;
		}
		/* "1." is refused for the same reason as ".5". */
		if (i == fstart)
			goto bad;
	}
	if (i != n)
		goto bad;
	return 1;
bad:
	set_why(why, "is not a number");
	return 0;
}

/* Scales the first `have` decimals to exactly `want` places; have <= want. */
static uint64_t scale_fraction(uint64_t f, size_t have, size_t want)
{
	while (have < want) {
		f *= 10;
		have++;
	}
	return f;
}

sb_status sb_money_parse(const char *p, size_t n, sb_fen *out,
			 const char **why)
{
	struct decimal dec;
	const uint64_t cap = (uint64_t)SB_FEN_MAX / 100;

	/* The spelling of nearly every amount in a claims file, 1 to 11
	 * digits, a point and 2 decimals, read without the scanner (every
	 * amount of every claim comes through here); anything else, and any
	 * non-digit, takes the general path below. 11 digits are far below
	 * SB_FEN_MAX. */
	if (p && n >= 4 && n <= 14 && p[n - 3] == '.') {
		uint64_t v = 0;
		unsigned bad = 0;

		for (size_t i = 0; i < n - 3; i++) {
			unsigned d = (unsigned)(unsigned char)p[i] - (unsigned)'0';

			bad |= d > 9;
			v = v * 10 + d;
		}
		unsigned d1 = (unsigned)(unsigned char)p[n - 2] - (unsigned)'0';
		unsigned d2 = (unsigned)(unsigned char)p[n - 1] - (unsigned)'0';

		bad |= (d1 > 9) | (d2 > 9);
		if (!bad) {
			if (out)
				*out = (sb_fen)(v * 100 + d1 * 10 + d2);
			return SB_OK;
		}
	}
	if (!p)
		n = 0;
	if (!scan_decimal(p, n, cap, &dec, why)) {
		/* The generic phrase of the scanner says "number"; for money
		 * the reader should learn that yuan were expected. */
		if (n != 0)
			set_why(why, "is not an amount in yuan");
		return SB_EINPUT;
	}
	if (dec.fdigits > 2) {
		set_why(why, "has more than 2 decimals");
		return SB_EINPUT;
	}

	uint64_t fen;

	if (dec.ipart > cap)
		goto too_large;
	fen = dec.ipart * 100 + scale_fraction(dec.fpart, dec.fdigits, 2);
	if (fen > (uint64_t)SB_FEN_MAX)
		goto too_large;
	if (out)
		*out = dec.neg ? -(sb_fen)fen : (sb_fen)fen;
	return SB_OK;
too_large:
	set_why(why, "is too large");
	return SB_EINPUT;
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* The one formatter of amounts: every output (settlements.csv, JSON,
 * messages) goes through it. It runs for every amount column of every
 * settled claim, so no snprintf: digits two at a time, backwards. */
char *sb_fen_put(char *q, sb_fen v)
{
	/* The magnitude goes through uint64 so INT64_MIN does not overflow
	 * on negation; such a value is never a valid amount but must still
	 * print without undefined behaviour. */
	if ((uint64_t)v < 10000000u) {
		/* 0.00 to 99999.99: nearly every amount, in 32-bit arithmetic
		 * with the length found by comparisons. */
		uint32_t x = (uint32_t)v, yuan = x / 100;
		unsigned k = (x - yuan * 100) * 2;
		unsigned len = yuan < 10 ? 1 : yuan < 100 ? 2 : yuan < 1000 ? 3 : yuan < 10000 ? 4 : 5;
		char *p = q + len;

		p[0] = '.';
		p[1] = digit_pairs[k];
		p[2] = digit_pairs[k + 1];
		while (yuan >= 100) {
			uint32_t t = yuan / 100;

			k = (yuan - t * 100) * 2;
			*--p = digit_pairs[k + 1];
			*--p = digit_pairs[k];
			yuan = t;
		}
		if (yuan >= 10) {
			k = yuan * 2;
			*--p = digit_pairs[k + 1];
			*--p = digit_pairs[k];
		} else {
			*--p = (char)('0' + yuan);
		}
		return q + len + 3;
	}

	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (v < 0)
		*q++ = '-';
	/* The yuan's digits counted first, so that every digit is written in
	 * its place, back to front, with no copy after. */
	uint64_t yuan = mag / 100;
	static const uint64_t pow10[19] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
		100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
		1000000000000ULL, 10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
		10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL};
	unsigned len = 1;

	while (len < 19 && yuan >= pow10[len])
		len++;
	char *p = q + len;
	unsigned k = (unsigned)(mag % 100) * 2;

	p[0] = '.';
	p[1] = digit_pairs[k];
	p[2] = digit_pairs[k + 1];
	while (yuan >= 100) {
		k = (unsigned)(yuan % 100) * 2;
		yuan /= 100;
		*--p = digit_pairs[k + 1];
		*--p = digit_pairs[k];
	}
	if (yuan >= 10) {
		k = (unsigned)yuan * 2;
		*--p = digit_pairs[k + 1];
		*--p = digit_pairs[k];
	} else {
		*--p = (char)('0' + yuan);
	}
	return q + len + 3;
}

size_t sb_money_format(sb_fen v, char *buf)
{
	char *end = sb_fen_put(buf, v);

	*end = '\0';
	return (size_t)(end - buf);
}

int64_t sb_div_round(int64_t num, int64_t den)
{
	/* den > 0 is the caller's promise; answering 0 rather than trapping
	 * keeps a server alive if a policy ever slips a zero through. */
	if (den <= 0)
		return 0;

	int64_t q = num / den;
	int64_t r = num % den;

	/* |r| < den, so comparing |r| with den - |r| decides "at least half"
	 * without ever computing 2 * r, which could overflow. C division
	 * truncates toward zero, so moving away from zero is q +/- 1. */
	if (r >= 0) {
		if (r >= den - r)
			q++;
	} else {
		if (-r >= den + r)
			q--;
	}
	return q;
}

sb_status sb_bp_parse(const char *p, size_t n, int allow_percent,
		      int64_t *out, const char **why)
{
	struct decimal dec;
	int percent = 0;

	if (!p)
		n = 0;
	if (n > 0 && p[n - 1] == '%') {
		if (!allow_percent) {
			set_why(why, "is a percent where a decimal is expected");
			return SB_EINPUT;
		}
		percent = 1;
		n--;
		/* "%" alone and "-%" are not numbers either. */
		if (n == 0) {
			set_why(why, "is not a number");
			return SB_EINPUT;
		}
	}
	if (!scan_decimal(p, n, BP_INT_MAX, &dec, why))
		return SB_EINPUT;

	/* A percent is already scaled by 100, so it may carry two decimals
	 * fewer than a plain decimal for the same basis-point precision. */
	size_t places = percent ? 2 : 4;

	if (dec.fdigits > places) {
		set_why(why, percent ? "has more than 2 decimals"
				     : "has more than 4 decimals");
		return SB_EINPUT;
	}
	if (dec.ipart > BP_INT_MAX) {
		set_why(why, "is too large");
		return SB_EINPUT;
	}

	uint64_t unit = percent ? 100 : 10000;
	uint64_t bp = dec.ipart * unit +
		      scale_fraction(dec.fpart, dec.fdigits, places);

	if (out)
		*out = dec.neg ? -(int64_t)bp : (int64_t)bp;
	return SB_OK;
}

size_t sb_bp_format(int64_t bp, char *buf)
{
	/* Longest output is "-92233720368547758.08%" plus NUL: 23 bytes. The
	 * text is built locally so a caller's SB_MONEY_BUF-sized buffer is
	 * never written past what it needs. */
	char tmp[32];
	uint64_t mag = bp < 0 ? (uint64_t)0 - (uint64_t)bp : (uint64_t)bp;
	uint64_t whole = mag / 100;
	uint64_t frac = mag % 100;
	const char *sign = bp < 0 ? "-" : "";
	int len;

	/* Trailing zeros are dropped: 1120 bp reads "11.2%", not "11.20%". */
	if (frac == 0)
		len = snprintf(tmp, sizeof(tmp), "%s%" PRIu64 "%%", sign,
			       whole);
	else if (frac % 10 == 0)
		len = snprintf(tmp, sizeof(tmp), "%s%" PRIu64 ".%" PRIu64 "%%",
			       sign, whole, frac / 10);
	else
		len = snprintf(tmp, sizeof(tmp),
			       "%s%" PRIu64 ".%02" PRIu64 "%%", sign, whole,
			       frac);
	if (len < 0)
		len = 0;
	memcpy(buf, tmp, (size_t)len + 1);
	return (size_t)len;
}
