/* lifetable.c: the projection's survival: a life table shipped as data (a
 * CSV of death rates per 1000 by age group and sex, with its source in a
 * README beside it) and the statutory retirement schedule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/project_int.h"
#include "sanbao/csv.h"

static int field_int(sb_csv_field f, int *out)
{
	char buf[16];
	if (!f.n || f.n >= sizeof buf)
		return -1;
	memcpy(buf, f.p, f.n);
	buf[f.n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (*end || v < 0 || v > 200)
		return -1;
	*out = (int)v;
	return 0;
}

static int field_rate(sb_csv_field f, double *out)
{
	char buf[32];
	if (!f.n || f.n >= sizeof buf)
		return -1;
	memcpy(buf, f.p, f.n);
	buf[f.n] = '\0';
	for (size_t i = 0; i < f.n; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.'))
			return -1;
	char *end;
	double v = strtod(buf, &end);
	if (*end || !(v >= 0 && v <= 1000))
		return -1;
	*out = v;
	return 0;
}

sb_status pj_lifetable_load(const char *path, pj_lifetable *lt, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(path, &c, d);
	if (st)
		return st;
	static const char *const names[][2] = {
		{ "age_from", NULL }, { "age_to", NULL }, { "male", NULL }, { "female", NULL }
	};
	int col[4];
	for (int k = 0; k < 4; k++)
		if ((col[k] = sb_csv_find(c, names[k])) < 0) {
			st = sb_diag_set(d, SB_EINPUT, path, 1, 0,
					 "a life table has the columns age_from, age_to, male, "
					 "female (death rates per 1000); %s is missing",
					 names[k][0]);
			sb_csv_free(c);
			return st;
		}
	memset(lt, 0, sizeof *lt);
	snprintf(lt->source, sizeof lt->source, "%s", path);
	int next = 0; /* the first age not yet covered */
	bool open = false;
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k < 0) {
			*d = bad;
			st = bad.code ? bad.code : SB_EINPUT;
			break;
		}
		int line = (int)sb_csv_line(c);
		int from, to = -1;
		double m[2];
		sb_csv_field fto = sb_csv_get(c, (size_t)col[1]);
		if (field_int(sb_csv_get(c, (size_t)col[0]), &from) ||
		    (fto.n && field_int(fto, &to)) ||
		    field_rate(sb_csv_get(c, (size_t)col[2]), &m[0]) ||
		    field_rate(sb_csv_get(c, (size_t)col[3]), &m[1])) {
			st = sb_diag_set(
				d, SB_EINPUT, path, line, 0,
				"a life-table row is age_from,age_to,male,female: whole ages "
				"and death rates per 1000 from 0 to 1000 (age_to empty for "
				"the last, open group)");
			break;
		}
		if (open || from != next || (to >= 0 && to < from)) {
			st = sb_diag_set(d, SB_EINPUT, path, line, 0,
					 "age groups must follow each other without gap or overlap: "
					 "this one should start at %d",
					 next);
			break;
		}
		int last = to < 0 || to >= PJ_AGES - 1 ? PJ_AGES - 1 : to;
		for (int a = from; a <= last && a < PJ_AGES; a++)
			for (int s = 0; s < 2; s++)
				lt->q[s][a] = 1.0 - exp(-m[s] / 1000.0);
		if (to < 0 || to >= PJ_AGES - 1)
			open = true;
		next = to < 0 ? PJ_AGES : to + 1;
	}
	if (!st && !open)
		st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
				 "the life table's last group must be open (age_to empty) and "
				 "reach %d",
				 PJ_AGES - 1);
	sb_csv_free(c);
	return st;
}

double pj_retire_share(const pj_retire_group *g, int birth_year, int year)
{
	int reached = 0;
	for (int m = 0; m < 12; m++) {
		int bm = birth_year * 12 + m;
		int delay = 0;
		if (g->per > 0 && bm >= g->from) {
			delay = (bm - g->from) / g->per + 1;
			if (delay > g->max)
				delay = g->max;
		}
		if (bm + g->age * 12 + delay <= year * 12 + 11)
			reached++;
	}
	return reached / 12.0;
}
