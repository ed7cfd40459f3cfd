/*
 * check_jwks.c - lib/auth with keys from a JWKS URL (lib/jwks), against a
 * tiny HTTP/1.1 server that this test runs on 127.0.0.1.
 *
 * The server is a pthread in the test process (started by the checked
 * fixture, so in each test's own forked child): it answers
 * GET /.well-known/jwks.json with the document the test currently serves,
 * counts those requests, and answers anything else with 404.  Two RSA-2048
 * key pairs, A and B, are made once by the unchecked fixture.
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
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../testutil.h"
#include "arena.h"
#include "auth.h"
#include "jwks.h"

#define ISSUER		"https://clerk.norvalt.localhost"
#define KEY_MAX		8192
#define SRV_MAX_CONN	10000	/* the server's loop is bounded */
#define DOC_MAX		(NV_JWKS_DOC_MAX + 4096)

static Suite *jwks_suite(void);

static EVP_PKEY *key_a, *key_b, *key_small;
static char priv_a[KEY_MAX], priv_b[KEY_MAX], priv_small[KEY_MAX];

/* ------------------------------------------------------------- server */

struct srv {
	pthread_mutex_t	 mu;
	pthread_t	 thread;
	int		 fd;
	int		 port;
	volatile int	 stop;
	int		 running;
	char		*doc;		/* what GET /.well-known/jwks.json gets */
	int		 status;
	unsigned	 hits;		/* requests for the document */
};

static struct srv srv;

static void
srv_send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
srv_answer(int c)
{
	char req[4096], head[256];
	size_t len = 0;
	ssize_t r;
	char *body = NULL;
	int status = 404, is_doc;

	/* Read the request head (bounded; GETs have no body). */
	while (len < sizeof(req) - 1) {
		r = recv(c, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	is_doc = strncmp(req, "GET /.well-known/jwks.json ", 27) == 0;
	pthread_mutex_lock(&srv.mu);
	if (is_doc) {
		srv.hits++;
		status = srv.status;
		body = strdup(srv.doc != NULL ? srv.doc : "");
	}
	pthread_mutex_unlock(&srv.mu);
	if (body == NULL)
		body = strdup("not found");
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n", status, strlen(body));
	srv_send_all(c, head, strlen(head));
	srv_send_all(c, body, strlen(body));
	free(body);
}

static void *
srv_main(void *arg)
{
	struct pollfd p;
	struct timeval tv = { 2, 0 };
	int i, c;

	(void)arg;
	for (i = 0; i < SRV_MAX_CONN && !srv.stop; ) {
		p.fd = srv.fd;
		p.events = POLLIN;
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		i++;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		srv_answer(c);
		close(c);
	}
	return NULL;
}

static void
srv_start(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(srv.fd, 0);
	ck_assert_int_eq(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv.fd, 64), 0);
	ck_assert_int_eq(getsockname(srv.fd, (struct sockaddr *)&sa, &len), 0);
	srv.port = ntohs(sa.sin_port);
	srv.stop = 0;
	srv.status = 200;
	ck_assert_int_eq(pthread_create(&srv.thread, NULL, srv_main, NULL), 0);
	srv.running = 1;
}

/* Stop the server and close its socket: the port refuses connections. */
static void
srv_stop(void)
{
	if (!srv.running)
		return;
	srv.stop = 1;
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	srv.running = 0;
}

static void
srv_serve(const char *doc, int status)
{
	pthread_mutex_lock(&srv.mu);
	free(srv.doc);
	srv.doc = strdup(doc);
	srv.status = status;
	pthread_mutex_unlock(&srv.mu);
}

static unsigned
srv_hits(void)
{
	unsigned n;

	pthread_mutex_lock(&srv.mu);
	n = srv.hits;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

/* --------------------------------------------------------------- keys */

static void
pem_private(EVP_PKEY *k, char *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &data);
	ck_assert(n > 0 && n < KEY_MAX);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
}

static void
keys_setup(void)
{
	key_a = EVP_RSA_gen(2048);
	key_b = EVP_RSA_gen(2048);
	key_small = EVP_RSA_gen(1024);
	ck_assert(key_a != NULL && key_b != NULL && key_small != NULL);
	pem_private(key_a, priv_a);
	pem_private(key_b, priv_b);
	pem_private(key_small, priv_small);
}

static void
keys_teardown(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_small);
	key_a = key_b = key_small = NULL;
}

static char *
b64url_bn(EVP_PKEY *k, const char *name)
{
	unsigned char buf[1024];
	BIGNUM *bn = NULL;
	char out[2048], *p;
	int n, m;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	m = EVP_EncodeBlock((unsigned char *)out, buf, n);
	while (m > 0 && out[m - 1] == '=')
		m--;
	out[m] = '\0';
	for (p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	return strdup(out);
}

/* Add key k as an RSA JWK with kid to the array keys. */
static void
jwk_add(cJSON *keys, EVP_PKEY *k, const char *kid, const char *use,
    const char *alg)
{
	cJSON *j = cJSON_CreateObject();
	char *n = b64url_bn(k, OSSL_PKEY_PARAM_RSA_N);
	char *e = b64url_bn(k, OSSL_PKEY_PARAM_RSA_E);

	cJSON_AddStringToObject(j, "kty", "RSA");
	cJSON_AddStringToObject(j, "kid", kid);
	cJSON_AddStringToObject(j, "n", n);
	cJSON_AddStringToObject(j, "e", e);
	if (alg != NULL)
		cJSON_AddStringToObject(j, "alg", alg);
	if (use != NULL)
		cJSON_AddStringToObject(j, "use", use);
	cJSON_AddItemToArray(keys, j);
	free(n);
	free(e);
}

/* Serve a JWKS document holding key a as kid_a and/or b as kid_b. */
static void
serve_keys(int a, int b)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *keys = cJSON_AddArrayToObject(doc, "keys");
	char *s;

	if (a)
		jwk_add(keys, key_a, "kid_a", "sig", "RS256");
	if (b)
		jwk_add(keys, key_b, "kid_b", "sig", "RS256");
	s = cJSON_PrintUnformatted(doc);
	srv_serve(s, 200);
	free(s);
	cJSON_Delete(doc);
}

/* ------------------------------------------------------------- tokens */

static struct nv_arena *arena;
static struct nv_diag diag;
static struct nv_claims cl;

static char *
mint(const char *priv, const char *kid)
{
	long now = (long)time(NULL);
	char *tok;
	jwt_t *j;

	ck_assert_int_eq(jwt_new(&j), 0);
	if (kid != NULL)
		ck_assert_int_eq(jwt_add_header(j, "kid", kid), 0);
	ck_assert_int_eq(jwt_add_grant(j, "iss", ISSUER), 0);
	ck_assert_int_eq(jwt_add_grant(j, "sub", "user_jwks"), 0);
	ck_assert_int_eq(jwt_add_grant_int(j, "iat", now), 0);
	ck_assert_int_eq(jwt_add_grant_int(j, "exp", now + 60), 0);
	ck_assert_int_eq(jwt_add_grant_int(j, "v", 2), 0);
	ck_assert_int_eq(jwt_add_grants_json(j, "{\"o\":{\"id\":\"org_j\"}}"),
	    0);
	ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_RS256,
	    (const unsigned char *)priv, (int)strlen(priv)), 0);
	tok = jwt_encode_str(j);
	ck_assert_ptr_nonnull(tok);
	jwt_free(j);
	return tok;
}

static enum nv_err
verify_kid(const char *priv, const char *kid)
{
	char *t = mint(priv, kid);
	enum nv_err rc;

	nv_arena_reset(arena);
	nv_diag_reset(&diag);
	rc = nv_auth_verify(arena, &diag, t, (long)time(NULL), &cl);
	free(t);
	return rc;
}

#define ck_ok(priv, kid) do {						\
	enum nv_err rc_ = verify_kid((priv), (kid));			\
	ck_assert_msg(rc_ == NV_OK, "kid %s: expected ok, got %d (%s)",	\
	    (kid), (int)rc_, diag.msg);					\
	ck_assert_str_eq(cl.org_id, "org_j");				\
} while (0)

#define ck_401(priv, kid, why) do {					\
	enum nv_err rc_ = verify_kid((priv), (kid));			\
	ck_assert_msg(rc_ == NV_ERR_UNAUTHORIZED,			\
	    "kid %s: expected 401, got %d (%s)", (kid) != NULL ?	\
	    (kid) : "(none)", (int)rc_, diag.msg);			\
	ck_assert_msg(strstr(diag.msg, (why)) != NULL,			\
	    "message \"%s\" does not say \"%s\"", diag.msg, (why));	\
} while (0)

static void
setup(void)
{
	char url[128];

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	srv_start();
	serve_keys(1, 0);
	snprintf(url, sizeof(url),
	    "http://127.0.0.1:%d/.well-known/jwks.json", srv.port);
	unsetenv("NORVALT_CLERK_JWT_KEY_FILE");
	unsetenv("NORVALT_CLERK_AUTHORIZED_PARTIES");
	setenv("NORVALT_CLERK_ISSUER", ISSUER, 1);
	setenv("NORVALT_CLERK_JWKS_URL", url, 1);
	nv_diag_reset(&diag);
	ck_assert_msg(nv_auth_init(&diag) == NV_OK, "init: %s", diag.msg);
	arena = nv_arena_new();
}

static void
teardown(void)
{
	srv_stop();
	free(srv.doc);
	srv.doc = NULL;
	nv_arena_free(arena);
	arena = NULL;
	nv_jwks_reset();
}

/* --------------------------------------------------------------- core */

START_TEST(test_verifies_by_kid)
{
	/* Nothing is fetched until a token needs a key. */
	ck_assert_uint_eq(srv_hits(), 0);
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(srv_hits(), 1);
	ck_assert_str_eq(cl.kid, "kid_a");
	/* A known kid is served from the cache. */
	ck_ok(priv_a, "kid_a");
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(srv_hits(), 1);
	ck_assert_uint_eq(nv_jwks_count(), 1);
}
END_TEST

START_TEST(test_rotation)
{
	nv_jwks_set_min_refresh(0);
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(srv_hits(), 1);

	/* Clerk rotates: the document now holds key B only. */
	serve_keys(0, 1);
	ck_ok(priv_b, "kid_b");
	ck_assert_uint_eq(srv_hits(), 2);
	ck_ok(priv_b, "kid_b");
	ck_assert_uint_eq(srv_hits(), 2);

	/* The removed key stops verifying (the refresh dropped it). */
	ck_401(priv_a, "kid_a", "signing key is unknown");
	ck_assert_uint_eq(nv_jwks_count(), 1);
}
END_TEST

START_TEST(test_rotation_overlap)
{
	/* Both published during the overlap: both verify from one fetch. */
	serve_keys(1, 1);
	ck_ok(priv_a, "kid_a");
	ck_ok(priv_b, "kid_b");
	ck_assert_uint_eq(srv_hits(), 1);
	ck_assert_uint_eq(nv_jwks_count(), 2);
}
END_TEST

START_TEST(test_key_under_wrong_kid)
{
	/* Key B's token claiming to be kid_a is checked against A: refused. */
	ck_401(priv_b, "kid_a", "signature is invalid");
}
END_TEST

/* ------------------------------------------------------------- limits */

START_TEST(test_unknown_kid_flood)
{
	char kid[32];
	int i;

	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(srv_hits(), 1);
	/* The default interval (60 s) holds for the whole flood. */
	for (i = 0; i < 200; i++) {
		snprintf(kid, sizeof(kid), "kid_%08x", (unsigned)rand());
		ck_401(priv_a, kid, "signing key is unknown");
	}
	ck_assert_msg(srv_hits() <= 2, "%u fetches for a flood of unknown kids",
	    srv_hits());
	ck_assert_uint_eq(nv_jwks_fetches(), srv_hits());
	/* The cached key is unaffected. */
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_le(srv_hits(), 2);
}
END_TEST

START_TEST(test_unknown_kid_first)
{
	char kid[32];
	int i;

	/* The first fetch is caused by an unknown kid: still only one. */
	for (i = 0; i < 100; i++) {
		snprintf(kid, sizeof(kid), "kid_x%d", i);
		ck_401(priv_a, kid, "signing key is unknown");
	}
	ck_assert_uint_eq(srv_hits(), 1);
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(srv_hits(), 1);
}
END_TEST

START_TEST(test_rate_limit_delays_new_key)
{
	/* With the default interval a new kid right after a fetch waits. */
	ck_ok(priv_a, "kid_a");
	serve_keys(0, 1);
	ck_401(priv_b, "kid_b", "signing key is unknown");
	ck_assert_uint_eq(srv_hits(), 1);
	/* Once the interval has passed, the next unknown kid refreshes. */
	nv_jwks_set_min_refresh(0);
	ck_ok(priv_b, "kid_b");
	ck_assert_uint_eq(srv_hits(), 2);
}
END_TEST

START_TEST(test_unusable_keys_skipped)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *keys = cJSON_AddArrayToObject(doc, "keys");
	cJSON *ec = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(ec, "kty", "EC");
	cJSON_AddStringToObject(ec, "kid", "kid_ec");
	cJSON_AddStringToObject(ec, "crv", "P-256");
	cJSON_AddItemToArray(keys, ec);
	jwk_add(keys, key_small, "kid_small", "sig", "RS256");
	jwk_add(keys, key_b, "kid_enc", "enc", NULL);
	jwk_add(keys, key_b, "kid_rs512", NULL, "RS512");
	jwk_add(keys, key_a, "kid_a", NULL, NULL);
	s = cJSON_PrintUnformatted(doc);
	srv_serve(s, 200);
	free(s);
	cJSON_Delete(doc);

	nv_jwks_set_min_refresh(0);
	ck_ok(priv_a, "kid_a");
	ck_assert_uint_eq(nv_jwks_count(), 1);
	ck_401(priv_small, "kid_small", "signing key is unknown");
	ck_401(priv_b, "kid_enc", "signing key is unknown");
	ck_401(priv_b, "kid_rs512", "signing key is unknown");
}
END_TEST

START_TEST(test_document_too_large)
{
	char *big = malloc(DOC_MAX + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', DOC_MAX);
	big[DOC_MAX] = '\0';
	memcpy(big, "{\"keys\":[]", 10);
	big[DOC_MAX - 1] = '}';
	srv_serve(big, 200);
	free(big);
	ck_401(priv_a, "kid_a", "signing key is unknown");
	ck_assert_uint_eq(srv_hits(), 1);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(test_server_down)
{
	srv_stop();
	ck_401(priv_a, "kid_a", "signing key is unknown");
	ck_assert_uint_eq(nv_jwks_fetches(), 1);
	ck_assert_uint_eq(nv_jwks_count(), 0);
}
END_TEST

START_TEST(test_server_down_keeps_cache)
{
	nv_jwks_set_min_refresh(0);
	ck_ok(priv_a, "kid_a");
	srv_stop();
	/* An unknown kid tries a refresh, which fails... */
	ck_401(priv_b, "kid_b", "signing key is unknown");
	ck_assert_uint_eq(nv_jwks_fetches(), 2);
	/* ...and the keys we had still verify. */
	ck_ok(priv_a, "kid_a");
}
END_TEST

START_TEST(test_server_errors)
{
	nv_jwks_set_min_refresh(0);
	srv_serve("{\"keys\":[]}", 500);
	ck_401(priv_a, "kid_a", "signing key is unknown");
	srv_serve("<html>not json</html>", 200);
	ck_401(priv_a, "kid_a", "signing key is unknown");
	srv_serve("{\"keys\":{}}", 200);
	ck_401(priv_a, "kid_a", "signing key is unknown");
	srv_serve("", 200);
	ck_401(priv_a, "kid_a", "signing key is unknown");
	ck_assert_uint_eq(srv_hits(), 4);
	/* And once the document is right again, it works. */
	serve_keys(1, 0);
	ck_ok(priv_a, "kid_a");
}
END_TEST

START_TEST(test_missing_kid)
{
	ck_401(priv_a, NULL, "no key id");
	ck_assert_uint_eq(srv_hits(), 0);
}
END_TEST

START_TEST(test_failed_fetch_retry_is_limited)
{
	int i;

	/* After a failure the retry waits (5 s), not once per request. */
	srv_stop();
	for (i = 0; i < 20; i++)
		ck_401(priv_a, "kid_a", "signing key is unknown");
	ck_assert_uint_eq(nv_jwks_fetches(), 1);
}
END_TEST

static Suite *
jwks_suite(void)
{
	Suite *s = suite_create("jwks");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_verifies_by_kid);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_rotation_overlap);
	tcase_add_test(tc, test_key_under_wrong_kid);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_unknown_kid_flood);
	tcase_add_test(tc, test_unknown_kid_first);
	tcase_add_test(tc, test_rate_limit_delays_new_key);
	tcase_add_test(tc, test_unusable_keys_skipped);
	tcase_add_test(tc, test_document_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_server_down);
	tcase_add_test(tc, test_server_down_keeps_cache);
	tcase_add_test(tc, test_server_errors);
	tcase_add_test(tc, test_missing_kid);
	tcase_add_test(tc, test_failed_fetch_retry_is_limited);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(jwks_suite)
