-- 005_sales_rep_scope: "sales reps see only their own and unassigned leads"
-- as a dealership setting (settings.sales_rep_scope = 'assigned'), enforced
-- by the database rather than by each query.
--
-- A RESTRICTIVE policy is ANDed with tenant_isolation.  It only bites when
-- the request set app.scope_user_id (nv_auth_context() of 004 does, for a
-- sales_rep of a dealership with that setting, in the same round trip); then a lead is visible, and writable, only
-- when it is unassigned or assigned to that user.  Messages and jobs follow
-- through their lead: the API reaches them by lead id.

CREATE POLICY sales_rep_scope ON public.leads AS RESTRICTIVE
    FOR ALL TO PUBLIC
    USING (NULLIF(current_setting('app.scope_user_id', true), '') IS NULL
           OR assigned_to IS NULL
           OR assigned_to = NULLIF(current_setting('app.scope_user_id', true),
                                   '')::uuid)
    WITH CHECK (NULLIF(current_setting('app.scope_user_id', true), '') IS NULL
           OR assigned_to IS NULL
           OR assigned_to = NULLIF(current_setting('app.scope_user_id', true),
                                   '')::uuid);
