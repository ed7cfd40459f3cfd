/*
 * log.h - one key=value line per event on stderr.
 *
 *   ts=2026-11-26T03:04:05.123Z level=info prog=leads req=abc tenant=uuid
 *   route="GET /api/leads" status=200 dur_ms=1.4 msg="..."
 *
 * The logger adds the request fields (set once per request by lib/http);
 * call sites only pass the message.  Never log tokens, secrets, bodies or
 * personal data.
 */
#ifndef NV_LOG_H
#define NV_LOG_H

enum nv_log_level {
	NV_LOG_DEBUG = 0,
	NV_LOG_INFO,
	NV_LOG_WARN,
	NV_LOG_ERROR
};

/* Program name for the prog= field; level threshold. */
void nv_log_init(const char *prog, enum nv_log_level min);

/* Parse "debug" | "info" | "warn" | "error"; returns -1 when unknown. */
int nv_log_level_parse(const char *s);

/*
 * Request fields added to every line until cleared.  The strings must stay
 * valid until the next call (they normally live in the request arena).
 * Any of them may be NULL.
 */
void nv_log_set_request(const char *req, const char *tenant, const char *route);
void nv_log_clear_request(void);

void nv_log(enum nv_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The per-request access line: status and duration in milliseconds. */
void nv_log_access(int status, double dur_ms);

#define nv_log_debug(...)	nv_log(NV_LOG_DEBUG, __VA_ARGS__)
#define nv_log_info(...)	nv_log(NV_LOG_INFO, __VA_ARGS__)
#define nv_log_warn(...)	nv_log(NV_LOG_WARN, __VA_ARGS__)
#define nv_log_error(...)	nv_log(NV_LOG_ERROR, __VA_ARGS__)

#endif /* NV_LOG_H */
