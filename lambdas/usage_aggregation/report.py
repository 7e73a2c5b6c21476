"""The daily CSV report: one line per tenant, app and metric, sorted, byte-identical on re-runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from lambdas.usage_aggregation.core_usage import UsageRow
from lambdas.usage_aggregation.window import day_path

COLUMNS = ("date", "tenant_id", "tenant_slug", "app", "metric", "value")
REPORT_PREFIX = "reports/usage/"


def report_key(day: date) -> str:
    return f"{REPORT_PREFIX}{day_path(day)}.csv"


def sort_rows(rows: Iterable[UsageRow]) -> list[UsageRow]:
    """By tenant (slug, which is unique, then id), app and metric."""
    return sorted(rows, key=lambda row: (row.tenant_slug, row.tenant_id, row.app, row.metric))


def render(day: date, rows: Iterable[UsageRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    stamp = day.isoformat()
    writer.writerows(
        (stamp, row.tenant_id, row.tenant_slug, row.app, row.metric, row.value)
        for row in sort_rows(rows)
    )
    return out.getvalue().encode()
