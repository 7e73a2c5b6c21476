"""Which ALB access log objects hold a day's entries, and reading them into an AlbUsage.

ALB writes `<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/` objects
named `<account>_elasticloadbalancing_<region>_<lb>_<end>_<node ip>_<random>.log.gz`, one
per load balancer node every five minutes, under the day of the interval's end time.

Replays cannot double count: an object with the ETag and size of one already read is
skipped without being downloaded, and objects named for the same account, region, load
balancer, node and interval (the only files that can hold the same entries) are read as
one dedupe group in which a repeated entry counts once.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from lambdas.usage_aggregation.alb_logs import GZIP_ERRORS, AlbUsage
from lambdas.usage_aggregation.settings import Settings
from lambdas.usage_aggregation.window import day_path, day_window

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(child=True)

_NAME = re.compile(
    r"(?P<account>\d{12})_elasticloadbalancing_(?P<region>[a-z0-9-]+)_(?P<lb>[^_/]+)"
    r"_(?P<end>\d{8}T\d{4}Z)_(?P<node>[^_/]+)_[^_/]+\.log(?:\.gz)?"
)


@dataclass(frozen=True, order=True)
class LogFile:
    """One log object; `group` is (account, region, load balancer, node, interval end)
    from its name, or ("", key) when the name is not ALB's."""

    group: tuple[str, ...]
    key: str
    etag: str
    size: int
    end: datetime | None


def day_prefix(log_prefix: str, account: str, region: str, day: date) -> str:
    return f"{log_prefix}AWSLogs/{account}/elasticloadbalancing/{region}/{day_path(day)}/"


def log_file(key: str, etag: str, size: int) -> LogFile:
    match = _NAME.fullmatch(key.rpartition("/")[2])
    if match is None:
        return LogFile(("", key), key, etag, size, None)
    end = datetime.strptime(match["end"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    group = (match["account"], match["region"], match["lb"], match["node"], match["end"])
    return LogFile(group, key, etag, size, end)


def discover_sources(
    s3: S3Client, bucket: str, log_prefix: str, account: str | None, region: str | None
) -> list[tuple[str, str]]:
    """(account, region) pairs to read: the configured ones, or those found under AWSLogs/."""
    accounts = [account] if account else _children(s3, bucket, f"{log_prefix}AWSLogs/")
    return [
        (found, place)
        for found in accounts
        for place in (
            [region]
            if region
            else _children(s3, bucket, f"{log_prefix}AWSLogs/{found}/elasticloadbalancing/")
        )
    ]


def list_day_files(
    s3: S3Client,
    bucket: str,
    log_prefix: str,
    sources: list[tuple[str, str]],
    day: date,
    next_day_minutes: int,
) -> list[LogFile]:
    """Every object of the day's prefixes, and the early ones of the next day's prefixes.

    An object of the next day's prefix counts as early when the end time in its name is at
    most `next_day_minutes` after midnight; an object whose name carries no time is read.
    """
    start, end = day_window(day)
    horizon = end + timedelta(minutes=next_day_minutes)
    files: list[LogFile] = []
    for account, region in sources:
        files.extend(_objects(s3, bucket, day_prefix(log_prefix, account, region, day)))
        later = _objects(s3, bucket, day_prefix(log_prefix, account, region, end.date()))
        files.extend(item for item in later if item.end is None or item.end <= horizon)
    return sorted(files)


def read_files(s3: S3Client, bucket: str, files: list[LogFile], usage: AlbUsage) -> None:
    """Stream every file into `usage`, skipping copies and deduplicating within groups.

    Files named as ALB names them come first, so an object copied under another name is
    the one skipped, and the original stays in the group of its load balancer, node and
    interval, where a recompressed copy of it is deduplicated entry by entry.
    """
    # Limitation: a copy that was both renamed away from ALB's naming and recompressed has
    # neither the ETag nor the group of its original, so its entries count twice. Workaround:
    # replay log files under their original names (any prefix of the day works). File names:
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html#access-log-file-format
    read: set[tuple[str, int]] = set()
    ordered = sorted(files, key=lambda item: (item.end is None, item.group, item.key))
    for _, members in groupby(ordered, key=lambda item: item.group):
        fresh = []
        for item in members:
            if (item.etag, item.size) in read:
                usage.summary.duplicate_files += 1
                logger.info("duplicate log object skipped", extra={"key": item.key})
                continue
            read.add((item.etag, item.size))
            fresh.append(item)
        usage.begin_group()
        for item in fresh:
            _read_one(s3, bucket, item, usage, dedupe=len(fresh) > 1)


def _read_one(s3: S3Client, bucket: str, item: LogFile, usage: AlbUsage, *, dedupe: bool) -> None:
    body = s3.get_object(Bucket=bucket, Key=item.key)["Body"]
    try:
        usage.add_stream(body, item.key, gzipped=item.key.endswith(".gz"), dedupe=dedupe)
    except GZIP_ERRORS as error:
        usage.summary.unreadable_files += 1
        logger.error(
            "log object is not valid gzip; entries read before the damage are counted",
            extra={"key": item.key, "error": str(error)},
        )
    finally:
        body.close()


def _objects(s3: S3Client, bucket: str, prefix: str) -> Iterator[LogFile]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield log_file(item["Key"], item.get("ETag", ""), item.get("Size", 0))


def _children(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    names: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        names.extend(
            common["Prefix"][len(prefix) :].rstrip("/") for common in page.get("CommonPrefixes", [])
        )
    return sorted(names)


def collect_alb_usage(
    s3: S3Client,
    settings: Settings,
    day: date,
    active_tenants: Mapping[str, str],
    inactive_tenants: Collection[str] = (),
) -> AlbUsage:
    """Usage of `day` from every ALB access log file that can hold its entries."""
    usage = AlbUsage(day, settings.platform_domain, active_tenants, inactive_tenants)
    sources = discover_sources(
        s3, settings.log_bucket, settings.log_prefix, settings.log_account_id, settings.log_region
    )
    files = list_day_files(
        s3, settings.log_bucket, settings.log_prefix, sources, day, settings.next_day_minutes
    )
    logger.info(
        "reading ALB access logs",
        extra={"day": day.isoformat(), "sources": len(sources), "files": len(files)},
    )
    read_files(s3, settings.log_bucket, files, usage)
    return usage
