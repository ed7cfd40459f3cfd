/*
 * llm.c - OpenAI-compatible chat completions (see llm.h).
 *
 * One time budget, NORVALT_LLM_TIMEOUT_MS, covers the whole call: every
 * attempt gets what is left of it as its libcurl timeout, and a pause
 * before a retry never eats more than half of what is left.  A reply to a
 * lead is worth more now than perfect later, so when a Retry-After asks
 * for longer than the budget allows the call gives up at once and the
 * caller sends its template instead.
 *
 * Retried: a failure to connect or to get an answer (timeouts included,
 * while time remains), 408, 429 and 5xx, as the official SDKs do.  Not
 * retried: other 4xx (a wrong key or model will not fix itself) and an
 * answer that is not a usable completion.  Everything that is not NV_OK
 * is NV_ERR_UNAVAILABLE for the caller: fall back to the template.
 *
 * A completion cut off by max_tokens (finish_reason "length") or by the
 * provider's filter ("content_filter") is refused even when it has text:
 * half a sentence must not go to a customer.
 *
 * The key only ever goes into one request header.  Error texts a provider
 * sends back are passed on only when they do not contain it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "curlbuf.h"
#include "llm.h"
#include "log.h"
#include "valid.h"

#define LLM_ANSWER_MAX		(1024 * 1024)
#define LLM_TEMPERATURE		0.4
#define LLM_BACKOFF_MS		500L	/* first pause; doubles each retry */
#define LLM_ATTEMPT_MIN_MS	100L	/* no attempt with less time than this */
#define LLM_DIAG_TEXT_MAX	120

static uint64_t llm_rand_state;

static long
llm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A number in [0, n): xorshift64*, seeded once per process. */
static long
llm_rand(long n)
{
	struct timespec ts;
	uint64_t x;

	if (n <= 0)
		return 0;
	if (llm_rand_state == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		llm_rand_state = ((uint64_t)ts.tv_nsec << 20) ^
		    (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
		    UINT64_C(0x9e3779b97f4a7c15);
	}
	x = llm_rand_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	llm_rand_state = x;
	return (long)((x * UINT64_C(0x2545f4914f6cdd1d)) >> 33) % n;
}

static void
llm_sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool
nv_llm_configured(void)
{
	const char *url = nv_config_str(NV_CFG_LLM_URL);

	return url != NULL && *url != '\0';
}

/* s cut to LLM_DIAG_TEXT_MAX bytes of printable ASCII; "" when it has key. */
static const char *
llm_clip(struct nv_arena *a, const char *s, const char *key)
{
	char *o;
	size_t i;

	if (s == NULL || (key != NULL && *key != '\0' && strstr(s, key) != NULL))
		return "";
	o = nv_arena_strndup(a, s, strnlen(s, LLM_DIAG_TEXT_MAX));
	for (i = 0; o[i] != '\0'; i++)
		if ((unsigned char)o[i] < 0x20 || (unsigned char)o[i] > 0x7e)
			o[i] = '?';
	return o;
}

/* The request body; NULL on out-of-memory. */
static char *
llm_request(struct nv_arena *a, const struct nv_llm_msg *msgs, size_t n)
{
	cJSON *root, *arr, *m;
	char *s, *out = NULL;
	size_t i;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "model", nv_config_str(NV_CFG_LLM_MODEL));
	arr = cJSON_AddArrayToObject(root, "messages");
	for (i = 0; arr != NULL && i < n; i++) {
		if ((m = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, m);
		if (cJSON_AddStringToObject(m, "role", msgs[i].role) == NULL ||
		    cJSON_AddStringToObject(m, "content",
		    msgs[i].content) == NULL)
			goto out;
	}
	cJSON_AddNumberToObject(root, "temperature", LLM_TEMPERATURE);
	cJSON_AddNumberToObject(root, "max_tokens",
	    (double)nv_config_int(NV_CFG_LLM_MAX_TOKENS));
	if (arr == NULL || (s = cJSON_PrintUnformatted(root)) == NULL)
		goto out;
	out = nv_arena_strdup(a, s);
	cJSON_free(s);
out:
	cJSON_Delete(root);
	return out;
}

/* s without leading and trailing white space, in the arena. */
static char *
llm_trim(struct nv_arena *a, const char *s)
{
	const char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		e--;
	return nv_arena_strndup(a, s, (size_t)(e - s));
}

/* choices[0].message.content of a 2xx answer. */
static enum nv_err
llm_parse(struct nv_arena *a, struct nv_diag *d, const char *body,
    size_t len, char **out)
{
	const cJSON *choices, *c0, *msg, *content, *finish;
	enum nv_err rc = NV_ERR_UNAVAILABLE;
	cJSON *j;
	char *t;

	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "the language model's "
		    "answer is not JSON");
	choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (c0 == NULL) {
		nv_diag_set(d, rc, "the language model's answer has no choices");
		goto out;
	}
	msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
	content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	finish = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
	if (cJSON_IsString(finish) && (strcmp(finish->valuestring,
	    "length") == 0 || strcmp(finish->valuestring,
	    "content_filter") == 0)) {
		nv_diag_set(d, rc, "the language model's answer was cut off "
		    "(finish_reason %s)", finish->valuestring);
		goto out;
	}
	if (!cJSON_IsString(content)) {
		nv_diag_set(d, rc, "the language model's answer has no text "
		    "content");
		goto out;
	}
	t = llm_trim(a, content->valuestring);
	if (*t == '\0') {
		nv_diag_set(d, rc, "the language model's answer is empty");
		goto out;
	}
	if (!nv_valid_text(t, strlen(t))) {
		nv_diag_set(d, rc, "the language model's answer is not UTF-8 "
		    "text");
		goto out;
	}
	*out = t;
	rc = NV_OK;
out:
	cJSON_Delete(j);
	return rc;
}

/* The provider's {"error": {"message"}} text, clipped, or "". */
static const char *
llm_error_text(struct nv_arena *a, const char *body, size_t len,
    const char *key)
{
	const cJSON *err, *msg;
	const char *s = "";
	cJSON *j;

	if (body == NULL || (j = cJSON_ParseWithLength(body, len)) == NULL)
		return "";
	err = cJSON_GetObjectItemCaseSensitive(j, "error");
	msg = cJSON_IsObject(err) ?
	    cJSON_GetObjectItemCaseSensitive(err, "message") : err;
	if (cJSON_IsString(msg))
		s = llm_clip(a, msg->valuestring, key);
	cJSON_Delete(j);
	return s;
}

static int
llm_retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

enum nv_err
nv_llm_chat(struct nv_arena *a, struct nv_diag *d,
    const struct nv_llm_msg *msgs, size_t n, char **out)
{
	struct curl_slist *hdrs = NULL, *h;
	const char *base, *key, *hname, *etext;
	char errbuf[CURL_ERROR_SIZE];
	struct nv_curl_buf b = NV_CURL_BUF(LLM_ANSWER_MAX);
	enum nv_err rc = NV_ERR_UNAVAILABLE;
	long deadline, left, wait, status, retries, connect, backoff;
	curl_off_t retry_after;
	char *url, *req, *auth;
	CURLcode cc;
	CURL *c = NULL;
	size_t blen, i;
	int attempt, retry;

	*out = NULL;
	base = nv_config_str(NV_CFG_LLM_URL);
	if (base == NULL || *base == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "NORVALT_LLM_URL is not set");
	if (msgs == NULL || n == 0)
		return nv_diag_set(d, NV_ERR_VALIDATION, "no messages");
	for (i = 0; i < n; i++)
		if (msgs[i].role == NULL || msgs[i].content == NULL)
			return nv_diag_set(d, NV_ERR_VALIDATION, "message %zu "
			    "has no role or content", i);
	deadline = llm_now_ms() + nv_config_int(NV_CFG_LLM_TIMEOUT_MS);
	connect = nv_config_int(NV_CFG_LLM_CONNECT_TIMEOUT_MS);
	retries = nv_config_int(NV_CFG_LLM_RETRIES);
	key = nv_config_str(NV_CFG_LLM_KEY);
	hname = nv_config_str(NV_CFG_LLM_KEY_HEADER);
	if (hname == NULL || *hname == '\0')
		hname = "Authorization";

	if ((req = llm_request(a, msgs, n)) == NULL)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "out of memory");
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	url = nv_arena_printf(a, "%.*s/chat/completions", (int)blen, base);
	if (nv_curl_init() != 0)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl "
		    "could not be initialised");
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdrs != NULL && (h = curl_slist_append(hdrs,
	    "Accept: application/json")) != NULL)
		hdrs = h;
	if (hdrs != NULL && key != NULL && *key != '\0') {
		auth = strcasecmp(hname, "Authorization") == 0 ?
		    nv_arena_cat(a, hname, ": Bearer ", key, (char *)NULL) :
		    nv_arena_cat(a, hname, ": ", key, (char *)NULL);
		if ((h = curl_slist_append(hdrs, auth)) == NULL) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		} else {
			hdrs = h;
		}
		memset(auth, 0, strlen(auth));
	}
	if (hdrs == NULL || (c = curl_easy_init()) == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl could not be "
		    "initialised");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(req));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "norvalt-llm");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nv_curl_buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

	for (attempt = 0;; attempt++) {
		left = deadline - llm_now_ms();
		if (left < LLM_ATTEMPT_MIN_MS) {
			if (attempt == 0)
				nv_diag_set(d, rc, "no time left for the "
				    "language model");
			break;
		}
		free(b.p);
		b.p = NULL;
		b.len = 0;
		errbuf[0] = '\0';
		status = 0;
		retry_after = 0;
		retry = 0;
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		    connect < left ? connect : left);
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			retry = llm_retryable_curl(cc);
			nv_diag_set(d, rc, "the language model is unreachable: "
			    "%s", errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(cc));
		} else {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			if (status >= 200 && status <= 299) {
				rc = llm_parse(a, d, b.p, b.len, out);
				if (rc != NV_OK)
					nv_log_warn("llm: %s", d != NULL ?
					    d->msg : "unusable answer");
				break;
			}
			retry = status == 408 || status == 429 || status >= 500;
			if (status == 429 || status == 503)
				curl_easy_getinfo(c, CURLINFO_RETRY_AFTER,
				    &retry_after);
			etext = llm_error_text(a, b.p, b.len, key);
			nv_diag_set(d, rc, "the language model answered %ld%s%s",
			    status, *etext != '\0' ? ": " : "", etext);
		}
		nv_log_warn("llm: attempt %d of %ld failed: %s", attempt + 1,
		    retries + 1, d != NULL ? d->msg : "");
		if (!retry || attempt >= retries)
			break;
		left = deadline - llm_now_ms();
		backoff = LLM_BACKOFF_MS << (attempt < 10 ? attempt : 10);
		wait = backoff / 2 + llm_rand(backoff / 2 + 1);
		if (retry_after > 0) {
			if ((long)retry_after * 1000L > left - LLM_ATTEMPT_MIN_MS) {
				nv_diag_set(d, rc, "the language model asked to "
				    "wait %ld s, longer than the time left",
				    (long)retry_after);
				break;
			}
			if ((long)retry_after * 1000L > wait)
				wait = (long)retry_after * 1000L;
		} else if (wait > left / 2) {
			wait = left / 2;
		}
		llm_sleep_ms(wait);
	}
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(b.p);
	return rc;
}
