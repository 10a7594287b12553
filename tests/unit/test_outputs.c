/* test_outputs.c: outputs that are complete or absent (io/outfile.h): the
 * commit, the abort, the folder lock, stale files, write errors named with
 * their file, inputs that are outputs; and the rejects spilled to sorted
 * runs and merged back (batch/rejects.h), with ID-shaped tokens masked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/rejects.h"
#include "io/outfile.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sanbao-test-outputs-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void put(const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *get(const char *name, char *buf, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t k = fread(buf, 1, n - 1, f);
	buf[k] = '\0';
	fclose(f);
	return buf;
}

/* Names in dir other than the lock; "" when none. */
static int hidden_left(void)
{
	DIR *dh = opendir(dir);
	assert_non_null(dh);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dh)))
		n += !strncmp(e->d_name, ".sanbao-tmp-", 12);
	closedir(dh);
	return n;
}

/* ---- outfile ----------------------------------------------------------- */

static void test_commit_and_abort(void **state)
{
	(void)state;
	sb_diag d;
	sb_outdir *od;
	put("summary.json", "old summary\n");
	put("settlements.csv", "old settlements\n");
	put("warnings.csv", "old warnings\n");
	/* A run that fails: nothing of it shows, the old files stay. */
	assert_int_equal(sb_outdir_open(dir, &od, &d), SB_OK);
	FILE *f = sb_outdir_create(od, "settlements.csv", &d);
	assert_non_null(f);
	fputs("new settlements\n", f);
	assert_int_equal(hidden_left(), 1);
	sb_outdir_close(od);
	assert_int_equal(hidden_left(), 0);
	char buf[256];
	assert_string_equal(get("settlements.csv", buf, sizeof buf), "old settlements\n");
	assert_string_equal(get("summary.json", buf, sizeof buf), "old summary\n");
	/* A run that succeeds: its files, the marker last, stale ones gone. */
	assert_int_equal(sb_outdir_open(dir, &od, &d), SB_OK);
	f = sb_outdir_create(od, "settlements.csv", &d);
	assert_non_null(f);
	assert_int_equal(sb_outdir_write(od, f, "new settlements\n", 16, &d), SB_OK);
	assert_int_equal(sb_outdir_finish(od, f, &d), SB_OK);
	f = sb_outdir_create(od, "summary.json", &d);
	fputs("new summary\n", f);
	assert_false(exists("rejects.csv"));
	static const char *const stale[] = {"warnings.csv", "monitor.json", NULL};
	assert_int_equal(sb_outdir_commit(od, stale, &d), SB_OK);
	sb_outdir_close(od);
	assert_string_equal(get("settlements.csv", buf, sizeof buf), "new settlements\n");
	assert_string_equal(get("summary.json", buf, sizeof buf), "new summary\n");
	assert_false(exists("warnings.csv"));
	assert_int_equal(hidden_left(), 0);
}

static void test_lock(void **state)
{
	(void)state;
	sb_diag d;
	sb_outdir *a, *b;
	assert_int_equal(sb_outdir_open(dir, &a, &d), SB_OK);
	sb_diag_clear(&d);
	assert_int_equal(sb_outdir_open(dir, &b, &d), SB_EIO);
	assert_null(b);
	assert_non_null(strstr(d.message, "another sanbao run is writing to"));
	assert_non_null(strstr(d.message, dir));
	sb_outdir_close(a);
	assert_int_equal(sb_outdir_open(dir, &b, &d), SB_OK);
	sb_outdir_close(b);
}

/* A killed run's temporary files are swept by the next one. */
static void test_sweep(void **state)
{
	(void)state;
	put(".sanbao-tmp-1-0-settlements.csv", "cut off");
	sb_diag d;
	sb_outdir *od;
	assert_int_equal(sb_outdir_open(dir, &od, &d), SB_OK);
	assert_int_equal(hidden_left(), 0);
	sb_outdir_close(od);
}

/* A write past the file size limit fails like a full disk: named. */
static void test_write_error(void **state)
{
	(void)state;
	struct rlimit old, rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	sb_diag d;
	sb_outdir *od;
	assert_int_equal(sb_outdir_open(dir, &od, &d), SB_OK);
	FILE *f = sb_outdir_create(od, "big.csv", &d);
	assert_non_null(f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	char chunk[1000];
	memset(chunk, 'x', sizeof chunk);
	for (int i = 0; i < 100; i++)
		fwrite(chunk, 1, sizeof chunk, f);
	sb_diag_clear(&d);
	sb_status st = sb_outdir_commit(od, NULL, &d);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(st, SB_EIO);
	assert_non_null(strstr(d.file, "big.csv"));
	assert_non_null(strstr(d.message, "cannot write"));
	sb_outdir_close(od);
	assert_false(exists("big.csv"));
	assert_int_equal(hidden_left(), 0);
}

static void test_refuse_input(void **state)
{
	(void)state;
	put("settlements.csv", "claims named like an output\n");
	put("claims.csv", "claims\n");
	char in[PATH_MAX], link_path[PATH_MAX];
	snprintf(in, sizeof in, "%s/settlements.csv", dir);
	snprintf(link_path, sizeof link_path, "%s/hard.csv", dir);
	assert_int_equal(link(in, link_path), 0);
	static const char *const writes[] = {"settlements.csv", "summary.json", NULL};
	static const char *const removes[] = {"warnings.csv", NULL};
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "the claims file", in, &d),
			 SB_EINPUT);
	assert_non_null(strstr(d.message, "the claims file is the same file as"));
	assert_non_null(strstr(d.message, "overwrite"));
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "the claims file", link_path, &d),
			 SB_EINPUT);
	/* A policy folder: its *.yaml files. */
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "a policy file", dir, &d), SB_OK);
	char yaml[PATH_MAX];
	snprintf(yaml, sizeof yaml, "%s/990100.yaml", dir);
	assert_int_equal(link(in, yaml), 0);
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "a policy file", dir, &d),
			 SB_EINPUT);
	assert_int_equal(unlink(yaml), 0);
	snprintf(in, sizeof in, "%s/claims.csv", dir);
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "the claims file", in, &d), SB_OK);
	/* An input the run would remove as stale. */
	char w[PATH_MAX];
	snprintf(w, sizeof w, "%s/warnings.csv", dir);
	assert_int_equal(rename(in, w), 0);
	sb_diag_clear(&d);
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "the claims file", w, &d),
			 SB_EINPUT);
	assert_non_null(strstr(d.message, "remove"));
	assert_int_equal(sb_out_refuse_input(dir, writes, removes, "x", "/nonexistent", &d), SB_OK);
}

/* ---- rejects ----------------------------------------------------------- */

typedef struct seen {
	size_t n;
	uint8_t file[30000];
	uint64_t line[30000];
	char id[30000][16];
	bool reason_ok;
} seen;

static sb_status collect(void *arg, const sb_reject *x)
{
	seen *s = arg;
	if (s->n == 30000)
		return SB_ELIMIT;
	s->file[s->n] = x->file;
	s->line[s->n] = x->line;
	snprintf(s->id[s->n], sizeof s->id[0], "%.*s", (int)x->idlen, x->id);
	char want[64];
	snprintf(want, sizeof want, "reason of %.*s", (int)x->idlen, x->id);
	if (x->reasonlen != strlen(want) || memcmp(x->reason, want, x->reasonlen))
		s->reason_ok = false;
	s->n++;
	return SB_OK;
}

static void add(sb_rejects *r, int file, uint64_t line, const char *id)
{
	char reason[64];
	snprintf(reason, sizeof reason, "reason of %s", id);
	assert_int_equal(sb_rejects_add(r, file, line, id, strlen(id), reason, true, 100), SB_OK);
}

/* Many more runs than are merged at once, rejects of one line among them:
 * (file, line) order, ties in the order added, through take and offsets. */
static void test_rejects_spill_merge(void **state)
{
	(void)state;
	sb_rejects a, b, all;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&all, 0, sizeof all);
	sb_rejects_init(&a, dir);
	sb_rejects_init(&b, dir);
	sb_rejects_init(&all, dir);
	a.run_bytes = b.run_bytes = all.run_bytes = 2048; /* ~40 rejects a run */
	/* a: claims lines 1..10000 in a scrambled order, chunk-relative (+1000). */
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t line = (i * 7919) % 10000 + 1;
		char id[16];
		snprintf(id, sizeof id, "a%llu", (unsigned long long)line);
		add(&a, 2, line, id);
	}
	assert_true(a.nruns > SB_REJECT_FANIN);
	sb_rejects_offset_lines(&a, 1000);
	/* b: persons rows, and claims at lines that a has too. */
	for (uint64_t i = 0; i < 3000; i++) {
		char id[16];
		snprintf(id, sizeof id, "p%llu", (unsigned long long)(3000 - i));
		add(&b, 0, 3000 - i, id);
	}
	add(&b, 2, 1005, "b1005");
	add(&b, 2, 11000, "b11000");
	assert_int_equal(sb_pass_take_rejects(&all, &a), SB_OK);
	assert_int_equal(sb_pass_take_rejects(&all, &b), SB_OK);
	assert_int_equal(a.n, 0);
	assert_int_equal(all.n, 13002);
	assert_int_equal(all.count[0], 3000);
	assert_int_equal(all.count[2], 10002);
	seen *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->reason_ok = true;
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_rejects_each(&all, collect, s, &d), SB_OK);
	assert_int_equal(s->n, 13002);
	assert_true(s->reason_ok);
	for (size_t i = 0; i < 3000; i++) {
		assert_int_equal(s->file[i], 0);
		assert_int_equal(s->line[i], i + 1);
	}
	for (size_t i = 3001; i < s->n; i++)
		assert_true(s->line[i - 1] <= s->line[i]);
	/* Line 1005: a's (added first), then b's. */
	assert_string_equal(s->id[3000 + 4], "a5");
	assert_int_equal(s->line[3000 + 4], 1005);
	assert_string_equal(s->id[3000 + 5], "b1005");
	assert_string_equal(s->id[s->n - 1], "b11000");
	assert_string_equal(s->id[s->n - 2], "a10000");
	sb_rejects_release(&all);
	free(s);
}

/* Few rejects never touch the disk. */
static void test_rejects_in_memory(void **state)
{
	(void)state;
	sb_rejects r;
	memset(&r, 0, sizeof r);
	add(&r, 2, 9, "c9");
	add(&r, 1, 4, "i4");
	add(&r, 2, 3, "c3");
	assert_int_equal(r.nfds, 0);
	seen *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->reason_ok = true;
	sb_diag d;
	assert_int_equal(sb_rejects_each(&r, collect, s, &d), SB_OK);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->id[0], "i4");
	assert_string_equal(s->id[1], "c3");
	assert_string_equal(s->id[2], "c9");
	assert_true(s->reason_ok);
	sb_rejects_release(&r);
	free(s);
}

/* A spill that fails loses nothing and is reported, with its cause. */
static void test_rejects_spill_fails(void **state)
{
	(void)state;
	sb_rejects r;
	memset(&r, 0, sizeof r);
	sb_rejects_init(&r, "/nonexistent/folder");
	r.run_bytes = 512;
	for (int i = 0; i < 100; i++)
		add(&r, 2, (uint64_t)(100 - i), "c");
	assert_int_equal(r.n, 100);
	assert_int_equal(r.nbuf, 100);
	assert_int_not_equal(r.err, 0);
	sb_rejects all;
	memset(&all, 0, sizeof all);
	sb_rejects_init(&all, dir);
	assert_int_equal(sb_pass_take_rejects(&all, &r), SB_OK);
	seen *s = calloc(1, sizeof *s);
	assert_non_null(s);
	sb_diag d;
	sb_diag_clear(&d);
	assert_int_equal(sb_rejects_each(&all, collect, s, &d), SB_EIO);
	assert_non_null(strstr(d.message, "cannot spill rejected rows"));
	assert_non_null(strstr(d.message, "No such file or directory"));
	sb_rejects_release(&all);
	free(s);
}

static void mask(const char *in, const char *want, size_t count)
{
	char out[256];
	size_t n = strlen(in);
	assert_int_equal(sb_mask_id_tokens(in, n, out), count);
	out[n] = '\0';
	assert_string_equal(out, want);
}

static void test_mask_id_tokens(void **state)
{
	(void)state;
	mask("person \"110105194912310025\" is not enrolled",
	     "person \"110105********0025\" is not enrolled", 1);
	mask("11010519491231002X", "110105********002X", 1);
	mask("11010519491231002x,110105194912310025", "110105********002x,110105********0025",
	     2);
	mask("id110105194912310025;", "id110105********0025;", 1);
	/* Not IDs: 17 or 19 digits, a letter inside. */
	mask("12345678901234567 ", "12345678901234567 ", 0);
	mask("1101051949123100251", "1101051949123100251", 0);
	mask("1101051949A2310025", "1101051949A2310025", 0);
	mask("total 12.50", "total 12.50", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_and_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_spill_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_in_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_spill_fails, setup, teardown),
		cmocka_unit_test(test_mask_id_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
