"""Coverage: every tenant table is protected and has isolation cases; new ones are caught."""

from __future__ import annotations

import uuid

import pytest

from lambdas.shared.databases import Access
from tests.isolation.cases import VIEWS, database_cases, expected_tenant_tables
from tests.isolation.conftest import Pool
from tests.isolation.coverage import rollout, scratch_schema, uncovered_tables

pytestmark = pytest.mark.usefixtures("local_platform")

_TENANT_TABLES = """
SELECT c.relname FROM pg_class AS c
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""
_VIEWS = (
    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'v'"
)


def _names(pool: Pool, database: str, query: str) -> set[str]:
    with pool.helper(database, Access.OWNER).without_tenant() as cur:
        cur.execute(query)
        return {row[0] for row in cur.fetchall()}


@pytest.mark.parametrize("database", database_cases())
def test_every_tenant_table_has_isolation_cases(pool: Pool, database: str) -> None:
    actual = _names(pool, database, _TENANT_TABLES)
    expected = expected_tenant_tables(database)

    assert sorted(actual - expected) == [], "add a Sample to tests/isolation/samples.py"
    assert sorted(expected - actual) == [], "the suite has cases for tables that do not exist"


@pytest.mark.parametrize("database", database_cases())
def test_every_view_has_isolation_cases(pool: Pool, database: str) -> None:
    assert _names(pool, database, _VIEWS) == {VIEWS[database]}


@pytest.mark.parametrize("database", database_cases())
def test_every_tenant_table_is_covered(pool: Pool, database: str) -> None:
    conn = pool.raw(database, Access.OWNER, autocommit=False)

    assert uncovered_tables(conn, database, schema="public") == []


def test_new_tenant_table_is_reported_until_the_rollout_covers_it(
    pool: Pool, platform_env: dict[str, str]
) -> None:
    conn = pool.raw("crm", Access.OWNER, autocommit=False)
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    with scratch_schema(platform_env) as scratch:
        before = uncovered_tables(conn, "crm", scratch.schema)
        rollout(platform_env, ["crm"])
        after = uncovered_tables(conn, "crm", scratch.schema)

        for owner_of_row in (tenant, other):
            with pool.helper("crm").as_tenant(owner_of_row) as cur:
                cur.execute(
                    "INSERT INTO tenants (tenant_id, slug) VALUES (%s, 'iso-scratch')",
                    (owner_of_row,),
                )
                cur.execute(f"INSERT INTO {scratch.table} (tenant_id) VALUES (%s)", (owner_of_row,))
        with pool.helper("crm").as_tenant(tenant) as cur:
            cur.execute(f"SELECT tenant_id::text FROM {scratch.table}")
            seen = cur.fetchall()
        for owner_of_row in (tenant, other):
            with pool.helper("crm").as_tenant(owner_of_row) as cur:
                cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (owner_of_row,))

    assert before == [scratch.table]
    assert after == []
    assert seen == [(tenant,)]
