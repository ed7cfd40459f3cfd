/*
 * worker.h - norvalt-worker: runs the jobs of the jobs table (SPEC
 * section 7; the kinds and their payloads are in worker.c's top comment).
 *
 * Any number of worker processes may run, on one machine or several.  A
 * job is claimed by one of them (nv_jobs_claim, FOR UPDATE SKIP LOCKED)
 * with a lease; a job whose worker died is claimed again when the lease
 * runs out.  All work on a job happens as the application role under the
 * job's dealership's RLS context, like an API request.
 */
#ifndef NV_WORKER_H
#define NV_WORKER_H

#include <signal.h>

struct nv_worker_opts {
	const char	*id;		/* locked_by: "host:pid" */
	long		 poll_ms;	/* poll when no NOTIFY came */
	long		 lease_s;	/* a claim's lease */
	long		 retry_base_ms;	/* first retry delay */
	long		 sweep_s;	/* reminder sweep period */
};

/*
 * Run jobs until *stop becomes non-zero (a signal handler sets it); the
 * job in hand is finished first.  Survives the database going away: it
 * keeps trying to reconnect, and re-LISTENs when it is back.  Returns 0.
 */
int nv_worker_run(const struct nv_worker_opts *o, volatile sig_atomic_t *stop);

#endif /* NV_WORKER_H */
