/*
 * check_adf.c - lib/adf: ADF 1.0 documents into leads, field by field.
 *
 * The documents are the XML files of tests/fixtures/adf/ (read from the repository
 * root, where scripts/test.sh runs the tests, or from $NV_ROOT).  Hostile
 * documents (XXE, billion laughs) must be refused within 100 ms and no
 * byte of /etc/passwd may show up anywhere in what is returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "adf.h"
#include "arena.h"
#include "err.h"

static Suite *adf_suite(void);

static struct nv_arena *arena;
static struct nv_diag diag;

static void
setup(void)
{
	arena = nv_arena_new();
	nv_diag_reset(&diag);
}

static void
teardown(void)
{
	nv_arena_free(arena);
	arena = NULL;
}

/* The fixture's bytes in the arena (NUL-terminated), length in *len. */
static char *
fixture(const char *name, size_t *len)
{
	const char *root = getenv("NV_ROOT");
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "tests/fixtures/adf/%s", name);
	if ((f = fopen(path, "rb")) == NULL && root != NULL) {
		snprintf(path, sizeof(path), "%s/tests/fixtures/adf/%s", root,
		    name);
		f = fopen(path, "rb");
	}
	ck_assert_msg(f != NULL, "cannot open fixture %s", name);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = nv_arena_alloc(arena, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static enum nv_err
parse_fixture(const char *name, struct nv_adf_lead *out)
{
	size_t len;
	char *xml = fixture(name, &len);

	return nv_adf_parse(arena, &diag, xml, len, out);
}

static enum nv_err
parse_str(const char *xml, struct nv_adf_lead *out)
{
	return nv_adf_parse(arena, &diag, xml, strlen(xml), out);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* metadata parsed; the caller deletes it. */
static cJSON *
meta_of(const struct nv_adf_lead *l)
{
	cJSON *m;

	ck_assert_ptr_nonnull(l->lead.metadata);
	m = cJSON_Parse(l->lead.metadata);
	ck_assert_msg(m != NULL, "metadata is not JSON");
	return m;
}

/* The string at a dotted path of o ("adf.vendor.name"), or NULL. */
static const char *
mstr(const cJSON *o, const char *path)
{
	char buf[256], *p, *save = NULL;
	const cJSON *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; p != NULL && v != NULL; p = save) {
		save = strchr(p, '.');
		if (save != NULL)
			*save++ = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, p);
	}
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---------------------------------------------------------------- core */

START_TEST(test_plain)
{
	struct nv_adf_lead l;
	cJSON *m;

	ck_assert_int_eq(parse_fixture("plain.xml", &l), NV_OK);
	ck_assert_str_eq(l.lead.source, "adf");
	ck_assert_str_eq(l.lead.channel, "email");
	ck_assert_str_eq(l.lead.first_name, "Ola");
	ck_assert_str_eq(l.lead.last_name, "Hansen");
	ck_assert_str_eq(l.lead.email, "ola.hansen@example.no");
	/* cellphone preferred over voice */
	ck_assert_str_eq(l.lead.phone, "+4791234567");
	ck_assert_str_eq(l.lead.vehicle_interest, "2026 Tesla Model Y");
	ck_assert_str_eq(l.lead.message,
	    "Is the car still available? I would like an offer.");
	ck_assert_str_eq(l.year, "2026");
	ck_assert_str_eq(l.make, "Tesla");
	ck_assert_str_eq(l.model, "Model Y");
	ck_assert_str_eq(l.vin, "XP7YGCEK1SB000001");
	ck_assert_str_eq(l.stock, "TY-1042");
	ck_assert_str_eq(l.interest, "buy");
	ck_assert_str_eq(l.requestdate, "2026-11-12T14:03:00+01:00");
	ck_assert_str_eq(l.vendor, "Tesla Oslo");
	ck_assert_str_eq(l.provider, "AutoPortal");
	ck_assert_str_eq(l.service, "New car quote");
	ck_assert_int_eq(l.prospects, 1);
	ck_assert_int_eq(l.trade_ins, 0);

	m = meta_of(&l);
	ck_assert_str_eq(mstr(m, "adf.vendor.name"), "Tesla Oslo");
	ck_assert_str_eq(mstr(m, "adf.provider.name"), "AutoPortal");
	ck_assert_str_eq(mstr(m, "adf.provider.service"), "New car quote");
	ck_assert_str_eq(mstr(m, "adf.requestdate"),
	    "2026-11-12T14:03:00+01:00");
	ck_assert_str_eq(mstr(m, "adf.vehicle.trim"), "Long Range AWD");
	ck_assert_str_eq(mstr(m, "adf.timeframe.description"),
	    "Within a month");
	ck_assert_str_eq(mstr(m, "adf.status"), "new");
	ck_assert_ptr_nonnull(strstr(mstr(m, "payload"), "<vendorname>Tesla "
	    "Oslo</vendorname>"));
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "adf"),
	    "trade_ins"));
	cJSON_Delete(m);
}
END_TEST

START_TEST(test_vendor_quirks)
{
	struct nv_adf_lead l;
	cJSON *m;

	ck_assert_int_eq(parse_fixture("quirks.xml", &l), NV_OK);
	/* full name only: split at the last space, runs of blanks folded */
	ck_assert_str_eq(l.lead.first_name, "Per Erik");
	ck_assert_str_eq(l.lead.last_name, "Olsen");
	/* the invalid address is skipped, the "cell" phone kept */
	ck_assert_ptr_null(l.lead.email);
	ck_assert_str_eq(l.lead.phone, "+4793456789");
	/* missing year; white space inside the model folded */
	ck_assert_ptr_null(l.year);
	ck_assert_str_eq(l.lead.vehicle_interest, "Volkswagen ID.4 Pro");
	ck_assert_str_eq(l.interest, "test-drive");
	/* CDATA is text: markup and & as written */
	ck_assert_str_eq(l.lead.message,
	    "Hi! <b>Call me</b> after 5 & before 8.");
	/* unpadded time stored as given (trimmed) */
	ck_assert_str_eq(l.requestdate, "2026-11-1T9:5:00");
	ck_assert_str_eq(l.vendor, "VW Bergen");
	ck_assert_str_eq(l.provider, "CarsDirect Leads");
	ck_assert_str_eq(l.service, "Test drive request");
	m = meta_of(&l);
	ck_assert_str_eq(mstr(m, "adf.requestdate"), "2026-11-1T9:5:00");
	ck_assert_str_eq(mstr(m, "adf.vehicle.status"), "used");
	cJSON_Delete(m);
}
END_TEST

START_TEST(test_trade_in)
{
	struct nv_adf_lead l;
	const cJSON *t, *o;
	cJSON *m;

	ck_assert_int_eq(parse_fixture("trade_in.xml", &l), NV_OK);
	/* the first vehicle that is not a trade-in, though listed second */
	ck_assert_str_eq(l.lead.vehicle_interest, "2026 Volkswagen ID.7 Tourer");
	ck_assert_str_eq(l.interest, "lease");
	ck_assert_str_eq(l.stock, "VW-7781");
	ck_assert_int_eq(l.trade_ins, 2);
	ck_assert_str_eq(l.lead.first_name, "Ingrid Marie");
	ck_assert_str_eq(l.lead.last_name, "Berg");
	ck_assert_str_eq(l.lead.email, "ingrid.berg@example.no");
	/* fax skipped */
	ck_assert_str_eq(l.lead.phone, "+4755123456");
	m = meta_of(&l);
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "adf"), "trade_ins");
	ck_assert_int_eq(cJSON_GetArraySize(t), 2);
	o = cJSON_GetArrayItem(t, 0);
	ck_assert_str_eq(mstr(o, "interest"), "trade-in");
	ck_assert_str_eq(mstr(o, "model"), "e-Golf");
	ck_assert_str_eq(mstr(o, "year"), "2017");
	ck_assert_str_eq(mstr(o, "odometer"), "98000");
	ck_assert_str_eq(mstr(o, "odometer_units"), "km");
	ck_assert_str_eq(mstr(cJSON_GetArrayItem(t, 1), "interest"), "sell");
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "adf"),
	    "other_vehicles");
	ck_assert_int_eq(cJSON_GetArraySize(t), 1);
	ck_assert_str_eq(mstr(cJSON_GetArrayItem(t, 0), "model"), "ID.Buzz");
	ck_assert_str_eq(mstr(m, "adf.status"), "resend");
	cJSON_Delete(m);
}
END_TEST

START_TEST(test_phone_only)
{
	struct nv_adf_lead l;

	ck_assert_int_eq(parse_fixture("phone_only.xml", &l), NV_OK);
	ck_assert_ptr_null(l.lead.email);
	ck_assert_str_eq(l.lead.phone, "+4798765432");
	ck_assert_str_eq(l.lead.first_name, "Jonas");
	ck_assert_ptr_null(l.lead.last_name);
	ck_assert_ptr_null(l.lead.message);
	ck_assert_ptr_nonnull(l.lead.empty_message);
	ck_assert_str_eq(l.lead.vehicle_interest, "2021 Tesla Model 3");
	ck_assert_str_eq(l.provider, "FINN-bil");
	ck_assert_ptr_null(l.service);
}
END_TEST

START_TEST(test_norwegian)
{
	struct nv_adf_lead l;
	cJSON *m;

	ck_assert_int_eq(parse_fixture("norwegian.xml", &l), NV_OK);
	ck_assert_str_eq(l.lead.first_name, "Bjørn Åge");
	ck_assert_str_eq(l.lead.last_name, "Ødegård");
	ck_assert_str_eq(l.lead.vehicle_interest, "2026 Škoda Enyaq");
	ck_assert_str_eq(l.lead.message, "Kan jeg prøvekjøre på lørdag? "
	    "Hilsen Bjørn, Ærfuglvegen 7, Tromsø.");
	ck_assert_str_eq(l.vendor, "Bil & Service Tromsø");
	/* two prospects: the first is the lead, the count is kept */
	ck_assert_int_eq(l.prospects, 2);
	ck_assert_str_eq(l.lead.email, "bjorn.age@example.no");
	m = meta_of(&l);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "adf"),
	    "prospects")->valueint, 2);
	cJSON_Delete(m);
}
END_TEST

START_TEST(test_latin1_declared)
{
	static const char xml[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<adf><prospect><customer><contact><name part=\"first\">Kj\xe6r"
	    "</name><email>k@example.no</email></contact></customer>"
	    "</prospect></adf>";
	struct nv_adf_lead l;
	cJSON *m;

	ck_assert_int_eq(parse_str(xml, &l), NV_OK);
	ck_assert_str_eq(l.lead.first_name, "Kjær");
	/* the raw bytes are not UTF-8: not kept verbatim */
	m = meta_of(&l);
	ck_assert_ptr_null(mstr(m, "payload"));
	ck_assert_ptr_nonnull(mstr(m, "payload_omitted"));
	cJSON_Delete(m);
}
END_TEST

/* -------------------------------------------------------------- limits */

START_TEST(test_depth_limit)
{
	struct nv_adf_lead l;
	char *xml, *p;
	size_t i, n = 300;

	xml = p = nv_arena_alloc(arena, n * 7 + 64);
	p += snprintf(p, 8, "<adf>");
	for (i = 0; i < n; i++)
		p += snprintf(p, 4, "<a>");
	for (i = 0; i < n; i++)
		p += snprintf(p, 5, "</a>");
	snprintf(p, 7, "</adf>");
	ck_assert_int_eq(parse_str(xml, &l), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_big_payload_not_kept)
{
	struct nv_adf_lead l;
	size_t n = NV_ADF_PAYLOAD_MAX + 100, len;
	char *xml;
	const char *head = "<adf><prospect><customer><contact><email>"
	    "big@example.no</email></contact><comments>";
	const char *tail = "</comments></customer></prospect></adf>";
	cJSON *m;

	xml = nv_arena_alloc(arena, n + 256);
	len = strlen(head);
	memcpy(xml, head, len);
	memset(xml + len, 'x', n);
	len += n;
	memcpy(xml + len, tail, strlen(tail) + 1);
	len += strlen(tail);
	ck_assert_int_eq(nv_adf_parse(arena, &diag, xml, len, &l), NV_OK);
	ck_assert_uint_eq(strlen(l.lead.message), 20000);
	m = meta_of(&l);
	ck_assert_ptr_null(mstr(m, "payload"));
	ck_assert_str_eq(mstr(m, "payload_omitted"), "larger than 64 KiB");
	cJSON_Delete(m);
}
END_TEST

/* -------------------------------------------------------------- errors */

/* Refused as bad request within 100 ms, nothing of /etc/passwd out. */
static void
assert_refused_fast(const char *xml, size_t len)
{
	struct nv_adf_lead l;
	struct timespec t0;
	enum nv_err rc;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = nv_adf_parse(arena, &diag, xml, len, &l);
	ms = ms_since(&t0);
	ck_assert_int_eq(rc, NV_ERR_BAD_REQUEST);
	ck_assert_msg(ms < 100.0, "refusal took %.1f ms", ms);
	ck_assert_ptr_null(l.lead.metadata);
	ck_assert_ptr_null(l.lead.first_name);
	ck_assert_ptr_null(l.lead.message);
	ck_assert_ptr_null(strstr(diag.msg, "root:"));
}

START_TEST(test_xxe_refused)
{
	size_t len;
	char *xml = fixture("xxe.xml", &len);

	assert_refused_fast(xml, len);
	ck_assert_ptr_nonnull(strstr(diag.msg, "entities"));
}
END_TEST

START_TEST(test_xxe_parameter_entity_refused)
{
	static const char xml[] = "<?xml version=\"1.0\"?><!DOCTYPE adf ["
	    "<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
	    "<adf><prospect/></adf>";

	assert_refused_fast(xml, strlen(xml));
}
END_TEST

START_TEST(test_billion_laughs_refused)
{
	size_t len;
	char *xml = fixture("billion_laughs.xml", &len);

	assert_refused_fast(xml, len);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
		"<adf><prospect></adf>",
		"not xml at all",
		"<adf><prospect><customer>&undeclared;</customer></prospect>"
		    "</adf>",
		"<?xml version=\"1.0\"?>",
		NULL
	};
	struct nv_adf_lead l;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		nv_diag_reset(&diag);
		ck_assert_msg(parse_str(bad[i], &l) == NV_ERR_BAD_REQUEST,
		    "accepted: %s", bad[i]);
	}
	ck_assert_int_eq(nv_adf_parse(arena, &diag, "", 0, &l),
	    NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_not_adf)
{
	struct nv_adf_lead l;

	ck_assert_int_eq(parse_str("<lead><email>a@example.no</email></lead>",
	    &l), NV_ERR_BAD_REQUEST);
	nv_diag_reset(&diag);
	ck_assert_int_eq(parse_str("<adf></adf>", &l), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_no_contact_is_validation)
{
	struct nv_adf_lead l;

	ck_assert_int_eq(parse_str("<adf><prospect><customer><contact>"
	    "<name part=\"full\">No Contact</name></contact></customer>"
	    "</prospect></adf>", &l), NV_ERR_VALIDATION);
	ck_assert_uint_ge(diag.ndetails, 1);
	nv_diag_reset(&diag);
	ck_assert_int_eq(parse_str("<adf><prospect><customer><contact>"
	    "<email>nope</email><phone type=\"fax\">22334455</phone>"
	    "<phone>12</phone></contact></customer></prospect></adf>", &l),
	    NV_ERR_VALIDATION);
	ck_assert_str_eq(diag.details[0].field, "email");
}
END_TEST

static Suite *
adf_suite(void)
{
	Suite *s = suite_create("adf");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_vendor_quirks);
	tcase_add_test(tc, test_trade_in);
	tcase_add_test(tc, test_phone_only);
	tcase_add_test(tc, test_norwegian);
	tcase_add_test(tc, test_latin1_declared);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_big_payload_not_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_xxe_refused);
	tcase_add_test(tc, test_xxe_parameter_entity_refused);
	tcase_add_test(tc, test_billion_laughs_refused);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_not_adf);
	tcase_add_test(tc, test_no_contact_is_validation);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(adf_suite)
