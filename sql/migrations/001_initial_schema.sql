-- 001_initial_schema: tables, indexes, updated_at and audit triggers.
--
-- Runs as norvalt_owner inside one transaction opened by the migration
-- runner (no BEGIN/COMMIT here). Row-level security, grants and the
-- SECURITY DEFINER functions live in 002_rls_policies.sql.
--
-- Citus-ready: every tenant table has the primary key (dealership_id, id),
-- every unique constraint and foreign key between tenant tables includes
-- dealership_id, and nullable composite foreign keys use PostgreSQL 15's
-- ON DELETE SET NULL (column) so dealership_id itself is never nulled.
-- Filters the API runs go on plain columns (email_norm, phone), because
-- under RLS the planner will not push a non-leakproof function through the
-- policy, so expression indexes would never be used.

-- The owner is NOINHERIT, so on PostgreSQL 15 it does not get the rights of
-- pg_database_owner, which owns schema public by default. Fail with a clear
-- line instead of "permission denied for schema public".
DO $$
BEGIN
    IF NOT pg_catalog.pg_has_role(current_user,
            (SELECT n.nspowner FROM pg_catalog.pg_namespace n
              WHERE n.nspname = 'public'), 'USAGE') THEN
        RAISE EXCEPTION 'schema public is not owned by %', current_user
            USING HINT = 'as superuser: ALTER SCHEMA public OWNER TO '
                         || current_user || ';';
    END IF;
END
$$;

-- updated_at is the start of the transaction that last updated the row.
CREATE FUNCTION public.nv_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.nv_touch_updated_at() IS
    'BEFORE UPDATE row trigger: sets updated_at = now().';

CREATE TABLE public.dealerships (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    name                text        NOT NULL,
    clerk_org_id        text,
    subscription_plan   text        NOT NULL DEFAULT 'trial',
    subscription_status text        NOT NULL DEFAULT 'trialing',
    settings            jsonb       NOT NULL DEFAULT '{
        "ai_enabled": true,
        "language": "nb",
        "tone": "friendly",
        "timezone": "Europe/Oslo",
        "business_hours": {
            "mon": ["08:00", "17:00"],
            "tue": ["08:00", "17:00"],
            "wed": ["08:00", "17:00"],
            "thu": ["08:00", "17:00"],
            "fri": ["08:00", "17:00"],
            "sat": ["10:00", "15:00"],
            "sun": null
        },
        "auto_assign": "round_robin",
        "sales_rep_scope": "all",
        "webhook_secret": null
    }'::jsonb,
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dealerships_pkey PRIMARY KEY (id),
    CONSTRAINT dealerships_clerk_org_id_key UNIQUE (clerk_org_id),
    CONSTRAINT dealerships_name_check
        CHECK (char_length(name) BETWEEN 1 AND 200 AND btrim(name) <> ''),
    CONSTRAINT dealerships_subscription_plan_check
        CHECK (subscription_plan IN ('trial', 'starter', 'pro', 'enterprise')),
    CONSTRAINT dealerships_subscription_status_check
        CHECK (subscription_status IN ('trialing', 'active', 'past_due',
                                       'canceled')),
    CONSTRAINT dealerships_settings_check
        CHECK (jsonb_typeof(settings) = 'object')
);

COMMENT ON TABLE public.dealerships IS
    'Tenants. One row per dealership (Clerk organisation). Not distributed: '
    'a Citus reference table. settings holds ai_enabled, language, tone, '
    'timezone, business_hours, auto_assign, sales_rep_scope, webhook_secret.';

CREATE TABLE public.users (
    id                       uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id            uuid        NOT NULL
        REFERENCES public.dealerships (id),
    clerk_user_id            text        NOT NULL,
    email                    text,
    name                     text,
    role                     text        NOT NULL DEFAULT 'sales_rep',
    notification_preferences jsonb       NOT NULL
        DEFAULT '{"email": true, "sms": false}'::jsonb,
    active                   boolean     NOT NULL DEFAULT true,
    last_assigned_at         timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT users_clerk_user_id_key UNIQUE (dealership_id, clerk_user_id),
    CONSTRAINT users_email_check CHECK (
        char_length(email) <= 254
        AND email ~* '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$'),
    CONSTRAINT users_role_check
        CHECK (role IN ('sales_rep', 'manager', 'admin')),
    CONSTRAINT users_notification_preferences_check
        CHECK (jsonb_typeof(notification_preferences) = 'object')
);

CREATE INDEX users_dealership_role_active_idx
    ON public.users (dealership_id, role, active);

COMMENT ON TABLE public.users IS
    'Dealership staff. A person in a dealer group has one row per '
    'dealership; the token''s active organisation picks which.';

CREATE TABLE public.vehicles (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id uuid        NOT NULL REFERENCES public.dealerships (id),
    make          text        NOT NULL,
    model         text        NOT NULL,
    year          integer,
    vin           text,
    stock_number  text,
    price_ore     bigint,
    stock_status  text        NOT NULL DEFAULT 'in_stock',
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vehicles_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT vehicles_vin_key UNIQUE (dealership_id, vin),
    CONSTRAINT vehicles_year_check CHECK (year BETWEEN 1900 AND 2100),
    CONSTRAINT vehicles_vin_check CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    CONSTRAINT vehicles_price_ore_check CHECK (price_ore >= 0),
    CONSTRAINT vehicles_stock_status_check
        CHECK (stock_status IN ('in_stock', 'reserved', 'sold', 'incoming')),
    CONSTRAINT vehicles_metadata_check
        CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX vehicles_dealership_make_model_idx
    ON public.vehicles (dealership_id, make, model);

COMMENT ON TABLE public.vehicles IS
    'Dealership inventory. price_ore is NOK in øre (1 NOK = 100 øre).';

CREATE TABLE public.leads (
    id                     uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id          uuid        NOT NULL
        REFERENCES public.dealerships (id),
    first_name             text,
    last_name              text,
    email                  text,
    email_norm             text GENERATED ALWAYS AS (lower(btrim(email))) STORED,
    phone                  text,
    source                 text        NOT NULL,
    status                 text        NOT NULL DEFAULT 'new',
    vehicle_id             uuid,
    vehicle_interest       text,
    message                text,
    notes                  text,
    assigned_to            uuid,
    consent                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ai_paused              boolean     NOT NULL DEFAULT false,
    first_response_at      timestamptz,
    first_response_seconds integer,
    metadata               jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT leads_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT leads_vehicle_fkey FOREIGN KEY (dealership_id, vehicle_id)
        REFERENCES public.vehicles (dealership_id, id)
        ON DELETE SET NULL (vehicle_id),
    CONSTRAINT leads_assigned_to_fkey FOREIGN KEY (dealership_id, assigned_to)
        REFERENCES public.users (dealership_id, id)
        ON DELETE SET NULL (assigned_to),
    CONSTRAINT leads_email_check CHECK (
        char_length(email) <= 254
        AND email ~* '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$'),
    CONSTRAINT leads_phone_check CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT leads_contact_required
        CHECK (email IS NOT NULL OR phone IS NOT NULL),
    CONSTRAINT leads_source_check
        CHECK (source IN ('web_form', 'adf', 'email', 'sms', 'facebook',
                          'manual', 'phone', 'walk_in')),
    CONSTRAINT leads_status_check
        CHECK (status IN ('new', 'contacted', 'qualified', 'won', 'lost')),
    CONSTRAINT leads_first_response_seconds_check
        CHECK (first_response_seconds >= 0),
    CONSTRAINT leads_consent_check CHECK (jsonb_typeof(consent) = 'object'),
    CONSTRAINT leads_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- The inbox: RLS predicate plus keyset (created_at, id) < ($1, $2).
CREATE INDEX leads_inbox_idx
    ON public.leads (dealership_id, created_at DESC, id DESC);
CREATE INDEX leads_status_idx
    ON public.leads (dealership_id, status, created_at DESC, id DESC);
-- Also serves ON DELETE SET NULL (assigned_to) when a user is deleted.
CREATE INDEX leads_assigned_to_idx
    ON public.leads (dealership_id, assigned_to, created_at DESC, id DESC);
CREATE INDEX leads_source_idx
    ON public.leads (dealership_id, source, created_at DESC, id DESC);
-- Duplicate detection and inbound matching on normalised contact points.
CREATE INDEX leads_email_norm_idx
    ON public.leads (dealership_id, email_norm) WHERE email_norm IS NOT NULL;
CREATE INDEX leads_phone_idx
    ON public.leads (dealership_id, phone) WHERE phone IS NOT NULL;
-- Serves ON DELETE SET NULL (vehicle_id) when a vehicle is deleted.
CREATE INDEX leads_vehicle_idx
    ON public.leads (dealership_id, vehicle_id) WHERE vehicle_id IS NOT NULL;

COMMENT ON TABLE public.leads IS
    'People asking about a car. email_norm is lower(btrim(email)) for '
    'indexable matching under RLS; phone is E.164, normalised by the app.';

CREATE TABLE public.conversations (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id uuid        NOT NULL REFERENCES public.dealerships (id),
    lead_id       uuid        NOT NULL,
    direction     text        NOT NULL,
    channel       text        NOT NULL,
    sender        text        NOT NULL,
    user_id       uuid,
    body          text        NOT NULL,
    status        text        NOT NULL DEFAULT 'queued',
    provider_id   text,
    error         text,
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT conversations_lead_fkey FOREIGN KEY (dealership_id, lead_id)
        REFERENCES public.leads (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT conversations_user_fkey FOREIGN KEY (dealership_id, user_id)
        REFERENCES public.users (dealership_id, id)
        ON DELETE SET NULL (user_id),
    -- NULL provider ids may repeat (UNIQUE treats NULLs as distinct).
    CONSTRAINT conversations_provider_id_key
        UNIQUE (dealership_id, channel, provider_id),
    CONSTRAINT conversations_direction_check
        CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT conversations_channel_check
        CHECK (channel IN ('email', 'sms', 'facebook', 'web', 'note')),
    CONSTRAINT conversations_sender_check
        CHECK (sender IN ('customer', 'ai', 'human')),
    CONSTRAINT conversations_direction_sender_check
        CHECK ((direction = 'inbound') = (sender = 'customer')),
    CONSTRAINT conversations_body_check CHECK (char_length(body) <= 100000),
    CONSTRAINT conversations_status_check
        CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    CONSTRAINT conversations_metadata_check
        CHECK (jsonb_typeof(metadata) = 'object')
);

-- Thread view, and the index lead deletion (and GDPR erasure) cascades
-- through: without it each deleted lead scans every message.
CREATE INDEX conversations_lead_idx
    ON public.conversations (dealership_id, lead_id, created_at, id);
-- Serves ON DELETE SET NULL (user_id); only human messages carry a user.
CREATE INDEX conversations_user_idx
    ON public.conversations (dealership_id, user_id) WHERE user_id IS NOT NULL;

COMMENT ON TABLE public.conversations IS
    'Messages on a lead, both directions, every channel, including '
    'internal notes. provider_id is the SMS/e-mail/Meta message id.';

CREATE TABLE public.jobs (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id uuid        NOT NULL REFERENCES public.dealerships (id),
    kind          text        NOT NULL,
    lead_id       uuid,
    payload       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        text        NOT NULL DEFAULT 'queued',
    attempts      integer     NOT NULL DEFAULT 0,
    max_attempts  integer     NOT NULL DEFAULT 5,
    run_at        timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    locked_by     text,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT jobs_lead_fkey FOREIGN KEY (dealership_id, lead_id)
        REFERENCES public.leads (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT jobs_kind_check CHECK (kind <> ''),
    CONSTRAINT jobs_status_check
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
    CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
    CONSTRAINT jobs_payload_check CHECK (jsonb_typeof(payload) = 'object')
);

-- The worker's claim query: due jobs across tenants, FOR UPDATE SKIP LOCKED.
CREATE INDEX jobs_due_idx
    ON public.jobs (run_at) WHERE status IN ('queued', 'running');
-- Serves ON DELETE CASCADE from leads.
CREATE INDEX jobs_lead_idx ON public.jobs (dealership_id, lead_id);

COMMENT ON TABLE public.jobs IS
    'Work queue for norvalt-worker (AI replies, outbound sends, '
    'notifications, retries). Not audited.';

CREATE TABLE public.audit_log (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    dealership_id   uuid        NOT NULL REFERENCES public.dealerships (id),
    actor_user_id   uuid,
    actor           text        NOT NULL DEFAULT 'system',
    action          text        NOT NULL,
    entity          text        NOT NULL,
    entity_id       uuid,
    changed_columns text[]      NOT NULL DEFAULT '{}',
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT audit_log_actor_user_fkey
        FOREIGN KEY (dealership_id, actor_user_id)
        REFERENCES public.users (dealership_id, id)
        ON DELETE SET NULL (actor_user_id),
    CONSTRAINT audit_log_action_check
        CHECK (action IN ('insert', 'update', 'delete'))
);

CREATE INDEX audit_log_created_idx
    ON public.audit_log (dealership_id, created_at DESC);
CREATE INDEX audit_log_entity_idx
    ON public.audit_log (dealership_id, entity, entity_id);
-- Serves ON DELETE SET NULL (actor_user_id): without it deleting a user
-- scans the whole audit log.
CREATE INDEX audit_log_actor_user_idx
    ON public.audit_log (dealership_id, actor_user_id)
    WHERE actor_user_id IS NOT NULL;

COMMENT ON TABLE public.audit_log IS
    'Who changed what: entity, id and the names of changed columns only. '
    'Never values or other personal data, so GDPR erasure leaves no copies. '
    'entity_id has no foreign key, so rows outlive what they describe.';

-- Writes one audit_log row per changed row. Runs as the invoker (the app
-- role needs INSERT on audit_log), so RLS WITH CHECK also applies to it.
-- The actor comes from transaction-local settings the app sets per request:
-- app.current_user_id (users.id), app.actor, app.request_id.
CREATE FUNCTION public.nv_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_cols       text[] := '{}';
    v_dealership uuid;
    v_actor      uuid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(n.key ORDER BY n.ord), '{}')
          INTO v_cols
          FROM json_each(row_to_json(NEW)) WITH ORDINALITY AS n(key, value, ord)
          JOIN json_each(row_to_json(OLD)) AS o(key, value) ON o.key = n.key
         WHERE n.key <> 'updated_at'
           AND n.value::text IS DISTINCT FROM o.value::text;
        IF cardinality(v_cols) = 0 THEN
            RETURN NULL;
        END IF;
    END IF;

    v_dealership := CASE WHEN TG_OP = 'DELETE' THEN OLD.dealership_id
                         ELSE NEW.dealership_id END;
    v_actor := NULLIF(pg_catalog.current_setting('app.current_user_id', true),
                      '')::uuid;
    -- The acting user may be gone: deleting a user (even oneself) fires
    -- this trigger for the user row and for every row its ON DELETE SET NULL
    -- rewrites. The actor text still says who it was.
    IF v_actor IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM public.users u
             WHERE u.dealership_id = v_dealership AND u.id = v_actor) THEN
        v_actor := NULL;
    END IF;

    INSERT INTO public.audit_log
        (dealership_id, actor_user_id, actor, action, entity, entity_id,
         changed_columns, request_id)
    VALUES
        (v_dealership,
         v_actor,
         coalesce(NULLIF(pg_catalog.current_setting('app.actor', true), ''),
                  'system'),
         pg_catalog.lower(TG_OP),
         TG_TABLE_NAME,
         CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
         v_cols,
         NULLIF(pg_catalog.current_setting('app.request_id', true), ''));
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION public.nv_audit() IS
    'AFTER row trigger: one audit_log row per insert, delete and '
    'non-empty update (column names only, updated_at ignored).';

CREATE TRIGGER dealerships_touch_updated_at BEFORE UPDATE ON public.dealerships
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER vehicles_touch_updated_at BEFORE UPDATE ON public.vehicles
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER leads_touch_updated_at BEFORE UPDATE ON public.leads
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER conversations_touch_updated_at
    BEFORE UPDATE ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER jobs_touch_updated_at BEFORE UPDATE ON public.jobs
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();
CREATE TRIGGER audit_log_touch_updated_at BEFORE UPDATE ON public.audit_log
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
CREATE TRIGGER vehicles_audit AFTER INSERT OR UPDATE OR DELETE
    ON public.vehicles
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
CREATE TRIGGER leads_audit AFTER INSERT OR UPDATE OR DELETE ON public.leads
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
CREATE TRIGGER conversations_audit AFTER INSERT OR UPDATE OR DELETE
    ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.nv_audit();
