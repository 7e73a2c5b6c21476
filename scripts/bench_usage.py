"""Throughput of the usage aggregation job, as flat JSON figures for `make bench`.

- `alb_parse_lines_per_s`: a realistic gzip ALB access log of --lines entries (50 tenants, the
  five apps, every entry type, redirects, WAF blocks, 5xx, unknown hosts and apps) generated in
  a temporary directory, streamed through the job's parser and attribution on one core (CPU
  time, best of --repeat).
- `usage_agg_ratio`: --events app usage events of one day in the crm database, summed per
  tenant and metric the way the job does (usage-reader role, row-level security, one unit of
  work) against PostgreSQL's own GROUP BY of the same rows as the superuser; both best of
  2 x --repeat, taking turns going first. Needs the local platform: a lease starts it when
  it is not running.

Figures go to stdout as JSON (or to --json-out); progress goes to stderr.

    .venv/bin/python -m scripts.bench_usage --lines 1000000 --events 1000000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdas.shared.databases import Access
from lambdas.usage_aggregation.alb_logs import APPS, AlbUsage
from scripts.bench_cli import at_least, quiet_handlers

if TYPE_CHECKING:
    from lambdas.shared.db import Database

DOMAIN = "platform.example.com"
DAY = date(2026, 11, 30)
# A day no test uses (those pick years 1100-1999), in an app database.
AGG_DAY = date(1099, 6, 15)
AGG_APP = "crm"
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
    "curl/8.5.0",
    "python-requests/2.32.3",
)
# (entry type, actions, ELB status, target status, share in percent)
SHAPES = (
    ("https", "authenticate,forward", "200", "200", 62),
    ("h2", "authenticate,forward", "200", "200", 25),
    ("https", "authenticate,forward", "502", "-", 1),
    ("https", "authenticate,forward", "404", "404", 3),
    ("wss", "authenticate,forward", "101", "101", 2),
    ("grpcs", "forward", "200", "200", 2),
    ("http", "redirect", "301", "-", 3),
    ("https", "waf", "403", "-", 1),
    ("https", "fixed-response", "404", "-", 1),
)


def tenants(count: int) -> dict[str, str]:
    return {f"tenant{i:03d}": f"00000000-0000-4000-8000-{i:012d}" for i in range(count)}


def log_lines(count: int, slugs: Sequence[str], seed: int) -> Iterator[str]:
    """`count` entries spread over DAY, in completion order, as ALB writes them."""
    rnd = random.Random(seed)
    bits = rnd.getrandbits
    day = DAY.isoformat()
    shapes = [
        (f"{kind} {day}T", f'"{actions}" "-" "-" "10.20.11.5:8080" "{target}" "-" "-" TID_')
        + (f"{elb} {target}", "http" if kind == "http" else "https")
        for kind, actions, elb, target, share in SHAPES
        for _ in range(share)
    ]
    hosts = [f"{slug}.{DOMAIN}" for slug in slugs]
    odd_hosts = [DOMAIN, f"unknown.{DOMAIN}"]
    user_agents = [
        f'HTTP/1.1" "{agent}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ' for agent in USER_AGENTS
    ]
    arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/platform-dev-"
    cert = '"arn:aws:acm:eu-west-1:111122223333:certificate/11111111-2222-3333-4444-555555555555"'
    step = 86_400_000_000 // max(count, 1)
    for index in range(count):
        r = bits(64)
        done = index * step + r % (step or 1)
        created = max(done - (r >> 20) % 250_000 - 1_000, 0)
        start, end, statuses, scheme = shapes[(r >> 40) % len(shapes)]
        host = odd_hosts[r & 1] if (r >> 8) % 100 == 0 else hosts[(r >> 48) % len(hosts)]
        app = "payroll" if (r >> 16) % 200 == 0 else APPS[(r >> 56) % len(APPS)]
        port = 80 if scheme == "http" else 443
        yield (
            f"{start}{_clock(done)}Z app/platform-dev-alb/5d1f2e3a4b6c7d8e "
            f"198.51.{r & 255}.{(r >> 8) & 255}:{1024 + (r >> 24) % 64000} "
            f"10.20.{(r >> 4) & 15}.{(r >> 12) & 127}:8080 0.001 0.{(r >> 28) % 1000:03d} 0.000 "
            f"{statuses} {200 + (r >> 32) % 3800} {150 + (r >> 36) % 90_000} "
            f'"GET {scheme}://{host}:{port}/{app}/items/{(r >> 44) % 100_000}?page={r % 7} '
            f"{user_agents[(r >> 52) % len(user_agents)]}{arn}{app}/0a1b2c3d4e5f6071 "
            f'"Root=1-{bits(32):08x}-{bits(96):024x}" "{host}" {cert} 10 '
            f"{day}T{_clock(created)}Z {end}{bits(128):032x}\n"
        )


def _clock(microseconds: int) -> str:
    seconds, fraction = divmod(microseconds, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{second:02d}.{fraction:06d}"


def write_log(path: Path, count: int, slugs: Sequence[str], seed: int) -> None:
    with gzip.open(path, "wt", compresslevel=6, encoding="ascii") as out:
        out.writelines(log_lines(count, slugs, seed))


def bench_parse(lines: int, repeat: int, seed: int = 20261130) -> dict[str, float]:
    """Lines per second parsed and attributed: CPU time on one core, best of `repeat`."""
    tenant_ids = tenants(50)
    with tempfile.TemporaryDirectory(prefix="bench-usage-") as scratch:
        path = Path(scratch) / "access.log.gz"
        _progress(f"generating {lines:,} ALB log lines")
        write_log(path, lines, sorted(tenant_ids), seed)
        _progress(f"parsing {path.stat().st_size:,} gzip bytes, best of {repeat}")
        cpu_times: list[float] = []
        best_wall = float("inf")
        for _ in range(repeat):
            usage = AlbUsage(DAY, DOMAIN, tenant_ids)
            cpu, wall = time.process_time(), time.perf_counter()
            with path.open("rb") as stream:
                usage.add_stream(stream, path.name)
            cpu_times.append(time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(cpu_times)
        if usage.summary.lines != lines:
            raise RuntimeError(f"parsed {usage.summary.lines} lines of {lines}")
        return {
            "alb_parse_lines": lines,
            "alb_parse_gzip_mb": round(path.stat().st_size / 1e6, 1),
            "alb_parse_cpu_s": round(best_cpu, 3),
            "alb_parse_lines_per_s": round(lines / best_cpu),
            # How far the runs spread: on a shared host the same parse's CPU time moves by
            # a third from one run to the next.
            "alb_parse_lines_per_s_median": round(lines / statistics.median(cpu_times)),
            "alb_parse_lines_per_s_wall": round(lines / best_wall),
        }


def bench_aggregation(events: int, repeat: int) -> dict[str, float]:
    """The job's app-events aggregation against a bare GROUP BY, on the local platform."""
    from lambdas.shared.db import Database, Timeouts
    from lambdas.usage_aggregation.app_events import DAY_USAGE_SQL, AppUsage, read_app_usage
    from lambdas.usage_aggregation.window import day_window
    from scripts.local_platform import session_lease, superuser_connection

    start, end = day_window(AGG_DAY)
    bench_tenants = [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-{i}.{DOMAIN}")) for i in range(50)]
    with session_lease(echo=_progress) as platform:
        saved = dict(os.environ)
        os.environ.update(platform.env)
        runtime = Database(AGG_APP, Access.APP, timeouts=Timeouts(statement_ms=600_000))
        reader = Database(AGG_APP, Access.USAGE, timeouts=Timeouts(statement_ms=600_000))
        admin = superuser_connection(dbname=AGG_APP)
        admin.autocommit = True
        try:
            _remove_events(runtime, bench_tenants)
            _progress(f"inserting {events:,} usage events into {AGG_APP}")
            _insert_events(runtime, bench_tenants, events)
            with admin.cursor() as cur:
                cur.execute("ANALYZE usage_events")
            _progress(f"aggregating, best of {2 * repeat}")

            def job() -> list[AppUsage]:
                with reader.without_tenant() as cur:
                    return read_app_usage(cur, AGG_APP, start, end)

            def groupby() -> list[tuple[Any, ...]]:
                with admin.cursor() as cur:
                    cur.execute(DAY_USAGE_SQL, {"start": start, "end": end})
                    return cur.fetchall()

            # The two take turns going first, so neither always finds the other's cache.
            job_times: list[float] = []
            groupby_times: list[float] = []
            for round_ in range(2 * repeat):
                if round_ % 2:
                    groupby_times.append(_seconds(groupby))
                job_times.append(_seconds(job))
                if not round_ % 2:
                    groupby_times.append(_seconds(groupby))
            rows, baseline = job(), groupby()
            job_s, groupby_s = min(job_times), min(groupby_times)
            counted = sum(row.events for row in rows)
            if counted != events or len(rows) != len(baseline):
                raise RuntimeError(f"the job counted {counted} events of {events}")
        finally:
            _remove_events(runtime, bench_tenants)
            runtime.close()
            reader.close()
            admin.close()
            os.environ.clear()
            os.environ.update(saved)
    return {
        "usage_agg_events": events,
        "usage_agg_job_s": round(job_s, 3),
        "usage_agg_groupby_s": round(groupby_s, 3),
        "usage_agg_ratio": round(job_s / groupby_s, 2),
        "usage_agg_rows_per_s": round(events / job_s),
    }


def _insert_events(runtime: Database, tenant_ids: list[str], events: int) -> None:
    """`events` events over AGG_DAY, spread evenly over the tenants, ten metrics each."""
    share, extra = divmod(events, len(tenant_ids))
    for index, tenant_id in enumerate(tenant_ids):
        count = share + (1 if index < extra else 0)
        with runtime.as_tenant(tenant_id) as cur:
            cur.execute(
                "INSERT INTO tenants (tenant_id, slug) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (tenant_id, f"bench-{index:03d}"),
            )
            cur.execute(
                "INSERT INTO usage_events (tenant_id, occurred_at, metric, quantity) "
                "SELECT %(tenant)s, %(day)s::timestamptz + (g * interval '86399 seconds') / %(n)s,"
                " 'metric_' || (g %% 10), 1 + g %% 5 FROM generate_series(1, %(n)s) AS g",
                {"tenant": tenant_id, "day": f"{AGG_DAY} 00:00:00+00", "n": count},
            )


def _remove_events(runtime: Database, tenant_ids: list[str]) -> None:
    for tenant_id in tenant_ids:
        with runtime.as_tenant(tenant_id) as cur:
            cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant_id,))


def _seconds(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def measure(lines: int, events: int, repeat: int) -> dict[str, float]:
    """Every figure; `events=0` skips the part that needs the local platform."""
    figures = bench_parse(lines, repeat)
    _progress(f"{figures['alb_parse_lines_per_s']:,} lines/s parsed and attributed")
    if events:
        figures |= bench_aggregation(events, repeat)
        _progress(
            f"{figures['usage_agg_rows_per_s']:,} events/s aggregated, "
            f"{figures['usage_agg_ratio']}x PostgreSQL's own GROUP BY"
        )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_usage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--lines", type=at_least(1), default=1_000_000, help="ALB log entries")
    parser.add_argument(
        "--events", type=at_least(0), default=1_000_000, help="app usage events; 0: skip"
    )
    parser.add_argument("--repeat", type=at_least(1), default=3, help="runs; the best one counts")
    parser.add_argument("--json-out", type=Path, help="write the figures here, not to stdout")
    args = parser.parse_args(argv)
    if args.json_out and not args.json_out.parent.is_dir():
        parser.error(f"--json-out: no directory {args.json_out.parent}")
    quiet_handlers()

    text = json.dumps(measure(args.lines, args.events, args.repeat), indent=2, sort_keys=True)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
