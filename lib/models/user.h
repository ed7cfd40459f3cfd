/*
 * user.h - a dealership's staff (SPEC section 4, users).
 *
 * A person in a dealer group has one row per dealership, keyed by
 * (dealership_id, clerk_user_id).  Run inside nv_db_tx with RLS context.
 */
#ifndef NV_USER_H
#define NV_USER_H

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

extern const char *const nv_user_roles[];	/* sales_rep, manager, admin */

/* Create from clerk_user_id (required), email, name, role, active,
 * notification_preferences.  NV_ERR_CONFLICT when the Clerk id exists. */
enum nv_err nv_user_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, char **out);

enum nv_err nv_user_get(struct nv_arena *a, struct nv_diag *d,
    const char *id, char **out);

/* By Clerk user id within the current dealership. */
enum nv_err nv_user_get_by_clerk(struct nv_arena *a, struct nv_diag *d,
    const char *clerk_user_id, char **out);

/* All users of the dealership, by name; role NULL for any. */
enum nv_err nv_user_list(struct nv_arena *a, struct nv_diag *d,
    const char *role, char **out);

/* Update email, name, role, active, notification_preferences. */
enum nv_err nv_user_update(struct nv_arena *a, struct nv_diag *d,
    const char *id, const cJSON *patch, char **out);

#endif /* NV_USER_H */
