/*
 * auth.c - Clerk session token verification and caller resolution; see
 * auth.h.
 *
 * Design notes.  libjwt 1.10 is used for one thing only: checking the
 * RS256 signature.  Everything it would decide on its own is decided here
 * first or checked again after it: the header is decoded and checked by us
 * before the call (it takes the algorithm from the token), the key is never
 * empty (it would skip verification), and its view of the algorithm is
 * compared with RS256 afterwards (cJSON and jansson disagree on duplicate
 * members, so a header {"alg":"RS256","alg":"HS256"} would otherwise read
 * as RS256 to us and HS256 to libjwt; we also refuse duplicate members).
 *
 * The claims are read from the payload libjwt verified, dumped by libjwt
 * (jwt_get_grants_json) and parsed with cJSON, rather than through
 * jwt_get_grant_int: that returns -1 for a missing claim and 0 for a
 * non-integer one, so a fractional nbf far in the future would read as 0.
 * Here a time claim must be an integral JSON number or the token is
 * refused.
 *
 * The PEM key is parsed once at start to prove it is an RSA public key of
 * at least 2048 bits, and re-serialised, so libjwt gets exactly the key we
 * checked (not, say, whatever a second PEM block in the file holds).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "jwks.h"
#include "log.h"

#define AUTH_PEM_FILE_MAX	(64 * 1024)
#define AUTH_MIN_BITS		2048
#define AUTH_HEADER_MAX		2048	/* encoded header bytes */
#define AUTH_KID_MAX		256
/* Integers a double holds exactly: the range of JSON numbers we trust. */
#define AUTH_INT_LIMIT		9007199254740992.0

enum auth_mode {
	AUTH_NONE = 0,
	AUTH_PEM,
	AUTH_JWKS
};

static enum auth_mode auth_mode;
static char *auth_pem;		/* AUTH_PEM: the re-serialised SPKI PEM */
static size_t auth_pem_len;

static const struct nv_stmt auth_context_stmt = {
	"auth_context",
	"SELECT dealership_id, dealership_active, user_id, user_role,"
	"       user_active, user_elsewhere"
	"  FROM nv_auth_context($1, $2)",
	2
};

/*
 * The caller cache.  Each process remembers, for the last few (Clerk
 * organisation, Clerk user) pairs it resolved, which dealership and user
 * row they mapped to and the role.  It is a hint, never an authority: on
 * a hit the request still checks everything in its own snapshot, with two
 * plain statements in one pipeline instead of the plpgsql function (which
 * was a quarter of PostgreSQL's time on GET /api/leads/{id}):
 * auth_set_tenant sets the dealership context, and auth_recheck reads the
 * user and dealership rows by primary key under that context and sets the
 * rest of the context in its target list only when the Clerk ids still
 * match, both are active and the role is the cached one (the sales-rep
 * scope is read from the settings each time).  No row: the slow path runs
 * nv_auth_context() in the same transaction, which sets or refuses the
 * context anew, and the entry is replaced or dropped.  So a deactivated
 * user, a removed membership or a changed role or scope takes effect on
 * the very next request, as without the cache.
 */
#define AUTH_CACHE_SIZE		16
#define AUTH_CACHE_ID_MAX	128	/* longer Clerk ids are not cached */

struct auth_cached {
	char		org[AUTH_CACHE_ID_MAX];
	char		sub[AUTH_CACHE_ID_MAX];
	char		dealership_id[37];
	char		user_id[37];
	enum nv_role	role;		/* 0: the slot is empty */
};

static struct auth_cached auth_cache[AUTH_CACHE_SIZE];
static unsigned auth_cache_next;	/* round-robin replacement */

static const struct nv_stmt auth_set_tenant = {
	"auth_set_tenant",
	"SELECT set_config('app.current_dealership_id', $1, true)",
	1
};

static const struct nv_stmt auth_recheck = {
	"auth_recheck",
	"SELECT CASE WHEN u.id IS NULL THEN nv_caller_changed()"
	"   ELSE set_config('app.current_user_id', u.id::text, true) END,"
	"  CASE WHEN u.id IS NOT NULL THEN"
	"   set_config('app.actor', 'user:' || u.clerk_user_id, true) END,"
	"  CASE WHEN u.id IS NOT NULL THEN"
	"   set_config('app.scope_user_id', CASE WHEN u.role = 'sales_rep'"
	"    AND d.settings ->> 'sales_rep_scope' = 'assigned'"
	"    THEN u.id::text ELSE '' END, true) END"
	" FROM (VALUES (1)) one (x)"
	" LEFT JOIN (users u JOIN dealerships d ON d.id = u.dealership_id"
	"   AND d.clerk_org_id = $5 AND d.active)"
	"  ON u.dealership_id = $1::uuid AND u.id = $2::uuid"
	"  AND u.clerk_user_id = $3 AND u.role = $4 AND u.active",
	5
};

/* ------------------------------------------------------------ base64url */

static int
auth_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

enum nv_err
nv_auth_b64url_decode(const char *src, size_t len, unsigned char *out,
    size_t outmax, size_t *outlen)
{
	unsigned long acc = 0;
	size_t i, n = 0, need;
	int bits = 0, v;

	*outlen = 0;
	if (len % 4 == 1)
		return NV_ERR_BAD_REQUEST;
	need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	if (need > outmax)
		return NV_ERR_TOO_LARGE;
	for (i = 0; i < len; i++) {
		if ((v = auth_b64_value((unsigned char)src[i])) < 0)
			return NV_ERR_BAD_REQUEST;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* The leftover bits of the last character must be zero. */
	if (acc != 0)
		return NV_ERR_BAD_REQUEST;
	assert(n == need);
	*outlen = n;
	return NV_OK;
}

/* ---------------------------------------------------------------- init */

/*
 * Signatures already checked.  libjwt 1.10 re-parses the PEM key through
 * OpenSSL on every jwt_decode, about half a millisecond, and a dashboard
 * sends the same session token many times a minute.  So the payload of a
 * token whose signature verified is kept, keyed by the SHA-256 of the whole
 * token: only the identical bytes hit.  Everything else (header, key id,
 * every claim and time check) still runs on each request; an entry is
 * trusted for at most AUTH_SIG_TTL seconds and dropped with the keys.
 */
#define AUTH_SIG_SLOTS	256
#define AUTH_SIG_TTL	60

struct auth_sig {
	unsigned char	 hash[32];
	char		*grants;	/* the verified payload (JSON), malloc'd */
	struct timespec	 at;
};

static struct auth_sig auth_sigs[AUTH_SIG_SLOTS];

static void
auth_sig_clear(void)
{
	size_t i;

	for (i = 0; i < AUTH_SIG_SLOTS; i++) {
		free(auth_sigs[i].grants);
		memset(&auth_sigs[i], 0, sizeof(auth_sigs[i]));
	}
}

static struct auth_sig *
auth_sig_slot(const char *token, size_t len, unsigned char hash[32])
{
	unsigned int n = 32;

	if (EVP_Digest(token, len, hash, &n, EVP_sha256(), NULL) != 1) {
		memset(hash, 0, 32);
		return NULL;
	}
	return &auth_sigs[(hash[0] | (unsigned)hash[1] << 8) % AUTH_SIG_SLOTS];
}

/* The cached payload for this token's exact bytes, or NULL. */
static const char *
auth_sig_get(const char *token, size_t len)
{
	unsigned char hash[32];
	struct auth_sig *e;
	struct timespec now;

	e = auth_sig_slot(token, len, hash);
	if (e == NULL || e->grants == NULL ||
	    CRYPTO_memcmp(e->hash, hash, 32) != 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - e->at.tv_sec > AUTH_SIG_TTL)
		return NULL;
	return e->grants;
}

static void
auth_sig_put(const char *token, size_t len, const char *grants)
{
	unsigned char hash[32];
	struct auth_sig *e;
	char *copy;

	e = auth_sig_slot(token, len, hash);
	if (e == NULL || (copy = strdup(grants)) == NULL)
		return;
	free(e->grants);
	memcpy(e->hash, hash, 32);
	e->grants = copy;
	clock_gettime(CLOCK_MONOTONIC, &e->at);
}

static void
auth_clear(void)
{
	auth_sig_clear();
	free(auth_pem);
	auth_pem = NULL;
	auth_pem_len = 0;
	auth_mode = AUTH_NONE;
	nv_jwks_reset();
}

/* Read at most AUTH_PEM_FILE_MAX bytes of path, malloc'd. */
static enum nv_err
auth_read_file(const char *name, const char *path, char **buf, size_t *len,
    struct nv_diag *d)
{
	enum nv_err rc = NV_OK;
	FILE *f;
	size_t n;
	char *p;

	*buf = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return nv_diag_set(d, NV_ERR_CONFIG, "%s: cannot read file %s: %s",
		    name, path, strerror(errno));
	if ((p = malloc(AUTH_PEM_FILE_MAX + 1)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "out of memory");
		goto out;
	}
	n = fread(p, 1, AUTH_PEM_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: cannot read file %s",
		    name, path);
		free(p);
		goto out;
	}
	if (n > AUTH_PEM_FILE_MAX) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: file %s is larger than "
		    "%d bytes", name, path, AUTH_PEM_FILE_MAX);
		free(p);
		goto out;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
out:
	fclose(f);
	return rc;
}

/* Parse and check the PEM file, keep its canonical form in auth_pem. */
static enum nv_err
auth_load_pem(const char *path, struct nv_diag *d)
{
	const char *name = nv_config_name(NV_CFG_CLERK_JWT_KEY_FILE);
	EVP_PKEY *pkey = NULL;
	BIO *in = NULL, *out = NULL;
	enum nv_err rc;
	size_t len;
	char *buf, *data;
	long n;
	int bits;

	if ((rc = auth_read_file(name, path, &buf, &len, d)) != NV_OK)
		return rc;
	if (len == 0) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: file %s is empty", name,
		    path);
		goto out;
	}
	if ((in = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (pkey = PEM_read_bio_PUBKEY(in, NULL, NULL, NULL)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: file %s holds no PEM "
		    "public key (-----BEGIN PUBLIC KEY-----)", name, path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: the key in %s is not an "
		    "RSA key (Clerk signs with RS256)", name, path);
		goto out;
	}
	if ((bits = EVP_PKEY_get_bits(pkey)) < AUTH_MIN_BITS) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: the RSA key in %s has %d "
		    "bits, at least %d are required", name, path, bits,
		    AUTH_MIN_BITS);
		goto out;
	}
	if ((out = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(out, pkey) != 1 ||
	    (n = BIO_get_mem_data(out, &data)) <= 0 ||
	    (auth_pem = malloc((size_t)n + 1)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s: cannot re-encode the key",
		    name);
		goto out;
	}
	memcpy(auth_pem, data, (size_t)n);
	auth_pem[n] = '\0';
	auth_pem_len = (size_t)n;
	auth_mode = AUTH_PEM;
out:
	BIO_free(out);
	EVP_PKEY_free(pkey);
	BIO_free(in);
	free(buf);
	ERR_clear_error();
	return rc;
}

enum nv_err
nv_auth_init(struct nv_diag *d)
{
	const char *file, *url;

	auth_clear();
	file = nv_config_str(NV_CFG_CLERK_JWT_KEY_FILE);
	url = nv_config_str(NV_CFG_CLERK_JWKS_URL);
	/* The PEM is networkless, so it wins (as CLERK_JWT_KEY does). */
	if (file != NULL && *file != '\0')
		return auth_load_pem(file, d);
	if (url != NULL && *url != '\0') {
		if (nv_jwks_init(url, d) != NV_OK)
			return NV_ERR_CONFIG;
		auth_mode = AUTH_JWKS;
		return NV_OK;
	}
	return nv_diag_set(d, NV_ERR_CONFIG, "%s or %s must be set (the Clerk "
	    "public key file or the JWKS URL)",
	    nv_config_name(NV_CFG_CLERK_JWT_KEY_FILE),
	    nv_config_name(NV_CFG_CLERK_JWKS_URL));
}

/* -------------------------------------------------------------- verify */

static enum nv_err
auth_fail(struct nv_diag *d, const char *why)
{
	return nv_diag_set(d, NV_ERR_UNAUTHORIZED, "%s", why);
}

static void
auth_cjson_free(void *p)
{
	cJSON_Delete(p);
}

static void
auth_jwt_free(void *p)
{
	jwt_free(p);
}

/* Parse text as one JSON value tied to the arena; NULL when invalid. */
static cJSON *
auth_json(struct nv_arena *a, const char *text, size_t len)
{
	cJSON *j;

	j = cJSON_ParseWithLength(text, len);
	if (j != NULL)
		nv_arena_defer(a, auth_cjson_free, j);
	return j;
}

/* 1 when the object o has two members of the same name. */
static int
auth_has_duplicates(const cJSON *o)
{
	const cJSON *x, *y;

	for (x = o->child; x != NULL; x = x->next)
		for (y = x->next; y != NULL; y = y->next)
			if (strcmp(x->string, y->string) == 0)
				return 1;
	return 0;
}

/*
 * 1 when the JSON text holds the escape \u0000, which cJSON turns into the
 * end of the string ("https://issuer\u0000x" would compare equal to the
 * issuer).  A false alarm on "\\u0000" only refuses a token.
 */
static int
auth_has_nul_escape(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 6 <= len; i++)
		if (s[i] == '\\' && (s[i + 1] == 'u' || s[i + 1] == 'U') &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
	return 0;
}

/*
 * Syntax: three non-empty base64url parts.  *hlen receives the length of
 * the header part.
 */
static int
auth_syntax(const char *token, size_t len, size_t *hlen)
{
	size_t i, dots = 0, part = 0;

	for (i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (part == 0)
				return 0;
			if (dots++ == 0)
				*hlen = i;
			part = 0;
			continue;
		}
		if (auth_b64_value((unsigned char)token[i]) < 0)
			return 0;
		part++;
	}
	return dots == 2 && part > 0;
}

/* Decode and check the header; *kid receives its kid (or NULL). */
static enum nv_err
auth_header(struct nv_arena *a, struct nv_diag *d, const char *token,
    size_t hlen, const char **kid)
{
	unsigned char buf[AUTH_HEADER_MAX];
	const cJSON *alg, *typ, *k;
	cJSON *h;
	size_t n;

	*kid = NULL;
	if (hlen > AUTH_HEADER_MAX ||
	    nv_auth_b64url_decode(token, hlen, buf, sizeof(buf), &n) != NV_OK)
		return auth_fail(d, "token header is malformed");
	/* cJSON would cut a string at an escaped NUL; jansson would not. */
	if (memchr(buf, '\0', n) != NULL ||
	    auth_has_nul_escape((const char *)buf, n))
		return auth_fail(d, "token header is malformed");
	h = auth_json(a, (const char *)buf, n);
	if (!cJSON_IsObject(h) || auth_has_duplicates(h))
		return auth_fail(d, "token header is malformed");
	alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0)
		return auth_fail(d, "token algorithm must be RS256");
	typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
	if (typ != NULL && (!cJSON_IsString(typ) ||
	    strcmp(typ->valuestring, "JWT") != 0))
		return auth_fail(d, "token type must be JWT");
	/* We understand no extension, so a critical one cannot be honoured. */
	if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL)
		return auth_fail(d, "token has critical header extensions");
	k = cJSON_GetObjectItemCaseSensitive(h, "kid");
	if (k != NULL) {
		if (!cJSON_IsString(k) || *k->valuestring == '\0' ||
		    strlen(k->valuestring) > AUTH_KID_MAX)
			return auth_fail(d, "token key id is malformed");
		*kid = nv_arena_strdup(a, k->valuestring);
	}
	return NV_OK;
}

/*
 * Claim name of o as a string: NV_OK with *out (NULL when absent), or
 * NV_ERR_UNAUTHORIZED when present but not a string.
 */
static enum nv_err
auth_str(struct nv_arena *a, struct nv_diag *d, const cJSON *o,
    const char *name, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (v == NULL)
		return NV_OK;
	if (!cJSON_IsString(v))
		return nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "token claim %s is malformed", name);
	*out = nv_arena_strdup(a, v->valuestring);
	return NV_OK;
}

/*
 * Claim name as an integer: NV_OK with *present and *out, or
 * NV_ERR_UNAUTHORIZED when it is not an integral number.
 */
static enum nv_err
auth_int(struct nv_diag *d, const cJSON *o, const char *name, int *present,
    long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double x;

	*present = 0;
	*out = 0;
	if (v == NULL)
		return NV_OK;
	x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!isfinite(x) || x != floor(x) || x > AUTH_INT_LIMIT ||
	    x < -AUTH_INT_LIMIT)
		return nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "token claim %s is malformed", name);
	*present = 1;
	*out = (long)x;
	return NV_OK;
}

/* 1 when azp is one of the comma-separated parties (spaces ignored). */
static int
auth_party_ok(const char *parties, const char *azp)
{
	const char *p = parties, *end, *s, *e;
	size_t n = strlen(azp);

	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		s = p;
		e = end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == n && n > 0 && memcmp(s, azp, n) == 0)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* 1 when the party list names at least one party. */
static int
auth_parties_set(const char *parties)
{
	const char *p;

	if (parties == NULL)
		return 0;
	for (p = parties; *p != '\0'; p++)
		if (*p != ',' && *p != ' ' && *p != '\t')
			return 1;
	return 0;
}

/* The organisation: v2 "o" object, else the flat v1 claims. */
static enum nv_err
auth_org(struct nv_arena *a, struct nv_diag *d, const cJSON *claims,
    struct nv_claims *out)
{
	const cJSON *o;
	enum nv_err rc;

	if (out->version == 2) {
		o = cJSON_GetObjectItemCaseSensitive(claims, "o");
		if (o == NULL)
			return NV_OK;	/* no active organisation */
		if (!cJSON_IsObject(o))
			return auth_fail(d, "token claim o is malformed");
		if ((rc = auth_str(a, d, o, "id", &out->org_id)) != NV_OK ||
		    (rc = auth_str(a, d, o, "rol", &out->org_role)) != NV_OK ||
		    (rc = auth_str(a, d, o, "slg", &out->org_slug)) != NV_OK)
			return rc;
	} else {
		if ((rc = auth_str(a, d, claims, "org_id", &out->org_id)) !=
		    NV_OK ||
		    (rc = auth_str(a, d, claims, "org_role", &out->org_role)) !=
		    NV_OK ||
		    (rc = auth_str(a, d, claims, "org_slug", &out->org_slug)) !=
		    NV_OK)
			return rc;
	}
	if (out->org_id != NULL && *out->org_id == '\0')
		out->org_id = NULL;
	return NV_OK;
}

/* Every claim check, on the verified payload. */
static enum nv_err
auth_claims(struct nv_arena *a, struct nv_diag *d, const cJSON *c, long now,
    struct nv_claims *out)
{
	const char *issuer, *parties;
	int has_exp, has_nbf, has_iat, has_v;
	enum nv_err rc;
	long v;

	if ((rc = auth_int(d, c, "exp", &has_exp, &out->exp)) != NV_OK ||
	    (rc = auth_int(d, c, "nbf", &has_nbf, &out->nbf)) != NV_OK ||
	    (rc = auth_int(d, c, "iat", &has_iat, &out->iat)) != NV_OK ||
	    (rc = auth_int(d, c, "v", &has_v, &v)) != NV_OK)
		return rc;
	if (!has_exp)
		return auth_fail(d, "token has no expiry");
	if (out->exp <= now - NV_AUTH_SKEW)
		return auth_fail(d, "token expired");
	if (has_nbf && out->nbf > now + NV_AUTH_SKEW)
		return auth_fail(d, "token is not valid yet");
	if (has_iat && out->iat > now + NV_AUTH_SKEW)
		return auth_fail(d, "token was issued in the future");

	if ((rc = auth_str(a, d, c, "iss", &out->iss)) != NV_OK ||
	    (rc = auth_str(a, d, c, "azp", &out->azp)) != NV_OK ||
	    (rc = auth_str(a, d, c, "sub", &out->sub)) != NV_OK ||
	    (rc = auth_str(a, d, c, "sid", &out->sid)) != NV_OK ||
	    (rc = auth_str(a, d, c, "sts", &out->sts)) != NV_OK)
		return rc;
	issuer = nv_config_str(NV_CFG_CLERK_ISSUER);
	if (out->iss == NULL || issuer == NULL || strcmp(out->iss, issuer) != 0)
		return auth_fail(d, "token issuer is not accepted");
	parties = nv_config_str(NV_CFG_CLERK_AUTHORIZED_PARTIES);
	if (auth_parties_set(parties)) {
		/* A missing azp must not bypass the list (Clerk's SDK agrees). */
		if (out->azp == NULL)
			return auth_fail(d, "token has no authorized party");
		if (!auth_party_ok(parties, out->azp))
			return auth_fail(d, "token authorized party is not "
			    "accepted");
	}
	if (out->sub == NULL || *out->sub == '\0')
		return auth_fail(d, "token has no subject");
	if (out->sts != NULL && strcmp(out->sts, "pending") == 0)
		return auth_fail(d, "token session is pending");

	out->version = has_v && v == 2 ? 2 : 1;
	return auth_org(a, d, c, out);
}

enum nv_err
nv_auth_verify(struct nv_arena *a, struct nv_diag *d, const char *token,
    long now, struct nv_claims *out)
{
	const char *kid, *pem, *cached;
	size_t len, hlen = 0, pem_len;
	char *grants;
	cJSON *claims;
	enum nv_err rc;
	jwt_t *j = NULL;

	memset(out, 0, sizeof(*out));
	if (auth_mode == AUTH_NONE) {
		nv_log_error("nv_auth_verify called before nv_auth_init");
		return nv_diag_set(d, NV_ERR_INTERNAL,
		    "authentication is not configured");
	}
	if (token == NULL || *token == '\0')
		return auth_fail(d, "token is missing");
	len = strnlen(token, NV_AUTH_TOKEN_MAX + 1);
	if (len > NV_AUTH_TOKEN_MAX)
		return auth_fail(d, "token is too long");
	if (!auth_syntax(token, len, &hlen))
		return auth_fail(d, "token is malformed");
	if ((rc = auth_header(a, d, token, hlen, &kid)) != NV_OK)
		return rc;

	if (auth_mode == AUTH_JWKS) {
		if (kid == NULL)
			return auth_fail(d, "token has no key id");
		if ((rc = nv_jwks_key(a, d, kid, &pem, &pem_len)) != NV_OK)
			return rc;
	} else {
		pem = auth_pem;
		pem_len = auth_pem_len;
	}
	/* libjwt skips the signature check when the key is empty. */
	assert(pem != NULL && pem_len > 0);
	if (pem == NULL || pem_len == 0 || pem_len > (size_t)0x7fffffff)
		return nv_diag_set(d, NV_ERR_INTERNAL,
		    "authentication is not configured");
	if ((cached = auth_sig_get(token, len)) != NULL) {
		grants = strdup(cached);
		if (grants == NULL)
			return nv_diag_set(d, NV_ERR_INTERNAL, "out of memory");
	} else {
		if (jwt_decode(&j, token, (const unsigned char *)pem,
		    (int)pem_len) != 0 || j == NULL) {
			ERR_clear_error();
			return auth_fail(d, "token signature is invalid");
		}
		nv_arena_defer(a, auth_jwt_free, j);
		if (jwt_get_alg(j) != JWT_ALG_RS256)
			return auth_fail(d, "token algorithm must be RS256");
		grants = jwt_get_grants_json(j, NULL);
		if (grants == NULL)
			return auth_fail(d, "token payload is malformed");
		auth_sig_put(token, len, grants);
	}
	if (auth_has_nul_escape(grants, strlen(grants))) {
		free(grants);
		return auth_fail(d, "token payload is malformed");
	}
	claims = auth_json(a, grants, strlen(grants));
	free(grants);
	if (!cJSON_IsObject(claims))
		return auth_fail(d, "token payload is malformed");
	/* A refused token leaves nothing a careless caller could use. */
	if ((rc = auth_claims(a, d, claims, now, out)) != NV_OK)
		memset(out, 0, sizeof(*out));
	else
		out->kid = kid;
	return rc;
}

/* ------------------------------------------------------------- resolve */

const char *
nv_auth_role_str(enum nv_role r)
{
	switch (r) {
	case NV_ROLE_SALES_REP:
		return "sales_rep";
	case NV_ROLE_MANAGER:
		return "manager";
	case NV_ROLE_ADMIN:
		return "admin";
	}
	return NULL;
}

static int
auth_role_parse(const char *s, enum nv_role *r)
{
	if (s == NULL)
		return 0;
	if (strcmp(s, "sales_rep") == 0)
		*r = NV_ROLE_SALES_REP;
	else if (strcmp(s, "manager") == 0)
		*r = NV_ROLE_MANAGER;
	else if (strcmp(s, "admin") == 0)
		*r = NV_ROLE_ADMIN;
	else
		return 0;
	return 1;
}

static int
auth_true(const char *v)
{
	return v != NULL && strcmp(v, "t") == 0;
}

static struct auth_cached *
auth_cache_find(const char *org, const char *sub)
{
	size_t i;

	for (i = 0; i < AUTH_CACHE_SIZE; i++)
		if (auth_cache[i].role != 0 &&
		    strcmp(auth_cache[i].org, org) == 0 &&
		    strcmp(auth_cache[i].sub, sub) == 0)
			return &auth_cache[i];
	return NULL;
}

static void
auth_cache_put(const char *org, const char *sub, const char *dealership,
    const char *user, enum nv_role role)
{
	struct auth_cached *e;

	if (strlen(org) >= AUTH_CACHE_ID_MAX ||
	    strlen(sub) >= AUTH_CACHE_ID_MAX || strlen(dealership) != 36 ||
	    strlen(user) != 36)
		return;
	if ((e = auth_cache_find(org, sub)) == NULL) {
		e = &auth_cache[auth_cache_next];
		auth_cache_next = (auth_cache_next + 1) % AUTH_CACHE_SIZE;
	}
	snprintf(e->org, sizeof(e->org), "%s", org);
	snprintf(e->sub, sizeof(e->sub), "%s", sub);
	memcpy(e->dealership_id, dealership, 37);
	memcpy(e->user_id, user, 37);
	e->role = role;
}

/*
 * The fast path for a cached caller: p filled from the cache, and the two
 * statements that set the context and re-check the mapping deferred to the
 * transaction's first pipeline (nv_db_defer), so they cost no round trip
 * of their own.  When the rows no longer say what the cache says, the
 * re-check raises (nv_caller_changed(), migration 015) and nothing after
 * it runs; lib/api.c sees nv_db_deferred_failed(), forgets the entry
 * (nv_auth_forget) and answers the request again through the slow path.
 */
static enum nv_err
auth_resolve_cached(struct nv_arena *a, const struct nv_claims *c,
    const struct auth_cached *e, struct nv_principal *p)
{
	static const struct nv_stmt *const sts[2] = { &auth_set_tenant,
	    &auth_recheck };
	struct {			/* lives until the transaction ends */
		const char		*tenant[1];
		const char		*check[5];
		const char *const	*params[2];
	} *q = nv_arena_alloc(a, sizeof(*q));
	p->dealership_id = nv_arena_strdup(a, e->dealership_id);
	p->user_id = nv_arena_strdup(a, e->user_id);
	p->clerk_user_id = nv_arena_strdup(a, c->sub);
	p->clerk_org_id = nv_arena_strdup(a, c->org_id);
	p->role = e->role;
	q->tenant[0] = p->dealership_id;
	q->check[0] = p->dealership_id;
	q->check[1] = p->user_id;
	q->check[2] = p->clerk_user_id;
	q->check[3] = nv_auth_role_str(e->role);
	q->check[4] = p->clerk_org_id;
	q->params[0] = q->tenant;
	q->params[1] = q->check;
	nv_db_defer(2, sts, q->params);
	return NV_OK;
}

void
nv_auth_forget(const struct nv_claims *c)
{
	struct auth_cached *e;

	if (c->org_id != NULL && c->sub != NULL &&
	    (e = auth_cache_find(c->org_id, c->sub)) != NULL)
		e->role = 0;
}

enum nv_err
nv_auth_resolve(struct nv_arena *a, struct nv_diag *d,
    const struct nv_claims *c, struct nv_principal *p)
{
	const char *params[2], *dealership, *user;
	struct auth_cached *e;
	PGresult *res;
	enum nv_err rc;

	assert(nv_db_in_tx());
	assert(c->sub != NULL);
	memset(p, 0, sizeof(*p));
	if (c->org_id == NULL || *c->org_id == '\0')
		return nv_diag_set(d, NV_ERR_FORBIDDEN,
		    "the token has no active organisation");
	if ((e = auth_cache_find(c->org_id, c->sub)) != NULL)
		return auth_resolve_cached(a, c, e, p);
	params[0] = c->org_id;
	params[1] = c->sub;
	if ((rc = nv_db_exec(a, d, &auth_context_stmt, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) != 1 || (dealership = nv_db_value(res, 0, 0)) ==
	    NULL)
		return nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "unknown organisation");
	if (!auth_true(nv_db_value(res, 0, 1)))
		return nv_diag_set(d, NV_ERR_FORBIDDEN,
		    "the dealership is deactivated");
	if ((user = nv_db_value(res, 0, 2)) == NULL) {
		if (auth_true(nv_db_value(res, 0, 5)))
			return nv_diag_set(d, NV_ERR_FORBIDDEN,
			    "user does not belong to this dealership");
		return nv_diag_set(d, NV_ERR_UNAUTHORIZED, "unknown user");
	}
	if (!auth_true(nv_db_value(res, 0, 4)))
		return nv_diag_set(d, NV_ERR_FORBIDDEN,
		    "the user is deactivated");
	if (!auth_role_parse(nv_db_value(res, 0, 3), &p->role)) {
		nv_log_error("user %s has an unknown role", user);
		return nv_diag_set(d, NV_ERR_INTERNAL, "internal error");
	}
	p->dealership_id = nv_arena_strdup(a, dealership);
	p->user_id = nv_arena_strdup(a, user);
	p->clerk_user_id = nv_arena_strdup(a, c->sub);
	p->clerk_org_id = nv_arena_strdup(a, c->org_id);
	auth_cache_put(c->org_id, c->sub, dealership, user, p->role);
	return NV_OK;
}
