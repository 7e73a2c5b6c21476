-- Accounting baseline: a chart of ledger accounts, invoices with lines, and journal entries
-- (one row per debit or credit; the rows of one balanced posting share entry_group).

CREATE TABLE ledger_accounts (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    code text NOT NULL CHECK (code ~ '^[0-9A-Za-z.-]{1,20}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

CREATE TABLE invoices (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
    customer_name text NOT NULL,
    customer_email text,
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    issued_on date NOT NULL,
    due_on date NOT NULL,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'issued', 'paid', 'void')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    CONSTRAINT invoices_due_after_issue CHECK (due_on >= issued_on)
);

CREATE INDEX invoices_status_idx ON invoices (tenant_id, status, due_on);

CREATE TABLE invoice_lines (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    invoice_id uuid NOT NULL,
    line_no integer NOT NULL CHECK (line_no > 0),
    description text NOT NULL,
    quantity numeric(12, 3) NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    revenue_account_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, invoice_id, line_no),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, revenue_account_id) REFERENCES ledger_accounts (tenant_id, id)
);

CREATE INDEX invoice_lines_account_idx ON invoice_lines (tenant_id, revenue_account_id);

CREATE TABLE journal_entries (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    entry_group uuid NOT NULL,
    posted_on date NOT NULL,
    ledger_account_id uuid NOT NULL,
    invoice_id uuid,
    debit numeric(14, 2) NOT NULL DEFAULT 0,
    credit numeric(14, 2) NOT NULL DEFAULT 0,
    memo text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ledger_account_id) REFERENCES ledger_accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
        ON DELETE SET NULL (invoice_id),
    CONSTRAINT journal_entries_one_side CHECK (
        debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)
    )
);

CREATE INDEX journal_entries_account_idx
    ON journal_entries (tenant_id, ledger_account_id, posted_on);
CREATE INDEX journal_entries_group_idx ON journal_entries (tenant_id, entry_group);
CREATE INDEX journal_entries_invoice_idx ON journal_entries (tenant_id, invoice_id);

CREATE VIEW invoice_totals WITH (security_invoker = true) AS
SELECT i.tenant_id, i.id AS invoice_id, i.number, i.currency, i.status,
       coalesce(sum(l.quantity * l.unit_price), 0)::numeric(16, 2) AS total
FROM invoices AS i
LEFT JOIN invoice_lines AS l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id
GROUP BY i.tenant_id, i.id;
