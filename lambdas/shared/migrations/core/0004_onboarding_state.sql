-- What the tenant onboarding Lambda keeps on the tenant row so that every lifecycle request is
-- resumable, idempotent and single-writer (lambdas/tenant_onboarding):
--
-- onboarding_request   the validated POST body (no secret values: SSO holds a secret ARN), so a
--                      retry resumes from what was asked, and GET shows what is being built;
-- onboarding_response  the 201 body, stored when onboarding finished: a replay returns it as is;
-- offboarding_steps    like provisioning_steps, for DELETE;
-- outbox               events committed with the change that caused them and removed once
--                      EventBridge accepted them (transactional outbox);
-- lease_owner/_expires one request at a time works on a tenant; a crashed request's lease
--                      expires, so a retry can take over.

ALTER TABLE tenants
    ADD COLUMN onboarding_request jsonb
        CHECK (onboarding_request IS NULL OR jsonb_typeof(onboarding_request) = 'object'),
    ADD COLUMN onboarding_response jsonb
        CHECK (onboarding_response IS NULL OR jsonb_typeof(onboarding_response) = 'object'),
    ADD COLUMN offboarding_steps jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(offboarding_steps) = 'object'),
    ADD COLUMN outbox jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(outbox) = 'array'),
    ADD COLUMN lease_owner uuid,
    ADD COLUMN lease_expires_at timestamptz,
    ADD CONSTRAINT tenants_lease_is_whole CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL));
