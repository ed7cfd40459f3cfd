/*
 * health - liveness and readiness.
 *
 *   GET /healthz   200 while the process runs (no database).
 *   GET /readyz    200 when the database answers, else 503.
 *
 * Load balancers and `make run` poll /readyz; it reconnects after a
 * PostgreSQL restart, so readiness comes back without restarting workers.
 */
#include <string.h>

#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/http.h"

static enum nv_err
health_live(struct nv_req *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	return nv_req_json(req, 200, body, sizeof(body) - 1);
}

static enum nv_err
health_ready(struct nv_req *req)
{
	static const char body[] =
	    "{\"status\":\"ready\",\"checks\":{\"database\":\"ok\"}}";
	enum nv_err rc;

	if ((rc = nv_db_ping(&req->diag)) != NV_OK)
		return nv_req_fail(req, NV_ERR_UNAVAILABLE,
		    "the database is not reachable");
	return nv_req_json(req, 200, body, sizeof(body) - 1);
}

static const struct nv_route health_routes[] = {
	{ "GET", "/healthz", health_live, NV_ROUTE_PUBLIC },
	{ "GET", "/readyz", health_ready, NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("health", required, sizeof(required) / sizeof(required[0]));
	return nv_http_serve("health", health_routes);
}
