/* household.c: the batch's household pass. A policy with household
 * accumulators (scope: household, caps.household) needs a household's
 * members settled together, in order of date, then claim id; the sinks
 * need each person's claims together (sink.h). So a partition whose
 * scenario keeps household accumulators is first run in household order,
 * noting before each member's claim the household's accumulators; the
 * settlement pass then runs in person order as always, each claim on its
 * person's accumulators and a copy of that note. Settlement is
 * deterministic and a person's claims come in the same order in both
 * runs, so both settle every claim alike. Persons without a household, or
 * alone in theirs, are households of one: they need no note. */
#include <string.h>

#include "base/sort.h"
#include "batch/pass_int.h"

void sb_hh_pass_init(sb_hh_pass *hp)
{
	memset(hp, 0, sizeof *hp);
}

void sb_hh_pass_release(sb_hh_pass *hp)
{
	sb_free(hp->off);
	sb_free(hp->e);
	for (size_t i = 0; i < hp->capmembers; i++)
		sb_acc_release(&hp->members[i].acc);
	sb_free(hp->members);
	sb_acc_release(&hp->hacc);
	sb_hh_pass_init(hp);
}

/* Ties of one household and day: by claim id, then line. */
static int cmp_tie(const sb_crec *x, const sb_crec *y)
{
	size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
	int c = memcmp(sb_crec_id(x), sb_crec_id(y), n);
	if (c)
		return c;
	if (x->idlen != y->idlen)
		return x->idlen < y->idlen ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static bool in_household(const sb_batch *b, const sb_crec *r)
{
	uint32_t h = b->persons[r->person].household;
	return h && b->hh_members[h - 1] >= 2;
}

/* The member's accumulators in the current household (a household's
 * members are few: a linear search). */
static sb_acc *member(sb_hh_pass *hp, uint32_t person)
{
	for (size_t i = 0; i < hp->nmembers; i++)
		if (hp->members[i].person == person)
			return &hp->members[i].acc;
	if (hp->nmembers == hp->capmembers) {
		size_t cap = hp->capmembers ? hp->capmembers * 2 : 8;
		struct sb_hh_member *m = sb_realloc(hp->members, cap * sizeof *m);
		if (!m)
			return NULL;
		memset(m + hp->capmembers, 0, (cap - hp->capmembers) * sizeof *m);
		hp->members = m;
		hp->capmembers = cap;
	}
	struct sb_hh_member *m = &hp->members[hp->nmembers++];
	m->person = person;
	sb_acc_reset(&m->acc);
	return &m->acc;
}

/* Notes the household's accumulators before record i under scenario s. */
static sb_status note(sb_hh_pass *hp, size_t i, int s)
{
	const sb_acc *h = &hp->hacc;
	if (hp->ne + h->n > UINT32_MAX)
		return SB_ELIMIT;
	if (hp->ne + h->n > hp->cape) {
		size_t cap = hp->cape ? hp->cape : 256;
		while (cap < hp->ne + h->n)
			cap *= 2;
		sb_acc_entry *e = sb_realloc(hp->e, cap * sizeof *e);
		if (!e)
			return SB_ENOMEM;
		hp->e = e;
		hp->cape = cap;
	}
	if (h->n)
		memcpy(hp->e + hp->ne, h->e, h->n * sizeof *h->e);
	hp->off[(i * (size_t)hp->nscen + (size_t)s) * 2] = (uint32_t)hp->ne;
	hp->off[(i * (size_t)hp->nscen + (size_t)s) * 2 + 1] = h->n;
	hp->ne += h->n;
	return SB_OK;
}

sb_status sb_hh_pass_run(sb_hh_pass *hp, const sb_batch *b, sb_crec *const *recs, size_t n,
			 int nscen, const bool *scen, sb_hh_settle_fn fn, void *ctx, sb_diag *d)
{
	hp->nscen = nscen;
	hp->n = 0;
	hp->ne = 0;
	size_t m = 0;
	sb_date lo = INT32_MAX, hi = INT32_MIN;
	for (size_t i = 0; i < n; i++)
		if (in_household(b, recs[i])) {
			m++;
			lo = recs[i]->date < lo ? recs[i]->date : lo;
			hi = recs[i]->date > hi ? recs[i]->date : hi;
		}
	if (!m)
		return SB_OK;
	/* off: (entry offset, count) per record and scenario, UINT32_MAX
	 * when the record has no note (no household, or no household
	 * accumulators under that scenario). */
	sb_free(hp->off);
	hp->off = sb_malloc((n * (size_t)nscen * 2 + 1) * sizeof *hp->off);
	sb_keyed *a = sb_malloc((m + 1) * sizeof *a), *tmp = sb_malloc((m + 1) * sizeof *tmp);
	sb_status st = SB_OK;
	if (!hp->off || !a || !tmp) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	memset(hp->off, 0xff, n * (size_t)nscen * 2 * sizeof *hp->off);
	hp->n = n;
	unsigned bits = sb_bits_for((uint64_t)((int64_t)hi - lo));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (in_household(b, recs[i])) {
			a[k].key = (uint64_t)b->persons[recs[i]->person].household << bits |
				   (uint64_t)((int64_t)recs[i]->date - lo);
			a[k++].p = (const void *)(uintptr_t)i; /* the record's index, not a pointer */
		}
	sb_keyed *s = sb_radix_sort(a, tmp, m);
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && s[j - 1].key == s[j].key &&
				   cmp_tie(recs[(uintptr_t)s[j - 1].p], recs[(uintptr_t)s[j].p]) > 0; j--) {
			sb_keyed t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	for (int sc = 0; sc < nscen && !st; sc++) {
		if (!scen[sc])
			continue;
		uint32_t cur = 0;
		for (size_t i = 0; i < m && !st; i++) {
			size_t r = (uintptr_t)s[i].p;
			uint32_t h = b->persons[recs[r]->person].household;
			if (h != cur) {
				cur = h;
				hp->nmembers = 0;
				sb_acc_reset(&hp->hacc);
			}
			sb_acc *acc = member(hp, recs[r]->person);
			sb_status ns = acc ? note(hp, r, sc) : SB_ENOMEM;
			if (ns) {
				st = sb_diag_set(d, ns, NULL, 0, 0, ns == SB_ENOMEM ? "out of memory" :
					"a partition's household accumulators exceed 2^32 entries: "
					"use more partitions (--partition-mb)");
				break;
			}
			if ((st = fn(ctx, r, sc, acc, &hp->hacc)))
				break;
		}
	}
out:
	sb_free(a);
	sb_free(tmp);
	return st;
}

bool sb_hh_pass_load(const sb_hh_pass *hp, size_t i, int s, sb_acc *out, sb_status *st)
{
	*st = SB_OK;
	if (i >= hp->n || s >= hp->nscen)
		return false;
	const uint32_t *o = &hp->off[(i * (size_t)hp->nscen + (size_t)s) * 2];
	if (o[0] == UINT32_MAX)
		return false;
	sb_acc src = {.e = hp->e + o[0], .n = o[1], .cap = o[1]};
	if (sb_acc_copy(out, &src))
		*st = SB_ENOMEM;
	return true;
}
