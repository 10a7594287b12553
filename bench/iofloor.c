/* iofloor.c: the I/O floor of `make bench`.
 *
 *   iofloor [--direct] OUT_FILE OUT_BYTES IN_FILE...
 *
 * Reads every IN_FILE to its end with large read(2) calls and writes
 * OUT_BYTES bytes to OUT_FILE with large write(2) calls, doing no other work:
 * the least time any settlement of those inputs into an output of that size
 * can take on this machine. The bytes written are the bytes last read (so the
 * reads cannot be skipped), and a checksum of the input is printed for the
 * same reason. With --direct the output is opened with O_DIRECT (no page
 * cache: the device's own speed), written in 4 KiB-aligned blocks and cut
 * to OUT_BYTES; exit status 3 when the file system refuses O_DIRECT. */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (8u << 20)

int main(int argc, char **argv)
{
	int direct = argc > 1 && !strcmp(argv[1], "--direct");
	if (direct) {
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: iofloor [--direct] OUT_FILE OUT_BYTES IN_FILE...\n");
		return 2;
	}
	char *end;
	errno = 0;
	unsigned long long want = strtoull(argv[2], &end, 10);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "iofloor: OUT_BYTES must be a whole number, not %s\n", argv[2]);
		return 2;
	}
	char *buf = NULL;
	if (posix_memalign((void **)&buf, 4096, CHUNK))
		buf = NULL;
	if (!buf) {
		fprintf(stderr, "iofloor: out of memory\n");
		return 1;
	}
	memset(buf, ',', CHUNK);
	uint64_t sum = 0, in_bytes = 0;
	for (int i = 3; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "iofloor: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (;;) {
			ssize_t n = read(fd, buf, CHUNK);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				fprintf(stderr, "iofloor: %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
			if (n == 0)
				break;
			in_bytes += (uint64_t)n;
			sum += (unsigned char)buf[0] + (unsigned char)buf[n - 1];
		}
		close(fd);
	}
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0), 0644);
	if (out < 0) {
		fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
		return direct && errno == EINVAL ? 3 : 1;
	}
	/* O_DIRECT writes whole aligned blocks: the last one is rounded up
	 * and the file cut back to OUT_BYTES. */
	unsigned long long left = direct ? (want + 4095) / 4096 * 4096 : want;
	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t w = write(out, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
			return direct && errno == EINVAL ? 3 : 1;
		}
		if (direct && w == 0)
			break;
		left -= (unsigned long long)w;
	}
	if (direct && ftruncate(out, (off_t)want)) {
		fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (close(out)) {
		fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("iofloor: read %llu bytes (check %llu), wrote %llu bytes\n",
	       (unsigned long long)in_bytes, (unsigned long long)sum, want);
	free(buf);
	return 0;
}
