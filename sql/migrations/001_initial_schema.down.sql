-- 001_initial_schema (down): drops everything 001 created, children first.
-- Apply 002_rls_policies.down.sql before this one.

DROP TABLE public.audit_log;
DROP TABLE public.jobs;
DROP TABLE public.conversations;
DROP TABLE public.leads;
DROP TABLE public.vehicles;
DROP TABLE public.users;
DROP TABLE public.dealerships;

DROP FUNCTION public.nv_audit();
DROP FUNCTION public.nv_touch_updated_at();
