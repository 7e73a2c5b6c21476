"""Loads an environment from `base.toml` overlaid with `<name>.toml`, and validates it."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from environments.config import EnvironmentConfig

CONFIG_DIR = Path(__file__).resolve().parent
ENVIRONMENT_NAMES: tuple[str, ...] = ("dev", "staging", "prod")


class ConfigError(ValueError):
    """An environment's configuration is invalid; the message names every bad field."""


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two TOML documents: tables merge key by key, other values replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _settings_at(location: tuple[Any, ...]) -> list[str]:
    """The settings a table at `location` (its parent's path) may hold."""
    model: type[BaseModel] = EnvironmentConfig
    for part in location:
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a key of a table of tables, such as the app name in apps.<app>
        annotation = field.annotation
        for candidate in (annotation, *get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
                break
    return [name for name in model.model_fields if name != "name"]


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(environment)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(_settings_at(tuple(error["loc"][:-1])))
        return f"{location}: is not a setting here; allowed: {allowed}"
    # A whole table as the value (a check across fields) would bury the message: name it only.
    if error["type"] == "missing" or isinstance(error["input"], dict):
        return f"{location}: {message}"
    return f"{location} = {error['input']!r}: {message}"


def parse_environment(name: str, document: dict[str, Any]) -> EnvironmentConfig:
    """Validate one merged document; raise ConfigError naming environment, field and value."""
    try:
        return EnvironmentConfig.model_validate({**document, "name": name})
    except ValidationError as exc:
        problems = "\n  ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"environment {name!r} is invalid:\n  {problems}") from exc


def read_document(name: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    path = config_dir / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in config_dir.glob("*.toml") if p.stem != "base")
        raise ConfigError(f"environment {name!r} has no {path.name}; known: {', '.join(known)}")
    return merge(_read_toml(config_dir / "base.toml"), _read_toml(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not valid TOML: byte {exc.object[exc.start]:#04x} at line {line} is not "
            "UTF-8 (TOML files are UTF-8)"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


@cache
def load_environment(name: str) -> EnvironmentConfig:
    """The validated configuration of environment `name` (dev, staging, prod)."""
    return parse_environment(name, read_document(name))


def load_all() -> list[EnvironmentConfig]:
    return [load_environment(name) for name in ENVIRONMENT_NAMES]
