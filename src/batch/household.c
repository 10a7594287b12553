/* household.c: the batch's household pass. A policy with household
 * accumulators (scope: household, caps.household) needs a household's
 * members settled together, in order of date, then claim id; the sinks
 * need each person's claims together (sink.h). So a partition whose
 * scenario keeps household accumulators is first settled in household
 * order, each member on accumulators of their own and the household on
 * one set, and the settlement pass, in person order as always, hands on
 * what it settled. When keeping every result would take more than
 * SB_HH_RESULTS_MAX bytes, the pass keeps instead, before each claim, the
 * household's accumulators (a few entries), and the settlement pass
 * settles the claim again on its person's accumulators and a copy of
 * them: settlement is deterministic and a person's claims come in the
 * same order in both runs, so both settle every claim alike. Persons
 * without a household, or alone in theirs, are households of one: the
 * settlement pass settles them as always. */
#include <stddef.h>
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
	sb_free(hp->res);
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

/* The member of the current household, with their accumulators (a
 * household's members are few: a linear search). */
static struct sb_hh_member *member(sb_hh_pass *hp, const sb_batch *b, uint32_t person)
{
	for (size_t i = 0; i < hp->nmembers; i++)
		if (hp->members[i].person == person)
			return &hp->members[i];
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
	sb_batch_person(b, person, &m->p);
	sb_acc_reset(&m->acc);
	return m;
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
	sb_hh_slot *o = &hp->off[i * (size_t)hp->nscen + (size_t)s];
	o->note = (uint32_t)hp->ne;
	o->nnote = h->n;
	hp->ne += h->n;
	return SB_OK;
}

/* A result as kept: its status, then on a refusal the diagnosis, else the
 * result's head, its version's layers and its tail. */
static size_t result_size(uint8_t nlayers)
{
	size_t n = 8 + offsetof(sb_result, layer) + (size_t)nlayers * sizeof(sb_layer_result) +
		   (sizeof(sb_result) - offsetof(sb_result, fund));
	return (n + 7) & ~(size_t)7;
}

static sb_status keep(sb_hh_pass *hp, size_t i, int s, sb_status st, const sb_result *r,
		      const sb_diag *d)
{
	size_t need = st ? (8 + sizeof *d + 7) & ~(size_t)7 : result_size(r->nlayers);
	if (hp->nres + need > hp->capres) {
		size_t cap = hp->capres ? hp->capres : 65536;
		while (cap < hp->nres + need)
			cap *= 2;
		uint8_t *v = sb_realloc(hp->res, cap);
		if (!v)
			return SB_ENOMEM;
		hp->res = v;
		hp->capres = cap;
	}
	uint8_t *p = hp->res + hp->nres;
	int32_t code = (int32_t)st;
	memcpy(p, &code, sizeof code);
	if (st) {
		memcpy(p + 8, d, sizeof *d);
	} else {
		size_t head = offsetof(sb_result, layer), lay = r->nlayers * sizeof r->layer[0];
		memcpy(p + 8, r, head);
		memcpy(p + 8 + head, r->layer, lay);
		memcpy(p + 8 + head + lay, &r->fund, sizeof *r - offsetof(sb_result, fund));
	}
	hp->off[i * (size_t)hp->nscen + (size_t)s].res = hp->nres;
	hp->nres += need;
	return SB_OK;
}

/* The most layers of a version in the sets of the scenarios that keep
 * household accumulators: what a kept result may need. */
static uint16_t most_layers(const sb_policyset *const *sets, int nscen, const bool *scen)
{
	uint16_t most = 0;
	for (int s = 0; s < nscen; s++)
		for (size_t i = 0; scen[s] && i < sb_policyset_count(sets[s]); i++) {
			const sb_policy *p = sb_policyset_at(sets[s], i);
			for (uint16_t v = 0; v < p->nversions; v++)
				most = p->versions[v].nlayers > most ? p->versions[v].nlayers :
								       most;
		}
	return most;
}

sb_status sb_hh_pass_run(sb_hh_pass *hp, const sb_batch *b, sb_crec *const *recs, size_t n,
			 int nscen, const sb_policyset *const *sets, const bool *scen,
			 sb_hh_settle_fn fn, void *ctx, sb_diag *d)
{
	hp->nscen = nscen;
	hp->n = 0;
	hp->ne = 0;
	hp->nres = 0;
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
	/* off: a slot per record and scenario; all ones when the record has
	 * nothing kept (no household, or no household accumulators under that
	 * scenario). */
	int nhh = 0;
	for (int sc = 0; sc < nscen; sc++)
		nhh += scen[sc];
	hp->keep = (uint64_t)m * (uint64_t)nhh *
			   result_size((uint8_t)most_layers(sets, nscen, scen)) <=
		   SB_HH_RESULTS_MAX;
	sb_free(hp->off);
	hp->off = sb_malloc((n * (size_t)nscen + 1) * sizeof *hp->off);
	sb_keyed *a = sb_malloc((m + 1) * sizeof *a), *tmp = sb_malloc((m + 1) * sizeof *tmp);
	sb_status st = SB_OK;
	if (!hp->off || !a || !tmp) {
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	memset(hp->off, 0xff, n * (size_t)nscen * sizeof *hp->off);
	hp->n = n;
	unsigned bits = sb_bits_for((uint64_t)((int64_t)hi - lo));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (in_household(b, recs[i])) {
			a[k].key = (uint64_t)b->persons[recs[i]->person].household << bits |
				   (uint64_t)((int64_t)recs[i]->date - lo);
			a[k++].p = &recs[i]; /* its slot: the index is slot - recs */
		}
	sb_keyed *s = sb_radix_sort(a, tmp, m);
	for (size_t i = 1; i < m; i++)
		for (size_t j = i;
		     j > 0 && s[j - 1].key == s[j].key &&
		     cmp_tie(*(sb_crec *const *)s[j - 1].p, *(sb_crec *const *)s[j].p) > 0;
		     j--) {
			sb_keyed t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	for (int sc = 0; sc < nscen && !st; sc++) {
		if (!scen[sc])
			continue;
		uint32_t cur = 0;
		for (size_t i = 0; i < m && !st; i++) {
			size_t r = (size_t)((sb_crec *const *)s[i].p - recs);
			uint32_t h = b->persons[recs[r]->person].household;
			if (h != cur) {
				cur = h;
				hp->nmembers = 0;
				sb_acc_reset(&hp->hacc);
			}
			struct sb_hh_member *mb = member(hp, b, recs[r]->person);
			sb_status ns = !mb ? SB_ENOMEM : hp->keep ? SB_OK : note(hp, r, sc);
			if (ns) {
				st = sb_diag_set(
					d, ns, NULL, 0, 0,
					ns == SB_ENOMEM ?
						"out of memory" :
						"a partition's household accumulators exceed 2^32 entries: "
						"use more partitions (--partition-mb)");
				break;
			}
			sb_result res;
			sb_diag cd;
			sb_diag_clear(&cd);
			bool settled = false;
			sb_status cs =
				fn(ctx, r, sc, &mb->p, &mb->acc, &hp->hacc, &res, &cd, &settled);
			if (cs == SB_ENOMEM) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			if (hp->keep && settled && keep(hp, r, sc, cs, &res, &cd)) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
		}
	}
out:
	sb_free(a);
	sb_free(tmp);
	return st;
}

bool sb_hh_pass_take(const sb_hh_pass *hp, size_t i, int s, sb_result *r, sb_diag *d, sb_status *st)
{
	if (i >= hp->n || s >= hp->nscen || !hp->keep)
		return false;
	const sb_hh_slot *o = &hp->off[i * (size_t)hp->nscen + (size_t)s];
	if (o->res == UINT64_MAX)
		return false;
	const uint8_t *p = hp->res + o->res;
	int32_t code;
	memcpy(&code, p, sizeof code);
	*st = (sb_status)code;
	if (code) {
		memcpy(d, p + 8, sizeof *d);
		return true;
	}
	size_t head = offsetof(sb_result, layer);
	memcpy(r, p + 8, head);
	size_t lay = r->nlayers * sizeof r->layer[0];
	memcpy(r->layer, p + 8 + head, lay);
	memcpy(&r->fund, p + 8 + head + lay, sizeof *r - offsetof(sb_result, fund));
	return true;
}

bool sb_hh_pass_load(const sb_hh_pass *hp, size_t i, int s, sb_acc *out, sb_status *st)
{
	*st = SB_OK;
	if (i >= hp->n || s >= hp->nscen || hp->keep)
		return false;
	const sb_hh_slot *o = &hp->off[i * (size_t)hp->nscen + (size_t)s];
	if (o->note == UINT32_MAX)
		return false;
	sb_acc src = { .e = hp->e + o->note, .n = o->nnote, .cap = o->nnote };
	if (sb_acc_copy(out, &src))
		*st = SB_ENOMEM;
	return true;
}
