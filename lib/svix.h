/*
 * svix.h - verifying webhooks signed by Svix (Clerk's webhooks).
 *
 * Svix signs base64(HMAC-SHA256(key, id "." timestamp "." body)) where the
 * key is the base64 decoding of the endpoint secret after "whsec_", and
 * sends it as a space-separated list of "v1,<signature>" entries (several
 * while a secret rotates).  Entries of other versions are ignored; one
 * matching v1 entry suffices.  The timestamp (Unix seconds) must be within
 * NV_SVIX_TOLERANCE seconds of now, either way, so a captured delivery
 * cannot be replayed later.  Base64 is decoded strictly (standard alphabet,
 * padded, no stray bytes), and signatures are compared in constant time.
 */
#ifndef NV_SVIX_H
#define NV_SVIX_H

#include <stddef.h>
#include <time.h>

#include "err.h"

/* How far a delivery's timestamp may be from now, in seconds. */
#define NV_SVIX_TOLERANCE	(5 * 60)

/* Longest svix-id and svix-signature header accepted, in bytes. */
#define NV_SVIX_ID_MAX		200
#define NV_SVIX_SIG_MAX		4096

/*
 * Verify one delivery.
 *   secret: the endpoint secret, "whsec_<base64>" (the prefix is optional).
 *   id, timestamp, sigheader: the svix-id, svix-timestamp and
 *     svix-signature (or webhook-*) headers; NULL when absent.
 *   body, len: the raw request body, exactly as received.
 *   now: the current time (a parameter, so tests can move the clock).
 *   d: receives the reason on failure (may be NULL).
 * Returns NV_OK, NV_ERR_UNAUTHORIZED for a missing, malformed, stale or
 * non-matching delivery, or NV_ERR_CONFIG when the secret itself is not
 * valid (empty, or not base64).
 */
enum nv_err nv_svix_verify(const char *secret, const char *id,
    const char *timestamp, const char *sigheader, const char *body,
    size_t len, time_t now, struct nv_diag *d);

/*
 * Strict standard base64: in[0..n) must be a multiple of 4 long, use only
 * A-Z a-z 0-9 + / with at most two '=' at the end, and leave no stray bits.
 * Writes at most max bytes to out and their number to *outlen.  Returns 0
 * on success, -1 when the input is malformed or does not fit.
 */
int nv_svix_base64_decode(const char *in, size_t n, unsigned char *out,
    size_t max, size_t *outlen);

#endif /* NV_SVIX_H */
