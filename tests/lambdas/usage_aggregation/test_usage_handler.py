"""The usage aggregation Lambda end to end: real PostgreSQL (local platform), S3, EventBridge,
SQS and CloudWatch emulated in-process by moto.

Each test aggregates its own days of a year picked at random per session among 1100-1999, so
concurrent test sessions on the same server and other test folders cannot meet its rows.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from lambdas.usage_aggregation import handler
from lambdas.usage_aggregation.job import SourcesGoneError
from lambdas.usage_aggregation.window import InvalidEventError
from scripts.lambda_context import lambda_context

from .platform_support import TenantFactory, core_query
from .support import ACCOUNT, DOMAIN, REGION, alb_line, event, gz, sample_figures, sample_lines

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

YEAR = random.SystemRandom().randrange(1100, 2000)
LOG_BUCKET = "usage-test-logs"
DOCUMENT_BUCKET = "usage-test-documents"
GIB = 1 << 30


@dataclass
class Aws:
    s3: S3Client
    sqs: SQSClient
    queue_url: str


@pytest.fixture
def aws(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in platform_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("PLATFORM_DOMAIN", DOMAIN)
    monkeypatch.setenv("LOG_BUCKET", LOG_BUCKET)
    monkeypatch.setenv("DOCUMENT_BUCKET", DOCUMENT_BUCKET)
    handler.reset()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (LOG_BUCKET, DOCUMENT_BUCKET):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="over-quota")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        events = boto3.client("events", region_name=REGION)
        events.put_rule(
            Name="over-quota", EventPattern=json.dumps({"detail-type": ["TenantOverQuota"]})
        )
        events.put_targets(
            Rule="over-quota",
            Targets=[{"Id": "queue", "Arn": queue_arn["Attributes"]["QueueArn"]}],
        )
        yield Aws(s3, sqs, queue_url)
    handler.reset()


@pytest.fixture
def tenants(aws: Aws) -> Iterator[TenantFactory]:
    factory = TenantFactory()
    yield factory
    factory.remove_all()


def day_of(month: int, day: int) -> date:
    return date(YEAR, month, day)


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S.%f}Z"


def at(day: date, hour: int = 12, minute: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(
        microseconds=micro
    )


def put_log(aws: Aws, end: datetime, lines: list[str], random_part: str = "2x3y4z5w") -> str:
    """Store `lines` as the log file ALB writes for the interval ending at `end`."""
    key = (
        f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/{end:%Y/%m/%d}/{ACCOUNT}_"
        f"elasticloadbalancing_{REGION}_app.platform-dev-alb.5d1f2e3a4b6c7d8e_"
        f"{end:%Y%m%dT%H%MZ}_203.0.113.10_{random_part}.log.gz"
    )
    aws.s3.put_object(Bucket=LOG_BUCKET, Key=key, Body=gz(lines))
    return key


def invoke(payload: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.handler(
        payload,
        lambda_context("platform-dev-usage-aggregation", memory_limit_in_mb=512),
    )
    return response


def backfill(day: date) -> dict[str, Any]:
    return invoke({"date": day.isoformat()})


def stored(day: date, tag: str) -> dict[tuple[str, str, str], int]:
    rows = core_query(
        "SELECT t.slug, d.app, d.metric, d.value FROM daily_usage AS d "
        "JOIN tenants AS t ON t.id = d.tenant_id WHERE d.usage_date = %s AND t.slug LIKE %s",
        (day, f"%-{tag}"),
    )
    return {(slug, app, metric): int(value) for slug, app, metric, value in rows}


def report(aws: Aws, key: str) -> bytes:
    return aws.s3.get_object(Bucket=DOCUMENT_BUCKET, Key=key)["Body"].read()


def over_quota_events(aws: Aws) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)
        messages = batch.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])


def sample_for(day: date, tenants: TenantFactory) -> list[str]:
    """The shared sample moved to `day`, its tenants renamed to this test's slugs."""
    lines = []
    for line in sample_lines():
        moved = line.replace("2026-11-30", day.isoformat())
        for name in ("acme", "globex", "initech"):
            moved = moved.replace(f"{name}.{DOMAIN}", f"{tenants.slug(name)}.{DOMAIN}")
        lines.append(moved)
    return lines


def create_sample_tenants(tenants: TenantFactory) -> None:
    for name in ("acme", "globex", "initech"):
        tenants.create(name)


def test_handler_sample_day_gives_the_documented_rows_and_report(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 10)
    create_sample_tenants(tenants)
    put_log(aws, at(day, 23, 55), sample_for(day, tenants))

    response = backfill(day)

    expected = {
        (tenants.slug(tenant), app, metric): value
        for (tenant, app), figures in sample_figures().items()
        for metric, value in {**figures, "blocked": 0}.items()
    }
    expected[(tenants.slug("acme"), "crm", "blocked")] = 1
    assert stored(day, tenants.tag) == expected
    assert response["date"] == day.isoformat()
    assert (response["tenants"], response["rows"]) == (3, 25)
    assert response["report_key"] == f"reports/usage/{day:%Y/%m/%d}.csv"
    assert response["summary"]["alb"]["unattributed"] == {"apex": 1, "unknown_app": 1}
    assert response["summary"]["alb"]["malformed_lines"] == 0
    lines = list(csv.reader(io.StringIO(report(aws, response["report_key"]).decode())))
    assert lines[0] == ["date", "tenant_id", "tenant_slug", "app", "metric", "value"]
    body = [(slug, app, metric, int(value)) for _, _, slug, app, metric, value in lines[1:]]
    assert body == sorted(body)
    assert {(slug, app, metric): value for slug, app, metric, value in body} == expected
    assert {row[0] for row in lines[1:]} == {day.isoformat()}


def test_handler_same_day_twice_gives_identical_rows_and_report(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 11)
    create_sample_tenants(tenants)
    put_log(aws, at(day, 23, 55), sample_for(day, tenants))

    first = backfill(day)
    first_rows, first_report = stored(day, tenants.tag), report(aws, first["report_key"])
    second = backfill(day)

    assert second == first
    assert stored(day, tenants.tag) == first_rows
    assert report(aws, second["report_key"]) == first_report
    assert first_rows[(tenants.slug("acme"), "crm", "requests")] == 3


def test_handler_rerun_replaces_the_day_and_never_increments(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 12)
    acme = tenants.create("acme")
    tenants.create("globex")
    globex_line = alb_line(host=f"{tenants.slug('globex')}.{DOMAIN}", created=stamp(at(day)))
    key = put_log(aws, at(day, 10, 5), [globex_line])
    tenants.add_events("crm", acme, [(at(day), "records_created", 4)])
    backfill(day)
    before = stored(day, tenants.tag)

    aws.s3.delete_object(Bucket=LOG_BUCKET, Key=key)
    tenants.add_events("crm", acme, [(at(day, 13), "records_created", 1)])
    backfill(day)

    assert before[(tenants.slug("globex"), "crm", "requests")] == 1
    assert before[(tenants.slug("acme"), "crm", "records_created")] == 4
    assert stored(day, tenants.tag) == {(tenants.slug("acme"), "crm", "records_created"): 5}


def test_handler_day_whose_sources_are_gone_keeps_its_rows(
    aws: Aws, tenants: TenantFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    day = day_of(1, 14)
    tenants.create("globex")
    line = alb_line(host=f"{tenants.slug('globex')}.{DOMAIN}", created=stamp(at(day)))
    key = put_log(aws, at(day, 10, 5), [line])
    first = backfill(day)
    before = stored(day, tenants.tag)
    aws.s3.delete_object(Bucket=LOG_BUCKET, Key=key)  # as the log bucket's lifecycle would
    aws.s3.delete_object(Bucket=DOCUMENT_BUCKET, Key=first["report_key"])

    with pytest.raises(SourcesGoneError, match=f"{day.isoformat()}: no ALB log file .* kept"):
        backfill(day)

    printed = capsys.readouterr().out.splitlines()
    documents = [json.loads(line) for line in printed if '"_aws"' in line]
    assert documents[-1]["DaysKept"] == [1.0]

    assert before[(tenants.slug("globex"), "crm", "requests")] == 1
    assert stored(day, tenants.tag) == before
    reports = aws.s3.list_objects_v2(Bucket=DOCUMENT_BUCKET, Prefix=first["report_key"])
    assert reports.get("KeyCount", 0) == 0
    cleared = invoke({"date": day.isoformat(), "allow_empty": True})
    assert cleared["rows"] == 0
    assert stored(day, tenants.tag) == {}


def test_handler_replayed_log_files_do_not_double_count(aws: Aws, tenants: TenantFactory) -> None:
    day = day_of(1, 13)
    create_sample_tenants(tenants)
    lines = sample_for(day, tenants)
    key = put_log(aws, at(day, 23, 55), lines)
    aws.s3.copy_object(
        Bucket=LOG_BUCKET, Key=key.replace("2x3y4z5w", "copy0001"), CopySource=f"{LOG_BUCKET}/{key}"
    )
    aws.s3.copy_object(Bucket=LOG_BUCKET, Key=f"{key}.replay.gz", CopySource=f"{LOG_BUCKET}/{key}")
    aws.s3.put_object(
        Bucket=LOG_BUCKET,
        Key=key.replace("2x3y4z5w", "rezipped"),
        Body=gzip.compress("\n".join(lines).encode(), compresslevel=1),
    )

    response = backfill(day)

    assert stored(day, tenants.tag)[(tenants.slug("acme"), "crm", "requests")] == 3
    assert stored(day, tenants.tag)[(tenants.slug("acme"), "crm", "bytes_in")] == 2214
    alb = response["summary"]["alb"]
    assert (alb["files"], alb["duplicate_files"], alb["duplicate_entries"]) == (2, 2, 11)


@pytest.mark.parametrize("time_zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_handler_scheduled_event_far_from_utc_aggregates_the_previous_utc_day(
    aws: Aws, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch, time_zone: str
) -> None:
    day = day_of(1, 14)
    tenants.create("acme")
    acme = tenants.slug("acme")
    put_log(
        aws,
        at(day + timedelta(days=1), 0, 5),
        [
            alb_line(host=f"{acme}.{DOMAIN}", created=stamp(at(day, 0, 0))),
            alb_line(host=f"{acme}.{DOMAIN}", created=stamp(at(day, 23, 59, 59_999_999))),
            alb_line(host=f"{acme}.{DOMAIN}", created=stamp(at(day + timedelta(days=1), 0, 0))),
        ],
    )
    backfilled = backfill(day)
    utc_rows = stored(day, tenants.tag)
    monkeypatch.setenv("TZ", time_zone)
    time.tzset()
    try:
        scheduled = invoke(
            {**event("scheduled_event.json"), "time": f"{day + timedelta(days=1)}T00:05:00Z"}
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

    assert scheduled == backfilled
    assert stored(day, tenants.tag) == utc_rows
    assert utc_rows[(acme, "crm", "requests")] == 2


def test_handler_day_boundaries_and_entries_of_the_day_in_next_day_files(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 15)
    tenants.create("acme")
    host = f"{tenants.slug('acme')}.{DOMAIN}"
    put_log(aws, at(day, 0, 5), [alb_line(host=host, created=stamp(at(day, 0, 0)))])
    put_log(
        aws,
        at(day + timedelta(days=1), 0, 5),
        [
            alb_line(host=host, created=stamp(at(day, 23, 59, 59_999_999)), path="/hr/x"),
            alb_line(host=host, created=stamp(at(day + timedelta(days=1), 0, 0)), path="/hr/y"),
        ],
    )

    response = backfill(day)

    rows = stored(day, tenants.tag)
    assert rows[(tenants.slug("acme"), "crm", "requests")] == 1
    assert rows[(tenants.slug("acme"), "hr", "requests")] == 1
    assert response["summary"]["alb"]["outside_window"] == 1


def test_handler_unattributed_entries_and_malformed_lines_in_the_summary(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 16)
    tenants.create("acme")
    tenants.create("umbrella", status="offboarded")
    created = stamp(at(day))
    put_log(
        aws,
        at(day, 12, 5),
        [
            alb_line(host=f"{tenants.slug('acme')}.{DOMAIN}", created=created) + ' "new-field"',
            alb_line(host=f"hooli-{tenants.tag}.{DOMAIN}", created=created),
            alb_line(host=f"{tenants.slug('acme')}.{DOMAIN}", path="/payroll/x", created=created),
            alb_line(host=DOMAIN, created=created),
            alb_line(host=f"{tenants.slug('umbrella')}.{DOMAIN}", created=created),
            "not an access log entry",
            alb_line(created=created)[:120],
        ],
    )

    response = backfill(day)

    alb = response["summary"]["alb"]
    assert alb["unattributed"] == {
        "apex": 1,
        "inactive_tenant": 1,
        "unknown_app": 1,
        "unknown_tenant": 1,
    }
    assert alb["malformed_lines"] == 2
    assert stored(day, tenants.tag)[(tenants.slug("acme"), "crm", "requests")] == 1


def test_handler_app_usage_events_are_summed_per_tenant_app_and_metric(
    aws: Aws, tenants: TenantFactory
) -> None:
    day = day_of(1, 17)
    acme, globex = tenants.create("acme"), tenants.create("globex")
    gone = tenants.create("umbrella", status="offboarding")
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    tenants.add_events(
        "crm",
        acme,
        [
            (at(day, 0, 0), "records_created", 2),
            (at(day, 23, 59, 59_999_999), "records_created", 3),
            (at(day, 9), "exports", 1),
            (at(before, 23, 59, 59_999_999), "records_created", 100),
            (at(after, 0, 0), "records_created", 100),
            (at(day, 10), "requests", 7),
        ],
    )
    tenants.add_events("hr", acme, [(at(day), "records_created", 5)])
    tenants.add_events("crm", globex, [(at(day), "records_created", 1)] * 4)
    tenants.add_events("inventory", gone, [(at(day), "records_created", 9)])

    response = backfill(day)

    assert stored(day, tenants.tag) == {
        (tenants.slug("acme"), "crm", "exports"): 1,
        (tenants.slug("acme"), "crm", "records_created"): 5,
        (tenants.slug("acme"), "hr", "records_created"): 5,
        (tenants.slug("globex"), "crm", "records_created"): 4,
    }
    assert response["summary"]["app_events_skipped"] == {
        "inactive_tenant": 1,
        "reserved_metric": 1,
    }


def test_handler_quota_crossing_raises_exactly_one_event(aws: Aws, tenants: TenantFactory) -> None:
    first, second, third = day_of(3, 1), day_of(3, 2), day_of(3, 3)
    tenant_id = tenants.create("acme", plan="starter")
    tenants.create("globex", plan="starter")
    host = f"{tenants.slug('acme')}.{DOMAIN}"
    for day in (first, second, third):
        put_log(
            aws, at(day, 12, 5), [alb_line(host=host, created=stamp(at(day)), sent=str(3 * GIB))]
        )

    under = backfill(first)
    events_under = over_quota_events(aws)
    crossed = backfill(second)
    events_crossed = over_quota_events(aws)
    again = [backfill(third), backfill(second), backfill(first)]
    events_again = over_quota_events(aws)

    assert under["summary"]["over_quota"] == [] and events_under == []
    assert crossed["summary"]["over_quota"] == [tenants.slug("acme")]
    assert crossed["summary"]["quota_events"] == 1
    assert len(events_crossed) == 1
    assert events_crossed[0]["detail-type"] == "TenantOverQuota"
    assert events_crossed[0]["source"] == "tenant-platform.usage"
    detail = events_crossed[0]["detail"]
    assert (detail["tenant_id"], detail["tenant_slug"]) == (tenant_id, tenants.slug("acme"))
    assert (detail["plan"], detail["month"]) == ("starter", f"{YEAR}-03")
    assert detail["over"] == [{"metric": "bytes_out", "value": 6 * GIB, "limit": 5 * GIB}]
    assert events_again == []
    assert [run["summary"]["quota_events"] for run in again] == [0, 0, 0]
    flags = core_query(
        "SELECT over_quota_month FROM subscriptions WHERE tenant_id = %s AND status = 'active'",
        (tenant_id,),
    )
    assert flags == [(first,)]


def test_handler_quota_flag_follows_recomputed_usage_and_months(
    aws: Aws, tenants: TenantFactory
) -> None:
    march, april = day_of(3, 20), day_of(4, 2)
    tenants.create("acme", plan="starter")
    host = f"{tenants.slug('acme')}.{DOMAIN}"
    line = alb_line(host=host, created=stamp(at(march)), sent=str(6 * GIB))
    key = put_log(aws, at(march, 12, 5), [line])
    backfill(march)
    assert len(over_quota_events(aws)) == 1

    aws.s3.delete_object(Bucket=LOG_BUCKET, Key=key)
    cleared = invoke({"date": march.isoformat(), "allow_empty": True})
    put_log(aws, at(march, 12, 5), [line])
    crossed_again = backfill(march)
    put_log(
        aws, at(april, 12, 5), [alb_line(host=host, created=stamp(at(april)), sent=str(6 * GIB))]
    )
    next_month = backfill(april)
    backfill(march)

    assert cleared["summary"]["quota_flags_cleared"] == 1
    assert crossed_again["summary"]["quota_events"] == 1
    assert next_month["summary"]["quota_events"] == 1
    months = [event["detail"]["month"] for event in over_quota_events(aws)]
    assert months == [f"{YEAR}-03", f"{YEAR}-04"]


def test_handler_publishes_per_app_totals_without_tenant_dimensions(
    aws: Aws,
    tenants: TenantFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "usage-aggregation")
    day = day_of(1, 18)
    create_sample_tenants(tenants)
    put_log(aws, at(day, 23, 55), sample_for(day, tenants))
    capsys.readouterr()

    backfill(day)

    documents = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    per_app = {
        (doc["app"], metric["Name"]): doc[metric["Name"]]
        for doc in documents
        if "app" in doc
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert per_app[("crm", "requests")] == [3.0]
    assert per_app[("crm", "bytes_in")] == [2214.0]
    assert per_app[("hr", "errors_5xx")] == [1.0]
    assert per_app[("inventory", "bytes_out")] == [22051.0]
    assert len(per_app) == 5 * 5
    app_dimensions = [
        metric_set["Dimensions"]
        for doc in documents
        if "app" in doc
        for metric_set in doc["_aws"]["CloudWatchMetrics"]
    ]
    assert app_dimensions == [[["app"]]] * 5
    dimensions = {
        name
        for doc in documents
        for metric_set in doc["_aws"]["CloudWatchMetrics"]
        for group in metric_set["Dimensions"]
        for name in group
    }
    assert dimensions <= {"app", "service"}
    assert any("UsageRows" in doc for doc in documents)


def test_handler_invalid_event_names_the_field(aws: Aws) -> None:
    with pytest.raises(InvalidEventError, match="'date' must be a string formatted YYYY-MM-DD"):
        invoke(event("invalid_date_event.json"))
