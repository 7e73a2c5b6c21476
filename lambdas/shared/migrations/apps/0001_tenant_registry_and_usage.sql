-- Applied to each of the five app databases before their own migrations (same version
-- sequence). Every tenant-owned row of an app references its tenant's registry row with
-- ON DELETE CASCADE, so deleting the registry row as that tenant removes all of its rows.

-- The slug is informational and deliberately not unique here: a unique slug would let one
-- tenant learn, from a unique violation, that another tenant exists. The core database owns
-- slug uniqueness.
CREATE TABLE tenants (
    tenant_id uuid PRIMARY KEY,
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- Metered events the app records for billing (e.g. `records_created`, `exports`). Hash
-- partitions by tenant spread the largest table without a partition-maintenance job; the
-- usage reader aggregates a day across tenants through usage_events_day_idx.
CREATE TABLE usage_events (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    metric text NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]{0,62}$'),
    quantity bigint NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    PRIMARY KEY (tenant_id, id)
) PARTITION BY HASH (tenant_id);

CREATE TABLE usage_events_p0 PARTITION OF usage_events FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE usage_events_p1 PARTITION OF usage_events FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE usage_events_p2 PARTITION OF usage_events FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE usage_events_p3 PARTITION OF usage_events FOR VALUES WITH (MODULUS 4, REMAINDER 3);

CREATE INDEX usage_events_tenant_time_idx ON usage_events (tenant_id, occurred_at);
CREATE INDEX usage_events_day_idx ON usage_events (occurred_at) INCLUDE (tenant_id, metric, quantity);
