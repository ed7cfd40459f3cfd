/*
 * sms - Twilio's inbound SMS webhook (SPEC sections 6 and 7).
 *
 *   POST /webhooks/sms/{dealership_id}
 *
 * No token: the dealership comes from the path and is resolved by the
 * database before anything else.  X-Twilio-Signature is checked over the
 * raw body with NORVALT_TWILIO_AUTH_TOKEN and the URL Twilio posted to:
 * NORVALT_PUBLIC_URL (default NORVALT_BASE_URL) + the request URI as the
 * client sent it, query included.  Without a token nothing is accepted
 * (503).  MessageSid is the idempotency key, so Twilio's retries are
 * harmless.  An opt-out or opt-in keyword is recorded by lib/twilio; any
 * other message joins the lead with that phone number (30 days) or makes
 * a new one through lib/intake.
 *
 * The answer is an empty TwiML document: the reply, if any, is sent by
 * the worker later, never inline.  Errors stay JSON (Twilio only logs
 * them and retries).
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/http.h"
#include "../lib/intake.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/models/dealership.h"
#include "../lib/rls.h"
#include "../lib/twilio.h"
#include "../lib/valid.h"

#define SMS_TWIML \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
#define SMS_BODY_MAX	20000

/* A posted string parameter, or NULL when absent. */
static const char *
sms_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The URL Twilio signed: the public base URL + the raw request URI. */
static const char *
sms_url(struct nv_req *req)
{
	const char *base, *uri;
	size_t n;

	base = nv_config_str(NV_CFG_PUBLIC_URL);
	if (base == NULL || *base == '\0')
		base = nv_config_str(NV_CFG_BASE_URL);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	uri = nv_req_env(req, "REQUEST_URI");
	if (uri == NULL || *uri == '\0')
		uri = *req->query != '\0' ? nv_arena_cat(req->arena, req->path,
		    "?", req->query, (char *)NULL) : req->path;
	return nv_arena_printf(req->arena, "%.*s%s", (int)n, base, uri);
}

/*
 * The SMS in o as a lead: From (E.164), Body (trimmed; NULL when blank)
 * and what Twilio says about the message in metadata.sms.
 */
static enum nv_err
sms_lead(struct nv_req *req, const cJSON *o, struct nv_intake_lead *l)
{
	char phone[NV_PHONE_MAX];
	const char *from, *body, *e;
	cJSON *meta, *sms;
	static const char *const keep[][2] = {
		{ "MessageSid", "message_sid" }, { "AccountSid", "account_sid" },
		{ "MessagingServiceSid", "messaging_service_sid" },
		{ "To", "to" }, { "NumMedia", "num_media" },
		{ "NumSegments", "num_segments" }, { NULL, NULL }
	};
	size_t i;

	memset(l, 0, sizeof(*l));
	l->source = "sms";
	l->channel = "sms";
	l->empty_message = "(SMS without text)";
	from = sms_field(o, "From");
	if (from == NULL || strlen(from) > 40 ||
	    nv_valid_phone(from, NV_DEFAULT_CC, phone) != NV_OK) {
		nv_diag_field(&req->diag, "From", "is not a phone number");
		return nv_req_fail(req, NV_ERR_VALIDATION,
		    "the sender is not a phone number");
	}
	l->phone = nv_arena_strdup(req->arena, phone);
	if ((body = sms_field(o, "Body")) != NULL) {
		while (isspace((unsigned char)*body))
			body++;
		e = body + strlen(body);
		while (e > body && isspace((unsigned char)e[-1]))
			e--;
		if ((size_t)(e - body) > SMS_BODY_MAX) {
			nv_diag_field(&req->diag, "Body", "must be at most %d "
			    "bytes", SMS_BODY_MAX);
			return nv_req_fail(req, NV_ERR_VALIDATION,
			    "the message is too long");
		}
		if (e > body)
			l->message = nv_arena_strndup(req->arena, body,
			    (size_t)(e - body));
	}
	meta = cJSON_CreateObject();
	sms = cJSON_AddObjectToObject(meta, "sms");
	for (i = 0; keep[i][0] != NULL; i++)
		if ((body = sms_field(o, keep[i][0])) != NULL)
			cJSON_AddStringToObject(sms, keep[i][1], body);
	l->metadata = nv_json_print(req->arena, meta);
	cJSON_Delete(meta);
	return NV_OK;
}

/* What sms_check leaves for an opt-out keyword, handled after it. */
struct sms_post {
	enum nv_twilio_keyword	 kw;
	const char		*phone;
	const char		*message;
	const char		*sid;
};

/*
 * The checks of an inbound SMS, inside the intake transaction: the auth
 * token is configured, the signature holds, the fields make a lead.  An
 * opt-out or opt-in keyword is left to sms_post (sub->skip).
 */
static enum nv_err
sms_check(struct nv_req *req, const struct nv_dealership_pub *pub, void *arg,
    struct nv_intake_sub *sub)
{
	struct sms_post *sp = arg;
	const char *body, *token, *sid;
	enum nv_err rc;
	size_t len;
	cJSON *o;

	(void)pub;
	token = nv_config_str(NV_CFG_TWILIO_AUTH_TOKEN);
	if (token == NULL || *token == '\0') {
		nv_log_error("NORVALT_TWILIO_AUTH_TOKEN is not set: inbound "
		    "SMS refused");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE,
		    "the SMS webhook is not configured");
	}
	if (!nv_req_ctype_is(req,
	    "application/x-www-form-urlencoded"))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE, "the body must be "
		    "application/x-www-form-urlencoded");
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (!nv_twilio_signature_ok(req->arena, token, sms_url(req), body,
	    len, nv_req_env(req, "HTTP_X_TWILIO_SIGNATURE")))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "X-Twilio-"
		    "Signature is missing or does not match the request");
	if ((rc = nv_intake_form_decode(req->arena, &req->diag, body, len,
	    &o)) != NV_OK)
		return rc;

	sid = sms_field(o, "MessageSid");
	if (sid == NULL || *sid == '\0' || strlen(sid) > NV_INTAKE_KEY_MAX) {
		nv_diag_field(&req->diag, "MessageSid", "must be 1 to %d bytes",
		    NV_INTAKE_KEY_MAX);
		return nv_req_fail(req, NV_ERR_VALIDATION,
		    "the message has no valid MessageSid");
	}
	if ((rc = sms_lead(req, o, &sub->lead)) != NV_OK)
		return rc;
	sub->scope = NV_TWILIO_SCOPE;
	sub->key = sid;
	sp->kw = nv_twilio_keyword(sub->lead.message);
	if (sp->kw != NV_TWILIO_NONE) {
		sp->phone = sub->lead.phone;
		sp->message = sub->lead.message;
		sp->sid = sid;
		sub->skip = true;
	}
	return NV_OK;
}

static enum nv_err
sms_post(struct nv_req *req)
{
	struct nv_intake_answer ans;
	struct nv_rls_ctx ctx;
	struct sms_post sp;
	enum nv_err rc;

	memset(&sp, 0, sizeof(sp));
	if ((rc = nv_intake_webhook(req, NV_TWILIO_SCOPE, sms_check, &sp,
	    &ans)) != NV_OK)
		return rc;
	if (ans.skipped) {
		/* STOP / START: a transaction of its own (lib/twilio). */
		memset(&ctx, 0, sizeof(ctx));
		ctx.dealership_id = req->tenant;
		ctx.actor = NV_TWILIO_SCOPE;
		ctx.request_id = req->request_id;
		rc = nv_twilio_keyword_submit(req->arena, &req->diag, &ctx,
		    sp.kw, sp.phone, sp.message, sp.sid, &ans);
		if (rc != NV_OK)
			return rc;
	}
	return nv_req_body_set(req, 200, "text/xml", SMS_TWIML,
	    sizeof(SMS_TWIML) - 1);
}

static const struct nv_route sms_routes[] = {
	{ "POST", "/webhooks/sms/{dealership_id}", sms_post,
	    NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("sms", required, sizeof(required) / sizeof(required[0]));
	return nv_http_serve("sms", sms_routes);
}
