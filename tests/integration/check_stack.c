/*
 * check_stack.c - the local stack as a client sees it: nginx in front of
 * the health binary, JSON errors from nginx itself, configuration errors
 * at start, and readiness across a PostgreSQL restart.  Also what
 * scripts/stack.sh would start `make run` with (`stack.sh config`, which
 * shares start's checks and its stack.env lines): token verification, the
 * webhook rate limit, an external database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

static void
assert_json_type(const struct nv_test_http *r)
{
	char *ct = nv_test_http_header(r, "Content-Type");

	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	    "content type %s", ct != NULL ? ct : "(none)");
	free(ct);
}

static void
assert_request_id(const struct nv_test_http *r)
{
	char *rid = nv_test_http_header(r, "X-Request-Id");

	ck_assert_msg(rid != NULL && strlen(rid) >= 16, "no X-Request-Id");
	/* The id in an error body is the one in the header. */
	if (r->status >= 400)
		ck_assert_ptr_nonnull(strstr(r->body, rid));
	free(rid);
}

START_TEST(healthz)
{
	struct nv_test_http r;

	nv_test_http("GET", "/healthz", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	assert_json_type(&r);
	assert_request_id(&r);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(readyz)
{
	struct nv_test_http r;

	nv_test_http("GET", "/readyz", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"database\":\"ok\""));
	assert_json_type(&r);
	assert_request_id(&r);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(request_ids_differ)
{
	struct nv_test_http a, b;
	char *ra, *rb;

	nv_test_http("GET", "/healthz", NULL, 0, NULL, &a);
	nv_test_http("GET", "/healthz", NULL, 0, NULL, &b);
	ra = nv_test_http_header(&a, "X-Request-Id");
	rb = nv_test_http_header(&b, "X-Request-Id");
	ck_assert_ptr_nonnull(ra);
	ck_assert_ptr_nonnull(rb);
	ck_assert_str_ne(ra, rb);
	free(ra);
	free(rb);
	nv_test_http_free(&a);
	nv_test_http_free(&b);
}
END_TEST

START_TEST(unknown_path_is_json_404)
{
	struct nv_test_http r;

	nv_test_http("GET", "/no/such/thing", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	assert_json_type(&r);
	assert_request_id(&r);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	struct nv_test_http r;
	char *allow;

	nv_test_http("POST", "/healthz", "{}", 2,
	    (const char *const[]){ "Content-Type: application/json", NULL },
	    &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_ptr_nonnull(strstr(allow, "GET"));
	free(allow);
	assert_request_id(&r);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(body_over_1mib_is_json_413)
{
	struct nv_test_http r;
	size_t n = 1024 * 1024 + 10;
	char *big = malloc(n);

	memset(big, 'a', n);
	nv_test_http("POST", "/readyz", big, n,
	    (const char *const[]){ "Content-Type: application/json", NULL },
	    &r);
	ck_assert_int_eq(r.status, 413);
	assert_json_type(&r);
	nv_test_assert_error(r.body, "payload_too_large");
	assert_request_id(&r);
	nv_test_http_free(&r);
	free(big);
}
END_TEST

START_TEST(head_works)
{
	struct nv_test_http r;

	nv_test_http("HEAD", "/healthz", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.len, 0);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(readyz_survives_postgres_restart)
{
	struct nv_test_http r;
	int st, i, ok = 0;

	st = nv_test_run(NULL, "%s", nv_test_env("NV_PG_RESTART"));
	ck_assert_int_eq(st, 0);
	/*
	 * Every worker holds a connection that the restart killed; each
	 * must reconnect on its next request.  Ask more times than there
	 * are workers.
	 */
	for (i = 0; i < 12; i++) {
		nv_test_http("GET", "/readyz", NULL, 0, NULL, &r);
		ok += r.status == 200;
		nv_test_http_free(&r);
	}
	ck_assert_int_eq(ok, 12);
}
END_TEST

START_TEST(bad_config_stops_with_one_line)
{
	char *out;
	int st;

	st = nv_test_run(&out, "env -u DATABASE_URL NORVALT_ENV_FILE=/dev/null"
	    " %s/cgi-bin/health < /dev/null", nv_test_env("NV_BUILD_ROOT"));
	ck_assert_int_eq(st, 2);
	ck_assert_str_eq(out, "health: configuration error: DATABASE_URL: "
	    "is required but not set\n");
	free(out);

	st = nv_test_run(&out, "NORVALT_DB_STATEMENT_TIMEOUT_MS=soon "
	    "NORVALT_ENV_FILE=/dev/null %s/cgi-bin/health < /dev/null",
	    nv_test_env("NV_BUILD_ROOT"));
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(out, "NORVALT_DB_STATEMENT_TIMEOUT_MS"));
	ck_assert_ptr_nonnull(strchr(out, '\n'));
	ck_assert_ptr_null(strchr(strchr(out, '\n') + 1, '\n'));
	free(out);

	/* A secret in a malformed value is never echoed. */
	st = nv_test_run(&out, "DATABASE_URL=hunter2secret "
	    "NORVALT_ENV_FILE=/dev/null %s/cgi-bin/health < /dev/null",
	    nv_test_env("NV_BUILD_ROOT"));
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(out, "DATABASE_URL"));
	ck_assert_ptr_null(strstr(out, "hunter2secret"));
	free(out);
}
END_TEST

START_TEST(logs_have_one_line_per_request)
{
	char *out;
	int st;
	struct nv_test_http r;

	nv_test_http("GET", "/healthz?probe=logcheck", NULL, 0, NULL, &r);
	nv_test_http_free(&r);
	st = nv_test_run(&out, "tail -n 50 %s/log/health.log",
	    nv_test_env("NV_STATE_DIR"));
	ck_assert_int_eq(st, 0);
	ck_assert_msg(strstr(out, "status=200") != NULL &&
	    strstr(out, "route=\"GET /healthz\"") != NULL,
	    "no access line in health.log: %s", out);
	ck_assert_ptr_null(strstr(out, "logcheck"));
	free(out);
}
END_TEST

/*
 * `scripts/stack.sh config` for the run profile with only vars set (no
 * .env, nothing from the test stack); stdout and stderr into *out.
 */
static int
stack_config(char **out, const char *vars)
{
	return nv_test_run(out, "env -i PATH=/usr/local/bin:/usr/bin:/bin "
	    "HOME=/tmp NORVALT_ENV_FILE=/dev/null NV_PROFILE=run %s "
	    "%s/scripts/stack.sh config", vars, nv_test_env("NV_ROOT"));
}

/* out is exactly one line that starts with "error: " and names var. */
static void
assert_one_error_line(const char *out, const char *var)
{
	const char *nl = strchr(out, '\n');

	ck_assert_msg(strncmp(out, "error: ", 7) == 0 && strstr(out, var) !=
	    NULL && nl != NULL && nl[1] == '\0', "not one line naming %s: %s",
	    var, out);
}

#define JWKS_URL	"https://clerk.example.no/.well-known/jwks.json"

START_TEST(run_profile_verifies_with_the_dev_key_by_default)
{
	char *out;

	ck_assert_int_eq(stack_config(&out, "NORVALT_DEV_LOGIN=1"), 0);
	ck_assert_msg(strstr(out, "NORVALT_CLERK_JWT_KEY_FILE='") != NULL &&
	    strstr(out, "/var/keys/dev_jwt_public.pem'") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "NORVALT_CLERK_JWKS_URL") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "dev login  on") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "warning") == NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * NORVALT_CLERK_JWKS_URL without a key file: stack.env carries the URL and
 * no dev key (which lib/auth.c would prefer, refusing every Clerk token),
 * and the demo sign-in, whose tokens could not verify, is off.
 */
START_TEST(run_profile_jwks_url_injects_no_dev_key)
{
	char *out;

	ck_assert_int_eq(stack_config(&out, "NORVALT_DEV_LOGIN=1 "
	    "NORVALT_CLERK_ISSUER=https://clerk.example.no "
	    "NORVALT_CLERK_JWKS_URL=" JWKS_URL), 0);
	ck_assert_msg(strstr(out, "NORVALT_CLERK_JWKS_URL='" JWKS_URL "'") !=
	    NULL, "%s", out);
	ck_assert_msg(strstr(out, "NORVALT_CLERK_JWT_KEY_FILE") == NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "verified with Clerk's keys from "
	    "NORVALT_CLERK_JWKS_URL") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "dev login  off") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "warning: NORVALT_DEV_LOGIN=1 is ignored") !=
	    NULL, "%s", out);
	free(out);

	/* With the local default issuer every Clerk token would fail: said. */
	ck_assert_int_eq(stack_config(&out, "NORVALT_CLERK_JWKS_URL="
	    JWKS_URL), 0);
	ck_assert_msg(strstr(out, "warning: NORVALT_CLERK_ISSUER") != NULL,
	    "%s", out);
	free(out);

	/* An explicit key file still wins, and the JWKS URL is said unused. */
	ck_assert_int_eq(stack_config(&out, "NORVALT_CLERK_JWKS_URL=" JWKS_URL
	    " NORVALT_CLERK_JWT_KEY_FILE=/etc/norvalt/clerk.pem"), 0);
	ck_assert_msg(strstr(out, "NORVALT_CLERK_JWT_KEY_FILE='/etc/norvalt/"
	    "clerk.pem'") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "warning: NORVALT_CLERK_JWKS_URL is ignored")
	    != NULL, "%s", out);
	free(out);
}
END_TEST

/* SPEC section 3: one clear line naming the variable, not an nginx [emerg]. */
START_TEST(bad_webhook_rate_stops_with_one_line)
{
	static const char *const bad[] = { "fast", "20", "20r/h", "0r/s",
	    "-5r/s", "'20r/s;'", "'20 r/s'", "'20r/s burst=5'", "1.5r/s",
	    "'20r/s|x'" };
	char vars[128], *out;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(vars, sizeof(vars), "NORVALT_WEBHOOK_RATE=%s", bad[i]);
		ck_assert_msg(stack_config(&out, vars) != 0, "%s accepted",
		    bad[i]);
		assert_one_error_line(out, "NORVALT_WEBHOOK_RATE");
		free(out);
	}
	ck_assert_int_eq(stack_config(&out, "NORVALT_WEBHOOK_RATE=600r/m"), 0);
	ck_assert_msg(strstr(out, "rate limit 600r/m per client address") !=
	    NULL, "%s", out);
	free(out);
	ck_assert_int_eq(stack_config(&out, ""), 0);
	ck_assert_msg(strstr(out, "rate limit 20r/s") != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * Another PostgreSQL needs both URLs: the API refuses the owner role and
 * the application role cannot migrate, so no falling back either way.
 */
START_TEST(external_database_needs_the_owner_url)
{
	char *out;

	ck_assert_int_ne(stack_config(&out, "DATABASE_URL=postgresql://"
	    "norvalt_app@db.example.no/norvalt"), 0);
	assert_one_error_line(out, "NORVALT_DATABASE_OWNER_URL");
	free(out);
	ck_assert_int_ne(stack_config(&out, "DATABASE_URL=postgresql://"
	    "norvalt_owner@db.example.no/norvalt NORVALT_DATABASE_OWNER_URL="
	    "postgresql://norvalt_owner@db.example.no/norvalt"), 0);
	assert_one_error_line(out, "DATABASE_URL is the same as "
	    "NORVALT_DATABASE_OWNER_URL");
	free(out);
	ck_assert_int_eq(stack_config(&out, "DATABASE_URL=postgresql://"
	    "norvalt_app@db.example.no/norvalt NORVALT_DATABASE_OWNER_URL="
	    "postgresql://norvalt_owner@db.example.no/norvalt"), 0);
	ck_assert_msg(strstr(out, "database   external") != NULL, "%s", out);
	free(out);
}
END_TEST

static Suite *
stack_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *core = tcase_create("core"), *err = tcase_create("errors");
	TCase *lim = tcase_create("limits");

	tcase_add_test(core, healthz);
	tcase_add_test(core, readyz);
	tcase_add_test(core, request_ids_differ);
	tcase_add_test(core, head_works);
	tcase_add_test(core, logs_have_one_line_per_request);
	tcase_add_test(err, unknown_path_is_json_404);
	tcase_add_test(err, wrong_method_is_405_with_allow);
	tcase_add_test(err, body_over_1mib_is_json_413);
	tcase_add_test(err, bad_config_stops_with_one_line);
	tcase_add_test(core, run_profile_verifies_with_the_dev_key_by_default);
	tcase_add_test(core, run_profile_jwks_url_injects_no_dev_key);
	tcase_add_test(err, bad_webhook_rate_stops_with_one_line);
	tcase_add_test(err, external_database_needs_the_owner_url);
	tcase_add_test(lim, readyz_survives_postgres_restart);
	tcase_set_timeout(lim, 60);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	suite_add_tcase(s, lim);
	return s;
}

NV_TEST_MAIN(stack_suite)
