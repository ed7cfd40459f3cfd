/*
 * adf - the ADF/XML lead webhook (SPEC section 6).
 *
 *   POST /webhooks/adf/{dealership_id}   an ADF 1.0 document
 *
 * The same rules as the form webhook (cgi-bin/webhooks.c): no token; the
 * dealership from the path is resolved by the database first and only then
 * used as the RLS context; with a webhook secret, X-Norvalt-Signature is
 * checked over the raw body before the XML is even looked at.  lib/adf
 * parses the document safely into a struct nv_intake_lead (source "adf",
 * message channel "email", as ADF mostly travels by e-mail) and lib/intake
 * does the rest: Idempotency-Key, duplicates, lead + message + reply job,
 * the answer only after COMMIT.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "../lib/adf.h"
#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/http.h"
#include "../lib/intake.h"
#include "../lib/models/dealership.h"
#include "../lib/rls.h"
#include "../lib/valid.h"

#define ADF_SCOPE	"webhook:adf"

struct adf_lookup {
	const char		*id;
	struct nv_dealership_pub pub;
};

static enum nv_err
adf_lookup_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct adf_lookup *f = arg;

	return nv_dealership_lookup(a, d, f->id, &f->pub);
}

/* 1 when the media type of ct (parameters ignored) is type. */
static int
adf_ctype(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return ct != NULL && strncasecmp(ct, type, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum nv_err
adf_post(struct nv_req *req)
{
	struct nv_intake_answer ans;
	struct nv_adf_lead adf;
	struct adf_lookup f;
	struct nv_rls_ctx ctx;
	const char *body, *ct, *key;
	enum nv_err rc;
	size_t len;

	memset(&f, 0, sizeof(f));
	f.id = nv_req_param(req, "dealership_id");
	if (f.id == NULL || !nv_valid_uuid(f.id)) {
		nv_diag_field(&req->diag, "dealership_id", "must be a uuid");
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "dealership_id is not a valid id");
	}
	rc = nv_db_tx(req->arena, &req->diag, NULL, adf_lookup_work, &f);
	if (rc == NV_ERR_NOT_FOUND || (rc == NV_OK && !f.pub.active))
		return nv_req_fail(req, NV_ERR_NOT_FOUND,
		    "dealership not found");
	if (rc != NV_OK)
		return rc;
	req->tenant = f.pub.id;

	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (f.pub.webhook_secret != NULL && *f.pub.webhook_secret != '\0' &&
	    !nv_intake_signature_ok(f.pub.webhook_secret, body, len,
	    nv_req_env(req, "HTTP_X_NORVALT_SIGNATURE")))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "X-Norvalt-"
		    "Signature is missing or does not match the body");

	ct = nv_req_env(req, "CONTENT_TYPE");
	if (!adf_ctype(ct, "application/xml") && !adf_ctype(ct, "text/xml"))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE,
		    "the body must be application/xml or text/xml");

	key = nv_req_env(req, "HTTP_IDEMPOTENCY_KEY");
	if (key != NULL && (*key == '\0' || strlen(key) > NV_INTAKE_KEY_MAX ||
	    !nv_valid_text(key, strlen(key)))) {
		nv_diag_field(&req->diag, "Idempotency-Key", "must be 1 to %d "
		    "bytes of text", NV_INTAKE_KEY_MAX);
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "invalid Idempotency-Key header");
	}

	if ((rc = nv_adf_parse(req->arena, &req->diag, body, len, &adf)) !=
	    NV_OK)
		return rc;
	memset(&ctx, 0, sizeof(ctx));
	ctx.dealership_id = f.pub.id;
	ctx.actor = ADF_SCOPE;
	ctx.request_id = req->request_id;
	rc = nv_intake_submit(req->arena, &req->diag, &ctx, &adf.lead,
	    ADF_SCOPE, key, &ans);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, ans.status, ans.body, strlen(ans.body));
}

static const struct nv_route adf_routes[] = {
	{ "POST", "/webhooks/adf/{dealership_id}", adf_post,
	    NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("adf", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_http_serve("adf", adf_routes);
}
