/* fuzz_policy.c: libFuzzer target for the policy loader: any bytes are read
 * as a policy file; loading must either succeed or refuse with a placed
 * message, never crash, leak or hang. Inputs that name a parent file are
 * passed over: following them would read files outside the input. */
#include <stdint.h>
#include <string.h>

#include "policy/load_int.h"
#include "policy/ydoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int names_parent(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 7 <= n; i++)
		if (!memcmp(p + i, "extends", 7))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16 || names_parent(data, size))
		return 0;
	sb_ydoc *doc;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_ydoc_load_mem("fuzz.yaml", (const char *)data, size, &doc, &d) == SB_OK) {
		sb_policyset *set;
		if (sb_policyset_new(&set) == SB_OK) {
			const sb_policy *p = NULL;
			sb_status st = sb_policyset_load_node(set, sb_ydoc_root(doc), &p, &d);
			if (st != SB_OK && st != SB_ENOMEM && !d.message[0])
				__builtin_trap(); /* a refusal must say why */
			sb_policyset_free(set);
		}
		sb_ydoc_free(doc);
	} else if (!d.message[0]) {
		__builtin_trap();
	}
	return 0;
}
