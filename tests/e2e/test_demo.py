"""`make demo` end to end: the same steps, and what each of them must have produced.

One run of every step of scripts/demo.py (module fixture), against the local platform of the
test session; synth and plan output go to a temporary folder, the emulator's state is the
one `make demo` keeps under .local/emulator/. Expected usage figures are computed here from
the generated requests and events, not by the demo's own arithmetic.

    .venv/bin/python -m pytest -m e2e        # this file alone (a few minutes)
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from environments import ENVIRONMENT_NAMES, load_environment
from environments.settings import PlatformSettings
from lambdas.shared.databases import CORE, Access
from lambdas.shared.db import Database
from modules.naming import Naming
from scripts import demo as demo_module
from scripts import emulator
from scripts.emulator_exclusions import EXCLUSIONS
from scripts.local_platform import PlatformInfo
from scripts.platform_services.files import read_env_file

pytestmark = pytest.mark.e2e

APPS = ("crm", "hr", "accounting", "inventory", "affiliate")


@pytest.fixture(scope="module")
def demo(
    local_platform: PlatformInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[demo_module.Demo]:
    out = tmp_path_factory.mktemp("demo-synth")
    offline = PlatformSettings(
        target="offline", out_dir=out, build_dir=out / "build", state_dir=out / "state"
    )
    ran = demo_module.Demo(day=datetime.now(UTC).date() - timedelta(days=1), offline=offline)
    try:
        demo_module.run(ran)
        yield ran
    finally:
        if ran.log is not None:
            ran.log.close()


@pytest.fixture(scope="module")
def aws(demo: demo_module.Demo) -> Any:
    env = demo.platform_env

    def client(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    return client


def test_demo_synthesizes_validates_and_plans_every_environment(demo: demo_module.Demo) -> None:
    for name in ENVIRONMENT_NAMES:
        stack = load_environment(name).stack_id
        config = json.loads((demo.offline.out_dir / "stacks" / stack / "cdk.tf.json").read_text())
        assert config["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
        assert demo.validated[name]["valid"] is True
        plan = demo.plans[name]
        assert (plan.to_change, plan.to_destroy) == (0, 0)
        assert plan.to_add["aws_lb"] == 1
        assert plan.to_add["aws_lb_target_group"] == len(APPS)
        assert plan.to_add["aws_lambda_function"] == 3
        assert plan.to_add["aws_db_instance"] == len(APPS) + 1
    records = {record.title: record for record in demo.records}
    assert len(records) == len(demo.steps())
    assert not any(record.failed for record in records.values())


def test_demo_deploys_dev_into_the_emulator(
    demo: demo_module.Demo, aws: Any, local_platform: PlatformInfo
) -> None:
    deployment = demo.deployment
    assert deployment is not None
    config = load_environment("dev")
    naming = Naming.for_environment(config)
    left_out_types = {item.address.split(".")[0] for item in deployment.report.left_out}
    assert set(EXCLUSIONS) <= left_out_types

    elbv2 = aws("elbv2")
    alb = elbv2.describe_load_balancers(Names=[naming.alb()])["LoadBalancers"][0]
    assert alb["DNSName"] == deployment.outputs["alb_dns_name"]
    groups = elbv2.describe_target_groups(Names=[naming.target_group(app) for app in APPS])
    paths = {group["HealthCheckPath"] for group in groups["TargetGroups"]}
    assert paths == {f"/{app}/health" for app in APPS}
    listeners = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert sorted(listener["Port"] for listener in listeners) == [80, 443]

    s3 = aws("s3")
    buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    documents, logs = deployment.outputs["document_bucket"], deployment.outputs["log_bucket"]
    assert {documents, logs} <= buckets
    assert s3.get_bucket_versioning(Bucket=documents)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=documents)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"

    functions = aws("lambda").list_functions()["Functions"]
    deployed = {
        f["FunctionName"]: f for f in functions if f["FunctionName"].startswith(naming.base)
    }
    for name in ("tenant-onboarding", "rls-rollout", "usage-aggregation"):
        assert deployed[naming.name(name)]["Runtime"] == "python3.12"

    pool = aws("cognito-idp").describe_user_pool(UserPoolId=deployment.outputs["user_pool_id"])
    attributes = {attribute["Name"] for attribute in pool["UserPool"]["SchemaAttributes"]}
    assert "custom:tenant_id" in attributes
    # A hand call with platform.env uses the pool the deployed functions use.
    onboarding = deployed[naming.name("tenant-onboarding")]["Environment"]["Variables"]
    assert onboarding["USER_POOL_ID"] == deployment.outputs["user_pool_id"]
    assert read_env_file(local_platform.env_file)["USER_POOL_ID"] == onboarding["USER_POOL_ID"]
    instances = aws("rds").describe_db_instances()["DBInstances"]
    assert not [db for db in instances if db["DBInstanceIdentifier"].startswith(naming.base)]


def test_demo_onboards_every_tenant_active(demo: demo_module.Demo, aws: Any) -> None:
    onboarded = demo.onboarded
    assert onboarded is not None and onboarded.replay is not None
    slugs = [tenant.slug for tenant in demo.tenants]
    assert slugs == ["acme", "globex", "initech"]
    core = Database(CORE, Access.OWNER, environ=demo.platform_env)
    try:
        with core.without_tenant() as cur:
            cur.execute(
                "SELECT slug, status, plan_code FROM tenants WHERE slug = ANY(%s) ORDER BY slug",
                (slugs,),
            )
            rows = cur.fetchall()
    finally:
        core.close()
    plans = {tenant.slug: tenant.request["plan"] for tenant in demo.tenants}
    assert rows == [(slug, "active", plans[slug]) for slug in sorted(slugs)]
    first = onboarded.created["acme"]
    assert (onboarded.replay.status, onboarded.replay.body) == (201, first.body)
    assert onboarded.replay.replayed
    assert onboarded.apps()["initech"] == ("crm", "hr")

    assert demo.deployment is not None
    pool_id = demo.deployment.outputs["user_pool_id"]
    cognito = aws("cognito-idp")
    for tenant in demo.tenants:
        email = tenant.request["admin_email"]
        users = cognito.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"')["Users"]
        assert len(users) == 1
        values = {a["Name"]: a["Value"] for a in users[0]["Attributes"]}
        assert values["custom:tenant_id"] == onboarded.tenant_ids()[tenant.slug]


def _expected(demo: demo_module.Demo) -> dict[tuple[str, str, str], int]:
    """The figures of the day from the generated requests and events, counted here."""
    written = demo.written
    assert written is not None
    figures: Counter[tuple[str, str, str]] = Counter()
    pairs = set()
    for entry in written.traffic.entries:
        if entry.tenant is None or entry.app is None or entry.created.date() != demo.day:
            continue
        if entry.actions.split(",")[-1] == "forward":
            pairs.add((entry.tenant, entry.app))
            figures[(entry.tenant, entry.app, "requests")] += 1
            figures[(entry.tenant, entry.app, "errors_5xx")] += entry.elb_status >= 500
            figures[(entry.tenant, entry.app, "bytes_in")] += entry.bytes_in
            figures[(entry.tenant, entry.app, "bytes_out")] += entry.bytes_out
        elif entry.actions == "waf":
            pairs.add((entry.tenant, entry.app))
            figures[(entry.tenant, entry.app, "blocked")] += 1
    for tenant, app in pairs:
        for metric in ("requests", "errors_5xx", "bytes_in", "bytes_out", "blocked"):
            figures[(tenant, app, metric)] += 0
    for (tenant, app), events in written.traffic.events.items():
        for event in events:
            figures[(tenant, app, event.metric)] += event.quantity
    return dict(figures)


def test_demo_report_equals_the_traffic_generated(demo: demo_module.Demo) -> None:
    aggregated = demo.aggregated
    assert aggregated is not None
    expected = _expected(demo)
    slugs = {tenant.slug for tenant in demo.tenants}
    assert {slug for slug, _, _ in expected} == slugs
    assert expected[("acme", "crm", "requests")] > 100

    report = {
        (row["tenant_slug"], row["app"], row["metric"]): int(row["value"])
        for row in aggregated.report
        if row["tenant_slug"] in slugs
    }
    assert {row["date"] for row in aggregated.report} == {demo.day.isoformat()}
    assert report == expected
    assert aggregated.report_key == f"reports/usage/{demo.day:%Y/%m/%d}.csv"

    core = Database(CORE, Access.APP, environ=demo.platform_env)
    try:
        with core.as_control_plane() as cur:
            cur.execute(
                "SELECT t.slug, u.app, u.metric, u.value FROM daily_usage AS u "
                "JOIN tenants AS t ON t.id = u.tenant_id "
                "WHERE u.usage_date = %s AND t.slug = ANY(%s)",
                (demo.day, sorted(slugs)),
            )
            stored = {(slug, app, metric): int(value) for slug, app, metric, value in cur}
    finally:
        core.close()
    assert stored == expected
    summary = aggregated.response["summary"]["alb"]
    assert summary["malformed_lines"] == 0
    assert summary["unattributed"] == {"apex": 20, "unknown_app": 10, "unknown_tenant": 15}


def test_demo_shows_no_row_of_another_tenant(demo: demo_module.Demo) -> None:
    results = {result.app: result for result in demo.isolation}
    assert set(results) == set(APPS)
    for result in results.values():
        assert result.relations, f"{result.app}: no tenant table found"
        assert result.role == f"{result.app}_app"
        assert result.without_tenant == 0
        assert result.foreign == dict.fromkeys(result.own, 0)
    crm = results["crm"]
    assert all(crm.own[slug] > 0 and crm.hidden(slug) > 0 for slug in crm.own)


def test_demo_writes_real_format_alb_logs(demo: demo_module.Demo, aws: Any) -> None:
    written = demo.written
    assert written is not None and demo.deployment is not None
    config = load_environment("dev")
    prefix = f"AWSLogs/{config.account_id}/elasticloadbalancing/{config.region}/"
    assert all(key.startswith(prefix) and key.endswith(".log.gz") for key in written.log_keys)
    next_day = f"{prefix}{demo.day + timedelta(days=1):%Y/%m/%d}/"
    assert any(key.startswith(next_day) for key in written.log_keys)
    bucket = demo.deployment.outputs["log_bucket"]
    body = aws("s3").get_object(Bucket=bucket, Key=written.log_keys[0])
    line = gzip.decompress(body["Body"].read()).decode().splitlines()[0]
    assert line.split(" ")[0] in {"http", "https", "h2"}
    assert Path(written.log_keys[0]).name.startswith(f"{config.account_id}_elasticloadbalancing_")


def test_demo_second_run_changes_nothing(demo: demo_module.Demo) -> None:
    """Last: runs the deploy and the tenant and usage steps again on the same demo."""
    first_report = demo.aggregated.report if demo.aggregated else []
    first_keys = demo.written.log_keys if demo.written else []

    assert demo.emulated is not None
    again = emulator.deploy(demo.emulated, "dev", echo=lambda _: None)
    demo.onboard()
    demo.traffic()
    demo.aggregate()

    assert (again.added, again.changed, again.destroyed) == (0, 0, 0)
    assert again.state_reset is None and again.imported == []
    assert demo.onboarded is not None
    assert all(reply.replayed for reply in demo.onboarded.created.values())
    assert demo.written is not None
    assert (demo.written.events_inserted, demo.written.log_keys) == (0, first_keys)
    assert demo.aggregated is not None and demo.aggregated.report == first_report
