"""One day of traffic of the demo tenants: ALB access log files and app usage events.

The traffic is a function of the day (the random generator is seeded with it), so a second
`make demo` on the same day writes the same log objects under the same keys and inserts no
usage event twice (event ids are derived from the tenant, app, day and position).

Log entries follow the ALB access log format AWS documents
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html):
one gzip file per load balancer node and five-minute interval, named as ALB names them and
filed under the day of the interval's end, so the last requests of the day land in a file of
the next day's prefix. Besides the tenants' requests the day holds what a real one does:
WAF blocks, plain-HTTP redirects, 5xx answers, requests to the apex domain, to an unknown
tenant and to an unknown app.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

APP_PATHS: Mapping[str, tuple[str, ...]] = {
    "crm": ("contacts", "deals", "accounts", "activities"),
    "hr": ("employees", "departments", "leave-requests"),
    "accounting": ("invoices", "ledger-accounts", "journal-entries"),
    "inventory": ("products", "warehouses", "stock-levels", "stock-movements"),
    "affiliate": ("campaigns", "referral-links", "conversions"),
}
# The metered event each app records for billing.
APP_METRICS: Mapping[str, str] = {
    "crm": "records_created",
    "hr": "leave_requests_filed",
    "accounting": "invoices_issued",
    "inventory": "stock_movements",
    "affiliate": "conversions_tracked",
}
# Requests per hour of the UTC day, relative: quiet nights, busy office hours.
HOURLY_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 14, 13, 11, 8, 5, 4, 3, 2, 2, 1)
NODES = ("10.20.0.37", "10.20.1.142")  # one ALB node per public subnet of dev
LOG_INTERVAL = timedelta(minutes=5)
UNKNOWN_TENANT = "hooli"
CIPHER, TLS = "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
_EVENT_IDS = uuid.UUID("6f1c0f5e-5a8e-4c1e-9d55-2f0f3c9a7b10")
ALB_METRICS = ("requests", "errors_5xx", "bytes_in", "bytes_out", "blocked")

Key = tuple[str, str, str]  # (tenant slug, app, metric)


@dataclass(frozen=True)
class LoadBalancer:
    """The deployed ALB as its logs name it."""

    arn: str
    target_groups: Mapping[str, str]  # app -> target group ARN
    listener_priorities: Mapping[str, int]
    certificate_arn: str
    account: str
    region: str

    @property
    def log_name(self) -> str:
        """`app/<name>/<id>`, the elb field of an entry."""
        return self.arn.split(":loadbalancer/", 1)[1]

    @property
    def file_name(self) -> str:
        return self.log_name.replace("/", ".")


@dataclass(frozen=True)
class Entry:
    """One request as the ALB saw it. `tenant`/`app`: what the host and path name."""

    kind: str
    created: datetime
    duration: timedelta
    client: str
    host: str
    path: str
    method: str
    actions: str
    elb_status: int
    target_status: int | None
    bytes_in: int
    bytes_out: int
    trace: str
    tenant: str | None
    app: str | None

    @property
    def logged(self) -> datetime:
        return self.created + self.duration


@dataclass(frozen=True)
class UsageEvent:
    id: str
    occurred_at: datetime
    metric: str
    quantity: int


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    apps: tuple[str, ...]
    daily_requests: int
    app_events: Mapping[str, int]


@dataclass
class Traffic:
    day: date
    entries: list[Entry]
    events: dict[tuple[str, str], list[UsageEvent]]  # (tenant slug, app) -> events


def generate(day: date, tenants: Sequence[DemoTenant], domain: str) -> Traffic:
    """The day's requests and usage events; the same for the same day and tenants."""
    rng = random.Random(f"tenant-platform-demo/{day.isoformat()}")
    entries: list[Entry] = []
    events: dict[tuple[str, str], list[UsageEvent]] = {}
    for tenant in tenants:
        host = f"{tenant.slug}.{domain}"
        for _ in range(tenant.daily_requests):
            app = rng.choice(tenant.apps)
            entries.append(_request(rng, day, host, tenant.slug, app))
        for _ in range(max(1, tenant.daily_requests // 200)):
            entries.append(_blocked(rng, day, host, tenant.slug, rng.choice(tenant.apps)))
        for _ in range(max(1, tenant.daily_requests // 50)):
            entries.append(_redirect(rng, day, host, tenant.slug, rng.choice(tenant.apps)))
        for app, count in sorted(tenant.app_events.items()):
            events[(tenant.slug, app)] = _events(rng, day, tenant.slug, app, count)
    for _ in range(20):
        entries.append(_fixed_response(rng, day, domain, None, "/"))
    for _ in range(15):
        entries.append(_request(rng, day, f"{UNKNOWN_TENANT}.{domain}", None, "crm"))
    for _ in range(10):
        first = tenants[0]
        entries.append(_fixed_response(rng, day, f"{first.slug}.{domain}", first.slug, "/payroll"))
    # The day's last request: created before midnight, logged in the next day's first file.
    last = tenants[0]
    late = _request(rng, day, f"{last.slug}.{domain}", last.slug, last.apps[0], time(23, 59, 59))
    entries.append(replace(late, duration=timedelta(seconds=1, milliseconds=120)))
    entries.sort(key=lambda entry: (entry.logged, entry.trace))
    return Traffic(day, entries, events)


def log_objects(traffic: Traffic, alb: LoadBalancer) -> dict[str, bytes]:
    """key -> gzip body of every log file, as ALB would write them (deterministic bytes)."""
    files: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for entry in traffic.entries:
        node = NODES[int(entry.trace[-1], 16) % len(NODES)]
        files[(node, _interval_end(entry.logged))].append(render(entry, alb))
    objects = {}
    for (node, end), lines in sorted(files.items()):
        suffix = hashlib.sha256(f"{traffic.day}/{node}/{end}".encode()).hexdigest()[:8]
        name = (
            f"{alb.account}_elasticloadbalancing_{alb.region}_{alb.file_name}_"
            f"{end:%Y%m%dT%H%MZ}_{node}_{suffix}.log.gz"
        )
        key = f"AWSLogs/{alb.account}/elasticloadbalancing/{alb.region}/{end:%Y/%m/%d}/{name}"
        objects[key] = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    return objects


def render(entry: Entry, alb: LoadBalancer) -> str:
    """One access log line, fields in the documented order."""
    forwarded = "forward" in entry.actions
    target = f"{_target_ip(entry)}:8080" if forwarded else "-"
    tls = entry.kind != "http"
    group = alb.target_groups[entry.app] if forwarded and entry.app else "-"
    priority = alb.listener_priorities.get(entry.app or "", 0) if forwarded else 0
    seconds = entry.duration.total_seconds()
    if forwarded and entry.target_status is None:
        timings = "0.001 -1 -1"
    elif forwarded:
        timings = f"0.000 {seconds:.3f} 0.000"
    else:
        timings = "-1 -1 -1" if entry.actions == "waf" else "0.000 -1 0.000"
    port = 443 if tls else 80
    protocol = "HTTP/2.0" if entry.kind == "h2" else "HTTP/1.1"
    scheme = "https" if tls else "http"
    redirect = (
        f"https://{entry.host}:443{entry.path}" if entry.actions.endswith("redirect") else "-"
    )
    error = "TargetConnectionError" if forwarded and entry.target_status is None else "-"
    target_status = "-" if entry.target_status is None else str(entry.target_status)
    fields = [
        entry.kind,
        _stamp(entry.logged),
        alb.log_name,
        entry.client,
        target,
        timings,
        str(entry.elb_status),
        target_status,
        str(entry.bytes_in),
        str(entry.bytes_out),
        f'"{entry.method} {scheme}://{entry.host}:{port}{entry.path} {protocol}"',
        f'"{"sqlmap/1.7" if entry.actions == "waf" else BROWSER}"',
        CIPHER if tls else "-",
        TLS if tls else "-",
        group,
        f'"{entry.trace}"',
        f'"{entry.host}"' if tls else '"-"',
        f'"{alb.certificate_arn}"' if tls else '"-"',
        str(priority),
        _stamp(entry.created),
        f'"{entry.actions}"',
        f'"{redirect}"',
        f'"{error}"',
        f'"{target}"' if forwarded else '"-"',
        f'"{target_status}"' if forwarded else '"-"',
        '"-"',
        '"-"',
        f"TID_{hashlib.sha256(entry.trace.encode()).hexdigest()[:32]}",
    ]
    return " ".join(fields)


def expected_usage(traffic: Traffic) -> dict[Key, int]:
    """(tenant slug, app, metric) -> the value the day's report must show for this traffic:
    ALB entries created that day, forwarded or blocked by WAF, by the tenant their host names
    and the app their path names (all five metrics of such a pair, zeros included), and the
    app events' quantities summed per metric."""
    figures: dict[Key, int] = {}
    for entry in traffic.entries:
        if entry.created.date() != traffic.day or entry.tenant is None or entry.app is None:
            continue
        forwarded, blocked = "forward" in entry.actions, entry.actions == "waf"
        if not (forwarded or blocked):
            continue
        values = {
            "requests": int(forwarded),
            "errors_5xx": int(forwarded and entry.elb_status >= 500),
            "bytes_in": entry.bytes_in if forwarded else 0,
            "bytes_out": entry.bytes_out if forwarded else 0,
            "blocked": int(blocked),
        }
        for metric in ALB_METRICS:
            key = (entry.tenant, entry.app, metric)
            figures[key] = figures.get(key, 0) + values[metric]
    for (slug, app), events in traffic.events.items():
        key = (slug, app, APP_METRICS[app])
        figures[key] = figures.get(key, 0) + sum(event.quantity for event in events)
    return figures


def _moment(rng: random.Random, day: date, at: time | None = None) -> datetime:
    if at is None:
        hour = rng.choices(range(24), weights=HOURLY_WEIGHTS)[0]
        at = time(hour, rng.randrange(60), rng.randrange(60), rng.randrange(1_000_000))
    return datetime.combine(day, at, tzinfo=UTC)


def _trace(rng: random.Random, created: datetime) -> str:
    return f"Root=1-{int(created.timestamp()):08x}-{rng.getrandbits(96):024x}"


def _client(rng: random.Random) -> str:
    return f"203.0.113.{rng.randrange(1, 255)}:{rng.randrange(1024, 65536)}"


def _request(
    rng: random.Random,
    day: date,
    host: str,
    tenant: str | None,
    app: str,
    at: time | None = None,
) -> Entry:
    created = _moment(rng, day, at)
    method = rng.choices(("GET", "POST", "PATCH", "DELETE"), weights=(80, 12, 6, 2))[0]
    path = f"/{app}/{rng.choice(APP_PATHS[app])}"
    if rng.random() < 0.3:
        path += f"/{rng.randrange(1, 5000)}"
    failure = rng.random()
    elb_status: int
    target_status: int | None
    if failure < 0.005:
        elb_status, target_status = 502, None  # the target did not answer
    elif failure < 0.012:
        elb_status = target_status = 500
    else:
        elb_status = target_status = 201 if method == "POST" else 200
    return Entry(
        kind=rng.choices(("https", "h2"), weights=(3, 7))[0],
        created=created,
        duration=timedelta(milliseconds=rng.randrange(5, 900)),
        client=_client(rng),
        host=host,
        path=path,
        method=method,
        actions="waf,forward",
        elb_status=elb_status,
        target_status=target_status,
        bytes_in=rng.randrange(180, 2400) + (rng.randrange(500, 8000) if method != "GET" else 0),
        bytes_out=rng.randrange(250, 48_000),
        trace=_trace(rng, created),
        tenant=tenant,
        app=app,
    )


def _blocked(rng: random.Random, day: date, host: str, tenant: str, app: str) -> Entry:
    created = _moment(rng, day)
    return Entry(
        kind="https",
        created=created,
        duration=timedelta(milliseconds=rng.randrange(1, 5)),
        client=_client(rng),
        host=host,
        path=f"/{app}/{APP_PATHS[app][0]}?id=1%27%20OR%201=1--",
        method="GET",
        actions="waf",
        elb_status=403,
        target_status=None,
        bytes_in=rng.randrange(300, 600),
        bytes_out=220,
        trace=_trace(rng, created),
        tenant=tenant,
        app=app,
    )


def _redirect(rng: random.Random, day: date, host: str, tenant: str, app: str) -> Entry:
    created = _moment(rng, day)
    return Entry(
        kind="http",
        created=created,
        duration=timedelta(milliseconds=1),
        client=_client(rng),
        host=host,
        path=f"/{app}/{APP_PATHS[app][0]}",
        method="GET",
        actions="waf,redirect",
        elb_status=301,
        target_status=None,
        bytes_in=rng.randrange(100, 200),
        bytes_out=350,
        trace=_trace(rng, created),
        tenant=tenant,
        app=app,
    )


def _fixed_response(
    rng: random.Random, day: date, host: str, tenant: str | None, path: str
) -> Entry:
    created = _moment(rng, day)
    return Entry(
        kind="https",
        created=created,
        duration=timedelta(milliseconds=1),
        client=_client(rng),
        host=host,
        path=path,
        method="GET",
        actions="waf,fixed-response",
        elb_status=404,
        target_status=None,
        bytes_in=rng.randrange(120, 200),
        bytes_out=190,
        trace=_trace(rng, created),
        tenant=tenant,
        app=None,
    )


def _events(rng: random.Random, day: date, slug: str, app: str, count: int) -> list[UsageEvent]:
    """`count` events of the app's metric; the first and last at the day's very edges."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    edges = [start, start + timedelta(days=1, microseconds=-1)]
    moments = edges[:count] + [_moment(rng, day) for _ in range(count - len(edges[:count]))]
    return [
        UsageEvent(
            id=str(uuid.uuid5(_EVENT_IDS, f"{slug}/{app}/{day.isoformat()}/{index}")),
            occurred_at=moment,
            metric=APP_METRICS[app],
            quantity=rng.randrange(1, 4),
        )
        for index, moment in enumerate(moments)
    ]


def _interval_end(moment: datetime) -> datetime:
    """The end of the five-minute interval that holds `moment`: ALB's file boundary."""
    start = moment.replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    return start + LOG_INTERVAL


def _target_ip(entry: Entry) -> str:
    digest = int(hashlib.sha256(entry.trace.encode()).hexdigest()[:4], 16)
    return f"10.20.{10 + digest % 4}.{digest % 250 + 4}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
