"""Migration files: naming, order, one version sequence per database, edited history refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdas.shared.databases import APP_DATABASES, CORE, DATABASES
from lambdas.shared.migrations import (
    MigrationError,
    check_history,
    load_migrations,
)


@pytest.mark.parametrize("database", DATABASES)
def test_every_database_has_ordered_unique_migrations(database: str) -> None:
    migrations = load_migrations(database)
    versions = [m.version for m in migrations]

    assert versions == sorted(set(versions)) and versions[0] == 1
    assert all(m.sql.strip() for m in migrations)


@pytest.mark.parametrize("database", APP_DATABASES)
def test_app_databases_start_with_the_shared_registry_and_usage_migration(database: str) -> None:
    first = load_migrations(database)[0]

    assert first.file_name == "apps/0001_tenant_registry_and_usage.sql"


def test_core_does_not_get_the_app_migrations() -> None:
    assert all(not m.file_name.startswith("apps/") for m in load_migrations(CORE))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(
            {"apps/.keep": "", "crm/1_baseline.sql": "SELECT 1;"},
            "expected NNNN_<name>.sql",
            id="short-version",
        ),
        pytest.param(
            {"apps/.keep": "", "crm/0001_Baseline.sql": "SELECT 1;"},
            "lowercase snake_case",
            id="uppercase-name",
        ),
        pytest.param(
            {"apps/0001_registry.sql": "SELECT 1;", "crm/0001_baseline.sql": "SELECT 1;"},
            "share version 0001",
            id="version-used-twice",
        ),
        pytest.param({"apps/.keep": ""}, "no migrations directory", id="missing-directory"),
    ],
)
def test_bad_migration_trees_are_refused(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(MigrationError, match=message):
        load_migrations("crm", _tree(tmp_path, files))


def test_editing_an_applied_migration_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"core/0001_first.sql": "SELECT 1;"})
    migration = load_migrations(CORE, root)[0]

    check_history([migration], {1: migration.checksum})
    with pytest.raises(MigrationError, match="add a new migration instead"):
        check_history([migration], {1: "0" * 64})
    with pytest.raises(MigrationError, match="has no file"):
        check_history([migration], {1: migration.checksum, 2: "0" * 64})
