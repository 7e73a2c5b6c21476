"""RLS rollout Lambda: converge every tenant table's row-level security, report drift.

Event `{"databases"?: [...], "dry_run"?: bool, "bootstrap"?: bool}` ->
`{"tables_checked", "changes", "drift"}`. Connections are the owners' (`<DB>_DB_SECRET_ARN`, the
RDS master secret, or `<DB>_DB_DSN` locally). On RDS the run first bootstraps each database
(roles, grants, migrations, and the credentials in `<DB>_DB_APP_SECRET_ARN` and
`<DB>_DB_USAGE_SECRET_ARN`); locally that step is skipped: see bootstrap.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.rls_rollout.converge import converge
from lambdas.rls_rollout.event import parse_event

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse_event(event)
    report = converge(request)

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
