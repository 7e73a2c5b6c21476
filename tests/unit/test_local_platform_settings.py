"""Local platform pieces that need no server: settings, names, files and platform.env values."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lambdas.shared.databases import (
    ALL_TENANTS_ROLE,
    APP_DATABASES,
    DATABASES,
    Access,
    UnknownDatabaseError,
    dsn_variable,
    role_name,
    secret_variable,
)
from lambdas.shared.dsn import ConnectionSettingsError, dsn_from_secret
from scripts.platform_services.files import read_env_file, role_passwords, write_env_file
from scripts.platform_services.provision import platform_env, platform_roles
from scripts.platform_services.settings import Settings, SettingsError, find_pg_bin


@pytest.mark.parametrize(
    ("database", "access", "role", "dsn", "secret"),
    [
        pytest.param("crm", Access.OWNER, "crm_owner", "CRM_DB_DSN", "CRM_DB_SECRET_ARN", id="o"),
        pytest.param("hr", Access.APP, "hr_app", "HR_DB_APP_DSN", "HR_DB_APP_SECRET_ARN", id="a"),
        pytest.param(
            "affiliate",
            Access.USAGE,
            "affiliate_usage",
            "AFFILIATE_DB_USAGE_DSN",
            "AFFILIATE_DB_USAGE_SECRET_ARN",
            id="u",
        ),
        pytest.param(
            "core", Access.APP, "core_control_plane", "CORE_DB_APP_DSN", "CORE_DB_APP_SECRET_ARN"
        ),
    ],
)
def test_names_derived_from_database_and_access(
    database: str, access: Access, role: str, dsn: str, secret: str
) -> None:
    assert (role_name(database, access), dsn_variable(database, access)) == (role, dsn)
    assert secret_variable(database, access) == secret


@pytest.mark.parametrize(
    ("database", "access", "message"),
    [
        pytest.param("billing", Access.APP, "allowed: core, crm", id="unknown-database"),
        pytest.param("core", Access.USAGE, "allowed: owner, app", id="core-has-no-usage-reader"),
    ],
)
def test_unknown_names_are_refused(database: str, access: Access, message: str) -> None:
    with pytest.raises(UnknownDatabaseError, match=message):
        role_name(database, access)


def test_platform_env_has_every_dsn_and_no_core_usage_reader() -> None:
    passwords = {role: "pw" for role in platform_roles()}
    env = platform_env(passwords, 54329, {"AWS_ENDPOINT_URL": "http://127.0.0.1:5055"})

    owners = {f"{db.upper()}_DB_DSN" for db in DATABASES}
    runtimes = {f"{db.upper()}_DB_APP_DSN" for db in DATABASES}
    readers = {f"{db.upper()}_DB_USAGE_DSN" for db in APP_DATABASES}
    assert set(env) == owners | runtimes | readers | {"AWS_ENDPOINT_URL"}
    assert env["CORE_DB_APP_DSN"] == "postgresql://core_control_plane:pw@127.0.0.1:54329/core"
    assert ALL_TENANTS_ROLE not in platform_roles(), "nobody logs in as the all-tenants role"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"PLATFORM_PG_PORT": "80"}, "PLATFORM_PG_PORT = '80'", id="privileged"),
        pytest.param({"PLATFORM_MOTO_PORT": "x"}, "PLATFORM_MOTO_PORT = 'x'", id="not-a-number"),
        pytest.param(
            {"PLATFORM_PG_PORT": "6000", "PLATFORM_MOTO_PORT": "6000"}, "both 6000", id="same"
        ),
        pytest.param({"PLATFORM_PG_BIN": "/nowhere"}, "PLATFORM_PG_BIN = '/nowhere'", id="bin"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_fallback_cluster_folder_is_stable_and_per_checkout(tmp_path: Path) -> None:
    first = Settings.from_env({}, root=tmp_path / "a")
    again = Settings.from_env({}, root=tmp_path / "a")
    other = Settings.from_env({}, root=tmp_path / "b")

    assert first.fallback_pg_base == again.fallback_pg_base != other.fallback_pg_base
    assert str(first.fallback_pg_base).startswith("/tmp/tenant-platform-")
    assert (first.pg_port, first.moto_port) == (54329, 5055)


def test_passwords_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    first = role_passwords(path, ["crm_app"])
    second = role_passwords(path, ["crm_app", "hr_app"])

    assert second["crm_app"] == first["crm_app"] and second["hr_app"] != first["crm_app"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_env_file_round_trips_and_refuses_multiline_values(tmp_path: Path) -> None:
    path = tmp_path / "platform.env"
    write_env_file(path, {"B": "2", "A": "postgresql://u:p@h:1/d"})

    assert read_env_file(path) == {"A": "postgresql://u:p@h:1/d", "B": "2"}
    with pytest.raises(ValueError, match="one KEY=VALUE line"):
        write_env_file(path, {"A": "two\nlines"})


def test_secret_without_host_falls_back_to_the_host_variables() -> None:
    text = dsn_from_secret(
        {"username": "crm_app", "password": "pw"},
        "crm",
        {"CRM_DB_HOST": "db.internal", "CRM_DB_PORT": "5433"},
        "test",
    )

    assert "host=db.internal" in text and "port=5433" in text and "sslmode=require" in text


@pytest.mark.parametrize(
    ("secret", "environ", "message"),
    [
        pytest.param({"username": "u"}, {"CRM_DB_HOST": "h"}, "lacks password", id="no-password"),
        pytest.param({"username": "u", "password": "p"}, {}, "CRM_DB_HOST", id="no-host"),
    ],
)
def test_incomplete_secret_is_refused(
    secret: dict[str, str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConnectionSettingsError, match=message):
        dsn_from_secret(secret, "crm", environ, "test")


def test_server_binaries_older_than_15_are_refused(tmp_path: Path) -> None:
    pg_ctl = tmp_path / "pg_ctl"
    pg_ctl.write_text("#!/bin/sh\necho 'pg_ctl (PostgreSQL) 14.11'\n")
    pg_ctl.chmod(0o755)
    (tmp_path / "initdb").write_text("")

    with pytest.raises(SettingsError, match=r"\(14\).*") as raised:
        find_pg_bin({"PLATFORM_PG_BIN": str(tmp_path)})

    assert "version 15 or later" in str(raised.value)
