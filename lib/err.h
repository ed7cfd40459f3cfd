/*
 * err.h - the one error enum of libnorvalt.
 *
 * Fallible functions return enum nv_err and hand results back through
 * out-parameters.  NV_OK is 0; new codes are only ever appended.  A table in
 * err.c maps each code to its HTTP status and the machine-readable code
 * string of the JSON error shape (SPEC section 6).
 *
 * struct nv_diag carries the human side of a failure: a lower-case message
 * and, for validation failures, one entry per offending field.  It is a
 * fixed-size value so that filling it never allocates and never fails.
 */
#ifndef NV_ERR_H
#define NV_ERR_H

#include <stddef.h>

enum nv_err {
	NV_OK = 0,
	NV_ERR_INTERNAL,	/* 500 internal_error */
	NV_ERR_BAD_REQUEST,	/* 400 bad_request */
	NV_ERR_UNAUTHORIZED,	/* 401 unauthorized */
	NV_ERR_FORBIDDEN,	/* 403 forbidden */
	NV_ERR_NOT_FOUND,	/* 404 not_found */
	NV_ERR_METHOD,		/* 405 method_not_allowed */
	NV_ERR_CONFLICT,	/* 409 conflict */
	NV_ERR_TOO_LARGE,	/* 413 payload_too_large */
	NV_ERR_MEDIA_TYPE,	/* 415 unsupported_media_type */
	NV_ERR_VALIDATION,	/* 422 validation_failed */
	NV_ERR_RATE_LIMITED,	/* 429 rate_limited */
	NV_ERR_UNAVAILABLE,	/* 503 service_unavailable */
	NV_ERR_CONFIG,		/* 500 config_error: bad configuration */
	NV_ERR__COUNT
};

/* Machine-readable code string, e.g. "validation_failed". */
const char *nv_err_str(enum nv_err e);

/* HTTP status for the code, e.g. 422. */
int nv_err_status(enum nv_err e);

#define NV_DIAG_MSG_MAX		256
#define NV_DIAG_FIELD_MAX	64
#define NV_DIAG_ISSUE_MAX	160
#define NV_DIAG_DETAILS_MAX	16

struct nv_diag_detail {
	char	field[NV_DIAG_FIELD_MAX];
	char	issue[NV_DIAG_ISSUE_MAX];
};

struct nv_diag {
	char			msg[NV_DIAG_MSG_MAX];
	size_t			ndetails;
	struct nv_diag_detail	details[NV_DIAG_DETAILS_MAX];
};

/* Empty the diagnostic. */
void nv_diag_reset(struct nv_diag *d);

/*
 * Set the message (printf format).  A NULL d is allowed and ignored, so
 * library code can report into an optional diagnostic.  Returns e, so a
 * caller can write: return nv_diag_set(d, NV_ERR_NOT_FOUND, "lead not found");
 */
enum nv_err nv_diag_set(struct nv_diag *d, enum nv_err e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Append a field detail ("email", "is not a valid e-mail address").  Details
 * past NV_DIAG_DETAILS_MAX are dropped.  A NULL d is ignored.
 */
void nv_diag_field(struct nv_diag *d, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* NV_ERR_H */
