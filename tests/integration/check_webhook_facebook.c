/*
 * check_webhook_facebook.c - GET/POST /webhooks/facebook over real HTTP:
 * nginx, cgi-bin/facebook, PostgreSQL with the demo seed and, to take the
 * queued leads in, the stack's own norvalt-worker.
 *
 * The webhook only queues one 'facebook_fetch' job per lead and answers;
 * the worker fetches the lead from Graph and files it.  So each test posts
 * with no worker running (the test profile starts none) and asserts the
 * jobs and that the Graph server saw no request at all; the tests that
 * follow a lead to the end then start the stack's worker (scripts/
 * stack.sh worker-start, as check_worker does; the unchecked teardown
 * stops it whatever happened) and poll the database with a bounded wait.
 *
 * The Graph API is a loopback HTTP server in this process (a thread on
 * 127.0.0.1, the port of the stack's NORVALT_META_GRAPH_URL, which the
 * stack derives from its own port), started by a checked fixture so it
 * lives in each test's forked child; it counts the requests it gets and
 * answers a lead built from the leadgen_id, or 500 for the first
 * srv_fail requests.  Notifications are signed here, independently of
 * lib/meta: OpenSSL's HMAC() with the stack's NORVALT_META_APP_SECRET, as
 * lower-case hex.  Ids are 17 digits (more than a double holds) and sent
 * as JSON numbers.  The unchecked fixture maps a per-run Page id to Tesla
 * (as the owner, in Tesla's context) and the teardown restores Tesla's
 * settings and deletes what the run created.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define MGR		"user_tesla_manager"
#define MGR_ORG		"org_tesla_oslo"

static Suite *webhook_facebook_suite(void);

static char page[32];		/* per run: Tesla's Facebook Page */
static char base[16];		/* per run: 11 digits of the leadgen ids */

/* ------------------------------------------------------- Graph server */

static int srv_fd = -1;
static pthread_t srv_thread;
static volatile int srv_fail;	/* answer 500 to this many more requests */
static volatile int srv_seen;	/* requests received */
static volatile int srv_same;	/* 1: every lead is the same person */
static volatile int srv_stop;

/* The leadgen id "554597" + base + two digits of k. */
static void
mkid(char *out, size_t n, unsigned k)
{
	snprintf(out, n, "554597%s%02u", base, k % 100);
}

static void
srv_answer(int c)
{
	char req[4096], body[1024], resp[1536], id[64], who[64];
	const char *tok = nv_test_env("NORVALT_META_PAGE_TOKEN");
	size_t len = 0, i;
	ssize_t r;
	int status = 200;

	while (len < sizeof(req) - 1) {
		r = read(c, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	for (i = 0; i + 5 < len && i < sizeof(id) - 1 &&
	    req[5 + i] >= '0' && req[5 + i] <= '9'; i++)
		id[i] = req[5 + i];
	id[i] = '\0';
	if (strncmp(req, "GET /", 5) != 0 || i == 0 ||
	    strncmp(req + 5 + i, "?access_token=", 14) != 0 ||
	    strncmp(req + 19 + i, tok, strlen(tok)) != 0 ||
	    req[19 + i + strlen(tok)] != ' ')
		status = 400;
	if (srv_same)
		snprintf(who, sizeof(who), "same%s", base);
	else
		snprintf(who, sizeof(who), "%s", id);
	if (srv_fail > 0) {
		srv_fail--;
		status = 500;
	}
	if (status == 200)
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"created_time\":"
		    "\"2026-11-26T05:00:00+0000\",\"field_data\":["
		    "{\"name\":\"full_name\",\"values\":[\"Kari Nordmann\"]},"
		    "{\"name\":\"email\",\"values\":[\"fb%s@example.no\"]},"
		    "{\"name\":\"phone_number\",\"values\":[\"+479%s\"]},"
		    "{\"name\":\"hvilken_modell\",\"values\":[\"Model Y\"]}]}",
		    id, who, srv_same ? "7000000" : id + strlen(id) - 7);
	else
		snprintf(body, sizeof(body), "{\"error\":{\"message\":\"x\"}}");
	snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n%s", status, strlen(body), body);
	if (write(c, resp, strlen(resp)) < 0)
		return;
}

static void *
srv_main(void *arg)
{
	struct pollfd p;
	struct timeval tv = { 2, 0 };
	int i, c;

	(void)arg;
	for (i = 0; i < 300 && !srv_stop; i++) {	/* at most ~60 s */
		p.fd = srv_fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 200) <= 0)
			continue;
		if ((c = accept(srv_fd, NULL, NULL)) < 0)
			continue;
		srv_seen++;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		srv_answer(c);
		close(c);
	}
	return NULL;
}

static void
srv_start(void)
{
	const char *url = nv_test_env("NORVALT_META_GRAPH_URL");
	struct sockaddr_in sa;
	const char *colon;
	int one = 1;

	colon = strrchr(url, ':');
	ck_assert_ptr_nonnull(colon);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)strtol(colon + 1, NULL, 10));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(srv_fd, 0);
	setsockopt(srv_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(bind(srv_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	    "cannot bind the Graph server to %s", url);
	ck_assert_int_eq(listen(srv_fd, 16), 0);
	srv_fail = 0;
	srv_seen = 0;
	srv_same = 0;
	srv_stop = 0;
	ck_assert_int_eq(pthread_create(&srv_thread, NULL, srv_main, NULL),
	    0);
}

static void
srv_end(void)
{
	srv_stop = 1;
	pthread_join(srv_thread, NULL);
	close(srv_fd);
	srv_fd = -1;
}

/* ------------------------------------------------------------ helpers */

static PGconn *
owner(void)
{
	return nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
}

/* A leadgen notification for page with ids[0..n), ids as JSON numbers. */
static void
notification(char *out, size_t n, const char *pg, char ids[][64], size_t k)
{
	size_t i, o;

	o = (size_t)snprintf(out, n, "{\"object\":\"page\",\"entry\":[{\"id\":"
	    "\"%s\",\"time\":1793520000,\"changes\":[", pg);
	for (i = 0; i < k; i++)
		o += (size_t)snprintf(out + o, n - o, "%s{\"field\":\"leadgen\","
		    "\"value\":{\"ad_id\":0,\"form_id\":1234567890123456,"
		    "\"leadgen_id\":%s,\"created_time\":1793520000,"
		    "\"page_id\":%s}}", i > 0 ? "," : "", ids[i], pg);
	snprintf(out + o, n - o, "]}]}");
}

/* POST body; sig NULL signs correctly, "" sends none, else sent as is. */
static void
post(const char *body, const char *sig, struct nv_test_http *r)
{
	const char *secret = nv_test_env("NORVALT_META_APP_SECRET");
	unsigned char mac[EVP_MAX_MD_SIZE];
	char hdr[160];
	const char *hdrs[3] = { "Content-Type: application/json", NULL, NULL };
	unsigned int mlen = 0, i;
	size_t o;

	if (sig == NULL) {
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret,
		    (int)strlen(secret), (const unsigned char *)body,
		    strlen(body), mac, &mlen));
		o = (size_t)snprintf(hdr, sizeof(hdr),
		    "X-Hub-Signature-256: sha256=");
		for (i = 0; i < mlen; i++)
			o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "%02x",
			    mac[i]);
		hdrs[1] = hdr;
	} else if (*sig != '\0') {
		snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
		hdrs[1] = hdr;
	}
	nv_test_http("POST", "/webhooks/facebook", body, strlen(body), hdrs, r);
}

/* Assert a 200 {"received":true,"queued":queued} and nothing else. */
static void
assert_ack(struct nv_test_http *r, int queued)
{
	const cJSON *q;
	cJSON *j;

	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	j = cJSON_Parse(r->body);
	ck_assert_ptr_nonnull(j);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
	    "received")));
	q = cJSON_GetObjectItemCaseSensitive(j, "queued");
	ck_assert_msg(cJSON_IsNumber(q) && q->valueint == queued &&
	    cJSON_GetArraySize(j) == 2, "%s", r->body);
	cJSON_Delete(j);
	nv_test_http_free(r);
}

/* count(*) of sql ($1) in Tesla's context, as the app. */
static long
count_tesla(const char *sql, const char *p1)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	long n;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	n = nv_test_count(c, sql, p1, NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return n;
}

/*
 * Poll count_tesla(sql, p1) every 100 ms until it is want or about ms
 * have passed; the last count.  Only the end state is asserted, never
 * how long it took.
 */
static long
wait_tesla(long ms, long want, const char *sql, const char *p1)
{
	long n, waited = 0;

	for (;;) {
		n = count_tesla(sql, p1);
		if (n == want || waited >= ms)
			return n;
		usleep(100 * 1000);
		waited += 100;
	}
}

static char *
lead_of(const char *email)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	PGresult *res;
	char *id;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	res = nv_test_exec(c, "SELECT id FROM leads WHERE email = $1", email,
	    NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	id = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return id;
}

/* ----------------------------------------------------------- fixtures */

static void
setup_all(void)
{
	unsigned long v = (unsigned long)time(NULL) * 1000003ul ^
	    (unsigned long)getpid() * 7919ul;
	PGconn *c;

	/* No worker may contact Graph while the webhook is asserted. */
	nv_test_stack("worker-stop");
	snprintf(base, sizeof(base), "%09lu", v % 1000000000ul);
	snprintf(page, sizeof(page), "90%013lu", v % 10000000000000ul);
	c = owner();
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	PQclear(nv_test_exec(c, "UPDATE dealerships SET settings = settings ||"
	    " jsonb_build_object('facebook_page_id', $1::text) WHERE id = $2",
	    page, TESLA, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

static void
teardown_all(void)
{
	char like[64];
	PGconn *c;

	/* A test that failed while the worker ran left it running. */
	nv_test_stack("worker-stop");
	c = owner();
	snprintf(like, sizeof(like), "554597%s%%", base);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	PQclear(nv_test_exec(c, "UPDATE dealerships SET settings = settings -"
	    " 'facebook_page_id' WHERE id = $1 AND settings ->>"
	    " 'facebook_page_id' = $2", TESLA, page, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM leads WHERE metadata -> 'facebook'"
	    " ->> 'leadgen_id' LIKE $1", like, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM jobs WHERE kind = 'facebook_fetch'"
	    " AND payload ->> 'leadgen_id' LIKE $1", like, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM idempotency_keys WHERE scope ="
	    " 'webhook:facebook' AND key LIKE $1", like, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

/* --------------------------------------------------------------- core */

START_TEST(verify_handshake)
{
	struct nv_test_http r;
	char path[256], *ct;

	snprintf(path, sizeof(path), "/webhooks/facebook?hub.mode=subscribe&"
	    "hub.verify_token=%s&hub.challenge=1158201444",
	    nv_test_env("NORVALT_META_VERIFY_TOKEN"));
	nv_test_http("GET", path, NULL, 0, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_str_eq(r.body, "1158201444");
	ct = nv_test_http_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(ct);
	ck_assert_ptr_nonnull(strstr(ct, "text/plain"));
	free(ct);
	nv_test_http_free(&r);
}
END_TEST

#define JOBS_Q	"SELECT count(*) FROM jobs WHERE kind = 'facebook_fetch'" \
		" AND payload ->> 'leadgen_id' = $1"
#define LEADS_Q	"SELECT count(*) FROM leads WHERE" \
		" metadata -> 'facebook' ->> 'leadgen_id' = $1"

static const char *
jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/*
 * The webhook queues the change and answers without asking Graph; the
 * worker files the very lead the webhook once filed inline: every id as
 * text (the 17-digit leadgen_id exact), the Graph fields, source
 * facebook, no consent, and a reply job.  Meta's retry after that stores
 * nothing twice (leadgen_id is the idempotency key).
 */
START_TEST(lead_filed_by_worker)
{
	struct nv_test_http r;
	char ids[1][64], body[2048], email[96], phone[32], want[512];
	char path[128], *id, *auth;
	const cJSON *fb, *consent;
	const char *hdrs[2];
	cJSON *lead;

	mkid(ids[0], sizeof(ids[0]), 1);
	notification(body, sizeof(body), page, ids, 1);
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(srv_seen, 0);
	snprintf(want, sizeof(want), "{\"leadgen_id\": \"%s\", \"page_id\":"
	    " \"%s\", \"form_id\": \"1234567890123456\", \"ad_id\": \"0\","
	    " \"created_time\": \"1793520000\"}", ids[0], page);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM jobs WHERE kind ="
	    " 'facebook_fetch' AND status = 'queued' AND lead_id IS NULL"
	    " AND payload = $1::jsonb", want), 1);
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 0);

	nv_test_stack("worker-start 1");
	snprintf(email, sizeof(email), "fb%s@example.no", ids[0]);
	ck_assert_int_eq(wait_tesla(30000, 1, "SELECT count(*) FROM leads"
	    " WHERE email = $1", email), 1);
	ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status = 'done'",
	    ids[0]), 1);
	ck_assert_int_eq(srv_seen, 1);
	id = lead_of(email);

	auth = nv_test_auth_header(MGR, MGR_ORG);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	free(auth);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	lead = cJSON_Parse(r.body);
	nv_test_http_free(&r);
	ck_assert_ptr_nonnull(lead);
	ck_assert_str_eq(jstr(lead, "source"), "facebook");
	ck_assert_str_eq(jstr(lead, "first_name"), "Kari");
	ck_assert_str_eq(jstr(lead, "last_name"), "Nordmann");
	ck_assert_str_eq(jstr(lead, "email"), email);
	snprintf(phone, sizeof(phone), "+479%s", ids[0] + strlen(ids[0]) - 7);
	ck_assert_str_eq(jstr(lead, "phone"), phone);
	consent = cJSON_GetObjectItemCaseSensitive(lead, "consent");
	ck_assert(cJSON_IsObject(consent) && consent->child == NULL);
	fb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    lead, "metadata"), "facebook");
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fb,
	    "leadgen_id")));
	ck_assert_str_eq(jstr(fb, "leadgen_id"), ids[0]);
	ck_assert_uint_eq(strlen(jstr(fb, "leadgen_id")), 17);
	ck_assert_str_eq(jstr(fb, "page_id"), page);
	ck_assert_str_eq(jstr(fb, "form_id"), "1234567890123456");
	ck_assert_str_eq(jstr(fb, "ad_id"), "0");
	ck_assert_str_eq(jstr(fb, "created_time"), "2026-11-26T05:00:00+0000");
	ck_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(fb, "fields"),
	    "hvilken_modell"), "Model Y");
	cJSON_Delete(lead);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM jobs j JOIN leads l"
	    " ON l.id = j.lead_id WHERE l.email = $1 AND j.kind = 'reply'",
	    email), 1);

	/* Meta's retry: acknowledged, fetched again, nothing new stored. */
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(wait_tesla(30000, 2, JOBS_Q " AND status = 'done'",
	    ids[0]), 2);
	nv_test_stack("worker-stop");
	ck_assert_int_eq(srv_seen, 2);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM leads WHERE"
	    " email = $1", email), 1);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM jobs j JOIN leads l"
	    " ON l.id = j.lead_id WHERE l.email = $1 AND j.kind = 'reply'",
	    email), 1);
	free(id);
}
END_TEST

/*
 * One notification with several changes (one lead twice): one job per
 * lead, and the webhook answers without the Graph server having seen a
 * single request; the worker then files each lead once.
 */
START_TEST(several_changes_queue_without_graph)
{
	struct nv_test_http r;
	char ids[4][64], body[4096];
	int i;

	for (i = 0; i < 3; i++)
		mkid(ids[i], sizeof(ids[i]), 20 + (unsigned)i);
	memcpy(ids[3], ids[1], sizeof(ids[3]));
	notification(body, sizeof(body), page, ids, 4);
	post(body, NULL, &r);
	assert_ack(&r, 4);
	ck_assert_int_eq(srv_seen, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(count_tesla(JOBS_Q " AND status = 'queued'",
		    ids[i]), 1);
		ck_assert_int_eq(count_tesla(LEADS_Q, ids[i]), 0);
	}

	nv_test_stack("worker-start 1");
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status ="
		    " 'done'", ids[i]), 1);
	nv_test_stack("worker-stop");
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(count_tesla(LEADS_Q, ids[i]), 1);
	ck_assert_int_eq(srv_seen, 3);
}
END_TEST

/*
 * Two forms sent by the same person: the worker files the first as a
 * lead and joins the second to it as a new inbound message with a
 * follow-up reply job, as every inbound channel does within 30 days.
 */
START_TEST(same_person_joins_lead)
{
	struct nv_test_http r;
	char ids[2][64], body[2048], email[96], *id;

	mkid(ids[0], sizeof(ids[0]), 30);
	mkid(ids[1], sizeof(ids[1]), 31);
	srv_same = 1;
	snprintf(email, sizeof(email), "fbsame%s@example.no", base);
	notification(body, sizeof(body), page, ids, 2);
	post(body, NULL, &r);
	assert_ack(&r, 2);
	nv_test_stack("worker-start 1");
	ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status = 'done'",
	    ids[0]), 1);
	ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status = 'done'",
	    ids[1]), 1);
	nv_test_stack("worker-stop");
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM leads WHERE"
	    " email = $1", email), 1);
	id = lead_of(email);
	/* A form lead carries no message; the join is one. */
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND direction = 'inbound'"
	    " AND channel = 'facebook'", id), 1);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM jobs WHERE lead_id ="
	    " $1::uuid AND kind = 'reply' AND payload ->> 'follow_up' ="
	    " 'true'", id), 1);
	free(id);
}
END_TEST

/*
 * Graph fails: the webhook does not notice (it never asks), Meta's retry
 * queues no second job, and the worker retries the job until Graph
 * answers, then files the lead once.
 */
START_TEST(graph_down_retried_then_filed)
{
	struct nv_test_http r;
	char ids[1][64], body[2048];

	mkid(ids[0], sizeof(ids[0]), 2);
	srv_fail = 1;
	notification(body, sizeof(body), page, ids, 1);
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(count_tesla(JOBS_Q " AND status = 'queued'"
	    " AND jsonb_typeof(payload -> 'leadgen_id') = 'string'", ids[0]),
	    1);
	/* A retry while the job waits queues no second job. */
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[0]), 1);
	ck_assert_int_eq(srv_seen, 0);

	nv_test_stack("worker-start 1");
	ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status = 'done'"
	    " AND attempts = 2", ids[0]), 1);
	nv_test_stack("worker-stop");
	ck_assert_int_eq(srv_seen, 2);
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 1);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[0]), 1);
}
END_TEST

/*
 * Changes for a Page no dealership has, without a valid leadgen_id, or of
 * another field are acknowledged and neither queued nor fetched.
 */
START_TEST(unknown_page_skipped)
{
	struct nv_test_http r;
	char ids[2][64], body[2048];

	mkid(ids[0], sizeof(ids[0]), 3);
	mkid(ids[1], sizeof(ids[1]), 4);
	notification(body, sizeof(body), "999000111222333", ids, 2);
	post(body, NULL, &r);
	assert_ack(&r, 0);
	snprintf(body, sizeof(body), "{\"object\":\"page\",\"entry\":[{\"id\":"
	    "\"%s\",\"changes\":[{\"field\":\"leadgen\",\"value\":{"
	    "\"leadgen_id\":\"12x%s\",\"page_id\":\"%s\"}},{\"field\":"
	    "\"feed\",\"value\":{\"leadgen_id\":%s}}]}]}", page, ids[0], page,
	    ids[1]);
	post(body, NULL, &r);
	assert_ack(&r, 0);
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 0);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM jobs WHERE kind ="
	    " 'facebook_fetch' AND payload ->> 'leadgen_id' LIKE '%' || $1",
	    ids[0]), 0);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[1]), 0);
	ck_assert_int_eq(srv_seen, 0);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(verify_rejected)
{
	struct nv_test_http r;

	nv_test_http("GET", "/webhooks/facebook?hub.mode=subscribe&"
	    "hub.verify_token=wrong&hub.challenge=1158201444", NULL, 0, NULL,
	    &r);
	ck_assert_int_eq(r.status, 403);
	nv_test_assert_error(r.body, "forbidden");
	nv_test_http_free(&r);
	nv_test_http("GET", "/webhooks/facebook?hub.challenge=1", NULL, 0,
	    NULL, &r);
	ck_assert_int_eq(r.status, 403);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(bad_signature_401)
{
	struct nv_test_http r;
	char ids[1][64], body[2048];

	mkid(ids[0], sizeof(ids[0]), 5);
	notification(body, sizeof(body), page, ids, 1);
	post(body, "sha256=0000000000000000000000000000000000000000000000000"
	    "000000000000000", &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);
	post(body, "", &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 0);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[0]), 0);
	ck_assert_int_eq(srv_seen, 0);
}
END_TEST

START_TEST(malformed_body_400)
{
	struct nv_test_http r;

	post("{\"entry\":[", NULL, &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);
	nv_test_http("POST", "/webhooks/facebook", "{}", 2, NULL, &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);
}
END_TEST

START_TEST(body_limit_413)
{
	struct nv_test_http r;
	size_t n = 1024 * 1024 + 16;
	char *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	post(big, NULL, &r);
	ck_assert_int_eq(r.status, 413);
	nv_test_http_free(&r);
	free(big);
}
END_TEST

/*
 * Without NORVALT_META_APP_SECRET a notification cannot be verified, and
 * without NORVALT_META_VERIFY_TOKEN the handshake cannot be answered:
 * 503 in the JSON shape, nothing stored; restored, both work again.
 */
START_TEST(no_secrets_are_503)
{
	struct nv_test_http r;
	char ids[1][64], body[2048], path[256];

	mkid(ids[0], sizeof(ids[0]), 7);
	notification(body, sizeof(body), page, ids, 1);
	snprintf(path, sizeof(path), "/webhooks/facebook?hub.mode=subscribe&"
	    "hub.verify_token=%s&hub.challenge=77",
	    nv_test_env("NORVALT_META_VERIFY_TOKEN"));

	nv_test_app_restart("facebook", "NORVALT_META_APP_SECRET=");
	post(body, NULL, &r);
	ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "service_unavailable");
	nv_test_http_free(&r);
	ck_assert_int_eq(count_tesla("SELECT count(*) FROM leads WHERE"
	    " metadata -> 'facebook' ->> 'leadgen_id' = $1", ids[0]), 0);

	nv_test_app_restart("facebook", "NORVALT_META_VERIFY_TOKEN=");
	nv_test_http("GET", path, NULL, 0, NULL, &r);
	nv_test_app_restart("facebook", NULL);
	ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "service_unavailable");
	nv_test_http_free(&r);

	nv_test_http("GET", path, NULL, 0, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[0]), 1);
}
END_TEST

/*
 * PostgreSQL stopped: the notification is answered 503 in the JSON shape
 * (never a 2xx for a lead that was not queued: Meta retries non-2xx), and
 * the same notification after the restart, twice, queues one job, from
 * which the worker files exactly one lead.
 */
START_TEST(database_down_is_503)
{
	struct nv_test_http r;
	char ids[1][64], body[2048];
	int i;

	mkid(ids[0], sizeof(ids[0]), 8);
	notification(body, sizeof(body), page, ids, 1);
	nv_test_pg_stop();
	for (i = 0; i < 4; i++) {
		post(body, NULL, &r);
		ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
		nv_test_assert_error(r.body, "service_unavailable");
		nv_test_http_free(&r);
	}
	nv_test_pg_start();
	post(body, NULL, &r);
	assert_ack(&r, 1);
	post(body, NULL, &r);
	assert_ack(&r, 1);
	ck_assert_int_eq(count_tesla(JOBS_Q, ids[0]), 1);
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 0);
	nv_test_stack("worker-start 1");
	ck_assert_int_eq(wait_tesla(30000, 1, JOBS_Q " AND status = 'done'",
	    ids[0]), 1);
	nv_test_stack("worker-stop");
	ck_assert_int_eq(count_tesla(LEADS_Q, ids[0]), 1);
	ck_assert_int_eq(srv_seen, 1);
}
END_TEST

static Suite *
webhook_facebook_suite(void)
{
	Suite *s = suite_create("webhook_facebook");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_checked_fixture(tc, srv_start, srv_end);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, verify_handshake);
	tcase_add_test(tc, lead_filed_by_worker);
	tcase_add_test(tc, several_changes_queue_without_graph);
	tcase_add_test(tc, same_person_joins_lead);
	tcase_add_test(tc, graph_down_retried_then_filed);
	tcase_add_test(tc, unknown_page_skipped);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_checked_fixture(tc, srv_start, srv_end);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, verify_rejected);
	tcase_add_test(tc, bad_signature_401);
	tcase_add_test(tc, malformed_body_400);
	tcase_add_test(tc, body_limit_413);
	tcase_add_test(tc, no_secrets_are_503);
	suite_add_tcase(s, tc);

	tc = tcase_create("outage");
	tcase_add_unchecked_fixture(tc, setup_all, teardown_all);
	tcase_add_checked_fixture(tc, srv_start, srv_end);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, database_down_is_503);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(webhook_facebook_suite)
