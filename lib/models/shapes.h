/*
 * shapes.h - the JSON shapes of SPEC section 6, as SQL expressions.
 *
 * Each macro renders one row (under a fixed alias) with json_build_object,
 * so PostgreSQL builds every response and the shape is written once.  They
 * are string literals meant for compile-time concatenation into a model's
 * static statements, never for printf.
 */
#ifndef NV_SHAPES_H
#define NV_SHAPES_H

/* A lead, alias l. */
#define NV_LEAD_JSON \
	"json_build_object('id', l.id, 'dealership_id', l.dealership_id," \
	" 'first_name', l.first_name, 'last_name', l.last_name," \
	" 'email', l.email, 'phone', l.phone, 'source', l.source," \
	" 'status', l.status, 'vehicle_id', l.vehicle_id," \
	" 'vehicle_interest', l.vehicle_interest, 'message', l.message," \
	" 'assigned_to', l.assigned_to, 'notes', l.notes," \
	" 'consent', l.consent, 'ai_paused', l.ai_paused," \
	" 'first_response_at', l.first_response_at," \
	" 'first_response_seconds', l.first_response_seconds," \
	" 'metadata', l.metadata, 'created_at', l.created_at," \
	" 'updated_at', l.updated_at)"

/* A message, alias c. */
#define NV_MSG_JSON \
	"json_build_object('id', c.id, 'lead_id', c.lead_id," \
	" 'direction', c.direction, 'channel', c.channel," \
	" 'sender', c.sender, 'user_id', c.user_id, 'body', c.body," \
	" 'status', c.status, 'provider_id', c.provider_id," \
	" 'error', c.error, 'created_at', c.created_at)"

#endif /* NV_SHAPES_H */
