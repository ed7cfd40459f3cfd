DROP FUNCTION public.nv_dealership_by_page(text);
