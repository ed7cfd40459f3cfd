/*
 * meta.h - Meta (Facebook) Lead Ads: the webhook's signature and
 * handshake checks, the notification scanner, the Graph API lead fetch and
 * its mapping onto struct nv_intake_lead (INTEGRATIONS.md section 4).
 *
 * Meta sends leadgen_id and page_id as JSON numbers of up to 17 digits or
 * more, which cJSON rounds to a double.  nv_meta_changes() therefore reads
 * the notification from its raw text and keeps every id as the literal
 * digits (or the decoded string) that were sent.
 */
#ifndef NV_META_H
#define NV_META_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

struct nv_intake_lead;
struct nv_rls_ctx;

/* Longest id kept (leadgen_id, page_id, ...), in bytes. */
#define NV_META_ID_MAX		64
/* Most changes taken from one notification (Meta batches up to 1000). */
#define NV_META_CHANGES_MAX	1000
/* Idempotency scope of leads taken in from Meta. */
#define NV_META_SCOPE		"webhook:facebook"

/* One entry[].changes[] element; NULL members were absent. */
struct nv_meta_change {
	const char	*field;		/* "leadgen" for new leads */
	const char	*entry_id;	/* entry[].id: the Page */
	const char	*leadgen_id;
	const char	*page_id;	/* value.page_id, else entry_id */
	const char	*form_id;
	const char	*ad_id;
	const char	*created_time;
};

/*
 * 1 when header is "sha256=" followed by the hex HMAC-SHA256 of
 * body[0..len) keyed with the app secret, else 0 (constant time; a NULL
 * header or secret is 0).
 */
int nv_meta_signature_ok(const char *secret, const char *body, size_t len,
    const char *header);

/*
 * 1 when given equals expected (the verify token), compared in constant
 * time over SHA-256 digests so the length leaks nothing; 0 otherwise or
 * when either is NULL or expected is empty.
 */
int nv_meta_token_ok(const char *expected, const char *given);

/* 1 when s is 1 to 128 ASCII letters and digits (a hub.challenge). */
int nv_meta_challenge_ok(const char *s);

/* 1 when s is 1 to NV_META_ID_MAX ASCII digits (a Graph object id). */
int nv_meta_id_ok(const char *s);

/*
 * Scan the notification body[0..len) (JSON) from its raw text: every
 * entry[].changes[] object, with the scalar members of its value kept as
 * text (a number exactly as written, a string decoded).  *out (in arena a)
 * and *n receive the changes in document order.  NV_ERR_BAD_REQUEST when
 * the body is not one JSON object, nests deeper than 32, or holds more
 * than NV_META_CHANGES_MAX changes.
 */
enum nv_err nv_meta_changes(struct nv_arena *a, struct nv_diag *d,
    const char *body, size_t len, struct nv_meta_change **out, size_t *n);

/*
 * GET base_url/leadgen_id?access_token=token (connect timeout 3 s, total
 * 10 s, at most 256 KiB).  Only norvalt-worker calls it: the webhook
 * queues a 'facebook_fetch' job instead of waiting on Graph.  On NV_OK
 * *json holds the 200 response body, in arena a.  NV_ERR_UNAVAILABLE when
 * the request fails or the answer is not 200 (the reason is logged, the
 * token never); NV_ERR_CONFIG when base_url or token is missing;
 * NV_ERR_BAD_REQUEST when leadgen_id is not an id.
 */
enum nv_err nv_meta_fetch(struct nv_arena *a, struct nv_diag *d,
    const char *base_url, const char *token, const char *leadgen_id,
    char **json);

/*
 * Map a Graph lead (json: {"id", "created_time", "field_data": [...]})
 * and its change ch onto *out (source and channel "facebook"): full_name
 * (split at the last space) or first_name / last_name, email (lower
 * case), phone_number (E.164, Norway by default); every field and the ids
 * go to metadata.facebook.  NV_ERR_UNAVAILABLE when json is not a Graph
 * lead object (worth retrying); NV_ERR_VALIDATION when it has neither a
 * valid e-mail nor a valid phone number.
 */
enum nv_err nv_meta_lead(struct nv_arena *a, struct nv_diag *d,
    const char *json, const struct nv_meta_change *ch,
    struct nv_intake_lead *out);

/*
 * Queue a 'facebook_fetch' job in the dealership of ctx, unless a queued
 * or running one for ch->leadgen_id exists: payload {"leadgen_id",
 * "page_id", "form_id", "ad_id", "created_time"}, each as text exactly as
 * the notification held it, absent members left out, so the worker builds
 * the same lead from it that the change describes.  Runs its own
 * transaction (its COMMIT wakes the workers: NOTIFY norvalt_jobs).
 */
enum nv_err nv_meta_queue_fetch(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, const struct nv_meta_change *ch);

/*
 * The dealership of Facebook Page page_id (settings.facebook_page_id):
 * *id (arena) and *active.  NV_ERR_NOT_FOUND when no dealership, or more
 * than one, names the Page.  Runs its own transaction, with no tenant.
 */
enum nv_err nv_meta_page_dealership(struct nv_arena *a, struct nv_diag *d,
    const char *page_id, const char **id, int *active);

#endif /* NV_META_H */
