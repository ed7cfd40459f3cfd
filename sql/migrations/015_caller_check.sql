-- 015_caller_check: the re-check of a cached caller fails loudly.
--
-- lib/auth.c keeps, per process, which user and dealership a Clerk
-- (organisation, user) pair resolved to, and re-checks that mapping in
-- every request's own snapshot (both rows active, the Clerk ids and the
-- role unchanged).  Since this migration the re-check goes out in the same
-- pipeline as the request's statement (and, for reads, its COMMIT): one
-- round trip instead of three.  So a mismatch must stop the pipeline
-- rather than return no row: nv_caller_changed() raises SQLSTATE NV001,
-- the server skips every later statement up to the Sync (nothing of the
-- request runs, nothing is committed), and lib/api.c answers the request
-- again through nv_auth_context(), which refuses or re-resolves the caller.

CREATE FUNCTION public.nv_caller_changed() RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the cached caller no longer matches the database'
        USING ERRCODE = 'NV001';
END
$$;

COMMENT ON FUNCTION public.nv_caller_changed() IS
    'Raises SQLSTATE NV001: the per-process caller cache (lib/auth.c) is '
    'stale for this request.';

REVOKE ALL ON FUNCTION public.nv_caller_changed() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_caller_changed() TO norvalt_app;
