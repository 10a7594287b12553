/* pseudo.c: person keys. A person is referred to either by a resident ID or
 * by the pseudonym `sanbao pseudonymize` makes of it ("PS" + 16 hex), and
 * every module that joins persons to rows goes through one 64-bit key. */
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

sb_status sb_person_key(const char *p, size_t n, uint64_t *key, int *pseudo, sb_date *birth,
			const char **why)
{
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
		for (int i = 16; i >= 0; i--) {
			out[i] = (char)('0' + key % 10);
			key /= 10;
		}
		out[17] = sb_id_check_char(out);
	}
	out[18] = '\0';
}
