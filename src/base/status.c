/* status.c: the one status enum turned into words, and the one diagnostic
 * (code, place, message) that every module fills in when something fails.
 * Nothing here allocates; a diagnostic lives wherever the caller put it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sanbao/base.h"

const char *sb_strerror(sb_status code)
{
	switch (code) {
	case SB_OK:
		return "success";
	case SB_ENOMEM:
		return "out of memory";
	case SB_EIO:
		return "input/output error";
	case SB_ESYNTAX:
		return "syntax error";
	case SB_EPOLICY:
		return "invalid policy";
	case SB_EINPUT:
		return "invalid input";
	case SB_ELIMIT:
		return "limit exceeded";
	case SB_ENOTFOUND:
		return "not found";
	}
	/* A value outside the enum (a cast gone wrong) still gets a phrase,
	 * because callers print the result without checking it. */
	return "unknown status";
}

void sb_diag_clear(sb_diag *d)
{
	if (!d)
		return;
	d->code = SB_OK;
	d->line = 0;
	d->column = 0;
	d->file[0] = '\0';
	d->message[0] = '\0';
}

sb_status sb_diag_set(sb_diag *d, sb_status code, const char *file, int line,
		      int column, const char *fmt, ...)
{
	/* Callers may pass no diagnostic when they only want the code. */
	if (!d)
		return code;

	d->code = code;
	d->line = line > 0 ? line : 0;
	d->column = column > 0 ? column : 0;

	/* The path is copied, not referenced: the diagnostic outlives the
	 * buffer the path came from. Over-long paths keep their beginning. */
	size_t len = file ? strnlen(file, sizeof(d->file) - 1) : 0;
	if (len)
		memcpy(d->file, file, len);
	d->file[len] = '\0';

	d->message[0] = '\0';
	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		/* vsnprintf truncates and always terminates; a message cut at
		 * 767 bytes is still better than none. */
		vsnprintf(d->message, sizeof(d->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Appends printf output at *used, never past n - 1, keeping *used at the
 * true end of the (possibly truncated) text so later appends stay safe. */
static void append(char *buf, size_t n, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t n, size_t *used, const char *fmt, ...)
{
	if (*used + 1 >= n)
		return;

	va_list ap;

	va_start(ap, fmt);
	int w = vsnprintf(buf + *used, n - *used, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	if ((size_t)w >= n - *used)
		*used = n - 1;
	else
		*used += (size_t)w;
}

const char *sb_diag_format(const sb_diag *d, char *buf, size_t n)
{
	if (!buf || n == 0)
		return buf;
	buf[0] = '\0';
	if (!d)
		return buf;

	size_t used = 0;
	int has_file = d->file[0] != '\0';
	int has_line = d->line > 0;

	if (has_file)
		append(buf, n, &used, "%.*s", (int)sizeof(d->file), d->file);
	if (has_line) {
		append(buf, n, &used, "%s%d", has_file ? ":" : "", d->line);
		/* Column 0 means "somewhere on this line", as in gcc. */
		if (d->column > 0)
			append(buf, n, &used, ":%d", d->column);
	}
	if (has_file || has_line)
		append(buf, n, &used, ": ");

	/* An empty message would leave a dangling "file: "; the status
	 * phrase at least says what kind of failure it was. */
	if (d->message[0])
		append(buf, n, &used, "%.*s", (int)sizeof(d->message),
		       d->message);
	else
		append(buf, n, &used, "%s", sb_strerror(d->code));
	return buf;
}
