/*
 * devtoken.c - dev session tokens; see devtoken.h.
 *
 * The key file is read on every call (a dev tool and a dev-only endpoint:
 * a changed key pair is picked up without a restart) and wiped from memory
 * afterwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "devtoken.h"

const char *
nv_devtoken_clerk_role(const char *role)
{
	if (role != NULL && strcmp(role, "admin") == 0)
		return "admin";
	if (role != NULL && strcmp(role, "manager") == 0)
		return "manager";
	return "member";
}

/* Lower-case hex of n random bytes into out (2n+1 bytes). */
static int
devtoken_random_hex(char *out, size_t n)
{
	unsigned char b[32];
	size_t i;

	if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
		return -1;
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* Read the whole key file (at most NV_DEVTOKEN_KEY_MAX bytes), malloc'd. */
static char *
devtoken_read_key(const char *path, size_t *len)
{
	FILE *f;
	char *p;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	p = malloc(NV_DEVTOKEN_KEY_MAX + 1);
	if (p == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(p, 1, NV_DEVTOKEN_KEY_MAX + 1, f);
	fclose(f);
	if (*len == 0 || *len > NV_DEVTOKEN_KEY_MAX) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	p[*len] = '\0';
	return p;
}

/*
 * Check the private key is RSA >= 2048 and compute its kid: the first 16
 * hex digits of SHA-256 over the public key's DER (SubjectPublicKeyInfo).
 */
static int
devtoken_kid(const char *pem, size_t len, char kid[17])
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int n, rc = -1, i;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -1;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "RSA") ||
	    EVP_PKEY_get_bits(pkey) < 2048)
		goto out;
	if ((n = i2d_PUBKEY(pkey, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < 8; i++)
		snprintf(kid + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* The claims other than the plain strings, as JSON for jwt_add_grants_json. */
static char *
devtoken_json_claims(const char *org, const char *rol)
{
	cJSON *root, *o, *fva;
	char *s;

	root = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(root, "o");
	cJSON_AddStringToObject(o, "id", org);
	cJSON_AddStringToObject(o, "rol", rol);
	fva = cJSON_AddArrayToObject(root, "fva");
	cJSON_AddItemToArray(fva, cJSON_CreateNumber(0));
	cJSON_AddItemToArray(fva, cJSON_CreateNumber(-1));
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

enum nv_err
nv_devtoken_sign(struct nv_diag *d, const struct nv_devtoken *t, char **out)
{
	char kid[17], sid[9 + 32 + 1] = "sess_dev_", jti[41];
	char *pem = NULL, *json = NULL;
	enum nv_err rc = NV_ERR_INTERNAL;
	jwt_t *j = NULL;
	size_t len = 0;

	*out = NULL;
	if ((pem = devtoken_read_key(t->key, &len)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "cannot read the private key "
		    "%s: %s (make run creates the dev key pair)", t->key,
		    strerror(errno));
		goto out;
	}
	if (devtoken_kid(pem, len, kid) != 0) {
		rc = nv_diag_set(d, NV_ERR_CONFIG, "%s is not an RSA private "
		    "key of 2048 bits or more in PEM", t->key);
		goto out;
	}
	if (devtoken_random_hex(sid + 9, 16) != 0 ||
	    devtoken_random_hex(jti, 20) != 0) {
		rc = nv_diag_set(d, NV_ERR_INTERNAL, "no random bytes");
		goto out;
	}
	if ((json = devtoken_json_claims(t->org, t->rol)) == NULL ||
	    jwt_new(&j) != 0 ||
	    jwt_add_header(j, "kid", kid) != 0 ||
	    jwt_add_grant(j, "iss", t->issuer) != 0 ||
	    jwt_add_grant(j, "sub", t->user) != 0 ||
	    jwt_add_grant(j, "sid", sid) != 0 ||
	    jwt_add_grant(j, "jti", jti) != 0 ||
	    jwt_add_grant_int(j, "iat", t->now) != 0 ||
	    jwt_add_grant_int(j, "nbf", t->now - 5) != 0 ||
	    jwt_add_grant_int(j, "exp", t->now + t->ttl) != 0 ||
	    jwt_add_grant_int(j, "v", 2) != 0 ||
	    jwt_add_grants_json(j, json) != 0 ||
	    (t->azp != NULL && jwt_add_grant(j, "azp", t->azp) != 0) ||
	    jwt_set_alg(j, JWT_ALG_RS256, (const unsigned char *)pem,
	    (int)len) != 0 ||
	    (*out = jwt_encode_str(j)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_INTERNAL, "signing the token failed");
		goto out;
	}
	rc = NV_OK;
out:
	jwt_free(j);
	free(json);
	if (pem != NULL)
		OPENSSL_cleanse(pem, len);
	free(pem);
	ERR_clear_error();
	return rc;
}
