"""The deployed Lambda functions, invoked in this process as Lambda would invoke them.

moto runs no function code, so the demo calls each `handler(event, context)` here, with the
environment the function was deployed with (read back from the emulator) in which every
Secrets Manager reference is swapped for the local platform's DSN of the same role
(`CORE_DB_APP_SECRET_ARN` -> `CORE_DB_APP_DSN`), since the RDS instances they would name
are not in the emulator. The functions' own logs go to a file, not between the demo's lines.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from environments.config import EnvironmentConfig
from modules.naming import Naming

AWS_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
# Connection settings that only a Secrets Manager secret of a left-out RDS instance uses.
_RDS_ADDRESS = re.compile(r"[A-Z]+_DB_(HOST|PORT|NAME)")
_CONNECTION = re.compile(r"[A-Z]+_DB(_[A-Z]+)?_(DSN|SECRET_ARN)")


class FunctionError(RuntimeError):
    """A function answered with an error; the message carries what it said."""


@dataclass(frozen=True)
class Context:
    """The attributes of a Lambda context that powertools reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    memory_mb: int
    environment: Mapping[str, str]
    module: str

    def context(self) -> Context:
        return Context(self.name, self.arn, self.memory_mb, str(uuid.uuid4()))


def deployed_function(
    lambda_client: Any,
    config: EnvironmentConfig,
    function: str,
    platform_env: Mapping[str, str],
) -> Function:
    """`function` (e.g. "tenant_onboarding") as deployed, with the local platform's DSNs."""
    name = Naming.for_environment(config).name(function.replace("_", "-"))
    deployed = lambda_client.get_function_configuration(FunctionName=name)
    variables: dict[str, str] = deployed.get("Environment", {}).get("Variables", {})
    environment: dict[str, str] = {}
    for key, value in variables.items():
        if key.endswith("_SECRET_ARN"):
            local = key.removesuffix("_SECRET_ARN") + "_DSN"
            environment[local] = platform_env[local]
        elif not _RDS_ADDRESS.fullmatch(key):
            environment[key] = value
    environment.update({key: platform_env[key] for key in AWS_SETTINGS})
    return Function(
        name=name,
        arn=deployed["FunctionArn"],
        memory_mb=int(deployed.get("MemorySize", 128)),
        environment=environment,
        module=f"lambdas.{function}.handler",
    )


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` set in os.environ for the block, and no other connection setting."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if _CONNECTION.fullmatch(key):
            del os.environ[key]
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def invoke(function: Function, event: Mapping[str, Any], log: TextIO) -> Any:
    """`handler(event, context)` of the function, in its environment; logs go to `log`."""
    with environment(function.environment):
        module = importlib.import_module(function.module)
        reset: Callable[[], None] | None = getattr(module, "reset", None)
        if reset is not None:
            reset()
        # Metrics are printed (CloudWatch embedded metric format), not logged.
        with _logs_to(module, log), redirect_stdout(log):
            return module.handler(dict(event), function.context())


@contextmanager
def _logs_to(module: Any, log: TextIO) -> Iterator[None]:
    """The powertools logger of `module` (and its children) writing to `log` for the block."""
    logger = getattr(module, "logger", None)
    handler = getattr(logger, "registered_handler", None)
    if not isinstance(handler, logging.StreamHandler):
        yield
        return
    previous = handler.setStream(log)
    try:
        yield
    finally:
        if previous is not None:
            handler.setStream(previous)


def api_event(
    method: str,
    path: str,
    *,
    api_id: str,
    account: str,
    region: str,
    body: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for the control-plane API, signed by an operator."""
    parts = path.strip("/").split("/")
    resource = "/tenants/{tenant}" if len(parts) == 2 else "/tenants"
    all_headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": f"{api_id}.execute-api.{region}.amazonaws.com",
        "User-Agent": "make-demo",
        **(headers or {}),
    }
    now = datetime.now().astimezone()
    caller = "AROADEMOOPERATOR:platform-operator"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"tenant": parts[1]} if len(parts) == 2 else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "accountId": account,
            "protocol": "HTTP/1.1",
            "stage": "v1",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S %z"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "accountId": account,
                "caller": caller,
                "sourceIp": "127.0.0.1",
                "userArn": f"arn:aws:sts::{account}:assumed-role/platform-operator/make-demo",
                "userAgent": "make-demo",
                "user": caller,
            },
            "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
            "apiId": api_id,
        },
        "body": None if body is None else _json(body),
        "isBase64Encoded": False,
    }


def scheduled_event(rule_arn: str, at: datetime, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event a schedule rule sends at `at`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def log_file(directory: Path) -> TextIO:
    directory.mkdir(parents=True, exist_ok=True)
    return (directory / "functions.log").open("a", encoding="utf-8")


def _json(body: Mapping[str, Any]) -> str:
    import json

    return json.dumps(body)
