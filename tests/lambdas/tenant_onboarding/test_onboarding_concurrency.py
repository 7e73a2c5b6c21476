"""Twenty requests at once for one slug: exactly one tenant, and one of everything it owns."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambdas.tenant_onboarding import connections, onboarding
from lambdas.tenant_onboarding.errors import ApiError
from lambdas.tenant_onboarding.lifecycle import Caller
from lambdas.tenant_onboarding.models import CreateTenant
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import Databases, Reply, call, new_request

pytestmark = pytest.mark.usefixtures("local_platform")

REQUESTS = 20


def _all_at_once(work: Any) -> list[Any]:
    """Run `work(i)` for every i on its own thread, released together by a barrier."""
    barrier = threading.Barrier(REQUESTS)

    def run(index: int) -> Any:
        barrier.wait()
        try:
            return work(index)
        finally:
            connections.close_thread_connections()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return list(pool.map(run, range(REQUESTS)))


@pytest.mark.parametrize(
    "key", [pytest.param("same-key", id="same-idempotency-key"), pytest.param(None, id="no-key")]
)
def test_twenty_identical_posts_make_one_tenant(
    cloud: Cloud, databases: Databases, created: list[str], key: str | None
) -> None:
    request = new_request("herd", apps=["crm", "hr"])
    created.append(request["slug"])
    headers = {"Idempotency-Key": f"{key}-{request['slug']}" if key else None}

    replies: list[Reply] = _all_at_once(
        lambda _: call("create_tenant.json", body=request, headers=headers)
    )

    statuses = sorted(reply.status for reply in replies)
    assert set(statuses) <= {201, 409}, statuses
    made = [reply for reply in replies if reply.status == 201]
    assert made
    assert len({str(sorted(reply.body.items())) for reply in made}) == 1
    busy = [reply for reply in replies if reply.status == 409]
    assert all(reply.headers["retry-after"] == "5" for reply in busy)
    tenant_id = made[0].body["tenant_id"]
    assert databases.tenants_with_slug(request["slug"]) == 1
    counts = databases.core_counts(tenant_id)
    assert (counts["subscriptions"], counts["roles"], counts["assignments"]) == (1, 5, 1)
    assert counts["onboarded_audit"] == 1
    assert databases.registry_rows(tenant_id)["crm"] == 1
    assert len(cloud.users(tenant_id)) == 1
    assert len(cloud.versions(f"tenants/{tenant_id}/")) == 1
    assert len(cloud.events(tenant_id)) == 1


def test_twenty_different_requests_for_one_slug_make_one_tenant(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    """Each thread calls the onboarding service directly: powertools' resolver keeps the
    current event in a class attribute, so one process can resolve one event at a time (as
    Lambda does); these requests differ, and must not be mixed up."""
    base = new_request("race")
    created.append(base["slug"])
    requests = [
        CreateTenant.model_validate(
            {**base, "name": f"Racer {i}", "admin_email": f"racer{i}.{base['slug']}@example.com"}
        )
        for i in range(REQUESTS)
    ]

    def attempt(index: int) -> int:
        try:
            onboarding.create_tenant(requests[index], f"key-{index}", Caller("test", None))
        except ApiError as error:
            return int(error.status)
        return 201

    statuses = _all_at_once(attempt)

    assert sorted(statuses) == [201] + [409] * (REQUESTS - 1)
    assert databases.tenants_with_slug(base["slug"]) == 1
    row = databases.tenant_row(base["slug"])
    assert row is not None
    assert row["status"] == "active"
    assert len(cloud.users(row["id"])) == 1
    assert len(cloud.events(row["id"])) == 1
