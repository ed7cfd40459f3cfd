/*
 * check_pooler.c - SPEC section 4: the tenant context is set per request
 * with set_config(..., true) "so nothing leaks to the next request on the
 * same connection (and pgbouncer in transaction mode stays safe)".
 *
 * A real pgbouncer (Debian's 1.18) in transaction mode with ONE server
 * connection sits between the leads FastCGI workers and PostgreSQL, so
 * every transaction of every worker, for both dealerships, runs on the same
 * server session one after another.  With NORVALT_DATABASE_POOLED=1 the
 * API answers through it, and each dealership still sees only its own
 * leads, request after request.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define TESLA	"11111111-1111-4111-8111-111111111111"
#define VW	"22222222-2222-4222-8222-222222222222"

static char dir[1024];
static int port;

/* The value of key in the app's DATABASE_URL, malloc'd. */
static char *
url_part(const char *key)
{
	PQconninfoOption *o, *opts;
	char *err = NULL, *v = NULL;

	opts = PQconninfoParse(nv_test_env("DATABASE_URL"), &err);
	ck_assert_msg(opts != NULL, "DATABASE_URL: %s", err != NULL ? err : "");
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL)
			v = strdup(o->val);
	PQconninfoFree(opts);
	ck_assert_msg(v != NULL, "DATABASE_URL has no %s", key);
	return v;
}

static void
write_file(const char *name, const char *text)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

/* Run cmd (a format) as the service user; its exit status. */
static int
as_service(char **out, const char *cmd)
{
	return nv_test_run(out, "cd / && if [ \"$(id -u)\" = 0 ]; then"
	    " chown -R norvalt: '%s' && runuser -u norvalt -- sh -c '%s';"
	    " else sh -c '%s'; fi", dir, cmd, cmd);
}

static void
pooler_start(void)
{
	char ini[4096], users[512], cmd[1400], *host, *pgport, *user, *pw;
	char *out = NULL;
	int st;

	host = url_part("host");
	pgport = url_part("port");
	port = (int)strtol(pgport, NULL, 10) + 100;	/* beside PostgreSQL */
	snprintf(dir, sizeof(dir), "%s/pgbouncer", nv_test_env("NV_STATE_DIR"));
	mkdir(dir, 0700);
	user = url_part("user");
	pw = url_part("password");
	snprintf(ini, sizeof(ini),
	    "[databases]\n"
	    "norvalt = host=%s port=%s dbname=norvalt\n"
	    "[pgbouncer]\n"
	    "listen_addr = 127.0.0.1\n"
	    "listen_port = %d\n"
	    "unix_socket_dir =\n"
	    "auth_type = scram-sha-256\n"
	    "auth_file = %s/users.txt\n"
	    "pool_mode = transaction\n"
	    "default_pool_size = 1\n"
	    "max_client_conn = 100\n"
	    "logfile = %s/pgbouncer.log\n"
	    "pidfile = %s/pgbouncer.pid\n",
	    host, pgport, port, dir, dir, dir);
	write_file("pgbouncer.ini", ini);
	snprintf(users, sizeof(users), "\"%s\" \"%s\"\n", user, pw);
	write_file("users.txt", users);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/pgbouncer -d %s/pgbouncer.ini",
	    dir);
	st = as_service(&out, cmd);
	ck_assert_msg(st == 0, "pgbouncer: %s", out != NULL ? out : "");
	free(out);
	free(host);
	free(pgport);
	free(user);
	free(pw);
}

static void
pooler_stop(void)
{
	char cmd[2600], *out = NULL;

	snprintf(cmd, sizeof(cmd), "kill $(cat %s/pgbouncer.pid) 2>/dev/null;"
	    " for i in 1 2 3 4 5 6 7 8 9 10; do [ -e %s/pgbouncer.pid ] ||"
	    " exit 0; sleep 0.2; done", dir, dir);
	as_service(&out, cmd);
	free(out);
}

/* The leads workers talk to PostgreSQL through the pooler (or not). */
static void
leads_through_pooler(int on)
{
	char assign[2048], *user, *pw;

	if (!on) {
		nv_test_app_restart("leads", NULL);
		return;
	}
	user = url_part("user");
	pw = url_part("password");
	snprintf(assign, sizeof(assign), "'DATABASE_URL=host=127.0.0.1 port=%d"
	    " dbname=norvalt user=%s password=%s' NORVALT_DATABASE_POOLED=1",
	    port, user, pw);
	nv_test_app_restart("leads", assign);
	free(user);
	free(pw);
}

/* GET path as user; 200; every lead's dealership_id is dealer. */
static int
only_own(const char *user, const char *org, const char *dealer)
{
	struct nv_test_http r;
	char *auth;
	cJSON *j, *l;
	int n = 0;

	auth = nv_test_auth_header(user, org);
	nv_test_http("GET", "/api/leads?limit=200", NULL, 0,
	    (const char *const[]){ auth, NULL }, &r);
	ck_assert_msg(r.status == 200, "%s: %ld %s", user, r.status, r.body);
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(j, "data")) {
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(l,
		    "dealership_id")->valuestring, dealer);
		n++;
	}
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(auth);
	return n;
}

/* Also after a failure: the stack's own URL, no pooler left running. */
static void
teardown(void)
{
	snprintf(dir, sizeof(dir), "%s/pgbouncer", nv_test_env("NV_STATE_DIR"));
	nv_test_app_restart("leads", NULL);
	pooler_stop();
}

START_TEST(one_server_connection_two_dealerships)
{
	struct nv_test_http r;
	char *auth, *vw, body[256], path[128], *log, logpath[1200];
	const char *hdrs[3];
	cJSON *j;
	char id[64];
	int i;

	pooler_start();
	leads_through_pooler(1);

	/* Interleaved, on one server session: never the other's rows. */
	for (i = 0; i < 20; i++) {
		ck_assert_int_gt(only_own("user_tesla_manager", "org_tesla_oslo",
		    TESLA), 0);
		ck_assert_int_gt(only_own("user_vw_admin", "org_vw_bergen", VW),
		    0);
	}

	/* Writes too: create, change, and the other dealership cannot see it. */
	auth = nv_test_auth_header("user_tesla_manager", "org_tesla_oslo");
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = NULL;
	snprintf(body, sizeof(body), "{\"first_name\": \"Pool\", \"email\":"
	    " \"pool.%ld@example.no\", \"status\": \"qualified\"}",
	    (long)getpid());
	nv_test_http("POST", "/api/leads", body, strlen(body), hdrs, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	snprintf(id, sizeof(id), "%s", cJSON_GetObjectItemCaseSensitive(j,
	    "id")->valuestring);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	nv_test_http("PATCH", path, "{\"status\": \"won\"}", 17, hdrs, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->
	    valuestring, "won");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	vw = nv_test_auth_header("user_vw_admin", "org_vw_bergen");
	nv_test_http("GET", path, NULL, 0, (const char *const[]){ vw, NULL },
	    &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_http_free(&r);
	nv_test_http("DELETE", path, NULL, 0, hdrs, &r);
	ck_assert_int_eq(r.status, 204);
	nv_test_http_free(&r);

	leads_through_pooler(0);

	/* It really went through pgbouncer. */
	snprintf(logpath, sizeof(logpath), "cat %s/pgbouncer.log", dir);
	nv_test_run(&log, "%s", logpath);
	pooler_stop();
	ck_assert_msg(strstr(log, "login attempt: db=norvalt user=norvalt_app")
	    != NULL, "no logins in the pooler's log: %s", log);
	free(log);
	free(vw);
	free(auth);
}
END_TEST

static Suite *
pooler_suite(void)
{
	Suite *s = suite_create("pooler");
	TCase *tc = tcase_create("pgbouncer");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, one_server_connection_two_dealerships);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(pooler_suite)
