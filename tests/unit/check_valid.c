/*
 * check_valid.c - unit tests for lib/valid.c: uuid, e-mail, phone (E.164),
 * enum and UTF-8 text checks.
 */
#include <stdio.h>
#include <string.h>

#include "../testutil.h"
#include "valid.h"

static Suite *valid_suite(void);

/* Assert that in normalises to want with the Norwegian default. */
#define PHONE_OK(in, want) do {						\
	char out_[NV_PHONE_MAX];					\
	enum nv_err rc_ = nv_valid_phone((in), "47", out_);		\
	ck_assert_msg(rc_ == NV_OK, "phone \"%s\" rejected", (in));	\
	ck_assert_str_eq(out_, (want));					\
} while (0)

#define PHONE_BAD(in) do {						\
	char out_[NV_PHONE_MAX];					\
	ck_assert_msg(nv_valid_phone((in), "47", out_) ==		\
	    NV_ERR_VALIDATION, "phone \"%s\" accepted as %s", (in),	\
	    out_);							\
} while (0)

#define EMAIL_OK(s)	ck_assert_msg(nv_valid_email(s) == 1,		\
			    "e-mail \"%s\" rejected", (s))
#define EMAIL_BAD(s)	ck_assert_msg(nv_valid_email(s) == 0,		\
			    "e-mail \"%s\" accepted", (s))
#define TEXT_OK(s)	ck_assert_msg(nv_valid_text((s), sizeof(s) - 1) == 1, \
			    "text \"%s\" rejected", (s))
#define TEXT_BAD(s)	ck_assert_msg(nv_valid_text((s), sizeof(s) - 1) == 0, \
			    "text \"%s\" accepted", (s))

/* core */

START_TEST(test_uuid_good)
{
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e"),
	    1);
	ck_assert_int_eq(nv_valid_uuid("00000000-0000-0000-0000-000000000000"),
	    1);
	ck_assert_int_eq(nv_valid_uuid("0B7C1D8E-4A2F-4C3B-9D1E-2F3A4B5C6D7E"),
	    1);
}
END_TEST

START_TEST(test_email_good)
{
	EMAIL_OK("ola.nordmann@example.no");
	EMAIL_OK("ola+leads@example.com");		/* plus-addressing */
	EMAIL_OK("kari@mail.bil.example.no");		/* subdomains */
	EMAIL_OK("a@b.co");
	EMAIL_OK("first.last-name_1@sub-domain.example.org");
	EMAIL_OK("o'brien@example.ie");
	EMAIL_OK("!#$%&'*+/=?^_`{|}~-@example.no");	/* all of atext */
	EMAIL_OK("kari@123.example.no");
	EMAIL_OK("Ola.Nordmann@Example.NO");		/* case is not folded */
}
END_TEST

/*
 * Internationalised domains arrive as punycode (valid.h): xn-- labels are
 * accepted anywhere, including as the top-level label; raw UTF-8 is not,
 * because the leads/users CHECK constraint would refuse it.
 */
START_TEST(test_email_idn)
{
	EMAIL_OK("per@xn--bilforhandler-n8a.no");
	EMAIL_OK("per@example.xn--p1ai");
	EMAIL_OK("per@xn--80a1acny.xn--p1ai");
	EMAIL_OK("per@example.XN--P1AI");
	EMAIL_BAD("kari@bilforhandler-\xc3\xa6\xc3\xb8\xc3\xa5.no");
	EMAIL_BAD("per@example.\xd1\x80\xd1\x84");
	EMAIL_BAD("bj\xc3\xb8rn@example.no");
	EMAIL_BAD("per@example.xn--");
}
END_TEST

START_TEST(test_phone_norwegian)
{
	PHONE_OK("91234567", "+4791234567");
	PHONE_OK("+47 912 34 567", "+4791234567");
	PHONE_OK("0047 91234567", "+4791234567");
	PHONE_OK("4791234567", "+4791234567");
	PHONE_OK("  912 34 567", "+4791234567");
	PHONE_OK("912.34.567", "+4791234567");
	/* A national number that happens to start with 47 keeps it. */
	PHONE_OK("47123456", "+4747123456");
}
END_TEST

/*
 * Regression: only a '+' before any other character counted as
 * international, so the '+' after '(' was refused.
 */
START_TEST(test_phone_parenthesised_cc)
{
	PHONE_OK("(+47) 912-34-567", "+4791234567");
}
END_TEST

START_TEST(test_phone_foreign)
{
	PHONE_OK("+46 70 123 45 67", "+46701234567");
	PHONE_OK("+1 (415) 555-0100", "+14155550100");
	PHONE_OK("0046701234567", "+46701234567");
	PHONE_OK("+44 20/7946 0958", "+442079460958");
}
END_TEST

START_TEST(test_phone_other_default_cc)
{
	char out[NV_PHONE_MAX];

	ck_assert_int_eq(nv_valid_phone("701234567", "46", out), NV_OK);
	ck_assert_str_eq(out, "+46701234567");
	ck_assert_int_eq(nv_valid_phone("+4791234567", "46", out), NV_OK);
	ck_assert_str_eq(out, "+4791234567");
}
END_TEST

START_TEST(test_enum)
{
	static const char *const vals[] = { "new", "contacted", "won", NULL };
	static const char *const none[] = { NULL };

	ck_assert_int_eq(nv_valid_enum("new", vals), 1);
	ck_assert_int_eq(nv_valid_enum("won", vals), 1);
	ck_assert_int_eq(nv_valid_enum("lost", vals), 0);
	ck_assert_int_eq(nv_valid_enum("New", vals), 0);
	ck_assert_int_eq(nv_valid_enum("ne", vals), 0);
	ck_assert_int_eq(nv_valid_enum("news", vals), 0);
	ck_assert_int_eq(nv_valid_enum("", vals), 0);
	ck_assert_int_eq(nv_valid_enum(NULL, vals), 0);
	ck_assert_int_eq(nv_valid_enum("new", none), 0);
}
END_TEST

START_TEST(test_text_good)
{
	TEXT_OK("");
	TEXT_OK("Hello, world");
	TEXT_OK("Bl\xc3\xa5" "b\xc3\xa6rsyltet\xc3\xb8y "
	    "\xc3\x86\xc3\x98\xc3\x85");
	TEXT_OK("line one\nline two\r\n\tindented");
	TEXT_OK("bil \xf0\x9f\x9a\x97 \xe2\x82\xac 100");	/* car, euro */
	TEXT_OK("\xef\xbf\xbd");				/* U+FFFD */
	TEXT_OK("\xf4\x8f\xbf\xbf");				/* U+10FFFF */
	TEXT_OK("\xed\x9f\xbf");				/* U+D7FF */
	TEXT_OK("\xee\x80\x80");				/* U+E000 */
}
END_TEST

/* limits */

START_TEST(test_email_length_limits)
{
	char local[80], addr[300];
	size_t n;

	/* Local part: 64 bytes accepted, 65 rejected. */
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.no", local);
	EMAIL_OK(addr);
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.no", local);
	EMAIL_BAD(addr);

	/* Whole address: 254 bytes accepted, 255 rejected. */
	memset(addr, 0, sizeof(addr));
	memcpy(addr, "a@", 2);
	n = 2;
	while (n + 61 <= 254 - 3) {
		memset(addr + n, 'b', 60);
		addr[n + 60] = '.';
		n += 61;
	}
	memset(addr + n, 'c', 254 - 3 - n);
	n = 254 - 3;
	memcpy(addr + n, ".no", 3);
	addr[254] = '\0';
	ck_assert_uint_eq(strlen(addr), 254);
	EMAIL_OK(addr);
	addr[254 - 3] = '\0';
	snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr), "c.no");
	ck_assert_uint_eq(strlen(addr), 255);
	EMAIL_BAD(addr);
}
END_TEST

START_TEST(test_email_label_limits)
{
	char addr[128];

	/* A domain label may be 63 bytes, not 64. */
	snprintf(addr, sizeof(addr), "a@%.*s.no", 63,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	EMAIL_OK(addr);
	snprintf(addr, sizeof(addr), "a@%.*s.no", 64,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	EMAIL_BAD(addr);
}
END_TEST

START_TEST(test_phone_digit_limits)
{
	/* 15 digits is the E.164 maximum and fits NV_PHONE_MAX. */
	PHONE_OK("+123456789012345", "+123456789012345");
	PHONE_BAD("+1234567890123456");
	/* 7 digits is the minimum. */
	PHONE_OK("+1234567", "+1234567");
	PHONE_BAD("+123456");
	/* National: 5 digits plus "47" is 7; 4 digits is too short. */
	PHONE_OK("12345", "+4712345");
	PHONE_BAD("1234");
	/* National 14 digits plus "47" would be 16. */
	PHONE_BAD("12345678901234");
	/* A very long input must not overflow the digit buffer. */
	PHONE_BAD("+1234567890123456789012345678901234567890123456789");
	PHONE_BAD("1234567890123456789012345678901234567890123456789");
}
END_TEST

START_TEST(test_text_length_is_explicit)
{
	/* Only len bytes are checked: a control byte after them is ignored. */
	ck_assert_int_eq(nv_valid_text("abc\x01", 3), 1);
	ck_assert_int_eq(nv_valid_text("abc\x01", 4), 0);
	/* A multibyte sequence cut by len is truncated. */
	ck_assert_int_eq(nv_valid_text("\xc3\xa6", 1), 0);
	ck_assert_int_eq(nv_valid_text("\xf0\x9f\x9a\x97", 3), 0);
	ck_assert_int_eq(nv_valid_text("\xf0\x9f\x9a\x97", 4), 1);
}
END_TEST

/* errors */

START_TEST(test_uuid_bad)
{
	ck_assert_int_eq(nv_valid_uuid(NULL), 0);
	ck_assert_int_eq(nv_valid_uuid(""), 0);
	/* Wrong length. */
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e0"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e4a2f4c3b9d1e2f3a4b5c6d7e"), 0);
	ck_assert_int_eq(nv_valid_uuid(
	    "{0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e}"), 0);
	/* Bad hex. */
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8g-4a2f-4c3b-9d1e-2f3a4b5c6d7e"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7 "),
	    0);
	ck_assert_int_eq(nv_valid_uuid(" b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e"),
	    0);
	/* Misplaced dashes (right length). */
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8-e4a2f-4c3b-9d1e-2f3a4b5c6d7e"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f4-c3b-9d1e-2f3a4b5c6d7e"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e2-f3a4b5c6d7e"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d-e"),
	    0);
	ck_assert_int_eq(nv_valid_uuid("------------------------------------"),
	    0);
}
END_TEST

START_TEST(test_email_bad)
{
	ck_assert_int_eq(nv_valid_email(NULL), 0);
	EMAIL_BAD("");
	EMAIL_BAD("ola.nordmann.example.no");		/* missing @ */
	EMAIL_BAD("ola@nordmann@example.no");		/* two @ */
	EMAIL_BAD("@example.no");			/* empty local */
	EMAIL_BAD("ola@");				/* empty domain */
	EMAIL_BAD(".ola@example.no");			/* leading dot */
	EMAIL_BAD("ola.@example.no");			/* trailing dot */
	EMAIL_BAD("ola..nordmann@example.no");		/* double dot */
	EMAIL_BAD("ola@example..no");
	EMAIL_BAD("ola@.example.no");
	EMAIL_BAD("ola@example.no.");
	EMAIL_BAD("ola nordmann@example.no");		/* spaces */
	EMAIL_BAD("ola@exam ple.no");
	EMAIL_BAD(" ola@example.no");
	EMAIL_BAD("ola@example.no ");
	EMAIL_BAD("ola\t@example.no");
	EMAIL_BAD("ola@localhost");			/* no dot in domain */
	EMAIL_BAD("ola@example.n");			/* one-letter TLD */
	EMAIL_BAD("ola@example.n0");			/* digit in TLD */
	EMAIL_BAD("ola@example.123");
	EMAIL_BAD("ola@-example.no");			/* label starts '-' */
	EMAIL_BAD("ola@example-.no");			/* label ends '-' */
	EMAIL_BAD("ola@mail.-example.no");
	EMAIL_BAD("ola@exa_mple.no");
	EMAIL_BAD("ola<x>@example.no");
	EMAIL_BAD("\"ola\"@example.no");
}
END_TEST

START_TEST(test_phone_bad)
{
	char out[NV_PHONE_MAX];

	PHONE_BAD("912345ab");				/* letters */
	PHONE_BAD("phone: 91234567");
	PHONE_BAD("");					/* empty */
	PHONE_BAD("   ");
	PHONE_BAD("123");				/* too short */
	PHONE_BAD("+0 47 91234567");			/* "+0..." */
	PHONE_BAD("+04791234567");
	PHONE_BAD("000 47 91234567");			/* "00" then 0 */
	PHONE_BAD("+");					/* only '+' */
	PHONE_BAD("+ ");
	PHONE_BAD("++4791234567");
	PHONE_BAD("91234567+");
	PHONE_BAD("912#34567");
	/* NULL input, and a national number without a default country. */
	ck_assert_int_eq(nv_valid_phone(NULL, "47", out), NV_ERR_VALIDATION);
	ck_assert_int_eq(nv_valid_phone("91234567", NULL, out),
	    NV_ERR_VALIDATION);
	ck_assert_int_eq(nv_valid_phone("91234567", "", out),
	    NV_ERR_VALIDATION);
	/* A rejected number leaves no stale result behind. */
	ck_assert_int_eq(nv_valid_phone("+4791234567", "47", out), NV_OK);
	ck_assert_int_eq(nv_valid_phone("abc", "47", out), NV_ERR_VALIDATION);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_text_controls)
{
	ck_assert_int_eq(nv_valid_text("a\0b", 3), 0);	/* NUL */
	TEXT_BAD("\x01");
	TEXT_BAD("bell\x07");
	TEXT_BAD("esc\x1b[31m");
	TEXT_BAD("vt\x0b");
	TEXT_BAD("ff\x0c");
	TEXT_BAD("\x1f");
	TEXT_BAD("del\x7f");
}
END_TEST

START_TEST(test_text_bad_utf8)
{
	/* Overlong encodings. */
	TEXT_BAD("\xc0\xaf");			/* '/' in two bytes */
	TEXT_BAD("\xc1\xbf");
	TEXT_BAD("\xe0\x80\xaf");		/* '/' in three bytes */
	TEXT_BAD("\xe0\x9f\xbf");		/* U+07FF in three bytes */
	TEXT_BAD("\xf0\x80\x80\xaf");		/* '/' in four bytes */
	TEXT_BAD("\xf0\x8f\xbf\xbf");		/* U+FFFF in four bytes */
	TEXT_BAD("\xc0\x80");			/* modified-UTF-8 NUL */
	/* Surrogates. */
	TEXT_BAD("\xed\xa0\x80");		/* U+D800 */
	TEXT_BAD("\xed\xbf\xbf");		/* U+DFFF */
	TEXT_BAD("\xed\xa0\xbd\xed\xb8\x80");	/* CESU-8 pair */
	/* Above U+10FFFF, and bytes that never appear. */
	TEXT_BAD("\xf4\x90\x80\x80");
	TEXT_BAD("\xf5\x80\x80\x80");
	TEXT_BAD("\xfe");
	TEXT_BAD("\xff");
	/* Stray continuation bytes. */
	TEXT_BAD("\x80");
	TEXT_BAD("abc\xbf");
	/* Truncated sequences, at the end and followed by ASCII. */
	TEXT_BAD("\xc3");
	TEXT_BAD("abc\xe2\x82");
	TEXT_BAD("\xf0\x9f\x9a");
	TEXT_BAD("\xc3x");
	TEXT_BAD("\xe2\x82x");
	TEXT_BAD("\xf0\x9f\x9ax");
}
END_TEST

START_TEST(test_rfc3339)
{
	static const char *const good[] = {
		"2026-11-01T00:00:00Z", "2026-11-01t10:20:30z",
		"2026-11-01T10:20:30.123456+01:00", "2026-11-01 10:20:30-05:30",
		"2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2026-12-31T23:59:60Z", NULL
	};
	static const char *const bad[] = {
		"2026-11-01", "2026-11-01T00:00:00", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-11-01T24:00:00Z",
		"2026-11-01T00:00:00+25:00", "2026-11-01T00:00:00+16:00",
		"2026-11-01T00:00:00.Z",
		"2026-11-01T00:00:00Z ", "yesterday", "", NULL
	};
	size_t i;

	for (i = 0; good[i] != NULL; i++)
		ck_assert_msg(nv_valid_rfc3339(good[i]), "refused %s", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(!nv_valid_rfc3339(bad[i]), "accepted %s", bad[i]);
	ck_assert(!nv_valid_rfc3339(NULL));
}
END_TEST

static Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_test(tc, test_uuid_good);
	tcase_add_test(tc, test_email_good);
	tcase_add_test(tc, test_email_idn);
	tcase_add_test(tc, test_phone_norwegian);
	tcase_add_test(tc, test_phone_parenthesised_cc);
	tcase_add_test(tc, test_phone_foreign);
	tcase_add_test(tc, test_phone_other_default_cc);
	tcase_add_test(tc, test_enum);
	tcase_add_test(tc, test_text_good);
	tcase_add_test(tc, test_rfc3339);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_email_length_limits);
	tcase_add_test(tc, test_email_label_limits);
	tcase_add_test(tc, test_phone_digit_limits);
	tcase_add_test(tc, test_text_length_is_explicit);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_uuid_bad);
	tcase_add_test(tc, test_email_bad);
	tcase_add_test(tc, test_phone_bad);
	tcase_add_test(tc, test_text_controls);
	tcase_add_test(tc, test_text_bad_utf8);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(valid_suite)
