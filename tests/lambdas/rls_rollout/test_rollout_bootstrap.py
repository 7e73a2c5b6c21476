"""The bootstrap on a database whose only login is an RDS-like master (CREATEROLE, CREATEDB,
not superuser): roles, grants, migrations, runtime secrets in Secrets Manager, then the rollout.

Each test gets throwaway `core` and `crm` databases owned by a fresh master role on the shared
local server, and Secrets Manager in process (moto). Roles are cluster-wide and the platform's
own `crm_app` and friends already exist, so the bootstrap runs with a role prefix unique to
the test; deployed code uses no prefix.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg2
import pytest
from moto import mock_aws
from psycopg2 import sql

from lambdas.rls_rollout.bootstrap import BootstrapError, run_bootstrap
from lambdas.rls_rollout.converge import converge
from lambdas.rls_rollout.event import InvalidEventError, parse_event
from lambdas.rls_rollout.roles import database_roles
from lambdas.rls_rollout.rollout import owner_connector
from lambdas.shared import dsn
from lambdas.shared.databases import CORE, DATABASES, Access, secret_variable
from lambdas.shared.db import Database
from scripts.local_platform import superuser_connection
from tests.lambdas.rls_rollout.test_rollout_handler import event

KINDS = (CORE, "crm")
LOGIN_ACCESSES = {CORE: (Access.APP,), "crm": (Access.APP, Access.USAGE)}
BOOTSTRAP_ACTIONS = {
    "create_role",
    "correct_role",
    "grant_membership",
    "revoke_membership",
    "set_owner",
    "revoke_public",
    "grant_connect",
    "grant_usage",
    "apply_migration",
    "set_password",
}


@dataclass
class RdsLike:
    """Throwaway databases as RDS leaves them: owned by the master, nothing else created."""

    prefix: str
    master: str
    env: dict[str, str]
    secrets: Any

    def run(self, **request: Any) -> dict[str, Any]:
        parsed = parse_event({"databases": list(KINDS), **request})
        report = converge(parsed, environ=self.env, secrets=self.secrets, role_prefix=self.prefix)
        return report.as_dict()

    def secret_arn(self, database: str, access: Access) -> str:
        return self.env[secret_variable(database, access)]

    def secret(self, database: str, access: Access) -> dict[str, Any] | None:
        try:
            value = self.secrets.get_secret_value(SecretId=self.secret_arn(database, access))
        except self.secrets.exceptions.ResourceNotFoundException:
            return None
        loaded: dict[str, Any] = json.loads(value["SecretString"])
        return loaded

    def versions(self) -> dict[str, list[str]]:
        return {
            f"{db}/{access.value}": sorted(
                self.secrets.describe_secret(SecretId=self.secret_arn(db, access)).get(
                    "VersionIdsToStages", {}
                )
            )
            for db in KINDS
            for access in LOGIN_ACCESSES[db]
        }

    def runtime_dsn(self, database: str, access: Access) -> str:
        secret = self.secret(database, access)
        assert secret is not None
        return dsn.dsn_from_secret(secret, database, self.env, "test")

    def query(self, database: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = superuser_connection(dbname=self.env[f"{database.upper()}_DB_NAME"])
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        finally:
            conn.close()

    def roles(self) -> dict[str, tuple[Any, ...]]:
        rows = self.query(
            CORE,
            "SELECT rolname, rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole, "
            "rolcreatedb, rolpassword IS NOT NULL FROM pg_authid WHERE rolname LIKE %s",
            (self.prefix.replace("_", "\\_") + "%",),
        )
        return {row[0]: row[1:] for row in rows if row[0] != self.master}


def _port(platform_env: dict[str, str]) -> str:
    parsed = psycopg2.extensions.parse_dsn(platform_env["CRM_DB_DSN"])
    return str(parsed["port"])


@pytest.fixture
def rds(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[RdsLike]:
    prefix = f"bs{uuid.uuid4().hex[:8]}_"
    master, password = f"{prefix}admin", uuid.uuid4().hex
    names = {db: f"{prefix}{db}" for db in KINDS}
    admin = superuser_connection()
    admin.autocommit = True
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ):
        monkeypatch.setenv(key, value)
    try:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER CREATEROLE CREATEDB NOBYPASSRLS PASSWORD %s"
                ).format(sql.Identifier(master)),
                (password,),
            )
            for name in names.values():
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                        sql.Identifier(name), sql.Identifier(master)
                    )
                )
        with mock_aws():
            dsn.reset_secrets_client()
            client = boto3.client("secretsmanager")
            env: dict[str, str] = {}
            for db in KINDS:
                stem = f"{db.upper()}_DB"
                owner = client.create_secret(
                    Name=f"{prefix}/rds/{db}/master",
                    SecretString=json.dumps({"username": master, "password": password}),
                )
                env |= {
                    secret_variable(db, Access.OWNER): owner["ARN"],
                    f"{stem}_HOST": "127.0.0.1",
                    f"{stem}_PORT": _port(platform_env),
                    f"{stem}_NAME": names[db],
                    f"{stem}_SSLMODE": "disable",
                }
                for access in LOGIN_ACCESSES[db]:
                    empty = client.create_secret(Name=f"{prefix}/db/{db}/{access.value}")
                    env[secret_variable(db, access)] = empty["ARN"]
            yield RdsLike(prefix, master, env, client)
    finally:
        dsn.reset_secrets_client()
        with admin.cursor() as cur:
            for name in names.values():
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            cur.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY rolname = %s",
                (prefix.replace("_", "\\_") + "%", master),
            )
            for (role,) in cur.fetchall():
                cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()


def _actions(report: dict[str, Any], database: str | None = None) -> list[str]:
    return [
        change["action"]
        for change in report["changes"]
        if database is None or change["database"] == database
    ]


def test_bootstrap_first_run_creates_roles_migrates_writes_secrets_and_converges(
    rds: RdsLike,
) -> None:
    report = rds.run()

    roles = rds.roles()
    crm, core = database_roles("crm", rds.prefix), database_roles(CORE, rds.prefix)
    assert sorted(roles) == sorted([*crm.names, *core.names])
    for name, (login, _inherit, superuser, bypassrls, createrole, createdb, _pw) in roles.items():
        assert not (superuser or bypassrls or createrole or createdb), name
        assert login == (name in (crm.runtime, crm.usage, core.runtime)), name
    assert roles[core.runtime][1] is False  # the control plane does not inherit all-tenants
    assert _actions(report, "crm").count("apply_migration") == 2
    assert _actions(report, CORE).count("apply_migration") == 4
    assert _actions(report).count("set_password") == 3
    assert "create_policy" in _actions(report, "crm") and report["drift"] == []
    assert report["tables_checked"] >= 10
    for db in KINDS:
        for access in LOGIN_ACCESSES[db]:
            secret = rds.secret(db, access)
            assert secret is not None and set(secret) == {"username", "password"}
            assert (
                secret["username"]
                == database_roles(db, rds.prefix).specs[1 if access is Access.APP else 2].name
            )
    unprotected = rds.query(
        "crm",
        "SELECT c.relname FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid "
        "AND a.attname = 'tenant_id' WHERE c.relkind IN ('r', 'p') AND c.relnamespace = "
        "'public'::regnamespace AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    assert unprotected == []
    owners = rds.query(
        "crm",
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace",
    )
    assert owners == [(crm.owner,)]


def test_written_credentials_log_in_as_the_runtime_role_bound_by_rls(rds: RdsLike) -> None:
    rds.run()
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    runtime = Database("crm", connect=lambda: psycopg2.connect(rds.runtime_dsn("crm", Access.APP)))
    try:
        for tenant in (tenant_a, tenant_b):
            with runtime.as_tenant(tenant) as cur:
                cur.execute(
                    "INSERT INTO tenants (tenant_id, slug) VALUES (%s, %s)",
                    (str(tenant), f"t-{tenant.hex[:8]}"),
                )
                cur.execute(
                    "INSERT INTO accounts (tenant_id, name) VALUES (%s, 'A')", (str(tenant),)
                )
        with runtime.as_tenant(tenant_a) as cur:
            cur.execute("SELECT current_user, count(*), count(DISTINCT tenant_id) FROM accounts")
            assert cur.fetchone() == (database_roles("crm", rds.prefix).runtime, 1, 1)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("TRUNCATE accounts")
        with runtime.without_tenant() as cur:
            cur.execute("SELECT count(*) FROM accounts")
            assert cur.fetchone() == (0,)
    finally:
        runtime.close()
    usage = psycopg2.connect(rds.runtime_dsn("crm", Access.USAGE))
    try:
        with usage.cursor() as cur:
            cur.execute("SELECT count(*) FROM usage_events")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT count(*) FROM accounts")
    finally:
        usage.close()
    all_tenants = database_roles(CORE, rds.prefix).all_tenants
    control_plane = psycopg2.connect(rds.runtime_dsn(CORE, Access.APP))
    try:
        with control_plane.cursor() as cur:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT count(*) FROM plans")
            control_plane.rollback()
            cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(str(all_tenants))))
            cur.execute("SELECT count(*) > 0 FROM plans")
            assert cur.fetchone() == (True,)
    finally:
        control_plane.close()


def test_second_run_changes_nothing_and_rewrites_no_secret(rds: RdsLike) -> None:
    rds.run()
    versions = rds.versions()

    second = rds.run()

    assert second["changes"] == [] and second["drift"] == []
    assert rds.versions() == versions


class CrashBeforeFirstPut:
    """A Secrets Manager client whose first PutSecretValue dies, as if the Lambda timed out."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_secret_value(self, **kwargs: Any) -> Any:
        if not self.crashed:
            self.crashed = True
            raise TimeoutError("injected crash between ALTER ROLE and PutSecretValue")
        return self._client.put_secret_value(**kwargs)


def test_crash_between_alter_role_and_put_secret_recovers_on_retry(rds: RdsLike) -> None:
    client = rds.secrets
    rds.secrets = CrashBeforeFirstPut(client)

    with pytest.raises(BootstrapError, match="injected crash.*a retry resumes"):
        rds.run(databases=["crm"])

    core_first = [r for r in rds.roles() if r.startswith(f"{rds.prefix}core")]
    assert rds.secret("crm", Access.APP) is None and core_first == []
    assert rds.roles()[database_roles("crm", rds.prefix).runtime][6] is True  # password set

    rds.secrets = client
    retry = rds.run(databases=["crm"])

    # crm_app's password was changed but never written; crm_usage was not reached.
    assert [c["object"] for c in retry["changes"] if c["action"] == "set_password"] == [
        f"role {rds.prefix}crm_app",
        f"role {rds.prefix}crm_usage",
    ]
    assert "no value yet" in retry["changes"][0]["detail"]
    psycopg2.connect(rds.runtime_dsn("crm", Access.APP)).close()
    psycopg2.connect(rds.runtime_dsn("crm", Access.USAGE)).close()
    assert rds.run()["changes"][0]["database"] == CORE  # crm is done; core still to do


def test_a_password_that_no_longer_logs_in_is_replaced(rds: RdsLike) -> None:
    rds.run()
    runtime = database_roles("crm", rds.prefix).runtime
    rds.query("crm", f"ALTER ROLE \"{runtime}\" PASSWORD 'changed-by-hand'; SELECT 1")
    versions = rds.versions()

    report = rds.run()

    assert [(c["object"], c["action"]) for c in report["changes"]] == [
        (f"role {runtime}", "set_password")
    ]
    assert "no longer logs in" in report["changes"][0]["detail"]
    changed = {key for key, ids in rds.versions().items() if ids != versions[key]}
    assert changed == {"crm/app"}
    psycopg2.connect(rds.runtime_dsn("crm", Access.APP)).close()


def test_dry_run_reports_the_plan_and_changes_nothing(rds: RdsLike) -> None:
    report = rds.run(dry_run=True)

    assert rds.roles() == {}
    assert rds.versions() == {key: [] for key in rds.versions()}
    assert rds.query("crm", "SELECT to_regclass('schema_migrations')") == [(None,)]
    assert rds.query(
        "crm", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    ) == [(rds.master,)]
    assert set(_actions(report)) <= BOOTSTRAP_ACTIONS | {"plan_policies"}
    assert {"create_role", "apply_migration", "set_password", "plan_policies"} <= set(
        _actions(report)
    )
    assert report["tables_checked"] == 0


def test_missing_runtime_secret_variable_stops_before_any_change(rds: RdsLike) -> None:
    del rds.env[secret_variable("crm", Access.USAGE)]

    with pytest.raises(BootstrapError, match="CRM_DB_USAGE_SECRET_ARN.*nothing was changed"):
        rds.run()

    assert rds.roles() == {}


def test_local_platform_bootstrap_is_a_noop_that_says_why(platform_env: dict[str, str]) -> None:
    report = run_bootstrap(
        DATABASES,
        requested=None,
        dry_run=False,
        connect=owner_connector(platform_env),
        environ=platform_env,
    )

    assert report.changes == [] and report.bootstrapped == []
    assert set(report.skipped) == set(DATABASES)
    assert "owner role 'crm_owner' itself" in report.skipped["crm"]


def test_bootstrap_true_on_the_local_platform_is_refused(platform_env: dict[str, str]) -> None:
    with pytest.raises(BootstrapError, match="crm: bootstrap: true, but.*nothing was changed"):
        run_bootstrap(
            ["crm"],
            requested=True,
            dry_run=False,
            connect=owner_connector(platform_env),
            environ=platform_env,
        )


def test_event_bootstrap_flag_is_parsed() -> None:
    parsed = parse_event(event("bootstrap_dry_run"))

    assert (parsed.databases, parsed.dry_run, parsed.bootstrap) == (("core", "crm"), True, True)
    assert parse_event({}).bootstrap is None


def test_event_bootstrap_not_bool_is_rejected_naming_field_and_allowed() -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_event(event("bootstrap_not_bool"))

    message = str(raised.value)
    assert "bootstrap = 'yes'" in message and "must be boolean or null" in message
    assert '"bootstrap"?: bool' in message
