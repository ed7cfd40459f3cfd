/*
 * conversation.c - messages; see conversation.h.
 */
#include <string.h>

#include <libpq-fe.h>

#include "../db.h"
#include "../json.h"
#include "../valid.h"
#include "conversation.h"
#include "model.h"
#include "shapes.h"

const char *const nv_msg_directions[] = { "inbound", "outbound", NULL };
const char *const nv_msg_channels[] = {
	"email", "sms", "facebook", "web", "note", NULL
};
const char *const nv_msg_senders[] = { "customer", "ai", "human", NULL };
const char *const nv_msg_statuses[] = {
	"queued", "sent", "delivered", "failed", NULL
};

#define MSG_JSON NV_MSG_JSON

static const struct nv_stmt msg_insert = {
	"msg_insert",
	"INSERT INTO conversations AS c (dealership_id, lead_id, direction,"
	"  channel, sender, user_id, body, status, provider_id, metadata)"
	" SELECT NULLIF(current_setting('app.current_dealership_id', true),"
	"  '')::uuid, (j->>'lead_id')::uuid, j->>'direction', j->>'channel',"
	"  j->>'sender', (j->>'user_id')::uuid, j->>'body',"
	"  coalesce(j->>'status', CASE WHEN j->>'direction' = 'inbound'"
	"   THEN 'delivered' ELSE 'queued' END),"
	"  j->>'provider_id', coalesce(j->'metadata', '{}')"
	" FROM (SELECT $1::jsonb AS j) s"
	" RETURNING " MSG_JSON,
	1
};

static const struct nv_stmt msg_select = {
	"msg_select",
	"SELECT " MSG_JSON " FROM conversations c WHERE c.id = $1::uuid",
	1
};

/* The lead's existence decides between [] and not found. */
static const struct nv_stmt msg_list = {
	"msg_list",
	"SELECT (SELECT coalesce(json_agg(" MSG_JSON
	"  ORDER BY c.created_at, c.id), '[]'::json)"
	"  FROM conversations c WHERE c.lead_id = l.id)"
	" FROM leads l WHERE l.id = $1::uuid",
	1
};

static const struct nv_stmt msg_update = {
	"msg_update",
	"UPDATE conversations c SET status = $2::jsonb->>'status',"
	"  provider_id = CASE WHEN $2::jsonb ? 'provider_id'"
	"   THEN $2::jsonb->>'provider_id' ELSE c.provider_id END,"
	"  error = CASE WHEN $2::jsonb ? 'error'"
	"   THEN $2::jsonb->>'error' ELSE c.error END"
	" WHERE c.id = $1::uuid RETURNING " MSG_JSON,
	2
};

/*
 * A human reply: the message, its delivery job and the AI pause in one
 * statement.  The channel is the one asked for, else the lead's own: SMS
 * for SMS leads and leads without e-mail, e-mail otherwise.  A channel the
 * lead cannot be reached on leaves channel NULL, which NOT NULL refuses.
 * Notes are internal: no delivery job.
 */
static const struct nv_stmt msg_reply = {
	"msg_reply",
	"WITH l AS ("
	"  UPDATE leads SET ai_paused = true WHERE id = $1::uuid"
	"  RETURNING id, dealership_id, email, phone, source),"
	" ch AS ("
	"  SELECT l.*, CASE"
	"   WHEN $4::text = 'note' THEN 'note'"
	"   WHEN $4::text = 'email' THEN CASE WHEN l.email IS NOT NULL"
	"    THEN 'email' END"
	"   WHEN $4::text = 'sms' THEN CASE WHEN l.phone IS NOT NULL"
	"    THEN 'sms' END"
	"   WHEN l.source = 'sms' AND l.phone IS NOT NULL THEN 'sms'"
	"   WHEN l.email IS NOT NULL THEN 'email'"
	"   ELSE 'sms' END AS channel FROM l),"
	" m AS ("
	"  INSERT INTO conversations AS c (dealership_id, lead_id, direction,"
	"   channel, sender, user_id, body, status)"
	"  SELECT ch.dealership_id, ch.id, 'outbound', ch.channel, 'human',"
	"   $2::uuid, $3, CASE WHEN ch.channel = 'note' THEN 'delivered'"
	"   ELSE 'queued' END FROM ch RETURNING *),"
	" j AS ("
	"  INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	"  SELECT m.dealership_id, 'send', m.lead_id,"
	"   jsonb_build_object('message_id', m.id)"
	"  FROM m WHERE m.channel <> 'note' RETURNING id)"
	" SELECT " MSG_JSON " FROM m c",
	4
};

static const char *const msg_reply_channels[] = {
	"email", "sms", "note", NULL
};

static const struct nv_field msg_fields[] = {
	{ "lead_id", NV_F_UUID, NV_F_CREATE | NV_F_REQUIRED, 0, 0, NULL },
	{ "direction", NV_F_ENUM, NV_F_CREATE | NV_F_REQUIRED, 0, 0,
	    nv_msg_directions },
	{ "channel", NV_F_ENUM, NV_F_CREATE | NV_F_REQUIRED, 0, 0,
	    nv_msg_channels },
	{ "sender", NV_F_ENUM, NV_F_CREATE | NV_F_REQUIRED, 0, 0,
	    nv_msg_senders },
	{ "user_id", NV_F_UUID, NV_F_CREATE | NV_F_NULLABLE, 0, 0, NULL },
	{ "body", NV_F_TEXT, NV_F_CREATE | NV_F_REQUIRED, 0, 100000, NULL },
	{ "status", NV_F_ENUM, NV_F_CREATE | NV_F_UPDATE, 0, 0,
	    nv_msg_statuses },
	{ "provider_id", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 200, NULL },
	{ "error", NV_F_TEXT, NV_F_UPDATE | NV_F_NULLABLE, 0, 2000, NULL },
	{ "metadata", NV_F_OBJECT, NV_F_CREATE, 0, 65536, NULL },
};

static const char *const msg_fk_cols[] = { "lead_id", "user_id", NULL };

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

enum nv_err
nv_conversation_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, char **out)
{
	const cJSON *dir, *snd;
	const char *params[1];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	rc = nv_json_fields(a, d, msg_fields, NFIELDS(msg_fields),
	    NV_JSON_CREATE, in, &norm, NULL);
	if (rc != NV_OK)
		return rc;
	dir = cJSON_GetObjectItemCaseSensitive(in, "direction");
	snd = cJSON_GetObjectItemCaseSensitive(in, "sender");
	if ((strcmp(dir->valuestring, "inbound") == 0) !=
	    (strcmp(snd->valuestring, "customer") == 0)) {
		nv_diag_field(d, "sender", "inbound messages come from the "
		    "customer, outbound ones from ai or a human");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "1 field failed validation");
	}
	params[0] = norm;
	rc = nv_db_exec(a, d, &msg_insert, params, &res);
	if (rc != NV_OK)
		return nv_model_fk_field(d, rc, msg_fk_cols);
	return nv_model_one(a, d, res, "message", out);
}

enum nv_err
nv_conversation_get(struct nv_arena *a, struct nv_diag *d, const char *id,
    char **out)
{
	return nv_model_by_id(a, d, &msg_select, id, "message", out);
}

enum nv_err
nv_conversation_list(struct nv_arena *a, struct nv_diag *d,
    const char *lead_id, char **out)
{
	/* No row means no such lead; a lead without messages gives []. */
	return nv_model_by_id(a, d, &msg_list, lead_id, "lead", out);
}

enum nv_err
nv_conversation_update(struct nv_arena *a, struct nv_diag *d, const char *id,
    const cJSON *patch, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "message not found");
	rc = nv_json_fields(a, d, msg_fields, NFIELDS(msg_fields),
	    NV_JSON_UPDATE, patch, &norm, NULL);
	if (rc != NV_OK)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(patch, "status") == NULL) {
		nv_diag_field(d, "status", "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "1 field failed validation");
	}
	params[0] = id;
	params[1] = norm;
	if ((rc = nv_db_exec(a, d, &msg_update, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "message", out);
}

enum nv_err
nv_conversation_reply(struct nv_arena *a, struct nv_diag *d,
    const char *lead_id, const char *user_id, const cJSON *in, char **out)
{
	static const struct nv_field reply_fields[] = {
		{ "body", NV_F_TEXT, NV_F_CREATE | NV_F_REQUIRED, 0, 10000,
		    NULL },
		{ "channel", NV_F_ENUM, NV_F_CREATE, 0, 0, msg_reply_channels },
	};
	const cJSON *body, *channel;
	const char *params[4];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	if (!nv_valid_uuid(lead_id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "lead not found");
	rc = nv_json_fields(a, d, reply_fields, 2, NV_JSON_CREATE, in, &norm,
	    NULL);
	if (rc != NV_OK)
		return rc;
	body = cJSON_GetObjectItemCaseSensitive(in, "body");
	channel = cJSON_GetObjectItemCaseSensitive(in, "channel");
	params[0] = lead_id;
	params[1] = user_id;
	params[2] = body->valuestring;
	params[3] = cJSON_IsString(channel) ? channel->valuestring : NULL;
	rc = nv_db_exec(a, d, &msg_reply, params, &res);
	if (rc == NV_ERR_VALIDATION) {
		nv_diag_reset(d);
		nv_diag_field(d, "channel", "the lead has no %s to reply to",
		    params[3] != NULL && strcmp(params[3], "sms") == 0 ?
		    "phone number" : "e-mail address");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "1 field failed validation");
	}
	if (rc != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "lead not found");
	return nv_model_one(a, d, res, "message", out);
}
