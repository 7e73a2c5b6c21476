"""The coverage check: tenant tables that row-level security does not (yet) protect.

Independent of the rollout's own planner on purpose: it reads the catalog with its own rules,
so a planner bug cannot hide itself. A table is covered when RLS is enabled and forced, the
`tenant_isolation` policy applies to every command and role with the same predicate for USING
and WITH CHECK, that predicate compares tenant_id with a sub-select of `app.tenant_id`, no
other permissive policy exists beyond the canonical ones, and the runtime role cannot TRUNCATE.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from lambdas.rls_rollout.rollout import (
    RolloutBusyError,
    RolloutReport,
    owner_connector,
    run_rollout,
)
from lambdas.shared.databases import Access, role_name
from lambdas.shared.db import Connection, Database
from policies.rls import CONTROL_PLANE_POLICY, TENANT_POLICY, USAGE_READER_POLICY

_UNCOVERED = """
SELECT n.nspname || '.' || c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%%'
  AND NOT (
      c.relrowsecurity AND c.relforcerowsecurity
      AND EXISTS (
          SELECT 1 FROM pg_policies AS p
          WHERE p.schemaname = n.nspname AND p.tablename = c.relname
            AND p.policyname = %(tenant_policy)s AND p.permissive = 'PERMISSIVE'
            AND p.cmd = 'ALL' AND p.roles = '{public}' AND p.qual = p.with_check
            AND p.qual LIKE '(tenant_id = ( SELECT %%current_setting(''app.tenant_id''%%'
      )
      AND NOT EXISTS (
          SELECT 1 FROM pg_policies AS p
          WHERE p.schemaname = n.nspname AND p.tablename = c.relname
            AND p.policyname <> ALL(%(canonical)s)
      )
      AND NOT has_table_privilege(%(runtime)s, c.oid, 'TRUNCATE')
  )
ORDER BY 1
"""

BUSY_RETRIES = 20
BUSY_PAUSE_SECONDS = 0.5


def uncovered_tables(conn: Connection, database: str, schema: str | None = None) -> list[str]:
    """Tenant tables (schema-qualified) that fail the coverage rules, optionally in one schema."""
    params = {
        "tenant_policy": TENANT_POLICY,
        "canonical": [TENANT_POLICY, USAGE_READER_POLICY, CONTROL_PLANE_POLICY],
        "runtime": role_name(database, Access.APP),
    }
    with conn.cursor() as cur:
        cur.execute(_UNCOVERED, params)
        names = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return [name for name in names if schema is None or name.startswith(f"{schema}.")]


def rollout(
    env: Mapping[str, str], databases: Sequence[str], *, dry_run: bool = False
) -> RolloutReport:
    """Run the rollout, waiting while a concurrent test session's rollout holds the lock."""
    for _ in range(BUSY_RETRIES):
        try:
            return run_rollout(databases, dry_run=dry_run, connect=owner_connector(env))
        except RolloutBusyError:
            time.sleep(BUSY_PAUSE_SECONDS)
    return run_rollout(databases, dry_run=dry_run, connect=owner_connector(env))


@dataclass(frozen=True)
class Scratch:
    """A schema of the crm database that one test owns: tenant table `items`, view `item_labels`."""

    database: str
    schema: str

    @property
    def table(self) -> str:
        return f"{self.schema}.items"

    @property
    def view(self) -> str:
        return f"{self.schema}.item_labels"

    def report_items(self, entries: list[dict[str, str]]) -> list[dict[str, str]]:
        return [entry for entry in entries if entry["object"].startswith(f"{self.schema}.")]


@contextmanager
def scratch_schema(env: Mapping[str, str], database: str = "crm") -> Iterator[Scratch]:
    """Create a schema with a tenant table (not yet covered); drop it and its coverage after."""
    schema = f"scratch_{uuid.uuid4().hex[:10]}"
    owner = Database(database, Access.OWNER, environ=env)
    runtime = role_name(database, Access.APP)
    try:
        with owner.without_tenant() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
            cur.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{runtime}"')
            cur.execute(
                f"CREATE TABLE {schema}.items ("
                " tenant_id uuid NOT NULL REFERENCES public.tenants ON DELETE CASCADE,"
                " id uuid NOT NULL DEFAULT gen_random_uuid(),"
                " label text NOT NULL DEFAULT 'item',"
                " PRIMARY KEY (tenant_id, id))"
            )
            cur.execute(
                f"CREATE VIEW {schema}.item_labels WITH (security_invoker = true) AS"
                f" SELECT tenant_id, label FROM {schema}.items"
            )
        yield Scratch(database, schema)
    finally:
        with owner.without_tenant() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            cur.execute(
                "DELETE FROM rls_rollout_coverage WHERE object_name LIKE %s",
                (f"{schema}.%",),
            )
        owner.close()
