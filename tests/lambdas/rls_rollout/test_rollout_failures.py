"""When a database is unreachable or busy the rollout stops before changing anything."""

from __future__ import annotations

import psycopg2
import pytest

from lambdas.rls_rollout.handler import handler
from lambdas.rls_rollout.rollout import (
    ADVISORY_LOCK_KEY,
    DatabaseUnreachableError,
    RolloutBusyError,
    RolloutError,
    owner_connector,
    run_rollout,
)
from lambdas.shared.databases import Access, dsn_variable
from lambdas.shared.db import Database
from scripts.lambda_context import lambda_context
from tests.isolation.coverage import Scratch, rollout, uncovered_tables

LOOSEN = "ALTER POLICY tenant_isolation ON {table} USING (true)"
# Nothing listens on port 9 (discard) of the loopback interface.
UNREACHABLE_DSN = "postgresql://hr_owner:nothing@127.0.0.1:9/hr?connect_timeout=2"


def _loosen(owner: Database, scratch: Scratch) -> None:
    with owner.without_tenant() as cur:
        cur.execute(LOOSEN.format(table=scratch.table))


def _uncovered(env: dict[str, str], scratch: Scratch) -> list[str]:
    conn = psycopg2.connect(env[dsn_variable("crm", Access.OWNER)])
    try:
        return uncovered_tables(conn, "crm", scratch.schema)
    finally:
        conn.close()


def test_unreachable_database_stops_the_run_before_any_change(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    _loosen(owner, scratch)
    broken = {**platform_env, dsn_variable("hr", Access.OWNER): UNREACHABLE_DSN}

    with pytest.raises(DatabaseUnreachableError) as raised:
        run_rollout(["crm", "hr"], connect=owner_connector(broken))

    assert "hr (" in str(raised.value) and "nothing was changed" in str(raised.value)
    assert "crm (" not in str(raised.value)
    assert _uncovered(platform_env, scratch) == [scratch.table]


def test_handler_fails_clearly_when_a_database_is_unreachable(
    scratch: Scratch,
    owner: Database,
    lambda_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _loosen(owner, scratch)
    monkeypatch.setenv(dsn_variable("hr", Access.OWNER), UNREACHABLE_DSN)

    with pytest.raises(DatabaseUnreachableError, match="hr"):
        handler({"databases": ["crm", "hr"]}, lambda_context("rls-rollout"))

    assert _uncovered(lambda_env, scratch) == [scratch.table]


def test_missing_connection_settings_stop_the_run(platform_env: dict[str, str]) -> None:
    without_hr = {k: v for k, v in platform_env.items() if not k.startswith("HR_DB")}

    with pytest.raises(DatabaseUnreachableError, match="HR_DB_SECRET_ARN.*HR_DB_DSN"):
        run_rollout(["crm", "hr"], connect=owner_connector(without_hr))


def test_concurrent_rollout_stops_the_run_before_any_change(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    _loosen(owner, scratch)
    holder = psycopg2.connect(platform_env[dsn_variable("crm", Access.OWNER)])
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        with pytest.raises(RolloutBusyError, match="crm"):
            run_rollout(["crm"], connect=owner_connector(platform_env))
    finally:
        holder.close()

    assert _uncovered(platform_env, scratch) == [scratch.table]


def test_lock_timeout_leaves_the_busy_table_unchanged_and_fails_loudly(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    _loosen(owner, scratch)
    with owner.without_tenant() as cur:
        cur.execute(f"ALTER VIEW {scratch.view} SET (security_invoker = false)")
    reader = psycopg2.connect(platform_env[dsn_variable("crm", Access.OWNER)])
    try:
        with reader.cursor() as cur:
            cur.execute(f"LOCK TABLE {scratch.table} IN ACCESS SHARE MODE")
            with pytest.raises(RolloutError, match=scratch.table):
                run_rollout(["crm"], connect=owner_connector(platform_env), lock_timeout_ms=200)
    finally:
        reader.close()
    after = rollout(platform_env, ["crm"], dry_run=True)

    assert [c["object"] for c in scratch.report_items(after.changes)] == [scratch.table]
