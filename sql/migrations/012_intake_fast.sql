-- 012_intake_fast: a webhook lead in two round trips, and the follow-up
-- job when a submission joins an existing lead.
--
-- Before this, every webhook POST cost two transactions and about ten
-- round trips: a transaction of its own to look the path's dealership up,
-- then BEGIN + context, the Idempotency-Key expiry, lookup and insert, two
-- advisory locks, the duplicate search, the insert and COMMIT.  Now:
--
--   1. BEGIN + nv_webhook_dealership(id, actor, request_id), pipelined: a
--      narrow SECURITY DEFINER function that returns the active flag and
--      the webhook secret (the signature is checked over the raw body
--      before anything is parsed) and, for an active dealership only, sets
--      the transaction's tenant context, like nv_auth_context() of 004.
--   2. nv_intake_submit(...) + COMMIT, pipelined: a SECURITY INVOKER
--      function that does what lib/intake.c did statement by statement,
--      under the caller's RLS context (still ENABLED and FORCED; the app
--      role owns nothing):
--        - a stored answer for (scope, key) younger than 24 hours is
--          returned as it is (replayed); an older one is deleted;
--        - per-contact advisory locks, e-mail first, then phone (the keys
--          lib/intake.c used: 'intake:<dealership>:e:<email>' and
--          ':p:<phone>'), so two simultaneous first posts of the same
--          person make one lead;
--        - the newest lead of that e-mail or phone created within 30 days
--          gets the submission as an inbound message plus a follow-up
--          'reply' job {"message_id": <that message>, "follow_up": true}
--          (200, "duplicate": true);
--        - otherwise lead + inbound message + 'reply' job {} (201);
--        - the key with the answer.  A concurrent request with the same
--          key fails on idempotency_keys_key (unique) and rolls back; the
--          caller then reads the winner's answer in a new transaction.
--      Nothing is answered before COMMIT succeeded.
--
-- The lead INSERT stays a plain INSERT ... RETURNING, so BEFORE INSERT
-- triggers on leads (013) keep working.

CREATE FUNCTION public.nv_webhook_dealership(p_id uuid, p_actor text,
                                             p_request_id text)
RETURNS TABLE (active boolean, webhook_secret text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- One statement: the context is set in the same scan that finds an
    -- active dealership, and only then.
    SELECT d.active, d.settings ->> 'webhook_secret'
      INTO active, webhook_secret
      FROM public.dealerships d
     WHERE d.id = p_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF active THEN
        PERFORM pg_catalog.set_config('app.current_dealership_id',
                                      p_id::text, true),
                pg_catalog.set_config('app.current_user_id', '', true),
                pg_catalog.set_config('app.actor',
                                      coalesce(p_actor, ''), true),
                pg_catalog.set_config('app.request_id',
                                      coalesce(p_request_id, ''), true);
    END IF;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION public.nv_webhook_dealership(uuid, text, text) IS
    'SECURITY DEFINER: active flag and webhook secret of one dealership; '
    'sets the transaction''s tenant context when it is active. No row: '
    'unknown dealership.';

-- p_lead: {"first_name", "last_name", "email" (lower case), "phone"
-- (E.164), "source", "vehicle_interest", "message", "consent" {"email":
-- true, ...}, "metadata" {...}}; p_channel: the message channel; p_body:
-- the body of the inbound message when the submission joins a lead;
-- p_metadata: that message's metadata.
CREATE FUNCTION public.nv_intake_submit(p_scope text, p_key text,
                                        p_lead jsonb, p_channel text,
                                        p_body text, p_metadata jsonb)
RETURNS TABLE (answer_status integer, answer_body text, replayed boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_dealer uuid := NULLIF(pg_catalog.current_setting(
                         'app.current_dealership_id', true), '')::uuid;
    v_email  text := p_lead ->> 'email';
    v_phone  text := p_lead ->> 'phone';
    v_norm   text := lower(btrim(p_lead ->> 'email'));
    v_fresh  boolean;
    v_lead   uuid;
BEGIN
    IF v_dealer IS NULL THEN
        RAISE EXCEPTION 'nv_intake_submit needs a tenant context'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    replayed := false;

    IF p_key IS NOT NULL THEN
        SELECT k.status, k.body, k.created_at >= now() - interval '24 hours'
          INTO answer_status, answer_body, v_fresh
          FROM public.idempotency_keys k
         WHERE k.dealership_id = v_dealer AND k.scope = p_scope
           AND k.key = p_key;
        IF FOUND AND v_fresh THEN
            replayed := true;
            RETURN NEXT;
            RETURN;
        END IF;
        IF FOUND THEN
            DELETE FROM public.idempotency_keys k
             WHERE k.dealership_id = v_dealer AND k.scope = p_scope
               AND k.key = p_key;
        END IF;
    END IF;

    -- E-mail first, then phone, always (the select list is evaluated in
    -- order): two submissions cannot wait on each other's second lock.
    -- A statement of its own, so the duplicate search after it takes its
    -- snapshot once the locks are held.
    PERFORM CASE WHEN v_email IS NOT NULL THEN pg_advisory_xact_lock(
                hashtextextended('intake:' || v_dealer::text || ':e:'
                                 || v_email, 0)) END,
            CASE WHEN v_phone IS NOT NULL THEN pg_advisory_xact_lock(
                hashtextextended('intake:' || v_dealer::text || ':p:'
                                 || v_phone, 0)) END;

    -- One statement per case, so each keeps a plan on its own index.
    IF v_norm IS NOT NULL AND v_phone IS NOT NULL THEN
        SELECT l.id INTO v_lead
          FROM public.leads l
         WHERE l.dealership_id = v_dealer
           AND l.created_at > now() - interval '30 days'
           AND (l.email_norm = v_norm OR l.phone = v_phone)
         ORDER BY l.created_at DESC, l.id DESC
         LIMIT 1;
    ELSIF v_norm IS NOT NULL THEN
        SELECT l.id INTO v_lead
          FROM public.leads l
         WHERE l.dealership_id = v_dealer
           AND l.created_at > now() - interval '30 days'
           AND l.email_norm = v_norm
         ORDER BY l.created_at DESC, l.id DESC
         LIMIT 1;
    ELSIF v_phone IS NOT NULL THEN
        SELECT l.id INTO v_lead
          FROM public.leads l
         WHERE l.dealership_id = v_dealer
           AND l.created_at > now() - interval '30 days'
           AND l.phone = v_phone
         ORDER BY l.created_at DESC, l.id DESC
         LIMIT 1;
    END IF;

    -- Each case is one statement: the rows, and the key with the answer
    -- (one executor start-up instead of one per row).  Data-modifying
    -- CTEs run to completion whether or not the outer query reads them.
    IF v_lead IS NOT NULL THEN
        WITH m AS (
            INSERT INTO public.conversations (dealership_id, lead_id,
                                              direction, channel, sender,
                                              body, status, metadata)
            VALUES (v_dealer, v_lead, 'inbound', p_channel, 'customer',
                    p_body, 'delivered', coalesce(p_metadata, '{}'::jsonb))
            RETURNING id),
        r AS (
            INSERT INTO public.jobs (dealership_id, kind, lead_id, payload)
            SELECT v_dealer, 'reply', v_lead,
                   jsonb_build_object('message_id', m.id::text,
                                      'follow_up', true)
              FROM m
            RETURNING id),
        k AS (
            INSERT INTO public.idempotency_keys (dealership_id, scope, key,
                                                 status, body)
            SELECT v_dealer, p_scope, p_key, 200,
                   '{"lead_id":"' || v_lead::text || '","duplicate":true}'
              FROM r
             WHERE p_key IS NOT NULL
            RETURNING id)
        SELECT 200, '{"lead_id":"' || v_lead::text || '","duplicate":true}'
          INTO answer_status, answer_body
          FROM r;
    ELSE
        WITH l AS (
            INSERT INTO public.leads (dealership_id, first_name, last_name,
                                      email, phone, source, vehicle_interest,
                                      message, consent, metadata)
            VALUES (v_dealer, p_lead ->> 'first_name',
                    p_lead ->> 'last_name', v_email, v_phone,
                    p_lead ->> 'source', p_lead ->> 'vehicle_interest',
                    p_lead ->> 'message',
                    (SELECT coalesce(jsonb_object_agg(c.key,
                                jsonb_build_object('granted', c.value,
                                    'source', p_lead ->> 'source',
                                    'at', now())), '{}'::jsonb)
                       FROM jsonb_each(CASE WHEN jsonb_typeof(
                                                p_lead -> 'consent')
                                                = 'object'
                                            THEN p_lead -> 'consent'
                                            ELSE '{}'::jsonb END) c),
                    coalesce(p_lead -> 'metadata', '{}'::jsonb))
            RETURNING id),
        m AS (
            INSERT INTO public.conversations (dealership_id, lead_id,
                                              direction, channel, sender,
                                              body, status)
            SELECT v_dealer, l.id, 'inbound', p_channel, 'customer',
                   p_lead ->> 'message', 'delivered'
              FROM l
             WHERE p_lead ->> 'message' IS NOT NULL
            RETURNING id),
        r AS (
            INSERT INTO public.jobs (dealership_id, kind, lead_id, payload)
            SELECT v_dealer, 'reply', l.id, '{}'::jsonb FROM l
            RETURNING id),
        k AS (
            INSERT INTO public.idempotency_keys (dealership_id, scope, key,
                                                 status, body)
            SELECT v_dealer, p_scope, p_key, 201,
                   '{"lead_id":"' || l.id::text || '","duplicate":false}'
              FROM l
             WHERE p_key IS NOT NULL
            RETURNING id)
        SELECT 201, '{"lead_id":"' || l.id::text || '","duplicate":false}'
          INTO answer_status, answer_body
          FROM l;
    END IF;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION public.nv_intake_submit(text, text, jsonb, text, text,
                                            jsonb) IS
    'SECURITY INVOKER: one inbound submission under the current tenant '
    'context: Idempotency-Key, 30-day duplicate join (with a follow-up '
    'reply job) or lead + message + reply job. Returns the answer.';

-- Grants while the owner still owns the functions (see 002).
REVOKE ALL ON FUNCTION public.nv_webhook_dealership(uuid, text, text)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION public.nv_intake_submit(text, text, jsonb, text, text,
                                               jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.nv_webhook_dealership(uuid, text, text)
    TO norvalt_app;
GRANT EXECUTE ON FUNCTION public.nv_intake_submit(text, text, jsonb, text,
                                                  text, jsonb)
    TO norvalt_app;

GRANT CREATE ON SCHEMA public TO norvalt_definer;
ALTER FUNCTION public.nv_webhook_dealership(uuid, text, text)
    OWNER TO norvalt_definer;
REVOKE CREATE ON SCHEMA public FROM norvalt_definer;
