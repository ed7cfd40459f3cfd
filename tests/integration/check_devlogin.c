/*
 * check_devlogin.c - the dashboard's demo sign-in does not exist on a stack
 * without NORVALT_DEV_LOGIN=1 (the test stack: only `make run` sets it),
 * GET /api/config says so, and the signing code it shares with
 * bin/norvalt-token (lib/devtoken.c) mints tokens the API accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../../lib/devtoken.h"
#include "../testutil.h"

static void
assert_json_404(const char *method, const char *path, const char *body)
{
	static const char *const json[] = {
		"Content-Type: application/json", NULL
	};
	struct nv_test_http r;
	char *rid;

	nv_test_http(method, path, body, body != NULL ? strlen(body) : 0,
	    body != NULL ? json : NULL, &r);
	ck_assert_msg(r.status == 404, "%s %s: %ld %s", method, path, r.status,
	    r.body);
	nv_test_assert_error(r.body, "not_found");
	ck_assert_ptr_null(strstr(r.body, "token\""));
	rid = nv_test_http_header(&r, "X-Request-Id");
	ck_assert_ptr_nonnull(rid);
	free(rid);
	nv_test_http_free(&r);
}

START_TEST(dev_routes_are_404)
{
	assert_json_404("GET", "/api/dev/users", NULL);
	assert_json_404("POST", "/api/dev/token",
	    "{\"clerk_user_id\":\"user_tesla_manager\"}");
	assert_json_404("POST", "/api/dev/token",
	    "{\"clerk_user_id\":\"user_vw_admin\","
	    "\"clerk_org_id\":\"org_vw_bergen\"}");
	assert_json_404("GET", "/api/dev/", NULL);
}
END_TEST

START_TEST(devlogin_not_spawned)
{
	char path[2048];

	snprintf(path, sizeof(path), "%s/run/fcgi/devlogin.sock",
	    nv_test_env("NV_STATE_DIR"));
	ck_assert_msg(access(path, F_OK) != 0, "%s exists", path);
	snprintf(path, sizeof(path), "%s/run/fcgi/devlogin.pid",
	    nv_test_env("NV_STATE_DIR"));
	ck_assert_msg(access(path, F_OK) != 0, "%s exists", path);
	/* The sibling binaries do run (the check above is not vacuous). */
	snprintf(path, sizeof(path), "%s/run/fcgi/account.sock",
	    nv_test_env("NV_STATE_DIR"));
	ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
}
END_TEST

START_TEST(config_is_public_without_secrets)
{
	struct nv_test_http r;
	const cJSON *it;
	cJSON *j;
	int n = 0;

	nv_test_http("GET", "/api/config", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j,
	    "dev_login")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
	    "clerk_publishable_key")));
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j,
	    "api_docs")->valuestring, "/api/docs");
	cJSON_ArrayForEach(it, j)
		n++;
	ck_assert_int_eq(n, 3);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(refused_in_production_and_without_key)
{
	char *out;
	int st;

	st = nv_test_run(&out, "env -i PATH=/usr/bin:/bin NORVALT_DEV_LOGIN=1 "
	    "NORVALT_ENV=production NORVALT_ENV_FILE=/dev/null "
	    "%s/cgi-bin/devlogin < /dev/null", nv_test_env("NV_BUILD_ROOT"));
	ck_assert_int_eq(st, 2);
	ck_assert_msg(strstr(out, "NORVALT_DEV_LOGIN") != NULL, "%s", out);
	free(out);
	st = nv_test_run(&out, "env -i PATH=/usr/bin:/bin NORVALT_DEV_LOGIN=1 "
	    "NORVALT_ENV_FILE=/dev/null "
	    "NORVALT_DATABASE_OWNER_URL=postgresql:///x "
	    "%s/cgi-bin/devlogin < /dev/null", nv_test_env("NV_BUILD_ROOT"));
	ck_assert_int_eq(st, 2);
	ck_assert_msg(strstr(out, "NORVALT_DEV_JWT_KEY_FILE") != NULL, "%s",
	    out);
	free(out);
}
END_TEST

/* What the demo sign-in hands out is what `make token` mints: accepted. */
START_TEST(devtoken_is_accepted)
{
	struct nv_test_http r;
	struct nv_devtoken t;
	struct nv_diag d;
	char key[2048], *tok = NULL, *hdr;
	size_t len;
	cJSON *j;

	snprintf(key, sizeof(key), "%s/var/keys/dev_jwt_private.pem",
	    nv_test_env("NV_ROOT"));
	memset(&t, 0, sizeof(t));
	t.key = key;
	t.issuer = nv_test_env("NORVALT_CLERK_ISSUER");
	t.user = "user_vw_rep";
	t.org = "org_vw_bergen";
	t.rol = nv_devtoken_clerk_role("sales_rep");
	t.ttl = 600;
	t.now = (long)time(NULL);
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_devtoken_sign(&d, &t, &tok), NV_OK);
	ck_assert_str_eq(t.rol, "member");
	len = strlen(tok) + 32;
	hdr = malloc(len);
	snprintf(hdr, len, "Authorization: Bearer %s", tok);
	nv_test_http("GET", "/api/me", NULL, 0,
	    (const char *const[]){ hdr, NULL }, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "user"), "clerk_user_id")
	    ->valuestring, "user_vw_rep");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(hdr);
	free(tok);

	/* An expired one (negative ttl) is refused. */
	t.ttl = -600;
	ck_assert_int_eq(nv_devtoken_sign(&d, &t, &tok), NV_OK);
	len = strlen(tok) + 32;
	hdr = malloc(len);
	snprintf(hdr, len, "Authorization: Bearer %s", tok);
	nv_test_http("GET", "/api/me", NULL, 0,
	    (const char *const[]){ hdr, NULL }, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	free(hdr);
	free(tok);

	/* A missing key is a configuration error naming the file. */
	t.key = "/nonexistent/dev_jwt_private.pem";
	ck_assert_int_eq(nv_devtoken_sign(&d, &t, &tok), NV_ERR_CONFIG);
	ck_assert_ptr_null(tok);
	ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent/"));
}
END_TEST

static Suite *
devlogin_suite(void)
{
	Suite *s = suite_create("devlogin");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_add_test(core, config_is_public_without_secrets);
	tcase_add_test(core, devtoken_is_accepted);
	tcase_add_test(err, dev_routes_are_404);
	tcase_add_test(err, devlogin_not_spawned);
	tcase_add_test(err, refused_in_production_and_without_key);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(devlogin_suite)
