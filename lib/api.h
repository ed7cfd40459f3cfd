/*
 * api.h - running an authenticated route.
 *
 * A binary with authenticated routes calls nv_api_serve() instead of
 * nv_http_serve().  For a route whose roles are not NV_ROUTE_PUBLIC,
 * lib/http then calls nv_api_run(), which:
 *   1. takes the Bearer token from Authorization (401 when absent),
 *   2. verifies it (lib/auth: RS256 pinned, claims checked) - no database,
 *   3. opens the request's transaction and, in its first statement,
 *      resolves the organisation and user and sets the RLS context
 *      (nv_auth_resolve: one round trip),
 *   4. checks the caller's role against the route's mask (403) before the
 *      handler looks anything up,
 *   5. runs the handler inside the transaction; the response is written
 *      only after COMMIT succeeded.
 */
#ifndef NV_API_H
#define NV_API_H

#include "err.h"

struct nv_req;
struct nv_route;

/*
 * Check the authentication configuration (stops the program with one line
 * when the key is missing or unusable), then serve like nv_http_serve.
 */
int nv_api_serve(const char *prog, const struct nv_route *routes);

enum nv_err nv_api_run(struct nv_req *req);

#endif /* NV_API_H */
