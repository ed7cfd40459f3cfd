/*
 * sms.c - Twilio's Messages API (see sms.h).
 *
 * One POST per message, form-encoded, with HTTP basic auth.  The answer is
 * JSON either way: 201 with the message resource ("sid", "status", ...),
 * or an error object {"code", "message", "more_info", "status"}.  Twilio
 * has no idempotency key for Messages, so a retry after a lost answer can
 * send twice; the caller records the attempt before calling (see the
 * worker) and this module reports a lost answer as a transient failure.
 *
 * Classification: 429 and 5xx are Twilio's own trouble (retry).  401 and
 * 403 mean the account SID or token is wrong, which no retry of this
 * message fixes by itself but fixing the configuration does, so they are
 * transient too and say so.  Every other 4xx is about this message (21211
 * invalid number, 21610 the recipient replied STOP, 21408 region not
 * enabled, ...) and is permanent.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "curlbuf.h"
#include "log.h"
#include "sms.h"

#define SMS_CONNECT_TIMEOUT_MS	3000L
#define SMS_TIMEOUT_MS		10000L
#define SMS_ANSWER_MAX		(64 * 1024)
#define SMS_BODY_MAX		1600	/* Twilio's limit, in characters */
#define SMS_DIAG_TEXT_MAX	120

bool
nv_sms_configured(void)
{
	const char *sid = nv_config_str(NV_CFG_TWILIO_ACCOUNT_SID);
	const char *tok = nv_config_str(NV_CFG_TWILIO_AUTH_TOKEN);
	const char *url = nv_config_str(NV_CFG_TWILIO_API_URL);

	return sid != NULL && *sid != '\0' && tok != NULL && *tok != '\0' &&
	    url != NULL && *url != '\0';
}

/* 1 when s is a SID-shaped token: letters and digits, 2..NV_SMS_SID_MAX. */
static int
sms_sid_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= NV_SMS_SID_MAX ||
		    !((s[n] >= '0' && s[n] <= '9') ||
		    (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
			return 0;
	return n >= 2;
}

/*
 * 1 when s is a Messaging Service SID, "MG" and 32 hex digits; an
 * alphanumeric sender ID such as "MGBil" is a From like any other.
 */
static int
sms_service_sid(const char *s)
{
	size_t n;

	if (strncmp(s, "MG", 2) != 0)
		return 0;
	for (n = 2; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') ||
		    (s[n] >= 'a' && s[n] <= 'f') || (s[n] >= 'A' && s[n] <= 'F')))
			return 0;
	return n == 34;
}

/* s cut to SMS_DIAG_TEXT_MAX bytes of printable ASCII, for a diagnostic. */
static const char *
sms_clip(struct nv_arena *a, const char *s)
{
	char *o;
	size_t i;

	if (s == NULL)
		return "";
	o = nv_arena_strndup(a, s, strnlen(s, SMS_DIAG_TEXT_MAX));
	for (i = 0; o[i] != '\0'; i++)
		if ((unsigned char)o[i] < 0x20 || (unsigned char)o[i] > 0x7e)
			o[i] = '?';
	return o;
}

/* Characters (UTF-8 lead bytes) in s. */
static size_t
sms_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* "k=v&" with v escaped; NULL when libcurl is out of memory. */
static char *
sms_param(struct nv_arena *a, CURL *c, const char *k, const char *v,
    const char *sep)
{
	char *esc, *s;

	if ((esc = curl_easy_escape(c, v, 0)) == NULL)
		return NULL;
	s = nv_arena_cat(a, k, "=", esc, sep, (char *)NULL);
	curl_free(esc);
	return s;
}

/* Twilio's error object as the diagnostic; rc is the classification. */
static enum nv_err
sms_fail(struct nv_arena *a, struct nv_diag *d, enum nv_err rc, long status,
    const char *answer)
{
	const cJSON *code, *msg;
	cJSON *j;

	j = answer != NULL ? cJSON_Parse(answer) : NULL;
	code = cJSON_GetObjectItemCaseSensitive(j, "code");
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsNumber(code))
		nv_diag_set(d, rc, "twilio answered %ld: error %d: %s", status,
		    code->valueint, cJSON_IsString(msg) ?
		    sms_clip(a, msg->valuestring) : "(no message)");
	else
		nv_diag_set(d, rc, "twilio answered %ld", status);
	cJSON_Delete(j);
	return rc;
}

enum nv_err
nv_sms_send(struct nv_arena *a, struct nv_diag *d, const char *to,
    const char *from, const char *body, char **sid)
{
	struct nv_curl_buf b = NV_CURL_BUF(SMS_ANSWER_MAX);
	const char *acct, *token, *base;
	char errbuf[CURL_ERROR_SIZE];
	char *url, *form, *p1, *p2, *p3, *esc = NULL;
	const cJSON *s;
	enum nv_err rc = NV_ERR_UNAVAILABLE;
	cJSON *j = NULL;
	long status = 0;
	size_t blen;
	CURLcode cc;
	CURL *c = NULL;

	*sid = NULL;
	if (!nv_sms_configured())
		return nv_diag_set(d, NV_ERR_CONFIG, "sms is not configured "
		    "(NORVALT_TWILIO_ACCOUNT_SID, NORVALT_TWILIO_AUTH_TOKEN)");
	if (from == NULL || *from == '\0')
		from = nv_config_str(NV_CFG_TWILIO_FROM);
	if (from == NULL || *from == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "no sender: pass one or "
		    "set NORVALT_TWILIO_FROM");
	if (to == NULL || *to == '\0') {
		nv_diag_field(d, "to", "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION, "to is required");
	}
	if (body == NULL || *body == '\0') {
		nv_diag_field(d, "body", "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION, "body is required");
	}
	if (sms_chars(body) > SMS_BODY_MAX) {
		nv_diag_field(d, "body", "is longer than %d characters",
		    SMS_BODY_MAX);
		return nv_diag_set(d, NV_ERR_VALIDATION, "body is longer than "
		    "%d characters", SMS_BODY_MAX);
	}
	acct = nv_config_str(NV_CFG_TWILIO_ACCOUNT_SID);
	token = nv_config_str(NV_CFG_TWILIO_AUTH_TOKEN);
	base = nv_config_str(NV_CFG_TWILIO_API_URL);
	if (nv_curl_init() != 0)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl "
		    "could not be initialised");
	if ((c = curl_easy_init()) == NULL ||
	    (esc = curl_easy_escape(c, acct, 0)) == NULL ||
	    (p1 = sms_param(a, c, "To", to, "&")) == NULL ||
	    (p2 = sms_param(a, c, sms_service_sid(from) ?
	    "MessagingServiceSid" : "From", from, "&")) == NULL ||
	    (p3 = sms_param(a, c, "Body", body, "")) == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl could not be "
		    "initialised");
		goto out;
	}
	form = nv_arena_cat(a, p1, p2, p3, (char *)NULL);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	url = nv_arena_printf(a, "%.*s/2010-04-01/Accounts/%s/Messages.json",
	    (int)blen, base, esc);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, SMS_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, SMS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERNAME, acct);
	curl_easy_setopt(c, CURLOPT_PASSWORD, token);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(form));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "norvalt-sms");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nv_curl_buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "twilio is "
		    "unreachable: %s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
		nv_log_warn("sms: %s", d != NULL ? d->msg : "send failed");
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status == 429 || status >= 500 || status == 401 || status == 403) {
		rc = sms_fail(a, d, NV_ERR_UNAVAILABLE, status, b.p);
		nv_log_warn("sms: %s", d != NULL ? d->msg : "send failed");
		goto out;
	}
	if (status < 200 || status > 299) {
		rc = sms_fail(a, d, NV_ERR_VALIDATION, status, b.p);
		nv_log_info("sms: refused: %s", d != NULL ? d->msg : "");
		goto out;
	}
	j = b.p != NULL ? cJSON_Parse(b.p) : NULL;
	s = cJSON_GetObjectItemCaseSensitive(j, "sid");
	if (!cJSON_IsString(s) || !sms_sid_ok(s->valuestring)) {
		/* Maybe sent: the caller's record of the attempt decides. */
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "twilio answered %ld "
		    "without a message sid", status);
		nv_log_warn("sms: %s", d != NULL ? d->msg : "");
		goto out;
	}
	*sid = nv_arena_strdup(a, s->valuestring);
	nv_log_info("sms: %s queued by twilio", *sid);
	rc = NV_OK;
out:
	cJSON_Delete(j);
	curl_free(esc);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(b.p);
	return rc;
}
