/* test_batch.c: the batch against the engine claim by claim, across thread
 * counts and partition sizes, and with bad rows planted in generated input:
 * every claim of a generated province must settle to the same fen as
 * sb_settle_claim called one claim at a time, the output must not depend
 * on the number of threads, and every planted row must be rejected with
 * its line and reason while rows and money still reconcile. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/batch_int.h"
#include "sanbao/batch.h"
#include "sanbao/csv.h"
#include "sanbao/gen.h"
#include "sanbao/policy.h"
#include "sanbao/settle.h"
#include "sink/summary.h"

static char policies_src[PATH_MAX];

static void make_dir(char *out, size_t n)
{
	snprintf(out, n, "/tmp/sanbao-test-batch-XXXXXX");
	assert_non_null(mkdtemp(out));
}

static void generate(const char *dir, uint64_t persons, uint64_t seed)
{
	sb_gen_config cfg;
	sb_gen_stats stats;
	sb_diag d;
	sb_gen_config_init(&cfg);
	cfg.persons = persons;
	cfg.seed = seed;
	cfg.year = 2024;
	cfg.threads = 2;
	cfg.out_dir = dir;
	cfg.policies_src = policies_src;
	assert_int_equal(sb_gen_run(&cfg, &stats, &d), SB_OK);
}

static void run_batch(const char *in, const char *out, int threads, size_t part_bytes,
		      bool monitor, sb_batch_totals *t)
{
	char pol[PATH_MAX], persons[PATH_MAX], idents[PATH_MAX], claims[PATH_MAX];
	snprintf(pol, sizeof pol, "%s/policies", in);
	snprintf(persons, sizeof persons, "%s/persons.csv", in);
	snprintf(idents, sizeof idents, "%s/identities.csv", in);
	snprintf(claims, sizeof claims, "%s/claims.csv", in);
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.persons_path = persons;
	cfg.identities_path = idents;
	cfg.claims_path = claims;
	cfg.out_dir = out;
	cfg.threads = threads;
	cfg.partition_bytes = part_bytes;
	cfg.monitor = monitor;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_batch_settle(&cfg, t, &d);
	if (st)
		fail_msg("batch failed: %s", d.message);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* ---- the reference: one claim at a time through sb_settle_claim ---- */

typedef struct ref_person {
	sb_person p;
	const sb_policy *pol;
} ref_person;

typedef struct ref_claim {
	char id[72];
	char person[SB_ID_LEN + 1];
	int pidx;
	sb_claim c;
	char level[32];
	sb_result r;
} ref_claim;

/* What a person's accumulators must hold, summed independently from the
 * results of their claims: per region, policy year and layer the bases
 * and the claims, per pool what its layers paid. */
typedef struct acc_want {
	uint32_t region, kind, count;
	int32_t year;
	uint64_t id;
	sb_fen amount;
} acc_want;

#define MAX_WANT 4096

static void acc_want_add(acc_want *w, size_t *n, uint32_t region, int32_t year, uint32_t kind,
		     uint64_t id, sb_fen amount)
{
	for (size_t i = 0; i < *n; i++)
		if (w[i].region == region && w[i].year == year && w[i].kind == kind && w[i].id == id) {
			w[i].amount += amount;
			w[i].count++;
			return;
		}
	assert_true(*n < MAX_WANT);
	w[(*n)++] = (acc_want){region, kind, 1, year, id, amount};
}

static void want_claim(acc_want *w, size_t *n, const sb_result *r)
{
	for (uint8_t i = 0; i < r->nlayers; i++) {
		const sb_layer_result *lr = &r->layer[i];
		const sb_layer *l = &r->version->layers[i];
		if (!lr->applied)
			continue;
		acc_want_add(w, n, r->region, r->year, SB_ACC_LAYER, l->key, lr->base);
		acc_want_add(w, n, r->region, r->year, SB_ACC_POOL, l->pool_key, lr->pay);
	}
}

/* The accumulators equal the sums, entry by entry, both ways. */
static void check_acc(const sb_acc *acc, const acc_want *w, size_t n, const char *id)
{
	char person[SB_ID_LEN + 1];
	sb_id_mask(id, strlen(id), person);
	for (size_t i = 0; i < n; i++) {
		const sb_acc_entry *e = sb_acc_find(acc, w[i].region, w[i].year, w[i].kind, w[i].id);
		if (!e || e->amount != w[i].amount ||
		    (w[i].kind == SB_ACC_LAYER && e->count != w[i].count))
			fail_msg("person %s: accumulator %u/%d/%u differs from the sum of the results",
				 person, w[i].region, w[i].year, w[i].kind);
	}
	size_t used = 0;
	for (uint32_t i = 0; i < acc->n; i++)
		used += acc->e[i].amount != 0 || acc->e[i].count != 0;
	size_t nonzero = 0;
	for (size_t i = 0; i < n; i++)
		nonzero += w[i].amount != 0 || (w[i].kind == SB_ACC_LAYER && w[i].count);
	if (used != nonzero)
		fail_msg("person %s: %zu accumulator entries in use, %zu from the results", person,
			 used, nonzero);
}

static int cmp_person_id(const void *a, const void *b)
{
	return strcmp(((const ref_person *)a)->p.id, ((const ref_person *)b)->p.id);
}

static int cmp_claim_order(const void *a, const void *b)
{
	const ref_claim *x = a, *y = b;
	if (x->pidx != y->pidx)
		return x->pidx < y->pidx ? -1 : 1;
	if (x->c.date != y->c.date)
		return x->c.date < y->c.date ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_claim_id(const void *a, const void *b)
{
	return strcmp(((const ref_claim *)a)->id, ((const ref_claim *)b)->id);
}

static sb_csv_field col(sb_csv *c, const char *name)
{
	const char *names[] = {name, NULL};
	int i = sb_csv_find(c, names);
	assert_true(i >= 0);
	return sb_csv_get(c, (size_t)i);
}

static sb_fen money(sb_csv_field f)
{
	sb_fen v = 0;
	const char *why;
	if (f.n)
		assert_int_equal(sb_money_parse(f.p, f.n, &v, &why), SB_OK);
	return v;
}

/* Settles dir's claims one by one; returns them sorted by claim id. */
static ref_claim *reference(const char *dir, sb_policyset **setp, size_t *nclaims)
{
	char path[PATH_MAX];
	sb_diag d;
	sb_policyset *set;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	snprintf(path, sizeof path, "%s/policies", dir);
	assert_int_equal(sb_policyset_load_dir(set, path, &d), SB_OK);

	size_t np = 0, capp = 1024;
	ref_person *persons = malloc(capp * sizeof *persons);
	sb_csv *c;
	snprintf(path, sizeof path, "%s/persons.csv", dir);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		if (np == capp)
			persons = realloc(persons, (capp *= 2) * sizeof *persons);
		ref_person *rp = &persons[np++];
		memset(rp, 0, sizeof *rp);
		sb_csv_field f = col(c, "id");
		const char *why;
		assert_int_equal(sb_id_check(f.p, f.n, &rp->p.birth, &why), SB_OK);
		memcpy(rp->p.id, f.p, SB_ID_LEN);
		f = col(c, "region");
		memcpy(rp->p.region, f.p, 6);
		rp->pol = sb_policyset_find(set, rp->p.region);
		assert_non_null(rp->pol);
		f = col(c, "scheme");
		rp->p.scheme = f.n == 8 && !memcmp(f.p, "employee", 8) ? 0 : 1;
		f = col(c, "employment");
		rp->p.employment = f.n == 6 ? 0 : f.n == 7 ? 1 : 0xff;
		rp->p.tier = -1;
	}
	sb_csv_free(c);
	qsort(persons, np, sizeof *persons, cmp_person_id);

	snprintf(path, sizeof path, "%s/identities.csv", dir);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		ref_person key;
		sb_csv_field f = col(c, "person");
		memcpy(key.p.id, f.p, SB_ID_LEN);
		key.p.id[SB_ID_LEN] = '\0';
		ref_person *rp = bsearch(&key, persons, np, sizeof *persons, cmp_person_id);
		assert_non_null(rp);
		sb_ident *id = &rp->p.idents[rp->p.nidents++];
		f = col(c, "identity");
		id->sym = sb_policyset_symbol(set, SB_SYM_IDENTITY, f.p, f.n);
		const char *why;
		f = col(c, "from");
		assert_int_equal(sb_date_parse(f.p, f.n, 0, &id->from, &why), SB_OK);
		f = col(c, "to");
		id->to = INT32_MAX;
		if (f.n)
			assert_int_equal(sb_date_parse(f.p, f.n, 0, &id->to, &why), SB_OK);
	}
	sb_csv_free(c);

	size_t nc = 0, capc = 4096;
	ref_claim *claims = malloc(capc * sizeof *claims);
	snprintf(path, sizeof path, "%s/claims.csv", dir);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		if (nc == capc)
			claims = realloc(claims, (capc *= 2) * sizeof *claims);
		ref_claim *rc = &claims[nc++];
		memset(rc, 0, sizeof *rc);
		sb_csv_field f = col(c, "id");
		memcpy(rc->id, f.p, f.n);
		f = col(c, "person");
		memcpy(rc->person, f.p, SB_ID_LEN);
		ref_person key;
		memcpy(key.p.id, rc->person, SB_ID_LEN + 1);
		ref_person *rp = bsearch(&key, persons, np, sizeof *persons, cmp_person_id);
		assert_non_null(rp);
		rc->pidx = (int)(rp - persons);
		const char *why;
		f = col(c, "date");
		assert_int_equal(sb_date_parse(f.p, f.n, 1, &rc->c.date, &why), SB_OK);
		f = col(c, "visit");
		rc->c.visit = (uint8_t)sb_name_index(sb_visit_names, f.p, f.n);
		f = col(c, "level");
		memcpy(rc->level, f.p, f.n < 31 ? f.n : 31);
		rc->c.level = sb_policyset_symbol(set, SB_SYM_LEVEL, f.p, f.n);
		f = col(c, "care_region");
		rc->c.place = !memcmp(f.p, rp->p.region, 6) ? SB_PLACE_LOCAL :
			      !memcmp(f.p, rp->p.region, 2) ? SB_PLACE_IN_PROVINCE :
							     SB_PLACE_CROSS_PROVINCE;
		f = col(c, "filing");
		rc->c.filing = f.n ? (uint8_t)sb_name_index(sb_filing_names, f.p, f.n) : 0;
		rc->c.total = money(col(c, "total"));
		rc->c.in_scope = money(col(c, "in_scope"));
		rc->c.pre_selfpay = money(col(c, "pre_selfpay"));
		rc->c.over_limit = money(col(c, "over_limit"));
	}
	sb_csv_free(c);
	qsort(claims, nc, sizeof *claims, cmp_claim_order);
	sb_acc acc;
	sb_acc_init(&acc);
	int last = -1;
	acc_want *w = malloc(MAX_WANT * sizeof *w);
	assert_non_null(w);
	size_t nw = 0;
	for (size_t i = 0; i < nc; i++) {
		ref_claim *rc = &claims[i];
		rc->c.id = rc->id;
		rc->c.level_name = rc->level;
		if (rc->pidx != last) {
			if (last >= 0)
				check_acc(&acc, w, nw, persons[last].p.id);
			sb_acc_reset(&acc);
			nw = 0;
			last = rc->pidx;
		}
		const ref_person *rp = &persons[rc->pidx];
		if (sb_settle_claim(set, rp->pol, &rp->p, &rc->c, &acc, &rc->r, NULL, &d))
			fail_msg("claim %s refused: %s", rc->id, d.message);
		if (sb_settle_verify(&rc->c, &rc->r, NULL, NULL, &d))
			fail_msg("%s", d.message);
		want_claim(w, &nw, &rc->r);
	}
	if (last >= 0)
		check_acc(&acc, w, nw, persons[last].p.id);
	free(w);
	sb_acc_release(&acc);
	qsort(claims, nc, sizeof *claims, cmp_claim_id);
	free(persons);
	*setp = set;
	*nclaims = nc;
	return claims;
}

static void test_batch_equals_claim_by_claim(void **state)
{
	(void)state;
	char dir[64], out[128], path[256];
	make_dir(dir, sizeof dir);
	/* Big enough that 2 threads read claims.csv in 2 byte ranges. */
	generate(dir, 15000, 11);
	snprintf(out, sizeof out, "%s/out", dir);
	sb_batch_totals t;
	run_batch(dir, out, 2, 200 << 10, false, &t);
	assert_true(t.partitions > 4);

	sb_policyset *set;
	size_t nc;
	ref_claim *ref = reference(dir, &set, &nc);
	assert_int_equal(t.settled, (long long)nc);
	assert_int_equal(t.rejected, 0);

	sb_csv *c;
	sb_diag d;
	snprintf(path, sizeof path, "%s/settlements.csv", out);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	const int *order;
	size_t nl = sb_policyset_layer_order(set, &order);
	size_t rows = 0, paying = 0;
	while (sb_csv_next(c, &d) == 1) {
		rows++;
		sb_csv_field f = col(c, "id");
		ref_claim key;
		memset(&key, 0, sizeof key);
		memcpy(key.id, f.p, f.n);
		ref_claim *rc = bsearch(&key, ref, nc, sizeof *ref, cmp_claim_id);
		assert_non_null(rc);
		sb_fen columns = 0;
		for (size_t l = 0; l < nl; l++) {
			const char *name = sb_policyset_symbol_name(set, SB_SYM_LAYER, order[l]);
			sb_fen expect = 0;
			for (uint8_t k = 0; k < rc->r.nlayers; k++)
				if (rc->r.layer[k].sym == order[l])
					expect = rc->r.layer[k].pay;
			if (money(col(c, name)) != expect)
				fail_msg("claim %s layer %s: batch %.*s, claim by claim %lld", rc->id, name,
					 (int)col(c, name).n, col(c, name).p, (long long)expect);
			paying += expect > 0;
			columns += money(col(c, name));
		}
		assert_int_equal(money(col(c, "fund")), rc->r.fund);
		assert_int_equal(money(col(c, "oop")), rc->r.oop);
		assert_int_equal(money(col(c, "oop_in_scope")), rc->r.oop_in_scope);
		/* The written layer columns add up to the written fund. */
		assert_int_equal(columns, money(col(c, "fund")));
	}
	sb_csv_free(c);
	assert_int_equal(rows, nc);
	/* The comparison means something only if layers actually pay. */
	assert_true(paying > nc / 2);
	free(ref);
	sb_policyset_free(set);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_same_output_for_any_thread_count(void **state)
{
	(void)state;
	char dir[64], out[128], path[256];
	make_dir(dir, sizeof dir);
	generate(dir, 12000, 3);
	char *first[3] = {NULL, NULL, NULL};
	size_t first_n[3] = {0, 0, 0};
	const char *files[3] = {"settlements.csv", "warnings.csv", "approaching.csv"};
	for (int threads = 1; threads <= 3; threads++) {
		snprintf(out, sizeof out, "%s/out%d", dir, threads);
		sb_batch_totals t;
		run_batch(dir, out, threads, 128 << 10, true, &t);
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof path, "%s/%s", out, files[k]);
			size_t n;
			char *buf = slurp(path, &n);
			if (!first[k]) {
				first[k] = buf;
				first_n[k] = n;
				continue;
			}
			assert_int_equal(n, first_n[k]);
			assert_memory_equal(buf, first[k], n);
			free(buf);
		}
	}
	/* The monitor must have found something for the check to matter. */
	assert_true(strchr(first[1], '\n') != strrchr(first[1], '\n'));
	for (int k = 0; k < 3; k++)
		free(first[k]);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Settles dir's claims under policy folder pol (scenario 0) and the
 * scenario folders scen[0..n-1], in one pass. */
static void run_sets(const char *in, const char *out, const char *pol, const char *const *scen,
		     int n, int threads)
{
	char persons[PATH_MAX], idents[PATH_MAX], claims[PATH_MAX];
	snprintf(persons, sizeof persons, "%s/persons.csv", in);
	snprintf(idents, sizeof idents, "%s/identities.csv", in);
	snprintf(claims, sizeof claims, "%s/claims.csv", in);
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.scenario_dirs = scen;
	cfg.nscenario_dirs = n;
	cfg.persons_path = persons;
	cfg.identities_path = idents;
	cfg.claims_path = claims;
	cfg.out_dir = out;
	cfg.threads = threads;
	cfg.partition_bytes = 96 << 10;
	sb_batch_totals t;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_batch_settle(&cfg, &t, &d))
		fail_msg("batch failed: %s", d.message);
	assert_true(t.settled > 1000);
}

/* Row by row: a and b hold the same claims with the same amounts. Returns
 * how many rows' fund differs from those of c (when not NULL). */
static size_t same_rows(const char *a, const char *b, const char *c)
{
	size_t na, nb, nc = 0;
	char *x = slurp(a, &na), *y = slurp(b, &nb), *z = c ? slurp(c, &nc) : NULL;
	size_t differ = 0, rows = 0;
	char *sx, *sy, *sz = NULL;
	char *lx = strtok_r(x, "\n", &sx), *ly = strtok_r(y, "\n", &sy);
	char *lz = z ? strtok_r(z, "\n", &sz) : NULL;
	while (lx || ly) {
		if (!lx || !ly)
			fail_msg("%s and %s have different row counts (at row %zu)", a, b, rows);
		if (strcmp(lx, ly))
			fail_msg("row %zu differs:\n  %s\n  %s", rows, lx, ly);
		if (z) {
			assert_non_null(lz);
			/* The same claim (id, person, date), perhaps other amounts. */
			size_t key = (size_t)(strchr(strchr(strchr(lx, ',') + 1, ',') + 1, ',') - lx);
			assert_memory_equal(lx, lz, key);
			differ += strcmp(lx, lz) != 0;
			lz = strtok_r(NULL, "\n", &sz);
		}
		rows++;
		lx = strtok_r(NULL, "\n", &sx);
		ly = strtok_r(NULL, "\n", &sy);
	}
	free(x);
	free(y);
	free(z);
	return differ;
}

/* The number after the first occurrence of key in a file. */
static void first_amount(const char *path, const char *key, char out[32])
{
	size_t n;
	char *text = slurp(path, &n);
	const char *p = strstr(text, key);
	assert_non_null(p);
	p += strlen(key);
	size_t len = strspn(p, "-0123456789.");
	assert_true(len > 0 && len < 32);
	memcpy(out, p, len);
	out[len] = '\0';
	free(text);
}

static void test_two_policy_sets_in_one_pass(void **state)
{
	(void)state;
	char dir[64], pol[128], polb[128], out[128], a[PATH_MAX], b[PATH_MAX], cmd[2048];
	make_dir(dir, sizeof dir);
	generate(dir, 6000, 5);
	snprintf(pol, sizeof pol, "%s/policies", dir);
	snprintf(polb, sizeof polb, "%s/policies-b", dir);
	/* Scenario 1: the province's employee inpatient rate at primary
	 * hospitals 10 points lower. */
	snprintf(cmd, sizeof cmd, "cp -r %s %s && sed -i 's/rate: {primary: 0.90,/rate: {primary: "
		 "0.80,/' %s/990000.yaml && grep -q 'primary: 0.80,' %s/990000.yaml", pol, polb,
		 polb, polb);
	assert_int_equal(system(cmd), 0);
	const char *scen[] = {polb};
	snprintf(out, sizeof out, "%s/both", dir);
	run_sets(dir, out, pol, scen, 1, 2);
	snprintf(out, sizeof out, "%s/a", dir);
	run_sets(dir, out, pol, NULL, 0, 1);
	snprintf(out, sizeof out, "%s/b", dir);
	run_sets(dir, out, polb, NULL, 0, 3);
	/* Each scenario of the one pass settles every claim as its own run. */
	snprintf(a, sizeof a, "%s/both/settlements.csv", dir);
	snprintf(b, sizeof b, "%s/a/settlements.csv", dir);
	char c[PATH_MAX];
	snprintf(c, sizeof c, "%s/both/scenario-1-settlements.csv", dir);
	size_t differ = same_rows(a, b, c);
	snprintf(a, sizeof a, "%s/both/scenario-1-settlements.csv", dir);
	snprintf(b, sizeof b, "%s/b/settlements.csv", dir);
	same_rows(a, b, NULL);
	/* And the scenarios differ where the rate does. */
	assert_true(differ > 10);
	/* Scenario 1's sums are those of its own run. */
	char fa[32], fb[32], f0[32];
	snprintf(a, sizeof a, "%s/both/scenario-1-summary.json", dir);
	snprintf(b, sizeof b, "%s/b/summary.json", dir);
	snprintf(c, sizeof c, "%s/a/summary.json", dir);
	first_amount(a, "\"fund\": ", fa);
	first_amount(b, "\"fund\": ", fb);
	first_amount(c, "\"fund\": ", f0);
	assert_string_equal(fa, fb);
	assert_string_not_equal(fa, f0);
	first_amount(a, "\"oop\": ", fa);
	first_amount(b, "\"oop\": ", fb);
	assert_string_equal(fa, fb);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Appends a line to a file and returns its 1-based line number. */
static long append_line(const char *path, const char *text)
{
	size_t n;
	char *buf = slurp(path, &n);
	long lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	free(buf);
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	fclose(f);
	return lines + 1;
}

static void test_bad_rows_rejected_and_reconciled(void **state)
{
	(void)state;
	char dir[64], out[128], claims[128], persons[128], path[256];
	make_dir(dir, sizeof dir);
	generate(dir, 3000, 5);
	snprintf(claims, sizeof claims, "%s/claims.csv", dir);
	snprintf(persons, sizeof persons, "%s/persons.csv", dir);

	/* A real person and claim row to build bad rows from. */
	sb_csv *c;
	sb_diag d;
	assert_int_equal(sb_csv_open(claims, &c, &d), SB_OK);
	assert_int_equal(sb_csv_next(c, &d), 1);
	sb_csv_field raw = sb_csv_raw(c);
	char good[1024];
	snprintf(good, sizeof good, "%.*s", (int)raw.n, raw.p);
	char header[1024];
	size_t hn;
	char *all = slurp(claims, &hn);
	snprintf(header, sizeof header, "%.*s", (int)(strchr(all, '\n') - all), all);
	free(all);
	sb_csv_free(c);

	/* Fields of the good row, to rewrite one at a time. */
	char fields[32][128];
	int nf = 0;
	for (char *p = good, *q; nf < 32; p = q + 1) {
		q = strchr(p, ',');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		snprintf(fields[nf++], sizeof fields[0], "%.*s", (int)len, p);
		if (!q)
			break;
	}
	int ci[32];
	int nh = 0;
	char names[32][32];
	for (char *p = header, *q; nh < 32; p = q + 1) {
		q = strchr(p, ',');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		snprintf(names[nh++], sizeof names[0], "%.*s", (int)len, p);
		if (!q)
			break;
	}
	for (int i = 0; i < nh; i++)
		ci[i] = i;
	(void)ci;

	struct plant {
		const char *column;
		const char *value;
		const char *reason;
		bool readable_total;
		long line;
	} plants[] = {
		{"person", "BADID", "check digit", true, 0},
		{"date", "2024-02-30", "is not a date", true, 0},
		{"in_scope", "-5.00", "negative", true, 0},
		{"total", "100.123", "more than 2 decimals", false, 0},
		{"pre_selfpay", "999999999.00", "exceed the total", true, 0},
		{"person", "110105194910010082", "unknown person", true, 0},
		{"person", "REGIONLESS", "unknown person", true, 0},
		{"id", NULL, "duplicate claim id", true, 0},
	};
	/* A person enrolled in a region with no policy is refused in
	 * persons.csv, so a claim for them is for an unknown person. */
	char regionless[SB_ID_LEN + 1] = "99010019800101001";
	regionless[17] = sb_id_check_char(regionless);
	regionless[18] = '\0';
	char pline[256];
	snprintf(pline, sizeof pline, "%s,resident,123456,,,,,", regionless);
	long person_line = append_line(persons, pline);
	/* The first person listed again: the later line is refused. */
	size_t pn;
	char *pall = slurp(persons, &pn);
	char *first = strchr(pall, '\n') + 1;
	char again[512];
	snprintf(again, sizeof again, "%.*s", (int)(strchr(first, '\n') - first), first);
	free(pall);
	long twice_line = append_line(persons, again);

	int nplants = (int)(sizeof plants / sizeof plants[0]);
	for (int k = 0; k < nplants; k++) {
		char row[2048] = "";
		for (int i = 0; i < nf; i++) {
			const char *v = fields[i];
			if (!strcmp(names[i], plants[k].column) && plants[k].value)
				v = plants[k].value;
			if (!strcmp(v, "BADID")) {
				static char bad[SB_ID_LEN + 1];
				memcpy(bad, fields[i], SB_ID_LEN);
				bad[SB_ID_LEN] = '\0';
				bad[17] = bad[17] == '0' ? '1' : '0';
				if (sb_id_check(bad, SB_ID_LEN, NULL, &(const char *){NULL}) == SB_OK)
					bad[17] = bad[17] == '2' ? '3' : '2';
				v = bad;
			}
			if (!strcmp(v, "REGIONLESS"))
				v = regionless;
			if (!strcmp(names[i], "id") && plants[k].value == NULL)
				v = fields[i]; /* the same id again: the later row is the duplicate */
			else if (!strcmp(names[i], "id")) {
				static char idbuf[64];
				snprintf(idbuf, sizeof idbuf, "PLANT%d", k);
				v = idbuf;
			}
			strcat(row, i ? "," : "");
			strcat(row, v);
		}
		plants[k].line = append_line(claims, row);
	}
	long malformed = append_line(claims, "\"unterminated,quote");

	snprintf(out, sizeof out, "%s/out", dir);
	sb_batch_totals t;
	run_batch(dir, out, 2, 64 << 10, false, &t);
	assert_int_equal(t.claim_rows, t.settled + t.rejected);
	assert_int_equal(t.rejected, nplants + 1);
	assert_int_equal(t.fund + t.oop, t.total);
	assert_int_equal(t.persons_rejected, 2);

	snprintf(path, sizeof path, "%s/rejects.csv", out);
	size_t n;
	char *rej = slurp(path, &n);
	for (int k = 0; k < nplants; k++) {
		char needle[64];
		snprintf(needle, sizeof needle, "claims.csv,%ld,", plants[k].line);
		char *at = strstr(rej, needle);
		if (!at)
			fail_msg("planted row at line %ld (%s) was not rejected", plants[k].line,
				 plants[k].reason);
		char *eol = strchr(at, '\n');
		*eol = '\0';
		if (!strstr(at, plants[k].reason))
			fail_msg("line %ld rejected for another reason: %s (acc_want %s)", plants[k].line,
				 at, plants[k].reason);
		*eol = '\n';
	}
	char needle[64];
	snprintf(needle, sizeof needle, "claims.csv,%ld,", malformed);
	assert_non_null(strstr(rej, needle));
	snprintf(needle, sizeof needle, "persons.csv,%ld,", person_line);
	assert_non_null(strstr(rej, needle));
	assert_non_null(strstr(rej, "region 123456 has no policy"));
	snprintf(needle, sizeof needle, "persons.csv,%ld,", twice_line);
	char *tw = strstr(rej, needle);
	assert_non_null(tw);
	assert_non_null(strstr(tw, "listed twice in persons.csv (first at line 2)"));
	free(rej);

	/* Money: every readable total is either settled or rejected. */
	sb_fen input = 0;
	long long unreadable = 0;
	assert_int_equal(sb_csv_open(claims, &c, &d), SB_OK);
	int r;
	while ((r = sb_csv_next(c, &d)) != 0) {
		sb_fen v;
		const char *why;
		sb_csv_field f = r == 1 ? col(c, "total") : (sb_csv_field){"", 0};
		if (r == 1 && !sb_money_parse(f.p, f.n, &v, &why))
			input += v;
		else
			unreadable++;
	}
	sb_csv_free(c);
	assert_int_equal(t.total + t.rejected_total, input);
	assert_int_equal(t.rejected_unreadable, unreadable);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text (n bytes, each line ending in a newline) in
 * place. */
static void sort_lines(char *text, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += text[i] == '\n';
	char **lines = malloc((count + 1) * sizeof *lines);
	char *copy = malloc(n + 1);
	assert_non_null(lines);
	assert_non_null(copy);
	memcpy(copy, text, n + 1);
	char *q = copy;
	for (size_t k = 0; k < count; k++) {
		char *nl = strchr(q, '\n');
		*nl = '\0';
		lines[k] = q;
		q = nl + 1;
	}
	qsort(lines, count, sizeof *lines, cmp_line);
	char *o = text;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(lines[i]);
		memcpy(o, lines[i], len);
		o[len] = '\n';
		o += len + 1;
	}
	free(lines);
	free(copy);
}

/* `sanbao monitor` monitors what was settled: with a new identity of the
 * highest priority given to everyone after settlement, it finds what
 * `settle --monitor` found (the identity applied comes from
 * settlements.csv, not from today's roster). */
static void test_monitor_reads_what_was_settled(void **state)
{
	(void)state;
	char dir[64], a[128], b[128], path[PATH_MAX], cmd[PATH_MAX + 64];
	make_dir(dir, sizeof dir);
	generate(dir, 12000, 3);
	snprintf(a, sizeof a, "%s/settled", dir);
	sb_batch_totals t;
	run_batch(dir, a, 2, 128 << 10, true, &t);
	/* Today's roster: everyone is 特困 (the first identity) since 2000. */
	char pol[PATH_MAX], persons[PATH_MAX], settlements[PATH_MAX];
	snprintf(pol, sizeof pol, "%s/policies", dir);
	snprintf(persons, sizeof persons, "%s/persons.csv", dir);
	snprintf(path, sizeof path, "%s/identities.csv", dir);
	size_t np;
	char *people = slurp(persons, &np);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	for (char *q = strchr(people, '\n'); q && q[1]; q = strchr(q + 1, '\n'))
		fprintf(f, "%.18s,tekun,2000-01-01,\n", q + 1);
	assert_int_equal(fclose(f), 0);
	free(people);
	snprintf(settlements, sizeof settlements, "%s/settlements.csv", a);
	snprintf(b, sizeof b, "%s/monitored", dir);
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.persons_path = persons;
	cfg.identities_path = path;
	cfg.claims_path = settlements;
	cfg.out_dir = b;
	cfg.threads = 3;
	cfg.monitor = cfg.monitor_only = true;
	sb_batch_totals m;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_batch_settle(&cfg, &m, &d))
		fail_msg("monitor failed: %s", d.message);
	assert_int_equal(m.settled, t.settled);
	assert_int_equal(m.rejected, 0);
	const char *files[] = {"warnings.csv", "approaching.csv"};
	size_t held = 0;
	for (int k = 0; k < 2; k++) {
		char pa[PATH_MAX], pb[PATH_MAX];
		snprintf(pa, sizeof pa, "%s/%s", a, files[k]);
		snprintf(pb, sizeof pb, "%s/%s", b, files[k]);
		size_t na, nb;
		char *x = slurp(pa, &na), *y = slurp(pb, &nb);
		/* The same rows; their order follows the partitions, which depend
		 * on the size of the file read. */
		assert_int_equal(na, nb);
		sort_lines(x, na);
		sort_lines(y, nb);
		assert_memory_equal(x, y, na);
		/* Rows of units whose identity was not none: the roster mattered. */
		for (char *q = x; (q = strchr(q, '\n')) && q[1]; q++) {
			char *c = q + 1;
			for (int col = 0; col < 6 && c; col++)
				c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL;
			held += c && strncmp(c, "none,", 5);
		}
		free(x);
		free(y);
	}
	assert_true(held > 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Issue 14 item 2: 100,000 claims of 999999999999.99 must not wrap the
 * totals around. Settled or rejected (a per-claim limit may refuse them),
 * their sum does not fit in 64 bits: the run fails with a reason, and no
 * summary says "balanced". */
static void test_money_sums_never_wrap(void **state)
{
	(void)state;
	char dir[64], path[PATH_MAX], out[128];
	make_dir(dir, sizeof dir);
	generate(dir, 200, 2);
	/* The first enrolled person claims 100,000 times. */
	snprintf(path, sizeof path, "%s/persons.csv", dir);
	size_t n;
	char *persons = slurp(path, &n);
	char person[SB_ID_LEN + 1];
	memcpy(person, strchr(persons, '\n') + 1, SB_ID_LEN);
	person[SB_ID_LEN] = '\0';
	free(persons);
	snprintf(path, sizeof path, "%s/claims.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("id,person,date,visit,place,total,in_scope\n", f);
	for (int i = 0; i < 100000; i++)
		fprintf(f, "C%d,%s,2024-%02d-%02d,outpatient,local,999999999999.99,0.00\n", i, person,
			1 + i % 12, 1 + i % 28);
	assert_int_equal(fclose(f), 0);
	char pol[PATH_MAX], ppath[PATH_MAX], ipath[PATH_MAX];
	snprintf(pol, sizeof pol, "%s/policies", dir);
	snprintf(ppath, sizeof ppath, "%s/persons.csv", dir);
	snprintf(ipath, sizeof ipath, "%s/identities.csv", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.persons_path = ppath;
	cfg.identities_path = ipath;
	cfg.claims_path = path;
	cfg.out_dir = out;
	cfg.threads = 2;
	sb_batch_totals t;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_batch_settle(&cfg, &t, &d);
	assert_int_equal(st, SB_ELIMIT);
	assert_non_null(strstr(d.message, "64-bit"));
	snprintf(path, sizeof path, "%s/summary.json", out);
	assert_int_equal(access(path, F_OK), -1);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The summary sink on its own: the last fen that fits is summed, one more
 * is an error, for settled and for rejected claims. */
static void test_summary_sink_checks_every_sum(void **state)
{
	(void)state;
	sb_policyset *set;
	sb_diag d;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	assert_int_equal(sb_policyset_load_dir(set, policies_src, &d), SB_OK);
	const sb_policyset *sets[1] = {set};
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	sb_sink_env env = {.cfg = &cfg, .nscenarios = 1, .sets = sets, .threads = 1};
	for (int kind = 0; kind < 4; kind++) {
		sb_sink s;
		void *thr;
		assert_int_equal(sb_summary_sink_new(&s), SB_OK);
		assert_int_equal(s.ops->begin(s.self, &env, &d), SB_OK);
		assert_int_equal(s.ops->thread_new(s.self, &thr, &d), SB_OK);
		sb_claim c;
		memset(&c, 0, sizeof c);
		sb_result r;
		memset(&r, 0, sizeof r);
		sb_settled x = {.set = set, .claim = &c, .res = &r};
		sb_rejected rj = {.scenario = 0, .reason = "why"};
		/* kinds 0, 1: settled; 2, 3: rejected; odd kinds one fen more. */
		sb_fen each = INT64_MAX / 4;
		for (int i = 0; i < 4; i++) {
			sb_fen v = i < 3 ? each : INT64_MAX - 3 * each + (kind & 1);
			if (kind < 2) {
				c.total = r.oop = v;
				assert_int_equal(s.ops->claim(s.self, thr, &x, &d), SB_OK);
			} else {
				rj.total = v;
				assert_int_equal(s.ops->reject(s.self, thr, &rj, &d), SB_OK);
			}
		}
		assert_int_equal(s.ops->merge(s.self, thr, &d), SB_OK);
		s.ops->thread_free(s.self, thr);
		sb_diag_clear(&d);
		sb_status st = s.ops->end(s.self, &d);
		if (kind & 1) {
			assert_int_equal(st, SB_ELIMIT);
			assert_non_null(strstr(d.message, "64-bit"));
		} else {
			assert_int_equal(st, SB_OK);
			sb_sums *sum = sb_summary_sink_sums(&s, 0);
			assert_true((kind < 2 ? sum->all.total : sum->rejected_total) == INT64_MAX);
		}
		s.ops->release(s.self);
	}
	sb_policyset_free(set);
}

int main(void)
{
	const char *src = getenv("SB_SOURCE_DIR");
	snprintf(policies_src, sizeof policies_src, "%s/policies/demo", src ? src : ".");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_equals_claim_by_claim),
		cmocka_unit_test(test_same_output_for_any_thread_count),
		cmocka_unit_test(test_bad_rows_rejected_and_reconciled),
		cmocka_unit_test(test_two_policy_sets_in_one_pass),
		cmocka_unit_test(test_monitor_reads_what_was_settled),
		cmocka_unit_test(test_money_sums_never_wrap),
		cmocka_unit_test(test_summary_sink_checks_every_sum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
