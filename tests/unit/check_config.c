/*
 * check_config.c - unit tests for lib/config.c: defaults, the environment,
 * the .env file (NORVALT_ENV_FILE) and validation of every value type.
 *
 * Each test runs in its own forked process (CK_FORK), so setenv, chdir and
 * the module's static table never leak into the next test.  The checked
 * fixture still unsets every variable first, so an exported NORVALT_* in
 * the developer's shell cannot change the results, and empties the .env.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testutil.h"
#include "config.h"

static Suite *config_suite(void);

/*
 * The temporary .env is made and removed by the unchecked fixture, which
 * runs in the parent: a test process that dies or exits early (the exit
 * test) cannot leave it behind in /tmp.
 */
static char env_path[] = "/tmp/nv_check_config_XXXXXX";
static int env_made;

static void config_write_env(const char *text);

static void
config_file_setup(void)
{
	int fd;

	memcpy(env_path + sizeof(env_path) - 7, "XXXXXX", 6);
	fd = mkstemp(env_path);
	ck_assert_msg(fd >= 0, "mkstemp failed");
	close(fd);
	env_made = 1;
}

static void
config_file_teardown(void)
{
	if (env_made)
		unlink(env_path);
	env_made = 0;
}

static void
config_setup(void)
{
	size_t i;

	for (i = 0; i < NV_CFG__COUNT; i++)
		unsetenv(nv_config_name((enum nv_cfg)i));
	setenv("NORVALT_ENV_FILE", env_path, 1);
	config_write_env("");
}

/* Replace the .env file's content. */
static void
config_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
}

static void
config_write_env(const char *text)
{
	config_write_file(env_path, text);
}

/* Load and expect NV_ERR_CONFIG with a message starting with prefix. */
static void
config_load_fails(const char *prefix, struct nv_diag *d)
{
	enum nv_err rc;

	nv_diag_reset(d);
	rc = nv_config_load(d);
	ck_assert_msg(rc == NV_ERR_CONFIG,
	    "load gave %d, expected config error",
	    (int)rc);
	ck_assert_msg(strncmp(d->msg, prefix, strlen(prefix)) == 0,
	    "message \"%s\" does not start with \"%s\"", d->msg, prefix);
}

static void
config_load_ok(void)
{
	struct nv_diag d;
	enum nv_err rc;

	nv_diag_reset(&d);
	rc = nv_config_load(&d);
	ck_assert_msg(rc == NV_OK, "load failed: %s", d.msg);
}

/*
 * Run nv_config_init(required) in a child with stderr going to a file.
 * Returns the exit status (-1 if it did not exit) and what it printed.
 */
static int
config_init_child(const enum nv_cfg *required, size_t n, char *out, size_t cap)
{
	char path[] = "/tmp/nv_check_config_err_XXXXXX";
	size_t len;
	pid_t pid;
	FILE *f;
	int fd, st;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, STDERR_FILENO);
		nv_config_init("check_config", required, n);
		_exit(0);
	}
	close(fd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	len = fread(out, 1, cap - 1, f);
	out[len] = '\0';
	fclose(f);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Count '\n' in s. */
static size_t
config_nlines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* core */

START_TEST(test_defaults)
{
	config_write_env("");
	config_load_ok();
	ck_assert_str_eq(nv_config_str(NV_CFG_PORT), "8080");
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 8080);
	ck_assert_str_eq(nv_config_str(NV_CFG_ENV), "development");
	ck_assert_str_eq(nv_config_str(NV_CFG_LOG_LEVEL), "info");
	ck_assert_int_eq(nv_config_int(NV_CFG_PROCS), 2);
	ck_assert_int_eq(nv_config_int(NV_CFG_DB_STATEMENT_TIMEOUT_MS), 5000);
	ck_assert_ptr_null(nv_config_str(NV_CFG_DATABASE_URL));
	ck_assert_ptr_null(nv_config_str(NV_CFG_CLERK_JWT_KEY_FILE));
	ck_assert_int_eq(nv_config_require(NV_CFG_PORT, NULL), NV_OK);
}
END_TEST

START_TEST(test_environment)
{
	config_write_env("");
	setenv("NORVALT_PORT", "9090", 1);
	setenv("NORVALT_ENV", "production", 1);
	setenv("NORVALT_LOG_LEVEL", "warn", 1);
	setenv("DATABASE_URL", "postgresql://app@localhost/norvalt", 1);
	setenv("NORVALT_BASE_URL", "https://api.norvalt.example", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9090);
	ck_assert_str_eq(nv_config_str(NV_CFG_ENV), "production");
	ck_assert_str_eq(nv_config_str(NV_CFG_LOG_LEVEL), "warn");
	ck_assert_str_eq(nv_config_str(NV_CFG_DATABASE_URL),
	    "postgresql://app@localhost/norvalt");
	ck_assert_str_eq(nv_config_str(NV_CFG_BASE_URL),
	    "https://api.norvalt.example");
	ck_assert_int_eq(nv_config_require(NV_CFG_DATABASE_URL, NULL), NV_OK);
}
END_TEST

START_TEST(test_dotenv)
{
	config_write_env(
	    "# Norvalt settings\n"
	    "\n"
	    "   # an indented comment with NORVALT_PORT=1\n"
	    "\t\n"
	    "export NORVALT_PORT=9191\n"
	    "NORVALT_ENV='test'\n"
	    "NORVALT_LOG_LEVEL=\"debug\"\n"
	    "DATABASE_URL = \"host=localhost dbname=norvalt user=app\"  \n"
	    "NORVALT_CLERK_AUTHORIZED_PARTIES='http://a.example, "
	    "http://b.example'\n"
	    "NORVALT_OUTBOX_DIR=\"/tmp/out box # not a comment\"\n"
	    "NORVALT_MIGRATIONS_DIR=/srv/sql=migrations\n");
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9191);
	ck_assert_str_eq(nv_config_str(NV_CFG_ENV), "test");
	ck_assert_str_eq(nv_config_str(NV_CFG_LOG_LEVEL), "debug");
	ck_assert_str_eq(nv_config_str(NV_CFG_DATABASE_URL),
	    "host=localhost dbname=norvalt user=app");
	ck_assert_str_eq(nv_config_str(NV_CFG_CLERK_AUTHORIZED_PARTIES),
	    "http://a.example, http://b.example");
	ck_assert_str_eq(nv_config_str(NV_CFG_OUTBOX_DIR),
	    "/tmp/out box # not a comment");
	ck_assert_str_eq(nv_config_str(NV_CFG_MIGRATIONS_DIR),
	    "/srv/sql=migrations");
}
END_TEST

START_TEST(test_environment_wins)
{
	config_write_env("NORVALT_PORT=9191\nNORVALT_ENV=test\n");
	setenv("NORVALT_PORT", "9292", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9292);
	/* The .env value still applies where the environment is silent. */
	ck_assert_str_eq(nv_config_str(NV_CFG_ENV), "test");
}
END_TEST

START_TEST(test_unknown_keys_ignored)
{
	config_write_env("NV_PROFILE=run\n"
	    "NORVALT_SOMETHING_NEW=this is not checked\n"
	    "PGPASSWORD=\n"
	    "export PATH_EXTRA='/opt/bin'\n"
	    "NORVALT_PORT=9393\n");
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9393);
}
END_TEST

/*
 * A variable Norvalt no longer reads (NORVALT_META_FETCH_BUDGET_MS went
 * when the Facebook webhook stopped fetching from Graph) may still sit in
 * someone's .env or environment, with any value: it must not stop the
 * program.
 */
START_TEST(test_removed_keys_ignored)
{
	config_write_env("NORVALT_META_FETCH_BUDGET_MS=2000\n"
	    "NORVALT_PORT=9595\n");
	setenv("NORVALT_META_FETCH_BUDGET_MS", "not a number", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9595);
}
END_TEST

START_TEST(test_dotenv_in_cwd)
{
	char dir[] = "/tmp/nv_check_config_dir_XXXXXX", cwd[PATH_MAX];
	char path[sizeof(dir) + 8];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	unsetenv("NORVALT_ENV_FILE");

	/* No ./.env at all is fine. */
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 8080);

	/* Without NORVALT_ENV_FILE, ./.env is read. */
	snprintf(path, sizeof(path), "%s/.env", dir);
	config_write_file(path, "NORVALT_PORT=9494\n");
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9494);

	unlink(path);
	ck_assert_int_eq(chdir(cwd), 0);
	rmdir(dir);
}
END_TEST

START_TEST(test_reload_starts_over)
{
	config_write_env("");
	setenv("NORVALT_PORT", "9090", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9090);
	unsetenv("NORVALT_PORT");
	config_write_env("NORVALT_LOG_LEVEL=error\n");
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 8080);
	ck_assert_str_eq(nv_config_str(NV_CFG_LOG_LEVEL), "error");
}
END_TEST

START_TEST(test_key_file)
{
	char key[] = "/tmp/nv_check_config_key_XXXXXX";
	int fd;

	fd = mkstemp(key);
	ck_assert_int_ge(fd, 0);
	close(fd);
	config_write_env("");
	setenv("NORVALT_CLERK_JWT_KEY_FILE", key, 1);
	config_load_ok();
	ck_assert_str_eq(nv_config_str(NV_CFG_CLERK_JWT_KEY_FILE), key);
	unlink(key);
}
END_TEST

START_TEST(test_names)
{
	size_t i, j;

	ck_assert_str_eq(nv_config_name(NV_CFG_DATABASE_URL), "DATABASE_URL");
	ck_assert_str_eq(nv_config_name(NV_CFG_PORT), "NORVALT_PORT");
	ck_assert_str_eq(nv_config_name(NV_CFG_ENV), "NORVALT_ENV");
	ck_assert_str_eq(nv_config_name(NV_CFG_LOG_LEVEL),
	    "NORVALT_LOG_LEVEL");
	ck_assert_str_eq(nv_config_name(NV_CFG_BASE_URL), "NORVALT_BASE_URL");
	ck_assert_str_eq(nv_config_name(NV_CFG_CLERK_JWT_KEY_FILE),
	    "NORVALT_CLERK_JWT_KEY_FILE");
	ck_assert_str_eq(nv_config_name(NV_CFG_DATABASE_OWNER_URL),
	    "NORVALT_DATABASE_OWNER_URL");
	/* Every row has its own name, so each is settable on its own. */
	for (i = 0; i < NV_CFG__COUNT; i++) {
		const char *a = nv_config_name((enum nv_cfg)i);

		ck_assert_ptr_nonnull(a);
		ck_assert_msg(strcmp(a, "DATABASE_URL") == 0 ||
		    strncmp(a, "NORVALT_", 8) == 0, "odd name %s", a);
		for (j = i + 1; j < NV_CFG__COUNT; j++)
			ck_assert_str_ne(a, nv_config_name((enum nv_cfg)j));
	}
}
END_TEST

START_TEST(test_init_ok)
{
	static const enum nv_cfg req[] = { NV_CFG_DATABASE_URL, NV_CFG_PORT };
	char out[512];

	config_write_env("DATABASE_URL=dbname=norvalt\n");
	ck_assert_int_eq(config_init_child(req, 2, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	/* And in this process: init returns, values are loaded. */
	nv_config_init("check_config", req, 2);
	ck_assert_str_eq(nv_config_str(NV_CFG_DATABASE_URL), "dbname=norvalt");
}
END_TEST

/* limits */

START_TEST(test_int_bounds)
{
	struct nv_diag d;

	config_write_env("");
	setenv("NORVALT_PORT", "1", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 1);
	setenv("NORVALT_PORT", "65535", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 65535);
	setenv("NORVALT_PORT", "65536", 1);
	config_load_fails("NORVALT_PORT", &d);

	unsetenv("NORVALT_PORT");
	setenv("NORVALT_PROCS", "64", 1);
	config_load_ok();
	setenv("NORVALT_PROCS", "65", 1);
	config_load_fails("NORVALT_PROCS", &d);

	unsetenv("NORVALT_PROCS");
	setenv("NORVALT_DB_STATEMENT_TIMEOUT_MS", "0", 1);
	config_load_ok();
	ck_assert_int_eq(nv_config_int(NV_CFG_DB_STATEMENT_TIMEOUT_MS), 0);
	setenv("NORVALT_DB_STATEMENT_TIMEOUT_MS", "-1", 1);
	config_load_fails("NORVALT_DB_STATEMENT_TIMEOUT_MS", &d);
	setenv("NORVALT_DB_STATEMENT_TIMEOUT_MS", "99999999999999999999", 1);
	config_load_fails("NORVALT_DB_STATEMENT_TIMEOUT_MS", &d);
}
END_TEST

START_TEST(test_value_length)
{
	static char big[5000];
	struct nv_diag d;

	config_write_env("");
	memset(big, 'x', 4096);
	big[4096] = '\0';
	setenv("NORVALT_CLERK_AUTHORIZED_PARTIES", big, 1);
	config_load_ok();
	ck_assert_uint_eq(strlen(nv_config_str(
	    NV_CFG_CLERK_AUTHORIZED_PARTIES)), 4096);
	memset(big, 'x', 4097);
	big[4097] = '\0';
	setenv("NORVALT_CLERK_AUTHORIZED_PARTIES", big, 1);
	config_load_fails("NORVALT_CLERK_AUTHORIZED_PARTIES", &d);
}
END_TEST

START_TEST(test_dotenv_line_endings)
{
	/* CRLF lines, and a last line without a newline. */
	config_write_env("NORVALT_ENV=test\r\nNORVALT_PORT=9595");
	config_load_ok();
	ck_assert_str_eq(nv_config_str(NV_CFG_ENV), "test");
	ck_assert_int_eq(nv_config_int(NV_CFG_PORT), 9595);
}
END_TEST

START_TEST(test_dotenv_long_line)
{
	static char text[8192];
	char want[600];
	struct nv_diag d;

	memcpy(text, "NORVALT_ENV=test\nNORVALT_OUTBOX_DIR=", 36);
	memset(text + 36, 'x', 6000);
	memcpy(text + 36 + 6000, "\n", 2);
	config_write_env(text);
	snprintf(want, sizeof(want), "%s:2:", env_path);
	config_load_fails(want, &d);
}
END_TEST

/* errors */

START_TEST(test_bad_int)
{
	static const char *const bad[] = { "abc", "0", "70000", "-80", "80 80",
	    "8080x", "", "0x50", "8080 ", NULL };
	struct nv_diag d;
	size_t i;

	config_write_env("");
	for (i = 0; bad[i] != NULL; i++) {
		setenv("NORVALT_PORT", bad[i], 1);
		config_load_fails("NORVALT_PORT", &d);
	}
	/* The same from .env. */
	unsetenv("NORVALT_PORT");
	config_write_env("NORVALT_PORT=abc\n");
	config_load_fails("NORVALT_PORT", &d);
}
END_TEST

START_TEST(test_bad_word)
{
	struct nv_diag d;

	config_write_env("");
	setenv("NORVALT_ENV", "staging", 1);
	config_load_fails("NORVALT_ENV", &d);
	setenv("NORVALT_ENV", "Production", 1);
	config_load_fails("NORVALT_ENV", &d);
	setenv("NORVALT_ENV", "test|production", 1);
	config_load_fails("NORVALT_ENV", &d);
	unsetenv("NORVALT_ENV");
	setenv("NORVALT_LOG_LEVEL", "verbose", 1);
	config_load_fails("NORVALT_LOG_LEVEL", &d);
	setenv("NORVALT_LOG_LEVEL", "INFO", 1);
	config_load_fails("NORVALT_LOG_LEVEL", &d);
	setenv("NORVALT_LOG_LEVEL", "inf", 1);
	config_load_fails("NORVALT_LOG_LEVEL", &d);
}
END_TEST

START_TEST(test_bad_url)
{
	static const char *const bad[] = { "localhost:8080", "ftp://x.example",
	    "http://", "https://", "HTTP//x", "", NULL };
	struct nv_diag d;
	size_t i;

	config_write_env("");
	for (i = 0; bad[i] != NULL; i++) {
		setenv("NORVALT_BASE_URL", bad[i], 1);
		config_load_fails("NORVALT_BASE_URL", &d);
	}
	unsetenv("NORVALT_BASE_URL");
	setenv("NORVALT_CLERK_JWKS_URL", "clerk.example/jwks", 1);
	config_load_fails("NORVALT_CLERK_JWKS_URL", &d);
	unsetenv("NORVALT_CLERK_JWKS_URL");
	/* A mistyped scheme before credentials: named, never echoed. */
	setenv("NORVALT_LLM_URL", "htps://user:sk-hemmelig@llm.example", 1);
	config_load_fails("NORVALT_LLM_URL", &d);
	ck_assert_ptr_null(strstr(d.msg, "hemmelig"));
	unsetenv("NORVALT_LLM_URL");
}
END_TEST

/* The outbound delivery rows: defaults, and what each refuses. */
START_TEST(test_delivery_rows)
{
	static const char *const bad_smtp[] = { "http://mail.example.no",
	    "smtp://", "smtps://", "mail.example.no:587",
	    "smtp//kari:hemmelig@mail.example.no", NULL };
	static const char *const bad_header[] = { "Authorization: Bearer",
	    "api key", "x\r\nInjected", "api-key:", NULL };
	struct nv_diag d;
	size_t i;

	config_write_env("");
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_config_load(&d), NV_OK);
	ck_assert_ptr_null(nv_config_str(NV_CFG_SMTP_URL));
	ck_assert_str_eq(nv_config_str(NV_CFG_SMTP_TLS), "starttls");
	ck_assert_int_eq(nv_config_int(NV_CFG_SMTP_TIMEOUT_MS), 10000);
	ck_assert_str_eq(nv_config_str(NV_CFG_MAIL_FROM),
	    "leads@norvalt.localhost");
	ck_assert_str_eq(nv_config_str(NV_CFG_MAIL_REPLY_DOMAIN),
	    "norvalt.localhost");
	ck_assert_str_eq(nv_config_str(NV_CFG_TWILIO_API_URL),
	    "https://api.twilio.com");
	ck_assert_str_eq(nv_config_str(NV_CFG_LLM_KEY_HEADER), "Authorization");
	ck_assert_str_eq(nv_config_str(NV_CFG_LLM_MODEL), "gpt-4o-mini");
	ck_assert_int_eq(nv_config_int(NV_CFG_LLM_CONNECT_TIMEOUT_MS), 3000);
	ck_assert_int_eq(nv_config_int(NV_CFG_LLM_TIMEOUT_MS), 20000);
	ck_assert_int_eq(nv_config_int(NV_CFG_LLM_RETRIES), 2);
	ck_assert_int_eq(nv_config_int(NV_CFG_LLM_MAX_TOKENS), 400);

	setenv("NORVALT_SMTP_URL", "smtps://mail.example.no:465", 1);
	setenv("NORVALT_LLM_KEY_HEADER", "api-key", 1);
	ck_assert_int_eq(nv_config_load(&d), NV_OK);
	setenv("NORVALT_SMTP_URL", "smtp://127.0.0.1:2525", 1);
	ck_assert_int_eq(nv_config_load(&d), NV_OK);
	for (i = 0; bad_smtp[i] != NULL; i++) {
		setenv("NORVALT_SMTP_URL", bad_smtp[i], 1);
		config_load_fails("NORVALT_SMTP_URL", &d);
		/* A password in a malformed URL is not echoed. */
		ck_assert_ptr_null(strstr(d.msg, "hemmelig"));
	}
	unsetenv("NORVALT_SMTP_URL");
	for (i = 0; bad_header[i] != NULL; i++) {
		setenv("NORVALT_LLM_KEY_HEADER", bad_header[i], 1);
		config_load_fails("NORVALT_LLM_KEY_HEADER", &d);
	}
	unsetenv("NORVALT_LLM_KEY_HEADER");
	setenv("NORVALT_SMTP_TLS", "ssl", 1);
	config_load_fails("NORVALT_SMTP_TLS", &d);
	unsetenv("NORVALT_SMTP_TLS");
	setenv("NORVALT_LLM_RETRIES", "11", 1);
	config_load_fails("NORVALT_LLM_RETRIES", &d);
	unsetenv("NORVALT_LLM_RETRIES");
}
END_TEST

START_TEST(test_bad_conninfo_hides_value)
{
	struct nv_diag d;

	config_write_env("");
	setenv("DATABASE_URL", "secretpw", 1);
	config_load_fails("DATABASE_URL", &d);
	ck_assert_msg(strstr(d.msg, "secretpw") == NULL,
	    "message leaks the value: %s", d.msg);

	unsetenv("DATABASE_URL");
	setenv("NORVALT_DATABASE_OWNER_URL", "mysql://root:secretpw@db", 1);
	config_load_fails("NORVALT_DATABASE_OWNER_URL", &d);
	ck_assert_msg(strstr(d.msg, "secretpw") == NULL,
	    "message leaks the value: %s", d.msg);

	/* From .env too. */
	unsetenv("NORVALT_DATABASE_OWNER_URL");
	config_write_env("DATABASE_URL=\"secretpw\"\n");
	config_load_fails("DATABASE_URL", &d);
	ck_assert_msg(strstr(d.msg, "secretpw") == NULL,
	    "message leaks the value: %s", d.msg);
}
END_TEST

START_TEST(test_require_missing)
{
	struct nv_diag d;

	config_write_env("");
	config_load_ok();
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_config_require(NV_CFG_DATABASE_URL, &d),
	    NV_ERR_CONFIG);
	ck_assert_msg(strncmp(d.msg, "DATABASE_URL", 12) == 0, "msg: %s",
	    d.msg);
	nv_diag_reset(&d);
	ck_assert_int_eq(nv_config_require(NV_CFG_CLERK_JWKS_URL, &d),
	    NV_ERR_CONFIG);
	ck_assert_msg(strstr(d.msg, "NORVALT_CLERK_JWKS_URL") != NULL,
	    "msg: %s", d.msg);
	ck_assert_int_eq(nv_config_require(NV_CFG__COUNT, NULL),
	    NV_ERR_CONFIG);
}
END_TEST

START_TEST(test_dotenv_no_equals)
{
	char want[128];
	struct nv_diag d;

	config_write_env("# settings\nNORVALT_PORT 8080\n");
	snprintf(want, sizeof(want), "%s:2:", env_path);
	config_load_fails(want, &d);

	config_write_env("NORVALT_ENV=test\n\n=value\n");
	snprintf(want, sizeof(want), "%s:3:", env_path);
	config_load_fails(want, &d);
}
END_TEST

START_TEST(test_dotenv_unterminated_quote)
{
	char want[128];
	struct nv_diag d;

	config_write_env("NORVALT_ENV=\"test\n");
	snprintf(want, sizeof(want), "%s:1:", env_path);
	config_load_fails(want, &d);
	ck_assert_ptr_nonnull(strstr(d.msg, "quote"));

	config_write_env("NORVALT_PORT=1\nNORVALT_ENV='test\"\n");
	snprintf(want, sizeof(want), "%s:2:", env_path);
	config_load_fails(want, &d);

	config_write_env("NORVALT_ENV='\n");
	snprintf(want, sizeof(want), "%s:1:", env_path);
	config_load_fails(want, &d);
}
END_TEST

START_TEST(test_missing_env_file)
{
	struct nv_diag d;

	setenv("NORVALT_ENV_FILE", "/nonexistent/norvalt/.env", 1);
	config_load_fails("NORVALT_ENV_FILE", &d);
}
END_TEST

START_TEST(test_missing_key_file)
{
	struct nv_diag d;

	config_write_env("");
	setenv("NORVALT_CLERK_JWT_KEY_FILE", "/nonexistent/clerk.pem", 1);
	config_load_fails("NORVALT_CLERK_JWT_KEY_FILE", &d);
}
END_TEST

/*
 * Check runs this in its own process and expects exit status 2.  Under
 * CK_FORK=no an exit would end the whole run, so fork here instead.
 */
START_TEST(test_init_exits)
{
	static const enum nv_cfg req[] = { NV_CFG_DATABASE_URL };
	const char *fork_mode = getenv("CK_FORK");
	char out[512];

	config_write_env("");
	if (fork_mode != NULL && strcmp(fork_mode, "no") == 0) {
		ck_assert_int_eq(config_init_child(req, 1, out, sizeof(out)),
		    2);
		return;
	}
	/* The expected error line is checked by the next test; keep quiet. */
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	nv_config_init("check_config", req, 1);
	ck_abort_msg("nv_config_init returned without DATABASE_URL");
}
END_TEST

START_TEST(test_init_prints_one_line)
{
	static const enum nv_cfg req[] = { NV_CFG_DATABASE_URL };
	static const char want[] =
	    "check_config: configuration error: DATABASE_URL";
	char out[1024];

	config_write_env("");
	ck_assert_int_eq(config_init_child(req, 1, out, sizeof(out)), 2);
	ck_assert_uint_eq(config_nlines(out), 1);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "printed: %s",
	    out);

	/* A malformed value stops it too, naming the variable. */
	config_write_env("NORVALT_PORT=abc\n");
	ck_assert_int_eq(config_init_child(NULL, 0, out, sizeof(out)), 2);
	ck_assert_uint_eq(config_nlines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "NORVALT_PORT"));

	/* And a bad secret is named but not printed. */
	config_write_env("DATABASE_URL=secretpw\n");
	ck_assert_int_eq(config_init_child(req, 1, out, sizeof(out)), 2);
	ck_assert_uint_eq(config_nlines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "DATABASE_URL"));
	ck_assert_msg(strstr(out, "secretpw") == NULL, "leaked: %s", out);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, config_file_setup,
	    config_file_teardown);
	tcase_add_checked_fixture(tc, config_setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_environment);
	tcase_add_test(tc, test_dotenv);
	tcase_add_test(tc, test_environment_wins);
	tcase_add_test(tc, test_unknown_keys_ignored);
	tcase_add_test(tc, test_removed_keys_ignored);
	tcase_add_test(tc, test_dotenv_in_cwd);
	tcase_add_test(tc, test_reload_starts_over);
	tcase_add_test(tc, test_key_file);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_init_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_unchecked_fixture(tc, config_file_setup,
	    config_file_teardown);
	tcase_add_checked_fixture(tc, config_setup, NULL);
	tcase_add_test(tc, test_int_bounds);
	tcase_add_test(tc, test_value_length);
	tcase_add_test(tc, test_dotenv_line_endings);
	tcase_add_test(tc, test_dotenv_long_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, config_file_setup,
	    config_file_teardown);
	tcase_add_checked_fixture(tc, config_setup, NULL);
	tcase_add_test(tc, test_bad_int);
	tcase_add_test(tc, test_bad_word);
	tcase_add_test(tc, test_bad_url);
	tcase_add_test(tc, test_delivery_rows);
	tcase_add_test(tc, test_bad_conninfo_hides_value);
	tcase_add_test(tc, test_require_missing);
	tcase_add_test(tc, test_dotenv_no_equals);
	tcase_add_test(tc, test_dotenv_unterminated_quote);
	tcase_add_test(tc, test_missing_env_file);
	tcase_add_test(tc, test_missing_key_file);
	tcase_add_exit_test(tc, test_init_exits, 2);
	tcase_add_test(tc, test_init_prints_one_line);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(config_suite)
