/*
 * check_webhook_email.c - POST /webhooks/email/{dealership_id} over real
 * HTTP: nginx, cgi-bin/email and PostgreSQL with the demo seed.
 *
 * Posts are signed as Mailgun signs them: hex HMAC-SHA256 over timestamp +
 * token, computed here with OpenSSL and the NORVALT_MAILGUN_SIGNING_KEY of
 * the test stack's environment.  Every e-mail address, phone number and
 * token holds a per-run tag, so duplicate detection and idempotency never
 * join two runs' leads; the unchecked teardown deletes what the tag names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../testutil.h"

#define TESLA		"11111111-1111-4111-8111-111111111111"
#define MGR		"user_tesla_manager"
#define MGR_ORG		"org_tesla_oslo"
#define FORM		"application/x-www-form-urlencoded"
#define BOUNDARY	"----mgBoundary7f3a"
#define MULTIPART	"multipart/form-data; boundary=\"" BOUNDARY "\""

static Suite *webhook_email_suite(void);

static char tag[32];		/* per run, lower-case letters */
static unsigned phone_base;	/* per run: 8-digit Norwegian mobiles */
static unsigned token_seq;

/* ------------------------------------------------------------ helpers */

static void
setup_tag(void)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = (unsigned long)time(NULL) * 1000037ul ^
	    ((unsigned long)getpid() << 5);
	size_t i;

	if (tag[0] != '\0')
		return;
	for (i = 0; i < 10; i++) {
		tag[i] = letters[v % 26];
		v /= 26;
		if (v == 0)
			v = (unsigned long)time(NULL) + i * 7907ul;
	}
	tag[i] = '\0';
	phone_base = (unsigned)(((unsigned long)time(NULL) * 191ul +
	    (unsigned long)getpid() * 13ul) % 9000000ul);
}

static void
mkemail(char *out, size_t n, const char *word)
{
	snprintf(out, n, "%s.%s@example.no", word, tag);
}

/* A fresh Mailgun-like token starting with the tag. */
static void
mktoken(char *out, size_t n)
{
	snprintf(out, n, "%s%u%ld0123456789abcdef0123456789abcdef", tag,
	    ++token_seq, (long)getpid());
}

/* Hex HMAC-SHA256(key, ts + token) into out (65 bytes). */
static void
mgsign(const char *key, const char *ts, const char *token, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0, i;
	char msg[512];

	snprintf(msg, sizeof(msg), "%s%s", ts, token);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg,
	    strlen(msg), mac, &mlen);
	for (i = 0; i < mlen; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* Append percent-encoded s to out. */
static void
urlenc(char *out, size_t n, const char *s)
{
	size_t o = strlen(out);

	for (; *s != '\0' && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/*
 * The fields kv (name, value pairs, NULL-terminated) plus timestamp, token
 * and signature (ts and sig may be NULL for "compute"; sig "" leaves it
 * out) as a urlencoded (multipart == 0) or multipart body.
 */
static void
mkbody(char *out, size_t n, int multipart, const char *const *kv,
    const char *ts, const char *token, const char *sig)
{
	char tsb[32], sigb[80];
	const char *all[64];
	size_t i, k = 0;

	if (ts == NULL) {
		snprintf(tsb, sizeof(tsb), "%ld", (long)time(NULL));
		ts = tsb;
	}
	if (sig == NULL) {
		mgsign(nv_test_env("NORVALT_MAILGUN_SIGNING_KEY"), ts, token,
		    sigb);
		sig = sigb;
	}
	for (i = 0; kv[i] != NULL; i += 2) {
		all[k++] = kv[i];
		all[k++] = kv[i + 1];
	}
	all[k++] = "timestamp";
	all[k++] = ts;
	all[k++] = "token";
	all[k++] = token;
	if (*sig != '\0') {
		all[k++] = "signature";
		all[k++] = sig;
	}
	out[0] = '\0';
	for (i = 0; i < k; i += 2) {
		size_t o = strlen(out);

		if (multipart) {
			snprintf(out + o, n - o, "--" BOUNDARY "\r\n"
			    "Content-Disposition: form-data; name=\"%s\"\r\n"
			    "\r\n%s\r\n", all[i], all[i + 1]);
		} else {
			snprintf(out + o, n - o, "%s%s=", i > 0 ? "&" : "",
			    all[i]);
			urlenc(out, n, all[i + 1]);
		}
	}
	if (multipart) {
		size_t o = strlen(out);

		snprintf(out + o, n - o, "--" BOUNDARY "\r\n"
		    "Content-Disposition: form-data; name=\"attachment-1\"; "
		    "filename=\"bil.pdf\"\r\nContent-Type: application/pdf\r\n"
		    "\r\n%%PDF-1.4 not text \xff\xfe\r\n--" BOUNDARY "--\r\n");
	}
}

static void
post(const char *dealer, const char *body, const char *ctype,
    struct nv_test_http *r)
{
	const char *hdrs[2] = { NULL, NULL };
	char path[256], ct[160];

	snprintf(path, sizeof(path), "/webhooks/email/%s", dealer);
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs[0] = ct;
	}
	nv_test_http("POST", path, body, strlen(body), hdrs, r);
}

static cJSON *
parse(const struct nv_test_http *r)
{
	cJSON *j = cJSON_Parse(r->body);

	ck_assert_msg(j != NULL, "not JSON (%ld): %s", r->status, r->body);
	return j;
}

/* The answer's lead_id, malloc'd. */
static char *
lead_id_of(const struct nv_test_http *r)
{
	cJSON *j = parse(r), *id;
	char *s;

	id = cJSON_GetObjectItemCaseSensitive(j, "lead_id");
	ck_assert_msg(cJSON_IsString(id), "no lead_id: %s", r->body);
	s = strdup(id->valuestring);
	cJSON_Delete(j);
	return s;
}

static PGconn *
app(void)
{
	return nv_test_connect(nv_test_env("DATABASE_URL"));
}

/* count(*) of sql ($1, $2 text params) in dealer's RLS context. */
static long
count_in(const char *dealer, const char *sql, const char *p1, const char *p2)
{
	PGconn *c = app();
	long n;

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", dealer, NULL));
	n = nv_test_count(c, sql, p1, p2, NULL);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
	return n;
}

static long
leads_with_email(const char *email)
{
	return count_in(TESLA, "SELECT count(*) FROM leads WHERE email_norm ="
	    " lower($1)", email, NULL);
}

static long
leads_of_run(void)
{
	return count_in(TESLA, "SELECT count(*) FROM leads WHERE email_norm"
	    " LIKE '%' || $1 || '%'", tag, NULL);
}

static cJSON *
get_as_manager(const char *path)
{
	struct nv_test_http r;
	const char *hdrs[2];
	char *auth;
	cJSON *j;

	auth = nv_test_auth_header(MGR, MGR_ORG);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	nv_test_http("GET", path, NULL, 0, hdrs, &r);
	free(auth);
	ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status,
	    r.body);
	j = parse(&r);
	nv_test_http_free(&r);
	return j;
}

/* The value at a dotted path of o; numbers index arrays. */
static const cJSON *
at(const cJSON *o, const char *path)
{
	char buf[256], *p, *save = NULL;
	const cJSON *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf; p != NULL && v != NULL; p = save) {
		save = strchr(p, '.');
		if (save != NULL)
			*save++ = '\0';
		if (cJSON_IsArray(v))
			v = cJSON_GetArrayItem(v, (int)strtol(p, NULL, 10));
		else
			v = cJSON_GetObjectItemCaseSensitive(v, p);
	}
	return v;
}

static const char *
str(const cJSON *o, const char *path)
{
	const cJSON *v = at(o, path);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", path);
	return v->valuestring;
}

/* The lead's only message's body checked, direction inbound, channel email. */
static void
assert_one_message(const char *id, const char *body)
{
	char path[128];
	cJSON *msgs, *m;

	snprintf(path, sizeof(path), "/api/leads/%s/messages", id);
	msgs = get_as_manager(path);
	m = cJSON_GetObjectItemCaseSensitive(msgs, "data");
	ck_assert_int_eq(cJSON_GetArraySize(m), 1);
	m = cJSON_GetArrayItem(m, 0);
	ck_assert_str_eq(str(m, "direction"), "inbound");
	ck_assert_str_eq(str(m, "channel"), "email");
	ck_assert_str_eq(str(m, "body"), body);
	cJSON_Delete(msgs);
}

/* The ADF fixture with its contact points replaced by the run's. */
static char *
adf_fixture(const char *email, const char *phone)
{
	char path[1024], *buf, *out, *p;
	const char *root = nv_test_env("NV_ROOT");
	size_t n, o = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fixtures/adf/plain.xml", root);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf = calloc(1, 65536);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	out = calloc(1, 65536);
	for (p = buf; *p != '\0';) {
		if (strncmp(p, "Ola.Hansen@Example.NO", 21) == 0) {
			o += (size_t)snprintf(out + o, 65536 - o, "%s", email);
			p += 21;
		} else if (strncmp(p, "+47 912 34 567", 14) == 0) {
			o += (size_t)snprintf(out + o, 65536 - o, "%s", phone);
			p += 14;
		} else if (strncmp(p, "22 12 34 56", 11) == 0) {
			p += 11;
		} else {
			out[o++] = *p++;
		}
	}
	free(buf);
	return out;
}

static void
teardown_all(void)
{
	PGconn *c = app();
	char keys[64];

	snprintf(keys, sizeof(keys), "%s%%", tag);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_config('app.current_dealership_id',"
	    " $1, true)", TESLA, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM idempotency_keys WHERE key LIKE"
	    " $1", keys, NULL));
	PQclear(nv_test_exec(c, "DELETE FROM leads WHERE email_norm LIKE"
	    " '%' || $1 || '%'", tag, NULL));
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}

/* ------------------------------------------------------------ tests */

START_TEST(urlencoded_creates_lead)
{
	struct nv_test_http r;
	char email[128], from[192], token[128], body[8192], path[128];
	cJSON *lead;
	char *id;

	mkemail(email, sizeof(email), "kari");
	snprintf(from, sizeof(from), "Kari Nordmann <%s>", email);
	mktoken(token, sizeof(token));
	{
		const char *kv[] = {
			"recipient", "tesla-oslo@leads.norvalt.no",
			"sender", email,
			"from", from,
			"subject", "Prøvekjøring Model Y",
			"body-plain", "Hei!\r\nKan jeg prøvekjøre?\r\n\r\n"
			    "> quoted old mail",
			"stripped-text", "Hei!\r\nKan jeg prøvekjøre?",
			"Message-Id", "<20261126.abc@mail.example.no>",
			NULL
		};
		mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	}
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":false"));
	id = lead_id_of(&r);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "email");
	ck_assert_str_eq(str(lead, "email"), email);
	ck_assert_str_eq(str(lead, "first_name"), "Kari");
	ck_assert_str_eq(str(lead, "last_name"), "Nordmann");
	ck_assert_str_eq(str(lead, "dealership_id"), TESLA);
	ck_assert_str_eq(str(lead, "message"), "Hei!\r\nKan jeg prøvekjøre?");
	ck_assert_str_eq(str(lead, "metadata.email.subject"),
	    "Prøvekjøring Model Y");
	ck_assert_str_eq(str(lead, "metadata.email.message_id"),
	    "<20261126.abc@mail.example.no>");
	ck_assert_str_eq(str(lead, "metadata.email.recipient"),
	    "tesla-oslo@leads.norvalt.no");
	cJSON_Delete(lead);
	assert_one_message(id, "Hei!\r\nKan jeg prøvekjøre?");
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM jobs WHERE"
	    " lead_id = $1::uuid AND kind = 'reply'", id, NULL), 1);
	free(id);
}
END_TEST

START_TEST(multipart_creates_lead)
{
	struct nv_test_http r;
	char email[128], from[192], token[128], body[8192], path[128];
	cJSON *lead;
	char *id;

	mkemail(email, sizeof(email), "ola.multi");
	snprintf(from, sizeof(from), "\"Hansen, Ola\" <%s>", email);
	mktoken(token, sizeof(token));
	{
		/* No sender field: the address comes from From. */
		const char *kv[] = {
			"recipient", "tesla-oslo@leads.norvalt.no",
			"from", from,
			"subject", "Pris på Model 3?",
			"body-plain", "Hva koster en Model 3 i dag?",
			"Message-Id", "<multi.1@mail.example.no>",
			NULL
		};
		mkbody(body, sizeof(body), 1, kv, NULL, token, NULL);
	}
	post(TESLA, body, MULTIPART, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "email");
	ck_assert_str_eq(str(lead, "email"), email);
	ck_assert_str_eq(str(lead, "first_name"), "Ola");
	ck_assert_str_eq(str(lead, "last_name"), "Hansen");
	ck_assert_str_eq(str(lead, "metadata.email.message_id"),
	    "<multi.1@mail.example.no>");
	cJSON_Delete(lead);
	assert_one_message(id, "Hva koster en Model 3 i dag?");
	free(id);

	/* The same person again (new token): joins the lead. */
	mktoken(token, sizeof(token));
	{
		const char *kv[] = {
			"from", from,
			"body-plain", "Og levering?",
			NULL
		};
		mkbody(body, sizeof(body), 1, kv, NULL, token, NULL);
	}
	post(TESLA, body, MULTIPART, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "\"duplicate\":true"));
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(email), 1);
}
END_TEST

START_TEST(adf_body_structured_lead)
{
	struct nv_test_http r;
	char email[128], phone[16], e164[20], token[128], path[128];
	char *xml, *body, *id;
	cJSON *lead;

	mkemail(email, sizeof(email), "ola.adf");
	snprintf(phone, sizeof(phone), "9%07u", (phone_base + 1) % 10000000u);
	xml = adf_fixture(email, phone);
	mktoken(token, sizeof(token));
	body = calloc(1, 262144);
	{
		const char *kv[] = {
			"sender", "leads@autoportal.example.com",
			"from", "AutoPortal <leads@autoportal.example.com>",
			"subject", "New lead",
			"body-plain", xml,
			"Message-Id", "<adf.1@autoportal.example.com>",
			NULL
		};
		mkbody(body, 262144, 0, kv, NULL, token, NULL);
	}
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);

	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "adf");
	ck_assert_str_eq(str(lead, "email"), email);
	snprintf(e164, sizeof(e164), "+47%s", phone);
	ck_assert_str_eq(str(lead, "phone"), e164);
	ck_assert_str_eq(str(lead, "first_name"), "Ola");
	ck_assert_str_eq(str(lead, "last_name"), "Hansen");
	ck_assert_str_eq(str(lead, "vehicle_interest"), "2026 Tesla Model Y");
	ck_assert_str_eq(str(lead, "metadata.adf.provider.name"),
	    "AutoPortal");
	ck_assert_str_eq(str(lead, "metadata.email.message_id"),
	    "<adf.1@autoportal.example.com>");
	cJSON_Delete(lead);
	assert_one_message(id, "Is the car still available? I would like an "
	    "offer.");
	ck_assert_int_eq(leads_with_email("leads@autoportal.example.com"), 0);
	free(id);
	free(body);
	free(xml);
}
END_TEST

START_TEST(adf_unreadable_is_plain)
{
	struct nv_test_http r;
	char email[128], token[128], body[8192], path[128];
	cJSON *lead;
	char *id;

	mkemail(email, sizeof(email), "quoted.adf");
	mktoken(token, sizeof(token));
	{
		const char *kv[] = {
			"sender", email,
			"body-plain", "Vi bruker <adf> i systemet, men </adf> "
			    "er ikke et dokument. <adf><prospect></adf>",
			NULL
		};
		mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	}
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	id = lead_id_of(&r);
	nv_test_http_free(&r);
	snprintf(path, sizeof(path), "/api/leads/%s", id);
	lead = get_as_manager(path);
	ck_assert_str_eq(str(lead, "source"), "email");
	ck_assert_str_eq(str(lead, "email"), email);
	ck_assert(cJSON_IsString(at(lead, "metadata.email.adf_error")));
	cJSON_Delete(lead);
	free(id);
}
END_TEST

START_TEST(replayed_token)
{
	struct nv_test_http r1, r2, r3;
	char email[128], other[128], token[128], body[8192], b2[8192];

	mkemail(email, sizeof(email), "replay");
	mkemail(other, sizeof(other), "replay.other");
	mktoken(token, sizeof(token));
	{
		const char *kv[] = { "sender", email, "body-plain", "Hei",
		    NULL };
		mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	}
	post(TESLA, body, FORM, &r1);
	ck_assert_msg(r1.status == 201, "%ld %s", r1.status, r1.body);
	post(TESLA, body, FORM, &r2);
	ck_assert_int_eq(r2.status, 201);
	ck_assert_str_eq(r2.body, r1.body);
	/* The same token with other content: still the first answer. */
	{
		const char *kv[] = { "sender", other, "body-plain", "Hallo",
		    NULL };
		mkbody(b2, sizeof(b2), 1, kv, NULL, token, NULL);
	}
	post(TESLA, b2, MULTIPART, &r3);
	ck_assert_int_eq(r3.status, 201);
	ck_assert_str_eq(r3.body, r1.body);
	nv_test_http_free(&r1);
	nv_test_http_free(&r2);
	nv_test_http_free(&r3);
	ck_assert_int_eq(leads_with_email(email), 1);
	ck_assert_int_eq(leads_with_email(other), 0);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations m"
	    " JOIN leads l ON l.id = m.lead_id WHERE l.email_norm = $1",
	    email, NULL), 1);
}
END_TEST

START_TEST(signature_errors)
{
	struct nv_test_http r;
	char email[128], token[128], other[128], body[8192], ts[32], sig[80];
	const char *kv[] = { "sender", NULL, "body-plain", "Hei", NULL };

	mkemail(email, sizeof(email), "unsigned");
	kv[1] = email;
	mktoken(token, sizeof(token));

	/* no signature, a wrong one, one over another token */
	mkbody(body, sizeof(body), 0, kv, NULL, token, "");
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);

	mkbody(body, sizeof(body), 0, kv, NULL, token,
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000");
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	snprintf(ts, sizeof(ts), "%ld", (long)time(NULL));
	mktoken(other, sizeof(other));
	mgsign(nv_test_env("NORVALT_MAILGUN_SIGNING_KEY"), ts, other, sig);
	mkbody(body, sizeof(body), 1, kv, ts, token, sig);
	post(TESLA, body, MULTIPART, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	/* signed with another key */
	mgsign("key-not-the-one", ts, token, sig);
	mkbody(body, sizeof(body), 0, kv, ts, token, sig);
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	/* correctly signed, but six minutes old; and six minutes ahead */
	snprintf(ts, sizeof(ts), "%ld", (long)time(NULL) - 360);
	mkbody(body, sizeof(body), 0, kv, ts, token, NULL);
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_assert_error(r.body, "unauthorized");
	nv_test_http_free(&r);
	snprintf(ts, sizeof(ts), "%ld", (long)time(NULL) + 360);
	mkbody(body, sizeof(body), 0, kv, ts, token, NULL);
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 401);
	nv_test_http_free(&r);

	ck_assert_int_eq(leads_with_email(email), 0);

	/* The same token, now right, is taken: it was never used. */
	mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(email), 1);
}
END_TEST

START_TEST(request_errors)
{
	struct nv_test_http r;
	char email[128], token[128], body[8192];
	const char *kv[] = { "sender", NULL, "body-plain", "Hei", NULL };
	const char *nosender[] = { "from", "Ingen adresse", "body-plain",
	    "Hei", NULL };

	mkemail(email, sizeof(email), "errors");
	kv[1] = email;
	mktoken(token, sizeof(token));
	mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);

	post(TESLA, body, "application/json", &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_assert_error(r.body, "unsupported_media_type");
	nv_test_http_free(&r);
	post(TESLA, body, "text/plain", &r);
	ck_assert_int_eq(r.status, 415);
	nv_test_http_free(&r);

	post("99999999-9999-4999-8999-999999999999", body, FORM, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);

	post("not-a-uuid", body, FORM, &r);
	ck_assert_int_eq(r.status, 404);
	nv_test_assert_error(r.body, "not_found");
	nv_test_http_free(&r);

	/* multipart without its boundary parameter; without the end */
	post(TESLA, body, "multipart/form-data", &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_assert_error(r.body, "bad_request");
	nv_test_http_free(&r);
	mkbody(body, sizeof(body), 1, kv, NULL, token, NULL);
	body[strlen(body) - 4] = '\0';
	post(TESLA, body, MULTIPART, &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);

	/* broken urlencoding */
	post(TESLA, "sender=%zz&token=x", FORM, &r);
	ck_assert_int_eq(r.status, 400);
	nv_test_http_free(&r);

	/* signed, but nobody to answer */
	mkbody(body, sizeof(body), 0, nosender, NULL, token, NULL);
	post(TESLA, body, FORM, &r);
	ck_assert_int_eq(r.status, 422);
	nv_test_assert_error(r.body, "validation_failed");
	nv_test_http_free(&r);

	nv_test_http("GET", "/webhooks/email/" TESLA, NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	nv_test_http_free(&r);

	ck_assert_int_eq(leads_with_email(email), 0);
	ck_assert_int_ge(leads_of_run(), 0);
}
END_TEST

/*
 * PostgreSQL stopped: 503 in the JSON shape (Mailgun retries), and the
 * same delivery after the restart is 201 with exactly one lead.
 */
START_TEST(database_down_is_503)
{
	struct nv_test_http r;
	char email[128], token[128], body[8192];
	int i;

	mkemail(email, sizeof(email), "outage");
	mktoken(token, sizeof(token));
	{
		const char *kv[] = { "sender", email, "body-plain",
		    "Er dere der?", NULL };
		mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	}
	nv_test_pg_stop();
	for (i = 0; i < 4; i++) {
		post(TESLA, body, FORM, &r);
		ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
		nv_test_assert_error(r.body, "service_unavailable");
		nv_test_http_free(&r);
	}
	nv_test_pg_start();
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(email), 1);
	ck_assert_int_eq(count_in(TESLA, "SELECT count(*) FROM conversations m"
	    " JOIN leads l ON l.id = m.lead_id WHERE l.email_norm = $1",
	    email, NULL), 1);
}
END_TEST

/*
 * Without NORVALT_MAILGUN_SIGNING_KEY nothing can be verified: 503 in the
 * JSON shape and nothing stored; restored, the same delivery is taken in.
 */
START_TEST(no_signing_key_is_503)
{
	struct nv_test_http r;
	char email[128], token[128], body[8192];

	mkemail(email, sizeof(email), "nokey");
	mktoken(token, sizeof(token));
	{
		const char *kv[] = { "sender", email, "body-plain", "Hei",
		    NULL };
		mkbody(body, sizeof(body), 0, kv, NULL, token, NULL);
	}
	nv_test_app_restart("email", "NORVALT_MAILGUN_SIGNING_KEY=");
	post(TESLA, body, FORM, &r);
	nv_test_app_restart("email", NULL);
	ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
	nv_test_assert_error(r.body, "service_unavailable");
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(email), 0);
	post(TESLA, body, FORM, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	nv_test_http_free(&r);
	ck_assert_int_eq(leads_with_email(email), 1);
}
END_TEST

static Suite *
webhook_email_suite(void)
{
	Suite *s = suite_create("webhook_email");
	TCase *core = tcase_create("core"), *errors = tcase_create("errors"),
	    *outage = tcase_create("outage");

	setup_tag();
	tcase_add_unchecked_fixture(core, NULL, teardown_all);
	tcase_set_timeout(core, 60);
	tcase_add_test(core, urlencoded_creates_lead);
	tcase_add_test(core, multipart_creates_lead);
	tcase_add_test(core, adf_body_structured_lead);
	tcase_add_test(core, adf_unreadable_is_plain);
	tcase_add_test(core, replayed_token);
	suite_add_tcase(s, core);

	tcase_add_unchecked_fixture(errors, NULL, teardown_all);
	tcase_set_timeout(errors, 120);
	tcase_add_test(errors, signature_errors);
	tcase_add_test(errors, request_errors);
	tcase_add_test(errors, no_signing_key_is_503);
	suite_add_tcase(s, errors);

	tcase_add_unchecked_fixture(outage, NULL, teardown_all);
	tcase_set_timeout(outage, 180);
	tcase_add_test(outage, database_down_is_503);
	suite_add_tcase(s, outage);
	return s;
}

NV_TEST_MAIN(webhook_email_suite)
