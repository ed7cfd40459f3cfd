-- bench/generate.sql - one benchmark dealership, in one transaction.
--
-- Run by scripts/bench.sh as norvalt_owner, once per dealership:
--
--   psql -X -v ON_ERROR_STOP=1 -v n=7 -v leads=20000 -v gen=<sha> \
--        -f bench/generate.sql
--
-- It (re)creates dealership n: "Bench Motors NN", Clerk organisation
-- org_bench_NN, users user_bench_NN_manager / _rep1 / _rep2 / _rep3, 25
-- vehicles, :leads leads spread over the last year and two messages per
-- lead (the customer's inbound message and the AI's answer).
--
-- Row-level security is FORCED, so even the owner writes only the
-- dealership named in app.current_dealership_id: the context is set with
-- set_config(..., true) at the start of this transaction and every row
-- passes the policies' WITH CHECK like any other write.
--
-- Ids are fixed for the dealership and its users (so a rerun replaces
-- rather than duplicates): dealership bbbbbbbb-0000-4000-8000-0000000000NN,
-- users bbbbbbbb-00NN-4000-8000-00000000000R (R = 1 manager, 2-4 reps).
-- Leads, vehicles and messages get random ids.  Values come from random(),
-- seeded per dealership, so a rerun makes the same spread.
--
-- The marker settings.bench = {"generator": :gen, "leads": :leads} is
-- written in the same transaction as the data, so a dealership that has it
-- is complete; scripts/bench.sh skips those.
--
-- Generated history writes no audit_log rows: the audit triggers of
-- leads and conversations (per row for UPDATE and DELETE, per statement
-- for INSERT since migration 014) are disabled inside this transaction
-- only (ALTER TABLE ... DISABLE TRIGGER takes a lock that other sessions
-- wait on, and COMMIT or ROLLBACK ends it with the triggers enabled again;
-- no other session ever sees them off).

\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET TimeZone = 'UTC';

SELECT lpad(:'n', 2, '0') AS nn,
       'bbbbbbbb-0000-4000-8000-' || lpad(:'n', 12, '0') AS did,
       'bbbbbbbb-00' || lpad(:'n', 2, '0') || '-4000-8000-00000000000' AS uid
\gset

BEGIN;
SELECT set_config('app.current_dealership_id', :'did', true),
       set_config('app.actor', 'bench', true),
       setseed(:'n'::int / 1000.0) \g /dev/null

ALTER TABLE public.leads DISABLE TRIGGER leads_audit;
ALTER TABLE public.leads DISABLE TRIGGER leads_audit_insert;
ALTER TABLE public.conversations DISABLE TRIGGER conversations_audit;
ALTER TABLE public.conversations DISABLE TRIGGER conversations_audit_insert;

-- A rerun starts from nothing (only this dealership's rows are visible).
DELETE FROM public.audit_log;
DELETE FROM public.jobs;
DELETE FROM public.conversations;
DELETE FROM public.leads;
DELETE FROM public.vehicles;

INSERT INTO public.dealerships
    (id, name, clerk_org_id, subscription_plan, subscription_status, active,
     created_at, updated_at)
VALUES (:'did', 'Bench Motors ' || :'nn', 'org_bench_' || :'nn', 'pro',
        'active', true, now() - interval '400 days', now() - interval '400 days')
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
    clerk_org_id = EXCLUDED.clerk_org_id, active = true;

INSERT INTO public.users
    (id, dealership_id, clerk_user_id, email, name, role, active, created_at,
     updated_at)
SELECT (:'uid' || r)::uuid, :'did'::uuid,
       'user_bench_' || :'nn' || CASE r WHEN 1 THEN '_manager'
                                       ELSE '_rep' || (r - 1) END,
       CASE r WHEN 1 THEN 'manager' ELSE 'rep' || (r - 1) END
           || '.bench' || :'nn' || '@example.no',
       (ARRAY['Kari Nordmann', 'Ola Hansen', 'Ingrid Berg', 'Lars Dahl'])[r],
       CASE r WHEN 1 THEN 'manager' ELSE 'sales_rep' END, true,
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, 4) r
ON CONFLICT (dealership_id, id) DO UPDATE SET
    clerk_user_id = EXCLUDED.clerk_user_id, role = EXCLUDED.role,
    active = true;

INSERT INTO public.vehicles
    (dealership_id, make, model, year, vin, stock_number, price_ore,
     stock_status, metadata, created_at, updated_at)
SELECT :'did'::uuid, m.make, m.model, 2022 + v % 4,
       substr(upper(md5(:'nn' || '-' || v)), 1, 17),
       'B' || :'nn' || '-' || lpad(v::text, 3, '0'),
       (35000000 + (v * 7919) % 40000000)::bigint,
       (ARRAY['in_stock', 'in_stock', 'in_stock', 'reserved', 'sold',
              'incoming'])[1 + v % 6],
       jsonb_build_object('color', (ARRAY['white', 'black', 'grey', 'blue',
                                          'red'])[1 + v % 5]),
       now() - interval '380 days', now() - interval '380 days'
FROM generate_series(1, 25) v
CROSS JOIN LATERAL (
    SELECT (ARRAY['Tesla', 'Tesla', 'Volkswagen', 'Volkswagen', 'Skoda',
                  'Audi', 'Toyota', 'Hyundai'])[1 + v % 8] AS make,
           (ARRAY['Model 3', 'Model Y', 'ID.4', 'ID.3', 'Enyaq', 'Q4 e-tron',
                  'bZ4X', 'Ioniq 5'])[1 + v % 8] AS model) m;

-- The leads.  r_* are uniform draws; the CASEs turn them into a plausible
-- pipeline: more leads recently (a growing dealership, density rising
-- linearly towards today), office-hours timestamps, young leads mostly
-- new/contacted, older ones spread over the funnel; web forms and ADF
-- feeds dominate the sources; ~10% unassigned.
WITH veh AS (
    SELECT array_agg(id ORDER BY vin) AS ids,
           array_agg(make || ' ' || model ORDER BY vin) AS names
    FROM public.vehicles
), draw AS (
    SELECT i, random() AS r_age, random() AS r_hour, random() AS r_status,
           random() AS r_source, random() AS r_assign, random() AS r_contact,
           random() AS r_resp, random() AS r_veh, random() AS r_note,
           (random() * 2147483646)::bigint AS h
    FROM generate_series(1, :leads) i
), shaped AS (
    SELECT d.*,
           least(date_trunc('day', now())
                 - make_interval(days => floor(365 * (1 - sqrt(d.r_age)))::int)
                 + make_interval(secs => 6.5 * 3600 + d.r_hour * 15 * 3600
                                        + (d.h % 1000000) / 1000000.0),
                 now() - interval '1 minute' - make_interval(secs => d.i))
               AS created,
           (ARRAY['Ola', 'Kari', 'Per', 'Ingrid', 'Lars', 'Anne', 'Jonas',
                  'Sofie', 'Emil', 'Nora', 'Magnus', 'Ida', 'Henrik', 'Thea',
                  'Sander', 'Maja', 'Kristian', 'Emma', 'Martin', 'Sara',
                  'Andreas', 'Hanna', 'Tobias', 'Julie', 'Sindre', 'Marte',
                  'Eirik', 'Silje', 'Håkon', 'Åse', 'Jørgen', 'Solveig'])
               [1 + d.h % 32] AS fname,
           (ARRAY['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen',
                  'Pedersen', 'Nilsen', 'Kristiansen', 'Jensen', 'Karlsen',
                  'Johnsen', 'Pettersen', 'Eriksen', 'Berg', 'Haugen',
                  'Hagen', 'Johannessen', 'Andreassen', 'Jacobsen', 'Dahl',
                  'Jørgensen', 'Halvorsen', 'Henriksen', 'Lund', 'Sørensen',
                  'Moen', 'Gundersen', 'Iversen', 'Strand', 'Solberg',
                  'Svendsen', 'Eide'])[1 + (d.h / 32) % 32] AS lname,
           CASE WHEN d.r_source < 0.35 THEN 'web_form'
                WHEN d.r_source < 0.55 THEN 'adf'
                WHEN d.r_source < 0.67 THEN 'email'
                WHEN d.r_source < 0.75 THEN 'sms'
                WHEN d.r_source < 0.90 THEN 'facebook'
                WHEN d.r_source < 0.95 THEN 'phone'
                WHEN d.r_source < 0.98 THEN 'walk_in'
                ELSE 'manual' END AS source
    FROM draw d
), staged AS (
    SELECT s.*,
           CASE WHEN s.created > now() - interval '2 days' THEN
                    CASE WHEN s.r_status < 0.7 THEN 'new' ELSE 'contacted' END
                WHEN s.r_status < 0.08 THEN 'new'
                WHEN s.r_status < 0.35 THEN 'contacted'
                WHEN s.r_status < 0.55 THEN 'qualified'
                WHEN s.r_status < 0.69 THEN 'won'
                ELSE 'lost' END AS status,
           translate(lower(s.fname || '.' || s.lname), 'æøå', 'eoa')
               || '.' || s.i || '@' ||
           (ARRAY['example.com', 'example.no', 'example.org'])[1 + s.h % 3]
               AS mail,
           '+479' || lpad((s.h % 10000000)::text, 7, '0') AS tel,
           floor(exp(2.5 + 6 * s.r_resp * s.r_resp))::int AS resp
    FROM shaped s
)
INSERT INTO public.leads
    (dealership_id, first_name, last_name, email, phone, source, status,
     vehicle_id, vehicle_interest, message, notes, assigned_to, consent,
     ai_paused, first_response_at, first_response_seconds, metadata,
     created_at, updated_at)
SELECT :'did'::uuid, t.fname, t.lname,
       CASE WHEN t.r_contact < 0.9 THEN t.mail END,
       CASE WHEN t.r_contact >= 0.2 THEN t.tel END,
       t.source, t.status,
       CASE WHEN t.r_veh < 0.4 THEN veh.ids[1 + t.h % 25] END,
       CASE WHEN t.r_veh < 0.4 THEN veh.names[1 + t.h % 25]
            ELSE (ARRAY['Tesla Model Y', 'VW ID.4', 'brukt elbil under 300 000',
                        'Skoda Enyaq', 'innbytte av Golf 2016', 'Audi Q4',
                        'familiebil med hengerfeste', 'Toyota bZ4X'])
                 [1 + (t.h / 7) % 8] END,
       (ARRAY['Hei! Jeg er interessert i bilen dere har annonsert. Er den '
              'fortsatt tilgjengelig, og når kan jeg komme på prøvekjøring? '
              'Jeg har en bil jeg vil bytte inn.',
              'Hello, could you send me the price with winter tyres and '
              'the earliest delivery date? I would also like to know what '
              'financing options you offer for private customers.',
              'Hei, hva blir månedsprisen på leasing over 36 måneder med '
              '15 000 km i året? Vi er en familie på fem og trenger plass '
              'til barneseter og en stor hund.',
              'Kan dere ringe meg i morgen etter klokken 16? Jeg lurer på '
              'rekkevidde om vinteren og om dere tar innbytte.',
              'I saw this car on Finn and would like to book a test drive '
              'on Saturday. Is there a discount if I pay in full?'])
           [1 + (t.h / 11) % 5],
       CASE WHEN t.r_note < 0.3 THEN
           (ARRAY['Ringt, ber om tilbud på e-post.',
                  'Prøvekjøring avtalt lørdag kl. 11.',
                  'Innbytte: Golf 2016, 140 000 km, vurdert til 95 000.',
                  'Venter på svar om finansiering.'])[1 + (t.h / 13) % 4]
       END,
       CASE WHEN t.status = 'new' AND t.r_assign < 0.6 THEN NULL
            WHEN t.r_assign < 0.05 THEN NULL
            WHEN t.r_assign < 0.15 THEN (:'uid' || '1')::uuid
            ELSE (:'uid' || (2 + t.h % 3))::uuid END,
       jsonb_build_object('email', t.r_contact < 0.9,
                          'sms', t.r_contact >= 0.2,
                          'marketing', t.r_note < 0.5),
       t.status IN ('qualified', 'won', 'lost'),
       CASE WHEN t.r_resp < 0.97 THEN t.created + make_interval(secs => t.resp) END,
       CASE WHEN t.r_resp < 0.97 THEN t.resp END,
       CASE t.source
           WHEN 'web_form' THEN jsonb_build_object(
               'utm_source', (ARRAY['google', 'finn', 'newsletter'])[1 + t.h % 3],
               'utm_medium', 'cpc', 'utm_campaign', 'spring-ev',
               'form', 'contact')
           WHEN 'facebook' THEN jsonb_build_object(
               'fb_form_id', '1234567890', 'fb_page_id', '98765' || :'nn',
               'utm_source', 'facebook')
           WHEN 'adf' THEN jsonb_build_object(
               'adf_provider', (ARRAY['finn.no', 'bilbasen', 'autoscout'])[1 + t.h % 3])
           ELSE '{}'::jsonb END,
       t.created,
       least(now(), t.created + make_interval(secs => t.resp + (t.h % 86400)))
FROM staged t, veh;

-- Two messages per lead: the customer's first message and the AI's answer.
INSERT INTO public.conversations
    (dealership_id, lead_id, direction, channel, sender, body, status,
     created_at, updated_at)
SELECT l.dealership_id, l.id, 'inbound',
       CASE l.source WHEN 'web_form' THEN 'web' WHEN 'adf' THEN 'email'
                     WHEN 'email' THEN 'email' WHEN 'sms' THEN 'sms'
                     WHEN 'facebook' THEN 'facebook' ELSE 'note' END,
       'customer', l.message, 'delivered', l.created_at, l.created_at
FROM public.leads l
UNION ALL
SELECT l.dealership_id, l.id, 'outbound',
       CASE WHEN l.source IN ('sms', 'phone', 'walk_in') AND l.phone IS NOT NULL
                THEN 'sms'
            WHEN l.source = 'facebook' THEN 'facebook'
            WHEN l.email IS NOT NULL THEN 'email'
            ELSE 'sms' END,
       'ai',
       'Hei ' || coalesce(l.first_name, '') || '! Takk for henvendelsen om '
           || coalesce(l.vehicle_interest, 'bil') || '. En av våre selgere '
           || 'tar kontakt i løpet av dagen. Vil du avtale en prøvekjøring, '
           || 'svar gjerne med et tidspunkt som passer.',
       'delivered',
       coalesce(l.first_response_at, l.created_at + interval '30 seconds'),
       coalesce(l.first_response_at, l.created_at + interval '30 seconds')
FROM public.leads l;

ALTER TABLE public.leads ENABLE TRIGGER leads_audit;
ALTER TABLE public.leads ENABLE TRIGGER leads_audit_insert;
ALTER TABLE public.conversations ENABLE TRIGGER conversations_audit;
ALTER TABLE public.conversations ENABLE TRIGGER conversations_audit_insert;

-- Last: the marker that says this dealership is complete.
UPDATE public.dealerships
   SET settings = settings || jsonb_build_object('bench',
           jsonb_build_object('generator', :'gen', 'leads', :'leads'::int))
 WHERE id = :'did';

COMMIT;
