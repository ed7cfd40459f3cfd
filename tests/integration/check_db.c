/*
 * check_db.c - lib/db and lib/rls against the throwaway PostgreSQL.
 *
 * Connection and transaction behaviour, SQLSTATE classification, the RLS
 * context on a reused connection, reconnecting after the server was
 * restarted underneath a live process, and the refusal of a role that
 * row-level security would not bind (SPEC section 4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testutil.h"
#include "arena.h"
#include "db.h"
#include "rls.h"

#define TESLA	"11111111-1111-4111-8111-111111111111"
#define VW	"22222222-2222-4222-8222-222222222222"

static struct nv_arena *arena;
static struct nv_diag diag;

static void
setup(void)
{
	arena = nv_arena_new();
	nv_diag_reset(&diag);
	nv_db_set_conninfo(nv_test_env("DATABASE_URL"));
}

static void
teardown(void)
{
	nv_db_close();
	nv_arena_free(arena);
}

static const struct nv_stmt count_leads = {
	"t_count_leads", "SELECT count(*) FROM leads", 0
};

static const struct nv_stmt insert_vehicle = {
	"t_insert_vehicle",
	"INSERT INTO vehicles (dealership_id, make, model, vin) VALUES"
	" (NULLIF(current_setting('app.current_dealership_id', true), '')::uuid,"
	"  'Test', $1, $2) RETURNING id::text",
	2
};

static const struct nv_stmt count_vehicles_model = {
	"t_count_vehicles_model",
	"SELECT count(*) FROM vehicles WHERE model = $1", 1
};

struct work_count {
	long	n;
};

static enum nv_err
work_count(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct work_count *w = arg;
	PGresult *res;
	enum nv_err rc;

	if ((rc = nv_db_exec(a, d, &count_leads, NULL, &res)) != NV_OK)
		return rc;
	w->n = strtol(nv_db_value(res, 0, 0), NULL, 10);
	return NV_OK;
}

static long
leads_visible(const char *dealership)
{
	struct nv_rls_ctx ctx = { dealership, NULL, "test", NULL };
	struct work_count w = { -1 };
	enum nv_err rc;

	rc = nv_db_tx(arena, &diag, dealership != NULL ? &ctx : NULL,
	    work_count, &w);
	ck_assert_msg(rc == NV_OK, "tx failed: %s", diag.msg);
	return w.n;
}

START_TEST(open_and_ping)
{
	ck_assert_int_eq(nv_db_ping(&diag), NV_OK);
	ck_assert_ptr_nonnull(nv_db_conn());
	/* One connection per process: a second ping reuses it. */
	ck_assert_int_eq(nv_db_ping(&diag), NV_OK);
	ck_assert_uint_eq(nv_db_generation(), 1);
}
END_TEST

START_TEST(bad_conninfo_is_unavailable)
{
	nv_db_set_conninfo("postgresql:///nope?host=/nonexistent&port=1");
	ck_assert_int_eq(nv_db_ping(&diag), NV_ERR_UNAVAILABLE);
	ck_assert_str_eq(diag.msg, "the database is unavailable");
}
END_TEST

/*
 * nv_db_ping with what it logs (fd 2) captured into a malloc'd string.
 */
static enum nv_err
ping_logged(char **log)
{
	FILE *f = tmpfile();
	enum nv_err rc;
	ssize_t n;
	off_t len;
	int saved;

	ck_assert_ptr_nonnull(f);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	rc = nv_db_ping(&diag);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	/* The log writes to the descriptor, so read it back through that. */
	len = lseek(fileno(f), 0, SEEK_END);
	ck_assert_int_ge(len, 0);
	ck_assert_int_eq(lseek(fileno(f), 0, SEEK_SET), 0);
	*log = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(*log);
	n = read(fileno(f), *log, (size_t)len);
	ck_assert_int_eq(n, len);
	fclose(f);
	return rc;
}

/*
 * DATABASE_URL pointing at the table owner: the connection is refused at
 * connect, with one log line that names DATABASE_URL, the role and why,
 * and never the password; transactions fail as unavailable (503).
 */
START_TEST(owner_as_app_is_refused)
{
	const char *owner = nv_test_env("NORVALT_DATABASE_OWNER_URL");
	const char *pw = strstr(owner, "password=");
	struct work_count w = { -1 };
	char *log, *nl;

	nv_db_set_conninfo(owner);
	ck_assert_int_eq(ping_logged(&log), NV_ERR_UNAVAILABLE);
	ck_assert_str_eq(diag.msg, "the database is unavailable");
	ck_assert_ptr_null(nv_db_conn());
	ck_assert_msg(strstr(log, "DATABASE_URL: refusing the connection: "
	    "role norvalt_owner owns table public.") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "level=error") != NULL, "%s", log);
	nl = strchr(log, '\n');
	ck_assert_msg(nl != NULL && nl[1] == '\0', "not one line: %s", log);
	ck_assert_ptr_nonnull(pw);
	ck_assert_ptr_null(strstr(log, pw + strlen("password=")));
	free(log);

	nv_diag_reset(&diag);
	ck_assert_int_eq(nv_db_tx(arena, &diag, NULL, work_count, &w),
	    NV_ERR_UNAVAILABLE);
	ck_assert_int_eq(w.n, -1);
	ck_assert_int_eq(nv_db_in_tx(), 0);
	ck_assert_uint_eq(nv_db_generation(), 0);

	/* The tools that mean the owner say so, and are let through. */
	nv_db_set_owner_conninfo(owner);
	ck_assert_int_eq(ping_logged(&log), NV_OK);
	ck_assert_ptr_null(strstr(log, "refusing"));
	free(log);

	/* The application role passes the check, silently. */
	nv_db_set_conninfo(nv_test_env("DATABASE_URL"));
	ck_assert_int_eq(ping_logged(&log), NV_OK);
	ck_assert_str_eq(log, "");
	free(log);
	ck_assert_int_ge(leads_visible(TESLA), 10);
}
END_TEST

START_TEST(context_decides_visibility)
{
	long tesla = leads_visible(TESLA), vw = leads_visible(VW);

	/* At least the 10 seeded each; other suites may have added more. */
	ck_assert_int_ge(tesla, 10);
	ck_assert_int_ge(vw, 10);
	ck_assert_int_eq(leads_visible(NULL), 0);
}
END_TEST

START_TEST(context_does_not_survive_commit)
{
	PGresult *r;

	ck_assert_int_ge(leads_visible(TESLA), 10);
	/* The same connection, outside any transaction: nothing. */
	r = PQexec(nv_db_conn(), "SELECT count(*), "
	    "current_setting('app.current_dealership_id', true) FROM leads");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "");
	PQclear(r);
	ck_assert_uint_eq(nv_db_generation(), 1);
}
END_TEST

struct work_vehicle {
	const char	*model;
	const char	*vin;
	enum nv_err	 then;	/* what the work returns after inserting */
};

static enum nv_err
work_vehicle(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct work_vehicle *w = arg;
	const char *params[2] = { w->model, w->vin };
	PGresult *res;
	enum nv_err rc;

	if ((rc = nv_db_exec(a, d, &insert_vehicle, params, &res)) != NV_OK)
		return rc;
	return w->then;
}

static enum nv_err
work_count_model(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	const char *params[1] = { ((struct work_vehicle *)arg)->model };
	PGresult *res;
	enum nv_err rc;

	if ((rc = nv_db_exec(a, d, &count_vehicles_model, params, &res)) != NV_OK)
		return rc;
	return strcmp(nv_db_value(res, 0, 0), "0") == 0 ? NV_ERR_NOT_FOUND :
	    NV_OK;
}

START_TEST(tx_commits_on_success)
{
	struct nv_rls_ctx ctx = { TESLA, NULL, "test", NULL };
	struct work_vehicle w = { "tx-commit", NULL, NV_OK };

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w), NV_OK);
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_count_model, &w),
	    NV_OK);
	ck_assert(!nv_db_in_tx());
}
END_TEST

START_TEST(tx_rolls_back_on_error)
{
	struct nv_rls_ctx ctx = { TESLA, NULL, "test", NULL };
	struct work_vehicle w = { "tx-rollback", NULL, NV_ERR_VALIDATION };

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w),
	    NV_ERR_VALIDATION);
	ck_assert(!nv_db_in_tx());
	ck_assert_int_eq(PQtransactionStatus(nv_db_conn()), PQTRANS_IDLE);
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_count_model, &w),
	    NV_ERR_NOT_FOUND);
}
END_TEST

static const struct nv_stmt newest_leads = {
	"t_newest_leads",
	"SELECT l.id::text, current_setting('plan_cache_mode') FROM leads l"
	" ORDER BY l.created_at DESC, l.id DESC LIMIT $1::int",
	1
};

struct work_generic {
	const char	*limit;
	int		 rows;		/* of the last call */
	char		 during[32];	/* plan_cache_mode inside the statement */
	char		 after[32];	/* and after it, same transaction */
	long		 generic;	/* pg_prepared_statements counters */
	long		 custom;
};

static enum nv_err
work_generic(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct work_generic *w = arg;
	const char *params[1] = { w->limit };
	PGresult *res;
	enum nv_err rc;
	int i;

	for (i = 0; i < 7; i++) {
		rc = nv_db_exec_generic(a, d, &newest_leads, params, &res);
		if (rc != NV_OK)
			return rc;
	}
	w->rows = PQntuples(res);
	snprintf(w->during, sizeof(w->during), "%s",
	    w->rows > 0 ? nv_db_value(res, 0, 1) : "");
	rc = nv_db_exec_once(a, d, "SELECT current_setting('plan_cache_mode'),"
	    " generic_plans, custom_plans FROM pg_prepared_statements"
	    " WHERE name = 't_newest_leads'", 0, NULL, &res);
	if (rc != NV_OK)
		return rc;
	snprintf(w->after, sizeof(w->after), "%s", nv_db_value(res, 0, 0));
	w->generic = strtol(nv_db_value(res, 0, 1), NULL, 10);
	w->custom = strtol(nv_db_value(res, 0, 2), NULL, 10);
	return NV_OK;
}

/*
 * nv_db_exec_generic: the statement runs with its generic plan (a "LIMIT
 * $n" statement the plan cache alone would plan again on every call), the
 * setting is back to auto right after, and a failure still fails.
 */
START_TEST(exec_generic_plans_once)
{
	struct nv_rls_ctx ctx = { TESLA, NULL, "test", NULL };
	struct work_generic w;

	memset(&w, 0, sizeof(w));
	w.limit = "3";
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_generic, &w),
	    NV_OK);
	ck_assert_int_eq(w.rows, 3);
	ck_assert_str_eq(w.during, "force_generic_plan");
	ck_assert_str_eq(w.after, "auto");
	ck_assert_int_eq(w.generic, 7);
	ck_assert_int_eq(w.custom, 0);

	/* LIMIT -1 is an error (22...): reported, rolled back. */
	memset(&w, 0, sizeof(w));
	w.limit = "-1";
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_generic, &w),
	    NV_ERR_VALIDATION);
	ck_assert(!nv_db_in_tx());
	ck_assert_int_eq(PQtransactionStatus(nv_db_conn()), PQTRANS_IDLE);
	ck_assert_int_ge(leads_visible(TESLA), 10);
}
END_TEST

START_TEST(classify_unique_violation)
{
	struct nv_rls_ctx ctx = { TESLA, NULL, "test", NULL };
	struct work_vehicle w = { "dup", "NVTEST00000000001", NV_OK };

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w), NV_OK);
	nv_diag_reset(&diag);
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w),
	    NV_ERR_CONFLICT);
	ck_assert_int_ge(diag.ndetails, 1);
	/* The same VIN in another dealership is fine (unique per tenant). */
	ctx.dealership_id = VW;
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w), NV_OK);
	ck_assert_int_eq(PQtransactionStatus(nv_db_conn()), PQTRANS_IDLE);
}
END_TEST

START_TEST(classify_check_violation)
{
	struct nv_rls_ctx ctx = { TESLA, NULL, "test", NULL };
	struct work_vehicle w = { "bad-vin", "NOT-A-VIN", NV_OK };

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_vehicle, &w),
	    NV_ERR_VALIDATION);
	ck_assert_str_eq(diag.msg, "the value was refused by the database");
}
END_TEST

START_TEST(classify_rls_violation)
{
	struct work_vehicle w = { "no-context", NULL, NV_OK };

	/* No tenant: the NOT NULL dealership_id fails before the policy. */
	ck_assert_int_ne(nv_db_tx(arena, &diag, NULL, work_vehicle, &w), NV_OK);
	ck_assert_int_eq(nv_db_classify(NULL), NV_ERR_UNAVAILABLE);
}
END_TEST

START_TEST(rls_set_refuses_non_uuid)
{
	struct nv_rls_ctx ctx = { "'; DROP TABLE leads; --", NULL, NULL,
	    NULL };
	struct work_count w = { -1 };

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_count, &w),
	    NV_ERR_INTERNAL);
	ck_assert_int_eq(w.n, -1);
	ck_assert_int_ge(leads_visible(TESLA), 10);
}
END_TEST

static enum nv_err
work_current(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	const char **out = arg;

	return nv_rls_current(a, d, out);
}

static enum nv_err
work_clear(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	enum nv_err rc;

	if ((rc = nv_rls_clear(a, d)) != NV_OK)
		return rc;
	return nv_rls_current(a, d, arg);
}

START_TEST(rls_current_and_clear)
{
	struct nv_rls_ctx ctx = { VW, NULL, "test", "req-1" };
	const char *cur = NULL;

	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_current, &cur),
	    NV_OK);
	ck_assert_str_eq(cur, VW);
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_clear, &cur), NV_OK);
	ck_assert_ptr_null(cur);
	ck_assert_int_eq(nv_db_tx(arena, &diag, NULL, work_current, &cur),
	    NV_OK);
	ck_assert_ptr_null(cur);
}
END_TEST

START_TEST(reconnect_after_restart)
{
	unsigned long gen;
	long before;
	int st;

	before = leads_visible(TESLA);
	ck_assert_int_ge(before, 10);
	gen = nv_db_generation();
	st = nv_test_run(NULL, "%s", nv_test_env("NV_PG_RESTART"));
	ck_assert_msg(st == 0, "restarting PostgreSQL failed (%d)", st);
	/* The old socket is dead; the next transaction must just work. */
	ck_assert_int_eq(leads_visible(TESLA), before);
	ck_assert_uint_eq(nv_db_generation(), gen + 1);
	ck_assert_int_eq(nv_db_ping(&diag), NV_OK);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *core = tcase_create("core"), *err = tcase_create("errors");
	TCase *lim = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(err, setup, teardown);
	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(core, open_and_ping);
	tcase_add_test(core, context_decides_visibility);
	tcase_add_test(core, context_does_not_survive_commit);
	tcase_add_test(core, tx_commits_on_success);
	tcase_add_test(core, tx_rolls_back_on_error);
	tcase_add_test(core, rls_current_and_clear);
	tcase_add_test(core, exec_generic_plans_once);
	tcase_add_test(err, bad_conninfo_is_unavailable);
	tcase_add_test(err, owner_as_app_is_refused);
	tcase_add_test(err, classify_unique_violation);
	tcase_add_test(err, classify_check_violation);
	tcase_add_test(err, classify_rls_violation);
	tcase_add_test(err, rls_set_refuses_non_uuid);
	tcase_add_test(lim, reconnect_after_restart);
	tcase_set_timeout(lim, 60);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	suite_add_tcase(s, lim);
	return s;
}

NV_TEST_MAIN(db_suite)
