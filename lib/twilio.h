/*
 * twilio.h - Twilio's inbound SMS webhook: request signatures, opt-out
 * keywords and the opt-out register (SPEC sections 6 and 7).
 *
 * X-Twilio-Signature is base64(HMAC-SHA1(Auth Token, data)), where data is
 * the public URL Twilio posted to (scheme, host, path, query) followed by
 * every POST parameter sorted by name (then value), each name immediately
 * followed by its value, with no separators; a name given twice with the
 * same value counts once.  Twilio is not consistent about an explicit
 * default port, so the URL is also tried with ":443"/":80" added or
 * removed, as the official SDKs do.
 *
 * A message whose whole (trimmed) body is an opt-out keyword is not a lead
 * inquiry: nv_twilio_keyword_submit() records it without creating a lead
 * or queueing a reply.
 */
#ifndef NV_TWILIO_H
#define NV_TWILIO_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

struct nv_rls_ctx;
struct nv_intake_answer;

/* Length of a signature: base64 of a 20-byte SHA-1 MAC. */
#define NV_TWILIO_SIG_LEN	28

enum nv_twilio_keyword {
	NV_TWILIO_NONE = 0,	/* an ordinary message */
	NV_TWILIO_STOP,		/* STOP, STOPP, AVSLUTT, UNSUBSCRIBE, ... */
	NV_TWILIO_START		/* START, UNSTOP */
};

/*
 * The signature Twilio would send for an application/x-www-form-urlencoded
 * body[0..len) posted to url, keyed with token: NUL-terminated base64 in
 * the arena, in *out.  NV_ERR_BAD_REQUEST when the body's percent-encoding
 * is broken or decodes to a NUL byte.
 */
enum nv_err nv_twilio_signature(struct nv_arena *a, const char *token,
    const char *url, const char *body, size_t len, const char **out);

/*
 * 1 when header (X-Twilio-Signature, NULL when absent) is the signature of
 * body for url or for url with its default port added or removed, else 0.
 * Compared in constant time (CRYPTO_memcmp).  A NULL or empty token is 0.
 */
int nv_twilio_signature_ok(struct nv_arena *a, const char *token,
    const char *url, const char *body, size_t len, const char *header);

/* Which keyword body is, ASCII case-insensitive, surrounding space trimmed. */
enum nv_twilio_keyword nv_twilio_keyword(const char *body);

/*
 * Record a keyword message kw (STOP or START) from phone (E.164) for the
 * dealership of ctx, in one transaction: STOP adds phone to sms_optouts,
 * START removes it; body is stored as an inbound SMS message (provider id
 * message_sid) on the newest lead with that phone created in the last 30
 * days, if there is one.  No lead is created and no reply job queued.
 * message_sid is also the idempotency key (scope "webhook:sms"): a retry
 * returns the stored answer and changes nothing.  *out: status 200 and
 * {"lead_id": <id or null>, "opt_out": true|false}.  Errors as
 * nv_intake_submit.
 */
enum nv_err nv_twilio_keyword_submit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, enum nv_twilio_keyword kw,
    const char *phone, const char *body, const char *message_sid,
    struct nv_intake_answer *out);

/* The idempotency scope of the SMS webhook. */
#define NV_TWILIO_SCOPE		"webhook:sms"

#endif /* NV_TWILIO_H */
