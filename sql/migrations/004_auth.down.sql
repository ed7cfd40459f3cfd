-- 004_auth (down): reverses 004_auth.sql.
--
-- The functions belong to norvalt_definer; the owner can still drop them
-- because it owns schema public.

REVOKE SELECT (id, dealership_id, clerk_user_id, role, active)
    ON public.users FROM norvalt_definer;
DROP POLICY definer_read ON public.users;

DROP FUNCTION public.nv_user_orgs(text);
DROP FUNCTION public.nv_auth_context(text, text);

DROP INDEX public.users_clerk_user_id_idx;
