/*
 * check_seed.c - the demo seed (SPEC section 4) and its idempotence.
 *
 * The test stack was seeded once at start; running seed/demo.sql again
 * must leave exactly the same rows.
 */
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"

#define TESLA	"11111111-1111-4111-8111-111111111111"
#define VW	"22222222-2222-4222-8222-222222222222"

/* A fingerprint of every seeded row of one dealership, read as the owner. */
static char *
fingerprint(PGconn *c, const char *dealer)
{
	PGresult *r;
	char *fp;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config("
	    "'app.current_dealership_id', $1, true)", dealer, NULL));
	r = nv_test_exec(c,
	    "SELECT (SELECT count(*) FROM leads) || '/' ||"
	    " (SELECT count(*) FROM conversations) || '/' ||"
	    " (SELECT count(*) FROM users) || '/' ||"
	    " (SELECT count(*) FROM vehicles) || '/' ||"
	    " (SELECT md5(coalesce(string_agg(l::text, '|' ORDER BY l.id), ''))"
	    "   FROM (SELECT id, first_name, last_name, email, phone, source,"
	    "   status, assigned_to, vehicle_id, first_response_seconds,"
	    "   created_at, updated_at FROM leads) l) || '/' ||"
	    " (SELECT md5(coalesce(string_agg(m::text, '|' ORDER BY m.id), ''))"
	    "   FROM (SELECT id, lead_id, body, created_at FROM conversations)"
	    "   m)", NULL);
	fp = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	return fp;
}

static int
seed(char **out)
{
	return nv_test_run(out, "psql -X -q -v ON_ERROR_STOP=1 "
	    "--single-transaction -f %s/seed/demo.sql '%s'",
	    nv_test_env("NV_ROOT"), nv_test_env("NORVALT_DATABASE_OWNER_URL"));
}

START_TEST(demo_data_is_there)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	const char *dealers[] = { TESLA, VW };
	size_t i;

	for (i = 0; i < 2; i++) {
		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", dealers[i], NULL));
		ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM leads "
		    "WHERE created_at < '2026-11-02'", NULL), 10);
		ck_assert_int_eq(nv_test_count(c, "SELECT count(DISTINCT status)"
		    " FROM leads", NULL), 5);
		ck_assert_int_ge(nv_test_count(c, "SELECT count(*) FROM "
		    "conversations", NULL), 10);
		ck_assert_int_ge(nv_test_count(c, "SELECT count(*) FROM "
		    "vehicles WHERE vin NOT LIKE 'NVTEST%'", NULL), 3);
		ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM leads "
		    "WHERE email IS NULL AND phone IS NULL", NULL), 0);
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	/* Sources and users: every_source_and_status_is_seeded and
	 * users_and_orgs_match_the_spec. */
	PQfinish(c);
}
END_TEST

START_TEST(users_and_orgs_match_the_spec)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	static const struct {
		const char *dealer, *org, *name, *user, *role;
	} want[] = {
		{ TESLA, "org_tesla_oslo", "Tesla Oslo", "user_tesla_manager",
		    "manager" },
		{ TESLA, "org_tesla_oslo", "Tesla Oslo", "user_tesla_rep",
		    "sales_rep" },
		{ VW, "org_vw_bergen", "VW Bergen", "user_vw_admin", "admin" },
		{ VW, "org_vw_bergen", "VW Bergen", "user_vw_rep", "sales_rep" },
	};
	PGresult *r;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)",
		    want[i].dealer, NULL));
		r = nv_test_exec(c, "SELECT d.name, d.clerk_org_id, u.role, "
		    "u.active FROM users u JOIN dealerships d ON d.id = "
		    "u.dealership_id WHERE u.clerk_user_id = $1",
		    want[i].user, NULL);
		ck_assert_int_eq(PQntuples(r), 1);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), want[i].name);
		ck_assert_str_eq(PQgetvalue(r, 0, 1), want[i].org);
		ck_assert_str_eq(PQgetvalue(r, 0, 2), want[i].role);
		ck_assert_str_eq(PQgetvalue(r, 0, 3), "t");
		PQclear(r);
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	PQfinish(c);
}
END_TEST

START_TEST(every_source_and_status_is_seeded)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	long sources = 0, statuses = 0;
	const char *dealers[] = { TESLA, VW };
	PGresult *r;
	size_t i;

	for (i = 0; i < 2; i++) {
		PQclear(nv_test_exec(c, "BEGIN", NULL));
		PQclear(nv_test_exec(c, "SELECT set_config("
		    "'app.current_dealership_id', $1, true)", dealers[i], NULL));
		r = nv_test_exec(c, "SELECT count(DISTINCT source), "
		    "count(DISTINCT status) FROM leads WHERE created_at < "
		    "'2026-11-02'", NULL);
		sources += strtol(PQgetvalue(r, 0, 0), NULL, 10);
		statuses += strtol(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		PQclear(nv_test_exec(c, "COMMIT", NULL));
	}
	ck_assert_int_ge(sources, 8);
	ck_assert_int_eq(statuses, 10);
	PQfinish(c);
}
END_TEST

START_TEST(seed_twice_gives_the_same_rows)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_DATABASE_OWNER_URL"));
	char *tesla0, *vw0, *tesla1, *vw1, *out;
	int st;

	st = seed(&out);
	ck_assert_msg(st == 0, "seed failed: %s", out);
	free(out);
	tesla0 = fingerprint(c, TESLA);
	vw0 = fingerprint(c, VW);
	st = seed(&out);
	ck_assert_msg(st == 0, "second seed failed: %s", out);
	free(out);
	tesla1 = fingerprint(c, TESLA);
	vw1 = fingerprint(c, VW);
	ck_assert_str_eq(tesla0, tesla1);
	ck_assert_str_eq(vw0, vw1);
	free(tesla0);
	free(vw0);
	free(tesla1);
	free(vw1);
	PQfinish(c);
}
END_TEST

static Suite *
seed_suite(void)
{
	Suite *s = suite_create("seed");
	TCase *core = tcase_create("core"), *lim = tcase_create("limits");

	tcase_add_test(core, demo_data_is_there);
	tcase_add_test(core, users_and_orgs_match_the_spec);
	tcase_add_test(core, every_source_and_status_is_seeded);
	tcase_add_test(lim, seed_twice_gives_the_same_rows);
	tcase_set_timeout(lim, 60);
	suite_add_tcase(s, core);
	suite_add_tcase(s, lim);
	return s;
}

NV_TEST_MAIN(seed_suite)
