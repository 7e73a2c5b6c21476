"""Converges the row-level security of the chosen databases to the canonical profiles.

The run has four phases, and nothing changes before the third one ends:

1. connect to every chosen database as its owner; if any cannot be reached, stop;
2. take each database's rollout advisory lock; if another rollout holds one, stop;
3. read each database's catalog and plan it (deparsing the canonical policies also proves
   that their roles exist);
4. unless it is a dry run, apply each object's plan in its own transaction, under a lock
   timeout, so a busy table delays nothing else and a failure leaves that table unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from aws_lambda_powertools import Logger

from lambdas.rls_rollout.catalog import COVERAGE_TABLE, read_state
from lambdas.rls_rollout.plan import ObjectPlan, plan_database
from lambdas.rls_rollout.roles import database_roles
from lambdas.shared.databases import CORE, DATABASES, Access, check_database
from lambdas.shared.db import Connection
from lambdas.shared.dsn import resolve_dsn
from policies.rls import DatabaseProfile, PolicySpec, app_profile, core_profile
from policies.rls.profiles import USAGE_TABLE

logger = Logger(child=True)

ADVISORY_LOCK_KEY = 7_204_117_002
DEFAULT_LOCK_TIMEOUT_MS = 5_000
CONNECT_TIMEOUT_SECONDS = 5
SESSION_OPTIONS = "-c statement_timeout=60000"

_CREATE_COVERAGE = f"""
CREATE TABLE IF NOT EXISTS {COVERAGE_TABLE} (
    object_name text PRIMARY KEY,
    kind text NOT NULL,
    covered_at timestamptz NOT NULL DEFAULT now()
)
"""
_RECORD_COVERAGE = (
    f"INSERT INTO {COVERAGE_TABLE} (object_name, kind) VALUES (%s, %s) ON CONFLICT DO NOTHING"
)

Connect = Callable[[str], Connection]


class RolloutError(RuntimeError):
    """The rollout could not start, or some objects failed to converge."""


class DatabaseUnreachableError(RolloutError):
    """A chosen database could not be reached; nothing was changed anywhere."""


class RolloutBusyError(RolloutError):
    """Another rollout holds a database's lock; nothing was changed anywhere."""


@dataclass
class RolloutReport:
    tables_checked: int = 0
    changes: list[dict[str, str]] = field(default_factory=list)
    drift: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tables_checked": self.tables_checked, "changes": self.changes, "drift": self.drift}


def profile_for(database: str, role_prefix: str = "") -> DatabaseProfile:
    """The canonical profile; the roles it names are created by the local platform (as the
    superuser) or, on RDS, by the bootstrap (lambdas/rls_rollout/bootstrap.py)."""
    roles = database_roles(database, role_prefix)
    if database == CORE:
        assert roles.all_tenants is not None
        return core_profile(
            database,
            owner=roles.owner,
            control_plane_role=roles.runtime,
            all_tenants_role=roles.all_tenants,
        )
    assert roles.usage is not None
    return app_profile(database, owner=roles.owner, runtime=roles.runtime, usage_reader=roles.usage)


def canonical_specs(profile: DatabaseProfile) -> list[PolicySpec]:
    """Every distinct policy the profile uses, to deparse once per database."""
    specs = {spec.name: spec for spec in profile.table_policies(USAGE_TABLE)}
    return list(specs.values())


def owner_connector(environ: Mapping[str, str] | None = None) -> Connect:
    def connect(database: str) -> Connection:
        return psycopg2.connect(
            resolve_dsn(database, Access.OWNER, environ),
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="rls-rollout",
            options=SESSION_OPTIONS,
        )

    return connect


def _connect_all(databases: Sequence[str], connect: Connect) -> dict[str, Connection]:
    connections: dict[str, Connection] = {}
    failures: list[str] = []
    for database in databases:
        try:
            connections[database] = connect(database)
        except (psycopg2.Error, RuntimeError) as exc:
            failures.append(f"{database} ({str(exc).strip().splitlines()[0]})")
    if failures:
        _close_all(connections)
        raise DatabaseUnreachableError(
            f"cannot reach database(s) {'; '.join(failures)}; nothing was changed"
        )
    return connections


def _lock_all(connections: Mapping[str, Connection]) -> None:
    for database, conn in connections.items():
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            row = cur.fetchone()
        conn.autocommit = False
        if not row or not row[0]:
            raise RolloutBusyError(
                f"another RLS rollout is running on database {database!r}; nothing was changed"
            )


def _close_all(connections: Mapping[str, Connection]) -> None:
    for conn in connections.values():
        conn.close()


def _ensure_coverage_table(conn: Connection) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(_CREATE_COVERAGE)


def _apply(conn: Connection, plan: ObjectPlan, lock_timeout_ms: int) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = %s", (lock_timeout_ms,))
        for statement in plan.statements:
            cur.execute(statement)
        if plan.record_coverage:
            cur.execute(_RECORD_COVERAGE, (str(plan.name), plan.kind))


def run_rollout(
    databases: Sequence[str] | None = None,
    *,
    dry_run: bool = False,
    connect: Connect | None = None,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    role_prefix: str = "",
) -> RolloutReport:
    """Converge (or, with `dry_run`, only report on) `databases`, all six by default.

    `role_prefix` names the roles of throwaway test databases (see roles.py); always '' else.
    """
    targets = [check_database(name) for name in dict.fromkeys(databases or DATABASES)]
    connections = _connect_all(targets, connect or owner_connector())
    try:
        _lock_all(connections)
        plans: dict[str, list[ObjectPlan]] = {}
        for database, conn in connections.items():
            profile = profile_for(database, role_prefix)
            try:
                state = read_state(conn, canonical_specs(profile), profile.catalog_privileges)
            except psycopg2.Error as exc:
                raise RolloutError(
                    f"cannot read the catalog of database {database!r}: "
                    f"{str(exc).strip().splitlines()[0]}; nothing was changed"
                ) from exc
            plans[database] = plan_database(profile, state)
        report = RolloutReport()
        for object_plans in plans.values():
            report.tables_checked += sum(p.kind in ("table", "partition") for p in object_plans)
            for plan in object_plans:
                report.changes.extend(change.as_dict() for change in plan.changes)
                report.drift.extend(drift.as_dict() for drift in plan.drift)
        if not dry_run:
            _apply_all(connections, plans, lock_timeout_ms)
        return report
    finally:
        _close_all(connections)


def _apply_all(
    connections: Mapping[str, Connection],
    plans: Mapping[str, list[ObjectPlan]],
    lock_timeout_ms: int,
) -> None:
    failures: list[str] = []
    for database, object_plans in plans.items():
        pending = [plan for plan in object_plans if plan.needs_transaction]
        if not pending:
            continue
        conn = connections[database]
        if any(plan.record_coverage for plan in pending):
            _ensure_coverage_table(conn)
        for plan in pending:
            try:
                _apply(conn, plan, lock_timeout_ms)
            except psycopg2.Error as exc:
                logger.error(
                    "rls rollout could not converge an object",
                    extra={"database": database, "object": str(plan.name), "error": str(exc)},
                )
                failures.append(f"{database}.{plan.name} ({str(exc).strip().splitlines()[0]})")
    if failures:
        raise RolloutError(
            f"{len(failures)} object(s) did not converge and were left unchanged: "
            + "; ".join(failures)
        )
