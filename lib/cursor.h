/*
 * cursor.h - the opaque keyset cursor of list endpoints.
 *
 * A cursor is the position of the last row of a page: its created_at (as
 * PostgreSQL prints timestamptz, microseconds included) and its id, joined
 * by '|' and base64url-encoded without padding.  Clients treat it as opaque;
 * the server validates it strictly on the way back in.
 */
#ifndef NV_CURSOR_H
#define NV_CURSOR_H

#include "arena.h"
#include "err.h"

/* Encode (ts, id) into a new arena string. */
char *nv_cursor_encode(struct nv_arena *a, const char *ts, const char *id);

/*
 * Decode s into *ts and *id (arena strings).  NV_ERR_BAD_REQUEST when s is
 * not base64url, too long, or does not hold a timestamp and a uuid.
 */
enum nv_err nv_cursor_decode(struct nv_arena *a, const char *s,
    const char **ts, const char **id);

#endif /* NV_CURSOR_H */
