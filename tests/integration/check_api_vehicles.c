/*
 * check_api_vehicles.c - GET/POST /api/vehicles and GET/PATCH/DELETE
 * /api/vehicles/{id} over real HTTP (nginx, cgi-bin/vehicles, PostgreSQL
 * with the demo seed), as a client sees them.
 *
 * The unchecked fixture takes a snapshot of both dealerships' vehicles and
 * leads; the checked fixture puts it back before every test (removing
 * what tests created, undoing changes to seeded vehicles), and the
 * unchecked teardown once more for the test binaries that follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define TESLA_M3	"b1000000-0000-4000-8000-000000000001"
#define TESLA_MY_RES	"b1000000-0000-4000-8000-000000000003"
#define TESLA_MS	"b1000000-0000-4000-8000-000000000004"
#define VW_ID4		"b2000000-0000-4000-8000-000000000001"
#define NO_SUCH		"b9999999-0000-4000-8000-000000000009"

static Suite *vehicles_suite(void);

/* ------------------------------------------------------------ helpers */

static const char *
org_of(const char *user)
{
	return strncmp(user, "user_vw_", 8) == 0 ? "org_vw_bergen" :
	    "org_tesla_oslo";
}

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

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

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

static const char *const vehicle_keys[] = {
	"id", "dealership_id", "make", "model", "year", "vin", "stock_number",
	"price_ore", "stock_status", "metadata", "created_at", "updated_at",
	NULL
};

/* GET path as user; the "data" array of the answer (caller frees *j). */
static const cJSON *
list(const char *path, const char *user, cJSON **j)
{
	struct nv_test_http r;
	const cJSON *data;

	api("GET", path, NULL, user, &r);
	ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status,
	    r.body);
	*j = parse(&r);
	assert_keys(*j, (const char *const[]){ "data", NULL });
	data = cJSON_GetObjectItemCaseSensitive(*j, "data");
	ck_assert(cJSON_IsArray(data));
	nv_test_http_free(&r);
	return data;
}

/* Create a vehicle as user; returns its id (malloc'd). */
static char *
create(const char *user, const char *body)
{
	struct nv_test_http r;
	char *id;
	cJSON *j;

	api("POST", "/api/vehicles", body, user, &r);
	ck_assert_msg(r.status == 201, "create: %ld %s", r.status, r.body);
	j = parse(&r);
	id = strdup(str(j, "id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	return id;
}

/* -------------------------------------------------- seed snapshot */

static char *snap_vehicles[2], *snap_leads[2];
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
		r = nv_test_exec(c, "SELECT (SELECT json_agg(v) FROM vehicles v),"
		    " (SELECT coalesce(json_agg(l.id), '[]') FROM leads l)",
		    NULL);
		snap_vehicles[i] = strdup(PQgetvalue(r, 0, 0));
		snap_leads[i] = strdup(PQgetvalue(r, 0, 1));
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
		PQclear(nv_test_exec(c, "DELETE FROM leads l WHERE l.id NOT IN"
		    " (SELECT value::uuid FROM json_array_elements_text("
		    "$1::json))", snap_leads[i], NULL));
		PQclear(nv_test_exec(c, "DELETE FROM vehicles v WHERE v.id NOT IN"
		    " (SELECT o.id FROM json_populate_recordset(NULL::vehicles,"
		    " $1::json) o)", snap_vehicles[i], NULL));
		PQclear(nv_test_exec(c, "UPDATE vehicles v SET make = o.make,"
		    " model = o.model, year = o.year, vin = o.vin,"
		    " stock_number = o.stock_number, price_ore = o.price_ore,"
		    " stock_status = o.stock_status, metadata = o.metadata"
		    " FROM json_populate_recordset(NULL::vehicles, $1::json) o"
		    " WHERE v.id = o.id AND (v.make, v.model, v.year, v.vin,"
		    " v.stock_number, v.price_ore, v.stock_status, v.metadata)"
		    " IS DISTINCT FROM (o.make, o.model, o.year, o.vin,"
		    " o.stock_number, o.price_ore, o.stock_status, o.metadata)",
		    snap_vehicles[i], NULL));
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	PQfinish(c);
}

static void
snapshot_free(void)
{
	restore();
	for (int i = 0; i < 2; i++) {
		free(snap_vehicles[i]);
		free(snap_leads[i]);
	}
}

/* ------------------------------------------------------------- reads */

START_TEST(list_own_dealership_only)
{
	const cJSON *data, *it;
	cJSON *j;
	int n = 0;

	data = list("/api/vehicles", "user_tesla_rep", &j);
	cJSON_ArrayForEach(it, data) {
		assert_keys(it, vehicle_keys);
		ck_assert_str_eq(str(it, "dealership_id"), TESLA);
		ck_assert_str_eq(str(it, "make"), "Tesla");
		n++;
	}
	ck_assert_int_eq(n, 4);
	cJSON_Delete(j);

	data = list("/api/vehicles", "user_vw_admin", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 4);
	cJSON_ArrayForEach(it, data)
		ck_assert_str_eq(str(it, "dealership_id"), VW);
	cJSON_Delete(j);

	/* Newest first. */
	{
		char *id = create("user_tesla_manager", "{\"make\": \"Tesla\","
		    " \"model\": \"Cybertruck\"}");

		data = list("/api/vehicles", "user_tesla_rep", &j);
		ck_assert_int_eq(cJSON_GetArraySize(data), 5);
		ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), id);
		cJSON_Delete(j);
		data = list("/api/vehicles", "user_vw_rep", &j);
		ck_assert_int_eq(cJSON_GetArraySize(data), 4);
		cJSON_Delete(j);
		free(id);
	}
}
END_TEST

START_TEST(list_filters)
{
	const cJSON *data, *it;
	cJSON *j;

	data = list("/api/vehicles?stock_status=reserved", "user_tesla_rep",
	    &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), TESLA_MY_RES);
	cJSON_Delete(j);

	data = list("/api/vehicles?q=model%20y", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 2);
	cJSON_ArrayForEach(it, data)
		ck_assert_str_eq(str(it, "model"), "Model Y");
	cJSON_Delete(j);

	/* VIN, any case. */
	data = list("/api/vehicles?q=5yjsa7e", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), TESLA_MS);
	cJSON_Delete(j);

	/* Make and model together. */
	data = list("/api/vehicles?q=Tesla+Model+3", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), TESLA_M3);
	cJSON_Delete(j);

	data = list("/api/vehicles?q=ID.4&stock_status=in_stock&limit=5",
	    "user_vw_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(data, 0), "id"), VW_ID4);
	cJSON_Delete(j);

	/* Wildcards are literal; another dealership's stock is not found. */
	data = list("/api/vehicles?q=%25", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 0);
	cJSON_Delete(j);
	data = list("/api/vehicles?q=_", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 0);
	cJSON_Delete(j);
	data = list("/api/vehicles?q=volkswagen", "user_tesla_manager", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 0);
	cJSON_Delete(j);

	data = list("/api/vehicles?limit=3", "user_vw_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 3);
	cJSON_Delete(j);
	data = list("/api/vehicles?limit=200", "user_vw_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(data), 4);
	cJSON_Delete(j);
}
END_TEST

START_TEST(list_bad_query)
{
	char q[160];

	expect("GET", "/api/vehicles?stock_status=new", NULL, "user_tesla_rep",
	    400, "bad_request", "stock_status");
	expect("GET", "/api/vehicles?limit=0", NULL, "user_tesla_rep", 400,
	    "bad_request", "limit");
	expect("GET", "/api/vehicles?limit=201", NULL, "user_tesla_rep", 400,
	    "bad_request", "limit");
	expect("GET", "/api/vehicles?limit=ten", NULL, "user_tesla_rep", 400,
	    "bad_request", "limit");
	expect("GET", "/api/vehicles?sort=price", NULL, "user_tesla_rep", 400,
	    "bad_request", "sort");
	expect("GET", "/api/vehicles?q=a&q=b", NULL, "user_tesla_rep", 400,
	    "bad_request", "q");
	snprintf(q, sizeof(q), "/api/vehicles?q=%0101d", 0);
	expect("GET", q, NULL, "user_tesla_rep", 400, "bad_request", "q");
	expect("GET", "/api/vehicles", NULL, NULL, 401, "unauthorized", NULL);
}
END_TEST

/* ------------------------------------------------------------ writes */

START_TEST(create_read_update_delete)
{
	struct nv_test_http r;
	char *loc, path[128];
	const char *id;
	cJSON *j, *m;

	api("POST", "/api/vehicles", "{\"make\": \" Tesla \", \"model\":"
	    " \"Model 3\", \"year\": 2026, \"vin\": \"lrw3e7fa9sc999901\","
	    " \"stock_number\": \"T-3999\", \"price_ore\": 39990000,"
	    " \"metadata\": {\"color\": \"Ultra Red\"}}", "user_tesla_manager",
	    &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_keys(j, vehicle_keys);
	id = str(j, "id");
	ck_assert_ptr_nonnull(id);
	snprintf(path, sizeof(path), "/api/vehicles/%s", id);
	loc = nv_test_http_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_str_eq(loc, path);
	free(loc);
	ck_assert_str_eq(str(j, "dealership_id"), TESLA);
	ck_assert_str_eq(str(j, "make"), "Tesla");
	ck_assert_str_eq(str(j, "vin"), "LRW3E7FA9SC999901");
	ck_assert_str_eq(str(j, "stock_status"), "in_stock");
	ck_assert(num(j, "year") == 2026);
	ck_assert(num(j, "price_ore") == 39990000);
	m = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	ck_assert_str_eq(str(m, "color"), "Ultra Red");
	nv_test_http_free(&r);

	/* Any staff member reads it. */
	api("GET", path, NULL, "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 200);
	{
		cJSON *g = parse(&r);

		assert_keys(g, vehicle_keys);
		ck_assert_str_eq(str(g, "id"), str(j, "id"));
		ck_assert_str_eq(str(g, "stock_number"), "T-3999");
		cJSON_Delete(g);
	}
	nv_test_http_free(&r);

	/* A partial update changes only what it names. */
	api("PATCH", path, "{\"stock_status\": \"reserved\", \"price_ore\":"
	    " 37990000, \"stock_number\": null}", "user_tesla_manager", &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	{
		cJSON *p = parse(&r);

		assert_keys(p, vehicle_keys);
		ck_assert_str_eq(str(p, "stock_status"), "reserved");
		ck_assert(num(p, "price_ore") == 37990000);
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p,
		    "stock_number")));
		ck_assert_str_eq(str(p, "model"), "Model 3");
		ck_assert_str_eq(str(p, "vin"), "LRW3E7FA9SC999901");
		cJSON_Delete(p);
	}
	nv_test_http_free(&r);

	/* Delete: 204 with no body, then it is gone. */
	api("DELETE", path, NULL, "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_int_eq(r.len, 0);
	nv_test_http_free(&r);
	expect("GET", path, NULL, "user_tesla_manager", 404, "not_found",
	    NULL);
	expect("DELETE", path, NULL, "user_tesla_manager", 404, "not_found",
	    NULL);
	expect("PATCH", path, "{\"year\": 2025}", "user_tesla_manager", 404,
	    "not_found", NULL);
	cJSON_Delete(j);
}
END_TEST

START_TEST(delete_keeps_leads)
{
	struct nv_test_http r;
	char body[512], path[128], lead[64];
	char *id;
	cJSON *j;

	/* A lead about a new car; deleting the car keeps the lead. */
	id = create("user_vw_admin", "{\"make\": \"Volkswagen\", \"model\":"
	    " \"ID.7\"}");
	snprintf(body, sizeof(body), "{\"first_name\": \"Kari\", \"email\":"
	    " \"kari.test@example.no\", \"vehicle_id\": \"%s\"}", id);
	api("POST", "/api/leads", body, "user_vw_rep", &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = parse(&r);
	snprintf(lead, sizeof(lead), "%s", str(j, "id"));
	ck_assert_str_eq(str(j, "vehicle_id"), id);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/vehicles/%s", id);
	expect("DELETE", path, NULL, "user_vw_admin", 204, NULL, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s", lead);
	api("GET", path, NULL, "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
	    "vehicle_id")));
	ck_assert_str_eq(str(j, "first_name"), "Kari");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(id);
}
END_TEST

START_TEST(other_dealership_is_404)
{
	struct nv_test_http r;
	cJSON *j;

	expect("GET", "/api/vehicles/" TESLA_M3, NULL, "user_vw_rep", 404,
	    "not_found", NULL);
	expect("GET", "/api/vehicles/" TESLA_M3, NULL, "user_vw_admin", 404,
	    "not_found", NULL);
	expect("PATCH", "/api/vehicles/" TESLA_M3, "{\"price_ore\": 1}",
	    "user_vw_admin", 404, "not_found", NULL);
	expect("DELETE", "/api/vehicles/" TESLA_M3, NULL, "user_vw_admin",
	    404, "not_found", NULL);
	expect("GET", "/api/vehicles/" VW_ID4, NULL, "user_tesla_manager", 404,
	    "not_found", NULL);
	expect("DELETE", "/api/vehicles/" VW_ID4, NULL, "user_tesla_manager",
	    404, "not_found", NULL);
	expect("GET", "/api/vehicles/" NO_SUCH, NULL, "user_tesla_manager",
	    404, "not_found", NULL);
	expect("GET", "/api/vehicles/not-a-uuid", NULL, "user_tesla_manager",
	    404, "not_found", NULL);
	expect("DELETE", "/api/vehicles/not-a-uuid", NULL,
	    "user_tesla_manager", 404, "not_found", NULL);

	/* Untouched. */
	api("GET", "/api/vehicles/" TESLA_M3, NULL, "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	ck_assert(num(j, "price_ore") == 46990000);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(sales_rep_may_only_read)
{
	cJSON *j;

	/* 403 before any lookup: own, foreign or unknown id alike. */
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\":"
	    " \"Model 3\"}", "user_tesla_rep", 403, "forbidden", NULL);
	expect("POST", "/api/vehicles", "{\"bogus\": 1}", "user_tesla_rep", 403,
	    "forbidden", NULL);
	expect("PATCH", "/api/vehicles/" TESLA_M3, "{\"price_ore\": 1}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("PATCH", "/api/vehicles/" NO_SUCH, "{\"price_ore\": 1}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("PATCH", "/api/vehicles/" VW_ID4, "{\"price_ore\": 1}",
	    "user_tesla_rep", 403, "forbidden", NULL);
	expect("DELETE", "/api/vehicles/" TESLA_M3, NULL, "user_tesla_rep",
	    403, "forbidden", NULL);
	expect("DELETE", "/api/vehicles/" NO_SUCH, NULL, "user_vw_rep", 403,
	    "forbidden", NULL);
	expect("DELETE", "/api/vehicles/not-a-uuid", NULL, "user_vw_rep", 403,
	    "forbidden", NULL);
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\":"
	    " \"Model 3\"}", NULL, 401, "unauthorized", NULL);
	expect("DELETE", "/api/vehicles/" TESLA_M3, NULL, NULL, 401,
	    "unauthorized", NULL);

	/* Nothing changed. */
	list("/api/vehicles", "user_tesla_rep", &j);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "data")), 4);
	cJSON_Delete(j);
	expect("GET", "/api/vehicles/" TESLA_M3, NULL, "user_tesla_rep", 200,
	    NULL, NULL);
}
END_TEST

START_TEST(bad_bodies)
{
	struct nv_test_http r;
	const char *u = "user_tesla_manager";

	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\"}", u, 422,
	    "validation_failed", "model");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"dealership_id\": \"" VW "\"}", u, 422, "validation_failed",
	    "dealership_id");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"id\": \"" NO_SUCH "\"}", u, 422, "validation_failed", "id");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"vin\": \"IOQ12345678901234\"}", u, 422, "validation_failed",
	    "vin");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"year\": 1800}", u, 422, "validation_failed", "year");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"price_ore\": -1}", u, 422, "validation_failed", "price_ore");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"stock_status\": \"gone\"}", u, 422, "validation_failed",
	    "stock_status");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\","
	    " \"metadata\": []}", u, 422, "validation_failed", "metadata");
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\"", u, 400,
	    "bad_request", NULL);
	expect("POST", "/api/vehicles", "\"Tesla\"", u, 400, "bad_request",
	    NULL);
	expect("PATCH", "/api/vehicles/" TESLA_M3, "{\"make\": null}", u, 422,
	    "validation_failed", "make");
	expect("PATCH", "/api/vehicles/" TESLA_M3, "{\"dealership_id\": \""
	    VW "\"}", u, 422, "validation_failed", "dealership_id");
	expect("PATCH", "/api/vehicles/" TESLA_M3, "{\"year\": \"2020\"}", u,
	    422, "validation_failed", "year");

	/* A VIN already in this dealership's stock is a conflict, on vin... */
	expect("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\":"
	    " \"Model 3\", \"vin\": \"LRW3E7FA9SC123401\"}", u, 409, "conflict",
	    "vin");
	/* ...but another dealership may hold the same car. */
	free(create("user_vw_admin", "{\"make\": \"Tesla\", \"model\":"
	    " \"Model 3\", \"vin\": \"LRW3E7FA9SC123401\"}"));

	call("POST", "/api/vehicles", "{\"make\": \"Tesla\", \"model\": \"Y\"}",
	    u, NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);
	call("PATCH", "/api/vehicles/" TESLA_M3, "{\"year\": 2024}", u,
	    "text/json", &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);

	/* Nothing was written to the seeded car. */
	api("GET", "/api/vehicles/" TESLA_M3, NULL, u, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "\"year\" : 2025"));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(methods)
{
	struct nv_test_http r;
	char *allow;

	api("PUT", "/api/vehicles/" TESLA_M3, "{}", "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET, PATCH, DELETE");
	free(allow);
	nv_test_http_free(&r);

	api("DELETE", "/api/vehicles", NULL, "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 405);
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET, POST");
	free(allow);
	nv_test_http_free(&r);

	expect("GET", "/api/vehicles/" TESLA_M3 "/leads", NULL,
	    "user_tesla_manager", 404, "not_found", NULL);
	expect("GET", "/api/vehicles/", NULL, "user_tesla_manager", 404,
	    "not_found", NULL);
}
END_TEST

static Suite *
vehicles_suite(void)
{
	Suite *s = suite_create("api_vehicles");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_add_unchecked_fixture(core, snapshot, snapshot_free);
	tcase_add_unchecked_fixture(err, snapshot, snapshot_free);
	tcase_add_checked_fixture(core, restore, NULL);
	tcase_add_checked_fixture(err, restore, NULL);
	tcase_set_timeout(core, 60);
	tcase_set_timeout(err, 60);
	tcase_add_test(core, list_own_dealership_only);
	tcase_add_test(core, list_filters);
	tcase_add_test(core, create_read_update_delete);
	tcase_add_test(core, delete_keeps_leads);
	tcase_add_test(err, list_bad_query);
	tcase_add_test(err, other_dealership_is_404);
	tcase_add_test(err, sales_rep_may_only_read);
	tcase_add_test(err, bad_bodies);
	tcase_add_test(err, methods);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(vehicles_suite)
