/*
 * config.h - configuration from the environment and an optional .env file.
 *
 * Every variable Norvalt reads is a row of one table in config.c, with its
 * type, default and whether it is a secret; .env.example documents the same
 * rows.  The process environment wins over .env.  Values are validated once
 * at start: a malformed value, or a missing one that the program requires,
 * stops it with one line naming the variable (nv_config_init).  Secrets are
 * never printed, not even in error messages.
 */
#ifndef NV_CONFIG_H
#define NV_CONFIG_H

#include <stddef.h>

#include "err.h"

enum nv_cfg {
	NV_CFG_DATABASE_URL = 0,
	NV_CFG_DATABASE_OWNER_URL,
	NV_CFG_ENV,
	NV_CFG_LOG_LEVEL,
	NV_CFG_PORT,
	NV_CFG_BASE_URL,
	NV_CFG_PG_PORT,
	NV_CFG_TEST_PORT,
	NV_CFG_TEST_PG_PORT,
	NV_CFG_PROCS,
	NV_CFG_DB_STATEMENT_TIMEOUT_MS,
	NV_CFG_DATABASE_POOLED,
	NV_CFG_MIGRATIONS_DIR,
	NV_CFG_CLERK_ISSUER,
	NV_CFG_CLERK_JWT_KEY_FILE,
	NV_CFG_CLERK_JWKS_URL,
	NV_CFG_CLERK_AUTHORIZED_PARTIES,
	NV_CFG_OUTBOX_DIR,
	NV_CFG_CLERK_WEBHOOK_SECRET,
	NV_CFG_CLERK_ROLE_MAP,
	NV_CFG_TWILIO_AUTH_TOKEN,
	NV_CFG_PUBLIC_URL,
	NV_CFG_MAILGUN_SIGNING_KEY,
	NV_CFG_META_APP_SECRET,
	NV_CFG_META_VERIFY_TOKEN,
	NV_CFG_META_PAGE_TOKEN,
	NV_CFG_META_GRAPH_URL,
	NV_CFG_SMTP_URL,
	NV_CFG_SMTP_USER,
	NV_CFG_SMTP_PASSWORD,
	NV_CFG_SMTP_TLS,
	NV_CFG_SMTP_TIMEOUT_MS,
	NV_CFG_MAIL_FROM,
	NV_CFG_MAIL_REPLY_DOMAIN,
	NV_CFG_TWILIO_ACCOUNT_SID,
	NV_CFG_TWILIO_API_URL,
	NV_CFG_TWILIO_FROM,
	NV_CFG_LLM_URL,
	NV_CFG_LLM_KEY,
	NV_CFG_LLM_KEY_HEADER,
	NV_CFG_LLM_MODEL,
	NV_CFG_LLM_CONNECT_TIMEOUT_MS,
	NV_CFG_LLM_TIMEOUT_MS,
	NV_CFG_LLM_RETRIES,
	NV_CFG_LLM_MAX_TOKENS,
	NV_CFG_WORKERS,
	NV_CFG_WORKER_POLL_MS,
	NV_CFG_WORKER_LEASE_S,
	NV_CFG_WORKER_RETRY_BASE_MS,
	NV_CFG_WORKER_SWEEP_S,
	NV_CFG_DEV_LOGIN,
	NV_CFG_DEV_JWT_KEY_FILE,
	NV_CFG_CLERK_PUBLISHABLE_KEY,
	NV_CFG_SMTP_CA_FILE,
	NV_CFG__COUNT
};

/*
 * Read .env (the file named by NORVALT_ENV_FILE, else ./.env when it
 * exists) and the environment, validate every value that is set, and apply
 * defaults.  Returns NV_OK, or NV_ERR_CONFIG with d->msg naming the
 * variable (or the .env line).  May be called again (tests): it starts over.
 */
enum nv_err nv_config_load(struct nv_diag *d);

/* NV_ERR_CONFIG unless k has a value (set or defaulted). */
enum nv_err nv_config_require(enum nv_cfg k, struct nv_diag *d);

/*
 * Load, require each of required[0..n), and set up logging (prog name,
 * NORVALT_LOG_LEVEL).  On any failure prints one line to stderr,
 * "<prog>: configuration error: <msg>", and exits with status 2.
 */
void nv_config_init(const char *prog, const enum nv_cfg *required, size_t n);

/* The value, or NULL when unset with no default.  Owned by config.c. */
const char *nv_config_str(enum nv_cfg k);

/* An integer variable's value (0 when unset with no default). */
long nv_config_int(enum nv_cfg k);

/* The variable's name, e.g. "NORVALT_PORT". */
const char *nv_config_name(enum nv_cfg k);

#endif /* NV_CONFIG_H */
