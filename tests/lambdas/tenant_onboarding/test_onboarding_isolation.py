"""Two tenants onboarded through the API: as the runtime role, each sees only itself.

The checks of the isolation suite (tests/isolation) on the rows onboarding writes: for every
table with a tenant_id in every app database, and the tenant-owned tables of the core
database, a tenant sees its own rows and none of the other's; no tenant set means no rows;
writing for the other tenant is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from psycopg2 import errors

from lambdas.shared.databases import APP_DATABASES, CORE
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import Databases, create, new_request

pytestmark = pytest.mark.usefixtures("local_platform")

CORE_TABLES = (
    "subscriptions",
    "app_entitlements",
    "roles",
    "role_permissions",
    "user_role_assignments",
    "audit_log",
)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str


@pytest.fixture
def pair(cloud: Cloud, databases: Databases, created: list[str]) -> Iterator[Pair]:
    ids = []
    for tag in ("iso-a", "iso-b"):
        request = new_request(tag, plan="enterprise", apps=None)
        created.append(request["slug"])
        reply = create(request)
        assert reply.status == 201, reply.body
        ids.append(reply.body["tenant_id"])
    for tenant in ids:
        for app in APP_DATABASES:
            with databases.helper(app).as_tenant(tenant) as cur:
                cur.execute(
                    "INSERT INTO usage_events (tenant_id, metric) VALUES (%s, 'logins')", (tenant,)
                )
    yield Pair(*ids)


def _tenant_tables(databases: Databases, app: str, tenant: str) -> list[str]:
    with databases.helper(app).as_tenant(tenant) as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') ORDER BY 1"
        )
        return [str(row[0]) for row in cur.fetchall()]


def _visible(databases: Databases, database: str, table: str, tenant: str | None) -> dict[str, int]:
    helper = databases.helper(database)
    unit = helper.as_tenant(tenant) if tenant else helper.without_tenant()
    with unit as cur:
        cur.execute(f'SELECT tenant_id::text, count(*) FROM "{table}" GROUP BY 1')
        return {tenant_id: count for tenant_id, count in cur.fetchall()}


@pytest.mark.parametrize("app", [pytest.param(app, id=app) for app in APP_DATABASES])
def test_onboarded_tenants_are_isolated_in_every_table_of_each_app(
    databases: Databases, pair: Pair, app: str
) -> None:
    tables = _tenant_tables(databases, app, pair.a)
    assert {"tenants", "usage_events"} <= set(tables)

    for table in tables:
        for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
            seen = _visible(databases, app, table, me)
            assert other not in seen, f"{app}.{table}"
            assert set(seen) <= {me}, f"{app}.{table}"
        assert _visible(databases, app, table, None) == {}, f"{app}.{table}"
    assert _visible(databases, app, "tenants", pair.a) == {pair.a: 1}
    assert _visible(databases, app, "usage_events", pair.b) == {pair.b: 1}
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        databases.helper(app).as_tenant(pair.a) as cur,
    ):
        cur.execute("INSERT INTO usage_events (tenant_id, metric) VALUES (%s, 'forged')", (pair.b,))
    with databases.helper(app).as_tenant(pair.a) as cur:
        cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (pair.b,))
        assert cur.rowcount == 0
    assert _visible(databases, app, "tenants", pair.b) == {pair.b: 1}


def test_core_rows_of_onboarded_tenants_are_isolated(databases: Databases, pair: Pair) -> None:
    for table in CORE_TABLES:
        seen_a = _visible(databases, CORE, table, pair.a)
        seen_b = _visible(databases, CORE, table, pair.b)

        assert set(seen_a) == {pair.a}, table
        assert set(seen_b) == {pair.b}, table
        assert _visible(databases, CORE, table, None) == {}, table
