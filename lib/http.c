/*
 * http.c - FastCGI accept loop, router and response writer; see http.h.
 *
 * Uses fcgiapp.h (not fcgi_stdio.h, which redefines stdio).  One arena per
 * process, reset at the top of each request.
 */
#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>
#include <openssl/rand.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "log.h"

static volatile sig_atomic_t http_busy, http_stop;
static nv_handler http_runner;

void
nv_http_set_runner(nv_handler runner)
{
	http_runner = runner;
}

static void
http_on_signal(int sig)
{
	(void)sig;
	if (!http_busy)
		_exit(0);
	http_stop = 1;
}

const char *
nv_req_env(struct nv_req *req, const char *name)
{
	FCGX_Request *r = req->fcgx;

	return FCGX_GetParam(name, r->envp);
}

const char *
nv_req_param(struct nv_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->param_names[i], name) == 0)
			return req->param_values[i];
	return NULL;
}

void
nv_req_header(struct nv_req *req, const char *name, const char *value)
{
	req->headers = nv_arena_printf(req->arena, "%s%s: %s\r\n",
	    req->headers != NULL ? req->headers : "", name, value);
}

enum nv_err
nv_req_fail(struct nv_req *req, enum nv_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->diag.msg, sizeof(req->diag.msg), fmt, ap);
	va_end(ap);
	return code;
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default:  return status < 500 ? "Error" : "Internal Server Error";
	}
}

enum nv_err
nv_req_json(struct nv_req *req, int status, const char *body, size_t len)
{
	req->status = status;
	req->body = body;
	req->body_len = len;
	return NV_OK;
}

enum nv_err
nv_req_body_set(struct nv_req *req, int status, const char *ctype,
    const char *body, size_t len)
{
	assert(ctype != NULL && strpbrk(ctype, "\r\n") == NULL);
	req->status = status;
	req->body = body;
	req->body_len = len;
	req->ctype = ctype;
	return NV_OK;
}

int
nv_req_ctype_is(struct nv_req *req, const char *type)
{
	const char *ct = nv_req_env(req, "CONTENT_TYPE");
	size_t n = strlen(type);

	return ct != NULL && strncasecmp(ct, type, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

enum nv_err
nv_req_created(struct nv_req *req, const char *collection, const char *body)
{
	const cJSON *id;
	cJSON *j = NULL;

	/* The id for Location: read it from our own output, not a guess. */
	if (nv_json_parse(req->arena, NULL, body, strlen(body), &j) == NV_OK &&
	    cJSON_IsString(id = cJSON_GetObjectItemCaseSensitive(j, "id")))
		nv_req_header(req, "Location", nv_arena_cat(req->arena,
		    collection, "/", id->valuestring, (char *)NULL));
	return nv_req_json(req, 201, body, strlen(body));
}

/*
 * The response goes out as FastCGI STDOUT records we frame ourselves, in
 * one writev: libfcgi's stream buffer is 8 KB, so FCGX_PutStr of a 45 KB
 * lead page made six write()s, each waking nginx for 8 KB.  The records
 * are the protocol's (version 1, FCGI_STDOUT, the request's id, content
 * of at most 65535 bytes padded to 8); FCGX_Finish_r then adds the empty
 * STDOUT record that ends the stream and FCGI_END_REQUEST, as it always
 * does.  Nothing is ever written through r->out, so its buffer is empty.
 */
#define HTTP_REC_MAX	65528		/* content per record, 8-aligned */
#define HTTP_IOV_BATCH	256		/* iovecs per writev, <= IOV_MAX */

/* Write iov[0..n) completely (it is modified); 0, or -1 on error. */
static int
http_writev_all(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n > 0) {
		w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * head[0..hlen) then body[0..blen) as STDOUT records of request r, up to
 * 64 records (4 MB) per writev: one for any answer this API gives.  0, or
 * -1 when the write failed.
 */
static int
http_records(FCGX_Request *r, const char *head, size_t hlen,
    const char *body, size_t blen)
{
	static const char pad[8];
	unsigned char hdr[HTTP_IOV_BATCH / 4][8];
	struct iovec iov[HTTP_IOV_BATCH];
	size_t total = hlen + blen, off, len, from;
	int n = 0, h = 0;

	if (r->ipcFd < 0)
		return -1;
	for (off = 0; off < total; off += len) {
		len = total - off < HTTP_REC_MAX ? total - off : HTTP_REC_MAX;
		hdr[h][0] = 1;				/* FCGI_VERSION_1 */
		hdr[h][1] = 6;				/* FCGI_STDOUT */
		hdr[h][2] = (unsigned char)((r->requestId >> 8) & 0xff);
		hdr[h][3] = (unsigned char)(r->requestId & 0xff);
		hdr[h][4] = (unsigned char)((len >> 8) & 0xff);
		hdr[h][5] = (unsigned char)(len & 0xff);
		hdr[h][6] = (unsigned char)((8 - len % 8) % 8);	/* padding */
		hdr[h][7] = 0;
		iov[n].iov_base = hdr[h];
		iov[n++].iov_len = 8;
		from = off < hlen ? (hlen - off < len ? hlen - off : len) : 0;
		if (from > 0) {			/* the part of head in it */
			iov[n].iov_base = (void *)(uintptr_t)(head + off);
			iov[n++].iov_len = from;
		}
		if (from < len) {		/* the part of body in it */
			iov[n].iov_base =
			    (void *)(uintptr_t)(body + off + from - hlen);
			iov[n++].iov_len = len - from;
		}
		if (hdr[h][6] > 0) {
			iov[n].iov_base = (void *)(uintptr_t)pad;
			iov[n++].iov_len = hdr[h][6];
		}
		if (++h == HTTP_IOV_BATCH / 4 || off + len == total) {
			if (http_writev_all(r->ipcFd, iov, n) < 0)
				return -1;
			n = h = 0;
		}
	}
	return 0;
}

/* Write the buffered response.  A failure means the client went away. */
static void
http_write(struct nv_req *req)
{
	FCGX_Request *r = req->fcgx;
	const char *head;
	size_t blen;

	blen = strcmp(req->method, "HEAD") != 0 ? req->body_len : 0;
	head = nv_arena_printf(req->arena,
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %lu\r\n"
	    "X-Request-Id: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s\r\n", req->status, http_reason(req->status),
	    req->ctype != NULL ? req->ctype :
	    "application/json; charset=utf-8", (unsigned long)req->body_len,
	    req->request_id,
	    req->headers != NULL ? req->headers : "");
	if (http_records(r, head, strlen(head), req->body, blen) < 0)
		nv_log_info("client went away while writing the response");
}

static int
http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into the arena; NULL on a bad escape or NUL. */
static char *
http_unescape(struct nv_arena *a, const char *s, size_t n)
{
	char *out = nv_arena_alloc(a, n + 1), *o = out;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			hi = http_hex((unsigned char)s[i + 1]);
			lo = http_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

enum nv_err
nv_req_query_parse(struct nv_req *req, const char *const *allowed)
{
	const char *p = req->query, *amp, *eq;
	const char *const *al;
	char *name, *value;
	size_t i;

	req->nq = 0;
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		name = http_unescape(req->arena, p, (size_t)((eq != NULL ? eq :
		    amp) - p));
		value = eq != NULL ? http_unescape(req->arena, eq + 1,
		    (size_t)(amp - eq - 1)) : nv_arena_strdup(req->arena, "");
		if (name == NULL || value == NULL) {
			nv_diag_field(&req->diag, name != NULL ? name : "query",
			    "is not valid percent-encoding");
			return nv_req_fail(req, NV_ERR_BAD_REQUEST,
			    "the query string is malformed");
		}
		for (al = allowed; *al != NULL; al++)
			if (strcmp(*al, name) == 0)
				break;
		if (*al == NULL) {
			nv_diag_field(&req->diag, name, "is not a known parameter");
			return nv_req_fail(req, NV_ERR_BAD_REQUEST,
			    "unknown query parameter %.64s", name);
		}
		for (i = 0; i < req->nq; i++)
			if (strcmp(req->qnames[i], name) == 0) {
				nv_diag_field(&req->diag, name, "is given twice");
				return nv_req_fail(req, NV_ERR_BAD_REQUEST,
				    "query parameter %s is given twice", name);
			}
		if (req->nq >= NV_QUERY_MAX)
			return nv_req_fail(req, NV_ERR_BAD_REQUEST,
			    "too many query parameters");
		req->qnames[req->nq] = name;
		req->qvalues[req->nq] = value;
		req->nq++;
		p = *amp != '\0' ? amp + 1 : amp;
	}
	return NV_OK;
}

const char *
nv_req_query(struct nv_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nq; i++)
		if (strcmp(req->qnames[i], name) == 0)
			return req->qvalues[i];
	return NULL;
}

enum nv_err
nv_req_query_int(struct nv_req *req, const char *name, long min, long max,
    long def, long *out)
{
	const char *v = nv_req_query(req, name);
	char *end;
	long n;

	*out = def;
	if (v == NULL)
		return NV_OK;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		nv_diag_field(&req->diag, name, "must be an integer between %ld "
		    "and %ld", min, max);
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "query parameter %s is invalid", name);
	}
	*out = n;
	return NV_OK;
}

enum nv_err
nv_req_body(struct nv_req *req, const char **body, size_t *len)
{
	FCGX_Request *r = req->fcgx;
	const char *cl;
	char *buf, *end;
	unsigned long long want;
	size_t got = 0;
	int n;

	*body = "";
	*len = 0;
	cl = nv_req_env(req, "CONTENT_LENGTH");
	if (cl == NULL || *cl == '\0')
		return NV_OK;
	errno = 0;
	want = strtoull(cl, &end, 10);
	if (*end != '\0' || errno != 0 || *cl == '-')
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "invalid Content-Length");
	if (want > NV_HTTP_BODY_MAX)
		return nv_req_fail(req, NV_ERR_TOO_LARGE,
		    "the body is larger than %d bytes", NV_HTTP_BODY_MAX);
	buf = nv_arena_alloc(req->arena, (size_t)want + 1);
	while (got < want) {
		n = FCGX_GetStr(buf + got, (int)(want - got), r->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != want)
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "the body is shorter than its Content-Length");
	buf[got] = '\0';
	*body = buf;
	*len = got;
	return NV_OK;
}

enum nv_err
nv_req_json_body(struct nv_req *req, cJSON **out)
{
	const char *body;
	enum nv_err rc;
	size_t len;

	*out = NULL;
	if (!nv_req_ctype_is(req, "application/json"))
		return nv_req_fail(req, NV_ERR_MEDIA_TYPE,
		    "the body must be application/json");
	if ((rc = nv_req_body(req, &body, &len)) != NV_OK)
		return rc;
	if (len == 0)
		return nv_req_fail(req, NV_ERR_BAD_REQUEST,
		    "a JSON body is required");
	return nv_json_parse(req->arena, &req->diag, body, len, out);
}

char *
nv_http_error_body(struct nv_arena *a, enum nv_err code,
    const struct nv_diag *d, const char *request_id, size_t *len)
{
	cJSON *root, *err, *details, *det;
	const char *msg;
	char *out, *p;
	size_t i;

	msg = d != NULL && d->msg[0] != '\0' ? d->msg : nv_err_str(code);
	root = cJSON_CreateObject();
	err = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(err, "code", nv_err_str(code));
	cJSON_AddStringToObject(err, "message", msg);
	details = cJSON_AddArrayToObject(err, "details");
	for (i = 0; d != NULL && i < d->ndetails; i++) {
		det = cJSON_CreateObject();
		cJSON_AddStringToObject(det, "field", d->details[i].field);
		cJSON_AddStringToObject(det, "issue", d->details[i].issue);
		cJSON_AddItemToArray(details, det);
	}
	cJSON_AddStringToObject(root, "request_id", request_id);
	p = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (p == NULL) {
		nv_log_error("out of memory rendering an error");
		abort();
	}
	out = nv_arena_strdup(a, p);
	cJSON_free(p);
	*len = strlen(out);
	return out;
}

int
nv_http_match(struct nv_arena *a, const char *pattern, const char *path,
    const char **names, const char **values, size_t *n)
{
	const char *p = pattern, *s = path, *close, *end;

	*n = 0;
	while (*p != '\0') {
		if (*p == '{') {
			close = strchr(p, '}');
			if (close == NULL)
				return 0;
			end = strchr(s, '/');
			if (end == NULL)
				end = s + strlen(s);
			if (end == s || *n >= NV_HTTP_MAX_PARAMS)
				return 0;
			names[*n] = nv_arena_strndup(a, p + 1,
			    (size_t)(close - p - 1));
			values[*n] = nv_arena_strndup(a, s, (size_t)(end - s));
			(*n)++;
			p = close + 1;
			s = end;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

static void
http_request_id(struct nv_req *req)
{
	unsigned char raw[16];
	char *hex;
	size_t i;

	req->request_id = nv_req_env(req, "REQUEST_ID");
	if (req->request_id != NULL && *req->request_id != '\0' &&
	    strlen(req->request_id) <= 64 &&
	    strspn(req->request_id, "0123456789abcdefABCDEF-") ==
	    strlen(req->request_id))
		return;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	hex = nv_arena_alloc(req->arena, sizeof(raw) * 2 + 1);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + i * 2, 3, "%02x", raw[i]);
	req->request_id = hex;
}

static enum nv_err
http_route(struct nv_req *req, const struct nv_route *routes)
{
	const struct nv_route *rt;
	const char *names[NV_HTTP_MAX_PARAMS], *values[NV_HTTP_MAX_PARAMS];
	char *allow = NULL;
	size_t n, i;
	int method_ok;

	for (rt = routes; rt->method != NULL; rt++) {
		if (!nv_http_match(req->arena, rt->pattern, req->path, names,
		    values, &n))
			continue;
		method_ok = strcmp(rt->method, req->method) == 0 ||
		    (strcmp(rt->method, "GET") == 0 &&
		    strcmp(req->method, "HEAD") == 0);
		if (!method_ok) {
			allow = nv_arena_printf(req->arena, "%s%s%s",
			    allow != NULL ? allow : "", allow != NULL ? ", " : "",
			    rt->method);
			continue;
		}
		req->route = rt->pattern;
		for (i = 0; i < n; i++) {
			req->param_names[i] = names[i];
			req->param_values[i] = values[i];
		}
		req->nparams = n;
		req->rt = rt;
		if (rt->roles != NV_ROUTE_PUBLIC) {
			if (http_runner == NULL) {
				nv_log_error("route %s needs authentication but "
				    "the binary serves no authenticated routes",
				    rt->pattern);
				return NV_ERR_INTERNAL;
			}
			return http_runner(req);
		}
		return rt->handler(req);
	}
	if (allow != NULL) {
		nv_req_header(req, "Allow", allow);
		return nv_req_fail(req, NV_ERR_METHOD,
		    "method %s is not allowed here; allowed: %s", req->method,
		    allow);
	}
	return nv_req_fail(req, NV_ERR_NOT_FOUND, "no such endpoint");
}

static double
http_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
http_handle(struct nv_req *req, const struct nv_route *routes)
{
	const char *uri, *q;
	enum nv_err rc;
	char *body;
	size_t len;

	req->method = nv_req_env(req, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	uri = nv_req_env(req, "DOCUMENT_URI");
	if (uri == NULL)
		uri = nv_req_env(req, "SCRIPT_NAME");
	if (uri == NULL)
		uri = "/";
	q = nv_req_env(req, "QUERY_STRING");
	req->path = uri;
	req->query = q != NULL ? q : "";
	http_request_id(req);
	nv_log_set_request(req->request_id, NULL, req->path);

	rc = http_route(req, routes);
	if (rc != NV_OK || req->status == 0)
		req->ctype = NULL;	/* errors are always JSON */
	if (rc != NV_OK) {
		/* An error replaces whatever a handler had set. */
		if (rc == NV_ERR_INTERNAL)
			nv_diag_reset(&req->diag);
		body = nv_http_error_body(req->arena, rc, &req->diag,
		    req->request_id, &len);
		nv_req_json(req, nv_err_status(rc), body, len);
	} else if (req->status == 0) {
		nv_log_error("handler returned ok without a response");
		nv_diag_reset(&req->diag);
		body = nv_http_error_body(req->arena, NV_ERR_INTERNAL,
		    &req->diag, req->request_id, &len);
		nv_req_json(req, 500, body, len);
	}
	http_write(req);
}

int
nv_http_serve(const char *prog, const struct nv_route *routes)
{
	FCGX_Request fcgx;
	struct nv_req req;
	struct nv_arena *arena;
	struct sigaction sa;
	struct timespec t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = http_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* NORVALT_PRINT_ROUTES=1: list the route table (OpenAPI test). */
	if (getenv("NORVALT_PRINT_ROUTES") != NULL) {
		const struct nv_route *rt;

		for (rt = routes; rt->method != NULL; rt++)
			printf("%s %s %s\n", rt->method, rt->pattern,
			    rt->roles == NV_ROUTE_PUBLIC ? "public" : "auth");
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		fprintf(stderr, "%s: cannot initialise FastCGI\n", prog);
		return 1;
	}
	/*
	 * Keep freed memory for the next request: with glibc's defaults a
	 * list request grew the heap with brk() and gave it back three
	 * times over (a 45 KB result, the page, the body), and pages beyond
	 * 128 KB were mmap()ed afresh -- page faults on every request.  What
	 * a worker keeps is its largest request's worth.
	 */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	arena = nv_arena_new();
	nv_log_info("%s started, pid %ld", prog, (long)getpid());

	while (!http_stop && FCGX_Accept_r(&fcgx) >= 0) {
		http_busy = 1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		nv_arena_reset(arena);
		memset(&req, 0, sizeof(req));
		req.arena = arena;
		req.fcgx = &fcgx;
		http_handle(&req, routes);
		nv_log_set_request(req.request_id, req.tenant,
		    nv_arena_printf(arena, "%s %s", req.method,
		    req.route != NULL ? req.route : req.path));
		nv_log_access(req.status, http_ms_since(&t0));
		nv_log_clear_request();
		FCGX_Finish_r(&fcgx);
		http_busy = 0;
	}
	nv_arena_free(arena);
	nv_db_close();
	nv_log_info("%s stopping", prog);
	return 0;
}
