-- 014_write_path down: per-row INSERT audit again, and the messages'
-- foreign key to dealerships.
ALTER TABLE public.conversations
    ADD CONSTRAINT conversations_dealership_id_fkey
    FOREIGN KEY (dealership_id) REFERENCES public.dealerships (id);

DROP TRIGGER conversations_audit_insert ON public.conversations;
DROP TRIGGER conversations_audit ON public.conversations;
CREATE TRIGGER conversations_audit AFTER INSERT OR UPDATE OR DELETE
    ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();

DROP TRIGGER leads_audit_insert ON public.leads;
DROP TRIGGER leads_audit ON public.leads;
CREATE TRIGGER leads_audit AFTER INSERT OR UPDATE OR DELETE ON public.leads
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();

DROP FUNCTION public.nv_audit_insert();
