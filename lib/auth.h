/*
 * auth.h - Clerk session tokens: verification (no database) and resolution
 * of the verified caller to a dealership and a user (one round trip).
 *
 * Per request, an authenticated route does exactly this:
 *
 *   nv_auth_verify(a, d, token, time(NULL), &claims);      no database
 *   nv_db_tx(a, d, NULL, work, arg) where work first calls
 *     nv_auth_resolve(a, d, &claims, &principal);          sets the context
 *   then checks principal.role against the route, then does its work.
 *
 * Verification follows Clerk's own verifier, cheapest first: syntax (three
 * base64url parts, at most NV_AUTH_TOKEN_MAX bytes), the header decoded
 * here (alg must be "RS256", typ absent or "JWT", no "crit"), the key (the
 * PEM file, or the JWKS key named by kid), the signature through libjwt,
 * alg checked again on libjwt's result, then the claims: exp required and
 * not expired, nbf and iat not in the future (each with NV_AUTH_SKEW
 * seconds of clock skew), iss equal to NORVALT_CLERK_ISSUER, azp in
 * NORVALT_CLERK_AUTHORIZED_PARTIES when that is set (a missing azp then
 * fails), sub a non-empty string, sts not "pending".  libjwt 1.10 is never
 * called without a key (it would skip the signature) and never trusted on
 * its own about the algorithm (it verifies HS256 tokens with the RSA public
 * PEM as the HMAC secret).
 *
 * Status codes.  401 means "we do not know who you are": the token is
 * missing, malformed, forged, expired, or names an organisation or a user
 * this deployment has never heard of; signing in again (or asking an admin
 * to add you) may help.  403 means "we know who you are, and the answer is
 * no": the token is valid and the person exists, but has no active
 * organisation, is deactivated, belongs to a deactivated dealership, or
 * belongs to other dealerships than the token's organisation.
 */
#ifndef NV_AUTH_H
#define NV_AUTH_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/* Longest token accepted, in bytes (Clerk's are about 1 KiB). */
#define NV_AUTH_TOKEN_MAX	8192
/* Clock skew allowed on exp, nbf and iat, in seconds (as Clerk's SDK). */
#define NV_AUTH_SKEW		5

/* A verified token's claims.  Strings live in the arena; absent is NULL. */
struct nv_claims {
	const char	*sub, *sid, *iss, *azp, *sts, *kid;
	/* v2 o.id/o.rol/o.slg, or v1 org_id/org_role/org_slug, as sent */
	const char	*org_id, *org_role, *org_slug;
	long		 exp, nbf, iat;	/* nbf, iat: 0 when absent */
	int		 version;	/* 2 when v == 2, else 1 */
};

/*
 * Load the verification key once per process (may be called again, which
 * starts over; tests do).  NORVALT_CLERK_JWT_KEY_FILE, an SPKI PEM
 * ("BEGIN PUBLIC KEY") holding an RSA key of at least 2048 bits, wins;
 * otherwise NORVALT_CLERK_JWKS_URL (https, or http to a loopback host),
 * whose keys are fetched on first use.  NV_ERR_CONFIG, with d->msg naming
 * the variable, when neither is set or the key is unreadable, empty, not
 * a public key, not RSA or too short.
 *   d: receives the reason on failure.
 */
enum nv_err nv_auth_init(struct nv_diag *d);

/*
 * Verify token at time now (Unix seconds) and fill *out.  NV_OK, or
 * NV_ERR_UNAUTHORIZED with a short lower-case reason in d->msg (never the
 * token); NV_ERR_INTERNAL when nv_auth_init has not succeeded.  The
 * libjwt and cJSON objects are freed with the arena.
 *   a: the request arena; out's strings live there.
 *   d: receives the reason.
 *   token: the compact JWS, without "Bearer ".
 *   now: the current time (a parameter so tests can move the clock).
 *   out: the claims; all zero unless NV_OK.
 */
enum nv_err nv_auth_verify(struct nv_arena *a, struct nv_diag *d,
    const char *token, long now, struct nv_claims *out);

/* The roles of SPEC section 5, as stored in users.role. */
enum nv_role {
	NV_ROLE_SALES_REP = 1,
	NV_ROLE_MANAGER,
	NV_ROLE_ADMIN
};

/* The caller of a request.  Strings live in the arena. */
struct nv_principal {
	const char	*dealership_id;	/* dealerships.id (uuid) */
	const char	*user_id;	/* users.id (uuid) */
	const char	*clerk_user_id;	/* the token's sub */
	const char	*clerk_org_id;	/* the token's organisation */
	enum nv_role	 role;
};

/*
 * Resolve verified claims to a principal and set the transaction's tenant
 * context (app.current_dealership_id, app.current_user_id and app.actor =
 * "user:<sub>") in the same round trip, through the SECURITY DEFINER
 * function nv_auth_context(); for a caller this process resolved before,
 * through two plain statements that re-check the cached mapping (Clerk
 * ids, both active flags, the role, the scope) in the request's own
 * snapshot.  Those two are deferred (nv_db_defer) to go out with the
 * handler's first statement; when anything changed they fail that
 * pipeline, nothing of the request runs, and lib/api.c answers it again
 * after nv_auth_forget(), through nv_auth_context() -- so no change in the
 * database is ever answered from the cache.  Must run
 * inside nv_db_tx with a NULL context, before anything else reads tenant
 * data.  Returns NV_OK, or:
 *   403 NV_ERR_FORBIDDEN    the token has no active organisation; the
 *                           dealership is deactivated; the user is
 *                           deactivated; the user exists only in other
 *                           dealerships ("user does not belong to this
 *                           dealership")
 *   401 NV_ERR_UNAUTHORIZED unknown organisation; unknown user
 *   database errors as nv_db_exec reports them.
 * On any error the context is not set, and the caller must end the
 * transaction (returning the error from the work does).
 *   a: the request arena; p's strings live there.
 *   d: receives the reason.
 *   c: claims from nv_auth_verify.
 *   p: the principal, zeroed first.
 */
enum nv_err nv_auth_resolve(struct nv_arena *a, struct nv_diag *d,
    const struct nv_claims *c, struct nv_principal *p);

/*
 * Drop the cached mapping of c's caller: the next nv_auth_resolve asks
 * nv_auth_context().  lib/api.c calls it when the deferred re-check of a
 * cached caller failed (nv_db_deferred_failed()).
 */
void nv_auth_forget(const struct nv_claims *c);

/* "sales_rep", "manager", "admin" (NULL for anything else). */
const char *nv_auth_role_str(enum nv_role r);

/*
 * Decode unpadded base64url (RFC 4648 section 5) src[0..len) into out,
 * which has room for outmax bytes.  Strict: only the alphabet, no '='
 * padding, no length of 4n+1, and the unused low bits of the last
 * character must be zero, so every byte string has exactly one accepted
 * encoding.  NV_OK with *outlen set; NV_ERR_BAD_REQUEST when invalid;
 * NV_ERR_TOO_LARGE when the result would not fit.
 */
enum nv_err nv_auth_b64url_decode(const char *src, size_t len,
    unsigned char *out, size_t outmax, size_t *outlen);

#endif /* NV_AUTH_H */
