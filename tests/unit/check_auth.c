/*
 * check_auth.c - unit tests for lib/auth.c token verification: no database,
 * no network.
 *
 * The unchecked fixture (run once, in the parent) makes two RSA-2048 key
 * pairs, A and B, with EVP_RSA_gen, plus an EC key and a short RSA key, and
 * writes the public PEMs to temporary files.  Each test runs in its own
 * forked process; the checked fixture points NORVALT_CLERK_JWT_KEY_FILE at
 * A's public key and calls nv_auth_init, exactly as a binary does at start.
 * Tokens are minted with libjwt, or by hand when libjwt would refuse to
 * produce them (alg none with a signature, duplicate members, tampering).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../testutil.h"
#include "arena.h"
#include "auth.h"
#include "config.h"

#define ISSUER		"https://clerk.norvalt.localhost"
#define KEY_MAX		8192

static Suite *auth_suite(void);

/* Made once in the parent by the unchecked fixture. */
static char priv_a[KEY_MAX], pub_a[KEY_MAX], priv_b[KEY_MAX];
static char pub_a_path[] = "/tmp/nv_check_auth_a_XXXXXX";
static char empty_path[] = "/tmp/nv_check_auth_e_XXXXXX";
static char ec_path[] = "/tmp/nv_check_auth_c_XXXXXX";
static char short_path[] = "/tmp/nv_check_auth_s_XXXXXX";
static char priv_path[] = "/tmp/nv_check_auth_p_XXXXXX";
static int files_made;

/* Per test (in the forked child). */
static struct nv_arena *arena;
static struct nv_diag diag;
static struct nv_claims cl;
static long now;

/* --------------------------------------------------------------- keys */

static void
pem_of(EVP_PKEY *k, int private, char *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(private ? PEM_write_bio_PrivateKey(b, k, NULL, NULL,
	    0, NULL, NULL) : PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &data);
	ck_assert(n > 0 && n < KEY_MAX);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
}

static void
write_file(char *path, const char *text)
{
	int fd;
	FILE *f;

	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp failed");
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void
keys_setup(void)
{
	char *paths[] = { pub_a_path, empty_path, ec_path, short_path,
	    priv_path };
	char pem[KEY_MAX];
	EVP_PKEY *a, *b, *ec, *small;
	size_t i;

	/* Each TCase runs this again, after the last one removed the files. */
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		memcpy(paths[i] + strlen(paths[i]) - 6, "XXXXXX", 6);

	a = EVP_RSA_gen(2048);
	b = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	small = EVP_RSA_gen(1024);
	ck_assert(a != NULL && b != NULL && ec != NULL && small != NULL);
	pem_of(a, 1, priv_a);
	pem_of(a, 0, pub_a);
	pem_of(b, 1, priv_b);
	write_file(pub_a_path, pub_a);
	write_file(empty_path, "");
	pem_of(ec, 0, pem);
	write_file(ec_path, pem);
	pem_of(small, 0, pem);
	write_file(short_path, pem);
	write_file(priv_path, priv_a);
	files_made = 1;
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
}

static void
keys_teardown(void)
{
	if (!files_made)
		return;
	unlink(pub_a_path);
	unlink(empty_path);
	unlink(ec_path);
	unlink(short_path);
	unlink(priv_path);
	files_made = 0;
}

static void
env_clean(void)
{
	size_t i;

	for (i = 0; i < NV_CFG__COUNT; i++)
		unsetenv(nv_config_name((enum nv_cfg)i));
	setenv("NORVALT_ENV_FILE", "/dev/null", 1);
}

static void
auth_setup(void)
{
	env_clean();
	setenv("NORVALT_CLERK_JWT_KEY_FILE", pub_a_path, 1);
	nv_diag_reset(&diag);
	ck_assert_msg(nv_auth_init(&diag) == NV_OK, "init: %s", diag.msg);
	arena = nv_arena_new();
	now = (long)time(NULL);
}

static void
auth_teardown(void)
{
	nv_arena_free(arena);
	arena = NULL;
}

static void
init_setup(void)
{
	env_clean();
	nv_diag_reset(&diag);
}

/* ------------------------------------------------------------- tokens */

/* The claims of a good Clerk v2 session token for user_a in org_a. */
static cJSON *
claims_v2(void)
{
	cJSON *c = cJSON_CreateObject(), *o;

	cJSON_AddStringToObject(c, "iss", ISSUER);
	cJSON_AddStringToObject(c, "sub", "user_a");
	cJSON_AddStringToObject(c, "sid", "sess_1");
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "nbf", (double)(now - 5));
	cJSON_AddNumberToObject(c, "exp", (double)(now + 60));
	cJSON_AddNumberToObject(c, "v", 2);
	cJSON_AddStringToObject(c, "jti", "abc");
	o = cJSON_AddObjectToObject(c, "o");
	cJSON_AddStringToObject(o, "id", "org_a");
	cJSON_AddStringToObject(o, "rol", "admin");
	cJSON_AddStringToObject(o, "slg", "dealer-a");
	return c;
}

/* Replace (or add) member name of c with a value given as JSON text. */
static cJSON *
with(cJSON *c, const char *name, const char *json)
{
	cJSON *v;

	cJSON_DeleteItemFromObjectCaseSensitive(c, name);
	if (json != NULL) {
		v = cJSON_Parse(json);
		ck_assert_msg(v != NULL, "bad test JSON %s", json);
		cJSON_AddItemToObject(c, name, v);
	}
	return c;
}

/* Sign claims (consumed) with libjwt; headers is extra JSON or NULL. */
static char *
mint(cJSON *claims, const char *headers, jwt_alg_t alg, const char *key)
{
	char *json, *tok;
	jwt_t *j;

	json = cJSON_PrintUnformatted(claims);
	cJSON_Delete(claims);
	ck_assert_int_eq(jwt_new(&j), 0);
	ck_assert_int_eq(jwt_add_grants_json(j, json), 0);
	if (headers != NULL)
		ck_assert_int_eq(jwt_add_headers_json(j, headers), 0);
	ck_assert_int_eq(jwt_set_alg(j, alg, (const unsigned char *)key,
	    key != NULL ? (int)strlen(key) : 0), 0);
	tok = jwt_encode_str(j);
	ck_assert_ptr_nonnull(tok);
	jwt_free(j);
	free(json);
	return tok;
}

static char *
mint_a(cJSON *claims)
{
	return mint(claims, "{\"kid\":\"kid_a\"}", JWT_ALG_RS256, priv_a);
}

/* base64url without padding, malloc'd. */
static char *
b64url(const void *data, size_t len)
{
	char *out = malloc(len * 4 / 3 + 8), *p;
	int n;

	ck_assert_ptr_nonnull(out);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[n] = '\0';
	for (p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	return out;
}

/* "b64(header).b64(payload)" + "." + sig (may be ""), malloc'd. */
static char *
hand(const char *header, const char *payload, const char *sig)
{
	char *h = b64url(header, strlen(header));
	char *p = b64url(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *t = malloc(n);

	ck_assert_ptr_nonnull(t);
	snprintf(t, n, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return t;
}

/* HS256 over "h.p" keyed with key: the algorithm-confusion forgery. */
static char *
hs256(const char *header, const char *payload, const char *key)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *unsigned_tok, *sig, *t;
	size_t n;

	unsigned_tok = hand(header, payload, "");
	n = strlen(unsigned_tok) - 1;	/* without the final '.' */
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (unsigned char *)unsigned_tok, n, mac, &maclen));
	sig = b64url(mac, maclen);
	t = malloc(n + strlen(sig) + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, unsigned_tok, n);
	t[n] = '.';
	memcpy(t + n + 1, sig, strlen(sig) + 1);
	free(sig);
	free(unsigned_tok);
	return t;
}

/* RS256 over "h.p" with a private PEM: for headers libjwt will not write. */
static char *
rs256(const char *header, const char *payload, const char *priv)
{
	unsigned char sig[512];
	char *unsigned_tok, *enc, *t;
	EVP_MD_CTX *ctx;
	EVP_PKEY *k;
	size_t n, siglen = sizeof(sig);
	BIO *b;

	b = BIO_new_mem_buf(priv, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(k);
	unsigned_tok = hand(header, payload, "");
	n = strlen(unsigned_tok) - 1;
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k),
	    1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen,
	    (unsigned char *)unsigned_tok, n), 1);
	enc = b64url(sig, siglen);
	t = malloc(n + strlen(enc) + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, unsigned_tok, n);
	t[n] = '.';
	memcpy(t + n + 1, enc, strlen(enc) + 1);
	free(enc);
	free(unsigned_tok);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	BIO_free(b);
	return t;
}

static char *
payload_json(cJSON *claims)
{
	char *s = cJSON_PrintUnformatted(claims);

	cJSON_Delete(claims);
	return s;
}

static enum nv_err
verify(const char *tok)
{
	nv_diag_reset(&diag);
	return nv_auth_verify(arena, &diag, tok, now, &cl);
}

/* The token fails with 401 and a message containing why. */
#define ck_refused(tok, why) do {					\
	enum nv_err rc_ = verify(tok);					\
	ck_assert_msg(rc_ == NV_ERR_UNAUTHORIZED,			\
	    "expected 401, got %d (%s)", (int)rc_, diag.msg);		\
	ck_assert_msg(strstr(diag.msg, (why)) != NULL,			\
	    "message \"%s\" does not say \"%s\"", diag.msg, (why));	\
	ck_assert_ptr_null(cl.sub);					\
} while (0)

#define ck_verified(tok) do {						\
	enum nv_err rc_ = verify(tok);					\
	ck_assert_msg(rc_ == NV_OK, "expected ok, got %d (%s)",		\
	    (int)rc_, diag.msg);					\
} while (0)

/* --------------------------------------------------------------- core */

START_TEST(test_good_v2)
{
	char *t = mint_a(claims_v2());

	ck_verified(t);
	ck_assert_str_eq(cl.sub, "user_a");
	ck_assert_str_eq(cl.sid, "sess_1");
	ck_assert_str_eq(cl.iss, ISSUER);
	ck_assert_str_eq(cl.org_id, "org_a");
	ck_assert_str_eq(cl.org_role, "admin");
	ck_assert_str_eq(cl.org_slug, "dealer-a");
	ck_assert_str_eq(cl.kid, "kid_a");
	ck_assert_int_eq(cl.version, 2);
	ck_assert_int_eq(cl.exp, now + 60);
	ck_assert_int_eq(cl.nbf, now - 5);
	ck_assert_int_eq(cl.iat, now);
	free(t);
}
END_TEST

START_TEST(test_v1_org_claims)
{
	cJSON *c = claims_v2();
	char *t;

	with(c, "v", NULL);
	with(c, "o", NULL);
	with(c, "org_id", "\"org_v1\"");
	with(c, "org_role", "\"org:admin\"");
	with(c, "org_slug", "\"v-one\"");
	t = mint_a(c);
	ck_verified(t);
	ck_assert_int_eq(cl.version, 1);
	ck_assert_str_eq(cl.org_id, "org_v1");
	ck_assert_str_eq(cl.org_role, "org:admin");
	ck_assert_str_eq(cl.org_slug, "v-one");
	free(t);
}
END_TEST

START_TEST(test_v2_ignores_v1_claims)
{
	cJSON *c = claims_v2();
	char *t;

	/* A v2 token's organisation is o.id, never a stray org_id. */
	with(c, "o", NULL);
	with(c, "org_id", "\"org_v1\"");
	t = mint_a(c);
	ck_verified(t);
	ck_assert_int_eq(cl.version, 2);
	ck_assert_ptr_null(cl.org_id);
	free(t);
}
END_TEST

START_TEST(test_no_active_org_still_verifies)
{
	cJSON *c = claims_v2();
	char *t;

	with(c, "o", NULL);
	t = mint_a(c);
	ck_verified(t);
	ck_assert_str_eq(cl.sub, "user_a");
	ck_assert_ptr_null(cl.org_id);
	free(t);
}
END_TEST

START_TEST(test_exp_within_skew)
{
	char buf[32];
	char *t;

	/* Expired 3 s ago by our clock: within the 5 s skew, still good. */
	snprintf(buf, sizeof(buf), "%ld", now - 3);
	t = mint_a(with(claims_v2(), "exp", buf));
	ck_verified(t);
	free(t);
}
END_TEST

START_TEST(test_nbf_iat_within_skew)
{
	cJSON *c = claims_v2();
	char buf[32];
	char *t;

	snprintf(buf, sizeof(buf), "%ld", now + 4);
	with(c, "nbf", buf);
	with(c, "iat", buf);
	t = mint_a(c);
	ck_verified(t);
	free(t);
}
END_TEST

START_TEST(test_azp_in_list)
{
	cJSON *c = claims_v2();
	char *t;

	setenv("NORVALT_CLERK_AUTHORIZED_PARTIES",
	    "https://a.example, https://app.norvalt.no", 1);
	with(c, "azp", "\"https://app.norvalt.no\"");
	t = mint_a(c);
	ck_verified(t);
	ck_assert_str_eq(cl.azp, "https://app.norvalt.no");
	free(t);
}
END_TEST

START_TEST(test_azp_free_without_list)
{
	cJSON *c = claims_v2();
	char *t;

	with(c, "azp", "\"https://anything.example\"");
	t = mint_a(c);
	ck_verified(t);
	free(t);
}
END_TEST

START_TEST(test_sts_active)
{
	char *t = mint_a(with(claims_v2(), "sts", "\"active\""));

	ck_verified(t);
	ck_assert_str_eq(cl.sts, "active");
	free(t);
}
END_TEST

START_TEST(test_typ_absent)
{
	/* libjwt always writes typ; Clerk's SDK accepts a token without. */
	char *p = payload_json(claims_v2());
	char *t = rs256("{\"alg\":\"RS256\",\"kid\":\"kid_a\"}", p, priv_a);

	ck_verified(t);
	ck_assert_str_eq(cl.sub, "user_a");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_issuer_from_config)
{
	cJSON *c = claims_v2();
	char *t;

	setenv("NORVALT_CLERK_ISSUER", "https://clerk.example.no", 1);
	with(c, "iss", "\"https://clerk.example.no\"");
	t = mint_a(c);
	ck_verified(t);
	free(t);
	t = mint_a(claims_v2());
	ck_refused(t, "issuer");
	free(t);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(test_alg_none_unsigned)
{
	char *p = payload_json(claims_v2());
	char *t = hand("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, "");

	/* What libjwt itself produces for alg none: an empty signature. */
	ck_refused(t, "malformed");
	free(t);
	t = mint(claims_v2(), NULL, JWT_ALG_NONE, NULL);
	ck_refused(t, "malformed");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_alg_none_with_signature)
{
	char *p = payload_json(claims_v2());
	char *t = hand("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, "c2ln");

	ck_refused(t, "algorithm must be RS256");
	free(t);
	t = hand("{\"alg\":\"None\"}", p, "c2ln");
	ck_refused(t, "algorithm must be RS256");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_hs256_with_public_pem)
{
	char *p = payload_json(claims_v2());
	char *t;

	/* The libjwt confusion attack: HMAC keyed with our public PEM. */
	t = hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p, pub_a);
	ck_refused(t, "algorithm must be RS256");
	free(t);
	/* Header says RS256 first and HS256 second (jansson keeps the last). */
	t = hs256("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"alg\":\"HS256\"}", p,
	    pub_a);
	ck_refused(t, "malformed");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_other_algorithms)
{
	char *t = mint(claims_v2(), NULL, JWT_ALG_RS512, priv_a);

	ck_refused(t, "algorithm must be RS256");
	free(t);
	t = mint(claims_v2(), NULL, JWT_ALG_HS256, "a shared secret");
	ck_refused(t, "algorithm must be RS256");
	free(t);
}
END_TEST

START_TEST(test_signed_by_other_key)
{
	char *t = mint(claims_v2(), "{\"kid\":\"kid_a\"}", JWT_ALG_RS256,
	    priv_b);

	ck_refused(t, "signature is invalid");
	free(t);
}
END_TEST

START_TEST(test_tampered_payload)
{
	char *t = mint_a(claims_v2()), *d1, *d2, *p, *forged;
	cJSON *c;
	size_t n;

	/* Same header and signature, payload re-encoded with another sub. */
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	c = claims_v2();
	with(c, "sub", "\"user_admin\"");
	p = payload_json(c);
	{
		char *enc = b64url(p, strlen(p));

		n = (size_t)(d1 - t) + strlen(enc) + strlen(d2) + 2;
		forged = malloc(n);
		ck_assert_ptr_nonnull(forged);
		snprintf(forged, n, "%.*s.%s%s", (int)(d1 - t), t, enc, d2);
		free(enc);
	}
	ck_refused(forged, "signature is invalid");
	free(forged);
	/* A flipped signature character. */
	t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
	ck_refused(t, "signature is invalid");
	free(p);
	free(t);
}
END_TEST

START_TEST(test_expired)
{
	cJSON *c = claims_v2();
	char buf[32];
	char *t;

	snprintf(buf, sizeof(buf), "%ld", now - 10);
	t = mint_a(with(c, "exp", buf));
	ck_refused(t, "token expired");
	free(t);
	/* The skew boundary: exp == now - 5 is expired. */
	snprintf(buf, sizeof(buf), "%ld", now - NV_AUTH_SKEW);
	t = mint_a(with(claims_v2(), "exp", buf));
	ck_refused(t, "token expired");
	free(t);
}
END_TEST

/*
 * A token seen before skips the signature check (the verified payload is
 * cached by the token's hash), but never the claim checks: the same token
 * later is expired, and a one-byte change is a different token.
 */
START_TEST(test_repeat_token_still_checked)
{
	char *t = mint_a(claims_v2()), *bad;
	size_t n;

	ck_verified(t);
	ck_verified(t);
	ck_assert_str_eq(cl.sub, "user_a");
	now += 3600;
	ck_refused(t, "token expired");
	now -= 3600;
	ck_verified(t);
	bad = strdup(t);
	n = strlen(bad);
	bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
	ck_refused(bad, "signature");
	free(bad);
	free(t);
}
END_TEST

START_TEST(test_exp_missing_or_malformed)
{
	char *t = mint_a(with(claims_v2(), "exp", NULL));

	ck_refused(t, "no expiry");
	free(t);
	t = mint_a(with(claims_v2(), "exp", "\"9999999999\""));
	ck_refused(t, "malformed");
	free(t);
	t = mint_a(with(claims_v2(), "exp", "9999999999.5"));
	ck_refused(t, "malformed");
	free(t);
}
END_TEST

START_TEST(test_nbf_future)
{
	char buf[32];
	char *t;

	snprintf(buf, sizeof(buf), "%ld", now + 60);
	t = mint_a(with(claims_v2(), "nbf", buf));
	ck_refused(t, "not valid yet");
	free(t);
	/* jwt_get_grant_int would read a fractional nbf as 0. */
	snprintf(buf, sizeof(buf), "%ld.5", now + 3600);
	t = mint_a(with(claims_v2(), "nbf", buf));
	ck_refused(t, "malformed");
	free(t);
}
END_TEST

START_TEST(test_iat_future)
{
	char buf[32];
	char *t;

	snprintf(buf, sizeof(buf), "%ld", now + 60);
	t = mint_a(with(claims_v2(), "iat", buf));
	ck_refused(t, "issued in the future");
	free(t);
}
END_TEST

START_TEST(test_wrong_issuer)
{
	char *t = mint_a(with(claims_v2(), "iss", "\"https://evil.example\""));

	ck_refused(t, "issuer is not accepted");
	free(t);
	t = mint_a(with(claims_v2(), "iss", "\"" ISSUER "/\""));
	ck_refused(t, "issuer is not accepted");
	free(t);
	t = mint_a(with(claims_v2(), "iss", NULL));
	ck_refused(t, "issuer is not accepted");
	free(t);
	/* An escaped NUL would make cJSON see exactly our issuer. */
	{
		char p[512];

		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\\u0000.evil\","
		    "\"sub\":\"user_a\",\"exp\":%ld}", now + 60);
		t = rs256("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, priv_a);
		ck_refused(t, "token");
		free(t);
	}
}
END_TEST

START_TEST(test_azp_missing_with_list)
{
	char *t;

	setenv("NORVALT_CLERK_AUTHORIZED_PARTIES", "https://app.norvalt.no", 1);
	t = mint_a(claims_v2());
	ck_refused(t, "no authorized party");
	free(t);
}
END_TEST

START_TEST(test_azp_not_in_list)
{
	char *t;

	setenv("NORVALT_CLERK_AUTHORIZED_PARTIES",
	    "https://app.norvalt.no,https://b.example", 1);
	t = mint_a(with(claims_v2(), "azp", "\"https://evil.example\""));
	ck_refused(t, "authorized party is not accepted");
	free(t);
	/* A prefix of an allowed party is not the party. */
	t = mint_a(with(claims_v2(), "azp", "\"https://app.norvalt\""));
	ck_refused(t, "authorized party is not accepted");
	free(t);
}
END_TEST

START_TEST(test_sub_missing)
{
	char *t = mint_a(with(claims_v2(), "sub", NULL));

	ck_refused(t, "no subject");
	free(t);
	t = mint_a(with(claims_v2(), "sub", "\"\""));
	ck_refused(t, "no subject");
	free(t);
	t = mint_a(with(claims_v2(), "sub", "42"));
	ck_refused(t, "malformed");
	free(t);
}
END_TEST

START_TEST(test_sts_pending)
{
	char *t = mint_a(with(claims_v2(), "sts", "\"pending\""));

	ck_refused(t, "pending");
	free(t);
}
END_TEST

START_TEST(test_typ_not_jwt)
{
	char *p = payload_json(claims_v2());
	char *t;

	/* Validly signed, but an access token (RFC 9068), not a session. */
	t = rs256("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", p, priv_a);
	ck_refused(t, "type must be JWT");
	free(t);
	t = rs256("{\"alg\":\"RS256\",\"typ\":\"jwt\"}", p, priv_a);
	ck_refused(t, "type must be JWT");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_duplicate_header_member)
{
	char *p = payload_json(claims_v2());
	char *t;

	/* Validly signed; still refused, since parsers disagree on these. */
	t = rs256("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"alg\":\"RS256\"}",
	    p, priv_a);
	ck_refused(t, "header is malformed");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_crit_header)
{
	char *t = mint(claims_v2(), "{\"crit\":[\"exp\"]}", JWT_ALG_RS256,
	    priv_a);

	ck_refused(t, "critical");
	free(t);
}
END_TEST

START_TEST(test_malformed_org)
{
	char *t = mint_a(with(claims_v2(), "o", "\"org_a\""));

	ck_refused(t, "malformed");
	free(t);
	t = mint_a(with(claims_v2(), "o", "{\"id\":7}"));
	ck_refused(t, "malformed");
	free(t);
}
END_TEST

START_TEST(test_garbage)
{
	char *big, *t;
	size_t i;

	ck_refused("", "missing");
	ck_refused(NULL, "missing");
	ck_refused("not a token", "malformed");
	ck_refused("abc.def", "malformed");
	ck_refused("a.b.c.d", "malformed");
	ck_refused("..", "malformed");
	ck_refused("abc..def", "malformed");
	ck_refused("abc.def.gh=", "malformed");
	ck_refused("ab+c.def.ghi", "malformed");
	ck_refused("Bearer abc.def.ghi", "malformed");
	/* A header that is not JSON, and one that is not an object. */
	t = hand("hello", "{}", "c2ln");
	ck_refused(t, "header is malformed");
	free(t);
	t = hand("[\"RS256\"]", "{}", "c2ln");
	ck_refused(t, "header is malformed");
	free(t);
	/* Huge: 8193 valid characters. */
	big = malloc(NV_AUTH_TOKEN_MAX + 2);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i <= NV_AUTH_TOKEN_MAX; i++)
		big[i] = 'a';
	big[10] = '.';
	big[20] = '.';
	big[NV_AUTH_TOKEN_MAX + 1] = '\0';
	ck_refused(big, "too long");
	free(big);
}
END_TEST

START_TEST(test_message_never_quotes_token)
{
	char *t = mint(claims_v2(), NULL, JWT_ALG_RS256, priv_b), *sig;

	ck_assert_int_eq(verify(t), NV_ERR_UNAUTHORIZED);
	sig = strrchr(t, '.') + 1;
	ck_assert_ptr_null(strstr(diag.msg, "eyJ"));
	ck_assert_ptr_null(strstr(diag.msg, sig));
	ck_assert_uint_lt(strlen(diag.msg), 64);
	free(t);
}
END_TEST

START_TEST(test_verify_after_failed_init)
{
	/* A failed re-init leaves no key behind: nothing verifies. */
	env_clean();
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_int_eq(verify("abc.def.ghi"), NV_ERR_INTERNAL);
}
END_TEST

/* --------------------------------------------------------------- init */

START_TEST(test_init_no_key)
{
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "NORVALT_CLERK_JWT_KEY_FILE"));
	ck_assert_ptr_nonnull(strstr(diag.msg, "NORVALT_CLERK_JWKS_URL"));
}
END_TEST

START_TEST(test_init_empty_file)
{
	setenv("NORVALT_CLERK_JWT_KEY_FILE", empty_path, 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "NORVALT_CLERK_JWT_KEY_FILE"));
	ck_assert_ptr_nonnull(strstr(diag.msg, "empty"));
}
END_TEST

START_TEST(test_init_missing_file)
{
	setenv("NORVALT_CLERK_JWT_KEY_FILE", "/nonexistent/norvalt.pem", 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "NORVALT_CLERK_JWT_KEY_FILE"));
}
END_TEST

START_TEST(test_init_ec_key)
{
	setenv("NORVALT_CLERK_JWT_KEY_FILE", ec_path, 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "not an RSA key"));
}
END_TEST

START_TEST(test_init_short_key)
{
	setenv("NORVALT_CLERK_JWT_KEY_FILE", short_path, 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "1024 bits"));
}
END_TEST

START_TEST(test_init_private_key_file)
{
	/* The private key is not what the API should be given. */
	setenv("NORVALT_CLERK_JWT_KEY_FILE", priv_path, 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "BEGIN PUBLIC KEY"));
}
END_TEST

START_TEST(test_init_jwks_url)
{
	setenv("NORVALT_CLERK_JWKS_URL", "http://clerk.example.no/jwks", 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(diag.msg, "NORVALT_CLERK_JWKS_URL"));
	setenv("NORVALT_CLERK_JWKS_URL", "ftp://clerk.example.no/jwks", 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_ERR_CONFIG);
	setenv("NORVALT_CLERK_JWKS_URL",
	    "https://clerk.example.no/.well-known/jwks.json", 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_OK);
	setenv("NORVALT_CLERK_JWKS_URL", "http://127.0.0.1:9/jwks.json", 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_OK);
}
END_TEST

START_TEST(test_init_pem_wins_over_jwks)
{
	char *t;

	/* An unreachable JWKS URL is never used when the PEM is set. */
	setenv("NORVALT_CLERK_JWKS_URL", "http://127.0.0.1:9/jwks.json", 1);
	setenv("NORVALT_CLERK_JWT_KEY_FILE", pub_a_path, 1);
	ck_assert_int_eq(nv_auth_init(&diag), NV_OK);
	arena = nv_arena_new();
	now = (long)time(NULL);
	t = mint_a(claims_v2());
	ck_verified(t);
	free(t);
	nv_arena_free(arena);
	arena = NULL;
}
END_TEST

/* ---------------------------------------------------------- base64url */

static enum nv_err
dec(const char *s, unsigned char *out, size_t max, size_t *n)
{
	return nv_auth_b64url_decode(s, strlen(s), out, max, n);
}

START_TEST(test_b64url_vectors)
{
	unsigned char out[16];
	size_t n;

	ck_assert_int_eq(dec("", out, sizeof(out), &n), NV_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(dec("Zg", out, sizeof(out), &n), NV_OK);
	ck_assert(n == 1 && memcmp(out, "f", 1) == 0);
	ck_assert_int_eq(dec("Zm8", out, sizeof(out), &n), NV_OK);
	ck_assert(n == 2 && memcmp(out, "fo", 2) == 0);
	ck_assert_int_eq(dec("Zm9v", out, sizeof(out), &n), NV_OK);
	ck_assert(n == 3 && memcmp(out, "foo", 3) == 0);
	ck_assert_int_eq(dec("Zm9vYmFy", out, sizeof(out), &n), NV_OK);
	ck_assert(n == 6 && memcmp(out, "foobar", 6) == 0);
	/* The two url-safe characters: 0xfb 0xff. */
	ck_assert_int_eq(dec("-_8", out, sizeof(out), &n), NV_OK);
	ck_assert(n == 2 && out[0] == 0xfb && out[1] == 0xff);
}
END_TEST

START_TEST(test_b64url_rejects)
{
	unsigned char out[16];
	size_t n;

	ck_assert_int_eq(dec("Zm9vY", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);			/* 4n+1 characters */
	ck_assert_int_eq(dec("Zg==", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);			/* padding */
	ck_assert_int_eq(dec("+/8", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);			/* standard alphabet */
	ck_assert_int_eq(dec("Zh", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);			/* non-zero spare bits */
	ck_assert_int_eq(dec("Zm9", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(dec("Zm 9v", out, sizeof(out), &n),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(dec("Zm9vYmFy", out, 5, &n), NV_ERR_TOO_LARGE);
	ck_assert_int_eq(dec("Zm9vYmFy", out, 6, &n), NV_OK);
}
END_TEST

START_TEST(test_b64url_roundtrip)
{
	unsigned char in[256], out[256];
	size_t len, n;
	char *enc;

	for (len = 0; len < sizeof(in); len++) {
		in[len] = (unsigned char)(255 - len);
		enc = b64url(in, len + 1);
		ck_assert_int_eq(dec(enc, out, sizeof(out), &n), NV_OK);
		ck_assert_uint_eq(n, len + 1);
		ck_assert(memcmp(in, out, n) == 0);
		free(enc);
	}
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, auth_setup, auth_teardown);
	tcase_add_test(tc, test_good_v2);
	tcase_add_test(tc, test_v1_org_claims);
	tcase_add_test(tc, test_v2_ignores_v1_claims);
	tcase_add_test(tc, test_no_active_org_still_verifies);
	tcase_add_test(tc, test_exp_within_skew);
	tcase_add_test(tc, test_nbf_iat_within_skew);
	tcase_add_test(tc, test_azp_in_list);
	tcase_add_test(tc, test_azp_free_without_list);
	tcase_add_test(tc, test_sts_active);
	tcase_add_test(tc, test_typ_absent);
	tcase_add_test(tc, test_issuer_from_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, auth_setup, auth_teardown);
	tcase_add_test(tc, test_alg_none_unsigned);
	tcase_add_test(tc, test_alg_none_with_signature);
	tcase_add_test(tc, test_hs256_with_public_pem);
	tcase_add_test(tc, test_other_algorithms);
	tcase_add_test(tc, test_signed_by_other_key);
	tcase_add_test(tc, test_tampered_payload);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_repeat_token_still_checked);
	tcase_add_test(tc, test_exp_missing_or_malformed);
	tcase_add_test(tc, test_nbf_future);
	tcase_add_test(tc, test_iat_future);
	tcase_add_test(tc, test_wrong_issuer);
	tcase_add_test(tc, test_azp_missing_with_list);
	tcase_add_test(tc, test_azp_not_in_list);
	tcase_add_test(tc, test_sub_missing);
	tcase_add_test(tc, test_sts_pending);
	tcase_add_test(tc, test_typ_not_jwt);
	tcase_add_test(tc, test_duplicate_header_member);
	tcase_add_test(tc, test_crit_header);
	tcase_add_test(tc, test_malformed_org);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_message_never_quotes_token);
	tcase_add_test(tc, test_verify_after_failed_init);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, init_setup, NULL);
	tcase_add_test(tc, test_init_no_key);
	tcase_add_test(tc, test_init_empty_file);
	tcase_add_test(tc, test_init_missing_file);
	tcase_add_test(tc, test_init_ec_key);
	tcase_add_test(tc, test_init_short_key);
	tcase_add_test(tc, test_init_private_key_file);
	tcase_add_test(tc, test_init_jwks_url);
	tcase_add_test(tc, test_init_pem_wins_over_jwks);
	tcase_add_test(tc, test_b64url_vectors);
	tcase_add_test(tc, test_b64url_rejects);
	tcase_add_test(tc, test_b64url_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(auth_suite)
