/* settle_mpi.c: `sanbao settle --mpi` (mpi.h, docs/cluster.md). */
#define _GNU_SOURCE /* memfd_create */
#include "mpi/mpi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "batch/dist.h"
#include "io/outfile.h"
#include "sanbao/io.h"
#include "sanbao/policy.h"

static int g_rank;

int sb_mpi_rank(void)
{
	return g_rank;
}

#ifndef SB_HAVE_MPI

bool sb_mpi_available(void)
{
	return false;
}

sb_status sb_mpi_batch_settle(const sb_batch_config *cfg, sb_batch_totals *t, sb_diag *d)
{
	(void)cfg;
	(void)t;
	return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
			   "--mpi: this sanbao was built without MPI (install libopenmpi-dev "
			   "and rebuild: docs/cluster.md)");
}

#else

#include <mpi.h>

bool sb_mpi_available(void)
{
	return true;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (its threads'). */
static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- buffers --------------------------------------------------------- */

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static bool buf_reserve(buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->n + more)
		cap *= 2;
	char *p = sb_realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

static bool buf_put(buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return false;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	return true;
}

static void buf_free(buf *b)
{
	sb_free(b->p);
	memset(b, 0, sizeof *b);
}

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return sb_batch_hash(h);
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "";
}

/* ---- the run's state ------------------------------------------------- */

/* One input's share: the file mapped, this rank's byte range, its
 * records (one physical line each). */
typedef struct row {
	uint64_t line;   /* global */
	size_t off, len; /* the physical line, its line feed included */
	uint64_t key;    /* person key, when has_key */
	uint32_t pseudo;
	int32_t dest;     /* owning rank; -1 until known */
	bool has_key, nl; /* nl: the line has its line feed */
	bool multi;       /* persons: the key is listed more than once */
	int32_t proposed; /* persons: its household's rank */
	uint16_t idlen;   /* claims: the claim id for the duplicate check (0: none) */
	size_t idoff;
} row;

typedef struct input {
	const char *path;
	int which; /* 0 persons, 1 identities, 2 claims */
	int fd;
	char *map;
	size_t size, hstart;
	size_t start, end;
	row *rows;
	size_t nrows, caprows;
	/* local file */
	char local[2 * PATH_MAX + 2];
	uint64_t *lines; /* global line of each local row */
	size_t nlines;
	buf ids;   /* claims: the ids of the duplicate check */
	int memfd; /* the local file, -1 when none */
} input;

typedef struct dir_slot {
	uint64_t key;
	uint32_t pseudo; /* +1; 0: empty */
	int32_t owner;   /* -1: no valid listing */
	uint32_t n;      /* listings (round 1); round 2: 1 when re-enrolled */
	uint32_t pad;
} dir_slot;

/* route()'s modes. */
enum { LOOKUP, ENROL, REENROL };
#define MULTI (1 << 30) /* an ENROL answer's flag: the key is listed more than once */

typedef struct mpirun {
	const sb_batch_config *cfg;
	int rank, size;
	sb_policyset *set;
	input in[3];
	dir_slot *dir;
	size_t dir_mask;
	sb_dup *dups;
	size_t ndups;
	double t_route, t_exchange, t_inputs, t_reduce; /* wall seconds */
	double c_route, c_exchange, c_inputs, c_reduce; /* CPU seconds */
	double c_start;
	double slowest[10]; /* route, exchange, rank inputs, settle, -; then CPU: the slowest rank's */
	long long local_settled, local_rejected, local_claims;
	char rankdir[PATH_MAX];
} mpirun;

static sb_status oom(sb_diag *d)
{
	return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
}

/* Whether every rank's step succeeded: a failed rank has reported its own
 * error; the others stop with this one. */
static sb_status agree(sb_status st, sb_diag *d)
{
	int mine = st ? 1 : 0, any = 0;
	MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (st)
		return st;
	if (any)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "another rank failed (see its message); nothing was written");
	return SB_OK;
}

/* All-to-all of byte blocks: scount[k] bytes of sbuf (the blocks one after
 * another, in rank order) go to rank k; *recv gets every rank's block for
 * this one in rank order, rcount[k] bytes from rank k. */
static sb_status alltoall_flat(mpirun *m, const char *sbuf, const size_t *scount, buf *recv,
			       size_t *rcount, sb_diag *d)
{
	double t0 = now(), c0 = cpu();
	int P = m->size;
	long long *sc = sb_calloc((size_t)P * 2, sizeof *sc);
	int *isc = sb_calloc((size_t)P * 4, sizeof *isc);
	sb_status st = SB_OK;
	if (!sc || !isc) {
		st = oom(d);
		goto out;
	}
	long long *rc = sc + P;
	int *isd = isc + P, *irc = isc + 2 * P, *ird = isc + 3 * P;
	size_t tot = 0;
	for (int k = 0; k < P; k++) {
		sc[k] = (long long)scount[k];
		tot += scount[k];
	}
	MPI_Alltoall(sc, 1, MPI_LONG_LONG, rc, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
	size_t rtot = 0;
	for (int k = 0; k < P; k++)
		rtot += (size_t)rc[k];
	int big = tot > INT_MAX || rtot > INT_MAX, anybig = 0;
	MPI_Allreduce(&big, &anybig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (anybig) {
		st = sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				 "a rank's share of one exchange is over 2 GiB: run more ranks "
				 "(docs/cluster.md)");
		goto out;
	}
	recv->n = 0;
	if (!buf_reserve(recv, rtot + 1)) {
		st = oom(d);
		goto out;
	}
	size_t off = 0;
	for (int k = 0; k < P; k++) {
		isc[k] = (int)scount[k];
		isd[k] = (int)off;
		off += scount[k];
	}
	off = 0;
	for (int k = 0; k < P; k++) {
		irc[k] = (int)rc[k];
		ird[k] = (int)off;
		rcount[k] = (size_t)rc[k];
		off += (size_t)rc[k];
	}
	MPI_Alltoallv(sbuf, isc, isd, MPI_BYTE, recv->p, irc, ird, MPI_BYTE, MPI_COMM_WORLD);
	recv->n = rtot;
out:
	sb_free(sc);
	sb_free(isc);
	m->t_exchange += now() - t0;
	m->c_exchange += cpu() - c0;
	return st;
}

/* The same from one buffer per rank (freed). */
static sb_status alltoall(mpirun *m, buf *send, buf *recv, size_t *rcount, sb_diag *d)
{
	int P = m->size;
	size_t *sc = sb_calloc((size_t)P, sizeof *sc);
	buf all = { 0 };
	size_t tot = 0;
	for (int k = 0; k < P; k++)
		tot += send[k].n;
	if (!sc || !buf_reserve(&all, tot + 1)) {
		sb_free(sc);
		for (int k = 0; k < P; k++)
			buf_free(&send[k]);
		MPI_Abort(MPI_COMM_WORLD, 1); /* the others are in the exchange */
		return oom(d);
	}
	for (int k = 0; k < P; k++) {
		sc[k] = send[k].n;
		buf_put(&all, send[k].p, send[k].n);
		buf_free(&send[k]);
	}
	sb_status st = alltoall_flat(m, all.p, sc, recv, rcount, d);
	buf_free(&all);
	sb_free(sc);
	return st;
}

/* ---- reading a share ------------------------------------------------- */

/* The first line start at or after pos (pos itself when a line feed is
 * just before it). */
static size_t line_start(const input *x, size_t pos)
{
	if (pos <= x->hstart)
		return x->hstart;
	if (pos >= x->size)
		return x->size;
	const char *nl = memchr(x->map + pos - 1, '\n', x->size - (pos - 1));
	return nl ? (size_t)(nl - x->map) + 1 : x->size;
}

static sb_status map_input(mpirun *m, input *x, sb_diag *d)
{
	x->fd = -1;
	sb_status st = sb_input_open(x->path, &x->fd, d);
	if (st)
		return st;
	struct stat sb;
	if (fstat(x->fd, &sb))
		return sb_diag_set(d, SB_EIO, x->path, 0, 0, "cannot read: %s", strerror(errno));
	x->size = (size_t)sb.st_size;
	if (x->size) {
		x->map = mmap(NULL, x->size, PROT_READ, MAP_PRIVATE, x->fd, 0);
		if (x->map == MAP_FAILED) {
			x->map = NULL;
			return sb_diag_set(d, SB_EIO, x->path, 0, 0, "cannot map: %s",
					   strerror(errno));
		}
		madvise(x->map, x->size, MADV_SEQUENTIAL);
	}
	const char *nl = x->size ? memchr(x->map, '\n', x->size) : NULL;
	x->hstart = nl ? (size_t)(nl - x->map) + 1 : x->size;
	size_t body = x->size - x->hstart;
	size_t a = x->hstart +
		   (size_t)((unsigned __int128)body * (unsigned)m->rank / (unsigned)m->size);
	size_t b = x->hstart +
		   (size_t)((unsigned __int128)body * (unsigned)(m->rank + 1) / (unsigned)m->size);
	x->start = m->rank == 0 ? x->hstart : line_start(x, a);
	x->end = m->rank == m->size - 1 ? x->size : line_start(x, b);
	if (x->end < x->start)
		x->end = x->start;
	return SB_OK;
}

/* The global line of the first line of this rank's range: every rank
 * counts its lines (collective). */
static uint64_t range_base(mpirun *m, const input *x)
{
	long long nl = 0;
	for (size_t p = x->start; p < x->end;) {
		const char *e = memchr(x->map + p, '\n', x->end - p);
		nl++;
		p = e ? (size_t)(e - x->map) + 1 : x->end;
	}
	if (x->end == x->size && x->end > x->start && x->map[x->end - 1] != '\n')
		nl--; /* the last line without its line feed: not a line feed read */
	long long before = 0;
	MPI_Exscan(&nl, &before, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (m->rank == 0)
		before = 0;
	return 2 + (uint64_t)before;
}

static row *new_row(input *x)
{
	if (x->nrows == x->caprows) {
		size_t cap = x->caprows ? x->caprows * 2 : 4096;
		row *v = sb_realloc(x->rows, cap * sizeof *v);
		if (!v)
			return NULL;
		x->rows = v;
		x->caprows = cap;
	}
	row *w = &x->rows[x->nrows++];
	memset(w, 0, sizeof *w);
	w->dest = -1;
	return w;
}

/* Reads this rank's records of x; per record, `each` decides what it can
 * (person key, destination). Global lines are set after all ranks have
 * counted their lines. */
typedef sb_status (*each_fn)(mpirun *m, input *x, sb_csv *c, int r, row *w, const int *col,
			     sb_diag *d);

static sb_status read_share(mpirun *m, input *x, const sb_colspec *spec, size_t nspec,
			    const char *what, each_fn each, sb_diag *d)
{
	sb_csv *hc;
	sb_status st = sb_csv_open(x->path, &hc, d);
	if (st)
		return st;
	int col[SB_CCOL_N];
	size_t ncols = sb_csv_ncols(hc);
	st = sb_io_map(hc, what, spec, nspec, true, col, d);
	sb_csv_free(hc);
	if (st)
		return st;
	uint64_t base = range_base(m, x);
	if (x->start >= x->end)
		return SB_OK;
	sb_csv *c;
	if ((st = sb_csv_open_range(x->path, ncols, (int64_t)x->start, (int64_t)x->end, &c, d)))
		return st;
	long cur = 1;
	size_t pos = x->start;
	int r;
	while ((r = sb_csv_next(c, d)) != 0) {
		if (r == -2) {
			st = d->code;
			break;
		}
		if (sb_csv_multiline(c)) {
			st = sb_diag_set(d, SB_EINPUT, x->path,
					 (int)(base + (uint64_t)sb_csv_line(c) - 1), 0,
					 "a record spans lines: --mpi reads files in byte ranges "
					 "and needs one record per line");
			break;
		}
		long L = sb_csv_line(c);
		while (cur < L) {
			const char *e = memchr(x->map + pos, '\n', x->end - pos);
			pos = e ? (size_t)(e - x->map) + 1 : x->end;
			cur++;
		}
		row *w = new_row(x);
		if (!w) {
			st = oom(d);
			break;
		}
		const char *e = memchr(x->map + pos, '\n', x->end - pos);
		w->off = pos;
		w->len = (e ? (size_t)(e - x->map) + 1 : x->end) - pos;
		w->nl = e != NULL;
		w->line = base + (uint64_t)L - 1;
		if ((st = each(m, x, c, r, w, col, d)))
			break;
	}
	sb_csv_free(c);
	return st;
}

static int dir_rank(const mpirun *m, uint64_t key, uint32_t pseudo)
{
	return (int)(sb_batch_hash(key ^ ((uint64_t)pseudo << 63)) % (uint64_t)m->size);
}

static sb_status each_identity(mpirun *m, input *x, sb_csv *c, int r, row *w, const int *col,
			       sb_diag *d)
{
	(void)x;
	(void)d;
	if (r < 0)
		return SB_OK;
	sb_identity_row ir;
	char why[1024];
	if (sb_identity_row_read(c, col, m->set, &ir, why, sizeof why) != SB_IROW_OK)
		return SB_OK;
	sb_csv_field f = sb_csv_get(c, (size_t)col[SB_ICOL_PERSON]);
	uint64_t key;
	int pseudo;
	const char *w2;
	if (sb_person_key(f.p, f.n, &key, &pseudo, NULL, &w2))
		return SB_OK;
	w->has_key = true;
	w->key = key;
	w->pseudo = (uint32_t)pseudo;
	return SB_OK;
}

static sb_status each_claim(mpirun *m, input *x, sb_csv *c, int r, row *w, const int *col,
			    sb_diag *d)
{
	(void)m;
	/* The id of the duplicate check, as pass 1 takes it. */
	sb_csv_field id = r < 0               ? sb_io_record_id(c, col[SB_CCOL_ID]) :
			  col[SB_CCOL_ID] < 0 ? (sb_csv_field){ "", 0 } :
						sb_csv_get(c, (size_t)col[SB_CCOL_ID]);
	if (id.n && id.n <= 64) {
		w->idoff = x->ids.n;
		w->idlen = (uint16_t)id.n;
		if (!buf_put(&x->ids, id.p, id.n))
			return oom(d);
	}
	if (r < 0)
		return SB_OK;
	sb_csv_field f = col[SB_CCOL_PERSON] < 0 ? (sb_csv_field){ "", 0 } :
						   sb_csv_get(c, (size_t)col[SB_CCOL_PERSON]);
	uint64_t key;
	int pseudo;
	const char *w2;
	if (sb_person_key(f.p, f.n, &key, &pseudo, NULL, &w2))
		return SB_OK;
	w->has_key = true;
	w->key = key;
	w->pseudo = (uint32_t)pseudo;
	return SB_OK;
}

/* A person's key for routing, as pass 1 and the person table have it
 * (sb_person_key), without the check digit: a row whose ID is refused is
 * refused on any rank. */
static bool person_key(const char *p, size_t n, uint64_t *key, uint32_t *pseudo)
{
	if (n != SB_ID_LEN)
		return false;
	if (p[0] == 'P') {
		int ps;
		const char *why;
		if (sb_person_key(p, n, key, &ps, NULL, &why))
			return false;
		*pseudo = (uint32_t)ps;
		return true;
	}
	for (int i = 0; i < 17; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	*key = sb_batch_id_key(p);
	*pseudo = 0;
	return true;
}

/* One line read by the CSV reader alone under the header (a line the
 * fast split does not take): *c is positioned on it; r as sb_csv_next
 * (0: no record). */
static sb_status read_one(const input *x, const row *w, buf *one, sb_csv **c, int *r, sb_diag *d)
{
	one->n = 0;
	if (!buf_put(one, x->map, x->hstart) || !buf_put(one, x->map + w->off, w->len) ||
	    !buf_put(one, "\n", 1))
		return oom(d);
	sb_status st = sb_csv_open_mem(x->path, one->p, one->n, c, d);
	if (st)
		return st;
	sb_diag rd;
	sb_diag_clear(&rd);
	*r = sb_csv_next(*c, &rd);
	if (*r == -2) {
		sb_csv_free(*c);
		*c = NULL;
		return sb_diag_set(d, rd.code, x->path, 0, 0, "%s", rd.message);
	}
	return SB_OK;
}

/* The field pieces k0 and k1 of the line [p, q) when no quote or CR comes
 * before their end (what the reader's fields are then); false otherwise. */
static bool pieces(const char *p, const char *q, int k0, int k1, sb_csv_field *f0, sb_csv_field *f1)
{
	*f0 = *f1 = (sb_csv_field){ "", 0 };
	int need = k0 > k1 ? k0 : k1;
	if ((size_t)(q - p) >= SB_CSV_MAX_RECORD)
		return false;
	const char *s = p;
	for (int k = 0; k <= need; k++) {
		const char *c = memchr(s, ',', (size_t)(q - s));
		const char *e = c ? c : q;
		if (memchr(s, '"', (size_t)(e - s)) || memchr(s, '\r', (size_t)(e - s)))
			return false;
		if (k == k0)
			*f0 = (sb_csv_field){ s, (size_t)(e - s) };
		if (k == k1)
			*f1 = (sb_csv_field){ s, (size_t)(e - s) };
		if (!c)
			break;
		s = c + 1;
	}
	return true;
}

/* persons.csv's share, fast: each row's key (from its ID, unchecked) and
 * its household's rank, split at commas as read_claims does. Whether a row
 * is valid matters only for a key listed more than once (the first valid
 * listing wins): validate_multi reads those rows in full. */
/* The next non-blank line of x's range at *pos (*L counts the range's
 * lines, blank ones too) as a new row: its offset, length, line feed and
 * global line (base + its line in the range); *p..*q its text without the
 * line end. NULL at the range's end, or with *st = SB_ENOMEM. */
static row *next_line_row(input *x, size_t *pos, uint64_t *L, uint64_t base, const char **p,
			  const char **q, sb_status *st, sb_diag *d)
{
	while (*pos < x->end) {
		const char *a = x->map + *pos;
		const char *e = memchr(a, '\n', x->end - *pos);
		size_t next = e ? (size_t)(e - x->map) + 1 : x->end;
		const char *b = e ? e : x->map + x->end;
		uint64_t lineno = (*L)++;
		*pos = next;
		if (b > a && b[-1] == '\r')
			b--;
		if (b == a)
			continue; /* blank */
		row *w = new_row(x);
		if (!w) {
			*st = oom(d);
			return NULL;
		}
		w->off = (size_t)(a - x->map);
		w->len = next - w->off;
		w->nl = e != NULL;
		w->line = base + lineno;
		*p = a;
		*q = b;
		return w;
	}
	return NULL;
}

static sb_status read_persons(mpirun *m, input *x, int *col, sb_diag *d)
{
	sb_csv *hc;
	sb_status st = sb_csv_open(x->path, &hc, d);
	if (st)
		return st;
	st = sb_io_map(hc, "persons.csv", sb_persons_columns, SB_PCOL_N, true, col, d);
	sb_csv_free(hc);
	if (st)
		return st;
	uint64_t base = range_base(m, x);
	int cid = col[SB_PCOL_ID], chh = col[SB_PCOL_HOUSEHOLD];
	buf one = { 0 };
	size_t pos = x->start;
	uint64_t L = 0;
	const char *p, *q;
	row *w;
	while (!st && (w = next_line_row(x, &pos, &L, base, &p, &q, &st, d))) {
		sb_csv_field id, hh;
		sb_csv *c = NULL;
		if (!pieces(p, q, cid, chh, &id, &hh)) {
			int r;
			if ((st = read_one(x, w, &one, &c, &r, d)))
				break;
			if (r == 0)
				x->nrows--;
			if (r != 1) {
				sb_csv_free(c);
				continue; /* malformed: refused where it was read */
			}
			id = sb_csv_get(c, (size_t)cid);
			hh = chh < 0 ? (sb_csv_field){ "", 0 } : sb_csv_get(c, (size_t)chh);
		}
		if (person_key(id.p, id.n, &w->key, &w->pseudo)) {
			w->has_key = true;
			uint64_t h = hh.n ? fnv(hh.p, hh.n) :
					    sb_batch_hash(w->key ^ ((uint64_t)w->pseudo << 63));
			w->proposed = w->dest = (int32_t)(h % (uint64_t)m->size);
		}
		sb_csv_free(c);
	}
	buf_free(&one);
	return st;
}

/* The rows of keys listed more than once, read and checked in full as the
 * batch will (the one row reader, the region's policy): an invalid one is
 * refused where it was read and is no listing of the person. */
static sb_status validate_multi(mpirun *m, input *x, const int *col, sb_diag *d)
{
	double t0 = now(), c0 = cpu();
	buf one = { 0 };
	sb_status st = SB_OK;
	for (size_t i = 0; i < x->nrows && !st; i++) {
		row *w = &x->rows[i];
		if (!w->has_key || !w->multi)
			continue;
		sb_csv *c;
		int r;
		if ((st = read_one(x, w, &one, &c, &r, d)))
			break;
		sb_person_row pr;
		char why[512];
		bool ok = r == 1 && !sb_person_row_read(c, col, &pr, why, sizeof why) &&
			  sb_policyset_find(m->set, pr.region);
		sb_csv_free(c);
		if (!ok) {
			w->has_key = w->multi = false;
			w->dest = -1;
		}
	}
	buf_free(&one);
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	return st;
}

/* claims.csv's share, fast: a line without quotes and CRs inside is split
 * at its commas, which is what the CSV reader makes of it (the reader's id
 * of a malformed row is the same piece: sb_io_record_id); any other line
 * goes through the reader, alone under the header. Blank lines are not
 * records, as for the reader. Validity beyond the id and the person's key
 * is pass 1's, on the rank that gets the row: a row rejected there is
 * rejected the same anywhere. */
static sb_status read_claims(mpirun *m, input *x, sb_diag *d)
{
	sb_csv *hc;
	sb_status st = sb_csv_open(x->path, &hc, d);
	if (st)
		return st;
	int col[SB_CCOL_N];
	st = sb_io_map(hc, "claims.csv", sb_claims_columns, SB_CCOL_N, true, col, d);
	sb_csv_free(hc);
	if (st)
		return st;
	uint64_t base = range_base(m, x);
	int cid = col[SB_CCOL_ID], cper = col[SB_CCOL_PERSON];
	buf one = { 0 };
	size_t pos = x->start;
	uint64_t L = 0;
	const char *p, *q;
	row *w;
	while (!st && (w = next_line_row(x, &pos, &L, base, &p, &q, &st, d))) {
		/* The pieces of the id and person columns: the fields the
		 * reader makes of them when no quote comes before their end. */
		const char *idp = NULL, *pp = NULL;
		size_t idn = 0, pn = 0;
		int need = cid > cper ? cid : cper;
		bool plain = (size_t)(q - p) < SB_CSV_MAX_RECORD && need >= 0;
		const char *f0 = p;
		for (int k = 0; plain && k <= need; k++) {
			const char *c = memchr(f0, ',', (size_t)(q - f0));
			const char *fe = c ? c : q;
			if (memchr(f0, '"', (size_t)(fe - f0)) ||
			    memchr(f0, '\r', (size_t)(fe - f0)))
				plain = false;
			if (k == cid) {
				idp = f0;
				idn = (size_t)(fe - f0);
			}
			if (k == cper) {
				pp = f0;
				pn = (size_t)(fe - f0);
			}
			if (!c)
				break; /* fewer fields: malformed, its id as the reader gives it */
			f0 = c + 1;
		}
		if (plain) {
			if (idp && idn && idn <= 64) {
				w->idoff = x->ids.n;
				w->idlen = (uint16_t)idn;
				if (!buf_put(&x->ids, idp, idn)) {
					st = oom(d);
					break;
				}
			}
			if (pp && person_key(pp, pn, &w->key, &w->pseudo))
				w->has_key = true;
			continue;
		}
		/* the reader, over the header and this line */
		one.n = 0;
		if (!buf_put(&one, x->map, x->hstart) || !buf_put(&one, p, w->len) ||
		    !buf_put(&one, "\n", 1)) {
			st = oom(d);
			break;
		}
		sb_csv *c;
		if ((st = sb_csv_open_mem(x->path, one.p, one.n, &c, d)))
			break;
		sb_diag rd;
		sb_diag_clear(&rd);
		int r = sb_csv_next(c, &rd);
		if (r == 0)
			x->nrows--; /* not a record after all */
		else if (r == -2)
			st = sb_diag_set(d, rd.code, x->path, 0, 0, "%s", rd.message);
		else
			st = each_claim(m, x, c, r, w, col, d);
		sb_csv_free(c);
	}
	buf_free(&one);
	return st;
}

/* ---- the person directory ---------------------------------------------- */

/* The directory slot of (key, pseudo), empty when absent. */
static dir_slot *dir_find(mpirun *m, uint64_t key, uint32_t pseudo)
{
	for (size_t h = sb_batch_hash(key ^ ((uint64_t)pseudo << 63)) & m->dir_mask;;
	     h = (h + 1) & m->dir_mask) {
		dir_slot *s = &m->dir[h];
		if (!s->pseudo || (s->key == key && s->pseudo == pseudo + 1))
			return s;
	}
}

typedef struct query {
	uint64_t key;
	uint32_t pseudo;
	int32_t owner; /* persons: the proposed owner */
} query;

/* Sends the keyed rows of x to their directory ranks; with `enrol`, the
 * directory records each key's first proposed owner. Every keyed row's
 * dest becomes the directory's owner (-1: unknown person). */
static sb_status route(mpirun *m, input *x, int mode, sb_diag *d)
{
	bool enrol = mode == ENROL;
	int P = m->size;
	buf *send = sb_calloc((size_t)P, sizeof *send);
	size_t *rc = sb_calloc((size_t)P, sizeof *rc);
	buf recv = { 0 }, back = { 0 };
	sb_status st = send && rc ? SB_OK : oom(d);
	for (size_t i = 0; !st && i < x->nrows; i++) {
		row *w = &x->rows[i];
		if (!w->has_key || (mode == REENROL && !w->multi))
			continue;
		query q = { w->key, w->pseudo, mode == LOOKUP ? w->dest : w->proposed };
		if (!buf_put(&send[dir_rank(m, w->key, w->pseudo)], &q, sizeof q))
			st = oom(d);
	}
	if ((st = agree(st, d)) || (st = alltoall(m, send, &recv, rc, d)))
		goto out;
	double t0 = now(), c0 = cpu();
	size_t nq = recv.n / sizeof(query);
	if (enrol) {
		size_t cap = 1024;
		while (cap < nq * 2)
			cap *= 2;
		m->dir = sb_calloc(cap, sizeof *m->dir);
		m->dir_mask = cap - 1;
		if (!m->dir) {
			st = oom(d);
			goto out;
		}
	}
	for (int k = 0; k < P; k++)
		send[k].n = 0;
	/* Rows arrive in rank order, each rank's in line order: the first
	 * query of a key to arrive is its first listing in the file. */
	for (size_t j = 0; (enrol || mode == REENROL) && j < nq; j++) {
		query q;
		memcpy(&q, recv.p + j * sizeof q, sizeof q);
		dir_slot *s = dir_find(m, q.key, q.pseudo);
		if (enrol && !s->pseudo) {
			*s = (dir_slot){ q.key, q.pseudo + 1, q.owner, 0, 0 };
		} else if (mode == REENROL && s->pseudo && s->n > 1) {
			s->owner = q.owner; /* the first valid listing of a key listed again */
			s->n = 1;
		}
		if (enrol)
			s->n++;
	}
	if (mode == REENROL) /* keys listed again with no valid listing: no person */
		for (size_t h = 0; m->dir && h <= m->dir_mask; h++)
			if (m->dir[h].pseudo && m->dir[h].n > 1)
				m->dir[h].owner = -1, m->dir[h].n = 1;
	size_t off = 0;
	for (int k = 0; k < P && !st; k++) {
		for (size_t j = 0; j < rc[k] / sizeof(query); j++) {
			query q;
			memcpy(&q, recv.p + off + j * sizeof q, sizeof q);
			const dir_slot *s = dir_find(m, q.key, q.pseudo);
			int32_t owner = s->pseudo ? s->owner : -1;
			if (enrol && s->n > 1)
				owner |= MULTI;
			if (!buf_put(&send[k], &owner, sizeof owner)) {
				st = oom(d);
				break;
			}
		}
		off += rc[k];
	}
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = alltoall(m, send, &back, rc, d)))
		goto out;
	/* The answers come back grouped by directory rank, each group in the
	 * order of the questions sent to it. */
	size_t *pos = sb_calloc((size_t)P, sizeof *pos);
	if (!pos) {
		st = oom(d);
		goto out;
	}
	size_t base = 0;
	for (int k = 0; k < P; k++) {
		pos[k] = base;
		base += rc[k];
	}
	for (size_t i = 0; i < x->nrows; i++) {
		row *w = &x->rows[i];
		if (!w->has_key || (mode == REENROL && !w->multi))
			continue;
		int k = dir_rank(m, w->key, w->pseudo);
		int32_t owner;
		memcpy(&owner, back.p + pos[k], sizeof owner);
		pos[k] += sizeof owner;
		if (owner >= 0 && (owner & MULTI)) {
			owner &= ~MULTI;
			w->multi = true;
		}
		w->dest = owner;
	}
	sb_free(pos);
out:
	for (int k = 0; send && k < P; k++)
		buf_free(&send[k]);
	sb_free(send);
	sb_free(rc);
	buf_free(&recv);
	buf_free(&back);
	return st;
}

/* ---- rows to their owners --------------------------------------------- */

/* Sends every row of x to its owner (its own rank when it has none: it is
 * rejected there as it would be anywhere), the rows' text and their global
 * lines in two exchanges, and writes the rows this rank owns, in global
 * line order, under the original header into an unlinked in-memory file
 * (memfd) that the batch reads as x->local. */
static sb_status exchange_rows(mpirun *m, input *x, sb_diag *d)
{
	int P = m->size;
	double t0 = now(), c0 = cpu();
	/* One buffer of text and one of lines, each rank's block after the
	 * other's: sizes first, then the rows copied once. */
	size_t *cnt = sb_calloc((size_t)P * 4, sizeof *cnt);
	size_t *rc = sb_calloc((size_t)P, sizeof *rc);
	buf text = { 0 }, ln = { 0 }, recv = { 0 }, lines = { 0 };
	sb_status st = cnt && rc ? SB_OK : oom(d);
	size_t *tc = cnt, *lc = cnt + P, *to = cnt + 2 * P, *lo = cnt + 3 * P;
	size_t ttot = 0, ltot = 0;
	for (size_t i = 0; !st && i < x->nrows; i++) {
		row *w = &x->rows[i];
		if (w->dest < 0)
			w->dest = m->rank;
		tc[w->dest] += w->len + (w->nl ? 0 : 1);
		lc[w->dest] += sizeof(uint64_t);
	}
	for (int k = 0; !st && k < P; k++) {
		to[k] = ttot;
		lo[k] = ltot;
		ttot += tc[k];
		ltot += lc[k];
	}
	if (!st && (!buf_reserve(&text, ttot + 1) || !buf_reserve(&ln, ltot + 1)))
		st = oom(d);
	for (size_t i = 0; !st && i < x->nrows; i++) {
		const row *w = &x->rows[i];
		char *t = text.p + to[w->dest];
		memcpy(t, x->map + w->off, w->len);
		if (!w->nl)
			t[w->len] = '\n';
		to[w->dest] += w->len + (w->nl ? 0 : 1);
		memcpy(ln.p + lo[w->dest], &w->line, sizeof w->line);
		lo[w->dest] += sizeof w->line;
	}
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = alltoall_flat(m, text.p, tc, &recv, rc, d)) ||
	    (st = alltoall_flat(m, ln.p, lc, &lines, rc, d)))
		goto out;
	buf_free(&text);
	buf_free(&ln);
	t0 = now();
	c0 = cpu();
	x->nlines = lines.n / sizeof(uint64_t);
	x->lines = (uint64_t *)(void *)lines.p; /* the buffer is the array */
	lines.p = NULL;
	int fd = memfd_create("sanbao-mpi-input", MFD_CLOEXEC);
	if (fd < 0) {
		st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "memfd_create: %s", strerror(errno));
		goto out;
	}
	x->memfd = fd;
	snprintf(x->local, sizeof x->local, "/proc/self/fd/%d", fd);
	/* The header as written (a byte-order mark included), then the rows. */
	struct iovec iov[3] = { { x->map, x->hstart }, { (void *)"\n", 0 }, { recv.p, recv.n } };
	if (x->hstart && x->map[x->hstart - 1] != '\n')
		iov[1].iov_len = 1;
	size_t total = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
	if (ftruncate(fd, (off_t)total))
		st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot size this rank's %s: %s",
				 base_name(x->path), strerror(errno));
	size_t done = 0;
	while (!st && done < total) {
		size_t skip = done;
		struct iovec v[3];
		int nv = 0;
		for (int i = 0; i < 3; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			v[nv].iov_base = (char *)iov[i].iov_base + skip;
			v[nv++].iov_len = iov[i].iov_len - skip;
			skip = 0;
		}
		ssize_t k = pwritev(fd, v, nv, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot write this rank's %s: %s",
					 base_name(x->path), strerror(errno));
		else
			done += (size_t)k;
	}
	m->t_inputs += now() - t0;
	m->c_inputs += cpu() - c0;
out:
	sb_free(cnt);
	sb_free(rc);
	buf_free(&text);
	buf_free(&ln);
	buf_free(&recv);
	buf_free(&lines);
	return st;
}

/* ---- duplicate claim ids across ranks ----------------------------------- */

typedef struct idhdr {
	uint64_t line;
	int32_t dest;
	uint32_t len;
} idhdr;

typedef struct id_slot {
	uint64_t hash, first;
	const char *id; /* NULL: empty */
	uint32_t len;
} id_slot;

static int cmp_dup(const void *a, const void *b)
{
	const sb_dup *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Every claim row with a readable id goes, as (line, owner, id), to the
 * rank of its id's hash; that rank finds each id's first line and tells the
 * owner of every later row that it is a duplicate. */
static sb_status find_dups(mpirun *m, sb_diag *d)
{
	input *x = &m->in[2];
	int P = m->size;
	double t0 = now(), c0 = cpu();
	buf *send = sb_calloc((size_t)P, sizeof *send);
	size_t *rc = sb_calloc((size_t)P, sizeof *rc);
	buf recv = { 0 }, back = { 0 };
	id_slot *tab = NULL;
	sb_status st = send && rc ? SB_OK : oom(d);
	for (size_t i = 0; !st && i < x->nrows; i++) {
		const row *w = &x->rows[i];
		if (!w->idlen)
			continue;
		const char *id = x->ids.p + w->idoff;
		idhdr h = { w->line, w->dest, w->idlen };
		size_t pad = (8 - (w->idlen & 7)) & 7;
		buf *s = &send[fnv(id, w->idlen) % (uint64_t)P];
		if (!buf_reserve(s, sizeof h + w->idlen + pad)) {
			st = oom(d);
			break;
		}
		memcpy(s->p + s->n, &h, sizeof h);
		memcpy(s->p + s->n + sizeof h, id, w->idlen);
		memset(s->p + s->n + sizeof h + w->idlen, 0, pad);
		s->n += sizeof h + w->idlen + pad;
	}
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = alltoall(m, send, &recv, rc, d)))
		goto out;
	t0 = now();
	c0 = cpu();
	size_t n = 0;
	for (size_t off = 0; off < recv.n; n++) {
		idhdr h;
		memcpy(&h, recv.p + off, sizeof h);
		off += sizeof h + h.len + ((8 - (h.len & 7)) & 7);
	}
	size_t cap = 1024;
	while (cap < n * 2)
		cap *= 2;
	if (!(tab = sb_calloc(cap, sizeof *tab))) {
		st = oom(d);
		goto out;
	}
	for (int k = 0; k < P; k++)
		send[k].n = 0;
	/* Rows arrive in rank order, each rank's in line order: the first
	 * row of an id to arrive is its first in the file. */
	for (size_t off = 0; off < recv.n && !st;) {
		idhdr h;
		memcpy(&h, recv.p + off, sizeof h);
		const char *id = recv.p + off + sizeof h;
		off += sizeof h + h.len + ((8 - (h.len & 7)) & 7);
		uint64_t hv = fnv(id, h.len);
		size_t slot = hv & (cap - 1);
		for (;; slot = (slot + 1) & (cap - 1)) {
			id_slot *s = &tab[slot];
			if (!s->id) {
				*s = (id_slot){ hv, h.line, id, h.len };
				break;
			}
			if (s->hash == hv && s->len == h.len && !memcmp(s->id, id, h.len)) {
				sb_dup du = { h.line, s->first };
				if (!buf_put(&send[h.dest], &du, sizeof du))
					st = oom(d);
				break;
			}
		}
	}
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = alltoall(m, send, &back, rc, d)))
		goto out;
	/* To local lines: the rows this rank owns are in global line order. */
	const input *c = &m->in[2];
	m->ndups = back.n / sizeof(sb_dup);
	if (m->ndups && !(m->dups = sb_malloc(m->ndups * sizeof *m->dups))) {
		st = oom(d);
		goto out;
	}
	for (size_t i = 0; i < m->ndups; i++) {
		sb_dup du;
		memcpy(&du, back.p + i * sizeof du, sizeof du);
		size_t lo = 0, hi = c->nlines;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (c->lines[mid] < du.line)
				lo = mid + 1;
			else
				hi = mid;
		}
		du.line = lo + 2;
		m->dups[i] = du;
	}
	if (m->ndups)
		qsort(m->dups, m->ndups, sizeof *m->dups, cmp_dup);
out:
	for (int k = 0; send && k < P; k++)
		buf_free(&send[k]);
	sb_free(send);
	sb_free(rc);
	sb_free(tab);
	buf_free(&recv);
	buf_free(&back);
	return st;
}

/* ---- the run's sums ------------------------------------------------------ */

/* The sums of summary.json as one vector of 64-bit numbers. */
typedef struct vec {
	int64_t *v;
	size_t n;
} vec;

static void put_sum(int64_t *v, size_t *k, const sb_region_sum *g, int nl, bool get)
{
	int64_t *f[6] = { (int64_t *)&g->claims, (int64_t *)&g->total, (int64_t *)&g->in_scope,
			  (int64_t *)&g->fund,   (int64_t *)&g->oop,   (int64_t *)&g->oop_in_scope };
	for (int i = 0; i < 6; i++, (*k)++)
		get ? (void)(*f[i] = v[*k]) : (void)(v[*k] = *f[i]);
	for (int l = 0; l < nl; l++) {
		sb_layer_sum *x = &g->layer[l];
		int64_t *h[3] = { (int64_t *)&x->claims, (int64_t *)&x->paid,
				  (int64_t *)&x->penalty };
		for (int i = 0; i < 3; i++, (*k)++)
			get ? (void)(*h[i] = v[*k]) : (void)(v[*k] = *h[i]);
	}
}

static size_t pack(int64_t *v, bool get, const sb_batch *b, sb_batch_counts *c, sb_pass1_result *p1,
		   sb_pass2_result *p2)
{
	size_t k = 0;
	long long *s[] = { &c->person_rows,
			   &c->enrolled,
			   &c->persons_rejected,
			   &c->identity_rows,
			   &c->identities_loaded,
			   &c->identities_rejected,
			   &p1->rows,
			   &p1->rejected,
			   &p1->rejected_unreadable,
			   &p2->rejected,
			   &p2->rejected_unreadable,
			   &p2->mon.warnings,
			   &p2->mon.approaching,
			   &p2->mon.unresolved };
	for (size_t i = 0; i < sizeof s / sizeof *s; i++, k++)
		if (v)
			get ? (void)(*s[i] = v[k]) : (void)(v[k] = *s[i]);
	sb_fen *f[] = { &p1->rejected_total, &p2->rejected_total };
	for (size_t i = 0; i < 2; i++, k++)
		if (v)
			get ? (void)(*f[i] = v[k]) : (void)(v[k] = *f[i]);
	if (v) {
		if (get) {
			p2->identities_ok = v[k] == 0;
			p2->explained = v[k + 1] != 0;
		} else {
			v[k] = !p2->identities_ok;
			v[k + 1] = p2->explained;
		}
	}
	k += 2;
	size_t ng = sb_policyset_count(b->set);
	size_t per = 6 + 3 * (size_t)b->nlayers;
	if (v) {
		put_sum(v, &k, &p2->all, b->nlayers, get);
		for (size_t g = 0; g < ng; g++)
			put_sum(v, &k, &p2->regions[g], b->nlayers, get);
	} else {
		k += per * (ng + 1);
	}
	return k;
}

static sb_status reduce(void *arg, const sb_batch *b, sb_batch_counts *c, sb_pass1_result *p1,
			sb_pass2_result *p2, const double stage[4], char *extra, size_t cap,
			sb_diag *d)
{
	mpirun *m = arg;
	double t0 = now(), c0 = cpu();
	m->local_settled = p2->all.claims;
	m->local_rejected = p1->rejected + p2->rejected;
	m->local_claims = p1->rows;
	size_t n = pack(NULL, false, b, c, p1, p2);
	int64_t *mine = sb_calloc(n, sizeof *mine);
	int64_t *all = sb_calloc(n * (size_t)m->size, sizeof *all);
	if (!mine || !all) {
		sb_free(mine);
		sb_free(all);
		MPI_Abort(MPI_COMM_WORLD, 1); /* the others wait in the gather */
		return oom(d);
	}
	pack(mine, false, b, c, p1, p2);
	MPI_Allgather(mine, (int)n, MPI_INT64_T, all, (int)n, MPI_INT64_T, MPI_COMM_WORLD);
	/* Summed in rank order, every sum checked (sb_fen_add): the same
	 * overflow rule as one process's. */
	bool over = false;
	for (size_t i = 0; i < n; i++) {
		int64_t s = 0;
		for (int r = 0; r < m->size; r++)
			over |= __builtin_add_overflow(s, all[(size_t)r * n + i], &s);
		mine[i] = s;
	}
	pack(mine, true, b, c, p1, p2);
	sb_free(mine);
	sb_free(all);
	/* Timings: the slowest rank's of each part, wall and CPU seconds. */
	double t[10] = { m->t_route,
			 m->t_exchange,
			 m->t_inputs,
			 stage[0] + stage[1] + stage[2] + stage[3],
			 0,
			 m->c_route,
			 m->c_exchange,
			 m->c_inputs,
			 cpu() - m->c_start - m->c_route - m->c_exchange - m->c_inputs,
			 0 },
	       mx[10];
	MPI_Allreduce(t, mx, 10, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	memcpy(m->slowest, mx, sizeof mx);
	m->t_reduce += now() - t0;
	m->c_reduce += cpu() - c0;
	snprintf(extra, cap,
		 "\"mpi\": {\"ranks\": %d, \"slowest_rank_seconds\": {\"read_and_route\": %.3f, "
		 "\"exchange\": %.3f, \"write_rank_inputs\": %.3f, \"settle\": %.3f}, "
		 "\"slowest_rank_cpu_seconds\": {\"read_and_route\": %.3f, \"exchange\": %.3f, "
		 "\"write_rank_inputs\": %.3f, \"settle\": %.3f}}",
		 m->size, mx[0], mx[1], mx[2], mx[3], mx[5], mx[6], mx[7], mx[8]);
	if (over)
		return sb_diag_set(d, SB_ELIMIT, NULL, 0, 0,
				   "the totals of the claims add up to more than a 64-bit sum of fen "
				   "holds");
	return SB_OK;
}

/* The monitor's counts (batch/dist.h): every rank's summed, in place. */
static sb_status sum_counts(void *arg, long long *v, size_t n, sb_diag *d)
{
	mpirun *m = arg;
	double t0 = now(), c0 = cpu();
	for (size_t off = 0; off < n;) {
		int k = n - off > (size_t)1 << 28 ? 1 << 28 : (int)(n - off);
		if (MPI_Allreduce(MPI_IN_PLACE, v + off, k, MPI_LONG_LONG, MPI_SUM,
				  MPI_COMM_WORLD) != MPI_SUCCESS)
			return d ? sb_diag_set(d, SB_EIO, NULL, 0, 0, "MPI_Allreduce failed") :
				   SB_EIO;
		off += (size_t)k;
	}
	m->t_reduce += now() - t0;
	m->c_reduce += cpu() - c0;
	return SB_OK;
}

/* The sorted union of every rank's years, at most cap of them. */
static sb_status union_years(void *arg, int *years, int *n, int cap, sb_diag *d)
{
	mpirun *m = arg;
	(void)d;
	int *all = sb_malloc((size_t)m->size * (size_t)(cap + 1) * sizeof *all);
	int *mine = sb_malloc((size_t)(cap + 1) * sizeof *mine);
	if (!all || !mine) {
		sb_free(all);
		sb_free(mine);
		MPI_Abort(MPI_COMM_WORLD, 1);
		return SB_ENOMEM;
	}
	mine[0] = *n;
	for (int i = 0; i < cap; i++)
		mine[i + 1] = i < *n ? years[i] : 0;
	MPI_Allgather(mine, cap + 1, MPI_INT, all, cap + 1, MPI_INT, MPI_COMM_WORLD);
	int k = 0;
	for (int r = 0; r < m->size; r++) {
		const int *v = all + (size_t)r * (size_t)(cap + 1);
		for (int i = 0; i < v[0]; i++) {
			int j = 0;
			while (j < k && years[j] != v[i + 1])
				j++;
			if (j == k && k < cap)
				years[k++] = v[i + 1];
		}
	}
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && years[j - 1] > years[j]; j--) {
			int t = years[j];
			years[j] = years[j - 1];
			years[j - 1] = t;
		}
	*n = k;
	sb_free(all);
	sb_free(mine);
	return SB_OK;
}

/* ---- rejects.csv and the rank files -------------------------------------- */

typedef struct rej {
	uint8_t file;
	uint64_t line;
	size_t off, len;
} rej;

static int cmp_rej(const void *a, const void *b)
{
	const rej *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* This rank's rejects.csv rows (the header dropped), gathered on rank 0. */
static sb_status gather_rejects(mpirun *m, buf *all, sb_diag *d)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/rejects.csv", m->rankdir);
	int fd = -1;
	buf mine = { 0 };
	sb_status st = sb_input_open(path, &fd, d);
	if (!st) {
		char tmp[65536];
		ssize_t k;
		while ((k = read(fd, tmp, sizeof tmp)) > 0)
			if (!buf_put(&mine, tmp, (size_t)k)) {
				st = oom(d);
				break;
			}
		if (k < 0 && !st)
			st = sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
		close(fd);
	}
	const char *nl = mine.n ? memchr(mine.p, '\n', mine.n) : NULL;
	size_t skip = nl ? (size_t)(nl - mine.p) + 1 : mine.n;
	if ((st = agree(st, d)))
		goto out;
	double t0 = now(), c0 = cpu();
	int len = mine.n - skip > INT_MAX ? INT_MAX : (int)(mine.n - skip);
	int *counts = sb_calloc((size_t)m->size * 2, sizeof *counts);
	if (!counts) {
		st = oom(d);
		goto out;
	}
	MPI_Gather(&len, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
	size_t tot = 0;
	for (int r = 0; m->rank == 0 && r < m->size; r++) {
		counts[m->size + r] = (int)tot;
		tot += (size_t)counts[r];
	}
	if (m->rank == 0 && (tot > INT_MAX || !buf_reserve(all, tot + 1))) {
		sb_free(counts);
		MPI_Abort(MPI_COMM_WORLD, 1);
		st = oom(d);
		goto out;
	}
	MPI_Gatherv(mine.p + skip, len, MPI_BYTE, m->rank == 0 ? all->p : NULL, counts,
		    counts + m->size, MPI_BYTE, 0, MPI_COMM_WORLD);
	if (m->rank == 0)
		all->n = tot;
	sb_free(counts);
	m->t_exchange += now() - t0;
	m->c_exchange += cpu() - c0;
out:
	buf_free(&mine);
	return st;
}

/* Rank 0: a file of its rank folder into the run's. */
static sb_status copy_rank_file(mpirun *m, sb_outdir *od, const char *name, sb_diag *d)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", m->rankdir, name);
	int fd = -1;
	sb_status st = sb_input_open(path, &fd, d);
	if (st)
		return st;
	FILE *f = sb_outdir_create(od, name, d);
	if (!f) {
		close(fd);
		return d->code;
	}
	char tmp[65536];
	ssize_t k;
	while (!st && (k = read(fd, tmp, sizeof tmp)) > 0)
		st = sb_outdir_write(od, f, tmp, (size_t)k, d);
	close(fd);
	if (!st)
		st = sb_outdir_finish(od, f, d);
	return st;
}

/* Rank 0: rejects.csv in (file, line) order, summary.json (rank 0's: every
 * rank's is the run's) and manifest.json, committed together. */
static sb_status write_root(mpirun *m, sb_outdir *od, buf *rejects, const sb_batch_totals *t,
			    const long long *settled, const long long *rows, sb_diag *d)
{
	const sb_batch_config *cfg = m->cfg;
	const char *files[3] = { base_name(cfg->persons_path),
				 cfg->identities_path ? base_name(cfg->identities_path) : "",
				 base_name(cfg->claims_path) };
	rej *v = NULL;
	size_t n = 0, cap = 0;
	sb_status st = SB_OK;
	FILE *f = NULL;
	/* Split the gathered text into rows (one line each: the writer
	 * quotes no line feed into a row) and read each one's file and line. */
	for (size_t off = 0; off < rejects->n;) {
		const char *e = memchr(rejects->p + off, '\n', rejects->n - off);
		size_t end = e ? (size_t)(e - rejects->p) + 1 : rejects->n;
		const char *p = rejects->p + off;
		size_t len = end - off;
		/* file,line,...: the file name may be quoted */
		size_t i = 0;
		char name[PATH_MAX];
		size_t nn = 0;
		if (len && p[0] == '"') {
			for (i = 1; i < len; i++) {
				if (p[i] == '"' && i + 1 < len && p[i + 1] == '"') {
					if (nn < sizeof name - 1)
						name[nn++] = '"';
					i++;
				} else if (p[i] == '"') {
					i++;
					break;
				} else if (nn < sizeof name - 1) {
					name[nn++] = p[i];
				}
			}
		} else {
			for (; i < len && p[i] != ','; i++)
				if (nn < sizeof name - 1)
					name[nn++] = p[i];
		}
		name[nn] = '\0';
		uint64_t line = 0;
		for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			line = line * 10 + (uint64_t)(p[i] - '0');
		uint8_t file = 2;
		for (uint8_t k = 0; k < 3; k++)
			if (!strcmp(name, files[k])) {
				file = k;
				break;
			}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			rej *nv = sb_realloc(v, cap * sizeof *nv);
			if (!nv) {
				sb_free(v);
				return oom(d);
			}
			v = nv;
		}
		v[n++] = (rej){ file, line, off, len };
		off = end;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_rej);
	if (!(f = sb_outdir_create(od, "rejects.csv", d))) {
		sb_free(v);
		return d->code;
	}
	static const char head[] = "file,line,id,reason\n";
	st = sb_outdir_write(od, f, head, sizeof head - 1, d);
	for (size_t i = 0; !st && i < n; i++)
		st = sb_outdir_write(od, f, rejects->p + v[i].off, v[i].len, d);
	sb_free(v);
	if (!st)
		st = sb_outdir_finish(od, f, d);
	if (st)
		return st;
	/* manifest.json: the rank files, in rank order. */
	if (!(f = sb_outdir_create(od, "manifest.json", d)))
		return d->code;
	fprintf(f, "{\n  \"kind\": \"sanbao settle --mpi\",\n  \"ranks\": %d,\n", m->size);
	fputs("  \"layout\": \"one file per rank: OUT/rank-NNNN/<file>; concatenated in rank order "
	      "(each file's header once) and sorted, they equal one process's file sorted\",\n",
	      f);
	fputs("  \"merged_by_rank_0\": [\"rejects.csv\", \"summary.json\", \"manifest.json\"],\n",
	      f);
	fputs("  \"per_rank\": [\"settlements.csv\"", f);
	if (cfg->monitor)
		fputs(", \"warnings.csv\", \"approaching.csv\"", f);
	fputs("],\n  \"rank_files\": [", f);
	for (int r = 0; r < m->size; r++)
		fprintf(f,
			"%s\n    {\"rank\": %d, \"dir\": \"rank-%04d\", \"claim_rows\": %lld, "
			"\"settled\": %lld}",
			r ? "," : "", r, r, rows[r], settled[r]);
	fprintf(f,
		"\n  ],\n  \"claims\": {\"rows\": %lld, \"settled\": %lld, \"rejected\": %lld}\n}\n",
		t->claim_rows, t->settled, t->rejected);
	if ((st = sb_outdir_finish(od, f, d)))
		return st;
	/* monitor.json, then summary.json last: the mark of a complete run.
	 * Rank 0's are the run's (its sums were reduced). */
	if (cfg->monitor && (st = copy_rank_file(m, od, "monitor.json", d)))
		return st;
	if ((st = copy_rank_file(m, od, "summary.json", d)))
		return st;
	static const char *const stale[] = { "settlements.csv", "warnings.csv", "approaching.csv",
					     "monitor.json", NULL };
	static const char *const stale_mon[] = { "settlements.csv", "warnings.csv",
						 "approaching.csv", NULL };
	return sb_outdir_commit(od, cfg->monitor ? stale_mon : stale, d);
}

static void free_input(input *x)
{
	if (x->map)
		munmap(x->map, x->size);
	if (x->fd >= 0)
		close(x->fd);
	if (x->memfd >= 0)
		close(x->memfd);
	sb_free(x->rows);
	sb_free(x->lines);
	buf_free(&x->ids);
}

sb_status sb_mpi_batch_settle(const sb_batch_config *cfg, sb_batch_totals *t, sb_diag *d)
{
	memset(t, 0, sizeof *t);
	if (cfg->monitor_only || cfg->nscenario_dirs || cfg->audit || cfg->compare)
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0,
				   "--mpi runs `sanbao settle` (with --monitor or not); monitor, "
				   "compare and audit are not reduced across ranks yet: run them "
				   "without --mpi (docs/cluster.md)");
	int provided;
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
		return sb_diag_set(d, SB_EIO, NULL, 0, 0, "MPI_Init failed");
	double start = now(), cstart = cpu();
	mpirun *m = sb_calloc(1, sizeof *m);
	if (!m) {
		MPI_Abort(MPI_COMM_WORLD, 1);
		return oom(d);
	}
	m->cfg = cfg;
	m->c_start = cstart;
	MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &m->size);
	g_rank = m->rank;
	for (int k = 0; k < 3; k++) {
		m->in[k].fd = m->in[k].memfd = -1;
		m->in[k].which = k;
	}
	m->in[0].path = cfg->persons_path;
	m->in[1].path = cfg->identities_path;
	m->in[2].path = cfg->claims_path;
	sb_outdir *od = NULL;
	buf rejects = { 0 };
	long long *settled = NULL, *rows = NULL;
	sb_status st = SB_OK;
	/* Rank 0 holds the output folder's lock for the whole run. */
	if (m->rank == 0)
		st = sb_outdir_open(cfg->out_dir, &od, d);
	if ((st = agree(st, d)))
		goto done;
	snprintf(m->rankdir, sizeof m->rankdir, "%s/rank-%04d", cfg->out_dir, m->rank);
	if ((st = sb_policyset_new(&m->set)))
		st = oom(d);
	if (!st && cfg->policy_root)
		st = sb_policyset_set_root(m->set, cfg->policy_root, d);
	if (!st)
		st = sb_policyset_load_dir(m->set, cfg->policies_dir, d);
	for (int k = 0; k < 3 && !st; k++)
		if (m->in[k].path)
			st = map_input(m, &m->in[k], d);
	if ((st = agree(st, d)))
		goto done;
	/* Inputs on node-local disks must be the same file on every node. */
	for (int k = 0; k < 3; k++) {
		if (!m->in[k].path)
			continue;
		long long sz[2] = { (long long)m->in[k].size, -(long long)m->in[k].size }, mx[2];
		MPI_Allreduce(sz, mx, 2, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
		if (mx[0] != -mx[1] && !st)
			st = sb_diag_set(
				d, SB_EINPUT, m->in[k].path, 0, 0,
				"the ranks see files of different sizes (%lld to %lld bytes) "
				"under this name: every node needs the same inputs "
				"(docs/cluster.md)",
				-mx[1], mx[0]);
	}
	if (st)
		goto done; /* every rank has the same sizes: every rank stops */
	/* A run that fails from here on leaves no marker of a complete run. */
	if (m->rank == 0) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/summary.json", cfg->out_dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/manifest.json", cfg->out_dir);
		unlink(path);
	}
	/* persons: to the directory, then to the household's rank */
	double t0 = now(), c0 = cpu();
	int pcol[SB_PCOL_N];
	st = read_persons(m, &m->in[0], pcol, d);
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = route(m, &m->in[0], ENROL, d)) ||
	    (st = validate_multi(m, &m->in[0], pcol, d)) ||
	    (st = route(m, &m->in[0], REENROL, d)) || (st = exchange_rows(m, &m->in[0], d)))
		goto done;
	if (m->in[1].path) {
		t0 = now();
		c0 = cpu();
		st = read_share(m, &m->in[1], sb_identities_columns, SB_ICOL_N, "identities.csv",
				each_identity, d);
		m->t_route += now() - t0;
		m->c_route += cpu() - c0;
		if ((st = agree(st, d)) || (st = route(m, &m->in[1], LOOKUP, d)) ||
		    (st = exchange_rows(m, &m->in[1], d)))
			goto done;
	}
	t0 = now();
	c0 = cpu();
	st = read_claims(m, &m->in[2], d);
	m->t_route += now() - t0;
	m->c_route += cpu() - c0;
	if ((st = agree(st, d)) || (st = route(m, &m->in[2], LOOKUP, d)) ||
	    (st = exchange_rows(m, &m->in[2], d)) || (st = find_dups(m, d)))
		goto done;
	for (int k = 0; k < 3; k++) {
		input *x = &m->in[k];
		sb_free(x->rows);
		x->rows = NULL;
		buf_free(&x->ids);
		if (x->map)
			munmap(x->map, x->size);
		x->map = NULL;
	}
	sb_free(m->dir);
	m->dir = NULL;

	/* Each rank settles its households with the ordinary batch. */
	sb_batch_dist dist = {
		.persons_path = cfg->persons_path,
		.identities_path = cfg->identities_path,
		.claims_path = cfg->claims_path,
		.lines = { m->in[0].lines, m->in[1].lines, m->in[2].lines },
		.nlines = { m->in[0].nlines, m->in[1].nlines, m->in[2].nlines },
		.dups = m->dups,
		.ndups = m->ndups,
		.reduce = reduce,
		.sum = sum_counts,
		.years = union_years,
		.arg = m,
	};
	sb_batch_config lc = *cfg;
	lc.persons_path = m->in[0].local;
	lc.identities_path = cfg->identities_path ? m->in[1].local : NULL;
	lc.claims_path = m->in[2].local;
	lc.out_dir = m->rankdir;
	lc.threads = cfg->threads > 0 ? cfg->threads : 1;
	if (m->rank)
		lc.progress = NULL;
	lc.dist = &dist;
	st = sb_batch_settle(&lc, t, d);
	if (st) {
		/* The other ranks may wait for this one in the reduction. */
		char msg[1400];
		fprintf(stderr, "sanbao settle: rank %d: %s\n", m->rank,
			sb_diag_format(d, msg, sizeof msg));
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (int k = 0; k < 3; k++) {
		if (m->in[k].memfd >= 0)
			close(m->in[k].memfd);
		m->in[k].memfd = -1;
	}
	if ((st = gather_rejects(m, &rejects, d)))
		goto done;
	settled = sb_calloc((size_t)m->size, sizeof *settled);
	rows = sb_calloc((size_t)m->size, sizeof *rows);
	if (!settled || !rows) {
		MPI_Abort(MPI_COMM_WORLD, 1);
		st = oom(d);
		goto done;
	}
	MPI_Gather(&m->local_settled, 1, MPI_LONG_LONG, settled, 1, MPI_LONG_LONG, 0,
		   MPI_COMM_WORLD);
	MPI_Gather(&m->local_claims, 1, MPI_LONG_LONG, rows, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
	if (m->rank == 0)
		st = write_root(m, od, &rejects, t, settled, rows, d);
	if ((st = agree(st, d)))
		goto done;
	t->seconds = now() - start;
	if (m->rank == 0 && cfg->progress) /* not --quiet */
		printf("sanbao settle --mpi: %d ranks (%d threads each); slowest rank: read and route "
		       "%.3f s, exchange %.3f s, rank inputs %.3f s, settle %.3f s; "
		       "settlements in %s/rank-*/settlements.csv (manifest.json)\n",
		       m->size, lc.threads, m->slowest[0], m->slowest[1], m->slowest[2],
		       m->slowest[3], cfg->out_dir);
done:
	sb_outdir_close(od);
	buf_free(&rejects);
	sb_free(settled);
	sb_free(rows);
	for (int k = 0; k < 3; k++)
		free_input(&m->in[k]);
	sb_free(m->dir);
	sb_free(m->dups);
	sb_policyset_free(m->set);
	sb_free(m);
	MPI_Finalize();
	return st;
}

#endif
