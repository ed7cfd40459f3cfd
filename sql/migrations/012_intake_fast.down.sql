-- 012_intake_fast (down): reverses 012_intake_fast.sql.
--
-- nv_webhook_dealership belongs to norvalt_definer; the owner can still
-- drop it because it owns schema public.

DROP FUNCTION public.nv_intake_submit(text, text, jsonb, text, text, jsonb);
DROP FUNCTION public.nv_webhook_dealership(uuid, text, text);
