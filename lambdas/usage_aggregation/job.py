"""One run of the daily usage job: read both sources, replace the day, report, settle quotas.

The day's rows are recomputed from the sources on every run and replace the stored ones in
one transaction, so a re-run or a replayed log file cannot double count, and the same day
twice gives identical rows and a byte-identical report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from lambdas.usage_aggregation.alb_logs import METRICS, AlbUsage
from lambdas.usage_aggregation.app_events import AppUsage, read_app_usage
from lambdas.usage_aggregation.core_usage import (
    ACTIVE,
    JOB_LOCK_SQL,
    SubscriptionQuota,
    Tenant,
    UsageRow,
    flag_over_quota,
    load_tenants,
    month_quotas,
    replace_day,
    stored_rows,
    unflag,
)
from lambdas.usage_aggregation.log_files import collect_alb_usage
from lambdas.usage_aggregation.report import render, report_key, sort_rows
from lambdas.usage_aggregation.settings import Settings
from lambdas.usage_aggregation.window import day_window

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from psycopg2.extensions import cursor

    from lambdas.shared.db import Database

logger = Logger(child=True)

OVER_QUOTA_DETAIL_TYPE = "TenantOverQuota"
PUT_EVENTS_BATCH = 10  # EventBridge PutEvents accepts at most 10 entries per call


class EventSender(Protocol):
    """The one EventBridge call the job makes."""

    def put_events(self, *, Entries: list[dict[str, str]]) -> Mapping[str, Any]: ...  # noqa: N803


class EventDeliveryError(RuntimeError):
    """EventBridge refused an over-quota event; the transaction that flagged it rolls back."""


@dataclass
class JobResult:
    day: date
    rows: list[UsageRow]
    report_key: str
    alb: AlbUsage
    app_events_skipped: Counter[str] = field(default_factory=Counter)
    over_quota: list[str] = field(default_factory=list)
    quota_events: int = 0
    unflagged: int = 0

    def app_totals(self) -> dict[tuple[str, str], int]:
        """Per (app, metric) totals over every tenant, for CloudWatch."""
        totals: Counter[tuple[str, str]] = Counter()
        for row in self.rows:
            totals[(row.app, row.metric)] += row.value
        return dict(sorted(totals.items()))

    def as_response(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "tenants": len({row.tenant_id for row in self.rows}),
            "rows": len(self.rows),
            "report_key": self.report_key,
            "summary": {
                "alb": self.alb.summary.as_dict(),
                "app_events_skipped": dict(sorted(self.app_events_skipped.items())),
                "over_quota": self.over_quota,
                "quota_events": self.quota_events,
                "quota_flags_cleared": self.unflagged,
            },
        }


def run_job(
    day: date,
    settings: Settings,
    *,
    s3: S3Client,
    events: EventSender,
    core: Database,
    apps: Mapping[str, Database],
    allow_empty: bool = False,
) -> JobResult:
    """Aggregate `day` and replace its stored rows; a day with no source at all replaces
    stored rows only with `allow_empty` (SourcesGoneError otherwise)."""
    start, end = day_window(day)
    with core.as_control_plane() as cur:
        tenants = load_tenants(cur)
    active = {tenant.slug: tenant.id for tenant in tenants if tenant.status == ACTIVE}
    inactive = [tenant.slug for tenant in tenants if tenant.status != ACTIVE]

    alb = collect_alb_usage(s3, settings, day, active, inactive)
    app_usage: list[AppUsage] = []
    for app, database in apps.items():
        with database.without_tenant() as cur:
            app_usage.extend(read_app_usage(cur, app, start, end))
    rows, skipped = merge_rows(alb, app_usage, tenants)

    result = JobResult(day, rows, report_key(day), alb, skipped)
    with core.as_control_plane() as cur:
        cur.execute(JOB_LOCK_SQL)
        if alb.summary.files == 0 and not app_usage and not allow_empty:
            _refuse_to_empty(cur, day)
        replace_day(cur, day, rows)
        settle_quotas(cur, events, settings, result)

    s3.put_object(
        Bucket=settings.document_bucket,
        Key=result.report_key,
        Body=render(day, rows),
        ContentType="text/csv; charset=utf-8",
    )
    return result


class SourcesGoneError(RuntimeError):
    """A day that has usage rows would be replaced by nothing: its sources are gone."""


def _refuse_to_empty(cur: cursor, day: date) -> None:
    """A day with neither a log file nor an app event replaces no stored rows: a backfill
    after the log files expired (the log bucket's lifecycle) or the app events were removed
    would otherwise delete usage that was billed. A day that never had rows is written
    empty, as a day without traffic is."""
    kept = stored_rows(cur, day)
    if kept:
        raise SourcesGoneError(
            f"{day.isoformat()}: no ALB log file and no app usage event found, but the day "
            f"holds {kept} usage rows; they are kept and nothing was changed (log files "
            f"expire with the log bucket's lifecycle, app events with their retention). To "
            f'clear the day on purpose: {{"date": "{day.isoformat()}", "allow_empty": true}}'
        )


def merge_rows(
    alb: AlbUsage, app_usage: list[AppUsage], tenants: list[Tenant]
) -> tuple[list[UsageRow], Counter[str]]:
    """The day's rows from both sources; app events of tenants that are not active, or
    named like an ALB metric, are counted in the returned Counter instead."""
    by_slug = {tenant.slug: tenant for tenant in tenants}
    by_id = {tenant.id: tenant for tenant in tenants}
    rows = [
        UsageRow(by_slug[slug].id, slug, app, metric, value)
        for slug, app, metric, value in alb.rows()
    ]
    skipped: Counter[str] = Counter()
    for usage in app_usage:
        tenant = by_id.get(usage.tenant_id)
        if tenant is None:
            skipped["unknown_tenant"] += usage.events
        elif tenant.status != ACTIVE:
            skipped["inactive_tenant"] += usage.events
        elif usage.metric in METRICS:
            skipped["reserved_metric"] += usage.events
        else:
            rows.append(UsageRow(tenant.id, tenant.slug, usage.app, usage.metric, usage.value))
    if skipped:
        logger.warning("app usage events not counted", extra={"events": dict(skipped)})
    return sort_rows(rows), skipped


def settle_quotas(cur: cursor, events: EventSender, settings: Settings, result: JobResult) -> None:
    """Flag subscriptions over a quota this month and raise one event per new flag."""
    month = result.day.replace(day=1)
    crossings: list[SubscriptionQuota] = []
    for quota in month_quotas(cur, month):
        if quota.over:
            result.over_quota.append(quota.tenant_slug)
            if flag_over_quota(cur, quota, month):
                crossings.append(quota)
        elif quota.flagged_month == month and unflag(cur, quota, month):
            result.unflagged += 1
    # Limitation: the events go out before the transaction that moved the flags commits, so
    # a commit that fails after PutEvents succeeded sends them again on the retry (never zero
    # times). Workaround: consumers dedupe on (subscription_id, month), which the detail
    # carries. An outbox table would make it exactly once:
    # https://docs.aws.amazon.com/prescriptive-guidance/latest/cloud-design-patterns/transactional-outbox.html
    entries = [_over_quota_entry(quota, month, result.day, settings) for quota in crossings]
    for first in range(0, len(entries), PUT_EVENTS_BATCH):
        response = events.put_events(Entries=entries[first : first + PUT_EVENTS_BATCH])
        if response.get("FailedEntryCount"):
            raise EventDeliveryError(
                f"EventBridge refused {response['FailedEntryCount']} {OVER_QUOTA_DETAIL_TYPE} "
                f"events: {response.get('Entries')}"
            )
    result.quota_events = len(entries)
    if crossings:
        logger.info(
            "subscriptions went over quota",
            extra={"tenants": [quota.tenant_slug for quota in crossings], "month": str(month)},
        )


def _over_quota_entry(
    quota: SubscriptionQuota, month: date, day: date, settings: Settings
) -> dict[str, str]:
    detail = {
        "tenant_id": quota.tenant_id,
        "tenant_slug": quota.tenant_slug,
        "subscription_id": quota.subscription_id,
        "plan": quota.plan,
        "month": f"{month:%Y-%m}",
        "date": day.isoformat(),
        "over": [
            {"metric": use.metric, "value": use.value, "limit": use.limit} for use in quota.over
        ],
    }
    return {
        "Source": settings.event_source,
        "DetailType": OVER_QUOTA_DETAIL_TYPE,
        "Detail": json.dumps(detail, sort_keys=True),
        "EventBusName": settings.event_bus_name,
    }
