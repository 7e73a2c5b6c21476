"""A day of usage into the emulated platform, and the daily aggregation over it.

ALB access log files go to the log bucket of the deployed stack, usage events into each
app's database as the tenant (the runtime role, as the app would write them); both writes
are idempotent. The aggregation runs as the schedule runs it: an EventBridge scheduled event
for the next day 00:30 UTC, which means "the full UTC day before".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

from environments.config import EnvironmentConfig
from lambdas.shared.databases import Access
from lambdas.shared.db import Database
from modules.naming import Naming
from scripts.demo_functions import Function, invoke, scheduled_event
from scripts.demo_onboarding import TenantSpec
from scripts.demo_traffic import DemoTenant, LoadBalancer, Traffic, generate, log_objects

SCHEDULE_TIME = time(0, 30)
INSERT_EVENTS = (
    "INSERT INTO usage_events (tenant_id, id, occurred_at, metric, quantity) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, id) DO NOTHING"
)


@dataclass(frozen=True)
class Written:
    traffic: Traffic
    log_keys: list[str]
    events_inserted: int
    events_total: int


@dataclass(frozen=True)
class Aggregated:
    schedule: str  # the rule's name and expression
    response: dict[str, Any]
    report_bucket: str
    report: list[dict[str, str]]  # the CSV's rows, as the report lies in the bucket

    @property
    def report_key(self) -> str:
        return str(self.response["report_key"])


def load_balancer(elbv2: Any, acm: Any, config: EnvironmentConfig) -> LoadBalancer:
    """The deployed ALB, its target groups and certificate, from the emulator."""
    naming = Naming.for_environment(config)
    found = elbv2.describe_load_balancers(Names=[naming.alb()])["LoadBalancers"][0]
    groups = elbv2.describe_target_groups(Names=[naming.target_group(app) for app in config.apps])[
        "TargetGroups"
    ]
    by_name = {group["TargetGroupName"]: group["TargetGroupArn"] for group in groups}
    certificates = acm.list_certificates()["CertificateSummaryList"]
    certificate = next(
        c["CertificateArn"] for c in certificates if c["DomainName"] == config.domain_name
    )
    return LoadBalancer(
        arn=found["LoadBalancerArn"],
        target_groups={app: by_name[naming.target_group(app)] for app in config.apps},
        listener_priorities={
            app: app_config.listener_priority for app, app_config in config.apps.items()
        },
        certificate_arn=certificate,
        account=config.account_id,
        region=config.region,
    )


def write_day(
    day: date,
    tenants: Sequence[TenantSpec],
    tenant_ids: Mapping[str, str],
    tenant_apps: Mapping[str, Sequence[str]],
    *,
    config: EnvironmentConfig,
    alb: LoadBalancer,
    s3: Any,
    log_bucket: str,
    platform_env: Mapping[str, str],
) -> Written:
    """The day's log files into the log bucket and its usage events into the app databases."""
    demo = [
        DemoTenant(t.slug, tuple(tenant_apps[t.slug]), t.daily_requests, t.app_events)
        for t in tenants
    ]
    traffic = generate(day, demo, config.domain_name)
    objects = log_objects(traffic, alb)
    for key, body in objects.items():
        s3.put_object(Bucket=log_bucket, Key=key, Body=body, ContentType="application/gzip")
    inserted = total = 0
    for app in config.apps:
        database = Database(app, Access.APP, environ=platform_env)
        try:
            for (slug, event_app), events in traffic.events.items():
                if event_app != app:
                    continue
                with database.as_tenant(tenant_ids[slug]) as cur:
                    for event in events:
                        row = (tenant_ids[slug], event.id, event.occurred_at, event.metric)
                        cur.execute(INSERT_EVENTS, (*row, event.quantity))
                        inserted += cur.rowcount
                total += len(events)
        finally:
            database.close()
    return Written(traffic, sorted(objects), inserted, total)


def aggregate(
    function: Function,
    day: date,
    config: EnvironmentConfig,
    *,
    events: Any,
    lambda_client: Any,
    s3: Any,
    log: TextIO,
) -> Aggregated:
    """The usage function for `day`, invoked by its schedule's event; and the CSV it wrote."""
    naming = Naming.for_environment(config)
    rules = events.list_rules(NamePrefix=naming.base)["Rules"]
    rule = next(r for r in rules if r.get("ScheduleExpression"))
    _check_invoke_permission(lambda_client, function, rule["Arn"])
    # The rule fires at 00:30 UTC the day after; the function refuses a 'time' in the future,
    # so a demo run just after midnight sends the time it runs instead (the same day).
    at = min(
        datetime.combine(day + timedelta(days=1), SCHEDULE_TIME, tzinfo=UTC), datetime.now(UTC)
    )
    event = scheduled_event(rule["Arn"], at, config.account_id, config.region)
    response: dict[str, Any] = invoke(function, event, log)
    bucket = function.environment["DOCUMENT_BUCKET"]
    body = s3.get_object(Bucket=bucket, Key=response["report_key"])["Body"].read().decode()
    schedule = f"{rule['Name']} ({rule['ScheduleExpression']})"
    return Aggregated(schedule, response, bucket, list(csv.DictReader(io.StringIO(body))))


def _check_invoke_permission(lambda_client: Any, function: Function, rule_arn: str) -> None:
    """The function lets the schedule rule invoke it (the rule's target itself is left out
    of the emulator: see scripts/emulator_exclusions.py)."""
    policy = json.loads(lambda_client.get_policy(FunctionName=function.name)["Policy"])
    for statement in policy["Statement"]:
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        if statement.get("Principal", {}).get("Service") == "events.amazonaws.com" and (
            source == rule_arn
        ):
            return
    raise RuntimeError(f"{function.name} does not let the schedule {rule_arn} invoke it")
