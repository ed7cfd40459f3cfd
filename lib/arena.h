/*
 * arena.h - per-request bump allocator.
 *
 * One arena lives for the whole process and is reset at the top of every
 * request (pg MessageContext, nginx request pool).  Memory comes from 16 KiB
 * blocks; an allocation larger than a quarter block gets a block of its own.
 * nv_arena_alloc never returns NULL: on out-of-memory it logs and aborts, so
 * callers never check.  Cleanups registered with nv_arena_defer (PQclear,
 * cJSON_Delete, jwt_free, ...) run in reverse order at reset and free.
 *
 * Never free arena memory by hand and never keep a pointer into it past the
 * reset.  Process-lifetime state is malloc'd by the module that owns it.
 */
#ifndef NV_ARENA_H
#define NV_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct nv_arena;

/* A new empty arena; aborts on out-of-memory. */
struct nv_arena *nv_arena_new(void);

/* Run the cleanups, release all but the first block, start over. */
void nv_arena_reset(struct nv_arena *a);

/* Reset, then free the arena itself.  A NULL a is ignored. */
void nv_arena_free(struct nv_arena *a);

/* n bytes, aligned for any type, zero-filled. */
void *nv_arena_alloc(struct nv_arena *a, size_t n);

/* NUL-terminated copy of s (NULL gives NULL). */
char *nv_arena_strdup(struct nv_arena *a, const char *s);

/* NUL-terminated copy of the first n bytes of s. */
char *nv_arena_strndup(struct nv_arena *a, const char *s, size_t n);

/* printf into the arena. */
char *nv_arena_printf(struct nv_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *nv_arena_vprintf(struct nv_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Concatenate the NULL-terminated list of strings into a new arena string
 * with memcpy (a 45 KB response body through printf costs 100x more).
 */
char *nv_arena_cat(struct nv_arena *a, ...);

/* Call fn(p) when the arena is next reset or freed (reverse order). */
void nv_arena_defer(struct nv_arena *a, void (*fn)(void *), void *p);

/* Bytes handed out since the last reset (for tests and metrics). */
size_t nv_arena_used(const struct nv_arena *a);

#endif /* NV_ARENA_H */
