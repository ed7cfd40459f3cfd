/*
 * cursor.c - see cursor.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "valid.h"

#define CURSOR_MAX	128	/* encoded length */

static const char cursor_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
nv_cursor_encode(struct nv_arena *a, const char *ts, const char *id)
{
	const unsigned char *in;
	char *raw, *out, *o;
	size_t n, i;
	unsigned v;

	raw = nv_arena_printf(a, "%s|%s", ts, id);
	in = (const unsigned char *)raw;
	n = strlen(raw);
	out = nv_arena_alloc(a, (n + 2) / 3 * 4 + 1);
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*o++ = cursor_b64[v >> 18 & 63];
		*o++ = cursor_b64[v >> 12 & 63];
		*o++ = cursor_b64[v >> 6 & 63];
		*o++ = cursor_b64[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)in[i] << 16;
		*o++ = cursor_b64[v >> 18 & 63];
		*o++ = cursor_b64[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*o++ = cursor_b64[v >> 18 & 63];
		*o++ = cursor_b64[v >> 12 & 63];
		*o++ = cursor_b64[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int
cursor_val(int c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(cursor_b64, c);
	return p != NULL ? (int)(p - cursor_b64) : -1;
}

/*
 * A timestamp as PostgreSQL prints timestamptz with TimeZone=UTC (which
 * lib/db sets): "2026-11-01 10:00:00.123456+00".  Checked as a real date
 * and time, so a forged cursor is a 400, never a database error.
 */
static int
cursor_ts_ok(const char *ts)
{
	char buf[48];
	size_t n = strlen(ts);

	if (n < 22 || n > 32 || strcmp(ts + n - 3, "+00") != 0 || ts[10] != ' ')
		return 0;
	/* As RFC 3339: "2026-11-01T10:00:00.123456+00:00". */
	snprintf(buf, sizeof(buf), "%.*s:00", (int)n, ts);
	buf[10] = 'T';
	return nv_valid_rfc3339(buf);
}

enum nv_err
nv_cursor_decode(struct nv_arena *a, const char *s, const char **ts,
    const char **id)
{
	size_t n, i, o = 0;
	unsigned char *raw;
	char *bar;
	int v[4], k;

	*ts = *id = NULL;
	n = strlen(s);
	if (n == 0 || n > CURSOR_MAX || n % 4 == 1)
		return NV_ERR_BAD_REQUEST;
	raw = nv_arena_alloc(a, n / 4 * 3 + 3);
	for (i = 0; i < n; i += 4) {
		size_t m = n - i < 4 ? n - i : 4;

		for (k = 0; k < 4; k++)
			v[k] = (size_t)k < m ? cursor_val((unsigned char)s[i + k])
			    : 0;
		for (k = 0; (size_t)k < m; k++)
			if (v[k] < 0)
				return NV_ERR_BAD_REQUEST;
		raw[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (m > 2)
			raw[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (m > 3)
			raw[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	raw[o] = '\0';
	if (memchr(raw, '\0', o) != NULL)
		return NV_ERR_BAD_REQUEST;
	bar = strchr((char *)raw, '|');
	if (bar == NULL)
		return NV_ERR_BAD_REQUEST;
	*bar = '\0';
	if (!cursor_ts_ok((char *)raw) || !nv_valid_uuid(bar + 1))
		return NV_ERR_BAD_REQUEST;
	*ts = (char *)raw;
	*id = bar + 1;
	return NV_OK;
}
