/* csv.h: a streaming RFC 4180 reader that hands out fields as views into
 * its buffer, and a buffered writer for CSV and other text output.
 *
 * The reader never copies an unquoted field, nor a quoted one without
 * doubled quotes; a field with doubled quotes is unescaped into a scratch
 * buffer of the reader, so the raw record text stays as read (and memory
 * given to sb_csv_open_mem is never written). Records are bounded
 * (SB_CSV_MAX_RECORD bytes, SB_CSV_MAX_FIELDS fields): a longer one is
 * reported and skipped, never truncated silently. A record is one line
 * unless sb_csv_set_multiline says otherwise, and must be UTF-8 text: a
 * record that is not (a GBK export, say) is rejected with the byte's place,
 * so no foreign encoding flows into outputs mixed with UTF-8.
 */
#ifndef SANBAO_CSV_H
#define SANBAO_CSV_H

#include <stdio.h>

#include "sanbao/base.h"

#define SB_CSV_MAX_RECORD (1u << 20)
#define SB_CSV_MAX_FIELDS 256

typedef struct sb_csv sb_csv;

/* A view into the reader's buffer, valid until the next sb_csv_next. */
typedef struct sb_csv_field {
	const char *p;
	size_t n;
} sb_csv_field;

/* Opens an input file read-only. Only a regular file is accepted, checked
 * before it is opened (so a FIFO without a writer cannot hang the run) and
 * again after: sanbao reads most inputs more than once (a header pass, then
 * the records, in ranges by several threads), which a pipe, FIFO or device
 * cannot give; a read-once stream would lose rows. SB_EIO with the path and
 * "not a regular file ... save it to a file first" otherwise. *fd is the
 * caller's to close. Every reader of sanbao (CSV, policies, cases, keys)
 * opens its files through this. */
SB_MUST_USE sb_status sb_input_open(const char *path, int *fd, sb_diag *d);

/* Length of the longest prefix of p[0..n) that is valid UTF-8 (n when all
 * of it is; overlong forms, surrogates and code points above U+10FFFF are
 * invalid). */
size_t sb_utf8_valid(const char *p, size_t n);
/* 1 when the bytes at p (an invalid UTF-8 sequence) read as a GBK/GB18030
 * double-byte character: a lead byte 0x81-0xFE and a trail 0x40-0xFE other
 * than 0x7F. */
int sb_looks_gbk(const char *p, size_t n);

/* Opens path and reads its header row (a UTF-8 BOM is skipped). The reader
 * is freed by the caller with sb_csv_free. An empty file or a malformed
 * header is an error (SB_ESYNTAX with line and column in d). */
SB_MUST_USE sb_status sb_csv_open(const char *path, sb_csv **out, sb_diag *d);
/* The same over an open descriptor, read once from where it stands (a pipe
 * is fine): for a caller that reads the records in one pass. The reader
 * owns fd (closed by sb_csv_free, or on failure); name is for messages. */
SB_MUST_USE sb_status sb_csv_open_fd(const char *name, int fd, sb_csv **out,
				     sb_diag *d);
/* The same over a caller-owned buffer that must outlive the reader; `name`
 * is used in diagnostics. */
SB_MUST_USE sb_status sb_csv_open_mem(const char *name, const char *buf,
				      size_t n, sb_csv **out, sb_diag *d);
/* Opens path to read only the records that start in its byte range
 * [start, end), so that threads can share one file. The header is still
 * read from the file's start (sb_csv_header and sb_csv_find work) and must
 * have ncols fields (else SB_ESYNTAX). start must be the first byte of a
 * line after the header. Records are lines (see sb_csv_set_multiline), so
 * ranges cut at line starts read exactly what one reader of the whole file
 * reads; only with multi-line records on can a record that starts before end
 * run past it (sb_csv_multiline then says so). Line numbers count from 1 at start: the caller adds the range's first
 * line. Freed by the caller with sb_csv_free. */
SB_MUST_USE sb_status sb_csv_open_range(const char *path, size_t ncols,
					int64_t start, int64_t end,
					sb_csv **out, sb_diag *d);
void sb_csv_free(sb_csv *c);

/* The file name given at open (borrowed). */
const char *sb_csv_name(const sb_csv *c);
size_t sb_csv_ncols(const sb_csv *c);
sb_csv_field sb_csv_header(const sb_csv *c, size_t i);
/* Index of the first header column whose name equals (ASCII
 * case-insensitively, after trimming blanks) any of the NULL-terminated
 * names, or -1. */
int sb_csv_find(const sb_csv *c, const char *const *names);

/* Reads the next record. Returns 1 when a record is ready, 0 at the end,
 * -1 when the record is malformed (unterminated quote, text after a closing
 * quote, a field count different from the header's, too long): d holds
 * line, column and the reason, the reader has moved past it, and the caller
 * should report it as rejected and call again. Returns -2 on an I/O error
 * (d says which). Blank lines are skipped and are not records.
 * After -1, sb_csv_line is the record's first line while d points at the
 * problem itself (a later line inside a multi-line quoted record; column in
 * UTF-8 characters, 0 for the whole record). A record whose only fault is
 * its field count keeps its fields and raw text (for the reject report's
 * id); other malformed records have no fields (after a stray quote or text
 * after a closing quote, sb_csv_raw still holds the whole fields before
 * the problem, for the same use). After a stray quote or text
 * after a closing quote, reading resumes on the next physical line; after
 * an over-long record, past its end outside quotes. */
int sb_csv_next(sb_csv *c, sb_diag *d);
/* 1-based line on which the current record starts. */
long sb_csv_line(const sb_csv *c);
size_t sb_csv_nfields(const sb_csv *c);
/* Field i of the current record; an empty view when i is out of range. */
sb_csv_field sb_csv_get(const sb_csv *c, size_t i);
/* The current record's raw text without its line ending (borrowed). */
sb_csv_field sb_csv_raw(const sb_csv *c);
/* Records are one physical line each by default: a quoted field that
 * reaches the line end is rejected ("unterminated quoted field: the line
 * ends before its closing quote") and reading resumes on the next line, so
 * a stray quote costs its own line only and every line of the file is a
 * record, a blank line or a reject. on = 1 lets the records after the header
 * span lines through quoted line feeds, as RFC 4180 allows (the header is
 * always one line). sanbao's data files never need it; tests do. */
void sb_csv_set_multiline(sb_csv *c, int on);
/* 1 when the current record (returned as 1 or -1) spans more than one
 * physical line, i.e. a quoted field holds a line feed. A file cut into
 * ranges at line starts is read right only when no record does. */
int sb_csv_multiline(const sb_csv *c);
/* Byte offset in the file (or buffer) just past what has been consumed. */
int64_t sb_csv_offset(const sb_csv *c);
/* Physical lines consumed so far: line feeds read, the header's included
 * (for a range reader, only those from start on). */
long sb_csv_lines(const sb_csv *c);

/* ---- buffered output ------------------------------------------------- */

/* A write buffer over a FILE. Errors are sticky: check sb_out_close. */
typedef struct sb_out {
	FILE *f;
	int own; /* 1: sb_out_close closes f */
	int err; /* errno of the first failed write, else 0 */
	size_t n;
	char buf[1 << 16];
} sb_out;

SB_MUST_USE sb_status sb_out_open(sb_out *o, const char *path, sb_diag *d);
void sb_out_init_file(sb_out *o, FILE *f); /* f stays the caller's */
void sb_out_bytes(sb_out *o, const char *p, size_t n);
void sb_out_str(sb_out *o, const char *s);
void sb_out_char(sb_out *o, char c);
void sb_out_i64(sb_out *o, int64_t v);
void sb_out_fen(sb_out *o, sb_fen v); /* "1234.50" */
/* One CSV field, quoted when it holds a comma, quote, CR or LF. */
void sb_out_field(sb_out *o, const char *p, size_t n);
/* s as a JSON string, quotes included (\" \\ \n escaped, other control
 * bytes and DEL as \u00XX): the one JSON string writer, to an sb_out or a FILE. */
void sb_out_json_str(sb_out *o, const char *s);
void sb_json_str(FILE *f, const char *s);
/* Flushes; closes the file when owned. SB_EIO (with path) on any error. */
SB_MUST_USE sb_status sb_out_close(sb_out *o, const char *path, sb_diag *d);

#endif
