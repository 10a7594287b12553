/* load.c: a load generator for `sanbao serve`: C keep-alive HTTP/1.1
 * connections over loopback driven by one thread with epoll (so that the
 * generator costs little of the machine it shares with the server), then
 * throughput and p50/p99/p999 latency; and, in the same run, the disk's own
 * fdatasync p50/p99 (4 KiB appended and fdatasync'ed in the store's folder),
 * so that the cost of a durable settlement reads as a ratio to the disk.
 *
 *   load PORT TOKEN REQUESTS_FILE CONNECTIONS [FSYNC_DIR]
 *
 * Closed loop by default: each connection sends the next request of the
 * file (in file order over all connections) as soon as its previous one is
 * answered. With SB_LOAD_RATE=R (requests/s) it is an open loop instead:
 * request i is due at start + i/R and goes out on the first idle
 * connection; its latency counts from when it was due, so that a server
 * falling behind shows in the percentiles (no coordinated omission).
 *
 * REQUESTS_FILE: one request a line, "infno<TAB>body". Prints one line per
 * measurement as "key value" pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef struct req {
	char *head; /* the request line and headers */
	size_t nhead;
	char *body;
	size_t n;
	char infno[8];
} req;

typedef struct conn {
	int fd;
	bool busy;
	size_t req;   /* the request in flight */
	double due;   /* when it was due (open loop) or sent (closed loop) */
	char *buf;    /* the response read so far */
	size_t have, cap;
} conn;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(s, (struct sockaddr *)&a, sizeof a)) {
		close(s);
		return -1;
	}
	return s;
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

/* Writes all of a request (blocking is fine: requests are small). */
static int send_req(int fd, const req *r)
{
	struct iovec v[2] = { { r->head, r->nhead }, { r->body, r->n } };
	size_t total = r->nhead + r->n, done = 0;
	while (done < total) {
		ssize_t k = writev(fd, v, 2);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
		for (int i = 0; i < 2; i++) {
			size_t t = (size_t)k < v[i].iov_len ? (size_t)k : v[i].iov_len;
			v[i].iov_base = (char *)v[i].iov_base + t;
			v[i].iov_len -= t;
			k -= (ssize_t)t;
		}
	}
	return 0;
}

/* 1 with *status when c->buf holds a whole response, 0 when not yet, -1 bad. */
static int complete(conn *c, int *status)
{
	char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
	if (!end)
		return c->have >= c->cap - 1 ? -1 : 0;
	c->buf[c->have] = '\0';
	*end = '\0';
	const char *cl = strcasestr(c->buf, "Content-Length:");
	size_t len = cl ? (size_t)atol(cl + 15) : 0;
	*end = '\r';
	size_t need = (size_t)(end + 4 - c->buf) + len;
	if (c->have < need)
		return 0;
	*status = c->have > 12 ? atoi(c->buf + 9) : -1;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: load PORT TOKEN REQUESTS_FILE CONNECTIONS [FSYNC_DIR]\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[4]);
	const char *rate_s = getenv("SB_LOAD_RATE");
	double rate = rate_s ? atof(rate_s) : 0;
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
		r->head = malloc(512);
		r->nhead = (size_t)snprintf(r->head, 512,
					    "POST /fsi/api/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
					    "Authorization: Bearer %s\r\nContent-Type: "
					    "application/json\r\nContent-Length: %zu\r\n\r\n",
					    r->infno, argv[2], r->n);
	}
	free(line);
	fclose(f);
	if (argc > 5)
		fsync_probe(argv[5]);
	/* Wake when due: the default timer slack (50 us) would add up to a
	 * request interval at 20,000/s to every wait. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	int ep = epoll_create1(0);
	conn *cs = calloc((size_t)nconn, sizeof *cs);
	for (int i = 0; i < nconn; i++) {
		cs[i].fd = connect_to(port);
		cs[i].cap = 1 << 20;
		cs[i].buf = malloc(cs[i].cap);
		if (cs[i].fd < 0) {
			perror("connect");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	double *lat = calloc(n + 1, sizeof *lat);
	size_t next = 0, done = 0, inflight = 0;
	long errors = 0;
	int *idle = malloc((size_t)nconn * sizeof *idle), nidle = 0;
	for (int i = nconn - 1; i >= 0; i--)
		idle[nidle++] = i;
	double t0 = now();
	struct epoll_event evs[256];
	while (done < n) {
		/* Send what is due on idle connections. */
		double t = now();
		while (next < n && nidle > 0 && (rate <= 0 || t0 + (double)next / rate <= t)) {
			conn *c = &cs[idle[--nidle]];
			c->req = next;
			c->due = rate > 0 ? t0 + (double)next / rate : t;
			c->busy = true;
			c->have = 0;
			next++;
			inflight++;
			if (send_req(c->fd, &reqs[c->req])) {
				fprintf(stderr, "load: a write failed: %s\n", strerror(errno));
				errors++;
				goto out;
			}
		}
		/* Until the next request is due (open loop), to the microsecond:
		 * epoll_wait's milliseconds would round a wait under 1 ms to 0
		 * and spin, taking a core from the server it measures. */
		struct timespec ts, *timeout = NULL;
		if (rate > 0 && next < n && nidle > 0) {
			double wait = t0 + (double)next / rate - now();
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			timeout = &ts;
		}
		if (!inflight && !timeout)
			break;
		int k = epoll_pwait2(ep, evs, 256, timeout, NULL);
		if (k < 0 && errno != EINTR)
			break;
		for (int e = 0; e < k; e++) {
			int i = (int)evs[e].data.u32;
			conn *c = &cs[i];
			ssize_t r = read(c->fd, c->buf + c->have, c->cap - 1 - c->have);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				fprintf(stderr, "load: connection %d closed by the server\n", i);
				errors++;
				goto out;
			}
			c->have += (size_t)r;
			int st = 0, whole = complete(c, &st);
			if (whole < 0) {
				errors++;
				goto out;
			}
			if (!whole || !c->busy)
				continue;
			lat[done++] = now() - c->due;
			if (st != 200)
				errors++;
			c->busy = false;
			inflight--;
			idle[nidle++] = i;
		}
	}
out:;
	double secs = now() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	qsort(lat, done, sizeof *lat, cmp);
	printf("%s requests %zu connections %d%s errors %ld seconds %.3f per_s %.0f p50_ms %.3f "
	       "p99_ms %.3f p999_ms %.3f load_cpu_us_per_req %.1f\n",
	       n ? reqs[0].infno : "-", done, nconn, rate > 0 ? " open_loop" : "", errors, secs,
	       (double)done / secs, pct(lat, done, 0.5) * 1e3, pct(lat, done, 0.99) * 1e3,
	       pct(lat, done, 0.999) * 1e3, done ? cpu * 1e6 / (double)done : 0.0);
	if (rate > 0)
		printf("offered_per_s %.0f\n", rate);
	if (argc > 5)
		fsync_probe(argv[5]);
	for (int i = 0; i < nconn; i++) {
		close(cs[i].fd);
		free(cs[i].buf);
	}
	for (size_t i = 0; i < n; i++) {
		free(reqs[i].body);
		free(reqs[i].head);
	}
	free(reqs);
	free(lat);
	free(cs);
	free(idle);
	close(ep);
	return errors ? 1 : 0;
}
