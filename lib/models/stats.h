/*
 * stats.h - lead metrics for the dashboard (SPEC section 6, GET /api/stats).
 *
 * One statement renders the whole answer in PostgreSQL over the leads
 * created in a half-open window [from, to):
 *
 *   {"from", "to", "total",
 *    "by_status": {"new": n, ...},          all five statuses, zeros too
 *    "by_source": {"web_form": n, ...},     all eight sources, zeros too
 *    "conversion_rate": won / total,        4 decimals, 0 when total is 0
 *    "speed_to_lead": {"answered", "median_seconds", "p90_seconds",
 *                      "within_5_min_share"},
 *    "by_rep": [{"user_id", "name", "leads", "won", "median_seconds"}],
 *    "by_day": [{"date", "leads", "answered", "within_5_min",
 *                "median_seconds", "p90_seconds"}]}
 *
 * Seconds are percentile_cont over leads.first_response_seconds (rounded
 * to 0.1 s; null when no lead in the window was answered).
 * within_5_min_share is the share of ALL leads in the window answered
 * within 300 seconds (an unanswered lead missed the goal), 4 decimals.
 * by_rep lists every active user and every user with leads in the window,
 * most leads first; unassigned leads count only in the totals.
 * by_day is the speed-to-lead trend: one entry per Europe/Oslo calendar
 * day that has leads in the window (days without leads are left out),
 * oldest first; its seconds are per day like the totals'.
 *
 * The window is read through the (dealership_id, created_at DESC, id DESC)
 * inbox index: the statement names the tenant and a created_at range.
 */
#ifndef NV_STATS_H
#define NV_STATS_H

#include "../arena.h"
#include "../err.h"

/* Longest window, in days. */
#define NV_STATS_MAX_DAYS	366
/* Window when neither bound is given, in days before now. */
#define NV_STATS_DEFAULT_DAYS	30

/* A window as canonical UTC text ("2026-10-01T00:00:00.000000Z"). */
struct nv_stats_range {
	char	from[48];
	char	to[48];
};

/*
 * Build the window from the query parameters from and to (RFC 3339, NULL
 * when absent) at time now (Unix seconds).  Absent to is now; absent from
 * is NV_STATS_DEFAULT_DAYS before to.  NV_ERR_BAD_REQUEST with a detail
 * naming the parameter when a bound is not a valid RFC 3339 date-time
 * (a 30 February included), when from is not before to ("from"), or when
 * the window is longer than NV_STATS_MAX_DAYS days ("to").
 *   d: receives the reason.
 *   out: the window; unspecified unless NV_OK.
 */
enum nv_err nv_stats_range(struct nv_diag *d, const char *from,
    const char *to, long now, struct nv_stats_range *out);

/*
 * The metrics of the current dealership over r as one JSON object (the
 * shape above), in the arena.  Must run inside nv_db_tx with the tenant's
 * RLS context.
 */
enum nv_err nv_stats_leads(struct nv_arena *a, struct nv_diag *d,
    const struct nv_stats_range *r, char **out);

#endif /* NV_STATS_H */
