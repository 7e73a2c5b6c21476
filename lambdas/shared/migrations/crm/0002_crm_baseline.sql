-- CRM baseline: accounts (companies), their contacts, deals in a pipeline, and activities.

CREATE TABLE accounts (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    domain text,
    industry text,
    owner_user_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE contacts (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    phone text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id)
        ON DELETE SET NULL (account_id)
);

CREATE UNIQUE INDEX contacts_email_key ON contacts (tenant_id, lower(email));
CREATE INDEX contacts_account_idx ON contacts (tenant_id, account_id);

CREATE TABLE deals (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    primary_contact_id uuid,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    stage text NOT NULL DEFAULT 'lead' CHECK (
        stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')
    ),
    amount numeric(14, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expected_close_on date,
    closed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, primary_contact_id) REFERENCES contacts (tenant_id, id)
        ON DELETE SET NULL (primary_contact_id)
);

CREATE INDEX deals_account_idx ON deals (tenant_id, account_id);
CREATE INDEX deals_contact_idx ON deals (tenant_id, primary_contact_id);
CREATE INDEX deals_stage_idx ON deals (tenant_id, stage);

CREATE TABLE activities (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    deal_id uuid,
    contact_id uuid,
    kind text NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'task', 'note')),
    subject text NOT NULL,
    due_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT activities_has_subject CHECK (deal_id IS NOT NULL OR contact_id IS NOT NULL)
);

CREATE INDEX activities_deal_idx ON activities (tenant_id, deal_id);
CREATE INDEX activities_contact_idx ON activities (tenant_id, contact_id);

CREATE VIEW deal_pipeline WITH (security_invoker = true) AS
SELECT tenant_id, stage, currency, count(*) AS deals, sum(amount) AS amount
FROM deals
GROUP BY tenant_id, stage, currency;
