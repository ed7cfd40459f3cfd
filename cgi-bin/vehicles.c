/*
 * vehicles - the dealership's stock (SPEC section 6).
 *
 *   GET    /api/vehicles                 list: stock_status, q, limit
 *   POST   /api/vehicles                 create (manager/admin; 201 +
 *                                        Location)
 *   GET    /api/vehicles/{id}            one vehicle
 *   PATCH  /api/vehicles/{id}            change (manager/admin)
 *   DELETE /api/vehicles/{id}            remove (manager/admin; leads that
 *                                        named it keep their interest text)
 *
 * Every handler runs inside the request's transaction with the caller's
 * dealership as RLS context (lib/api.c), so another dealership's vehicle
 * is simply not found; logic lives in lib/models/vehicle.c.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "../lib/api.h"
#include "../lib/config.h"
#include "../lib/http.h"
#include "../lib/models/vehicle.h"
#include "../lib/valid.h"

static const char *const list_params[] = {
	"stock_status", "q", "limit", NULL
};

static enum nv_err
bad_param(struct nv_req *req, const char *name, const char *issue)
{
	nv_diag_field(&req->diag, name, "%s", issue);
	return nv_req_fail(req, NV_ERR_BAD_REQUEST,
	    "query parameter %s is invalid", name);
}

static enum nv_err
vehicles_list(struct nv_req *req)
{
	struct nv_vehicle_filter f;
	const char *v;
	enum nv_err rc;
	char *out, *body;
	long limit;

	memset(&f, 0, sizeof(f));
	if ((rc = nv_req_query_parse(req, list_params)) != NV_OK)
		return rc;
	f.stock_status = nv_req_query(req, "stock_status");
	if (f.stock_status != NULL &&
	    !nv_valid_enum(f.stock_status, nv_vehicle_stock_statuses))
		return bad_param(req, "stock_status", "must be one of "
		    "in_stock, reserved, sold, incoming");
	if ((v = nv_req_query(req, "q")) != NULL) {
		if (strlen(v) > 100 || !nv_valid_text(v, strlen(v)))
			return bad_param(req, "q", "must be text of at most 100 "
			    "bytes");
		f.q = v;
	}
	rc = nv_req_query_int(req, "limit", 1, NV_VEHICLE_LIST_MAX,
	    NV_VEHICLE_LIST_DEFAULT, &limit);
	if (rc != NV_OK)
		return rc;
	f.limit = (int)limit;
	if ((rc = nv_vehicle_search(req->arena, &req->diag, &f, &out)) != NV_OK)
		return rc;
	body = nv_arena_cat(req->arena, "{\"data\":", out, "}", (char *)NULL);
	return nv_req_json(req, 200, body, strlen(body));
}

static enum nv_err
vehicles_create(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	rc = nv_vehicle_create(req->arena, &req->diag, in, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_created(req, "/api/vehicles", out);
}

static enum nv_err
vehicles_get(struct nv_req *req)
{
	enum nv_err rc;
	char *out;

	rc = nv_vehicle_get(req->arena, &req->diag, nv_req_param(req, "id"),
	    &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
vehicles_patch(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	rc = nv_vehicle_update(req->arena, &req->diag, nv_req_param(req, "id"),
	    in, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
vehicles_delete(struct nv_req *req)
{
	enum nv_err rc;

	rc = nv_vehicle_delete(req->arena, &req->diag, nv_req_param(req, "id"));
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 204, "", 0);
}

static const struct nv_route vehicles_routes[] = {
	{ "GET", "/api/vehicles", vehicles_list, NV_ROUTE_STAFF },
	{ "POST", "/api/vehicles", vehicles_create, NV_ROUTE_MANAGERS },
	{ "GET", "/api/vehicles/{id}", vehicles_get, NV_ROUTE_STAFF },
	{ "PATCH", "/api/vehicles/{id}", vehicles_patch, NV_ROUTE_MANAGERS },
	{ "DELETE", "/api/vehicles/{id}", vehicles_delete, NV_ROUTE_MANAGERS },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("vehicles", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_api_serve("vehicles", vehicles_routes);
}
