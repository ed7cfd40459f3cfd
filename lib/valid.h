/*
 * valid.h - syntax checks and normalisation shared by models and webhooks.
 *
 * Pure functions: no database, no allocation.  The database repeats the
 * important ones as CHECK constraints, so a bug here cannot store bad data.
 */
#ifndef NV_VALID_H
#define NV_VALID_H

#include <stddef.h>

#include "err.h"

/* Longest E.164 number with '+' and NUL: "+" 15 digits "\0". */
#define NV_PHONE_MAX	17

/* 1 when s is a canonical UUID (8-4-4-4-12 hex digits), else 0. */
int nv_valid_uuid(const char *s);

/*
 * 1 when s is an e-mail address by the rule the database enforces: a
 * dot-atom local part of at most 64 bytes, '@', dot-separated labels of
 * letters, digits and inner '-', a final label of 2+ letters or xn--,
 * ASCII only, 254 bytes at most.  Case is not folded here.
 */
int nv_valid_email(const char *s);

/*
 * Normalise a phone number to E.164 into out (NV_PHONE_MAX bytes).
 * Spaces, '-', '.', '/' and parentheses are ignored.  "+CC..." and
 * "00CC..." are international; anything else is national and gets
 * default_cc (digits only, e.g. "47"), unless it already starts with
 * default_cc and has the right length for it.  NV_OK, or NV_ERR_VALIDATION
 * when the result would not be 7..15 digits or holds other characters.
 */
enum nv_err nv_valid_phone(const char *in, const char *default_cc,
    char out[NV_PHONE_MAX]);

/* 1 when s equals one of the NULL-terminated values, else 0. */
int nv_valid_enum(const char *s, const char *const *values);

/* 1 when s is valid UTF-8 without NUL or C0 controls other than \t\n\r. */
int nv_valid_text(const char *s, size_t len);

/*
 * 1 when s is an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac] followed
 * by Z or +HH:MM / -HH:MM up to 15:59, as PostgreSQL takes them ('t', 'z'
 * and a space for 'T' are accepted too).
 */
int nv_valid_rfc3339(const char *s);

#endif /* NV_VALID_H */
