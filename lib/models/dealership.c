/*
 * dealership.c - dealerships; see dealership.h.
 */
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "../compose.h"
#include "../db.h"
#include "../json.h"
#include "../valid.h"
#include "dealership.h"
#include "model.h"

#define DEALERSHIP_JSON \
	"json_build_object('id', s.id, 'name', s.name," \
	" 'clerk_org_id', s.clerk_org_id," \
	" 'subscription_plan', s.subscription_plan," \
	" 'subscription_status', s.subscription_status," \
	" 'settings', CASE WHEN $1::bool THEN s.settings" \
	"  ELSE s.settings - 'webhook_secret' END," \
	" 'active', s.active, 'created_at', s.created_at," \
	" 'updated_at', s.updated_at)"

static const struct nv_stmt dealership_select = {
	"dealership_select",
	"SELECT " DEALERSHIP_JSON " FROM dealerships s"
	" WHERE s.id = NULLIF(current_setting('app.current_dealership_id',"
	"  true), '')::uuid",
	1
};

static const struct nv_stmt dealership_update_stmt = {
	"dealership_update",
	"UPDATE dealerships s SET"
	" name = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb->>'name'"
	"  ELSE s.name END,"
	" settings = s.settings || coalesce($2::jsonb->'settings', '{}')"
	" WHERE s.id = NULLIF(current_setting('app.current_dealership_id',"
	"  true), '')::uuid"
	" RETURNING " DEALERSHIP_JSON,
	2
};

static const struct nv_stmt dealership_create_stmt = {
	"dealership_create",
	"SELECT nv_create_dealership($1::jsonb->>'name',"
	" $1::jsonb->>'clerk_org_id', coalesce($1::jsonb->'settings', '{}'))",
	1
};

static const struct nv_stmt dealership_resolve = {
	"dealership_resolve",
	"SELECT dealership_id, active FROM nv_resolve_org($1)",
	1
};

static const struct nv_stmt dealership_public = {
	"dealership_public",
	"SELECT dealership_id, name, active, webhook_secret"
	" FROM nv_dealership_public($1::uuid)",
	1
};

static const char *const dealership_languages[] = { "nb", "en", NULL };
static const char *const dealership_assign[] = { "off", "round_robin", NULL };
static const char *const dealership_scope[] = { "all", "assigned", NULL };

static const struct nv_field settings_fields[] = {
	{ "ai_enabled", NV_F_BOOL, NV_F_UPDATE, 0, 0, NULL },
	{ "language", NV_F_ENUM, NV_F_UPDATE, 0, 0, dealership_languages },
	{ "tone", NV_F_TEXT, NV_F_UPDATE, 0, 200, NULL },
	{ "timezone", NV_F_TEXT, NV_F_UPDATE, 0, 64, NULL },
	{ "business_hours", NV_F_OBJECT, NV_F_UPDATE, 0, 2048, NULL },
	{ "auto_assign", NV_F_ENUM, NV_F_UPDATE, 0, 0, dealership_assign },
	{ "sales_rep_scope", NV_F_ENUM, NV_F_UPDATE, 0, 0, dealership_scope },
	{ "webhook_secret", NV_F_TEXT, NV_F_UPDATE | NV_F_NULLABLE, 0, 200,
	    NULL },
	{ "templates", NV_F_OBJECT, NV_F_UPDATE, 0, 16384, NULL },
	{ "follow_up_minutes", NV_F_INT, NV_F_UPDATE, 1, 10080, NULL },
};

static const struct nv_field dealership_fields[] = {
	{ "name", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_REQUIRED, 0, 200,
	    NULL },
	{ "clerk_org_id", NV_F_TEXT, NV_F_CREATE | NV_F_NULLABLE, 0, 200,
	    NULL },
	{ "settings", NV_F_OBJECT, NV_F_CREATE | NV_F_UPDATE, 0, 32768, NULL },
};

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

/*
 * Validate the settings object of in (if any); the details are prefixed
 * "settings." so a client sees which key failed.
 */
static enum nv_err
dealership_settings(struct nv_arena *a, struct nv_diag *d, const cJSON *in,
    char **norm)
{
	const cJSON *s, *secret, *templates;
	const char *tfield, *tissue;
	struct nv_diag sub;
	enum nv_err rc;
	size_t i;

	*norm = NULL;
	s = cJSON_GetObjectItemCaseSensitive(in, "settings");
	if (s == NULL || !cJSON_IsObject(s))
		return NV_OK;	/* absent, or already reported as not an object */
	nv_diag_reset(&sub);
	rc = nv_json_fields(a, &sub, settings_fields, NFIELDS(settings_fields),
	    NV_JSON_UPDATE, s, norm, NULL);
	secret = cJSON_GetObjectItemCaseSensitive(s, "webhook_secret");
	if (rc == NV_OK && cJSON_IsString(secret) &&
	    strlen(secret->valuestring) < 16) {
		nv_diag_field(&sub, "webhook_secret",
		    "must be at least 16 bytes");
		rc = NV_ERR_VALIDATION;
	}
	/* Reply templates: known names, known placeholders, bounded size. */
	templates = cJSON_GetObjectItemCaseSensitive(s, "templates");
	if (cJSON_IsObject(templates) &&
	    !nv_compose_templates_ok(templates, &tfield, &tissue)) {
		nv_diag_field(&sub, nv_arena_printf(a, "templates.%s", tfield),
		    "%s", tissue);
		rc = NV_ERR_VALIDATION;
	}
	for (i = 0; i < sub.ndetails; i++)
		nv_diag_field(d, nv_arena_printf(a, "settings.%s",
		    sub.details[i].field), "%s", sub.details[i].issue);
	return rc == NV_OK ? NV_OK : NV_ERR_VALIDATION;
}

/*
 * The validated input as one JSON text for SQL, with "settings" replaced
 * by its normalised form (trimmed text etc.), not the raw input.
 */
static char *
dealership_merge(struct nv_arena *a, const char *norm, const char *settings)
{
	cJSON *j = NULL, *s = NULL;

	if (settings == NULL)
		return (char *)(uintptr_t)norm;
	if (nv_json_parse(a, NULL, norm, strlen(norm), &j) != NV_OK ||
	    nv_json_parse(a, NULL, settings, strlen(settings), &s) != NV_OK)
		return (char *)(uintptr_t)norm;
	cJSON_ReplaceItemInObjectCaseSensitive(j, "settings",
	    cJSON_Duplicate(s, 1));
	return nv_json_print(a, j);
}

enum nv_err
nv_dealership_get(struct nv_arena *a, struct nv_diag *d, bool with_secret,
    char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	params[0] = with_secret ? "true" : "false";
	if ((rc = nv_db_exec(a, d, &dealership_select, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "dealership", out);
}

enum nv_err
nv_dealership_update(struct nv_arena *a, struct nv_diag *d,
    const cJSON *patch, bool with_secret, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc, rc2;
	char *norm, *settings;

	*out = NULL;
	rc = nv_json_fields(a, d, dealership_fields, NFIELDS(dealership_fields),
	    NV_JSON_UPDATE, patch, &norm, NULL);
	if (rc == NV_ERR_BAD_REQUEST)
		return rc;
	rc2 = dealership_settings(a, d, patch, &settings);
	if (rc != NV_OK || rc2 != NV_OK)
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "the dealership update failed validation");
	params[0] = with_secret ? "true" : "false";
	params[1] = dealership_merge(a, norm, settings);
	rc = nv_db_exec(a, d, &dealership_update_stmt, params, &res);
	if (rc != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "dealership", out);
}

enum nv_err
nv_dealership_create(struct nv_arena *a, struct nv_diag *d, const cJSON *in,
    const char **id)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc, rc2;
	char *norm, *settings;

	*id = NULL;
	rc = nv_json_fields(a, d, dealership_fields, NFIELDS(dealership_fields),
	    NV_JSON_CREATE, in, &norm, NULL);
	if (rc == NV_ERR_BAD_REQUEST)
		return rc;
	rc2 = dealership_settings(a, d, in, &settings);
	if (rc != NV_OK || rc2 != NV_OK)
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "the new dealership failed validation");
	params[0] = dealership_merge(a, norm, settings);
	rc = nv_db_exec(a, d, &dealership_create_stmt, params, &res);
	if (rc != NV_OK)
		return rc;
	*id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	return NV_OK;
}

enum nv_err
nv_dealership_resolve_org(struct nv_arena *a, struct nv_diag *d,
    const char *clerk_org_id, const char **id, bool *active)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*id = NULL;
	*active = false;
	params[0] = clerk_org_id;
	rc = nv_db_exec(a, d, &dealership_resolve, params, &res);
	if (rc != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return NV_OK;
	*id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	*active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	return NV_OK;
}

enum nv_err
nv_dealership_lookup(struct nv_arena *a, struct nv_diag *d, const char *id,
    struct nv_dealership_pub *out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	memset(out, 0, sizeof(*out));
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "dealership not found");
	params[0] = id;
	rc = nv_db_exec(a, d, &dealership_public, params, &res);
	if (rc != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "dealership not found");
	out->id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	out->name = nv_arena_strdup(a, nv_db_value(res, 0, 1));
	out->active = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	out->webhook_secret = nv_arena_strdup(a, nv_db_value(res, 0, 3));
	return NV_OK;
}
