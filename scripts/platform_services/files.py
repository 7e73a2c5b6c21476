"""Small files under `.local/`: role passwords (generated once) and `platform.env`."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

PASSWORD_BYTES = 24


def _write_private(path: Path, text: str) -> None:
    """Write atomically, readable by this user only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    temporary.replace(path)


def role_passwords(path: Path, roles: Iterable[str]) -> dict[str, str]:
    """The password of every role, generating (and keeping) any that is missing."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    missing = [role for role in roles if role not in stored]
    if missing:
        # token_urlsafe: letters, digits, '-' and '_', safe inside a DSN URL unquoted.
        stored.update({role: secrets.token_urlsafe(PASSWORD_BYTES) for role in missing})
        _write_private(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return stored


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if not key.isidentifier() or any(c in value for c in "\n\r"):
            raise ValueError(f"{key}={value!r} cannot be written as one KEY=VALUE line")
    lines = ["# Written by `make up` (scripts/local_platform.py); do not edit."]
    lines += [f"{key}={values[key]}" for key in sorted(values)]
    _write_private(path, "\n".join(lines) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values
