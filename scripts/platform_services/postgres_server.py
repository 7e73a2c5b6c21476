"""A PostgreSQL cluster for the local platform: created once, started and stopped on demand.

The cluster lives under `.local/pg/` when the server's OS user can reach it; when it cannot (a
checkout under a mode-700 home, for example), under a temporary folder derived from the
checkout's path, so later runs find it again. It listens on 127.0.0.1 and on a unix socket in
a folder only the server's user (and root) can enter. The superuser `postgres` may connect
only through that socket; every other role needs its password, over TCP or the socket.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from lambdas.shared.db import Connection
from scripts.platform_services.os_user import as_user, can_use_dir, give_to, is_root
from scripts.platform_services.settings import (
    LOOPBACK,
    PG_SUPERUSER,
    Settings,
    find_pg_bin,
    pg_major,
)

# The longest unix socket path the kernel takes (sun_path) is 107 bytes plus NUL.
SOCKET_PATH_MAX = 107
START_TIMEOUT_SECONDS = 60
_HBA = f"""# Written by scripts/local_platform.py on every start; edits are overwritten.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       {PG_SUPERUSER}                   trust
local   all       all                      scram-sha-256
host    all       {PG_SUPERUSER}  {LOOPBACK}/32   reject
host    all       all       {LOOPBACK}/32   scram-sha-256
"""


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be created, started or stopped."""


@dataclass(frozen=True)
class Cluster:
    base: Path
    user: str | None
    bin_dir: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "run"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = as_user(self.user, [str(self.bin_dir / argv[0]), *argv[1:]])
        # cwd "/": the server's user may not be allowed into the caller's directory.
        return subprocess.run(
            command,
            cwd="/",
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"},
            capture_output=True,
            text=True,
            check=False,
        )

    def running_port(self) -> int | None:
        """The port of the server running on this cluster, or None."""
        pid_file = self.data / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return port

    def is_initialized(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def initialize(self) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        give_to(self.user, self.data)
        result = self.run(
            "initdb", "-D", str(self.data), "-U", PG_SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(f"initdb failed in {self.data}:\n{result.stderr.strip()}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'platform.conf'\n")

    def configure(self, port: int) -> None:
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        give_to(self.user, self.socket_dir)
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "max_connections": "200",
            "synchronous_commit": "off",
            "password_encryption": "'scram-sha-256'",
            "log_min_messages": "warning",
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        for name, content in (("platform.conf", text), ("pg_hba.conf", _HBA)):
            path = self.data / name
            path.write_text(content)
            give_to(self.user, path)

    def start(self, port: int) -> None:
        self.configure(port)
        result = self.run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_file), "-w",
            "-t", str(START_TIMEOUT_SECONDS), "-s",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(
                f"PostgreSQL did not start on port {port}: {result.stderr.strip()}\n"
                f"last lines of {self.log_file}:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        result = self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-s")
        if result.returncode != 0 and self.running_port() is not None:
            raise PostgresError(f"PostgreSQL did not stop: {result.stderr.strip()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def admin_connection(self, port: int, dbname: str = "postgres") -> Connection:
        conn = psycopg2.connect(
            host=str(self.socket_dir), port=port, user=PG_SUPERUSER, dbname=dbname
        )
        conn.autocommit = True
        return conn


def _safe_dir(path: Path, mode: int, user: str | None) -> None:
    """Create `path` (or accept it) only if it is a real directory that we or `user` own."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    info = path.lstat()
    allowed = {os.geteuid()}
    if user:
        allowed.add(pwd.getpwnam(user).pw_uid)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in allowed:
        raise PostgresError(f"{path} is not a directory owned by this user or {user!r}")


def _fits_socket(base: Path, port: int) -> bool:
    return len(f"{base / 'run'}/.s.PGSQL.{port}") <= SOCKET_PATH_MAX


def _try_base(base: Path, settings: Settings, user: str | None) -> bool:
    if not _fits_socket(base, settings.pg_port):
        return False
    try:
        _safe_dir(base.parent, 0o755, user)
        _safe_dir(base, 0o700, user)
    except OSError:
        return False
    give_to(user, base)
    return can_use_dir(user, base)


def _cluster_at(base: Path, settings: Settings, user: str | None) -> Cluster:
    """An existing cluster runs only on binaries of its own major version."""
    version_file = base / "data" / "PG_VERSION"
    if not version_file.is_file():
        return Cluster(base, user, settings.pg_bin)
    major = int(version_file.read_text().strip())
    if pg_major(settings.pg_bin) == major:
        return Cluster(base, user, settings.pg_bin)
    return Cluster(base, user, find_pg_bin(os.environ, cluster_major=major))


def locate_cluster(settings: Settings, user: str | None) -> Cluster:
    """The cluster of this checkout: where it already is, else `.local/pg`, else /tmp."""
    recorded = settings.pg_location_file
    if recorded.is_file():
        base = Path(recorded.read_text().strip())
        if (base / "data" / "PG_VERSION").is_file():
            return _cluster_at(base, settings, user)
    for base in (settings.local_dir / "pg", settings.fallback_pg_base):
        if (base / "data" / "PG_VERSION").is_file() or _try_base(base, settings, user):
            recorded.write_text(f"{base}\n")
            return _cluster_at(base, settings, user)
    who = f"OS user {user!r}" if is_root() and user else "this user"
    raise PostgresError(
        f"no folder for the PostgreSQL cluster that {who} can write: tried "
        f"{settings.local_dir / 'pg'} and {settings.fallback_pg_base}"
    )
