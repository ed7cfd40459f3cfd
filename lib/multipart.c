/*
 * multipart.c - strict multipart/form-data; see multipart.h.
 *
 * The grammar is RFC 2046 section 5.1.1 in small:
 *
 *   body      := [preamble CRLF] "--" boundary pad CRLF part
 *                *(CRLF "--" boundary pad CRLF part)
 *                CRLF "--" boundary "--" [epilogue]
 *   part      := *(header CRLF) CRLF data
 *
 * where pad is spaces and tabs.  A delimiter is searched as CRLF "--"
 * boundary; whatever follows it must be "--" or pad CRLF, so a boundary
 * that is only a prefix of a line in the data is refused rather than
 * guessed about (RFC 2046 forbids it).  All lengths are checked against
 * the end of the body before a byte is read: the body is not assumed to be
 * NUL-terminated and may hold NUL bytes in file parts.
 */
#include <string.h>
#include <strings.h>

#include "multipart.h"
#include "valid.h"

#define MP_VALUE_MAX	NV_MULTIPART_HEADER_MAX

/* RFC 2045 token characters (no tspecials, no space, no controls). */
static int
mp_tchar(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2046 bchars without the space, which may not end a boundary. */
static int
mp_bchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("'()+_,-./:=? ",
	    c) != NULL);
}

static const char *
mp_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * One "; name=value" parameter at *pp (before end).  On NV_OK *name is
 * NULL when there is none left, else name and value are arena strings
 * (the value unquoted) and *pp is past it.  NV_ERR_BAD_REQUEST otherwise.
 */
static enum nv_err
mp_param(struct nv_arena *a, const char **pp, const char *end, char **name,
    char **value)
{
	const char *p = mp_ows(*pp, end), *s;
	char *v;
	size_t n = 0;

	*name = *value = NULL;
	if (p == end)
		return NV_OK;
	if (*p != ';')
		return NV_ERR_BAD_REQUEST;
	p = mp_ows(p + 1, end);
	if (p == end) {
		*pp = p;
		return NV_OK;
	}
	for (s = p; p < end && mp_tchar((unsigned char)*p); p++)
		;
	if (p == s || p == end || *p != '=')
		return NV_ERR_BAD_REQUEST;
	*name = nv_arena_strndup(a, s, (size_t)(p - s));
	p++;
	if (p < end && *p == '"') {
		v = nv_arena_alloc(a, (size_t)(end - p));
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return NV_ERR_BAD_REQUEST;
			v[n++] = *p;
		}
		if (p == end)
			return NV_ERR_BAD_REQUEST;
		v[n] = '\0';
		p++;
	} else {
		for (s = p; p < end && mp_tchar((unsigned char)*p); p++)
			;
		if (p == s)
			return NV_ERR_BAD_REQUEST;
		v = nv_arena_strndup(a, s, (size_t)(p - s));
		n = (size_t)(p - s);
	}
	if (!nv_valid_text(v, n))
		return NV_ERR_BAD_REQUEST;
	*value = v;
	*pp = p;
	return NV_OK;
}

enum nv_err
nv_multipart_boundary(struct nv_arena *a, struct nv_diag *d, const char *ct,
    const char **out)
{
	static const char type[] = "multipart/form-data";
	const char *p, *end, *b = NULL;
	char *name, *value;
	size_t n, i;

	*out = NULL;
	n = sizeof(type) - 1;
	if (ct == NULL || strncasecmp(ct, type, n) != 0 || (ct[n] != '\0' &&
	    ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t'))
		return nv_diag_set(d, NV_ERR_MEDIA_TYPE, "the body must be "
		    "multipart/form-data");
	p = ct + n;
	end = ct + strlen(ct);
	for (;;) {
		if (mp_param(a, &p, end, &name, &value) != NV_OK)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the "
			    "Content-Type parameters are malformed");
		if (name == NULL)
			break;
		if (strcasecmp(name, "boundary") != 0)
			continue;
		if (b != NULL)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the "
			    "Content-Type has two boundary parameters");
		b = value;
	}
	if (b == NULL)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the Content-Type "
		    "has no boundary parameter");
	n = strlen(b);
	if (n == 0 || n > NV_MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the multipart "
		    "boundary must be 1 to %d characters, not ending in a space",
		    NV_MULTIPART_BOUNDARY_MAX);
	for (i = 0; i < n; i++)
		if (!mp_bchar((unsigned char)b[i]))
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the multipart "
			    "boundary holds a character RFC 2046 does not allow");
	*out = b;
	return NV_OK;
}

/* Content-Disposition's value v[0..end): form-data; name=...[; filename=] */
static enum nv_err
mp_disposition(struct nv_arena *a, struct nv_diag *d, const char *v,
    const char *end, struct nv_multipart_part *part)
{
	static const char fd[] = "form-data";
	const char *p = v;
	char *name, *value;
	size_t n = sizeof(fd) - 1;

	if ((size_t)(end - p) < n || strncasecmp(p, fd, n) != 0 ||
	    (p + n < end && p[n] != ';' && p[n] != ' ' && p[n] != '\t'))
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part's "
		    "Content-Disposition is not form-data");
	p += n;
	for (;;) {
		if (mp_param(a, &p, end, &name, &value) != NV_OK)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part's "
			    "Content-Disposition parameters are malformed");
		if (name == NULL)
			break;
		if (strcasecmp(name, "name") == 0) {
			if (part->name != NULL)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part has two names");
			part->name = value;
		} else if (strcasecmp(name, "filename") == 0) {
			if (part->filename != NULL)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part has two filenames");
			part->filename = value;
		}
	}
	if (part->name == NULL || *part->name == '\0')
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part's "
		    "Content-Disposition has no name");
	return NV_OK;
}

/*
 * The header lines of a part from *pp up to and including the empty line;
 * *pp is left at the part's data.
 */
static enum nv_err
mp_headers(struct nv_arena *a, struct nv_diag *d, const char **pp,
    const char *end, struct nv_multipart_part *part)
{
	const char *p = *pp, *q, *colon, *v, *ve;
	int seen_cd = 0, seen_ct = 0, nh;
	enum nv_err rc;

	for (nh = 0;; nh++) {
		for (q = p; q < end; q++) {
			if (*q == '\r') {
				if (q + 1 < end && q[1] == '\n')
					break;
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part header holds a bare CR");
			}
			if (*q == '\n')
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part header holds a bare LF");
			if (((unsigned char)*q < 0x20 && *q != '\t') ||
			    *q == 0x7f)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part header holds a control character");
			if (q - p >= NV_MULTIPART_HEADER_MAX)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part header line is longer than %d bytes",
				    NV_MULTIPART_HEADER_MAX);
		}
		if (q == end)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part's "
			    "headers do not end");
		if (q == p) {
			p += 2;
			break;
		}
		if (nh == NV_MULTIPART_HEADERS_MAX)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part has "
			    "more than %d headers", NV_MULTIPART_HEADERS_MAX);
		if (*p == ' ' || *p == '\t')
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "folded part "
			    "headers are not accepted");
		for (colon = p; colon < q && mp_tchar((unsigned char)*colon);
		    colon++)
			;
		if (colon == p || colon == q || *colon != ':')
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part "
			    "header is not \"Name: value\"");
		v = mp_ows(colon + 1, q);
		for (ve = q; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (colon - p == 19 &&
		    strncasecmp(p, "Content-Disposition", 19) == 0) {
			if (seen_cd++)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part has two Content-Disposition headers");
			if ((rc = mp_disposition(a, d, v, ve, part)) != NV_OK)
				return rc;
		} else if (colon - p == 12 &&
		    strncasecmp(p, "Content-Type", 12) == 0) {
			if (seen_ct++)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part has two Content-Type headers");
			if (!nv_valid_text(v, (size_t)(ve - v)))
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a "
				    "part's Content-Type is not text");
			part->content_type = nv_arena_strndup(a, v,
			    (size_t)(ve - v));
		}
		p = q + 2;
	}
	if (!seen_cd)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a part has no "
		    "Content-Disposition");
	*pp = p;
	return NV_OK;
}

/* The first occurrence of needle[0..nn) in hay[0..hn), or NULL. */
static const char *
mp_find(const char *hay, size_t hn, const char *needle, size_t nn)
{
	const char *p = hay, *end = hay + hn;

	while ((size_t)(end - p) >= nn) {
		p = memchr(p, needle[0], (size_t)(end - p) - nn + 1);
		if (p == NULL)
			return NULL;
		if (memcmp(p, needle, nn) == 0)
			return p;
		p++;
	}
	return NULL;
}

enum nv_err
nv_multipart_parse(struct nv_arena *a, struct nv_diag *d, const char *body,
    size_t len, const char *boundary, size_t part_max,
    struct nv_multipart_part **parts, size_t *nparts)
{
	struct nv_multipart_part *tab, *part;
	const char *p, *q, *end = body + len;
	char *delim;
	size_t blen, dlen, n = 0;
	enum nv_err rc;

	*parts = NULL;
	*nparts = 0;
	blen = boundary != NULL ? strlen(boundary) : 0;
	if (blen == 0 || blen > NV_MULTIPART_BOUNDARY_MAX)
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "no multipart "
		    "boundary");
	/* CRLF "--" boundary; the first delimiter may lack the CRLF. */
	delim = nv_arena_cat(a, "\r\n--", boundary, (char *)NULL);
	dlen = blen + 4;
	tab = nv_arena_alloc(a, NV_MULTIPART_PARTS_MAX * sizeof(*tab));

	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
		p = body + dlen - 2;
	} else if ((q = mp_find(body, len, delim, dlen)) != NULL) {
		p = q + dlen;
	} else {
		return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the body holds no "
		    "multipart boundary");
	}
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
			if (n == 0)
				return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the "
				    "multipart body has no parts");
			break;
		}
		p = mp_ows(p, end);
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "a multipart "
			    "boundary line is malformed");
		p += 2;
		if (n == NV_MULTIPART_PARTS_MAX)
			return nv_diag_set(d, NV_ERR_TOO_LARGE, "more than %d "
			    "parts", NV_MULTIPART_PARTS_MAX);
		part = &tab[n];
		if ((rc = mp_headers(a, d, &p, end, part)) != NV_OK)
			return rc;
		q = mp_find(p, (size_t)(end - p), delim, dlen);
		if (q == NULL)
			return nv_diag_set(d, NV_ERR_BAD_REQUEST, "the multipart "
			    "body does not end with its close delimiter");
		part->data = p;
		part->len = (size_t)(q - p);
		if (part->len > part_max)
			return nv_diag_set(d, NV_ERR_TOO_LARGE, "a part is "
			    "larger than %zu bytes", part_max);
		n++;
		p = q + dlen;
	}
	*parts = tab;
	*nparts = n;
	return NV_OK;
}
