/*
 * check_api_stats.c - GET /api/stats over real HTTP (nginx, cgi-bin/stats,
 * PostgreSQL with the demo seed).
 *
 * Every number the API returns is checked against the same metric
 * computed here, in C, from the raw rows of the window (read through the
 * application role with the tenant context set in a transaction): counts
 * by status and source, conversion, percentile_cont by linear
 * interpolation, the 5-minute share and the per-rep figures.  The test
 * writes nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define MAX_ROWS	1000
#define MAX_USERS	64

static Suite *stats_suite(void);

static const char *const statuses[] = {
	"new", "contacted", "qualified", "won", "lost", NULL
};
static const char *const sources[] = {
	"web_form", "adf", "email", "sms", "facebook", "manual", "phone",
	"walk_in", NULL
};

/* ------------------------------------------------------------ helpers */

static const char *
org_of(const char *user)
{
	return strncmp(user, "user_vw_", 8) == 0 ? "org_vw_bergen" :
	    "org_tesla_oslo";
}

static void
get(const char *path, const char *user, struct nv_test_http *r)
{
	const char *hdrs[2] = { NULL, NULL };
	char *auth = NULL;

	if (user != NULL)
		hdrs[0] = auth = nv_test_auth_header(user, org_of(user));
	nv_test_http("GET", path, NULL, 0, hdrs, r);
	free(auth);
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *
obj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "key %s missing", k);
	return v;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = obj(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

/* A number or null: NAN for null. */
static double
num_or_null(const cJSON *o, const char *k)
{
	const cJSON *v = obj(o, k);

	if (cJSON_IsNull(v))
		return NAN;
	ck_assert_msg(cJSON_IsNumber(v), "%s is neither number nor null", k);
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
expect_400(const char *path, const char *field)
{
	struct nv_test_http r;

	get(path, "user_tesla_manager", &r);
	ck_assert_msg(r.status == 400, "%s: %ld %s", path, r.status, r.body);
	if (field != NULL)
		assert_error_field(r.body, "bad_request", field);
	else
		nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);
}

/* ------------------------------------------- the independent figures */

struct row {
	char	status[16];
	char	source[16];
	char	assigned[40];	/* "" when unassigned */
	int	frs;		/* -1 when unanswered */
};

struct user {
	char	id[40];
	char	name[128];
	int	active;
};

struct want {
	struct row	rows[MAX_ROWS];
	size_t		nrows;
	struct user	users[MAX_USERS];
	size_t		nusers;
};

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* percentile_cont(p) of v[0..n), sorted here; NAN when n is 0. */
static double
percentile(int *v, size_t n, double p)
{
	double pos, lo;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_int);
	pos = p * (double)(n - 1);
	lo = floor(pos);
	if ((size_t)lo + 1 >= n)
		return v[n - 1];
	return v[(size_t)lo] + (v[(size_t)lo + 1] - v[(size_t)lo]) *
	    (pos - lo);
}

/* The window's rows and the users, read as the API's role would. */
static void
load(const char *dealership, const char *from, const char *to,
    struct want *w)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	PGresult *r;
	int i;

	memset(w, 0, sizeof(*w));
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
	r = nv_test_exec(c, "SELECT status, source,"
	    " coalesce(assigned_to::text, ''),"
	    " coalesce(first_response_seconds, -1)"
	    " FROM leads WHERE created_at >= $1::timestamptz"
	    " AND created_at < $2::timestamptz", from, to, NULL);
	ck_assert_int_le(PQntuples(r), MAX_ROWS);
	for (i = 0; i < PQntuples(r); i++) {
		struct row *x = &w->rows[w->nrows++];

		snprintf(x->status, sizeof(x->status), "%s",
		    PQgetvalue(r, i, 0));
		snprintf(x->source, sizeof(x->source), "%s",
		    PQgetvalue(r, i, 1));
		snprintf(x->assigned, sizeof(x->assigned), "%s",
		    PQgetvalue(r, i, 2));
		x->frs = (int)strtol(PQgetvalue(r, i, 3), NULL, 10);
	}
	PQclear(r);
	r = nv_test_exec(c, "SELECT id::text, coalesce(name, ''), active"
	    " FROM users", NULL);
	ck_assert_int_le(PQntuples(r), MAX_USERS);
	for (i = 0; i < PQntuples(r); i++) {
		struct user *u = &w->users[w->nusers++];

		snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(r, i, 0));
		snprintf(u->name, sizeof(u->name), "%s", PQgetvalue(r, i, 1));
		u->active = strcmp(PQgetvalue(r, i, 2), "t") == 0;
	}
	PQclear(r);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

/* Whether two timestamptz texts are the same instant (asked of PG). */
static int
same_instant(const char *a, const char *b)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	long n;

	n = nv_test_count(c, "SELECT ($1::timestamptz = $2::timestamptz)::int",
	    a, b, NULL);
	PQfinish(c);
	return n == 1;
}

static void
assert_close(double got, double want, const char *what)
{
	if (isnan(want)) {
		ck_assert_msg(isnan(got), "%s: %g, want null", what, got);
		return;
	}
	ck_assert_msg(!isnan(got), "%s: null, want %g", what, want);
	/* The API rounds seconds to 0.1 and shares to 0.0001. */
	ck_assert_msg(fabs(got - want) <= 0.05 + 1e-9, "%s: %g, want %g",
	    what, got, want);
}

/* A 4-decimal fraction rendered as such: "<key>" : 0.2000. */
static void
assert_4dp(const char *body, const char *key, double want)
{
	char text[96];

	snprintf(text, sizeof(text), "\"%s\" : %.4f", key, want);
	ck_assert_msg(strstr(body, text) != NULL, "%s not in %s", text, body);
}

/*
 * GET /api/stats?<query> as user and compare everything with the rows of
 * [from, to) of dealership.
 */
static void
check_window(const char *user, const char *dealership, const char *query,
    const char *from, const char *to, size_t want_total)
{
	static struct want w;
	static int frs[MAX_ROWS], rep_frs[MAX_ROWS];
	struct nv_test_http r;
	const cJSON *bs, *bsrc, *stl, *reps, *it;
	char path[512];
	size_t i, k, n, won = 0, answered = 0, fast = 0, seen = 0;
	cJSON *j;

	snprintf(path, sizeof(path), "/api/stats%s%s", *query ? "?" : "",
	    query);
	get(path, user, &r);
	ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
	j = cJSON_Parse(r.body);
	ck_assert_msg(j != NULL, "not JSON: %s", r.body);
	assert_keys(j, (const char *const[]){ "from", "to", "total",
	    "by_status", "by_source", "conversion_rate", "speed_to_lead",
	    "by_rep", "by_day", NULL });
	if (from == NULL)
		from = str(j, "from");
	if (to == NULL)
		to = str(j, "to");
	ck_assert(same_instant(str(j, "from"), from));
	ck_assert(same_instant(str(j, "to"), to));
	load(dealership, from, to, &w);
	if (want_total != (size_t)-1)
		ck_assert_uint_eq(w.nrows, want_total);

	ck_assert_msg(num(j, "total") == (double)w.nrows, "total %g, want %zu",
	    num(j, "total"), w.nrows);

	/* Every status and source, in order, zeros included. */
	bs = obj(j, "by_status");
	assert_keys(bs, statuses);
	for (k = 0, it = bs->child; statuses[k] != NULL; k++, it = it->next) {
		ck_assert_str_eq(it->string, statuses[k]);
		for (i = 0, n = 0; i < w.nrows; i++)
			n += strcmp(w.rows[i].status, statuses[k]) == 0;
		ck_assert_msg(it->valuedouble == (double)n, "by_status.%s %g, "
		    "want %zu", statuses[k], it->valuedouble, n);
	}
	bsrc = obj(j, "by_source");
	assert_keys(bsrc, sources);
	for (k = 0, it = bsrc->child; sources[k] != NULL; k++, it = it->next) {
		ck_assert_str_eq(it->string, sources[k]);
		for (i = 0, n = 0; i < w.nrows; i++)
			n += strcmp(w.rows[i].source, sources[k]) == 0;
		ck_assert_msg(it->valuedouble == (double)n, "by_source.%s %g, "
		    "want %zu", sources[k], it->valuedouble, n);
	}

	for (i = 0; i < w.nrows; i++) {
		won += strcmp(w.rows[i].status, "won") == 0;
		if (w.rows[i].frs >= 0) {
			frs[answered++] = w.rows[i].frs;
			fast += w.rows[i].frs <= 300;
		}
	}
	{
		double rate = w.nrows == 0 ? 0 : (double)won / (double)w.nrows;
		double share = w.nrows == 0 ? 0 : (double)fast /
		    (double)w.nrows;

		assert_close(num(j, "conversion_rate"), rate, "conversion_rate");
		ck_assert(fabs(num(j, "conversion_rate") - rate) < 0.00005 +
		    1e-12);
		assert_4dp(r.body, "conversion_rate", round(rate * 1e4) / 1e4);
		stl = obj(j, "speed_to_lead");
		assert_keys(stl, (const char *const[]){ "answered",
		    "median_seconds", "p90_seconds", "within_5_min_share",
		    NULL });
		ck_assert(num(stl, "answered") == (double)answered);
		ck_assert(fabs(num(stl, "within_5_min_share") - share) <
		    0.00005 + 1e-12);
		assert_4dp(r.body, "within_5_min_share",
		    round(share * 1e4) / 1e4);
	}
	assert_close(num_or_null(stl, "median_seconds"),
	    percentile(frs, answered, 0.5), "median_seconds");
	assert_close(num_or_null(stl, "p90_seconds"),
	    percentile(frs, answered, 0.9), "p90_seconds");

	/* Per rep: every active user and everyone with leads here. */
	reps = obj(j, "by_rep");
	ck_assert(cJSON_IsArray(reps));
	for (k = 0; k < w.nusers; k++) {
		const struct user *u = &w.users[k];
		const cJSON *rep = NULL;
		size_t leads = 0, rwon = 0, nf = 0;

		for (i = 0; i < w.nrows; i++) {
			if (strcmp(w.rows[i].assigned, u->id) != 0)
				continue;
			leads++;
			rwon += strcmp(w.rows[i].status, "won") == 0;
			if (w.rows[i].frs >= 0)
				rep_frs[nf++] = w.rows[i].frs;
		}
		cJSON_ArrayForEach(it, reps)
			if (strcmp(str(it, "user_id"), u->id) == 0)
				rep = it;
		if (!u->active && leads == 0) {
			ck_assert_msg(rep == NULL, "inactive %s listed", u->id);
			continue;
		}
		ck_assert_msg(rep != NULL, "user %s missing from by_rep", u->id);
		seen++;
		assert_keys(rep, (const char *const[]){ "user_id", "name",
		    "leads", "won", "median_seconds", NULL });
		ck_assert_str_eq(str(rep, "name"), u->name);
		ck_assert(num(rep, "leads") == (double)leads);
		ck_assert(num(rep, "won") == (double)rwon);
		assert_close(num_or_null(rep, "median_seconds"),
		    percentile(rep_frs, nf, 0.5), "by_rep.median_seconds");
	}
	ck_assert_int_eq(cJSON_GetArraySize(reps), (int)seen);
	/* Most leads first. */
	for (it = reps->child; it != NULL && it->next != NULL; it = it->next)
		ck_assert(num(it, "leads") >= num(it->next, "leads"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
}

/* ------------------------------------------------------------- tests */

START_TEST(october_per_dealership)
{
	/* The seed's leads are all in October 2026. */
	check_window("user_tesla_manager", TESLA,
	    "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
	    "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 10);
	check_window("user_vw_rep", VW,
	    "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
	    "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 10);
}
END_TEST

START_TEST(seeded_figures)
{
	struct nv_test_http r;
	const cJSON *stl, *it;
	cJSON *j;

	/*
	 * Worked out by hand from seed/demo.sql, Tesla Oslo in October: two
	 * leads per status, so 2 won of 10; 8 answered, in 38 47 61 95 132
	 * 240 1260 5400 seconds, 6 of them within 300 s; median (95 + 132) / 2;
	 * p90 at rank 6.3: 1260 + 0.3 * (5400 - 1260).
	 */
	get("/api/stats?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
	    "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	ck_assert(num(j, "total") == 10);
	cJSON_ArrayForEach(it, obj(j, "by_status"))
		ck_assert_msg(it->valuedouble == 2, "by_status.%s", it->string);
	ck_assert(num(obj(j, "by_source"), "web_form") == 2);
	ck_assert(num(obj(j, "by_source"), "sms") == 2);
	ck_assert(num(obj(j, "by_source"), "walk_in") == 1);
	assert_4dp(r.body, "conversion_rate", 0.2);
	assert_4dp(r.body, "within_5_min_share", 0.6);
	stl = obj(j, "speed_to_lead");
	ck_assert(num(stl, "answered") == 8);
	ck_assert(num(stl, "median_seconds") == 113.5);
	ck_assert(num(stl, "p90_seconds") == 2502);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(half_open_window_with_offsets)
{
	/*
	 * The upper bound is exactly the created_at of a Tesla lead
	 * (2026-10-28 09:12 +01:00): it is outside.  The lower bound is
	 * given in +02:00.
	 */
	check_window("user_tesla_rep", TESLA,
	    "from=2026-10-20T00:00:00%2B02:00&to=2026-10-28T09:12:00%2B01:00",
	    "2026-10-20T00:00:00+02:00", "2026-10-28T09:12:00+01:00", 3);
	check_window("user_tesla_rep", TESLA,
	    "from=2026-10-20T00:00:00%2B02:00&to=2026-10-28T09:12:00.000001"
	    "%2B01:00", "2026-10-20T00:00:00+02:00",
	    "2026-10-28T09:12:00.000001+01:00", 4);
	/* 't', 'z' and fractions are RFC 3339 too. */
	check_window("user_vw_admin", VW,
	    "from=2026-10-19t00:00:00.5z&to=2026-10-31T23:59:59.999999-01:00",
	    "2026-10-19T00:00:00.5Z", "2026-10-31T23:59:59.999999-01:00",
	    (size_t)-1);
}
END_TEST

START_TEST(empty_window)
{
	struct nv_test_http r;
	const cJSON *stl, *it;
	cJSON *j;

	check_window("user_tesla_manager", TESLA,
	    "from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z",
	    "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", 0);
	get("/api/stats?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z",
	    "user_tesla_manager", &r);
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	assert_4dp(r.body, "conversion_rate", 0);
	stl = obj(j, "speed_to_lead");
	ck_assert(num(stl, "answered") == 0);
	ck_assert(cJSON_IsNull(obj(stl, "median_seconds")));
	ck_assert(cJSON_IsNull(obj(stl, "p90_seconds")));
	cJSON_ArrayForEach(it, obj(j, "by_status"))
		ck_assert(it->valuedouble == 0);
	/* Both Tesla users, with nothing. */
	ck_assert_int_eq(cJSON_GetArraySize(obj(j, "by_rep")), 2);
	cJSON_ArrayForEach(it, obj(j, "by_rep")) {
		ck_assert(num(it, "leads") == 0);
		ck_assert(cJSON_IsNull(obj(it, "median_seconds")));
	}
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

/*
 * by_day, the speed-to-lead trend: one entry per Europe/Oslo day with
 * leads, oldest first, each day's counts equal to the raw rows' and the
 * days adding up to the total.
 */
START_TEST(by_day_trend)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	struct nv_test_http r;
	const cJSON *days, *it;
	double sum = 0;
	PGresult *res;
	cJSON *j;
	int i = 0;

	get("/api/stats?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
	    "user_tesla_manager", &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", TESLA, NULL));
	res = nv_test_exec(c, "SELECT (created_at AT TIME ZONE 'Europe/Oslo')"
	    "::date::text, count(*), count(first_response_seconds),"
	    " count(*) FILTER (WHERE first_response_seconds <= 300)"
	    " FROM leads WHERE created_at >= '2026-10-01T00:00:00Z'"
	    " AND created_at < '2026-11-01T00:00:00Z' GROUP BY 1 ORDER BY 1",
	    NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	days = obj(j, "by_day");
	ck_assert(cJSON_IsArray(days));
	ck_assert_int_eq(cJSON_GetArraySize(days), PQntuples(res));
	ck_assert_int_gt(PQntuples(res), 1);
	cJSON_ArrayForEach(it, days) {
		assert_keys(it, (const char *const[]){ "date", "leads",
		    "answered", "within_5_min", "median_seconds", "p90_seconds",
		    NULL });
		ck_assert_str_eq(str(it, "date"), PQgetvalue(res, i, 0));
		ck_assert(num(it, "leads") == atof(PQgetvalue(res, i, 1)));
		ck_assert(num(it, "answered") == atof(PQgetvalue(res, i, 2)));
		ck_assert(num(it, "within_5_min") == atof(PQgetvalue(res, i, 3)));
		if (num(it, "answered") == 0)
			ck_assert(cJSON_IsNull(obj(it, "median_seconds")));
		else
			ck_assert(num(it, "median_seconds") >= 0);
		sum += num(it, "leads");
		i++;
	}
	ck_assert(sum == num(j, "total"));
	PQclear(res);
	PQfinish(c);
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(default_is_last_30_days)
{
	struct nv_test_http r;
	PGconn *c;
	cJSON *j;

	/* from/to NULL: checked against the window the API reports. */
	check_window("user_vw_rep", VW, "", NULL, NULL, (size_t)-1);

	get("/api/stats", "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	c = nv_test_connect(nv_test_env("DATABASE_URL"));
	ck_assert_int_eq(nv_test_count(c, "SELECT ($2::timestamptz -"
	    " $1::timestamptz = interval '30 days')::int", str(j, "from"),
	    str(j, "to"), NULL), 1);
	ck_assert_int_eq(nv_test_count(c, "SELECT (abs(extract(epoch FROM"
	    " now() - $1::timestamptz)) < 60)::int", str(j, "to"), NULL), 1);
	PQfinish(c);
	cJSON_Delete(j);
	nv_test_http_free(&r);

	/* Only from: up to now; only to: the 30 days before it. */
	get("/api/stats?to=2026-11-01T00:00:00Z", "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	ck_assert(same_instant(str(j, "from"), "2026-10-02T00:00:00Z"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	check_window("user_vw_rep", VW, "to=2026-11-01T00:00:00Z",
	    "2026-10-02T00:00:00Z", "2026-11-01T00:00:00Z", (size_t)-1);
	get("/api/stats?from=2026-10-30T00:00:00Z", "user_vw_rep", &r);
	ck_assert_int_eq(r.status, 200);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(tenants_do_not_mix)
{
	struct nv_test_http r;
	const cJSON *it;
	cJSON *j;

	get("/api/stats?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z",
	    "user_vw_admin", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, "a1000000-"));
	ck_assert_ptr_null(strstr(r.body, "Kristin Solberg"));
	j = cJSON_Parse(r.body);
	cJSON_ArrayForEach(it, obj(j, "by_rep"))
		ck_assert_msg(strncmp(str(it, "user_id"), "a2000000-", 9) == 0,
		    "%s in VW's stats", str(it, "user_id"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(bad_windows)
{
	struct nv_test_http r;
	char *allow;

	expect_400("/api/stats?from=yesterday", "from");
	expect_400("/api/stats?from=2026-10-01", "from");
	expect_400("/api/stats?from=", "from");
	expect_400("/api/stats?to=2026-02-29T00:00:00Z", "to");
	expect_400("/api/stats?to=2026-04-31T00:00:00Z", "to");
	expect_400("/api/stats?from=2026-10-01T25:00:00Z", "from");
	expect_400("/api/stats?from=2026-10-01T00:00:00%2B24:00", "from");
	/* from must be before to. */
	expect_400("/api/stats?from=2026-10-02T00:00:00Z"
	    "&to=2026-10-01T00:00:00Z", "from");
	expect_400("/api/stats?from=2026-10-01T02:00:00%2B02:00"
	    "&to=2026-10-01T00:00:00Z", "from");
	/* At most 366 days. */
	expect_400("/api/stats?from=2025-10-01T00:00:00Z"
	    "&to=2026-10-02T00:00:01Z", "to");
	expect_400("/api/stats?from=2020-01-01T00:00:00Z", "from");
	expect_400("/api/stats?since=2026-10-01T00:00:00Z", "since");
	expect_400("/api/stats?from=2026-10-01T00:00:00Z"
	    "&from=2026-10-02T00:00:00Z", "from");
	/* 366 days exactly is allowed (2028 is a leap year). */
	get("/api/stats?from=2027-03-01T00:00:00Z&to=2028-03-01T00:00:00Z",
	    "user_tesla_rep", &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	/* A leap day is a day. */
	get("/api/stats?from=2028-02-29T00:00:00Z&to=2028-03-01T00:00:00Z",
	    "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 200);
	nv_test_http_free(&r);

	get("/api/stats", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);

	{
		const char *h[] = { NULL, "Content-Type: application/json",
		    NULL };
		char *auth = nv_test_auth_header("user_tesla_rep",
		    "org_tesla_oslo");

		h[0] = auth;
		nv_test_http("POST", "/api/stats", "{}", 2, h, &r);
		free(auth);
	}
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_str_eq(allow, "GET");
	free(allow);
	nv_test_http_free(&r);
	get("/api/stats/x", "user_tesla_rep", &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("api_stats");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_set_timeout(core, 60);
	tcase_add_test(core, october_per_dealership);
	tcase_add_test(core, seeded_figures);
	tcase_add_test(core, half_open_window_with_offsets);
	tcase_add_test(core, empty_window);
	tcase_add_test(core, default_is_last_30_days);
	tcase_add_test(core, by_day_trend);
	tcase_add_test(core, tenants_do_not_mix);
	tcase_add_test(err, bad_windows);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(stats_suite)
