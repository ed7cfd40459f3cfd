/*
 * model.c - helpers shared by the models; see model.h.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "../db.h"
#include "model.h"

enum nv_err
nv_model_fk_field(struct nv_diag *d, enum nv_err rc, const char *const *cols)
{
	size_t i;

	if (d == NULL || rc != NV_ERR_VALIDATION)
		return rc;
	for (i = 0; i < d->ndetails; i++) {
		const char *const *c;

		for (c = cols; *c != NULL; c++) {
			if (strstr(d->details[i].field, *c) == NULL ||
			    strstr(d->details[i].field, "fkey") == NULL)
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
