-- 004_auth: from a verified Clerk token to a tenant context, in one call.
--
-- nv_auth_context(org, user) is the first statement of every authenticated
-- request's transaction.  It maps the token's organisation to its
-- dealership, looks the user up in THAT dealership only, and when both are
-- active sets the transaction-local context (app.current_dealership_id,
-- app.current_user_id, app.actor) before returning, so resolving and
-- setting the context cost one round trip.  It returns what the API needs
-- to tell 401 from 403 (lib/auth.h explains which is which); no row means
-- the organisation is unknown (or the token carried none).
--
-- nv_user_orgs(user) lists a Clerk user's dealerships for the dev token
-- tool (bin/norvalt-token), which connects as norvalt_owner; the app cannot
-- call it, since it would tell one tenant about another.
--
-- Both are SECURITY DEFINER functions owned by norvalt_definer (see
-- sql/README.md for the steps), which reads users through the new
-- definer_read policy and a column grant of only what these functions use.

-- user_elsewhere and nv_user_orgs look a Clerk user up across dealerships.
CREATE INDEX users_clerk_user_id_idx ON public.users (clerk_user_id);

CREATE FUNCTION public.nv_auth_context(p_clerk_org_id text,
                                       p_clerk_user_id text)
RETURNS TABLE (dealership_id uuid, dealership_active boolean, user_id uuid,
               user_role text, user_active boolean, user_elsewhere boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_scope text;
BEGIN
    IF p_clerk_org_id IS NULL OR p_clerk_org_id = ''
       OR p_clerk_user_id IS NULL OR p_clerk_user_id = '' THEN
        RETURN;
    END IF;

    SELECT d.id, d.active, d.settings ->> 'sales_rep_scope'
      INTO dealership_id, dealership_active, v_scope
      FROM public.dealerships d
     WHERE d.clerk_org_id = p_clerk_org_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    SELECT u.id, u.role, u.active
      INTO user_id, user_role, user_active
      FROM public.users u
     WHERE u.dealership_id = nv_auth_context.dealership_id
       AND u.clerk_user_id = p_clerk_user_id;
    IF FOUND THEN
        user_elsewhere := false;
        IF dealership_active AND user_active THEN
            PERFORM pg_catalog.set_config('app.current_dealership_id',
                                          dealership_id::text, true);
            PERFORM pg_catalog.set_config('app.current_user_id',
                                          user_id::text, true);
            PERFORM pg_catalog.set_config('app.actor',
                                          'user:' || p_clerk_user_id, true);
            -- Sales reps of a dealership that keeps them to their own
            -- leads: the restrictive policy of migration 005 reads this.
            IF user_role = 'sales_rep' AND v_scope = 'assigned' THEN
                PERFORM pg_catalog.set_config('app.scope_user_id',
                                              user_id::text, true);
            END IF;
        END IF;
    ELSE
        user_elsewhere := EXISTS (
            SELECT 1
              FROM public.users u
             WHERE u.clerk_user_id = p_clerk_user_id
               AND u.dealership_id <> nv_auth_context.dealership_id);
    END IF;
    RETURN NEXT;
END;
$$;

-- user_role lets the token tool put a Clerk-like o.rol in the token.
CREATE FUNCTION public.nv_user_orgs(p_clerk_user_id text)
RETURNS TABLE (clerk_org_id text, dealership_name text, user_role text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.clerk_org_id, d.name, u.role
      FROM public.users u
      JOIN public.dealerships d ON d.id = u.dealership_id
     WHERE u.clerk_user_id = p_clerk_user_id
       AND d.clerk_org_id IS NOT NULL
     ORDER BY d.clerk_org_id;
$$;

COMMENT ON FUNCTION public.nv_auth_context(text, text) IS
    'SECURITY DEFINER: Clerk organisation and user -> dealership and user '
    '(ids, active flags, role, whether the user exists only elsewhere); '
    'sets the tenant context when both are active.';
COMMENT ON FUNCTION public.nv_user_orgs(text) IS
    'SECURITY DEFINER: the Clerk organisations a Clerk user belongs to, '
    'with the user''s role in each (dev token tool, norvalt_owner only).';

-- Grants while the owner still owns the functions (see 002).
REVOKE ALL ON FUNCTION public.nv_auth_context(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_user_orgs(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_auth_context(text, text) TO norvalt_app;

GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_auth_context(text, text) OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_user_orgs(text) OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;

-- A grant to norvalt_owner cannot be made before the ALTER ... OWNER like
-- the others: ALTER OWNER rewrites every ACL entry naming the old owner,
-- grantee included, to name the new one.  So it is made by the new owner.
-- The runner resets the role after the file; RESET ROLE says so here too.
SET LOCAL ROLE norvalt_definer;
GRANT EXECUTE ON FUNCTION public.nv_user_orgs(text) TO norvalt_owner;
RESET ROLE;

-- What the two functions read of users, and nothing else.
CREATE POLICY definer_read ON public.users
    FOR SELECT TO norvalt_definer
    USING (true);
GRANT SELECT (id, dealership_id, clerk_user_id, role, active)
    ON public.users TO norvalt_definer;
