/*
 * check_json.c - unit tests for lib/json.c: nv_json_parse and strict field
 * validation with nv_json_fields against a table covering every type.
 *
 * Outputs are parsed back with cJSON and checked key by key, since the
 * normalised text is what a model hands to PostgreSQL as jsonb.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "json.h"

static Suite *json_suite(void);

static const char *const statuses[] = { "new", "contacted", "won", "lost",
	NULL };

#define RW	(NV_F_CREATE | NV_F_UPDATE)

static const struct nv_field spec[] = {
	{ "name", NV_F_TEXT, RW | NV_F_REQUIRED, 0, 20, NULL },
	{ "notes", NV_F_TEXT, RW | NV_F_NULLABLE, 0, 0, NULL },
	{ "email", NV_F_EMAIL, RW | NV_F_NULLABLE, 0, 254, NULL },
	{ "phone", NV_F_PHONE, RW | NV_F_NULLABLE, 0, 0, NULL },
	{ "vehicle_id", NV_F_UUID, RW | NV_F_NULLABLE, 0, 0, NULL },
	{ "status", NV_F_ENUM, RW, 0, 0, statuses },
	{ "budget", NV_F_INT, RW | NV_F_NULLABLE, 0, 10000000, NULL },
	{ "offset", NV_F_INT, RW, -5, 5, NULL },
	{ "big", NV_F_INT, RW, -9007199254740991LL, 9007199254740991LL, NULL },
	{ "consent", NV_F_BOOL, NV_F_CREATE, 0, 0, NULL },
	{ "archived", NV_F_BOOL, NV_F_UPDATE, 0, 0, NULL },
	{ "meta", NV_F_OBJECT, RW, 0, 64, NULL },
	{ "external_id", NV_F_TEXT, NV_F_CREATE, 0, 40, NULL },
};
#define NSPEC	(sizeof(spec) / sizeof(spec[0]))

static struct nv_arena *arena;
static struct nv_diag diag;
static cJSON *result;

static void
json_setup(void)
{
	arena = nv_arena_new();
	nv_diag_reset(&diag);
	result = NULL;
}

static void
json_teardown(void)
{
	cJSON_Delete(result);
	result = NULL;
	nv_arena_free(arena);
	arena = NULL;
}

/* Parse text with nv_json_parse, then validate it in mode. */
static enum nv_err
json_check(unsigned mode, const char *text, char **out, size_t *count)
{
	cJSON *in;
	enum nv_err rc;

	nv_diag_reset(&diag);
	rc = nv_json_parse(arena, &diag, text, strlen(text), &in);
	ck_assert_msg(rc == NV_OK, "test input is not JSON: %s", text);
	return nv_json_fields(arena, &diag, spec, NSPEC, mode, in, out, count);
}

/* Validate text, expect success, and return the output parsed back. */
static cJSON *
json_accept(unsigned mode, const char *text, size_t want_count)
{
	char *out;
	size_t count;
	enum nv_err rc;

	rc = json_check(mode, text, &out, &count);
	ck_assert_msg(rc == NV_OK,
	    "rejected (%s, %zu details, first %s %s): %s",
	    diag.msg, diag.ndetails, diag.ndetails ? diag.details[0].field : "",
	    diag.ndetails ? diag.details[0].issue : "", text);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(count, want_count);
	cJSON_Delete(result);
	result = cJSON_Parse(out);
	ck_assert_msg(cJSON_IsObject(result), "output is not an object: %s",
	    out);
	ck_assert_int_eq(cJSON_GetArraySize(result), (int)want_count);
	return result;
}

/* The issue reported for field, or NULL. */
static const char *
json_issue(const char *field)
{
	size_t i;

	for (i = 0; i < diag.ndetails; i++)
		if (strcmp(diag.details[i].field, field) == 0)
			return diag.details[i].issue;
	return NULL;
}

static size_t
json_ndetails(const char *field)
{
	size_t i, n = 0;

	for (i = 0; i < diag.ndetails; i++)
		n += strcmp(diag.details[i].field, field) == 0;
	return n;
}

/* Validate text, expect NV_ERR_VALIDATION with field's issue == issue. */
static void
json_reject(unsigned mode, const char *text, const char *field,
    const char *issue)
{
	static char unset[] = "unset";
	char *out = unset;
	enum nv_err rc;
	const char *got;

	rc = json_check(mode, text, &out, NULL);
	ck_assert_msg(rc == NV_ERR_VALIDATION, "accepted: %s -> %s", text,
	    rc == NV_OK ? out : "?");
	ck_assert_ptr_null(out);
	got = json_issue(field);
	ck_assert_msg(got != NULL, "no detail for %s: %s", field, text);
	if (issue != NULL)
		ck_assert_str_eq(got, issue);
}

static const char *
json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
	return v->valuestring;
}

/* core */

START_TEST(test_create_normalises)
{
	cJSON *o, *meta;

	o = json_accept(NV_JSON_CREATE,
	    "{\"name\":\"  Ola Nordmann \\n\","
	    "\"notes\":\"\\tRinger etter kl. 16 \","
	    "\"email\":\" Ola.Nordmann@Example.NO \","
	    "\"phone\":\"+47 912 34 567\","
	    "\"vehicle_id\":\"0B7C1D8E-4A2F-4C3B-9D1E-2F3A4B5C6D7E\","
	    "\"status\":\"contacted\","
	    "\"budget\":250000,"
	    "\"offset\":-5,"
	    "\"consent\":true,"
	    "\"meta\":{\"source\":\"web\",\"tags\":[1,2]}}", 10);
	ck_assert_str_eq(json_str(o, "name"), "Ola Nordmann");
	ck_assert_str_eq(json_str(o, "notes"), "Ringer etter kl. 16");
	ck_assert_str_eq(json_str(o, "email"), "ola.nordmann@example.no");
	ck_assert_str_eq(json_str(o, "phone"), "+4791234567");
	ck_assert_str_eq(json_str(o, "vehicle_id"),
	    "0b7c1d8e-4a2f-4c3b-9d1e-2f3a4b5c6d7e");
	ck_assert_str_eq(json_str(o, "status"), "contacted");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "budget")));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "budget")->valueint, 250000);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "offset")->valueint, -5);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "consent")));
	meta = cJSON_GetObjectItem(o, "meta");
	ck_assert(cJSON_IsObject(meta));
	ck_assert_str_eq(json_str(meta, "source"), "web");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(meta, "tags")),
	    2);
}
END_TEST

START_TEST(test_phone_forms)
{
	cJSON *o;

	o = json_accept(NV_JSON_UPDATE, "{\"phone\":\"912 34 567\"}", 1);
	ck_assert_str_eq(json_str(o, "phone"), "+4791234567");
	o = json_accept(NV_JSON_UPDATE, "{\"phone\":\"0046 70 123 45 67\"}", 1);
	ck_assert_str_eq(json_str(o, "phone"), "+46701234567");
}
END_TEST

START_TEST(test_update_only_given_fields)
{
	char *out;
	size_t count;
	cJSON *o;

	o = json_accept(NV_JSON_UPDATE,
	    "{\"status\":\"won\",\"archived\":false}", 2);
	ck_assert_str_eq(json_str(o, "status"), "won");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "archived")));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "name"));

	/* An empty update is valid (nothing to change); required is create. */
	ck_assert_int_eq(json_check(NV_JSON_UPDATE, "{}", &out, &count), NV_OK);
	ck_assert_str_eq(out, "{}");
	ck_assert_uint_eq(count, 0);
}
END_TEST

START_TEST(test_null_on_nullable)
{
	cJSON *o;

	o = json_accept(NV_JSON_UPDATE, "{\"email\":null,\"phone\":null,"
	    "\"vehicle_id\":null,\"budget\":null,\"notes\":null}", 5);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "email")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "phone")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "vehicle_id")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "budget")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "notes")));
	/* Blank text on a nullable field clears it as well. */
	o = json_accept(NV_JSON_UPDATE, "{\"notes\":\"   \"}", 1);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "notes")));
}
END_TEST

START_TEST(test_large_id_string)
{
	char *out;
	size_t count;
	cJSON *o;

	ck_assert_int_eq(json_check(NV_JSON_CREATE, "{\"name\":\"x\","
	    "\"external_id\":\"55459717045641545\"}", &out, &count), NV_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"55459717045641545\""));
	o = json_accept(NV_JSON_CREATE, "{\"name\":\"x\","
	    "\"external_id\":\"55459717045641545\"}", 2);
	ck_assert_str_eq(json_str(o, "external_id"), "55459717045641545");
}
END_TEST

START_TEST(test_utf8_text)
{
	cJSON *o;

	o = json_accept(NV_JSON_UPDATE,
	    "{\"name\":\"Bj\xc3\xb8rn \xc3\x86r\xc3\xb8 "
	    "\xf0\x9f\x9a\x97\",\"notes\":\"\\u00e6\\u00f8\\u00e5\"}", 2);
	ck_assert_str_eq(json_str(o, "name"),
	    "Bj\xc3\xb8rn \xc3\x86r\xc3\xb8 \xf0\x9f\x9a\x97");
	ck_assert_str_eq(json_str(o, "notes"), "\xc3\xa6\xc3\xb8\xc3\xa5");
}
END_TEST

START_TEST(test_parse_ok)
{
	const char *text = "  {\"a\": [1, 2, {\"b\": null}]}  ";
	cJSON *j;

	ck_assert_int_eq(nv_json_parse(arena, &diag, text, strlen(text), &j),
	    NV_OK);
	ck_assert(cJSON_IsObject(j));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "a")), 3);
	/* Only len bytes are read: the body need not be NUL-terminated. */
	ck_assert_int_eq(nv_json_parse(arena, &diag, "[1,2]XXXX", 5, &j),
	    NV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	/* The tree belongs to the arena: the fixture's free releases it. */
}
END_TEST

START_TEST(test_print)
{
	cJSON *j = cJSON_Parse("{ \"k\" : [ true , \"v\" ] }");
	char *s;

	ck_assert_ptr_nonnull(j);
	s = nv_json_print(arena, j);
	ck_assert_str_eq(s, "{\"k\":[true,\"v\"]}");
	cJSON_Delete(j);
}
END_TEST

/* limits */

START_TEST(test_int_bounds)
{
	cJSON *o;

	o = json_accept(NV_JSON_UPDATE, "{\"budget\":0,\"offset\":5}", 2);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "budget")->valueint, 0);
	o = json_accept(NV_JSON_UPDATE, "{\"budget\":10000000,\"offset\":-5}",
	    2);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "budget")->valueint, 10000000);
	/* 1e3 is an integer written differently. */
	o = json_accept(NV_JSON_UPDATE, "{\"budget\":1e3}", 1);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "budget")->valueint, 1000);

	json_reject(NV_JSON_UPDATE, "{\"budget\":-1}", "budget",
	    "must be an integer between 0 and 10000000");
	json_reject(NV_JSON_UPDATE, "{\"budget\":10000001}", "budget", NULL);
	json_reject(NV_JSON_UPDATE, "{\"offset\":-6}", "offset",
	    "must be an integer between -5 and 5");
	json_reject(NV_JSON_UPDATE, "{\"offset\":6}", "offset", NULL);
	json_reject(NV_JSON_UPDATE, "{\"budget\":1.5}", "budget", NULL);
	json_reject(NV_JSON_UPDATE, "{\"budget\":0.0001}", "budget", NULL);
	json_reject(NV_JSON_UPDATE, "{\"budget\":1e400}", "budget", NULL);
}
END_TEST

START_TEST(test_int_2_53)
{
	json_accept(NV_JSON_UPDATE, "{\"big\":4503599627370496}", 1);
	json_reject(NV_JSON_UPDATE, "{\"big\":9007199254740992}", "big", NULL);
	json_reject(NV_JSON_UPDATE, "{\"big\":-9007199254740992}", "big", NULL);
	json_reject(NV_JSON_UPDATE, "{\"big\":55459717045641545}", "big", NULL);
	json_reject(NV_JSON_UPDATE, "{\"big\":1e20}", "big", NULL);
}
END_TEST

/*
 * Regression: cJSON 1.7.15 prints a double with "%1.15g" whenever that
 * compares equal within DBL_EPSILON, so an NV_F_INT stored as a cJSON
 * number came out as 9.00719925474099e+15, one off from the input.
 */
START_TEST(test_int_exact_near_2_53)
{
	char *out;
	size_t count;

	ck_assert_int_eq(json_check(NV_JSON_UPDATE,
	    "{\"big\":9007199254740991}",
	    &out, &count), NV_OK);
	ck_assert_str_eq(out, "{\"big\":9007199254740991}");
	ck_assert_int_eq(json_check(NV_JSON_UPDATE,
	    "{\"big\":-9007199254740991}",
	    &out, &count), NV_OK);
	ck_assert_str_eq(out, "{\"big\":-9007199254740991}");
	ck_assert_int_eq(json_check(NV_JSON_UPDATE,
	    "{\"big\":8000000000000001}",
	    &out, &count), NV_OK);
	ck_assert_str_eq(out, "{\"big\":8000000000000001}");
}
END_TEST

START_TEST(test_text_max_bytes)
{
	cJSON *o;

	/* 20 bytes is the limit; surrounding spaces are trimmed first. */
	o = json_accept(NV_JSON_UPDATE,
	    "{\"name\":\"  abcdefghijklmnopqrst  \"}", 1);
	ck_assert_str_eq(json_str(o, "name"), "abcdefghijklmnopqrst");
	json_reject(NV_JSON_UPDATE, "{\"name\":\"abcdefghijklmnopqrstu\"}",
	    "name",
	    "must be at most 20 bytes");
	/* Bytes, not characters: 10 x "\xc3\xa6" is 20 bytes, 11 is 22. */
	json_accept(NV_JSON_UPDATE,
	    "{\"name\":\"\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6"
	    "\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\"}", 1);
	json_reject(NV_JSON_UPDATE,
	    "{\"name\":\"\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6"
	    "\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\xc3\xa6\"}",
	    "name", "must be at most 20 bytes");
}
END_TEST

START_TEST(test_object_max_bytes)
{
	char text[128], digits[80];

	/* meta allows 64 bytes printed; {"k":"..."} is 8 plus the value. */
	memset(digits, '7', 56);
	digits[56] = '\0';
	snprintf(text, sizeof(text), "{\"meta\":{ \"k\" : \"%s\" }}", digits);
	json_accept(NV_JSON_UPDATE, text, 1);
	digits[56] = '7';
	digits[57] = '\0';
	snprintf(text, sizeof(text), "{\"meta\":{\"k\":\"%s\"}}", digits);
	json_reject(NV_JSON_UPDATE, text, "meta", "must be at most 64 bytes");
}
END_TEST

START_TEST(test_detail_cap)
{
	char text[1024];
	size_t off, i;
	enum nv_err rc;
	char *out;

	off = (size_t)snprintf(text, sizeof(text), "{\"name\":\"x\"");
	for (i = 0; i < 20; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    ",\"unknown_%zu\":%zu", i, i);
	snprintf(text + off, sizeof(text) - off, "}");
	rc = json_check(NV_JSON_CREATE, text, &out, NULL);
	ck_assert_int_eq(rc, NV_ERR_VALIDATION);
	ck_assert_uint_eq(diag.ndetails, NV_DIAG_DETAILS_MAX);
	ck_assert_str_eq(diag.details[0].field, "unknown_0");
	ck_assert_str_eq(diag.details[15].field, "unknown_15");
	ck_assert_str_eq(diag.msg, "20 fields failed validation");
}
END_TEST

START_TEST(test_count_null_argument)
{
	cJSON *in = cJSON_Parse("{\"status\":\"new\"}");
	char *out;

	ck_assert_int_eq(nv_json_fields(arena, &diag, spec, NSPEC,
	    NV_JSON_UPDATE, in, &out, NULL), NV_OK);
	ck_assert_str_eq(out, "{\"status\":\"new\"}");
	cJSON_Delete(in);
}
END_TEST

/* errors */

START_TEST(test_unknown_field)
{
	json_reject(NV_JSON_CREATE, "{\"name\":\"x\",\"colour\":\"red\"}",
	    "colour",
	    "is not a known field");
	ck_assert_uint_eq(diag.ndetails, 1);
	ck_assert_str_eq(diag.msg, "1 field failed validation");
	/* Field names are case-sensitive. */
	json_reject(NV_JSON_UPDATE, "{\"Name\":\"x\"}", "Name",
	    "is not a known field");
}
END_TEST

START_TEST(test_several_bad_fields)
{
	static const char *const fields[] = { "name", "email", "phone",
	    "vehicle_id", "status", "budget", "consent", "meta", "zzz" };
	size_t i;

	json_reject(NV_JSON_CREATE, "{\"name\":5,\"email\":\"ola@\","
	    "\"phone\":\"ring meg\",\"vehicle_id\":\"not-a-uuid\","
	    "\"status\":\"maybe\",\"budget\":\"10\",\"consent\":\"yes\","
	    "\"meta\":[1],\"zzz\":1}", "name", "must be a string");
	ck_assert_uint_eq(diag.ndetails, 9);
	for (i = 0; i < 9; i++)
		ck_assert_msg(json_ndetails(fields[i]) == 1,
		    "%zu details for %s",
		    json_ndetails(fields[i]), fields[i]);
	ck_assert_str_eq(json_issue("email"), "is not a valid e-mail address");
	ck_assert_str_eq(json_issue("phone"), "is not a valid phone number");
	ck_assert_str_eq(json_issue("vehicle_id"), "must be a uuid");
	ck_assert_str_eq(json_issue("budget"), "must be an integer");
	ck_assert_str_eq(json_issue("consent"), "must be true or false");
	ck_assert_str_eq(json_issue("meta"), "must be an object");
	ck_assert_str_eq(json_issue("zzz"), "is not a known field");
	ck_assert_str_eq(diag.msg, "9 fields failed validation");
}
END_TEST

START_TEST(test_required_missing)
{
	json_reject(NV_JSON_CREATE, "{}", "name", "is required");
	ck_assert_uint_eq(diag.ndetails, 1);
	json_reject(NV_JSON_CREATE, "{\"status\":\"new\"}", "name",
	    "is required");
	ck_assert_uint_eq(diag.ndetails, 1);
	ck_assert_str_eq(diag.msg, "1 field failed validation");
}
END_TEST

/*
 * Regression: a required field given null was counted twice, once as
 * "must not be null" and again by the required check, so the message said
 * "2 fields failed validation" next to one detail.
 */
START_TEST(test_required_null_counted_once)
{
	json_reject(NV_JSON_CREATE, "{\"name\":null}", "name", NULL);
	ck_assert_uint_eq(diag.ndetails, 1);
	ck_assert_str_eq(diag.msg, "1 field failed validation");
}
END_TEST

/*
 * Regression: a field both NV_F_REQUIRED and NV_F_NULLABLE, given null on
 * create, failed the required check without any detail, so the client got
 * 422 with an empty details list.
 */
START_TEST(test_required_nullable_null_has_detail)
{
	static const struct nv_field one[] = {
		{ "owner_id", NV_F_UUID, NV_F_CREATE | NV_F_REQUIRED |
		    NV_F_NULLABLE, 0, 0, NULL },
	};
	cJSON *in = cJSON_Parse("{\"owner_id\":null}");
	enum nv_err rc;
	char *out;

	rc = nv_json_fields(arena, &diag, one, 1, NV_JSON_CREATE, in, &out,
	    NULL);
	cJSON_Delete(in);
	ck_assert_int_eq(rc, NV_ERR_VALIDATION);
	ck_assert_msg(diag.ndetails == 1, "%zu details for \"%s\"",
	    diag.ndetails, diag.msg);
	ck_assert_str_eq(diag.details[0].field, "owner_id");
}
END_TEST

START_TEST(test_mode_restrictions)
{
	json_reject(NV_JSON_UPDATE, "{\"consent\":true}", "consent",
	    "cannot be changed");
	json_reject(NV_JSON_UPDATE,
	    "{\"external_id\":\"1\",\"status\":\"won\"}",
	    "external_id", "cannot be changed");
	ck_assert_uint_eq(diag.ndetails, 1);
	json_reject(NV_JSON_CREATE, "{\"name\":\"x\",\"archived\":true}",
	    "archived",
	    "cannot be changed");
	ck_assert_uint_eq(diag.ndetails, 1);
}
END_TEST

START_TEST(test_null_not_nullable)
{
	json_reject(NV_JSON_UPDATE, "{\"status\":null}", "status",
	    "must not be null");
	json_reject(NV_JSON_UPDATE, "{\"meta\":null}", "meta",
	    "must not be null");
	json_reject(NV_JSON_UPDATE, "{\"offset\":null}", "offset",
	    "must not be null");
}
END_TEST

START_TEST(test_wrong_types)
{
	json_reject(NV_JSON_UPDATE, "{\"name\":42}", "name",
	    "must be a string");
	json_reject(NV_JSON_UPDATE, "{\"name\":{\"first\":\"Ola\"}}", "name",
	    "must be a string");
	json_reject(NV_JSON_UPDATE, "{\"email\":[\"a@b.no\"]}", "email",
	    "must be a string");
	json_reject(NV_JSON_UPDATE, "{\"status\":true}", "status",
	    "must be a string");
	json_reject(NV_JSON_UPDATE, "{\"archived\":\"true\"}", "archived",
	    "must be true or false");
	json_reject(NV_JSON_UPDATE, "{\"archived\":1}", "archived",
	    "must be true or false");
	json_reject(NV_JSON_UPDATE, "{\"meta\":[]}", "meta",
	    "must be an object");
	json_reject(NV_JSON_UPDATE, "{\"meta\":\"{}\"}", "meta",
	    "must be an object");
	json_reject(NV_JSON_UPDATE, "{\"budget\":\"100\"}", "budget",
	    "must be an integer");
	json_reject(NV_JSON_UPDATE, "{\"budget\":true}", "budget",
	    "must be an integer");
}
END_TEST

START_TEST(test_enum_lists_values)
{
	json_reject(NV_JSON_UPDATE, "{\"status\":\"maybe\"}", "status",
	    "must be one of: new, contacted, won, lost");
	/* Exact match only. */
	json_reject(NV_JSON_UPDATE, "{\"status\":\"NEW\"}", "status", NULL);
}
END_TEST

START_TEST(test_bad_text)
{
	json_reject(NV_JSON_UPDATE, "{\"name\":\"a\\u0001b\"}", "name",
	    "must be UTF-8 text without control characters");
	json_reject(NV_JSON_UPDATE, "{\"name\":\"esc\\u001b[31m\"}", "name",
	    NULL);
	json_reject(NV_JSON_UPDATE, "{\"name\":\"bad \xff byte\"}", "name",
	    NULL);
	json_reject(NV_JSON_UPDATE, "{\"name\":\"\xed\xa0\x80\"}", "name",
	    NULL);
	/* Blank text on a field that is not nullable. */
	json_reject(NV_JSON_UPDATE, "{\"name\":\"  \"}", "name",
	    "must not be empty");
	json_reject(NV_JSON_UPDATE, "{\"email\":\"  \"}", "email", NULL);
}
END_TEST

/*
 * Regression: cJSON decodes "\u0000" into a NUL, which cut the string
 * short, so "abc\u0000def" was stored as "abc".  The body is refused.
 */
START_TEST(test_nul_rejected)
{
	static const char esc[] = "{\"name\":\"abc\\u0000def\"}";
	static const char raw[] = "{\"name\":\"abc\0def\"}";
	static const char lit[] = "{\"name\":\"abc\\\\u0000def\"}";
	cJSON *j;

	ck_assert_int_eq(nv_json_parse(arena, &diag, esc, sizeof(esc) - 1, &j),
	    NV_ERR_BAD_REQUEST);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(nv_json_parse(arena, &diag, raw, sizeof(raw) - 1, &j),
	    NV_ERR_BAD_REQUEST);
	ck_assert_ptr_null(j);
	/* An escaped backslash followed by "u0000" is ordinary text. */
	ck_assert_int_eq(nv_json_parse(arena, &diag, lit, sizeof(lit) - 1, &j),
	    NV_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "name")->valuestring,
	    "abc\\u0000def");
}
END_TEST

START_TEST(test_duplicate_key)
{
	json_reject(NV_JSON_UPDATE, "{\"status\":\"new\",\"status\":\"won\"}",
	    "status", "is given twice");
}
END_TEST

START_TEST(test_not_an_object)
{
	static const char *const bad[] = { "[]", "[{\"name\":\"x\"}]", "\"x\"",
	    "42", "null", "true", NULL };
	static char unset[] = "unset";
	char *out = unset;
	size_t i, count = 7;
	cJSON *in;

	for (i = 0; bad[i] != NULL; i++) {
		in = cJSON_Parse(bad[i]);
		ck_assert_ptr_nonnull(in);
		nv_diag_reset(&diag);
		ck_assert_int_eq(nv_json_fields(arena, &diag, spec, NSPEC,
		    NV_JSON_CREATE, in, &out, &count), NV_ERR_BAD_REQUEST);
		ck_assert_ptr_null(out);
		ck_assert_uint_eq(count, 0);
		ck_assert_str_ne(diag.msg, "");
		ck_assert_int_eq(nv_json_fields(arena, &diag, spec, NSPEC,
		    NV_JSON_UPDATE, in, &out, &count), NV_ERR_BAD_REQUEST);
		cJSON_Delete(in);
	}
	ck_assert_int_eq(nv_json_fields(arena, &diag, spec, NSPEC,
	    NV_JSON_CREATE, NULL, &out, &count), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_parse_invalid)
{
	static const struct {
		const char	*text;
		const char	*where;
	} bad[] = {
		{ "{\"name\": }", "byte 9" },
		{ "[1,2", "byte 3" },
		{ "nul", "byte 0" },
		{ "{\"name\":\"ola\"", NULL },
		{ "{'name':'ola'}", NULL },
	};
	cJSON *j = (cJSON *)1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nv_diag_reset(&diag);
		ck_assert_int_eq(nv_json_parse(arena, &diag, bad[i].text,
		    strlen(bad[i].text), &j), NV_ERR_BAD_REQUEST);
		ck_assert_ptr_null(j);
		ck_assert_msg(strstr(diag.msg, "byte ") != NULL,
		    "no offset in \"%s\"", diag.msg);
		if (bad[i].where != NULL)
			ck_assert_msg(strstr(diag.msg, bad[i].where) != NULL,
			    "\"%s\" for %s does not say %s", diag.msg,
			    bad[i].text, bad[i].where);
	}
	/* An empty body. */
	ck_assert_int_eq(nv_json_parse(arena, &diag, "", 0, &j),
	    NV_ERR_BAD_REQUEST);
	ck_assert_ptr_null(j);
	/* A valid document cut short by len. */
	ck_assert_int_eq(nv_json_parse(arena, &diag, "{\"a\":1}", 6, &j),
	    NV_ERR_BAD_REQUEST);
}
END_TEST

/*
 * Regression: nv_json_parse did not check that the value ends the body, so
 * {"name":"x"}garbage or {"a":1}{"b":2} was taken as its first value.
 */
START_TEST(test_parse_trailing_garbage)
{
	static const char *const bad[] = { "{\"name\":\"x\"}garbage",
	    "{\"a\":1}{\"b\":2}", "{\"a\":1},", "[1] 2", NULL };
	cJSON *j;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		nv_diag_reset(&diag);
		ck_assert_msg(nv_json_parse(arena, &diag, bad[i],
		    strlen(bad[i]), &j) == NV_ERR_BAD_REQUEST,
		    "accepted %s", bad[i]);
	}
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, json_setup, json_teardown);
	tcase_add_test(tc, test_create_normalises);
	tcase_add_test(tc, test_phone_forms);
	tcase_add_test(tc, test_update_only_given_fields);
	tcase_add_test(tc, test_null_on_nullable);
	tcase_add_test(tc, test_large_id_string);
	tcase_add_test(tc, test_utf8_text);
	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, json_setup, json_teardown);
	tcase_add_test(tc, test_int_bounds);
	tcase_add_test(tc, test_int_2_53);
	tcase_add_test(tc, test_int_exact_near_2_53);
	tcase_add_test(tc, test_text_max_bytes);
	tcase_add_test(tc, test_object_max_bytes);
	tcase_add_test(tc, test_detail_cap);
	tcase_add_test(tc, test_count_null_argument);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, json_setup, json_teardown);
	tcase_add_test(tc, test_unknown_field);
	tcase_add_test(tc, test_several_bad_fields);
	tcase_add_test(tc, test_required_missing);
	tcase_add_test(tc, test_required_null_counted_once);
	tcase_add_test(tc, test_required_nullable_null_has_detail);
	tcase_add_test(tc, test_mode_restrictions);
	tcase_add_test(tc, test_null_not_nullable);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_enum_lists_values);
	tcase_add_test(tc, test_bad_text);
	tcase_add_test(tc, test_nul_rejected);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_parse_invalid);
	tcase_add_test(tc, test_parse_trailing_garbage);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(json_suite)
