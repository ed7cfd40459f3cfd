/*
 * check_meta.c - unit tests for lib/meta.c: X-Hub-Signature-256, the
 * handshake checks, the raw-text notification scanner and the Graph lead
 * mapping.  No database, no network.
 *
 * Expected signatures are computed here, independently of lib/meta:
 * OpenSSL's HMAC() over the body, printed as lower-case hex.  The scanner
 * is fed ids that a double cannot hold (55459717045641545 reads back as
 * ...544 through cJSON), as numbers and as strings with escapes.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"
#include "arena.h"
#include "intake.h"
#include "meta.h"

static Suite *meta_suite(void);

#define SECRET	"test_meta_app_secret"
#define BIGID	"55459717045641545"

static struct nv_arena *arena;

static void
setup(void)
{
	arena = nv_arena_new();
}

static void
teardown(void)
{
	nv_arena_free(arena);
}

/* "sha256=" + hex HMAC-SHA256(key, body), upper case when upper. */
static void
sign(char *out, size_t n, const char *key, const char *body, int upper)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0, i;
	size_t o;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)body, strlen(body), mac, &mlen));
	o = (size_t)snprintf(out, n, "sha256=");
	for (i = 0; i < mlen; i++)
		o += (size_t)snprintf(out + o, n - o, upper ? "%02X" : "%02x",
		    mac[i]);
}

static size_t
scan(const char *body, struct nv_meta_change **ch)
{
	struct nv_diag d;
	size_t n = 0;

	memset(&d, 0, sizeof(d));
	ck_assert_msg(nv_meta_changes(arena, &d, body, strlen(body), ch, &n) ==
	    NV_OK, "%s: %s", body, d.msg);
	return n;
}

static void
scan_bad(const char *body)
{
	struct nv_meta_change *ch;
	struct nv_diag d;
	size_t n = 7;

	memset(&d, 0, sizeof(d));
	ck_assert_msg(nv_meta_changes(arena, &d, body, strlen(body), &ch, &n) ==
	    NV_ERR_BAD_REQUEST, "accepted: %s", body);
	ck_assert_uint_eq(n, 0);
}

/* --------------------------------------------------------------- core */

START_TEST(test_signature_vectors)
{
	static const char *const bodies[] = {
		"{\"object\":\"page\",\"entry\":[]}",
		"",
		"{\"x\":\"\\u00e6\\u00f8\\u00e5 \xc3\xa6\"}",
	};
	char hdr[128];
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		sign(hdr, sizeof(hdr), SECRET, bodies[i], 0);
		ck_assert_int_eq(nv_meta_signature_ok(SECRET, bodies[i],
		    strlen(bodies[i]), hdr), 1);
		sign(hdr, sizeof(hdr), SECRET, bodies[i], 1);
		ck_assert_int_eq(nv_meta_signature_ok(SECRET, bodies[i],
		    strlen(bodies[i]), hdr), 1);
	}
	/* A published vector: HMAC-SHA256("key", "The quick brown fox..."). */
	ck_assert_int_eq(nv_meta_signature_ok("key",
	    "The quick brown fox jumps over the lazy dog", 43, "sha256="
	    "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"),
	    1);
}
END_TEST

START_TEST(test_scan_big_number_id)
{
	static const char body[] =
	    "{\"object\":\"page\",\"entry\":[{\"id\":\"123456789012345\","
	    "\"time\":1700000000,\"changes\":[{\"field\":\"leadgen\","
	    "\"value\":{\"ad_id\":0,\"form_id\":998877665544332,"
	    "\"leadgen_id\":" BIGID ",\"created_time\":1700000000,"
	    "\"page_id\":123456789012345,\"adgroup_id\":0}}]}]}";
	struct nv_meta_change *ch;

	ck_assert_uint_eq(scan(body, &ch), 1);
	ck_assert_str_eq(ch[0].field, "leadgen");
	ck_assert_str_eq(ch[0].leadgen_id, BIGID);
	ck_assert_str_eq(ch[0].page_id, "123456789012345");
	ck_assert_str_eq(ch[0].entry_id, "123456789012345");
	ck_assert_str_eq(ch[0].form_id, "998877665544332");
	ck_assert_str_eq(ch[0].ad_id, "0");
	ck_assert_str_eq(ch[0].created_time, "1700000000");
	ck_assert_int_eq(nv_meta_id_ok(ch[0].leadgen_id), 1);
}
END_TEST

START_TEST(test_scan_strings_escapes_whitespace)
{
	static const char body[] =
	    " \n{ \"entry\" :\t[ { \"changes\" : [\n"
	    "  { \"value\" : { \"page_id\" : \"77\\u0037\", \"leadgen_id\" :"
	    " \"5545971704564154\\u0035\", \"note\": \"\\\"leadgen_id\\\": 1\","
	    " \"nested\": {\"leadgen_id\": 42, \"x\": [1, {\"page_id\": 9}]} },"
	    "    \"field\" : \"leadgen\" } ,\n"
	    "  { \"field\": \"feed\", \"value\": {\"leadgen_id\": 3} },\n"
	    "  { \"field\": \"leadgen\", \"value\": {\"leadgen_id\": 1e3} }\n"
	    " ], \"id\" : 555 } ] , \"object\": \"page\" } \r\n";
	struct nv_meta_change *ch;

	ck_assert_uint_eq(scan(body, &ch), 3);
	ck_assert_str_eq(ch[0].field, "leadgen");
	ck_assert_str_eq(ch[0].leadgen_id, BIGID);
	ck_assert_str_eq(ch[0].page_id, "777");
	ck_assert_str_eq(ch[0].entry_id, "555");
	ck_assert_str_eq(ch[1].field, "feed");
	ck_assert_str_eq(ch[1].leadgen_id, "3");
	/* No page_id in the value: the entry's id, which came later. */
	ck_assert_str_eq(ch[1].page_id, "555");
	/* Kept as written, and not an id. */
	ck_assert_str_eq(ch[2].leadgen_id, "1e3");
	ck_assert_int_eq(nv_meta_id_ok(ch[2].leadgen_id), 0);
}
END_TEST

START_TEST(test_handshake_checks)
{
	ck_assert_int_eq(nv_meta_token_ok("tok", "tok"), 1);
	ck_assert_int_eq(nv_meta_token_ok("tok", "tok2"), 0);
	ck_assert_int_eq(nv_meta_token_ok("tok", "to"), 0);
	ck_assert_int_eq(nv_meta_token_ok("tok", NULL), 0);
	ck_assert_int_eq(nv_meta_token_ok("", ""), 0);
	ck_assert_int_eq(nv_meta_token_ok(NULL, "tok"), 0);
	ck_assert_int_eq(nv_meta_challenge_ok("1158201444"), 1);
	ck_assert_int_eq(nv_meta_challenge_ok("abcXYZ09"), 1);
	ck_assert_int_eq(nv_meta_challenge_ok(""), 0);
	ck_assert_int_eq(nv_meta_challenge_ok("12 34"), 0);
	ck_assert_int_eq(nv_meta_challenge_ok("<script>"), 0);
	ck_assert_int_eq(nv_meta_challenge_ok(NULL), 0);
}
END_TEST

START_TEST(test_lead_mapping)
{
	static const char graph[] =
	    "{\"id\":\"" BIGID "\",\"created_time\":\"2026-11-26T05:00:00+0000\","
	    "\"field_data\":[{\"name\":\"full_name\",\"values\":[\"Kari Anne "
	    "Nordmann\"]},{\"name\":\"email\",\"values\":[\"Kari@Example.NO\"]},"
	    "{\"name\":\"phone_number\",\"values\":[\"+47 912 34 567\"]},"
	    "{\"name\":\"which_model?\",\"values\":[\"Model Y\",\"Model 3\"]}]}";
	struct nv_meta_change ch;
	struct nv_intake_lead l;
	struct nv_diag d;

	memset(&ch, 0, sizeof(ch));
	memset(&d, 0, sizeof(d));
	ch.leadgen_id = BIGID;
	ch.page_id = "123";
	ck_assert_int_eq(nv_meta_lead(arena, &d, graph, &ch, &l), NV_OK);
	ck_assert_str_eq(l.source, "facebook");
	ck_assert_str_eq(l.channel, "facebook");
	ck_assert_str_eq(l.first_name, "Kari Anne");
	ck_assert_str_eq(l.last_name, "Nordmann");
	ck_assert_str_eq(l.email, "kari@example.no");
	ck_assert_str_eq(l.phone, "+4791234567");
	ck_assert_ptr_nonnull(strstr(l.metadata, "\"leadgen_id\":\"" BIGID
	    "\""));
	ck_assert_ptr_nonnull(strstr(l.metadata,
	    "\"which_model?\":\"Model Y, Model 3\""));
	ck_assert_ptr_null(strstr(l.metadata, "kari@example.no"));
}
END_TEST

/* ------------------------------------------------------------- limits */

START_TEST(test_scan_depth_and_ids)
{
	char body[512], id[NV_META_ID_MAX + 2];
	size_t i, o;

	o = (size_t)snprintf(body, sizeof(body), "{\"x\":");
	for (i = 0; i < 40; i++)
		body[o++] = '[';
	for (i = 0; i < 40; i++)
		body[o++] = ']';
	snprintf(body + o, sizeof(body) - o, "}");
	scan_bad(body);
	memset(id, '9', NV_META_ID_MAX);
	id[NV_META_ID_MAX] = '\0';
	ck_assert_int_eq(nv_meta_id_ok(id), 1);
	id[NV_META_ID_MAX] = '9';
	id[NV_META_ID_MAX + 1] = '\0';
	ck_assert_int_eq(nv_meta_id_ok(id), 0);
	ck_assert_int_eq(nv_meta_id_ok(""), 0);
	ck_assert_int_eq(nv_meta_id_ok("-1"), 0);
	ck_assert_int_eq(nv_meta_id_ok("12.5"), 0);
}
END_TEST

START_TEST(test_scan_no_changes)
{
	struct nv_meta_change *ch;

	ck_assert_uint_eq(scan("{}", &ch), 0);
	ck_assert_uint_eq(scan("{\"entry\":[]}", &ch), 0);
	ck_assert_uint_eq(scan("{\"entry\":{\"changes\":[]},\"x\":null}", &ch),
	    0);
	ck_assert_uint_eq(scan("{\"entry\":[1,\"a\",{\"changes\":7}]}", &ch),
	    0);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(test_signature_rejects)
{
	static const char body[] = "{\"entry\":[]}";
	char hdr[128];

	sign(hdr, sizeof(hdr), SECRET, body, 0);
	ck_assert_int_eq(nv_meta_signature_ok("other", body, strlen(body),
	    hdr), 0);
	ck_assert_int_eq(nv_meta_signature_ok(SECRET, "{\"entry\":[ ]}", 13,
	    hdr), 0);
	ck_assert_int_eq(nv_meta_signature_ok(NULL, body, strlen(body), hdr),
	    0);
	ck_assert_int_eq(nv_meta_signature_ok("", body, strlen(body), hdr), 0);
	ck_assert_int_eq(nv_meta_signature_ok(SECRET, body, strlen(body),
	    NULL), 0);
	ck_assert_int_eq(nv_meta_signature_ok(SECRET, body, strlen(body),
	    hdr + 7), 0);
	hdr[strlen(hdr) - 1] = '\0';
	ck_assert_int_eq(nv_meta_signature_ok(SECRET, body, strlen(body),
	    hdr), 0);
	sign(hdr, sizeof(hdr), SECRET, body, 0);
	memcpy(hdr, "sha1=", 5);
	ck_assert_int_eq(nv_meta_signature_ok(SECRET, body, strlen(body),
	    hdr), 0);
}
END_TEST

START_TEST(test_scan_malformed)
{
	scan_bad("");
	scan_bad("[]");
	scan_bad("{");
	scan_bad("{\"entry\":[}");
	scan_bad("{\"a\":1,}");
	scan_bad("{\"a\":01}");
	scan_bad("{\"a\":1.}");
	scan_bad("{\"a\":\"\\x\"}");
	scan_bad("{\"a\":\"\\ud800\"}");
	scan_bad("{\"a\":\"\\u0000\"}");
	scan_bad("{\"a\":\"tab\there\"}");
	scan_bad("{\"a\":tru}");
	scan_bad("{\"a\":1} x");
	scan_bad("{\"a\":1}{}");
	scan_bad("{\"entry\":[{\"changes\":[{\"value\":{\"leadgen_id\":"
	    "\"1}]}]}");
}
END_TEST

START_TEST(test_lead_refused)
{
	struct nv_meta_change ch;
	struct nv_intake_lead l;
	struct nv_diag d;

	memset(&ch, 0, sizeof(ch));
	memset(&d, 0, sizeof(d));
	ch.leadgen_id = "1";
	ck_assert_int_eq(nv_meta_lead(arena, &d, "{\"error\":{}}", &ch, &l),
	    NV_ERR_UNAVAILABLE);
	ck_assert_int_eq(nv_meta_lead(arena, &d, "not json", &ch, &l),
	    NV_ERR_UNAVAILABLE);
	ck_assert_int_eq(nv_meta_lead(arena, &d, "{\"field_data\":[{\"name\":"
	    "\"full_name\",\"values\":[\"Ola\"]},{\"name\":\"email\","
	    "\"values\":[\"not an address\"]}]}", &ch, &l), NV_ERR_VALIDATION);
}
END_TEST

static Suite *
meta_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_signature_vectors);
	tcase_add_test(tc, test_scan_big_number_id);
	tcase_add_test(tc, test_scan_strings_escapes_whitespace);
	tcase_add_test(tc, test_handshake_checks);
	tcase_add_test(tc, test_lead_mapping);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scan_depth_and_ids);
	tcase_add_test(tc, test_scan_no_changes);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_signature_rejects);
	tcase_add_test(tc, test_scan_malformed);
	tcase_add_test(tc, test_lead_refused);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(meta_suite)
