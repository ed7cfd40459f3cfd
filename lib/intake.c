/*
 * intake.c - taking a lead in from any inbound channel; see intake.h.
 *
 * One transaction per submission, and as few round trips as the rules
 * allow.  The rules themselves live in nv_intake_submit() (migration
 * 012), run as the app role under the tenant context: Idempotency-Key
 * lookup, advisory locks on the person's e-mail and phone (so two
 * simultaneous first contacts of the same person make one lead, not two;
 * e-mail first, then phone, by every caller, so they cannot deadlock),
 * duplicate search, then either a message + follow-up job on the existing
 * lead or lead + message + reply job, and finally the key with the answer.
 * That call goes out pipelined with COMMIT (nv_db_exec_commit).
 *
 * A webhook (nv_intake_webhook) first needs the dealership's secret to
 * check the signature over the raw body: BEGIN + nv_webhook_dealership()
 * is the first round trip (it also sets the context), the channel's check
 * runs in C, and the submission + COMMIT is the second.
 *
 * A key insert that loses a race (unique violation) rolls everything back;
 * a second transaction then reads the winner's answer.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <libpq-fe.h>

#include "db.h"
#include "http.h"
#include "intake.h"
#include "models/dealership.h"
#include "json.h"
#include "rls.h"
#include "valid.h"

static const struct nv_stmt intake_key_get = {
	"intake_key_get",
	"SELECT k.status, k.body FROM idempotency_keys k"
	" WHERE k.scope = $1 AND k.key = $2"
	" AND k.created_at >= now() - interval '24 hours'",
	2
};

/*
 * The whole submission in one statement (migration 012): key, locks,
 * duplicate search, message or lead + message + job, the key's answer.
 */
static const struct nv_stmt intake_submit = {
	"intake_submit",
	"SELECT answer_status, answer_body, replayed"
	" FROM nv_intake_submit($1, $2, $3::jsonb, $4, $5, $6::jsonb)",
	6
};

/* Active flag and secret; sets the tenant context when active (012). */
static const struct nv_stmt intake_dealer = {
	"intake_dealer",
	"SELECT active, webhook_secret"
	" FROM nv_webhook_dealership($1::uuid, $2, $3)",
	3
};

struct intake_job {
	const struct nv_intake_lead	*lead;
	const char			*scope;
	const char			*key;
	bool				 lookup_only;
	struct nv_intake_answer		*out;
};

/* The stored answer of key, if any: *found says whether there was one. */
static enum nv_err
intake_key_read(struct nv_arena *a, struct nv_diag *d, struct intake_job *j,
    bool *found)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;

	*found = false;
	params[0] = j->scope;
	params[1] = j->key;
	if ((rc = nv_db_exec(a, d, &intake_key_get, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return NV_OK;
	j->out->status = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	j->out->body = nv_arena_strdup(a, PQgetvalue(res, 0, 1));
	j->out->replayed = true;
	*found = true;
	return NV_OK;
}

/* The JSON text of lead l as intake_create reads it. */
static char *
intake_json(struct nv_arena *a, const struct nv_intake_lead *l)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

#define PUT(k, v) do { if ((v) != NULL) cJSON_AddStringToObject(o, k, v); \
	} while (0)
	PUT("first_name", l->first_name);
	PUT("last_name", l->last_name);
	PUT("email", l->email);
	PUT("phone", l->phone);
	PUT("source", l->source);
	PUT("vehicle_interest", l->vehicle_interest);
	PUT("message", l->message);
#undef PUT
	if (l->consent != NULL)
		cJSON_AddRawToObject(o, "consent", l->consent);
	if (l->metadata != NULL)
		cJSON_AddRawToObject(o, "metadata", l->metadata);
	s = nv_json_print(a, o);
	cJSON_Delete(o);
	return s;
}

/*
 * The submission of j: the stored answer only (lookup_only, after losing
 * a race on the key), or nv_intake_submit() pipelined with COMMIT, so a
 * new lead costs one round trip after the context is set.
 */
static enum nv_err
intake_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct intake_job *j = arg;
	const struct nv_intake_lead *l = j->lead;
	const char *params[6];
	PGresult *res;
	enum nv_err rc;
	bool found;

	if (j->lookup_only) {
		if (j->key != NULL) {
			if ((rc = intake_key_read(a, d, j, &found)) != NV_OK)
				return rc;
			if (found)
				return NV_OK;
		}
		return nv_diag_set(d, NV_ERR_CONFLICT, "a request with this "
		    "Idempotency-Key is still being processed");
	}

	if (l->email == NULL && l->phone == NULL) {
		nv_diag_field(d, "email", "an e-mail address or a phone number "
		    "is required");
		nv_diag_field(d, "phone", "an e-mail address or a phone number "
		    "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "a lead needs an e-mail address or a phone number");
	}
	params[0] = j->scope;
	params[1] = j->key;
	params[2] = intake_json(a, l);
	params[3] = l->channel;
	params[4] = l->message != NULL ? l->message :
	    l->empty_message != NULL ? l->empty_message :
	    "(submitted without a message)";
	params[5] = l->metadata;
	if ((rc = nv_db_exec_commit(a, d, &intake_submit, params, &res)) !=
	    NV_OK)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
	    PQgetisnull(res, 0, 1))
		return nv_diag_set(d, NV_ERR_INTERNAL, "the lead was not stored");
	j->out->status = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	j->out->body = nv_arena_strdup(a, PQgetvalue(res, 0, 1));
	j->out->replayed = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	return NV_OK;
}

/*
 * After a transaction failed with rc: when it lost a race on the key
 * (idempotency_keys_key), the winner's answer from a new transaction.
 */
static enum nv_err
intake_race(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, struct intake_job *j, enum nv_err rc)
{
	if (rc == NV_ERR_CONFLICT && j->key != NULL && d != NULL &&
	    d->ndetails > 0 &&
	    strcmp(d->details[0].field, "idempotency_keys_key") == 0) {
		nv_diag_reset(d);
		memset(j->out, 0, sizeof(*j->out));
		j->lookup_only = true;
		rc = nv_db_tx(a, d, ctx, intake_work, j);
	}
	return rc;
}

enum nv_err
nv_intake_submit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, const struct nv_intake_lead *lead,
    const char *scope, const char *key, struct nv_intake_answer *out)
{
	struct intake_job j;
	enum nv_err rc;

	assert(ctx != NULL && ctx->dealership_id != NULL);
	assert(scope != NULL && lead->source != NULL && lead->channel != NULL);
	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	j.lead = lead;
	j.scope = scope;
	j.key = key;
	j.out = out;
	rc = nv_db_tx(a, d, ctx, intake_work, &j);
	return intake_race(a, d, ctx, &j, rc);
}

static int
intake_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
nv_intake_signature_ok(const char *secret, const char *body, size_t len,
    const char *header)
{
	static const char prefix[] = "sha256=";
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	const char *hex;
	size_t i;
	int hi, lo;

	if (secret == NULL || header == NULL ||
	    strncmp(header, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	hex = header + sizeof(prefix) - 1;
	if (strlen(hex) != 2 * sizeof(want))
		return 0;
	for (i = 0; i < sizeof(want); i++) {
		hi = intake_hex((unsigned char)hex[2 * i]);
		lo = intake_hex((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, got, &glen) == NULL ||
	    glen != sizeof(want))
		return 0;
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

static void
intake_json_delete(void *p)
{
	cJSON_Delete(p);
}

/* Percent-decode s[0..n) into the arena; NULL when broken or not text. */
static char *
intake_unescape(struct nv_arena *a, const char *s, size_t n)
{
	char *out = nv_arena_alloc(a, n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (n - i < 3)
				return NULL;
			hi = intake_hex((unsigned char)s[i + 1]);
			lo = intake_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return nv_valid_text(out, o) ? out : NULL;
}

enum nv_err
nv_intake_form_decode(struct nv_arena *a, struct nv_diag *d,
    const char *body, size_t len, cJSON **out)
{
	const char *p = body, *end = body + len, *amp, *eq;
	char *name, *value;
	cJSON *o;

	o = cJSON_CreateObject();
	if (o == NULL)
		return nv_diag_set(d, NV_ERR_INTERNAL, "out of memory");
	nv_arena_defer(a, intake_json_delete, o);
	*out = o;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		name = intake_unescape(a, p, (size_t)(eq - p));
		value = eq < amp ? intake_unescape(a, eq + 1,
		    (size_t)(amp - eq - 1)) : nv_arena_strdup(a, "");
		if (name == NULL || value == NULL || *name == '\0')
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the form body "
			    "is not valid application/x-www-form-urlencoded "
			    "UTF-8 text");
		cJSON_DeleteItemFromObjectCaseSensitive(o, name);
		if (cJSON_AddStringToObject(o, name, value) == NULL)
			return nv_diag_set(d, NV_ERR_INTERNAL, "out of memory");
		p = amp + 1;
	}
	return NV_OK;
}

struct intake_hook {
	struct nv_req		*req;
	const char		*actor;
	nv_intake_check		 check;
	void			*arg;
	struct nv_dealership_pub pub;
	struct nv_intake_sub	 sub;
	struct intake_job	 job;
};

/*
 * The webhook's transaction: the dealership (which sets the context),
 * the channel's checks, then the submission with COMMIT.
 */
static enum nv_err
intake_hook_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct intake_hook *h = arg;
	const char *params[3];
	PGresult *res;
	enum nv_err rc;

	params[0] = h->pub.id;
	params[1] = h->actor;
	params[2] = h->req->request_id;
	if ((rc = nv_db_exec(a, d, &intake_dealer, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		return nv_req_fail(h->req, NV_ERR_NOT_FOUND,
		    "dealership not found");
	h->pub.active = true;
	h->pub.webhook_secret = nv_arena_strdup(a, nv_db_value(res, 0, 1));
	h->req->tenant = h->pub.id;

	if ((rc = h->check(h->req, &h->pub, h->arg, &h->sub)) != NV_OK)
		return rc;
	if (h->sub.skip)
		return NV_OK;
	assert(h->sub.scope != NULL && h->sub.lead.source != NULL &&
	    h->sub.lead.channel != NULL);
	h->job.lead = &h->sub.lead;
	h->job.scope = h->sub.scope;
	h->job.key = h->sub.key;
	return intake_work(a, d, &h->job);
}

enum nv_err
nv_intake_webhook(struct nv_req *req, const char *actor, nv_intake_check check,
    void *arg, struct nv_intake_answer *out)
{
	struct intake_hook h;
	struct nv_rls_ctx ctx;
	const char *id;
	enum nv_err rc;

	assert(actor != NULL && check != NULL);
	memset(out, 0, sizeof(*out));
	id = nv_req_param(req, "dealership_id");
	if (id == NULL || !nv_valid_uuid(id))	/* no dealership has it */
		return nv_req_fail(req, NV_ERR_NOT_FOUND,
		    "dealership not found");
	memset(&h, 0, sizeof(h));
	h.req = req;
	h.actor = actor;
	h.check = check;
	h.arg = arg;
	h.pub.id = id;
	h.job.out = out;
	rc = nv_db_tx(req->arena, &req->diag, NULL, intake_hook_work, &h);
	if (rc == NV_OK && h.sub.skip)
		out->skipped = true;
	if (rc == NV_ERR_CONFLICT) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.dealership_id = id;
		ctx.actor = actor;
		ctx.request_id = req->request_id;
		rc = intake_race(req->arena, &req->diag, &ctx, &h.job, rc);
	}
	return rc;
}
