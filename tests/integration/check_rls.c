/*
 * check_rls.c - row-level security, checked directly in the database.
 *
 * Connects as the application role (DATABASE_URL) and as the owner role
 * (NORVALT_DATABASE_OWNER_URL) of the throwaway stack, which holds the demo
 * seed: Tesla Oslo and VW Bergen.
 */
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"

#define TESLA	"11111111-1111-4111-8111-111111111111"
#define VW	"22222222-2222-4222-8222-222222222222"

static const char *const tenant_tables[] = {
	"users", "vehicles", "leads", "conversations", "jobs", "audit_log",
	"idempotency_keys", NULL
};

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

static PGconn *
owner(void)
{
	return nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
}

static long
count_in(PGconn *c, const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return nv_test_count(c, sql, NULL);
}

START_TEST(no_context_sees_nothing)
{
	PGconn *c = app();
	size_t i;

	for (i = 0; tenant_tables[i] != NULL; i++)
		ck_assert_msg(count_in(c, tenant_tables[i]) == 0,
		    "%s visible without a tenant context", tenant_tables[i]);
	ck_assert_int_eq(count_in(c, "dealerships"), 0);
	PQfinish(c);
}
END_TEST

START_TEST(context_a_sees_only_a)
{
	PGconn *c = app();
	PGresult *r;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", TESLA, NULL));
	ck_assert_int_gt(count_in(c, "leads"), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM leads WHERE "
	    "dealership_id <> $1", TESLA, NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM conversations"
	    " WHERE dealership_id <> $1", TESLA, NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM users WHERE "
	    "dealership_id <> $1", TESLA, NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM vehicles WHERE"
	    " dealership_id <> $1", TESLA, NULL), 0);
	r = nv_test_exec(c, "SELECT id::text FROM dealerships", NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), TESLA);
	PQclear(r);
	/* Asking for B's rows by id finds nothing. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM leads WHERE "
	    "dealership_id = $1", VW, NULL), 0);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}
END_TEST

START_TEST(context_does_not_survive_commit)
{
	PGconn *c = app();

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", VW, NULL));
	ck_assert_int_gt(count_in(c, "leads"), 0);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	/* Same connection, next "request": nothing. */
	ck_assert_int_eq(count_in(c, "leads"), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM leads WHERE "
	    "get_current_dealership_context() IS NULL", NULL), 0);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", VW, NULL));
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	ck_assert_int_eq(count_in(c, "leads"), 0);
	PQfinish(c);
}
END_TEST

START_TEST(context_helpers_round_trip)
{
	PGconn *c = app();
	PGresult *r;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	r = nv_test_exec(c, "SELECT get_current_dealership_context()::text",
	    NULL);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), TESLA);
	PQclear(r);
	PQclear(nv_test_exec(c, "SELECT clear_dealership_context()", NULL));
	r = nv_test_exec(c, "SELECT get_current_dealership_context()", NULL);
	ck_assert(PQgetisnull(r, 0, 0));
	PQclear(r);
	ck_assert_int_eq(count_in(c, "leads"), 0);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}
END_TEST

START_TEST(with_check_refuses_other_dealership)
{
	PGconn *c = app();
	char st[6];

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, email, "
	    "source) VALUES ($1, 'x@example.com', 'manual')", VW, NULL);
	ck_assert_str_eq(st, "42501");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));

	/* Nor can an UPDATE move a row to another dealership. */
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	nv_test_exec_err(c, st, "UPDATE vehicles SET dealership_id = $1",
	    VW, NULL);
	ck_assert_str_eq(st, "42501");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));

	/* And without any context nothing can be written at all. */
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, email, "
	    "source) VALUES ($1, 'x@example.com', 'manual')", VW, NULL);
	ck_assert_str_eq(st, "42501");
	PQfinish(c);
}
END_TEST

START_TEST(owner_is_constrained_too)
{
	PGconn *c = owner();
	char st[6];
	size_t i;

	for (i = 0; tenant_tables[i] != NULL; i++)
		ck_assert_msg(count_in(c, tenant_tables[i]) == 0,
		    "owner sees %s without context (FORCE missing)",
		    tenant_tables[i]);
	nv_test_exec_err(c, st, "INSERT INTO vehicles (dealership_id, make, "
	    "model) VALUES ($1, 'Tesla', 'Model 3')", TESLA, NULL);
	ck_assert_str_eq(st, "42501");
	PQfinish(c);
}
END_TEST

START_TEST(catalog_every_tenant_table_forced)
{
	PGconn *c = app();
	PGresult *r;
	int i, n;

	r = nv_test_exec(c,
	    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
	    "  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
	    " FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace"
	    " JOIN pg_attribute a ON a.attrelid = c.oid"
	    " WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p')"
	    "  AND a.attname = 'dealership_id' AND NOT a.attisdropped", NULL);
	n = PQntuples(r);
	ck_assert_int_ge(n, 6);
	for (i = 0; i < n; i++) {
		ck_assert_msg(strcmp(PQgetvalue(r, i, 1), "t") == 0,
		    "RLS not enabled on %s", PQgetvalue(r, i, 0));
		ck_assert_msg(strcmp(PQgetvalue(r, i, 2), "t") == 0,
		    "RLS not forced on %s", PQgetvalue(r, i, 0));
		ck_assert_msg(strcmp(PQgetvalue(r, i, 3), "0") != 0,
		    "no policy on %s", PQgetvalue(r, i, 0));
	}
	PQclear(r);
	/* Every policy on a tenant table reads the transaction-local setting. */
	ck_assert_int_eq(nv_test_count(c,
	    "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'"
	    " AND policyname = 'tenant_isolation'"
	    " AND (qual NOT LIKE '%app.current_dealership_id%'"
	    "  OR with_check NOT LIKE '%app.current_dealership_id%')", NULL), 0);
	/* Views, if any, must not run as their owner. */
	ck_assert_int_eq(nv_test_count(c,
	    "SELECT count(*) FROM pg_class c JOIN pg_namespace ns"
	    " ON ns.oid = c.relnamespace WHERE ns.nspname = 'public'"
	    " AND c.relkind = 'v' AND NOT coalesce(c.reloptions::text"
	    " LIKE '%security_invoker=true%', false)", NULL), 0);
	PQfinish(c);
}
END_TEST

START_TEST(catalog_app_role_is_powerless)
{
	PGconn *c = app();
	PGresult *r;

	r = nv_test_exec(c, "SELECT rolsuper, rolbypassrls, rolcreaterole,"
	    " rolcreatedb FROM pg_roles WHERE rolname = current_user", NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "f");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "f");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "f");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "f");
	PQclear(r);
	/* It owns nothing: no table, function, schema, type or database. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_class "
	    "WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = "
	    "current_user)", NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_proc "
	    "WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = "
	    "current_user)", NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_namespace "
	    "WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = "
	    "current_user)", NULL), 0);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_database "
	    "WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = "
	    "current_user)", NULL), 0);
	/* No membership that could lend it another role's powers. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_auth_members"
	    " WHERE member = (SELECT oid FROM pg_roles WHERE rolname = "
	    "current_user)", NULL), 0);
	PQfinish(c);
}
END_TEST

START_TEST(catalog_definer_functions_are_pinned)
{
	PGconn *c = app();
	PGresult *r;
	int i;

	r = nv_test_exec(c, "SELECT p.proname, coalesce(array_to_string("
	    "p.proconfig, ','), ''), pg_get_userbyid(p.proowner)"
	    " FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace"
	    " WHERE ns.nspname = 'public' AND p.prosecdef", NULL);
	ck_assert_int_ge(PQntuples(r), 2);
	for (i = 0; i < PQntuples(r); i++) {
		ck_assert_msg(strstr(PQgetvalue(r, i, 1), "search_path=") != NULL,
		    "SECURITY DEFINER %s has no fixed search_path",
		    PQgetvalue(r, i, 0));
		ck_assert_msg(strcmp(PQgetvalue(r, i, 2), "norvalt_definer") == 0,
		    "SECURITY DEFINER %s is owned by %s", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 2));
	}
	PQclear(r);
	/* The definer role itself cannot log in or bypass RLS. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_roles WHERE"
	    " rolname = 'norvalt_definer' AND NOT rolcanlogin AND NOT rolsuper"
	    " AND NOT rolbypassrls", NULL), 1);
	/* No PUBLIC execute on any definer function. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM pg_proc p"
	    " JOIN pg_namespace ns ON ns.oid = p.pronamespace"
	    " WHERE ns.nspname = 'public' AND p.prosecdef"
	    " AND has_function_privilege('public', p.oid, 'EXECUTE')", NULL), 0);
	PQfinish(c);
}
END_TEST

START_TEST(app_role_grants_are_narrow)
{
	PGconn *c = app();
	char st[6];

	/* No direct INSERT/DELETE on dealerships, nothing on migrations. */
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	nv_test_exec_err(c, st, "INSERT INTO dealerships (id, name) VALUES "
	    "($1, 'x')", TESLA, NULL);
	ck_assert_str_eq(st, "42501");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	nv_test_exec_err(c, st, "DELETE FROM dealerships", NULL);
	ck_assert_str_eq(st, "42501");
	nv_test_exec_err(c, st, "SELECT * FROM schema_migrations", NULL);
	ck_assert_str_eq(st, "42501");
	nv_test_exec_err(c, st, "CREATE TABLE evil (x int)", NULL);
	ck_assert_str_eq(st, "42501");
	nv_test_exec_err(c, st, "ALTER TABLE leads DISABLE ROW LEVEL SECURITY",
	    NULL);
	ck_assert_str_eq(st, "42501");
	nv_test_exec_err(c, st, "SET ROLE norvalt_owner", NULL);
	ck_assert_str_eq(st, "42501");
	PQfinish(c);
}
END_TEST

START_TEST(definer_lookups_work_without_context)
{
	PGconn *c = app();
	PGresult *r;

	r = nv_test_exec(c, "SELECT dealership_id::text, active FROM "
	    "nv_resolve_org('org_vw_bergen')", NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), VW);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "t");
	PQclear(r);
	r = nv_test_exec(c, "SELECT * FROM nv_resolve_org('org_nobody')", NULL);
	ck_assert_int_eq(PQntuples(r), 0);
	PQclear(r);
	r = nv_test_exec(c, "SELECT name, webhook_secret FROM "
	    "nv_dealership_public($1)", VW, NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "VW Bergen");
	ck_assert(!PQgetisnull(r, 0, 1));
	PQclear(r);
	r = nv_test_exec(c, "SELECT webhook_secret FROM "
	    "nv_dealership_public($1)", TESLA, NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert(PQgetisnull(r, 0, 0));
	PQclear(r);
	/* They did not leave a context behind. */
	ck_assert_int_eq(count_in(c, "leads"), 0);
	PQfinish(c);
}
END_TEST

/*
 * Migration 014 audits INSERTs on leads and conversations once per
 * statement: a statement inserting several rows still leaves one audit row
 * per row, with the acting user, actor and request id, and a user id that
 * names nobody of this dealership is recorded as no user.
 */
START_TEST(audit_rows_for_multi_row_inserts)
{
	PGconn *c = app();
	PGresult *r;
	char user[37];

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", TESLA,
	    NULL));
	r = nv_test_exec(c, "SELECT id::text FROM users ORDER BY id LIMIT 1",
	    NULL);
	ck_assert_int_eq(PQntuples(r), 1);
	snprintf(user, sizeof(user), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_user_id', $1,"
	    " true), set_config('app.actor', 'bulk-test', true),"
	    " set_config('app.request_id', 'req-bulk', true)", user, NULL));
	PQclear(nv_test_exec(c, "INSERT INTO leads (dealership_id, email,"
	    " source) SELECT $1, 'bulk' || g || '@example.com', 'manual'"
	    " FROM generate_series(1, 3) g", TESLA, NULL));
	PQclear(nv_test_exec(c, "INSERT INTO conversations (dealership_id,"
	    " lead_id, direction, channel, sender, body) SELECT dealership_id,"
	    " id, 'inbound', 'web', 'customer', 'hei' FROM leads WHERE email"
	    " LIKE 'bulk_@example.com'", NULL));
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM audit_log a"
	    " JOIN leads l ON l.id = a.entity_id WHERE a.entity = 'leads'"
	    " AND l.email LIKE 'bulk_@example.com' AND a.action = 'insert'"
	    " AND a.actor_user_id = $1 AND a.actor = 'bulk-test'"
	    " AND a.request_id = 'req-bulk' AND a.changed_columns = '{}'",
	    user, NULL), 3);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM audit_log a"
	    " JOIN conversations m ON m.id = a.entity_id"
	    " WHERE a.entity = 'conversations' AND m.body = 'hei'"
	    " AND a.action = 'insert' AND a.actor_user_id = $1"
	    " AND a.request_id = 'req-bulk'", user, NULL), 3);
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM audit_log"
	    " WHERE request_id = 'req-bulk'", NULL), 6);

	/* An acting user that is not one of this dealership's: no user. */
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_user_id',"
	    " gen_random_uuid()::text, true), set_config('app.request_id',"
	    " 'req-bulk-2', true)", NULL));
	PQclear(nv_test_exec(c, "INSERT INTO leads (dealership_id, phone,"
	    " source) VALUES ($1, '+4790000001', 'manual'), ($1, '+4790000002',"
	    " 'manual')", TESLA, NULL));
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM audit_log"
	    " WHERE request_id = 'req-bulk-2' AND entity = 'leads'"
	    " AND action = 'insert' AND actor_user_id IS NULL"
	    " AND actor = 'bulk-test'", NULL), 2);
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	PQfinish(c);
}
END_TEST

static Suite *
rls_suite(void)
{
	Suite *s = suite_create("rls");
	TCase *core = tcase_create("core"), *cat = tcase_create("catalog");
	TCase *err = tcase_create("errors");

	tcase_add_test(core, no_context_sees_nothing);
	tcase_add_test(core, context_a_sees_only_a);
	tcase_add_test(core, context_does_not_survive_commit);
	tcase_add_test(core, context_helpers_round_trip);
	tcase_add_test(core, definer_lookups_work_without_context);
	tcase_add_test(core, audit_rows_for_multi_row_inserts);
	tcase_add_test(err, with_check_refuses_other_dealership);
	tcase_add_test(err, owner_is_constrained_too);
	tcase_add_test(err, app_role_grants_are_narrow);
	tcase_add_test(cat, catalog_every_tenant_table_forced);
	tcase_add_test(cat, catalog_app_role_is_powerless);
	tcase_add_test(cat, catalog_definer_functions_are_pinned);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	suite_add_tcase(s, cat);
	return s;
}

NV_TEST_MAIN(rls_suite)
