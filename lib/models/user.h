/*
 * user.h - a dealership's staff (SPEC section 4, users).
 *
 * A person in a dealer group has one row per dealership, keyed by
 * (dealership_id, clerk_user_id).  Run inside nv_db_tx with RLS context.
 */
#ifndef NV_USER_H
#define NV_USER_H

#include <stdbool.h>

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

/*
 * The users of the dealership, by name, filtered by role (NULL: any) and
 * active (-1: any, 0: deactivated only, 1: active only).  NV_ERR_BAD_REQUEST
 * naming "role" for an unknown role.
 */
enum nv_err nv_user_search(struct nv_arena *a, struct nv_diag *d,
    const char *role, int active, char **out);

/*
 * A manager or admin changing a user through the API: role, active, name
 * and notification_preferences only (e-mail and the Clerk id come from
 * Clerk).  The rules, in this order:
 *   422 NV_ERR_VALIDATION   a bad, unknown or read-only field (named)
 *   403 NV_ERR_FORBIDDEN    a manager making anyone admin
 *   422 NV_ERR_VALIDATION   the actor changing their own role ("role") or
 *                           deactivating themselves ("active")
 *   404 NV_ERR_NOT_FOUND    no such user in this dealership
 *   403 NV_ERR_FORBIDDEN    a manager changing an admin (a manager could
 *                           otherwise demote or lock out the admins)
 * The first two need no lookup, so they hold for any id.
 *   id: the user to change (users.id).
 *   actor_id: the caller's users.id.
 *   actor_is_admin: whether the caller is an admin (else a manager).
 *   patch: the request body; out: the updated user.
 */
enum nv_err nv_user_manage(struct nv_arena *a, struct nv_diag *d,
    const char *id, const char *actor_id, bool actor_is_admin,
    const cJSON *patch, char **out);

#endif /* NV_USER_H */
