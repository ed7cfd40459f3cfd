/*
 * webhooks - public lead webhooks (SPEC section 6).
 *
 *   POST /webhooks/form/{dealership_id}   a website's lead form
 *
 * No token: the dealership comes from the path and is resolved by the
 * database (nv_intake_webhook) before anything else; only then is its id
 * used as the RLS context.  When the dealership has a webhook secret,
 * X-Norvalt-Signature is checked over the raw body before it is parsed.
 * The form's fields become a struct nv_intake_lead; lib/intake does the
 * rest (Idempotency-Key, duplicates, lead + message + reply job) in the
 * same transaction, two round trips in all, and the answer is sent only
 * after it committed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "../lib/config.h"
#include "../lib/db.h"
#include "../lib/http.h"
#include "../lib/intake.h"
#include "../lib/json.h"
#include "../lib/models/dealership.h"
#include "../lib/rls.h"
#include "../lib/valid.h"

#define FORM_SCOPE	"webhook:form"

static const char *const form_utm[] = {
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	NULL
};

static const char *const form_consents[] = {
	"consent_email", "consent_sms", "consent_marketing", NULL
};

/*
 * A text field: absent, null or blank is NULL; a string is trimmed and
 * checked against max bytes; a number is taken as written (phones).
 * Anything else, or too long, is a detail on d and *bad is set.
 */
static const char *
form_text(struct nv_req *req, const cJSON *o, const char *name, size_t max,
    bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char *s, *e;

	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (cJSON_IsNumber(v) && strcmp(name, "phone") == 0)
		return nv_json_print(req->arena, v);
	if (!cJSON_IsString(v)) {
		nv_diag_field(&req->diag, name, "must be a string");
		*bad = true;
		return NULL;
	}
	s = v->valuestring;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return NULL;
	if ((size_t)(e - s) > max || !nv_valid_text(s, (size_t)(e - s))) {
		nv_diag_field(&req->diag, name, "must be text of at most %zu "
		    "bytes", max);
		*bad = true;
		return NULL;
	}
	return nv_arena_strndup(req->arena, s, (size_t)(e - s));
}

/* A consent flag into consent (true/false); a detail when unreadable. */
static void
form_consent(struct nv_req *req, const cJSON *o, const char *name,
    cJSON *consent, bool *bad)
{
	static const char *const yes[] = { "on", "true", "1", "yes", NULL };
	static const char *const no[] = { "off", "false", "0", "no", "", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	const char *kind = name + strlen("consent_");
	size_t i;

	if (v == NULL || cJSON_IsNull(v))
		return;
	if (cJSON_IsBool(v)) {
		cJSON_AddBoolToObject(consent, kind, cJSON_IsTrue(v));
		return;
	}
	if (cJSON_IsString(v)) {
		for (i = 0; yes[i] != NULL; i++)
			if (strcasecmp(v->valuestring, yes[i]) == 0) {
				cJSON_AddTrueToObject(consent, kind);
				return;
			}
		for (i = 0; no[i] != NULL; i++)
			if (strcasecmp(v->valuestring, no[i]) == 0) {
				cJSON_AddFalseToObject(consent, kind);
				return;
			}
	}
	nv_diag_field(&req->diag, name, "must be true, false, on, 1 or 0");
	*bad = true;
}

/*
 * The posted object o as a lead: names (name split at the last space
 * unless first_name/last_name are given), contact (e-mail lower-cased,
 * phone E.164), message, vehicle, consent, and metadata holding every
 * posted field ("form") and the UTM fields ("utm").
 */
static enum nv_err
form_lead(struct nv_req *req, cJSON *o, struct nv_intake_lead *l)
{
	struct nv_arena *a = req->arena;
	char phone[NV_PHONE_MAX], *email, *sp;
	const char *name, *v;
	cJSON *consent, *meta, *utm, *form;
	bool bad = false;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->source = "web_form";
	l->channel = "web";
	l->empty_message = "(form submitted without a message)";
	l->first_name = form_text(req, o, "first_name", 200, &bad);
	l->last_name = form_text(req, o, "last_name", 200, &bad);
	name = form_text(req, o, "name", 400, &bad);
	if (name != NULL && l->first_name == NULL && l->last_name == NULL) {
		if ((sp = strrchr(name, ' ')) != NULL) {
			l->first_name = nv_arena_strndup(a, name,
			    (size_t)(sp - name));
			l->last_name = nv_arena_strdup(a, sp + 1);
			while ((sp = strrchr(l->first_name, ' ')) != NULL &&
			    sp[1] == '\0')
				*sp = '\0';
		} else {
			l->first_name = name;
		}
		if (strlen(l->first_name) > 200 || strlen(l->last_name != NULL ?
		    l->last_name : "") > 200) {
			nv_diag_field(&req->diag, "name", "each part must be "
			    "at most 200 bytes");
			bad = true;
		}
	}
	if ((v = form_text(req, o, "email", 254, &bad)) != NULL) {
		email = nv_arena_strdup(a, v);
		for (sp = email; *sp != '\0'; sp++)
			*sp = (char)tolower((unsigned char)*sp);
		if (nv_valid_email(email)) {
			l->email = email;
		} else {
			nv_diag_field(&req->diag, "email",
			    "is not a valid e-mail address");
			bad = true;
		}
	}
	if ((v = form_text(req, o, "phone", 40, &bad)) != NULL) {
		if (nv_valid_phone(v, NV_DEFAULT_CC, phone) == NV_OK) {
			l->phone = nv_arena_strdup(a, phone);
		} else {
			nv_diag_field(&req->diag, "phone",
			    "is not a valid phone number");
			bad = true;
		}
	}
	l->message = form_text(req, o, "message", 20000, &bad);
	l->vehicle_interest = form_text(req, o, "vehicle_interest", 500, &bad);
	if ((v = form_text(req, o, "vehicle", 500, &bad)) != NULL &&
	    l->vehicle_interest == NULL)
		l->vehicle_interest = v;

	consent = cJSON_CreateObject();
	for (i = 0; form_consents[i] != NULL; i++)
		form_consent(req, o, form_consents[i], consent, &bad);
	l->consent = nv_json_print(a, consent);
	cJSON_Delete(consent);

	if (!bad && l->email == NULL && l->phone == NULL) {
		nv_diag_field(&req->diag, "email", "an e-mail address or a "
		    "phone number is required");
		nv_diag_field(&req->diag, "phone", "an e-mail address or a "
		    "phone number is required");
		return nv_req_fail(req, NV_ERR_VALIDATION,
		    "a lead needs an e-mail address or a phone number");
	}
	if (bad)
		return nv_req_fail(req, NV_ERR_VALIDATION,
		    "the form has invalid fields");

	meta = cJSON_CreateObject();
	form = cJSON_Duplicate(o, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(form, "website");
	cJSON_AddItemToObject(meta, "form", form);
	utm = cJSON_CreateObject();
	for (i = 0; form_utm[i] != NULL; i++) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(o,
		    form_utm[i]);

		if (u != NULL && !cJSON_IsNull(u))
			cJSON_AddItemToObject(utm, form_utm[i] + 4,
			    cJSON_Duplicate(u, 1));
	}
	if (utm->child != NULL)
		cJSON_AddItemToObject(meta, "utm", utm);
	else
		cJSON_Delete(utm);
	l->metadata = nv_json_print(a, meta);
	cJSON_Delete(meta);
	return NV_OK;
}

/* 1 when the honeypot field "website" holds anything but blank/false. */
static int
form_honeypot(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "website");

	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsString(v))
		return v->valuestring[strspn(v->valuestring, " \t\r\n")] !=
		    '\0';
	return 1;
}

/*
 * The form post's checks, inside the intake transaction once the
 * dealership is known: signature over the raw body, then the body, the
 * Idempotency-Key, the honeypot and the fields.
 */
static enum nv_err
form_check(struct nv_req *req, const struct nv_dealership_pub *pub,
    void *arg, struct nv_intake_sub *sub)
{
	const char *body, *key;
	enum nv_err rc;
	size_t len;
	cJSON *o;

	(void)arg;
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (pub->webhook_secret != NULL && *pub->webhook_secret != '\0' &&
	    !nv_intake_signature_ok(pub->webhook_secret, body, len,
	    nv_req_env(req, "HTTP_X_NORVALT_SIGNATURE")))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "X-Norvalt-"
		    "Signature is missing or does not match the body");

	if (nv_req_ctype_is(req, "application/json")) {
		if (!nv_valid_text(body, len))
			return nv_req_fail(req, NV_ERR_BAD_REQUEST,
			    "the body is not valid UTF-8 text");
		if ((rc = nv_json_parse(req->arena, &req->diag, body, len,
		    &o)) != NV_OK)
			return rc;
		if (!cJSON_IsObject(o))
			return nv_req_fail(req, NV_ERR_BAD_REQUEST,
			    "the body must be a JSON object");
	} else if (nv_req_ctype_is(req,
	    "application/x-www-form-urlencoded")) {
		if ((rc = nv_intake_form_decode(req->arena, &req->diag, body,
		    len, &o)) != NV_OK)
			return rc;
	} else {
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE, "the body must be "
		    "application/json or application/x-www-form-urlencoded");
	}

	key = nv_req_env(req, "HTTP_IDEMPOTENCY_KEY");
	if (key != NULL && (*key == '\0' || strlen(key) > NV_INTAKE_KEY_MAX ||
	    !nv_valid_text(key, strlen(key)))) {
		nv_diag_field(&req->diag, "Idempotency-Key", "must be 1 to %d "
		    "bytes of text", NV_INTAKE_KEY_MAX);
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "invalid Idempotency-Key header");
	}

	/* A bot filled the hidden field: look like success, keep nothing. */
	if (form_honeypot(o)) {
		sub->skip = true;
		return NV_OK;
	}
	sub->scope = FORM_SCOPE;
	sub->key = key;
	return form_lead(req, o, &sub->lead);
}

static enum nv_err
form_post(struct nv_req *req)
{
	struct nv_intake_answer ans;
	unsigned char r[16];
	enum nv_err rc;
	char *honey;

	if ((rc = nv_intake_webhook(req, FORM_SCOPE, form_check, NULL,
	    &ans)) != NV_OK)
		return rc;
	if (ans.skipped) {
		/*
		 * The answer a real lead gets, with a random (version 4) id
		 * that names nothing, so a bot cannot tell it was caught.
		 */
		if (RAND_bytes(r, sizeof(r)) != 1)
			return nv_req_fail(req, NV_ERR_INTERNAL, "no random "
			    "bytes");
		r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
		r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
		honey = nv_arena_printf(req->arena, "{\"lead_id\":\"%02x%02x"
		    "%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
		    "%02x\",\"duplicate\":false}", r[0], r[1], r[2], r[3],
		    r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		    r[13], r[14], r[15]);
		return nv_req_json(req, 201, honey, strlen(honey));
	}
	return nv_req_json(req, ans.status, ans.body, strlen(ans.body));
}

static const struct nv_route webhooks_routes[] = {
	{ "POST", "/webhooks/form/{dealership_id}", form_post,
	    NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("webhooks", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_http_serve("webhooks", webhooks_routes);
}
