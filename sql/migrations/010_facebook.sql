-- 010_facebook: Meta Lead Ads (cgi-bin/facebook) maps a Facebook Page to
-- the dealership whose settings.facebook_page_id names it.
--
-- A notification carries only the Page id and arrives with no tenant
-- context, so the lookup is a narrow SECURITY DEFINER function owned by
-- norvalt_definer (sql/README.md, "SECURITY DEFINER"), like
-- nv_dealership_public(): it reads dealerships through the definer_read
-- policy and returns only the id and the active flag.  The Page id is text
-- (Meta's ids exceed 2^53).  No index: dealerships is small, and an
-- expression index would not help the definer's policy-filtered scan.

CREATE FUNCTION public.nv_dealership_by_page(p_page_id text)
RETURNS TABLE (dealership_id uuid, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.id, d.active
      FROM public.dealerships d
     WHERE p_page_id IS NOT NULL AND p_page_id <> ''
       AND d.settings ->> 'facebook_page_id' = p_page_id
     ORDER BY d.created_at, d.id;
$$;

COMMENT ON FUNCTION public.nv_dealership_by_page(text) IS
    'SECURITY DEFINER: Facebook Page id (settings.facebook_page_id) -> '
    '(dealership_id, active), for the Meta Lead Ads webhook.';

-- Grants while the owner still owns the function (see 002).
REVOKE ALL ON FUNCTION public.nv_dealership_by_page(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_dealership_by_page(text) TO norvalt_app;

GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_dealership_by_page(text) OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;
