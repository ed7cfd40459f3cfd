/*
 * clerk.h - applying Clerk's webhook events to dealerships and users.
 *
 * cgi-bin/clerk verifies a delivery (lib/svix) and hands the parsed event
 * here.  nv_clerk_apply() checks its shape, then applies it in one
 * transaction with no tenant context, through the SECURITY DEFINER
 * functions of migration 008 (which set the context per row they write):
 *
 *   organization.created|updated    dealership created, or its name updated
 *   organization.deleted            dealership inactive
 *   organizationMembership.created|updated
 *                                   user created or updated in that
 *                                   dealership: e-mail, name, role (mapped
 *                                   by NORVALT_CLERK_ROLE_MAP), active
 *   organizationMembership.deleted  that user inactive in that dealership
 *   user.created|updated            e-mail (the primary address) and name
 *                                   in every dealership the user is in
 *   user.deleted                    that user inactive everywhere
 *   anything else                   ignored
 *
 * The delivery's svix-id is recorded in the same transaction
 * (nv_clerk_event_seen), so a replay is recognised and applies nothing,
 * and a failed transaction leaves no record: Svix's retry applies it.
 */
#ifndef NV_CLERK_H
#define NV_CLERK_H

#include <stdbool.h>

#include "arena.h"
#include "err.h"

struct cJSON;

/* What nv_clerk_apply did. */
struct nv_clerk_result {
	bool	duplicate;	/* the svix-id was applied before */
	bool	ignored;	/* an event type Norvalt does not use */
	bool	applied;	/* a row was written (false: unknown org etc.) */
};

/*
 * Check a role map: comma-separated "clerk_role=norvalt_role" pairs, the
 * Norvalt role one of sales_rep, manager, admin, no empty or repeated
 * Clerk role.  NV_OK, or NV_ERR_CONFIG with d saying what is wrong.
 */
enum nv_err nv_clerk_role_map_check(const char *map, struct nv_diag *d);

/*
 * The Norvalt role for Clerk role role under map (already checked):
 * the mapped role, matching "org:x" and "x" alike; "sales_rep" (the least
 * privilege) for a role the map does not name or a NULL role.
 */
const char *nv_clerk_role(const char *map, const char *role);

/*
 * Apply one verified Clerk event.
 *   a: the request arena; d: the diagnostic for errors.
 *   svix_id: the delivery id (already verified).
 *   event: the parsed body; role_map: NORVALT_CLERK_ROLE_MAP.
 *   request_id: for the audit trail (may be NULL).
 *   out: what happened.
 * Errors: NV_ERR_BAD_REQUEST when the event is not an object with a
 * string "type" and an object "data", or data lacks what the type needs
 * (named in d); NV_ERR_UNAVAILABLE when the database is unreachable;
 * other database errors as lib/db classifies them.  Nothing is applied
 * unless NV_OK is returned.
 */
enum nv_err nv_clerk_apply(struct nv_arena *a, struct nv_diag *d,
    const char *svix_id, const struct cJSON *event, const char *role_map,
    const char *request_id, struct nv_clerk_result *out);

#endif /* NV_CLERK_H */
