/* ydoc.c: strict YAML access for policies and cases, on libyaml's document
 * API. Everything is text: "0.7", "2023-01-01" and "none" are read by the
 * typed readers here, never by YAML's own type guessing. */
#include "policy/ydoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "sanbao/csv.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *p = sb_malloc(n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

static sb_status load(const char *path, FILE *f, const char *buf, size_t n, sb_ydoc **out,
			  sb_diag *d)
{
	sb_ydoc *doc = sb_calloc(1, sizeof *doc);
	char *slash;
	if (!doc || !(doc->path = dup_str(path)) || !(doc->dir = dup_str(path))) {
		sb_ydoc_free(doc);
		return sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
	}
	slash = strrchr(doc->dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		doc->dir[0] = '\0';

	yaml_parser_t parser;
	sb_status st = SB_OK;
	if (!yaml_parser_initialize(&parser)) {
		sb_ydoc_free(doc);
		return sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
	}
	if (f)
		yaml_parser_set_input_file(&parser, f);
	else
		yaml_parser_set_input_string(&parser, (const unsigned char *)buf, n);
	if (!yaml_parser_load(&parser, &doc->doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			st = sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
		else
			st = sb_diag_set(d, SB_ESYNTAX, path, (int)parser.problem_mark.line + 1,
					 (int)parser.problem_mark.column + 1, "not valid YAML: %s%s%s",
					 parser.problem ? parser.problem : "syntax error",
					 parser.context ? " " : "", parser.context ? parser.context : "");
	} else {
		doc->loaded = 1;
		if (!yaml_document_get_root_node(&doc->doc))
			st = sb_diag_set(d, SB_ESYNTAX, path, 1, 1, "the file is empty");
	}
	yaml_parser_delete(&parser);
	if (st != SB_OK) {
		sb_ydoc_free(doc);
		return st;
	}
	*out = doc;
	return SB_OK;
}

/* Policies and cases are small; a larger file is not one. */
#define YDOC_MAX_BYTES ((size_t)16 << 20)

/* Refuses text that is not UTF-8 with the place of the first bad byte (YAML
 * would say 1:1 whatever the line) and, for GBK, how to convert it. */
static sb_status check_utf8(const char *path, const char *buf, size_t n, sb_diag *d)
{
	size_t ok = sb_utf8_valid(buf, n);
	if (ok == n)
		return SB_OK;
	int line = 1, col = 1;
	for (size_t i = 0; i < ok; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			col++;
		}
	}
	return sb_diag_set(d, SB_ESYNTAX, path, line, col,
			   "the file is not UTF-8 text (byte 0x%02X)%s", (unsigned char)buf[ok],
			   sb_looks_gbk(buf + ok, n - ok) ?
				   "; it looks like GBK: convert it with iconv -f GBK -t UTF-8" :
				   "; save it as UTF-8");
}

sb_status sb_ydoc_load(const char *path, sb_ydoc **out, sb_diag *d)
{
	*out = NULL;
	int fd;
	sb_status st = sb_input_open(path, &fd, d);
	if (st)
		return st;
	struct stat sbuf;
	if (fstat(fd, &sbuf) != 0 || (uint64_t)sbuf.st_size > YDOC_MAX_BYTES) {
		close(fd);
		return sb_diag_set(d, SB_ELIMIT, path, 0, 0, "larger than %zu MiB: not a policy or case",
				   YDOC_MAX_BYTES >> 20);
	}
	size_t cap = (size_t)sbuf.st_size + 1, n = 0;
	char *buf = sb_malloc(cap);
	if (!buf) {
		close(fd);
		return sb_diag_set(d, SB_ENOMEM, path, 0, 0, "out of memory");
	}
	for (;;) {
		if (n == cap) {
			close(fd);
			sb_free(buf);
			return sb_diag_set(d, SB_EIO, path, 0, 0, "the file grew while it was read");
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			sb_free(buf);
			return sb_diag_set(d, SB_EIO, path, 0, 0, "cannot read: %s", strerror(e));
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	st = check_utf8(path, buf, n, d);
	if (!st)
		st = load(path, NULL, buf, n, out, d);
	sb_free(buf);
	return st;
}

sb_status sb_ydoc_load_mem(const char *name, const char *buf, size_t n, sb_ydoc **out,
			   sb_diag *d)
{
	*out = NULL;
	sb_status st = check_utf8(name, buf, n, d);
	return st ? st : load(name, NULL, buf, n, out, d);
}

void sb_ydoc_free(sb_ydoc *doc)
{
	if (!doc)
		return;
	if (doc->loaded)
		yaml_document_delete(&doc->doc);
	sb_free(doc->path);
	sb_free(doc->dir);
	sb_free(doc);
}

sb_ynode sb_ydoc_root(sb_ydoc *doc)
{
	sb_ynode n = {doc, yaml_document_get_root_node(&doc->doc)};
	return n;
}

bool sb_ynode_is_map(sb_ynode n)
{
	return n.n && n.n->type == YAML_MAPPING_NODE;
}

bool sb_ynode_is_seq(sb_ynode n)
{
	return n.n && n.n->type == YAML_SEQUENCE_NODE;
}

bool sb_ynode_is_scalar(sb_ynode n)
{
	return n.n && n.n->type == YAML_SCALAR_NODE;
}

const char *sb_ynode_text(sb_ynode n, size_t *len)
{
	if (!sb_ynode_is_scalar(n)) {
		*len = 0;
		return NULL;
	}
	*len = n.n->data.scalar.length;
	return (const char *)n.n->data.scalar.value;
}

bool sb_ynode_eq(sb_ynode n, const char *s)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	return t && len == strlen(s) && !memcmp(t, s, len);
}

size_t sb_ynode_len(sb_ynode n)
{
	if (sb_ynode_is_map(n))
		return (size_t)(n.n->data.mapping.pairs.top - n.n->data.mapping.pairs.start);
	if (sb_ynode_is_seq(n))
		return (size_t)(n.n->data.sequence.items.top - n.n->data.sequence.items.start);
	return 0;
}

sb_ynode sb_ynode_key(sb_ynode map, size_t i)
{
	yaml_node_pair_t *pair = map.n->data.mapping.pairs.start + i;
	sb_ynode k = {map.doc, yaml_document_get_node(&map.doc->doc, pair->key)};
	return k;
}

sb_ynode sb_ynode_value(sb_ynode map, size_t i)
{
	yaml_node_pair_t *pair = map.n->data.mapping.pairs.start + i;
	sb_ynode v = {map.doc, yaml_document_get_node(&map.doc->doc, pair->value)};
	return v;
}

sb_ynode sb_ynode_item(sb_ynode seq, size_t i)
{
	yaml_node_item_t *item = seq.n->data.sequence.items.start + i;
	sb_ynode v = {seq.doc, yaml_document_get_node(&seq.doc->doc, *item)};
	return v;
}

sb_ynode sb_ynode_get(sb_ynode map, const char *key)
{
	size_t n = sb_ynode_len(map);
	if (sb_ynode_is_map(map))
		for (size_t i = 0; i < n; i++)
			if (sb_ynode_eq(sb_ynode_key(map, i), key))
				return sb_ynode_value(map, i);
	sb_ynode none = {map.doc, NULL};
	return none;
}

sb_status sb_ynode_error(sb_diag *d, sb_status code, sb_ynode n, const char *fmt, ...)
{
	char msg[sizeof d->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int line = n.n ? (int)n.n->start_mark.line + 1 : 0;
	int col = n.n ? (int)n.n->start_mark.column + 1 : 0;
	return sb_diag_set(d, code, n.doc ? n.doc->path : "", line, col, "%s", msg);
}

/* Quoted text of a scalar for messages, shortened when long. */
static const char *show(sb_ynode n, char *buf, size_t cap)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	if (!t)
		snprintf(buf, cap, "%s", sb_ynode_is_map(n) ? "a mapping" : "a list");
	else if (len > 40)
		snprintf(buf, cap, "\"%.37s...\"", t);
	else
		snprintf(buf, cap, "\"%.*s\"", (int)len, t);
	return buf;
}

sb_status sb_ynode_check_keys(sb_ynode map, const char *what,
			      const char *const *allowed, sb_diag *d)
{
	if (!sb_ynode_is_map(map))
		return sb_ynode_error(d, SB_EPOLICY, map, "%s must be a mapping of keys to values", what);
	size_t n = sb_ynode_len(map);
	for (size_t i = 0; i < n; i++) {
		sb_ynode k = sb_ynode_key(map, i);
		char buf[64];
		if (!sb_ynode_is_scalar(k))
			return sb_ynode_error(d, SB_EPOLICY, k, "a key of %s must be a plain word", what);
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = sb_ynode_eq(k, *a);
		if (!ok) {
			char list[512];
			size_t used = 0;
			list[0] = '\0';
			for (const char *const *a = allowed; *a; a++) {
				int w = snprintf(list + used, sizeof list - used, "%s%s",
						 a == allowed ? "" : ", ", *a);
				if (w < 0 || (size_t)w >= sizeof list - used)
					break;
				used += (size_t)w;
			}
			return sb_ynode_error(d, SB_EPOLICY, k, "unknown key %s in %s: allowed keys are %s",
					      show(k, buf, sizeof buf), what, list);
		}
		size_t len;
		const char *t = sb_ynode_text(k, &len);
		for (size_t j = 0; j < i; j++) {
			size_t len2;
			const char *t2 = sb_ynode_text(sb_ynode_key(map, j), &len2);
			if (t2 && len2 == len && !memcmp(t, t2, len))
				return sb_ynode_error(d, SB_EPOLICY, k, "duplicate key %s in %s",
						      show(k, buf, sizeof buf), what);
		}
	}
	return SB_OK;
}

sb_status sb_ynode_money(sb_ynode n, const char *what, sb_fen *out, sb_diag *d)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	const char *why = "is not an amount";
	char buf[64];
	if (t && sb_money_parse(t, len, out, &why) == SB_OK) {
		if (*out < 0)
			return sb_ynode_error(d, SB_EPOLICY, n, "%s %s is negative: amounts are yuan >= 0",
					      what, show(n, buf, sizeof buf));
		return SB_OK;
	}
	return sb_ynode_error(d, SB_EPOLICY, n,
			      "%s %s %s: write yuan with at most 2 decimals, e.g. 300 or 17126.42",
			      what, show(n, buf, sizeof buf), why);
}

sb_status sb_ynode_date(sb_ynode n, const char *what, sb_date *out, sb_diag *d)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	const char *why = "is not a date";
	char buf[64];
	if (t && sb_date_parse(t, len, 0, out, &why) == SB_OK)
		return SB_OK;
	return sb_ynode_error(d, SB_EPOLICY, n, "%s %s is not a date: write YYYY-MM-DD (%s)",
			      what, show(n, buf, sizeof buf), why);
}

sb_status sb_ynode_bool(sb_ynode n, const char *what, bool *out, sb_diag *d)
{
	char buf[64];
	if (sb_ynode_eq(n, "true")) {
		*out = true;
		return SB_OK;
	}
	if (sb_ynode_eq(n, "false")) {
		*out = false;
		return SB_OK;
	}
	return sb_ynode_error(d, SB_EPOLICY, n, "%s %s is not true or false", what,
			      show(n, buf, sizeof buf));
}

sb_status sb_ynode_bp(sb_ynode n, const char *what, int64_t lo, int64_t hi,
		      int64_t *out, sb_diag *d)
{
	size_t len;
	const char *t = sb_ynode_text(n, &len);
	const char *why = "";
	char buf[64];
	if (!t || sb_bp_parse(t, len, 1, out, &why) != SB_OK)
		return sb_ynode_error(d, SB_EPOLICY, n,
				      "%s %s is not a rate: write a decimal with at most 4 decimals "
				      "(0.75) or a percent (\"75%%\")",
				      what, show(n, buf, sizeof buf));
	if (*out < lo || *out > hi) {
		if (lo == 0 && hi == 10000)
			return sb_ynode_error(d, SB_EPOLICY, n, "%s %s is outside [0, 1]", what,
					      show(n, buf, sizeof buf));
		return sb_ynode_error(d, SB_EPOLICY, n, "%s %s is outside [%g, %g]", what,
				      show(n, buf, sizeof buf), (double)lo / 10000, (double)hi / 10000);
	}
	return SB_OK;
}
