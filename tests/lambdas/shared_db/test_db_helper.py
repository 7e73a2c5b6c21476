"""The data-access helper: liveness, role refusal, timeouts, transactions, connection settings."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg2
import pytest
from psycopg2 import errors

from lambdas.shared import dsn
from lambdas.shared.databases import Access, dsn_variable
from lambdas.shared.db import (
    Connection,
    Database,
    InvalidTenantError,
    Timeouts,
    UnsafeRoleError,
    get_database,
)
from scripts.local_platform import superuser_connection
from scripts.platform_services.settings import REPO_ROOT

pytestmark = pytest.mark.usefixtures("local_platform")


class CountingConnect:
    """A connection factory for `Database(connect=...)` that counts and keeps its connections."""

    def __init__(self, dsn_text: str) -> None:
        self.dsn = dsn_text
        self.opened: list[Connection] = []

    def __call__(self) -> Connection:
        conn = psycopg2.connect(self.dsn)
        self.opened.append(conn)
        return conn


def _terminate(pid: int) -> None:
    admin = superuser_connection()
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    finally:
        admin.close()


def _backend_pid(db: Database) -> int:
    with db.without_tenant() as cur:
        cur.execute("SELECT pg_backend_pid()")
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def runtime_dsn(platform_env: dict[str, str]) -> str:
    return platform_env[dsn_variable("crm", Access.APP)]


def test_dead_connection_is_reopened_once_and_reused_after(runtime_dsn: str) -> None:
    connect = CountingConnect(runtime_dsn)
    db = Database("crm", connect=connect)
    try:
        first = _backend_pid(db)
        _terminate(first)
        second = _backend_pid(db)
        third = _backend_pid(db)
    finally:
        db.close()

    assert first != second == third
    assert len(connect.opened) == 2


def test_a_connection_dead_again_after_reopening_raises(runtime_dsn: str) -> None:
    connect = CountingConnect(runtime_dsn)

    def dies_on_reconnect() -> Connection:
        conn = connect()
        if len(connect.opened) > 1:
            _terminate(conn.get_backend_pid())
        return conn

    db = Database("crm", connect=dies_on_reconnect)
    try:
        _terminate(_backend_pid(db))
        with pytest.raises(psycopg2.OperationalError), db.without_tenant():
            pass
    finally:
        db.close()

    assert len(connect.opened) == 2


def test_statement_of_the_caller_is_never_resent(runtime_dsn: str) -> None:
    db = Database("crm", connect=CountingConnect(runtime_dsn))
    try:
        with pytest.raises(psycopg2.OperationalError), db.without_tenant() as cur:
            cur.execute("SELECT pg_backend_pid()")
            row = cur.fetchone()
            assert row is not None
            dead = int(row[0])
            _terminate(dead)
            cur.execute("SELECT 1")
        assert _backend_pid(db) != dead
    finally:
        db.close()


def test_superuser_is_refused() -> None:
    db = Database("crm", connect=superuser_connection)

    with pytest.raises(UnsafeRoleError, match="superuser"), db.without_tenant():
        pass


@pytest.fixture
def unbound_roles(platform_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A BYPASSRLS login role and a login role that is a member of it, with their DSNs."""
    suffix = uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    bypass, member = f"iso_bypass_{suffix}", f"iso_member_{suffix}"
    admin = superuser_connection(dbname="crm")
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {bypass} LOGIN BYPASSRLS PASSWORD %s", (password,))
            cur.execute(f"CREATE ROLE {member} LOGIN NOBYPASSRLS PASSWORD %s", (password,))
            cur.execute(f"GRANT {bypass} TO {member}")
            cur.execute(f"GRANT CONNECT ON DATABASE crm TO {bypass}, {member}")
        port = psycopg2.extensions.parse_dsn(platform_env["CRM_DB_DSN"])["port"]
        yield {
            role: f"postgresql://{role}:{password}@127.0.0.1:{port}/crm"
            for role in (bypass, member)
        }
    finally:
        with admin.cursor() as cur:
            cur.execute(f"REVOKE CONNECT ON DATABASE crm FROM {bypass}, {member}")
            cur.execute(f"DROP ROLE {member}")
            cur.execute(f"DROP ROLE {bypass}")
        admin.close()


def test_bypassrls_role_and_its_members_are_refused(unbound_roles: dict[str, str]) -> None:
    for role, role_dsn in unbound_roles.items():
        connect = CountingConnect(role_dsn)
        db = Database("crm", connect=connect)
        with pytest.raises(UnsafeRoleError, match="BYPASSRLS"), db.as_tenant(uuid.uuid4()):
            pass
        assert [conn.closed for conn in connect.opened] == [1], f"{role}'s connection stays open"


def test_statement_timeout_cancels_and_the_next_unit_works(runtime_dsn: str) -> None:
    db = Database("crm", timeouts=Timeouts(statement_ms=100), connect=CountingConnect(runtime_dsn))
    try:
        with pytest.raises(errors.QueryCanceled), db.without_tenant() as cur:
            cur.execute("SELECT pg_sleep(2)")
        with db.without_tenant() as cur:
            cur.execute("SELECT current_setting('statement_timeout')")
            setting = cur.fetchone()
    finally:
        db.close()

    assert setting == ("100ms",)


def test_lock_timeout_gives_up_waiting(platform_env: dict[str, str]) -> None:
    tenant = str(uuid.uuid4())
    holder = Database("crm", environ=platform_env)
    waiter = Database("crm", timeouts=Timeouts(lock_ms=100), environ=platform_env)
    try:
        with holder.as_tenant(tenant) as cur:
            cur.execute("INSERT INTO tenants (tenant_id, slug) VALUES (%s, 'locks')", (tenant,))
        with holder.as_tenant(tenant) as held:
            held.execute("SELECT 1 FROM tenants WHERE tenant_id = %s FOR UPDATE", (tenant,))
            started = time.monotonic()
            with pytest.raises(errors.LockNotAvailable), waiter.as_tenant(tenant) as cur:
                cur.execute("UPDATE tenants SET slug = 'waited' WHERE tenant_id = %s", (tenant,))
            waited = time.monotonic() - started
    finally:
        with holder.as_tenant(tenant) as cur:
            cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (tenant,))
        holder.close()
        waiter.close()

    assert waited < 2


class _AbortError(Exception):
    pass


def test_unit_commits_on_success_and_rolls_back_on_error(platform_env: dict[str, str]) -> None:
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    db = Database("crm", environ=platform_env)
    try:
        with db.as_tenant(kept) as cur:
            cur.execute("INSERT INTO tenants (tenant_id, slug) VALUES (%s, 'kept')", (kept,))
        with pytest.raises(_AbortError), db.as_tenant(dropped) as cur:
            cur.execute("INSERT INTO tenants (tenant_id, slug) VALUES (%s, 'gone')", (dropped,))
            raise _AbortError
        counts = []
        for tenant in (kept, dropped):
            with db.as_tenant(tenant) as cur:
                cur.execute("SELECT count(*) FROM tenants")
                counts.append(cur.fetchone())
        with db.as_tenant(kept) as cur:
            cur.execute("DELETE FROM tenants WHERE tenant_id = %s", (kept,))
    finally:
        db.close()

    assert counts == [(1,), (0,)]


@pytest.mark.parametrize(
    "tenant", ["", "tenant-a", "1; DROP TABLE tenants", "00000000-0000-0000-0000"], ids=repr
)
def test_tenant_id_must_be_a_uuid(platform_env: dict[str, str], tenant: str) -> None:
    db = Database("crm", environ=platform_env)

    with pytest.raises(InvalidTenantError, match="is not a UUID"):
        db.as_tenant(tenant)


@pytest.mark.parametrize("field", ["statement_ms", "lock_ms", "idle_in_transaction_ms"])
@pytest.mark.parametrize("value", [0, -1, True], ids=["zero", "negative", "bool"])
def test_timeouts_must_be_positive_integers(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"Timeouts.{field}"):
        Timeouts(**{field: value})


def test_control_plane_units_exist_only_in_core(platform_env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="only in 'core'"):
        Database("crm", environ=platform_env).as_control_plane()


def test_get_database_reuses_one_helper_per_database_and_access() -> None:
    assert get_database("crm") is get_database("crm")
    assert get_database("crm") is not get_database("crm", Access.USAGE)


def test_missing_settings_name_both_variables() -> None:
    with pytest.raises(dsn.ConnectionSettingsError, match="CRM_DB_APP_SECRET_ARN.*CRM_DB_APP_DSN"):
        dsn.resolve_dsn("crm", Access.APP, {})


def test_secret_arn_wins_over_the_dsn(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.setenv(key, platform_env[key])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", platform_env["AWS_SECRET_ACCESS_KEY"])
    dsn.reset_secrets_client()
    parts = psycopg2.extensions.parse_dsn(platform_env["CRM_DB_APP_DSN"])
    # Like an RDS-managed secret: only the user name and the password.
    secret = {"username": parts["user"], "password": parts["password"]}
    client: Any = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name=f"crm-app-{uuid.uuid4().hex[:8]}", SecretString=json.dumps(secret)
    )["ARN"]
    environ = {
        "CRM_DB_APP_SECRET_ARN": arn,
        "CRM_DB_APP_DSN": "postgresql://nobody:wrong@127.0.0.1:9/crm",
        "CRM_DB_HOST": parts["host"],
        "CRM_DB_PORT": parts["port"],
        "CRM_DB_SSLMODE": "disable",
    }
    db = Database("crm", environ=environ)
    try:
        with db.without_tenant() as cur:
            cur.execute("SELECT current_user")
            user = cur.fetchone()
    finally:
        db.close()
        dsn.reset_secrets_client()

    assert user == ("crm_app",)


def test_importing_the_helper_stays_light() -> None:
    code = "import sys, lambdas.shared.db; print(sorted({'boto3', 'botocore'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )

    assert result.stdout.strip() == "[]"
