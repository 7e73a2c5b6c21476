"""Finding and reading a day's ALB access log objects, against S3 emulated in-process."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from lambdas.usage_aggregation.alb_logs import AlbUsage
from lambdas.usage_aggregation.log_files import (
    collect_alb_usage,
    discover_sources,
    list_day_files,
    log_file,
)
from lambdas.usage_aggregation.settings import Settings

from .support import (
    ACCOUNT,
    DOMAIN,
    REGION,
    TENANTS,
    alb_line,
    gz,
    log_key,
    sample_figures,
    sample_lines,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "platform-dev-logs"
DAY = date(2026, 11, 30)
SETTINGS = Settings(platform_domain=DOMAIN, log_bucket=BUCKET)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Client]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def put(s3: S3Client, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def requests_of(usage: AlbUsage) -> dict[tuple[str, str], int]:
    return {(t, a): value for t, a, metric, value in usage.rows() if metric == "requests"}


def figures_of(usage: AlbUsage) -> dict[tuple[str, str], dict[str, int]]:
    expected_metrics = ("requests", "errors_5xx", "bytes_in", "bytes_out")
    figures: dict[tuple[str, str], dict[str, int]] = {}
    for tenant, app, metric, value in usage.rows():
        if metric in expected_metrics:
            figures.setdefault((tenant, app), {})[metric] = value
    return figures


def test_log_files_sample_in_the_bucket_gives_the_documented_figures(s3: S3Client) -> None:
    put(s3, log_key("2026/11/30", "20261130T2355Z"), gz(sample_lines()))

    usage = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert figures_of(usage) == sample_figures()
    assert usage.summary.as_dict()["unattributed"] == {"apex": 1, "unknown_app": 1}
    assert usage.summary.files == 1


def test_log_files_entry_of_a_day_in_an_early_file_of_the_next_day(s3: S3Client) -> None:
    last = alb_line(created="2026-11-30T23:59:59.999999Z", time="2026-12-01T00:00:00.300000Z")
    first = alb_line(created="2026-12-01T00:00:00.000000Z", time="2026-12-01T00:00:00.100000Z")
    put(s3, log_key("2026/12/01", "20261201T0005Z"), gz([last, first]))

    day = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)
    next_day = collect_alb_usage(s3, SETTINGS, date(2026, 12, 1), TENANTS)

    assert requests_of(day) == {("acme", "crm"): 1}
    assert day.summary.outside_window == 1
    assert requests_of(next_day) == {("acme", "crm"): 1}
    assert next_day.summary.outside_window == 1


def test_log_files_next_day_files_after_the_early_window_are_not_read(s3: S3Client) -> None:
    # A WebSocket connection opened before midnight and closed 20 minutes after it.
    late = alb_line(kind="wss", created="2026-11-30T23:50:00.000000Z", time="2026-12-01T00:19:00Z")
    put(s3, log_key("2026/12/01", "20261201T0020Z"), gz([late]))

    default = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)
    wider = collect_alb_usage(s3, replace(SETTINGS, next_day_minutes=20), DAY, TENANTS)

    assert requests_of(default) == {}
    assert default.summary.files == 0
    assert requests_of(wider) == {("acme", "crm"): 1}


def test_log_files_list_day_files_picks_the_day_and_the_early_next_day(s3: S3Client) -> None:
    keys = {
        "previous-day": log_key("2026/11/29", "20261129T2355Z"),
        "first": log_key("2026/11/30", "20261130T0000Z"),
        "last": log_key("2026/11/30", "20261130T2355Z"),
        "next-0000": log_key("2026/12/01", "20261201T0000Z"),
        "next-0015": log_key("2026/12/01", "20261201T0015Z"),
        "next-0020": log_key("2026/12/01", "20261201T0020Z"),
        "next-unnamed": f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/12/01/copy.log.gz",
    }
    for name, key in keys.items():
        put(s3, key, gz([alb_line(trace=name)]))

    files = list_day_files(s3, BUCKET, "", [(ACCOUNT, REGION)], DAY, 15)

    assert sorted(item.key for item in files) == sorted(
        keys[name] for name in ("first", "last", "next-0000", "next-0015", "next-unnamed")
    )


def test_log_files_copied_object_is_read_once(s3: S3Client) -> None:
    key = log_key("2026/11/30", "20261130T1005Z")
    put(s3, key, gz(sample_lines()))
    for copy in (
        log_key("2026/11/30", "20261130T1005Z", random="replayed"),
        f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/11/30/replay/any-name.log.gz",
    ):
        s3.copy_object(Bucket=BUCKET, Key=copy, CopySource={"Bucket": BUCKET, "Key": key})

    usage = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert figures_of(usage) == sample_figures()
    assert usage.summary.duplicate_files == 2
    assert usage.summary.files == 1


def test_log_files_recompressed_replay_of_a_file_counts_each_entry_once(s3: S3Client) -> None:
    lines = sample_lines()
    put(s3, log_key("2026/11/30", "20261130T1005Z"), gz(lines))
    recompressed = gzip.compress("\n".join(lines).encode(), compresslevel=1)
    put(s3, log_key("2026/11/30", "20261130T1005Z", random="rewritten"), recompressed)

    usage = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert figures_of(usage) == sample_figures()
    assert usage.summary.files == 2
    assert usage.summary.duplicates == len(lines)


def test_log_files_files_of_other_nodes_and_intervals_all_count(s3: S3Client) -> None:
    line = alb_line()
    put(s3, log_key("2026/11/30", "20261130T1005Z", node="10.0.0.1"), gz([line]))
    put(s3, log_key("2026/11/30", "20261130T1005Z", node="10.0.0.2"), gz([alb_line(trace="b")]))
    put(s3, log_key("2026/11/30", "20261130T1010Z", node="10.0.0.1"), gz([alb_line(trace="c")]))

    usage = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert requests_of(usage) == {("acme", "crm"): 3}


def test_log_files_same_day_twice_gives_identical_rows(s3: S3Client) -> None:
    put(s3, log_key("2026/11/30", "20261130T2355Z"), gz(sample_lines()))

    first = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)
    second = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert first.rows() == second.rows()
    assert first.summary.as_dict() == second.summary.as_dict()


def test_log_files_account_and_region_are_discovered(s3: S3Client) -> None:
    other = log_key("2026/11/30", "20261130T1005Z").replace(REGION, "us-east-1")
    put(s3, log_key("2026/11/30", "20261130T1005Z"), gz([alb_line(path="/crm/a")]))
    put(s3, other, gz([alb_line(path="/hr/a")]))

    found = discover_sources(s3, BUCKET, "", None, None)
    everywhere = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)
    pinned = collect_alb_usage(
        s3, replace(SETTINGS, log_account_id=ACCOUNT, log_region=REGION), DAY, TENANTS
    )

    assert found == [(ACCOUNT, REGION), (ACCOUNT, "us-east-1")]
    assert requests_of(everywhere) == {("acme", "crm"): 1, ("acme", "hr"): 1}
    assert requests_of(pinned) == {("acme", "crm"): 1}


def test_log_files_prefix_of_the_access_log_setting(s3: S3Client) -> None:
    put(s3, "alb/dev/" + log_key("2026/11/30", "20261130T1005Z"), gz([alb_line()]))

    without = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)
    with_prefix = collect_alb_usage(s3, replace(SETTINGS, log_prefix="alb/dev/"), DAY, TENANTS)

    assert requests_of(without) == {}
    assert requests_of(with_prefix) == {("acme", "crm"): 1}


def test_log_files_corrupt_object_is_counted_and_the_rest_read(s3: S3Client) -> None:
    damaged = gz([alb_line(trace=f"t{i}") for i in range(2000)])
    put(s3, log_key("2026/11/30", "20261130T1005Z"), damaged[: len(damaged) // 2])
    put(s3, log_key("2026/11/30", "20261130T1010Z"), gz([alb_line(path="/hr/x")]))

    usage = collect_alb_usage(s3, SETTINGS, DAY, TENANTS)

    assert usage.summary.unreadable_files == 1
    assert requests_of(usage)[("acme", "hr")] == 1


@pytest.mark.parametrize(
    ("case", "name", "group", "end"),
    [
        (
            "alb-name",
            f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.platform-dev-alb.5d1f_20261201T0005Z"
            "_203.0.113.10_2x3y.log.gz",
            (ACCOUNT, REGION, "app.platform-dev-alb.5d1f", "203.0.113.10", "20261201T0005Z"),
            datetime(2026, 12, 1, 0, 5, tzinfo=UTC),
        ),
        ("other-name", "copy.log.gz", ("", "p/copy.log.gz"), None),
    ],
)
def test_log_files_names_give_the_dedupe_group_and_end_time(
    case: str, name: str, group: tuple[str, ...], end: datetime | None
) -> None:
    parsed = log_file(f"p/{name}", '"etag"', 10)

    assert (parsed.group, parsed.end) == (group, end), case
