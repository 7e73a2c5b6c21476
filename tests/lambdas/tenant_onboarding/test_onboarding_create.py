"""POST /tenants: what a tenant gets, replays, conflicts, SSO, and the errors of the route."""

from __future__ import annotations

import json
import uuid

import pytest

from lambdas.shared.db import Cursor
from lambdas.tenant_onboarding import aws, documents, identity, repository
from lambdas.tenant_onboarding.repository import Tenant
from lambdas.tenant_onboarding.settings import ADMIN_GROUP
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import Databases, call, create, new_request

pytestmark = pytest.mark.usefixtures("local_platform")


def test_create_provisions_every_resource_once(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    request = new_request("acme")
    created.append(request["slug"])

    reply = call(
        "create_tenant.json", body=request, headers={"Idempotency-Key": "k-" + request["slug"]}
    )

    assert reply.status == 201
    tenant_id = reply.body["tenant_id"]
    assert reply.body == {
        "tenant_id": tenant_id,
        "slug": request["slug"],
        "status": "active",
        "plan": "growth",
        "apps": ["crm", "hr"],
    }
    assert reply.headers["location"] == f"/tenants/{tenant_id}"
    assert "idempotent-replayed" not in reply.headers
    databases.assert_provisioned_once(tenant_id, apps=("crm", "hr"))
    users = cloud.users(tenant_id)
    assert [user["attributes"]["email"] for user in users] == [request["admin_email"]]
    groups = aws.client("cognito-idp").admin_list_groups_for_user(
        UserPoolId=cloud.pool_id, Username=users[0]["Username"]
    )["Groups"]
    assert [group["GroupName"] for group in groups] == [ADMIN_GROUP]
    assignment = databases.core_scalar(
        "SELECT user_id FROM user_role_assignments WHERE tenant_id = %(t)s", {"t": tenant_id}
    )
    assert assignment == users[0]["attributes"]["sub"]
    versions = cloud.versions(f"tenants/{tenant_id}/")
    assert [version["Key"] for version in versions] == [f"tenants/{tenant_id}/tenant.json"]
    manifest = json.loads(
        aws.client("s3").get_object(Bucket=cloud.bucket, Key=versions[0]["Key"])["Body"].read()
    )
    assert manifest["tenant_id"] == tenant_id
    assert (manifest["slug"], manifest["plan"], manifest["apps"]) == (
        request["slug"],
        "growth",
        ["crm", "hr"],
    )
    events = cloud.events(tenant_id)
    assert [event["detail-type"] for event in events] == ["TenantOnboarded"]
    assert events[0]["detail"]["apps"] == ["crm", "hr"]
    row = databases.tenant_row(request["slug"])
    assert row is not None
    assert (row["status"], row["outbox"], row["lease_owner"]) == ("active", [], None)


def test_create_defaults_apps_to_those_of_the_plan(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    request = new_request("deflt")
    del request["apps"]
    created.append(request["slug"])

    reply = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})

    assert reply.status == 201
    assert reply.body["apps"] == ["crm", "hr", "accounting", "inventory"]
    assert databases.registry_rows(reply.body["tenant_id"]) == {
        "crm": 1,
        "hr": 1,
        "accounting": 1,
        "inventory": 1,
        "affiliate": 0,
    }


@pytest.mark.parametrize(
    "key",
    [pytest.param("replay-key", id="same-idempotency-key"), pytest.param(None, id="no-key")],
)
def test_create_replay_returns_the_same_body_and_creates_nothing(
    cloud: Cloud, databases: Databases, created: list[str], key: str | None
) -> None:
    request = new_request("replay")
    created.append(request["slug"])
    headers = {"Idempotency-Key": f"{key}-{request['slug']}" if key else None}
    first = call("create_tenant.json", body=request, headers=headers)
    reordered = {name: request[name] for name in reversed(list(request))}

    second = call("create_tenant.json", body=reordered, headers=headers)

    assert (first.status, second.status) == (201, 201)
    assert second.body == first.body
    assert list(second.body) == list(first.body)
    assert second.headers["idempotent-replayed"] == "true"
    tenant_id = first.body["tenant_id"]
    assert databases.tenants_with_slug(request["slug"]) == 1
    assert len(cloud.users(tenant_id)) == 1
    assert len(cloud.versions(f"tenants/{tenant_id}/")) == 1
    assert len(cloud.events(tenant_id)) == 1
    assert databases.core_counts(tenant_id)["onboarded_audit"] == 1


def test_create_same_key_with_another_body_is_422(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    request = new_request("rekey")
    created.append(request["slug"])
    headers = {"Idempotency-Key": "k-" + request["slug"]}
    assert call("create_tenant.json", body=request, headers=headers).status == 201

    reply = call("create_tenant.json", body={**request, "name": "Other"}, headers=headers)

    assert reply.status == 422
    assert reply.body == {
        "message": "this Idempotency-Key was used with a different request body",
        "errors": [],
    }
    assert databases.tenants_with_slug(request["slug"]) == 1


@pytest.mark.parametrize(
    ("change", "key"),
    [
        pytest.param({"name": "Someone Else"}, None, id="another-body"),
        pytest.param({}, "another-key", id="same-body-another-key"),
        pytest.param({"name": "Someone Else"}, "another-key", id="another-body-and-key"),
    ],
)
def test_create_slug_of_another_request_is_409(
    cloud: Cloud, databases: Databases, created: list[str], change: dict[str, str], key: str | None
) -> None:
    request = new_request("taken")
    created.append(request["slug"])
    assert (
        call(
            "create_tenant.json", body=request, headers={"Idempotency-Key": "k-" + request["slug"]}
        ).status
        == 201
    )

    reply = call(
        "create_tenant.json",
        body={**request, **change, "admin_email": f"x{uuid.uuid4().hex[:6]}@other.example.com"},
        headers={"Idempotency-Key": key},
    )

    assert reply.status == 409
    assert reply.field_errors() == {"slug": "is taken"}
    assert databases.tenants_with_slug(request["slug"]) == 1


def test_create_admin_email_of_another_tenants_user_is_409(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    first = new_request("mail1")
    second = new_request("mail2", admin_email=first["admin_email"])
    created += [first["slug"], second["slug"]]
    assert call("create_tenant.json", body=first, headers={"Idempotency-Key": None}).status == 201

    reply = call("create_tenant.json", body=second, headers={"Idempotency-Key": None})

    assert reply.status == 409
    assert reply.field_errors() == {"admin_email": "is already a user of another tenant"}
    assert databases.tenants_with_slug(second["slug"]) == 0


def test_create_admin_email_of_a_tenant_whose_user_is_gone_is_still_409(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    # The core database, not only the user pool, says whose admin an email is: a pool that
    # lost the user (another pool, a restarted emulator) must not free the email.
    first = new_request("gone1")
    second = new_request("gone2", admin_email=first["admin_email"])
    created += [first["slug"], second["slug"]]
    made = call("create_tenant.json", body=first, headers={"Idempotency-Key": None})
    assert made.status == 201
    [user] = cloud.users(made.body["tenant_id"])
    aws.client("cognito-idp").admin_delete_user(UserPoolId=cloud.pool_id, Username=user["Username"])

    reply = call("create_tenant.json", body=second, headers={"Idempotency-Key": None})

    assert reply.status == 409
    assert reply.field_errors() == {"admin_email": "is already a user of another tenant"}
    assert databases.tenants_with_slug(second["slug"]) == 0


def test_create_that_loses_the_race_to_its_own_twin_replays_it(
    cloud: Cloud, databases: Databases, created: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two identical requests at once: this one looked for the slug before its twin made the
    # tenant and its admin, and checks the email after. The email is the twin's, not another
    # tenant's: the answer is the twin's 201, not 409.
    request = new_request("twin")
    created.append(request["slug"])
    twin = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})
    assert twin.status == 201
    real = repository.find_for_request
    looks: list[int] = []

    def before_the_twin(cur: Cursor, slug: str, key: str | None) -> list[Tenant]:
        looks.append(1)
        return [] if len(looks) == 1 else real(cur, slug, key)

    monkeypatch.setattr(repository, "find_for_request", before_the_twin)

    reply = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})

    assert (reply.status, reply.body) == (201, twin.body)
    assert reply.headers["idempotent-replayed"] == "true"
    assert databases.tenants_with_slug(request["slug"]) == 1


def test_create_admin_email_in_other_case_is_the_same_user(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    first = new_request("case1")
    second = new_request("case2", admin_email=first["admin_email"].upper())
    created += [first["slug"], second["slug"]]
    made = call("create_tenant.json", body=first, headers={"Idempotency-Key": None})
    assert made.status == 201

    reply = call("create_tenant.json", body=second, headers={"Idempotency-Key": None})

    assert reply.status == 409
    assert reply.field_errors() == {"admin_email": "is already a user of another tenant"}
    [user] = cloud.users(made.body["tenant_id"])
    assert user["attributes"]["email"] == first["admin_email"].lower()


def test_create_with_saml_sso_makes_the_identity_provider(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    sso = {"type": "saml", "metadata_url": "https://idp.example.com/saml/metadata.xml"}
    request = new_request("saml", sso=sso)
    created.append(request["slug"])

    reply = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})

    assert reply.status == 201
    name = identity.provider_name(uuid.UUID(reply.body["tenant_id"]))
    provider = aws.client("cognito-idp").describe_identity_provider(
        UserPoolId=cloud.pool_id, ProviderName=name
    )["IdentityProvider"]
    assert provider["ProviderType"] == "SAML"
    assert provider["ProviderDetails"]["MetadataURL"] == sso["metadata_url"]
    detail = call("get_tenant.json", tenant=request["slug"]).body
    assert detail["sso"] == {"type": "saml"}
    assert "sso" in [step["name"] for step in detail["steps"]]


def test_create_with_oidc_sso_reads_the_secret_and_never_stores_it(
    cloud: Cloud, databases: Databases, created: list[str]
) -> None:
    secret_value = "oidc-client-secret-" + uuid.uuid4().hex
    arn = aws.client("secretsmanager").create_secret(
        Name=f"tenant-sso/oidc-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"client_secret": secret_value}),
    )["ARN"]
    sso = {
        "type": "oidc",
        "issuer": "https://login.example.com/realms/acme",
        "client_id": "platform-acme",
        "client_secret_arn": arn,
    }
    request = new_request("oidc", sso=sso)
    created.append(request["slug"])

    reply = call("create_tenant.json", body=request, headers={"Idempotency-Key": None})

    assert reply.status == 201
    tenant_id = uuid.UUID(reply.body["tenant_id"])
    details = aws.client("cognito-idp").describe_identity_provider(
        UserPoolId=cloud.pool_id, ProviderName=identity.provider_name(tenant_id)
    )["IdentityProvider"]["ProviderDetails"]
    assert (details["client_id"], details["client_secret"], details["oidc_issuer"]) == (
        "platform-acme",
        secret_value,
        sso["issuer"],
    )
    stored = databases.core_scalar(
        "SELECT onboarding_request::text || outbox::text || coalesce(onboarding_response::text, '')"
        " FROM tenants WHERE id = %(t)s",
        {"t": str(tenant_id)},
    )
    manifest = (
        aws.client("s3")
        .get_object(Bucket=cloud.bucket, Key=documents.manifest_key(tenant_id))["Body"]
        .read()
        .decode()
    )
    assert secret_value not in stored
    assert secret_value not in manifest
    assert arn in stored


def test_create_unexpected_error_is_500_without_detail(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("connection to postgresql://core_control_plane:hunter2@db failed")

    monkeypatch.setattr(repository, "plans", broken)

    reply = create(new_request("boom"))

    assert reply.status == 500
    assert reply.body == {"message": "internal error; repeating the request is safe", "errors": []}
