/*
 * mail.h - outbound e-mail: the RFC 5322 message and its delivery over
 * SMTP with libcurl (NORVALT_SMTP_*).
 *
 * nv_mail_render builds the whole message in the arena: Date, From, To,
 * Reply-To, Subject (RFC 2047 encoded-words when not ASCII, folded at 78
 * columns), Message-ID, In-Reply-To, References, Auto-Submitted,
 * MIME-Version and a
 * text/plain; charset=utf-8 body in quoted-printable.  Quoted-printable
 * keeps every line short and 7-bit (no server can reject it for an 8BITMIME
 * gap or a 998-octet line), keeps Norwegian text mostly readable in the
 * raw message, and encodes a leading "." and trailing white space so the
 * body is dot-safe on its own.  Lines end in CRLF.
 *
 * nv_mail_send renders the message and hands it to the server named by
 * NORVALT_SMTP_URL.  The caller chooses the Message-ID and keeps it across
 * retries, so a resend after a crash is recognisably the same message.
 */
#ifndef NV_MAIL_H
#define NV_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "err.h"

/* Longest header value accepted (subject, names, addresses), in bytes. */
#define NV_MAIL_HEADER_MAX	2000
/* Longest body accepted, in bytes. */
#define NV_MAIL_BODY_MAX	(256 * 1024)

struct nv_mail {
	const char	*from_addr;	/* the envelope and From address */
	const char	*from_name;	/* the dealership, UTF-8; may be NULL */
	const char	*to_addr;
	const char	*to_name;	/* UTF-8; may be NULL */
	const char	*reply_to;	/* routes answers back; may be NULL */
	const char	*subject;	/* UTF-8 */
	const char	*body;		/* UTF-8 text/plain */
	const char	*message_id;	/* "<...@...>", stable across retries */
	const char	*in_reply_to;	/* "<...>"; may be NULL */
	const char	*references;	/* "<...> <...>"; may be NULL */
	/*
	 * in_reply_to and references may come straight from an inbound
	 * mail: missing angle brackets are added, comments and junk are
	 * dropped (References keeps its last 20 ids), and a value with no
	 * usable id leaves the header out instead of failing the reply.
	 * A control character (CR, LF, ...) is still refused.
	 */
	const char	*auto_submitted; /* RFC 3834: "auto-replied" for the
					    lead reply, "auto-generated" for
					    notices; NULL: no header */
};

/*
 * Render m as an RFC 5322 message dated now into *out (arena a, NUL
 * terminated) and its length into *outlen.  NV_ERR_VALIDATION, naming the
 * field in d, when a header value holds CR, LF or another control
 * character (header injection), an address is not addr-spec shaped, the
 * Message-ID is not "<...@...>" (at most 250 bytes), a text is not valid
 * UTF-8, or a value is longer than its limit.
 */
enum nv_err nv_mail_render(struct nv_arena *a, struct nv_diag *d,
    const struct nv_mail *m, time_t now, char **out, size_t *outlen);

/*
 * s made fit for a header text (a name or a subject taken from a lead or
 * an inbound mail): every run of control characters and white space (CR,
 * LF, TAB, ...) becomes one space, the ends are trimmed, and the result is
 * cut to max bytes at a character boundary.  In arena a; NULL stays NULL.
 * Use it on values the customer typed, so a line break in a name cannot
 * make nv_mail_render refuse the reply.
 */
char *nv_mail_oneline(struct nv_arena *a, const char *s, size_t max);

/* true when NORVALT_SMTP_URL is set. */
bool nv_mail_configured(void);

/*
 * Render m (dated now) and send it through NORVALT_SMTP_URL: MAIL FROM
 * m->from_addr, RCPT TO m->to_addr, with STARTTLS required unless
 * NORVALT_SMTP_TLS is "none" (smtps:// is implicit TLS), the server's
 * certificate verified (against NORVALT_SMTP_CA_FILE when set), AUTH with
 * NORVALT_SMTP_USER/PASSWORD when set, NORVALT_SMTP_TIMEOUT_MS overall.
 * NV_OK when the server accepted the message; NV_ERR_UNAVAILABLE for a
 * transient failure (connect, TLS, timeout, a 4xx reply): retry later;
 * NV_ERR_VALIDATION for a permanent one (a 5xx reply, or m does not
 * render): do not retry; NV_ERR_CONFIG when NORVALT_SMTP_URL is not set.
 * d->msg says why, with the server's last reply, never the password.
 */
enum nv_err nv_mail_send(struct nv_arena *a, struct nv_diag *d,
    const struct nv_mail *m);

#endif /* NV_MAIL_H */
