/* iofloor.c: the I/O floor of `make bench`.
 *
 *   iofloor OUT_FILE OUT_BYTES IN_FILE...
 *
 * Reads every IN_FILE to its end with large read(2) calls and writes
 * OUT_BYTES bytes to OUT_FILE with large write(2) calls, doing no other work:
 * the least time any settlement of those inputs into an output of that size
 * can take on this machine. The bytes written are the bytes last read (so the
 * reads cannot be skipped), and a checksum of the input is printed for the
 * same reason. */
#define _POSIX_C_SOURCE 200809L
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
	if (argc < 4) {
		fprintf(stderr, "usage: iofloor OUT_FILE OUT_BYTES IN_FILE...\n");
		return 2;
	}
	char *end;
	errno = 0;
	unsigned long long want = strtoull(argv[2], &end, 10);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "iofloor: OUT_BYTES must be a whole number, not %s\n", argv[2]);
		return 2;
	}
	char *buf = malloc(CHUNK);
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
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	unsigned long long left = want;
	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t w = write(out, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "iofloor: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		left -= (unsigned long long)w;
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
