/* test_fault.c: makes every allocation fail in turn (the first, then the
 * second, ...) while loading policies, running cases, settling a batch and
 * monitoring settled claims, and checks each time that the failure comes
 * back as SB_ENOMEM with a message, or that the job still succeeds with
 * exactly the outputs of a run without faults, with nothing leaked (ASan). */
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

#include "base/arena.h"
#include "sanbao/batch.h"
#include "sanbao/case.h"
#include "sanbao/policy.h"

static char src[PATH_MAX];

/* Runs job with the n-th allocation failing, for n = 0, 1, ... until a run
 * makes fewer allocations than n (nothing left to fail). Returns the runs. */
static long fail_each(sb_status (*job)(sb_diag *d))
{
	long n;
	/* SB_FAULT_FROM=N starts at the N-th allocation, to debug one failure. */
	const char *from = getenv("SB_FAULT_FROM");
	for (n = from ? atol(from) : 0;; n++) {
		sb_diag d;
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = job(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK) {
			if (st != SB_ENOMEM)
				fail_msg("allocation %ld failing gave status %d: %s", n, st, d.message);
			if (!d.message[0])
				fail_msg("allocation %ld failing gave no message", n);
		}
		if (st == SB_OK && made <= n)
			break;
		if (n > 200000)
			fail_msg("too many allocations");
	}
	return n;
}

static sb_status load_demo(sb_diag *d)
{
	sb_policyset *set;
	char dir[PATH_MAX + 32];
	if (sb_policyset_new(&set))
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	snprintf(dir, sizeof dir, "%s/policies/demo", src);
	sb_status st = sb_policyset_load_dir(set, dir, d);
	sb_policyset_free(set);
	return st;
}

static sb_status run_cases(sb_diag *d)
{
	char dir[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/tests/cases/shared", src);
	char *paths[] = {dir};
	sb_case_stats stats;
	FILE *sink = fopen("/dev/null", "w");
	sb_status st = sb_case_run_paths(paths, 1, sink, false, &stats);
	fclose(sink);
	if (st)
		return sb_diag_set(d, st, NULL, 0, 0, "out of memory");
	/* Without injected failures every shared case passes. */
	return stats.failed ? sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "a case failed under OOM")
			    : SB_OK;
}

static char outdir[64], refdir[96];

static const char *const outputs[] = {"settlements.csv", "rejects.csv", "summary.json",
				      "warnings.csv", "approaching.csv", "monitor.json"};
#define NOUT (sizeof outputs / sizeof *outputs)

static sb_status run_demo(const char *out, bool monitor_only, sb_diag *d)
{
	char pol[PATH_MAX + 32], persons[PATH_MAX + 32], idents[PATH_MAX + 32],
		claims[PATH_MAX + 32];
	snprintf(pol, sizeof pol, "%s/policies/demo", src);
	snprintf(persons, sizeof persons, "%s/data/demo/persons.csv", src);
	snprintf(idents, sizeof idents, "%s/data/demo/identities.csv", src);
	if (monitor_only)
		snprintf(claims, sizeof claims, "%s/settlements.csv", refdir);
	else
		snprintf(claims, sizeof claims, "%s/data/demo/claims.csv", src);
	sb_batch_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policies_dir = pol;
	cfg.persons_path = persons;
	cfg.identities_path = idents;
	cfg.claims_path = claims;
	cfg.out_dir = out;
	cfg.threads = 1;
	cfg.monitor = true;
	cfg.monitor_only = monitor_only;
	cfg.poverty_line = 230000; /* fen: the impoverishment counts too */
	sb_batch_totals t;
	return sb_batch_settle(&cfg, &t, d);
}

/* A file's text without summary.json's timings (its "run" line). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	char line[8192];
	while (fgets(line, sizeof line, f))
		if (!strstr(line, "\"run\": {"))
			fputs(line, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* A run that reports success must have written what a run without
 * faults writes: every output, the same bytes. */
static sb_status same_outputs(bool monitor_only, sb_diag *d)
{
	for (size_t k = 0; k < NOUT; k++) {
		if (monitor_only && k < 3 && k != 1)
			continue; /* monitor writes no settlements or summary */
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof a, "%s/%s", outdir, outputs[k]);
		snprintf(b, sizeof b, "%s%s/%s", refdir, monitor_only ? "-mon" : "", outputs[k]);
		char *x = slurp(a), *y = slurp(b);
		bool same = x && y && !strcmp(x, y);
		free(x);
		free(y);
		if (!same)
			return sb_diag_set(d, SB_EIO, a, 0, 0, "reported success under an injected "
					   "failure, but %s differs from a run without faults",
					   outputs[k]);
	}
	return SB_OK;
}

static sb_status checked(bool monitor_only, sb_diag *d)
{
	for (size_t k = 0; k < NOUT; k++) {
		char a[PATH_MAX];
		snprintf(a, sizeof a, "%s/%s", outdir, outputs[k]);
		unlink(a); /* what a success shows must be its own */
	}
	sb_status st = run_demo(outdir, monitor_only, d);
	return st ? st : same_outputs(monitor_only, d);
}

static sb_status settle_demo(sb_diag *d)
{
	return checked(false, d);
}

static sb_status monitor_demo(sb_diag *d)
{
	return checked(true, d);
}

static void test_policy_load_oom(void **state)
{
	(void)state;
	assert_true(fail_each(load_demo) > 50);
}

static void test_cases_oom(void **state)
{
	(void)state;
	assert_true(fail_each(run_cases) > 50);
}

static void cleanup(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s %s-mon", outdir, refdir, refdir);
	assert_int_equal(system(cmd), 0);
}

static void setup_dirs(void)
{
	sb_diag d;
	snprintf(outdir, sizeof outdir, "/tmp/sanbao-test-fault-XXXXXX");
	assert_non_null(mkdtemp(outdir));
	snprintf(refdir, sizeof refdir, "%s-ref", outdir);
	assert_int_equal(run_demo(refdir, false, &d), SB_OK);
	char mon[128];
	snprintf(mon, sizeof mon, "%s-mon", refdir);
	assert_int_equal(run_demo(mon, true, &d), SB_OK);
}

static void test_batch_oom(void **state)
{
	(void)state;
	setup_dirs();
	/* The comparison can fail: a changed output is found. */
	sb_diag d;
	assert_int_equal(settle_demo(&d), SB_OK);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/monitor.json", refdir);
	char *text = slurp(path);
	assert_non_null(text);
	FILE *f = fopen(path, "wb");
	fputs(text, f);
	fputs(" ", f);
	fclose(f);
	assert_int_equal(same_outputs(false, &d), SB_EIO);
	f = fopen(path, "wb");
	fputs(text, f);
	fclose(f);
	free(text);
	assert_true(fail_each(settle_demo) > 50);
	cleanup();
}

static void test_monitor_oom(void **state)
{
	(void)state;
	setup_dirs();
	assert_true(fail_each(monitor_demo) > 50);
	cleanup();
}

int main(void)
{
	const char *s = getenv("SB_SOURCE_DIR");
	snprintf(src, sizeof src, "%s", s ? s : ".");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_load_oom),
		cmocka_unit_test(test_cases_oom),
		cmocka_unit_test(test_batch_oom),
		cmocka_unit_test(test_monitor_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
