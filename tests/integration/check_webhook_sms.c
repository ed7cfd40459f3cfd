/*
 * check_webhook_sms.c - POST /webhooks/sms/{dealership_id} over real
 * HTTP: nginx, cgi-bin/sms and PostgreSQL with the demo seed.
 *
 * Requests are signed here as Twilio signs them, independently of
 * lib/twilio: HMAC-SHA1 keyed with the stack's NORVALT_TWILIO_AUTH_TOKEN
 * over NORVALT_PUBLIC_URL + path + the parameters sorted by name, base64
 * through EVP_EncodeBlock.  Each test uses its own phone numbers and
 * MessageSids (a per-run tag), so duplicate detection never joins two
 * tests' leads; the unchecked teardown deletes what the run created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define MGR		"user_tesla_manager"
#define MGR_ORG		"org_tesla_oslo"
#define TWIML		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
#define NPHONES		20

static Suite *webhook_sms_suite(void);

static char tag[16];		/* per run, lower-case letters */
static unsigned phone_base;	/* per run: Norwegian mobiles 9xxxxxxx */

struct pair {
	const char	*name;
	const char	*value;
};

/* ------------------------------------------------------------ helpers */

/* "+479xxxxxxx", unique to this run and k < NPHONES. */
static void
mkphone(char *out, size_t n, unsigned k)
{
	snprintf(out, n, "+479%07u", (phone_base + k) % 10000000u);
}

static void
mksid(char *out, size_t n, unsigned k)
{
	snprintf(out, n, "SM%s%04u", tag, k);
}

static int
pair_cmp(const void *x, const void *y)
{
	return strcmp(((const struct pair *)x)->name,
	    ((const struct pair *)y)->name);
}

/* Append s form-encoded ('+' for space, %XX for the rest) to out. */
static void
encode(char *out, size_t n, const char *s)
{
	size_t o = strlen(out);

	for (; *s != '\0' && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
			out[o++] = (char)c;
		else if (c == ' ')
			out[o++] = '+';
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/*
 * Form body of p[0..np) into body, and the X-Twilio-Signature header for
 * it, posted to path, into hdr (token from the stack's environment).
 */
static void
sign(const char *path, struct pair *p, size_t np, char *body, size_t bn,
    char *hdr, size_t hn)
{
	static char data[16384];
	unsigned char mac[EVP_MAX_MD_SIZE], b64[64];
	const char *token = nv_test_env("NORVALT_TWILIO_AUTH_TOKEN");
	unsigned int mlen = 0;
	size_t i;

	body[0] = '\0';
	for (i = 0; i < np; i++) {
		if (i > 0)
			strncat(body, "&", bn - strlen(body) - 1);
		encode(body, bn, p[i].name);
		strncat(body, "=", bn - strlen(body) - 1);
		encode(body, bn, p[i].value);
	}
	qsort(p, np, sizeof(*p), pair_cmp);
	snprintf(data, sizeof(data), "%s%s", nv_test_env("NORVALT_PUBLIC_URL"),
	    path);
	for (i = 0; i < np; i++) {
		strncat(data, p[i].name, sizeof(data) - strlen(data) - 1);
		strncat(data, p[i].value, sizeof(data) - strlen(data) - 1);
	}
	ck_assert_ptr_nonnull(HMAC(EVP_sha1(), token, (int)strlen(token),
	    (const unsigned char *)data, strlen(data), mac, &mlen));
	EVP_EncodeBlock(b64, mac, (int)mlen);
	snprintf(hdr, hn, "X-Twilio-Signature: %s", (const char *)b64);
}

/*
 * POST an inbound SMS from phone with text and sid to dealer's webhook,
 * signed for sign_dealer's URL (normally dealer), with content type ctype.
 * sig: NULL signs correctly, "" sends no signature, else sent as is.
 */
static void
sms_full(const char *dealer, const char *sign_dealer, const char *phone,
    const char *text, const char *sid, const char *ctype, const char *sig,
    struct nv_test_http *r)
{
	static char body[8192];
	char path[128], spath[128], hdr[128], ct[128];
	struct pair p[6];
	const char *hdrs[3] = { NULL, NULL, NULL };
	size_t n = 0;

	p[0].name = "MessageSid";
	p[0].value = sid;
	p[1].name = "From";
	p[1].value = phone;
	p[2].name = "To";
	p[2].value = "+4759446000";
	p[3].name = "Body";
	p[3].value = text;
	p[4].name = "AccountSid";
	p[4].value = "AC0123456789abcdef0123456789abcdef";
	p[5].name = "NumMedia";
	p[5].value = "0";
	snprintf(path, sizeof(path), "/webhooks/sms/%s", dealer);
	snprintf(spath, sizeof(spath), "/webhooks/sms/%s", sign_dealer);
	sign(spath, p, 6, body, sizeof(body), hdr, sizeof(hdr));
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	hdrs[n++] = ct;
	if (sig == NULL)
		hdrs[n++] = hdr;
	else if (*sig != '\0') {
		snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s", sig);
		hdrs[n++] = hdr;
	}
	nv_test_http("POST", path, body, strlen(body), hdrs, r);
}

static void
sms(const char *phone, const char *text, const char *sid,
    struct nv_test_http *r)
{
	sms_full(TESLA, TESLA, phone, text, sid,
	    "application/x-www-form-urlencoded", NULL, r);
}

/* An accepted SMS: 200 with the empty TwiML document. */
static void
assert_twiml(const struct nv_test_http *r)
{
	char *ct;

	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(r->body, TWIML);
	ct = nv_test_http_header(r, "Content-Type");
	ck_assert_ptr_nonnull(ct);
	ck_assert_str_eq(ct, "text/xml");
	free(ct);
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
leads_of(const char *phone)
{
	return count_in(TESLA, "SELECT count(*) FROM leads WHERE phone = $1",
	    phone, NULL);
}

static long
messages_of(const char *phone)
{
	return count_in(TESLA, "SELECT count(*) FROM conversations c JOIN"
	    " leads l ON l.id = c.lead_id WHERE l.phone = $1"
	    " AND c.direction = 'inbound' AND c.channel = 'sms'", phone, NULL);
}

static long
jobs_of(const char *phone)
{
	return count_in(TESLA, "SELECT count(*) FROM jobs j JOIN leads l"
	    " ON l.id = j.lead_id WHERE l.phone = $1 AND j.kind = 'reply'",
	    phone, NULL);
}

static long
optouts_of(const char *dealer, const char *phone)
{
	return count_in(dealer, "SELECT count(*) FROM sms_optouts WHERE"
	    " phone = $1", phone, NULL);
}

/* The id of the lead with phone, malloc'd. */
static char *
lead_id(const char *phone)
{
	PGconn *c = app();
	PGresult *res;
	char *id;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", TESLA, NULL));
	res = nv_test_exec(c, "SELECT id FROM leads WHERE phone = $1", phone,
	    NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	id = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return id;
}

/* GET path as Tesla's manager; the parsed body (status must be 200). */
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
	j = cJSON_Parse(r.body);
	ck_assert_ptr_nonnull(j);
	nv_test_http_free(&r);
	return j;
}

static const char *
str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", name);
	return v->valuestring;
}

static void
setup_tag(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = (unsigned long)time(NULL) * 1000003ul ^
	    (unsigned long)getpid();
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
	phone_base = (unsigned)(((unsigned long)time(NULL) * 137ul +
	    (unsigned long)getpid() * 11ul) % 9000000ul);
}

static void
cleanup_dealer(PGconn *c, const char *dealer)
{
	char phone[32], keys[64];
	unsigned k;

	snprintf(keys, sizeof(keys), "SM%s%%", tag);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	for (k = 0; k < NPHONES; k++) {
		mkphone(phone, sizeof(phone), k);
		PQclear(nv_test_exec(c, "DELETE FROM leads WHERE phone = $1",
		    phone, NULL));
		PQclear(nv_test_exec(c, "DELETE FROM sms_optouts WHERE"
		    " phone = $1", phone, NULL));
	}
	PQclear(nv_test_exec(c, "DELETE FROM idempotency_keys WHERE"
	    " scope = 'webhook:sms' AND key LIKE $1", keys, NULL));
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

/* ------------------------------------------------------------------ core */

START_TEST(new_sms_creates_lead)
{
	struct nv_test_http r;
	char phone[32], sid[64], path[128], *id;
	cJSON *lead, *msgs, *m;

	mkphone(phone, sizeof(phone), 0);
	mksid(sid, sizeof(sid), 0);
	sms(phone, "Hei! Er Model Y-en på lager ledig for prøvekjøring?",
	    sid, &r);
	assert_twiml(&r);
	ck_assert_ptr_nonnull(strstr(r.headers, "X-Request-Id"));
	nv_test_http_free(&r);

	id = lead_id(phone);
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "sms");
	ck_assert_str_eq(str(lead, "phone"), phone);
	ck_assert_str_eq(str(lead, "status"), "new");
	ck_assert_str_eq(str(lead, "dealership_id"), TESLA);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(lead, "metadata"), "sms"),
	    "message_sid"), sid);
	cJSON_Delete(lead);

	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	msgs = get_as_manager(path);
	m = cJSON_GetObjectItemCaseSensitive(msgs, "data");
	ck_assert_int_eq(cJSON_GetArraySize(m), 1);
	m = cJSON_GetArrayItem(m, 0);
	ck_assert_str_eq(str(m, "direction"), "inbound");
	ck_assert_str_eq(str(m, "channel"), "sms");
	ck_assert_str_eq(str(m, "sender"), "customer");
	ck_assert_str_eq(str(m, "body"),
	    "Hei! Er Model Y-en på lager ledig for prøvekjøring?");
	cJSON_Delete(msgs);
	ck_assert_int_eq(jobs_of(phone), 1);
	/* Another dealership sees none of it. */
	ck_assert_int_eq(count_in(VW, "SELECT count(*) FROM leads WHERE"
	    " phone = $1", phone, NULL), 0);
	free(id);
}
END_TEST

START_TEST(second_sms_joins_lead)
{
	struct nv_test_http r;
	char phone[32], sid[64], *id1, *id2;

	mkphone(phone, sizeof(phone), 1);
	mksid(sid, sizeof(sid), 10);
	sms(phone, "Hei, hva koster Model 3?", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	id1 = lead_id(phone);
	mksid(sid, sizeof(sid), 11);
	sms(phone, "Og med hengerfeste?", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	id2 = lead_id(phone);
	ck_assert_str_eq(id1, id2);
	ck_assert_int_eq(leads_of(phone), 1);
	ck_assert_int_eq(messages_of(phone), 2);
	/* The first reply job, and a follow-up naming the second SMS. */
	ck_assert_int_eq(jobs_of(phone), 2);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs j JOIN"
	    " conversations c ON c.id::text = j.payload->>'message_id'"
	    " WHERE j.lead_id = $1::uuid AND j.kind = 'reply'"
	    " AND j.payload->'follow_up' = 'true' AND c.lead_id = j.lead_id"
	    " AND c.body = $2", id1, "Og med hengerfeste?"), 1);
	/* Twilio retries the second SMS: nothing more is queued. */
	sms(phone, "Og med hengerfeste?", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(messages_of(phone), 2);
	ck_assert_int_eq(jobs_of(phone), 2);
	free(id1);
	free(id2);
}
END_TEST

START_TEST(retry_same_sid_changes_nothing)
{
	struct nv_test_http r;
	char phone[32], sid[64];
	int i;

	mkphone(phone, sizeof(phone), 2);
	mksid(sid, sizeof(sid), 20);
	for (i = 0; i < 3; i++) {
		sms(phone, "Ring meg", sid, &r);
		assert_twiml(&r);
		nv_test_http_free(&r);
	}
	ck_assert_int_eq(leads_of(phone), 1);
	ck_assert_int_eq(messages_of(phone), 1);
	ck_assert_int_eq(jobs_of(phone), 1);
}
END_TEST

START_TEST(stop_from_unknown_number)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 3);
	mksid(sid, sizeof(sid), 30);
	sms(phone, " stop ", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 1);
	ck_assert_int_eq(optouts_of(VW, phone), 0);
	ck_assert_int_eq(leads_of(phone), 0);
	/* A retry of the same STOP changes nothing either. */
	sms(phone, " stop ", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 1);
	ck_assert_int_eq(leads_of(phone), 0);
}
END_TEST

START_TEST(stop_and_start_on_lead)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 4);
	mksid(sid, sizeof(sid), 40);
	sms(phone, "Interessert i en Model S", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(jobs_of(phone), 1);

	mksid(sid, sizeof(sid), 41);
	sms(phone, "STOPP", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 1);
	ck_assert_int_eq(leads_of(phone), 1);
	ck_assert_int_eq(messages_of(phone), 2);
	ck_assert_int_eq(jobs_of(phone), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE provider_id = $1 AND body = 'STOPP'", sid, NULL), 1);

	/* A second opt-out keyword keeps one row. */
	mksid(sid, sizeof(sid), 42);
	sms(phone, "avslutt", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 1);

	mksid(sid, sizeof(sid), 43);
	sms(phone, "Start", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 0);
	ck_assert_int_eq(messages_of(phone), 4);
	ck_assert_int_eq(jobs_of(phone), 1);
	ck_assert_int_eq(leads_of(phone), 1);

	/* Twilio retrying the old STOP does not opt the number out again. */
	mksid(sid, sizeof(sid), 41);
	sms(phone, "STOPP", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(optouts_of(TESLA, phone), 0);
	ck_assert_int_eq(messages_of(phone), 4);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(signature_missing_or_bad_is_401)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 5);
	mksid(sid, sizeof(sid), 50);
	sms_full(TESLA, TESLA, phone, "Hei", sid,
	    "application/x-www-form-urlencoded", "", &r);
	ck_assert_msg(r.status == 401, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);
	sms_full(TESLA, TESLA, phone, "Hei", sid,
	    "application/x-www-form-urlencoded",
	    "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	/* Signed for another URL (VW's webhook), posted to Tesla's. */
	sms_full(TESLA, VW, phone, "Hei", sid,
	    "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_of(phone), 0);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM idempotency_keys"
	    " WHERE key = $1", sid, NULL), 0);
}
END_TEST

START_TEST(wrong_content_type_is_415)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 6);
	mksid(sid, sizeof(sid), 60);
	sms_full(TESLA, TESLA, phone, "Hei", sid, "application/json", NULL,
	    &r);
	ck_assert_msg(r.status == 415, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "unsupported_media_type");
	ck_assert_ptr_nonnull(strstr(r.headers, "application/json"));
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_of(phone), 0);
}
END_TEST

START_TEST(unknown_dealership_is_404)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 7);
	mksid(sid, sizeof(sid), 70);
	sms_full("7e570000-0000-4000-8000-00000000dead",
	    "7e570000-0000-4000-8000-00000000dead", phone, "Hei", sid,
	    "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

START_TEST(malformed_dealership_is_404)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 8);
	mksid(sid, sizeof(sid), 80);
	sms_full("not-a-uuid", "not-a-uuid", phone, "Hei", sid,
	    "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

START_TEST(sender_not_a_phone_is_422)
{
	struct nv_test_http r;
	char sid[64];

	mksid(sid, sizeof(sid), 90);
	sms("Telenor", "Din faktura er klar", sid, &r);
	ck_assert_msg(r.status == 422, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "validation_failed");
	ck_assert_ptr_nonnull(strstr(r.body, "\"From\""));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(get_is_405)
{
	struct nv_test_http r;

	nv_test_http("GET", "/webhooks/sms/" TESLA, NULL, 0, NULL, &r);
	ck_assert_msg(r.status == 405, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
}
END_TEST

/*
 * PostgreSQL stopped: 503 in the JSON shape (Twilio retries), and the
 * same request after the restart stores exactly one lead.
 */
START_TEST(database_down_is_503)
{
	struct nv_test_http r;
	char phone[32], sid[64];
	int i;

	mkphone(phone, sizeof(phone), 15);
	mksid(sid, sizeof(sid), 150);
	nv_test_pg_stop();
	/* Every worker finds its connection dead: ask more than once. */
	for (i = 0; i < 4; i++) {
		sms(phone, "Er dere der?", sid, &r);
		ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
		nv_test_assert_error(r.body, "service_unavailable");
		nv_test_http_free(&r);
	}
	nv_test_pg_start();
	sms(phone, "Er dere der?", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	sms(phone, "Er dere der?", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_of(phone), 1);
	ck_assert_int_eq(messages_of(phone), 1);
	ck_assert_int_eq(jobs_of(phone), 1);
}
END_TEST

/*
 * Without NORVALT_TWILIO_AUTH_TOKEN nothing can be verified: 503 in the
 * JSON shape and nothing stored, for a request that is otherwise valid.
 */
START_TEST(no_auth_token_is_503)
{
	struct nv_test_http r;
	char phone[32], sid[64];

	mkphone(phone, sizeof(phone), 16);
	mksid(sid, sizeof(sid), 160);
	nv_test_app_restart("sms", "NORVALT_TWILIO_AUTH_TOKEN=");
	sms(phone, "Hei", sid, &r);
	nv_test_app_restart("sms", NULL);
	ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "service_unavailable");
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_of(phone), 0);
	/* Restored: the same request is taken in. */
	sms(phone, "Hei", sid, &r);
	assert_twiml(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_of(phone), 1);
}
END_TEST

static Suite *
webhook_sms_suite(void)
{
	Suite *s = suite_create("webhook_sms");
	TCase *core, *errors, *outage;

	setup_tag();
	core = tcase_create("core");
	tcase_set_timeout(core, 60);
	tcase_add_unchecked_fixture(core, NULL, teardown_all);
	tcase_add_test(core, new_sms_creates_lead);
	tcase_add_test(core, second_sms_joins_lead);
	tcase_add_test(core, retry_same_sid_changes_nothing);
	tcase_add_test(core, stop_from_unknown_number);
	tcase_add_test(core, stop_and_start_on_lead);
	suite_add_tcase(s, core);

	errors = tcase_create("errors");
	tcase_set_timeout(errors, 120);
	tcase_add_unchecked_fixture(errors, NULL, teardown_all);
	tcase_add_test(errors, signature_missing_or_bad_is_401);
	tcase_add_test(errors, wrong_content_type_is_415);
	tcase_add_test(errors, unknown_dealership_is_404);
	tcase_add_test(errors, malformed_dealership_is_404);
	tcase_add_test(errors, sender_not_a_phone_is_422);
	tcase_add_test(errors, get_is_405);
	tcase_add_test(errors, no_auth_token_is_503);
	suite_add_tcase(s, errors);

	outage = tcase_create("outage");
	tcase_set_timeout(outage, 180);
	tcase_add_unchecked_fixture(outage, NULL, teardown_all);
	tcase_add_test(outage, database_down_is_503);
	suite_add_tcase(s, outage);
	return s;
}

NV_TEST_MAIN(webhook_sms_suite)
