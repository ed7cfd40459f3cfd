/*
 * testutil.h - what every Check test binary shares.
 *
 * Each tests/unit/check_MODULE.c and tests/integration/check_NAME.c defines
 * one Suite and ends with NV_TEST_MAIN(suite_fn).  CK_FORK stays on (a
 * crash fails one test, not the binary); CK_FORK=no runs under gdb, and
 * CK_RUN_SUITE / CK_RUN_CASE pick what to run (Check's own variables).
 *
 * Integration tests read the throwaway stack's environment that
 * scripts/test.sh exports (DATABASE_URL, NORVALT_DATABASE_OWNER_URL,
 * NORVALT_BASE_URL, NV_ROOT, NV_BUILD_ROOT, NV_PG_RESTART, NV_STACK_CMD,
 * ...).
 */
#ifndef NV_TESTUTIL_H
#define NV_TESTUTIL_H

#include <stddef.h>

#include <check.h>
#include <libpq-fe.h>

#define NV_TEST_MAIN(suite_fn)						\
int main(void);								\
int									\
main(void)								\
{									\
	SRunner *sr = srunner_create(suite_fn());			\
	int failed;							\
									\
	srunner_run_all(sr, CK_NORMAL);					\
	failed = srunner_ntests_failed(sr);				\
	srunner_free(sr);						\
	return failed == 0 ? 0 : 1;					\
}

/* The environment variable, or a test failure naming it. */
const char *nv_test_env(const char *name);

/* A new connection to url (a conninfo); fails the test on error. */
PGconn *nv_test_connect(const char *url);

/*
 * Run sql with params on c (NULL-terminated params, text).  Returns the
 * result, which the caller PQclears.  Fails the test when the status is not
 * PGRES_COMMAND_OK / PGRES_TUPLES_OK.
 */
PGresult *nv_test_exec(PGconn *c, const char *sql, ...);

/* Like nv_test_exec but returns the SQLSTATE of the error ("" on success). */
const char *nv_test_exec_err(PGconn *c, char state[6], const char *sql, ...);

/* SELECT returning one integer (count(*) etc.). */
long nv_test_count(PGconn *c, const char *sql, ...);

struct nv_test_http {
	long	 status;
	char	*body;		/* NUL-terminated, malloc'd */
	size_t	 len;
	char	*headers;	/* all response headers, malloc'd */
};

/*
 * One HTTP request to NORVALT_BASE_URL + path with libcurl.  body may be
 * NULL; extra_headers is a NULL-terminated list of "Name: value" or NULL.
 */
void nv_test_http(const char *method, const char *path, const char *body,
    size_t body_len, const char *const *extra_headers,
    struct nv_test_http *out);
void nv_test_http_free(struct nv_test_http *r);

/* The value of response header name (case-insensitive), malloc'd, or NULL. */
char *nv_test_http_header(const struct nv_test_http *r, const char *name);

/*
 * Run a shell command; returns its exit status and, when out is not NULL,
 * its combined stdout+stderr (malloc'd).
 */
int nv_test_run(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A Clerk-shaped v2 session token signed RS256 with the dev key of the test
 * stack (NV_ROOT/var/keys/dev_jwt_private.pem), issuer NORVALT_CLERK_ISSUER:
 * sub = user, o.id = org (no o claim when org is NULL), exp = now + ttl.
 * malloc'd; the caller frees it.
 */
char *nv_test_token(const char *user, const char *org, long ttl);

/* "Authorization: Bearer <token>" for user/org, malloc'd. */
char *nv_test_auth_header(const char *user, const char *org);

/*
 * Stop the test stack's PostgreSQL (pg_ctl stop -m fast), and start it
 * again (NV_PG_RESTART); both fail the test when they fail.
 */
void nv_test_pg_stop(void);
void nv_test_pg_start(void);

/*
 * Restart the FastCGI group name (scripts/stack.sh restart-app) with the
 * assignment on top of its environment ("NORVALT_X=" empties X), or as
 * the stack runs it when assignment is NULL.  Fails the test on error.
 */
void nv_test_app_restart(const char *name, const char *assignment);

/* scripts/stack.sh cmd on the test stack (worker-start 1, worker-stop, ...);
 * fails the test when it fails. */
void nv_test_stack(const char *cmd);

/*
 * POST body (len bytes) to /webhooks/<channel>/<dealer> with Content-Type
 * ctype (NULL: no Content-Type of ours) and up to two more headers h1, h2
 * ("Name: value" or NULL).
 */
void nv_test_webhook_post(const char *channel, const char *dealer,
    const char *body, size_t len, const char *ctype, const char *h1,
    const char *h2, struct nv_test_http *out);

/*
 * "X-Norvalt-Signature: sha256=<hex HMAC-SHA256 of body keyed with
 * secret>" into out (n bytes), as a website signing its form posts would.
 */
void nv_test_norvalt_signature(const char *secret, const char *body,
    size_t len, char *out, size_t n);

/* Assert body is SPEC section 6's error shape with this code. */
void nv_test_assert_error(const char *body, const char *code);

#endif /* NV_TESTUTIL_H */
