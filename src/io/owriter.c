/* owriter.c: an output file's pieces written in order by a thread of
 * their own, with O_DIRECT from aligned blocks where the file system
 * allows it (io/owriter.h). */
#define _GNU_SOURCE /* O_DIRECT */
#include "io/owriter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"

/* O_DIRECT wants the buffer, the offset and the length aligned to the
 * device's logical block: 4 KiB covers every device in use. */
#define BLOCK ((size_t)4096)
#define STAGE ((size_t)8 << 20)

typedef struct job {
	const char *p;
	size_t n;
	void *piece;
} job;

struct sb_owriter {
	int fd;            /* the stream's own descriptor (borrowed) */
	int dfd;           /* the same file opened with O_DIRECT, or -1 */
	const char *path;  /* the final path, for errors */
	long long off;     /* direct: file offset of stage[0]; else of the next byte */
	char *stage;       /* direct: the block being filled */
	size_t nstage;
	sb_owriter_done_fn done;
	void *ctx;
	pthread_t tid;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t can_put, can_take;
	job *q;
	int cap, head, count;
	sb_status st;      /* the first error (under lock) */
	sb_diag d;
	/* the writer thread's own */
	sb_status wst;
	sb_diag wd;
};

static sb_status write_error(sb_owriter *w, int err)
{
	w->wst = sb_diag_set(&w->wd, SB_EIO, w->path, 0, 0, "cannot write: %s",
			     strerror(err ? err : EIO));
	return w->wst;
}

/* n bytes at file offset off, through fd. */
static int pwrite_all(int fd, const char *p, size_t n, long long off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (!k)
			return ENOSPC;
		p += k;
		off += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Aligned bytes from the stage: with O_DIRECT, or through the page cache
 * when the file system turns the direct write down (EINVAL). */
static sb_status write_block(sb_owriter *w, const char *p, size_t n, long long off)
{
	int err;
	if (w->dfd >= 0) {
		err = pwrite_all(w->dfd, p, n, off);
		if (err != EINVAL)
			return err ? write_error(w, err) : SB_OK;
		close(w->dfd);
		w->dfd = -1;
	}
	err = pwrite_all(w->fd, p, n, off);
	return err ? write_error(w, err) : SB_OK;
}

static sb_status write_piece(sb_owriter *w, const char *p, size_t n)
{
	if (!w->stage) {
		int err = pwrite_all(w->fd, p, n, w->off);
		if (err)
			return write_error(w, err);
		w->off += (long long)n;
		return SB_OK;
	}
	while (n) {
		size_t k = STAGE - w->nstage < n ? STAGE - w->nstage : n;
		memcpy(w->stage + w->nstage, p, k);
		w->nstage += k;
		p += k;
		n -= k;
		if (w->nstage == STAGE) {
			sb_status st = write_block(w, w->stage, STAGE, w->off);
			if (st)
				return st;
			w->off += (long long)STAGE;
			w->nstage = 0;
		}
	}
	return SB_OK;
}

static void *run(void *arg)
{
	sb_owriter *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->count && !w->stop)
			pthread_cond_wait(&w->can_take, &w->lock);
		if (!w->count)
			break;
		job j = w->q[w->head];
		bool failed = w->st != SB_OK;
		pthread_mutex_unlock(&w->lock);
		if (!failed)
			(void)write_piece(w, j.p, j.n);
		w->done(w->ctx, j.piece);
		pthread_mutex_lock(&w->lock);
		w->head = (w->head + 1) % w->cap;
		w->count--;
		if (w->wst && !w->st) {
			w->st = w->wst;
			w->d = w->wd;
		}
		pthread_cond_broadcast(&w->can_put);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static bool direct_allowed(void)
{
	const char *e = getenv("SANBAO_DIRECT_IO");
	return !(e && !strcmp(e, "0"));
}

sb_status sb_owriter_new(sb_outdir *od, FILE *f, bool direct, int queued,
			 sb_owriter_done_fn done, void *ctx, sb_owriter **out, sb_diag *d)
{
	*out = NULL;
	int fd;
	const char *tmp;
	const char *path;
	long long written;
	sb_status st = sb_outdir_take(od, f, &fd, &tmp, &path, &written, d);
	if (st)
		return st;
	sb_owriter *w = sb_calloc(1, sizeof *w);
	if (!w)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	w->fd = fd;
	w->dfd = -1;
	w->path = path;
	w->off = written;
	w->done = done;
	w->ctx = ctx;
	w->cap = queued > 0 ? queued : 1;
	if (!(w->q = sb_calloc((size_t)w->cap, sizeof *w->q))) {
		sb_free(w);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	}
	if (direct && direct_allowed()) {
		w->dfd = open(tmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
		void *stage = NULL;
		if (w->dfd >= 0 && posix_memalign(&stage, BLOCK, STAGE)) {
			close(w->dfd);
			w->dfd = -1;
		}
		w->stage = stage;
	}
	if (w->stage) {
		/* The stage starts at the block that holds the next byte: the
		 * bytes of that block already written (a header) are read back
		 * into it, to be written again with the rest of the block. */
		long long at = written & ~(long long)(BLOCK - 1);
		w->nstage = (size_t)(written - at);
		w->off = at;
		int rfd = w->nstage ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
		ssize_t got = rfd >= 0 ? pread(rfd, w->stage, w->nstage, (off_t)at) : 0;
		if (rfd >= 0)
			close(rfd);
		if (got != (ssize_t)w->nstage) {
			/* Cannot read the file back: write as it is, no O_DIRECT. */
			free(w->stage);
			w->stage = NULL;
			close(w->dfd);
			w->dfd = -1;
			w->off = written;
			w->nstage = 0;
		}
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->can_put, NULL);
	pthread_cond_init(&w->can_take, NULL);
	if (pthread_create(&w->tid, NULL, run, w)) {
		sb_owriter_free(w);
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "cannot start a thread");
	}
	w->started = true;
	*out = w;
	return SB_OK;
}

sb_status sb_owriter_put(sb_owriter *w, const void *p, size_t n, void *piece, sb_diag *d)
{
	pthread_mutex_lock(&w->lock);
	while (w->count == w->cap && !w->st)
		pthread_cond_wait(&w->can_put, &w->lock);
	sb_status st = w->st;
	if (st) {
		*d = w->d;
	} else {
		w->q[(w->head + w->count) % w->cap] = (job){p, n, piece};
		w->count++;
		pthread_cond_signal(&w->can_take);
	}
	pthread_mutex_unlock(&w->lock);
	if (st)
		w->done(w->ctx, piece);
	return st;
}

static void stop(sb_owriter *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->can_take);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->tid, NULL);
	w->started = false;
}

sb_status sb_owriter_finish(sb_owriter *w, sb_diag *d)
{
	stop(w);
	sb_status st = w->st;
	if (st)
		*d = w->d;
	if (!st && w->stage && w->nstage) {
		/* The whole blocks of what is left, then its last bytes through
		 * the page cache (a direct write is whole blocks). */
		size_t whole = w->nstage & ~(BLOCK - 1);
		if (whole)
			st = write_block(w, w->stage, whole, w->off);
		int err = 0;
		if (!st && (err = pwrite_all(w->fd, w->stage + whole, w->nstage - whole,
					     w->off + (long long)whole)))
			st = write_error(w, err);
		if (st)
			*d = w->wd;
	}
	w->nstage = 0;
	sb_owriter_free(w);
	return st;
}

void sb_owriter_free(sb_owriter *w)
{
	if (!w)
		return;
	if (w->started) {
		/* Pieces still queued go back unwritten. */
		pthread_mutex_lock(&w->lock);
		if (!w->st)
			w->st = SB_EIO;
		pthread_mutex_unlock(&w->lock);
		stop(w);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->can_put);
	pthread_cond_destroy(&w->can_take);
	if (w->dfd >= 0)
		close(w->dfd);
	free(w->stage);
	sb_free(w->q);
	sb_free(w);
}

bool sb_owriter_direct(const sb_owriter *w)
{
	return w->dfd >= 0;
}
