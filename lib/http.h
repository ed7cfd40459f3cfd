/*
 * http.h - the FastCGI request loop, routing, and the one place that writes
 * responses and JSON errors.
 *
 * A binary declares a NULL-terminated route table of static handlers and
 * calls nv_http_serve() from main.  For each request the loop resets the
 * arena, routes by method and path ("/api/leads/{id}" captures one segment),
 * calls the handler, and logs one access line.  Handlers either set a
 * response with nv_req_json() or return an error code, usually via
 * nv_req_fail(); then this module writes SPEC section 6's error shape:
 *
 *   {"error": {"code": "...", "message": "...", "details": [...]},
 *    "request_id": "..."}
 *
 * An unknown path is 404; a known path with another method is 405 with
 * Allow.  Every response carries X-Request-Id, taken from nginx's
 * $request_id (fastcgi_param REQUEST_ID) or made up when absent.
 *
 * Responses are buffered: nv_req_json() only records status and body, and
 * the loop writes them after the handler returned.  A route with roles runs
 * inside the request's transaction (lib/api.c), so a 2xx is only ever sent
 * after COMMIT succeeded.
 */
#ifndef NV_HTTP_H
#define NV_HTTP_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

struct cJSON;

#define NV_HTTP_MAX_PARAMS	4
#define NV_HTTP_BODY_MAX	(1024 * 1024)

struct nv_req;

typedef enum nv_err (*nv_handler)(struct nv_req *req);

/* Who may call a route: 0 is public; otherwise a mask of roles. */
#define NV_ROUTE_PUBLIC		0u
#define NV_ROUTE_SALES_REP	0x1u
#define NV_ROUTE_MANAGER	0x2u
#define NV_ROUTE_ADMIN		0x4u
#define NV_ROUTE_STAFF		(NV_ROUTE_SALES_REP | NV_ROUTE_MANAGER | \
				 NV_ROUTE_ADMIN)
#define NV_ROUTE_MANAGERS	(NV_ROUTE_MANAGER | NV_ROUTE_ADMIN)
/*
 * Not a role: the handler reads with exactly one statement (or none) and
 * writes nothing, so lib/api.c lets COMMIT go out with that statement
 * (nv_db_commit_next) -- with a cached caller the request is one round
 * trip.  A second statement fails the request (500), which the tests of
 * such a route would show at once.
 */
#define NV_ROUTE_READ1		0x100u

struct nv_route {
	const char	*method;	/* "GET", "POST", ... */
	const char	*pattern;	/* "/api/leads/{id}" */
	nv_handler	 handler;
	unsigned	 roles;		/* NV_ROUTE_PUBLIC or a role mask */
};

#define NV_QUERY_MAX	16

struct nv_principal;

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
	int		 status;	/* response status once set */
	const char	*body;		/* response body once set */
	size_t		 body_len;
	const char	*qnames[NV_QUERY_MAX];	/* after nv_req_query_parse */
	const char	*qvalues[NV_QUERY_MAX];
	size_t		 nq;
	const struct nv_principal *auth;/* the caller, on routes with roles */
	const struct nv_route *rt;	/* the matched route */
	const char	*ctype;		/* response Content-Type; NULL: JSON */
};

/*
 * Serve FastCGI requests on stdin (spawn-fcgi's socket) until SIGTERM or
 * SIGINT; a request in progress is finished first.  prog names the binary
 * in logs.  Returns the process exit status.
 */
int nv_http_serve(const char *prog, const struct nv_route *routes);

/*
 * Routes with roles are run by this function instead of their handler
 * (lib/api.c sets it: authentication, the transaction, the role check).
 */
void nv_http_set_runner(nv_handler runner);

/* A CGI/FastCGI parameter ("HTTP_AUTHORIZATION", "CONTENT_TYPE"), or NULL. */
const char *nv_req_env(struct nv_req *req, const char *name);

/* A captured path parameter by name ("id"), or NULL. */
const char *nv_req_param(struct nv_req *req, const char *name);

/* Add a response header (copied into the arena). */
void nv_req_header(struct nv_req *req, const char *name, const char *value);

/*
 * Set the JSON response: status and body[0..len) (kept by reference: it
 * must live in the arena or be static).  Written with Content-Type,
 * X-Request-Id and the headers added so far once the handler (and its
 * transaction) finished.  Returns NV_OK.
 */
enum nv_err nv_req_json(struct nv_req *req, int status, const char *body,
    size_t len);

/*
 * Like nv_req_json for a body that is not JSON (TwiML): ctype is the
 * Content-Type, static or in the arena, one header value (no CR/LF).
 * Errors returned afterwards still replace it with a JSON error.
 */
enum nv_err nv_req_body_set(struct nv_req *req, int status,
    const char *ctype, const char *body, size_t len);

/*
 * 1 when the request's Content-Type has the media type type (case
 * insensitive, parameters such as charset ignored), else 0.
 */
int nv_req_ctype_is(struct nv_req *req, const char *type);

/*
 * 201 Created with body (a JSON object that has an "id") and a Location
 * header of collection + "/" + that id, e.g. "/api/leads/<uuid>".
 */
enum nv_err nv_req_created(struct nv_req *req, const char *collection,
    const char *body);

/*
 * Parse the query string strictly: every name must be in allowed
 * (NULL-terminated), none twice, percent-encoding valid, at most
 * NV_QUERY_MAX.  NV_ERR_BAD_REQUEST naming the parameter otherwise.
 */
enum nv_err nv_req_query_parse(struct nv_req *req, const char *const *allowed);

/* A parsed query parameter's decoded value, or NULL when absent. */
const char *nv_req_query(struct nv_req *req, const char *name);

/*
 * An integer query parameter in [min, max]; def when absent.
 * NV_ERR_BAD_REQUEST naming it when not an integer or out of range.
 */
enum nv_err nv_req_query_int(struct nv_req *req, const char *name, long min,
    long max, long def, long *out);

/*
 * Read the request body (at most NV_HTTP_BODY_MAX bytes: larger is
 * NV_ERR_TOO_LARGE).  *body is NUL-terminated, in the arena.
 */
enum nv_err nv_req_body(struct nv_req *req, const char **body, size_t *len);

/*
 * Read and parse a JSON body: Content-Type must be application/json
 * (NV_ERR_MEDIA_TYPE), the body valid JSON (NV_ERR_BAD_REQUEST).
 * The tree is freed with the arena.
 */
enum nv_err nv_req_json_body(struct nv_req *req, struct cJSON **out);

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
