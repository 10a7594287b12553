/* test_policy_files.c: what the policy loader does with the files it is
 * pointed at (issue 14 items 10 and 11): `extends` stays inside the policy
 * folder tree unless sb_policyset_set_root widens it, a parent that is not a
 * regular file or not a policy is refused without echoing its text, and a
 * file that is not UTF-8 is refused with the line of its first bad byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanbao/policy.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static const char parent[] = "sanbao: 1\n"
			     "region: {code: \"980000\"}\n"
			     "versions:\n"
			     "  - from: 2023-01-01\n"
			     "    layers:\n"
			     "      - {id: basic, rate: 0.7}\n";

static char *child(const char *extends)
{
	static char buf[512];

	snprintf(buf, sizeof buf,
		 "sanbao: 1\n"
		 "region: {code: \"980100\"}\n"
		 "extends: %s\n"
		 "versions:\n"
		 "  - from: 2023-01-01\n"
		 "    layers:\n"
		 "      - {id: basic, rate: 0.8}\n",
		 extends);
	return buf;
}

/* Loads rel (under root) into a fresh set; the set's root is fixed first
 * when fixed_root is not NULL. */
static sb_status load(const char *rel, const char *fixed_root, sb_diag *d)
{
	sb_policyset *set;
	char path[512];

	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (fixed_root)
		assert_int_equal(sb_policyset_set_root(set, fixed_root, d), SB_OK);
	snprintf(path, sizeof path, "%s/%s", root, rel);
	sb_diag_clear(d);
	sb_status st = sb_policyset_load_file(set, path, NULL, d);

	sb_policyset_free(set);
	return st;
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/sb_pol_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(root));
	char sub[300];

	snprintf(sub, sizeof sub, "%s/city", root);
	assert_int_equal(mkdir(sub, 0700), 0);
	put("980000.yaml", parent);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_extends_confined(void **state)
{
	(void)state;
	sb_diag d;

	/* Beside the child: fine. */
	put("city/980000.yaml", parent);
	put("city/980100.yaml", child("980000.yaml"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_OK);
	/* One folder up, as the format's own example (`extends: ../500000.yaml`):
	 * the default root is the parent of the loaded file's folder. */
	put("980000.yaml", parent);
	put("city/980100.yaml", child("../980000.yaml"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_OK);
	/* Two folders up: outside the tree of the file loaded... */
	char sub[300];
	snprintf(sub, sizeof sub, "%s/city/town", root);
	assert_int_equal(mkdir(sub, 0700), 0);
	put("city/town/980101.yaml", child("../../980000.yaml"));
	assert_int_equal(load("city/town/980101.yaml", NULL, &d), SB_EPOLICY);
	assert_non_null(strstr(d.message, "outside the policy folder"));
	assert_int_equal(d.line, 3);
	/* ...unless the root says otherwise. */
	assert_int_equal(load("city/town/980101.yaml", root, &d), SB_OK);
	/* An absolute path is held to the same rule. */
	put("city/980100.yaml", child("/etc/passwd"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_EPOLICY);
	assert_non_null(strstr(d.message, "outside the policy folder"));
	assert_int_equal(load("city/980100.yaml", root, &d), SB_EPOLICY);
}

static void test_parent_not_a_policy(void **state)
{
	(void)state;
	sb_diag d;

	put("city/notes.txt", "root:SECRET-TEXT:19000:0:99999:7:::\n");
	put("city/980100.yaml", child("notes.txt"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_EPOLICY);
	assert_non_null(strstr(d.message, "not a policy file"));
	assert_null(strstr(d.message, "SECRET"));
	/* A mapping without sanbao: is no policy either. */
	put("city/notes.txt", "SECRET-KEY: 1\n");
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_EPOLICY);
	assert_null(strstr(d.message, "SECRET"));

	/* A FIFO is refused before it is opened (no hang), a folder too. */
	char fifo[400];

	snprintf(fifo, sizeof fifo, "%s/city/pipe.yaml.in", root);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	put("city/980100.yaml", child("pipe.yaml.in"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_EIO);
	assert_non_null(strstr(d.message, "not a regular file (a pipe or FIFO)"));
	unlink(fifo);
	snprintf(fifo, sizeof fifo, "%s/city/sub.yaml", root);
	assert_int_equal(mkdir(fifo, 0700), 0);
	put("city/980100.yaml", child("sub.yaml"));
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_EIO);
	assert_non_null(strstr(d.message, "a folder"));
}

static void test_encoding(void **state)
{
	(void)state;
	sb_diag d;

	/* 张三 in GBK on line 2, column 32. */
	put("city/980100.yaml", "sanbao: 1\n"
				"region: {code: \"980100\", name: \xD5\xC5\xC8\xFD}\n"
				"versions: []\n");
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_ESYNTAX);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.column, 32);
	assert_non_null(strstr(d.message, "not UTF-8 text (byte 0xD5)"));
	assert_non_null(strstr(d.message, "iconv -f GBK -t UTF-8"));
	/* A byte that is no GBK lead is not called GBK. */
	put("city/980100.yaml", "sanbao: 1\n# \xFF\n");
	assert_int_equal(load("city/980100.yaml", NULL, &d), SB_ESYNTAX);
	assert_int_equal(d.line, 2);
	assert_null(strstr(d.message, "GBK"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_extends_confined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_not_a_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoding, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
