/*
 * jwks.c - RSA keys from a JWKS URL, cached by kid; see jwks.h.
 *
 * Design notes.  The cache is a small malloc'd array (Clerk publishes one
 * or two keys; we keep at most JWKS_KEYS_MAX) searched linearly.  A fetch
 * builds a complete new array first and swaps it in only when the document
 * parsed, so a half-read or malformed document never empties the cache.
 * The rate limit uses CLOCK_MONOTONIC, not the token's clock or the wall
 * clock, so neither a forged iat nor an NTP step can defeat it.
 *
 * n and e become an EVP_PKEY through OSSL_PARAM_BLD and EVP_PKEY_fromdata
 * (OpenSSL 3; no deprecated RSA_* calls) and then SPKI PEM text through
 * PEM_write_bio_PUBKEY, which is what libjwt's RS256 verifier reads.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth.h"
#include "config.h"
#include "curlbuf.h"
#include "jwks.h"
#include "log.h"

#define JWKS_KEYS_MAX		32
#define JWKS_KID_MAX		256
#define JWKS_N_MAX		1024	/* bytes: 8192-bit modulus */
#define JWKS_E_MAX		16
#define JWKS_MIN_BITS		2048
#define JWKS_RETRY_AFTER_FAIL	5	/* seconds */
#define JWKS_CONNECT_TIMEOUT	3L
#define JWKS_TIMEOUT		5L

struct jwks_key {
	char	*kid;
	char	*pem;
	size_t	 pem_len;
};

struct jwks_set {
	struct jwks_key	keys[JWKS_KEYS_MAX];
	size_t		nkeys;
};

static char *jwks_url;
static struct jwks_set jwks_cache;
static long jwks_min_refresh = NV_JWKS_MIN_REFRESH;
static long jwks_last_fetch;	/* monotonic seconds of the last attempt */
static int jwks_fetched;	/* a fetch has been attempted */
static int jwks_last_ok;	/* the last attempt succeeded */
static unsigned long jwks_nfetches;
static long
jwks_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

static void
jwks_set_free(struct jwks_set *s)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		free(s->keys[i].kid);
		free(s->keys[i].pem);
	}
	memset(s, 0, sizeof(*s));
}

void
nv_jwks_reset(void)
{
	jwks_set_free(&jwks_cache);
	free(jwks_url);
	jwks_url = NULL;
	jwks_last_fetch = 0;
	jwks_fetched = 0;
	jwks_last_ok = 0;
	jwks_nfetches = 0;
	jwks_min_refresh = NV_JWKS_MIN_REFRESH;
}

void
nv_jwks_set_min_refresh(long seconds)
{
	jwks_min_refresh = seconds < 0 ? 0 : seconds;
}

unsigned long
nv_jwks_fetches(void)
{
	return jwks_nfetches;
}

size_t
nv_jwks_count(void)
{
	return jwks_cache.nkeys;
}

/* 1 when host names this machine: localhost, [::1] or 127.x.x.x. */
static int
jwks_loopback(const char *host)
{
	const char *p;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	if (strncmp(host, "127.", 4) != 0)
		return 0;
	for (p = host + 4; *p != '\0'; p++)
		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

enum nv_err
nv_jwks_init(const char *url, struct nv_diag *d)
{
	const char *name = nv_config_name(NV_CFG_CLERK_JWKS_URL);
	char *scheme = NULL, *host = NULL;
	enum nv_err rc = NV_OK;
	CURLU *u = NULL;

	nv_jwks_reset();
	if (url == NULL || *url == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "%s: is empty", name);
	if (nv_curl_init() != 0)
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s: libcurl could not be initialised", name);
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: is not a valid URL",
		    name);
		goto out;
	}
	/* Keys fetched over plain http from elsewhere could be swapped. */
	if (strcasecmp(scheme, "https") != 0 &&
	    !(strcasecmp(scheme, "http") == 0 && jwks_loopback(host))) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: must be an https:// URL "
		    "(http:// only to a loopback host)", name);
		goto out;
	}
	jwks_url = strdup(url);
	if (jwks_url == NULL)
		rc = nv_diag_set(d, NV_ERR_CONFIG, "out of memory");
out:
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* A base64url JWK member into a BIGNUM; NULL when absent or invalid. */
static BIGNUM *
jwks_bn(const cJSON *jwk, const char *name, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
	unsigned char buf[JWKS_N_MAX];
	size_t len;

	assert(max <= sizeof(buf));
	if (!cJSON_IsString(v) || nv_auth_b64url_decode(v->valuestring,
	    strlen(v->valuestring), buf, max, &len) != NV_OK || len == 0)
		return NULL;
	return BN_bin2bn(buf, (int)len, NULL);
}

/*
 * The SPKI PEM of the RSA public key (n, e), malloc'd into *pem; the
 * modulus must have at least JWKS_MIN_BITS bits.  0 on success.
 */
static int
jwks_pem(const BIGNUM *n, const BIGNUM *e, char **pem, size_t *pem_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	int rc = -1;

	*pem = NULL;
	if (BN_num_bits(n) < JWKS_MIN_BITS || BN_is_odd(e) == 0 ||
	    BN_is_one(e))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, pkey) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || (*pem = malloc((size_t)len + 1)) == NULL)
		goto out;
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	*pem_len = (size_t)len;
	rc = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
	return rc;
}

/* 1 when the JWK's optional member name is absent or equals want. */
static int
jwks_member_ok(const cJSON *jwk, const char *name, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);

	return v == NULL || (cJSON_IsString(v) && strcmp(v->valuestring,
	    want) == 0);
}

/* Add one JWK to s when it is a usable RSA signing key; else skip it. */
static void
jwks_add(struct jwks_set *s, const cJSON *jwk)
{
	const cJSON *kty, *kid;
	BIGNUM *n = NULL, *e = NULL;
	struct jwks_key *k;
	size_t i;

	if (s->nkeys >= JWKS_KEYS_MAX || !cJSON_IsObject(jwk))
		return;
	kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
	kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
	if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "RSA") != 0 ||
	    !cJSON_IsString(kid) || *kid->valuestring == '\0' ||
	    strlen(kid->valuestring) > JWKS_KID_MAX ||
	    !jwks_member_ok(jwk, "use", "sig") ||
	    !jwks_member_ok(jwk, "alg", "RS256"))
		return;
	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].kid, kid->valuestring) == 0)
			return;		/* the first of a duplicate kid wins */
	if ((n = jwks_bn(jwk, "n", JWKS_N_MAX)) == NULL ||
	    (e = jwks_bn(jwk, "e", JWKS_E_MAX)) == NULL)
		goto out;
	k = &s->keys[s->nkeys];
	if (jwks_pem(n, e, &k->pem, &k->pem_len) != 0)
		goto out;
	if ((k->kid = strdup(kid->valuestring)) == NULL) {
		free(k->pem);
		k->pem = NULL;
		goto out;
	}
	s->nkeys++;
out:
	BN_free(e);
	BN_free(n);
}

/* Parse a JWKS document into s.  0 on success (even with no usable key). */
static int
jwks_parse(const char *doc, size_t len, struct jwks_set *s)
{
	const cJSON *keys, *jwk;
	cJSON *root;

	memset(s, 0, sizeof(*s));
	root = cJSON_ParseWithLength(doc, len);
	if (root == NULL)
		return -1;
	keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach(jwk, keys)
		jwks_add(s, jwk);
	cJSON_Delete(root);
	return 0;
}

/* Fetch and parse the document; on success replace the cache.  0 / -1. */
static int
jwks_fetch(void)
{
	struct nv_curl_buf b = NV_CURL_BUF(NV_JWKS_DOC_MAX);
	struct jwks_set fresh;
	long status = 0;
	CURLcode cc;
	CURL *c;
	int rc = -1;

	jwks_nfetches++;
	c = curl_easy_init();
	if (c == NULL) {
		nv_log_error("jwks: curl_easy_init failed");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, jwks_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, JWKS_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, JWKS_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)NV_JWKS_DOC_MAX);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "norvalt-jwks");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nv_curl_buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		nv_log_warn("jwks: fetching %s failed: %s", jwks_url,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		nv_log_warn("jwks: %s answered HTTP %ld", jwks_url, status);
		goto out;
	}
	if (b.p == NULL || jwks_parse(b.p, b.len, &fresh) != 0) {
		nv_log_warn("jwks: %s is not a JWKS document", jwks_url);
		goto out;
	}
	jwks_set_free(&jwks_cache);
	jwks_cache = fresh;
	nv_log_info("jwks: loaded %zu key(s) from %s", jwks_cache.nkeys,
	    jwks_url);
	rc = 0;
out:
	free(b.p);
	curl_easy_cleanup(c);
	return rc;
}

static const struct jwks_key *
jwks_find(const char *kid)
{
	size_t i;

	for (i = 0; i < jwks_cache.nkeys; i++)
		if (strcmp(jwks_cache.keys[i].kid, kid) == 0)
			return &jwks_cache.keys[i];
	return NULL;
}

/* Whether the rate limit lets us fetch now. */
static int
jwks_may_fetch(void)
{
	long wait = jwks_min_refresh, now = jwks_mono();

	if (!jwks_fetched)
		return 1;
	if (!jwks_last_ok && wait > JWKS_RETRY_AFTER_FAIL)
		wait = JWKS_RETRY_AFTER_FAIL;
	return now - jwks_last_fetch >= wait;
}

enum nv_err
nv_jwks_key(struct nv_arena *a, struct nv_diag *d, const char *kid,
    const char **pem, size_t *len)
{
	const struct jwks_key *k;

	*pem = NULL;
	*len = 0;
	if (jwks_url == NULL) {
		nv_log_error("jwks: used before nv_jwks_init");
		return nv_diag_set(d, NV_ERR_INTERNAL,
		    "authentication is not configured");
	}
	k = jwks_find(kid);
	if (k == NULL && jwks_may_fetch()) {
		jwks_last_ok = jwks_fetch() == 0;
		jwks_fetched = 1;
		jwks_last_fetch = jwks_mono();
		k = jwks_find(kid);
	}
	if (k == NULL)
		return nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "token signing key is unknown");
	*pem = nv_arena_strndup(a, k->pem, k->pem_len);
	*len = k->pem_len;
	return NV_OK;
}
