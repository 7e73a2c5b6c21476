"""Sample rows for every tenant table, as `INSERT ... SELECT ... FROM generate_series` templates.

Row `g` of a table written with seed `s` gets the id `md5(s:g)`, and a child row `g` refers
to row `g` of each parent written with the same base seed, so one template writes 3 rows for
a test or, in ranges of `g`, 1,000 per tenant for the index check. Keys depend on the seed,
not on the tenant: two tenants written with one seed hold identical keys, which is what
proves that keys never collide (or reveal anything) across tenants.

A tenant table added by a migration needs a sample here; `test_coverage` says so by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from lambdas.shared.databases import APP_DATABASES, CORE
from lambdas.shared.db import Cursor

ID = "md5(%(seed)s || ':' || g)::uuid"
TEXT = "left(md5(%(seed)s || ':text:' || g), 12)"
EMAIL = f"{TEXT} || '@example.com'"
OLD_TIME = "timestamptz '2001-01-01 00:00:00+00' + g * interval '1 second'"
REGISTRY = "tenants"


def ref(parent: str) -> str:
    """Row g of `parent` written with the same base seed."""
    return f"md5(%(seed_{parent})s || ':' || g)::uuid"


@dataclass(frozen=True)
class Sample:
    database: str
    table: str
    columns: Mapping[str, str]
    parents: tuple[str, ...] = ()
    # Most rows one tenant can have (a key that is not a free-form id bounds it).
    max_rows: int | None = None
    key_columns: tuple[str, ...] = ("id",)
    # The app's tenant registry: written by register_tenant(), one row per tenant.
    registry: bool = False

    @property
    def case_id(self) -> str:
        return f"{self.database}.{self.table}"

    def insert_sql(self) -> str:
        names = ", ".join(("tenant_id", *self.columns))
        values = ", ".join(("%(tenant)s::uuid", *self.columns.values()))
        return (
            f"INSERT INTO {self.table} ({names}) SELECT {values} "
            "FROM generate_series(%(first)s, %(last)s) AS g"
        )

    def params(self, tenant: str, seed: str, rows: int, first: int = 1) -> dict[str, object]:
        """Rows `first` .. `first + rows - 1` of the seed (row numbers key the rows)."""
        values: dict[str, object] = {
            "tenant": tenant,
            "seed": f"{seed}:{self.table}",
            "first": first,
            "last": first + rows - 1,
        }
        values.update({f"seed_{parent}": f"{seed}:{parent}" for parent in self.parents})
        return values


def _samples() -> Iterator[Sample]:
    yield from (
        Sample("crm", "accounts", {"id": ID, "name": TEXT, "domain": "'example.com'"}),
        Sample(
            "crm",
            "contacts",
            {
                "id": ID,
                "account_id": ref("accounts"),
                "first_name": "'Ada'",
                "last_name": TEXT,
                "email": EMAIL,
            },
            parents=("accounts",),
        ),
        Sample(
            "crm",
            "deals",
            {
                "id": ID,
                "account_id": ref("accounts"),
                "primary_contact_id": ref("contacts"),
                "name": TEXT,
                "amount": "g",
                "currency": "'EUR'",
            },
            parents=("accounts", "contacts"),
        ),
        Sample(
            "crm",
            "activities",
            {
                "id": ID,
                "deal_id": ref("deals"),
                "contact_id": ref("contacts"),
                "kind": "'call'",
                "subject": TEXT,
            },
            parents=("deals", "contacts"),
        ),
        Sample("hr", "departments", {"id": ID, "name": TEXT}),
        Sample(
            "hr",
            "employees",
            {
                "id": ID,
                "employee_number": TEXT,
                "first_name": "'Grace'",
                "last_name": TEXT,
                "email": EMAIL,
                "department_id": ref("departments"),
                "hired_on": "date '2020-01-01'",
            },
            parents=("departments",),
        ),
        Sample(
            "hr",
            "leave_requests",
            {
                "id": ID,
                "employee_id": ref("employees"),
                "kind": "'vacation'",
                "starts_on": "date '2021-06-01'",
                "ends_on": "date '2021-06-10'",
            },
            parents=("employees",),
        ),
        Sample(
            "accounting",
            "ledger_accounts",
            {"id": ID, "code": TEXT, "name": TEXT, "kind": "'revenue'"},
        ),
        Sample(
            "accounting",
            "invoices",
            {
                "id": ID,
                "number": TEXT,
                "customer_name": "'Customer'",
                "currency": "'EUR'",
                "issued_on": "date '2021-01-01'",
                "due_on": "date '2021-01-31'",
            },
        ),
        Sample(
            "accounting",
            "invoice_lines",
            {
                "id": ID,
                "invoice_id": ref("invoices"),
                "line_no": "1",
                "description": TEXT,
                "quantity": "2",
                "unit_price": "10",
                "revenue_account_id": ref("ledger_accounts"),
            },
            parents=("invoices", "ledger_accounts"),
        ),
        Sample(
            "accounting",
            "journal_entries",
            {
                "id": ID,
                "entry_group": ref("invoices"),
                "posted_on": "date '2021-01-01'",
                "ledger_account_id": ref("ledger_accounts"),
                "invoice_id": ref("invoices"),
                "debit": "20",
            },
            parents=("ledger_accounts", "invoices"),
        ),
        Sample("inventory", "warehouses", {"id": ID, "code": TEXT, "name": TEXT}),
        Sample("inventory", "products", {"id": ID, "sku": TEXT, "name": TEXT}),
        Sample(
            "inventory",
            "stock_levels",
            {"warehouse_id": ref("warehouses"), "product_id": ref("products"), "on_hand": "5"},
            parents=("warehouses", "products"),
            key_columns=("warehouse_id", "product_id"),
        ),
        Sample(
            "inventory",
            "stock_movements",
            {
                "id": ID,
                "warehouse_id": ref("warehouses"),
                "product_id": ref("products"),
                "quantity": "5",
                "reason": "'receipt'",
            },
            parents=("warehouses", "products"),
        ),
        Sample("affiliate", "affiliates", {"id": ID, "name": TEXT, "email": EMAIL}),
        Sample(
            "affiliate",
            "campaigns",
            {"id": ID, "name": TEXT, "starts_on": "date '2021-01-01'"},
        ),
        Sample(
            "affiliate",
            "referral_links",
            {
                "id": ID,
                "affiliate_id": ref("affiliates"),
                "campaign_id": ref("campaigns"),
                "code": TEXT,
                "target_url": "'https://example.com/'",
            },
            parents=("affiliates", "campaigns"),
        ),
        Sample(
            "affiliate",
            "conversions",
            {
                "id": ID,
                "referral_link_id": ref("referral_links"),
                "external_ref": TEXT,
                "amount": "100",
                "commission": "10",
                "currency": "'EUR'",
                "status": "'approved'",
            },
            parents=("referral_links",),
        ),
    )
    for app in APP_DATABASES:
        yield Sample(
            app, REGISTRY, {"slug": "'iso-probe'"}, max_rows=1, key_columns=(), registry=True
        )
        yield Sample(
            app,
            "usage_events",
            {"id": ID, "occurred_at": OLD_TIME, "metric": "'records_created'", "quantity": "g"},
        )
    yield from _core_samples()


def _core_samples() -> Iterator[Sample]:
    yield from (
        Sample(
            CORE,
            "subscriptions",
            {
                "id": ID,
                "plan_code": "'starter'",
                "status": "CASE WHEN g = 1 THEN 'active' ELSE 'cancelled' END",
                "cancelled_at": "CASE WHEN g = 1 THEN NULL ELSE now() END",
            },
        ),
        Sample(
            CORE,
            "app_entitlements",
            {"app": "(ARRAY['crm', 'hr', 'accounting', 'inventory', 'affiliate'])[g]"},
            max_rows=5,
            key_columns=("app",),
        ),
        Sample(CORE, "roles", {"id": ID, "name": f"'role_' || {TEXT}"}),
        Sample(
            CORE,
            "role_permissions",
            {"role_id": ref("roles"), "permission_code": "'crm:read'"},
            parents=("roles",),
            key_columns=("role_id", "permission_code"),
        ),
        Sample(
            CORE,
            "user_role_assignments",
            {"user_id": f"'user-' || {TEXT}", "role_id": ref("roles")},
            parents=("roles",),
            key_columns=("user_id", "role_id"),
        ),
        Sample(
            CORE,
            "daily_usage",
            {
                "usage_date": "date '2001-01-01' + g",
                "app": "'crm'",
                "metric": "'requests'",
                "value": "g",
            },
            key_columns=("usage_date", "app", "metric"),
        ),
        Sample(
            CORE,
            "audit_log",
            {"id": ID, "actor": "'isolation-suite'", "action": "'tenant.tested'"},
        ),
    )


SAMPLES: dict[str, Sample] = {sample.case_id: sample for sample in _samples()}


def sample(database: str, table: str) -> Sample:
    return SAMPLES[f"{database}.{table}"]


def samples_of(database: str) -> list[Sample]:
    return [s for s in SAMPLES.values() if s.database == database]


def expected_rows(chosen: Sample, rows: int) -> int:
    """How many rows of `chosen` a tenant written with `rows` holds."""
    return min(rows, chosen.max_rows or rows)


def register_tenant(cur: Cursor, database: str, tenant: str) -> None:
    """The tenant's registry row: `tenants(tenant_id)` in an app, `tenants(id)` in core."""
    slug = f"iso-{tenant[:8]}-{tenant[-8:]}"
    if database == CORE:
        cur.execute(
            "INSERT INTO tenants (id, slug, name, admin_email, plan_code, status) "
            "VALUES (%s, %s, 'Isolation suite', 'iso@example.com', 'enterprise', 'active')",
            (tenant, slug),
        )
    else:
        cur.execute("INSERT INTO tenants (tenant_id, slug) VALUES (%s, %s)", (tenant, slug))


Execute = Callable[[str, Mapping[str, object]], object]


@dataclass
class RowWriter:
    """Writes sample rows of one tenant and one seed, parents first, each table once.

    `execute` is a cursor's execute, or anything that takes the same statement and parameters
    (the index check collects them into one batch).
    """

    execute: Execute
    database: str
    tenant: str
    seed: str
    rows: int
    first: int = 1
    written: set[str] = field(default_factory=set)

    def write(self, table: str) -> None:
        if table in self.written:
            return
        chosen = sample(self.database, table)
        if chosen.registry:
            raise ValueError(f"{chosen.case_id}: write registry rows with register_tenant()")
        for parent in chosen.parents:
            self.write(parent)
        rows = expected_rows(chosen, self.rows)
        self.execute(chosen.insert_sql(), chosen.params(self.tenant, self.seed, rows, self.first))
        self.written.add(table)

    def write_all(self) -> None:
        for chosen in samples_of(self.database):
            if not chosen.registry:
                self.write(chosen.table)
