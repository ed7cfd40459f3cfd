REVOKE INSERT ON public.audit_log FROM norvalt_definer;
DROP TRIGGER dealerships_audit ON public.dealerships;
DROP FUNCTION public.nv_audit_dealership();
