/* project.c: `sanbao project` end to end: reads the base year's insured
 * (persons.csv, through the one persons reader) and what the insurance
 * funds paid for them (settlements.csv), builds one fund per region and
 * scheme, runs every scenario (engine.c) and writes projection.csv and
 * projection.json through the run's output folder (io/outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "io/outfile.h"
#include "io/ranges.h"
#include "policy/policy_int.h"
#include "project/project_int.h"
#include "sanbao/fund.h"
#include "sanbao/io.h"
#include "sanbao/policy.h"

typedef struct person {
	uint64_t key;
	int pseudo;
	int fund;
	int band;
} person;

typedef struct run {
	const sb_project_config *cfg;
	sb_project_totals *t;
	sb_policyset *set;
	pj_fund *funds;
	size_t nfunds, capfunds;
	person *persons;
	size_t npersons, cappersons;
	/* persons by key: open addressing, index + 1 (0 empty), a power of two
	 * at least twice npersons; a settled claim finds its person in one or
	 * two probes where a binary search over millions misses the cache at
	 * every step */
	uint32_t *slots;
	size_t nslots;
	/* the province's profile, pooled: fen by scheme, visit type and band;
	 * persons by scheme and band */
	sb_fen spend[PJ_SCHEMES][PJ_VISITS][PJ_BANDS];
	double people[PJ_SCHEMES][PJ_BANDS];
	pj_scenario *scen;
	pj_path *paths;            /* [scenario][fund] */
	sb_fund_balance *balances; /* --balances */
	size_t nbalances;
} run;

static const char *const scheme_word[PJ_SCHEMES] = { "employee", "resident" };

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
}

static int fund_of(run *r, const char *region, int scheme)
{
	for (size_t i = 0; i < r->nfunds; i++)
		if (r->funds[i].scheme == scheme && !strcmp(r->funds[i].region, region))
			return (int)i;
	if (r->nfunds == r->capfunds) {
		size_t cap = r->capfunds ? r->capfunds * 2 : 16;
		pj_fund *v = sb_realloc(r->funds, cap * sizeof *v);
		if (!v)
			return -1;
		r->funds = v;
		r->capfunds = cap;
	}
	pj_fund *f = &r->funds[r->nfunds];
	memset(f, 0, sizeof *f);
	memcpy(f->region, region, 7);
	f->scheme = scheme;
	return (int)r->nfunds++;
}

static int cmp_fund(const void *a, const void *b)
{
	const pj_fund *x = a, *y = b;
	int c = strcmp(x->region, y->region);
	return c ? c : x->scheme - y->scheme;
}

static size_t person_hash(uint64_t key, int pseudo, size_t mask)
{
	uint64_t z = key ^ ((uint64_t)pseudo << 63);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (size_t)(z ^ (z >> 31)) & mask;
}

/* Indexes r->persons; the first row of a person read twice is the one found. */
static sb_status index_persons(run *r, sb_diag *d)
{
	size_t n = 16;
	while (n < 2 * r->npersons)
		n *= 2;
	if (r->npersons > UINT32_MAX - 1)
		return sb_diag_set(d, SB_ELIMIT, r->cfg->persons_path, 0, 0, "more than %u persons",
				   UINT32_MAX - 1);
	r->slots = sb_calloc(n, sizeof *r->slots);
	if (!r->slots)
		return oom(d);
	r->nslots = n;
	for (size_t i = 0; i < r->npersons; i++) {
		const person *p = &r->persons[i];
		size_t h = person_hash(p->key, p->pseudo, n - 1);
		for (;; h = (h + 1) & (n - 1)) {
			uint32_t s = r->slots[h];
			if (!s) {
				r->slots[h] = (uint32_t)(i + 1);
				break;
			}
			const person *q = &r->persons[s - 1];
			if (q->key == p->key && q->pseudo == p->pseudo)
				break;
		}
	}
	return SB_OK;
}

static const person *find_person(const run *r, uint64_t key, int pseudo)
{
	size_t mask = r->nslots - 1;
	for (size_t h = person_hash(key, pseudo, mask);; h = (h + 1) & mask) {
		uint32_t s = r->slots[h];
		if (!s)
			return NULL;
		const person *q = &r->persons[s - 1];
		if (q->key == key && q->pseudo == pseudo)
			return q;
	}
}

/* ---- the base year ---------------------------------------------------- */

static int year_of(sb_date date)
{
	int y, m, dd;
	sb_date_ymd(date, &y, &m, &dd);
	return y;
}

/* What the person brings to the pooled fund in the base year under the
 * region's funding rules (sanbao/fund.h: the policy's own API, nothing
 * copied): the pool share of the employer's and employee's contributions,
 * or the resident premium and fiscal subsidy. Who pays a resident's premium
 * (the person or medical assistance) does not change what the fund
 * receives, so identities are not needed here. */
static void contribution(run *r, pj_fund *f, const sb_person_row *row, int base_year)
{
	const sb_policy *pol = sb_policyset_find(r->set, row->region);
	const sb_funding *fu = pol ? sb_policy_funding(pol, base_year) : NULL;
	const char *why = pol ? "the policy has no funding rules for the base year" :
				"the region has no policy";
	sb_contrib c;
	if (fu) {
		sb_fund_person fp = {
			.scheme = row->scheme,
			.employment = row->employment,
			.tier = row->tier.n ? sb_policyset_symbol(r->set, SB_SYM_TIER, row->tier.p,
								  row->tier.n) :
					      -1,
			.has_wage_base = row->has_wage_base,
			.wage_base = row->wage_base,
		};
		if (!sb_funding_contrib(fu, &fp, &c, &why) && !c.no_base) {
			f->policy_revenue += c.pool;
			return;
		}
		if (c.no_base)
			why = "an active employee without a wage base, and no base_default";
	}
	if (!f->policy_unpriced++)
		snprintf(f->policy_why, sizeof f->policy_why, "%s", why);
}

static sb_status read_persons(run *r, int base_year, sb_diag *d)
{
	sb_csv *c;
	int col[SB_PCOL_N];
	sb_status st = sb_io_open_mapped(r->cfg->persons_path, "persons.csv", sb_persons_columns,
					 SB_PCOL_N, true, col, &c, d);
	if (st)
		return st;
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k == -2) {
			*d = bad;
			st = bad.code ? bad.code : SB_EIO;
			break;
		}
		r->t->persons_rows++;
		sb_person_row row;
		char why[512];
		/* The same reader and rules as settle; a refused row, or one
		 * without a birth date (a pseudonym), has no age to carry. */
		if (k < 0 || sb_person_row_read(c, col, &row, why, sizeof why) || row.pseudo ||
		    year_of(row.birth) > base_year) {
			r->t->persons_skipped++;
			continue;
		}
		sb_csv_field id = sb_csv_get(c, (size_t)col[SB_PCOL_ID]);
		int sex = id.n == 18 && (id.p[16] - '0') % 2 == 0; /* GB 11643: odd = male */
		int age = base_year - year_of(row.birth);
		if (age >= PJ_AGES)
			age = PJ_AGES - 1;
		int scheme = row.scheme == SB_SCHEME_EMPLOYEE ? 0 : 1;
		int f = fund_of(r, row.region, scheme);
		if (f < 0) {
			st = oom(d);
			break;
		}
		contribution(r, &r->funds[f], &row, base_year);
		int cls = scheme == 0 && row.employment == 1 ? PJ_RETIRED : PJ_ACTIVE;
		r->funds[f].pop0[cls][sex][age] += 1;
		r->funds[f].persons++;
		r->people[scheme][age / 5 < PJ_BANDS ? age / 5 : PJ_BANDS - 1] += 1;
		if (r->npersons == r->cappersons) {
			size_t cap = r->cappersons ? r->cappersons * 2 : 1024;
			person *v = sb_realloc(r->persons, cap * sizeof *v);
			if (!v) {
				st = oom(d);
				break;
			}
			r->persons = v;
			r->cappersons = cap;
		}
		r->persons[r->npersons++] =
			(person){ .key = row.key,
				  .pseudo = row.pseudo,
				  .fund = f,
				  .band = age / 5 < PJ_BANDS ? age / 5 : PJ_BANDS - 1 };
		r->t->persons_used++;
	}
	sb_csv_free(c);
	if (!st)
		st = index_persons(r, d);
	return st;
}

/* Which layer symbols pay from an insurance fund: a fund_code of the
 * employee pool (31xxxx) or the resident funds (39xxxx, with 大病保险
 * 390200). Assistance (61xxxx) and layers without a code are other
 * payers' money, not this fund's. */
static sb_status insurance_layers(const sb_policyset *set, bool **out, sb_diag *d)
{
	int nsym = sb_policyset_symbol_count(set, SB_SYM_LAYER);
	bool *ins = sb_calloc((size_t)nsym + 1, sizeof *ins);
	if (!ins)
		return oom(d);
	for (size_t i = 0; i < sb_policyset_count(set); i++) {
		const sb_policy *p = sb_policyset_at(set, i);
		for (uint16_t v = 0; v < p->nversions; v++)
			for (uint16_t l = 0; l < p->versions[v].nlayers; l++) {
				const sb_layer *ly = &p->versions[v].layers[l];
				const char *code = ly->fund_code;
				if (code && (!strncmp(code, "31", 2) || !strncmp(code, "39", 2)) &&
				    ly->sym >= 0 && ly->sym < nsym)
					ins[ly->sym] = true;
			}
	}
	*out = ins;
	return SB_OK;
}

/* The visit type as the data format names it (or its NHSA med_type code);
 * -1 for anything else. */
static int visit_of(sb_csv_field v)
{
	for (int i = 0; i < PJ_VISITS; i++)
		if ((strlen(sb_visit_names[i]) == v.n && !memcmp(sb_visit_names[i], v.p, v.n)) ||
		    (strlen(sb_visit_codes[i]) == v.n && !memcmp(sb_visit_codes[i], v.p, v.n)))
			return i;
	return -1;
}

/* ---- settlements.csv, read in byte ranges by --threads threads ------------ */

#define SCAN_THREADS SB_PROJECT_MAX_THREADS
#define SCAN_MIN_BYTES (1 << 20) /* a smaller file is read by one thread */

/* One range of settlements.csv and what it found: with base_year 0 only
 * the latest claim year; otherwise what the insurance funds paid in the
 * base year, by fund and visit type, and by the province's scheme, visit
 * type and band. Integer sums, so the ranges add up to the same fen in any
 * order. */
typedef struct scan {
	const run *r;
	int base_year;
	const int *col, *sym;
	size_t ncols;
	int64_t start, end;
	int latest;
	long rows, used, skipped;
	sb_fen *paid; /* [fund * PJ_VISITS + visit] */
	long *claims; /* [fund] */
	sb_fen spend[PJ_SCHEMES][PJ_VISITS][PJ_BANDS];
	sb_status st;
	sb_diag d;
} scan;

static void scan_row(scan *w, const sb_csv *c, int k)
{
	const run *r = w->r;
	const int *col = w->col;
	sb_date date;
	sb_csv_field fd = sb_csv_get(c, (size_t)col[SB_SCOL_DATE]);
	w->rows++;
	if (k != 1 || sb_date_parse(fd.p, fd.n, 1, &date, NULL)) {
		w->skipped++;
		return;
	}
	int year = year_of(date);
	if (!w->base_year) {
		if (year > w->latest)
			w->latest = year;
		return;
	}
	if (year != w->base_year)
		return; /* another year's claim: not the settled year's */
	sb_csv_field fp = sb_csv_get(c, (size_t)col[SB_SCOL_PERSON]);
	uint64_t key;
	int pseudo;
	const person *p = NULL;
	if (!sb_person_key(fp.p, fp.n, &key, &pseudo, NULL, NULL))
		p = find_person(r, key, pseudo);
	int v = visit_of(sb_csv_get(c, (size_t)col[SB_SCOL_VISIT]));
	if (!p || v < 0) {
		/* not among the base year's insured, or not a visit type of the format */
		w->skipped++;
		return;
	}
	sb_fen paid = 0;
	for (size_t i = 0; i < w->ncols; i++) {
		if (w->sym[i] < 0)
			continue;
		sb_csv_field a = sb_csv_get(c, i);
		sb_fen x;
		if (a.n && !sb_money_parse(a.p, a.n, &x, NULL))
			paid += x;
	}
	w->paid[(size_t)p->fund * PJ_VISITS + (size_t)v] += paid;
	w->claims[p->fund]++;
	w->spend[r->funds[p->fund].scheme][v][p->band] += paid;
	w->used++;
}

static void *scan_range(void *arg)
{
	scan *w = arg;
	sb_csv *c;
	sb_diag_clear(&w->d);
	w->paid = sb_calloc(w->r->nfunds * PJ_VISITS + 1, sizeof *w->paid);
	w->claims = sb_calloc(w->r->nfunds + 1, sizeof *w->claims);
	if (!w->paid || !w->claims) {
		w->st = oom(&w->d);
		return NULL;
	}
	if ((w->st = sb_csv_open_range(w->r->cfg->settlements_path, w->ncols, w->start, w->end, &c,
				       &w->d)))
		return NULL;
	for (;;) {
		sb_diag bad;
		int k = sb_csv_next(c, &bad);
		if (k == 0)
			break;
		if (k == -2) {
			w->d = bad;
			w->st = bad.code ? bad.code : SB_EIO;
			break;
		}
		scan_row(w, c, k);
	}
	sb_csv_free(c);
	return NULL;
}

/* Reads settlements.csv: with base_year 0, *latest gets the latest claim
 * year; otherwise the base year's insurance-fund payments go into the funds
 * and the province's profile. */
static sb_status scan_settlements(run *r, int base_year, int *latest, sb_diag *d)
{
	const char *path = r->cfg->settlements_path;
	bool *ins = NULL;
	sb_status st = insurance_layers(r->set, &ins, d);
	if (st)
		return st;
	sb_csv *c;
	if ((st = sb_csv_open(path, &c, d))) {
		sb_free(ins);
		return st;
	}
	int col[SB_SCOL_N];
	static const int need[] = { SB_SCOL_PERSON, SB_SCOL_REGION, SB_SCOL_DATE, SB_SCOL_VISIT };
	st = sb_io_map(c, "settlements.csv", sb_settlements_columns, SB_SCOL_N, false, col, d);
	for (size_t i = 0; !st && i < sizeof need / sizeof need[0]; i++)
		if (col[need[i]] < 0)
			st = sb_io_missing(c, "settlements.csv", &sb_settlements_columns[need[i]],
					   d);
	size_t ncols = st ? 0 : sb_csv_ncols(c);
	int *sym = sb_calloc(ncols + 1, sizeof *sym);
	if (!st && !sym)
		st = oom(d);
	int nsym = sb_policyset_symbol_count(r->set, SB_SYM_LAYER);
	for (size_t i = 0; !st && i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);
		sym[i] = sb_policyset_symbol(r->set, SB_SYM_LAYER, h.p, h.n);
		if (sym[i] >= nsym || (sym[i] >= 0 && !ins[sym[i]]))
			sym[i] = -1;
	}
	sb_csv_free(c);
	sb_free(ins);
	/* the body's byte ranges, cut at line starts (one range below
	 * SCAN_MIN_BYTES; none when the file has no line after its header) */
	int want = r->cfg->threads > 1 ? r->cfg->threads : 1, n = 0;
	want = want > SCAN_THREADS ? SCAN_THREADS : want;
	int64_t bounds[SB_RANGES_MAX + 1], size = 0;
	if (!st)
		st = sb_io_ranges(path, want, SCAN_MIN_BYTES / want, bounds, &n, &size, d);
	if (!st && !bounds[0])
		bounds[0] = bounds[1] = size; /* no header line: no body */
	scan w[SCAN_THREADS];
	memset(w, 0, sizeof w);
	for (int k = 0; !st && k < n; k++)
		w[k] = (scan){ .r = r,
			       .base_year = base_year,
			       .col = col,
			       .sym = sym,
			       .ncols = ncols,
			       .start = bounds[k],
			       .end = bounds[k + 1] };
	if (!st) {
		/* a thread that cannot be started is a range read here */
		pthread_t tid[SCAN_THREADS];
		bool started[SCAN_THREADS] = { false };
		for (int k = 1; k < n; k++)
			started[k] = !pthread_create(&tid[k], NULL, scan_range, &w[k]);
		scan_range(&w[0]);
		for (int k = 1; k < n; k++) {
			if (started[k])
				pthread_join(tid[k], NULL);
			else
				scan_range(&w[k]);
		}
	}
	for (int k = 0; k < n; k++) {
		if (!st && w[k].st) {
			st = w[k].st;
			*d = w[k].d;
		}
		if (!st) {
			r->t->settlement_rows += w[k].rows;
			r->t->settlement_used += w[k].used;
			r->t->settlement_skipped += w[k].skipped;
			if (w[k].latest > *latest)
				*latest = w[k].latest;
			for (size_t f = 0; base_year && f < r->nfunds; f++) {
				for (int v = 0; v < PJ_VISITS; v++) {
					sb_fen x = w[k].paid[f * PJ_VISITS + (size_t)v];
					r->funds[f].by_visit[v] += x;
					r->funds[f].base_spending += x;
				}
				r->funds[f].claims += w[k].claims[f];
			}
			for (int sc = 0; base_year && sc < PJ_SCHEMES; sc++)
				for (int v = 0; v < PJ_VISITS; v++)
					for (int b = 0; b < PJ_BANDS; b++)
						r->spend[sc][v][b] += w[k].spend[sc][v][b];
		}
		sb_free(w[k].paid);
		sb_free(w[k].claims);
	}
	sb_free(sym);
	if (!st && !base_year && !*latest)
		st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
				 "no settled claim with a date: the base year cannot be told "
				 "(give --base-year)");
	return st;
}

/* Each fund's spending per person by visit type and band: the province's
 * profile of its scheme, scaled for each visit type so that the fund's
 * base-year population spends exactly what its settlements paid for it. */
static void profiles(run *r)
{
	for (size_t i = 0; i < r->nfunds; i++) {
		pj_fund *f = &r->funds[i];
		double band_pop[PJ_BANDS] = { 0 }, people = 0;
		for (int k = 0; k < PJ_CLASSES; k++)
			for (int x = 0; x < 2; x++)
				for (int a = 0; a < PJ_AGES; a++) {
					band_pop[a / 5 < PJ_BANDS ? a / 5 : PJ_BANDS - 1] +=
						f->pop0[k][x][a];
					people += f->pop0[k][x][a];
				}
		for (int v = 0; v < PJ_VISITS; v++) {
			double prof[PJ_BANDS], predicted = 0;
			for (int b = 0; b < PJ_BANDS; b++) {
				double n = r->people[f->scheme][b];
				prof[b] = n > 0 ? (double)r->spend[f->scheme][v][b] / 100.0 / n : 0;
				predicted += band_pop[b] * prof[b];
			}
			double want = (double)f->by_visit[v] / 100.0;
			for (int b = 0; b < PJ_BANDS; b++)
				f->spend_band[v][b] = predicted > 0 ? prof[b] * want / predicted :
						      people > 0    ? want / people :
								      0;
		}
	}
}

/* ---- outputs ----------------------------------------------------------- */

static void put_fen(FILE *o, sb_fen v)
{
	char buf[32];
	sb_money_format(v, buf);
	fputs(buf, o);
}

static void put_year(FILE *o, int y)
{
	if (y)
		fprintf(o, "%d", y);
	else
		fputs("null", o);
}

static sb_status write_csv(run *r, FILE *o, sb_diag *d)
{
	(void)d;
	const sb_project_config *cfg = r->cfg;
	fputs("scenario,region,scheme,year,percentile,population,contributors,retirees,revenue,"
	      "spending,interest,balance,months,p_exhausted\n",
	      o);
	for (int s = 0; s < cfg->nscenarios; s++)
		for (size_t i = 0; i < r->nfunds; i++) {
			const pj_fund *f = &r->funds[i];
			const pj_path *p = &r->paths[(size_t)s * r->nfunds + i];
			for (int t = 0; t <= r->t->years; t++) {
				fprintf(o, "%s,%s,%s,%d,deterministic,%.2f,%.2f,%.2f,",
					r->scen[s].name, f->region, scheme_word[f->scheme],
					r->t->base_year + t, p->population[t], p->contributors[t],
					p->retirees[t]);
				put_fen(o, p->revenue[t]);
				fputc(',', o);
				put_fen(o, p->spending[t]);
				fputc(',', o);
				put_fen(o, p->interest[t]);
				fputc(',', o);
				put_fen(o, p->balance[t]);
				fprintf(o, ",%.2f,\n", pj_months(p->balance[t], p->spending[t]));
				if (!p->mc_balance)
					continue;
				for (int q = 0; q < PJ_NPCT; q++) {
					fprintf(o, "%s,%s,%s,%d,p%d,,,,,", r->scen[s].name,
						f->region, scheme_word[f->scheme],
						r->t->base_year + t, pj_percentiles[q]);
					put_fen(o, p->mc_spending[t][q]);
					fputs(",,", o);
					put_fen(o, p->mc_balance[t][q]);
					fprintf(o, ",%.2f,%.4f\n", p->mc_months[t][q],
						p->mc_exhausted[t]);
				}
			}
		}
	return SB_OK;
}

static void json_pct_fen(FILE *o, const char *name, const sb_fen v[PJ_NPCT])
{
	fprintf(o, "\"%s\": {", name);
	for (int q = 0; q < PJ_NPCT; q++) {
		fprintf(o, "%s\"p%d\": \"", q ? ", " : "", pj_percentiles[q]);
		put_fen(o, v[q]);
		fputc('"', o);
	}
	fputc('}', o);
}

static sb_status write_json(run *r, FILE *o, sb_diag *d)
{
	(void)d;
	const sb_project_config *cfg = r->cfg;
	fprintf(o,
		"{\"projection\": {\"base_year\": %d, \"years\": %d, \"runs\": %d, \"seed\": %llu,\n",
		r->t->base_year, r->t->years, r->t->runs, (unsigned long long)cfg->seed);
	fputs(" \"rounding\": \"revenue, spending and interest rounded half away from zero to "
	      "the fen once per year, fund and run; balances are their integer sums\",\n",
	      o);
	fputs(" \"percentiles\": [5, 25, 50, 75, 95],\n \"visits\": [", o);
	for (int v = 0; v < PJ_VISITS; v++) {
		fputs(v ? ", " : "", o);
		sb_json_str(o, sb_visit_names[v]);
	}
	fputs("],\n \"scenarios\": [", o);
	for (int s = 0; s < cfg->nscenarios; s++) {
		const pj_scenario *sc = &r->scen[s];
		fputs(s ? ",\n  {" : "\n  {", o);
		fputs("\"name\": ", o);
		sb_json_str(o, sc->name);
		fputs(", \"description\": ", o);
		sb_json_str(o, sc->description);
		fputs(", \"source\": ", o);
		sb_json_str(o, sc->source);
		fprintf(o,
			",\n   \"parameters\": {\"cost_growth\": %.4f, \"revenue_growth\": %.4f, "
			"\"interest\": %.4f, \"population\": \"%s\", \"mortality_scale\": %.4f, "
			"\"cost_growth_sd\": %.4f, \"utilisation_sd\": %.4f, \"revenue\": \"%s\", "
			"\"retirement\": {\"men\": [%d, %d], \"women_cadre\": [%d, %d], "
			"\"women_worker\": [%d, %d], \"women_cadre_share\": %.4f}, "
			"\"cost_growth_by_visit\": {",
			sc->cost_growth, sc->revenue_growth, sc->interest,
			sc->constant_population ? "constant" : "cohort", sc->mortality_scale,
			sc->cost_growth_sd, sc->utilisation_sd,
			sc->revenue == PJ_REV_RATIO      ? "ratio" :
			sc->revenue == PJ_REV_PER_PERSON ? "per_person" :
							   "policy",
			sc->retire.men.age, sc->retire.men.age * 12 + sc->retire.men.max,
			sc->retire.women_cadre.age,
			sc->retire.women_cadre.age * 12 + sc->retire.women_cadre.max,
			sc->retire.women_worker.age,
			sc->retire.women_worker.age * 12 + sc->retire.women_worker.max,
			sc->retire.women_cadre_share);
		for (int v = 0; v < PJ_VISITS; v++)
			fprintf(o, "%s\"%s\": %.4f", v ? ", " : "", sb_visit_names[v],
				sc->visit_growth[v]);
		fputs("}},\n   \"funds\": [", o);
		for (size_t i = 0; i < r->nfunds; i++) {
			const pj_fund *f = &r->funds[i];
			const pj_path *p = &r->paths[(size_t)s * r->nfunds + i];
			fprintf(o,
				"%s\n    {\"region\": \"%s\", \"scheme\": \"%s\", \"persons\": %ld, "
				"\"claims\": %ld, \"base_spending\": \"",
				i ? "," : "", f->region, scheme_word[f->scheme], f->persons,
				f->claims);
			put_fen(o, f->base_spending);
			fputs("\", \"base_by_visit\": {", o);
			for (int v = 0; v < PJ_VISITS; v++) {
				fprintf(o, "%s\"%s\": \"", v ? ", " : "", sb_visit_names[v]);
				put_fen(o, f->by_visit[v]);
				fputc('"', o);
			}
			fputs("}, \"spending_per_person_by_band\": {", o);
			for (int v = 0; v < PJ_VISITS; v++) {
				fprintf(o, "%s\"%s\": [", v ? ", " : "", sb_visit_names[v]);
				for (int b = 0; b < PJ_BANDS; b++)
					fprintf(o, "%s%.2f", b ? ", " : "", f->spend_band[v][b]);
				fputc(']', o);
			}
			fputs("}, \"policy_revenue\": \"", o);
			put_fen(o, f->policy_revenue);
			fprintf(o,
				"\", \"policy_unpriced\": %ld, \"revenue_per_contributor\": %.2f, "
				"\"opening_balance\": \"",
				f->policy_unpriced, p->rev_per_contributor);
			put_fen(o, p->opening);
			fputs("\", \"first_deficit_year\": ", o);
			put_year(o, p->first_deficit_year);
			fputs(", \"exhaustion_year\": ", o);
			put_year(o, p->exhaustion_year);
			if (p->mc_balance)
				fprintf(o, ", \"p_exhausted_by_end\": %.4f", p->mc_exhausted_ever);
			fputs(",\n     \"years\": [", o);
			for (int t = 0; t <= r->t->years; t++) {
				fprintf(o,
					"%s\n      {\"year\": %d, \"population\": %.2f, "
					"\"contributors\": %.2f, \"retirees\": %.2f, \"revenue\": \"",
					t ? "," : "", r->t->base_year + t, p->population[t],
					p->contributors[t], p->retirees[t]);
				put_fen(o, p->revenue[t]);
				fputs("\", \"spending\": \"", o);
				put_fen(o, p->spending[t]);
				fputs("\", \"interest\": \"", o);
				put_fen(o, p->interest[t]);
				fputs("\", \"balance\": \"", o);
				put_fen(o, p->balance[t]);
				fprintf(o, "\", \"months\": %.2f",
					pj_months(p->balance[t], p->spending[t]));
				if (p->mc_balance) {
					fputs(",\n       \"mc\": {", o);
					json_pct_fen(o, "balance", p->mc_balance[t]);
					fputs(", ", o);
					json_pct_fen(o, "spending", p->mc_spending[t]);
					fputs(", \"months\": {", o);
					for (int q = 0; q < PJ_NPCT; q++)
						fprintf(o, "%s\"p%d\": %.2f", q ? ", " : "",
							pj_percentiles[q], p->mc_months[t][q]);
					fprintf(o, "}, \"p_exhausted\": %.4f}", p->mc_exhausted[t]);
				}
				fputc('}', o);
			}
			fputs("]}", o);
		}
		fputs("]}", o);
	}
	fputs("]}}\n", o);
	return SB_OK;
}

/* ---- the run ----------------------------------------------------------- */

/* A balances.csv row's region: a pooling region of --policies, the
 * adjustment fund's row a province's file. */
static bool known_region(void *ctx, const char *code, bool adjustment)
{
	const run *r = ctx;
	return sb_policyset_find(r->set, code) && !strcmp(code + 2, "0000") == adjustment;
}

/* The opening balances balances.csv gives the projected funds (the
 * assistance and adjustment funds are not projected: their rows are
 * read, and left). */
static void openings(run *r)
{
	for (size_t k = 0; k < r->nbalances; k++) {
		const sb_fund_balance *b = &r->balances[k];
		int scheme = b->scheme == SB_FUND_EMPLOYEE ? 0 :
			     b->scheme == SB_FUND_RESIDENT ? 1 :
							     -1;
		for (size_t i = 0; scheme >= 0 && i < r->nfunds; i++) {
			pj_fund *f = &r->funds[i];
			if (f->scheme == scheme && !strcmp(f->region, b->region)) {
				f->has_opening = true;
				f->opening = b->balance;
				r->t->balances_used++;
			}
		}
	}
}

static sb_status project(run *r, sb_outdir *out, sb_diag *d)
{
	const sb_project_config *cfg = r->cfg;
	sb_project_totals *t = r->t;
	sb_status st = SB_OK;
	r->scen = sb_calloc((size_t)cfg->nscenarios, sizeof *r->scen);
	if (!r->scen)
		return oom(d);
	/* Scenarios first: a bad one is refused before any data is read. */
	for (int s = 0; s < cfg->nscenarios; s++) {
		if ((st = pj_scenario_load(cfg->scenario_paths[s], &r->scen[s], d)))
			return st;
		for (int k = 0; k < s; k++)
			if (!strcmp(r->scen[k].name, r->scen[s].name))
				return sb_diag_set(d, SB_EINPUT, cfg->scenario_paths[s], 0, 0,
						   "a second scenario named %s: names must differ",
						   r->scen[s].name);
	}
	if ((st = sb_policyset_new(&r->set)))
		return oom(d);
	if (cfg->policy_root && (st = sb_policyset_set_root(r->set, cfg->policy_root, d)))
		return st;
	if ((st = sb_policyset_load_dir(r->set, cfg->policies_dir, d)))
		return st;
	if (cfg->balances_path &&
	    (st = sb_fund_read_balances_file(cfg->balances_path, known_region, r, &r->balances,
					     &r->nbalances, d)))
		return st;
	struct timespec r0, r1;
	clock_gettime(CLOCK_MONOTONIC, &r0);
	t->base_year = cfg->base_year;
	if (!t->base_year && (st = scan_settlements(r, 0, &t->base_year, d)))
		return st;
	/* the rows are counted by the pass over the base year */
	t->settlement_rows = t->settlement_used = t->settlement_skipped = 0;
	if ((st = read_persons(r, t->base_year, d)))
		return st;
	if (!r->npersons)
		return sb_diag_set(d, SB_EINPUT, cfg->persons_path, 0, 0,
				   "no insured person with a birth date: nothing to project");
	int unused = 0;
	if ((st = scan_settlements(r, t->base_year, &unused, d)))
		return st;
	clock_gettime(CLOCK_MONOTONIC, &r1);
	t->seconds_read = (double)(r1.tv_sec - r0.tv_sec) + (double)(r1.tv_nsec - r0.tv_nsec) / 1e9;
	/* funds in region and scheme order; persons point at funds by index,
	 * and are not needed any more */
	qsort(r->funds, r->nfunds, sizeof *r->funds, cmp_fund);
	profiles(r);
	openings(r);
	t->nfunds = (int)r->nfunds;
	for (int s = 0; s < cfg->nscenarios; s++)
		for (size_t i = 0; r->scen[s].revenue == PJ_REV_POLICY && i < r->nfunds; i++)
			if (r->funds[i].policy_unpriced)
				return sb_diag_set(
					d, SB_EINPUT, cfg->scenario_paths[s], 0, 0,
					"revenue: policy, but %ld %s persons of region %s "
					"have no contribution under its funding rules for "
					"%d (%s)",
					r->funds[i].policy_unpriced,
					scheme_word[r->funds[i].scheme], r->funds[i].region,
					t->base_year, r->funds[i].policy_why);
	r->paths = sb_calloc((size_t)cfg->nscenarios * r->nfunds, sizeof *r->paths);
	if (!r->paths)
		return oom(d);
	for (int s = 0; s < cfg->nscenarios && !st; s++) {
		pj_path *ps = &r->paths[(size_t)s * r->nfunds];
		for (size_t i = 0; i < r->nfunds && !st; i++)
			st = pj_path_run(&r->scen[s], &r->funds[i], t->base_year, t->years, &ps[i],
					 d);
		if (!st && t->runs > 0) {
			struct timespec a, b;
			clock_gettime(CLOCK_MONOTONIC, &a);
			st = pj_montecarlo(&r->scen[s], ps, r->nfunds, t->base_year, t->years,
					   t->runs, cfg->seed, d);
			clock_gettime(CLOCK_MONOTONIC, &b);
			t->seconds_mc += (double)(b.tv_sec - a.tv_sec) +
					 (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		}
	}
	if (st)
		return st;
	for (size_t i = 0; i < r->nfunds; i++) {
		const pj_path *p = &r->paths[i];
		t->base_spending += p->spending[0];
		t->base_revenue += p->revenue[0];
		if (p->first_deficit_year &&
		    (!t->first_deficit_year || p->first_deficit_year < t->first_deficit_year))
			t->first_deficit_year = p->first_deficit_year;
		if (p->exhaustion_year &&
		    (!t->exhaustion_year || p->exhaustion_year < t->exhaustion_year))
			t->exhaustion_year = p->exhaustion_year;
	}
	FILE *csv = sb_outdir_create(out, "projection.csv", d);
	if (!csv)
		return d->code;
	if ((st = write_csv(r, csv, d)) || (st = sb_outdir_finish(out, csv, d)))
		return st;
	FILE *json = sb_outdir_create(out, "projection.json", d);
	if (!json)
		return d->code;
	if ((st = write_json(r, json, d)) || (st = sb_outdir_finish(out, json, d)))
		return st;
	return sb_outdir_commit(out, NULL, d);
}

sb_status sb_project_run(const sb_project_config *cfg, sb_project_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	if (cfg->nscenarios < 1 || cfg->nscenarios > SB_PROJECT_MAX_SCENARIOS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "give from 1 to %d scenarios",
				   SB_PROJECT_MAX_SCENARIOS);
	t->years = cfg->years ? cfg->years : 30;
	t->runs = cfg->runs;
	t->nscenarios = cfg->nscenarios;
	if (t->years < 1 || t->years > SB_PROJECT_MAX_YEARS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "--years must be from 1 to %d",
				   SB_PROJECT_MAX_YEARS);
	if (cfg->threads < 0 || cfg->threads > SB_PROJECT_MAX_THREADS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "--threads must be from 1 to %d",
				   SB_PROJECT_MAX_THREADS);
	if (t->runs < 0 || t->runs > SB_PROJECT_MAX_RUNS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "--runs must be from 0 to %d",
				   SB_PROJECT_MAX_RUNS);
	run r = { .cfg = cfg, .t = t };
	static const char *const outputs[] = { "projection.csv", "projection.json", NULL };
	sb_outdir *out = NULL;
	sb_status st = sb_outdir_open(cfg->out_dir, &out, d);
	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the persons file",
					 cfg->persons_path, d);
	if (!st)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the settlements file",
					 cfg->settlements_path, d);
	for (int s = 0; !st && s < cfg->nscenarios; s++)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "a scenario file",
					 cfg->scenario_paths[s], d);
	if (!st && cfg->balances_path)
		st = sb_out_refuse_input(cfg->out_dir, outputs, NULL, "the balances file",
					 cfg->balances_path, d);
	if (!st)
		st = project(&r, out, d);
	sb_outdir_close(out);
	if (r.paths)
		for (size_t i = 0; i < (size_t)cfg->nscenarios * r.nfunds; i++)
			pj_path_release(&r.paths[i]);
	sb_free(r.paths);
	sb_free(r.scen);
	sb_free(r.funds);
	sb_free(r.persons);
	sb_free(r.slots);
	sb_free(r.balances);
	sb_policyset_free(r.set);
	return st;
}
