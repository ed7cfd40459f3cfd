-- 008_clerk_sync: Clerk's webhook (cgi-bin/clerk) keeps dealerships and
-- users in step with Clerk's organisations, memberships and users.
--
-- The events arrive with no tenant context and may touch several
-- dealerships (a user's name changes in every dealership they belong to),
-- so the writes go through four narrow SECURITY DEFINER functions owned by
-- norvalt_definer (sql/README.md, "SECURITY DEFINER").  Each finds its
-- rows through the definer_read policies, then sets
-- app.current_dealership_id to the dealership of each row it writes, so
-- the forced tenant_isolation policy holds for every write, exactly as in
-- nv_create_dealership(); the caller's context is put back before
-- returning.  No policy lets the definer write across tenants.
--
-- clerk_events remembers every delivery's svix-id, so a replayed delivery
-- is applied once.  It is not a tenant table: it holds no dealership_id,
-- only the delivery id, the event type and when it came.  The app has no
-- rights on it; only nv_clerk_event_seen() reads and writes it.
--
-- All functions are idempotent: applying one event twice leaves the same
-- rows as applying it once.

CREATE TABLE public.clerk_events (
    svix_id     text        NOT NULL,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clerk_events_pkey PRIMARY KEY (svix_id),
    CONSTRAINT clerk_events_svix_id_check
        CHECK (char_length(svix_id) BETWEEN 1 AND 200),
    CONSTRAINT clerk_events_type_check CHECK (char_length(type) <= 200)
);

ALTER TABLE public.clerk_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.clerk_events FORCE ROW LEVEL SECURITY;

CREATE POLICY definer_read ON public.clerk_events
    FOR SELECT TO norvalt_definer
    USING (true);
CREATE POLICY definer_insert ON public.clerk_events
    FOR INSERT TO norvalt_definer
    WITH CHECK (true);

COMMENT ON TABLE public.clerk_events IS
    'Clerk (Svix) deliveries already applied, by svix-id: replays are '
    'acknowledged without a second effect.  Not a tenant table.';

-- true when p_svix_id was recorded before (a replay); else records it.
-- A concurrent delivery of the same id waits for the first transaction
-- and then sees it (ON CONFLICT), so the two are never both applied.
CREATE FUNCTION public.nv_clerk_event_seen(p_svix_id text, p_type text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    INSERT INTO public.clerk_events (svix_id, type)
    VALUES (p_svix_id, coalesce(p_type, ''))
    ON CONFLICT (svix_id) DO NOTHING;
    RETURN NOT FOUND;
END;
$$;

-- Create the dealership of a Clerk organisation, or update its name and
-- (when p_active is not NULL) active flag.  p_active = false for an
-- unknown organisation creates nothing.  Returns the dealership id, or
-- NULL when nothing exists.
CREATE FUNCTION public.nv_clerk_org_upsert(p_org_id text, p_name text,
                                           p_active boolean)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id  uuid;
    v_ctx text := pg_catalog.current_setting('app.current_dealership_id',
                                             true);
BEGIN
    IF p_org_id IS NULL OR p_org_id = '' THEN
        RAISE EXCEPTION 'organisation id is required'
            USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT d.id INTO v_id
      FROM public.dealerships d
     WHERE d.clerk_org_id = p_org_id;
    IF NOT FOUND THEN
        IF p_active IS NOT NULL AND NOT p_active THEN
            RETURN NULL;
        END IF;
        -- The same insert path as every other new dealership.
        v_id := public.nv_create_dealership(p_name, p_org_id, '{}');
    END IF;
    PERFORM pg_catalog.set_config('app.current_dealership_id', v_id::text,
                                  true);
    UPDATE public.dealerships d
       SET name = coalesce(NULLIF(p_name, ''), d.name),
           active = coalesce(p_active, d.active)
     WHERE d.id = v_id;
    PERFORM pg_catalog.set_config('app.current_dealership_id',
                                  coalesce(v_ctx, ''), true);
    RETURN v_id;
END;
$$;

-- Create or update a Clerk user's row in the dealership of p_org_id:
-- e-mail and name (NULL keeps the stored value), role, active.  With
-- p_active = false an absent row stays absent.  false when the
-- organisation is unknown or no row was written; true otherwise.
CREATE FUNCTION public.nv_clerk_member_upsert(p_org_id text, p_user_id text,
                                              p_email text, p_name text,
                                              p_role text, p_active boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_dealer uuid;
    v_done   boolean;
    v_ctx    text := pg_catalog.current_setting('app.current_dealership_id',
                                                true);
BEGIN
    IF p_user_id IS NULL OR p_user_id = '' THEN
        RAISE EXCEPTION 'user id is required'
            USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT d.id INTO v_dealer
      FROM public.dealerships d
     WHERE d.clerk_org_id = p_org_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_catalog.set_config('app.current_dealership_id',
                                  v_dealer::text, true);
    IF p_active IS NOT NULL AND NOT p_active THEN
        UPDATE public.users u
           SET active = false
         WHERE u.dealership_id = v_dealer
           AND u.clerk_user_id = p_user_id;
    ELSE
        INSERT INTO public.users AS u
            (dealership_id, clerk_user_id, email, name, role, active)
        VALUES (v_dealer, p_user_id, p_email, p_name,
                coalesce(p_role, 'sales_rep'), coalesce(p_active, true))
        ON CONFLICT (dealership_id, clerk_user_id) DO UPDATE
           SET email = coalesce(EXCLUDED.email, u.email),
               name = coalesce(EXCLUDED.name, u.name),
               role = coalesce(p_role, u.role),
               active = coalesce(p_active, u.active);
    END IF;
    v_done := FOUND;
    PERFORM pg_catalog.set_config('app.current_dealership_id',
                                  coalesce(v_ctx, ''), true);
    RETURN v_done;
END;
$$;

-- Update a Clerk user's e-mail, name and active flag (NULL keeps the
-- stored value) in every dealership they belong to.  Returns how many rows
-- were changed.
CREATE FUNCTION public.nv_clerk_user_update(p_user_id text, p_email text,
                                            p_name text, p_active boolean)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    r     record;
    v_n   integer := 0;
    v_ctx text := pg_catalog.current_setting('app.current_dealership_id',
                                             true);
BEGIN
    FOR r IN SELECT u.dealership_id, u.id
               FROM public.users u
              WHERE u.clerk_user_id = p_user_id
              ORDER BY u.dealership_id
    LOOP
        PERFORM pg_catalog.set_config('app.current_dealership_id',
                                      r.dealership_id::text, true);
        UPDATE public.users u
           SET email = coalesce(p_email, u.email),
               name = coalesce(p_name, u.name),
               active = coalesce(p_active, u.active)
         WHERE u.dealership_id = r.dealership_id
           AND u.id = r.id;
        v_n := v_n + 1;
    END LOOP;
    PERFORM pg_catalog.set_config('app.current_dealership_id',
                                  coalesce(v_ctx, ''), true);
    RETURN v_n;
END;
$$;

COMMENT ON FUNCTION public.nv_clerk_event_seen(text, text) IS
    'SECURITY DEFINER: record a Clerk delivery by svix-id; true when it '
    'was recorded before (a replay).';
COMMENT ON FUNCTION public.nv_clerk_org_upsert(text, text, boolean) IS
    'SECURITY DEFINER: create or update the dealership of a Clerk '
    'organisation (name; active when not NULL); returns its id.';
COMMENT ON FUNCTION public.nv_clerk_member_upsert(text, text, text, text,
                                                  text, boolean) IS
    'SECURITY DEFINER: create or update a Clerk user''s row in the '
    'dealership of a Clerk organisation; false when the organisation is '
    'unknown.';
COMMENT ON FUNCTION public.nv_clerk_user_update(text, text, text, boolean) IS
    'SECURITY DEFINER: update a Clerk user''s e-mail, name and active flag '
    'in every dealership; returns the number of rows.';

-- Grants while the owner still owns the functions (see 002 and 004).
REVOKE ALL ON FUNCTION public.nv_clerk_event_seen(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_clerk_org_upsert(text, text, boolean)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_clerk_member_upsert(text, text, text, text,
                                                     text, boolean)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_clerk_user_update(text, text, text, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_clerk_event_seen(text, text)
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_clerk_org_upsert(text, text, boolean)
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_clerk_member_upsert(text, text, text,
                                                        text, text, boolean)
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_clerk_user_update(text, text, text,
                                                      boolean)
    TO norvalt_app;

GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_clerk_event_seen(text, text)
    OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_clerk_org_upsert(text, text, boolean)
    OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_clerk_member_upsert(text, text, text, text, text,
                                             boolean)
    OWNER TO norvalt_definer;
ALTER FUNCTION public.nv_clerk_user_update(text, text, text, boolean)
    OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;

-- What the functions need, and nothing more.  Reads go through the
-- definer_read policies (002, 004, above); writes through tenant_isolation
-- with the context each function sets.  The coalesce(..., u.email) of the
-- upserts reads e-mail and name, hence those two SELECT columns.
GRANT SELECT, INSERT ON public.clerk_events TO norvalt_definer;
GRANT UPDATE (name, active) ON public.dealerships TO norvalt_definer;
GRANT SELECT (email, name) ON public.users TO norvalt_definer;
GRANT INSERT (dealership_id, clerk_user_id, email, name, role, active),
      UPDATE (email, name, role, active)
    ON public.users TO norvalt_definer;
