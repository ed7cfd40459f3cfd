/*
 * check_api_leads.c - the lead inbox API (SPEC section 6) over real HTTP:
 * nginx, cgi-bin/leads and PostgreSQL with the demo seed, as a client sees
 * it.
 *
 * Other test binaries create leads in the same database, so nothing here
 * asserts a global count: the tests create their own leads (tagged with a
 * per-run word in last_name and e-mail, found again with q=) and compare
 * lists with what SQL returns at the same moment, read through the
 * application role with the tenant context set in a transaction.  Seeded
 * leads are only read, never changed: the tests that must try to change
 * another dealership's lead make one of their own first.
 *
 * Each test case's unchecked fixture (run in the parent, after the tests
 * whether they passed or not) deletes the leads its tests made, so the
 * binaries that follow see the seed; the sales-rep scope test's also puts
 * Tesla Oslo's settings back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "../../lib/arena.h"
#include "../../lib/cursor.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define TESLA_MGR	"a1000000-0000-4000-8000-000000000001"
#define TESLA_REP	"a1000000-0000-4000-8000-000000000002"
#define VW_ADMIN	"a2000000-0000-4000-8000-000000000001"
#define VW_REP		"a2000000-0000-4000-8000-000000000002"
#define SEED_TESLA	"c1000000-0000-4000-8000-000000000001"
#define SEED_VW		"c2000000-0000-4000-8000-000000000001"
#define NO_SUCH		"c9999999-0000-4000-8000-000000000009"
#define MGR		"user_tesla_manager"
#define REP		"user_tesla_rep"
#define VWA		"user_vw_admin"
#define VWR		"user_vw_rep"

static Suite *api_leads_suite(void);

static char base_tag[32];	/* per run: set in the parent, inherited */
static char scope_before[32];	/* Tesla's sales_rep_scope before the test */

static const char *const lead_keys[] = {
	"id", "dealership_id", "first_name", "last_name", "email", "phone",
	"source", "status", "vehicle_id", "vehicle_interest", "message",
	"assigned_to", "notes", "consent", "first_response_at",
	"first_response_seconds", "metadata", "created_at", "updated_at", NULL
};

static const char *const msg_keys[] = {
	"id", "lead_id", "direction", "channel", "sender", "user_id", "body",
	"status", "created_at", NULL
};

/* ------------------------------------------------------------ helpers */

static const char *
org_of(const char *user)
{
	return strncmp(user, "user_vw_", 8) == 0 ? "org_vw_bergen" :
	    "org_tesla_oslo";
}

/* A tag for one test: the run's tag and a word of lower-case letters. */
static void
mktag(char *out, size_t n, const char *word)
{
	snprintf(out, n, "%s%s", base_tag, word);
}

/*
 * One request as user (NULL: no token).  ctype NULL sends no Content-Type
 * of ours (curl then says x-www-form-urlencoded for a body).
 */
static void
call_n(const char *method, const char *path, const char *body, size_t len,
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
	nv_test_http(method, path, body, len, hdrs, r);
	free(auth);
}

static void
call(const char *method, const char *path, const char *body,
    const char *user, const char *ctype, struct nv_test_http *r)
{
	call_n(method, path, body, body != NULL ? strlen(body) : 0, user, ctype,
	    r);
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

	ck_assert_msg(j != NULL, "not JSON (%ld): %s", r->status, r->body);
	return j;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* o has every key in keys (it may have more). */
static void
assert_has_keys(const cJSON *o, const char *const *keys, const char *what)
{
	ck_assert_msg(cJSON_IsObject(o), "%s: not an object", what);
	for (; *keys != NULL; keys++)
		ck_assert_msg(cJSON_HasObjectItem(o, *keys), "%s: key %s missing",
		    what, *keys);
}

/* o is a lead of dealership in the shape of SPEC section 6. */
static void
assert_lead(const cJSON *o, const char *dealership)
{
	assert_has_keys(o, lead_keys, "lead");
	ck_assert_msg(str(o, "id") != NULL && strlen(str(o, "id")) == 36,
	    "lead id");
	ck_assert_str_eq(str(o, "dealership_id"), dealership);
	ck_assert(cJSON_IsString(get(o, "source")));
	ck_assert(cJSON_IsString(get(o, "status")));
	ck_assert(cJSON_IsObject(get(o, "consent")));
	ck_assert(cJSON_IsObject(get(o, "metadata")));
	ck_assert(cJSON_IsString(get(o, "created_at")));
	ck_assert(cJSON_IsString(get(o, "updated_at")));
}

static void
assert_msg(const cJSON *o, const char *lead_id)
{
	assert_has_keys(o, msg_keys, "message");
	ck_assert_str_eq(str(o, "lead_id"), lead_id);
	ck_assert(cJSON_IsString(get(o, "body")));
}

static void
assert_rid(const struct nv_test_http *r)
{
	char *rid = nv_test_http_header(r, "X-Request-Id");

	ck_assert_msg(rid != NULL && *rid != '\0', "no X-Request-Id (%ld)",
	    r->status);
	free(rid);
}

/* The body is the error shape with code, and a detail names field. */
static void
assert_error_field(const char *body, const char *code, const char *field)
{
	const cJSON *it;
	cJSON *j;
	int found = 0;

	nv_test_assert_error(body, code);
	j = cJSON_Parse(body);
	cJSON_ArrayForEach(it, get(get(j, "error"), "details")) {
		const char *f = str(it, "field");

		if (f != NULL && strcmp(f, field) == 0)
			found = 1;
	}
	cJSON_Delete(j);
	ck_assert_msg(found, "no detail names %s: %s", field, body);
}

/* An error response: status, shape, code, X-Request-Id, JSON type. */
static void
assert_err(const struct nv_test_http *r, const char *what, long status,
    const char *code, const char *field)
{
	char *ct;

	ck_assert_msg(r->status == status, "%s: %ld, want %ld: %s", what,
	    r->status, status, r->body);
	if (field != NULL)
		assert_error_field(r->body, code, field);
	else
		nv_test_assert_error(r->body, code);
	assert_rid(r);
	ct = nv_test_http_header(r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	    "%s: Content-Type %s", what, ct != NULL ? ct : "(none)");
	free(ct);
}

static void
expect(const char *method, const char *path, const char *body,
    const char *user, long status, const char *code, const char *field)
{
	struct nv_test_http r;
	char what[512];

	snprintf(what, sizeof(what), "%s %s as %s", method, path,
	    user != NULL ? user : "nobody");
	api(method, path, body, user, &r);
	if (code != NULL)
		assert_err(&r, what, status, code, field);
	else
		ck_assert_msg(r.status == status, "%s: %ld, want %ld: %s", what,
		    r.status, status, r.body);
	nv_test_http_free(&r);
}

/* expect() on /api/leads/<id><suffix>. */
static void
expect_id(const char *method, const char *suffix, const char *id,
    const char *body, const char *user, long status, const char *code,
    const char *field)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/leads/%s%s", id, suffix);
	expect(method, path, body, user, status, code, field);
}

/* POST /api/leads as user; 201; the new lead's id, malloc'd. */
static char *
create_lead(const char *user, const char *body)
{
	struct nv_test_http r;
	char *id;
	cJSON *j;

	api("POST", "/api/leads", body, user, &r);
	ck_assert_msg(r.status == 201, "create as %s: %ld %s\n%s", user,
	    r.status, r.body, body);
	j = parse(&r);
	ck_assert_ptr_nonnull(str(j, "id"));
	id = strdup(str(j, "id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	return id;
}

/* A lead for tag: e-mail <tag>.<n>@example.com, last_name tag, extra JSON. */
static char *
create_tagged(const char *user, const char *tag, int n, const char *extra)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"first_name\": \"Test%d\","
	    " \"last_name\": \"%s\", \"email\": \"%s.%d@example.com\"%s%s}", n,
	    tag, tag, n, extra != NULL ? ", " : "", extra != NULL ? extra : "");
	return create_lead(user, body);
}

/* GET path as user; 200; the parsed body (caller deletes). */
static cJSON *
get_json(const char *path, const char *user)
{
	struct nv_test_http r;
	cJSON *j;

	api("GET", path, NULL, user, &r);
	ck_assert_msg(r.status == 200, "GET %s as %s: %ld %s", path, user,
	    r.status, r.body);
	assert_rid(&r);
	j = parse(&r);
	nv_test_http_free(&r);
	return j;
}

/* ---------------------------------------------------------------- SQL */

static PGconn *
db_as(const char *dealership)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
	return c;
}

static void
db_done(PGconn *c)
{
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

/* SELECT count(...) with up to two parameters, in dealership's context. */
static long
count_as(const char *dealership, const char *sql, const char *p1,
    const char *p2)
{
	PGconn *c = db_as(dealership);
	long n = nv_test_count(c, sql, p1, p2, NULL);

	db_done(c);
	return n;
}

/* The one text value sql returns (NULL for SQL NULL or no row), malloc'd. */
static char *
value_as(const char *dealership, const char *sql, const char *p1)
{
	PGconn *c = db_as(dealership);
	PGresult *r = nv_test_exec(c, sql, p1, NULL);
	char *v = NULL;

	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	db_done(c);
	return v;
}

/* The ids sql returns, in order, as a JSON array of strings. */
static cJSON *
ids_as(const char *dealership, const char *sql, const char *p1)
{
	PGconn *c = db_as(dealership);
	PGresult *r = nv_test_exec(c, sql, p1, NULL);
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; i < PQntuples(r); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(PQgetvalue(r, i, 0)));
	PQclear(r);
	db_done(c);
	return a;
}

/* Run sql (one optional parameter) as the owner with dealership's context. */
static void
owner_exec(const char *dealership, const char *sql, const char *p1,
    const char *p2)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
	PQclear(nv_test_exec(c, sql, p1, p2, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

/* ---------------------------------------------------------- id lists */

/* The ids of the data array of a list answer, as a JSON array. */
static cJSON *
page_ids(const cJSON *page)
{
	const cJSON *it;
	cJSON *a = cJSON_CreateArray();

	cJSON_ArrayForEach(it, get(page, "data"))
		cJSON_AddItemToArray(a, cJSON_CreateString(str(it, "id")));
	return a;
}

static char *
ids_str(const cJSON *a)
{
	return cJSON_PrintUnformatted(a);
}

static void
assert_same_ids(const cJSON *got, const cJSON *want, const char *what)
{
	char *g = ids_str(got), *w = ids_str(want);

	ck_assert_msg(strcmp(g, w) == 0, "%s:\n got %s\nwant %s", what, g, w);
	free(g);
	free(w);
}

/* The ids GET /api/leads?query answers (one page), compared with want. */
static void
assert_list(const char *user, const char *query, const char *const *want)
{
	char path[1024];
	cJSON *j, *got, *w;
	const cJSON *it;

	snprintf(path, sizeof(path), "/api/leads?%s", query);
	j = get_json(path, user);
	cJSON_ArrayForEach(it, get(j, "data"))
		assert_lead(it, strncmp(user, "user_vw_", 8) == 0 ? VW : TESLA);
	got = page_ids(j);
	w = cJSON_CreateArray();
	for (; *want != NULL; want++)
		cJSON_AddItemToArray(w, cJSON_CreateString(*want));
	assert_same_ids(got, w, path);
	cJSON_Delete(w);
	cJSON_Delete(got);
	cJSON_Delete(j);
}

/*
 * Walk GET /api/leads?query&limit=limit through next_cursor as user;
 * returns every id in the order received.  Pages are full except the last,
 * which alone has next_cursor null.
 */
static cJSON *
walk_gated(const char *user, const char *query, int limit, useconds_t pause,
    atomic_int *gate)
{
	char path[1024], cursor[256] = "";
	cJSON *all = cJSON_CreateArray(), *j;
	const cJSON *it, *next;
	int pages = 0, n;

	for (;;) {
		snprintf(path, sizeof(path), "/api/leads?%s%slimit=%d%s%s",
		    query, *query != '\0' ? "&" : "", limit,
		    *cursor != '\0' ? "&cursor=" : "", cursor);
		j = get_json(path, user);
		n = 0;
		cJSON_ArrayForEach(it, get(j, "data")) {
			cJSON_AddItemToArray(all,
			    cJSON_CreateString(str(it, "id")));
			n++;
		}
		next = get(j, "next_cursor");
		ck_assert_msg(n <= limit, "%d leads on a page of %d", n, limit);
		if (cJSON_IsNull(next)) {
			cJSON_Delete(j);
			break;
		}
		ck_assert_msg(cJSON_IsString(next) && *next->valuestring != '\0',
		    "next_cursor is neither a string nor null");
		ck_assert_msg(n == limit, "a page of %d with a next_cursor", n);
		ck_assert_msg(strlen(next->valuestring) < sizeof(cursor),
		    "cursor too long");
		snprintf(cursor, sizeof(cursor), "%s", next->valuestring);
		cJSON_Delete(j);
		ck_assert_msg(++pages < 10000, "the walk does not end");
		if (pause > 0)
			usleep(pause);
		/* After the first page, wait for the first concurrent insert. */
		for (n = 0; gate != NULL && pages == 1 &&
		    atomic_load(gate) == 0 && n < 10000; n++)
			usleep(1000);
	}
	return all;
}

static cJSON *
walk(const char *user, const char *query, int limit, useconds_t pause)
{
	return walk_gated(user, query, limit, pause, NULL);
}

static int
ids_has(const cJSON *a, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (strcmp(it->valuestring, id) == 0)
			return 1;
	return 0;
}

static void
assert_no_duplicates(const cJSON *a, const char *what)
{
	const cJSON *x, *y;

	for (x = a != NULL ? a->child : NULL; x != NULL; x = x->next)
		for (y = x->next; y != NULL; y = y->next)
			ck_assert_msg(strcmp(x->valuestring, y->valuestring) != 0,
			    "%s: %s returned twice", what, x->valuestring);
}

/* Percent-encode '+' (and ' ') of an RFC 3339 time for a query string. */
static void
qtime(char *out, size_t n, const char *ts)
{
	size_t o = 0;

	for (; *ts != '\0' && o + 4 < n; ts++) {
		if (*ts == '+') {
			memcpy(out + o, "%2B", 3);
			o += 3;
		} else if (*ts == ' ') {
			memcpy(out + o, "%20", 3);
			o += 3;
		} else {
			out[o++] = *ts;
		}
	}
	out[o] = '\0';
}

static char *
b64url_str(const char *s)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

/* ------------------------------------------------------------ fixture */

static void
run_setup(void)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(base_tag, sizeof(base_tag), "lt%ld%04d", (long)getpid(),
	    rand() % 10000);
}

/*
 * Remove this test case's leads (their messages and jobs go with them):
 * later test binaries count the seeded leads.
 */
static void
run_teardown(void)
{
	char like[64];

	snprintf(like, sizeof(like), "%s%%", base_tag);
	owner_exec(TESLA, "DELETE FROM leads WHERE last_name LIKE $1", like,
	    NULL);
	owner_exec(VW, "DELETE FROM leads WHERE last_name LIKE $1", like,
	    NULL);
}

static void
scope_setup(void)
{
	char *v;

	run_setup();
	v = value_as(TESLA, "SELECT coalesce(settings->>'sales_rep_scope',"
	    " 'all') FROM dealerships WHERE id = $1::uuid", TESLA);
	snprintf(scope_before, sizeof(scope_before), "%s",
	    v != NULL ? v : "all");
	free(v);
}

/* Put Tesla's sales_rep_scope back, whatever the test did. */
static void
scope_teardown(void)
{
	owner_exec(TESLA, "UPDATE dealerships SET settings = jsonb_set(settings,"
	    " '{sales_rep_scope}', to_jsonb($2::text)) WHERE id = $1::uuid"
	    " AND settings->>'sales_rep_scope' IS DISTINCT FROM $2", TESLA,
	    scope_before);
	run_teardown();
}

/* --------------------------------------------------------------- list */

START_TEST(list_shape)
{
	struct nv_test_http r;
	const cJSON *it, *data;
	long total;
	cJSON *j;
	char *ct;
	int n, keys = 0;

	api("GET", "/api/leads?limit=200", NULL, MGR, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	assert_rid(&r);
	ct = nv_test_http_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(ct);
	ck_assert_str_eq(ct, "application/json; charset=utf-8");
	free(ct);
	j = parse(&r);
	cJSON_ArrayForEach(it, j)
		keys++;
	ck_assert_int_eq(keys, 2);
	data = get(j, "data");
	ck_assert(cJSON_IsArray(data));
	ck_assert(cJSON_HasObjectItem(j, "next_cursor"));
	n = 0;
	cJSON_ArrayForEach(it, data) {
		assert_lead(it, TESLA);
		n++;
	}
	total = count_as(TESLA, "SELECT count(*) FROM leads", NULL, NULL);
	if (total <= 200) {
		ck_assert_int_eq(n, total);
		ck_assert(cJSON_IsNull(get(j, "next_cursor")));
	} else {
		ck_assert_int_eq(n, 200);
		ck_assert(cJSON_IsString(get(j, "next_cursor")));
	}
	ck_assert_ptr_null(strstr(r.body, VW));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* The default page is 50. */
	j = get_json("/api/leads", REP);
	n = cJSON_GetArraySize(get(j, "data"));
	ck_assert_int_eq(n, total < 50 ? total : 50);
	ck_assert(total <= 50 ? cJSON_IsNull(get(j, "next_cursor")) :
	    cJSON_IsString(get(j, "next_cursor")));
	cJSON_Delete(j);

	/* One seeded lead, field by field. */
	j = get_json("/api/leads/" SEED_TESLA, REP);
	assert_lead(j, TESLA);
	ck_assert_str_eq(str(j, "id"), SEED_TESLA);
	ck_assert_str_eq(str(j, "first_name"), "Ola");
	ck_assert_str_eq(str(j, "last_name"), "Nordmann");
	ck_assert_str_eq(str(j, "email"), "ola.nordmann@example.com");
	ck_assert_str_eq(str(j, "phone"), "+4790000101");
	ck_assert_str_eq(str(j, "source"), "web_form");
	ck_assert_str_eq(str(j, "vehicle_id"),
	    "b1000000-0000-4000-8000-000000000002");
	ck_assert(cJSON_IsNull(get(j, "assigned_to")));
	ck_assert_str_eq(str(get(j, "metadata"), "utm_source"), "google");
	ck_assert(cJSON_IsNull(get(j, "first_response_seconds")));
	ck_assert(cJSON_IsNull(get(j, "first_response_at")));
	cJSON_Delete(j);
	/* An answered one. */
	j = get_json("/api/leads/c1000000-0000-4000-8000-000000000003", MGR);
	assert_lead(j, TESLA);
	ck_assert(cJSON_IsNumber(get(j, "first_response_seconds")));
	ck_assert(get(j, "first_response_seconds")->valuedouble == 47);
	ck_assert(cJSON_IsString(get(j, "first_response_at")));
	ck_assert_str_eq(str(j, "assigned_to"), TESLA_REP);
	cJSON_Delete(j);

	/* VW sees only VW. */
	api("GET", "/api/leads?limit=200", NULL, VWR, &r);
	ck_assert_int_eq(r.status, 200);
	j = parse(&r);
	cJSON_ArrayForEach(it, get(j, "data"))
		assert_lead(it, VW);
	ck_assert_ptr_null(strstr(r.body, TESLA));
	total = count_as(VW, "SELECT count(*) FROM leads", NULL, NULL);
	if (total <= 200)
		ck_assert_int_eq(cJSON_GetArraySize(get(j, "data")), total);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

/*
 * A page larger than one FastCGI record (lib/http frames the response
 * itself: at most 65,528 bytes of content per record): 120 leads with a
 * 1,500-byte message each are ~290 KB, five records, and arrive whole.
 */
START_TEST(large_page_arrives_whole)
{
	struct nv_test_http r;
	const cJSON *it;
	char tag[64], path[160], got[128], *cl, *want;
	const char *ts, *id;
	struct nv_arena *arena;
	PGconn *c;
	cJSON *j;
	int n = 0;

	mktag(tag, sizeof(tag), "bigpage");
	c = db_as(TESLA);
	PQclear(nv_test_exec(c, "INSERT INTO leads (dealership_id, first_name,"
	    " last_name, email, source, message) SELECT"
	    " get_current_dealership_context(), 'Stor', $1, $1 || g ||"
	    " '@example.no', 'web_form', repeat(chr(65 + g % 26), 1500)"
	    " FROM generate_series(1, 120) g", tag, NULL));
	db_done(c);

	snprintf(path, sizeof(path), "/api/leads?limit=200&q=%s", tag);
	api("GET", path, NULL, MGR, &r);
	ck_assert_msg(r.status == 200, "%ld %.300s", r.status, r.body);
	ck_assert_uint_gt(r.len, 3 * 65528);
	cl = nv_test_http_header(&r, "Content-Length");
	ck_assert_ptr_nonnull(cl);
	ck_assert_uint_eq(strtoul(cl, NULL, 10), r.len);
	free(cl);
	j = parse(&r);
	cJSON_ArrayForEach(it, get(j, "data")) {
		assert_lead(it, TESLA);
		ck_assert_str_eq(str(it, "last_name"), tag);
		ck_assert_uint_eq(strlen(str(it, "message")), 1500);
		ck_assert_int_eq(str(it, "message")[0], str(it, "message")[1499]);
		n++;
	}
	ck_assert_int_eq(n, 120);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/*
	 * The cursor after a page of 50 names the 50th lead as PostgreSQL
	 * prints it in UTC (the API takes it from the lead's document).
	 */
	snprintf(path, sizeof(path), "/api/leads?limit=50&q=%s", tag);
	j = get_json(path, MGR);
	ck_assert(cJSON_IsString(get(j, "next_cursor")));
	arena = nv_arena_new();
	ck_assert_int_eq(nv_cursor_decode(arena, str(j, "next_cursor"), &ts,
	    &id), NV_OK);
	want = value_as(TESLA, "SELECT (created_at AT TIME ZONE 'UTC')::text"
	    " || '+00|' || id FROM leads WHERE last_name = $1"
	    " ORDER BY created_at DESC, id DESC OFFSET 49 LIMIT 1", tag);
	ck_assert_ptr_nonnull(want);
	snprintf(got, sizeof(got), "%s|%s", ts, id);
	ck_assert_str_eq(got, want);
	free(want);
	nv_arena_free(arena);
	cJSON_Delete(j);
	owner_exec(TESLA, "DELETE FROM leads WHERE last_name = $1", tag, NULL);
}
END_TEST

START_TEST(list_filters)
{
	char tag[48], q[512], ts[128], ts2[128], extra[256], phone[32];
	char *l[5], *created[5];
	cJSON *j;
	int i;

	mktag(tag, sizeof(tag), "filt");
	snprintf(phone, sizeof(phone), "+4799%06ld", (long)getpid() % 1000000);
	{
		char body[512];

		snprintf(body, sizeof(body), "{\"first_name\": \"Alpha\","
		    " \"last_name\": \"%s\", \"email\": \"%s.0@example.com\","
		    " \"source\": \"phone\"}", tag, tag);
		l[0] = create_lead(MGR, body);
	}
	snprintf(extra, sizeof(extra), "\"email\": null, \"phone\": \"%s\","
	    " \"status\": \"contacted\", \"source\": \"sms\","
	    " \"assigned_to\": \"" TESLA_REP "\"", phone);
	{
		char body[512];

		snprintf(body, sizeof(body), "{\"first_name\": \"Bravo\","
		    " \"last_name\": \"%s\", %s}", tag, extra);
		l[1] = create_lead(MGR, body);
	}
	l[2] = create_tagged(MGR, tag, 2, "\"status\": \"won\", \"source\":"
	    " \"walk_in\", \"assigned_to\": \"" TESLA_MGR "\"");
	l[3] = create_tagged(REP, tag, 3, "\"status\": \"won\", \"source\":"
	    " \"phone\", \"assigned_to\": \"" TESLA_REP "\"");
	l[4] = create_tagged(MGR, tag, 4, "\"status\": \"lost\"");
	for (i = 0; i < 5; i++) {
		snprintf(q, sizeof(q), "/api/leads/%s", l[i]);
		j = get_json(q, MGR);
		created[i] = strdup(str(j, "created_at"));
		cJSON_Delete(j);
	}

	/* Newest first by default; sort both ways. */
	snprintf(q, sizeof(q), "q=%s", tag);
	assert_list(MGR, q, (const char *const[]){ l[4], l[3], l[2], l[1],
	    l[0], NULL });
	snprintf(q, sizeof(q), "q=%s&sort=-created_at", tag);
	assert_list(MGR, q, (const char *const[]){ l[4], l[3], l[2], l[1],
	    l[0], NULL });
	snprintf(q, sizeof(q), "sort=created_at&q=%s", tag);
	assert_list(MGR, q, (const char *const[]){ l[0], l[1], l[2], l[3],
	    l[4], NULL });

	/* status, source, assigned_to. */
	snprintf(q, sizeof(q), "q=%s&status=won", tag);
	assert_list(MGR, q, (const char *const[]){ l[3], l[2], NULL });
	snprintf(q, sizeof(q), "q=%s&status=new", tag);
	assert_list(MGR, q, (const char *const[]){ l[0], NULL });
	snprintf(q, sizeof(q), "q=%s&source=phone", tag);
	assert_list(MGR, q, (const char *const[]){ l[3], l[0], NULL });
	snprintf(q, sizeof(q), "q=%s&source=manual", tag);
	assert_list(MGR, q, (const char *const[]){ l[4], NULL });
	snprintf(q, sizeof(q), "q=%s&assigned_to=none", tag);
	assert_list(MGR, q, (const char *const[]){ l[4], l[0], NULL });
	snprintf(q, sizeof(q), "q=%s&assigned_to=" TESLA_MGR, tag);
	assert_list(MGR, q, (const char *const[]){ l[2], NULL });
	snprintf(q, sizeof(q), "q=%s&assigned_to=me", tag);
	assert_list(MGR, q, (const char *const[]){ l[2], NULL });
	assert_list(REP, q, (const char *const[]){ l[3], l[1], NULL });
	snprintf(q, sizeof(q), "assigned_to=me&status=won&q=%s", tag);
	assert_list(REP, q, (const char *const[]){ l[3], NULL });
	snprintf(q, sizeof(q), "q=%s&assigned_to=" VW_REP, tag);
	assert_list(MGR, q, (const char *const[]){ NULL });
	snprintf(q, sizeof(q), "q=%s&status=qualified", tag);
	assert_list(MGR, q, (const char *const[]){ NULL });

	/* q: e-mail (any case), phone, first name, full name. */
	snprintf(q, sizeof(q), "q=%s.2@example", tag);
	assert_list(MGR, q, (const char *const[]){ l[2], NULL });
	for (i = 0; tag[i] != '\0'; i++)
		ts[i] = (char)(tag[i] >= 'a' && tag[i] <= 'z' ? tag[i] - 32 :
		    tag[i]);
	ts[i] = '\0';
	snprintf(q, sizeof(q), "q=%s.2%%40EXAMPLE.COM", ts);
	assert_list(MGR, q, (const char *const[]){ l[2], NULL });
	snprintf(q, sizeof(q), "q=%s", phone + 3);
	assert_list(MGR, q, (const char *const[]){ l[1], NULL });
	snprintf(q, sizeof(q), "q=%%2B47%s", phone + 3);
	assert_list(MGR, q, (const char *const[]){ l[1], NULL });
	/* As people write it: "+47 998 76 543", "998-76-543". */
	snprintf(q, sizeof(q), "q=%%2B47%%20%.3s%%20%.2s%%20%.3s", phone + 3,
	    phone + 6, phone + 8);
	assert_list(MGR, q, (const char *const[]){ l[1], NULL });
	snprintf(q, sizeof(q), "q=%.3s-%.2s-%.3s", phone + 3, phone + 6,
	    phone + 8);
	assert_list(MGR, q, (const char *const[]){ l[1], NULL });
	snprintf(q, sizeof(q), "q=Bravo%%20%s", tag);
	assert_list(MGR, q, (const char *const[]){ l[1], NULL });
	snprintf(q, sizeof(q), "q=alpha+%s", tag);
	assert_list(MGR, q, (const char *const[]){ l[0], NULL });
	/* LIKE's wildcards are literal. */
	snprintf(q, sizeof(q), "q=%s%%25", tag);
	assert_list(MGR, q, (const char *const[]){ NULL });
	snprintf(q, sizeof(q), "q=%.*s_%s", (int)strlen(tag) - 1, tag,
	    tag + strlen(tag));
	assert_list(MGR, q, (const char *const[]){ NULL });

	/* created_after is inclusive, created_before exclusive. */
	qtime(ts, sizeof(ts), created[2]);
	snprintf(q, sizeof(q), "q=%s&created_after=%s", tag, ts);
	assert_list(MGR, q, (const char *const[]){ l[4], l[3], l[2], NULL });
	snprintf(q, sizeof(q), "q=%s&created_before=%s", tag, ts);
	assert_list(MGR, q, (const char *const[]){ l[1], l[0], NULL });
	qtime(ts2, sizeof(ts2), created[1]);
	qtime(ts, sizeof(ts), created[3]);
	snprintf(q, sizeof(q), "q=%s&created_after=%s&created_before=%s", tag,
	    ts2, ts);
	assert_list(MGR, q, (const char *const[]){ l[2], l[1], NULL });
	snprintf(q, sizeof(q), "q=%s&created_after=2026-10-01T00:00:00Z"
	    "&created_before=2026-11-01T00:00:00Z", tag);
	assert_list(MGR, q, (const char *const[]){ NULL });

	/* Another dealership finds none of them. */
	snprintf(q, sizeof(q), "q=%s", tag);
	assert_list(VWA, q, (const char *const[]){ NULL });

	/* Without q: the same answer as SQL. */
	{
		cJSON *want, *got;

		want = ids_as(TESLA, "SELECT id FROM leads WHERE status = $1"
		    " ORDER BY created_at DESC, id DESC LIMIT 200", "won");
		j = get_json("/api/leads?status=won&limit=200", MGR);
		got = page_ids(j);
		assert_same_ids(got, want, "status=won");
		cJSON_Delete(got);
		cJSON_Delete(want);
		cJSON_Delete(j);

		want = ids_as(TESLA, "SELECT id FROM leads WHERE source = $1"
		    " ORDER BY created_at DESC, id DESC LIMIT 200", "sms");
		j = get_json("/api/leads?source=sms&limit=200", REP);
		got = page_ids(j);
		assert_same_ids(got, want, "source=sms");
		cJSON_Delete(got);
		cJSON_Delete(want);
		cJSON_Delete(j);

		want = ids_as(TESLA, "SELECT id FROM leads WHERE assigned_to IS"
		    " NULL AND $1::text IS NOT NULL ORDER BY created_at, id"
		    " LIMIT 200", "x");
		j = get_json("/api/leads?assigned_to=none&sort=created_at"
		    "&limit=200", MGR);
		got = page_ids(j);
		assert_same_ids(got, want, "assigned_to=none");
		cJSON_Delete(got);
		cJSON_Delete(want);
		cJSON_Delete(j);
	}
	for (i = 0; i < 5; i++) {
		free(l[i]);
		free(created[i]);
	}
}
END_TEST

START_TEST(list_bad_parameters)
{
	static const char *const bad[][2] = {
		{ "limit=0", "limit" },
		{ "limit=201", "limit" },
		{ "limit=abc", "limit" },
		{ "limit=-1", "limit" },
		{ "limit=", "limit" },
		{ "limit=1.5", "limit" },
		{ "limit=99999999999999999999", "limit" },
		{ "status=bogus", "status" },
		{ "status=", "status" },
		{ "status=NEW", "status" },
		{ "source=carrier_pigeon", "source" },
		{ "assigned_to=someone", "assigned_to" },
		{ "assigned_to=", "assigned_to" },
		{ "sort=name", "sort" },
		{ "sort=created_at,id", "sort" },
		{ "created_after=yesterday", "created_after" },
		{ "created_after=2026-11-01", "created_after" },
		{ "created_before=2026-13-01T00:00:00Z", "created_before" },
		{ "created_before=2026-04-31T00:00:00Z", "created_before" },
		{ "foo=bar", "foo" },
		{ "status=new&bogus", "bogus" },
		{ "dealership_id=" VW, "dealership_id" },
		{ "status=new&status=won", "status" },
		{ "limit=3&limit=3", "limit" },
		{ "q=%zz", "q" },
		{ "cursor=", "cursor" },
		{ "cursor=abc", "cursor" },
		{ "cursor=!!!!", "cursor" },
		{ "cursor=" NO_SUCH, "cursor" },
		{ NULL, NULL }
	};
	char q[1024], *c;
	size_t i;

	for (i = 0; bad[i][0] != NULL; i++) {
		snprintf(q, sizeof(q), "/api/leads?%s", bad[i][0]);
		expect("GET", q, NULL, MGR, 400, "bad_request", bad[i][1]);
	}

	/* q of 101 bytes. */
	memset(q, 0, sizeof(q));
	snprintf(q, sizeof(q), "/api/leads?q=");
	memset(q + strlen(q), 'a', 101);
	expect("GET", q, NULL, MGR, 400, "bad_request", "q");

	/* Cursors this API never returned, however well-encoded. */
	{
		static const char *const raw[] = {
			"no bar at all",
			"2026-11-01 00:00:00+00|not-a-uuid",
			"garbage|" NO_SUCH,
			NULL
		};

		for (i = 0; raw[i] != NULL; i++) {
			c = b64url_str(raw[i]);
			snprintf(q, sizeof(q), "/api/leads?limit=3&cursor=%s", c);
			expect("GET", q, NULL, MGR, 400, "bad_request",
			    "cursor");
			free(c);
		}
		/* Longer than any cursor. */
		memset(q, 0, sizeof(q));
		snprintf(q, sizeof(q), "/api/leads?cursor=");
		memset(q + strlen(q), 'A', 200);
		expect("GET", q, NULL, MGR, 400, "bad_request", "cursor");
	}

	/* The edges that are fine. */
	expect("GET", "/api/leads?limit=1", NULL, MGR, 200, NULL, NULL);
	expect("GET", "/api/leads?limit=200", NULL, MGR, 200, NULL, NULL);
	expect("GET", "/api/leads?q=", NULL, MGR, 200, NULL, NULL);
	expect("GET", "/api/leads?created_after=2026-10-01T00:00:00.5%2B02:00",
	    NULL, MGR, 200, NULL, NULL);
	expect("GET", "/api/leads?created_before=2024-02-29T00:00:00Z", NULL,
	    MGR, 200, NULL, NULL);
	/* Parameters are checked before the token's role matters. */
	expect("GET", "/api/leads?foo=bar", NULL, REP, 400, "bad_request",
	    "foo");
	/* But not before the token: 401 first. */
	expect("GET", "/api/leads?foo=bar", NULL, NULL, 401, "unauthorized",
	    NULL);
}
END_TEST

/*
 * Values that pass the API's own syntax checks but that PostgreSQL refuses
 * to cast are still bad query values: 400 naming the parameter, not a 422
 * without a field (or a 500) from the database.  Every case is tried and
 * the failures are reported together.
 */
START_TEST(list_bad_values_the_database_would_refuse)
{
	static const char *const bad[][2] = {
		/* 2026 is no leap year. */
		{ "created_after=2026-02-29T00:00:00Z", "created_after" },
		{ "created_before=2026-02-29T12:00:00%2B01:00",
		    "created_before" },
		{ NULL, NULL }
	};
	/* RFC 3339 allows offsets to 23:59: fine, or a 400 naming it. */
	static const char *const offsets[][2] = {
		{ "created_after=2026-11-01T00:00:00%2B16:00", "created_after" },
		{ "created_before=2026-11-01T00:00:00-23:59", "created_before" },
		{ NULL, NULL }
	};
	static const char *const raw[] = {
		/* The characters of a time, not a time. */
		"2026-13-45 99:99:99+00|" NO_SUCH,
		"9999-99-99 00:00:00|" NO_SUCH,
		"2026-11-01 00:00:00+99|" NO_SUCH,
		NULL
	};
	struct nv_test_http r;
	char q[512], fails[4096] = "", *c;
	size_t i;

#define NOTE(...) do {							\
	size_t o_ = strlen(fails);					\
	snprintf(fails + o_, sizeof(fails) - o_, __VA_ARGS__);		\
} while (0)
	for (i = 0; bad[i][0] != NULL; i++) {
		snprintf(q, sizeof(q), "/api/leads?%s", bad[i][0]);
		api("GET", q, NULL, MGR, &r);
		if (r.status != 400 || strstr(r.body, bad[i][1]) == NULL)
			NOTE("\n  %s: %ld %s", q, r.status, r.body);
		nv_test_http_free(&r);
	}
	for (i = 0; offsets[i][0] != NULL; i++) {
		snprintf(q, sizeof(q), "/api/leads?%s", offsets[i][0]);
		api("GET", q, NULL, MGR, &r);
		if (r.status != 200 && (r.status != 400 ||
		    strstr(r.body, offsets[i][1]) == NULL))
			NOTE("\n  %s: %ld %s", q, r.status, r.body);
		nv_test_http_free(&r);
	}
	for (i = 0; raw[i] != NULL; i++) {
		c = b64url_str(raw[i]);
		snprintf(q, sizeof(q), "/api/leads?limit=3&cursor=%s", c);
		api("GET", q, NULL, MGR, &r);
		if (r.status != 400 || strstr(r.body, "\"cursor\"") == NULL)
			NOTE("\n  cursor of \"%s\": %ld %s", raw[i], r.status,
			    r.body);
		nv_test_http_free(&r);
		free(c);
	}
#undef NOTE
	ck_assert_msg(fails[0] == '\0', "want 400 naming the parameter:%s",
	    fails);
}
END_TEST

START_TEST(keyset_walk)
{
	char tag[48], q[256];
	cJSON *got, *want;
	PGconn *c;
	int i;

	/* Five leads with one created_at: the id breaks the tie. */
	mktag(tag, sizeof(tag), "walk");
	c = db_as(TESLA);
	for (i = 0; i < 5; i++) {
		char email[128], n[16];

		snprintf(email, sizeof(email), "%s.%d@example.com", tag, i);
		snprintf(n, sizeof(n), "%d", i);
		PQclear(nv_test_exec(c, "INSERT INTO leads (dealership_id,"
		    " first_name, last_name, email, source) VALUES"
		    " ($1::uuid, $2, $3, $4, 'manual')", TESLA, n, tag, email,
		    NULL));
	}
	db_done(c);

	want = ids_as(TESLA, "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at DESC, id DESC", "x");
	got = walk(MGR, "", 3, 0);
	assert_same_ids(got, want, "limit=3, newest first");
	cJSON_Delete(got);
	got = walk(MGR, "sort=-created_at", 1, 0);
	assert_same_ids(got, want, "limit=1, newest first");
	cJSON_Delete(got);
	cJSON_Delete(want);

	want = ids_as(TESLA, "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at, id", "x");
	got = walk(REP, "sort=created_at", 3, 0);
	assert_same_ids(got, want, "limit=3, oldest first");
	cJSON_Delete(got);
	cJSON_Delete(want);

	/* Within the tie, across page boundaries. */
	want = ids_as(TESLA, "SELECT id FROM leads WHERE last_name = $1"
	    " ORDER BY created_at DESC, id DESC", tag);
	ck_assert_int_eq(cJSON_GetArraySize(want), 5);
	snprintf(q, sizeof(q), "q=%s", tag);
	got = walk(MGR, q, 2, 0);
	assert_same_ids(got, want, "the tie, limit=2");
	cJSON_Delete(got);
	cJSON_Delete(want);

	/* With a filter. */
	want = ids_as(TESLA, "SELECT id FROM leads WHERE status = $1"
	    " ORDER BY created_at DESC, id DESC", "new");
	got = walk(MGR, "status=new", 3, 0);
	assert_same_ids(got, want, "status=new, limit=3");
	cJSON_Delete(got);
	cJSON_Delete(want);

	/*
	 * Every one-filter shape (each its own statement) in both orders:
	 * the walk returns exactly what SQL says, once each, in order.
	 */
	{
		static const char *const shapes[][3] = {
			{ "source=web_form", "source = 'web_form'", NULL },
			{ "assigned_to=none", "assigned_to IS NULL", NULL },
			{ "assigned_to=me", "assigned_to = '" TESLA_MGR "'",
			    NULL },
			{ "assigned_to=" TESLA_REP, "assigned_to = '"
			    TESLA_REP "'", NULL },
			{ "status=contacted", "status = 'contacted'", NULL },
		};
		char sq[160], sql[256];
		size_t k;
		int asc;

		for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
			for (asc = 0; asc < 2; asc++) {
				snprintf(sql, sizeof(sql), "SELECT id FROM leads"
				    " WHERE %s AND $1::text IS NOT NULL ORDER BY"
				    " created_at %s, id %s", shapes[k][1],
				    asc ? "ASC" : "DESC", asc ? "ASC" : "DESC");
				snprintf(sq, sizeof(sq), "%s&sort=%s", shapes[k][0],
				    asc ? "created_at" : "-created_at");
				want = ids_as(TESLA, sql, "x");
				got = walk(MGR, sq, 2, 0);
				assert_same_ids(got, want, sq);
				cJSON_Delete(got);
				cJSON_Delete(want);
			}
	}

	/* The other dealership's walk is its own. */
	want = ids_as(VW, "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at DESC, id DESC", "x");
	got = walk(VWR, "", 3, 0);
	assert_same_ids(got, want, "VW, limit=3");
	cJSON_Delete(got);
	cJSON_Delete(want);

	/* A cursor from one dealership is harmless in another. */
	{
		cJSON *j = get_json("/api/leads?limit=1", MGR), *k;
		const cJSON *it;
		char path[512];

		snprintf(path, sizeof(path), "/api/leads?limit=200&cursor=%s",
		    str(j, "next_cursor"));
		k = get_json(path, VWA);
		cJSON_ArrayForEach(it, get(k, "data"))
			assert_lead(it, VW);
		cJSON_Delete(k);
		cJSON_Delete(j);
	}
}
END_TEST

struct inserter {
	char		 tag[48];
	int		 n;
	atomic_int	 done;		/* leads created so far */
	char		*ids[64];
};

static void *
inserter_run(void *arg)
{
	struct inserter *in = arg;
	int i;

	for (i = 0; i < in->n; i++) {
		in->ids[i] = create_tagged(MGR, in->tag, i, NULL);
		atomic_fetch_add(&in->done, 1);
		usleep(2000);
	}
	return NULL;
}

/* Walk while another thread creates leads; each old lead exactly once. */
static void
walk_during_inserts(const char *sort, const char *word)
{
	struct inserter in;
	cJSON *before, *got, *old;
	const cJSON *it;
	pthread_t t;
	char what[128];
	int i, during;

	memset(&in, 0, sizeof(in));
	atomic_init(&in.done, 0);
	mktag(in.tag, sizeof(in.tag), word);
	in.n = 20;
	before = ids_as(TESLA, strcmp(sort, "created_at") == 0 ?
	    "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at, id" :
	    "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at DESC, id DESC", "x");
	ck_assert_int_eq(pthread_create(&t, NULL, inserter_run, &in), 0);
	snprintf(what, sizeof(what), "sort=%s", sort);
	got = walk_gated(MGR, what, 3, 4000, &in.done);
	during = atomic_load(&in.done);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(atomic_load(&in.done), in.n);
	/* The walk really overlapped the inserts. */
	ck_assert_msg(during > 0, "no lead was created during the walk");

	snprintf(what, sizeof(what), "walk sorted by %s during inserts", sort);
	assert_no_duplicates(got, what);
	/* The old leads, in the order SQL gave before the walk. */
	old = cJSON_CreateArray();
	cJSON_ArrayForEach(it, got)
		if (ids_has(before, it->valuestring))
			cJSON_AddItemToArray(old,
			    cJSON_CreateString(it->valuestring));
	assert_same_ids(old, before, what);
	/* Anything else it returned is one of the new leads. */
	cJSON_ArrayForEach(it, got) {
		int known = ids_has(before, it->valuestring);

		for (i = 0; !known && i < in.n; i++)
			known = strcmp(in.ids[i], it->valuestring) == 0;
		ck_assert_msg(known, "%s: %s is neither old nor new", what,
		    it->valuestring);
	}
	for (i = 0; i < in.n; i++)
		free(in.ids[i]);
	cJSON_Delete(old);
	cJSON_Delete(got);
	cJSON_Delete(before);
}

START_TEST(keyset_walk_during_inserts)
{
	/* One request first, so libcurl's global init is not raced. */
	expect("GET", "/api/leads?limit=1", NULL, MGR, 200, NULL, NULL);
	walk_during_inserts("-created_at", "newest");
	walk_during_inserts("created_at", "oldest");
}
END_TEST

/* ------------------------------------------------------------- create */

START_TEST(create_lead_201)
{
	struct nv_test_http r;
	char tag[48], body[1024], email[128], *loc, *id, path[256];
	cJSON *j, *k;

	mktag(tag, sizeof(tag), "create");
	snprintf(body, sizeof(body), "{\"first_name\": \"  Kari \","
	    " \"last_name\": \"%s\", \"email\": \" Kari.%s@Example.COM \","
	    " \"phone\": \"900 12 345\", \"vehicle_interest\": \"Model Y\","
	    " \"message\": \"Hei, når kan jeg prøvekjøre?\","
	    " \"vehicle_id\": \"b1000000-0000-4000-8000-000000000002\","
	    " \"consent\": {\"marketing\": true},"
	    " \"metadata\": {\"utm_source\": \"test\"}}", tag, tag);
	api("POST", "/api/leads", body, MGR, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	assert_rid(&r);
	j = parse(&r);
	assert_lead(j, TESLA);
	id = strdup(str(j, "id"));
	snprintf(email, sizeof(email), "kari.%s@example.com", tag);
	ck_assert_str_eq(str(j, "first_name"), "Kari");
	ck_assert_str_eq(str(j, "last_name"), tag);
	ck_assert_str_eq(str(j, "email"), email);
	ck_assert_str_eq(str(j, "phone"), "+4790012345");
	ck_assert_str_eq(str(j, "source"), "manual");
	ck_assert_str_eq(str(j, "status"), "new");
	ck_assert_str_eq(str(j, "vehicle_interest"), "Model Y");
	ck_assert_str_eq(str(j, "message"), "Hei, når kan jeg prøvekjøre?");
	ck_assert_str_eq(str(j, "vehicle_id"),
	    "b1000000-0000-4000-8000-000000000002");
	ck_assert(cJSON_IsNull(get(j, "assigned_to")));
	ck_assert(cJSON_IsNull(get(j, "notes")));
	ck_assert(cJSON_IsNull(get(j, "first_response_at")));
	ck_assert(cJSON_IsTrue(get(get(j, "consent"), "marketing")));
	ck_assert_str_eq(str(get(j, "metadata"), "utm_source"), "test");

	/* Location names the new lead, and GET there answers it. */
	loc = nv_test_http_header(&r, "Location");
	ck_assert_msg(loc != NULL, "no Location header");
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	ck_assert_msg(strlen(loc) >= strlen(path) &&
	    strcmp(loc + strlen(loc) - strlen(path), path) == 0,
	    "Location %s, want ...%s", loc, path);
	nv_test_http_free(&r);
	k = get_json(path, REP);
	ck_assert_str_eq(str(k, "id"), id);
	ck_assert_str_eq(str(k, "email"), email);
	ck_assert_str_eq(str(k, "created_at"), str(j, "created_at"));
	cJSON_Delete(k);
	cJSON_Delete(j);
	free(loc);

	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND email = $2", id, email), 1);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", id, NULL), 0);
	free(id);

	/* Phone only, every writable field, by a sales rep. */
	snprintf(body, sizeof(body), "{\"phone\": \"+46 70 123 45 67\","
	    " \"last_name\": \"%s\", \"source\": \"walk_in\", \"status\":"
	    " \"qualified\", \"assigned_to\": \"" TESLA_REP "\", \"notes\":"
	    " \"Kom innom\"}", tag);
	api("POST", "/api/leads", body, REP, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_lead(j, TESLA);
	ck_assert(cJSON_IsNull(get(j, "email")));
	ck_assert_str_eq(str(j, "phone"), "+46701234567");
	ck_assert_str_eq(str(j, "source"), "walk_in");
	ck_assert_str_eq(str(j, "status"), "qualified");
	ck_assert_str_eq(str(j, "assigned_to"), TESLA_REP);
	ck_assert_str_eq(str(j, "notes"), "Kom innom");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* A charset parameter is fine. */
	snprintf(body, sizeof(body), "{\"email\": \"ct.%s@example.com\","
	    " \"last_name\": \"%s\"}", tag, tag);
	call("POST", "/api/leads", body, VWA, "application/json; charset=utf-8",
	    &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_lead(j, VW);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

/*
 * SPEC 7: a new lead queues a reply job in the same transaction, through
 * the API as through the webhooks (nv_intake_submit, migration 012): the
 * same row, so the worker answers, assigns and times it alike.  A lead
 * entered with another status (an imported deal) gets no auto-reply, and
 * a refused POST leaves no job behind.
 */
START_TEST(create_queues_reply_job)
{
	static const char *const quiet[] = {
		"contacted", "qualified", "won", "lost"
	};
	struct nv_test_http r;
	char tag[48], body[1024], extra[64], *id, *form_id;
	long before;
	cJSON *j;
	size_t i;

	mktag(tag, sizeof(tag), "autoreply");

	/* Status omitted: the lead is new and has exactly one reply job. */
	id = create_tagged(MGR, tag, 1, "\"vehicle_interest\": \"Model Y\"");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", id, NULL), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND dealership_id = $2::uuid"
	    " AND kind = 'reply' AND payload = '{}'::jsonb"
	    " AND status = 'queued' AND attempts = 0 AND locked_by IS NULL"
	    " AND run_at <= now()", id, TESLA), 1);

	/* The very job a webhook lead is given (a form post, intake). */
	snprintf(body, sizeof(body), "{\"first_name\": \"Form\", \"last_name\":"
	    " \"%s\", \"email\": \"%s.form@example.com\"}", tag, tag);
	nv_test_webhook_post("form", TESLA, body, strlen(body),
	    "application/json", NULL, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = parse(&r);
	form_id = strdup(str(j, "lead_id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs a, jobs b"
	    " WHERE a.lead_id = $1::uuid AND b.lead_id = $2::uuid"
	    " AND (a.dealership_id, a.kind, a.payload, a.status, a.attempts,"
	    "  a.max_attempts, a.run_at = a.created_at)"
	    " IS NOT DISTINCT FROM (b.dealership_id, b.kind, b.payload,"
	    "  b.status, b.attempts, b.max_attempts, b.run_at = b.created_at)",
	    id, form_id), 1);
	free(form_id);
	free(id);

	/* "new" given: the same. */
	id = create_tagged(MGR, tag, 2, "\"status\": \"new\"");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply'", id, NULL), 1);
	free(id);

	/* In the caller's own dealership. */
	id = create_tagged(VWA, tag, 3, NULL);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply' AND dealership_id ="
	    " $2::uuid", id, VW), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", id, NULL), 0);
	free(id);

	/* Any other status: no auto-reply. */
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		snprintf(extra, sizeof(extra), "\"status\": \"%s\"", quiet[i]);
		id = create_tagged(MGR, tag, 10 + (int)i, extra);
		ck_assert_msg(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
		    " lead_id = $1::uuid", id, NULL) == 0,
		    "a %s lead got a job", quiet[i]);
		ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads"
		    " WHERE id = $1::uuid AND status = $2", id, quiet[i]), 1);
		free(id);
	}

	/*
	 * Refused POSTs leave no job: checked before the database (a bad
	 * e-mail), and refused by it (another dealership's user or vehicle:
	 * the lead INSERT fails, and the job with it).
	 */
	before = count_as(TESLA, "SELECT count(*) FROM jobs", NULL, NULL);
	snprintf(body, sizeof(body), "{\"email\": \"not-an-email\","
	    " \"last_name\": \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "email");
	snprintf(body, sizeof(body), "{\"email\": \"%s.fk1@example.com\","
	    " \"last_name\": \"%s\", \"assigned_to\": \"" VW_REP "\"}", tag,
	    tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "assigned_to");
	snprintf(body, sizeof(body), "{\"email\": \"%s.fk2@example.com\","
	    " \"last_name\": \"%s\", \"vehicle_id\":"
	    " \"b2000000-0000-4000-8000-000000000001\"}", tag, tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "vehicle_id");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs", NULL,
	    NULL), before);
	snprintf(body, sizeof(body), "%s.fk%%", tag);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " email_norm LIKE $1", body, NULL), 0);
}
END_TEST

START_TEST(create_validation)
{
	struct nv_test_http r;
	char tag[48], body[1024], ok[160];
	size_t n;
	char *big;

	mktag(tag, sizeof(tag), "invalid");
	snprintf(ok, sizeof(ok), "\"email\": \"%s@example.com\","
	    " \"last_name\": \"%s\"", tag, tag);

#define BAD(json, field) do {						\
	snprintf(body, sizeof(body), json, ok);				\
	expect("POST", "/api/leads", body, MGR, 422,			\
	    "validation_failed", field);				\
} while (0)
	snprintf(body, sizeof(body), "{\"email\": \"not-an-email\","
	    " \"last_name\": \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "email");
	snprintf(body, sizeof(body), "{\"email\": \"a@b\", \"last_name\":"
	    " \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "email");
	snprintf(body, sizeof(body), "{\"phone\": \"12ab34\", \"last_name\":"
	    " \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "phone");
	BAD("{%s, \"phone\": \"123\"}", "phone");
	BAD("{%s, \"phone\": \"+0123456789\"}", "phone");
	BAD("{%s, \"favourite_colour\": \"blue\"}", "favourite_colour");
	BAD("{%s, \"dealership_id\": \"" VW "\"}", "dealership_id");
	BAD("{%s, \"dealership_id\": \"" TESLA "\"}", "dealership_id");
	BAD("{%s, \"id\": \"" NO_SUCH "\"}", "id");
	BAD("{%s, \"ai_paused\": true}", "ai_paused");
	BAD("{%s, \"created_at\": \"2020-01-01T00:00:00Z\"}", "created_at");
	BAD("{%s, \"first_response_seconds\": 1}", "first_response_seconds");
	BAD("{%s, \"status\": \"closed\"}", "status");
	BAD("{%s, \"source\": \"carrier_pigeon\"}", "source");
	BAD("{%s, \"assigned_to\": \"" VW_REP "\"}", "assigned_to");
	BAD("{%s, \"assigned_to\": \"me\"}", "assigned_to");
	BAD("{%s, \"vehicle_id\": \"b2000000-0000-4000-8000-000000000001\"}",
	    "vehicle_id");
	BAD("{%s, \"consent\": \"yes\"}", "consent");
	BAD("{%s, \"first_name\": 42}", "first_name");
	BAD("{%s, \"first_name\": \"a\\u0007b\"}", "first_name");
	BAD("{%s, \"email\": \"twice@example.com\"}", "email");
#undef BAD

	/* Neither e-mail nor phone. */
	snprintf(body, sizeof(body), "{\"first_name\": \"Nobody\","
	    " \"last_name\": \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "email");
	snprintf(body, sizeof(body), "{\"email\": null, \"phone\": null,"
	    " \"last_name\": \"%s\"}", tag);
	expect("POST", "/api/leads", body, MGR, 422, "validation_failed",
	    "email");
	snprintf(body, sizeof(body), "{\"email\": \"  \", \"last_name\":"
	    " \"%s\"}", tag);
	api("POST", "/api/leads", body, MGR, &r);
	ck_assert_int_eq(r.status, 422);
	nv_test_http_free(&r);
	expect("POST", "/api/leads", "{}", MGR, 422, "validation_failed",
	    "email");

	/* Every bad field is named at once. */
	snprintf(body, sizeof(body), "{\"email\": \"bad\", \"phone\": \"bad\","
	    " \"status\": \"closed\", \"dealership_id\": \"" VW "\", \"zzz\": 1,"
	    " \"last_name\": \"%s\"}", tag);
	api("POST", "/api/leads", body, MGR, &r);
	ck_assert_int_eq(r.status, 422);
	assert_error_field(r.body, "validation_failed", "email");
	assert_error_field(r.body, "validation_failed", "phone");
	assert_error_field(r.body, "validation_failed", "status");
	assert_error_field(r.body, "validation_failed", "dealership_id");
	assert_error_field(r.body, "validation_failed", "zzz");
	nv_test_http_free(&r);

	/* Not JSON, not an object. */
	expect("POST", "/api/leads", "{\"email\": ", MGR, 400, "bad_request",
	    NULL);
	expect("POST", "/api/leads", "{\"email\": \"x@example.com\"} {}", MGR,
	    400, "bad_request", NULL);
	expect("POST", "/api/leads", "[]", MGR, 400, "bad_request", NULL);
	expect("POST", "/api/leads", "null", MGR, 400, "bad_request", NULL);
	expect("POST", "/api/leads", "\"lead\"", MGR, 400, "bad_request",
	    NULL);
	expect("POST", "/api/leads", "{'email': 'x@example.com'}", MGR, 400,
	    "bad_request", NULL);
	api("POST", "/api/leads", "", MGR, &r);
	assert_err(&r, "empty body", 400, "bad_request", NULL);
	nv_test_http_free(&r);

	/* Not JSON at all: 415. */
	snprintf(body, sizeof(body), "{%s}", ok);
	call("POST", "/api/leads", body, MGR, "text/plain", &r);
	assert_err(&r, "text/plain", 415, "unsupported_media_type", NULL);
	nv_test_http_free(&r);
	call("POST", "/api/leads", body, MGR, NULL, &r);
	assert_err(&r, "curl's form type", 415, "unsupported_media_type", NULL);
	nv_test_http_free(&r);
	call("POST", "/api/leads", body, MGR, "application/jsonx", &r);
	assert_err(&r, "application/jsonx", 415, "unsupported_media_type",
	    NULL);
	nv_test_http_free(&r);

	/* Over 1 MiB: 413 in the JSON shape, whoever answers. */
	n = 1024 * 1024 + 100;
	big = malloc(n + 1);
	snprintf(big, n + 1, "{%s, \"notes\": \"", ok);
	memset(big + strlen(big), 'a', n - strlen(big) - 2);
	big[n - 2] = '"';
	big[n - 1] = '}';
	big[n] = '\0';
	call_n("POST", "/api/leads", big, n, MGR, "application/json", &r);
	assert_err(&r, "1 MiB + 100", 413, "payload_too_large", NULL);
	nv_test_http_free(&r);
	/* Just under it: the binary reads it whole and names the field. */
	n = 1024 * 1024 - 100;
	snprintf(big, n + 1, "{%s, \"notes\": \"", ok);
	memset(big + strlen(big), 'a', n - strlen(big) - 2);
	big[n - 2] = '"';
	big[n - 1] = '}';
	big[n] = '\0';
	call_n("POST", "/api/leads", big, n, MGR, "application/json", &r);
	assert_err(&r, "1 MiB - 100", 422, "validation_failed", "notes");
	nv_test_http_free(&r);
	free(big);

	/* None of it made a lead. */
	snprintf(body, sizeof(body), "%%%s%%", tag);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " last_name = $1 OR email_norm LIKE $2", tag, body), 0);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
	    " last_name = $1", tag, NULL), 0);
}
END_TEST

START_TEST(wrong_method_405)
{
	struct nv_test_http r;
	char *allow;

	api("PUT", "/api/leads", "{}", MGR, &r);
	assert_err(&r, "PUT /api/leads", 405, "method_not_allowed", NULL);
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_msg(allow != NULL, "405 without Allow");
	ck_assert_msg(strstr(allow, "GET") != NULL &&
	    strstr(allow, "POST") != NULL && strstr(allow, "PUT") == NULL,
	    "Allow: %s", allow);
	free(allow);
	nv_test_http_free(&r);

	api("PUT", "/api/leads/" SEED_TESLA, "{}", MGR, &r);
	assert_err(&r, "PUT /api/leads/{id}", 405, "method_not_allowed", NULL);
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_msg(allow != NULL && strstr(allow, "GET") != NULL &&
	    strstr(allow, "PATCH") != NULL && strstr(allow, "DELETE") != NULL,
	    "Allow: %s", allow != NULL ? allow : "(none)");
	free(allow);
	nv_test_http_free(&r);

	api("DELETE", "/api/leads", NULL, MGR, &r);
	assert_err(&r, "DELETE /api/leads", 405, "method_not_allowed", NULL);
	nv_test_http_free(&r);

	api("POST", "/api/leads/" SEED_TESLA "/export", "{}", MGR, &r);
	assert_err(&r, "POST export", 405, "method_not_allowed", NULL);
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_msg(allow != NULL && strcmp(allow, "GET") == 0, "Allow: %s",
	    allow != NULL ? allow : "(none)");
	free(allow);
	nv_test_http_free(&r);

	api("DELETE", "/api/leads/" SEED_TESLA "/messages", NULL, MGR, &r);
	assert_err(&r, "DELETE messages", 405, "method_not_allowed", NULL);
	nv_test_http_free(&r);
}
END_TEST

/* -------------------------------------------------------------- patch */

START_TEST(patch_lead)
{
	struct nv_test_http r;
	char tag[48], path[256], body[512], *id, *v;
	cJSON *j;

	mktag(tag, sizeof(tag), "patch");
	id = create_tagged(MGR, tag, 1, "\"phone\": \"+4791234567\"");
	snprintf(path, sizeof(path), "/api/leads/%s", id);

	api("PATCH", path, "{\"status\": \"contacted\", \"assigned_to\": \""
	    TESLA_REP "\", \"notes\": \"Ringte, vil prøvekjøre\"}", MGR, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_lead(j, TESLA);
	ck_assert_str_eq(str(j, "id"), id);
	ck_assert_str_eq(str(j, "status"), "contacted");
	ck_assert_str_eq(str(j, "assigned_to"), TESLA_REP);
	ck_assert_str_eq(str(j, "notes"), "Ringte, vil prøvekjøre");
	ck_assert_str_eq(str(j, "phone"), "+4791234567");
	ck_assert_str_eq(str(j, "last_name"), tag);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	j = get_json(path, REP);
	ck_assert_str_eq(str(j, "status"), "contacted");
	ck_assert_str_eq(str(j, "assigned_to"), TESLA_REP);
	cJSON_Delete(j);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND status = 'contacted' AND assigned_to = $2",
	    id, TESLA_REP), 1);

	/* A sales rep edits too; null unassigns; names and contact change. */
	api("PATCH", path, "{\"assigned_to\": null, \"first_name\": \"Nytt\","
	    " \"phone\": \"+47 912 34 568\", \"vehicle_interest\": null}", REP,
	    &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	ck_assert(cJSON_IsNull(get(j, "assigned_to")));
	ck_assert_str_eq(str(j, "first_name"), "Nytt");
	ck_assert_str_eq(str(j, "phone"), "+4791234568");
	ck_assert_str_eq(str(j, "status"), "contacted");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* Never writable, or invalid: 422 naming the field, nothing changes. */
	expect("PATCH", path, "{\"dealership_id\": \"" VW "\"}", MGR, 422,
	    "validation_failed", "dealership_id");
	expect("PATCH", path, "{\"status\": \"won\", \"dealership_id\": \""
	    VW "\"}", MGR, 422, "validation_failed", "dealership_id");
	expect("PATCH", path, "{\"id\": \"" NO_SUCH "\"}", MGR, 422,
	    "validation_failed", "id");
	expect("PATCH", path, "{\"source\": \"sms\"}", MGR, 422,
	    "validation_failed", "source");
	expect("PATCH", path, "{\"created_at\": \"2020-01-01T00:00:00Z\"}",
	    MGR, 422, "validation_failed", "created_at");
	expect("PATCH", path, "{\"status\": \"closed\"}", MGR, 422,
	    "validation_failed", "status");
	expect("PATCH", path, "{\"status\": null}", MGR, 422,
	    "validation_failed", "status");
	expect("PATCH", path, "{\"email\": \"nope\"}", MGR, 422,
	    "validation_failed", "email");
	expect("PATCH", path, "{\"assigned_to\": \"" VW_ADMIN "\"}", MGR, 422,
	    "validation_failed", "assigned_to");
	expect("PATCH", path, "{\"assigned_to\": \"" NO_SUCH "\"}", MGR, 422,
	    "validation_failed", "assigned_to");
	expect("PATCH", path, "{\"email\": null, \"phone\": null}", MGR, 422,
	    "validation_failed", "email");
	expect("PATCH", path, "{\"notes\": ", MGR, 400, "bad_request", NULL);
	expect("PATCH", path, "[]", MGR, 400, "bad_request", NULL);
	call("PATCH", path, "{\"notes\": \"x\"}", MGR, "text/plain", &r);
	assert_err(&r, "PATCH text/plain", 415, "unsupported_media_type",
	    NULL);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND status = 'contacted' AND email IS NOT NULL"
	    " AND phone = '+4791234568' AND notes = $2", id,
	    "Ringte, vil prøvekjøre"), 1);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", id, NULL), 0);

	/* Tesla on VW's lead: 404, and the lead is as it was. */
	snprintf(body, sizeof(body), "\"notes\": \"original\","
	    " \"assigned_to\": \"" VW_REP "\"");
	v = create_tagged(VWA, tag, 2, body);
	snprintf(path, sizeof(path), "/api/leads/%s", v);
	{
		char *before = value_as(VW, "SELECT row_to_json(l)::text FROM"
		    " leads l WHERE id = $1::uuid", v), *after;

		expect("PATCH", path, "{\"status\": \"won\", \"notes\":"
		    " \"hijacked\", \"assigned_to\": \"" TESLA_MGR "\"}", MGR,
		    404, "not_found", NULL);
		expect("PATCH", path, "{\"status\": \"lost\"}", REP, 404,
		    "not_found", NULL);
		expect("PATCH", path, "{}", MGR, 404, "not_found", NULL);
		after = value_as(VW, "SELECT row_to_json(l)::text FROM leads l"
		    " WHERE id = $1::uuid", v);
		ck_assert_ptr_nonnull(before);
		ck_assert_ptr_nonnull(after);
		ck_assert_str_eq(after, before);
		ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
		    " id = $1::uuid AND status = 'new' AND notes = 'original'",
		    v, NULL), 1);
		free(before);
		free(after);
	}
	expect_id("PATCH", "", NO_SUCH, "{\"status\": \"won\"}",
	    MGR, 404, "not_found", NULL);
	free(v);
	free(id);
}
END_TEST

/*
 * A sales rep resumes the AI on a lead: ai_paused is writable, and a body
 * that sets it wins over the pause a status change implies.
 */
/* SPEC 5: managers and admins manage assignment; a rep takes or hands back. */
START_TEST(rep_assigns_only_themselves)
{
	char tag[48], *theirs, *open, *own;

	snprintf(tag, sizeof(tag), "asg%ld", (long)getpid());
	theirs = create_tagged(MGR, tag, 1, "\"assigned_to\": \"" TESLA_MGR
	    "\"");
	open = create_tagged(MGR, tag, 2, NULL);

	/* A colleague's lead: not the rep's to take, but theirs to work on. */
	expect_id("PATCH", "", theirs, "{\"assigned_to\": \"" TESLA_REP "\"}",
	    REP, 403, "forbidden", NULL);
	expect_id("PATCH", "", theirs, "{\"assigned_to\": null}", REP, 403,
	    "forbidden", NULL);
	expect_id("PATCH", "", theirs, "{\"status\": \"contacted\"}", REP, 200,
	    NULL, NULL);

	/* Nobody's lead: never to someone else; to themselves, and back. */
	expect_id("PATCH", "", open, "{\"assigned_to\": \"" TESLA_MGR "\"}",
	    REP, 403, "forbidden", NULL);
	expect_id("PATCH", "", open, "{\"assigned_to\": \"" TESLA_REP "\"}",
	    REP, 200, NULL, NULL);
	expect_id("PATCH", "", open, "{\"assigned_to\": \"" TESLA_REP "\","
	    " \"notes\": \"ringer i morgen\"}", REP, 200, NULL, NULL);
	expect_id("PATCH", "", open, "{\"assigned_to\": null}", REP, 200, NULL,
	    NULL);
	/* Not a string: a validation error, as for anyone. */
	expect_id("PATCH", "", open, "{\"assigned_to\": 7}", REP, 422,
	    "validation_failed", "assigned_to");

	/* Creating: to themselves or nobody. */
	expect("POST", "/api/leads", "{\"email\": \"asg.x@example.com\","
	    " \"assigned_to\": \"" TESLA_MGR "\"}", REP, 403, "forbidden", NULL);
	own = create_tagged(REP, tag, 3, "\"assigned_to\": \"" TESLA_REP "\"");

	/* A manager assigns anything to anyone. */
	expect_id("PATCH", "", own, "{\"assigned_to\": \"" TESLA_MGR "\"}", MGR,
	    200, NULL, NULL);
	expect_id("PATCH", "", theirs, "{\"assigned_to\": \"" TESLA_REP "\"}",
	    MGR, 200, NULL, NULL);
	free(theirs);
	free(open);
	free(own);
}
END_TEST

START_TEST(patch_ai_paused)
{
	struct nv_test_http r;
	char tag[48], path[256];
	char *id;
	cJSON *j;

	mktag(tag, sizeof(tag), "aipause");
	id = create_tagged(MGR, tag, 1, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	j = get_json(path, REP);
	ck_assert(cJSON_IsFalse(get(j, "ai_paused")));
	cJSON_Delete(j);

	/* A status change pauses the AI... */
	api("PATCH", path, "{\"status\": \"contacted\"}", REP, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	ck_assert(cJSON_IsTrue(get(j, "ai_paused")));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* ...and the rep resumes it. */
	api("PATCH", path, "{\"ai_paused\": false}", REP, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	assert_lead(j, TESLA);
	ck_assert(cJSON_IsFalse(get(j, "ai_paused")));
	ck_assert_str_eq(str(j, "status"), "contacted");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND NOT ai_paused", id, NULL), 1);
	j = get_json(path, MGR);
	ck_assert(cJSON_IsFalse(get(j, "ai_paused")));
	cJSON_Delete(j);

	/* Given in the same body as a status change, ai_paused wins. */
	api("PATCH", path, "{\"status\": \"qualified\", \"ai_paused\": false}",
	    REP, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	ck_assert(cJSON_IsFalse(get(j, "ai_paused")));
	ck_assert_str_eq(str(j, "status"), "qualified");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* Pausing by hand, and bad values. */
	api("PATCH", path, "{\"ai_paused\": true}", MGR, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = parse(&r);
	ck_assert(cJSON_IsTrue(get(j, "ai_paused")));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	expect("PATCH", path, "{\"ai_paused\": \"no\"}", REP, 422,
	    "validation_failed", "ai_paused");
	expect("PATCH", path, "{\"ai_paused\": null}", REP, 422,
	    "validation_failed", "ai_paused");
	expect("PATCH", path, "{\"ai_paused\": 0}", REP, 422,
	    "validation_failed", "ai_paused");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND ai_paused AND status = 'qualified'", id, NULL),
	    1);
	free(id);
}
END_TEST

/*
 * The API answers with a lead JSON stored with the row: a write by plain
 * SQL, as the worker and intake make them (here in a session in another
 * time zone), shows at once in GET and in the list, with timestamps as
 * PostgreSQL renders them in UTC.
 */
START_TEST(plain_sql_writes_show_in_answers)
{
	char tag[48], path[256], query[128];
	char *id, *want_created;
	const cJSON *it;
	PGconn *c;
	cJSON *j;
	int found = 0;

	mktag(tag, sizeof(tag), "plainsql");
	id = create_tagged(MGR, tag, 1, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s", id);

	c = db_as(TESLA);
	PQclear(nv_test_exec(c, "SET LOCAL TimeZone = 'America/New_York'",
	    NULL));
	PQclear(nv_test_exec(c, "UPDATE leads SET status = 'contacted',"
	    " first_response_at = '2026-01-02 03:04:05.5+00',"
	    " first_response_seconds = 42, notes = 'svart av AI'"
	    " WHERE id = $1::uuid", id, NULL));
	db_done(c);
	want_created = value_as(TESLA, "SELECT json_build_object('t',"
	    " created_at AT TIME ZONE 'UTC')->>'t' || '+00:00' FROM leads"
	    " WHERE id = $1::uuid", id);
	ck_assert_ptr_nonnull(want_created);

	j = get_json(path, REP);
	assert_lead(j, TESLA);
	ck_assert_str_eq(str(j, "status"), "contacted");
	ck_assert_str_eq(str(j, "notes"), "svart av AI");
	ck_assert_str_eq(str(j, "first_response_at"),
	    "2026-01-02T03:04:05.5+00:00");
	ck_assert_int_eq(get(j, "first_response_seconds")->valueint, 42);
	ck_assert_str_eq(str(j, "created_at"), want_created);
	ck_assert_msg(strcmp(str(j, "updated_at"), str(j, "created_at")) > 0,
	    "updated_at %s not after created_at", str(j, "updated_at"));
	cJSON_Delete(j);

	snprintf(query, sizeof(query), "/api/leads?q=%s", tag);
	j = get_json(query, REP);
	cJSON_ArrayForEach(it, get(j, "data")) {
		if (strcmp(str(it, "id"), id) != 0)
			continue;
		found = 1;
		ck_assert_str_eq(str(it, "status"), "contacted");
		ck_assert_str_eq(str(it, "first_response_at"),
		    "2026-01-02T03:04:05.5+00:00");
	}
	ck_assert(found);
	cJSON_Delete(j);
	free(want_created);
	free(id);
}
END_TEST

/* ------------------------------------------------- other dealership */

START_TEST(other_dealership_is_404_for_every_verb)
{
	struct nv_test_http r;
	char tag[48], path[256], *v, *before, *after;
	long msgs, jobs;
	static const char *const verbs[][3] = {
		/* method, path format, body */
		{ "GET", "", NULL },
		{ "PATCH", "", "{\"notes\": \"hijacked\"}" },
		{ "DELETE", "", NULL },
		{ "GET", "/export", NULL },
		{ "GET", "/messages", NULL },
		{ "POST", "/messages", "{\"body\": \"hijacked\"}" },
		{ "HEAD", "", NULL },
	};
	size_t i;

	/* A VW lead of ours, with a conversation and two jobs (reply, send). */
	mktag(tag, sizeof(tag), "foreign");
	v = create_tagged(VWA, tag, 1, "\"phone\": \"+4791234599\"");
	snprintf(path, sizeof(path), "/api/leads/%s/messages", v);
	expect("POST", path, "{\"body\": \"Hei fra VW\"}", VWA, 201, NULL,
	    NULL);
	before = value_as(VW, "SELECT row_to_json(l)::text FROM leads l WHERE"
	    " id = $1::uuid", v);
	msgs = count_as(VW, "SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid", v, NULL);
	jobs = count_as(VW, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", v, NULL);
	ck_assert_int_eq(msgs, 1);
	ck_assert_int_eq(jobs, 2);

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *ids[] = { v, SEED_VW };
		size_t k;

		for (k = 0; k < 2; k++) {
			char p[256], what[512];

			/* The seeded lead is only ever read. */
			if (k == 1 && strcmp(verbs[i][0], "GET") != 0 &&
			    strcmp(verbs[i][0], "HEAD") != 0)
				continue;
			snprintf(p, sizeof(p), "/api/leads/%s%s", ids[k],
			    verbs[i][1]);
			snprintf(what, sizeof(what), "%s %s as Tesla manager",
			    verbs[i][0], p);
			api(verbs[i][0], p, verbs[i][2], MGR, &r);
			if (strcmp(verbs[i][0], "HEAD") == 0)
				ck_assert_msg(r.status == 404, "%s: %ld", what,
				    r.status);
			else
				assert_err(&r, what, 404, "not_found", NULL);
			ck_assert_msg(strstr(r.body, VW) == NULL &&
			    strstr(r.body, "@example") == NULL &&
			    strstr(r.body, "\"data\"") == NULL,
			    "%s: data: %s", what, r.body);
			nv_test_http_free(&r);

			/* A sales rep: 404, except where the role says 403. */
			snprintf(what, sizeof(what), "%s %s as Tesla rep",
			    verbs[i][0], p);
			api(verbs[i][0], p, verbs[i][2], REP, &r);
			if (strcmp(verbs[i][0], "DELETE") == 0 ||
			    strstr(p, "/export") != NULL)
				assert_err(&r, what, 403, "forbidden", NULL);
			else if (strcmp(verbs[i][0], "HEAD") == 0)
				ck_assert_msg(r.status == 404, "%s: %ld", what,
				    r.status);
			else
				assert_err(&r, what, 404, "not_found", NULL);
			ck_assert_msg(strstr(r.body, VW) == NULL,
			    "%s: data: %s", what, r.body);
			nv_test_http_free(&r);
		}
	}

	/* Nothing changed over there. */
	after = value_as(VW, "SELECT row_to_json(l)::text FROM leads l WHERE"
	    " id = $1::uuid", v);
	ck_assert_ptr_nonnull(after);
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", v, NULL), msgs);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", v, NULL), jobs);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM conversations"
	    " WHERE body = 'hijacked'", NULL, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE body = 'hijacked'", NULL, NULL), 0);
	free(before);
	free(after);

	/* And the other way round. */
	{
		char *t = create_tagged(MGR, tag, 2, NULL);

		for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
			char p[256], what[512];

			if (strcmp(verbs[i][0], "HEAD") == 0)
				continue;
			snprintf(p, sizeof(p), "/api/leads/%s%s", t,
			    verbs[i][1]);
			snprintf(what, sizeof(what), "%s %s as VW admin",
			    verbs[i][0], p);
			api(verbs[i][0], p, verbs[i][2], VWA, &r);
			assert_err(&r, what, 404, "not_found", NULL);
			nv_test_http_free(&r);
		}
		ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads"
		    " WHERE id = $1::uuid AND notes IS NULL AND NOT ai_paused",
		    t, NULL), 1);
		free(t);
	}
	free(v);
}
END_TEST

START_TEST(malformed_id_is_404)
{
	static const char *const ids[] = {
		"not-a-uuid", "123", "c1000000-0000-4000-8000-00000000000",
		"c1000000-0000-4000-8000-0000000000011",
		"c1000000x0000-4000-8000-000000000001",
		"%27%20OR%20%271%27=%271", "c1000000-0000-4000-8000-00000000000g",
		NO_SUCH, NULL
	};
	const char *const *id;

	for (id = ids; *id != NULL; id++) {
		expect_id("GET", "", *id, NULL, MGR, 404,
		    "not_found", NULL);
		expect_id("PATCH", "", *id, "{\"notes\": \"x\"}",
		    MGR, 404, "not_found", NULL);
		expect_id("DELETE", "", *id, NULL, MGR, 404,
		    "not_found", NULL);
		expect_id("GET", "/export", *id, NULL, MGR, 404,
		    "not_found", NULL);
		expect_id("GET", "/messages", *id, NULL, REP, 404,
		    "not_found", NULL);
		expect_id("POST", "/messages", *id,
		    "{\"body\": \"x\"}", REP, 404, "not_found", NULL);
	}
	/* Paths below a lead that are not endpoints. */
	expect("GET", "/api/leads/" SEED_TESLA "/nothing", NULL, MGR, 404,
	    "not_found", NULL);
	expect("GET", "/api/leads/" SEED_TESLA "/messages/x", NULL, MGR, 404,
	    "not_found", NULL);
	expect("GET", "/api/leads/", NULL, MGR, 404, "not_found", NULL);
}
END_TEST

/* ------------------------------------------------- delete and export */

START_TEST(delete_role_checked_before_lookup)
{
	char tag[48], *t, *v;

	mktag(tag, sizeof(tag), "rolefirst");
	t = create_tagged(MGR, tag, 1, NULL);
	v = create_tagged(VWA, tag, 2, NULL);
	expect_id("DELETE", "", NO_SUCH, NULL, REP, 403,
	    "forbidden", NULL);
	expect_id("DELETE", "", "not-a-uuid", NULL, REP, 403,
	    "forbidden", NULL);
	expect_id("DELETE", "", v, NULL, REP, 403, "forbidden",
	    NULL);
	expect_id("DELETE", "", t, NULL, REP, 403, "forbidden",
	    NULL);
	expect_id("DELETE", "", v, NULL, VWR, 403, "forbidden",
	    NULL);
	expect_id("GET", "/export", NO_SUCH, NULL, REP, 403,
	    "forbidden", NULL);
	expect_id("GET", "/export", "not-a-uuid", NULL, REP, 403,
	    "forbidden", NULL);
	expect_id("GET", "/export", t, NULL, REP, 403,
	    "forbidden", NULL);
	expect_id("GET", "/export", v, NULL, VWR, 403,
	    "forbidden", NULL);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", t, NULL), 1);
	ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", v, NULL), 1);
	free(t);
	free(v);
}
END_TEST

START_TEST(delete_erases_lead_and_messages)
{
	struct nv_test_http r;
	char tag[48], path[256], *id, *other;

	mktag(tag, sizeof(tag), "erase");
	id = create_tagged(MGR, tag, 1, "\"phone\": \"+4791234500\"");
	other = create_tagged(MGR, tag, 2, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	expect("POST", path, "{\"body\": \"Hei! Vi ringer deg.\"}", REP, 201,
	    NULL, NULL);
	expect("POST", path, "{\"body\": \"Notat\", \"channel\": \"note\"}",
	    MGR, 201, NULL, NULL);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", id, NULL), 2);
	ck_assert_int_ge(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", id, NULL), 1);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	api("DELETE", path, NULL, MGR, &r);
	ck_assert_msg(r.status == 204, "%ld %s", r.status, r.body);
	ck_assert_int_eq(r.len, 0);
	assert_rid(&r);
	nv_test_http_free(&r);

	expect("GET", path, NULL, MGR, 404, "not_found", NULL);
	expect("PATCH", path, "{\"notes\": \"x\"}", MGR, 404, "not_found",
	    NULL);
	expect("DELETE", path, NULL, MGR, 404, "not_found", NULL);
	expect_id("GET", "/messages", id, NULL, MGR, 404,
	    "not_found", NULL);
	expect_id("GET", "/export", id, NULL, MGR, 404,
	    "not_found", NULL);
	expect_id("POST", "/messages", id, "{\"body\": \"x\"}",
	    MGR, 404, "not_found", NULL);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", id, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", id, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", id, NULL), 0);
	/* Only that lead. */
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid", other, NULL), 1);

	/* An admin erases too. */
	{
		char *v = create_tagged(VWA, tag, 3, NULL);

		expect_id("DELETE", "", v, NULL, VWA, 204, NULL,
		    NULL);
		ck_assert_int_eq(count_as(VW, "SELECT count(*) FROM leads WHERE"
		    " id = $1::uuid", v, NULL), 0);
		free(v);
	}
	free(other);
	free(id);
}
END_TEST

START_TEST(export_by_manager)
{
	struct nv_test_http r;
	char tag[48], path[256], *id, *other, *msg_id, *cd;
	const cJSON *it, *lead, *msgs, *hist;
	int inserts = 0, updates = 0, found = 0;
	cJSON *j;

	mktag(tag, sizeof(tag), "export");
	id = create_tagged(MGR, tag, 1, "\"phone\": \"+4791234511\"");
	/* The same person again, through another lead. */
	other = create_tagged(REP, tag, 1, "\"source\": \"phone\"");
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	expect("PATCH", path, "{\"status\": \"contacted\"}", MGR, 200, NULL,
	    NULL);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	api("POST", path, "{\"body\": \"Takk for at du tok kontakt\"}", REP,
	    &r);
	ck_assert_int_eq(r.status, 201);
	j = parse(&r);
	msg_id = strdup(str(j, "id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s/export", id);
	api("GET", path, NULL, MGR, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	assert_rid(&r);
	cd = nv_test_http_header(&r, "Content-Disposition");
	ck_assert_msg(cd != NULL && strstr(cd, "attachment") != NULL,
	    "Content-Disposition: %s", cd != NULL ? cd : "(none)");
	free(cd);
	j = parse(&r);
	lead = get(j, "lead");
	msgs = get(j, "messages");
	hist = get(j, "history");
	assert_lead(lead, TESLA);
	ck_assert_str_eq(str(lead, "id"), id);
	ck_assert_str_eq(str(lead, "status"), "contacted");
	ck_assert(cJSON_IsArray(msgs));
	cJSON_ArrayForEach(it, msgs) {
		assert_msg(it, id);
		if (strcmp(str(it, "id"), msg_id) == 0)
			found = 1;
	}
	ck_assert_msg(found, "the reply is not in the export");
	ck_assert(cJSON_IsArray(hist));
	cJSON_ArrayForEach(it, hist) {
		const char *a = str(it, "action");

		ck_assert_ptr_nonnull(a);
		inserts += strcmp(a, "insert") == 0;
		updates += strcmp(a, "update") == 0;
	}
	ck_assert_int_eq(inserts, 1);
	ck_assert_int_ge(updates, 1);
	/* The other lead of the same person is named, nothing of VW is. */
	ck_assert_ptr_nonnull(strstr(r.body, other));
	ck_assert_ptr_null(strstr(r.body, VW));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* An admin exports in VW; a rep never. */
	{
		char *v = create_tagged(VWA, tag, 3, NULL);

		snprintf(path, sizeof(path), "/api/leads/%s/export", v);
		j = get_json(path, VWA);
		ck_assert_str_eq(str(get(j, "lead"), "id"), v);
		ck_assert_int_eq(cJSON_GetArraySize(get(j, "messages")), 0);
		cJSON_Delete(j);
		expect("GET", path, NULL, VWR, 403, "forbidden", NULL);
		free(v);
	}
	expect_id("GET", "/export", id, NULL, REP, 403,
	    "forbidden", NULL);
	free(msg_id);
	free(other);
	free(id);
}
END_TEST

/* ----------------------------------------------------------- messages */

START_TEST(messages_list)
{
	const cJSON *it, *prev = NULL;
	char path[256], tag[48], *id;
	cJSON *j, *want, *got;
	int keys = 0;

	j = get_json("/api/leads/" SEED_TESLA "/messages", REP);
	cJSON_ArrayForEach(it, j)
		keys++;
	ck_assert_int_eq(keys, 1);
	ck_assert(cJSON_IsArray(get(j, "data")));
	cJSON_ArrayForEach(it, get(j, "data")) {
		assert_msg(it, SEED_TESLA);
		if (prev != NULL)
			ck_assert_msg(strcmp(str(prev, "created_at"),
			    str(it, "created_at")) <= 0, "not in time order");
		prev = it;
	}
	got = cJSON_CreateArray();
	cJSON_ArrayForEach(it, get(j, "data"))
		cJSON_AddItemToArray(got, cJSON_CreateString(str(it, "id")));
	want = ids_as(TESLA, "SELECT id FROM conversations WHERE lead_id ="
	    " $1::uuid ORDER BY created_at, id", SEED_TESLA);
	ck_assert_int_ge(cJSON_GetArraySize(want), 1);
	assert_same_ids(got, want, "messages of the seeded lead");
	/* The first is the customer's inbound web message. */
	it = cJSON_GetArrayItem(get(j, "data"), 0);
	ck_assert_str_eq(str(it, "direction"), "inbound");
	ck_assert_str_eq(str(it, "sender"), "customer");
	ck_assert(cJSON_IsNull(get(it, "user_id")));
	cJSON_Delete(want);
	cJSON_Delete(got);
	cJSON_Delete(j);

	/* A new lead has an empty conversation, not a 404. */
	mktag(tag, sizeof(tag), "msglist");
	id = create_tagged(MGR, tag, 1, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	j = get_json(path, REP);
	ck_assert(cJSON_IsArray(get(j, "data")));
	ck_assert_int_eq(cJSON_GetArraySize(get(j, "data")), 0);
	cJSON_Delete(j);
	free(id);
}
END_TEST

START_TEST(messages_reply)
{
	struct nv_test_http r;
	char tag[48], path[256], body[256], *id, *mid, *e2, *p3;
	cJSON *j, *list;
	const cJSON *it;
	int found = 0;

	mktag(tag, sizeof(tag), "reply");
	id = create_tagged(MGR, tag, 1, NULL);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND NOT ai_paused", id, NULL), 1);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);

	api("POST", path, "{\"body\": \"Hei! Takk for henvendelsen.\"}", REP,
	    &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	assert_rid(&r);
	j = parse(&r);
	assert_msg(j, id);
	ck_assert_str_eq(str(j, "direction"), "outbound");
	ck_assert_str_eq(str(j, "sender"), "human");
	ck_assert_str_eq(str(j, "status"), "queued");
	ck_assert_str_eq(str(j, "channel"), "email");
	ck_assert_str_eq(str(j, "user_id"), TESLA_REP);
	ck_assert_str_eq(str(j, "body"), "Hei! Takk for henvendelsen.");
	mid = strdup(str(j, "id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* Stored, queued for delivery, and the AI steps back. */
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE id = $1::uuid AND user_id = $2 AND sender = 'human'"
	    " AND direction = 'outbound' AND status = 'queued'", mid,
	    TESLA_REP), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " kind = 'send' AND lead_id = $1::uuid AND payload->>'message_id'"
	    " = $2", id, mid), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND ai_paused", id, NULL), 1);
	list = get_json(path, MGR);
	cJSON_ArrayForEach(it, get(list, "data"))
		if (strcmp(str(it, "id"), mid) == 0)
			found = 1;
	ck_assert(found);
	cJSON_Delete(list);

	/* The manager's reply carries the manager. */
	api("POST", path, "{\"body\": \"Hilsen Kristin\", \"channel\":"
	    " \"email\"}", MGR, &r);
	ck_assert_int_eq(r.status, 201);
	j = parse(&r);
	ck_assert_str_eq(str(j, "user_id"), TESLA_MGR);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* An internal note: delivered at once, no send job. */
	api("POST", path, "{\"body\": \"Ring i morgen\", \"channel\":"
	    " \"note\"}", REP, &r);
	ck_assert_int_eq(r.status, 201);
	j = parse(&r);
	ck_assert_str_eq(str(j, "channel"), "note");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " payload->>'message_id' = $1", str(j, "id"), NULL), 0);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* SMS to an e-mail-only lead: 422 naming channel, nothing stored. */
	e2 = create_tagged(MGR, tag, 2, NULL);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", e2);
	expect("POST", path, "{\"body\": \"Hei\", \"channel\": \"sms\"}", REP,
	    422, "validation_failed", "channel");
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", e2, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind <> 'reply'", e2, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND NOT ai_paused", e2, NULL), 1);

	/* A phone-only lead is answered by SMS, and has no e-mail. */
	snprintf(body, sizeof(body), "{\"phone\": \"+4791234522\","
	    " \"last_name\": \"%s\"}", tag);
	p3 = create_lead(MGR, body);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", p3);
	expect("POST", path, "{\"body\": \"Hei\", \"channel\": \"email\"}",
	    REP, 422, "validation_failed", "channel");
	api("POST", path, "{\"body\": \"Hei på SMS\"}", REP, &r);
	ck_assert_int_eq(r.status, 201);
	j = parse(&r);
	ck_assert_str_eq(str(j, "channel"), "sms");
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* Bad replies. */
	snprintf(path, sizeof(path), "/api/leads/%s/messages", e2);
	expect("POST", path, "{}", REP, 422, "validation_failed", "body");
	expect("POST", path, "{\"body\": \"\"}", REP, 422, "validation_failed",
	    "body");
	expect("POST", path, "{\"body\": null}", REP, 422,
	    "validation_failed", "body");
	expect("POST", path, "{\"body\": \"x\", \"sender\": \"ai\"}", REP, 422,
	    "validation_failed", "sender");
	expect("POST", path, "{\"body\": \"x\", \"user_id\": \"" TESLA_MGR
	    "\"}", REP, 422, "validation_failed", "user_id");
	expect("POST", path, "{\"body\": \"x\", \"channel\": \"facebook\"}",
	    REP, 422, "validation_failed", "channel");
	expect("POST", path, "{\"body\": ", REP, 400, "bad_request", NULL);
	call("POST", path, "body=x", REP, "application/x-www-form-urlencoded",
	    &r);
	assert_err(&r, "form reply", 415, "unsupported_media_type", NULL);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", e2, NULL), 0);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND NOT ai_paused", e2, NULL), 1);
	free(p3);
	free(e2);
	free(mid);
	free(id);
}
END_TEST

/* ---------------------------------------------------------- rep scope */

START_TEST(sales_rep_scope_assigned)
{
	struct nv_test_http r;
	char tag[48], q[256], body[512], path[256], *a, *b, *c;
	char misleading[1024] = "";
	cJSON *want, *got;

	mktag(tag, sizeof(tag), "scope");
	a = create_tagged(MGR, tag, 1, NULL);
	b = create_tagged(MGR, tag, 2, "\"assigned_to\": \"" TESLA_REP "\"");
	c = create_tagged(MGR, tag, 3, "\"assigned_to\": \"" TESLA_MGR "\"");

	api("PATCH", "/api/dealership", "{\"settings\": {\"sales_rep_scope\":"
	    " \"assigned\"}}", MGR, &r);
	if (r.status != 200) {
		fprintf(stderr, "PATCH /api/dealership answered %ld; setting"
		    " sales_rep_scope through SQL\n", r.status);
		owner_exec(TESLA, "UPDATE dealerships SET settings = settings"
		    " || '{\"sales_rep_scope\": \"assigned\"}' WHERE id ="
		    " $1::uuid AND $2::text IS NOT NULL", TESLA, "x");
	}
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM dealerships"
	    " WHERE id = $1::uuid AND settings->>'sales_rep_scope' ="
	    " 'assigned'", TESLA, NULL), 1);

	/* The rep sees the unassigned lead and their own, not the manager's. */
	snprintf(q, sizeof(q), "q=%s", tag);
	assert_list(REP, q, (const char *const[]){ b, a, NULL });
	assert_list(MGR, q, (const char *const[]){ c, b, a, NULL });
	snprintf(q, sizeof(q), "q=%s&assigned_to=" TESLA_MGR, tag);
	assert_list(REP, q, (const char *const[]){ NULL });
	want = ids_as(TESLA, "SELECT id FROM leads WHERE assigned_to IS NULL"
	    " OR assigned_to = $1 ORDER BY created_at DESC, id DESC",
	    TESLA_REP);
	got = walk(REP, "", 50, 0);
	assert_same_ids(got, want, "the rep's whole inbox");
	cJSON_Delete(got);
	cJSON_Delete(want);

	expect_id("GET", "", a, NULL, REP, 200, NULL, NULL);
	expect_id("GET", "", b, NULL, REP, 200, NULL, NULL);
	expect_id("GET", "", c, NULL, REP, 404, "not_found", NULL);
	expect_id("PATCH", "", c, "{\"notes\": \"mine now\"}",
	    REP, 404, "not_found", NULL);
	expect_id("PATCH", "", c, "{\"assigned_to\": \""
	    TESLA_REP "\"}", REP, 404, "not_found", NULL);
	expect_id("GET", "/messages", c, NULL, REP, 404,
	    "not_found", NULL);
	expect_id("POST", "/messages", c, "{\"body\": \"x\"}",
	    REP, 404, "not_found", NULL);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND assigned_to = $2 AND notes IS NULL AND NOT"
	    " ai_paused", c, TESLA_MGR), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", c, NULL), 0);

	/*
	 * The rep cannot hand a lead to someone else: 403 (or 422), and the
	 * message must not blame another dealership - it is this one.  The
	 * messages are checked last, so the rest of the test still runs.
	 */
	snprintf(path, sizeof(path), "/api/leads/%s", a);
	api("PATCH", path, "{\"assigned_to\": \"" TESLA_MGR "\"}", REP, &r);
	ck_assert_msg(r.status == 403 || r.status == 422,
	    "assigning an unassigned lead to the manager: %ld %s", r.status,
	    r.body);
	assert_err(&r, "assign to the manager", r.status, r.status == 403 ?
	    "forbidden" : "validation_failed", NULL);
	if (strstr(r.body, "another dealership") != NULL)
		snprintf(misleading, sizeof(misleading), "PATCH %s: %s", path,
		    r.body);
	nv_test_http_free(&r);
	snprintf(path, sizeof(path), "/api/leads/%s", b);
	api("PATCH", path, "{\"assigned_to\": \"" TESLA_MGR "\"}", REP, &r);
	ck_assert_msg(r.status == 403 || r.status == 422,
	    "handing their own lead to the manager: %ld %s", r.status, r.body);
	nv_test_http_free(&r);
	snprintf(body, sizeof(body), "{\"email\": \"%s.9@example.com\","
	    " \"last_name\": \"%s\", \"assigned_to\": \"" TESLA_MGR "\"}", tag,
	    tag);
	api("POST", "/api/leads", body, REP, &r);
	ck_assert_msg(r.status == 403 || r.status == 422,
	    "creating a lead for the manager: %ld %s", r.status, r.body);
	if (misleading[0] == '\0' && strstr(r.body, "another dealership") !=
	    NULL)
		snprintf(misleading, sizeof(misleading), "POST: %s", r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND assigned_to IS NULL", a, NULL), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND assigned_to = $2", b, TESLA_REP), 1);
	ck_assert_int_eq(count_as(TESLA, "SELECT count(*) FROM leads WHERE"
	    " last_name = $1", tag, NULL), 3);

	/* Taking an unassigned lead is fine, and the rep still sees it. */
	expect_id("PATCH", "", a, "{\"assigned_to\": \""
	    TESLA_REP "\", \"status\": \"contacted\"}", REP, 200, NULL, NULL);
	snprintf(q, sizeof(q), "q=%s&assigned_to=me", tag);
	assert_list(REP, q, (const char *const[]){ b, a, NULL });

	/* VW is untouched by Tesla's setting. */
	want = ids_as(VW, "SELECT id FROM leads WHERE $1::text IS NOT NULL"
	    " ORDER BY created_at DESC, id DESC", "x");
	got = walk(VWR, "", 50, 0);
	assert_same_ids(got, want, "VW rep's inbox");
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(a);
	free(b);
	free(c);

	ck_assert_msg(misleading[0] == '\0', "a sales rep refused by the "
	    "assignment scope is told the lead belongs to another dealership:"
	    " %s", misleading);
}
END_TEST

static Suite *
api_leads_suite(void)
{
	Suite *s = suite_create("api_leads");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *err = tcase_create("errors");
	TCase *scope = tcase_create("scope");

	tcase_add_unchecked_fixture(core, run_setup, run_teardown);
	tcase_set_timeout(core, 120);
	tcase_add_test(core, list_shape);
	tcase_add_test(core, large_page_arrives_whole);
	tcase_add_test(core, list_filters);
	tcase_add_test(core, create_lead_201);
	tcase_add_test(core, create_queues_reply_job);
	tcase_add_test(core, patch_lead);
	tcase_add_test(core, patch_ai_paused);
	tcase_add_test(core, rep_assigns_only_themselves);
	tcase_add_test(core, plain_sql_writes_show_in_answers);
	tcase_add_test(core, delete_erases_lead_and_messages);
	tcase_add_test(core, export_by_manager);
	tcase_add_test(core, messages_list);
	tcase_add_test(core, messages_reply);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(limits, run_setup, run_teardown);
	tcase_set_timeout(limits, 300);
	tcase_add_test(limits, keyset_walk);
	tcase_add_test(limits, keyset_walk_during_inserts);
	suite_add_tcase(s, limits);

	tcase_add_unchecked_fixture(err, run_setup, run_teardown);
	tcase_set_timeout(err, 120);
	tcase_add_test(err, list_bad_parameters);
	tcase_add_test(err, list_bad_values_the_database_would_refuse);
	tcase_add_test(err, create_validation);
	tcase_add_test(err, wrong_method_405);
	tcase_add_test(err, other_dealership_is_404_for_every_verb);
	tcase_add_test(err, malformed_id_is_404);
	tcase_add_test(err, delete_role_checked_before_lookup);
	suite_add_tcase(s, err);

	tcase_add_unchecked_fixture(scope, scope_setup, scope_teardown);
	tcase_set_timeout(scope, 120);
	tcase_add_test(scope, sales_rep_scope_assigned);
	suite_add_tcase(s, scope);
	return s;
}

NV_TEST_MAIN(api_leads_suite)
