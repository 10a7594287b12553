/* rejects.c: rejected rows in a bounded buffer, spilled as sorted runs to
 * unlinked temporary files and read back by a k-way merge (rejects.h). */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "batch/rejects.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"

/* A record: this head, then the id, then the reason. */
typedef struct rec_head {
	uint64_t line;
	int64_t total;
	uint32_t reasonlen;
	uint16_t idlen;
	uint8_t file, has_total;
} rec_head;

static size_t run_bytes(const sb_rejects *r)
{
	return r->run_bytes ? r->run_bytes : SB_REJECT_RUN_BYTES;
}

static size_t rec_size(const rec_head *h)
{
	return sizeof *h + h->idlen + h->reasonlen;
}

static void rec_view(const char *p, uint64_t delta, sb_reject *x)
{
	rec_head h;
	memcpy(&h, p, sizeof h);
	x->file = h.file;
	x->has_total = h.has_total;
	x->line = h.line + delta;
	x->total = h.total;
	x->id = p + sizeof h;
	x->idlen = h.idlen;
	x->reason = p + sizeof h + h.idlen;
	x->reasonlen = h.reasonlen;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t sb_mask_id_tokens(const char *s, size_t n, char *out)
{
	memcpy(out, s, n);
	size_t masked = 0;
	for (size_t i = 0; i + SB_ID_LEN <= n; i++) {
		if (!is_digit(s[i]) || (i && is_digit(s[i - 1])))
			continue;
		size_t k = 0;
		while (k < SB_ID_LEN - 1 && is_digit(s[i + k]))
			k++;
		char last = s[i + SB_ID_LEN - 1];
		if (k < SB_ID_LEN - 1 || !(is_digit(last) || last == 'X' || last == 'x') ||
		    (i + SB_ID_LEN < n && is_digit(s[i + SB_ID_LEN]))) {
			i += k; /* the digits seen start no token */
			continue;
		}
		char m[SB_ID_LEN + 1];
		sb_id_mask(s + i, SB_ID_LEN, m);
		memcpy(out + i, m, SB_ID_LEN);
		masked++;
		i += SB_ID_LEN - 1;
	}
	return masked;
}

void sb_rejects_init(sb_rejects *r, const char *dir)
{
	r->dir = dir;
}

/* ---- spill files ----------------------------------------------------------- */

static int open_spill(const char *dir)
{
	if (!dir || !*dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	int fd;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/.sanbao-rejects-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int write_at(int fd, const char *p, size_t n, int64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The index of the file r appends its runs to, opened when needed; -1. */
static int own_file(sb_rejects *r)
{
	if (r->own)
		return r->own - 1;
	int *fds = sb_realloc(r->fds, (r->nfds + 1) * sizeof *fds);
	if (!fds) {
		r->err = ENOMEM;
		return -1;
	}
	r->fds = fds;
	int64_t *sizes = sb_realloc(r->fd_size, (r->nfds + 1) * sizeof *sizes);
	if (!sizes) {
		r->err = ENOMEM;
		return -1;
	}
	r->fd_size = sizes;
	int fd = open_spill(r->dir);
	if (fd < 0) {
		r->err = errno;
		return -1;
	}
	r->fds[r->nfds] = fd;
	r->fd_size[r->nfds] = 0;
	r->own = (int)++r->nfds;
	return r->own - 1;
}

static sb_status add_run(sb_rejects *r, int fd, int64_t off, int64_t bytes, uint64_t delta)
{
	if (r->nruns == r->capruns) {
		size_t cap = r->capruns ? r->capruns * 2 : 16;
		sb_reject_run *v = sb_realloc(r->runs, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		r->runs = v;
		r->capruns = cap;
	}
	r->runs[r->nruns++] = (sb_reject_run){fd, off, bytes, delta};
	return SB_OK;
}

/* A buffered appender to r's own spill file. */
typedef struct appender {
	sb_rejects *r;
	int idx;
	int64_t start;
	char buf[1 << 16];
	size_t n;
	int err;
} appender;

static void app_flush(appender *a)
{
	if (a->n && !a->err) {
		a->err = write_at(a->r->fds[a->idx], a->buf, a->n, a->r->fd_size[a->idx]);
		if (!a->err)
			a->r->fd_size[a->idx] += (int64_t)a->n;
	}
	a->n = 0;
}

static void app_put(appender *a, const char *p, size_t n)
{
	if (a->n + n > sizeof a->buf)
		app_flush(a);
	if (n > sizeof a->buf) {
		if (!a->err) {
			a->err = write_at(a->r->fds[a->idx], p, n, a->r->fd_size[a->idx]);
			if (!a->err)
				a->r->fd_size[a->idx] += (int64_t)n;
		}
		return;
	}
	memcpy(a->buf + a->n, p, n);
	a->n += n;
}

/* Writes one record with its line as given (its run's delta applied). */
static void app_record(appender *a, const sb_reject *x)
{
	rec_head h = {x->line, x->total, (uint32_t)x->reasonlen, (uint16_t)x->idlen, x->file,
		      x->has_total};
	app_put(a, (const char *)&h, sizeof h);
	app_put(a, x->id, x->idlen);
	app_put(a, x->reason, x->reasonlen);
}

static sb_status app_open(sb_rejects *r, appender *a)
{
	a->r = r;
	a->n = 0;
	a->err = 0;
	a->idx = own_file(r);
	if (a->idx < 0)
		return r->err == ENOMEM ? SB_ENOMEM : SB_EIO;
	a->start = r->fd_size[a->idx];
	return SB_OK;
}

/* ---- the buffer ------------------------------------------------------------ */

typedef struct slot {
	uint64_t line;
	size_t off;
	uint8_t file;
} slot;

static int cmp_slot(const void *a, const void *b)
{
	const slot *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off; /* the order added */
}

/* The buffer's records in (file, line) order; NULL on OOM. */
static slot *sorted_buffer(const sb_rejects *r)
{
	slot *s = sb_malloc((r->nbuf + 1) * sizeof *s);
	if (!s)
		return NULL;
	size_t k = 0;
	for (size_t off = 0; off < r->len; k++) {
		rec_head h;
		memcpy(&h, r->buf + off, sizeof h);
		s[k] = (slot){h.line, off, h.file};
		off += rec_size(&h);
	}
	qsort(s, r->nbuf, sizeof *s, cmp_slot);
	return s;
}

/* Spills the buffer as one sorted run. */
static sb_status seal(sb_rejects *r)
{
	if (!r->nbuf)
		return SB_OK;
	slot *s = sorted_buffer(r);
	appender *a = sb_malloc(sizeof *a);
	sb_status st = s && a ? app_open(r, a) : SB_ENOMEM;
	if (!st) {
		for (size_t i = 0; i < r->nbuf; i++) {
			rec_head h;
			memcpy(&h, r->buf + s[i].off, sizeof h);
			app_put(a, r->buf + s[i].off, rec_size(&h));
		}
		app_flush(a);
		if (a->err) {
			r->err = a->err;
			st = SB_EIO;
		} else {
			st = add_run(r, a->idx, a->start, r->fd_size[a->idx] - a->start, 0);
		}
	}
	sb_free(a);
	sb_free(s);
	if (!st)
		r->len = r->nbuf = 0;
	return st;
}

static sb_status reserve(sb_rejects *r, size_t more)
{
	if (r->len + more <= r->cap)
		return SB_OK;
	size_t cap = r->cap ? r->cap : 16384;
	while (cap < r->len + more)
		cap *= 2;
	char *p = sb_realloc(r->buf, cap);
	if (!p)
		return SB_ENOMEM;
	r->buf = p;
	r->cap = cap;
	return SB_OK;
}

sb_status sb_rejects_add(sb_rejects *r, int file, uint64_t line, const char *id, size_t idlen,
			 const char *reason, bool has_total, sb_fen total)
{
	if (idlen > SB_REJECT_ID_MAX)
		idlen = SB_REJECT_ID_MAX;
	size_t rlen = strlen(reason);
	if (rlen > SB_REJECT_REASON_MAX)
		rlen = SB_REJECT_REASON_MAX;
	rec_head h = {line, total, (uint32_t)rlen, (uint16_t)idlen, (uint8_t)file, has_total};
	size_t size = rec_size(&h);
	/* A spill that fails (a full disk) keeps the rejects in memory and is
	 * reported by sb_rejects_each, which has a diagnostic to say so. */
	sb_status st;
	if (r->nbuf && !r->err && r->len + size > run_bytes(r) && (st = seal(r)) &&
	    st != SB_EIO)
		return st;
	if ((st = reserve(r, size)))
		return st;
	char *p = r->buf + r->len;
	memcpy(p, &h, sizeof h);
	memcpy(p + sizeof h, id, idlen);
	memcpy(p + sizeof h + idlen, reason, rlen);
	r->len += size;
	r->nbuf++;
	r->n++;
	if (file >= 0 && file < 3)
		r->count[file]++;
	return SB_OK;
}

void sb_rejects_offset_lines(sb_rejects *r, uint64_t delta)
{
	for (size_t off = 0; off < r->len;) {
		rec_head h;
		memcpy(&h, r->buf + off, sizeof h);
		h.line += delta;
		memcpy(r->buf + off, &h, sizeof h);
		off += rec_size(&h);
	}
	for (size_t i = 0; i < r->nruns; i++)
		r->runs[i].delta += delta;
}

void sb_rejects_release(sb_rejects *r)
{
	for (size_t i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	sb_free(r->fds);
	sb_free(r->fd_size);
	sb_free(r->runs);
	sb_free(r->buf);
	memset(r, 0, sizeof *r);
}

sb_status sb_pass_take_rejects(sb_rejects *into, sb_rejects *from)
{
	if (!from->n) {
		sb_rejects_release(from);
		return SB_OK;
	}
	/* The order added is kept for rejects of one line (runs in order,
	 * then the buffer): into's buffer, from's runs, from's buffer. */
	sb_status st;
	if (!into->err)
		into->err = from->err;
	if (into->nbuf && !into->err && (from->nruns || into->len + from->len > run_bytes(into)) &&
	    (st = seal(into)) && st != SB_EIO)
		return st;
	if (into->nbuf && into->err && from->nruns)
		return SB_EIO; /* the order could not be kept: reported by each */
	if ((st = reserve(into, from->len)))
		return st;
	if (from->nfds) {
		int *fds = sb_realloc(into->fds, (into->nfds + from->nfds) * sizeof *fds);
		if (!fds)
			return SB_ENOMEM;
		into->fds = fds;
		int64_t *sizes = sb_realloc(into->fd_size, (into->nfds + from->nfds) * sizeof *sizes);
		if (!sizes)
			return SB_ENOMEM;
		into->fd_size = sizes;
	}
	if (into->nruns + from->nruns > into->capruns) {
		size_t cap = into->nruns + from->nruns + 16;
		sb_reject_run *v = sb_realloc(into->runs, cap * sizeof *v);
		if (!v)
			return SB_ENOMEM;
		into->runs = v;
		into->capruns = cap;
	}
	memcpy(into->buf + into->len, from->buf, from->len);
	into->len += from->len;
	into->nbuf += from->nbuf;
	for (size_t i = 0; i < from->nruns; i++) {
		sb_reject_run run = from->runs[i];
		run.fd += (int)into->nfds;
		into->runs[into->nruns++] = run;
	}
	if (from->nfds) {
		memcpy(into->fds + into->nfds, from->fds, from->nfds * sizeof *from->fds);
		memcpy(into->fd_size + into->nfds, from->fd_size, from->nfds * sizeof *from->fd_size);
		into->nfds += from->nfds;
	}
	into->n += from->n;
	for (int k = 0; k < 3; k++)
		into->count[k] += from->count[k];
	from->nfds = 0; /* the files are into's now */
	sb_rejects_release(from);
	return SB_OK;
}

/* ---- the merge ------------------------------------------------------------ */

typedef struct reader {
	int fd;
	int64_t pos, end;
	uint64_t delta;
	char *buf;
	size_t cap, lo, hi;
	sb_reject cur;
	int err;
} reader;

/* At least `need` bytes at lo, or fewer when the run ends. */
static void fill(reader *rd, size_t need)
{
	if (rd->hi - rd->lo >= need)
		return;
	memmove(rd->buf, rd->buf + rd->lo, rd->hi - rd->lo);
	rd->hi -= rd->lo;
	rd->lo = 0;
	if (need > rd->cap) {
		char *p = sb_realloc(rd->buf, need);
		if (!p) {
			rd->err = ENOMEM;
			return;
		}
		rd->buf = p;
		rd->cap = need;
	}
	while (rd->hi < need && rd->pos < rd->end) {
		size_t want = rd->cap - rd->hi;
		if ((int64_t)want > rd->end - rd->pos)
			want = (size_t)(rd->end - rd->pos);
		ssize_t n = pread(rd->fd, rd->buf + rd->hi, want, (off_t)rd->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rd->err = n < 0 ? errno : EIO;
			return;
		}
		rd->hi += (size_t)n;
		rd->pos += n;
	}
}

/* The run's next record into cur: 1, or 0 at its end (or on error). */
static int next(reader *rd)
{
	fill(rd, sizeof(rec_head));
	if (rd->err || rd->hi - rd->lo < sizeof(rec_head))
		return 0;
	rec_head h;
	memcpy(&h, rd->buf + rd->lo, sizeof h);
	size_t size = rec_size(&h);
	fill(rd, size);
	if (rd->err || rd->hi - rd->lo < size) {
		if (!rd->err)
			rd->err = EIO;
		return 0;
	}
	rec_view(rd->buf + rd->lo, rd->delta, &rd->cur);
	rd->lo += size;
	return 1;
}

static bool before(const reader *a, int ia, const reader *b, int ib)
{
	if (a->cur.file != b->cur.file)
		return a->cur.file < b->cur.file;
	if (a->cur.line != b->cur.line)
		return a->cur.line < b->cur.line;
	return ia < ib;
}

static void sift(reader *rd, int *heap, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, m = i;
		if (l < n && before(&rd[heap[l]], heap[l], &rd[heap[m]], heap[m]))
			m = l;
		if (l + 1 < n && before(&rd[heap[l + 1]], heap[l + 1], &rd[heap[m]], heap[m]))
			m = l + 1;
		if (m == i)
			return;
		int t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

/* Merges runs[0..n) of r into fn. */
static sb_status merge(sb_rejects *r, size_t n, sb_status (*fn)(void *, const sb_reject *),
		       void *arg, sb_diag *d)
{
	reader *rd = sb_calloc(n, sizeof *rd);
	int *heap = sb_malloc(n * sizeof *heap);
	sb_status st = rd && heap ? SB_OK : SB_ENOMEM;
	int nh = 0;
	for (size_t i = 0; !st && i < n; i++) {
		const sb_reject_run *run = &r->runs[i];
		rd[i] = (reader){.fd = r->fds[run->fd], .pos = run->off, .end = run->off + run->bytes,
				 .delta = run->delta, .cap = 16384};
		if (!(rd[i].buf = sb_malloc(rd[i].cap)))
			st = SB_ENOMEM;
		else if (next(&rd[i]))
			heap[nh++] = (int)i;
	}
	for (int i = nh / 2 - 1; i >= 0; i--)
		sift(rd, heap, nh, i);
	while (!st && nh) {
		reader *top = &rd[heap[0]];
		if ((st = fn(arg, &top->cur)))
			break;
		if (!next(top)) {
			if (top->err)
				break;
			heap[0] = heap[--nh];
		}
		sift(rd, heap, nh, 0);
	}
	for (size_t i = 0; rd && i < n; i++) {
		if (!st && rd[i].err) {
			st = rd[i].err == ENOMEM ?
				     sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory") :
				     sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot read rejected rows "
						 "back from a temporary file: %s", strerror(rd[i].err));
		}
		sb_free(rd[i].buf);
	}
	if (st == SB_ENOMEM && !d->message[0])
		sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	sb_free(rd);
	sb_free(heap);
	return st;
}

static sb_status to_appender(void *arg, const sb_reject *x)
{
	app_record(arg, x);
	return SB_OK;
}

static sb_status spill_error(const sb_rejects *r, sb_status st, sb_diag *d)
{
	if (st == SB_ENOMEM || r->err == ENOMEM)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	return sb_diag_set(d, SB_EIO, r->dir ? r->dir : "", 0, 0,
			   "cannot spill rejected rows to a temporary file: %s",
			   strerror(r->err ? r->err : EIO));
}

sb_status sb_rejects_each(sb_rejects *r, sb_status (*fn)(void *arg, const sb_reject *x),
			  void *arg, sb_diag *d)
{
	sb_status st;
	if (r->err)
		return spill_error(r, SB_EIO, d);
	if (!r->nruns) {
		slot *s = sorted_buffer(r);
		if (!s)
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		st = SB_OK;
		for (size_t i = 0; i < r->nbuf && !st; i++) {
			sb_reject x;
			rec_view(r->buf + s[i].off, 0, &x);
			st = fn(arg, &x);
		}
		sb_free(s);
		return st;
	}
	if ((st = seal(r)))
		return spill_error(r, st, d);
	sb_free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	/* Too many runs to merge at once: merge the first ones into one. */
	while (r->nruns > SB_REJECT_FANIN) {
		appender *a = sb_malloc(sizeof *a);
		if (!a || (st = app_open(r, a))) {
			sb_free(a);
			return spill_error(r, a ? st : SB_ENOMEM, d);
		}
		st = merge(r, SB_REJECT_FANIN, to_appender, a, d);
		app_flush(a);
		if (!st && a->err) {
			r->err = a->err;
			st = spill_error(r, SB_EIO, d);
		}
		sb_reject_run run = {a->idx, a->start, r->fd_size[a->idx] - a->start, 0};
		sb_free(a);
		if (st)
			return st;
		memmove(r->runs + 1, r->runs + SB_REJECT_FANIN,
			(r->nruns - SB_REJECT_FANIN) * sizeof *r->runs);
		r->runs[0] = run;
		r->nruns -= SB_REJECT_FANIN - 1;
	}
	return merge(r, r->nruns, fn, arg, d);
}
