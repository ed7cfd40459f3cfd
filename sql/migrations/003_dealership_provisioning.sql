-- 003_dealership_provisioning: creating a dealership before any tenant
-- context exists (a Clerk organization.created event, an operator's tool).
--
-- The application role cannot INSERT into dealerships.  This one SECURITY
-- DEFINER function, owned by the NOLOGIN norvalt_definer role, can: it sets
-- the RLS context to the new id for the INSERT (so the forced WITH CHECK
-- policy holds, as for every other write) and puts the caller's context
-- back before returning.

CREATE FUNCTION public.nv_create_dealership(p_name text, p_clerk_org_id text,
                                            p_settings jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id  uuid := gen_random_uuid();
    v_ctx text := current_setting('app.current_dealership_id', true);
BEGIN
    IF p_settings IS NULL OR jsonb_typeof(p_settings) <> 'object' THEN
        RAISE EXCEPTION 'settings must be an object'
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('app.current_dealership_id', v_id::text, true);
    INSERT INTO public.dealerships (id, name, clerk_org_id)
    VALUES (v_id, p_name, p_clerk_org_id);
    UPDATE public.dealerships
       SET settings = settings || p_settings
     WHERE id = v_id;
    PERFORM set_config('app.current_dealership_id', coalesce(v_ctx, ''), true);
    RETURN v_id;
END;
$$;

COMMENT ON FUNCTION public.nv_create_dealership(text, text, jsonb) IS
    'SECURITY DEFINER: create a dealership (name, Clerk organisation id, '
    'settings merged over the defaults); returns its id.';

REVOKE ALL ON FUNCTION public.nv_create_dealership(text, text, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_create_dealership(text, text, jsonb)
    TO norvalt_app;
GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_create_dealership(text, text, jsonb)
    OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;
GRANT INSERT (id, name, clerk_org_id), UPDATE (settings)
    ON public.dealerships TO norvalt_definer;
