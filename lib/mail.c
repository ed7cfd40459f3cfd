/*
 * mail.c - the RFC 5322 message and SMTP delivery (see mail.h).
 *
 * Rendering writes into a growable buffer in the arena (struct mbuf) and
 * never fails after the inputs have been checked: every header value is
 * refused up front when it holds a control character, so no value can end
 * a header line early (header injection), and every text is checked to be
 * UTF-8 before it is encoded.
 *
 * Headers.  An ASCII subject is written as it is and folded at white space
 * before column 78; a subject or display name with any other byte becomes
 * RFC 2047 "B" encoded-words of whole UTF-8 characters, at most 39 bytes
 * (a 64-column word) each, one per folded line.  B rather than Q: it has
 * no rules about which specials may appear where (a phrase allows fewer
 * than a subject), and a header is short, so readability in the raw
 * message matters little there.
 *
 * Body.  Quoted-printable (RFC 2045 6.7): lines end in CRLF whatever the
 * caller used, no encoded line is longer than 76 columns, '=' and bytes
 * outside printable ASCII are =XX, white space before a line end is
 * encoded, and a line starting with "." or "From " is encoded at its first
 * character so no SMTP server or mbox reader can take it for something
 * else.  The result is 7-bit, so it needs neither 8BITMIME nor SMTPUTF8.
 *
 * Sending.  libcurl speaks SMTP; the only thing it does not hand back is
 * the text of the server's reply, which the diagnostic should carry, so a
 * debug callback keeps the last line the server sent (CURLINFO_HEADER_IN).
 * What the client sends (CURLINFO_HEADER_OUT, which holds the AUTH
 * exchange) is never looked at, so the password cannot reach a message.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "curlbuf.h"
#include "log.h"
#include "mail.h"
#include "valid.h"

#define MAIL_LINE_MAX		78	/* header fold column (RFC 5322 2.1.1) */
#define MAIL_QP_MAX		76	/* encoded body line (RFC 2045 6.7) */
#define MAIL_WORD_BYTES		39	/* UTF-8 bytes per encoded-word */
#define MAIL_REPLY_MAX		160	/* server reply kept for the diag */
#define MAIL_CONNECT_MAX_MS	3000L
#define MAIL_ID_MAX		250	/* one msg-id, so a line stays < 998 */
#define MAIL_NAME_QUOTED_MAX	200	/* longer names become encoded-words */
#define MAIL_REFS_MAX		20	/* References kept (the last ones) */

struct mbuf {
	struct nv_arena	*a;
	char		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 col;	/* column of the current header line */
};

static void
mbuf_grow(struct mbuf *b, size_t n)
{
	char *p;

	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap == 0 ? 4096 : b->cap * 2;
	p = nv_arena_alloc(b->a, b->cap);
	if (b->len > 0)
		memcpy(p, b->p, b->len);
	b->p = p;
}

static void
mbuf_add(struct mbuf *b, const char *s, size_t n)
{
	size_t i;

	mbuf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	for (i = 0; i < n; i++)
		b->col = s[i] == '\n' ? 0 : b->col + 1;
}

static void
mbuf_str(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

/* ------------------------------------------------------------- checks */

/* 1 when s (len bytes) is printable ASCII only (space included). */
static int
mail_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * A header value: NULL allowed when optional, at most NV_MAIL_HEADER_MAX
 * bytes, UTF-8 (ASCII when ascii), and no control character: no CR or LF,
 * so it cannot start a new header.  A text (ascii 0: a subject or a name)
 * may hold TAB, which "Re: " + an inbound subject easily does; it goes
 * out inside an encoded-word.
 */
static enum nv_err
mail_check_header(struct nv_diag *d, const char *field, const char *v,
    int required, int ascii)
{
	size_t i, len;

	if (v == NULL) {
		if (!required)
			return NV_OK;
		nv_diag_field(d, field, "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION, "%s is required",
		    field);
	}
	len = strlen(v);
	if (len > NV_MAIL_HEADER_MAX) {
		nv_diag_field(d, field, "is longer than %d bytes",
		    NV_MAIL_HEADER_MAX);
		return nv_diag_set(d, NV_ERR_VALIDATION, "%s is too long",
		    field);
	}
	for (i = 0; i < len; i++)
		if (((unsigned char)v[i] < 0x20 && (ascii || v[i] != '\t')) ||
		    v[i] == 0x7f) {
			nv_diag_field(d, field, "holds a control character "
			    "(CR, LF or other)");
			return nv_diag_set(d, NV_ERR_VALIDATION, "%s holds a "
			    "control character", field);
		}
	if (ascii ? !mail_ascii(v, len) : !nv_valid_text(v, len)) {
		nv_diag_field(d, field, ascii ? "must be ASCII" :
		    "is not valid UTF-8");
		return nv_diag_set(d, NV_ERR_VALIDATION, "%s is not valid %s",
		    field, ascii ? "ASCII" : "UTF-8");
	}
	return NV_OK;
}

static enum nv_err
mail_check_addr(struct nv_diag *d, const char *field, const char *v,
    int required)
{
	enum nv_err rc;

	if ((rc = mail_check_header(d, field, v, required, 1)) != NV_OK)
		return rc;
	if (v != NULL && !nv_valid_email(v)) {
		nv_diag_field(d, field, "is not an e-mail address");
		return nv_diag_set(d, NV_ERR_VALIDATION, "%s is not an e-mail "
		    "address", field);
	}
	return NV_OK;
}

/*
 * The caller's own Message-ID: exactly one msg-id "<left@right>" of at
 * most MAIL_ID_MAX bytes, with no '<', '>' or white space inside.
 */
static enum nv_err
mail_check_id(struct nv_diag *d, const char *field, const char *v)
{
	const char *p, *at = NULL;
	enum nv_err rc;

	if ((rc = mail_check_header(d, field, v, 1, 1)) != NV_OK)
		return rc;
	if (v[0] != '<' || strlen(v) > MAIL_ID_MAX)
		goto bad;
	for (p = v + 1; *p != '>'; p++) {
		if (*p == '\0' || *p == '<' || *p == ' ')
			goto bad;
		if (*p == '@')
			at = p;
	}
	if (p[1] == '\0' && at != NULL && at != v + 1 && at != p - 1)
		return NV_OK;
bad:
	nv_diag_field(d, field, "must be one message id \"<left@right>\" of "
	    "at most %d bytes", MAIL_ID_MAX);
	return nv_diag_set(d, NV_ERR_VALIDATION, "%s is not a message id",
	    field);
}

/* NV_ERR_VALIDATION when v holds a control character (injection). */
static enum nv_err
mail_check_controls(struct nv_diag *d, const char *field, const char *v)
{
	const char *p;

	for (p = v; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			nv_diag_field(d, field, "holds a control character "
			    "(CR, LF or other)");
			return nv_diag_set(d, NV_ERR_VALIDATION, "%s holds a "
			    "control character", field);
		}
	return NV_OK;
}

/*
 * The threading ids of s (In-Reply-To or References from an inbound
 * mail, whatever its sender's software wrote) as canonical msg-ids
 * "<left@right>" separated by spaces, at most max of them (the last
 * ones, which matter most for threading); angle brackets are added when
 * missing, and comments, commas and anything that is not an id are
 * dropped.  NULL when nothing usable is left: the header is left out
 * rather than the reply refused, since threading is only a convenience.
 */
static char *
mail_thread_ids(struct nv_arena *a, const char *s, int max)
{
	const char *p, *e, *q, *at;
	const char *tok[32];
	size_t tlen[32], n = 0, i, len, first;
	char *out, *w;

	for (p = s; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '(') {		/* a comment: skip it */
			e = p + strcspn(p, ")");
			if (*e == ')')
				e++;
			continue;
		}
		if (*p == '<') {
			p++;
			e = p + strcspn(p, "> ");
			len = (size_t)(e - p);
			if (*e == '>')
				e++;
		} else {
			e = p + strcspn(p, " ,(<");
			len = (size_t)(e - p);
		}
		at = memchr(p, '@', len);
		if (len == 0 || len > MAIL_ID_MAX - 2 || at == NULL || at == p ||
		    at == p + len - 1 || memchr(at + 1, '@', (size_t)(p + len -
		    at - 1)) != NULL)
			continue;
		for (q = p; q < p + len; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q > 0x7e ||
			    *q == '<' || *q == '>' || *q == '"' || *q == '\\')
				break;
		if (q < p + len)
			continue;
		if (n == sizeof(tok) / sizeof(tok[0])) {
			memmove(tok, tok + 1, sizeof(tok) - sizeof(tok[0]));
			memmove(tlen, tlen + 1, sizeof(tlen) - sizeof(tlen[0]));
			n--;
		}
		tok[n] = p;
		tlen[n++] = len;
	}
	if (n == 0)
		return NULL;
	first = n > (size_t)max ? n - (size_t)max : 0;
	for (len = 0, i = first; i < n; i++)
		len += tlen[i] + 3;
	out = w = nv_arena_alloc(a, len + 1);
	for (i = first; i < n; i++) {
		if (i > first)
			*w++ = ' ';
		*w++ = '<';
		memcpy(w, tok[i], tlen[i]);
		w += tlen[i];
		*w++ = '>';
	}
	*w = '\0';
	return out;
}

static enum nv_err
mail_check(struct nv_diag *d, const struct nv_mail *m)
{
	enum nv_err rc;

	if ((rc = mail_check_addr(d, "from_addr", m->from_addr, 1)) ||
	    (rc = mail_check_header(d, "from_name", m->from_name, 0, 0)) ||
	    (rc = mail_check_addr(d, "to_addr", m->to_addr, 1)) ||
	    (rc = mail_check_header(d, "to_name", m->to_name, 0, 0)) ||
	    (rc = mail_check_addr(d, "reply_to", m->reply_to, 0)) ||
	    (rc = mail_check_header(d, "subject", m->subject, 1, 0)) ||
	    (rc = mail_check_id(d, "message_id", m->message_id)) ||
	    (rc = mail_check_controls(d, "in_reply_to", m->in_reply_to)) ||
	    (rc = mail_check_controls(d, "references", m->references)))
		return rc;
	if (m->body == NULL) {
		nv_diag_field(d, "body", "is required");
		return nv_diag_set(d, NV_ERR_VALIDATION, "body is required");
	}
	if (strlen(m->body) > NV_MAIL_BODY_MAX) {
		nv_diag_field(d, "body", "is longer than %d bytes",
		    NV_MAIL_BODY_MAX);
		return nv_diag_set(d, NV_ERR_VALIDATION, "body is too long");
	}
	if (!nv_valid_text(m->body, strlen(m->body))) {
		nv_diag_field(d, "body", "is not valid UTF-8 text");
		return nv_diag_set(d, NV_ERR_VALIDATION, "body is not valid "
		    "UTF-8 text");
	}
	return NV_OK;
}

/* ----------------------------------------------------------- encoding */

static const char mail_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
mail_base64(struct mbuf *b, const unsigned char *s, size_t n)
{
	char q[4];
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = mail_b64[s[i] >> 2];
		q[1] = mail_b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = mail_b64[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		q[3] = mail_b64[s[i + 2] & 63];
		mbuf_add(b, q, 4);
	}
	if (i < n) {
		q[0] = mail_b64[s[i] >> 2];
		if (i + 1 < n) {
			q[1] = mail_b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
			q[2] = mail_b64[(s[i + 1] & 15) << 2];
		} else {
			q[1] = mail_b64[(s[i] & 3) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		mbuf_add(b, q, 4);
	}
}

/*
 * s as encoded-words, each holding whole UTF-8 characters, folded so that
 * every word starts a new line after the first.
 */
static void
mail_words(struct mbuf *b, const char *s)
{
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		n = len - i < MAIL_WORD_BYTES ? len - i : MAIL_WORD_BYTES;
		/* Never split a character: back off continuation bytes. */
		while (i + n < len && n > 0 &&
		    ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		assert(n > 0);
		if (i > 0)
			mbuf_str(b, "\r\n ");
		mbuf_str(b, "=?UTF-8?B?");
		mail_base64(b, (const unsigned char *)s + i, n);
		mbuf_str(b, "?=");
		i += n;
	}
}

/*
 * ASCII text folded at white space: a space that would let the line pass
 * MAIL_LINE_MAX becomes CRLF + space.  A word longer than a line stays
 * whole (the hard limit is 998).
 */
static void
mail_folded(struct mbuf *b, const char *s)
{
	const char *w, *e;

	while (*s != '\0') {
		w = s;
		if (*w == ' ')
			w++;
		e = w;
		while (*e != '\0' && *e != ' ')
			e++;
		if (*s == ' ' && b->col + (size_t)(e - s) > MAIL_LINE_MAX) {
			mbuf_str(b, "\r\n");
			/* The space that was there starts the folded line. */
		}
		mbuf_add(b, s, (size_t)(e - s));
		s = e;
	}
}

/* The text of an unstructured header (Subject). */
static void
mail_text(struct mbuf *b, const char *s)
{
	size_t len = strlen(s), word = 0, longest = 0, i;

	for (i = 0; i < len; i++) {
		word = s[i] == ' ' ? 0 : word + 1;
		if (word > longest)
			longest = word;
	}

	/*
	 * Encoded-words also for ASCII that looks like one, and for leading
	 * or doubled spaces, which unfolding would not give back.
	 */
	if (mail_ascii(s, len) && strstr(s, "=?") == NULL &&
	    strstr(s, "  ") == NULL && s[0] != ' ' &&
	    (len == 0 || s[len - 1] != ' ') && longest < MAIL_LINE_MAX - 10)
		mail_folded(b, s);
	else
		mail_words(b, s);
}

/* 1 when the word w[0..n) can stand in a phrase as it is (an atom). */
static int
mail_atom(const char *w, size_t n)
{
	size_t i;

	if (n == 0 || n > 60)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)w[i]) || (unsigned char)w[i] > 0x7f)
			if (strchr("!#$%&'*+-/=?^_`{|}~", w[i]) == NULL)
				return 0;
	for (i = 0; i + 1 < n; i++)
		if (w[i] == '=' && w[i + 1] == '?')
			return 0;	/* would read as an encoded-word */
	return 1;
}

/*
 * A display name with non-ASCII text: atoms stay as they are and each
 * run of other words becomes encoded-words, its inner spaces inside the
 * encoding.  Encoding the name word by word would not do: the space
 * between two adjacent encoded-words is not part of the text (RFC 2047
 * 6.2), yet some parsers (Python's email package) keep it, so a name
 * split inside a word would come out differently in different readers.
 * Runs longer than MAIL_WORD_BYTES still split, at character boundaries.
 */
static void
mail_phrase(struct mbuf *b, const char *name)
{
	const char *p = name, *e, *run;
	size_t n, first;
	int any = 0;

	while (*p != '\0') {
		e = p + strcspn(p, " ");
		n = (size_t)(e - p);
		if (mail_atom(p, n)) {
			run = NULL;
			first = n;
		} else {
			/* Extend the run over the following non-atoms. */
			run = p;
			while (*e == ' ' && e[1] != '\0' &&
			    !mail_atom(e + 1, strcspn(e + 1, " ")))
				e = e + 1 + strcspn(e + 1, " ");
			n = (size_t)(e - p);
			first = n < MAIL_WORD_BYTES ? n : MAIL_WORD_BYTES;
			first = 12 + (first + 2) / 3 * 4;
		}
		if (any)
			mbuf_str(b, b->col + 1 + first > MAIL_LINE_MAX ?
			    "\r\n " : " ");
		if (run != NULL)
			mail_words(b, nv_arena_strndup(b->a, run, n));
		else
			mbuf_add(b, p, n);
		any = 1;
		p = *e == ' ' ? e + 1 : e;
	}
}

/* "Name <addr>", or just addr; the name quoted or encoded as it needs. */
static void
mail_mailbox(struct mbuf *b, const char *name, const char *addr)
{
	const char *p;
	size_t len;

	if (name != NULL && *name != '\0') {
		len = strlen(name);
		if (mail_ascii(name, len) && len <= MAIL_NAME_QUOTED_MAX &&
		    strstr(name, "=?") == NULL) {
			mbuf_str(b, "\"");
			for (p = name; *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					mbuf_str(b, "\\");
				mbuf_add(b, p, 1);
			}
			mbuf_str(b, "\"");
		} else if (name[0] != ' ' && name[len - 1] != ' ' &&
		    strstr(name, "  ") == NULL) {
			mail_phrase(b, name);
		} else {
			mail_words(b, name);
		}
		if (b->col + strlen(addr) + 3 > MAIL_LINE_MAX)
			mbuf_str(b, "\r\n");
		mbuf_str(b, " ");
	}
	mbuf_str(b, "<");
	mbuf_str(b, addr);
	mbuf_str(b, ">");
}

static void
mail_header(struct mbuf *b, const char *name, const char *value)
{
	mbuf_str(b, name);
	mbuf_str(b, ": ");
	mail_folded(b, value);
	mbuf_str(b, "\r\n");
}

/* RFC 5322 3.3 date-time in UTC, independent of the locale. */
static void
mail_date(struct mbuf *b, time_t now)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec"
	};
	char s[64];
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(s, sizeof(s), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	mbuf_str(b, s);
}

/*
 * One body line (no line end) in quoted-printable, then CRLF.  Every
 * encoded line, the ones a soft break starts included, begins with
 * neither "." (SMTP's end of data) nor "From " (mbox).
 */
static void
mail_qp_line(struct mbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char enc[3];
	size_t i, room;
	int lit;

	b->col = 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && i + 1 < n);
		/* Leave room for a soft break's '=' unless this is the last. */
		room = i + 1 < n ? MAIL_QP_MAX - 1 : MAIL_QP_MAX;
		if (b->col + (lit ? 1 : 3) > room) {
			mbuf_str(b, "=\r\n");
			b->col = 0;
		}
		if (b->col == 0 && (c == '.' || (c == 'F' && n - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)))
			lit = 0;
		if (lit) {
			enc[0] = (char)c;
			mbuf_add(b, enc, 1);
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			mbuf_add(b, enc, 3);
		}
	}
	mbuf_str(b, "\r\n");
}

/* The body, its lines split at CRLF, LF or a lone CR. */
static void
mail_qp(struct mbuf *b, const char *s)
{
	const char *e;

	while (*s != '\0') {
		e = s + strcspn(s, "\r\n");
		mail_qp_line(b, s, (size_t)(e - s));
		if (*e == '\r' && e[1] == '\n')
			e++;
		s = *e != '\0' ? e + 1 : e;
	}
}

enum nv_err
nv_mail_render(struct nv_arena *a, struct nv_diag *d,
    const struct nv_mail *m, time_t now, char **out, size_t *outlen)
{
	struct mbuf b = { a, NULL, 0, 0, 0 };
	enum nv_err rc;
	char *ids;

	*out = NULL;
	*outlen = 0;
	if ((rc = mail_check(d, m)) != NV_OK)
		return rc;
	mbuf_grow(&b, strlen(m->body) * 3 / 2 + 1024);
	mail_date(&b, now);
	mbuf_str(&b, "From: ");
	mail_mailbox(&b, m->from_name, m->from_addr);
	mbuf_str(&b, "\r\nTo: ");
	mail_mailbox(&b, m->to_name, m->to_addr);
	mbuf_str(&b, "\r\n");
	if (m->reply_to != NULL) {
		mbuf_str(&b, "Reply-To: ");
		mail_mailbox(&b, NULL, m->reply_to);
		mbuf_str(&b, "\r\n");
	}
	mbuf_str(&b, "Subject: ");
	mail_text(&b, m->subject);
	mbuf_str(&b, "\r\n");
	mail_header(&b, "Message-ID", m->message_id);
	if ((ids = mail_thread_ids(a, m->in_reply_to, 1)) != NULL)
		mail_header(&b, "In-Reply-To", ids);
	if ((ids = mail_thread_ids(a, m->references, MAIL_REFS_MAX)) != NULL)
		mail_header(&b, "References", ids);
	if (m->auto_submitted != NULL) {
		if ((rc = mail_check_header(d, "auto_submitted",
		    m->auto_submitted, 0, 1)) != NV_OK)
			return rc;
		mail_header(&b, "Auto-Submitted", m->auto_submitted);
	}
	mbuf_str(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	mail_qp(&b, m->body);
	*out = b.p;
	*outlen = b.len;
	return NV_OK;
}

char *
nv_mail_oneline(struct nv_arena *a, const char *s, size_t max)
{
	char *out, *w;
	int space = 0;

	if (s == NULL)
		return NULL;
	out = w = nv_arena_alloc(a, strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			space = w > out;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = 0;
		*w++ = *s;
	}
	*w = '\0';
	if ((size_t)(w - out) > max) {
		w = out + max;
		/* Back off to the start of a UTF-8 character. */
		while (w > out && ((unsigned char)*w & 0xc0) == 0x80)
			w--;
		*w = '\0';
		while (w > out && w[-1] == ' ')
			*--w = '\0';
	}
	return out;
}

/* --------------------------------------------------------------- SMTP */

bool
nv_mail_configured(void)
{
	const char *url = nv_config_str(NV_CFG_SMTP_URL);

	return url != NULL && *url != '\0';
}

struct mail_upload {
	const char	*p;
	size_t		 left;
};

static size_t
mail_read(char *buf, size_t size, size_t n, void *arg)
{
	struct mail_upload *u = arg;
	size_t len = size * n;

	if (len > u->left)
		len = u->left;
	memcpy(buf, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

/*
 * The last 4xx/5xx line the server sent (printable ASCII) for the
 * diagnostic: after a refusal curl still hears "221 Bye" to its QUIT.
 */
struct mail_reply {
	char	line[MAIL_REPLY_MAX];
};

static int
mail_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct mail_reply *r = arg;
	size_t i, n = 0;

	(void)c;
	/* Only what the server said: never HEADER_OUT (AUTH) or data. */
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (size == 0 || (data[0] != '4' && data[0] != '5'))
		return 0;
	for (i = 0; i < size && n + 1 < sizeof(r->line); i++) {
		if (data[i] == '\r' || data[i] == '\n')
			break;
		r->line[n++] = (unsigned char)data[i] >= 0x20 &&
		    (unsigned char)data[i] < 0x7f ? data[i] : '?';
	}
	r->line[n] = '\0';
	return 0;
}

enum nv_err
nv_mail_send(struct nv_arena *a, struct nv_diag *d, const struct nv_mail *m)
{
	struct curl_slist *rcpt = NULL;
	struct mail_reply reply;
	struct mail_upload up;
	char errbuf[CURL_ERROR_SIZE];
	const char *url, *user, *pass, *tls, *ca;
	enum nv_err rc;
	long code = 0, timeout;
	size_t len;
	CURLcode cc;
	CURL *c = NULL;
	char *msg;

	url = nv_config_str(NV_CFG_SMTP_URL);
	if (url == NULL || *url == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "NORVALT_SMTP_URL is not "
		    "set");
	if ((rc = nv_mail_render(a, d, m, time(NULL), &msg, &len)) != NV_OK)
		return rc;
	if (nv_curl_init() != 0)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl "
		    "could not be initialised");
	if ((c = curl_easy_init()) == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "libcurl could not be "
		    "initialised");
		goto out;
	}
	rcpt = curl_slist_append(NULL, nv_arena_cat(a, "<", m->to_addr, ">",
	    (char *)NULL));
	if (rcpt == NULL) {
		rc = nv_diag_set(d, NV_ERR_UNAVAILABLE, "out of memory");
		goto out;
	}
	up.p = msg;
	up.left = len;
	reply.line[0] = '\0';
	errbuf[0] = '\0';
	timeout = nv_config_int(NV_CFG_SMTP_TIMEOUT_MS);
	if (timeout <= 0)
		timeout = 10000;
	user = nv_config_str(NV_CFG_SMTP_USER);
	pass = nv_config_str(NV_CFG_SMTP_PASSWORD);
	tls = nv_config_str(NV_CFG_SMTP_TLS);
	ca = nv_config_str(NV_CFG_SMTP_CA_FILE);

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout < MAIL_CONNECT_MAX_MS ? timeout : MAIL_CONNECT_MAX_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	/* smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS. */
	if (strncmp(url, "smtp://", 7) == 0)
		curl_easy_setopt(c, CURLOPT_USE_SSL, tls != NULL &&
		    strcmp(tls, "none") == 0 ? (long)CURLUSESSL_NONE :
		    (long)CURLUSESSL_ALL);
	/* The server's certificate is always verified, name included. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca != NULL && *ca != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (user != NULL && *user != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass != NULL ? pass : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, nv_arena_cat(a, "<",
	    m->from_addr, ">", (char *)NULL));
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, mail_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &reply);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		rc = NV_OK;
		nv_log_info("mail: %s accepted by the SMTP server",
		    m->message_id);
		goto out;
	}
	/*
	 * A 5xx reply is the server's final word on this message; anything
	 * else (no connection, TLS, a timeout, 4xx) may pass later.  A refused
	 * or missing login (530, 534, 535, 538) is a 5xx about the
	 * configuration, not the message, so it is worth retrying once
	 * someone has fixed the password.
	 */
	if (code >= 500 && code <= 599 && cc != CURLE_LOGIN_DENIED &&
	    code != 530 && code != 534 && code != 535 && code != 538)
		rc = NV_ERR_VALIDATION;
	else
		rc = NV_ERR_UNAVAILABLE;
	if (reply.line[0] != '\0' && code != 0)
		nv_diag_set(d, rc, "the SMTP server refused the message: %s",
		    reply.line);
	else if (cc == CURLE_USE_SSL_FAILED || cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT_BADFILE)
		nv_diag_set(d, rc, "TLS with the SMTP server failed: %s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
	else
		nv_diag_set(d, rc, "the SMTP server is unreachable: %s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
	nv_log_warn("mail: %s not sent (%s): %s", m->message_id,
	    rc == NV_ERR_VALIDATION ? "permanent" : "transient", d != NULL ?
	    d->msg : curl_easy_strerror(cc));
out:
	curl_slist_free_all(rcpt);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}
