/* texts_int.h: what the files of src/texts share: the Aho–Corasick
 * automaton (ac.c) and the frame's internal layout (frame.c), read by the
 * coder and the tables (run.c). */
#ifndef SANBAO_TEXTS_INT_H
#define SANBAO_TEXTS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sanbao/texts.h"

/* ---- Aho–Corasick over UTF-8 bytes (ac.c) ---------------------------- */

/* Bound on automaton states (about total pattern bytes); the transition
 * table is states x 256 x 4 bytes. */
#define SB_AC_MAX_STATES (1 << 18)

typedef struct sb_ac sb_ac;

/* An empty automaton, freed by the caller with sb_ac_free. NULL when out
 * of memory. */
sb_ac *sb_ac_new(void);
void sb_ac_free(sb_ac *ac);
/* Adds pattern p[0..n) (n > 0) with the caller's id. The same bytes added
 * twice report both ids. SB_ENOMEM or SB_ELIMIT. */
SB_MUST_USE sb_status sb_ac_add(sb_ac *ac, const char *p, size_t n, int id);
/* Computes failure links and the full transition table; after it no more
 * patterns may be added. */
SB_MUST_USE sb_status sb_ac_build(sb_ac *ac);
/* Calls hit(ctx, id, end) for every occurrence of every pattern in
 * text[0..n), overlapping ones included, `end` one past its last byte, in
 * order of end (patterns ending at the same byte longest first). On valid
 * UTF-8 text and patterns every hit starts and ends on a character
 * boundary: a pattern's first byte is never a continuation byte. */
void sb_ac_scan(const sb_ac *ac, const char *text, size_t n,
		void (*hit)(void *ctx, int id, size_t end), void *ctx);

/* ---- the splitter (split.c) ------------------------------------------ */

/* Splits an issuer string ("山西省医疗保障局 山西省财政厅") into doc->issuers:
 * parenthesised remarks dropped, cut at blanks, 、 ， , ； and ;. Strings are
 * arena-owned. SB_ENOMEM, or SB_ELIMIT past SB_TEXTS_MAX_ISSUERS. */
SB_MUST_USE sb_status sb_texts_split_issuers(sb_arena *a, sb_texts_doc *doc, const char *p,
					     size_t n);

/* ---- the frame (frame.c) --------------------------------------------- */

/* One term of a category: a string that codes the clause, optionally only
 * when one of `requires` also occurs in it and none of `excludes` does. */
typedef struct sb_texts_term {
	int str;       /* index into frame->strs */
	int *requires; /* string indexes, any of which must occur */
	size_t nrequires;
	int *excludes; /* string indexes, none of which may occur */
	size_t nexcludes;
} sb_texts_term;

typedef struct sb_texts_category {
	char *id, *name, *dimension, *group;
	sb_texts_term *terms;
	size_t nterms;
	/* Coded only when at least this many distinct departments occur in the
	 * clause (0: no such rule); with no terms, the department count alone
	 * decides. */
	int min_departments;
} sb_texts_category;

typedef struct sb_texts_stage {
	char *name;
	int from, until; /* years, inclusive; 0 = open */
} sb_texts_stage;

struct sb_texts_frame {
	char *name;
	sb_texts_category cats[SB_TEXTS_MAX_CATEGORIES];
	size_t ncats;
	char **strs; /* distinct strings: terms and co-terms */
	size_t *strlens;
	size_t nstrs, capstrs;
	sb_texts_stage stages[16];
	size_t nstages;
	sb_ac *ac;
};

#endif
