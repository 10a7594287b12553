/* fuzz_serve.c: libFuzzer target for the service's request parser: the
 * envelope (sb_serve_req_parse) and, when it parses, the settlement input
 * (sb_serve_setl_parse). Checks its promises: a refusal has a message, an
 * accepted envelope has a 4-digit infno, a 1-64 character msgid and an
 * input object; an accepted settlement input has amounts within
 * SB_CLAIM_MAX whose parts do not exceed the total. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_serve_req r;
	char err[1024];
	int st = sb_serve_req_parse((const char *)data, size, NULL, &r, err, sizeof err);
	if (st) {
		CHECK(st == 400 || st == 503);
		CHECK(err[0]);
	} else {
		CHECK(strlen(r.infno) == 4);
		CHECK(strlen(r.msgid) >= 1 && strlen(r.msgid) <= 64);
		CHECK(json_is_object(r.input));
		CHECK(strlen(r.input_hash) == 64);
		sb_serve_setl s;
		if (sb_serve_setl_parse(r.input, 19700, &s, err, sizeof err)) {
			CHECK(s.total >= 0 && s.total <= SB_CLAIM_MAX);
			CHECK(s.in_scope >= 0 && s.pre >= 0 && s.over >= 0 && s.out >= 0);
			CHECK(s.in_scope + s.pre + s.over <= s.total);
			CHECK(!s.has_out || s.in_scope + s.pre + s.over + s.out == s.total);
			CHECK(strlen(s.psn_no) == 18);
		} else {
			CHECK(err[0]);
		}
	}
	sb_serve_req_release(&r);
	return 0;
}
