/* evidence.c: tamper-evident evidence (存证) of a run's outputs. Each
 * output file is cut into rows (lines, the header is row 1); a row's leaf is
 * SM3(0x00 || row), an inner node SM3(0x01 || left || right), an odd node
 * moves up unpaired; a file's root is its tree's top. The evidence root is
 * the same tree over one leaf per output (SM3(0x02 || name || 0 || root))
 * and per input (SM3(0x03 || path || 0 || SM3 of the file)). The file
 * evidence.txt keeps every leaf, so that a check can name the first row
 * that was changed, added or removed; publishing the root alone (on a
 * notary chain, a bureau's website, a signed letter) fixes all of it. */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "io/outfile.h"

sb_status sb_audit_sm3(int tag, const void *p, size_t n, const void *p2, size_t n2,
		       unsigned char out[32], sb_diag *d)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SM3", NULL);
	EVP_MD_CTX *ctx = md ? EVP_MD_CTX_new() : NULL;
	unsigned char t = (unsigned char)tag;
	unsigned int len = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) &&
		  (tag < 0 || EVP_DigestUpdate(ctx, &t, 1)) &&
		  (!n || EVP_DigestUpdate(ctx, p, n)) && (!n2 || EVP_DigestUpdate(ctx, p2, n2)) &&
		  EVP_DigestFinal_ex(ctx, out, &len) && len == 32;
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return ok ? SB_OK : sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 is not available from OpenSSL");
}

/* One SM3 fetched once and one context reused for every row: fetching the
 * algorithm per row would cost more than hashing it. */
typedef struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
} hasher;

static sb_status hasher_init(hasher *h, sb_diag *d)
{
	h->md = EVP_MD_fetch(NULL, "SM3", NULL);
	h->ctx = h->md ? EVP_MD_CTX_new() : NULL;
	return h->ctx ? SB_OK :
			sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 is not available from OpenSSL");
}

static void hasher_release(hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
}

static sb_status hash(hasher *hs, int tag, const void *p, size_t n, const void *p2, size_t n2,
		      unsigned char out[32], sb_diag *d)
{
	unsigned char t = (unsigned char)tag;
	unsigned int len = 0;
	bool ok = EVP_DigestInit_ex(hs->ctx, hs->md, NULL) &&
		  (tag < 0 || EVP_DigestUpdate(hs->ctx, &t, 1)) &&
		  (!n || EVP_DigestUpdate(hs->ctx, p, n)) &&
		  (!n2 || EVP_DigestUpdate(hs->ctx, p2, n2)) &&
		  EVP_DigestFinal_ex(hs->ctx, out, &len) && len == 32;
	return ok ? SB_OK : sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 failed");
}

void sb_audit_hex(const unsigned char *h, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * n] = '\0';
}

typedef struct leaves {
	unsigned char (*h)[32];
	size_t n, cap;
} leaves;

static sb_status push(leaves *l, const unsigned char h[32], sb_diag *d)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		void *v = sb_realloc(l->h, nc * 32);
		if (!v)
			return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
		l->h = v;
		l->cap = nc;
	}
	memcpy(l->h[l->n++], h, 32);
	return SB_OK;
}

/* The Merkle root over l (which it overwrites). */
static sb_status root_of(hasher *hs, leaves *l, unsigned char out[32], sb_diag *d)
{
	if (!l->n)
		return hash(hs, 0, NULL, 0, NULL, 0, out, d);
	size_t n = l->n;
	while (n > 1) {
		size_t m = 0;
		for (size_t i = 0; i < n; i += 2) {
			if (i + 1 == n) {
				memmove(l->h[m++], l->h[i], 32);
				break;
			}
			unsigned char h[32];
			sb_status st = hash(hs, 1, l->h[i], 32, l->h[i + 1], 32, h, d);
			if (st)
				return st;
			memcpy(l->h[m++], h, 32);
		}
		n = m;
	}
	memcpy(out, l->h[0], 32);
	return SB_OK;
}

/* The leaves of every line of path, and (when whole is not NULL) the SM3
 * of the whole file. */
static sb_status file_leaves(hasher *hs, const char *path, leaves *l, unsigned char *whole,
			     sb_diag *d)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read %s: %s", path,
				   strerror(errno));
	EVP_MD *md = EVP_MD_fetch(NULL, "SM3", NULL);
	EVP_MD_CTX *ctx = md ? EVP_MD_CTX_new() : NULL;
	sb_status st =
		ctx && EVP_DigestInit_ex(ctx, md, NULL) ?
			SB_OK :
			sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 is not available from OpenSSL");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (!st && (n = getline(&line, &cap, f)) >= 0) {
		if (whole && !EVP_DigestUpdate(ctx, line, (size_t)n))
			st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 failed");
		size_t k = (size_t)n;
		if (k && line[k - 1] == '\n')
			k--;
		if (k && line[k - 1] == '\r')
			k--;
		unsigned char h[32];
		if (l && !st && !(st = hash(hs, 0, line, k, NULL, 0, h, d)))
			st = push(l, h, d);
	}
	if (!st && ferror(f))
		st = sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read %s: %s", path,
				 strerror(errno));
	unsigned int len;
	if (!st && whole && !EVP_DigestFinal_ex(ctx, whole, &len))
		st = sb_diag_set(d, SB_EIO, NULL, 0, 0, "SM3 failed");
	free(line);
	fclose(f);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return st;
}

static sb_status named_leaf(hasher *hs, int tag, const char *name, const unsigned char h[32],
			    unsigned char out[32], sb_diag *d)
{
	size_t n = strlen(name);
	char *buf = sb_malloc(n + 33);
	if (!buf)
		return sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	memcpy(buf, name, n + 1);
	memcpy(buf + n + 1, h, 32);
	sb_status st = hash(hs, tag, buf, n + 33, NULL, 0, out, d);
	sb_free(buf);
	return st;
}

/* One file to hash: an input whole, or an output's rows. */
typedef struct job {
	const char *path;
	bool rows;
	unsigned char whole[32];
	leaves l;
	sb_status st;
	sb_diag d;
} job;

typedef struct pool {
	job *jobs;
	size_t n;
	atomic_size_t next;
} pool;

static void *run_jobs(void *arg)
{
	pool *p = arg;
	hasher hs = { 0 };
	sb_diag d;
	sb_status st = hasher_init(&hs, &d);
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		job *j = &p->jobs[i];
		sb_diag_clear(&j->d);
		if (st) {
			j->st = st;
			j->d = d;
			continue;
		}
		j->st = file_leaves(&hs, j->path, j->rows ? &j->l : NULL, j->rows ? NULL : j->whole,
				    &j->d);
	}
	hasher_release(&hs);
	return NULL;
}

/* Hashes the files of jobs[0..n) on up to 8 threads: SM3 is the cost of
 * evidence, and the files are independent. */
static sb_status hash_all(job *jobs, size_t n, sb_diag *d)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cores < 1 ? 1 : (size_t)cores;
	if (nt > 8)
		nt = 8;
	if (nt > n)
		nt = n;
	pool p = { .jobs = jobs, .n = n };
	atomic_init(&p.next, 0);
	pthread_t tid[8];
	size_t started = 0;
	for (; started + 1 < nt; started++)
		if (pthread_create(&tid[started], NULL, run_jobs, &p))
			break;
	run_jobs(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].st) {
			*d = jobs[i].d;
			return jobs[i].st;
		}
	return SB_OK;
}

sb_status sb_audit_evidence_write(const char *dir, const char *const *outputs,
				  const char *const *inputs, char root[65], sb_diag *d)
{
	size_t nin = 0, nout = 0;
	while (inputs && inputs[nin])
		nin++;
	while (outputs[nout])
		nout++;
	sb_outdir *od = NULL;
	hasher hs = { 0 };
	leaves top = { 0 };
	char *paths = NULL;
	job *jobs = sb_calloc(nin + nout + 1, sizeof *jobs);
	sb_status st =
		jobs ? hasher_init(&hs, d) : sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (!st && !(paths = sb_malloc((nout + 1) * 4200)))
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (st)
		goto out;
	for (size_t i = 0; i < nin; i++)
		jobs[i].path = inputs[i];
	for (size_t i = 0; i < nout; i++) {
		snprintf(paths + i * 4200, 4200, "%s/%s", dir, outputs[i]);
		jobs[nin + i].path = paths + i * 4200;
		jobs[nin + i].rows = true;
	}
	if ((st = hash_all(jobs, nin + nout, d)) || (st = sb_outdir_open(dir, &od, d)))
		goto out;
	FILE *f = sb_outdir_create(od, "evidence.txt", d);
	if (!f) {
		st = d->code ? d->code : SB_EIO;
		goto out;
	}
	char hex[65], line[4400];
	int k;
	/* The header names the hash; the root comes last, after what it covers. */
	k = snprintf(line, sizeof line, "sanbao-evidence 1 sm3\n");
	if ((st = sb_outdir_write(od, f, line, (size_t)k, d)))
		goto out;
	for (size_t i = 0; i < nin && !st; i++) {
		unsigned char leaf[32];
		if ((st = named_leaf(&hs, 3, inputs[i], jobs[i].whole, leaf, d)) ||
		    (st = push(&top, leaf, d)))
			goto out;
		sb_audit_hex(jobs[i].whole, 32, hex);
		k = snprintf(line, sizeof line, "input %s %s\n", hex, inputs[i]);
		if (k < 0 || (size_t)k >= sizeof line) {
			st = sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "input path too long: %s",
					 inputs[i]);
			goto out;
		}
		st = sb_outdir_write(od, f, line, (size_t)k, d);
	}
	for (size_t i = 0; i < nout && !st; i++) {
		leaves *rows = &jobs[nin + i].l;
		size_t nrows = rows->n;
		k = snprintf(line, sizeof line, "output %s %zu\n", outputs[i], nrows);
		if ((st = sb_outdir_write(od, f, line, (size_t)k, d)))
			goto out;
		/* "row <hex>\n", 69 bytes, written 64 rows at a time */
		char buf[64 * 69];
		size_t used = 0;
		for (size_t r = 0; r < nrows && !st; r++) {
			memcpy(buf + used, "row ", 4);
			sb_audit_hex(rows->h[r], 32, buf + used + 4);
			buf[used + 68] = '\n';
			used += 69;
			if (used == sizeof buf || r + 1 == nrows) {
				st = sb_outdir_write(od, f, buf, used, d);
				used = 0;
			}
		}
		unsigned char fr[32], leaf[32];
		if (st || (st = root_of(&hs, rows, fr, d)) ||
		    (st = named_leaf(&hs, 2, outputs[i], fr, leaf, d)) ||
		    (st = push(&top, leaf, d)))
			goto out;
		sb_audit_hex(fr, 32, hex);
		k = snprintf(line, sizeof line, "file-root %s\n", hex);
		st = sb_outdir_write(od, f, line, (size_t)k, d);
	}
	unsigned char r[32];
	if (st || (st = root_of(&hs, &top, r, d)))
		goto out;
	sb_audit_hex(r, 32, root);
	k = snprintf(line, sizeof line, "root %s\n", root);
	if ((st = sb_outdir_write(od, f, line, (size_t)k, d)))
		goto out;
	st = sb_outdir_commit(od, NULL, d);
out:
	for (size_t i = 0; jobs && i < nin + nout; i++)
		sb_free(jobs[i].l.h);
	sb_free(jobs);
	sb_free(paths);
	sb_free(top.h);
	sb_outdir_close(od);
	hasher_release(&hs);
	return st;
}

static bool unhex(const char *s, size_t n, unsigned char out[32])
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + (size_t)j];
			int x = c >= '0' && c <= '9' ? c - '0' :
				c >= 'a' && c <= 'f' ? c - 'a' + 10 :
						       -1;
			if (x < 0)
				return false;
			v = v * 16 + x;
		}
		out[i] = (unsigned char)v;
	}
	return true;
}

/* Names how the rows of a file differ from its stored leaves. */
static sb_status compare_rows(const char *name, const leaves *want, const leaves *got, sb_diag *d)
{
	size_t n = want->n < got->n ? want->n : got->n;
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(want->h[i], got->h[i], 32))
			continue;
		const char *how = "changed";
		if (got->n > want->n && !memcmp(got->h[i + 1], want->h[i], 32))
			how = "added";
		else if (got->n < want->n && !memcmp(got->h[i], want->h[i + 1], 32))
			how = "removed";
		return sb_diag_set(d, SB_EINPUT, name, (int)(i + 1), 0,
				   "%s row %zu was %s since "
				   "the evidence was written",
				   name, i + 1, how);
	}
	if (got->n != want->n)
		return sb_diag_set(d, SB_EINPUT, name, (int)(n + 1), 0,
				   "%s row %zu was %s since the evidence was written", name, n + 1,
				   got->n > want->n ? "added" : "removed");
	return SB_OK;
}

sb_status sb_audit_evidence_verify(const char *dir, const char *root_hex, FILE *report, sb_diag *d)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/evidence.txt", dir);
	FILE *f = fopen(path, "rb");
	if (!f)
		return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read %s: %s", path,
				   strerror(errno));
	hasher hs = { 0 };
	if (hasher_init(&hs, d)) {
		fclose(f);
		hasher_release(&hs);
		return d->code;
	}
	leaves top = { 0 }, want = { 0 }, got = { 0 };
	char *line = NULL, name[4096] = "", stored_root[65] = "";
	size_t cap = 0, rows_left = 0, lineno = 0;
	ssize_t n;
	sb_status st = SB_OK;
	bool in_output = false;
	long long inputs_changed = 0;
	while (!st && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		unsigned char h[32], leaf[32];
		if (lineno == 1) {
			if (strcmp(line, "sanbao-evidence 1 sm3"))
				st = sb_diag_set(d, SB_EINPUT, path, 1, 1,
						 "not a sanbao evidence file "
						 "(the first line is \"sanbao-evidence 1 sm3\")");
		} else if (!strncmp(line, "input ", 6) && n > 71 && line[70] == ' ' &&
			   unhex(line + 6, 64, h)) {
			const char *in = line + 71;
			unsigned char now[32];
			sb_diag ignored;
			if (!(st = named_leaf(&hs, 3, in, h, leaf, d)))
				st = push(&top, leaf, d);
			if (file_leaves(&hs, in, NULL, now, &ignored)) {
				if (report)
					fprintf(report,
						"  input %s: not readable here, not compared\n",
						in);
			} else if (memcmp(now, h, 32)) {
				inputs_changed++;
				if (report)
					fprintf(report, "  input %s: CHANGED since the run\n", in);
			} else if (report) {
				fprintf(report, "  input %s: unchanged\n", in);
			}
		} else if (!strncmp(line, "output ", 7) && !in_output) {
			char *sp = strrchr(line + 7, ' ');
			char *end;
			unsigned long long rows = sp ? strtoull(sp + 1, &end, 10) : 0;
			if (!sp || *end || (size_t)(sp - line - 7) >= sizeof name) {
				st = sb_diag_set(d, SB_EINPUT, path, (int)lineno, 1,
						 "malformed output line");
				break;
			}
			memcpy(name, line + 7, (size_t)(sp - line - 7));
			name[sp - line - 7] = '\0';
			if (strchr(name, '/') || !strcmp(name, "..")) {
				st = sb_diag_set(
					d, SB_EINPUT, path, (int)lineno, 8,
					"an output is a file name in the folder, not a path");
				break;
			}
			rows_left = (size_t)rows;
			want.n = 0;
			in_output = true;
		} else if (in_output && rows_left && !strncmp(line, "row ", 4) &&
			   unhex(line + 4, (size_t)n - 4, h)) {
			st = push(&want, h, d);
			rows_left--;
		} else if (in_output && !rows_left && !strncmp(line, "file-root ", 10) &&
			   unhex(line + 10, (size_t)n - 10, h)) {
			in_output = false;
			unsigned char r[32];
			got.n = 0;
			char fp[8400];
			snprintf(fp, sizeof fp, "%s/%s", dir, name);
			leaves copy = { 0 };
			for (size_t i = 0; i < want.n && !st; i++)
				st = push(&copy, want.h[i], d);
			if (!st)
				st = root_of(&hs, &copy, r, d);
			sb_free(copy.h);
			if (st)
				break;
			if (memcmp(r, h, 32)) {
				st = sb_diag_set(
					d, SB_EINPUT, path, (int)lineno, 11,
					"the rows stored "
					"for %s do not give its file-root: the evidence file "
					"itself was changed",
					name);
				break;
			}
			if ((st = named_leaf(&hs, 2, name, h, leaf, d)) ||
			    (st = push(&top, leaf, d)) ||
			    (st = file_leaves(&hs, fp, &got, NULL, d)) ||
			    (st = compare_rows(name, &want, &got, d)))
				break;
			if (report)
				fprintf(report, "  %s: %zu rows unchanged\n", name, want.n);
		} else if (!in_output && !strncmp(line, "root ", 5) && n == 69) {
			memcpy(stored_root, line + 5, 64);
			stored_root[64] = '\0';
		} else {
			st = sb_diag_set(d, SB_EINPUT, path, (int)lineno, 1,
					 "line %zu of the evidence "
					 "file is not one it writes",
					 lineno);
		}
	}
	if (!st && (in_output || !stored_root[0]))
		st = sb_diag_set(d, SB_EINPUT, path, (int)lineno, 0,
				 "the evidence file is cut short (no root line)");
	unsigned char r[32];
	char hex[65];
	if (!st && !(st = root_of(&hs, &top, r, d))) {
		sb_audit_hex(r, 32, hex);
		if (strcmp(hex, stored_root))
			st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
					 "the evidence file's root %s is "
					 "not the root of what it lists (%s): it was changed",
					 stored_root, hex);
		else if (root_hex && strcmp(root_hex, hex))
			st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
					 "the evidence root %s is not the "
					 "published root %s",
					 hex, root_hex);
		else if (inputs_changed)
			st = sb_diag_set(d, SB_EINPUT, path, 0, 0,
					 "%lld input%s changed since the "
					 "run (listed above)",
					 inputs_changed, inputs_changed == 1 ? "" : "s");
		else if (report)
			fprintf(report, "  root %s%s\n", hex,
				root_hex ? " = the published root" : "");
	}
	free(line);
	fclose(f);
	hasher_release(&hs);
	sb_free(top.h);
	sb_free(want.h);
	sb_free(got.h);
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The policy files of dir (*.yaml, sorted), as paths the caller frees. */
static sb_status policy_files(const char *dir, char ***out, size_t *n, sb_diag *d)
{
	*out = NULL;
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return SB_OK; /* the batch says why */
	size_t cap = 0;
	struct dirent *e;
	sb_status st = SB_OK;
	while (!st && (e = readdir(dp))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **v = sb_realloc(*out, cap * sizeof *v);
			if (!v) {
				st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			*out = v;
		}
		size_t m = strlen(dir) + len + 2;
		if (!((*out)[*n] = sb_malloc(m))) {
			st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
			break;
		}
		snprintf((*out)[*n], m, "%s/%s", dir, e->d_name);
		(*n)++;
	}
	closedir(dp);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_str);
	return st;
}

sb_status sb_audit_evidence_run(const char *dir, const char *const *outputs,
				const char *policies_dir, const char *const *files, size_t nfiles,
				char root[65], sb_diag *d)
{
	/* The outputs are committed: an earlier run's evidence no longer
	 * describes them. Better none than a stale one, if writing the new
	 * one fails. */
	char old[4200];
	snprintf(old, sizeof old, "%s/evidence.txt", dir);
	if (unlink(old) && errno != ENOENT)
		return sb_diag_set(d, SB_EIO, old, 0, 0, "cannot remove the earlier %s: %s", old,
				   strerror(errno));
	char **pols = NULL;
	size_t npols = 0;
	sb_status st = policy_files(policies_dir, &pols, &npols, d);
	const char **inputs = st ? NULL : sb_calloc(npols + nfiles + 1, sizeof *inputs);
	if (!st && !inputs)
		st = sb_diag_set(d, SB_ENOMEM, NULL, 0, 0, "out of memory");
	if (!st) {
		size_t k = 0;
		for (size_t i = 0; i < nfiles; i++)
			if (files[i])
				inputs[k++] = files[i];
		for (size_t i = 0; i < npols; i++)
			inputs[k++] = pols[i];
		st = sb_audit_evidence_write(dir, outputs, inputs, root, d);
	}
	sb_free(inputs);
	for (size_t i = 0; i < npols; i++)
		sb_free(pols[i]);
	sb_free(pols);
	return st;
}
