/*
 * check_webhook_adf.c - POST /webhooks/adf/{dealership_id} over real HTTP:
 * nginx, cgi-bin/adf and PostgreSQL with the demo seed.
 *
 * Tesla Oslo has no webhook secret; VW Bergen has one, so its posts need
 * X-Norvalt-Signature (computed here with OpenSSL).  Every document uses
 * e-mail addresses and phone numbers unique to the run (a per-run tag), so
 * duplicate detection never joins two tests' leads; the unchecked
 * teardown deletes the leads whose kept payload names the tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define VW_SECRET	"whsec_demo_vw_bergen_2f6b1c9e"
#define MGR		"user_tesla_manager"
#define MGR_ORG		"org_tesla_oslo"
#define XML		"application/xml"

static Suite *webhook_adf_suite(void);

static char tag[32];		/* per run, lower-case letters */
static unsigned phone_base;	/* per run: 8-digit Norwegian mobiles */

/* ------------------------------------------------------------ helpers */

static void
setup_tag(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = (unsigned long)time(NULL) * 1000033ul ^
	    ((unsigned long)getpid() << 3);
	size_t i;

	if (tag[0] != '\0')
		return;
	for (i = 0; i < 10; i++) {
		tag[i] = letters[v % 26];
		v /= 26;
		if (v == 0)
			v = (unsigned long)time(NULL) + i * 7919ul;
	}
	tag[i] = '\0';
	phone_base = (unsigned)(((unsigned long)time(NULL) * 173ul +
	    (unsigned long)getpid() * 11ul) % 9000000ul);
}

static void
mkemail(char *out, size_t n, const char *word)
{
	snprintf(out, n, "%s.%s@example.no", word, tag);
}

static void
mkphone(char *out, size_t n, unsigned k)
{
	snprintf(out, n, "4%07u", (phone_base + k) % 10000000u);
}

/*
 * An ADF document for one customer (email and phone may be NULL), with a
 * test-drive vehicle and a trade-in; the tag is in the id element.
 */
static void
mkadf(char *out, size_t n, const char *email, const char *phone)
{
	char e[256] = "", p[128] = "";

	if (email != NULL)
		snprintf(e, sizeof(e), "<email>%s</email>", email);
	if (phone != NULL)
		snprintf(p, sizeof(p), "<phone type=\"cellphone\">%s</phone>",
		    phone);
	snprintf(out, n,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<?adf version=\"1.0\"?>\n"
	    "<adf><prospect status=\"new\">"
	    "<id sequence=\"1\" source=\"check\">%s</id>"
	    "<requestdate>2026-11-1T9:5:00</requestdate>"
	    "<vehicle interest=\"trade-in\" status=\"used\"><year>2017</year>"
	    "<make>Volkswagen</make><model>e-Golf</model></vehicle>"
	    "<vehicle interest=\"test-drive\" status=\"new\"><year>2026</year>"
	    "<make>Tesla</make><model>Model Y</model></vehicle>"
	    "<customer><contact><name part=\"first\">Kari</name>"
	    "<name part=\"last\">Ødegård</name>%s%s</contact>"
	    "<comments><![CDATA[Kan jeg prøvekjøre på lørdag?]]></comments>"
	    "</customer>"
	    "<vendor><vendorname>Tesla Oslo</vendorname></vendor>"
	    "<provider><name part=\"full\">AutoPortal</name>"
	    "<service>Test drive</service></provider>"
	    "</prospect></adf>\n", tag, e, p);
}

static void
post_n(const char *dealer, const char *body, size_t len, const char *ctype,
    const char *h1, const char *h2, struct nv_test_http *r)
{
	nv_test_webhook_post("adf", dealer, body, len, ctype, h1, h2, r);
}

static void
post(const char *dealer, const char *body, const char *ctype, const char *h1,
    const char *h2, struct nv_test_http *r)
{
	post_n(dealer, body, strlen(body), ctype, h1, h2, r);
}

static cJSON *
parse(const struct nv_test_http *r)
{
	cJSON *j = cJSON_Parse(r->body);

	ck_assert_msg(j != NULL, "not JSON (%ld): %s", r->status, r->body);
	return j;
}

/* The answer's lead_id, malloc'd. */
static char *
lead_id_of(const struct nv_test_http *r)
{
	cJSON *j = parse(r), *id;
	char *s;

	id = cJSON_GetObjectItemCaseSensitive(j, "lead_id");
	ck_assert_msg(cJSON_IsString(id), "no lead_id: %s", r->body);
	s = strdup(id->valuestring);
	cJSON_Delete(j);
	return s;
}

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

/* count(*) of sql ($1, $2 text params) in dealer's RLS context. */
static long
count_in(const char *dealer, const char *sql, const char *p1, const char *p2)
{
	PGconn *c = app();
	long n;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	n = nv_test_count(c, sql, p1, p2, NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return n;
}

static long
leads_with_email(const char *dealer, const char *email)
{
	return count_in(dealer, "SELECT count(*) FROM leads WHERE email_norm ="
	    " lower($1)", email, NULL);
}

static long
leads_of_run(const char *dealer)
{
	return count_in(dealer, "SELECT count(*) FROM leads WHERE source ="
	    " 'adf' AND metadata->>'payload' LIKE '%' || $1 || '%'", tag,
	    NULL);
}

static cJSON *
get_as_manager(const char *path)
{
	struct nv_test_http r;
	const char *hdrs[2];
	char *auth;
	cJSON *j;

	auth = nv_test_auth_header(MGR, MGR_ORG);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	free(auth);
	ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status,
	    r.body);
	j = parse(&r);
	nv_test_http_free(&r);
	return j;
}

/* The value at a dotted path of o; numbers index arrays. */
static const cJSON *
at(const cJSON *o, const char *path)
{
	char buf[256], *p, *save = NULL;
	const cJSON *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; p != NULL && v != NULL; p = save) {
		save = strchr(p, '.');
		if (save != NULL)
			*save++ = '\0';
		if (cJSON_IsArray(v))
			v = cJSON_GetArrayItem(v, (int)strtol(p, NULL, 10));
		else
			v = cJSON_GetObjectItemCaseSensitive(v, p);
	}
	return v;
}

static const char *
str(const cJSON *o, const char *path)
{
	const cJSON *v = at(o, path);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", path);
	return v->valuestring;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
cleanup_dealer(PGconn *c, const char *dealer)
{
	char keys[64];

	snprintf(keys, sizeof(keys), "%s%%", tag);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM leads WHERE source = 'adf' AND"
	    " metadata->>'payload' LIKE '%' || $1 || '%'", tag, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM idempotency_keys WHERE key LIKE"
	    " $1", keys, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
}

static void
teardown_all(void)
{
	PGconn *c = app();

	cleanup_dealer(c, TESLA);
	cleanup_dealer(c, VW);
	PQfinish(c);
}

/* ------------------------------------------------------------ tests */

START_TEST(adf_creates_lead)
{
	struct nv_test_http r;
	char email[128], phone[16], body[4096], path[128], e164[20];
	cJSON *lead, *msgs, *m;
	char *id;

	mkemail(email, sizeof(email), "kari");
	mkphone(phone, sizeof(phone), 1);
	mkadf(body, sizeof(body), email, phone);
	post(TESLA, body, XML, NULL, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":false"));
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "adf");
	ck_assert_str_eq(str(lead, "first_name"), "Kari");
	ck_assert_str_eq(str(lead, "last_name"), "Ødegård");
	ck_assert_str_eq(str(lead, "email"), email);
	snprintf(e164, sizeof(e164), "+47%s", phone);
	ck_assert_str_eq(str(lead, "phone"), e164);
	ck_assert_str_eq(str(lead, "vehicle_interest"), "2026 Tesla Model Y");
	ck_assert_str_eq(str(lead, "status"), "new");
	ck_assert_str_eq(str(lead, "metadata.adf.vendor.name"), "Tesla Oslo");
	ck_assert_str_eq(str(lead, "metadata.adf.provider.name"),
	    "AutoPortal");
	ck_assert_str_eq(str(lead, "metadata.adf.provider.service"),
	    "Test drive");
	ck_assert_str_eq(str(lead, "metadata.adf.requestdate"),
	    "2026-11-1T9:5:00");
	ck_assert_str_eq(str(lead, "metadata.adf.trade_ins.0.model"),
	    "e-Golf");
	ck_assert_str_eq(str(lead, "metadata.adf.vehicle.interest"),
	    "test-drive");
	ck_assert_ptr_nonnull(strstr(str(lead, "metadata.payload"), tag));
	cJSON_Delete(lead);

	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	msgs = get_as_manager(path);
	m = cJSON_GetObjectItemCaseSensitive(msgs, "data");
	ck_assert_int_eq(cJSON_GetArraySize(m), 1);
	m = cJSON_GetArrayItem(m, 0);
	ck_assert_str_eq(str(m, "direction"), "inbound");
	ck_assert_str_eq(str(m, "channel"), "email");
	ck_assert_str_eq(str(m, "body"), "Kan jeg prøvekjøre på lørdag?");
	cJSON_Delete(msgs);

	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply'", id, NULL), 1);
	free(id);

	/* The same person again: joins the lead. */
	post(TESLA, body, "text/xml; charset=utf-8", NULL, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":true"));
	nv_test_http_free(&r);
	/* Labelled with the type the ADF document itself suggests. */
	post(TESLA, body, "application/x-adf+xml", NULL, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
}
END_TEST

START_TEST(phone_only_lead)
{
	struct nv_test_http r;
	char phone[16], body[4096], path[128], e164[20];
	cJSON *lead;
	char *id;

	mkphone(phone, sizeof(phone), 2);
	mkadf(body, sizeof(body), NULL, phone);
	post(TESLA, body, XML, NULL, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	snprintf(e164, sizeof(e164), "+47%s", phone);
	ck_assert_str_eq(str(lead, "phone"), e164);
	ck_assert(cJSON_IsNull(at(lead, "email")));
	cJSON_Delete(lead);
	free(id);
	ck_assert_int_ge(leads_of_run(TESLA), 1);
}
END_TEST

START_TEST(signature_required_when_secret)
{
	struct nv_test_http r;
	char email[128], body[4096], sig[128];

	mkemail(email, sizeof(email), "signed");
	mkadf(body, sizeof(body), email, NULL);

	post(VW, body, XML, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);

	post(VW, body, XML, "X-Norvalt-Signature: sha256=00ff", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	/* signed over another body */
	nv_test_norvalt_signature(VW_SECRET, body, strlen(body) - 1, sig,
	    sizeof(sig));
	post(VW, body, XML, sig, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(VW, email), 0);

	nv_test_norvalt_signature(VW_SECRET, body, strlen(body), sig,
	    sizeof(sig));
	post(VW, body, "text/xml", sig, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(VW, email), 1);
	/* Tesla's manager does not see VW's lead: RLS */
	ck_assert_int_eq(leads_with_email(TESLA, email), 0);
}
END_TEST

START_TEST(idempotency_key_replays)
{
	struct nv_test_http r1, r2;
	char email[128], body[4096], key[128];

	mkemail(email, sizeof(email), "idem");
	mkadf(body, sizeof(body), email, NULL);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-adf-1", tag);
	post(TESLA, body, XML, key, NULL, &r1);
	ck_assert_msg(r1.status == 201, "%ld %s", r1.status, r1.body);
	post(TESLA, body, XML, key, NULL, &r2);
	ck_assert_int_eq(r2.status, 201);
	ck_assert_str_eq(r2.body, r1.body);
	nv_test_http_free(&r1);
	nv_test_http_free(&r2);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
}
END_TEST

START_TEST(request_errors)
{
	static const char xxe[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE adf "
	    "[<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<adf><prospect>"
	    "<customer><contact><name part=\"full\">&x;</name>"
	    "<email>xxe@example.no</email></contact><comments>&x;</comments>"
	    "</customer></prospect></adf>";
	static const char laughs[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE adf"
	    " [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;"
	    "&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;"
	    "&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;"
	    "&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">]>"
	    "<adf><prospect><customer><contact><email>bl@example.no</email>"
	    "</contact><comments>&g;&g;&g;&g;</comments></customer>"
	    "</prospect></adf>";
	struct nv_test_http r;
	struct timespec t0;
	char email[128], body[4096], *big;
	size_t n = 1024 * 1024 + 16;
	double ms;

	mkemail(email, sizeof(email), "errors");
	mkadf(body, sizeof(body), email, NULL);

	post(TESLA, body, "application/json", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);
	post(TESLA, body, NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_http_free(&r);

	post(TESLA, "<adf><prospect></adf>", XML, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	post(TESLA, xxe, XML, NULL, NULL, &r);
	ms = ms_since(&t0);
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	ck_assert_ptr_null(strstr(r.body, "root:"));
	ck_assert_msg(ms < 100.0, "XXE answered in %.1f ms", ms);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, "xxe@example.no"), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	post(TESLA, laughs, "text/xml", NULL, NULL, &r);
	ms = ms_since(&t0);
	ck_assert_int_eq(r.status, 400);
	ck_assert_msg(ms < 100.0, "billion laughs answered in %.1f ms", ms);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, "bl@example.no"), 0);

	post(TESLA, "<adf><prospect><customer><contact><name part=\"full\">"
	    "No Contact</name></contact></customer></prospect></adf>", XML,
	    NULL, NULL, &r);
	ck_assert_int_eq(r.status, 422);
	nv_test_assert_error(r.body, "validation_failed");
	nv_test_http_free(&r);

	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	memcpy(big, "<adf>", 5);
	memcpy(big + n - 6, "</adf>", 6);
	post_n(TESLA, big, n, XML, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 413);
	nv_test_assert_error(r.body, "payload_too_large");
	nv_test_http_free(&r);
	free(big);

	post("not-a-uuid", body, XML, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_http_free(&r);

	post("99999999-9999-4999-8999-999999999999", body, XML, NULL, NULL,
	    &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);

	nv_test_http("GET", "/webhooks/adf/" TESLA, NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_http_free(&r);

	ck_assert_int_eq(leads_with_email(TESLA, email), 0);
}
END_TEST

/*
 * PostgreSQL stopped: 503 in the JSON shape, and the same document after
 * the restart (a feed retrying, with its Idempotency-Key) is 201 with
 * exactly one lead.
 */
START_TEST(database_down_is_503)
{
	struct nv_test_http r;
	char email[128], body[4096], key[128];
	int i;

	mkemail(email, sizeof(email), "outage");
	mkadf(body, sizeof(body), email, NULL);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-adf-outage", tag);
	nv_test_pg_stop();
	for (i = 0; i < 4; i++) {
		post(TESLA, body, XML, key, NULL, &r);
		ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
		nv_test_assert_error(r.body, "service_unavailable");
		nv_test_http_free(&r);
	}
	nv_test_pg_start();
	post(TESLA, body, XML, key, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs j JOIN"
	    " leads l ON l.id = j.lead_id WHERE l.email_norm = $1"
	    " AND j.kind = $2", email, "reply"), 1);
}
END_TEST

static Suite *
webhook_adf_suite(void)
{
	Suite *s = suite_create("webhook_adf");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"),
	    *outage = tcase_create("outage");

	setup_tag();
	tcase_add_unchecked_fixture(core, NULL, teardown_all);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, adf_creates_lead);
	tcase_add_test(core, phone_only_lead);
	tcase_add_test(core, signature_required_when_secret);
	tcase_add_test(core, idempotency_key_replays);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(errors, NULL, teardown_all);
	tcase_set_timeout(errors, 60);
	tcase_add_test(errors, request_errors);
	suite_add_tcase(s, errors);

	tcase_add_unchecked_fixture(outage, NULL, teardown_all);
	tcase_set_timeout(outage, 180);
	tcase_add_test(outage, database_down_is_503);
	suite_add_tcase(s, outage);
	return s;
}

NV_TEST_MAIN(webhook_adf_suite)
