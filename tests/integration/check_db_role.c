/*
 * check_db_role.c - SPEC section 4: the API connects as a role that owns
 * no table and has no BYPASSRLS.  A FastCGI binary or the worker whose
 * DATABASE_URL logs in as the owner refuses the connection: every request
 * is a 503 in the JSON error shape, /readyz is 503, and the log says why
 * in one line that names DATABASE_URL.  The stack's own URL still works.
 * (lib/db's side of it, and the tools that use the owner on purpose, are
 * in check_db.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"

#define REFUSAL	"DATABASE_URL: refusing the connection: role norvalt_owner " \
		"owns table public."

/* The owner URL's password (the logs must never hold it). */
static const char *
owner_password(void)
{
	const char *p = strstr(nv_test_env("NORVALT_DATABASE_OWNER_URL"),
	    "password=");

	ck_assert_ptr_nonnull(p);
	return p + strlen("password=");
}

/* How many lines of the stack's log file name hold needle. */
static long
log_count(const char *name, const char *needle)
{
	char *out;
	long n;
	int st;

	st = nv_test_run(&out, "grep -c -F -e '%s' '%s/log/%s' || true",
	    needle, nv_test_env("NV_STATE_DIR"), name);
	ck_assert_int_eq(st, 0);
	n = strtol(out, NULL, 10);
	free(out);
	return n;
}

START_TEST(owner_url_answers_503)
{
	struct nv_test_http ready, leads, again;
	char assign[2048], *auth;
	long before_h, before_l;

	before_h = log_count("health.log", REFUSAL);
	before_l = log_count("leads.log", REFUSAL);
	snprintf(assign, sizeof(assign), "'DATABASE_URL=%s'",
	    nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	nv_test_app_restart("health", assign);
	nv_test_app_restart("leads", assign);

	auth = nv_test_auth_header("user_tesla_rep", "org_tesla_oslo");
	nv_test_http("GET", "/readyz", NULL, 0, NULL, &ready);
	nv_test_http("GET", "/api/leads?limit=1", NULL, 0,
	    (const char *const[]){ auth, NULL }, &leads);

	/* Back to the stack's own URL before anything can fail. */
	nv_test_app_restart("health", NULL);
	nv_test_app_restart("leads", NULL);

	ck_assert_int_eq(ready.status, 503);
	nv_test_assert_error(ready.body, "service_unavailable");
	ck_assert_int_eq(leads.status, 503);
	nv_test_assert_error(leads.body, "service_unavailable");
	ck_assert_ptr_null(strstr(leads.body, "norvalt_owner"));
	ck_assert_int_gt(log_count("health.log", REFUSAL), before_h);
	ck_assert_int_gt(log_count("leads.log", REFUSAL), before_l);
	ck_assert_int_eq(log_count("health.log", owner_password()), 0);
	ck_assert_int_eq(log_count("leads.log", owner_password()), 0);

	/* The application role: ready, and the API answers. */
	nv_test_http("GET", "/readyz", NULL, 0, NULL, &again);
	ck_assert_int_eq(again.status, 200);
	nv_test_http_free(&again);
	nv_test_http("GET", "/api/leads?limit=1", NULL, 0,
	    (const char *const[]){ auth, NULL }, &again);
	ck_assert_int_eq(again.status, 200);
	nv_test_http_free(&again);

	nv_test_http_free(&ready);
	nv_test_http_free(&leads);
	free(auth);
}
END_TEST

/* The worker daemon goes through lib/db too: it claims nothing. */
START_TEST(worker_refuses_owner_url)
{
	char *out;
	int st;

	st = nv_test_run(&out, "DATABASE_URL='%s' NORVALT_WORKER_POLL_MS=100 "
	    "NORVALT_WORKER_SWEEP_S=0 NORVALT_ENV_FILE=/dev/null "
	    "timeout -s TERM 2 %s/bin/norvalt-worker < /dev/null",
	    nv_test_env("NORVALT_DATABASE_OWNER_URL"),
	    nv_test_env("NV_BUILD_ROOT"));
	ck_assert_msg(st == 124 || st == 0, "exit %d: %.400s", st, out);
	ck_assert_msg(strstr(out, REFUSAL) != NULL, "%.400s", out);
	ck_assert_ptr_null(strstr(out, owner_password()));
	ck_assert_msg(strstr(out, "status=ok") == NULL, "%.400s", out);
	free(out);
}
END_TEST

static Suite *
db_role_suite(void)
{
	Suite *s = suite_create("db_role");
	TCase *err = tcase_create("errors");

	tcase_add_test(err, owner_url_answers_503);
	tcase_add_test(err, worker_refuses_owner_url);
	tcase_set_timeout(err, 60);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(db_role_suite)
