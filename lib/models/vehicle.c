/*
 * vehicle.c - vehicles; see vehicle.h.
 */
#include <ctype.h>
#include <string.h>

#include <libpq-fe.h>

#include "../db.h"
#include "../json.h"
#include "../valid.h"
#include "model.h"
#include "vehicle.h"

const char *const nv_vehicle_stock_statuses[] = {
	"in_stock", "reserved", "sold", "incoming", NULL
};

#define VEHICLE_JSON \
	"json_build_object('id', v.id, 'dealership_id', v.dealership_id," \
	" 'make', v.make, 'model', v.model, 'year', v.year, 'vin', v.vin," \
	" 'stock_number', v.stock_number, 'price_ore', v.price_ore," \
	" 'stock_status', v.stock_status, 'metadata', v.metadata," \
	" 'created_at', v.created_at, 'updated_at', v.updated_at)"

static const struct nv_stmt vehicle_insert = {
	"vehicle_insert",
	"INSERT INTO vehicles AS v (dealership_id, make, model, year, vin,"
	"  stock_number, price_ore, stock_status, metadata)"
	" SELECT NULLIF(current_setting('app.current_dealership_id', true),"
	"  '')::uuid, j->>'make', j->>'model', (j->>'year')::int,"
	"  upper(j->>'vin'), j->>'stock_number', (j->>'price_ore')::bigint,"
	"  coalesce(j->>'stock_status', 'in_stock'),"
	"  coalesce(j->'metadata', '{}')"
	" FROM (SELECT $1::jsonb AS j) s"
	" RETURNING " VEHICLE_JSON,
	1
};

static const struct nv_stmt vehicle_select = {
	"vehicle_select",
	"SELECT " VEHICLE_JSON " FROM vehicles v WHERE v.id = $1::uuid",
	1
};

static const struct nv_stmt vehicle_list_stmt = {
	"vehicle_list",
	"SELECT coalesce(json_agg(" VEHICLE_JSON
	"  ORDER BY v.created_at DESC, v.id DESC), '[]'::json)"
	" FROM vehicles v WHERE ($1::text IS NULL OR v.stock_status = $1)",
	1
};

/*
 * $1 stock_status, $2 q (LIKE pattern, escaped), $3 limit.  The limit
 * applies before rendering, so only the page is turned into JSON.
 */
static const struct nv_stmt vehicle_search_stmt = {
	"vehicle_search",
	"SELECT coalesce(json_agg(" VEHICLE_JSON
	"  ORDER BY v.created_at DESC, v.id DESC), '[]'::json)"
	" FROM (SELECT * FROM vehicles v"
	"  WHERE ($1::text IS NULL OR v.stock_status = $1)"
	"   AND ($2::text IS NULL OR v.make ILIKE $2 OR v.model ILIKE $2"
	"        OR v.vin ILIKE $2 OR (v.make || ' ' || v.model) ILIKE $2)"
	"  ORDER BY v.created_at DESC, v.id DESC LIMIT $3::int) v",
	3
};

#define VEHICLE_SET(col, expr) \
	" " col " = CASE WHEN $2::jsonb ? '" col "' THEN " expr " ELSE v." col " END"

static const struct nv_stmt vehicle_update_stmt = {
	"vehicle_update",
	"UPDATE vehicles v SET"
	VEHICLE_SET("make", "$2::jsonb->>'make'") ","
	VEHICLE_SET("model", "$2::jsonb->>'model'") ","
	VEHICLE_SET("year", "($2::jsonb->>'year')::int") ","
	VEHICLE_SET("vin", "upper($2::jsonb->>'vin')") ","
	VEHICLE_SET("stock_number", "$2::jsonb->>'stock_number'") ","
	VEHICLE_SET("price_ore", "($2::jsonb->>'price_ore')::bigint") ","
	VEHICLE_SET("stock_status", "$2::jsonb->>'stock_status'") ","
	VEHICLE_SET("metadata", "$2::jsonb->'metadata'")
	" WHERE v.id = $1::uuid RETURNING " VEHICLE_JSON,
	2
};

static const struct nv_stmt vehicle_delete_stmt = {
	"vehicle_delete",
	"DELETE FROM vehicles v WHERE v.id = $1::uuid RETURNING v.id",
	1
};

static const struct nv_field vehicle_fields[] = {
	{ "make", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_REQUIRED, 0,
	    100, NULL },
	{ "model", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_REQUIRED, 0,
	    100, NULL },
	{ "year", NV_F_INT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 1900,
	    2100, NULL },
	{ "vin", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 0, 17,
	    NULL },
	{ "stock_number", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE |
	    NV_F_NULLABLE, 0, 64, NULL },
	{ "price_ore", NV_F_INT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 0,
	    100000000000LL, NULL },
	{ "stock_status", NV_F_ENUM, NV_F_CREATE | NV_F_UPDATE, 0, 0,
	    nv_vehicle_stock_statuses },
	{ "metadata", NV_F_OBJECT, NV_F_CREATE | NV_F_UPDATE, 0, 65536, NULL },
};

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

/* A VIN: 17 characters of A-Z and 0-9 without I, O and Q. */
static int
vehicle_vin_ok(const char *vin)
{
	size_t i;

	if (strlen(vin) != 17)
		return 0;
	for (i = 0; i < 17; i++) {
		int c = toupper((unsigned char)vin[i]);

		if (!isdigit(c) && !(isupper(c) && c != 'I' && c != 'O' &&
		    c != 'Q'))
			return 0;
	}
	return 1;
}

static enum nv_err
vehicle_check(struct nv_diag *d, const cJSON *in, enum nv_err rc)
{
	const cJSON *vin = cJSON_GetObjectItemCaseSensitive(in, "vin");

	if (cJSON_IsString(vin) && !vehicle_vin_ok(vin->valuestring)) {
		nv_diag_field(d, "vin", "must be 17 characters of A-Z and 0-9 "
		    "without I, O and Q");
		if (rc == NV_OK)
			rc = nv_diag_set(d, NV_ERR_VALIDATION,
			    "1 field failed validation");
	}
	return rc;
}

enum nv_err
nv_vehicle_create(struct nv_arena *a, struct nv_diag *d, const cJSON *in,
    char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	rc = nv_json_fields(a, d, vehicle_fields, NFIELDS(vehicle_fields),
	    NV_JSON_CREATE, in, &norm, NULL);
	if (rc == NV_ERR_BAD_REQUEST)
		return rc;
	if ((rc = vehicle_check(d, in, rc)) != NV_OK)
		return rc;
	params[0] = norm;
	if ((rc = nv_db_exec(a, d, &vehicle_insert, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "vehicle", out);
}

enum nv_err
nv_vehicle_get(struct nv_arena *a, struct nv_diag *d, const char *id,
    char **out)
{
	return nv_model_by_id(a, d, &vehicle_select, id, "vehicle", out);
}

enum nv_err
nv_vehicle_list(struct nv_arena *a, struct nv_diag *d,
    const char *stock_status, char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	if (stock_status != NULL &&
	    !nv_valid_enum(stock_status, nv_vehicle_stock_statuses))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "invalid stock_status filter");
	params[0] = stock_status;
	if ((rc = nv_db_exec(a, d, &vehicle_list_stmt, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "vehicles", out);
}

enum nv_err
nv_vehicle_update(struct nv_arena *a, struct nv_diag *d, const char *id,
    const cJSON *patch, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	if (!nv_valid_uuid(id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "vehicle not found");
	rc = nv_json_fields(a, d, vehicle_fields, NFIELDS(vehicle_fields),
	    NV_JSON_UPDATE, patch, &norm, NULL);
	if (rc == NV_ERR_BAD_REQUEST)
		return rc;
	if ((rc = vehicle_check(d, patch, rc)) != NV_OK)
		return rc;
	params[0] = id;
	params[1] = norm;
	if ((rc = nv_db_exec(a, d, &vehicle_update_stmt, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "vehicle", out);
}

enum nv_err
nv_vehicle_delete(struct nv_arena *a, struct nv_diag *d, const char *id)
{
	return nv_model_delete(a, d, &vehicle_delete_stmt, id, "vehicle");
}

/* "%term%" with LIKE's wildcards in term escaped. */
static char *
vehicle_like(struct nv_arena *a, const char *term)
{
	size_t n = strlen(term), i, o = 0;
	char *p;

	p = nv_arena_alloc(a, n * 2 + 3);
	p[o++] = '%';
	for (i = 0; i < n; i++) {
		if (term[i] == '%' || term[i] == '_' || term[i] == '\\')
			p[o++] = '\\';
		p[o++] = term[i];
	}
	p[o++] = '%';
	p[o] = '\0';
	return p;
}

enum nv_err
nv_vehicle_search(struct nv_arena *a, struct nv_diag *d,
    const struct nv_vehicle_filter *f, char **out)
{
	const char *params[3];
	PGresult *res;
	enum nv_err rc;
	int limit;

	*out = NULL;
	if (f->stock_status != NULL &&
	    !nv_valid_enum(f->stock_status, nv_vehicle_stock_statuses)) {
		nv_diag_field(d, "stock_status", "must be one of in_stock, "
		    "reserved, sold, incoming");
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "invalid stock_status filter");
	}
	limit = f->limit;
	if (limit < 1 || limit > NV_VEHICLE_LIST_MAX)
		limit = NV_VEHICLE_LIST_DEFAULT;
	params[0] = f->stock_status;
	params[1] = f->q != NULL && *f->q != '\0' ? vehicle_like(a, f->q) :
	    NULL;
	params[2] = nv_arena_printf(a, "%d", limit);
	rc = nv_db_exec(a, d, &vehicle_search_stmt, params, &res);
	if (rc != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "vehicles", out);
}
