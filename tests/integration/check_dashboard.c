/*
 * check_dashboard.c - how nginx serves the dashboard (nginx/norvalt.conf,
 * location /): index.html for / and the app's own paths, never cached and
 * with a strict Content-Security-Policy; hashed assets cached for a year;
 * no inline script in the page; unknown paths still a JSON 404.  The
 * browser tests (tests/e2e) cover what the page does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testutil.h"

static char *
header(const struct nv_test_http *r, const char *name)
{
	char *v = nv_test_http_header(r, name);

	ck_assert_msg(v != NULL, "no %s header", name);
	return v;
}

/* The page, with its security headers, at path. */
static void
assert_index(const char *path, struct nv_test_http *r)
{
	char *v;

	nv_test_http("GET", path, NULL, 0, NULL, r);
	ck_assert_msg(r->status == 200, "GET %s: %ld (web/dist built? "
	    "scripts/web.sh)", path, r->status);
	v = header(r, "Content-Type");
	ck_assert_msg(strncmp(v, "text/html", 9) == 0, "%s: %s", path, v);
	free(v);
	ck_assert_ptr_nonnull(strstr(r->body, "<div id=\"app\">"));
	v = header(r, "Cache-Control");
	ck_assert_str_eq(v, "no-cache");
	free(v);
	v = header(r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(strstr(v, "default-src 'self'"));
	ck_assert_ptr_nonnull(strstr(v, "script-src 'self';"));
	ck_assert_ptr_nonnull(strstr(v, "frame-ancestors 'none'"));
	ck_assert_ptr_null(strstr(v, "unsafe-inline"));
	ck_assert_ptr_null(strstr(v, "unsafe-eval"));
	free(v);
	v = header(r, "X-Content-Type-Options");
	ck_assert_str_eq(v, "nosniff");
	free(v);
	v = header(r, "Referrer-Policy");
	ck_assert_str_eq(v, "no-referrer");
	free(v);
	v = header(r, "X-Request-Id");
	free(v);
}

START_TEST(index_and_app_paths)
{
	static const char *const paths[] = { "/", "/signin", "/metrics",
	    "/vehicles", "/settings", "/leads/c1000000-0000-4000-8000-000000000001",
	    NULL };
	struct nv_test_http r;
	size_t i;

	for (i = 0; paths[i] != NULL; i++) {
		assert_index(paths[i], &r);
		nv_test_http_free(&r);
	}
}
END_TEST

/* Every script is an external same-origin file, and each one loads. */
START_TEST(no_inline_script_and_assets_cached)
{
	struct nv_test_http r, a;
	const char *p, *src;
	char path[512], *v;
	size_t n, scripts = 0;

	assert_index("/", &r);
	for (p = r.body; (p = strstr(p, "<script")) != NULL; p += 7) {
		src = strstr(p, "src=\"");
		ck_assert_msg(src != NULL && src < strchr(p, '>'),
		    "inline script in index.html");
		src += 5;
		n = strcspn(src, "\"");
		ck_assert_msg(n > 0 && n < sizeof(path) && src[0] == '/' &&
		    src[1] != '/', "script from elsewhere: %.80s", src);
		memcpy(path, src, n);
		path[n] = '\0';
		nv_test_http("GET", path, NULL, 0, NULL, &a);
		ck_assert_msg(a.status == 200, "%s: %ld", path, a.status);
		v = header(&a, "Cache-Control");
		ck_assert_msg(strstr(v, "max-age=31536000") != NULL &&
		    strstr(v, "immutable") != NULL, "%s: %s", path, v);
		free(v);
		v = header(&a, "Content-Type");
		ck_assert_msg(strstr(v, "javascript") != NULL, "%s: %s", path,
		    v);
		free(v);
		nv_test_http_free(&a);
		scripts++;
	}
	ck_assert_uint_gt(scripts, 0);
	ck_assert_ptr_null(strstr(r.body, "style=\""));
	nv_test_http_free(&r);
}
END_TEST

START_TEST(unknown_paths_stay_json_404)
{
	static const char *const paths[] = { "/leads/not-a-lead/x",
	    "/assets/nope.js", "/metricsx", "/signin/../../etc/passwd", NULL };
	struct nv_test_http r;
	size_t i;

	for (i = 0; paths[i] != NULL; i++) {
		nv_test_http("GET", paths[i], NULL, 0, NULL, &r);
		ck_assert_msg(r.status == 404 || r.status == 400,
		    "GET %s: %ld", paths[i], r.status);
		ck_assert_msg(r.body[0] == '{', "GET %s: %.80s", paths[i],
		    r.body);
		nv_test_http_free(&r);
	}
}
END_TEST

static Suite *
dashboard_suite(void)
{
	Suite *s = suite_create("dashboard");
	TCase *core = tcase_create("core");
	TCase *err = tcase_create("errors");

	tcase_add_test(core, index_and_app_paths);
	tcase_add_test(core, no_inline_script_and_assets_cached);
	tcase_add_test(err, unknown_paths_stay_json_404);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	return s;
}

NV_TEST_MAIN(dashboard_suite)
