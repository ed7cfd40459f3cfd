/*
 * rls.h - the row-level-security context of the current transaction.
 *
 * Tenant tables' policies read
 *   NULLIF(current_setting('app.current_dealership_id', true), '')::uuid
 * so a transaction with no context sees no tenant rows.  The context is only
 * ever set with set_config(..., true), local to the transaction, so it ends
 * with COMMIT or ROLLBACK and never reaches the next request on the same
 * connection.  These mirror the design documents' set_dealership_context(),
 * clear_dealership_context() and get_current_dealership_context().
 */
#ifndef NV_RLS_H
#define NV_RLS_H

#include "arena.h"
#include "err.h"

/*
 * Who is acting.  dealership_id must come from a verified source (a token,
 * a signed webhook's path resolved by the database); user_id is the users.id
 * of the actor or NULL; actor labels audit rows ("user", "webhook:form",
 * "worker", "seed"); request_id ties audit rows to log lines.
 */
struct nv_rls_ctx {
	const char	*dealership_id;
	const char	*user_id;
	const char	*actor;
	const char	*request_id;
};

/*
 * Set the context for the rest of the current transaction (one round trip).
 * Must be called inside nv_db_tx.  NV_ERR_INTERNAL when an id is not a UUID.
 */
enum nv_err nv_rls_set(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx);

/* Clear the context for the rest of the current transaction. */
enum nv_err nv_rls_clear(struct nv_arena *a, struct nv_diag *d);

/*
 * The dealership id the database sees now, or NULL in *id when unset.
 * The string lives in a.
 */
enum nv_err nv_rls_current(struct nv_arena *a, struct nv_diag *d,
    const char **id);

#endif /* NV_RLS_H */
