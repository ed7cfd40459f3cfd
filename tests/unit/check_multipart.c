/*
 * check_multipart.c - unit tests for lib/multipart.c: the boundary of a
 * Content-Type and strict multipart/form-data bodies.
 *
 * Bodies are written out by hand, CRLF by CRLF, so that every test shows
 * the bytes it feeds; sizes are passed explicitly (file parts hold NULs).
 */
#include <stdio.h>
#include <string.h>

#include "../testutil.h"
#include "arena.h"
#include "multipart.h"

static Suite *multipart_suite(void);

static struct nv_arena *arena;
static struct nv_diag diag;
static struct nv_multipart_part *parts;
static size_t nparts;

static void
setup(void)
{
	arena = nv_arena_new();
	nv_diag_reset(&diag);
	parts = NULL;
	nparts = 0;
}

static void
teardown(void)
{
	nv_arena_free(arena);
	arena = NULL;
}

static enum nv_err
parse_n(const char *body, size_t len, const char *boundary, size_t max)
{
	nv_diag_reset(&diag);
	return nv_multipart_parse(arena, &diag, body, len, boundary, max,
	    &parts, &nparts);
}

static enum nv_err
parse(const char *body, const char *boundary)
{
	return parse_n(body, strlen(body), boundary, 1024 * 1024);
}

static enum nv_err
boundary_of(const char *ct, const char **b)
{
	nv_diag_reset(&diag);
	return nv_multipart_boundary(arena, &diag, ct, b);
}

static void
assert_part(size_t i, const char *name, const char *data)
{
	ck_assert_uint_lt(i, nparts);
	ck_assert_str_eq(parts[i].name, name);
	ck_assert_uint_eq(parts[i].len, strlen(data));
	ck_assert(memcmp(parts[i].data, data, parts[i].len) == 0);
}

#define FD	"Content-Disposition: form-data; "

/* ------------------------------------------------------------ core */

START_TEST(several_parts)
{
	static const char body[] =
	    "--XyZ\r\n"
	    FD "name=\"sender\"\r\n"
	    "\r\n"
	    "kari@example.no\r\n"
	    "--XyZ\r\n"
	    FD "name=\"subject\"\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "Prøvekjøring\r\n"
	    "--XyZ\r\n"
	    FD "name=\"body-plain\"\r\n"
	    "\r\n"
	    "line one\r\nline two --XyZ inline\r\n-- XyZ\r\n"
	    "\r\n"
	    "--XyZ\r\n"
	    FD "name=empty\r\n"
	    "\r\n"
	    "\r\n"
	    "--XyZ--\r\n";

	ck_assert_int_eq(parse(body, "XyZ"), NV_OK);
	ck_assert_uint_eq(nparts, 4);
	assert_part(0, "sender", "kari@example.no");
	ck_assert_ptr_null(parts[0].filename);
	ck_assert_ptr_null(parts[0].content_type);
	assert_part(1, "subject", "Prøvekjøring");
	ck_assert_str_eq(parts[1].content_type, "text/plain; charset=utf-8");
	assert_part(2, "body-plain", "line one\r\nline two --XyZ inline\r\n"
	    "-- XyZ\r\n");
	assert_part(3, "empty", "");
}
END_TEST

START_TEST(file_part)
{
	static const char body[] =
	    "--b1\r\n"
	    FD "name=\"token\"\r\n"
	    "\r\n"
	    "abc\r\n"
	    "--b1\r\n"
	    "content-disposition: FORM-DATA; filename=\"bil \\\"ny\\\".pdf\";"
	    " name=\"attachment-1\"\r\n"
	    "Content-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: binary\r\n"
	    "\r\n"
	    "%PDF\0\r\x01\n\xff\r\n"
	    "--b1--";

	ck_assert_int_eq(parse_n(body, sizeof(body) - 1, "b1", 1024), NV_OK);
	ck_assert_uint_eq(nparts, 2);
	assert_part(0, "token", "abc");
	ck_assert_str_eq(parts[1].name, "attachment-1");
	ck_assert_str_eq(parts[1].filename, "bil \"ny\".pdf");
	ck_assert_str_eq(parts[1].content_type, "application/pdf");
	ck_assert_uint_eq(parts[1].len, 9);
	ck_assert(memcmp(parts[1].data, "%PDF\0\r\x01\n\xff", 9) == 0);
}
END_TEST

START_TEST(quoted_boundary)
{
	static const char body[] =
	    "--a b:c=(d)?\r\n"
	    FD "name=\"x\"\r\n"
	    "\r\n"
	    "1\r\n"
	    "--a b:c=(d)?--\r\n";
	const char *b;

	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=\"a "
	    "b:c=(d)?\"", &b), NV_OK);
	ck_assert_str_eq(b, "a b:c=(d)?");
	ck_assert_int_eq(parse(body, b), NV_OK);
	ck_assert_uint_eq(nparts, 1);
	assert_part(0, "x", "1");

	ck_assert_int_eq(boundary_of("Multipart/Form-Data;charset=utf-8; "
	    "BOUNDARY=----WebKitFormBoundary7MA4YWxkTrZu0gW", &b), NV_OK);
	ck_assert_str_eq(b, "----WebKitFormBoundary7MA4YWxkTrZu0gW");
	ck_assert_int_eq(boundary_of("multipart/form-data;boundary=abc ;",
	    &b), NV_OK);
	ck_assert_str_eq(b, "abc");
}
END_TEST

START_TEST(preamble_epilogue)
{
	/* RFC 2046's example shape, with transport padding after a boundary. */
	static const char body[] =
	    "This is the preamble.  It is to be ignored.\r\n"
	    "--simple boundary\r\n"
	    FD "name=\"a\"\r\n"
	    "\r\n"
	    "A\r\n"
	    "--simple boundary \t\r\n"
	    FD "name=\"a\"\r\n"
	    "\r\n"
	    "A2\r\n"
	    "--simple boundary--  \r\n"
	    "This is the epilogue.  --simple boundary\r\n";

	ck_assert_int_eq(parse(body, "simple boundary"), NV_OK);
	ck_assert_uint_eq(nparts, 2);
	assert_part(0, "a", "A");
	assert_part(1, "a", "A2");
}
END_TEST

START_TEST(preamble_then_parts)
{
	static const char body[] =
	    "preamble text\r\nmore\r\n"
	    "--q\r\n"
	    FD "name=\"n\"\r\n"
	    "\r\n"
	    "v\r\n"
	    "--q--\r\n"
	    "epilogue --q\r\n--q\r\nrubbish";

	ck_assert_int_eq(parse(body, "q"), NV_OK);
	ck_assert_uint_eq(nparts, 1);
	assert_part(0, "n", "v");
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(oversized_part)
{
	static const char body[] =
	    "--b\r\n" FD "name=\"small\"\r\n\r\n0123456789\r\n"
	    "--b\r\n" FD "name=\"big\"\r\n\r\n0123456789A\r\n"
	    "--b--\r\n";

	ck_assert_int_eq(parse_n(body, sizeof(body) - 1, "b", 10),
	    NV_ERR_TOO_LARGE);
	ck_assert_int_eq(parse_n(body, sizeof(body) - 1, "b", 11), NV_OK);
	ck_assert_uint_eq(nparts, 2);
}
END_TEST

START_TEST(part_count)
{
	static char body[16384];
	size_t o = 0;
	int i;

	for (i = 0; i < NV_MULTIPART_PARTS_MAX; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "--b\r\n" FD "name=\"f%d\"\r\n\r\nv\r\n", i);
	snprintf(body + o, sizeof(body) - o, "--b--\r\n");
	ck_assert_int_eq(parse(body, "b"), NV_OK);
	ck_assert_uint_eq(nparts, NV_MULTIPART_PARTS_MAX);

	o += (size_t)snprintf(body + o, sizeof(body) - o,
	    "--b\r\n" FD "name=\"one-more\"\r\n\r\nv\r\n");
	snprintf(body + o, sizeof(body) - o, "--b--\r\n");
	ck_assert_int_eq(parse(body, "b"), NV_ERR_TOO_LARGE);
}
END_TEST

START_TEST(boundary_length)
{
	char ct[256], b71[72];
	const char *b;

	memset(b71, 'x', 71);
	b71[71] = '\0';
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%.70s", b71);
	ck_assert_int_eq(boundary_of(ct, &b), NV_OK);
	ck_assert_uint_eq(strlen(b), 70);
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b71);
	ck_assert_int_eq(boundary_of(ct, &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--x\r\n", b71), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(header_limits)
{
	static char body[4096];
	char pad[NV_MULTIPART_HEADER_MAX + 8];
	size_t o = 0;
	int i;

	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(body, sizeof(body), "--b\r\n" FD "name=\"x\"\r\nX-Pad: %s"
	    "\r\n\r\nv\r\n--b--\r\n", pad);
	ck_assert_int_eq(parse(body, "b"), NV_ERR_BAD_REQUEST);

	o = (size_t)snprintf(body, sizeof(body), "--b\r\n" FD "name=\"x\"\r\n");
	for (i = 0; i < NV_MULTIPART_HEADERS_MAX; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "X-H%d: v\r\n", i);
	snprintf(body + o, sizeof(body) - o, "\r\nv\r\n--b--\r\n");
	ck_assert_int_eq(parse(body, "b"), NV_ERR_BAD_REQUEST);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(missing_final_boundary)
{
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n\r\nA\r\n", "b"),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n\r\nA\r\n--b", "b"),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n\r\nA\r\n--b\r\n",
	    "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n\r\nA--b--", "b"),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n", "b"),
	    NV_ERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(diag.msg, "headers"));
}
END_TEST

START_TEST(missing_boundary_parameter)
{
	const char *b = "x";

	ck_assert_int_eq(boundary_of("multipart/form-data", &b),
	    NV_ERR_BAD_REQUEST);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(boundary_of("multipart/form-data; charset=utf-8",
	    &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=", &b),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=\"\"",
	    &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=\"ab",
	    &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=\"ab \"",
	    &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=a; "
	    "boundary=b", &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data; boundary=\"a\x01\"",
	    &b), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(boundary_of("multipart/form-data boundary=a", &b),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n", NULL), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n", ""), NV_ERR_BAD_REQUEST);

	ck_assert_int_eq(boundary_of(NULL, &b), NV_ERR_MEDIA_TYPE);
	ck_assert_int_eq(boundary_of("multipart/mixed; boundary=a", &b),
	    NV_ERR_MEDIA_TYPE);
	ck_assert_int_eq(boundary_of("multipart/form-datax; boundary=a", &b),
	    NV_ERR_MEDIA_TYPE);
}
END_TEST

START_TEST(header_injection)
{
	/* A bare LF, a bare CR, a CRLF in a quoted name, a folded line. */
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\nX-Evil: 1\r\n\r\nA\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(diag.msg, "bare LF"));
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\rX-Evil: 1\r\n\r\nA\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(diag.msg, "bare CR"));
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\r\nX-Evil: 1\"\r\n\r\n"
	    "A\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "\r\n name=\"a\"\r\n\r\nA\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\0b\"\r\n\r\nA\r\n--b--",
	    "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\nX-Evil\r\n" FD "name=\"a\"\r\n\r\nA\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	/* A second Content-Disposition cannot rename the part. */
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n" FD "name=\"b\""
	    "\r\n\r\nA\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"; name=\"b\"\r\n\r\n"
	    "A\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(malformed_parts)
{
	/* no Content-Disposition, not form-data, no name, empty name */
	ck_assert_int_eq(parse("--b\r\nContent-Type: text/plain\r\n\r\nA\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\nContent-Disposition: attachment; "
	    "name=\"a\"\r\n\r\nA\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\nContent-Disposition: form-data\r\n\r\n"
	    "A\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"\"\r\n\r\nA\r\n--b--",
	    "b"), NV_ERR_BAD_REQUEST);
	/* no parts; no delimiter at all; junk after a boundary */
	ck_assert_int_eq(parse("--b--\r\n", "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("sender=kari%40example.no", "b"),
	    NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("--bX\r\n" FD "name=\"a\"\r\n\r\nA\r\n--b--",
	    "b"), NV_ERR_BAD_REQUEST);
	/* the boundary as a prefix of a line inside the data */
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\n\r\nA\r\n--bc\r\n"
	    "--b--", "b"), NV_ERR_BAD_REQUEST);
	/* a header without a colon, a non-token header name */
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"a\"\r\nNo colon\r\n\r\n"
	    "A\r\n--b--", "b"), NV_ERR_BAD_REQUEST);
	/* a name that is not UTF-8 */
	ck_assert_int_eq(parse("--b\r\n" FD "name=\"\xc3\"\r\n\r\nA\r\n--b--",
	    "b"), NV_ERR_BAD_REQUEST);
	ck_assert_int_eq(parse("", "b"), NV_ERR_BAD_REQUEST);
}
END_TEST

static Suite *
multipart_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, several_parts);
	tcase_add_test(tc, file_part);
	tcase_add_test(tc, quoted_boundary);
	tcase_add_test(tc, preamble_epilogue);
	tcase_add_test(tc, preamble_then_parts);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, oversized_part);
	tcase_add_test(tc, part_count);
	tcase_add_test(tc, boundary_length);
	tcase_add_test(tc, header_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_final_boundary);
	tcase_add_test(tc, missing_boundary_parameter);
	tcase_add_test(tc, header_injection);
	tcase_add_test(tc, malformed_parts);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(multipart_suite)
