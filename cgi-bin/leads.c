/*
 * leads - the lead inbox API (SPEC section 6).
 *
 *   GET    /api/leads                    list: filters, keyset cursor
 *   POST   /api/leads                    create (201 + Location)
 *   GET    /api/leads/{id}               one lead
 *   PATCH  /api/leads/{id}               status, assignee, names, contact...
 *   DELETE /api/leads/{id}               GDPR erasure (manager/admin)
 *   GET    /api/leads/{id}/export        GDPR access (manager/admin)
 *   GET    /api/leads/{id}/messages      the conversation
 *   POST   /api/leads/{id}/messages      a human reply (pauses the AI)
 *
 * Every handler runs inside the request's transaction with the caller's
 * dealership as RLS context (lib/api.c); logic lives in lib/models.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "../lib/api.h"
#include "../lib/auth.h"
#include "../lib/config.h"
#include "../lib/cursor.h"
#include "../lib/http.h"
#include "../lib/models/conversation.h"
#include "../lib/models/lead.h"
#include "../lib/valid.h"

static const char *const list_params[] = {
	"status", "source", "assigned_to", "q", "created_after",
	"created_before", "sort", "limit", "cursor", NULL
};

static enum nv_err
bad_param(struct nv_req *req, const char *name, const char *issue)
{
	nv_diag_field(&req->diag, name, "%s", issue);
	return nv_req_fail(req, NV_ERR_BAD_REQUEST,
	    "query parameter %s is invalid", name);
}

static enum nv_err
leads_list(struct nv_req *req)
{
	struct nv_lead_filter f;
	static const char head[] = "{\"data\":";
	struct nv_lead_page page;
	const char *v, *cursor, *tail;
	enum nv_err rc;
	size_t len, tlen;
	char *body;
	long limit;

	memset(&f, 0, sizeof(f));
	if ((rc = nv_req_query_parse(req, list_params)) != NV_OK)
		return rc;
	f.status = nv_req_query(req, "status");
	if (f.status != NULL && !nv_valid_enum(f.status, nv_lead_statuses))
		return bad_param(req, "status", "must be one of new, contacted, "
		    "qualified, won, lost");
	f.source = nv_req_query(req, "source");
	if (f.source != NULL && !nv_valid_enum(f.source, nv_lead_sources))
		return bad_param(req, "source", "must be one of web_form, adf, "
		    "email, sms, facebook, manual, phone, walk_in");
	if ((v = nv_req_query(req, "assigned_to")) != NULL) {
		if (strcmp(v, "me") == 0)
			f.assigned_to = req->auth->user_id;
		else if (strcmp(v, "none") == 0)
			f.unassigned = true;
		else if (nv_valid_uuid(v))
			f.assigned_to = v;
		else
			return bad_param(req, "assigned_to",
			    "must be a user id, me or none");
	}
	if ((v = nv_req_query(req, "q")) != NULL) {
		if (strlen(v) > 100 || !nv_valid_text(v, strlen(v)))
			return bad_param(req, "q", "must be text of at most 100 "
			    "bytes");
		f.q = v;
	}
	f.created_after = nv_req_query(req, "created_after");
	if (f.created_after != NULL && !nv_valid_rfc3339(f.created_after))
		return bad_param(req, "created_after", "must be an RFC 3339 "
		    "date-time, e.g. 2026-11-01T00:00:00Z");
	f.created_before = nv_req_query(req, "created_before");
	if (f.created_before != NULL && !nv_valid_rfc3339(f.created_before))
		return bad_param(req, "created_before", "must be an RFC 3339 "
		    "date-time, e.g. 2026-11-01T00:00:00Z");
	if ((v = nv_req_query(req, "sort")) != NULL) {
		if (strcmp(v, "created_at") == 0)
			f.ascending = true;
		else if (strcmp(v, "-created_at") != 0)
			return bad_param(req, "sort",
			    "must be created_at or -created_at");
	}
	rc = nv_req_query_int(req, "limit", 1, NV_LEAD_LIST_MAX,
	    NV_LEAD_LIST_DEFAULT, &limit);
	if (rc != NV_OK)
		return rc;
	f.limit = (int)limit;
	if ((cursor = nv_req_query(req, "cursor")) != NULL &&
	    nv_cursor_decode(req->arena, cursor, &f.after_ts, &f.after_id) !=
	    NV_OK)
		return bad_param(req, "cursor", "is not a cursor this API "
		    "returned");

	if ((rc = nv_lead_list(req->arena, &req->diag, &f, &page)) != NV_OK)
		return rc;
	/* {"data":PAGE,"next_cursor":...}, the 45 KB page copied once. */
	tail = page.next_ts != NULL ? nv_arena_cat(req->arena,
	    ",\"next_cursor\":\"", nv_cursor_encode(req->arena, page.next_ts,
	    page.next_id), "\"}", (char *)NULL) : ",\"next_cursor\":null}";
	tlen = strlen(tail);
	len = sizeof(head) - 1 + page.data_len + tlen;
	body = nv_arena_alloc(req->arena, len + 1);
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + sizeof(head) - 1, page.data, page.data_len);
	memcpy(body + sizeof(head) - 1 + page.data_len, tail, tlen + 1);
	return nv_req_json(req, 200, body, len);
}

/*
 * SPEC 5: managers and admins manage assignment.  A sales rep may take a
 * lead nobody has ("assign to me") and hand back their own, never give a
 * lead to someone else or take a colleague's: assigned_to in the body
 * must be the rep or null, and (on a change) the lead theirs or nobody's.
 * The first check needs no lookup; the second reads the lead, which the
 * rep can see anyway (else it is a 404 as for any other lead).
 */
static enum nv_err
leads_rep_assign(struct nv_req *req, const cJSON *in, const char *id)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(in, "assigned_to");
	const cJSON *now;
	cJSON *lead;
	enum nv_err rc;
	char *doc;

	if (req->auth == NULL || req->auth->role != NV_ROLE_SALES_REP ||
	    to == NULL)
		return NV_OK;
	if (cJSON_IsString(to) && strcmp(to->valuestring,
	    req->auth->user_id) != 0)	/* (not a string: a 422 later) */
		return nv_req_fail(req, NV_ERR_FORBIDDEN, "a sales rep can "
		    "assign a lead only to themselves; a manager or admin "
		    "assigns it to others");
	if (id == NULL)
		return NV_OK;
	if ((rc = nv_lead_get(req->arena, &req->diag, id, &doc)) != NV_OK)
		return rc;
	if ((lead = cJSON_Parse(doc)) == NULL)
		return nv_req_fail(req, NV_ERR_INTERNAL, "the lead could not "
		    "be read");
	now = cJSON_GetObjectItemCaseSensitive(lead, "assigned_to");
	rc = cJSON_IsString(now) && strcmp(now->valuestring,
	    req->auth->user_id) != 0 ? NV_ERR_FORBIDDEN : NV_OK;
	cJSON_Delete(lead);
	if (rc != NV_OK)
		return nv_req_fail(req, rc, "the lead is assigned to a "
		    "colleague; a manager or admin reassigns it");
	return NV_OK;
}

static enum nv_err
leads_create(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	if ((rc = leads_rep_assign(req, in, NULL)) != NV_OK)
		return rc;
	rc = nv_lead_create(req->arena, &req->diag, in, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_created(req, "/api/leads", out);
}

static enum nv_err
leads_get(struct nv_req *req)
{
	enum nv_err rc;
	char *out;

	rc = nv_lead_get(req->arena, &req->diag, nv_req_param(req, "id"), &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
leads_patch(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	if ((rc = leads_rep_assign(req, in, nv_req_param(req, "id"))) !=
	    NV_OK)
		return rc;
	rc = nv_lead_update(req->arena, &req->diag, nv_req_param(req, "id"), in,
	    &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
leads_delete(struct nv_req *req)
{
	enum nv_err rc;

	rc = nv_lead_delete(req->arena, &req->diag, nv_req_param(req, "id"));
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 204, "", 0);
}

static enum nv_err
leads_export(struct nv_req *req)
{
	enum nv_err rc;
	char *out;

	rc = nv_lead_export(req->arena, &req->diag, nv_req_param(req, "id"),
	    &out);
	if (rc != NV_OK)
		return rc;
	nv_req_header(req, "Content-Disposition", nv_arena_printf(req->arena,
	    "attachment; filename=\"lead-%s.json\"", nv_req_param(req, "id")));
	return nv_req_json(req, 200, out, strlen(out));
}

static enum nv_err
messages_list(struct nv_req *req)
{
	enum nv_err rc;
	char *out, *body;

	rc = nv_conversation_list(req->arena, &req->diag,
	    nv_req_param(req, "id"), &out);
	if (rc != NV_OK)
		return rc;
	body = nv_arena_cat(req->arena, "{\"data\":", out, "}", (char *)NULL);
	return nv_req_json(req, 200, body, strlen(body));
}

static enum nv_err
messages_create(struct nv_req *req)
{
	enum nv_err rc;
	cJSON *in;
	char *out;

	if ((rc = nv_req_json_body(req, &in)) != NV_OK)
		return rc;
	rc = nv_conversation_reply(req->arena, &req->diag,
	    nv_req_param(req, "id"), req->auth->user_id, in, &out);
	if (rc != NV_OK)
		return rc;
	return nv_req_json(req, 201, out, strlen(out));
}

static const struct nv_route leads_routes[] = {
	{ "GET", "/api/leads", leads_list, NV_ROUTE_STAFF | NV_ROUTE_READ1 },
	{ "POST", "/api/leads", leads_create, NV_ROUTE_STAFF },
	{ "GET", "/api/leads/{id}", leads_get,
	    NV_ROUTE_STAFF | NV_ROUTE_READ1 },
	{ "PATCH", "/api/leads/{id}", leads_patch, NV_ROUTE_STAFF },
	{ "DELETE", "/api/leads/{id}", leads_delete, NV_ROUTE_MANAGERS },
	{ "GET", "/api/leads/{id}/export", leads_export, NV_ROUTE_MANAGERS },
	{ "GET", "/api/leads/{id}/messages", messages_list, NV_ROUTE_STAFF },
	{ "POST", "/api/leads/{id}/messages", messages_create, NV_ROUTE_STAFF },
	{ NULL, NULL, NULL, 0 }
};

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };

	nv_config_init("leads", required, sizeof(required) / sizeof(required[0]));
	return nv_api_serve("leads", leads_routes);
}
