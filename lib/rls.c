/*
 * rls.c - set, clear and read the tenant context; see rls.h.
 */
#include <assert.h>
#include <stddef.h>

#include "db.h"
#include "log.h"
#include "rls.h"
#include "valid.h"

static const struct nv_stmt rls_set_stmt = {
	"rls_set",
	"SELECT set_config('app.current_dealership_id', coalesce($1, ''), true),"
	"       set_config('app.current_user_id', coalesce($2, ''), true),"
	"       set_config('app.actor', coalesce($3, ''), true),"
	"       set_config('app.request_id', coalesce($4, ''), true)",
	4
};

static const struct nv_stmt rls_clear_stmt = {
	"rls_clear",
	"SELECT set_config('app.current_dealership_id', '', true),"
	"       set_config('app.current_user_id', '', true),"
	"       set_config('app.actor', '', true),"
	"       set_config('app.request_id', '', true)",
	0
};

static const struct nv_stmt rls_current_stmt = {
	"rls_current",
	"SELECT NULLIF(current_setting('app.current_dealership_id', true), '')",
	0
};

enum nv_err
nv_rls_set(struct nv_arena *a, struct nv_diag *d, const struct nv_rls_ctx *ctx)
{
	const char *params[4];
	PGresult *res;

	assert(nv_db_in_tx());
	if ((ctx->dealership_id != NULL && !nv_valid_uuid(ctx->dealership_id)) ||
	    (ctx->user_id != NULL && !nv_valid_uuid(ctx->user_id))) {
		nv_log_error("refusing a tenant context that is not a uuid");
		return nv_diag_set(d, NV_ERR_INTERNAL, "invalid tenant context");
	}
	params[0] = ctx->dealership_id;
	params[1] = ctx->user_id;
	params[2] = ctx->actor;
	params[3] = ctx->request_id;
	return nv_db_exec(a, d, &rls_set_stmt, params, &res);
}

enum nv_err
nv_rls_clear(struct nv_arena *a, struct nv_diag *d)
{
	PGresult *res;

	assert(nv_db_in_tx());
	return nv_db_exec(a, d, &rls_clear_stmt, NULL, &res);
}

enum nv_err
nv_rls_current(struct nv_arena *a, struct nv_diag *d, const char **id)
{
	PGresult *res;
	enum nv_err rc;

	*id = NULL;
	if ((rc = nv_db_exec(a, d, &rls_current_stmt, NULL, &res)) != NV_OK)
		return rc;
	*id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	return NV_OK;
}
