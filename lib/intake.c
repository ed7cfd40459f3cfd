/*
 * intake.c - taking a lead in from any inbound channel; see intake.h.
 *
 * One transaction per submission: Idempotency-Key lookup, advisory locks
 * on the person's e-mail and phone (so two simultaneous first contacts of
 * the same person make one lead, not two), duplicate search, then either a
 * message on the existing lead or lead + message + reply job in one
 * statement, and finally the key with the answer.  The locks are taken
 * e-mail first, then phone, by every caller, so they cannot deadlock.
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

#define INTAKE_TENANT \
	"NULLIF(current_setting('app.current_dealership_id', true), '')::uuid"

static const struct nv_stmt intake_key_expire = {
	"intake_key_expire",
	"DELETE FROM idempotency_keys k WHERE k.scope = $1 AND k.key = $2"
	" AND k.created_at < now() - interval '24 hours'",
	2
};

static const struct nv_stmt intake_key_get = {
	"intake_key_get",
	"SELECT k.status, k.body FROM idempotency_keys k"
	" WHERE k.scope = $1 AND k.key = $2"
	" AND k.created_at >= now() - interval '24 hours'",
	2
};

static const struct nv_stmt intake_key_put = {
	"intake_key_put",
	"INSERT INTO idempotency_keys (dealership_id, scope, key, status, body)"
	" VALUES (" INTAKE_TENANT ", $1, $2, $3::int, $4)",
	4
};

static const struct nv_stmt intake_lock = {
	"intake_lock",
	"SELECT pg_advisory_xact_lock(hashtextextended("
	" 'intake:' || " INTAKE_TENANT "::text || ':' || $1, 0))",
	1
};

static const struct nv_stmt intake_find = {
	"intake_find",
	"SELECT l.id FROM leads l"
	" WHERE l.created_at > now() - interval '30 days'"
	"  AND (($1::text IS NOT NULL AND l.email_norm = lower(btrim($1)))"
	"   OR ($2::text IS NOT NULL AND l.phone = $2))"
	" ORDER BY l.created_at DESC, l.id DESC LIMIT 1",
	2
};

static const struct nv_stmt intake_message = {
	"intake_message",
	"INSERT INTO conversations (dealership_id, lead_id, direction, channel,"
	"  sender, body, status, metadata)"
	" VALUES (" INTAKE_TENANT ", $1::uuid, 'inbound', $2, 'customer', $3,"
	"  'delivered', coalesce($4::jsonb, '{}'))",
	4
};

/*
 * $1 the lead as a JSON object, $2 the message channel.  Consent flags
 * {"email": true} become {"email": {"granted": true, "source": <source>,
 * "at": <now>}}.
 */
static const struct nv_stmt intake_create = {
	"intake_create",
	"WITH s AS (SELECT $1::jsonb AS j),"
	" l AS ("
	"  INSERT INTO leads (dealership_id, first_name, last_name, email,"
	"   phone, source, vehicle_interest, message, consent, metadata)"
	"  SELECT " INTAKE_TENANT ", j->>'first_name', j->>'last_name',"
	"   j->>'email', j->>'phone', j->>'source', j->>'vehicle_interest',"
	"   j->>'message',"
	"   (SELECT coalesce(jsonb_object_agg(c.key, jsonb_build_object("
	"     'granted', c.value, 'source', j->>'source', 'at', now())),"
	"     '{}'::jsonb)"
	"    FROM jsonb_each(CASE WHEN jsonb_typeof(j->'consent') = 'object'"
	"     THEN j->'consent' ELSE '{}'::jsonb END) c),"
	"   coalesce(j->'metadata', '{}'::jsonb)"
	"  FROM s RETURNING id, dealership_id),"
	" m AS ("
	"  INSERT INTO conversations (dealership_id, lead_id, direction,"
	"   channel, sender, body, status)"
	"  SELECT l.dealership_id, l.id, 'inbound', $2, 'customer',"
	"   s.j->>'message', 'delivered' FROM l, s"
	"  WHERE s.j->>'message' IS NOT NULL RETURNING id),"
	" r AS ("
	"  INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	"  SELECT l.dealership_id, 'reply', l.id, '{}' FROM l RETURNING id)"
	" SELECT l.id, (SELECT count(*) FROM m), (SELECT count(*) FROM r)"
	" FROM l",
	2
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

static enum nv_err
intake_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct intake_job *j = arg;
	const struct nv_intake_lead *l = j->lead;
	const char *params[4];
	PGresult *res;
	enum nv_err rc;
	const char *id;
	char *json, *status;
	bool found;

	if (j->key != NULL) {
		params[0] = j->scope;
		params[1] = j->key;
		if (!j->lookup_only &&
		    (rc = nv_db_exec(a, d, &intake_key_expire, params, &res)) !=
		    NV_OK)
			return rc;
		if ((rc = intake_key_read(a, d, j, &found)) != NV_OK)
			return rc;
		if (found)
			return NV_OK;
	}
	if (j->lookup_only)
		return nv_diag_set(d, NV_ERR_CONFLICT, "a request with this "
		    "Idempotency-Key is still being processed");

	if (l->email == NULL && l->phone == NULL) {
		nv_diag_field(d, "email", "an e-mail address or a phone number "
		    "is required");
		nv_diag_field(d, "phone", "an e-mail address or a phone number "
		    "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "a lead needs an e-mail address or a phone number");
	}
	if (l->email != NULL) {
		params[0] = nv_arena_cat(a, "e:", l->email, (char *)NULL);
		if ((rc = nv_db_exec(a, d, &intake_lock, params, &res)) != NV_OK)
			return rc;
	}
	if (l->phone != NULL) {
		params[0] = nv_arena_cat(a, "p:", l->phone, (char *)NULL);
		if ((rc = nv_db_exec(a, d, &intake_lock, params, &res)) != NV_OK)
			return rc;
	}

	params[0] = l->email;
	params[1] = l->phone;
	if ((rc = nv_db_exec(a, d, &intake_find, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) > 0) {
		id = nv_arena_strdup(a, PQgetvalue(res, 0, 0));
		params[0] = id;
		params[1] = l->channel;
		params[2] = l->message != NULL ? l->message :
		    l->empty_message != NULL ? l->empty_message :
		    "(submitted without a message)";
		params[3] = l->metadata;
		if ((rc = nv_db_exec(a, d, &intake_message, params, &res)) !=
		    NV_OK)
			return rc;
		j->out->status = 200;
		j->out->body = nv_arena_cat(a, "{\"lead_id\":\"", id,
		    "\",\"duplicate\":true}", (char *)NULL);
	} else {
		json = intake_json(a, l);
		params[0] = json;
		params[1] = l->channel;
		if ((rc = nv_db_exec(a, d, &intake_create, params, &res)) !=
		    NV_OK)
			return rc;
		if (PQntuples(res) != 1)
			return nv_diag_set(d, NV_ERR_INTERNAL,
			    "the lead was not stored");
		id = nv_arena_strdup(a, PQgetvalue(res, 0, 0));
		j->out->status = 201;
		j->out->body = nv_arena_cat(a, "{\"lead_id\":\"", id,
		    "\",\"duplicate\":false}", (char *)NULL);
	}

	if (j->key != NULL) {
		status = nv_arena_printf(a, "%d", j->out->status);
		params[0] = j->scope;
		params[1] = j->key;
		params[2] = status;
		params[3] = j->out->body;
		if ((rc = nv_db_exec(a, d, &intake_key_put, params, &res)) !=
		    NV_OK)
			return rc;
	}
	return NV_OK;
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
	if (rc == NV_ERR_CONFLICT && key != NULL && d != NULL &&
	    d->ndetails > 0 &&
	    strcmp(d->details[0].field, "idempotency_keys_key") == 0) {
		/* Lost the race to a request with the same key: its answer. */
		nv_diag_reset(d);
		memset(out, 0, sizeof(*out));
		j.lookup_only = true;
		rc = nv_db_tx(a, d, ctx, intake_work, &j);
	}
	return rc;
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

struct intake_lookup {
	const char			*id;
	struct nv_dealership_pub	*pub;
};

static enum nv_err
intake_lookup_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct intake_lookup *f = arg;

	return nv_dealership_lookup(a, d, f->id, f->pub);
}

enum nv_err
nv_intake_dealership(struct nv_req *req, struct nv_dealership_pub *pub)
{
	struct intake_lookup f;
	enum nv_err rc;

	memset(pub, 0, sizeof(*pub));
	f.id = nv_req_param(req, "dealership_id");
	f.pub = pub;
	if (f.id == NULL || !nv_valid_uuid(f.id)) {
		nv_diag_field(&req->diag, "dealership_id", "must be a uuid");
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "dealership_id is not a valid id");
	}
	/* In a transaction for its reconnect-and-retry on a stale socket. */
	rc = nv_db_tx(req->arena, &req->diag, NULL, intake_lookup_work, &f);
	if (rc == NV_ERR_NOT_FOUND || (rc == NV_OK && !pub->active))
		return nv_req_fail(req, NV_ERR_NOT_FOUND, "dealership not found");
	if (rc != NV_OK)
		return rc;
	req->tenant = pub->id;
	return NV_OK;
}
