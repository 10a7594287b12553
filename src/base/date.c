/* date.c: calendar dates as day numbers since 1970-01-01 (proleptic
 * Gregorian), so that comparing and subtracting dates is integer arithmetic.
 * The conversions are Howard Hinnant's days_from_civil / civil_from_days.
 */
#include <string.h>

#include "sanbao/base.h"

/* Policies and claims in this engine never reach outside these years;
 * anything else in an input file is a typo, not history. */
#define DATE_YEAR_MIN 1900
#define DATE_YEAR_MAX 2199

static void set_why(const char **why, const char *s)
{
	if (why)
		*why = s;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };

	if (m == 2 && is_leap(y))
		return 29;
	return dim[m - 1];
}

/* Hinnant: the year is shifted to start on 1 March so the leap day is the
 * last day of its year, and eras of 400 years (146097 days) repeat
 * exactly. int64 keeps every intermediate in range for any int input. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;

	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                            /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */

	return era * 146097 + doe - 719468;
}

/* The same arithmetic without signs: every int32 day number moved up by
 * whole eras (ERAS of 400 years, 146097 days each) is positive, so every
 * division is an unsigned one (a multiply, with no rounding fix-ups for
 * negative operands), and the eras are taken off the year again. */
#define ERAS 14700u /* 14700 * 146097 > 2^31 + 719468 */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	uint64_t zz = (uint64_t)(z + 719468) + (uint64_t)ERAS * 146097u;
	uint64_t era = zz / 146097u;
	uint32_t doe = (uint32_t)(zz - era * 146097u);                /* [0, 146096] */
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);      /* [0, 365] */
	uint32_t mp = (5 * doy + 2) / 153;                            /* [0, 11] */
	uint32_t dd = doy - (153 * mp + 2) / 5 + 1;                   /* [1, 31] */
	uint32_t mm = mp < 10 ? mp + 3 : mp - 9;                      /* [1, 12] */

	*y = (int64_t)yoe + ((int64_t)era - (int64_t)ERAS) * 400 + (mm <= 2);
	*m = (int)mm;
	*d = (int)dd;
}

int sb_date_valid(int y, int m, int d)
{
	if (m < 1 || m > 12 || d < 1)
		return 0;
	return d <= days_in_month(y, m);
}

/* Callers pass a valid day (see sb_date_valid); an invalid one such as
 * 30 Feb lands on the day the arithmetic implies (2 Mar), never traps. */
sb_date sb_date_from_ymd(int y, int m, int d)
{
	return (sb_date)days_from_civil(y, m, d);
}

void sb_date_ymd(sb_date date, int *y, int *m, int *d)
{
	int64_t yy;
	int mm, dd;

	civil_from_days(date, &yy, &mm, &dd);
	/* Every int32 day number is within +/- 5.9 million years, so the
	 * year always fits an int. */
	if (y)
		*y = (int)yy;
	if (m)
		*m = mm;
	if (d)
		*d = dd;
}

static int digits(const char *p, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 1;
}

/* What may follow a date and its 'T' or ' ': nothing (after 'T' only),
 * or HH:MM[:SS[.fraction]] and an optional zone (Z, +HH, +HH:MM, +HHMM).
 * "2023-02-03 garbage" is not a date with a time. */
static int time_part(const char *p, size_t n, int empty_ok)
{
	int hh, mm, ss = 0;
	size_t i;

	if (n == 0)
		return empty_ok;
	if (n < 5 || p[2] != ':' || !digits(p, 2, &hh) || !digits(p + 3, 2, &mm) || hh > 23 ||
	    mm > 59)
		return 0;
	i = 5;
	if (i < n && p[i] == ':') {
		if (n < i + 3 || !digits(p + i + 1, 2, &ss) || ss > 60)
			return 0;
		i += 3;
		if (i < n && p[i] == '.') {
			size_t f = ++i;

			while (i < n && p[i] >= '0' && p[i] <= '9')
				i++;
			if (i == f)
				return 0;
		}
	}
	if (i == n)
		return 1;
	if (p[i] == 'Z')
		return i + 1 == n;
	if (p[i] != '+' && p[i] != '-')
		return 0;
	i++;
	int zh, zm = 0;

	if (n < i + 2 || !digits(p + i, 2, &zh) || zh > 23)
		return 0;
	i += 2;
	if (i < n && p[i] == ':')
		i++;
	if (i < n && (n != i + 2 || !digits(p + i, 2, &zm) || zm > 59))
		return 0;
	return 1;
}

sb_status sb_date_parse(const char *p, size_t n, int allow_time,
			sb_date *out, const char **why)
{
	int y, m, d;

	if (!p || n == 0) {
		set_why(why, "is empty");
		return SB_EINPUT;
	}
	/* Exactly YYYY-MM-DD: "2023-1-5" and "2023/01/05" are refused, since a
	 * lenient reader would let day and month swap places unnoticed. */
	if (n < 10 || p[4] != '-' || p[7] != '-' || !digits(p, 4, &y) ||
	    !digits(p + 5, 2, &m) || !digits(p + 8, 2, &d))
		goto not_date;
	if (n > 10 && (!allow_time || (p[10] != 'T' && p[10] != ' ') ||
		       !time_part(p + 11, n - 11, p[10] == 'T')))
		goto not_date;
	if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX) {
		set_why(why, "is outside the years 1900-2199");
		return SB_EINPUT;
	}
	if (!sb_date_valid(y, m, d)) {
		set_why(why, "is not a date: no such day in the calendar");
		return SB_EINPUT;
	}
	if (out)
		*out = sb_date_from_ymd(y, m, d);
	return SB_OK;
not_date:
	set_why(why, "is not a date (YYYY-MM-DD)");
	return SB_EINPUT;
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

size_t sb_date_format(sb_date date, char *buf)
{
	int y, m, d;

	sb_date_ymd(date, &y, &m, &d);
	/* Years outside 0-9999 do not fit the 10 characters callers size
	 * for; they come out as an obvious non-date rather than overrunning
	 * the buffer. No date the parser accepts is affected. The escapes
	 * keep "??-" from being read as a trigraph under -std=c17. */
	if (y < 0 || y > 9999) {
		memcpy(buf, "\?\?\?\?-\?\?-\?\?", 11);
		return 10;
	}
	put2(buf, y / 100);
	put2(buf + 2, y % 100);
	buf[4] = '-';
	put2(buf + 5, m);
	buf[7] = '-';
	put2(buf + 8, d);
	buf[10] = '\0';
	return 10;
}

int sb_age_years(sb_date birth, sb_date on)
{
	int by, bm, bd, oy, om, od;

	sb_date_ymd(birth, &by, &bm, &bd);
	sb_date_ymd(on, &oy, &om, &od);

	/* Comparing (month, day) pairs makes a 29 Feb birthday fall due on
	 * 1 Mar in common years: (3,1) is past (2,29) but (2,28) is not. */
	int age = oy - by;

	if (om < bm || (om == bm && od < bd))
		age--;
	return age;
}

sb_date sb_date_minus_year(sb_date date)
{
	int y, m, d;

	sb_date_ymd(date, &y, &m, &d);
	y--;
	if (m == 2 && d == 29 && !is_leap(y))
		d = 28;
	return sb_date_from_ymd(y, m, d);
}
