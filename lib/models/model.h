/*
 * model.h - what every model shares.
 *
 * Models are thin: each holds its static SQL (PostgreSQL renders the JSON
 * with json_build_object and json_agg, which we pass through untouched),
 * its field table for nv_json_fields, and functions that must run inside
 * nv_db_tx with the tenant's RLS context set.  They never take a
 * dealership id for reads: the policies decide what is visible, so another
 * dealership's id simply is not found.  Inserts take the tenant from the
 * context too (NULLIF(current_setting(...))::uuid), so a row can only be
 * written for the dealership the transaction acts for.
 *
 * Every "out" JSON string lives in the arena.
 */
#ifndef NV_MODEL_H
#define NV_MODEL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

/*
 * After a database validation failure on a foreign key, point the detail at
 * the column the constraint covers (e.g. "assigned_to": "does not exist").
 * cols is NULL-terminated.  Returns rc unchanged.
 */
enum nv_err nv_model_fk_field(struct nv_diag *d, enum nv_err rc,
    const char *const *cols);

/*
 * The first column of a one-row result as an arena string, or
 * NV_ERR_NOT_FOUND (with "<what> not found") when there is no row.
 */
struct pg_result;
enum nv_err nv_model_one(struct nv_arena *a, struct nv_diag *d,
    struct pg_result *res, const char *what, char **out);

struct nv_stmt;
struct nv_field;

/*
 * Run st with the one parameter id and return its first column as JSON:
 * the get-by-id of every model.  A malformed id or no row is
 * NV_ERR_NOT_FOUND ("<what> not found"), never a database error.
 */
enum nv_err nv_model_by_id(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *id, const char *what, char **out);

/*
 * Validate patch against spec[0..n) for an update, then run st with
 * ($1 id, $2 the normalised patch as jsonb) and return its first column.
 * NV_ERR_NOT_FOUND for a malformed or unknown id; fk_cols (may be NULL)
 * maps foreign-key failures to their column.
 */
enum nv_err nv_model_patch(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const struct nv_field *spec, size_t n,
    const char *id, const cJSON *patch, const char *what,
    const char *const *fk_cols, char **out);

/* Run the DELETE ... RETURNING st for id; NV_ERR_NOT_FOUND when no row. */
enum nv_err nv_model_delete(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stmt *st, const char *id, const char *what);

#endif /* NV_MODEL_H */
