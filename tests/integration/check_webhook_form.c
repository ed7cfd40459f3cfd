/*
 * check_webhook_form.c - POST /webhooks/form/{dealership_id} over real
 * HTTP: nginx, cgi-bin/webhooks and PostgreSQL with the demo seed.
 *
 * Tesla Oslo has no webhook secret; VW Bergen has one, so its posts need
 * X-Norvalt-Signature (computed here with OpenSSL).  Every test uses its
 * own e-mail addresses and phone numbers (a per-run tag), so duplicate
 * detection never joins two tests' leads, and counts are taken by those.
 * The unchecked teardown deletes what the run created.  The PostgreSQL
 * outage test stops the cluster itself and starts it again with
 * NV_PG_RESTART, so it runs last, in its own test case.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "../../lib/valid.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define VW_SECRET	"whsec_demo_vw_bergen_2f6b1c9e"
#define MGR		"user_tesla_manager"
#define MGR_ORG		"org_tesla_oslo"

static Suite *webhook_form_suite(void);

static char tag[32];		/* per run, lower-case letters and digits */
static unsigned phone_base;	/* per run: 8-digit Norwegian mobiles */

/* ------------------------------------------------------------ helpers */

static void
mkemail(char *out, size_t n, const char *word)
{
	snprintf(out, n, "%s.%s@example.no", word, tag);
}

/* A national number unique to this run and word n ("9xxxxxxx"). */
static void
mkphone(char *out, size_t n, unsigned k)
{
	snprintf(out, n, "9%07u", (phone_base + k) % 10000000u);
}

static void
post_n(const char *dealer, const char *body, size_t len, const char *ctype,
    const char *h1, const char *h2, struct nv_test_http *r)
{
	nv_test_webhook_post("form", dealer, body, len, ctype, h1, h2, r);
}

static void
post(const char *dealer, const char *body, const char *ctype, const char *h1,
    const char *h2, struct nv_test_http *r)
{
	post_n(dealer, body, strlen(body), ctype, h1, h2, r);
}

static void
post_json(const char *dealer, const char *body, struct nv_test_http *r)
{
	post(dealer, body, "application/json", NULL, NULL, r);
}

static cJSON *
parse(const struct nv_test_http *r)
{
	cJSON *j = cJSON_Parse(r->body);

	ck_assert_msg(j != NULL, "not JSON (%ld): %s", r->status, r->body);
	return j;
}

/* The answer's lead_id, malloc'd (NULL when null). */
static char *
lead_id_of(const struct nv_test_http *r)
{
	cJSON *j = parse(r), *id;
	char *s = NULL;

	id = cJSON_GetObjectItemCaseSensitive(j, "lead_id");
	if (cJSON_IsString(id))
		s = strdup(id->valuestring);
	else
		ck_assert_msg(cJSON_IsNull(id), "no lead_id: %s", r->body);
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

/* GET path as Tesla's manager into r (the caller frees it). */
static void
get_manager(const char *path, struct nv_test_http *r)
{
	char *auth = nv_test_auth_header(MGR, MGR_ORG);

	nv_test_http("GET", path, NULL, 0, (const char *const[]){ auth, NULL },
	    r);
	free(auth);
}

/* GET url as Tesla's manager; the parsed body (status must be 200). */
static cJSON *
get_as_manager(const char *path)
{
	struct nv_test_http r;
	cJSON *j;

	get_manager(path, &r);
	ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status,
	    r.body);
	j = parse(&r);
	nv_test_http_free(&r);
	return j;
}

static const char *
str(const cJSON *o, const char *path)
{
	char buf[256], *p, *save = NULL;
	const cJSON *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; p != NULL; p = save) {
		save = strchr(p, '.');
		if (save != NULL)
			*save++ = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, p);
	}
	ck_assert_msg(cJSON_IsString(v), "%s is not a string", path);
	return v->valuestring;
}

/* Whether error body r names field in its details. */
static int
names_field(const struct nv_test_http *r, const char *field)
{
	cJSON *j = parse(r), *d, *e;
	int found = 0;

	d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    j, "error"), "details");
	cJSON_ArrayForEach(e, d) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");

		if (cJSON_IsString(f) && strcmp(f->valuestring, field) == 0)
			found = 1;
	}
	cJSON_Delete(j);
	return found;
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
	phone_base = (unsigned)(((unsigned long)time(NULL) * 131ul +
	    (unsigned long)getpid() * 7ul) % 9000000ul) * 1u;
}

static void
cleanup_dealer(PGconn *c, const char *dealer)
{
	char like[64], keys[64];

	snprintf(like, sizeof(like), "%%.%s@example.no", tag);
	snprintf(keys, sizeof(keys), "%s%%", tag);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM leads WHERE email LIKE $1", like,
	    NULL));
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

START_TEST(json_creates_lead)
{
	struct nv_test_http r;
	char email[128], phone[16], body[2048], path[128], e164[20];
	cJSON *lead, *msgs, *m;
	char *id;

	mkemail(email, sizeof(email), "kari");
	mkphone(phone, sizeof(phone), 1);
	snprintf(body, sizeof(body), "{\"name\": \"Kari Anne Nordmann\","
	    " \"email\": \"  %s \", \"phone\": \"%c%c%c %c%c %c%c%c\","
	    " \"message\": \"Kan jeg prøvekjøre på lørdag?\","
	    " \"vehicle\": \"Model Y\", \"consent_sms\": true,"
	    " \"consent_email\": \"on\", \"consent_marketing\": false,"
	    " \"source\": \"facebook-ad\", \"utm_source\": \"google\","
	    " \"utm_campaign\": \"vinter\", \"budget\": 450000,"
	    " \"website\": \"\"}", email, phone[0], phone[1], phone[2],
	    phone[3], phone[4], phone[5], phone[6], phone[7]);
	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":false"));
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "web_form");
	ck_assert_str_eq(str(lead, "first_name"), "Kari Anne");
	ck_assert_str_eq(str(lead, "last_name"), "Nordmann");
	ck_assert_str_eq(str(lead, "email"), email);
	snprintf(e164, sizeof(e164), "+47%s", phone);
	ck_assert_str_eq(str(lead, "phone"), e164);
	ck_assert_str_eq(str(lead, "vehicle_interest"), "Model Y");
	ck_assert_str_eq(str(lead, "status"), "new");
	ck_assert_str_eq(str(lead, "metadata.utm.source"), "google");
	ck_assert_str_eq(str(lead, "metadata.utm.campaign"), "vinter");
	ck_assert_str_eq(str(lead, "metadata.form.source"), "facebook-ad");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "metadata"), "form"), "budget")));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "metadata"), "form"), "website"));
	ck_assert_str_eq(str(lead, "consent.sms.source"), "web_form");
	ck_assert_ptr_nonnull(str(lead, "consent.sms.at"));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "consent"), "email"), "granted")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "consent"), "marketing"), "granted")));
	cJSON_Delete(lead);

	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	msgs = get_as_manager(path);
	m = cJSON_GetObjectItemCaseSensitive(msgs, "data");
	ck_assert_int_eq(cJSON_GetArraySize(m), 1);
	m = cJSON_GetArrayItem(m, 0);
	ck_assert_str_eq(str(m, "direction"), "inbound");
	ck_assert_str_eq(str(m, "channel"), "web");
	ck_assert_str_eq(str(m, "sender"), "customer");
	ck_assert_str_eq(str(m, "body"), "Kan jeg prøvekjøre på lørdag?");
	cJSON_Delete(msgs);

	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply' AND status = 'queued'",
	    id, NULL), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM audit_log WHERE"
	    " entity = 'leads' AND entity_id = $1::uuid AND action = 'insert'"
	    " AND actor = $2", id, "webhook:form"), 1);
	/* Without a tenant context nothing of it is visible. */
	ck_assert_int_eq(count_in("", "SELECT count(*) FROM leads", NULL,
	    NULL), 0);
	free(id);
}
END_TEST

START_TEST(urlencoded_creates_lead)
{
	struct nv_test_http r;
	char email[128], body[1024], path[128];
	cJSON *lead;
	char *id;

	mkemail(email, sizeof(email), "ola");
	snprintf(body, sizeof(body), "first_name=Ola&last_name=Nordmann"
	    "&email=%s&phone=%%2B47%%20%s&message=Hei+der%%21"
	    "&vehicle_interest=Model%%203&consent_email=on&consent_sms=0"
	    "&utm_medium=cpc&favourite_colour=r%%C3%%B8d&website=", email,
	    "4123 4567");
	post(TESLA, body, "application/x-www-form-urlencoded; charset=utf-8",
	    NULL, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "web_form");
	ck_assert_str_eq(str(lead, "first_name"), "Ola");
	ck_assert_str_eq(str(lead, "last_name"), "Nordmann");
	ck_assert_str_eq(str(lead, "phone"), "+4741234567");
	ck_assert_str_eq(str(lead, "vehicle_interest"), "Model 3");
	ck_assert_str_eq(str(lead, "message"), "Hei der!");
	ck_assert_str_eq(str(lead, "metadata.utm.medium"), "cpc");
	ck_assert_str_eq(str(lead, "metadata.form.favourite_colour"), "rød");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "consent"), "email"), "granted")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "consent"), "sms"), "granted")));
	cJSON_Delete(lead);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND direction = 'inbound' AND body ="
	    " $2", id, "Hei der!"), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = $2", id, "reply"), 1);
	free(id);
}
END_TEST

START_TEST(no_message_no_message_row)
{
	struct nv_test_http r;
	char email[128], body[512];
	char *id;

	mkemail(email, sizeof(email), "quiet");
	snprintf(body, sizeof(body), "{\"email\": \"%s\"}", email);
	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", id, NULL), 0);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = $2", id, "reply"), 1);
	free(id);
}
END_TEST

START_TEST(signature_required_when_secret)
{
	struct nv_test_http r;
	char email[128], body[512], other[512], sig[160], path[128];
	char *id;

	mkemail(email, sizeof(email), "vw");
	snprintf(body, sizeof(body), "{\"name\": \"Per Hansen\", \"email\":"
	    " \"%s\", \"vehicle\": \"ID.4\"}", email);

	post_json(VW, body, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);

	post(VW, body, "application/json", "X-Norvalt-Signature: sha256="
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	post(VW, body, "application/json", "X-Norvalt-Signature: nonsense",
	    NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	/* A valid signature of another body does not carry over. */
	snprintf(other, sizeof(other), "{\"email\": \"%s\"}", email);
	nv_test_norvalt_signature(VW_SECRET, other, strlen(other), sig,
	    sizeof(sig));
	post(VW, body, "application/json", sig, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(VW, email), 0);

	nv_test_norvalt_signature(VW_SECRET, body, strlen(body), sig,
	    sizeof(sig));
	post(VW, body, "application/json", sig, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(VW, email), 1);

	/* Another dealership's staff cannot see it: 404. */
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	get_manager(path, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_http_free(&r);
	free(id);
}
END_TEST

START_TEST(idempotency_key_replays)
{
	struct nv_test_http r1, r2, r3;
	char email[128], body[512], key[128];

	mkemail(email, sizeof(email), "idem");
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\": \"a\"}",
	    email);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-idem-1", tag);
	post(TESLA, body, "application/json", key, NULL, &r1);
	ck_assert_msg(r1.status == 201, "%ld %s", r1.status, r1.body);
	post(TESLA, body, "application/json", key, NULL, &r2);
	ck_assert_int_eq(r2.status, r1.status);
	ck_assert_str_eq(r2.body, r1.body);
	/* Even another body: the key decides, nothing new is stored. */
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\": \"b\"}",
	    email);
	post(TESLA, body, "application/json", key, NULL, &r3);
	ck_assert_int_eq(r3.status, r1.status);
	ck_assert_str_eq(r3.body, r1.body);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations c"
	    " JOIN leads l ON l.id = c.lead_id WHERE l.email_norm = $1",
	    email, NULL), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM idempotency_keys"
	    " WHERE key = $1 AND scope = $2", key + strlen("Idempotency-Key: "),
	    "webhook:form"), 1);
	/* Keys are per dealership: invisible without the context. */
	ck_assert_int_eq(count_in("", "SELECT count(*) FROM idempotency_keys",
	    NULL, NULL), 0);
	nv_test_http_free(&r1);
	nv_test_http_free(&r2);
	nv_test_http_free(&r3);

	/* Too long a key is a 400. */
	{
		char longkey[300];

		memset(longkey, 'k', sizeof(longkey) - 1);
		longkey[sizeof(longkey) - 1] = '\0';
		memcpy(longkey, "Idempotency-Key: ", 17);
		post(TESLA, body, "application/json", longkey, NULL, &r1);
		ck_assert_int_eq(r1.status, 400);
		nv_test_http_free(&r1);
	}
}
END_TEST

#define RACERS	8

struct racer {
	const char		*body;
	const char		*key;	/* header line or NULL */
	struct nv_test_http	 r;
};

static void *
race_post(void *arg)
{
	struct racer *x = arg;

	post(TESLA, x->body, "application/json", x->key, NULL, &x->r);
	return NULL;
}

/* Simultaneous retries with one key: one lead, the same answer for all. */
START_TEST(idempotency_key_race)
{
	struct racer x[RACERS];
	pthread_t t[RACERS];
	char email[128], body[512], key[128];
	int i;

	mkemail(email, sizeof(email), "race");
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\":"
	    " \"race\"}", email);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-race", tag);
	for (i = 0; i < RACERS; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].body = body;
		x[i].key = key;
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_post, &x[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACERS; i++) {
		ck_assert_msg(x[i].r.status == 201, "%ld %s", x[i].r.status,
		    x[i].r.body);
		ck_assert_str_eq(x[i].r.body, x[0].r.body);
	}
	for (i = 0; i < RACERS; i++)
		nv_test_http_free(&x[i].r);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations c"
	    " JOIN leads l ON l.id = c.lead_id WHERE l.email_norm = $1",
	    email, NULL), 1);
}
END_TEST

/* Simultaneous first contacts of one person without a key: one lead. */
START_TEST(duplicate_race)
{
	struct racer x[RACERS];
	pthread_t t[RACERS];
	char email[128], body[512];
	int i, created = 0;

	mkemail(email, sizeof(email), "duprace");
	snprintf(body, sizeof(body), "{\"email\": \"%s\"}", email);
	for (i = 0; i < RACERS; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].body = body;
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_post, &x[i]),
		    0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACERS; i++) {
		ck_assert_msg(x[i].r.status == 201 || x[i].r.status == 200,
		    "%ld %s", x[i].r.status, x[i].r.body);
		created += x[i].r.status == 201;
		nv_test_http_free(&x[i].r);
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations c"
	    " JOIN leads l ON l.id = c.lead_id WHERE l.email_norm = $1",
	    email, NULL), RACERS - 1);
}
END_TEST

START_TEST(duplicate_joins_existing_lead)
{
	struct nv_test_http r;
	char email[128], phone[16], body[512];
	char *id1, *id2, *id3;

	mkemail(email, sizeof(email), "dup");
	mkphone(phone, sizeof(phone), 2);
	snprintf(body, sizeof(body), "{\"name\": \"Dup\", \"email\": \"%s\","
	    " \"phone\": \"%s\", \"message\": \"first\"}", email, phone);
	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id1 = lead_id_of(&r);
	nv_test_http_free(&r);

	/* Same e-mail, other case: joins, as a message. */
	snprintf(body, sizeof(body), "{\"email\": \"%c%s\", \"message\":"
	    " \"second\"}", 'D', email + 1);
	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":true"));
	id2 = lead_id_of(&r);
	ck_assert_str_eq(id2, id1);
	nv_test_http_free(&r);

	/* Same phone in another notation, no message. */
	snprintf(body, sizeof(body), "phone=%%2B47+%s", phone);
	post(TESLA, body, "application/x-www-form-urlencoded", NULL, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	id3 = lead_id_of(&r);
	ck_assert_str_eq(id3, id1);
	nv_test_http_free(&r);

	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND direction = 'inbound' AND sender ="
	    " 'customer' AND channel = $2", id1, "web"), 3);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND body = $2", id1,
	    "(form submitted without a message)"), 1);
	/* The same person at another dealership is a new lead there. */
	ck_assert_int_eq(leads_with_email(VW, email), 0);
	free(id1);
	free(id2);
	free(id3);
}
END_TEST

/*
 * A submission that joins a lead queues a follow-up 'reply' job in the
 * same transaction, naming the new inbound message (the jobs contract);
 * a retry with the same Idempotency-Key queues nothing more.
 */
START_TEST(duplicate_queues_follow_up_job)
{
	struct nv_test_http r;
	char email[128], body[512], key[128], msg[64];
	char *id1, *id2;
	PGconn *c;
	PGresult *res;

	mkemail(email, sizeof(email), "follow");
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\":"
	    " \"first\"}", email);
	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id1 = lead_id_of(&r);
	nv_test_http_free(&r);
	/* A new lead: one plain reply job, no follow-up. */
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = $2 AND payload = '{}'", id1,
	    "reply"), 1);

	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\":"
	    " \"still interested?\"}", email);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-follow", tag);
	post(TESLA, body, "application/json", key, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	id2 = lead_id_of(&r);
	ck_assert_str_eq(id2, id1);
	nv_test_http_free(&r);

	c = app();
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", TESLA, NULL));
	res = nv_test_exec(c, "SELECT id::text FROM conversations WHERE"
	    " lead_id = $1::uuid AND body = $2", id1, "still interested?",
	    NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	snprintf(msg, sizeof(msg), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = nv_test_exec(c, "SELECT payload->>'message_id',"
	    " jsonb_typeof(payload->'message_id'), payload->'follow_up',"
	    " status FROM jobs WHERE lead_id = $1::uuid AND kind = 'reply'"
	    " AND payload <> '{}'", id1, NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), msg);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "string");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "true");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "queued");
	PQclear(res);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);

	/* The provider retries: the first answer, no second job or message. */
	post(TESLA, body, "application/json", key, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = $2", id1, "reply"), 2);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND body = $2", id1,
	    "still interested?"), 1);
	free(id1);
	free(id2);
}
END_TEST

/* A website's own script may post: the browser's preflight, then CORS. */
START_TEST(browser_may_post)
{
	const char *pre[] = { "Origin: https://www.bilhuset.example",
	    "Access-Control-Request-Method: POST",
	    "Access-Control-Request-Headers: content-type, idempotency-key",
	    NULL };
	struct nv_test_http r;
	char email[128], body[512], *id;

	nv_test_http("OPTIONS", "/webhooks/form/" TESLA, NULL, 0, pre, &r);
	ck_assert_msg(r.status == 204, "%ld %s", r.status, r.headers);
	ck_assert_ptr_nonnull(strstr(r.headers,
	    "Access-Control-Allow-Origin: *"));
	ck_assert_ptr_nonnull(strstr(r.headers,
	    "Access-Control-Allow-Methods: POST"));
	ck_assert_ptr_nonnull(strstr(r.headers, "Content-Type, "
	    "Idempotency-Key"));
	ck_assert_ptr_nonnull(strstr(r.headers, "X-Request-Id: "));
	nv_test_http_free(&r);

	mkemail(email, sizeof(email), "cors");
	snprintf(body, sizeof(body), "{\"email\": \"%s\"}", email);
	post(TESLA, body, "application/json", "Origin: https://www.bilhuset."
	    "example", NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.headers,
	    "Access-Control-Allow-Origin: *"));
	ck_assert_ptr_nonnull(strstr(r.headers,
	    "Access-Control-Expose-Headers: X-Request-Id"));
	ck_assert_ptr_nonnull(strstr(r.headers, "X-Request-Id: "));
	id = lead_id_of(&r);
	ck_assert_ptr_nonnull(id);
	free(id);
	nv_test_http_free(&r);

	/* The authenticated API stays closed to other origins. */
	nv_test_http("OPTIONS", "/api/leads", NULL, 0, pre, &r);
	ck_assert_ptr_null(strstr(r.headers, "Access-Control-Allow"));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(honeypot_stores_nothing)
{
	struct nv_test_http r;
	char email[128], body[512], key[128], path[128], *id, *id2;

	mkemail(email, sizeof(email), "bot");
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"website\":"
	    " \"http://spam.example\"}", email);
	snprintf(key, sizeof(key), "Idempotency-Key: %s-bot", tag);
	post(TESLA, body, "application/json", key, NULL, &r);
	/* Looks like a new lead to the bot: 201, an id, not a duplicate. */
	ck_assert_int_eq(r.status, 201);
	id = lead_id_of(&r);
	ck_assert_ptr_nonnull(id);
	ck_assert(nv_valid_uuid(id));
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":false"));
	nv_test_http_free(&r);
	snprintf(body, sizeof(body), "email=%s&website=x", email);
	post(TESLA, body, "application/x-www-form-urlencoded", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 201);
	id2 = lead_id_of(&r);
	ck_assert_ptr_nonnull(id2);
	ck_assert_str_ne(id, id2);
	nv_test_http_free(&r);
	/* The id names nothing. */
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	get_manager(path, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_http_free(&r);
	free(id);
	free(id2);
	ck_assert_int_eq(leads_with_email(TESLA, email), 0);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM idempotency_keys"
	    " WHERE key = $1", key + 17, NULL), 0);
}
END_TEST

START_TEST(validation_errors)
{
	struct nv_test_http r;
	char email[128], body[512];

	mkemail(email, sizeof(email), "val");
	post_json(TESLA, "{\"name\": \"No Contact\", \"message\": \"hi\"}", &r);
	ck_assert_int_eq(r.status, 422);
	nv_test_assert_error(r.body, "validation_failed");
	ck_assert(names_field(&r, "email"));
	ck_assert(names_field(&r, "phone"));
	nv_test_http_free(&r);

	post_json(TESLA, "{\"email\": \"not-an-address\", \"phone\":"
	    " \"91234567\"}", &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert(names_field(&r, "email"));
	ck_assert(!names_field(&r, "phone"));
	nv_test_http_free(&r);

	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"phone\": \"12\"}",
	    email);
	post_json(TESLA, body, &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert(names_field(&r, "phone"));
	nv_test_http_free(&r);

	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"first_name\": 7}",
	    email);
	post_json(TESLA, body, &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert(names_field(&r, "first_name"));
	nv_test_http_free(&r);

	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"consent_sms\":"
	    " \"maybe\"}", email);
	post_json(TESLA, body, &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert(names_field(&r, "consent_sms"));
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, email), 0);
}
END_TEST

START_TEST(request_errors)
{
	struct nv_test_http r;
	char *big;
	size_t n = 1024 * 1024 + 16;

	post_json(TESLA, "{\"email\": ", &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);

	post_json(TESLA, "[1, 2]", &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);

	post(TESLA, "email=a%zz", "application/x-www-form-urlencoded", NULL,
	    NULL, &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);

	post(TESLA, "email: someone@example.no", "text/plain", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);

	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	post_n(TESLA, big, n, "application/json", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 413);
	nv_test_assert_error(r.body, "payload_too_large");
	nv_test_http_free(&r);
	free(big);

	/* Not even an id: no dealership has it (SPEC: unknown is 404). */
	post_json("not-a-uuid", "{\"email\": \"x@example.no\"}", &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);

	post_json("99999999-9999-4999-8999-999999999999",
	    "{\"email\": \"x@example.no\"}", &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);

	nv_test_http("GET", "/webhooks/form/" TESLA, NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_http_free(&r);

	nv_test_http("POST", "/webhooks/nothing/" TESLA, "{}", 2, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_http_free(&r);
}
END_TEST

/* Run sql ($1 = id) as the owner with dealership id's own context. */
static void
owner_exec(const char *id, const char *sql)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", id, NULL));
	PQclear(nv_test_exec(c, sql, id, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

#define INACTIVE	"7e570000-0000-4000-8000-0000000f0a11"

START_TEST(inactive_dealership_is_404)
{
	struct nv_test_http r;

	owner_exec(INACTIVE, "INSERT INTO dealerships (id, name, active)"
	    " VALUES ($1::uuid, 'Closed Cars AS', false)"
	    " ON CONFLICT (id) DO NOTHING");
	post_json(INACTIVE, "{\"email\": \"x@example.no\"}", &r);
	owner_exec(INACTIVE, "DELETE FROM dealerships WHERE id = $1::uuid");
	ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

START_TEST(database_down_is_503)
{
	struct nv_test_http r;
	char email[128], body[512];
	char *out = NULL, *id;
	int st, i;

	mkemail(email, sizeof(email), "outage");
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"message\":"
	    " \"are you there?\"}", email);
	st = nv_test_run(&out, "cd / && if [ \"$(id -u)\" = 0 ]; then"
	    " runuser -u norvalt -- /usr/lib/postgresql/15/bin/pg_ctl -D"
	    " \"%s/pg/data\" -m fast -w -t 60 stop; else"
	    " /usr/lib/postgresql/15/bin/pg_ctl -D \"%s/pg/data\" -m fast -w"
	    " -t 60 stop; fi", nv_test_env("NV_STATE_DIR"),
	    nv_test_env("NV_STATE_DIR"));
	ck_assert_msg(st == 0, "pg_ctl stop: %s", out != NULL ? out : "");
	free(out);

	/* Every worker finds its connection dead: ask more than once. */
	for (i = 0; i < 6; i++) {
		post_json(TESLA, body, &r);
		ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
		nv_test_assert_error(r.body, "service_unavailable");
		nv_test_http_free(&r);
	}

	st = nv_test_run(&out, "%s", nv_test_env("NV_PG_RESTART"));
	ck_assert_msg(st == 0, "restart: %s", out != NULL ? out : "");
	free(out);

	post_json(TESLA, body, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(TESLA, email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = $2", id, "reply"), 1);
	free(id);
}
END_TEST

static Suite *
webhook_form_suite(void)
{
	Suite *s = suite_create("webhook_form");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"),
	    *outage = tcase_create("outage");

	setup_tag();
	tcase_add_unchecked_fixture(core, NULL, teardown_all);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, json_creates_lead);
	tcase_add_test(core, urlencoded_creates_lead);
	tcase_add_test(core, no_message_no_message_row);
	tcase_add_test(core, signature_required_when_secret);
	tcase_add_test(core, idempotency_key_replays);
	tcase_add_test(core, idempotency_key_race);
	tcase_add_test(core, duplicate_race);
	tcase_add_test(core, duplicate_joins_existing_lead);
	tcase_add_test(core, duplicate_queues_follow_up_job);
	tcase_add_test(core, honeypot_stores_nothing);
	tcase_add_test(core, browser_may_post);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(errors, NULL, teardown_all);
	tcase_set_timeout(errors, 60);
	tcase_add_test(errors, validation_errors);
	tcase_add_test(errors, request_errors);
	tcase_add_test(errors, inactive_dealership_is_404);
	suite_add_tcase(s, errors);

	tcase_add_unchecked_fixture(outage, NULL, teardown_all);
	tcase_set_timeout(outage, 180);
	tcase_add_test(outage, database_down_is_503);
	suite_add_tcase(s, outage);
	return s;
}

NV_TEST_MAIN(webhook_form_suite)
