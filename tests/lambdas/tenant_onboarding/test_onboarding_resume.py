"""A failure or a crash after each provisioning step, then the same request again: one active
tenant, and exactly one of every row, user, object and event."""

from __future__ import annotations

import json
import uuid
from typing import Any, NoReturn

import pytest

from lambdas.tenant_onboarding import aws, onboarding, repository
from lambdas.tenant_onboarding.lifecycle import OFFBOARDING_STEPS, onboarding_step_names
from lambdas.tenant_onboarding.steps import Step, StepRunner
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import Databases, Reply, call, create, new_request

pytestmark = pytest.mark.usefixtures("local_platform")

APPS = ["crm", "hr"]
STEPS = onboarding_step_names(APPS, sso=True)


class SimulatedCrash(BaseException):
    """The process dies (timeout, out of memory): nothing below the handler catches it."""


@pytest.fixture
def oidc(cloud: Cloud) -> dict[str, str]:
    arn = aws.client("secretsmanager").create_secret(
        Name=f"tenant-sso/resume-{uuid.uuid4().hex[:6]}", SecretString="plain-client-secret"
    )["ARN"]
    return {
        "type": "oidc",
        "issuer": "https://login.example.com",
        "client_id": "platform",
        "client_secret_arn": arn,
    }


def inject(monkeypatch: pytest.MonkeyPatch, *, after: str, error: BaseException) -> None:
    """Raise `error` once: right after step `after` committed (a crash), or, for an ordinary
    error, as the next step starts (that step fails)."""
    original = StepRunner.run_step
    fired = False

    def run_step(self: StepRunner, step: Step) -> None:
        nonlocal fired
        before_next = isinstance(error, Exception) or after == "tenant"
        if not fired and before_next and follows(after, step.name):
            fired = True
            raise error
        original(self, step)
        if not fired and not before_next and step.name == after:
            fired = True
            raise error

    def follows(previous: str, current: str) -> bool:
        position = STEPS.index(current)
        return position > 0 and STEPS[position - 1] == previous

    monkeypatch.setattr(StepRunner, "run_step", run_step)


def expire_lease(databases: Databases, slug: str) -> None:
    """What time does for a request that died: its lease runs out."""
    with databases.helper("core").as_control_plane() as cur:
        cur.execute(
            "UPDATE tenants SET lease_expires_at = now() - interval '1 second'"
            " WHERE slug = %(s)s AND lease_owner IS NOT NULL",
            {"s": slug},
        )


def assert_exactly_one_of_everything(
    cloud: Cloud, databases: Databases, slug: str, reply: Reply
) -> None:
    assert reply.status == 201, reply.body
    tenant_id = reply.body["tenant_id"]
    assert databases.tenants_with_slug(slug) == 1
    row = databases.tenant_row(slug)
    assert row is not None
    assert (row["status"], row["failed_step"], row["outbox"], row["lease_owner"]) == (
        "active",
        None,
        [],
        None,
    )
    assert sorted(row["provisioning_steps"]) == sorted(STEPS)
    databases.assert_provisioned_once(tenant_id, apps=("crm", "hr"))
    assert len(cloud.users(tenant_id)) == 1
    assert len(cloud.versions(f"tenants/{tenant_id}/")) == 1
    assert cloud.identity_providers() == [uuid.UUID(tenant_id).hex]
    events = cloud.events(tenant_id)
    assert [event["detail-type"] for event in events] == ["TenantOnboarded"]


@pytest.mark.parametrize("after", [pytest.param(step, id=f"after-{step}") for step in STEPS[:-1]])
def test_failure_after_each_step_marks_failed_and_a_retry_finishes(
    cloud: Cloud,
    databases: Databases,
    created: list[str],
    monkeypatch: pytest.MonkeyPatch,
    oidc: dict[str, str],
    after: str,
) -> None:
    request = new_request("fail", apps=APPS, sso=oidc)
    created.append(request["slug"])
    headers = {"Idempotency-Key": "k-" + request["slug"]}
    inject(monkeypatch, after=after, error=ConnectionError("injected"))

    failed = call("create_tenant.json", body=request, headers=headers)

    next_step = STEPS[STEPS.index(after) + 1]
    assert failed.status == 503
    assert failed.headers["retry-after"] == "5"
    assert (failed.body["status"], failed.body["failed_step"]) == ("failed", next_step)
    assert failed.body["failure_reason"] == "ConnectionError"
    row = databases.tenant_row(request["slug"])
    assert row is not None
    assert (row["status"], row["failed_step"], row["failure_reason"]) == (
        "failed",
        next_step,
        "ConnectionError",
    )
    assert row["lease_owner"] is None
    shown = call("get_tenant.json", tenant=request["slug"]).body
    assert (shown["status"], shown["failed_step"], shown["failure_reason"]) == (
        "failed",
        next_step,
        "ConnectionError",
    )
    assert {s["name"] for s in shown["steps"] if s["done_at"]} == set(
        STEPS[: STEPS.index(after) + 1]
    )

    retry = call("create_tenant.json", body=request, headers=headers)

    assert_exactly_one_of_everything(cloud, databases, request["slug"], retry)


@pytest.mark.parametrize("after", [pytest.param(step, id=f"after-{step}") for step in STEPS])
def test_crash_after_each_step_resumes_once_the_lease_expires(
    cloud: Cloud,
    databases: Databases,
    created: list[str],
    monkeypatch: pytest.MonkeyPatch,
    oidc: dict[str, str],
    after: str,
) -> None:
    request = new_request("crash", apps=APPS, sso=oidc)
    created.append(request["slug"])
    headers = {"Idempotency-Key": "k-" + request["slug"]}
    inject(monkeypatch, after=after, error=SimulatedCrash())
    monkeypatch.setattr(onboarding, "LEASE_WAIT_SECONDS", 0.3)

    with pytest.raises(SimulatedCrash):
        call("create_tenant.json", body=request, headers=headers)

    row = databases.tenant_row(request["slug"])
    assert row is not None
    if after != "active":
        assert row["status"] == "provisioning"
        assert row["lease_owner"] is not None
        busy = call("create_tenant.json", body=request, headers=headers)
        assert busy.status == 409
        assert busy.headers["retry-after"] == "5"
    expire_lease(databases, request["slug"])

    retry = call("create_tenant.json", body=request, headers=headers)

    assert_exactly_one_of_everything(cloud, databases, request["slug"], retry)


def test_crash_between_publishing_and_recording_the_event_repeats_it_with_its_id(
    cloud: Cloud,
    databases: Databases,
    created: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one window of at-least-once delivery: consumers deduplicate on detail.event_id."""
    request = new_request("twice", apps=APPS)
    created.append(request["slug"])
    original = repository.record_step
    crashed: list[str] = []

    def record_step(
        cur: Any, tenant_id: uuid.UUID, owner: uuid.UUID, column: Any, step: str
    ) -> None:
        if step == "event" and not crashed:
            crashed.append(step)
            raise SimulatedCrash()
        original(cur, tenant_id, owner, column, step)

    monkeypatch.setattr(repository, "record_step", record_step)
    with pytest.raises(SimulatedCrash):
        create(request)
    expire_lease(databases, request["slug"])

    retry = create(request)

    assert retry.status == 201
    events = cloud.events(retry.body["tenant_id"])
    assert len(events) == 2
    assert len({event["detail"]["event_id"] for event in events}) == 1
    assert databases.core_counts(retry.body["tenant_id"])["onboarded_audit"] == 1


@pytest.mark.parametrize(
    "after", [pytest.param(step, id=f"after-{step}") for step in OFFBOARDING_STEPS[:-1]]
)
def test_offboarding_failure_after_each_step_is_finished_by_a_repeat(
    cloud: Cloud,
    databases: Databases,
    created: list[str],
    monkeypatch: pytest.MonkeyPatch,
    after: str,
) -> None:
    request = new_request("offfail", apps=APPS)
    created.append(request["slug"])
    tenant_id = create(request).body["tenant_id"]
    original = StepRunner.run_step
    fired: list[str] = []

    def run_step(self: StepRunner, step: Step) -> None:
        position = OFFBOARDING_STEPS.index(step.name)
        if not fired and position > 0 and OFFBOARDING_STEPS[position - 1] == after:
            fired.append(step.name)
            raise ConnectionError("injected")
        original(self, step)

    monkeypatch.setattr(StepRunner, "run_step", run_step)

    failed = call("offboard_tenant.json", tenant=request["slug"])

    assert failed.status == 503
    assert (failed.body["status"], failed.body["failed_step"]) == ("offboarding", fired[0])

    repeat = call("offboard_tenant.json", tenant=request["slug"])

    assert repeat.status == 200
    assert repeat.body["status"] == "offboarded"
    assert set(databases.registry_rows(tenant_id).values()) == {0}
    assert cloud.versions(f"tenants/{tenant_id}/") == []
    assert [user["Enabled"] for user in cloud.users(tenant_id)] == [False]
    counts = databases.core_counts(tenant_id)
    assert (counts["offboarded_audit"], counts["active_subscriptions"]) == (1, 0)
    assert [e["detail-type"] for e in cloud.events(tenant_id)] == [
        "TenantOnboarded",
        "TenantOffboarded",
    ]


def test_failed_tenant_shows_the_error_code_never_the_error_message(
    cloud: Cloud, databases: Databases, created: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The caller can tell a throttle (repeat later) from a missing secret (fix it first); the
    # AWS message, which may name internal resources, stays in the logs.
    request = new_request("reason", apps=APPS)
    created.append(request["slug"])
    monkeypatch.setattr(
        "lambdas.tenant_onboarding.identity.ensure_admin_user",
        _raise_client_error,
    )

    failed = create(request)

    assert failed.status == 503
    reason = "AdminCreateUser: LimitExceededException"
    assert (failed.body["failed_step"], failed.body["failure_reason"]) == ("admin_user", reason)
    shown = call("get_tenant.json", tenant=request["slug"]).body
    assert shown["failure_reason"] == reason
    assert "internal detail" not in json.dumps(failed.body) + json.dumps(shown)
    row = databases.tenant_row(request["slug"])
    assert row is not None
    assert row["failure_reason"] == reason


def _raise_client_error(*_: Any) -> NoReturn:
    from botocore.exceptions import ClientError

    raise ClientError(
        {"Error": {"Code": "LimitExceededException", "Message": "internal detail"}},
        "AdminCreateUser",
    )
