/* test_gen.c: `sanbao gen`'s generator: the same inputs give the same
 * bytes (and a different seed different ones) whatever the thread count;
 * every ID is valid and unique; every claim's parts add up to its total;
 * row counts match the stats; the policy copy; bad configs and failed
 * allocations come back as clean errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/base.h"
#include "sanbao/gen.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *const files[3] = { "persons.csv", "identities.csv",
				      "claims.csv" };

static void rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL) {
			char sub[4096];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static char *temp_dir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];

	snprintf(tmpl, sizeof tmpl, "%s/sanbao-gen-XXXXXX",
		 base && *base ? base : "/tmp");
	char *p = mkdtemp(tmpl);

	assert_non_null(p);
	return strdup(p);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

typedef struct blob {
	char *p;
	size_t n;
} blob;

static blob slurp(const char *dir, const char *name)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "rb");
	blob b = { NULL, 0 };

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	b.n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(b.n + 1);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, b.n, f), b.n);
	b.p[b.n] = '\0';
	fclose(f);
	free(path);
	return b;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int exists(const char *dir, const char *name)
{
	char *path = join(dir, name);
	struct stat st;
	int ok = stat(path, &st) == 0;

	free(path);
	return ok;
}

/* The fields of one line, split at commas in place (the generator never
 * quotes). Returns the number of fields; *next is the following line. */
static int split(char *line, char **next, char **f, int max)
{
	char *end = strchr(line, '\n');
	int n = 0;

	assert_non_null(end);
	*end = '\0';
	*next = end + 1;
	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p == ',') {
			*p = '\0';
			assert_true(n < max);
			f[n++] = p + 1;
		}
	}
	return n;
}

static sb_fen fen(const char *s)
{
	sb_fen v;
	const char *why;

	if (sb_money_parse(s, strlen(s), &v, &why) != SB_OK)
		fail_msg("amount \"%s\" %s", s, why);
	return v;
}

static sb_gen_stats run(const char *out, uint64_t persons, uint64_t seed,
			int threads)
{
	sb_gen_config cfg;
	sb_gen_stats stats;
	sb_diag d;

	sb_gen_config_init(&cfg);
	cfg.persons = persons;
	cfg.seed = seed;
	cfg.threads = threads;
	cfg.out_dir = out;
	if (sb_gen_run(&cfg, &stats, &d) != SB_OK)
		fail_msg("sb_gen_run: %s", d.message);
	return stats;
}

static int same_files(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		blob x = slurp(a, files[i]), y = slurp(b, files[i]);
		int same = x.n == y.n && memcmp(x.p, y.p, x.n) == 0;

		free(x.p);
		free(y.p);
		if (!same)
			return 0;
	}
	return 1;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, SB_ID_LEN);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* ---- determinism -------------------------------------------------------- */

static void test_same_seed_same_bytes(void **state)
{
	(void)state;
	char *root = temp_dir();
	char *a = join(root, "a"), *b = join(root, "b"), *c = join(root, "c");

	run(a, 5000, 11, 2);
	run(b, 5000, 11, 2);
	run(c, 5000, 12, 2);
	assert_true(same_files(a, b));
	for (int i = 0; i < 3; i++) {
		blob x = slurp(a, files[i]), y = slurp(c, files[i]);

		/* Every file, not just one, depends on the seed. */
		assert_false(x.n == y.n && memcmp(x.p, y.p, x.n) == 0);
		free(x.p);
		free(y.p);
	}
	rm_rf(root);
	free(a);
	free(b);
	free(c);
	free(root);
}

static void test_threads_same_bytes(void **state)
{
	(void)state;
	char *root = temp_dir();
	char *one = join(root, "one");

	sb_gen_stats s1 = run(one, 7777, 3, 1);

	/* 2 is the default; 3 and 7 split the households unevenly. */
	static const int counts[] = { 2, 3, 7 };

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		char name[16];

		snprintf(name, sizeof name, "t%d", counts[i]);

		char *dir = join(root, name);
		sb_gen_stats s = run(dir, 7777, 3, counts[i]);

		assert_true(same_files(one, dir));
		assert_memory_equal(&s, &s1, sizeof s);
		free(dir);
	}
	rm_rf(root);
	free(one);
	free(root);
}

/* ---- content ------------------------------------------------------------ */

static void test_rows_ids_and_amounts(void **state)
{
	(void)state;
	const uint64_t n = 20000;
	char *out = temp_dir();
	sb_gen_stats st = run(out, n, 2024, 2);
	char *f[16], *next;

	assert_int_equal(st.persons, n);
	assert_true(st.households > n / 5 && st.households < n);
	assert_int_equal(st.policy_files, 0);

	/* persons.csv: valid, unique IDs; age structure. */
	blob pb = slurp(out, "persons.csv");
	char (*ids)[SB_ID_LEN] = malloc(n * SB_ID_LEN);
	uint64_t rows = 0, old = 0, employees = 0, retired = 0;
	char *line = pb.p;

	assert_non_null(ids);
	assert_int_equal(split(line, &next, f, 16), 8);
	assert_string_equal(f[0], "id");
	assert_string_equal(f[5], "income");
	assert_string_equal(f[6], "wage_base");
	assert_string_equal(f[7], "residence");
	for (line = next; *line; line = next, rows++) {
		const char *why = "";
		sb_date birth;

		assert_int_equal(split(line, &next, f, 16), 8);
		if (sb_id_check(f[0], strlen(f[0]), &birth, &why) != SB_OK)
			fail_msg("row %llu: ID %s %s", (unsigned long long)rows,
				 f[0], why);
		assert_true(rows < n);
		memcpy(ids[rows], f[0], SB_ID_LEN);
		if (sb_age_years(birth, sb_date_from_ymd(2024, 1, 1)) >= 60)
			old++;
		assert_true(!strcmp(f[1], "employee") || !strcmp(f[1], "resident"));
		assert_true(!strncmp(f[2], "990", 3) && strlen(f[2]) == 6);
		assert_true(f[3][0] == 'h');
		if (!strcmp(f[1], "employee")) {
			employees++;
			retired += !strcmp(f[4], "retired");
			assert_true(!strcmp(f[4], "active") || !strcmp(f[4], "retired"));
			/* Funding facts: a wage base for the active only; urban. */
			assert_true(!strcmp(f[4], "active") ? atol(f[6]) >= 1000 : !f[6][0]);
			assert_string_equal(f[7], "urban");
		} else {
			assert_string_equal(f[4], "");
			assert_string_equal(f[6], "");
			assert_true(!strcmp(f[7], "urban") || !strcmp(f[7], "rural"));
		}
		assert_true(atol(f[5]) > 0);
	}
	assert_int_equal(rows, n);
	qsort(ids, n, SB_ID_LEN, cmp_id);
	for (uint64_t i = 1; i < n; i++)
		if (!memcmp(ids[i - 1], ids[i], SB_ID_LEN))
			fail_msg("ID %.18s appears twice", ids[i]);
	/* Calibration, loosely (20000 persons: a few standard errors). */
	assert_true(old > n * 19 / 100 && old < n * 23 / 100);
	assert_true(employees > n * 25 / 100 && employees < n * 31 / 100);
	assert_true(retired > employees * 24 / 100 && retired < employees * 31 / 100);

	/* identities.csv: known persons and ids, from <= to, some ending. */
	blob ib = slurp(out, "identities.csv");
	uint64_t with_to = 0, without_to = 0;

	rows = 0;
	assert_int_equal(split(ib.p, &next, f, 16), 4);
	assert_string_equal(f[0], "person");
	for (line = next; *line; line = next, rows++) {
		static const char *const known[] = { "tekun", "dibao", "monitored",
						     "dibao_edge", "illness_poor",
						     "tuopin" };
		sb_date from, to;
		const char *why;
		int ok = 0;

		assert_int_equal(split(line, &next, f, 16), 4);
		assert_non_null(bsearch(f[0], ids, n, SB_ID_LEN, cmp_id));
		for (size_t i = 0; i < 6; i++)
			ok |= !strcmp(f[1], known[i]);
		assert_true(ok);
		assert_int_equal(sb_date_parse(f[2], strlen(f[2]), 0, &from, &why), SB_OK);
		if (f[3][0]) {
			assert_int_equal(sb_date_parse(f[3], strlen(f[3]), 0, &to, &why),
					 SB_OK);
			assert_true(from <= to);
			with_to++;
		} else {
			without_to++;
		}
	}
	assert_int_equal(rows, st.identities);
	assert_true(with_to > 0 && without_to > with_to);

	/* claims.csv: parts add up, in-scope 70-89%, dates in order, a
	 * person's claims not together, unique claim ids. */
	blob cb = slurp(out, "claims.csv");
	char prev_date[11] = "", prev_person[SB_ID_LEN + 1] = "";
	uint64_t person_changes = 0, admissions = 0, cross = 0;
	char (*cids)[16] = malloc(st.claims * 16);

	assert_non_null(cids);
	rows = 0;
	assert_int_equal(split(cb.p, &next, f, 16), 13);
	assert_string_equal(f[8], "total");
	assert_string_equal(f[12], "out_of_scope");
	for (line = next; *line; line = next, rows++) {
		sb_date day;
		const char *why;

		assert_int_equal(split(line, &next, f, 16), 13);
		assert_true(rows < st.claims);
		assert_int_equal(strlen(f[0]), 15);
		memcpy(cids[rows], f[0], 16);
		assert_non_null(bsearch(f[1], ids, n, SB_ID_LEN, cmp_id));
		assert_int_equal(sb_date_parse(f[2], strlen(f[2]), 0, &day, &why), SB_OK);
		assert_true(!strncmp(f[2], "2024-", 5));
		assert_true(strcmp(f[2], prev_date) >= 0);
		memcpy(prev_date, f[2], 11);
		if (strcmp(f[1], prev_person))
			person_changes++;
		memcpy(prev_person, f[1], SB_ID_LEN + 1);

		sb_fen total = fen(f[8]), in = fen(f[9]), pre = fen(f[10]),
		       over = fen(f[11]), out_of = fen(f[12]);

		if (in + pre + over + out_of != total)
			fail_msg("claim %s: parts do not add up to %s", f[0], f[8]);
		assert_true(in >= 0 && pre >= 0 && over >= 0 && out_of >= 0);
		assert_true(total >= 100);
		assert_true(in * 100 >= total * 69 && in * 100 <= total * 90);
		assert_true(pre * 100 <= total * 8 + 100 && over * 100 <= total * 3 + 100);
		if (!strcmp(f[3], "inpatient")) {
			admissions++;
			cross += strncmp(f[5], "99", 2) != 0;
		}
		assert_true(!strcmp(f[4], "primary") || !strcmp(f[4], "secondary") ||
			    !strcmp(f[4], "tertiary"));
	}
	assert_int_equal(rows, st.claims);
	/* About two claims a person, and far more person changes than
	 * persons: the file is not grouped by person. */
	assert_true(st.claims > n * 3 / 2 && st.claims < n * 5 / 2);
	assert_true(person_changes > rows * 9 / 10);
	assert_true(admissions > n * 15 / 100 && admissions < n * 30 / 100);
	assert_true(cross * 100 > admissions * 2 && cross * 100 < admissions * 7);
	qsort(cids, st.claims, 16, cmp_str);
	for (uint64_t i = 1; i < st.claims; i++)
		if (!strcmp(cids[i - 1], cids[i]))
			fail_msg("claim id %s appears twice", cids[i]);
	assert_int_equal(st.bytes, pb.n + ib.n + cb.n);

	free(cids);
	free(ids);
	free(pb.p);
	free(ib.p);
	free(cb.p);
	rm_rf(out);
	free(out);
}

/* ---- policies ------------------------------------------------------------ */

static void test_policy_copy(void **state)
{
	(void)state;
	char *root = temp_dir();
	char *src = join(root, "src"), *sub = join(src, "sub"),
	     *none = join(src, "none"), *out = join(root, "deep/out");
	sb_gen_config cfg;
	sb_gen_stats st;
	sb_diag d;

	assert_int_equal(mkdir(src, 0777), 0);
	assert_int_equal(mkdir(sub, 0777), 0);
	assert_int_equal(mkdir(none, 0777), 0);
	write_file(src, "990000.yaml", "sanbao: 1\n");
	write_file(src, "notes.txt", "not a policy\n");
	write_file(sub, "990100.yaml", "sanbao: 1\nextends: ../990000.yaml\n");
	write_file(none, "readme.md", "nothing\n");

	sb_gen_config_init(&cfg);
	cfg.persons = 10;
	cfg.out_dir = out;
	cfg.policies_src = src;
	assert_int_equal(sb_gen_run(&cfg, &st, &d), SB_OK);
	assert_int_equal(st.policy_files, 2);
	assert_true(exists(out, "policies/990000.yaml"));
	assert_true(exists(out, "policies/sub/990100.yaml"));
	assert_false(exists(out, "policies/notes.txt"));
	assert_false(exists(out, "policies/none"));

	blob b = slurp(out, "policies/sub/990100.yaml");

	assert_string_equal(b.p, "sanbao: 1\nextends: ../990000.yaml\n");
	free(b.p);

	/* A folder without policies, and one that does not exist. */
	cfg.policies_src = none;
	assert_int_equal(sb_gen_run(&cfg, &st, &d), SB_ENOTFOUND);
	assert_non_null(strstr(d.message, "no policy files"));
	cfg.policies_src = "/nonexistent/sanbao/policies";
	assert_int_equal(sb_gen_run(&cfg, &st, &d), SB_ENOTFOUND);

	/* The bundled demo policies, when they are there. */
	const char *srcdir = getenv("SB_SOURCE_DIR");

	if (srcdir) {
		char *demo = join(srcdir, "policies/demo");
		struct stat sb;

		if (stat(demo, &sb) == 0) {
			cfg.policies_src = demo;
			assert_int_equal(sb_gen_run(&cfg, &st, &d), SB_OK);
			assert_true(st.policy_files >= 1);
		}
		free(demo);
	}

	rm_rf(root);
	free(src);
	free(sub);
	free(none);
	free(out);
	free(root);
}

/* ---- errors ------------------------------------------------------------- */

static void test_bad_config(void **state)
{
	(void)state;
	char *root = temp_dir();
	sb_gen_config cfg;
	sb_diag d;

	sb_gen_config_init(&cfg);
	assert_int_equal(cfg.year, 2024);
	assert_int_equal(cfg.threads, 2);
	cfg.out_dir = root;

	cfg.persons = 0;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "persons"));
	cfg.persons = SB_GEN_MAX_PERSONS + 1;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	cfg.persons = 10;

	cfg.year = 1999;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "year"));
	cfg.year = 2024;

	cfg.threads = 0;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	cfg.threads = SB_GEN_MAX_THREADS + 1;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	cfg.threads = 2;

	cfg.out_dir = NULL;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	cfg.out_dir = "";
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);

	/* An output "folder" below a regular file cannot be made. */
	write_file(root, "file", "x");

	char *below = join(root, "file/out");

	cfg.out_dir = below;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EIO);
	cfg.out_dir = root;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);

	free(below);
	rm_rf(root);
	free(root);
}

/* Every allocation fails in turn: each failure is SB_ENOMEM, and ASan
 * (in the test build) sees no leak. */
static void test_allocation_failures(void **state)
{
	(void)state;
	char *root = temp_dir();
	sb_gen_config cfg;
	sb_diag d;

	sb_gen_config_init(&cfg);
	cfg.persons = 300;
	cfg.out_dir = root;

	sb_alloc_fail_after(-1);
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);

	long total = sb_alloc_fail_after(-1);

	assert_true(total > 0);
	for (long i = 0; i < total; i++) {
		sb_alloc_fail_after(i);

		sb_status st = sb_gen_run(&cfg, NULL, &d);

		sb_alloc_fail_after(-1);
		if (st != SB_ENOMEM)
			fail_msg("allocation %ld of %ld failed: got status %d", i,
				 total, (int)st);
	}
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);
	rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_bytes),
		cmocka_unit_test(test_threads_same_bytes),
		cmocka_unit_test(test_rows_ids_and_amounts),
		cmocka_unit_test(test_policy_copy),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
