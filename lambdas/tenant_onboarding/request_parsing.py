"""From an API Gateway proxy event to a validated model, or a 400/413/415 that says why.

The raw body is checked before anything parses it: its Content-Type (application/json), its
size (64 KiB after base64 decoding), its encoding, JSON without duplicate keys or NaN, and an
object at the top. Only then does the model see it.

The Content-Type is the function's to check: API Gateway proxies every media type as it came
(the API has no request validator, and no binary media types, so bodies arrive as text). A
body without Content-Type, or with another media type, is a 415 rather than read as JSON
anyway: a form or text body that happened to parse would otherwise be taken for what the
client did not say it was.
"""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from lambdas.tenant_onboarding.errors import ApiError, FieldError, bad_request, invalid_field
from lambdas.tenant_onboarding.settings import MAX_BODY_BYTES

if TYPE_CHECKING:
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")

IDEMPOTENCY_HEADER = "Idempotency-Key"
CONTENT_TYPE_HEADER = "Content-Type"
JSON_MEDIA_TYPE = "application/json"
UTF_8 = frozenset({"utf-8", "utf8"})
MAX_IDEMPOTENCY_KEY = 255


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise invalid_field(key, "appears more than once in the JSON object")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise bad_request(f"the body is not valid JSON: {name} is not a JSON number")


def _check_text(value: object) -> None:
    """Refuse NUL and unpaired surrogates anywhere: PostgreSQL stores neither in text or jsonb,
    and JSON lets a client send both as escapes."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (
            "\x00" in item or any("\ud800" <= char <= "\udfff" for char in item)
        ):
            raise bad_request("the body contains a NUL character or an unpaired surrogate")


def check_content_type(value: str | None) -> None:
    """application/json in any case, with a charset parameter, if any, of UTF-8; 415 else."""
    if value is None or not value.strip():
        raise unsupported_media_type(f"is required with a body: {JSON_MEDIA_TYPE}")
    media_type, *parameters = value.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise unsupported_media_type(f"must be {JSON_MEDIA_TYPE}")
    for name, _, charset in (parameter.partition("=") for parameter in parameters):
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in UTF_8:
            raise unsupported_media_type(f"must be {JSON_MEDIA_TYPE}; its charset, if given, utf-8")


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"the body must be JSON sent with {CONTENT_TYPE_HEADER}: {JSON_MEDIA_TYPE}",
        [FieldError(CONTENT_TYPE_HEADER, message)],
    )


def body_bytes(raw: str | None, is_base64: bool, content_type: str | None) -> bytes:
    if raw is None or raw == "":
        raise bad_request("a JSON object body is required")
    check_content_type(content_type)
    # A base64 text decodes to 3/4 of its length: refuse oversized ones before decoding.
    if len(raw) > (MAX_BODY_BYTES * 4) // 3 + 4:
        raise too_large()
    if is_base64:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_request("the body is not valid base64") from exc
        # b64decode lets a stray '=' after a full group and non-zero padding bits through, and
        # their bytes would then be reported as bad JSON. API Gateway sends the canonical
        # encoding (RFC 4648), so a body that is not it is not valid base64.
        if base64.b64encode(data) != raw.encode("ascii"):
            raise bad_request("the body is not valid base64")
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise too_large()
    return data


def too_large() -> ApiError:
    return ApiError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"the body is larger than {MAX_BODY_BYTES} bytes",
    )


def json_object(raw: str | None, is_base64: bool, content_type: str | None) -> dict[str, Any]:
    data = body_bytes(raw, is_base64, content_type)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("the body is not valid UTF-8") from exc
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:
        # int() refuses integer literals of more than 4300 digits.
        raise bad_request("the body is not valid JSON: a number is too large") from exc
    except RecursionError as exc:
        raise bad_request("the body is not valid JSON: nested too deeply") from exc
    _check_text(value)
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise bad_request(f"the body must be a JSON object, not {kind}")
    return value


def parse_model(
    model: type[Model], raw: str | None, is_base64: bool, content_type: str | None
) -> Model:
    from pydantic import ValidationError

    from lambdas.tenant_onboarding.models import field_errors

    data = json_object(raw, is_base64, content_type)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_request("the request is invalid", field_errors(exc)) from exc


def idempotency_key(value: str | None) -> str | None:
    """The Idempotency-Key header: 1-255 printable ASCII characters, or absent."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not all(
        "\x21" <= char <= "\x7e" for char in value
    ):
        raise invalid_field(
            IDEMPOTENCY_HEADER,
            f"must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces",
        )
    return value


def page_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 4) or not (
        1 <= int(value) <= maximum
    ):
        raise invalid_field("limit", f"must be a whole number from 1 to {maximum}")
    return int(value)
