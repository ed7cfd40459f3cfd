/*
 * clerk.c - Clerk webhook events; see clerk.h.
 *
 * The event is read completely before the transaction starts, so a
 * malformed event costs no database round trip and applies nothing.
 * External ids (org_..., user_...) are taken only as JSON strings.  An
 * e-mail address Norvalt would refuse (users_email_check) is left out, and
 * the stored one kept, rather than failing the event for ever: Svix would
 * retry it for days.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "clerk.h"
#include "db.h"
#include "log.h"
#include "rls.h"
#include "valid.h"

#define CLERK_ACTOR	"webhook:clerk"
#define CLERK_NAME_MAX	200

enum clerk_kind {
	CLERK_IGNORED = 0,
	CLERK_ORG,		/* organization.created|updated */
	CLERK_ORG_DELETED,
	CLERK_MEMBER,		/* organizationMembership.created|updated */
	CLERK_MEMBER_DELETED,
	CLERK_USER,		/* user.created|updated */
	CLERK_USER_DELETED
};

static const struct {
	const char	*type;
	enum clerk_kind	 kind;
} clerk_types[] = {
	{ "organization.created", CLERK_ORG },
	{ "organization.updated", CLERK_ORG },
	{ "organization.deleted", CLERK_ORG_DELETED },
	{ "organizationMembership.created", CLERK_MEMBER },
	{ "organizationMembership.updated", CLERK_MEMBER },
	{ "organizationMembership.deleted", CLERK_MEMBER_DELETED },
	{ "user.created", CLERK_USER },
	{ "user.updated", CLERK_USER },
	{ "user.deleted", CLERK_USER_DELETED },
};

static const struct nv_stmt clerk_seen_stmt = {
	"clerk_seen",
	"SELECT nv_clerk_event_seen($1, $2)",
	2
};

static const struct nv_stmt clerk_org_stmt = {
	"clerk_org",
	"SELECT nv_clerk_org_upsert($1, $2, $3::boolean)",
	3
};

static const struct nv_stmt clerk_member_stmt = {
	"clerk_member",
	"SELECT nv_clerk_member_upsert($1, $2, $3, $4, $5, $6::boolean)",
	6
};

static const struct nv_stmt clerk_user_stmt = {
	"clerk_user",
	"SELECT nv_clerk_user_update($1, $2, $3, $4::boolean)",
	4
};

/* The event, read and checked before the transaction. */
struct clerk_event {
	const char	*svix_id;
	const char	*type;
	enum clerk_kind	 kind;
	const char	*org_id;
	const char	*org_name;
	const char	*user_id;
	const char	*email;		/* NULL: keep the stored one */
	const char	*name;		/* NULL: keep the stored one */
	const char	*role;		/* Norvalt role */
	const char	*active;	/* "true", "false" or NULL (keep) */
	struct nv_clerk_result *res;
};

static const char *const clerk_roles[] = { "sales_rep", "manager", "admin",
	NULL };

/* Whether the pair key s[0..n) names Clerk role role ("org:" optional). */
static int
clerk_role_eq(const char *s, size_t n, const char *role)
{
	if (strlen(role) == n && memcmp(s, role, n) == 0)
		return 1;
	if (n > 4 && memcmp(s, "org:", 4) == 0 && strlen(role) == n - 4 &&
	    memcmp(s + 4, role, n - 4) == 0)
		return 1;
	if (strncmp(role, "org:", 4) == 0 && strlen(role + 4) == n &&
	    memcmp(s, role + 4, n) == 0)
		return 1;
	return 0;
}

enum nv_err
nv_clerk_role_map_check(const char *map, struct nv_diag *d)
{
	const char *p, *e, *eq, *q, *qe;
	size_t i, n;
	int ok;

	if (map == NULL || *map == '\0')
		return nv_diag_set(d, NV_ERR_CONFIG, "the role map is empty");
	for (p = map; ; p = e + 1) {
		e = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq == NULL || eq == p)
			return nv_diag_set(d, NV_ERR_CONFIG, "the role map "
			    "needs clerk_role=norvalt_role pairs");
		for (q = p; q < eq; q++)
			if (isspace((unsigned char)*q) || *q == '=')
				return nv_diag_set(d, NV_ERR_CONFIG, "the role "
				    "map has a blank in a Clerk role");
		n = (size_t)(e - eq - 1);
		ok = 0;
		for (i = 0; clerk_roles[i] != NULL; i++)
			if (strlen(clerk_roles[i]) == n &&
			    memcmp(eq + 1, clerk_roles[i], n) == 0)
				ok = 1;
		if (!ok)
			return nv_diag_set(d, NV_ERR_CONFIG, "the role map may "
			    "only name sales_rep, manager or admin");
		/* The same Clerk role twice would make the map ambiguous. */
		for (q = map; q < p; q = qe + 1) {
			qe = q + strcspn(q, "=");
			if ((size_t)(qe - q) == (size_t)(eq - p) &&
			    memcmp(q, p, (size_t)(eq - p)) == 0)
				return nv_diag_set(d, NV_ERR_CONFIG, "the role "
				    "map names a Clerk role twice");
			qe += strcspn(qe, ",");
		}
		if (*e == '\0')
			break;
	}
	return NV_OK;
}

const char *
nv_clerk_role(const char *map, const char *role)
{
	const char *p, *e, *eq;
	size_t i, n;

	if (map == NULL || role == NULL)
		return "sales_rep";
	for (p = map; ; p = e + 1) {
		e = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq != NULL && clerk_role_eq(p, (size_t)(eq - p), role)) {
			n = (size_t)(e - eq - 1);
			for (i = 0; clerk_roles[i] != NULL; i++)
				if (strlen(clerk_roles[i]) == n &&
				    memcmp(eq + 1, clerk_roles[i], n) == 0)
					return clerk_roles[i];
		}
		if (*e == '\0')
			break;
	}
	return "sales_rep";
}

/* A non-empty string member of o, or NULL. */
static const char *
clerk_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return NULL;
	return v->valuestring;
}

/* s trimmed, at most max bytes (cut at a character boundary), or NULL. */
static const char *
clerk_trim(struct nv_arena *a, const char *s, size_t max)
{
	const char *e;
	size_t n;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n == 0 || !nv_valid_text(s, n))
		return NULL;
	return nv_arena_strndup(a, s, n);
}

/* "first last", either may be missing; NULL when both are. */
static const char *
clerk_name(struct nv_arena *a, const cJSON *o)
{
	const char *f = clerk_trim(a, clerk_str(o, "first_name"), 200);
	const char *l = clerk_trim(a, clerk_str(o, "last_name"), 200);

	if (f != NULL && l != NULL)
		return clerk_trim(a, nv_arena_cat(a, f, " ", l, NULL),
		    CLERK_NAME_MAX);
	return f != NULL ? f : l;
}

/* A valid, lower-cased e-mail address, or NULL (keep the stored one). */
static const char *
clerk_email(struct nv_arena *a, const char *s)
{
	char *e, *p;

	if ((s = clerk_trim(a, s, 254)) == NULL)
		return NULL;
	e = nv_arena_strdup(a, s);
	for (p = e; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!nv_valid_email(e)) {
		nv_log_warn("clerk: an e-mail address that is not valid here "
		    "was left out");
		return NULL;
	}
	return e;
}

/* The primary address of a Clerk user object. */
static const char *
clerk_primary_email(struct nv_arena *a, const cJSON *data)
{
	const char *primary = clerk_str(data, "primary_email_address_id");
	const cJSON *list, *it;

	list = cJSON_GetObjectItemCaseSensitive(data, "email_addresses");
	if (primary == NULL || !cJSON_IsArray(list))
		return NULL;
	cJSON_ArrayForEach(it, list) {
		const char *id = clerk_str(it, "id");

		if (id != NULL && strcmp(id, primary) == 0)
			return clerk_email(a, clerk_str(it, "email_address"));
	}
	return NULL;
}

static enum nv_err
clerk_missing(struct nv_diag *d, const char *field)
{
	nv_diag_field(d, field, "is required");
	return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the event has no %s",
	    field);
}

/* Fill ev from event; NV_ERR_BAD_REQUEST naming what is missing. */
static enum nv_err
clerk_read(struct nv_arena *a, struct nv_diag *d, const cJSON *event,
    const char *role_map, struct clerk_event *ev)
{
	const cJSON *data, *org, *pud;
	size_t i;

	if (!cJSON_IsObject(event))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body must be a JSON object");
	if ((ev->type = clerk_str(event, "type")) == NULL)
		return clerk_missing(d, "type");
	data = cJSON_GetObjectItemCaseSensitive(event, "data");
	if (!cJSON_IsObject(data))
		return clerk_missing(d, "data");
	ev->kind = CLERK_IGNORED;
	for (i = 0; i < sizeof(clerk_types) / sizeof(clerk_types[0]); i++)
		if (strcmp(ev->type, clerk_types[i].type) == 0)
			ev->kind = clerk_types[i].kind;

	switch (ev->kind) {
	case CLERK_IGNORED:
		break;
	case CLERK_ORG:
	case CLERK_ORG_DELETED:
		if ((ev->org_id = clerk_str(data, "id")) == NULL)
			return clerk_missing(d, "data.id");
		if (ev->kind == CLERK_ORG_DELETED) {
			ev->active = "false";
			break;
		}
		ev->org_name = clerk_trim(a, clerk_str(data, "name"), 200);
		if (ev->org_name == NULL)
			return clerk_missing(d, "data.name");
		break;
	case CLERK_MEMBER:
	case CLERK_MEMBER_DELETED:
		org = cJSON_GetObjectItemCaseSensitive(data, "organization");
		pud = cJSON_GetObjectItemCaseSensitive(data,
		    "public_user_data");
		if ((ev->org_id = clerk_str(org, "id")) == NULL)
			return clerk_missing(d, "data.organization.id");
		if ((ev->user_id = clerk_str(pud, "user_id")) == NULL)
			return clerk_missing(d,
			    "data.public_user_data.user_id");
		if (ev->kind == CLERK_MEMBER_DELETED) {
			ev->active = "false";
			break;
		}
		ev->email = clerk_email(a, clerk_str(pud, "identifier"));
		ev->name = clerk_name(a, pud);
		ev->role = nv_clerk_role(role_map, clerk_str(data, "role"));
		ev->active = "true";
		break;
	case CLERK_USER:
	case CLERK_USER_DELETED:
		if ((ev->user_id = clerk_str(data, "id")) == NULL)
			return clerk_missing(d, "data.id");
		if (ev->kind == CLERK_USER_DELETED) {
			ev->active = "false";
			break;
		}
		ev->email = clerk_primary_email(a, data);
		ev->name = clerk_name(a, data);
		break;
	}
	return NV_OK;
}

static enum nv_err
clerk_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct clerk_event *ev = arg;
	const char *p[6];
	PGresult *res;
	const char *v;
	enum nv_err rc;

	p[0] = ev->svix_id;
	p[1] = ev->type;
	if ((rc = nv_db_exec(a, d, &clerk_seen_stmt, p, &res)) != NV_OK)
		return rc;
	if ((v = nv_db_value(res, 0, 0)) != NULL && strcmp(v, "t") == 0) {
		ev->res->duplicate = true;
		return NV_OK;
	}

	switch (ev->kind) {
	case CLERK_IGNORED:
		return NV_OK;
	case CLERK_ORG:
	case CLERK_ORG_DELETED:
		p[0] = ev->org_id;
		p[1] = ev->org_name;
		p[2] = ev->active;
		rc = nv_db_exec(a, d, &clerk_org_stmt, p, &res);
		break;
	case CLERK_MEMBER:
	case CLERK_MEMBER_DELETED:
		p[0] = ev->org_id;
		p[1] = ev->user_id;
		p[2] = ev->email;
		p[3] = ev->name;
		p[4] = ev->role;
		p[5] = ev->active;
		rc = nv_db_exec(a, d, &clerk_member_stmt, p, &res);
		break;
	case CLERK_USER:
	case CLERK_USER_DELETED:
		p[0] = ev->user_id;
		p[1] = ev->email;
		p[2] = ev->name;
		p[3] = ev->active;
		rc = nv_db_exec(a, d, &clerk_user_stmt, p, &res);
		break;
	}
	if (rc != NV_OK)
		return rc;
	v = nv_db_value(res, 0, 0);
	ev->res->applied = v != NULL && strcmp(v, "f") != 0 &&
	    strcmp(v, "0") != 0;
	return NV_OK;
}

enum nv_err
nv_clerk_apply(struct nv_arena *a, struct nv_diag *d, const char *svix_id,
    const cJSON *event, const char *role_map, const char *request_id,
    struct nv_clerk_result *out)
{
	struct clerk_event ev;
	struct nv_rls_ctx ctx;
	enum nv_err rc;

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	ev.svix_id = svix_id;
	ev.res = out;
	if ((rc = clerk_read(a, d, event, role_map, &ev)) != NV_OK)
		return rc;
	memset(&ctx, 0, sizeof(ctx));
	ctx.actor = CLERK_ACTOR;
	ctx.request_id = request_id;
	if ((rc = nv_db_tx(a, d, &ctx, clerk_work, &ev)) != NV_OK)
		return rc;
	out->ignored = ev.kind == CLERK_IGNORED && !out->duplicate;
	if (!out->duplicate && !out->ignored && !out->applied)
		nv_log_info("clerk: %s changed nothing (unknown organisation "
		    "or user)", ev.type);
	return NV_OK;
}
