/*
 * servers.c - starting and reading the loopback servers (see servers.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "servers.h"
#include "testutil.h"

#define SRV_MAX			32
#define SRV_START_TIMEOUT_MS	10000

/* Every server started and not yet stopped, for the atexit sweep. */
static struct {
	pid_t	pid;
	pid_t	owner;
} srv_live[SRV_MAX];
static int srv_atexit_done;

static long
srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* SIGTERM, then SIGKILL when it has not gone within 5 s; reaps it. */
static void
srv_kill(pid_t pid)
{
	long until = srv_now_ms() + 5000;
	struct timespec ts = { 0, 20 * 1000000L };
	pid_t r;

	kill(pid, SIGTERM);
	for (;;) {
		r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (srv_now_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		nanosleep(&ts, NULL);
	}
}

static void
srv_sweep(void)
{
	int i;

	for (i = 0; i < SRV_MAX; i++)
		if (srv_live[i].pid > 0 && srv_live[i].owner == getpid()) {
			srv_kill(srv_live[i].pid);
			srv_live[i].pid = 0;
		}
}

static void
srv_track(pid_t pid, int on)
{
	int i;

	if (!srv_atexit_done) {
		atexit(srv_sweep);
		srv_atexit_done = 1;
	}
	for (i = 0; i < SRV_MAX; i++) {
		if (on && srv_live[i].pid == 0) {
			srv_live[i].pid = pid;
			srv_live[i].owner = getpid();
			return;
		}
		if (!on && srv_live[i].pid == pid) {
			srv_live[i].pid = 0;
			return;
		}
	}
	ck_assert_msg(!on, "more than %d test servers at once", SRV_MAX);
}

static const char *
srv_python(void)
{
	const char *p = getenv("NV_PYTHON");

	if (p != NULL && *p != '\0')
		return p;
	/* Debian's interpreter: the one python3-aiosmtpd installs into. */
	if (access("/usr/bin/python3", X_OK) == 0)
		return "/usr/bin/python3";
	return "python3";
}

static const char *
srv_root(void)
{
	const char *r = getenv("NV_ROOT");

	return r != NULL && *r != '\0' ? r : ".";
}

/*
 * Fork and exec python on tests/servers/script with argv tail, stdout to
 * a pipe (for "PORT n"), stderr to s->dir/stderr.log; wait for the port.
 */
static void
srv_start(struct nv_test_server *s, const char *script,
    const char *const *tail)
{
	char path[512], errlog[NV_TEST_SERVER_DIR_MAX + 16], line[64];
	const char *argv[24];
	size_t len = 0;
	long deadline;
	struct pollfd pfd;
	pid_t parent = getpid();
	int fds[2], fd, n = 0, i, r;
	char *out;

	snprintf(path, sizeof(path), "%s/tests/servers/%s", srv_root(), script);
	argv[n++] = srv_python();
	argv[n++] = path;
	for (i = 0; tail != NULL && tail[i] != NULL && n < 23; i++)
		argv[n++] = tail[i];
	argv[n] = NULL;
	snprintf(errlog, sizeof(errlog), "%s/stderr.log", s->dir);
	ck_assert_int_eq(pipe(fds), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		/* Die with the test process, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fds[1]);
	s->owner = parent;
	srv_track(s->pid, 1);
	deadline = srv_now_ms() + SRV_START_TIMEOUT_MS;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (len + 1 < sizeof(line) && memchr(line, '\n', len) == NULL) {
		long left = deadline - srv_now_ms();

		if (left <= 0)
			break;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		r = (int)read(fds[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	line[len] = '\0';
	s->port = 0;
	if (sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0) {
		out = nv_test_read_file(errlog, NULL);
		nv_test_server_stop(s);
		ck_abort_msg("%s did not report its port (got \"%s\"): %s",
		    script, line, out != NULL ? out : "(no stderr)");
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

static void
srv_mkdir(struct nv_test_server *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/nv-test-srv-XXXXXX");
	ck_assert_msg(mkdtemp(s->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(s->log, sizeof(s->log), "%s/requests.log", s->dir);
}

void
nv_test_smtp_start(struct nv_test_server *s, const char *const *args)
{
	const char *tail[20];
	char maildir[NV_TEST_SERVER_DIR_MAX + 8];
	int n = 0, i;

	srv_mkdir(s);
	snprintf(maildir, sizeof(maildir), "%s/mail", s->dir);
	tail[n++] = maildir;
	for (i = 0; args != NULL && args[i] != NULL && n < 19; i++)
		tail[n++] = args[i];
	tail[n] = NULL;
	srv_start(s, "smtp_sink.py", tail);
}

void
nv_test_provider_start(struct nv_test_server *s, const char *sid,
    const char *token)
{
	const char *tail[6];

	srv_mkdir(s);
	tail[0] = s->log;
	tail[1] = "--twilio-sid";
	tail[2] = sid;
	tail[3] = "--twilio-token";
	tail[4] = token;
	tail[5] = NULL;
	srv_start(s, "fake_provider.py", tail);
}

void
nv_test_server_stop(struct nv_test_server *s)
{
	char *out = NULL;

	if (s->pid > 0 && s->owner == getpid()) {
		srv_kill(s->pid);
		srv_track(s->pid, 0);
	}
	s->pid = 0;
	if (s->dir[0] != '\0' && strncmp(s->dir, "/tmp/nv-test-srv-", 17) == 0) {
		nv_test_run(&out, "rm -rf '%s'", s->dir);
		free(out);
	}
	s->dir[0] = '\0';
}

static size_t
srv_discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

void
nv_test_provider_script(const struct nv_test_server *s, const char *json)
{
	char url[128];
	long status = 0;
	CURLcode cc;
	CURL *c;

	snprintf(url, sizeof(url), "%s/_control", s->url);
	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, srv_discard);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	ck_assert_msg(cc == CURLE_OK && status == 200,
	    "scripting the fake provider failed: %s, HTTP %ld",
	    curl_easy_strerror(cc), status);
}

cJSON *
nv_test_provider_requests(const struct nv_test_server *s)
{
	cJSON *arr, *j;
	char *text, *p, *nl;

	arr = cJSON_CreateArray();
	ck_assert_ptr_nonnull(arr);
	text = nv_test_read_file(s->log, NULL);
	if (text == NULL)
		return arr;
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;	/* a line still being written */
		*nl = '\0';
		j = cJSON_Parse(p);
		ck_assert_msg(j != NULL, "bad request log line: %s", p);
		cJSON_AddItemToArray(arr, j);
	}
	free(text);
	return arr;
}

void
nv_test_smtp_script(const struct nv_test_server *s, const char *codes)
{
	char tmp[NV_TEST_SERVER_DIR_MAX + 32], path[NV_TEST_SERVER_DIR_MAX + 32];
	FILE *f;

	/* Written aside and renamed: the sink never reads half a file. */
	snprintf(tmp, sizeof(tmp), "%s/mail/control.tmp", s->dir);
	snprintf(path, sizeof(path), "%s/mail/control", s->dir);
	f = fopen(tmp, "w");
	ck_assert_msg(f != NULL, "cannot write %s", tmp);
	fprintf(f, "%s\n", codes);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

size_t
nv_test_smtp_count(const struct nv_test_server *s)
{
	char path[NV_TEST_SERVER_DIR_MAX + 32];
	struct stat st;
	size_t n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "%s/mail/%04zu.eml", s->dir, n + 1);
		if (stat(path, &st) != 0)
			return n;
		n++;
	}
}

char *
nv_test_smtp_message(const struct nv_test_server *s, size_t i, size_t *len)
{
	char path[NV_TEST_SERVER_DIR_MAX + 32];
	char *p;

	snprintf(path, sizeof(path), "%s/mail/%04zu.eml", s->dir, i);
	p = nv_test_read_file(path, len);
	ck_assert_msg(p != NULL, "no message %zu in %s", i, s->dir);
	return p;
}

cJSON *
nv_test_smtp_envelope(const struct nv_test_server *s, size_t i)
{
	char path[NV_TEST_SERVER_DIR_MAX + 32];
	cJSON *j;
	char *p;

	snprintf(path, sizeof(path), "%s/mail/%04zu.json", s->dir, i);
	p = nv_test_read_file(path, NULL);
	ck_assert_msg(p != NULL, "no envelope %zu in %s", i, s->dir);
	j = cJSON_Parse(p);
	free(p);
	ck_assert_ptr_nonnull(j);
	return j;
}

char *
nv_test_read_file(const char *path, size_t *len)
{
	size_t n = 0, cap = 0, r;
	char *p = NULL, *q;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			q = realloc(p, cap);
			ck_assert_ptr_nonnull(q);
			p = q;
		}
		r = fread(p + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

int
nv_test_closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}
