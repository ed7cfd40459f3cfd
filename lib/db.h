/*
 * db.h - the process's one PostgreSQL connection.
 *
 * Each process keeps one persistent connection, opened lazily on first use
 * from DATABASE_URL (or the conninfo given to nv_db_set_conninfo) and opened
 * again after the server went away.  Only parameterised statements are run:
 * a struct nv_stmt names a static SQL string that is prepared once per
 * connection and executed with PQexecPrepared.
 *
 * Every unit of work runs in nv_db_tx(), which always ends in COMMIT or
 * ROLLBACK and sets the row-level-security context first (lib/rls) with
 * set_config(..., true), so nothing survives into the next request on the
 * same connection.  When the connection turns out to be dead at the start of
 * a transaction (a PostgreSQL restart), nv_db_tx reconnects and tries once
 * more; a connection lost in the middle of a transaction is reported as
 * NV_ERR_UNAVAILABLE and the next call reconnects.
 *
 * Failures are classified by SQLSTATE, never by message text:
 *   23505 unique violation            -> NV_ERR_CONFLICT
 *   23514 check, 23502 not null,
 *   22xxx data exceptions             -> NV_ERR_VALIDATION
 *   23503 foreign key                 -> NV_ERR_VALIDATION
 *   42501 insufficient privilege/RLS  -> NV_ERR_FORBIDDEN
 *   40001, 40P01 serialization        -> NV_ERR_CONFLICT
 *   08xxx, 57P0x, 53xxx, dead socket  -> NV_ERR_UNAVAILABLE
 *   anything else                     -> NV_ERR_INTERNAL
 * The server's message goes to the log only; callers get a generic message
 * (and, for constraint violations, the constraint name in d->details).
 */
#ifndef NV_DB_H
#define NV_DB_H

#include <libpq-fe.h>

#include "arena.h"
#include "err.h"

struct nv_rls_ctx;

/* A named, static, parameterised statement, prepared once per connection. */
struct nv_stmt {
	const char	*name;		/* unique per process, e.g. "lead_get" */
	const char	*sql;		/* $1..$n parameters only */
	int		 nparams;
};

/*
 * Use conninfo instead of DATABASE_URL (tools and tests).  The string is
 * copied.  Closes the current connection so the next call opens the new one.
 */
void nv_db_set_conninfo(const char *conninfo);

/*
 * Like nv_db_set_conninfo, for a conninfo that connects as the owner role
 * (NORVALT_DATABASE_OWNER_URL) on purpose: the role check of nv_db_open is
 * skipped.  Only for the tools (norvalt-token) and the demo sign-in,
 * which need the owner's SECURITY DEFINER lookups; never for the API.
 */
void nv_db_set_owner_conninfo(const char *conninfo);

/*
 * Open the connection if it is not open.  A new connection is checked once:
 * a role that is a superuser, has BYPASSRLS, can SET ROLE to such a role or
 * owns a table (row-level security would not bind it) is refused with one
 * log line naming DATABASE_URL, unless nv_db_set_owner_conninfo chose it.
 * NV_ERR_UNAVAILABLE on failure or refusal (the connection is closed).
 */
enum nv_err nv_db_open(struct nv_diag *d);

/* Close the connection (at exit, or to force a reconnect in tests). */
void nv_db_close(void);

/* The raw connection, or NULL when closed (tests, COPY, LISTEN). */
PGconn *nv_db_conn(void);

/* How many times a connection has been opened by this process. */
unsigned long nv_db_generation(void);

/*
 * Readiness: open if needed and run SELECT 1 (reconnecting once when the
 * server went away).  NV_OK or NV_ERR_UNAVAILABLE.
 */
enum nv_err nv_db_ping(struct nv_diag *d);

/*
 * Execute st with params[0..st->nparams) (text format; NULL is SQL NULL).
 * On success *res holds a result whose PQclear is deferred to arena a.
 * Results that return rows or commands both count as success.
 */
enum nv_err nv_db_exec(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res);

#define NV_DB_PIPELINE_MAX	4

/*
 * Execute sts[0..n) (n <= NV_DB_PIPELINE_MAX) with params[i] in one
 * pipeline, one round trip; when they are the first statements of the
 * transaction BEGIN goes with them (and a connection found dead then is
 * replaced and the pipeline sent once more).  res[i] as nv_db_exec gives
 * them; on the first failure that statement's error is returned (the
 * statements after it did not run).
 */
enum nv_err nv_db_exec_n(struct nv_arena *a, struct nv_diag *d, size_t n,
    const struct nv_stmt *const *sts, const char *const *const *params,
    PGresult **res);

/*
 * Like nv_db_exec, but executes st with its generic plan (plan_cache_mode
 * is forced for st alone, in the same round trip).  For statements whose
 * generic plan is right but that the plan cache would otherwise plan again
 * on every call, such as one with "LIMIT $n".  Never for statements whose
 * good plan depends on the values ("$n IS NULL OR ...").
 */
enum nv_err nv_db_exec_generic(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res);

/*
 * Like nv_db_exec for the last statement of a transaction: st and COMMIT
 * go out in one pipeline (with BEGIN too when st is the first statement),
 * so committing costs no round trip of its own.  NV_OK means st succeeded
 * AND the transaction committed; on any error nothing is committed (a
 * failed st leaves the transaction for nv_db_tx to roll back).  No
 * statement may follow in the same transaction, and the work must return
 * what this returned.
 */
enum nv_err nv_db_exec_commit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res);

#define NV_DB_DEFER_MAX		2

/*
 * Statements for the head of the transaction's next pipeline: they go out
 * (after BEGIN) with whatever statement the work runs first, or on their
 * own when the work ran none, before nv_db_tx ends -- so they cost no
 * round trip of their own, and they always run.  Their failure is that
 * pipeline's failure (nothing after them runs), and
 * nv_db_deferred_failed() then tells it apart from a failure of the work.
 * params must live until the transaction ends (arena memory).
 */
void nv_db_defer(size_t n, const struct nv_stmt *const *sts,
    const char *const *const *params);

/* 1 when the current (or last) transaction's deferred statements failed. */
int nv_db_deferred_failed(void);

/*
 * COMMIT goes out with the transaction's next statement, in its pipeline:
 * for work that runs exactly one statement and writes nothing (a read),
 * a transaction costs one round trip.  A second statement is refused.
 */
void nv_db_commit_next(void);

/*
 * Like nv_db_exec, but st is planned anew on this run and never prepared
 * (its name is for the log only).  For a statement whose good plan
 * depends on the dealership -- PostgreSQL folds the RLS setting into its
 * estimates, and a cached plan keeps the first dealership's -- run seldom
 * enough that planning does not matter.
 */
enum nv_err nv_db_exec_unprepared(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *const *params, PGresult **res);

/*
 * Like nv_db_exec for a one-off parameterised statement that is not worth
 * preparing (PQexecParams).  sql must still be a constant string.
 */
enum nv_err nv_db_exec_once(struct nv_arena *a, struct nv_diag *d,
    const char *sql, int nparams, const char *const *params, PGresult **res);

/*
 * The work of one transaction.  It runs with the RLS context already set;
 * returning anything but NV_OK rolls the transaction back.
 */
typedef enum nv_err (*nv_db_work)(struct nv_arena *a, struct nv_diag *d,
    void *arg);

/*
 * BEGIN; set the RLS context ctx (NULL: no tenant, which sees no tenant
 * rows); work(a, d, arg); COMMIT.  Any failure, of the work or of COMMIT,
 * ends in ROLLBACK and returns the first error.  Not reentrant: a
 * transaction inside a transaction is an assertion failure.
 */
enum nv_err nv_db_tx(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, nv_db_work work, void *arg);

/* Map a failed result to an nv_err by SQLSTATE (see the table above). */
enum nv_err nv_db_classify(const PGresult *res);

/*
 * The value at (row, col), or NULL for SQL NULL or out of range.  Points
 * into res (valid until the arena is reset).
 */
const char *nv_db_value(const PGresult *res, int row, int col);

/* Whether a transaction opened by nv_db_tx is in progress. */
int nv_db_in_tx(void);

#endif /* NV_DB_H */
