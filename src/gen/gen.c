/* gen.c: sb_gen_run: checks the config, copies the demo policies, counts
 * households in a cheap pre-pass, then makes blocks of households on worker
 * threads and writes each block in a fixed order, so the files are the same
 * bytes for any thread count. The model itself is in gen_model.c.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "gen/gen_int.h"
#include "sanbao/gen.h"

/* Households per block. A block's claims are written in date order, so
 * the whole file is date-ordered up to this many households (about 1.4
 * million persons) and a person's claims are spread across the block's
 * part of the file. It also bounds memory (some 450 MB in all). Part of
 * the output's definition: changing it changes the bytes. */
#define BLOCK_HOUSEHOLDS ((uint64_t)1 << 19)

void sb_gen_config_init(sb_gen_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->year = 2024;
	cfg->threads = 2;
	cfg->anomalies_bp = -1;
}

/* ---- folders and policy files ----------------------------------------- */

static sb_status path_join(char *out, size_t n, const char *dir,
			   const char *name, sb_diag *d)
{
	int len = snprintf(out, n, "%s/%s", dir, name);

	if (len < 0 || (size_t)len >= n)
		return sb_diag_set(d, SB_ELIMIT, dir, 0, 0,
				   "path to \"%s\" is longer than %zu bytes",
				   name, n - 1);
	return SB_OK;
}

/* mkdir -p: an existing folder is fine, an existing file is not. */
static sb_status make_dirs(const char *path, sb_diag *d)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0 || n >= sizeof buf)
		return sb_diag_set(d, SB_EINPUT, path, 0, 0,
				   "output folder name is empty or too long");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;

		char c = buf[i];

		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return sb_diag_set(d, SB_EIO, buf, 0, 0,
					   "cannot create folder: %s",
					   strerror(errno));
		buf[i] = c;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return sb_diag_set(d, SB_EIO, path, 0, 0, "is not a folder");
	return SB_OK;
}

static sb_status copy_file(const char *from, const char *to, sb_diag *d)
{
	char buf[1 << 16];
	FILE *in = fopen(from, "rb");
	FILE *out;
	size_t n;
	sb_status st = SB_OK;

	if (!in)
		return sb_diag_set(d, SB_EIO, from, 0, 0, "cannot read: %s",
				   strerror(errno));
	out = fopen(to, "wb");
	if (!out) {
		st = sb_diag_set(d, SB_EIO, to, 0, 0, "cannot write: %s",
				 strerror(errno));
		fclose(in);
		return st;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			st = sb_diag_set(d, SB_EIO, to, 0, 0, "cannot write: %s",
					 strerror(errno));
			break;
		}
	}
	if (st == SB_OK && ferror(in))
		st = sb_diag_set(d, SB_EIO, from, 0, 0, "cannot read");
	fclose(in);
	if (fclose(out) != 0 && st == SB_OK)
		st = sb_diag_set(d, SB_EIO, to, 0, 0, "cannot write: %s",
				 strerror(errno));
	return st;
}

static int is_yaml(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

/* Copies the *.yaml files under src to dst, keeping subfolders (a region
 * file may `extends` a province file one level up). Folders without any
 * policy file are not created. Adds the files copied to *count. */
static sb_status copy_policies(const char *src, const char *dst,
			       uint64_t *count, sb_diag *d)
{
	DIR *dir = opendir(src);
	struct dirent *e;
	sb_status st = SB_OK;
	int made = 0;

	if (!dir)
		return sb_diag_set(d, errno == ENOENT ? SB_ENOTFOUND : SB_EIO,
				   src, 0, 0, "cannot open the policy folder: %s",
				   strerror(errno));
	while (st == SB_OK && (e = readdir(dir)) != NULL) {
		char from[PATH_MAX], to[PATH_MAX];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		if ((st = path_join(from, sizeof from, src, e->d_name, d)) ||
		    (st = path_join(to, sizeof to, dst, e->d_name, d)))
			break;
		if (stat(from, &sb) != 0)
			continue; /* a dangling link is not a policy */
		if (S_ISDIR(sb.st_mode)) {
			st = copy_policies(from, to, count, d);
		} else if (S_ISREG(sb.st_mode) && is_yaml(e->d_name)) {
			if (!made && (st = make_dirs(dst, d)) != SB_OK)
				break;
			made = 1;
			if ((st = copy_file(from, to, d)) == SB_OK)
				(*count)++;
		}
	}
	closedir(dir);
	return st;
}

/* ---- output files ------------------------------------------------------- */

typedef struct outfile {
	FILE *f;
	char path[PATH_MAX];
	uint64_t bytes;
} outfile;

static sb_status out_open(outfile *o, const char *dir, const char *name,
			  const char *header, sb_diag *d)
{
	sb_status st = path_join(o->path, sizeof o->path, dir, name, d);

	if (st != SB_OK)
		return st;
	o->bytes = 0;
	o->f = fopen(o->path, "wb");
	if (!o->f)
		return sb_diag_set(d, SB_EIO, o->path, 0, 0, "cannot write: %s",
				   strerror(errno));
	size_t n = strlen(header);

	if (fwrite(header, 1, n, o->f) != n)
		return sb_diag_set(d, SB_EIO, o->path, 0, 0, "cannot write: %s",
				   strerror(errno));
	o->bytes += n;
	return SB_OK;
}

static sb_status out_write(outfile *o, const gen_buf *b, sb_diag *d)
{
	if (b->n && fwrite(b->p, 1, b->n, o->f) != b->n)
		return sb_diag_set(d, SB_EIO, o->path, 0, 0, "cannot write: %s",
				   strerror(errno));
	o->bytes += b->n;
	return SB_OK;
}

static sb_status out_close(outfile *o, sb_status st, sb_diag *d)
{
	if (!o->f)
		return st;
	if (fclose(o->f) != 0 && st == SB_OK)
		st = sb_diag_set(d, SB_EIO, o->path, 0, 0, "cannot write: %s",
				 strerror(errno));
	o->f = NULL;
	return st;
}

/* ---- workers ------------------------------------------------------------ */

/* One block's households, laid out by the main thread before the workers
 * start: sizes and regions are cheap hashes, and the running person
 * numbers (overall and per region) need a sequential sum. */
typedef struct block {
	uint64_t first; /* household index of entry 0 */
	uint8_t *size;
	uint8_t *region;
	uint64_t *p0;
	uint64_t *q0;
} block;

typedef struct worker {
	const gen_model *m;
	const block *b;
	size_t lo, hi; /* entries of the block this worker makes */
	gen_sink *sink;
	pthread_t tid;
} worker;

static void *worker_run(void *arg)
{
	worker *w = arg;

	for (size_t i = w->lo; i < w->hi; i++) {
		if (gen_household(w->m, w->b->first + i, w->b->p0[i], w->b->q0[i],
				  w->b->size[i], w->b->region[i], w->sink)) {
			w->sink->failed = 1;
			break;
		}
	}
	return NULL;
}

/* Makes entries [0, n) of the block with nw workers into sinks[0..nw);
 * the calling thread is worker 0. Returns -1 when memory ran out. */
static int run_block(worker *w, int nw, size_t n, gen_sink *sinks)
{
	int running[SB_GEN_MAX_THREADS] = { 0 };
	int bad = 0;

	for (int t = 0; t < nw; t++) {
		w[t].sink = &sinks[t];
		gen_sink_reset(w[t].sink);
		w[t].lo = n * (size_t)t / (size_t)nw;
		w[t].hi = n * (size_t)(t + 1) / (size_t)nw;
	}
	for (int t = 1; t < nw; t++)
		running[t] = pthread_create(&w[t].tid, NULL, worker_run, &w[t]) == 0;
	worker_run(&w[0]);
	for (int t = 1; t < nw; t++) {
		/* A thread that could not start has its share made here: the
		 * same bytes, only slower. */
		if (running[t])
			pthread_join(w[t].tid, NULL);
		else
			worker_run(&w[t]);
	}
	for (int t = 0; t < nw; t++)
		bad |= w[t].sink->failed;
	return bad ? -1 : 0;
}

/* Appends one block to the files: persons and identities worker by
 * worker, then claims day by day and within a day worker by worker,
 * which is the order a single worker would have written. */
static sb_status write_block(outfile *out, const gen_sink *s, int nw,
			     int ndays, sb_diag *d)
{
	sb_status st = SB_OK;

	for (int t = 0; t < nw && st == SB_OK; t++)
		st = out_write(&out[0], &s[t].persons, d);
	for (int t = 0; t < nw && st == SB_OK; t++)
		st = out_write(&out[1], &s[t].identities, d);
	for (int day = 0; day < ndays && st == SB_OK; day++)
		for (int t = 0; t < nw && st == SB_OK; t++)
			st = out_write(&out[2], &s[t].days[day], d);
	return st;
}

/* ---- the run ------------------------------------------------------------ */

static sb_status check_config(const sb_gen_config *cfg, sb_diag *d)
{
	if (cfg->persons < 1 || cfg->persons > SB_GEN_MAX_PERSONS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "persons must be 1 to %llu, not %llu",
				   (unsigned long long)SB_GEN_MAX_PERSONS,
				   (unsigned long long)cfg->persons);
	if (cfg->year < SB_GEN_YEAR_MIN || cfg->year > SB_GEN_YEAR_MAX)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "year must be %d to %d, not %d",
				   SB_GEN_YEAR_MIN, SB_GEN_YEAR_MAX, cfg->year);
	if (cfg->threads < 1 || cfg->threads > SB_GEN_MAX_THREADS)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "threads must be 1 to %d, not %d",
				   SB_GEN_MAX_THREADS, cfg->threads);
	if (!cfg->out_dir || !cfg->out_dir[0])
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "an output folder is required");
	if (cfg->anomalies_bp > SB_GEN_MAX_ANOMALIES ||
	    (cfg->anomalies_bp >= 0 && !cfg->policies_src))
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "anomalies need the policies and a rate of at most %d basis points",
				   SB_GEN_MAX_ANOMALIES);
	return SB_OK;
}

/* Counts households and each region's persons, and from those the ID
 * rounds (see make_id in gen_model.c). */
static sb_status count_households(gen_model *m, uint64_t persons,
				  uint64_t *households, sb_diag *d)
{
	uint64_t per_region[GEN_REGIONS] = { 0 };
	uint64_t p = 0, h = 0;

	while (p < persons) {
		int size, region;

		gen_household_shape(m, h, &size, &region);
		if ((uint64_t)size > persons - p)
			size = (int)(persons - p);
		per_region[region] += (uint64_t)size;
		p += (uint64_t)size;
		h++;
	}
	for (int k = 0; k < GEN_REGIONS; k++) {
		uint64_t r = (per_region[k] + GEN_ID_SLOTS - 1) / GEN_ID_SLOTS;

		/* Rounds are told apart by birth day-of-year modulo rounds. */
		if (r > 365)
			return sb_diag_set(d, SB_ELIMIT, "", 0, 0,
					   "too many persons for unique IDs in one region");
		m->rounds[k] = r ? (uint32_t)r : 1;
	}
	*households = h;
	return SB_OK;
}

static void block_release(block *b)
{
	sb_free(b->size);
	sb_free(b->region);
	sb_free(b->p0);
	sb_free(b->q0);
}

static sb_status generate(const sb_gen_config *cfg, gen_model *m,
			  sb_gen_stats *stats, sb_diag *d)
{
	static const char *const names[3] = { "persons.csv", "identities.csv",
					      "claims.csv" };
	static const char *const headers[3] = {
		"id,scheme,region,household,employment,income,wage_base,residence\n",
		"person,identity,from,to\n",
		("id,person,date,visit,level,care_region,filing,facility,total,"
		 "in_scope,pre_selfpay,over_limit,out_of_scope\n"),
	};
	outfile out[3] = { 0 };
	block b = { 0 };
	worker *w = NULL;
	gen_sink *sinks = NULL;
	int nw = cfg->threads;
	uint64_t households = 0, p = 0, q[GEN_REGIONS] = { 0 };
	sb_status st;

	if ((st = count_households(m, cfg->persons, &households, d)) != SB_OK)
		return st;
	stats->households = households;

	size_t cap = households < BLOCK_HOUSEHOLDS ? (size_t)households :
						     (size_t)BLOCK_HOUSEHOLDS;

	b.size = sb_malloc(cap);
	b.region = sb_malloc(cap);
	b.p0 = sb_malloc(cap * sizeof(uint64_t));
	b.q0 = sb_malloc(cap * sizeof(uint64_t));
	w = sb_calloc((size_t)nw, sizeof *w);
	sinks = sb_calloc((size_t)nw, sizeof *sinks);
	if (!b.size || !b.region || !b.p0 || !b.q0 || !w || !sinks) {
		st = sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
		goto done;
	}
	for (int i = 0; i < 3; i++)
		if ((st = out_open(&out[i], cfg->out_dir, names[i], headers[i],
				   d)) != SB_OK)
			goto done;

	for (uint64_t first = 0; first < households; first += BLOCK_HOUSEHOLDS) {
		size_t n = (size_t)(households - first < BLOCK_HOUSEHOLDS ?
					    households - first : BLOCK_HOUSEHOLDS);

		b.first = first;
		for (size_t i = 0; i < n; i++) {
			int size, region;

			gen_household_shape(m, first + i, &size, &region);
			if ((uint64_t)size > cfg->persons - p)
				size = (int)(cfg->persons - p);
			b.size[i] = (uint8_t)size;
			b.region[i] = (uint8_t)region;
			b.p0[i] = p;
			b.q0[i] = q[region];
			p += (uint64_t)size;
			q[region] += (uint64_t)size;
		}
		for (int t = 0; t < nw; t++) {
			w[t].m = m;
			w[t].b = &b;
		}
		if (run_block(w, nw, n, sinks)) {
			st = sb_diag_set(d, SB_ENOMEM, "", 0, 0,
					 "out of memory for a block of %zu households", n);
			goto done;
		}
		for (int t = 0; t < nw; t++) {
			stats->persons += sinks[t].n_persons;
			stats->identities += sinks[t].n_identities;
			stats->claims += sinks[t].n_claims;
		}
		/* Not overlapped with making the next block: measured on 2
		 * cores, a writer thread was slower (the workers lose a core
		 * and a second set of buffers costs page faults). */
		if ((st = write_block(out, sinks, nw, m->ndays, d)) != SB_OK)
			goto done;
	}
done:
	for (int i = 0; i < 3; i++) {
		st = out_close(&out[i], st, d);
		stats->bytes += out[i].bytes;
	}
	if (sinks)
		for (int t = 0; t < nw; t++)
			gen_sink_release(&sinks[t]);
	sb_free(sinks);
	sb_free(w);
	block_release(&b);
	return st;
}

sb_status sb_gen_run(const sb_gen_config *cfg, sb_gen_stats *stats, sb_diag *d)
{
	sb_gen_stats local;
	gen_model *m;
	sb_status st;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if ((st = check_config(cfg, d)) != SB_OK)
		return st;

	struct stat sb;

	/* Refused before anything is created. */
	if (cfg->policies_src && (stat(cfg->policies_src, &sb) != 0 || !S_ISDIR(sb.st_mode)))
		return sb_diag_set(d, SB_ENOTFOUND, cfg->policies_src, 0, 0,
				   "is not a policy folder");
	if ((st = make_dirs(cfg->out_dir, d)) != SB_OK)
		return st;
	if (cfg->policies_src) {
		char dst[PATH_MAX];

		if ((st = path_join(dst, sizeof dst, cfg->out_dir, "policies", d)) ||
		    (st = copy_policies(cfg->policies_src, dst, &stats->policy_files, d)))
			return st;
		if (stats->policy_files == 0)
			return sb_diag_set(d, SB_ENOTFOUND, cfg->policies_src, 0, 0,
					   "holds no policy files (*.yaml)");
	}

	/* The model is some 20 KB of tables: on the heap, not the stack. */
	m = sb_malloc(sizeof *m);
	if (!m)
		return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
	gen_model_init(m, cfg->seed, cfg->year);
	st = generate(cfg, m, stats, d);
	sb_free(m);
	if (!st && cfg->anomalies_bp >= 0)
		st = gen_anomalies(cfg, stats, d);
	return st;
}
