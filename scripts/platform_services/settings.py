"""Settings of the local platform, read from the environment, and the paths derived from them."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG_PORT = 54329
DEFAULT_MOTO_PORT = 5055
DEFAULT_PG_OS_USER = "tenantpg"
PG_SUPERUSER = "postgres"
LOOPBACK = "127.0.0.1"
MIN_PG_MAJOR = 15


class SettingsError(ValueError):
    """A PLATFORM_* variable holds a value the local platform cannot use."""


def port_taken(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise SettingsError(f"{name} = {raw!r}: must be a TCP port between 1024 and 65535")
    return int(raw)


def pg_major(bin_dir: Path) -> int:
    """The major version of the server binaries in `bin_dir` (`pg_ctl --version`)."""
    result = subprocess.run(
        [str(bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"\b(\d+)(?:\.\d+)?", result.stdout)
    return int(match.group(1)) if match else 0


def _candidates(environ: Mapping[str, str]) -> list[Path]:
    configured = environ.get("PLATFORM_PG_BIN", "").strip()
    if configured:
        return [Path(configured)]
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    return [*versions, *([Path(on_path).resolve().parent] if on_path else [])]


def find_pg_bin(environ: Mapping[str, str], cluster_major: int | None = None) -> Path:
    """PLATFORM_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin, else pg_ctl's folder.

    With `cluster_major` (an existing cluster's PG_VERSION), only binaries of that major
    version can run it. The schemas need PostgreSQL 15 or later (security_invoker views,
    ON DELETE SET NULL of chosen columns).
    """
    configured = environ.get("PLATFORM_PG_BIN", "").strip()
    found = []
    for candidate in _candidates(environ):
        if (candidate / "pg_ctl").is_file() and (candidate / "initdb").is_file():
            major = pg_major(candidate)
            found.append(f"{candidate} ({major})")
            if major >= MIN_PG_MAJOR and cluster_major in (None, major):
                return candidate
    wanted = f"version {cluster_major}" if cluster_major else f"version {MIN_PG_MAJOR} or later"
    raise SettingsError(
        f"PLATFORM_PG_BIN = {configured!r}: no PostgreSQL server binaries of {wanted} "
        f"(found: {', '.join(found) or 'none'}); install them, or point PLATFORM_PG_BIN at "
        "their bin folder"
    )


@dataclass(frozen=True)
class Settings:
    root: Path
    pg_port: int
    moto_port: int
    pg_os_user: str
    pg_bin: Path
    moto_bin: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Settings:
        env = os.environ if environ is None else environ
        pg_port = _port(env, "PLATFORM_PG_PORT", DEFAULT_PG_PORT)
        moto_port = _port(env, "PLATFORM_MOTO_PORT", DEFAULT_MOTO_PORT)
        if pg_port == moto_port:
            raise SettingsError(
                f"PLATFORM_PG_PORT and PLATFORM_MOTO_PORT are both {pg_port}: use two ports"
            )
        moto_bin = Path(sys.executable).parent / "moto_server"
        if not moto_bin.is_file():
            found = shutil.which("moto_server")
            if not found:
                raise SettingsError("moto_server is not installed: run `make bootstrap`")
            moto_bin = Path(found)
        return cls(
            root=root,
            pg_port=pg_port,
            moto_port=moto_port,
            pg_os_user=env.get("PLATFORM_PG_OS_USER", "").strip() or DEFAULT_PG_OS_USER,
            pg_bin=find_pg_bin(env),
            moto_bin=moto_bin,
        )

    @property
    def local_dir(self) -> Path:
        return self.root / ".local"

    @property
    def env_file(self) -> Path:
        return self.local_dir / "platform.env"

    @property
    def passwords_file(self) -> Path:
        return self.local_dir / "passwords.json"

    @property
    def lock_file(self) -> Path:
        return self.local_dir / "platform.lock"

    @property
    def sessions_dir(self) -> Path:
        return self.local_dir / "sessions"

    @property
    def moto_pid_file(self) -> Path:
        return self.local_dir / "moto.pid"

    @property
    def moto_log_file(self) -> Path:
        return self.local_dir / "moto.log"

    @property
    def pg_location_file(self) -> Path:
        """Remembers where the PostgreSQL files went, so a later run finds the same cluster."""
        return self.local_dir / "pg.location"

    @property
    def fallback_pg_base(self) -> Path:
        """A stable temporary home for the cluster, derived from the checkout's path."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"tenant-platform-{digest}" / "pg"
