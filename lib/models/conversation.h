/*
 * conversation.h - the messages of a lead (SPEC section 4, conversations).
 * Run inside nv_db_tx with RLS context.  JSON has SPEC section 6's message
 * shape: id, lead_id, direction, channel, sender, user_id, body, status,
 * created_at (plus provider_id and error for delivery tracking).
 */
#ifndef NV_CONVERSATION_H
#define NV_CONVERSATION_H

#include <cjson/cJSON.h>

#include "../arena.h"
#include "../err.h"

extern const char *const nv_msg_directions[];
extern const char *const nv_msg_channels[];
extern const char *const nv_msg_senders[];
extern const char *const nv_msg_statuses[];

/*
 * Create a message from lead_id, direction, channel, sender, body (all
 * required), user_id, status, provider_id, metadata.  Inbound messages
 * must come from the customer and outbound ones not (422 otherwise); a
 * lead_id of another dealership is 422 on lead_id.
 */
enum nv_err nv_conversation_create(struct nv_arena *a, struct nv_diag *d,
    const cJSON *in, char **out);

enum nv_err nv_conversation_get(struct nv_arena *a, struct nv_diag *d,
    const char *id, char **out);

/* A lead's messages, oldest first; NV_ERR_NOT_FOUND for an unknown lead. */
enum nv_err nv_conversation_list(struct nv_arena *a, struct nv_diag *d,
    const char *lead_id, char **out);

/* Delivery progress: status (required), provider_id, error. */
enum nv_err nv_conversation_update(struct nv_arena *a, struct nv_diag *d,
    const char *id, const cJSON *patch, char **out);

/*
 * A human reply to a lead ({"body": ..., "channel": "email"|"sms"|"note"}):
 * stores the outbound message as queued with its delivery job and pauses
 * AI replies on the lead, atomically.  Without a channel the lead's own is
 * used.  NV_ERR_NOT_FOUND for an unknown lead; NV_ERR_VALIDATION when the
 * lead cannot be reached on the channel asked for.
 */
enum nv_err nv_conversation_reply(struct nv_arena *a, struct nv_diag *d,
    const char *lead_id, const char *user_id, const cJSON *in, char **out);

#endif /* NV_CONVERSATION_H */
