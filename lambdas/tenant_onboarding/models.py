"""Request models of the tenant API and the translation of their errors into field errors.

Strict models: a JSON number is not a string, a string is not a list, unknown fields are
refused. Catalog checks (the plan exists, the apps are in it) need the database and live in
onboarding.py; everything that can be decided from the body alone is decided here.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lambdas.tenant_onboarding.errors import FieldError
from lambdas.tenant_onboarding.settings import (
    APPS,
    RESERVED_SLUGS,
    SSO_SECRET_PREFIX,
    TENANT_ID_SHAPE,
)

App = Literal["crm", "hr", "accounting", "inventory", "affiliate"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_PLAN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
# RFC 5322 dot-atom local part and an LDH domain of two or more labels with an alphabetic (or
# punycode) top-level label; quoted local parts and IP-literal domains are not accepted.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"^(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))$"
)
_SECRET_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:"
    + re.escape(SSO_SECRET_PREFIX)
    + r"[A-Za-z0-9/_+=.@-]{1,400}$"
)
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,255}$")
MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 200


def _no_control_characters(value: str) -> str:
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in value):
        raise ValueError("must not contain control or format characters")
    return value


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            "must be 3-63 lowercase letters, digits or hyphens, starting and ending with a "
            "letter or digit"
        )
    if value[2:4] == "--":
        raise ValueError("must not have '--' in the third and fourth place (reserved for IDNs)")
    if TENANT_ID_SHAPE.match(value):
        raise ValueError("must not have the form of a tenant id (a UUID)")
    if value in RESERVED_SLUGS:
        raise ValueError(f"'{value}' is reserved")
    return value


def check_email(value: str) -> str:
    """The address in lower case: the user pool compares sign-in names case-insensitively
    (modules/identity.py), so `OPS@example.com` and `ops@example.com` are one user."""
    match = _EMAIL.match(value)
    if not match or len(value) > 254 or len(match["local"]) > 64 or ".." in value:
        raise ValueError("must be an email address such as admin@example.com")
    return value.lower()


def check_https_url(value: str) -> str:
    _no_control_characters(value)
    if len(value) > MAX_URL_LENGTH or any(char.isspace() for char in value):
        raise ValueError(f"must be an https URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError("must be an https URL") from exc
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValueError("must be an https URL with a host and no user information")
    if port == 0:
        raise ValueError("must be an https URL with a valid port")
    return value


class _Strict(BaseModel):
    # defer_build: the validators are built on first use, not at import (a cold start that
    # serves a GET never pays for them).
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class SamlSso(_Strict):
    type: Literal["saml"]
    metadata_url: str

    _url = field_validator("metadata_url")(check_https_url)


class OidcSso(_Strict):
    type: Literal["oidc"]
    issuer: str
    client_id: str
    client_secret_arn: str

    _issuer = field_validator("issuer")(check_https_url)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not _CLIENT_ID.match(value):
            raise ValueError("must be 1-255 printable ASCII characters without spaces")
        return value

    @field_validator("client_secret_arn")
    @classmethod
    def _secret_arn(cls, value: str) -> str:
        if not _SECRET_ARN.match(value):
            raise ValueError(
                "must be the ARN of a Secrets Manager secret named "
                f"'{SSO_SECRET_PREFIX}...' (a reference, never the secret itself)"
            )
        return value


Sso = Annotated[SamlSso | OidcSso, Field(discriminator="type")]


def _unique_apps(value: list[App] | None) -> list[App] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("must name at least one app")
    if len(set(value)) != len(value):
        raise ValueError("must not repeat an app")
    return sorted(value, key=APPS.index)


class CreateTenant(_Strict):
    name: str
    slug: str
    admin_email: str
    plan: str
    apps: list[App] | None = None
    sso: Sso | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _no_control_characters(value).strip()
        if not 1 <= len(value) <= MAX_NAME_LENGTH:
            raise ValueError(f"must be 1-{MAX_NAME_LENGTH} characters, not only spaces")
        return value

    _slug = field_validator("slug")(check_slug)
    _email = field_validator("admin_email")(check_email)

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str) -> str:
        if not _PLAN.match(value):
            raise ValueError("must be a plan code such as 'starter'")
        return value

    _apps = field_validator("apps")(_unique_apps)

    def request_hash(self) -> str:
        """Equal for requests that mean the same (key order, spacing and app order aside)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class UpdateTenant(_Strict):
    plan: str | None = None
    apps: list[App] | None = None

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str | None) -> str | None:
        if value is not None and not _PLAN.match(value):
            raise ValueError("must be a plan code such as 'starter'")
        return value

    _apps = field_validator("apps")(_unique_apps)

    @model_validator(mode="after")
    def _something(self) -> UpdateTenant:
        if self.plan is None and self.apps is None:
            raise ValueError("give 'plan', 'apps' or both")
        return self


_SECRET_FIELDS = frozenset({"client_secret", "secret", "password"})
_SSO_TAGS = frozenset({"saml", "oidc"})


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] == "sso" and parts[1] in _SSO_TAGS:
        del parts[1]
    return ".".join(parts) or "body"


def _message(error: Any) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc and loc[-1] in _SECRET_FIELDS:
        return (
            "secret values are not accepted: store the secret in Secrets Manager under "
            f"'{SSO_SECRET_PREFIX}' and pass its ARN as client_secret_arn"
        )
    if error["type"] == "extra_forbidden":
        return "is not a field of this request"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(_field_name(tuple(error["loc"])), _message(error))
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
