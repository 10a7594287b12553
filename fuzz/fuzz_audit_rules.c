/* fuzz_audit_rules.c: libFuzzer target for the audit rule file: any bytes
 * are read as a rule file; loading must either succeed or refuse with a
 * placed message, never crash, leak or hang. */
#include <stdint.h>
#include <string.h>

#include "sanbao/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	sb_audit_rules r;
	sb_diag d;
	sb_diag_clear(&d);
	sb_status st = sb_audit_rules_load_mem("fuzz.yaml", (const char *)data, size, &r, &d);
	if (st != SB_OK && st != SB_ENOMEM && !d.message[0])
		__builtin_trap(); /* a refusal must say why */
	sb_audit_rules_release(&r);
	return 0;
}
