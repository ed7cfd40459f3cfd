/*
 * check_worker_delivery.c - norvalt-worker with real providers on
 * loopback: the reply by SMTP (Debian's aiosmtpd, tests/servers/
 * smtp_sink.py), by Twilio's Messages API and composed by an
 * OpenAI-compatible model (tests/servers/fake_provider.py), including the
 * model's failures (429, 500, slow, malformed) that must fall back to the
 * template, and kill -9 of the worker in the middle of a model call.
 *
 * The stack's own worker is not running here (check_worker stops it);
 * each test starts its server (checked fixture) and its own worker
 * process with the environment that points at it, and stops both.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../servers.h"
#include "../testutil.h"

#define SID	"AC0123456789abcdef0123456789abcdef"
#define TOKEN	"twilio-token-worker-5d1"

static Suite *worker_delivery_suite(void);

static char tag[16];
static char dealer[40];
static struct nv_test_server srv;

/* ------------------------------------------------------------ helpers */

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

static char *
val_in(const char *sql, const char *p1, const char *p2, const char *p3)
{
	PGconn *c = app();
	PGresult *r;
	char *v = NULL;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	r = nv_test_exec(c, sql, p1, p2, p3, NULL);
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return v;
}

static long
count_in(const char *sql, const char *p1, const char *p2)
{
	char *v = val_in(sql, p1, p2, NULL);
	long n = v != NULL ? strtol(v, NULL, 10) : -1;

	free(v);
	return n;
}

static long
wait_count(long ms, long want, const char *sql, const char *p1,
    const char *p2)
{
	long n, waited = 0;

	for (;;) {
		n = count_in(sql, p1, p2);
		if (n == want || waited >= ms)
			return n;
		usleep(50 * 1000);
		waited += 50;
	}
}

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
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Wait for the lead's ai message to leave 'queued'; its body. */
static char *
ai_body(const char *lead, long ms)
{
	ck_assert_int_eq(wait_count(ms, 1, "SELECT count(*) FROM conversations"
	    " WHERE lead_id = $1::uuid AND sender = 'ai' AND status <> 'queued'",
	    lead, NULL), 1);
	return val_in("SELECT body FROM conversations WHERE lead_id = $1::uuid"
	    " AND sender = 'ai'", lead, NULL, NULL);
}

static void
setup_dealer(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = (unsigned long)time(NULL) * 1000003ul ^
	    (unsigned long)getpid();
	char name[64], org[64];
	PGconn *c;
	PGresult *r;
	size_t i;

	if (tag[0] != '\0')
		return;
	for (i = 0; i < 10; i++) {
		tag[i] = letters[v % 26];
		v = v / 26 + i * 7919ul;
	}
	tag[i] = '\0';
	snprintf(name, sizeof(name), "Ærlig Bil %s", tag);
	snprintf(org, sizeof(org), "org_wd_%s", tag);
	c = app();
	r = nv_test_exec(c, "SELECT nv_create_dealership($1, $2, $3::jsonb)",
	    name, org, "{\"tone\": \"formal\", \"auto_assign\": \"off\","
	    " \"business_hours\": {\"mon\": [\"00:00\", \"24:00\"],"
	    " \"tue\": [\"00:00\", \"24:00\"], \"wed\": [\"00:00\", \"24:00\"],"
	    " \"thu\": [\"00:00\", \"24:00\"], \"fri\": [\"00:00\", \"24:00\"],"
	    " \"sat\": [\"00:00\", \"24:00\"], \"sun\": [\"00:00\", \"24:00\"]}}",
	    NULL);
	snprintf(dealer, sizeof(dealer), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	free(val_in("INSERT INTO vehicles (dealership_id, make, model, year,"
	    " price_ore) VALUES (get_current_dealership_context(), 'Tesla',"
	    " 'Model Y', 2024, 44990000) RETURNING 1", NULL, NULL, NULL));
}

static void
smtp_setup(void)
{
	nv_test_smtp_start(&srv, NULL);
}

static void
provider_setup(void)
{
	nv_test_provider_start(&srv, SID, TOKEN);
}

static void
server_teardown(void)
{
	nv_test_server_stop(&srv);
}

/* The LLM environment for the fake provider, into env[0..). */
static void
llm_env(char bufs[][160], const char **env, const char *timeout_ms)
{
	snprintf(bufs[0], 160, "NORVALT_LLM_URL=%s/v1", srv.url);
	snprintf(bufs[1], 160, "NORVALT_LLM_KEY=sk-worker-test");
	snprintf(bufs[2], 160, "NORVALT_LLM_RETRIES=2");
	snprintf(bufs[3], 160, "NORVALT_LLM_TIMEOUT_MS=%s", timeout_ms);
	snprintf(bufs[4], 160, "NORVALT_WORKER_POLL_MS=100");
	snprintf(bufs[5], 160, "NORVALT_WORKER_LEASE_S=2");
	env[0] = bufs[0];
	env[1] = bufs[1];
	env[2] = bufs[2];
	env[3] = bufs[3];
	env[4] = bufs[4];
	env[5] = bufs[5];
	env[6] = NULL;
}

static int
provider_count(void)
{
	cJSON *reqs = nv_test_provider_requests(&srv);
	int n = cJSON_GetArraySize(reqs);

	cJSON_Delete(reqs);
	return n;
}

/* --------------------------------------------------------------- SMTP */

START_TEST(smtp_reply_headers)
{
	static const char script[] =
	    "import email, email.policy, json, sys\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], 'rb'),"
	    " policy=email.policy.default)\n"
	    "out = {k: str(m[k]) for k in ('Reply-To', 'Subject', 'Message-ID',"
	    " 'In-Reply-To', 'Auto-Submitted') if m[k] is not None}\n"
	    "out['from_name'] = m['From'].addresses[0].display_name\n"
	    "out['from_addr'] = m['From'].addresses[0].addr_spec\n"
	    "out['to'] = m['To'].addresses[0].addr_spec\n"
	    "out['charset'] = m.get_content_charset()\n"
	    "out['body'] = m.get_content()\n"
	    "print(json.dumps(out))\n";
	char env0[160], email[128], path[512], want[256], *lead, *mid, *body;
	char *out = NULL;
	const char *env[] = { env0, "NORVALT_SMTP_TLS=none",
	    "NORVALT_WORKER_POLL_MS=100", NULL };
	cJSON *j;
	FILE *f;
	pid_t w;

	snprintf(env0, sizeof(env0), "NORVALT_SMTP_URL=smtp://127.0.0.1:%d",
	    srv.port);
	snprintf(email, sizeof(email), "smtp.%s@example.no", tag);
	lead = val_in("WITH l AS (INSERT INTO leads (dealership_id, first_name,"
	    " last_name, email, source, vehicle_interest, message) VALUES"
	    " (get_current_dealership_context(), 'Åse', 'Ødegård', $1, 'email',"
	    " 'Model Y', 'Er Model Y ledig?') RETURNING id, dealership_id),"
	    " m AS (INSERT INTO conversations (dealership_id, lead_id,"
	    " direction, channel, sender, body, status, metadata) SELECT"
	    " dealership_id, id, 'inbound', 'email', 'customer', 'Er Model Y"
	    " ledig?', 'delivered', jsonb_build_object('email',"
	    " jsonb_build_object('message_id', '<q1.' || $2 ||"
	    " '@mail.example.no>', 'subject', 'Spørsmål om Model Y')) FROM l),"
	    " j AS (INSERT INTO jobs (dealership_id, kind, lead_id) SELECT"
	    " dealership_id, 'reply', id FROM l) SELECT id FROM l", email, tag,
	    NULL);
	w = spawn_worker(env);
	body = ai_body(lead, 15000);
	ck_assert_int_eq(stop_worker(w, SIGTERM), 0);
	ck_assert_int_eq(count_in("SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid AND sender = 'ai' AND status = 'sent' AND"
	    " metadata->>'via' = 'smtp' AND provider_id ="
	    " metadata->>'message_id'", lead, NULL), 1);
	mid = val_in("SELECT metadata->>'message_id' FROM conversations WHERE"
	    " lead_id = $1::uuid AND sender = 'ai'", lead, NULL, NULL);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 1);

	snprintf(path, sizeof(path), "%s/parse.py", srv.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	fclose(f);
	ck_assert_int_eq(nv_test_run(&out, "python3 %s %s/mail/0001.eml", path,
	    srv.dir), 0);
	j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "%s", out);
#define JS(k) (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, k)) ? \
	cJSON_GetObjectItemCaseSensitive(j, k)->valuestring : "(none)")
	snprintf(want, sizeof(want), "Ærlig Bil %s", tag);
	ck_assert_str_eq(JS("from_name"), want);
	ck_assert_str_eq(JS("from_addr"), "leads@norvalt.localhost");
	ck_assert_str_eq(JS("to"), email);
	snprintf(want, sizeof(want), "lead+%s@norvalt.localhost", lead);
	ck_assert_str_eq(JS("Reply-To"), want);
	ck_assert_str_eq(JS("Message-ID"), mid);
	snprintf(want, sizeof(want), "<q1.%s@mail.example.no>", tag);
	ck_assert_str_eq(JS("In-Reply-To"), want);
	ck_assert_str_eq(JS("Subject"), "Re: Spørsmål om Model Y");
	ck_assert_str_eq(JS("Auto-Submitted"), "auto-replied");
	ck_assert_str_eq(JS("charset"), "utf-8");
	/* The body arrives as stored: UTF-8, stock and disclosure intact. */
	ck_assert_msg(strstr(JS("body"), "Hei Åse!") != NULL, "%s", JS("body"));
	ck_assert_ptr_nonnull(strstr(JS("body"), "Vi har en 2024 Tesla Model Y "
	    "på lager til 449 900 kr."));
	ck_assert_ptr_nonnull(strstr(JS("body"), "Dette svaret er skrevet "
	    "automatisk av Norvalt på vegne av Ærlig Bil"));
	ck_assert_msg(strncmp(JS("body"), body, strlen(body)) == 0,
	    "sent body differs from the stored one");
#undef JS
	cJSON_Delete(j);
	free(out);
	free(mid);
	free(body);
	free(lead);
}
END_TEST

/* ------------------------------------------------------------- Twilio */

START_TEST(twilio_reply_provider_id)
{
	char e0[160], phone[32], *lead, *body, *sid;
	const char *env[] = { e0, "NORVALT_TWILIO_ACCOUNT_SID=" SID,
	    "NORVALT_TWILIO_AUTH_TOKEN=" TOKEN, "NORVALT_TWILIO_FROM=+4791234567",
	    "NORVALT_WORKER_POLL_MS=100", NULL };
	cJSON *reqs, *r, *form;
	pid_t w;

	snprintf(e0, sizeof(e0), "NORVALT_TWILIO_API_URL=%s", srv.url);
	snprintf(phone, sizeof(phone), "+479%07u", (unsigned)(time(NULL) %
	    9000000u) + 1000000u);
	lead = val_in("WITH l AS (INSERT INTO leads (dealership_id, first_name,"
	    " phone, source, message) VALUES (get_current_dealership_context(),"
	    " 'Sms', $1, 'sms', 'Har dere Model Y?') RETURNING id,"
	    " dealership_id), j AS (INSERT INTO jobs (dealership_id, kind,"
	    " lead_id) SELECT dealership_id, 'reply', id FROM l) SELECT id"
	    " FROM l", phone, NULL, NULL);
	w = spawn_worker(env);
	body = ai_body(lead, 15000);
	ck_assert_int_eq(stop_worker(w, SIGTERM), 0);
	sid = val_in("SELECT provider_id FROM conversations WHERE lead_id ="
	    " $1::uuid AND sender = 'ai' AND status = 'sent' AND channel ="
	    " 'sms'", lead, NULL, NULL);
	ck_assert_ptr_nonnull(sid);
	ck_assert_msg(strncmp(sid, "SM", 2) == 0, "%s", sid);
	reqs = nv_test_provider_requests(&srv);
	ck_assert_int_eq(cJSON_GetArraySize(reqs), 1);
	r = cJSON_GetArrayItem(reqs, 0);
	form = cJSON_GetObjectItemCaseSensitive(r, "form");
	ck_assert_msg(cJSON_IsObject(form), "not a form post");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(form, "To")->
	    valuestring, phone);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(form, "Body")->
	    valuestring, body);
	cJSON_Delete(reqs);
	free(sid);
	free(body);
	free(lead);
}
END_TEST

/* ---------------------------------------------------------------- LLM */

/* Queue a lead, run a worker against the scripted model; the body. */
static char *
llm_round(const char *script, const char *timeout_ms, char **lead_out)
{
	char bufs[6][160], email[128], first[32], *lead, *body;
	const char *env[7];
	static int n;
	pid_t w;

	llm_env(bufs, env, timeout_ms);
	nv_test_provider_script(&srv, script);
	snprintf(email, sizeof(email), "llm%d.%s@example.no", ++n, tag);
	snprintf(first, sizeof(first), "Kari%d", n);
	lead = val_in("WITH l AS (INSERT INTO leads (dealership_id, first_name,"
	    " email, source, vehicle_interest, message) VALUES"
	    " (get_current_dealership_context(), $1, $2, 'web_form',"
	    " 'Model Y', 'Er Model Y ledig for prøvekjøring?') RETURNING id,"
	    " dealership_id), j AS (INSERT INTO jobs (dealership_id, kind,"
	    " lead_id) SELECT dealership_id, 'reply', id FROM l) SELECT id"
	    " FROM l", first, email, NULL);
	w = spawn_worker(env);
	body = ai_body(lead, 30000);
	ck_assert_int_eq(stop_worker(w, SIGTERM), 0);
	*lead_out = lead;
	return body;
}

START_TEST(llm_reply_with_disclosure)
{
	char *lead, *body, want[512];
	cJSON *reqs, *req, *msgs;
	const char *sys, *user;

	body = llm_round("[{\"content\": \"Hei! Model Y er ledig, og du er "
	    "velkommen til prøvekjøring.\"}]", "5000", &lead);
	snprintf(want, sizeof(want), "Hei! Model Y er ledig, og du er velkommen "
	    "til prøvekjøring.\n\nDette svaret er skrevet automatisk av Norvalt "
	    "på vegne av Ærlig Bil %s.", tag);
	ck_assert_str_eq(body, want);
	ck_assert_int_eq(count_in("SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid AND metadata->>'composer' = 'llm'", lead,
	    NULL), 1);
	reqs = nv_test_provider_requests(&srv);
	ck_assert_int_eq(cJSON_GetArraySize(reqs), 1);
	req = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
	    reqs, 0), "body")->valuestring);
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	sys = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 0),
	    "content")->valuestring;
	user = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 1),
	    "content")->valuestring;
	snprintf(want, sizeof(want), "Ærlig Bil %s", tag);
	ck_assert_ptr_nonnull(strstr(sys, want));
	ck_assert_ptr_nonnull(strstr(sys, "Tone: formal"));
	ck_assert_ptr_nonnull(strstr(sys, "Norwegian Bokmål"));
	ck_assert_ptr_nonnull(strstr(user, "2024 Tesla Model Y, NOK 449,900"));
	ck_assert_ptr_nonnull(strstr(user, "Er Model Y ledig for prøvekjøring?"));
	cJSON_Delete(req);
	cJSON_Delete(reqs);
	free(body);
	free(lead);
}
END_TEST

START_TEST(llm_429_then_success)
{
	char *lead, *body;

	body = llm_round("[{\"status\": 429, \"retry_after\": 0},"
	    " {\"content\": \"Takk, vi har bilen.\"}]", "8000", &lead);
	ck_assert_msg(strncmp(body, "Takk, vi har bilen.\n\nDette svaret", 33)
	    == 0, "%s", body);
	ck_assert_int_eq(provider_count(), 2);
	free(body);
	free(lead);
}
END_TEST

/* Every failure of the model ends in the template, with the reason kept. */
static void
falls_back(const char *script, const char *timeout_ms)
{
	char *lead, *body;

	body = llm_round(script, timeout_ms, &lead);
	ck_assert_msg(strstr(body, "Takk for at du tok kontakt med Ærlig Bil")
	    != NULL, "%s", body);
	ck_assert_ptr_nonnull(strstr(body, "Dette svaret er skrevet automatisk"));
	ck_assert_int_eq(count_in("SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid AND status = 'sent' AND metadata->>'composer' ="
	    " 'template' AND metadata ? 'llm_error'", lead, NULL), 1);
	free(body);
	free(lead);
}

START_TEST(llm_500s_fall_back)
{
	falls_back("[{\"status\": 500}, {\"status\": 502}, {\"status\": 503}]",
	    "8000");
	ck_assert_int_eq(provider_count(), 3);
}
END_TEST

START_TEST(llm_slow_falls_back)
{
	long t0 = (long)time(NULL);

	falls_back("[{\"delay_ms\": 4000, \"content\": \"for sent\"},"
	    " {\"delay_ms\": 4000, \"content\": \"for sent\"},"
	    " {\"delay_ms\": 4000, \"content\": \"for sent\"}]", "1500");
	ck_assert_msg((long)time(NULL) - t0 < 10, "the timeout was not kept");
}
END_TEST

START_TEST(llm_malformed_falls_back)
{
	falls_back("[{\"malformed\": true}, {\"malformed\": true},"
	    " {\"malformed\": true}]", "5000");
}
END_TEST

START_TEST(llm_empty_falls_back)
{
	falls_back("[{\"content\": \"\"}, {\"content\": \"\"},"
	    " {\"content\": \"\"}]", "5000");
}
END_TEST

START_TEST(kill9_during_model_call)
{
	char bufs[6][160], email[128], *lead, *body;
	const char *env[7];
	int waited = 0;
	pid_t w;

	llm_env(bufs, env, "20000");
	nv_test_provider_script(&srv, "[{\"delay_ms\": 6000, \"content\":"
	    " \"Det første svaret\"}]");
	snprintf(email, sizeof(email), "k9llm.%s@example.no", tag);
	lead = val_in("WITH l AS (INSERT INTO leads (dealership_id, first_name,"
	    " email, source) VALUES (get_current_dealership_context(), 'Knut',"
	    " $1, 'web_form') RETURNING id, dealership_id), j AS (INSERT INTO"
	    " jobs (dealership_id, kind, lead_id) SELECT dealership_id, 'reply',"
	    " id FROM l) SELECT id FROM l", email, NULL, NULL);
	w = spawn_worker(env);
	while (provider_count() < 1 && waited < 15000) {
		usleep(50 * 1000);
		waited += 50;
	}
	ck_assert_int_eq(provider_count(), 1);
	/* Mid-call: nothing stored yet. */
	ck_assert_int_eq(stop_worker(w, SIGKILL), 128 + SIGKILL);
	ck_assert_int_eq(count_in("SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid AND sender = 'ai'", lead, NULL), 0);

	nv_test_provider_script(&srv, "{\"reset\": true}");
	nv_test_provider_script(&srv, "[{\"content\": \"Det andre svaret\"}]");
	w = spawn_worker(env);
	body = ai_body(lead, 20000);
	ck_assert_int_eq(stop_worker(w, SIGTERM), 0);
	ck_assert_msg(strncmp(body, "Det andre svaret\n\n", 18) == 0, "%s",
	    body);
	ck_assert_int_eq(count_in("SELECT count(*) FROM conversations WHERE"
	    " lead_id = $1::uuid AND sender = 'ai'", lead, NULL), 1);
	ck_assert_int_eq(count_in("SELECT count(*) FROM jobs WHERE lead_id ="
	    " $1::uuid AND kind = 'reply' AND status = 'done' AND attempts = 2",
	    lead, NULL), 1);
	free(body);
	free(lead);
}
END_TEST

/* ------------------------------------------------------ facebook_fetch */

/*
 * A Graph API stand-in: GET /<leadgen id>?access_token=... answers 500
 * for the first g_fail requests, then the lead.
 */
static int g_fd = -1, g_port;
static volatile int g_fail, g_stop, g_seen;
static pthread_t g_thread;

static void *
graph_main(void *arg)
{
	char req[4096], body[1024], resp[1536], id[64];
	struct pollfd p;
	ssize_t r, wr;
	size_t i;
	int c;

	(void)arg;
	while (!g_stop) {
		p.fd = g_fd;
		p.events = POLLIN;
		if (poll(&p, 1, 100) <= 0 || (c = accept(g_fd, NULL, NULL)) < 0)
			continue;
		r = read(c, req, sizeof(req) - 1);
		req[r > 0 ? r : 0] = '\0';
		for (i = 0; i < sizeof(id) - 1 && req[5 + i] >= '0' &&
		    req[5 + i] <= '9'; i++)
			id[i] = req[5 + i];
		id[i] = '\0';
		g_seen++;
		if (g_fail > 0) {
			g_fail--;
			snprintf(body, sizeof(body), "{\"error\":{}}");
		} else {
			snprintf(body, sizeof(body), "{\"id\":\"%s\","
			    "\"created_time\":\"2026-11-26T05:00:00+0000\","
			    "\"field_data\":[{\"name\":\"full_name\",\"values\":"
			    "[\"Fb Kunde\"]},{\"name\":\"email\",\"values\":"
			    "[\"fb%s@example.no\"]}]}", id, id);
		}
		snprintf(resp, sizeof(resp), "HTTP/1.1 %s\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n%s", strstr(body, "error") != NULL ?
		    "500 X" : "200 OK", strlen(body), body);
		wr = write(c, resp, strlen(resp));
		(void)wr;
		close(c);
	}
	return NULL;
}

static void
graph_start(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(g_fd, 0);
	ck_assert_int_eq(bind(g_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(g_fd, 16), 0);
	ck_assert_int_eq(getsockname(g_fd, (struct sockaddr *)&sa, &len), 0);
	g_port = ntohs(sa.sin_port);
	g_stop = 0;
	g_seen = 0;
	ck_assert_int_eq(pthread_create(&g_thread, NULL, graph_main, NULL), 0);
}

static void
graph_end(void)
{
	g_stop = 1;
	pthread_join(g_thread, NULL);
	close(g_fd);
}

START_TEST(facebook_fetch_retried_then_filed)
{
	char e0[160], leadgen[32], email[64], *lead, *body;
	const char *env[] = { e0, "NORVALT_WORKER_RETRY_BASE_MS=50",
	    "NORVALT_WORKER_POLL_MS=50", NULL };
	pid_t w;

	snprintf(e0, sizeof(e0), "NORVALT_META_GRAPH_URL=http://127.0.0.1:%d",
	    g_port);
	snprintf(leadgen, sizeof(leadgen), "7731%010ld", (long)time(NULL));
	snprintf(email, sizeof(email), "fb%s@example.no", leadgen);
	g_fail = 2;
	free(val_in("INSERT INTO jobs (dealership_id, kind, payload) VALUES"
	    " (get_current_dealership_context(), 'facebook_fetch',"
	    " jsonb_build_object('leadgen_id', $1::text, 'page_id',"
	    " '1234567890')) RETURNING 1", leadgen, NULL, NULL));
	w = spawn_worker(env);
	ck_assert_int_eq(wait_count(15000, 1, "SELECT count(*) FROM jobs WHERE"
	    " kind = 'facebook_fetch' AND payload->>'leadgen_id' = $1 AND"
	    " status = 'done' AND attempts = 3", leadgen, NULL), 1);
	ck_assert_int_eq(g_seen, 3);
	lead = val_in("SELECT id FROM leads WHERE email_norm = $1 AND source ="
	    " 'facebook' AND metadata->'facebook'->>'leadgen_id' = $2", email,
	    leadgen, NULL);
	ck_assert_ptr_nonnull(lead);
	/* The new lead is answered like any other. */
	body = ai_body(lead, 15000);
	ck_assert_ptr_nonnull(strstr(body, "Hei Fb!"));
	ck_assert_int_eq(stop_worker(w, SIGTERM), 0);
	free(body);
	free(lead);
}
END_TEST

static Suite *
worker_delivery_suite(void)
{
	Suite *s = suite_create("worker_delivery");
	TCase *smtp = tcase_create("smtp"), *prov = tcase_create("provider"),
	    *fb = tcase_create("facebook");

	tcase_add_unchecked_fixture(smtp, setup_dealer, NULL);
	tcase_add_unchecked_fixture(prov, setup_dealer, NULL);
	tcase_add_checked_fixture(smtp, smtp_setup, server_teardown);
	tcase_set_timeout(smtp, 60);
	tcase_add_test(smtp, smtp_reply_headers);
	suite_add_tcase(s, smtp);

	tcase_add_checked_fixture(prov, provider_setup, server_teardown);
	tcase_set_timeout(prov, 60);
	tcase_add_test(prov, twilio_reply_provider_id);
	tcase_add_test(prov, llm_reply_with_disclosure);
	tcase_add_test(prov, llm_429_then_success);
	tcase_add_test(prov, llm_500s_fall_back);
	tcase_add_test(prov, llm_slow_falls_back);
	tcase_add_test(prov, llm_malformed_falls_back);
	tcase_add_test(prov, llm_empty_falls_back);
	tcase_add_test(prov, kill9_during_model_call);
	suite_add_tcase(s, prov);

	tcase_add_unchecked_fixture(fb, setup_dealer, NULL);
	tcase_add_checked_fixture(fb, graph_start, graph_end);
	tcase_set_timeout(fb, 60);
	tcase_add_test(fb, facebook_fetch_retried_then_filed);
	suite_add_tcase(s, fb);
	return s;
}

NV_TEST_MAIN(worker_delivery_suite)
