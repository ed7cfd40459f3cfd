DROP POLICY sales_rep_scope ON public.leads;
