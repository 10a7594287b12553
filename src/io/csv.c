/* csv.c: the streaming RFC 4180 reader (large read(2) blocks, fields handed
 * out as views into the block) and sb_out, the buffered writer that every CSV
 * and report of sanbao goes through.
 */
#include "sanbao/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__) && !defined(SB_CSV_SCALAR)
#include <emmintrin.h>
#endif

/* The parser looks at most this far past a record's first byte: enough to see
 * the CR LF that closes a record of the largest allowed size. Whatever has not
 * ended by then is too long, whether or not more bytes follow. */
#define CSV_LOOK ((size_t)SB_CSV_MAX_RECORD + 2)

/* A file reader's block: one record of the largest size plus about 1 MiB, so
 * a refill always has room for a large read(2) after the partial record it
 * keeps, and can never be called with a full buffer (see refill). */
#define CSV_BUFSZ (2 * (size_t)SB_CSV_MAX_RECORD)

/* Byte classes for the scanning loops; 0 means "ordinary text". The unquoted
 * loop stops at a separator, line feed, quote or NUL; the quoted one at a
 * quote, line feed (to count lines) or NUL. CR is ordinary in both: it only
 * matters right before a line feed, which the stop handler looks back for. */
enum { K_TEXT, K_COMMA, K_QUOTE, K_LF, K_NUL };

static const unsigned char unquoted_class[256] = {
	[','] = K_COMMA, ['"'] = K_QUOTE, ['\n'] = K_LF, ['\0'] = K_NUL,
};
static const unsigned char quoted_class[256] = {
	['"'] = K_QUOTE, ['\n'] = K_LF, ['\0'] = K_NUL,
};

struct sb_csv {
	const char *data; /* the bytes parsed: buf, or the caller's memory */
	size_t len;       /* bytes valid in data */
	size_t pos;       /* first byte not yet consumed */
	char *buf;        /* file mode: owned block of CSV_BUFSZ, else NULL */
	int fd;           /* file mode: the open file, else -1 */
	int eof;          /* nothing follows data[len - 1] */
	int io_errno;     /* a failed read: reported again on every call */
	int multi;        /* the current record holds a quoted line feed */
	int multiline_ok; /* a quoted field may hold a line feed (opt-in) */
	int64_t base;     /* file offset of data[0] */
	int64_t limit;    /* range reader: no record starts here or later */
	long line;        /* physical line of data[pos] */
	long rec_line;    /* line on which the current record starts */
	size_t nf;        /* fields in the current record */
	size_t ncols;     /* header fields; 0 while the header is read */
	sb_csv_field raw;
	char *name;       /* owned copy of the name given at open */
	char *scratch;    /* CSV_LOOK bytes: unescaped fields with "" */
	char *hdr_text;   /* owned, NUL-terminated copies of the names */
	sb_csv_field *hdr;
	sb_csv_field f[SB_CSV_MAX_FIELDS];
};

/* What went wrong in a record. Problems that leave the record's end
 * well-defined (a NUL byte, too many fields, a complete record that is too
 * long) are soft: parsing continues to the line end. The others stop the
 * parser and decide where reading resumes. */
enum bad {
	BAD_NONE,
	BAD_NUL,
	BAD_FIELDS,
	BAD_LONG,
	BAD_STRAY_QUOTE,
	BAD_AFTER_QUOTE,
	BAD_UNTERMINATED,
	BAD_LINE_QUOTE,
	BAD_UTF8,
};

enum { P_OK, P_MORE, P_BAD };

struct parse {
	const char *end;  /* end of the raw text, before the line ending */
	const char *next; /* first byte after the line ending */
	long nl;          /* line feeds consumed, the terminating one included */
	long inner;       /* of which inside quotes */
	enum bad bad;     /* the first problem, which the message names */
	const char *at;   /* where it is (NULL: the whole record) */
	enum bad stop;    /* the problem that stopped the parser, if any */
	const char *stop_at;
};

static void note_bad(struct parse *r, enum bad why, const char *at)
{
	if (r->bad == BAD_NONE) {
		r->bad = why;
		r->at = at;
	}
}

static int stop_bad(struct parse *r, enum bad why, const char *at)
{
	note_bad(r, why, at);
	r->stop = why;
	r->stop_at = at;
	return P_BAD;
}

static int clamp_int(long v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

static void csv_diag(const sb_csv *c, sb_diag *d, sb_status code, long line,
		     int column, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void csv_diag(const sb_csv *c, sb_diag *d, sb_status code, long line,
		     int column, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* ncols is 0 only while the header is read; its problems are named
	 * as the header's, since the messages otherwise speak of records. */
	(void)sb_diag_set(d, code, c->name, clamp_int(line), column, "%s%s",
			  code == SB_ESYNTAX && c->ncols == 0 ? "header row: "
							      : "",
			  msg);
}

/* ---- block input ------------------------------------------------------ */

/* Keeps the unconsumed tail, moved to the front, and reads after it. The
 * tail is at most CSV_LOOK bytes (a longer record is rejected before any
 * refill), so the read always has room and a 0 from read(2) is a true end. */
static int refill(sb_csv *c, sb_diag *d)
{
	if (c->fd < 0) {
		c->eof = 1;
		return 0;
	}
	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->base += (int64_t)c->pos;
		c->pos = 0;
	}
	for (;;) {
		ssize_t k = read(c->fd, c->buf + c->len, CSV_BUFSZ - c->len);

		if (k > 0) {
			c->len += (size_t)k;
			return 0;
		}
		if (k == 0) {
			c->eof = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		c->io_errno = errno;
		csv_diag(c, d, SB_EIO, 0, 0, "cannot read: %s",
			 strerror(c->io_errno));
		return -1;
	}
}

/* ---- text encoding ---------------------------------------------------- */

size_t sb_utf8_valid(const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < n) {
		unsigned b = p[i];
		size_t k;
		unsigned lo = 0x80, hi = 0xBF;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF) {
			k = 1;
		} else if (b >= 0xE0 && b <= 0xEF) {
			k = 2;
			if (b == 0xE0)
				lo = 0xA0; /* overlong */
			if (b == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (b >= 0xF0 && b <= 0xF4) {
			k = 3;
			if (b == 0xF0)
				lo = 0x90;
			if (b == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return i;
		}
		if (n - i <= k)
			return i;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return i;
		for (size_t j = 2; j <= k; j++)
			if ((p[i + j] & 0xC0) != 0x80)
				return i;
		i += k + 1;
	}
	return n;
}

int sb_looks_gbk(const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;

	return n >= 2 && p[0] >= 0x81 && p[0] <= 0xFE && p[1] >= 0x40 &&
	       p[1] <= 0xFE && p[1] != 0x7F;
}

/* 1 when a byte of [p, p + n) has its high bit set: the only records that
 * need the UTF-8 check, and in claims files the rare ones. */
static int has_high(const char *p, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__) && !defined(SB_CSV_SCALAR)
	__m128i acc = _mm_setzero_si128();

	for (; i + 16 <= n; i += 16)
		acc = _mm_or_si128(acc, _mm_loadu_si128((const __m128i *)(
						const void *)(p + i)));
	if (_mm_movemask_epi8(acc))
		return 1;
#endif
	for (; i < n; i++)
		if ((unsigned char)p[i] & 0x80)
			return 1;
	return 0;
}

/* ---- record parsing --------------------------------------------------- */

static void put_field(sb_csv *c, size_t *nf, const char *p, size_t n)
{
	if (*nf < SB_CSV_MAX_FIELDS) {
		c->f[*nf].p = p;
		c->f[*nf].n = n;
	}
	(*nf)++;
}

/* Records the field that ends at q (a comma or the line feed). */
#define FAST_FIELD(q)                                                  \
	do {                                                           \
		if (nf == SB_CSV_MAX_FIELDS)                           \
			return 0;                                      \
		c->f[nf].p = fp;                                       \
		c->f[nf].n = (size_t)((q)-fp);                         \
		nf++;                                                  \
		fp = (q) + 1;                                          \
	} while (0)

#if defined(__SSE2__) && !defined(SB_CSV_SCALAR)
/* 16 bytes at a time: a bit per comma, quote or NUL. */
static unsigned fast_mask(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(
		_mm_cmpeq_epi8(v, _mm_set1_epi8(',')),
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			     _mm_cmpeq_epi8(v, _mm_setzero_si128())));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The common case: a record on one line without quotes or NUL bytes, whose
 * line feed lf is known to be in the buffer. Returns 0 for anything unusual;
 * parse_full then redoes the record and says what is wrong with it. */
static int parse_fast(sb_csv *c, const char *s, const char *lf,
		      struct parse *r)
{
	const char *p = s;
	const char *fp = s;
	size_t nf = 0;

#if defined(__SSE2__) && !defined(SB_CSV_SCALAR)
	/* Whole blocks inside [s, lf), then the last 16 bytes before lf
	 * again with the bits already seen masked off: no load reaches past
	 * the line feed, which may be the last byte of the caller's memory. */
	if (lf - s >= 16) {
		for (; lf - p >= 16; p += 16) {
			unsigned m = fast_mask(p);

			for (; m; m &= m - 1) {
				const char *q = p + __builtin_ctz(m);

				if (*q != ',')
					return 0;
				FAST_FIELD(q);
			}
		}
		if (p < lf) {
			const char *t = lf - 16;
			unsigned m = fast_mask(t) >> (p - t) << (p - t);

			for (; m; m &= m - 1) {
				const char *q = t + __builtin_ctz(m);

				if (*q != ',')
					return 0;
				FAST_FIELD(q);
			}
		}
		p = lf;
	}
#endif
	/* Short records (and builds without SSE2), byte by byte; the line
	 * feed stops the scan, so it needs no bounds check. */
	for (;; p++) {
		while (!unquoted_class[(unsigned char)*p])
			p++;
		if (*p != ',')
			break;
		FAST_FIELD(p);
	}
	if (p != lf)
		return 0;
	FAST_FIELD(lf);
	r->end = lf;
	if (c->f[nf - 1].n > 0 && lf[-1] == '\r') {
		c->f[nf - 1].n--;
		r->end--;
	}
	c->nf = nf;
	r->next = lf + 1;
	r->nl = 1;
	return 1;
}
#undef FAST_FIELD

/* The full RFC 4180 state machine over [s, e). Returns P_MORE when the
 * record may continue past e and more input can come. Doubled quotes are
 * unescaped into c->scratch, never in place, so the raw text stays intact and
 * the caller's memory can be read-only; scratch holds CSV_LOOK bytes and the
 * parser never consumes more than that. */
static int parse_full(sb_csv *c, const char *s, const char *e,
		      struct parse *r)
{
	const char *lim = e;
	const char *p = s;
	char *w = c->scratch;
	size_t nf = 0;
	long nl = 0;
	int cut = 0;

	if ((size_t)(e - s) > CSV_LOOK) {
		lim = s + CSV_LOOK;
		cut = 1;
	}
	/* At lim: a cut record is too long; else either wait for more input
	 * or, at the end of input, take what there is. */
#define AT_LIMIT()                                                     \
	do {                                                           \
		if (cut)                                               \
			return stop_bad(r, BAD_LONG, NULL);            \
		if (!c->eof)                                           \
			return P_MORE;                                 \
	} while (0)

	for (;;) {
		const char *fp;
		size_t fn;

		if (nf == SB_CSV_MAX_FIELDS)
			note_bad(r, BAD_FIELDS, p);
		if (p < lim && *p == '"') {
			const char *open = p;
			const char *from = ++p;
			char *w0 = NULL;

			for (;;) {
				while (p < lim &&
				       !quoted_class[(unsigned char)*p])
					p++;
				if (p == lim) {
					AT_LIMIT();
					return stop_bad(r, BAD_UNTERMINATED,
							open);
				}
				if (*p == '\n') {
					/* One record per line: the quote
					 * ends with its line, so one stray
					 * '"' costs that line only. */
					if (!c->multiline_ok) {
						note_bad(r, BAD_LINE_QUOTE,
							 open);
						r->stop = BAD_LINE_QUOTE;
						r->stop_at = p;
						return P_BAD;
					}
					nl++;
					r->inner++;
					p++;
					continue;
				}
				if (*p == '\0') {
					note_bad(r, BAD_NUL, p);
					p++;
					continue;
				}
				/* A quote: doubled, or the closing one. */
				if (p + 1 == lim)
					AT_LIMIT();
				if (p + 1 < lim && p[1] == '"') {
					size_t k = (size_t)(p + 1 - from);

					if (!w0)
						w0 = w;
					memcpy(w, from, k);
					w += k;
					p += 2;
					from = p;
					continue;
				}
				break;
			}
			if (w0) {
				size_t k = (size_t)(p - from);

				memcpy(w, from, k);
				w += k;
				fp = w0;
				fn = (size_t)(w - w0);
			} else {
				fp = from;
				fn = (size_t)(p - from);
			}
			p++;
			if (p == lim) {
				AT_LIMIT();
				put_field(c, &nf, fp, fn);
				r->end = r->next = p;
				break;
			}
			if (*p == ',') {
				put_field(c, &nf, fp, fn);
				p++;
				continue;
			}
			if (*p == '\n') {
				put_field(c, &nf, fp, fn);
				r->end = p;
				r->next = p + 1;
				nl++;
				break;
			}
			if (*p == '\r') {
				if (p + 1 == lim) {
					AT_LIMIT();
					put_field(c, &nf, fp, fn);
					r->end = p;
					r->next = p + 1;
					break;
				}
				if (p[1] == '\n') {
					put_field(c, &nf, fp, fn);
					r->end = p;
					r->next = p + 2;
					nl++;
					break;
				}
			}
			if (*p == '\0')
				note_bad(r, BAD_NUL, p);
			return stop_bad(r, BAD_AFTER_QUOTE, p);
		}

		fp = p;
		for (;;) {
			while (p < lim && !unquoted_class[(unsigned char)*p])
				p++;
			if (p < lim && *p == '\0') {
				note_bad(r, BAD_NUL, p);
				p++;
				continue;
			}
			break;
		}
		if (p < lim && *p == ',') {
			put_field(c, &nf, fp, (size_t)(p - fp));
			p++;
			continue;
		}
		if (p < lim && *p == '"')
			return stop_bad(r, BAD_STRAY_QUOTE, p);
		/* A line feed, or the end of input. */
		if (p == lim)
			AT_LIMIT();
		r->end = p;
		r->next = p;
		if (p < lim) {
			r->next = p + 1;
			nl++;
		}
		if (r->end > fp && r->end[-1] == '\r')
			r->end--;
		put_field(c, &nf, fp, (size_t)(r->end - fp));
		break;
	}
#undef AT_LIMIT
	c->nf = nf < SB_CSV_MAX_FIELDS ? nf : SB_CSV_MAX_FIELDS;
	r->nl = nl;
	return P_OK;
}

/* ---- resynchronisation after a malformed record ----------------------- */

/* Past the next line feed. Used after a stray quote or text after a closing
 * quote: quotes on such a line have no reliable meaning, and trusting them
 * could swallow many good records after one stray '"'. */
static int skip_line(sb_csv *c, sb_diag *d)
{
	for (;;) {
		const char *p = c->data + c->pos;
		const char *lf = memchr(p, '\n', c->len - c->pos);

		if (lf) {
			c->pos = (size_t)(lf + 1 - c->data);
			c->line++;
			return 0;
		}
		c->pos = c->len;
		if (c->eof)
			return 0;
		if (refill(c, d) < 0)
			return -1;
	}
}

/* Past the next line feed outside quotes, counting every line feed: an
 * over-long record is otherwise well-formed as far as we know, so its quoted
 * line feeds are still inside it (and make it a multi-line record). */
static int skip_record(sb_csv *c, sb_diag *d)
{
	int in_quotes = 0;

	for (;;) {
		const char *p = c->data + c->pos;
		const char *e = c->data + c->len;

		for (; p < e; p++) {
			if (*p == '"') {
				in_quotes = !in_quotes;
			} else if (*p == '\n') {
				c->line++;
				c->multi |= in_quotes;
				if (!in_quotes) {
					c->pos = (size_t)(p + 1 - c->data);
					return 0;
				}
			}
		}
		c->pos = c->len;
		if (c->eof)
			return 0;
		if (refill(c, d) < 0)
			return -1;
	}
}

/* 1-based line and column (in UTF-8 characters, as an editor counts them)
 * of at, in a record that starts at s on line c->rec_line. */
static void place_of(const sb_csv *c, const char *s, const char *at,
		     long *line, int *column)
{
	const char *ls = s;
	long n = c->rec_line;
	int col = 1;

	for (const char *p = s; p < at; p++) {
		if (*p == '\n') {
			n++;
			ls = p + 1;
		}
	}
	for (const char *p = ls; p < at; p++)
		if (((unsigned char)*p & 0xC0) != 0x80 && col < INT_MAX)
			col++;
	*line = n;
	*column = col;
}

static void describe(const sb_csv *c, sb_diag *d, const char *s,
		     const struct parse *r)
{
	long line = c->rec_line;
	int col = 0;

	if (r->at)
		place_of(c, s, r->at, &line, &col);
	switch (r->bad) {
	case BAD_NUL:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "record contains a NUL byte; the file is not text");
		break;
	case BAD_FIELDS:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "record has more than %d fields", SB_CSV_MAX_FIELDS);
		break;
	case BAD_LONG:
		csv_diag(c, d, SB_ESYNTAX, line, 0,
			 "record is longer than %u bytes", SB_CSV_MAX_RECORD);
		break;
	case BAD_STRAY_QUOTE:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "quote inside an unquoted field; quote the whole "
			 "field and double the quotes inside it");
		break;
	case BAD_AFTER_QUOTE:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "text after the closing quote of a field; a quoted "
			 "field must be followed by a comma or the line end");
		break;
	case BAD_UNTERMINATED:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "unterminated quoted field: the file ends before "
			 "its closing quote");
		break;
	case BAD_UTF8: {
		const char *at = r->at ? r->at : s;
		size_t left = (size_t)(r->end - at);

		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "record is not UTF-8 text (byte 0x%02X)%s",
			 (unsigned char)*at,
			 sb_looks_gbk(at, left)
				 ? "; the file looks like GBK: convert it with "
				   "iconv -f GBK -t UTF-8"
				 : "; save the file as UTF-8");
		break;
	}
	case BAD_LINE_QUOTE:
		csv_diag(c, d, SB_ESYNTAX, line, col,
			 "unterminated quoted field: the line ends before "
			 "its closing quote (a field may not hold a line "
			 "break; every record is one line)");
		break;
	case BAD_NONE:
		break;
	}
}

/* Reports a record the parser stopped in and moves past it. */
static int reject_stopped(sb_csv *c, sb_diag *d, const char *s,
			  const struct parse *r)
{
	long line;
	int col;

	c->rec_line = c->line;
	c->nf = 0;
	c->raw.p = "";
	c->raw.n = 0;
	c->multi = r->inner > 0;
	describe(c, d, s, r);
	switch (r->stop) {
	case BAD_UNTERMINATED:
		/* Everything to the end is inside the quotes. */
		c->pos = c->len;
		return -1;
	case BAD_LONG:
		c->pos = (size_t)(s - c->data);
		if ((c->multiline_ok ? skip_record(c, d) : skip_line(c, d)) <
		    0)
			return -2;
		return -1;
	default:
		/* The whole fields before the problem stay as the raw text, so
		 * that a reject report can still name the record's id. */
		for (const char *e = r->stop_at; e > s; e--)
			if (e[-1] == ',') {
				c->raw.p = s;
				c->raw.n = (size_t)(e - 1 - s);
				break;
			}
		place_of(c, s, r->stop_at, &line, &col);
		c->line = line;
		c->pos = (size_t)(r->stop_at - c->data);
		if (skip_line(c, d) < 0)
			return -2;
		return -1;
	}
}

/* One record, header or data: 1, 0 at the end, -1 malformed, -2 I/O. */
static int read_record(sb_csv *c, sb_diag *d)
{
	if (c->io_errno) {
		csv_diag(c, d, SB_EIO, 0, 0, "cannot read: %s",
			 strerror(c->io_errno));
		return -2;
	}
	for (;;) {
		const char *s = c->data + c->pos;
		size_t avail = c->len - c->pos;
		struct parse r = { 0 };

		if (c->limit >= 0 && c->base + (int64_t)c->pos >= c->limit)
			return 0;
		if (avail == 0) {
			if (c->eof)
				return 0;
			if (refill(c, d) < 0)
				return -2;
			continue;
		}
		/* Blank lines are not records (a lone CR at the end of input
		 * is a blank line too). */
		if (*s == '\n') {
			c->pos++;
			c->line++;
			continue;
		}
		if (*s == '\r') {
			if (avail == 1 && !c->eof) {
				if (refill(c, d) < 0)
					return -2;
				continue;
			}
			if (avail == 1) {
				c->pos++;
				continue;
			}
			if (s[1] == '\n') {
				c->pos += 2;
				c->line++;
				continue;
			}
		}

		const char *lf = memchr(s, '\n', avail < CSV_LOOK ? avail
								 : CSV_LOOK);

		if (!lf || !parse_fast(c, s, lf, &r)) {
			int rc = parse_full(c, s, c->data + c->len, &r);

			if (rc == P_MORE) {
				if (refill(c, d) < 0)
					return -2;
				continue;
			}
			if (rc == P_BAD)
				return reject_stopped(c, d, s, &r);
		}

		c->rec_line = c->line;
		c->line += r.nl;
		c->multi = r.inner > 0;
		c->pos = (size_t)(r.next - c->data);
		c->raw.p = s;
		c->raw.n = (size_t)(r.end - s);
		if (c->raw.n > SB_CSV_MAX_RECORD)
			note_bad(&r, BAD_LONG, NULL);
		if (r.bad == BAD_NONE && has_high(s, c->raw.n)) {
			size_t ok = sb_utf8_valid(s, c->raw.n);

			if (ok < c->raw.n)
				note_bad(&r, BAD_UTF8, s + ok);
		}
		if (r.bad != BAD_NONE) {
			describe(c, d, s, &r);
			c->nf = 0;
			return -1;
		}
		/* The fields stay readable: a caller rejecting the record
		 * may still want its id for the report. */
		if (c->ncols && c->nf != c->ncols) {
			csv_diag(c, d, SB_ESYNTAX, c->rec_line, 0,
				 "record has %zu field%s, the header has %zu",
				 c->nf, c->nf == 1 ? "" : "s", c->ncols);
			return -1;
		}
		return 1;
	}
}

/* ---- opening ---------------------------------------------------------- */

static sb_status csv_new(const char *name, sb_csv **out, sb_diag *d)
{
	sb_csv *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c) {
		c->fd = -1;
		c->limit = -1;
		c->raw.p = "";
		c->line = 1;
		c->name = strdup(name ? name : "");
		c->scratch = malloc(CSV_LOOK);
	}
	if (!c || !c->name || !c->scratch) {
		sb_csv_free(c);
		(void)sb_diag_set(d, SB_ENOMEM, name, 0, 0,
				  "out of memory opening a CSV reader");
		return SB_ENOMEM;
	}
	*out = c;
	return SB_OK;
}

/* Skips the BOM and reads the header into owned memory, because the block
 * it was read into is reused. */
static sb_status read_header(sb_csv *c, sb_diag *d)
{
	while (!c->eof && c->len < 3)
		if (refill(c, d) < 0)
			return SB_EIO;
	if (c->len >= 3 && memcmp(c->data, "\xEF\xBB\xBF", 3) == 0)
		c->pos = 3;

	int rc = read_record(c, d);

	if (rc == 0)
		return sb_diag_set(d, SB_ESYNTAX, c->name, 1, 0,
				   "file is empty; a header row is expected");
	if (rc == -2)
		return SB_EIO;
	if (rc < 0) {
		return SB_ESYNTAX;
	}

	size_t total = 0;

	for (size_t i = 0; i < c->nf; i++)
		total += c->f[i].n + 1;
	/* A record always has a field, so neither size is 0. */
	c->hdr = malloc(c->nf * sizeof(*c->hdr));
	c->hdr_text = malloc(total);
	if (!c->hdr || !c->hdr_text) {
		(void)sb_diag_set(d, SB_ENOMEM, c->name, 1, 0,
				  "out of memory reading the header");
		return SB_ENOMEM;
	}

	char *t = c->hdr_text;

	for (size_t i = 0; i < c->nf; i++) {
		memcpy(t, c->f[i].p, c->f[i].n);
		t[c->f[i].n] = '\0';
		c->hdr[i].p = t;
		c->hdr[i].n = c->f[i].n;
		t += c->f[i].n + 1;
	}
	c->ncols = c->nf;
	c->nf = 0;
	c->raw.p = "";
	c->raw.n = 0;
	return SB_OK;
}

static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m) ? "a pipe or FIFO" : S_ISDIR(m) ? "a folder" :
	       S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" :
	       S_ISSOCK(m) ? "a socket" : "not a plain file";
}

static sb_status not_regular(const char *path, mode_t m, sb_diag *d)
{
	return sb_diag_set(d, SB_EIO, path, 0, 0,
			   "not a regular file (%s): sanbao reads its inputs "
			   "more than once, so a stream would lose rows; "
			   "save it to a file first",
			   file_kind(m));
}

sb_status sb_input_open(const char *path, int *fd, sb_diag *d)
{
	struct stat st;

	*fd = -1;
	if (stat(path, &st) != 0)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s",
				   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return not_regular(path, st.st_mode, d);
	int k = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (k < 0)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s",
				   strerror(errno));
	/* Replaced between the two looks: check what was opened. */
	if (fstat(k, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(k);
		return not_regular(path, st.st_mode, d);
	}
	/* O_NONBLOCK only kept open(2) from waiting; reads of a regular
	 * file never block, but clear it all the same. */
	int fl = fcntl(k, F_GETFL);

	if (fl >= 0)
		(void)fcntl(k, F_SETFL, fl & ~O_NONBLOCK);
	*fd = k;
	return SB_OK;
}

static sb_status open_on_fd(const char *path, int fd, sb_csv **out,
			    sb_diag *d);

sb_status sb_csv_open(const char *path, sb_csv **out, sb_diag *d)
{
	int fd;
	sb_status st = sb_input_open(path, &fd, d);

	*out = NULL;
	if (st != SB_OK)
		return st;
	return open_on_fd(path, fd, out, d);
}

sb_status sb_csv_open_fd(const char *name, int fd, sb_csv **out, sb_diag *d)
{
	*out = NULL;
	return open_on_fd(name, fd, out, d);
}

static sb_status open_on_fd(const char *path, int fd, sb_csv **out,
			    sb_diag *d)
{
	sb_csv *c;
	sb_status st;

	st = csv_new(path, &c, d);
	if (st != SB_OK) {
		close(fd);
		return st;
	}
	c->fd = fd;
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(c->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	c->buf = malloc(CSV_BUFSZ);
	if (!c->buf) {
		sb_csv_free(c);
		(void)sb_diag_set(d, SB_ENOMEM, path, 0, 0,
				  "out of memory opening a CSV reader");
		return SB_ENOMEM;
	}
	c->data = c->buf;
	st = read_header(c, d);
	if (st != SB_OK) {
		sb_csv_free(c);
		return st;
	}
	*out = c;
	return SB_OK;
}

sb_status sb_csv_open_range(const char *path, size_t ncols, int64_t start,
			   int64_t end, sb_csv **out, sb_diag *d)
{
	sb_csv *c;
	sb_status st;

	*out = NULL;
	if (start < 0 || end < start)
		return sb_diag_set(d, SB_EIO, path, 0, 0,
				   "cannot read bytes %lld to %lld: not a range",
				   (long long)start, (long long)end);
	st = sb_csv_open(path, &c, d);
	if (st != SB_OK)
		return st;
	if (c->ncols != ncols) {
		(void)sb_diag_set(d, SB_ESYNTAX, path, 1, 0,
				  "header row has %zu fields, expected %zu "
				  "(did the file change?)",
				  c->ncols, ncols);
		sb_csv_free(c);
		return SB_ESYNTAX;
	}
	/* Forget what was read after the header and start over at start,
	 * with lines counted from there. */
	if (lseek(c->fd, (off_t)start, SEEK_SET) < 0) {
		(void)sb_diag_set(d, SB_EIO, path, 0, 0, "cannot seek: %s",
				  strerror(errno));
		sb_csv_free(c);
		return SB_EIO;
	}
	c->len = c->pos = 0;
	c->base = start;
	c->limit = end;
	c->eof = 0;
	c->line = 1;
	*out = c;
	return SB_OK;
}

sb_status sb_csv_open_mem(const char *name, const char *buf, size_t n,
			  sb_csv **out, sb_diag *d)
{
	sb_csv *c;
	sb_status st;

	*out = NULL;
	st = csv_new(name, &c, d);
	if (st != SB_OK)
		return st;
	c->data = n ? buf : "";
	c->len = n;
	c->eof = 1;
	st = read_header(c, d);
	if (st != SB_OK) {
		sb_csv_free(c);
		return st;
	}
	*out = c;
	return SB_OK;
}

void sb_csv_free(sb_csv *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->scratch);
	free(c->name);
	free(c->hdr);
	free(c->hdr_text);
	free(c);
}

/* ---- access ----------------------------------------------------------- */

const char *sb_csv_name(const sb_csv *c)
{
	return c->name;
}

size_t sb_csv_ncols(const sb_csv *c)
{
	return c->ncols;
}

sb_csv_field sb_csv_header(const sb_csv *c, size_t i)
{
	if (i < c->ncols)
		return c->hdr[i];
	return (sb_csv_field){ "", 0 };
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_blank(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_blank((*p)[*n - 1]))
		(*n)--;
}

/* ASCII only: a locale's tolower could fold bytes of UTF-8 names. */
static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int same_name(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int sb_csv_find(const sb_csv *c, const char *const *names)
{
	if (!names)
		return -1;
	for (size_t i = 0; i < c->ncols && i <= INT_MAX; i++) {
		const char *h = c->hdr[i].p;
		size_t hn = c->hdr[i].n;

		trim(&h, &hn);
		for (const char *const *k = names; *k; k++) {
			const char *q = *k;
			size_t qn = strlen(q);

			trim(&q, &qn);
			if (same_name(h, hn, q, qn))
				return (int)i;
		}
	}
	return -1;
}

int sb_csv_next(sb_csv *c, sb_diag *d)
{
	return read_record(c, d);
}

long sb_csv_line(const sb_csv *c)
{
	return c->rec_line;
}

size_t sb_csv_nfields(const sb_csv *c)
{
	return c->nf;
}

sb_csv_field sb_csv_get(const sb_csv *c, size_t i)
{
	if (i < c->nf)
		return c->f[i];
	return (sb_csv_field){ "", 0 };
}

sb_csv_field sb_csv_raw(const sb_csv *c)
{
	return c->raw;
}

void sb_csv_set_multiline(sb_csv *c, int on)
{
	c->multiline_ok = on != 0;
}

int sb_csv_multiline(const sb_csv *c)
{
	return c->multi;
}

int64_t sb_csv_offset(const sb_csv *c)
{
	return c->base + (int64_t)c->pos;
}

long sb_csv_lines(const sb_csv *c)
{
	return c->line - 1;
}

/* ---- buffered output -------------------------------------------------- */

/* Needs quotes: a separator, a quote or a line break inside. */
static const unsigned char needs_quote[256] = {
	[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1,
};

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324"
	"25262728293031323334353637383940414243444546474849"
	"50515253545556575859606162636465666768697071727374"
	"75767778798081828384858687888990919293949596979899";

static void out_flush(sb_out *o)
{
	if (o->n && !o->err && fwrite(o->buf, 1, o->n, o->f) != o->n)
		o->err = errno ? errno : EIO;
	/* After an error the bytes are dropped: the file is already wrong
	 * and sb_out_close will say so. */
	o->n = 0;
}

sb_status sb_out_open(sb_out *o, const char *path, sb_diag *d)
{
	o->n = 0;
	o->err = 0;
	o->own = 1;
	o->f = fopen(path, "wb");
	if (!o->f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot create: %s",
				   strerror(errno));
	return SB_OK;
}

void sb_out_init_file(sb_out *o, FILE *f)
{
	o->f = f;
	o->own = 0;
	o->err = 0;
	o->n = 0;
}

void sb_out_bytes(sb_out *o, const char *p, size_t n)
{
	if (n <= sizeof(o->buf) - o->n) {
		memcpy(o->buf + o->n, p, n);
		o->n += n;
		return;
	}
	out_flush(o);
	if (n < sizeof(o->buf)) {
		memcpy(o->buf, p, n);
		o->n = n;
	} else if (!o->err && fwrite(p, 1, n, o->f) != n) {
		o->err = errno ? errno : EIO;
	}
}

void sb_out_str(sb_out *o, const char *s)
{
	sb_out_bytes(o, s, strlen(s));
}

void sb_out_char(sb_out *o, char ch)
{
	if (o->n == sizeof(o->buf))
		out_flush(o);
	o->buf[o->n++] = ch;
}

/* The escape of one byte of a JSON string into e (at most 7 bytes and a
 * NUL); returns its length, 0 when the byte stands for itself. */
static size_t json_escape(unsigned char c, char e[8])
{
	if (c == '"' || c == '\\') {
		e[0] = '\\';
		e[1] = (char)c;
		e[2] = '\0';
		return 2;
	}
	if (c == '\n') {
		memcpy(e, "\\n", 3);
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(e, 8, "\\u%04x", c);
		return 6;
	}
	return 0;
}

void sb_out_json_str(sb_out *o, const char *s)
{
	char e[8];
	sb_out_char(o, '"');
	for (; *s; s++) {
		size_t n = json_escape((unsigned char)*s, e);
		if (n)
			sb_out_bytes(o, e, n);
		else
			sb_out_char(o, *s);
	}
	sb_out_char(o, '"');
}

void sb_json_str(FILE *f, const char *s)
{
	char e[8];
	fputc('"', f);
	for (; *s; s++) {
		size_t n = json_escape((unsigned char)*s, e);
		if (n)
			fwrite(e, 1, n, f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Decimal digits of v, written backwards ending at end; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
	while (v >= 100) {
		unsigned k = (unsigned)(v % 100) * 2;

		v /= 100;
		*--end = digit_pairs[k + 1];
		*--end = digit_pairs[k];
	}
	if (v >= 10) {
		unsigned k = (unsigned)v * 2;

		*--end = digit_pairs[k + 1];
		*--end = digit_pairs[k];
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

void sb_out_i64(sb_out *o, int64_t v)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp);
	/* Through uint64 so INT64_MIN negates without overflow. */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char *p = u64_digits(mag, end);

	if (v < 0)
		*--p = '-';
	sb_out_bytes(o, p, (size_t)(end - p));
}

/* The sb_money_format text ("-0.05", "17126.42"), by the one formatter. */
void sb_out_fen(sb_out *o, sb_fen v)
{
	char tmp[32];

	sb_out_bytes(o, tmp, (size_t)(sb_fen_put(tmp, v) - tmp));
}

void sb_out_field(sb_out *o, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !needs_quote[(unsigned char)p[i]])
		i++;
	if (i == n) {
		sb_out_bytes(o, p, n);
		return;
	}
	sb_out_char(o, '"');
	for (;;) {
		const char *q = memchr(p, '"', n);

		if (!q) {
			sb_out_bytes(o, p, n);
			break;
		}
		/* The quote itself, then once more to double it. */
		sb_out_bytes(o, p, (size_t)(q - p) + 1);
		sb_out_char(o, '"');
		n -= (size_t)(q - p) + 1;
		p = q + 1;
	}
	sb_out_char(o, '"');
}

sb_status sb_out_close(sb_out *o, const char *path, sb_diag *d)
{
	if (!o->f)
		return sb_diag_set(d, SB_EIO, path, 0, 0,
				   "cannot write: the file is not open");
	out_flush(o);
	if (o->own) {
		if (fclose(o->f) != 0 && !o->err)
			o->err = errno ? errno : EIO;
	} else if (fflush(o->f) != 0 && !o->err) {
		o->err = errno ? errno : EIO;
	}
	o->f = NULL;
	if (o->err)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s",
				   strerror(o->err));
	return SB_OK;
}
