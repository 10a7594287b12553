/* pseudo.c: person keys. A person is referred to either by a resident ID or
 * by the pseudonym `sanbao pseudonymize` makes of it ("PS" + 16 hex), and
 * every module that joins persons to rows goes through one 64-bit key. */
#include <string.h>

#include "sanbao/base.h"

static int hex_value(char c)
{
	/* Lowercase only: a key has one spelling, for the same reason that
	 * sb_id_check refuses a lowercase 'x'. */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A valid resident ID in one pass over its digits (the key, the check
 * sum and the non-digits together): what nearly every row of persons.csv
 * and claims.csv holds. 1 when p is one (it then passes sb_id_check, and
 * *key and *birth are set); 0 for anything else, which the general path
 * below then reads and explains exactly as before. */
static int valid_id(const char *p, uint64_t *key, sb_date *birth)
{
	/* The first 16 characters as two little-endian words: all digits
	 * when every byte's high nibble is 3 and stays 3 with 6 added (0x3a
	 * to 0x3f become 0x40 to 0x45). A byte of 0xfa or more has another
	 * high nibble already, so the additions never carry between bytes
	 * of a word that passes the first test. */
	uint64_t a, b;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	const uint64_t hi = 0xf0f0f0f0f0f0f0f0ULL, three = 0x3030303030303030ULL,
		       six = 0x0606060606060606ULL;
	unsigned v16 = (unsigned)(unsigned char)p[16] - (unsigned)'0';
	if (((a & hi) != three) | ((b & hi) != three) | (((a + six) & hi) != three) |
	    (((b + six) & hi) != three) | (v16 > 9))
		return 0;
	/* Eight digits of a word into their number, the first the most
	 * significant: pairs, then fours, then the eight. */
	uint64_t x = a - three, z = b - three;
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
	z = (z * 10 + (z >> 8)) & 0x00ff00ff00ff00ffULL;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
	z = (z * 100 + (z >> 16)) & 0x0000ffff0000ffffULL;
	x = (x * 10000 + (x >> 32)) & 0xffffffffULL;
	z = (z * 10000 + (z >> 32)) & 0xffffffffULL;
	uint64_t k = (x * 100000000ULL + z) * 10 + v16;
	/* The check sum's weights (2^(17-i) mod 11), one product a digit. */
#define D(i) ((unsigned)(unsigned char)p[i] - (unsigned)'0')
	unsigned sum = D(0) * 7 + D(1) * 9 + D(2) * 10 + D(3) * 5 + D(4) * 8 + D(5) * 4 +
		       D(6) * 2 + D(7) * 1 + D(8) * 6 + D(9) * 3 + D(10) * 7 + D(11) * 9 +
		       D(12) * 10 + D(13) * 5 + D(14) * 8 + D(15) * 4 + v16 * 2;
#undef D
	/* The check character is a digit or 'X', so a lowercase 'x' or any
	 * other 18th character fails here too. */
	if ("10X98765432"[sum % 11] != p[17])
		return 0;
	/* Positions 7-14 (1-based) are YYYYMMDD; the years sb_id_check
	 * takes. */
	int y = (p[6] - '0') * 1000 + (p[7] - '0') * 100 + (p[8] - '0') * 10 + (p[9] - '0');
	int m = (p[10] - '0') * 10 + (p[11] - '0');
	int d = (p[12] - '0') * 10 + (p[13] - '0');

	if (y < 1800 || y > 2199 || !sb_date_valid(y, m, d))
		return 0;
	*key = k;
	if (birth)
		*birth = sb_date_from_ymd(y, m, d);
	return 1;
}

sb_status sb_person_key(const char *p, size_t n, uint64_t *key, int *pseudo, sb_date *birth,
			const char **why)
{
	if (p && n == SB_ID_LEN && valid_id(p, key, birth)) {
		*pseudo = 0;
		return SB_OK;
	}
	if (p && n == SB_ID_LEN && p[0] == 'P' && p[1] == 'S') {
		uint64_t k = 0;

		for (size_t i = 2; i < SB_ID_LEN; i++) {
			int v = hex_value(p[i]);

			if (v < 0) {
				if (why)
					*why = "is not a pseudonym (PS and 16 lowercase hex digits)";
				return SB_EINPUT;
			}
			k = k << 4 | (uint64_t)v;
		}
		*key = k;
		*pseudo = 1;
		if (birth)
			*birth = 0;
		return SB_OK;
	}

	/* What `sanbao pseudonymize` writes for a value of an ID column that
	 * was no valid ID: rejected here as the original was. */
	if (p && n == SB_ID_LEN + 1 && p[0] == 'P' && p[1] == 'S' && p[2] == 'X') {
		if (why)
			*why = "is an invalid ID masked by sanbao pseudonymize (PSX marker); its "
			       "report names the original's fault";
		return SB_EINPUT;
	}
	sb_date b;
	sb_status st = sb_id_check(p, n, &b, why);

	if (st)
		return st;
	uint64_t k = 0;

	for (size_t i = 0; i < 17; i++)
		k = k * 10 + (uint64_t)(p[i] - '0');
	*key = k;
	*pseudo = 0;
	if (birth)
		*birth = b;
	return SB_OK;
}

void sb_person_key_text(uint64_t key, int pseudo, char out[19])
{
	static const char hex[] = "0123456789abcdef";

	if (pseudo) {
		out[0] = 'P';
		out[1] = 'S';
		for (int i = 17; i >= 2; i--) {
			out[i] = hex[key & 0xf];
			key >>= 4;
		}
	} else {
		/* Two digits at a time, the check sum (sb_id_check_char's)
		 * summed on the way: pass 2 writes a person's ID from the key
		 * for every person it settles. */
		static const unsigned char weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6,
							  3, 7, 9, 10, 5, 8, 4, 2 };
		unsigned sum = 0;

		for (int i = 16; i >= 1; i -= 2) {
			unsigned pair = (unsigned)(key % 100), lo = pair % 10, hi = pair / 10;

			key /= 100;
			out[i] = (char)('0' + lo);
			out[i - 1] = (char)('0' + hi);
			sum += lo * weight[i] + hi * weight[i - 1];
		}
		unsigned first = (unsigned)(key % 10);

		out[0] = (char)('0' + first);
		sum += first * weight[0];
		out[17] = "10X98765432"[sum % 11];
	}
	out[18] = '\0';
}
