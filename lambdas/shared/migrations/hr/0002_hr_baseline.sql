-- HR baseline: departments (a tree), employees (with managers), and leave requests.

CREATE TABLE departments (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    parent_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES departments (tenant_id, id)
        ON DELETE SET NULL (parent_id)
);

CREATE INDEX departments_parent_idx ON departments (tenant_id, parent_id);

CREATE TABLE employees (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    employee_number text NOT NULL CHECK (length(employee_number) BETWEEN 1 AND 32),
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    job_title text,
    department_id uuid,
    manager_id uuid,
    hired_on date NOT NULL,
    terminated_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, employee_number),
    FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
        ON DELETE SET NULL (department_id),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES employees (tenant_id, id)
        ON DELETE SET NULL (manager_id),
    CONSTRAINT employees_terminated_after_hired CHECK (terminated_on >= hired_on),
    CONSTRAINT employees_not_own_manager CHECK (manager_id <> id)
);

CREATE UNIQUE INDEX employees_email_key ON employees (tenant_id, lower(email));
CREATE INDEX employees_department_idx ON employees (tenant_id, department_id);
CREATE INDEX employees_manager_idx ON employees (tenant_id, manager_id);

CREATE TABLE leave_requests (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    employee_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('vacation', 'sick', 'parental', 'unpaid', 'other')),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    status text NOT NULL DEFAULT 'requested' CHECK (
        status IN ('requested', 'approved', 'rejected', 'cancelled')
    ),
    approver_id uuid,
    decided_at timestamptz,
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, employee_id) REFERENCES employees (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, approver_id) REFERENCES employees (tenant_id, id)
        ON DELETE SET NULL (approver_id),
    CONSTRAINT leave_requests_ends_after_start CHECK (ends_on >= starts_on),
    CONSTRAINT leave_requests_decision CHECK (
        (status IN ('approved', 'rejected')) = (decided_at IS NOT NULL)
    )
);

CREATE INDEX leave_requests_employee_idx ON leave_requests (tenant_id, employee_id, starts_on);
CREATE INDEX leave_requests_approver_idx ON leave_requests (tenant_id, approver_id);

CREATE VIEW current_employees WITH (security_invoker = true) AS
SELECT e.tenant_id, e.id, e.employee_number, e.first_name, e.last_name, e.email,
       e.job_title, d.name AS department
FROM employees AS e
LEFT JOIN departments AS d ON d.tenant_id = e.tenant_id AND d.id = e.department_id
WHERE e.terminated_on IS NULL OR e.terminated_on > current_date;
