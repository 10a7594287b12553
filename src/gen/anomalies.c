/* anomalies.c: `sanbao gen --anomalies RATE`: the national platform's
 * extract of what was paid on the synthetic province, with anomalies of
 * every kind `sanbao audit` detects planted in it, and the key of what was
 * planted.
 *
 * After gen has written the province, its claims are read back (claims.csv,
 * mapped), persons are drawn in a seeded order and each drawn person gets
 * one planted anomaly, kinds in turn:
 *
 *   duplicate (visit)     the person's last claim settled again under a new id
 *   duplicate (mdtrt_id)  a claim under the visit id of the last claim, 90% of it
 *   split_stay            a stay at the facility of the last stay, admitted 5 days
 *                         after its discharge
 *   overlap (stay)        a stay at another hospital admitted 2 days before the
 *                         last stay's discharge
 *   overlap (outpatient)  the last stay given an admission 3 days before its
 *                         discharge, and an outpatient visit elsewhere during it
 *   overpaid, underpaid   a layer's payment raised or lowered by 0.01-100.00
 *   assistance_ineligible a layer that requires an identity paid to a person who
 *                         holds none
 *
 * and one facility's stays at one level are made three times as dear
 * (cost_outlier). The extract's claims (claims.csv's, the added ones, with
 * mdtrt_id and begin columns) are settled through the batch, so every
 * payment in the extract is the core's own, then the payment anomalies are
 * applied. A rate of 0 writes the clean extract. Outputs: extract.csv
 * (actual_<layer> columns) and anomalies.csv (the key: kind, claim, related
 * claim, person masked, facility, layer, what was changed, amount at risk
 * when it is fixed by the planting). Same bytes for a seed, whatever the
 * thread count.
 */
#define _GNU_SOURCE /* qsort_r */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "gen/gen_int.h"
#include "policy/policy_int.h"
#include "sanbao/batch.h"
#include "sanbao/csv.h"
#include "sanbao/gen.h"

enum {
	K_DUP_VISIT,
	K_DUP_MDTRT,
	K_SPLIT,
	K_OVERLAP_STAY,
	K_OVERLAP_OPD,
	K_PRE, /* kinds above are added claims, planted before the settlement */
	K_OVERPAID = K_PRE,
	K_UNDERPAID,
	K_ASSIST,
	K_PERSON_KINDS,
	K_COST = K_PERSON_KINDS,
	K_KINDS
};

static const char *const kind_rule[K_KINDS] = {
	"duplicate",    "duplicate", "split_stay", "overlap",
	"overlap",      "overpaid",  "underpaid",  "assistance_ineligible",
	"cost_outlier",
};

const char *sb_gen_anomaly_name(int k)
{
	static const char *const names[K_KINDS] = {
		"duplicate (visit)", "duplicate (mdtrt_id)",  "split_stay",
		"overlap (stay)",    "overlap (outpatient)",  "overpaid",
		"underpaid",         "assistance_ineligible", "cost_outlier",
	};
	return k >= 0 && k < K_KINDS ? names[k] : "?";
}

/* Claims columns the planting reads or rewrites. */
enum {
	C_ID,
	C_PERSON,
	C_DATE,
	C_VISIT,
	C_LEVEL,
	C_FACILITY,
	C_TOTAL,
	C_IN,
	C_PRE,
	C_OVER,
	C_OUT,
	C_N
};
static const char *const col_name[C_N] = { "id",          "person",     "date",        "visit",
					   "level",       "facility",   "total",       "in_scope",
					   "pre_selfpay", "over_limit", "out_of_scope" };

#define MAX_FIELDS 64
#define MAX_LAYERS 64
#define NO_DATE INT32_MIN

typedef struct row {
	const char *p; /* the line without its line feed */
	uint32_t len;
	uint32_t person;
	sb_date date;
	sb_date begin;  /* NO_DATE: not given */
	uint32_t src;   /* an added row: the row it was made from */
	uint32_t first; /* its payments: cells[first .. first + ncells) */
	uint16_t ncells;
	uint8_t inpatient;
	uint8_t kind;    /* K_KINDS: nothing planted */
	uint8_t settled; /* the batch settled it */
	int8_t olayer;   /* a payment replaced: layer, or -1 */
	sb_fen ofen;
	uint32_t region; /* of its settlement */
} row;

typedef struct cell {
	uint8_t layer;
	sb_fen fen;
} cell;

typedef struct person {
	const char *id; /* SB_ID_LEN or shorter, in a row's text */
	uint32_t idlen;
	uint32_t first, n; /* rows ord[first .. first + n) in (date, id) order */
	uint8_t has_identity, used;
} person;

typedef struct plant {
	uint8_t kind;
	uint32_t row, related; /* related UINT32_MAX: none */
	int layer;             /* -1: none */
	sb_fen risk;           /* -1: not fixed by the planting */
	const char *change;    /* arena */
	const char *facility;  /* cost_outlier (arena) */
} plant;

typedef struct ctx {
	const sb_gen_config *cfg;
	sb_diag *d;
	sb_arena arena;
	char *map;
	size_t mapn;
	int col[C_N];
	int ncols;
	const char *head;
	size_t headlen;
	row *rows;
	size_t nrows, cap, norig;
	person *persons;
	size_t npersons, pcap;
	uint32_t *ptable;
	size_t pmask;
	uint32_t *ord;
	cell *cells;
	size_t ncells, cellcap;
	int nlayers;
	char layer[MAX_LAYERS][48];
	plant *plants;
	size_t nplants, plcap;
	uint64_t rng;
	sb_policyset *set;
	bool oom; /* a text for a planted row could not be made */
} ctx;

static sb_status oom(ctx *c)
{
	return sb_diag_set(c->d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static uint64_t next(ctx *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(ctx *c, uint64_t n)
{
	return n ? next(c) % n : 0;
}

static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* The fields of a line of gen's own claims (no quotes), at most max. */
static int split(const char *p, size_t n, sb_csv_field *f, int max)
{
	int k = 0;
	size_t s = 0;
	for (size_t i = 0; i <= n && k < max; i++)
		if (i == n || p[i] == ',') {
			f[k++] = (sb_csv_field){ p + s, i - s };
			s = i + 1;
		}
	return k;
}

static sb_fen fen_of(sb_csv_field f)
{
	sb_fen v = 0;
	const char *why;
	if (sb_money_parse(f.p, f.n, &v, &why))
		return 0;
	return v;
}

/* ---- reading the province back ----------------------------------------- */

static int64_t person_find(ctx *c, const char *p, size_t n, bool add)
{
	if (!n)
		return -1;
	size_t slot = (size_t)hash(p, n) & c->pmask;
	for (; c->ptable[slot]; slot = (slot + 1) & c->pmask) {
		person *q = &c->persons[c->ptable[slot] - 1];
		if (q->idlen == n && !memcmp(q->id, p, n))
			return c->ptable[slot] - 1;
	}
	if (!add)
		return -1;
	if (c->npersons == c->pcap)
		return -2; /* the table is sized from the rows: never */
	c->persons[c->npersons] = (person){ .id = p, .idlen = (uint32_t)n };
	c->ptable[slot] = (uint32_t)++c->npersons;
	return (int64_t)c->npersons - 1;
}

static sb_status add_row(ctx *c, row r, row **out)
{
	if (c->nrows == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		row *v = sb_realloc(c->rows, nc * sizeof *v);
		if (!v)
			return oom(c);
		c->rows = v;
		c->cap = nc;
	}
	c->rows[c->nrows] = r;
	if (out)
		*out = &c->rows[c->nrows];
	c->nrows++;
	return SB_OK;
}

static sb_status read_claims(ctx *c, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
	}
	c->mapn = (size_t)st.st_size;
	c->map = c->mapn ? mmap(NULL, c->mapn, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (c->mapn && c->map == MAP_FAILED) {
		c->map = NULL;
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot map: %s", strerror(errno));
	}
	const char *p = c->map, *end = c->map + c->mapn;
	const char *nl = p ? memchr(p, '\n', c->mapn) : NULL;
	if (!nl)
		return sb_diag_set(c->d, SB_EINPUT, path, 1, 0, "has no header line");
	c->head = p;
	c->headlen = (size_t)(nl - p);
	sb_csv_field f[MAX_FIELDS];
	c->ncols = split(p, c->headlen, f, MAX_FIELDS);
	for (int k = 0; k < C_N; k++) {
		c->col[k] = -1;
		for (int i = 0; i < c->ncols; i++)
			if (f[i].n == strlen(col_name[k]) && !memcmp(f[i].p, col_name[k], f[i].n))
				c->col[k] = i;
		if (c->col[k] < 0)
			return sb_diag_set(c->d, SB_EINPUT, path, 1, 0, "has no column %s",
					   col_name[k]);
	}
	/* Persons: at most one per row. */
	size_t lines = 0;
	for (const char *q = nl + 1; q < end; q++)
		lines += *q == '\n';
	c->pcap = lines + 1;
	size_t tcap = 64;
	while (tcap < 2 * c->pcap)
		tcap *= 2;
	c->persons = sb_malloc(c->pcap * sizeof *c->persons);
	c->ptable = sb_calloc(tcap, sizeof *c->ptable);
	if (!c->persons || !c->ptable)
		return oom(c);
	c->pmask = tcap - 1;
	long line = 1;
	for (p = nl + 1; p < end; p = nl + 1) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		size_t n = (size_t)(nl - p);
		if (!n)
			continue;
		if (split(p, n, f, MAX_FIELDS) != c->ncols)
			return sb_diag_set(c->d, SB_EINPUT, path, (int)line, 0,
					   "does not have the header's %d fields", c->ncols);
		sb_csv_field pf = f[c->col[C_PERSON]], df = f[c->col[C_DATE]];
		int64_t pi = person_find(c, pf.p, pf.n, true);
		sb_date date;
		const char *why;
		if (pi < 0 || sb_date_parse(df.p, df.n, 0, &date, &why))
			return sb_diag_set(c->d, SB_EINPUT, path, (int)line, 0,
					   "has no person or no date");
		sb_csv_field vf = f[c->col[C_VISIT]];
		row r = { .p = p,
			  .len = (uint32_t)n,
			  .person = (uint32_t)pi,
			  .date = date,
			  .begin = NO_DATE,
			  .src = UINT32_MAX,
			  .kind = K_KINDS,
			  .olayer = -1,
			  .inpatient = vf.n == 9 && !memcmp(vf.p, "inpatient", 9) };
		sb_status s = add_row(c, r, NULL);
		if (s)
			return s;
	}
	c->norig = c->nrows;
	return SB_OK;
}

static sb_status read_identities(ctx *c, const char *path)
{
	sb_csv *csv;
	sb_status st = sb_csv_open(path, &csv, c->d);
	if (st)
		return st;
	int r;
	while ((r = sb_csv_next(csv, c->d)) != 0) {
		if (r == -2) {
			sb_csv_free(csv);
			return SB_EIO;
		}
		if (r < 0)
			continue;
		sb_csv_field f = sb_csv_get(csv, 0);
		int64_t pi = person_find(c, f.p, f.n, false);
		if (pi >= 0)
			c->persons[pi].has_identity = 1;
	}
	sb_csv_free(csv);
	return SB_OK;
}

static sb_csv_field id_of(const ctx *c, const row *r)
{
	sb_csv_field f[MAX_FIELDS];
	split(r->p, r->len, f, MAX_FIELDS);
	return f[c->col[C_ID]];
}

static int cmp_ord(const void *a, const void *b, void *arg)
{
	const ctx *c = arg;
	const row *x = &c->rows[*(const uint32_t *)a], *y = &c->rows[*(const uint32_t *)b];
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	sb_csv_field i = id_of(c, x), j = id_of(c, y);
	size_t n = i.n < j.n ? i.n : j.n;
	int k = memcmp(i.p, j.p, n);
	if (k)
		return k;
	return i.n == j.n ? 0 : i.n < j.n ? -1 : 1;
}

/* Groups the rows by person in the batch's order (date, then id). */
static sb_status group(ctx *c)
{
	sb_free(c->ord);
	if (!(c->ord = sb_malloc((c->nrows ? c->nrows : 1) * sizeof *c->ord)))
		return oom(c);
	for (size_t i = 0; i < c->nrows; i++)
		c->ord[i] = (uint32_t)i;
	qsort_r(c->ord, c->nrows, sizeof *c->ord, cmp_ord, c);
	for (size_t i = 0; i < c->npersons; i++)
		c->persons[i].n = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		person *q = &c->persons[c->rows[c->ord[i]].person];
		if (!q->n++)
			q->first = (uint32_t)i;
	}
	return SB_OK;
}

/* ---- planting ------------------------------------------------------------ */

static sb_status add_plant(ctx *c, plant p)
{
	if (c->nplants == c->plcap) {
		size_t nc = c->plcap ? c->plcap * 2 : 64;
		plant *v = sb_realloc(c->plants, nc * sizeof *v);
		if (!v)
			return oom(c);
		c->plants = v;
		c->plcap = nc;
	}
	c->plants[c->nplants++] = p;
	return SB_OK;
}

static const char *text(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *text(ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	const char *t = sb_arena_strndup(&c->arena, buf,
					 (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	c->oom |= !t;
	return t;
}

/* A row made from src's fields with some replaced (NULL: kept). */
static sb_status derive(ctx *c, uint32_t src, const char *const repl[C_N], uint8_t kind,
			uint32_t *out)
{
	if (c->oom)
		return oom(c); /* a replacement is missing: never plant a half-made row */
	const row *s = &c->rows[src];
	sb_csv_field f[MAX_FIELDS];
	int nf = split(s->p, s->len, f, MAX_FIELDS);
	size_t n = 0;
	for (int i = 0; i < nf; i++) {
		const char *r = NULL;
		for (int k = 0; k < C_N; k++)
			if (c->col[k] == i && repl[k])
				r = repl[k];
		n += (r ? strlen(r) : f[i].n) + 1;
	}
	char *p = sb_arena_alloc(&c->arena, n);
	if (!p)
		return oom(c);
	char *q = p;
	for (int i = 0; i < nf; i++) {
		const char *r = NULL;
		for (int k = 0; k < C_N; k++)
			if (c->col[k] == i && repl[k])
				r = repl[k];
		if (i)
			*q++ = ',';
		size_t m = r ? strlen(r) : f[i].n;
		memcpy(q, r ? r : f[i].p, m);
		q += m;
	}
	row r = *s;
	r.p = p;
	r.len = (uint32_t)(q - p);
	r.src = src;
	r.kind = kind;
	r.begin = NO_DATE;
	r.olayer = -1;
	const char *dt = repl[C_DATE];
	if (dt) {
		const char *why;
		if (sb_date_parse(dt, strlen(dt), 0, &r.date, &why))
			return sb_diag_set(c->d, SB_EINPUT, NULL, 0, 0, "a planted date");
	}
	if (repl[C_VISIT])
		r.inpatient = !strcmp(repl[C_VISIT], "inpatient");
	*out = (uint32_t)c->nrows;
	return add_row(c, r, NULL);
}

static const char *field_dup(ctx *c, uint32_t rw, int col)
{
	sb_csv_field f[MAX_FIELDS];
	const row *r = &c->rows[rw];
	split(r->p, r->len, f, MAX_FIELDS);
	sb_csv_field x = f[c->col[col]];
	const char *t = sb_arena_strndup(&c->arena, x.p, x.n);
	c->oom |= !t;
	return t;
}

static const char *date_text(ctx *c, sb_date d)
{
	char b[11];
	sb_date_format(d, b);
	const char *t = sb_arena_strndup(&c->arena, b, 10);
	c->oom |= !t;
	return t;
}

static const char *fen_text(ctx *c, sb_fen v)
{
	char b[SB_MONEY_BUF];
	size_t n = sb_money_format(v, b);
	const char *t = sb_arena_strndup(&c->arena, b, n);
	c->oom |= !t;
	return t;
}

/* A facility of an inpatient row other than fac, drawn from the rows. */
static const char *other_facility(ctx *c, const char *fac)
{
	for (int tries = 0; tries < 256; tries++) {
		uint32_t k = (uint32_t)below(c, c->norig);
		if (!c->rows[k].inpatient)
			continue;
		const char *f = field_dup(c, k, C_FACILITY);
		if (f && f[0] && strcmp(f, fac))
			return f;
	}
	return NULL;
}

static bool in_year(const ctx *c, sb_date d)
{
	return d >= sb_date_from_ymd(c->cfg->year, 1, 1) &&
	       d < sb_date_from_ymd(c->cfg->year + 1, 1, 1);
}

/* Plants kind k (an added claim) on person p when p fits it. */
static sb_status plant_pre(ctx *c, uint32_t pi, int k, bool *done)
{
	person *p = &c->persons[pi];
	*done = false;
	if (!p->n)
		return SB_OK;
	uint32_t li = c->ord[p->first + p->n - 1];
	row *last = &c->rows[li];
	sb_date prev = p->n > 1 ? c->rows[c->ord[p->first + p->n - 2]].date : NO_DATE;
	const char *repl[C_N] = { 0 };
	const char *id = field_dup(c, li, C_ID), *fac = field_dup(c, li, C_FACILITY);
	if (!id || !fac)
		return oom(c);
	uint32_t nr;
	sb_status st;
	plant pl = { .kind = (uint8_t)k, .related = li, .layer = -1, .risk = -1 };
	sb_date d = last->date;
	char da[11], db[11];
	switch (k) {
	case K_DUP_VISIT:
		repl[C_ID] = text(c, "%sD", id);
		if ((st = derive(c, li, repl, (uint8_t)k, &nr)))
			return st;
		pl.change =
			text(c, "claim %s settled again as %s: same facility, dates and amounts",
			     id, repl[C_ID]);
		break;
	case K_DUP_MDTRT: {
		repl[C_ID] = text(c, "%sM", id);
		sb_csv_field f[MAX_FIELDS];
		split(last->p, last->len, f, MAX_FIELDS);
		sb_fen part[4];
		sb_fen total = 0;
		for (int j = 0; j < 4; j++) {
			part[j] = fen_of(f[c->col[C_IN + j]]) * 9 / 10;
			total += part[j];
			repl[C_IN + j] = fen_text(c, part[j]);
		}
		repl[C_TOTAL] = fen_text(c, total);
		if ((st = derive(c, li, repl, (uint8_t)k, &nr)))
			return st;
		pl.change =
			text(c,
			     "claim %s added under the visit id (mdtrt_id) of claim %s, 90%% of "
			     "its amounts",
			     repl[C_ID], id);
		break;
	}
	case K_SPLIT:
		if (!last->inpatient || !fac[0] || !in_year(c, d + 8))
			return SB_OK;
		repl[C_ID] = text(c, "%sS", id);
		repl[C_DATE] = date_text(c, d + 8);
		if ((st = derive(c, li, repl, (uint8_t)k, &nr)))
			return st;
		c->rows[nr].begin = d + 5;
		sb_date_format(d + 5, da);
		pl.change =
			text(c,
			     "stay %s added at %s, admitted %s (5 days after claim %s's discharge)"
			     " to %s",
			     repl[C_ID], fac, da, id, repl[C_DATE]);
		break;
	case K_OVERLAP_STAY: {
		if (!last->inpatient || !in_year(c, d + 1) || (prev != NO_DATE && prev >= d - 2))
			return SB_OK;
		const char *f2 = other_facility(c, fac);
		if (!f2)
			return SB_OK;
		repl[C_ID] = text(c, "%sO", id);
		repl[C_DATE] = date_text(c, d + 1);
		repl[C_FACILITY] = f2;
		if ((st = derive(c, li, repl, (uint8_t)k, &nr)))
			return st;
		c->rows[nr].begin = d - 2;
		sb_date_format(d - 2, da);
		pl.change = text(c,
				 "stay %s added at %s from %s to %s, while claim %s at %s was in "
				 "hospital to its discharge on %s",
				 repl[C_ID], f2, da, repl[C_DATE], id, fac, date_text(c, d));
		break;
	}
	case K_OVERLAP_OPD: {
		if (!last->inpatient || !fac[0] || (prev != NO_DATE && prev >= d - 3) ||
		    !in_year(c, d - 3))
			return SB_OK;
		const char *f2 = other_facility(c, fac);
		if (!f2)
			return SB_OK;
		repl[C_ID] = text(c, "%sP", id);
		repl[C_DATE] = date_text(c, d - 1);
		repl[C_FACILITY] = f2;
		repl[C_VISIT] = "outpatient";
		repl[C_TOTAL] = "200.00";
		repl[C_IN] = "150.00";
		repl[C_PRE] = "20.00";
		repl[C_OVER] = "0.00";
		repl[C_OUT] = "30.00";
		if ((st = derive(c, li, repl, (uint8_t)k, &nr)))
			return st;
		c->rows[li].begin = d - 3;
		sb_date_format(d - 3, da);
		sb_date_format(d, db);
		pl.change = text(c,
				 "claim %s given the admission date %s (stay %s to %s at %s); "
				 "outpatient claim %s added at %s on %s",
				 id, da, da, db, fac, repl[C_ID], f2, repl[C_DATE]);
		break;
	}
	default:
		return SB_OK;
	}
	if (!pl.change || c->oom)
		return oom(c);
	pl.row = nr;
	if ((st = add_plant(c, pl)))
		return st;
	*done = true;
	return SB_OK;
}

static const cell *cell_of(const ctx *c, const row *r, int layer)
{
	for (uint16_t i = 0; i < r->ncells; i++)
		if (c->cells[r->first + i].layer == layer)
			return &c->cells[r->first + i];
	return NULL;
}

/* A layer of the claim's version that person without identity may not draw
 * on, or -1. */
static int ineligible_layer(ctx *c, const row *r)
{
	char code[7];
	snprintf(code, sizeof code, "%06u", r->region);
	const sb_policy *pol = sb_policyset_find(c->set, code);
	const sb_version *v = pol ? sb_policy_version_at(pol, r->date) : NULL;
	for (uint16_t i = 0; v && i < v->nlayers; i++) {
		if (sb_layer_eligible(&v->layers[i], 0))
			continue;
		const char *name = sb_policyset_symbol_name(c->set, SB_SYM_LAYER, v->layers[i].sym);
		for (int k = 0; name && k < c->nlayers; k++)
			if (!strcmp(c->layer[k], name) && !cell_of(c, r, k))
				return k;
	}
	return -1;
}

/* Plants a payment anomaly of kind k on one of person p's claims. */
static sb_status plant_post(ctx *c, uint32_t pi, int k, bool *done)
{
	person *p = &c->persons[pi];
	*done = false;
	if (!p->n || (k == K_ASSIST && p->has_identity))
		return SB_OK;
	uint32_t start = (uint32_t)below(c, p->n);
	for (uint32_t t = 0; t < p->n; t++) {
		uint32_t ri = c->ord[p->first + (start + t) % p->n];
		row *r = &c->rows[ri];
		if (!r->settled || ri >= c->norig)
			continue;
		int layer = -1;
		sb_fen before = 0, after;
		if (k == K_ASSIST) {
			if ((layer = ineligible_layer(c, r)) < 0)
				continue;
			after = (sb_fen)(50 + below(c, 451)) * 100;
		} else {
			if (!r->ncells)
				continue;
			const cell *e = &c->cells[r->first + below(c, r->ncells)];
			layer = e->layer;
			before = e->fen;
			sb_fen most = k == K_OVERPAID ? 10000 : before < 10000 ? before : 10000;
			sb_fen delta = 1 + (sb_fen)below(c, (uint64_t)most);
			after = k == K_OVERPAID ? before + delta : before - delta;
		}
		r->olayer = (int8_t)layer;
		r->ofen = after;
		plant pl = { .kind = (uint8_t)k,
			     .row = ri,
			     .related = UINT32_MAX,
			     .layer = layer,
			     .risk = after > before ? after - before : before - after };
		char b1[SB_MONEY_BUF], b2[SB_MONEY_BUF];
		sb_money_format(before, b1);
		sb_money_format(after, b2);
		pl.change = text(c, "actual_%s %s -> %s%s", c->layer[layer], b1, b2,
				 k == K_ASSIST ? " (the person holds no identity)" : "");
		if (!pl.change)
			return oom(c);
		*done = true;
		return add_plant(c, pl);
	}
	return SB_OK;
}

/* cost_outlier: the facility with the most stays at the level that has the
 * most facilities of at least 30 stays (at least 5 of them, as the bundled
 * rule file asks), its stays made three times as dear. */
typedef struct fac {
	const char *level, *facility; /* arena */
	uint64_t h;
	uint32_t n;
} fac;

static int cmp_fac(const void *a, const void *b)
{
	const fac *x = a, *y = b;
	int k = strcmp(x->level, y->level);
	if (k)
		return k;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->facility, y->facility);
}

static sb_status plant_cost(ctx *c)
{
	size_t cap = 1024, n = 0;
	fac *v = sb_calloc(cap, sizeof *v);
	uint32_t *tab = NULL;
	size_t mask = 4095;
	sb_status st = SB_OK;
	if (!v || !(tab = sb_calloc(mask + 1, sizeof *tab))) {
		st = oom(c);
		goto out;
	}
	for (size_t i = 0; i < c->norig; i++) {
		const row *r = &c->rows[i];
		if (!r->inpatient)
			continue;
		sb_csv_field f[MAX_FIELDS];
		split(r->p, r->len, f, MAX_FIELDS);
		sb_csv_field lv = f[c->col[C_LEVEL]], fc = f[c->col[C_FACILITY]];
		if (!fc.n)
			continue;
		uint64_t h = hash(fc.p, fc.n) * 31 + hash(lv.p, lv.n);
		size_t slot = (size_t)h & mask;
		for (; tab[slot]; slot = (slot + 1) & mask) {
			fac *e = &v[tab[slot] - 1];
			if (e->h == h && strlen(e->facility) == fc.n &&
			    !memcmp(e->facility, fc.p, fc.n) && strlen(e->level) == lv.n &&
			    !memcmp(e->level, lv.p, lv.n))
				break;
		}
		if (tab[slot]) {
			v[tab[slot] - 1].n++;
			continue;
		}
		if (n * 2 >= mask) {
			st = SB_OK; /* more facilities than the table holds: stop counting */
			break;
		}
		if (n == cap) {
			fac *w = sb_realloc(v, cap * 2 * sizeof *v);
			if (!w) {
				st = oom(c);
				goto out;
			}
			v = w;
			cap *= 2;
		}
		v[n] = (fac){ sb_arena_strndup(&c->arena, lv.p, lv.n),
			      sb_arena_strndup(&c->arena, fc.p, fc.n), h, 1 };
		if (!v[n].level || !v[n].facility) {
			st = oom(c);
			goto out;
		}
		tab[slot] = (uint32_t)++n;
	}
	qsort(v, n, sizeof *v, cmp_fac);
	size_t best = SIZE_MAX, bestn = 0;
	for (size_t i = 0, j; i < n; i = j) {
		size_t big = 0;
		for (j = i; j < n && !strcmp(v[j].level, v[i].level); j++)
			big += v[j].n >= 30;
		if (big >= 5 && big > bestn) {
			best = i;
			bestn = big;
		}
	}
	if (best == SIZE_MAX)
		goto out;
	const fac *e = &v[best];
	uint32_t changed = 0;
	for (size_t i = 0; i < c->norig; i++) {
		row *r = &c->rows[i];
		if (!r->inpatient)
			continue;
		sb_csv_field f[MAX_FIELDS];
		split(r->p, r->len, f, MAX_FIELDS);
		sb_csv_field lv = f[c->col[C_LEVEL]], fc = f[c->col[C_FACILITY]];
		if (fc.n != strlen(e->facility) || memcmp(fc.p, e->facility, fc.n) ||
		    lv.n != strlen(e->level) || memcmp(lv.p, e->level, lv.n))
			continue;
		const char *repl[C_N] = { 0 };
		for (int k = C_TOTAL; k <= C_OUT; k++)
			repl[k] = fen_text(c, fen_of(f[c->col[k]]) * 3);
		uint32_t nr;
		if ((st = derive(c, (uint32_t)i, repl, K_KINDS, &nr)))
			goto out;
		/* derive appended the new text as a row: move it in place. */
		c->rows[i].p = c->rows[nr].p;
		c->rows[i].len = c->rows[nr].len;
		c->nrows--;
		changed++;
	}
	st = add_plant(c, (plant){ .kind = K_COST,
				   .row = UINT32_MAX,
				   .related = UINT32_MAX,
				   .layer = -1,
				   .risk = -1,
				   .facility = e->facility,
				   .change = text(c,
						  "the %u inpatient claims at level %s made three "
						  "times as dear (every amount x3)",
						  changed, e->level) });
	if (!st && c->oom)
		st = oom(c);
out:
	sb_free(v);
	sb_free(tab);
	return st;
}

/* ---- files --------------------------------------------------------------- */

static sb_status path_of(ctx *c, char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		return sb_diag_set(c->d, SB_ELIMIT, dir, 0, 0, "path to %s is too long", name);
	return SB_OK;
}

static void put(FILE *f, const char *p, size_t n)
{
	fwrite(p, 1, n, f);
}

static void put_s(FILE *f, const char *s)
{
	fputs(s, f);
}

static void put_fen(FILE *f, sb_fen v)
{
	char b[24];
	char *e = sb_fen_put(b, v);
	fwrite(b, 1, (size_t)(e - b), f);
}

/* claims (extract rows without payments) or, with pay, the extract. */
static sb_status write_rows(ctx *c, const char *path, bool pay)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	put(f, c->head, c->headlen);
	put_s(f, ",mdtrt_id,begin");
	for (int k = 0; pay && k < c->nlayers; k++) {
		put_s(f, ",actual_");
		put_s(f, c->layer[k]);
	}
	put_s(f, "\n");
	for (size_t i = 0; i < c->nrows; i++) {
		const row *r = &c->rows[i];
		put(f, r->p, r->len);
		put_s(f, ",M");
		sb_csv_field id = id_of(c, r->kind == K_DUP_MDTRT ? &c->rows[r->src] : r);
		put(f, id.p, id.n);
		put_s(f, ",");
		if (r->begin != NO_DATE) {
			char b[11];
			sb_date_format(r->begin, b);
			put(f, b, 10);
		}
		for (int k = 0; pay && k < c->nlayers; k++) {
			put_s(f, ",");
			if (!r->settled)
				continue;
			const cell *e = cell_of(c, r, k);
			put_fen(f, r->olayer == k ? r->ofen : e ? e->fen : 0);
		}
		put_s(f, "\n");
	}
	if (ferror(f) | fclose(f))
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	return SB_OK;
}

static uint32_t parse_region(sb_csv_field f)
{
	uint32_t v = 0;
	for (size_t i = 0; i < f.n && i < 6; i++)
		if (f.p[i] >= '0' && f.p[i] <= '9')
			v = v * 10 + (uint32_t)(f.p[i] - '0');
	return v;
}

/* What the batch paid on each row, from its settlements.csv. */
static sb_status read_settlements(ctx *c, const char *path)
{
	sb_csv *csv;
	sb_status st = sb_csv_open(path, &csv, c->d);
	if (st)
		return st;
	int nc = (int)sb_csv_ncols(csv), in = -1, fund = -1;
	for (int i = 0; i < nc; i++) {
		sb_csv_field h = sb_csv_header(csv, (size_t)i);
		if (h.n == 8 && !memcmp(h.p, "in_scope", 8))
			in = i;
		if (h.n == 4 && !memcmp(h.p, "fund", 4))
			fund = i;
	}
	if (in < 0 || fund <= in || fund - in - 1 > MAX_LAYERS) {
		sb_csv_free(csv);
		return sb_diag_set(c->d, SB_EINPUT, path, 1, 0, "is not a settlements.csv");
	}
	c->nlayers = fund - in - 1;
	for (int k = 0; k < c->nlayers; k++) {
		sb_csv_field h = sb_csv_header(csv, (size_t)(in + 1 + k));
		snprintf(c->layer[k], sizeof c->layer[k], "%.*s", (int)h.n, h.p);
	}
	uint32_t *seen = sb_calloc(c->npersons ? c->npersons : 1, sizeof *seen);
	if (!seen) {
		sb_csv_free(csv);
		return oom(c);
	}
	int r;
	while (!st && (r = sb_csv_next(csv, c->d)) != 0) {
		if (r == -2) {
			st = SB_EIO;
			break;
		}
		if (r < 0)
			continue;
		sb_csv_field idf = sb_csv_get(csv, 0), pf = sb_csv_get(csv, 1);
		int64_t pi = person_find(c, pf.p, pf.n, false);
		if (pi < 0)
			continue;
		person *p = &c->persons[pi];
		/* Settlements come in the batch's order of the person's claims,
		 * which is ord's: the next one, else a search. */
		uint32_t ri = UINT32_MAX;
		for (uint32_t t = 0; t < p->n && ri == UINT32_MAX; t++) {
			uint32_t k = c->ord[p->first + (seen[pi] + t) % p->n];
			sb_csv_field id = id_of(c, &c->rows[k]);
			if (id.n == idf.n && !memcmp(id.p, idf.p, id.n))
				ri = k;
		}
		seen[pi]++;
		if (ri == UINT32_MAX)
			continue;
		row *rw = &c->rows[ri];
		rw->settled = 1;
		rw->region = parse_region(sb_csv_get(csv, 2));
		rw->first = (uint32_t)c->ncells;
		for (int k = 0; k < c->nlayers; k++) {
			sb_fen v = fen_of(sb_csv_get(csv, (size_t)(in + 1 + k)));
			if (!v)
				continue;
			if (c->ncells == c->cellcap) {
				size_t ncap = c->cellcap ? c->cellcap * 2 : 4096;
				cell *w = sb_realloc(c->cells, ncap * sizeof *w);
				if (!w) {
					st = oom(c);
					break;
				}
				c->cells = w;
				c->cellcap = ncap;
			}
			c->cells[c->ncells++] = (cell){ (uint8_t)k, v };
			rw->ncells++;
		}
	}
	sb_free(seen);
	sb_csv_free(csv);
	return st;
}

static sb_status remove_tree(ctx *c, const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return SB_OK;
	struct dirent *e;
	char p[PATH_MAX];
	while ((e = readdir(dh))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!path_of(c, p, dir, e->d_name))
			unlink(p);
	}
	closedir(dh);
	rmdir(dir);
	return SB_OK;
}

static sb_status write_key(ctx *c, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	put_s(f, "kind,rule,claim,related,person,facility,layer,change,at_risk\n");
	for (size_t i = 0; i < c->nplants; i++) {
		const plant *p = &c->plants[i];
		put_s(f, sb_gen_anomaly_name(p->kind));
		put_s(f, ",");
		put_s(f, kind_rule[p->kind]);
		put_s(f, ",");
		const row *r = p->row != UINT32_MAX ? &c->rows[p->row] : NULL;
		sb_csv_field id = r ? id_of(c, r) : (sb_csv_field){ "", 0 };
		put(f, id.p, id.n);
		put_s(f, ",");
		if (p->related != UINT32_MAX) {
			id = id_of(c, &c->rows[p->related]);
			put(f, id.p, id.n);
		}
		put_s(f, ",");
		if (r) {
			const person *q = &c->persons[r->person];
			char m[64];
			size_t n = q->idlen < sizeof m - 1 ? q->idlen : sizeof m - 1;
			sb_id_mask(q->id, n, m);
			put(f, m, n);
		}
		put_s(f, ",");
		if (r) {
			sb_csv_field fl[MAX_FIELDS];
			split(r->p, r->len, fl, MAX_FIELDS);
			put(f, fl[c->col[C_FACILITY]].p, fl[c->col[C_FACILITY]].n);
		} else if (p->facility) {
			put_s(f, p->facility);
		}
		put_s(f, ",");
		if (p->layer >= 0)
			put_s(f, c->layer[p->layer]);
		put_s(f, ",\"");
		for (const char *s = p->change; *s; s++) {
			if (*s == '"')
				put_s(f, "\"");
			put(f, s, 1);
		}
		put_s(f, "\",");
		sb_fen risk = p->risk;
		if (risk < 0 && r && r->settled &&
		    (p->kind == K_DUP_VISIT || p->kind == K_DUP_MDTRT ||
		     p->kind == K_OVERLAP_STAY || p->kind == K_OVERLAP_OPD)) {
			risk = 0; /* the whole payment of the added claim */
			for (uint16_t k = 0; k < r->ncells; k++)
				risk += c->cells[r->first + k].fen;
		}
		if (risk >= 0)
			put_fen(f, risk);
		put_s(f, "\n");
	}
	if (ferror(f) | fclose(f))
		return sb_diag_set(c->d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
	return SB_OK;
}

/* ---- the run ------------------------------------------------------------- */

sb_status gen_anomalies(const sb_gen_config *cfg, sb_gen_stats *stats, sb_diag *d)
{
	ctx c;
	memset(&c, 0, sizeof c);
	c.cfg = cfg;
	c.d = d;
	sb_arena_init(&c.arena);
	c.rng = cfg->seed ^ 0xa4a1e5ULL << 20;
	char claims[PATH_MAX], persons[PATH_MAX], idents[PATH_MAX], pol[PATH_MAX], tmp[PATH_MAX],
		tclaims[PATH_MAX], settl[PATH_MAX], extract[PATH_MAX], key[PATH_MAX];
	const char *dir = cfg->out_dir;
	sb_status st;
	if ((st = path_of(&c, claims, dir, "claims.csv")) ||
	    (st = path_of(&c, persons, dir, "persons.csv")) ||
	    (st = path_of(&c, idents, dir, "identities.csv")) ||
	    (st = path_of(&c, pol, dir, "policies")) ||
	    (st = path_of(&c, tmp, dir, ".anomalies")) ||
	    (st = path_of(&c, tclaims, tmp, "claims.csv")) ||
	    (st = path_of(&c, settl, tmp, "settlements.csv")) ||
	    (st = path_of(&c, extract, dir, "extract.csv")) ||
	    (st = path_of(&c, key, dir, "anomalies.csv")))
		goto out;
	if ((st = read_claims(&c, claims)) || (st = read_identities(&c, idents)) ||
	    (st = group(&c)))
		goto out;

	/* How many of each kind: RATE of the persons, kinds in turn, at least
	 * one of each when RATE is not 0. */
	uint64_t total = (cfg->persons * (uint64_t)cfg->anomalies_bp + 5000) / 10000;
	uint64_t need[K_PERSON_KINDS];
	for (int k = 0; k < K_PERSON_KINDS; k++) {
		need[k] = total / K_PERSON_KINDS + ((uint64_t)k < total % K_PERSON_KINDS);
		if (cfg->anomalies_bp > 0 && !need[k])
			need[k] = 1;
	}
	uint32_t *order = sb_malloc((c.npersons ? c.npersons : 1) * sizeof *order);
	if (!order) {
		st = oom(&c);
		goto out;
	}
	for (size_t i = 0; i < c.npersons; i++)
		order[i] = (uint32_t)i;
	for (size_t i = c.npersons; i > 1; i--) { /* Fisher-Yates */
		size_t j = (size_t)below(&c, i);
		uint32_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	if (cfg->anomalies_bp > 0 && (st = plant_cost(&c)))
		goto out_order;
	int rr = 0;
	for (size_t i = 0; cfg->anomalies_bp > 0 && i < c.npersons && !st; i++) {
		for (int t = 0; t < K_PRE; t++) {
			int k = (rr + t) % K_PRE;
			bool done = false;
			if (!need[k] || (st = plant_pre(&c, order[i], k, &done)) || !done)
				continue;
			c.persons[order[i]].used = 1;
			need[k]--;
			rr = k + 1;
			break;
		}
	}
	if (st || (st = group(&c)))
		goto out_order;
	/* The extract's claims, settled by the batch. */
	if (mkdir(tmp, 0777) && errno != EEXIST) {
		st = sb_diag_set(d, SB_EIO, tmp, 0, 0, "cannot create folder: %s", strerror(errno));
		goto out_order;
	}
	if ((st = write_rows(&c, tclaims, false)))
		goto out_tmp;
	sb_batch_config b;
	memset(&b, 0, sizeof b);
	b.policies_dir = pol;
	b.persons_path = persons;
	b.identities_path = idents;
	b.claims_path = tclaims;
	b.out_dir = tmp;
	b.threads = cfg->threads;
	sb_batch_totals bt;
	if ((st = sb_batch_settle(&b, &bt, d)) || (st = read_settlements(&c, settl)))
		goto out_tmp;
	if ((st = sb_policyset_new(&c.set)) || (st = sb_policyset_load_dir(c.set, pol, d)))
		goto out_tmp;
	rr = 0;
	for (size_t i = 0; cfg->anomalies_bp > 0 && i < c.npersons && !st; i++) {
		if (c.persons[order[i]].used)
			continue;
		for (int t = 0; t < K_PERSON_KINDS - K_PRE; t++) {
			int k = K_PRE + (rr + t) % (K_PERSON_KINDS - K_PRE);
			bool done = false;
			if (!need[k] || (st = plant_post(&c, order[i], k, &done)) || !done)
				continue;
			c.persons[order[i]].used = 1;
			need[k]--;
			rr = k - K_PRE + 1;
			break;
		}
	}
	if (!st)
		st = write_rows(&c, extract, true);
	if (!st)
		st = write_key(&c, key);
	if (!st && stats) {
		stats->extract_rows = c.nrows;
		stats->extract_rejected = (uint64_t)bt.rejected;
		for (size_t i = 0; i < c.nplants; i++)
			stats->anomalies[c.plants[i].kind]++;
	}
out_tmp:
	remove_tree(&c, tmp);
out_order:
	sb_free(order);
out:
	if (c.set)
		sb_policyset_free(c.set);
	if (c.map)
		munmap(c.map, c.mapn);
	sb_free(c.rows);
	sb_free(c.persons);
	sb_free(c.ptable);
	sb_free(c.ord);
	sb_free(c.cells);
	sb_free(c.plants);
	sb_arena_release(&c.arena);
	return st;
}
