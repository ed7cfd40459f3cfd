-- 002_rls_policies (down): reverses 002_rls_policies.sql.
--
-- The SECURITY DEFINER functions belong to norvalt_definer; the owner can
-- still drop them because it owns schema public.

REVOKE ALL ON public.dealerships, public.users, public.vehicles, public.leads,
              public.conversations, public.jobs, public.audit_log
    FROM norvalt_app;
REVOKE USAGE ON SCHEMA public FROM norvalt_app;
REVOKE ALL ON public.dealerships FROM norvalt_definer;

DROP FUNCTION public.nv_dealership_public(uuid);
DROP FUNCTION public.nv_resolve_org(text);

DROP FUNCTION public.get_current_dealership_context();
DROP FUNCTION public.clear_dealership_context();
DROP FUNCTION public.set_dealership_context(uuid);

DROP POLICY definer_read ON public.dealerships;
DROP POLICY tenant_isolation ON public.audit_log;
DROP POLICY tenant_isolation ON public.jobs;
DROP POLICY tenant_isolation ON public.conversations;
DROP POLICY tenant_isolation ON public.leads;
DROP POLICY tenant_isolation ON public.vehicles;
DROP POLICY tenant_isolation ON public.users;
DROP POLICY tenant_isolation ON public.dealerships;

ALTER TABLE public.audit_log     NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log     DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.jobs          NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.jobs          DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.conversations DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.leads         NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.leads         DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.vehicles      NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.vehicles      DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.users         NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.users         DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.dealerships   NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.dealerships   DISABLE ROW LEVEL SECURITY;

-- REVOKE CREATE ON SCHEMA public FROM PUBLIC is deliberately not undone:
-- PostgreSQL 15 creates databases without it, so that is the prior state.

GRANT EXECUTE ON FUNCTION public.nv_audit() TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_touch_updated_at() TO PUBLIC;

ALTER DEFAULT PRIVILEGES FOR ROLE norvalt_owner
    GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
