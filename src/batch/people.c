/* people.c: persons.csv and identities.csv into the batch's person table:
 * one 40-byte record per person behind an open-addressing index on the
 * packed ID, identity intervals in one array sorted by person. A bad row is
 * rejected with its line and reason; the rest load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "batch/batch_int.h"
#include "batch/dist.h"
#include "sanbao/io.h"

uint64_t sb_batch_hash(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t sb_batch_id_key(const char *id)
{
	uint64_t k = 0;
	for (int i = 0; i < 17; i++)
		k = k * 10 + (uint64_t)(id[i] - '0');
	return k;
}

void sb_batch_id_text(const sb_bperson *p, char out[SB_ID_LEN + 1])
{
	sb_person_key_text(p->key, p->pseudo, out);
}

long sb_batch_find_person(const sb_batch *b, const char *id, size_t n)
{
	if (n != SB_ID_LEN || !b->index)
		return -1;
	uint64_t key;
	int pseudo = 0;
	if (id[0] == 'P') {
		const char *why;
		if (sb_person_key(id, n, &key, &pseudo, NULL, &why))
			return -1;
	} else {
		for (int i = 0; i < 17; i++)
			if (id[i] < '0' || id[i] > '9')
				return -1;
		key = sb_batch_id_key(id);
	}
	for (size_t h = sb_batch_hash(key) & b->index_mask;; h = (h + 1) & b->index_mask) {
		const sb_pslot *s = &b->index[h];
		if (!s->v)
			return -1;
		if (s->key == key && s->pseudo == (uint32_t)pseudo)
			return (long)(s->v - 1);
	}
}

int sb_batch_partition_of(const sb_batch *b, uint32_t person)
{
	const sb_bperson *p = &b->persons[person];
	uint64_t h = p->household ? sb_batch_hash((uint64_t)p->household << 32) :
				    sb_batch_hash(p->key);
	return (int)(h % (uint64_t)b->partitions);
}

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_status grow_index(sb_batch *b)
{
	size_t cap = b->index ? (b->index_mask + 1) * 2 : 1024;
	sb_pslot *idx = sb_huge_alloc(cap * sizeof *idx);
	if (!idx)
		return SB_ENOMEM;
	for (size_t i = 0; i < b->npersons; i++) {
		size_t h = sb_batch_hash(b->persons[i].key) & (cap - 1);
		while (idx[h].v)
			h = (h + 1) & (cap - 1);
		idx[h].key = b->persons[i].key;
		idx[h].pseudo = b->persons[i].pseudo;
		idx[h].v = (uint32_t)(i + 1);
	}
	if (b->index)
		sb_huge_free(b->index, (b->index_mask + 1) * sizeof *b->index);
	b->index = idx;
	b->index_mask = cap - 1;
	return SB_OK;
}

/* Household index (1-based) for a name, added when new; 0 on OOM. */
static uint32_t household(sb_batch *b, const char *p, size_t n)
{
	if (b->nhouseholds * 2 >= (b->hh_index ? b->hh_mask + 1 : 0)) {
		size_t cap = b->hh_index ? (b->hh_mask + 1) * 2 : 1024;
		uint32_t *idx = sb_calloc(cap, sizeof *idx);
		if (!idx)
			return 0;
		for (size_t i = 0; i < b->nhouseholds; i++) {
			const char *s = b->households[i];
			uint64_t hv = 1469598103934665603ULL;
			for (size_t j = 0; s[j]; j++)
				hv = (hv ^ (unsigned char)s[j]) * 1099511628211ULL;
			size_t h = sb_batch_hash(hv) & (cap - 1);
			while (idx[h])
				h = (h + 1) & (cap - 1);
			idx[h] = (uint32_t)(i + 1);
		}
		sb_free(b->hh_index);
		b->hh_index = idx;
		b->hh_mask = cap - 1;
	}
	uint64_t hv = 1469598103934665603ULL;
	for (size_t j = 0; j < n; j++)
		hv = (hv ^ (unsigned char)p[j]) * 1099511628211ULL;
	size_t h = sb_batch_hash(hv) & b->hh_mask;
	for (; b->hh_index[h]; h = (h + 1) & b->hh_mask) {
		const char *s = b->households[b->hh_index[h] - 1];
		if (!strncmp(s, p, n) && s[n] == '\0')
			return b->hh_index[h];
	}
	if (b->nhouseholds == b->caphouseholds) {
		size_t cap = b->caphouseholds ? b->caphouseholds * 2 : 1024;
		char **v = sb_realloc(b->households, cap * sizeof *v);
		if (!v)
			return 0;
		b->households = v;
		b->caphouseholds = cap;
	}
	char *s = sb_malloc(n + 1);
	if (!s)
		return 0;
	memcpy(s, p, n);
	s[n] = '\0';
	b->households[b->nhouseholds++] = s;
	b->hh_index[h] = (uint32_t)b->nhouseholds;
	return (uint32_t)b->nhouseholds;
}

static sb_csv_field field(const sb_csv *c, int col)
{
	sb_csv_field f = {"", 0};
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

static sb_status reject(sb_batch *b, int file, long line, sb_csv_field id, bool mask,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static sb_status reject(sb_batch *b, int file, long line, sb_csv_field id, bool mask,
			const char *fmt, ...)
{
	char reason[512], masked[80];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	size_t n = id.n < 64 ? id.n : 64;
	if (mask && !b->cfg->show_ids) {
		sb_id_mask(id.p, n, masked);
		return sb_rejects_add(&b->rejects, file, (uint64_t)line, masked, n, reason, false, 0);
	}
	return sb_rejects_add(&b->rejects, file, (uint64_t)line, id.p, n, reason, false, 0);
}

/* Sizes the table and index for the rows a file of `bytes` likely holds
 * (at least 40 bytes a row), so that loading does not grow them step by
 * step: each step copies or rehashes everything so far. */
static sb_status presize(sb_batch *b, long long bytes)
{
	size_t rows = (size_t)(bytes / 40) + 1024;
	b->persons = sb_malloc(rows * sizeof *b->persons);
	if (!b->persons)
		return SB_ENOMEM;
	b->cappersons = rows;
	/* The row estimate is generous (short rows), so a load of up to
	 * two thirds of it keeps the real load near a half; every slot of
	 * the index is touched, so it is resident whatever its size. */
	size_t cap = 1024;
	while (cap < rows * 3 / 2)
		cap *= 2;
	b->index = sb_huge_alloc(cap * sizeof *b->index);
	if (!b->index)
		return SB_ENOMEM;
	b->index_mask = cap - 1;
	return SB_OK;
}

#define PERSON_BATCH 16

/* Finds or inserts each person in one probe; a person listed twice is
 * rejected at its own line, the first listing kept. */
static sb_status insert_persons(sb_batch *b, const sb_bperson *batch, int n)
{
	if ((b->npersons + (size_t)n) * 2 > b->index_mask && grow_index(b))
		return SB_ENOMEM;
	if (b->npersons + (size_t)n > b->cappersons) {
		size_t cap = b->cappersons ? b->cappersons * 2 : 4096;
		sb_bperson *v = sb_realloc(b->persons, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		b->persons = v;
		b->cappersons = cap;
	}
	for (int i = 0; i < n; i++) {
		const sb_bperson *p = &batch[i];
		size_t h = sb_batch_hash(p->key) & b->index_mask;
		while (b->index[h].v && (b->index[h].key != p->key || b->index[h].pseudo != p->pseudo))
			h = (h + 1) & b->index_mask;
		if (b->index[h].v) {
			char text[SB_ID_LEN + 1];
			sb_batch_id_text(p, text);
			sb_csv_field id = {text, SB_ID_LEN};
			sb_status st = reject(b, 0, p->line, id, true,
					      "person is listed twice in persons.csv (first at line %llu)",
					      (unsigned long long)sb_dist_line(
						      b->cfg, 0, b->persons[b->index[h].v - 1].line));
			if (st)
				return st;
			continue;
		}
		b->persons[b->npersons++] = *p;
		b->index[h].key = p->key;
		b->index[h].pseudo = p->pseudo;
		b->index[h].v = (uint32_t)b->npersons;
	}
	return SB_OK;
}

static sb_status load_persons(sb_batch *b, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(b->cfg->persons_path, &c, d);
	if (st)
		return st;
	struct stat sbuf;
	if (!stat(b->cfg->persons_path, &sbuf) && presize(b, (long long)sbuf.st_size)) {
		sb_csv_free(c);
		return oom(d);
	}
	int col[SB_PCOL_N];
	if ((st = sb_io_map(c, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, d))) {
		sb_csv_free(c);
		return st;
	}
	int r;
	uint32_t last_hh = 0;
	sb_bperson batch[PERSON_BATCH];
	int nbatch = 0;
	char why[512];
	while ((r = sb_csv_next(c, d)) != 0) {
		if (r == -2) {
			st = d->code;
			break;
		}
		long line = sb_csv_line(c);
		b->person_rows++;
		if (r < 0) {
			char msg[900];
			snprintf(msg, sizeof msg, "%s", d->message);
			if ((st = reject(b, 0, line, sb_io_record_id(c, col[SB_PCOL_ID]), true,
					 "malformed CSV record: %s", msg)))
				break;
			continue;
		}
		sb_csv_field id = field(c, col[SB_PCOL_ID]);
		sb_person_row row;
		const char *reason = sb_person_row_read(c, col, &row, why, sizeof why);
		const sb_policy *pol = reason ? NULL : sb_policyset_find(b->set, row.region);
		if (!reason && !pol) {
			snprintf(why, sizeof why,
				 "region %s has no policy: add %s.yaml to the policy folder",
				 row.region, row.region);
			reason = why;
		}
		if (reason) {
			if ((st = reject(b, 0, line, id, true, "%s", reason)))
				break;
			continue;
		}
		sb_bperson p;
		memset(&p, 0, sizeof p);
		p.key = row.key;
		p.pseudo = (uint8_t)row.pseudo;
		p.birth = row.pseudo ? SB_BIRTH_UNKNOWN : row.birth;
		p.line = (uint32_t)line;
		p.tier = -1;
		p.income = row.has_income ? row.income : -1;
		p.employment = row.employment;
		p.scheme = row.scheme;
		p.region = (uint32_t)atoi(row.region);
		p.continuous_years = (int8_t)row.continuous_years;
		p.claimless_years = (int8_t)row.claimless_years;
		p.uncovered_years = (int8_t)row.uncovered_years;
		p.enrolled_from = row.enrolled_from;
		for (size_t i = 0; i < sb_policyset_count(b->set); i++)
			if (sb_policyset_at(b->set, i) == pol)
				p.policy = (uint16_t)i;
		sb_csv_field f = row.tier;
		if (f.n)
			p.tier = (int8_t)sb_policyset_symbol(b->set, SB_SYM_TIER, f.p, f.n);
		f = row.household;
		if (f.n && last_hh && f.n == strlen(b->households[last_hh - 1]) &&
		    !memcmp(f.p, b->households[last_hh - 1], f.n)) {
			p.household = last_hh; /* members usually come one after another */
		} else if (f.n && !(p.household = household(b, f.p, f.n))) {
			st = oom(d);
			break;
		}
		last_hh = p.household;
		/* The index is far larger than the caches: prefetch this
		 * person's slot now and insert a batch of persons at a time. */
		__builtin_prefetch(&b->index[sb_batch_hash(p.key) & b->index_mask]);
		batch[nbatch++] = p;
		if (nbatch == PERSON_BATCH) {
			if ((st = insert_persons(b, batch, nbatch)))
				break;
			nbatch = 0;
		}
	}
	if (!st && nbatch)
		st = insert_persons(b, batch, nbatch);
	if (st == SB_ENOMEM)
		oom(d);
	sb_csv_free(c);
	return st;
}

typedef struct ident_row {
	uint32_t person;
	uint32_t line;
	sb_ident ident;
} ident_row;

static int cmp_ident_rows(const void *a, const void *b)
{
	const ident_row *x = a, *y = b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->ident.from != y->ident.from)
		return x->ident.from < y->ident.from ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static sb_status load_identities(sb_batch *b, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(b->cfg->identities_path, &c, d);
	if (st)
		return st;
	int col[SB_ICOL_N];
	if ((st = sb_io_map(c, "identities.csv", sb_identities_columns, SB_ICOL_N, true, col, d))) {
		sb_csv_free(c);
		return st;
	}
	ident_row *rows = NULL;
	size_t n = 0, cap = 0;
	int r;
	char why[1024];
	while ((r = sb_csv_next(c, d)) != 0) {
		if (r == -2) {
			st = d->code;
			break;
		}
		long line = sb_csv_line(c);
		b->identity_rows++;
		if (r < 0) {
			char msg[900];
			snprintf(msg, sizeof msg, "%s", d->message);
			if ((st = reject(b, 1, line, sb_io_record_id(c, col[SB_ICOL_PERSON]), true,
					 "malformed CSV record: %s", msg)))
				break;
			continue;
		}
		sb_csv_field id = field(c, col[SB_ICOL_PERSON]);
		sb_identity_row ir;
		if (sb_identity_row_read(c, col, b->set, &ir, why, sizeof why) != SB_IROW_OK) {
			if ((st = reject(b, 1, line, id, true, "%s", why)))
				break;
			continue;
		}
		long person = sb_batch_find_person(b, id.p, id.n);
		if (person < 0) {
			if ((st = reject(b, 1, line, id, true,
					 "unknown person: not enrolled in persons.csv (or rejected there)")))
				break;
			continue;
		}
		ident_row row;
		row.person = (uint32_t)person;
		row.line = (uint32_t)line;
		row.ident.sym = ir.sym;
		row.ident.from = ir.from;
		row.ident.to = ir.to;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ident_row *v = sb_realloc(rows, cap * sizeof *v);
			if (!v) {
				st = SB_ENOMEM;
				break;
			}
			rows = v;
		}
		rows[n++] = row;
	}
	sb_csv_free(c);
	if (!st && n) {
		qsort(rows, n, sizeof *rows, cmp_ident_rows);
		b->idents = sb_malloc(n * sizeof *b->idents);
		if (!b->idents)
			st = SB_ENOMEM;
	}
	for (size_t i = 0; !st && i < n; i++) {
		sb_bperson *p = &b->persons[rows[i].person];
		if (p->nidents == SB_MAX_PERSON_IDENTITIES) {
			sb_csv_field none = {"", 0};
			char masked[SB_ID_LEN + 1];
			sb_batch_id_text(p, masked);
			sb_csv_field idf = {masked, SB_ID_LEN};
			(void)none;
			st = reject(b, 1, rows[i].line, idf, true,
				    "more than %d identity intervals for one person",
				    SB_MAX_PERSON_IDENTITIES);
			continue;
		}
		if (!p->nidents)
			p->ident_off = (uint32_t)b->nidents;
		b->idents[b->nidents++] = rows[i].ident;
		p->nidents++;
	}
	sb_free(rows);
	if (st == SB_ENOMEM)
		oom(d);
	return st;
}

sb_status sb_batch_load_people(sb_batch *b, sb_diag *d)
{
	sb_status st = load_persons(b, d);
	if (!st) {
		b->hh_members = sb_calloc(b->nhouseholds + 1, sizeof *b->hh_members);
		if (!b->hh_members)
			return oom(d);
		for (size_t i = 0; i < b->npersons; i++)
			if (b->persons[i].household)
				b->hh_members[b->persons[i].household - 1]++;
	}
	if (!st && b->cfg->identities_path)
		st = load_identities(b, d);
	return st;
}

void sb_batch_release_people(sb_batch *b)
{
	sb_free(b->persons);
	if (b->index)
		sb_huge_free(b->index, (b->index_mask + 1) * sizeof *b->index);
	for (size_t i = 0; i < b->nhouseholds; i++)
		sb_free(b->households[i]);
	sb_free(b->households);
	sb_free(b->hh_index);
	sb_free(b->hh_members);
	sb_free(b->idents);
	sb_rejects_release(&b->rejects);
}

void sb_batch_person(const sb_batch *b, uint32_t i, sb_person *p)
{
	const sb_bperson *bp = &b->persons[i];
	sb_batch_id_text(bp, p->id);
	sb_region_text(bp->region, p->region);
	p->region[6] = '\0';
	p->birth = bp->birth;
	p->scheme = bp->scheme;
	p->employment = bp->employment;
	p->tier = bp->tier;
	p->nidents = bp->nidents;
	p->continuous_years = bp->continuous_years;
	p->claimless_years = bp->claimless_years;
	p->uncovered_years = bp->uncovered_years;
	p->enrolled_from = bp->enrolled_from;
	if (bp->nidents) /* idents is NULL when identities.csv has no rows */
		memcpy(p->idents, b->idents + bp->ident_off, bp->nidents * sizeof *p->idents);
}
