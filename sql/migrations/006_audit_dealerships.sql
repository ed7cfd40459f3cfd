-- 006_audit_dealerships: changes to a dealership's name and settings (AI
-- on/off, language, opening hours, webhook secret, ...) are audited like
-- every other change.  nv_audit() reads NEW.dealership_id, which the
-- tenant table itself does not have, so it gets its own small trigger.
-- Column names only, never values: a secret never lands in the log.

CREATE FUNCTION public.nv_audit_dealership() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_cols  text[];
    v_actor uuid;
BEGIN
    SELECT coalesce(array_agg(n.key ORDER BY n.ord), '{}')
      INTO v_cols
      FROM json_each(row_to_json(NEW)) WITH ORDINALITY AS n(key, value, ord)
      JOIN json_each(row_to_json(OLD)) AS o(key, value) ON o.key = n.key
     WHERE n.key <> 'updated_at'
       AND n.value::text IS DISTINCT FROM o.value::text;
    IF cardinality(v_cols) = 0 THEN
        RETURN NULL;
    END IF;
    v_actor := NULLIF(pg_catalog.current_setting('app.current_user_id', true),
                      '')::uuid;
    IF v_actor IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.users u
             WHERE u.dealership_id = NEW.id AND u.id = v_actor) THEN
        v_actor := NULL;
    END IF;
    INSERT INTO public.audit_log
        (dealership_id, actor_user_id, actor, action, entity, entity_id,
         changed_columns, request_id)
    VALUES
        (NEW.id, v_actor,
         coalesce(NULLIF(pg_catalog.current_setting('app.actor', true), ''),
                  'system'),
         'update', 'dealerships', NEW.id, v_cols,
         NULLIF(pg_catalog.current_setting('app.request_id', true), ''));
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.nv_audit_dealership() FROM PUBLIC;

CREATE TRIGGER dealerships_audit
    AFTER UPDATE ON public.dealerships
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit_dealership();

-- nv_create_dealership() (SECURITY DEFINER, runs as norvalt_definer)
-- updates the new row's settings, which fires this trigger as that role.
GRANT INSERT ON public.audit_log TO norvalt_definer;
