/* test_settle.c: the band integral and rounding of sb_settle_claim, table
 * driven: one layer built from a YAML string, one or two claims, and the
 * payment expected to the fen. The boundaries are the point: an amount
 * exactly on a band's start, exactly on the deductible, a raw payment of
 * exactly half a fen, a cap that binds, a payment capped by its base. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/load_int.h"
#include "policy/ydoc.h"
#include "sanbao/settle.h"

struct row {
	const char *name;
	const char *layer;  /* the YAML of one layer */
	sb_fen in_scope[2]; /* one or two claims (0: none) */
	sb_fen want[2];
};

/* Bands: 0-100 at 50%, 100-300 at 80%, above 300 at 90% (yuan). */
#define BANDS "bands: [{from: 0, rate: 0.5}, {from: 100, rate: 0.8}, {from: 300, rate: 0.9}]"

static const struct row rows[] = {
	{"one rate, no deductible", "{id: l, rate: 0.7}", {10000, 0}, {7000, 0}},
	{"deductible taken off", "{id: l, deductible: 50, rate: 0.5}", {10000, 0}, {2500, 0}},
	{"exactly the deductible pays nothing", "{id: l, deductible: 100, rate: 0.9}",
	 {10000, 0}, {0, 0}},
	{"one fen above the deductible: 0.9 fen rounds up", "{id: l, deductible: 100, rate: 0.9}",
	 {10001, 0}, {1, 0}},
	{"half a fen rounds up", "{id: l, rate: 0.5}", {1, 0}, {1, 0}},
	{"just under half a fen rounds down", "{id: l, rate: 0.4999}", {1, 0}, {0, 0}},
	{"bands above_deductible, all three crossed", "{id: l, deductible: 0, " BANDS "}",
	 {40000, 0}, {5000 + 16000 + 9000, 0}},
	{"bands above_deductible start at from + deductible", "{id: l, deductible: 100, " BANDS "}",
	 {40000, 0}, {5000 + 16000 + 0, 0}},
	{"bands cumulative start at from, not below the deductible",
	 "{id: l, deductible: 150, mode: cumulative, " BANDS "}",
	 {40000, 0}, {0 + 12000 + 9000, 0}},
	{"amount ending exactly on a band start", "{id: l, " BANDS "}", {10000, 0}, {5000, 0}},
	{"scope year accumulates across claims", "{id: l, scope: year, deductible: 0, " BANDS "}",
	 {8000, 8000}, {4000, 1000 + 4800}},
	{"scope visit starts each claim from zero", "{id: l, " BANDS "}",
	 {8000, 8000}, {4000, 4000}},
	{"cap binds within a claim", "{id: l, rate: 0.8, cap: 50}", {10000, 0}, {5000, 0}},
	{"cap room shrinks on the second claim", "{id: l, rate: 0.8, cap: 100}",
	 {10000, 10000}, {8000, 2000}},
	{"repeat deductible on the second claim", "{id: l, deductible: 100, repeat: 20, rate: 0.5}",
	 {20000, 20000}, {5000, 9000}},
	{"rate 1 pays the whole base", "{id: l, rate: 1}", {12345, 0}, {12345, 0}},
	{"rate 0 pays nothing", "{id: l, rate: 0}", {12345, 0}, {0, 0}},
};

static sb_fen settle_one(const struct row *r, int which)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
		 "  - from: 2020-01-01\n    layers:\n      - %s\n", r->layer);
	sb_ydoc *doc;
	sb_diag d;
	sb_policyset *set;
	const sb_policy *pol;
	assert_int_equal(sb_ydoc_load_mem("row.yaml", yaml, strlen(yaml), &doc, &d), SB_OK);
	assert_int_equal(sb_policyset_new(&set), SB_OK);
	if (sb_policyset_load_node(set, sb_ydoc_root(doc), &pol, &d))
		fail_msg("%s: %s", r->name, d.message);
	sb_person p;
	memset(&p, 0, sizeof p);
	memcpy(p.id, "110105194910010082", 19);
	memcpy(p.region, "110105", 7);
	p.birth = sb_date_from_ymd(1949, 10, 1);
	p.tier = -1;
	p.employment = 0xff;
	sb_acc acc;
	sb_acc_init(&acc);
	sb_fen pay = -1;
	for (int i = 0; i <= which; i++) {
		sb_claim c;
		memset(&c, 0, sizeof c);
		c.id = i ? "b" : "a";
		c.date = sb_date_from_ymd(2021, 3 + i, 1);
		c.level = -1;
		c.level_name = "";
		c.total = c.in_scope = r->in_scope[i];
		sb_result res;
		if (sb_settle_claim(set, pol, &p, &c, &acc, &res, NULL, &d))
			fail_msg("%s: %s", r->name, d.message);
		assert_int_equal(res.fund + res.oop, c.total);
		assert_true(res.layer[0].pay <= res.layer[0].base);
		pay = res.layer[0].pay;
	}
	sb_acc_release(&acc);
	sb_policyset_free(set);
	sb_ydoc_free(doc);
	return pay;
}

static void test_band_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		for (int k = 0; k < 2; k++) {
			if (!rows[i].in_scope[k])
				continue;
			sb_fen got = settle_one(&rows[i], k);
			if (got != rows[i].want[k])
				fail_msg("%s, claim %d: want %lld fen, got %lld", rows[i].name, k + 1,
					 (long long)rows[i].want[k], (long long)got);
		}
}


/* ---- accumulators, refusals, limits, the invariants --------------------- */

typedef struct loaded {
	sb_ydoc *doc;
	sb_policyset *set;
	const sb_policy *pol;
} loaded;

static sb_status load_yaml(const char *yaml, loaded *L, sb_diag *d)
{
	L->doc = NULL;
	L->set = NULL;
	assert_int_equal(sb_ydoc_load_mem("t.yaml", yaml, strlen(yaml), &L->doc, d), SB_OK);
	assert_int_equal(sb_policyset_new(&L->set), SB_OK);
	return sb_policyset_load_node(L->set, sb_ydoc_root(L->doc), &L->pol, d);
}

static void unload(loaded *L)
{
	sb_policyset_free(L->set);
	sb_ydoc_free(L->doc);
}

static void person_of(sb_person *p, const char *region)
{
	memset(p, 0, sizeof *p);
	memcpy(p->id, "110105194910010082", 19);
	memcpy(p->region, region, 7);
	p->birth = sb_date_from_ymd(1949, 10, 1);
	p->scheme = 1;
	p->tier = -1;
	p->employment = 0xff;
}

static sb_claim claim_of(const char *id, int y, int m, int day, sb_fen in_scope)
{
	sb_claim c;
	memset(&c, 0, sizeof c);
	c.id = id;
	c.date = sb_date_from_ymd(y, m, day);
	c.level = -1;
	c.level_name = "";
	c.total = c.in_scope = in_scope;
	return c;
}

/* Three versions of 30 layers in force within 2023, 89 distinct ids: the
 * policy of tests/cases/feature-accumulators-89-layer-ids.yaml. */
static char *policy_89(void)
{
	static char yaml[16384];
	size_t n = (size_t)snprintf(yaml, sizeof yaml,
				    "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n");
	const char *from[3] = {"2023-01-01", "2023-05-01", "2023-09-01"};
	for (int v = 0; v < 3; v++) {
		n += (size_t)snprintf(yaml + n, sizeof yaml - n, "  - from: %s\n    layers:\n", from[v]);
		for (int i = 1; i <= 30; i++)
			n += (size_t)snprintf(yaml + n, sizeof yaml - n,
					      "      - {id: %c%02d, rate: 1, cap: 1}\n",
					      v == 1 && i == 1 ? 'a' : 'a' + v, i);
	}
	return yaml;
}

static bool acc_equal(const sb_acc *a, const sb_acc *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->e, b->e, a->n * sizeof *a->e));
}

static void test_more_layer_ids_than_any_limit(void **state)
{
	(void)state;
	loaded L;
	sb_diag d;
	if (load_yaml(policy_89(), &L, &d))
		fail_msg("%s", d.message);
	sb_person p;
	person_of(&p, "110105");
	struct { int y, m; sb_fen fund; } want[] = {
		{2023, 2, 3000}, {2023, 6, 2900}, {2023, 10, 3000}, {2023, 11, 0}, {2024, 2, 3000},
	};
	sb_acc acc, before;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		sb_claim c = claim_of("k", want[i].y, want[i].m, 1, 10000);
		sb_result r;
		assert_int_equal(sb_acc_copy(&before, &acc), SB_OK);
		if (sb_settle_claim(L.set, L.pol, &p, &c, &acc, &r, NULL, &d))
			fail_msg("claim %zu: %s", i, d.message);
		assert_int_equal(r.fund, want[i].fund);
		assert_int_equal(r.oop_in_scope, 10000 - want[i].fund);
		if (sb_settle_verify(&c, &r, &before, &acc, &d))
			fail_msg("claim %zu: %s", i, d.message);
	}
	/* 30 + 29 + 30 layer and pool entries in 2023, 30 + 30 in 2024. */
	assert_int_equal(acc.n, 2 * (89 + 30));
	const sb_acc_entry *e = sb_acc_find(&acc, 110105, 2023, SB_ACC_POOL, sb_id_key("a01", 3));
	assert_non_null(e);
	assert_int_equal(e->amount, 100);
	e = sb_acc_find(&acc, 110105, 2023, SB_ACC_LAYER, sb_id_key("a01", 3));
	assert_non_null(e);
	assert_int_equal(e->count, 2);
	assert_int_equal(e->amount, 10000 + 10000); /* first layer of both claims */

	/* The encoding carries everything: a decoded copy settles the same. */
	size_t len = sb_acc_encoded_size(&acc), got;
	uint8_t *buf = malloc(len);
	assert_int_equal(sb_acc_encode(&acc, buf, len, &got, &d), SB_OK);
	assert_int_equal(got, len);
	sb_acc back;
	sb_acc_init(&back);
	assert_int_equal(sb_acc_decode(&back, buf, len, &d), SB_OK);
	assert_true(acc_equal(&acc, &back));
	/* A reload of the same policy (a new set: new symbols) finds the sums. */
	loaded L2;
	if (load_yaml(policy_89(), &L2, &d))
		fail_msg("%s", d.message);
	sb_claim c = claim_of("k6", 2024, 3, 1, 10000);
	sb_result r1, r2;
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &c, &acc, &r1, NULL, &d), SB_OK);
	assert_int_equal(sb_settle_claim(L2.set, L2.pol, &p, &c, &back, &r2, NULL, &d), SB_OK);
	assert_int_equal(r1.fund, 0);
	assert_int_equal(r2.fund, 0);
	assert_true(acc_equal(&acc, &back));
	free(buf);
	sb_acc_release(&back);
	sb_acc_release(&before);
	sb_acc_release(&acc);
	unload(&L2);
	unload(&L);
}

static void test_encoding_refuses_bad_bytes(void **state)
{
	(void)state;
	sb_diag d;
	sb_acc a, b;
	sb_acc_init(&a);
	sb_acc_init(&b);
	/* An empty set of accumulators round-trips too. */
	uint8_t buf[256];
	size_t len;
	assert_int_equal(sb_acc_encode(&a, buf, sizeof buf, &len, &d), SB_OK);
	assert_int_equal(len, 16);
	assert_int_equal(sb_acc_decode(&b, buf, len, &d), SB_OK);
	assert_int_equal(b.n, 0);

	loaded L;
	if (load_yaml(policy_89(), &L, &d))
		fail_msg("%s", d.message);
	sb_person p;
	person_of(&p, "110105");
	sb_claim c = claim_of("k", 2023, 2, 1, 10000);
	sb_result r;
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &c, &a, &r, NULL, &d), SB_OK);
	static uint8_t big[4096];
	assert_int_equal(sb_acc_encode(&a, buf, sizeof buf, &len, &d), SB_ELIMIT);
	assert_int_equal(sb_acc_encode(&a, big, sizeof big, &len, &d), SB_OK);
	assert_int_equal(len, 12 + 60 * 29 + 4);
	/* The entries are little-endian: the first count is at its place. */
	assert_int_equal(big[8], 60);
	assert_int_equal(big[9], 0);
	assert_int_equal(sb_acc_decode(&b, big, len, &d), SB_OK);
	sb_acc keep;
	sb_acc_init(&keep);
	assert_int_equal(sb_acc_copy(&keep, &b), SB_OK);
	struct { const char *what; size_t at; uint8_t x; size_t len; const char *msg; } bad[] = {
		{"short", 0, 0, 11, "shorter than the header"},
		{"cut", 0, 0, 12 + 59 * 29 + 4, "short"},
		{"long", 0, 0, 12 + 60 * 29 + 5, "bytes after the end"},
		{"mark", 0, 'X', 0, "no SBAC mark"},
		{"version", 4, 2, 0, "encoding version 2"},
		{"flipped byte", 12 + 29 * 5 + 21, 0x55, 0, "checksum"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		static uint8_t t[4096];
		memcpy(t, big, len);
		size_t n = bad[i].len ? bad[i].len : len;
		if (!bad[i].len)
			t[bad[i].at] ^= bad[i].x ? bad[i].x : 1;
		if (bad[i].at == 4)
			t[4] = 2;
		sb_diag_clear(&d);
		assert_int_equal(sb_acc_decode(&b, t, n, &d), SB_EINPUT);
		if (!strstr(d.message, bad[i].msg))
			fail_msg("%s: %s", bad[i].what, d.message);
		assert_true(acc_equal(&b, &keep)); /* unchanged on refusal */
	}
	sb_acc_release(&keep);
	sb_acc_release(&a);
	sb_acc_release(&b);
	unload(&L);
}

static void test_refusal_leaves_acc_unchanged(void **state)
{
	(void)state;
	loaded L;
	sb_diag d;
	const char *yaml = "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
			   "  - from: 2020-01-01\n    layers:\n"
			   "      - {id: one, scope: year, rate: 0.5, cap: 100, pool: shared}\n"
			   "      - {id: two, scope: year, rate: 0.5, cap: 100, pool: shared}\n"
			   "      - {id: three, rate: 0.5}\n";
	if (load_yaml(yaml, &L, &d))
		fail_msg("%s", d.message);
	sb_person p;
	person_of(&p, "110105");
	sb_acc acc, before;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	sb_result r;
	sb_claim c = claim_of("a", 2021, 1, 5, 10000);
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &c, &acc, &r, NULL, &d), SB_OK);
	/* one: 50% of 100.00 = 50.00; two shares the pool: 50% of 50.00 = 25.00
	 * (room 100 - 50 = 50); three: 50% of 25.00 = 12.50. */
	assert_int_equal(r.layer[0].pay, 5000);
	assert_int_equal(r.layer[1].pay, 2500);
	assert_int_equal(r.layer[1].room, 5000);
	assert_int_equal(r.layer[2].pay, 1250);
	assert_int_equal(sb_acc_copy(&before, &acc), SB_OK);
	/* The next claim changes one and two, then is refused at three. */
	sb_claim b = claim_of("b", 2021, 2, 5, 10000);
	b.npaid = 1;
	b.paid[0].layer = sb_policyset_symbol(L.set, SB_SYM_LAYER, "three", 5);
	b.paid[0].fen = 999999;
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &b, &acc, &r, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "exceeds the base"));
	assert_true(acc_equal(&acc, &before));
	/* A refusal before any layer (a total above the plausible limit). */
	sb_claim huge = claim_of("h", 2021, 3, 1, SB_CLAIM_MAX + 1);
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &huge, &acc, &r, NULL, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "plausible limit"));
	assert_non_null(strstr(d.message, "100000000.00"));
	assert_true(acc_equal(&acc, &before));
	huge.total = huge.in_scope = SB_CLAIM_MAX;
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &huge, &acc, &r, NULL, &d), SB_OK);
	sb_acc_release(&before);
	sb_acc_release(&acc);
	unload(&L);
}

static void test_acc_limit_is_an_error(void **state)
{
	(void)state;
	loaded L;
	sb_diag d;
	char yaml[8192];
	size_t n = (size_t)snprintf(yaml, sizeof yaml, "sanbao: 1\nregion: {code: \"110105\"}\n"
				    "versions:\n  - from: 1950-01-01\n    layers:\n");
	for (int i = 0; i < SB_MAX_LAYERS; i++)
		n += (size_t)snprintf(yaml + n, sizeof yaml - n, "      - {id: l%d, rate: 0.1}\n", i);
	if (load_yaml(yaml, &L, &d))
		fail_msg("%s", d.message);
	sb_person p;
	person_of(&p, "110105");
	sb_acc acc;
	sb_acc_init(&acc);
	sb_result r;
	int y = 1950;
	sb_status st = SB_OK;
	for (; y < 2100 && !st; y++) {
		sb_claim c = claim_of("y", y, 6, 1, 10000);
		st = sb_settle_claim(L.set, L.pol, &p, &c, &acc, &r, NULL, &d);
	}
	/* 64 entries a year: the year that would pass SB_ACC_MAX is refused. */
	assert_int_equal(st, SB_ELIMIT);
	assert_int_equal(y - 1 - 1950, SB_ACC_MAX / (2 * SB_MAX_LAYERS));
	assert_non_null(strstr(d.message, "at most 4096 entries"));
	assert_int_equal(acc.n, SB_ACC_MAX);
	sb_acc_release(&acc);
	unload(&L);
}

static void test_loader_limits(void **state)
{
	(void)state;
	loaded L;
	sb_diag d;
	char yaml[8192];
	size_t n = (size_t)snprintf(yaml, sizeof yaml, "sanbao: 1\nregion: {code: \"110105\"}\n"
				    "versions:\n  - from: 2020-01-01\n    layers:\n");
	for (int i = 0; i <= SB_MAX_LAYERS; i++)
		n += (size_t)snprintf(yaml + n, sizeof yaml - n, "      - {id: l%d, rate: 0.1}\n", i);
	assert_int_equal(load_yaml(yaml, &L, &d), SB_ELIMIT);
	assert_string_equal(d.file, "t.yaml");
	assert_int_equal(d.line, 6);
	assert_non_null(strstr(d.message, "at most 32 layers"));
	unload(&L);
	n = (size_t)snprintf(yaml, sizeof yaml, "sanbao: 1\nregion: {code: \"110105\"}\n"
			     "versions:\n  - from: 2020-01-01\n    layers:\n"
			     "      - id: l\n        rate: 0.1\n        adjust:\n");
	for (int i = 0; i <= SB_MAX_ADJUST; i++)
		n += (size_t)snprintf(yaml + n, sizeof yaml - n,
				      "          - {when: {visit: inpatient}, rate: 0.2}\n");
	assert_int_equal(load_yaml(yaml, &L, &d), SB_ELIMIT);
	assert_int_equal(d.line, 9);
	assert_non_null(strstr(d.message, "at most 64 adjust entries"));
	unload(&L);
}

static void test_verify_finds_broken_results(void **state)
{
	(void)state;
	loaded L;
	sb_diag d;
	const char *yaml = "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
			   "  - from: 2020-01-01\n    layers:\n"
			   "      - {id: one, scope: year, base: in_scope_and_pre_selfpay, rate: 0.9, cap: 50}\n"
			   "      - {id: two, rate: 0.5}\n";
	if (load_yaml(yaml, &L, &d))
		fail_msg("%s", d.message);
	sb_person p;
	person_of(&p, "110105");
	sb_acc acc, before;
	sb_acc_init(&acc);
	sb_acc_init(&before);
	sb_claim c = claim_of("v", 2021, 1, 5, 10000);
	c.total = 12000;
	c.pre_selfpay = 2000;
	sb_result r;
	assert_int_equal(sb_settle_claim(L.set, L.pol, &p, &c, &acc, &r, NULL, &d), SB_OK);
	assert_int_equal(sb_settle_verify(&c, &r, &before, &acc, &d), SB_OK);
	sb_result t;
#define BROKEN(stmt, words)                                                          \
	do {                                                                         \
		t = r;                                                               \
		stmt;                                                                \
		sb_diag_clear(&d);                                                   \
		assert_int_equal(sb_settle_verify(&c, &t, &before, &acc, &d), SB_EINPUT); \
		if (!strstr(d.message, words))                                       \
			fail_msg("%s: %s", #stmt, d.message);                        \
	} while (0)
	BROKEN(t.layer[1].pay = t.layer[1].base + 1, "more than its base");
	BROKEN(t.layer[0].pay += 1, "drew from");
	BROKEN(t.fund += 1, "sum to fund");
	BROKEN(t.oop_in_scope -= 1, "oop_in_scope");
	BROKEN((t.layer[0].room = 4999, t.layer[0].cap = 4999), "room");
	BROKEN(t.layer[0].room = -1, "room is negative");
	BROKEN((t.layer[0].from_in_scope -= 1, t.layer[0].from_pre_selfpay += 1), "pre_selfpay");
	BROKEN(t.layer[0].base += 1, "did not advance");
	/* An accumulator that did not move with the claim. */
	sb_acc stale;
	sb_acc_init(&stale);
	assert_int_equal(sb_acc_copy(&stale, &acc), SB_OK);
	stale.e[1].amount -= 1; /* the pool of `one` */
	assert_int_equal(sb_settle_verify(&c, &r, &before, &stale, &d), SB_EINPUT);
	assert_non_null(strstr(d.message, "pool"));
	sb_acc_release(&stale);
	sb_acc_release(&before);
	sb_acc_release(&acc);
	unload(&L);
}

/* Two distinct ids with one 64-bit key (FNV-1a of the text), found by a
 * distinguished-point collision search: the loader must refuse them, with
 * the place, as layer ids and as pool ids. */
static void test_loader_refuses_colliding_ids(void **state)
{
	(void)state;
	assert_true(sb_id_key("k710e31ef9cc91c0f", 17) == sb_id_key("k5754368430d7cd9f", 17));
	assert_true(sb_id_key("k710e31ef9cc91c0f", 17) != sb_id_key("k710e31ef9cc91c0e", 17));
	loaded L;
	sb_diag d;
	const char *layers = "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
			     "  - from: 2020-01-01\n    layers:\n"
			     "      - {id: k710e31ef9cc91c0f, rate: 0.1}\n"
			     "  - from: 2021-01-01\n    layers:\n"
			     "      - {id: k5754368430d7cd9f, rate: 0.1}\n";
	assert_int_equal(load_yaml(layers, &L, &d), SB_EPOLICY);
	assert_string_equal(d.file, "t.yaml");
	assert_int_equal(d.line, 9);
	assert_non_null(strstr(d.message, "same 64-bit key"));
	unload(&L);
	const char *pools = "sanbao: 1\nregion: {code: \"110105\"}\nversions:\n"
			    "  - from: 2020-01-01\n    layers:\n"
			    "      - {id: a, rate: 0.1, pool: k710e31ef9cc91c0f}\n"
			    "      - {id: b, rate: 0.1, pool: k5754368430d7cd9f}\n";
	assert_int_equal(load_yaml(pools, &L, &d), SB_EPOLICY);
	assert_int_equal(d.line, 7);
	assert_non_null(strstr(d.message, "pool id"));
	unload(&L);
}

/* The encoding's bytes are a format a store keeps: pinned here (made by an
 * independent writer, fuzz/seeds/fuzz_settle/acc-encoding.bin). */
static void test_encoding_bytes_are_pinned(void **state)
{
	(void)state;
	static const char hex[] =
		"534241430100000003000000380eea8ec086ac1f941b0f00e7070000000200000040e201"
		"0000000000380eea8ec086ac1f941b0f00e7070000010000000098ff0000000000000891"
		"d32acc487738941b0f00e8070000000100000009030000000000000ce5bf05";
	uint8_t want[sizeof hex / 2];
	for (size_t i = 0; i < sizeof want; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		want[i] = (uint8_t)v;
	}
	sb_acc_entry e[3] = {
		{.id = sb_id_key("basic_res", 9), .region = 990100, .year = 2023,
		 .kind = SB_ACC_LAYER, .count = 2, .amount = 123456},
		{.id = sb_id_key("basic_res", 9), .region = 990100, .year = 2023,
		 .kind = SB_ACC_POOL, .amount = 65432},
		{.id = sb_id_key("critical", 8), .region = 990100, .year = 2024,
		 .kind = SB_ACC_LAYER, .count = 1, .amount = 777},
	};
	sb_acc a = {.e = e, .n = 3, .cap = 3};
	uint8_t buf[256];
	size_t len;
	sb_diag d;
	memset(buf, 0xaa, sizeof buf); /* no byte is left unwritten */
	assert_int_equal(sb_acc_encode(&a, buf, sizeof buf, &len, &d), SB_OK);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(buf, want, len);
	sb_acc b;
	sb_acc_init(&b);
	assert_int_equal(sb_acc_decode(&b, want, sizeof want, &d), SB_OK);
	assert_int_equal(b.n, 3);
	assert_memory_equal(b.e, e, sizeof e);
	sb_acc_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_band_table),
		cmocka_unit_test(test_more_layer_ids_than_any_limit),
		cmocka_unit_test(test_encoding_refuses_bad_bytes),
		cmocka_unit_test(test_encoding_bytes_are_pinned),
		cmocka_unit_test(test_refusal_leaves_acc_unchanged),
		cmocka_unit_test(test_acc_limit_is_an_error),
		cmocka_unit_test(test_loader_limits),
		cmocka_unit_test(test_loader_refuses_colliding_ids),
		cmocka_unit_test(test_verify_finds_broken_results),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
