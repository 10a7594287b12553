/* settlements.c: settlements.csv of `sanbao settle` summed by region, year,
 * fund and layer, by several threads over shares of the file cut at line
 * starts, each with its own sums (integers, merged at the end, so the
 * result is the same for any thread count). A row that does not add up or
 * names a person, region or year fund does not know stops the run with its
 * line in the file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fund/fund_int.h"
#include "io/ranges.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

static sb_csv_field cell(const sb_csv *c, int col)
{
	sb_csv_field f = { "", 0 };
	return col < 0 ? f : sb_csv_get(c, (size_t)col);
}

static sb_status row_error(const sb_csv *c, sb_diag *d, const char *fmt, const char *what)
{
	return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0, fmt, what);
}

static size_t sb_csv_ncols_of(const fund_run *r)
{
	return r->settlement_cols;
}

static bool is_assist_layer(const sb_funding *f, uint64_t key)
{
	for (uint16_t i = 0; i < f->nassist_layers; i++)
		if (f->assist_layers[i] == key)
			return true;
	return false;
}

static const char *layer_fund_code(const sb_policyset *set, const char *id)
{
	for (size_t i = 0; i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t v = 0; v < p->nversions; v++)
			for (uint16_t l = 0; l < p->versions[v].nlayers; l++) {
				const sb_layer *x = &p->versions[v].layers[l];
				if (!strcmp(x->id, id))
					return x->fund_code ? x->fund_code : "";
			}
	}
	return "";
}

static sb_status money(const sb_csv *c, sb_csv_field f, const char *what, sb_fen *out, sb_diag *d)
{
	const char *why;
	/* Most layer cells of a settlement are 0.00: that first; the rest
	 * through the one parser (its fast path reads settle's spelling). */
	if (!f.n || (f.n == 4 && !memcmp(f.p, "0.00", 4))) {
		*out = 0;
		return SB_OK;
	}
	if (sb_money_parse(f.p, f.n, out, &why) == SB_OK)
		return SB_OK;
	char shown[SB_IO_SHOWN];
	return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			   "%s \"%s\" %s: settlements.csv is read as `sanbao settle` writes it",
			   what, sb_io_shown(f.p, f.n, shown), why);
}

/* The key of a settlement's person: a resident ID's 17 digits with its
 * check character, read without sb_person_key's date checks (the persons
 * row it must match passed them), else sb_person_key. */
static bool settlement_key(sb_csv_field f, uint64_t *key, int *pseudo)
{
	if (f.n == SB_ID_LEN && f.p[0] != 'P') {
		static const unsigned char weight[17] = { 7, 9, 10, 5,  8, 4, 2, 1, 6,
							  3, 7, 9,  10, 5, 8, 4, 2 };
		uint64_t v = 0;
		unsigned sum = 0;
		for (int i = 0; i < 17; i++) {
			unsigned dg = (unsigned)(f.p[i] - '0');
			if (dg > 9)
				return false;
			v = v * 10 + dg;
			sum += dg * weight[i];
		}
		if ("10X98765432"[sum % 11] != f.p[17])
			return false;
		*key = v;
		*pseudo = 0;
		return true;
	}
	const char *why;
	return sb_person_key(f.p, f.n, key, pseudo, NULL, &why) == SB_OK;
}

static sb_status open_settlements(fund_run *r, sb_csv **out, int *col, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(r->cfg->settlements_path, &c, d);
	if (st)
		return st;
	static const int need[] = { SB_SCOL_PERSON,   SB_SCOL_REGION, SB_SCOL_DATE, SB_SCOL_TOTAL,
				    SB_SCOL_IN_SCOPE, SB_SCOL_FUND,   SB_SCOL_OOP };
	st = sb_io_map(c, "settlements.csv", sb_settlements_columns, SB_SCOL_N, false, col, d);
	for (size_t i = 0; !st && i < sizeof need / sizeof need[0]; i++)
		if (col[need[i]] < 0)
			st = sb_io_missing(c, "settlements.csv", &sb_settlements_columns[need[i]],
					   d);
	if (st) {
		sb_csv_free(c);
		return st;
	}
	*out = c;
	return SB_OK;
}

/* The policy year of the dates seen in each region, in a small
 * direct-mapped table per region (a province's settlements span a few
 * hundred days, each seen thousands of times), after pc[0], whose
 * region_of maps a 6-digit code to its region's index + 1. */
#define DATE_SLOTS 1024

typedef struct date_slot {
	uint32_t ymd; /* YYYYMMDD, 0 empty */
	int year;
} date_slot;

typedef struct place_cache {
	uint16_t *region_of;
	date_slot *dates; /* [nregions][DATE_SLOTS] */
} place_cache;

/* A date written YYYY-MM-DD as the number YYYYMMDD, else 0. */
static uint32_t ymd_of(sb_csv_field f)
{
	if (f.n != 10 || f.p[4] != '-' || f.p[7] != '-')
		return 0;
	uint32_t v = 0;
	for (size_t i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		unsigned dg = (unsigned)(f.p[i] - '0');
		if (dg > 9)
			return 0;
		v = v * 10 + dg;
	}
	return v;
}

static sb_status row_place(fund_run *r, const sb_csv *c, const int *col, fregion **g, int *year,
			   place_cache *pc, sb_diag *d)
{
	sb_csv_field fr = cell(c, col[SB_SCOL_REGION]), fd = cell(c, col[SB_SCOL_DATE]);
	uint32_t code = 0;
	for (size_t i = 0; i < fr.n && fr.n == 6; i++)
		code = fr.p[i] >= '0' && fr.p[i] <= '9' ? code * 10 + (uint32_t)(fr.p[i] - '0') :
							  UINT32_MAX / 16;
	uint32_t ymd = ymd_of(fd);
	date_slot *e = NULL;
	*g = fr.n == 6 && code < 1000000 && pc->region_of[code] ?
		     &r->regions[pc->region_of[code] - 1] :
		     NULL;
	if (*g && ymd) {
		e = &pc->dates[(size_t)(*g - r->regions) * DATE_SLOTS + ((ymd * 2654435761u) >> 22)];
		if (e->ymd == ymd) {
			*year = e->year;
			return SB_OK;
		}
	}
	char text[7] = "";
	char shown[SB_IO_SHOWN];
	const char *why;
	if (fr.n == 6) {
		memcpy(text, fr.p, 6);
		text[6] = '\0';
	}
	if (!*g && (fr.n != 6 || !(*g = sb_fund_region(r, text))))
		return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
				   "region \"%s\" has no policy among --policies: give the policies "
				   "the settlement used",
				   sb_io_shown(fr.p, fr.n, shown));
	sb_date date;
	if (sb_date_parse(fd.p, fd.n, 1, &date, &why))
		return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
				   "date \"%s\" %s", sb_io_shown(fd.p, fd.n, shown), why);
	const sb_version *v = sb_policy_version_at((*g)->pol, date);
	if (!v)
		return sb_diag_set(
			d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			"no version of region %s's policy is in force on this claim's date",
			(*g)->code);
	*year = sb_version_policy_year(v, date);
	if (ymd) {
		e = &pc->dates[(size_t)(*g - r->regions) * DATE_SLOTS + ((ymd * 2654435761u) >> 22)];
		e->ymd = ymd;
		e->year = *year;
	}
	if (code < 1000000)
		pc->region_of[code] = (uint16_t)(*g - r->regions + 1);
	return SB_OK;
}

/* ---- settlements.csv on several threads ---------------------------------------- */

/* What one thread sums from its share of settlements.csv, by region and
 * year slot; merged into the regions when every thread is done. The sums
 * are integers, so the result is the same for any thread count. */
typedef struct stally {
	sb_fen spending[SB_FUND_SCHEMES];
	long long claims[SB_FUND_SCHEMES];
	long long rows[2];
	sb_fen total[2], in_scope[2], pooled[2];
	sb_fen benefit[FG_N], assistance[FG_N];
} stally;

typedef struct sworker {
	fund_run *r;
	pthread_mutex_t *lock; /* the year slots and their oop tables */
	const int *col;
	int64_t start, end;
	bool whole; /* one reader over the whole file */
	stally *t;  /* [region][FUND_NY] */
	sb_fen *layer_paid;
	long long *layer_claims;
	const sb_funding **fund; /* [region][FUND_NY], once known */
	bool *fund_known;
	place_cache *pc;
	int nlocal, lyear[FUND_NY], lslot[FUND_NY];
	sb_fen settled;
	long long rows;
	long lines;
	bool overflow;
	size_t cur;       /* the last row's person in r->seq, SIZE_MAX before the first */
	char last_id[32]; /* and its person cell as written, last_n bytes (0: none) */
	size_t last_n;
	sb_status st;
	sb_diag d;
} sworker;

/* How far on in persons.csv's order the next row's person is looked for
 * before a search: settle writes the persons in that order, so a row's
 * person is the last row's or one a few places on (persons without claims
 * in between). */
#define SEQ_WINDOW 512

static const fseq *find_person(sworker *w, uint64_t key, int pseudo)
{
	const fund_run *r = w->r;
	uint8_t ps = pseudo ? 0x80 : 0;
	if (w->cur != SIZE_MAX) {
		size_t end = r->npersons - w->cur > SEQ_WINDOW ? w->cur + SEQ_WINDOW : r->npersons;
		const fseq *s = r->seq;
		for (size_t k = w->cur; k < end;) {
			/* four keys a step, one branch */
			if (k + 4 <= end && s[k].key != key && s[k + 1].key != key &&
			    s[k + 2].key != key && s[k + 3].key != key) {
				k += 4;
				continue;
			}
			if (s[k].key == key && (s[k].flags & 0x80) == ps) {
				w->cur = k;
				return &s[k];
			}
			k++;
		}
	}
	fperson *p = sb_fund_find_person(w->r, key, pseudo);
	if (!p)
		return NULL;
	w->cur = r->seq_of[p - r->persons];
	return &r->seq[w->cur];
}

static sb_status year_slot(sworker *w, int year, const sb_csv *c, int *y, sb_diag *d)
{
	for (int i = 0; i < w->nlocal; i++)
		if (w->lyear[i] == year) {
			*y = w->lslot[i];
			return SB_OK;
		}
	fund_run *r = w->r;
	pthread_mutex_lock(w->lock);
	sb_status st = sb_fund_add_year(r, year, y, c, d);
	if (!st && !r->oop[*y] &&
	    !(r->oop[*y] = sb_calloc(r->npersons ? r->npersons : 1, sizeof *r->oop[*y])))
		st = oom(d);
	pthread_mutex_unlock(w->lock);
	if (st)
		return st;
	w->lyear[w->nlocal] = year;
	w->lslot[w->nlocal++] = *y;
	return SB_OK;
}

static sb_status overflowed(const sb_csv *c, sb_diag *d)
{
	return sb_diag_set(d, SB_ELIMIT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			   "the amounts add up to more than a 64-bit sum of fen");
}

static sb_status settle_row(sworker *w, const sb_csv *c, sb_diag *d)
{
	fund_run *r = w->r;
	const int *col = w->col;
	fregion *g;
	int year = 0, y;
	sb_status st;
	if ((st = row_place(r, c, col, &g, &year, w->pc, d)) || (st = year_slot(w, year, c, &y, d)))
		return st;
	sb_csv_field fp = cell(c, col[SB_SCOL_PERSON]);
	uint64_t key;
	int pseudo;
	const fseq *p = NULL;
	/* the last row's person, written the same: no reading again */
	if (w->last_n && fp.n == w->last_n && !memcmp(fp.p, w->last_id, fp.n)) {
		p = &r->seq[w->cur];
	} else {
		if (!settlement_key(fp, &key, &pseudo) || !(p = find_person(w, key, pseudo)))
			return row_error(c, d,
					 "the person of this settlement is not in %s: give fund the "
					 "persons file the settlement used",
					 r->cfg->persons_path);
		w->last_n = fp.n <= sizeof w->last_id ? fp.n : 0;
		if (w->last_n)
			memcpy(w->last_id, fp.p, fp.n);
	}
	if (&r->regions[p->region] != g)
		return sb_diag_set(d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
				   "the settlement is in region %s but persons.csv enrols the person "
				   "in %s (line %u)",
				   g->code, r->regions[p->region].code,
				   (unsigned)r->persons[p->index].line);
	size_t ri = (size_t)(g - r->regions), ry = ri * FUND_NY + (size_t)y;
	if (!w->fund_known[ry]) {
		w->fund[ry] = sb_policy_funding(g->pol, year);
		w->fund_known[ry] = true;
	}
	const sb_funding *f = w->fund[ry];
	if (!f)
		return sb_diag_set(d, SB_EPOLICY, sb_policy_path(g->pol), 0, 0,
				   "region %s has no funding in force for policy year %d: add a "
				   "`funding` entry (docs/policy-format.md, Funding)",
				   g->code, year);
	sb_fen total, in_scope, fund, oop, sum = 0, pooled = 0, assist = 0;
	if ((st = money(c, cell(c, col[SB_SCOL_TOTAL]), "total", &total, d)) ||
	    (st = money(c, cell(c, col[SB_SCOL_IN_SCOPE]), "in_scope", &in_scope, d)) ||
	    (st = money(c, cell(c, col[SB_SCOL_FUND]), "fund", &fund, d)) ||
	    (st = money(c, cell(c, col[SB_SCOL_OOP]), "oop", &oop, d)))
		return st;
	bool paid_pool = false, paid_assist = false;
	for (size_t l = 0; l < r->nlayers; l++) {
		sb_csv_field fl = sb_csv_get(c, r->layers[l].col);
		sb_fen a;
		if (fl.n == 4 && !memcmp(fl.p, "0.00", 4))
			continue;
		if ((st = money(c, fl, r->layers[l].id, &a, d)))
			return st;
		if (!a)
			continue;
		size_t li = fund_layer_index(r, ri, y, l);
		if (!sb_fen_add(&w->layer_paid[li], a) || !sb_fen_add(&sum, a))
			return overflowed(c, d);
		w->layer_claims[li]++;
		if (is_assist_layer(f, r->layers[l].key)) {
			assist += a;
			paid_assist = true;
		} else {
			pooled += a;
			paid_pool = true;
		}
	}
	/* Every payment is in a layer column: the fund column is their sum. */
	if (sum != fund) {
		char a[SB_MONEY_BUF], b[SB_MONEY_BUF];
		sb_money_format(fund, a);
		sb_money_format(sum, b);
		return sb_diag_set(
			d, SB_EINPUT, sb_csv_name(c), (int)sb_csv_line(c), 0,
			"fund %s is not the sum of the layer columns (%s): the file is not "
			"as `sanbao settle` wrote it, or its layers are not those of "
			"--policies",
			a, b);
	}
	stally *t = &w->t[ry];
	int s = p->flags & 3;
	if (!sb_fen_add(&t->spending[s], pooled) ||
	    !sb_fen_add(&t->spending[SB_FUND_ASSISTANCE], assist) ||
	    !sb_fen_add(&w->settled, fund) || !sb_fen_add(&t->total[s], total) ||
	    !sb_fen_add(&t->in_scope[s], in_scope) || !sb_fen_add(&t->pooled[s], pooled))
		return overflowed(c, d);
	t->claims[s] += paid_pool;
	t->claims[SB_FUND_ASSISTANCE] += paid_assist;
	t->rows[s]++;
	if (s == SB_FUND_RESIDENT) {
		int grp[2] = { p->groups & 15, p->groups >> 4 };
		for (int k = 0; k < 2; k++) {
			t->benefit[grp[k]] += pooled;
			t->assistance[grp[k]] += assist;
		}
	}
	/* a person's claims may fall in two threads' shares */
	__atomic_fetch_add(&r->oop[y][w->cur], oop, __ATOMIC_RELAXED);
	w->rows++;
	return SB_OK;
}

static void *settle_worker(void *arg)
{
	sworker *w = arg;
	fund_run *r = w->r;
	sb_csv *c = NULL;
	sb_diag_clear(&w->d);
	w->st = w->whole ? sb_csv_open(r->cfg->settlements_path, &c, &w->d) :
			   sb_csv_open_range(r->cfg->settlements_path, sb_csv_ncols_of(r), w->start,
					     w->end, &c, &w->d);
	while (!w->st) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k < 0) {
			w->d = bad;
			w->st = bad.code ? bad.code : SB_EINPUT;
			break;
		}
		w->st = settle_row(w, c, &w->d);
	}
	if (c)
		w->lines = sb_csv_lines(c);
	sb_csv_free(c);
	return NULL;
}

sb_status sb_fund_read_settlements(fund_run *r, sb_diag *d)
{
	sb_csv *c;
	int col[SB_SCOL_N];
	sb_status st = open_settlements(r, &c, col, d);
	if (st)
		return st;
	size_t ncols = sb_csv_ncols(c);
	r->settlement_cols = ncols;
	r->layers = sb_calloc(ncols ? ncols : 1, sizeof *r->layers);
	if (!r->layers) {
		sb_csv_free(c);
		return oom(d);
	}
	for (size_t i = 0; i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);
		int sym = sb_policyset_symbol(r->set, SB_SYM_LAYER, h.p, h.n);
		if (sym < 0)
			continue;
		flayer *l = &r->layers[r->nlayers++];
		l->col = i;
		l->id = sb_policyset_symbol_name(r->set, SB_SYM_LAYER, sym);
		l->key = sb_id_key(h.p, h.n);
		l->fund_code = layer_fund_code(r->set, l->id);
	}
	sb_csv_free(c);
	size_t nry = (r->nregions ? r->nregions : 1) * FUND_NY;
	size_t nl = nry * (r->nlayers ? r->nlayers : 1);
	r->layer_paid = sb_calloc(nl, sizeof *r->layer_paid);
	r->layer_claims = sb_calloc(nl, sizeof *r->layer_claims);
	if (!r->layer_paid || !r->layer_claims)
		return oom(d);

	/* The file cut at line starts into one share per thread (at least a
	 * MiB each), as the batch's pass 1 cuts claims. */
	int64_t bounds[SB_RANGES_MAX + 1], size;
	int nw;
	if ((st = sb_io_ranges(r->cfg->settlements_path, r->cfg->threads > 0 ? r->cfg->threads : 1,
			       (int64_t)1 << 20, bounds, &nw, &size, d)))
		return st;
	sworker *w = sb_calloc((size_t)nw, sizeof *w);
	pthread_t *tid = sb_calloc((size_t)nw, sizeof *tid);
	bool *started = sb_calloc((size_t)nw, sizeof *started);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	if (!w || !tid || !started)
		st = oom(d);
	for (int i = 0; !st && i < nw; i++) {
		sworker *x = &w[i];
		x->r = r;
		x->lock = &lock;
		x->col = col;
		x->whole = nw == 1;
		x->start = bounds[i];
		x->end = bounds[i + 1];
		x->cur = SIZE_MAX;
		x->t = sb_calloc(nry, sizeof *x->t);
		x->layer_paid = sb_calloc(nl, sizeof *x->layer_paid);
		x->layer_claims = sb_calloc(nl, sizeof *x->layer_claims);
		x->fund = sb_calloc(nry, sizeof *x->fund);
		x->fund_known = sb_calloc(nry, sizeof *x->fund_known);
		x->pc = sb_calloc(1, sizeof *x->pc);
		if (!x->t || !x->layer_paid || !x->layer_claims || !x->fund || !x->fund_known ||
		    !x->pc || !(x->pc->region_of = sb_calloc(1000000, sizeof *x->pc->region_of)) ||
		    !(x->pc->dates = sb_calloc((r->nregions ? r->nregions : 1) * DATE_SLOTS,
					       sizeof *x->pc->dates)))
			st = oom(d);
	}
	for (int i = 0; !st && i < nw; i++) {
		if (nw == 1) {
			settle_worker(&w[0]);
			break;
		}
		if (pthread_create(&tid[i], NULL, settle_worker, &w[i]))
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
		else
			started[i] = true;
	}
	for (int i = 0; i < nw; i++)
		if (started && started[i])
			pthread_join(tid[i], NULL);
	/* The first share that failed tells, its line counted from the file's
	 * start: every share before it was read to its end. */
	long base = 2;
	for (int i = 0; !st && i < nw; i++) {
		if (w[i].st) {
			st = w[i].st;
			*d = w[i].d;
			if (!w[i].whole && d->line > 0 &&
			    !strcmp(d->file, r->cfg->settlements_path))
				d->line = (int)(base + d->line - 1);
			break;
		}
		base += w[i].lines;
	}
	/* merge */
	for (int i = 0; !st && i < nw; i++) {
		sworker *x = &w[i];
		r->t->settlements += x->rows;
		if (!sb_fen_add(&r->t->settled, x->settled))
			st = sb_diag_set(d, SB_ELIMIT, r->cfg->settlements_path, 0, 0,
					 "the amounts add up to more than a 64-bit sum of fen");
		for (size_t k = 0; k < nl; k++) {
			r->layer_paid[k] += x->layer_paid[k];
			r->layer_claims[k] += x->layer_claims[k];
		}
		for (size_t g = 0; g < r->nregions; g++)
			for (int y = 0; y < FUND_NY; y++) {
				const stally *t = &x->t[g * FUND_NY + (size_t)y];
				fregion *rg = &r->regions[g];
				for (int s = 0; s < SB_FUND_SCHEMES; s++) {
					rg->acct[y][s].spending += t->spending[s];
					rg->acct[y][s].claims += t->claims[s];
				}
				for (int s = 0; s < 2; s++) {
					rg->rows[y][s] += t->rows[s];
					rg->total[y][s] += t->total[s];
					rg->in_scope[y][s] += t->in_scope[s];
					rg->pooled[y][s] += t->pooled[s];
				}
				for (int k = 0; k < FG_N; k++) {
					rg->groups[y][k].benefit += t->benefit[k];
					rg->groups[y][k].assistance += t->assistance[k];
				}
			}
	}
	for (int i = 0; w && i < nw; i++) {
		sb_free(w[i].t);
		sb_free(w[i].layer_paid);
		sb_free(w[i].layer_claims);
		sb_free(w[i].fund);
		sb_free(w[i].fund_known);
		if (w[i].pc) {
			sb_free(w[i].pc->region_of);
			sb_free(w[i].pc->dates);
		}
		sb_free(w[i].pc);
	}
	sb_free(w);
	sb_free(tid);
	sb_free(started);
	return st;
}
