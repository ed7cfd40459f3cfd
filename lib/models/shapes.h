/*
 * shapes.h - the JSON shapes of SPEC section 6, as SQL expressions.
 *
 * Each macro renders one row (under a fixed alias) with json_build_object,
 * so PostgreSQL builds every response and the shape is written once (a
 * lead is stored rendered: see NV_LEAD_DOC).  They are string literals
 * meant for compile-time concatenation into a model's static statements,
 * never for printf.
 */
#ifndef NV_SHAPES_H
#define NV_SHAPES_H

/*
 * A lead, alias l: the JSON text leads.doc, which the trigger of migration
 * 013 (nv_lead_doc) renders on every insert and update, so reads emit it
 * as stored and never build it per request.  The field list lives in that
 * trigger; NV_LEAD_DOC is the text to send, NV_LEAD_JSON the same as json
 * for nesting in a larger document.
 */
#define NV_LEAD_DOC	"l.doc"
#define NV_LEAD_JSON	"l.doc::json"

/* A message, alias c. */
#define NV_MSG_JSON \
	"json_build_object('id', c.id, 'lead_id', c.lead_id," \
	" 'direction', c.direction, 'channel', c.channel," \
	" 'sender', c.sender, 'user_id', c.user_id, 'body', c.body," \
	" 'status', c.status, 'provider_id', c.provider_id," \
	" 'error', c.error, 'created_at', c.created_at)"

#endif /* NV_SHAPES_H */
