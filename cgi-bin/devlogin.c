/*
 * devlogin - the dashboard's demo sign-in (local development only).
 *
 *   GET    /api/dev/users     the seeded demo users and their dealerships
 *   POST   /api/dev/token     {"clerk_user_id", "clerk_org_id"?} -> a dev
 *                             session token for that user (8 hours)
 *
 * Only with NORVALT_DEV_LOGIN=1, which `make run` sets and nothing else
 * does.  Otherwise every path is a 404, as if the binary were not there
 * (scripts/stack.sh does not even spawn or route it then), and
 * NORVALT_ENV=production refuses to start with it on: it hands a token to
 * anyone who can reach it.
 *
 * The token is the one `make token` mints (lib/devtoken.c), signed with
 * NORVALT_DEV_JWT_KEY_FILE.  Users and roles come from nv_user_orgs(), the
 * token tool's SECURITY DEFINER lookup, which only the owner role may run,
 * so this binary connects with NORVALT_DATABASE_OWNER_URL (it reads nothing
 * else, and RLS stays forced for the owner).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/devtoken.h"
#include "../lib/http.h"
#include "../lib/log.h"
#include "../lib/models/model.h"

#define DEVLOGIN_TTL	(8L * 3600)

/* The demo users of seed/demo.sql (SPEC section 4), as one text[] literal. */
#define DEVLOGIN_USERS \
	"{user_tesla_manager,user_tesla_rep,user_vw_admin,user_vw_rep}"

static const struct nv_stmt devlogin_users_stmt = {
	"devlogin_users",
	"SELECT coalesce(json_agg(json_build_object("
	"  'clerk_user_id', u.id, 'clerk_org_id', o.clerk_org_id,"
	"  'dealership', o.dealership_name, 'role', o.user_role)"
	"  ORDER BY o.dealership_name, u.n), '[]'::json)"
	" FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n),"
	"  LATERAL nv_user_orgs(u.id) o",
	1
};

static const struct nv_stmt devlogin_orgs_stmt = {
	"devlogin_orgs",
	"SELECT clerk_org_id, user_role FROM nv_user_orgs($1)",
	1
};

struct devlogin_pick {
	const char	*user;
	const char	*org;		/* in: asked for (or NULL); out: chosen */
	const char	*role;
	char		*json;
};

static enum nv_err
devlogin_users_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct devlogin_pick *p = arg;
	const char *params[1] = { DEVLOGIN_USERS };
	PGresult *res;
	enum nv_err rc;

	if ((rc = nv_db_exec(a, d, &devlogin_users_stmt, params, &res)) !=
	    NV_OK)
		return rc;
	return nv_model_one(a, d, res, "users", &p->json);
}

/* The user's organisation (the one asked for, else the only one). */
static enum nv_err
devlogin_orgs_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct devlogin_pick *p = arg;
	const char *params[1] = { p->user }, *org;
	PGresult *res;
	enum nv_err rc;
	int i, n;

	if ((rc = nv_db_exec(a, d, &devlogin_orgs_stmt, params, &res)) != NV_OK)
		return rc;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		org = nv_db_value(res, i, 0);
		if (p->org == NULL ? n == 1 : strcmp(org, p->org) == 0) {
			p->org = nv_arena_strdup(a, org);
			p->role = nv_arena_strdup(a, nv_db_value(res, i, 1));
			return NV_OK;
		}
	}
	if (n > 1 && p->org == NULL) {
		nv_diag_field(d, "clerk_org_id", "the user belongs to %d "
		    "dealerships; name one", n);
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "clerk_org_id is required for this user");
	}
	return nv_diag_set(d, NV_ERR_NOT_FOUND, "no such user%s",
	    p->org != NULL ? " in that organisation" : "");
}

static enum nv_err
devlogin_users(struct nv_req *req)
{
	struct devlogin_pick p;
	enum nv_err rc;
	char *body;

	memset(&p, 0, sizeof(p));
	if ((rc = nv_db_tx(req->arena, &req->diag, NULL, devlogin_users_work,
	    &p)) != NV_OK)
		return rc;
	body = nv_arena_printf(req->arena, "{\"data\":%s}", p.json);
	return nv_req_json(req, 200, body, strlen(body));
}

/* A string member of in, or NULL; a non-string is a 422 naming it. */
static enum nv_err
devlogin_str(struct nv_req *req, const cJSON *in, const char *name,
    const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return NV_OK;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) > 200) {
		nv_diag_field(&req->diag, name, "must be a non-empty string of "
		    "at most 200 characters");
		return nv_req_fail(req, NV_ERR_VALIDATION, "%s is invalid",
		    name);
	}
	*out = v->valuestring;
	return NV_OK;
}

static enum nv_err
devlogin_token(struct nv_req *req)
{
	struct devlogin_pick p;
	struct nv_devtoken t;
	const cJSON *it;
	enum nv_err rc;
	char *tok = NULL, *body;
	cJSON *in, *out;

	memset(&p, 0, sizeof(p));
	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	if (!cJSON_IsObject(in))
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "the body must be a JSON object");
	cJSON_ArrayForEach(it, in) {
		if (strcmp(it->string, "clerk_user_id") != 0 &&
		    strcmp(it->string, "clerk_org_id") != 0) {
			nv_diag_field(&req->diag, it->string, "unknown field");
			return nv_req_fail(req, NV_ERR_VALIDATION,
			    "unknown field %s", it->string);
		}
	}
	if ((rc = devlogin_str(req, in, "clerk_user_id", &p.user)) != NV_OK ||
	    (rc = devlogin_str(req, in, "clerk_org_id", &p.org)) != NV_OK)
		return rc;
	if (p.user == NULL) {
		nv_diag_field(&req->diag, "clerk_user_id", "is required");
		return nv_req_fail(req, NV_ERR_VALIDATION,
		    "clerk_user_id is required");
	}
	if ((rc = nv_db_tx(req->arena, &req->diag, NULL, devlogin_orgs_work,
	    &p)) != NV_OK)
		return rc;

	memset(&t, 0, sizeof(t));
	t.key = nv_config_str(NV_CFG_DEV_JWT_KEY_FILE);
	t.issuer = nv_config_str(NV_CFG_CLERK_ISSUER);
	t.user = p.user;
	t.org = p.org;
	t.rol = nv_devtoken_clerk_role(p.role);
	t.ttl = DEVLOGIN_TTL;
	t.now = (long)time(NULL);
	if ((rc = nv_devtoken_sign(&req->diag, &t, &tok)) != NV_OK) {
		nv_log_error("dev token: %s", req->diag.msg);
		return nv_req_fail(req, NV_ERR_INTERNAL,
		    "the dev token could not be signed");
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "token", tok);
	cJSON_AddStringToObject(out, "clerk_user_id", p.user);
	cJSON_AddStringToObject(out, "clerk_org_id", p.org);
	cJSON_AddStringToObject(out, "role", p.role);
	cJSON_AddNumberToObject(out, "expires_in", (double)DEVLOGIN_TTL);
	body = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	free(tok);
	if (body == NULL)
		return nv_req_fail(req, NV_ERR_INTERNAL, "out of memory");
	rc = nv_req_json(req, 200, nv_arena_strdup(req->arena, body),
	    strlen(body));
	cJSON_free(body);
	return rc;
}

static const struct nv_route devlogin_routes[] = {
	{ "GET", "/api/dev/users", devlogin_users, NV_ROUTE_PUBLIC },
	{ "POST", "/api/dev/token", devlogin_token, NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

/* Dev login off: no route at all, so every path is a JSON 404. */
static const struct nv_route devlogin_none[] = {
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_OWNER_URL,
	    NV_CFG_DEV_JWT_KEY_FILE };
	const char *env;

	/* The route table is the contract (check_openapi), on or off. */
	if (getenv("NORVALT_PRINT_ROUTES") != NULL)
		return nv_http_serve("devlogin", devlogin_routes);
	nv_config_init("devlogin", NULL, 0);
	if (nv_config_int(NV_CFG_DEV_LOGIN) != 1)
		return nv_http_serve("devlogin", devlogin_none);
	env = nv_config_str(NV_CFG_ENV);
	if (env != NULL && strcmp(env, "production") == 0) {
		nv_log_error("configuration error: NORVALT_DEV_LOGIN=1 is "
		    "refused with NORVALT_ENV=production");
		return 2;
	}
	nv_config_init("devlogin", required,
	    sizeof(required) / sizeof(required[0]));
	nv_db_set_owner_conninfo(nv_config_str(NV_CFG_DATABASE_OWNER_URL));
	return nv_http_serve("devlogin", devlogin_routes);
}
