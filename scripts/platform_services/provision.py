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
    DATABASES,
    Access,
    accesses,
    dsn_variable,
    has_access,
    role_name,
)
from lambdas.shared.db import Connection
from lambdas.shared.migrations import apply_migrations
from scripts.platform_services.settings import LOOPBACK

Echo = Callable[[str], None]

# LOGIN roles that row-level security binds: never superuser, never BYPASSRLS.
_ROLE_OPTIONS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
DUMMY_AWS_KEY = "testing"


def platform_roles() -> list[str]:
    return [role_name(db, access) for db in DATABASES for access in accesses(db)]


def ensure_roles(admin: Connection, passwords: Mapping[str, str]) -> list[str]:
    """Create missing roles; reset every role's options and password. Returns created ones."""
    created = []
    with admin.cursor() as cur:
        for role in platform_roles():
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            statement = sql.SQL("{} ROLE {} " + _ROLE_OPTIONS + " PASSWORD %s").format(
                sql.SQL(verb), sql.Identifier(role)
            )
            cur.execute(statement, (passwords[role],))
            if verb == "CREATE":
                created.append(role)
        for db in DATABASES:
            # The owner may act as the runtime role (SET ROLE): the isolation suite checks
            # plans as the runtime role inside the owner's rolled-back transactions.
            cur.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(role_name(db, Access.APP)),
                    sql.Identifier(role_name(db, Access.OWNER)),
                )
            )
    return created


def _readers(database: str) -> list[str]:
    return [role_name(database, a) for a in (Access.APP, Access.USAGE) if has_access(database, a)]


def ensure_databases(admin: Connection, connect_as_admin: Callable[[str], Connection]) -> list[str]:
    """Create missing databases owned by their owner role; only listed roles may connect."""
    created = []
    with admin.cursor() as cur:
        for db in DATABASES:
            owner = sql.Identifier(role_name(db, Access.OWNER))
            readers = sql.SQL(", ").join(sql.Identifier(role) for role in _readers(db))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if cur.fetchone() is None:
                cur.execute(
                    sql.SQL(
                        "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0"
                    ).format(sql.Identifier(db), owner)
                )
                created.append(db)
            cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db), owner))
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db)))
            cur.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), readers)
            )
            in_db = connect_as_admin(db)
            try:
                with in_db.cursor() as db_cur:
                    db_cur.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                    db_cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(readers))
            finally:
                in_db.close()
    return created


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


def ensure_buckets(env: Mapping[str, str], buckets: list[str]) -> list[str]:
    import boto3

    s3: Any = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
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
