/*
 * check_auth_db.c - nv_auth_resolve and nv_auth_context() against the test
 * stack's seeded database, and bin/norvalt-token end to end.
 *
 * Seed: Tesla Oslo (org_tesla_oslo) with user_tesla_manager and
 * user_tesla_rep; VW Bergen (org_vw_bergen) with user_vw_admin and
 * user_vw_rep.  Deactivated users and dealerships, and a user in two
 * dealerships, are made in fresh dealerships with unique names, so the
 * seeded tenants are never changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../testutil.h"
#include "arena.h"
#include "auth.h"
#include "db.h"

#define TESLA	"11111111-1111-4111-8111-111111111111"
#define VW	"22222222-2222-4222-8222-222222222222"

static Suite *auth_db_suite(void);

static struct nv_arena *arena;
static struct nv_diag diag;

/* One resolution inside a transaction, and what the transaction saw. */
struct probe {
	struct nv_claims	 c;
	struct nv_principal	 p;
	enum nv_err		 rc;
	long			 leads;		/* visible after resolving */
	long			 foreign;	/* of them, other dealerships' */
	char			 ctx_user[64];
	char			 actor[128];
};

static long
probe_count(struct nv_arena *a, struct nv_diag *d, const char *sql)
{
	PGresult *res;

	ck_assert_int_eq(nv_db_exec_once(a, d, sql, 0, NULL, &res), NV_OK);
	return strtol(PQgetvalue(res, 0, 0), NULL, 10);
}

static enum nv_err
probe_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct probe *pr = arg;
	const char *params[1];
	PGresult *res;

	pr->rc = nv_auth_resolve(a, d, &pr->c, &pr->p);
	pr->leads = probe_count(a, d, "SELECT count(*) FROM leads");
	params[0] = pr->p.dealership_id;
	ck_assert_int_eq(nv_db_exec_once(a, d, "SELECT count(*) FROM leads"
	    " WHERE dealership_id IS DISTINCT FROM $1::uuid", 1, params, &res),
	    NV_OK);
	pr->foreign = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	ck_assert_int_eq(nv_db_exec_once(a, d, "SELECT coalesce(current_setting("
	    "'app.current_user_id', true), ''), coalesce(current_setting("
	    "'app.actor', true), '')", 0, NULL, &res), NV_OK);
	snprintf(pr->ctx_user, sizeof(pr->ctx_user), "%s",
	    PQgetvalue(res, 0, 0));
	snprintf(pr->actor, sizeof(pr->actor), "%s", PQgetvalue(res, 0, 1));
	/* Commit either way: the probe only reads. */
	return NV_OK;
}

/* Resolve (user, org) as the API would; returns the resolution's code. */
static enum nv_err
resolve(struct probe *pr, const char *user, const char *org)
{
	enum nv_err rc;

	memset(pr, 0, sizeof(*pr));
	pr->c.sub = user;
	pr->c.org_id = org;
	pr->c.version = 2;
	nv_arena_reset(arena);
	nv_diag_reset(&diag);
	rc = nv_db_tx(arena, &diag, NULL, probe_work, pr);
	ck_assert_msg(rc == NV_OK, "transaction failed: %s", diag.msg);
	/* diag still holds nv_auth_resolve's message: the rest succeeded. */
	return pr->rc;
}

static void
setup(void)
{
	nv_db_set_conninfo(nv_test_env("DATABASE_URL"));
	arena = nv_arena_new();
	nv_diag_reset(&diag);
}

static void
teardown(void)
{
	nv_db_close();
	nv_arena_free(arena);
	arena = NULL;
}

/* Leads of dealership id as the owner sees them with that context. */
static long
owner_leads(const char *id)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	long n;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", id, NULL));
	n = nv_test_count(c, "SELECT count(*) FROM leads", NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return n;
}

/*
 * A fresh dealership (through nv_create_dealership, as the app) with one
 * user; the owner then sets the flags.  Returns the dealership id in id.
 */
static void
make_dealer(const char *org, const char *user, const char *role,
    int dealer_active, int user_active, char id[64])
{
	PGconn *app = nv_test_connect(nv_test_env("DATABASE_URL"));
	PGconn *own = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	PGresult *r;

	r = nv_test_exec(app, "SELECT nv_create_dealership($1, $2, '{}')::text",
	    org, org, NULL);
	snprintf(id, 64, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(app);
	PQclear(nv_test_exec(own, "BEGIN", NULL));
	PQclear(nv_test_exec(own, "SELECT set_config('app.current_dealership_id',"
	    " $1, true), set_config('app.actor', 'test', true)", id, NULL));
	PQclear(nv_test_exec(own, "INSERT INTO users (dealership_id,"
	    " clerk_user_id, role, active) VALUES ($1, $2, $3, $4::boolean)",
	    id, user, role, user_active ? "true" : "false", NULL));
	PQclear(nv_test_exec(own, "UPDATE dealerships SET active = $2::boolean"
	    " WHERE id = $1", id, dealer_active ? "true" : "false", NULL));
	PQclear(nv_test_exec(own, "COMMIT", NULL));
	PQfinish(own);
}

/* A name unique to this run and test. */
static void
unique(char *out, size_t n, const char *prefix)
{
	static unsigned seq;

	snprintf(out, n, "%s_%ld_%d_%u", prefix, (long)time(NULL),
	    (int)getpid(), seq++);
}

/* --------------------------------------------------------------- core */

START_TEST(test_resolve_sets_context)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_tesla_rep", "org_tesla_oslo"),
	    NV_OK);
	ck_assert_str_eq(pr.p.dealership_id, TESLA);
	ck_assert_int_eq(pr.p.role, NV_ROLE_SALES_REP);
	ck_assert_str_eq(pr.p.clerk_user_id, "user_tesla_rep");
	ck_assert_str_eq(pr.p.clerk_org_id, "org_tesla_oslo");
	ck_assert_str_eq(pr.p.user_id, "a1000000-0000-4000-8000-000000000002");
	/* The next statement of the same transaction sees Tesla's leads only. */
	ck_assert_int_gt(pr.leads, 0);
	ck_assert_int_eq(pr.foreign, 0);
	ck_assert_int_eq(pr.leads, owner_leads(TESLA));
	/* The audit trigger's settings are set too. */
	ck_assert_str_eq(pr.ctx_user, pr.p.user_id);
	ck_assert_str_eq(pr.actor, "user:user_tesla_rep");
}
END_TEST

START_TEST(test_roles)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_tesla_manager", "org_tesla_oslo"),
	    NV_OK);
	ck_assert_int_eq(pr.p.role, NV_ROLE_MANAGER);
	ck_assert_int_eq(resolve(&pr, "user_vw_admin", "org_vw_bergen"), NV_OK);
	ck_assert_int_eq(pr.p.role, NV_ROLE_ADMIN);
	ck_assert_str_eq(pr.p.dealership_id, VW);
	ck_assert_int_eq(resolve(&pr, "user_vw_rep", "org_vw_bergen"), NV_OK);
	ck_assert_int_eq(pr.p.role, NV_ROLE_SALES_REP);
	ck_assert_int_eq(pr.foreign, 0);
	ck_assert_int_eq(pr.leads, owner_leads(VW));
	ck_assert_str_eq(nv_auth_role_str(NV_ROLE_SALES_REP), "sales_rep");
}
END_TEST

static enum nv_err
count_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	*(long *)arg = probe_count(a, d, "SELECT count(*) FROM leads");
	return NV_OK;
}

START_TEST(test_context_ends_with_transaction)
{
	struct probe pr;
	long n = -1;

	ck_assert_int_eq(resolve(&pr, "user_tesla_rep", "org_tesla_oslo"),
	    NV_OK);
	ck_assert_int_gt(pr.leads, 0);
	/* The next transaction on the same connection starts with nothing. */
	nv_arena_reset(arena);
	ck_assert_int_eq(nv_db_tx(arena, &diag, NULL, count_work, &n), NV_OK);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_dealer_group_user)
{
	char org1[96], org2[96], user[96], id1[64], id2[64];
	struct probe pr;
	PGconn *own;

	/* One person, a row in each dealership; the token's org picks. */
	unique(org1, sizeof(org1), "org_group_a");
	unique(org2, sizeof(org2), "org_group_b");
	unique(user, sizeof(user), "user_group");
	make_dealer(org1, user, "admin", 1, 1, id1);
	make_dealer(org2, "user_other", "manager", 1, 1, id2);
	own = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	PQclear(nv_test_exec(own, "BEGIN", NULL));
	PQclear(nv_test_exec(own, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", id2, NULL));
	PQclear(nv_test_exec(own, "INSERT INTO users (dealership_id,"
	    " clerk_user_id, role) VALUES ($1, $2, 'sales_rep')", id2, user,
	    NULL));
	PQclear(nv_test_exec(own, "COMMIT", NULL));
	PQfinish(own);

	ck_assert_int_eq(resolve(&pr, user, org1), NV_OK);
	ck_assert_str_eq(pr.p.dealership_id, id1);
	ck_assert_int_eq(pr.p.role, NV_ROLE_ADMIN);
	ck_assert_int_eq(resolve(&pr, user, org2), NV_OK);
	ck_assert_str_eq(pr.p.dealership_id, id2);
	ck_assert_int_eq(pr.p.role, NV_ROLE_SALES_REP);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(test_user_of_other_dealership)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_vw_rep", "org_tesla_oslo"),
	    NV_ERR_FORBIDDEN);
	ck_assert_str_eq(diag.msg, "user does not belong to this dealership");
	/* No context was set: the transaction saw no lead at all. */
	ck_assert_int_eq(pr.leads, 0);
	ck_assert_str_eq(pr.ctx_user, "");
	ck_assert_ptr_null(pr.p.dealership_id);
	ck_assert_int_eq(resolve(&pr, "user_tesla_manager", "org_vw_bergen"),
	    NV_ERR_FORBIDDEN);
	ck_assert_int_eq(pr.leads, 0);
}
END_TEST

START_TEST(test_unknown_user)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_nobody", "org_tesla_oslo"),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_str_eq(diag.msg, "unknown user");
	ck_assert_int_eq(pr.leads, 0);
}
END_TEST

START_TEST(test_unknown_org)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_tesla_rep", "org_nobody"),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_str_eq(diag.msg, "unknown organisation");
	ck_assert_int_eq(pr.leads, 0);
}
END_TEST

START_TEST(test_no_org)
{
	struct probe pr;

	ck_assert_int_eq(resolve(&pr, "user_tesla_rep", NULL),
	    NV_ERR_FORBIDDEN);
	ck_assert_str_eq(diag.msg, "the token has no active organisation");
	ck_assert_int_eq(pr.leads, 0);
}
END_TEST

START_TEST(test_inactive_user)
{
	char org[96], user[96], id[64];
	struct probe pr;

	unique(org, sizeof(org), "org_inactive_user");
	unique(user, sizeof(user), "user_inactive");
	make_dealer(org, user, "manager", 1, 0, id);
	ck_assert_int_eq(resolve(&pr, user, org), NV_ERR_FORBIDDEN);
	ck_assert_str_eq(diag.msg, "the user is deactivated");
	ck_assert_str_eq(pr.ctx_user, "");
}
END_TEST

START_TEST(test_inactive_dealership)
{
	char org[96], user[96], id[64];
	struct probe pr;

	unique(org, sizeof(org), "org_inactive_dealer");
	unique(user, sizeof(user), "user_of_inactive");
	make_dealer(org, user, "admin", 0, 1, id);
	ck_assert_int_eq(resolve(&pr, user, org), NV_ERR_FORBIDDEN);
	ck_assert_str_eq(diag.msg, "the dealership is deactivated");
	ck_assert_str_eq(pr.ctx_user, "");
}
END_TEST

START_TEST(test_functions_are_locked_down)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	char st[6];

	/* The app cannot list another tenant's memberships... */
	nv_test_exec_err(c, st, "SELECT * FROM nv_user_orgs('user_vw_rep')",
	    NULL);
	ck_assert_str_eq(st, "42501");
	/* ...nor read users across dealerships itself. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM users", NULL),
	    0);
	PQfinish(c);
	/* The owner may call nv_user_orgs but not nv_auth_context. */
	c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM "
	    "nv_user_orgs('user_vw_rep')", NULL), 1);
	nv_test_exec_err(c, st, "SELECT * FROM nv_auth_context('org_vw_bergen',"
	    " 'user_vw_rep')", NULL);
	ck_assert_str_eq(st, "42501");
	PQfinish(c);
}
END_TEST

/* ---------------------------------------------------------- the tool */

static char keydir[] = "/tmp/nv_check_auth_db_XXXXXX";
static char priv_path[128], pub_path[128];

static void
write_pem(const char *path, EVP_PKEY *k, int private)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(private ? PEM_write_PrivateKey(f, k, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

/*
 * The key pair lives in a directory made and removed by the unchecked
 * fixture (in the parent), so a failing test cannot leave it behind.
 */
static void
keys_setup(void)
{
	EVP_PKEY *k;

	memcpy(keydir + strlen(keydir) - 6, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(keydir));
	snprintf(priv_path, sizeof(priv_path), "%s/priv.pem", keydir);
	snprintf(pub_path, sizeof(pub_path), "%s/pub.pem", keydir);
	k = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(k);
	write_pem(priv_path, k, 1);
	write_pem(pub_path, k, 0);
	EVP_PKEY_free(k);
}

static void
keys_teardown(void)
{
	nv_test_run(NULL, "rm -rf %s", keydir);
}

static void
tool_setup(void)
{
	setup();
	/* The API's configuration: our public key, the default issuer. */
	setenv("NORVALT_CLERK_JWT_KEY_FILE", pub_path, 1);
	setenv("NORVALT_CLERK_ISSUER", "https://clerk.norvalt.localhost", 1);
	unsetenv("NORVALT_CLERK_AUTHORIZED_PARTIES");
	unsetenv("NORVALT_CLERK_JWKS_URL");
	ck_assert_int_eq(nv_auth_init(&diag), NV_OK);
}

/* Run norvalt-token with args; *out is its stdout only; returns status. */
static int
token_tool(char **out, const char *args)
{
	return nv_test_run(out, "(\"%s/bin/norvalt-token\" %s 2>/dev/null)",
	    nv_test_env("NV_BUILD_ROOT"), args);
}

/* The last line of text, in place. */
static char *
last_line(char *text)
{
	size_t n = strlen(text);
	char *p;

	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	p = strrchr(text, '\n');
	return p != NULL ? p + 1 : text;
}

START_TEST(test_token_tool_default_org)
{
	struct nv_claims cl;
	struct probe pr;
	char args[512], *out;
	enum nv_err rc;

	snprintf(args, sizeof(args), "--user user_tesla_rep --key %s",
	    priv_path);
	ck_assert_int_eq(token_tool(&out, args), 0);
	rc = nv_auth_verify(arena, &diag, last_line(out), (long)time(NULL), &cl);
	ck_assert_msg(rc == NV_OK, "the tool's token does not verify: %s",
	    diag.msg);
	ck_assert_str_eq(cl.sub, "user_tesla_rep");
	ck_assert_str_eq(cl.org_id, "org_tesla_oslo");
	ck_assert_str_eq(cl.org_role, "member");
	ck_assert_str_eq(cl.iss, "https://clerk.norvalt.localhost");
	ck_assert_int_eq(cl.version, 2);
	ck_assert_ptr_nonnull(cl.sid);
	ck_assert_ptr_nonnull(cl.kid);
	ck_assert_int_eq(strlen(cl.kid), 16);
	ck_assert_int_ge(cl.exp, (long)time(NULL) + 3500);
	/* And all the way to a tenant context, as the API would go. */
	memset(&pr, 0, sizeof(pr));
	pr.c = cl;
	nv_diag_reset(&diag);
	ck_assert_int_eq(nv_db_tx(arena, &diag, NULL, probe_work, &pr), NV_OK);
	ck_assert_int_eq(pr.rc, NV_OK);
	ck_assert_str_eq(pr.p.dealership_id, TESLA);
	ck_assert_int_eq(pr.p.role, NV_ROLE_SALES_REP);
	free(out);

	/* An admin's token says so, like Clerk's o.rol. */
	snprintf(args, sizeof(args), "--user user_vw_admin --key %s",
	    priv_path);
	ck_assert_int_eq(token_tool(&out, args), 0);
	nv_arena_reset(arena);
	ck_assert_int_eq(nv_auth_verify(arena, &diag, last_line(out),
	    (long)time(NULL), &cl), NV_OK);
	ck_assert_str_eq(cl.org_id, "org_vw_bergen");
	ck_assert_str_eq(cl.org_role, "admin");
	free(out);
}
END_TEST

START_TEST(test_token_tool_expired)
{
	struct nv_claims cl;
	char args[512], *out;

	snprintf(args, sizeof(args), "--user user_tesla_rep --key %s --ttl -60",
	    priv_path);
	ck_assert_int_eq(token_tool(&out, args), 0);
	ck_assert_int_eq(nv_auth_verify(arena, &diag, last_line(out),
	    (long)time(NULL), &cl), NV_ERR_UNAUTHORIZED);
	ck_assert_str_eq(diag.msg, "token expired");
	free(out);
}
END_TEST

START_TEST(test_token_tool_explicit_org)
{
	struct nv_claims cl;
	struct probe pr;
	char args[512], *out;

	/* A mismatched org is minted as asked; the API then says 403. */
	snprintf(args, sizeof(args), "--user user_vw_rep --org org_tesla_oslo "
	    "--key %s --ttl 120 --azp http://127.0.0.1:8080", priv_path);
	ck_assert_int_eq(token_tool(&out, args), 0);
	ck_assert_int_eq(nv_auth_verify(arena, &diag, last_line(out),
	    (long)time(NULL), &cl), NV_OK);
	ck_assert_str_eq(cl.org_id, "org_tesla_oslo");
	ck_assert_str_eq(cl.azp, "http://127.0.0.1:8080");
	ck_assert_int_le(cl.exp, (long)time(NULL) + 120);
	memset(&pr, 0, sizeof(pr));
	pr.c = cl;
	ck_assert_int_eq(nv_db_tx(arena, &diag, NULL, probe_work, &pr), NV_OK);
	ck_assert_int_eq(pr.rc, NV_ERR_FORBIDDEN);
	free(out);
}
END_TEST

START_TEST(test_token_tool_wrong_key)
{
	struct nv_claims cl;
	char args[512], *out;
	EVP_PKEY *k = EVP_RSA_gen(2048);
	char other[160];

	/* Signed by a key the API does not trust: refused. */
	snprintf(other, sizeof(other), "%s/other.pem", keydir);
	write_pem(other, k, 1);
	EVP_PKEY_free(k);
	snprintf(args, sizeof(args), "--user user_tesla_rep --key %s", other);
	ck_assert_int_eq(token_tool(&out, args), 0);
	ck_assert_int_eq(nv_auth_verify(arena, &diag, last_line(out),
	    (long)time(NULL), &cl), NV_ERR_UNAUTHORIZED);
	ck_assert_str_eq(diag.msg, "token signature is invalid");
	free(out);
}
END_TEST

START_TEST(test_token_tool_errors)
{
	char args[512], org1[96], org2[96], user[96], id[64], *out;

	/* Usage errors exit 2. */
	ck_assert_int_eq(nv_test_run(&out, "\"%s/bin/norvalt-token\"",
	    nv_test_env("NV_BUILD_ROOT")), 2);
	ck_assert_ptr_nonnull(strstr(out, "--user"));
	free(out);
	ck_assert_int_eq(nv_test_run(&out, "\"%s/bin/norvalt-token\" --user x "
	    "--ttl soon", nv_test_env("NV_BUILD_ROOT")), 2);
	free(out);
	/* A user in no dealership. */
	snprintf(args, sizeof(args), "--user user_nobody --key %s", priv_path);
	ck_assert_int_eq(nv_test_run(&out, "\"%s/bin/norvalt-token\" %s",
	    nv_test_env("NV_BUILD_ROOT"), args), 1);
	ck_assert_msg(strstr(out, "user user_nobody belongs to no dealership")
	    != NULL, "%s", out);
	free(out);
	/* A user in two: both are listed and ORG= is asked for. */
	unique(org1, sizeof(org1), "org_tool_a");
	unique(org2, sizeof(org2), "org_tool_b");
	unique(user, sizeof(user), "user_tool");
	make_dealer(org1, user, "admin", 1, 1, id);
	make_dealer(org2, "user_tool_other", "admin", 1, 1, id);
	{
		PGconn *own = nv_test_connect(nv_test_env(
		    "NORVALT_DATABASE_OWNER_URL"));

		PQclear(nv_test_exec(own, "BEGIN", NULL));
		PQclear(nv_test_exec(own, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", id, NULL));
		PQclear(nv_test_exec(own, "INSERT INTO users (dealership_id,"
		    " clerk_user_id) VALUES ($1, $2)", id, user, NULL));
		PQclear(nv_test_exec(own, "COMMIT", NULL));
		PQfinish(own);
	}
	snprintf(args, sizeof(args), "--user %s --key %s", user, priv_path);
	ck_assert_int_eq(nv_test_run(&out, "\"%s/bin/norvalt-token\" %s",
	    nv_test_env("NV_BUILD_ROOT"), args), 1);
	ck_assert_ptr_nonnull(strstr(out, org1));
	ck_assert_ptr_nonnull(strstr(out, org2));
	ck_assert_ptr_nonnull(strstr(out, "ORG="));
	free(out);
	/* A missing key file names it. */
	ck_assert_int_eq(nv_test_run(&out, "\"%s/bin/norvalt-token\" --user "
	    "user_tesla_rep --key /nonexistent/key.pem",
	    nv_test_env("NV_BUILD_ROOT")), 1);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent/key.pem"));
	free(out);
}
END_TEST

static Suite *
auth_db_suite(void)
{
	Suite *s = suite_create("auth_db");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_resolve_sets_context);
	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_context_ends_with_transaction);
	tcase_add_test(tc, test_dealer_group_user);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_user_of_other_dealership);
	tcase_add_test(tc, test_unknown_user);
	tcase_add_test(tc, test_unknown_org);
	tcase_add_test(tc, test_no_org);
	tcase_add_test(tc, test_inactive_user);
	tcase_add_test(tc, test_inactive_dealership);
	tcase_add_test(tc, test_functions_are_locked_down);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, tool_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_token_tool_default_org);
	tcase_add_test(tc, test_token_tool_expired);
	tcase_add_test(tc, test_token_tool_explicit_org);
	tcase_add_test(tc, test_token_tool_wrong_key);
	tcase_add_test(tc, test_token_tool_errors);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(auth_db_suite)
