DROP TABLE public.sms_optouts;
