"""One rollout request end to end: the bootstrap where it applies, then the RLS rollout.

The report keeps the rollout's contract, `{"tables_checked", "changes", "drift"}`: bootstrap
steps are changes like the rollout's, `{"database", "object", "action", "detail"}`, listed
first. On a bootstrapped database the rollout acts as the owner (`SET ROLE`), so what it
creates is the owner's, exactly as on the local platform. A dry run does not plan the policies
of a database whose roles, grants or migrations the bootstrap would still change (they depend
on them); one `plan_policies` entry says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from psycopg2 import sql

from lambdas.rls_rollout.bootstrap import BootstrapReport, run_bootstrap
from lambdas.rls_rollout.event import RolloutEvent
from lambdas.rls_rollout.plan import Change
from lambdas.rls_rollout.roles import database_roles
from lambdas.rls_rollout.rollout import (
    DEFAULT_LOCK_TIMEOUT_MS,
    Connect,
    RolloutReport,
    owner_connector,
    run_rollout,
)
from lambdas.shared.databases import DATABASES, check_database
from lambdas.shared.db import Connection

logger = Logger(child=True)

_CREDENTIALS_ONLY = "set_password"


def acting_as_owner(connect: Connect, owners: Mapping[str, str]) -> Connect:
    """`connect`, followed by a session-level `SET ROLE <owner>` for the databases named."""

    def wrapped(database: str) -> Connection:
        conn = connect(database)
        owner = owners.get(database)
        if owner is None:
            return conn
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
            conn.autocommit = False
        except BaseException:
            conn.close()
            raise
        return conn

    return wrapped


def _held_back(boot: BootstrapReport, dry_run: bool) -> list[str]:
    if not dry_run:
        return []
    return [
        db
        for db in boot.bootstrapped
        if any(c.database == db and c.action != _CREDENTIALS_ONLY for c in boot.changes)
    ]


def converge(
    request: RolloutEvent,
    *,
    environ: Mapping[str, str] | None = None,
    secrets: Any = None,
    role_prefix: str = "",
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
) -> RolloutReport:
    """Bootstrap (unless skipped), then converge the policies of the requested databases."""
    env = os.environ if environ is None else environ
    targets = [check_database(name) for name in dict.fromkeys(request.databases or DATABASES)]
    connect = owner_connector(env)

    boot = run_bootstrap(
        targets,
        requested=request.bootstrap,
        dry_run=request.dry_run,
        connect=connect,
        environ=env,
        secrets=secrets,
        role_prefix=role_prefix,
    )
    if boot.skipped:
        logger.info("bootstrap skipped", extra={"skipped": boot.skipped})
    if boot.bootstrapped:
        logger.info(
            "bootstrap finished",
            extra={
                "dry_run": request.dry_run,
                "databases": boot.bootstrapped,
                "changes": len(boot.changes),
            },
        )

    held_back = _held_back(boot, request.dry_run)
    planned = [db for db in targets if db not in held_back]
    owners = {db: database_roles(db, role_prefix).owner for db in boot.bootstrapped}
    report = RolloutReport()
    if planned:
        report = run_rollout(
            planned,
            dry_run=request.dry_run,
            connect=acting_as_owner(connect, owners),
            lock_timeout_ms=lock_timeout_ms,
            role_prefix=role_prefix,
        )
    notes = [
        Change(db, db, "plan_policies", "planned once the bootstrap has run (not a dry run)")
        for db in held_back
    ]
    report.changes[:0] = [change.as_dict() for change in [*boot.changes, *notes]]
    return report
