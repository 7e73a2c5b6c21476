"""The core database's control-plane role: cross-tenant only when it opts in, with narrow grants."""

from __future__ import annotations

import pytest
from psycopg2 import errors

from lambdas.shared.databases import ALL_TENANTS_ROLE, CONTROL_PLANE_ROLE, CORE, Access
from lambdas.shared.db import Cursor
from tests.isolation.cases import data_table_cases
from tests.isolation.conftest import Dataset, Pool
from tests.isolation.samples import Sample, expected_rows

pytestmark = pytest.mark.usefixtures("local_platform")

CORE_TABLES = [case for case in data_table_cases() if case.values[0].database == CORE]


class _UndoError(Exception):
    """Raised inside a unit of work to make the helper roll it back."""


def _counts(cur: Cursor, sample: Sample, dataset: Dataset) -> dict[str, int]:
    cur.execute(
        f"SELECT tenant_id::text, count(*) FROM {sample.table} "
        "WHERE tenant_id IN (%s, %s) GROUP BY 1",
        (dataset.tenant_a, dataset.tenant_b),
    )
    return dict(cur.fetchall())


@pytest.mark.parametrize("sample", CORE_TABLES)
def test_control_plane_sees_every_tenant_when_it_opts_in(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    rows = expected_rows(sample, dataset.rows)
    with pool.helper(CORE).as_control_plane() as cur:
        counts = _counts(cur, sample, dataset)

    assert counts == {dataset.tenant_a: rows, dataset.tenant_b: rows}


@pytest.mark.parametrize("sample", CORE_TABLES)
def test_control_plane_in_a_tenant_unit_is_bound_to_that_tenant(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    rows = expected_rows(sample, dataset.rows)
    with pool.helper(CORE).as_tenant(dataset.tenant_a) as cur:
        counts = _counts(cur, sample, dataset)

    assert counts == {dataset.tenant_a: rows}


@pytest.mark.parametrize("access", [Access.OWNER], ids=["owner"])
def test_only_the_control_plane_role_can_work_across_tenants(pool: Pool, access: Access) -> None:
    with (
        pytest.raises(errors.InsufficientPrivilege, match="permission denied to set role"),
        pool.helper(CORE, access).as_control_plane(),
    ):
        pass


@pytest.mark.parametrize("sample", CORE_TABLES)
def test_cross_tenant_role_does_not_survive_the_unit_of_work(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    helper = pool.helper(CORE)
    with helper.as_tenant(dataset.tenant_a) as cur:
        cur.execute(f'SET ROLE "{ALL_TENANTS_ROLE}"')

    with helper.as_tenant(dataset.tenant_a) as cur:
        cur.execute("SELECT current_user")
        user = cur.fetchone()
        counts = _counts(cur, sample, dataset)

    assert user == (CONTROL_PLANE_ROLE,)
    assert counts == {dataset.tenant_a: expected_rows(sample, dataset.rows)}


def test_control_plane_role_does_not_inherit_cross_tenant_rights(pool: Pool) -> None:
    with pool.helper(CORE).without_tenant() as cur:
        cur.execute("SELECT pg_has_role(current_user, %s, 'USAGE')", (ALL_TENANTS_ROLE,))
        inherits = cur.fetchone()
        cur.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (ALL_TENANTS_ROLE,))
        member = cur.fetchone()

    assert (inherits, member) == ((False,), (True,))


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("DELETE FROM tenants WHERE id = %(a)s", id="delete-tenant"),
        pytest.param("UPDATE audit_log SET actor = 'x' WHERE tenant_id = %(a)s", id="edit-audit"),
        pytest.param("DELETE FROM audit_log WHERE tenant_id = %(a)s", id="erase-audit"),
        pytest.param("TRUNCATE daily_usage", id="truncate"),
        pytest.param("UPDATE plans SET monthly_price_cents = 0", id="edit-plans"),
        pytest.param("INSERT INTO permissions (code, description) VALUES ('x:y', 'x')", id="perm"),
    ],
)
def test_control_plane_grants_are_narrow(pool: Pool, dataset: Dataset, statement: str) -> None:
    with (
        pytest.raises(errors.InsufficientPrivilege),
        pool.helper(CORE).as_control_plane() as cur,
    ):
        cur.execute(statement, {"a": dataset.tenant_a})


def test_control_plane_writes_for_any_tenant_when_it_opts_in(pool: Pool, dataset: Dataset) -> None:
    inserted = []
    with pytest.raises(_UndoError), pool.helper(CORE).as_control_plane() as cur:
        for tenant in (dataset.tenant_a, dataset.tenant_b):
            cur.execute(
                "INSERT INTO audit_log (tenant_id, actor, action) "
                "VALUES (%s, 'control-plane', 'tenant.checked') RETURNING tenant_id::text",
                (tenant,),
            )
            inserted.append(cur.fetchone())
        raise _UndoError

    assert inserted == [(dataset.tenant_a,), (dataset.tenant_b,)]
    with pool.helper(CORE).as_control_plane() as cur:
        cur.execute("SELECT count(*) FROM audit_log WHERE action = 'tenant.checked'")
        assert cur.fetchone() == (0,), "the unit of work that raised should be rolled back"
