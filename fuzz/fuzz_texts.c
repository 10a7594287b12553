/* fuzz_texts.c: libFuzzer target for the policy-text splitter: any bytes
 * through encoding detection and sb_texts_split. Checks the splitter's
 * promises: every clause and unplaced line lies inside the (converted)
 * input, paths are non-empty and unique within a document, depths are
 * within the limit and lines increase. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "sanbao/texts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                          \
		}                                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_arena a;
	sb_arena_init(&a);
	sb_diag d;
	sb_diag_clear(&d);
	const char *text;
	size_t n;
	bool conv;
	if (sb_texts_to_utf8(&a, "fuzz.txt", (const char *)data, size, &text, &n, &conv, &d)) {
		CHECK(d.message[0]);
		sb_arena_release(&a);
		return 0;
	}
	sb_texts_doc *doc;
	sb_status st = sb_texts_split(&a, "fuzz.txt", text, n, &doc, &d);
	if (st) {
		CHECK(st == SB_EINPUT || st == SB_ELIMIT);
		CHECK(d.message[0]);
		sb_arena_release(&a);
		return 0;
	}
	int last = 0;
	for (size_t i = 0; i < doc->nclauses; i++) {
		const sb_texts_clause *c = &doc->clauses[i];
		CHECK(c->path[0]);
		CHECK(c->depth >= 1 && c->depth <= SB_TEXTS_MAX_DEPTH);
		CHECK(c->line > last);
		last = c->line;
		CHECK(c->text && strlen(c->text) == c->len);
		CHECK(c->len <= n);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(doc->clauses[j].path, c->path));
	}
	for (size_t i = 0; i < doc->nunplaced; i++)
		CHECK(doc->unplaced[i].len <= n && doc->unplaced[i].line >= 1);
	sb_arena_release(&a);
	return 0;
}
