/*
 * user.c - users; see user.h.
 */
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "../db.h"
#include "../json.h"
#include "../valid.h"
#include "model.h"
#include "user.h"

const char *const nv_user_roles[] = { "sales_rep", "manager", "admin", NULL };

#define USER_JSON \
	"json_build_object('id', u.id, 'dealership_id', u.dealership_id," \
	" 'clerk_user_id', u.clerk_user_id, 'email', u.email," \
	" 'name', u.name, 'role', u.role," \
	" 'notification_preferences', u.notification_preferences," \
	" 'active', u.active, 'created_at', u.created_at," \
	" 'updated_at', u.updated_at)"

static const struct nv_stmt user_insert = {
	"user_insert",
	"INSERT INTO users AS u (dealership_id, clerk_user_id, email, name,"
	"  role, active, notification_preferences)"
	" SELECT NULLIF(current_setting('app.current_dealership_id', true),"
	"  '')::uuid, j->>'clerk_user_id', j->>'email', j->>'name',"
	"  coalesce(j->>'role', 'sales_rep'),"
	"  coalesce((j->>'active')::boolean, true),"
	"  coalesce(j->'notification_preferences',"
	"   '{\"email\": true, \"sms\": false}')"
	" FROM (SELECT $1::jsonb AS j) s"
	" RETURNING " USER_JSON,
	1
};

static const struct nv_stmt user_select = {
	"user_select",
	"SELECT " USER_JSON " FROM users u WHERE u.id = $1::uuid",
	1
};

static const struct nv_stmt user_select_clerk = {
	"user_select_clerk",
	"SELECT " USER_JSON " FROM users u WHERE u.clerk_user_id = $1",
	1
};

static const struct nv_stmt user_list_stmt = {
	"user_list",
	"SELECT coalesce(json_agg(" USER_JSON
	"  ORDER BY u.name, u.clerk_user_id), '[]'::json)"
	" FROM users u WHERE ($1::text IS NULL OR u.role = $1)",
	1
};

#define USER_SET(col, expr) \
	" " col " = CASE WHEN $2::jsonb ? '" col "' THEN " expr " ELSE u." col " END"

static const struct nv_stmt user_update_stmt = {
	"user_update",
	"UPDATE users u SET"
	USER_SET("email", "$2::jsonb->>'email'") ","
	USER_SET("name", "$2::jsonb->>'name'") ","
	USER_SET("role", "$2::jsonb->>'role'") ","
	USER_SET("active", "($2::jsonb->>'active')::boolean") ","
	USER_SET("notification_preferences",
	    "$2::jsonb->'notification_preferences'")
	" WHERE u.id = $1::uuid RETURNING " USER_JSON,
	2
};

static const struct nv_stmt user_search_stmt = {
	"user_search",
	"SELECT coalesce(json_agg(" USER_JSON
	"  ORDER BY u.name, u.clerk_user_id), '[]'::json)"
	" FROM users u WHERE ($1::text IS NULL OR u.role = $1)"
	"  AND ($2::bool IS NULL OR u.active = $2)",
	2
};

/*
 * $1 id, $2 patch, $3 whether the actor is an admin.  One row: the
 * target's current role (NULL: no such user) and the updated user (NULL
 * when a manager tried to change an admin).  The role condition sits on
 * the UPDATE itself, so a concurrent promotion is rechecked on the row.
 */
static const struct nv_stmt user_manage_stmt = {
	"user_manage",
	"WITH t AS (SELECT u.role FROM users u WHERE u.id = $1::uuid),"
	" up AS (UPDATE users u SET"
	USER_SET("name", "$2::jsonb->>'name'") ","
	USER_SET("role", "$2::jsonb->>'role'") ","
	USER_SET("active", "($2::jsonb->>'active')::boolean") ","
	USER_SET("notification_preferences",
	    "$2::jsonb->'notification_preferences'")
	"  WHERE u.id = $1::uuid AND ($3::bool OR u.role <> 'admin')"
	"  RETURNING " USER_JSON " AS j)"
	" SELECT (SELECT t.role FROM t), (SELECT up.j FROM up)",
	3
};

static const struct nv_field user_fields[] = {
	{ "clerk_user_id", NV_F_TEXT, NV_F_CREATE | NV_F_REQUIRED, 0, 200,
	    NULL },
	{ "email", NV_F_EMAIL, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 0,
	    254, NULL },
	{ "name", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 0,
	    200, NULL },
	{ "role", NV_F_ENUM, NV_F_CREATE | NV_F_UPDATE, 0, 0, nv_user_roles },
	{ "active", NV_F_BOOL, NV_F_CREATE | NV_F_UPDATE, 0, 0, NULL },
	{ "notification_preferences", NV_F_OBJECT, NV_F_CREATE | NV_F_UPDATE,
	    0, 4096, NULL },
};

/* What a manager or admin may change through the API. */
static const struct nv_field user_manage_fields[] = {
	{ "name", NV_F_TEXT, NV_F_UPDATE | NV_F_NULLABLE, 0, 200, NULL },
	{ "role", NV_F_ENUM, NV_F_UPDATE, 0, 0, nv_user_roles },
	{ "active", NV_F_BOOL, NV_F_UPDATE, 0, 0, NULL },
	{ "notification_preferences", NV_F_OBJECT, NV_F_UPDATE, 0, 4096,
	    NULL },
};

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

enum nv_err
nv_user_create(struct nv_arena *a, struct nv_diag *d, const cJSON *in,
    char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	rc = nv_json_fields(a, d, user_fields, NFIELDS(user_fields),
	    NV_JSON_CREATE, in, &norm, NULL);
	if (rc != NV_OK)
		return rc;
	params[0] = norm;
	if ((rc = nv_db_exec(a, d, &user_insert, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "user", out);
}

enum nv_err
nv_user_get(struct nv_arena *a, struct nv_diag *d, const char *id, char **out)
{
	return nv_model_by_id(a, d, &user_select, id, "user", out);
}

enum nv_err
nv_user_get_by_clerk(struct nv_arena *a, struct nv_diag *d,
    const char *clerk_user_id, char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	params[0] = clerk_user_id;
	if ((rc = nv_db_exec(a, d, &user_select_clerk, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "user", out);
}

enum nv_err
nv_user_list(struct nv_arena *a, struct nv_diag *d, const char *role,
    char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (role != NULL && !nv_valid_enum(role, nv_user_roles)) {
		nv_diag_field(d, "role", "must be sales_rep, manager or admin");
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "invalid role filter");
	}
	params[0] = role;
	if ((rc = nv_db_exec(a, d, &user_list_stmt, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "users", out);
}

enum nv_err
nv_user_update(struct nv_arena *a, struct nv_diag *d, const char *id,
    const cJSON *patch, char **out)
{
	return nv_model_patch(a, d, &user_update_stmt, user_fields,
	    NFIELDS(user_fields), id, patch, "user", NULL, out);
}

enum nv_err
nv_user_search(struct nv_arena *a, struct nv_diag *d, const char *role,
    int active, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (role != NULL && !nv_valid_enum(role, nv_user_roles)) {
		nv_diag_field(d, "role", "must be sales_rep, manager or admin");
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "invalid role filter");
	}
	params[0] = role;
	params[1] = active < 0 ? NULL : active ? "true" : "false";
	if ((rc = nv_db_exec(a, d, &user_search_stmt, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "users", out);
}

enum nv_err
nv_user_manage(struct nv_arena *a, struct nv_diag *d, const char *id,
    const char *actor_id, bool actor_is_admin, const cJSON *patch,
    char **out)
{
	const cJSON *role, *active;
	const char *params[3];
	PGresult *res;
	enum nv_err rc;
	char *norm;
	size_t bad = 0;

	*out = NULL;
	rc = nv_json_fields(a, d, user_manage_fields,
	    NFIELDS(user_manage_fields), NV_JSON_UPDATE, patch, &norm, NULL);
	if (rc != NV_OK)
		return rc;
	role = cJSON_GetObjectItemCaseSensitive(patch, "role");
	active = cJSON_GetObjectItemCaseSensitive(patch, "active");
	if (!actor_is_admin && cJSON_IsString(role) &&
	    strcmp(role->valuestring, "admin") == 0)
		return nv_diag_set(d, NV_ERR_FORBIDDEN,
		    "only an admin may make a user admin");
	if (nv_valid_uuid(id) && strcasecmp(id, actor_id) == 0) {
		/* A manager's only other role is lower; an admin's too. */
		if (cJSON_IsString(role) && strcmp(role->valuestring,
		    actor_is_admin ? "admin" : "manager") != 0) {
			nv_diag_field(d, "role", "you may not change your own "
			    "role");
			bad++;
		}
		if (cJSON_IsFalse(active)) {
			nv_diag_field(d, "active", "you may not deactivate "
			    "yourself");
			bad++;
		}
		if (bad > 0)
			return nv_diag_set(d, NV_ERR_VALIDATION,
			    "%zu field%s failed validation", bad,
			    bad == 1 ? "" : "s");
	}
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "user not found");
	params[0] = id;
	params[1] = norm;
	params[2] = actor_is_admin ? "true" : "false";
	if ((rc = nv_db_exec(a, d, &user_manage_stmt, params, &res)) != NV_OK)
		return rc;
	if (nv_db_value(res, 0, 0) == NULL)
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "user not found");
	if (nv_db_value(res, 0, 1) == NULL)
		return nv_diag_set(d, NV_ERR_FORBIDDEN,
		    "only an admin may change an admin");
	*out = nv_arena_strdup(a, nv_db_value(res, 0, 1));
	return NV_OK;
}
