"""Hand edits of covered objects are reported as drift and restored; dry runs only report."""

from __future__ import annotations

import psycopg2
import pytest

from lambdas.shared.databases import Access, dsn_variable
from lambdas.shared.db import Database
from tests.isolation.coverage import Scratch, rollout, uncovered_tables

# (hand edit, drift issue reported, change made); {table} and {view} name scratch objects.
TAMPERING = [
    pytest.param(
        "ALTER POLICY tenant_isolation ON {table} USING (true)",
        "policy_modified",
        "replace_policy",
        id="policy-loosened",
    ),
    pytest.param(
        "DROP POLICY tenant_isolation ON {table}", "policy_missing", "create_policy", id="dropped"
    ),
    pytest.param(
        "CREATE POLICY open_door ON {table} USING (true)",
        "unexpected_policy",
        "drop_policy",
        id="extra-permissive-policy",
    ),
    pytest.param(
        "ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        "rls_disabled",
        "enable_rls",
        id="rls-disabled",
    ),
    pytest.param(
        "ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        "rls_not_forced",
        "force_rls",
        id="owner-unbound",
    ),
    pytest.param(
        "GRANT TRUNCATE ON {table} TO crm_app", "unexpected_grant", "revoke", id="truncate-granted"
    ),
    pytest.param(
        "GRANT SELECT ON {table} TO PUBLIC", "unexpected_grant", "revoke", id="public-granted"
    ),
    pytest.param(
        "REVOKE SELECT ON {table} FROM crm_app", "grant_missing", "grant", id="grant-revoked"
    ),
    pytest.param(
        "ALTER VIEW {view} SET (security_invoker = false)",
        "view_not_security_invoker",
        "set_security_invoker",
        id="view-definer-rights",
    ),
]


def _tamper(owner: Database, scratch: Scratch, statement: str) -> None:
    with owner.without_tenant() as cur:
        cur.execute(statement.format(table=scratch.table, view=scratch.view))


def _uncovered(env: dict[str, str], scratch: Scratch) -> list[str]:
    conn = psycopg2.connect(env[dsn_variable("crm", Access.OWNER)])
    try:
        return uncovered_tables(conn, "crm", scratch.schema)
    finally:
        conn.close()


@pytest.mark.parametrize(("statement", "issue", "action"), TAMPERING)
def test_hand_edit_is_reported_and_restored(
    scratch: Scratch,
    owner: Database,
    platform_env: dict[str, str],
    statement: str,
    issue: str,
    action: str,
) -> None:
    _tamper(owner, scratch, statement)
    restored = rollout(platform_env, ["crm"])
    again = rollout(platform_env, ["crm"])

    assert issue in {d["issue"] for d in scratch.report_items(restored.drift)}
    assert action in {c["action"] for c in scratch.report_items(restored.changes)}
    assert _uncovered(platform_env, scratch) == []
    assert scratch.report_items(again.changes) == []
    assert scratch.report_items(again.drift) == []


def test_dry_run_reports_drift_and_changes_nothing(
    scratch: Scratch, owner: Database, platform_env: dict[str, str]
) -> None:
    _tamper(owner, scratch, "ALTER POLICY tenant_isolation ON {table} USING (true)")
    first = rollout(platform_env, ["crm"], dry_run=True)
    second = rollout(platform_env, ["crm"], dry_run=True)

    assert [d["issue"] for d in scratch.report_items(first.drift)] == ["policy_modified"]
    assert [c["action"] for c in scratch.report_items(first.changes)] == ["replace_policy"]
    assert (first.changes, first.drift) == (second.changes, second.drift)
    assert _uncovered(platform_env, scratch) == [scratch.table]
