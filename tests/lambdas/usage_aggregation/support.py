"""Builders shared by the usage aggregation tests: log lines, the sample and its figures."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EVENTS = HERE / "events"
# A copy of the shared sample (with its expected figures), so any clone can run the tests.
SAMPLES = HERE / "samples"
SAMPLE_LOG = SAMPLES / "alb_access_log_sample.log"
SAMPLE_README = SAMPLES / "README.md"

DOMAIN = "platform.example.com"
ACCOUNT = "111122223333"
REGION = "eu-west-1"
TENANTS = {
    "acme": "6f1c2a4e-0000-4000-8000-00000000ac01",
    "globex": "6f1c2a4e-0000-4000-8000-00000000ac02",
    "initech": "6f1c2a4e-0000-4000-8000-00000000ac03",
}
METRIC_COLUMNS = ("requests", "errors_5xx", "bytes_in", "bytes_out")


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def sample_lines() -> list[str]:
    if not SAMPLE_LOG.is_file():
        raise FileNotFoundError(f"the shared sample is missing: expected {SAMPLE_LOG}")
    return SAMPLE_LOG.read_text().splitlines()


def sample_figures() -> dict[tuple[str, str], dict[str, int]]:
    """The expected table of samples/README.md: (tenant, app) -> metric -> value."""
    row = re.compile(r"^\| (\w+) \| (\w+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$")
    figures = {}
    for line in SAMPLE_README.read_text().splitlines():
        match = row.match(line.strip())
        if match:
            tenant, app, *values = match.groups()
            figures[(tenant, app)] = dict(zip(METRIC_COLUMNS, map(int, values), strict=True))
    if len(figures) != 5:
        raise AssertionError(f"expected 5 rows in the table of {SAMPLE_README}, got {figures}")
    return figures


def gz(lines: list[str]) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode())


def log_key(day: str, end: str, node: str = "203.0.113.10", random: str = "2x3y4z5w") -> str:
    """The key ALB writes for the interval ending at `end` (YYYYMMDDTHHMMZ) of `day` (Y/M/D)."""
    return (
        f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/{day}/{ACCOUNT}_elasticloadbalancing_"
        f"{REGION}_app.platform-dev-alb.5d1f2e3a4b6c7d8e_{end}_{node}_{random}.log.gz"
    )


def alb_line(
    *,
    kind: str = "https",
    created: str = "2026-11-30T10:00:00.000000Z",
    time: str | None = None,
    host: str = f"acme.{DOMAIN}",
    path: str = "/crm/contacts",
    elb_status: str = "200",
    target_status: str = "200",
    received: str = "100",
    sent: str = "200",
    actions: str = "authenticate,forward",
    trace: str = "Root=1-6566a1b2-000000000000000000000abc",
    user_agent: str = "curl/8.5.0",
    client: str = "203.0.113.10:51234",
    method: str = "GET",
) -> str:
    """One ALB access log entry in the documented field order, conn_trace_id last."""
    scheme, port = ("http", 80) if kind in ("http", "ws") else ("https", 443)
    request = f"{method} {scheme}://{host}:{port}{path} HTTP/1.1"
    return (
        f"{kind} {time or created} app/platform-dev-alb/5d1f2e3a4b6c7d8e {client} "
        f"10.20.11.5:8080 0.001 0.042 0.000 {elb_status} {target_status} {received} {sent} "
        f'"{request}" "{user_agent}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/platform-dev-crm/0a1b "
        f'"{trace}" "{host}" "arn:aws:acm:eu-west-1:111122223333:certificate/1111" 10 '
        f'{created} "{actions}" "-" "-" "10.20.11.5:8080" "{target_status}" "-" "-" TID_01'
    )
