/* test_texts.c: src/texts: Chinese numerals, the splitter on each numbering
 * style (nested, mixed, text between items, headers and signatures), the
 * Aho–Corasick automaton (overlaps, repeated patterns, character
 * boundaries), terms with required and excluded co-terms, Cohen's kappa
 * against a hand-computed value, GBK conversion, and every allocation of a
 * frame load, a split and a coding run failing in turn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "sanbao/texts.h"
#include "texts/texts_int.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- numerals --------------------------------------------------------- */

static void test_numerals(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		long v;
	} rows[] = {
		{"一", 1},       {"十", 10},       {"十一", 11},      {"二十", 20},
		{"二十八", 28},  {"九十九", 99},   {"一百", 100},     {"一百零一", 101},
		{"一百二十", 120}, {"七十一", 71}, {"两", 2},         {"〇", 0},
		{"12", 12},      {"１２", 12},     {"", 0},           {"一九", 0},
		{"a", 0},        {"十x", 0},
	};
	for (size_t i = 0; i < LEN(rows); i++) {
		long v = sb_texts_numeral(rows[i].s, strlen(rows[i].s));
		if (v != rows[i].v)
			fail_msg("\"%s\" read as %ld, expected %ld", rows[i].s, v, rows[i].v);
	}
}

/* ---- the splitter ----------------------------------------------------- */

/* Splits text and writes "path|heading|text" per clause, joined by '\n'. */
static void split_dump(const char *text, char *out, size_t cap, sb_texts_doc **docp,
		       sb_arena *a)
{
	sb_diag d;
	sb_diag_clear(&d);
	sb_texts_doc *doc;
	sb_status st = sb_texts_split(a, "t.txt", text, strlen(text), &doc, &d);
	if (st)
		fail_msg("split failed: %s", d.message);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < doc->nclauses; i++) {
		const sb_texts_clause *c = &doc->clauses[i];
		int w = snprintf(out + n, cap - n, "%s%s|%s|%.*s", i ? "\n" : "", c->path,
				 c->heading ? "H" : "", (int)c->len, c->text);
		assert_true(w > 0 && (size_t)w < cap - n);
		n += (size_t)w;
	}
	if (docp)
		*docp = doc;
}

static void expect_split(const char *name, const char *text, const char *want)
{
	sb_arena a;
	sb_arena_init(&a);
	char got[8192];
	split_dump(text, got, sizeof got, NULL, &a);
	if (strcmp(got, want))
		fail_msg("%s:\n--- got\n%s\n--- want\n%s", name, got, want);
	sb_arena_release(&a);
}

static void test_split_styles(void **state)
{
	(void)state;
	/* 意见 style, nested four deep, then back to the top. */
	expect_split("nested",
		     "一、总体要求\n（一）指导思想。坚持以人民为中心。\n1.第一项。\n（1）细目。\n"
		     "（2）又一细目。\n2.第二项。\n（二）基本原则。\n二、主要任务\n（一）任务。\n",
		     "一|H|总体要求\n"
		     "一.(一)||指导思想。坚持以人民为中心。\n"
		     "一.(一).1||第一项。\n"
		     "一.(一).1.(1)||细目。\n"
		     "一.(一).1.(2)||又一细目。\n"
		     "一.(一).2||第二项。\n"
		     "一.(二)||基本原则。\n"
		     "二|H|主要任务\n"
		     "二.(一)||任务。");
	/* Half-width parentheses, full-width digits, 1、 and 1． */
	expect_split("half and full width",
		     "(一)半角。\n１．全角数字。\n2、顿号。\n3．全角点。\n(1)半角阿拉伯。\n（二）全角。\n",
		     "(一)||半角。\n"
		     "(一).1||全角数字。\n"
		     "(一).2||顿号。\n"
		     "(一).3||全角点。\n"
		     "(一).3.(1)||半角阿拉伯。\n"
		     "(二)||全角。");
	/* Laws: 章 节 条 and （一） inside an article; a new article closes the
	 * items, a new chapter closes the section. */
	expect_split("law",
		     "第一章 总则\n第一条 目的。\n第二章  医疗救助\n第一节 对象\n第二条 下列人员：\n"
		     "（一）特困人员；\n（二）低保对象。\n第三条 标准。\n第三章 附 则\n第九十九条 施行。\n"
		     "第一百零一条 又一条。\n",
		     "第一章|H|总则\n"
		     "第一章.第一条||目的。\n"
		     "第二章|H|医疗救助\n"
		     "第二章.第一节|H|对象\n"
		     "第二章.第一节.第二条||下列人员：\n"
		     "第二章.第一节.第二条.(一)||特困人员；\n"
		     "第二章.第一节.第二条.(二)||低保对象。\n"
		     "第二章.第一节.第三条||标准。\n"
		     "第三章|H|附 则\n"
		     "第三章.第九十九条||施行。\n"
		     "第三章.第一百零一条||又一条。");
	/* Mixed: articles inside a numbered notice; amounts are not items;
	 * text between items stays with the item above it. */
	expect_split("mixed and between",
		     "一、通知事项\n第一条 第一条文。\n1.5倍的标准照此执行。\n第二条 第二条文。\n"
		     "续行的说明。\n二、其他\n十一、跳号\n",
		     "一|H|通知事项\n"
		     "一.第一条||第一条文。\n1.5倍的标准照此执行。\n"
		     "一.第二条||第二条文。\n续行的说明。\n"
		     "二||其他\n"
		     "十一||跳号");
	/* Circled numbers and 第X章 in Arabic digits. */
	expect_split("circled",
		     "第1章 总则\n第1条 内容：\n①甲；\n②乙。\n",
		     "第1章|H|总则\n第1章.第1条||内容：\n第1章.第1条.①||甲；\n第1章.第1条.②||乙。");
	/* The same number twice under one parent is kept apart. */
	expect_split("duplicate", "一、甲。\n一、乙。\n", "一||甲。\n一#2||乙。");
}

static void test_split_header_and_unplaced(void **state)
{
	(void)state;
	sb_arena a;
	sb_arena_init(&a);
	char got[4096];
	sb_texts_doc *doc;
	split_dump("source: somewhere\n"
		   "标题：关于做好工作的通知\n"
		   "发文机关：山西省医疗保障局 山西省财政厅　国家税务总局山西省税务局\n"
		   "文号：晋医保发〔2021〕14号\n"
		   "日期：成文日期 2021-07-28（落款2021年7月28日）\n"
		   "----\n"
		   "　　为贯彻落实有关精神，现通知如下：\n"
		   "一、提高筹资标准\n"
		   "财政补助提高30元。\n"
		   "二、做好组织实施\n"
		   "要加强组织领导。\n"
		   "山西省医疗保障局 山西省财政厅\n"
		   "国家税务总局山西省税务局\n"
		   "2021年7月28日\n",
		   got, sizeof got, &doc, &a);
	assert_string_equal(got, "一||提高筹资标准\n财政补助提高30元。\n二||做好组织实施\n要加强组织领导。");
	assert_true(doc->has_header);
	assert_string_equal(doc->title, "关于做好工作的通知");
	assert_string_equal(doc->number, "晋医保发〔2021〕14号");
	assert_int_equal(doc->year, 2021);
	assert_int_equal(doc->nissuers, 3);
	assert_string_equal(doc->issuers[0], "山西省医疗保障局");
	assert_string_equal(doc->issuers[1], "山西省财政厅");
	assert_string_equal(doc->issuers[2], "国家税务总局山西省税务局");
	/* the preamble before the first item and the signature block */
	assert_int_equal(doc->nunplaced, 4);
	assert_int_equal(doc->unplaced[0].line, 7);
	assert_memory_equal(doc->unplaced[0].text, "为贯彻", 9);
	assert_int_equal(doc->unplaced[3].line, 14);
	assert_string_equal(doc->unplaced[3].text, "2021年7月28日");

	/* A law's 制定机关 with a remark; 中共中央 国务院 are two issuers. */
	split_dump("制定机关：河南省人民代表大会常务委员会（地方性法规）\n日期：2017年12月1日通过\n----\n第一条 甲。\n",
		   got, sizeof got, &doc, &a);
	assert_int_equal(doc->nissuers, 1);
	assert_string_equal(doc->issuers[0], "河南省人民代表大会常务委员会");
	assert_int_equal(doc->year, 2017);
	split_dump("发文机关：中共中央 国务院\n----\n（一）甲。\n", got, sizeof got, &doc, &a);
	assert_int_equal(doc->nissuers, 2);
	/* No header at all: everything is body, nothing is lost. */
	split_dump("没有编号的一段话。\n", got, sizeof got, &doc, &a);
	assert_false(doc->has_header);
	assert_int_equal(doc->nclauses, 0);
	assert_int_equal(doc->nunplaced, 1);
	sb_arena_release(&a);
}

static void test_split_limits(void **state)
{
	(void)state;
	sb_arena a;
	sb_arena_init(&a);
	sb_diag d;
	sb_diag_clear(&d);
	sb_texts_doc *doc;
	/* nine levels of distinct styles are one too many */
	const char *deep = "第一章 a\n第一节 b\n第一条 c\n一、d\n（一）e\n1.f\n（1）g\n①h\n"
			   "第一条 again\n";
	assert_int_equal(sb_texts_split(&a, "deep.txt", deep, strlen(deep), &doc, &d), SB_OK);
	const char nul[] = "一、甲\0乙\n";
	assert_int_equal(sb_texts_split(&a, "nul.txt", nul, sizeof nul - 1, &doc, &d), SB_EINPUT);
	assert_int_equal(d.line, 1);
	assert_non_null(strstr(d.message, "NUL"));
	sb_arena_release(&a);
}

/* ---- encodings -------------------------------------------------------- */

static void test_gbk(void **state)
{
	(void)state;
	sb_arena a;
	sb_arena_init(&a);
	sb_diag d;
	sb_diag_clear(&d);
	const char *out;
	size_t n;
	bool conv;
	/* 医疗 in GBK: D2BD C1C6 */
	const char gbk[] = "\xd2\xbd\xc1\xc6\n";
	assert_int_equal(sb_texts_to_utf8(&a, "g.txt", gbk, 5, &out, &n, &conv, &d), SB_OK);
	assert_true(conv);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "医疗\n", 7);
	/* UTF-8 with a BOM is returned without it, unconverted */
	const char bom[] = "\xef\xbb\xbf医";
	assert_int_equal(sb_texts_to_utf8(&a, "b.txt", bom, 6, &out, &n, &conv, &d), SB_OK);
	assert_false(conv);
	assert_int_equal(n, 3);
	/* neither: refused at the first invalid byte's place */
	const char bad[] = "医\n\xff\xfe";
	assert_int_equal(sb_texts_to_utf8(&a, "x.txt", bad, 6, &out, &n, &conv, &d), SB_EINPUT);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.column, 1);
	assert_non_null(strstr(d.message, "not UTF-8"));
	assert_non_null(strstr(d.message, "not GBK"));
	sb_arena_release(&a);
}

/* ---- Aho–Corasick ----------------------------------------------------- */

typedef struct hits {
	int id[64];
	size_t end[64];
	size_t n;
} hits;

static void on_hit(void *ctx, int id, size_t end)
{
	hits *h = ctx;
	if (h->n < 64) {
		h->id[h->n] = id;
		h->end[h->n++] = end;
	}
}

static sb_ac *build(const char *const *pats, size_t n)
{
	sb_ac *ac = sb_ac_new();
	assert_non_null(ac);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sb_ac_add(ac, pats[i], strlen(pats[i]), (int)i), SB_OK);
	assert_int_equal(sb_ac_build(ac), SB_OK);
	return ac;
}

static void test_ac_overlaps(void **state)
{
	(void)state;
	/* the classic: he, she, his, hers over "ushers" */
	static const char *const en[] = {"he", "she", "his", "hers"};
	sb_ac *ac = build(en, LEN(en));
	hits h = {{0}, {0}, 0};
	sb_ac_scan(ac, "ushers", 6, on_hit, &h);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.id[0], 1); /* she at 4, longest first */
	assert_int_equal(h.end[0], 4);
	assert_int_equal(h.id[1], 0); /* he at 4 */
	assert_int_equal(h.id[2], 3); /* hers at 6 */
	assert_int_equal(h.end[2], 6);
	sb_ac_free(ac);

	/* Overlapping Chinese terms: every one found, the same bytes twice
	 * report both ids. */
	static const char *const zh[] = {"医疗", "医疗保障", "保障", "障", "医疗"};
	ac = build(zh, LEN(zh));
	memset(&h, 0, sizeof h);
	sb_ac_scan(ac, "医疗保障局", strlen("医疗保障局"), on_hit, &h);
	assert_int_equal(h.n, 5);
	assert_int_equal(h.id[0], 0);
	assert_int_equal(h.end[0], 6);
	assert_int_equal(h.id[1], 4);
	assert_int_equal(h.end[1], 6);
	assert_int_equal(h.id[2], 1); /* 医疗保障, then its suffixes */
	assert_int_equal(h.id[3], 2);
	assert_int_equal(h.id[4], 3);
	for (size_t i = 2; i < 5; i++)
		assert_int_equal(h.end[i], 12);
	sb_ac_free(ac);
}

/* 1 when byte i of s starts a UTF-8 character (or is the end). */
static int boundary(const char *s, size_t n, size_t i)
{
	return i == n || ((unsigned char)s[i] & 0xc0) != 0x80;
}

static void test_ac_boundaries(void **state)
{
	(void)state;
	/* Terms that share lead and continuation bytes with their neighbours:
	 * 医 E5 8C BB, 区 E5 8C BA, 卫 E5 8D AB, 生 E7 94 9F. A byte-level
	 * matcher could only go wrong at a non-boundary, and on valid UTF-8 it
	 * never lands on one. */
	static const char *const pats[] = {"医", "区", "卫生", "生", "医区", "a医"};
	sb_ac *ac = build(pats, LEN(pats));
	const char *text = "a医区卫生医卫生区aa医";
	size_t n = strlen(text);
	hits h = {{0}, {0}, 0};
	sb_ac_scan(ac, text, n, on_hit, &h);
	int count[LEN(pats)] = {0};
	for (size_t i = 0; i < h.n; i++) {
		size_t len = strlen(pats[h.id[i]]);
		size_t start = h.end[i] - len;
		assert_true(boundary(text, n, start));
		assert_true(boundary(text, n, h.end[i]));
		assert_memory_equal(text + start, pats[h.id[i]], len);
		count[h.id[i]]++;
	}
	assert_int_equal(count[0], 3); /* 医 */
	assert_int_equal(count[1], 2); /* 区 */
	assert_int_equal(count[2], 2); /* 卫生 */
	assert_int_equal(count[3], 2); /* 生 */
	assert_int_equal(count[4], 1); /* 医区 */
	assert_int_equal(count[5], 2); /* a医 */
	/* A text that is not valid UTF-8 (a cut character) finds no 医 in the
	 * cut part. */
	memset(&h, 0, sizeof h);
	sb_ac_scan(ac, "\x8c\xbb\xe5\x8c", 4, on_hit, &h);
	assert_int_equal(h.n, 0);
	sb_ac_free(ac);
	/* empty patterns and adds after build are refused */
	ac = build(pats, 1);
	assert_int_equal(sb_ac_add(ac, "x", 1, 9), SB_EINPUT);
	sb_ac_free(ac);
}

/* ---- the coder -------------------------------------------------------- */

static const char frame_yaml[] =
	"frame: test\n"
	"stages:\n"
	"  - {name: early, until: 2020}\n"
	"  - {name: late, from: 2021}\n"
	"categories:\n"
	"  - id: tool.monitoring\n"
	"    name: 运行监测\n"
	"    dimension: tool\n"
	"    group: 环境型\n"
	"    terms:\n"
	"      - 预警\n"
	"      - {term: 监测, excludes: [血压, 血糖]}\n"
	"  - id: tool.mechanism\n"
	"    name: 机制建设\n"
	"    dimension: tool\n"
	"    group: 环境型\n"
	"    terms:\n"
	"      - 长效机制\n"
	"      - {term: 机制, requires: [建立, 健全]}\n"
	"  - id: coord.subject\n"
	"    name: 协同主体\n"
	"    dimension: coordination\n"
	"    min_departments: 2\n"
	"  - id: coord.content\n"
	"    name: 协同内容\n"
	"    dimension: coordination\n"
	"    min_departments: 2\n"
	"    terms: [信息共享]\n"
	"  - id: dept.mz\n"
	"    name: 民政\n"
	"    dimension: department\n"
	"    terms: [民政部门]\n"
	"  - id: dept.yb\n"
	"    name: 医保\n"
	"    dimension: department\n"
	"    terms: [医疗保障部门]\n";

static sb_texts_frame *load_frame(void)
{
	sb_diag d;
	sb_diag_clear(&d);
	sb_texts_frame *f;
	sb_status st = sb_texts_frame_load_mem("test.yaml", frame_yaml, sizeof frame_yaml - 1, &f, &d);
	if (st)
		fail_msg("frame: %s", d.message);
	return f;
}

/* The ids coded for text, ';'-joined. */
static void codes_of(const sb_texts_frame *f, const char *text, char *out, size_t cap,
		     char *terms, size_t tcap)
{
	sb_texts_codes c;
	sb_texts_code(f, text, strlen(text), &c, terms, tcap);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sb_texts_frame_ncategories(f); i++)
		if (sb_texts_codes_has(&c, i))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ";" : "",
					      sb_texts_frame_id(f, i));
}

static void test_conditions(void **state)
{
	(void)state;
	sb_texts_frame *f = load_frame();
	static const struct {
		const char *text, *codes, *terms;
	} rows[] = {
		/* excluded co-term: 血压监测 is a health check, not monitoring */
		{"加强因病返贫监测。", "tool.monitoring", "监测"},
		{"开展血压监测。", "", ""},
		{"开展血压监测和返贫预警。", "tool.monitoring", "预警"},
		/* required co-term: 机制 alone is not 机制建设 */
		{"发挥机制作用。", "", ""},
		{"建立协作机制。", "tool.mechanism", "机制"},
		{"健全长效机制。", "tool.mechanism", "长效机制;机制"},
		/* coordination needs two named departments */
		{"民政部门负责信息共享。", "dept.mz", "民政部门"}, /* one department: no 协同 */
		{"民政部门和医疗保障部门加强信息共享。",
		 "coord.subject;coord.content;dept.mz;dept.yb", "民政部门;医疗保障部门;信息共享"},
		{"民政部门和医疗保障部门负责。", "coord.subject;dept.mz;dept.yb",
		 "民政部门;医疗保障部门"},
	};
	for (size_t i = 0; i < LEN(rows); i++) {
		char got[256], terms[256];
		codes_of(f, rows[i].text, got, sizeof got, terms, sizeof terms);
		if (strcmp(got, rows[i].codes) || strcmp(terms, rows[i].terms))
			fail_msg("%s: codes \"%s\" terms \"%s\", expected \"%s\" \"%s\"", rows[i].text,
				 got, terms, rows[i].codes, rows[i].terms);
	}
	assert_string_equal(sb_texts_frame_stage(f, 2020), "early");
	assert_string_equal(sb_texts_frame_stage(f, 2021), "late");
	assert_null(sb_texts_frame_stage(f, 0));
	assert_int_equal(sb_texts_frame_find(f, "dept.yb", 7), 5);
	assert_int_equal(sb_texts_frame_find(f, "dept", 4), -1);
	sb_texts_frame_free(f);
}

static void test_frame_errors(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *message;
		int line;
	} rows[] = {
		{"frame: x\ncategories: []\n", "non-empty list", 2},
		{"frame: x\ncategories:\n  - {id: a, name: b, dimension: goal}\n", "needs `terms:`", 3},
		{"frame: x\ncategories:\n  - {id: a, name: b, dimension: goal, terms: [t], colour: red}\n",
		 "colour", 3},
		{"frame: x\ncategories:\n  - {id: a, name: b, dimension: goal, terms: [{term: t}]}\n",
		 "needs `requires:` or `excludes:`", 3},
		{"frame: x\ncategories:\n  - {id: a, name: b, dimension: goal, terms: [t]}\n"
		 "  - {id: a, name: c, dimension: goal, terms: [u]}\n",
		 "appears twice", 4},
		{"frame: x\ncategories:\n  - {id: 'a;b', name: b, dimension: goal, terms: [t]}\n",
		 "holds ';'", 3},
		{"frame: x\nstages:\n  - {name: s, from: 20x1}\ncategories:\n"
		 "  - {id: a, name: b, dimension: goal, terms: [t]}\n",
		 "a year", 3},
	};
	for (size_t i = 0; i < LEN(rows); i++) {
		sb_diag d;
		sb_diag_clear(&d);
		sb_texts_frame *f;
		sb_status st = sb_texts_frame_load_mem("bad.yaml", rows[i].yaml, strlen(rows[i].yaml),
						       &f, &d);
		if (st == SB_OK) {
			sb_texts_frame_free(f);
			fail_msg("row %zu loaded", i);
		}
		if (!strstr(d.message, rows[i].message) || d.line != rows[i].line)
			fail_msg("row %zu: %d: %s (expected line %d: %s)", i, d.line, d.message,
				 rows[i].line, rows[i].message);
	}
}

/* ---- kappa ------------------------------------------------------------ */

static void test_kappa(void **state)
{
	(void)state;
	/* 100 clauses: both code 20, only the coder 5, only the gold 10, neither
	 * 65. po = 0.85; coder yes 0.25, gold yes 0.30; pe = 0.25*0.30 +
	 * 0.75*0.70 = 0.60; kappa = (0.85 - 0.60) / 0.40 = 0.625. */
	assert_true(fabs(sb_texts_kappa(20, 5, 10, 65) - 0.625) < 1e-12);
	/* perfect agreement, and agreement no better than chance */
	assert_true(fabs(sb_texts_kappa(10, 0, 0, 30) - 1.0) < 1e-12);
	/* 2x2 table 25/25/25/25: po 0.5 = pe 0.5 -> 0 */
	assert_true(fabs(sb_texts_kappa(25, 25, 25, 25)) < 1e-12);
	/* both raters say "absent" everywhere: pe = 1, they agree: 1 */
	assert_true(fabs(sb_texts_kappa(0, 0, 0, 40) - 1.0) < 1e-12);
	/* systematic disagreement is negative: po 0, pe 0.5 -> -1 */
	assert_true(fabs(sb_texts_kappa(0, 5, 5, 0) + 1.0) < 1e-12);
}

/* ---- faults ----------------------------------------------------------- */

static sb_status job(sb_diag *d)
{
	sb_texts_frame *f;
	sb_status st = sb_texts_frame_load_mem("test.yaml", frame_yaml, sizeof frame_yaml - 1, &f, d);
	if (st)
		return st;
	sb_arena a;
	sb_arena_init(&a);
	sb_texts_doc *doc;
	const char *text = "标题：甲\n发文机关：民政部门 医疗保障部门\n----\n前言。\n一、总则\n（一）建立长效机制。\n"
			   "续行：民政部门和医疗保障部门信息共享。\n第一条 开展监测。\n";
	st = sb_texts_split(&a, "t.txt", text, strlen(text), &doc, d);
	if (!st) {
		for (size_t i = 0; i < doc->nclauses; i++) {
			char terms[128];
			sb_texts_code(f, doc->clauses[i].text, doc->clauses[i].len,
				      &doc->clauses[i].codes, terms, sizeof terms);
		}
		if (doc->nclauses != 3)
			st = sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "%zu clauses", doc->nclauses);
	}
	sb_arena_release(&a);
	sb_texts_frame_free(f);
	return st;
}

static void test_faults(void **state)
{
	(void)state;
	long n;
	for (n = 0;; n++) {
		sb_diag d;
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = job(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK && st != SB_ENOMEM)
			fail_msg("allocation %ld failing gave %d: %s", n, st, d.message);
		if (st != SB_OK && !d.message[0])
			fail_msg("allocation %ld failing gave no message", n);
		if (st == SB_OK && made <= n)
			break;
		assert_true(n < 100000);
	}
	assert_true(n > 5);
}

/* The whole run: frame file, META, gold, one fixture text, every output.
 * Every allocation fails in turn; each failure must come back as a clean
 * SB_ENOMEM, and nothing may leak (ASan). */
static char tmpdir[256];

static sb_status run_job(sb_diag *d)
{
	char frame[512], meta[512], gold[512], doc[1024], out[512];
	const char *src = getenv("SB_SOURCE_DIR");
	snprintf(frame, sizeof frame, "%s/frame.yaml", tmpdir);
	snprintf(meta, sizeof meta, "%s/meta.csv", tmpdir);
	snprintf(gold, sizeof gold, "%s/gold.csv", tmpdir);
	snprintf(out, sizeof out, "%s/out", tmpdir);
	snprintf(doc, sizeof doc,
		 "%s/tests/fixtures/texts/wuhan_2023_zhongtedabing_baoxian_jiuzhu_tongzhi.txt",
		 src ? src : ".");
	const char *docs[] = {doc};
	FILE *devnull = fopen("/dev/null", "w");
	sb_texts_config cfg = {frame, meta, gold, out, docs, 1, devnull};
	sb_texts_totals t;
	sb_status st = sb_texts_run(&cfg, &t, d);
	fclose(devnull);
	if (!st && (t.clauses != 11 || t.gold_clauses != 2))
		return sb_diag_set(d, SB_EINPUT, NULL, 0, 0, "%zu clauses, %zu gold", t.clauses,
				   t.gold_clauses);
	return st;
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_run_faults(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sb-texts-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("frame.yaml", frame_yaml);
	write_file("meta.csv", "document,stage,province,issuer,date\n"
			       "wuhan_2023_zhongtedabing_baoxian_jiuzhu_tongzhi,late,湖北,,2023-01-10\n");
	write_file("gold.csv", "document,path,codes\n"
			       "wuhan_2023_zhongtedabing_baoxian_jiuzhu_tongzhi.txt,二.(五),"
			       "tool.mechanism;tool.monitoring\n"
			       "wuhan_2023_zhongtedabing_baoxian_jiuzhu_tongzhi.txt,三.(一),dept.mz\n");
	sb_diag d;
	sb_diag_clear(&d);
	if (run_job(&d))
		fail_msg("run: %s", d.message);
	long n;
	for (n = 0;; n++) {
		sb_diag_clear(&d);
		sb_alloc_fail_after(n);
		sb_status st = run_job(&d);
		long made = sb_alloc_fail_after(-1);
		if (st != SB_OK && st != SB_ENOMEM)
			fail_msg("allocation %ld failing gave %d: %s", n, st, d.message);
		if (st != SB_OK && !d.message[0])
			fail_msg("allocation %ld failing gave no message", n);
		if (st == SB_OK && made <= n)
			break;
		assert_true(n < 100000);
	}
	assert_true(n > 20);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numerals),
		cmocka_unit_test(test_split_styles),
		cmocka_unit_test(test_split_header_and_unplaced),
		cmocka_unit_test(test_split_limits),
		cmocka_unit_test(test_gbk),
		cmocka_unit_test(test_ac_overlaps),
		cmocka_unit_test(test_ac_boundaries),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_kappa),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_run_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
