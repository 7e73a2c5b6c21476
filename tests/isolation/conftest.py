"""Fixtures of the isolation suite: connections per role and two tenants with rows everywhere.

Tenants A and B get 3 rows in every tenant table of every database, written through the
runtime path (the data-access helper as the runtime role) with the same seed, so their keys
are identical. B is chosen to land in A's `usage_events` partition. Both are removed at the
end by deleting their registry rows as themselves; the cascade takes every other row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg2
import pytest

from lambdas.shared.databases import APP_DATABASES, CORE, DATABASES, Access, dsn_variable
from lambdas.shared.db import Connection, Database
from tests.isolation.cases import USAGE_PARTITIONS
from tests.isolation.samples import RowWriter, register_tenant

ROWS = 3


@dataclass
class Pool:
    """Helpers (`Database`) and raw connections per database and access, closed at the end."""

    env: dict[str, str]
    helpers: dict[tuple[str, Access], Database] = field(default_factory=dict)
    raws: list[Connection] = field(default_factory=list)

    def helper(self, database: str, access: Access = Access.APP) -> Database:
        key = (database, access)
        if key not in self.helpers:
            self.helpers[key] = Database(database, access, environ=self.env)
        return self.helpers[key]

    def raw(
        self, database: str, access: Access = Access.APP, autocommit: bool = True
    ) -> Connection:
        """A fresh connection that no unit of work has touched."""
        conn = psycopg2.connect(self.env[dsn_variable(database, access)])
        conn.autocommit = autocommit
        self.raws.append(conn)
        return conn

    def close(self) -> None:
        for helper in self.helpers.values():
            helper.close()
        for conn in self.raws:
            conn.close()


@dataclass(frozen=True)
class Dataset:
    tenant_a: str
    tenant_b: str
    seed: str
    rows: int


@pytest.fixture(scope="session")
def pool(platform_env: dict[str, str]) -> Iterator[Pool]:
    created = Pool(platform_env)
    yield created
    created.close()


def _partition_of(pool: Pool, tenant: str) -> int:
    with pool.helper("crm").without_tenant() as cur:
        cur.execute(
            "SELECT r FROM generate_series(0, %s - 1) AS r "
            "WHERE satisfies_hash_partition('usage_events'::regclass, %s, r, %s::uuid)",
            (USAGE_PARTITIONS, USAGE_PARTITIONS, tenant),
        )
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def pick_tenants(pool: Pool) -> tuple[str, str]:
    """Two fresh tenants whose usage_events rows share one hash partition."""
    tenant_a = str(uuid.uuid4())
    wanted = _partition_of(pool, tenant_a)
    while True:
        tenant_b = str(uuid.uuid4())
        if _partition_of(pool, tenant_b) == wanted:
            return tenant_a, tenant_b


def create_tenant(pool: Pool, tenant: str, seed: str, rows: int) -> None:
    """Register `tenant` and write `rows` sample rows in every table, as the runtime role."""
    with pool.helper(CORE).as_control_plane() as cur:
        register_tenant(cur, CORE, tenant)
    for database in DATABASES:
        if database != CORE:
            with pool.helper(database).as_tenant(tenant) as cur:
                register_tenant(cur, database, tenant)
        with pool.helper(database).as_tenant(tenant) as cur:
            RowWriter(cur.execute, database, tenant, seed, rows).write_all()


def remove_tenant(pool: Pool, tenant: str) -> None:
    """Offboard as the platform does: the registry row goes, the cascade takes the rest."""
    for database in APP_DATABASES:
        with pool.helper(database).as_tenant(tenant) as cur:
            cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant,))
    # The control plane never deletes tenants (offboarding keeps the row); tests clean up as
    # the owner, which the core registry (no tenant_id, no row-level security) allows.
    with pool.helper(CORE, Access.OWNER).without_tenant() as cur:
        cur.execute("DELETE FROM tenants WHERE id = %s", (tenant,))


@pytest.fixture(scope="session")
def dataset(pool: Pool) -> Iterator[Dataset]:
    tenant_a, tenant_b = pick_tenants(pool)
    seed = f"isolation-{uuid.uuid4().hex[:8]}"
    try:
        for tenant in (tenant_a, tenant_b):
            create_tenant(pool, tenant, seed, ROWS)
        yield Dataset(tenant_a, tenant_b, seed, ROWS)
    finally:
        for tenant in (tenant_a, tenant_b):
            remove_tenant(pool, tenant)
