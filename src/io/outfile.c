/* outfile.c: output files under temporary names, renamed when the run is
 * complete; the output folder's lock; inputs that would be overwritten. */
#include "io/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"

#define TMP_PREFIX ".sanbao-tmp-"
#define LOCK_NAME ".sanbao.lock"

struct sb_outfile {
	FILE *f;
	bool finished;
	char tmp[PATH_MAX];
	char path[PATH_MAX];
};

static atomic_uint tmp_counter;

static sb_status write_error(const char *path, int err, sb_diag *d)
{
	return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot write: %s", strerror(err ? err : EIO));
}

sb_status sb_outfile_open(const char *dir, const char *name, sb_outfile **out, sb_diag *d)
{
	*out = NULL;
	sb_outfile *f = sb_calloc(1, sizeof *f);
	if (!f)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (snprintf(f->path, sizeof f->path, "%s/%s", dir, name) >= (int)sizeof f->path) {
		sb_free(f);
		return sb_diag_set(d, SB_EIO, dir, 0, 0, "the output path is too long");
	}
	int fd = -1;
	for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
		unsigned n = atomic_fetch_add(&tmp_counter, 1);
		if (snprintf(f->tmp, sizeof f->tmp, "%s/" TMP_PREFIX "%ld-%u-%s", dir, (long)getpid(), n,
			     name) >= (int)sizeof f->tmp) {
			sb_free(f);
			return sb_diag_set(d, SB_EIO, dir, 0, 0, "the output path is too long");
		}
		fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		sb_status st = sb_diag_set(d, SB_EIO, f->path, 0, 0, "cannot create: %s",
					   strerror(errno));
		sb_free(f);
		return st;
	}
	if (!(f->f = fdopen(fd, "wb"))) {
		int err = errno;
		close(fd);
		unlink(f->tmp);
		sb_free(f);
		return sb_diag_set(d, err == ENOMEM ? SB_ENOMEM : SB_EIO, NULL, 0, 0,
				   "cannot create an output stream: %s", strerror(err));
	}
	*out = f;
	return SB_OK;
}

FILE *sb_outfile_stream(const sb_outfile *f)
{
	return f->finished ? NULL : f->f;
}

const char *sb_outfile_path(const sb_outfile *f)
{
	return f->path;
}

sb_status sb_outfile_write(sb_outfile *f, const void *p, size_t n, sb_diag *d)
{
	if (f->finished)
		return sb_diag_set(d, SB_EIO, f->path, 0, 0, "cannot write: the file is closed");
	errno = 0;
	if (n && fwrite(p, 1, n, f->f) != n)
		return write_error(f->path, errno, d);
	return SB_OK;
}

sb_status sb_outfile_finish(sb_outfile *f, sb_diag *d)
{
	if (f->finished)
		return SB_OK;
	f->finished = true;
	int err = 0;
	errno = 0;
	if (fflush(f->f))
		err = errno ? errno : EIO;
	else if (ferror(f->f))
		err = EIO;
	else if (fsync(fileno(f->f)) && errno != EINVAL && errno != EROFS)
		err = errno;
	errno = 0;
	if (fclose(f->f) && !err)
		err = errno ? errno : EIO;
	f->f = NULL;
	return err ? write_error(f->path, err, d) : SB_OK;
}

sb_status sb_outfile_commit(sb_outfile *f, sb_diag *d)
{
	sb_status st = sb_outfile_finish(f, d);
	if (!st && rename(f->tmp, f->path))
		st = sb_diag_set(d, SB_EIO, f->path, 0, 0, "cannot rename the finished file onto its "
				 "name: %s", strerror(errno));
	if (st)
		unlink(f->tmp);
	sb_free(f);
	return st;
}

void sb_outfile_abort(sb_outfile *f)
{
	if (!f)
		return;
	if (f->f)
		fclose(f->f);
	unlink(f->tmp);
	sb_free(f);
}

/* ---- the folder ---------------------------------------------------------- */

struct sb_outdir {
	char dir[PATH_MAX];
	int lock_fd;
	int n;
	sb_outfile *files[SB_OUTDIR_MAX_FILES];
	bool committed;
};

/* Creates dir and its missing parents; 0 or -1 with errno. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	struct stat s;
	if (stat(path, &s))
		return -1;
	if (!S_ISDIR(s.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* Under the lock, a temporary file in the folder is a killed run's. */
static void sweep(const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	struct dirent *e;
	char path[PATH_MAX];
	while ((e = readdir(dh)))
		if (!strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) &&
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
			unlink(path);
	closedir(dh);
}

sb_status sb_outdir_open(const char *dir, sb_outdir **out, sb_diag *d)
{
	*out = NULL;
	if (mkdir_p(dir))
		return sb_diag_set(d, SB_EIO, dir, 0, 0, "cannot create the output folder: %s",
				   strerror(errno));
	sb_outdir *od = sb_calloc(1, sizeof *od);
	if (!od)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	snprintf(od->dir, sizeof od->dir, "%s", dir);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/" LOCK_NAME, dir);
	od->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (od->lock_fd < 0) {
		sb_status st = sb_diag_set(d, SB_EIO, path, 0, 0,
					   "cannot create the output folder's lock file: %s",
					   strerror(errno));
		sb_free(od);
		return st;
	}
	if (flock(od->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = errno;
		close(od->lock_fd);
		sb_free(od);
		if (err == EWOULDBLOCK)
			return sb_diag_set(d, SB_EIO, NULL, 0, 0,
					   "another sanbao run is writing to %s: wait for it to "
					   "finish, or choose another --out", dir);
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot lock the output folder: %s",
				   strerror(err));
	}
	sweep(dir);
	*out = od;
	return SB_OK;
}

const char *sb_outdir_path(const sb_outdir *od)
{
	return od->dir;
}

FILE *sb_outdir_create(sb_outdir *od, const char *name, sb_diag *d)
{
	if (od->n == SB_OUTDIR_MAX_FILES) {
		sb_diag_set(d, SB_ELIMIT, NULL, 0, 0, "more than %d output files in one run",
			    SB_OUTDIR_MAX_FILES);
		return NULL;
	}
	sb_outfile *f;
	if (sb_outfile_open(od->dir, name, &f, d))
		return NULL;
	od->files[od->n++] = f;
	return f->f;
}

static sb_outfile *find(sb_outdir *od, FILE *f)
{
	for (int i = 0; i < od->n; i++)
		if (od->files[i] && od->files[i]->f == f && !od->files[i]->finished)
			return od->files[i];
	return NULL;
}

sb_status sb_outdir_write(sb_outdir *od, FILE *f, const void *p, size_t n, sb_diag *d)
{
	sb_outfile *o = find(od, f);
	if (!o)
		return sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot write: not an open output file");
	return sb_outfile_write(o, p, n, d);
}

sb_status sb_outdir_take(sb_outdir *od, FILE *f, int *fd, const char **tmp, const char **path,
			 long long *written, sb_diag *d)
{
	sb_outfile *o = find(od, f);
	if (!o)
		return sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot write: not an open output file");
	errno = 0;
	if (fflush(o->f) || ferror(o->f))
		return write_error(o->path, errno, d);
	off_t at = lseek(fileno(o->f), 0, SEEK_CUR);
	if (at < 0)
		return write_error(o->path, errno, d);
	*fd = fileno(o->f);
	*tmp = o->tmp;
	*path = o->path;
	*written = (long long)at;
	return SB_OK;
}

sb_status sb_outdir_finish(sb_outdir *od, FILE *f, sb_diag *d)
{
	if (!f)
		return SB_OK;
	sb_outfile *o = find(od, f);
	if (!o)
		return sb_diag_set(d, SB_EIO, NULL, 0, 0, "cannot close: not an open output file");
	return sb_outfile_finish(o, d);
}

static bool written(const sb_outdir *od, const char *name)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof path, "%s/%s", od->dir, name);
	for (int i = 0; i < od->n; i++)
		if (od->files[i] && !strcmp(od->files[i]->path, path))
			return true;
	return false;
}

static sb_status remove_name(const sb_outdir *od, const char *name, sb_diag *d)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof path, "%s/%s", od->dir, name);
	if (unlink(path) && errno != ENOENT)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot remove the old output: %s",
				   strerror(errno));
	return SB_OK;
}

sb_status sb_outdir_commit(sb_outdir *od, const char *const *stale, sb_diag *d)
{
	sb_status st = SB_OK;
	for (int i = 0; i < od->n && !st; i++)
		st = sb_outfile_finish(od->files[i], d);
	if (st || !od->n)
		return st;
	sb_outfile *marker = od->files[od->n - 1];
	/* Without its marker a folder holds no complete run: take the old
	 * one away before anything it describes changes. */
	if (unlink(marker->path) && errno != ENOENT)
		return sb_diag_set(d, SB_EIO, marker->path, 0, 0, "cannot remove the old output: %s",
				   strerror(errno));
	for (int i = 0; i < od->n - 1 && !st; i++) {
		st = sb_outfile_commit(od->files[i], d);
		od->files[i] = NULL;
	}
	for (int i = 0; !st && stale && stale[i]; i++)
		if (!written(od, stale[i]))
			st = remove_name(od, stale[i], d);
	if (!st) {
		st = sb_outfile_commit(marker, d);
		od->files[od->n - 1] = NULL;
	}
	if (!st) {
		int fd = open(od->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			if (fsync(fd) && errno != EINVAL && errno != EROFS)
				st = sb_diag_set(d, SB_EIO, od->dir, 0, 0, "cannot sync the output folder: %s",
						 strerror(errno));
			close(fd);
		}
	}
	od->committed = !st;
	return st;
}

void sb_outdir_close(sb_outdir *od)
{
	if (!od)
		return;
	for (int i = 0; i < od->n; i++)
		sb_outfile_abort(od->files[i]);
	if (od->lock_fd >= 0)
		close(od->lock_fd);
	sb_free(od);
}

/* ---- inputs that are outputs ---------------------------------------------- */

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The output among names that is the file s, or NULL. */
static const char *clash(const char *dir, const char *const *names, const struct stat *s)
{
	char path[PATH_MAX + 256];
	struct stat o;
	for (int i = 0; names && names[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!stat(path, &o) && same(&o, s))
			return names[i];
	}
	return NULL;
}

static sb_status refuse(const char *dir, const char *const *writes, const char *const *removes,
			const char *what, const char *path, const struct stat *s, sb_diag *d)
{
	const char *w = clash(dir, writes, s), *r = w ? NULL : clash(dir, removes, s);
	if (!w && !r)
		return SB_OK;
	return sb_diag_set(d, SB_EINPUT, path, 0, 0,
			   "%s is the same file as %s/%s, which this run would %s: choose another "
			   "--out, or move the input", what, dir, w ? w : r,
			   w ? "overwrite" : "remove");
}

sb_status sb_out_refuse_input(const char *dir, const char *const *writes,
			      const char *const *removes, const char *what, const char *path,
			      sb_diag *d)
{
	struct stat s;
	if (!path || stat(path, &s))
		return SB_OK;
	if (!S_ISDIR(s.st_mode))
		return refuse(dir, writes, removes, what, path, &s, d);
	DIR *dh = opendir(path);
	if (!dh)
		return SB_OK;
	struct dirent *e;
	char file[PATH_MAX + 256];
	sb_status st = SB_OK;
	while (!st && (e = readdir(dh))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue; /* what sb_policyset_load_dir reads */
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		if (!stat(file, &s) && S_ISREG(s.st_mode))
			st = refuse(dir, writes, removes, what, file, &s, d);
	}
	closedir(dh);
	return st;
}
