"""The rollout covers what is new, changes nothing the second time, reports what it cannot fix."""

from __future__ import annotations

import time
import uuid

import psycopg2

from lambdas.shared.databases import DATABASES, Access, dsn_variable
from lambdas.shared.db import Database
from tests.isolation.coverage import Scratch, rollout, scratch_schema, uncovered_tables


def _actions(entries: list[dict[str, str]], scratch: Scratch) -> set[tuple[str, str, str]]:
    return {(e["object"], e["action"], e["detail"]) for e in scratch.report_items(entries)}


def test_new_table_and_view_are_covered_without_drift(platform_env: dict[str, str]) -> None:
    with scratch_schema(platform_env) as scratch:
        first = rollout(platform_env, ["crm"])
        second = rollout(platform_env, ["crm"])

    assert _actions(first.changes, scratch) == {
        (scratch.table, "create_policy", "tenant_isolation"),
        (scratch.table, "enable_rls", "row level security"),
        (scratch.table, "force_rls", "binds the owner"),
        (scratch.table, "grant", "crm_app: DELETE, INSERT, SELECT, UPDATE"),
        (scratch.view, "grant", "crm_app: SELECT"),
    }
    assert scratch.report_items(first.drift) == []
    assert scratch.report_items(second.changes) == []


def test_second_run_over_every_database_changes_nothing(platform_env: dict[str, str]) -> None:
    rollout(platform_env, DATABASES)
    started = time.monotonic()
    second = rollout(platform_env, DATABASES)
    elapsed = time.monotonic() - started

    assert (second.changes, second.drift) == ([], [])
    assert second.tables_checked >= 56
    print(f"rollout no-op over {len(DATABASES)} databases: {elapsed * 1000:.0f} ms")


def test_partitions_added_later_are_covered(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    with owner.without_tenant() as cur:
        cur.execute(
            f"CREATE TABLE {scratch.schema}.visits ("
            " tenant_id uuid NOT NULL, day date NOT NULL, hits bigint NOT NULL,"
            " PRIMARY KEY (tenant_id, day)) PARTITION BY RANGE (day)"
        )
        cur.execute(
            f"CREATE TABLE {scratch.schema}.visits_2024 PARTITION OF {scratch.schema}.visits"
            " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
        )
    rollout(platform_env, ["crm"])
    with owner.without_tenant() as cur:
        cur.execute(
            f"CREATE TABLE {scratch.schema}.visits_2025 PARTITION OF {scratch.schema}.visits"
            " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
        )
    conn = psycopg2.connect(platform_env[dsn_variable("crm", Access.OWNER)])
    try:
        reported = uncovered_tables(conn, "crm", scratch.schema)
    finally:
        conn.close()
    report = rollout(platform_env, ["crm"])

    assert reported == [f"{scratch.schema}.visits_2025"]
    assert {e["object"] for e in scratch.report_items(report.changes)} == {
        f"{scratch.schema}.visits_2025"
    }
    assert scratch.report_items(report.drift) == []


def test_materialized_view_of_tenant_rows_is_reported_every_run(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    with owner.without_tenant() as cur:
        cur.execute(
            f"CREATE MATERIALIZED VIEW {scratch.schema}.item_snapshot AS "
            f"SELECT tenant_id, label FROM {scratch.table}"
        )
    reports = [rollout(platform_env, ["crm"]) for _ in range(2)]

    for report in reports:
        assert [(d["object"], d["issue"]) for d in scratch.report_items(report.drift)] == [
            (f"{scratch.schema}.item_snapshot", "materialized_view_bypasses_rls")
        ]
        assert scratch.report_items(report.changes) == []


def test_covered_table_and_view_isolate_tenants(
    scratch: Scratch, platform_env: dict[str, str]
) -> None:
    runtime = Database("crm", Access.APP, environ=platform_env)
    tenants = [str(uuid.uuid4()), str(uuid.uuid4())]
    try:
        for tenant in tenants:
            with runtime.as_tenant(tenant) as cur:
                cur.execute(
                    "INSERT INTO tenants (tenant_id, slug) VALUES (%s, 'rollout')", (tenant,)
                )
                cur.execute(f"INSERT INTO {scratch.table} (tenant_id) VALUES (%s)", (tenant,))
        with runtime.as_tenant(tenants[0]) as cur:
            cur.execute(f"SELECT tenant_id::text FROM {scratch.view}")
            seen = cur.fetchall()
    finally:
        for tenant in tenants:
            with runtime.as_tenant(tenant) as cur:
                cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant,))
        runtime.close()

    assert seen == [(tenants[0],)]
