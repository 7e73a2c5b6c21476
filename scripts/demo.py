"""`make demo`: the whole platform on this machine, no AWS account, one step after another.

    python -m scripts.demo [--day YYYY-MM-DD]

Starts the local platform (PostgreSQL and moto_server), synthesizes, validates and plans every
environment, deploys dev into the emulator with `terraform apply`, onboards the tenants of
scripts/demo_tenants.json through the control-plane API's events, writes a day of ALB access
logs and app usage (default: yesterday, UTC), aggregates it as the daily schedule does,
prints the report, and shows what each tenant can see of the others. Every step is safe to
repeat: after a failure, run it again. tests/e2e/test_demo.py runs the same steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO, TypeVar

from environments import ENVIRONMENT_NAMES, load_environment
from environments.settings import REPO_ROOT, PlatformSettings
from scripts import emulator, tf
from scripts.demo_functions import Function, deployed_function, log_file
from scripts.demo_isolation import AppIsolation, check_isolation
from scripts.demo_onboarding import (
    Api,
    Onboarded,
    TenantSpec,
    forget_stale,
    load_tenants,
    onboard,
)
from scripts.demo_traffic import ALB_METRICS, APP_METRICS, expected_usage
from scripts.demo_usage import Aggregated, Written, aggregate, load_balancer, write_day

ENVIRONMENT = "dev"
T = TypeVar("T")
DEMO_DIR = REPO_ROOT / ".local" / "demo"
INDENT = "      "


class StepFailedError(RuntimeError):
    def __init__(self, step: str, error: BaseException) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


@dataclass
class StepRecord:
    title: str
    outcome: str = ""
    seconds: float = 0.0
    failed: bool = False


def say(line: str = "") -> None:
    print(f"{INDENT}{line}" if line else "", flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns padded to their widths; numbers right-aligned."""
    cells = [[f"{v:,}" if isinstance(v, int) else str(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    say(line(list(headers)))
    say(line(["-" * w for w in widths]))
    for row in cells:
        say(line(row))


@dataclass
class Demo:
    """The steps of `make demo`, each a method the e2e test calls in the same order."""

    day: date
    offline: PlatformSettings = field(default_factory=lambda: PlatformSettings(target="offline"))
    tenants: list[TenantSpec] = field(default_factory=load_tenants)
    records: list[StepRecord] = field(default_factory=list)
    platform_env: dict[str, str] = field(default_factory=dict)
    emulated: PlatformSettings | None = None
    deployment: emulator.Deployment | None = None
    onboarded: Onboarded | None = None
    written: Written | None = None
    aggregated: Aggregated | None = None
    validated: dict[str, dict[str, object]] = field(default_factory=dict)
    plans: dict[str, tf.PlanResult] = field(default_factory=dict)
    isolation: list[AppIsolation] = field(default_factory=list)
    log: TextIO | None = None

    @property
    def config(self) -> Any:
        return load_environment(ENVIRONMENT)

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("Local platform: PostgreSQL and moto_server", self.start_platform),
            ("Synthesize every environment", self.synthesize),
            ("Validate every environment", self.validate),
            ("Plan every environment (offline)", self.plan),
            ("Deploy dev into the emulator (terraform apply)", self.deploy),
            ("Onboard the demo tenants through the API", self.onboard),
            (f"A day of traffic: {self.day.isoformat()}", self.traffic),
            ("Aggregate usage, as the daily schedule does", self.aggregate),
            ("Isolation: each tenant, as each app's runtime role", self.prove_isolation),
        ]

    def start_platform(self) -> str:
        from scripts.local_platform import up

        info = up(echo=say)
        self.platform_env = dict(info.env)
        endpoint = self.platform_env["AWS_ENDPOINT_URL"]
        self.emulated = emulator.settings_for(endpoint)
        return f"PostgreSQL and moto_server ({endpoint}) up; {info.env_file}"

    def synthesize(self) -> str:
        from main import build_app

        build_app(self.offline).synth()
        stacks = [load_environment(name).stack_id for name in ENVIRONMENT_NAMES]
        for stack in stacks:
            say(f"{self.offline.out_dir / 'stacks' / stack / 'cdk.tf.json'}")
        return f"{len(stacks)} stacks: {', '.join(stacks)}"

    def validate(self) -> str:
        # One after the other first: `terraform init` installs the provider into the shared
        # plugin cache, which concurrent inits race on ("after installing
        # registry.terraform.io/hashicorp/aws it is still not detected in ... plugin-cache").
        # Once each stack has its lock file and provider, init installs nothing.
        for name in ENVIRONMENT_NAMES:
            tf.init(self.offline, name, backend=False)
        reports = _each_environment(lambda name: tf.validate(self.offline, name))
        for name, (report, seconds) in reports.items():
            self.validated[name] = report
            say(f"{name}: valid ({_duration(seconds)})")
        return f"{len(reports)} valid"

    def plan(self) -> str:
        results = _each_environment(lambda name: tf.plan(self.offline, name))
        for name, (result, seconds) in results.items():
            self.plans[name] = result
            with _indented():
                tf.print_plan(result)
            say(f"  ({_duration(seconds)})")
        return ", ".join(f"{n} +{sum(r.to_add.values())}" for n, (r, _) in results.items())

    def deploy(self) -> str:
        settings = self._emulated()
        emulator.synth(settings)
        directory, config = emulator.prepare(settings, ENVIRONMENT)
        for line in emulator.filter_report(config).lines():
            say(line)
        deployment = emulator.deploy(settings, ENVIRONMENT, echo=say)
        self.deployment = deployment
        for name, value in sorted(deployment.outputs.items()):
            say(f"output {name} = {value}")
        from scripts.local_platform import refresh_user_pool

        # The deployed functions use the stack's user pool: so must a hand call with
        # platform.env, and the demo's own look-ups.
        self.platform_env = refresh_user_pool(echo=say)
        return (
            f"{deployment.resources} resources in {directory.name}: {deployment.added} added, "
            f"{deployment.changed} changed, {deployment.destroyed} destroyed; "
            f"{len(deployment.report.left_out)} left out"
        )

    def onboard(self) -> str:
        config = self.config
        function = self._function("tenant_onboarding")
        url = str(self._deployment().outputs["control_plane_url"])
        api_id = url.split("//", 1)[1].split(".", 1)[0]
        api = Api(function, api_id, config.account_id, config.region, self._log())
        say(f"POST/GET {url}/tenants -> {function.name} (in this process)")
        import boto3

        cognito = self._clients(boto3)["cognito-idp"]
        for slug in forget_stale(api, self.tenants, cognito, self.platform_env):
            say(f"{slug}: its admin user is gone from the emulator (restarted); onboarding afresh")
        self.onboarded = result = onboard(api, self.tenants)
        rows = []
        for tenant in self.tenants:
            created, status = result.created[tenant.slug], result.status[tenant.slug]
            steps = status.body.get("steps", [])
            done = sum(1 for step in steps if step.get("done_at"))
            rows.append(
                (
                    tenant.slug,
                    status.body["tenant_id"],
                    status.body["plan"],
                    ",".join(status.body["apps"]),
                    status.body["status"],
                    f"{done}/{len(steps)}",
                    "replayed" if created.replayed else "created",
                )
            )
        table(("tenant", "id", "plan", "apps", "status", "steps", "POST"), rows)
        replay = result.replay
        assert replay is not None
        same = replay.body == result.created[self.tenants[0].slug].body
        say(
            f"POST /tenants again for {self.tenants[0].slug} (same Idempotency-Key): "
            f"{replay.status}, Idempotent-Replayed: {str(replay.replayed).lower()}, "
            f"same body: {'yes' if same else 'NO'}"
        )
        return f"{len(rows)} tenants active"

    def traffic(self) -> str:
        import boto3

        config = self.config
        clients = self._clients(boto3)
        alb = load_balancer(clients["elbv2"], clients["acm"], config)
        onboarded = self._onboarded()
        bucket = str(self._deployment().outputs["log_bucket"])
        self.written = written = write_day(
            self.day,
            self.tenants,
            onboarded.tenant_ids(),
            onboarded.apps(),
            config=config,
            alb=alb,
            s3=clients["s3"],
            log_bucket=bucket,
            platform_env=self.platform_env,
        )
        prefixes = sorted({key.rsplit("/", 1)[0] for key in written.log_keys})
        say(f"ALB {alb.log_name}: {len(written.traffic.entries):,} log entries")
        say(f"in {len(written.log_keys)} gzip files under s3://{bucket}/")
        for prefix in prefixes:
            count = sum(1 for key in written.log_keys if key.startswith(prefix + "/"))
            say(f"  {prefix}/  ({count} files)")
        say(
            f"app usage events: {written.events_total:,} in the app databases "
            f"({written.events_inserted:,} new)"
        )
        return f"{len(written.traffic.entries):,} requests, {written.events_total:,} app events"

    def aggregate(self) -> str:
        import boto3

        clients = self._clients(boto3)
        function = self._function("usage_aggregation")
        self.aggregated = result = aggregate(
            function,
            self.day,
            self.config,
            events=clients["events"],
            lambda_client=clients["lambda"],
            s3=clients["s3"],
            log=self._log(),
        )
        say(f"schedule {result.schedule} -> {function.name} (in this process)")
        slugs = {tenant.slug for tenant in self.tenants}
        rows = [row for row in result.report if row["tenant_slug"] in slugs]
        _print_report(rows)
        say(f"CSV: s3://{result.report_bucket}/{result.report_key}  ({len(result.report)} rows)")
        summary = result.response.get("summary", {}).get("alb", {})
        unattributed = ", ".join(f"{k} {v}" for k, v in summary.get("unattributed", {}).items())
        not_forwarded = summary.get("not_forwarded", 0)
        say(f"not billed: {not_forwarded} redirects and fixed responses; {unattributed}")
        written = self._written()
        figures = {
            (row["tenant_slug"], row["app"], row["metric"]): int(row["value"]) for row in rows
        }
        matches = figures == expected_usage(written.traffic)
        say(f"report equals the traffic generated: {'yes' if matches else 'NO'}")
        if not matches:
            raise RuntimeError("the report differs from the traffic generated")
        return f"{result.response['rows']} rows for {result.response['tenants']} tenants"

    def prove_isolation(self) -> str:
        self.isolation = results = check_isolation(
            self._onboarded().tenant_ids(), self.platform_env
        )
        rows = []
        for result in results:
            for slug in result.own:
                rows.append(
                    (
                        result.app,
                        result.role,
                        slug,
                        result.own[slug],
                        result.hidden(slug),
                        result.foreign[slug],
                    )
                )
        table(("app", "role", "as tenant", "own rows", "others' rows", "seen"), rows)
        unset = ", ".join(f"{r.app} {r.without_tenant}" for r in results)
        say(f"with no tenant set: {unset} rows")
        leaked = sum(sum(r.foreign.values()) + r.without_tenant for r in results)
        if leaked:
            raise RuntimeError(f"{leaked} rows of other tenants were visible")
        tables = sum(len(r.relations) for r in results)
        return f"0 rows of other tenants seen ({tables} tenant tables and views checked)"

    def _emulated(self) -> PlatformSettings:
        if self.emulated is None:
            raise RuntimeError("the local platform is not up: run the first step")
        return self.emulated

    def _deployment(self) -> emulator.Deployment:
        if self.deployment is None:
            raise RuntimeError("dev is not deployed into the emulator: run the deploy step")
        return self.deployment

    def _onboarded(self) -> Onboarded:
        if self.onboarded is None:
            raise RuntimeError("no tenants onboarded: run the onboarding step")
        return self.onboarded

    def _written(self) -> Written:
        if self.written is None:
            raise RuntimeError("no traffic written: run the traffic step")
        return self.written

    def _log(self) -> TextIO:
        if self.log is None:
            self.log = log_file(DEMO_DIR)
        return self.log

    def _clients(self, boto3: Any) -> dict[str, Any]:
        env = self.platform_env
        return {
            service: boto3.client(
                service,
                endpoint_url=env["AWS_ENDPOINT_URL"],
                region_name=env["AWS_DEFAULT_REGION"],
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            )
            for service in ("s3", "elbv2", "acm", "events", "lambda", "cognito-idp")
        }

    def _function(self, name: str) -> Function:
        import boto3

        client = self._clients(boto3)["lambda"]
        return deployed_function(client, self.config, name, self.platform_env)


def _each_environment(action: Callable[[str], T]) -> dict[str, tuple[T, float]]:
    """`action` for every environment, each in a thread of its own (terraform runs as a
    process of its own); results in environment order, with their durations."""

    def timed(name: str) -> tuple[T, float]:
        started = time.monotonic()
        return action(name), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(ENVIRONMENT_NAMES)) as pool:
        futures = {name: pool.submit(timed, name) for name in ENVIRONMENT_NAMES}
        return {name: future.result() for name, future in futures.items()}


def _print_report(rows: Sequence[dict[str, str]]) -> None:
    pairs: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        pairs.setdefault((row["tenant_slug"], row["app"]), {})[row["metric"]] = int(row["value"])
    body = []
    for (slug, app), metrics in sorted(pairs.items()):
        events = metrics.get(APP_METRICS.get(app, ""), 0)
        body.append((slug, app, *(metrics.get(metric, 0) for metric in ALB_METRICS), events))
    table(("tenant", "app", *ALB_METRICS, "app events"), body)


@contextmanager
def _indented() -> Iterator[None]:
    """print() of a called function, indented like the demo's own lines."""
    original = sys.stdout

    class Indented:
        def write(self, text: str) -> int:
            lines = text.split("\n")
            return original.write("\n".join(f"{INDENT}{x}" if x else x for x in lines))

        def flush(self) -> None:
            original.flush()

    sys.stdout = Indented()
    try:
        yield
    finally:
        sys.stdout = original


@contextmanager
def _step(records: list[StepRecord], index: int, total: int, title: str) -> Iterator[StepRecord]:
    print(f"\n[{index}/{total}] {title}", flush=True)
    record = StepRecord(title)
    records.append(record)
    started = time.monotonic()
    try:
        yield record
    except (Exception, KeyboardInterrupt) as error:
        record.failed = True
        record.outcome = f"{type(error).__name__}: {error}"
        raise StepFailedError(title, error) from error
    finally:
        record.seconds = time.monotonic() - started
        if not record.failed:
            say(f"done in {_duration(record.seconds)}")


def run(demo: Demo) -> None:
    steps = demo.steps()
    for index, (title, action) in enumerate(steps, start=1):
        with _step(demo.records, index, len(steps), title) as record:
            record.outcome = action()


def print_summary(records: Sequence[StepRecord], total: float) -> None:
    print("\nSummary", flush=True)
    rows = [
        (r.title, _duration(r.seconds), ("FAILED: " if r.failed else "") + r.outcome.split("\n")[0])
        for r in records
    ]
    table(("step", "time", "result"), [*rows, ("total", _duration(total), "")])


def _duration(seconds: float) -> str:
    """`12.3 s` under a minute, else whole seconds as `2 min 05 s` (119.6 s is `2 min 00 s`)."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    parser.add_argument(
        "--day", type=date.fromisoformat, default=yesterday, help="UTC day of traffic"
    )
    args = parser.parse_args(argv)
    if args.day >= datetime.now(UTC).date():
        parser.error(f"--day {args.day} is not over yet (UTC): pick a day before today")
    print("make demo: the tenant platform on this machine, no AWS account", flush=True)
    demo = Demo(day=args.day)
    started = time.monotonic()
    try:
        run(demo)
    except StepFailedError as failure:
        print_summary(demo.records, time.monotonic() - started)
        print(f"\nmake demo failed at step '{failure.step}':\n  {failure.error}", file=sys.stderr)
        print(
            "Every step is safe to repeat: fix the cause and run `make demo` again.",
            file=sys.stderr,
        )
        return 1
    finally:
        if demo.log is not None:
            demo.log.close()
    print_summary(demo.records, time.monotonic() - started)
    print(f"\nFunction logs: {DEMO_DIR / 'functions.log'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
