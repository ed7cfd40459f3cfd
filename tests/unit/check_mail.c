/*
 * check_mail.c - unit tests for nv_mail_render (lib/mail.c): the message a
 * customer's mail program receives.
 *
 * The test reads the rendered message back with its own small decoder,
 * written from the RFCs rather than from lib/mail.c: unfolding (RFC 5322
 * 2.2.3), RFC 2047 encoded-words with OpenSSL's base64 (EVP_DecodeBlock),
 * quoted-printable (RFC 2045 6.7).  The integration test check_delivery
 * does the same through Python's email package on a real SMTP server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../testutil.h"
#include "arena.h"
#include "mail.h"

static Suite *mail_suite(void);

/* Thu, 26 Nov 2026 05:48:44 UTC */
#define NOW	((time_t)1795672124)

static struct nv_arena *a;

static void
setup(void)
{
	a = nv_arena_new();
}

static void
teardown(void)
{
	nv_arena_free(a);
}

static struct nv_mail
base_mail(void)
{
	struct nv_mail m = {
		.from_addr = "leads@norvalt.localhost",
		.from_name = "Tesla Oslo",
		.to_addr = "kari.nordmann@example.no",
		.to_name = "Kari Nordmann",
		.reply_to = "lead-42@norvalt.localhost",
		.subject = "Re: Model 3",
		.body = "Hei Kari,\nTakk for henvendelsen.\n",
		.message_id = "<r-42.1@norvalt.localhost>",
	};
	return m;
}

static char *
render_ok(const struct nv_mail *m, size_t *len)
{
	struct nv_diag d;
	size_t n = 0;
	char *out = NULL;

	nv_diag_reset(&d);
	ck_assert_msg(nv_mail_render(a, &d, m, NOW, &out, &n) == NV_OK,
	    "render failed: %s", d.msg);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strlen(out), n);
	if (len != NULL)
		*len = n;
	return out;
}

/* Render must refuse with NV_ERR_VALIDATION naming field. */
static void
render_refused(const struct nv_mail *m, const char *field)
{
	struct nv_diag d;
	static char sentinel[] = "x";
	size_t n = 99;
	char *out = sentinel;

	nv_diag_reset(&d);
	ck_assert_int_eq(nv_mail_render(a, &d, m, NOW, &out, &n),
	    NV_ERR_VALIDATION);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_ge(d.ndetails, 1);
	ck_assert_str_eq(d.details[0].field, field);
}

/* Every line ends in CRLF, has at most max octets, and is 7-bit. */
static void
assert_lines(const char *msg, size_t max)
{
	const char *p, *line = msg;

	for (p = msg; *p != '\0'; p++) {
		ck_assert_msg((unsigned char)*p < 0x80, "8-bit byte at %zu",
		    (size_t)(p - msg));
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n', "bare CR at %zu",
			    (size_t)(p - msg));
		if (*p == '\n') {
			ck_assert_msg(p > msg && p[-1] == '\r', "bare LF at %zu",
			    (size_t)(p - msg));
			ck_assert_msg((size_t)(p - 1 - line) <= max,
			    "line of %zu octets: %.*s", (size_t)(p - 1 - line),
			    (int)(p - 1 - line), line);
			line = p + 1;
		}
	}
	ck_assert_msg(line == p, "message does not end in CRLF");
}

/* The header block, unfolded (CRLF before white space removed). */
static char *
unfolded_headers(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	char *out, *w;
	const char *p;

	ck_assert_ptr_nonnull(end);
	out = w = nv_arena_alloc(a, (size_t)(end - msg) + 3);
	for (p = msg; p < end + 2; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' ||
		    p[2] == '\t')) {
			p++;
			continue;
		}
		*w++ = *p;
	}
	*w = '\0';
	return out;
}

/* The raw (unfolded) value of header name, or NULL. */
static char *
header(const char *msg, const char *name)
{
	char *h = unfolded_headers(msg), *p, *e;
	size_t n = strlen(name);

	for (p = h; *p != '\0'; p = e + 2) {
		e = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(e);
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return nv_arena_strndup(a, p, (size_t)(e - p));
		}
	}
	return NULL;
}

/* Count of header lines named name (unfolded). */
static int
header_count(const char *msg, const char *name)
{
	char *h = unfolded_headers(msg), *p, *e;
	size_t n = strlen(name);
	int k = 0;

	for (p = h; *p != '\0'; p = e + 2) {
		e = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			k++;
	}
	return k;
}

/*
 * RFC 2047 decoding of an unstructured value: "=?UTF-8?B?...?=" words
 * become their bytes, white space between two words disappears, other
 * text stays.  Fails the test on a word that is not UTF-8/B or does not
 * decode to whole UTF-8 characters.
 */
static char *
decode_words(const char *v)
{
	char *out = nv_arena_alloc(a, strlen(v) + 1), *w = out;
	unsigned char buf[512];
	const char *p = v, *q, *e;
	int n, pad, prev_word = 0;

	while (*p != '\0') {
		if (strncmp(p, "=?", 2) == 0) {
			ck_assert_msg(strncasecmp(p, "=?UTF-8?B?", 10) == 0,
			    "unexpected encoded-word %s", p);
			q = p + 10;
			e = strstr(q, "?=");
			ck_assert_ptr_nonnull(e);
			ck_assert_msg(e + 2 - p <= 75, "encoded-word longer "
			    "than 75: %.*s", (int)(e + 2 - p), p);
			ck_assert_int_lt(e - q, (int)sizeof(buf));
			n = EVP_DecodeBlock(buf, (const unsigned char *)q,
			    (int)(e - q));
			ck_assert_int_ge(n, 0);
			pad = (e - q >= 1 && e[-1] == '=') + (e - q >= 2 &&
			    e[-2] == '=');
			n -= pad;
			/* Whole characters: no word ends inside one. */
			ck_assert_msg(n > 0 && ((buf[n - 1] & 0x80) == 0 ||
			    (buf[n - 1] & 0xc0) == 0x80), "word ends mid "
			    "character");
			ck_assert_msg((buf[0] & 0xc0) != 0x80, "word starts mid "
			    "character");
			memcpy(w, buf, (size_t)n);
			w += n;
			p = e + 2;
			prev_word = 1;
			continue;
		}
		if (prev_word && (*p == ' ' || *p == '\t')) {
			q = p;
			while (*q == ' ' || *q == '\t')
				q++;
			if (strncmp(q, "=?", 2) == 0) {
				p = q;
				continue;
			}
		}
		prev_word = 0;
		*w++ = *p++;
	}
	*w = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The body after the blank line, quoted-printable decoded. */
static char *
qp_body(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n");
	char *out, *w;

	ck_assert_ptr_nonnull(p);
	p += 4;
	out = w = nv_arena_alloc(a, strlen(p) + 1);
	while (*p != '\0') {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 3;		/* soft line break */
		} else if (p[0] == '=') {
			ck_assert_msg(hexval(p[1]) >= 0 && hexval(p[2]) >= 0,
			    "bad QP escape %.3s", p);
			*w++ = (char)(hexval(p[1]) << 4 | hexval(p[2]));
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}

/* ---------------------------------------------------------------- core */

START_TEST(test_ascii_message)
{
	struct nv_mail m = base_mail();
	char *msg = render_ok(&m, NULL);

	assert_lines(msg, 78);
	ck_assert_str_eq(header(msg, "Date"), "Thu, 26 Nov 2026 05:48:44 +0000");
	ck_assert_str_eq(header(msg, "From"),
	    "\"Tesla Oslo\" <leads@norvalt.localhost>");
	ck_assert_str_eq(header(msg, "To"),
	    "\"Kari Nordmann\" <kari.nordmann@example.no>");
	ck_assert_str_eq(header(msg, "Reply-To"), "<lead-42@norvalt.localhost>");
	ck_assert_str_eq(header(msg, "Subject"), "Re: Model 3");
	ck_assert_str_eq(header(msg, "Message-ID"), "<r-42.1@norvalt.localhost>");
	ck_assert_str_eq(header(msg, "MIME-Version"), "1.0");
	ck_assert_str_eq(header(msg, "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_str_eq(header(msg, "Content-Transfer-Encoding"),
	    "quoted-printable");
	ck_assert_ptr_null(header(msg, "In-Reply-To"));
	ck_assert_ptr_null(header(msg, "References"));
	ck_assert_ptr_null(header(msg, "Auto-Submitted"));
	ck_assert_str_eq(qp_body(msg),
	    "Hei Kari,\r\nTakk for henvendelsen.\r\n");
	/* Each header exactly once. */
	ck_assert_int_eq(header_count(msg, "From"), 1);
	ck_assert_int_eq(header_count(msg, "To"), 1);
	ck_assert_int_eq(header_count(msg, "Subject"), 1);
}
END_TEST

START_TEST(test_date_format)
{
	struct nv_mail m = base_mail();
	struct nv_diag d;
	size_t n;
	char *out;

	/* 1 Jan 2027 00:00:00 UTC, a Friday; 29 Feb 2028 23:59:59, Tuesday. */
	ck_assert_int_eq(nv_mail_render(a, &d, &m, (time_t)1798761600, &out,
	    &n), NV_OK);
	ck_assert_str_eq(header(out, "Date"), "Fri, 01 Jan 2027 00:00:00 +0000");
	ck_assert_int_eq(nv_mail_render(a, &d, &m, (time_t)1835481599, &out,
	    &n), NV_OK);
	ck_assert_str_eq(header(out, "Date"), "Tue, 29 Feb 2028 23:59:59 +0000");
}
END_TEST

START_TEST(test_utf8_subject_and_names)
{
	struct nv_mail m = base_mail();
	const char *subj = "Svar på din henvendelse om Škoda Enyaq – "
	    "æøå ÆØÅ";
	char *msg, *from, *to;

	m.subject = subj;
	m.from_name = "Bilhuset Ålesund";
	m.to_name = "Øyvind Æsøy";
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_ptr_nonnull(strstr(header(msg, "Subject"), "=?UTF-8?B?"));
	ck_assert_str_eq(decode_words(header(msg, "Subject")), subj);
	from = decode_words(header(msg, "From"));
	to = decode_words(header(msg, "To"));
	ck_assert_str_eq(from, "Bilhuset Ålesund <leads@norvalt.localhost>");
	ck_assert_str_eq(to, "Øyvind Æsøy <kari.nordmann@example.no>");
	/* Plain words stay readable; the long name folds, and reads back. */
	m.from_name = "Bilhuset Ålesund AS avdeling for bruktbil og nybil i "
	    "Møre og Romsdal, Sunnmøre og Nordfjord (æøå ÆØÅ æøå ÆØÅ æøå)";
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_ptr_nonnull(strstr(msg, "From: Bilhuset =?UTF-8?B?"));
	ck_assert_str_eq(decode_words(header(msg, "From")), nv_arena_cat(a,
	    m.from_name, " <leads@norvalt.localhost>", (char *)NULL));
}
END_TEST

START_TEST(test_quoted_name)
{
	struct nv_mail m = base_mail();
	char *msg;

	m.from_name = "Bil \"Sjefen\" AS\\Oslo";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "From"),
	    "\"Bil \\\"Sjefen\\\" AS\\\\Oslo\" <leads@norvalt.localhost>");
	/* An ASCII name that looks like an encoded-word is encoded itself. */
	m.from_name = "=?UTF-8?B?SGk=?=";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(decode_words(header(msg, "From")),
	    "=?UTF-8?B?SGk=?= <leads@norvalt.localhost>");
	/* No name: the bare address in angle brackets. */
	m.from_name = NULL;
	m.to_name = "";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "From"), "<leads@norvalt.localhost>");
	ck_assert_str_eq(header(msg, "To"), "<kari.nordmann@example.no>");
}
END_TEST

START_TEST(test_threading_headers)
{
	struct nv_mail m = base_mail();
	char *msg;

	m.in_reply_to = "<CAF=abc123@mail.gmail.com>";
	m.references = "<first@example.no> <CAF=abc123@mail.gmail.com>";
	m.auto_submitted = "auto-replied";
	m.reply_to = NULL;
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "In-Reply-To"),
	    "<CAF=abc123@mail.gmail.com>");
	ck_assert_str_eq(header(msg, "References"),
	    "<first@example.no> <CAF=abc123@mail.gmail.com>");
	ck_assert_str_eq(header(msg, "Auto-Submitted"), "auto-replied");
	ck_assert_ptr_null(header(msg, "Reply-To"));
}
END_TEST

/*
 * In-Reply-To and References come from the customer's mail program: odd
 * forms are made canonical or left out, never a reason to fail the reply.
 */
START_TEST(test_threading_lenient)
{
	struct nv_mail m = base_mail();
	char refs[2048], *msg;
	size_t n = 0;
	int i;

	m.in_reply_to = "  CAF=abc@mail.example.no ";
	m.references = "<a@b.no>, c@d.no (a comment <x@y>) junk <e@f.no>";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "In-Reply-To"),
	    "<CAF=abc@mail.example.no>");
	ck_assert_str_eq(header(msg, "References"),
	    "<a@b.no> <c@d.no> <e@f.no>");
	/* Nothing usable: the headers are left out, the mail still goes. */
	m.in_reply_to = "<no at sign> \"x\"@y <>";
	m.references = "(only a comment) <@> <a@> æøå@example.no";
	msg = render_ok(&m, NULL);
	ck_assert_ptr_null(header(msg, "In-Reply-To"));
	ck_assert_ptr_null(header(msg, "References"));
	/* Two ids in In-Reply-To: the last one. */
	m.in_reply_to = "<one@x.no> <two@x.no>";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "In-Reply-To"), "<two@x.no>");
	/* A long References keeps the last 20 ids, folded. */
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(refs + n, sizeof(refs) - n, "<id%d@x.no> ",
		    i);
	m.references = refs;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_int_eq(strncmp(header(msg, "References"), "<id20@x.no> ",
	    12), 0);
	ck_assert_ptr_nonnull(strstr(header(msg, "References"),
	    " <id39@x.no>"));
	ck_assert_ptr_null(strstr(header(msg, "References"), "<id19@x.no>"));
}
END_TEST

START_TEST(test_body_dot_safe_and_qp)
{
	struct nv_mail m = base_mail();
	char body[2048], want[2600], *msg, *p;
	size_t i, n;

	n = (size_t)snprintf(body, sizeof(body),
	    "Hei Åse,\n"
	    ".\n"
	    "..to punktum\n"
	    "From the desk of the sales team\n"
	    "pris = 399 000 kr\n"
	    "trailing spaces   \n"
	    "tab\there\t\n"
	    "\n");
	for (i = 0; i < 300; i++)
		body[n++] = (char)('a' + i % 26);
	memcpy(body + n, "\nslutt æøå ÆØÅ", sizeof("\nslutt æøå ÆØÅ"));
	m.body = body;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 76);
	/* Dot-safe: no line of the message starts with '.'. */
	ck_assert_msg(strstr(msg, "\r\n.") == NULL, "a line starts with .");
	/* mbox-safe: no body line starts with "From ". */
	ck_assert_msg(strstr(strstr(msg, "\r\n\r\n"), "\r\nFrom ") == NULL,
	    "a body line starts with From");
	/* Decoded, it is the body with CRLF line ends (and a final one). */
	for (p = body, n = 0; *p != '\0'; p++) {
		if (*p == '\n')
			want[n++] = '\r';
		want[n++] = *p;
	}
	memcpy(want + n, "\r\n", 3);
	ck_assert_str_eq(qp_body(msg), want);
}
END_TEST

/* Found by fuzz_mail: a soft line break must not leave a line with '.'. */
START_TEST(test_soft_break_dot_safe)
{
	struct nv_mail m = base_mail();
	char body[600], *msg;
	size_t i;

	for (i = 0; i < 300; i++)
		body[i] = '.';
	/* And a soft break landing right before "From ". */
	memset(body + 300, 'x', 74);
	memcpy(body + 374, "From here on", 13);
	m.body = body;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 76);
	ck_assert_msg(strstr(msg, "\r\n.") == NULL, "a line starts with .");
	ck_assert_msg(strstr(msg, "\r\nFrom ") == NULL,
	    "a line starts with From");
	ck_assert_str_eq(qp_body(msg), nv_arena_cat(a, body, "\r\n",
	    (char *)NULL));
}
END_TEST

/* "Re: " + an inbound subject may carry a TAB: kept, never raw. */
START_TEST(test_tab_in_texts)
{
	struct nv_mail m = base_mail();
	char *msg;

	m.subject = "Re:\tModel 3\tledig?";
	m.from_name = "Tesla\tOslo";
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_str_eq(decode_words(header(msg, "Subject")),
	    "Re:\tModel 3\tledig?");
	ck_assert_str_eq(decode_words(header(msg, "From")),
	    "Tesla\tOslo <leads@norvalt.localhost>");
	ck_assert_ptr_null(strchr(unfolded_headers(msg), '\t'));
}
END_TEST

START_TEST(test_line_endings)
{
	struct nv_mail m = base_mail();
	char *msg;

	m.body = "one\r\ntwo\nthree\rfour";
	msg = render_ok(&m, NULL);
	assert_lines(msg, 76);
	ck_assert_str_eq(qp_body(msg), "one\r\ntwo\r\nthree\r\nfour\r\n");
}
END_TEST

/* -------------------------------------------------------------- limits */

START_TEST(test_long_ascii_subject_folds)
{
	struct nv_mail m = base_mail();
	char subj[400], *msg;
	size_t n = 0;

	while (n < 300)
		n += (size_t)snprintf(subj + n, sizeof(subj) - n, "word%zu ", n);
	subj[n - 1] = '\0';
	m.subject = subj;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	/* Folded (more than one line), and unfolding gives it back. */
	ck_assert_ptr_nonnull(strstr(msg, "\r\n word"));
	ck_assert_str_eq(header(msg, "Subject"), subj);
}
END_TEST

START_TEST(test_long_utf8_subject_words)
{
	struct nv_mail m = base_mail();
	char subj[1200], *msg;
	size_t n = 0;

	/* Two- and three-byte characters, so splits fall everywhere. */
	while (n + 8 < sizeof(subj) - 1) {
		memcpy(subj + n, "æ€ø å", 8);
		n += 8;
	}
	subj[n] = '\0';
	m.subject = subj;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_str_eq(decode_words(header(msg, "Subject")), subj);
}
END_TEST

START_TEST(test_unbroken_ascii_subject)
{
	struct nv_mail m = base_mail();
	char subj[300], *msg;

	memset(subj, 'x', sizeof(subj) - 1);
	subj[sizeof(subj) - 1] = '\0';
	m.subject = subj;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_str_eq(decode_words(header(msg, "Subject")), subj);
}
END_TEST

START_TEST(test_subject_spaces_kept)
{
	struct nv_mail m = base_mail();
	char *msg;

	m.subject = " two  spaces ";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(decode_words(header(msg, "Subject")),
	    " two  spaces ");
	m.subject = "";
	msg = render_ok(&m, NULL);
	ck_assert_str_eq(header(msg, "Subject"), "");
}
END_TEST

START_TEST(test_long_references_fold)
{
	struct nv_mail m = base_mail();
	char refs[1024], *msg;
	size_t n = 0;
	int i;

	for (i = 0; i < 12; i++)
		n += (size_t)snprintf(refs + n, sizeof(refs) - n,
		    "%s<message-%d.abcdef@mail.example.no>", i ? " " : "", i);
	m.references = refs;
	msg = render_ok(&m, NULL);
	assert_lines(msg, 78);
	ck_assert_str_eq(header(msg, "References"), refs);
}
END_TEST

START_TEST(test_size_limits)
{
	struct nv_mail m = base_mail();
	char *big;

	big = nv_arena_alloc(a, NV_MAIL_BODY_MAX + 2);
	memset(big, 'a', NV_MAIL_BODY_MAX);
	m.body = big;
	render_ok(&m, NULL);
	big[NV_MAIL_BODY_MAX] = 'a';
	render_refused(&m, "body");
	m = base_mail();
	big[NV_MAIL_HEADER_MAX + 1] = '\0';
	m.subject = big;
	render_refused(&m, "subject");
	m = base_mail();
	m.body = "";
	ck_assert_str_eq(qp_body(render_ok(&m, NULL)), "");
}
END_TEST

/* -------------------------------------------------------------- errors */

START_TEST(test_header_injection)
{
	static const char *const evil[] = {
		"x\r\nBcc: victim@example.no", "x\nBcc: victim@example.no",
		"x\rBcc: victim@example.no", "x\x01", "x\x7f", "x\t"
	};
	struct nv_mail m;
	size_t i, n = sizeof(evil) / sizeof(evil[0]);

	for (i = 0; i < n; i++) {
		m = base_mail();
		m.to_addr = nv_arena_cat(a, "kari@example.no", evil[i],
		    (char *)NULL);
		render_refused(&m, "to_addr");
		m = base_mail();
		m.from_addr = nv_arena_cat(a, "a@example.no", evil[i],
		    (char *)NULL);
		render_refused(&m, "from_addr");
		m = base_mail();
		m.reply_to = nv_arena_cat(a, "r@example.no", evil[i],
		    (char *)NULL);
		render_refused(&m, "reply_to");
		m = base_mail();
		m.message_id = nv_arena_cat(a, "<a@b>", evil[i], (char *)NULL);
		render_refused(&m, "message_id");
		m = base_mail();
		m.in_reply_to = nv_arena_cat(a, "<a@b>", evil[i], (char *)NULL);
		render_refused(&m, "in_reply_to");
		m = base_mail();
		m.references = nv_arena_cat(a, "<a@b>", evil[i], (char *)NULL);
		render_refused(&m, "references");
		m = base_mail();
		m.auto_submitted = evil[i];
		render_refused(&m, "auto_submitted");
		/* Texts may hold a TAB (the last entry), nothing else. */
		if (i == n - 1)
			continue;
		m = base_mail();
		m.subject = evil[i];
		render_refused(&m, "subject");
		m = base_mail();
		m.from_name = evil[i];
		render_refused(&m, "from_name");
		m = base_mail();
		m.to_name = evil[i];
		render_refused(&m, "to_name");
	}
}
END_TEST

START_TEST(test_bad_values)
{
	struct nv_mail m;

	m = base_mail();
	m.to_addr = "not an address";
	render_refused(&m, "to_addr");
	m = base_mail();
	m.to_addr = "Kari <kari@example.no>";
	render_refused(&m, "to_addr");
	m = base_mail();
	m.from_addr = NULL;
	render_refused(&m, "from_addr");
	m = base_mail();
	m.to_addr = NULL;
	render_refused(&m, "to_addr");
	m = base_mail();
	m.subject = NULL;
	render_refused(&m, "subject");
	m = base_mail();
	m.body = NULL;
	render_refused(&m, "body");
	m = base_mail();
	m.message_id = NULL;
	render_refused(&m, "message_id");
	m = base_mail();
	m.message_id = "no-brackets@example.no";
	render_refused(&m, "message_id");
	m = base_mail();
	m.message_id = "<no-at-sign>";
	render_refused(&m, "message_id");
	m = base_mail();
	m.message_id = "<a@b> <c@d>";
	render_refused(&m, "message_id");
	m.message_id = "<@b.no>";
	render_refused(&m, "message_id");
	m.message_id = "<a@>";
	render_refused(&m, "message_id");
	m.message_id = "<a@b.no>x";
	render_refused(&m, "message_id");
	m.message_id = "<a@b.no";
	render_refused(&m, "message_id");
	m.message_id = "<a<b@c.no>";
	render_refused(&m, "message_id");
	m = base_mail();
	m.subject = "bad \xc3\x28 utf-8";
	render_refused(&m, "subject");
	m = base_mail();
	m.to_name = "overlong \xc0\xaf";
	render_refused(&m, "to_name");
	m = base_mail();
	m.body = "bad \xff body";
	render_refused(&m, "body");
	m = base_mail();
	m.body = "nul-free but \x01 control";
	render_refused(&m, "body");
}
END_TEST

START_TEST(test_oneline)
{
	struct nv_mail m = base_mail();

	ck_assert_ptr_null(nv_mail_oneline(a, NULL, 10));
	ck_assert_str_eq(nv_mail_oneline(a, "  Kari\r\n\tNordmann \x01 ", 100),
	    "Kari Nordmann");
	ck_assert_str_eq(nv_mail_oneline(a, "\r\n\t ", 100), "");
	/* Cut at a character boundary: "Ø" is two bytes. */
	ck_assert_str_eq(nv_mail_oneline(a, "ØØØ", 5), "ØØ");
	ck_assert_str_eq(nv_mail_oneline(a, "ab cd", 3), "ab");
	/* What it gives renders, where the raw value is refused. */
	m.to_name = "Kari\nBcc: x@example.no";
	render_refused(&m, "to_name");
	m.to_name = nv_mail_oneline(a, m.to_name, 200);
	ck_assert_str_eq(decode_words(header(render_ok(&m, NULL), "To")),
	    "\"Kari Bcc: x@example.no\" <kari.nordmann@example.no>");
}
END_TEST

static Suite *
mail_suite(void)
{
	Suite *s = suite_create("mail");
	TCase *tc;

	tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ascii_message);
	tcase_add_test(tc, test_date_format);
	tcase_add_test(tc, test_utf8_subject_and_names);
	tcase_add_test(tc, test_quoted_name);
	tcase_add_test(tc, test_threading_headers);
	tcase_add_test(tc, test_threading_lenient);
	tcase_add_test(tc, test_body_dot_safe_and_qp);
	tcase_add_test(tc, test_soft_break_dot_safe);
	tcase_add_test(tc, test_tab_in_texts);
	tcase_add_test(tc, test_line_endings);
	tcase_add_test(tc, test_oneline);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_long_ascii_subject_folds);
	tcase_add_test(tc, test_long_utf8_subject_words);
	tcase_add_test(tc, test_unbroken_ascii_subject);
	tcase_add_test(tc, test_subject_spaces_kept);
	tcase_add_test(tc, test_long_references_fold);
	tcase_add_test(tc, test_size_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_header_injection);
	tcase_add_test(tc, test_bad_values);
	suite_add_tcase(s, tc);
	return s;
}

NV_TEST_MAIN(mail_suite)
