/*
 * err.c - the table behind enum nv_err and the diagnostic helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static const struct {
	int		 status;
	const char	*code;
} err_table[NV_ERR__COUNT] = {
	[NV_OK]			= { 200, "ok" },
	[NV_ERR_INTERNAL]	= { 500, "internal_error" },
	[NV_ERR_BAD_REQUEST]	= { 400, "bad_request" },
	[NV_ERR_UNAUTHORIZED]	= { 401, "unauthorized" },
	[NV_ERR_FORBIDDEN]	= { 403, "forbidden" },
	[NV_ERR_NOT_FOUND]	= { 404, "not_found" },
	[NV_ERR_METHOD]		= { 405, "method_not_allowed" },
	[NV_ERR_CONFLICT]	= { 409, "conflict" },
	[NV_ERR_TOO_LARGE]	= { 413, "payload_too_large" },
	[NV_ERR_MEDIA_TYPE]	= { 415, "unsupported_media_type" },
	[NV_ERR_VALIDATION]	= { 422, "validation_failed" },
	[NV_ERR_RATE_LIMITED]	= { 429, "rate_limited" },
	[NV_ERR_UNAVAILABLE]	= { 503, "service_unavailable" },
	[NV_ERR_CONFIG]		= { 500, "config_error" },
};

const char *
nv_err_str(enum nv_err e)
{
	if ((unsigned)e >= NV_ERR__COUNT)
		return "internal_error";
	return err_table[e].code;
}

int
nv_err_status(enum nv_err e)
{
	if ((unsigned)e >= NV_ERR__COUNT)
		return 500;
	return err_table[e].status;
}

void
nv_diag_reset(struct nv_diag *d)
{
	if (d == NULL)
		return;
	d->msg[0] = '\0';
	d->ndetails = 0;
}

enum nv_err
nv_diag_set(struct nv_diag *d, enum nv_err e, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return e;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return e;
}

void
nv_diag_field(struct nv_diag *d, const char *field, const char *fmt, ...)
{
	struct nv_diag_detail *det;
	va_list ap;

	if (d == NULL || d->ndetails >= NV_DIAG_DETAILS_MAX)
		return;
	det = &d->details[d->ndetails++];
	snprintf(det->field, sizeof(det->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(det->issue, sizeof(det->issue), fmt, ap);
	va_end(ap);
}
