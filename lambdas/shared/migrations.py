"""Applies the plain SQL migrations of one database in order and records each one.

Migrations live in `lambdas/shared/migrations/<database>/NNNN_<name>.sql`; the five app
databases also apply `migrations/apps/`, whose versions share one sequence with theirs. Each
runs in its own transaction, as the database owner, under a transaction-level advisory lock so
two runners never interleave, and is recorded in `schema_migrations` with a checksum. A
migration that was applied and then edited is an error: history is changed by adding a
migration, never by editing one. Row-level security is not set here: the RLS rollout
converges every tenant table after the migrations ran, whatever they created.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from lambdas.shared.databases import APP_DATABASES, check_database
from lambdas.shared.db import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SHARED_APP_DIR = "apps"
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant shared by every runner of every database; the lock is per database anyway.
_ADVISORY_LOCK_KEY = 7_204_117_001
LOCK_TIMEOUT = "10s"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migration files or the recorded history are inconsistent."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def migration_dirs(database: str, root: Path = MIGRATIONS_DIR) -> tuple[Path, ...]:
    """`apps/` (shared by the five app databases) and the database's own directory."""
    own = root / check_database(database)
    return (root / SHARED_APP_DIR, own) if database in APP_DATABASES else (own,)


def load_migrations(database: str, root: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations of `database` in version order; bad names and duplicates are errors."""
    migrations: dict[int, Migration] = {}
    for directory in migration_dirs(database, root):
        if not directory.is_dir():
            raise MigrationError(f"database {database!r} has no migrations directory {directory}")
        for path in sorted(directory.glob("*.sql")):
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise MigrationError(
                    f"migration file {path.name!r} in {directory}: expected NNNN_<name>.sql "
                    "with a four-digit version and a lowercase snake_case name"
                )
            version = int(match["version"])
            if version in migrations:
                raise MigrationError(
                    f"migrations {migrations[version].file_name!r} and "
                    f"{directory.name}/{path.name!r} of database {database!r} share version "
                    f"{version:04d}; versions are one sequence across {SHARED_APP_DIR}/ and "
                    "each app's directory"
                )
            migrations[version] = Migration(version, f"{directory.name}/{match['name']}", path)
    return [migrations[version] for version in sorted(migrations)]


def applied_checksums(conn: Connection) -> dict[int, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return {}
        cur.execute("SELECT version, checksum FROM schema_migrations")
        return {int(version): str(checksum) for version, checksum in cur.fetchall()}


def check_history(migrations: list[Migration], applied: dict[int, str]) -> None:
    known = {m.version: m for m in migrations}
    for version, checksum in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"version {version:04d} is recorded in schema_migrations but has no file"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {migration.file_name!r} was applied with checksum {checksum[:12]} "
                f"but the file now has {migration.checksum[:12]}: add a new migration instead "
                "of editing an applied one"
            )


def pending_migrations(conn: Connection, database: str) -> list[Migration]:
    migrations = load_migrations(database)
    applied = applied_checksums(conn)
    check_history(migrations, applied)
    return [m for m in migrations if m.version not in applied]


def _apply_one(conn: Connection, migration: Migration) -> bool:
    """Apply `migration` in one transaction; False when another runner applied it first."""
    with conn, conn.cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
        cur.execute(_CREATE_TABLE)
        cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,))
        if cur.fetchone() is not None:
            return False
        cur.execute(migration.sql)
        cur.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
    return True


def apply_migrations(conn: Connection, database: str) -> list[Migration]:
    """Apply every pending migration of `database`; returns the ones this call applied."""
    conn.autocommit = False
    pending = pending_migrations(conn, database)
    conn.rollback()
    applied: list[Migration] = []
    for migration in pending:
        try:
            if _apply_one(conn, migration):
                applied.append(migration)
        except Exception as exc:
            raise MigrationError(
                f"migration {migration.file_name!r} of database {database!r} failed: {exc}"
            ) from exc
    return applied
