/*
 * check_api_account.c - GET /api/me, GET/PATCH /api/users, GET/PATCH
 * /api/dealership over real HTTP (nginx, cgi-bin/account, PostgreSQL with
 * the demo seed), as a client sees them.
 *
 * The tests change seeded users and dealerships.  The unchecked fixture
 * takes a snapshot of both (through the application role, with the tenant
 * context set), and the checked fixture puts it back before every test, so
 * each test starts from the seed even after another one failed halfway;
 * the unchecked teardown puts it back for the test binaries that follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define TESLA_MGR	"a1000000-0000-4000-8000-000000000001"
#define TESLA_REP	"a1000000-0000-4000-8000-000000000002"
#define VW_ADMIN	"a2000000-0000-4000-8000-000000000001"
#define VW_REP		"a2000000-0000-4000-8000-000000000002"
#define NO_SUCH		"a9999999-0000-4000-8000-000000000009"
#define VW_SECRET	"whsec_demo_vw_bergen_2f6b1c9e"

static Suite *account_suite(void);

/* ------------------------------------------------------------ helpers */

static const char *
org_of(const char *user)
{
	return strncmp(user, "user_vw_", 8) == 0 ? "org_vw_bergen" :
	    "org_tesla_oslo";
}

/*
 * One request as user (NULL: no token).  ctype NULL sends no
 * Content-Type of ours (curl then says x-www-form-urlencoded for a body).
 */
static void
call(const char *method, const char *path, const char *body,
    const char *user, const char *ctype, struct nv_test_http *r)
{
	const char *hdrs[3] = { NULL, NULL, NULL };
	char ct[128], *auth = NULL;
	size_t n = 0;

	if (user != NULL)
		hdrs[n++] = auth = nv_test_auth_header(user, org_of(user));
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs[n++] = ct;
	}
	nv_test_http(method, path, body, body != NULL ? strlen(body) : 0, hdrs,
	    r);
	free(auth);
}

/* A JSON request as user. */
static void
api(const char *method, const char *path, const char *body,
    const char *user, struct nv_test_http *r)
{
	call(method, path, body, user, body != NULL ? "application/json" :
	    NULL, r);
}

static cJSON *
parse(const struct nv_test_http *r)
{
	cJSON *j = cJSON_Parse(r->body);

	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* o has exactly the keys in keys (NULL-terminated), in any order. */
static void
assert_keys(const cJSON *o, const char *const *keys)
{
	const cJSON *it;
	size_t n = 0, want = 0;

	ck_assert_msg(cJSON_IsObject(o), "not an object");
	for (; keys[want] != NULL; want++)
		ck_assert_msg(cJSON_HasObjectItem(o, keys[want]),
		    "key %s missing", keys[want]);
	cJSON_ArrayForEach(it, o)
		n++;
	ck_assert_msg(n == want, "%zu keys, want %zu", n, want);
}

/* The body is the error shape with code, and a detail names field. */
static void
assert_error_field(const char *body, const char *code, const char *field)
{
	const cJSON *det, *it;
	cJSON *j;
	int found = 0;

	nv_test_assert_error(body, code);
	j = cJSON_Parse(body);
	det = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "error"), "details");
	cJSON_ArrayForEach(it, det) {
		const char *f = str(it, "field");

		if (f != NULL && strcmp(f, field) == 0)
			found = 1;
	}
	ck_assert_msg(found, "no detail names %s: %s", field, body);
	cJSON_Delete(j);
}

static void
expect(const char *method, const char *path, const char *body,
    const char *user, long status, const char *code, const char *field)
{
	struct nv_test_http r;

	api(method, path, body, user, &r);
	ck_assert_msg(r.status == status, "%s %s as %s: %ld, want %ld: %s",
	    method, path, user != NULL ? user : "nobody", r.status, status,
	    r.body);
	if (field != NULL)
		assert_error_field(r.body, code, field);
	else if (code != NULL)
		nv_test_assert_error(r.body, code);
	nv_test_http_free(&r);
}

static const char *const user_keys[] = {
	"id", "dealership_id", "clerk_user_id", "email", "name", "role",
	"notification_preferences", "active", "created_at", "updated_at", NULL
};

static const char *const dealership_keys[] = {
	"id", "name", "clerk_org_id", "subscription_plan",
	"subscription_status", "settings", "active", "created_at",
	"updated_at", NULL
};

/* -------------------------------------------------- seed snapshot */

static char *snap_users[2], *snap_dealer[2];
static const char *const dealers[2] = { TESLA, VW };

static void
begin_as(PGconn *c, const char *dealership)
{
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
}

static void
snapshot(void)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	PGresult *r;
	int i;

	for (i = 0; i < 2; i++) {
		begin_as(c, dealers[i]);
		r = nv_test_exec(c, "SELECT (SELECT json_agg(u) FROM users u),"
		    " (SELECT row_to_json(d) FROM dealerships d)", NULL);
		snap_users[i] = strdup(PQgetvalue(r, 0, 0));
		snap_dealer[i] = strdup(PQgetvalue(r, 0, 1));
		PQclear(r);
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	PQfinish(c);
}

static void
restore(void)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	int i;

	for (i = 0; i < 2; i++) {
		begin_as(c, dealers[i]);
		PQclear(nv_test_exec(c, "DELETE FROM users u WHERE u.id NOT IN"
		    " (SELECT o.id FROM json_populate_recordset(NULL::users,"
		    " $1::json) o)", snap_users[i], NULL));
		PQclear(nv_test_exec(c, "UPDATE users u SET name = o.name,"
		    " email = o.email, role = o.role, active = o.active,"
		    " notification_preferences = o.notification_preferences"
		    " FROM json_populate_recordset(NULL::users, $1::json) o"
		    " WHERE u.id = o.id AND (u.name, u.email, u.role, u.active,"
		    " u.notification_preferences) IS DISTINCT FROM (o.name,"
		    " o.email, o.role, o.active, o.notification_preferences)",
		    snap_users[i], NULL));
		PQclear(nv_test_exec(c, "UPDATE dealerships d SET"
		    " name = o.name, settings = o.settings"
		    " FROM json_populate_record(NULL::dealerships, $1::json) o"
		    " WHERE d.id = o.id AND (d.name, d.settings)"
		    " IS DISTINCT FROM (o.name, o.settings)", snap_dealer[i],
		    NULL));
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	PQfinish(c);
}

static void
snapshot_free(void)
{
	restore();
	for (int i = 0; i < 2; i++) {
		free(snap_users[i]);
		free(snap_dealer[i]);
	}
}

/* ------------------------------------------------------------ /api/me */

START_TEST(me_shows_user_and_dealership)
{
	struct nv_test_http r;
	const cJSON *u, *d, *s;
	cJSON *j;

	api("GET", "/api/me", NULL, "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	assert_keys(j, (const char *const[]){ "user", "dealership", NULL });
	u = cJSON_GetObjectItemCaseSensitive(j, "user");
	d = cJSON_GetObjectItemCaseSensitive(j, "dealership");
	assert_keys(u, user_keys);
	assert_keys(d, dealership_keys);
	ck_assert_str_eq(str(u, "id"), TESLA_REP);
	ck_assert_str_eq(str(u, "dealership_id"), TESLA);
	ck_assert_str_eq(str(u, "clerk_user_id"), "user_tesla_rep");
	ck_assert_str_eq(str(u, "role"), "sales_rep");
	ck_assert_str_eq(str(u, "name"), "Emil Haugland");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "active")));
	ck_assert_str_eq(str(d, "id"), TESLA);
	ck_assert_str_eq(str(d, "name"), "Tesla Oslo");
	s = cJSON_GetObjectItemCaseSensitive(d, "settings");
	ck_assert_str_eq(str(s, "language"), "nb");
	ck_assert(!cJSON_HasObjectItem(s, "webhook_secret"));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* A manager sees the key (Tesla Oslo has no secret: null). */
	api("GET", "/api/me", NULL, "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	u = cJSON_GetObjectItemCaseSensitive(j, "user");
	d = cJSON_GetObjectItemCaseSensitive(j, "dealership");
	ck_assert_str_eq(str(u, "id"), TESLA_MGR);
	ck_assert_str_eq(str(u, "role"), "manager");
	s = cJSON_GetObjectItemCaseSensitive(d, "settings");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s,
	    "webhook_secret")));
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(me_webhook_secret_by_role)
{
	struct nv_test_http r;
	const cJSON *s;
	cJSON *j;

	api("GET", "/api/me", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(j, "user"),
	    "role"), "admin");
	s = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "dealership"), "settings");
	ck_assert_str_eq(str(s, "webhook_secret"), VW_SECRET);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/me", NULL, "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, VW_SECRET));
	ck_assert_ptr_null(strstr(r.body, "webhook_secret"));
	j = parse(&r);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(j, "dealership"),
	    "id"), VW);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(me_errors)
{
	struct nv_test_http r;
	char *allow;

	expect("GET", "/api/me", NULL, NULL, 401, "unauthorized", NULL);
	api("POST", "/api/me", "{}", "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET");
	free(allow);
	nv_test_http_free(&r);
	/* The exact-match location: nothing below /api/me. */
	expect("GET", "/api/me/x", NULL, "user_tesla_rep", 404, "not_found",
	    NULL);
}
END_TEST

/* --------------------------------------------------------- /api/users */

START_TEST(users_list_own_dealership_only)
{
	struct nv_test_http r;
	const cJSON *data, *it;
	cJSON *j;
	int n = 0;

	api("GET", "/api/users", NULL, "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	assert_keys(j, (const char *const[]){ "data", NULL });
	data = cJSON_GetObjectItemCaseSensitive(j, "data");
	ck_assert(cJSON_IsArray(data));
	cJSON_ArrayForEach(it, data) {
		assert_keys(it, user_keys);
		ck_assert_str_eq(str(it, "dealership_id"), TESLA);
		n++;
	}
	ck_assert_int_eq(n, 2);
	/* Ordered by name: Emil Haugland, Kristin Solberg. */
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), TESLA_REP);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 1), "id"), TESLA_MGR);
	ck_assert_ptr_null(strstr(r.body, VW));
	ck_assert_ptr_null(strstr(r.body, "user_vw_"));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/users", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "data")), 2);
	ck_assert_ptr_null(strstr(r.body, TESLA));
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(users_list_filters)
{
	struct nv_test_http r;
	const cJSON *data;
	cJSON *j;

	api("GET", "/api/users?role=sales_rep", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	data = cJSON_GetObjectItemCaseSensitive(j, "data");
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), VW_REP);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/users?role=admin&active=true", NULL, "user_vw_admin",
	    &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	data = cJSON_GetObjectItemCaseSensitive(j, "data");
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), VW_ADMIN);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/users?active=false", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"data\":[]}");
	nv_test_http_free(&r);

	/* Deactivate the rep: the filters see it. */
	api("PATCH", "/api/users/" VW_REP, "{\"active\": false}",
	    "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	nv_test_http_free(&r);
	api("GET", "/api/users?active=false", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	data = cJSON_GetObjectItemCaseSensitive(j, "data");
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), VW_REP);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	api("GET", "/api/users?active=true", NULL, "user_vw_admin", &r);
	j = parse(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "data")), 1);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(users_list_bad_query)
{
	expect("GET", "/api/users?role=boss", NULL, "user_vw_admin", 400,
	    "bad_request", "role");
	expect("GET", "/api/users?active=yes", NULL, "user_vw_admin", 400,
	    "bad_request", "active");
	expect("GET", "/api/users?active=", NULL, "user_vw_admin", 400,
	    "bad_request", "active");
	expect("GET", "/api/users?limit=5", NULL, "user_vw_admin", 400,
	    "bad_request", "limit");
	expect("GET", "/api/users?role=admin&role=manager", NULL,
	    "user_vw_admin", 400, "bad_request", "role");
	expect("GET", "/api/users?role=%zz", NULL, "user_vw_admin", 400,
	    "bad_request", NULL);
}
END_TEST

START_TEST(users_sales_rep_forbidden)
{
	/* 403 before any lookup: whatever the id, even unknown or foreign. */
	expect("GET", "/api/users", NULL, "user_tesla_rep", 403, "forbidden",
	    NULL);
	expect("GET", "/api/users?role=boss", NULL, "user_tesla_rep", 403,
	    "forbidden", NULL);
	expect("GET", "/api/users/" TESLA_MGR, NULL, "user_tesla_rep", 403,
	    "forbidden", NULL);
	expect("PATCH", "/api/users/" TESLA_REP, "{\"name\": \"X\"}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("PATCH", "/api/users/" NO_SUCH, "{\"name\": \"X\"}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("PATCH", "/api/users/" VW_REP, "{\"name\": \"X\"}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("GET", "/api/users", NULL, NULL, 401, "unauthorized", NULL);
}
END_TEST

START_TEST(users_patch_changes_user)
{
	struct nv_test_http r;
	const cJSON *np;
	cJSON *j;

	api("PATCH", "/api/users/" VW_REP, "{\"name\": \"  Marius K. Aas \","
	    " \"role\": \"manager\", \"notification_preferences\":"
	    " {\"email\": false, \"sms\": true}}", "user_vw_admin", &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_keys(j, user_keys);
	ck_assert_str_eq(str(j, "id"), VW_REP);
	ck_assert_str_eq(str(j, "name"), "Marius K. Aas");
	ck_assert_str_eq(str(j, "role"), "manager");
	ck_assert_str_eq(str(j, "email"), "marius.aas@example.no");
	np = cJSON_GetObjectItemCaseSensitive(j, "notification_preferences");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(np, "email")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(np, "sms")));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* The change is stored, and the user now acts as a manager. */
	api("GET", "/api/users/" VW_REP, NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert_str_eq(str(j, "role"), "manager");
	ck_assert_str_eq(str(j, "name"), "Marius K. Aas");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	expect("GET", "/api/users", NULL, "user_vw_rep", 200, NULL, NULL);

	/* A manager may change a sales rep (and demote a manager). */
	api("PATCH", "/api/users/" TESLA_REP, "{\"active\": false,"
	    " \"name\": null}", "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "active")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "name")));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	/* A deactivated user's token no longer works. */
	expect("GET", "/api/me", NULL, "user_tesla_rep", 403, "forbidden",
	    NULL);

	/* An admin may change their own name; an empty patch changes nothing. */
	expect("PATCH", "/api/users/" VW_ADMIN, "{\"name\": \"Trond V.\","
	    " \"role\": \"admin\", \"active\": true}", "user_vw_admin", 200,
	    NULL, NULL);
	api("PATCH", "/api/users/" VW_ADMIN, "{}", "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert_str_eq(str(j, "name"), "Trond V.");
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(users_other_dealership_is_404)
{
	expect("GET", "/api/users/" VW_REP, NULL, "user_tesla_manager", 404,
	    "not_found", NULL);
	expect("PATCH", "/api/users/" VW_REP, "{\"name\": \"Taken\"}",
	    "user_tesla_manager", 404, "not_found", NULL);
	expect("PATCH", "/api/users/" TESLA_REP, "{\"active\": false}",
	    "user_vw_admin", 404, "not_found", NULL);
	expect("PATCH", "/api/users/" NO_SUCH, "{\"name\": \"X\"}",
	    "user_vw_admin", 404, "not_found", NULL);
	expect("PATCH", "/api/users/not-a-uuid", "{\"name\": \"X\"}",
	    "user_vw_admin", 404, "not_found", NULL);
	expect("GET", "/api/users/not-a-uuid", NULL, "user_vw_admin", 404,
	    "not_found", NULL);
	/* Nothing changed over there. */
	expect("GET", "/api/me", NULL, "user_tesla_rep", 200, NULL, NULL);
	{
		struct nv_test_http r;
		cJSON *j;

		api("GET", "/api/users/" VW_REP, NULL, "user_vw_admin", &r);
		ck_assert_int_eq(r.status, 200);
		j = parse(&r);
		ck_assert_str_eq(str(j, "name"), "Marius Aas");
		cJSON_Delete(j);
		nv_test_http_free(&r);
	}
}
END_TEST

START_TEST(users_manager_makes_nobody_admin)
{
	PGconn *c;

	expect("PATCH", "/api/users/" TESLA_REP, "{\"role\": \"admin\"}",
	    "user_tesla_manager", 403, "forbidden", NULL);
	/* The body decides, not the id: 403 for an unknown user too. */
	expect("PATCH", "/api/users/" NO_SUCH, "{\"role\": \"admin\"}",
	    "user_tesla_manager", 403, "forbidden", NULL);
	expect("PATCH", "/api/users/" TESLA_MGR, "{\"role\": \"admin\"}",
	    "user_tesla_manager", 403, "forbidden", NULL);

	/* A manager may not change an admin at all. */
	c = nv_test_connect(nv_test_env("DATABASE_URL"));
	begin_as(c, TESLA);
	PQclear(nv_test_exec(c, "INSERT INTO users (id, dealership_id,"
	    " clerk_user_id, name, role) VALUES"
	    " ('a1000000-0000-4000-8000-0000000000aa', $1::uuid,"
	    " 'user_tesla_admin_test', 'Test Admin', 'admin')", TESLA, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	expect("PATCH", "/api/users/a1000000-0000-4000-8000-0000000000aa",
	    "{\"active\": false}", "user_tesla_manager", 403, "forbidden",
	    NULL);
	expect("PATCH", "/api/users/a1000000-0000-4000-8000-0000000000aa",
	    "{\"role\": \"sales_rep\"}", "user_tesla_manager", 403,
	    "forbidden", NULL);

	/* An admin may make someone admin. */
	{
		struct nv_test_http r;
		cJSON *j;

		api("PATCH", "/api/users/" VW_REP, "{\"role\": \"admin\"}",
		    "user_vw_admin", &r);
		ck_assert_int_eq(r.status, 200);
		j = parse(&r);
		ck_assert_str_eq(str(j, "role"), "admin");
		cJSON_Delete(j);
		nv_test_http_free(&r);
	}
}
END_TEST

START_TEST(users_nobody_demotes_or_deactivates_self)
{
	struct nv_test_http r;

	expect("PATCH", "/api/users/" TESLA_MGR, "{\"active\": false}",
	    "user_tesla_manager", 422, "validation_failed", "active");
	expect("PATCH", "/api/users/" TESLA_MGR, "{\"role\": \"sales_rep\"}",
	    "user_tesla_manager", 422, "validation_failed", "role");
	expect("PATCH", "/api/users/" VW_ADMIN, "{\"role\": \"manager\"}",
	    "user_vw_admin", 422, "validation_failed", "role");
	api("PATCH", "/api/users/" VW_ADMIN, "{\"role\": \"sales_rep\","
	    " \"active\": false}", "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 422);
	assert_error_field(r.body, "validation_failed", "role");
	assert_error_field(r.body, "validation_failed", "active");
	nv_test_http_free(&r);
	/* Unchanged. */
	api("GET", "/api/me", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"role\" : \"admin\""));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(users_patch_bad_bodies)
{
	struct nv_test_http r;

	expect("PATCH", "/api/users/" VW_REP, "{\"dealership_id\": \"" TESLA
	    "\"}", "user_vw_admin", 422, "validation_failed",
	    "dealership_id");
	expect("PATCH", "/api/users/" VW_REP, "{\"id\": \"" NO_SUCH "\"}",
	    "user_vw_admin", 422, "validation_failed", "id");
	expect("PATCH", "/api/users/" VW_REP, "{\"email\": \"a@example.no\"}",
	    "user_vw_admin", 422, "validation_failed", "email");
	expect("PATCH", "/api/users/" VW_REP, "{\"clerk_user_id\": \"x\"}",
	    "user_vw_admin", 422, "validation_failed", "clerk_user_id");
	expect("PATCH", "/api/users/" VW_REP, "{\"role\": \"boss\"}",
	    "user_vw_admin", 422, "validation_failed", "role");
	expect("PATCH", "/api/users/" VW_REP, "{\"active\": \"no\"}",
	    "user_vw_admin", 422, "validation_failed", "active");
	expect("PATCH", "/api/users/" VW_REP, "{\"role\": null}",
	    "user_vw_admin", 422, "validation_failed", "role");
	expect("PATCH", "/api/users/" VW_REP,
	    "{\"notification_preferences\": [1]}", "user_vw_admin", 422,
	    "validation_failed", "notification_preferences");
	expect("PATCH", "/api/users/" VW_REP, "{\"name\": 5}",
	    "user_vw_admin", 422, "validation_failed", "name");
	expect("PATCH", "/api/users/" VW_REP, "{\"name\": ", "user_vw_admin",
	    400, "bad_request", NULL);
	expect("PATCH", "/api/users/" VW_REP, "[]", "user_vw_admin", 400,
	    "bad_request", NULL);
	/* 415 without application/json. */
	call("PATCH", "/api/users/" VW_REP, "{\"name\": \"X\"}",
	    "user_vw_admin", NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);
	call("PATCH", "/api/users/" VW_REP, "{\"name\": \"X\"}",
	    "user_vw_admin", "text/plain", &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_http_free(&r);
	/* Nothing was written. */
	api("GET", "/api/users/" VW_REP, NULL, "user_vw_admin", &r);
	ck_assert_ptr_nonnull(strstr(r.body, "\"name\" : \"Marius Aas\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"role\" : \"sales_rep\""));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(users_methods)
{
	struct nv_test_http r;
	char *allow;

	api("DELETE", "/api/users/" VW_REP, NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET, PATCH");
	free(allow);
	nv_test_http_free(&r);

	api("POST", "/api/users", "{}", "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 405);
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET");
	free(allow);
	nv_test_http_free(&r);
	expect("GET", "/api/users/" VW_REP "/x", NULL, "user_vw_admin", 404,
	    "not_found", NULL);
}
END_TEST

/* --------------------------------------------------- /api/dealership */

START_TEST(dealership_get_by_role)
{
	struct nv_test_http r;
	const cJSON *s;
	cJSON *j;

	api("GET", "/api/dealership", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	assert_keys(j, dealership_keys);
	ck_assert_str_eq(str(j, "id"), VW);
	ck_assert_str_eq(str(j, "name"), "VW Bergen");
	ck_assert_str_eq(str(j, "clerk_org_id"), "org_vw_bergen");
	s = cJSON_GetObjectItemCaseSensitive(j, "settings");
	ck_assert_str_eq(str(s, "webhook_secret"), VW_SECRET);
	ck_assert_str_eq(str(s, "tone"), "professional");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/dealership", NULL, "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, VW_SECRET));
	j = parse(&r);
	assert_keys(j, dealership_keys);
	s = cJSON_GetObjectItemCaseSensitive(j, "settings");
	ck_assert(!cJSON_HasObjectItem(s, "webhook_secret"));
	ck_assert_str_eq(str(s, "tone"), "professional");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	api("GET", "/api/dealership", NULL, "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert_str_eq(str(j, "id"), TESLA);
	ck_assert_ptr_null(strstr(r.body, VW_SECRET));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	expect("GET", "/api/dealership", NULL, NULL, 401, "unauthorized",
	    NULL);
}
END_TEST

START_TEST(dealership_patch_merges_settings)
{
	struct nv_test_http r;
	const cJSON *s;
	cJSON *j;

	api("PATCH", "/api/dealership", "{\"name\": \"VW Bergen AS\","
	    " \"settings\": {\"tone\": \"warm\", \"language\": \"en\"}}",
	    "user_vw_admin", &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_keys(j, dealership_keys);
	ck_assert_str_eq(str(j, "name"), "VW Bergen AS");
	s = cJSON_GetObjectItemCaseSensitive(j, "settings");
	ck_assert_str_eq(str(s, "tone"), "warm");
	ck_assert_str_eq(str(s, "language"), "en");
	ck_assert_str_eq(str(s, "timezone"), "Europe/Oslo");
	ck_assert_str_eq(str(s, "webhook_secret"), VW_SECRET);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* A sales rep sees the change, still without the secret. */
	api("GET", "/api/dealership", NULL, "user_vw_rep", &r);
	j = parse(&r);
	ck_assert_str_eq(str(j, "name"), "VW Bergen AS");
	ck_assert_ptr_null(strstr(r.body, VW_SECRET));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* The other dealership is untouched. */
	api("GET", "/api/dealership", NULL, "user_tesla_manager", &r);
	j = parse(&r);
	ck_assert_str_eq(str(j, "name"), "Tesla Oslo");
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(j, "settings"),
	    "tone"), "friendly");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* A manager sets a secret; null clears it. */
	api("PATCH", "/api/dealership", "{\"settings\": {\"webhook_secret\":"
	    " \"0123456789abcdef0123\"}}", "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "0123456789abcdef0123"));
	nv_test_http_free(&r);
	api("GET", "/api/dealership", NULL, "user_tesla_rep", &r);
	ck_assert_ptr_null(strstr(r.body, "0123456789abcdef0123"));
	nv_test_http_free(&r);
	api("PATCH", "/api/dealership", "{\"settings\": {\"webhook_secret\":"
	    " null}}", "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "settings"),
	    "webhook_secret")));
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(dealership_patch_errors)
{
	struct nv_test_http r;
	char *allow;

	/* Role first: 403 whatever the body. */
	expect("PATCH", "/api/dealership", "{\"name\": \"Mine\"}",
	    "user_vw_rep", 403, "forbidden", NULL);
	expect("PATCH", "/api/dealership", "{\"nonsense\": 1}", "user_vw_rep",
	    403, "forbidden", NULL);
	expect("PATCH", "/api/dealership", "{\"name\": \"Mine\"}", NULL, 401,
	    "unauthorized", NULL);

	expect("PATCH", "/api/dealership", "{\"dealership_id\": \"" TESLA
	    "\"}", "user_vw_admin", 422, "validation_failed",
	    "dealership_id");
	expect("PATCH", "/api/dealership", "{\"id\": \"" TESLA "\"}",
	    "user_vw_admin", 422, "validation_failed", "id");
	expect("PATCH", "/api/dealership", "{\"clerk_org_id\": \"org_x\"}",
	    "user_vw_admin", 422, "validation_failed", "clerk_org_id");
	expect("PATCH", "/api/dealership", "{\"active\": false}",
	    "user_vw_admin", 422, "validation_failed", "active");
	expect("PATCH", "/api/dealership", "{\"name\": \"\"}",
	    "user_vw_admin", 422, "validation_failed", "name");
	expect("PATCH", "/api/dealership", "{\"settings\": {\"colour\":"
	    " \"red\"}}", "user_vw_admin", 422, "validation_failed",
	    "settings.colour");
	expect("PATCH", "/api/dealership", "{\"settings\": {\"language\":"
	    " \"de\"}}", "user_vw_admin", 422, "validation_failed",
	    "settings.language");
	expect("PATCH", "/api/dealership", "{\"settings\": {\"webhook_secret\":"
	    " \"short\"}}", "user_vw_admin", 422, "validation_failed",
	    "settings.webhook_secret");
	expect("PATCH", "/api/dealership", "{\"settings\": 3}",
	    "user_vw_admin", 422, "validation_failed", "settings");
	expect("PATCH", "/api/dealership", "{", "user_vw_admin", 400,
	    "bad_request", NULL);
	call("PATCH", "/api/dealership", "{\"name\": \"X\"}", "user_vw_admin",
	    NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);

	api("DELETE", "/api/dealership", NULL, "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET, PATCH");
	free(allow);
	nv_test_http_free(&r);

	/* Nothing was written. */
	api("GET", "/api/dealership", NULL, "user_vw_admin", &r);
	ck_assert_ptr_nonnull(strstr(r.body, "\"name\" : \"VW Bergen\""));
	ck_assert_ptr_nonnull(strstr(r.body, VW_SECRET));
	nv_test_http_free(&r);
}
END_TEST

static Suite *
account_suite(void)
{
	Suite *s = suite_create("api_account");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_add_unchecked_fixture(core, snapshot, snapshot_free);
	tcase_add_unchecked_fixture(err, snapshot, snapshot_free);
	tcase_add_checked_fixture(core, restore, NULL);
	tcase_add_checked_fixture(err, restore, NULL);
	tcase_set_timeout(core, 60);
	tcase_set_timeout(err, 60);
	tcase_add_test(core, me_shows_user_and_dealership);
	tcase_add_test(core, me_webhook_secret_by_role);
	tcase_add_test(core, users_list_own_dealership_only);
	tcase_add_test(core, users_list_filters);
	tcase_add_test(core, users_patch_changes_user);
	tcase_add_test(core, users_manager_makes_nobody_admin);
	tcase_add_test(core, dealership_get_by_role);
	tcase_add_test(core, dealership_patch_merges_settings);
	tcase_add_test(err, me_errors);
	tcase_add_test(err, users_list_bad_query);
	tcase_add_test(err, users_sales_rep_forbidden);
	tcase_add_test(err, users_other_dealership_is_404);
	tcase_add_test(err, users_nobody_demotes_or_deactivates_self);
	tcase_add_test(err, users_patch_bad_bodies);
	tcase_add_test(err, users_methods);
	tcase_add_test(err, dealership_patch_errors);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(account_suite)
