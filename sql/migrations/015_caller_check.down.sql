-- 015_caller_check down.
DROP FUNCTION public.nv_caller_changed();
