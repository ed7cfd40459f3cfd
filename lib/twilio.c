/*
 * twilio.c - Twilio signatures, opt-out keywords and the opt-out register;
 * see twilio.h.
 *
 * The signature is computed over the parameters as Twilio saw them, so the
 * body is decoded here pair by pair (nv_intake_form_decode keeps only the
 * last value of a repeated name, which is right for reading a form but
 * not for signing it).
 *
 * The keyword transaction takes the same advisory lock on the phone number
 * as lib/intake.c ('intake:' || dealership || ':p:' || phone), so a STOP and
 * an ordinary first message from the same number arriving together are
 * serialised and both see the same lead.
 */
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <libpq-fe.h>

#include "db.h"
#include "intake.h"
#include "rls.h"
#include "twilio.h"

#define TWILIO_TENANT \
	"NULLIF(current_setting('app.current_dealership_id', true), '')::uuid"

static const char *const twilio_stop_words[] = {
	"STOP", "STOPP", "AVSLUTT", "UNSUBSCRIBE", "STOPALL", "CANCEL", "END",
	"QUIT", NULL
};

static const char *const twilio_start_words[] = { "START", "UNSTOP", NULL };

static const struct nv_stmt twilio_key_expire = {
	"twilio_key_expire",
	"DELETE FROM idempotency_keys k WHERE k.scope = $1 AND k.key = $2"
	" AND k.created_at < now() - interval '24 hours'",
	2
};

static const struct nv_stmt twilio_key_get = {
	"twilio_key_get",
	"SELECT k.status, k.body FROM idempotency_keys k"
	" WHERE k.scope = $1 AND k.key = $2"
	" AND k.created_at >= now() - interval '24 hours'",
	2
};

static const struct nv_stmt twilio_key_put = {
	"twilio_key_put",
	"INSERT INTO idempotency_keys (dealership_id, scope, key, status, body)"
	" VALUES (" TWILIO_TENANT ", $1, $2, 200, $3)",
	3
};

static const struct nv_stmt twilio_lock = {
	"twilio_lock",
	"SELECT pg_advisory_xact_lock(hashtextextended("
	" 'intake:' || " TWILIO_TENANT "::text || ':p:' || $1, 0))",
	1
};

static const struct nv_stmt twilio_find = {
	"twilio_find",
	"SELECT l.id FROM leads l"
	" WHERE l.created_at > now() - interval '30 days' AND l.phone = $1"
	" ORDER BY l.created_at DESC, l.id DESC LIMIT 1",
	1
};

static const struct nv_stmt twilio_message = {
	"twilio_message",
	"INSERT INTO conversations (dealership_id, lead_id, direction, channel,"
	"  sender, body, status, provider_id)"
	" VALUES (" TWILIO_TENANT ", $1::uuid, 'inbound', 'sms', 'customer',"
	"  $2, 'delivered', $3)",
	3
};

static const struct nv_stmt twilio_optout_add = {
	"twilio_optout_add",
	"INSERT INTO sms_optouts (dealership_id, phone)"
	" VALUES (" TWILIO_TENANT ", $1)"
	" ON CONFLICT (dealership_id, phone) DO NOTHING",
	1
};

static const struct nv_stmt twilio_optout_del = {
	"twilio_optout_del",
	"DELETE FROM sms_optouts o WHERE o.phone = $1",
	1
};

struct twilio_pair {
	const char	*name;
	const char	*value;
};

static int
twilio_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) ('+' is a space); NULL when broken or %00. */
static char *
twilio_unescape(struct nv_arena *a, const char *s, size_t n)
{
	char *out = nv_arena_alloc(a, n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (n - i < 3)
				return NULL;
			hi = twilio_hex((unsigned char)s[i + 1]);
			lo = twilio_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return NULL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			return NULL;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static int
twilio_pair_cmp(const void *x, const void *y)
{
	const struct twilio_pair *p = x, *q = y;
	int c = strcmp(p->name, q->name);

	return c != 0 ? c : strcmp(p->value, q->value);
}

enum nv_err
nv_twilio_signature(struct nv_arena *a, const char *token, const char *url,
    const char *body, size_t len, const char **out)
{
	const char *p = body, *end = body + len, *amp, *eq;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	struct twilio_pair *pairs;
	size_t n = 0, i, total;
	char *data, *w, *b64;

	assert(token != NULL && url != NULL && out != NULL);
	*out = NULL;
	/* At most one pair per '&'-separated piece. */
	total = 1;
	for (i = 0; i < len; i++)
		if (body[i] == '&')
			total++;
	pairs = nv_arena_alloc(a, total * sizeof(*pairs));
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		pairs[n].name = twilio_unescape(a, p, (size_t)(eq - p));
		pairs[n].value = eq < amp ? twilio_unescape(a, eq + 1,
		    (size_t)(amp - eq - 1)) : "";
		if (pairs[n].name == NULL || pairs[n].value == NULL)
			return NV_ERR_BAD_REQUEST;
		n++;
		p = amp + 1;
	}
	qsort(pairs, n, sizeof(*pairs), twilio_pair_cmp);

	total = strlen(url) + 1;
	for (i = 0; i < n; i++)
		total += strlen(pairs[i].name) + strlen(pairs[i].value);
	w = data = nv_arena_alloc(a, total);
	w = stpcpy(w, url);
	for (i = 0; i < n; i++) {
		if (i > 0 && twilio_pair_cmp(&pairs[i - 1], &pairs[i]) == 0)
			continue;
		w = stpcpy(w, pairs[i].name);
		w = stpcpy(w, pairs[i].value);
	}
	if (HMAC(EVP_sha1(), token, (int)strlen(token),
	    (const unsigned char *)data, (size_t)(w - data), mac, &mlen) ==
	    NULL || mlen != 20)
		return NV_ERR_INTERNAL;
	b64 = nv_arena_alloc(a, NV_TWILIO_SIG_LEN + 1);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)mlen);
	*out = b64;
	return NV_OK;
}

/*
 * url with its default port removed (":443" for https, ":80" for http)
 * when it has one, or added when it has no port; NULL when url is not
 * http(s) or has another port.
 */
static char *
twilio_port_variant(struct nv_arena *a, const char *url)
{
	const char *host, *end, *colon, *port;

	if (strncasecmp(url, "https://", 8) == 0) {
		host = url + 8;
		port = "443";
	} else if (strncasecmp(url, "http://", 7) == 0) {
		host = url + 7;
		port = "80";
	} else {
		return NULL;
	}
	end = host + strcspn(host, "/?#");
	colon = memchr(host, ':', (size_t)(end - host));
	if (colon == NULL)
		return nv_arena_printf(a, "%.*s:%s%s", (int)(end - url), url,
		    port, end);
	if ((size_t)(end - colon - 1) == strlen(port) &&
	    memcmp(colon + 1, port, strlen(port)) == 0)
		return nv_arena_printf(a, "%.*s%s", (int)(colon - url), url,
		    end);
	return NULL;
}

static int
twilio_match(struct nv_arena *a, const char *token, const char *url,
    const char *body, size_t len, const char *header)
{
	const char *sig;

	if (nv_twilio_signature(a, token, url, body, len, &sig) != NV_OK)
		return 0;
	return CRYPTO_memcmp(sig, header, NV_TWILIO_SIG_LEN) == 0;
}

int
nv_twilio_signature_ok(struct nv_arena *a, const char *token,
    const char *url, const char *body, size_t len, const char *header)
{
	const char *alt;

	if (token == NULL || *token == '\0' || url == NULL || header == NULL ||
	    strlen(header) != NV_TWILIO_SIG_LEN)
		return 0;
	if (twilio_match(a, token, url, body, len, header))
		return 1;
	alt = twilio_port_variant(a, url);
	return alt != NULL && twilio_match(a, token, alt, body, len, header);
}

static int
twilio_word_in(const char *s, size_t n, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
			return 1;
	return 0;
}

enum nv_twilio_keyword
nv_twilio_keyword(const char *body)
{
	const char *s, *e;
	size_t n;

	if (body == NULL)
		return NV_TWILIO_NONE;
	s = body;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (twilio_word_in(s, n, twilio_stop_words))
		return NV_TWILIO_STOP;
	if (twilio_word_in(s, n, twilio_start_words))
		return NV_TWILIO_START;
	return NV_TWILIO_NONE;
}

struct twilio_job {
	enum nv_twilio_keyword	 kw;
	const char		*phone;
	const char		*body;
	const char		*sid;
	struct nv_intake_answer	*out;
};

static enum nv_err
twilio_keyword_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct twilio_job *j = arg;
	const char *params[3], *id = NULL;
	PGresult *res;
	enum nv_err rc;

	params[0] = NV_TWILIO_SCOPE;
	params[1] = j->sid;
	if ((rc = nv_db_exec(a, d, &twilio_key_expire, params, &res)) != NV_OK ||
	    (rc = nv_db_exec(a, d, &twilio_key_get, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) > 0) {
		j->out->status = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		j->out->body = nv_arena_strdup(a, PQgetvalue(res, 0, 1));
		j->out->replayed = true;
		return NV_OK;
	}

	params[0] = j->phone;
	if ((rc = nv_db_exec(a, d, &twilio_lock, params, &res)) != NV_OK ||
	    (rc = nv_db_exec(a, d, &twilio_find, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) > 0) {
		id = nv_arena_strdup(a, PQgetvalue(res, 0, 0));
		params[0] = id;
		params[1] = j->body;
		params[2] = j->sid;
		if ((rc = nv_db_exec(a, d, &twilio_message, params, &res)) !=
		    NV_OK)
			return rc;
	}
	params[0] = j->phone;
	if ((rc = nv_db_exec(a, d, j->kw == NV_TWILIO_STOP ?
	    &twilio_optout_add : &twilio_optout_del, params, &res)) != NV_OK)
		return rc;

	j->out->status = 200;
	j->out->body = nv_arena_cat(a, "{\"lead_id\":",
	    id != NULL ? "\"" : "", id != NULL ? id : "null",
	    id != NULL ? "\"" : "", ",\"opt_out\":",
	    j->kw == NV_TWILIO_STOP ? "true" : "false", "}", (char *)NULL);
	params[0] = NV_TWILIO_SCOPE;
	params[1] = j->sid;
	params[2] = j->out->body;
	return nv_db_exec(a, d, &twilio_key_put, params, &res);
}

enum nv_err
nv_twilio_keyword_submit(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, enum nv_twilio_keyword kw,
    const char *phone, const char *body, const char *message_sid,
    struct nv_intake_answer *out)
{
	struct twilio_job j;
	enum nv_err rc;

	assert(ctx != NULL && ctx->dealership_id != NULL);
	assert(kw == NV_TWILIO_STOP || kw == NV_TWILIO_START);
	assert(phone != NULL && body != NULL && message_sid != NULL);
	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	j.kw = kw;
	j.phone = phone;
	j.body = body;
	j.sid = message_sid;
	j.out = out;
	rc = nv_db_tx(a, d, ctx, twilio_keyword_work, &j);
	if (rc == NV_ERR_CONFLICT && d != NULL && d->ndetails > 0 &&
	    strcmp(d->details[0].field, "idempotency_keys_key") == 0) {
		/* A concurrent retry of the same message won: its answer. */
		nv_diag_reset(d);
		memset(out, 0, sizeof(*out));
		rc = nv_db_tx(a, d, ctx, twilio_keyword_work, &j);
	}
	return rc;
}
