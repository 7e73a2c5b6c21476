"""Throughput of the usage aggregation job: ALB access log lines parsed and attributed per second.

Generates a realistic gzip access log of N lines (50 tenants, the five apps, every entry type,
redirects, WAF blocks, 5xx, unknown hosts and apps) in a temporary directory, then streams
it through the job's parser on one core, best of --repeat runs. Figures go to stdout as JSON
(or to --json-out); progress goes to stderr.

    .venv/bin/python -m scripts.bench_usage --lines 1000000
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from lambdas.usage_aggregation.alb_logs import APPS, AlbUsage

DOMAIN = "platform.example.com"
DAY = date(2026, 11, 30)
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


def bench_parse(path: Path, tenant_ids: dict[str, str], repeat: int) -> dict[str, float]:
    """Best of `repeat` runs of parse and attribution, in CPU and wall seconds."""
    best_cpu = best_wall = float("inf")
    lines = 0
    for _ in range(repeat):
        usage = AlbUsage(DAY, DOMAIN, tenant_ids)
        cpu, wall = time.process_time(), time.perf_counter()
        with path.open("rb") as stream:
            usage.add_stream(stream, path.name)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        lines = usage.summary.lines
    return {
        "lines": lines,
        "gzip_bytes": path.stat().st_size,
        "cpu_seconds": round(best_cpu, 3),
        "wall_seconds": round(best_wall, 3),
        "lines_per_second": round(lines / best_cpu),
        "lines_per_second_wall": round(lines / best_wall),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="log entries to generate")
    parser.add_argument("--tenants", type=int, default=50, help="active tenants")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best one counts")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--json-out", type=Path, help="write the figures here, not to stdout")
    args = parser.parse_args(argv)

    tenant_ids = tenants(args.tenants)
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-usage-") as scratch:
        log = Path(scratch) / "access.log.gz"
        print(f"bench: generating {args.lines:,} ALB log lines", file=sys.stderr)
        write_log(log, args.lines, sorted(tenant_ids), args.seed)
        print(f"bench: parsing {log.stat().st_size:,} gzip bytes", file=sys.stderr)
        figures["alb_parse"] = parse = bench_parse(log, tenant_ids, args.repeat)
        print(
            f"bench: {parse['lines_per_second']:,} lines/s parsed and attributed", file=sys.stderr
        )

    text = json.dumps(figures, indent=2, sort_keys=True)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
