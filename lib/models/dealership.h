/*
 * dealership.h - the tenant (SPEC section 4, dealerships).
 *
 * Reads and updates run inside nv_db_tx with the dealership's own RLS
 * context: a dealership sees only itself.  What must happen before a
 * tenant is known (mapping a Clerk organisation, checking a webhook's
 * dealership, creating one from a Clerk event) goes through the narrow
 * SECURITY DEFINER functions of the migrations, never a bypassing role.
 */
#ifndef NV_DEALERSHIP_H
#define NV_DEALERSHIP_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

/* What a webhook needs to know about a dealership before it has context. */
struct nv_dealership_pub {
	const char	*id;
	const char	*name;
	bool		 active;
	const char	*webhook_secret;	/* NULL when none */
};

/*
 * The current dealership as JSON.  settings.webhook_secret is included
 * only when with_secret (manager/admin), else removed.
 */
enum nv_err nv_dealership_get(struct nv_arena *a, struct nv_diag *d,
    bool with_secret, char **out);

/*
 * Update name and/or settings (merged key by key into the stored
 * settings; each key validated: ai_enabled, language nb|en, tone,
 * timezone, business_hours, auto_assign off|round_robin, sales_rep_scope
 * all|assigned, webhook_secret (16..200 bytes or null), templates (reply
 * templates, checked by nv_compose_templates_ok: 422 on
 * settings.templates.<name>), follow_up_minutes 1..10080).
 */
enum nv_err nv_dealership_update(struct nv_arena *a, struct nv_diag *d,
    const cJSON *patch, bool with_secret, char **out);

/*
 * Create a dealership (name required, clerk_org_id, settings) through
 * nv_create_dealership().  *id receives the new id.  NV_ERR_CONFLICT when
 * the Clerk organisation already has one.  Needs no tenant context.
 */
enum nv_err nv_dealership_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, const char **id);

/*
 * Map a Clerk organisation id to its dealership: *id (NULL when unknown)
 * and *active.  Needs no tenant context.
 */
enum nv_err nv_dealership_resolve_org(struct nv_arena *a, struct nv_diag *d,
    const char *clerk_org_id, const char **id, bool *active);

/*
 * Look a dealership up by id for a webhook: NV_ERR_NOT_FOUND when the id
 * is unknown (or not a uuid).  Needs no tenant context.
 */
enum nv_err nv_dealership_lookup(struct nv_arena *a, struct nv_diag *d,
    const char *id, struct nv_dealership_pub *out);

#endif /* NV_DEALERSHIP_H */
