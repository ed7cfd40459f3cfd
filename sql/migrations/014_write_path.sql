-- 014_write_path: cheaper PostgreSQL writes for a new lead (issue 4,
-- bench/PROFILE-webhook.md).  Nothing that is audited or checked changes.
--
-- 1. INSERTs on leads and conversations are audited once per statement.
--    Before, nv_audit() ran as an AFTER ... FOR EACH ROW trigger for every
--    inserted row: a plpgsql call, a users lookup and a one-row INSERT
--    into audit_log (its own executor start-up, CHECK and foreign-key
--    check) per row.  Now nv_audit_insert() runs AFTER INSERT ... FOR EACH
--    STATEMENT with the statement's new rows as a transition table and
--    writes all their audit rows in one INSERT ... SELECT.  The rows are
--    the same as nv_audit() wrote for an insert: the dealership, the acting
--    user when app.current_user_id names a user of that dealership (else
--    NULL; the actor text still says who), app.actor or 'system', action
--    'insert', the table name, the row's id, no changed columns,
--    app.request_id.  It runs as the invoker like nv_audit(), so RLS WITH
--    CHECK on audit_log applies.  UPDATE and DELETE stay per row with
--    nv_audit() (the changed column names need OLD and NEW of each row).
--    For a webhook lead this is small (each of its statements inserts one
--    lead or one message); a bulk insert (an import, bench/generate.sql)
--    writes one audit INSERT instead of one per row.
--
-- 2. conversations loses its foreign key to dealerships: every message
--    has a lead (lead_id is NOT NULL), conversations_lead_fkey already
--    requires that (dealership_id, lead_id) is a lead, and that lead's
--    dealership_id references dealerships (leads_dealership_id_fkey).  The
--    dropped key could never fail where those two pass, and deleting a
--    dealership with messages still fails (on its leads).  One
--    foreign-key check (an SPI query) less per message.  jobs and
--    idempotency_keys keep theirs: a job may have no lead, a key never
--    has one.

CREATE FUNCTION public.nv_audit_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- nv_new: the REFERENCING NEW TABLE of both triggers below.  The
    -- LEFT JOIN is nv_audit()'s check that the acting user still exists.
    INSERT INTO public.audit_log
        (dealership_id, actor_user_id, actor, action, entity, entity_id,
         request_id)
    SELECT n.dealership_id, u.id,
           coalesce(NULLIF(pg_catalog.current_setting('app.actor', true),
                           ''), 'system'),
           'insert', TG_TABLE_NAME, n.id,
           NULLIF(pg_catalog.current_setting('app.request_id', true), '')
      FROM nv_new n
      LEFT JOIN public.users u
        ON u.dealership_id = n.dealership_id
       AND u.id = NULLIF(pg_catalog.current_setting('app.current_user_id',
                                                    true), '')::uuid;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION public.nv_audit_insert() IS
    'AFTER INSERT statement trigger (transition table nv_new): one '
    'audit_log row per inserted row, as nv_audit() writes for an insert.';

-- Like nv_audit(): a trigger function nobody calls directly.
REVOKE ALL ON FUNCTION public.nv_audit_insert() FROM PUBLIC;

DROP TRIGGER leads_audit ON public.leads;
CREATE TRIGGER leads_audit AFTER UPDATE OR DELETE ON public.leads
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
CREATE TRIGGER leads_audit_insert AFTER INSERT ON public.leads
    REFERENCING NEW TABLE AS nv_new
    FOR EACH STATEMENT EXECUTE FUNCTION public.nv_audit_insert();

DROP TRIGGER conversations_audit ON public.conversations;
CREATE TRIGGER conversations_audit AFTER UPDATE OR DELETE
    ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
CREATE TRIGGER conversations_audit_insert AFTER INSERT
    ON public.conversations
    REFERENCING NEW TABLE AS nv_new
    FOR EACH STATEMENT EXECUTE FUNCTION public.nv_audit_insert();

ALTER TABLE public.conversations
    DROP CONSTRAINT conversations_dealership_id_fkey;
