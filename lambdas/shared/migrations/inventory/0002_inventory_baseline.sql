-- Inventory baseline: warehouses, products, the stock level of each product per warehouse,
-- and the movements (signed quantities) that change it.

CREATE TABLE warehouses (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    code text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,20}$'),
    name text NOT NULL,
    address text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

CREATE TABLE products (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    sku text NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    name text NOT NULL,
    unit text NOT NULL DEFAULT 'each',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sku)
);

CREATE TABLE stock_levels (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    warehouse_id uuid NOT NULL,
    product_id uuid NOT NULL,
    on_hand numeric(14, 3) NOT NULL DEFAULT 0,
    reserved numeric(14, 3) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, warehouse_id, product_id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX stock_levels_product_idx ON stock_levels (tenant_id, product_id);

CREATE TABLE stock_movements (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    warehouse_id uuid NOT NULL,
    product_id uuid NOT NULL,
    quantity numeric(14, 3) NOT NULL CHECK (quantity <> 0),
    reason text NOT NULL CHECK (
        reason IN ('receipt', 'shipment', 'adjustment', 'transfer_in', 'transfer_out')
    ),
    reference text,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

CREATE INDEX stock_movements_product_idx ON stock_movements (tenant_id, product_id, occurred_at);
CREATE INDEX stock_movements_warehouse_idx
    ON stock_movements (tenant_id, warehouse_id, occurred_at);

CREATE VIEW stock_on_hand WITH (security_invoker = true) AS
SELECT p.tenant_id, p.id AS product_id, p.sku, p.name,
       coalesce(sum(s.on_hand), 0) AS on_hand,
       coalesce(sum(s.on_hand - s.reserved), 0) AS available
FROM products AS p
LEFT JOIN stock_levels AS s ON s.tenant_id = p.tenant_id AND s.product_id = p.id
GROUP BY p.tenant_id, p.id;
