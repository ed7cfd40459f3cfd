/*
 * sms.h - outbound SMS through Twilio's Messages API (INTEGRATIONS.md
 * section 5.1), or any server speaking it at NORVALT_TWILIO_API_URL.
 */
#ifndef NV_SMS_H
#define NV_SMS_H

#include <stdbool.h>

#include "arena.h"
#include "err.h"

/* Longest message SID kept, in bytes. */
#define NV_SMS_SID_MAX		64

/*
 * true when NORVALT_TWILIO_ACCOUNT_SID, NORVALT_TWILIO_AUTH_TOKEN and
 * NORVALT_TWILIO_API_URL (defaulted) are all set.
 */
bool nv_sms_configured(void);

/*
 * POST {NORVALT_TWILIO_API_URL}/2010-04-01/Accounts/{SID}/Messages.json
 * with To, From (or MessagingServiceSid when from is "MG" + 32 hex) and
 * Body form-encoded, HTTP basic auth SID:token; connect timeout 3 s,
 * total 10 s.  from NULL means NORVALT_TWILIO_FROM.
 *
 * On NV_OK *sid (arena a) is the provider's message SID ("SM...").
 * NV_ERR_UNAVAILABLE: transient (connect, timeout, 429, 5xx, an answer
 * without a SID): retry.  NV_ERR_VALIDATION: permanent (another 4xx, e.g.
 * Twilio error 21610 unsubscribed recipient, 21211 invalid number; or an
 * empty to/body), with Twilio's code and message in d->msg.
 * NV_ERR_CONFIG: not configured, or no sender.  The token is never logged.
 */
enum nv_err nv_sms_send(struct nv_arena *a, struct nv_diag *d,
    const char *to, const char *from, const char *body, char **sid);

#endif /* NV_SMS_H */
