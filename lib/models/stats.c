/*
 * stats.c - lead metrics; see stats.h.
 *
 * The window is checked here, in C, so that a bad bound is a 400 naming
 * the parameter rather than a database error, and then handed to
 * PostgreSQL as canonical UTC text: the statement never sees what the
 * client typed.  Times are microseconds since the Unix epoch on the
 * proleptic Gregorian calendar (timestamptz's resolution), computed with
 * the days-from-civil formulas, so no time zone or time_t range matters.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "../db.h"
#include "../valid.h"
#include "model.h"
#include "stats.h"

#define USEC		1000000LL
#define DAY_USEC	(86400LL * USEC)
/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: what the text can hold. */
#define STATS_MIN	(-62135596800LL * USEC)
#define STATS_MAX	(253402300800LL * USEC)

/*
 * $1 from, $2 to (timestamptz text).  The CTE w is the window, read once
 * through the inbox index (dealership_id, created_at); everything else
 * aggregates w.  json (not jsonb) keeps the keys in the order given.
 */
static const struct nv_stmt stats_leads_stmt = {
	"stats_leads",
	"WITH w AS MATERIALIZED ("
	"  SELECT l.status, l.source, l.assigned_to,"
	"   l.first_response_seconds AS frs,"
	"   (l.created_at AT TIME ZONE 'Europe/Oslo')::date AS day"
	"  FROM leads l"
	"  WHERE l.dealership_id = NULLIF(current_setting("
	"    'app.current_dealership_id', true), '')::uuid"
	"   AND l.created_at >= $1::timestamptz"
	"   AND l.created_at < $2::timestamptz),"
	" t AS (SELECT count(*) AS total,"
	"   count(*) FILTER (WHERE w.status = 'won') AS won,"
	"   count(w.frs) AS answered,"
	"   count(*) FILTER (WHERE w.frs <= 300) AS fast,"
	"   percentile_cont(0.5) WITHIN GROUP (ORDER BY w.frs) AS p50,"
	"   percentile_cont(0.9) WITHIN GROUP (ORDER BY w.frs) AS p90"
	"  FROM w),"
	" r AS (SELECT w.assigned_to, count(*) AS leads,"
	"   count(*) FILTER (WHERE w.status = 'won') AS won,"
	"   percentile_cont(0.5) WITHIN GROUP (ORDER BY w.frs) AS p50"
	"  FROM w WHERE w.assigned_to IS NOT NULL GROUP BY w.assigned_to),"
	" dd AS (SELECT w.day, count(*) AS leads, count(w.frs) AS answered,"
	"   count(*) FILTER (WHERE w.frs <= 300) AS fast,"
	"   percentile_cont(0.5) WITHIN GROUP (ORDER BY w.frs) AS p50,"
	"   percentile_cont(0.9) WITHIN GROUP (ORDER BY w.frs) AS p90"
	"  FROM w GROUP BY w.day)"
	" SELECT json_build_object("
	"  'from', $1::timestamptz, 'to', $2::timestamptz,"
	"  'total', t.total,"
	"  'by_status', (SELECT json_object_agg(s.k, coalesce(c.n, 0)"
	"    ORDER BY s.i)"
	"   FROM unnest('{new,contacted,qualified,won,lost}'::text[])"
	"    WITH ORDINALITY AS s(k, i)"
	"   LEFT JOIN (SELECT w.status AS k, count(*) AS n FROM w"
	"    GROUP BY w.status) c ON c.k = s.k),"
	"  'by_source', (SELECT json_object_agg(s.k, coalesce(c.n, 0)"
	"    ORDER BY s.i)"
	"   FROM unnest('{web_form,adf,email,sms,facebook,manual,phone,"
	"walk_in}'::text[]) WITH ORDINALITY AS s(k, i)"
	"   LEFT JOIN (SELECT w.source AS k, count(*) AS n FROM w"
	"    GROUP BY w.source) c ON c.k = s.k),"
	"  'conversion_rate', CASE WHEN t.total = 0 THEN 0.0000"
	"   ELSE round(t.won::numeric / t.total, 4) END,"
	"  'speed_to_lead', json_build_object("
	"   'answered', t.answered,"
	"   'median_seconds', round(t.p50::numeric, 1),"
	"   'p90_seconds', round(t.p90::numeric, 1),"
	"   'within_5_min_share', CASE WHEN t.total = 0 THEN 0.0000"
	"    ELSE round(t.fast::numeric / t.total, 4) END),"
	"  'by_rep', (SELECT coalesce(json_agg(json_build_object("
	"    'user_id', u.id, 'name', u.name,"
	"    'leads', coalesce(r.leads, 0), 'won', coalesce(r.won, 0),"
	"    'median_seconds', round(r.p50::numeric, 1))"
	"    ORDER BY coalesce(r.leads, 0) DESC, u.name, u.id), '[]'::json)"
	"   FROM users u LEFT JOIN r ON r.assigned_to = u.id"
	"   WHERE u.active OR r.leads IS NOT NULL),"
	"  'by_day', (SELECT coalesce(json_agg(json_build_object("
	"    'date', dd.day, 'leads', dd.leads, 'answered', dd.answered,"
	"    'within_5_min', dd.fast,"
	"    'median_seconds', round(dd.p50::numeric, 1),"
	"    'p90_seconds', round(dd.p90::numeric, 1)) ORDER BY dd.day),"
	"    '[]'::json) FROM dd))"
	" FROM t",
	2
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long
stats_days(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of stats_days. */
static void
stats_civil(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
stats_num(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * An RFC 3339 date-time as microseconds since the epoch; 0 when invalid.
 * nv_valid_rfc3339 checks the syntax; the calendar is checked here.
 */
static int
stats_parse(const char *s, long long *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, leap, digits = 0;
	long long us = 0, off = 0;
	const char *p;

	if (!nv_valid_rfc3339(s))
		return 0;
	y = stats_num(s, 4);
	mo = stats_num(s + 5, 2);
	d = stats_num(s + 8, 2);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] + (mo == 2 && leap))
		return 0;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits++ < 6)
				us = us * 10 + (*p - '0');
	for (; digits < 6; digits++)
		us *= 10;
	if (*p == '+' || *p == '-') {
		off = (stats_num(p + 1, 2) * 3600LL + stats_num(p + 4, 2) *
		    60LL) * USEC;
		if (*p == '-')
			off = -off;
	}
	*out = stats_days(y, mo, d) * DAY_USEC + (stats_num(s + 11, 2) *
	    3600LL + stats_num(s + 14, 2) * 60LL + stats_num(s + 17, 2)) *
	    USEC + us - off;
	return *out >= STATS_MIN && *out < STATS_MAX;
}

static void
stats_format(long long t, char *buf, size_t size)
{
	long long days, rem, y;
	int m, d;

	days = t / DAY_USEC;
	rem = t % DAY_USEC;
	if (rem < 0) {
		rem += DAY_USEC;
		days--;
	}
	stats_civil(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02d-%02dT%02lld:%02lld:%02lld.%06lldZ",
	    y, m, d, rem / (3600 * USEC), rem / (60 * USEC) % 60,
	    rem / USEC % 60, rem % USEC);
}

static enum nv_err
stats_bad(struct nv_diag *d, const char *name, const char *issue)
{
	nv_diag_field(d, name, "%s", issue);
	return nv_diag_set(d, NV_ERR_BAD_REQUEST,
	    "query parameter %s is invalid", name);
}

enum nv_err
nv_stats_range(struct nv_diag *d, const char *from, const char *to,
    long now, struct nv_stats_range *out)
{
	long long f = 0, t = 0;

	memset(out, 0, sizeof(*out));
	if (from != NULL && !stats_parse(from, &f))
		return stats_bad(d, "from", "must be an RFC 3339 date-time, "
		    "e.g. 2026-10-01T00:00:00Z");
	if (to != NULL && !stats_parse(to, &t))
		return stats_bad(d, "to", "must be an RFC 3339 date-time, "
		    "e.g. 2026-11-01T00:00:00Z");
	if (to == NULL)
		t = (long long)now * USEC;
	if (from == NULL)
		f = t - NV_STATS_DEFAULT_DAYS * DAY_USEC;
	if (f >= t)
		return stats_bad(d, "from", "must be before to");
	if (t - f > NV_STATS_MAX_DAYS * DAY_USEC)
		return stats_bad(d, to != NULL ? "to" : "from",
		    "the window may span at most 366 days");
	if (f < STATS_MIN)
		return stats_bad(d, "from", "is out of range");
	stats_format(f, out->from, sizeof(out->from));
	stats_format(t, out->to, sizeof(out->to));
	return NV_OK;
}

enum nv_err
nv_stats_leads(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stats_range *r, char **out)
{
	const char *params[2];
	PGresult *res;
	enum nv_err rc;

	*out = NULL;
	params[0] = r->from;
	params[1] = r->to;
	if ((rc = nv_db_exec(a, d, &stats_leads_stmt, params, &res)) != NV_OK)
		return rc;
	return nv_model_one(a, d, res, "stats", out);
}
