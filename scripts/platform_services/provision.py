"""Roles, databases, schemas, row-level security and buckets of the local platform.

Every step converges: it creates what is missing and corrects what differs, so `up` run again
changes nothing. Roles and database-level grants need the superuser (over the unix socket);
migrations and the RLS rollout run as each database's owner over TCP, exactly as in AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psycopg2
from psycopg2 import sql

from lambdas.rls_rollout.rollout import RolloutReport, owner_connector, run_rollout
from lambdas.shared.databases import (
    ALL_TENANTS_ROLE,
    CONTROL_PLANE_ROLE,
    CORE,
    DATABASES,
    Access,
    accesses,
    dsn_variable,
    has_access,
    role_name,
)
from lambdas.shared.db import Connection, Cursor
from lambdas.shared.migrations import apply_migrations
from scripts.platform_services.settings import LOOPBACK

Echo = Callable[[str], None]

# Roles that row-level security binds: never superuser, never BYPASSRLS.
_BOUND = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
DUMMY_AWS_KEY = "testing"


def platform_roles() -> list[str]:
    return [role_name(db, access) for db in DATABASES for access in accesses(db)]


def _ensure_role(cur: Cursor, role: str, options: str, password: str | None) -> bool:
    """Create or correct one role; True when it was created."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    verb = "ALTER" if cur.fetchone() else "CREATE"
    text = "{} ROLE {} " + options + (" PASSWORD %s" if password else "")
    cur.execute(
        sql.SQL(text).format(sql.SQL(verb), sql.Identifier(role)),
        (password,) if password else None,
    )
    return verb == "CREATE"


def ensure_roles(admin: Connection, passwords: Mapping[str, str]) -> list[str]:
    """Create missing roles; reset every role's options and password. Returns created ones.

    The only membership among platform roles is the control-plane role's in the all-tenants
    role, without inheritance: any other would let a role act as another.
    """
    created = []
    with admin.cursor() as cur:
        for role in platform_roles():
            inherit = "NOINHERIT" if role == CONTROL_PLANE_ROLE else "INHERIT"
            if _ensure_role(cur, role, f"LOGIN {inherit} {_BOUND}", passwords[role]):
                created.append(role)
        if _ensure_role(cur, ALL_TENANTS_ROLE, f"NOLOGIN NOINHERIT {_BOUND}", None):
            created.append(ALL_TENANTS_ROLE)
        everyone = [*platform_roles(), ALL_TENANTS_ROLE]
        cur.execute(
            "SELECT r.rolname, m.rolname FROM pg_auth_members AS a "
            "JOIN pg_roles AS r ON r.oid = a.roleid JOIN pg_roles AS m ON m.oid = a.member "
            "WHERE r.rolname = ANY(%(roles)s) AND m.rolname = ANY(%(roles)s)",
            {"roles": everyone},
        )
        for granted, member in cur.fetchall():
            if (granted, member) != (ALL_TENANTS_ROLE, CONTROL_PLANE_ROLE):
                cur.execute(
                    sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(granted), sql.Identifier(member)
                    )
                )
        cur.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(ALL_TENANTS_ROLE), sql.Identifier(CONTROL_PLANE_ROLE)
            )
        )
    return created


def _readers(database: str) -> list[str]:
    """Roles that may connect to (and use the schema of) a database besides its owner."""
    roles = [role_name(database, a) for a in (Access.APP, Access.USAGE) if has_access(database, a)]
    return [*roles, ALL_TENANTS_ROLE] if database == CORE else roles


def prepare_database(
    admin: Connection, connect_as_admin: Callable[[str], Connection], name: str, kind: str
) -> bool:
    """Create database `name` for the `kind` database's roles (if missing) and lock it down:
    only the owner, the runtime role and the usage reader may connect or use its schema."""
    owner = sql.Identifier(role_name(kind, Access.OWNER))
    target = sql.Identifier(name)
    readers = sql.SQL(", ").join(sql.Identifier(role) for role in _readers(kind))
    created = False
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    target, owner
                )
            )
            created = True
        cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(target, owner))
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(target))
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(target, readers))
    in_db = connect_as_admin(name)
    try:
        with in_db.cursor() as cur:
            cur.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(readers))
    finally:
        in_db.close()
    return created


def ensure_databases(admin: Connection, connect_as_admin: Callable[[str], Connection]) -> list[str]:
    """The six databases, each owned by its owner role; returns the ones created."""
    return [db for db in DATABASES if prepare_database(admin, connect_as_admin, db, db)]


def platform_env(
    passwords: Mapping[str, str], pg_port: int, aws: Mapping[str, str]
) -> dict[str, str]:
    """Every variable of `.local/platform.env`: DSNs per database and access, and AWS settings."""
    env = dict(aws)
    for db in DATABASES:
        for access in accesses(db):
            role = role_name(db, access)
            env[dsn_variable(db, access)] = (
                f"postgresql://{role}:{passwords[role]}@{LOOPBACK}:{pg_port}/{db}"
            )
    return env


def migrate(env: Mapping[str, str], echo: Echo) -> int:
    total = 0
    for db in DATABASES:
        conn = psycopg2.connect(env[dsn_variable(db, Access.OWNER)])
        try:
            applied = apply_migrations(conn, db)
        finally:
            conn.close()
        total += len(applied)
        for migration in applied:
            echo(f"  {db}: applied {migration.file_name}")
    return total


def rollout(env: Mapping[str, str]) -> RolloutReport:
    return run_rollout(connect=owner_connector(env))


def _emulator_client(env: Mapping[str, str], service: str) -> Any:
    import boto3

    client: Any = boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return client


def ensure_user_pool(
    env: Mapping[str, str], name: str, groups: list[str], deployed_tags: Mapping[str, str]
) -> tuple[str, str]:
    """The emulator's user pool `name`; (id, "deployed", "existing" or "created").

    Once `make demo` has deployed dev into the emulator, its pool (the one carrying the
    stack's `deployed_tags`) is the pool: the deployed functions use it, so hand calls must
    too, or one email could become the admin of a tenant in each pool. Before that, a pool of
    the local platform's own, shaped as modules/identity.py makes it (email sign-in,
    immutable `custom:tenant_id`, the platform's groups)."""
    cognito = _emulator_client(env, "cognito-idp")
    pools = cognito.list_user_pools(MaxResults=60).get("UserPools", [])
    named = [str(pool["Id"]) for pool in pools if pool["Name"] == name]
    for pool_id in named:
        tags = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"].get("UserPoolTags", {})
        if all(tags.get(key) == value for key, value in deployed_tags.items()):
            return pool_id, "deployed"
    if named:
        return named[0], "existing"
    pool_id = str(
        cognito.create_user_pool(
            PoolName=name,
            UsernameAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
            Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}],
        )["UserPool"]["Id"]
    )
    for group in groups:
        cognito.create_group(GroupName=group, UserPoolId=pool_id)
    return pool_id, "created"


def ensure_buckets(env: Mapping[str, str], buckets: list[str]) -> list[str]:
    s3 = _emulator_client(env, "s3")
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    created = []
    for name in buckets:
        if name in existing:
            continue
        options: dict[str, Any] = {"Bucket": name}
        if env["AWS_DEFAULT_REGION"] != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": env["AWS_DEFAULT_REGION"]}
        s3.create_bucket(**options)
        created.append(name)
    return created
