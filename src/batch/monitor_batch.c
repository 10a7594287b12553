/* monitor_batch.c: monitoring inside the batch. Partitions are keyed by
 * household, so a partition holds every claim of its households and the
 * monitor runs on it alone, in the same pass as settlement. This file turns
 * the hits into warnings.csv / approaching.csv rows and counts them by
 * region, identity and rule, and collects each household's out-of-pocket
 * spending by year for the financial-protection measures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "batch/monitor_batch.h"

sb_status sb_monb_stats_init(sb_monb_stats *s, const sb_batch *b)
{
	memset(s, 0, sizeof *s);
	s->npol = sb_policyset_count(b->set);
	s->nident = (size_t)sb_policyset_symbol_count(b->set, SB_SYM_IDENTITY) + 1;
	s->nrules = (size_t)sb_policyset_symbol_count(b->set, SB_SYM_RULE);
	s->cell = sb_calloc(s->npol * s->nident * (s->nrules ? s->nrules : 1) * 2 + 1,
			    sizeof *s->cell);
	return s->cell ? SB_OK : SB_ENOMEM;
}

void sb_monb_stats_release(sb_monb_stats *s)
{
	sb_free(s->cell);
	sb_free(s->hh);
	memset(s, 0, sizeof *s);
}

long long *sb_monb_cell(const sb_monb_stats *s, size_t pol, int identity, int rule, int near)
{
	size_t id = (size_t)(identity + 1);
	return &s->cell[((pol * s->nident + id) * s->nrules + (size_t)rule) * 2 + (size_t)near];
}

sb_status sb_monb_stats_merge(sb_monb_stats *into, sb_monb_stats *from)
{
	size_t cells = into->npol * into->nident * into->nrules * 2;
	for (size_t i = 0; i < cells; i++)
		into->cell[i] += from->cell[i];
	into->warnings += from->warnings;
	into->approaching += from->approaching;
	into->unresolved += from->unresolved;
	if (from->nhh) {
		if (into->nhh + from->nhh > into->caphh) {
			size_t cap = into->nhh + from->nhh + 64;
			sb_monb_hh *v = sb_realloc(into->hh, cap * sizeof *v);
			if (!v)
				return SB_ENOMEM;
			into->hh = v;
			into->caphh = cap;
		}
		memcpy(into->hh + into->nhh, from->hh, from->nhh * sizeof *from->hh);
		into->nhh += from->nhh;
	}
	return SB_OK;
}

static void ob_text(sb_obuf *o, const char *s)
{
	sb_obuf_bytes(o, s, strlen(s));
}

static void put_hit(const sb_batch *b, sb_obuf *o, const sb_mon_hit *h)
{
	char id[SB_ID_LEN + 1], shown[SB_ID_LEN + 1], buf[48];
	const sb_bperson *bp = &b->persons[h->person];
	sb_batch_id_text(bp, id);
	if (b->cfg->show_ids)
		memcpy(shown, id, sizeof id);
	else
		sb_id_mask(id, SB_ID_LEN, shown);
	ob_text(o, h->rule->id);
	sb_obuf_bytes(o, ",", 1);
	sb_obuf_field(o, h->rule->name, strlen(h->rule->name));
	sb_obuf_bytes(o, ",", 1);
	ob_text(o, h->household ? "household," : "person,");
	if (h->household)
		sb_obuf_field(o, b->households[h->unit - 1], strlen(b->households[h->unit - 1]));
	else
		ob_text(o, shown);
	sb_obuf_bytes(o, ",", 1);
	ob_text(o, shown);
	snprintf(buf, sizeof buf, ",%06u,", h->region % 1000000u);
	ob_text(o, buf);
	ob_text(o, h->identity < 0 ? "none" :
		   sb_policyset_symbol_name(b->set, SB_SYM_IDENTITY, h->identity));
	sb_obuf_bytes(o, ",", 1);
	sb_date_format(h->date, buf);
	ob_text(o, buf);
	snprintf(buf, sizeof buf, ",%d,", h->year);
	ob_text(o, buf);
	sb_obuf_fen(o, h->measure);
	sb_obuf_bytes(o, ",", 1);
	sb_obuf_fen(o, h->threshold);
	int64_t r = sb_monitor_ratio_bp(h->measure, h->threshold);
	if (r == INT64_MAX)
		snprintf(buf, sizeof buf, ",inf\n");
	else
		snprintf(buf, sizeof buf, ",%lld.%04lld\n", (long long)(r / 10000), (long long)(r % 10000));
	ob_text(o, buf);
}

const char sb_monb_header[] = "rule,rule_name,unit_type,unit,person,region,identity,date,"
			      "policy_year,measure,threshold,ratio\n";

static uint64_t unit_key(const sb_mon_event *e)
{
	return e->household ? e->household : ((uint64_t)1 << 32) + e->person;
}

sb_status sb_monb_partition(const sb_batch *b, const sb_mon_event *ev, size_t n, sb_obuf *warn,
			    sb_obuf *near, sb_monb_stats *s)
{
	sb_mon_out mo;
	memset(&mo, 0, sizeof mo);
	const sb_mon_event **hh = sb_malloc((n + 1) * sizeof *hh);
	sb_status st = hh ? sb_monitor_run(ev, n, hh, &mo) : SB_ENOMEM;
	if (st) {
		sb_free(hh);
		sb_mon_out_release(&mo);
		return st;
	}
	for (size_t i = 0; i < mo.nwarn; i++) {
		const sb_mon_hit *h = &mo.warn[i];
		put_hit(b, warn, h);
		(*sb_monb_cell(s, b->persons[h->person].policy, h->identity, h->rule->sym, 0))++;
	}
	for (size_t i = 0; i < mo.nnear; i++) {
		const sb_mon_hit *h = &mo.near[i];
		put_hit(b, near, h);
		(*sb_monb_cell(s, b->persons[h->person].policy, h->identity, h->rule->sym, 1))++;
	}
	s->warnings += (long long)mo.nwarn;
	s->approaching += (long long)mo.nnear;
	s->unresolved += mo.unresolved;
	sb_mon_out_release(&mo);

	/* Out-of-pocket by unit and policy year, for the financial-protection
	 * measures: in household order a unit's claims are together and by
	 * date, so its years follow one another. */
	for (size_t i = 0; i < n && !st;) {
		sb_monb_hh h = {unit_key(hh[i]), hh[i]->year, 0};
		size_t j = i;
		for (; j < n && unit_key(hh[j]) == h.unit && hh[j]->year == h.year; j++)
			h.oop += hh[j]->oop;
		if (s->nhh == s->caphh) {
			size_t cap = s->caphh ? s->caphh * 2 : 1024;
			sb_monb_hh *v = sb_realloc(s->hh, cap * sizeof *v);
			if (!v) {
				st = SB_ENOMEM;
				break;
			}
			s->hh = v;
			s->caphh = cap;
		}
		s->hh[s->nhh++] = h;
		i = j;
	}
	sb_free(hh);
	if (!st && (warn->failed || near->failed))
		st = SB_ENOMEM;
	return st;
}

/* ---- the summary ----------------------------------------------------------- */


/* The highest-priority identity any member held at some time in the
 * calendar year, by the first member's region policy; -1 for none. */
static int unit_identity(const sb_batch *b, const uint32_t *members, size_t n, int year)
{
	const sb_policy *pol = sb_policyset_at(b->set, b->persons[members[0]].policy);
	sb_date from = sb_date_from_ymd(year, 1, 1), to = sb_date_from_ymd(year, 12, 31);
	int best = -1, best_rank = 1 << 30;
	for (size_t m = 0; m < n; m++) {
		const sb_bperson *p = &b->persons[members[m]];
		for (uint16_t k = 0; k < p->nidents; k++) {
			const sb_ident *id = &b->idents[p->ident_off + k];
			if (id->to < from || id->from > to)
				continue;
			for (uint16_t r = 0; r < pol->nidentities; r++)
				if (pol->identities[r] == id->sym && r < best_rank) {
					best_rank = r;
					best = id->sym;
				}
		}
	}
	return best;
}

typedef struct fp_count {
	long long households, people, over10_h, over10_p, over25_h, over25_p, poor_h, poor_p;
} fp_count;

static void fp_add(fp_count *c, long long members, bool over10, bool over25, bool poor)
{
	c->households++;
	c->people += members;
	if (over10) {
		c->over10_h++;
		c->over10_p += members;
	}
	if (over25) {
		c->over25_h++;
		c->over25_p += members;
	}
	if (poor) {
		c->poor_h++;
		c->poor_p += members;
	}
}

static double share(long long a, long long b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void fp_json(FILE *f, const fp_count *c, bool poverty)
{
	fprintf(f, "\"households_with_income\": %lld, \"people\": %lld, "
		   "\"oop_over_10pct\": {\"households\": %lld, \"people\": %lld, "
		   "\"household_share\": %.4f, \"people_share\": %.4f}, "
		   "\"oop_over_25pct\": {\"households\": %lld, \"people\": %lld, "
		   "\"household_share\": %.4f, \"people_share\": %.4f}",
		c->households, c->people, c->over10_h, c->over10_p, share(c->over10_h, c->households),
		share(c->over10_p, c->people), c->over25_h, c->over25_p,
		share(c->over25_h, c->households), share(c->over25_p, c->people));
	if (poverty)
		fprintf(f, ", \"impoverished\": {\"households\": %lld, \"people\": %lld}", c->poor_h,
			c->poor_p);
}

/* SDG 3.8.2: households whose out-of-pocket spending exceeds 10% and 25%
 * of their income (or consumption, as persons.csv gives it), and those
 * whom it pushes below the poverty line. Units are households (persons
 * without one stand alone); a household's income is the first value its
 * members give. */
#define FP_MAX_YEARS 16

static void fp_json_year(FILE *f, const sb_batch *b, int year, const fp_count *all,
			 const fp_count *byreg, size_t npol, const fp_count *byid, size_t nid,
			 bool poverty, const char *ind, bool first_year)
{
	fprintf(f, "%s\n%s  {\"year\": %d, ", first_year ? "" : ",", ind, year);
	fp_json(f, all, poverty);
	if (poverty) {
		char l[SB_MONEY_BUF];
		sb_money_format(b->cfg->poverty_line, l);
		fprintf(f, ", \"poverty_line_per_person\": %s", l);
	}
	fprintf(f, ",\n%s   \"by_region\": [", ind);
	int first = 1;
	for (size_t g = 0; g < npol; g++) {
		if (!byreg[g].households)
			continue;
		fprintf(f, "%s\n%s    {\"region\": \"%s\", ", first ? "" : ",", ind,
			sb_policy_region(sb_policyset_at(b->set, g)));
		fp_json(f, &byreg[g], poverty);
		fputs("}", f);
		first = 0;
	}
	fprintf(f, "],\n%s   \"by_identity\": [", ind);
	first = 1;
	for (size_t k = 0; k < nid; k++) {
		if (!byid[k].households)
			continue;
		fprintf(f, "%s\n%s    {\"identity\": \"%s\", ", first ? "" : ",", ind,
			k ? sb_policyset_symbol_name(b->set, SB_SYM_IDENTITY, (int)k - 1) : "none");
		fp_json(f, &byid[k], poverty);
		fputs("}", f);
		first = 0;
	}
	fputs("]}", f);
}

/* SDG 3.8.2: households whose out-of-pocket spending exceeds 10% and 25%
 * of their income (or consumption, as persons.csv gives it), and those
 * whom it pushes below the poverty line. Units are households (persons
 * without one stand alone); a household's income is the first value its
 * members give. */
static void financial_protection(FILE *f, const sb_batch *b, sb_monb_stats *s, const char *ind)
{
	int years[FP_MAX_YEARS];
	int nyears = 0;
	for (size_t i = 0; i < s->nhh && nyears < FP_MAX_YEARS; i++) {
		int k = 0;
		while (k < nyears && years[k] != s->hh[i].year)
			k++;
		if (k == nyears)
			years[nyears++] = s->hh[i].year;
	}
	for (int i = 1; i < nyears; i++) /* a handful: insertion sort */
		for (int j = i; j > 0 && years[j - 1] > years[j]; j--) {
			int t = years[j];
			years[j] = years[j - 1];
			years[j - 1] = t;
		}
	size_t nh = b->nhouseholds, np = b->npersons;
	size_t npol = sb_policyset_count(b->set), nid = s->nident;
	uint32_t *off = sb_calloc(nh + 2, sizeof *off);
	uint32_t *list = sb_malloc((np + 1) * sizeof *list);
	fp_count *all = sb_calloc((size_t)nyears + 1, sizeof *all);
	fp_count *byreg = sb_calloc((size_t)nyears * (npol + 1) + 1, sizeof *byreg);
	fp_count *byid = sb_calloc((size_t)nyears * (nid + 1) + 1, sizeof *byid);
	/* Out-of-pocket by year and unit (households, then persons): the sums
	 * scattered by index, no sort needed. */
	sb_fen *oop_at = sb_calloc((size_t)nyears * (nh + np) + 1, sizeof *oop_at);
	if (!off || !list || !all || !byreg || !byid || !oop_at) {
		fprintf(f, "null");
		goto out;
	}
	/* Members of each household, by counting sort. */
	for (size_t i = 0; i < np; i++)
		if (b->persons[i].household)
			off[b->persons[i].household]++;
	for (size_t h = 1; h <= nh + 1; h++)
		off[h] += off[h - 1];
	for (size_t i = np; i-- > 0;)
		if (b->persons[i].household)
			list[--off[b->persons[i].household]] = (uint32_t)i;
	for (size_t i = 0; i < s->nhh; i++) {
		int y = 0;
		while (y < nyears && years[y] != s->hh[i].year)
			y++;
		if (y == nyears)
			continue; /* beyond FP_MAX_YEARS */
		uint64_t unit = s->hh[i].unit;
		size_t u = unit >> 32 ? nh + (size_t)(unit & 0xffffffffu) : (size_t)unit - 1;
		oop_at[(size_t)y * (nh + np) + u] += s->hh[i].oop;
	}
	bool poverty = b->cfg->poverty_line > 0;
	for (size_t u = 0; u < nh + np; u++) {
		const uint32_t *mem;
		size_t nm;
		uint32_t single;
		if (u < nh) {
			mem = list + off[u + 1];
			nm = off[u + 2] - off[u + 1];
		} else {
			single = (uint32_t)(u - nh);
			if (b->persons[single].household)
				continue;
			mem = &single;
			nm = 1;
		}
		if (!nm)
			continue;
		sb_fen income = -1;
		for (size_t m = 0; m < nm && income < 0; m++)
			income = b->persons[mem[m]].income;
		if (income < 0)
			continue;
		for (int y = 0; y < nyears; y++) {
			sb_fen oop = oop_at[(size_t)y * (nh + np) + u];
			bool over10 = oop * 100 > income * 10, over25 = oop * 100 > income * 25;
			sb_fen line = b->cfg->poverty_line * (sb_fen)nm;
			bool poor = poverty && income >= line && income - oop < line;
			int ident = unit_identity(b, mem, nm, years[y]);
			fp_add(&all[y], (long long)nm, over10, over25, poor);
			fp_add(&byreg[(size_t)y * (npol + 1) + b->persons[mem[0]].policy], (long long)nm,
			       over10, over25, poor);
			fp_add(&byid[(size_t)y * (nid + 1) + (size_t)(ident + 1)], (long long)nm, over10,
			       over25, poor);
		}
	}
	fputs("[", f);
	for (int y = 0; y < nyears; y++)
		fp_json_year(f, b, years[y], &all[y], &byreg[(size_t)y * (npol + 1)], npol,
			     &byid[(size_t)y * (nid + 1)], nid, poverty, ind, y == 0);
	fprintf(f, "\n%s]", ind);
out:
	sb_free(off);
	sb_free(list);
	sb_free(all);
	sb_free(byreg);
	sb_free(byid);
	sb_free(oop_at);
}

static void rule_counts(FILE *f, const sb_batch *b, const sb_monb_stats *s, size_t pol_lo,
			size_t pol_hi, int id_lo, int id_hi)
{
	fputs("{", f);
	for (size_t r = 0; r < s->nrules; r++) {
		long long w = 0, n = 0;
		for (size_t g = pol_lo; g < pol_hi; g++)
			for (int k = id_lo; k < id_hi; k++) {
				w += *sb_monb_cell(s, g, k, (int)r, 0);
				n += *sb_monb_cell(s, g, k, (int)r, 1);
			}
		fprintf(f, "%s\"%s\": {\"warnings\": %lld, \"approaching\": %lld}", r ? ", " : "",
			sb_policyset_symbol_name(b->set, SB_SYM_RULE, (int)r), w, n);
	}
	fputs("}", f);
}

void sb_monb_json(FILE *f, const sb_batch *b, sb_monb_stats *s, const char *ind)
{
	int nid = (int)s->nident - 1;
	fprintf(f, "{\n%s  \"warnings\": %lld, \"approaching\": %lld, "
		   "\"claims_whose_threshold_could_not_be_resolved\": %lld,\n%s  \"by_rule\": ",
		ind, s->warnings, s->approaching, s->unresolved, ind);
	rule_counts(f, b, s, 0, s->npol, -1, nid);
	fprintf(f, ",\n%s  \"by_region\": [", ind);
	for (size_t g = 0; g < s->npol; g++) {
		fprintf(f, "%s\n%s    {\"region\": \"%s\", \"rules\": ", g ? "," : "", ind,
			sb_policy_region(sb_policyset_at(b->set, g)));
		rule_counts(f, b, s, g, g + 1, -1, nid);
		fputs("}", f);
	}
	fprintf(f, "],\n%s  \"by_identity\": [", ind);
	for (int k = -1; k < nid; k++) {
		fprintf(f, "%s\n%s    {\"identity\": \"%s\", \"rules\": ", k >= 0 ? "," : "", ind,
			k < 0 ? "none" : sb_policyset_symbol_name(b->set, SB_SYM_IDENTITY, k));
		rule_counts(f, b, s, 0, s->npol, k, k + 1);
		fputs("}", f);
	}
	fprintf(f, "],\n%s  \"financial_protection\": ", ind);
	financial_protection(f, b, s, ind);
	fprintf(f, "\n%s}", ind);
}
