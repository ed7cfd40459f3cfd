-- 013_lead_doc down: reads render the lead again (lib/models/shapes.h of
-- before 013); nv_audit() back to 001's.
DROP TRIGGER leads_zz_doc ON public.leads;
DROP FUNCTION public.nv_lead_doc();
ALTER TABLE public.leads DROP COLUMN doc;

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
         WHERE n.key <> 'updated_at'
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
