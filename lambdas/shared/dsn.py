"""Where a database connection comes from: Secrets Manager in AWS, a DSN variable locally.

`<DB>_DB[_APP|_USAGE]_SECRET_ARN` wins over `<DB>_DB[_APP|_USAGE]_DSN`. A secret holds at least
`username` and `password` (an RDS-managed master secret holds only those); `host`, `port` and
`dbname` come from the secret when present, else from `<DB>_DB_HOST`, `<DB>_DB_PORT` and
`<DB>_DB_NAME`. boto3 is imported only when a secret is read, so importing this module stays
cheap, and the client honours `AWS_ENDPOINT_URL` (boto3 reads it itself).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from psycopg2.extensions import make_dsn

from lambdas.shared.databases import Access, check_database, dsn_variable, secret_variable

DEFAULT_PORT = 5432
DEFAULT_SECRET_SSLMODE = "require"

_secrets_client: Any = None


class ConnectionSettingsError(RuntimeError):
    """No usable connection settings for a database in the environment or its secret."""


def _client() -> Any:
    global _secrets_client
    if _secrets_client is None:
        import boto3

        _secrets_client = boto3.client("secretsmanager")
    return _secrets_client


def reset_secrets_client() -> None:
    """Forget the cached client, e.g. after a test changed `AWS_ENDPOINT_URL`."""
    global _secrets_client
    _secrets_client = None


def read_secret(arn: str) -> dict[str, Any]:
    response = _client().get_secret_value(SecretId=arn)
    try:
        secret = json.loads(response["SecretString"])
    except (KeyError, ValueError) as exc:
        raise ConnectionSettingsError(f"secret {arn!r} is not a JSON SecretString") from exc
    if not isinstance(secret, dict):
        raise ConnectionSettingsError(f"secret {arn!r} is not a JSON object")
    return secret


def dsn_from_secret(
    secret: Mapping[str, Any], database: str, environ: Mapping[str, str], source: str
) -> str:
    missing = [key for key in ("username", "password") if not secret.get(key)]
    if missing:
        raise ConnectionSettingsError(f"secret {source} lacks {', '.join(missing)}")
    stem = f"{database.upper()}_DB"
    host = secret.get("host") or environ.get(f"{stem}_HOST")
    if not host:
        raise ConnectionSettingsError(f"secret {source} has no host and {stem}_HOST is not set")
    port = secret.get("port") or environ.get(f"{stem}_PORT") or DEFAULT_PORT
    return make_dsn(
        host=str(host),
        port=str(port),
        dbname=str(secret.get("dbname") or environ.get(f"{stem}_NAME") or database),
        user=str(secret["username"]),
        password=str(secret["password"]),
        sslmode=environ.get(f"{stem}_SSLMODE", DEFAULT_SECRET_SSLMODE),
    )


def resolve_dsn(database: str, access: Access, environ: Mapping[str, str] | None = None) -> str:
    """The libpq connection string for `access` to `database`, read on every (re)connect."""
    env = os.environ if environ is None else environ
    check_database(database)
    secret_name, dsn_name = secret_variable(database, access), dsn_variable(database, access)
    arn = env.get(secret_name)
    if arn:
        return dsn_from_secret(read_secret(arn), database, env, f"{secret_name}={arn!r}")
    dsn = env.get(dsn_name)
    if dsn:
        return dsn
    raise ConnectionSettingsError(
        f"no connection settings for database {database!r} ({access.value} access): "
        f"set {secret_name} (Secrets Manager) or {dsn_name} (a libpq DSN)"
    )
