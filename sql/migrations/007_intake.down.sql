DROP TABLE public.idempotency_keys;
