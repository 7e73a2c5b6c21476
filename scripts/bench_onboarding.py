"""Onboarding latency: 100 sequential tenants with three apps against the local platform.

Each request is a real API Gateway proxy event to the onboarding handler, in-process, with
PostgreSQL and moto_server of the local platform behind it (`make up` creates the user pool
in the emulator). The tenants are offboarded afterwards, outside the timing.

    python -m scripts.bench_onboarding [--tenants 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from typing import Any

from scripts.bench_cli import at_least, quiet_handlers
from scripts.demo_functions import api_event, environment
from scripts.lambda_context import lambda_context
from scripts.local_platform import session_lease

APPS = ["crm", "hr", "accounting"]
PLAN = "growth"


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    from lambdas.tenant_onboarding.handler import handler

    event = api_event(
        method, path, api_id="bench", account="123456789012", region="eu-west-1", body=body
    )
    context = lambda_context("tenant-onboarding")
    reply: dict[str, Any] = handler(event, context)
    return reply


def measure(tenants: int) -> dict[str, float]:
    with session_lease(echo=lambda message: print(message, file=sys.stderr)) as info:
        run = uuid.uuid4().hex[:6]
        latencies, slugs = [], []
        with environment(info.env):  # the local platform's user pool, buckets and DSNs
            for index in range(tenants):
                slug = f"bench-{run}-{index}"
                body = {
                    "name": f"Bench {index}",
                    "slug": slug,
                    "plan": PLAN,
                    "apps": APPS,
                    "admin_email": f"admin-{run}-{index}@bench.example.com",
                }
                started = time.perf_counter()
                reply = _call("POST", "/tenants", body)
                latencies.append(time.perf_counter() - started)
                if reply["statusCode"] != 201:
                    raise RuntimeError(
                        f"onboarding {slug} answered {reply['statusCode']}: {reply['body']}"
                    )
                slugs.append(slug)
            for slug in slugs:
                _call("DELETE", f"/tenants/{slug}")
    ordered = sorted(latencies)
    return {
        "onboarding_p50_ms": round(statistics.median(ordered) * 1000, 1),
        "onboarding_p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
        "onboarding_max_ms": round(ordered[-1] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench_onboarding",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tenants", type=at_least(1), default=100)
    args = parser.parse_args(argv)
    quiet_handlers()
    print(json.dumps(measure(args.tenants), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
