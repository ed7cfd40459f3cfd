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
#include "../lib/valid.h"

#define ADF_SCOPE	"webhook:adf"

/* The checks of an ADF post, inside the intake transaction. */
static enum nv_err
adf_check(struct nv_req *req, const struct nv_dealership_pub *pub, void *arg,
    struct nv_intake_sub *sub)
{
	struct nv_adf_lead *adf = arg;
	const char *body, *key;
	enum nv_err rc;
	size_t len;

	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (pub->webhook_secret != NULL && *pub->webhook_secret != '\0' &&
	    !nv_intake_signature_ok(pub->webhook_secret, body, len,
	    nv_req_env(req, "HTTP_X_NORVALT_SIGNATURE")))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "X-Norvalt-"
		    "Signature is missing or does not match the body");

	/* application/x-adf+xml: the type the ADF document suggests. */
	if (!nv_req_ctype_is(req, "application/xml") &&
	    !nv_req_ctype_is(req, "text/xml") &&
	    !nv_req_ctype_is(req, "application/x-adf+xml"))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE, "the body must be "
		    "application/xml, text/xml or application/x-adf+xml");

	key = nv_req_env(req, "HTTP_IDEMPOTENCY_KEY");
	if (key != NULL && (*key == '\0' || strlen(key) > NV_INTAKE_KEY_MAX ||
	    !nv_valid_text(key, strlen(key)))) {
		nv_diag_field(&req->diag, "Idempotency-Key", "must be 1 to %d "
		    "bytes of text", NV_INTAKE_KEY_MAX);
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "invalid Idempotency-Key header");
	}

	if ((rc = nv_adf_parse(req->arena, &req->diag, body, len, adf)) !=
	    NV_OK)
		return rc;
	sub->lead = adf->lead;
	sub->scope = ADF_SCOPE;
	sub->key = key;
	return NV_OK;
}

static enum nv_err
adf_post(struct nv_req *req)
{
	struct nv_intake_answer ans;
	struct nv_adf_lead adf;
	enum nv_err rc;

	memset(&adf, 0, sizeof(adf));
	if ((rc = nv_intake_webhook(req, ADF_SCOPE, adf_check, &adf, &ans)) !=
	    NV_OK)
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
