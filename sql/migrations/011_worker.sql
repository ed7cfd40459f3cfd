-- 011_worker: what norvalt-worker needs beyond the jobs table of 001.
--
-- Claiming.  jobs is a tenant table with RLS forced, and the worker must
-- find due jobs of every dealership before it knows which one a job
-- belongs to.  It does so through one narrow SECURITY DEFINER function,
-- nv_jobs_claim(), owned by norvalt_definer (sql/README.md, "SECURITY
-- DEFINER"), which sees jobs through two policies TO norvalt_definer and
-- returns only what the worker needs to set the tenant context: the
-- dealership, the job id, kind, lead, payload and attempt counts.  All the
-- work on a claimed job then runs as norvalt_app under that dealership's
-- context, exactly like an API request.  The claim takes a lease
-- (locked_until): a job whose worker died is claimed again once the lease
-- has run out.  FOR UPDATE SKIP LOCKED lets any number of workers claim at
-- once without waiting for each other or taking the same job.
--
-- Waking.  A statement-level AFTER INSERT trigger on jobs sends
-- NOTIFY norvalt_jobs, so an idle worker (LISTEN norvalt_jobs) starts at
-- once; it also polls (NORVALT_WORKER_POLL_MS) for retries that fall due
-- and for notifications lost while it was reconnecting.
--
-- The follow-up sweep lists active dealerships through
-- nv_worker_dealerships() (ids only) and then reads each one's leads under
-- its own context.  leads.follow_up_notified_at records the one reminder a
-- lead gets when it waited longer than settings.follow_up_minutes.

CREATE POLICY definer_claim_select ON public.jobs
    FOR SELECT TO norvalt_definer
    USING (true);
CREATE POLICY definer_claim_update ON public.jobs
    FOR UPDATE TO norvalt_definer
    USING (true) WITH CHECK (true);

GRANT SELECT, UPDATE (status, locked_until, locked_by, attempts, updated_at)
    ON public.jobs TO norvalt_definer;

-- Claim up to p_limit due jobs for p_worker with a lease of p_lease_seconds:
-- queued jobs whose run_at has come, and running jobs whose lease ran out.
-- attempts counts claims, so a job that kills its worker every time still
-- ends after max_attempts.
CREATE FUNCTION public.nv_jobs_claim(p_worker text, p_limit integer,
                                     p_lease_seconds integer)
RETURNS TABLE (dealership_id uuid, id uuid, kind text, lead_id uuid,
               payload jsonb, attempts integer, max_attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    UPDATE public.jobs j
       SET status = 'running',
           locked_until = now() + make_interval(secs => p_lease_seconds),
           locked_by = p_worker,
           attempts = j.attempts + 1
     WHERE (j.dealership_id, j.id) IN (
           SELECT q.dealership_id, q.id
             FROM public.jobs q
            WHERE q.status IN ('queued', 'running')
              AND q.run_at <= now()
              AND (q.status = 'queued' OR q.locked_until < now())
            ORDER BY q.run_at
            LIMIT greatest(1, least(p_limit, 100))
              FOR UPDATE SKIP LOCKED)
    RETURNING j.dealership_id, j.id, j.kind, j.lead_id, j.payload,
              j.attempts, j.max_attempts;
$$;

COMMENT ON FUNCTION public.nv_jobs_claim(text, integer, integer) IS
    'SECURITY DEFINER: claim due jobs (queued and due, or running with an '
    'expired lease) across dealerships for one worker, FOR UPDATE SKIP '
    'LOCKED; returns what the worker needs to set the tenant context.';

-- Active dealerships, ids only, for the worker's periodic sweep.
CREATE FUNCTION public.nv_worker_dealerships()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.id FROM public.dealerships d WHERE d.active ORDER BY d.id;
$$;

COMMENT ON FUNCTION public.nv_worker_dealerships() IS
    'SECURITY DEFINER: ids of the active dealerships (the worker''s '
    'follow-up sweep then works under each one''s context).';

REVOKE ALL ON FUNCTION public.nv_jobs_claim(text, integer, integer)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_worker_dealerships() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_jobs_claim(text, integer, integer)
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_worker_dealerships() TO norvalt_app;

GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_jobs_claim(text, integer, integer)
    OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_worker_dealerships() OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;

-- NOTIFY once per inserting statement (a bulk insert wakes workers once).
CREATE FUNCTION public.nv_jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('norvalt_jobs', '');
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.nv_jobs_notify() FROM PUBLIC;

CREATE TRIGGER jobs_notify AFTER INSERT ON public.jobs
    FOR EACH STATEMENT EXECUTE FUNCTION public.nv_jobs_notify();

ALTER TABLE public.leads ADD COLUMN follow_up_notified_at timestamptz;

COMMENT ON COLUMN public.leads.follow_up_notified_at IS
    'When the assigned rep was reminded that this lead waited longer than '
    'settings.follow_up_minutes without a human touch (at most once).';
