"""At 100,000 rows over 100 tenants, the policy's plan reads a tenant through a tenant_id index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from lambdas.shared.databases import Access
from lambdas.shared.db import Database
from tests.isolation.bulk import ROWS_PER_TENANT, TENANTS, BulkDatabase, bulk_database
from tests.isolation.cases import bulk_table_cases
from tests.isolation.samples import Sample

pytestmark = pytest.mark.usefixtures("local_platform")

INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}

# The table itself and, when it is partitioned, its partitions.
_TREE = "SELECT %(table)s::regclass AS relid UNION SELECT relid FROM pg_partition_tree(%(table)s)"
_LEADING_COLUMNS = f"""
SELECT i.indexrelid::regclass::text, a.attname
FROM ({_TREE}) AS t
JOIN pg_index AS i ON i.indrelid = t.relid
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
"""
_RELATIONS = f"SELECT relid::regclass::text FROM ({_TREE}) AS t"


class BulkDatabases:
    """One bulk copy at a time: cases run database by database, each copy dropped after."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._kind: str | None = None
        self._current: BulkDatabase | None = None
        self._stack = ExitStack()

    def get(self, kind: str) -> BulkDatabase:
        if self._kind != kind:
            self.close()
            self._current = self._stack.enter_context(bulk_database(kind, self._env))
            self._kind = kind
        assert self._current is not None
        return self._current

    def close(self) -> None:
        self._stack.close()
        self._kind, self._current = None, None


@pytest.fixture(scope="module")
def bulk(platform_env: dict[str, str]) -> Iterator[BulkDatabases]:
    databases = BulkDatabases(platform_env)
    yield databases
    databases.close()


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


@pytest.mark.parametrize("sample", bulk_table_cases())
def test_policy_plan_uses_the_tenant_index(bulk: BulkDatabases, sample: Sample) -> None:
    db = bulk.get(sample.database)
    runtime = Database(db.kind, Access.APP, connect=lambda: db.connect(Access.APP))
    try:
        with runtime.as_tenant(db.tenants[TENANTS // 2]) as cur:
            cur.execute(f"SELECT count(*) FROM {sample.table}")
            visible = cur.fetchone()
            cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM {sample.table}")
            row = cur.fetchone()
            cur.execute(_LEADING_COLUMNS, {"table": sample.table})
            leading = dict(cur.fetchall())
            cur.execute(_RELATIONS, {"table": sample.table})
            relations = {name for (name,) in cur.fetchall()}
    finally:
        runtime.close()
    assert row is not None
    document = row[0] if isinstance(row[0], list) else json.loads(row[0])
    plan = document[0]["Plan"]
    nodes = list(walk(plan))
    scans = [n for n in nodes if n.get("Relation Name") in relations or "Index Name" in n]
    described = json.dumps(plan, indent=1)

    assert visible == (ROWS_PER_TENANT,)
    assert plan["Actual Rows"] == ROWS_PER_TENANT
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"], described
    used = [n["Index Name"] for n in scans if n["Node Type"] in INDEX_SCANS]
    assert used, described
    assert {leading[name] for name in used} == {"tenant_id"}, described
    relationships = {n.get("Parent Relationship") for n in nodes}
    assert "InitPlan" in relationships, "the tenant setting should be read once per statement"
    assert "SubPlan" not in relationships, described
