/* split.c: a policy document from bytes to clauses. The encoding is made
 * UTF-8 first (GBK converted through iconv); the header above `----` gives
 * title, issuers, number and date; the body is cut at the numbering of
 * Chinese official documents, each numbered line opening a clause that
 * keeps the unnumbered lines after it.
 *
 * The hierarchy is not fixed by style: the styles are pushed in the order a
 * document nests them, and a style already open closes everything inside it
 * (a new 第X条 ends the previous article and its （一） items). That reads
 * 一、（一）1.（1） as well as 第X章 第X节 第X条 （一） and their mixtures. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "texts/texts_int.h"

/* ---- encoding --------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	unsigned v = c & (0x3fu >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return len;
}

/* Offset of the first invalid byte, or n when all is valid UTF-8. */
static size_t utf8_invalid(const char *buf, size_t n)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_len(p + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

/* 1-based line and column (in characters, invalid bytes counting one each)
 * of byte offset off. */
static void place_of(const char *buf, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off;) {
		if (buf[i] == '\n') {
			l++, c = 1, i++;
			continue;
		}
		size_t k = utf8_len((const unsigned char *)buf + i, off - i);
		i += k ? k : 1;
		c++;
	}
	*line = l;
	*col = c;
}

sb_status sb_texts_to_utf8(sb_arena *a, const char *name, const char *buf, size_t n,
			   const char **out, size_t *outn, bool *converted, sb_diag *d)
{
	*converted = false;
	if (n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		buf += 3, n -= 3;
	size_t bad = utf8_invalid(buf, n);
	if (bad == n) {
		*out = buf;
		*outn = n;
		return SB_OK;
	}
	/* GB18030 is GBK's superset and glibc's name for both. */
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	int line, col;
	place_of(buf, bad, &line, &col);
	if (cd == (iconv_t)-1)
		return sb_diag_set(d, SB_EINPUT, name, line, col,
				   "not UTF-8 (byte 0x%02x), and iconv cannot convert from GBK "
				   "here: convert the file to UTF-8 first",
				   (unsigned char)buf[bad]);
	size_t cap = n * 2 + 16;
	char *dst = sb_arena_alloc(a, cap);
	if (!dst) {
		iconv_close(cd);
		return sb_diag_set(d, SB_ENOMEM, name, 0, 0, "out of memory");
	}
	char *in = (char *)buf, *o = dst;
	size_t inleft = n, oleft = cap - 1;
	size_t r = iconv(cd, &in, &inleft, &o, &oleft);
	int err = errno;
	iconv_close(cd);
	if (r == (size_t)-1 || inleft) {
		(void)err;
		return sb_diag_set(d, SB_EINPUT, name, line, col,
				   "not UTF-8 (byte 0x%02x is invalid here) and not GBK either "
				   "(the bytes at offset %zu do not decode): save the document as "
				   "UTF-8, or as GBK/GB18030 to have it converted",
				   (unsigned char)buf[bad], (size_t)(in - buf));
	}
	*o = '\0';
	*out = dst;
	*outn = (size_t)(o - dst);
	*converted = true;
	return SB_OK;
}

/* ---- numerals --------------------------------------------------------- */

/* The value of one Chinese digit character at p (3 UTF-8 bytes), -1 if none;
 * units (十 百 千) come back as 10, 100, 1000. */
static int cn_digit(const char *p, size_t n)
{
	static const char *const digits[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
	if (n < 3)
		return -1;
	for (int i = 0; i < 10; i++)
		if (!memcmp(p, digits[i], 3))
			return i;
	if (!memcmp(p, "〇", 3))
		return 0;
	if (!memcmp(p, "两", 3))
		return 2;
	if (!memcmp(p, "十", 3))
		return 10;
	if (!memcmp(p, "百", 3))
		return 100;
	if (!memcmp(p, "千", 3))
		return 1000;
	return -1;
}

/* Bytes of the Chinese numeral at the start of p[0..n), 0 when none. */
static size_t cn_span(const char *p, size_t n)
{
	size_t i = 0;
	while (i + 3 <= n && cn_digit(p + i, n - i) >= 0)
		i += 3;
	return i;
}

/* Bytes of the Arabic digits (ASCII or full-width ０-９) at p, and their
 * value in *v. */
static size_t ar_span(const char *p, size_t n, long *v)
{
	size_t i = 0;
	long x = 0;
	while (i < n) {
		if (p[i] >= '0' && p[i] <= '9') {
			x = x * 10 + (p[i] - '0');
			i++;
		} else if (i + 3 <= n && (unsigned char)p[i] == 0xef && (unsigned char)p[i + 1] == 0xbc &&
			   (unsigned char)p[i + 2] >= 0x90 && (unsigned char)p[i + 2] <= 0x99) {
			x = x * 10 + ((unsigned char)p[i + 2] - 0x90);
			i += 3;
		} else {
			break;
		}
		if (x > 1000000)
			return 0;
	}
	*v = x;
	return i;
}

long sb_texts_numeral(const char *p, size_t n)
{
	long v;
	if (n && ar_span(p, n, &v) == n)
		return v;
	if (!n || cn_span(p, n) != n)
		return 0;
	/* 二十八 = 2*10 + 8; 十一 = 10 + 1; 一百零一 = 100 + 1; 三千二百 */
	long total = 0, digit = -1;
	for (size_t i = 0; i < n; i += 3) {
		int x = cn_digit(p + i, n - i);
		if (x >= 10) {
			total += (digit < 0 ? 1 : digit) * x;
			digit = -1;
		} else if (x == 0) {
			digit = -1;
		} else {
			if (digit >= 0) /* "一九" is no numeral of ours */
				return 0;
			digit = x;
		}
	}
	if (digit > 0)
		total += digit;
	return total;
}

/* ---- numbering -------------------------------------------------------- */

typedef enum style {
	ST_NONE,
	ST_CHAPTER,   /* 第X章 */
	ST_SECTION,   /* 第X节 */
	ST_ARTICLE,   /* 第X条 */
	ST_CN_DUN,    /* 一、 */
	ST_PAREN_CN,  /* （一） (一) */
	ST_ARABIC,    /* 1. 1、 1． */
	ST_PAREN_AR,  /* （1） (1) */
	ST_CIRCLED    /* ① … ⑳ */
} style;

typedef struct marker {
	style st;
	char label[40];
	size_t len; /* bytes of the marker, blanks after it included */
} marker;

static int starts(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	return n >= k && !memcmp(p, s, k);
}

/* Bytes of blanks (space, tab, U+3000) at p. */
static size_t blanks(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		else if (starts(p + i, n - i, "\u3000"))
			i += 3;
		else
			return i;
	}
}

/* Recognises the numbering at the start of a line. */
static marker find_marker(const char *p, size_t n)
{
	marker m = {ST_NONE, "", 0};
	size_t k;
	long v;
	if (starts(p, n, "第")) {
		size_t num = cn_span(p + 3, n - 3);
		if (!num)
			num = ar_span(p + 3, n - 3, &v);
		const char *q = p + 3 + num;
		size_t rest = n - 3 - num;
		if (num && num <= 24) {
			style st = starts(q, rest, "章") ? ST_CHAPTER : starts(q, rest, "节") ? ST_SECTION :
				   starts(q, rest, "条") ? ST_ARTICLE : ST_NONE;
			if (st != ST_NONE) {
				m.st = st;
				snprintf(m.label, sizeof m.label, "%.*s", (int)(num + 6), p);
				m.len = num + 6;
				m.len += blanks(p + m.len, n - m.len);
				return m;
			}
		}
		return m;
	}
	size_t open = starts(p, n, "（") ? 3 : starts(p, n, "(") ? 1 : 0;
	if (open) {
		size_t num = cn_span(p + open, n - open);
		style st = ST_PAREN_CN;
		if (!num) {
			num = ar_span(p + open, n - open, &v);
			st = ST_PAREN_AR;
		}
		if (!num || num > 24)
			return m;
		const char *q = p + open + num;
		size_t close = starts(q, n - open - num, "）") ? 3 : starts(q, n - open - num, ")") ? 1 : 0;
		if (!close)
			return m;
		m.st = st;
		if (st == ST_PAREN_CN)
			snprintf(m.label, sizeof m.label, "(%.*s)", (int)num, p + open);
		else
			snprintf(m.label, sizeof m.label, "(%ld)", v);
		m.len = open + num + close;
		m.len += blanks(p + m.len, n - m.len);
		return m;
	}
	if ((k = cn_span(p, n)) && k <= 24 && starts(p + k, n - k, "、")) {
		m.st = ST_CN_DUN;
		snprintf(m.label, sizeof m.label, "%.*s", (int)k, p);
		m.len = k + 3;
		m.len += blanks(p + m.len, n - m.len);
		return m;
	}
	if ((k = ar_span(p, n, &v)) && v < 1000) {
		const char *q = p + k;
		size_t rest = n - k;
		size_t sep = starts(q, rest, "、") || starts(q, rest, "．") ? 3 :
			     starts(q, rest, ".") ? 1 : 0;
		long dummy;
		/* "1.5倍" and "2.3万元" are amounts, not items. */
		if (sep && !ar_span(q + sep, rest - sep, &dummy)) {
			m.st = ST_ARABIC;
			snprintf(m.label, sizeof m.label, "%ld", v);
			m.len = k + sep;
			m.len += blanks(p + m.len, n - m.len);
		}
		return m;
	}
	/* ① U+2460 … ⑳ U+2473: e2 91 a0 … e2 91 b3 */
	if (n >= 3 && (unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x91 &&
	    (unsigned char)p[2] >= 0xa0 && (unsigned char)p[2] <= 0xb3) {
		m.st = ST_CIRCLED;
		snprintf(m.label, sizeof m.label, "%.3s", p);
		m.len = 3 + blanks(p + 3, n - 3);
	}
	return m;
}

/* ---- the header ------------------------------------------------------- */

static const char *dupv(sb_arena *a, const char *p, size_t n)
{
	return sb_arena_strndup(a, p, n);
}

/* Value of "key：value" or "key: value" when the line starts with key. */
static int header_value(const char *p, size_t n, const char *key, const char **v, size_t *vn)
{
	size_t k = strlen(key);
	if (n < k || memcmp(p, key, k))
		return 0;
	size_t i = k;
	if (starts(p + i, n - i, "："))
		i += 3;
	else if (i < n && p[i] == ':')
		i++;
	else
		return 0;
	i += blanks(p + i, n - i);
	*v = p + i;
	*vn = n - i;
	return 1;
}

/* Splits 发文机关 into organs: parenthesised remarks dropped, then cut at
 * blanks, 、 ， , and ；. */
sb_status sb_texts_split_issuers(sb_arena *a, sb_texts_doc *doc, const char *p, size_t n)
{
	size_t i = 0, start = 0;
	int depth = 0;
	char *clean = sb_arena_alloc(a, n + 1);
	if (!clean)
		return SB_ENOMEM;
	size_t cn = 0;
	while (i < n) {
		if (starts(p + i, n - i, "（") || p[i] == '(') {
			depth++;
			i += p[i] == '(' ? 1 : 3;
		} else if (starts(p + i, n - i, "）") || p[i] == ')') {
			if (depth)
				depth--;
			i += p[i] == ')' ? 1 : 3;
		} else {
			if (!depth)
				clean[cn++] = p[i];
			i++;
		}
	}
	clean[cn] = '\0';
	i = 0;
	while (i <= cn) {
		size_t sep = i == cn ? 1 : blanks(clean + i, cn - i);
		if (!sep && i < cn)
			sep = starts(clean + i, cn - i, "、") || starts(clean + i, cn - i, "，") ||
				      starts(clean + i, cn - i, "；") ? 3 :
			      clean[i] == ',' || clean[i] == ';' ? 1 : 0;
		if (sep) {
			if (i > start) {
				if (doc->nissuers == SB_TEXTS_MAX_ISSUERS)
					return SB_ELIMIT;
				const char *s = dupv(a, clean + start, i - start);
				if (!s)
					return SB_ENOMEM;
				doc->issuers[doc->nissuers++] = s;
			}
			i += sep;
			start = i;
		} else {
			i++;
		}
	}
	return SB_OK;
}

/* The first plausible year (19xx or 20xx followed by 年, - or /). */
static int first_year(const char *p, size_t n)
{
	for (size_t i = 0; i + 4 < n; i++) {
		if ((p[i] == '1' && p[i + 1] == '9') || (p[i] == '2' && p[i + 1] == '0')) {
			if (p[i + 2] < '0' || p[i + 2] > '9' || p[i + 3] < '0' || p[i + 3] > '9')
				continue;
			if (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
				continue;
			const char *q = p + i + 4;
			size_t rest = n - i - 4;
			if (starts(q, rest, "年") || *q == '-' || *q == '/')
				return (p[i] - '0') * 1000 + (p[i + 1] - '0') * 100 +
				       (p[i + 2] - '0') * 10 + (p[i + 3] - '0');
		}
	}
	return 0;
}

/* ---- the splitter ------------------------------------------------------ */

typedef struct line_view {
	const char *p;
	size_t n;
	int no;
} line_view;

typedef struct builder {
	sb_arena *a;
	sb_texts_doc *doc;
	const char *name;
	sb_diag *d;
	size_t cap, capu;
	/* open items: style and clause index, outermost first */
	style st[SB_TEXTS_MAX_DEPTH];
	size_t idx[SB_TEXTS_MAX_DEPTH];
	size_t depth;
	/* the current clause's text grows here before it is copied out */
	char *buf;
	size_t bn, bcap;
} builder;

static sb_status grow(sb_arena *a, void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return SB_OK;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *p = sb_arena_alloc(a, nc * size);
	if (!p)
		return SB_ENOMEM;
	if (*arr)
		memcpy(p, *arr, *cap * size);
	*arr = p;
	*cap = nc;
	return SB_OK;
}

static sb_status add_unplaced(builder *b, const line_view *l)
{
	sb_texts_doc *doc = b->doc;
	if (grow(b->a, (void **)&doc->unplaced, &b->capu, doc->nunplaced + 1, sizeof *doc->unplaced))
		return SB_ENOMEM;
	sb_texts_unplaced *u = &doc->unplaced[doc->nunplaced++];
	u->line = l->no;
	u->len = l->n;
	u->text = dupv(b->a, l->p, l->n);
	return u->text ? SB_OK : SB_ENOMEM;
}

/* 1 when the line holds sentence punctuation (。，；：), which organ names
 * and dates in a signature never do. */
static int has_punct(const char *p, size_t n)
{
	static const char *const marks[] = {"。", "，", "；", "：", "？", "！"};
	for (size_t i = 0; i + 3 <= n; i++)
		for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
			if (!memcmp(p + i, marks[k], 3))
				return 1;
	return 0;
}

/* Where a closing signature block starts: the date line that ends many
 * notices ("2021年7月28日") and the organ names above it. They name
 * departments but are no clause, so they are reported as unplaced rather
 * than attached to the last item. Returns n when there is none. */
static size_t trailer_start(const line_view *lines, size_t n)
{
	if (!n)
		return n;
	const line_view *last = &lines[n - 1];
	if (!first_year(last->p, last->n) || last->n > 40 || has_punct(last->p, last->n) ||
	    last->n < 3 || memcmp(last->p + last->n - 3, "日", 3))
		return n;
	size_t i = n - 1;
	while (i > 0 && lines[i - 1].n < 90 && !has_punct(lines[i - 1].p, lines[i - 1].n) &&
	       find_marker(lines[i - 1].p, lines[i - 1].n).st == ST_NONE)
		i--;
	return i;
}

/* Copies the text gathered for the open clause into the arena. */
static sb_status flush(builder *b)
{
	if (!b->doc->nclauses)
		return SB_OK;
	sb_texts_clause *c = &b->doc->clauses[b->doc->nclauses - 1];
	if (c->text)
		return SB_OK;
	c->text = dupv(b->a, b->buf ? b->buf : "", b->bn);
	c->len = b->bn;
	b->bn = 0;
	return c->text ? SB_OK : SB_ENOMEM;
}

static sb_status append(builder *b, const char *p, size_t n, int newline)
{
	size_t need = b->bn + n + 2;
	if (need > b->bcap) {
		size_t cap = b->bcap ? b->bcap * 2 : 1024;
		while (cap < need)
			cap *= 2;
		char *q = sb_arena_alloc(b->a, cap);
		if (!q)
			return SB_ENOMEM;
		if (b->bn)
			memcpy(q, b->buf, b->bn);
		b->buf = q;
		b->bcap = cap;
	}
	if (newline)
		b->buf[b->bn++] = '\n';
	memcpy(b->buf + b->bn, p, n);
	b->bn += n;
	return SB_OK;
}

static sb_status open_clause(builder *b, const line_view *l, const marker *m)
{
	sb_texts_doc *doc = b->doc;
	sb_status st = flush(b);
	if (st)
		return st;
	size_t k = b->depth;
	for (size_t i = b->depth; i-- > 0;)
		if (b->st[i] == m->st) {
			k = i;
			break;
		}
	if (k == SB_TEXTS_MAX_DEPTH)
		return sb_diag_set(b->d, SB_ELIMIT, b->name, l->no, 1,
				   "items nest more than %d deep (%s inside %s): the splitter allows "
				   "at most %d levels",
				   SB_TEXTS_MAX_DEPTH, m->label,
				   doc->clauses[b->idx[b->depth - 1]].path, SB_TEXTS_MAX_DEPTH);
	if (grow(b->a, (void **)&doc->clauses, &b->cap, doc->nclauses + 1, sizeof *doc->clauses))
		return SB_ENOMEM;
	size_t ci = doc->nclauses++;
	sb_texts_clause *c = &doc->clauses[ci];
	memset(c, 0, sizeof *c);
	int w;
	if (k)
		w = snprintf(c->path, sizeof c->path, "%s.%s", doc->clauses[b->idx[k - 1]].path,
			     m->label);
	else
		w = snprintf(c->path, sizeof c->path, "%s", m->label);
	if (w < 0 || (size_t)w >= sizeof c->path)
		return sb_diag_set(b->d, SB_ELIMIT, b->name, l->no, 1,
				   "clause path longer than %d bytes", SB_TEXTS_PATH_MAX - 1);
	/* The same number twice under one parent (a notice and its attached
	 * measures both counting from 一) keeps both, told apart by #2, #3. */
	for (int dup = 2;; dup++) {
		size_t j = 0;
		while (j < ci && strcmp(doc->clauses[j].path, c->path))
			j++;
		if (j == ci)
			break;
		char base[SB_TEXTS_PATH_MAX];
		snprintf(base, sizeof base, "%s", c->path);
		char *hash = strrchr(base, '#');
		if (hash && dup > 2)
			*hash = '\0';
		w = snprintf(c->path, sizeof c->path, "%s#%d", base, dup);
		if (w < 0 || (size_t)w >= sizeof c->path)
			return sb_diag_set(b->d, SB_ELIMIT, b->name, l->no, 1,
					   "clause path longer than %d bytes",
					   SB_TEXTS_PATH_MAX - 1);
	}
	c->line = l->no;
	c->depth = (int)k + 1;
	b->st[k] = m->st;
	b->idx[k] = ci;
	b->depth = k + 1;
	return append(b, l->p + m->len, l->n - m->len, 0);
}

/* Marks titles: a clause with children whose text is one line without
 * sentence punctuation ("一、总体要求", "第二章 医疗救助"). They are listed but
 * not coded, or every heading would count again what its items say. A
 * lead-in such as "第七条 …救助对象包括下列人员：" has a colon and is coded. */
static void mark_headings(sb_texts_doc *doc)
{
	for (size_t i = 0; i < doc->nclauses; i++) {
		sb_texts_clause *c = &doc->clauses[i];
		int children = i + 1 < doc->nclauses && doc->clauses[i + 1].depth > c->depth;
		c->heading = children && !memchr(c->text, '\n', c->len) &&
			     !has_punct(c->text, c->len);
	}
}

static sb_status parse_header(sb_arena *a, sb_texts_doc *doc, const line_view *l)
{
	const char *v;
	size_t vn;
	if (header_value(l->p, l->n, "标题", &v, &vn))
		return (doc->title = dupv(a, v, vn)) ? SB_OK : SB_ENOMEM;
	if (header_value(l->p, l->n, "发文机关", &v, &vn) ||
	    header_value(l->p, l->n, "制定机关", &v, &vn)) {
		if (!(doc->issuer = dupv(a, v, vn)))
			return SB_ENOMEM;
		return sb_texts_split_issuers(a, doc, v, vn);
	}
	if (header_value(l->p, l->n, "文号", &v, &vn))
		return (doc->number = dupv(a, v, vn)) ? SB_OK : SB_ENOMEM;
	if (header_value(l->p, l->n, "日期", &v, &vn)) {
		doc->year = first_year(v, vn);
		return (doc->date = dupv(a, v, vn)) ? SB_OK : SB_ENOMEM;
	}
	return SB_OK;
}

sb_status sb_texts_split(sb_arena *a, const char *name, const char *buf, size_t n,
			 sb_texts_doc **out, sb_diag *d)
{
	*out = NULL;
	sb_texts_doc *doc = sb_arena_alloc(a, sizeof *doc);
	const char *base = strrchr(name, '/');
	if (!doc || !(doc->name = dupv(a, base ? base + 1 : name, strlen(base ? base + 1 : name))))
		return sb_diag_set(d, SB_ENOMEM, name, 0, 0, "out of memory");
	doc->title = doc->issuer = doc->number = doc->date = "";
	if (memchr(buf, '\0', n)) {
		int line, col;
		place_of(buf, (size_t)((const char *)memchr(buf, '\0', n) - buf), &line, &col);
		return sb_diag_set(d, SB_EINPUT, name, line, col,
				   "a NUL byte: a policy text is plain UTF-8 text");
	}

	/* Lines, trimmed of blanks at both ends (full-width indentation too). */
	size_t nlines = 1;
	for (size_t i = 0; i < n; i++)
		nlines += buf[i] == '\n';
	line_view *lines = sb_arena_alloc(a, nlines * sizeof *lines);
	if (!lines)
		return sb_diag_set(d, SB_ENOMEM, name, 0, 0, "out of memory");
	size_t nl = 0;
	int no = 0;
	for (size_t i = 0; i <= n;) {
		const char *e = memchr(buf + i, '\n', n - i);
		size_t end = e ? (size_t)(e - buf) : n;
		const char *p = buf + i;
		size_t len = end - i;
		no++;
		size_t lead = blanks(p, len);
		p += lead, len -= lead;
		while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		while (len >= 3 && !memcmp(p + len - 3, "\u3000", 3))
			len -= 3;
		if (len)
			lines[nl++] = (line_view){p, len, no};
		if (!e)
			break;
		i = end + 1;
	}

	/* The header: everything above the first `----` line; a first line
	 * "source: ..." is the corpus's provenance note, not text. */
	size_t body = 0;
	for (size_t i = 0; i < nl; i++)
		if (lines[i].n == 4 && !memcmp(lines[i].p, "----", 4)) {
			doc->has_header = true;
			for (size_t j = 0; j < i; j++) {
				sb_status st = parse_header(a, doc, &lines[j]);
				if (st == SB_ELIMIT)
					return sb_diag_set(d, st, name, lines[j].no, 1,
							   "more than %d issuers in the header",
							   SB_TEXTS_MAX_ISSUERS);
				if (st)
					return sb_diag_set(d, st, name, 0, 0, "out of memory");
			}
			body = i + 1;
			break;
		}
	if (!doc->has_header && nl && starts(lines[0].p, lines[0].n, "source:"))
		body = 1;

	builder b;
	memset(&b, 0, sizeof b);
	b.a = a, b.doc = doc, b.name = name, b.d = d;
	size_t end = body + trailer_start(lines + body, nl - body);
	sb_status st = SB_OK;
	for (size_t i = body; i < nl && !st; i++) {
		const line_view *l = &lines[i];
		marker m = i < end ? find_marker(l->p, l->n) : (marker){ST_NONE, "", 0};
		if (m.st != ST_NONE)
			st = open_clause(&b, l, &m);
		else if (doc->nclauses && i < end)
			st = append(&b, l->p, l->n, 1);
		else
			st = add_unplaced(&b, l);
	}
	if (!st)
		st = flush(&b);
	if (st == SB_ENOMEM)
		return sb_diag_set(d, st, name, 0, 0, "out of memory");
	if (st)
		return st;
	mark_headings(doc);
	*out = doc;
	return SB_OK;
}

sb_status sb_texts_read(sb_arena *a, const char *path, sb_texts_doc **out, sb_diag *d)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	char *buf = NULL;
	size_t n = 0, cap = 0;
	sb_status st = SB_OK;
	for (;;) {
		if (n == cap) {
			if (cap >= SB_TEXTS_MAX_FILE) {
				st = sb_diag_set(d, SB_ELIMIT, path, 0, 0,
						 "longer than %u bytes, the limit for one document",
						 SB_TEXTS_MAX_FILE);
				break;
			}
			size_t nc = cap ? cap * 2 : 65536;
			char *q = sb_realloc(buf, nc + 1);
			if (!q) {
				st = sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
				break;
			}
			buf = q, cap = nc;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				st = sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read: %s",
						 strerror(errno));
			break;
		}
	}
	fclose(f);
	if (st) {
		sb_free(buf);
		return st;
	}
	const char *text;
	size_t tn;
	bool converted;
	char *copy = sb_arena_alloc(a, n + 1);
	if (!copy) {
		sb_free(buf);
		return sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
	}
	if (n)
		memcpy(copy, buf, n);
	sb_free(buf);
	st = sb_texts_to_utf8(a, path, copy, n, &text, &tn, &converted, d);
	if (st)
		return st;
	st = sb_texts_split(a, path, text, tn, out, d);
	if (!st)
		(*out)->converted = converted;
	return st;
}
