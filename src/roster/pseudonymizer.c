/* pseudonymizer.c: keyed pseudonyms of resident IDs (HMAC-SM3 or
 * HMAC-SHA256 through OpenSSL's EVP_MAC), and the streaming rewrite of a CSV
 * file's ID columns with them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/arena.h"
#include "sanbao/csv.h"
#include "sanbao/io.h"
#include "sanbao/roster.h"

struct sb_pseudonymizer {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

/* Invalid values listed one by one before the report only counts them: a
 * file with a broken ID column should not bury the terminal. */
#define REPORT_MAX 100

void sb_pseudonymizer_free(sb_pseudonymizer *p)
{
	if (!p)
		return;
	EVP_MAC_CTX_free(p->ctx);
	EVP_MAC_free(p->mac);
	sb_free(p);
}

sb_status sb_pseudonymizer_new(sb_pseudo_hash hash, const void *key, size_t n,
			       sb_pseudonymizer **out, sb_diag *d)
{
	*out = NULL;
	if (n < SB_PSEUDO_KEY_MIN || n > SB_PSEUDO_KEY_MAX)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "key file must hold at least %d bytes (and at most %d); it holds %zu",
				   SB_PSEUDO_KEY_MIN, SB_PSEUDO_KEY_MAX, n);
	sb_pseudonymizer *p = sb_calloc(1, sizeof *p);

	if (!p)
		return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
	/* The digest is a parameter of the one HMAC implementation, so SM3
	 * needs no code of its own here; OpenSSL 3 ships it in the default
	 * provider. */
	char digest[16];

	strcpy(digest, hash == SB_PSEUDO_SHA256 ? "SHA256" : "SM3");
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (p->mac)
		p->ctx = EVP_MAC_CTX_new(p->mac);
	if (!p->ctx || !EVP_MAC_init(p->ctx, key, n, params)) {
		sb_pseudonymizer_free(p);
		return sb_diag_set(d, SB_EINPUT, "", 0, 0,
				   "OpenSSL cannot compute HMAC-%s here (is the default provider "
				   "available?)", digest);
	}
	*out = p;
	return SB_OK;
}

sb_status sb_pseudonymizer_new_from_file(sb_pseudo_hash hash, const char *path,
					 sb_pseudonymizer **out, sb_diag *d)
{
	*out = NULL;
	/* A key is read once, so a pipe (`--key <(...)`) is fine; O_NONBLOCK
	 * only keeps a FIFO that no one writes from hanging the open (it then
	 * reads as empty: too short). */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot open the key file: %s",
				   strerror(errno));
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	/* One byte more than allowed tells a too-long key from a full one. */
	unsigned char key[SB_PSEUDO_KEY_MAX + 1];
	size_t n = 0;

	while (n < sizeof key) {
		ssize_t k = read(fd, key + n, sizeof key - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;

			close(fd);
			return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read the key file: %s",
					   strerror(e));
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	/* The key is the file's bytes as they are, except one line ending at
	 * the end (LF or CR LF), which editors and `echo` add unasked: two
	 * departments with "the same key" then get the same pseudonyms. */
	if (n <= SB_PSEUDO_KEY_MAX && n && key[n - 1] == '\n') {
		n--;
		if (n && key[n - 1] == '\r')
			n--;
	}
	sb_status st = sb_pseudonymizer_new(hash, key, n, out, d);

	/* The key guards every ID: leave no copy of it on the stack. */
	OPENSSL_cleanse(key, sizeof key);
	if (st && d->file[0] == '\0')
		snprintf(d->file, sizeof d->file, "%s", path);
	return st;
}

sb_status sb_pseudonymizer_mac(sb_pseudonymizer *p, const void *msg, size_t n,
			       unsigned char out[32], sb_diag *d)
{
	size_t len = 0;

	/* A NULL key re-initialises from the stored key schedule: the inner and
	 * outer pads are hashed once per hasher, not once per ID. */
	if (!EVP_MAC_init(p->ctx, NULL, 0, NULL) || !EVP_MAC_update(p->ctx, msg, n) ||
	    !EVP_MAC_final(p->ctx, out, &len, 32) || len != 32)
		return sb_diag_set(d, SB_EINPUT, "", 0, 0, "OpenSSL failed to compute an HMAC");
	return SB_OK;
}

sb_status sb_pseudonymizer_id(sb_pseudonymizer *p, const char *id, char out[SB_ID_LEN + 1],
			      sb_diag *d)
{
	unsigned char mac[32];
	sb_status st = sb_pseudonymizer_mac(p, id, SB_ID_LEN, mac, d);

	if (st)
		return st;
	uint64_t key = 0;

	for (int i = 0; i < 8; i++)
		key = key << 8 | mac[i];
	sb_person_key_text(key, 1, out);
	return SB_OK;
}

/* ---- files ---------------------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c;
}

/* Header names compare as sb_csv_find compares them: blanks trimmed, ASCII
 * case folded. */
static int same_name(sb_csv_field f, const char *s, size_t n)
{
	while (f.n && (f.p[0] == ' ' || f.p[0] == '\t'))
		f.p++, f.n--;
	while (f.n && (f.p[f.n - 1] == ' ' || f.p[f.n - 1] == '\t'))
		f.n--;
	while (n && (s[0] == ' ' || s[0] == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (f.n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)f.p[i]) != lower((unsigned char)s[i]))
			return 0;
	return 1;
}

/* 1 when v, blanks around it trimmed, has the shape of a resident ID:
 * 17 digits and a digit or X (either case), whatever its check digit. */
static int id_shaped(sb_csv_field v)
{
	while (v.n && (v.p[0] == ' ' || v.p[0] == '\t'))
		v.p++, v.n--;
	while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
		v.n--;
	if (v.n != SB_ID_LEN)
		return 0;
	for (int i = 0; i < SB_ID_LEN - 1; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return 0;
	char last = v.p[SB_ID_LEN - 1];

	return (last >= '0' && last <= '9') || last == 'X' || last == 'x';
}

static int is_pseudonym(sb_csv_field v)
{
	uint64_t key;
	int pseudo = 0;

	return !sb_person_key(v.p, v.n, &key, &pseudo, NULL, NULL) && pseudo;
}

/* Whether a column named id holds persons, decided over the whole file: yes
 * as soon as one value has the shape of a resident ID or is a pseudonym, so
 * that no bad row (a wrong check digit, a blank, a lower-case x) can make
 * the column pass through with its IDs; a claim number never has that
 * shape. */
static sb_status id_column_holds_persons(const char *path, size_t col, int *yes, sb_diag *d)
{
	sb_csv *c;
	sb_status st = sb_csv_open(path, &c, d);

	if (st)
		return st;
	*yes = 0;
	for (;;) {
		sb_diag skip;
		int r = sb_csv_next(c, &skip);

		if (r == 0)
			break;
		if (r == -2) {
			*d = skip;
			sb_csv_free(c);
			return d->code ? d->code : SB_EIO;
		}
		for (size_t i = 0; i < sb_csv_nfields(c); i++) {
			sb_csv_field f = sb_csv_get(c, i);

			/* A ragged row may have shifted its id over. */
			if ((i == col || r < 0) && (id_shaped(f) || is_pseudonym(f))) {
				*yes = 1;
				break;
			}
		}
		if (*yes)
			break;
	}
	sb_csv_free(c);
	return SB_OK;
}

static void add_column_name(sb_pseudo_stats *st, sb_csv_field name)
{
	size_t used = strlen(st->columns);

	if (used + name.n + 2 >= sizeof st->columns)
		return;
	if (used)
		st->columns[used++] = ',';
	memcpy(st->columns + used, name.p, name.n);
	st->columns[used + name.n] = '\0';
	st->ncolumns++;
}

/* Marks in `replace` the columns whose values are IDs; see the header. */
static sb_status pick_columns(const sb_csv *c, const char *path, const char *columns,
			      unsigned char *replace, sb_pseudo_stats *st, sb_diag *d)
{
	size_t ncols = sb_csv_ncols(c);

	if (columns) {
		const char *s = columns;

		while (*s) {
			const char *e = strchr(s, ',');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			int found = 0;

			for (size_t i = 0; i < ncols; i++) {
				if (same_name(sb_csv_header(c, i), s, n) && !replace[i]) {
					replace[i] = 1;
					found = 1;
					add_column_name(st, sb_csv_header(c, i));
				} else if (same_name(sb_csv_header(c, i), s, n)) {
					found = 1;
				}
			}
			if (!found && n)
				return sb_diag_set(d, SB_EINPUT, path, 1, 0,
						   "--columns names \"%.*s\", which the header does not have",
						   (int)(n > 64 ? 64 : n), s);
			s += n;
			if (*s == ',')
				s++;
		}
		return SB_OK;
	}
	for (size_t i = 0; i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);

		/* The person columns of the one column table (src/io/columns.c),
		 * aliases included; `id` only when it holds resident IDs. */
		int kind = sb_io_person_column(h);
		if (kind == SB_IO_PERSON) {
			replace[i] = 1;
		} else if (kind == SB_IO_MAYBE_PERSON) {
			int yes = 0;
			sb_status s = id_column_holds_persons(path, i, &yes, d);

			if (s)
				return s;
			replace[i] = (unsigned char)yes;
		}
		if (replace[i])
			add_column_name(st, h);
	}
	return SB_OK;
}

/* Writing over the input would truncate it before it is read. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void report_value(FILE *report, const char *path, long line, sb_csv_field col,
			 sb_csv_field v, const char *why, bool show_ids)
{
	char shown[72];
	size_t n = v.n < sizeof shown - 1 ? v.n : sizeof shown - 1;

	if (show_ids) {
		memcpy(shown, v.p, n);
		shown[n] = '\0';
	} else {
		sb_id_mask(v.p, n, shown);
	}
	fprintf(report, "%s:%ld: %.*s \"%s\" %s; replaced by a PSX marker\n", path, line,
		(int)col.n, col.p, shown, why);
}

/* "PSX" and 16 hex digits of HMAC(key, value): what an ID column's value
 * that is no valid ID becomes. The same bad value gets the same marker on
 * both sides, and no reader takes it for a person (it is 19 characters). */
#define SB_PSX_LEN 19

static sb_status marker(sb_pseudonymizer *p, sb_csv_field v, char out[SB_PSX_LEN + 1],
			sb_diag *d)
{
	unsigned char mac[32];
	sb_status st = sb_pseudonymizer_mac(p, v.p, v.n, mac, d);

	if (st)
		return st;
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "PSX", 3);
	for (int i = 0; i < 8; i++) {
		out[3 + 2 * i] = hex[mac[i] >> 4];
		out[4 + 2 * i] = hex[mac[i] & 15];
	}
	out[SB_PSX_LEN] = '\0';
	return SB_OK;
}

/* Counts an ID-shaped value carried in a column that is not replaced. */
static void note_shaped(sb_pseudo_stats *st, const sb_csv *c, size_t col, long line)
{
	if (!st->shaped++)
		st->shaped_line = line;
	sb_csv_field h = sb_csv_header(c, col);
	size_t used = strlen(st->shaped_columns);

	/* Each column named once. */
	for (const char *q = st->shaped_columns; *q;) {
		const char *e = strchr(q, ',');
		size_t n = e ? (size_t)(e - q) : strlen(q);

		if (n == h.n && !memcmp(q, h.p, n))
			return;
		q += n + (e != NULL);
	}
	if (used + h.n + 2 >= sizeof st->shaped_columns)
		return;
	if (used)
		st->shaped_columns[used++] = ',';
	memcpy(st->shaped_columns + used, h.p, h.n);
	st->shaped_columns[used + h.n] = '\0';
}

sb_status sb_pseudonymizer_file(sb_pseudonymizer *p, const char *in_path, const char *out_path,
				const char *columns, bool show_ids, FILE *report,
				sb_pseudo_stats *st, sb_diag *d)
{
	memset(st, 0, sizeof *st);
	if (same_file(in_path, out_path))
		return sb_diag_set(d, SB_EINPUT, out_path, 0, 0,
				   "is the input file itself: write the pseudonymised copy elsewhere");
	sb_csv *c;
	sb_status rc = sb_csv_open(in_path, &c, d);

	if (rc)
		return rc;
	size_t ncols = sb_csv_ncols(c);
	unsigned char replace[SB_CSV_MAX_FIELDS] = { 0 };

	rc = pick_columns(c, in_path, columns, replace, st, d);
	if (rc) {
		sb_csv_free(c);
		return rc;
	}
	sb_out *o = sb_malloc(sizeof *o);

	if (!o) {
		sb_csv_free(c);
		return sb_diag_set(d, SB_ENOMEM, "", 0, 0, "out of memory");
	}
	rc = sb_out_open(o, out_path, d);
	if (rc) {
		sb_free(o);
		sb_csv_free(c);
		return rc;
	}
	for (size_t i = 0; i < ncols; i++) {
		sb_csv_field h = sb_csv_header(c, i);

		if (i)
			sb_out_char(o, ',');
		sb_out_field(o, h.p, h.n);
	}
	sb_out_char(o, '\n');

	long long listed = 0;

	for (;;) {
		sb_diag bad;

		sb_diag_clear(&bad);
		int r = sb_csv_next(c, &bad);

		if (r == 0)
			break;
		if (r == -2) {
			*d = bad;
			rc = bad.code ? bad.code : SB_EIO;
			break;
		}
		size_t nf = sb_csv_nfields(c);

		st->rows++;
		if (r == -1 && nf == 0) {
			/* Nothing of the record can be trusted to be split into
			 * fields, so nothing is written: its raw text may hold an ID. */
			st->dropped++;
			if (report) {
				char msg[1400];

				fprintf(report, "%s: not carried: %s\n", in_path,
					sb_diag_format(&bad, msg, sizeof msg));
			}
			continue;
		}
		/* A record with a wrong field count is carried with its IDs
		 * replaced, so that the reader of the copy rejects it on the
		 * same line as the reader of the original. Its fields may have
		 * shifted (an unquoted comma in a name), so there any field that
		 * is a valid ID is replaced, wherever it is. */
		for (size_t i = 0; i < nf; i++) {
			sb_csv_field f = sb_csv_get(c, i);
			int id_column = i < ncols && replace[i];

			if (i)
				sb_out_char(o, ',');
			int shaped = f.n && id_shaped(f);

			if (!f.n || (!id_column && (r == 1 || (!shaped && sb_id_check(f.p, f.n, NULL,
										     NULL))))) {
				if (shaped && i < ncols)
					note_shaped(st, c, i, sb_csv_line(c));
				sb_out_field(o, f.p, f.n);
				continue;
			}
			uint64_t key;
			int pseudo;
			const char *why = NULL;

			if (sb_person_key(f.p, f.n, &key, &pseudo, NULL, &why)) {
				/* Not an ID, yet in an ID column (or shaped like
				 * one in a ragged row): it may be most of one, so it
				 * is never written as it is. */
				st->invalid++;
				if (report && listed++ < REPORT_MAX)
					report_value(report, in_path, sb_csv_line(c),
						     sb_csv_header(c, i), f, why, show_ids);
				char mk[SB_PSX_LEN + 1];

				rc = marker(p, f, mk, d);
				if (rc)
					goto out;
				sb_out_bytes(o, mk, SB_PSX_LEN);
			} else if (pseudo) {
				st->kept++;
				sb_out_bytes(o, f.p, f.n);
			} else {
				char ps[SB_ID_LEN + 1];

				rc = sb_pseudonymizer_id(p, f.p, ps, d);
				if (rc)
					goto out;
				st->replaced++;
				sb_out_bytes(o, ps, SB_ID_LEN);
			}
		}
		sb_out_char(o, '\n');
	}
out:
	if (report && listed > REPORT_MAX)
		fprintf(report, "%s: %lld more invalid IDs not listed\n", in_path,
			listed - REPORT_MAX);
	sb_csv_free(c);
	sb_diag od;

	sb_diag_clear(&od);
	sb_status cs = sb_out_close(o, out_path, &od);

	sb_free(o);
	if (!rc && cs) {
		*d = od;
		rc = cs;
	}
	if (rc)
		unlink(out_path);
	return rc;
}
