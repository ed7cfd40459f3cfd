/*
 * lead.c - leads; see lead.h.
 *
 * The lead's JSON is stored rendered in leads.doc (migration 013's trigger
 * keeps it current on every write), so statements return LEAD_DOC as it is
 * and PostgreSQL renders nothing per read.  A list page comes back as rows
 * (doc, created_at, id) and is joined into one JSON array here, with
 * memcpy: no per-request aggregation on the server.  Filters in the
 * catch-all list query are "($n IS NULL OR col = $n)": the statement is
 * prepared once and planned with the actual values.
 */
#include <assert.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "../db.h"
#include "../json.h"
#include "../log.h"
#include "../valid.h"
#include "lead.h"
#include "model.h"
#include "shapes.h"

const char *const nv_lead_statuses[] = {
	"new", "contacted", "qualified", "won", "lost", NULL
};

const char *const nv_lead_sources[] = {
	"web_form", "adf", "email", "sms", "facebook", "manual", "phone",
	"walk_in", NULL
};

#define LEAD_DOC NV_LEAD_DOC
#define LEAD_JSON NV_LEAD_JSON

/*
 * The lead and, when it is stored as 'new', its reply job: SPEC 7's "a new
 * lead queues a reply job in the same transaction", the same row
 * nv_intake_submit (migration 012) queues for a webhook lead (kind
 * 'reply', payload {}, run_at now), so the worker answers, assigns and
 * times it alike.  A lead entered with another status (an import of a
 * won deal) gets no auto-reply.  One statement: the job costs no round
 * trip, and a failed insert leaves neither row.  The lead INSERT stays
 * plain, so its BEFORE triggers (013's doc) run as before.
 */
static const struct nv_stmt lead_insert = {
	"lead_insert",
	"WITH l AS (INSERT INTO leads AS l (dealership_id, first_name,"
	"  last_name, email, phone, source, status, vehicle_id,"
	"  vehicle_interest, message, assigned_to, notes, consent, metadata)"
	" SELECT NULLIF(current_setting('app.current_dealership_id', true),"
	"  '')::uuid, j->>'first_name', j->>'last_name', j->>'email',"
	"  j->>'phone', coalesce(j->>'source', 'manual'),"
	"  coalesce(j->>'status', 'new'), (j->>'vehicle_id')::uuid,"
	"  j->>'vehicle_interest', j->>'message', (j->>'assigned_to')::uuid,"
	"  j->>'notes', coalesce(j->'consent', '{}'),"
	"  coalesce(j->'metadata', '{}')"
	" FROM (SELECT $1::jsonb AS j) s"
	" RETURNING l.dealership_id, l.id, l.status, " LEAD_DOC "),"
	" r AS (INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	" SELECT l.dealership_id, 'reply', l.id, '{}'::jsonb FROM l"
	"  WHERE l.status = 'new')"
	" SELECT " LEAD_DOC " FROM l",
	1
};

static const struct nv_stmt lead_select = {
	"lead_select",
	"SELECT " LEAD_DOC " FROM leads l WHERE l.id = $1::uuid",
	1
};

#define LEAD_SET(col, expr) \
	" " col " = CASE WHEN $2::jsonb ? '" col "' THEN " expr " ELSE l." col " END"

static const struct nv_stmt lead_update_stmt = {
	"lead_update",
	"UPDATE leads l SET"
	LEAD_SET("status", "$2::jsonb->>'status'") ","
	LEAD_SET("assigned_to", "($2::jsonb->>'assigned_to')::uuid") ","
	LEAD_SET("first_name", "$2::jsonb->>'first_name'") ","
	LEAD_SET("last_name", "$2::jsonb->>'last_name'") ","
	LEAD_SET("email", "$2::jsonb->>'email'") ","
	LEAD_SET("phone", "$2::jsonb->>'phone'") ","
	LEAD_SET("vehicle_id", "($2::jsonb->>'vehicle_id')::uuid") ","
	LEAD_SET("vehicle_interest", "$2::jsonb->>'vehicle_interest'") ","
	LEAD_SET("notes", "$2::jsonb->>'notes'") ","
	/*
	 * ai_paused as given (a rep resumes or pauses the AI); else a person
	 * changing the status takes over from the AI (SPEC 7).
	 */
	" ai_paused = CASE WHEN $2::jsonb ? 'ai_paused'"
	"  THEN ($2::jsonb->>'ai_paused')::boolean"
	"  ELSE l.ai_paused OR ($2::jsonb ? 'status'"
	"  AND $2::jsonb->>'status' IS DISTINCT FROM l.status) END"
	" WHERE l.id = $1::uuid RETURNING " LEAD_DOC,
	2
};

static const struct nv_stmt lead_export_stmt = {
	"lead_export",
	"SELECT json_build_object("
	" 'lead', " LEAD_JSON ","
	" 'messages', (SELECT coalesce(json_agg(" NV_MSG_JSON
	"   ORDER BY c.created_at, c.id), '[]'::json)"
	"   FROM conversations c WHERE c.lead_id = l.id),"
	" 'other_leads', (SELECT coalesce(json_agg(json_build_object("
	"   'id', o.id, 'source', o.source, 'status', o.status,"
	"   'created_at', o.created_at) ORDER BY o.created_at), '[]'::json)"
	"   FROM leads o WHERE o.id <> l.id"
	"   AND ((l.email_norm IS NOT NULL AND o.email_norm = l.email_norm)"
	"    OR (l.phone IS NOT NULL AND o.phone = l.phone))),"
	" 'history', (SELECT coalesce(json_agg(json_build_object("
	"   'action', a.action, 'changed_columns', a.changed_columns,"
	"   'actor', a.actor, 'at', a.created_at) ORDER BY a.created_at),"
	"   '[]'::json) FROM audit_log a"
	"   WHERE a.entity = 'leads' AND a.entity_id = l.id),"
	" 'exported_at', now())"
	" FROM leads l WHERE l.id = $1::uuid",
	1
};

static const struct nv_stmt lead_delete_stmt = {
	"lead_delete",
	"WITH l AS (DELETE FROM leads l WHERE l.id = $1::uuid"
	"  RETURNING l.id, l.dealership_id),"
	/* Erasure reaches the worker's outbox log too (no lead: it is gone). */
	" j AS (INSERT INTO jobs (dealership_id, kind, payload)"
	"  SELECT l.dealership_id, 'erase_outbox', jsonb_build_object("
	"   'lead_id', l.id) FROM l)"
	" SELECT l.id FROM l",
	1
};

/*
 * One page: the rows of a statement that orders and limits to lim + 1,
 * each as its stored document only; lead_page() keeps the first lim and
 * takes the cursor from the last of those documents.  (Two more columns,
 * created_at::text and id::text on every row for the one row that needs
 * them, were 10-20% of PostgreSQL's time for a page in pgbench.)
 */
#define LEAD_PAGE(name, where, dir, lim, n) { name, \
	"SELECT " LEAD_DOC " FROM leads l" \
	where \
	" ORDER BY l.created_at " dir ", l.id " dir \
	" LIMIT " lim "::int + 1", n }

/*
 * Any filter: $1 status, $2 source, $3 assigned_to, $4 unassigned, $5 q
 * (LIKE pattern, escaped), $6 created_after, $7 created_before, $8
 * after_ts, $9 after_id, $10 limit.  "$n IS NULL OR ..." makes PostgreSQL
 * plan each call with the values (a generic plan would scan).
 */
#define LEAD_LIST(name, cmp, dir) LEAD_PAGE(name, \
	"  WHERE ($1::text IS NULL OR l.status = $1)" \
	"   AND ($2::text IS NULL OR l.source = $2)" \
	"   AND ($3::uuid IS NULL OR l.assigned_to = $3)" \
	"   AND (NOT $4::bool OR l.assigned_to IS NULL)" \
	"   AND ($5::text IS NULL OR l.first_name ILIKE $5" \
	"        OR l.last_name ILIKE $5 OR l.email_norm LIKE lower($5)" \
	"        OR l.phone LIKE $5" \
	"        OR (l.first_name || ' ' || l.last_name) ILIKE $5)" \
	"   AND ($6::timestamptz IS NULL OR l.created_at >= $6)" \
	"   AND ($7::timestamptz IS NULL OR l.created_at < $7)" \
	"   AND ($8::timestamptz IS NULL OR (l.created_at, l.id) " cmp \
	"        ($8::timestamptz, $9::uuid))", dir, "$10", 10)

/*
 * The common shapes, each its own statement with plain conditions: the
 * inbox unfiltered or by one of status, source, assignee or "unassigned",
 * newest or oldest first, with or without a cursor.  Their generic plans
 * are the right ones (one scan of the index that starts with the RLS
 * column and the filter, in keyset order), so PostgreSQL plans each once
 * per connection instead of on every call as it does the catch-all.
 * The plan cache alone would keep the unfiltered ones on custom plans
 * (their generic plan assumes LIMIT $n reads 10% of the rows, so its cost
 * never wins, though it is the same index scan), so they run with
 * nv_db_exec_generic.  Parameters: the filter value (when there is one),
 * then the cursor (after_ts, after_id), then the limit.
 */
#define LEAD_SHAPES(kind, cond, cond_and, first) { \
	{ LEAD_PAGE("lead_" kind "_desc", cond, "DESC", \
	    "$" #first, first), \
	  LEAD_PAGE("lead_" kind "_asc", cond, "ASC", \
	    "$" #first, first) }, \
	{ LEAD_PAGE("lead_" kind "_desc_after", cond_and \
	    " (l.created_at, l.id) < ($" #first "::timestamptz," \
	    " $" LEAD_NEXT_##first "::uuid)", "DESC", \
	    "$" LEAD_LAST_##first, first + 2), \
	  LEAD_PAGE("lead_" kind "_asc_after", cond_and \
	    " (l.created_at, l.id) > ($" #first "::timestamptz," \
	    " $" LEAD_NEXT_##first "::uuid)", "ASC", \
	    "$" LEAD_LAST_##first, first + 2) } }
#define LEAD_NEXT_1	"2"
#define LEAD_LAST_1	"3"
#define LEAD_NEXT_2	"3"
#define LEAD_LAST_2	"4"

enum lead_shape {
	LEAD_ALL, LEAD_STATUS, LEAD_SOURCE, LEAD_ASSIGNED, LEAD_UNASSIGNED,
	LEAD_NSHAPES
};

/* [shape][cursor?][ascending?] */
static const struct nv_stmt lead_shapes[LEAD_NSHAPES][2][2] = {
	[LEAD_ALL] = LEAD_SHAPES("inbox", "", " WHERE", 1),
	[LEAD_STATUS] = LEAD_SHAPES("status", " WHERE l.status = $1",
	    " WHERE l.status = $1 AND", 2),
	[LEAD_SOURCE] = LEAD_SHAPES("source", " WHERE l.source = $1",
	    " WHERE l.source = $1 AND", 2),
	[LEAD_ASSIGNED] = LEAD_SHAPES("assigned", " WHERE l.assigned_to ="
	    " $1::uuid", " WHERE l.assigned_to = $1::uuid AND", 2),
	[LEAD_UNASSIGNED] = LEAD_SHAPES("unassigned", " WHERE l.assigned_to"
	    " IS NULL", " WHERE l.assigned_to IS NULL AND", 1),
};

static const struct nv_stmt lead_list_desc =
    LEAD_LIST("lead_list_desc", "<", "DESC");
static const struct nv_stmt lead_list_asc =
    LEAD_LIST("lead_list_asc", ">", "ASC");

static const struct nv_field lead_fields[] = {
	{ "first_name", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 200, NULL },
	{ "last_name", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 200, NULL },
	{ "email", NV_F_EMAIL, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 254, NULL },
	{ "phone", NV_F_PHONE, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 40, NULL },
	{ "source", NV_F_ENUM, NV_F_CREATE, 0, 0, nv_lead_sources },
	{ "status", NV_F_ENUM, NV_F_CREATE | NV_F_UPDATE, 0, 0,
	    nv_lead_statuses },
	{ "vehicle_id", NV_F_UUID, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 0, NULL },
	{ "vehicle_interest", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE |
	    NV_F_NULLABLE, 0, 500, NULL },
	{ "message", NV_F_TEXT, NV_F_CREATE | NV_F_NULLABLE, 0, 20000, NULL },
	{ "assigned_to", NV_F_UUID, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE,
	    0, 0, NULL },
	{ "notes", NV_F_TEXT, NV_F_CREATE | NV_F_UPDATE | NV_F_NULLABLE, 0,
	    20000, NULL },
	{ "ai_paused", NV_F_BOOL, NV_F_UPDATE, 0, 0, NULL },
	{ "consent", NV_F_OBJECT, NV_F_CREATE, 0, 4096, NULL },
	{ "metadata", NV_F_OBJECT, NV_F_CREATE, 0, 65536, NULL },
};

static const char *const lead_fk_cols[] = {
	"vehicle_id", "assigned_to", NULL
};

#define NFIELDS(t)	(sizeof(t) / sizeof((t)[0]))

/* Whether a contact (email or phone) remains, given the input object. */
static int
lead_has(const cJSON *in, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);

	return cJSON_IsString(v) && v->valuestring[strspn(v->valuestring,
	    " \t")] != '\0';
}

enum nv_err
nv_lead_create(struct nv_arena *a, struct nv_diag *d, const cJSON *in,
    char **out)
{
	const char *params[1];
	PGresult *res;
	enum nv_err rc;
	char *norm;

	*out = NULL;
	rc = nv_json_fields(a, d, lead_fields, NFIELDS(lead_fields),
	    NV_JSON_CREATE, in, &norm, NULL);
	if (rc == NV_ERR_BAD_REQUEST)
		return rc;
	if (!lead_has(in, "email") && !lead_has(in, "phone")) {
		nv_diag_field(d, "email", "an e-mail address or a phone number "
		    "is required");
		nv_diag_field(d, "phone", "an e-mail address or a phone number "
		    "is required");
		if (rc == NV_OK)
			rc = nv_diag_set(d, NV_ERR_VALIDATION,
			    "a lead needs an e-mail address or a phone number");
	}
	if (rc != NV_OK)
		return rc;
	params[0] = norm;
	rc = nv_db_exec(a, d, &lead_insert, params, &res);
	if (rc != NV_OK)
		return nv_model_fk_field(d, rc, lead_fk_cols);
	return nv_model_one(a, d, res, "lead", out);
}

enum nv_err
nv_lead_get(struct nv_arena *a, struct nv_diag *d, const char *id, char **out)
{
	return nv_model_by_id(a, d, &lead_select, id, "lead", out);
}

/*
 * Whether term is a phone number as people write it ("900 00 101",
 * "+47 900-00-101", "(0047) 900 00 101"): only digits and those separators,
 * at least three digits.  Phones are stored in E.164, without separators.
 */
static bool
lead_phone_like(const char *term)
{
	size_t digits = 0;

	for (; *term != '\0'; term++) {
		if (*term >= '0' && *term <= '9')
			digits++;
		else if (strchr(" +-().", *term) == NULL)
			return false;
	}
	return digits >= 3;
}

/*
 * "%term%" with LIKE's wildcards in term escaped; a phone number loses its
 * separators (names and e-mail addresses hold no such text to miss).
 */
static char *
lead_like(struct nv_arena *a, const char *term)
{
	size_t n = strlen(term), i, o = 0;
	bool phone = lead_phone_like(term);
	char *p;

	p = nv_arena_alloc(a, n * 2 + 3);
	p[o++] = '%';
	for (i = 0; i < n; i++) {
		if (phone && strchr(" -().", term[i]) != NULL)
			continue;
		if (term[i] == '%' || term[i] == '_' || term[i] == '\\')
			p[o++] = '\\';
		p[o++] = term[i];
	}
	p[o++] = '%';
	p[o] = '\0';
	return p;
}

/*
 * The cursor after the lead whose document is doc: its id, and its
 * created_at as PostgreSQL prints timestamptz with TimeZone=UTC, which is
 * what cursors have always held.  The document renders the same instant
 * in ISO 8601 ("2026-11-01T10:00:00.123456+00:00", always UTC: migration
 * 013 pins the zone), the same digits with 'T' and ":00" added.
 */
static enum nv_err
lead_cursor(struct nv_arena *a, const char *doc, struct nv_lead_page *page)
{
	const cJSON *id, *ts;
	cJSON *j;
	size_t n;
	char *t;

	j = cJSON_Parse(doc);
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	ts = cJSON_GetObjectItemCaseSensitive(j, "created_at");
	if (!cJSON_IsString(id) || !cJSON_IsString(ts) ||
	    (n = strlen(ts->valuestring)) < 25 || ts->valuestring[10] != 'T' ||
	    strcmp(ts->valuestring + n - 6, "+00:00") != 0) {
		cJSON_Delete(j);
		nv_log_error("a lead document without id or UTC created_at");
		return NV_ERR_INTERNAL;
	}
	page->next_id = nv_arena_strdup(a, id->valuestring);
	t = page->next_ts = nv_arena_strdup(a, ts->valuestring);
	t[10] = ' ';
	t[n - 3] = '\0';
	cJSON_Delete(j);
	return NV_OK;
}

/*
 * The first limit rows of res as one JSON array, sized once and copied
 * once; the cursor is the last of them when res holds one row more.
 */
static enum nv_err
lead_page(struct nv_arena *a, const PGresult *res, int limit,
    struct nv_lead_page *page)
{
	size_t len, n;
	int i, rows;
	char *p;

	rows = PQntuples(res);
	if (rows > limit)
		rows = limit;
	len = 2;
	for (i = 0; i < rows; i++)
		len += (size_t)PQgetlength(res, i, 0) + 1;
	p = page->data = nv_arena_alloc(a, len + 1);
	*p++ = '[';
	for (i = 0; i < rows; i++) {
		if (i > 0)
			*p++ = ',';
		n = (size_t)PQgetlength(res, i, 0);
		memcpy(p, PQgetvalue(res, i, 0), n);
		p += n;
	}
	*p++ = ']';
	*p = '\0';
	page->data_len = (size_t)(p - page->data);
	if (PQntuples(res) > limit)
		return lead_cursor(a, PQgetvalue(res, limit - 1, 0), page);
	return NV_OK;
}

enum nv_err
nv_lead_list(struct nv_arena *a, struct nv_diag *d,
    const struct nv_lead_filter *f, struct nv_lead_page *page)
{
	const struct nv_stmt *st;
	const char *params[10];
	enum lead_shape shape;
	PGresult *res;
	enum nv_err rc;
	char *lim;
	int limit, nfilters, n;

	memset(page, 0, sizeof(*page));
	limit = f->limit;
	if (limit < 1 || limit > NV_LEAD_LIST_MAX)
		limit = NV_LEAD_LIST_DEFAULT;
	if ((f->after_ts == NULL) != (f->after_id == NULL) ||
	    (f->after_id != NULL && !nv_valid_uuid(f->after_id)) ||
	    (f->assigned_to != NULL && !nv_valid_uuid(f->assigned_to)))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "invalid list filter");

	lim = nv_arena_printf(a, "%d", limit);
	nfilters = (f->status != NULL) + (f->source != NULL) +
	    (f->assigned_to != NULL) + f->unassigned;
	if (nfilters <= 1 && (f->q == NULL || *f->q == '\0') &&
	    f->created_after == NULL && f->created_before == NULL) {
		n = 0;
		if (f->status != NULL) {
			shape = LEAD_STATUS;
			params[n++] = f->status;
		} else if (f->source != NULL) {
			shape = LEAD_SOURCE;
			params[n++] = f->source;
		} else if (f->assigned_to != NULL) {
			shape = LEAD_ASSIGNED;
			params[n++] = f->assigned_to;
		} else
			shape = f->unassigned ? LEAD_UNASSIGNED : LEAD_ALL;
		if (f->after_ts != NULL) {
			params[n++] = f->after_ts;
			params[n++] = f->after_id;
		}
		params[n++] = lim;
		st = &lead_shapes[shape][f->after_ts != NULL][f->ascending];
		assert(st->nparams == n);
		rc = nv_db_exec_generic(a, d, st, params, &res);
	} else {
		params[0] = f->status;
		params[1] = f->source;
		params[2] = f->assigned_to;
		params[3] = f->unassigned ? "true" : "false";
		params[4] = f->q != NULL && *f->q != '\0' ? lead_like(a, f->q) :
		    NULL;
		params[5] = f->created_after;
		params[6] = f->created_before;
		params[7] = f->after_ts;
		params[8] = f->after_id;
		params[9] = lim;
		rc = nv_db_exec(a, d, f->ascending ? &lead_list_asc :
		    &lead_list_desc, params, &res);
	}
	if (rc != NV_OK)
		return rc;
	if ((rc = lead_page(a, res, limit, page)) != NV_OK)
		return nv_diag_set(d, rc, "internal error");
	return NV_OK;
}

enum nv_err
nv_lead_update(struct nv_arena *a, struct nv_diag *d, const char *id,
    const cJSON *patch, char **out)
{
	enum nv_err rc;

	rc = nv_model_patch(a, d, &lead_update_stmt, lead_fields,
	    NFIELDS(lead_fields), id, patch, "lead", lead_fk_cols, out);
	if (rc == NV_ERR_VALIDATION && d != NULL && d->ndetails > 0 &&
	    strcmp(d->details[0].field, "leads_contact_required") == 0) {
		nv_diag_reset(d);
		nv_diag_field(d, "email", "an e-mail address or a phone number "
		    "must remain");
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "a lead needs an e-mail address or a phone number");
	}
	return rc;
}

enum nv_err
nv_lead_delete(struct nv_arena *a, struct nv_diag *d, const char *id)
{
	return nv_model_delete(a, d, &lead_delete_stmt, id, "lead");
}

enum nv_err
nv_lead_export(struct nv_arena *a, struct nv_diag *d, const char *id,
    char **out)
{
	return nv_model_by_id(a, d, &lead_export_stmt, id, "lead", out);
}
