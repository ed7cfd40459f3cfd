/*
 * check_migrate.c - bin/norvalt-migrate against an empty database.
 *
 * Uses the throwaway cluster's norvalt_migtest database
 * (NORVALT_MIGRATE_TEST_URL, the owner role) and a copy of
 * sql/migrations in a temporary directory, so a test can change a file.
 * The steps build on each other, so they run as one ordered scenario.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testutil.h"

static char dir[64];

static int
migrate(char **out, const char *args)
{
	return nv_test_run(out, "NORVALT_DATABASE_OWNER_URL='%s' "
	    "DATABASE_URL= %s/bin/norvalt-migrate --dir %s %s",
	    nv_test_env("NORVALT_MIGRATE_TEST_URL"),
	    nv_test_env("NV_BUILD_ROOT"), dir, args);
}

static long
tables(void)
{
	PGconn *c = nv_test_connect(nv_test_env("NORVALT_MIGRATE_TEST_URL"));
	long n;

	n = nv_test_count(c, "SELECT count(*) FROM pg_tables WHERE schemaname"
	    " = 'public' AND tablename <> 'schema_migrations'", NULL);
	PQfinish(c);
	return n;
}

/* "down N" for every migration file in the copy. */
static char *
down_all(void)
{
	static char args[32];
	char *out;

	ck_assert_int_eq(nv_test_run(&out, "ls %s | grep -v '\\.down\\.sql$' "
	    "| grep -c '\\.sql$'", dir), 0);
	snprintf(args, sizeof(args), "down %ld", strtol(out, NULL, 10));
	free(out);
	return args;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nv-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nv_test_run(NULL, "cp %s/sql/migrations/*.sql %s/",
	    nv_test_env("NV_ROOT"), dir), 0);
}

static void
teardown(void)
{
	nv_test_run(NULL, "rm -rf %s", dir);
}

START_TEST(scenario)
{
	char *out;
	int st;

	/* Start from empty whatever an earlier run left. */
	st = migrate(&out, "status");
	free(out);
	if (st == 0 && tables() > 0) {
		st = migrate(&out, down_all());
		free(out);
	}
	ck_assert_int_eq(tables(), 0);

	/* status on an empty database: everything pending, nothing created. */
	st = migrate(&out, "status");
	ck_assert_msg(st == 0, "status failed: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "pending"));
	ck_assert_ptr_null(strstr(out, "applied  2"));
	free(out);

	/* up from empty. */
	st = migrate(&out, "up");
	ck_assert_msg(st == 0, "up failed: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "001_initial_schema"));
	ck_assert_ptr_nonnull(strstr(out, "002_rls_policies"));
	free(out);
	ck_assert_int_ge(tables(), 7);

	/* up again: nothing to do. */
	st = migrate(&out, "up");
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(strstr(out, "up to date"));
	free(out);

	st = migrate(&out, "status");
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(strstr(out, "applied"));
	ck_assert_ptr_null(strstr(out, "pending  -"));
	free(out);

	/* An applied file that changed is refused, by name. */
	ck_assert_int_eq(nv_test_run(NULL, "printf '\\n-- edited\\n' >> "
	    "%s/001_initial_schema.sql", dir), 0);
	st = migrate(&out, "up");
	ck_assert_int_eq(st, 1);
	ck_assert_msg(strstr(out, "001_initial_schema.sql has changed") != NULL,
	    "refusal does not name the file: %s", out);
	free(out);
	st = migrate(&out, "status");
	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(out, "changed"));
	free(out);
	ck_assert_int_eq(nv_test_run(NULL, "cp %s/sql/migrations/"
	    "001_initial_schema.sql %s/", nv_test_env("NV_ROOT"), dir), 0);

	/* down then up. */
	st = migrate(&out, "down");
	ck_assert_msg(st == 0, "down failed: %s", out);
	free(out);
	st = migrate(&out, "status");
	ck_assert_ptr_nonnull(strstr(out, "pending"));
	free(out);
	st = migrate(&out, "up");
	ck_assert_msg(st == 0, "up after down failed: %s", out);
	free(out);

	/* All the way down leaves an empty schema, and up works again. */
	st = migrate(&out, down_all());
	ck_assert_msg(st == 0, "down all failed: %s", out);
	free(out);
	ck_assert_int_eq(tables(), 0);
	st = migrate(&out, "up");
	ck_assert_msg(st == 0, "up after full down failed: %s", out);
	free(out);
	ck_assert_int_ge(tables(), 7);
}
END_TEST

START_TEST(usage_and_config_errors)
{
	char *out;
	int st;

	st = migrate(&out, "sideways");
	ck_assert_int_eq(st, 2);
	free(out);
	st = nv_test_run(&out, "env -u NORVALT_DATABASE_OWNER_URL -u "
	    "DATABASE_URL %s/bin/norvalt-migrate --dir %s status",
	    nv_test_env("NV_BUILD_ROOT"), dir);
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(out, "NORVALT_DATABASE_OWNER_URL"));
	free(out);
	st = migrate(&out, "up --dir /nonexistent/dir");
	ck_assert_int_ne(st, 0);
	free(out);
}
END_TEST

START_TEST(concurrent_runs_do_not_interleave)
{
	char *out;
	int st;

	/* Two runs at once on an up-to-date database, then status is clean. */
	st = nv_test_run(&out, "NORVALT_DATABASE_OWNER_URL='%s' sh -c '"
	    "%s/bin/norvalt-migrate --dir %s up & "
	    "%s/bin/norvalt-migrate --dir %s up & wait'",
	    nv_test_env("NORVALT_MIGRATE_TEST_URL"),
	    nv_test_env("NV_BUILD_ROOT"), dir, nv_test_env("NV_BUILD_ROOT"),
	    dir);
	ck_assert_int_eq(st, 0);
	free(out);
	st = migrate(&out, "status");
	ck_assert_msg(st == 0, "status after concurrent up: %s", out);
	free(out);
}
END_TEST

static Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *core = tcase_create("core"), *err = tcase_create("errors");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(err, setup, teardown);
	tcase_add_test(core, scenario);
	tcase_add_test(core, concurrent_runs_do_not_interleave);
	tcase_add_test(err, usage_and_config_errors);
	tcase_set_timeout(core, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(migrate_suite)
