/*
 * multipart.h - a strict multipart/form-data (RFC 7578, RFC 2046) parser.
 *
 * The body is split in place: a part's data is a slice of the request
 * body, and only the part table and the header values (name, filename,
 * content type) are copied into the arena.  Nothing is decoded: a
 * Content-Transfer-Encoding is ignored, as RFC 7578 deprecates it.
 *
 * Strict means that anything a lenient parser would have to guess about
 * is refused with NV_ERR_BAD_REQUEST: a bare CR or LF in the part headers
 * (header injection), folded header lines, a part without
 * Content-Disposition: form-data and a name, the boundary inside a part,
 * a missing close delimiter.  Preamble and epilogue are allowed and
 * ignored, as RFC 2046 says.
 */
#ifndef NV_MULTIPART_H
#define NV_MULTIPART_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/* Most parts in one body. */
#define NV_MULTIPART_PARTS_MAX		64

/* Most header lines of one part, and the longest such line in bytes. */
#define NV_MULTIPART_HEADERS_MAX	8
#define NV_MULTIPART_HEADER_MAX		1024

/* Longest boundary (RFC 2046). */
#define NV_MULTIPART_BOUNDARY_MAX	70

/* One part; strings are NUL-terminated arena copies. */
struct nv_multipart_part {
	const char	*name;		/* Content-Disposition name, not empty */
	const char	*filename;	/* its filename, NULL when absent */
	const char	*content_type;	/* the part's Content-Type or NULL */
	const char	*data;		/* a slice of the body, not terminated */
	size_t		 len;
};

/*
 * The boundary of a Content-Type header value ct, which must be
 * multipart/form-data with a boundary parameter (quoted or not, 1 to
 * NV_MULTIPART_BOUNDARY_MAX characters of RFC 2046's bchars, not ending in
 * a space).  *out is an arena copy.  NV_ERR_MEDIA_TYPE when ct is not
 * multipart/form-data, NV_ERR_BAD_REQUEST when the boundary is missing or
 * malformed; d gets the message.
 */
enum nv_err nv_multipart_boundary(struct nv_arena *a, struct nv_diag *d,
    const char *ct, const char **out);

/*
 * Split body[0..len) with boundary into at most NV_MULTIPART_PARTS_MAX
 * parts of at most part_max bytes each.  *parts is an arena array of
 * *nparts entries (at least one).  Returns NV_OK; NV_ERR_TOO_LARGE when
 * there are too many parts or one is larger than part_max;
 * NV_ERR_BAD_REQUEST for every malformation (see the top of this file).
 */
enum nv_err nv_multipart_parse(struct nv_arena *a, struct nv_diag *d,
    const char *body, size_t len, const char *boundary, size_t part_max,
    struct nv_multipart_part **parts, size_t *nparts);

#endif /* NV_MULTIPART_H */
