/*
 * log.c - key=value logging to stderr; see log.h.
 *
 * Each line is formatted into one buffer and written with a single write(2)
 * so lines from the worker processes of one binary do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "norvalt";
static enum nv_log_level log_min = NV_LOG_INFO;
static const char *log_req, *log_tenant, *log_route;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void
nv_log_init(const char *prog, enum nv_log_level min)
{
	if (prog != NULL)
		log_prog = prog;
	log_min = min;
}

int
nv_log_level_parse(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
nv_log_set_request(const char *req, const char *tenant, const char *route)
{
	log_req = req;
	log_tenant = tenant;
	log_route = route;
}

void
nv_log_clear_request(void)
{
	log_req = log_tenant = log_route = NULL;
}

/* Append to buf at *off, never past cap; keeps the buffer NUL-terminated. */
static void
log_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
log_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*off += (size_t)n < cap - *off ? (size_t)n : cap - *off - 1;
}

/* Quote a message: escape quotes, backslashes and control characters. */
static void
log_quote(char *buf, size_t cap, size_t *off, const char *s)
{
	log_append(buf, cap, off, "\"");
	for (; *s != '\0' && *off < cap - 8; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			log_append(buf, cap, off, "\\%c", c);
		else if (c == '\n')
			log_append(buf, cap, off, "\\n");
		else if (c < 0x20 || c == 0x7f)
			log_append(buf, cap, off, "\\x%02x", c);
		else
			buf[(*off)++] = (char)c;
	}
	buf[*off] = '\0';
	log_append(buf, cap, off, "\"");
}

static size_t
log_prefix(char *buf, size_t cap, enum nv_log_level level)
{
	struct timespec ts;
	struct tm tm;
	size_t off = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	log_append(buf, cap, &off,
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_names[level],
	    log_prog);
	if (log_req != NULL)
		log_append(buf, cap, &off, " req=%s", log_req);
	if (log_tenant != NULL)
		log_append(buf, cap, &off, " tenant=%s", log_tenant);
	if (log_route != NULL) {
		log_append(buf, cap, &off, " route=");
		log_quote(buf, cap, &off, log_route);
	}
	return off;
}

static void
log_write(char *buf, size_t cap, size_t off)
{
	ssize_t n;
	size_t done = 0;

	if (off >= cap - 1)
		off = cap - 2;
	buf[off++] = '\n';
	while (done < off) {
		n = write(STDERR_FILENO, buf + done, off - done);
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

void
nv_log(enum nv_log_level level, const char *fmt, ...)
{
	char buf[2048], msg[1024];
	va_list ap;
	size_t off;

	if (level < log_min || level > NV_LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	off = log_prefix(buf, sizeof(buf), level);
	log_append(buf, sizeof(buf), &off, " msg=");
	log_quote(buf, sizeof(buf), &off, msg);
	log_write(buf, sizeof(buf), off);
}

void
nv_log_access(int status, double dur_ms)
{
	char buf[1024];
	size_t off;

	if (NV_LOG_INFO < log_min)
		return;
	off = log_prefix(buf, sizeof(buf), NV_LOG_INFO);
	log_append(buf, sizeof(buf), &off, " status=%d dur_ms=%.2f", status,
	    dur_ms);
	log_write(buf, sizeof(buf), off);
}
