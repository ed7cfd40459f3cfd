-- 007_intake: what the lead webhooks need beyond the tables of 001.
--
-- idempotency_keys remembers the first answer to a webhook request that
-- carried an Idempotency-Key, per dealership and per channel (scope, e.g.
-- 'webhook:form'), so a retry gets the same status and body and stores
-- nothing new.  The key is inserted in the same transaction as the lead it
-- answers: a concurrent duplicate hits idempotency_keys_key and then reads
-- the stored answer.  Keys are honoured for 24 hours; older rows are
-- ignored by the application and deleted opportunistically.
-- body holds only the webhook's answer ({"lead_id": ...}), never the
-- request, so no personal data lands here.

CREATE TABLE public.idempotency_keys (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id uuid        NOT NULL REFERENCES public.dealerships (id),
    scope         text        NOT NULL,
    key           text        NOT NULL,
    status        integer     NOT NULL,
    body          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT idempotency_keys_key UNIQUE (dealership_id, scope, key),
    CONSTRAINT idempotency_keys_scope_check
        CHECK (char_length(scope) BETWEEN 1 AND 100),
    CONSTRAINT idempotency_keys_key_check
        CHECK (char_length(key) BETWEEN 1 AND 200),
    CONSTRAINT idempotency_keys_status_check
        CHECK (status BETWEEN 100 AND 599)
);

CREATE INDEX idempotency_keys_created_idx
    ON public.idempotency_keys (dealership_id, created_at);

COMMENT ON TABLE public.idempotency_keys IS
    'First answers to webhook requests with an Idempotency-Key, per '
    'dealership and scope; honoured for 24 hours. Not audited.';

CREATE TRIGGER idempotency_keys_touch_updated_at
    BEFORE UPDATE ON public.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.idempotency_keys
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON public.idempotency_keys TO norvalt_app;
