"""Every class of bad input to the API: 400 with the field, 413, nothing created."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import (
    Databases,
    build_event,
    call,
    invoke,
    new_request,
)

pytestmark = pytest.mark.usefixtures("local_platform")

ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:tenant-sso/acme-AbCdEf"
OIDC = {
    "type": "oidc",
    "issuer": "https://id.example.com",
    "client_id": "c",
    "client_secret_arn": ARN,
}


def _body(**changes: Any) -> dict[str, Any]:
    body = new_request("bad")
    for name, value in changes.items():
        if value is _DROP:
            del body[name]
        else:
            body[name] = value
    return body


_DROP = object()


def _padded(size: int) -> str:
    """A valid body with an extra field `pad` that makes it exactly `size` bytes."""
    body = json.dumps(_body())
    frame = len(body) + len(', "pad": ""')
    padded = body[:-1] + ', "pad": "' + "x" * (size - frame) + '"}'
    assert len(padded.encode()) == size
    return padded


# (id, body: raw text or a change of a valid body, field with the error or None for the body)
MALFORMED = [
    ("empty-body", "", None, "a JSON object body is required"),
    ("null-body", "null", None, "the body must be a JSON object, not null"),
    ("array-body", "[]", None, "the body must be a JSON object, not list"),
    ("string-body", '"tenant"', None, "the body must be a JSON object, not str"),
    ("number-body", "42", None, "the body must be a JSON object, not int"),
    ("truncated-json", '{"name": "Acme"', None, "the body is not valid JSON"),
    ("trailing-comma", '{"name": "Acme",}', None, "the body is not valid JSON"),
    ("single-quotes", "{'name': 'Acme'}", None, "the body is not valid JSON"),
    ("nan-value", '{"name": NaN}', None, "NaN is not a JSON number"),
    ("huge-integer", '{"name": ' + "9" * 5000 + "}", None, "a number is too large"),
    ("nul-escape", '{"name": "Acme\\u0000"}', None, "NUL character"),
    ("lone-surrogate", '{"slug": "\\ud800"}', None, "unpaired surrogate"),
    ("nul-in-key", '{"na\\u0000me": "Acme"}', None, "NUL character"),
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, None, "larger than"),
]

INVALID = [
    ("missing-name", _body(name=_DROP), "name"),
    ("missing-slug", _body(slug=_DROP), "slug"),
    ("missing-email", _body(admin_email=_DROP), "admin_email"),
    ("missing-plan", _body(plan=_DROP), "plan"),
    ("name-number", _body(name=42), "name"),
    ("name-null", _body(name=None), "name"),
    ("name-blank", _body(name="   "), "name"),
    ("name-too-long", _body(name="x" * 201), "name"),
    ("name-control-char", _body(name="Acme\x07Corp"), "name"),
    ("name-format-char", _body(name="Acme\u202eCorp"), "name"),
    ("slug-number", _body(slug=123), "slug"),
    ("slug-too-short", _body(slug="ab"), "slug"),
    ("slug-too-long", _body(slug="a" * 64), "slug"),
    ("slug-uppercase", _body(slug="Acme-corp"), "slug"),
    ("slug-leading-hyphen", _body(slug="-acme"), "slug"),
    ("slug-trailing-hyphen", _body(slug="acme-"), "slug"),
    ("slug-underscore", _body(slug="acme_corp"), "slug"),
    ("slug-dot", _body(slug="acme.corp"), "slug"),
    ("slug-unicode", _body(slug="acmé"), "slug"),
    ("slug-idn-prefix", _body(slug="xn--acme"), "slug"),
    ("slug-tenant-id-shape", _body(slug="8edcdcc0-8a96-4633-8f00-e74476da1afe"), "slug"),
    ("slug-nil-uuid", _body(slug="00000000-0000-0000-0000-000000000000"), "slug"),
    *(
        (f"slug-reserved-{word}", _body(slug=word), "slug")
        for word in (
            "www",
            "api",
            "admin",
            "app",
            "mail",
            "static",
            "crm",
            "hr",
            "accounting",
            "inventory",
            "affiliate",
        )
    ),
    ("email-no-at", _body(admin_email="admin.example.com"), "admin_email"),
    ("email-no-domain-dot", _body(admin_email="admin@localhost"), "admin_email"),
    ("email-two-ats", _body(admin_email="a@b@example.com"), "admin_email"),
    ("email-space", _body(admin_email="ad min@example.com"), "admin_email"),
    ("email-double-dot", _body(admin_email="ad..min@example.com"), "admin_email"),
    ("email-ip-literal", _body(admin_email="admin@[127.0.0.1]"), "admin_email"),
    ("email-numeric-tld", _body(admin_email="admin@example.123"), "admin_email"),
    ("email-list", _body(admin_email=["admin@example.com"]), "admin_email"),
    ("email-too-long", _body(admin_email="a" * 65 + "@example.com"), "admin_email"),
    ("plan-unknown", _body(plan="platinum"), "plan"),
    ("plan-shape", _body(plan="Growth Plan"), "plan"),
    ("plan-number", _body(plan=2), "plan"),
    ("apps-string", _body(apps="crm"), "apps"),
    ("apps-empty", _body(apps=[]), "apps"),
    ("apps-unknown", _body(apps=["crm", "erp"]), "apps.1"),
    ("apps-number", _body(apps=[1]), "apps.0"),
    ("apps-duplicate", _body(apps=["crm", "crm"]), "apps"),
    ("apps-not-in-plan", _body(plan="starter", apps=["crm", "affiliate"]), "apps"),
    ("extra-field", _body(tier="gold"), "tier"),
    ("sso-string", _body(sso="saml"), "sso"),
    ("sso-unknown-type", _body(sso={"type": "ldap", "url": "https://x.example.com"}), "sso"),
    ("sso-no-type", _body(sso={"metadata_url": "https://idp.example.com/m.xml"}), "sso"),
    (
        "saml-http-url",
        _body(sso={"type": "saml", "metadata_url": "http://idp.example.com/m"}),
        "sso.metadata_url",
    ),
    (
        "saml-no-host",
        _body(sso={"type": "saml", "metadata_url": "https:///m.xml"}),
        "sso.metadata_url",
    ),
    (
        "saml-userinfo",
        _body(sso={"type": "saml", "metadata_url": "https://u:p@idp.example.com/"}),
        "sso.metadata_url",
    ),
    ("saml-missing-url", _body(sso={"type": "saml"}), "sso.metadata_url"),
    ("oidc-secret-value", _body(sso={**OIDC, "client_secret": "s3cr3t"}), "sso.client_secret"),
    ("oidc-bad-arn", _body(sso={**OIDC, "client_secret_arn": "s3cr3t"}), "sso.client_secret_arn"),
    (
        "oidc-arn-outside-prefix",
        _body(sso={**OIDC, "client_secret_arn": ARN.replace("tenant-sso/", "rds/")}),
        "sso.client_secret_arn",
    ),
    ("oidc-http-issuer", _body(sso={**OIDC, "issuer": "http://id.example.com"}), "sso.issuer"),
    ("oidc-client-id-space", _body(sso={**OIDC, "client_id": "a b"}), "sso.client_id"),
    (
        "oidc-missing-client-id",
        _body(sso={k: v for k, v in OIDC.items() if k != "client_id"}),
        "sso.client_id",
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"), [pytest.param(raw, message, id=case) for case, raw, _, message in MALFORMED]
)
def test_create_malformed_body_is_400(cloud: Cloud, raw: str, message: str) -> None:
    reply = call("create_tenant.json", body=raw)

    assert reply.status in (400, 413)
    assert message in reply.body["message"]
    assert isinstance(reply.body["errors"], list)
    assert "Traceback" not in json.dumps(reply.body)


@pytest.mark.parametrize(
    ("body", "field"), [pytest.param(body, field, id=case) for case, body, field in INVALID]
)
def test_create_invalid_field_is_400_naming_it(
    cloud: Cloud, databases: Databases, body: dict[str, Any], field: str
) -> None:
    reply = call("create_tenant.json", body=body)

    assert reply.status == 400, reply.body
    assert reply.body["message"] == "the request is invalid"
    assert field in reply.field_errors(), reply.body
    assert all(error["message"] for error in reply.body["errors"])
    if isinstance(body.get("slug"), str):
        assert databases.tenants_with_slug(body["slug"]) == 0


def test_create_secret_value_is_refused_with_a_pointer_to_secrets_manager(cloud: Cloud) -> None:
    reply = call("create_tenant.json", body=_body(sso={**OIDC, "client_secret": "s3cr3t"}))

    assert reply.status == 400
    assert "Secrets Manager" in reply.field_errors()["sso.client_secret"]
    assert "s3cr3t" not in json.dumps(reply.body)


def test_create_duplicate_json_key_is_400(cloud: Cloud) -> None:
    body = json.dumps(_body())[:-1] + ', "slug": "other-slug"}'

    reply = call("create_tenant.json", body=body)

    assert reply.status == 400
    assert reply.field_errors() == {"slug": "appears more than once in the JSON object"}


@pytest.mark.parametrize(
    ("extra_bytes", "status"),
    [pytest.param(1, 413, id="one-byte-over"), pytest.param(1_000_000, 413, id="a-megabyte")],
)
def test_create_body_over_64_kib_is_413(cloud: Cloud, extra_bytes: int, status: int) -> None:
    padded = _padded(65536 + extra_bytes)

    reply = call("create_tenant.json", body=padded)

    assert reply.status == status
    assert reply.body == {"message": "the body is larger than 65536 bytes", "errors": []}


def test_create_body_of_exactly_64_kib_is_read(cloud: Cloud) -> None:
    padded = _padded(65536)

    reply = call("create_tenant.json", body=padded)

    assert reply.status == 400
    assert reply.field_errors() == {"pad": "is not a field of this request"}


def test_create_slug_shaped_like_a_tenant_id_is_refused(cloud: Cloud) -> None:
    # GET /tenants/<uuid> looks the reference up as an id: such a slug could never be reached
    # by its slug, and could shadow the tenant whose id it is.
    reply = call("create_tenant.json", body=_body(slug="8edcdcc0-8a96-4633-8f00-e74476da1afe"))

    assert reply.status == 400
    assert reply.field_errors() == {"slug": "must not have the form of a tenant id (a UUID)"}


def test_create_base64_body_is_decoded_and_checked(cloud: Cloud) -> None:
    event_body = base64.b64encode(json.dumps(_body(slug="www")).encode()).decode()
    event = build_event("create_tenant.json", body=event_body)
    event["isBase64Encoded"] = True

    reply = invoke(event)

    assert reply.status == 400
    assert reply.field_errors() == {"slug": "'www' is reserved"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"name": "Acme"}', id="plain-json"),
        pytest.param("e30", id="missing-padding"),
        pytest.param("e30=\n", id="trailing-newline"),
        pytest.param("e3-_", id="url-safe-alphabet"),
        pytest.param("Qt21=", id="padding-after-a-full-group"),
        pytest.param("NI==", id="non-zero-padding-bits"),
        pytest.param("m2iTi4cv=", id="padding-after-two-groups"),
    ],
)
def test_create_base64_flagged_body_that_is_not_base64_is_400_saying_so(
    cloud: Cloud, raw: str
) -> None:
    event = build_event("create_tenant.json", body=raw)
    event["isBase64Encoded"] = True

    reply = invoke(event)

    assert reply.status == 400
    assert reply.body == {"message": "the body is not valid base64", "errors": []}


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        pytest.param(None, "is required with a body: application/json", id="missing"),
        pytest.param("text/plain", "must be application/json", id="text-plain"),
        pytest.param(
            "application/x-www-form-urlencoded", "must be application/json", id="curl-form"
        ),
        pytest.param("application/jsonp", "must be application/json", id="jsonp"),
        pytest.param(
            "application/json; charset=iso-8859-1",
            "must be application/json; its charset, if given, utf-8",
            id="latin-1-charset",
        ),
    ],
)
def test_body_that_is_not_application_json_is_415(
    cloud: Cloud, databases: Databases, content_type: str | None, message: str
) -> None:
    body = _body()

    posted = call("create_tenant.json", body=body, headers={"Content-Type": content_type})
    patched = call(
        "update_tenant.json",
        tenant="any-tenant",
        body={"plan": "starter"},
        headers={"Content-Type": content_type},
    )

    expected = {
        "message": "the body must be JSON sent with Content-Type: application/json",
        "errors": [{"field": "Content-Type", "message": message}],
    }
    assert (posted.status, posted.body) == (415, expected)
    assert (patched.status, patched.body) == (415, expected)
    assert databases.tenants_with_slug(body["slug"]) == 0


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/json; charset=utf-8"}, id="charset-utf-8"),
        pytest.param({"Content-Type": 'Application/JSON;Charset="UTF-8"'}, id="any-case"),
        pytest.param({"Content-Type": None, "content-type": "application/json"}, id="http2-name"),
    ],
)
def test_application_json_with_parameters_or_any_case_is_read(
    cloud: Cloud, headers: dict[str, str | None]
) -> None:
    reply = call("create_tenant.json", body=_body(slug="www"), headers=headers)

    assert reply.status == 400
    assert reply.field_errors() == {"slug": "'www' is reserved"}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("has space", id="space"),
        pytest.param("k" * 256, id="too-long"),
        pytest.param("ключ", id="non-ascii"),
    ],
)
def test_create_invalid_idempotency_key_is_400(cloud: Cloud, key: str) -> None:
    reply = call("create_tenant.json", body=_body(), headers={"Idempotency-Key": key})

    assert reply.status == 400
    assert "Idempotency-Key" in reply.field_errors()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body", id="nothing-to-change"),
        pytest.param({"plan": None, "apps": None}, "body", id="only-nulls"),
        pytest.param({"plan": 3}, "plan", id="plan-number"),
        pytest.param({"plan": "platinum"}, "plan", id="plan-unknown"),
        pytest.param({"apps": "crm"}, "apps", id="apps-string"),
        pytest.param({"apps": ["crm", "crm"]}, "apps", id="apps-duplicate"),
        pytest.param({"apps": ["affiliate"]}, "apps", id="apps-not-in-plan"),
        pytest.param({"status": "active"}, "status", id="extra-field"),
    ],
)
def test_update_invalid_body_is_400(
    cloud: Cloud, created: list[str], body: dict[str, Any], field: str
) -> None:
    request = new_request("patchbad")
    created.append(request["slug"])
    assert call("create_tenant.json", body=request, headers={"Idempotency-Key": None}).status == 201

    reply = call("update_tenant.json", tenant=request["slug"], body=body)

    assert reply.status == 400
    assert field in reply.field_errors()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("", "a JSON object body is required", id="empty"),
        pytest.param("null", "not null", id="null"),
        pytest.param("{", "not valid JSON", id="malformed"),
    ],
)
def test_update_malformed_body_is_400(cloud: Cloud, raw: str, message: str) -> None:
    reply = call("update_tenant.json", tenant="any-tenant", body=raw)

    assert reply.status == 400
    assert message in reply.body["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"limit": "0"}, "limit", id="limit-zero"),
        pytest.param({"limit": "101"}, "limit", id="limit-over-100"),
        pytest.param({"limit": "-1"}, "limit", id="limit-negative"),
        pytest.param({"limit": "ten"}, "limit", id="limit-word"),
        pytest.param({"limit": "1e2"}, "limit", id="limit-exponent"),
        pytest.param({"limit": "9" * 5000}, "limit", id="limit-huge"),
        pytest.param({"cursor": "not-a-cursor"}, "cursor", id="cursor-garbage"),
        pytest.param(
            {"cursor": base64.urlsafe_b64encode(b'{"v":1,"t":"x","i":"y"}').decode()},
            "cursor",
            id="cursor-forged",
        ),
        pytest.param({"cursor": "x" * 500}, "cursor", id="cursor-too-long"),
    ],
)
def test_list_invalid_query_is_400(cloud: Cloud, query: dict[str, str], field: str) -> None:
    reply = call("list_tenants.json", query=query)

    assert reply.status == 400
    assert field in reply.field_errors()
