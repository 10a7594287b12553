/* jsonw.c: compact JSON text written straight into a growing buffer, byte
 * for byte what jansson's json_dumps(JSON_COMPACT) writes for the same
 * values (keys in the order written; strings escaped as jansson escapes
 * them), so the hot answers (2206, 2207) need no tree of json_t built and
 * dumped. sb_jw_minify copies JSON text written with spaces (the explain
 * writer's) as compact text with jansson's escapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

bool sb_jw_reserve(sb_jw *w, size_t more)
{
	if (w->oom)
		return false;
	if (w->n + more + 1 <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < w->n + more + 1)
		cap *= 2;
	char *p = realloc(w->p, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	w->p = p;
	w->cap = cap;
	return true;
}

void sb_jw_raw(sb_jw *w, const char *s, size_t n)
{
	if (!sb_jw_reserve(w, n))
		return;
	memcpy(w->p + w->n, s, n);
	w->n += n;
	w->p[w->n] = '\0';
}

void sb_jw_lit(sb_jw *w, const char *s)
{
	sb_jw_raw(w, s, strlen(s));
}

static void put_char(sb_jw *w, char c)
{
	if (!sb_jw_reserve(w, 1))
		return;
	w->p[w->n++] = c;
	w->p[w->n] = '\0';
}

/* The length of the valid UTF-8 sequence at s (of at most n bytes), 0 when
 * it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, min = 0x10000;
	else
		return 0;
	if (k > n)
		return 0;
	unsigned v = c & (0x7fu >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return k;
}

/* One byte of a string's content as jansson escapes it. */
static void put_escaped(sb_jw *w, unsigned char c)
{
	char e[8];
	switch (c) {
	case '"':
		sb_jw_raw(w, "\\\"", 2);
		return;
	case '\\':
		sb_jw_raw(w, "\\\\", 2);
		return;
	case '\b':
		sb_jw_raw(w, "\\b", 2);
		return;
	case '\f':
		sb_jw_raw(w, "\\f", 2);
		return;
	case '\n':
		sb_jw_raw(w, "\\n", 2);
		return;
	case '\r':
		sb_jw_raw(w, "\\r", 2);
		return;
	case '\t':
		sb_jw_raw(w, "\\t", 2);
		return;
	default:
		break;
	}
	if (c < 0x20) {
		snprintf(e, sizeof e, "\\u%04X", c);
		sb_jw_raw(w, e, 6);
	} else {
		put_char(w, (char)c);
	}
}

/* The content of a string (no quotes): an invalid UTF-8 byte becomes
 * U+FFFD, so that the text stays JSON. */
static void put_content(sb_jw *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
		       u[run] != '\\')
			run++;
		if (run > i) {
			sb_jw_raw(w, s + i, run - i);
			i = run;
			continue;
		}
		if (u[i] < 0x80) {
			put_escaped(w, u[i]);
			i++;
			continue;
		}
		size_t k = utf8_len(u + i, n - i);
		if (k) {
			sb_jw_raw(w, s + i, k);
			i += k;
		} else {
			sb_jw_lit(w, "\\uFFFD");
			i++;
		}
	}
}

void sb_jw_str(sb_jw *w, const char *s)
{
	if (!s) {
		sb_jw_lit(w, "null");
		return;
	}
	put_char(w, '"');
	put_content(w, s, strlen(s));
	put_char(w, '"');
}

void sb_jw_key(sb_jw *w, const char *k)
{
	if (w->n && w->p[w->n - 1] != '{' && w->p[w->n - 1] != '[')
		put_char(w, ',');
	put_char(w, '"');
	sb_jw_lit(w, k);
	sb_jw_raw(w, "\":", 2);
}

void sb_jw_comma(sb_jw *w)
{
	if (w->n && w->p[w->n - 1] != '{' && w->p[w->n - 1] != '[')
		put_char(w, ',');
}

void sb_jw_kstr(sb_jw *w, const char *k, const char *v)
{
	sb_jw_key(w, k);
	sb_jw_str(w, v);
}

void sb_jw_kint(sb_jw *w, const char *k, long long v)
{
	char b[32];
	sb_jw_key(w, k);
	sb_jw_raw(w, b, (size_t)snprintf(b, sizeof b, "%lld", v));
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				      -1;
}

void sb_jw_minify(sb_jw *w, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* Outside strings: everything but the spaces, straight into the
		 * buffer (at most what is left of the input). */
		if (!sb_jw_reserve(w, n - i))
			return;
		char *o = w->p + w->n;
		while (i < n && s[i] != '"') {
			char c = s[i++];
			if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
				*o++ = c;
		}
		w->n = (size_t)(o - w->p);
		w->p[w->n] = '\0';
		if (i >= n)
			break;
		/* A string: decode its escapes, write it as jansson would. */
		put_char(w, '"');
		i++;
		while (i < n && s[i] != '"') {
			if (s[i] != '\\') {
				size_t run = i;
				while (run < n && s[run] != '"' && s[run] != '\\')
					run++;
				put_content(w, s + i, run - i);
				i = run;
				continue;
			}
			if (i + 1 >= n)
				break;
			char e = s[i + 1];
			unsigned char b = 0;
			bool byte = true;
			switch (e) {
			case 'n':
				b = '\n';
				break;
			case 't':
				b = '\t';
				break;
			case 'r':
				b = '\r';
				break;
			case 'b':
				b = '\b';
				break;
			case 'f':
				b = '\f';
				break;
			case '/':
				b = '/';
				break;
			case '"':
				b = '"';
				break;
			case '\\':
				b = '\\';
				break;
			case 'u': {
				int v = 0;
				for (int k = 0; k < 4 && i + 2 + (size_t)k < n; k++) {
					int h = hexval(s[i + 2 + (size_t)k]);
					v = h < 0 ? -1 : v < 0 ? -1 : v * 16 + h;
				}
				if (v >= 0 && v < 0x80 && i + 6 <= n) {
					b = (unsigned char)v;
					i += 4;
				} else {
					byte = false; /* not one the explain writer makes: as is */
				}
				break;
			}
			default:
				byte = false;
				break;
			}
			if (byte) {
				put_escaped(w, b);
			} else {
				sb_jw_raw(w, s + i, 2);
			}
			i += 2;
		}
		put_char(w, '"');
		i++;
	}
}
