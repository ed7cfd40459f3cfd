/*
 * lead.h - a person asking about a car (SPEC section 4, leads).
 *
 * All functions run inside nv_db_tx with the tenant's RLS context set.
 * JSON outputs have SPEC section 6's lead shape and live in the arena.
 */
#ifndef NV_LEAD_H
#define NV_LEAD_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

extern const char *const nv_lead_statuses[];	/* new .. lost, NULL */
extern const char *const nv_lead_sources[];	/* web_form .. walk_in, NULL */

#define NV_LEAD_LIST_MAX	200
#define NV_LEAD_LIST_DEFAULT	50

struct nv_lead_filter {
	const char	*status;	/* NULL: any */
	const char	*source;	/* NULL: any */
	const char	*assigned_to;	/* users.id; NULL: any */
	bool		 unassigned;	/* assigned_to IS NULL */
	const char	*q;		/* name, e-mail or phone contains */
	const char	*created_after;	/* RFC 3339, inclusive */
	const char	*created_before;/* RFC 3339, exclusive */
	bool		 ascending;	/* sort=created_at */
	int		 limit;		/* 1..NV_LEAD_LIST_MAX */
	const char	*after_ts;	/* keyset position: created_at text */
	const char	*after_id;	/* and id of the last row seen */
};

struct nv_lead_page {
	char	*data;		/* JSON array of leads */
	size_t	 data_len;	/* strlen(data) */
	char	*next_ts;	/* NULL when this is the last page */
	char	*next_id;
};

/*
 * Create a lead from a JSON object: first_name, last_name, email, phone,
 * source (default "manual"), status, vehicle_id, vehicle_interest, message,
 * assigned_to, notes, consent, metadata.  At least one of email or phone.
 * A lead stored with status "new" (the default) gets its 'reply' job for
 * the worker in the same statement; any other status gets none.
 * NV_ERR_VALIDATION names each bad field (unknown fields included).
 */
enum nv_err nv_lead_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, char **out);

/* One lead by id; NV_ERR_NOT_FOUND when absent or not this tenant's. */
enum nv_err nv_lead_get(struct nv_arena *a, struct nv_diag *d,
    const char *id, char **out);

/* A keyset page of leads, newest first unless f->ascending. */
enum nv_err nv_lead_list(struct nv_arena *a, struct nv_diag *d,
    const struct nv_lead_filter *f, struct nv_lead_page *page);

/*
 * Update the fields present in patch: status, assigned_to, first_name,
 * last_name, email, phone, vehicle_id, vehicle_interest, notes, ai_paused.
 * Other fields, dealership_id and ids included, are refused with 422.  A
 * change of status pauses AI replies on the lead (a person has taken
 * over) unless patch sets ai_paused itself.
 */
enum nv_err nv_lead_update(struct nv_arena *a, struct nv_diag *d,
    const char *id, const cJSON *patch, char **out);

/* Erase a lead and (by cascade) its messages and jobs (GDPR erasure). */
enum nv_err nv_lead_delete(struct nv_arena *a, struct nv_diag *d,
    const char *id);

/*
 * Everything held on the person of a lead (GDPR access): the lead, its
 * messages, other leads with the same e-mail or phone in this dealership,
 * and the lead's change history (who and when, never values).
 */
enum nv_err nv_lead_export(struct nv_arena *a, struct nv_diag *d,
    const char *id, char **out);

#endif /* NV_LEAD_H */
