/*
 * mailgun.c - Mailgun's inbound e-mail format; see mailgun.h.
 *
 * Signature.  Mailgun signs no body: the HMAC covers timestamp + token
 * only, so the webhook must also refuse old timestamps (a captured post
 * could otherwise be replayed forever) and treat the token as used once
 * (the caller makes it the idempotency key).  A timestamp far in the
 * future is refused as well, so that "old" cannot be dodged.
 *
 * The lead.  Whose e-mail it is comes from the envelope sender, else the
 * From header; the display name of From gives the names ("Last, First" or
 * split at the last space).  An ADF document in the text wins: ADF mails
 * come from lead portals, so the customer is the one the document names,
 * not the sender.  A body that only looks like ADF (a mail quoting "<adf")
 * is not refused: losing a customer's e-mail is worse than a plain lead.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adf.h"
#include "json.h"
#include "mailgun.h"
#include "valid.h"

#define MAILGUN_NAME_MAX	200
#define MAILGUN_META_MAX	998	/* an RFC 5322 line */
#define MAILGUN_TS_MAX		20
#define MAILGUN_TOKEN_MAX	256

static int
mailgun_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
nv_mailgun_verify(const char *key, const char *timestamp, const char *token,
    const char *signature, time_t now)
{
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	char msg[MAILGUN_TS_MAX + MAILGUN_TOKEN_MAX + 1];
	unsigned int glen = 0;
	size_t i, tlen, klen;
	long long ts = 0;
	int hi, lo;

	if (key == NULL || *key == '\0' || timestamp == NULL || token == NULL ||
	    signature == NULL)
		return 0;
	tlen = strlen(timestamp);
	klen = strlen(token);
	if (tlen == 0 || tlen > MAILGUN_TS_MAX || klen == 0 ||
	    klen > MAILGUN_TOKEN_MAX || strlen(signature) != 2 * sizeof(want))
		return 0;
	for (i = 0; i < tlen; i++) {
		if (!isdigit((unsigned char)timestamp[i]))
			return 0;
		ts = ts * 10 + (timestamp[i] - '0');
	}
	if (ts < (long long)now - NV_MAILGUN_TOLERANCE ||
	    ts > (long long)now + NV_MAILGUN_TOLERANCE)
		return 0;
	for (i = 0; i < sizeof(want); i++) {
		hi = mailgun_hex((unsigned char)signature[2 * i]);
		lo = mailgun_hex((unsigned char)signature[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		want[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(msg, timestamp, tlen);
	memcpy(msg + tlen, token, klen);
	if (HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)msg, tlen + klen, got, &glen) == NULL ||
	    glen != sizeof(want))
		return 0;
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

/* s trimmed of white space into the arena; NULL when s is NULL or blank. */
static const char *
mailgun_trim(struct nv_arena *a, const char *s, size_t n)
{
	const char *e;

	if (s == NULL)
		return NULL;
	e = s + n;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return e == s ? NULL : nv_arena_strndup(a, s, (size_t)(e - s));
}

void
nv_mailgun_address(struct nv_arena *a, const char *value, const char **name,
    const char **addr)
{
	const char *lt, *gt, *n;
	char *u;
	size_t i, o = 0;

	*name = *addr = NULL;
	if (value == NULL)
		return;
	lt = strrchr(value, '<');
	gt = lt != NULL ? strchr(lt, '>') : NULL;
	if (lt == NULL || gt == NULL) {
		*addr = mailgun_trim(a, value, strlen(value));
		return;
	}
	*addr = mailgun_trim(a, lt + 1, (size_t)(gt - lt - 1));
	n = mailgun_trim(a, value, (size_t)(lt - value));
	if (n == NULL)
		return;
	/* A quoted display name: drop the quotes, undo the escapes. */
	if (n[0] == '"' && strlen(n) >= 2 && n[strlen(n) - 1] == '"') {
		u = nv_arena_alloc(a, strlen(n));
		for (i = 1; i + 1 < strlen(n); i++) {
			if (n[i] == '\\' && i + 2 < strlen(n))
				i++;
			u[o++] = n[i];
		}
		n = mailgun_trim(a, u, o);
	}
	*name = n;
}

/* A field of f, trimmed, or NULL when absent, blank or not a string. */
static const char *
mailgun_field(struct nv_arena *a, const cJSON *f, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, name);

	if (!cJSON_IsString(v))
		return NULL;
	return mailgun_trim(a, v->valuestring, strlen(v->valuestring));
}

/* s cut to at most max bytes, at a UTF-8 character boundary. */
static const char *
mailgun_cut(struct nv_arena *a, const char *s, size_t max)
{
	size_t n;

	if (s == NULL || strlen(s) <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return nv_arena_strndup(a, s, n);
}

/* First/last name from a display name; too long or encoded is none. */
static void
mailgun_names(struct nv_arena *a, const char *name, struct nv_intake_lead *l)
{
	const char *c, *sp;

	if (name == NULL || strncmp(name, "=?", 2) == 0 ||
	    strchr(name, '@') != NULL ||
	    !nv_valid_text(name, strlen(name)))
		return;
	if ((c = strchr(name, ',')) != NULL) {
		l->last_name = mailgun_trim(a, name, (size_t)(c - name));
		l->first_name = mailgun_trim(a, c + 1, strlen(c + 1));
	} else if ((sp = strrchr(name, ' ')) != NULL) {
		l->first_name = mailgun_trim(a, name, (size_t)(sp - name));
		l->last_name = mailgun_trim(a, sp + 1, strlen(sp + 1));
	} else {
		l->first_name = name;
	}
	if ((l->first_name != NULL &&
	    strlen(l->first_name) > MAILGUN_NAME_MAX) ||
	    (l->last_name != NULL && strlen(l->last_name) > MAILGUN_NAME_MAX))
		l->first_name = l->last_name = NULL;
}

/* The case-insensitive first occurrence of w in s[0..n), or NULL. */
static const char *
mailgun_find(const char *s, size_t n, const char *w)
{
	size_t wn = strlen(w), i;

	for (i = 0; i + wn <= n; i++)
		if (strncasecmp(s + i, w, wn) == 0)
			return s + i;
	return NULL;
}

/* The ADF document of body: "<adf" (a whole name) to the last "</adf>". */
static int
mailgun_adf_span(const char *body, const char **start, size_t *len)
{
	const char *p = body, *end = body + strlen(body), *e, *last = NULL;

	for (;;) {
		p = mailgun_find(p, (size_t)(end - p), "<adf");
		if (p == NULL)
			return 0;
		if (p[4] == '>' || p[4] == '/' || isspace((unsigned char)p[4]))
			break;
		p += 4;
	}
	for (e = p; (e = mailgun_find(e, (size_t)(end - e), "</adf>")) !=
	    NULL; e += 6)
		last = e;
	if (last == NULL)
		return 0;
	*start = p;
	*len = (size_t)(last + 6 - p);
	return 1;
}

/* metadata.email: the e-mail's own identifiers, each cut to a line. */
static cJSON *
mailgun_meta(struct nv_arena *a, const cJSON *f)
{
	static const char *const keep[][2] = {
		{ "Message-Id", "message_id" },
		{ "message-id", "message_id" },
		{ "subject", "subject" },
		{ "recipient", "recipient" },
		{ "In-Reply-To", "in_reply_to" },
	};
	cJSON *m = cJSON_CreateObject();
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(m, keep[i][1]) != NULL)
			continue;
		if ((v = mailgun_field(a, f, keep[i][0])) != NULL)
			cJSON_AddStringToObject(m, keep[i][1],
			    mailgun_cut(a, v, MAILGUN_META_MAX));
	}
	return m;
}

enum nv_err
nv_mailgun_lead(struct nv_arena *a, struct nv_diag *d, const cJSON *f,
    struct nv_intake_lead *out)
{
	struct nv_adf_lead adf;
	struct nv_diag ad;
	const char *body, *start, *name, *addr, *sender, *msg;
	cJSON *meta, *top = NULL;
	char *email, *p;
	size_t len;
	int i;

	memset(out, 0, sizeof(*out));
	meta = mailgun_meta(a, f);
	body = mailgun_field(a, f, "body-plain");
	nv_diag_reset(&ad);
	if (body != NULL && mailgun_adf_span(body, &start, &len)) {
		if (nv_adf_parse(a, &ad, start, len, &adf) == NV_OK &&
		    (top = cJSON_Parse(adf.lead.metadata)) != NULL &&
		    cJSON_IsObject(top)) {
			*out = adf.lead;
			cJSON_AddItemToObject(top, "email", meta);
			out->metadata = nv_json_print(a, top);
			cJSON_Delete(top);
			return NV_OK;
		}
		cJSON_Delete(top);
		cJSON_AddStringToObject(meta, "adf_error", ad.msg[0] != '\0' ?
		    ad.msg : "the ADF document could not be read");
	}

	out->source = "email";
	out->channel = "email";
	out->empty_message = "(e-mail without text)";
	out->consent = "{}";
	nv_mailgun_address(a, mailgun_field(a, f, "from"), &name, &addr);
	for (i = 0; i < 2 && out->email == NULL; i++) {
		sender = i == 0 ? mailgun_field(a, f, "sender") : addr;
		if (sender == NULL)
			continue;
		email = nv_arena_strdup(a, sender);
		for (p = email; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (nv_valid_email(email))
			out->email = email;
	}
	if (out->email == NULL) {
		cJSON_Delete(meta);
		nv_diag_field(d, "sender", "is not a valid e-mail address");
		return nv_diag_set(d, NV_ERR_VALIDATION, "the e-mail has no "
		    "valid sender address");
	}
	mailgun_names(a, name, out);
	msg = mailgun_field(a, f, "stripped-text");
	if (msg == NULL)
		msg = body;
	out->message = mailgun_cut(a, msg, NV_MAILGUN_MESSAGE_MAX);
	top = cJSON_CreateObject();
	cJSON_AddItemToObject(top, "email", meta);
	out->metadata = nv_json_print(a, top);
	cJSON_Delete(top);
	return NV_OK;
}
