/* monitor.c: 因病返贫致贫 early warning. For each unit (person, or household
 * with its enrolled members) and rule, walks the unit's claims in date
 * order, keeps the sum of the rule's measure over the claims its `when`
 * holds for, within the window, and fires the first time in a policy year
 * that the sum exceeds the threshold (the income share of the claim's
 * year, times the members for a household unless per_household). */
#include "monitor/monitor_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sort.h"

int64_t sb_monitor_ratio_bp(sb_fen measure, sb_fen threshold)
{
	if (threshold <= 0)
		return measure > 0 ? INT64_MAX : 0;
	return sb_div_round(measure * 10000, threshold);
}

static int cmp_id(const sb_mon_event *x, const sb_mon_event *y)
{
	uint32_t n = x->claim_idlen < y->claim_idlen ? x->claim_idlen : y->claim_idlen;
	int c = memcmp(x->claim_id, y->claim_id, n);
	if (c)
		return c;
	return x->claim_idlen < y->claim_idlen ? -1 : x->claim_idlen > y->claim_idlen;
}

static int cmp_person(const sb_mon_event *x, const sb_mon_event *y)
{
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return cmp_id(x, y);
}

static int cmp_person_ref(const void *a, const void *b)
{
	return cmp_person(*(const sb_mon_event *const *)a, *(const sb_mon_event *const *)b);
}

/* Households first by household, persons without one after them. */
static int cmp_household(const void *a, const void *b)
{
	const sb_mon_event *x = *(const sb_mon_event *const *)a;
	const sb_mon_event *y = *(const sb_mon_event *const *)b;
	uint64_t kx = x->household ? x->household : ((uint64_t)1 << 32) + x->person;
	uint64_t ky = y->household ? y->household : ((uint64_t)1 << 32) + y->person;
	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	int c = cmp_id(x, y);
	if (c)
		return c;
	return x->person < y->person ? -1 : x->person > y->person;
}

/* Hits need no limit of their own: a unit has at most one warning and one
 * approaching row per rule and policy year, so there are at most two per
 * rule and event of the run's events (a partition's, in the batch). */
static sb_status push(sb_mon_hit **v, size_t *n, size_t *cap, const sb_mon_hit *h)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		sb_mon_hit *nv = sb_realloc(*v, c * sizeof *nv);
		if (!nv)
			return SB_ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *h;
	return SB_OK;
}

void sb_mon_out_release(sb_mon_out *out)
{
	sb_free(out->warn);
	sb_free(out->near);
	memset(out, 0, sizeof *out);
}

/* The running state of one rule in one unit. */
typedef struct rstate {
	int sym;
	int year;           /* policy year of the last matching claim */
	bool fired;         /* fired in that year */
	bool has_last;      /* last_* hold the last evaluation, for `approaching` */
	sb_fen sum;         /* year window: the year's sum so far */
	size_t lo;          /* 12m window: first event still inside it */
	sb_fen wsum;        /* 12m window: sum of matching events in [lo, now] */
	const sb_rule *last_rule;
	const sb_mon_event *last_ev;
	sb_fen last_measure, last_threshold;
} rstate;

static sb_mon_hit hit_of(const sb_rule *rule, bool unit_is_hh, uint32_t unit,
			 const sb_mon_event *e, sb_fen measure, sb_fen threshold)
{
	sb_mon_hit h = {rule, unit_is_hh, unit, e->person, e->region, e->identity,
			e->date, e->year, measure, threshold};
	return h;
}

static sb_status close_year(rstate *s, bool unit_is_hh, uint32_t unit, sb_mon_out *out)
{
	if (!s->has_last || s->fired || s->last_threshold <= 0) {
		s->has_last = false;
		return SB_OK;
	}
	s->has_last = false;
	/* 80% or more, not crossed: measure * 10 >= threshold * 8. */
	if (s->last_measure * 10 >= s->last_threshold * 8) {
		sb_mon_hit h = hit_of(s->last_rule, unit_is_hh, unit, s->last_ev, s->last_measure,
				      s->last_threshold);
		return push(&out->near, &out->nnear, &out->capnear, &h);
	}
	return SB_OK;
}

/* The rule with symbol sym in e's version when its `when` held for e, or
 * NULL; *r is its index. */
static const sb_rule *matching(const sb_mon_event *e, int sym, bool household, uint16_t *r)
{
	for (uint16_t i = 0; i < e->version->nrules && i < 16; i++) {
		const sb_rule *rule = &e->version->rules[i];
		if (rule->sym == sym && (e->rules_held >> i & 1) &&
		    (rule->unit == SB_UNIT_HOUSEHOLD) == household) {
			*r = i;
			return rule;
		}
	}
	return NULL;
}

static sb_fen measure(const sb_rule *rule, const sb_mon_event *e)
{
	return rule->measure == SB_MEASURE_OOP ? e->oop : e->oop_in_scope;
}

/* sb_date_minus_year, remembered: a unit's claims fall on a few hundred
 * days, and most units' claims on days other units' claims fell on. A
 * slot holding {0, 0} is empty (day 0 a year earlier is not day 0). */
static sb_date minus_year(sb_date date)
{
	static _Thread_local struct {
		sb_date day, edge;
	} memo[1024];
	size_t k = (size_t)((uint32_t)date & 1023u);
	if (memo[k].day != date || (!memo[k].day && !memo[k].edge)) {
		memo[k].day = date;
		memo[k].edge = sb_date_minus_year(date);
	}
	return memo[k].edge;
}

/* One unit's events [0, n), date-ordered, for the rules of one unit kind. */
static sb_status run_unit(const sb_mon_event *const *ev, size_t n, bool household,
			  bool unit_is_hh, uint32_t unit, sb_mon_out *out)
{
	rstate st[32];
	int nst = 0;
	sb_status rc = SB_OK;
	const sb_version *mv = NULL; /* the version whose rules of this kind are kind */
	uint16_t kind = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const sb_mon_event *e = ev[i];
		const sb_version *v = e->version;
		if (v != mv) {
			mv = v;
			kind = 0;
			for (uint16_t r = 0; r < v->nrules && r < 16; r++)
				if ((v->rules[r].unit == SB_UNIT_HOUSEHOLD) == household)
					kind |= (uint16_t)(1u << r);
		}
		for (unsigned held = e->rules_held & kind; held && !rc; held &= held - 1) {
			uint16_t r = (uint16_t)__builtin_ctz(held);
			const sb_rule *rule = &v->rules[r];
			rstate *s = NULL;
			for (int k = 0; k < nst && !s; k++)
				if (st[k].sym == rule->sym)
					s = &st[k];
			if (!s) {
				if (nst == 32)
					continue;
				s = &st[nst++];
				s->sym = rule->sym;
				s->year = e->year;
				s->fired = s->has_last = false;
				s->sum = s->wsum = 0;
				s->lo = i;
			}
			if (e->year != s->year) {
				if ((rc = close_year(s, unit_is_hh, unit, out)))
					break;
				s->year = e->year;
				s->fired = false;
				s->sum = 0;
			}
			sb_fen amt = measure(rule, e), sum;
			s->sum += amt;
			s->wsum += amt;
			if (rule->window == SB_WINDOW_YEAR) {
				sum = s->sum;
			} else {
				/* The 12 months ending on the claim's date: the same
				 * day a year earlier is already out. */
				sb_date edge = minus_year(e->date);
				while (s->lo < i && ev[s->lo]->date <= edge) {
					uint16_t rk;
					const sb_rule *old = matching(ev[s->lo], rule->sym, household, &rk);
					if (old)
						s->wsum -= measure(old, ev[s->lo]);
					s->lo++;
				}
				sum = s->wsum;
			}
			if (e->threshold[r] < 0) {
				out->unresolved++;
				continue;
			}
			sb_fen t = e->threshold[r];
			if (household && !rule->per_household)
				t *= e->members;
			s->last_rule = rule;
			s->last_ev = e;
			s->last_measure = sum;
			s->last_threshold = t;
			s->has_last = true;
			if (sum > t && !s->fired) {
				s->fired = true;
				sb_mon_hit h = hit_of(rule, unit_is_hh, unit, e, sum, t);
				rc = push(&out->warn, &out->nwarn, &out->capwarn, &h);
			}
		}
	}
	for (int k = 0; k < nst && !rc; k++)
		rc = close_year(&st[k], unit_is_hh, unit, out);
	return rc;
}

/* Household order: a radix sort on (unit, day), then insertion sort of
 * the short runs that share both. */
static sb_status order_households(const sb_mon_event *ev, size_t n, const sb_mon_event **ord)
{
	sb_keyed *a = sb_malloc((n + 1) * sizeof *a), *tmp = sb_malloc((n + 1) * sizeof *tmp);
	if (!a || !tmp) {
		sb_free(a);
		sb_free(tmp);
		return SB_ENOMEM;
	}
	/* Compact keys (see sort_recs in the batch): households by number,
	 * then persons without one after the last household; days from the
	 * first. The order is cmp_household's. */
	uint32_t last_hh = 0;
	sb_date lo = INT32_MAX, hi = INT32_MIN;
	for (size_t i = 0; i < n; i++) {
		last_hh = ev[i].household > last_hh ? ev[i].household : last_hh;
		lo = ev[i].date < lo ? ev[i].date : lo;
		hi = ev[i].date > hi ? ev[i].date : hi;
	}
	unsigned bits = n ? sb_bits_for((uint64_t)((int64_t)hi - lo)) : 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t unit = ev[i].household ? ev[i].household :
						  (uint64_t)last_hh + 1 + ev[i].person;
		a[i].key = unit << bits | (uint64_t)((int64_t)ev[i].date - lo);
		a[i].p = &ev[i];
	}
	sb_keyed *s = sb_radix_sort(a, tmp, n);
	for (size_t i = 0; i < n; i++) {
		ord[i] = s[i].p;
		for (size_t j = i; j > 0 && s[j - 1].key == s[j].key &&
				   cmp_household(&ord[j - 1], &ord[j]) > 0; j--) {
			const sb_mon_event *t = ord[j];
			ord[j] = ord[j - 1];
			ord[j - 1] = t;
		}
	}
	sb_free(a);
	sb_free(tmp);
	return SB_OK;
}

static sb_status run_kind(const sb_mon_event *const *ev, size_t n, bool household,
			 sb_mon_out *out)
{
	sb_status rc = SB_OK;
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i + 1;
		if (household)
			while (j < n && ev[j]->household == ev[i]->household &&
			       (ev[i]->household || ev[j]->person == ev[i]->person))
				j++;
		else
			while (j < n && ev[j]->person == ev[i]->person)
				j++;
		uint32_t unit = household && ev[i]->household ? ev[i]->household : ev[i]->person;
		/* A person without a household is a household of one. */
		rc = run_unit(ev + i, j - i, household, household && ev[i]->household, unit, out);
		i = j;
	}
	return rc;
}

sb_status sb_monitor_run(const sb_mon_event *ev, size_t n, const sb_mon_event **by_household,
			 sb_mon_out *out)
{
	if (!n)
		return SB_OK;
	/* Is there any rule of each kind at all? Skip the orders when not. */
	bool person = false, household = false, sorted = true;
	for (size_t i = 0; i < n; i++) {
		for (uint16_t r = 0; r < ev[i].version->nrules && r < 16; r++) {
			if (!(ev[i].rules_held >> r & 1))
				continue;
			if (ev[i].version->rules[r].unit == SB_UNIT_HOUSEHOLD)
				household = true;
			else
				person = true;
		}
		if (i && sorted && cmp_person(&ev[i - 1], &ev[i]) > 0)
			sorted = false;
	}
	const sb_mon_event **ord = sb_malloc(n * sizeof *ord);
	if (!ord)
		return SB_ENOMEM;
	sb_status rc = SB_OK;
	if (person) {
		for (size_t i = 0; i < n; i++)
			ord[i] = &ev[i];
		if (!sorted)
			qsort(ord, n, sizeof *ord, cmp_person_ref);
		rc = run_kind(ord, n, false, out);
	}
	if (!rc && (household || by_household) && !(rc = order_households(ev, n, ord))) {
		if (household)
			rc = run_kind(ord, n, true, out);
		if (by_household)
			memcpy(by_household, ord, n * sizeof *ord);
	}
	sb_free(ord);
	return rc;
}

sb_status sb_monitor_unit(const sb_mon_event *const *ev, size_t n, bool household,
			  bool unit_is_hh, uint32_t unit, sb_mon_out *out)
{
	return n ? run_unit(ev, n, household, unit_is_hh, unit, out) : SB_OK;
}

/* x after y within one household: by date, claim id, person (cmp_household
 * with the unit equal). */
static inline bool after(const sb_mon_event *x, const sb_mon_event *y)
{
	if (x->date != y->date)
		return x->date > y->date;
	int c = cmp_id(x, y);
	if (c)
		return c > 0;
	return x->person > y->person;
}

static void merge_household(const sb_mon_event **a, size_t n, const sb_mon_event **tmp)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			const sb_mon_event *t = a[i];
			size_t j = i;
			for (; j > 0 && after(a[j - 1], t); j--)
				a[j] = a[j - 1];
			a[j] = t;
		}
		return;
	}
	size_t h = n / 2;
	merge_household(a, h, tmp);
	merge_household(a + h, n - h, tmp);
	if (!after(a[h - 1], a[h]))
		return; /* already in order: a member's claims after the others' */
	memcpy(tmp, a, h * sizeof *a);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		a[k++] = after(tmp[i], a[j]) ? a[j++] : tmp[i++];
	while (i < h)
		a[k++] = tmp[i++];
}

void sb_monitor_order_household(const sb_mon_event **ev, size_t n, const sb_mon_event **tmp)
{
	merge_household(ev, n, tmp);
}
