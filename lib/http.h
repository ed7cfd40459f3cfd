/*
 * http.h - the FastCGI request loop, routing, and the one place that writes
 * responses and JSON errors.
 *
 * A binary declares a NULL-terminated route table of static handlers and
 * calls nv_http_serve() from main.  For each request the loop resets the
 * arena, routes by method and path ("/api/leads/{id}" captures one segment),
 * calls the handler, and logs one access line.  Handlers either write a
 * response with nv_req_json() or return an error code, usually via
 * nv_req_fail(); then this module writes SPEC section 6's error shape:
 *
 *   {"error": {"code": "...", "message": "...", "details": [...]},
 *    "request_id": "..."}
 *
 * An unknown path is 404; a known path with another method is 405 with
 * Allow.  Every response carries X-Request-Id, taken from nginx's
 * $request_id (fastcgi_param REQUEST_ID) or made up when absent.
 */
#ifndef NV_HTTP_H
#define NV_HTTP_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

#define NV_HTTP_MAX_PARAMS	4
#define NV_HTTP_BODY_MAX	(1024 * 1024)

struct nv_req;

typedef enum nv_err (*nv_handler)(struct nv_req *req);

struct nv_route {
	const char	*method;	/* "GET", "POST", ... */
	const char	*pattern;	/* "/api/leads/{id}" */
	nv_handler	 handler;
};

struct nv_req {
	struct nv_arena	*arena;		/* reset before each request */
	struct nv_diag	 diag;		/* filled by nv_req_fail and lib calls */
	const char	*method;
	const char	*path;		/* without the query string */
	const char	*query;		/* "" when absent */
	const char	*request_id;
	const char	*route;		/* the matched pattern, for logs */
	const char	*tenant;	/* dealership id once known, for logs */
	const char	*param_names[NV_HTTP_MAX_PARAMS];
	const char	*param_values[NV_HTTP_MAX_PARAMS];
	size_t		 nparams;
	void		*fcgx;		/* FCGX_Request * */
	char		*headers;	/* extra response headers, CRLF lines */
	int		 status;	/* response status once written */
};

/*
 * Serve FastCGI requests on stdin (spawn-fcgi's socket) until SIGTERM or
 * SIGINT; a request in progress is finished first.  prog names the binary
 * in logs.  Returns the process exit status.
 */
int nv_http_serve(const char *prog, const struct nv_route *routes);

/* A CGI/FastCGI parameter ("HTTP_AUTHORIZATION", "CONTENT_TYPE"), or NULL. */
const char *nv_req_env(struct nv_req *req, const char *name);

/* A captured path parameter by name ("id"), or NULL. */
const char *nv_req_param(struct nv_req *req, const char *name);

/* Add a response header (copied into the arena). */
void nv_req_header(struct nv_req *req, const char *name, const char *value);

/*
 * Write a JSON response: status line, Content-Type, X-Request-Id, the
 * headers added so far, and body[0..len).  Returns NV_OK (a write failure
 * means the client went away; it is logged, not reported).
 */
enum nv_err nv_req_json(struct nv_req *req, int status, const char *body,
    size_t len);

/* Record an error message on the request; returns code for `return`. */
enum nv_err nv_req_fail(struct nv_req *req, enum nv_err code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Render SPEC section 6's error body for code and diagnostic d into the
 * arena (used by nv_http_serve; exposed for tests).
 */
char *nv_http_error_body(struct nv_arena *a, enum nv_err code,
    const struct nv_diag *d, const char *request_id, size_t *len);

/*
 * Match path against pattern; on success fill names/values (at most
 * NV_HTTP_MAX_PARAMS, values in a) and return 1.  Exposed for unit tests.
 */
int nv_http_match(struct nv_arena *a, const char *pattern, const char *path,
    const char **names, const char **values, size_t *n);

#endif /* NV_HTTP_H */
