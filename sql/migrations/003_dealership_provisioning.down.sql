REVOKE INSERT (id, name, clerk_org_id), UPDATE (settings)
    ON public.dealerships FROM norvalt_definer;
DROP FUNCTION public.nv_create_dealership(text, text, jsonb);
