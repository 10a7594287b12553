/* test_gen_anomalies.c: sb_gen_run with anomalies_bp (src/gen/anomalies.c):
 * the extract and its key are written, the same bytes for any thread count,
 * every kind is planted, a bad rate or a missing policy folder is refused,
 * and every allocation failure comes back as SB_ENOMEM with nothing leaked
 * (ASan) and no temporary folder left. tests/e2e/audit_planted.sh checks
 * that the audit finds what is planted. */
/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/base.h"
#include "sanbao/gen.h"

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
	snprintf(tmpl, sizeof tmpl, "%s/sanbao-anom-XXXXXX", base && *base ? base : "/tmp");
	char *p = mkdtemp(tmpl);
	assert_non_null(p);
	return strdup(p);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* The demo policies of the source tree (SB_SOURCE_DIR, set by ctest). */
static const char *policies(void)
{
	static char buf[4096];
	const char *src = getenv("SB_SOURCE_DIR");
	snprintf(buf, sizeof buf, "%s/policies/demo", src && *src ? src : ".");
	return buf;
}

static void config(sb_gen_config *cfg, const char *out, uint64_t persons, int bp, int threads)
{
	sb_gen_config_init(cfg);
	cfg->persons = persons;
	cfg->seed = 11;
	cfg->out_dir = out;
	cfg->threads = threads;
	cfg->policies_src = policies();
	cfg->anomalies_bp = bp;
}

static void test_extract_and_key(void **state)
{
	(void)state;
	char *a = temp_dir(), *b = temp_dir();
	sb_gen_config cfg;
	sb_gen_stats st;
	sb_diag d;
	config(&cfg, a, 600, 500, 1);
	assert_int_equal(sb_gen_run(&cfg, &st, &d), SB_OK);
	for (int k = 0; k < SB_GEN_ANOMALY_KINDS - 1; k++) /* every kind but cost_outlier */
		if (!st.anomalies[k])
			fail_msg("kind %s was not planted", sb_gen_anomaly_name(k));
	assert_true(st.extract_rows > st.claims);
	assert_int_equal(st.extract_rejected, 0);
	config(&cfg, b, 600, 500, 3);
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);
	static const char *const names[] = { "extract.csv", "anomalies.csv", "claims.csv" };
	for (int i = 0; i < 3; i++) {
		size_t na, nb;
		char *x = slurp(a, names[i], &na), *y = slurp(b, names[i], &nb);
		if (na != nb || memcmp(x, y, na))
			fail_msg("%s differs between 1 and 3 threads", names[i]);
		if (i == 0)
			assert_non_null(strstr(x, ",mdtrt_id,begin,actual_"));
		free(x);
		free(y);
	}
	struct stat sb;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s/.anomalies", a);
	assert_int_not_equal(stat(tmp, &sb), 0);
	rm_rf(a);
	rm_rf(b);
	free(a);
	free(b);
}

static void test_bad_config(void **state)
{
	(void)state;
	char *a = temp_dir();
	sb_gen_config cfg;
	sb_diag d;
	config(&cfg, a, 50, SB_GEN_MAX_ANOMALIES + 1, 1);
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	config(&cfg, a, 50, 100, 1);
	cfg.policies_src = NULL;
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_EINPUT);
	rm_rf(a);
	free(a);
}

/* Every allocation fails in turn: SB_ENOMEM each time, nothing left behind. */
static void test_allocation_failures(void **state)
{
	(void)state;
	char *root = temp_dir();
	sb_gen_config cfg;
	sb_diag d;
	config(&cfg, root, 40, 2000, 1);
	sb_alloc_fail_after(-1);
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);
	long total = sb_alloc_fail_after(-1);
	assert_true(total > 0);
	for (long i = 0; i < total; i++) {
		sb_alloc_fail_after(i);
		sb_status st = sb_gen_run(&cfg, NULL, &d);
		sb_alloc_fail_after(-1);
		if (st != SB_ENOMEM)
			fail_msg("allocation %ld of %ld failed: got status %d (%s)", i, total,
				 (int)st, d.message);
	}
	assert_int_equal(sb_gen_run(&cfg, NULL, &d), SB_OK);
	rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_and_key),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
