"""Deleting a tenant's registry row as that tenant removes every row it owns in the app."""

from __future__ import annotations

import uuid

import pytest

from lambdas.shared.databases import Access
from tests.isolation.cases import app_database_cases
from tests.isolation.conftest import Dataset, Pool
from tests.isolation.samples import RowWriter, register_tenant, samples_of

pytestmark = pytest.mark.usefixtures("local_platform")


def _row_counts(pool: Pool, database: str, tenant: str) -> dict[str, int]:
    counts = {}
    with pool.helper(database, Access.OWNER).as_tenant(tenant) as cur:
        for sample in samples_of(database):
            cur.execute(f"SELECT count(*) FROM {sample.table}")
            row = cur.fetchone()
            counts[sample.table] = row[0] if row else -1
    return counts


@pytest.mark.parametrize("database", app_database_cases())
def test_deleting_the_registry_row_removes_all_rows_of_the_tenant(
    pool: Pool, dataset: Dataset, database: str
) -> None:
    leaving = str(uuid.uuid4())
    with pool.helper(database).as_tenant(leaving) as cur:
        register_tenant(cur, database, leaving)
        RowWriter(cur.execute, database, leaving, dataset.seed, 2).write_all()
    before = _row_counts(pool, database, leaving)

    with pool.helper(database).as_tenant(leaving) as cur:
        cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (leaving,))

    assert all(count > 0 for count in before.values()), before
    assert set(_row_counts(pool, database, leaving).values()) == {0}
    remaining = _row_counts(pool, database, dataset.tenant_a)
    assert all(count > 0 for count in remaining.values()), "other tenants keep their rows"
