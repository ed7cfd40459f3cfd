/*
 * adf.c - ADF 1.0 XML into an inbound lead; see adf.h.
 *
 * Safety.  The document is parsed with XML_PARSE_NONET and without
 * XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR,
 * XML_PARSE_DTDVALID and XML_PARSE_HUGE: nothing is fetched, no external
 * subset is read, entities are never substituted and libxml2's own limits
 * (nesting 256, text sizes) stay on.  On top of that the parser context's
 * SAX handlers for entity declarations stop the parse at the first
 * <!ENTITY ...> of an internal subset, so an XXE or "billion laughs"
 * document is refused before any reference to it is even read.  libxml2's
 * error reporting is silenced: its messages quote the input, which is
 * personal data and must not reach the log.
 *
 * Leniency.  Names of elements and attributes match in any case, text is
 * trimmed (CDATA is merged into text by XML_PARSE_NOCDATA), missing parts
 * (year, a name part) are simply absent, unknown phone types count as
 * voice, an invalid e-mail address or phone number is skipped when another
 * contact point remains, and over-long values are cut at a UTF-8 boundary.
 * Only the first prospect becomes the lead; the count is kept.
 */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "adf.h"
#include "json.h"
#include "valid.h"

#define ADF_NAME_MAX		200
#define ADF_FIELD_MAX		500
#define ADF_MESSAGE_MAX		20000

/* The parse options: see the top of the file for what is left out. */
#define ADF_XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOCDATA | \
	XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

struct adf_guard {
	bool	entities;	/* an entity declaration was seen */
};

static void
adf_silent(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void
adf_silent_structured(void *ctx, xmlErrorPtr err)
{
	(void)ctx;
	(void)err;
}

static void
adf_refuse(xmlParserCtxtPtr ctxt)
{
	struct adf_guard *g = ctxt->_private;

	g->entities = true;
	xmlStopParser(ctxt);
}

static void
adf_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	adf_refuse(ctx);
}

static void
adf_unparsed_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
    const xmlChar *system_id, const xmlChar *notation)
{
	(void)name;
	(void)public_id;
	(void)system_id;
	(void)notation;
	adf_refuse(ctx);
}

static xmlEntityPtr
adf_get_entity(void *ctx, const xmlChar *name)
{
	/* Only the five predefined entities exist in an accepted document. */
	(void)ctx;
	return xmlGetPredefinedEntity(name);
}

static xmlEntityPtr
adf_get_pentity(void *ctx, const xmlChar *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

/* 1 when no element of the tree under root nests deeper than the cap. */
static int
adf_depth_ok(const xmlNode *root)
{
	const xmlNode *n = root;
	int depth = 1;

	for (;;) {
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			if (++depth > NV_ADF_DEPTH_MAX)
				return 0;
			n = n->children;
			continue;
		}
		while (n != root && n->next == NULL) {
			n = n->parent;
			depth--;
		}
		if (n == root)
			return 1;
		n = n->next;
	}
}

static int
adf_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcasecmp((const char *)n->name, name) == 0;
}

/* The first element child of n called name (any case), or NULL. */
static const xmlNode *
adf_child(const xmlNode *n, const char *name)
{
	const xmlNode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (adf_is(c, name))
			return c;
	return NULL;
}

/* The next sibling of n called name (any case), or NULL. */
static const xmlNode *
adf_next(const xmlNode *n, const char *name)
{
	for (n = n->next; n != NULL; n = n->next)
		if (adf_is(n, name))
			return n;
	return NULL;
}

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static void
adf_clip(char *s, size_t max)
{
	if (strlen(s) <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

/*
 * raw trimmed into the arena; with collapse, every run of white space
 * becomes one space.  NULL when raw is NULL or blank.
 */
static const char *
adf_clean(struct nv_arena *a, const xmlChar *raw, bool collapse, size_t max)
{
	const char *s = (const char *)raw, *e;
	char *out, *o;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return NULL;
	out = o = nv_arena_alloc(a, (size_t)(e - s) + 1);
	for (; s < e; s++) {
		if (collapse && isspace((unsigned char)*s)) {
			if (o > out && o[-1] != ' ')
				*o++ = ' ';
			continue;
		}
		if (*s == '\r' && s + 1 < e && s[1] == '\n')
			continue;
		*o++ = *s;
	}
	*o = '\0';
	adf_clip(out, max);
	return out;
}

/* The text of n (all descendants), cleaned; NULL when absent or blank. */
static const char *
adf_text_of(struct nv_arena *a, const xmlNode *n, bool collapse, size_t max)
{
	xmlChar *raw;
	const char *s;

	if (n == NULL)
		return NULL;
	raw = xmlNodeGetContent(n);
	s = adf_clean(a, raw, collapse, max);
	xmlFree(raw);
	return s;
}

static const char *
adf_text(struct nv_arena *a, const xmlNode *parent, const char *name)
{
	return adf_text_of(a, adf_child(parent, name), true, ADF_FIELD_MAX);
}

/* Attribute name of n (any case), cleaned; NULL when absent or blank. */
static const char *
adf_attr(struct nv_arena *a, const xmlNode *n, const char *name)
{
	const xmlAttr *p;
	xmlChar *raw;
	const char *s;

	if (n == NULL)
		return NULL;
	for (p = n->properties; p != NULL; p = p->next)
		if (strcasecmp((const char *)p->name, name) == 0) {
			raw = xmlNodeListGetString(n->doc, p->children, 1);
			s = adf_clean(a, raw, true, ADF_FIELD_MAX);
			xmlFree(raw);
			return s;
		}
	return NULL;
}

static char *
adf_lower(struct nv_arena *a, const char *s)
{
	char *l, *p;

	if (s == NULL)
		return NULL;
	l = nv_arena_strdup(a, s);
	for (p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

static void
adf_put(cJSON *o, const char *key, const char *val)
{
	if (val != NULL)
		cJSON_AddStringToObject(o, key, val);
}

/* 1 when a vehicle's interest names a car the customer hands over. */
static int
adf_is_trade(const char *interest)
{
	char buf[32];
	size_t n = 0;
	const char *p;

	if (interest == NULL)
		return 0;
	for (p = interest; *p != '\0' && n + 1 < sizeof(buf); p++)
		if (isalnum((unsigned char)*p))
			buf[n++] = (char)tolower((unsigned char)*p);
	buf[n] = '\0';
	return strcmp(buf, "tradein") == 0 || strcmp(buf, "trade") == 0 ||
	    strcmp(buf, "sell") == 0;
}

/* A vehicle element as a JSON object (the caller owns it). */
static cJSON *
adf_vehicle(struct nv_arena *a, const xmlNode *v)
{
	static const char *const fields[] = { "year", "make", "model", "vin",
	    "stock", "trim", "bodystyle", "transmission", "doors", NULL };
	const xmlNode *odo;
	cJSON *o = cJSON_CreateObject();
	size_t i;

	adf_put(o, "interest", adf_lower(a, adf_attr(a, v, "interest")));
	adf_put(o, "status", adf_lower(a, adf_attr(a, v, "status")));
	for (i = 0; fields[i] != NULL; i++)
		adf_put(o, fields[i], adf_text(a, v, fields[i]));
	if ((odo = adf_child(v, "odometer")) != NULL) {
		adf_put(o, "odometer", adf_text_of(a, odo, true,
		    ADF_FIELD_MAX));
		adf_put(o, "odometer_units", adf_attr(a, odo, "units"));
	}
	adf_put(o, "comments", adf_text_of(a, adf_child(v, "comments"), false,
	    ADF_MESSAGE_MAX));
	return o;
}

/* "year make model" of the vehicle of interest, NULL when all absent. */
static const char *
adf_interest_text(struct nv_arena *a, const struct nv_adf_lead *out)
{
	const char *parts[3] = { out->year, out->make, out->model };
	char *s = NULL;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (parts[i] == NULL)
			continue;
		s = s == NULL ? nv_arena_strdup(a, parts[i]) :
		    nv_arena_cat(a, s, " ", parts[i], (char *)NULL);
	}
	if (s != NULL)
		adf_clip(s, ADF_FIELD_MAX);
	return s;
}

/* Vehicles of prospect p: the interest into out, the rest into meta. */
static void
adf_vehicles(struct nv_arena *a, const xmlNode *p, struct nv_adf_lead *out,
    cJSON *meta)
{
	cJSON *trades = cJSON_CreateArray(), *others = cJSON_CreateArray();
	const xmlNode *v;
	bool chosen = false;
	cJSON *o;

	for (v = adf_child(p, "vehicle"); v != NULL; v = adf_next(v,
	    "vehicle")) {
		o = adf_vehicle(a, v);
		if (adf_is_trade(adf_attr(a, v, "interest"))) {
			cJSON_AddItemToArray(trades, o);
			out->trade_ins++;
		} else if (!chosen) {
			chosen = true;
			out->year = adf_text(a, v, "year");
			out->make = adf_text(a, v, "make");
			out->model = adf_text(a, v, "model");
			out->vin = adf_text(a, v, "vin");
			out->stock = adf_text(a, v, "stock");
			out->interest = adf_lower(a, adf_attr(a, v,
			    "interest"));
			if (out->interest == NULL)
				out->interest = "buy";
			cJSON_AddItemToObject(meta, "vehicle", o);
		} else {
			cJSON_AddItemToArray(others, o);
		}
	}
	if (cJSON_GetArraySize(trades) > 0)
		cJSON_AddItemToObject(meta, "trade_ins", trades);
	else
		cJSON_Delete(trades);
	if (cJSON_GetArraySize(others) > 0)
		cJSON_AddItemToObject(meta, "other_vehicles", others);
	else
		cJSON_Delete(others);
	out->lead.vehicle_interest = adf_interest_text(a, out);
}

/* Names of contact c into the lead (first/last, else full split). */
static void
adf_names(struct nv_arena *a, const xmlNode *c, struct nv_intake_lead *l)
{
	const char *first = NULL, *middle = NULL, *last = NULL, *full = NULL;
	const char *part, *s;
	const xmlNode *n;
	char *f, *sp;

	for (n = adf_child(c, "name"); n != NULL; n = adf_next(n, "name")) {
		s = adf_text_of(a, n, true, ADF_NAME_MAX);
		if (s == NULL)
			continue;
		part = adf_attr(a, n, "part");
		if (part == NULL || strcasecmp(part, "full") == 0) {
			if (full == NULL)
				full = s;
		} else if (strcasecmp(part, "first") == 0) {
			if (first == NULL)
				first = s;
		} else if (strcasecmp(part, "middle") == 0) {
			if (middle == NULL)
				middle = s;
		} else if (strcasecmp(part, "last") == 0 ||
		    strcasecmp(part, "surname") == 0) {
			if (last == NULL)
				last = s;
		}
	}
	if (first != NULL && middle != NULL) {
		f = nv_arena_cat(a, first, " ", middle, (char *)NULL);
		adf_clip(f, ADF_NAME_MAX);
		first = f;
	}
	if (first == NULL && last == NULL && full != NULL) {
		f = nv_arena_strdup(a, full);
		if ((sp = strrchr(f, ' ')) != NULL) {
			*sp = '\0';
			last = sp + 1;
		}
		first = f;
	}
	l->first_name = first;
	l->last_name = last;
}

/*
 * E-mail and phone of contact c into l unless already set there; *bad_email
 * / *bad_phone when one was given but unusable.
 */
static void
adf_contact_points(struct nv_arena *a, const xmlNode *c,
    struct nv_intake_lead *l, bool *bad_email, bool *bad_phone)
{
	char e164[NV_PHONE_MAX];
	const xmlNode *n;
	const char *s, *type;
	char *e;
	int rank, best = 3;

	for (n = adf_child(c, "email"); n != NULL && l->email == NULL;
	    n = adf_next(n, "email")) {
		if ((s = adf_text_of(a, n, true, 254 + 1)) == NULL)
			continue;
		e = adf_lower(a, s);
		if (strncmp(e, "mailto:", 7) == 0)
			e += 7;
		if (nv_valid_email(e))
			l->email = e;
		else
			*bad_email = true;
	}
	if (l->phone != NULL)
		return;
	for (n = adf_child(c, "phone"); n != NULL; n = adf_next(n, "phone")) {
		if ((s = adf_text_of(a, n, true, 64)) == NULL)
			continue;
		type = adf_lower(a, adf_attr(a, n, "type"));
		if (type != NULL && (strcmp(type, "fax") == 0 ||
		    strcmp(type, "pager") == 0))
			continue;
		rank = type != NULL && (strncmp(type, "cell", 4) == 0 ||
		    strncmp(type, "mobil", 5) == 0) ? 0 : 1;
		if (nv_valid_phone(s, NV_DEFAULT_CC, e164) != NV_OK) {
			*bad_phone = true;
			continue;
		}
		if (rank < best) {
			best = rank;
			l->phone = nv_arena_strdup(a, e164);
		}
	}
}

/* The customer of prospect p: contact, comments, timeframe. */
static void
adf_customer(struct nv_arena *a, const xmlNode *p, struct nv_adf_lead *out,
    cJSON *meta, bool *bad_email, bool *bad_phone)
{
	const xmlNode *cust = adf_child(p, "customer"), *c, *primary = NULL,
	    *tf;
	const char *pc;
	cJSON *t;

	if (cust == NULL)
		return;
	for (c = adf_child(cust, "contact"); c != NULL; c = adf_next(c,
	    "contact"))
		if ((pc = adf_attr(a, c, "primarycontact")) != NULL &&
		    strcmp(pc, "1") == 0) {
			primary = c;
			break;
		}
	if (primary == NULL)
		primary = adf_child(cust, "contact");
	if (primary != NULL) {
		adf_names(a, primary, &out->lead);
		adf_contact_points(a, primary, &out->lead, bad_email,
		    bad_phone);
	}
	for (c = adf_child(cust, "contact"); c != NULL; c = adf_next(c,
	    "contact"))
		if (c != primary)
			adf_contact_points(a, c, &out->lead, bad_email,
			    bad_phone);
	out->lead.message = adf_text_of(a, adf_child(cust, "comments"), false,
	    ADF_MESSAGE_MAX);
	if ((tf = adf_child(cust, "timeframe")) != NULL) {
		t = cJSON_CreateObject();
		adf_put(t, "description", adf_text(a, tf, "description"));
		adf_put(t, "earliestdate", adf_text(a, tf, "earliestdate"));
		adf_put(t, "latestdate", adf_text(a, tf, "latestdate"));
		cJSON_AddItemToObject(meta, "timeframe", t);
	}
}

/* Everything of prospect p besides vehicles and customer into meta. */
static void
adf_sources(struct nv_arena *a, const xmlNode *p, struct nv_adf_lead *out,
    cJSON *meta)
{
	const xmlNode *n, *v;
	cJSON *ids = cJSON_CreateArray(), *o;

	adf_put(meta, "status", adf_lower(a, adf_attr(a, p, "status")));
	for (n = adf_child(p, "id"); n != NULL; n = adf_next(n, "id")) {
		o = cJSON_CreateObject();
		adf_put(o, "value", adf_text_of(a, n, true, ADF_FIELD_MAX));
		adf_put(o, "source", adf_attr(a, n, "source"));
		adf_put(o, "sequence", adf_attr(a, n, "sequence"));
		cJSON_AddItemToArray(ids, o);
	}
	if (cJSON_GetArraySize(ids) > 0)
		cJSON_AddItemToObject(meta, "ids", ids);
	else
		cJSON_Delete(ids);
	out->requestdate = adf_text(a, p, "requestdate");
	adf_put(meta, "requestdate", out->requestdate);

	if ((v = adf_child(p, "vendor")) != NULL) {
		o = cJSON_CreateObject();
		out->vendor = adf_text(a, v, "vendorname");
		adf_put(o, "name", out->vendor);
		adf_put(o, "url", adf_text(a, v, "url"));
		adf_put(o, "contact", adf_text(a, adf_child(v, "contact"),
		    "name"));
		cJSON_AddItemToObject(meta, "vendor", o);
	}
	if ((v = adf_child(p, "provider")) != NULL) {
		o = cJSON_CreateObject();
		out->provider = adf_text(a, v, "name");
		out->service = adf_text(a, v, "service");
		adf_put(o, "name", out->provider);
		adf_put(o, "service", out->service);
		adf_put(o, "url", adf_text(a, v, "url"));
		adf_put(o, "email", adf_text(a, v, "email"));
		adf_put(o, "phone", adf_text(a, v, "phone"));
		cJSON_AddItemToObject(meta, "provider", o);
	}
}

/* The first prospect of root into out; NV_ERR_VALIDATION without contact. */
static enum nv_err
adf_prospect(struct nv_arena *a, struct nv_diag *d, const xmlNode *root,
    const char *xml, size_t len, struct nv_adf_lead *out)
{
	const xmlNode *p, *n;
	bool bad_email = false, bad_phone = false;
	cJSON *top, *meta;

	p = adf_child(root, "prospect");
	if (p == NULL)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the ADF document holds no prospect");
	for (n = p; n != NULL; n = adf_next(n, "prospect"))
		out->prospects++;

	top = cJSON_CreateObject();
	meta = cJSON_CreateObject();
	cJSON_AddItemToObject(top, "adf", meta);
	cJSON_AddNumberToObject(meta, "prospects", out->prospects);
	adf_sources(a, p, out, meta);
	adf_vehicles(a, p, out, meta);
	adf_customer(a, p, out, meta, &bad_email, &bad_phone);
	if (len <= NV_ADF_PAYLOAD_MAX && nv_valid_text(xml, len))
		cJSON_AddStringToObject(top, "payload", nv_arena_strndup(a, xml,
		    len));
	else
		cJSON_AddStringToObject(top, "payload_omitted",
		    len > NV_ADF_PAYLOAD_MAX ? "larger than 64 KiB" :
		    "not UTF-8 text");
	out->lead.metadata = nv_json_print(a, top);
	cJSON_Delete(top);

	if (out->lead.email == NULL && out->lead.phone == NULL) {
		if (bad_email)
			nv_diag_field(d, "email",
			    "is not a valid e-mail address");
		if (bad_phone)
			nv_diag_field(d, "phone",
			    "is not a valid phone number");
		if (!bad_email && !bad_phone) {
			nv_diag_field(d, "email", "an e-mail address or a "
			    "phone number is required");
			nv_diag_field(d, "phone", "an e-mail address or a "
			    "phone number is required");
		}
		return nv_diag_set(d, NV_ERR_VALIDATION, "the ADF customer "
		    "needs an e-mail address or a phone number");
	}
	return NV_OK;
}

enum nv_err
nv_adf_parse(struct nv_arena *a, struct nv_diag *d, const char *xml,
    size_t len, struct nv_adf_lead *out)
{
	struct adf_guard guard = { false };
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	enum nv_err rc;

	memset(out, 0, sizeof(*out));
	out->lead.source = "adf";
	out->lead.channel = "email";
	out->lead.empty_message = "(ADF lead without comments)";
	if (len == 0 || len > (size_t)INT_MAX)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body is not an ADF document");

	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, adf_silent);
	xmlSetStructuredErrorFunc(NULL, adf_silent_structured);
	ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
	if (ctxt == NULL) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body is not well-formed XML");
		goto out;
	}
	ctxt->_private = &guard;
	ctxt->sax->entityDecl = adf_entity_decl;
	ctxt->sax->unparsedEntityDecl = adf_unparsed_decl;
	ctxt->sax->getEntity = adf_get_entity;
	ctxt->sax->getParameterEntity = adf_get_pentity;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	xmlCtxtUseOptions(ctxt, ADF_XML_OPTIONS);
	(void)xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;

	if (guard.entities) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the document declares entities, which are not accepted");
		goto out;
	}
	if (!ctxt->wellFormed || doc == NULL ||
	    (root = xmlDocGetRootElement(doc)) == NULL) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body is not well-formed XML");
		goto out;
	}
	if (doc->intSubset != NULL && doc->intSubset->entities != NULL) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the document declares entities, which are not accepted");
		goto out;
	}
	if (!adf_depth_ok(root)) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST, "the document nests "
		    "deeper than %d elements", NV_ADF_DEPTH_MAX);
		goto out;
	}
	if (!adf_is(root, "adf")) {
		rc = nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the document is not ADF: its root element is not adf");
		goto out;
	}
	rc = adf_prospect(a, d, root, xml, len, out);
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (ctxt != NULL)
		xmlFreeParserCtxt(ctxt);
	return rc;
}
