/*
 * stats - the dashboard's metrics (SPEC section 6).
 *
 *   GET    /api/stats?from=&to=          counts by status and source,
 *                                        conversion, speed to lead, per rep
 *
 * from and to are RFC 3339; the default window is the last 30 days, and a
 * window is at most 366 days.  PostgreSQL renders the answer in one
 * statement (lib/models/stats.c), inside the request's transaction with
 * the caller's dealership as RLS context (lib/api.c).
 */
#include <string.h>
#include <time.h>

#include "../lib/api.h"
#include "../lib/config.h"
#include "../lib/http.h"
#include "../lib/models/stats.h"

static const char *const stats_params[] = { "from", "to", NULL };

static enum nv_err
stats_get(struct nv_req *req)
{
	struct nv_stats_range r;
	enum nv_err rc;
	char *out;

	if ((rc = nv_req_query_parse(req, stats_params)) != NV_OK)
		return rc;
	rc = nv_stats_range(&req->diag, nv_req_query(req, "from"),
	    nv_req_query(req, "to"), (long)time(NULL), &r);
	if (rc != NV_OK)
		return rc;
	if ((rc = nv_stats_leads(req->arena, &req->diag, &r, &out)) != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static const struct nv_route stats_routes[] = {
	{ "GET", "/api/stats", stats_get, NV_ROUTE_STAFF },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("stats", required, sizeof(required) / sizeof(required[0]));
	return nv_api_serve("stats", stats_routes);
}
