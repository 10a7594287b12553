/* test_explain.c: the golden test of the explanation. The claims of
 * tests/golden/explain/ (a chain with bands crossed, a repeat deductible, a
 * cap that binds, a penalty, a skip and a skip by a penalty entry, a layer
 * paid elsewhere, refusals before and inside the chain) are settled one by
 * one with a trace; its text and JSON renderings must equal the committed
 * <id>.txt and <id>.json byte for byte. The .txt files are what
 * `sanbao settle --explain` printed before the trace existed (see
 * tests/e2e/explain.sh, which checks the CLI against the same files).
 * SB_UPDATE_GOLDEN=1 rewrites the .json files instead of comparing them. */
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

#include "policy/policy_int.h"
#include "sanbao/csv.h"
#include "sanbao/explain.h"
#include "sanbao/settle.h"

#define DIR "tests/golden/explain"

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

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void compare(const char *path, const char *got, size_t n, bool update)
{
	if (update) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fwrite(got, 1, n, f);
		fclose(f);
		return;
	}
	size_t wn = 0;
	char *want = slurp(path, &wn);
	if (!want)
		fail_msg("%s: missing (SB_UPDATE_GOLDEN=1 writes it)", path);
	if (wn != n || memcmp(want, got, n)) {
		size_t i = 0, line = 1;
		while (i < n && i < wn && want[i] == got[i])
			line += got[i++] == '\n';
		fail_msg("%s: differs from line %zu on; got:\n%.*s", path, line, (int)n, got);
	}
	free(want);
}

typedef struct person {
	sb_person p;
} person;

static void test_golden_explanations(void **state)
{
	(void)state;
	const char *src = getenv("SB_SOURCE_DIR");
	assert_non_null(src);
	/* Paths in the explanation are as given: load from the source dir. */
	assert_int_equal(chdir(src), 0);
	bool update = getenv("SB_UPDATE_GOLDEN") && *getenv("SB_UPDATE_GOLDEN") == '1';
	sb_diag d;
	sb_policyset *set;
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_dir(set, DIR "/policies", &d))
		fail_msg("%s", d.message);

	person persons[8];
	size_t np = 0;
	sb_csv *c;
	assert_int_equal(sb_csv_open(DIR "/persons.csv", &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		sb_person *p = &persons[np++].p;
		memset(p, 0, sizeof *p);
		sb_csv_field f = col(c, "id");
		const char *why;
		assert_int_equal(sb_id_check(f.p, f.n, &p->birth, &why), SB_OK);
		memcpy(p->id, f.p, SB_ID_LEN);
		memcpy(p->region, col(c, "region").p, 6);
		p->scheme = SB_SCHEME_RESIDENT;
		p->employment = SB_EMP_UNKNOWN;
		p->tier = -1;
	}
	sb_csv_free(c);
	assert_int_equal(sb_csv_open(DIR "/identities.csv", &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		sb_csv_field f = col(c, "person");
		for (size_t i = 0; i < np; i++)
			if (!memcmp(persons[i].p.id, f.p, SB_ID_LEN)) {
				sb_ident *id = &persons[i].p.idents[persons[i].p.nidents++];
				f = col(c, "identity");
				id->sym = sb_policyset_symbol(set, SB_SYM_IDENTITY, f.p, f.n);
				const char *why;
				f = col(c, "from");
				assert_int_equal(sb_date_parse(f.p, f.n, 0, &id->from, &why), SB_OK);
				id->to = INT32_MAX;
			}
	}
	sb_csv_free(c);

	/* The claims are in person, date order already. */
	sb_trace *t = malloc(sizeof *t);
	sb_acc acc;
	sb_acc_init(&acc);
	const sb_person *last = NULL;
	size_t nclaims = 0;
	assert_int_equal(sb_csv_open(DIR "/claims.csv", &c, &d), SB_OK);
	while (sb_csv_next(c, &d) == 1) {
		char id[32], level[32];
		sb_claim cl;
		memset(&cl, 0, sizeof cl);
		sb_csv_field f = col(c, "id");
		snprintf(id, sizeof id, "%.*s", (int)f.n, f.p);
		cl.id = id;
		f = col(c, "person");
		const sb_person *p = NULL;
		for (size_t i = 0; i < np; i++)
			if (!memcmp(persons[i].p.id, f.p, SB_ID_LEN))
				p = &persons[i].p;
		assert_non_null(p);
		if (p != last)
			sb_acc_reset(&acc);
		last = p;
		const char *why;
		f = col(c, "date");
		assert_int_equal(sb_date_parse(f.p, f.n, 0, &cl.date, &why), SB_OK);
		f = col(c, "visit");
		cl.visit = (uint8_t)sb_name_index(sb_visit_names, f.p, f.n);
		f = col(c, "level");
		snprintf(level, sizeof level, "%.*s", (int)f.n, f.p);
		cl.level_name = level;
		cl.level = sb_policyset_symbol(set, SB_SYM_LEVEL, f.p, f.n);
		f = col(c, "care_region");
		cl.place = !memcmp(f.p, p->region, 6) ? SB_PLACE_LOCAL :
			   !memcmp(f.p, p->region, 2) ? SB_PLACE_IN_PROVINCE : SB_PLACE_CROSS_PROVINCE;
		f = col(c, "filing");
		cl.filing = (uint8_t)sb_name_index(sb_filing_names, f.p, f.n);
		cl.total = money(col(c, "total"));
		cl.in_scope = money(col(c, "in_scope"));
		cl.pre_selfpay = money(col(c, "pre_selfpay"));
		cl.over_limit = money(col(c, "over_limit"));
		f = col(c, "paid_basic");
		if (f.n) {
			cl.paid[0].layer = sb_policyset_symbol(set, SB_SYM_LAYER, "basic", 5);
			cl.paid[0].fen = money(f);
			cl.npaid = 1;
		}
		sb_result r;
		const sb_policy *pol = sb_policyset_find(set, p->region);
		sb_status st = sb_settle_claim(set, pol, p, &cl, &acc, &r, t, &d);
		assert_int_equal(st != SB_OK, t->refused);

		char *buf = NULL, path[PATH_MAX];
		size_t n = 0;
		FILE *m = open_memstream(&buf, &n);
		sb_explain_text(m, set, t);
		fclose(m);
		snprintf(path, sizeof path, DIR "/%s.txt", id);
		compare(path, buf, n, false);
		free(buf);
		m = open_memstream(&buf, &n);
		sb_explain_json(m, set, t);
		fclose(m);
		snprintf(path, sizeof path, DIR "/%s.json", id);
		compare(path, buf, n, update);
		free(buf);
		nclaims++;
	}
	sb_csv_free(c);
	assert_int_equal(nclaims, 9);
	sb_acc_release(&acc);
	free(t);
	sb_policyset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_explanations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
