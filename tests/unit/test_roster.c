/* test_roster.c: `sanbao roster` and `sanbao pseudonymize`. The fixture in
 * tests/fixtures/roster plants every kind of finding (see its README.md);
 * the check must find each of them and nothing else, on the files as they
 * are and on their pseudonymised copies. Also: person keys both ways, the
 * HMAC against openssl(1), key files, the file rewrite's corner cases and
 * failed allocations.
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
#include "sanbao/csv.h"
#include "sanbao/roster.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *source_dir(void)
{
	const char *s = getenv("SB_SOURCE_DIR");

	return s && *s ? s : ".";
}

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

static char *make_tmp(void)
{
	char tmpl[] = "/tmp/sb_roster_XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return strdup(dir);
}

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);

	assert_true(n >= 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);

	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The chosen columns of every record of a CSV, '|' between fields and a
 * line feed after each record, so one string compare checks a whole file.
 * Columns are named, as the outputs promise they can be found by name. */
static char *project(const char *dir, const char *file, const char *const *cols)
{
	char path[4200];
	sb_csv *c;
	sb_diag d;
	int idx[16];
	size_t ncols = 0;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	for (; cols[ncols]; ncols++) {
		const char *names[] = { cols[ncols], NULL };

		idx[ncols] = sb_csv_find(c, names);
		if (idx[ncols] < 0)
			fail_msg("%s has no column %s", file, cols[ncols]);
	}
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	out[0] = '\0';
	int k;

	while ((k = sb_csv_next(c, &d)) != 0) {
		assert_int_equal(k, 1);
		for (size_t i = 0; i < ncols; i++) {
			sb_csv_field f = sb_csv_get(c, (size_t)idx[i]);

			while (n + f.n + 3 > cap) {
				cap *= 2;
				out = realloc(out, cap);
				assert_non_null(out);
			}
			memcpy(out + n, f.p, f.n);
			n += f.n;
			out[n++] = i + 1 < ncols ? '|' : '\n';
			out[n] = '\0';
		}
	}
	sb_csv_free(c);
	return out;
}

static void assert_projection(const char *dir, const char *file, const char *const *cols,
			      const char *want)
{
	char *got = project(dir, file, cols);

	assert_string_equal(got, want);
	free(got);
}

/* Every value of column col of a CSV starts with prefix (or, when prefix
 * is NULL, is empty). */
static void assert_column_prefix(const char *dir, const char *file, const char *col,
				 const char *prefix)
{
	const char *cols[] = { col, NULL };
	char *got = project(dir, file, cols);

	for (char *line = got; *line;) {
		char *e = strchr(line, '\n');

		assert_non_null(e);
		if (prefix)
			assert_memory_equal(line, prefix, strlen(prefix));
		else
			assert_ptr_equal(line, e);
		line = e + 1;
	}
	free(got);
}

static void fixture(char *buf, size_t n, const char *file)
{
	snprintf(buf, n, "%s/tests/fixtures/roster/%s", source_dir(), file);
}

static sb_status run_roster(const char *persons, const char *identities,
			    const char *settlements, const char *out, bool show_ids,
			    sb_roster_totals *t, sb_diag *d)
{
	char policies[4096];

	snprintf(policies, sizeof policies, "%s/policies/demo", source_dir());
	sb_roster_config cfg = {
		.policies_dir = policies,
		.persons_path = persons,
		.identities_path = identities,
		.settlements_path = settlements,
		.out_dir = out,
		.show_ids = show_ids,
	};
	sb_diag_clear(d);
	return sb_roster_check(&cfg, t, d);
}

/* ---- person keys ---------------------------------------------------------- */

static void test_person_key_round_trip(void **state)
{
	(void)state;
	static const char *const ids[] = { "990100196103220076", "99010019700707021X",
					   "11010519491231002X", "990500196703040492" };
	char back[19];
	uint64_t key;
	int pseudo;
	sb_date birth;
	const char *why;

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		assert_int_equal(sb_person_key(ids[i], 18, &key, &pseudo, &birth, &why), SB_OK);
		assert_int_equal(pseudo, 0);
		sb_person_key_text(key, pseudo, back);
		assert_string_equal(back, ids[i]);
	}
	assert_int_equal(sb_person_key("11010519491231002X", 18, &key, &pseudo, &birth, NULL),
			 SB_OK);
	assert_int_equal(key, 11010519491231002ULL);
	assert_int_equal(birth, sb_date_from_ymd(1949, 12, 31));

	/* Pseudonyms: every hex digit, both ends of the 64-bit range. */
	static const char *const ps[] = { "PS0123456789abcdef", "PS0000000000000000",
					  "PSffffffffffffffff", "PS60118713dc14023f" };
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		birth = 12345;
		assert_int_equal(sb_person_key(ps[i], 18, &key, &pseudo, &birth, &why), SB_OK);
		assert_int_equal(pseudo, 1);
		assert_int_equal(birth, 0);
		sb_person_key_text(key, pseudo, back);
		assert_string_equal(back, ps[i]);
	}
	assert_int_equal(sb_person_key("PS0123456789abcdef", 18, &key, &pseudo, NULL, NULL),
			 SB_OK);
	assert_true(key == 0x0123456789abcdefULL);
	assert_int_equal(sb_person_key("PSffffffffffffffff", 18, &key, &pseudo, NULL, NULL),
			 SB_OK);
	assert_true(key == UINT64_MAX);

	/* One key, one spelling: the same number as an ID and as a pseudonym
	 * are different persons. */
	uint64_t k1, k2;
	int p1, p2;

	assert_int_equal(sb_person_key("990100196103220076", 18, &k1, &p1, NULL, NULL), SB_OK);
	sb_person_key_text(k1, 1, back);
	assert_int_equal(sb_person_key(back, 18, &k2, &p2, NULL, NULL), SB_OK);
	assert_true(k1 == k2);
	assert_int_not_equal(p1, p2);
}

static void test_person_key_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *why; /* a part of the reason */
	} bad[] = {
		{ "990100196103220077", "check digit" },
		{ "99010019700707021x", "lowercase" },
		{ "9901001961032200", "18 characters" },
		{ "", "18 characters" },
		{ "990100196113220076", "birth date" },
		{ "PS0123456789ABCDEF", "pseudonym" },
		{ "PS0123456789abcdeg", "pseudonym" },
		{ "PS0123456789abcde", "18 characters" },
		{ "PS0123456789abcdef0", "18 characters" },
		{ "Ps0123456789abcdef", "non-digit" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t key;
		int pseudo;
		const char *why = NULL;

		assert_int_equal(sb_person_key(bad[i].text, strlen(bad[i].text), &key, &pseudo, NULL,
					       &why),
				 SB_EINPUT);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", bad[i].text, why, bad[i].why);
	}
}

/* ---- HMAC ----------------------------------------------------------------- */

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* The vectors come from the openssl command line, an implementation apart
 * from the EVP_MAC calls under test:
 *   printf 990100196103220076 | openssl dgst -sm3 -hmac 0123456789abcdef
 *   printf 990100196103220076 | openssl dgst -sha256 -hmac 0123456789abcdef */
static void test_hmac_vectors(void **state)
{
	(void)state;
	static const char key[] = "0123456789abcdef";
	static const char id[] = "990100196103220076";
	sb_pseudonymizer *p;
	sb_diag d;
	unsigned char mac[32];
	char text[65], ps[19];

	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, key, 16, &p, &d), SB_OK);
	/* Twice, and with other input between: the stored key schedule must
	 * be reused, not consumed. */
	for (int round = 0; round < 3; round++) {
		assert_int_equal(sb_pseudonymizer_mac(p, id, 18, mac, &d), SB_OK);
		hex(mac, 32, text);
		assert_string_equal(text, "60118713dc14023f4a692bbead4f13a3"
					  "7859ae3f3fdbf307a23218bf369e22a2");
		assert_int_equal(sb_pseudonymizer_id(p, "11010519491231002X", ps, &d), SB_OK);
	}
	assert_int_equal(sb_pseudonymizer_id(p, id, ps, &d), SB_OK);
	assert_string_equal(ps, "PS60118713dc14023f");
	sb_pseudonymizer_free(p);

	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SHA256, key, 16, &p, &d), SB_OK);
	assert_int_equal(sb_pseudonymizer_mac(p, id, 18, mac, &d), SB_OK);
	hex(mac, 32, text);
	assert_string_equal(text, "7360ac34776ef80babd1771225ef1c74"
				  "fd5329fa36e8ef5f296d9c877e3bc047");
	assert_int_equal(sb_pseudonymizer_id(p, id, ps, &d), SB_OK);
	assert_string_equal(ps, "PS7360ac34776ef80b");
	sb_pseudonymizer_free(p);
}

static void test_key_file(void **state)
{
	(void)state;
	char *dir = make_tmp();
	char path[4200];
	sb_pseudonymizer *p = (sb_pseudonymizer *)1;
	sb_diag d;

	snprintf(path, sizeof path, "%s/short.key", dir);
	write_file(path, "0123456789abcde", 15);
	sb_diag_clear(&d);
	assert_int_equal(sb_pseudonymizer_new_from_file(SB_PSEUDO_SM3, path, &p, &d), SB_EINPUT);
	assert_null(p);
	assert_non_null(strstr(d.message, "key file must hold at least 16 bytes"));
	assert_string_equal(d.file, path);

	/* The file's bytes are the key, all of them: 16 bytes from a file
	 * give the same pseudonyms as the same 16 bytes in memory. */
	snprintf(path, sizeof path, "%s/ok.key", dir);
	write_file(path, "0123456789abcdef", 16);
	assert_int_equal(sb_pseudonymizer_new_from_file(SB_PSEUDO_SM3, path, &p, &d), SB_OK);
	char ps[19];

	assert_int_equal(sb_pseudonymizer_id(p, "990100196103220076", ps, &d), SB_OK);
	assert_string_equal(ps, "PS60118713dc14023f");
	sb_pseudonymizer_free(p);

	/* One line ending at the end is not part of the key (LF or CR LF), so
	 * a key saved by an editor matches the same key without it; a second
	 * one, or a blank, is part of it. */
	static const struct { const char *text; size_t n; int same; } ends[] = {
		{ "0123456789abcdef\n", 17, 1 },
		{ "0123456789abcdef\r\n", 18, 1 },
		{ "0123456789abcdef\n\n", 18, 0 },
		{ "0123456789abcdef ", 17, 0 },
		{ "0123456789abcdef\r", 17, 0 },
	};
	for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
		write_file(path, ends[k].text, ends[k].n);
		assert_int_equal(sb_pseudonymizer_new_from_file(SB_PSEUDO_SM3, path, &p, &d), SB_OK);
		assert_int_equal(sb_pseudonymizer_id(p, "990100196103220076", ps, &d), SB_OK);
		if (ends[k].same)
			assert_string_equal(ps, "PS60118713dc14023f");
		else
			assert_string_not_equal(ps, "PS60118713dc14023f");
		sb_pseudonymizer_free(p);
	}
	/* 15 bytes and a line feed are 15 bytes of key: too short. */
	write_file(path, "0123456789abcde\n", 16);
	assert_int_equal(sb_pseudonymizer_new_from_file(SB_PSEUDO_SM3, path, &p, &d), SB_EINPUT);

	snprintf(path, sizeof path, "%s/none.key", dir);
	assert_int_equal(sb_pseudonymizer_new_from_file(SB_PSEUDO_SM3, path, &p, &d), SB_EIO);
	assert_null(p);
	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, "", 0, &p, &d), SB_EINPUT);
	rm_rf(dir);
	free(dir);
}

/* Issue 14 item 3: bad values in the first rows of an id column once made
 * the column pass through whole, raw IDs and all, and invalid IDs were
 * written as they were. No output may hold a raw ID of an ID column now;
 * ID-shaped values elsewhere are counted for a warning. */
static void test_pseudonymize_never_leaks(void **state)
{
	(void)state;
	char *dir = make_tmp();
	char in[4200], out[4200];
	sb_pseudonymizer *p;
	sb_pseudo_stats st;
	sb_diag d;

	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, "0123456789abcdef", 16, &p, &d),
			 SB_OK);
	/* Lines 2-4: a wrong check digit, a trailing blank, a lower-case x;
	 * line 5: 17 digits; then good IDs; a guardian column with IDs. */
	static const char persons[] =
		"id,region,guardian_certno\n"
		"990100196103220077,990100,\n"
		"990100196103220076 ,990100,\n"
		"11010519491231002x,990100,\n"
		"99010019610322007,990100,\n"
		"990100196103220076,990100,11010519491231002X\n"
		"11010519491231002X,990100,\n";
	snprintf(in, sizeof in, "%s/persons.csv", dir);
	snprintf(out, sizeof out, "%s/persons.ps.csv", dir);
	write_file(in, persons, sizeof persons - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	assert_string_equal(st.columns, "id");
	assert_int_equal(st.rows, 6);
	assert_int_equal(st.replaced, 2);
	assert_int_equal(st.invalid, 4);
	assert_int_equal(st.shaped, 1);
	assert_int_equal(st.shaped_line, 6);
	assert_string_equal(st.shaped_columns, "guardian_certno");
	char *got = read_all(out);

	assert_null(strstr(got, "990100196103220"));
	assert_null(strstr(got, "9901001961032200"));
	/* The same bad value gets the same marker: lines 3 and 2 differ. */
	assert_non_null(strstr(got, "\nPS60118713dc14023f,990100,11010519491231002X\n"));
	free(got);

	/* Named with the ID column, the guardian column is replaced too. */
	assert_int_equal(sb_pseudonymizer_file(p, in, out, "id,guardian_certno", false, NULL,
					       &st, &d), SB_OK);
	assert_int_equal(st.shaped, 0);
	got = read_all(out);
	assert_null(strstr(got, "11010519491231002"));
	free(got);

	/* A claims file whose id is a claim number stays as it is; a claim
	 * id shaped like an ID makes the column an ID column. */
	static const char claims[] = "id,person\nC1,990100196103220076\n"
				     "C2,990100196103220076\n";
	write_file(in, claims, sizeof claims - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	assert_string_equal(st.columns, "person");
	static const char claims2[] = "id,person\nC1,990100196103220076\n"
				      "990100196103220077,990100196103220076\n";
	write_file(in, claims2, sizeof claims2 - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	assert_string_equal(st.columns, "id,person");
	got = read_all(out);
	assert_null(strstr(got, "99010019610322007"));
	free(got);
	sb_pseudonymizer_free(p);
	rm_rf(dir);
	free(dir);
}

/* ---- the file rewrite ----------------------------------------------------- */

static void test_pseudonymize_file(void **state)
{
	(void)state;
	char *dir = make_tmp();
	char in[4200], out[4200];
	sb_pseudonymizer *p;
	sb_pseudo_stats st;
	sb_diag d;

	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, "0123456789abcdef", 16, &p, &d),
			 SB_OK);
	/* A claims file: id is a claim number and stays; person is replaced;
	 * quoted fields come out as fields; an empty person stays empty; a
	 * pseudonym is kept; an invalid ID stays as it is and is counted. */
	static const char claims[] =
		"id,person,note,total\n"
		"C1,990100196103220076,\"a, b\",1.00\n"
		"C2,,\"say \"\"hi\"\"\",2.00\n"
		"C3,PS0123456789abcdef,plain,3.00\n"
		"C4,990100196103220077,\"\",4.00\n";
	snprintf(in, sizeof in, "%s/claims.csv", dir);
	snprintf(out, sizeof out, "%s/claims.ps.csv", dir);
	write_file(in, claims, sizeof claims - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	char *got = read_all(out);

	/* The invalid ID is not written: a PSX marker stands for it. */
	assert_non_null(strstr(got, "id,person,note,total\n"
				    "C1,PS60118713dc14023f,\"a, b\",1.00\n"
				    "C2,,\"say \"\"hi\"\"\",2.00\n"
				    "C3,PS0123456789abcdef,plain,3.00\n"
				    "C4,PSX"));
	assert_null(strstr(got, "9901001961032200"));
	assert_int_equal(strlen(strstr(got, "C4,PSX")), strlen("C4,PSX0123456789abcdef,,4.00\n"));
	free(got);
	assert_int_equal(st.rows, 4);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(st.kept, 1);
	assert_int_equal(st.invalid, 1);
	assert_int_equal(st.dropped, 0);
	assert_string_equal(st.columns, "person");

	/* A persons file: id holds IDs (and a pseudonym), so it is replaced. */
	static const char persons[] = "ID,region\n990100196103220076,990100\n"
				      "PS0123456789abcdef,990100\n,990200\n";
	write_file(in, persons, sizeof persons - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	got = read_all(out);
	assert_string_equal(got, "ID,region\nPS60118713dc14023f,990100\n"
				 "PS0123456789abcdef,990100\n,990200\n");
	free(got);
	assert_string_equal(st.columns, "ID");

	/* --columns: exactly those, id included; a name the header lacks is
	 * an error, and the input itself is never the output. */
	write_file(in, claims, sizeof claims - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, "note", false, NULL, &st, &d), SB_OK);
	assert_int_equal(st.replaced, 0);
	assert_int_equal(st.invalid, 3);
	assert_string_equal(st.columns, "note");
	assert_int_equal(sb_pseudonymizer_file(p, in, out, "person,nope", false, NULL, &st, &d),
			 SB_EINPUT);
	assert_non_null(strstr(d.message, "nope"));
	assert_int_equal(sb_pseudonymizer_file(p, in, in, NULL, false, NULL, &st, &d), SB_EINPUT);
	got = read_all(in);
	assert_string_equal(got, claims);
	free(got);

	/* The report lists invalid IDs by line, masked unless asked. */
	char rep[4200];

	snprintf(rep, sizeof rep, "%s/report.txt", dir);
	FILE *f = fopen(rep, "w");

	assert_non_null(f);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, f, &st, &d), SB_OK);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, true, f, &st, &d), SB_OK);
	fclose(f);
	got = read_all(rep);
	assert_non_null(strstr(got, ":5: person \"990100********0077\" has a wrong check digit"));
	assert_non_null(strstr(got, ":5: person \"990100196103220077\""));
	free(got);

	/* A record with a wrong field count is carried, its ID replaced; an
	 * unterminated quote cannot be split safely and is not. */
	static const char ragged[] = "person,x\n990100196103220076,1,extra\n"
				     "Zhang, San,990100196103220076\n"
				     "990100196103220076,\"open\n";
	write_file(in, ragged, sizeof ragged - 1);
	assert_int_equal(sb_pseudonymizer_file(p, in, out, NULL, false, NULL, &st, &d), SB_OK);
	got = read_all(out);
	/* The shifted name sits in the person column: masked too. */
	assert_non_null(strstr(got, "person,x\nPS60118713dc14023f,1,extra\nPSX"));
	assert_non_null(strstr(got, ", San,PS60118713dc14023f\n"));
	assert_null(strstr(got, "99010019"));
	free(got);
	assert_int_equal(st.dropped, 1);
	sb_pseudonymizer_free(p);
	rm_rf(dir);
	free(dir);
}

/* ---- the roster check on the fixture -------------------------------------- */

static const char *const ne_cols[] = { "line", "identity", "from", "to", "region", NULL };
static const char *const ne_want = "4|dibao|2023-03-01||\n"
				   "9|tekun|2022-01-01|2023-12-31|\n";
static const char *const st_cols[] = { "claim", "region", "date", "layer", "amount", NULL };
static const char *const st_want = "R2024003|990100|2024-05-02|assistance|1234.00\n"
				   "R2024005|990200|2024-06-10|assistance|567.89\n";
static const char *const du_cols[] = { "kind", "rows", "lines", "regions", "schemes", NULL };
static const char *const du_want = "regions|2|3;9|990100;990200|resident;resident\n"
				   "schemes|2|6;11|990300;990300|resident;employee\n";
static const char *const er_cols[] = { "line", "identity", "region", "kind", NULL };
static const char *const er_want = "5|dibao||id\n"
				   "8|dibao|990300|date\n"
				   "10|veteran|990500|identity\n";

/* What both runs must find, whatever the person column holds. */
static void assert_findings(const char *out, const sb_roster_totals *t)
{
	assert_int_equal(t->person_rows, 10);
	assert_int_equal(t->persons_invalid, 0);
	assert_int_equal(t->identity_rows, 9);
	assert_int_equal(t->settlement_rows, 7);
	assert_int_equal(t->settlements_unchecked, 0);
	assert_int_equal(t->not_enrolled, 2);
	assert_int_equal(t->stale, 2);
	assert_int_equal(t->stale_amount, 180189);
	assert_int_equal(t->duplicates, 2);
	assert_int_equal(t->duplicate_rows, 4);
	assert_int_equal(t->roster_errors, 3);

	assert_projection(out, "not_enrolled.csv", ne_cols, ne_want);
	assert_projection(out, "stale_assistance.csv", st_cols, st_want);
	assert_projection(out, "duplicates.csv", du_cols, du_want);
	assert_projection(out, "roster_errors.csv", er_cols, er_want);

	/* Reasons a clerk can act on. */
	static const char *const reason[] = { "reason", NULL };
	char *got = project(out, "not_enrolled.csv", reason);

	assert_non_null(strstr(got, "低保对象 (dibao) from 2023-03-01 is not enrolled"));
	assert_non_null(strstr(got, "特困人员 (tekun) from 2022-01-01 to 2023-12-31"));
	assert_non_null(strstr(got, "资助参保"));
	free(got);
	got = project(out, "stale_assistance.csv", reason);
	assert_non_null(strstr(got, "医疗救助 paid 1234.00 on 2024-05-02 but the person holds "
				    "none of tekun, dibao, monitored, dibao_edge, illness_poor on "
				    "that date (dibao ended 2024-03-31)"));
	assert_non_null(strstr(got, "医疗救助 paid 567.89 on 2024-06-10"));
	assert_non_null(strstr(got, "(tekun starts 2024-07-01)"));
	free(got);
	got = project(out, "duplicates.csv", reason);
	assert_non_null(strstr(got, "enrolled twice: in 990100 (resident, line 3) and 990200 "
				    "(resident, line 9)"));
	assert_non_null(strstr(got, "enrolled twice: in 990300 (resident, line 6) and 990300 "
				    "(employee, line 11)"));
	free(got);
	got = project(out, "roster_errors.csv", reason);
	/* In the pseudonymised run the bad ID is a PSX marker. */
	assert_true(strstr(got, "wrong check digit") || strstr(got, "PSX marker"));
	assert_non_null(strstr(got, "ends (to 2024-01-31) before it starts (from 2024-05-01)"));
	assert_non_null(strstr(got, "identity \"veteran\" is not declared by any policy"));
	free(got);

	char path[4200];

	snprintf(path, sizeof path, "%s/roster_summary.json", out);
	got = read_all(path);
	assert_non_null(strstr(got, "\"stale_assistance\": {\"rows\": 2, \"claims\": 2, "
				    "\"amount\": 1801.89}"));
	assert_non_null(strstr(got, "\"duplicates\": {\"persons\": 2, \"rows\": 4, "
				    "\"across_regions\": 1, \"across_schemes\": 1, \"repeated\": 0}"));
	assert_non_null(strstr(got, "\"roster_errors\": {\"rows\": 3, \"id\": 1, \"date\": 1, "
				    "\"identity\": 1, \"record\": 0}"));
	assert_non_null(strstr(got, "\"990100\": {\"persons\": 3, \"settlements\": 4, "
				    "\"not_enrolled\": 0, \"stale_assistance\": 1, "
				    "\"stale_claims\": 1, \"stale_amount\": 1234.00, "
				    "\"duplicates\": 1, \"roster_errors\": 0}"));
	assert_non_null(strstr(got, "\"unknown\": {\"persons\": 0, \"settlements\": 0, "
				    "\"not_enrolled\": 2"));
	free(got);
}

static void test_roster_fixture(void **state)
{
	(void)state;
	char persons[4096], identities[4096], settlements[4096];
	char *out = make_tmp();
	sb_roster_totals t;
	sb_diag d;

	fixture(persons, sizeof persons, "persons.csv");
	fixture(identities, sizeof identities, "identities.csv");
	fixture(settlements, sizeof settlements, "settlements.csv");
	if (run_roster(persons, identities, settlements, out, false, &t, &d))
		fail_msg("%s", d.message);
	assert_findings(out, &t);

	/* Masked by default; the specific persons. */
	static const char *const who[] = { "person", NULL };

	assert_projection(out, "not_enrolled.csv", who,
			  "990200********0423\n990300********0515\n");
	assert_projection(out, "stale_assistance.csv", who,
			  "990100********0126\n990200********0049\n");
	assert_projection(out, "duplicates.csv", who,
			  "990100********021X\n990300********0350\n");
	assert_projection(out, "roster_errors.csv", who,
			  "990100********0014\n990300********0035\n990500********0166\n");

	/* --show-ids prints them whole. */
	if (run_roster(persons, identities, settlements, out, true, &t, &d))
		fail_msg("%s", d.message);
	assert_findings(out, &t);
	assert_projection(out, "stale_assistance.csv", who,
			  "990100197506150126\n990200195011110049\n");
	assert_projection(out, "roster_errors.csv", who,
			  "990100197001010014\n990300198001010035\n990500198808080166\n");

	/* Without settlements there is no stale check, and nothing else
	 * changes. */
	if (run_roster(persons, identities, NULL, out, false, &t, &d))
		fail_msg("%s", d.message);
	assert_int_equal(t.stale, 0);
	assert_int_equal(t.not_enrolled, 2);
	assert_int_equal(t.duplicates, 2);
	assert_int_equal(t.roster_errors, 3);
	assert_projection(out, "stale_assistance.csv", st_cols, "");
	rm_rf(out);
	free(out);
}

static void test_roster_pseudonymised(void **state)
{
	(void)state;
	static const char *const files[] = { "persons.csv", "identities.csv", "settlements.csv" };
	/* IDs replaced per file; the roster's bad ID stays as it was. */
	static const long long replaced[] = { 10, 8, 7 };
	static const long long invalid[] = { 0, 1, 0 };
	static const char *const columns[] = { "id", "person", "person" };
	char *dir = make_tmp();
	char in[4096], ps[3][4200], out[4200];
	sb_pseudonymizer *p;
	sb_pseudo_stats st;
	sb_diag d;

	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, "shared-key-for-roster-tests-0001",
					      32, &p, &d),
			 SB_OK);
	for (int i = 0; i < 3; i++) {
		fixture(in, sizeof in, files[i]);
		snprintf(ps[i], sizeof ps[i], "%s/%s", dir, files[i]);
		if (sb_pseudonymizer_file(p, in, ps[i], NULL, false, NULL, &st, &d))
			fail_msg("%s", d.message);
		assert_int_equal(st.replaced, replaced[i]);
		assert_int_equal(st.invalid, invalid[i]);
		assert_int_equal(st.dropped, 0);
		assert_string_equal(st.columns, columns[i]);
	}
	sb_pseudonymizer_free(p);

	snprintf(out, sizeof out, "%s/out", dir);
	sb_roster_totals t;

	if (run_roster(ps[0], ps[1], ps[2], out, false, &t, &d))
		fail_msg("%s", d.message);
	assert_findings(out, &t);
	assert_column_prefix(out, "not_enrolled.csv", "person", "PS");
	assert_column_prefix(out, "stale_assistance.csv", "person", "PS");
	assert_column_prefix(out, "duplicates.csv", "person", "PS");
	/* Masked like IDs: 6 kept, 8 stars, 4 kept. */
	static const char *const who[] = { "person", NULL };
	char *got = project(out, "stale_assistance.csv", who);

	assert_int_equal(strlen(got), 2 * 19);
	assert_memory_equal(got + 6, "********", 8);
	free(got);
	/* The pseudonym of the stale claim's person, whole with --show-ids. */
	if (run_roster(ps[0], ps[1], ps[2], out, true, &t, &d))
		fail_msg("%s", d.message);
	assert_findings(out, &t);
	assert_int_equal(sb_pseudonymizer_new(SB_PSEUDO_SM3, "shared-key-for-roster-tests-0001",
					      32, &p, &d),
			 SB_OK);
	char a[19], b[19], want[64];

	assert_int_equal(sb_pseudonymizer_id(p, "990100197506150126", a, &d), SB_OK);
	assert_int_equal(sb_pseudonymizer_id(p, "990200195011110049", b, &d), SB_OK);
	sb_pseudonymizer_free(p);
	snprintf(want, sizeof want, "%s\n%s\n", a, b);
	assert_projection(out, "stale_assistance.csv", who, want);

	/* A mix: raw persons against a pseudonymised roster do not join,
	 * which the check shows as every roster holder not enrolled. */
	fixture(in, sizeof in, "persons.csv");
	if (run_roster(in, ps[1], NULL, out, false, &t, &d))
		fail_msg("%s", d.message);
	assert_int_equal(t.not_enrolled, 6);
	rm_rf(dir);
	free(dir);
}

static void test_roster_bad_inputs(void **state)
{
	(void)state;
	char *dir = make_tmp();
	char persons[4200], identities[4200], out[4200], fx[4096];
	sb_roster_totals t;
	sb_diag d;

	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(persons, sizeof persons, "%s/persons.csv", dir);
	snprintf(identities, sizeof identities, "%s/identities.csv", dir);
	fixture(fx, sizeof fx, "identities.csv");

	/* A persons file without an ID column is refused as a whole. */
	write_file(persons, "name,region\nx,990100\n", 21);
	assert_int_equal(run_roster(persons, fx, NULL, out, false, &t, &d), SB_ESYNTAX);
	assert_non_null(strstr(d.message, "id"));

	/* Every kind of unusable roster row, NHSA column names, a time part. */
	static const char roster[] =
		"psn_no,psn_idet_type,begntime,endtime\n"
		"990100196103220076,dibao,2023-01-01 00:00:00,\n"
		"990100196103220076,dibao,2023-02-30,\n"
		"990100196103220076,dibao,,\n"
		"990100196103220076,dibao,2023-01-01,yesterday\n"
		",dibao,2023-01-01,\n"
		"PS0123456789ABCDEF,dibao,2023-01-01,\n"
		"990100196103220076,Dibao,2023-01-01,\n"
		"990100196103220076,\"dibao,2023-01-01,\n";
	write_file(persons, "id,scheme,region\n990100196103220076,resident,990100\n"
			    "990100196103220076,resident,990100\n", 87);
	write_file(identities, roster, sizeof roster - 1);
	if (run_roster(persons, identities, NULL, out, false, &t, &d))
		fail_msg("%s", d.message);
	assert_int_equal(t.identity_rows, 8);
	assert_int_equal(t.roster_errors, 7);
	assert_int_equal(t.not_enrolled, 0);
	assert_int_equal(t.duplicates, 1);
	static const char *const cols[] = { "line", "kind", NULL };

	assert_projection(out, "roster_errors.csv", cols,
			  "3|date\n4|date\n5|date\n6|id\n7|id\n8|identity\n9|record\n");
	assert_projection(out, "duplicates.csv", du_cols, "repeated|2|2;3|990100;990100|"
							  "resident;resident\n");
	rm_rf(dir);
	free(dir);
}

/* Every allocation of a run fails in turn: each failure comes back as an
 * error (never a crash or a leak, which the sanitizer build would catch),
 * and the run succeeds once enough allocations are allowed. */
static void test_roster_alloc_failures(void **state)
{
	(void)state;
	char persons[4096], identities[4096], settlements[4096];
	char *out = make_tmp();
	sb_roster_totals t;
	sb_diag d;
	long n;

	fixture(persons, sizeof persons, "persons.csv");
	fixture(identities, sizeof identities, "identities.csv");
	fixture(settlements, sizeof settlements, "settlements.csv");
	for (n = 0; n < 100000; n++) {
		sb_alloc_fail_after(n);
		sb_status st = run_roster(persons, identities, settlements, out, false, &t, &d);

		sb_alloc_fail_after(-1);
		if (st == SB_OK)
			break;
		assert_true(d.message[0] != '\0');
	}
	assert_true(n < 100000);
	assert_findings(out, &t);
	rm_rf(out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_person_key_round_trip),
		cmocka_unit_test(test_person_key_refused),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_pseudonymize_file),
		cmocka_unit_test(test_pseudonymize_never_leaks),
		cmocka_unit_test(test_roster_fixture),
		cmocka_unit_test(test_roster_pseudonymised),
		cmocka_unit_test(test_roster_bad_inputs),
		cmocka_unit_test(test_roster_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
