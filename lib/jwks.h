/*
 * jwks.h - RSA signing keys from a JWKS URL, cached by kid.
 *
 * Clerk publishes its instance's keys at <Frontend API>/.well-known/
 * jwks.json as {"keys":[{"kty":"RSA","kid":..,"n":..,"e":..,"alg":"RS256",
 * "use":"sig"}]}.  libjwt 1.10 has no JWKS support and wants a PEM, so each
 * usable key (kty RSA, use absent or "sig", alg absent or "RS256", a kid,
 * a modulus of at least 2048 bits) is rebuilt with OpenSSL 3 from n and e
 * and kept as SubjectPublicKeyInfo PEM text.  Other keys are skipped.
 *
 * The cache lives in process memory owned by this module.  A kid that is
 * not in it triggers one fetch (libcurl: connect timeout 3 s, total 5 s,
 * at most 256 KiB, no redirects), but only when the last fetch is at least
 * the minimum refresh interval (60 s) old, so a flood of tokens with
 * made-up kids costs Clerk at most one request a minute per process.  After
 * a failed fetch the next may come after 5 s (or the interval, if
 * shorter).  A successful fetch replaces the whole cache, so a key that
 * Clerk removed stops verifying once a refresh happens; a failed fetch
 * keeps the old keys.  Rotation thus needs no restart.
 *
 * Not thread-safe: one FastCGI request at a time per process.
 */
#ifndef NV_JWKS_H
#define NV_JWKS_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/* Largest JWKS document accepted, in bytes. */
#define NV_JWKS_DOC_MAX		(256 * 1024)
/* Default minimum time between two fetches, in seconds. */
#define NV_JWKS_MIN_REFRESH	60

/*
 * Use url (copied) for later fetches; nothing is fetched yet.  Drops any
 * cached key.  NV_ERR_CONFIG when url is not https://, or http:// to a
 * loopback host (127.0.0.0/8, ::1, localhost).
 *   url: the JWKS document's URL.
 *   d: receives the reason, naming NORVALT_CLERK_JWKS_URL.
 */
enum nv_err nv_jwks_init(const char *url, struct nv_diag *d);

/*
 * The SPKI PEM of the key kid, copied into a (NUL-terminated, *len bytes
 * without the NUL).  Fetches the document first when kid is unknown and
 * the rate limit allows.  NV_OK; NV_ERR_UNAUTHORIZED "token signing key is
 * unknown" when it is still unknown (the document could not be fetched,
 * or does not hold it); NV_ERR_INTERNAL before nv_jwks_init.
 *   a: where the PEM copy goes.
 *   d: receives the reason.
 *   kid: the token header's key id.
 *   pem, len: the result.
 */
enum nv_err nv_jwks_key(struct nv_arena *a, struct nv_diag *d,
    const char *kid, const char **pem, size_t *len);

/* Forget the URL, every key and the rate-limit state (tests, re-init). */
void nv_jwks_reset(void);

/* Set the minimum time between two fetches (tests use 0). */
void nv_jwks_set_min_refresh(long seconds);

/* How many fetches this process has attempted (tests, metrics). */
unsigned long nv_jwks_fetches(void);

/* How many keys are cached now. */
size_t nv_jwks_count(void);

#endif /* NV_JWKS_H */
