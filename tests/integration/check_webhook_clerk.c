/*
 * check_webhook_clerk.c - POST /webhooks/clerk over real HTTP: nginx,
 * cgi-bin/clerk and PostgreSQL, with deliveries signed here the way Svix
 * signs them (HMAC-SHA256 of OpenSSL, base64 of EVP_EncodeBlock) with the
 * test stack's NORVALT_CLERK_WEBHOOK_SECRET (scripts/stack.sh).
 *
 * Organisation and user ids carry a per-run tag, so nothing joins another
 * test's rows.  Rows are checked as the owner with the dealership's context
 * set, and access through dev tokens (GET /api/me).  The unchecked
 * teardown deletes the run's dealerships and users.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"

static Suite *webhook_clerk_suite(void);

static char tag[32];
static unsigned long seq;

/* ------------------------------------------------------------ helpers */

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

static PGconn *
owner(void)
{
	return nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
}

/* A fresh id with this run's tag: "<kind>_ck<tag>_<word>". */
static char *
mkid(const char *kind, const char *word)
{
	char *s;

	ck_assert(asprintf(&s, "%s_ck%s_%s", kind, tag, word) > 0);
	return s;
}

/* "v1,<sig>" of id.ts.body under secret sec (whsec_<base64>). */
static void
sign(const char *sec, const char *id, const char *ts, const char *body,
    char *out, size_t n)
{
	unsigned char key[256], mac[EVP_MAX_MD_SIZE], b64[64];
	unsigned int mlen = 0;
	size_t sl;
	char *content;
	int klen, cl;

	ck_assert(strncmp(sec, "whsec_", 6) == 0);
	sl = strlen(sec + 6);
	ck_assert(sl < sizeof(key));
	klen = EVP_DecodeBlock(key, (const unsigned char *)sec + 6, (int)sl);
	ck_assert_int_gt(klen, 0);
	if (sec[6 + sl - 1] == '=')
		klen--;
	if (sec[6 + sl - 2] == '=')
		klen--;
	cl = asprintf(&content, "%s.%s.%s", id, ts, body);
	ck_assert(cl > 0);
	HMAC(EVP_sha256(), key, klen, (unsigned char *)content, (size_t)cl,
	    mac, &mlen);
	free(content);
	EVP_EncodeBlock(b64, mac, (int)mlen);
	snprintf(out, n, "v1,%s", (const char *)b64);
}

/*
 * POST body as delivery id, signed with sec (NULL: the stack's secret) at
 * now + skew seconds; prefix "svix" or "webhook" names the headers.
 */
static void
deliver_as(const char *prefix, const char *sec, long skew, const char *id,
    const char *body, struct nv_test_http *r)
{
	char ts[32], sig[128], hid[300], hts[64], hsig[200];
	const char *hdrs[5];

	if (sec == NULL)
		sec = nv_test_env("NORVALT_CLERK_WEBHOOK_SECRET");
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) + skew);
	sign(sec, id, ts, body, sig, sizeof(sig));
	snprintf(hid, sizeof(hid), "%s-id: %s", prefix, id);
	snprintf(hts, sizeof(hts), "%s-timestamp: %s", prefix, ts);
	snprintf(hsig, sizeof(hsig), "%s-signature: %s", prefix, sig);
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = hid;
	hdrs[2] = hts;
	hdrs[3] = hsig;
	hdrs[4] = NULL;
	nv_test_http("POST", "/webhooks/clerk", body, strlen(body), hdrs, r);
}

/* Deliver under a new svix-id; returns that id (malloc'd). */
static char *
deliver(const char *body, struct nv_test_http *r)
{
	char *id;

	/* Each test runs in its own fork: the pid keeps the ids apart. */
	ck_assert(asprintf(&id, "msg_ck%s_%ld_%lu", tag, (long)getpid(),
	    ++seq) > 0);
	deliver_as("svix", NULL, 0, id, body, r);
	return id;
}

/* Deliver, expect 200 {"received": true}. */
static void
ok(const char *fmt, ...)
{
	struct nv_test_http r;
	va_list ap;
	char *body;

	va_start(ap, fmt);
	ck_assert(vasprintf(&body, fmt, ap) > 0);
	va_end(ap);
	free(deliver(body, &r));
	ck_assert_msg(r.status == 200, "%ld %s for %s", r.status, r.body,
	    body);
	ck_assert_msg(strstr(r.body, "\"received\":true") != NULL, "%s",
	    r.body);
	nv_test_http_free(&r);
	free(body);
}

static void
org_event(const char *type, const char *org, const char *name)
{
	if (name != NULL)
		ok("{\"object\":\"event\",\"type\":\"%s\",\"data\":{\"id\":"
		    "\"%s\",\"object\":\"organization\",\"name\":\"%s\","
		    "\"slug\":\"x\"},\"timestamp\":1793520000000}", type, org,
		    name);
	else
		ok("{\"object\":\"event\",\"type\":\"%s\",\"data\":{\"id\":"
		    "\"%s\",\"object\":\"organization\",\"deleted\":true}}",
		    type, org);
}

static void
member_event(const char *type, const char *org, const char *user,
    const char *role, const char *email, const char *first, const char *last)
{
	ok("{\"object\":\"event\",\"type\":\"%s\",\"data\":{\"id\":"
	    "\"orgmem_%s\",\"object\":\"organization_membership\","
	    "\"role\":\"%s\",\"organization\":{\"id\":\"%s\",\"name\":\"X\"},"
	    "\"public_user_data\":{\"user_id\":\"%s\",\"identifier\":\"%s\","
	    "\"first_name\":\"%s\",\"last_name\":\"%s\"}}}", type, user, role,
	    org, user, email, first, last);
}

static void
user_event(const char *type, const char *user, const char *email,
    const char *first, const char *last)
{
	if (email == NULL) {
		ok("{\"type\":\"%s\",\"object\":\"event\",\"data\":{\"id\":"
		    "\"%s\",\"object\":\"user\",\"deleted\":true}}", type, user);
		return;
	}
	ok("{\"type\":\"%s\",\"object\":\"event\",\"data\":{\"id\":\"%s\","
	    "\"object\":\"user\",\"first_name\":\"%s\",\"last_name\":\"%s\","
	    "\"primary_email_address_id\":\"idn_2\",\"email_addresses\":["
	    "{\"id\":\"idn_1\",\"email_address\":\"old.%s@example.no\"},"
	    "{\"id\":\"idn_2\",\"email_address\":\"%s\"}]}}", type, user, first,
	    last, tag, email);
}

/* The dealership of org (malloc'd) and its active flag; NULL if none. */
static char *
dealer_of(const char *org, int *active)
{
	PGconn *c = app();
	PGresult *r;
	char *id = NULL;

	r = nv_test_exec(c, "SELECT dealership_id, active FROM "
	    "nv_resolve_org($1)", org, NULL);
	if (PQntuples(r) == 1) {
		id = strdup(PQgetvalue(r, 0, 0));
		if (active != NULL)
			*active = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	}
	PQclear(r);
	PQfinish(c);
	return id;
}

/* "role|email|name|active" of user in dealer (as the owner), or "". */
static char *
user_row(const char *dealer, const char *user)
{
	PGconn *c = owner();
	PGresult *r;
	char *s;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	r = nv_test_exec(c, "SELECT role || '|' || coalesce(email, '') || '|'"
	    " || coalesce(name, '') || '|' || active::text FROM users"
	    " WHERE clerk_user_id = $1", user, NULL);
	s = strdup(PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	ck_assert_int_le(PQntuples(r), 1);
	PQclear(r);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return s;
}

static void
assert_user(const char *dealer, const char *user, const char *want)
{
	char *got = user_row(dealer, user);

	ck_assert_msg(strcmp(got, want) == 0, "user %s: \"%s\", want \"%s\"",
	    user, got, want);
	free(got);
}

/* GET /api/me as user in org: the status; *role the user's role. */
static long
me(const char *user, const char *org, char *role, size_t n)
{
	struct nv_test_http r;
	const char *hdrs[2];
	char *auth = nv_test_auth_header(user, org);
	cJSON *j, *u, *v;
	long st;

	hdrs[0] = auth;
	hdrs[1] = NULL;
	nv_test_http("GET", "/api/me", NULL, 0, hdrs, &r);
	free(auth);
	st = r.status;
	if (role != NULL && st == 200) {
		j = cJSON_Parse(r.body);
		ck_assert_ptr_nonnull(j);
		u = cJSON_GetObjectItemCaseSensitive(j, "user");
		v = cJSON_GetObjectItemCaseSensitive(u, "role");
		ck_assert(cJSON_IsString(v));
		snprintf(role, n, "%s", v->valuestring);
		cJSON_Delete(j);
	}
	nv_test_http_free(&r);
	return st;
}

/* An organisation with an admin and a member; returns the dealership. */
static char *
org_with_two(const char *org, const char *admin, const char *rep)
{
	char email[128];
	char *dealer;

	org_event("organization.created", org, "Clerk Bil AS");
	snprintf(email, sizeof(email), "%s@example.no", admin);
	member_event("organizationMembership.created", org, admin, "org:admin",
	    email, "Ada", "Admin");
	snprintf(email, sizeof(email), "%s@example.no", rep);
	member_event("organizationMembership.created", org, rep, "org:member",
	    email, "Rolf", "Rep");
	dealer = dealer_of(org, NULL);
	ck_assert_ptr_nonnull(dealer);
	return dealer;
}

/* ------------------------------------------------------------ fixtures */

static void
setup_all(void)
{
	snprintf(tag, sizeof(tag), "%lx%x", (unsigned long)time(NULL),
	    (unsigned)getpid() & 0xffff);
}

static void
teardown_all(void)
{
	PGconn *a = app(), *c = owner();
	PGresult *r;
	char pat[64];
	int i;

	snprintf(pat, sizeof(pat), "org_ck%s_%%", tag);
	/* The app sees no dealership without context: ask per known org. */
	r = nv_test_exec(a, "SELECT d.dealership_id FROM unnest(ARRAY["
	    "'seq','replay','bad','gone','leave','malformed','everywhere',"
	    "'everywhere2']) w, LATERAL nv_resolve_org('org_ck' || $1 || '_'"
	    " || w) d", tag, NULL);
	for (i = 0; i < PQntuples(r); i++) {
		const char *id = PQgetvalue(r, i, 0);

		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", id, NULL));
		PQclear(nv_test_exec(c, "DELETE FROM users", NULL));
		PQclear(nv_test_exec(c, "DELETE FROM audit_log", NULL));
		PQclear(nv_test_exec(c, "DELETE FROM dealerships", NULL));
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	PQclear(r);
	PQfinish(a);
	PQfinish(c);
}

/* ------------------------------------------------------------ tests */

START_TEST(sync_sequence)
{
	char *org = mkid("org", "seq"), *admin = mkid("user", "seqadmin"),
	    *rep = mkid("user", "seqrep");
	char want[512], email[128], role[32];
	char *dealer;
	int active = 0;

	dealer = org_with_two(org, admin, rep);
	free(dealer_of(org, &active));
	ck_assert(active);
	snprintf(want, sizeof(want), "admin|%s@example.no|Ada Admin|true",
	    admin);
	assert_user(dealer, admin, want);
	snprintf(want, sizeof(want), "sales_rep|%s@example.no|Rolf Rep|true",
	    rep);
	assert_user(dealer, rep, want);

	/* user.updated: the primary address (not the first) and the name. */
	snprintf(email, sizeof(email), "Ny.Adresse.%s@Example.no", tag);
	user_event("user.updated", admin, email, "Ada", "Lovelace");
	snprintf(want, sizeof(want), "admin|ny.adresse.%s@example.no|"
	    "Ada Lovelace|true", tag);
	assert_user(dealer, admin, want);

	/* The dealership and the token work. */
	ck_assert_int_eq(me(admin, org, role, sizeof(role)), 200);
	ck_assert_str_eq(role, "admin");
	ck_assert_int_eq(me(rep, org, role, sizeof(role)), 200);
	ck_assert_str_eq(role, "sales_rep");

	/* organization.updated renames; the name is what Clerk says. */
	org_event("organization.updated", org, "Clerk Bil Oslo AS");
	{
		PGconn *c = owner();

		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", dealer, NULL));
		ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM"
		    " dealerships WHERE name = 'Clerk Bil Oslo AS' AND"
		    " clerk_org_id = $1", org, NULL), 1);
		/* The changes were audited as the webhook. */
		ck_assert_int_ge(nv_test_count(c, "SELECT count(*) FROM"
		    " audit_log WHERE actor = 'webhook:clerk'", NULL), 3);
		PQclear(nv_test_exec(c, "COMMIT", NULL));
		PQfinish(c);
	}
	free(dealer);
	free(org);
	free(admin);
	free(rep);
}
END_TEST

START_TEST(replay_applies_once)
{
	char *org = mkid("org", "replay"), *user = mkid("user", "replayu");
	char body[1024], want[256];
	struct nv_test_http r;
	char *dealer, *id;

	org_event("organization.created", org, "Replay Bil AS");
	snprintf(body, sizeof(body), "{\"type\":\"organizationMembership."
	    "created\",\"data\":{\"role\":\"org:admin\",\"organization\":"
	    "{\"id\":\"%s\"},\"public_user_data\":{\"user_id\":\"%s\","
	    "\"identifier\":\"%s@example.no\",\"first_name\":\"Re\","
	    "\"last_name\":\"Play\"}}}", org, user, user);
	id = deliver(body, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, "duplicate"));
	nv_test_http_free(&r);
	dealer = dealer_of(org, NULL);
	ck_assert_ptr_nonnull(dealer);

	/* Demoted by a later event. */
	member_event("organizationMembership.updated", org, user, "org:member",
	    "x@example.no", "Re", "Play");
	snprintf(want, sizeof(want), "sales_rep|x@example.no|Re Play|true");
	assert_user(dealer, user, want);

	/* Svix delivers the first one again (new timestamp, same id). */
	deliver_as("svix", NULL, 0, id, body, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "\"duplicate\":true") != NULL, "%s",
	    r.body);
	nv_test_http_free(&r);
	assert_user(dealer, user, want);

	/* The same replay under the webhook-* header names. */
	deliver_as("webhook", NULL, 0, id, body, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":true"));
	nv_test_http_free(&r);
	assert_user(dealer, user, want);
	free(id);
	free(dealer);
	free(org);
	free(user);
}
END_TEST

START_TEST(bad_signature_is_401)
{
	char *org = mkid("org", "bad"), body[512], id[64], sig[128], ts[32];
	char hid[128], hts[64], hsig[200];
	const char *hdrs[5];
	struct nv_test_http r;
	char other[64];
	unsigned char key[32];

	memset(key, 7, sizeof(key));
	memcpy(other, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)other + 6, key, sizeof(key));
	snprintf(body, sizeof(body), "{\"type\":\"organization.created\","
	    "\"data\":{\"id\":\"%s\",\"name\":\"Bad AS\"}}", org);
	snprintf(id, sizeof(id), "msg_ck%s_bad", tag);

	/* Another secret. */
	deliver_as("svix", other, 0, id, body, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);
	/* Too old, and in the future. */
	deliver_as("svix", NULL, -600, id, body, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	deliver_as("svix", NULL, 600, id, body, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	/* Signed for another body. */
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	sign(nv_test_env("NORVALT_CLERK_WEBHOOK_SECRET"), id, ts, "{}", sig,
	    sizeof(sig));
	snprintf(hid, sizeof(hid), "svix-id: %s", id);
	snprintf(hts, sizeof(hts), "svix-timestamp: %s", ts);
	snprintf(hsig, sizeof(hsig), "svix-signature: v2,abc %s", sig);
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = hid;
	hdrs[2] = hts;
	hdrs[3] = hsig;
	hdrs[4] = NULL;
	nv_test_http("POST", "/webhooks/clerk", body, strlen(body), hdrs, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	/* No signature at all. */
	hdrs[3] = NULL;
	nv_test_http("POST", "/webhooks/clerk", body, strlen(body), hdrs, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);

	/* Nothing was created, and the id is still unused. */
	ck_assert_ptr_null(dealer_of(org, NULL));
	deliver_as("svix", NULL, 0, id, body, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(strstr(r.body, "duplicate"));
	nv_test_http_free(&r);
	free(org);
}
END_TEST

START_TEST(org_deleted_locks_out)
{
	char *org = mkid("org", "gone"), *admin = mkid("user", "goneadmin"),
	    *rep = mkid("user", "gonerep");
	char *dealer;
	int active = 1;

	dealer = org_with_two(org, admin, rep);
	ck_assert_int_eq(me(admin, org, NULL, 0), 200);
	org_event("organization.deleted", org, NULL);
	free(dealer_of(org, &active));
	ck_assert(!active);
	ck_assert_int_eq(me(admin, org, NULL, 0), 403);
	ck_assert_int_eq(me(rep, org, NULL, 0), 403);
	/* A later organization.updated does not bring it back. */
	org_event("organization.updated", org, "Clerk Bil AS");
	free(dealer_of(org, &active));
	ck_assert(!active);
	free(dealer);
	free(org);
	free(admin);
	free(rep);
}
END_TEST

START_TEST(membership_deleted_locks_out)
{
	char *org = mkid("org", "leave"), *admin = mkid("user", "leaveadmin"),
	    *rep = mkid("user", "leaverep");
	char *dealer, want[256];

	dealer = org_with_two(org, admin, rep);
	ck_assert_int_eq(me(rep, org, NULL, 0), 200);
	ok("{\"type\":\"organizationMembership.deleted\",\"data\":{"
	    "\"object\":\"organization_membership\",\"role\":\"org:member\","
	    "\"organization\":{\"id\":\"%s\"},\"public_user_data\":"
	    "{\"user_id\":\"%s\"}}}", org, rep);
	snprintf(want, sizeof(want), "sales_rep|%s@example.no|Rolf Rep|false",
	    rep);
	assert_user(dealer, rep, want);
	ck_assert_int_eq(me(rep, org, NULL, 0), 403);
	ck_assert_int_eq(me(admin, org, NULL, 0), 200);

	/* Joining again reactivates. */
	member_event("organizationMembership.created", org, rep, "org:manager",
	    "back@example.no", "Rolf", "Rep");
	assert_user(dealer, rep, "manager|back@example.no|Rolf Rep|true");
	ck_assert_int_eq(me(rep, org, NULL, 0), 200);
	free(dealer);
	free(org);
	free(admin);
	free(rep);
}
END_TEST

START_TEST(user_deleted_everywhere)
{
	char *org1 = mkid("org", "everywhere"), *org2 = mkid("org",
	    "everywhere2"), *user = mkid("user", "everywhereu");
	char *d1, *d2;

	org_event("organization.created", org1, "Ett AS");
	org_event("organization.created", org2, "To AS");
	member_event("organizationMembership.created", org1, user,
	    "org:admin", "a@example.no", "Per", "Hansen");
	member_event("organizationMembership.created", org2, user,
	    "org:member", "a@example.no", "Per", "Hansen");
	d1 = dealer_of(org1, NULL);
	d2 = dealer_of(org2, NULL);
	ck_assert_ptr_nonnull(d1);
	ck_assert_ptr_nonnull(d2);
	user_event("user.updated", user, "per@example.no", "Per", "Olsen");
	assert_user(d1, user, "admin|per@example.no|Per Olsen|true");
	assert_user(d2, user, "sales_rep|per@example.no|Per Olsen|true");
	user_event("user.deleted", user, NULL, NULL, NULL);
	assert_user(d1, user, "admin|per@example.no|Per Olsen|false");
	assert_user(d2, user, "sales_rep|per@example.no|Per Olsen|false");
	ck_assert_int_eq(me(user, org1, NULL, 0), 403);
	ck_assert_int_eq(me(user, org2, NULL, 0), 403);
	free(d1);
	free(d2);
	free(org1);
	free(org2);
	free(user);
}
END_TEST

START_TEST(malformed_and_ignored)
{
	struct nv_test_http r;
	char *org = mkid("org", "malformed"), body[256];

	free(deliver("{\"type\": ", &r));
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);
	free(deliver("{\"type\":\"user.created\"}", &r));
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);
	free(deliver("{\"type\":\"user.created\",\"data\":[]}", &r));
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);
	free(deliver("[1,2]", &r));
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);
	snprintf(body, sizeof(body), "{\"type\":\"organization.created\","
	    "\"data\":{\"name\":\"No Id AS\"}}");
	free(deliver(body, &r));
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);
	/* Types Norvalt does not use: acknowledged. */
	free(deliver("{\"type\":\"session.created\",\"data\":{\"id\":"
	    "\"sess_1\"}}", &r));
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"ignored\":true"));
	nv_test_http_free(&r);
	/* The delivery log is the definer's alone. */
	{
		PGconn *c = app();
		char st[6];

		nv_test_exec_err(c, st, "SELECT count(*) FROM clerk_events",
		    NULL);
		ck_assert_str_eq(st, "42501");
		nv_test_exec_err(c, st, "INSERT INTO clerk_events (svix_id,"
		    " type) VALUES ('x', 'y')", NULL);
		ck_assert_str_eq(st, "42501");
		PQfinish(c);
	}
	/* A membership of an unknown organisation creates nothing. */
	member_event("organizationMembership.created", org, "user_nobody",
	    "org:admin", "n@example.no", "No", "Body");
	ck_assert_ptr_null(dealer_of(org, NULL));
	free(org);
}
END_TEST

START_TEST(method_and_body_limit)
{
	struct nv_test_http r;
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n + 1);

	nv_test_http("GET", "/webhooks/clerk", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_http_free(&r);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[n] = '\0';
	free(deliver(big, &r));
	ck_assert_int_eq(r.status, 413);
	nv_test_http_free(&r);
	free(big);
}
END_TEST

/*
 * Without NORVALT_CLERK_WEBHOOK_SECRET nothing can be verified: 503 in
 * the JSON shape and no dealership made; restored, the event applies.
 */
START_TEST(no_secret_is_503)
{
	struct nv_test_http r;
	char *org = mkid("org", "nosecret"), body[512], *id;

	snprintf(body, sizeof(body), "{\"object\":\"event\",\"type\":"
	    "\"organization.created\",\"data\":{\"id\":\"%s\",\"object\":"
	    "\"organization\",\"name\":\"Uten Nøkkel AS\",\"slug\":\"x\"},"
	    "\"timestamp\":1793520000000}", org);
	nv_test_app_restart("clerk", "NORVALT_CLERK_WEBHOOK_SECRET=");
	id = deliver(body, &r);
	nv_test_app_restart("clerk", NULL);
	ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "service_unavailable");
	nv_test_http_free(&r);
	free(id);
	ck_assert_ptr_null(dealer_of(org, NULL));
	id = deliver(body, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	free(id);
	free(id = dealer_of(org, NULL));
	ck_assert_ptr_nonnull(id);
	free(org);
}
END_TEST

static Suite *
webhook_clerk_suite(void)
{
	Suite *s = suite_create("webhook_clerk");
	TCase *tc;

	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_test(tc, sync_sequence);
	tcase_add_test(tc, replay_applies_once);
	tcase_add_test(tc, org_deleted_locks_out);
	tcase_add_test(tc, membership_deleted_locks_out);
	tcase_add_test(tc, user_deleted_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_test(tc, bad_signature_is_401);
	tcase_add_test(tc, malformed_and_ignored);
	tcase_add_test(tc, method_and_body_limit);
	tcase_add_test(tc, no_secret_is_503);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(webhook_clerk_suite)
