/* pffloor.c: the parse-and-format floor of `make bench`.
 *
 *   pffloor THREADS LAYERS PERSONS_CSV CLAIMS_CSV OUT_PREFIX
 *
 * What any settlement of these files must do besides settling, done with
 * sanbao's own readers and writers (libsanbao: the CSV reader, the ID,
 * date and money parsers, the money and date formatters) and nothing else:
 * persons.csv read in THREADS byte ranges, every ID checked (sb_person_key)
 * and the region read, the persons put in one hash index (compare-and-swap
 * per slot, every thread at once); then claims.csv in THREADS byte ranges,
 * every row's id, person ID (checked and joined to the index), date, visit,
 * level, care region, filing and the five amounts parsed and validated,
 * and an output row formatted per claim in the shape of settlements.csv
 * (id, person, region, date, visit, level, place, identity, version,
 * total, in_scope, LAYERS layer amounts, fund, oop, oop_in_scope, filing),
 * each thread writing its rows to OUT_PREFIX.N in 8 MiB writes. No sort,
 * no spill, no settlement, no second pass. Prints the rows it read and
 * wrote and the rows it refused (a row sanbao would reject). */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ranges.h"
#include "sanbao/base.h"
#include "sanbao/csv.h"

#define MAXT 64
#define OUTBUF (8u << 20)

typedef struct person {
	uint32_t region;
} person;

static _Atomic uint64_t *slots; /* key + 1; 0: empty */
static uint32_t *slot_person;   /* index into persons, by slot */
static person *persons;
static size_t mask;
static atomic_size_t npersons;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static long find(uint64_t key)
{
	for (size_t h = mix(key) & mask;; h = (h + 1) & mask) {
		uint64_t v = atomic_load_explicit(&slots[h], memory_order_relaxed);
		if (!v)
			return -1;
		if (v == key + 1)
			return slot_person[h];
	}
}

/* false when the key is there already (a person listed twice) */
static int insert(uint64_t key, uint32_t idx)
{
	for (size_t h = mix(key) & mask;; h = (h + 1) & mask) {
		uint64_t v = 0;
		if (atomic_compare_exchange_strong(&slots[h], &v, key + 1)) {
			slot_person[h] = idx;
			return 1;
		}
		if (v == key + 1)
			return 0;
	}
}

/* bounds[0..n]: n ranges of path's body at line starts */
static void ranges(const char *path, int n, int64_t *bounds, size_t *ncols)
{
	sb_csv *c;
	sb_diag d;
	if (sb_csv_open(path, &c, &d)) {
		fprintf(stderr, "pffloor: %s: %s\n", path, d.message);
		exit(1);
	}
	*ncols = sb_csv_ncols(c);
	sb_csv_free(c);
	int got;
	int64_t size;
	if (sb_io_ranges(path, n, 0, bounds, &got, &size, &d) || got != n) {
		fprintf(stderr, "pffloor: %s: cannot cut into %d ranges\n", path, n);
		exit(1);
	}
}

typedef struct job {
	const char *path;
	size_t ncols;
	int64_t start, end;
	int index, layers;
	const char *out;
	long long rows, refused;
	/* persons: this range's parsed persons, inserted after */
	uint64_t *keys;
	person *ps;
	size_t n, cap;
} job;

static sb_csv *open_range(job *j)
{
	sb_csv *c;
	sb_diag d;
	if (sb_csv_open_range(j->path, j->ncols, j->start, j->end, &c, &d)) {
		fprintf(stderr, "pffloor: %s: %s\n", j->path, d.message);
		exit(1);
	}
	return c;
}

static int region_of(sb_csv_field f, uint32_t *out)
{
	if (f.n != 6)
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < 6; i++) {
		unsigned dg = (unsigned)(unsigned char)f.p[i] - '0';
		if (dg > 9)
			return 0;
		v = v * 10 + dg;
	}
	*out = v;
	return 1;
}

static void *read_persons(void *arg)
{
	job *j = arg;
	sb_csv *c = open_range(j);
	sb_diag d;
	int r;
	while ((r = sb_csv_next(c, &d)) != 0) {
		j->rows++;
		uint64_t key;
		int pseudo;
		sb_date birth;
		const char *why;
		sb_csv_field id = sb_csv_get(c, 0), region = sb_csv_get(c, 2);
		person p;
		if (r < 0 || sb_person_key(id.p, id.n, &key, &pseudo, &birth, &why) ||
		    !region_of(region, &p.region)) {
			j->refused++;
			continue;
		}
		if (j->n == j->cap) {
			j->cap = j->cap ? j->cap * 2 : 65536;
			j->keys = realloc(j->keys, j->cap * sizeof *j->keys);
			j->ps = realloc(j->ps, j->cap * sizeof *j->ps);
			if (!j->keys || !j->ps) {
				fprintf(stderr, "pffloor: out of memory\n");
				exit(1);
			}
		}
		j->keys[j->n] = key;
		j->ps[j->n++] = p;
	}
	sb_csv_free(c);
	/* into the shared table and index */
	size_t base = atomic_fetch_add(&npersons, j->n);
	memcpy(persons + base, j->ps, j->n * sizeof *j->ps);
	for (size_t i = 0; i < j->n; i++)
		if (!insert(j->keys[i], (uint32_t)(base + i)))
			j->refused++;
	return NULL;
}

static const char *const visits[] = {"inpatient", "chronic_outpatient", "outpatient", "pharmacy"};

static int one_of(sb_csv_field f, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (f.n == strlen(names[i]) && !memcmp(f.p, names[i], f.n))
			return i;
	return -1;
}

static void flush(int fd, char *buf, size_t *n)
{
	for (size_t off = 0; off < *n;) {
		ssize_t w = write(fd, buf + off, *n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "pffloor: write: %s\n", strerror(errno));
			exit(1);
		}
		off += (size_t)w;
	}
	*n = 0;
}

static void *read_claims(void *arg)
{
	job *j = arg;
	char path[4096];
	snprintf(path, sizeof path, "%s.%d", j->out, j->index);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(OUTBUF);
	if (fd < 0 || !buf) {
		fprintf(stderr, "pffloor: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	size_t n = 0;
	sb_csv *c = open_range(j);
	sb_diag d;
	int r;
	char version[11];
	sb_date_format(sb_date_from_ymd(2024, 1, 1), version);
	while ((r = sb_csv_next(c, &d)) != 0) {
		j->rows++;
		if (r < 0) {
			j->refused++;
			continue;
		}
		sb_csv_field id = sb_csv_get(c, 0), pid = sb_csv_get(c, 1), date = sb_csv_get(c, 2),
			     visit = sb_csv_get(c, 3), level = sb_csv_get(c, 4),
			     care = sb_csv_get(c, 5), filing = sb_csv_get(c, 6);
		uint64_t key;
		int pseudo, v;
		sb_date birth, day;
		uint32_t care_region;
		const char *why;
		sb_fen amt[5];
		int bad = !id.n || id.n > 64 || sb_person_key(pid.p, pid.n, &key, &pseudo, &birth, &why) ||
			  sb_date_parse(date.p, date.n, 0, &day, &why) ||
			  (v = one_of(visit, visits, 4)) < 0 || level.n > 40 ||
			  (care.n && !region_of(care, &care_region));
		for (int k = 0; k < 5 && !bad; k++) {
			sb_csv_field f = sb_csv_get(c, (size_t)(8 + k));
			bad = f.n ? sb_money_parse(f.p, f.n, &amt[k], &why) != SB_OK : (amt[k] = 0, 0);
		}
		long pi = bad ? -1 : find(key);
		if (pi < 0) {
			j->refused++;
			continue;
		}
		if (n + 1024 + (size_t)j->layers * 24 > OUTBUF)
			flush(fd, buf, &n);
		char *q = buf + n;
		memcpy(q, id.p, id.n);
		q += id.n;
		*q++ = ',';
		memcpy(q, pid.p, 18);
		q += 18;
		*q++ = ',';
		uint32_t reg = persons[pi].region;
		for (int i = 5; i >= 0; i--, reg /= 10)
			q[i] = (char)('0' + reg % 10);
		q += 6;
		*q++ = ',';
		q += sb_date_format(day, q);
		*q++ = ',';
		size_t vl = strlen(visits[v]);
		memcpy(q, visits[v], vl);
		q += vl;
		*q++ = ',';
		memcpy(q, level.p, level.n);
		q += level.n;
		memcpy(q, ",local,none,", 12);
		q += 12;
		memcpy(q, version, 10);
		q += 10;
		*q++ = ',';
		q = sb_fen_put(q, amt[0]);
		*q++ = ',';
		q = sb_fen_put(q, amt[1]);
		/* one layer pays, as most rows of settlements.csv have it */
		sb_fen pay = amt[1] / 2;
		for (int k = 0; k < j->layers; k++) {
			*q++ = ',';
			q = sb_fen_put(q, k == (int)(key % (uint64_t)j->layers) ? pay : 0);
		}
		*q++ = ',';
		q = sb_fen_put(q, pay);
		*q++ = ',';
		q = sb_fen_put(q, amt[0] - pay);
		*q++ = ',';
		q = sb_fen_put(q, amt[1] - pay);
		*q++ = ',';
		memcpy(q, filing.p, filing.n);
		q += filing.n;
		*q++ = '\n';
		n = (size_t)(q - buf);
	}
	flush(fd, buf, &n);
	close(fd);
	free(buf);
	sb_csv_free(c);
	return NULL;
}

static void run(job *jobs, int n, void *(*fn)(void *))
{
	pthread_t tid[MAXT];
	for (int i = 1; i < n; i++)
		if (pthread_create(&tid[i], NULL, fn, &jobs[i])) {
			fprintf(stderr, "pffloor: cannot start a thread\n");
			exit(1);
		}
	fn(&jobs[0]);
	for (int i = 1; i < n; i++)
		pthread_join(tid[i], NULL);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: pffloor THREADS LAYERS PERSONS_CSV CLAIMS_CSV OUT_PREFIX\n");
		return 2;
	}
	int threads = atoi(argv[1]), layers = atoi(argv[2]);
	if (threads < 1 || threads > MAXT || layers < 1 || layers > 64) {
		fprintf(stderr, "pffloor: THREADS 1-%d, LAYERS 1-64\n", MAXT);
		return 2;
	}
	struct stat st;
	if (stat(argv[3], &st)) {
		fprintf(stderr, "pffloor: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	/* presized as sanbao presizes: a row is at least 40 bytes */
	size_t rows = (size_t)st.st_size / 40 + 1024, cap = 1024;
	while (cap < rows * 2)
		cap *= 2;
	slots = calloc(cap, sizeof *slots);
	slot_person = malloc(cap * sizeof *slot_person);
	persons = malloc(rows * sizeof *persons);
	if (!slots || !slot_person || !persons) {
		fprintf(stderr, "pffloor: out of memory\n");
		return 1;
	}
	mask = cap - 1;
	job jobs[MAXT];
	int64_t bounds[MAXT + 1];
	size_t ncols;
	long long prow = 0, pref = 0, crow = 0, cref = 0;
	ranges(argv[3], threads, bounds, &ncols);
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < threads; i++)
		jobs[i] = (job){.path = argv[3], .ncols = ncols, .start = bounds[i], .end = bounds[i + 1], .index = i, .layers = layers, .out = argv[5]};
	run(jobs, threads, read_persons);
	for (int i = 0; i < threads; i++) {
		prow += jobs[i].rows;
		pref += jobs[i].refused;
		free(jobs[i].keys);
		free(jobs[i].ps);
	}
	ranges(argv[4], threads, bounds, &ncols);
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < threads; i++)
		jobs[i] = (job){.path = argv[4], .ncols = ncols, .start = bounds[i], .end = bounds[i + 1], .index = i, .layers = layers, .out = argv[5]};
	run(jobs, threads, read_claims);
	for (int i = 0; i < threads; i++) {
		crow += jobs[i].rows;
		cref += jobs[i].refused;
	}
	printf("persons %lld (%lld refused), claims %lld (%lld refused)\n", prow, pref, crow, cref);
	return 0;
}
