REVOKE INSERT (dealership_id, clerk_user_id, email, name, role, active),
       UPDATE (email, name, role, active)
    ON public.users FROM norvalt_definer;
REVOKE SELECT (email, name) ON public.users FROM norvalt_definer;
REVOKE UPDATE (name, active) ON public.dealerships FROM norvalt_definer;
DROP FUNCTION public.nv_clerk_user_update(text, text, text, boolean);
DROP FUNCTION public.nv_clerk_member_upsert(text, text, text, text, text,
                                            boolean);
DROP FUNCTION public.nv_clerk_org_upsert(text, text, boolean);
DROP FUNCTION public.nv_clerk_event_seen(text, text);
DROP TABLE public.clerk_events;
