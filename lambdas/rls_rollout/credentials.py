"""The login roles' credentials in Secrets Manager: read, check that they still log in, write.

A secret holds `{"username", "password"}`; host, port and database name come from the
function's environment (`<DB>_DB_HOST/_PORT/_NAME`), as `lambdas.shared.dsn` reads them. A
password is written only when the secret has no value, holds another role's credentials, or
no longer logs in: running services keep working across runs. boto3 is imported only here and
only when a secret is touched, so importing the handler stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2

from lambdas.shared.dsn import dsn_from_secret

CONNECT_TIMEOUT_SECONDS = 5
# The server's words for a password that does not match (SQLSTATE 28P01). libpq reports a
# failed connection without its SQLSTATE, so the message is the only signal.
# Maintenance: this assumes the server's lc_messages is English (the RDS default).
# https://www.postgresql.org/docs/16/protocol-error-fields.html
_WRONG_PASSWORD = "password authentication failed"


class CredentialsError(RuntimeError):
    """A runtime secret cannot be read, checked or written; no password was changed."""


@dataclass(frozen=True)
class SecretState:
    """What a secret holds for `role`; `reason` says why it must be (re)written, or None."""

    arn: str
    variable: str
    reason: str | None


def secrets_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def read_value(client: Any, arn: str) -> str | None:
    """The secret's current string, or None while it has no value yet."""
    try:
        response = client.get_secret_value(SecretId=arn)
    except client.exceptions.ResourceNotFoundException:
        # An empty secret (no version yet) answers ResourceNotFoundException too; a secret
        # that does not exist at all fails later, at PutSecretValue, naming the ARN.
        return None
    value = response.get("SecretString")
    return value if isinstance(value, str) else None


def write_value(client: Any, arn: str, username: str, password: str) -> None:
    client.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": username, "password": password})
    )


def logs_in(
    secret: Mapping[str, Any], database: str, environ: Mapping[str, str], source: str
) -> bool:
    """True when the secret's credentials log in; False when the server refuses the password.

    Any other failure (network, TLS, too many connections) raises: a password is never
    rotated because the database was briefly unreachable.
    """
    dsn = dsn_from_secret(secret, database, environ, source)
    try:
        conn = psycopg2.connect(
            dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="rls-rollout-check"
        )
    except psycopg2.OperationalError as exc:
        if _WRONG_PASSWORD in str(exc):
            return False
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CredentialsError(
            f"cannot check the credentials in {source} ({first_line}); no password was changed"
        ) from exc
    conn.close()
    return True


def inspect_secret(
    client: Any,
    *,
    arn: str,
    variable: str,
    role: str,
    database: str,
    environ: Mapping[str, str],
    role_exists: bool,
) -> SecretState:
    """Whether the secret of `role` must be written, and why."""
    source = f"{variable}={arn!r}"
    raw = read_value(client, arn)
    if raw is None:
        return SecretState(arn, variable, "the secret has no value yet")
    try:
        secret = json.loads(raw)
    except ValueError:
        secret = None
    if not isinstance(secret, dict) or not secret.get("password"):
        return SecretState(arn, variable, "the secret is not a JSON object with a password")
    if secret.get("username") != role:
        return SecretState(arn, variable, f"the secret names {secret.get('username')!r}")
    if not role_exists:
        return SecretState(arn, variable, "the role is created by this run")
    if not logs_in(secret, database, environ, source):
        return SecretState(arn, variable, "the secret's password no longer logs in")
    return SecretState(arn, variable, None)
