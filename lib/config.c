/*
 * config.c - the configuration table and its loader; see config.h.
 *
 * Values are copied into process-lifetime storage owned by this module.
 * Validation is by type: a connection string, an http(s) URL, an integer in
 * a range, one of a set of words, a path, or free text.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

enum cfg_type {
	CFG_TEXT,
	CFG_CONNINFO,
	CFG_URL,
	CFG_INT,
	CFG_WORD,
	CFG_PATH,
	CFG_FILE,
	CFG_SMTP_URL,
	CFG_HEADER
};

struct cfg_def {
	const char	*name;
	enum cfg_type	 type;
	const char	*def;
	long		 min, max;	/* CFG_INT */
	const char	*words;		/* CFG_WORD: "a|b|c" */
	int		 secret;
};

static const struct cfg_def cfg_defs[NV_CFG__COUNT] = {
	[NV_CFG_DATABASE_URL] = { "DATABASE_URL", CFG_CONNINFO, NULL, 0, 0,
	    NULL, 1 },
	[NV_CFG_DATABASE_OWNER_URL] = { "NORVALT_DATABASE_OWNER_URL",
	    CFG_CONNINFO, NULL, 0, 0, NULL, 1 },
	[NV_CFG_ENV] = { "NORVALT_ENV", CFG_WORD, "development", 0, 0,
	    "development|test|production", 0 },
	[NV_CFG_LOG_LEVEL] = { "NORVALT_LOG_LEVEL", CFG_WORD, "info", 0, 0,
	    "debug|info|warn|error", 0 },
	[NV_CFG_PORT] = { "NORVALT_PORT", CFG_INT, "8080", 1, 65535, NULL,
	    0 },
	[NV_CFG_BASE_URL] = { "NORVALT_BASE_URL", CFG_URL,
	    "http://127.0.0.1:8080", 0, 0, NULL, 0 },
	[NV_CFG_PG_PORT] = { "NORVALT_PG_PORT", CFG_INT, "54321", 1, 65535,
	    NULL, 0 },
	[NV_CFG_TEST_PORT] = { "NORVALT_TEST_PORT", CFG_INT, "18080", 1,
	    65535, NULL, 0 },
	[NV_CFG_TEST_PG_PORT] = { "NORVALT_TEST_PG_PORT", CFG_INT, "54322", 1,
	    65535, NULL, 0 },
	[NV_CFG_PROCS] = { "NORVALT_PROCS", CFG_INT, "2", 1, 64, NULL, 0 },
	[NV_CFG_DB_STATEMENT_TIMEOUT_MS] = { "NORVALT_DB_STATEMENT_TIMEOUT_MS",
	    CFG_INT, "5000", 0, 600000, NULL, 0 },
	[NV_CFG_DATABASE_POOLED] = { "NORVALT_DATABASE_POOLED", CFG_INT, "0",
	    0, 1, NULL, 0 },
	[NV_CFG_MIGRATIONS_DIR] = { "NORVALT_MIGRATIONS_DIR", CFG_PATH,
	    "sql/migrations", 0, 0, NULL, 0 },
	[NV_CFG_CLERK_ISSUER] = { "NORVALT_CLERK_ISSUER", CFG_URL,
	    "https://clerk.norvalt.localhost", 0, 0, NULL, 0 },
	[NV_CFG_CLERK_JWT_KEY_FILE] = { "NORVALT_CLERK_JWT_KEY_FILE",
	    CFG_FILE, NULL, 0, 0, NULL, 0 },
	[NV_CFG_CLERK_JWKS_URL] = { "NORVALT_CLERK_JWKS_URL", CFG_URL, NULL,
	    0, 0, NULL, 0 },
	[NV_CFG_CLERK_AUTHORIZED_PARTIES] = {
	    "NORVALT_CLERK_AUTHORIZED_PARTIES", CFG_TEXT, NULL, 0, 0, NULL, 0 },
	[NV_CFG_OUTBOX_DIR] = { "NORVALT_OUTBOX_DIR", CFG_PATH, NULL, 0, 0,
	    NULL, 0 },
	[NV_CFG_CLERK_WEBHOOK_SECRET] = { "NORVALT_CLERK_WEBHOOK_SECRET",
	    CFG_TEXT, NULL, 0, 0, NULL, 1 },
	[NV_CFG_CLERK_ROLE_MAP] = { "NORVALT_CLERK_ROLE_MAP", CFG_TEXT,
	    "org:admin=admin,org:manager=manager,org:member=sales_rep", 0, 0,
	    NULL, 0 },
	[NV_CFG_TWILIO_AUTH_TOKEN] = { "NORVALT_TWILIO_AUTH_TOKEN", CFG_TEXT,
	    NULL, 0, 0, NULL, 1 },
	[NV_CFG_PUBLIC_URL] = { "NORVALT_PUBLIC_URL", CFG_URL, NULL, 0, 0,
	    NULL, 0 },
	[NV_CFG_MAILGUN_SIGNING_KEY] = { "NORVALT_MAILGUN_SIGNING_KEY",
	    CFG_TEXT, NULL, 0, 0, NULL, 1 },
	[NV_CFG_META_APP_SECRET] = { "NORVALT_META_APP_SECRET", CFG_TEXT,
	    NULL, 0, 0, NULL, 1 },
	[NV_CFG_META_VERIFY_TOKEN] = { "NORVALT_META_VERIFY_TOKEN", CFG_TEXT,
	    NULL, 0, 0, NULL, 1 },
	[NV_CFG_META_PAGE_TOKEN] = { "NORVALT_META_PAGE_TOKEN", CFG_TEXT,
	    NULL, 0, 0, NULL, 1 },
	[NV_CFG_META_GRAPH_URL] = { "NORVALT_META_GRAPH_URL", CFG_URL,
	    "https://graph.facebook.com/v19.0", 0, 0, NULL, 0 },
	[NV_CFG_SMTP_URL] = { "NORVALT_SMTP_URL", CFG_SMTP_URL, NULL, 0, 0,
	    NULL, 0 },
	[NV_CFG_SMTP_USER] = { "NORVALT_SMTP_USER", CFG_TEXT, NULL, 0, 0,
	    NULL, 0 },
	[NV_CFG_SMTP_PASSWORD] = { "NORVALT_SMTP_PASSWORD", CFG_TEXT, NULL, 0,
	    0, NULL, 1 },
	[NV_CFG_SMTP_TLS] = { "NORVALT_SMTP_TLS", CFG_WORD, "starttls", 0, 0,
	    "starttls|none", 0 },
	[NV_CFG_SMTP_TIMEOUT_MS] = { "NORVALT_SMTP_TIMEOUT_MS", CFG_INT,
	    "10000", 100, 600000, NULL, 0 },
	[NV_CFG_MAIL_FROM] = { "NORVALT_MAIL_FROM", CFG_TEXT,
	    "leads@norvalt.localhost", 0, 0, NULL, 0 },
	[NV_CFG_MAIL_REPLY_DOMAIN] = { "NORVALT_MAIL_REPLY_DOMAIN", CFG_TEXT,
	    "norvalt.localhost", 0, 0, NULL, 0 },
	[NV_CFG_TWILIO_ACCOUNT_SID] = { "NORVALT_TWILIO_ACCOUNT_SID", CFG_TEXT,
	    NULL, 0, 0, NULL, 0 },
	[NV_CFG_TWILIO_API_URL] = { "NORVALT_TWILIO_API_URL", CFG_URL,
	    "https://api.twilio.com", 0, 0, NULL, 0 },
	[NV_CFG_TWILIO_FROM] = { "NORVALT_TWILIO_FROM", CFG_TEXT, NULL, 0, 0,
	    NULL, 0 },
	[NV_CFG_LLM_URL] = { "NORVALT_LLM_URL", CFG_URL, NULL, 0, 0, NULL,
	    0 },
	[NV_CFG_LLM_KEY] = { "NORVALT_LLM_KEY", CFG_TEXT, NULL, 0, 0, NULL,
	    1 },
	[NV_CFG_LLM_KEY_HEADER] = { "NORVALT_LLM_KEY_HEADER", CFG_HEADER,
	    "Authorization", 0, 0, NULL, 0 },
	[NV_CFG_LLM_MODEL] = { "NORVALT_LLM_MODEL", CFG_TEXT, "gpt-4o-mini",
	    0, 0, NULL, 0 },
	[NV_CFG_LLM_CONNECT_TIMEOUT_MS] = { "NORVALT_LLM_CONNECT_TIMEOUT_MS",
	    CFG_INT, "3000", 100, 600000, NULL, 0 },
	[NV_CFG_LLM_TIMEOUT_MS] = { "NORVALT_LLM_TIMEOUT_MS", CFG_INT,
	    "20000", 100, 600000, NULL, 0 },
	[NV_CFG_LLM_RETRIES] = { "NORVALT_LLM_RETRIES", CFG_INT, "2", 0, 10,
	    NULL, 0 },
	[NV_CFG_LLM_MAX_TOKENS] = { "NORVALT_LLM_MAX_TOKENS", CFG_INT, "400",
	    1, 100000, NULL, 0 },
	[NV_CFG_WORKERS] = { "NORVALT_WORKERS", CFG_INT, "1", 0, 64, NULL, 0 },
	[NV_CFG_WORKER_POLL_MS] = { "NORVALT_WORKER_POLL_MS", CFG_INT, "1000",
	    10, 600000, NULL, 0 },
	[NV_CFG_WORKER_LEASE_S] = { "NORVALT_WORKER_LEASE_S", CFG_INT, "60", 1,
	    86400, NULL, 0 },
	[NV_CFG_WORKER_RETRY_BASE_MS] = { "NORVALT_WORKER_RETRY_BASE_MS",
	    CFG_INT, "2000", 1, 3600000, NULL, 0 },
	[NV_CFG_WORKER_SWEEP_S] = { "NORVALT_WORKER_SWEEP_S", CFG_INT, "60", 0,
	    86400, NULL, 0 },
	[NV_CFG_DEV_LOGIN] = { "NORVALT_DEV_LOGIN", CFG_INT, "0", 0, 1, NULL,
	    0 },
	[NV_CFG_DEV_JWT_KEY_FILE] = { "NORVALT_DEV_JWT_KEY_FILE", CFG_FILE,
	    NULL, 0, 0, NULL, 0 },
	[NV_CFG_CLERK_PUBLISHABLE_KEY] = { "NORVALT_CLERK_PUBLISHABLE_KEY",
	    CFG_TEXT, NULL, 0, 0, NULL, 0 },
	[NV_CFG_SMTP_CA_FILE] = { "NORVALT_SMTP_CA_FILE", CFG_FILE, NULL, 0,
	    0, NULL, 0 },
};

static char *cfg_values[NV_CFG__COUNT];
static int cfg_loaded;

#define CFG_DOTENV_MAX	(64 * 1024)
#define CFG_VALUE_MAX	4096

static void
cfg_clear(void)
{
	size_t i;

	for (i = 0; i < NV_CFG__COUNT; i++) {
		free(cfg_values[i]);
		cfg_values[i] = NULL;
	}
	cfg_loaded = 0;
}

static int
cfg_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NV_CFG__COUNT; i++)
		if (strlen(cfg_defs[i].name) == len &&
		    memcmp(cfg_defs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static enum nv_err
cfg_store(int k, const char *v, size_t len, struct nv_diag *d)
{
	char *p;

	if (len > CFG_VALUE_MAX)
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s: value is longer than %d bytes", cfg_defs[k].name,
		    CFG_VALUE_MAX);
	p = malloc(len + 1);
	if (p == NULL)
		return nv_diag_set(d, NV_ERR_CONFIG, "out of memory");
	memcpy(p, v, len);
	p[len] = '\0';
	free(cfg_values[k]);
	cfg_values[k] = p;
	return NV_OK;
}

/*
 * Parse one .env line: [export ]KEY=VALUE, VALUE optionally in single or
 * double quotes; blank lines and # comments are skipped.  Keys we do not
 * know are ignored (scripts keep their own settings in the same file).
 */
static enum nv_err
cfg_dotenv_line(char *line, const char *path, int lineno, struct nv_diag *d)
{
	char *p = line, *eq, *v, *end;
	int k;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return NV_OK;
	if (strncmp(p, "export ", 7) == 0)
		p += 7;
	eq = strchr(p, '=');
	if (eq == NULL || eq == p)
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s:%d: expected KEY=VALUE", path, lineno);
	end = eq;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	/* Strip trailing whitespace and the newline. */
	eq = v + strlen(v);
	while (eq > v && isspace((unsigned char)eq[-1]))
		*--eq = '\0';
	if ((*v == '"' || *v == '\'') && eq > v + 1 && eq[-1] == *v) {
		v++;
		eq[-1] = '\0';
	} else if (*v == '"' || *v == '\'') {
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s:%d: unterminated quote", path, lineno);
	}
	k = cfg_lookup(p, (size_t)(end - p));
	if (k < 0)
		return NV_OK;
	/* The environment wins over .env. */
	if (getenv(cfg_defs[k].name) != NULL)
		return NV_OK;
	return cfg_store(k, v, strlen(v), d);
}

static enum nv_err
cfg_dotenv(struct nv_diag *d)
{
	const char *path;
	char line[CFG_VALUE_MAX + 256];
	enum nv_err rc = NV_OK;
	int lineno = 0;
	FILE *f;

	path = getenv("NORVALT_ENV_FILE");
	if (path == NULL || *path == '\0') {
		path = ".env";
		if (access(path, F_OK) != 0)
			return NV_OK;
	}
	f = fopen(path, "r");
	if (f == NULL)
		return nv_diag_set(d, NV_ERR_CONFIG, "NORVALT_ENV_FILE: cannot "
		    "read %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = nv_diag_set(d, NV_ERR_CONFIG,
			    "%s:%d: line too long", path, lineno);
			break;
		}
		rc = cfg_dotenv_line(line, path, lineno, d);
		if (rc != NV_OK)
			break;
	}
	fclose(f);
	return rc;
}

static int
cfg_word_ok(const char *words, const char *v)
{
	const char *p = words, *bar;
	size_t n = strlen(v);

	for (;;) {
		bar = strchr(p, '|');
		if (bar == NULL)
			return strcmp(p, v) == 0;
		if ((size_t)(bar - p) == n && memcmp(p, v, n) == 0)
			return 1;
		p = bar + 1;
	}
}

static enum nv_err
cfg_validate(int k, struct nv_diag *d)
{
	const struct cfg_def *def = &cfg_defs[k];
	const char *v = cfg_values[k], *q;
	char *end;
	long n;

	if (*v == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "%s: is empty", def->name);
	switch (def->type) {
	case CFG_TEXT:
	case CFG_PATH:
		return NV_OK;
	case CFG_FILE:
		if (access(v, R_OK) != 0)
			return nv_diag_set(d, NV_ERR_CONFIG,
			    "%s: cannot read file %s: %s", def->name, v,
			    strerror(errno));
		return NV_OK;
	case CFG_CONNINFO:
		if (strncmp(v, "postgresql://", 13) == 0 ||
		    strncmp(v, "postgres://", 11) == 0 || strchr(v, '=') != NULL)
			return NV_OK;
		return nv_diag_set(d, NV_ERR_CONFIG, "%s: must be a postgresql:// "
		    "URL or a key=value connection string", def->name);
	case CFG_URL:
		if ((strncmp(v, "http://", 7) == 0 && v[7] != '\0') ||
		    (strncmp(v, "https://", 8) == 0 && v[8] != '\0'))
			return NV_OK;
		/* Not echoed: a mistyped scheme may sit before user:key@. */
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s: must be an http:// or https:// URL", def->name);
	case CFG_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < def->min ||
		    n > def->max)
			return nv_diag_set(d, NV_ERR_CONFIG,
			    "%s: must be an integer between %ld and %ld, "
			    "got \"%s\"", def->name, def->min, def->max, v);
		return NV_OK;
	case CFG_SMTP_URL:
		if ((strncmp(v, "smtp://", 7) == 0 && v[7] != '\0') ||
		    (strncmp(v, "smtps://", 8) == 0 && v[8] != '\0'))
			return NV_OK;
		/* Not echoed: it may carry user:password@. */
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s: must be an smtp:// or smtps:// URL", def->name);
	case CFG_HEADER:
		/* An RFC 9110 token: nothing that could end the header line. */
		for (q = v; *q != '\0'; q++)
			if (!isalnum((unsigned char)*q) &&
			    strchr("!#$%&'*+-.^_`|~", *q) == NULL)
				return nv_diag_set(d, NV_ERR_CONFIG,
				    "%s: must be an HTTP header name, got \"%s\"",
				    def->name, v);
		return NV_OK;
	case CFG_WORD:
		if (cfg_word_ok(def->words, v))
			return NV_OK;
		return nv_diag_set(d, NV_ERR_CONFIG,
		    "%s: must be one of %s, got \"%s\"", def->name, def->words,
		    v);
	}
	return NV_OK;
}

enum nv_err
nv_config_load(struct nv_diag *d)
{
	enum nv_err rc;
	const char *v;
	size_t i;

	cfg_clear();
	for (i = 0; i < NV_CFG__COUNT; i++) {
		v = getenv(cfg_defs[i].name);
		if (v != NULL && (rc = cfg_store((int)i, v, strlen(v), d)) != NV_OK)
			return rc;
	}
	if ((rc = cfg_dotenv(d)) != NV_OK)
		return rc;
	for (i = 0; i < NV_CFG__COUNT; i++) {
		if (cfg_values[i] == NULL && cfg_defs[i].def != NULL &&
		    (rc = cfg_store((int)i, cfg_defs[i].def,
		    strlen(cfg_defs[i].def), d)) != NV_OK)
			return rc;
		if (cfg_values[i] != NULL && (rc = cfg_validate((int)i, d)) != NV_OK)
			return rc;
	}
	cfg_loaded = 1;
	return NV_OK;
}

enum nv_err
nv_config_require(enum nv_cfg k, struct nv_diag *d)
{
	if ((unsigned)k >= NV_CFG__COUNT)
		return nv_diag_set(d, NV_ERR_CONFIG, "unknown variable");
	if (cfg_values[k] == NULL)
		return nv_diag_set(d, NV_ERR_CONFIG, "%s: is required but not set",
		    cfg_defs[k].name);
	return NV_OK;
}

void
nv_config_init(const char *prog, const enum nv_cfg *required, size_t n)
{
	struct nv_diag d;
	enum nv_err rc;
	size_t i;

	nv_diag_reset(&d);
	rc = nv_config_load(&d);
	for (i = 0; rc == NV_OK && i < n; i++)
		rc = nv_config_require(required[i], &d);
	if (rc != NV_OK) {
		fprintf(stderr, "%s: configuration error: %s\n", prog, d.msg);
		exit(2);
	}
	nv_log_init(prog, (enum nv_log_level)nv_log_level_parse(
	    nv_config_str(NV_CFG_LOG_LEVEL)));
}

const char *
nv_config_str(enum nv_cfg k)
{
	if ((unsigned)k >= NV_CFG__COUNT)
		return NULL;
	if (!cfg_loaded) {
		/* Libraries used before init (tests) still see the environment. */
		const char *v = getenv(cfg_defs[k].name);
		return v != NULL ? v : cfg_defs[k].def;
	}
	return cfg_values[k];
}

long
nv_config_int(enum nv_cfg k)
{
	const char *v = nv_config_str(k);

	return v != NULL ? strtol(v, NULL, 10) : 0;
}

const char *
nv_config_name(enum nv_cfg k)
{
	if ((unsigned)k >= NV_CFG__COUNT)
		return "?";
	return cfg_defs[k].name;
}
