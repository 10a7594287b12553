/* acc.c: a person's accumulators, keyed by (region, policy year, kind, id
 * key), and their byte encoding for a store. The entries are few (a person's
 * layers and pools per year), so they are a flat array searched from the end,
 * where the current year's entries are. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "settle/settle_int.h"

void sb_acc_init(sb_acc *a)
{
	a->e = NULL;
	a->n = a->cap = 0;
}

void sb_acc_reset(sb_acc *a)
{
	a->n = 0;
}

void sb_acc_release(sb_acc *a)
{
	sb_free(a->e);
	sb_acc_init(a);
}

static sb_status reserve(sb_acc *a, uint32_t want)
{
	if (want <= a->cap)
		return SB_OK;
	uint32_t cap = a->cap ? a->cap : 16;
	while (cap < want)
		cap *= 2;
	if (cap > SB_ACC_MAX)
		cap = SB_ACC_MAX;
	sb_acc_entry *e = sb_realloc(a->e, (size_t)cap * sizeof *e);
	if (!e)
		return SB_ENOMEM;
	a->e = e;
	a->cap = cap;
	return SB_OK;
}

sb_status sb_acc_copy(sb_acc *dst, const sb_acc *src)
{
	if (reserve(dst, src->n))
		return SB_ENOMEM;
	if (src->n)
		memcpy(dst->e, src->e, (size_t)src->n * sizeof *src->e);
	dst->n = src->n;
	return SB_OK;
}

const sb_acc_entry *sb_acc_find(const sb_acc *a, uint32_t region, int32_t year, uint32_t kind,
				uint64_t id)
{
	int i = sb_acc_index(a, region, year, kind, id);
	return i < 0 ? NULL : &a->e[i];
}

sb_status sb_acc_slot(sb_acc *a, uint32_t region, int32_t year, uint32_t kind, uint64_t id,
		      int *out, sb_diag *d)
{
	int i = sb_acc_index(a, region, year, kind, id);
	if (i >= 0) {
		*out = i;
		return SB_OK;
	}
	if (a->n >= SB_ACC_MAX)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "a person's accumulators are full: at most %d entries (layers "
				   "and pools over all policy years)", SB_ACC_MAX);
	if (reserve(a, a->n + 1))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	a->e[a->n] = (sb_acc_entry){.id = id, .region = region, .year = year, .kind = kind};
	*out = (int)a->n++;
	return SB_OK;
}

/* ---- encoding ------------------------------------------------------------ */

#define HEAD 12u
#define ENTRY 29u
#define TAIL 4u

static uint32_t fnv32(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

size_t sb_acc_encoded_size(const sb_acc *a)
{
	return HEAD + (size_t)a->n * ENTRY + TAIL;
}

sb_status sb_acc_encode(const sb_acc *a, uint8_t *buf, size_t cap, size_t *len, sb_diag *d)
{
	size_t need = sb_acc_encoded_size(a);
	if (cap < need)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "accumulators need %zu bytes, the buffer has %zu", need, cap);
	memcpy(buf, "SBAC", 4);
	put(buf + 4, SB_ACC_ENCODING, 2);
	put(buf + 6, 0, 2);
	put(buf + 8, a->n, 4);
	uint8_t *p = buf + HEAD;
	for (uint32_t i = 0; i < a->n; i++, p += ENTRY) {
		const sb_acc_entry *e = &a->e[i];
		put(p, e->id, 8);
		put(p + 8, e->region, 4);
		put(p + 12, (uint32_t)e->year, 4);
		put(p + 16, e->kind, 1);
		put(p + 17, e->count, 4);
		put(p + 21, (uint64_t)e->amount, 8);
	}
	put(p, fnv32(buf, need - TAIL), 4);
	*len = need;
	return SB_OK;
}

static sb_status bad(sb_diag *d, const char *why)
{
	return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "accumulators cannot be decoded: %s", why);
}

sb_status sb_acc_decode(sb_acc *a, const uint8_t *buf, size_t len, sb_diag *d)
{
	if (len < HEAD + TAIL)
		return bad(d, "shorter than the header");
	if (memcmp(buf, "SBAC", 4))
		return bad(d, "not an accumulator encoding (no SBAC mark)");
	if (get(buf + 4, 2) != SB_ACC_ENCODING || get(buf + 6, 2) != 0)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "accumulators cannot be decoded: encoding version %u, this "
				   "build reads %d", (unsigned)get(buf + 4, 2), SB_ACC_ENCODING);
	uint64_t n = get(buf + 8, 4);
	if (n > SB_ACC_MAX)
		return bad(d, "more entries than the limit");
	if (len != HEAD + n * ENTRY + TAIL)
		return bad(d, len < HEAD + n * ENTRY + TAIL ? "the buffer is short" :
						       "bytes after the end");
	if (get(buf + len - TAIL, 4) != fnv32(buf, len - TAIL))
		return bad(d, "the checksum does not match (damaged)");
	sb_acc t;
	sb_acc_init(&t);
	if (n && reserve(&t, (uint32_t)n))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	const uint8_t *p = buf + HEAD;
	for (uint32_t i = 0; i < n; i++, p += ENTRY) {
		sb_acc_entry e = {
			.id = get(p, 8), .region = (uint32_t)get(p + 8, 4),
			.year = (int32_t)(uint32_t)get(p + 12, 4), .kind = (uint32_t)get(p + 16, 1),
			.count = (uint32_t)get(p + 17, 4), .amount = (sb_fen)get(p + 21, 8),
		};
		const char *why = e.kind > SB_ACC_DEDUCT ? "an entry of unknown kind" :
				  e.amount < 0 || e.amount > SB_FEN_MAX ? "an amount out of range" :
				  e.region > 999999 ? "a region code out of range" :
				  e.kind != SB_ACC_LAYER && e.count ? "a pool entry with a count" :
				  sb_acc_index(&t, e.region, e.year, e.kind, e.id) >= 0 ?
				  "an entry given twice" : NULL;
		if (why) {
			sb_acc_release(&t);
			return bad(d, why);
		}
		t.e[t.n++] = e;
	}
	sb_acc_release(a);
	*a = t;
	return SB_OK;
}
