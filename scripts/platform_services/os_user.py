"""Runs the PostgreSQL server as an unprivileged OS user when this process is root.

PostgreSQL refuses to run as root, so as root every server command runs through
`runuser -u <user> --`; that system user is created (idempotently) on first use.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path


class OsUserError(RuntimeError):
    """The server's OS user cannot be created or used."""


def is_root() -> bool:
    return os.geteuid() == 0


def server_user(name: str) -> str | None:
    """The OS user the server runs as: `name` when root, else None (the current user)."""
    return name if is_root() else None


def ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise OsUserError(f"OS user {name!r} does not exist and useradd is not installed")
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", nologin, name],
        check=True,
    )  # fmt: skip


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else list(argv)


def give_to(user: str | None, path: Path) -> None:
    """Make `user` own `path` (only meaningful as root)."""
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def can_use_dir(user: str | None, path: Path) -> bool:
    """Whether `user` can reach, list and write `path` (every parent must let it through)."""
    if user is None:
        return os.access(path, os.W_OK | os.X_OK)
    result = subprocess.run(
        as_user(user, ["test", "-w", str(path), "-a", "-x", str(path)]),
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return result.returncode == 0
