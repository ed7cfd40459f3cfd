-- 009_sms_optout: SMS opt-outs (SPEC section 7), written by the Twilio
-- webhook (cgi-bin/sms).
--
-- A person who texts STOP (or STOPP, AVSLUTT, UNSUBSCRIBE, STOPALL, CANCEL,
-- END, QUIT) to a dealership's number gets a row here; START or UNSTOP
-- deletes it.  One row per dealership and E.164 phone number.  Whoever
-- sends SMS (the worker) must not text a number that has a row.  The table
-- holds the phone number only, no message text.

CREATE TABLE public.sms_optouts (
    dealership_id uuid        NOT NULL REFERENCES public.dealerships (id),
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    phone         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_optouts_pkey PRIMARY KEY (dealership_id, id),
    CONSTRAINT sms_optouts_phone_key UNIQUE (dealership_id, phone),
    CONSTRAINT sms_optouts_phone_check CHECK (phone ~ '^\+[1-9][0-9]{6,14}$')
);

COMMENT ON TABLE public.sms_optouts IS
    'E.164 numbers that texted STOP to the dealership: no SMS to them until '
    'they text START.';

CREATE TRIGGER sms_optouts_touch_updated_at
    BEFORE UPDATE ON public.sms_optouts
    FOR EACH ROW EXECUTE FUNCTION public.nv_touch_updated_at();

ALTER TABLE public.sms_optouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.sms_optouts FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.sms_optouts
    FOR ALL TO PUBLIC
    USING (dealership_id = NULLIF(current_setting('app.current_dealership_id',
                                                  true), '')::uuid)
    WITH CHECK (dealership_id = NULLIF(current_setting(
                    'app.current_dealership_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON public.sms_optouts TO norvalt_app;
