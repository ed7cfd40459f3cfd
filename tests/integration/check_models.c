/*
 * check_models.c - the models through lib/db, as the API will use them.
 *
 * Each test creates two fresh dealerships (A and B) through the definer
 * function, so it does not depend on, or disturb, the demo seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../testutil.h"
#include "arena.h"
#include "db.h"
#include "models/conversation.h"
#include "models/dealership.h"
#include "models/lead.h"
#include "models/user.h"
#include "models/vehicle.h"
#include "rls.h"

static struct nv_arena *arena;
static struct nv_diag diag;
static const char *dealer_a, *dealer_b;
static char org_a[64], org_b[64];

/* One model call inside a transaction, with a tenant context. */
typedef enum nv_err (*call_fn)(struct nv_arena *, struct nv_diag *, void *);

struct call {
	const char	*in;	/* JSON input, parsed in the tx */
	const char	*id;
	char		*out;
	enum nv_err	(*fn)(struct nv_arena *, struct nv_diag *,
			    struct call *, const cJSON *);
};

static enum nv_err
call_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct call *c = arg;
	cJSON *in = NULL;

	if (c->in != NULL) {
		in = cJSON_Parse(c->in);
		ck_assert_msg(in != NULL, "test input is not JSON: %s", c->in);
	}
	enum nv_err rc = c->fn(a, d, c, in);
	cJSON_Delete(in);
	return rc;
}

static enum nv_err
run(const char *dealership, struct call *c)
{
	struct nv_rls_ctx ctx = { dealership, NULL, "test", "req-test" };

	nv_diag_reset(&diag);
	c->out = NULL;
	return nv_db_tx(arena, &diag, dealership != NULL ? &ctx : NULL,
	    call_work, c);
}

static cJSON *
parsed(const char *json)
{
	cJSON *j;

	ck_assert_ptr_nonnull(json);
	j = cJSON_Parse(json);
	ck_assert_msg(j != NULL, "model output is not JSON: %s", json);
	return j;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
has_detail(const char *field)
{
	size_t i;

	for (i = 0; i < diag.ndetails; i++)
		if (strcmp(diag.details[i].field, field) == 0)
			return 1;
	return 0;
}

/* --- model call adapters --- */

static enum nv_err
do_dealer_create(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	const char *id;
	enum nv_err rc = nv_dealership_create(a, d, in, &id);

	c->out = (char *)(uintptr_t)id;
	return rc;
}

static enum nv_err
do_lead_create(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_lead_create(a, d, in, &c->out);
}

static enum nv_err
do_lead_get(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_lead_get(a, d, c->id, &c->out);
}

static enum nv_err
do_lead_update(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_lead_update(a, d, c->id, in, &c->out);
}

static enum nv_err
do_lead_delete(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_lead_delete(a, d, c->id);
}

static enum nv_err
do_lead_list(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	struct nv_lead_filter f;
	struct nv_lead_page p;
	enum nv_err rc;

	(void)in;
	memset(&f, 0, sizeof(f));
	f.limit = 200;
	f.status = c->id;
	rc = nv_lead_list(a, d, &f, &p);
	c->out = p.data;
	return rc;
}

static enum nv_err
do_user_create(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_user_create(a, d, in, &c->out);
}

static enum nv_err
do_user_update(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_user_update(a, d, c->id, in, &c->out);
}

static enum nv_err
do_user_list(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_user_list(a, d, c->id, &c->out);
}

static enum nv_err
do_user_by_clerk(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_user_get_by_clerk(a, d, c->id, &c->out);
}

static enum nv_err
do_vehicle_create(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_vehicle_create(a, d, in, &c->out);
}

static enum nv_err
do_vehicle_get(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_vehicle_get(a, d, c->id, &c->out);
}

static enum nv_err
do_vehicle_update(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_vehicle_update(a, d, c->id, in, &c->out);
}

static enum nv_err
do_vehicle_list(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_vehicle_list(a, d, NULL, &c->out);
}

static enum nv_err
do_msg_create(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_conversation_create(a, d, in, &c->out);
}

static enum nv_err
do_msg_list(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_conversation_list(a, d, c->id, &c->out);
}

static enum nv_err
do_msg_update(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_conversation_update(a, d, c->id, in, &c->out);
}

static enum nv_err
do_dealer_get(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	(void)in;
	return nv_dealership_get(a, d, c->id != NULL, &c->out);
}

static enum nv_err
do_dealer_update(struct nv_arena *a, struct nv_diag *d, struct call *c,
    const cJSON *in)
{
	return nv_dealership_update(a, d, in, c->id != NULL, &c->out);
}

/* --- fixtures --- */

static const char *
new_dealer(char *org, size_t orglen, const char *name)
{
	struct call c = { NULL, NULL, NULL, do_dealer_create };
	char in[256];

	snprintf(org, orglen, "org_test_%ld_%d_%ld", (long)getpid(),
	    rand(), (long)time(NULL));
	snprintf(in, sizeof(in), "{\"name\":\"%s\",\"clerk_org_id\":\"%s\","
	    "\"settings\":{\"language\":\"en\"}}", name, org);
	c.in = in;
	ck_assert_msg(run(NULL, &c) == NV_OK, "dealership create: %s",
	    diag.msg);
	return nv_arena_strdup(arena, c.out);
}

static void
setup(void)
{
	arena = nv_arena_new();
	nv_db_set_conninfo(nv_test_env("DATABASE_URL"));
	srand((unsigned)getpid());
	dealer_a = new_dealer(org_a, sizeof(org_a), "Model Test A");
	dealer_b = new_dealer(org_b, sizeof(org_b), "Model Test B");
}

static void
teardown(void)
{
	nv_db_close();
	nv_arena_free(arena);
}

static char *
create_lead(const char *dealer, const char *json)
{
	struct call c = { json, NULL, NULL, do_lead_create };
	cJSON *j;
	char *id;

	ck_assert_msg(run(dealer, &c) == NV_OK, "lead create: %s (%s)",
	    diag.msg, diag.ndetails ? diag.details[0].field : "");
	j = parsed(c.out);
	id = nv_arena_strdup(arena, str(j, "id"));
	cJSON_Delete(j);
	return id;
}

static char *
create_user(const char *dealer, const char *json)
{
	struct call c = { json, NULL, NULL, do_user_create };
	cJSON *j;
	char *id;

	ck_assert_msg(run(dealer, &c) == NV_OK, "user create: %s", diag.msg);
	j = parsed(c.out);
	id = nv_arena_strdup(arena, str(j, "id"));
	cJSON_Delete(j);
	return id;
}

/* --- dealership --- */

START_TEST(dealership_create_get_update)
{
	struct call c = { NULL, NULL, NULL, do_dealer_get };
	bool active;
	const char *id;
	cJSON *j, *s;

	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "id"), dealer_a);
	ck_assert_str_eq(str(j, "name"), "Model Test A");
	ck_assert_str_eq(str(j, "clerk_org_id"), org_a);
	s = cJSON_GetObjectItemCaseSensitive(j, "settings");
	/* Given settings merge over the defaults. */
	ck_assert_str_eq(str(s, "language"), "en");
	ck_assert_str_eq(str(s, "timezone"), "Europe/Oslo");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(s,
	    "webhook_secret"));
	cJSON_Delete(j);

	c.fn = do_dealer_update;
	c.id = "with-secret";
	c.in = "{\"name\":\"Renamed\",\"settings\":{\"webhook_secret\":"
	    "\"0123456789abcdef0123\",\"ai_enabled\":false}}";
	ck_assert_msg(run(dealer_a, &c) == NV_OK, "%s", diag.msg);
	j = parsed(c.out);
	s = cJSON_GetObjectItemCaseSensitive(j, "settings");
	ck_assert_str_eq(str(j, "name"), "Renamed");
	ck_assert_str_eq(str(s, "webhook_secret"), "0123456789abcdef0123");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s,
	    "ai_enabled")));
	ck_assert_str_eq(str(s, "language"), "en");
	cJSON_Delete(j);

	/* The change is audited, by column name only (no secret values). */
	{
		PGconn *pc = nv_test_connect(nv_test_env("DATABASE_URL"));
		PGresult *r;

		PQclear(nv_test_exec(pc, "BEGIN", NULL));
		PQclear(nv_test_exec(pc, "SELECT set_dealership_context($1)",
		    dealer_a, NULL));
		r = nv_test_exec(pc, "SELECT array_to_string(changed_columns, "
		    "','), a::text LIKE '%0123456789abcdef0123%' FROM audit_log a"
		    " WHERE entity = 'dealerships' AND entity_id = $1"
		    " AND actor = 'test'", dealer_a, NULL);
		ck_assert_int_eq(PQntuples(r), 1);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), "name,settings");
		ck_assert_str_eq(PQgetvalue(r, 0, 1), "f");
		PQclear(r);
		PQclear(nv_test_exec(pc, "COMMIT", NULL));
		PQfinish(pc);
	}

	/* Without the manager flag the secret is not shown. */
	c.fn = do_dealer_get;
	c.id = NULL;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	ck_assert_ptr_null(strstr(c.out, "0123456789abcdef0123"));

	/* The org resolves, before any tenant context. */
	nv_diag_reset(&diag);
	ck_assert_int_eq(nv_dealership_resolve_org(arena, &diag, org_a, &id,
	    &active), NV_OK);
	ck_assert_str_eq(id, dealer_a);
	ck_assert(active);
	ck_assert_int_eq(nv_dealership_resolve_org(arena, &diag,
	    "org_does_not_exist", &id, &active), NV_OK);
	ck_assert_ptr_null(id);
}
END_TEST

START_TEST(dealership_validation)
{
	struct call c = { NULL, "with-secret", NULL, do_dealer_update };
	struct nv_dealership_pub pub;

	c.in = "{\"settings\":{\"language\":\"de\",\"webhook_secret\":\"short\","
	    "\"colour\":\"red\"},\"clerk_org_id\":\"org_x\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("settings.language"));
	ck_assert(has_detail("settings.colour"));
	ck_assert(has_detail("clerk_org_id"));

	/* A second dealership for the same Clerk organisation conflicts. */
	c.fn = do_dealer_create;
	c.in = nv_arena_printf(arena, "{\"name\":\"Dup\",\"clerk_org_id\":"
	    "\"%s\"}", org_a);
	ck_assert_int_eq(run(NULL, &c), NV_ERR_CONFLICT);

	ck_assert_int_eq(nv_dealership_lookup(arena, &diag, dealer_b, &pub),
	    NV_OK);
	ck_assert_str_eq(pub.name, "Model Test B");
	ck_assert(pub.active);
	ck_assert_ptr_null(pub.webhook_secret);
	ck_assert_int_eq(nv_dealership_lookup(arena, &diag,
	    "00000000-0000-4000-8000-000000000000", &pub), NV_ERR_NOT_FOUND);
	ck_assert_int_eq(nv_dealership_lookup(arena, &diag, "not-a-uuid",
	    &pub), NV_ERR_NOT_FOUND);
}
END_TEST

/* --- leads --- */

START_TEST(lead_create_read_update)
{
	struct call c = { NULL, NULL, NULL, do_lead_get };
	const char *id;
	cJSON *j;

	id = create_lead(dealer_a, "{\"first_name\":\"  Kari \","
	    "\"last_name\":\"Nordmann\",\"email\":\"Kari.Nordmann@Example.NO\","
	    "\"phone\":\"912 34 567\",\"source\":\"web_form\","
	    "\"vehicle_interest\":\"Model Y\",\"message\":\"Hei! Prøvetur?\"}");
	c.id = id;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "first_name"), "Kari");
	ck_assert_str_eq(str(j, "email"), "kari.nordmann@example.no");
	ck_assert_str_eq(str(j, "phone"), "+4791234567");
	ck_assert_str_eq(str(j, "source"), "web_form");
	ck_assert_str_eq(str(j, "status"), "new");
	ck_assert_str_eq(str(j, "dealership_id"), dealer_a);
	ck_assert_str_eq(str(j, "message"), "Hei! Prøvetur?");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
	    "assigned_to")));
	ck_assert_ptr_nonnull(str(j, "created_at"));
	cJSON_Delete(j);

	c.fn = do_lead_update;
	c.in = "{\"status\":\"qualified\",\"notes\":\"Ringer fredag\","
	    "\"phone\":null}";
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "status"), "qualified");
	ck_assert_str_eq(str(j, "notes"), "Ringer fredag");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "phone")));
	ck_assert_str_eq(str(j, "email"), "kari.nordmann@example.no");
	cJSON_Delete(j);

	/* Removing the last contact is refused. */
	c.in = "{\"email\":null}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("email"));
}
END_TEST

START_TEST(lead_relationships)
{
	struct call c = { NULL, NULL, NULL, do_vehicle_create };
	const char *rep, *lead, *vehicle, *other_rep;
	cJSON *j, *v;

	rep = create_user(dealer_a, "{\"clerk_user_id\":\"user_rep_a\","
	    "\"name\":\"Ola Selger\",\"role\":\"sales_rep\","
	    "\"email\":\"ola@example.no\"}");
	other_rep = create_user(dealer_b, "{\"clerk_user_id\":\"user_rep_b\","
	    "\"role\":\"sales_rep\"}");
	c.in = "{\"make\":\"Tesla\",\"model\":\"Model Y\",\"year\":2025,"
	    "\"vin\":\"5yj3e1ea7kf317000\",\"price_ore\":49990000}";
	ck_assert_msg(run(dealer_a, &c) == NV_OK, "%s", diag.msg);
	j = parsed(c.out);
	vehicle = nv_arena_strdup(arena, str(j, "id"));
	ck_assert_str_eq(str(j, "vin"), "5YJ3E1EA7KF317000");
	cJSON_Delete(j);

	lead = create_lead(dealer_a, nv_arena_printf(arena, "{\"email\":"
	    "\"per@example.com\",\"assigned_to\":\"%s\",\"vehicle_id\":\"%s\"}",
	    rep, vehicle));
	c.fn = do_lead_get;
	c.id = lead;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "assigned_to"), rep);
	ck_assert_str_eq(str(j, "vehicle_id"), vehicle);
	ck_assert_str_eq(str(j, "dealership_id"), dealer_a);
	ck_assert_str_eq(str(j, "source"), "manual");
	cJSON_Delete(j);

	/* A user of another dealership cannot be assigned. */
	c.fn = do_lead_update;
	c.in = nv_arena_printf(arena, "{\"assigned_to\":\"%s\"}", other_rep);
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("assigned_to"));

	/* Deleting the vehicle leaves the lead, without the vehicle. */
	nv_diag_reset(&diag);
	c.fn = do_vehicle_update;
	c.id = vehicle;
	c.in = "{\"stock_status\":\"sold\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	v = cJSON_GetObjectItemCaseSensitive(j, "price_ore");
	ck_assert(cJSON_IsNumber(v) && v->valuedouble == 49990000.0);
	ck_assert_str_eq(str(j, "stock_status"), "sold");
	cJSON_Delete(j);
}
END_TEST

START_TEST(lead_validation)
{
	struct call c = { NULL, NULL, NULL, do_lead_create };

	c.in = "{\"first_name\":\"Nobody\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("email"));
	ck_assert(has_detail("phone"));

	c.in = "{\"email\":\"not an email\",\"phone\":\"abc\",\"status\":\"hot\","
	    "\"source\":\"fax\",\"dealership_id\":\"11111111-1111-4111-8111-"
	    "111111111111\",\"colour\":\"red\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("email"));
	ck_assert(has_detail("phone"));
	ck_assert(has_detail("status"));
	ck_assert(has_detail("source"));
	ck_assert(has_detail("dealership_id"));
	ck_assert(has_detail("colour"));

	c.in = "[1,2]";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_BAD_REQUEST);
}
END_TEST

START_TEST(lead_tenant_isolation)
{
	struct call c = { NULL, NULL, NULL, do_lead_get };
	const char *lead_b;

	lead_b = create_lead(dealer_b, "{\"phone\":\"+4799988877\"}");
	c.id = lead_b;
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_NOT_FOUND);
	ck_assert_int_eq(run(NULL, &c), NV_ERR_NOT_FOUND);
	c.fn = do_lead_update;
	c.in = "{\"status\":\"lost\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_NOT_FOUND);
	c.fn = do_lead_delete;
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_NOT_FOUND);
	/* Still there, untouched, for its own dealership. */
	c.fn = do_lead_get;
	ck_assert_int_eq(run(dealer_b, &c), NV_OK);
	{
		cJSON *j = parsed(c.out);

		ck_assert_str_eq(str(j, "status"), "new");
		cJSON_Delete(j);
	}
	c.fn = do_lead_list;
	c.id = NULL;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	ck_assert_ptr_null(strstr(c.out, lead_b));
	c.id = "lost";
	ck_assert_int_eq(run(dealer_b, &c), NV_OK);
	ck_assert_str_eq(c.out, "[]");
}
END_TEST

START_TEST(lead_jsonb_round_trip)
{
	struct call c = { NULL, NULL, NULL, do_lead_get };
	cJSON *j, *m, *v;
	const char *id;

	id = create_lead(dealer_a, "{\"email\":\"utm@example.com\","
	    "\"metadata\":{\"utm_source\":\"finn.no\",\"nested\":{\"a\":[1,2.5,"
	    "true,null,\"æøå \\u2603\"]},\"leadgen_id\":\"55459717045641545\"},"
	    "\"consent\":{\"email\":{\"granted\":true,\"source\":\"web_form\"}}}");
	c.id = id;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	m = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	ck_assert_str_eq(str(m, "utm_source"), "finn.no");
	ck_assert_str_eq(str(m, "leadgen_id"), "55459717045641545");
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m,
	    "nested"), "a");
	ck_assert_int_eq(cJSON_GetArraySize(v), 5);
	ck_assert(cJSON_GetArrayItem(v, 1)->valuedouble == 2.5);
	ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(v, 2)));
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(v, 3)));
	ck_assert_str_eq(cJSON_GetArrayItem(v, 4)->valuestring,
	    "æøå \xe2\x98\x83");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j,
	    "consent"), "email"), "granted")));
	cJSON_Delete(j);
}
END_TEST

struct list_call {
	struct nv_lead_filter	f;
	struct nv_lead_page	p;
};

static enum nv_err
work_list(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct list_call *l = arg;

	return nv_lead_list(a, d, &l->f, &l->p);
}

/* Walk all pages with limit 3; every lead exactly once, in order. */
static int
walk(const char *dealer, bool ascending, const char *status)
{
	struct nv_rls_ctx ctx = { dealer, NULL, "test", NULL };
	struct list_call l;
	char prev[64] = "";
	int total = 0, pages = 0;

	memset(&l, 0, sizeof(l));
	l.f.limit = 3;
	l.f.ascending = ascending;
	l.f.status = status;
	for (;;) {
		cJSON *arr, *it;

		ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_list, &l),
		    NV_OK);
		arr = parsed(l.p.data);
		ck_assert_int_le(cJSON_GetArraySize(arr), 3);
		cJSON_ArrayForEach(it, arr) {
			const char *ts = str(it, "created_at");

			if (prev[0] != '\0')
				ck_assert_msg(ascending ? strcmp(prev, ts) <= 0 :
				    strcmp(prev, ts) >= 0, "out of order");
			snprintf(prev, sizeof(prev), "%s", ts);
			if (status != NULL)
				ck_assert_str_eq(str(it, "status"), status);
			total++;
		}
		cJSON_Delete(arr);
		pages++;
		if (l.p.next_ts == NULL)
			break;
		l.f.after_ts = l.p.next_ts;
		l.f.after_id = l.p.next_id;
		ck_assert_int_lt(pages, 20);
	}
	return total;
}

START_TEST(lead_list_keyset)
{
	int i;

	for (i = 0; i < 7; i++)
		create_lead(dealer_a, nv_arena_printf(arena,
		    "{\"email\":\"walk%d@example.com\",\"status\":\"%s\"}", i,
		    i % 2 ? "contacted" : "new"));
	create_lead(dealer_b, "{\"email\":\"other@example.com\"}");
	ck_assert_int_eq(walk(dealer_a, false, NULL), 7);
	ck_assert_int_eq(walk(dealer_a, true, NULL), 7);
	ck_assert_int_eq(walk(dealer_a, false, "contacted"), 3);
	ck_assert_int_eq(walk(dealer_a, false, "new"), 4);
	ck_assert_int_eq(walk(dealer_b, false, NULL), 1);
	ck_assert_int_eq(walk(NULL, false, NULL), 0);
}
END_TEST

START_TEST(lead_list_search)
{
	struct nv_rls_ctx ctx = { NULL, NULL, "test", NULL };
	struct list_call l;
	cJSON *arr;

	ctx.dealership_id = dealer_a;
	create_lead(dealer_a, "{\"first_name\":\"Ingrid\",\"last_name\":"
	    "\"Bjørnstad\",\"email\":\"ingrid@example.no\"}");
	create_lead(dealer_a, "{\"first_name\":\"Per\",\"phone\":\"41234567\"}");
	memset(&l, 0, sizeof(l));
	l.f.limit = 50;
	l.f.q = "bjørn";
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_list, &l), NV_OK);
	arr = parsed(l.p.data);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	cJSON_Delete(arr);
	l.f.q = "4123";
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_list, &l), NV_OK);
	arr = parsed(l.p.data);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	cJSON_Delete(arr);
	/* LIKE wildcards are literal. */
	l.f.q = "%";
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_list, &l), NV_OK);
	ck_assert_str_eq(l.p.data, "[]");
	l.f.q = NULL;
	l.f.unassigned = true;
	ck_assert_int_eq(nv_db_tx(arena, &diag, &ctx, work_list, &l), NV_OK);
	arr = parsed(l.p.data);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(database_rejects_bad_leads)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	char st[6];

	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", dealer_a,
	    NULL));
	/* Straight to the table, past the C validation. */
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, email, "
	    "source) VALUES ($1, 'not an email', 'manual')", dealer_a, NULL);
	ck_assert_str_eq(st, "23514");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", dealer_a,
	    NULL));
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, first_name,"
	    " source) VALUES ($1, 'Nobody', 'manual')", dealer_a, NULL);
	ck_assert_str_eq(st, "23514");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", dealer_a,
	    NULL));
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, phone, "
	    "source) VALUES ($1, '91234567', 'manual')", dealer_a, NULL);
	ck_assert_str_eq(st, "23514");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", dealer_a,
	    NULL));
	nv_test_exec_err(c, st, "INSERT INTO leads (dealership_id, email, "
	    "source, status) VALUES ($1, 'a@example.com', 'manual', 'hot')",
	    dealer_a, NULL);
	ck_assert_str_eq(st, "23514");
	PQclear(nv_test_exec(c, "ROLLBACK", NULL));
	PQfinish(c);
}
END_TEST

/* --- users --- */

START_TEST(user_create_list_update)
{
	struct call c = { NULL, NULL, NULL, do_user_list };
	const char *mgr;
	cJSON *j;

	mgr = create_user(dealer_a, "{\"clerk_user_id\":\"user_mgr\","
	    "\"name\":\"Mona Leder\",\"role\":\"manager\","
	    "\"email\":\"MONA@example.no\"}");
	create_user(dealer_a, "{\"clerk_user_id\":\"user_rep\",\"name\":"
	    "\"Rolf Rep\"}");
	/* The same Clerk user may also belong to dealership B. */
	create_user(dealer_b, "{\"clerk_user_id\":\"user_mgr\",\"role\":"
	    "\"admin\"}");

	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	cJSON_Delete(j);
	c.id = "manager";
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_int_eq(cJSON_GetArraySize(j), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 0), "email"),
	    "mona@example.no");
	cJSON_Delete(j);

	c.fn = do_user_by_clerk;
	c.id = "user_mgr";
	ck_assert_int_eq(run(dealer_b, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "role"), "admin");
	ck_assert_str_eq(str(j, "dealership_id"), dealer_b);
	cJSON_Delete(j);

	c.fn = do_user_update;
	c.id = mgr;
	c.in = "{\"role\":\"admin\",\"active\":false,"
	    "\"notification_preferences\":{\"sms\":true}}";
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "role"), "admin");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "active")));
	cJSON_Delete(j);
	/* Another dealership cannot touch it. */
	c.in = "{\"role\":\"sales_rep\"}";
	ck_assert_int_eq(run(dealer_b, &c), NV_ERR_NOT_FOUND);
}
END_TEST

START_TEST(user_errors)
{
	struct call c = { NULL, NULL, NULL, do_user_create };

	create_user(dealer_a, "{\"clerk_user_id\":\"user_once\"}");
	c.in = "{\"clerk_user_id\":\"user_once\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_CONFLICT);
	c.in = "{\"role\":\"owner\",\"email\":\"x@\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("clerk_user_id"));
	ck_assert(has_detail("role"));
	ck_assert(has_detail("email"));
	c.fn = do_user_update;
	c.id = "00000000-0000-4000-8000-000000000000";
	c.in = "{\"clerk_user_id\":\"user_changed\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("clerk_user_id"));
}
END_TEST

/* --- vehicles --- */

START_TEST(vehicle_crud_and_errors)
{
	struct call c = { NULL, NULL, NULL, do_vehicle_create };
	const char *id;
	cJSON *j;

	c.in = "{\"make\":\"Volkswagen\",\"model\":\"ID.4\",\"year\":2024,"
	    "\"vin\":\"WVWZZZE2ZPP000001\",\"stock_status\":\"in_stock\","
	    "\"metadata\":{\"colour\":\"blå\"}}";
	ck_assert_msg(run(dealer_a, &c) == NV_OK, "%s", diag.msg);
	j = parsed(c.out);
	id = nv_arena_strdup(arena, str(j, "id"));
	cJSON_Delete(j);

	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_CONFLICT);
	ck_assert_int_eq(run(dealer_b, &c), NV_OK);

	c.in = "{\"make\":\"VW\",\"vin\":\"WVWZZZE2ZPP00000I\",\"year\":1800,"
	    "\"price_ore\":-5}";
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("model"));
	ck_assert(has_detail("vin"));
	ck_assert(has_detail("year"));
	ck_assert(has_detail("price_ore"));

	c.fn = do_vehicle_get;
	c.id = id;
	ck_assert_int_eq(run(dealer_b, &c), NV_ERR_NOT_FOUND);
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	c.fn = do_vehicle_list;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_int_eq(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
}
END_TEST

/* --- conversations --- */

START_TEST(conversation_flow)
{
	struct call c = { NULL, NULL, NULL, do_msg_create };
	const char *lead, *msg;
	cJSON *j;

	lead = create_lead(dealer_a, "{\"email\":\"chat@example.com\"}");
	c.in = nv_arena_printf(arena, "{\"lead_id\":\"%s\",\"direction\":"
	    "\"inbound\",\"channel\":\"email\",\"sender\":\"customer\","
	    "\"body\":\"Er bilen ledig?\"}", lead);
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "status"), "delivered");
	cJSON_Delete(j);
	c.in = nv_arena_printf(arena, "{\"lead_id\":\"%s\",\"direction\":"
	    "\"outbound\",\"channel\":\"email\",\"sender\":\"ai\","
	    "\"body\":\"Ja, den er ledig.\"}", lead);
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "status"), "queued");
	ck_assert_str_eq(str(j, "lead_id"), lead);
	msg = nv_arena_strdup(arena, str(j, "id"));
	cJSON_Delete(j);

	c.fn = do_msg_update;
	c.id = msg;
	c.in = "{\"status\":\"sent\",\"provider_id\":\"SM123\"}";
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_str_eq(str(j, "status"), "sent");
	ck_assert_str_eq(str(j, "provider_id"), "SM123");
	cJSON_Delete(j);

	c.fn = do_msg_list;
	c.id = lead;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	j = parsed(c.out);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 0), "direction"), "inbound");
	cJSON_Delete(j);
	ck_assert_int_eq(run(dealer_b, &c), NV_ERR_NOT_FOUND);

	/* Erasing the lead erases its messages. */
	c.fn = do_lead_delete;
	ck_assert_int_eq(run(dealer_a, &c), NV_OK);
	c.fn = do_msg_list;
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_NOT_FOUND);
	c.fn = do_lead_delete;
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_NOT_FOUND);
}
END_TEST

START_TEST(conversation_errors)
{
	struct call c = { NULL, NULL, NULL, do_msg_create };
	const char *lead_b;

	lead_b = create_lead(dealer_b, "{\"email\":\"b@example.com\"}");
	c.in = nv_arena_printf(arena, "{\"lead_id\":\"%s\",\"direction\":"
	    "\"inbound\",\"channel\":\"sms\",\"sender\":\"customer\","
	    "\"body\":\"hei\"}", lead_b);
	ck_assert_int_eq(run(dealer_a, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("lead_id"));
	c.in = nv_arena_printf(arena, "{\"lead_id\":\"%s\",\"direction\":"
	    "\"inbound\",\"channel\":\"sms\",\"sender\":\"ai\",\"body\":\"x\"}",
	    lead_b);
	ck_assert_int_eq(run(dealer_b, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("sender"));
	c.in = "{\"direction\":\"sideways\",\"channel\":\"fax\"}";
	ck_assert_int_eq(run(dealer_b, &c), NV_ERR_VALIDATION);
	ck_assert(has_detail("lead_id"));
	ck_assert(has_detail("direction"));
	ck_assert(has_detail("channel"));
	ck_assert(has_detail("sender"));
	ck_assert(has_detail("body"));
}
END_TEST

START_TEST(audit_log_records_changes)
{
	PGconn *c = nv_test_connect(nv_test_env("DATABASE_URL"));
	struct call u = { NULL, NULL, NULL, do_lead_update };
	PGresult *r;
	const char *lead;

	lead = create_lead(dealer_a, "{\"email\":\"audit@example.com\"}");
	u.id = lead;
	u.in = "{\"status\":\"contacted\"}";
	ck_assert_int_eq(run(dealer_a, &u), NV_OK);
	PQclear(nv_test_exec(c, "BEGIN", NULL));
	PQclear(nv_test_exec(c, "SELECT set_dealership_context($1)", dealer_a,
	    NULL));
	r = nv_test_exec(c, "SELECT action, array_to_string(changed_columns,"
	    "','), actor, request_id FROM audit_log WHERE entity = 'leads'"
	    " AND entity_id = $1 ORDER BY created_at, action", lead, NULL);
	ck_assert_int_eq(PQntuples(r), 2);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "insert");
	ck_assert_str_eq(PQgetvalue(r, 1, 0), "update");
	/* A person changing the status also pauses the AI. */
	ck_assert_str_eq(PQgetvalue(r, 1, 1), "status,ai_paused");
	ck_assert_str_eq(PQgetvalue(r, 1, 2), "test");
	ck_assert_str_eq(PQgetvalue(r, 1, 3), "req-test");
	PQclear(r);
	/* No personal data in the audit trail. */
	ck_assert_int_eq(nv_test_count(c, "SELECT count(*) FROM audit_log a"
	    " WHERE a::text LIKE '%audit@example.com%'", NULL), 0);
	PQclear(nv_test_exec(c, "COMMIT", NULL));
	PQfinish(c);
}
END_TEST

static Suite *
models_suite(void)
{
	Suite *s = suite_create("models");
	TCase *core = tcase_create("core"), *err = tcase_create("errors");
	TCase *lim = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(err, setup, teardown);
	tcase_add_checked_fixture(lim, setup, teardown);
	tcase_add_test(core, dealership_create_get_update);
	tcase_add_test(core, lead_create_read_update);
	tcase_add_test(core, lead_relationships);
	tcase_add_test(core, lead_jsonb_round_trip);
	tcase_add_test(err, dealership_validation);
	tcase_add_test(err, lead_validation);
	tcase_add_test(err, lead_tenant_isolation);
	tcase_add_test(core, user_create_list_update);
	tcase_add_test(core, vehicle_crud_and_errors);
	tcase_add_test(core, conversation_flow);
	tcase_add_test(core, audit_log_records_changes);
	tcase_add_test(err, database_rejects_bad_leads);
	tcase_add_test(err, user_errors);
	tcase_add_test(err, conversation_errors);
	tcase_add_test(lim, lead_list_keyset);
	tcase_add_test(lim, lead_list_search);
	suite_add_tcase(s, core);
	suite_add_tcase(s, err);
	suite_add_tcase(s, lim);
	return s;
}

NV_TEST_MAIN(models_suite)
