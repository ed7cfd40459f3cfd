/*
 * check_arena.c - unit tests for lib/arena.c: alignment, zero-filling, big
 * allocations, string helpers, deferred cleanups and reset.
 *
 * Under make sanitize, ASan also checks that every byte handed out is
 * usable and that reset and free release every block (LeakSanitizer).
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testutil.h"
#include "arena.h"

static Suite *arena_suite(void);

#define ALIGN	_Alignof(max_align_t)

/* Cleanups record their tag here, in the order they ran. */
static int ran[2048];
static size_t nran;

static void
arena_record(void *p)
{
	ck_assert_uint_lt(nran, sizeof(ran) / sizeof(ran[0]));
	ran[nran++] = *(int *)p;
}

static int
arena_all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static unsigned char
arena_pattern(size_t i, size_t j)
{
	return (unsigned char)(i * 31 + j * 7 + 1);
}

/*
 * The first byte of p[0..n) that does not hold allocation i's pattern, or
 * n.  One assertion per allocation instead of one per byte: every passing
 * ck_assert is a write(2) to the parent under CK_FORK, and a million of
 * them made these tests time out on a busy machine.
 */
static size_t
arena_pattern_bad(const unsigned char *p, size_t i, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (p[j] != arena_pattern(i, j))
			return j;
	return n;
}

/* core */

START_TEST(test_alignment)
{
	struct nv_arena *a = nv_arena_new();
	size_t i;

	for (i = 0; i < 3000; i++) {
		size_t n = i % 37 + 1;
		max_align_t *p = nv_arena_alloc(a, n < sizeof(*p) ? sizeof(*p) :
		    n);

		ck_assert_msg(((uintptr_t)p & (ALIGN - 1)) == 0,
		    "allocation %zu of %zu bytes at %p is misaligned", i, n,
		    (void *)p);
		memset(p, 0xab, n < sizeof(*p) ? sizeof(*p) : n);
	}
	/* Odd sizes in between must not skew the next allocation. */
	for (i = 1; i < 200; i++) {
		char *c = nv_arena_alloc(a, i);
		long double *ld = nv_arena_alloc(a, sizeof(*ld));

		c[i - 1] = 'x';
		ck_assert_uint_eq((uintptr_t)ld % _Alignof(long double), 0);
		*ld = (long double)i;
	}
	nv_arena_free(a);
}
END_TEST

START_TEST(test_zero_filled)
{
	struct nv_arena *a = nv_arena_new();
	unsigned char *p;
	size_t i;

	/* Dirty memory, then reset so the same block is handed out again. */
	for (i = 0; i < 100; i++)
		memset(nv_arena_alloc(a, 100), 0xff, 100);
	memset(nv_arena_alloc(a, 20000), 0xff, 20000);
	nv_arena_reset(a);
	for (i = 0; i < 100; i++) {
		p = nv_arena_alloc(a, 100);
		ck_assert_msg(arena_all_zero(p, 100),
		    "allocation %zu not zeroed", i);
	}
	p = nv_arena_alloc(a, 20000);
	ck_assert(arena_all_zero(p, 20000));
	p = nv_arena_alloc(a, 5000);
	ck_assert(arena_all_zero(p, 5000));
	nv_arena_free(a);
}
END_TEST

START_TEST(test_big_allocations)
{
	static const size_t sizes[] = { 4097, 5000, 16384, 16385, 20000,
	    1024 * 1024 + 3 };
	struct nv_arena *a = nv_arena_new();
	unsigned char *big[sizeof(sizes) / sizeof(sizes[0])];
	char *small[sizeof(sizes) / sizeof(sizes[0])];
	size_t i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		small[i] = nv_arena_printf(a, "small %zu", i);
		big[i] = nv_arena_alloc(a, sizes[i]);
		ck_assert_ptr_nonnull(big[i]);
		ck_assert_uint_eq((uintptr_t)big[i] % ALIGN, 0);
		ck_assert(arena_all_zero(big[i], sizes[i]));
		for (j = 0; j < sizes[i]; j++)
			big[i][j] = arena_pattern(i, j);
	}
	/* Nothing overlaps: every byte still holds what was written. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char want[32];

		snprintf(want, sizeof(want), "small %zu", i);
		ck_assert_str_eq(small[i], want);
		j = arena_pattern_bad(big[i], i, sizes[i]);
		ck_assert_msg(j == sizes[i], "big %zu byte %zu clobbered", i, j);
	}
	ck_assert_uint_ge(nv_arena_used(a), 4097 + 5000 + 16384 + 16385 +
	    20000 + 1024 * 1024 + 3);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_used)
{
	struct nv_arena *a = nv_arena_new();
	size_t before;

	ck_assert_uint_eq(nv_arena_used(a), 0);
	nv_arena_alloc(a, 10);
	ck_assert_uint_ge(nv_arena_used(a), 10);
	before = nv_arena_used(a);
	nv_arena_alloc(a, 100);
	ck_assert_uint_ge(nv_arena_used(a), before + 100);
	before = nv_arena_used(a);
	nv_arena_alloc(a, 50000);
	ck_assert_uint_ge(nv_arena_used(a), before + 50000);
	before = nv_arena_used(a);
	nv_arena_strdup(a, "hello");
	ck_assert_uint_gt(nv_arena_used(a), before);
	nv_arena_reset(a);
	ck_assert_uint_eq(nv_arena_used(a), 0);
	nv_arena_alloc(a, 1);
	ck_assert_uint_gt(nv_arena_used(a), 0);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_cleanups_reset)
{
	static int tags[] = { 1, 2, 3, 4 };
	struct nv_arena *a = nv_arena_new();
	size_t i;

	nran = 0;
	for (i = 0; i < 4; i++) {
		nv_arena_defer(a, arena_record, &tags[i]);
		nv_arena_alloc(a, 6000);	/* cleanups across blocks */
	}
	ck_assert_uint_eq(nran, 0);
	nv_arena_reset(a);
	ck_assert_uint_eq(nran, 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ran[i], 4 - (int)i);
	/* They ran once: a second reset runs nothing. */
	nv_arena_reset(a);
	ck_assert_uint_eq(nran, 4);
	/* Cleanups registered after a reset still work. */
	nv_arena_defer(a, arena_record, &tags[0]);
	nv_arena_reset(a);
	ck_assert_uint_eq(nran, 5);
	ck_assert_int_eq(ran[4], 1);
	nv_arena_free(a);
	ck_assert_uint_eq(nran, 5);
}
END_TEST

START_TEST(test_cleanups_free)
{
	static int tags[] = { 10, 20, 30 };
	struct nv_arena *a = nv_arena_new();

	nran = 0;
	nv_arena_defer(a, arena_record, &tags[0]);
	nv_arena_defer(a, arena_record, &tags[1]);
	nv_arena_defer(a, arena_record, &tags[2]);
	nv_arena_free(a);
	ck_assert_uint_eq(nran, 3);
	ck_assert_int_eq(ran[0], 30);
	ck_assert_int_eq(ran[1], 20);
	ck_assert_int_eq(ran[2], 10);
}
END_TEST

START_TEST(test_strings)
{
	struct nv_arena *a = nv_arena_new();
	const char *src = "Ola Nordmann";
	char *s;

	s = nv_arena_strdup(a, src);
	ck_assert_str_eq(s, src);
	ck_assert_ptr_ne(s, src);
	ck_assert_ptr_null(nv_arena_strdup(a, NULL));
	s = nv_arena_strdup(a, "");
	ck_assert_str_eq(s, "");

	s = nv_arena_strndup(a, src, 3);
	ck_assert_str_eq(s, "Ola");
	s = nv_arena_strndup(a, src, 0);
	ck_assert_str_eq(s, "");
	s = nv_arena_strndup(a, src, strlen(src));
	ck_assert_str_eq(s, src);

	s = nv_arena_printf(a, "%s has %d leads (%.1f%%)", "bil-1", 42, 12.5);
	ck_assert_str_eq(s, "bil-1 has 42 leads (12.5%)");
	s = nv_arena_printf(a, "%s", "");
	ck_assert_str_eq(s, "");
	s = nv_arena_printf(a, "\xc3\xa6\xc3\xb8\xc3\xa5 %zu", (size_t)7);
	ck_assert_str_eq(s, "\xc3\xa6\xc3\xb8\xc3\xa5 7");
	nv_arena_free(a);
}
END_TEST

START_TEST(test_many_allocations_survive)
{
	struct nv_arena *a = nv_arena_new();
	static unsigned char *ptrs[6000];
	size_t i, j, n;

	/* About 900 KiB in small pieces: dozens of 16 KiB blocks. */
	for (i = 0; i < 6000; i++) {
		n = i % 300 + 1;
		ptrs[i] = nv_arena_alloc(a, n);
		for (j = 0; j < n; j++)
			ptrs[i][j] = arena_pattern(i, j);
	}
	for (i = 0; i < 6000; i++) {
		n = i % 300 + 1;
		j = arena_pattern_bad(ptrs[i], i, n);
		ck_assert_msg(j == n, "allocation %zu byte %zu clobbered", i, j);
	}
	nv_arena_reset(a);
	ck_assert_uint_eq(nv_arena_used(a), 0);
	nv_arena_free(a);
}
END_TEST

/* limits */

START_TEST(test_long_strings)
{
	struct nv_arena *a = nv_arena_new();
	static char big[40000];
	char *s;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = 'Z';
	s = nv_arena_strdup(a, big);
	ck_assert_uint_eq(strlen(s), sizeof(big) - 1);
	ck_assert(memcmp(s, big, sizeof(big)) == 0);

	s = nv_arena_strndup(a, big, 17000);
	ck_assert_uint_eq(strlen(s), 17000);
	ck_assert(memcmp(s, big, 17000) == 0);

	s = nv_arena_printf(a, "<%s>", big);
	ck_assert_uint_eq(strlen(s), sizeof(big) + 1);
	ck_assert_int_eq(s[0], '<');
	ck_assert_int_eq(s[6], 'Z');
	ck_assert_int_eq(s[sizeof(big)], '>');

	s = nv_arena_printf(a, "%*d", 20000, 7);
	ck_assert_uint_eq(strlen(s), 20000);
	ck_assert_int_eq(s[19999], '7');
	ck_assert_int_eq(s[0], ' ');
	nv_arena_free(a);
}
END_TEST

START_TEST(test_zero_size)
{
	struct nv_arena *a = nv_arena_new();
	char *p, *q;

	p = nv_arena_alloc(a, 0);
	q = nv_arena_alloc(a, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(p, q);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_block_boundaries)
{
	static const size_t sizes[] = { 16384 - 1, 16384, 4096, 4096 - 1,
	    16, 16384 - 16, 1, 8192 };
	struct nv_arena *a = nv_arena_new();
	unsigned char *p[sizeof(sizes) / sizeof(sizes[0])];
	size_t i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = nv_arena_alloc(a, sizes[i]);
		memset(p[i], (int)i + 1, sizes[i]);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizes[i]; j++)
			ck_assert_int_eq(p[i][j], (int)i + 1);
	nv_arena_free(a);
}
END_TEST

START_TEST(test_many_cleanups_and_cycles)
{
	static int tags[1000];
	struct nv_arena *a = nv_arena_new();
	size_t i, cycle;

	for (cycle = 0; cycle < 50; cycle++) {
		nran = 0;
		for (i = 0; i < 1000; i++) {
			tags[i] = (int)i;
			nv_arena_defer(a, arena_record, &tags[i]);
			nv_arena_alloc(a, i % 7 == 0 ? 5000 : 40);
		}
		nv_arena_reset(a);
		ck_assert_uint_eq(nran, 1000);
		for (i = 0; i < 1000; i++)
			ck_assert_int_eq(ran[i], 999 - (int)i);
		ck_assert_uint_eq(nv_arena_used(a), 0);
	}
	nv_arena_free(a);
}
END_TEST

/* errors */

START_TEST(test_defer_null_ignored)
{
	static int tag = 7;
	struct nv_arena *a = nv_arena_new();

	nran = 0;
	nv_arena_defer(a, arena_record, NULL);
	nv_arena_defer(a, NULL, &tag);
	nv_arena_defer(a, NULL, NULL);
	nv_arena_defer(a, arena_record, &tag);
	nv_arena_reset(a);
	ck_assert_uint_eq(nran, 1);
	ck_assert_int_eq(ran[0], 7);
	nv_arena_free(a);
	ck_assert_uint_eq(nran, 1);
}
END_TEST

START_TEST(test_free_null)
{
	nv_arena_free(NULL);
}
END_TEST

static void
arena_alloc_max(void)
{
	struct nv_arena *a = nv_arena_new();

	/* The "out of memory" log line is expected; keep the output clean. */
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	nv_arena_alloc(a, SIZE_MAX);
	ck_abort_msg("nv_arena_alloc returned for SIZE_MAX bytes");
}

/*
 * Check expects SIGABRT: the arena never returns NULL.  Under CK_FORK=no
 * an abort would end the whole run, so fork here instead.
 */
START_TEST(test_oom_aborts)
{
	const char *fork_mode = getenv("CK_FORK");
	pid_t pid;
	int st;

	if (fork_mode != NULL && strcmp(fork_mode, "no") == 0) {
		fflush(NULL);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			arena_alloc_max();
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
		return;
	}
	arena_alloc_max();
}
END_TEST

static Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc;

	tc = tcase_create("core");
	/*
	 * test_big_allocations checks 1 MiB byte by byte: about a second of
	 * CPU, but past Check's 4 s default on a loaded shared machine.
	 */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_zero_filled);
	tcase_add_test(tc, test_big_allocations);
	tcase_add_test(tc, test_used);
	tcase_add_test(tc, test_cleanups_reset);
	tcase_add_test(tc, test_cleanups_free);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_many_allocations_survive);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_long_strings);
	tcase_add_test(tc, test_zero_size);
	tcase_add_test(tc, test_block_boundaries);
	tcase_add_test(tc, test_many_cleanups_and_cycles);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_defer_null_ignored);
	tcase_add_test(tc, test_free_null);
	tcase_add_test_raise_signal(tc, test_oom_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(arena_suite)
