/*
 * check_cursor.c - the keyset cursor codec and the strict query parser
 * (lib/cursor.c, nv_req_query_parse / nv_req_query_int in lib/http.c).
 */
#include <string.h>

#include "../testutil.h"
#include "arena.h"
#include "cursor.h"
#include "http.h"

#define TS	"2026-11-01 10:20:30.123456+00"
#define ID	"c1000000-0000-4000-8000-000000000002"

static struct nv_arena *arena;

static void
setup(void)
{
	arena = nv_arena_new();
}

static void
teardown(void)
{
	nv_arena_free(arena);
}

START_TEST(cursor_round_trip)
{
	const char *ts, *id, *c;

	c = nv_cursor_encode(arena, TS, ID);
	/* Opaque and URL-safe: base64url without padding. */
	ck_assert_uint_eq(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789-_"), strlen(c));
	ck_assert_ptr_null(strstr(c, TS));
	ck_assert_int_eq(nv_cursor_decode(arena, c, &ts, &id), NV_OK);
	ck_assert_str_eq(ts, TS);
	ck_assert_str_eq(id, ID);
	/* Whole seconds, as PostgreSQL prints them without a fraction. */
	c = nv_cursor_encode(arena, "2026-11-01 10:20:30+00", ID);
	ck_assert_int_eq(nv_cursor_decode(arena, c, &ts, &id), NV_OK);
	ck_assert_str_eq(ts, "2026-11-01 10:20:30+00");
}
END_TEST

START_TEST(cursor_forgeries_refused)
{
	static const char *const forged[][2] = {
		{ "2026-13-45 99:99:99+00", ID },	/* not a time */
		{ "9999-99-99 00:00:00+00", ID },
		{ "2026-11-01 00:00:00+99", ID },	/* offset */
		{ "2026-11-01 00:00:00+01", ID },	/* not UTC */
		{ "2026-02-29 00:00:00+00", ID },	/* no such day */
		{ "2026-11-01 00:00:00+00", "not-a-uuid" },
		{ "2026-11-01 00:00:00+00'; DROP TABLE leads; --", ID },
		{ "", ID },
	};
	const char *ts, *id;
	size_t i;

	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		ck_assert_msg(nv_cursor_decode(arena, nv_cursor_encode(arena,
		    forged[i][0], forged[i][1]), &ts, &id) == NV_ERR_BAD_REQUEST,
		    "accepted %s|%s", forged[i][0], forged[i][1]);
	ck_assert_int_eq(nv_cursor_decode(arena, "", &ts, &id),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(nv_cursor_decode(arena, "abc*def", &ts, &id),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(nv_cursor_decode(arena, "a", &ts, &id),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(nv_cursor_decode(arena, "AAAA====", &ts, &id),
	    NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(cursor_length_capped)
{
	char big[400];
	const char *ts, *id;

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(nv_cursor_decode(arena, big, &ts, &id),
	    NV_ERR_BAD_REQUEST);
}
END_TEST

static const char *const allowed[] = { "status", "limit", "q", NULL };

static struct nv_req *
req_with(const char *query)
{
	struct nv_req *req = nv_arena_alloc(arena, sizeof(*req));

	req->arena = arena;
	req->query = query;
	return req;
}

START_TEST(query_parses_and_decodes)
{
	struct nv_req *req = req_with("status=new&q=Bj%C3%B8rn+Olsen&limit=5");
	long n;

	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_OK);
	ck_assert_str_eq(nv_req_query(req, "status"), "new");
	ck_assert_str_eq(nv_req_query(req, "q"), "Bjørn Olsen");
	ck_assert_ptr_null(nv_req_query(req, "missing"));
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n), NV_OK);
	ck_assert_int_eq(n, 5);
	req = req_with("");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_OK);
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n), NV_OK);
	ck_assert_int_eq(n, 50);
	/* Empty pairs are skipped; a name without '=' has an empty value. */
	req = req_with("&&status&");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_OK);
	ck_assert_str_eq(nv_req_query(req, "status"), "");
}
END_TEST

START_TEST(query_refuses_unknown_repeated_malformed)
{
	struct nv_req *req;
	long n;

	req = req_with("status=new&colour=red");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_ERR_BAD_REQUEST);
	ck_assert_uint_eq(req->diag.ndetails, 1);
	ck_assert_str_eq(req->diag.details[0].field, "colour");

	req = req_with("status=new&status=won");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_ERR_BAD_REQUEST);
	ck_assert_str_eq(req->diag.details[0].field, "status");

	req = req_with("q=%zz");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_ERR_BAD_REQUEST);
	req = req_with("q=abc%");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_ERR_BAD_REQUEST);
	req = req_with("q=a%00b");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_ERR_BAD_REQUEST);
	/* An encoded name is decoded before it is checked. */
	req = req_with("st%61tus=new");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_OK);
	ck_assert_str_eq(nv_req_query(req, "status"), "new");

	req = req_with("limit=0");
	ck_assert_int_eq(nv_req_query_parse(req, allowed), NV_OK);
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n),
	    NV_ERR_BAD_REQUEST);
	ck_assert_str_eq(req->diag.details[0].field, "limit");
	req = req_with("limit=201");
	nv_req_query_parse(req, allowed);
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n),
	    NV_ERR_BAD_REQUEST);
	req = req_with("limit=5x");
	nv_req_query_parse(req, allowed);
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n),
	    NV_ERR_BAD_REQUEST);
	req = req_with("limit=");
	nv_req_query_parse(req, allowed);
	ck_assert_int_eq(nv_req_query_int(req, "limit", 1, 200, 50, &n),
	    NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(query_count_capped)
{
	static const char *const many[] = {
		"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
		"m", "n", "o", "p", "q", NULL
	};
	struct nv_req *req = req_with("a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&"
	    "j=1&k=1&l=1&m=1&n=1&o=1&p=1&q=1");

	ck_assert_int_eq(nv_req_query_parse(req, many), NV_ERR_BAD_REQUEST);
}
END_TEST

static Suite *
cursor_suite(void)
{
	Suite *s = suite_create("cursor");
	TCase *core = tcase_create("core"), *lim = tcase_create("limits");
	TCase *err = tcase_create("errors");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_checked_fixture(err, setup, teardown);
	tcase_add_test(core, cursor_round_trip);
	tcase_add_test(core, query_parses_and_decodes);
	tcase_add_test(lim, cursor_length_capped);
	tcase_add_test(lim, query_count_capped);
	tcase_add_test(err, cursor_forgeries_refused);
	tcase_add_test(err, query_refuses_unknown_repeated_malformed);
	suite_add_tcase(s, core);
	suite_add_tcase(s, lim);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(cursor_suite)
