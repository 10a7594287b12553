/* fuzz_settle.c: libFuzzer target for the settlement core. The input is a
 * policy file followed by CLAIM_BYTES bytes that describe four claims of one
 * person (dates after the first version's start, visit, place, filing,
 * level, the split of the total, amounts paid elsewhere, a diagnosis). Each claim is
 * settled with and without a trace; then:
 *   - a settled claim passes sb_settle_verify against the accumulators
 *     before and after it, and settles the same with and without a trace;
 *   - a refused claim says why and leaves the accumulators as they were;
 *   - the text and JSON renderers run over every trace;
 *   - the accumulators survive sb_acc_encode / sb_acc_decode unchanged.
 * An input that starts with "SBAC" is given to sb_acc_decode instead: it
 * must be refused with a reason or encode back to the same bytes.
 * Any broken rule traps. Inputs that name a parent file are passed over. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/load_int.h"
#include "policy/policy_int.h"
#include "policy/ydoc.h"
#include "sanbao/explain.h"
#include "sanbao/settle.h"

#define NCLAIMS 4
#define PER_CLAIM 16
#define CLAIM_BYTES (NCLAIMS * PER_CLAIM)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int names_parent(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 7 <= n; i++)
		if (!memcmp(p + i, "extends", 7))
			return 1;
	return 0;
}

static int acc_same(const sb_acc *a, const sb_acc *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->e, b->e, a->n * sizeof *a->e));
}

static uint32_t u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void settle_claims(const sb_policyset *set, const sb_policy *pol, const uint8_t *q)
{
	static FILE *devnull;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	static sb_trace trace;
	sb_person p;
	memset(&p, 0, sizeof p);
	memcpy(p.id, "110105194910010082", 19);
	memcpy(p.region, pol->region, 7);
	p.birth = q[0] & 1 ? SB_BIRTH_UNKNOWN : sb_date_from_ymd(1949, 10, 1);
	p.scheme = q[0] >> 1 & 1;
	p.employment = q[0] >> 2 & 1 ? SB_EMP_RETIRED : SB_EMP_UNKNOWN;
	p.tier = sb_policyset_symbol_count(set, SB_SYM_TIER) && (q[0] >> 3 & 1) ? 0 : -1;
	int nid = sb_policyset_symbol_count(set, SB_SYM_IDENTITY);
	for (int i = 0; i < nid && i < 4 && p.nidents < SB_MAX_PERSON_IDENTITIES; i++)
		if (q[1] >> i & 1)
			p.idents[p.nidents++] = (sb_ident){.sym = i, .from = 0, .to = INT32_MAX};
	sb_acc acc, before, other;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	sb_acc_init(&other);
	sb_date start = pol->versions[0].from;
	int nlev = sb_policyset_symbol_count(set, SB_SYM_LEVEL);
	sb_date last = start;
	for (int k = 0; k < NCLAIMS; k++) {
		const uint8_t *b = q + k * PER_CLAIM;
		sb_claim c;
		memset(&c, 0, sizeof c);
		char id[8];
		snprintf(id, sizeof id, "c%d", k);
		c.id = id;
		/* Claims come in date order. */
		c.date = last + (b[2] | b[3] << 8) % 400;
		last = c.date;
		c.visit = (uint8_t)(b[4] % SB_VISIT_N);
		c.place = (uint8_t)(b[5] % SB_PLACE_N);
		c.filing = (uint8_t)(b[6] % SB_FILING_N);
		c.level = nlev ? (int)(b[7] % (nlev + 1)) - 1 : -1;
		c.level_name = c.level >= 0 ? sb_policyset_symbol_name(set, SB_SYM_LEVEL, c.level) : "";
		/* Format 2 disease lists: a code, a prefix's extension, none. */
		static const char *const dx[] = {"", "C34.901", "N18.5", "I21"};
		c.diagnosis = dx[b[1] % 4];
		c.total = (sb_fen)(u32(b + 8) % 2000000000u);
		if (b[12] == 0xff)
			c.total = SB_CLAIM_MAX + (b[13] & 1); /* at and just over the limit */
		c.in_scope = c.total * (b[12] % 128) / 127;
		sb_fen left = c.total - c.in_scope;
		c.pre_selfpay = left * (b[13] >> 4) / 15;
		c.over_limit = (left - c.pre_selfpay) * (b[13] & 15) / 15;
		if (b[14] & 0x80) {
			const sb_version *v = sb_policy_version_at(pol, c.date);
			if (v && v->nlayers) {
				c.npaid = 1;
				c.paid[0].layer = v->layers[b[14] % v->nlayers].sym;
				c.paid[0].fen = c.in_scope * (b[15] % 128) / 100;
			}
		}
		sb_result r, r2;
		sb_diag d;
		sb_diag_clear(&d);
		if (sb_acc_copy(&before, &acc) || sb_acc_copy(&other, &acc))
			break;
		sb_status st = sb_settle_claim(set, pol, &p, &c, &acc, &r, &trace, &d);
		sb_explain_text(devnull, set, &trace);
		sb_explain_json(devnull, set, &trace);
		if (st == SB_ENOMEM)
			break;
		if ((st != SB_OK) != trace.refused)
			__builtin_trap();
		if (st) {
			if (!d.message[0] || !acc_same(&acc, &before))
				__builtin_trap(); /* a refusal says why and changes nothing */
			continue;
		}
		sb_diag vd;
		if (sb_settle_verify(&c, &r, &before, &acc, &vd)) {
			fprintf(stderr, "%s\n", vd.message);
			__builtin_trap();
		}
		/* The trace changes nothing. */
		if (sb_settle_claim(set, pol, &p, &c, &other, &r2, NULL, &d) || r2.fund != r.fund ||
		    r2.oop_in_scope != r.oop_in_scope || !acc_same(&acc, &other))
			__builtin_trap();
	}
	size_t len = sb_acc_encoded_size(&acc), got;
	uint8_t *buf = malloc(len);
	sb_diag d;
	if (buf && !sb_acc_encode(&acc, buf, len, &got, &d)) {
		sb_acc back;
		sb_acc_init(&back);
		if (got != len || sb_acc_decode(&back, buf, len, &d) || !acc_same(&back, &acc))
			__builtin_trap();
		sb_acc_release(&back);
	}
	free(buf);
	sb_acc_release(&acc);
	sb_acc_release(&before);
	sb_acc_release(&other);
}

/* Any bytes given to sb_acc_decode are refused with a reason or decode to
 * accumulators that encode back to the same bytes. */
static void decode_any(const uint8_t *data, size_t size)
{
	sb_acc a;
	sb_diag d;
	sb_acc_init(&a);
	sb_diag_clear(&d);
	sb_status st = sb_acc_decode(&a, data, size, &d);
	if (st == SB_OK) {
		uint8_t *buf = malloc(size);
		size_t len;
		if (buf && (sb_acc_encode(&a, buf, size, &len, &d) || len != size ||
			    memcmp(buf, data, size)))
			__builtin_trap();
		free(buf);
	} else if (st != SB_ENOMEM && !d.message[0]) {
		__builtin_trap();
	}
	sb_acc_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4 && !memcmp(data, "SBAC", 4)) {
		decode_any(data, size);
		return 0;
	}
	if (size <= CLAIM_BYTES || size > 1 << 16 || names_parent(data, size))
		return 0;
	size_t n = size - CLAIM_BYTES;
	sb_ydoc *doc;
	sb_diag d;
	sb_diag_clear(&d);
	if (sb_ydoc_load_mem("fuzz.yaml", (const char *)data, n, &doc, &d) != SB_OK)
		return 0;
	sb_policyset *set;
	if (sb_policyset_new(&set) == SB_OK) {
		const sb_policy *p = NULL;
		if (sb_policyset_load_node(set, sb_ydoc_root(doc), &p, &d) == SB_OK && p &&
		    p->nversions)
			settle_claims(set, p, data + n);
		sb_policyset_free(set);
	}
	sb_ydoc_free(doc);
	return 0;
}
