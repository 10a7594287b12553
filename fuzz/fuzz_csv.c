/* fuzz_csv.c: libFuzzer target for the CSV reader. Reads every record of
 * the input, checks the reader's promises (bounds, line order, progress),
 * then writes the good records with sb_out and reads them back unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanbao/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n",    \
				__FILE__, __LINE__, #cond);             \
			abort();                                        \
		}                                                       \
	} while (0)

static int in_buf(const char *p, const char *buf, size_t n)
{
	return (uintptr_t)p >= (uintptr_t)buf &&
	       (uintptr_t)p <= (uintptr_t)buf + n;
}

static int same(sb_csv_field a, sb_csv_field b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* One field as the writer must put it so the reader gives it back: a lone
 * empty field would be a blank line, which is not a record. */
static void put_record(sb_out *o, const sb_csv *c, int header)
{
	size_t n = header ? sb_csv_ncols(c) : sb_csv_nfields(c);

	for (size_t i = 0; i < n; i++) {
		sb_csv_field f = header ? sb_csv_header(c, i) : sb_csv_get(c, i);

		if (i)
			sb_out_char(o, ',');
		if (n == 1 && f.n == 0)
			sb_out_str(o, "\"\"");
		else
			sb_out_field(o, f.p, f.n);
	}
	sb_out_char(o, '\n');
}

/* Checks one good record against the input it came from. */
static void check_record(const sb_csv *c, const char *buf, size_t size)
{
	sb_csv_field raw = sb_csv_raw(c);
	size_t nf = sb_csv_nfields(c);
	int raw_has_quote;
	size_t joined = 0;
	unsigned sum = 0;

	CHECK(nf == sb_csv_ncols(c));
	CHECK(nf >= 1 && nf <= SB_CSV_MAX_FIELDS);
	CHECK(raw.n <= SB_CSV_MAX_RECORD);
	CHECK(in_buf(raw.p, buf, size) && in_buf(raw.p + raw.n, buf, size));
	raw_has_quote = memchr(raw.p, '"', raw.n) != NULL;
	CHECK(memchr(raw.p, '\0', raw.n) == NULL);
	/* A line feed inside a record can only be a quoted one. */
	CHECK(sb_csv_multiline(c) == (memchr(raw.p, '\n', raw.n) != NULL));

	for (size_t i = 0; i < nf; i++) {
		sb_csv_field f = sb_csv_get(c, i);

		/* Touch every byte, so ASan sees a view that is too long. */
		for (size_t k = 0; k < f.n; k++)
			sum += (unsigned char)f.p[k];
		CHECK(memchr(f.p, '\0', f.n) == NULL);
		if (in_buf(f.p, buf, size)) {
			/* A view into the input lies inside the record and
			 * holds no quote: quotes are either syntax or were
			 * unescaped into the reader's scratch. */
			CHECK(f.p >= raw.p && f.p + f.n <= raw.p + raw.n);
			CHECK(memchr(f.p, '"', f.n) == NULL);
		} else {
			CHECK(raw_has_quote);
			CHECK(memchr(f.p, '"', f.n) != NULL);
		}
		joined += f.n + (i ? 1 : 0);
	}
	(void)sum;
	/* Without quotes the record is its fields joined by commas. */
	if (!raw_has_quote) {
		CHECK(joined == raw.n);
		const char *p = raw.p;

		for (size_t i = 0; i < nf; i++) {
			sb_csv_field f = sb_csv_get(c, i);

			CHECK(f.p == p);
			p += f.n;
			if (i + 1 < nf) {
				CHECK(*p == ',');
				p++;
			}
		}
	}
	CHECK(sb_csv_get(c, nf).n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	sb_csv *c;
	sb_diag d;
	long lfs = 0;

	for (size_t i = 0; i < size; i++)
		lfs += buf[i] == '\n';

	sb_status st = sb_csv_open_mem("fuzz.csv", buf, size, &c, &d);

	if (st != SB_OK) {
		CHECK(st == SB_ESYNTAX);
		CHECK(c == NULL);
		CHECK(d.code == SB_ESYNTAX && d.message[0] != '\0');
		CHECK(d.line >= 1 && d.line <= lfs + 1);
		return 0;
	}
	CHECK(sb_csv_ncols(c) >= 1 && sb_csv_ncols(c) <= SB_CSV_MAX_FIELDS);
	for (size_t i = 0; i < sb_csv_ncols(c); i++) {
		sb_csv_field h = sb_csv_header(c, i);

		CHECK(memchr(h.p, '\0', h.n) == NULL);
	}

	/* The round trip needs records short enough to stay under the limit
	 * after quoting, and a header whose first name does not begin with
	 * a BOM (the reader strips one there). */
	sb_csv_field h0 = sb_csv_header(c, 0);
	int round_trip = size < SB_CSV_MAX_RECORD / 2 &&
			 !(h0.n >= 3 && memcmp(h0.p, "\xEF\xBB\xBF", 3) == 0);
	char *out = NULL;
	size_t out_n = 0;
	FILE *mf = round_trip ? open_memstream(&out, &out_n) : NULL;
	sb_out *o = mf ? malloc(sizeof(*o)) : NULL;

	if (o) {
		sb_out_init_file(o, mf);
		put_record(o, c, 1);
	}

	long last = 0;
	int64_t offset = sb_csv_offset(c);
	size_t calls = 0, good = 0;
	int rc;

	while ((rc = sb_csv_next(c, &d)) != 0) {
		/* Every call consumes at least one byte. */
		CHECK(++calls <= size + 1);
		CHECK(rc == 1 || rc == -1);
		CHECK(!sb_csv_multiline(c));
		CHECK(sb_csv_line(c) > last);
		CHECK(sb_csv_line(c) <= lfs + 1);
		last = sb_csv_line(c);
		CHECK(sb_csv_offset(c) > offset);
		CHECK(sb_csv_offset(c) <= (int64_t)size);
		offset = sb_csv_offset(c);
		CHECK(sb_csv_lines(c) >= sb_csv_line(c) - 1);
		CHECK(sb_csv_lines(c) <= lfs);
		if (rc == 1) {
			check_record(c, buf, size);
			good++;
			if (o)
				put_record(o, c, 0);
		} else {
			CHECK(d.code == SB_ESYNTAX && d.message[0] != '\0');
			CHECK(d.line >= sb_csv_line(c) && d.line <= lfs + 1);
			CHECK(sb_csv_nfields(c) <= SB_CSV_MAX_FIELDS);
		}
	}
	CHECK(sb_csv_next(c, &d) == 0);
	/* One record per line (the default): every non-blank physical line
	 * after the header's is one record or one reject, so nothing is
	 * swallowed by a stray quote. Blank is "" or "\r". */
	size_t nonblank = 0;

	size_t i0 = size >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

	for (size_t i = i0; i < size;) {
		const char *lf = memchr(buf + i, '\n', size - i);
		size_t n = lf ? (size_t)(lf - (buf + i)) : size - i;

		nonblank += !(n == 0 || (n == 1 && buf[i] == '\r'));
		i += n + 1;
	}
	CHECK(calls + 1 == nonblank);
	CHECK(sb_csv_offset(c) == (int64_t)size);
	CHECK(sb_csv_lines(c) <= lfs);

	if (o) {
		sb_csv *a, *b;

		CHECK(sb_out_close(o, "mem", &d) == SB_OK);
		CHECK(fclose(mf) == 0);
		CHECK(sb_csv_open_mem("again", buf, size, &a, &d) == SB_OK);
		CHECK(sb_csv_open_mem("out", out, out_n, &b, &d) == SB_OK);
		CHECK(sb_csv_ncols(a) == sb_csv_ncols(b));
		for (size_t i = 0; i < sb_csv_ncols(a); i++)
			CHECK(same(sb_csv_header(a, i), sb_csv_header(b, i)));
		while ((rc = sb_csv_next(a, &d)) != 0) {
			if (rc != 1)
				continue;
			CHECK(sb_csv_next(b, &d) == 1);
			for (size_t i = 0; i < sb_csv_nfields(a); i++)
				CHECK(same(sb_csv_get(a, i), sb_csv_get(b, i)));
			good--;
		}
		CHECK(good == 0);
		CHECK(sb_csv_next(b, &d) == 0);
		sb_csv_free(a);
		sb_csv_free(b);
		free(o);
		free(out);
	} else if (mf) {
		fclose(mf);
		free(out);
	}
	sb_csv_free(c);
	return 0;
}
