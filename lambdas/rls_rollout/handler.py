"""RLS rollout Lambda: converge every tenant table's row-level security, report drift.

Event `{"databases"?: [...], "dry_run"?: bool}` -> `{"tables_checked", "changes", "drift"}`.
Connections are the owners' (`<DB>_DB_SECRET_ARN`, or `<DB>_DB_DSN` locally).

Maintenance: this function imports the canonical policies from `policies/rls` (pure Python,
standard library only), so its code zip must hold `policies/__init__.py` and `policies/rls/`
next to `lambdas/`; scripts/package_lambdas.py packs only `lambdas/` today. Until it does, the
deployed function fails at import while the local platform and the tests work.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.rls_rollout.event import parse_event
from lambdas.rls_rollout.rollout import run_rollout

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event)
    report = run_rollout(request.databases, dry_run=request.dry_run)

    summary = {
        "dry_run": request.dry_run,
        "tables_checked": report.tables_checked,
        "changes": len(report.changes),
        "drift": len(report.drift),
    }
    if report.drift:
        logger.warning("rls drift found", extra={**summary, "drift_items": report.drift})
    logger.info("rls rollout finished", extra=summary)
    return report.as_dict()
