/*
 * meta.c - Meta Lead Ads (see meta.h).
 *
 * The notification scanner is a small recursive-descent JSON reader over
 * the raw body.  It validates the whole document (strings, escapes,
 * numbers, nesting) but keeps only what the webhook needs: for each
 * entry[].changes[] object its field and the scalar members of its value,
 * as text.  A number is copied exactly as written, so a 17-digit
 * leadgen_id survives; a string is decoded (escapes, \uXXXX with
 * surrogate pairs).  Memory comes from the arena and never exceeds the
 * body's size per string.
 *
 * The Graph answer is small and holds only strings, so cJSON reads it.
 */
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "curlbuf.h"
#include "db.h"
#include "intake.h"
#include "json.h"
#include "log.h"
#include "meta.h"
#include "rls.h"
#include "valid.h"

#define MJ_DEPTH_MAX		32
#define META_CHALLENGE_MAX	128
#define META_GRAPH_MAX		(256 * 1024)
#define META_CONNECT_TIMEOUT	3L
#define META_TIMEOUT		10L
#define META_NAME_MAX		200
#define META_FIELD_MAX		2000
#define META_FIELDS_MAX		100

static const struct nv_stmt meta_by_page = {
	"meta_by_page",
	"SELECT dealership_id, active FROM nv_dealership_by_page($1) LIMIT 2",
	1
};

static const struct nv_stmt meta_queue = {
	"meta_queue",
	"INSERT INTO jobs (dealership_id, kind, payload)"
	" SELECT $1::uuid, 'facebook_fetch',"
	"        jsonb_strip_nulls(jsonb_build_object('leadgen_id', $2::text,"
	"         'page_id', $3::text, 'form_id', $4::text, 'ad_id', $5::text,"
	"         'created_time', $6::text))"
	"  WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'facebook_fetch'"
	"        AND status IN ('queued', 'running')"
	"        AND payload ->> 'leadgen_id' = $2::text)",
	6
};

int
nv_meta_signature_ok(const char *secret, const char *body, size_t len,
    const char *header)
{
	if (secret == NULL || *secret == '\0')
		return 0;
	return nv_intake_signature_ok(secret, body, len, header);
}

int
nv_meta_token_ok(const char *expected, const char *given)
{
	unsigned char x[SHA256_DIGEST_LENGTH], y[SHA256_DIGEST_LENGTH];

	if (expected == NULL || given == NULL || *expected == '\0')
		return 0;
	SHA256((const unsigned char *)expected, strlen(expected), x);
	SHA256((const unsigned char *)given, strlen(given), y);
	return CRYPTO_memcmp(x, y, sizeof(x)) == 0;
}

int
nv_meta_challenge_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= META_CHALLENGE_MAX || !isalnum((unsigned char)s[n]) ||
		    (unsigned char)s[n] > 0x7f)
			return 0;
	return n > 0;
}

int
nv_meta_id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= NV_META_ID_MAX || s[n] < '0' || s[n] > '9')
			return 0;
	return n > 0;
}

/* ------------------------------------------------------ raw JSON reader */

struct mj {
	struct nv_arena		*a;
	const char		*p;
	const char		*e;
	struct nv_meta_change	*ch;	/* changes so far */
	size_t			 n;
	size_t			 cap;
	int			 full;	/* more than NV_META_CHANGES_MAX */
};

typedef int (*mj_member)(struct mj *j, const char *key, int depth,
    void *arg);
typedef int (*mj_elem)(struct mj *j, int depth, void *arg);

static int mj_value(struct mj *j, int depth, char **scalar);

static void
mj_ws(struct mj *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
mj_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * The string at j->p ('"'), decoded into *out (arena) when out is not
 * NULL.  0, or -1 when it is malformed (NUL escapes included).
 */
static int
mj_string(struct mj *j, char **out)
{
	const char *s, *q;
	unsigned cp, lo;
	char *o, *w;

	if (j->p >= j->e || *j->p != '"')
		return -1;
	s = ++j->p;
	for (q = s; q < j->e && *q != '"'; q++) {
		if ((unsigned char)*q < 0x20)
			return -1;
		if (*q == '\\' && ++q >= j->e)
			return -1;
	}
	if (q >= j->e)
		return -1;
	o = w = out != NULL ? nv_arena_alloc(j->a, (size_t)(q - s) + 1) : NULL;
	for (; s < q; s++) {
		if (*s != '\\') {
			if (w != NULL)
				*w++ = *s;
			continue;
		}
		switch (*++s) {
		case '"': case '\\': case '/':
			cp = (unsigned char)*s;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (q - s < 5 || mj_hex4(s + 1, &cp) != 0)
				return -1;
			s += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (q - s < 7 || s[1] != '\\' || s[2] != 'u' ||
				    mj_hex4(s + 3, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (cp == 0)
				return -1;
			break;
		default:
			return -1;
		}
		if (w == NULL)
			continue;
		if (cp < 0x80) {
			*w++ = (char)cp;
		} else if (cp < 0x800) {
			*w++ = (char)(0xc0 | cp >> 6);
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*w++ = (char)(0xe0 | cp >> 12);
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*w++ = (char)(0xf0 | cp >> 18);
			*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	if (w != NULL) {
		*w = '\0';
		*out = o;
	}
	j->p = q + 1;
	return 0;
}

static int
mj_digits(struct mj *j)
{
	const char *s = j->p;

	while (j->p < j->e && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

/* A number as JSON writes it; its literal text into *out when wanted. */
static int
mj_number(struct mj *j, char **out)
{
	const char *s = j->p;

	if (j->p < j->e && *j->p == '-')
		j->p++;
	if (j->p < j->e && *j->p == '0')
		j->p++;
	else if (mj_digits(j) != 0)
		return -1;
	if (j->p < j->e && *j->p == '.') {
		j->p++;
		if (mj_digits(j) != 0)
			return -1;
	}
	if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->e && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (mj_digits(j) != 0)
			return -1;
	}
	if (out != NULL)
		*out = nv_arena_strndup(j->a, s, (size_t)(j->p - s));
	return 0;
}

static int
mj_object(struct mj *j, int depth, mj_member fn, void *arg)
{
	char *key;

	if (depth > MJ_DEPTH_MAX || j->p >= j->e || *j->p != '{')
		return -1;
	j->p++;
	mj_ws(j);
	if (j->p < j->e && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		mj_ws(j);
		if (mj_string(j, &key) != 0)
			return -1;
		mj_ws(j);
		if (j->p >= j->e || *j->p != ':')
			return -1;
		j->p++;
		mj_ws(j);
		if (fn(j, key, depth + 1, arg) != 0)
			return -1;
		mj_ws(j);
		if (j->p >= j->e)
			return -1;
		if (*j->p++ == '}')
			return 0;
		if (j->p[-1] != ',')
			return -1;
	}
}

static int
mj_array(struct mj *j, int depth, mj_elem fn, void *arg)
{
	if (depth > MJ_DEPTH_MAX || j->p >= j->e || *j->p != '[')
		return -1;
	j->p++;
	mj_ws(j);
	if (j->p < j->e && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		mj_ws(j);
		if (fn(j, depth + 1, arg) != 0)
			return -1;
		mj_ws(j);
		if (j->p >= j->e)
			return -1;
		if (*j->p++ == ']')
			return 0;
		if (j->p[-1] != ',')
			return -1;
	}
}

static int
mj_skip_member(struct mj *j, const char *key, int depth, void *arg)
{
	(void)key;
	(void)arg;
	return mj_value(j, depth, NULL);
}

static int
mj_skip_elem(struct mj *j, int depth, void *arg)
{
	(void)arg;
	return mj_value(j, depth, NULL);
}

static int
mj_literal(struct mj *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->e - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

/*
 * Any value.  scalar (when not NULL) receives a string's decoded text or
 * a number's literal text; NULL for anything else.
 */
static int
mj_value(struct mj *j, int depth, char **scalar)
{
	if (scalar != NULL)
		*scalar = NULL;
	if (j->p >= j->e)
		return -1;
	switch (*j->p) {
	case '{':
		return mj_object(j, depth, mj_skip_member, NULL);
	case '[':
		return mj_array(j, depth, mj_skip_elem, NULL);
	case '"':
		return mj_string(j, scalar);
	case 't':
		return mj_literal(j, "true");
	case 'f':
		return mj_literal(j, "false");
	case 'n':
		return mj_literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return mj_number(j, scalar);
		return -1;
	}
}

/* entry[].changes[].value members. */
static int
mj_value_member(struct mj *j, const char *key, int depth, void *arg)
{
	struct nv_meta_change *c = arg;
	const char **slot = NULL;
	char *v;

	if (strcmp(key, "leadgen_id") == 0)
		slot = &c->leadgen_id;
	else if (strcmp(key, "page_id") == 0)
		slot = &c->page_id;
	else if (strcmp(key, "form_id") == 0)
		slot = &c->form_id;
	else if (strcmp(key, "ad_id") == 0)
		slot = &c->ad_id;
	else if (strcmp(key, "created_time") == 0)
		slot = &c->created_time;
	if (slot == NULL)
		return mj_value(j, depth, NULL);
	if (mj_value(j, depth, &v) != 0)
		return -1;
	*slot = v;
	return 0;
}

static int
mj_change_member(struct mj *j, const char *key, int depth, void *arg)
{
	struct nv_meta_change *c = arg;
	char *v;

	if (strcmp(key, "field") == 0) {
		if (mj_value(j, depth, &v) != 0)
			return -1;
		c->field = v;
		return 0;
	}
	if (strcmp(key, "value") == 0 && j->p < j->e && *j->p == '{')
		return mj_object(j, depth, mj_value_member, c);
	return mj_value(j, depth, NULL);
}

static int
mj_change(struct mj *j, int depth, void *arg)
{
	struct nv_meta_change c, *grown;

	(void)arg;
	if (j->p >= j->e || *j->p != '{')
		return mj_value(j, depth, NULL);
	memset(&c, 0, sizeof(c));
	if (mj_object(j, depth, mj_change_member, &c) != 0)
		return -1;
	if (j->n == NV_META_CHANGES_MAX) {
		j->full = 1;
		return -1;
	}
	if (j->n == j->cap) {
		j->cap = j->cap == 0 ? 8 : 2 * j->cap;
		grown = nv_arena_alloc(j->a, j->cap * sizeof(*grown));
		if (j->n > 0)
			memcpy(grown, j->ch, j->n * sizeof(*grown));
		j->ch = grown;
	}
	j->ch[j->n++] = c;
	return 0;
}

struct mj_entry {
	char	*id;
};

static int
mj_entry_member(struct mj *j, const char *key, int depth, void *arg)
{
	struct mj_entry *en = arg;

	if (strcmp(key, "id") == 0)
		return mj_value(j, depth, &en->id);
	if (strcmp(key, "changes") == 0 && j->p < j->e && *j->p == '[')
		return mj_array(j, depth, mj_change, NULL);
	return mj_value(j, depth, NULL);
}

static int
mj_entry(struct mj *j, int depth, void *arg)
{
	struct mj_entry en = { NULL };
	size_t first = j->n, i;

	(void)arg;
	if (j->p >= j->e || *j->p != '{')
		return mj_value(j, depth, NULL);
	if (mj_object(j, depth, mj_entry_member, &en) != 0)
		return -1;
	/* "id" may follow "changes" in the text. */
	for (i = first; i < j->n; i++) {
		j->ch[i].entry_id = en.id;
		if (j->ch[i].page_id == NULL)
			j->ch[i].page_id = en.id;
	}
	return 0;
}

static int
mj_top_member(struct mj *j, const char *key, int depth, void *arg)
{
	(void)arg;
	if (strcmp(key, "entry") == 0 && j->p < j->e && *j->p == '[')
		return mj_array(j, depth, mj_entry, NULL);
	return mj_value(j, depth, NULL);
}

enum nv_err
nv_meta_changes(struct nv_arena *a, struct nv_diag *d, const char *body,
    size_t len, struct nv_meta_change **out, size_t *n)
{
	struct mj j;

	memset(&j, 0, sizeof(j));
	j.a = a;
	j.p = body;
	j.e = body + len;
	*out = NULL;
	*n = 0;
	mj_ws(&j);
	if (j.p >= j.e || *j.p != '{' ||
	    mj_object(&j, 0, mj_top_member, NULL) != 0) {
		if (j.full)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the "
			    "notification has more than %d changes",
			    NV_META_CHANGES_MAX);
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the body is not a "
		    "valid JSON object (near byte %zu)",
		    (size_t)(j.p - body));
	}
	mj_ws(&j);
	if (j.p != j.e)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the body has data "
		    "after the JSON object (byte %zu)", (size_t)(j.p - body));
	*out = j.ch;
	*n = j.n;
	return NV_OK;
}

/* ------------------------------------------------------------ Graph API */

enum nv_err
nv_meta_fetch(struct nv_arena *a, struct nv_diag *d, const char *base_url,
    const char *token, const char *leadgen_id, char **json)
{
	struct nv_curl_buf b = NV_CURL_BUF(META_GRAPH_MAX);
	enum nv_err rc = NV_ERR_UNAVAILABLE;
	char *esc = NULL, *url;
	long status = 0;
	size_t blen;
	CURLcode cc;
	CURL *c = NULL;

	*json = NULL;
	if (base_url == NULL || *base_url == '\0' || token == NULL ||
	    *token == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "the Graph API is not "
		    "configured");
	if (!nv_meta_id_ok(leadgen_id))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "leadgen_id is not "
		    "an id");
	if (nv_curl_init() != 0)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl "
		    "could not be initialised");
	if ((c = curl_easy_init()) == NULL ||
	    (esc = curl_easy_escape(c, token, 0)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl could not "
		    "be initialised");
		goto out;
	}
	blen = strlen(base_url);
	while (blen > 0 && base_url[blen - 1] == '/')
		blen--;
	url = nv_arena_printf(a, "%.*s/%s?access_token=%s", (int)blen,
	    base_url, leadgen_id, esc);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, META_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, META_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)META_GRAPH_MAX);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "norvalt-meta");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, nv_curl_buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		nv_log_warn("meta: graph fetch of lead %s failed: %s",
		    leadgen_id, curl_easy_strerror(cc));
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "the Graph API is "
		    "unreachable");
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || b.p == NULL) {
		nv_log_warn("meta: graph fetch of lead %s answered %ld",
		    leadgen_id, status);
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "the Graph API "
		    "answered %ld", status);
		goto out;
	}
	*json = nv_arena_strndup(a, b.p, b.len);
	rc = NV_OK;
out:
	curl_free(esc);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(b.p);
	return rc;
}

/* ----------------------------------------------------------- lead mapping */

/* s trimmed into the arena; NULL when blank, too long or not text. */
static const char *
meta_text(struct nv_arena *a, const char *s, size_t max)
{
	const char *e;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s || (size_t)(e - s) > max ||
	    !nv_valid_text(s, (size_t)(e - s)))
		return NULL;
	return nv_arena_strndup(a, s, (size_t)(e - s));
}

/* A field_data element's values joined by ", "; NULL when none. */
static const char *
meta_values(struct nv_arena *a, const cJSON *f)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(f, "values");
	const cJSON *v;
	const char *acc = NULL;

	cJSON_ArrayForEach(v, vals) {
		if (!cJSON_IsString(v) || *v->valuestring == '\0')
			continue;
		acc = acc == NULL ? v->valuestring :
		    nv_arena_cat(a, acc, ", ", v->valuestring, (char *)NULL);
	}
	return meta_text(a, acc, META_FIELD_MAX);
}

static void
meta_add(cJSON *o, const char *name, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, name, v);
}

enum nv_err
nv_meta_lead(struct nv_arena *a, struct nv_diag *d, const char *json,
    const struct nv_meta_change *ch, struct nv_intake_lead *out)
{
	const char *name, *v, *full = NULL, *first = NULL, *last = NULL, *sp;
	cJSON *root, *fd, *f, *meta = NULL, *fb, *fields;
	char phone[NV_PHONE_MAX], *email;
	enum nv_err rc = NV_OK;
	size_t i, nf = 0;

	memset(out, 0, sizeof(*out));
	root = cJSON_Parse(json);
	fd = cJSON_GetObjectItemCaseSensitive(root, "field_data");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(fd)) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "the Graph API "
		    "answered something that is not a lead");
		goto out;
	}
	out->source = "facebook";
	out->channel = "facebook";
	out->empty_message = "(Facebook lead form)";
	meta = cJSON_CreateObject();
	fb = cJSON_AddObjectToObject(meta, "facebook");
	meta_add(fb, "leadgen_id", ch->leadgen_id);
	meta_add(fb, "page_id", ch->page_id);
	meta_add(fb, "form_id", ch->form_id);
	meta_add(fb, "ad_id", ch->ad_id);
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root,
	    "created_time"));
	meta_add(fb, "created_time", meta_text(a, v != NULL ? v :
	    ch->created_time, META_NAME_MAX));
	fields = cJSON_AddObjectToObject(fb, "fields");
	cJSON_ArrayForEach(f, fd) {
		name = meta_text(a, cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(f, "name")), META_NAME_MAX);
		if (name == NULL || (v = meta_values(a, f)) == NULL)
			continue;
		if (strcmp(name, "full_name") == 0)
			full = v;
		else if (strcmp(name, "first_name") == 0)
			first = v;
		else if (strcmp(name, "last_name") == 0)
			last = v;
		else if (strcmp(name, "email") == 0) {
			email = nv_arena_strdup(a, v);
			for (i = 0; email[i] != '\0'; i++)
				email[i] = (char)tolower((unsigned char)email[i]);
			if (nv_valid_email(email))
				out->email = email;
		} else if (strcmp(name, "phone_number") == 0) {
			if (strlen(v) <= 40 && nv_valid_phone(v, NV_DEFAULT_CC,
			    phone) == NV_OK)
				out->phone = nv_arena_strdup(a, phone);
		} else if (nf < META_FIELDS_MAX &&
		    !cJSON_HasObjectItem(fields, name)) {
			cJSON_AddStringToObject(fields, name, v);
			nf++;
		}
	}
	if (full != NULL && (sp = strrchr(full, ' ')) != NULL) {
		out->first_name = meta_text(a, nv_arena_strndup(a, full,
		    (size_t)(sp - full)), META_NAME_MAX);
		out->last_name = meta_text(a, sp + 1, META_NAME_MAX);
	} else if (full != NULL) {
		out->first_name = meta_text(a, full, META_NAME_MAX);
	}
	if (first != NULL)
		out->first_name = meta_text(a, first, META_NAME_MAX);
	if (last != NULL)
		out->last_name = meta_text(a, last, META_NAME_MAX);
	out->metadata = nv_json_print(a, meta);
	if (out->email == NULL && out->phone == NULL)
		rc = nv_diag_set(d, NV_ERR_VALIDATION, "the lead has neither "
		    "a valid e-mail address nor a valid phone number");
out:
	cJSON_Delete(meta);
	cJSON_Delete(root);
	return rc;
}

/* ---------------------------------------------------------------- database */

struct meta_page {
	const char	*page_id;
	const char	*id;
	int		 active;
};

static enum nv_err
meta_page_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct meta_page *m = arg;
	const char *params[1];
	PGresult *res;
	enum nv_err rc;

	params[0] = m->page_id;
	if ((rc = nv_db_exec(a, d, &meta_by_page, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) != 1)
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "no dealership has "
		    "this Facebook Page");
	m->id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	m->active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	return NV_OK;
}

enum nv_err
nv_meta_page_dealership(struct nv_arena *a, struct nv_diag *d,
    const char *page_id, const char **id, int *active)
{
	struct meta_page m;
	enum nv_err rc;

	*id = NULL;
	*active = 0;
	if (!nv_meta_id_ok(page_id))
		return nv_diag_set(d, NV_ERR_NOT_FOUND, "no dealership has "
		    "this Facebook Page");
	memset(&m, 0, sizeof(m));
	m.page_id = page_id;
	if ((rc = nv_db_tx(a, d, NULL, meta_page_work, &m)) != NV_OK)
		return rc;
	*id = m.id;
	*active = m.active;
	return NV_OK;
}

struct meta_job {
	const char			*dealership_id;
	const struct nv_meta_change	*ch;
};

static enum nv_err
meta_queue_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct meta_job *m = arg;
	const char *params[6];
	PGresult *res;

	params[0] = m->dealership_id;
	params[1] = m->ch->leadgen_id;
	params[2] = m->ch->page_id;
	params[3] = m->ch->form_id;
	params[4] = m->ch->ad_id;
	params[5] = m->ch->created_time;
	return nv_db_exec(a, d, &meta_queue, params, &res);
}

enum nv_err
nv_meta_queue_fetch(struct nv_arena *a, struct nv_diag *d,
    const struct nv_rls_ctx *ctx, const struct nv_meta_change *ch)
{
	struct meta_job m;

	assert(ctx != NULL && ctx->dealership_id != NULL);
	m.dealership_id = ctx->dealership_id;
	m.ch = ch;
	return nv_db_tx(a, d, ctx, meta_queue_work, &m);
}
