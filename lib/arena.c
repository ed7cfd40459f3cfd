/*
 * arena.c - per-request bump allocator; see arena.h for the contract.
 *
 * Blocks form a singly linked list, newest first.  The first block is kept
 * across resets so that a steady-state request allocates nothing from malloc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"

#define ARENA_BLOCK	(16 * 1024)
#define ARENA_ALIGN	(_Alignof(max_align_t))

struct arena_block {
	struct arena_block	*next;
	size_t			 size;
	size_t			 used;
	_Alignas(max_align_t) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup	*next;
	void			(*fn)(void *);
	void			*p;
};

struct nv_arena {
	struct arena_block	*head;
	struct arena_block	*first;
	struct arena_cleanup	*cleanups;
	size_t			 total;
};

static void
arena_oom(size_t n)
{
	nv_log_error("out of memory allocating %zu bytes", n);
	abort();
}

static struct arena_block *
arena_block_new(size_t size)
{
	struct arena_block *b;

	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		arena_oom(size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct nv_arena *
nv_arena_new(void)
{
	struct nv_arena *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		arena_oom(sizeof(*a));
	a->first = arena_block_new(ARENA_BLOCK);
	a->head = a->first;
	return a;
}

static void
arena_run_cleanups(struct nv_arena *a)
{
	struct arena_cleanup *c;

	/* Cleanups live in the arena, so read next before running. */
	while ((c = a->cleanups) != NULL) {
		a->cleanups = c->next;
		c->fn(c->p);
	}
}

void
nv_arena_reset(struct nv_arena *a)
{
	struct arena_block *b, *next;

	arena_run_cleanups(a);
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		if (b != a->first)
			free(b);
	}
	a->first->next = NULL;
	a->first->used = 0;
	a->head = a->first;
	a->total = 0;
}

void
nv_arena_free(struct nv_arena *a)
{
	if (a == NULL)
		return;
	nv_arena_reset(a);
	free(a->first);
	free(a);
}

void *
nv_arena_alloc(struct nv_arena *a, size_t n)
{
	struct arena_block *b;
	size_t need;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		arena_oom(n);
	need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	if (need > ARENA_BLOCK / 4) {
		/* Big allocations get their own block behind the head. */
		b = arena_block_new(need);
		b->used = need;
		b->next = a->head->next;
		a->head->next = b;
		a->total += need;
		memset(b->data, 0, need);
		return b->data;
	}
	b = a->head;
	if (b->size - b->used < need) {
		b = arena_block_new(ARENA_BLOCK);
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->total += need;
	memset(p, 0, need);
	return p;
}

char *
nv_arena_strndup(struct nv_arena *a, const char *s, size_t n)
{
	char *p;

	p = nv_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
nv_arena_strdup(struct nv_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return nv_arena_strndup(a, s, strlen(s));
}

char *
nv_arena_vprintf(struct nv_arena *a, const char *fmt, va_list ap)
{
	va_list cp;
	char *p;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	p = nv_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
nv_arena_printf(struct nv_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = nv_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

char *
nv_arena_cat(struct nv_arena *a, ...)
{
	const char *part;
	size_t len = 0, n;
	va_list ap;
	char *out, *p;

	va_start(ap, a);
	while ((part = va_arg(ap, const char *)) != NULL)
		len += strlen(part);
	va_end(ap);
	out = p = nv_arena_alloc(a, len + 1);
	va_start(ap, a);
	while ((part = va_arg(ap, const char *)) != NULL) {
		n = strlen(part);
		memcpy(p, part, n);
		p += n;
	}
	va_end(ap);
	*p = '\0';
	return out;
}

void
nv_arena_defer(struct nv_arena *a, void (*fn)(void *), void *p)
{
	struct arena_cleanup *c;

	if (fn == NULL || p == NULL)
		return;
	c = nv_arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t
nv_arena_used(const struct nv_arena *a)
{
	return a->total;
}
