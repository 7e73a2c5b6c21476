"""Per tenant table, as the runtime role: a tenant reads and writes its own rows and no others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg2 import errors

from lambdas.rls_rollout.rollout import profile_for
from lambdas.shared.databases import Access
from lambdas.shared.db import Cursor
from tests.isolation.cases import table_cases
from tests.isolation.conftest import Dataset, Pool
from tests.isolation.samples import Sample, expected_rows

pytestmark = pytest.mark.usefixtures("local_platform")

RLS_VIOLATION = "row-level security"
NOT_GRANTED = "permission denied"


def runtime_may(sample: Sample, privilege: str) -> bool:
    """Whether the canonical grants let the runtime role run `privilege` on the table."""
    profile = profile_for(sample.database)
    return privilege in profile.table_grants(sample.table)[profile.runtime]


def visible(pool: Pool, sample: Sample, tenant: str, access: Access = Access.APP) -> dict[str, int]:
    """Row counts per tenant_id that `tenant` can see in the table."""
    with pool.helper(sample.database, access).as_tenant(tenant) as cur:
        cur.execute(f"SELECT tenant_id::text, count(*) FROM {sample.table} GROUP BY 1")
        return {tenant_id: count for tenant_id, count in cur.fetchall()}


@pytest.mark.parametrize("sample", table_cases())
def test_tenant_sees_only_its_rows(pool: Pool, dataset: Dataset, sample: Sample) -> None:
    rows = expected_rows(sample, dataset.rows)

    assert visible(pool, sample, dataset.tenant_a) == {dataset.tenant_a: rows}
    assert visible(pool, sample, dataset.tenant_b) == {dataset.tenant_b: rows}


def _set_empty(cur: Cursor, tenant: str) -> None:
    cur.execute("SET app.tenant_id = ''")


def _set_then_reset(cur: Cursor, tenant: str) -> None:
    cur.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
    cur.execute("RESET app.tenant_id")


def _never_set(cur: Cursor, tenant: str) -> None:
    cur.execute("SELECT current_setting('app.tenant_id', true)")
    row = cur.fetchone()
    assert row is not None and row[0] is None


@pytest.mark.parametrize(
    "context",
    [
        pytest.param(_never_set, id="never-set"),
        pytest.param(_set_empty, id="empty"),
        pytest.param(_set_then_reset, id="reset"),
    ],
)
@pytest.mark.parametrize("sample", table_cases())
def test_without_tenant_no_rows_and_no_error(
    pool: Pool, dataset: Dataset, sample: Sample, context: Callable[[Cursor, str], None]
) -> None:
    conn = pool.raw(sample.database)
    with conn.cursor() as cur:
        context(cur, dataset.tenant_a)
        cur.execute(f"SELECT count(*) FROM {sample.table}")
        row = cur.fetchone()

    assert row == (0,)


@pytest.mark.parametrize("sample", table_cases())
def test_insert_for_another_tenant_is_rejected(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    with (
        pytest.raises(errors.InsufficientPrivilege, match=RLS_VIOLATION),
        pool.helper(sample.database).as_tenant(dataset.tenant_a) as cur,
    ):
        cur.execute(sample.insert_sql(), sample.params(dataset.tenant_b, dataset.seed, 1))


@pytest.mark.parametrize("sample", table_cases())
def test_moving_a_row_to_another_tenant_is_rejected(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    reason = RLS_VIOLATION if runtime_may(sample, "UPDATE") else NOT_GRANTED
    with (
        pytest.raises(errors.InsufficientPrivilege, match=reason),
        pool.helper(sample.database).as_tenant(dataset.tenant_a) as cur,
    ):
        cur.execute(f"UPDATE {sample.table} SET tenant_id = %s", (dataset.tenant_b,))


@pytest.mark.parametrize("sample", table_cases())
def test_other_tenants_rows_cannot_be_updated_or_deleted(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    if not (runtime_may(sample, "UPDATE") and runtime_may(sample, "DELETE")):
        with (
            pytest.raises(errors.InsufficientPrivilege, match=NOT_GRANTED),
            pool.helper(sample.database).as_tenant(dataset.tenant_a) as cur,
        ):
            cur.execute(f"DELETE FROM {sample.table} WHERE tenant_id = %s", (dataset.tenant_b,))
        return
    with pool.helper(sample.database).as_tenant(dataset.tenant_a) as cur:
        cur.execute(
            f"UPDATE {sample.table} SET tenant_id = tenant_id WHERE tenant_id = %s",
            (dataset.tenant_b,),
        )
        updated = cur.rowcount
        cur.execute(f"DELETE FROM {sample.table} WHERE tenant_id = %s", (dataset.tenant_b,))
        deleted = cur.rowcount

    assert (updated, deleted) == (0, 0)
    rows = expected_rows(sample, dataset.rows)
    assert visible(pool, sample, dataset.tenant_b) == {dataset.tenant_b: rows}


@pytest.mark.parametrize("sample", table_cases())
def test_table_owner_is_bound_too(pool: Pool, dataset: Dataset, sample: Sample) -> None:
    with pool.helper(sample.database, Access.OWNER).without_tenant() as cur:
        cur.execute(f"SELECT count(*) FROM {sample.table}")
        without_tenant = cur.fetchone()

    assert without_tenant == (0,)
    rows = expected_rows(sample, dataset.rows)
    assert visible(pool, sample, dataset.tenant_a, Access.OWNER) == {dataset.tenant_a: rows}


@pytest.mark.parametrize("sample", table_cases())
def test_session_setting_does_not_leak_into_the_next_unit_of_work(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    helper = pool.helper(sample.database)
    with helper.as_tenant(dataset.tenant_a) as cur:
        cur.execute("SELECT set_config('app.tenant_id', %s, false)", (dataset.tenant_b,))
        cur.execute("PREPARE left_behind AS SELECT 1")
        cur.execute("SELECT pg_backend_pid()")
        first = cur.fetchone()

    with helper.without_tenant() as cur:
        cur.execute("SELECT pg_backend_pid()")
        second = cur.fetchone()
        cur.execute(f"SELECT count(*) FROM {sample.table}")
        rows = cur.fetchone()
        cur.execute("SELECT current_setting('app.tenant_id', true)")
        setting = cur.fetchone()
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'left_behind'")
        prepared = cur.fetchone()

    assert first == second, "the helper should reuse its connection"
    assert rows == (0,)
    assert setting == ("",)
    assert prepared == (0,), "session state of the previous unit of work survived"
