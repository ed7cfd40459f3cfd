-- 002_rls_policies: row-level security, tenant-context helpers, the
-- SECURITY DEFINER lookups that run before a tenant is known, and grants.
--
-- Runs as norvalt_owner (NOINHERIT, member of norvalt_definer, owner of
-- schema public) inside one transaction opened by the migration runner.
--
-- Every table has RLS ENABLED and FORCED, so the owner is filtered too: with
-- no app.current_dealership_id set, every role but a superuser sees nothing.
-- The app sets the context per request with set_config(..., true) inside its
-- transaction, so it never survives into the next request on the connection.
--
-- SECURITY DEFINER functions are owned by norvalt_definer, a NOLOGIN role
-- without BYPASSRLS whose only extra rights are explicit policies TO
-- norvalt_definer. The owner is NOINHERIT, so it never gets those policies.

-- Functions created by the owner from now on are not executable by PUBLIC.
ALTER DEFAULT PRIVILEGES FOR ROLE norvalt_owner
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Trigger functions are fired without an EXECUTE check; nobody calls them.
REVOKE ALL ON FUNCTION public.nv_touch_updated_at() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_audit() FROM PUBLIC;

-- A no-op on a fresh PostgreSQL 15 database; kept for databases created by
-- older versions and upgraded.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

ALTER TABLE public.dealerships   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.dealerships   FORCE ROW LEVEL SECURITY;
ALTER TABLE public.users         ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users         FORCE ROW LEVEL SECURITY;
ALTER TABLE public.vehicles      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.vehicles      FORCE ROW LEVEL SECURITY;
ALTER TABLE public.leads         ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.leads         FORCE ROW LEVEL SECURITY;
ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE public.jobs          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.jobs          FORCE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log     FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.dealerships
    FOR ALL TO PUBLIC
    USING (id = NULLIF(current_setting('app.current_dealership_id', true),
                       '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('app.current_dealership_id', true),
                            '')::uuid);

CREATE POLICY tenant_isolation ON public.users
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

CREATE POLICY tenant_isolation ON public.vehicles
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

CREATE POLICY tenant_isolation ON public.leads
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

CREATE POLICY tenant_isolation ON public.conversations
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

CREATE POLICY tenant_isolation ON public.jobs
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

CREATE POLICY tenant_isolation ON public.audit_log
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

-- Token and webhook resolution: find a dealership before any tenant is set.
-- Permissive policies are OR'ed, so norvalt_definer reads every dealership.
CREATE POLICY definer_read ON public.dealerships
    FOR SELECT TO norvalt_definer
    USING (true);

-- Tenant context helpers (SECURITY INVOKER). Only meaningful inside a
-- transaction block: the setting is local to the current transaction.
CREATE FUNCTION public.set_dealership_context(p_id uuid) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_catalog.set_config('app.current_dealership_id',
                                 coalesce(p_id::text, ''), true);
$$;

CREATE FUNCTION public.clear_dealership_context() RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_catalog.set_config('app.current_dealership_id', '', true);
$$;

CREATE FUNCTION public.get_current_dealership_context() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(pg_catalog.current_setting('app.current_dealership_id',
                                             true), '')::uuid;
$$;

COMMENT ON FUNCTION public.set_dealership_context(uuid) IS
    'Sets app.current_dealership_id for the current transaction (NULL '
    'clears it).';
COMMENT ON FUNCTION public.clear_dealership_context() IS
    'Clears app.current_dealership_id for the current transaction.';
COMMENT ON FUNCTION public.get_current_dealership_context() IS
    'The dealership RLS filters on, or NULL when none is set.';

-- Maps a token's Clerk organisation to its dealership. No row: unknown org.
CREATE FUNCTION public.nv_resolve_org(p_clerk_org_id text)
RETURNS TABLE (dealership_id uuid, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.id, d.active
      FROM public.dealerships d
     WHERE d.clerk_org_id = p_clerk_org_id;
$$;

-- What a webhook needs before it trusts a request for a dealership: whether
-- it exists and is active, and the secret its signature is checked with.
CREATE FUNCTION public.nv_dealership_public(p_id uuid)
RETURNS TABLE (dealership_id uuid, name text, active boolean,
               webhook_secret text, settings jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.id, d.name, d.active, d.settings ->> 'webhook_secret', d.settings
      FROM public.dealerships d
     WHERE d.id = p_id;
$$;

COMMENT ON FUNCTION public.nv_resolve_org(text) IS
    'SECURITY DEFINER: Clerk organisation id -> (dealership_id, active).';
COMMENT ON FUNCTION public.nv_dealership_public(uuid) IS
    'SECURITY DEFINER: existence, active flag, webhook secret and settings '
    'of one dealership, for webhooks.';

-- Grants are set while the owner still owns the functions: once they belong
-- to norvalt_definer, the NOINHERIT owner can no longer grant on them. The
-- ACL moves to the new owner with ALTER ... OWNER.
REVOKE ALL ON FUNCTION public.set_dealership_context(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.clear_dealership_context() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.get_current_dealership_context() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_resolve_org(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_dealership_public(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.set_dealership_context(uuid) TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.clear_dealership_context() TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.get_current_dealership_context()
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_resolve_org(text) TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_dealership_public(uuid) TO norvalt_app;

-- ALTER ... OWNER requires the new owner to hold CREATE on the schema.
-- Give it only for the length of the two statements.
GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_resolve_org(text) OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_dealership_public(uuid) OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;

GRANT SELECT ON public.dealerships TO norvalt_definer;

-- The application role. No INSERT/DELETE on dealerships (created by definer
-- functions in a later migration), and UPDATE only of what a manager may
-- change: clerk_org_id, subscription and active are not the app's to write.
GRANT USAGE ON SCHEMA public TO norvalt_app;
GRANT SELECT ON public.dealerships TO norvalt_app;
GRANT UPDATE (name, settings) ON public.dealerships TO norvalt_app;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON public.users, public.vehicles, public.leads, public.conversations,
       public.jobs
    TO norvalt_app;
-- nv_audit() runs as the invoker, so the app writes the audit rows itself.
GRANT SELECT, INSERT ON public.audit_log TO norvalt_app;
