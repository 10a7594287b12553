/* test_csv.c: the CSV reader against RFC 4180 corner cases, malformed
 * records (reported with their place, then skipped), block boundaries and
 * the size limits; the sb_out writer by round trip through the reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanbao/csv.h"

/* ---- helpers ---------------------------------------------------------- */

/* A growable text the reader's events are written into, so one string
 * compare checks a whole file's worth of results. */
typedef struct text {
	char *p;
	size_t n, cap;
} text;

static void text_add(text *t, const char *p, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = '\0';
}

static void text_printf(text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_printf(text *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int k = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < sizeof(buf));
	text_add(t, buf, (size_t)k);
}

/* Line breaks inside fields are shown escaped so each event is one line. */
static void text_field(text *t, sb_csv_field f)
{
	for (size_t i = 0; i < f.n; i++) {
		if (f.p[i] == '\n')
			text_add(t, "\\n", 2);
		else if (f.p[i] == '\r')
			text_add(t, "\\r", 2);
		else
			text_add(t, f.p + i, 1);
	}
}

static void text_fields(text *t, const sb_csv *c, int header)
{
	size_t n = header ? sb_csv_ncols(c) : sb_csv_nfields(c);

	for (size_t i = 0; i < n; i++) {
		if (i)
			text_add(t, "|", 1);
		text_field(t, header ? sb_csv_header(c, i) : sb_csv_get(c, i));
	}
	text_add(t, "\n", 1);
}

/* Writes data to a fresh temporary file; path gets its name. */
static void tmp_file(const char *data, size_t n, char *path, size_t cap)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, cap, "%s/sb_csv_XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	for (size_t off = 0; off < n;) {
		ssize_t k = write(fd, data + off, n - off);

		assert_true(k > 0);
		off += (size_t)k;
	}
	assert_int_equal(close(fd), 0);
}

enum via { VIA_MEM, VIA_FILE };

/* Most tests read RFC 4180 records that may span lines; the one-line rule
 * of sanbao's data files has its own table (test_one_line). */
static int multiline = 1;

static sb_status open_via(enum via via, const char *data, size_t n,
			  char *path, size_t cap, sb_csv **c, sb_diag *d)
{
	sb_status st;

	if (via == VIA_MEM) {
		snprintf(path, cap, "mem.csv");
		st = sb_csv_open_mem("mem.csv", data, n, c, d);
	} else {
		tmp_file(data, n, path, cap);
		st = sb_csv_open(path, c, d);
	}
	if (st == SB_OK)
		sb_csv_set_multiline(*c, multiline);
	return st;
}

/* Reads all of c into t: "H:" and the header, then "L<line>:" and the
 * fields of each record, "E<line>:<column>" for each rejected one. */
static void drain(sb_csv *c, text *t)
{
	sb_diag d;
	int rc;
	long last = 0;

	text_add(t, "H:", 2);
	text_fields(t, c, 1);
	while ((rc = sb_csv_next(c, &d)) != 0) {
		assert_true(rc == 1 || rc == -1);
		assert_true(sb_csv_line(c) > last);
		last = sb_csv_line(c);
		if (rc == 1) {
			text_printf(t, "L%ld:", sb_csv_line(c));
			text_fields(t, c, 0);
		} else {
			assert_int_equal(d.code, SB_ESYNTAX);
			assert_true(d.message[0] != '\0');
			text_printf(t, "E%d:%d\n", d.line, d.column);
		}
	}
}

/* ---- table: good and malformed inputs --------------------------------- */

struct read_case {
	const char *name;
	const char *in;
	size_t n; /* 0: strlen(in) */
	const char *expect;
};

static const struct read_case read_cases[] = {
	{ "simple", "a,b,c\n1,2,3\n4,5,6\n", 0,
	  "H:a|b|c\nL2:1|2|3\nL3:4|5|6\n" },
	{ "empty fields", "a,b,c\n,,\n1,,\n", 0, "H:a|b|c\nL2:||\nL3:1||\n" },
	{ "quoted comma, line feed and doubled quotes",
	  "id,note\n1,\"x, y\"\n2,\"line1\nline2\"\n3,\"say \"\"hi\"\"\"\n"
	  "4,ok\n",
	  0,
	  "H:id|note\nL2:1|x, y\nL3:2|line1\\nline2\nL5:3|say \"hi\"\n"
	  "L6:4|ok\n" },
	{ "quoted empty and quote-only fields", "a,b\n\"\",x\n\"\"\"\",\"\"\n",
	  0, "H:a|b\nL2:|x\nL3:\"|\n" },
	{ "quoted header", "\"a,1\",\"b\"\"\"\n1,2\n", 0,
	  "H:a,1|b\"\nL2:1|2\n" },
	{ "CRLF", "a,b\r\n1,2\r\n\"q\",\"r\"\r\n3,\r\n", 0,
	  "H:a|b\nL2:1|2\nL3:q|r\nL4:3|\n" },
	{ "CRLF inside quotes is data", "a\r\n\"x\r\ny\"\r\n", 0,
	  "H:a\nL2:x\\r\\ny\n" },
	{ "bare CR inside an unquoted field is data", "a,b\nx\ry,1\n", 0,
	  "H:a|b\nL2:x\\ry|1\n" },
	{ "BOM", "\xEF\xBB\xBFid,x\n1,2\n", 0, "H:id|x\nL2:1|2\n" },
	{ "blank lines", "\n\na,b\n\n1,2\n\r\n\n3,4\n\n\r\n", 0,
	  "H:a|b\nL5:1|2\nL8:3|4\n" },
	{ "no final line feed", "a,b\n1,2", 0, "H:a|b\nL2:1|2\n" },
	{ "no final line feed, quoted", "a,b\n1,\"2\"", 0, "H:a|b\nL2:1|2\n" },
	{ "no final line feed, CR", "a,b\n1,2\r", 0, "H:a|b\nL2:1|2\n" },
	{ "no final line feed, quoted then CR", "a,b\n1,\"2\"\r", 0,
	  "H:a|b\nL2:1|2\n" },
	{ "trailing comma at the end", "a,b\n1,", 0, "H:a|b\nL2:1|\n" },
	{ "UTF-8 text", "姓名,金额\n张三,\"1,234.50\"\n", 0,
	  "H:姓名|金额\nL2:张三|1,234.50\n" },
	{ "unterminated quote at the end",
	  "a,b\n1,2\n3,\"abc\n4,5\n", 0, "H:a|b\nL2:1|2\nE3:3\n" },
	{ "text after a closing quote", "a,b\n1,\"x\"y\n2,3\n", 0,
	  "H:a|b\nE2:6\nL3:2|3\n" },
	{ "CR not before LF after a closing quote",
	  "a,b\n\"x\"\ry,1\n2,3\n", 0, "H:a|b\nE2:4\nL3:2|3\n" },
	{ "quote inside an unquoted field", "a,b\n1,x\"y\n2,3\n", 0,
	  "H:a|b\nE2:4\nL3:2|3\n" },
	{ "quote after leading blank", "a,b\n1, \"y\"\n2,3\n", 0,
	  "H:a|b\nE2:4\nL3:2|3\n" },
	{ "stray quote does not swallow the next lines",
	  "a,b\n5\" screen,1\n2,3\n4,5\n", 0,
	  "H:a|b\nE2:2\nL3:2|3\nL4:4|5\n" },
	{ "error on a later line of a multi-line record",
	  "a,b\n1,\"x\ny\"z\n2,3\n", 0, "H:a|b\nE3:3\nL4:2|3\n" },
	{ "column counts characters, not bytes", "a,b\n张三,x\"\n2,3\n", 0,
	  "H:a|b\nE2:5\nL3:2|3\n" },
	{ "field count", "a,b\n1,2,3\n4\n5,6\n", 0,
	  "H:a|b\nE2:0\nE3:0\nL4:5|6\n" },
	{ "NUL in an unquoted field", "a,b\n1,x\0y\n2,3\n", 14,
	  "H:a|b\nE2:4\nL3:2|3\n" },
	{ "NUL in a quoted field", "a,b\n1,\"x\0\"\n2,3\n", 15,
	  "H:a|b\nE2:5\nL3:2|3\n" },
	{ "NUL as the last byte", "a,b\n1,2\0", 8, "H:a|b\nE2:4\n" },
};

static void test_read_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]);
	     i++) {
		const struct read_case *rc = &read_cases[i];
		size_t n = rc->n ? rc->n : strlen(rc->in);

		for (int via = VIA_MEM; via <= VIA_FILE; via++) {
			char path[256];
			char *copy = malloc(n ? n : 1);
			sb_csv *c = NULL;
			sb_diag d;
			text t = { 0 };

			assert_non_null(copy);
			memcpy(copy, rc->in, n);
			sb_status st = open_via((enum via)via, copy, n, path,
						sizeof(path), &c, &d);
			if (st != SB_OK)
				fail_msg("%s: open: %s", rc->name, d.message);
			drain(c, &t);
			if (strcmp(t.p, rc->expect) != 0)
				fail_msg("%s (%s):\nwant:\n%sgot:\n%s",
					 rc->name, via ? "file" : "mem",
					 rc->expect, t.p);
			sb_csv_free(c);
			free(copy);
			free(t.p);
			if (via == VIA_FILE)
				unlink(path);
		}
	}
}

/* ---- one record per line (the default) -------------------------------- */

static const struct read_case one_line_cases[] = {
	{ "simple", "a,b\n1,2\n\"x\",\"y, z\"\n", 0,
	  "H:a|b\nL2:1|2\nL3:x|y, z\n" },
	{ "a quoted line feed ends the record at its line",
	  "a,b\n1,\"x\ny\"\n2,3\n", 0, "H:a|b\nE2:3\nE3:2\nL4:2|3\n" },
	{ "unterminated quote costs its line only",
	  "a,b\n1,2\n3,\"abc\n4,5\n6,7\n", 0,
	  "H:a|b\nL2:1|2\nE3:3\nL4:4|5\nL5:6|7\n" },
	{ "stray quote at a line start", "a,b\n\"1,2\n3,4\n5,6\n", 0,
	  "H:a|b\nE2:1\nL3:3|4\nL4:5|6\n" },
	{ "unterminated with CRLF", "a,b\r\n\"1,2\r\n3,4\r\n", 0,
	  "H:a|b\nE2:1\nL3:3|4\n" },
	{ "unterminated at the end of input", "a,b\n1,2\n\"3,4", 0,
	  "H:a|b\nL2:1|2\nE3:1\n" },
	{ "two stray quotes lose two lines", "a,b\n\"1,2\n3,4\n5,\"6\n7,8\n",
	  0, "H:a|b\nE2:1\nL3:3|4\nE4:3\nL5:7|8\n" },
};

static void test_one_line(void **state)
{
	(void)state;
	multiline = 0;
	for (size_t i = 0; i < sizeof(one_line_cases) /
				   sizeof(one_line_cases[0]);
	     i++) {
		const struct read_case *rc = &one_line_cases[i];
		size_t n = rc->n ? rc->n : strlen(rc->in);

		for (int via = VIA_MEM; via <= VIA_FILE; via++) {
			char path[256];
			sb_csv *c = NULL;
			sb_diag d;
			text t = { 0 };

			if (open_via((enum via)via, rc->in, n, path,
				     sizeof(path), &c, &d) != SB_OK)
				fail_msg("%s: open: %s", rc->name, d.message);
			drain(c, &t);
			if (strcmp(t.p, rc->expect) != 0)
				fail_msg("%s (%s):\nwant:\n%sgot:\n%s",
					 rc->name, via ? "file" : "mem",
					 rc->expect, t.p);
			sb_csv_free(c);
			free(t.p);
			if (via == VIA_FILE)
				unlink(path);
		}
	}
	multiline = 1;
}

/* The message names the line and the rule. */
static void test_one_line_message(void **state)
{
	(void)state;
	static const char in[] = "a,b\n1,2\n3,\"x\n4,5\n";
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open_mem("q.csv", in, strlen(in), &c, &d),
			 SB_OK);
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_next(c, &d), -1);
	assert_int_equal(d.line, 3);
	assert_int_equal(d.column, 3);
	assert_non_null(strstr(d.message, "the line ends before its closing"));
	assert_int_equal(sb_csv_line(c), 3);
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_line(c), 4);
	assert_int_equal(sb_csv_next(c, &d), 0);
	assert_int_equal(sb_csv_lines(c), 4);
	sb_csv_free(c);
}

/* A file of several MiB with stray quotes planted, one of them on the last
 * line before a cut and one right at a cut, read whole and in ranges cut at
 * line starts (as pass 1 cuts it): every line is a record or a reject, and
 * the ranges see exactly what the whole reader sees. */
static void test_one_line_ranges(void **state)
{
	(void)state;
	text in = { 0 };
	char path[256];
	const long nlines = 60000; /* data lines */
	int64_t *start = malloc((size_t)(nlines + 2) * sizeof(*start));

	assert_non_null(start);
	text_add(&in, "id,note,amount\n", 15);
	for (long k = 2; k <= nlines + 1; k++) {
		start[k] = (int64_t)in.n;
		if (k == 10 || k % 7919 == 0)
			text_printf(&in, "\"%ld,note %ld,%ld.00\n", k, k, k);
		else if (k % 10007 == 0)
			text_printf(&in, "%ld,\"note,%ld.00\n", k, k);
		else
			text_printf(&in, "%ld,\"note %ld, quoted\",%ld.00\n",
				    k, k, k);
	}
	tmp_file(in.p, in.n, path, sizeof(path));

	long bad_whole = 0, good_whole = 0;
	sb_csv *c;
	sb_diag d;
	int rc;

	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	while ((rc = sb_csv_next(c, &d)) != 0) {
		assert_true(rc == 1 || rc == -1);
		if (rc == 1)
			good_whole++;
		else
			bad_whole++;
	}
	assert_int_equal(good_whole + bad_whole, nlines);
	assert_int_equal(sb_csv_lines(c), nlines + 1);
	sb_csv_free(c);
	long want_bad = 1; /* line 10, then 7919 k and 10007 k */
	for (long k = 7919; k <= nlines + 1; k += 7919)
		want_bad++;
	for (long k = 10007; k <= nlines + 1; k += 10007)
		want_bad++;
	assert_int_equal(bad_whole, want_bad);

	/* Cuts right after and right before a bad line. */
	int64_t cut[] = { start[2], start[7919], start[7920], start[30011],
			  start[40028], (int64_t)in.n };
	long good = 0, bad = 0, lines = 0;

	for (size_t r = 0; r + 1 < sizeof(cut) / sizeof(cut[0]); r++) {
		assert_int_equal(sb_csv_open_range(path, 3, cut[r], cut[r + 1],
						   &c, &d),
				 SB_OK);
		while ((rc = sb_csv_next(c, &d)) != 0) {
			assert_false(sb_csv_multiline(c));
			if (rc == 1)
				good++;
			else
				bad++;
		}
		assert_int_equal(sb_csv_offset(c), cut[r + 1]);
		lines += sb_csv_lines(c);
		sb_csv_free(c);
	}
	assert_int_equal(good, good_whole);
	assert_int_equal(bad, bad_whole);
	assert_int_equal(lines, nlines);
	unlink(path);
	free(start);
	free(in.p);
}

/* A FIFO, a folder and a character device are refused before they are read
 * (a FIFO without a writer would otherwise block the open), with a message
 * that says why. */
static void test_refuses_streams(void **state)
{
	(void)state;
	char dir[256], path[300];
	const char *tmp = getenv("TMPDIR");
	sb_csv *c;
	sb_diag d;
	int fd;

	snprintf(dir, sizeof(dir), "%s/sb_fifo_XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(sb_csv_open(path, &c, &d), SB_EIO);
	assert_null(c);
	assert_non_null(strstr(d.message, "not a regular file (a pipe or FIFO)"));
	assert_non_null(strstr(d.message, "save it to a file first"));
	assert_int_equal(sb_input_open(path, &fd, &d), SB_EIO);
	assert_int_equal(fd, -1);
	assert_int_equal(sb_csv_open(dir, &c, &d), SB_EIO);
	assert_non_null(strstr(d.message, "a folder"));
	assert_int_equal(sb_csv_open("/dev/zero", &c, &d), SB_EIO);
	assert_non_null(strstr(d.message, "character device"));
	unlink(path);
	rmdir(dir);
}

/* UTF-8 is checked record by record; GBK gets its own hint. */
static void test_utf8(void **state)
{
	(void)state;
	static const char in[] = "id,name\n1,\xE5\xBC\xA0\xE4\xB8\x89\n"
				 "2,\xD5\xC5\xC8\xFD\n3,ok\n4,\xFF\n5,\xC3\xA9\n";
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open_mem("g.csv", in, strlen(in), &c, &d), SB_OK);
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_next(c, &d), -1);
	assert_int_equal(d.line, 3);
	assert_int_equal(d.column, 3);
	assert_non_null(strstr(d.message, "not UTF-8 text (byte 0xD5)"));
	assert_non_null(strstr(d.message, "iconv -f GBK -t UTF-8"));
	assert_int_equal(sb_csv_nfields(c), 0);
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_next(c, &d), -1);
	assert_null(strstr(d.message, "GBK"));
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_line(c), 6);
	assert_int_equal(sb_csv_next(c, &d), 0);
	sb_csv_free(c);

	assert_int_equal(sb_utf8_valid("abc", 3), 3);
	assert_int_equal(sb_utf8_valid("a\xC0\x80", 3), 1);     /* overlong */
	assert_int_equal(sb_utf8_valid("a\xED\xA0\x80", 4), 1); /* surrogate */
	assert_int_equal(sb_utf8_valid("\xF4\x90\x80\x80", 4), 0);
	assert_int_equal(sb_utf8_valid("\xF0\x9F\x98\x80", 4), 4);
	assert_int_equal(sb_utf8_valid("\xE5\xBC", 2), 0); /* cut short */
}

/* ---- messages --------------------------------------------------------- */

struct message_case {
	const char *in;
	size_t n;
	const char *words; /* a part of the message */
	int line, column;
};

static const struct message_case message_cases[] = {
	{ "a,b\n1,\"x\n", 0, "unterminated quoted field", 2, 3 },
	{ "a,b\n\"x\"y,1\n", 0, "after the closing quote", 2, 4 },
	{ "a,b\nx\"y,1\n", 0, "quote inside an unquoted field", 2, 2 },
	{ "a,b\n1,2,3,4,5\n", 0, "record has 5 fields, the header has 2", 2,
	  0 },
	{ "a,b\n1\n", 0, "record has 1 field, the header has 2", 2, 0 },
	{ "a,b\n1,\0\n", 8, "NUL byte", 2, 3 },
};

static void test_messages(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof(message_cases) / sizeof(message_cases[0]); i++) {
		const struct message_case *mc = &message_cases[i];
		size_t n = mc->n ? mc->n : strlen(mc->in);
		sb_csv *c;
		sb_diag d;

		assert_int_equal(sb_csv_open_mem("claims.csv", mc->in, n, &c,
						 &d),
				 SB_OK);
		sb_csv_set_multiline(c, 1);
		sb_diag_clear(&d);
		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_int_equal(d.code, SB_ESYNTAX);
		assert_string_equal(d.file, "claims.csv");
		if (!strstr(d.message, mc->words))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, d.message,
				 mc->words);
		assert_int_equal(d.line, mc->line);
		assert_int_equal(d.column, mc->column);
		assert_int_equal(sb_csv_line(c), 2);
		assert_int_equal(sb_csv_next(c, &d), 0);
		sb_csv_free(c);
	}
}

/* A record with the wrong field count keeps its fields: the caller may want
 * its id for the rejects report. */
static void test_field_count_keeps_fields(void **state)
{
	(void)state;
	static const char in[] = "id,person,total\nC1,P1\n";
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open_mem("x", in, strlen(in), &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	assert_int_equal(sb_csv_next(c, &d), -1);
	assert_int_equal(sb_csv_nfields(c), 2);
	assert_int_equal(sb_csv_get(c, 0).n, 2);
	assert_memory_equal(sb_csv_get(c, 0).p, "C1", 2);
	assert_int_equal(sb_csv_get(c, 5).n, 0);
	assert_int_equal(sb_csv_raw(c).n, 5);
	sb_csv_free(c);
}

struct header_case {
	const char *in;
	size_t n;
	int line, column;
	const char *words;
};

static const struct header_case header_cases[] = {
	{ "", 0, 1, 0, "empty" },
	{ "\xEF\xBB\xBF", 0, 1, 0, "empty" },
	{ "\n\r\n\n", 0, 1, 0, "empty" },
	{ "a,\"b\n", 0, 1, 3, "header row: unterminated" },
	{ "a,b\"c\n1,2\n", 0, 1, 4, "header row: quote inside" },
	{ "\n\na,\"b\"c\n", 0, 3, 6, "header row: text after" },
	{ "a\0,b\n", 5, 1, 2, "header row: record contains a NUL" },
};

static void test_bad_header(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	     i++) {
		const struct header_case *hc = &header_cases[i];
		size_t n = hc->n ? hc->n : strlen(hc->in);

		for (int via = VIA_MEM; via <= VIA_FILE; via++) {
			char path[256];
			sb_csv *c = (sb_csv *)1;
			sb_diag d;

			sb_diag_clear(&d);
			assert_int_equal(open_via((enum via)via, hc->in, n,
						  path, sizeof(path), &c, &d),
					 SB_ESYNTAX);
			assert_null(c);
			assert_int_equal(d.code, SB_ESYNTAX);
			assert_string_equal(d.file, path);
			if (!strstr(d.message, hc->words))
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
					 d.message, hc->words);
			assert_int_equal(d.line, hc->line);
			assert_int_equal(d.column, hc->column);
			if (via == VIA_FILE)
				unlink(path);
		}
	}
}

static void test_open_missing(void **state)
{
	(void)state;
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open("/nonexistent/dir/x.csv", &c, &d),
			 SB_EIO);
	assert_null(c);
	assert_string_equal(d.file, "/nonexistent/dir/x.csv");
	assert_non_null(strstr(d.message, "cannot open"));
}

/* ---- limits ----------------------------------------------------------- */

static void test_too_many_fields(void **state)
{
	(void)state;
	text in = { 0 };
	char path[256];

	text_add(&in, "a\n", 2);
	for (int i = 0; i < 300; i++)
		text_add(&in, ",", 1);
	text_add(&in, "\nx\n", 3);
	/* Exactly the limit is fine (header and record alike). */
	for (int i = 0; i < SB_CSV_MAX_FIELDS; i++)
		text_add(&in, i ? ",z" : "z", i ? 2 : 1);
	text_add(&in, "\n", 1);

	for (int via = VIA_MEM; via <= VIA_FILE; via++) {
		sb_csv *c;
		sb_diag d;

		assert_int_equal(open_via((enum via)via, in.p, in.n, path,
					  sizeof(path), &c, &d),
				 SB_OK);
		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_int_equal(d.line, 2);
		assert_int_equal(d.column, SB_CSV_MAX_FIELDS + 1);
		assert_non_null(strstr(d.message, "more than 256 fields"));
		assert_int_equal(sb_csv_next(c, &d), 1);
		assert_int_equal(sb_csv_line(c), 3);
		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_non_null(
			strstr(d.message, "256 fields, the header has 1"));
		assert_int_equal(sb_csv_nfields(c), SB_CSV_MAX_FIELDS);
		assert_int_equal(sb_csv_next(c, &d), 0);
		sb_csv_free(c);
		if (via == VIA_FILE)
			unlink(path);
	}

	/* A header with more fields than allowed is refused. */
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open_mem("h", in.p + 2, in.n - 2, &c, &d),
			 SB_ESYNTAX);
	assert_non_null(strstr(d.message, "more than 256 fields"));
	free(in.p);
}

/* A record of exactly SB_CSV_MAX_RECORD bytes is read; one byte more is
 * rejected and skipped, also when it hides line feeds inside quotes. */
static void test_record_length(void **state)
{
	(void)state;
	const size_t max = SB_CSV_MAX_RECORD;
	text in = { 0 };
	char *big = malloc(max + 100);

	assert_non_null(big);
	memset(big, 'x', max + 100);
	text_add(&in, "a\r\nfirst\r\n", 10);          /* lines 1-2 */
	text_add(&in, big, max);                      /* line 3: fits */
	text_add(&in, "\r\n", 2);
	text_add(&in, big, max + 1);                  /* line 4: too long */
	text_add(&in, "\r\n", 2);
	text_add(&in, "\"", 1);                       /* line 5: too long, */
	for (size_t i = 0; i < 10; i++) {             /* 10 quoted line feeds */
		text_add(&in, big, max / 8);
		text_add(&in, "\n\"\"", 3);
	}
	text_add(&in, "\"\n", 2);
	text_add(&in, "last\n", 5);                   /* line 16 */
	text_add(&in, big, max + 50);                 /* line 17: too long, */
	                                              /* no line end */

	for (int via = VIA_MEM; via <= VIA_FILE; via++) {
		char path[256];
		sb_csv *c;
		sb_diag d;

		assert_int_equal(open_via((enum via)via, in.p, in.n, path,
					  sizeof(path), &c, &d),
				 SB_OK);
		assert_int_equal(sb_csv_next(c, &d), 1);
		assert_int_equal(sb_csv_line(c), 2);
		assert_int_equal(sb_csv_next(c, &d), 1);
		assert_int_equal(sb_csv_line(c), 3);
		assert_int_equal(sb_csv_get(c, 0).n, max);
		assert_int_equal(sb_csv_raw(c).n, max);

		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_int_equal(d.line, 4);
		assert_non_null(strstr(d.message, "longer than 1048576 bytes"));
		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_int_equal(d.line, 5);
		assert_int_equal(sb_csv_line(c), 5);

		assert_int_equal(sb_csv_next(c, &d), 1);
		assert_int_equal(sb_csv_line(c), 16);
		assert_memory_equal(sb_csv_get(c, 0).p, "last", 4);
		assert_int_equal(sb_csv_next(c, &d), -1);
		assert_int_equal(d.line, 17);
		assert_int_equal(sb_csv_next(c, &d), 0);
		sb_csv_free(c);
		if (via == VIA_FILE)
			unlink(path);
	}
	free(big);
	free(in.p);
}

/* ---- block boundaries ------------------------------------------------- */

/* Record i of a generated file: its id, a note that is sometimes quoted
 * with commas, doubled quotes and line feeds, and sometimes long, so that
 * records of every shape straddle the reader's block ends. */
static void gen_note(size_t i, text *t)
{
	t->n = 0;
	text_add(t, "", 0);
	switch (i % 7) {
	case 0:
		text_printf(t, "plain%zu", i);
		break;
	case 1:
		text_printf(t, "comma, %zu", i);
		break;
	case 2:
		text_printf(t, "say \"%zu\"", i);
		break;
	case 3:
		text_printf(t, "two\nlines %zu\r\nthree", i);
		break;
	case 4:
		for (size_t k = 0; k < (i % 53) * 97; k++)
			text_add(t, &"abcdefghij"[k % 10], 1);
		break;
	case 5:
		break;
	default:
		text_printf(t, "\"%zu\"", i);
		break;
	}
}

static void test_block_boundaries(void **state)
{
	(void)state;
	sb_out *o = malloc(sizeof(*o));
	char path[256];
	text note = { 0 };
	size_t nrec = 0, lines = 1, bytes = 0, long_at = SIZE_MAX;
	sb_diag d;

	assert_non_null(o);
	tmp_file("", 0, path, sizeof(path));
	assert_int_equal(sb_out_open(o, path, &d), SB_OK);
	sb_out_str(o, "id,note,amount\n");
	/* Over 6 MiB, so several refills happen; a 1000000-byte record
	 * starts 1.5 MiB in and so straddles the end of the first block
	 * (2 MiB), whose refill must keep it whole. */
	for (size_t i = 0; bytes < 6u << 20; i++) {
		gen_note(i, &note);
		sb_out_i64(o, (int64_t)i);
		sb_out_char(o, ',');
		if (long_at == SIZE_MAX && bytes > 3u << 19) {
			long_at = i;
			for (size_t k = 0; k < 1000000; k++)
				sb_out_char(o, 'y');
		} else {
			sb_out_field(o, note.p, note.n);
		}
		sb_out_char(o, ',');
		sb_out_fen(o, (sb_fen)i * 37 - 5000);
		sb_out_str(o, i % 2 ? "\r\n" : "\n");
		for (size_t k = 0; k < note.n; k++)
			lines += note.p[k] == '\n';
		lines++;
		nrec = i + 1;
		bytes = (size_t)ftell(o->f) + o->n;
		if (i == long_at)
			assert_true(bytes > 2u << 20);
	}
	assert_int_equal(sb_out_close(o, path, &d), SB_OK);
	free(o);

	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 6 * 1024 * 1024);

	sb_csv *c;

	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	long line = 2;

	for (size_t i = 0; i < nrec; i++) {
		char want[64];
		int rc = sb_csv_next(c, &d);

		if (rc != 1)
			fail_msg("record %zu: rc %d: %s", i, rc, d.message);
		assert_int_equal(sb_csv_line(c), line);
		gen_note(i, &note);
		snprintf(want, sizeof(want), "%zu", i);
		sb_csv_field f = sb_csv_get(c, 0);

		assert_int_equal(f.n, strlen(want));
		assert_memory_equal(f.p, want, f.n);
		f = sb_csv_get(c, 1);
		if (i == long_at) {
			assert_int_equal(f.n, 1000000);
		} else {
			assert_int_equal(f.n, note.n);
			assert_memory_equal(f.p, note.p, f.n);
		}
		char money[SB_MONEY_BUF];
		size_t mn = sb_money_format((sb_fen)i * 37 - 5000, money);

		f = sb_csv_get(c, 2);
		assert_int_equal(f.n, mn);
		assert_memory_equal(f.p, money, mn);
		for (size_t k = 0; k < note.n && i != long_at; k++)
			line += note.p[k] == '\n';
		line++;
	}
	assert_int_equal(sb_csv_next(c, &d), 0);
	sb_csv_free(c);
	free(note.p);
	unlink(path);
}

/* Through a pipe, read(2) returns a few bytes at a time: every parser state
 * must survive a block ending right after it. */
static void test_short_reads(void **state)
{
	(void)state;
	static const char in[] =
		"\xEF\xBB\xBFid,note\r\n1,\"a,b\"\r\n2,\"x\"\"y\"\r\n\r\n"
		"3,\"l1\nl2\"\r\n4,p\"q\n5,\"end\"\r";
	static const char want[] = "H:id|note\nL2:1|a,b\nL3:2|x\"y\n"
				   "L5:3|l1\\nl2\nE7:4\nL8:5|end\n";
	char dir[256], path[300];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sb_fifo_XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_int_equal(mkfifo(path, 0600), 0);

	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = fopen(path, "wb");

		if (!f)
			_exit(1);
		setvbuf(f, NULL, _IONBF, 0);
		for (size_t i = 0; i < sizeof(in) - 1; i++) {
			fputc(in[i], f);
			usleep(300);
		}
		fclose(f);
		_exit(0);
	}

	sb_csv *c;
	sb_diag d;
	text t = { 0 };

	/* sb_csv_open refuses a FIFO (see test_refuses_streams): a
	 * one-pass reader is given the descriptor. */
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(sb_csv_open_fd(path, fd, &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	drain(c, &t);
	sb_csv_free(c);

	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(t.p, want);
	free(t.p);
	unlink(path);
	rmdir(dir);
}

/* Every position of a comma, quote or NUL in records of 1 to 50 bytes,
 * around the 16-byte blocks the fast path scans. The memory reader gets an
 * exact-size heap copy so that ASan sees any read past the last byte. */
static void test_every_position(void **state)
{
	(void)state;
	text in = { 0 }, want = { 0 };
	long line = 2;

	text_add(&in, "a,b\n", 4);
	text_add(&want, "H:a|b\n", 6);
	for (size_t len = 1; len <= 50; len++) {
		for (size_t k = 0; k < len; k++) {
			static const char special[] = { ',', '"', '\0' };

			for (size_t j = 0; j < sizeof(special); j++) {
				char rec[64];

				memset(rec, 'x', len);
				rec[k] = special[j];
				/* A quote first opens a quoted field; that
				 * case is in the table above. */
				if (special[j] == '"' && k == 0)
					continue;
				text_add(&in, rec, len);
				text_add(&in, len % 3 ? "\n" : "\r\n",
					 len % 3 ? 1 : 2);
				if (special[j] == ',') {
					text_printf(&want, "L%ld:", line);
					text_add(&want, rec, k);
					text_add(&want, "|", 1);
					text_add(&want, rec + k + 1,
						 len - k - 1);
					text_add(&want, "\n", 1);
				} else {
					text_printf(&want, "E%ld:%zu\n", line,
						    k + 1);
				}
				line++;
			}
		}
	}
	/* Finally a long record whose line feed is the very last byte. */
	static const char last[] =
		"0123456789abcdefghijklmnopqrstuvwxyz,01234567890\n";

	text_add(&in, last, sizeof(last) - 1);
	text_printf(&want, "L%ld:0123456789abcdefghijklmnopqrstuvwxyz|"
			   "01234567890\n",
		    line);

	for (int via = VIA_MEM; via <= VIA_FILE; via++) {
		char path[256];
		char *copy = malloc(in.n);
		sb_csv *c;
		sb_diag d;
		text t = { 0 };

		assert_non_null(copy);
		memcpy(copy, in.p, in.n);
		assert_int_equal(open_via((enum via)via, copy, in.n, path,
					  sizeof(path), &c, &d),
				 SB_OK);
		drain(c, &t);
		assert_string_equal(t.p, want.p);
		sb_csv_free(c);
		free(copy);
		free(t.p);
		if (via == VIA_FILE)
			unlink(path);
	}
	free(in.p);
	free(want.p);
}

/* ---- ranges, for threads sharing one file ----------------------------- */

/* Byte offset of the start of 1-based line n of in. */
static int64_t line_start(const char *in, long n)
{
	const char *p = in;

	for (long k = 1; k < n; k++)
		p = strchr(p, '\n') + 1;
	return (int64_t)(p - in);
}

static void test_range(void **state)
{
	(void)state;
	text in = { 0 };
	char path[256];

	text_add(&in, "id,note\r\n", 9);
	for (int k = 2; k <= 31; k++) {
		if (k == 15)
			text_add(&in, "\n", 1); /* a blank line is a line */
		else
			text_printf(&in, "%d,\"note %d\"\n", k, k);
	}
	tmp_file(in.p, in.n, path, sizeof(path));

	/* Cut at lines 2, 12, 22 and the end: each range has 10 lines. */
	int64_t cut[4] = { line_start(in.p, 2), line_start(in.p, 12),
			   line_start(in.p, 22), (int64_t)in.n };
	long total = 0;

	for (int r = 0; r < 3; r++) {
		sb_csv *c;
		sb_diag d;
		static const char *const note[] = { "NOTE", NULL };

		assert_int_equal(sb_csv_open_range(path, 2, cut[r], cut[r + 1],
						   &c, &d),
				 SB_OK);
		sb_csv_set_multiline(c, 1);
		assert_int_equal(sb_csv_find(c, note), 1);
		assert_int_equal(sb_csv_offset(c), cut[r]);
		for (long rel = 1; rel <= 10; rel++) {
			long abs = 1 + (r * 10 + 1) + rel - 1;

			if (abs == 15)
				continue;
			assert_int_equal(sb_csv_next(c, &d), 1);
			assert_int_equal(sb_csv_line(c), rel);
			assert_false(sb_csv_multiline(c));
			char want[16];

			snprintf(want, sizeof(want), "%ld", abs);
			assert_int_equal(sb_csv_get(c, 0).n, strlen(want));
			assert_memory_equal(sb_csv_get(c, 0).p, want,
					    strlen(want));
		}
		assert_int_equal(sb_csv_next(c, &d), 0);
		assert_int_equal(sb_csv_lines(c), 10);
		assert_int_equal(sb_csv_offset(c), cut[r + 1]);
		total += sb_csv_lines(c);
		sb_csv_free(c);
	}
	assert_int_equal(total, 30);

	/* The whole-file reader counts the header line as well. */
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	assert_int_equal(sb_csv_lines(c), 1);
	while (sb_csv_next(c, &d) != 0)
		;
	assert_int_equal(sb_csv_lines(c), 31);
	assert_int_equal(sb_csv_offset(c), (int64_t)in.n);
	sb_csv_free(c);

	assert_int_equal(sb_csv_open_range(path, 3, cut[0], cut[1], &c, &d),
			 SB_ESYNTAX);
	assert_null(c);
	assert_int_equal(sb_csv_open_range(path, 2, 9, 5, &c, &d), SB_EIO);
	unlink(path);
	free(in.p);
}

/* A range cut inside a quoted line feed: the record that starts before the
 * cut is read whole, past it, and says it is multi-line. */
static void test_range_multiline(void **state)
{
	(void)state;
	static const char in[] = "a,b\n1,x\n2,\"two\nlines\"\n3,y\n";
	char path[256];
	sb_csv *c;
	sb_diag d;

	tmp_file(in, sizeof(in) - 1, path, sizeof(path));
	assert_int_equal(sb_csv_open_range(path, 2, line_start(in, 2),
					   line_start(in, 4), &c, &d),
			 SB_OK);
	sb_csv_set_multiline(c, 1);
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_false(sb_csv_multiline(c));
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_true(sb_csv_multiline(c));
	assert_int_equal(sb_csv_line(c), 2);
	assert_int_equal(sb_csv_get(c, 1).n, 9);
	assert_int_equal(sb_csv_next(c, &d), 0);
	assert_int_equal(sb_csv_lines(c), 3);
	sb_csv_free(c);
	unlink(path);
}

struct multi_case {
	const char *in;
	int rc, multi;
};

static const struct multi_case multi_cases[] = {
	{ "a,b\n1,2\n", 1, 0 },
	{ "a,b\n1,\"2\"\n", 1, 0 },
	{ "a,b\n1,\"x\ny\"\n", 1, 1 },
	{ "a,b\n1,\"x\r\ny\"", 1, 1 },
	{ "a,b\n1,\"x\ny\"z\n", -1, 1 },
	{ "a,b\n1,x\"y\n", -1, 0 },
	{ "a,b\n1,\"x\ny\n", -1, 1 },
	{ "a,b\n\"1\n\",2,3\n", -1, 1 },
};

static void test_multiline(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(multi_cases) / sizeof(multi_cases[0]);
	     i++) {
		sb_csv *c;
		sb_diag d;
		const struct multi_case *mc = &multi_cases[i];

		assert_int_equal(sb_csv_open_mem("m", mc->in, strlen(mc->in),
						 &c, &d),
				 SB_OK);
		sb_csv_set_multiline(c, 1);
		assert_int_equal(sb_csv_next(c, &d), mc->rc);
		if (sb_csv_multiline(c) != mc->multi)
			fail_msg("case %zu: multiline %d", i,
				 sb_csv_multiline(c));
		assert_int_equal(sb_csv_next(c, &d), 0);
		assert_int_equal(sb_csv_offset(c), (int64_t)strlen(mc->in));
		sb_csv_free(c);
	}
}

/* ---- header lookup ---------------------------------------------------- */

static void test_find(void **state)
{
	(void)state;
	static const char in[] =
		" Certno ,PSN_NO,Setl_ID\t,金额, ,medfee_sumamt\n1,2,3,4,5,6\n";
	static const char *const id[] = { "id", "certno", "psn_no", NULL };
	static const char *const setl[] = { "setl_id", NULL };
	static const char *const total[] = { "total", "MEDFEE_SUMAMT", NULL };
	static const char *const person[] = { "  psn_no  ", NULL };
	static const char *const cn[] = { "金额", NULL };
	static const char *const none[] = { "missing", "cert", NULL };
	static const char *const empty[] = { "", NULL };
	static const char *const nothing[] = { NULL };
	sb_csv *c;
	sb_diag d;

	assert_int_equal(sb_csv_open_mem("p", in, strlen(in), &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	assert_int_equal(sb_csv_ncols(c), 6);
	assert_string_equal(sb_csv_name(c), "p");
	/* The first matching column wins, whichever alias it matches. */
	assert_int_equal(sb_csv_find(c, id), 0);
	assert_int_equal(sb_csv_find(c, person), 1);
	assert_int_equal(sb_csv_find(c, setl), 2);
	assert_int_equal(sb_csv_find(c, cn), 3);
	assert_int_equal(sb_csv_find(c, total), 5);
	assert_int_equal(sb_csv_find(c, none), -1);
	assert_int_equal(sb_csv_find(c, empty), 4);
	assert_int_equal(sb_csv_find(c, nothing), -1);
	/* The header view is untrimmed and survives reading records. */
	assert_int_equal(sb_csv_next(c, &d), 1);
	assert_int_equal(sb_csv_header(c, 0).n, 8);
	assert_memory_equal(sb_csv_header(c, 0).p, " Certno ", 8);
	assert_int_equal(sb_csv_header(c, 6).n, 0);
	sb_csv_free(c);
}

/* ---- writer ----------------------------------------------------------- */

static const char *const awkward[] = {
	"plain", "a,b", "say \"hi\"", "\"", "\"\"", "line1\nline2",
	"cr\r\nlf", "trail\r", "", " spaced ", "张三,李四", "x\"", NULL,
};

static void test_writer_round_trip(void **state)
{
	(void)state;
	sb_out *o = malloc(sizeof(*o));
	char path[256];
	sb_diag d;
	size_t n = 0;

	assert_non_null(o);
	while (awkward[n])
		n++;
	tmp_file("", 0, path, sizeof(path));
	assert_int_equal(sb_out_open(o, path, &d), SB_OK);
	/* The header is always one line: plain names. */
	for (size_t i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%sc%zu", i ? "," : "", i);
		sb_out_str(o, name);
	}
	sb_out_char(o, '\n');
	for (size_t row = 0; row < 3; row++) {
		for (size_t i = 0; i < n; i++) {
			if (i)
				sb_out_char(o, ',');
			/* Rotate so each text is also first and last. */
			const char *s = awkward[(i + row) % n];

			sb_out_field(o, s, strlen(s));
		}
		sb_out_char(o, '\n');
	}
	assert_int_equal(sb_out_close(o, path, &d), SB_OK);
	free(o);

	sb_csv *c;

	assert_int_equal(sb_csv_open(path, &c, &d), SB_OK);
	sb_csv_set_multiline(c, 1);
	assert_int_equal(sb_csv_ncols(c), n);
	for (size_t row = 0; row < 3; row++) {
		assert_int_equal(sb_csv_next(c, &d), 1);
		for (size_t i = 0; i < n; i++) {
			sb_csv_field f = sb_csv_get(c, i);
			const char *s = awkward[(i + row) % n];

			assert_int_equal(f.n, strlen(s));
			assert_memory_equal(f.p, s, f.n);
		}
	}
	assert_int_equal(sb_csv_next(c, &d), 0);
	sb_csv_free(c);
	unlink(path);
}

/* Captures what a writer produced, through a memory FILE. */
typedef struct capture {
	FILE *f;
	char *p;
	size_t n;
	sb_out *o;
} capture;

static void capture_start(capture *cp)
{
	cp->p = NULL;
	cp->n = 0;
	cp->f = open_memstream(&cp->p, &cp->n);
	assert_non_null(cp->f);
	cp->o = malloc(sizeof(*cp->o));
	assert_non_null(cp->o);
	sb_out_init_file(cp->o, cp->f);
}

static void capture_end(capture *cp)
{
	sb_diag d;

	assert_int_equal(sb_out_close(cp->o, "mem", &d), SB_OK);
	assert_int_equal(fclose(cp->f), 0);
	free(cp->o);
}

static void test_out_fen(void **state)
{
	(void)state;
	static const struct {
		sb_fen v;
		const char *s;
	} cases[] = {
		{ 0, "0.00" },
		{ 5, "0.05" },
		{ -5, "-0.05" },
		{ 10, "0.10" },
		{ 99, "0.99" },
		{ 100, "1.00" },
		{ -100, "-1.00" },
		{ 123456, "1234.56" },
		{ 1712642, "17126.42" },
		{ SB_FEN_MAX, "1000000000000.00" },
		{ INT64_MAX, "92233720368547758.07" },
		{ INT64_MIN, "-92233720368547758.08" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		capture cp;

		capture_start(&cp);
		sb_out_fen(cp.o, cases[i].v);
		capture_end(&cp);
		assert_string_equal(cp.p, cases[i].s);
		free(cp.p);
	}

	/* The same text as sb_money_format, across signs and magnitudes. */
	capture cp;
	text want = { 0 };

	capture_start(&cp);
	for (int64_t v = -30000; v <= 30000; v += 7) {
		char buf[SB_MONEY_BUF];
		sb_fen x = v * (v % 3 ? 1 : 100003);

		sb_out_fen(cp.o, x);
		sb_out_char(cp.o, ' ');
		text_add(&want, buf, sb_money_format(x, buf));
		text_add(&want, " ", 1);
	}
	capture_end(&cp);
	assert_int_equal(cp.n, want.n);
	assert_string_equal(cp.p, want.p);
	free(cp.p);
	free(want.p);
}

static void test_out_i64_and_bulk(void **state)
{
	(void)state;
	static const int64_t vals[] = { 0, 7, -1, 10, 99, 100, -12345,
					1234567890123, INT64_MAX, INT64_MIN };
	capture cp;
	text want = { 0 };

	capture_start(&cp);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		sb_out_i64(cp.o, vals[i]);
		sb_out_char(cp.o, ';');
		text_printf(&want, "%" PRId64 ";", vals[i]);
	}
	/* Past the 64 KiB buffer: small pieces, then one larger than it. */
	char *blob = malloc(200000);

	assert_non_null(blob);
	for (size_t i = 0; i < 200000; i++)
		blob[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < 50000; i++) {
		sb_out_str(cp.o, "abc");
		text_add(&want, "abc", 3);
	}
	sb_out_bytes(cp.o, blob, 200000);
	text_add(&want, blob, 200000);
	sb_out_bytes(cp.o, blob, 65536);
	text_add(&want, blob, 65536);
	capture_end(&cp);
	assert_int_equal(cp.n, want.n);
	assert_memory_equal(cp.p, want.p, want.n);
	free(blob);
	free(cp.p);
	free(want.p);
}

static void test_out_field_quoting(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "\"", "\"\"\"\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "a\nb", "\"a\nb\"" },
		{ "a\rb", "\"a\rb\"" },
		{ " x ", " x " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		capture cp;

		capture_start(&cp);
		sb_out_field(cp.o, cases[i].in, strlen(cases[i].in));
		capture_end(&cp);
		assert_string_equal(cp.p, cases[i].out);
		free(cp.p);
	}
}

/* A failed write is remembered and reported once, at close. */
static void test_out_error_sticky(void **state)
{
	(void)state;
	sb_out *o = malloc(sizeof(*o));
	sb_diag d;

	assert_non_null(o);
	if (access("/dev/full", W_OK) != 0) {
		free(o);
		skip();
	}
	assert_int_equal(sb_out_open(o, "/dev/full", &d), SB_OK);
	for (int i = 0; i < 100000; i++)
		sb_out_str(o, "0123456789");
	assert_int_equal(o->err, ENOSPC);
	sb_out_str(o, "more");
	assert_int_equal(sb_out_close(o, "/dev/full", &d), SB_EIO);
	assert_string_equal(d.file, "/dev/full");
	assert_non_null(strstr(d.message, "cannot write"));

	assert_int_equal(sb_out_open(o, "/nonexistent/dir/out.csv", &d),
			 SB_EIO);
	assert_non_null(strstr(d.message, "cannot create"));
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_table),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_refuses_streams),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_one_line_message),
		cmocka_unit_test(test_one_line_ranges),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_field_count_keeps_fields),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_record_length),
		cmocka_unit_test(test_block_boundaries),
		cmocka_unit_test(test_short_reads),
		cmocka_unit_test(test_every_position),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_range_multiline),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_out_fen),
		cmocka_unit_test(test_out_i64_and_bulk),
		cmocka_unit_test(test_out_field_quoting),
		cmocka_unit_test(test_out_error_sticky),
	};

	/* A reader of a pipe whose writer died must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
