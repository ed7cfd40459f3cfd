/*
 * db.c - one persistent PostgreSQL connection per process; see db.h.
 *
 * Design notes.  FastCGI workers handle one request at a time, so a single
 * PGconn per process is both enough and the cheapest option (DATABASE-NOTES:
 * opening connections under load costs ~1 ms of server CPU per request).
 * Prepared statements are tracked by the address of their struct nv_stmt
 * and the connection generation, so a reconnect re-prepares lazily.
 *
 * Row-level security only holds for a role that is neither a superuser
 * nor BYPASSRLS and owns no table (an owner can turn RLS off), so every
 * new connection is checked once, with one plain query before it is used
 * (db_check_role); a connection that fails the check is closed and the
 * caller gets NV_ERR_UNAVAILABLE.  That costs a round trip per connection,
 * never per request.  The tools that are meant to connect as the owner
 * say so with nv_db_set_owner_conninfo.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "rls.h"

#define DB_PREPARED_MAX	256

struct db_prepared {
	const struct nv_stmt	*st;
	unsigned long		 gen;
};

static PGconn *db_conn;
static char *db_conninfo;
static int db_owner;		/* db_conninfo is the owner's: no role check */

/*
 * Behind a transaction-mode pooler (NORVALT_DATABASE_POOLED=1) each
 * transaction may run on another server connection: nothing may rely on
 * the session.  So no named prepared statements (pgbouncer before 1.21
 * loses them between transactions), no startup options (pgbouncer refuses
 * "options"), and the session settings ride along after each BEGIN.
 */
static const struct nv_stmt db_session = { "session settings",
    "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
    " pg_catalog.set_config('TimeZone', 'UTC', true)", 1 };
static char db_timeout_ms[24];
static const char *const db_session_params[] = { db_timeout_ms };

static int
db_pooled(void)
{
	return nv_config_int(NV_CFG_DATABASE_POOLED) == 1;
}

static unsigned long db_gen;
static int db_in_tx;
static int db_begin_pending;	/* BEGIN not sent yet: goes with 1st stmt */
static int db_tx_ended;		/* a pipelined COMMIT ended the transaction */
static const struct nv_stmt *db_defer_st[NV_DB_DEFER_MAX];
static const char *const *db_defer_params[NV_DB_DEFER_MAX];
static size_t db_defer_n;
static int db_defer_failed;	/* a deferred statement failed */
static int db_commit_next;	/* nv_db_commit_next: COMMIT goes along */
static struct db_prepared db_prepared[DB_PREPARED_MAX];
static size_t db_nprepared;

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	nv_log_debug("postgres notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

void
nv_db_set_conninfo(const char *conninfo)
{
	nv_db_close();
	free(db_conninfo);
	db_conninfo = conninfo != NULL ? strdup(conninfo) : NULL;
	db_owner = 0;
}

void
nv_db_set_owner_conninfo(const char *conninfo)
{
	nv_db_set_conninfo(conninfo);
	db_owner = conninfo != NULL;
}

void
nv_db_close(void)
{
	if (db_conn != NULL)
		PQfinish(db_conn);
	db_conn = NULL;
	db_in_tx = 0;
	db_begin_pending = 0;
	db_tx_ended = 0;
	db_defer_n = 0;
	db_commit_next = 0;
}

PGconn *
nv_db_conn(void)
{
	return db_conn;
}

unsigned long
nv_db_generation(void)
{
	return db_gen;
}

int
nv_db_in_tx(void)
{
	return db_in_tx;
}

/*
 * What makes a role unfit for the application, one row: the role's name;
 * superuser; BYPASSRLS; a role it can become with SET ROLE that is either
 * (NULL when none); a table outside the system schemas that it owns or
 * can own through SET ROLE (NULL when none).
 */
static const char db_role_sql[] =
    "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls,"
    " (SELECT m.rolname::text FROM pg_catalog.pg_roles m"
    "   WHERE (m.rolsuper OR m.rolbypassrls) AND m.oid <> r.oid"
    "     AND pg_catalog.pg_has_role(r.oid, m.oid, 'MEMBER')"
    "   ORDER BY 1 LIMIT 1),"
    " (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"
    "   FROM pg_catalog.pg_class c"
    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "   WHERE c.relkind IN ('r', 'p')"
    "     AND n.nspname <> 'information_schema'"
    "     AND n.nspname NOT LIKE 'pg\\_%'"
    "     AND pg_catalog.pg_has_role(r.oid, c.relowner, 'MEMBER')"
    "   ORDER BY 1 LIMIT 1)"
    " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user";

/*
 * Refuse a connection on which row-level security would not bind: NV_OK,
 * or NV_ERR_UNAVAILABLE after one log line naming DATABASE_URL and why.
 * The caller closes the connection on failure.
 */
static enum nv_err
db_check_role(struct nv_diag *d)
{
	const char *user, *other, *table;
	enum nv_err rc = NV_OK;
	PGresult *r;
	char why[256];

	r = PQexecParams(db_conn, db_role_sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		nv_log_error("database role check failed: %.*s",
		    (int)strcspn(PQerrorMessage(db_conn), "\n"),
		    PQerrorMessage(db_conn));
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE,
		    "the database is unavailable");
		goto out;
	}
	user = nv_db_value(r, 0, 0);
	other = nv_db_value(r, 0, 3);
	table = nv_db_value(r, 0, 4);
	why[0] = '\0';
	if (strcmp(nv_db_value(r, 0, 1), "t") == 0)
		snprintf(why, sizeof(why), "is a superuser");
	else if (strcmp(nv_db_value(r, 0, 2), "t") == 0)
		snprintf(why, sizeof(why), "has BYPASSRLS");
	else if (other != NULL)
		snprintf(why, sizeof(why), "can SET ROLE to %s, a superuser "
		    "or BYPASSRLS role", other);
	else if (table != NULL)
		snprintf(why, sizeof(why), "owns table %s", table);
	if (why[0] != '\0') {
		nv_log_error("DATABASE_URL: refusing the connection: role "
		    "%s %s, so row-level security cannot keep dealerships "
		    "apart; connect as the application role (no superuser, no "
		    "BYPASSRLS, owns nothing: sql/README.md) and put the owner "
		    "in NORVALT_DATABASE_OWNER_URL", user, why);
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE,
		    "the database is unavailable");
	}
out:
	PQclear(r);
	return rc;
}

enum nv_err
nv_db_open(struct nv_diag *d)
{
	const char *keys[5], *vals[5];
	const char *conninfo;
	char timeout[64];

	if (db_conn != NULL && PQstatus(db_conn) == CONNECTION_OK)
		return NV_OK;
	/*
	 * Not nv_db_close(): this runs at the first statement of a
	 * transaction too, which must stay "in a transaction" (nv_rls_set
	 * after a first statement on a new connection asserts it).
	 */
	if (db_conn != NULL)
		PQfinish(db_conn);
	db_conn = NULL;

	conninfo = db_conninfo != NULL ? db_conninfo :
	    nv_config_str(NV_CFG_DATABASE_URL);
	if (conninfo == NULL)
		return nv_diag_set(d, NV_ERR_CONFIG, "DATABASE_URL is not set");
	snprintf(db_timeout_ms, sizeof(db_timeout_ms), "%ld",
	    nv_config_int(NV_CFG_DB_STATEMENT_TIMEOUT_MS));
	snprintf(timeout, sizeof(timeout),
	    "-c statement_timeout=%s -c TimeZone=UTC", db_timeout_ms);

	/* The URL's own settings come first; ours only fill gaps. */
	keys[0] = "dbname";			vals[0] = conninfo;
	keys[1] = "fallback_application_name";	vals[1] = "norvalt";
	keys[2] = "connect_timeout";		vals[2] = "5";
	keys[3] = "options";			vals[3] = timeout;
	keys[4] = NULL;				vals[4] = NULL;
	if (db_pooled())	/* see db_session */
		keys[3] = NULL;

	db_conn = PQconnectdbParams(keys, vals, 1);
	if (db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK) {
		/* libpq's message names host and cause, never the password. */
		nv_log_error("database connection failed: %.*s",
		    db_conn != NULL ? (int)strcspn(PQerrorMessage(db_conn),
		    "\n") : 0, db_conn != NULL ? PQerrorMessage(db_conn) : "");
		nv_db_close();
		return nv_diag_set(d, NV_ERR_UNAVAILABLE,
		    "the database is unavailable");
	}
	PQsetNoticeProcessor(db_conn, db_notice, NULL);
	if (!db_owner && db_check_role(d) != NV_OK) {
		nv_db_close();
		return NV_ERR_UNAVAILABLE;
	}
	db_gen++;
	return NV_OK;
}

enum nv_err
nv_db_classify(const PGresult *res)
{
	const char *state;

	if (res == NULL)
		return NV_ERR_UNAVAILABLE;
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE:
		return NV_OK;
	default:
		break;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL || strlen(state) != 5)
		return NV_ERR_UNAVAILABLE;	/* client-side: socket gone */
	if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0)
		return NV_ERR_CONFLICT;
	if (strcmp(state, "42501") == 0)
		return NV_ERR_FORBIDDEN;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return NV_ERR_VALIDATION;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return NV_ERR_UNAVAILABLE;
	if (strcmp(state, "57014") == 0)	/* statement timeout */
		return NV_ERR_UNAVAILABLE;
	return NV_ERR_INTERNAL;
}

/*
 * The request field a constraint guards, from its name as the schema spells
 * them (table_field_key, table_field_check): "vehicles_vin_key" on vehicles
 * is "vin".  Any other name is given as it is.
 */
static const char *
db_field(char *buf, size_t size, const char *constraint, const char *table)
{
	static const char *const suffix[] = { "_key", "_check" };
	size_t n, t, i, s;

	n = strlen(constraint);
	t = table != NULL ? strlen(table) : 0;
	if (t == 0 || n <= t + 1 || strncmp(constraint, table, t) != 0 ||
	    constraint[t] != '_')
		return constraint;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		s = strlen(suffix[i]);
		if (n > t + 1 + s && strcmp(constraint + n - s, suffix[i]) == 0 &&
		    n - s - t - 1 < size) {
			memcpy(buf, constraint + t + 1, n - s - t - 1);
			buf[n - s - t - 1] = '\0';
			return buf;
		}
	}
	return constraint;
}

/*
 * Turn a failed result into an error code and a diagnostic.  The server's
 * text goes to the log (primary message only: DETAIL can hold row values,
 * which are personal data); the caller gets a generic message.
 */
static enum nv_err
db_fail(struct nv_diag *d, const char *what, PGresult *res)
{
	const char *state, *msg, *constraint, *column, *table;
	char field[64];
	enum nv_err rc;

	rc = nv_db_classify(res);
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
	    NULL;
	if (msg == NULL && db_conn != NULL)
		msg = PQerrorMessage(db_conn);
	constraint = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME) : NULL;
	column = res != NULL ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) :
	    NULL;
	table = res != NULL ? PQresultErrorField(res, PG_DIAG_TABLE_NAME) :
	    NULL;

	nv_log(rc == NV_ERR_INTERNAL || rc == NV_ERR_UNAVAILABLE ?
	    NV_LOG_ERROR : NV_LOG_INFO, "query %s failed: sqlstate=%s %.*s",
	    what, state != NULL ? state : "none",
	    msg != NULL ? (int)strcspn(msg, "\n") : 0, msg != NULL ? msg : "");

	if (db_conn != NULL && PQstatus(db_conn) != CONNECTION_OK) {
		nv_db_close();
		rc = NV_ERR_UNAVAILABLE;
	}
	switch (rc) {
	case NV_ERR_CONFLICT:
		nv_diag_set(d, rc, "a conflicting record already exists");
		if (constraint != NULL)
			nv_diag_field(d, db_field(field, sizeof(field),
			    constraint, table), "must be unique");
		break;
	case NV_ERR_VALIDATION:
		nv_diag_set(d, rc, "the value was refused by the database");
		if (column != NULL || constraint != NULL)
			nv_diag_field(d, column != NULL ? column :
			    db_field(field, sizeof(field), constraint, table),
			    "violates %s", constraint != NULL ? constraint :
			    "a constraint");
		break;
	case NV_ERR_FORBIDDEN:
		/*
		 * A row-level-security refusal: the row would belong to
		 * another dealership, or lie outside what the caller may
		 * touch (a sales rep kept to their own leads).
		 */
		nv_diag_set(d, rc, "you may not make this change");
		break;
	case NV_ERR_UNAVAILABLE:
		nv_diag_set(d, rc, "the database is unavailable");
		break;
	default:
		nv_diag_set(d, NV_ERR_INTERNAL, "internal database error");
		rc = NV_ERR_INTERNAL;
		break;
	}
	return rc;
}

static enum nv_err db_command(struct nv_diag *d, const char *sql);

static void
db_clear(void *p)
{
	PQclear(p);
}

static int
db_is_prepared(const struct nv_stmt *st)
{
	size_t i;

	for (i = 0; i < db_nprepared; i++)
		if (db_prepared[i].st == st)
			return db_prepared[i].gen == db_gen;
	return 0;
}

static void
db_mark_prepared(const struct nv_stmt *st)
{
	size_t i;

	for (i = 0; i < db_nprepared; i++)
		if (db_prepared[i].st == st) {
			db_prepared[i].gen = db_gen;
			return;
		}
	if (db_nprepared < DB_PREPARED_MAX) {
		db_prepared[db_nprepared].st = st;
		db_prepared[db_nprepared].gen = db_gen;
		db_nprepared++;
	}
}

/*
 * The next result of a pipeline, with the NULL that ends it consumed.
 * NULL when the connection broke.
 */
static PGresult *
db_pipeline_next(void)
{
	PGresult *r, *extra;

	r = PQgetResult(db_conn);
	if (r == NULL)
		return NULL;
	while ((extra = PQgetResult(db_conn)) != NULL)
		PQclear(extra);
	return r;
}

/*
 * Everything goes through one pipeline engine.  A pipeline is: BEGIN when
 * the transaction has not been opened yet (db_begin_pending); the deferred
 * statements (nv_db_defer); the caller's statements, each with its PREPARE
 * when this connection has not seen it, and for a generic-plan call
 * wrapped in SET LOCAL plan_cache_mode; COMMIT when asked for
 * (nv_db_exec_commit, or nv_db_commit_next); then one Sync.  So a whole
 * request can cost one round trip.  A failed statement makes the server
 * skip the rest up to the Sync (PGRES_PIPELINE_ABORTED), so nothing after
 * a failed check runs and a skipped COMMIT leaves the transaction in error
 * for nv_db_tx to roll back.
 */
#define DB_ITEMS_MAX	(2 + NV_DB_DEFER_MAX + NV_DB_PIPELINE_MAX + 3)

struct db_item {
	const struct nv_stmt	*st;
	const char *const	*params;
	int			 unprepared;	/* planned on this run only */
	int			 prepare;
	int			 deferred;	/* from nv_db_defer */
	PGresult		*prep;
	PGresult		*res;
};

/* The commands a pipeline wraps around statements. */
static const struct nv_stmt db_begin = { "BEGIN", "BEGIN", 0 };
static const struct nv_stmt db_commit = { "COMMIT", "COMMIT", 0 };
static const struct nv_stmt db_generic_on = { "SET plan_cache_mode",
    "SET LOCAL plan_cache_mode = force_generic_plan", 0 };
static const struct nv_stmt db_generic_off = { "SET plan_cache_mode",
    "SET LOCAL plan_cache_mode = auto", 0 };

/* db_run's flags. */
#define DB_GENERIC	0x1	/* the statement with its generic plan */
#define DB_COMMIT	0x2	/* COMMIT goes along */
#define DB_UNPREPARED	0x4	/* the statements planned on this run only */

/* Send items[0..n) and a Sync, read every result; 0, or -1: conn broke. */
static int
db_send(struct db_item *items, size_t n)
{
	PGresult *sync;
	size_t i;
	int sent;

	sent = PQenterPipelineMode(db_conn);
	for (i = 0; i < n; i++) {
		const struct nv_stmt *st = items[i].st;

		items[i].prep = items[i].res = NULL;
		if (items[i].unprepared) {
			items[i].prepare = 0;
			sent = sent && PQsendQueryParams(db_conn, st->sql,
			    st->nparams, NULL, items[i].params, NULL, NULL, 0);
			continue;
		}
		items[i].prepare = !db_is_prepared(st);
		sent = sent && (!items[i].prepare || PQsendPrepare(db_conn,
		    st->name, st->sql, st->nparams, NULL)) &&
		    PQsendQueryPrepared(db_conn, st->name, st->nparams,
		    items[i].params, NULL, NULL, 0);
	}
	sent = sent && PQpipelineSync(db_conn);
	for (i = 0; i < n; i++) {
		items[i].prep = sent && items[i].prepare ? db_pipeline_next() :
		    NULL;
		items[i].res = sent ? db_pipeline_next() : NULL;
	}
	sync = sent ? PQgetResult(db_conn) : NULL;
	if (sync != NULL && PQresultStatus(sync) == PGRES_PIPELINE_SYNC &&
	    PQexitPipelineMode(db_conn)) {
		PQclear(sync);
		return 0;
	}
	PQclear(sync);
	for (i = 0; i < n; i++) {
		PQclear(items[i].prep);
		PQclear(items[i].res);
		items[i].prep = items[i].res = NULL;
	}
	return -1;
}

/*
 * Run sts[0..n) in one pipeline with what the transaction has pending
 * (flags: DB_GENERIC, n is then 1; DB_COMMIT; DB_UNPREPARED); res[i] as
 * nv_db_exec gives them.  The first failure is returned, in pipeline
 * order.
 */
static enum nv_err
db_run(struct nv_arena *a, struct nv_diag *d, size_t n,
    const struct nv_stmt *const *sts, const char *const *const *params,
    unsigned flags, PGresult **res)
{
	struct db_item items[DB_ITEMS_MAX];
	enum nv_err rc = NV_OK;
	size_t i, k, first_st;
	int attempt, begin = db_begin_pending, commit, generic;
	int pooled = db_pooled();

	generic = (flags & DB_GENERIC) != 0;
	assert(n <= NV_DB_PIPELINE_MAX && (!generic || n == 1));
	for (i = 0; i < n; i++)
		res[i] = NULL;
	if (db_tx_ended) {
		nv_log_error("a statement after the transaction's COMMIT");
		return nv_diag_set(d, NV_ERR_INTERNAL,
		    "internal database error");
	}
	commit = (flags & DB_COMMIT) != 0 || db_commit_next;
	k = 0;
	memset(items, 0, sizeof(items));
	if (begin) {
		items[k].unprepared = 1;
		items[k++].st = &db_begin;
		if (pooled) {
			items[k].unprepared = 1;
			items[k].params = db_session_params;
			items[k++].st = &db_session;
		}
	}
	for (i = 0; i < db_defer_n; i++, k++) {
		items[k].st = db_defer_st[i];
		items[k].params = db_defer_params[i];
		items[k].deferred = 1;
	}
	if (generic) {
		items[k].unprepared = 1;
		items[k++].st = &db_generic_on;
	}
	first_st = k;
	for (i = 0; i < n; i++, k++) {
		items[k].st = sts[i];
		items[k].params = params[i];
		items[k].unprepared = (flags & DB_UNPREPARED) != 0;
	}
	if (generic) {
		items[k].unprepared = 1;
		items[k++].st = &db_generic_off;
	}
	if (commit) {
		items[k].unprepared = 1;
		items[k++].st = &db_commit;
	}
	db_defer_n = 0;
	db_commit_next = 0;
	if (pooled)
		for (i = 0; i < k; i++)
			items[i].unprepared = 1;

	/*
	 * A connection found dead before BEGIN (the server restarted since
	 * the last request): nothing has happened yet, so reconnect and send
	 * once more.  Inside a transaction there is nothing to retry.
	 */
	for (attempt = 0; attempt < (begin ? 2 : 1); attempt++) {
		if ((rc = nv_db_open(d)) != NV_OK)
			return rc;
		if (db_send(items, k) == 0) {
			rc = NV_OK;
			break;
		}
		nv_log_info("database connection lost%s", begin ?
		    "; reconnecting" : "");
		nv_db_close();
		db_in_tx = 1;
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE,
		    "the database is unavailable");
	}
	db_begin_pending = 0;
	if (rc != NV_OK)
		return rc;
	for (i = 0; i < k; i++) {
		nv_arena_defer(a, db_clear, items[i].prep);
		nv_arena_defer(a, db_clear, items[i].res);
	}
	if (commit && PQtransactionStatus(db_conn) == PQTRANS_IDLE)
		db_tx_ended = 1;
	for (i = 0; i < k; i++) {
		const char *what = items[i].st->name;

		if (items[i].prepare) {
			if (nv_db_classify(items[i].prep) != NV_OK) {
				db_defer_failed |= items[i].deferred;
				return db_fail(d, what, items[i].prep);
			}
			db_mark_prepared(items[i].st);
		}
		if (nv_db_classify(items[i].res) != NV_OK) {
			db_defer_failed |= items[i].deferred;
			return db_fail(d, what, items[i].res);
		}
	}
	for (i = 0; i < n; i++)
		res[i] = items[first_st + i].res;
	return NV_OK;
}

void
nv_db_defer(size_t n, const struct nv_stmt *const *sts,
    const char *const *const *params)
{
	size_t i;

	assert(db_in_tx && db_defer_n + n <= NV_DB_DEFER_MAX);
	for (i = 0; i < n; i++) {
		db_defer_st[db_defer_n] = sts[i];
		db_defer_params[db_defer_n] = params[i];
		db_defer_n++;
	}
}

int
nv_db_deferred_failed(void)
{
	return db_defer_failed;
}

void
nv_db_commit_next(void)
{
	assert(db_in_tx);
	db_commit_next = 1;
}

enum nv_err
nv_db_exec(struct nv_arena *a, struct nv_diag *d, const struct nv_stmt *st,
    const char *const *params, PGresult **res)
{
	*res = NULL;
	return db_run(a, d, 1, &st, &params, 0, res);
}

enum nv_err
nv_db_exec_commit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res)
{
	*res = NULL;
	assert(db_in_tx);
	return db_run(a, d, 1, &st, &params, DB_COMMIT, res);
}

enum nv_err
nv_db_exec_n(struct nv_arena *a, struct nv_diag *d, size_t n,
    const struct nv_stmt *const *sts, const char *const *const *params,
    PGresult **res)
{
	assert(n >= 1 && n <= NV_DB_PIPELINE_MAX);
	return db_run(a, d, n, sts, params, 0, res);
}

/*
 * st with its generic plan: plan_cache_mode is forced for this statement
 * only, in the same pipeline (SET LOCAL before, back to auto after), so
 * it costs no round trip of its own.  For statements whose generic plan
 * is right but which the plan cache would re-plan on every call, e.g. any
 * with "LIMIT $n" (a generic plan assumes 10% of the rows, so its cost
 * never beats a custom plan's, though it is the same index scan).
 */
enum nv_err
nv_db_exec_generic(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res)
{
	*res = NULL;
	return db_run(a, d, 1, &st, &params, DB_GENERIC, res);
}

enum nv_err
nv_db_exec_unprepared(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res)
{
	*res = NULL;
	return db_run(a, d, 1, &st, &params, DB_UNPREPARED, res);
}

enum nv_err
nv_db_exec_once(struct nv_arena *a, struct nv_diag *d, const char *sql,
    int nparams, const char *const *params, PGresult **res)
{
	const struct nv_stmt once = { "(unprepared)", sql, nparams };

	return nv_db_exec_unprepared(a, d, &once, params, res);
}

/* Run a transaction-control command; NV_OK or the classified failure. */
static enum nv_err
db_command(struct nv_diag *d, const char *sql)
{
	PGresult *r;
	enum nv_err rc = NV_OK;

	r = PQexec(db_conn, sql);
	if (nv_db_classify(r) != NV_OK)
		rc = db_fail(d, sql, r);
	PQclear(r);
	return rc;
}

enum nv_err
nv_db_ping(struct nv_diag *d)
{
	enum nv_err rc;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = nv_db_open(d)) != NV_OK)
			return rc;
		rc = db_command(d, "SELECT 1");
		if (rc != NV_ERR_UNAVAILABLE)
			return rc;
	}
	return rc;
}

enum nv_err
nv_db_tx(struct nv_arena *a, struct nv_diag *d, const struct nv_rls_ctx *ctx,
    nv_db_work work, void *arg)
{
	enum nv_err rc = NV_OK;

	assert(!db_in_tx);
	/*
	 * BEGIN is not sent here: it goes out in one pipeline with the first
	 * statement (db_run), which also replaces a connection that
	 * died since the last request.  Later failures are reported.
	 */
	db_in_tx = 1;
	db_begin_pending = 1;
	db_defer_failed = 0;

	if (ctx != NULL)
		rc = nv_rls_set(a, d, ctx);
	if (rc == NV_OK)
		rc = work(a, d, arg);
	if (db_defer_n > 0) {
		/*
		 * The work ran no statement: the deferred ones (a check of
		 * the caller) still run before anything is answered.  Their
		 * failure wins over whatever the work decided.
		 */
		enum nv_err frc;

		db_commit_next = 0;
		frc = db_run(a, d, 0, NULL, NULL, 0, NULL);
		if (frc != NV_OK)
			rc = frc;
	}
	db_commit_next = 0;

	if (db_begin_pending) {
		/* The work ran no statement: there is nothing to end. */
		db_begin_pending = 0;
		db_in_tx = 0;
		return rc;
	}
	if (db_tx_ended) {
		/*
		 * COMMIT went with the last statement (nv_db_exec_commit, or
		 * nv_db_commit_next for a read): the transaction is over,
		 * committed exactly when that call (and so, by contract, the
		 * work) returned NV_OK.
		 */
		db_tx_ended = 0;
		db_in_tx = 0;
		return rc;
	}
	if (db_conn == NULL) {
		/* The connection died inside the transaction. */
		db_in_tx = 0;
		return rc != NV_OK ? rc : nv_diag_set(d, NV_ERR_UNAVAILABLE,
		    "the database is unavailable");
	}
	if (rc == NV_OK && PQtransactionStatus(db_conn) == PQTRANS_INERROR) {
		/* The work swallowed a failed statement: never COMMIT that. */
		nv_log_error("transaction work returned ok after a failed "
		    "statement; rolling back");
		rc = nv_diag_set(d, NV_ERR_INTERNAL, "internal database error");
	}
	if (rc == NV_OK)
		rc = db_command(d, "COMMIT");
	else if (db_conn != NULL)
		(void)db_command(NULL, "ROLLBACK");
	db_in_tx = 0;
	return rc;
}

const char *
nv_db_value(const PGresult *res, int row, int col)
{
	if (res == NULL || row < 0 || col < 0 || row >= PQntuples(res) ||
	    col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}
