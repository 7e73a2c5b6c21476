"""How the function behaves as a Lambda: light import, lazy clients that honour
AWS_ENDPOINT_URL, reuse across warm invocations, structured logs with the right ids."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.tenant_onboarding import aws, connections, handler
from scripts.lambda_context import lambda_context
from tests.lambdas.tenant_onboarding.conftest import Cloud
from tests.lambdas.tenant_onboarding.support import build_event, call, create, invoke, new_request

# The fields that make a REST proxy event, and nothing else.
REST = {"httpMethod": "POST", "path": "/tenants", "requestContext": {"apiId": "api"}}

ROOT = Path(__file__).resolve().parents[3]
LOG_MESSAGES = {
    "tenant created",
    "tenant step done",
    "tenant onboarded",
    "onboarding replayed",
    "onboarding resumed",
    "request refused",
}


def test_handler_import_loads_no_boto3_no_pydantic_and_no_connection() -> None:
    probe = (
        "import sys, lambdas.tenant_onboarding.handler as h\n"
        "from lambdas.tenant_onboarding import connections\n"
        "print(sorted(m for m in ('boto3', 'botocore.session', 'pydantic') if m in sys.modules))\n"
        "print(getattr(connections._local, 'registry', None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.splitlines() == ["[]", "None"]


@pytest.mark.usefixtures("local_platform")
def test_clients_honour_aws_endpoint_url(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = platform_env["AWS_ENDPOINT_URL"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, platform_env[name])
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    aws.reset_clients()
    try:
        services = ("cognito-idp", "s3", "events", "secretsmanager")
        endpoints = {service: aws.client(service).meta.endpoint_url for service in services}
        buckets = [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
    finally:
        aws.reset_clients()

    assert endpoints == dict.fromkeys(services, endpoint)
    assert platform_env["DOCUMENT_BUCKET"] in buckets


@pytest.mark.usefixtures("local_platform")
def test_warm_invocations_reuse_clients_and_connections(cloud: Cloud, created: list[str]) -> None:
    request = new_request("warm")
    created.append(request["slug"])
    assert create(request).status == 201
    client, core = aws.client("cognito-idp"), connections.core()
    with core.as_control_plane() as cur:
        cur.execute("SELECT pg_backend_pid()")
        before = cur.fetchone()

    assert call("get_tenant.json", tenant=request["slug"]).status == 200
    assert create(request).status == 201

    with connections.core().as_control_plane() as cur:
        cur.execute("SELECT pg_backend_pid()")
        after = cur.fetchone()
    assert aws.client("cognito-idp") is client
    assert connections.core() is core
    assert after == before


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Reads every JSON log line the function has written so far in the test."""
    stream = io.StringIO()
    registered = handler.logger.registered_handler
    assert isinstance(registered, logging.StreamHandler)
    previous = registered.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        registered.setStream(previous)


@pytest.mark.usefixtures("local_platform")
def test_logs_carry_the_tenant_and_correlation_ids_and_constant_messages(
    cloud: Cloud, created: list[str], logs: Callable[[], list[dict[str, Any]]]
) -> None:
    request = new_request("logs")
    created.append(request["slug"])
    post = build_event(
        "create_tenant.json", body=request, headers={"Idempotency-Key": f"k-{request['slug']}"}
    )
    missing = build_event("get_tenant.json", tenant="no-such-tenant-anywhere")

    tenant_id = invoke(post).body["tenant_id"]
    assert invoke(missing).status == 404

    lines = logs()
    onboarding = [line for line in lines if line["message"] != "request refused"]
    refused = [line for line in lines if line["message"] == "request refused"]
    assert {line["message"] for line in lines} <= LOG_MESSAGES
    assert len([line for line in onboarding if line["message"] == "tenant step done"]) == 9
    assert {line["tenant_id"] for line in onboarding} == {tenant_id}
    assert {line["correlation_id"] for line in onboarding} == {post["requestContext"]["requestId"]}
    assert [line["correlation_id"] for line in refused] == [missing["requestContext"]["requestId"]]
    assert "tenant_id" not in refused[0]
    assert refused[0]["status"] == 404


@pytest.mark.parametrize(
    ("event", "got"),
    [
        pytest.param({}, "an event with keys: (none)", id="empty"),
        pytest.param({"path": "/tenants"}, "an event with keys: path", id="no-httpMethod"),
        pytest.param({"httpMethod": "GET"}, "an event with keys: httpMethod", id="no-path"),
        pytest.param(
            {"version": "2.0", "rawPath": "/tenants", "requestContext": {"http": {}}},
            "an event with keys: rawPath, requestContext, version",
            id="http-api-v2",
        ),
        pytest.param({"Records": [{"body": "x"}]}, "an event with keys: Records", id="sqs"),
        pytest.param(
            {"httpMethod": "POST", "path": "/tenants", "body": "{}"},
            "an event with keys: body, httpMethod, path",
            id="no-requestContext",
        ),
        pytest.param(
            {"httpMethod": "GET", "path": "/tenants", "requestContext": {"elb": {}}},
            "an event with keys: httpMethod, path, requestContext",
            id="alb",
        ),
        pytest.param(["GET", "/tenants"], "a list", id="list"),
        pytest.param(
            {**REST, "body": {"name": "Acme"}},
            "'body' of type dict, where API Gateway sends the request body as a string (JSON text)"
            " or null",
            id="body-object",
        ),
        pytest.param(
            {**REST, "body": 12},
            "'body' of type int, where API Gateway sends the request",
            id="body-int",
        ),
        pytest.param(
            {**REST, "body": "{}", "isBase64Encoded": "false"},
            "'isBase64Encoded' of type str, where API Gateway sends true or false",
            id="base64-flag-string",
        ),
        pytest.param(
            {**REST, "headers": [["Content-Type", "application/json"]]},
            "'headers' of type list, where API Gateway sends an object of header names to values",
            id="headers-list",
        ),
    ],
)
def test_an_event_that_is_not_a_rest_proxy_event_raises_a_clear_error_and_logs_it(
    event: Any, got: str, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    expected = f"tenant_onboarding expects an API Gateway REST proxy event; got {got}"

    with pytest.raises(handler.NotAnApiGatewayEventError) as raised:
        handler.handler(event, lambda_context("platform-dev-tenant-onboarding"))

    assert str(raised.value).startswith(expected)
    assert [(line["level"], line["message"], line["reason"]) for line in logs()] == [
        ("ERROR", "not an API Gateway REST proxy event", str(raised.value))
    ]
