"""Views run with the caller's row-level security; partitions carry the same policies."""

from __future__ import annotations

import pytest
from psycopg2 import errors

from lambdas.shared.databases import Access
from tests.isolation.cases import (
    USAGE_PARTITIONS,
    app_database_cases,
    partition_cases,
    view_cases,
)
from tests.isolation.conftest import ROWS, Dataset, Pool
from tests.isolation.samples import sample

pytestmark = pytest.mark.usefixtures("local_platform")


def _tenants_seen(pool: Pool, database: str, relation: str, tenant: str | None) -> list[str]:
    helper = pool.helper(database)
    unit = helper.as_tenant(tenant) if tenant else helper.without_tenant()
    with unit as cur:
        cur.execute(f"SELECT tenant_id::text FROM {relation}")
        return [row[0] for row in cur.fetchall()]


@pytest.mark.parametrize(("database", "view"), view_cases())
def test_view_is_security_invoker(pool: Pool, database: str, view: str) -> None:
    with pool.helper(database, Access.OWNER).without_tenant() as cur:
        cur.execute(
            "SELECT option_value FROM pg_class, pg_options_to_table(reloptions) "
            "WHERE oid = %s::regclass AND option_name = 'security_invoker'",
            (view,),
        )
        assert cur.fetchone() == ("true",)


@pytest.mark.parametrize(("database", "view"), view_cases())
def test_view_shows_only_the_callers_rows(
    pool: Pool, dataset: Dataset, database: str, view: str
) -> None:
    seen_a = _tenants_seen(pool, database, view, dataset.tenant_a)
    seen_b = _tenants_seen(pool, database, view, dataset.tenant_b)

    assert seen_a and set(seen_a) == {dataset.tenant_a}
    assert seen_b and set(seen_b) == {dataset.tenant_b}
    assert _tenants_seen(pool, database, view, None) == []


def _rows_in_partition(pool: Pool, database: str, partition: str, tenant: str) -> int:
    """How many of `tenant`'s dataset usage rows the hash function puts into `partition`."""
    remainder = int(partition.rsplit("_p", 1)[1])
    with pool.helper(database).without_tenant() as cur:
        cur.execute(
            "SELECT satisfies_hash_partition('usage_events'::regclass, %s, %s, %s::uuid)",
            (USAGE_PARTITIONS, remainder, tenant),
        )
        row = cur.fetchone()
    return ROWS if row and row[0] else 0


@pytest.mark.parametrize(("database", "partition"), partition_cases())
def test_partition_read_directly_shows_only_the_callers_rows(
    pool: Pool, dataset: Dataset, database: str, partition: str
) -> None:
    for tenant in (dataset.tenant_a, dataset.tenant_b):
        seen = _tenants_seen(pool, database, partition, tenant)
        assert seen == [tenant] * _rows_in_partition(pool, database, partition, tenant)
    assert _tenants_seen(pool, database, partition, None) == []


@pytest.mark.parametrize(("database", "partition"), partition_cases())
def test_partition_rejects_rows_of_another_tenant(
    pool: Pool, dataset: Dataset, database: str, partition: str
) -> None:
    usage = sample(database, "usage_events")
    statement = usage.insert_sql().replace("INTO usage_events ", f"INTO {partition} ", 1)

    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        pool.helper(database).as_tenant(dataset.tenant_a) as cur,
    ):
        cur.execute(statement, usage.params(dataset.tenant_b, "other-partition", 1))


@pytest.mark.parametrize("database", app_database_cases())
def test_tenants_sharing_a_partition_see_only_their_own_rows(
    pool: Pool, dataset: Dataset, database: str
) -> None:
    shared = next(
        f"usage_events_p{n}"
        for n in range(USAGE_PARTITIONS)
        if _rows_in_partition(pool, database, f"usage_events_p{n}", dataset.tenant_a)
    )
    with pool.helper(database, Access.USAGE).without_tenant() as cur:
        cur.execute(
            f"SELECT count(*) FROM {shared} WHERE tenant_id IN (%s, %s)",
            (dataset.tenant_a, dataset.tenant_b),
        )
        together = cur.fetchone()

    assert together == (2 * dataset.rows,), "both tenants' rows should live in one partition"
    assert _tenants_seen(pool, database, shared, dataset.tenant_a) == [dataset.tenant_a] * ROWS
