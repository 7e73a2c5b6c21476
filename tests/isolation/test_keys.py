"""Keys: every key includes tenant_id, so keys neither collide nor reveal other tenants."""

from __future__ import annotations

import re
import uuid
from typing import Any, NamedTuple

import pytest
from psycopg2 import errors

from lambdas.shared.databases import Access
from tests.isolation.cases import child_table_cases, data_table_cases, table_cases
from tests.isolation.conftest import Dataset, Pool
from tests.isolation.samples import RowWriter, Sample

pytestmark = pytest.mark.usefixtures("local_platform")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_KEYS = """
SELECT con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.n),
       con.confrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.n),
       con.confdeltype,
       EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.confrelid
               AND attname = 'tenant_id' AND NOT attisdropped)
FROM pg_constraint AS con
WHERE con.conrelid = %s::regclass AND con.contype IN ('p', 'u', 'f')
"""

_UNIQUE_INDEXES = """
SELECT i.indexrelid::regclass::text,
       EXISTS (SELECT 1 FROM pg_attribute AS a WHERE a.attrelid = i.indrelid
               AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey::int2[]))
FROM pg_index AS i
WHERE i.indrelid = %s::regclass AND i.indisunique
"""

_LEADING_TENANT_INDEX = """
SELECT count(*) FROM pg_index AS i
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s::regclass AND a.attname = 'tenant_id'
"""


class Key(NamedTuple):
    name: str
    kind: str
    columns: list[str]
    referenced: str
    referenced_columns: list[str]
    on_delete: str
    references_tenant_table: bool


def _rows(pool: Pool, database: str, query: str, table: str) -> list[tuple[Any, ...]]:
    with pool.helper(database, Access.OWNER).without_tenant() as cur:
        cur.execute(query, (table,))
        return list(cur.fetchall())


def _keys(pool: Pool, sample: Sample) -> list[Key]:
    return [Key(*row) for row in _rows(pool, sample.database, _KEYS, sample.table)]


@pytest.mark.parametrize("sample", table_cases())
def test_keys_include_tenant_id(pool: Pool, sample: Sample) -> None:
    keys = _keys(pool, sample)
    unique_indexes = _rows(pool, sample.database, _UNIQUE_INDEXES, sample.table)
    tenant_fks = [k for k in keys if k.kind == "f" and k.references_tenant_table]

    assert [k.name for k in keys if k.kind == "p" and "tenant_id" in k.columns], "primary key"
    assert [name for name, has_tenant in unique_indexes if not has_tenant] == []
    for key in tenant_fks:
        assert "tenant_id" in key.columns, f"{key.name} leaves tenant_id out"
        paired = key.referenced_columns[key.columns.index("tenant_id")]
        assert paired == "tenant_id", f"{key.name} pairs tenant_id with {paired}"


@pytest.mark.parametrize("sample", table_cases())
def test_an_index_leads_with_tenant_id(pool: Pool, sample: Sample) -> None:
    assert _rows(pool, sample.database, _LEADING_TENANT_INDEX, sample.table)[0][0] >= 1


@pytest.mark.parametrize("sample", data_table_cases())
def test_rows_go_with_their_tenant(pool: Pool, sample: Sample) -> None:
    registry = "tenants"
    to_registry = [
        k
        for k in _keys(pool, sample)
        if k.kind == "f" and k.referenced == registry and k.columns == ["tenant_id"]
    ]

    assert to_registry, f"{sample.case_id} has no foreign key (tenant_id) to {registry}"
    assert {k.on_delete for k in to_registry} == {"c"}, "the registry reference must cascade"


@pytest.mark.parametrize("sample", data_table_cases())
def test_same_keys_in_two_tenants_do_not_collide(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    columns = ", ".join(f"{column}::text" for column in sample.key_columns)
    order = ", ".join(str(position + 1) for position in range(len(sample.key_columns)))
    keys = {}
    for tenant in (dataset.tenant_a, dataset.tenant_b):
        with pool.helper(sample.database).as_tenant(tenant) as cur:
            cur.execute(f"SELECT {columns} FROM {sample.table} ORDER BY {order}")
            keys[tenant] = cur.fetchall()

    assert keys[dataset.tenant_a], "tenant A should have rows"
    assert keys[dataset.tenant_a] == keys[dataset.tenant_b]


def _reference_error(
    pool: Pool, sample: Sample, dataset: Dataset, *, parents_exist_for_other_tenant: bool
) -> tuple[str, str]:
    """B inserts a child row pointing at parent keys that exist for A, or for nobody."""
    seed = f"fk-{uuid.uuid4().hex[:8]}"
    conn = pool.raw(sample.database, autocommit=False)
    try:
        with conn.cursor() as cur:
            if parents_exist_for_other_tenant:
                cur.execute("SELECT set_config('app.tenant_id', %s, true)", (dataset.tenant_a,))
                writer = RowWriter(cur.execute, sample.database, dataset.tenant_a, seed, 1)
                for parent in sample.parents:
                    writer.write(parent)
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (dataset.tenant_b,))
            with pytest.raises(errors.ForeignKeyViolation) as raised:
                cur.execute(sample.insert_sql(), sample.params(dataset.tenant_b, seed, 1))
    finally:
        conn.rollback()
    error = raised.value
    return str(error.pgcode), _UUID.sub("<uuid>", str(error))


@pytest.mark.parametrize("sample", child_table_cases())
def test_reference_to_another_tenants_row_looks_like_a_missing_row(
    pool: Pool, dataset: Dataset, sample: Sample
) -> None:
    existing = _reference_error(pool, sample, dataset, parents_exist_for_other_tenant=True)
    missing = _reference_error(pool, sample, dataset, parents_exist_for_other_tenant=False)

    assert existing == missing
