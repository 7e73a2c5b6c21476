-- Affiliate baseline: affiliates, campaigns, the referral links that tie them together, and
-- the conversions credited to a link.

CREATE TABLE affiliates (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended')),
    commission_rate numeric(5, 4) NOT NULL DEFAULT 0.1 CHECK (commission_rate BETWEEN 0 AND 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX affiliates_email_key ON affiliates (tenant_id, lower(email));

CREATE TABLE campaigns (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL,
    starts_on date NOT NULL,
    ends_on date,
    -- Overrides the affiliate's rate for conversions through this campaign's links.
    commission_rate numeric(5, 4) CHECK (commission_rate BETWEEN 0 AND 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    CONSTRAINT campaigns_ends_after_start CHECK (ends_on >= starts_on)
);

CREATE TABLE referral_links (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    affiliate_id uuid NOT NULL,
    campaign_id uuid,
    code text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{4,32}$'),
    target_url text NOT NULL CHECK (target_url ~ '^https?://'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, affiliate_id) REFERENCES affiliates (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id)
        ON DELETE SET NULL (campaign_id)
);

CREATE INDEX referral_links_affiliate_idx ON referral_links (tenant_id, affiliate_id);
CREATE INDEX referral_links_campaign_idx ON referral_links (tenant_id, campaign_id);

CREATE TABLE conversions (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    referral_link_id uuid NOT NULL,
    external_ref text NOT NULL CHECK (length(external_ref) BETWEEN 1 AND 128),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
    commission numeric(14, 2) NOT NULL CHECK (commission >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status text NOT NULL DEFAULT 'pending' CHECK (
        status IN ('pending', 'approved', 'rejected', 'paid')
    ),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, external_ref),
    FOREIGN KEY (tenant_id, referral_link_id) REFERENCES referral_links (tenant_id, id)
);

CREATE INDEX conversions_link_idx ON conversions (tenant_id, referral_link_id, occurred_at);

CREATE VIEW affiliate_earnings WITH (security_invoker = true) AS
SELECT a.tenant_id, a.id AS affiliate_id, a.name, c.currency,
       count(c.id) AS conversions,
       coalesce(sum(c.commission) FILTER (WHERE c.status IN ('approved', 'paid')), 0) AS earned
FROM affiliates AS a
JOIN referral_links AS l ON l.tenant_id = a.tenant_id AND l.affiliate_id = a.id
JOIN conversions AS c ON c.tenant_id = l.tenant_id AND c.referral_link_id = l.id
GROUP BY a.tenant_id, a.id, c.currency;
