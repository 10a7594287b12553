/* arena.h: bump allocation for memory that lives exactly as long as one
 * load or one request (a policy set, a case run), freed in one call; and the
 * allocation wrappers every module uses, so a test can make the Nth
 * allocation fail and check that the failure comes back as a clean error. */
#ifndef SANBAO_ARENA_H
#define SANBAO_ARENA_H

#include <stddef.h>

typedef struct sb_arena_chunk sb_arena_chunk;

typedef struct sb_arena {
	sb_arena_chunk *head;
	size_t used; /* bytes handed out, for reporting */
} sb_arena;

void sb_arena_init(sb_arena *a);
void sb_arena_release(sb_arena *a);
/* Zeroed, 16-byte aligned memory owned by the arena; NULL when out of memory. */
void *sb_arena_alloc(sb_arena *a, size_t n);
/* A NUL-terminated copy of p[0..n) owned by the arena; NULL when out of memory. */
char *sb_arena_strndup(sb_arena *a, const char *p, size_t n);

/* malloc/calloc/realloc/free that honour the fault-injection hook. */
void *sb_malloc(size_t n);
void *sb_calloc(size_t count, size_t size);
void *sb_realloc(void *p, size_t n);
void sb_free(void *p);

/* Zeroed memory for large tables that are probed at random (the person
 * index): mapped with transparent huge pages where the kernel offers them,
 * which spares a TLB miss on most probes. Freed with sb_huge_free(p, n). */
void *sb_huge_alloc(size_t n);
void sb_huge_free(void *p, size_t n);

/* Test hook: after `n` more successful allocations, every allocation fails
 * (n < 0 switches injection off). Returns the number of allocations made
 * since the last call. This is the library's one piece of process-wide
 * state, and it exists only for fault-injection tests. */
long sb_alloc_fail_after(long n);

#endif
