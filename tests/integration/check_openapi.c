/*
 * check_openapi.c - the OpenAPI document against what is served and built.
 *
 * served: nginx serves web/dist/api-docs/ as /api/openapi.json (JSON, the
 * same bytes as the source web/api-docs/openapi.json, so a stale build
 * fails here) and /api/docs (HTML whose every asset is local and loads).
 *
 * routes: every executable in $NV_BUILD_ROOT/cgi-bin/ prints its route
 * table when run with NORVALT_PRINT_ROUTES=1 (lib/http.c), one line per
 * route: "METHOD /pattern public|auth".  The routes of all binaries must
 * equal the operations of the document, path templates spelled alike
 * ({id} in both):
 *   - a route no operation documents fails, naming route and binary;
 *   - an operation no binary serves fails, naming it, unless the document
 *     marks it `x-norvalt-served-by: nginx` (static files);
 *   - a public route must be public in the document (security: []) and an
 *     authenticated one must not.
 * The document read is the source in the repo ($NV_ROOT), the contract.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"

#define SPEC_PATH	"web/api-docs/openapi.json"
#define MAX_ROUTES	512
#define MAX_BINS	64
#define LIST_MAX	8192

struct route {
	char	method[16];
	char	pattern[256];
	char	where[64];	/* the binary, or "nginx" for the document */
	int	public;
	int	by_nginx;	/* document only: x-norvalt-served-by: nginx */
};

struct routes {
	struct route	r[MAX_ROUTES];
	size_t		n;
	char		problems[LIST_MAX];	/* binaries that failed */
	size_t		nproblems;
};

/* Append a line to a bounded list (and echo it to stderr for the log). */
static void
list_add(char *list, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
list_add(char *list, size_t size, const char *fmt, ...)
{
	size_t off = strlen(list);
	va_list ap;

	va_start(ap, fmt);
	if (off + 1 < size) {
		va_list ap2;

		va_copy(ap2, ap);
		vsnprintf(list + off, size - off, fmt, ap2);
		va_end(ap2);
		off = strlen(list);
		if (off + 1 < size) {
			list[off] = '\n';
			list[off + 1] = '\0';
		}
	}
	fprintf(stderr, "check_openapi: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* dir + "/" + name into buf; a path too long fails the test. */
static void
join_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	ck_assert_msg(n > 0 && (size_t)n < size, "path too long: %s/%s", dir,
	    name);
}

/* A whole file, NUL-terminated, malloc'd; NULL when unreadable. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap == 0 ? 262144 : cap * 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
spec_file(size_t *len)
{
	char path[4096];
	char *text;

	join_path(path, sizeof(path), nv_test_env("NV_ROOT"), SPEC_PATH);
	text = slurp(path, len);
	ck_assert_msg(text != NULL, "cannot read %s: %s", path,
	    strerror(errno));
	return text;
}

/* ------------------------------------------------------------- served */

START_TEST(spec_is_served_as_json)
{
	struct nv_test_http r;
	char *ct, *rid, *src;
	cJSON *doc, *v;
	size_t len;

	nv_test_http("GET", "/api/openapi.json", NULL, 0, NULL, &r);
	ck_assert_msg(r.status == 200, "GET /api/openapi.json: %ld (run "
	    "scripts/docs.sh?) %s", r.status, r.body);
	ct = nv_test_http_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && has_prefix(ct, "application/json"),
	    "content type %s", ct != NULL ? ct : "(none)");
	rid = nv_test_http_header(&r, "X-Request-Id");
	ck_assert_msg(rid != NULL && *rid != '\0', "no X-Request-Id");

	doc = cJSON_ParseWithLength(r.body, r.len);
	ck_assert_msg(doc != NULL, "/api/openapi.json is not JSON");
	v = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
	ck_assert_msg(cJSON_IsString(v) && strncmp(v->valuestring, "3.1.", 4)
	    == 0, "not an OpenAPI 3.1 document");
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc,
	    "paths")));

	/* What nginx serves is what the repo holds (no stale build). */
	src = spec_file(&len);
	ck_assert_msg(len == r.len && memcmp(src, r.body, len) == 0,
	    "/api/openapi.json differs from %s: run scripts/docs.sh",
	    SPEC_PATH);

	free(src);
	cJSON_Delete(doc);
	free(rid);
	free(ct);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(spec_wrong_method_is_json_405)
{
	struct nv_test_http r;
	char *allow;

	nv_test_http("POST", "/api/openapi.json", "{}", 2,
	    (const char *const[]){ "Content-Type: application/json", NULL },
	    &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_assert_error(r.body, "method_not_allowed");
	allow = nv_test_http_header(&r, "Allow");
	ck_assert_msg(allow != NULL && strstr(allow, "GET") != NULL,
	    "Allow: %s", allow != NULL ? allow : "(none)");
	free(allow);
	nv_test_http_free(&r);
}
END_TEST

/*
 * Every src="..." and href="..." of the page: none may leave the origin
 * (no CDN), and each local one must load.  (web/scripts/build-api-docs.mjs
 * keeps the renderer itself from loading anything remote.)
 */
static void
check_page_assets(const char *html)
{
	static const char *const attrs[] = { "src=\"", "href=\"", NULL };
	char url[1024], *list = calloc(1, LIST_MAX);
	size_t i, n, nbad = 0, nlocal = 0;
	const char *p, *end;
	struct nv_test_http r;

	ck_assert_ptr_nonnull(list);
	for (i = 0; attrs[i] != NULL; i++) {
		for (p = strstr(html, attrs[i]); p != NULL;
		    p = strstr(end, attrs[i])) {
			p += strlen(attrs[i]);
			end = strchr(p, '"');
			ck_assert_ptr_nonnull(end);
			n = (size_t)(end - p);
			if (n == 0 || n >= sizeof(url) || *p == '#' ||
			    strncmp(p, "data:", 5) == 0)
				continue;	/* inline: nothing is fetched */
			memcpy(url, p, n);
			url[n] = '\0';
			if (url[0] != '/' || url[1] == '/') {
				list_add(list, LIST_MAX, "/api/docs loads %s from "
				    "elsewhere", url);
				nbad++;
				continue;
			}
			nlocal++;
			nv_test_http("GET", url, NULL, 0, NULL, &r);
			if (r.status != 200 || r.len == 0) {
				list_add(list, LIST_MAX, "/api/docs needs %s: %ld",
				    url, r.status);
				nbad++;
			}
			nv_test_http_free(&r);
		}
	}
	ck_assert_msg(nlocal > 0, "/api/docs references no script");
	ck_assert_msg(nbad == 0, "%zu asset problem(s):\n%s", nbad, list);
	free(list);
}

START_TEST(docs_page_is_served)
{
	struct nv_test_http r;
	char *ct, *rid;

	nv_test_http("GET", "/api/docs", NULL, 0, NULL, &r);
	ck_assert_msg(r.status == 200, "GET /api/docs: %ld (run "
	    "scripts/docs.sh; it needs npm) %s", r.status, r.body);
	ct = nv_test_http_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && has_prefix(ct, "text/html"),
	    "content type %s", ct != NULL ? ct : "(none)");
	rid = nv_test_http_header(&r, "X-Request-Id");
	ck_assert_msg(rid != NULL && *rid != '\0', "no X-Request-Id");
	ck_assert_msg(strstr(r.body, "<html") != NULL, "not an HTML page");
	ck_assert_msg(strstr(r.body, "redoc.standalone.js") != NULL,
	    "the page does not load the renderer");
	check_page_assets(r.body);
	free(rid);
	free(ct);
	nv_test_http_free(&r);
}
END_TEST

START_TEST(docs_renderer_is_javascript)
{
	struct nv_test_http r;
	char *ct;

	nv_test_http("GET", "/api/docs/redoc.standalone.js", NULL, 0, NULL,
	    &r);
	ck_assert_int_eq(r.status, 200);
	ct = nv_test_http_header(&r, "Content-Type");
	ck_assert_msg(ct != NULL && strstr(ct, "javascript") != NULL,
	    "content type %s", ct != NULL ? ct : "(none)");
	ck_assert_msg(r.len > 100000, "the renderer is only %zu bytes", r.len);
	free(ct);
	nv_test_http_free(&r);

	/* Nothing else under the prefix leaks out as a dashboard file. */
	nv_test_http("GET", "/api/docs/no-such-file.js", NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);
}
END_TEST

/* ------------------------------------------------------------- routes */

static void
routes_add(struct routes *rs, const char *method, const char *pattern,
    const char *where, int public, int by_nginx)
{
	struct route *r;

	ck_assert_msg(rs->n < MAX_ROUTES, "more than %d routes", MAX_ROUTES);
	r = &rs->r[rs->n++];
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
	snprintf(r->where, sizeof(r->where), "%s", where);
	r->public = public;
	r->by_nginx = by_nginx;
}

static const struct route *
routes_find(const struct routes *rs, const char *method, const char *pattern)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].method, method) == 0 &&
		    strcmp(rs->r[i].pattern, pattern) == 0)
			return &rs->r[i];
	return NULL;
}

/* One route line: "METHOD /pattern public|auth".  0 when malformed. */
static int
parse_route_line(const char *line, char *method, size_t msize,
    char *pattern, size_t psize, int *public)
{
	const char *sp1, *sp2, *kind;
	size_t i;

	sp1 = strchr(line, ' ');
	if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) >= msize)
		return 0;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || sp1[1] != '/' || (size_t)(sp2 - sp1 - 1) >= psize)
		return 0;
	kind = sp2 + 1;
	if (strcmp(kind, "public") == 0)
		*public = 1;
	else if (strcmp(kind, "auth") == 0)
		*public = 0;
	else
		return 0;
	for (i = 0; line + i < sp1; i++)
		if (line[i] < 'A' || line[i] > 'Z')
			return 0;
	memcpy(method, line, (size_t)(sp1 - line));
	method[sp1 - line] = '\0';
	memcpy(pattern, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	pattern[sp2 - sp1 - 1] = '\0';
	return 1;
}

/*
 * Run one binary with NORVALT_PRINT_ROUTES=1 (and just enough configuration
 * to start: a database URL it never connects to, the dev public key) and
 * add its routes; a binary that fails, prints nothing or prints a
 * malformed line is recorded in rs->problems.
 */
static void
binary_routes(struct routes *rs, const char *dir, const char *name)
{
	char path[4096], key[4096], errpath[] = "/tmp/check_openapi.XXXXXX";
	char method[16], pattern[256], *out = NULL, *err, *line, *next;
	size_t n = 0, cap = 0, nroutes = 0;
	int fds[2], errfd, status, public;
	const struct route *dup;
	ssize_t got;
	pid_t pid;

	join_path(path, sizeof(path), dir, name);
	join_path(key, sizeof(key), nv_test_env("NV_ROOT"),
	    "var/keys/dev_jwt_public.pem");
	errfd = mkstemp(errpath);
	ck_assert_msg(errfd >= 0, "mkstemp: %s", strerror(errno));
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);

		if (nullfd >= 0)
			dup2(nullfd, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(errfd, STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("NORVALT_PRINT_ROUTES", "1", 1);
		setenv("DATABASE_URL", "postgresql:///x", 1);
		setenv("NORVALT_CLERK_JWT_KEY_FILE", key, 1);
		alarm(20);	/* survives exec: a binary that hangs dies */
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - n < 4096) {
			cap = cap == 0 ? 16384 : cap * 2;
			out = realloc(out, cap + 1);
			ck_assert_ptr_nonnull(out);
		}
		got = read(fds[0], out + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fds[0]);
	out[n] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(errfd);
	err = slurp(errpath, NULL);
	unlink(errpath);

	for (line = out; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0')
			continue;
		if (!parse_route_line(line, method, sizeof(method), pattern,
		    sizeof(pattern), &public)) {
			list_add(rs->problems, LIST_MAX, "cgi-bin/%s printed a "
			    "line that is not \"METHOD /pattern public|auth\": "
			    "%.200s", name, line);
			rs->nproblems++;
			continue;
		}
		nroutes++;
		if ((dup = routes_find(rs, method, pattern)) != NULL) {
			list_add(rs->problems, LIST_MAX, "%s %s is served by "
			    "both cgi-bin/%s and cgi-bin/%s", method, pattern,
			    dup->where, name);
			rs->nproblems++;
			continue;
		}
		routes_add(rs, method, pattern, name, public, 0);
	}
	if (err != NULL) {
		n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		list_add(rs->problems, LIST_MAX, "cgi-bin/%s with "
		    "NORVALT_PRINT_ROUTES=1 exited %s %d: %.300s", name,
		    WIFEXITED(status) ? "with status" : "by signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    err != NULL ? err : "");
		rs->nproblems++;
	} else if (nroutes == 0) {
		list_add(rs->problems, LIST_MAX, "cgi-bin/%s printed no routes "
		    "with NORVALT_PRINT_ROUTES=1 (does its main end in "
		    "nv_http_serve or nv_api_serve?)", name);
		rs->nproblems++;
	}
	free(err);
	free(out);
}

/* The routes of every executable in $NV_BUILD_ROOT/cgi-bin/. */
static void
collect_binaries(struct routes *rs, size_t *nbins)
{
	char dir[4096], path[4096];
	char *names[MAX_BINS];
	struct dirent *de;
	struct stat st;
	size_t i, j, n = 0;
	DIR *d;

	join_path(dir, sizeof(dir), nv_test_env("NV_BUILD_ROOT"), "cgi-bin");
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '.') != NULL)
			continue;	/* sources (NAME.c) and hidden files */
		join_path(path, sizeof(path), dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    access(path, X_OK) != 0)
			continue;
		ck_assert_msg(n < MAX_BINS, "more than %d binaries", MAX_BINS);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	/* Sorted, so the messages come in a stable order. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	ck_assert_msg(n > 0, "no executables in %s: build first", dir);
	for (i = 0; i < n; i++) {
		binary_routes(rs, dir, names[i]);
		free(names[i]);
	}
	*nbins = n;
}

/* Whether a security requirement list lets a caller in without a token. */
static int
security_is_public(const cJSON *sec)
{
	const cJSON *req;

	if (sec == NULL || (cJSON_IsArray(sec) && cJSON_GetArraySize(sec) == 0))
		return 1;
	cJSON_ArrayForEach(req, sec)
		if (cJSON_IsObject(req) && req->child == NULL)
			return 1;	/* {} makes the token optional */
	return 0;
}

/* The operations of the document. */
static void
collect_document(struct routes *rs)
{
	static const char *const methods[] = {
		"get", "put", "post", "delete", "options", "head", "patch",
		"trace", NULL
	};
	const cJSON *paths, *item, *op, *sec, *by;
	char method[16];
	cJSON *doc;
	size_t i, k;
	char *text;

	text = spec_file(NULL);
	doc = cJSON_Parse(text);
	ck_assert_msg(doc != NULL, "%s is not valid JSON", SPEC_PATH);
	paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	ck_assert_msg(cJSON_IsObject(paths), "%s has no paths", SPEC_PATH);
	cJSON_ArrayForEach(item, paths) {
		for (i = 0; methods[i] != NULL; i++) {
			op = cJSON_GetObjectItemCaseSensitive(item, methods[i]);
			if (!cJSON_IsObject(op))
				continue;
			for (k = 0; methods[i][k] != '\0'; k++)
				method[k] = (char)(methods[i][k] - 'a' + 'A');
			method[k] = '\0';
			sec = cJSON_GetObjectItemCaseSensitive(op, "security");
			if (sec == NULL)
				sec = cJSON_GetObjectItemCaseSensitive(doc,
				    "security");
			by = cJSON_GetObjectItemCaseSensitive(op,
			    "x-norvalt-served-by");
			routes_add(rs, method, item->string, "document",
			    security_is_public(sec), cJSON_IsString(by) &&
			    strcmp(by->valuestring, "nginx") == 0);
		}
	}
	cJSON_Delete(doc);
	free(text);
}

static struct routes *
routes_new(void)
{
	struct routes *rs = calloc(1, sizeof(*rs));

	ck_assert_ptr_nonnull(rs);
	return rs;
}

START_TEST(binaries_print_their_routes)
{
	struct routes *bins = routes_new();
	size_t nbins;

	collect_binaries(bins, &nbins);
	ck_assert_msg(bins->nproblems == 0, "%zu problem(s) listing the routes "
	    "of %zu binaries:\n%s", bins->nproblems, nbins, bins->problems);
	free(bins);
}
END_TEST

START_TEST(every_route_is_documented)
{
	struct routes *bins = routes_new(), *doc = routes_new();
	char *list = calloc(1, LIST_MAX);
	const struct route *d;
	size_t i, nbins, nbad = 0;

	ck_assert_ptr_nonnull(list);
	collect_binaries(bins, &nbins);
	collect_document(doc);
	for (i = 0; i < bins->n; i++) {
		d = routes_find(doc, bins->r[i].method, bins->r[i].pattern);
		if (d == NULL) {
			list_add(list, LIST_MAX, "%s %s (cgi-bin/%s) is not in "
			    "%s", bins->r[i].method, bins->r[i].pattern,
			    bins->r[i].where, SPEC_PATH);
			nbad++;
		} else if (d->by_nginx) {
			list_add(list, LIST_MAX, "%s %s (cgi-bin/%s) is "
			    "documented as served by nginx", bins->r[i].method,
			    bins->r[i].pattern, bins->r[i].where);
			nbad++;
		}
	}
	ck_assert_msg(nbad == 0, "%zu route(s) of %zu binaries missing from "
	    "the document:\n%s", nbad, nbins, list);
	free(list);
	free(doc);
	free(bins);
}
END_TEST

START_TEST(every_operation_is_served)
{
	struct routes *bins = routes_new(), *doc = routes_new();
	char *list = calloc(1, LIST_MAX);
	size_t i, nbins, nbad = 0;

	ck_assert_ptr_nonnull(list);
	collect_binaries(bins, &nbins);
	collect_document(doc);
	for (i = 0; i < doc->n; i++) {
		if (doc->r[i].by_nginx)
			continue;
		if (routes_find(bins, doc->r[i].method, doc->r[i].pattern) ==
		    NULL) {
			list_add(list, LIST_MAX, "%s %s is documented but no "
			    "binary in $NV_BUILD_ROOT/cgi-bin serves it",
			    doc->r[i].method, doc->r[i].pattern);
			nbad++;
		}
	}
	ck_assert_msg(nbad == 0, "%zu documented operation(s) served by none "
	    "of %zu binaries:\n%s", nbad, nbins, list);
	free(list);
	free(doc);
	free(bins);
}
END_TEST

START_TEST(public_and_auth_agree)
{
	struct routes *bins = routes_new(), *doc = routes_new();
	char *list = calloc(1, LIST_MAX);
	const struct route *d;
	size_t i, nbins, nbad = 0;

	ck_assert_ptr_nonnull(list);
	collect_binaries(bins, &nbins);
	collect_document(doc);
	for (i = 0; i < bins->n; i++) {
		d = routes_find(doc, bins->r[i].method, bins->r[i].pattern);
		if (d == NULL || d->public == bins->r[i].public)
			continue;
		list_add(list, LIST_MAX, "%s %s: cgi-bin/%s says %s, the "
		    "document says %s", bins->r[i].method, bins->r[i].pattern,
		    bins->r[i].where, bins->r[i].public ? "public" : "auth",
		    d->public ? "public (security: [])" : "auth");
		nbad++;
	}
	ck_assert_msg(nbad == 0, "%zu route(s) disagree on authentication:\n%s",
	    nbad, list);
	free(list);
	free(doc);
	free(bins);
}
END_TEST

static Suite *
openapi_suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *tc;

	tc = tcase_create("served");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, spec_is_served_as_json);
	tcase_add_test(tc, spec_wrong_method_is_json_405);
	tcase_add_test(tc, docs_page_is_served);
	tcase_add_test(tc, docs_renderer_is_javascript);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, binaries_print_their_routes);
	tcase_add_test(tc, every_route_is_documented);
	tcase_add_test(tc, every_operation_is_served);
	tcase_add_test(tc, public_and_auth_agree);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(openapi_suite)
