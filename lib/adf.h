/*
 * adf.h - ADF 1.0 (Auto-lead Data Format) XML into an inbound lead.
 *
 * nv_adf_parse() reads one ADF document with libxml2 and turns its first
 * prospect into a struct nv_intake_lead for nv_intake_submit().  The parse
 * is hostile-input safe: no network, no DTD loading, no entity
 * substitution, and a document whose DOCTYPE declares any entity (XXE,
 * "billion laughs") is refused as soon as the declaration is seen, before
 * anything could be expanded.  Element and attribute names are compared
 * without regard to case, because real senders vary.
 */
#ifndef NV_ADF_H
#define NV_ADF_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "intake.h"

/* Deepest element nesting accepted. */
#define NV_ADF_DEPTH_MAX	256

/* Largest document kept verbatim in the lead's metadata ("payload"). */
#define NV_ADF_PAYLOAD_MAX	(64 * 1024)

/* What one ADF document said; strings are in the arena, NULL when absent. */
struct nv_adf_lead {
	struct nv_intake_lead	 lead;		/* source "adf", channel "email" */
	int			 prospects;	/* prospects in the document */
	int			 trade_ins;	/* trade-in/sell vehicles */
	const char		*year;		/* of the vehicle of interest */
	const char		*make;
	const char		*model;
	const char		*vin;
	const char		*stock;
	const char		*interest;	/* its interest attribute */
	const char		*requestdate;	/* as written */
	const char		*vendor;	/* vendorname */
	const char		*provider;	/* provider name */
	const char		*service;	/* provider service */
};

/*
 * Parse xml[0..len) as ADF into *out (zeroed first); lead.metadata is a
 * JSON object {"adf": {...}, "payload": "<the XML>"} (the payload only
 * when at most NV_ADF_PAYLOAD_MAX bytes of UTF-8).  a owns every string;
 * d receives the message and field details.
 *
 * Returns NV_OK; NV_ERR_BAD_REQUEST when the body is not well-formed XML,
 * declares entities, nests deeper than NV_ADF_DEPTH_MAX, its root is not
 * adf or it holds no prospect; NV_ERR_VALIDATION when the prospect's
 * customer has neither a usable e-mail address nor a phone number.
 */
enum nv_err nv_adf_parse(struct nv_arena *a, struct nv_diag *d,
    const char *xml, size_t len, struct nv_adf_lead *out);

#endif /* NV_ADF_H */
