-- What each tenant owns in the core database. Every table carries tenant_id, keys and foreign
-- keys include it, an index leads with it, and rows go with the tenant (ON DELETE CASCADE).
-- Row-level security, policies and grants come from the RLS rollout, not from here.

CREATE TABLE subscriptions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    plan_code text NOT NULL REFERENCES plans (code),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    started_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    -- First day of the month in which usage went over a quota; the usage job raises its
    -- event only when it moves this value, so the event is raised once per month.
    over_quota_month date CHECK (extract(day FROM over_quota_month) = 1),
    over_quota_flagged_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT subscriptions_cancelled_at CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT subscriptions_over_quota_flag CHECK (
        (over_quota_month IS NULL) = (over_quota_flagged_at IS NULL)
    )
);

CREATE UNIQUE INDEX subscriptions_one_active ON subscriptions (tenant_id) WHERE status = 'active';

CREATE TRIGGER subscriptions_touch_updated_at BEFORE UPDATE ON subscriptions
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- A revoked app keeps its data in the app database; granting it again reuses it.
CREATE TABLE app_entitlements (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    app text NOT NULL CHECK (app IN ('crm', 'hr', 'accounting', 'inventory', 'affiliate')),
    status text NOT NULL DEFAULT 'granted' CHECK (status IN ('granted', 'revoked')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    provisioned_at timestamptz,
    PRIMARY KEY (tenant_id, app),
    CONSTRAINT app_entitlements_revoked_at CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE TABLE roles (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_:-]{0,62}$'),
    description text NOT NULL DEFAULT '',
    -- Created by onboarding (tenant admin, per-app editor and viewer).
    is_system boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role_id uuid NOT NULL,
    permission_code text NOT NULL REFERENCES permissions (code),
    PRIMARY KEY (tenant_id, role_id, permission_code),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

-- user_id is the Cognito username (the user's sub) of a user whose custom:tenant_id is tenant_id.
CREATE TABLE user_role_assignments (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    role_id uuid NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX user_role_assignments_role_idx ON user_role_assignments (tenant_id, role_id);

-- One value per tenant, day, app and metric; the usage job replaces a day's rows as a whole.
CREATE TABLE daily_usage (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    usage_date date NOT NULL,
    app text NOT NULL CHECK (app IN ('crm', 'hr', 'accounting', 'inventory', 'affiliate')),
    metric text NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]{0,62}$'),
    value bigint NOT NULL CHECK (value >= 0),
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, usage_date, app, metric)
);

CREATE INDEX daily_usage_date_idx ON daily_usage (usage_date);

-- Month-to-date usage per metric, summed over apps, as quotas count it.
CREATE VIEW monthly_usage WITH (security_invoker = true) AS
SELECT
    tenant_id,
    date_trunc('month', usage_date)::date AS month,
    metric,
    sum(value)::bigint AS value
FROM daily_usage
GROUP BY tenant_id, date_trunc('month', usage_date), metric;

CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
    correlation_id text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, occurred_at DESC);
