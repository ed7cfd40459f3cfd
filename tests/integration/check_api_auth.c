/*
 * check_api_auth.c - authentication at the HTTP edge (SPEC section 5), as a
 * client sees it through nginx and cgi-bin/leads.
 *
 * Every way a token can be missing, forged, stale or name the wrong person
 * must answer 401 (403 where SPEC says: no active organisation, a user of
 * another dealership, a deactivated user) in the JSON error shape of SPEC
 * section 6 with X-Request-Id, and never data: each refused credential is
 * tried on a list, a lead, its messages, a create, a change and a delete,
 * and the database is checked afterwards for anything those did.  Error
 * bodies and headers must never echo the token.
 *
 * Forged tokens are made here: by hand (alg none, a duplicated alg member),
 * with libjwt (HS256 keyed with the bytes of the public PEM - the libjwt
 * 1.10 key confusion -, RS256 with another RSA key, RS512 with the real
 * key), and by re-encoding a valid token's payload under its signature.
 *
 * The probe lead the refused requests aim at, and the user made to be
 * deactivated, belong to this binary: the unchecked fixture creates them
 * and removes them again, so seeded data is never touched.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define VW		"22222222-2222-4222-8222-222222222222"
#define TESLA_ORG	"org_tesla_oslo"
#define VW_ORG		"org_vw_bergen"
#define SEED_LEAD	"c1000000-0000-4000-8000-000000000001"
#define SEED_EMAIL	"ola.nordmann@example.com"
#define ISSUER_DEFAULT	"https://clerk.norvalt.localhost"

static Suite *api_auth_suite(void);

/* Set by the unchecked fixture in the parent; the forked tests inherit. */
static char probe_id[64];		/* a Tesla lead of ours */
static char probe_email[128];
static char tag[32];			/* unique per run */
static int refusals;			/* unique e-mails per refused create */

/* ------------------------------------------------------------ helpers */

static char *
slurp(const char *rel, size_t *len)
{
	char path[1024], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", nv_test_env("NV_ROOT"), rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	p = malloc(65536);
	ck_assert_ptr_nonnull(p);
	n = fread(p, 1, 65535, f);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static const char *
issuer(void)
{
	const char *v = getenv("NORVALT_CLERK_ISSUER");

	return v != NULL && *v != '\0' ? v : ISSUER_DEFAULT;
}

static char *
b64url(const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	unsigned long v;
	size_t i;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static char *
b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

/* Decode unpadded base64url s[0..n) into a malloc'd NUL-terminated string. */
static char *
b64url_decode(const char *s, size_t n)
{
	char *out = malloc(n * 3 / 4 + 4);
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else
			ck_abort_msg("not base64url: %.*s", (int)n, s);
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

/* The claims of a Clerk v2 session token, tweakable. */
struct claims {
	const char	*sub;
	const char	*org;		/* NULL: no organisation */
	const char	*iss;		/* NULL: the configured issuer */
	const char	*sts;		/* NULL: absent */
	long		 iat, nbf, exp;	/* relative to now */
	int		 no_exp;
	int		 v1;		/* org as the flat v1 org_id claim */
};

static char *
claims_json(const struct claims *c)
{
	long now = (long)time(NULL);
	cJSON *j = cJSON_CreateObject(), *o;
	char *s;

	cJSON_AddStringToObject(j, "iss", c->iss != NULL ? c->iss : issuer());
	cJSON_AddStringToObject(j, "sub", c->sub);
	cJSON_AddStringToObject(j, "sid", "sess_authtest");
	cJSON_AddNumberToObject(j, "iat", (double)(now + c->iat));
	cJSON_AddNumberToObject(j, "nbf", (double)(now + c->nbf));
	if (!c->no_exp)
		cJSON_AddNumberToObject(j, "exp", (double)(now + c->exp));
	if (c->sts != NULL)
		cJSON_AddStringToObject(j, "sts", c->sts);
	if (c->v1) {
		if (c->org != NULL) {
			cJSON_AddStringToObject(j, "org_id", c->org);
			cJSON_AddStringToObject(j, "org_role", "org:member");
		}
	} else {
		cJSON_AddNumberToObject(j, "v", 2);
		if (c->org != NULL) {
			o = cJSON_AddObjectToObject(j, "o");
			cJSON_AddStringToObject(o, "id", c->org);
			cJSON_AddStringToObject(o, "rol", "member");
		}
	}
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Default claims: valid for an hour, issued 5 s ago. */
static struct claims
claims_for(const char *sub, const char *org)
{
	struct claims c;

	memset(&c, 0, sizeof(c));
	c.sub = sub;
	c.org = org;
	c.iat = -5;
	c.nbf = -5;
	c.exp = 3600;
	return c;
}

/* A token signed by libjwt with alg and key (PEM or HMAC secret). */
static char *
mint(jwt_alg_t alg, const char *key, size_t keylen, const struct claims *c)
{
	char *payload = claims_json(c), *tok;
	jwt_t *j = NULL;

	ck_assert_int_eq(jwt_new(&j), 0);
	ck_assert_int_eq(jwt_add_grants_json(j, payload), 0);
	ck_assert_int_eq(jwt_set_alg(j, alg, (const unsigned char *)key,
	    (int)keylen), 0);
	tok = jwt_encode_str(j);
	ck_assert_ptr_nonnull(tok);
	jwt_free(j);
	free(payload);
	return tok;
}

/* A token signed with the dev private key: what the server accepts. */
static char *
mint_dev(const struct claims *c)
{
	size_t n;
	char *pem = slurp("var/keys/dev_jwt_private.pem", &n), *tok;

	tok = mint(JWT_ALG_RS256, pem, n, c);
	free(pem);
	return tok;
}

/* header.payload.sig from JSON texts and a ready signature part. */
static char *
hand_token(const char *header, const char *payload, const char *sig)
{
	char *h = b64url_str(header), *p = b64url_str(payload), *t;
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;

	t = malloc(n);
	ck_assert_ptr_nonnull(t);
	snprintf(t, n, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return t;
}

static char *
bearer(const char *token)
{
	size_t n = strlen(token) + 32;
	char *h = malloc(n);

	ck_assert_ptr_nonnull(h);
	snprintf(h, n, "Authorization: Bearer %s", token);
	return h;
}

static long
tenant_count(const char *dealership, const char *sql, const char *p1)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	long n;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
	n = nv_test_count(c, sql, p1, NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return n;
}

/* Run sql (one optional parameter) as the owner with dealership's context. */
static void
owner_exec(const char *dealership, const char *sql, const char *p1)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealership, NULL));
	PQclear(nv_test_exec(c, sql, p1, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

static int
count_header(const char *headers, const char *name)
{
	const char *p = headers;
	size_t n = strlen(name);
	int k = 0;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			k++;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return k;
}

/*
 * A refusal: status, the error shape with code and nothing else at the top
 * level, one X-Request-Id equal to the body's request_id, JSON content, no
 * lead data, and not the token (nor any of its parts) anywhere.
 */
static void
assert_refusal(const struct nv_test_http *r, const char *what, long status,
    const char *code, const char *token)
{
	const cJSON *it;
	char *rid, *ct;
	cJSON *j;
	int keys = 0;

	ck_assert_msg(r->status == status, "%s: %ld, want %ld: %s", what,
	    r->status, status, r->body);
	nv_test_assert_error(r->body, code);
	j = cJSON_Parse(r->body);
	cJSON_ArrayForEach(it, j) {
		ck_assert_msg(strcmp(it->string, "error") == 0 ||
		    strcmp(it->string, "request_id") == 0,
		    "%s: unexpected member %s: %s", what, it->string, r->body);
		keys++;
	}
	ck_assert_int_eq(keys, 2);
	rid = nv_test_http_header(r, "X-Request-Id");
	ck_assert_msg(rid != NULL && *rid != '\0', "%s: no X-Request-Id",
	    what);
	ck_assert_msg(count_header(r->headers, "X-Request-Id") == 1,
	    "%s: X-Request-Id %d times:\n%s", what,
	    count_header(r->headers, "X-Request-Id"), r->headers);
	ck_assert_str_eq(rid, cJSON_GetObjectItemCaseSensitive(j,
	    "request_id")->valuestring);
	free(rid);
	cJSON_Delete(j);
	ct = nv_test_http_header(r, "Content-Type");
	ck_assert_msg(ct != NULL && strncmp(ct, "application/json", 16) == 0,
	    "%s: Content-Type %s", what, ct != NULL ? ct : "(none)");
	free(ct);
	ck_assert_msg(strstr(r->body, SEED_EMAIL) == NULL &&
	    strstr(r->body, probe_email) == NULL &&
	    strstr(r->body, "\"data\"") == NULL &&
	    strstr(r->body, TESLA) == NULL,
	    "%s: data in a refusal: %s", what, r->body);
	if (token != NULL && strlen(token) >= 8) {
		const char *p = token, *dot;

		ck_assert_msg(strstr(r->body, token) == NULL &&
		    strstr(r->headers, token) == NULL, "%s: the token is "
		    "echoed", what);
		/* Nor any part of it (the signature, the payload). */
		while (*p != '\0') {
			char part[8192];
			size_t n;

			dot = strchr(p, '.');
			n = dot != NULL ? (size_t)(dot - p) : strlen(p);
			if (n >= 16 && n < sizeof(part)) {
				memcpy(part, p, n);
				part[n] = '\0';
				ck_assert_msg(strstr(r->body, part) == NULL &&
				    strstr(r->headers, part) == NULL,
				    "%s: a part of the token is echoed", what);
			}
			p += n;
			if (*p == '.')
				p++;
		}
	}
}

/*
 * Try one credential (the whole Authorization line, or NULL for none) on
 * every kind of request and assert each is refused with status and code,
 * and that nothing happened.
 */
static void
assert_refused(const char *what, const char *auth, const char *token,
    long status, const char *code)
{
	const char *hdrs[3] = { auth, NULL, NULL };
	const char *jhdrs[3] = { "Content-Type: application/json", auth, NULL };
	char path[256], body[512], email[160], w[256];
	struct nv_test_http r;

	snprintf(email, sizeof(email), "%s.refused%ld.%d@example.com", tag,
	    (long)getpid(), ++refusals);

	snprintf(w, sizeof(w), "%s: GET /api/leads", what);
	nv_test_http("GET", "/api/leads", NULL, 0, hdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: GET a seeded lead", what);
	nv_test_http("GET", "/api/leads/" SEED_LEAD, NULL, 0, hdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: GET messages", what);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", probe_id);
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: POST /api/leads", what);
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"first_name\":"
	    " \"Refused\"}", email);
	nv_test_http("POST", "/api/leads", body, strlen(body), jhdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: PATCH the probe lead", what);
	snprintf(path, sizeof(path), "/api/leads/%s", probe_id);
	snprintf(body, sizeof(body), "{\"notes\": \"refused\"}");
	nv_test_http("PATCH", path, body, strlen(body), jhdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: POST a reply", what);
	snprintf(path, sizeof(path), "/api/leads/%s/messages", probe_id);
	snprintf(body, sizeof(body), "{\"body\": \"refused\"}");
	nv_test_http("POST", path, body, strlen(body), jhdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	snprintf(w, sizeof(w), "%s: DELETE the probe lead", what);
	snprintf(path, sizeof(path), "/api/leads/%s", probe_id);
	nv_test_http("DELETE", path, NULL, 0, hdrs, &r);
	assert_refusal(&r, w, status, code, token);
	nv_test_http_free(&r);

	/* Nothing happened in either dealership. */
	ck_assert_int_eq(tenant_count(TESLA, "SELECT count(*) FROM leads"
	    " WHERE email = $1", email), 0);
	ck_assert_int_eq(tenant_count(VW, "SELECT count(*) FROM leads"
	    " WHERE email = $1", email), 0);
	ck_assert_msg(tenant_count(TESLA, "SELECT count(*) FROM leads"
	    " WHERE id = $1::uuid AND notes IS NULL AND NOT ai_paused",
	    probe_id) == 1, "%s: the probe lead was changed or deleted", what);
	ck_assert_int_eq(tenant_count(TESLA, "SELECT count(*) FROM"
	    " conversations WHERE lead_id = $1::uuid", probe_id), 0);
}

/* A token refused with 401 "unauthorized". */
static void
assert_token_401(const char *what, const char *token)
{
	char *h = bearer(token);

	assert_refused(what, h, token, 401, "unauthorized");
	free(h);
}

/* GET /api/leads with token answers 200 with data. */
static void
assert_token_works(const char *what, const char *token)
{
	const char *hdrs[2] = { NULL, NULL };
	struct nv_test_http r;
	char *h = bearer(token);
	cJSON *j;

	hdrs[0] = h;
	nv_test_http("GET", "/api/leads?limit=5", NULL, 0, hdrs, &r);
	ck_assert_msg(r.status == 200, "%s: %ld %s", what, r.status, r.body);
	j = cJSON_Parse(r.body);
	ck_assert_msg(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "data")),
	    "%s: %s", what, r.body);
	ck_assert_int_gt(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "data")), 0);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(h);
}

/* ------------------------------------------------------------ fixture */

static void
fixture_setup(void)
{
	const char *hdrs[3] = { "Content-Type: application/json", NULL, NULL };
	struct nv_test_http r;
	char body[256], *auth;
	cJSON *j, *id;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(tag, sizeof(tag), "authtest%ld%04d", (long)getpid(),
	    rand() % 10000);
	snprintf(probe_email, sizeof(probe_email), "%s.probe@example.com", tag);
	snprintf(body, sizeof(body), "{\"email\": \"%s\", \"first_name\":"
	    " \"Probe\", \"last_name\": \"%s\"}", probe_email, tag);
	hdrs[1] = auth = nv_test_auth_header("user_tesla_manager", TESLA_ORG);
	nv_test_http("POST", "/api/leads", body, strlen(body), hdrs, &r);
	ck_assert_msg(r.status == 201, "creating the probe lead: %ld %s",
	    r.status, r.body);
	j = cJSON_Parse(r.body);
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	ck_assert(cJSON_IsString(id));
	snprintf(probe_id, sizeof(probe_id), "%s", id->valuestring);
	cJSON_Delete(j);
	nv_test_http_free(&r);
	free(auth);
}

static void
fixture_teardown(void)
{
	char like[64];

	snprintf(like, sizeof(like), "user_%s%%", tag);
	owner_exec(TESLA, "DELETE FROM users WHERE clerk_user_id LIKE $1",
	    like);
	owner_exec(TESLA, "DELETE FROM leads WHERE id = $1::uuid", probe_id);
}

/* --------------------------------------------------------------- core */

START_TEST(valid_token_works)
{
	struct claims c = claims_for("user_tesla_rep", TESLA_ORG);
	char *tok;

	tok = nv_test_token("user_tesla_rep", TESLA_ORG, 3600);
	assert_token_works("nv_test_token", tok);
	/* The same token, twice: nothing about a request is remembered. */
	assert_token_works("nv_test_token again", tok);
	free(tok);

	tok = mint_dev(&c);
	assert_token_works("minted here", tok);
	free(tok);

	/* Clerk v1 tokens carry the organisation as org_id. */
	c.v1 = 1;
	tok = mint_dev(&c);
	assert_token_works("v1 org_id", tok);
	free(tok);

	/* The scheme is case-insensitive (RFC 9110 section 11.1). */
	{
		const char *hdrs[2] = { NULL, NULL };
		struct nv_test_http r;
		char h[4096];

		tok = nv_test_token("user_vw_rep", VW_ORG, 3600);
		snprintf(h, sizeof(h), "Authorization: bearer %s", tok);
		hdrs[0] = h;
		nv_test_http("GET", "/api/leads?limit=1", NULL, 0, hdrs, &r);
		ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
		ck_assert_ptr_null(strstr(r.body, TESLA));
		nv_test_http_free(&r);
		free(tok);
	}
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(no_or_wrong_scheme)
{
	assert_refused("no Authorization header", NULL, NULL, 401,
	    "unauthorized");
	assert_refused("Basic", "Authorization: Basic dXNlcjpwYXNzd29yZA==",
	    NULL, 401, "unauthorized");
	/* A valid token under another scheme is still no bearer token. */
	{
		char *tok = nv_test_token("user_tesla_manager", TESLA_ORG, 3600);
		size_t n = strlen(tok) + 32;
		char *h = malloc(n);

		snprintf(h, n, "Authorization: Token %s", tok);
		assert_refused("Token scheme", h, tok, 401, "unauthorized");
		snprintf(h, n, "Authorization: %s", tok);
		assert_refused("no scheme", h, tok, 401, "unauthorized");
		free(h);
		free(tok);
	}
}
END_TEST

START_TEST(empty_or_garbage_bearer)
{
	char big[6001];

	assert_refused("empty bearer", "Authorization: Bearer", NULL, 401,
	    "unauthorized");
	assert_refused("bearer and spaces", "Authorization: Bearer    ", NULL,
	    401, "unauthorized");
	assert_refused("empty header", "Authorization;", NULL, 401,
	    "unauthorized");
	assert_token_401("garbage", "garbage-token-0123456789");
	assert_token_401("two parts", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0");
	assert_token_401("four parts", "a.b.c.d");
	assert_token_401("dots", "..");
	assert_token_401("not base64", "eyJh%bGc.eyJz.c2ln");
	assert_token_401("base64 of junk", "aGVsbG8.d29ybGQ.c2lnbmF0dXJl");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '.';
	big[200] = '.';
	assert_token_401("long junk", big);
}
END_TEST

START_TEST(alg_none)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	char *payload = claims_json(&c), *tok, *valid, *sig;

	tok = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
	assert_token_401("alg none, empty signature", tok);
	free(tok);
	tok = hand_token("{\"alg\":\"none\"}", payload, "");
	assert_token_401("alg none, no typ", tok);
	free(tok);
	tok = hand_token("{\"alg\":\"None\",\"typ\":\"JWT\"}", payload, "");
	assert_token_401("alg None", tok);
	free(tok);
	/* With a real signature borrowed from a valid token. */
	valid = mint_dev(&c);
	sig = strrchr(valid, '.') + 1;
	tok = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, sig);
	assert_token_401("alg none, borrowed signature", tok);
	free(tok);
	assert_token_works("the lender", valid);
	free(valid);
	free(payload);
}
END_TEST

START_TEST(hs256_keyed_with_public_pem)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *pub, *tok, *payload, *input, *sig, *h, *p;
	size_t n, m;

	pub = slurp("var/keys/dev_jwt_public.pem", &n);
	tok = mint(JWT_ALG_HS256, pub, n, &c);
	assert_token_401("HS256 keyed with the public PEM", tok);
	free(tok);
	/* Without the trailing newline, in case a verifier trims. */
	tok = mint(JWT_ALG_HS256, pub, n - 1, &c);
	assert_token_401("HS256 keyed with the trimmed PEM", tok);
	free(tok);

	/*
	 * A header that reads RS256 to a first-member parser and HS256 to a
	 * last-member one (jansson, inside libjwt), HMAC'd with the PEM.
	 */
	payload = claims_json(&c);
	h = b64url_str("{\"alg\":\"RS256\",\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	p = b64url_str(payload);
	m = strlen(h) + strlen(p) + 2;
	input = malloc(m);
	snprintf(input, m, "%s.%s", h, p);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pub, (int)n,
	    (const unsigned char *)input, strlen(input), mac, &maclen));
	sig = b64url(mac, maclen);
	m = strlen(input) + strlen(sig) + 2;
	tok = malloc(m);
	snprintf(tok, m, "%s.%s", input, sig);
	assert_token_401("duplicate alg members, HMAC'd with the PEM", tok);
	free(tok);
	free(sig);
	free(input);
	free(h);
	free(p);
	free(payload);
	free(pub);
}
END_TEST

START_TEST(rs256_other_key)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	EVP_PKEY *k;
	BIO *b;
	char *data, *pem, *tok;
	long n;

	k = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(k);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &data);
	ck_assert_int_gt(n, 0);
	pem = malloc((size_t)n + 1);
	memcpy(pem, data, (size_t)n);
	pem[n] = '\0';
	BIO_free(b);
	EVP_PKEY_free(k);

	tok = mint(JWT_ALG_RS256, pem, (size_t)n, &c);
	assert_token_401("RS256 signed by another key", tok);
	free(tok);
	free(pem);
}
END_TEST

START_TEST(other_algorithms_with_the_right_key)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	size_t n;
	char *pem = slurp("var/keys/dev_jwt_private.pem", &n), *tok;

	/* Pinned to RS256: the right key under another algorithm is refused. */
	tok = mint(JWT_ALG_RS512, pem, n, &c);
	assert_token_401("RS512 with the dev key", tok);
	free(tok);
	tok = mint(JWT_ALG_RS384, pem, n, &c);
	assert_token_401("RS384 with the dev key", tok);
	free(tok);
	free(pem);
}
END_TEST

/* Replace the payload of token with payload, keeping header and signature. */
static char *
retarget(const char *token, const char *payload)
{
	const char *d1 = strchr(token, '.'), *d2 = strrchr(token, '.');
	char *p = b64url_str(payload), *t;
	size_t n;

	n = (size_t)(d1 - token) + strlen(p) + strlen(d2) + 2;
	t = malloc(n);
	snprintf(t, n, "%.*s.%s%s", (int)(d1 - token), token, p, d2);
	free(p);
	return t;
}

/* The payload of token with every occurrence of from replaced by to. */
static char *
payload_swap(const char *token, const char *from, const char *to)
{
	const char *d1 = strchr(token, '.'), *d2 = strrchr(token, '.');
	char *json = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1)), *hit, *out;
	size_t n = strlen(json) + strlen(to) + 1;

	hit = strstr(json, from);
	ck_assert_msg(hit != NULL, "%s not in %s", from, json);
	out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(hit - json), json, to,
	    hit + strlen(from));
	free(json);
	return out;
}

START_TEST(tampered_payload)
{
	char *valid, *payload, *tok;

	valid = nv_test_token("user_tesla_rep", TESLA_ORG, 3600);
	assert_token_works("the original", valid);

	payload = payload_swap(valid, "\"user_tesla_rep\"",
	    "\"user_tesla_manager\"");
	tok = retarget(valid, payload);
	assert_token_401("sub changed", tok);
	free(tok);
	free(payload);

	payload = payload_swap(valid, "\"" TESLA_ORG "\"", "\"" VW_ORG "\"");
	tok = retarget(valid, payload);
	assert_token_401("o.id changed", tok);
	free(tok);
	free(payload);

	/* The same payload re-encoded with a space: bytes, not meaning, count. */
	payload = payload_swap(valid, "\"sub\":", "\"sub\": ");
	tok = retarget(valid, payload);
	assert_token_401("payload re-encoded", tok);
	free(tok);
	free(payload);

	/* A flipped bit in the signature. */
	tok = strdup(valid);
	{
		char *s = strrchr(tok, '.') + 1;

		s[3] = s[3] == 'A' ? 'B' : 'A';
	}
	assert_token_401("signature changed", tok);
	free(tok);

	assert_token_works("the original, still", valid);
	free(valid);
}
END_TEST

START_TEST(expired_and_not_yet_valid)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	char *tok;

	tok = nv_test_token("user_tesla_manager", TESLA_ORG, -60);
	assert_token_401("expired a minute ago", tok);
	free(tok);

	c.nbf = 300;
	tok = mint_dev(&c);
	assert_token_401("nbf in 5 minutes", tok);
	free(tok);

	c = claims_for("user_tesla_manager", TESLA_ORG);
	c.iat = 300;
	tok = mint_dev(&c);
	assert_token_401("issued in 5 minutes", tok);
	free(tok);

	c = claims_for("user_tesla_manager", TESLA_ORG);
	c.no_exp = 1;
	tok = mint_dev(&c);
	assert_token_401("no exp", tok);
	free(tok);
}
END_TEST

START_TEST(wrong_issuer_or_pending_session)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	char iss[512];
	char *tok;

	c.iss = "https://evil.example.com";
	tok = mint_dev(&c);
	assert_token_401("foreign issuer", tok);
	free(tok);
	snprintf(iss, sizeof(iss), "%s/", issuer());
	c.iss = iss;
	tok = mint_dev(&c);
	assert_token_401("issuer with a trailing slash", tok);
	free(tok);

	c = claims_for("user_tesla_manager", TESLA_ORG);
	c.sts = "pending";
	tok = mint_dev(&c);
	assert_token_401("sts pending", tok);
	free(tok);
	/* An active session is fine. */
	c.sts = "active";
	tok = mint_dev(&c);
	assert_token_works("sts active", tok);
	free(tok);
}
END_TEST

START_TEST(no_organisation_is_403)
{
	struct claims c = claims_for("user_tesla_manager", NULL);
	char *tok, *h;

	tok = nv_test_token("user_tesla_manager", NULL, 3600);
	h = bearer(tok);
	assert_refused("no o claim", h, tok, 403, "forbidden");
	free(h);
	free(tok);

	c.v1 = 1;
	tok = mint_dev(&c);
	h = bearer(tok);
	assert_refused("v1 without org_id", h, tok, 403, "forbidden");
	free(h);
	free(tok);

	c = claims_for("user_tesla_manager", "");
	tok = mint_dev(&c);
	h = bearer(tok);
	assert_refused("empty o.id", h, tok, 403, "forbidden");
	free(h);
	free(tok);
}
END_TEST

START_TEST(unknown_user_or_org_is_401)
{
	char *tok;

	tok = nv_test_token("user_nobody_at_all", TESLA_ORG, 3600);
	assert_token_401("unknown user", tok);
	free(tok);
	tok = nv_test_token("user_tesla_manager", "org_nowhere", 3600);
	assert_token_401("unknown organisation", tok);
	free(tok);
	tok = nv_test_token("user_nobody_at_all", "org_nowhere", 3600);
	assert_token_401("unknown user and organisation", tok);
	free(tok);
	/* The dealership's uuid is not its Clerk organisation id. */
	tok = nv_test_token("user_tesla_manager", TESLA, 3600);
	assert_token_401("dealership uuid as organisation", tok);
	free(tok);
}
END_TEST

START_TEST(user_of_another_dealership_is_403)
{
	char *tok, *h;

	tok = nv_test_token("user_vw_rep", TESLA_ORG, 3600);
	h = bearer(tok);
	assert_refused("VW rep with Tesla's org", h, tok, 403, "forbidden");
	free(h);
	free(tok);
	tok = nv_test_token("user_vw_admin", TESLA_ORG, 3600);
	h = bearer(tok);
	assert_refused("VW admin with Tesla's org", h, tok, 403, "forbidden");
	free(h);
	free(tok);
	tok = nv_test_token("user_tesla_manager", VW_ORG, 3600);
	h = bearer(tok);
	assert_refused("Tesla manager with VW's org", h, tok, 403, "forbidden");
	free(h);
	free(tok);
}
END_TEST

START_TEST(deactivated_user_is_403)
{
	char clerk[96], email[160], *tok, *h;

	snprintf(clerk, sizeof(clerk), "user_%s_deact", tag);
	snprintf(email, sizeof(email), "%s.deact@example.com", tag);
	{
		PGconn *c = nv_test_connect(nv_test_env(
		    "NORVALT_DATABASE_OWNER_URL"));

		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", TESLA, NULL));
		PQclear(nv_test_exec(c, "INSERT INTO users (dealership_id,"
		    " clerk_user_id, email, name, role) VALUES ($1::uuid, $2,"
		    " $3, 'Deactivation Test', 'sales_rep')", TESLA, clerk,
		    email, NULL));
		PQclear(nv_test_exec(c, "COMMIT", NULL));
		PQfinish(c);
	}
	tok = nv_test_token(clerk, TESLA_ORG, 3600);
	assert_token_works("the new user, active", tok);

	owner_exec(TESLA, "UPDATE users SET active = false"
	    " WHERE clerk_user_id = $1", clerk);
	h = bearer(tok);
	assert_refused("the same token, user deactivated", h, tok, 403,
	    "forbidden");
	free(h);
	free(tok);

	/* Reactivated, the user is let in again (nothing is cached). */
	owner_exec(TESLA, "UPDATE users SET active = true"
	    " WHERE clerk_user_id = $1", clerk);
	tok = nv_test_token(clerk, TESLA_ORG, 3600);
	assert_token_works("reactivated", tok);
	free(tok);
}
END_TEST

/* GET path with token n times; every answer must be want. */
static void
status_n(const char *what, const char *path, const char *token, int n,
    long want)
{
	const char *hdrs[2] = { NULL, NULL };
	struct nv_test_http r;
	char *h = bearer(token);
	int i;

	hdrs[0] = h;
	for (i = 0; i < n; i++) {
		nv_test_http("GET", path, NULL, 0, hdrs, &r);
		ck_assert_msg(r.status == want, "%s, request %d: %ld, want %ld:"
		    " %s", what, i + 1, r.status, want, r.body);
		nv_test_http_free(&r);
	}
	free(h);
}

/*
 * Each worker remembers who a token's (organisation, user) is: whatever
 * changes in the database applies to the very next request of every
 * worker anyway -- a role, the active flag, the sales-rep scope.  Each
 * phase sends enough requests that every worker has served (and cached)
 * the caller before the change.
 */
START_TEST(cached_caller_follows_the_database)
{
	char clerk[96], email[160], *tok;

	snprintf(clerk, sizeof(clerk), "user_%s_cache", tag);
	snprintf(email, sizeof(email), "%s.cache@example.com", tag);
	{
		PGconn *c = nv_test_connect(nv_test_env(
		    "NORVALT_DATABASE_OWNER_URL"));

		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", TESLA, NULL));
		PQclear(nv_test_exec(c, "INSERT INTO users (dealership_id,"
		    " clerk_user_id, email, name, role) VALUES ($1::uuid, $2,"
		    " $3, 'Cache Test', 'manager')", TESLA, clerk, email, NULL));
		PQclear(nv_test_exec(c, "COMMIT", NULL));
		PQfinish(c);
	}
	tok = nv_test_token(clerk, TESLA_ORG, 3600);
	status_n("manager", "/api/users", tok, 8, 200);
	status_n("manager", "/api/leads?limit=1", tok, 8, 200);

	owner_exec(TESLA, "UPDATE users SET role = 'sales_rep'"
	    " WHERE clerk_user_id = $1", clerk);
	status_n("demoted", "/api/users", tok, 8, 403);
	status_n("demoted", "/api/leads?limit=1", tok, 8, 200);

	owner_exec(TESLA, "UPDATE users SET role = 'manager'"
	    " WHERE clerk_user_id = $1", clerk);
	status_n("promoted again", "/api/users", tok, 8, 200);

	owner_exec(TESLA, "UPDATE users SET active = false"
	    " WHERE clerk_user_id = $1", clerk);
	status_n("deactivated", "/api/leads?limit=1", tok, 8, 403);
	status_n("deactivated", "/api/users", tok, 8, 403);

	owner_exec(TESLA, "UPDATE users SET active = true"
	    " WHERE clerk_user_id = $1", clerk);
	status_n("reactivated", "/api/leads?limit=1", tok, 8, 200);

	/* Another dealership's organisation in the same token: never data. */
	free(tok);
	tok = nv_test_token(clerk, "org_vw_bergen", 3600);
	status_n("other organisation", "/api/leads?limit=1", tok, 4, 403);
	free(tok);

	/* Gone: the membership removed. */
	tok = nv_test_token(clerk, TESLA_ORG, 3600);
	status_n("member", "/api/leads?limit=1", tok, 8, 200);
	owner_exec(TESLA, "DELETE FROM users WHERE clerk_user_id = $1", clerk);
	status_n("removed", "/api/leads?limit=1", tok, 8, 401);
	free(tok);
}
END_TEST

/*
 * RFC 9110 section 15.5.2: a 401 MUST carry WWW-Authenticate, whichever
 * check refused the caller (the token, or the user/organisation lookup).
 */
START_TEST(every_401_says_www_authenticate)
{
	static const char *const cases[] = {
		"no token", "garbage", "unknown user", "unknown organisation"
	};
	struct nv_test_http r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *hdrs[2] = { NULL, NULL };
		char *tok = NULL, *h = NULL, *www;

		if (i == 1)
			h = bearer("garbage");
		else if (i == 2)
			tok = nv_test_token("user_nobody_at_all", TESLA_ORG,
			    3600);
		else if (i == 3)
			tok = nv_test_token("user_tesla_manager", "org_nowhere",
			    3600);
		if (tok != NULL)
			h = bearer(tok);
		hdrs[0] = h;
		nv_test_http("GET", "/api/leads", NULL, 0, hdrs, &r);
		ck_assert_msg(r.status == 401, "%s: %ld", cases[i],
		    r.status);
		www = nv_test_http_header(&r, "WWW-Authenticate");
		ck_assert_msg(www != NULL && strncasecmp(www, "Bearer", 6) == 0,
		    "%s: 401 without WWW-Authenticate: Bearer", cases[i]);
		free(www);
		nv_test_http_free(&r);
		free(h);
		free(tok);
	}
}
END_TEST

/* 1 when a file in dir holds needle. */
static int
logs_hold(const char *dir, const char *needle, char *where, size_t n)
{
	struct dirent *e;
	char path[2048], *buf;
	size_t len;
	DIR *d;
	FILE *f;
	int hit = 0;

	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while (!hit && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		buf = malloc(len + 1);
		ck_assert_ptr_nonnull(buf);
		len = fread(buf, 1, len, f);
		buf[len] = '\0';
		fclose(f);
		if (strstr(buf, needle) != NULL) {
			snprintf(where, n, "%s", path);
			hit = 1;
		}
		free(buf);
	}
	closedir(d);
	return hit;
}

/* SPEC section 3 and STYLE: tokens never reach a log, refused or not. */
START_TEST(tokens_never_logged)
{
	struct claims c = claims_for("user_tesla_manager", TESLA_ORG);
	char dir[1024], probe[1200], where[2048], *toks[4];
	const char *state = getenv("NV_TEST_STATE_DIR");
	size_t i;

	if (state != NULL && *state != '\0')
		snprintf(dir, sizeof(dir), "%s/log", state);
	else
		snprintf(dir, sizeof(dir), "%s/var/test/log",
		    nv_test_env("NV_ROOT"));
	snprintf(probe, sizeof(probe), "%s/leads.log", dir);
	ck_assert_msg(access(probe, R_OK) == 0, "no stack log at %s", probe);

	/* A garbage token that is easy to find, and three signed ones. */
	snprintf(probe, sizeof(probe), "eyJhbGciOiJSUzI1NiJ9.%sLogProbePayload"
	    ".%sLogProbeSignature", tag, tag);
	toks[0] = strdup(probe);
	toks[1] = mint_dev(&c);
	toks[2] = nv_test_token("user_nobody_at_all", TESLA_ORG, 3600);
	toks[3] = nv_test_token("user_tesla_manager", TESLA_ORG, -60);
	assert_token_works("a valid token", toks[1]);
	for (i = 0; i < 4; i++) {
		if (i != 1)
			assert_token_401("a token to look for in the logs",
			    toks[i]);
	}
	usleep(200000);	/* let the workers' and nginx's lines land */
	for (i = 0; i < 4; i++) {
		const char *sig = strrchr(toks[i], '.') + 1;
		const char *pay = strchr(toks[i], '.') + 1;
		char part[4096];

		ck_assert_msg(!logs_hold(dir, sig, where, sizeof(where)),
		    "token %zu's signature is in %s", i, where);
		snprintf(part, sizeof(part), "%.*s", (int)(strrchr(toks[i],
		    '.') - pay), pay);
		ck_assert_msg(!logs_hold(dir, part, where, sizeof(where)),
		    "token %zu's payload is in %s", i, where);
		free(toks[i]);
	}
}
END_TEST

static Suite *
api_auth_suite(void)
{
	Suite *s = suite_create("api_auth");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_add_unchecked_fixture(core, fixture_setup, fixture_teardown);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, valid_token_works);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(err, fixture_setup, fixture_teardown);
	tcase_set_timeout(err, 120);
	tcase_add_test(err, no_or_wrong_scheme);
	tcase_add_test(err, empty_or_garbage_bearer);
	tcase_add_test(err, alg_none);
	tcase_add_test(err, hs256_keyed_with_public_pem);
	tcase_add_test(err, rs256_other_key);
	tcase_add_test(err, other_algorithms_with_the_right_key);
	tcase_add_test(err, tampered_payload);
	tcase_add_test(err, expired_and_not_yet_valid);
	tcase_add_test(err, wrong_issuer_or_pending_session);
	tcase_add_test(err, no_organisation_is_403);
	tcase_add_test(err, unknown_user_or_org_is_401);
	tcase_add_test(err, user_of_another_dealership_is_403);
	tcase_add_test(err, deactivated_user_is_403);
	tcase_add_test(err, cached_caller_follows_the_database);
	tcase_add_test(err, every_401_says_www_authenticate);
	tcase_add_test(err, tokens_never_logged);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(api_auth_suite)
