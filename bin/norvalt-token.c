/*
 * norvalt-token.c - mint a Clerk-shaped dev session token
 *
 *	norvalt-token --user ID [--org ORG] [--ttl SECONDS] [--key PEM_PATH]
 *	    [--issuer URL] [--azp ORIGIN]
 *
 * Behind `make token USER=... [ORG=...] [TTL=...]`.  Signs with the dev
 * private key (default var/keys/dev_jwt_private.pem, PKCS#8 PEM) using
 * libjwt RS256 (lib/devtoken.c, shared with cgi-bin/devlogin), shaped like
 * a Clerk v2 session token:
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

#include <libpq-fe.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "devtoken.h"
#include "err.h"
#include "log.h"

#define TOKEN_PROG		"norvalt-token"
#define TOKEN_DEFAULT_KEY	"var/keys/dev_jwt_private.pem"
#define TOKEN_DEFAULT_TTL	3600L
#define TOKEN_TTL_MAX		(366L * 24 * 3600)
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

static int
token_sign(const struct token_opts *opt, const char *org, const char *rol,
    long now, char **out)
{
	struct nv_devtoken t;
	struct nv_diag d;

	memset(&t, 0, sizeof(t));
	t.key = opt->key;
	t.issuer = opt->issuer;
	t.user = opt->user;
	t.org = org;
	t.rol = rol;
	t.azp = opt->azp;
	t.ttl = opt->ttl;
	t.now = now;
	nv_diag_reset(&d);
	if (nv_devtoken_sign(&d, &t, out) != NV_OK)
		return token_fail("%s", d.msg);
	return TOKEN_OK;
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
		nv_db_set_owner_conninfo(owner);
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
	if ((rc = token_sign(&opt, org, nv_devtoken_clerk_role(role), now, &token)) !=
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
