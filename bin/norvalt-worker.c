/*
 * norvalt-worker - the auto-responder daemon (SPEC section 7).
 *
 *   norvalt-worker
 *
 * Answers every lead: runs the jobs of the jobs table (first replies,
 * follow-ups, human replies to deliver, Facebook fetches, notifications
 * to reps) until SIGTERM, SIGINT or SIGUSR1 (multiwatch's graceful stop),
 * finishing the job in hand first; exits 0.  Configuration from the
 * environment and .env (lib/config): DATABASE_URL, NORVALT_WORKER_*,
 * NORVALT_OUTBOX_DIR and the delivery providers.  Any number may run at
 * once; the logic is lib/worker.c.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/config.h"
#include "../lib/worker.h"

static volatile sig_atomic_t worker_stop;

static void
worker_signal(int sig)
{
	(void)sig;
	worker_stop = 1;
}

int
main(void)
{
	static const enum nv_cfg required[] = { NV_CFG_DATABASE_URL };
	struct nv_worker_opts o;
	struct sigaction sa;
	char host[128], id[192];

	nv_config_init("norvalt-worker", required,
	    sizeof(required) / sizeof(required[0]));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_signal;	/* no SA_RESTART: wake select() */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.poll_ms = nv_config_int(NV_CFG_WORKER_POLL_MS);
	o.lease_s = nv_config_int(NV_CFG_WORKER_LEASE_S);
	o.retry_base_ms = nv_config_int(NV_CFG_WORKER_RETRY_BASE_MS);
	o.sweep_s = nv_config_int(NV_CFG_WORKER_SWEEP_S);
	return nv_worker_run(&o, &worker_stop);
}
