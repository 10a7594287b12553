/* load.c: a load generator for `sanbao serve`: C connections on keep-alive
 * HTTP/1.1 over loopback, each sending the next request of its share as
 * soon as the previous is answered (closed loop), then throughput and
 * p50/p99/p999 latency; and, in the same run, the disk's own fdatasync
 * p50/p99 (4 KiB appended and fdatasync'ed in the store's folder), so that
 * the cost of a durable settlement reads as a ratio to the disk.
 *
 *   load PORT TOKEN REQUESTS_FILE CONNECTIONS [FSYNC_DIR]
 *
 * REQUESTS_FILE: one request a line, "infno<TAB>body". Prints one line per
 * measurement as "key value" pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct req {
	char infno[8];
	char *body;
	size_t n;
} req;

typedef struct worker {
	int port;
	const char *token;
	req *reqs;
	size_t nreqs;
	double *lat;
	size_t done;
	long errors;
} worker;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(s, (struct sockaddr *)&a, sizeof a)) {
		close(s);
		return -1;
	}
	return s;
}

/* Reads one response; returns its status or -1. */
static int read_response(int s, char *buf, size_t cap)
{
	size_t n = 0;
	char *end = NULL;
	while (!end) {
		ssize_t k = read(s, buf + n, cap - 1 - n);
		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (n >= cap - 1 && !end)
			return -1;
	}
	int status = atoi(buf + 9);
	const char *cl = strcasestr(buf, "Content-Length:");
	size_t len = cl ? (size_t)atol(cl + 15) : 0;
	size_t have = n - (size_t)(end + 4 - buf);
	while (have < len) {
		char tmp[65536];
		size_t want = len - have < sizeof tmp ? len - have : sizeof tmp;
		ssize_t k = read(s, tmp, want);
		if (k <= 0)
			return -1;
		have += (size_t)k;
	}
	return status;
}

static void *run(void *arg)
{
	worker *w = arg;
	int s = connect_to(w->port);
	char *head = malloc(1024), *buf = malloc(1 << 20);
	for (size_t i = 0; i < w->nreqs && s >= 0; i++) {
		req *r = &w->reqs[i];
		int hn = snprintf(head, 1024, "POST /fsi/api/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
					      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
					      "Content-Length: %zu\r\n\r\n", r->infno, w->token, r->n);
		double t0 = now();
		if (write(s, head, (size_t)hn) != hn || write(s, r->body, r->n) != (ssize_t)r->n) {
			w->errors++;
			break;
		}
		int st = read_response(s, buf, 1 << 20);
		w->lat[w->done++] = now() - t0;
		if (st != 200)
			w->errors++;
		if (st < 0)
			break;
	}
	if (s >= 0)
		close(s);
	free(head);
	free(buf);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void fsync_probe(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/fdatasync-probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		return;
	}
	enum { N = 200 };
	double v[N];
	char block[4096];
	memset(block, 'x', sizeof block);
	for (int i = 0; i < N; i++) {
		double t0 = now();
		if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd))
			perror("fdatasync");
		v[i] = now() - t0;
	}
	close(fd);
	unlink(path);
	qsort(v, N, sizeof v[0], cmp);
	printf("fdatasync n %d p50_ms %.3f p99_ms %.3f\n", N, pct(v, N, 0.5) * 1e3,
	       pct(v, N, 0.99) * 1e3);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: load PORT TOKEN REQUESTS_FILE CONNECTIONS [FSYNC_DIR]\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[4]);
	FILE *f = fopen(argv[3], "r");
	if (!f || nconn < 1) {
		perror(argv[3]);
		return 2;
	}
	req *reqs = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) > 0) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			reqs = realloc(reqs, cap * sizeof *reqs);
		}
		req *r = &reqs[n++];
		snprintf(r->infno, sizeof r->infno, "%.*s", (int)(tab - line), line);
		r->body = strdup(tab + 1);
		r->n = strlen(r->body);
		while (r->n && (r->body[r->n - 1] == '\n' || r->body[r->n - 1] == '\r'))
			r->body[--r->n] = '\0';
	}
	free(line);
	fclose(f);
	if (argc > 5)
		fsync_probe(argv[5]);
	worker *w = calloc((size_t)nconn, sizeof *w);
	pthread_t *t = calloc((size_t)nconn, sizeof *t);
	size_t per = n / (size_t)nconn;
	for (int i = 0; i < nconn; i++) {
		w[i].port = port;
		w[i].token = argv[2];
		w[i].reqs = reqs + (size_t)i * per;
		w[i].nreqs = per;
		w[i].lat = calloc(per + 1, sizeof(double));
	}
	double t0 = now();
	for (int i = 0; i < nconn; i++)
		pthread_create(&t[i], NULL, run, &w[i]);
	for (int i = 0; i < nconn; i++)
		pthread_join(t[i], NULL);
	double secs = now() - t0;
	size_t total = 0;
	long errors = 0;
	for (int i = 0; i < nconn; i++) {
		total += w[i].done;
		errors += w[i].errors;
	}
	double *all = malloc((total + 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nconn; i++) {
		memcpy(all + k, w[i].lat, w[i].done * sizeof *all);
		k += w[i].done;
		free(w[i].lat);
	}
	qsort(all, total, sizeof *all, cmp);
	printf("%s requests %zu connections %d errors %ld seconds %.3f per_s %.0f p50_ms %.3f "
	       "p99_ms %.3f p999_ms %.3f\n", n ? reqs[0].infno : "-", total, nconn, errors, secs,
	       (double)total / secs, pct(all, total, 0.5) * 1e3, pct(all, total, 0.99) * 1e3,
	       pct(all, total, 0.999) * 1e3);
	if (argc > 5)
		fsync_probe(argv[5]);
	for (size_t i = 0; i < n; i++)
		free(reqs[i].body);
	free(reqs);
	free(all);
	free(w);
	free(t);
	return errors ? 1 : 0;
}
