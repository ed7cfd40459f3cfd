/*
 * facebook - Meta Lead Ads webhook (SPEC section 6, INTEGRATIONS.md 4).
 *
 *   GET  /webhooks/facebook   subscription handshake
 *   POST /webhooks/facebook   leadgen notifications
 *
 * No token.  The handshake echoes hub.challenge when hub.mode is
 * "subscribe" and hub.verify_token is NORVALT_META_VERIFY_TOKEN.  A
 * notification must carry X-Hub-Signature-256 over the raw body keyed
 * with NORVALT_META_APP_SECRET; without a secret nothing is accepted
 * (503).  The ids are read from the raw text (lib/meta), never through a
 * double.  Each leadgen change's page_id names a dealership through
 * settings.facebook_page_id (database, definer function); an unknown or
 * inactive Page is logged and skipped.
 *
 * The webhook never calls the Graph API (SPEC section 1: webhooks never
 * wait on a provider).  Each valid change becomes a 'facebook_fetch' job,
 * one per leadgen_id while one is queued or running, and Meta gets its
 * 200 at once: it retries non-2xx answers for hours and then disables
 * the subscription, and a batch of up to 1000 changes must not hold a
 * FastCGI worker for a Graph round trip each.  norvalt-worker fetches
 * the lead and files it through lib/intake with the leadgen_id as its
 * idempotency key, so Meta's retries are harmless.  Only a database
 * failure is answered with an error (Meta retries; the keys make that
 * safe).
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "../lib/config.h"
#include "../lib/http.h"
#include "../lib/log.h"
#include "../lib/meta.h"
#include "../lib/rls.h"

static enum nv_err
fb_verify(struct nv_req *req)
{
	static const char *const allowed[] = {
		"hub.mode", "hub.verify_token", "hub.challenge", NULL
	};
	const char *mode, *token, *challenge, *want;
	enum nv_err rc;

	want = nv_config_str(NV_CFG_META_VERIFY_TOKEN);
	if (want == NULL || *want == '\0') {
		nv_log_error("NORVALT_META_VERIFY_TOKEN is not set: Meta "
		    "subscription handshake refused");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE,
		    "the Facebook webhook is not configured");
	}
	if ((rc = nv_req_query_parse(req, allowed)) != NV_OK)
		return rc;
	mode = nv_req_query(req, "hub.mode");
	token = nv_req_query(req, "hub.verify_token");
	challenge = nv_req_query(req, "hub.challenge");
	if (mode == NULL || strcmp(mode, "subscribe") != 0 ||
	    !nv_meta_token_ok(want, token))
		return nv_req_fail(req, NV_ERR_FORBIDDEN,
		    "hub.mode or hub.verify_token is not accepted");
	if (!nv_meta_challenge_ok(challenge)) {
		nv_diag_field(&req->diag, "hub.challenge", "must be 1 to 128 "
		    "letters and digits");
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "hub.challenge is not valid");
	}
	return nv_req_body_set(req, 200, "text/plain", challenge,
	    strlen(challenge));
}

/*
 * Queue one leadgen change for the worker; *queued is incremented when it
 * was.  page and dealer cache the last Page looked up, since a
 * notification's changes mostly name the same one.  Only a database
 * failure is returned; everything else is logged and skipped.
 */
static enum nv_err
fb_change(struct nv_req *req, const struct nv_meta_change *ch,
    const char **page, const char **dealer, int *queued)
{
	struct nv_diag d;
	struct nv_rls_ctx ctx;
	enum nv_err rc;
	int active;

	memset(&d, 0, sizeof(d));
	if (!nv_meta_id_ok(ch->leadgen_id)) {
		nv_log_warn("facebook: leadgen change without a valid "
		    "leadgen_id skipped");
		return NV_OK;
	}
	if (*page == NULL || ch->page_id == NULL ||
	    strcmp(*page, ch->page_id) != 0) {
		*page = ch->page_id;
		*dealer = NULL;
		rc = nv_meta_page_dealership(req->arena, &d, ch->page_id,
		    dealer, &active);
		if (rc == NV_OK && !active)
			*dealer = NULL;
		else if (rc != NV_OK && rc != NV_ERR_NOT_FOUND) {
			*page = NULL;
			return nv_req_fail(req, rc, "the dealership of the "
			    "page could not be read");
		}
	}
	if (*dealer == NULL) {
		nv_log_warn("facebook: lead %s for page %s skipped: no active "
		    "dealership has this page", ch->leadgen_id,
		    nv_meta_id_ok(ch->page_id) ? ch->page_id : "(invalid)");
		return NV_OK;
	}
	req->tenant = *dealer;
	memset(&ctx, 0, sizeof(ctx));
	ctx.dealership_id = *dealer;
	ctx.actor = NV_META_SCOPE;
	ctx.request_id = req->request_id;
	if ((rc = nv_meta_queue_fetch(req->arena, &d, &ctx, ch)) != NV_OK)
		return nv_req_fail(req, rc, "the lead could not be queued");
	(*queued)++;
	return NV_OK;
}

static enum nv_err
fb_post(struct nv_req *req)
{
	struct nv_meta_change *ch;
	const char *secret, *body;
	const char *page = NULL, *dealer = NULL;
	enum nv_err rc;
	size_t len, n, i;
	int queued = 0;
	char *out;

	secret = nv_config_str(NV_CFG_META_APP_SECRET);
	if (secret == NULL || *secret == '\0') {
		nv_log_error("NORVALT_META_APP_SECRET is not set: Meta lead "
		    "notifications refused");
		return nv_req_fail(req, NV_ERR_UNAVAILABLE,
		    "the Facebook webhook is not configured");
	}
	if (!nv_req_ctype_is(req, "application/json"))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE,
		    "the body must be application/json");
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (!nv_meta_signature_ok(secret, body, len,
	    nv_req_env(req, "HTTP_X_HUB_SIGNATURE_256")))
		return nv_req_fail(req, NV_ERR_UNAUTHORIZED, "X-Hub-Signature-"
		    "256 is missing or does not match the body");
	if ((rc = nv_meta_changes(req->arena, &req->diag, body, len, &ch,
	    &n)) != NV_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (ch[i].field == NULL || strcmp(ch[i].field, "leadgen") != 0)
			continue;
		if ((rc = fb_change(req, &ch[i], &page, &dealer, &queued)) !=
		    NV_OK)
			return rc;
	}
	out = nv_arena_printf(req->arena, "{\"received\":true,\"queued\":%d}",
	    queued);
	return nv_req_json(req, 200, out, strlen(out));
}

static const struct nv_route fb_routes[] = {
	{ "GET", "/webhooks/facebook", fb_verify, NV_ROUTE_PUBLIC },
	{ "POST", "/webhooks/facebook", fb_post, NV_ROUTE_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("facebook", required,
	    sizeof(required) / sizeof(required[0]));
	return nv_http_serve("facebook", fb_routes);
}
