/*
 * testutil.c - helpers for the Check tests; see testutil.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <jwt.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "testutil.h"

#define TEST_MAX_PARAMS	16

const char *
nv_test_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0',
	    "environment variable %s is not set (run through make test)", name);
	return v;
}

PGconn *
nv_test_connect(const char *url)
{
	PGconn *c = PQconnectdb(url);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect failed: %s",
	    PQerrorMessage(c));
	return c;
}

static PGresult *
test_vexec(PGconn *c, const char *sql, va_list ap)
{
	const char *params[TEST_MAX_PARAMS];
	const char *p;
	int n = 0;

	while ((p = va_arg(ap, const char *)) != NULL && n < TEST_MAX_PARAMS)
		params[n++] = p;
	return PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
}

PGresult *
nv_test_exec(PGconn *c, const char *sql, ...)
{
	PGresult *r;
	va_list ap;

	va_start(ap, sql);
	r = test_vexec(c, sql, ap);
	va_end(ap);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "query failed: %s\n%s",
	    PQresultErrorMessage(r), sql);
	return r;
}

const char *
nv_test_exec_err(PGconn *c, char state[6], const char *sql, ...)
{
	PGresult *r;
	va_list ap;
	const char *s;

	va_start(ap, sql);
	r = test_vexec(c, sql, ap);
	va_end(ap);
	s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, 6, "%s", s != NULL ? s : "");
	PQclear(r);
	return state;
}

long
nv_test_count(PGconn *c, const char *sql, ...)
{
	PGresult *r;
	va_list ap;
	long n;

	va_start(ap, sql);
	r = test_vexec(c, sql, ap);
	va_end(ap);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
	    "count query failed: %s\n%s", PQresultErrorMessage(r), sql);
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

struct test_buf {
	char	*p;
	size_t	 len;
};

static size_t
test_write(char *data, size_t size, size_t n, void *arg)
{
	struct test_buf *b = arg;
	size_t len = size * n;
	char *p;

	p = realloc(b->p, b->len + len + 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p + b->len, data, len);
	b->p = p;
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

void
nv_test_http(const char *method, const char *path, const char *body,
    size_t body_len, const char *const *extra_headers,
    struct nv_test_http *out)
{
	struct test_buf b = { NULL, 0 }, h = { NULL, 0 };
	struct curl_slist *hl = NULL;
	char url[2048];
	CURLcode rc;
	CURL *c;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", nv_test_env("NORVALT_BASE_URL"),
	    path);
	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)body_len);
	}
	for (; extra_headers != NULL && *extra_headers != NULL; extra_headers++)
		hl = curl_slist_append(hl, *extra_headers);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, test_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, test_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path,
	    curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	out->body = b.p != NULL ? b.p : strdup("");
	out->len = b.len;
	out->headers = h.p != NULL ? h.p : strdup("");
}

void
nv_test_http_free(struct nv_test_http *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

char *
nv_test_http_header(const struct nv_test_http *r, const char *name)
{
	const char *line = r->headers, *end, *v;
	size_t n = strlen(name);

	while (line != NULL && *line != '\0') {
		end = strstr(line, "\r\n");
		if (end == NULL)
			end = line + strlen(line);
		if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 &&
		    line[n] == ':') {
			v = line + n + 1;
			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(end - v));
		}
		line = *end != '\0' ? end + 2 : NULL;
	}
	return NULL;
}

int
nv_test_run(char **out, const char *fmt, ...)
{
	struct test_buf b = { NULL, 0 };
	char cmd[8192], chunk[4096];
	va_list ap;
	size_t n;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	ck_assert_msg(f != NULL, "popen failed: %s", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		test_write(chunk, 1, n, &b);
	st = pclose(f);
	if (out != NULL)
		*out = b.p != NULL ? b.p : strdup("");
	else
		free(b.p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void
nv_test_assert_error(const char *body, const char *code)
{
	cJSON *j, *err, *c, *msg, *det, *rid;

	j = cJSON_Parse(body);
	ck_assert_msg(j != NULL, "error body is not JSON: %s", body);
	err = cJSON_GetObjectItemCaseSensitive(j, "error");
	ck_assert_msg(cJSON_IsObject(err), "no error object: %s", body);
	c = cJSON_GetObjectItemCaseSensitive(err, "code");
	msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	det = cJSON_GetObjectItemCaseSensitive(err, "details");
	rid = cJSON_GetObjectItemCaseSensitive(j, "request_id");
	ck_assert_msg(cJSON_IsString(c) && strcmp(c->valuestring, code) == 0,
	    "expected error code %s: %s", code, body);
	ck_assert_msg(cJSON_IsString(msg) && *msg->valuestring != '\0',
	    "no message: %s", body);
	ck_assert_msg(cJSON_IsArray(det), "no details array: %s", body);
	ck_assert_msg(cJSON_IsString(rid) && *rid->valuestring != '\0',
	    "no request_id: %s", body);
	cJSON_Delete(j);
}

char *
nv_test_token(const char *user, const char *org, long ttl)
{
	char path[1024], *pem = NULL, *tok, *o;
	size_t n = 0;
	long now = (long)time(NULL);
	jwt_t *j = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/var/keys/dev_jwt_private.pem",
	    nv_test_env("NV_ROOT"));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	pem = malloc(16384);
	n = fread(pem, 1, 16383, f);
	fclose(f);
	pem[n] = '\0';
	ck_assert_int_eq(jwt_new(&j), 0);
	jwt_add_grant(j, "iss", getenv("NORVALT_CLERK_ISSUER") != NULL ?
	    getenv("NORVALT_CLERK_ISSUER") : "https://clerk.norvalt.localhost");
	jwt_add_grant(j, "sub", user);
	jwt_add_grant(j, "sid", "sess_test");
	jwt_add_grant_int(j, "iat", now);
	jwt_add_grant_int(j, "nbf", now - 5);
	jwt_add_grant_int(j, "exp", now + ttl);
	jwt_add_grant_int(j, "v", 2);
	if (org != NULL) {
		size_t len = strlen(org) + 32;

		o = malloc(len);
		snprintf(o, len, "{\"id\":\"%s\",\"rol\":\"member\"}", org);
		/* jwt_add_grants_json merges an object: wrap it as {"o":...}. */
		{
			size_t wl = strlen(o) + 8;
			char *w = malloc(wl);

			snprintf(w, wl, "{\"o\":%s}", o);
			ck_assert_int_eq(jwt_add_grants_json(j, w), 0);
			free(w);
		}
		free(o);
	}
	ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_RS256, (unsigned char *)pem,
	    (int)n), 0);
	tok = jwt_encode_str(j);
	ck_assert_ptr_nonnull(tok);
	jwt_free(j);
	free(pem);
	return tok;
}

char *
nv_test_auth_header(const char *user, const char *org)
{
	char *tok = nv_test_token(user, org, 3600), *h;
	size_t len = strlen(tok) + 32;

	h = malloc(len);
	snprintf(h, len, "Authorization: Bearer %s", tok);
	free(tok);
	return h;
}

void
nv_test_pg_stop(void)
{
	const char *state = nv_test_env("NV_STATE_DIR");
	char *out = NULL;
	int st;

	st = nv_test_run(&out, "cd / && if [ \"$(id -u)\" = 0 ]; then"
	    " runuser -u norvalt -- /usr/lib/postgresql/15/bin/pg_ctl -D"
	    " \"%s/pg/data\" -m fast -w -t 60 stop; else"
	    " /usr/lib/postgresql/15/bin/pg_ctl -D \"%s/pg/data\" -m fast -w"
	    " -t 60 stop; fi", state, state);
	ck_assert_msg(st == 0, "pg_ctl stop: %s", out != NULL ? out : "");
	free(out);
}

void
nv_test_pg_start(void)
{
	char *out = NULL;
	int st;

	st = nv_test_run(&out, "%s", nv_test_env("NV_PG_RESTART"));
	ck_assert_msg(st == 0, "restart: %s", out != NULL ? out : "");
	free(out);
}

void
nv_test_app_restart(const char *name, const char *assignment)
{
	char *out = NULL;
	int st;

	st = nv_test_run(&out, "%s restart-app %s %s",
	    nv_test_env("NV_STACK_CMD"), name,
	    assignment != NULL ? assignment : "");
	ck_assert_msg(st == 0, "restart-app %s: %s", name,
	    out != NULL ? out : "");
	free(out);
}

void
nv_test_stack(const char *cmd)
{
	char *out = NULL;
	int st;

	st = nv_test_run(&out, "%s %s", nv_test_env("NV_STACK_CMD"), cmd);
	ck_assert_msg(st == 0, "stack.sh %s: %s", cmd, out != NULL ? out : "");
	free(out);
}

void
nv_test_webhook_post(const char *channel, const char *dealer,
    const char *body, size_t len, const char *ctype, const char *h1,
    const char *h2, struct nv_test_http *out)
{
	const char *hdrs[4] = { NULL, NULL, NULL, NULL };
	char path[256], ct[128];
	size_t n = 0;

	snprintf(path, sizeof(path), "/webhooks/%s/%s", channel, dealer);
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs[n++] = ct;
	}
	if (h1 != NULL)
		hdrs[n++] = h1;
	if (h2 != NULL)
		hdrs[n++] = h2;
	nv_test_http("POST", path, body, len, hdrs, out);
}

void
nv_test_norvalt_signature(const char *secret, const char *body, size_t len,
    char *out, size_t n)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0, i;
	size_t o;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, mac, &mlen);
	o = (size_t)snprintf(out, n, "X-Norvalt-Signature: sha256=");
	for (i = 0; i < mlen && o + 3 < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%02x", mac[i]);
}
