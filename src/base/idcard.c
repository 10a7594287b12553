/* idcard.c: the 18-character resident identity number (GB 11643-1999):
 * its ISO 7064 MOD 11-2 check character, the birth date it carries, and a
 * masked form that is safe to print in logs and reports.
 */
#include "sanbao/base.h"

/* GB 11643 accepts the 19th to 22nd centuries in principle; 1800 keeps
 * the oldest living insured in and a typo like "0949" out. */
#define ID_YEAR_MIN 1800
#define ID_YEAR_MAX 2199

static void set_why(const char **why, const char *s)
{
	if (why)
		*why = s;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

char sb_id_check_char(const char *first17)
{
	/* W_i = 2^(17 - i) mod 11 for i = 0..16, per ISO 7064 MOD 11-2. */
	static const unsigned char weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6,
						  3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	unsigned sum = 0;

	for (size_t i = 0; i < 17; i++) {
		/* Only digits have a check character; '?' never equals the
		 * 18th character of an ID, so a bad input cannot pass. */
		if (!is_digit(first17[i]))
			return '?';
		sum += (unsigned)(first17[i] - '0') * weight[i];
	}
	return check[sum % 11];
}

static int num(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

sb_status sb_id_check(const char *p, size_t n, sb_date *birth,
		      const char **why)
{
	/* W_i = 2^(17 - i) mod 11, as in sb_id_check_char; one pass over the
	 * first 17 characters checks the digits and sums the weights (every
	 * settled claim and enrolled person comes through here). */
	static const unsigned char weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6,
						  3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";

	if (!p || n != SB_ID_LEN) {
		set_why(why, "is not 18 characters");
		return SB_EINPUT;
	}
	unsigned sum = 0, bad = 0;
	for (size_t i = 0; i < 17; i++) {
		unsigned v = (unsigned)(unsigned char)p[i] - (unsigned)'0';
		bad |= v > 9;
		sum += v * weight[i];
	}
	if (bad) {
		set_why(why, "has a non-digit among the first 17 characters");
		return SB_EINPUT;
	}
	/* A lowercase 'x' is refused rather than folded: IDs are keys that
	 * join persons to claims, and two spellings of one key would split
	 * a person's yearly totals in two. */
	if (p[17] == 'x') {
		set_why(why, "ends in a lowercase 'x' (write 'X')");
		return SB_EINPUT;
	}
	if (!is_digit(p[17]) && p[17] != 'X') {
		set_why(why, "has an 18th character that is neither a digit nor 'X'");
		return SB_EINPUT;
	}

	/* Positions 7-14 (1-based) are YYYYMMDD. */
	int y = num(p + 6, 4);
	int m = num(p + 10, 2);
	int d = num(p + 12, 2);

	if (y < ID_YEAR_MIN || y > ID_YEAR_MAX || !sb_date_valid(y, m, d)) {
		set_why(why, "has an impossible birth date");
		return SB_EINPUT;
	}
	if (check[sum % 11] != p[17]) {
		set_why(why, "has a wrong check digit (18th character)");
		return SB_EINPUT;
	}
	if (birth)
		*birth = sb_date_from_ymd(y, m, d);
	return SB_OK;
}

void sb_id_mask(const char *p, size_t n, char *out)
{
	/* Region (6) and the last 4 identify a person only together with the
	 * birth date, which is what the stars hide. Below 10 characters
	 * keeping 6 + 4 would reveal everything, so nothing is kept. */
	for (size_t i = 0; i < n; i++) {
		int keep = n >= 10 && (i < 6 || i >= n - 4);

		out[i] = keep ? p[i] : '*';
	}
	out[n] = '\0';
}
