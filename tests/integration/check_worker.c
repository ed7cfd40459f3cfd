/*
 * check_worker.c - norvalt-worker against the real stack: leads posted to
 * the form webhook (or queued with their reply jobs in one statement, as
 * intake does) are answered, delivered to the outbox, assigned, and
 * survive kill -9 and a PostgreSQL restart.
 *
 * Each run makes its own dealerships (nv_create_dealership, as the app)
 * with a per-run tag, so nothing here touches the demo data.  The "core"
 * and "outage" cases run the stack's own worker (scripts/stack.sh
 * worker-start: the test profile starts none by itself); the "own" cases
 * stop it and run worker processes of their own with the environment they
 * need (a broken outbox, a short lease), killing them at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

static Suite *worker_suite(void);

static char tag[16];
static char d1[40], d2[40], d3[40];	/* open, closed, three reps */
static char rep1[40];			/* d1's one sales rep */

/* ------------------------------------------------------------ helpers */

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

/* Run sql in dealer's context; the first value, malloc'd (NULL: none). */
static char *
val_in(const char *dealer, const char *sql, const char *p1, const char *p2,
    const char *p3)
{
	PGconn *c = app();
	PGresult *r;
	char *v = NULL;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true), set_config('app.actor', 'test', true)", dealer, NULL));
	r = nv_test_exec(c, sql, p1, p2, p3, NULL);
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return v;
}

static long
count_in(const char *dealer, const char *sql, const char *p1, const char *p2)
{
	char *v = val_in(dealer, sql, p1, p2, NULL);
	long n = v != NULL ? strtol(v, NULL, 10) : -1;

	free(v);
	return n;
}

/* Poll until count_in(...) == want or ms pass; returns the last count. */
static long
wait_count(long ms, long want, const char *dealer, const char *sql,
    const char *p1, const char *p2)
{
	long n = -1, waited = 0;

	for (;;) {
		n = count_in(dealer, sql, p1, p2);
		if (n == want || waited >= ms)
			return n;
		usleep(50 * 1000);
		waited += 50;
	}
}

/*
 * Start a worker process with the test's environment plus env (NULL-
 * terminated "K=V"); its log goes next to the stack's logs.
 */
static pid_t
spawn_worker(const char *const *env)
{
	char bin[1024], log[1024];
	pid_t pid;
	int fd;

	snprintf(bin, sizeof(bin), "%s/bin/norvalt-worker",
	    nv_test_env("NV_BUILD_ROOT"));
	snprintf(log, sizeof(log), "%s/../log/worker-test.log",
	    nv_test_env("NORVALT_OUTBOX_DIR"));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (; env != NULL && *env != NULL; env++)
			putenv(strdup(*env));
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, "norvalt-worker", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int
stop_worker(pid_t pid, int sig)
{
	int st = 0;

	kill(pid, sig);
	waitpid(pid, &st, 0);
	return st;
}

/* A dealership of this run, with settings; its id into out. */
static void
mkdealer(const char *name, const char *org, const char *settings, char *out)
{
	PGconn *c = app();
	PGresult *r;

	r = nv_test_exec(c, "SELECT nv_create_dealership($1, $2, $3::jsonb)",
	    name, org, settings, NULL);
	snprintf(out, 40, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

static void
mkuser(const char *dealer, const char *clerk, const char *role, char *out)
{
	char email[128];
	char *id;

	snprintf(email, sizeof(email), "%s@example.no", clerk);
	id = val_in(dealer, "INSERT INTO users (dealership_id, clerk_user_id,"
	    " email, name, role) VALUES (get_current_dealership_context(), $1,"
	    " $2, $1, $3) RETURNING id", clerk, email, role);
	ck_assert_ptr_nonnull(id);
	if (out != NULL)
		snprintf(out, 40, "%s", id);
	free(id);
}

/*
 * n leads with their reply jobs in one statement (as intake does), e-mail
 * <prefix><i>.<tag>@example.no; returns nothing, the caller counts.
 */
static void
queue_leads(const char *dealer, const char *prefix, int n)
{
	char num[16], like[64];
	char *v;

	snprintf(num, sizeof(num), "%d", n);
	snprintf(like, sizeof(like), "%s%%.%s@example.no", prefix, tag);
	v = val_in(dealer, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, email, source, vehicle_interest, message)"
	    " SELECT get_current_dealership_context(), 'Kunde' || g,"
	    " $1 || g || '.' || $2 || '@example.no', 'web_form', 'Model Y',"
	    " 'Hei, er bilen ledig?' FROM generate_series(1, $3::int) g"
	    " RETURNING id, dealership_id)"
	    " INSERT INTO jobs (dealership_id, kind, lead_id)"
	    " SELECT dealership_id, 'reply', id FROM l RETURNING 1",
	    prefix, tag, num);
	free(v);
	(void)like;
}

/* POST a JSON lead to dealer's form webhook; the new lead's id. */
static char *
post_lead(const char *dealer, const char *json)
{
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct nv_test_http r;
	char path[128];
	cJSON *j, *id;
	char *s;

	snprintf(path, sizeof(path), "/webhooks/form/%s", dealer);
	nv_test_http("POST", path, json, strlen(json), hdrs, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	id = cJSON_GetObjectItemCaseSensitive(j, "lead_id");
	ck_assert(cJSON_IsString(id));
	s = strdup(id->valuestring);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	return s;
}

/* POST a lead to /api/leads as d1's manager; the new lead's id. */
static char *
api_lead(const char *json)
{
	const char *hdrs[3];
	struct nv_test_http r;
	char user[64], org[64], *auth, *s;
	cJSON *j, *id;

	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = NULL;
	nv_test_http("POST", "/api/leads", json, strlen(json), hdrs, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	ck_assert(cJSON_IsString(id));
	s = strdup(id->valuestring);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(auth);
	return s;
}

/* The one ai message of lead, waited for (up to ms); its body, malloc'd. */
static char *
ai_body(const char *dealer, const char *lead, long ms)
{
	ck_assert_int_eq(wait_count(ms, 1, dealer, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid AND sender = 'ai'"
	    " AND status <> 'queued'", lead, NULL), 1);
	return val_in(dealer, "SELECT body FROM conversations WHERE lead_id ="
	    " $1::uuid AND sender = 'ai'", lead, NULL, NULL);
}

/* The lead is d1's one sales rep's (round robin's only choice). */
static void
assert_rep1(const char *lead)
{
	char *v = val_in(d1, "SELECT assigned_to FROM leads WHERE id = $1::uuid",
	    lead, NULL, NULL);

	ck_assert_msg(v != NULL, "lead %s has nobody", lead);
	ck_assert_str_eq(v, rep1);
	free(v);
}

/* Answered: contacted, first response once, within ten seconds; rep1's. */
static void
assert_answered(const char *lead)
{
	ck_assert_int_eq(wait_count(5000, 1, d1, "SELECT count(*) FROM leads"
	    " WHERE id = $1::uuid AND status = 'contacted'"
	    " AND first_response_at IS NOT NULL"
	    " AND first_response_seconds BETWEEN 0 AND 10", lead, NULL), 1);
	assert_rep1(lead);
}

static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return strdup("");
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		got = fread(buf + n, 1, 4096, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
setup_all(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = (unsigned long)time(NULL) * 1000003ul ^
	    (unsigned long)getpid();
	char org[64], user[64], name[64];
	char *x;
	size_t i;

	if (tag[0] != '\0')
		return;
	for (i = 0; i < 10; i++) {
		tag[i] = letters[v % 26];
		v = v / 26 + i * 7919ul;
	}
	tag[i] = '\0';

	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	snprintf(name, sizeof(name), "Bilhuset %s", tag);
	mkdealer(name, org, "{\"business_hours\": {"
	    "\"mon\": [\"00:00\", \"24:00\"], \"tue\": [\"00:00\", \"24:00\"],"
	    "\"wed\": [\"00:00\", \"24:00\"], \"thu\": [\"00:00\", \"24:00\"],"
	    "\"fri\": [\"00:00\", \"24:00\"], \"sat\": [\"00:00\", \"24:00\"],"
	    "\"sun\": [\"00:00\", \"24:00\"]}, \"auto_assign\": \"round_robin\"}",
	    d1);
	snprintf(user, sizeof(user), "user_wt_rep_%s", tag);
	mkuser(d1, user, "sales_rep", rep1);
	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	mkuser(d1, user, "manager", NULL);
	x = val_in(d1, "INSERT INTO vehicles (dealership_id, make, model, year,"
	    " price_ore) VALUES (get_current_dealership_context(), 'Tesla',"
	    " 'Model Y', 2024, 44990000), (get_current_dealership_context(),"
	    " 'Tesla', 'Model 3', 2023, 39990000),"
	    " (get_current_dealership_context(), 'Volvo', 'EX30', 2025, NULL)"
	    " RETURNING 1", NULL, NULL, NULL);
	free(x);

	snprintf(org, sizeof(org), "org_wt2_%s", tag);
	snprintf(name, sizeof(name), "Stengt Bil %s", tag);
	mkdealer(name, org, "{\"business_hours\": {\"mon\": null,"
	    " \"tue\": null, \"wed\": null, \"thu\": null, \"fri\": null,"
	    " \"sat\": null, \"sun\": [\"00:00\", \"00:01\"]},"
	    " \"auto_assign\": \"off\"}", d2);

	snprintf(org, sizeof(org), "org_wt3_%s", tag);
	snprintf(name, sizeof(name), "Rundtur Bil %s", tag);
	mkdealer(name, org, "{\"auto_assign\": \"round_robin\"}", d3);
	for (i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "user_wt3_rep%zu_%s", i, tag);
		mkuser(d3, user, "sales_rep", NULL);
	}
}

static void
stack_worker_on(void)
{
	setup_all();
	nv_test_stack("worker-start 1");
}

static void
stack_worker_off(void)
{
	nv_test_stack("worker-stop");
}

/* ------------------------------------------------------------- core */

START_TEST(reply_within_seconds)
{
	char email[128], json[512], path[1024], *lead, *body, *v, *outbox;
	char want[256];
	const char *hdrs[2];
	struct nv_test_http r;
	char user[64], org[64], *auth;
	cJSON *j, *m;

	snprintf(email, sizeof(email), "kari.%s@example.no", tag);
	snprintf(json, sizeof(json), "{\"name\": \"Kari Nordmann\", \"email\":"
	    " \"%s\", \"vehicle\": \"Tesla Model Y\", \"message\": \"Hei, er "
	    "Model Y ledig for prøvekjøring?\"}", email);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 10000);

	ck_assert_msg(strstr(body, "Hei Kari!") != NULL, "%s", body);
	snprintf(want, sizeof(want), "Bilhuset %s om Tesla Model Y", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);
	ck_assert_msg(strstr(body, "Vi har en 2024 Tesla Model Y på lager til "
	    "449 900 kr.") != NULL, "%s", body);
	snprintf(want, sizeof(want), "Dette svaret er skrevet automatisk av "
	    "Norvalt på vegne av Bilhuset %s.", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);

	/* Sent by e-mail (to the outbox), first response once, contacted. */
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND sender = 'ai' AND status = 'sent'"
	    " AND channel = 'email' AND direction = 'outbound'"
	    " AND metadata->>'message_id' LIKE '<%@%>'", lead, NULL), 1);
	assert_answered(lead);
	/* The rep is told, through the outbox too. */
	ck_assert_int_eq(wait_count(5000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE lead_id = $1::uuid AND kind = 'notify' AND status = 'done'"
	    " AND payload->>'event' = 'assigned'", lead, NULL), 1);

	v = val_in(d1, "SELECT id FROM conversations WHERE lead_id = $1::uuid"
	    " AND sender = 'ai'", lead, NULL, NULL);
	snprintf(path, sizeof(path), "%s/outbox.jsonl",
	    nv_test_env("NORVALT_OUTBOX_DIR"));
	outbox = slurp(path);
	snprintf(want, sizeof(want), "\"id\":\"%s\"", v);
	ck_assert_msg(strstr(outbox, want) != NULL, "no outbox line for %s", v);
	snprintf(want, sizeof(want), "\"reply_to\":\"lead+%s@", lead);
	ck_assert_msg(strstr(outbox, want) != NULL, "no Reply-To routing");
	snprintf(want, sizeof(want), "\"to\":\"%s\"", email);
	ck_assert_ptr_nonnull(strstr(outbox, want));
	free(outbox);
	free(v);

	/* The dealership sees it through the API. */
	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	snprintf(path, sizeof(path), "/api/leads/%s/messages", lead);
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 1);
	ck_assert_msg(cJSON_IsObject(m), "%s", r.body);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(m, "sender")->
	    valuestring, "ai");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(m, "status")->
	    valuestring, "sent");
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(auth);
	free(body);
	free(lead);
}
END_TEST

START_TEST(english_lead_english_reply)
{
	char json[512], *lead, *body, want[256];

	snprintf(json, sizeof(json), "{\"first_name\": \"John\", \"email\":"
	    " \"john.%s@example.com\", \"message\": \"Hello, is the Model 3 "
	    "still available? I would like to book a test drive.\"}", tag);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 10000);
	ck_assert_msg(strstr(body, "Hi John!") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "We have a 2023 Tesla Model 3 in stock at "
	    "NOK 399,900.") != NULL, "%s", body);
	snprintf(want, sizeof(want), "This reply was written automatically by "
	    "Norvalt on behalf of Bilhuset %s.", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);
	ck_assert_ptr_null(strstr(body, "Dette svaret"));
	free(body);
	free(lead);
}
END_TEST

START_TEST(outside_hours_says_when)
{
	char json[512], *lead, *body;

	snprintf(json, sizeof(json), "{\"name\": \"Ola\", \"email\":"
	    " \"ola.%s@example.no\", \"message\": \"Har dere en EX30?\"}", tag);
	lead = post_lead(d2, json);
	body = ai_body(d2, lead, 10000);
	ck_assert_msg(strstr(body, "Vi har stengt akkurat nå, men en av våre "
	    "selgere tar kontakt med deg") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "kl. 00:00.") != NULL, "%s", body);
	/* No stock in this dealership: no vehicle offered. */
	ck_assert_ptr_null(strstr(body, "på lager"));
	/* auto_assign off: nobody assigned. */
	ck_assert_int_eq(count_in(d2, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND assigned_to IS NULL", lead, NULL), 1);
	free(body);
	free(lead);
}
END_TEST

START_TEST(custom_template)
{
	const char *hdrs[3];
	struct nv_test_http r;
	char user[64], org[64], json[512], *auth, *lead, *body;

	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt2_%s", tag);
	/* d2 has no manager: make one for the API. */
	mkuser(d2, user, "manager", NULL);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = NULL;
	nv_test_http("PATCH", "/api/dealership", "{\"settings\": {\"templates\":"
	    " {\"nb\": \"Hei {fornavn}\"}}}", strlen("{\"settings\":"
	    " {\"templates\": {\"nb\": \"Hei {fornavn}\"}}}"), hdrs, &r);
	ck_assert_msg(r.status == 422, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "validation_failed");
	ck_assert_ptr_nonnull(strstr(r.body, "settings.templates.nb"));
	nv_test_http_free(&r);

	snprintf(json, sizeof(json), "{\"settings\": {\"templates\": {\"nb\":"
	    " \"Takk {first_name}! {dealership} svarer deg {follow_up}\"}}}");
	nv_test_http("PATCH", "/api/dealership", json, strlen(json), hdrs, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);

	snprintf(json, sizeof(json), "{\"name\": \"Per Hansen\", \"email\":"
	    " \"per.%s@example.no\"}", tag);
	lead = post_lead(d2, json);
	body = ai_body(d2, lead, 10000);
	ck_assert_msg(strncmp(body, "Takk Per! Stengt Bil ", 21) == 0, "%s",
	    body);
	ck_assert_ptr_nonnull(strstr(body, "svarer deg Vi har stengt"));
	ck_assert_ptr_nonnull(strstr(body, "Dette svaret er skrevet automatisk"));
	free(body);
	free(lead);
	free(auth);
}
END_TEST

START_TEST(human_reply_pauses_ai)
{
	const char *hdrs[3];
	struct nv_test_http r;
	char user[64], org[64], json[512], path[128], *auth, *lead, *body, *in;

	snprintf(json, sizeof(json), "{\"name\": \"Siri Berg\", \"email\":"
	    " \"siri.%s@example.no\"}", tag);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 10000);
	free(body);

	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = NULL;
	snprintf(path, sizeof(path), "/api/leads/%s/messages", lead);
	snprintf(json, sizeof(json), "{\"body\": \"Hei Siri, jeg ringer deg i "
	    "ettermiddag. Hilsen Emil\"}");
	nv_test_http("POST", path, json, strlen(json), hdrs, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	free(auth);
	/* The human reply is delivered by a send job. */
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid AND sender = 'human'"
	    " AND status = 'sent'", lead, NULL), 1);

	/* The customer writes again: no AI answer, the rep is told. */
	in = val_in(d1, "WITH m AS (INSERT INTO conversations (dealership_id,"
	    " lead_id, direction, channel, sender, body, status)"
	    " VALUES (get_current_dealership_context(), $1::uuid, 'inbound',"
	    " 'email', 'customer', 'Flott, takk!', 'delivered') RETURNING id)"
	    " INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	    " SELECT get_current_dealership_context(), 'reply', $1::uuid,"
	    " jsonb_build_object('message_id', m.id, 'follow_up', true)"
	    " FROM m RETURNING id", lead, NULL, NULL);
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE id = $1::uuid AND status = 'done'", in, NULL), 1);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND sender = 'ai'", lead, NULL), 1);
	ck_assert_int_eq(wait_count(5000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE lead_id = $1::uuid AND kind = 'notify'"
	    " AND payload->>'event' = 'customer_wrote'", lead, NULL), 1);
	free(in);
	free(lead);
}
END_TEST

START_TEST(follow_up_when_not_paused)
{
	char json[512], *lead, *body, *in;

	snprintf(json, sizeof(json), "{\"name\": \"Lars Dahl\", \"email\":"
	    " \"lars.%s@example.no\", \"message\": \"Hei!\"}", tag);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 10000);
	free(body);
	in = val_in(d1, "WITH m AS (INSERT INTO conversations (dealership_id,"
	    " lead_id, direction, channel, sender, body, status)"
	    " VALUES (get_current_dealership_context(), $1::uuid, 'inbound',"
	    " 'web', 'customer', 'Kan jeg komme i morgen?', 'delivered')"
	    " RETURNING id)"
	    " INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	    " SELECT get_current_dealership_context(), 'reply', $1::uuid,"
	    " jsonb_build_object('message_id', m.id, 'follow_up', true)"
	    " FROM m RETURNING id", lead, NULL, NULL);
	ck_assert_int_eq(wait_count(10000, 2, d1, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid AND sender = 'ai'"
	    " AND status = 'sent'", lead, NULL), 2);
	body = val_in(d1, "SELECT body FROM conversations WHERE lead_id ="
	    " $1::uuid AND sender = 'ai' AND metadata ? 'follow_up'", lead, NULL,
	    NULL);
	ck_assert_ptr_nonnull(body);
	ck_assert_msg(strstr(body, "Takk for meldingen din.") != NULL, "%s",
	    body);
	free(body);
	free(in);
	free(lead);
}
END_TEST

/*
 * A lead entered through POST /api/leads is answered like a webhook lead
 * (SPEC 7): an ai message, its first response, contacted, assigned round
 * robin.  One entered as won is left alone.
 */
START_TEST(api_lead_answered)
{
	char json[512], want[256], *lead, *won, *body;

	snprintf(json, sizeof(json), "{\"first_name\": \"Vinn\", \"email\":"
	    " \"vinn.%s@example.no\", \"status\": \"won\"}", tag);
	won = api_lead(json);
	snprintf(json, sizeof(json), "{\"first_name\": \"Per\","
	    " \"last_name\": \"Hansen\", \"email\": \"per.%s@example.no\","
	    " \"source\": \"phone\", \"vehicle_interest\": \"Tesla Model Y\"}",
	    tag);
	lead = api_lead(json);
	body = ai_body(d1, lead, 10000);
	ck_assert_msg(strstr(body, "Hei Per!") != NULL, "%s", body);
	snprintf(want, sizeof(want), "Bilhuset %s om Tesla Model Y", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND sender = 'ai' AND status = 'sent'"
	    " AND channel = 'email'", lead, NULL), 1);
	assert_answered(lead);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply' AND status = 'done'",
	    lead, NULL), 1);

	/* Queued before the new one (jobs run in run_at order): none. */
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid", won, NULL), 0);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", won, NULL), 0);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM leads WHERE"
	    " id = $1::uuid AND status = 'won' AND first_response_at IS NULL"
	    " AND assigned_to IS NULL", won, NULL), 1);
	free(body);
	free(lead);
	free(won);
}
END_TEST

START_TEST(sms_opt_out_honoured)
{
	char phone[32], email[128], *lead, *err;
	unsigned r = (unsigned)time(NULL) % 1000000u;

	snprintf(phone, sizeof(phone), "+479%07u", r);
	free(val_in(d1, "INSERT INTO sms_optouts (dealership_id, phone) VALUES"
	    " (get_current_dealership_context(), $1) RETURNING 1", phone, NULL,
	    NULL));
	/* Only a phone, opted out: nothing sent, the reason shown. */
	lead = val_in(d1, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, phone, source, message) VALUES"
	    " (get_current_dealership_context(), 'Stopp', $1, 'sms', 'Pris?')"
	    " RETURNING id, dealership_id), j AS (INSERT INTO jobs"
	    " (dealership_id, kind, lead_id) SELECT dealership_id, 'reply', id"
	    " FROM l) SELECT id FROM l", phone, NULL, NULL);
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid AND sender = 'ai'"
	    " AND status = 'failed' AND channel = 'sms'", lead, NULL), 1);
	err = val_in(d1, "SELECT error FROM conversations WHERE lead_id ="
	    " $1::uuid AND sender = 'ai'", lead, NULL, NULL);
	ck_assert_str_eq(err, "recipient opted out");
	free(err);
	/* Nobody could answer it automatically: a person gets it, and is told. */
	assert_rep1(lead);
	ck_assert_int_eq(wait_count(5000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE lead_id = $1::uuid AND kind = 'notify'"
	    " AND payload->>'event' = 'assigned'", lead, NULL), 1);
	free(lead);

	/* With an e-mail address as well: answered by e-mail instead. */
	snprintf(email, sizeof(email), "stopp.%s@example.no", tag);
	lead = val_in(d1, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, phone, email, source, message) VALUES"
	    " (get_current_dealership_context(), 'Stopp', $1, $2, 'sms',"
	    " 'Pris?') RETURNING id, dealership_id), j AS (INSERT INTO jobs"
	    " (dealership_id, kind, lead_id) SELECT dealership_id, 'reply', id"
	    " FROM l) SELECT id FROM l", phone, email, NULL);
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid AND sender = 'ai'"
	    " AND status = 'sent' AND channel = 'email'", lead, NULL), 1);
	free(lead);
}
END_TEST

/* Poll until the outbox holds (want) or lacks (!want) needle; did it? */
static int
outbox_wait(const char *needle, int want, long ms)
{
	char path[1024], *box;
	long waited = 0;
	int has;

	snprintf(path, sizeof(path), "%s/outbox.jsonl",
	    nv_test_env("NORVALT_OUTBOX_DIR"));
	for (;;) {
		box = slurp(path);
		has = strstr(box, needle) != NULL;
		free(box);
		if (has == want || waited >= ms)
			return has == want;
		usleep(50 * 1000);
		waited += 50;
	}
}

/* GDPR erasure takes the lead's lines out of the outbox log as well. */
START_TEST(erasure_reaches_the_outbox)
{
	char json[512], needle[128], other[128], path[128], user[64], org[64];
	char *gone, *kept, *auth, *body;
	const char *hdrs[2];
	struct nv_test_http r;

	snprintf(json, sizeof(json), "{\"name\": \"Glemt Person\", \"email\":"
	    " \"glemt.%s@example.no\"}", tag);
	gone = post_lead(d1, json);
	snprintf(json, sizeof(json), "{\"name\": \"Husket Person\", \"email\":"
	    " \"husket.%s@example.no\"}", tag);
	kept = post_lead(d1, json);
	free(ai_body(d1, gone, 10000));
	free(ai_body(d1, kept, 10000));
	snprintf(needle, sizeof(needle), "\"lead_id\":\"%s\"", gone);
	snprintf(other, sizeof(other), "\"lead_id\":\"%s\"", kept);
	/* The reply and the rep's notification (it names the person). */
	ck_assert_int_eq(wait_count(5000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE lead_id = $1::uuid AND kind = 'notify' AND status = 'done'",
	    gone, NULL), 1);
	ck_assert(outbox_wait(needle, 1, 5000));
	ck_assert(outbox_wait("Glemt Person", 1, 5000));

	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	snprintf(path, sizeof(path), "/api/leads/%s", gone);
	nv_test_http("DELETE", path, NULL, 0, hdrs, &r);
	ck_assert_msg(r.status == 204, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	free(auth);

	ck_assert_msg(outbox_wait(needle, 0, 10000), "the erased lead's "
	    "lines are still in the outbox");
	ck_assert(outbox_wait("Glemt Person", 0, 1000));
	snprintf(json, sizeof(json), "glemt.%s@example.no", tag);
	ck_assert(outbox_wait(json, 0, 1000));
	/* Everyone else's stay. */
	ck_assert(outbox_wait(other, 1, 1000));
	body = val_in(d1, "SELECT status FROM jobs WHERE kind = 'erase_outbox'"
	    " AND payload->>'lead_id' = $1", gone, NULL, NULL);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, "done");
	free(body);
	free(gone);
	free(kept);
}
END_TEST

/* A person took the lead over before the worker got to it: no AI reply. */
START_TEST(paused_before_first_reply)
{
	char email[128], *lead, *job;

	snprintf(email, sizeof(email), "pause.%s@example.no", tag);
	lead = val_in(d1, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, email, source, message, ai_paused) VALUES"
	    " (get_current_dealership_context(), 'Pause', $1, 'web_form',"
	    " 'Hei', true) RETURNING id, dealership_id), j AS (INSERT INTO jobs"
	    " (dealership_id, kind, lead_id) SELECT dealership_id, 'reply', id"
	    " FROM l) SELECT id FROM l", email, NULL, NULL);
	job = val_in(d1, "SELECT id FROM jobs WHERE lead_id = $1::uuid", lead,
	    NULL, NULL);
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE id = $1::uuid AND status = 'done'", job, NULL), 1);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid", lead, NULL), 0);
	assert_rep1(lead);
	free(job);
	free(lead);
}
END_TEST

/* The car: the lead's vehicle, else the model its message names. */
START_TEST(reply_names_the_car)
{
	char json[512], want[256], *lead, *body, *veh;

	veh = val_in(d1, "SELECT id FROM vehicles WHERE model = 'EX30'", NULL,
	    NULL, NULL);
	ck_assert_ptr_nonnull(veh);
	lead = val_in(d1, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, email, source, vehicle_id) VALUES"
	    " (get_current_dealership_context(), 'Vera', 'vera.' || $1 ||"
	    " '@example.no', 'web_form', $2::uuid) RETURNING id, dealership_id),"
	    " j AS (INSERT INTO jobs (dealership_id, kind, lead_id) SELECT"
	    " dealership_id, 'reply', id FROM l) SELECT id FROM l", tag, veh,
	    NULL);
	body = ai_body(d1, lead, 10000);
	snprintf(want, sizeof(want), "Bilhuset %s om 2025 Volvo EX30", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);
	free(body);
	free(lead);

	snprintf(json, sizeof(json), "{\"phone\": \"+4791%06u\", \"message\":"
	    " \"Hei, er Model 3 fortsatt ledig?\"}",
	    (unsigned)time(NULL) % 1000000u);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 10000);
	snprintf(want, sizeof(want), "Bilhuset %s om Tesla Model 3", tag);
	ck_assert_msg(strstr(body, want) != NULL, "%s", body);
	free(body);
	free(lead);
	free(veh);
}
END_TEST

/* -------------------------------------------------------------- own */

START_TEST(failed_after_max_attempts)
{
	const char *env[] = { "NORVALT_OUTBOX_DIR=/proc/norvalt-no-such-dir",
	    "NORVALT_WORKER_RETRY_BASE_MS=50", "NORVALT_WORKER_POLL_MS=50",
	    NULL };
	const char *hdrs[2];
	struct nv_test_http r;
	char *lead, *job, *auth, user[64], org[64], path[128];
	cJSON *j, *m;
	pid_t w;

	lead = val_in(d1, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, email, source) VALUES"
	    " (get_current_dealership_context(), 'Feil', $1 || '@example.no',"
	    " 'web_form') RETURNING id, dealership_id), j AS (INSERT INTO jobs"
	    " (dealership_id, kind, lead_id, max_attempts) SELECT dealership_id,"
	    " 'reply', id, 3 FROM l) SELECT id FROM l", tag, NULL, NULL);
	job = val_in(d1, "SELECT id FROM jobs WHERE lead_id = $1::uuid", lead,
	    NULL, NULL);
	w = spawn_worker(env);
	ck_assert_int_eq(wait_count(15000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE id = $1::uuid AND status = 'failed' AND attempts = 3"
	    " AND last_error LIKE 'outbox %'", job, NULL), 1);
	ck_assert_int_eq(WEXITSTATUS(stop_worker(w, SIGTERM)), 0);
	/* One message, failed, with the reason; never composed twice. */
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND sender = 'ai' AND status = 'failed'"
	    " AND error LIKE 'outbox %' AND (metadata->>'send_attempts')::int"
	    " = 3", lead, NULL), 1);
	/* The reply failed for good; the lead still went to the rep. */
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM leads WHERE id ="
	    " $1::uuid AND assigned_to = $2::uuid AND status = 'new'"
	    " AND first_response_at IS NULL", lead, rep1), 1);

	snprintf(user, sizeof(user), "user_wt_mgr_%s", tag);
	snprintf(org, sizeof(org), "org_wt1_%s", tag);
	auth = nv_test_auth_header(user, org);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	snprintf(path, sizeof(path), "/api/leads/%s/messages", lead);
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(m, "status")->
	    valuestring, "failed");
	ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItemCaseSensitive(m,
	    "error")->valuestring, "outbox"));
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(auth);
	free(job);
	free(lead);
}
END_TEST

START_TEST(kill9_then_exactly_one_reply)
{
	const char *env[] = { "NORVALT_WORKER_LEASE_S=2",
	    "NORVALT_WORKER_POLL_MS=100", NULL };
	char like[64];
	pid_t w;
	long done;

	snprintf(like, sizeof(like), "k9x%%.%s@example.no", tag);
	queue_leads(d1, "k9x", 300);
	w = spawn_worker(env);
	/* Kill it while it is busy with them. */
	ck_assert(wait_count(20000, 1, d1, "SELECT least(count(*), 1) FROM"
	    " conversations c JOIN leads l ON l.id = c.lead_id WHERE"
	    " l.email_norm LIKE $1 AND c.sender = 'ai'", like, NULL) == 1);
	usleep(100 * 1000);
	stop_worker(w, SIGKILL);
	done = count_in(d1, "SELECT count(*) FROM jobs j JOIN leads l ON"
	    " l.id = j.lead_id WHERE l.email_norm LIKE $1 AND j.status ="
	    " 'done' AND j.kind = 'reply'", like, NULL);
	ck_assert_msg(done < 300, "the worker finished before the kill");

	w = spawn_worker(env);
	ck_assert_int_eq(wait_count(60000, 300, d1, "SELECT count(*) FROM jobs"
	    " j JOIN leads l ON l.id = j.lead_id WHERE l.email_norm LIKE $1"
	    " AND j.status = 'done' AND j.kind = 'reply'", like, NULL), 300);
	ck_assert_int_eq(WEXITSTATUS(stop_worker(w, SIGTERM)), 0);
	/* Every lead has exactly one ai reply, sent. */
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM (SELECT l.id FROM"
	    " leads l JOIN conversations c ON c.lead_id = l.id AND c.sender ="
	    " 'ai' WHERE l.email_norm LIKE $1 GROUP BY l.id HAVING count(*) = 1"
	    " AND bool_and(c.status = 'sent')) s", like, NULL), 300);
}
END_TEST

START_TEST(two_workers_thousand_leads)
{
	const char *env[] = { "NORVALT_WORKER_POLL_MS=100", NULL };
	char like[64];
	struct timespec t0, t1;
	pid_t w1, w2;
	double secs;

	snprintf(like, sizeof(like), "tk%%.%s@example.no", tag);
	queue_leads(d3, "tk", 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w1 = spawn_worker(env);
	w2 = spawn_worker(env);
	ck_assert_int_eq(wait_count(180000, 1000, d3, "SELECT count(*) FROM jobs"
	    " j JOIN leads l ON l.id = j.lead_id WHERE l.email_norm LIKE $1"
	    " AND j.status = 'done' AND j.kind = 'reply'", like, NULL), 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(WEXITSTATUS(stop_worker(w1, SIGTERM)), 0);
	ck_assert_int_eq(WEXITSTATUS(stop_worker(w2, SIGTERM)), 0);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec -
	    t0.tv_nsec) / 1e9;
	fprintf(stderr, "two workers: 1000 replies in %.2f s (%.0f/s)\n", secs,
	    1000 / secs);
	ck_assert_int_eq(count_in(d3, "SELECT count(*) FROM conversations c"
	    " JOIN leads l ON l.id = c.lead_id WHERE l.email_norm LIKE $1"
	    " AND c.sender = 'ai'", like, NULL), 1000);
	ck_assert_int_eq(count_in(d3, "SELECT count(DISTINCT c.lead_id) FROM"
	    " conversations c JOIN leads l ON l.id = c.lead_id WHERE"
	    " l.email_norm LIKE $1 AND c.sender = 'ai'", like, NULL), 1000);
	/* Both took part. */
	ck_assert_int_eq(count_in(d3, "SELECT count(DISTINCT j.locked_by) FROM"
	    " jobs j JOIN leads l ON l.id = j.lead_id WHERE l.email_norm LIKE"
	    " $1 AND j.kind = 'reply'", like, NULL), 2);
}
END_TEST

START_TEST(round_robin_is_fair)
{
	const char *env[] = { "NORVALT_WORKER_POLL_MS=100", NULL };
	char like[64], *order, *save = NULL;
	pid_t w1, w2;
	size_t i, n;
	char *tok[40], *p;

	/* (runs after two_workers_thousand_leads: its reps are even now) */
	snprintf(like, sizeof(like), "rr%%.%s@example.no", tag);
	free(val_in(d3, "UPDATE users SET last_assigned_at = NULL RETURNING 1",
	    NULL, NULL, NULL));
	queue_leads(d3, "rr", 30);
	w1 = spawn_worker(env);
	w2 = spawn_worker(env);
	ck_assert_int_eq(wait_count(30000, 30, d3, "SELECT count(*) FROM leads"
	    " WHERE email_norm LIKE $1 AND assigned_to IS NOT NULL", like,
	    NULL), 30);
	stop_worker(w1, SIGTERM);
	stop_worker(w2, SIGTERM);
	ck_assert_int_eq(count_in(d3, "SELECT count(*) FROM (SELECT assigned_to"
	    " FROM leads WHERE email_norm LIKE $1 GROUP BY assigned_to HAVING"
	    " count(*) = 10) s", like, NULL), 3);
	/* In assignment order every three in a row are three reps. */
	order = val_in(d3, "SELECT string_agg(assigned_to::text, ' ' ORDER BY"
	    " (metadata->>'auto_assigned_at')::timestamptz) FROM leads WHERE"
	    " email_norm LIKE $1", like, NULL, NULL);
	n = 0;
	for (p = strtok_r(order, " ", &save); p != NULL && n < 40;
	    p = strtok_r(NULL, " ", &save))
		tok[n++] = p;
	ck_assert_int_eq(n, 30);
	for (i = 0; i + 2 < n; i++)
		ck_assert_msg(strcmp(tok[i], tok[i + 1]) != 0 &&
		    strcmp(tok[i], tok[i + 2]) != 0 &&
		    strcmp(tok[i + 1], tok[i + 2]) != 0,
		    "rep repeated within three assignments at %zu", i);
	free(order);
}
END_TEST

START_TEST(follow_up_reminder_once)
{
	const char *env[] = { "NORVALT_WORKER_SWEEP_S=1",
	    "NORVALT_WORKER_POLL_MS=100", NULL };
	char *lead, *quiet;
	pid_t w;

	/* A lead assigned to d1's rep, waiting 45 minutes untouched. */
	lead = val_in(d1, "INSERT INTO leads (dealership_id, first_name, email,"
	    " source, assigned_to, created_at) VALUES"
	    " (get_current_dealership_context(), 'Venter', 'venter.' || $1 ||"
	    " '@example.no', 'web_form', $2::uuid, now() - interval '45"
	    " minutes') RETURNING id", tag, rep1, NULL);
	w = spawn_worker(env);
	ck_assert_int_eq(wait_count(15000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE lead_id = $1::uuid AND kind = 'notify' AND status = 'done'"
	    " AND payload->>'event' = 'waiting' AND payload->>'user_id' = $2",
	    lead, rep1), 1);
	/* More sweeps: still one reminder. */
	sleep(3);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM jobs WHERE lead_id"
	    " = $1::uuid AND kind = 'notify'", lead, NULL), 1);
	ck_assert_int_eq(count_in(d1, "SELECT count(*) FROM leads WHERE id ="
	    " $1::uuid AND follow_up_notified_at IS NOT NULL", lead, NULL), 1);

	/* The rep's quiet hours hold a notification back until they end. */
	free(val_in(d1, "UPDATE users SET notification_preferences ="
	    " '{\"email\": true, \"quiet_hours\": [\"00:00\", \"23:59\"]}'"
	    " WHERE id = $1::uuid RETURNING 1", rep1, NULL, NULL));
	quiet = val_in(d1, "INSERT INTO jobs (dealership_id, kind, lead_id,"
	    " payload) VALUES (get_current_dealership_context(), 'notify',"
	    " $1::uuid, jsonb_build_object('user_id', $2::text, 'event',"
	    " 'assigned')) RETURNING id", lead, rep1, NULL);
	ck_assert_int_eq(wait_count(10000, 1, d1, "SELECT count(*) FROM jobs"
	    " WHERE id = $1::uuid AND status = 'queued' AND attempts = 0"
	    " AND run_at > now() + interval '1 minute'", quiet, NULL), 1);
	ck_assert_int_eq(stop_worker(w, SIGTERM) == 0, 1);
	free(val_in(d1, "UPDATE users SET notification_preferences ="
	    " '{\"email\": true}' WHERE id = $1::uuid RETURNING 1", rep1, NULL,
	    NULL));
	free(quiet);
	free(lead);
}
END_TEST

/* sql (up to three parameters) as the owner, in dealer's context. */
static void
owner_in(PGconn *owner, const char *dealer, const char *sql, const char *p1,
    const char *p2, const char *p3)
{
	PQclear(nv_test_exec(owner, "BEGIN", NULL));
	PQclear(nv_test_exec(owner, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealer, NULL));
	PQclear(nv_test_exec(owner, sql, p1, p2, p3, NULL));
	PQclear(nv_test_exec(owner, "COMMIT", NULL));
}

/*
 * A dealership of this run whose id starts with prefix (24 characters;
 * ids order the sweep), made by the owner; its id into out.
 */
static void
owner_dealer(PGconn *owner, const char *prefix, const char *word, char *out)
{
	char org[64], name[64];

	snprintf(out, 40, "%.24s%02x%02x%02x%02x%02x%02x", prefix, tag[0],
	    tag[1], tag[2], tag[3], tag[4], tag[5]);
	snprintf(org, sizeof(org), "org_wt%s_%s", word, tag);
	snprintf(name, sizeof(name), "%s %s", word, tag);
	owner_in(owner, out, "INSERT INTO dealerships (id, name, clerk_org_id)"
	    " VALUES ($1::uuid, $2, $3)", out, name, org);
}

/*
 * The reminder sweep plans for each dealership it sweeps.  A worker that
 * swept the small dealerships first (ids in order: the demo ones and this
 * run's) used to keep that plan, which reads all of a dealership's
 * conversations for every waiting lead; for a dealership with thousands
 * of waiting leads the sweep then ran into the statement timeout on every
 * round and no rep was ever reminded (found by make bench: replies held
 * back for seconds behind the doomed sweeps).
 */
START_TEST(sweep_plans_for_large_dealership)
{
	const char *env[] = { "NORVALT_WORKER_SWEEP_S=1",
	    "NORVALT_WORKER_POLL_MS=100", "NORVALT_DB_STATEMENT_TIMEOUT_MS=1500",
	    NULL };
	char small[40], big[40], rep[40], user[64], logpath[1024], *log, *v;
	size_t logstart;
	PGconn *owner;
	pid_t w;

	/*
	 * An empty dealership that sorts before every other one, so it is
	 * swept first, and a large one that sorts after them.
	 */
	owner = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	owner_dealer(owner, "00000000-0000-4000-8000-", "small", small);
	owner_dealer(owner, "ffffffff-ffff-4fff-8fff-", "big", big);
	snprintf(user, sizeof(user), "user_wtbig_rep_%s", tag);
	mkuser(big, user, "sales_rep", rep);
	/* 4,000 leads waiting two hours, each with the customer's message. */
	v = val_in(big, "WITH l AS (INSERT INTO leads (dealership_id,"
	    " first_name, email, source, assigned_to, created_at)"
	    " SELECT get_current_dealership_context(), 'Venter' || g,"
	    " 'big' || g || '.' || $1 || '@example.no', 'web_form', $2::uuid,"
	    " now() - interval '2 hours' - g * interval '1 second'"
	    " FROM generate_series(1, 4000) g RETURNING id, dealership_id)"
	    " INSERT INTO conversations (dealership_id, lead_id, direction,"
	    " channel, sender, body, status) SELECT dealership_id, id,"
	    " 'inbound', 'email', 'customer', 'Hei', 'delivered' FROM l"
	    " RETURNING 1", tag, rep, NULL);
	free(v);
	PQclear(nv_test_exec(owner, "ANALYZE leads, conversations", NULL));

	snprintf(logpath, sizeof(logpath), "%s/../log/worker-test.log",
	    nv_test_env("NORVALT_OUTBOX_DIR"));
	log = slurp(logpath);
	logstart = strlen(log);
	free(log);
	w = spawn_worker(env);
	/* 500 a turn, a turn a second: every one within the minute. */
	ck_assert_int_eq(wait_count(60000, 4000, big, "SELECT count(*) FROM"
	    " leads WHERE follow_up_notified_at IS NOT NULL", NULL, NULL),
	    4000);
	ck_assert_int_eq(stop_worker(w, SIGTERM) == 0, 1);
	/* And no sweep of any dealership failed on the way. */
	log = slurp(logpath);
	ck_assert_msg(strlen(log) >= logstart && strstr(log + logstart,
	    "w_sweep failed") == NULL, "a sweep failed: %.200s",
	    strstr(log + logstart, "w_sweep failed"));
	free(log);

	/* Out of the way of the other cases: no more sweeps, no jobs. */
	owner_in(owner, big, "DELETE FROM jobs", NULL, NULL, NULL);
	owner_in(owner, big, "UPDATE dealerships SET active = false", NULL,
	    NULL, NULL);
	owner_in(owner, small, "UPDATE dealerships SET active = false", NULL,
	    NULL, NULL);
	PQfinish(owner);
}
END_TEST

/* ----------------------------------------------------------- outage */

START_TEST(recovers_after_pg_restart)
{
	char json[512], *lead, *body, *out = NULL;
	int st;

	snprintf(json, sizeof(json), "{\"name\": \"Før Omstart\", \"email\":"
	    " \"pre.%s@example.no\"}", tag);
	lead = post_lead(d1, json);
	free(ai_body(d1, lead, 10000));
	free(lead);

	st = nv_test_run(&out, "%s", nv_test_env("NV_PG_RESTART"));
	ck_assert_msg(st == 0, "restart: %s", out != NULL ? out : "");
	free(out);

	/* The same worker process answers again, on its own. */
	snprintf(json, sizeof(json), "{\"name\": \"Etter Omstart\", \"email\":"
	    " \"post.%s@example.no\"}", tag);
	lead = post_lead(d1, json);
	body = ai_body(d1, lead, 20000);
	ck_assert_ptr_nonnull(strstr(body, "Hei Etter!"));
	free(body);
	free(lead);
}
END_TEST

static Suite *
worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *core = tcase_create("core"), *own = tcase_create("own"),
	    *outage = tcase_create("outage");

	tcase_add_unchecked_fixture(core, stack_worker_on, stack_worker_off);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, reply_within_seconds);
	tcase_add_test(core, api_lead_answered);
	tcase_add_test(core, english_lead_english_reply);
	tcase_add_test(core, outside_hours_says_when);
	tcase_add_test(core, custom_template);
	tcase_add_test(core, human_reply_pauses_ai);
	tcase_add_test(core, follow_up_when_not_paused);
	tcase_add_test(core, sms_opt_out_honoured);
	tcase_add_test(core, paused_before_first_reply);
	tcase_add_test(core, reply_names_the_car);
	tcase_add_test(core, erasure_reaches_the_outbox);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(own, setup_all, NULL);
	tcase_set_timeout(own, 240);
	tcase_add_test(own, failed_after_max_attempts);
	tcase_add_test(own, kill9_then_exactly_one_reply);
	tcase_add_test(own, two_workers_thousand_leads);
	tcase_add_test(own, round_robin_is_fair);
	tcase_add_test(own, follow_up_reminder_once);
	tcase_add_test(own, sweep_plans_for_large_dealership);
	suite_add_tcase(s, own);

	tcase_add_unchecked_fixture(outage, stack_worker_on, stack_worker_off);
	tcase_set_timeout(outage, 60);
	tcase_add_test(outage, recovers_after_pg_restart);
	suite_add_tcase(s, outage);
	return s;
}

NV_TEST_MAIN(worker_suite)
