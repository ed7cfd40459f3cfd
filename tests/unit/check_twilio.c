/*
 * check_twilio.c - unit tests for lib/twilio.c: X-Twilio-Signature and the
 * opt-out keywords (the database part is in check_webhook_sms).
 *
 * Expected signatures are computed here, independently of lib/twilio:
 * OpenSSL HMAC() with SHA-1 over the URL and the sorted name/value pairs
 * written out by hand, base64 through EVP_EncodeBlock.  Two vectors are
 * Twilio's own: the example of its webhook-security documentation
 * ("0/KCTR6DLpKmkAf8muzZqo1nDgQ=") and the one of twilio-node's test suite
 * ("RSOYDt4T1cUTdK1PDd93/VVr8B8="), both with Auth Token "12345".
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"
#include "arena.h"
#include "twilio.h"

static Suite *twilio_suite(void);

#define TOKEN	"test_twilio_auth_token_5b1e0c7d"
#define URL	"https://sms.example.no/webhooks/sms/" \
		"11111111-1111-4111-8111-111111111111"

static struct nv_arena *a;

static void
setup(void)
{
	a = nv_arena_new();
}

static void
teardown(void)
{
	nv_arena_free(a);
}

/* base64(HMAC-SHA1(token, data)) into out (at least 29 bytes). */
static void
expect(const char *token, const char *data, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	ck_assert_ptr_nonnull(HMAC(EVP_sha1(), token, (int)strlen(token),
	    (const unsigned char *)data, strlen(data), mac, &mlen));
	ck_assert_uint_eq(mlen, 20);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen);
}

static int
ok(const char *url, const char *body, const char *sig)
{
	return nv_twilio_signature_ok(a, TOKEN, url, body, strlen(body), sig);
}

/* ------------------------------------------------------------------ core */

START_TEST(test_twilio_doc_example)
{
	static const char body[] = "CallSid=CA1234567890ABCDE"
	    "&Caller=%2B12349013030&Digits=1234&From=%2B12349013030"
	    "&To=%2B18005551212";
	static const char url[] =
	    "https://mycompany.com/myapp.php?foo=1&bar=2";
	const char *sig;

	ck_assert_int_eq(nv_twilio_signature(a, "12345", url, body,
	    strlen(body), &sig), NV_OK);
	ck_assert_str_eq(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	ck_assert_int_eq(nv_twilio_signature_ok(a, "12345", url, body,
	    strlen(body), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), 1);
}
END_TEST

START_TEST(test_twilio_node_vector)
{
	/* Same parameters, posted in another order. */
	static const char body[] = "To=%2B18005551212&From=%2B14158675309"
	    "&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE";
	static const char url[] =
	    "https://mycompany.com/myapp.php?foo=1&bar=2";

	ck_assert_int_eq(nv_twilio_signature_ok(a, "12345", url, body,
	    strlen(body), "RSOYDt4T1cUTdK1PDd93/VVr8B8="), 1);
}
END_TEST

START_TEST(test_inbound_sms_sorted)
{
	static const char body[] = "ToCountry=NO&Body=Hei%2C+er+Model+3+"
	    "ledig%3F&MessageSid=SM0123456789abcdef0123456789abcdef"
	    "&From=%2B4791234567&To=%2B4759446000&AccountSid=AC42&NumMedia=0";
	char want[32];

	expect(TOKEN, URL "AccountSidAC42" "BodyHei, er Model 3 ledig?"
	    "From+4791234567" "MessageSidSM0123456789abcdef0123456789abcdef"
	    "NumMedia0" "To+4759446000" "ToCountryNO", want);
	ck_assert_int_eq(ok(URL, body, want), 1);
}
END_TEST

START_TEST(test_utf8_and_empty_values)
{
	static const char body[] = "Body=%C3%98nsker+pr%C3%B8vetur&From="
	    "%2B4791234567&MediaUrl0=&Flag";
	char want[32];

	expect(TOKEN, URL "Body\xc3\x98nsker pr\xc3\xb8vetur"
	    "Flag" "From+4791234567" "MediaUrl0", want);
	ck_assert_int_eq(ok(URL, body, want), 1);
}
END_TEST

START_TEST(test_repeated_names)
{
	/* Values of one name sorted, an exact repeat counted once. */
	static const char body[] = "N=b&N=a&N=b&A=1";
	char want[32];

	expect(TOKEN, URL "A1" "Na" "Nb", want);
	ck_assert_int_eq(ok(URL, body, want), 1);
}
END_TEST

START_TEST(test_query_in_url)
{
	static const char body[] = "From=%2B4791234567&Body=Hei";
	char want[32];

	expect(TOKEN, URL "?src=twilio&x=1" "BodyHei" "From+4791234567",
	    want);
	ck_assert_int_eq(ok(URL "?src=twilio&x=1", body, want), 1);
	ck_assert_int_eq(ok(URL, body, want), 0);
}
END_TEST

START_TEST(test_default_port_variants)
{
	static const char body[] = "Body=Hei";
	char want[32];

	/* Twilio signed with the port; we are configured without it. */
	expect(TOKEN, "https://sms.example.no:443/w" "BodyHei", want);
	ck_assert_int_eq(ok("https://sms.example.no/w", body, want), 1);
	/* And the other way round, for http. */
	expect(TOKEN, "http://sms.example.no/w" "BodyHei", want);
	ck_assert_int_eq(ok("http://sms.example.no:80/w", body, want), 1);
	/* Another port is not a variant. */
	expect(TOKEN, "https://sms.example.no:8443/w" "BodyHei", want);
	ck_assert_int_eq(ok("https://sms.example.no/w", body, want), 0);
}
END_TEST

START_TEST(test_keywords)
{
	static const char *const stop[] = { "STOP", "stop", " Stopp\n",
	    "AVSLUTT", "avslutt", "UNSUBSCRIBE", "StopAll", "cancel", "END",
	    "\tquit ", NULL };
	static const char *const start[] = { "START", "start", " Unstop ",
	    NULL };
	static const char *const none[] = { "", "   ", "STOP!", "stop it",
	    "please stop", "STARTS", "ST OP", "Hei, er bilen ledig?", NULL };
	size_t i;

	for (i = 0; stop[i] != NULL; i++)
		ck_assert_msg(nv_twilio_keyword(stop[i]) == NV_TWILIO_STOP,
		    "%s", stop[i]);
	for (i = 0; start[i] != NULL; i++)
		ck_assert_msg(nv_twilio_keyword(start[i]) == NV_TWILIO_START,
		    "%s", start[i]);
	for (i = 0; none[i] != NULL; i++)
		ck_assert_msg(nv_twilio_keyword(none[i]) == NV_TWILIO_NONE,
		    "%s", none[i]);
	ck_assert_int_eq(nv_twilio_keyword(NULL), NV_TWILIO_NONE);
}
END_TEST

/* ---------------------------------------------------------------- limits */

START_TEST(test_empty_body)
{
	char want[32];

	expect(TOKEN, URL, want);
	ck_assert_int_eq(ok(URL, "", want), 1);
	ck_assert_int_eq(ok(URL, "&&", want), 1);
}
END_TEST

START_TEST(test_long_body)
{
	static char body[64 * 1024], data[64 * 1024 + 256];
	char want[32];

	memset(body, 'x', sizeof(body));
	memcpy(body, "Body=", 5);
	body[sizeof(body) - 1] = '\0';
	snprintf(data, sizeof(data), "%sBody%s", URL, body + 5);
	expect(TOKEN, data, want);
	ck_assert_int_eq(ok(URL, body, want), 1);
}
END_TEST

START_TEST(test_header_length)
{
	static const char body[] = "Body=Hei";
	char want[40];

	expect(TOKEN, URL "BodyHei", want);
	want[NV_TWILIO_SIG_LEN] = '=';	/* 29 bytes: not a signature */
	want[NV_TWILIO_SIG_LEN + 1] = '\0';
	ck_assert_int_eq(ok(URL, body, want), 0);
	want[NV_TWILIO_SIG_LEN - 1] = '\0';
	ck_assert_int_eq(ok(URL, body, want), 0);
	ck_assert_int_eq(ok(URL, body, ""), 0);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_wrong_token_url_or_body)
{
	static const char body[] = "From=%2B4791234567&Body=Hei";
	char want[32];

	expect(TOKEN, URL "BodyHei" "From+4791234567", want);
	ck_assert_int_eq(ok(URL, body, want), 1);
	ck_assert_int_eq(nv_twilio_signature_ok(a, "other", URL, body,
	    strlen(body), want), 0);
	ck_assert_int_eq(ok(URL "x", body, want), 0);
	ck_assert_int_eq(ok("http://sms.example.no/webhooks/sms/"
	    "11111111-1111-4111-8111-111111111111", body, want), 0);
	ck_assert_int_eq(ok(URL, "From=%2B4791234567&Body=Hei!", want), 0);
	ck_assert_int_eq(ok(URL, "From=%2B4791234567&Body=Hei&X=1", want),
	    0);
	/* Flipped case of one base64 character. */
	want[3] = (char)(want[3] ^ 0x20);
	ck_assert_int_eq(ok(URL, body, want), 0);
}
END_TEST

START_TEST(test_missing_inputs)
{
	static const char body[] = "Body=Hei";
	char want[32];

	expect(TOKEN, URL "BodyHei", want);
	ck_assert_int_eq(ok(URL, body, NULL), 0);
	ck_assert_int_eq(nv_twilio_signature_ok(a, NULL, URL, body,
	    strlen(body), want), 0);
	ck_assert_int_eq(nv_twilio_signature_ok(a, "", URL, body,
	    strlen(body), want), 0);
	ck_assert_int_eq(nv_twilio_signature_ok(a, TOKEN, NULL, body,
	    strlen(body), want), 0);
}
END_TEST

START_TEST(test_broken_encoding)
{
	const char *sig = "x";

	ck_assert_int_eq(nv_twilio_signature(a, TOKEN, URL, "Body=%4", 7,
	    &sig), NV_ERR_BAD_REQUEST);
	ck_assert_ptr_null(sig);
	ck_assert_int_eq(nv_twilio_signature(a, TOKEN, URL, "Body=%zz", 8,
	    &sig), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(nv_twilio_signature(a, TOKEN, URL, "Body=%00", 8,
	    &sig), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(nv_twilio_signature(a, TOKEN, URL, "Bo\0dy=1", 7,
	    &sig), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(ok(URL, "Body=%4", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
	    0);
}
END_TEST

static Suite *
twilio_suite(void)
{
	Suite *s = suite_create("twilio");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_twilio_doc_example);
	tcase_add_test(tc, test_twilio_node_vector);
	tcase_add_test(tc, test_inbound_sms_sorted);
	tcase_add_test(tc, test_utf8_and_empty_values);
	tcase_add_test(tc, test_repeated_names);
	tcase_add_test(tc, test_query_in_url);
	tcase_add_test(tc, test_default_port_variants);
	tcase_add_test(tc, test_keywords);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_long_body);
	tcase_add_test(tc, test_header_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wrong_token_url_or_body);
	tcase_add_test(tc, test_missing_inputs);
	tcase_add_test(tc, test_broken_encoding);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(twilio_suite)
