/*
 * account - the caller, the dealership's staff and its settings (SPEC
 * sections 5 and 6).
 *
 *   GET    /api/me                       the caller and their dealership
 *   GET    /api/users                    staff (manager/admin): role, active
 *   GET    /api/users/{id}               one user (manager/admin)
 *   PATCH  /api/users/{id}               role, active, name, notification
 *                                        preferences (manager/admin)
 *   GET    /api/dealership               the dealership and its settings
 *   PATCH  /api/dealership               name and settings (manager/admin)
 *   GET    /api/config                   public: the dashboard's sign-in
 *                                        modes (no secrets)
 *
 * settings.webhook_secret is shown to managers and admins only.  Who may
 * change whom (a manager makes nobody admin, nobody demotes or deactivates
 * themselves) is lib/models/user.c's nv_user_manage.  Every handler runs
 * inside the request's transaction with the caller's dealership as RLS
 * context (lib/api.c).
 */
#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../lib/api.h"
#include "../lib/auth.h"
#include "../lib/config.h"
#include "../lib/http.h"
#include "../lib/models/dealership.h"
#include "../lib/models/user.h"
#include "../lib/valid.h"

static const char *const users_params[] = { "role", "active", NULL };

static enum nv_err
bad_param(struct nv_req *req, const char *name, const char *issue)
{
	nv_diag_field(&req->diag, name, "%s", issue);
	return nv_req_fail(req, NV_ERR_BAD_REQUEST,
	    "query parameter %s is invalid", name);
}

/* Whether the caller may see the webhook secret and manage the others. */
static bool
is_manager(const struct nv_req *req)
{
	return req->auth->role == NV_ROLE_MANAGER ||
	    req->auth->role == NV_ROLE_ADMIN;
}

static enum nv_err
me_get(struct nv_req *req)
{
	char *user, *dealer, *body;
	enum nv_err rc;

	rc = nv_user_get(req->arena, &req->diag, req->auth->user_id, &user);
	if (rc != NV_OK)
		return rc;
	rc = nv_dealership_get(req->arena, &req->diag, is_manager(req),
	    &dealer);
	if (rc != NV_OK)
		return rc;
	body = nv_arena_printf(req->arena, "{\"user\":%s,\"dealership\":%s}",
	    user, dealer);
	return nv_req_json(req, 200, body, strlen(body));
}

static enum nv_err
users_list(struct nv_req *req)
{
	const char *role, *v;
	enum nv_err rc;
	char *out, *body;
	int active = -1;

	if ((rc = nv_req_query_parse(req, users_params)) != NV_OK)
		return rc;
	role = nv_req_query(req, "role");
	if (role != NULL && !nv_valid_enum(role, nv_user_roles))
		return bad_param(req, "role", "must be one of sales_rep, "
		    "manager, admin");
	if ((v = nv_req_query(req, "active")) != NULL) {
		if (strcmp(v, "true") == 0)
			active = 1;
		else if (strcmp(v, "false") == 0)
			active = 0;
		else
			return bad_param(req, "active", "must be true or false");
	}
	rc = nv_user_search(req->arena, &req->diag, role, active, &out);
	if (rc != NV_OK)
		return rc;
	body = nv_arena_cat(req->arena, "{\"data\":", out, "}", (char *)NULL);
	return nv_req_json(req, 200, body, strlen(body));
}

static enum nv_err
users_get(struct nv_req *req)
{
	enum nv_err rc;
	char *out;

	rc = nv_user_get(req->arena, &req->diag, nv_req_param(req, "id"), &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
users_patch(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	rc = nv_user_manage(req->arena, &req->diag, nv_req_param(req, "id"),
	    req->auth->user_id, req->auth->role == NV_ROLE_ADMIN, in, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
dealership_get(struct nv_req *req)
{
	enum nv_err rc;
	char *out;

	rc = nv_dealership_get(req->arena, &req->diag, is_manager(req), &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
dealership_patch(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	rc = nv_dealership_update(req->arena, &req->diag, in, true, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

/*
 * What the dashboard needs before anyone signs in: which sign-in modes
 * exist.  The Clerk publishable key is public by design; dev_login says
 * whether the demo sign-in of cgi-bin/devlogin is routed.
 */
static enum nv_err
config_get(struct nv_req *req)
{
	const char *pk = nv_config_str(NV_CFG_CLERK_PUBLISHABLE_KEY);
	enum nv_err rc;
	cJSON *o;
	char *s;

	o = cJSON_CreateObject();
	if (pk != NULL)
		cJSON_AddStringToObject(o, "clerk_publishable_key", pk);
	else
		cJSON_AddNullToObject(o, "clerk_publishable_key");
	cJSON_AddBoolToObject(o, "dev_login",
	    nv_config_int(NV_CFG_DEV_LOGIN) == 1);
	cJSON_AddStringToObject(o, "api_docs", "/api/docs");
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		return nv_req_fail(req, NV_ERR_INTERNAL, "out of memory");
	rc = nv_req_json(req, 200, nv_arena_strdup(req->arena, s), strlen(s));
	cJSON_free(s);
	return rc;
}

static const struct nv_route account_routes[] = {
	{ "GET", "/api/me", me_get, NV_ROUTE_STAFF },
	{ "GET", "/api/users", users_list, NV_ROUTE_MANAGERS },
	{ "GET", "/api/users/{id}", users_get, NV_ROUTE_MANAGERS },
	{ "PATCH", "/api/users/{id}", users_patch, NV_ROUTE_MANAGERS },
	{ "GET", "/api/dealership", dealership_get, NV_ROUTE_STAFF },
	{ "PATCH", "/api/dealership", dealership_patch, NV_ROUTE_MANAGERS },
	{ "GET", "/api/config", config_get, NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("account", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_api_serve("account", account_routes);
}
