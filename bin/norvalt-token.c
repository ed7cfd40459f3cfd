/*
 * norvalt-token.c - mint a Clerk-shaped dev session token
 *
 *	norvalt-token --user ID [--org ORG] [--ttl SECONDS] [--key PEM_PATH]
 *	    [--issuer URL] [--azp ORIGIN]
 *
 * Behind `make token USER=... [ORG=...] [TTL=...]`.  Signs with the dev
 * private key (default var/keys/dev_jwt_private.pem, PKCS#8 PEM) using
 * libjwt RS256, shaped like a Clerk v2 session token:
 *
 *   header  {"alg":"RS256","typ":"JWT","kid":<first 16 hex of SHA-256 of
 *            the public key's DER>}
 *   payload {"iss":..,"sub":ID,"sid":"sess_dev_..","iat":now,"nbf":now-5,
 *            "exp":now+TTL,"v":2,"jti":..,"fva":[0,-1],
 *            "o":{"id":ORG,"rol":"admin"|"manager"|"member"},"azp":..}
 *
 * The API verifies these exactly as it verifies Clerk's (lib/auth): the dev
 * public key is simply NORVALT_CLERK_JWT_KEY_FILE.  The issuer defaults to
 * NORVALT_CLERK_ISSUER (https://clerk.norvalt.localhost).  A negative TTL
 * gives an already expired token, for tests.
 *
 * Without --org the user's organisations are looked up with nv_user_orgs()
 * through NORVALT_DATABASE_OWNER_URL: exactly one is used; none or several
 * is an error that says what to do.  o.rol is the user's role there
 * (sales_rep becomes Clerk's "member"); with --org and no database it is
 * "member".
 *
 * Output: the token alone on the last line of stdout; what it is for goes
 * to stderr.  Exit status: 0 success, 1 failure, 2 usage or configuration
 * error.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <libpq-fe.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "log.h"

#define TOKEN_PROG		"norvalt-token"
#define TOKEN_DEFAULT_KEY	"var/keys/dev_jwt_private.pem"
#define TOKEN_DEFAULT_TTL	3600L
#define TOKEN_TTL_MAX		(366L * 24 * 3600)
#define TOKEN_KEY_MAX		(64 * 1024)
#define TOKEN_ORGS_MAX		64

enum token_rc {
	TOKEN_OK = 0,
	TOKEN_FAIL = 1,
	TOKEN_USAGE = 2
};

struct token_opts {
	const char	*user;
	const char	*org;
	const char	*key;
	const char	*issuer;
	const char	*azp;
	long		 ttl;
};

/* One row of nv_user_orgs(); strings live in the arena. */
struct token_org {
	const char	*id;
	const char	*name;
	const char	*role;
};

struct token_lookup {
	const char		*user;
	struct token_org	 orgs[TOKEN_ORGS_MAX];
	size_t			 n;
	size_t			 total;
};

static void
token_usage(FILE *f)
{
	fprintf(f, "usage: " TOKEN_PROG " --user CLERK_USER_ID [--org "
	    "CLERK_ORG_ID] [--ttl SECONDS]\n"
	    "           [--key PRIVATE_PEM] [--issuer URL] [--azp ORIGIN]\n");
}

static int
token_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
token_fail(const char *fmt, ...)
{
	va_list ap;

	fputs(TOKEN_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TOKEN_FAIL;
}

/*
 * Parse argv into o.  "--name value" and "--name=value" are both accepted.
 * TOKEN_OK, or TOKEN_USAGE after printing why.
 */
static int
token_args(int argc, char **argv, struct token_opts *o)
{
	static const char *const names[] = { "--user", "--org", "--ttl",
	    "--key", "--issuer", "--azp", NULL };
	const char *arg, *val, *ttl = NULL;
	const char **slot[6];
	size_t i, n;
	char *end;
	int k;

	slot[0] = &o->user;
	slot[1] = &o->org;
	slot[2] = &ttl;
	slot[3] = &o->key;
	slot[4] = &o->issuer;
	slot[5] = &o->azp;
	for (k = 1; k < argc; k++) {
		arg = argv[k];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			token_usage(stdout);
			exit(TOKEN_OK);
		}
		for (i = 0; names[i] != NULL; i++) {
			n = strlen(names[i]);
			if (strncmp(arg, names[i], n) == 0 &&
			    (arg[n] == '\0' || arg[n] == '='))
				break;
		}
		if (names[i] == NULL) {
			fprintf(stderr, TOKEN_PROG ": unknown argument \"%s\"\n",
			    arg);
			token_usage(stderr);
			return TOKEN_USAGE;
		}
		if (arg[n] == '=') {
			val = arg + n + 1;
		} else if (k + 1 < argc) {
			val = argv[++k];
		} else {
			fprintf(stderr, TOKEN_PROG ": %s needs a value\n",
			    names[i]);
			return TOKEN_USAGE;
		}
		if (*val == '\0') {
			fprintf(stderr, TOKEN_PROG ": %s is empty\n", names[i]);
			return TOKEN_USAGE;
		}
		*slot[i] = val;
	}
	if (o->user == NULL) {
		fprintf(stderr, TOKEN_PROG ": --user is required "
		    "(make token USER=user_tesla_rep)\n");
		token_usage(stderr);
		return TOKEN_USAGE;
	}
	o->ttl = TOKEN_DEFAULT_TTL;
	if (ttl != NULL) {
		errno = 0;
		o->ttl = strtol(ttl, &end, 10);
		if (errno != 0 || end == ttl || *end != '\0' ||
		    o->ttl > TOKEN_TTL_MAX || o->ttl < -TOKEN_TTL_MAX) {
			fprintf(stderr, TOKEN_PROG ": --ttl must be a number of "
			    "seconds between %ld and %ld, got \"%s\"\n",
			    -TOKEN_TTL_MAX, TOKEN_TTL_MAX, ttl);
			return TOKEN_USAGE;
		}
	}
	if (o->key == NULL)
		o->key = TOKEN_DEFAULT_KEY;
	return TOKEN_OK;
}

static const struct nv_stmt token_orgs_stmt = {
	"token_user_orgs",
	"SELECT clerk_org_id, dealership_name, user_role"
	"  FROM nv_user_orgs($1)",
	1
};

static enum nv_err
token_lookup_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct token_lookup *l = arg;
	const char *params[1] = { l->user };
	PGresult *res;
	enum nv_err rc;
	int i;

	if ((rc = nv_db_exec(a, d, &token_orgs_stmt, params, &res)) != NV_OK)
		return rc;
	l->total = (size_t)PQntuples(res);
	for (i = 0; i < PQntuples(res) && l->n < TOKEN_ORGS_MAX; i++) {
		l->orgs[l->n].id = nv_arena_strdup(a, nv_db_value(res, i, 0));
		l->orgs[l->n].name = nv_arena_strdup(a, nv_db_value(res, i, 1));
		l->orgs[l->n].role = nv_arena_strdup(a, nv_db_value(res, i, 2));
		l->n++;
	}
	return NV_OK;
}

/* Clerk's organisation role for a Norvalt role. */
static const char *
token_clerk_role(const char *role)
{
	if (role != NULL && strcmp(role, "admin") == 0)
		return "admin";
	if (role != NULL && strcmp(role, "manager") == 0)
		return "manager";
	return "member";
}

/* Lower-case hex of n random bytes into out (2n+1 bytes). */
static int
token_random_hex(char *out, size_t n)
{
	unsigned char b[32];
	size_t i;

	if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
		return -1;
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* Read the whole key file (at most TOKEN_KEY_MAX bytes), malloc'd. */
static char *
token_read_key(const char *path, size_t *len)
{
	FILE *f;
	char *p;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	p = malloc(TOKEN_KEY_MAX + 1);
	if (p == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(p, 1, TOKEN_KEY_MAX + 1, f);
	fclose(f);
	if (*len == 0 || *len > TOKEN_KEY_MAX) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	p[*len] = '\0';
	return p;
}

/*
 * Check the private key is RSA >= 2048 and compute its kid: the first 16
 * hex digits of SHA-256 over the public key's DER (SubjectPublicKeyInfo).
 */
static int
token_kid(const char *pem, size_t len, char kid[17])
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int n, rc = -1, i;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -1;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA") ||
	    EVP_PKEY_get_bits(pkey) < 2048)
		goto out;
	if ((n = i2d_PUBKEY(pkey, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < 8; i++)
		snprintf(kid + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* The claims other than the plain strings, as JSON for jwt_add_grants_json. */
static char *
token_json_claims(const char *org, const char *rol)
{
	cJSON *root, *o, *fva;
	char *s;

	root = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(root, "o");
	cJSON_AddStringToObject(o, "id", org);
	cJSON_AddStringToObject(o, "rol", rol);
	fva = cJSON_AddArrayToObject(root, "fva");
	cJSON_AddItemToArray(fva, cJSON_CreateNumber(0));
	cJSON_AddItemToArray(fva, cJSON_CreateNumber(-1));
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

static int
token_sign(const struct token_opts *opt, const char *org, const char *rol,
    long now, char **out)
{
	char kid[17], sid[9 + 32 + 1] = "sess_dev_", jti[41];
	char *pem = NULL, *json = NULL;
	jwt_t *j = NULL;
	size_t len = 0;
	int rc = TOKEN_FAIL;

	*out = NULL;
	if ((pem = token_read_key(opt->key, &len)) == NULL) {
		token_fail("cannot read the private key %s: %s (make run "
		    "creates the dev key pair)", opt->key, strerror(errno));
		goto out;
	}
	if (token_kid(pem, len, kid) != 0) {
		token_fail("%s is not an RSA private key of 2048 bits or more "
		    "in PEM", opt->key);
		goto out;
	}
	if (token_random_hex(sid + 9, 16) != 0 ||
	    token_random_hex(jti, 20) != 0) {
		token_fail("no random bytes");
		goto out;
	}
	if ((json = token_json_claims(org, rol)) == NULL ||
	    jwt_new(&j) != 0 ||
	    jwt_add_header(j, "kid", kid) != 0 ||
	    jwt_add_grant(j, "iss", opt->issuer) != 0 ||
	    jwt_add_grant(j, "sub", opt->user) != 0 ||
	    jwt_add_grant(j, "sid", sid) != 0 ||
	    jwt_add_grant(j, "jti", jti) != 0 ||
	    jwt_add_grant_int(j, "iat", now) != 0 ||
	    jwt_add_grant_int(j, "nbf", now - 5) != 0 ||
	    jwt_add_grant_int(j, "exp", now + opt->ttl) != 0 ||
	    jwt_add_grant_int(j, "v", 2) != 0 ||
	    jwt_add_grants_json(j, json) != 0 ||
	    (opt->azp != NULL && jwt_add_grant(j, "azp", opt->azp) != 0) ||
	    jwt_set_alg(j, JWT_ALG_RS256, (const unsigned char *)pem,
	    (int)len) != 0 ||
	    (*out = jwt_encode_str(j)) == NULL) {
		token_fail("signing the token failed");
		goto out;
	}
	rc = TOKEN_OK;
out:
	jwt_free(j);
	free(json);
	if (pem != NULL)
		OPENSSL_cleanse(pem, len);
	free(pem);
	ERR_clear_error();
	return rc;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	struct token_opts opt;
	struct token_lookup look;
	struct nv_arena *a = NULL;
	struct nv_diag d;
	const char *org, *role = NULL, *owner, *name = NULL;
	char *token = NULL, when[32];
	struct tm tm;
	time_t exp;
	long now;
	size_t i;
	int rc;

	memset(&opt, 0, sizeof(opt));
	memset(&look, 0, sizeof(look));
	if ((rc = token_args(argc, argv, &opt)) != TOKEN_OK)
		return rc;
	nv_config_init(TOKEN_PROG, NULL, 0);
	if (opt.issuer == NULL)
		opt.issuer = nv_config_str(NV_CFG_CLERK_ISSUER);
	org = opt.org;

	owner = nv_config_str(NV_CFG_DATABASE_OWNER_URL);
	if (owner == NULL && org == NULL) {
		fprintf(stderr, TOKEN_PROG ": configuration error: %s is not "
		    "set; it is needed to find the user's organisation "
		    "(or pass --org)\n",
		    nv_config_name(NV_CFG_DATABASE_OWNER_URL));
		return TOKEN_USAGE;
	}
	if (owner != NULL) {
		a = nv_arena_new();
		nv_diag_reset(&d);
		nv_db_set_conninfo(owner);
		look.user = opt.user;
		if (nv_db_tx(a, &d, NULL, token_lookup_work, &look) != NV_OK) {
			if (org == NULL) {
				rc = token_fail("cannot look up the user's "
				    "organisations with nv_user_orgs() (are the "
				    "migrations applied? make migrate): %s",
				    d.msg);
				goto out;
			}
			fprintf(stderr, TOKEN_PROG ": warning: cannot look up "
			    "the user's role (%s); using \"member\"\n", d.msg);
		}
		nv_db_close();
	}
	if (org == NULL) {
		if (look.total == 0) {
			rc = token_fail("user %s belongs to no dealership",
			    opt.user);
			goto out;
		}
		if (look.total > 1) {
			fprintf(stderr, TOKEN_PROG ": user %s belongs to %zu "
			    "dealerships; choose one with ORG= (--org):\n",
			    opt.user, look.total);
			for (i = 0; i < look.n; i++)
				fprintf(stderr, "  %s  %s\n", look.orgs[i].id,
				    look.orgs[i].name);
			rc = TOKEN_FAIL;
			goto out;
		}
		org = look.orgs[0].id;
	}
	for (i = 0; i < look.n; i++)
		if (strcmp(look.orgs[i].id, org) == 0) {
			role = look.orgs[i].role;
			name = look.orgs[i].name;
		}

	now = (long)time(NULL);
	if ((rc = token_sign(&opt, org, token_clerk_role(role), now, &token)) !=
	    TOKEN_OK)
		goto out;
	exp = (time_t)(now + opt.ttl);
	if (gmtime_r(&exp, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%ld", (long)exp);
	fprintf(stderr, "token for %s in %s%s%s%s (role %s), %s %s\n",
	    opt.user, org, name != NULL ? " (" : "", name != NULL ? name : "",
	    name != NULL ? ")" : "", role != NULL ? role : "unknown",
	    opt.ttl < 0 ? "expired" : "expires", when);
	printf("%s\n", token);
	if (fflush(stdout) != 0)
		rc = token_fail("cannot write the token: %s", strerror(errno));
out:
	free(token);
	nv_arena_free(a);
	return rc;
}
