ALTER TABLE public.leads DROP COLUMN follow_up_notified_at;
DROP TRIGGER jobs_notify ON public.jobs;
DROP FUNCTION public.nv_jobs_notify();
DROP FUNCTION public.nv_worker_dealerships();
DROP FUNCTION public.nv_jobs_claim(text, integer, integer);
REVOKE SELECT, UPDATE (status, locked_until, locked_by, attempts, updated_at)
    ON public.jobs FROM norvalt_definer;
DROP POLICY definer_claim_update ON public.jobs;
DROP POLICY definer_claim_select ON public.jobs;
