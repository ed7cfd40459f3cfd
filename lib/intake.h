/*
 * intake.h - the channel-independent part of taking a lead in.
 *
 * Every inbound channel (the website form, later ADF, SMS and e-mail)
 * turns what it received into a struct nv_intake_lead: checked and
 * normalised, contact details valid.  nv_intake_submit() then applies the
 * rules SPEC section 6 sets for all of them, in one transaction under the
 * dealership's RLS context:
 *
 *   - Idempotency-Key: a key seen in the last 24 hours (per dealership and
 *     scope) returns the first answer and stores nothing new.  The key is
 *     inserted with the lead, so a concurrent duplicate hits the unique
 *     constraint and then reads the stored answer.
 *   - The same person (email_norm, or the E.164 phone) with a lead created
 *     within 30 days: no new lead, the submission becomes an inbound
 *     message on the newest such lead plus a follow-up 'reply' job
 *     {"message_id": <that message>, "follow_up": true} (200,
 *     "duplicate": true).
 *   - Otherwise a new lead, its inbound message (when there is one) and a
 *     'reply' job for the worker, committed together (201).
 *
 * All of that is one statement, nv_intake_submit() of migration 012,
 * sent together with COMMIT.  Webhooks with a dealership in the path use
 * nv_intake_webhook(), which also folds the dealership lookup into the
 * same transaction: two round trips per lead in all.
 *
 * Nothing is answered before COMMIT: a failure, the database being down
 * included, is returned as an error and no 2xx is produced.
 */
#ifndef NV_INTAKE_H
#define NV_INTAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

struct cJSON;
struct nv_dealership_pub;
struct nv_req;
struct nv_rls_ctx;

/* Longest Idempotency-Key accepted, in bytes. */
#define NV_INTAKE_KEY_MAX	200

/* A normalised inbound lead; NULL members are absent. */
struct nv_intake_lead {
	const char	*source;	/* leads.source: "web_form", "adf", ... */
	const char	*channel;	/* message channel: "web", "email", "sms" */
	const char	*first_name;
	const char	*last_name;
	const char	*email;		/* valid address, lower case */
	const char	*phone;		/* E.164 */
	const char	*vehicle_interest;
	const char	*message;	/* the person's own words */
	const char	*empty_message;	/* message body when message is NULL */
	const char	*consent;	/* JSON object {"email": true, ...} */
	const char	*metadata;	/* JSON object kept in leads.metadata */
};

/* The answer to give, already committed. */
struct nv_intake_answer {
	int		 status;	/* 201 new lead, 200 duplicate */
	const char	*body;		/* JSON, in the arena */
	bool		 replayed;	/* the stored answer of an earlier request */
	bool		 skipped;	/* nv_intake_webhook: the check set skip */
};

/*
 * Take lead in for the dealership of ctx (ctx->dealership_id must come
 * from the database, never from the request alone).  scope names the
 * channel for Idempotency-Keys ("webhook:form"); key is the request's
 * Idempotency-Key or NULL (at most NV_INTAKE_KEY_MAX bytes).  On NV_OK,
 * *out holds status and body.  Errors: NV_ERR_VALIDATION when neither
 * e-mail nor phone is given or the database refuses a value,
 * NV_ERR_UNAVAILABLE when the database is unreachable, NV_ERR_CONFLICT
 * when a concurrent request with the same key could not be read back.
 */
enum nv_err nv_intake_submit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, const struct nv_intake_lead *lead,
    const char *scope, const char *key, struct nv_intake_answer *out);

/*
 * 1 when header is "sha256=" and the hex HMAC-SHA256 of body[0..len) keyed
 * with secret (either case of hex digits), else 0.  Compared in constant
 * time (CRYPTO_memcmp); a missing (NULL) or malformed header is 0.
 */
int nv_intake_signature_ok(const char *secret, const char *body, size_t len,
    const char *header);

/*
 * Decode an application/x-www-form-urlencoded body into a JSON object of
 * strings ('+' is a space, %XX a byte; a name given twice keeps the last
 * value).  The tree is freed with arena a.  NV_ERR_BAD_REQUEST when the
 * encoding is broken or a name or value is not valid UTF-8 text.
 */
enum nv_err nv_intake_form_decode(struct nv_arena *a, struct nv_diag *d,
    const char *body, size_t len, struct cJSON **out);

/* What a webhook's check made of a request (see nv_intake_webhook). */
struct nv_intake_sub {
	struct nv_intake_lead	 lead;
	const char		*scope;	/* Idempotency-Key scope */
	const char		*key;	/* the key, or NULL */
	bool			 skip;	/* nothing to submit (honeypot, STOP) */
};

/*
 * A channel's checks of one request, run once the path's dealership is
 * known to be active: pub holds its id and webhook secret (NULL when
 * none).  Verify the signature over the raw body, then parse, and either
 * fill sub (lead, scope, key) or set sub->skip.  Errors are returned with
 * nv_req_fail(); they roll back, and no lead is stored.
 */
typedef enum nv_err (*nv_intake_check)(struct nv_req *req,
    const struct nv_dealership_pub *pub, void *arg,
    struct nv_intake_sub *sub);

/*
 * A webhook POST for the dealership of the path ({dealership_id}) in one
 * transaction of two round trips: the dealership is looked up by the
 * database (nv_webhook_dealership(), which also sets the RLS context:
 * only an id the database vouches for becomes the context), check runs,
 * and the submission goes out with COMMIT (nv_intake_submit() of
 * migration 012).  actor labels the context ("webhook:form").  On NV_OK
 * *out holds the committed answer, or out->skipped when check set skip
 * (nothing was written).  Errors: NV_ERR_BAD_REQUEST for an id that is
 * not a uuid, NV_ERR_NOT_FOUND for an unknown or inactive dealership,
 * NV_ERR_UNAVAILABLE when the database is down, check's own errors, and
 * nv_intake_submit's.  Sets req->tenant for the log.
 */
enum nv_err nv_intake_webhook(struct nv_req *req, const char *actor,
    nv_intake_check check, void *arg, struct nv_intake_answer *out);

#endif /* NV_INTAKE_H */
