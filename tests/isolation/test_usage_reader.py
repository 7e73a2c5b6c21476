"""The usage reader reads `usage_events` of every tenant through its own policy, nothing else."""

from __future__ import annotations

import pytest
from psycopg2 import errors

from lambdas.shared.databases import Access
from tests.isolation.cases import VIEWS, app_database_cases, partition_names
from tests.isolation.conftest import Dataset, Pool
from tests.isolation.samples import samples_of

pytestmark = pytest.mark.usefixtures("local_platform")


def _counts(pool: Pool, database: str, relation: str, dataset: Dataset) -> dict[str, int]:
    with pool.helper(database, Access.USAGE).without_tenant() as cur:
        cur.execute(
            f"SELECT tenant_id::text, count(*) FROM {relation} "
            "WHERE tenant_id IN (%s, %s) GROUP BY 1",
            (dataset.tenant_a, dataset.tenant_b),
        )
        return dict(cur.fetchall())


@pytest.mark.parametrize("database", app_database_cases())
def test_usage_reader_reads_every_tenants_usage(
    pool: Pool, dataset: Dataset, database: str
) -> None:
    expected = {dataset.tenant_a: dataset.rows, dataset.tenant_b: dataset.rows}

    assert _counts(pool, database, "usage_events", dataset) == expected


@pytest.mark.parametrize("database", app_database_cases())
def test_usage_reader_reads_partitions_too(pool: Pool, dataset: Dataset, database: str) -> None:
    total: dict[str, int] = {}
    for partition in partition_names(database):
        for tenant, count in _counts(pool, database, partition, dataset).items():
            total[tenant] = total.get(tenant, 0) + count

    assert total == {dataset.tenant_a: dataset.rows, dataset.tenant_b: dataset.rows}


@pytest.mark.parametrize("database", app_database_cases())
def test_usage_reader_reads_nothing_else(pool: Pool, database: str) -> None:
    others = [s.table for s in samples_of(database) if s.table != "usage_events"]
    others += [VIEWS[database], "schema_migrations"]
    readable = []
    for relation in others:
        try:
            with pool.helper(database, Access.USAGE).without_tenant() as cur:
                cur.execute(f"SELECT 1 FROM {relation} LIMIT 1")
            readable.append(relation)
        except errors.InsufficientPrivilege:
            pass

    assert readable == []


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO usage_events (tenant_id, metric) VALUES (%s, 'x')", id="insert"),
        pytest.param("UPDATE usage_events SET quantity = 0 WHERE tenant_id = %s", id="update"),
        pytest.param("DELETE FROM usage_events WHERE tenant_id = %s", id="delete"),
        pytest.param("TRUNCATE usage_events", id="truncate"),
    ],
)
@pytest.mark.parametrize("database", app_database_cases())
def test_usage_reader_cannot_write(
    pool: Pool, dataset: Dataset, database: str, statement: str
) -> None:
    with (
        pytest.raises(errors.InsufficientPrivilege),
        pool.helper(database, Access.USAGE).without_tenant() as cur,
    ):
        cur.execute(statement, (dataset.tenant_a,) if "%s" in statement else None)
