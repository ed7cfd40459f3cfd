/*
 * email - the inbound e-mail webhook (SPEC section 6).
 *
 *   POST /webhooks/email/{dealership_id}   an e-mail, Mailgun-style
 *
 * No token: the dealership comes from the path only (never from the
 * e-mail's From or recipient) and is resolved by the database before
 * anything else; only then is its id used as the RLS context.  The body is
 * application/x-www-form-urlencoded or multipart/form-data (Mailgun uses
 * the latter when there are attachments, which are ignored).
 *
 * Mailgun signs timestamp + token, not the body, with
 * NORVALT_MAILGUN_SIGNING_KEY: without that key nothing is accepted (503),
 * a bad signature or a timestamp more than five minutes off is 401.  The
 * token is the idempotency key (scope "webhook:email"), so a redelivery
 * returns the first answer and stores nothing new.  lib/mailgun turns the
 * fields into a lead (ADF or plain e-mail) and lib/intake does the rest.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/http.h"
#include "../lib/intake.h"
#include "../lib/log.h"
#include "../lib/mailgun.h"
#include "../lib/models/dealership.h"
#include "../lib/multipart.h"
#include "../lib/valid.h"

#define EMAIL_SCOPE	"webhook:email"

/* Largest single field or attachment of a multipart post. */
#define EMAIL_PART_MAX	(512 * 1024)

static void
email_json_delete(void *p)
{
	cJSON_Delete(p);
}

/*
 * The fields of a multipart body as a JSON object of strings (a name given
 * twice keeps the last); file parts (attachments) are skipped.
 */
static enum nv_err
email_multipart(struct nv_req *req, const char *ct, const char *body,
    size_t len, cJSON **out)
{
	struct nv_multipart_part *parts;
	const char *boundary;
	enum nv_err rc;
	size_t n, i;
	cJSON *o;

	if ((rc = nv_multipart_boundary(req->arena, &req->diag, ct,
	    &boundary)) != NV_OK)
		return rc;
	if ((rc = nv_multipart_parse(req->arena, &req->diag, body, len,
	    boundary, EMAIL_PART_MAX, &parts, &n)) != NV_OK)
		return rc;
	o = cJSON_CreateObject();
	nv_arena_defer(req->arena, email_json_delete, o);
	for (i = 0; i < n; i++) {
		if (parts[i].filename != NULL)
			continue;
		if (!nv_valid_text(parts[i].data, parts[i].len))
			return nv_req_fail(req, NV_ERR_BAD_REQUEST, "a form "
			    "field is not valid UTF-8 text");
		cJSON_DeleteItemFromObjectCaseSensitive(o, parts[i].name);
		cJSON_AddStringToObject(o, parts[i].name,
		    nv_arena_strndup(req->arena, parts[i].data, parts[i].len));
	}
	*out = o;
	return NV_OK;
}

static const char *
email_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * The checks of an e-mail delivery, inside the intake transaction: the
 * signing key is configured, the body parses, the signature and
 * timestamp hold, the fields make a lead.
 */
static enum nv_err
email_check(struct nv_req *req, const struct nv_dealership_pub *pub,
    void *arg, struct nv_intake_sub *sub)
{
	const char *body, *ct, *key, *token;
	enum nv_err rc;
	size_t len;
	cJSON *o;

	(void)pub;
	(void)arg;
	key = nv_config_str(NV_CFG_MAILGUN_SIGNING_KEY);
	if (key == NULL || *key == '\0') {
		nv_log_error("email: NORVALT_MAILGUN_SIGNING_KEY is not set; "
		    "refusing the delivery");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE, "the e-mail webhook "
		    "is not configured (no signing key)");
	}
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	ct = nv_req_env(req, "CONTENT_TYPE");
	if (nv_req_ctype_is(req, "application/x-www-form-urlencoded"))
		rc = nv_intake_form_decode(req->arena, &req->diag, body, len,
		    &o);
	else if (nv_req_ctype_is(req, "multipart/form-data"))
		rc = email_multipart(req, ct, body, len, &o);
	else
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE, "the body must be "
		    "application/x-www-form-urlencoded or multipart/form-data");
	if (rc != NV_OK)
		return rc;

	token = email_str(o, "token");
	if (!nv_mailgun_verify(key, email_str(o, "timestamp"), token,
	    email_str(o, "signature"), time(NULL)))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "the signature is "
		    "missing or invalid, or the timestamp is not recent");
	if (strlen(token) > NV_INTAKE_KEY_MAX) {
		nv_diag_field(&req->diag, "token", "must be at most %d bytes",
		    NV_INTAKE_KEY_MAX);
		return nv_req_fail(req, NV_ERR_BAD_REQUEST, "invalid token");
	}
	sub->scope = EMAIL_SCOPE;
	sub->key = token;
	return nv_mailgun_lead(req->arena, &req->diag, o, &sub->lead);
}

static enum nv_err
email_post(struct nv_req *req)
{
	struct nv_intake_answer ans;
	enum nv_err rc;

	if ((rc = nv_intake_webhook(req, EMAIL_SCOPE, email_check, NULL,
	    &ans)) != NV_OK)
		return rc;
	return nv_req_json(req, ans.status, ans.body, strlen(ans.body));
}

static const struct nv_route email_routes[] = {
	{ "POST", "/webhooks/email/{dealership_id}", email_post,
	    NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("email", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_http_serve("email", email_routes);
}
