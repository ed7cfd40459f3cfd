/*
 * json.h - strict validation of JSON input objects against a field table.
 *
 * PostgreSQL renders every JSON we send; cJSON only parses input and builds
 * small bodies.  A model describes its writable fields once (struct
 * nv_field) and nv_json_fields() checks an input object against it: unknown
 * fields, wrong types, bad enums, e-mails and phones are each reported as a
 * detail naming the field, and the accepted values are normalised (trimmed
 * text, lower-case e-mail, E.164 phone) into a new JSON text that the model
 * passes to its SQL as one jsonb parameter.  So SQL stays static: the
 * statement reads j->>'field' and tests j ? 'field' for partial updates.
 */
#ifndef NV_JSON_H
#define NV_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "err.h"

enum nv_ftype {
	NV_F_TEXT,	/* string, trimmed, valid UTF-8, max bytes */
	NV_F_EMAIL,	/* string, trimmed, lower-cased, nv_valid_email */
	NV_F_PHONE,	/* string, normalised to E.164 (+47 default) */
	NV_F_UUID,	/* string uuid */
	NV_F_ENUM,	/* string in values[] */
	NV_F_INT,	/* integer number in [min, max] (exact, < 2^53) */
	NV_F_BOOL,	/* true/false */
	NV_F_OBJECT	/* JSON object, kept as is (max bytes when printed) */
};

/* When a field may be written. */
#define NV_F_CREATE	0x01u
#define NV_F_UPDATE	0x02u
#define NV_F_REQUIRED	0x04u	/* must be present (and not null) on create */
#define NV_F_NULLABLE	0x08u	/* null is accepted (clears the value) */

/* The mode argument of nv_json_fields. */
#define NV_JSON_CREATE	NV_F_CREATE
#define NV_JSON_UPDATE	NV_F_UPDATE

struct nv_field {
	const char		*name;
	enum nv_ftype		 type;
	unsigned		 flags;
	long long		 min;	/* NV_F_INT */
	long long		 max;	/* NV_F_INT value; TEXT/OBJECT bytes */
	const char *const	*values;/* NV_F_ENUM, NULL-terminated */
};

/*
 * Validate in (must be an object) against spec[0..n) for mode.  On success
 * *out is the normalised object as JSON text in a (only fields present in
 * in), and *count the number of fields in it.  Errors: NV_ERR_BAD_REQUEST
 * when in is not an object; NV_ERR_VALIDATION with one detail per bad,
 * unknown, read-only or missing required field.
 */
enum nv_err nv_json_fields(struct nv_arena *a, struct nv_diag *d,
    const struct nv_field *spec, size_t n, unsigned mode, const cJSON *in,
    char **out, size_t *count);

/*
 * Parse text[0..len) as JSON; the tree is freed with the arena.
 * NV_ERR_BAD_REQUEST with a message giving the byte offset on failure.
 */
enum nv_err nv_json_parse(struct nv_arena *a, struct nv_diag *d,
    const char *text, size_t len, cJSON **out);

/* cJSON_PrintUnformatted into the arena (aborts on out-of-memory). */
char *nv_json_print(struct nv_arena *a, const cJSON *j);

/* Default country code for phone normalisation ("47"). */
#define NV_DEFAULT_CC	"47"

#endif /* NV_JSON_H */
