/*
 * servers.h - the loopback servers of tests/servers/ (smtp_sink.py,
 * fake_provider.py), started from a test binary.
 *
 * nv_test_server_start forks and execs Debian's python3 (NV_PYTHON
 * overrides it: the aiosmtpd module comes from python3-aiosmtpd, which a
 * pyenv or venv python3 first on PATH does not see) on the script with a
 * fresh temporary directory, and waits up to 10 s for its "PORT n" line.
 * The server dies with the process that started it: SIGTERM at exit
 * (atexit, in that process only, not in Check's forked children) and
 * PR_SET_PDEATHSIG when it is killed, so a failing or crashing test leaves
 * nothing behind.
 */
#ifndef NV_TEST_SERVERS_H
#define NV_TEST_SERVERS_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define NV_TEST_SERVER_DIR_MAX	256

struct nv_test_server {
	pid_t	pid;		/* 0 once stopped */
	pid_t	owner;		/* the process that started it */
	int	port;
	char	dir[NV_TEST_SERVER_DIR_MAX];	/* its temporary directory */
	char	log[NV_TEST_SERVER_DIR_MAX + 16];	/* fake_provider's log */
	char	url[64];	/* "http://127.0.0.1:<port>" */
};

/*
 * smtp_sink.py writing into s->dir, with extra arguments args
 * (NULL-terminated, may be NULL), e.g. {"--auth", "u:p", NULL}.
 */
void nv_test_smtp_start(struct nv_test_server *s, const char *const *args);

/* fake_provider.py logging to s->log, with Twilio account sid and token. */
void nv_test_provider_start(struct nv_test_server *s, const char *sid,
    const char *token);

/* SIGTERM, wait (SIGKILL after 5 s), remove the directory.  Idempotent. */
void nv_test_server_stop(struct nv_test_server *s);

/* POST json to the fake provider's /_control; fails the test on error. */
void nv_test_provider_script(const struct nv_test_server *s,
    const char *json);

/*
 * The fake provider's recorded requests, as a JSON array of objects
 * {method, path, headers, body, form}; the caller cJSON_Deletes it.
 */
cJSON *nv_test_provider_requests(const struct nv_test_server *s);

/* Write codes (e.g. "451" or "550 rcpt:550") to the SMTP sink's queue. */
void nv_test_smtp_script(const struct nv_test_server *s, const char *codes);

/* Number of messages the SMTP sink has accepted so far. */
size_t nv_test_smtp_count(const struct nv_test_server *s);

/*
 * Message i (1-based, in order of arrival) of the SMTP sink: the raw
 * message, malloc'd, NUL-terminated, length in *len when len is not NULL.
 */
char *nv_test_smtp_message(const struct nv_test_server *s, size_t i,
    size_t *len);

/* Message i's envelope {mail_from, rcpt_tos, auth_login}; cJSON_Delete. */
cJSON *nv_test_smtp_envelope(const struct nv_test_server *s, size_t i);

/* A whole file, malloc'd and NUL-terminated; NULL when it cannot be read. */
char *nv_test_read_file(const char *path, size_t *len);

/* A loopback port that nothing listens on (bound, then closed). */
int nv_test_closed_port(void);

#endif /* NV_TEST_SERVERS_H */
