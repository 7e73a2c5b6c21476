"""GET, list, PATCH and DELETE of /tenants, wrong methods and unknown routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from lambdas.shared.databases import APP_DATABASES
from lambdas.tenant_onboarding import aws, identity
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import Databases, call, new_request

pytestmark = pytest.mark.usefixtures("local_platform")


def onboard(created: list[str], tag: str, **overrides: Any) -> dict[str, Any]:
    request = new_request(tag, **overrides)
    created.append(request["slug"])
    reply = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})
    assert reply.status == 201, reply.body
    return reply.body


def test_get_by_id_and_by_slug_show_status_plan_apps_and_steps(
    cloud: Cloud, created: list[str]
) -> None:
    tenant = onboard(created, "lookup")

    by_id = call("get_tenant.json", tenant=tenant["tenant_id"])
    by_slug = call("get_tenant.json", tenant=tenant["slug"])

    assert (by_id.status, by_slug.status) == (200, 200)
    assert by_id.body == by_slug.body
    body = by_id.body
    assert (body["tenant_id"], body["status"], body["plan"], body["apps"]) == (
        tenant["tenant_id"],
        "active",
        "growth",
        ["crm", "hr"],
    )
    assert [step["name"] for step in body["steps"]] == [
        "tenant",
        "subscription",
        "roles",
        "admin_user",
        "app:crm",
        "app:hr",
        "manifest",
        "audit",
        "event",
        "active",
    ]
    assert all(step["done_at"] for step in body["steps"])
    assert (body["failed_step"], body["failure_reason"]) == (None, None)
    assert "offboarding_steps" not in body


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param(str(uuid.uuid4()), id="unknown-id"),
        pytest.param("no-such-tenant-slug", id="unknown-slug"),
        pytest.param("Upper-Case", id="not-a-slug"),
        pytest.param("a", id="too-short"),
        pytest.param("%27%20OR%201%3D1", id="sql-ish"),
    ],
)
def test_get_unknown_tenant_is_404(cloud: Cloud, reference: str) -> None:
    reply = call("get_tenant.json", tenant=reference)

    assert reply.status == 404
    assert reply.body == {"message": "tenant not found", "errors": []}


def test_list_walks_every_tenant_once_with_the_cursor(cloud: Cloud, created: list[str]) -> None:
    ours = {onboard(created, "page")["slug"] for _ in range(3)}
    seen: list[dict[str, Any]] = []
    cursor = None

    for _ in range(10_000):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = call("list_tenants.json", query=query)
        assert reply.status == 200
        assert len(reply.body["tenants"]) <= 2
        seen += reply.body["tenants"]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break

    slugs = [tenant["slug"] for tenant in seen]
    assert sorted(slug for slug in slugs if slug in ours) == sorted(ours)
    assert len(slugs) == len(set(slugs))
    keys = [(datetime.fromisoformat(t["created_at"]), t["tenant_id"]) for t in seen]
    assert keys == sorted(keys)
    listed = {tenant["slug"]: tenant for tenant in seen}
    assert {listed[slug]["apps"] == ["crm", "hr"] for slug in ours} == {True}


def test_list_default_page_is_20_at_most(cloud: Cloud) -> None:
    reply = call("list_tenants.json", query={})

    assert reply.status == 200
    assert len(reply.body["tenants"]) <= 20
    assert set(reply.body) == {"tenants", "next_cursor"}


def test_update_apps_provisions_the_new_and_revokes_the_removed_keeping_data(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    tenant = onboard(created, "apps")
    tenant_id = tenant["tenant_id"]

    reply = call("update_tenant.json", tenant=tenant["slug"], body={"apps": ["crm", "accounting"]})

    assert reply.status == 200
    assert (reply.body["plan"], reply.body["apps"]) == ("growth", ["crm", "accounting"])
    assert databases.registry_rows(tenant_id) == {
        "crm": 1,
        "hr": 1,
        "accounting": 1,
        "inventory": 0,
        "affiliate": 0,
    }
    counts = databases.core_counts(tenant_id)
    assert (counts["granted_apps"], counts["active_subscriptions"], counts["subscriptions"]) == (
        2,
        1,
        1,
    )
    assert counts["roles"] == 7
    assert [e["detail-type"] for e in cloud.events(tenant_id)] == [
        "TenantOnboarded",
        "TenantUpdated",
    ]
    assert cloud.events(tenant_id)[1]["detail"]["added"] == ["accounting"]
    assert cloud.events(tenant_id)[1]["detail"]["removed"] == ["hr"]
    assert len(cloud.versions(f"tenants/{tenant_id}/")) == 2


def test_update_plan_switches_the_subscription_and_defaults_apps_to_the_plan(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    tenant = onboard(created, "upgrade")

    reply = call("update_tenant.json", tenant=tenant["tenant_id"], body={"plan": "enterprise"})
    again = call("update_tenant.json", tenant=tenant["tenant_id"], body={"plan": "enterprise"})

    assert (reply.status, again.status) == (200, 200)
    assert reply.body["plan"] == "enterprise"
    assert reply.body["apps"] == list(APP_DATABASES)
    counts = databases.core_counts(tenant["tenant_id"])
    assert (counts["subscriptions"], counts["active_subscriptions"]) == (2, 1)
    assert set(databases.registry_rows(tenant["tenant_id"]).values()) == {1}
    assert len(cloud.events(tenant["tenant_id"])) == 2


def test_update_plan_alone_that_lacks_an_app_of_the_tenant_is_400_and_changes_nothing(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    tenant = onboard(created, "downgrade", apps=["crm", "accounting"])
    tenant_id = tenant["tenant_id"]
    same = new_request("downgrade", plan="starter", apps=["crm", "accounting"])
    created.append(same["slug"])

    reply = call("update_tenant.json", tenant=tenant["slug"], body={"plan": "starter"})
    posted = call("create_tenant.json", body=same, headers={"Idempotency-Key": None})

    assert reply.status == 400
    assert reply.body == {
        "message": "the request is invalid",
        "errors": [
            {
                "field": "plan",
                "message": "plan 'starter' does not include accounting, which the tenant has; "
                "it includes crm, hr (to revoke the others, send 'apps' as well)",
            }
        ],
    }
    assert posted.status == 400
    assert posted.field_errors() == {
        "apps": "plan 'starter' does not include accounting; it includes crm, hr"
    }
    shown = call("get_tenant.json", tenant=tenant_id).body
    assert (shown["plan"], shown["apps"]) == ("growth", ["crm", "accounting"])
    counts = databases.core_counts(tenant_id)
    assert (counts["subscriptions"], counts["granted_apps"]) == (1, 2)
    assert [e["detail-type"] for e in cloud.events(tenant_id)] == ["TenantOnboarded"]
    assert len(cloud.versions(f"tenants/{tenant_id}/")) == 1

    chosen = call("update_tenant.json", tenant=tenant_id, body={"plan": "starter", "apps": ["crm"]})

    assert chosen.status == 200
    assert (chosen.body["plan"], chosen.body["apps"]) == ("starter", ["crm"])


def test_update_plan_with_apps_it_lacks_is_400_naming_apps(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    tenant = onboard(created, "mixed")

    reply = call(
        "update_tenant.json", tenant=tenant["slug"], body={"plan": "starter", "apps": ["inventory"]}
    )

    assert reply.status == 400
    assert reply.field_errors() == {
        "apps": "plan 'starter' does not include inventory; it includes crm, hr"
    }
    assert databases.core_counts(tenant["tenant_id"])["subscriptions"] == 1


def test_update_unknown_tenant_is_404(cloud: Cloud) -> None:
    reply = call("update_tenant.json", tenant=str(uuid.uuid4()), body={"plan": "starter"})

    assert reply.status == 404


def test_offboard_removes_every_trace_and_is_repeatable(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    sso = {"type": "saml", "metadata_url": "https://idp.example.com/metadata"}
    tenant = onboard(created, "leaving", plan="enterprise", apps=None, sso=sso)
    tenant_id = tenant["tenant_id"]
    for app in APP_DATABASES:
        with databases.helper(app).as_tenant(tenant_id) as cur:
            cur.execute(
                "INSERT INTO usage_events (tenant_id, metric, quantity) VALUES (%s, 'exports', 3)",
                (tenant_id,),
            )
    with databases.helper("crm").as_tenant(tenant_id) as cur:
        cur.execute(
            "INSERT INTO accounts (tenant_id, name) VALUES (%s, 'Big customer')", (tenant_id,)
        )
    s3 = aws.client("s3")
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=cloud.bucket, Key=f"tenants/{tenant_id}/crm/contract.pdf", Body=body)
    s3.delete_object(Bucket=cloud.bucket, Key=f"tenants/{tenant_id}/crm/contract.pdf")
    neighbour = f"tenants/{tenant_id}0/keep.txt"
    s3.put_object(Bucket=cloud.bucket, Key=neighbour, Body=b"not this tenant")

    first = call("offboard_tenant.json", tenant=tenant["slug"])
    second = call("offboard_tenant.json", tenant=tenant_id)

    assert (first.status, second.status) == (200, 200)
    assert first.body["status"] == "offboarded"
    assert second.body == first.body
    assert all(step["done_at"] for step in first.body["offboarding_steps"])
    for app in APP_DATABASES:
        assert set(databases.app_rows(app, tenant_id).values()) == {0}, app
    assert cloud.versions(f"tenants/{tenant_id}/") == []
    assert [v["Key"] for v in cloud.versions(neighbour)] == [neighbour]
    assert [user["Enabled"] for user in cloud.users(tenant_id)] == [False]
    assert identity.provider_name(uuid.UUID(tenant_id)) not in cloud.identity_providers()
    counts = databases.core_counts(tenant_id)
    assert (counts["active_subscriptions"], counts["granted_apps"], counts["offboarded_audit"]) == (
        0,
        0,
        1,
    )
    assert [e["detail-type"] for e in cloud.events(tenant_id)] == [
        "TenantOnboarded",
        "TenantOffboarded",
    ]


def test_offboarded_tenant_cannot_change_or_be_created_again(
    cloud: Cloud, created: list[str]
) -> None:
    request = new_request("gone")
    created.append(request["slug"])
    assert call("create_tenant.json", body=request, headers={"Idempotency-Key": None}).status == 201
    assert call("offboard_tenant.json", tenant=request["slug"]).status == 200

    update = call("update_tenant.json", tenant=request["slug"], body={"plan": "starter"})
    recreate = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})

    assert update.status == 409
    assert update.body == {
        "message": "the tenant is offboarded; only an active tenant can change",
        "errors": [],
    }
    assert recreate.status == 409
    assert recreate.body == {
        "message": "the tenant made by this request has been offboarded",
        "errors": [],
    }


def test_offboard_unknown_tenant_is_404(cloud: Cloud) -> None:
    assert call("offboard_tenant.json", tenant=str(uuid.uuid4())).status == 404


@pytest.mark.parametrize(
    ("event", "method", "tenant", "allowed"),
    [
        pytest.param("put_tenants.json", None, None, "GET, POST", id="PUT-collection"),
        pytest.param("put_tenants.json", "DELETE", None, "GET, POST", id="DELETE-collection"),
        pytest.param("put_tenants.json", "PATCH", None, "GET, POST", id="PATCH-collection"),
        pytest.param("get_tenant.json", "POST", "acme", "GET, PATCH, DELETE", id="POST-item"),
        pytest.param("get_tenant.json", "PUT", "acme", "GET, PATCH, DELETE", id="PUT-item"),
        pytest.param("put_tenants.json", "TRACE", None, "GET, POST", id="TRACE-collection"),
        pytest.param("get_tenant.json", "TRACE", "acme", "GET, PATCH, DELETE", id="TRACE-item"),
        pytest.param("get_tenant.json", "CONNECT", "acme", "GET, PATCH, DELETE", id="CONNECT-item"),
    ],
)
def test_wrong_method_is_405_with_allow(
    cloud: Cloud, event: str, method: str | None, tenant: str | None, allowed: str
) -> None:
    reply = call(event, method=method, tenant=tenant)

    assert reply.status == 405
    assert reply.headers["allow"] == allowed
    assert reply.body == {"message": f"method not allowed; use {allowed}", "errors": []}


def test_unknown_route_is_404(cloud: Cloud) -> None:
    from tests.lambdas.tenant_onboarding.support import build_event, invoke

    event = build_event("list_tenants.json")
    event["path"] = "/tenants/acme/users"
    event["resource"] = "/{proxy+}"

    reply = invoke(event)

    assert reply.status == 404
    assert reply.body == {"message": "no such resource", "errors": []}
