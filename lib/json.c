/*
 * json.c - see json.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "valid.h"

static void
json_delete(void *p)
{
	cJSON_Delete(p);
}

/*
 * 1 when text holds a \u0000 escape: cJSON would decode it into a NUL and
 * silently cut the string there.
 */
static int
json_has_nul_escape(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 5 < len &&
		    memcmp(text + i + 2, "0000", 4) == 0)
			return 1;
		i++;	/* skip the escaped character */
	}
	return 0;
}

enum nv_err
nv_json_parse(struct nv_arena *a, struct nv_diag *d, const char *text,
    size_t len, cJSON **out)
{
	const char *end = NULL;
	cJSON *j;

	*out = NULL;
	if (memchr(text, '\0', len) != NULL || json_has_nul_escape(text, len))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body must not contain NUL characters");
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (j == NULL) {
		size_t off = end != NULL && end >= text ?
		    (size_t)(end - text) : 0;

		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body is not valid JSON (near byte %zu)", off);
	}
	nv_arena_defer(a, json_delete, j);
	while (end != NULL && end < text + len &&
	    isspace((unsigned char)*end))
		end++;
	if (end != NULL && end < text + len)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body has data after the JSON value (at byte %zu)",
		    (size_t)(end - text));
	*out = j;
	return NV_OK;
}

char *
nv_json_print(struct nv_arena *a, const cJSON *j)
{
	char *p, *s;

	p = cJSON_PrintUnformatted(j);
	if (p == NULL) {
		nv_log_error("out of memory printing JSON");
		abort();
	}
	s = nv_arena_strdup(a, p);
	cJSON_free(p);
	return s;
}

/* Trimmed copy of s in the arena. */
static char *
json_trim(struct nv_arena *a, const char *s)
{
	const char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return nv_arena_strndup(a, s, (size_t)(end - s));
}

static const struct nv_field *
json_spec_find(const struct nv_field *spec, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	return NULL;
}

/*
 * Check one value; on success add its normalised form to out.
 * Returns 0 and adds a detail on failure.
 */
static int
json_field(struct nv_arena *a, struct nv_diag *d, const struct nv_field *f,
    const cJSON *v, cJSON *out)
{
	char phone[NV_PHONE_MAX], *s, *p;
	size_t i;

	if (cJSON_IsNull(v)) {
		if (!(f->flags & NV_F_NULLABLE)) {
			nv_diag_field(d, f->name, "must not be null");
			return 0;
		}
		cJSON_AddNullToObject(out, f->name);
		return 1;
	}
	switch (f->type) {
	case NV_F_TEXT:
	case NV_F_EMAIL:
	case NV_F_PHONE:
	case NV_F_UUID:
	case NV_F_ENUM:
		if (!cJSON_IsString(v)) {
			nv_diag_field(d, f->name, "must be a string");
			return 0;
		}
		s = json_trim(a, v->valuestring);
		break;
	case NV_F_INT: {
		double x;

		if (!cJSON_IsNumber(v)) {
			nv_diag_field(d, f->name, "must be an integer");
			return 0;
		}
		x = v->valuedouble;
		if (x != floor(x) || fabs(x) > 9007199254740991.0 ||
		    x < (double)f->min || x > (double)f->max) {
			nv_diag_field(d, f->name, "must be an integer between "
			    "%lld and %lld", f->min, f->max);
			return 0;
		}
		{
			/* cJSON prints big doubles as %g: write the digits. */
			char digits[32];

			snprintf(digits, sizeof(digits), "%lld", (long long)x);
			cJSON_AddRawToObject(out, f->name, digits);
		}
		return 1;
	}
	case NV_F_BOOL:
		if (!cJSON_IsBool(v)) {
			nv_diag_field(d, f->name, "must be true or false");
			return 0;
		}
		cJSON_AddBoolToObject(out, f->name, cJSON_IsTrue(v));
		return 1;
	case NV_F_OBJECT:
		if (!cJSON_IsObject(v)) {
			nv_diag_field(d, f->name, "must be an object");
			return 0;
		}
		p = nv_json_print(a, v);
		if (f->max > 0 && (long long)strlen(p) > f->max) {
			nv_diag_field(d, f->name, "must be at most %lld bytes",
			    f->max);
			return 0;
		}
		cJSON_AddItemToObject(out, f->name, cJSON_Duplicate(v, 1));
		return 1;
	default:
		return 0;
	}

	/* String types. */
	if (!nv_valid_text(s, strlen(s))) {
		nv_diag_field(d, f->name, "must be UTF-8 text without control "
		    "characters");
		return 0;
	}
	if (f->max > 0 && (long long)strlen(s) > f->max) {
		nv_diag_field(d, f->name, "must be at most %lld bytes", f->max);
		return 0;
	}
	switch (f->type) {
	case NV_F_TEXT:
		if (*s == '\0' && !(f->flags & NV_F_NULLABLE)) {
			nv_diag_field(d, f->name, "must not be empty");
			return 0;
		}
		if (*s == '\0') {
			cJSON_AddNullToObject(out, f->name);
			return 1;
		}
		break;
	case NV_F_EMAIL:
		for (p = s; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!nv_valid_email(s)) {
			nv_diag_field(d, f->name, "is not a valid e-mail address");
			return 0;
		}
		break;
	case NV_F_PHONE:
		if (nv_valid_phone(s, NV_DEFAULT_CC, phone) != NV_OK) {
			nv_diag_field(d, f->name, "is not a valid phone number");
			return 0;
		}
		s = nv_arena_strdup(a, phone);
		break;
	case NV_F_UUID:
		if (!nv_valid_uuid(s)) {
			nv_diag_field(d, f->name, "must be a uuid");
			return 0;
		}
		for (p = s; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		break;
	case NV_F_ENUM:
		if (!nv_valid_enum(s, f->values)) {
			char list[NV_DIAG_ISSUE_MAX] = "";
			size_t off = 0;

			for (i = 0; f->values[i] != NULL && off < sizeof(list);
			    i++) {
				size_t len = strlen(f->values[i]);

				if (off + len + 3 >= sizeof(list))
					break;
				if (i > 0) {
					memcpy(list + off, ", ", 2);
					off += 2;
				}
				memcpy(list + off, f->values[i], len);
				off += len;
				list[off] = '\0';
			}
			nv_diag_field(d, f->name, "must be one of: %s", list);
			return 0;
		}
		break;
	default:
		break;
	}
	cJSON_AddStringToObject(out, f->name, s);
	return 1;
}

enum nv_err
nv_json_fields(struct nv_arena *a, struct nv_diag *d,
    const struct nv_field *spec, size_t n, unsigned mode, const cJSON *in,
    char **out, size_t *count)
{
	const struct nv_field *f;
	const cJSON *v;
	cJSON *norm;
	size_t i, bad = 0;

	*out = NULL;
	if (count != NULL)
		*count = 0;
	if (!cJSON_IsObject(in))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST,
		    "the body must be a JSON object");
	norm = cJSON_CreateObject();
	nv_arena_defer(a, json_delete, norm);

	cJSON_ArrayForEach(v, in) {
		if (v->string == NULL)
			continue;
		if (cJSON_GetObjectItemCaseSensitive(norm, v->string) != NULL) {
			nv_diag_field(d, v->string, "is given twice");
			bad++;
			continue;
		}
		f = json_spec_find(spec, n, v->string);
		if (f == NULL) {
			nv_diag_field(d, v->string, "is not a known field");
			bad++;
			continue;
		}
		if (!(f->flags & mode)) {
			nv_diag_field(d, v->string, "cannot be changed");
			bad++;
			continue;
		}
		if (!json_field(a, d, f, v, norm))
			bad++;
	}
	if (mode & NV_JSON_CREATE) {
		for (i = 0; i < n; i++) {
			if (!(spec[i].flags & NV_F_REQUIRED))
				continue;
			v = cJSON_GetObjectItemCaseSensitive(in, spec[i].name);
			if (v == NULL) {
				nv_diag_field(d, spec[i].name, "is required");
				bad++;
			} else if (cJSON_IsNull(v) &&
			    (spec[i].flags & NV_F_NULLABLE)) {
				/* Accepted as null above, but required. */
				nv_diag_field(d, spec[i].name, "is required");
				bad++;
			}
			/* A null on a non-nullable field was counted above. */
		}
	}
	if (bad > 0)
		return nv_diag_set(d, NV_ERR_VALIDATION,
		    "%zu field%s failed validation", bad, bad == 1 ? "" : "s");
	*out = nv_json_print(a, norm);
	if (count != NULL)
		*count = (size_t)cJSON_GetArraySize(norm);
	return NV_OK;
}
