/* arena.c: chunked bump allocator and the fault-injectable malloc wrappers.
 * A chunk is at least 64 KiB; larger requests get a chunk of their own. */
#include "base/arena.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct sb_arena_chunk {
	sb_arena_chunk *next;
	size_t cap;
	size_t used;
	_Alignas(16) unsigned char data[];
};

#define CHUNK_MIN ((size_t)64 << 10)

/* Fault injection: -1 means off; otherwise the allocations left before
 * failure. Atomic so that threaded code under test stays race-free. */
static _Atomic long fail_countdown = -1;
static _Atomic long alloc_count = 0;

static int alloc_should_fail(void)
{
	atomic_fetch_add(&alloc_count, 1);
	long left = atomic_load(&fail_countdown);
	while (left >= 0) {
		if (left == 0)
			return 1;
		if (atomic_compare_exchange_weak(&fail_countdown, &left, left - 1))
			return 0;
	}
	return 0;
}

long sb_alloc_fail_after(long n)
{
	atomic_store(&fail_countdown, n < 0 ? -1 : n);
	return atomic_exchange(&alloc_count, 0);
}

void *sb_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : malloc(n ? n : 1);
}

void *sb_calloc(size_t count, size_t size)
{
	return alloc_should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *sb_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : realloc(p, n ? n : 1);
}

void sb_free(void *p)
{
	free(p);
}

void *sb_huge_alloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (n >= ((size_t)2 << 20))
		madvise(p, n, MADV_HUGEPAGE);
#endif
	return p;
}

void sb_huge_free(void *p, size_t n)
{
	if (p)
		munmap(p, n ? n : 1);
}

void sb_arena_init(sb_arena *a)
{
	a->head = NULL;
	a->used = 0;
}

void sb_arena_release(sb_arena *a)
{
	sb_arena_chunk *c = a->head;
	while (c) {
		sb_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}

void *sb_arena_alloc(sb_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	sb_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		sb_arena_chunk *fresh = sb_malloc(sizeof *fresh + cap);
		if (!fresh)
			return NULL;
		fresh->cap = cap;
		fresh->used = 0;
		/* Keep filling the current chunk when the new one is a one-off. */
		if (c && cap == n && c->cap - c->used >= 256) {
			fresh->next = c->next;
			c->next = fresh;
			c = fresh;
		} else {
			fresh->next = c;
			a->head = fresh;
			c = fresh;
		}
	}
	void *p = c->data + c->used;
	c->used += n;
	a->used += n;
	memset(p, 0, n);
	return p;
}

char *sb_arena_strndup(sb_arena *a, const char *p, size_t n)
{
	char *s = sb_arena_alloc(a, n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
