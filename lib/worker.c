/*
 * worker.c - the job loop of norvalt-worker; see worker.h.
 *
 * Job kinds (payload):
 *   reply           {} a new lead: compose and send the first reply;
 *                   {"message_id", "follow_up": true} the customer wrote
 *                   again: a follow-up reply unless AI is paused on the
 *                   lead or off for the dealership, and the rep is told.
 *   send            {"message_id"} a human reply to deliver.
 *   facebook_fetch  {"leadgen_id", "page_id", "form_id", "ad_id",
 *                   "created_time"} (lib/meta nv_meta_queue_fetch) a Meta
 *                   lead the webhook acknowledged: fetch it from Graph
 *                   and file it through nv_intake_submit, keyed by
 *                   leadgen_id.
 *   notify          {"user_id", "event", "lead_id"} tell a rep (e-mail
 *                   and/or SMS per users.notification_preferences).
 *   erase_outbox    {"lead_id"} the lead was erased (GDPR): its lines
 *                   leave the outbox log.
 *
 * Never a second, different reply.  A reply is composed outside any
 * transaction (an LLM call may take seconds).  Then one transaction stores
 * it as a queued outbound 'ai' message with its Message-ID and
 * send_attempted_at in metadata, and records the message id in the job's
 * payload (out_id), but only while this worker still holds the job.  Then
 * it is sent, and one more transaction marks it sent, sets the lead's
 * first response once (COALESCE), moves a new lead to contacted, assigns
 * it round robin when asked, and marks the job done.  A retry (the worker
 * died, the provider failed) finds out_id and sends that same body again;
 * it never composes again.  What a retry after a crash between "sent" and
 * COMMIT means per channel:
 *   outbox  the line is appended again with the same message id (readers
 *           keep the last line per id);
 *   e-mail  sent again with the same Message-ID, which mail clients and
 *           threading collapse into one message;
 *   SMS     Twilio has no idempotency key: the same text may arrive
 *           twice, never a different one (send_attempted_at in the
 *           message's metadata shows the attempt for an operator).
 *
 * Retries back off exponentially with jitter (nv_compose_backoff_ms);
 * after max_attempts the job is failed and so is its message, with the
 * reason in conversations.error, which GET /api/leads/{id}/messages shows.
 *
 * Two connections: lib/db's for the work (it reconnects by itself at the
 * start of a transaction) and one of our own that only LISTENs, so a
 * notification never arrives in the middle of a job's result handling
 * and re-LISTENing after a PostgreSQL restart is one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "compose.h"
#include "config.h"
#include "db.h"
#include "intake.h"
#include "json.h"
#include "llm.h"
#include "log.h"
#include "mail.h"
#include "meta.h"
#include "rls.h"
#include "sms.h"
#include "valid.h"
#include "worker.h"

#define W_TENANT \
	"NULLIF(current_setting('app.current_dealership_id', true), '')::uuid"
#define W_CHANNEL	"norvalt_jobs"
#define W_STOCK_MAX	3

/* Round robin's lock: one per dealership, held until the transaction ends. */
#define W_RR_LOCK \
	"pg_advisory_xact_lock(hashtextextended('round_robin:' || " W_TENANT \
	"::text, 0))"

/* ---------------------------------------------------------- statements */

static const struct nv_stmt w_claim = {
	"w_claim",
	"SELECT dealership_id, id, kind, lead_id, payload, attempts,"
	" max_attempts FROM nv_jobs_claim($1, 1, $2::int)",
	2
};

/*
 * Everything a reply or a send needs, as one JSON document: the lead (with
 * the vehicle it names by id, as "year make model"), the dealership's name
 * and settings, whether its phone opted out of SMS, the inbound message
 * answered ($2, else the newest), the outbound message of an earlier
 * attempt ($3) and up to three matching vehicles in stock: a model named
 * in the vehicle interest (else the message) ranks (0) before a make (1),
 * both compared as whole words.
 */
static const struct nv_stmt w_load = {
	"w_load",
	"SELECT json_build_object("
	" 'lead', json_build_object('id', l.id, 'first_name', l.first_name,"
	"  'last_name', l.last_name, 'email', l.email, 'phone', l.phone,"
	"  'source', l.source, 'status', l.status,"
	"  'vehicle_interest', l.vehicle_interest, 'message', l.message,"
	"  'assigned_to', l.assigned_to, 'ai_paused', l.ai_paused,"
	"  'vehicle', (SELECT concat_ws(' ', v.year, v.make, v.model)"
	"   FROM vehicles v WHERE v.dealership_id = l.dealership_id"
	"    AND v.id = l.vehicle_id)),"
	" 'dealership', json_build_object('name', d.name,"
	"  'settings', d.settings - 'webhook_secret'),"
	" 'opted_out', EXISTS (SELECT 1 FROM sms_optouts o"
	"  WHERE o.phone = l.phone),"
	" 'inbound', (SELECT json_build_object('id', c.id, 'body', c.body,"
	"   'channel', c.channel, 'metadata', c.metadata)"
	"  FROM conversations c WHERE c.lead_id = l.id"
	"   AND c.direction = 'inbound'"
	"   AND ($2::uuid IS NULL OR c.id = $2::uuid)"
	"  ORDER BY c.created_at DESC, c.id DESC LIMIT 1),"
	" 'out', (SELECT json_build_object('id', c.id, 'body', c.body,"
	"   'channel', c.channel, 'status', c.status, 'sender', c.sender,"
	"   'metadata', c.metadata)"
	"  FROM conversations c WHERE $3::uuid IS NOT NULL"
	"   AND c.id = $3::uuid AND c.lead_id = l.id),"
	" 'stock', (SELECT coalesce(json_agg(json_build_object("
	"   'make', s.make, 'model', s.model, 'year', s.year,"
	"   'price_ore', s.price_ore, 'rank', s.rank)"
	"   ORDER BY s.rank, s.price_ore), '[]')"
	"  FROM (SELECT v.make, v.model, v.year, v.price_ore,"
	"    CASE WHEN w.t LIKE '% ' || regexp_replace(lower(v.model),"
	"     '[^[:alnum:]]+', ' ', 'g') || ' %' THEN 0 ELSE 1 END AS rank"
	"   FROM vehicles v, (SELECT ' ' || regexp_replace(lower(coalesce("
	"     l.vehicle_interest, l.message, '')), '[^[:alnum:]]+', ' ', 'g')"
	"     || ' ' AS t) w"
	"   WHERE v.stock_status = 'in_stock'"
	"    AND (w.t LIKE '% ' || regexp_replace(lower(v.model),"
	"      '[^[:alnum:]]+', ' ', 'g') || ' %'"
	"     OR w.t LIKE '% ' || regexp_replace(lower(v.make),"
	"      '[^[:alnum:]]+', ' ', 'g') || ' %')"
	"   ORDER BY rank, v.price_ore NULLS LAST, v.id LIMIT 3) s))"
	" FROM leads l JOIN dealerships d ON d.id = l.dealership_id"
	" WHERE l.id = $1::uuid",
	3
};

/*
 * Store the composed reply (queued, or failed with $7 when it cannot be
 * sent at all) with its Message-ID <id@$9>, and record it in the job, only
 * while this worker ($2) still holds the job ($1).
 */
static const struct nv_stmt w_store = {
	"w_store",
	"WITH j AS (SELECT 1 FROM jobs WHERE id = $1::uuid AND locked_by = $2"
	"   AND status = 'running' FOR UPDATE),"
	" n AS (SELECT gen_random_uuid() AS id FROM j),"
	" m AS (INSERT INTO conversations (id, dealership_id, lead_id,"
	"   direction, channel, sender, body, status, error, metadata)"
	"  SELECT n.id, " W_TENANT ", $3::uuid, 'outbound', $4, 'ai', $5, $6,"
	"   $7, $8::jsonb || jsonb_build_object('message_id',"
	"   '<' || n.id || '@' || $9 || '>', 'job_id', $1::text,"
	"   'send_attempted_at', now())"
	"  FROM n RETURNING id, metadata->>'message_id' AS mid),"
	" u AS (UPDATE jobs SET payload = payload || jsonb_build_object("
	"   'out_id', m.id) FROM m WHERE jobs.id = $1::uuid RETURNING 1)"
	" SELECT m.id, m.mid, (SELECT count(*) FROM u) FROM m",
	9
};

/* Another attempt at a stored message: recorded before sending. */
static const struct nv_stmt w_attempt = {
	"w_attempt",
	"UPDATE conversations c SET metadata = c.metadata"
	"  || jsonb_build_object('send_attempted_at', now(),"
	"  'send_attempts', coalesce((c.metadata->>'send_attempts')::int, 1)"
	"  + 1)"
	" WHERE c.id = $1::uuid AND EXISTS (SELECT 1 FROM jobs j"
	"  WHERE j.id = $2::uuid AND j.locked_by = $3 AND j.status = 'running')"
	" RETURNING c.id",
	3
};

/*
 * Sent: the message ($2) with provider id $3 and how it went ($6), the
 * lead's ($4) first response once and new -> contacted, the job ($1) done
 * while worker $5 holds it.  The count says whether it still did.  With
 * $7 it also takes round robin's lock, saving a round trip.
 */
static const struct nv_stmt w_sent = {
	"w_sent",
	"WITH j AS (UPDATE jobs SET status = 'done', locked_until = NULL,"
	"   last_error = NULL WHERE id = $1::uuid AND locked_by = $5"
	"   AND status = 'running' RETURNING id),"
	" m AS (UPDATE conversations SET status = 'sent', provider_id = $3,"
	"   error = NULL, metadata = metadata || $6::jsonb"
	"  WHERE id = $2::uuid AND status = 'queued' AND EXISTS (SELECT 1"
	"   FROM j) RETURNING id),"
	" l AS (UPDATE leads SET"
	"   first_response_at = coalesce(first_response_at, now()),"
	"   first_response_seconds = coalesce(first_response_seconds,"
	"    greatest(0, floor(extract(epoch FROM now() - created_at)))::int),"
	"   status = CASE WHEN status = 'new' THEN 'contacted' ELSE status END"
	"  WHERE id = $4::uuid AND EXISTS (SELECT 1 FROM j) RETURNING id),"
	/* Round robin's lock, for the next statement (w_rr_assign). */
	" k AS (SELECT " W_RR_LOCK " WHERE $7::bool"
	"   AND EXISTS (SELECT 1 FROM j))"
	" SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM l),"
	"  (SELECT count(*) FROM k)",
	7
};

/*
 * A failed attempt: $4 final fails job and message, else the job waits
 * $5 ms; the message keeps the last error either way.
 */
static const struct nv_stmt w_fail = {
	"w_fail",
	"WITH j AS (UPDATE jobs SET"
	"   status = CASE WHEN $4::bool THEN 'failed' ELSE 'queued' END,"
	"   run_at = now() + make_interval(secs => $5::double precision"
	"    / 1000),"
	"   locked_until = NULL, locked_by = NULL, last_error = $3"
	"  WHERE id = $1::uuid AND locked_by = $6 AND status = 'running'"
	"  RETURNING id),"
	" m AS (UPDATE conversations SET error = $3,"
	"   status = CASE WHEN $4::bool THEN 'failed' ELSE status END"
	"  WHERE $2::uuid IS NOT NULL AND id = $2::uuid AND status = 'queued'"
	"   AND EXISTS (SELECT 1 FROM j) RETURNING id)"
	" SELECT (SELECT count(*) FROM j)",
	6
};

/* Done with nothing (else) to do. */
static const struct nv_stmt w_done = {
	"w_done",
	"UPDATE jobs SET status = 'done', locked_until = NULL"
	" WHERE id = $1::uuid AND locked_by = $2 AND status = 'running'"
	" RETURNING id",
	2
};

/* Put a job back without counting the attempt (shutdown, quiet hours). */
static const struct nv_stmt w_release = {
	"w_release",
	"UPDATE jobs SET status = 'queued', locked_until = NULL,"
	" locked_by = NULL, attempts = greatest(0, attempts - 1),"
	" run_at = now() + make_interval(secs => $3::double precision)"
	" WHERE id = $1::uuid AND locked_by = $2 AND status = 'running'"
	" RETURNING id",
	3
};

/*
 * Round robin, under the lock w_sent took (in an earlier statement, so this
 * one's snapshot sees the assignments committed before it): the active
 * sales rep assigned longest ago (never first, then by id) gets the
 * unassigned lead $1, and a notify job.  clock_timestamp(), not now(),
 * because a transaction that started earlier may assign later.
 */
static const struct nv_stmt w_rr_assign = {
	"w_rr_assign",
	"WITH u AS (SELECT u.id FROM users u"
	"  WHERE u.role = 'sales_rep' AND u.active"
	"   AND EXISTS (SELECT 1 FROM leads l WHERE l.id = $1::uuid"
	"    AND l.assigned_to IS NULL)"
	"  ORDER BY u.last_assigned_at NULLS FIRST, u.id LIMIT 1),"
	" uu AS (UPDATE users SET last_assigned_at = clock_timestamp()"
	"  FROM u WHERE users.id = u.id RETURNING users.id,"
	"  users.last_assigned_at),"
	" ul AS (UPDATE leads l SET assigned_to = uu.id,"
	"   metadata = l.metadata || jsonb_build_object('auto_assigned_at',"
	"   uu.last_assigned_at)"
	"  FROM uu WHERE l.id = $1::uuid RETURNING uu.id AS user_id),"
	" n AS (INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	"  SELECT " W_TENANT ", 'notify', $1::uuid, jsonb_build_object("
	"   'user_id', ul.user_id, 'event', 'assigned') FROM ul RETURNING id)"
	" SELECT ul.user_id, (SELECT count(*) FROM n) FROM ul",
	1
};

/* Round robin's lock alone, when no w_sent takes it (see w_end_work). */
static const struct nv_stmt w_rr_lock = {
	"w_rr_lock",
	"SELECT " W_RR_LOCK,
	0
};

/* A notify job for the lead's ($1) assigned rep about event $2. */
static const struct nv_stmt w_notify_rep = {
	"w_notify_rep",
	"INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	" SELECT l.dealership_id, 'notify', l.id, jsonb_build_object("
	"  'user_id', l.assigned_to, 'event', $2::text)"
	" FROM leads l WHERE l.id = $1::uuid AND l.assigned_to IS NOT NULL"
	" RETURNING id",
	2
};

/* What a notification needs: the rep, the lead, the dealership. */
static const struct nv_stmt w_notify_load = {
	"w_notify_load",
	"SELECT json_build_object("
	" 'user', (SELECT json_build_object('email', u.email, 'name', u.name,"
	"   'active', u.active, 'prefs', u.notification_preferences)"
	"  FROM users u WHERE u.id = $1::uuid),"
	" 'lead', (SELECT json_build_object('id', l.id, 'first_name',"
	"   l.first_name, 'last_name', l.last_name, 'vehicle_interest',"
	"   l.vehicle_interest, 'source', l.source)"
	"  FROM leads l WHERE l.id = $2::uuid),"
	" 'dealership', (SELECT json_build_object('name', d.name,"
	"   'settings', d.settings - 'webhook_secret') FROM dealerships d))",
	2
};

static const struct nv_stmt w_dealerships = {
	"w_dealerships",
	"SELECT d FROM nv_worker_dealerships() d",
	0
};

/*
 * The follow-up sweep of one dealership: leads of the last day with an
 * assigned rep that waited longer than settings.follow_up_minutes
 * (default 30) with no human touch (no human message, AI not paused by a
 * person), still new or contacted, not reminded yet, get one notify job
 * each, at most 500 a turn.  The limit is a scalar subquery so the scan
 * is a range of leads_inbox_idx, not the dealership's whole history.
 *
 * Run with nv_db_exec_unprepared, never cached: the planner folds
 * current_setting('app.current_dealership_id') into its estimates, so a
 * plan cached while sweeping a dealership with ten leads (a nested loop
 * reading all of the dealership's conversations for each lead) was kept
 * for the dealerships with 20,000, and each of their sweeps ran into the
 * statement timeout -- holding replies back for seconds.  Planning costs
 * about a millisecond, once per dealership per NORVALT_WORKER_SWEEP_S.
 */
static const struct nv_stmt w_sweep = {
	"w_sweep",
	"WITH s AS (SELECT coalesce((d.settings->>'follow_up_minutes')::int,"
	"   30) AS m FROM dealerships d WHERE d.id = " W_TENANT "),"
	" c AS (SELECT l.id FROM leads l"
	"  WHERE l.created_at < now() - make_interval(mins => (SELECT s.m"
	"    FROM s))"
	"   AND l.created_at > now() - interval '1 day'"
	"   AND l.assigned_to IS NOT NULL AND l.follow_up_notified_at IS NULL"
	"   AND NOT l.ai_paused AND l.status IN ('new', 'contacted')"
	"   AND NOT EXISTS (SELECT 1 FROM conversations c"
	"    WHERE c.lead_id = l.id AND c.sender = 'human')"
	"  ORDER BY l.created_at LIMIT 500 FOR UPDATE SKIP LOCKED),"
	" l AS (UPDATE leads l SET follow_up_notified_at = now() FROM c"
	"  WHERE l.id = c.id RETURNING l.id, l.dealership_id, l.assigned_to)"
	" INSERT INTO jobs (dealership_id, kind, lead_id, payload)"
	" SELECT l.dealership_id, 'notify', l.id, jsonb_build_object("
	"  'user_id', l.assigned_to, 'event', 'waiting') FROM l",
	0
};

/* ------------------------------------------------------------- state */

struct w_job {
	const char	*dealership_id;
	const char	*id;
	const char	*kind;
	const char	*lead_id;
	cJSON		*payload;
	int		 attempts;
	int		 max_attempts;
	PGresult	*load;		/* w_load, read when claimed */
};

/* One message on its way out. */
struct w_out {
	const char	*id;		/* conversations.id, or NULL */
	const char	*channel;	/* "email" or "sms" */
	const char	*to;
	const char	*to_name;
	const char	*subject;
	const char	*body;
	const char	*message_id;	/* "<...@...>" */
	const char	*in_reply_to;
	const char	*reply_to;
	const char	*from_name;
	const char	*kind;		/* "message" or "notify" */
};

static const struct nv_worker_opts *w_opts;
static struct nv_rls_ctx w_ctx;

static const char *
w_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool
w_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *
w_domain(void)
{
	const char *v = nv_config_str(NV_CFG_MAIL_REPLY_DOMAIN);

	return v != NULL && *v != '\0' ? v : "norvalt.localhost";
}

static const char *
w_mail_from(void)
{
	const char *v = nv_config_str(NV_CFG_MAIL_FROM);

	return v != NULL && *v != '\0' ? v : "leads@norvalt.localhost";
}

/* ------------------------------------------------------------ delivery */

/*
 * NORVALT_OUTBOX_DIR/outbox.jsonl, in arena a; *dir is the directory
 * (var/outbox under the working directory when none is configured).
 */
static char *
w_outbox_path(struct nv_arena *a, const char **dir)
{
	*dir = nv_config_str(NV_CFG_OUTBOX_DIR);
	if (*dir == NULL || **dir == '\0')
		*dir = "var/outbox";
	return nv_arena_cat(a, *dir, "/outbox.jsonl", (char *)NULL);
}

/*
 * The outbox for appending, under a shared lock: an erasure (w_erase)
 * rewrites the file under an exclusive one and renames the new file over
 * it, so a writer that waited for the lock checks it still holds the file
 * the path names, else opens again.  -1 with errno on failure.
 */
static int
w_outbox_open(const char *dir, const char *path)
{
	struct stat fs, ps;
	int fd, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		if (fd < 0 && errno == ENOENT && mkdir(dir, 0700) == 0)
			fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
			    O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_SH) == 0 && fstat(fd, &fs) == 0 &&
		    stat(path, &ps) == 0 && fs.st_ino == ps.st_ino &&
		    fs.st_dev == ps.st_dev)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/*
 * Append out as one JSON line to the outbox (w_outbox_path).  One write(2)
 * with O_APPEND, so lines of concurrent workers never interleave.
 */
static enum nv_err
w_outbox(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const struct w_out *out)
{
	const char *dir;
	cJSON *o;
	char *line, *path, ts[32];
	struct timespec now;
	struct tm tm;
	size_t len;
	ssize_t n;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", out->id != NULL ? out->id : job->id);
	cJSON_AddStringToObject(o, "kind", out->kind);
	cJSON_AddStringToObject(o, "dealership_id", job->dealership_id);
	if (job->lead_id != NULL)
		cJSON_AddStringToObject(o, "lead_id", job->lead_id);
	cJSON_AddStringToObject(o, "channel", out->channel);
	cJSON_AddStringToObject(o, "to", out->to);
	if (strcmp(out->channel, "email") == 0) {
		cJSON_AddStringToObject(o, "from", nv_arena_cat(a,
		    out->from_name != NULL ? out->from_name : "Norvalt", " <",
		    w_mail_from(), ">", (char *)NULL));
		if (out->reply_to != NULL)
			cJSON_AddStringToObject(o, "reply_to", out->reply_to);
		cJSON_AddStringToObject(o, "subject", out->subject);
		if (out->message_id != NULL)
			cJSON_AddStringToObject(o, "message_id",
			    out->message_id);
		if (out->in_reply_to != NULL)
			cJSON_AddStringToObject(o, "in_reply_to",
			    out->in_reply_to);
	}
	cJSON_AddStringToObject(o, "body", out->body);
	cJSON_AddStringToObject(o, "at", ts);
	line = nv_arena_cat(a, nv_json_print(a, o), "\n", (char *)NULL);
	cJSON_Delete(o);

	path = w_outbox_path(a, &dir);
	if ((fd = w_outbox_open(dir, path)) < 0)
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "outbox %s: %s", path,
		    strerror(errno));
	len = strlen(line);
	n = write(fd, line, len);
	/*
	 * No fsync: the outbox is the local stand-in for a provider, and a
	 * line in the page cache survives the worker dying; an fsync per
	 * message cost ~15 ms on a plain disk and capped a worker at ~60/s.
	 */
	if (n != (ssize_t)len) {
		int e = errno;

		close(fd);
		return nv_diag_set(d, NV_ERR_UNAVAILABLE, "outbox %s: %s", path,
		    n < 0 ? strerror(e) : "short write");
	}
	close(fd);
	return NV_OK;
}

/*
 * Send out on its channel: the provider when one is configured, else the
 * outbox.  *provider_id (may stay NULL) and *via ("outbox", "smtp",
 * "twilio") tell how.  NV_ERR_VALIDATION is permanent, anything else is
 * worth a retry.
 */
static enum nv_err
w_deliver(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const struct w_out *out, const char **provider_id, const char **via)
{
	struct nv_mail m;
	enum nv_err rc;
	char *sid;

	*provider_id = NULL;
	if (strcmp(out->channel, "email") == 0 && nv_mail_configured()) {
		*via = "smtp";
		memset(&m, 0, sizeof(m));
		m.from_addr = w_mail_from();
		m.from_name = out->from_name;
		m.to_addr = out->to;
		m.to_name = out->to_name;
		m.reply_to = out->reply_to;
		m.subject = out->subject;
		m.body = out->body;
		m.message_id = out->message_id;
		m.in_reply_to = out->in_reply_to;
		m.references = out->in_reply_to;
		m.auto_submitted = strcmp(out->kind, "notify") == 0 ?
		    "auto-generated" : "auto-replied";
		rc = nv_mail_send(a, d, &m);
		if (rc == NV_OK)
			*provider_id = out->message_id;
		return rc;
	}
	if (strcmp(out->channel, "sms") == 0 && nv_sms_configured()) {
		*via = "twilio";
		rc = nv_sms_send(a, d, out->to, NULL, out->body, &sid);
		if (rc == NV_OK)
			*provider_id = sid;
		return rc;
	}
	*via = "outbox";
	return w_outbox(a, d, job, out);
}

/* ------------------------------------------------------------- helpers */

struct w_tx {
	const struct nv_stmt	*st;
	const char		*params[10];
	PGresult		*res;
	const struct nv_stmt	*st2;	/* optional second statement */
	const char		*params2[10];
	PGresult		*res2;
};

static enum nv_err
w_tx_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct w_tx *t = arg;
	enum nv_err rc;

	if ((rc = nv_db_exec(a, d, t->st, t->params, &t->res)) != NV_OK)
		return rc;
	if (t->st2 != NULL)
		rc = nv_db_exec(a, d, t->st2, t->params2, &t->res2);
	return rc;
}

/* One statement in its own transaction under the job's tenant context. */
static enum nv_err
w_exec(struct nv_arena *a, struct nv_diag *d, struct w_tx *t)
{
	return nv_db_tx(a, d, &w_ctx, w_tx_work, t);
}

/*
 * The end of a job that sent nothing: done (fail NULL), or a failed attempt
 * (fail holds w_fail's parameters).  With assign, once the job is over for
 * good, the lead is still given to a rep round robin: a reply job that
 * could not answer (no channel left, the last attempt failed, a person
 * took the lead over) must not also leave the lead without a person, and
 * those leads need one most.
 */
struct w_end {
	const struct w_job	*job;
	const char *const	*fail;
	bool			 assign;
};

static enum nv_err
w_end_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct w_end *e = arg;
	const char *params[2];
	PGresult *res;
	enum nv_err rc;
	bool held;

	if (e->fail != NULL) {
		if ((rc = nv_db_exec(a, d, &w_fail, e->fail, &res)) != NV_OK)
			return rc;
		held = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	} else {
		params[0] = e->job->id;
		params[1] = w_opts->id;
		if ((rc = nv_db_exec(a, d, &w_done, params, &res)) != NV_OK)
			return rc;
		held = PQntuples(res) > 0;
	}
	if (!held || !e->assign)	/* another worker has it now */
		return NV_OK;
	params[0] = e->job->lead_id;
	if ((rc = nv_db_exec(a, d, &w_rr_lock, params, &res)) != NV_OK)
		return rc;
	return nv_db_exec(a, d, &w_rr_assign, params, &res);
}

/* Done with nothing (more) to send; assign: see w_end. */
static enum nv_err
w_job_end(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    bool assign)
{
	struct w_end e;

	e.job = job;
	e.fail = NULL;
	e.assign = assign && job->lead_id != NULL;
	return nv_db_tx(a, d, &w_ctx, w_end_work, &e);
}

static enum nv_err
w_job_done(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	return w_job_end(a, d, job, false);
}

/*
 * A failed attempt: retried after the backoff, or final (permanent, or
 * the last attempt) for the job and the message msg_id (may be NULL);
 * assign: see w_end.
 */
static enum nv_err
w_job_fail_as(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const char *msg_id, const char *why, bool permanent, bool assign)
{
	const char *params[6];
	struct w_end e;
	bool final = permanent || job->attempts >= job->max_attempts;
	long delay = final ? 0 : nv_compose_backoff_ms(job->attempts,
	    w_opts->retry_base_ms, (unsigned)random());

	nv_log_warn("job %s (%s) attempt %d/%d failed%s: %s", job->id,
	    job->kind, job->attempts, job->max_attempts, final ? " for good" :
	    "", why);
	params[0] = job->id;
	params[1] = msg_id;
	params[2] = why;
	params[3] = final ? "true" : "false";
	params[4] = nv_arena_printf(a, "%ld", delay);
	params[5] = w_opts->id;
	e.job = job;
	e.fail = params;
	e.assign = final && assign && job->lead_id != NULL;
	return nv_db_tx(a, d, &w_ctx, w_end_work, &e);
}

static enum nv_err
w_job_fail(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const char *msg_id, const char *why, bool permanent)
{
	return w_job_fail_as(a, d, job, msg_id, why, permanent, false);
}

/* The job's payload member key as a string, or NULL. */
static const char *
w_payload(const struct w_job *job, const char *key)
{
	return w_str(job->payload, key);
}

/*
 * GDPR erasure of a lead (DELETE /api/leads/{id}) reaches the outbox too:
 * every line of that lead -- replies, human replies, notifications to reps
 * naming the person -- goes.  The file is copied without them to a new one
 * beside it and renamed over it, under an exclusive lock (see
 * w_outbox_open), so a crash leaves the old file or the new one.
 */
static enum nv_err
w_erase(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	const char *dir, *lead = w_payload(job, "lead_id");
	char *path, *tmp, *needle, *line = NULL;
	size_t cap = 0, dropped = 0;
	FILE *in = NULL, *out = NULL;
	ssize_t n;
	int fd, ofd = -1;
	bool ok = false;

	if (lead == NULL || !nv_valid_uuid(lead))
		return w_job_fail(a, d, job, NULL, "the job names no lead",
		    true);
	path = w_outbox_path(a, &dir);
	tmp = nv_arena_cat(a, path, ".erase", (char *)NULL);
	needle = nv_arena_cat(a, "\"lead_id\":\"", lead, "\"", (char *)NULL);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)	/* nothing was ever kept */
			return w_job_done(a, d, job);
		return w_job_fail(a, d, job, NULL, nv_arena_printf(a,
		    "outbox %s: %s", path, strerror(errno)), false);
	}
	if (flock(fd, LOCK_EX) != 0 || (in = fdopen(fd, "r")) == NULL) {
		close(fd);
		return w_job_fail(a, d, job, NULL, nv_arena_printf(a,
		    "outbox %s: %s", path, strerror(errno)), false);
	}
	ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd >= 0 && (out = fdopen(ofd, "w")) != NULL) {
		ofd = -1;
		while ((n = getline(&line, &cap, in)) > 0) {
			if (strstr(line, needle) != NULL) {
				dropped++;
				continue;
			}
			if (fwrite(line, 1, (size_t)n, out) != (size_t)n)
				break;
		}
		ok = !ferror(in) && !ferror(out) && fflush(out) == 0 &&
		    fsync(fileno(out)) == 0;
		ok = fclose(out) == 0 && ok;
		ok = ok && (dropped == 0 || rename(tmp, path) == 0);
	}
	if (ofd >= 0)
		close(ofd);
	if (!ok || dropped == 0)
		unlink(tmp);
	free(line);
	fclose(in);	/* and the lock */
	if (!ok)
		return w_job_fail(a, d, job, NULL, nv_arena_printf(a,
		    "outbox %s: could not rewrite it", path), false);
	nv_log_info("outbox: %zu line(s) of an erased lead removed", dropped);
	return w_job_done(a, d, job);
}

/* ------------------------------------------------------------- replies */

/* Pick the channel and recipient for the lead; NULL channel: none. */
static void
w_route(const cJSON *lead, bool opted_out, const char **channel,
    const char **to, const char **why)
{
	const char *email = w_str(lead, "email"), *phone = w_str(lead, "phone");
	const char *source = w_str(lead, "source");
	bool sms_first = source != NULL && strcmp(source, "sms") == 0;

	*channel = NULL;
	*to = NULL;
	*why = NULL;
	if (sms_first && phone != NULL && !opted_out) {
		*channel = "sms";
		*to = phone;
	} else if (email != NULL) {
		*channel = "email";
		*to = email;
	} else if (phone != NULL && !opted_out) {
		*channel = "sms";
		*to = phone;
	} else {
		*why = "recipient opted out";
	}
}

/* Fill the rest of out (subject, threading) for an e-mail. */
static void
w_mail_headers(struct nv_arena *a, const cJSON *doc, struct w_out *out,
    const char *lang)
{
	const cJSON *dealer = cJSON_GetObjectItemCaseSensitive(doc,
	    "dealership"), *lead = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(doc, "inbound");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(in, "metadata");
	const cJSON *em = cJSON_GetObjectItemCaseSensitive(meta, "email");
	const char *subj = w_str(em, "subject"), *name = w_str(dealer, "name");
	bool en = lang != NULL && strcmp(lang, "en") == 0;

	out->from_name = name;
	out->reply_to = nv_arena_cat(a, "lead+", w_str(lead, "id"), "@",
	    w_domain(), (char *)NULL);
	if (subj != NULL && *subj != '\0')
		out->subject = strncasecmp(subj, "re:", 3) == 0 ? subj :
		    nv_arena_cat(a, "Re: ", subj, (char *)NULL);
	else
		out->subject = nv_arena_cat(a, en ? "Your enquiry to " :
		    "Din henvendelse til ", name, (char *)NULL);
	if (in != NULL && strcmp(w_str(in, "channel") != NULL ?
	    w_str(in, "channel") : "", "email") == 0)
		out->in_reply_to = w_str(em, "message_id");
	if (w_str(lead, "first_name") != NULL)
		out->to_name = nv_arena_cat(a, w_str(lead, "first_name"),
		    w_str(lead, "last_name") != NULL ? " " : "",
		    w_str(lead, "last_name") != NULL ? w_str(lead, "last_name") :
		    "", (char *)NULL);
}

/* Read up to W_STOCK_MAX vehicles of doc.stock into v; returns how many. */
static size_t
w_stock(const cJSON *doc, struct nv_compose_vehicle *v)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "stock"), *e;
	const cJSON *y, *p;
	size_t n = 0;

	cJSON_ArrayForEach(e, s) {
		if (n == W_STOCK_MAX)
			break;
		if (w_str(e, "make") == NULL || w_str(e, "model") == NULL)
			continue;
		v[n].make = w_str(e, "make");
		v[n].model = w_str(e, "model");
		y = cJSON_GetObjectItemCaseSensitive(e, "year");
		p = cJSON_GetObjectItemCaseSensitive(e, "price_ore");
		v[n].year = cJSON_IsNumber(y) ? y->valueint : 0;
		v[n].price_ore = cJSON_IsNumber(p) ? (long long)p->valuedouble :
		    -1;
		n++;
	}
	return n;
}

/*
 * The car the lead asked about: its vehicle interest, else the vehicle it
 * names by id, else a car in stock whose model its message names (the
 * first of doc.stock, rank 0).  NULL: the template says "the car".
 */
static const char *
w_vehicle(struct nv_arena *a, const cJSON *doc)
{
	const cJSON *lead = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    doc, "stock"), 0);
	const cJSON *rank = cJSON_GetObjectItemCaseSensitive(s, "rank");
	const char *v;

	if ((v = w_str(lead, "vehicle_interest")) != NULL && *v != '\0')
		return v;
	if ((v = w_str(lead, "vehicle")) != NULL && *v != '\0')
		return v;
	if (cJSON_IsNumber(rank) && rank->valueint == 0 &&
	    w_str(s, "make") != NULL && w_str(s, "model") != NULL)
		return nv_arena_cat(a, w_str(s, "make"), " ", w_str(s, "model"),
		    (char *)NULL);
	return NULL;
}

/*
 * Compose the reply for doc (outside any transaction): the LLM when it is
 * configured and the dealership has AI on, else (or when it fails) the
 * template.  *how is "llm" or "template".
 */
static char *
w_compose(struct nv_arena *a, const cJSON *doc, bool follow_up,
    const char **lang_out, const char **how, const char **llm_error)
{
	const cJSON *dealer = cJSON_GetObjectItemCaseSensitive(doc,
	    "dealership"), *lead = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(dealer,
	    "settings"), *in = cJSON_GetObjectItemCaseSensitive(doc, "inbound");
	const cJSON *hours = cJSON_GetObjectItemCaseSensitive(settings,
	    "business_hours");
	struct nv_compose_vehicle stock[W_STOCK_MAX];
	struct nv_llm_msg msgs[2];
	struct nv_compose c;
	struct nv_diag d;
	struct tm lt;
	const char *message;
	char *answer, *reply;
	int days, wday, minute;

	memset(&c, 0, sizeof(c));
	message = follow_up && w_str(in, "body") != NULL ? w_str(in, "body") :
	    w_str(lead, "message");
	c.lang = nv_compose_language(w_str(settings, "language"), message);
	c.dealership = w_str(dealer, "name");
	c.first_name = w_str(lead, "first_name");
	c.vehicle = w_vehicle(a, doc);
	c.message = message;
	c.tone = w_str(settings, "tone");
	c.nstock = w_stock(doc, stock);
	c.stock = stock;
	c.follow_up = follow_up;
	c.templates = cJSON_GetObjectItemCaseSensitive(settings, "templates");
	if (nv_compose_local(time(NULL), w_str(settings, "timezone"), &lt) ==
	    NV_OK) {
		nv_compose_hours(cJSON_IsObject(hours) ? hours : NULL, &lt,
		    &c.open_now, &days, &wday, &minute);
		c.when = nv_compose_when(a, c.lang, days, wday, minute);
	} else {
		c.open_now = true;
	}
	c.hours_text = nv_compose_hours_text(a, cJSON_IsObject(hours) ? hours :
	    NULL);
	*lang_out = c.lang;
	*llm_error = NULL;
	if (nv_llm_configured() && !cJSON_IsFalse(
	    cJSON_GetObjectItemCaseSensitive(settings, "ai_enabled"))) {
		nv_compose_prompt(a, &c, &msgs[0].content, &msgs[1].content);
		msgs[0].role = "system";
		msgs[1].role = "user";
		nv_diag_reset(&d);
		if (nv_llm_chat(a, &d, msgs, 2, &answer) == NV_OK &&
		    (reply = nv_compose_llm_reply(a, &c, answer)) != NULL) {
			*how = "llm";
			return reply;
		}
		*llm_error = d.msg[0] != '\0' ? nv_arena_strdup(a, d.msg) :
		    "the answer was empty, too long or not text";
		nv_log_warn("the model's reply was not used (%s); the "
		    "template answers", *llm_error);
	}
	*how = "template";
	return nv_compose_template(a, &c);
}

/*
 * The reply was sent: mark it, the lead and the job in one transaction,
 * with round-robin assignment when the dealership asks for it and the
 * lead has nobody yet.
 */
struct w_finish {
	const struct w_job	*job;
	const char		*msg_id;
	const char		*provider_id;
	const char		*via;
	bool			 assign;
	bool			 notify_wrote;	/* tell the rep */
	long			 done;
};

static enum nv_err
w_finish_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct w_finish *f = arg;
	const char *params[7];
	PGresult *res;
	enum nv_err rc;

	params[6] = f->assign ? "true" : "false";
	params[0] = f->job->id;
	params[1] = f->msg_id;
	params[2] = f->provider_id;
	params[3] = f->job->lead_id;
	params[4] = w_opts->id;
	params[5] = nv_arena_cat(a, "{\"via\":\"", f->via, "\"}",
	    (char *)NULL);
	if ((rc = nv_db_exec(a, d, &w_sent, params, &res)) != NV_OK)
		return rc;
	f->done = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (f->done == 0)
		return nv_diag_set(d, NV_ERR_CONFLICT, "the job's lease was "
		    "lost to another worker");
	if (f->assign) {
		params[0] = f->job->lead_id;
		if ((rc = nv_db_exec(a, d, &w_rr_assign, params, &res)) !=
		    NV_OK)
			return rc;
	}
	if (f->notify_wrote) {
		params[0] = f->job->lead_id;
		params[1] = "customer_wrote";
		if ((rc = nv_db_exec(a, d, &w_notify_rep, params, &res)) !=
		    NV_OK)
			return rc;
	}
	return NV_OK;
}

/* Load the document of a reply or send job (one transaction). */
static enum nv_err
w_load_doc(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const char *inbound_id, const char *out_id, cJSON **doc)
{
	struct w_tx t;
	enum nv_err rc;

	*doc = NULL;
	if (job->load != NULL) {
		t.res = job->load;
		goto parse;
	}
	memset(&t, 0, sizeof(t));
	t.st = &w_load;
	t.params[0] = job->lead_id;
	t.params[1] = inbound_id;
	t.params[2] = out_id;
	if ((rc = w_exec(a, d, &t)) != NV_OK)
		return rc;
parse:
	if (PQntuples(t.res) == 0)
		return NV_OK;	/* the lead is gone (erased) */
	return nv_json_parse(a, d, PQgetvalue(t.res, 0, 0),
	    (size_t)PQgetlength(t.res, 0, 0), doc);
}

/* Fill out from a stored message (a retry, or a human reply). */
static void
w_out_from_stored(struct nv_arena *a, const cJSON *doc, const cJSON *msg,
    struct w_out *out)
{
	const cJSON *lead = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(msg, "metadata");
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "dealership"), "settings");

	memset(out, 0, sizeof(*out));
	out->kind = "message";
	out->id = w_str(msg, "id");
	out->channel = w_str(msg, "channel");
	out->body = w_str(msg, "body");
	out->message_id = w_str(meta, "message_id");
	if (out->message_id == NULL)
		out->message_id = nv_arena_cat(a, "<", out->id, "@", w_domain(),
		    ">", (char *)NULL);
	out->to = strcmp(out->channel, "sms") == 0 ? w_str(lead, "phone") :
	    w_str(lead, "email");
	if (strcmp(out->channel, "email") == 0)
		w_mail_headers(a, doc, out, w_str(settings, "language"));
}

/*
 * Deliver a stored message (first attempt or retry) and finish the job.
 * attempted: send_attempted_at is already recorded for this attempt.
 */
static enum nv_err
w_send_stored(struct nv_arena *a, struct nv_diag *d, const struct w_job *job,
    const struct w_out *out, bool attempted, bool assign, bool notify_wrote)
{
	struct w_finish f;
	struct nv_diag sd;
	struct w_tx t;
	const char *pid, *via;
	enum nv_err rc;

	if (out->to == NULL)
		return w_job_fail_as(a, d, job, out->id, nv_arena_cat(a, "the "
		    "lead has no ", strcmp(out->channel, "sms") == 0 ?
		    "phone number" : "e-mail address", " any more",
		    (char *)NULL), true, assign);
	if (!attempted) {
		memset(&t, 0, sizeof(t));
		t.st = &w_attempt;
		t.params[0] = out->id;
		t.params[1] = job->id;
		t.params[2] = w_opts->id;
		if ((rc = w_exec(a, d, &t)) != NV_OK)
			return rc;
		if (PQntuples(t.res) == 0)
			return nv_diag_set(d, NV_ERR_CONFLICT, "the job's lease "
			    "was lost to another worker");
	}
	nv_diag_reset(&sd);
	rc = w_deliver(a, &sd, job, out, &pid, &via);
	if (rc != NV_OK)
		return w_job_fail_as(a, d, job, out->id, sd.msg[0] != '\0' ?
		    sd.msg : "delivery failed", rc == NV_ERR_VALIDATION ||
		    rc == NV_ERR_CONFIG, assign);
	memset(&f, 0, sizeof(f));
	f.job = job;
	f.msg_id = out->id;
	f.provider_id = pid;
	f.via = via;
	f.assign = assign;
	f.notify_wrote = notify_wrote;
	return nv_db_tx(a, d, &w_ctx, w_finish_work, &f);
}

static enum nv_err
w_reply(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	const cJSON *lead, *settings, *out_msg;
	const char *lang, *how, *channel, *to, *why, *status, *assign;
	const char *llm_error;
	bool follow_up = w_bool(job->payload, "follow_up"), want_assign;
	struct w_out out;
	struct w_tx t;
	enum nv_err rc;
	cJSON *doc, *meta;
	char *body;

	rc = w_load_doc(a, d, job, w_payload(job, "message_id"),
	    w_payload(job, "out_id"), &doc);
	if (rc != NV_OK)
		return rc;
	if (doc == NULL)
		return w_job_done(a, d, job);
	lead = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	settings = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "dealership"), "settings");
	assign = w_str(settings, "auto_assign");
	want_assign = assign != NULL && strcmp(assign, "round_robin") == 0 &&
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(lead,
	    "assigned_to"));

	/* A retry: the reply exists already; send that one again. */
	out_msg = cJSON_GetObjectItemCaseSensitive(doc, "out");
	if (cJSON_IsObject(out_msg)) {
		status = w_str(out_msg, "status");
		if (status == NULL || strcmp(status, "queued") != 0)
			return w_job_end(a, d, job, want_assign);
		w_out_from_stored(a, doc, out_msg, &out);
		return w_send_stored(a, d, job, &out, false, want_assign,
		    follow_up);
	}

	if (follow_up && (w_bool(lead, "ai_paused") ||
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(settings,
	    "ai_enabled")))) {
		/* A person handles this lead: only tell them. */
		memset(&t, 0, sizeof(t));
		t.st = &w_notify_rep;
		t.params[0] = job->lead_id;
		t.params[1] = "customer_wrote";
		t.st2 = &w_done;
		t.params2[0] = job->id;
		t.params2[1] = w_opts->id;
		return w_exec(a, d, &t);
	}

	if (!follow_up && w_bool(lead, "ai_paused")) {
		/* A person took the lead over before its first reply. */
		nv_log_info("job %s: no first reply: AI replies are paused on "
		    "the lead", job->id);
		return w_job_end(a, d, job, want_assign);
	}

	body = w_compose(a, doc, follow_up, &lang, &how, &llm_error);
	w_route(lead, w_bool(doc, "opted_out"), &channel, &to, &why);

	meta = cJSON_CreateObject();
	cJSON_AddStringToObject(meta, "composer", how);
	cJSON_AddStringToObject(meta, "language", lang);
	if (llm_error != NULL)
		cJSON_AddStringToObject(meta, "llm_error", llm_error);
	if (follow_up)
		cJSON_AddBoolToObject(meta, "follow_up", 1);
	memset(&t, 0, sizeof(t));
	t.st = &w_store;
	t.params[0] = job->id;
	t.params[1] = w_opts->id;
	t.params[2] = job->lead_id;
	t.params[3] = channel != NULL ? channel :
	    w_str(lead, "phone") != NULL ? "sms" : "email";
	t.params[4] = body;
	t.params[5] = channel != NULL ? "queued" : "failed";
	t.params[6] = why;
	t.params[7] = nv_json_print(a, meta);
	t.params[8] = w_domain();
	cJSON_Delete(meta);
	if ((rc = w_exec(a, d, &t)) != NV_OK)
		return rc;
	if (PQntuples(t.res) == 0)
		return nv_diag_set(d, NV_ERR_CONFLICT, "the job's lease was "
		    "lost to another worker");
	if (channel == NULL) {
		nv_log_info("job %s: no reply sent: %s", job->id, why);
		return w_job_end(a, d, job, want_assign);
	}
	memset(&out, 0, sizeof(out));
	out.kind = "message";
	out.id = nv_arena_strdup(a, PQgetvalue(t.res, 0, 0));
	out.message_id = nv_arena_strdup(a, PQgetvalue(t.res, 0, 1));
	out.channel = channel;
	out.to = to;
	out.body = body;
	if (strcmp(channel, "email") == 0)
		w_mail_headers(a, doc, &out, lang);
	return w_send_stored(a, d, job, &out, true, want_assign, follow_up);
}

/* A human reply (POST /api/leads/{id}/messages) to deliver. */
static enum nv_err
w_send(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	const char *mid = w_payload(job, "message_id"), *status;
	const cJSON *msg;
	struct w_out out;
	enum nv_err rc;
	cJSON *doc;

	if (mid == NULL || job->lead_id == NULL)
		return w_job_fail(a, d, job, NULL, "the job names no message",
		    true);
	if ((rc = w_load_doc(a, d, job, NULL, mid, &doc)) != NV_OK)
		return rc;
	msg = doc != NULL ? cJSON_GetObjectItemCaseSensitive(doc, "out") : NULL;
	if (!cJSON_IsObject(msg))
		return w_job_done(a, d, job);	/* erased meanwhile */
	status = w_str(msg, "status");
	if (status == NULL || strcmp(status, "queued") != 0)
		return w_job_done(a, d, job);
	w_out_from_stored(a, doc, msg, &out);
	if (strcmp(out.channel, "sms") == 0 && w_bool(doc, "opted_out"))
		return w_job_fail(a, d, job, out.id, "recipient opted out",
		    true);
	return w_send_stored(a, d, job, &out, false, false, false);
}

/* ------------------------------------------------------- notifications */

/* Minutes from local time lt to the end of quiet hours, or 0 outside. */
static int
w_quiet_left(const cJSON *prefs, const struct tm *lt)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(prefs, "quiet_hours");
	const cJSON *s, *e;
	int from, to, now = lt->tm_hour * 60 + lt->tm_min;

	if (!cJSON_IsArray(q) || cJSON_GetArraySize(q) != 2)
		return 0;
	s = cJSON_GetArrayItem(q, 0);
	e = cJSON_GetArrayItem(q, 1);
	if (!cJSON_IsString(s) || !cJSON_IsString(e) ||
	    strlen(s->valuestring) != 5 || strlen(e->valuestring) != 5)
		return 0;
	from = (int)strtol(s->valuestring, NULL, 10) * 60 +
	    (int)strtol(s->valuestring + 3, NULL, 10);
	to = (int)strtol(e->valuestring, NULL, 10) * 60 +
	    (int)strtol(e->valuestring + 3, NULL, 10);
	if (from == to)
		return 0;
	if (from < to)
		return now >= from && now < to ? to - now : 0;
	if (now >= from)
		return 24 * 60 - now + to;
	return now < to ? to - now : 0;
}

static enum nv_err
w_notify(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	const char *user = w_payload(job, "user_id");
	const char *event = w_payload(job, "event");
	const cJSON *u, *l, *dealer, *settings, *prefs;
	const char *name, *lang, *what, *base, *phone, *pid, *via;
	struct w_out out;
	struct nv_diag sd;
	struct w_tx t;
	struct tm lt;
	enum nv_err rc;
	cJSON *doc;
	char *body;
	int left, sent = 0;
	bool en;

	if (user == NULL || event == NULL)
		return w_job_fail(a, d, job, NULL, "the job names no user or "
		    "event", true);
	memset(&t, 0, sizeof(t));
	t.st = &w_notify_load;
	t.params[0] = user;
	t.params[1] = job->lead_id;
	if ((rc = w_exec(a, d, &t)) != NV_OK)
		return rc;
	if ((rc = nv_json_parse(a, d, PQgetvalue(t.res, 0, 0),
	    (size_t)PQgetlength(t.res, 0, 0), &doc)) != NV_OK)
		return rc;
	u = cJSON_GetObjectItemCaseSensitive(doc, "user");
	l = cJSON_GetObjectItemCaseSensitive(doc, "lead");
	dealer = cJSON_GetObjectItemCaseSensitive(doc, "dealership");
	settings = cJSON_GetObjectItemCaseSensitive(dealer, "settings");
	if (!cJSON_IsObject(u) || !w_bool(u, "active") || !cJSON_IsObject(l))
		return w_job_done(a, d, job);
	prefs = cJSON_GetObjectItemCaseSensitive(u, "prefs");

	if (nv_compose_local(time(NULL), w_str(settings, "timezone"), &lt) ==
	    NV_OK && (left = w_quiet_left(prefs, &lt)) > 0) {
		memset(&t, 0, sizeof(t));
		t.st = &w_release;
		t.params[0] = job->id;
		t.params[1] = w_opts->id;
		t.params[2] = nv_arena_printf(a, "%d", left * 60);
		nv_log_info("job %s: quiet hours, deferred %d min", job->id,
		    left);
		return w_exec(a, d, &t);
	}

	lang = w_str(settings, "language");
	en = lang != NULL && strcmp(lang, "en") == 0;
	name = nv_arena_cat(a, w_str(l, "first_name") != NULL ?
	    w_str(l, "first_name") : "", w_str(l, "last_name") != NULL ? " " :
	    "", w_str(l, "last_name") != NULL ? w_str(l, "last_name") : "",
	    (char *)NULL);
	if (*name == '\0')
		name = en ? "(no name)" : "(uten navn)";
	if (strcmp(event, "assigned") == 0)
		what = en ? "New lead assigned to you" :
		    "Ny lead tildelt deg";
	else if (strcmp(event, "customer_wrote") == 0)
		what = en ? "The customer wrote again" :
		    "Kunden har skrevet igjen";
	else
		what = en ? "A lead is waiting for you" :
		    "En lead venter på deg";
	base = nv_config_str(NV_CFG_BASE_URL);
	body = nv_arena_cat(a, what, ": ", name,
	    w_str(l, "vehicle_interest") != NULL ? " (" : "",
	    w_str(l, "vehicle_interest") != NULL ?
	    w_str(l, "vehicle_interest") : "",
	    w_str(l, "vehicle_interest") != NULL ? ")" : "", ".\n",
	    base != NULL ? base : "", "/leads/", w_str(l, "id"), (char *)NULL);

	memset(&out, 0, sizeof(out));
	out.kind = "notify";
	out.from_name = w_str(dealer, "name");
	out.subject = nv_arena_cat(a, "Norvalt: ", what, (char *)NULL);
	out.body = body;
	out.message_id = nv_arena_cat(a, "<", job->id, "@", w_domain(), ">",
	    (char *)NULL);
	phone = w_str(prefs, "phone");
	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(prefs, "email")) &&
	    w_str(u, "email") != NULL) {
		out.channel = "email";
		out.to = w_str(u, "email");
		nv_diag_reset(&sd);
		if ((rc = w_deliver(a, &sd, job, &out, &pid, &via)) != NV_OK)
			return w_job_fail(a, d, job, NULL, sd.msg,
			    rc == NV_ERR_VALIDATION);
		sent++;
	}
	if (w_bool(prefs, "sms") && phone != NULL) {
		out.channel = "sms";
		out.to = phone;
		nv_diag_reset(&sd);
		if ((rc = w_deliver(a, &sd, job, &out, &pid, &via)) != NV_OK)
			return w_job_fail(a, d, job, NULL, sd.msg,
			    rc == NV_ERR_VALIDATION);
		sent++;
	}
	nv_log_info("job %s: %s notification to user %s on %d channel(s)",
	    job->id, event, user, sent);
	return w_job_done(a, d, job);
}

/* -------------------------------------------------------------- facebook */

/*
 * A Meta lead the webhook acknowledged without waiting on Graph: fetch it
 * and file it as source 'facebook' through nv_intake_submit with the
 * leadgen_id as idempotency key (so a second job for the same lead, Meta
 * retrying after this one finished, stores nothing twice) and with the
 * same duplicate join as every channel.  An unreachable or refusing Graph
 * and an answer that is not a lead are retried with backoff; a lead with
 * neither e-mail nor phone, or Graph not configured, fails the job for
 * good.  Returns only what w_job_done / w_job_fail return.
 */
static enum nv_err
w_facebook(struct nv_arena *a, struct nv_diag *d, const struct w_job *job)
{
	struct nv_meta_change ch;
	struct nv_intake_lead lead;
	struct nv_intake_answer ans;
	struct nv_rls_ctx ctx;
	struct nv_diag sd;
	enum nv_err rc;
	char *json;

	memset(&ch, 0, sizeof(ch));
	ch.field = "leadgen";
	ch.leadgen_id = w_payload(job, "leadgen_id");
	ch.page_id = w_payload(job, "page_id");
	ch.entry_id = ch.page_id;
	ch.form_id = w_payload(job, "form_id");
	ch.ad_id = w_payload(job, "ad_id");
	ch.created_time = w_payload(job, "created_time");
	if (ch.leadgen_id == NULL || !nv_meta_id_ok(ch.leadgen_id))
		return w_job_fail(a, d, job, NULL, "the job names no leadgen "
		    "id", true);
	nv_diag_reset(&sd);
	rc = nv_meta_fetch(a, &sd, nv_config_str(NV_CFG_META_GRAPH_URL),
	    nv_config_str(NV_CFG_META_PAGE_TOKEN), ch.leadgen_id, &json);
	if (rc == NV_OK)
		rc = nv_meta_lead(a, &sd, json, &ch, &lead);
	if (rc == NV_OK) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.dealership_id = job->dealership_id;
		ctx.actor = NV_META_SCOPE;
		ctx.request_id = job->id;
		rc = nv_intake_submit(a, &sd, &ctx, &lead, NV_META_SCOPE,
		    ch.leadgen_id, &ans);
	}
	if (rc == NV_OK)
		return w_job_done(a, d, job);
	return w_job_fail(a, d, job, NULL, sd.msg[0] != '\0' ? sd.msg :
	    "the Graph fetch failed", rc == NV_ERR_VALIDATION ||
	    rc == NV_ERR_CONFIG);
}

/* ---------------------------------------------------------------- loop */

/*
 * Claim one job (*job->id stays NULL when none is due).  A reply or send
 * job's document is read in the same transaction, under the job's tenant
 * context, which saves a transaction per job.  When that read fails the
 * whole claim rolls back; the next claim then skips it (w_preload_off), so
 * a job whose document cannot be read still counts its attempts and ends.
 */
static bool w_preload_off;

static enum nv_err
w_claim_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct w_job *job = arg;
	const char *params[3], *payload;
	PGresult *res;
	enum nv_err rc;

	params[0] = w_opts->id;
	params[1] = nv_arena_printf(a, "%ld", w_opts->lease_s);
	if ((rc = nv_db_exec(a, d, &w_claim, params, &res)) != NV_OK)
		return rc;
	if (PQntuples(res) == 0)
		return NV_OK;
	job->dealership_id = nv_arena_strdup(a, nv_db_value(res, 0, 0));
	job->id = nv_arena_strdup(a, nv_db_value(res, 0, 1));
	job->kind = nv_arena_strdup(a, nv_db_value(res, 0, 2));
	job->lead_id = nv_arena_strdup(a, nv_db_value(res, 0, 3));
	payload = nv_db_value(res, 0, 4);
	job->attempts = (int)strtol(nv_db_value(res, 0, 5), NULL, 10);
	job->max_attempts = (int)strtol(nv_db_value(res, 0, 6), NULL, 10);
	if (payload == NULL || nv_json_parse(a, NULL, payload, strlen(payload),
	    &job->payload) != NV_OK)
		job->payload = NULL;

	memset(&w_ctx, 0, sizeof(w_ctx));
	w_ctx.dealership_id = job->dealership_id;
	w_ctx.actor = "worker";
	w_ctx.request_id = job->id;
	if (w_preload_off || job->lead_id == NULL ||
	    job->attempts > job->max_attempts)
		return NV_OK;
	if (strcmp(job->kind, "reply") == 0) {
		params[0] = job->lead_id;
		params[1] = w_payload(job, "message_id");
		params[2] = w_payload(job, "out_id");
	} else if (strcmp(job->kind, "send") == 0 &&
	    w_payload(job, "message_id") != NULL) {
		params[0] = job->lead_id;
		params[1] = NULL;
		params[2] = w_payload(job, "message_id");
	} else {
		return NV_OK;
	}
	if ((rc = nv_rls_set(a, d, &w_ctx)) != NV_OK ||
	    (rc = nv_db_exec(a, d, &w_load, params, &job->load)) != NV_OK) {
		w_preload_off = true;
		job->load = NULL;
	}
	return rc;
}

/* Claim one job and run it.  *got: whether there was one. */
static enum nv_err
w_one(struct nv_arena *a, struct nv_diag *d, bool *got)
{
	struct w_job job;
	struct timespec t0, t1;
	enum nv_err rc;

	*got = false;
	memset(&job, 0, sizeof(job));
	rc = nv_db_tx(a, d, NULL, w_claim_work, &job);
	if (rc != NV_OK)
		return rc;
	w_preload_off = false;
	if (job.id == NULL)
		return NV_OK;
	*got = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	memset(&w_ctx, 0, sizeof(w_ctx));
	w_ctx.dealership_id = job.dealership_id;
	w_ctx.actor = "worker";
	w_ctx.request_id = job.id;
	nv_log_set_request(job.id, job.dealership_id, job.kind);

	if (job.attempts > job.max_attempts)
		rc = w_job_fail(a, d, &job, w_payload(&job, "out_id"),
		    "gave up after the worker stopped during every attempt",
		    true);
	else if (strcmp(job.kind, "reply") == 0 && job.lead_id != NULL)
		rc = w_reply(a, d, &job);
	else if (strcmp(job.kind, "send") == 0)
		rc = w_send(a, d, &job);
	else if (strcmp(job.kind, "notify") == 0)
		rc = w_notify(a, d, &job);
	else if (strcmp(job.kind, "facebook_fetch") == 0)
		rc = w_facebook(a, d, &job);
	else if (strcmp(job.kind, "erase_outbox") == 0)
		rc = w_erase(a, d, &job);
	else
		rc = w_job_fail(a, d, &job, NULL, "unknown job kind", true);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != NV_OK)
		nv_log_warn("job %s (%s) not finished: %s; the lease will bring "
		    "it back", job.id, job.kind, d->msg);
	nv_log_info("job %s kind=%s attempt=%d status=%s dur_ms=%.1f", job.id,
	    job.kind, job.attempts, rc == NV_OK ? "ok" : nv_err_str(rc),
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	nv_log_clear_request();
	return NV_OK;
}

/*
 * The sweep: reminders for leads that waited too long.  One round lists
 * the active dealerships, then sweeps one of them per turn of the job
 * loop (w_sweep_step), between jobs, so a round over many dealerships
 * never holds a reply back for more than one small transaction.
 */
#define W_SWEEP_UUID	37
static char (*w_sweep_ids)[W_SWEEP_UUID];
static int w_sweep_n, w_sweep_i;

static void
w_sweep_start(struct nv_arena *a)
{
	struct nv_diag d;
	struct w_tx t;
	int i, n;

	nv_diag_reset(&d);
	memset(&t, 0, sizeof(t));
	t.st = &w_dealerships;
	if (nv_db_tx(a, &d, NULL, w_tx_work, &t) != NV_OK)
		return;
	n = PQntuples(t.res);
	free(w_sweep_ids);
	w_sweep_ids = n > 0 ? calloc((size_t)n, sizeof(*w_sweep_ids)) : NULL;
	w_sweep_n = w_sweep_ids != NULL ? n : 0;
	w_sweep_i = 0;
	for (i = 0; i < w_sweep_n; i++)
		snprintf(w_sweep_ids[i], W_SWEEP_UUID, "%s",
		    PQgetvalue(t.res, i, 0));
}

static enum nv_err
w_sweep_work(struct nv_arena *a, struct nv_diag *d, void *arg)
{
	struct w_tx *t = arg;

	return nv_db_exec_unprepared(a, d, t->st, t->params, &t->res);
}

/* Sweep the next dealership of the round, if any; 1 when one was. */
static int
w_sweep_step(struct nv_arena *a)
{
	struct nv_diag d;
	struct w_tx t;

	if (w_sweep_i >= w_sweep_n)
		return 0;
	nv_diag_reset(&d);
	memset(&w_ctx, 0, sizeof(w_ctx));
	w_ctx.dealership_id = w_sweep_ids[w_sweep_i++];
	w_ctx.actor = "worker";
	memset(&t, 0, sizeof(t));
	t.st = &w_sweep;
	(void)nv_db_tx(a, &d, &w_ctx, w_sweep_work, &t);
	return 1;
}

/* The LISTEN connection, or NULL while the database is away. */
static PGconn *w_listen;
static time_t w_listen_tried;

static void
w_listen_open(void)
{
	const char *conninfo = nv_config_str(NV_CFG_DATABASE_URL);
	PGresult *r;

	if (w_listen != NULL && PQstatus(w_listen) == CONNECTION_OK)
		return;
	if (w_listen != NULL) {
		PQfinish(w_listen);
		w_listen = NULL;
	}
	if (time(NULL) == w_listen_tried || conninfo == NULL)
		return;
	w_listen_tried = time(NULL);
	w_listen = PQconnectdb(conninfo);
	if (PQstatus(w_listen) != CONNECTION_OK) {
		PQfinish(w_listen);
		w_listen = NULL;
		return;
	}
	r = PQexec(w_listen, "LISTEN " W_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(w_listen);
		w_listen = NULL;
		return;
	}
	PQclear(r);
	nv_log_info("listening for " W_CHANNEL);
}

/* Wait up to ms for a NOTIFY (or a signal); drains what arrived. */
static void
w_wait(long ms)
{
	struct timeval tv;
	PGnotify *n;
	fd_set fds;
	int fd;

	w_listen_open();
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (w_listen == NULL || (fd = PQsocket(w_listen)) < 0) {
		(void)select(0, NULL, NULL, NULL, &tv);
		return;
	}
	FD_ZERO(&fds);
	FD_SET(fd, &fds);
	if (select(fd + 1, &fds, NULL, NULL, &tv) <= 0)
		return;
	if (!PQconsumeInput(w_listen)) {
		nv_log_warn("LISTEN connection lost; reconnecting");
		PQfinish(w_listen);
		w_listen = NULL;
		return;
	}
	while ((n = PQnotifies(w_listen)) != NULL)
		PQfreemem(n);
}

int
nv_worker_run(const struct nv_worker_opts *o, volatile sig_atomic_t *stop)
{
	struct nv_arena *a = nv_arena_new();
	struct nv_diag d;
	time_t last_sweep = 0;
	enum nv_err rc;
	bool got;

	w_opts = o;
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	/* Workers started together do not sweep in step. */
	if (o->sweep_s > 0)
		last_sweep = time(NULL) - random() % o->sweep_s;
	nv_log_info("worker %s started (poll %ld ms, lease %ld s)", o->id,
	    o->poll_ms, o->lease_s);
	w_listen_open();
	while (!*stop) {
		nv_arena_reset(a);
		nv_diag_reset(&d);
		rc = w_one(a, &d, &got);
		if (rc == NV_OK && o->sweep_s > 0) {
			nv_arena_reset(a);
			if (w_sweep_step(a))
				continue;
			if (time(NULL) - last_sweep >= o->sweep_s) {
				last_sweep = time(NULL);
				w_sweep_start(a);
				continue;
			}
		}
		if (rc == NV_OK && got)
			continue;
		if (rc != NV_OK)
			nv_log_warn("claiming jobs failed: %s", d.msg);
		if (!*stop)
			w_wait(o->poll_ms);
	}
	nv_log_info("worker %s stopping", o->id);
	if (w_listen != NULL)
		PQfinish(w_listen);
	w_listen = NULL;
	nv_db_close();
	nv_arena_free(a);
	free(w_sweep_ids);
	w_sweep_ids = NULL;
	return 0;
}
