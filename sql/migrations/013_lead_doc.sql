-- 013_lead_doc: each lead keeps its API JSON (SPEC section 6) rendered.
--
-- Why: building the lead shape with json_build_object on every read was
-- most of PostgreSQL's time in the inbox (bench/PROFILE.md: 39% of the
-- server's CPU, 45 KB per page, 20 fields per lead).  Now a BEFORE INSERT
-- OR UPDATE trigger renders the document once per write into leads.doc,
-- and reads emit the stored text unchanged: the list, one lead, PATCH and
-- POST answers (lib/models/lead.c, lib/models/shapes.h).
--
-- Whoever writes a lead (the API, intake, the worker, plain SQL) gets a
-- current doc without knowing about it: the trigger sets NEW.doc on every
-- insert and update, also when a statement writes doc itself.  Its name
-- sorts after every other BEFORE trigger on leads (triggers fire in name
-- order), so it renders the row as stored, updated_at included.
--
-- Timestamps: the function pins TimeZone to UTC, so the text is what the
-- API sent before (json_build_object in a session with TimeZone=UTC, which
-- lib/db.c sets): "2026-11-26T05:42:13.123456+00:00", whatever the time
-- zone of the session that wrote the row.
--
-- The doc is a copy of the row's personal data in the same row, so GDPR
-- erasure (DELETE) and access (export) cover it; nv_audit() ignores it like
-- updated_at (it changes with every change that is audited already).

CREATE FUNCTION public.nv_lead_doc() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $$
BEGIN
    NEW.doc := json_build_object('id', NEW.id,
        'dealership_id', NEW.dealership_id,
        'first_name', NEW.first_name, 'last_name', NEW.last_name,
        'email', NEW.email, 'phone', NEW.phone, 'source', NEW.source,
        'status', NEW.status, 'vehicle_id', NEW.vehicle_id,
        'vehicle_interest', NEW.vehicle_interest, 'message', NEW.message,
        'assigned_to', NEW.assigned_to, 'notes', NEW.notes,
        'consent', NEW.consent, 'ai_paused', NEW.ai_paused,
        'first_response_at', NEW.first_response_at,
        'first_response_seconds', NEW.first_response_seconds,
        'metadata', NEW.metadata, 'created_at', NEW.created_at,
        'updated_at', NEW.updated_at)::text;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.nv_lead_doc() IS
    'BEFORE INSERT OR UPDATE row trigger on leads: renders the API JSON of '
    'the row into doc (timestamps in UTC).';

-- Like nv_touch_updated_at (002): a trigger function nobody calls directly.
REVOKE ALL ON FUNCTION public.nv_lead_doc() FROM PUBLIC;

ALTER TABLE public.leads ADD COLUMN doc text;

-- Backfill.  RLS is FORCED, so the owner sees no lead without a context:
-- lift FORCE for this transaction only (no other session sees it; the
-- catalog test check_rls checks it is back).  The backfill must not look
-- like a change: updated_at stays, and no audit_log rows are written.
ALTER TABLE public.leads NO FORCE ROW LEVEL SECURITY;
ALTER TABLE public.leads DISABLE TRIGGER leads_touch_updated_at;
ALTER TABLE public.leads DISABLE TRIGGER leads_audit;

CREATE TRIGGER leads_zz_doc BEFORE INSERT OR UPDATE ON public.leads
    FOR EACH ROW EXECUTE FUNCTION public.nv_lead_doc();

UPDATE public.leads SET doc = NULL;

ALTER TABLE public.leads ENABLE TRIGGER leads_audit;
ALTER TABLE public.leads ENABLE TRIGGER leads_touch_updated_at;
ALTER TABLE public.leads FORCE ROW LEVEL SECURITY;

-- The trigger always fills it; a disabled trigger fails loudly instead of
-- answering null.
ALTER TABLE public.leads ALTER COLUMN doc SET NOT NULL;

COMMENT ON COLUMN public.leads.doc IS
    'The lead as the API returns it (JSON text), kept by trigger leads_zz_doc.';

-- nv_audit() of 001, with doc ignored like updated_at.
CREATE OR REPLACE FUNCTION public.nv_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_cols       text[] := '{}';
    v_dealership uuid;
    v_actor      uuid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(n.key ORDER BY n.ord), '{}')
          INTO v_cols
          FROM json_each(row_to_json(NEW)) WITH ORDINALITY AS n(key, value, ord)
          JOIN json_each(row_to_json(OLD)) AS o(key, value) ON o.key = n.key
         WHERE n.key <> 'updated_at' AND n.key <> 'doc'
           AND n.value::text IS DISTINCT FROM o.value::text;
        IF cardinality(v_cols) = 0 THEN
            RETURN NULL;
        END IF;
    END IF;

    v_dealership := CASE WHEN TG_OP = 'DELETE' THEN OLD.dealership_id
                         ELSE NEW.dealership_id END;
    v_actor := NULLIF(pg_catalog.current_setting('app.current_user_id', true),
                      '')::uuid;
    -- The acting user may be gone: deleting a user (even oneself) fires
    -- this trigger for the user row and for every row its ON DELETE SET NULL
    -- rewrites. The actor text still says who it was.
    IF v_actor IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.users u
             WHERE u.dealership_id = v_dealership AND u.id = v_actor) THEN
        v_actor := NULL;
    END IF;

    INSERT INTO public.audit_log
        (dealership_id, actor_user_id, actor, action, entity, entity_id,
         changed_columns, request_id)
    VALUES
        (v_dealership,
         v_actor,
         coalesce(NULLIF(pg_catalog.current_setting('app.actor', true), ''),
                  'system'),
         pg_catalog.lower(TG_OP),
         TG_TABLE_NAME,
         CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
         v_cols,
         NULLIF(pg_catalog.current_setting('app.request_id', true), ''));
    RETURN NULL;
END
$$;
