/*
 * model.c - helpers shared by the models; see model.h.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "../db.h"
#include "../json.h"
#include "../valid.h"
#include "model.h"

enum nv_err
nv_model_fk_field(struct nv_diag *d, enum nv_err rc, const char *const *cols)
{
	size_t i;

	if (d == NULL || rc != NV_ERR_VALIDATION)
		return rc;
	for (i = 0; i < d->ndetails; i++) {
		const char *const *c;

		if (strstr(d->details[i].field, "_fkey") == NULL)
			continue;
		for (c = cols; *c != NULL; c++) {
			char stem[NV_DIAG_FIELD_MAX];
			size_t n = strlen(*c);

			/* "assigned_to" in leads_assigned_to_fkey, "lead"
			 * (lead_id less its _id) in conversations_lead_fkey. */
			if (n > 3 && strcmp(*c + n - 3, "_id") == 0)
				n -= 3;
			snprintf(stem, sizeof(stem), "_%.*s_", (int)n, *c);
			if (strstr(d->details[i].field, stem) == NULL)
				continue;
			snprintf(d->details[i].field,
			    sizeof(d->details[i].field), "%s", *c);
			snprintf(d->details[i].issue,
			    sizeof(d->details[i].issue),
			    "does not exist in this dealership");
			break;
		}
	}
	return rc;
}

enum nv_err
nv_model_one(struct nv_arena *a, struct nv_diag *d, struct pg_result *res,
    const char *what, char **out)
{
	const char *v;

	v = nv_db_value(res, 0, 0);
	if (v == NULL) {
		*out = NULL;
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "%s not found", what);
	}
	*out = nv_arena_strdup(a, v);
	return NV_OK;
}

enum nv_err
nv_model_by_id(struct nv_arena *a, struct nv_diag *d, const struct nv_stmt *st,
    const char *id, const char *what, char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "%s not found", what);
	params[0] = id;
	if ((rc = nv_db_exec(a, d, st, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, what, out);
}

enum nv_err
nv_model_patch(struct nv_arena *a, struct nv_diag *d, const struct nv_stmt *st,
    const struct nv_field *spec, size_t n, const char *id, const cJSON *patch,
    const char *what, const char *const *fk_cols, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "%s not found", what);
	rc = nv_json_fields(a, d, spec, n, NV_JSON_UPDATE, patch, &norm, NULL);
	if (rc != NV_OK)
		return rc;
	params[0] = id;
	params[1] = norm;
	rc = nv_db_exec(a, d, st, params, &res);
	if (rc != NV_OK)
		return fk_cols != NULL ? nv_model_fk_field(d, rc, fk_cols) : rc;
	return nv_model_one(a, d, res, what, out);
}

enum nv_err
nv_model_delete(struct nv_arena *a, struct nv_diag *d, const struct nv_stmt *st,
    const char *id, const char *what)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "%s not found", what);
	params[0] = id;
	if ((rc = nv_db_exec(a, d, st, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "%s not found", what);
	return NV_OK;
}
