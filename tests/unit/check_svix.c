/*
 * check_svix.c - unit tests for lib/svix.c: Svix webhook signatures.
 *
 * The expected signatures are computed here, independently of lib/svix:
 * HMAC() of OpenSSL over id "." timestamp "." body, base64 through
 * EVP_EncodeBlock, and the secret is "whsec_" + EVP_EncodeBlock of fixed
 * key bytes.  One vector is Svix's own (its libraries' test suites).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"
#include "svix.h"

static Suite *svix_suite(void);

#define NOW	((time_t)1793520000)
#define ID	"msg_2a1b3c4d5e6f7g8h9i0j"
#define BODY	"{\"type\":\"user.created\",\"data\":{\"id\":\"user_1\"}}"

static char secret[64];		/* whsec_ + base64 of key[] */
static char other[64];		/* another key's secret */

static void
mksecret(char *out, unsigned char first)
{
	unsigned char key[32];
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(first + i);
	memcpy(out, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, key, sizeof(key));
}

static void
setup(void)
{
	mksecret(secret, 0);
	mksecret(other, 100);
}

/* "v1,<base64 sig>" for id.ts.body under the key of sec (whsec_...). */
static void
sign(const char *sec, const char *id, const char *ts, const char *body,
    char *out, size_t n)
{
	unsigned char key[64], mac[EVP_MAX_MD_SIZE], b64[64];
	char content[4096];
	unsigned int mlen = 0;
	int klen, cl;
	size_t sl = strlen(sec + 6);

	klen = EVP_DecodeBlock(key, (const unsigned char *)sec + 6, (int)sl);
	ck_assert_int_gt(klen, 0);
	if (sl >= 1 && sec[6 + sl - 1] == '=')
		klen--;
	if (sl >= 2 && sec[6 + sl - 2] == '=')
		klen--;
	cl = snprintf(content, sizeof(content), "%s.%s.%s", id, ts, body);
	ck_assert(cl > 0 && (size_t)cl < sizeof(content));
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, klen,
	    (const unsigned char *)content, (size_t)cl, mac, &mlen));
	ck_assert_uint_eq(mlen, 32);
	EVP_EncodeBlock(b64, mac, (int)mlen);
	snprintf(out, n, "v1,%s", (const char *)b64);
}

static char tsbuf[32];

static const char *
ts_at(long delta)
{
	snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)NOW + delta);
	return tsbuf;
}

static enum nv_err
verify(const char *sec, const char *id, const char *ts, const char *sig,
    const char *body)
{
	struct nv_diag d;

	nv_diag_reset(&d);
	return nv_svix_verify(sec, id, ts, sig, body, strlen(body), NOW, &d);
}

/* ------------------------------------------------------------------ core */

START_TEST(test_one_v1_matches)
{
	char sig[128];

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret, ID, ts_at(0), sig, BODY), NV_OK);
}
END_TEST

START_TEST(test_svix_reference_vector)
{
	static const char body[] = "{\"test\": 2432232314}";
	struct nv_diag d;

	nv_diag_reset(&d);
	ck_assert_int_eq(nv_svix_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body,
	    sizeof(body) - 1, (time_t)1614265330, &d), NV_OK);
}
END_TEST

START_TEST(test_several_v1_entries)
{
	char good[128], bad[128], hdr[512];

	sign(secret, ID, ts_at(0), BODY, good, sizeof(good));
	sign(other, ID, ts_at(0), BODY, bad, sizeof(bad));
	/* Rotation: the old secret's signature first, ours last. */
	snprintf(hdr, sizeof(hdr), "%s %s", bad, good);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), hdr, BODY), NV_OK);
	snprintf(hdr, sizeof(hdr), "%s %s", good, bad);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), hdr, BODY), NV_OK);
	/* Other versions are skipped, extra spaces tolerated. */
	snprintf(hdr, sizeof(hdr), "v2,abcd  v1a,xyz %s ", good);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), hdr, BODY), NV_OK);
	/* Both signatures from other secrets: refused. */
	snprintf(hdr, sizeof(hdr), "%s %s", bad, bad);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), hdr, BODY),
	    NV_ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(test_secret_without_prefix)
{
	char sig[128];

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret + 6, ID, ts_at(0), sig, BODY), NV_OK);
}
END_TEST

START_TEST(test_empty_body)
{
	char sig[128];
	struct nv_diag d;

	sign(secret, ID, ts_at(0), "", sig, sizeof(sig));
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_svix_verify(secret, ID, ts_at(0), sig, "", 0, NOW,
	    &d), NV_OK);
}
END_TEST

START_TEST(test_base64_decode)
{
	unsigned char out[16];
	size_t n;

	ck_assert_int_eq(nv_svix_base64_decode("Zm9vYg==", 8, out,
	    sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "foob", 4) == 0);
	ck_assert_int_eq(nv_svix_base64_decode("Zm9vYmE=", 8, out,
	    sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(nv_svix_base64_decode("Zm9vYmFy", 8, out,
	    sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "foobar", 6) == 0);
}
END_TEST

/* ---------------------------------------------------------------- limits */

START_TEST(test_tolerance_edges)
{
	char sig[128];
	long deltas[] = { -NV_SVIX_TOLERANCE, NV_SVIX_TOLERANCE };
	long outside[] = { -NV_SVIX_TOLERANCE - 1, NV_SVIX_TOLERANCE + 1,
		-86400, 86400 };
	size_t i;

	for (i = 0; i < 2; i++) {
		sign(secret, ID, ts_at(deltas[i]), BODY, sig, sizeof(sig));
		ck_assert_int_eq(verify(secret, ID, ts_at(deltas[i]), sig,
		    BODY), NV_OK);
	}
	for (i = 0; i < 4; i++) {
		sign(secret, ID, ts_at(outside[i]), BODY, sig, sizeof(sig));
		ck_assert_msg(verify(secret, ID, ts_at(outside[i]), sig, BODY)
		    == NV_ERR_UNAUTHORIZED, "delta %ld accepted", outside[i]);
	}
}
END_TEST

START_TEST(test_old_and_future_reasons)
{
	char sig[128];
	struct nv_diag d;

	sign(secret, ID, ts_at(-301), BODY, sig, sizeof(sig));
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_svix_verify(secret, ID, ts_at(-301), sig, BODY,
	    strlen(BODY), NOW, &d), NV_ERR_UNAUTHORIZED);
	ck_assert_ptr_nonnull(strstr(d.msg, "too old"));
	sign(secret, ID, ts_at(301), BODY, sig, sizeof(sig));
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_svix_verify(secret, ID, ts_at(301), sig, BODY,
	    strlen(BODY), NOW, &d), NV_ERR_UNAUTHORIZED);
	ck_assert_ptr_nonnull(strstr(d.msg, "future"));
}
END_TEST

START_TEST(test_long_header_and_id)
{
	char sig[128], hdr[NV_SVIX_SIG_MAX + 200], id[NV_SVIX_ID_MAX + 2];

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	memset(hdr, ' ', sizeof(hdr));
	memcpy(hdr + sizeof(hdr) - 1 - strlen(sig), sig, strlen(sig));
	hdr[sizeof(hdr) - 1] = '\0';
	ck_assert_int_eq(verify(secret, ID, ts_at(0), hdr, BODY),
	    NV_ERR_UNAUTHORIZED);
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	sign(secret, id, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret, id, ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	id[NV_SVIX_ID_MAX] = '\0';
	sign(secret, id, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret, id, ts_at(0), sig, BODY), NV_OK);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_v2_only)
{
	char sig[128], hdr[256];
	struct nv_diag d;

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	snprintf(hdr, sizeof(hdr), "v2,%s", sig + 3);
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_svix_verify(secret, ID, ts_at(0), hdr, BODY,
	    strlen(BODY), NOW, &d), NV_ERR_UNAUTHORIZED);
	ck_assert_ptr_nonnull(strstr(d.msg, "no v1"));
}
END_TEST

START_TEST(test_wrong_secret)
{
	char sig[128];

	sign(other, ID, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret, ID, ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(test_tampered)
{
	char sig[128];

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify(secret, ID, ts_at(0), sig,
	    "{\"type\":\"user.created\",\"data\":{\"id\":\"user_2\"}}"),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, "msg_other", ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, ID, ts_at(1), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	/* A flipped signature character. */
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(secret, ID, ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(test_malformed_headers)
{
	static const char *const sigs[] = {
		"", " ", "v1", "v1,", "v1 ,", ",abc", "v1,!!!!",
		"v1,AAAA", "v1;AAAA", "V1,AAAA",
		/* 30 bytes: not a SHA-256 signature. */
		"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		NULL
	};
	static const char *const stamps[] = {
		"", "abc", "-1", "+1793520000", " 1793520000", "1793520000 ",
		"1.5", "1793520000000", NULL
	};
	char sig[128], bits[128];
	size_t i;

	for (i = 0; sigs[i] != NULL; i++)
		ck_assert_msg(verify(secret, ID, ts_at(0), sigs[i], BODY) ==
		    NV_ERR_UNAUTHORIZED, "signature \"%s\" accepted", sigs[i]);
	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	for (i = 0; stamps[i] != NULL; i++)
		ck_assert_msg(verify(secret, ID, stamps[i], sig, BODY) ==
		    NV_ERR_UNAUTHORIZED, "timestamp \"%s\" accepted",
		    stamps[i]);
	/* Non-canonical base64: the last character's unused bits set. */
	snprintf(bits, sizeof(bits), "%s", sig);
	ck_assert_int_eq(bits[strlen(bits) - 1], '=');
	bits[strlen(bits) - 2] = (char)(bits[strlen(bits) - 2] == 'A' ?
	    'B' : bits[strlen(bits) - 2] + 1);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), bits, BODY),
	    NV_ERR_UNAUTHORIZED);
	/* The signature without its padding. */
	bits[0] = '\0';
	snprintf(bits, sizeof(bits), "%.*s", (int)strlen(sig) - 1, sig);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), bits, BODY),
	    NV_ERR_UNAUTHORIZED);
	/* Missing headers, and ids with blanks or controls. */
	ck_assert_int_eq(verify(secret, NULL, ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, ID, NULL, sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, ID, ts_at(0), NULL, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, "", ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, "msg 1", ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(verify(secret, "msg\n1", ts_at(0), sig, BODY),
	    NV_ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(test_bad_secret)
{
	char sig[128];

	sign(secret, ID, ts_at(0), BODY, sig, sizeof(sig));
	ck_assert_int_eq(verify("", ID, ts_at(0), sig, BODY), NV_ERR_CONFIG);
	ck_assert_int_eq(verify(NULL, ID, ts_at(0), sig, BODY), NV_ERR_CONFIG);
	ck_assert_int_eq(verify("whsec_", ID, ts_at(0), sig, BODY),
	    NV_ERR_CONFIG);
	ck_assert_int_eq(verify("whsec_not base64!", ID, ts_at(0), sig,
	    BODY), NV_ERR_CONFIG);
}
END_TEST

START_TEST(test_base64_strict)
{
	static const char *const bad[] = {
		"", "A", "AB", "ABC", "AB=C", "A===", "====", "Zm9v\n",
		"Zm9vYg=", "Zm9vYh==", "Zm9vYmF=", "Zm-v", "Zm_v", "Zm9 ",
		NULL
	};
	unsigned char out[16];
	size_t i, n;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(nv_svix_base64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &n) == -1, "\"%s\" decoded", bad[i]);
	/* Does not fit. */
	ck_assert_int_eq(nv_svix_base64_decode("Zm9vYmFy", 8, out, 5, &n), -1);
}
END_TEST

static Suite *
svix_suite(void)
{
	Suite *s = suite_create("svix");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_one_v1_matches);
	tcase_add_test(tc, test_svix_reference_vector);
	tcase_add_test(tc, test_several_v1_entries);
	tcase_add_test(tc, test_secret_without_prefix);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_base64_decode);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_tolerance_edges);
	tcase_add_test(tc, test_old_and_future_reasons);
	tcase_add_test(tc, test_long_header_and_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_v2_only);
	tcase_add_test(tc, test_wrong_secret);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_malformed_headers);
	tcase_add_test(tc, test_bad_secret);
	tcase_add_test(tc, test_base64_strict);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(svix_suite)
