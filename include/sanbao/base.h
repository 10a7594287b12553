/* base.h: the vocabulary every sanbao module shares: one status enum, one
 * diagnostic struct, integer money (fen) and rates (basis points), calendar
 * dates as day numbers, and the GB 11643 resident identity number.
 *
 * Nothing here allocates or keeps global state.
 */
#ifndef SANBAO_BASE_H
#define SANBAO_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_MUST_USE __attribute__((warn_unused_result))

typedef enum sb_status {
	SB_OK = 0,
	SB_ENOMEM,   /* an allocation failed */
	SB_EIO,      /* a file could not be opened, read or written */
	SB_ESYNTAX,  /* a file is not well-formed YAML or CSV */
	SB_EPOLICY,  /* a policy breaks the policy format */
	SB_EINPUT,   /* an input record (person, claim, case) is invalid */
	SB_ELIMIT,   /* a built-in limit was exceeded */
	SB_ENOTFOUND /* a referenced thing does not exist */
} sb_status;

/* A static English phrase for a status; never NULL. */
const char *sb_strerror(sb_status code);

/* The one diagnostic: what went wrong and where. `file` is empty and
 * line/column are 0 when there is no place to point at. */
typedef struct sb_diag {
	sb_status code;
	int line;
	int column;
	char file[512];
	char message[768];
} sb_diag;

void sb_diag_clear(sb_diag *d);
/* Records code, place and a printf-formatted message; returns code. */
sb_status sb_diag_set(sb_diag *d, sb_status code, const char *file, int line,
		      int column, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* "file:line:column: message" (place parts omitted when absent) into buf;
 * returns buf. */
const char *sb_diag_format(const sb_diag *d, char *buf, size_t n);

/* ---- money: integer fen (分) ---------------------------------------- */

typedef int64_t sb_fen;

/* Largest amount accepted anywhere: 10^12 yuan keeps fen x basis points
 * products (below 10^14 x 10^4) inside int64. */
#define SB_FEN_MAX ((sb_fen)100000000000000LL)

/* Parses yuan with at most 2 decimals ("300", "17126.42", "-0.5") into fen.
 * Leading/trailing blanks are not accepted. On failure returns SB_EINPUT and
 * sets *why to a static sentence ("has more than 2 decimals", ...). */
SB_MUST_USE sb_status sb_money_parse(const char *p, size_t n, sb_fen *out,
				     const char **why);

/* Writes v as yuan with exactly two decimals ("17126.42", "-0.05", "0.00")
 * into buf (at least SB_MONEY_BUF bytes); returns the length. */
#define SB_MONEY_BUF 32
size_t sb_money_format(sb_fen v, char *buf);

/* Checked money addition for sums: false (and *into unchanged) when the
 * sum would not fit in 64 bits. Every sum over claims uses it. */
static inline bool sb_fen_add(sb_fen *into, sb_fen v)
{
	sb_fen r;
	if (__builtin_add_overflow(*into, v, &r))
		return false;
	*into = r;
	return true;
}
/* The same text at q without a NUL (at most 21 bytes); returns its end.
 * The one amount formatter: sb_money_format and every writer call it. */
char *sb_fen_put(char *q, sb_fen v);

/* num / den rounded half up (half away from zero for negative num); den > 0. */
int64_t sb_div_round(int64_t num, int64_t den);

/* ---- rates and other decimals: basis points (1 = 0.0001) ------------- */

/* Parses a decimal with at most 4 decimals ("0.7", "1", "-0.2", "0.112")
 * or, when allow_percent, a percent string with at most 2 decimals
 * ("70%", "11.2%", "-20%") into basis points (0.7 -> 7000). No range check:
 * callers check [0, 10000] for rates. SB_EINPUT with *why on failure. */
SB_MUST_USE sb_status sb_bp_parse(const char *p, size_t n, int allow_percent,
				  int64_t *out, const char **why);

/* Writes bp as a percent with up to 2 decimals ("70%", "11.2%", "-20%"). */
size_t sb_bp_format(int64_t bp, char *buf);

/* ---- dates: days since 1970-01-01, proleptic Gregorian ---------------- */

typedef int32_t sb_date;

/* Parses "YYYY-MM-DD"; when allow_time, a time after 'T' or ' ' is read
 * and ignored: HH:MM[:SS[.fraction]] and an optional zone (Z, +08:00), or
 * nothing after 'T' ("2023-10-20 14:03:00"; "2023-10-20 garbage" is not a
 * date). Years 1900-2199 ("is outside the years 1900-2199"). */
SB_MUST_USE sb_status sb_date_parse(const char *p, size_t n, int allow_time,
				    sb_date *out, const char **why);
sb_date sb_date_from_ymd(int y, int m, int d);
void sb_date_ymd(sb_date date, int *y, int *m, int *d);
/* 1 when y-m-d is a real calendar day. */
int sb_date_valid(int y, int m, int d);
/* "YYYY-MM-DD" plus NUL into buf (at least 11 bytes); returns 10. */
size_t sb_date_format(sb_date date, char *buf);
/* Whole years from birth to on (the birthday itself counts; someone born
 * on 29 Feb turns a year older on 1 Mar in common years). */
int sb_age_years(sb_date birth, sb_date on);
/* The same calendar day one year earlier (29 Feb -> 28 Feb). */
sb_date sb_date_minus_year(sb_date d);

/* ---- resident identity number (居民身份证号, GB 11643-1999) ------------ */

#define SB_ID_LEN 18

/* Checks an 18-character ID: 17 digits, then a digit or 'X' (lower 'x' is
 * refused), a real birth date at positions 7-14 and the ISO 7064 MOD 11-2
 * check digit. On success stores the birth date (when birth != NULL). On
 * failure returns SB_EINPUT and *why (static) says which rule broke,
 * e.g. "has a wrong check digit (18th character)". */
SB_MUST_USE sb_status sb_id_check(const char *p, size_t n, sb_date *birth,
				  const char **why);
/* The check character ('0'-'9' or 'X') for the first 17 digits. */
char sb_id_check_char(const char *first17);
/* Masks an ID for people to read: first 6 and last 4 kept, the rest '*'
 * ("110105********0082"). Writes n chars plus NUL into out (n+1 bytes);
 * shorter strings than 10 characters are fully masked. */
void sb_id_mask(const char *p, size_t n, char *out);

/* ---- person keys: resident IDs and their pseudonyms ------------------- */

/* Reads a person reference: a valid resident ID (key = its first 17 digits
 * as a number, *pseudo = 0, *birth from the ID) or a pseudonym "PS" plus 16
 * lowercase hex digits made by `sanbao pseudonymize` (key = those 64 bits,
 * *pseudo = 1, *birth = 0: unknown). Both forms are 18 characters, and no ID
 * starts with 'P', so the two never overlap; equal (key, pseudo) pairs are
 * the same person. Anything else is SB_EINPUT with *why (static) saying
 * which rule broke, in sb_id_check's words for an ID. birth may be NULL. */
SB_MUST_USE sb_status sb_person_key(const char *p, size_t n, uint64_t *key, int *pseudo,
				    sb_date *birth, const char **why);
/* Writes the reference back: 17 digits and the computed check character,
 * or "PS" and 16 lowercase hex digits; out gets 18 characters and NUL. */
void sb_person_key_text(uint64_t key, int pseudo, char out[19]);

#endif
