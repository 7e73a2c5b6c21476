-- The plans a tenant can choose, their quotas, and the permission catalog that tenant roles
-- are made of. Quota metrics are the usage job's: ALB requests and bytes, and app events.

INSERT INTO plans (code, name, apps, monthly_price_cents) VALUES
    ('starter', 'Starter', ARRAY['crm', 'hr'], 4900),
    ('growth', 'Growth', ARRAY['crm', 'hr', 'accounting', 'inventory'], 19900),
    ('enterprise', 'Enterprise', ARRAY['crm', 'hr', 'accounting', 'inventory', 'affiliate'], 99900);

INSERT INTO plan_quotas (plan_code, metric, monthly_limit) VALUES
    ('starter', 'requests', 100000),
    ('starter', 'bytes_out', 5368709120),
    ('growth', 'requests', 1000000),
    ('growth', 'bytes_out', 53687091200),
    ('enterprise', 'requests', 20000000);

INSERT INTO permissions (code, app, description)
SELECT app || ':' || access, app, initcap(access) || ' access to ' || app
FROM unnest(ARRAY['crm', 'hr', 'accounting', 'inventory', 'affiliate']) AS app
CROSS JOIN unnest(ARRAY['read', 'write']) AS access;

INSERT INTO permissions (code, app, description) VALUES
    ('tenant:admin', NULL, 'Manage the tenant: users, roles, apps and plan');
