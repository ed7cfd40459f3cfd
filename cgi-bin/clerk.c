/*
 * clerk - Clerk's webhook (SPEC section 6).
 *
 *   POST /webhooks/clerk   user, organisation and membership events
 *
 * No token: Clerk delivers through Svix, which signs the raw body with
 * the endpoint secret NORVALT_CLERK_WEBHOOK_SECRET.  The signature and its
 * timestamp are checked (lib/svix) before the body is even parsed; with no
 * secret configured nothing is accepted (503), never an unsigned event.
 * lib/clerk applies the event in one transaction, recording the svix-id so
 * a replay applies nothing, and the answer is sent only after COMMIT.  Any
 * non-2xx makes Svix retry: 503 when the database is down, while a bad
 * signature (401) or a malformed event (400) would fail again the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../lib/clerk.h"
#include "../lib/config.h"
#include "../lib/http.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/svix.h"

/* A Svix header, or its Standard Webhooks (webhook-*) name. */
static const char *
clerk_header(struct nv_req *req, const char *svix, const char *std)
{
	const char *v = nv_req_env(req, svix);

	return v != NULL ? v : nv_req_env(req, std);
}

static enum nv_err
clerk_post(struct nv_req *req)
{
	static const char ok[] = "{\"received\":true}";
	static const char dup[] = "{\"received\":true,\"duplicate\":true}";
	static const char ign[] = "{\"received\":true,\"ignored\":true}";
	struct nv_clerk_result res;
	const char *secret, *id, *body, *ct;
	enum nv_err rc;
	size_t len, n;
	cJSON *o;

	secret = nv_config_str(NV_CFG_CLERK_WEBHOOK_SECRET);
	if (secret == NULL || *secret == '\0') {
		nv_log_error("clerk: NORVALT_CLERK_WEBHOOK_SECRET is not set; "
		    "refusing the delivery");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE, "the clerk webhook "
		    "is not configured (no signing secret)");
	}
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	id = clerk_header(req, "HTTP_SVIX_ID", "HTTP_WEBHOOK_ID");
	rc = nv_svix_verify(secret, id,
	    clerk_header(req, "HTTP_SVIX_TIMESTAMP", "HTTP_WEBHOOK_TIMESTAMP"),
	    clerk_header(req, "HTTP_SVIX_SIGNATURE", "HTTP_WEBHOOK_SIGNATURE"),
	    body, len, time(NULL), &req->diag);
	if (rc == NV_ERR_CONFIG) {
		nv_log_error("clerk: NORVALT_CLERK_WEBHOOK_SECRET is not a "
		    "whsec_ secret; refusing the delivery");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE, "the clerk webhook "
		    "is not configured (invalid signing secret)");
	}
	if (rc != NV_OK)
		return rc;

	ct = nv_req_env(req, "CONTENT_TYPE");
	n = strlen("application/json");
	if (ct != NULL && *ct != '\0' && (strncasecmp(ct, "application/json",
	    n) != 0 || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ')))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE,
		    "the body must be application/json");
	if ((rc = nv_json_parse(req->arena, &req->diag, body, len, &o)) !=
	    NV_OK)
		return rc;
	rc = nv_clerk_apply(req->arena, &req->diag, id, o,
	    nv_config_str(NV_CFG_CLERK_ROLE_MAP), req->request_id, &res);
	if (rc != NV_OK)
		return rc;
	if (res.duplicate)
		return nv_req_json(req, 200, dup, sizeof(dup) - 1);
	if (res.ignored)
		return nv_req_json(req, 200, ign, sizeof(ign) - 1);
	return nv_req_json(req, 200, ok, sizeof(ok) - 1);
}

static const struct nv_route clerk_routes[] = {
	{ "POST", "/webhooks/clerk", clerk_post, NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };
	struct nv_diag d;

	nv_config_init("clerk", required,
	    sizeof(required) / sizeof(required[0]));
	nv_diag_reset(&d);
	if (nv_clerk_role_map_check(nv_config_str(NV_CFG_CLERK_ROLE_MAP),
	    &d) != NV_OK) {
		fprintf(stderr, "clerk: configuration error: %s: %s\n",
		    nv_config_name(NV_CFG_CLERK_ROLE_MAP), d.msg);
		return 2;
	}
	return nv_http_serve("clerk", clerk_routes);
}
