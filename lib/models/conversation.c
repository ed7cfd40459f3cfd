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

const char *const nv_msg_directions[] = { "inbound", "outbound", NULL };
const char *const nv_msg_channels[] = {
	"email", "sms", "facebook", "web", "note", NULL
};
const char *const nv_msg_senders[] = { "customer", "ai", "human", NULL };
const char *const nv_msg_statuses[] = {
	"queued", "sent", "delivered", "failed", NULL
};

#define MSG_JSON \
	"json_build_object('id', c.id, 'lead_id', c.lead_id," \
	" 'direction', c.direction, 'channel', c.channel," \
	" 'sender', c.sender, 'user_id', c.user_id, 'body', c.body," \
	" 'status', c.status, 'provider_id', c.provider_id," \
	" 'error', c.error, 'created_at', c.created_at)"

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
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "message not found");
	params[0] = id;
	if ((rc = nv_db_exec(a, d, &msg_select, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "message", out);
}

enum nv_err
nv_conversation_list(struct nv_arena *a, struct nv_diag *d,
    const char *lead_id, char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (!nv_valid_uuid(lead_id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "lead not found");
	params[0] = lead_id;
	if ((rc = nv_db_exec(a, d, &msg_list, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "lead", out);
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
