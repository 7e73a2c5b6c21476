-- Control-plane catalog: plans with their apps and monthly quotas, permissions, tenants.
-- These tables have no tenant_id column: only the control-plane role reads and writes them,
-- with the grants that the RLS rollout converges (policies/rls/profiles.py).

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE plans (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,30}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    apps text[] NOT NULL CHECK (
        cardinality(apps) > 0
        AND apps <@ ARRAY['crm', 'hr', 'accounting', 'inventory', 'affiliate']::text[]
    ),
    monthly_price_cents integer NOT NULL CHECK (monthly_price_cents >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A month's usage of `metric`, summed over every app, may not exceed `monthly_limit`.
-- A metric without a row is not limited on that plan.
CREATE TABLE plan_quotas (
    plan_code text NOT NULL REFERENCES plans (code) ON DELETE CASCADE,
    metric text NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]{0,62}$'),
    monthly_limit bigint NOT NULL CHECK (monthly_limit >= 0),
    PRIMARY KEY (plan_code, metric)
);

CREATE TABLE permissions (
    code text PRIMARY KEY CHECK (code ~ '^[a-z]+:[a-z_]+$'),
    app text CHECK (app IN ('crm', 'hr', 'accounting', 'inventory', 'affiliate')),
    description text NOT NULL
);

-- One row per tenant for its whole life: offboarding sets the status, it never deletes.
-- provisioning_steps maps each finished step to the time it finished, so a retried request
-- resumes after the last finished step; a failed attempt records the step and the reason.
CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    admin_email text NOT NULL CHECK (admin_email ~ '^[^@\s]+@[^@\s]+$'),
    plan_code text NOT NULL REFERENCES plans (code),
    status text NOT NULL DEFAULT 'provisioning' CHECK (
        status IN ('provisioning', 'active', 'failed', 'offboarding', 'offboarded')
    ),
    provisioning_steps jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(provisioning_steps) = 'object'),
    failed_step text,
    failure_reason text,
    idempotency_key text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    offboarded_at timestamptz,
    CONSTRAINT tenants_failure_is_recorded CHECK (status <> 'failed' OR failed_step IS NOT NULL),
    CONSTRAINT tenants_idempotency_has_hash CHECK (idempotency_key IS NULL OR request_hash IS NOT NULL)
);

-- Cursor pagination of GET /tenants walks (created_at, id).
CREATE INDEX tenants_created_idx ON tenants (created_at, id);
CREATE INDEX tenants_status_idx ON tenants (status);

CREATE TRIGGER tenants_touch_updated_at BEFORE UPDATE ON tenants
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
