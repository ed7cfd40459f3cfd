/*
 * check_http.c - unit tests for the parts of lib/http.c and lib/err.c that
 * need no FastCGI socket: the error table, struct nv_diag, route matching
 * (nv_http_match) and SPEC section 6's error body (nv_http_error_body).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "err.h"
#include "http.h"

static Suite *http_suite(void);

static struct nv_arena *arena;
static const char *names[NV_HTTP_MAX_PARAMS + 1];
static const char *values[NV_HTTP_MAX_PARAMS + 1];
static size_t nparams;

static void
http_setup(void)
{
	arena = nv_arena_new();
	memset(names, 0, sizeof(names));
	memset(values, 0, sizeof(values));
	nparams = 99;
}

static void
http_teardown(void)
{
	nv_arena_free(arena);
	arena = NULL;
}

static int
http_match_path(const char *pattern, const char *path)
{
	return nv_http_match(arena, pattern, path, names, values, &nparams);
}

/*
 * Render an error body, check it is exactly SPEC section 6's shape (no
 * other keys anywhere) and return it parsed; the caller deletes it.
 */
static cJSON *
http_body(enum nv_err code, const struct nv_diag *d, const char *rid)
{
	cJSON *j, *err, *det, *item;
	size_t len = 0;
	char *body;

	body = nv_http_error_body(arena, code, d, rid, &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_uint_eq(len, strlen(body));
	j = cJSON_Parse(body);
	ck_assert_msg(j != NULL, "not JSON: %s", body);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	err = cJSON_GetObjectItemCaseSensitive(j, "error");
	ck_assert(cJSON_IsObject(err));
	ck_assert_int_eq(cJSON_GetArraySize(err), 3);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err,
	    "code")));
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err,
	    "message")));
	det = cJSON_GetObjectItemCaseSensitive(err, "details");
	ck_assert(cJSON_IsArray(det));
	cJSON_ArrayForEach(item, det) {
		ck_assert(cJSON_IsObject(item));
		ck_assert_int_eq(cJSON_GetArraySize(item), 2);
		ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item,
		    "field")));
		ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item,
		    "issue")));
	}
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j,
	    "request_id")));
	nv_test_assert_error(body, nv_err_str(code));
	return j;
}

static const char *
http_str(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);

	if (path2 != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, path2);
	ck_assert(cJSON_IsString(v));
	return v->valuestring;
}

static const cJSON *
http_details(const cJSON *j)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "error"), "details");
}

/* core */

START_TEST(test_err_table)
{
	static const struct {
		enum nv_err	 e;
		int		 status;
		const char	*code;
	} want[] = {
		{ NV_ERR_BAD_REQUEST, 400, "bad_request" },
		{ NV_ERR_UNAUTHORIZED, 401, "unauthorized" },
		{ NV_ERR_FORBIDDEN, 403, "forbidden" },
		{ NV_ERR_NOT_FOUND, 404, "not_found" },
		{ NV_ERR_METHOD, 405, "method_not_allowed" },
		{ NV_ERR_CONFLICT, 409, "conflict" },
		{ NV_ERR_TOO_LARGE, 413, "payload_too_large" },
		{ NV_ERR_MEDIA_TYPE, 415, "unsupported_media_type" },
		{ NV_ERR_VALIDATION, 422, "validation_failed" },
		{ NV_ERR_RATE_LIMITED, 429, "rate_limited" },
		{ NV_ERR_UNAVAILABLE, 503, "service_unavailable" },
		{ NV_ERR_INTERNAL, 500, "internal_error" },
		{ NV_ERR_CONFIG, 500, "config_error" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(nv_err_status(want[i].e), want[i].status);
		ck_assert_str_eq(nv_err_str(want[i].e), want[i].code);
	}
	ck_assert_int_eq(nv_err_status(NV_OK), 200);
	ck_assert_str_eq(nv_err_str(NV_OK), "ok");
	/* Every code has a status and a distinct string. */
	for (i = 0; i < NV_ERR__COUNT; i++) {
		size_t j;

		ck_assert_ptr_nonnull(nv_err_str((enum nv_err)i));
		ck_assert_int_ge(nv_err_status((enum nv_err)i), 200);
		ck_assert_int_le(nv_err_status((enum nv_err)i), 599);
		for (j = i + 1; j < NV_ERR__COUNT; j++)
			ck_assert_str_ne(nv_err_str((enum nv_err)i),
			    nv_err_str((enum nv_err)j));
	}
}
END_TEST

START_TEST(test_diag)
{
	struct nv_diag d;

	memset(&d, 0x5a, sizeof(d));
	nv_diag_reset(&d);
	ck_assert_str_eq(d.msg, "");
	ck_assert_uint_eq(d.ndetails, 0);

	ck_assert_int_eq(nv_diag_set(&d, NV_ERR_NOT_FOUND, "lead %s not found",
	    "abc"), NV_ERR_NOT_FOUND);
	ck_assert_str_eq(d.msg, "lead abc not found");
	nv_diag_set(&d, NV_ERR_CONFLICT, "%d leads", 3);
	ck_assert_str_eq(d.msg, "3 leads");

	nv_diag_field(&d, "email", "is not a valid %s", "e-mail address");
	nv_diag_field(&d, "phone", "is required");
	ck_assert_uint_eq(d.ndetails, 2);
	ck_assert_str_eq(d.details[0].field, "email");
	ck_assert_str_eq(d.details[0].issue, "is not a valid e-mail address");
	ck_assert_str_eq(d.details[1].field, "phone");
	ck_assert_str_eq(d.details[1].issue, "is required");

	nv_diag_reset(&d);
	ck_assert_str_eq(d.msg, "");
	ck_assert_uint_eq(d.ndetails, 0);
}
END_TEST

START_TEST(test_match_exact)
{
	ck_assert_int_eq(http_match_path("/api/leads", "/api/leads"), 1);
	ck_assert_uint_eq(nparams, 0);
	ck_assert_int_eq(http_match_path("/", "/"), 1);
	ck_assert_uint_eq(nparams, 0);
	ck_assert_int_eq(http_match_path("/api/health", "/api/health"), 1);
}
END_TEST

START_TEST(test_match_params)
{
	ck_assert_int_eq(http_match_path("/api/leads/{id}",
	    "/api/leads/0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e"), 1);
	ck_assert_uint_eq(nparams, 1);
	ck_assert_str_eq(names[0], "id");
	ck_assert_str_eq(values[0], "0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e");

	ck_assert_int_eq(http_match_path("/api/leads/{lead_id}/notes/{note_id}",
	    "/api/leads/42/notes/7"), 1);
	ck_assert_uint_eq(nparams, 2);
	ck_assert_str_eq(names[0], "lead_id");
	ck_assert_str_eq(values[0], "42");
	ck_assert_str_eq(names[1], "note_id");
	ck_assert_str_eq(values[1], "7");

	/* Adjacent parameters, and one at the end of a longer path. */
	ck_assert_int_eq(http_match_path("/{a}/{b}", "/x/y"), 1);
	ck_assert_uint_eq(nparams, 2);
	ck_assert_str_eq(values[0], "x");
	ck_assert_str_eq(values[1], "y");
	ck_assert_int_eq(http_match_path("/api/{kind}/list",
	    "/api/vehicles/list"), 1);
	ck_assert_str_eq(names[0], "kind");
	ck_assert_str_eq(values[0], "vehicles");
}
END_TEST

START_TEST(test_error_body_exact)
{
	struct nv_diag d;
	size_t len;
	char *body;
	cJSON *j, *det;

	nv_diag_reset(&d);
	nv_diag_set(&d, NV_ERR_VALIDATION, "1 field failed validation");
	nv_diag_field(&d, "email", "is not a valid e-mail address");
	body = nv_http_error_body(arena, NV_ERR_VALIDATION, &d, "abc-123",
	    &len);
	ck_assert_str_eq(body, "{\"error\":{\"code\":\"validation_failed\","
	    "\"message\":\"1 field failed validation\",\"details\":[{\"field\":"
	    "\"email\",\"issue\":\"is not a valid e-mail address\"}]},"
	    "\"request_id\":\"abc-123\"}");
	ck_assert_uint_eq(len, strlen(body));

	j = http_body(NV_ERR_VALIDATION, &d, "abc-123");
	ck_assert_str_eq(http_str(j, "error", "code"), "validation_failed");
	ck_assert_str_eq(http_str(j, "error", "message"),
	    "1 field failed validation");
	ck_assert_str_eq(http_str(j, "request_id", NULL), "abc-123");
	det = cJSON_GetArrayItem(http_details(j), 0);
	ck_assert_str_eq(http_str(det, "field", NULL), "email");
	ck_assert_str_eq(http_str(det, "issue", NULL),
	    "is not a valid e-mail address");
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_error_body_every_code)
{
	struct nv_diag d;
	size_t i;
	cJSON *j;

	for (i = 1; i < NV_ERR__COUNT; i++) {
		nv_diag_reset(&d);
		nv_diag_set(&d, (enum nv_err)i, "failure %zu", i);
		j = http_body((enum nv_err)i, &d, "r1");
		ck_assert_str_eq(http_str(j, "error", "code"),
		    nv_err_str((enum nv_err)i));
		ck_assert_int_eq(cJSON_GetArraySize(http_details(j)), 0);
		cJSON_Delete(j);
	}
}
END_TEST

/* limits */

START_TEST(test_diag_cap)
{
	struct nv_diag d;
	size_t i;
	cJSON *j;

	nv_diag_reset(&d);
	for (i = 0; i < 20; i++)
		nv_diag_field(&d, "f", "issue %zu", i);
	ck_assert_uint_eq(d.ndetails, NV_DIAG_DETAILS_MAX);
	ck_assert_str_eq(d.details[0].issue, "issue 0");
	ck_assert_str_eq(d.details[15].issue, "issue 15");

	/* All 16 reach the body, and nothing more. */
	j = http_body(NV_ERR_VALIDATION, &d, "r");
	ck_assert_int_eq(cJSON_GetArraySize(http_details(j)),
	    NV_DIAG_DETAILS_MAX);
	ck_assert_str_eq(http_str(cJSON_GetArrayItem(http_details(j), 15),
	    "issue", NULL), "issue 15");
	/* With no message, the code stands in for it. */
	ck_assert_str_eq(http_str(j, "error", "message"), "validation_failed");
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_diag_truncates)
{
	char big[1000];
	struct nv_diag d;

	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nv_diag_reset(&d);
	nv_diag_set(&d, NV_ERR_BAD_REQUEST, "%s", big);
	ck_assert_uint_eq(strlen(d.msg), NV_DIAG_MSG_MAX - 1);
	nv_diag_field(&d, big, "%s", big);
	ck_assert_uint_eq(strlen(d.details[0].field), NV_DIAG_FIELD_MAX - 1);
	ck_assert_uint_eq(strlen(d.details[0].issue), NV_DIAG_ISSUE_MAX - 1);
}
END_TEST

START_TEST(test_match_max_params)
{
	ck_assert_int_eq(http_match_path("/{a}/{b}/{c}/{d}", "/1/2/3/4"), 1);
	ck_assert_uint_eq(nparams, NV_HTTP_MAX_PARAMS);
	ck_assert_str_eq(names[3], "d");
	ck_assert_str_eq(values[3], "4");
	/* More than fit are refused, never written past the arrays. */
	ck_assert_int_eq(http_match_path("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5"),
	    0);
	ck_assert_ptr_null(names[NV_HTTP_MAX_PARAMS]);
	ck_assert_ptr_null(values[NV_HTTP_MAX_PARAMS]);
}
END_TEST

START_TEST(test_match_long_value)
{
	char path[3000];

	memcpy(path, "/api/leads/", 11);
	memset(path + 11, 'a', 2500);
	path[2511] = '\0';
	ck_assert_int_eq(http_match_path("/api/leads/{id}", path), 1);
	ck_assert_uint_eq(strlen(values[0]), 2500);
}
END_TEST

/* errors */

START_TEST(test_err_out_of_range)
{
	ck_assert_int_eq(nv_err_status(NV_ERR__COUNT), 500);
	ck_assert_str_eq(nv_err_str(NV_ERR__COUNT), "internal_error");
	ck_assert_int_eq(nv_err_status((enum nv_err)999), 500);
	ck_assert_str_eq(nv_err_str((enum nv_err)999), "internal_error");
	ck_assert_int_eq(nv_err_status((enum nv_err)-1), 500);
	ck_assert_str_eq(nv_err_str((enum nv_err)-1), "internal_error");
}
END_TEST

START_TEST(test_diag_null)
{
	ck_assert_int_eq(nv_diag_set(NULL, NV_ERR_CONFLICT, "x %d", 1),
	    NV_ERR_CONFLICT);
	ck_assert_int_eq(nv_diag_set(NULL, NV_OK, "fine"), NV_OK);
	nv_diag_field(NULL, "email", "is required");
	nv_diag_reset(NULL);
}
END_TEST

START_TEST(test_match_mismatch)
{
	/* Trailing slash, both ways. */
	ck_assert_int_eq(http_match_path("/api/leads", "/api/leads/"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/", "/api/leads"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/{id}", "/api/leads/42/"),
	    0);
	/* Empty segment for a parameter. */
	ck_assert_int_eq(http_match_path("/api/leads/{id}", "/api/leads/"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/{id}/notes",
	    "/api/leads//notes"),
	    0);
	ck_assert_int_eq(http_match_path("/{a}/{b}", "/x/"), 0);
	/* Longer and shorter paths. */
	ck_assert_int_eq(http_match_path("/api/leads", "/api/leads/42"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/{id}",
	    "/api/leads/42/notes"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/{id}/notes",
	    "/api/leads/42"), 0);
	ck_assert_int_eq(http_match_path("/api/leads", "/api/lead"), 0);
	ck_assert_int_eq(http_match_path("/api/leads", "/api/leadsx"), 0);
	ck_assert_int_eq(http_match_path("/api/leads", "/api"), 0);
	ck_assert_int_eq(http_match_path("/api/leads", ""), 0);
	/* Other literals, and case. */
	ck_assert_int_eq(http_match_path("/api/leads", "/api/users"), 0);
	ck_assert_int_eq(http_match_path("/api/leads", "/API/leads"), 0);
	ck_assert_int_eq(http_match_path("/api/leads/{id}/notes",
	    "/api/leads/1/notez"),
	    0);
	/* A pattern with an unclosed brace matches nothing. */
	ck_assert_int_eq(http_match_path("/api/leads/{id", "/api/leads/42"), 0);
}
END_TEST

START_TEST(test_error_body_fallback)
{
	struct nv_diag d;
	cJSON *j;

	nv_diag_reset(&d);
	j = http_body(NV_ERR_NOT_FOUND, &d, "rid");
	ck_assert_str_eq(http_str(j, "error", "code"), "not_found");
	ck_assert_str_eq(http_str(j, "error", "message"), "not_found");
	ck_assert_int_eq(cJSON_GetArraySize(http_details(j)), 0);
	cJSON_Delete(j);

	/* No diagnostic at all. */
	j = http_body(NV_ERR_UNAVAILABLE, NULL, "rid");
	ck_assert_str_eq(http_str(j, "error", "message"),
	    "service_unavailable");
	ck_assert_int_eq(cJSON_GetArraySize(http_details(j)), 0);
	cJSON_Delete(j);

	/* An out-of-range code renders as an internal error. */
	j = http_body((enum nv_err)999, NULL, "rid");
	ck_assert_str_eq(http_str(j, "error", "code"), "internal_error");
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_error_body_escaping)
{
	static const char msg[] = "bad \"name\" \\ path\nline2\ttab \x01 "
	    "\xc3\xa6\xc3\xb8\xc3\xa5 </script>";
	struct nv_diag d;
	size_t len, i;
	char *body;
	cJSON *j, *det;

	nv_diag_reset(&d);
	nv_diag_set(&d, NV_ERR_BAD_REQUEST, "%s", msg);
	nv_diag_field(&d, "we\"ird\\field", "has \"quotes\"\nand\x1f control");
	body = nv_http_error_body(arena, NV_ERR_BAD_REQUEST, &d, "r\"id",
	    &len);
	/* No raw control character survives into the body. */
	for (i = 0; i < len; i++)
		ck_assert_msg((unsigned char)body[i] >= 0x20,
		    "raw control byte 0x%02x at %zu", (unsigned char)body[i],
		    i);
	ck_assert_ptr_nonnull(strstr(body, "\\\"name\\\""));
	ck_assert_ptr_nonnull(strstr(body, "\\n"));

	j = http_body(NV_ERR_BAD_REQUEST, &d, "r\"id");
	ck_assert_str_eq(http_str(j, "error", "message"), msg);
	ck_assert_str_eq(http_str(j, "request_id", NULL), "r\"id");
	det = cJSON_GetArrayItem(http_details(j), 0);
	ck_assert_str_eq(http_str(det, "field", NULL), "we\"ird\\field");
	ck_assert_str_eq(http_str(det, "issue", NULL),
	    "has \"quotes\"\nand\x1f control");
	cJSON_Delete(j);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_add_test(tc, test_err_table);
	tcase_add_test(tc, test_diag);
	tcase_add_test(tc, test_match_exact);
	tcase_add_test(tc, test_match_params);
	tcase_add_test(tc, test_error_body_exact);
	tcase_add_test(tc, test_error_body_every_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_add_test(tc, test_diag_cap);
	tcase_add_test(tc, test_diag_truncates);
	tcase_add_test(tc, test_match_max_params);
	tcase_add_test(tc, test_match_long_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_add_test(tc, test_err_out_of_range);
	tcase_add_test(tc, test_diag_null);
	tcase_add_test(tc, test_match_mismatch);
	tcase_add_test(tc, test_error_body_fallback);
	tcase_add_test(tc, test_error_body_escaping);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(http_suite)
