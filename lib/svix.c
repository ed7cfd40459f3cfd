/*
 * svix.c - Svix webhook signatures; see svix.h.
 *
 * The HMAC runs over the three parts in turn (id, ".", timestamp, ".",
 * body) with one HMAC context, so the body is never copied.  Each v1 entry
 * is decoded to its 32 bytes and compared with CRYPTO_memcmp; every entry
 * is compared, matching or not, so the time taken does not tell which.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "svix.h"

#define SVIX_PREFIX	"whsec_"
#define SVIX_KEY_MAX	256
#define SVIX_MAC_LEN	32

static int
svix_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
nv_svix_base64_decode(const char *in, size_t n, unsigned char *out,
    size_t max, size_t *outlen)
{
	size_t i, o = 0, pad = 0;
	unsigned long acc;
	int v, k;

	*outlen = 0;
	if (n == 0 || n % 4 != 0)
		return -1;
	if (in[n - 1] == '=')
		pad++;
	if (in[n - 2] == '=')
		pad++;
	if (pad == 1 && in[n - 2] == '=')
		return -1;
	for (i = 0; i < n; i += 4) {
		acc = 0;
		for (k = 0; k < 4; k++) {
			if (i + 4 == n && k >= 4 - (int)pad) {
				acc <<= 6;
				continue;
			}
			if ((v = svix_b64val((unsigned char)in[i + k])) < 0)
				return -1;
			acc = acc << 6 | (unsigned long)v;
		}
		/* Bits that padding leaves over must be zero (canonical form). */
		if (i + 4 == n && ((pad == 1 && (acc & 0xff) != 0) ||
		    (pad == 2 && (acc & 0xffff) != 0)))
			return -1;
		for (k = 0; k < 3 - (i + 4 == n ? (int)pad : 0); k++) {
			if (o >= max)
				return -1;
			out[o++] = (unsigned char)(acc >> (16 - 8 * k));
		}
	}
	*outlen = o;
	return 0;
}

static int
svix_digits(const char *s, size_t max)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= max && s[n] == '\0';
}

/* 1 when s is 1..max printable ASCII bytes without spaces. */
static int
svix_token(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= max;
}

enum nv_err
nv_svix_verify(const char *secret, const char *id, const char *timestamp,
    const char *sigheader, const char *body, size_t len, time_t now,
    struct nv_diag *d)
{
	unsigned char key[SVIX_KEY_MAX], mac[EVP_MAX_MD_SIZE], sig[64];
	const char *p, *e, *comma;
	size_t klen, slen;
	size_t mlen = 0;
	long long ts;
	int match = 0, v1 = 0;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *h = NULL;
	OSSL_PARAM params[2];
	enum nv_err rc;

	if (secret == NULL || *secret == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "the webhook secret is not configured");
	if (strncmp(secret, SVIX_PREFIX, sizeof(SVIX_PREFIX) - 1) == 0)
		secret += sizeof(SVIX_PREFIX) - 1;
	if (nv_svix_base64_decode(secret, strlen(secret), key, sizeof(key),
	    &klen) != 0)
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "the webhook secret is not whsec_ followed by base64");

	if (id == NULL || timestamp == NULL || sigheader == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED, "the svix-id, "
		    "svix-timestamp and svix-signature headers are required");
		goto out;
	}
	if (!svix_token(id, NV_SVIX_ID_MAX)) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-id is not a valid delivery id");
		goto out;
	}
	if (!svix_digits(timestamp, 12)) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-timestamp is not a number of seconds");
		goto out;
	}
	ts = strtoll(timestamp, NULL, 10);
	if (ts < (long long)now - NV_SVIX_TOLERANCE) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-timestamp is too old");
		goto out;
	}
	if (ts > (long long)now + NV_SVIX_TOLERANCE) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-timestamp is in the future");
		goto out;
	}
	if (strlen(sigheader) > NV_SVIX_SIG_MAX) {
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-signature is too long");
		goto out;
	}

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (h = EVP_MAC_CTX_new(m)) == NULL ||
	    !EVP_MAC_init(h, key, klen, params) ||
	    !EVP_MAC_update(h, (const unsigned char *)id, strlen(id)) ||
	    !EVP_MAC_update(h, (const unsigned char *)".", 1) ||
	    !EVP_MAC_update(h, (const unsigned char *)timestamp,
	    strlen(timestamp)) ||
	    !EVP_MAC_update(h, (const unsigned char *)".", 1) ||
	    (len > 0 && !EVP_MAC_update(h, (const unsigned char *)body,
	    len)) ||
	    !EVP_MAC_final(h, mac, &mlen, sizeof(mac)) ||
	    mlen != SVIX_MAC_LEN) {
		rc = nv_diag_set(d, NV_ERR_INTERNAL,
		    "could not compute the signature");
		goto out;
	}

	for (p = sigheader; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		e = p + strcspn(p, " ");
		if (e == p)
			break;
		comma = memchr(p, ',', (size_t)(e - p));
		if (comma == NULL || comma - p != 2 || memcmp(p, "v1", 2) != 0)
			continue;
		v1 = 1;
		if (nv_svix_base64_decode(comma + 1, (size_t)(e - comma - 1),
		    sig, sizeof(sig), &slen) == 0 && slen == SVIX_MAC_LEN &&
		    CRYPTO_memcmp(sig, mac, SVIX_MAC_LEN) == 0)
			match = 1;
	}
	if (match)
		rc = NV_OK;
	else if (!v1)
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-signature has no v1 signature");
	else
		rc = nv_diag_set(d, NV_ERR_UNAUTHORIZED,
		    "svix-signature does not match the body");
out:
	EVP_MAC_CTX_free(h);
	EVP_MAC_free(m);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}
