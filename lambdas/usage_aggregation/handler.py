"""Usage aggregation Lambda: a day of ALB access logs and app usage events into usage rows.

Event: an EventBridge scheduled event (aggregates the previous full UTC day) or
`{"date": "YYYY-MM-DD"}` (re-aggregates that day; a day with no log file and no app event
keeps the rows it has unless the event adds `"allow_empty": true`). Returns
`{"date", "tenants", "rows", "report_key", "summary"}`.

Connections: the core database as the control-plane role (`CORE_DB_APP_SECRET_ARN` or
`CORE_DB_APP_DSN`), each app database as its usage reader (`<APP>_DB_USAGE_SECRET_ARN` or
`<APP>_DB_USAGE_DSN`). AWS clients are made on first use and honour `AWS_ENDPOINT_URL`;
boto3 and psycopg2 load only then, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.usage_aggregation.alb_logs import APPS
from lambdas.usage_aggregation.job import EventSender, JobResult, SourcesGoneError, run_job
from lambdas.usage_aggregation.settings import Settings
from lambdas.usage_aggregation.window import InvalidEventError, allows_empty, usage_day

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from lambdas.shared.db import Database

DEFAULT_NAMESPACE = "TenantPlatform"
APP_QUERY_TIMEOUT_MS = 300_000
BYTE_METRICS = frozenset({"bytes_in", "bytes_out"})

logger = Logger()
namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
metrics = Metrics(namespace=namespace)

_clients: dict[str, Any] = {}
_databases: dict[str, Database] = {}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        day = usage_day(event)
    except InvalidEventError as error:
        logger.error("invalid usage aggregation event", extra={"reason": str(error)})
        metrics.add_metric(name="InvalidEvents", unit=MetricUnit.Count, value=1)
        raise
    settings = Settings.from_env()
    logger.append_keys(usage_date=day.isoformat())

    core, apps = databases()
    try:
        result = run_job(
            day,
            settings,
            s3=s3_client(),
            events=events_client(),
            core=core,
            apps=apps,
            allow_empty=allows_empty(event),
        )
    except SourcesGoneError as error:
        logger.error("usage day not replaced", extra={"reason": str(error)})
        metrics.add_metric(name="DaysKept", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        # Counted, so that a failed run is a figure and not only an error log line.
        metrics.add_metric(name="FailedRuns", unit=MetricUnit.Count, value=1)
        raise

    publish_metrics(result)
    response = result.as_response()
    logger.info("usage aggregated", extra=response)
    return response


def publish_metrics(result: JobResult) -> None:
    """Per-app totals, one EMF document per app whose only dimension is the app (the
    platform dashboard reads them so); then the job's own figures."""
    by_app: dict[str, list[tuple[str, int]]] = {}
    for (app, metric), value in result.app_totals().items():
        by_app.setdefault(app, []).append((metric, value))
    for app, totals in by_app.items():
        per_app = EphemeralMetrics(namespace=namespace, service="")
        per_app.add_dimension(name="app", value=app)
        for metric, value in totals:
            unit = MetricUnit.Bytes if metric in BYTE_METRICS else MetricUnit.Count
            per_app.add_metric(name=metric, unit=unit, value=value)
        per_app.flush_metrics()
    summary = result.alb.summary
    metrics.add_metric(name="UsageRows", unit=MetricUnit.Count, value=len(result.rows))
    metrics.add_metric(
        name="UnattributedEntries", unit=MetricUnit.Count, value=sum(summary.unattributed.values())
    )
    metrics.add_metric(name="MalformedLogLines", unit=MetricUnit.Count, value=summary.malformed)
    metrics.add_metric(name="OverQuotaEvents", unit=MetricUnit.Count, value=result.quota_events)


def s3_client() -> S3Client:
    if "s3" not in _clients:
        import boto3

        _clients["s3"] = boto3.client("s3")
    return cast("S3Client", _clients["s3"])


def events_client() -> EventSender:
    if "events" not in _clients:
        import boto3

        _clients["events"] = boto3.client("events")
    return cast(EventSender, _clients["events"])


def databases() -> tuple[Database, dict[str, Database]]:
    """The core database (control plane) and each app's (usage reader), reused while warm."""
    if not _databases:
        from lambdas.shared.databases import CORE, Access
        from lambdas.shared.db import Database, Timeouts

        _databases[CORE] = Database(CORE, Access.APP)
        reads = Timeouts(statement_ms=APP_QUERY_TIMEOUT_MS)
        for app in APPS:
            _databases[app] = Database(app, Access.USAGE, timeouts=reads)
    return _databases["core"], {app: _databases[app] for app in APPS}


def reset() -> None:
    """Forget clients and close connections, e.g. after a test changed the environment."""
    _clients.clear()
    for database in _databases.values():
        database.close()
    _databases.clear()
