/*
 * check_delivery.c - the outbound clients against real servers on
 * loopback: lib/mail.c against aiosmtpd (tests/servers/smtp_sink.py),
 * lib/sms.c and lib/llm.c against tests/servers/fake_provider.py, which
 * speaks Twilio's Messages API and OpenAI's chat completions.
 *
 * Nothing here needs the test stack; it sits with the integration tests
 * because it opens sockets and starts processes.  Each test starts its
 * own server (checked fixture), so scripted failures never leak into the
 * next test, and configures lib/config through the environment as a
 * program would (setenv, then nv_config_load).
 *
 * What is checked is what a customer or the dealership would notice: the
 * mail that arrives, decoded by Python's email package (an independent
 * reader); the exact request Twilio or the model provider would see; and
 * which failures come back as "retry later" and which as "give up".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "../servers.h"
#include "../testutil.h"
#include "arena.h"
#include "config.h"
#include "llm.h"
#include "mail.h"
#include "sms.h"

static Suite *delivery_suite(void);

#define SID	"AC0123456789abcdef0123456789abcdef"
#define TOKEN	"twilio-token-7f3c"
#define LLMKEY	"sk-test-3e1c9d27a4"
#define SMTPPW	"smtp-secret-9b2"

static struct nv_arena *a;
static struct nv_test_server srv;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
env(const char *name, const char *value)
{
	if (value != NULL)
		ck_assert_int_eq(setenv(name, value, 1), 0);
	else
		ck_assert_int_eq(unsetenv(name), 0);
}

static void
reload(void)
{
	struct nv_diag d;

	nv_diag_reset(&d);
	ck_assert_msg(nv_config_load(&d) == NV_OK, "config: %s", d.msg);
}

/* Every delivery variable unset: each test sets what it needs. */
static void
env_clear(void)
{
	static const char *const names[] = {
		"NORVALT_SMTP_URL", "NORVALT_SMTP_USER", "NORVALT_SMTP_PASSWORD",
		"NORVALT_SMTP_TLS", "NORVALT_SMTP_TIMEOUT_MS",
		"NORVALT_SMTP_CA_FILE",
		"NORVALT_TWILIO_ACCOUNT_SID", "NORVALT_TWILIO_AUTH_TOKEN",
		"NORVALT_TWILIO_API_URL", "NORVALT_TWILIO_FROM",
		"NORVALT_LLM_URL", "NORVALT_LLM_KEY", "NORVALT_LLM_KEY_HEADER",
		"NORVALT_LLM_MODEL", "NORVALT_LLM_CONNECT_TIMEOUT_MS",
		"NORVALT_LLM_TIMEOUT_MS", "NORVALT_LLM_RETRIES",
		"NORVALT_LLM_MAX_TOKENS", NULL
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		env(names[i], NULL);
	/* A developer's .env must not leak into these tests. */
	env("NORVALT_ENV_FILE", "/dev/null");
}

/* ---------------------------------------------------------------- SMTP */

static void
smtp_env(int port)
{
	char url[64];

	env_clear();
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	env("NORVALT_SMTP_URL", url);
	env("NORVALT_SMTP_TLS", "none");
	env("NORVALT_SMTP_TIMEOUT_MS", "5000");
	reload();
}

static void
smtp_setup(void)
{
	a = nv_arena_new();
	nv_test_smtp_start(&srv, NULL);
	smtp_env(srv.port);
}

static void
smtp_auth_setup(void)
{
	static const char *const args[] = { "--auth", "norvalt:" SMTPPW,
	    NULL };

	a = nv_arena_new();
	nv_test_smtp_start(&srv, args);
	smtp_env(srv.port);
}

static void
server_teardown(void)
{
	nv_test_server_stop(&srv);
	nv_arena_free(a);
}

static struct nv_mail
reply_mail(void)
{
	struct nv_mail m = {
		.from_addr = "leads@norvalt.localhost",
		.from_name = "Bilhuset Ålesund",
		.to_addr = "aase.odegard@example.no",
		.to_name = "Åse Ødegård",
		.reply_to = "lead-7f3c@norvalt.localhost",
		.subject = "Svar på din henvendelse om Škoda Enyaq – æøå",
		.body = "Hei Åse,\n\ntakk for henvendelsen om Škoda Enyaq.\n"
		    ".\nPris: 449 900 kr = tilbud.\n\nVennlig hilsen\n"
		    "Bilhuset Ålesund\n",
		.message_id = "<reply-7f3c.1@norvalt.localhost>",
		.in_reply_to = "<CAF+lead@mail.example.no>",
		.references = "<CAF+lead@mail.example.no>",
		.auto_submitted = "auto-replied",
	};
	return m;
}

/*
 * Python's email package (policy.default) on message i of the sink: one
 * JSON object with the decoded headers and the text content.
 */
static cJSON *
smtp_parsed(size_t i)
{
	static const char script[] =
	    "import email, email.policy, json, sys\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], 'rb'),"
	    " policy=email.policy.default)\n"
	    "out = {k: str(m[k]) for k in ('From', 'To', 'Reply-To', 'Subject',"
	    " 'Message-ID', 'In-Reply-To', 'References', 'Auto-Submitted',"
	    " 'Date', 'MIME-Version') if m[k] is not None}\n"
	    "out['from_name'] = m['From'].addresses[0].display_name\n"
	    "out['from_addr'] = m['From'].addresses[0].addr_spec\n"
	    "out['to_name'] = m['To'].addresses[0].display_name\n"
	    "out['content_type'] = m.get_content_type()\n"
	    "out['charset'] = m.get_content_charset()\n"
	    "out['date_ok'] = m['Date'].datetime is not None\n"
	    "out['defects'] = [str(d) for d in m.defects] + "
	    "[str(d) for k in m.keys() for d in m[k].defects]\n"
	    "out['body'] = m.get_content()\n"
	    "print(json.dumps(out))\n";
	char path[NV_TEST_SERVER_DIR_MAX + 32], *out = NULL;
	FILE *f;
	cJSON *j;
	int st;

	snprintf(path, sizeof(path), "%s/parse.py", srv.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	ck_assert_int_eq(fclose(f), 0);
	st = nv_test_run(&out, "python3 %s %s/mail/%04zu.eml", path, srv.dir,
	    i);
	ck_assert_msg(st == 0, "python email parser failed: %s", out);
	j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "not JSON: %s", out);
	free(out);
	return j;
}

static const char *
jstr(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", k);
	return v->valuestring;
}

START_TEST(test_smtp_delivered)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;
	cJSON *env_j, *p, *rcpt;

	nv_diag_reset(&d);
	ck_assert(nv_mail_configured());
	ck_assert_msg(nv_mail_send(a, &d, &m) == NV_OK, "send: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 1);

	env_j = nv_test_smtp_envelope(&srv, 1);
	ck_assert_str_eq(jstr(env_j, "mail_from"), "leads@norvalt.localhost");
	rcpt = cJSON_GetObjectItemCaseSensitive(env_j, "rcpt_tos");
	ck_assert_int_eq(cJSON_GetArraySize(rcpt), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(rcpt, 0)->valuestring,
	    "aase.odegard@example.no");
	cJSON_Delete(env_j);

	p = smtp_parsed(1);
	ck_assert_str_eq(jstr(p, "from_name"), "Bilhuset Ålesund");
	ck_assert_str_eq(jstr(p, "from_addr"), "leads@norvalt.localhost");
	ck_assert_str_eq(jstr(p, "to_name"), "Åse Ødegård");
	ck_assert_str_eq(jstr(p, "Reply-To"), "lead-7f3c@norvalt.localhost");
	ck_assert_str_eq(jstr(p, "Subject"),
	    "Svar på din henvendelse om Škoda Enyaq – æøå");
	ck_assert_str_eq(jstr(p, "Message-ID"),
	    "<reply-7f3c.1@norvalt.localhost>");
	ck_assert_str_eq(jstr(p, "In-Reply-To"), "<CAF+lead@mail.example.no>");
	ck_assert_str_eq(jstr(p, "References"), "<CAF+lead@mail.example.no>");
	ck_assert_str_eq(jstr(p, "Auto-Submitted"), "auto-replied");
	ck_assert_str_eq(jstr(p, "MIME-Version"), "1.0");
	ck_assert_str_eq(jstr(p, "content_type"), "text/plain");
	ck_assert_str_eq(jstr(p, "charset"), "utf-8");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "date_ok")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(p,
	    "defects")), 0);
	/* The body round-trips, the lone "." line included. */
	ck_assert_str_eq(jstr(p, "body"),
	    "Hei Åse,\n\ntakk for henvendelsen om Škoda Enyaq.\n"
	    ".\nPris: 449 900 kr = tilbud.\n\nVennlig hilsen\n"
	    "Bilhuset Ålesund\n");
	cJSON_Delete(p);
}
END_TEST

START_TEST(test_smtp_451_transient)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	nv_test_smtp_script(&srv, "451");
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "451") != NULL, "diag: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
	/* The retry, same Message-ID, goes through. */
	nv_diag_reset(&d);
	ck_assert_msg(nv_mail_send(a, &d, &m) == NV_OK, "send: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 1);
}
END_TEST

START_TEST(test_smtp_550_permanent)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	nv_test_smtp_script(&srv, "550 rcpt:550");
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_VALIDATION);
	ck_assert_msg(strstr(d.msg, "550 5.7.1") != NULL, "diag: %s", d.msg);
	/* Refused at RCPT TO: as permanent. */
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_VALIDATION);
	ck_assert_msg(strstr(d.msg, "550 5.1.1") != NULL, "diag: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

START_TEST(test_smtp_server_down)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;
	long t0;

	smtp_env(nv_test_closed_port());
	nv_diag_reset(&d);
	t0 = now_ms();
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_msg(strstr(d.msg, "unreachable") != NULL, "diag: %s", d.msg);
}
END_TEST

START_TEST(test_smtp_silent_server)
{
	struct nv_mail m = reply_mail();
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct nv_diag d;
	char url[64];
	long t0, took;
	int fd;

	/* Listening, so the connection succeeds, but never a greeting. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", ntohs(sa.sin_port));
	env("NORVALT_SMTP_URL", url);
	env("NORVALT_SMTP_TIMEOUT_MS", "1000");
	reload();
	nv_diag_reset(&d);
	t0 = now_ms();
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	took = now_ms() - t0;
	ck_assert_msg(took >= 900 && took < 5000, "took %ld ms", took);
	close(fd);
}
END_TEST

START_TEST(test_smtp_starttls_required)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	/* The sink offers no STARTTLS: the mail must not go in clear text. */
	env("NORVALT_SMTP_TLS", "starttls");
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

START_TEST(test_smtp_refuses_bad_mail)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	m.subject = "Hei\r\nBcc: everyone@example.no";
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_VALIDATION);
	ck_assert_str_eq(d.details[0].field, "subject");
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

START_TEST(test_smtp_not_configured)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	env("NORVALT_SMTP_URL", NULL);
	reload();
	ck_assert(!nv_mail_configured());
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_CONFIG);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

START_TEST(test_smtp_auth_ok)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;
	cJSON *e;

	env("NORVALT_SMTP_USER", "norvalt");
	env("NORVALT_SMTP_PASSWORD", SMTPPW);
	reload();
	nv_diag_reset(&d);
	ck_assert_msg(nv_mail_send(a, &d, &m) == NV_OK, "send: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 1);
	e = nv_test_smtp_envelope(&srv, 1);
	ck_assert_str_eq(jstr(e, "auth_login"), "norvalt");
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_smtp_auth_refused)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;

	env("NORVALT_SMTP_USER", "norvalt");
	env("NORVALT_SMTP_PASSWORD", "wrong-password-42");
	reload();
	nv_diag_reset(&d);
	/* Wrong credentials: retry later, once the operator fixes them. */
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "535") != NULL, "diag: %s", d.msg);
	ck_assert_ptr_null(strstr(d.msg, "wrong-password-42"));
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
	/* No login at all: the server wants one (530), also transient. */
	env("NORVALT_SMTP_USER", NULL);
	env("NORVALT_SMTP_PASSWORD", NULL);
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "530") != NULL, "diag: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

/* ----------------------------------------------------------------- TLS */

static char certdir[64];
static char certfile[128];
static char keyfile[128];

/* A throwaway self-signed certificate for 127.0.0.1 (IP SAN only). */
static void
cert_make(void)
{
	char *out = NULL;
	int st;

	snprintf(certdir, sizeof(certdir), "/tmp/nv-test-cert-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(certdir));
	snprintf(certfile, sizeof(certfile), "%s/cert.pem", certdir);
	snprintf(keyfile, sizeof(keyfile), "%s/key.pem", certdir);
	st = nv_test_run(&out, "openssl req -x509 -newkey rsa:2048 -nodes "
	    "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	    "-keyout %s -out %s", keyfile, certfile);
	ck_assert_msg(st == 0, "openssl: %s", out);
	free(out);
}

static void
smtp_tls_setup(void)
{
	const char *args[4];

	a = nv_arena_new();
	cert_make();
	args[0] = "--tls";
	args[1] = certfile;
	args[2] = keyfile;
	args[3] = NULL;
	nv_test_smtp_start(&srv, args);
	smtp_env(srv.port);
	env("NORVALT_SMTP_TLS", "starttls");
	env("NORVALT_SMTP_CA_FILE", certfile);
	reload();
}

static void
smtp_tls_teardown(void)
{
	char *out = NULL;

	server_teardown();
	nv_test_run(&out, "rm -rf %s", certdir);
	free(out);
}

START_TEST(test_smtp_starttls_ok)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;
	cJSON *e;

	nv_diag_reset(&d);
	ck_assert_msg(nv_mail_send(a, &d, &m) == NV_OK, "send: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 1);
	e = nv_test_smtp_envelope(&srv, 1);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "tls")));
	cJSON_Delete(e);
}
END_TEST

START_TEST(test_smtp_tls_untrusted)
{
	struct nv_mail m = reply_mail();
	struct nv_diag d;
	char url[64];

	/* The system's CAs do not know this certificate. */
	env("NORVALT_SMTP_CA_FILE", NULL);
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	/* Trusted, but for 127.0.0.1, not for "localhost". */
	env("NORVALT_SMTP_CA_FILE", certfile);
	snprintf(url, sizeof(url), "smtp://localhost:%d", srv.port);
	env("NORVALT_SMTP_URL", url);
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	/* In clear text, the server wants STARTTLS first (530): transient. */
	env("NORVALT_SMTP_TLS", "none");
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", srv.port);
	env("NORVALT_SMTP_URL", url);
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_send(a, &d, &m), NV_ERR_UNAVAILABLE);
	ck_assert_uint_eq(nv_test_smtp_count(&srv), 0);
}
END_TEST

START_TEST(test_smtps_implicit)
{
	const char *args[] = { "--tls", certfile, keyfile, "--implicit",
	    NULL };
	struct nv_mail m = reply_mail();
	struct nv_test_server s2;
	struct nv_diag d;
	char url[64];
	cJSON *e;

	nv_test_smtp_start(&s2, args);
	snprintf(url, sizeof(url), "smtps://127.0.0.1:%d", s2.port);
	env("NORVALT_SMTP_URL", url);
	reload();
	nv_diag_reset(&d);
	ck_assert_msg(nv_mail_send(a, &d, &m) == NV_OK, "send: %s", d.msg);
	ck_assert_uint_eq(nv_test_smtp_count(&s2), 1);
	e = nv_test_smtp_envelope(&s2, 1);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "tls")));
	cJSON_Delete(e);
	nv_test_server_stop(&s2);
}
END_TEST

/* ----------------------------------------------------------------- SMS */

static void
provider_setup(void)
{
	char url[128];

	a = nv_arena_new();
	nv_test_provider_start(&srv, SID, TOKEN);
	env_clear();
	env("NORVALT_TWILIO_ACCOUNT_SID", SID);
	env("NORVALT_TWILIO_AUTH_TOKEN", TOKEN);
	env("NORVALT_TWILIO_API_URL", srv.url);
	env("NORVALT_TWILIO_FROM", "+4791234567");
	snprintf(url, sizeof(url), "%s/v1", srv.url);
	env("NORVALT_LLM_URL", url);
	env("NORVALT_LLM_KEY", LLMKEY);
	env("NORVALT_LLM_MODEL", "gpt-test-mini");
	env("NORVALT_LLM_RETRIES", "2");
	reload();
}

/* Request i of the provider's log; the array stays owned by reqs. */
static cJSON *
request(cJSON *reqs, int i)
{
	cJSON *r = cJSON_GetArrayItem(reqs, i);

	ck_assert_msg(r != NULL, "no request %d", i);
	return r;
}

static const char *
req_header(const cJSON *r, const char *name)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "headers"), *v;

	cJSON_ArrayForEach(v, h)
		if (strcasecmp(v->string, name) == 0)
			return v->valuestring;
	return NULL;
}

static int
provider_count(void)
{
	cJSON *reqs = nv_test_provider_requests(&srv);
	int n = cJSON_GetArraySize(reqs);

	cJSON_Delete(reqs);
	return n;
}

START_TEST(test_sms_sent)
{
	const char *body = "Hei Åse! Bilen er klar – æøå ÆØÅ & 100% sikker?";
	unsigned char b64[128];
	struct nv_diag d;
	char *sid = NULL;
	cJSON *reqs, *r, *form;

	ck_assert(nv_sms_configured());
	nv_diag_reset(&d);
	ck_assert_msg(nv_sms_send(a, &d, "+4799887766", NULL, body, &sid) ==
	    NV_OK, "send: %s", d.msg);
	ck_assert_ptr_nonnull(sid);
	ck_assert_uint_eq(strlen(sid), 34);
	ck_assert_int_eq(strncmp(sid, "SM", 2), 0);

	reqs = nv_test_provider_requests(&srv);
	ck_assert_int_eq(cJSON_GetArraySize(reqs), 1);
	r = request(reqs, 0);
	ck_assert_str_eq(jstr(r, "method"), "POST");
	ck_assert_str_eq(jstr(r, "path"),
	    "/2010-04-01/Accounts/" SID "/Messages.json");
	EVP_EncodeBlock(b64, (const unsigned char *)SID ":" TOKEN,
	    (int)strlen(SID ":" TOKEN));
	ck_assert_str_eq(req_header(r, "Authorization"),
	    nv_arena_cat(a, "Basic ", (char *)b64, (char *)NULL));
	ck_assert_int_eq(strncmp(req_header(r, "Content-Type"),
	    "application/x-www-form-urlencoded", 33), 0);
	form = cJSON_GetObjectItemCaseSensitive(r, "form");
	ck_assert_msg(cJSON_IsObject(form), "body is not a valid form: %s",
	    jstr(r, "body"));
	ck_assert_str_eq(jstr(form, "To"), "+4799887766");
	ck_assert_str_eq(jstr(form, "From"), "+4791234567");
	ck_assert_str_eq(jstr(form, "Body"), body);
	ck_assert_int_eq(cJSON_GetArraySize(form), 3);
	cJSON_Delete(reqs);
}
END_TEST

START_TEST(test_sms_messaging_service)
{
	struct nv_diag d;
	char *sid = NULL;
	cJSON *reqs, *form;

	nv_diag_reset(&d);
	ck_assert_msg(nv_sms_send(a, &d, "+4799887766",
	    "MG0123456789abcdef0123456789abcdef", "Hei", &sid) == NV_OK,
	    "send: %s", d.msg);
	reqs = nv_test_provider_requests(&srv);
	form = cJSON_GetObjectItemCaseSensitive(request(reqs, 0), "form");
	ck_assert_str_eq(jstr(form, "MessagingServiceSid"),
	    "MG0123456789abcdef0123456789abcdef");
	ck_assert_ptr_null(cJSON_GetObjectItem(form, "From"));
	cJSON_Delete(reqs);
	/* An alphanumeric sender ID that happens to start with MG is a From. */
	ck_assert_msg(nv_sms_send(a, &d, "+4799887766", "MGBilAS", "Hei",
	    &sid) == NV_OK, "send: %s", d.msg);
	reqs = nv_test_provider_requests(&srv);
	form = cJSON_GetObjectItemCaseSensitive(request(reqs, 1), "form");
	ck_assert_str_eq(jstr(form, "From"), "MGBilAS");
	ck_assert_ptr_null(cJSON_GetObjectItem(form, "MessagingServiceSid"));
	cJSON_Delete(reqs);
}
END_TEST

START_TEST(test_sms_transient)
{
	struct nv_diag d;
	char *sid = NULL;

	nv_test_provider_script(&srv, "[{\"status\":429,\"retry_after\":1},"
	    "{\"status\":500},{\"status\":503}]");
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_UNAVAILABLE);
	ck_assert_ptr_null(sid);
	ck_assert_msg(strstr(d.msg, "429") != NULL, "diag: %s", d.msg);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "500") != NULL, "diag: %s", d.msg);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_UNAVAILABLE);
	/* The fourth try gets through. */
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_OK);
	ck_assert_int_eq(provider_count(), 4);
}
END_TEST

START_TEST(test_sms_permanent)
{
	struct nv_diag d;
	char *sid = NULL;

	nv_test_provider_script(&srv, "[{\"status\":400,\"code\":21610},"
	    "{\"status\":400,\"code\":21211}]");
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_VALIDATION);
	ck_assert_msg(strstr(d.msg, "21610") != NULL &&
	    strstr(d.msg, "unsubscribed recipient") != NULL, "diag: %s", d.msg);
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4700", NULL, "Hei", &sid),
	    NV_ERR_VALIDATION);
	ck_assert_msg(strstr(d.msg, "21211") != NULL, "diag: %s", d.msg);
	ck_assert_ptr_null(sid);
}
END_TEST

START_TEST(test_sms_bad_credentials)
{
	struct nv_diag d;
	char *sid = NULL;

	env("NORVALT_TWILIO_AUTH_TOKEN", "not-the-token-xyz");
	reload();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "20003") != NULL, "diag: %s", d.msg);
	ck_assert_ptr_null(strstr(d.msg, "not-the-token-xyz"));
}
END_TEST

START_TEST(test_sms_down_and_unconfigured)
{
	struct nv_diag d;
	char url[64], *sid = NULL, big[1700];
	long t0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d",
	    nv_test_closed_port());
	env("NORVALT_TWILIO_API_URL", url);
	reload();
	nv_diag_reset(&d);
	t0 = now_ms();
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_UNAVAILABLE);
	ck_assert_int_lt(now_ms() - t0, 5000);
	/* Too long for Twilio (1600 characters): refused before sending. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, big, &sid),
	    NV_ERR_VALIDATION);
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "", &sid),
	    NV_ERR_VALIDATION);
	env("NORVALT_TWILIO_ACCOUNT_SID", NULL);
	reload();
	ck_assert(!nv_sms_configured());
	ck_assert_int_eq(nv_sms_send(a, &d, "+4799887766", NULL, "Hei", &sid),
	    NV_ERR_CONFIG);
	ck_assert_int_eq(provider_count(), 0);
}
END_TEST

/* ----------------------------------------------------------------- LLM */

static const struct nv_llm_msg chat[] = {
	{ "system", "Du er en digital assistent for Bilhuset Ålesund." },
	{ "user", "Er Škoda Enyaq fortsatt til salgs? Hilsen Åse" },
};

static enum nv_err
ask(struct nv_diag *d, char **out)
{
	nv_diag_reset(d);
	*out = NULL;
	return nv_llm_chat(a, d, chat, 2, out);
}

START_TEST(test_llm_ok)
{
	struct nv_diag d;
	cJSON *reqs, *r, *body, *msgs;
	char *out;

	nv_test_provider_script(&srv,
	    "[{\"content\":\"  \\n Hei Åse! Ja, den er til salgs.\\n\\n\"}]");
	ck_assert(nv_llm_configured());
	ck_assert_msg(ask(&d, &out) == NV_OK, "chat: %s", d.msg);
	ck_assert_str_eq(out, "Hei Åse! Ja, den er til salgs.");

	reqs = nv_test_provider_requests(&srv);
	ck_assert_int_eq(cJSON_GetArraySize(reqs), 1);
	r = request(reqs, 0);
	ck_assert_str_eq(jstr(r, "path"), "/v1/chat/completions");
	ck_assert_str_eq(req_header(r, "Authorization"), "Bearer " LLMKEY);
	ck_assert_str_eq(req_header(r, "Content-Type"), "application/json");
	body = cJSON_Parse(jstr(r, "body"));
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(jstr(body, "model"), "gpt-test-mini");
	ck_assert_int_eq(cJSON_GetObjectItem(body, "max_tokens")->valueint,
	    400);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(body, "temperature")));
	msgs = cJSON_GetObjectItem(body, "messages");
	ck_assert_int_eq(cJSON_GetArraySize(msgs), 2);
	ck_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 0), "role"), "system");
	ck_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 0), "content"),
	    chat[0].content);
	ck_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 1), "role"), "user");
	ck_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 1), "content"),
	    chat[1].content);
	cJSON_Delete(body);
	cJSON_Delete(reqs);
}
END_TEST

START_TEST(test_llm_key_header)
{
	struct nv_diag d;
	cJSON *reqs, *r;
	char *out;

	/* Azure's style: the raw key under another header name. */
	env("NORVALT_LLM_KEY_HEADER", "api-key");
	env("NORVALT_LLM_MAX_TOKENS", "120");
	reload();
	ck_assert_msg(ask(&d, &out) == NV_OK, "chat: %s", d.msg);
	reqs = nv_test_provider_requests(&srv);
	r = request(reqs, 0);
	ck_assert_str_eq(req_header(r, "api-key"), LLMKEY);
	ck_assert_ptr_null(req_header(r, "Authorization"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "\"max_tokens\":120"));
	cJSON_Delete(reqs);
	/* No key at all (a local llama-server): no auth header. */
	env("NORVALT_LLM_KEY", NULL);
	reload();
	ck_assert_msg(ask(&d, &out) == NV_OK, "chat: %s", d.msg);
	reqs = nv_test_provider_requests(&srv);
	r = request(reqs, 1);
	ck_assert_ptr_null(req_header(r, "api-key"));
	ck_assert_ptr_null(req_header(r, "Authorization"));
	cJSON_Delete(reqs);
}
END_TEST

START_TEST(test_llm_429_then_ok)
{
	struct nv_diag d;
	char *out;
	long t0;

	nv_test_provider_script(&srv, "[{\"status\":429,\"retry_after\":1}]");
	t0 = now_ms();
	ck_assert_msg(ask(&d, &out) == NV_OK, "chat: %s", d.msg);
	/* Retry-After: 1 was honoured, and one retry was enough. */
	ck_assert_int_ge(now_ms() - t0, 950);
	ck_assert_int_eq(provider_count(), 2);
	ck_assert_str_eq(out, "Hei! Takk for henvendelsen. Bilen er fortsatt "
	    "til salgs.");
}
END_TEST

START_TEST(test_llm_5xx_exhausts_retries)
{
	struct nv_diag d;
	char *out;

	nv_test_provider_script(&srv, "[{\"status\":500},{\"status\":502},"
	    "{\"status\":503},{\"status\":500}]");
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	ck_assert_ptr_null(out);
	/* NORVALT_LLM_RETRIES=2: three attempts, no fourth. */
	ck_assert_int_eq(provider_count(), 3);
	ck_assert_msg(strstr(d.msg, "503") != NULL, "diag: %s", d.msg);
	/* With no retries, one attempt. */
	env("NORVALT_LLM_RETRIES", "0");
	reload();
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	ck_assert_int_eq(provider_count(), 4);
}
END_TEST

START_TEST(test_llm_slow_answer_times_out)
{
	struct nv_diag d;
	char *out;
	long t0, took;

	env("NORVALT_LLM_TIMEOUT_MS", "1500");
	reload();
	nv_test_provider_script(&srv, "[{\"delay_ms\":5000},"
	    "{\"delay_ms\":5000},{\"delay_ms\":5000}]");
	t0 = now_ms();
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	took = now_ms() - t0;
	/* The budget covers the retries too: back well before the answer. */
	ck_assert_msg(took < 4000, "took %ld ms", took);
	ck_assert_msg(strstr(d.msg, "unreachable") != NULL, "diag: %s", d.msg);
}
END_TEST

START_TEST(test_llm_unusable_answers)
{
	static const char *const scripts[] = {
		"[{\"malformed\":true}]",
		"[{\"content\":\"\"}]",
		"[{\"content\":\" \\n\\t \"}]",
		"[{\"content\":\"\",\"finish_reason\":\"length\"}]",
		"[{\"content\":\"Hei Åse, bilen er\",\"finish_reason\":\"length\"}]",
		"[{\"content\":\"x\",\"finish_reason\":\"content_filter\"}]",
		"[{\"no_choices\":true}]",
	};
	struct nv_diag d;
	size_t i;
	char *out;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		nv_test_provider_script(&srv, scripts[i]);
		ck_assert_msg(ask(&d, &out) == NV_ERR_UNAVAILABLE,
		    "script %s gave %s", scripts[i], out);
		ck_assert_ptr_null(out);
		ck_assert(d.msg[0] != '\0');
		/* Not retried: the same answer would come back. */
		ck_assert_int_eq(provider_count(), (int)i + 1);
	}
}
END_TEST

START_TEST(test_llm_client_error_no_retry)
{
	struct nv_diag d;
	char *out;

	nv_test_provider_script(&srv, "[{\"status\":401,\"message\":"
	    "\"Incorrect API key provided: " LLMKEY "\"},{\"status\":404,"
	    "\"message\":\"The model gpt-test-mini does not exist\"}]");
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "401") != NULL, "diag: %s", d.msg);
	ck_assert_msg(strstr(d.msg, LLMKEY) == NULL, "key in diag: %s", d.msg);
	ck_assert_int_eq(provider_count(), 1);
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	ck_assert_msg(strstr(d.msg, "does not exist") != NULL, "diag: %s",
	    d.msg);
	ck_assert_int_eq(provider_count(), 2);
}
END_TEST

START_TEST(test_llm_retry_after_beyond_budget)
{
	struct nv_diag d;
	char *out;
	long t0;

	env("NORVALT_LLM_TIMEOUT_MS", "3000");
	reload();
	nv_test_provider_script(&srv, "[{\"status\":429,\"retry_after\":30}]");
	t0 = now_ms();
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	/* Gives up at once: the template goes out instead of waiting. */
	ck_assert_int_lt(now_ms() - t0, 2000);
	ck_assert_int_eq(provider_count(), 1);
	ck_assert_msg(strstr(d.msg, "wait 30 s") != NULL, "diag: %s", d.msg);
}
END_TEST

START_TEST(test_llm_down_and_unconfigured)
{
	struct nv_diag d;
	char url[64], *out;
	long t0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1",
	    nv_test_closed_port());
	env("NORVALT_LLM_URL", url);
	reload();
	t0 = now_ms();
	ck_assert_int_eq(ask(&d, &out), NV_ERR_UNAVAILABLE);
	ck_assert_int_lt(now_ms() - t0, 10000);
	ck_assert_msg(strstr(d.msg, "unreachable") != NULL, "diag: %s", d.msg);
	env("NORVALT_LLM_URL", NULL);
	reload();
	ck_assert(!nv_llm_configured());
	ck_assert_int_eq(ask(&d, &out), NV_ERR_CONFIG);
	ck_assert_int_eq(nv_llm_chat(a, &d, chat, 0, &out), NV_ERR_CONFIG);
	ck_assert_int_eq(provider_count(), 0);
}
END_TEST

static Suite *
delivery_suite(void)
{
	Suite *s = suite_create("delivery");
	TCase *tc;

	tc = tcase_create("smtp");
	tcase_add_checked_fixture(tc, smtp_setup, server_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_smtp_delivered);
	tcase_add_test(tc, test_smtp_451_transient);
	tcase_add_test(tc, test_smtp_550_permanent);
	tcase_add_test(tc, test_smtp_server_down);
	tcase_add_test(tc, test_smtp_silent_server);
	tcase_add_test(tc, test_smtp_starttls_required);
	tcase_add_test(tc, test_smtp_refuses_bad_mail);
	tcase_add_test(tc, test_smtp_not_configured);
	suite_add_tcase(s, tc);

	tc = tcase_create("smtp_auth");
	tcase_add_checked_fixture(tc, smtp_auth_setup, server_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_smtp_auth_ok);
	tcase_add_test(tc, test_smtp_auth_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("smtp_tls");
	tcase_add_checked_fixture(tc, smtp_tls_setup, smtp_tls_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_smtp_starttls_ok);
	tcase_add_test(tc, test_smtp_tls_untrusted);
	tcase_add_test(tc, test_smtps_implicit);
	suite_add_tcase(s, tc);

	tc = tcase_create("sms");
	tcase_add_checked_fixture(tc, provider_setup, server_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sms_sent);
	tcase_add_test(tc, test_sms_messaging_service);
	tcase_add_test(tc, test_sms_transient);
	tcase_add_test(tc, test_sms_permanent);
	tcase_add_test(tc, test_sms_bad_credentials);
	tcase_add_test(tc, test_sms_down_and_unconfigured);
	suite_add_tcase(s, tc);

	tc = tcase_create("llm");
	tcase_add_checked_fixture(tc, provider_setup, server_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_llm_ok);
	tcase_add_test(tc, test_llm_key_header);
	tcase_add_test(tc, test_llm_429_then_ok);
	tcase_add_test(tc, test_llm_5xx_exhausts_retries);
	tcase_add_test(tc, test_llm_slow_answer_times_out);
	tcase_add_test(tc, test_llm_unusable_answers);
	tcase_add_test(tc, test_llm_client_error_no_retry);
	tcase_add_test(tc, test_llm_retry_after_beyond_budget);
	tcase_add_test(tc, test_llm_down_and_unconfigured);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(delivery_suite)
