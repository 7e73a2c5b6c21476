"""Tenant lifecycle API behind API Gateway (REST proxy events).

    POST   /tenants            create a tenant (Idempotency-Key optional)   201
    GET    /tenants            one page of tenants (limit, cursor)           200
    GET    /tenants/{tenant}   a tenant by id or slug, with its steps        200 / 404
    PATCH  /tenants/{tenant}   change the plan or the apps                   200
    DELETE /tenants/{tenant}   offboard (repeatable)                         200

Every error, whatever its status, is `{"message", "errors": [{"field", "message"}]}` (`errors`
empty when no single field is at fault) built by ApiError.body() in the exception handlers
below; an unexpected error is a 500 with a fixed message, its details only in the logs.

Limitation: the powertools resolver keeps the current event in a class attribute, so one
process resolves one event at a time, which is how Lambda invokes a function. Workaround for
concurrent callers in one process (tests): call the service functions (onboarding.py, ...).
https://github.com/aws-powertools/powertools-lambda-python/blob/v3.37.0/aws_lambda_powertools/event_handler/api_gateway.py
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.tenant_onboarding import changes, listing, offboarding, onboarding, views
from lambdas.tenant_onboarding.errors import (
    ApiError,
    internal_error,
    method_not_allowed,
    not_found,
)
from lambdas.tenant_onboarding.lifecycle import Caller, find_tenant
from lambdas.tenant_onboarding.request_parsing import (
    CONTENT_TYPE_HEADER,
    IDEMPOTENCY_HEADER,
    idempotency_key,
    page_limit,
    parse_model,
)
from lambdas.tenant_onboarding.settings import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

logger = Logger()
app = APIGatewayRestResolver()

COLLECTION_METHODS = ("GET", "POST")
ITEM_METHODS = ("GET", "PATCH", "DELETE")
# Every method HTTP defines (RFC 9110 and PATCH): the ones a path does not route get a 405
# with `Allow` from the routes below. Powertools matches the method before the path and has no
# 405 of its own, so a method outside this list (WebDAV's PROPFIND, say) stays a 404. API
# Gateway's methods are GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH (what ANY stands for):
# TRACE, CONNECT and the rest reach the function only when it is invoked directly.
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers=headers or {},
    )


def _caller() -> Caller:
    context = app.current_event.raw_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    identity = context.get("identity") or {}
    actor = (
        claims.get("cognito:username")
        or claims.get("email")
        or identity.get("userArn")
        or identity.get("caller")
        or "unknown"
    )
    return Caller(str(actor), logger.get_correlation_id() or context.get("requestId"))


@app.post("/tenants")
def create_tenant() -> Response[str]:
    # The request models (and pydantic) load on the first POST or PATCH, not at import: a
    # cold start that serves a GET never pays for them.
    from lambdas.tenant_onboarding.models import CreateTenant

    event = app.current_event
    key = idempotency_key(event.headers.get(IDEMPOTENCY_HEADER))
    request = parse_model(
        CreateTenant,
        event.body,
        bool(event.is_base64_encoded),
        event.headers.get(CONTENT_TYPE_HEADER),
    )
    logger.append_keys(slug=request.slug)
    created = onboarding.create_tenant(request, key, _caller())
    headers = {"Location": f"/tenants/{created.body['tenant_id']}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(HTTPStatus.CREATED, created.body, headers)


@app.get("/tenants")
def list_tenants() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    limit = page_limit(query.get("limit"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    return _json(HTTPStatus.OK, listing.list_tenants(limit, query.get("cursor")))


@app.get("/tenants/<tenant>")
def get_tenant(tenant: str) -> Response[str]:
    found = find_tenant(tenant)
    logger.append_keys(tenant_id=str(found.id))
    return _json(HTTPStatus.OK, views.detail(found))


@app.patch("/tenants/<tenant>")
def update_tenant(tenant: str) -> Response[str]:
    from lambdas.tenant_onboarding.models import UpdateTenant

    event = app.current_event
    change = parse_model(
        UpdateTenant,
        event.body,
        bool(event.is_base64_encoded),
        event.headers.get(CONTENT_TYPE_HEADER),
    )
    return _json(HTTPStatus.OK, views.detail(changes.update_tenant(tenant, change, _caller())))


@app.delete("/tenants/<tenant>")
def offboard_tenant(tenant: str) -> Response[str]:
    return _json(HTTPStatus.OK, views.detail(offboarding.offboard_tenant(tenant, _caller())))


@app.route("/tenants", method=[m for m in ALL_METHODS if m not in COLLECTION_METHODS])
def collection_method_not_allowed() -> Response[str]:
    raise method_not_allowed(COLLECTION_METHODS)


@app.route("/tenants/<tenant>", method=[m for m in ALL_METHODS if m not in ITEM_METHODS])
def item_method_not_allowed(tenant: str) -> Response[str]:
    raise method_not_allowed(ITEM_METHODS)


@app.not_found
def no_route(_: Exception) -> Response[str]:
    return refused(not_found("no such resource"))


def refused(error: ApiError) -> Response[str]:
    logger.info("request refused", extra={"status": error.status.value, "reason": error.message})
    return _json(error.status, error.body(), dict(error.headers))


def unexpected(_: Exception) -> Response[str]:
    logger.exception("request failed")
    error = internal_error()
    return _json(error.status, error.body())


app.exception_handler(ApiError)(refused)
app.exception_handler(Exception)(unexpected)


class NotAnApiGatewayEventError(ValueError):
    """The function was invoked with something other than an API Gateway REST proxy event."""


# Fields of a REST proxy event the function reads, with the types API Gateway sends them in
# (each may also be null). A hand-made event with the body as an object, not JSON text, is the
# usual mistake.
_PROXY_FIELDS: dict[str, tuple[type, str]] = {
    "body": (str, "the request body as a string (JSON text) or null"),
    "isBase64Encoded": (bool, "true or false"),
    "headers": (dict, "an object of header names to values"),
    "multiValueHeaders": (dict, "an object of header names to lists of values"),
    "queryStringParameters": (dict, "an object of parameter names to values"),
    "multiValueQueryStringParameters": (dict, "an object of parameter names to lists"),
    "pathParameters": (dict, "an object of path parameter names to values"),
}


def _check_proxy_event(event: object) -> None:
    """A REST proxy event has a method, a path and a request context naming its API (an ALB
    event has the first two and `requestContext.elb` instead; the caller and the correlation
    id come from the context)."""
    if (
        isinstance(event, dict)
        and isinstance(event.get("httpMethod"), str)
        and isinstance(event.get("path"), str)
        and isinstance(event.get("requestContext"), dict)
        and isinstance(event["requestContext"].get("apiId"), str)
    ):
        wrong = next(
            (
                (key, allowed)
                for key, (kind, allowed) in _PROXY_FIELDS.items()
                if event.get(key) is not None and not isinstance(event[key], kind)
            ),
            None,
        )
        if wrong is None:
            return
        key, allowed = wrong
        got = f"'{key}' of type {type(event[key]).__name__}, where API Gateway sends {allowed}"
    elif isinstance(event, dict):
        got = f"an event with keys: {', '.join(sorted(map(str, event))[:20]) or '(none)'}"
    else:
        got = f"a {type(event).__name__}"
    reason = f"tenant_onboarding expects an API Gateway REST proxy event; got {got}"
    logger.error("not an API Gateway REST proxy event", extra={"reason": reason})
    raise NotAnApiGatewayEventError(reason)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway REST proxy event (`httpMethod`, `path` and
    `requestContext.apiId` at least).

    Anything else (a test invocation with `{}`, an HTTP API v2 or SQS event) raises
    NotAnApiGatewayEventError after an error log naming the event's top-level keys, never its
    values. It raises rather than answering a 400: only API Gateway may invoke the function
    (its resource policy names apigateway.amazonaws.com), so another event is a wiring or
    operator mistake, not a client's bad request. A raised error counts in the function's
    Errors metric, sends an asynchronous invocation to the dead-letter queue and shows the
    caller `FunctionError`, whereas a 400-shaped dict would look like a successful invocation
    to a caller that does not read `statusCode`.
    """
    _check_proxy_event(event)
    return app.resolve(event, context)
