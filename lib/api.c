/*
 * api.c - the authenticated half of the request loop; see api.h.
 *
 * Order matters and is part of the contract: the token is verified before
 * the database is touched (a forged token costs no round trip); the role
 * is checked right after the caller is resolved and before the handler
 * looks anything up, so a role that may not use an endpoint gets 403
 * whatever the id; and the response a handler set is only written after
 * nv_db_tx committed (lib/http writes it after we return).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"

static unsigned
api_role_bit(enum nv_role r)
{
	switch (r) {
	case NV_ROLE_SALES_REP:	return NV_ROUTE_SALES_REP;
	case NV_ROLE_MANAGER:	return NV_ROUTE_MANAGER;
	case NV_ROLE_ADMIN:	return NV_ROUTE_ADMIN;
	}
	return 0;
}

struct api_call {
	struct nv_req		*req;
	struct nv_claims	 claims;
	struct nv_principal	 principal;
};

static enum nv_err
api_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct api_call *call = arg;
	struct nv_req *req = call->req;
	enum nv_err rc;

	rc = nv_auth_resolve(a, d, &call->claims, &call->principal);
	if (rc != NV_OK)
		return rc;
	req->auth = &call->principal;
	req->tenant = call->principal.dealership_id;
	nv_log_set_request(req->request_id, req->tenant, req->path);
	if ((api_role_bit(call->principal.role) & req->rt->roles) == 0)
		return nv_req_fail(req, NV_ERR_FORBIDDEN,
		    "the %s role may not use this endpoint",
		    nv_auth_role_str(call->principal.role));
	if (req->rt->roles & NV_ROUTE_READ1)
		nv_db_commit_next();
	return req->rt->handler(req);
}

/*
 * Nothing a handler set survives a failed transaction: its answer and its
 * headers (back to headers, what the request had before it).
 */
static void
api_unanswer(struct nv_req *req, char *headers)
{
	req->headers = headers;
	req->status = 0;
	req->body = NULL;
	req->body_len = 0;
	req->ctype = NULL;
}

enum nv_err
nv_api_run(struct nv_req *req)
{
	struct api_call *call;
	const char *hdr, *token;
	char *headers;
	enum nv_err rc;

	hdr = nv_req_env(req, "HTTP_AUTHORIZATION");
	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0) {
		nv_req_header(req, "WWW-Authenticate", "Bearer");
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED,
		    "an Authorization: Bearer token is required");
	}
	token = hdr + 7;
	while (*token == ' ')
		token++;
	call = nv_arena_alloc(req->arena, sizeof(*call));
	call->req = req;
	rc = nv_auth_verify(req->arena, &req->diag, token, (long)time(NULL),
	    &call->claims);
	if (rc != NV_OK) {
		if (rc == NV_ERR_UNAUTHORIZED)
			nv_req_header(req, "WWW-Authenticate",
			    "Bearer error=\"invalid_token\"");
		return rc;
	}
	headers = req->headers;
	rc = nv_db_tx(req->arena, &req->diag, NULL, api_work, call);
	if (rc != NV_OK && nv_db_deferred_failed()) {
		/*
		 * The re-check of a cached caller failed (the user or the
		 * dealership changed, or the connection went): nothing of the
		 * request ran.  Answer it once more through the database's
		 * own resolution, which refuses or re-caches the caller.
		 */
		nv_auth_forget(&call->claims);
		api_unanswer(req, headers);
		nv_diag_reset(&req->diag);
		rc = nv_db_tx(req->arena, &req->diag, NULL, api_work, call);
	}
	if (rc != NV_OK)
		api_unanswer(req, headers);
	if (rc == NV_ERR_UNAUTHORIZED)	/* unknown user or organisation */
		nv_req_header(req, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
	return rc;
}

int
nv_api_serve(const char *prog, const struct nv_route *routes)
{
	struct nv_diag d;

	nv_diag_reset(&d);
	if (nv_auth_init(&d) != NV_OK) {
		fprintf(stderr, "%s: configuration error: %s\n", prog, d.msg);
		return 2;
	}
	nv_http_set_runner(nv_api_run);
	return nv_http_serve(prog, routes);
}
