/*
 * mailgun.h - inbound e-mail in Mailgun's route-forward format.
 *
 * Mailgun posts a received e-mail as form fields (urlencoded, or
 * multipart/form-data when it has attachments): sender, from, recipient,
 * subject, body-plain, stripped-text, Message-Id, ... and timestamp, token
 * and signature = hex HMAC-SHA256(signing key, timestamp + token).
 *
 * nv_mailgun_verify() checks that signature and the timestamp's age;
 * nv_mailgun_lead() turns the fields into a struct nv_intake_lead: a body
 * holding an ADF document becomes a structured lead through lib/adf
 * (source "adf"), any other a lead with source "email" from the sender's
 * address.  The dealership is never taken from these fields.
 */
#ifndef NV_MAILGUN_H
#define NV_MAILGUN_H

#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "err.h"
#include "intake.h"

struct cJSON;

/* Oldest (and furthest in the future) timestamp accepted, in seconds. */
#define NV_MAILGUN_TOLERANCE	300

/* Longest message kept from the e-mail's text, in bytes (cut at UTF-8). */
#define NV_MAILGUN_MESSAGE_MAX	20000

/*
 * 1 when signature is the 64 hex digits (either case) of HMAC-SHA256 with
 * key over timestamp followed by token, compared in constant time
 * (CRYPTO_memcmp), and timestamp is decimal Unix seconds within
 * NV_MAILGUN_TOLERANCE of now.  Any NULL or malformed argument is 0.
 */
int nv_mailgun_verify(const char *key, const char *timestamp,
    const char *token, const char *signature, time_t now);

/*
 * Split an address header value ("Kari Nordmann <kari@example.no>",
 * "\"Nordmann, Kari\" <kari@example.no>", "kari@example.no") into the
 * display name (*name, NULL when none) and the address (*addr, NULL when
 * none), both trimmed arena strings; nothing is validated here.
 */
void nv_mailgun_address(struct nv_arena *a, const char *value,
    const char **name, const char **addr);

/*
 * The lead of the decoded fields f (a JSON object of strings) into *out
 * (zeroed first); every string is in arena a.  An ADF document in
 * body-plain (from "<adf" to the last "</adf>") is parsed with lib/adf;
 * when it cannot be, the e-mail is taken as plain text and the reason is
 * kept in metadata.  metadata.email holds message_id, subject and
 * recipient.  Returns NV_OK, or NV_ERR_VALIDATION (details on d) when a
 * plain e-mail has no valid sender address.
 */
enum nv_err nv_mailgun_lead(struct nv_arena *a, struct nv_diag *d,
    const struct cJSON *f, struct nv_intake_lead *out);

#endif /* NV_MAILGUN_H */
