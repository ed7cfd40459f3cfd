/*
 * devtoken.h - mint Clerk-shaped dev session tokens with the local key.
 *
 * Shared by bin/norvalt-token (`make token`) and cgi-bin/devlogin (the
 * dashboard's demo sign-in, only with NORVALT_DEV_LOGIN=1).  The token is
 * signed RS256 with the dev private key (PKCS#8 PEM) and shaped like a
 * Clerk v2 session token:
 *
 *   header  {"alg":"RS256","typ":"JWT","kid":<first 16 hex of SHA-256 of
 *            the public key's DER>}
 *   payload {"iss":..,"sub":user,"sid":"sess_dev_..","iat":now,
 *            "nbf":now-5,"exp":now+ttl,"v":2,"jti":..,"fva":[0,-1],
 *            "o":{"id":org,"rol":..},"azp":..}
 *
 * The API verifies these exactly as it verifies Clerk's (lib/auth).
 */
#ifndef NV_DEVTOKEN_H
#define NV_DEVTOKEN_H

#include "err.h"

/* Largest key file read, in bytes. */
#define NV_DEVTOKEN_KEY_MAX	(64 * 1024)

struct nv_devtoken {
	const char	*key;		/* private key PEM file */
	const char	*issuer;	/* iss */
	const char	*user;		/* sub: the Clerk user id */
	const char	*org;		/* o.id: the Clerk organisation id */
	const char	*rol;		/* o.rol: "admin" | "manager" | "member" */
	const char	*azp;		/* azp, or NULL for none */
	long		 ttl;		/* seconds; negative mints an expired one */
	long		 now;		/* Unix seconds */
};

/*
 * Sign t into *out (malloc'd; the caller frees it).  NV_OK, or
 * NV_ERR_CONFIG when the key cannot be read or is not RSA >= 2048 bits,
 * NV_ERR_INTERNAL when signing fails; d says which, naming the key file
 * but never its content.
 */
enum nv_err nv_devtoken_sign(struct nv_diag *d, const struct nv_devtoken *t,
    char **out);

/* Clerk's organisation role for a Norvalt role ("sales_rep": "member"). */
const char *nv_devtoken_clerk_role(const char *role);

#endif /* NV_DEVTOKEN_H */
