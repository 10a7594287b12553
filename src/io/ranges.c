/* ranges.c: a CSV file cut into byte ranges at line starts (ranges.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/ranges.h"

static int64_t next_line(int fd, int64_t pos, int64_t size)
{
	char buf[4096];
	while (pos < size) {
		ssize_t n = pread(fd, buf, sizeof buf, (off_t)pos);
		if (n <= 0)
			return size;
		char *nl = memchr(buf, '\n', (size_t)n);
		if (nl)
			return pos + (nl - buf) + 1;
		pos += n;
	}
	return size;
}

sb_status sb_io_ranges(const char *path, int want, int64_t min_bytes, int64_t *bounds, int *n,
		       int64_t *size, sb_diag *d)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	}
	*size = st.st_size;
	char buf[65536];
	ssize_t got = read(fd, buf, sizeof buf);
	int64_t start = -1;
	for (ssize_t i = 0; i < got; i++)
		if (buf[i] == '\n') {
			start = i + 1;
			break;
		}
	if (want > SB_RANGES_MAX)
		want = SB_RANGES_MAX;
	if (want < 1 || start < 0 || *size - start < (int64_t)want * min_bytes)
		want = 1;
	*n = want;
	bounds[0] = start < 0 ? 0 : start;
	for (int i = 1; i <= want; i++) {
		int64_t pos = i == want ? *size :
					  next_line(fd, start + (*size - start) / want * i, *size);
		bounds[i] = pos < bounds[i - 1] ? bounds[i - 1] : pos;
	}
	close(fd);
	return SB_OK;
}
